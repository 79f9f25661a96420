"""Attention for encoder-decoder models (Luong dot/general, Bahdanau additive).
Equations: docs/layers/attention.md."""
import numpy as np

from ..framework.initializers import get_initializer, initializer_name, zeros
from ..framework.layer import Layer

SCORES = ("dot", "general", "additive")


class Attention(Layer):
    r"""Attention of queries over keys that are also the values (Bahdanau et al. 2015; Luong
    et al. 2015): each decoder state ``q_t`` scores every encoder state ``k_j``, the scores become
    weights by a softmax over the encoder steps, and the context ``c_t`` is the weighted sum of the
    encoder states.

    Call signature. The layer's input ``X`` is the queries (the decoder's states); the keys/values
    ``K`` (the encoder's states) are a second argument, as an initial state is for a recurrent
    layer: ``forward(Q, K=None, mask=None)`` with ``mask (m, s_enc)`` True on real encoder steps.
    ``backward(dA)`` returns ``dQ`` and leaves the gradient of the keys/values in ``bc["dK"]``
    (a recurrent layer leaves ``bc["dh0"]`` alike). Without ``K`` the queries attend over
    themselves (``K = Q``) and ``backward`` returns ``dQ + dK``, so the layer also works in a
    plain :class:`~unrolled.framework.Model`. ``layer(Q, K=K, mask=mask)`` builds and runs it.

    Scores, stated once (``q`` a query, ``k`` a key; numbers match the comments below and
    docs/layers/attention.md)::

        (A1)  dot        s = q . k                           (needs e_q = e_k)
        (A2)  general    s = (q W) . k                       W (e_q, e_k)
        (A3)  additive   pq = q Wq,  pk = k Wk + b           Wq (e_q, u), Wk (e_k, u), b (1, u)
        (A4)             T = tanh(pq + pk)                   one (u,) vector per pair (t, j)
        (A5)             s = T v                             v (u, 1)
        (A6)  masked encoder steps: s = -inf
        (A7)  weights = softmax over j of s                  (m, s_dec, s_enc)
        (A8)  context c_t = sum_j weights_tj k_j             (m, s_dec, e_k)

        (A9)  dweights = dc K^T
        (A10) dK = weights^T dc                              (through the values)
        (A11) ds = weights * (dweights - sum_j dweights * weights)
        (A12) dot:      dQ = ds K,  dK += ds^T Q
        (A13) general:  dQ = ds K W^T,  dK += ds^T (Q W),  dW = sum over samples Q^T ds K
        (A14) additive: dZ = ds v^T * (1 - T^2)              (m, s_dec, s_enc, u)
        (A15)           dQ = (sum_j dZ) Wq^T,  dK += (sum_t dZ) Wk^T
        (A16)           dWq = Q^T sum_j dZ,  dWk = K^T sum_t dZ,  db = sum dZ,  dv = T^T ds

    Shapes
    ------
    ===================  ==========================  ===========================================
    ``X``                ``(m, s_dec, e_q)``         queries (decoder states), ``fc["X"]``
    ``K``                ``(m, s_enc, e_k)``         keys = values (encoder states), ``fc["K"]``
    ``mask``             ``(m, s_enc)`` bool         real encoder steps, ``fc["mask"]`` (or None)
    ``W``                ``(e_q, e_k)``              ``general`` only, ``p["W"]``
    ``Wq, Wk, b, v``     ``(e_q, u), (e_k, u),``     ``additive`` only, ``p[...]``
                         ``(1, u), (u, 1)``
    ``QW``               ``(m, s_dec, e_k)``         ``general``: ``Q W``, ``fc["QW"]``
    ``Pq, Pk``           ``(m, s_dec, u), (m,``      ``additive``: projected queries and keys
                         ``s_enc, u)``               (with ``b``), ``fc["Pq"]``, ``fc["Pk"]``
    ``T``                ``(m, s_dec, s_enc, u)``    ``additive``: ``tanh(pq + pk)``, ``fc["T"]``
    ``scores``           ``(m, s_dec, s_enc)``       before the softmax; ``-inf`` on masked
                                                     encoder steps, ``fc["scores"]``
    ``weights``          ``(m, s_dec, s_enc)``       softmax of the scores (0 on masked steps;
                                                     a row with no real step is all 0),
                                                     ``fc["weights"]``
    ``context``          ``(m, s_dec, e_k)``         output, ``fc["context"]`` = ``fc["A"]``
    ``dA``               like ``context``            ``bc["dA"]``
    ``dweights``         like ``weights``            ``bc["dweights"]``
    ``dscores``          like ``scores``             ``bc["dscores"]`` (0 on masked steps)
    ``dZ``               like ``T``                  ``additive``: gradient of ``pq + pk``,
                                                     ``bc["dZ"]``
    ``dX``, ``dK``       like ``X``, ``K``           ``bc["dX"]`` (returned), ``bc["dK"]``
    ===================  ==========================  ===========================================

    Parameters
    ----------
    score : {"dot", "general", "additive"}
        Luong's dot and general scores, Bahdanau's additive (concat) score.
    units : int, optional
        Width ``u`` of the additive score's tanh layer (default: ``e_k``); additive only.
    initializer : str or callable
        Initializer of ``W``, ``Wq``, ``Wk`` and ``v`` (``b`` starts at zero).
    """

    weight_names = ("W", "Wq", "Wk", "v")

    def __init__(self, score="dot", units=None, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"{self.label}: score must be one of {SCORES}, got {score!r}")
        if units is not None:
            if score != "additive":
                raise ValueError(f"{self.label}: units is the width of the additive score; "
                                 f"score {score!r} takes none, got units={units!r}")
            if not (isinstance(units, (int, np.integer)) and units > 0):
                raise ValueError(f"{self.label}: units must be a positive integer, got {units!r}")
        self.score = score
        self.units = None if units is None else int(units)
        self.initializer = get_initializer(initializer, self.label)

    # ------------------------------------------------------------------ shapes and parameters
    def build(self, A, K=None):
        """As :meth:`Layer.build`, with the keys/values ``K`` (the queries themselves when None)."""
        self.fs["K"] = np.shape(A if K is None else K)
        super().build(A)

    def __call__(self, A, K=None, mask=None):
        A = np.asarray(A)
        self.build(A, K)
        return self.forward(A, K, mask=mask)

    def compute_shapes(self, A):
        self.check_ndim(A, (3,), "queries (m, s_dec, e_q)")
        K = self.fs.get("K") or A.shape
        if len(K) != 3 or K[0] != A.shape[0]:
            raise ValueError(f"{self.label}: keys must have shape (m, s_enc, e_k) with m = "
                             f"{A.shape[0]} as the queries, got {K}")
        if A.shape[1] == 0 or K[1] == 0:
            raise ValueError(f"{self.label}: queries and keys need at least one step, got "
                             f"{A.shape} and {K}")
        if self.score == "dot" and A.shape[2] != K[2]:
            raise ValueError(f"{self.label}: the dot score needs queries and keys of the same "
                             f"width, got e_q = {A.shape[2]} and e_k = {K[2]} (use "
                             f"score='general' or 'additive')")
        self.check_size("e_q", A.shape[2])
        self.check_size("e_k", K[2])
        m, s_dec, e_q = A.shape
        s_enc, e_k = K[1], K[2]
        u = self.units or e_k
        self.d.update(m=m, s_dec=s_dec, s_enc=s_enc, e_q=e_q, e_k=e_k)
        self.fs.update(X=A.shape, K=tuple(K), scores=(m, s_dec, s_enc), weights=(m, s_dec, s_enc),
                       context=(m, s_dec, e_k), A=(m, s_dec, e_k))
        self.bs.update(dA=(m, s_dec, e_k), dweights=(m, s_dec, s_enc), dscores=(m, s_dec, s_enc),
                       dX=A.shape, dK=tuple(K))
        if self.score == "general":
            self.fs["W"] = self.bs["dW"] = (e_q, e_k)
        elif self.score == "additive":
            self.d["u"] = u
            self.fs.update(Wq=(e_q, u), Wk=(e_k, u), b=(1, u), v=(u, 1), T=(m, s_dec, s_enc, u))
            self.bs.update(dZ=self.fs["T"], dWq=(e_q, u), dWk=(e_k, u), db=(1, u), dv=(u, 1))

    def initialize_parameters(self):
        for name in ("W", "Wq", "Wk", "v"):
            if name in self.fs:
                self.p[name] = self.initializer(self.fs[name], self.rng, self.dtype)
        if "b" in self.fs:
            self.p["b"] = zeros(self.fs["b"], dtype=self.dtype)

    # ------------------------------------------------------------------ forward
    def forward(self, A, K=None, mask=None):
        self.check_input(A)
        self_attention = K is None
        K = A if self_attention else np.asarray(K, dtype=self.dtype)
        if K.shape != self.fs["K"]:
            raise ValueError(f"{self.label}: forward got keys of shape {K.shape}, but its shapes "
                             f"were computed for {self.fs['K']}: call layer(Q, K=K)")
        m, s_dec, s_enc = self.d["m"], self.d["s_dec"], self.d["s_enc"]
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (m, s_enc):
                raise ValueError(f"{self.label}: mask must have shape (m, s_enc) = {(m, s_enc)}, "
                                 f"got {mask.shape}")
        self.fc.update(X=A, K=K, mask=mask, _self=self_attention)
        S = self.cache(self.fc, "scores", self.fs["scores"])
        Kt = K.swapaxes(1, 2)
        if self.score == "dot":
            np.matmul(A, Kt, out=S)                                            # (A1)
        elif self.score == "general":
            QW = self.fc["QW"] = (A.reshape(-1, self.d["e_q"]) @ self.p["W"]).reshape(m, s_dec, -1)
            np.matmul(QW, Kt, out=S)                                           # (A2)
        else:
            u = self.d["u"]
            Pq = self.fc["Pq"] = (A.reshape(-1, self.d["e_q"]) @ self.p["Wq"]).reshape(m, s_dec, u)
            Pk = (K.reshape(-1, self.d["e_k"]) @ self.p["Wk"]).reshape(m, s_enc, u)
            Pk += self.p["b"]                                                  # (A3)
            self.fc["Pk"] = Pk
            T = self.cache(self.fc, "T", self.fs["T"])
            np.add(Pq[:, :, None, :], Pk[:, None, :, :], out=T)
            np.tanh(T, out=T)                                                  # (A4)
            np.matmul(T.reshape(-1, u), self.p["v"], out=S.reshape(-1, 1))     # (A5)
        weights = self.cache(self.fc, "weights", self.fs["weights"])
        if mask is not None:
            np.copyto(S, -np.inf, where=~mask[:, None, :])                     # (A6)
        # (A7) softmax over the encoder steps, shifted by the row maximum (a row with no real
        # step has maximum -inf: shifted by 0, it gives exp(-inf) = 0 everywhere, weights 0)
        top = S.max(axis=-1, keepdims=True)
        if mask is not None:
            top[~np.isfinite(top)] = 0.0
        np.subtract(S, top, out=weights)
        np.exp(weights, out=weights)
        total = weights.sum(axis=-1, keepdims=True)
        if mask is not None:
            total[total == 0.0] = 1.0
        weights /= total
        context = self.cache(self.fc, "context", self.fs["context"])
        np.matmul(weights, K, out=context)                                     # (A8)
        self.fc["A"] = context
        return context

    # ------------------------------------------------------------------ backward
    def backward(self, dA):
        if dA.shape != self.fs["A"]:
            raise ValueError(f"{self.label}: backward expected dA of shape {self.fs['A']}, got "
                             f"{dA.shape}")
        Q, K, weights = self.fc["X"], self.fc["K"], self.fc["weights"]
        self.bc["dA"] = dA
        dweights = self.bc["dweights"] = np.matmul(dA, K.swapaxes(1, 2))       # (A9)
        dK = self.bc["dK"] = np.matmul(weights.swapaxes(1, 2), dA)             # (A10)
        # (A11) softmax backward, row by row over the encoder steps
        dS = self.cache(self.bc, "dscores", self.fs["scores"])
        np.multiply(dweights, weights, out=dS)
        dot = dS.sum(axis=-1, keepdims=True)
        np.subtract(dweights, dot, out=dS)
        dS *= weights
        dSt = dS.swapaxes(1, 2)
        if self.score == "dot":
            dQ = np.matmul(dS, K)                                              # (A12)
            dK += np.matmul(dSt, Q)
        elif self.score == "general":
            dQW = self.bc["_dQW"] = np.matmul(dS, K)
            dQ = (dQW.reshape(-1, self.d["e_k"]) @ self.p["W"].T).reshape(Q.shape)   # (A13)
            dK += np.matmul(dSt, self.fc["QW"])
        else:
            T, u = self.fc["T"], self.d["u"]
            dZ = self.cache(self.bc, "dZ", self.fs["T"])
            np.square(T, out=dZ)
            np.subtract(1.0, dZ, out=dZ)
            dZ *= dS[..., None]
            dZ *= self.p["v"][:, 0]                                            # (A14)
            dPq = self.bc["_dPq"] = dZ.sum(axis=2)
            dPk = self.bc["_dPk"] = dZ.sum(axis=1)
            dQ = (dPq.reshape(-1, u) @ self.p["Wq"].T).reshape(Q.shape)        # (A15)
            dK += (dPk.reshape(-1, u) @ self.p["Wk"].T).reshape(K.shape)
        if self.fc["_self"]:
            dQ += dK                       # the queries were also the keys and the values
        if not self.input_gradient:
            self.bc["dX"] = None
            return None
        self.bc["dX"] = dQ
        return dQ

    def compute_gradients(self):
        Q, K = self.fc["X"], self.fc["K"]
        if self.score == "general":
            self.g["dW"] = Q.reshape(-1, self.d["e_q"]).T @ \
                self.bc["_dQW"].reshape(-1, self.d["e_k"])                     # (A13)
        elif self.score == "additive":
            u = self.d["u"]
            dPk = self.bc["_dPk"].reshape(-1, u)
            self.g["dWq"] = Q.reshape(-1, self.d["e_q"]).T @ self.bc["_dPq"].reshape(-1, u)  # (A16)
            self.g["dWk"] = K.reshape(-1, self.d["e_k"]).T @ dPk
            self.g["db"] = dPk.sum(axis=0, keepdims=True)
            self.g["dv"] = self.fc["T"].reshape(-1, u).T @ self.bc["dscores"].reshape(-1, 1)

    def config(self):
        init = initializer_name(self.initializer)
        return {**super().config(), "score": self.score, "units": self.units,
                "initializer": init if init else "glorot_uniform"}
