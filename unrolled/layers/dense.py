"""Dense (fully connected) layer. Equations: docs/layers/dense.md; the readable version, one
statement per equation, is unrolled/reference/dense.py."""
import numpy as np

from ..framework import checks
from ..framework.activations import get_activation
from ..framework.initializers import get_initializer, initializer_name, zeros
from ..framework.layer import Layer


class Dense(Layer):
    r"""Fully connected layer ``A = act(X W + b)``.

    On 3-D input ``(m, s, n)`` the same ``W`` and ``b`` apply at every step (the output layer of a
    synchronized many-to-many network); steps are folded into the batch for one matrix product.

    Shapes
    ------
    ============  ==================  ============================================
    ``X``         ``(m, n)``          or ``(m, s, n)``: input, ``fc["X"]``
    ``W``         ``(n, u)``          weights, ``p["W"]``
    ``b``         ``(1, u)``          bias, ``p["b"]``
    ``Z``         ``(m, u)``          or ``(m, s, u)``: pre-activation, ``fc["Z"]``
    ``A``         ``(m, u)``          or ``(m, s, u)``: output, ``fc["A"]``
    ``dA``        like ``A``          gradient from the next layer, ``bc["dA"]``
    ``dZ``        like ``Z``          ``bc["dZ"]``
    ``dX``        like ``X``          gradient to the previous layer, ``bc["dX"]``
    ``dW``        like ``W``          ``g["dW"]``
    ``db``        like ``b``          ``g["db"]``
    ============  ==================  ============================================

    On the time-major input of a recurrent layer's ``fc["h"]``, ``fc["Z"]`` and ``bc["dZ"]`` are
    batch-major views of time-major memory (the private ``fc["_Zt"]``).

    Equations (numbers match the comments below and docs/layers/dense.md)::

        (D1) Z = X W + b
        (D2) A = act(Z)
        (D3) dZ = act'(Z) * dA      (softmax(Z/T)/sigmoid output with cross-entropy: dZ = (A - Y) / (T N))
        (D4) dX = dZ W^T
        (D5) dW = X^T dZ            (summed over samples and steps)
        (D6) db = sum(dZ)           (over samples and steps)

    Parameters
    ----------
    units : int
        Output width ``u``.
    activation : str or Activation
        Name (``"relu"``, ``"softmax"``...) or instance; ``activation_params`` go to the named one
        (e.g. ``activation="leaky_relu", activation_params={"alpha": 0.2}``).
    initializer : str or callable
        Initializer of ``W`` (``b`` starts at zero).
    use_bias : bool
        False: no ``b`` (``Z = X W``; EpyNN's and PyTorch's ``bias=False``).
    """

    weight_names = ("W",)

    def __init__(self, units, activation="identity", activation_params=None,
                 initializer="glorot_uniform", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.d["u"] = checks.positive_int(self.label, "units", units)
        if activation_params is not None and not isinstance(activation_params, dict):
            raise checks.ArgumentTypeError(
                f"{self.label}: activation_params must be a dict of the activation's parameters "
                f"(e.g. {{'alpha': 0.2}}), got {checks.received(activation_params)}")
        self.use_bias = checks.flag(self.label, "use_bias", use_bias)
        self.activation = get_activation(activation, self.label, **(activation_params or {}))
        self.initializer = get_initializer(initializer, self.label)
        # Set by the model when the loss is fused with this output activation: backward then
        # receives dL/dZ directly (D3 is skipped).
        self.fused_output = False

    def compute_shapes(self, A):
        self.check_ndim(A, (2, 3))
        self.check_size("n", A.shape[-1])
        self.fs["X"] = A.shape
        self.d["m"], self.d["n"] = A.shape[0], A.shape[-1]
        self.d["s"] = A.shape[1] if A.ndim == 3 else None
        self.fs["W"] = (self.d["n"], self.d["u"])
        if self.use_bias:
            self.fs["b"] = (1, self.d["u"])
        self.fs["Z"] = self.fs["A"] = A.shape[:-1] + (self.d["u"],)

    def initialize_parameters(self):
        self.p["W"] = self.initializer(self.fs["W"], self.rng, self.dtype)
        if self.use_bias:
            self.p["b"] = zeros(self.fs["b"], dtype=self.dtype)

    @staticmethod
    def positions(A):
        """``A`` as a ``(rows, width)`` matrix of its positions, without a copy, and whether the
        rows run time-major. A recurrent layer's ``fc["h"]`` is a batch-major view of time-major
        memory, which a plain reshape would copy (twice a step: forward and gradients); it is
        read in its own, time-major order instead."""
        if A.ndim == 3 and not A.flags.c_contiguous and A.swapaxes(0, 1).flags.c_contiguous:
            return A.swapaxes(0, 1).reshape(-1, A.shape[-1]), True
        return A.reshape(-1, A.shape[-1]), False

    def forward(self, A):
        self.check_input(A)
        X = self.fc["X"] = A
        X2, time_major = self.positions(X)   # steps folded into the batch: one product
        u = self.d["u"]
        if time_major:                       # Z in the same row order, seen batch-major
            Zt = self.cache(self.fc, "_Zt", (X.shape[1], X.shape[0], u))
            np.matmul(X2, self.p["W"], out=Zt.reshape(-1, u))               # (D1) XW
            Z = Zt.swapaxes(0, 1)
        else:
            Z = self.cache(self.fc, "Z", self.fs["Z"])
            np.matmul(X2, self.p["W"], out=Z.reshape(-1, u))                # (D1) XW
        if self.use_bias:
            Z += self.p["b"]                 # (D1) + b
        self.fc["Z"] = Z
        self.fc["A"] = self.activation.forward(Z)  # (D2)
        return self.fc["A"]

    def _rows_like_input(self, dZ):
        """dZ as a (rows, u) matrix in the row order of ``positions(X)``: a view when dZ lies in
        the same memory order as X (as ``backward`` stores it), else a copy."""
        if self.positions(self.fc["X"])[1]:
            return np.ascontiguousarray(dZ.swapaxes(0, 1)).reshape(-1, self.d["u"])
        return dZ.reshape(-1, self.d["u"])

    def backward(self, dA):
        self.bc["dA"] = dA
        if self.fused_output:
            dZ = dA                          # (D3) given by the fused loss
        else:
            dZ = self.activation.backward(dA, self.fc["A"], self.fc["Z"])  # (D3)
        if self.positions(self.fc["X"])[1]:  # dZ in X's (time-major) memory order, reordered
            dZ = np.ascontiguousarray(dZ.swapaxes(0, 1)).swapaxes(0, 1)   # once for D4 and D5
        self.bc["dZ"] = dZ
        if not self.input_gradient:
            self.bc["dX"] = None
            return None
        dX2 = self._rows_like_input(dZ) @ self.p["W"].T       # (D4)
        X = self.fc["X"]
        if X.ndim == 3 and self.positions(X)[1]:
            dX = dX2.reshape(X.shape[1], X.shape[0], -1).swapaxes(0, 1)
        else:
            dX = dX2.reshape(self.fs["X"])
        self.bc["dX"] = dX
        return dX

    def compute_gradients(self):
        X2 = self.positions(self.fc["X"])[0]
        dZ2 = self._rows_like_input(self.bc["dZ"])
        # into the gradient buffer of the last step (the model reads g, never keeps it):
        # no parameter-sized allocation per step
        np.matmul(X2.T, dZ2, out=self.cache(self.g, "dW", self.fs["W"]))    # (D5)
        if self.use_bias:
            self.g["db"] = dZ2.sum(axis=0, keepdims=True)    # (D6)

    def config(self):
        init = initializer_name(self.initializer)
        return {**super().config(), "units": self.d["u"], "activation": self.activation.name,
                "activation_params": self.activation.config(),
                "initializer": init if init else "glorot_uniform", "use_bias": self.use_bias}
