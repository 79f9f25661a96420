"""Reference Bidirectional: one recurrent reference reads each sequence forward, a second one
reads it reversed, and their outputs are merged step by step.

Equations (B1)-(B5) are on docs/layers/bidirectional.md. ``cell`` is a pair of reference
functions ``(forward, backward)`` from rnn.py, lstm.py or gru.py, e.g.
``(lstm_forward, lstm_backward)``; each direction has its own parameters. A padded step stays
where it is: only the real steps of a sequence are reversed. The fast version is
unrolled/layers/bidirectional.py.
"""
import numpy as np


def reverse_steps(A, mask):
    """Each sequence of A (m, s, ...) reversed within its real steps (all steps without a mask)."""
    out = A.copy()
    for i in range(A.shape[0]):
        real = np.arange(A.shape[1]) if mask is None else np.flatnonzero(mask[i])
        out[i, real] = A[i, real[::-1]]
    return out


def bidirectional_forward(X, p_forward, p_backward, cell, mask=None, merge="concat",
                          sequences=False, forward_options=None, backward_options=None):
    """Returns the wrapper's fc and the two inner caches; ``*_options`` are the inner
    references' keyword arguments (dropout masks)."""
    forward_cell = cell[0]
    X_rev = reverse_steps(X, mask)                                            # (B1)
    fc_f = forward_cell(X, p_forward, mask=mask, sequences=sequences, **(forward_options or {}))
    fc_b = forward_cell(X_rev, p_backward, mask=mask, sequences=sequences,    # (B2)
                        **(backward_options or {}))
    H_f = fc_f["A"]
    H_b = reverse_steps(fc_b["A"], mask) if sequences else fc_b["A"]          # (B2)
    if merge == "concat":
        A = np.concatenate([H_f, H_b], axis=-1)                               # (B3)
    elif merge == "sum":
        A = H_f + H_b                                                         # (B3)
    else:
        A = (H_f + H_b) / 2                                                   # (B3)
    return {"X": X, "A": A, "mask": mask}, fc_f, fc_b


def bidirectional_backward(fc, fc_f, fc_b, p_forward, p_backward, cell, dA, merge="concat"):
    """Returns the wrapper's bc and g (keys ``dforward.U``...) and the two inner bc."""
    backward_cell, u = cell[1], p_forward["V"].shape[0]
    sequences = fc["A"].ndim == 3
    if merge == "concat":
        dH_f, dH_b = dA[..., :u], dA[..., u:]                                 # (B4)
    elif merge == "sum":
        dH_f, dH_b = dA, dA                                                   # (B4)
    else:
        dH_f, dH_b = dA / 2, dA / 2                                           # (B4)
    if sequences:
        dH_b = reverse_steps(dH_b, fc["mask"])                                # (B4)
    bc_f, g_f = backward_cell(fc_f, p_forward, dH_f)
    bc_b, g_b = backward_cell(fc_b, p_backward, dH_b)
    dX = bc_f["dX"] + reverse_steps(bc_b["dX"], fc["mask"])                   # (B5)
    g = {f"dforward.{k[1:]}": v for k, v in g_f.items()}
    g.update({f"dbackward.{k[1:]}": v for k, v in g_b.items()})
    return {"dA": dA, "dX": dX}, g, bc_f, bc_b
