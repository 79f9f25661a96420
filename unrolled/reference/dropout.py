"""Dropout, the readable way: the equations of docs/layers/dropout.md, one statement each.

The random part is given, not drawn: ``keep`` is the boolean array of kept elements
(``U >= rate`` for ``U`` uniform on [0, 1)), of ``X``'s shape or ``(m, 1, n)`` for one mask per
sequence. ``unrolled.layers.Dropout`` draws it from its generator and computes the same numbers
into reused buffers; ``tests/test_reference_layers.py`` proves them equal. Never called by
``Model``.
"""


def dropout_forward(X, keep=None, rate=0.5):
    """Forward pass: returns ``fc`` with ``X``, ``dropout_mask`` and ``A``; ``keep=None`` is
    inference (or ``rate`` 0), where the layer is the identity and has no mask."""
    if keep is None:
        return {"X": X, "A": X}                   # (DR4)
    M = keep / (1.0 - rate)                       # (DR1) kept: 1 / (1 - rate), dropped: 0
    A = X * M                                     # (DR2) an (m, 1, n) mask serves every step
    return {"X": X, "dropout_mask": M, "A": A}


def dropout_backward(fc, dA):
    """Backward pass: returns ``bc`` with ``dA`` and ``dX``."""
    if "dropout_mask" not in fc:
        return {"dA": dA, "dX": dA}               # (DR4)
    dX = dA * fc["dropout_mask"]                  # (DR3)
    return {"dA": dA, "dX": dX}
