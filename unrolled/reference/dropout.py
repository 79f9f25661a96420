"""Dropout, the readable way: the equations of docs/layers/dropout.md, one statement each.

The random part is given, not drawn: ``keep`` is the boolean array of kept elements
(``U >= rate`` for ``U`` uniform on [0, 1)), of the mask's shape ``dropout_mask_shape(X.shape,
axis)``: ``X``'s shape with 1 along the shared axes, e.g. ``(m, 1, n)`` for one mask per sequence
or ``(m, 1, 1, c)`` for one per image channel. ``unrolled.layers.Dropout`` draws it from its
generator and computes the same numbers into reused buffers; ``tests/test_reference_layers.py``
and ``tests/test_dropout_axis.py`` prove them equal. Never called by ``Model``.
"""


def dropout_mask_shape(X_shape, axis=()):
    """The mask's shape: ``X_shape`` with 1 along every axis of ``axis`` (EpyNN's meaning: the
    axes along which one mask value is shared; 1 is the first axis after the batch axis, negative
    values count from the end)."""
    shared = [a % len(X_shape) for a in axis]
    return tuple(1 if k in shared else size for k, size in enumerate(X_shape))   # (DR5)


def dropout_forward(X, keep=None, rate=0.5):
    """Forward pass: returns ``fc`` with ``X``, ``dropout_mask`` and ``A``; ``keep=None`` is
    inference (or ``rate`` 0), where the layer is the identity and has no mask."""
    if keep is None:
        return {"X": X, "A": X}                   # (DR4)
    M = keep / (1.0 - rate)                       # (DR1) kept: 1 / (1 - rate), dropped: 0
    A = X * M                                     # (DR2) M broadcast along its size-1 axes
    return {"X": X, "dropout_mask": M, "A": A}


def dropout_backward(fc, dA):
    """Backward pass: returns ``bc`` with ``dA`` and ``dX``."""
    if "dropout_mask" not in fc:
        return {"dA": dA, "dX": dA}               # (DR4)
    dX = dA * fc["dropout_mask"]                  # (DR3) the same broadcast as (DR2)
    return {"dA": dA, "dX": dX}
