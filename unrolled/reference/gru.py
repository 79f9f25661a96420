"""Reference GRU, both formulations, forward and backward through time.

For a student who knows NumPy and the chain rule. Equations (G1)-(G8) are on
docs/layers/gru.md, the shared steps (R1)-(R9) and the mask rules (R10)-(R11) on docs/bptt.md.

Gate order r, u, n (reset, update, candidate; PyTorch names the update gate z, here z is always a
pre-activation): U (e, 3u), V (u, 3u) and b (1, 3u) hold the three gates side by side. The two
formulations differ only in where the reset gate acts, so each has its own pair of functions:

  reset_after=True  (PyTorch, Keras 2): n_t = tanh(z_n + r_t * hn_t), hn_t = h_{t-1} V_n + bh
  reset_after=False (Cho et al. 2014):  n_t = tanh(z_n + (r_t * h_{t-1}) V_n)

Options as in reference/rnn.py. Activations are the layer's defaults: σ for r and u, tanh for n.
The fast version is unrolled/layers/gru.py.
"""
import numpy as np

from .common import (backward_inputs, forward_inputs, gradients_of, input_side_gradients,
                     output_gradient, sigmoid, stack_steps)


def _cache(X, keep, h, mask, dropout_mask, recurrent_dropout_mask, sequences):
    """The forward lists of steps as the layer's fc dictionary (shared by both formulations)."""
    fc = {key: stack_steps(values) for key, values in keep.items()}
    fc["r"], fc["u"], fc["n"] = np.split(fc["gates"], 3, axis=2)
    fc.update(X=X, hT=h, A=fc["h"] if sequences else h, mask=mask, dropout_mask=dropout_mask,
              recurrent_dropout_mask=recurrent_dropout_mask)
    return fc


def gru_reset_after_forward(X, p, h0=None, mask=None, dropout_mask=None,
                            recurrent_dropout_mask=None, sequences=False):
    U, V, b, bh = p["U"], p["V"], p.get("b", 0.0), p.get("bh", 0.0)   # use_bias=False: add 0
    s = X.shape[1]
    V_r, V_u, V_n = np.split(V, 3, axis=1)
    real, Dx, Dh, h = forward_inputs(X, V, h0, mask, dropout_mask, recurrent_dropout_mask)
    keep = {key: [] for key in ("Z", "gates", "hn", "h", "hp")}
    for t in range(s):
        x, h_in = X[:, t] * Dx, h * Dh                            # (R1), h_{t-1} into V
        z_r, z_u, z_n = np.split(x @ U + b, 3, axis=1)            # (G1) input part
        z_r, z_u = z_r + h_in @ V_r, z_u + h_in @ V_u             # (G1) recurrent part
        r, u = sigmoid(z_r), sigmoid(z_u)                         # (G2)
        hn = h_in @ V_n + bh                                      # (G3)
        z_n = z_n + r * hn                                        # (G3)
        n = np.tanh(z_n)                                          # (G3)
        h_new = (1 - u) * n + u * h                               # (G4)
        h_new = np.where(real[:, t], h_new, h)                    # (R10) padded: keep h_{t-1}
        keep["Z"].append(np.hstack([z_r, z_u, z_n]))
        keep["gates"].append(np.hstack([r, u, n]))
        keep["hn"].append(hn)
        keep["hp"].append(h)
        keep["h"].append(h_new)
        h = h_new
    return _cache(X, keep, h, mask, dropout_mask, recurrent_dropout_mask, sequences)


def gru_reset_after_backward(fc, p, dA, dhT=None):
    V = p["V"]
    s, units = fc["h"].shape[1:]
    real, Dh, dh_next = backward_inputs(fc, V, dhT)
    dH, dZ, dHn = [None] * s, [None] * s, [None] * s
    for t in reversed(range(s)):
        r, u, n = fc["r"][:, t], fc["u"][:, t], fc["n"][:, t]
        h_prev, hn = fc["hp"][:, t], fc["hn"][:, t]
        dh = output_gradient(dA, t, s) + dh_next                  # (G5)
        dh_real, dh_padded = dh * real[:, t], dh * ~real[:, t]    # (R11)
        dz_n = dh_real * (1 - u) * (1 - n ** 2)                   # (G6)
        dz_u = dh_real * (h_prev - n) * u * (1 - u)               # (G6)
        dz_r = dz_n * hn * r * (1 - r)                            # (G7)
        dhn = dz_n * r                                            # (G7) dL/dhn_t
        dh_next = dh_real * u + (np.hstack([dz_r, dz_u, dhn]) @ V.T) * Dh + dh_padded   # (G8)
        dH[t], dZ[t], dHn[t] = dh, np.hstack([dz_r, dz_u, dz_n]), dhn
    dZ, dHn = stack_steps(dZ), stack_steps(dHn)
    dX, dU, db = input_side_gradients(fc, p, dZ)                 # (R6), (R7), (R9)
    dZh = np.concatenate([dZ[:, :, :2 * units], dHn], axis=2)     # what multiplies V
    dV = sum((fc["hp"][:, t] * Dh).T @ dZh[:, t] for t in range(s))   # (R8)
    dbh = dHn.sum(axis=(0, 1))[None, :]                           # (R9) for bh
    bc = {"dA": dA, "dh": stack_steps(dH), "dZ": dZ, "dhn": dHn, "dX": dX, "dh0": dh_next}
    bc["dr"], bc["du"], bc["dn"] = np.split(dZ, 3, axis=2)
    return bc, gradients_of(p, dU=dU, dV=dV, db=db, dbh=dbh)


def gru_reset_before_forward(X, p, h0=None, mask=None, dropout_mask=None,
                             recurrent_dropout_mask=None, sequences=False):
    U, V, b = p["U"], p["V"], p.get("b", 0.0)                  # use_bias=False: no b, add 0
    s = X.shape[1]
    V_r, V_u, V_n = np.split(V, 3, axis=1)
    real, Dx, Dh, h = forward_inputs(X, V, h0, mask, dropout_mask, recurrent_dropout_mask)
    keep = {key: [] for key in ("Z", "gates", "rh", "h", "hp")}
    for t in range(s):
        x, h_in = X[:, t] * Dx, h * Dh                            # (R1), h_{t-1} into V
        z_r, z_u, z_n = np.split(x @ U + b, 3, axis=1)            # (G1) input part
        z_r, z_u = z_r + h_in @ V_r, z_u + h_in @ V_u             # (G1) recurrent part
        r, u = sigmoid(z_r), sigmoid(z_u)                         # (G2)
        rh = r * h_in                                             # (G3)
        z_n = z_n + rh @ V_n                                      # (G3)
        n = np.tanh(z_n)                                          # (G3)
        h_new = (1 - u) * n + u * h                               # (G4)
        h_new = np.where(real[:, t], h_new, h)                    # (R10) padded: keep h_{t-1}
        keep["Z"].append(np.hstack([z_r, z_u, z_n]))
        keep["gates"].append(np.hstack([r, u, n]))
        keep["rh"].append(rh)
        keep["hp"].append(h)
        keep["h"].append(h_new)
        h = h_new
    return _cache(X, keep, h, mask, dropout_mask, recurrent_dropout_mask, sequences)


def gru_reset_before_backward(fc, p, dA, dhT=None):
    V = p["V"]
    s, units = fc["h"].shape[1:]
    V_rz, V_n = V[:, :2 * units], V[:, 2 * units:]
    real, Dh, dh_next = backward_inputs(fc, V, dhT)
    dH, dZ = [None] * s, [None] * s
    for t in reversed(range(s)):
        r, u, n = fc["r"][:, t], fc["u"][:, t], fc["n"][:, t]
        h_prev = fc["hp"][:, t]
        dh = output_gradient(dA, t, s) + dh_next                  # (G5)
        dh_real, dh_padded = dh * real[:, t], dh * ~real[:, t]    # (R11)
        dz_n = dh_real * (1 - u) * (1 - n ** 2)                   # (G6)
        dz_u = dh_real * (h_prev - n) * u * (1 - u)               # (G6)
        drh = dz_n @ V_n.T                                        # (G7) dL/d(r h)_t
        dz_r = drh * (h_prev * Dh) * r * (1 - r)                  # (G7)
        dh_next = (dh_real * u + (np.hstack([dz_r, dz_u]) @ V_rz.T) * Dh   # (G8)
                   + drh * r * Dh + dh_padded)
        dH[t], dZ[t] = dh, np.hstack([dz_r, dz_u, dz_n])
    dZ = stack_steps(dZ)
    dX, dU, db = input_side_gradients(fc, p, dZ)                 # (R6), (R7), (R9)
    dV_rz = sum((fc["hp"][:, t] * Dh).T @ dZ[:, t, :2 * units] for t in range(s))   # (R8)
    dV_n = sum(fc["rh"][:, t].T @ dZ[:, t, 2 * units:] for t in range(s))          # (R8)
    bc = {"dA": dA, "dh": stack_steps(dH), "dZ": dZ, "dX": dX, "dh0": dh_next}
    bc["dr"], bc["du"], bc["dn"] = np.split(dZ, 3, axis=2)
    return bc, gradients_of(p, dU=dU, dV=np.hstack([dV_rz, dV_n]), db=db)
