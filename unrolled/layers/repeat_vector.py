"""RepeatVector: one vector fed to every step of a sequence (one-to-many networks).
Equations: docs/layers/repeat_vector.md; the readable version is unrolled/reference/repeat_vector.py."""
import numpy as np

from ..framework import checks
from ..framework.layer import Layer


class RepeatVector(Layer):
    r"""Repeats a ``(m, e)`` input ``n`` times: ``A (m, n, e)``, ``A[:, t] = X`` for every t.

    This is how a vector conditions a whole output sequence (one-to-many): the recurrent layer
    that follows reads the same input at every step. Equations (docs/layers/repeat_vector.md)::

        (RV1) A[:, t] = X                    for t = 0 .. n-1
        (RV2) dX = sum_t dA[:, t]            (the same input was used n times)

    Shapes
    ------
    ============  ==================  ==================================================
    ``X``         ``(m, e)``          input, ``fc["X"]``
    ``A``         ``(m, n, e)``       output, ``fc["A"]``: a read-only view of ``X``
    ``dA``        like ``A``          gradient from the next layer, ``bc["dA"]``
    ``dX``        like ``X``          gradient to the previous layer, ``bc["dX"]``
    ============  ==================  ==================================================
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.d["n"] = checks.positive_int(self.label, "n", n)

    def compute_shapes(self, A):
        self.check_ndim(A, (2,), "input (m, e)")
        self.fs["X"] = A.shape
        self.fs["A"] = (A.shape[0], self.d["n"], A.shape[1])

    def forward(self, A):
        self.check_input(A)
        self.fc["X"] = A
        self.fc["A"] = np.broadcast_to(A[:, None, :], self.fs["A"])     # (RV1), a read-only view
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        self.bc["dX"] = dA.sum(axis=1)                                  # (RV2)
        return self.bc["dX"]

    def config(self):
        return {**super().config(), "n": self.d["n"]}
