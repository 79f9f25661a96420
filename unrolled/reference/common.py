"""Small pieces shared by the recurrent references (rnn.py, lstm.py, gru.py).

Conventions: ``X`` is ``(m, s, e)`` (m samples, s steps, e elements per step), a state is
``(m, u)``; ``x_t = X[:, t]`` is step t (0-based in code, t = 1..s in the docs). A ``p`` without
``"b"`` is a layer built with ``use_bias=False``: the references then add no bias (a bias of 0).
"""
import numpy as np


def sigmoid(z):
    """σ(z) = 1 / (1 + exp(-z)), written as 0.5 tanh(z/2) + 0.5, which never overflows."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


def real_steps(mask, m, s):
    """(m, s, 1) booleans, True on real steps; every step is real without a mask."""
    if mask is None:
        return np.ones((m, s, 1), dtype=bool)
    return np.asarray(mask, dtype=bool)[:, :, None]


def ones_unless(dropout_mask, shape, dtype):
    """The dropout mask, or ones (multiplying by 1.0 changes nothing) when there is none."""
    return np.ones(shape, dtype=dtype) if dropout_mask is None else dropout_mask


def forward_inputs(X, V, h0, mask, dropout_mask, recurrent_dropout_mask):
    """What every forward loop starts from: the real steps (m, s, 1), the two dropout masks (or
    ones) and h_0 (zeros unless given)."""
    m, s, e = X.shape
    u = V.shape[0]
    real = real_steps(mask, m, s)
    Dx = ones_unless(dropout_mask, (m, e), X.dtype)
    Dh = ones_unless(recurrent_dropout_mask, (m, u), X.dtype)
    h0 = np.zeros((m, u), dtype=X.dtype) if h0 is None else h0
    return real, Dx, Dh, h0


def backward_inputs(fc, V, dhT):
    """What every backward loop starts from: the real steps, the recurrent dropout mask (or
    ones) and dh_{s+1 -> s}, the gradient of the final state from outside (zeros unless given)."""
    m, s, u = fc["h"].shape
    real = real_steps(fc["mask"], m, s)
    Dh = ones_unless(fc["recurrent_dropout_mask"], (m, u), V.dtype)
    dh_next = np.zeros((m, u), dtype=V.dtype) if dhT is None else dhT         # (R5)
    return real, Dh, dh_next


def output_gradient(dA, t, s):
    """(R5) dA_t: step t's slice of dA (sequences=True), or dA at the last step only."""
    if dA.ndim == 3:
        return dA[:, t]
    return dA if t == s - 1 else np.zeros_like(dA)


def input_side_gradients(fc, p, dZ):
    """(R6) dX, (R7) dU and (R9) db from dZ = dL/dz of every step, (m, s, G*u). (db is
    computed even without a bias; ``gradients_of`` keeps it only when p has a b.)"""
    X, U = fc["X"], p["U"]
    m, s, e = X.shape
    Dx = ones_unless(fc["dropout_mask"], (m, e), X.dtype)
    dX = (dZ @ U.T) * Dx[:, None, :]                                           # (R6)
    dU = sum((X[:, t] * Dx).T @ dZ[:, t] for t in range(s))                    # (R7)
    db = dZ.sum(axis=(0, 1))[None, :]                                          # (R9)
    return dX, dU, db


def gradients_of(p, **grads):
    """g: the gradient of each parameter in p, ``g["d" + name]``. A layer with
    ``use_bias=False`` has no b (nor GRU's bh), so it gets no db (nor dbh)."""
    return {"d" + name: grads["d" + name] for name in p}


def stack_steps(arrays):
    """A list of s arrays (m, ...) -> one array (m, s, ...)."""
    return np.stack(arrays, axis=1)
