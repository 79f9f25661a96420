"""Reference LSTM, forward and backward through time, one statement per equation.

For a student who knows NumPy and the chain rule. Equations (L1)-(L12) are on
docs/layers/lstm.md, the shared steps (R1)-(R9) and the mask rules (R10)-(R11) on docs/bptt.md.

Gate order i, f, g, o (input, forget, candidate, output): U (e, 4u), V (u, 4u) and b (1, 4u)
hold the four gates side by side, and z_t (m, 4u) splits into four blocks of u columns.
Two states travel forward, h_t and the cell state C_t, so two gradients travel backward:
dh_next through V (L12) and dC_next through the forget gate (L11).

Options as in reference/rnn.py, plus C0 (m, u) and, in backward, dCT: a gradient of the final
cell state from outside (e.g. a decoder that started from it). Activations are the layer's
defaults: σ for i, f, o and tanh for g and C. The fast version is unrolled/layers/lstm.py.
"""
import numpy as np

from .common import (backward_inputs, forward_inputs, gradients_of, input_side_gradients,
                     output_gradient, sigmoid, stack_steps)


def lstm_forward(X, p, h0=None, C0=None, mask=None, dropout_mask=None,
                 recurrent_dropout_mask=None, sequences=False):
    U, V, b = p["U"], p["V"], p.get("b", 0.0)                  # use_bias=False: no b, add 0
    s, u = X.shape[1], V.shape[0]
    real, Dx, Dh, h = forward_inputs(X, V, h0, mask, dropout_mask, recurrent_dropout_mask)
    C = np.zeros_like(h) if C0 is None else C0
    keep = {key: [] for key in ("Z", "gates", "C", "Cp", "tC", "h", "hp")}
    for t in range(s):
        x = X[:, t] * Dx                                          # (R1)
        z = x @ U + b + (h * Dh) @ V                              # (L1)
        z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
        i, f, g, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_g), sigmoid(z_o)   # (L2)
        C_new = f * C + i * g                                     # (L3)
        C_new = np.where(real[:, t], C_new, C)                    # (R10) padded: keep C_{t-1}
        tC = np.tanh(C_new)                                       # (L4)
        h_new = o * tC                                            # (L5)
        h_new = np.where(real[:, t], h_new, h)                    # (R10) padded: keep h_{t-1}
        keep["Z"].append(z)
        keep["gates"].append(np.hstack([i, f, g, o]))
        keep["C"].append(C_new)
        keep["Cp"].append(C)
        keep["tC"].append(tC)
        keep["h"].append(h_new)
        keep["hp"].append(h)
        h, C = h_new, C_new
    fc = {key: stack_steps(values) for key, values in keep.items()}
    for k, name in enumerate("ifgo"):
        fc[name] = fc["gates"][:, :, k * u:(k + 1) * u]
    fc.update(X=X, hT=h, CT=C, A=fc["h"] if sequences else h, mask=mask,
              dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask)
    return fc


def lstm_backward(fc, p, dA, dhT=None, dCT=None):
    V, (s, u) = p["V"], fc["h"].shape[1:]
    real, Dh, dh_next = backward_inputs(fc, V, dhT)
    dC_next = np.zeros_like(dh_next) if dCT is None else dCT              # (R5) from outside
    dH, dC_all, dZ = [None] * s, [None] * s, [None] * s
    for t in reversed(range(s)):
        i, f, g, o = fc["i"][:, t], fc["f"][:, t], fc["g"][:, t], fc["o"][:, t]
        tC, C_prev = fc["tC"][:, t], fc["Cp"][:, t]
        dh = output_gradient(dA, t, s) + dh_next                  # (L6)
        dh_real, dh_padded = dh * real[:, t], dh * ~real[:, t]    # (R11) padded steps pass
        dC_real, dC_padded = dC_next * real[:, t], dC_next * ~real[:, t]   # both on unchanged
        do = dh_real * tC                                         # (L7)
        dC = dC_real + dh_real * o * (1 - tC ** 2)                # (L8) a sum of two paths
        di, df, dg = dC * g, dC * C_prev, dC * i                  # (L9)
        dz = np.hstack([di * i * (1 - i), df * f * (1 - f),       # (L10)
                        dg * (1 - g ** 2), do * o * (1 - o)])
        dC_next = dC * f + dC_padded                              # (L11)
        dh_next = (dz @ V.T) * Dh + dh_padded                     # (L12)
        dH[t], dC_all[t], dZ[t] = dh, dC, dz
    dZ = stack_steps(dZ)
    dX, dU, db = input_side_gradients(fc, p, dZ)                 # (R6), (R7), (R9)
    dV = sum((fc["hp"][:, t] * Dh).T @ dZ[:, t] for t in range(s))   # (R8)
    bc = {"dA": dA, "dh": stack_steps(dH), "dC": stack_steps(dC_all), "dZ": dZ, "dX": dX,
          "dh0": dh_next, "dC0": dC_next, "dCT": dCT}
    for k, name in enumerate("ifgo"):      # bc["di"]: block i of dZ, dL/dz_i (not di of (L9))
        bc["d" + name] = dZ[:, :, k * u:(k + 1) * u]
    return bc, gradients_of(p, dU=dU, dV=dV, db=db)
