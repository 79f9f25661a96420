"""GRU layer, both formulations. Equations: docs/layers/gru.md (shared steps: docs/bptt.md)."""
import numpy as np

from ..framework.initializers import zeros
from ..framework.activations import activation_spec
from .recurrent import Recurrent, batch_major

GATES = ("r", "u", "n")


class GRU(Recurrent):
    r"""Gated recurrent unit (Cho et al. 2014).

    Gate order, stated once: **r, z, n** (reset, update, candidate), the same as PyTorch.
    Fused parameters ``U (e, 3u)``, ``V (u, 3u)``, ``b (1, 3u)``; block ``k`` of the last axis
    belongs to gate ``GATES[k]``. With ``reset_after=True`` (default; PyTorch, Keras 2, cuDNN) the
    reset gate multiplies ``h_{t-1} V_n + bh`` and the recurrent candidate bias ``bh (1, u)`` stays
    a separate parameter; with ``reset_after=False`` (Cho et al. 2014, EpyNN) it multiplies
    ``h_{t-1}`` before the product and there is no ``bh``.

    Equations (numbers in the comments below and in docs/layers/gru.md)::

        (G1) z_t = x_t U + b  [+ h_{t-1} V on the r and z blocks]
        (G2) r_t = σ(z_r)   u_t = σ(z_z)                          (u_t: the update gate)
        (G3) reset_after=True:  hn_t = h_{t-1} V_n + bh;  n_t = tanh(z_n + r_t * hn_t)
             reset_after=False: rh_t = r_t * h_{t-1};     n_t = tanh(z_n + rh_t V_n)
        (G4) h_t = (1 - u_t) * n_t + u_t * h_{t-1}
        (G5) dh_t = dA_t + dh_{t+1 -> t}
        (G6) dn_t = dh_t (1 - u_t) tanh'(n)     du_t = dh_t (h_{t-1} - n_t) σ'(u)
        (G7) reset_after=True:  dr_t = dn_t * hn_t * σ'(r)
             reset_after=False: drh_t = dn_t V_n^T;  dr_t = drh_t * h_{t-1} * σ'(r)
        (G8) dh_{t -> t-1} = dh_t u_t + [dr, du, dn * r] V^T                   (reset_after=True)
                           = dh_t u_t + [dr, du] V_rz^T + drh_t * r_t           (reset_after=False)
        dU = sum_t x_t^T dz_t, db = sum_t dz_t  with dz_t = [dr, du, dn]        (R7), (R9)
        dV = sum_t h_{t-1}^T [dr, du, dn * r],  dbh = sum_t dn * r              (reset_after=True)
        dV_rz = sum_t h_{t-1}^T [dr, du],  dV_n = sum_t rh_t^T dn               (reset_after=False)

    Cache entries: ``fc["gates"] (m, s, 3u)`` activations [r u n] with views ``fc["r"]``,
    ``fc["z"]`` (update gate), ``fc["n"]``; ``fc["hn"]`` or ``fc["rh"]`` ``(m, s, u)``; ``fc["h"]``,
    ``fc["hp"]``, ``fc["hT"]`` as in :class:`RNN`; ``bc["dh"]``, ``bc["dZ"] (m, s, 3u)``,
    ``bc["dX"]``, ``bc["dh0"]``. ``activation`` (tanh) is the candidate's,
    ``recurrent_activation`` (sigmoid) the gates'. Other parameters as in :class:`RNN`; with
    ``lean=True`` backward writes ``dZ`` over the gates and ``dn * r`` over ``hn``, so
    ``fc["gates"]``, its views, ``fc["hn"]`` and ``bc["dh"]`` are None after it
    (docs/concepts.md, "Memory").
    """

    gates = 3
    gate_names = GATES

    @property
    def lean_spent(self):
        """fc entries that a lean backward overwrites (see Recurrent)."""
        return ("gates", *GATES, "hn") if self.reset_after else ("gates", *GATES)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.activation = self.make_activation(activation, self.label)
        self.recurrent_activation = self.make_activation(recurrent_activation, self.label)
        self.reset_after = bool(reset_after)

    def compute_shapes(self, A):
        super().compute_shapes(A)
        if self.reset_after:
            self.fs["bh"] = (1, self.d["u"])

    def initialize_parameters(self):
        super().initialize_parameters()
        if self.reset_after:
            self.p["bh"] = zeros((1, self.d["u"]), dtype=self.dtype)

    def forward_steps(self, Zt, Ht, maskT, states):
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        V, sig, act = self.p["V"], self.recurrent_activation, self.activation
        keep_pre = sig.needs_input or act.needs_input
        Zpre = self.cache(self.fc, "_Zpre", Zt.shape) if keep_pre else None
        Mt = self.cache(self.fc, "_Mt", (s, m, u))   # hn_t (reset_after) or rh_t
        rz, nb = slice(0, 2 * u), slice(2 * u, 3 * u)
        hv = self.fc["_hV"]
        # Gate-major views (3, m, u) of the fused rows. NumPy runs a ufunc on a column block of
        # a row-major array (z[:, :u]) through internal buffers, 1.4-4x slower here than on a
        # contiguous array (bench/micro.py): each step computes r, u and n in contiguous scratch
        # (RU, n) and copies the activations into the cache once.
        Zg = Zt.reshape(s, m, 3, u).transpose(0, 2, 1, 3)
        Pg = None if Zpre is None else Zpre.reshape(s, m, 3, u).transpose(0, 2, 1, 3)
        hvg = hv.reshape(m, 3, u).transpose(1, 0, 2)
        RU = np.empty((2, m, u), dtype=self.dtype)     # r_t, u_t
        n = np.empty((m, u), dtype=self.dtype)
        for t in range(s):
            hp = self.recurrent_input(Ht, t)
            if self.reset_after:
                np.matmul(hp, V, out=hv)
                np.add(hvg[2], self.p["bh"], out=Mt[t])                   # (G3) hn_t
            else:
                np.matmul(hp, V[:, rz], out=hv[:, rz])
            np.add(Zg[t, :2], hvg[:2], out=RU)                            # (G1)
            if Pg is not None:
                np.copyto(Pg[t, :2], RU)
            sig.forward(RU, out=RU)                                       # (G2)
            np.copyto(Zg[t, :2], RU)
            r, ug = RU
            if self.reset_after:
                np.multiply(r, Mt[t], out=n)                              # (G3)
            else:
                np.multiply(r, hp, out=Mt[t])                             # (G3) rh_t
                np.matmul(Mt[t], V[:, nb], out=n)
            n += Zg[t, 2]
            if Pg is not None:
                np.copyto(Pg[t, 2], n)
            act.forward(n, out=n)
            np.copyto(Zg[t, 2], n)
            h = Ht[t + 1]                                                 # (G4)
            np.subtract(Ht[t], n, out=h)
            h *= ug
            h += n
            self.keep_padded(h, Ht[t], maskT, t)
        self.fc["gates"] = batch_major(Zt)
        self.fc["Z"] = batch_major(Zpre) if keep_pre else None
        self.fc["hn" if self.reset_after else "rh"] = batch_major(Mt)

    def backward_steps(self, dAt, dZt, dHt, maskT):
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        VT, sig, act = self.bc["_VT"], self.recurrent_activation, self.activation
        Gt, Ht, Mt = self.fc["_Zt"], self.fc["_Ht"], self.fc["_Mt"]
        Zpre = None if self.fc.get("Z") is None else self.fc["_Zpre"]
        F = dZt.reshape(s, m, 3, u)
        Hp = Ht[:-1]
        # Everything in dz_t that does not depend on dh_t, for a chunk of steps at once (a few
        # calls on whole arrays instead of many small ones per step); step t multiplies by dh_t
        # in place. dZt first holds the factors [Fr, Fu, Fn] of (G6)-(G7):
        #   Fn = (1 - u) act'(n),  Fu = (h_{t-1} - n) σ'(u),
        #   Fr = Fn hn σ'(r) (reset_after)  or  h_{t-1} σ'(r) (reset_after=False: times drh_t)
        # and, with reset_after, dNr the factor Fn r of dn * r, which enters the product (G8).
        if self.reset_after:
            # lean: dn * r overwrites hn_t, as dz_t overwrites the gates (backward_chunks)
            dNr = Mt if self.lean else self.cache(self.bc, "_dNr", (s, m, u))
            spent = (Gt, Mt)
            dzh = np.empty((m, 3 * u), dtype=self.dtype)   # scratch: [dr, du, dn * r]
        else:
            spent = (Gt,)
            Hr = self.recurrent_operand().reshape(s, m, u)  # h_{t-1} as it entered the product
            VnT, VrzT = VT[2 * u:], VT[:2 * u]             # V_n^T (u, u), V_rz^T (2u, u): row
                                                           # blocks of the contiguous V^T
            drh = np.empty((m, u), dtype=self.dtype)

        gates = self.fused_gates([sig, sig, act])
        Dh = self.fc["recurrent_dropout_mask"]
        dh_next = np.zeros((m, u), dtype=self.dtype)
        dh_prev = np.empty((m, u), dtype=self.dtype)
        dhu = np.empty((m, u), dtype=self.dtype)            # scratch: dh_t * u_t
        scratch = None
        for steps, chunks in self.backward_chunks(dZt[0].nbytes + Gt[0].nbytes, *spent):
            G, Fs = chunks[0].reshape(-1, m, 3, u), F[steps]   # this chunk: G[t - steps.start]
            R, Ug, N = G[:, :, 0], G[:, :, 1], G[:, :, 2]
            if scratch is None:                                # the first chunk is the largest
                scratch = self.cache(self.bc, "_chunk", G.shape[:2] + (u,))
            tmp = scratch[:len(G)]
            # σ'(r), σ'(u), act'(n) in one pass over the whole rows (GateActivations), then the
            # other factors
            gates.derivative(chunks[0], None if Zpre is None else Zpre[steps], out=dZt[steps])
            Fs[:, :, 2] *= np.subtract(1.0, Ug, out=tmp)                         # Fn
            Fs[:, :, 1] *= np.subtract(Hp[steps], N, out=tmp)                    # Fu
            if self.reset_after:
                Fs[:, :, 0] *= np.multiply(Fs[:, :, 2], chunks[1], out=tmp)      # Fr
                np.multiply(Fs[:, :, 2], R, out=dNr[steps])
            else:
                Fs[:, :, 0] *= Hr[steps]
            for t in reversed(range(steps.start, steps.stop)):
                j = t - steps.start
                dh = np.add(dAt[t], dh_next, out=dHt[t])                      # (G5)
                if maskT is not None:
                    carry, dh = dh * ~maskT[t], dh * maskT[t]
                dz = dZt[t]
                if self.reset_after:
                    F[t] *= dh[:, None]                                       # (G6), (G7)
                    dNr[t] *= dh
                    dzh[:, :2 * u] = dz[:, :2 * u]
                    dzh[:, 2 * u:] = dNr[t]
                    self.recurrent_gradient(dzh, VT, out=dh_prev)             # (G8)
                else:
                    F[t][:, 1:] *= dh[:, None]                                # (G6)
                    np.matmul(dz[:, 2 * u:], VnT, out=drh)                    # (G7)
                    F[t][:, 0] *= drh
                    self.recurrent_gradient(dz[:, :2 * u], VrzT, out=dh_prev)  # (G8)
                    drh *= R[j]
                    if Dh is not None:
                        drh *= Dh
                    dh_prev += drh
                dh_prev += np.multiply(dh, Ug[j], out=dhu)
                if maskT is not None:
                    dh_prev += carry
                dh_next, dh_prev = dh_prev, dh_next
        self.bc["dh0"] = dh_next
        if self.reset_after:
            self.bc["dhn"] = batch_major(dNr)

    def compute_gradients(self):
        # dV in two column blocks: V_rz multiplies h_{t-1} with [dr, du]; V_n multiplies h_{t-1}
        # with dn * r (reset_after) or rh_t with dn (reset_after=False). Each block is one
        # product over all steps.
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        dZ = batch_major(self.bc["dZ"]).reshape(s * m, 3 * u)    # time-major: a view
        self.input_gradients(dZ)                                                  # (R7), (R9)
        dV = self.cache(self.g, "dV", self.fs["V"])
        Hp = self.recurrent_operand()
        dV[:, :2 * u] = Hp.T @ dZ[:, :2 * u]                                      # (R8)
        if self.reset_after:
            dNr = batch_major(self.bc["dhn"]).reshape(s * m, u)
            dV[:, 2 * u:] = Hp.T @ dNr
            self.g["dbh"] = dNr.sum(axis=0, keepdims=True)
        else:
            dV[:, 2 * u:] = self.fc["_Mt"].reshape(s * m, u).T @ dZ[:, 2 * u:]

    def config(self):
        return {**super().config(), "activation": activation_spec(self.activation),
                "recurrent_activation": activation_spec(self.recurrent_activation),
                "reset_after": self.reset_after}
