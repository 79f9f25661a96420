"""GRU layer, both formulations. Equations: docs/layers/gru.md (shared steps: docs/bptt.md)."""
import numpy as np

from ..framework.initializers import zeros
from ..framework import checks
from ..framework.activations import activation_spec
from .recurrent import Recurrent, batch_major

GATES = ("r", "u", "n")


class GRU(Recurrent):
    r"""Gated recurrent unit (Cho et al. 2014).

    Gate order, stated once: **r, u, n** (reset, update, candidate), PyTorch's r, z, n (``z`` is
    a pre-activation in every layer here, so the update gate is ``u``). Fused parameters
    ``U (e, 3u)``, ``V (u, 3u)``, ``b (1, 3u)``; block ``k`` of the last axis belongs to gate
    ``GATES[k]``. With ``reset_after=True`` (default; PyTorch, Keras 2, cuDNN) the reset gate
    multiplies ``h_{t-1} V_n + bh`` and the recurrent candidate bias ``bh (1, u)`` stays a separate
    parameter; with ``reset_after=False`` (Cho et al. 2014, EpyNN) it multiplies ``h_{t-1}``
    before the product and there is no ``bh``. ``use_bias=False``: neither ``b`` nor ``bh``.

    Equations (numbers in the comments below and in docs/layers/gru.md)::

        (G1) z_t = x_t U + b  [+ h_{t-1} V on the r and u blocks]
        (G2) r_t = σ(z_r)   u_t = σ(z_u)
        (G3) reset_after=True:  hn_t = h_{t-1} V_n + bh;  n_t = tanh(z_n + r_t * hn_t)
             reset_after=False: rh_t = r_t * h_{t-1};     n_t = tanh(z_n + rh_t V_n)
        (G4) h_t = (1 - u_t) * n_t + u_t * h_{t-1}
        (G5) dh_t = dA_t + dh_{t+1 -> t}
        (G6) dz_n = dh_t (1 - u_t) tanh'(n)     dz_u = dh_t (h_{t-1} - n_t) σ'(u)
        (G7) reset_after=True:  dz_r = dz_n * hn_t * σ'(r);  dhn_t = dz_n * r_t
             reset_after=False: drh_t = dz_n V_n^T;  dz_r = drh_t * h_{t-1} * σ'(r)
        (G8) dh_{t -> t-1} = dh_t u_t + [dz_r, dz_u, dhn_t] V^T                 (reset_after=True)
                           = dh_t u_t + [dz_r, dz_u] V_ru^T + drh_t * r_t       (reset_after=False)
        dU = sum_t x_t^T dz_t, db = sum_t dz_t  with dz_t = [dz_r, dz_u, dz_n]  (R7), (R9)
        dV = sum_t h_{t-1}^T [dz_r, dz_u, dhn_t],  dbh = sum_t dhn_t            (reset_after=True)
        dV_ru = sum_t h_{t-1}^T [dz_r, dz_u],  dV_n = sum_t rh_t^T dz_n         (reset_after=False)

    Shapes
    ------
    ========================  ==============  ==========================================
    ``fc["gates"]``           ``(m, s, 3u)``  gate activations [r u n] of every step
    ``fc["r"]``, ``fc["u"]``  ``(m, s, u)``   views of one gate each: reset, update, and
                                              ``fc["n"]`` the candidate
    ``fc["hn"]``              ``(m, s, u)``   h_{t-1} V_n + bh (``reset_after=True`` only)
    ``fc["rh"]``              ``(m, s, u)``   r_t * h_{t-1} (``reset_after=False`` only)
    ``fc["Z"]``               ``(m, s, 3u)``  what enters each activation, only when an
                                              activation needs it (else None)
    ``fc["X"]``, ``fc["h"]``  as in RNN       also ``fc["hp"]``, ``fc["hT"]``, ``fc["A"]``,
                                              ``fc["mask"]`` and the dropout masks
    ``bc["dZ"]``              ``(m, s, 3u)``  [dz_r dz_u dz_n]
    ``bc["dr"]`` ...          ``(m, s, u)``   views of one block of ``bc["dZ"]`` each (``dr``,
                                              ``du``, ``dn``)
    ``bc["dhn"]``             ``(m, s, u)``   dL/dhn_t = dz_n * r_t (``reset_after=True``)
    ``bc["dh"]``              as in RNN       also ``bc["dA"]``, ``bc["dX"]``, ``bc["dh0"]``
    ``g["dU"]`` ...           like ``p``      ``g["dU"]``, ``g["dV"]``, ``g["db"]``, ``g["dbh"]``
    ========================  ==============  ==========================================

    ``activation`` (tanh) is the candidate's, ``recurrent_activation`` (sigmoid) the gates';
    ``gate_activations={"r": ..., "u": ...}`` sets one gate's own (EpyNN's ``activate_reset``,
    ``activate_update``).
    Other parameters as in :class:`RNN`; with ``lean=True`` backward writes ``dZ`` over the gates
    and ``dhn`` over ``hn``, so ``fc["gates"]``, its views, ``fc["hn"]`` and ``bc["dh"]`` are
    None after it (docs/concepts.md, "Memory").
    """

    gates = 3
    gate_names = GATES

    @property
    def lean_spent(self):
        """fc entries that a lean backward overwrites (see Recurrent)."""
        return ("gates", *GATES, "hn") if self.reset_after else ("gates", *GATES)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, gate_activations=None, **kwargs):
        super().__init__(units, **kwargs)
        self.activation = self.make_activation(activation, self.label)
        self.recurrent_activation = self.make_activation(recurrent_activation, self.label)
        self.reset_after = checks.flag(self.label, "reset_after", reset_after)
        if not isinstance(gate_activations or {}, dict):
            raise checks.ArgumentTypeError(
                f"{self.label}: gate_activations must be a dict such as {{'u': 'hard_sigmoid'}}, "
                f"got {checks.received(gate_activations)}")
        gate_activations = dict(gate_activations or {})
        unknown = sorted(set(gate_activations) - set(GATES))
        if unknown:
            raise ValueError(f"{self.label}: gate_activations keys must be among {GATES}, got "
                             f"{unknown}")
        defaults = {"r": recurrent_activation, "u": recurrent_activation, "n": activation}
        self.gate_activations = {k: self.make_activation(gate_activations.get(k, defaults[k]),
                                                         self.label) for k in GATES}

    def compute_shapes(self, A):
        super().compute_shapes(A)
        if self.reset_after and self.use_bias:
            self.fs["bh"] = (1, self.d["u"])

    def initialize_parameters(self):
        super().initialize_parameters()
        if self.reset_after and self.use_bias:
            self.p["bh"] = zeros((1, self.d["u"]), dtype=self.dtype)

    def forward_steps(self, Zt, Ht, maskT, states):
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        V, bh = self.p["V"], self.p.get("bh")        # no bh with use_bias=False
        act_r, act_u, act = (self.gate_activations[k] for k in GATES)
        one_call = type(act_r) is type(act_u) and act_r.config() == act_u.config()
        keep_pre = any(a.needs_input for a in (act_r, act_u, act))
        Zpre = self.cache(self.fc, "_Zpre", Zt.shape) if keep_pre else None
        # hn_t (reset_after) or rh_t, time-major
        reset_term = self.cache(self.fc, "_hn" if self.reset_after else "_rh", (s, m, u))
        ru_cols, n_cols = slice(0, 2 * u), slice(2 * u, 3 * u)
        hV = self.fc["_hV"]
        # Gate-major views (3, m, u) of the fused rows: each step computes r, u and n in
        # contiguous scratch and copies the activations into the cache once (bench/README.md,
        # "Measured choices": one ufunc on a column block)
        Z_by_gate = Zt.reshape(s, m, 3, u).transpose(0, 2, 1, 3)
        pre_by_gate = None if Zpre is None else Zpre.reshape(s, m, 3, u).transpose(0, 2, 1, 3)
        hV_by_gate = hV.reshape(m, 3, u).transpose(1, 0, 2)
        ru = np.empty((2, m, u), dtype=self.dtype)     # r_t, u_t
        n = np.empty((m, u), dtype=self.dtype)
        for t in range(s):
            hp = self.recurrent_input(Ht, t)
            if self.reset_after:
                np.matmul(hp, V, out=hV)                                      # (G1), (G3)
                if bh is None:
                    np.copyto(reset_term[t], hV_by_gate[2])                   # (G3) hn_t
                else:
                    np.add(hV_by_gate[2], bh, out=reset_term[t])              # (G3) hn_t
            else:
                np.matmul(hp, V[:, ru_cols], out=hV[:, ru_cols])              # (G1)
            np.add(Z_by_gate[t, :2], hV_by_gate[:2], out=ru)                  # (G1)
            if pre_by_gate is not None:
                np.copyto(pre_by_gate[t, :2], ru)
            if one_call:                                                      # (G2)
                act_r.forward(ru, out=ru)
            else:
                act_r.forward(ru[0], out=ru[0])                               # (G2) r_t
                act_u.forward(ru[1], out=ru[1])                               # (G2) u_t
            np.copyto(Z_by_gate[t, :2], ru)
            r, u_gate = ru
            if self.reset_after:
                np.multiply(r, reset_term[t], out=n)                          # (G3) r_t hn_t
            else:
                np.multiply(r, hp, out=reset_term[t])                         # (G3) rh_t
                np.matmul(reset_term[t], V[:, n_cols], out=n)                 # (G3) rh_t V_n
            n += Z_by_gate[t, 2]                                              # (G3)
            if pre_by_gate is not None:
                np.copyto(pre_by_gate[t, 2], n)
            act.forward(n, out=n)                                             # (G3)
            np.copyto(Z_by_gate[t, 2], n)
            h = Ht[t + 1]                                       # (G4) as n + u (h_{t-1} - n)
            np.subtract(Ht[t], n, out=h)                                      # (G4)
            h *= u_gate                                                       # (G4)
            h += n                                                            # (G4)
            self.keep_padded(h, Ht[t], maskT, t)                              # (R10)
        self.fc["gates"] = batch_major(Zt)
        self.fc["Z"] = batch_major(Zpre) if keep_pre else None
        self.fc["hn" if self.reset_after else "rh"] = batch_major(reset_term)

    def backward_steps(self, dAt, dZt, dHt, maskT):
        """One reverse loop per formulation (see Recurrent.backward_steps)."""
        if self.reset_after:
            self.backward_reset_after(dAt, dZt, dHt, maskT)
        else:
            self.backward_reset_before(dAt, dZt, dHt, maskT)

    def chunk_factors(self, steps, acts_chunk, dZt):
        """The factors of (G6) for a chunk of steps, written into ``dZt[steps]``:
        ``[σ'(r), (h_{t-1} - n) σ'(u), (1 - u) act'(n)]``; the cell completes the r block.
        Returns the chunk's gates ``(k, m, 3, u)``, its factors, and a scratch ``(k, m, u)``.

        Everything in dz_t that does not depend on dh_t is computed here, a few calls on whole
        arrays instead of many small ones per step (bench/README.md, "Measured choices": the
        elementwise work of the backward); step t multiplies by dh_t in place."""
        m, u = self.d["m"], self.d["u"]
        Zpre = None if self.fc.get("Z") is None else self.fc["_Zpre"]
        gate = acts_chunk.reshape(-1, m, 3, u)          # gate[t - steps.start, :, k]
        chunk = dZt[steps].reshape(-1, m, 3, u)
        scratch = self.bc.get("_chunk")                 # sized by the first, largest chunk
        if (scratch is None or len(scratch) < len(gate) or scratch.shape[1:] != (m, u)
                or scratch.dtype != self.dtype):
            scratch = self.bc["_chunk"] = np.empty((len(gate), m, u), dtype=self.dtype)
        tmp = scratch[:len(gate)]
        activations = self.fused_gates([self.gate_activations[k] for k in GATES])
        activations.derivative(acts_chunk, None if Zpre is None else Zpre[steps],
                         out=dZt[steps])                                      # (G6), (G7)
        chunk[:, :, 2] *= np.subtract(1.0, gate[:, :, 1], out=tmp)            # (G6) dz_n
        Hp = self.fc["_Ht"][:-1]
        chunk[:, :, 1] *= np.subtract(Hp[steps], gate[:, :, 2], out=tmp)      # (G6) dz_u
        return gate, chunk, tmp

    def backward_reset_after(self, dAt, dZt, dHt, maskT):
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        VT, acts, Hn = self.bc["_VT"], self.fc["_Zt"], self.fc["_hn"]
        # lean: dhn_t = dz_n * r_t overwrites hn_t, as dz_t overwrites the gates
        dHn = Hn if self.lean else self.cache(self.bc, "_dhn", (s, m, u))
        factors = dZt.reshape(s, m, 3, u)
        dz_h = np.empty((m, 3 * u), dtype=self.dtype)       # [dz_r, dz_u, dhn_t]: times V^T
        dh_next = np.zeros((m, u), dtype=self.dtype)
        dh_prev = np.empty((m, u), dtype=self.dtype)
        dh_u = np.empty((m, u), dtype=self.dtype)           # dh_t * u_t
        for steps, (acts_chunk, hn_chunk) in self.backward_chunks(
                dZt[0].nbytes + acts[0].nbytes, acts, Hn):
            gate, chunk, tmp = self.chunk_factors(steps, acts_chunk, dZt)     # (G6)
            chunk[:, :, 0] *= np.multiply(chunk[:, :, 2], hn_chunk, out=tmp)  # (G7) dz_r
            np.multiply(chunk[:, :, 2], gate[:, :, 0], out=dHn[steps])        # (G7) dhn
            for t in reversed(range(steps.start, steps.stop)):
                dh = np.add(dAt[t], dh_next, out=dHt[t])                      # (G5)
                if maskT is not None:
                    dh, dh_padded = self.split_padded(dh, maskT, t)           # (R11)
                factors[t] *= dh[:, None]                                     # (G6), (G7)
                dHn[t] *= dh                                                  # (G7)
                dz_h[:, :2 * u] = dZt[t][:, :2 * u]                           # (G8)
                dz_h[:, 2 * u:] = dHn[t]                                      # (G8)
                self.recurrent_gradient(dz_h, VT, out=dh_prev)                # (G8)
                dh_prev += np.multiply(dh, gate[t - steps.start, :, 1], out=dh_u)   # (G8)
                if maskT is not None:
                    dh_prev += dh_padded                                      # (R11)
                dh_next, dh_prev = dh_prev, dh_next
        self.bc["dh0"] = dh_next
        self.bc["dhn"] = batch_major(dHn)

    def backward_reset_before(self, dAt, dZt, dHt, maskT):
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        VT, acts = self.bc["_VT"], self.fc["_Zt"]
        Hr = self.recurrent_operand().reshape(s, m, u)      # h_{t-1} as it entered the product
        VnT, VruT = VT[2 * u:], VT[:2 * u]                  # row blocks of the contiguous V^T
        Dh = self.fc["recurrent_dropout_mask"]
        factors = dZt.reshape(s, m, 3, u)
        drh = np.empty((m, u), dtype=self.dtype)            # dL/d(rh_t)
        dh_next = np.zeros((m, u), dtype=self.dtype)
        dh_prev = np.empty((m, u), dtype=self.dtype)
        dh_u = np.empty((m, u), dtype=self.dtype)           # dh_t * u_t
        for steps, (acts_chunk,) in self.backward_chunks(dZt[0].nbytes + acts[0].nbytes, acts):
            gate, chunk, tmp = self.chunk_factors(steps, acts_chunk, dZt)     # (G6)
            chunk[:, :, 0] *= Hr[steps]                                       # (G7) dz_r
            for t in reversed(range(steps.start, steps.stop)):
                j = t - steps.start
                dh = np.add(dAt[t], dh_next, out=dHt[t])                      # (G5)
                if maskT is not None:
                    dh, dh_padded = self.split_padded(dh, maskT, t)           # (R11)
                factors[t][:, 1:] *= dh[:, None]                              # (G6)
                np.matmul(dZt[t][:, 2 * u:], VnT, out=drh)                    # (G7) drh
                factors[t][:, 0] *= drh                                       # (G7) dz_r
                self.recurrent_gradient(dZt[t][:, :2 * u], VruT, out=dh_prev)  # (G8)
                drh *= gate[j, :, 0]                                          # (G8) drh r
                if Dh is not None:
                    drh *= Dh                                                 # (G8)
                dh_prev += drh                                                # (G8)
                dh_prev += np.multiply(dh, gate[j, :, 1], out=dh_u)           # (G8)
                if maskT is not None:
                    dh_prev += dh_padded                                      # (R11)
                dh_next, dh_prev = dh_prev, dh_next
        self.bc["dh0"] = dh_next

    def compute_gradients(self):
        # dV in two column blocks: V_ru multiplies h_{t-1} with [dz_r, dz_u]; V_n multiplies
        # h_{t-1} with dhn (reset_after) or rh_t with dz_n (reset_after=False). Each block is
        # one product over all steps.
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        dZ = batch_major(self.bc["dZ"]).reshape(s * m, 3 * u)    # time-major: a view
        self.input_gradients(dZ)                                                  # (R7), (R9)
        dV = self.cache(self.g, "dV", self.fs["V"])
        Hp = self.recurrent_operand()
        dV[:, :2 * u] = Hp.T @ dZ[:, :2 * u]                                      # (R8)
        if self.reset_after:
            dHn = batch_major(self.bc["dhn"]).reshape(s * m, u)
            dV[:, 2 * u:] = Hp.T @ dHn                                            # (R8)
            if self.use_bias:
                self.g["dbh"] = dHn.sum(axis=0, keepdims=True)                    # (R9)
        else:
            dV[:, 2 * u:] = self.fc["_rh"].reshape(s * m, u).T @ dZ[:, 2 * u:]     # (R8)

    def config(self):
        return {**super().config(), "activation": activation_spec(self.activation),
                "recurrent_activation": activation_spec(self.recurrent_activation),
                "gate_activations": {k: activation_spec(a) for k, a in self.gate_activations.items()},
                "reset_after": self.reset_after}
