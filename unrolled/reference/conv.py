"""Convolution the plain way: nested loops over samples, output positions and kernel offsets.

The oracle of ``unrolled/layers/conv.py`` (the tests prove the two equal, entry by entry) and
the version ``docs/layers/conv.md`` shows. Channels last, one or two spatial axes:
``X (m, *spatial, c)``, ``W (*kernel, c, f)``, ``b (f,)`` or None. Equations (C1)-(C10).
"""
import numpy as np


def same_padding(n, k, stride, dilation):
    """TensorFlow/Keras "same" padding of an axis of size n: (before, after) zeros, so that
    out = ceil(n / stride); an odd total puts the extra zero after."""
    dk = (k - 1) * dilation + 1                     # the dilated kernel size
    out = -(-n // stride)
    total = max((out - 1) * stride + dk - n, 0)
    return total // 2, total - total // 2


def conv_forward(X, W, b, strides, dilation, pads, activation):
    """fc = {"X", "Z", "A"}; pads is ((before, after), ...) per spatial axis."""
    kernel, f = W.shape[:-2], W.shape[-1]
    rank = len(kernel)
    Xp = np.pad(X, [(0, 0)] + list(pads) + [(0, 0)])                               # (C1)
    out = tuple((Xp.shape[1 + a] - (kernel[a] - 1) * dilation[a] - 1) // strides[a] + 1
                for a in range(rank))
    Z = np.zeros((X.shape[0],) + out + (f,), dtype=X.dtype)
    for i in range(X.shape[0]):
        for o in np.ndindex(*out):
            for k in np.ndindex(*kernel):
                p = tuple(o[a] * strides[a] + k[a] * dilation[a] for a in range(rank))
                Z[(i,) + o] += Xp[(i,) + p] @ W[k]        # (C2)-(C3): the tap's c inputs x (c, f)
            if b is not None:
                Z[(i,) + o] += b                                                  # (C3)
    A = activation.forward(Z)                                                     # (C4)
    return {"X": X, "Z": Z, "A": A}


def conv_backward(fc, dA, W, b, strides, dilation, pads, activation):
    """(bc, g) = ({"dA", "dZ", "dX"}, {"dW", "db"}) after conv_forward."""
    X, Z, A = fc["X"], fc["Z"], fc["A"]
    kernel = W.shape[:-2]
    rank = len(kernel)
    dZ = activation.backward(dA, A, Z)                                            # (C5)
    Xp = np.pad(X, [(0, 0)] + list(pads) + [(0, 0)])
    dXp = np.zeros_like(Xp)
    dW = np.zeros_like(W)
    for i in range(X.shape[0]):
        for o in np.ndindex(*Z.shape[1:-1]):
            for k in np.ndindex(*kernel):
                p = tuple(o[a] * strides[a] + k[a] * dilation[a] for a in range(rank))
                dXp[(i,) + p] += W[k] @ dZ[(i,) + o]                              # (C6)-(C7)
                dW[k] += np.outer(Xp[(i,) + p], dZ[(i,) + o])                     # (C9)
    inner = tuple(slice(before, Xp.shape[1 + a] - after) for a, (before, after) in enumerate(pads))
    dX = dXp[(slice(None),) + inner]                                              # (C8)
    g = {"dW": dW}
    if b is not None:
        g["db"] = dZ.sum(axis=tuple(range(rank + 1)))                             # (C10)
    return {"dA": dA, "dZ": dZ, "dX": dX}, g
