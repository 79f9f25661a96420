"""LSTM layer. Equations: docs/layers/lstm.md (shared steps (R1)-(R9): docs/bptt.md)."""
import numpy as np

from ..framework import checks
from ..framework.activations import activation_spec
from .recurrent import Recurrent, batch_major

GATES = ("i", "f", "g", "o")


class LSTM(Recurrent):
    r"""Long short-term memory layer (Hochreiter & Schmidhuber 1997, with a forget gate).

    Gate order, stated once: **i, f, g, o** (input, forget, candidate, output), the same as
    PyTorch. The four gates are fused: ``U (e, 4u)``, ``V (u, 4u)``, ``b (1, 4u)``, and block
    ``k`` of the last axis (``[:, k*u:(k+1)*u]``) belongs to gate ``GATES[k]``.

    Shapes
    ------
    ========================  ==============  ==========================================
    ``X`` (``fc["X"]``)       ``(m, s, e)``   input
    ``fc["gates"]``           ``(m, s, 4u)``  gate activations [i f g o] of every step
    ``fc["i"]`` ...           ``(m, s, u)``   views of one gate each (``i``, ``f``, ``g``, ``o``)
    ``fc["C"]``               ``(m, s, u)``   cell state; ``fc["Cp"]`` previous cell state
    ``fc["tC"]``              ``(m, s, u)``   act(C_t)
    ``fc["Z"]``               ``(m, s, 4u)``  pre-activations, only when a gate activation needs
                                              them (else None)
    ``fc["h"]``               ``(m, s, u)``   hidden state; ``fc["hp"]`` previous hidden state
    ``fc["hT"], fc["CT"]``    ``(m, u)``      final states
    ``fc["A"]``, masks        as in RNN       output, ``fc["mask"]``, ``fc["dropout_mask"]``,
                                              ``fc["recurrent_dropout_mask"]``
    ``bc["dA"], bc["dX"]``    as in RNN       gradients at the output and to the input
    ``bc["dh"]``              ``(m, s, u)``   dL/dh_t (from the output and from step t + 1)
    ``bc["dC"]``              ``(m, s, u)``   dL/dC_t
    ``bc["dZ"]``              ``(m, s, 4u)``  gate pre-activation gradients [dz_i dz_f dz_g dz_o]
    ``bc["di"]`` ...          ``(m, s, u)``   views of one block of ``bc["dZ"]`` each (``di``,
                                              ``df``, ``dg``, ``do``): dL/dz of that gate
    ``bc["dCT"]``             ``(m, u)``      the ``dCT`` given to ``backward`` (or None)
    ``bc["dh0"], bc["dC0"]``  ``(m, u)``      gradients of the initial states
    ``g["dU"]`` ...           like ``p``      ``g["dU"]``, ``g["dV"]``, ``g["db"]``
    ========================  ==============  ==========================================

    Equations (numbers in the comments below and in docs/layers/lstm.md)::

        (L1) z_t = x_t U + b + h_{t-1} V                          (m, 4u)
        (L2) i_t = σ(z_i)   f_t = σ(z_f)   g_t = tanh(z_g)   o_t = σ(z_o)
        (L3) C_t = f_t * C_{t-1} + i_t * g_t
        (L4) tC_t = tanh(C_t)
        (L5) h_t = o_t * tC_t
        (L6) dh_t = dA_t + dh_{t+1 -> t}
        (L7) do_t = dh_t * tC_t
        (L8) dC_t = dC_{t+1 -> t} + dh_t * o_t * tanh'(C_t)      (a sum, not a product)
        (L9) di_t = dC_t * g_t    df_t = dC_t * C_{t-1}    dg_t = dC_t * i_t
        (L10) dz_t = [di σ'(z_i), df σ'(z_f), dg tanh'(z_g), do σ'(z_o)]   (from the cached gates)
        (L11) dC_{t -> t-1} = dC_t * f_t
        (L12) dh_{t -> t-1} = dz_t V^T
        dU = sum_t x_t^T dz_t,  dV = sum_t h_{t-1}^T dz_t,  db = sum_t dz_t   (R7)-(R9)

    ``activation`` (default tanh) is used for the candidate g and for tC; ``recurrent_activation``
    (default sigmoid) for i, f and o; ``gate_activations={"g": ..., "f": ...}`` overrides single
    gates. ``forget_bias`` (default 1.0, Jozefowicz et al. 2015) initializes the forget-gate bias;
    with ``use_bias=False`` there is no bias to initialize, and a ``forget_bias`` other than the
    default is refused rather than silently ignored.
    Other parameters as in :class:`RNN`; with ``lean=True`` backward writes ``dZ`` over the gates
    and ``dC`` over ``tC``, so ``fc["gates"]``, its views and ``fc["tC"]``, and ``bc["dh"]`` are
    None after it (docs/concepts.md, "Memory").
    """

    gates = 4
    gate_names = GATES
    state_names = ("h", "C")
    lean_spent = ("gates", *GATES, "tC")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 gate_activations=None, forget_bias=1.0, **kwargs):
        super().__init__(units, **kwargs)
        gate_activations = dict(gate_activations or {})
        unknown = set(gate_activations) - set(GATES)
        if unknown:
            raise ValueError(f"{self.label}: gate_activations keys must be among {GATES}, "
                             f"got {sorted(unknown)}")
        self.activation = self.make_activation(activation, self.label)
        self.recurrent_activation = self.make_activation(recurrent_activation, self.label)
        defaults = {"i": recurrent_activation, "f": recurrent_activation, "g": activation,
                    "o": recurrent_activation}
        self.gate_activations = {k: self.make_activation(gate_activations.get(k, defaults[k]),
                                                         self.label) for k in GATES}
        self.forget_bias = checks.number(self.label, "forget_bias", forget_bias)
        if not self.use_bias and self.forget_bias != 1.0:
            raise ValueError(f"{self.label}: forget_bias={self.forget_bias!r} initializes the "
                             f"forget-gate bias, but use_bias=False leaves no bias: drop "
                             f"forget_bias, or keep use_bias=True")

    def initialize_parameters(self):
        super().initialize_parameters()
        if self.use_bias:
            u = self.d["u"]
            self.p["b"][0, u:2 * u] = self.forget_bias

    def forward(self, A, h0=None, C0=None, mask=None):
        return super().forward(A, h0=h0, mask=mask, C0=C0)

    def backward(self, dA, dhT=None, dCT=None):
        return super().backward(dA, dhT=dhT, dCT=dCT)

    def gate_block(self):
        """The four gate activations as one :class:`GateActivations` (4 calls a step by default)."""
        return self.fused_gates([self.gate_activations[k] for k in GATES])

    def forward_steps(self, Zt, Ht, maskT, states):
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        V, activations, cell = self.p["V"], self.gate_block(), self.activation
        Ct = self.cache(self.fc, "_Ct", (s + 1, m, u))          # C_0 ... C_s, time-major
        actC = self.cache(self.fc, "_actC", (s, m, u))          # act(C_t), time-major
        C0 = self.initial_state("C", states.get("C0"))
        Ct[0] = 0.0 if C0 is None else C0
        Zpre = self.cache(self.fc, "_Zpre", Zt.shape) if activations.needs_input else None
        i_times_g = np.empty((m, u), dtype=self.dtype)
        for t in range(s):
            z = Zt[t]
            self.add_recurrent_product(z, Ht, t, V)                       # (L1)
            if Zpre is not None:
                Zpre[t] = z
            activations.forward(z)                                        # (L2) in place
            i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
            C = np.multiply(f, Ct[t], out=Ct[t + 1])                      # (L3)
            C += np.multiply(i, g, out=i_times_g)                         # (L3)
            self.keep_padded(C, Ct[t], maskT, t)                          # (R10)
            cell.forward(C, out=actC[t])                                  # (L4)
            np.multiply(o, actC[t], out=Ht[t + 1])                        # (L5)
            self.keep_padded(Ht[t + 1], Ht[t], maskT, t)                  # (R10)
        self.fc["gates"] = batch_major(Zt)
        self.fc["Z"] = None if Zpre is None else batch_major(Zpre)
        self.fc["C"], self.fc["Cp"] = batch_major(Ct[1:]), batch_major(Ct[:-1])
        self.fc["tC"] = batch_major(actC)
        self.fc["CT"] = Ct[-1]

    def backward_steps(self, dAt, dZt, dHt, maskT):
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        VT, cell = self.bc["_VT"], self.activation
        acts, Ct, actC = self.fc["_Zt"], self.fc["_Ct"], self.fc["_actC"]   # time-major caches
        Zpre = None if self.fc.get("Z") is None else self.fc["_Zpre"]
        # lean: dC_t overwrites act(C_t), as dz_t overwrites the gates (backward_chunks)
        dCt = actC if self.lean else self.cache(self.bc, "_dCt", (s, m, u))
        # Everything in dz_t that depends on neither dh_t nor dC_t is computed for a chunk of
        # steps at once (a few calls on whole arrays instead of many small ones per step):
        # dZt first holds the factors [g σ'(z_i), C_{t-1} σ'(z_f), i tanh'(z_g), tC σ'(z_o)] and
        # dCt the factor o tanh'(C_t) of (L8); step t multiplies them by dC_t and dh_t in place.
        factors = dZt.reshape(s, m, 4, u)
        activations = self.gate_block()
        # [dC_t, dC_t, dC_t, dh_t]: what multiplies the factors of [i, f, g, o] in step t, so
        # that the step is one multiply on the contiguous row block dz_t (bench/README.md,
        # "Measured choices": the LSTM backward step)
        upstream = np.empty((m, 4, u), dtype=self.dtype)
        dh_next = np.zeros((m, u), dtype=self.dtype)
        dCT = self.bc.get("dCT")
        dC_next = np.zeros((m, u), dtype=self.dtype) if dCT is None else np.array(dCT, dtype=self.dtype)
        for steps, (acts_chunk, actC_chunk) in self.backward_chunks(
                factors[0].nbytes + acts[0].nbytes, acts, actC):
            gate = acts_chunk.reshape(-1, m, 4, u)    # gate[t - steps.start, :, k]: gate k of step t
            chunk = factors[steps]
            activations.derivative(acts_chunk, None if Zpre is None else Zpre[steps],
                             out=dZt[steps])                              # (L10) act'(z)
            chunk[:, :, 0] *= gate[:, :, 2]                               # (L9) di: g
            chunk[:, :, 1] *= Ct[:-1][steps]                              # (L9) df: C_{t-1}
            chunk[:, :, 2] *= gate[:, :, 0]                               # (L9) dg: i
            chunk[:, :, 3] *= actC_chunk                                  # (L7) do: tC
            cell.backward(gate[:, :, 3], actC_chunk, Ct[1:][steps], out=dCt[steps])  # (L8) o tC'
            for t in reversed(range(steps.start, steps.stop)):
                dh = np.add(dAt[t], dh_next, out=dHt[t])                      # (L6)
                if maskT is not None:
                    dh, dh_padded = self.split_padded(dh, maskT, t)           # (R11)
                    dC_next, dC_padded = self.split_padded(dC_next, maskT, t)  # (R11)
                dC = dCt[t]
                dC *= dh                                                      # (L8)
                dC += dC_next                                                 # (L8)
                np.copyto(upstream[:, :3], dC[:, None])                       # (L9)
                np.copyto(upstream[:, 3], dh)                                 # (L7)
                factors[t] *= upstream                                # (L7), (L9), (L10)
                f = gate[t - steps.start][:, 1]
                dC_next = np.multiply(dC, f, out=dC_next)                     # (L11)
                self.recurrent_gradient(dZt[t], VT, out=dh_next)              # (L12)
                if maskT is not None:
                    dh_next += dh_padded                                      # (R11)
                    dC_next += dC_padded                                      # (R11)
        self.bc["dC"] = batch_major(dCt)
        self.bc["dh0"], self.bc["dC0"] = dh_next, dC_next

    def config(self):
        return {**super().config(), "activation": activation_spec(self.activation),
                "recurrent_activation": activation_spec(self.recurrent_activation),
                "gate_activations": {k: activation_spec(a) for k, a in self.gate_activations.items()},
                "forget_bias": self.forget_bias}
