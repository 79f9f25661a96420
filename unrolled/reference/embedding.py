"""Embedding, the readable way: the equations of docs/layers/embedding.md, one statement each.

The gradient is written as the one-hot product it is, ``dE = onehot(X)^T dA``, where
``unrolled.layers.Embedding`` accumulates rows with ``np.add.at`` and never builds the one-hot
array; ``tests/test_reference_layers.py`` proves the two equal. Never called by ``Model``.
"""
import numpy as np


def embedding_forward(X, E):
    """Forward pass: returns ``fc`` with the ids ``X`` ((m, s) or (m,)) and ``A = E[X]``."""
    A = E[X]                                      # (E1) row X[i, t] of the table at (i, t)
    return {"X": X, "A": A}


def embedding_backward(fc, E, dA):
    """Backward pass: returns ``(bc, g)``; ids are not differentiable, so ``bc["dX"]`` is None."""
    one_hot = np.eye(E.shape[0], dtype=dA.dtype)[fc["X"].ravel()]   # one row per position (i, t):
    dA_rows = dA.reshape(-1, E.shape[1])                             # 1 in column X[i, t]
    dE = one_hot.T @ dA_rows                       # (E2) row j: the sum of dA where X = j
    return {"dA": dA, "dX": None}, {"dE": dE}
