"""Positional encoding: sinusoidal (fixed) or learned. Equations: docs/layers/positional_encoding.md."""
import numpy as np

from ..framework.initializers import get_initializer, initializer_name
from ..framework.layer import Layer

KINDS = ("sinusoidal", "learned")


def sinusoidal_table(length, e, dtype=np.float64):
    """(length, e) table of Vaswani et al. (2017): sin at even features, cos at odd ones, with
    wavelengths from 2 pi to 10000 * 2 pi. (PE1)"""
    pos = np.arange(length, dtype=np.float64)[:, None]
    rate = 10000.0 ** (-(2 * (np.arange(e) // 2)) / e)
    angle = pos * rate
    table = np.empty((length, e))
    table[:, 0::2] = np.sin(angle[:, 0::2])
    table[:, 1::2] = np.cos(angle[:, 1::2])
    return table.astype(dtype)


class PositionalEncoding(Layer):
    r"""Adds to every step a vector that says where it is: attention alone does not see order.

    ``"sinusoidal"``: the fixed table of Vaswani et al. (2017), no parameters, any length (up to
    ``max_length`` when given). ``"learned"``: a trainable table ``p["P"]`` of ``max_length`` rows
    (as BERT and GPT-2); step ``t`` adds row ``t``.

    Shapes
    ------
    ==============  ========================  ============================================
    ``X``           ``(m, s, e)``             input (e.g. embeddings), ``fc["X"]``
    ``P``           ``(max_length, e)``       learned table, ``p["P"]`` (learned only)
    ``encoding``    ``(s, e)``                the rows added, ``fc["encoding"]``
    ``A``           ``(m, s, e)``             output, ``fc["A"]``
    ``dA``, ``dX``  like ``A``                ``bc["dA"]``, ``bc["dX"]`` (the same array)
    ``dP``          like ``P``                ``g["dP"]`` (rows ``s`` and beyond are 0)
    ==============  ========================  ============================================

    Equations (numbers in the comments below and in docs/layers/positional_encoding.md)::

        (PE1) PE[t, 2i] = sin(t / 10000^(2i/e)),  PE[t, 2i+1] = cos(t / 10000^(2i/e))
             (sinusoidal; learned: PE = P)
        (PE2) A[:, t] = X[:, t] + PE[t]
        (PE3) dX = dA,  dP[t] = sum over samples of dA[:, t]   (learned only)

    Parameters
    ----------
    kind : ``"sinusoidal"`` or ``"learned"``
    max_length : int, optional
        Longest sequence (required for ``"learned"``).
    initializer : str or callable, optional
        Of the learned table (default: N(0, 0.02^2), as GPT-2).
    """

    def __init__(self, kind="sinusoidal", max_length=None, initializer=None, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"{self.label}: kind must be one of {KINDS}, got {kind!r}")
        if max_length is not None and not (isinstance(max_length, (int, np.integer))
                                           and not isinstance(max_length, bool) and max_length > 0):
            raise ValueError(f"{self.label}: max_length must be a positive integer, got {max_length!r}")
        if kind == "learned" and max_length is None:
            raise ValueError(f"{self.label}: a learned encoding needs max_length (its table's rows)")
        self.kind = kind
        self.max_length = None if max_length is None else int(max_length)
        self.initializer = None if initializer is None else get_initializer(initializer, self.label)
        self.weight_names = ("P",) if kind == "learned" else ()

    def compute_shapes(self, A):
        self.check_ndim(A, (3,), "input (m, s, e)")
        self.check_size("e", A.shape[-1])
        m, s, e = A.shape
        if self.max_length is not None and s > self.max_length:
            raise ValueError(f"{self.label}: sequences of {s} steps are longer than max_length = "
                             f"{self.max_length}")
        self.d.update(m=m, s=s, e=e)
        self.fs["X"] = self.fs["A"] = A.shape
        self.fs["encoding"] = (s, e)
        if self.kind == "learned":
            self.fs["P"] = (self.max_length, e)

    def initialize_parameters(self):
        if self.kind == "learned":
            if self.initializer is None:
                self.p["P"] = (0.02 * self.rng.standard_normal(self.fs["P"])).astype(self.dtype)
            else:
                self.p["P"] = self.initializer(self.fs["P"], self.rng, self.dtype)

    def _table(self):
        """The sinusoidal rows (PE1) for the current length, computed once per (s, e, dtype)."""
        key = self.fs["encoding"] + (self.dtype,)
        if getattr(self, "_sinusoid", (None,))[0] != key:
            self._sinusoid = (key, sinusoidal_table(*self.fs["encoding"], dtype=self.dtype))
        return self._sinusoid[1]

    def forward(self, A):
        self.check_input(A)
        self.fc["X"] = A
        enc = self.fc["encoding"] = (self.p["P"][:self.d["s"]] if self.kind == "learned"
                                     else self._table())                         # (PE1)
        self.fc["A"] = np.add(A, enc, out=self.cache(self.fc, "A", self.fs["A"]))  # (PE2)
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        self.bc["dX"] = dA if self.input_gradient else None                      # (PE3)
        return self.bc["dX"]

    def compute_gradients(self):
        if self.kind == "learned":                                                 # (PE3)
            dP = self.cache(self.g, "dP", self.fs["P"])
            s = self.d["s"]
            np.sum(self.bc["dA"], axis=0, out=dP[:s])
            dP[s:] = 0.0

    def config(self):
        init = None if self.initializer is None else (initializer_name(self.initializer)
                                                      or "glorot_uniform")
        return {**super().config(), "kind": self.kind, "max_length": self.max_length,
                "initializer": init}
