"""Dense, the readable way: the equations of docs/layers/dense.md, one statement each.

Written for a student who knows NumPy and the chain rule: arrays in, new arrays out, no buffers
reused, no views, no ``out=``. Every activation is written from its definition as a function of
the pre-activation ``Z`` (the fast path reads most derivatives off the output ``A`` instead), and
the softmax goes through its full Jacobian (the fast path never builds it).

``unrolled.layers.Dense`` computes the same numbers faster; ``tests/test_reference_layers.py``
proves them equal entry by entry. Nothing here is called by ``Model``.
"""
import numpy as np

#: the self-normalizing constants of Klambauer et al. (2017)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def activation(name, Z, alpha=None, beta=1.0, slope=1.0 / 6.0, temperature=1.0):
    """``act(Z)`` for every activation the layer accepts (parameters as in its ``config()``)."""
    if name == "identity":
        return Z
    if name == "sigmoid":
        return sigmoid(Z)
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.where(Z > 0, Z, 0.0)
    if name == "leaky_relu":
        return np.where(Z > 0, Z, alpha * Z)
    if name == "elu":
        return np.where(Z > 0, Z, alpha * (np.exp(Z) - 1.0))
    if name == "selu":
        return SELU_SCALE * np.where(Z > 0, Z, SELU_ALPHA * (np.exp(Z) - 1.0))
    if name == "swish":
        return Z * sigmoid(beta * Z)
    if name == "gompertz":
        return np.exp(-np.exp(-Z))
    if name == "softplus":
        return np.log(1.0 + np.exp(Z))
    if name == "hard_sigmoid":
        return np.clip(slope * Z + 0.5, 0.0, 1.0)
    if name == "softmax":
        E = np.exp(Z / temperature - np.max(Z / temperature, axis=-1, keepdims=True))
        return E / np.sum(E, axis=-1, keepdims=True)
    raise ValueError(f"unknown activation {name!r}")


def derivative(name, Z, alpha=None, beta=1.0, slope=1.0 / 6.0, temperature=1.0):
    """``act'(Z)``, elementwise, for every activation but the softmax (see softmax_jacobian)."""
    if name == "identity":
        return np.ones_like(Z)
    if name == "sigmoid":
        return sigmoid(Z) * (1.0 - sigmoid(Z))
    if name == "tanh":
        return 1.0 - np.tanh(Z) ** 2
    if name == "relu":
        return np.where(Z > 0, 1.0, 0.0)
    if name == "leaky_relu":
        return np.where(Z > 0, 1.0, alpha)
    if name == "elu":
        return np.where(Z > 0, 1.0, alpha * np.exp(Z))
    if name == "selu":
        return SELU_SCALE * np.where(Z > 0, 1.0, SELU_ALPHA * np.exp(Z))
    if name == "swish":
        return sigmoid(beta * Z) + beta * Z * sigmoid(beta * Z) * (1.0 - sigmoid(beta * Z))
    if name == "gompertz":
        return np.exp(-Z) * np.exp(-np.exp(-Z))
    if name == "softplus":
        return sigmoid(Z)
    if name == "hard_sigmoid":
        return np.where(np.abs(slope * Z) < 0.5, slope, 0.0)
    raise ValueError(f"no elementwise derivative for activation {name!r}")


def softmax_jacobian(A, temperature=1.0):
    """``J[..., j, k] = dA_j / dZ_k`` of ``A = softmax(Z / T)``, one ``(u, u)`` matrix per row."""
    identity = np.eye(A.shape[-1])
    return A[..., :, None] * (identity - A[..., None, :]) / temperature    # (D7)


def dense_forward(X, W, b, name="identity", **params):
    """Forward pass: returns ``fc`` with ``X``, ``Z``, ``A``. ``X`` is (m, n) or (m, s, n)."""
    Z = X @ W + b                                    # (D1) b broadcasts over samples (and steps)
    A = activation(name, Z, **params)                # (D2)
    return {"X": X, "Z": Z, "A": A}


def dense_backward(fc, W, dA, name="identity", fused_output=False, **params):
    """Backward pass from ``fc`` and ``dA = dL/dA``: returns ``(bc, g)``, the layer's dictionaries.

    ``fused_output``: the loss already handed over ``dL/dZ`` (softmax or sigmoid output with
    cross-entropy), so ``dA`` is ``dZ``."""
    X, Z, A = fc["X"], fc["Z"], fc["A"]
    if fused_output:
        dZ = dA                                                  # (D3) given by the loss
    elif name == "softmax":
        J = softmax_jacobian(A, params.get("temperature", 1.0))  # (D7)
        dZ = np.einsum("...j,...jk->...k", dA, J)                # (D3) dZ_k = sum_j dA_j dA_j/dZ_k
    else:
        dZ = derivative(name, Z, **params) * dA                  # (D3)
    dX = dZ @ W.T                                                # (D4)
    X_rows = X.reshape(-1, X.shape[-1])          # every sample (and step) is one row
    dZ_rows = dZ.reshape(-1, dZ.shape[-1])
    dW = X_rows.T @ dZ_rows                                      # (D5) sum over rows of x^T dz
    db = dZ_rows.sum(axis=0, keepdims=True)                      # (D6)
    return {"dA": dA, "dZ": dZ, "dX": dX}, {"dW": dW, "db": db}
