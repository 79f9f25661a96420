"""Dropout layer (inverted dropout). Equations: docs/layers/dropout.md; the readable version is
unrolled/reference/dropout.py."""
import numpy as np

from ..framework import checks
from ..framework.layer import Layer


class Dropout(Layer):
    r"""Inverted dropout: in training, zero each input element with probability ``rate`` and scale
    the survivors by ``1 / (1 - rate)`` so the expected output equals the input; at inference
    (``training`` False, as in ``model.predict``/``evaluate``) the layer is exactly the identity
    and draws no random numbers.

    Shapes
    ------
    ============  ====================  ==================================================
    ``X``         ``(m, n)``            or ``(m, s, n)``: input, ``fc["X"]``
    ``M``         like ``X``            the scaled mask, ``fc["dropout_mask"]`` (training only);
                                        ``(m, 1, n)`` with ``per_sequence=True``
    ``A``         like ``X``            output, ``fc["A"]``
    ``dA``        like ``A``            gradient from the next layer, ``bc["dA"]``
    ``dX``        like ``X``            gradient to the previous layer, ``bc["dX"]``
    ============  ====================  ==================================================

    In training ``fc["A"]`` lives in the private buffer ``fc["_A"]``; at inference it is the input.

    Equations (training; ``U`` uniform on [0, 1) drawn from the layer's generator ``self.rng``)::

        (DR1) M = (U >= rate) / (1 - rate)       keep with probability 1 - rate
        (DR2) A = X * M                          (M broadcast over steps with per_sequence)
        (DR3) dX = dA * M

    At inference::

        (DR4) A = X,  dX = dA

    Because the mask comes from ``self.rng`` (seeded by the model), the same seed gives the same
    masks; ``gradcheck`` rewinds the generator before each evaluation, which freezes the mask.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of dropping an element.
    per_sequence : bool
        For 3-D input ``(m, s, n)``: draw one mask per sequence and feature, shape ``(m, 1, n)``,
        shared by every step (variational / "noise_shape=(m, 1, n)" dropout). Ignored for 2-D input.
    """

    def __init__(self, rate=0.5, per_sequence=False, **kwargs):
        super().__init__(**kwargs)
        self.rate = checks.number(self.label, "rate", rate, low=0.0, high=1.0, high_open=True)
        self.per_sequence = checks.flag(self.label, "per_sequence", per_sequence)

    def compute_shapes(self, A):
        self.check_ndim(A, (2, 3))
        self.fs["X"] = self.fs["A"] = A.shape
        self.d["m"], self.d["n"] = A.shape[0], A.shape[-1]
        self.d["s"] = A.shape[1] if A.ndim == 3 else None
        if self.per_sequence and A.ndim == 3:
            self.fs["dropout_mask"] = (A.shape[0], 1, A.shape[2])
        else:
            self.fs["dropout_mask"] = A.shape

    def forward(self, A):
        self.check_input(A)
        self.fc["X"] = A
        if not self.training or self.rate == 0.0:
            self.fc.pop("dropout_mask", None)
            self.fc["A"] = A                                          # (DR4)
            return A
        keep = self.rng.random(self.fs["dropout_mask"]) >= self.rate              # (DR1)
        mask = self.cache(self.fc, "dropout_mask", self.fs["dropout_mask"])
        np.multiply(keep, 1.0 / (1.0 - self.rate), out=mask, casting="unsafe")  # (DR1)
        # its own buffer: at inference fc["A"] is the caller's input, never to be written
        A_out = self.cache(self.fc, "_A", self.fs["A"])
        np.multiply(A, mask, out=A_out)                                  # (DR2)
        self.fc["A"] = A_out
        return A_out

    def backward(self, dA):
        self.bc["dA"] = dA
        mask = self.fc.get("dropout_mask")
        if not self.input_gradient:
            self.bc["dX"] = None                                      # nothing needs dL/dX
        elif mask is None:
            self.bc["dX"] = dA                                        # (DR4)
        else:
            self.bc["dX"] = dA * mask                                 # (DR3)
        return self.bc["dX"]

    def config(self):
        return {**super().config(), "rate": self.rate, "per_sequence": self.per_sequence}
