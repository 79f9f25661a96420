
import numpy as np
from unrolled.framework import Layer

class SlopedReLU(Layer):
    """A = max(X, 0) + alpha * min(X, 0), one learnable alpha per feature."""

    def __init__(self, alpha=0.25, **kwargs):
        super().__init__(**kwargs)
        self.alpha0 = float(alpha)

    def compute_shapes(self, A):
        self.check_ndim(A, (2, 3))
        self.check_size("n", A.shape[-1])
        self.d["n"] = A.shape[-1]
        self.fs["X"] = self.fs["A"] = A.shape           # fs["A"]: the output shape
        self.fs["alpha"] = (1, self.d["n"])             # the parameter's shape

    def initialize_parameters(self):
        self.p["alpha"] = np.full(self.fs["alpha"], self.alpha0, dtype=self.dtype)

    def forward(self, A):
        self.check_input(A)
        self.fc["X"], self.fc["N"] = A, np.minimum(A, 0.0)
        self.fc["A"] = np.maximum(A, 0.0) + self.p["alpha"] * self.fc["N"]
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        self.bc["dX"] = dA * np.where(self.fc["X"] > 0, 1.0, self.p["alpha"])
        return self.bc["dX"]

    def compute_gradients(self):
        shared = tuple(range(self.bc["dA"].ndim - 1))
        self.g["dalpha"] = np.sum(self.bc["dA"] * self.fc["N"], axis=shared).reshape(
            self.fs["alpha"])

    def config(self):                                   # what rebuilds the layer
        return {**super().config(), "alpha": self.alpha0}
