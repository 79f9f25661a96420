"""Reshape: every sample's array to a new shape with the same number of entries.
Equations: docs/layers/flatten.md; the reference version: unrolled/reference/flatten.py."""
import numpy as np

from ..framework.layer import Layer


class Reshape(Layer):
    r"""``X (m, ...)`` to ``A (m, *shape)`` in C order; backward is the exact inverse.

    ``shape`` excludes the sample axis; one entry may be -1 (inferred from the others), as in
    ``numpy.reshape`` and Keras.

    Shapes
    ------
    ======  =====================  ==============================================
    ``X``   ``(m, d1, ..., dk)``   input, ``fc["X"]``
    ``A``   ``(m, *shape)``        output, ``fc["A"]`` (a view when ``X`` is contiguous)
    ``dA``  like ``A``             ``bc["dA"]``
    ``dX``  like ``X``             ``bc["dX"]``
    ======  =====================  ==============================================

    Equations (docs/layers/flatten.md)::

        (F3) A[i] = X[i] read in C order into ``shape``
        (F4) dX = dA reshaped to the shape of X
    """

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        try:
            shape = tuple(shape)
        except TypeError:
            shape = (shape,)
        if (not shape or not all(isinstance(n, (int, np.integer)) and (n > 0 or n == -1) for n in shape)
                or sum(n == -1 for n in shape) > 1):
            raise ValueError(f"{self.label}: shape must be positive integers (the sample axis "
                             f"excluded) with at most one -1, got {shape!r}")
        self.shape = tuple(int(n) for n in shape)

    def compute_shapes(self, A):
        if A.ndim < 2:
            raise ValueError(f"{self.label}: expected input of at least 2-D (m, ...), got shape "
                             f"{A.shape} ({A.ndim}-D)")
        size = int(np.prod(A.shape[1:]))
        known = int(np.prod([n for n in self.shape if n != -1]))
        if (-1 in self.shape and size % known) or (-1 not in self.shape and size != known):
            raise ValueError(f"{self.label}: cannot reshape a sample of shape {A.shape[1:]} "
                             f"({size} entries) to {self.shape}")
        target = tuple(size // known if n == -1 else n for n in self.shape)
        self.fs["X"] = A.shape
        self.d["m"] = A.shape[0]
        self.fs["A"] = (A.shape[0],) + target

    def forward(self, A):
        self.check_input(A)
        self.fc["X"] = A
        self.fc["A"] = A.reshape(self.fs["A"])                          # (F3); Flatten: (F1)
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        self.bc["dX"] = dA.reshape(self.fs["X"])                        # (F4); Flatten: (F2)
        return self.bc["dX"]

    def config(self):
        return {**super().config(), "shape": list(self.shape)}
