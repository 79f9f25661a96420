"""Attention, the plain version: one sample and one decoder step at a time, one statement per
equation. Equations: docs/layers/attention.md. Never called by a model; the tests prove
``unrolled.layers.Attention`` equal to it, entry by entry.

``q`` is one query (a decoder state, ``(e_q,)``), ``Ki`` the keys of its sample (its encoder
states, ``(s_enc, e_k)``), which are also the values. ``p`` holds the parameters of the score:
``W`` for ``general``, ``Wq``, ``Wk``, ``b``, ``v`` for ``additive``, nothing for ``dot``.
"""
import numpy as np


def attention_forward(Q, K, p, score="dot", mask=None):
    """Forward pass; returns the forward cache ``fc`` (the layer's public keys)."""
    m, s_dec, _ = Q.shape
    s_enc = K.shape[1]
    real = np.ones((m, s_enc), dtype=bool) if mask is None else mask
    scores = np.zeros((m, s_dec, s_enc))
    weights = np.zeros((m, s_dec, s_enc))
    context = np.zeros((m, s_dec, K.shape[2]))
    fc = {"X": Q, "K": K, "mask": mask}
    if score == "additive":
        fc["Pq"] = np.zeros((m, s_dec, p["Wq"].shape[1]))
        fc["Pk"] = np.zeros((m, s_enc, p["Wq"].shape[1]))
        fc["T"] = np.zeros((m, s_dec, s_enc, p["Wq"].shape[1]))
    if score == "general":
        fc["QW"] = np.zeros((m, s_dec, K.shape[2]))
    for i in range(m):
        Ki = K[i]                                       # (s_enc, e_k)
        for t in range(s_dec):
            q = Q[i, t]                                 # (e_q,)
            if score == "dot":
                s = Ki @ q                              # (A1)
            elif score == "general":
                qW = q @ p["W"]
                s = Ki @ qW                             # (A2)
                fc["QW"][i, t] = qW
            else:
                pq = q @ p["Wq"]                        # (A3)
                pk = Ki @ p["Wk"] + p["b"][0]           # (A3)
                T = np.tanh(pq + pk)                    # (A4) (s_enc, u)
                s = T @ p["v"][:, 0]                    # (A5)
                fc["Pq"][i, t], fc["Pk"][i], fc["T"][i, t] = pq, pk, T
            s = np.where(real[i], s, -np.inf)           # (A6)
            e = np.exp(s - s[real[i]].max()) if real[i].any() else np.zeros(s_enc)
            a = e / e.sum() if real[i].any() else e     # (A7)
            c = a @ Ki                                  # (A8)
            scores[i, t], weights[i, t], context[i, t] = s, a, c
    fc.update(scores=scores, weights=weights, context=context, A=context)
    return fc


def attention_backward(dA, fc, p, score="dot"):
    """Backward pass from ``dA`` = dL/dcontext; returns ``(bc, g)``. ``bc["dX"]`` is dL/dQ and
    ``bc["dK"]`` dL/dK (for cross-attention, where the keys are a second input)."""
    Q, K, weights = fc["X"], fc["K"], fc["weights"]
    m, s_dec, _ = Q.shape
    dQ, dK = np.zeros(Q.shape), np.zeros(K.shape)
    dweights, dscores = np.zeros(weights.shape), np.zeros(weights.shape)
    g = {name: np.zeros(value.shape) for name, value in p.items()}
    g = {"d" + name: value for name, value in g.items()}
    bc = {"dA": dA}
    if score == "additive":
        bc["dZ"] = np.zeros(fc["T"].shape)
    for i in range(m):
        Ki = K[i]
        for t in range(s_dec):
            a, dc = weights[i, t], dA[i, t]
            da = Ki @ dc                                # (A9)
            dK[i] += np.outer(a, dc)                    # (A10)
            ds = a * (da - np.sum(da * a))              # (A11)
            if score == "dot":
                dQ[i, t] = ds @ Ki                      # (A12)
                dK[i] += np.outer(ds, Q[i, t])          # (A12)
            elif score == "general":
                dqW = ds @ Ki
                dQ[i, t] = dqW @ p["W"].T               # (A13)
                dK[i] += np.outer(ds, fc["QW"][i, t])   # (A13)
                g["dW"] += np.outer(Q[i, t], dqW)       # (A13)
            else:
                T = fc["T"][i, t]                       # (s_enc, u)
                dZ = np.outer(ds, p["v"][:, 0]) * (1 - T ** 2)     # (A14)
                dQ[i, t] = dZ.sum(axis=0) @ p["Wq"].T   # (A15)
                dK[i] += dZ @ p["Wk"].T                 # (A15)
                g["dWq"] += np.outer(Q[i, t], dZ.sum(axis=0))      # (A16)
                g["dWk"] += Ki.T @ dZ                   # (A16)
                g["db"] += dZ.sum(axis=0)               # (A16)
                g["dv"] += T.T @ ds[:, None]            # (A16)
                bc["dZ"][i, t] = dZ
            dweights[i, t], dscores[i, t] = da, ds
    bc.update(dweights=dweights, dscores=dscores, dX=dQ, dK=dK)
    return bc, g
