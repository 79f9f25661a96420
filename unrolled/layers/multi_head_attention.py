"""Multi-head scaled dot-product attention. Equations: docs/layers/multi_head_attention.md."""
import numpy as np

from ..framework.initializers import get_initializer, initializer_name
from ..framework.layer import Layer


def heads(Y, h):
    """(m, s, h*d) -> (m, h, s, d) view: head j owns columns j*d to (j+1)*d."""
    m, s, width = Y.shape
    return Y.reshape(m, s, h, width // h).transpose(0, 2, 1, 3)


class MultiHeadAttention(Layer):
    r"""Multi-head attention (Vaswani et al. 2017): ``h`` heads each compare queries with keys,
    mix the values by the softmax of the scaled scores, and one product maps the heads back.

    ``forward(A, memory=None, mask=None)``: with ``memory=None`` the layer attends over its own
    input (self-attention: queries, keys and values all come from ``A``, as in a plain
    :class:`~unrolled.framework.Model` stack); with ``memory`` of shape ``(m, s_k, e_k)`` the
    queries come from ``A`` and the keys and values from ``memory`` (cross-attention, e.g. a
    decoder reading an encoder's outputs; its gradient is ``bc["dmemory"]``). ``mask`` ``(m, s_k)``
    is True on real key steps (the model's sequence mask in self-attention); padded keys get
    weight 0. ``causal=True`` lets query ``i`` see keys ``j <= i`` only. A query with no allowed
    key gets all-zero weights (PyTorch would give NaN).

    Shapes (``h`` heads, ``dk`` key_dim, ``dv`` value_dim, ``o`` output_dim)
    ------------------------------------------------------------------------
    ======================  ==========================  ==========================================
    ``X``                   ``(m, s_q, e)``             queries' input, ``fc["X"]``
    ``memory``              ``(m, s_k, e_k)``           keys' and values' input, ``fc["memory"]``
                                                        (cross-attention; else X and s_k = s_q)
    ``Wq``, ``Wk``, ``Wv``  ``(e | e_k, h*dk | h*dv)``  ``p["Wq"]``, ``p["Wk"]``, ``p["Wv"]``
    ``bq``, ``bv``          ``(1, h*dk | h*dv)``        ``p["bq"]``, ``p["bv"]`` (no key bias)
    ``Wo``, ``bo``          ``(h*dv, o)``, ``(1, o)``   ``p["Wo"]``, ``p["bo"]``
    ``Q``                   ``(m, h, s_q, dk)``         per-head queries, ``fc["Q"]``
    ``K``                   ``(m, h, s_k, dk)``         per-head keys, ``fc["K"]``
    ``V``                   ``(m, h, s_k, dv)``         per-head values, ``fc["V"]``
    ``scores``              ``(m, h, s_q, s_k)``        Q K^T / sqrt(dk) before masking
    ``attention_mask``      ``(m|1, 1, s_q, s_k)``      True where a query may attend (or None)
    ``mask``                ``(m, s_k)``                the key mask given (or None)
    ``weights``             ``(m, h, s_q, s_k)``        softmax over the keys, ``fc["weights"]``
    ``context``             ``(m, h, s_q, dv)``         per-head outputs, ``fc["context"]``
    ``A``                   ``(m, s_q, o)``             output, ``fc["A"]``
    ``dA``... ``dV``        like A... V                 ``bc["dA"]``, ``bc["dcontext"]``,
                                                        ``bc["dweights"]``, ``bc["dscores"]``,
                                                        ``bc["dQ"]``, ``bc["dK"]``, ``bc["dV"]``
    ``dX``, ``dmemory``     like X, memory              ``bc["dX"]``, ``bc["dmemory"]``
    ======================  ==========================  ==========================================

    Equations (numbers in the comments below, in unrolled/reference/transformer.py and in the
    docs; ``[.]_j`` is head j's block of columns)::

        (M1)  Q_j = [X Wq + bq]_j
        (M2)  K_j = [M Wk]_j                           (M = memory, or X; no bias)
        (M3)  V_j = [M Wv + bv]_j
        (M4)  S_j = Q_j K_j^T / sqrt(dk)
        (M5)  P_j = softmax over allowed keys of S_j   (0 on masked keys)
        (M6)  C_j = P_j V_j
        (M7)  A = [C_1 ... C_h] Wo + bo
        (M8)  dC = dA Wo^T (split by head),  dWo = [C_1 ... C_h]^T dA,  dbo = sum dA
        (M9)  dP_j = dC_j V_j^T,  dV_j = P_j^T dC_j
        (M10) dS_j = P_j * (dP_j - rowsum(dP_j * P_j))
        (M11) dQ_j = dS_j K_j / sqrt(dk),  dK_j = dS_j^T Q_j / sqrt(dk)
        (M12) dWq = X^T dQ,  dWk = M^T dK,  dWv = M^T dV,  dbq, dbv = column sums (heads merged)
        (M13) dX = dQ Wq^T (+ dK Wk^T + dV Wv^T in self-attention),  dmemory = dK Wk^T + dV Wv^T

    Parameters
    ----------
    num_heads : int
    key_dim : int
        Width ``dk`` of each head's queries and keys.
    value_dim : int, optional
        Width ``dv`` of each head's values (default ``key_dim``).
    output_dim : int, optional
        Width ``o`` of the output (default: the input width ``e``, as a residual block needs).
    memory_dim : int, optional
        Width ``e_k`` of ``memory`` for cross-attention (default: the input width ``e``).
    causal : bool
        Mask the future: query ``i`` attends to keys ``0..i`` only.
    use_bias : bool
        Biases ``bq``, ``bv``, ``bo`` in the query, value and output projections. The keys get
        none: a key bias adds ``q . bk / sqrt(dk)`` to every score of a query's row, a shift the
        softmax ignores, so it would never change the output and its gradient is exactly 0
        (PyTorch keeps it in ``in_proj_bias``; map it as 0).
    initializer : str or callable
        Initializer of the four weight matrices (each on its own; biases start at zero).
    """

    supports_mask = True
    weight_names = ("Wq", "Wk", "Wv", "Wo")

    def __init__(self, num_heads, key_dim, value_dim=None, output_dim=None, memory_dim=None,
                 causal=False, use_bias=True, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim),
                           ("output_dim", output_dim), ("memory_dim", memory_dim)):
            if value is not None and not (isinstance(value, (int, np.integer))
                                          and not isinstance(value, bool) and value > 0):
                raise ValueError(f"{self.label}: {arg} must be a positive integer, got {value!r}")
        self.d.update(h=int(num_heads), dk=int(key_dim),
                      dv=int(value_dim if value_dim is not None else key_dim))
        self.output_dim = None if output_dim is None else int(output_dim)
        self.memory_dim = None if memory_dim is None else int(memory_dim)
        self.causal, self.use_bias = bool(causal), bool(use_bias)
        self.initializer = get_initializer(initializer, self.label)

    def compute_shapes(self, A):
        self.check_ndim(A, (3,), "input (m, s, e)")
        self.check_size("e", A.shape[-1])
        m, s, e = A.shape
        h, dk, dv = self.d["h"], self.d["dk"], self.d["dv"]
        o = self.output_dim or e
        self.d.update(m=m, s=s, e=e, e_k=self.memory_dim or e, o=o)
        self.fs["X"] = A.shape
        self.fs.update(Wq=(e, h * dk), Wk=(self.d["e_k"], h * dk), Wv=(self.d["e_k"], h * dv),
                       Wo=(h * dv, o), bq=(1, h * dk), bv=(1, h * dv), bo=(1, o))
        self.fs["A"] = (m, s, o)

    def initialize_parameters(self):
        for name in ("Wq", "Wk", "Wv", "Wo"):
            self.p[name] = self.initializer(self.fs[name], self.rng, self.dtype)
            if self.use_bias and name != "Wk":
                b = "b" + name[1]
                self.p[b] = np.zeros(self.fs[b], dtype=self.dtype)

    # ------------------------------------------------------------------ forward
    def _memory(self, memory):
        if memory is None:
            return None
        memory = np.asarray(memory, dtype=self.dtype)
        if memory.ndim != 3 or memory.shape[0] != self.d["m"] or memory.shape[2] != self.d["e_k"]:
            raise ValueError(f"{self.label}: memory must have shape (m, s_k, e_k) = "
                             f"({self.d['m']}, s_k, {self.d['e_k']}), got {memory.shape}"
                             + ("" if self.memory_dim else " (set memory_dim= for another width)"))
        return memory

    def _allowed(self, mask, s_q, s_k):
        """(m|1, 1, s_q, s_k) booleans, True where a query may attend; None if all may."""
        allowed = None
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != (self.d["m"], s_k):
                raise ValueError(f"{self.label}: mask must be a boolean array (m, s_k) = "
                                 f"({self.d['m']}, {s_k}), got {mask.dtype} {mask.shape}")
            allowed = mask[:, None, None, :]
        if self.causal:
            tri = np.tri(s_q, s_k, dtype=bool)[None, None]
            allowed = tri if allowed is None else allowed & tri
        return allowed

    def _project(self, X2, names, out):
        """out = X2 [W_1 ... W_n] + [b_1 ... b_n] in one product (weights copied side by side)."""
        W = self.cache(self.fc, "_W" + "".join(n[1] for n in names),
                       (X2.shape[1], out.shape[1]))
        col = 0
        for n in names:
            w = self.p[n]
            W[:, col:col + w.shape[1]] = w
            col += w.shape[1]
        np.matmul(X2, W, out=out)
        col = 0
        for n in names:
            b = self.p.get("b" + n[1])           # no key bias; none at all without use_bias
            if b is not None:
                out[:, col:col + b.shape[1]] += b
            col += self.p[n].shape[1]
        return W

    def forward(self, A, memory=None, mask=None):
        self.check_input(A)
        fc, d = self.fc, self.d
        memory = self._memory(memory)
        m, s_q, e, h, dk, dv = d["m"], d["s"], d["e"], d["h"], d["dk"], d["dv"]
        fc["X"] = A
        X2 = A.reshape(-1, e)
        if memory is None:                       # (M1)-(M3) in one product on [Wq Wk Wv]
            fc.pop("memory", None)
            s_k = s_q
            qkv = self.cache(fc, "_QKV", (m * s_q, h * (2 * dk + dv)))
            self._project(X2, ("Wq", "Wk", "Wv"), qkv)
            q, k, v = qkv[:, :h * dk], qkv[:, h * dk:2 * h * dk], qkv[:, 2 * h * dk:]
        else:                                    # (M1), then (M2)-(M3) in one product on [Wk Wv]
            fc["memory"] = memory
            s_k = memory.shape[1]
            q = self.cache(fc, "_Qm", (m * s_q, h * dk))
            self._project(X2, ("Wq",), q)
            kv = self.cache(fc, "_KV", (m * s_k, h * (dk + dv)))
            self._project(memory.reshape(-1, d["e_k"]), ("Wk", "Wv"), kv)
            k, v = kv[:, :h * dk], kv[:, h * dk:]
        d["s_k"] = s_k
        Q = fc["Q"] = heads(q.reshape(m, s_q, -1), h)
        K = fc["K"] = heads(k.reshape(m, s_k, -1), h)
        V = fc["V"] = heads(v.reshape(m, s_k, -1), h)
        S = np.matmul(Q, K.swapaxes(-1, -2), out=self.cache(fc, "scores", (m, h, s_q, s_k)))
        S *= 1.0 / np.sqrt(dk)                                                  # (M4)
        allowed = fc["attention_mask"] = self._allowed(mask, s_q, s_k)
        fc["mask"] = None if mask is None else np.asarray(mask)
        P = self.cache(fc, "weights", S.shape)                                  # (M5)
        if allowed is None:
            np.subtract(S, S.max(axis=-1, keepdims=True), out=P)
        else:
            np.copyto(P, S)
            np.copyto(P, -np.inf, where=~allowed)
            top = P.max(axis=-1, keepdims=True)
            top[~np.isfinite(top)] = 0.0         # a query with no allowed key: all weights 0
            P -= top
        np.exp(P, out=P)
        total = P.sum(axis=-1, keepdims=True)
        if allowed is not None:
            total[total == 0] = 1.0
        P /= total
        # (M6): C_j = P_j V_j, written head by head into the merged (m, s_q, h*dv) layout of (M7)
        merged = self.cache(fc, "_C", (m, s_q, h * dv))
        C = fc["context"] = heads(merged, h)
        np.matmul(P, V, out=C)
        out = self.cache(fc, "A", (m, s_q, d["o"]))
        np.matmul(merged.reshape(-1, h * dv), self.p["Wo"], out=out.reshape(-1, d["o"]))  # (M7)
        if self.use_bias:
            out += self.p["bo"]
        return out

    # ------------------------------------------------------------------ backward
    def backward(self, dA):
        fc, bc, d = self.fc, self.bc, self.d
        m, s_q, s_k, h, dk, dv, o = d["m"], d["s"], d["s_k"], d["h"], d["dk"], d["dv"], d["o"]
        bc["dA"] = dA
        dA2 = np.ascontiguousarray(dA).reshape(-1, o)
        dmerged = self.cache(bc, "_dC", (m * s_q, h * dv))
        np.matmul(dA2, self.p["Wo"].T, out=dmerged)                             # (M8)
        dC = bc["dcontext"] = heads(dmerged.reshape(m, s_q, -1), h)
        P, Q, K, V = fc["weights"], fc["Q"], fc["K"], fc["V"]
        dP = np.matmul(dC, V.swapaxes(-1, -2), out=self.cache(bc, "dweights", P.shape))  # (M9)
        # dQ, dK, dV land in one (rows, columns) array laid out as the forward projection
        cross = "memory" in fc
        if cross:
            dq = self.cache(bc, "_dQm", (m * s_q, h * dk))
            dkv = self.cache(bc, "_dKV", (m * s_k, h * (dk + dv)))
            dk_, dv_ = dkv[:, :h * dk], dkv[:, h * dk:]
        else:
            dqkv = self.cache(bc, "_dQKV", (m * s_q, h * (2 * dk + dv)))
            dq, dk_, dv_ = dqkv[:, :h * dk], dqkv[:, h * dk:2 * h * dk], dqkv[:, 2 * h * dk:]
        dQ = bc["dQ"] = heads(dq.reshape(m, s_q, -1), h)
        dK = bc["dK"] = heads(dk_.reshape(m, s_k, -1), h)
        dV = bc["dV"] = heads(dv_.reshape(m, s_k, -1), h)
        np.matmul(P.swapaxes(-1, -2), dC, out=dV)                               # (M9)
        dS = self.cache(bc, "dscores", P.shape)                                 # (M10)
        np.multiply(dP, P, out=dS)
        rowsum = dS.sum(axis=-1, keepdims=True)
        np.subtract(dP, rowsum, out=dS)
        dS *= P
        scale = 1.0 / np.sqrt(dk)
        np.matmul(dS, K, out=dQ)                                                # (M11)
        dQ *= scale
        np.matmul(dS.swapaxes(-1, -2), Q, out=dK)                               # (M11)
        dK *= scale
        if not self.input_gradient and not cross:
            bc["dX"] = None
            return None
        if cross:
            bc["dmemory"] = (dkv @ fc["_Wkv"].T).reshape(fc["memory"].shape)   # (M13)
            bc["dX"] = None if not self.input_gradient else \
                (dq @ self.p["Wq"].T).reshape(self.fs["X"])                     # (M13)
        else:
            bc["dX"] = (dqkv @ fc["_Wqkv"].T).reshape(self.fs["X"])           # (M13)
        return bc["dX"]

    def compute_gradients(self):
        fc, bc, d, g = self.fc, self.bc, self.d, self.g
        h, dk, dv, o = d["h"], d["dk"], d["dv"], d["o"]
        dA2 = np.ascontiguousarray(bc["dA"]).reshape(-1, o)
        np.matmul(fc["_C"].reshape(-1, h * dv).T, dA2, out=self.cache(g, "dWo", self.fs["Wo"]))  # (M8)
        X2 = fc["X"].reshape(-1, d["e"])
        if "memory" in fc:                                                      # (M12)
            M2 = fc["memory"].reshape(-1, d["e_k"])
            np.matmul(X2.T, bc["_dQm"], out=self.cache(g, "dWq", self.fs["Wq"]))
            dWkv = M2.T @ bc["_dKV"]
            g["dWk"], g["dWv"] = dWkv[:, :h * dk].copy(), dWkv[:, h * dk:].copy()
            if self.use_bias:
                g["dbq"] = bc["_dQm"].sum(axis=0, keepdims=True)
                g["dbv"] = bc["_dKV"][:, h * dk:].sum(axis=0, keepdims=True)
        else:
            dqkv = bc["_dQKV"]
            dW = self.cache(bc, "_dWqkv", (d["e"], h * (2 * dk + dv)))
            np.matmul(X2.T, dqkv, out=dW)
            g["dWq"], g["dWk"], g["dWv"] = (dW[:, :h * dk].copy(),
                                            dW[:, h * dk:2 * h * dk].copy(),
                                            dW[:, 2 * h * dk:].copy())
            if self.use_bias:
                db = dqkv.sum(axis=0, keepdims=True)
                g["dbq"], g["dbv"] = db[:, :h * dk].copy(), db[:, 2 * h * dk:].copy()
        if self.use_bias:
            g["dbo"] = dA2.sum(axis=0, keepdims=True)                           # (M8)

    def config(self):
        init = initializer_name(self.initializer)
        return {**super().config(), "num_heads": self.d["h"], "key_dim": self.d["dk"],
                "value_dim": self.d["dv"], "output_dim": self.output_dim,
                "memory_dim": self.memory_dim, "causal": self.causal, "use_bias": self.use_bias,
                "initializer": init if init else "glorot_uniform"}
