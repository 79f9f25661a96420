"""Layer normalization over the last axis. Equations: docs/layers/layer_normalization.md."""
import numpy as np

from ..framework.layer import Layer


class LayerNormalization(Layer):
    r"""Normalizes each position's feature vector to mean 0 and variance 1, then scales and shifts
    it: ``A = gamma * (X - mean) / sqrt(var + epsilon) + beta`` (Ba et al. 2016).

    Statistics are taken over the last axis only, per sample and per step, so the layer behaves
    the same in training and inference and for any batch size (unlike batch normalization).

    Shapes (``...`` is ``(m,)`` or ``(m, s)``)
    ------------------------------------------
    ============  ===============  ==============================================
    ``X``         ``(..., e)``     input, ``fc["X"]``
    ``mean``      ``(..., 1)``     ``fc["mean"]``
    ``var``       ``(..., 1)``     ``fc["var"]`` (biased: divided by e)
    ``std``       ``(..., 1)``     ``fc["std"]`` = sqrt(var + epsilon)
    ``xhat``      ``(..., e)``     normalized input, ``fc["xhat"]``
    ``gamma``     ``(e,)``         scale, ``p["gamma"]`` (starts at 1; absent if ``scale=False``)
    ``beta``      ``(e,)``         shift, ``p["beta"]`` (starts at 0; absent if ``center=False``)
    ``A``         ``(..., e)``     output, ``fc["A"]``
    ``dA``        like ``A``       ``bc["dA"]``
    ``dxhat``     like ``xhat``    ``bc["dxhat"]``
    ``dX``        like ``X``       ``bc["dX"]``
    ============  ===============  ==============================================

    Equations (numbers in the comments below, in unrolled/reference/transformer.py and in the
    docs)::

        (N1) mean = sum_k X[.., k] / e
        (N2) var = sum_k (X[.., k] - mean)^2 / e
        (N3) std = sqrt(var + epsilon)
        (N4) xhat = (X - mean) / std
        (N5) A = gamma * xhat + beta
        (N6) dxhat = gamma * dA
        (N7) dX = (dxhat - mean_k(dxhat) - xhat * mean_k(dxhat * xhat)) / std
        (N8) dgamma = sum over positions of dA * xhat,  dbeta = sum over positions of dA

    Parameters
    ----------
    epsilon : float
        Added to the variance (default 1e-5, as ``torch.nn.LayerNorm``; Keras uses 1e-3).
    center : bool
        Learn the shift ``beta``.
    scale : bool
        Learn the scale ``gamma``.
    """

    weight_names = ("gamma",)

    def __init__(self, epsilon=1e-5, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon, bool) or not (isinstance(epsilon, (int, float, np.floating))
                                             and epsilon > 0):
            raise ValueError(f"{self.label}: epsilon must be a number > 0, got {epsilon!r}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)

    def compute_shapes(self, A):
        self.check_ndim(A, (2, 3))
        self.check_size("e", A.shape[-1])
        self.fs["X"] = self.fs["A"] = self.fs["xhat"] = A.shape
        self.fs["mean"] = self.fs["var"] = self.fs["std"] = A.shape[:-1] + (1,)
        self.d["m"], self.d["e"] = A.shape[0], A.shape[-1]
        self.d["s"] = A.shape[1] if A.ndim == 3 else None
        self.fs["gamma"] = self.fs["beta"] = (self.d["e"],)

    def initialize_parameters(self):
        if self.scale:
            self.p["gamma"] = np.ones(self.fs["gamma"], dtype=self.dtype)
        if self.center:
            self.p["beta"] = np.zeros(self.fs["beta"], dtype=self.dtype)

    def forward(self, A):
        self.check_input(A)
        fc = self.fc
        fc["X"] = A
        mean = fc["mean"] = np.mean(A, axis=-1, keepdims=True)                 # (N1)
        xc = np.subtract(A, mean, out=self.cache(fc, "xhat", self.fs["xhat"]))
        var = fc["var"] = np.mean(np.square(xc, out=self.cache(fc, "_sq", self.fs["X"])),
                                  axis=-1, keepdims=True)                       # (N2)
        std = fc["std"] = np.sqrt(var + self.epsilon)                           # (N3)
        xhat = np.divide(xc, std, out=xc)                                       # (N4)
        if not (self.scale or self.center):
            fc["A"] = xhat
            return xhat
        out = self.cache(fc, "A", self.fs["A"])                                 # (N5)
        if self.scale:
            np.multiply(xhat, self.p["gamma"], out=out)
        else:
            np.copyto(out, xhat)
        if self.center:
            out += self.p["beta"]
        return out

    def backward(self, dA):
        self.bc["dA"] = dA
        xhat, std = self.fc["xhat"], self.fc["std"]
        dxhat = self.bc["dxhat"] = dA * self.p["gamma"] if self.scale else dA   # (N6)
        if not self.input_gradient:
            self.bc["dX"] = None
            return None
        e = self.d["e"]
        # (N7): dX = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std
        prod = np.multiply(dxhat, xhat, out=self.cache(self.bc, "_prod", self.fs["X"]))
        proj = np.sum(prod, axis=-1, keepdims=True)
        proj /= e
        dX = np.multiply(xhat, proj, out=prod)
        np.subtract(dxhat, dX, out=dX)
        dX -= np.sum(dxhat, axis=-1, keepdims=True) / e
        dX /= std
        self.bc["dX"] = dX
        return dX

    def compute_gradients(self):
        e = self.d["e"]
        dA2 = self.bc["dA"].reshape(-1, e)
        if self.scale:                                                          # (N8)
            self.g["dgamma"] = np.einsum("ij,ij->j", dA2, self.fc["xhat"].reshape(-1, e))
        if self.center:
            self.g["dbeta"] = dA2.sum(axis=0)                                   # (N8)

    def config(self):
        return {**super().config(), "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale}
