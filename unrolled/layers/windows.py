"""Sliding windows shared by the convolution and pooling layers (channels last, 1 or 2 spatial axes).

The fast paths never loop over output positions. A window view reads every window of the padded
input without copying it; a layer then either copies the view once into a matrix of windows
(``im2col``, convolution) or loops over the ``K = prod(kernel)`` offsets of a window, each offset
one strided slice of the whole input (pooling, and ``col2im``, the scatter that adds the window
gradients back onto the input).

Padding follows TensorFlow/Keras:

* ``"valid"``: no padding, ``out = floor((n - dk) / s) + 1`` with the dilated kernel size
  ``dk = (k - 1) d + 1``; ``dk > n`` is an error;
* ``"same"``: ``out = ceil(n / s)``; the ``total = max((out - 1) s + dk - n, 0)`` padded entries
  are split ``total // 2`` before and the rest (one more when odd) after;
* ``"causal"`` (Conv1D only, Keras): ``dk - 1`` zeros before, none after, so that output step
  ``t`` reads no input after step ``t * s``; ``out = floor((n - 1) / s) + 1``;
* an integer ``p`` (or one per axis): ``p`` zeros on each side (EpyNN's ``padding=p``),
  ``out = floor((n + 2p - dk) / s) + 1``.
"""
import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided


def as_tuple(value, rank, what, label, minimum=1):
    """``value`` (an int or ``rank`` ints) as a tuple of ``rank`` ints ``>= minimum``."""
    values = (value,) * rank if isinstance(value, (int, np.integer)) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if (values is None or len(values) != rank
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
                       for v in values)):
        kind = "positive" if minimum == 1 else f"integer >= {minimum}"
        raise ValueError(f"{label}: {what} must be a {kind} integer or {rank} of them, got {value!r}")
    return tuple(int(v) for v in values)


def check_padding(padding, rank, label):
    """``"valid"``, ``"same"``, ``"causal"`` (1-D only; any case) or non-negative integers: the
    normalized value."""
    if isinstance(padding, str):
        names = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        if padding.lower() not in names:
            raise ValueError(f"{label}: padding must be {', '.join(repr(n) for n in names)} or a "
                             f"number of zeros per side, got {padding!r}")
        return padding.lower()
    return as_tuple(padding, rank, "padding (zeros per side)", label, minimum=0)


def output_and_pads(label, spatial, kernel, strides, dilation, padding, what="kernel"):
    """Output sizes and ``((before, after), ...)`` padding of every spatial axis."""
    out, pads = [], []
    for axis, (n, k, s, d) in enumerate(zip(spatial, kernel, strides, dilation)):
        dk = (k - 1) * d + 1
        if padding == "same":
            o = -(-n // s)
            total = max((o - 1) * s + dk - n, 0)
            pad = (total // 2, total - total // 2)
        else:
            pad = ((0, 0) if padding == "valid" else (dk - 1, 0) if padding == "causal"
                   else (padding[axis], padding[axis]))
            if dk > n + sum(pad):
                dilated = f" (dilated: {dk})" if d > 1 else ""
                raise ValueError(f"{label}: {what} size {k}{dilated} is larger than the padded input "
                                 f"size {n + sum(pad)} along spatial axis {axis} (input shape "
                                 f"{tuple(spatial)}, padding {padding!r})")
            o = (n + sum(pad) - dk) // s + 1
        out.append(o)
        pads.append(pad)
    return tuple(out), tuple(pads)


def pad(X, pads, value=0.0):
    """``X (m, *spatial, c)`` with ``pads`` around its spatial axes (``X`` itself when none)."""
    if not any(b or a for b, a in pads):
        return X
    return np.pad(X, ((0, 0),) + tuple(pads) + ((0, 0),), constant_values=value)


def unpad(Xp, pads):
    """The inverse of ``pad``: a view of the unpadded part."""
    if not any(b or a for b, a in pads):
        return Xp
    return Xp[(slice(None),) + tuple(slice(b, Xp.shape[1 + i] - a) for i, (b, a) in enumerate(pads))]


def window_view(Xp, kernel, strides, dilation, out):
    """Read-only view ``(m, *out, *kernel, c)`` of every window of ``Xp (m, *spatial, c)``:
    ``view[i, o, k] = Xp[i, o * s + k * d]``. No copy; works on any memory layout."""
    step = Xp.strides[1:-1]
    shape = (Xp.shape[0],) + tuple(out) + tuple(kernel) + (Xp.shape[-1],)
    strides = ((Xp.strides[0],) + tuple(a * s for a, s in zip(step, strides))
               + tuple(a * d for a, d in zip(step, dilation)) + (Xp.strides[-1],))
    return as_strided(Xp, shape, strides, writeable=False)


def offset_slices(kernel, strides, dilation, out):
    """For each kernel offset ``k`` (window order, row-major): the index of the input entries
    that offset reads at every output position, ``Xp[index] (m, *out, c)``."""
    for offset in itertools.product(*(range(k) for k in kernel)):
        yield offset, (slice(None),) + tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                                             for o, d, s, n in zip(offset, dilation, strides, out))


def col2im(dZ, W, dXp, kernel, strides, dilation, out):
    """dL/dXp of a convolution into ``dXp`` (the padded input's shape): for each kernel offset
    ``k`` (``K`` iterations, never a loop over positions), the gradient of the windows' entries
    at that offset, ``dZ W[k]^T (m, *out, c)``, added at once onto the input entries they read
    (one strided add)."""
    dXp.fill(0.0)
    dZ2 = dZ.reshape(-1, dZ.shape[-1])
    for offset, index in offset_slices(kernel, strides, dilation, out):
        dXp[index] += (dZ2 @ W[offset].T).reshape(dZ.shape[:-1] + (W.shape[-2],))
    return dXp
