"""RepeatVector, the readable way: the equations of docs/layers/repeat_vector.md.

``unrolled.layers.RepeatVector`` returns a read-only broadcast view instead of copies and sums
``dA`` in one call; ``tests/test_reference_layers.py`` proves the two equal. Never called by
``Model``.
"""
import numpy as np


def repeat_vector_forward(X, n):
    """Forward pass: returns ``fc`` with ``X`` (m, e) and ``A`` (m, n, e)."""
    A = np.stack([X] * n, axis=1)                 # (RV1) the same X at every step
    return {"X": X, "A": A}


def repeat_vector_backward(fc, dA):
    """Backward pass: returns ``bc`` with ``dA`` and ``dX``."""
    dX = sum(dA[:, t] for t in range(dA.shape[1]))    # (RV2) X was used at every step
    return {"dA": dA, "dX": dX}
