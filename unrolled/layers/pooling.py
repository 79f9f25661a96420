"""Pooling layers, channels last: max/average over windows, global max/average, and EpyNN's name
Pooling. Equations: docs/layers/pooling.md; the plain-loop version: unrolled/reference/pooling.py."""
import numpy as np

from ..framework.layer import Layer
from .windows import as_tuple, offset_slices, output_and_pads, pad, unpad

_OPS = ("max", "min", "mean")


class PoolND(Layer):
    r"""Max, min or average over windows of ``rank`` spatial axes (base of the pooling layers).

    Each channel is pooled on its own. Shapes below are for 2-D; 1-D drops one spatial axis
    (``(m, s, c)`` in, ``(m, o, c)`` out).

    Shapes
    ------
    ============  ===================  ====================================================
    ``X``         ``(m, h, w, c)``     input, ``fc["X"]``
    ``A``         ``(m, oh, ow, c)``   output, ``fc["A"]``
    ``argmax``    ``(m, oh, ow, c)``   max/min pooling: window offset (row-major over the
                                       window) of the chosen entry, ``fc["argmax"]``
    ``dA``        like ``A``           ``bc["dA"]``
    ``dX``        like ``X``           ``bc["dX"]``
    ============  ===================  ====================================================

    ``d`` holds ``m``, ``c``, ``pool``, ``strides``, ``out``, ``pads``; average pooling keeps the
    number of real (unpadded) entries of every window in ``fc["_count"]`` ``(1, oh, ow, 1)``.

    Equations (numbers match the comments below and docs/layers/pooling.md)::

        (P1) Xp = pad(X)               (-inf for max, +inf for min, 0 for average)
        (P2) A[i, o, c] = max_k Xp[i, o*s + k, c];   argmax = the FIRST k reaching it
        (P3) A[i, o, c] = sum_k Xp[i, o*s + k, c] / n_o   (n_o real entries of the window)
        (P4) dXp[i, o*s + argmax[i, o, c], c] += dA[i, o, c]
        (P5) dXp[i, o*s + k, c] += dA[i, o, c] / n_o      for every k of the window
        (P6) dX = dXp without the padding

    Ties: the gradient goes to the first maximum in window order (row by row), as in PyTorch.
    Padding ``"same"`` (TensorFlow/Keras): ``out = ceil(n / s)``, the padded entries never win
    a max and are not counted by the average (Keras; PyTorch's ``count_include_pad=False``).

    Parameters
    ----------
    pool_size : int or tuple of ``rank`` ints
    strides : int or tuple, optional
        Default: ``pool_size`` (non-overlapping windows).
    padding : "valid" or "same"
    """

    rank = None
    op = None

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.d["pool"] = as_tuple(pool_size, self.rank, "pool_size", self.label)
        self.d["strides"] = (self.d["pool"] if strides is None
                             else as_tuple(strides, self.rank, "strides", self.label))
        if not (isinstance(padding, str) and padding.lower() in ("valid", "same")):
            raise ValueError(f"{self.label}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding.lower()

    def compute_shapes(self, A):
        self.check_ndim(A, (self.rank + 2,), "input (m, h, w, c)" if self.rank == 2 else "input (m, s, c)")
        self.fs["X"] = A.shape
        self.d["m"], self.d["c"] = A.shape[0], A.shape[-1]
        self.d["out"], self.d["pads"] = output_and_pads(
            self.label, A.shape[1:-1], self.d["pool"], self.d["strides"], (1,) * self.rank,
            self.padding, what="pool")
        self.fs["A"] = (self.d["m"],) + self.d["out"] + (self.d["c"],)

    def _slices(self):
        d = self.d
        return offset_slices(d["pool"], d["strides"], (1,) * self.rank, d["out"])

    def forward(self, A):
        self.check_input(A)
        X = self.fc["X"] = A
        fill = {"max": -np.inf, "min": np.inf, "mean": 0.0}[self.op]
        Xp = pad(X, self.d["pads"], fill)                                           # (P1)
        out = self.cache(self.fc, "A", self.fs["A"])
        if self.op == "mean":
            out.fill(0.0)
            for _, index in self._slices():
                out += Xp[index]
            out /= self._count()                                                    # (P3)
        else:
            index_type = np.int8 if np.prod(self.d["pool"]) <= 127 else np.intp   # 1 byte/entry
            argmax = self.cache(self.fc, "argmax", self.fs["A"], index_type)
            extreme = np.maximum if self.op == "max" else np.minimum
            windows = [Xp[index] for _, index in self._slices()]
            np.copyto(out, windows[0])
            for window in windows[1:]:
                extreme(out, window, out=out)                                       # (P2)
            # argmax = the first offset whose entry equals the extreme: count the offsets
            # passed before it (a tie keeps the earlier offset)
            argmax.fill(0)
            pending = windows[0] != out
            for window in windows[1:]:
                argmax += pending
                pending &= window != out
        self.fc["A"] = out
        return out

    def _count(self):
        """Real entries per window, ``(1, *out, 1)`` (``K`` everywhere unless "same" padding cut
        into the window); kept in ``fc["_count"]`` for the backward pass."""
        d = self.d
        if not any(b or a for b, a in d["pads"]):
            count = np.asarray(float(np.prod(d["pool"])), dtype=self.dtype)
        else:
            ones = pad(np.ones((1,) + self.fs["X"][1:-1] + (1,), dtype=self.dtype), d["pads"], 0.0)
            count = np.zeros((1,) + d["out"] + (1,), dtype=self.dtype)
            for _, index in self._slices():
                count += ones[index]
        self.fc["_count"] = count
        return count

    def backward(self, dA):
        self.bc["dA"] = dA
        d = self.d
        padded = (d["m"],) + tuple(n + b + a for n, (b, a) in zip(self.fs["X"][1:-1], d["pads"])) \
            + (d["c"],)
        dXp = self.cache(self.bc, "_dXp", padded)      # reused: no new buffer per step
        dXp.fill(0.0)
        if self.op == "mean":
            share = dA / self.fc["_count"]
            for _, index in self._slices():
                dXp[index] += share                                                 # (P5)
        else:
            argmax = self.fc["argmax"]
            for k, (_, index) in enumerate(self._slices()):
                dXp[index] += dA * (argmax == k)                                    # (P4)
        self.bc["dX"] = unpad(dXp, d["pads"])                                       # (P6)
        return self.bc["dX"]

    def config(self):
        return {**super().config(), "pool_size": list(self.d["pool"]),
                "strides": list(self.d["strides"]), "padding": self.padding}


class MaxPooling1D(PoolND):
    """Max over windows of the steps of ``(m, s, c)``. See :class:`PoolND`."""
    rank, op = 1, "max"


class MaxPooling2D(PoolND):
    """Max over windows of images ``(m, h, w, c)``. See :class:`PoolND`."""
    rank, op = 2, "max"


class AveragePooling1D(PoolND):
    """Mean over windows of the steps of ``(m, s, c)``. See :class:`PoolND`."""
    rank, op = 1, "mean"


class AveragePooling2D(PoolND):
    """Mean over windows of images ``(m, h, w, c)``. See :class:`PoolND`."""
    rank, op = 2, "mean"


_EPYNN_POOLS = {"max": "max", "amax": "max", "min": "min", "amin": "min", "mean": "mean",
                "average": "mean"}


class Pooling(PoolND):
    """EpyNN's ``Pooling(pool_size=(2, 2), strides=None, pool=np.max)`` on images
    ``(m, h, w, c)``: ``pool`` is ``np.max``, ``np.min`` or ``np.mean`` (or the names ``"max"``,
    ``"min"``, ``"mean"``); ``strides=None`` means ``pool_size``. No padding, as in EpyNN.

    Differences from EpyNN 1.2.13, which this layer does not copy: EpyNN replaces a non-tuple
    ``strides`` (an int too) by ``pool_size`` (here an int is that stride on both axes); its max
    pooling sends the gradient to every tied maximum of a window (here: to the first, as PyTorch);
    its ``np.mean`` backward reuses the max mask (here: ``dA / K`` to every entry, the exact
    gradient of the mean).
    """
    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, pool=np.max, **kwargs):
        name = pool if isinstance(pool, str) else getattr(pool, "__name__", None)
        label = f"Pooling {kwargs['name']!r}" if kwargs.get("name") else "Pooling"
        if name not in _EPYNN_POOLS:
            raise ValueError(f"{label}: pool must be np.max, np.min or np.mean (or 'max', 'min', "
                             f"'mean'), got {pool!r}")
        self.op = _EPYNN_POOLS[name]
        super().__init__(pool_size, strides=strides, padding="valid", **kwargs)

    def config(self):
        return {**Layer.config(self), "pool_size": list(self.d["pool"]),
                "strides": list(self.d["strides"]), "pool": self.op}


class GlobalPoolND(Layer):
    r"""Max or average over all positions of each channel (base of the global pooling layers):
    ``(m, h, w, c)`` or ``(m, s, c)`` to ``(m, c)``.

    Shapes
    ------
    ==========  ==================  ===============================================
    ``X``       ``(m, h, w, c)``    input, ``fc["X"]`` (1-D: ``(m, s, c)``)
    ``A``       ``(m, c)``          output, ``fc["A"]``
    ``argmax``  ``(m, c)``          max: flat position (row-major) of the first
                                    maximum, ``fc["argmax"]``
    ``dA``      like ``A``          ``bc["dA"]``
    ``dX``      like ``X``          ``bc["dX"]``
    ==========  ==================  ===============================================

    Equations (docs/layers/pooling.md), with ``N`` positions per channel::

        (GP1) A[i, c] = sum_p X[i, p, c] / N
        (GP2) dX[i, p, c] = dA[i, c] / N
        (GP3) A[i, c] = max_p X[i, p, c];   argmax = the first p reaching it
        (GP4) dX[i, p, c] = dA[i, c] if p == argmax[i, c], else 0

    The 1-D layers take the forward keyword ``mask (m, s)`` (True on real steps, as the recurrent
    layers; kept in ``fc["mask"]``): sums, maxima and ``N`` then run over each sequence's real
    steps only, and padded steps receive no gradient.
    """

    rank = None
    op = None

    def compute_shapes(self, A):
        self.check_ndim(A, (self.rank + 2,), "input (m, h, w, c)" if self.rank == 2 else "input (m, s, c)")
        self.fs["X"] = A.shape
        self.d["m"], self.d["c"] = A.shape[0], A.shape[-1]
        self.d["n"] = int(np.prod(A.shape[1:-1]))
        self.fs["A"] = (self.d["m"], self.d["c"])

    @property
    def supports_mask(self):
        return self.rank == 1

    def _check_mask(self, mask):
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (self.d["m"], self.d["n"]):
            raise ValueError(f"{self.label}: mask must be a boolean array of shape (m, s) = "
                             f"{(self.d['m'], self.d['n'])}, got {mask.dtype} {mask.shape}")
        if not mask.any(axis=1).all():
            raise ValueError(f"{self.label}: every sequence needs at least one real step; "
                             f"the mask of sample(s) {np.flatnonzero(~mask.any(axis=1)).tolist()} "
                             f"is all False")
        return mask

    def forward(self, A, mask=None):
        self.check_input(A)
        if mask is not None and not self.supports_mask:
            raise ValueError(f"{self.label}: a mask applies to sequences (m, s, c); use the 1-D layer")
        self.fc["X"] = A
        self.fc["mask"] = mask = None if mask is None else self._check_mask(mask)
        X3 = A.reshape(self.d["m"], self.d["n"], self.d["c"])
        if self.op == "mean":
            if mask is None:
                self.fc["A"] = X3.sum(axis=1) / self.d["n"]                          # (GP1)
            else:
                self.fc["A"] = ((X3 * mask[:, :, None]).sum(axis=1)
                                / mask.sum(axis=1, keepdims=True))                   # (GP1)
        else:
            scores = X3 if mask is None else np.where(mask[:, :, None], X3, -np.inf)
            argmax = self.fc["argmax"] = scores.argmax(axis=1)  # np.argmax: the first maximum
            self.fc["A"] = np.take_along_axis(X3, argmax[:, None, :], axis=1)[:, 0]  # (GP3)
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        m, n, c = self.d["m"], self.d["n"], self.d["c"]
        dX = self.cache(self.bc, "_dX3", (m, n, c))
        mask = self.fc.get("mask")
        if self.op == "mean" and mask is None:
            dX[...] = (dA / n)[:, None, :]                                           # (GP2)
        elif self.op == "mean":
            np.multiply(mask[:, :, None], (dA / mask.sum(axis=1, keepdims=True))[:, None, :],
                        out=dX)                                                      # (GP2)
        else:
            dX.fill(0.0)
            np.put_along_axis(dX, self.fc["argmax"][:, None, :], dA[:, None, :], axis=1)  # (GP4)
        self.bc["dX"] = dX.reshape(self.fs["X"])
        return self.bc["dX"]


class GlobalAveragePooling1D(GlobalPoolND):
    """Mean over the steps of ``(m, s, c)``: ``(m, c)``. See :class:`GlobalPoolND`."""
    rank, op = 1, "mean"


class GlobalAveragePooling2D(GlobalPoolND):
    """Mean over the positions of ``(m, h, w, c)``: ``(m, c)``. See :class:`GlobalPoolND`."""
    rank, op = 2, "mean"


class GlobalMaxPooling1D(GlobalPoolND):
    """Max over the steps of ``(m, s, c)``: ``(m, c)``. See :class:`GlobalPoolND`."""
    rank, op = 1, "max"


class GlobalMaxPooling2D(GlobalPoolND):
    """Max over the positions of ``(m, h, w, c)``: ``(m, c)``. See :class:`GlobalPoolND`."""
    rank, op = 2, "max"
