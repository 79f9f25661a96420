"""Bidirectional wrapper for RNN, LSTM and GRU. Equations: docs/layers/bidirectional.md."""
import numpy as np

from ..framework.layer import Layer
from .composite import layer_from_config, layer_spec
from .recurrent import Recurrent

MERGES = ("concat", "sum", "mean")


def reversal_index(mask, m, s):
    """(m, s) index that reverses each sequence within its real steps (padded steps stay put).

    Without a mask it is ``s - 1 - t``. The permutation is its own inverse.
    """
    steps = np.arange(s)
    if mask is None:
        return np.broadcast_to(steps[::-1], (m, s))
    real = np.where(mask, steps, s)                   # real positions, padding pushed to s
    ordered = np.sort(real, axis=1)                   # real positions first, ascending
    lengths = mask.sum(axis=1)
    idx = np.tile(steps, (m, 1))
    k = steps[None, :]
    valid = k < lengths[:, None]
    mirrored = np.take_along_axis(ordered, np.clip(lengths[:, None] - 1 - k, 0, s - 1), axis=1)
    rows = np.nonzero(valid)[0]
    idx[rows, ordered[valid]] = mirrored[valid]
    return idx


def take_steps(A, idx):
    """A[i, idx[i, t]] for every i, t (A is (m, s, ...))."""
    return np.take_along_axis(A, idx.reshape(idx.shape + (1,) * (A.ndim - 2)), axis=1)


class Bidirectional(Layer):
    r"""Runs ``layer`` forward in time and a fresh copy of it backward in time, then merges.

    The backward copy reads each sequence reversed (within its real steps under a mask) and its
    outputs are put back in the original order, so step t of the output sees the past through the
    forward layer and the future through the backward one.

    Equations (numbers in the comments below and in docs/layers/bidirectional.md)::

        (B1) X~ = reverse(X)                      (per sequence, real steps only)
        (B2) Hf = forward_layer(X),  Hb = reverse(backward_layer(X~))
        (B3) A = [Hf, Hb] (concat, (.., 2u)),  Hf + Hb (sum)  or  (Hf + Hb) / 2 (mean)
        (B4) dHf, dHb = split of dA (concat), dA (sum), dA / 2 (mean)
        (B5) dX = dX_forward + reverse(dX~_backward)

    With ``sequences=False`` the forward part is the last (real) state and the backward part the
    backward layer's final state, which has read the sequence down to its first step.

    Cache entries: ``fc["X"]``, ``fc["mask"]`` (the sequence mask or None), ``fc["A"]``,
    ``fc["reverse_index"] (m, s)`` (step t of a reversed sequence is step
    ``reverse_index[i, t]`` of the original); ``bc["dA"]``, ``bc["dX"]``. The reference that
    composes two cell references is unrolled/reference/bidirectional.py.

    Parameters are the two layers' own, exposed as ``p["forward.U"]``, ``p["backward.U"]``...
    (the same arrays), with gradients ``g["dforward.U"]``...; the inner layers stay readable as
    ``forward_layer`` and ``backward_layer`` with all their caches.
    """

    supports_mask = True

    def __init__(self, layer, merge="concat", **kwargs):
        if isinstance(layer, dict):            # from a saved configuration
            layer = layer_from_config(layer, "Bidirectional")
        if not isinstance(layer, Recurrent):
            raise TypeError(f"Bidirectional: wraps an RNN, LSTM or GRU layer, got {type(layer).__name__}")
        if layer.stateful:
            raise ValueError("Bidirectional: the wrapped layer cannot be stateful (the backward "
                             "direction reads the future)")
        if merge not in MERGES:
            raise ValueError(f"Bidirectional: merge must be one of {MERGES}, got {merge!r}")
        kwargs.setdefault("l1", layer.l1)
        kwargs.setdefault("l2", layer.l2)
        kwargs.setdefault("trainable", layer.trainable)   # a frozen layer stays frozen, both ways
        super().__init__(**kwargs)
        self.merge = merge
        self.forward_layer = layer
        self.backward_layer = type(layer)(**{**layer.config(), "name": None})
        for inner in (self.forward_layer, self.backward_layer):
            inner.l1 = inner.l2 = 0.0          # the wrapper counts the penalties once
        self.sequences = layer.sequences
        self.weight_names = tuple(self.prefix(i) + w for i in range(2) for w in layer.weight_names)

    SIDES = ("forward", "backward")

    @property
    def layers(self):
        return (self.forward_layer, self.backward_layer)

    def prefix(self, i):
        """How ``p`` and ``g`` name the parameters of inner layer ``i``: ``"forward."``,
        ``"backward."`` (as the composites; load_model hands the saved arrays back by it)."""
        return self.SIDES[i] + "."

    def compute_shapes(self, A):
        self.check_ndim(A, (3,), "input (m, s, e)")
        for side, inner in zip(self.SIDES, self.layers):
            inner.dtype = self.dtype
            inner.rng = self.rng               # one generator: saved and restored with the wrapper
            inner.name = f"{self.name}.{side}" if self.name else side
            inner.input_gradient = self.input_gradient
            inner.build(A)
        u = self.forward_layer.d["u"]
        width = 2 * u if self.merge == "concat" else u
        m, s = A.shape[:2]
        self.d.update(m=m, s=s, e=A.shape[2], u=u)
        self.fs["X"] = A.shape
        self.fs["A"] = (m, s, width) if self.sequences else (m, width)
        self.p = {self.prefix(i) + k: v for i, inner in enumerate(self.layers)
                  for k, v in inner.p.items()}

    def forward(self, A, mask=None):
        self.check_input(A)
        m, s = self.d["m"], self.d["s"]
        idx = self.fc["reverse_index"] = reversal_index(
            None if mask is None else np.asarray(mask, dtype=bool), m, s)
        self.fc["X"] = A
        self.fc["mask"] = None if mask is None else np.asarray(mask, dtype=bool)
        for inner in self.layers:              # training mode (dropout) reaches both directions
            inner.training = self.training
        kw = {} if mask is None else {"mask": mask}
        Hf = self.forward_layer.forward(A, **kw)                                   # (B2)
        Hb = self.backward_layer.forward(take_steps(A, idx), **kw)                 # (B1)
        if self.sequences:
            Hb = take_steps(Hb, idx)
        if self.merge == "concat":                                                 # (B3)
            out = np.concatenate([Hf, Hb], axis=-1)
        else:
            out = Hf + Hb
            if self.merge == "mean":
                out *= 0.5
        self.fc["A"] = out
        return out

    def backward(self, dA):
        self.bc["dA"] = dA
        u, idx = self.d["u"], self.fc["reverse_index"]
        if self.merge == "concat":                                                 # (B4)
            dHf, dHb = dA[..., :u], dA[..., u:]
        else:
            dHf = dHb = dA * 0.5 if self.merge == "mean" else dA
        if self.sequences:
            dHb = take_steps(dHb, idx)
        dXf = self.forward_layer.backward(np.ascontiguousarray(dHf))
        dXb = self.backward_layer.backward(np.ascontiguousarray(dHb))
        if not self.input_gradient:
            self.bc["dX"] = None
            return None
        self.bc["dX"] = dXf + take_steps(dXb, idx)                                 # (B5)
        return self.bc["dX"]

    def compute_gradients(self):
        for i, inner in enumerate(self.layers):
            inner.compute_gradients()
            for k, v in inner.g.items():
                self.g["d" + self.prefix(i) + k[1:]] = v

    def config(self):
        return {**super().config(), "merge": self.merge,
                "layer": layer_spec(self.forward_layer)}
