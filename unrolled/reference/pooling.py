"""Pooling the plain way: nested loops over samples, output positions, channels and the window.

The oracle of ``unrolled/layers/pooling.py`` and the version ``docs/layers/pooling.md`` shows.
Channels last, one or two spatial axes: ``X (m, *spatial, c)``; ``op`` is "max", "min" or
"mean". Equations (P1)-(P6) and (GP1)-(GP4).
"""
import numpy as np


def _positions(o, k, strides):
    return tuple(o[a] * strides[a] + k[a] for a in range(len(o)))


def pool_forward(X, pool, strides, pads, op):
    """fc = {"X", "A"} (+ "argmax" for max and min): pads is ((before, after), ...)."""
    fill = {"max": -np.inf, "min": np.inf, "mean": 0.0}[op]
    Xp = np.pad(X, [(0, 0)] + list(pads) + [(0, 0)], constant_values=fill)      # (P1)
    real = np.pad(np.ones(X.shape[1:-1]), list(pads))       # 1 on input entries, 0 on padding
    out = tuple((Xp.shape[1 + a] - pool[a]) // strides[a] + 1 for a in range(len(pool)))
    A = np.zeros((X.shape[0],) + out + (X.shape[-1],), dtype=X.dtype)
    argmax = np.zeros(A.shape, dtype=int)
    for i in range(X.shape[0]):
        for o in np.ndindex(*out):
            for ch in range(X.shape[-1]):
                window = [Xp[(i,) + _positions(o, k, strides) + (ch,)] for k in np.ndindex(*pool)]
                if op == "mean":
                    n = sum(real[_positions(o, k, strides)] for k in np.ndindex(*pool))
                    A[(i,) + o + (ch,)] = sum(window) / n                         # (P3)
                    continue
                best = 0
                for j in range(1, len(window)):      # strict comparison: ties keep the first
                    if (window[j] > window[best]) if op == "max" else (window[j] < window[best]):
                        best = j
                argmax[(i,) + o + (ch,)] = best
                A[(i,) + o + (ch,)] = window[best]                                # (P2)
    fc = {"X": X, "A": A}
    if op != "mean":
        fc["argmax"] = argmax
    return fc


def pool_backward(fc, dA, pool, strides, pads, op):
    """bc = {"dA", "dX"} after pool_forward."""
    X = fc["X"]
    Xp_shape = (X.shape[0],) + tuple(n + b + a for n, (b, a) in zip(X.shape[1:-1], pads)) + X.shape[-1:]
    real = np.pad(np.ones(X.shape[1:-1]), list(pads))
    dXp = np.zeros(Xp_shape, dtype=dA.dtype)
    offsets = list(np.ndindex(*pool))
    for i in range(X.shape[0]):
        for o in np.ndindex(*dA.shape[1:-1]):
            for ch in range(X.shape[-1]):
                if op == "mean":
                    n = sum(real[_positions(o, k, strides)] for k in offsets)
                    for k in offsets:
                        dXp[(i,) + _positions(o, k, strides) + (ch,)] += dA[(i,) + o + (ch,)] / n  # (P5)
                else:
                    k = offsets[fc["argmax"][(i,) + o + (ch,)]]
                    dXp[(i,) + _positions(o, k, strides) + (ch,)] += dA[(i,) + o + (ch,)]     # (P4)
    inner = tuple(slice(b, dXp.shape[1 + a] - e) for a, (b, e) in enumerate(pads))
    return {"dA": dA, "dX": dXp[(slice(None),) + inner]}                          # (P6)


def _real(X, mask, i):
    """Flat indices of the positions of sample i that count (all, or the mask's real steps)."""
    n = int(np.prod(X.shape[1:-1]))
    return [j for j in range(n) if mask is None or mask[i, j]]


def global_pool_forward(X, op, mask=None):
    """fc = {"X", "A"} (+ "argmax", the flat position of the first maximum, for max); with a
    sequence mask (m, s) only the real steps count."""
    m, c = X.shape[0], X.shape[-1]
    positions = list(np.ndindex(*X.shape[1:-1]))
    A = np.zeros((m, c), dtype=X.dtype)
    argmax = np.zeros((m, c), dtype=int)
    for i in range(m):
        real = _real(X, mask, i)
        for ch in range(c):
            values = [X[(i,) + positions[j] + (ch,)] for j in real]
            if op == "mean":
                A[i, ch] = sum(values) / len(values)                              # (GP1)
            else:
                best = 0
                for j in range(1, len(values)):
                    if values[j] > values[best]:
                        best = j
                argmax[i, ch], A[i, ch] = real[best], values[best]               # (GP3)
    fc = {"X": X, "A": A}
    if op != "mean":
        fc["argmax"] = argmax
    return fc


def global_pool_backward(fc, dA, op, mask=None):
    """bc = {"dA", "dX"} after global_pool_forward (with the same mask)."""
    X = fc["X"]
    positions = list(np.ndindex(*X.shape[1:-1]))
    dX = np.zeros(X.shape, dtype=dA.dtype)
    for i in range(X.shape[0]):
        real = _real(X, mask, i)
        for ch in range(X.shape[-1]):
            if op == "mean":
                for j in real:
                    dX[(i,) + positions[j] + (ch,)] = dA[i, ch] / len(real)       # (GP2)
            else:
                dX[(i,) + positions[fc["argmax"][i, ch]] + (ch,)] = dA[i, ch]     # (GP4)
    return {"dA": dA, "dX": dX}
