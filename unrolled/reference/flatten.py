"""Flatten and Reshape the plain way: entries copied one by one in C order (the last axis varies
fastest). The oracle of ``unrolled/layers/flatten.py`` and ``reshape.py``; equations (F1)-(F4)
of ``docs/layers/flatten.md``.
"""
import numpy as np


def reshape_forward(X, shape):
    """fc = {"X", "A"}: A[i] holds the entries of X[i] in C order, laid out in ``shape``."""
    A = np.zeros((X.shape[0],) + tuple(shape), dtype=X.dtype)
    for i in range(X.shape[0]):
        for source, target in zip(np.ndindex(*X.shape[1:]), np.ndindex(*shape)):
            A[(i,) + target] = X[(i,) + source]                                   # (F1), (F3)
    return {"X": X, "A": A}


def reshape_backward(dA, X_shape):
    """bc = {"dA", "dX"}: the same entries carried back to the input's positions."""
    dX = np.zeros(X_shape, dtype=dA.dtype)
    for i in range(X_shape[0]):
        for source, target in zip(np.ndindex(*X_shape[1:]), np.ndindex(*dA.shape[1:])):
            dX[(i,) + source] = dA[(i,) + target]                                 # (F2), (F4)
    return {"dA": dA, "dX": dX}


def flatten_forward(X):
    """Reshape to one row per sample."""
    return reshape_forward(X, (int(np.prod(X.shape[1:])),))


def flatten_backward(dA, X_shape):
    return reshape_backward(dA, X_shape)
