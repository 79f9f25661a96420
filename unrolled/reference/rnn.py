"""Reference Elman RNN: h_t = tanh(x_t U + h_{t-1} V + b), forward and backward through time.

For a student who knows NumPy and the chain rule. Equations (RNN1)-(RNN5) are on
docs/layers/rnn.md, the shared steps (R1)-(R9) and the mask rules (R10)-(R11) on docs/bptt.md.

Shapes: X (m, s, e) holds m sequences of s steps of e numbers; U (e, u), V (u, u), b (1, u)
(no b with use_bias=False); every state h_t is (m, u). The forward loop keeps every intermediate
array; the backward loop walks the steps in reverse, carrying dh_next = the gradient that step
t + 1 sends back to h_t.

Options, all passed in as arrays so that the result is fully determined:
  h0 (m, u)                      initial state (zeros if None)
  mask (m, s) bool               True on real steps; a padded step keeps the state (R10)
  dropout_mask (m, e)            input dropout, one mask per sequence, already scaled (R1)
  recurrent_dropout_mask (m, u)  the same for h_{t-1} where it enters the product with V

The activation is tanh (the layer's default). Returns dictionaries with the keys of the layer's
``fc``, ``bc`` and ``g``. The fast version is unrolled/layers/rnn.py.
"""
import numpy as np

from .common import (backward_inputs, forward_inputs, gradients_of, input_side_gradients,
                     output_gradient, stack_steps)


def rnn_forward(X, p, h0=None, mask=None, dropout_mask=None, recurrent_dropout_mask=None,
                sequences=False):
    U, V, b = p["U"], p["V"], p.get("b", 0.0)                  # use_bias=False: no b, add 0
    s = X.shape[1]
    real, Dx, Dh, h = forward_inputs(X, V, h0, mask, dropout_mask, recurrent_dropout_mask)
    Z, H, Hp = [], [], []
    for t in range(s):
        x = X[:, t] * Dx                                          # (R1)
        z = x @ U + b + (h * Dh) @ V                              # (RNN1)
        h_new = np.tanh(z)                                        # (RNN2)
        h_new = np.where(real[:, t], h_new, h)                    # (R10) padded: keep h_{t-1}
        Z.append(z)
        Hp.append(h)
        H.append(h_new)
        h = h_new
    H = stack_steps(H)
    return {"X": X, "Z": stack_steps(Z), "h": H, "hp": stack_steps(Hp), "hT": h,
            "A": H if sequences else h, "mask": mask, "dropout_mask": dropout_mask,
            "recurrent_dropout_mask": recurrent_dropout_mask}


def rnn_backward(fc, p, dA, dhT=None):
    V, s = p["V"], fc["h"].shape[1]
    real, Dh, dh_next = backward_inputs(fc, V, dhT)
    dH, dZ = [None] * s, [None] * s
    for t in reversed(range(s)):
        dh = output_gradient(dA, t, s) + dh_next                  # (RNN3)
        dh_real = dh * real[:, t]                                 # (R11) padded steps: no dz_t,
        dh_padded = dh * ~real[:, t]                              # (R11) dh goes on to h_{t-1}
        dz = (1 - fc["h"][:, t] ** 2) * dh_real                   # (RNN4) tanh' from h_t
        dh_next = (dz @ V.T) * Dh + dh_padded                     # (RNN5)
        dH[t], dZ[t] = dh, dz
    dZ = stack_steps(dZ)
    dX, dU, db = input_side_gradients(fc, p, dZ)                 # (R6), (R7), (R9)
    dV = sum((fc["hp"][:, t] * Dh).T @ dZ[:, t] for t in range(s))   # (R8)
    bc = {"dA": dA, "dh": stack_steps(dH), "dZ": dZ, "dX": dX, "dh0": dh_next}
    return bc, gradients_of(p, dU=dU, dV=dV, db=db)
