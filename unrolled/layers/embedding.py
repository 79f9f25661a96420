"""Embedding layer: a trainable lookup table. Equations: docs/layers/embedding.md; the readable
version is unrolled/reference/embedding.py."""
import numpy as np

from ..framework.initializers import get_initializer, initializer_name
from ..framework import checks
from ..framework.layer import Layer


class Embedding(Layer):
    r"""Maps integer token ids to trainable vectors: ``A[..., :] = E[X[...]]``.

    Shapes
    ------
    ==============  ==================  ===========================================
    ``X``           ``(m, s)`` or (m,)  integer ids in ``[0, vocab_size)``, ``fc["X"]``
    ``E``           ``(v, k)``          the table, ``p["E"]``: one row per token
    ``A``           ``X.shape + (k,)``  ``fc["A"]``
    ``dA``          like ``A``          gradient from the next layer, ``bc["dA"]``
    ``dX``          None                ``bc["dX"]``: ids are not differentiable
    ``dE``          ``(v, k)``          ``g["dE"]``: sums of ``dA`` over the positions of each id
    ==============  ==================  ===========================================

    Equations (numbers in the comments below and in docs/layers/embedding.md)::

        (E1) A[i, t] = E[X[i, t]]
        (E2) dE[j] = sum over (i, t) with X[i, t] = j of dA[i, t]    (sparse accumulation)

    The input is a set of ids, not a differentiable quantity: ``backward`` returns None.
    Ids may arrive as floats holding whole numbers (the model keeps integer arrays as they are).
    """

    weight_names = ("E",)
    integer_input = True

    def __init__(self, vocab_size, dim, initializer="uniform_embedding", **kwargs):
        super().__init__(**kwargs)
        self.d["v"] = checks.positive_int(self.label, "vocab_size", vocab_size)
        self.d["k"] = checks.positive_int(self.label, "dim", dim)
        self.initializer_name = initializer
        self.initializer = None if initializer == "uniform_embedding" else get_initializer(initializer, self.label)

    def compute_shapes(self, A):
        self.check_ndim(A, (1, 2), "input of integer ids")
        self.fs["X"] = A.shape
        self.fs["E"] = (self.d["v"], self.d["k"])
        self.fs["A"] = A.shape + (self.d["k"],)
        self.d["m"] = A.shape[0]

    def initialize_parameters(self):
        if self.initializer is None:   # U(-0.05, 0.05), as Keras' default for embeddings
            self.p["E"] = self.rng.uniform(-0.05, 0.05, self.fs["E"]).astype(self.dtype)
        else:
            self.p["E"] = self.initializer(self.fs["E"], self.rng, self.dtype)

    def _ids(self, A):
        ids = np.asarray(A)
        if not np.issubdtype(ids.dtype, np.integer):
            if not np.all(np.mod(ids, 1) == 0):
                raise ValueError(f"{self.label}: expected integer token ids, got non-integer values")
            ids = ids.astype(np.intp)
        if ids.size and (ids.min() < 0 or ids.max() >= self.d["v"]):
            raise ValueError(f"{self.label}: token ids must lie in [0, {self.d['v'] - 1}], "
                             f"got values in [{ids.min()}, {ids.max()}]")
        return ids

    def forward(self, A):
        self.check_input(A)
        ids = self.fc["X"] = self._ids(A)
        self.fc["A"] = self.p["E"][ids]                                   # (E1)
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        self.bc["dX"] = None
        return None

    def compute_gradients(self):
        dE = np.zeros_like(self.p["E"])
        np.add.at(dE, self.fc["X"].ravel(), self.bc["dA"].reshape(-1, self.d["k"]))   # (E2)
        self.g["dE"] = dE

    def config(self):
        return {**super().config(), "vocab_size": self.d["v"], "dim": self.d["k"],
                "initializer": (self.initializer_name if self.initializer is None
                                else initializer_name(self.initializer) or "glorot_uniform")}
