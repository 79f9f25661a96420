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
    ============  ========================  ==============================================
    ``X``         ``(m, n)``                or ``(m, s, n)`` or ``(m, h, w, c)``: input,
                                            ``fc["X"]``
    ``M``         like ``X`` (DR5)          the scaled mask, ``fc["dropout_mask"]`` (training
                                            only); ``(m, 1, n)`` with ``per_sequence=True``
    ``A``         like ``X``                output, ``fc["A"]``
    ``dA``        like ``A``                gradient from the next layer, ``bc["dA"]``
    ``dX``        like ``X``                gradient to the previous layer, ``bc["dX"]``
    ============  ========================  ==============================================

    In training ``fc["A"]`` lives in the private buffer ``fc["_A"]``; at inference it is the input.

    Equations (training; ``U`` uniform on [0, 1) drawn from the layer's generator ``self.rng``)::

        (DR5) shape(M)[k] = 1 if k in axis else shape(X)[k]
        (DR1) M = (U >= rate) / (1 - rate)       keep with probability 1 - rate, U of M's shape
        (DR2) A = X * M                          (M broadcast along the axes in ``axis``)
        (DR3) dX = dA * M                        (the same broadcast)

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
        shared by every step (variational / "noise_shape=(m, 1, n)" dropout), the same as
        ``axis=1``; giving both is an error. Ignored for 2-D and 4-D input.
    axis : int or tuple of ints
        EpyNN's ``axis``: the input axes along which one mask value is *shared* (the mask has size
        1 there and is broadcast); along every other axis it is drawn independently. Axes are
        counted in the input array, 0 being the batch axis, which is not allowed (each sample has
        its own mask); negative values count from the end. Default ``()``: one mask value per
        element. For ``(m, s, n)``, ``axis=1`` drops the same features at every step
        (``per_sequence=True``); for ``(m, h, w, c)``, ``axis=(1, 2)`` drops whole channels
        (spatial dropout, one mask value per sample and channel).
    """

    def __init__(self, rate=0.5, per_sequence=False, axis=(), **kwargs):
        super().__init__(**kwargs)
        self.rate = checks.number(self.label, "rate", rate, low=0.0, high=1.0, high_open=True)
        self.axis = self._check_axis(axis)
        self.per_sequence = checks.flag(self.label, "per_sequence", per_sequence)
        if self.per_sequence and self.axis:
            raise ValueError(f"{self.label}: per_sequence=True and axis={axis!r} conflict: "
                             f"per_sequence=True is axis=1 (one mask per sequence, shared by "
                             f"the steps); give only one of them")

    def _check_axis(self, axis):
        """``axis`` as a tuple of ints: an int or a tuple/list of ints, none 0, no repeats."""
        values = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        for a in values:
            if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
                raise checks.ArgumentTypeError(
                    f"{self.label}: axis must be an int or a tuple of ints (input axes, 1 the "
                    f"first after the batch axis), got {checks.received(axis)}")
        values = tuple(int(a) for a in values)
        if 0 in values:
            raise ValueError(f"{self.label}: axis must not contain the batch axis 0 (each sample "
                             f"draws its own mask), got axis={axis!r}")
        if len(set(values)) != len(values):
            raise ValueError(f"{self.label}: axis must not repeat an axis, got axis={axis!r}")
        return values

    def _shared_axes(self, ndim):
        """The axes of an ``ndim``-D input along which the mask is shared, each in 1..ndim-1."""
        if self.per_sequence and ndim == 3:
            return (1,)
        shared = []
        for a in self.axis:
            if not -ndim < a < ndim:
                raise ValueError(f"{self.label}: axis={self.axis!r} is out of range for "
                                 f"{ndim}-D input: each axis must be in 1..{ndim - 1} or "
                                 f"-{ndim - 1}..-1")
            shared.append(a % ndim)
        if len(set(shared)) != len(shared):
            raise ValueError(f"{self.label}: axis={self.axis!r} names an axis twice for "
                             f"{ndim}-D input (axes {tuple(shared)})")
        return tuple(shared)

    def compute_shapes(self, A):
        self.check_ndim(A, (2, 3, 4))
        self.fs["X"] = self.fs["A"] = A.shape
        self.d["m"], self.d["n"] = A.shape[0], A.shape[-1]
        self.d["s"] = A.shape[1] if A.ndim == 3 else None
        shared = self._shared_axes(A.ndim)
        self.fs["dropout_mask"] = tuple(1 if k in shared else size                 # (DR5)
                                        for k, size in enumerate(A.shape))

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
        return {**super().config(), "rate": self.rate, "axis": self.axis,
                "per_sequence": self.per_sequence}
