"""The Transformer blocks in plain NumPy: one statement per equation, read this first.

Layer normalization (N1)-(N8), multi-head attention (M1)-(M13), positional encoding (PE1)-(PE3)
and the residual block (RS1)-(RS3), numbered as on the documentation pages of those layers
(layers/layer_normalization, layers/multi_head_attention, layers/positional_encoding and
layers/composite; tests/test_transformer_blocks.py checks that every label here is tagged on its
page). The layers in ``unrolled/layers/`` compute the same arrays faster (the tests prove it
entry by entry); nothing here is called by a model.

Every forward function returns the forward cache ``fc`` (a dict named like the layer's), every
backward function ``(bc, g)``: the backward cache and the parameter gradients.
"""
import numpy as np


# ------------------------------------------------------------------------- layer normalization
def layer_norm_forward(X, gamma, beta, epsilon):
    """X (..., e); gamma, beta (e,) or None (no scale / no shift)."""
    mean = X.mean(axis=-1, keepdims=True)                               # (N1)
    var = ((X - mean) ** 2).mean(axis=-1, keepdims=True)                # (N2)
    std = np.sqrt(var + epsilon)                                        # (N3)
    xhat = (X - mean) / std                                             # (N4)
    A = xhat
    if gamma is not None:
        A = A * gamma                                                   # (N5)
    if beta is not None:
        A = A + beta                                                    # (N5)
    return {"X": X, "mean": mean, "var": var, "std": std, "xhat": xhat, "A": A}


def layer_norm_backward(dA, fc, gamma, beta):
    e = dA.shape[-1]
    xhat, std = fc["xhat"], fc["std"]
    dxhat = dA * gamma if gamma is not None else dA                     # (N6)
    dX = (dxhat - dxhat.mean(axis=-1, keepdims=True)
          - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)) / std   # (N7)
    g = {}
    if gamma is not None:
        g["dgamma"] = (dA * xhat).reshape(-1, e).sum(axis=0)            # (N8)
    if beta is not None:
        g["dbeta"] = dA.reshape(-1, e).sum(axis=0)                      # (N8)
    return {"dA": dA, "dxhat": dxhat, "dX": dX}, g


# ------------------------------------------------------------------------- multi-head attention
def split_heads(Y, h):
    """(m, s, h*d) -> (m, h, s, d): head j owns columns j*d to (j+1)*d."""
    m, s, width = Y.shape
    return Y.reshape(m, s, h, width // h).transpose(0, 2, 1, 3)


def merge_heads(Y):
    """(m, h, s, d) -> (m, s, h*d), the inverse of split_heads."""
    m, h, s, d = Y.shape
    return Y.transpose(0, 2, 1, 3).reshape(m, s, h * d)


def attention_mask(m, s_q, s_k, mask=None, causal=False):
    """(m, 1, s_q, s_k) booleans: True where query i may attend to key j. ``mask`` (m, s_k) is
    True on real (not padded) key steps; ``causal`` keeps keys j <= i."""
    allowed = np.ones((m, 1, s_q, s_k), dtype=bool)
    if mask is not None:
        allowed = allowed & mask[:, None, None, :]
    if causal:
        allowed = allowed & np.tri(s_q, s_k, dtype=bool)
    return allowed


def masked_softmax(scores, allowed):
    """Softmax over the last axis among the allowed keys; 0 elsewhere (a row with no allowed
    key is all 0)."""
    shifted = np.where(allowed, scores, -np.inf)
    top = shifted.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    expd = np.exp(shifted - top)
    total = expd.sum(axis=-1, keepdims=True)
    return expd / np.where(total > 0, total, 1.0)


def mha_forward(X, p, num_heads, memory=None, mask=None, causal=False):
    """X (m, s_q, e) queries; memory (m, s_k, e_k) keys and values (X itself when None).
    p: Wq (e, h*dk), Wk (e_k, h*dk), Wv (e_k, h*dv), Wo (h*dv, o) and, with biases, bq, bv
    (1, h*dk | h*dv), bo (1, o). The keys have no bias: the softmax would ignore it."""
    h = num_heads
    M = X if memory is None else memory
    dk = p["Wq"].shape[1] // h
    Q = split_heads(X @ p["Wq"] + p.get("bq", 0.0), h)                 # (M1)
    K = split_heads(M @ p["Wk"], h)                                     # (M2)
    V = split_heads(M @ p["Wv"] + p.get("bv", 0.0), h)                 # (M3)
    scores = Q @ K.swapaxes(-1, -2) / np.sqrt(dk)                       # (M4)
    allowed = attention_mask(X.shape[0], X.shape[1], M.shape[1], mask, causal)
    weights = masked_softmax(scores, allowed)                           # (M5)
    context = weights @ V                                               # (M6)
    A = merge_heads(context) @ p["Wo"] + p.get("bo", 0.0)              # (M7)
    fc = {"X": X, "Q": Q, "K": K, "V": V, "scores": scores, "attention_mask": allowed,
          "weights": weights, "context": context, "A": A}
    if memory is not None:
        fc["memory"] = memory
    return fc


def mha_backward(dA, fc, p):
    h = fc["Q"].shape[1]
    dk = fc["Q"].shape[3]
    X = fc["X"]
    M = fc.get("memory", X)
    o = dA.shape[-1]
    g = {"dWo": merge_heads(fc["context"]).reshape(-1, p["Wo"].shape[0]).T
         @ dA.reshape(-1, o)}                                           # (M8)
    dcontext = split_heads(dA @ p["Wo"].T, h)                           # (M8)
    dweights = dcontext @ fc["V"].swapaxes(-1, -2)                      # (M9)
    dV = fc["weights"].swapaxes(-1, -2) @ dcontext                      # (M9)
    dscores = fc["weights"] * (dweights - (dweights * fc["weights"]).sum(axis=-1, keepdims=True))  # (M10)
    dQ = dscores @ fc["K"] / np.sqrt(dk)                                # (M11)
    dK = dscores.swapaxes(-1, -2) @ fc["Q"] / np.sqrt(dk)               # (M11)
    dQm, dKm, dVm = merge_heads(dQ), merge_heads(dK), merge_heads(dV)
    g["dWq"] = X.reshape(-1, X.shape[-1]).T @ dQm.reshape(-1, dQm.shape[-1])   # (M12)
    g["dWk"] = M.reshape(-1, M.shape[-1]).T @ dKm.reshape(-1, dKm.shape[-1])   # (M12)
    g["dWv"] = M.reshape(-1, M.shape[-1]).T @ dVm.reshape(-1, dVm.shape[-1])   # (M12)
    if "bq" in p:
        g["dbq"] = dQm.reshape(-1, dQm.shape[-1]).sum(axis=0, keepdims=True)   # (M12)
        g["dbv"] = dVm.reshape(-1, dVm.shape[-1]).sum(axis=0, keepdims=True)   # (M12)
        g["dbo"] = dA.reshape(-1, o).sum(axis=0, keepdims=True)                # (M8)
    dX = dQm @ p["Wq"].T                                                # (M13)
    dmemory = dKm @ p["Wk"].T + dVm @ p["Wv"].T                         # (M13)
    bc = {"dA": dA, "dcontext": dcontext, "dweights": dweights, "dscores": dscores,
          "dQ": dQ, "dK": dK, "dV": dV}
    if "memory" in fc:
        bc["dX"], bc["dmemory"] = dX, dmemory
    else:
        bc["dX"] = dX + dmemory                                         # (M13) self-attention
    return bc, g


# ------------------------------------------------------------------------- positional encoding
def sinusoidal_table(length, e):
    """(length, e): sin at even features, cos at odd ones, wavelengths 2 pi to 10000 * 2 pi."""
    pos = np.arange(length)[:, None]
    i = np.arange(e)[None, :]
    angle = pos / 10000.0 ** (2 * (i // 2) / e)                         # (PE1)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle))           # (PE1)


def positional_encoding_forward(X, table):
    """X (m, s, e); table (>= s, e), fixed (sinusoidal) or learned."""
    s = X.shape[1]
    return {"X": X, "encoding": table[:s], "A": X + table[:s]}          # (PE2)


def positional_encoding_backward(dA, table_shape):
    """dX = dA; the gradient of a learned table collects every sample at each position."""
    dP = np.zeros(table_shape)
    dP[:dA.shape[1]] = dA.sum(axis=0)                                   # (PE3)
    return {"dA": dA, "dX": dA}, {"dP": dP}


# ------------------------------------------------------------------------- an encoder block
def encoder_block_forward(X, p, num_heads, mask=None, causal=False, epsilon=1e-5):
    """The pre-norm block (as GPT-2 and most current Transformers) that a Model stacks as
    ``Residual(Sequential([LayerNormalization(), MultiHeadAttention(...)]))`` then
    ``Residual(Sequential([LayerNormalization(), Dense(f, "relu"), Dense(e)]))``.
    p: {"ln1": {gamma, beta}, "attention": {Wq, ...}, "ln2": {gamma, beta},
    "ff": {W1, b1, W2, b2}}."""
    ln1 = layer_norm_forward(X, p["ln1"]["gamma"], p["ln1"]["beta"], epsilon)
    att = mha_forward(ln1["A"], p["attention"], num_heads, mask=mask, causal=causal)  # (RS1)
    X1 = X + att["A"]                                                   # (RS2)
    ln2 = layer_norm_forward(X1, p["ln2"]["gamma"], p["ln2"]["beta"], epsilon)
    Z = ln2["A"] @ p["ff"]["W1"] + p["ff"]["b1"]
    H = np.maximum(Z, 0.0)
    F = H @ p["ff"]["W2"] + p["ff"]["b2"]                              # (RS1)
    A = X1 + F                                                          # (RS2)
    return {"X": X, "ln1": ln1, "attention": att, "X1": X1, "ln2": ln2, "Z": Z, "H": H, "A": A}


def encoder_block_backward(dA, fc, p):
    """The gradient reaches X1 (and X) by the skip path and through the branch: (RS3)."""
    e, f = p["ff"]["W1"].shape
    dH = dA @ p["ff"]["W2"].T
    dZ = dH * (fc["Z"] > 0)
    g = {"ff": {"dW2": fc["H"].reshape(-1, f).T @ dA.reshape(-1, e),
                "db2": dA.reshape(-1, e).sum(axis=0, keepdims=True),
                "dW1": fc["ln2"]["A"].reshape(-1, e).T @ dZ.reshape(-1, f),
                "db1": dZ.reshape(-1, f).sum(axis=0, keepdims=True)}}
    bc2, g["ln2"] = layer_norm_backward(dZ @ p["ff"]["W1"].T, fc["ln2"], p["ln2"]["gamma"],
                                        p["ln2"]["beta"])
    dX1 = dA + bc2["dX"]                                                # (RS3)
    bca, g["attention"] = mha_backward(dX1, fc["attention"], p["attention"])
    bc1, g["ln1"] = layer_norm_backward(bca["dX"], fc["ln1"], p["ln1"]["gamma"], p["ln1"]["beta"])
    dX = dX1 + bc1["dX"]                                                # (RS3)
    return {"dA": dA, "dX1": dX1, "dX": dX}, g
