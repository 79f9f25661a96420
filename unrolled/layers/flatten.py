"""Flatten: every sample's array as one row (the bridge from convolution to Dense).
Equations: docs/layers/flatten.md; the reference version: unrolled/reference/flatten.py."""
from ..framework.layer import Layer
from .reshape import Reshape


class Flatten(Reshape):
    r"""``X (m, d1, d2, ...)`` to ``A (m, d1*d2*...)`` in C order (the last axis varies fastest,
    as in Keras and EpyNN); backward is the exact inverse. ``Reshape((-1,))`` under its own name.

    Shapes
    ------
    ======  =====================  ===========================================
    ``X``   ``(m, d1, ..., dk)``   input, ``fc["X"]``
    ``A``   ``(m, d1*...*dk)``     output, ``fc["A"]`` (a view of ``X`` when it is contiguous)
    ``dA``  like ``A``             ``bc["dA"]``
    ``dX``  like ``X``             ``bc["dX"]``, a view of ``dA``
    ======  =====================  ===========================================

    Equations (docs/layers/flatten.md)::

        (F1) A[i, j] = X[i, d1, ..., dk]      with j the C-order index of (d1, ..., dk)
        (F2) dX = dA reshaped to the shape of X
    """

    def __init__(self, **kwargs):
        super().__init__((-1,), **kwargs)

    def config(self):
        return Layer.config(self)
