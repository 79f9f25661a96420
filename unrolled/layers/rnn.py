"""Elman RNN layer. Equations: docs/layers/rnn.md (shared steps (R1)-(R9): docs/bptt.md)."""
import numpy as np

from ..framework.activations import activation_spec
from .recurrent import Recurrent, batch_major


class RNN(Recurrent):
    r"""Elman recurrent layer ``h_t = act(x_t U + h_{t-1} V + b)``.

    Shapes
    ------
    ================================  ==============  ====================================================
    ``X`` (``fc["X"]``)               ``(m, s, e)``   input: m samples, s steps, e elements per step
    ``p["U"]``                        ``(e, u)``      input weights
    ``p["V"]``                        ``(u, u)``      recurrent weights
    ``p["b"]``                        ``(1, u)``      bias (none with ``use_bias=False``)
    ``fc["Z"]``                       ``(m, s, u)``   pre-activations z_t
    ``fc["h"]``                       ``(m, s, u)``   hidden state of every step
    ``fc["hp"]``                      ``(m, s, u)``   previous hidden states (``fc["hp"][:, 0]`` is ``h0``)
    ``fc["hT"]``                      ``(m, u)``      final state (the last real step under a mask)
    ``fc["A"]``                       output          ``fc["h"]`` (``sequences=True``), else ``fc["hT"]``
    ``fc["mask"]``                    ``(m, s)``      sequence mask, True on real steps (or None)
    ``fc["dropout_mask"]``            ``(m, e)``      input dropout mask, scaled (or None)
    ``fc["recurrent_dropout_mask"]``  ``(m, u)``      mask of h_{t-1} in the recurrent product (or None)
    ``bc["dA"]``                      like ``A``      gradient arriving at the output
    ``bc["dh"]``                      ``(m, s, u)``   dL/dh_t: from the output plus from step t + 1
    ``bc["dZ"]``                      ``(m, s, u)``   dL/dz_t
    ``bc["dX"]``                      ``(m, s, e)``   gradient to the previous layer
    ``bc["dh0"]``                     ``(m, u)``      gradient of the initial state
    ``g["dU"]``, ...                  like ``p``      ``g["dU"]``, ``g["dV"]``, ``g["db"]``
    ================================  ==============  ====================================================

    Equations (the numbers are in the comments below and in docs/layers/rnn.md)::

        (RNN1) z_t = x_t U + b + h_{t-1} V            [x_t U + b for all t at once: (R2)]
        (RNN2) h_t = act(z_t)
        (RNN3) dh_t = dA_t + dh_{t+1 -> t}            (from the output, from the next step)
        (RNN4) dz_t = act'(z_t) * dh_t                (from the cached h_t: 1 - h_t^2 for tanh)
        (RNN5) dh_{t -> t-1} = dz_t V^T
        dU = sum_t x_t^T dz_t,  dV = sum_t h_{t-1}^T dz_t,  db = sum_t dz_t   (R7)-(R9)

    Parameters
    ----------
    units : int
    activation : str or Activation, default "tanh"
    sequences : bool
        Return every step ``(m, s, u)`` or only the last state ``(m, u)``.
    initializer, recurrent_initializer : str or callable
        For ``U`` (default glorot_uniform) and ``V`` (default orthogonal).
    dropout, recurrent_dropout : float
        Variational dropout rates on the inputs and on ``h_{t-1}`` (one mask per sequence).
    stateful : bool
        Carry the final state into the next batch (truncated BPTT); ``reset_state()`` forgets it.
    use_bias : bool
        False: no ``b``, ``z_t = x_t U + h_{t-1} V`` (PyTorch's ``bias=False``); for LSTM and
        GRU as well (GRU then has no ``bh`` either).
    lean : bool
        Backward writes the gradients over the forward caches it no longer needs (``fc["Z"]``
        here; the gate caches of LSTM and GRU): less memory, the same gradients, but those ``fc``
        entries are None after backward (docs/concepts.md, "Memory").
    """

    gates = 1
    lean_spent = ("Z",)

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        self.activation = self.make_activation(activation, self.label)

    def forward_steps(self, Zt, Ht, maskT, states):
        V, act = self.p["V"], self.activation
        for t in range(self.d["s"]):
            z = Zt[t]
            self.add_recurrent_product(z, Ht, t, V)               # (RNN1)
            act.forward(z, out=Ht[t + 1])                         # (RNN2)
            self.keep_padded(Ht[t + 1], Ht[t], maskT, t)          # (R10)
        self.fc["Z"] = batch_major(Zt)

    def backward_steps(self, dAt, dZt, dHt, maskT):
        VT, act = self.bc["_VT"], self.activation
        Ht, Zt = self.fc["_Ht"], self.fc["_Zt"]
        dh_next = np.zeros_like(Ht[0])
        # z_t is read only by activations whose derivative needs it (lean: dz_t overwrites it)
        spent = (Zt,) if act.needs_input else ()
        for steps, chunks in self.backward_chunks(dZt[0].nbytes + Ht[0].nbytes, *spent):
            # (RNN4) act'(z_t) of a chunk of steps in one call; step t multiplies it by dh_t
            act.derivative(Ht[1:][steps], chunks[0] if chunks else None, out=dZt[steps])
            for t in reversed(range(steps.start, steps.stop)):
                dh = np.add(dAt[t], dh_next, out=dHt[t])              # (RNN3)
                if maskT is not None:
                    dh, dh_padded = self.split_padded(dh, maskT, t)   # (R11)
                dZt[t] *= dh                                          # (RNN4)
                self.recurrent_gradient(dZt[t], VT, out=dh_next)      # (RNN5)
                if maskT is not None:
                    dh_next += dh_padded                              # (R11)
        self.bc["dh0"] = dh_next

    def config(self):
        return {**super().config(), "activation": activation_spec(self.activation)}
