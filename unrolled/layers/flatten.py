"""Flatten: every sample's array as one row (the bridge from convolution to Dense).
Equations: docs/layers/flatten.md; the reference version: unrolled/reference/flatten.py."""
from ..framework.layer import Layer


class Flatten(Layer):
    r"""``X (m, d1, d2, ...)`` to ``A (m, d1*d2*...)`` in C order (the last axis varies fastest,
    as in Keras and EpyNN); backward is the exact inverse.

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

    def compute_shapes(self, A):
        if A.ndim < 2:
            raise ValueError(f"{self.label}: expected input of at least 2-D (m, ...), got shape "
                             f"{A.shape} ({A.ndim}-D)")
        self.fs["X"] = A.shape
        self.d["m"] = A.shape[0]
        self.d["n"] = 1
        for size in A.shape[1:]:
            self.d["n"] *= size
        self.fs["A"] = (self.d["m"], self.d["n"])

    def forward(self, A):
        self.check_input(A)
        self.fc["X"] = A
        self.fc["A"] = A.reshape(self.fs["A"])                          # (F1)
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        self.bc["dX"] = dA.reshape(self.fs["X"])                        # (F2)
        return self.bc["dX"]
