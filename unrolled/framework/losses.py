"""Loss functions with PyTorch's ``reduction="mean"`` and matching gradients.

Shapes: the output ``A`` is ``(m, n)`` or, for sequence outputs, ``(m, s, n)``; ``Y`` has the same
shape (``scce``: integer labels of shape ``A.shape[:-1]``). An optional boolean ``mask`` of shape
``A.shape[:-1]`` (True on real samples / steps) removes padded positions from the loss and its
gradient; an optional ``sample_weight`` of shape ``(m,)`` multiplies each sample's terms (the
count N below stays the same).

Reductions (N is the count over which the mean is taken):

* mse, mae, msle, bce: mean over every output element, ``N = m * s * n`` (real positions only);
* cce, scce: per-position cross-entropy summed over classes, mean over ``N = m * s`` positions.

The gradient ``dL/dA`` is divided by the same N, so the learning rate does not depend on the batch
size. When the output activation is softmax (cce, scce) or sigmoid (bce) the model asks for the
*fused* gradient with respect to the pre-activation instead: ``dL/dZ = (A - Y) / (T N)``, which is
exact, cheap and free of the ``1/A`` of the unfused path; the fused loss value is computed from the
logits with ``log_softmax`` / ``logaddexp`` so that large logits never give ``log(0)``.

Accepted targets (the model refuses others with an error naming the range), and for each of them
the gradient is the exact derivative of the reported value (checked by finite differences in
tests/test_hostile_api.py):

======  =====================================================================================
mse     any finite real targets
mae     any finite real targets (at ``A == Y`` the subgradient 0 is used)
msle    targets > -1 (``log1p(Y)`` is undefined below); outputs must be > -1 as well
bce     targets in [0, 1], soft ones included (the minimum of the loss is then above 0)
cce     targets in [0, 1], rows need not sum to 1: soft labels, label smoothing, multi-hot rows
        and all-zero rows (a position with an all-zero row contributes 0 to the loss and to
        its gradient, but still counts in N). With softmax the exact fused gradient is
        ``dL/dZ = (A sum_k Y_k - Y) / (T N)``, which is ``(A - Y) / (T N)`` for rows summing to 1
scce    integer labels in [0, n - 1] (whole-number floats are accepted)
======  =====================================================================================
"""
import numpy as np
from scipy.special import log_softmax, xlogy

from .registry import lookup

def _mask_weights(A, mask, sample_weight=None):
    """(weights broadcastable to A or None, number of real positions). ``sample_weight`` (m,)
    scales each sample's positions and leaves the count alone: weights of 1 change nothing."""
    positions = int(np.prod(A.shape[:-1])) if mask is None else int(mask.sum())
    w = None if mask is None else mask.astype(A.dtype)[..., None]
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=A.dtype).reshape((-1,) + (1,) * (A.ndim - 1))
        w = sw if w is None else w * sw
    return w, positions


class Loss:
    """Base class: ``value(A, Y, mask)`` -> float, ``gradient(A, Y, mask)`` -> dL/dA."""

    name = "loss"
    per_element = True         # mean over elements (True) or over positions (False)
    fuses_with = ()            # output activations with a fused gradient dL/dZ = (A - Y) / N
    requires_activation = None  # tuple of output activation names the loss is defined for
    integer_targets = False
    target_range = (None, None)   # (low, high) of the targets the model accepts
    target_low_open = False       # True: targets must be > low (msle)

    def _count(self, A, mask, sample_weight=None):
        w, positions = _mask_weights(A, mask, sample_weight)
        n = positions * A.shape[-1] if self.per_element else positions
        return w, max(n, 1)

    def check_output(self, activation_name, owner="model"):
        if self.requires_activation and activation_name not in self.requires_activation:
            raise ValueError(
                f"{owner}: loss {self.name!r} needs an output activation in "
                f"{self.requires_activation}, but the last layer's activation is "
                f"{activation_name!r}")

    def elementwise(self, A, Y):
        raise NotImplementedError

    def elementwise_grad(self, A, Y):
        raise NotImplementedError

    def value(self, A, Y, mask=None, sample_weight=None):
        w, n = self._count(A, mask, sample_weight)
        e = self.elementwise(A, Y)
        return float(np.sum(e if w is None else e * w) / n)

    def gradient(self, A, Y, mask=None, sample_weight=None):
        w, n = self._count(A, mask, sample_weight)
        g = self.elementwise_grad(A, Y)
        g /= n
        return g if w is None else g * w

    # Fused with the output activation (softmax + cross-entropy, sigmoid + binary cross-entropy)
    def fused_value(self, Z, Y, activation, mask=None, sample_weight=None):
        raise NotImplementedError

    def fused_gradient(self, A, Y, activation, mask=None, sample_weight=None):
        """dL/dZ for the output pre-activation Z, given A = activation(Z)."""
        w, n = self._count(A, mask, sample_weight)
        dZ = (A - self._dense_targets(A, Y))
        dZ /= n * getattr(activation, "temperature", 1.0)
        return dZ if w is None else dZ * w

    def _dense_targets(self, A, Y):
        return Y

    def config(self):
        return {}


class MSE(Loss):
    """L = mean((A - Y)^2)"""
    name = "mse"

    def elementwise(self, A, Y):
        return (A - Y) ** 2

    def elementwise_grad(self, A, Y):
        return 2.0 * (A - Y)


class MAE(Loss):
    """L = mean(abs(A - Y));  dL/dA = sign(A - Y) / N (0 at the kink)"""
    name = "mae"

    def elementwise(self, A, Y):
        return np.abs(A - Y)

    def elementwise_grad(self, A, Y):
        return np.sign(A - Y)


class MSLE(Loss):
    """L = mean((log(1 + A) - log(1 + Y))^2); outputs and targets must be > -1 (the model
    refuses targets <= -1, the loss refuses outputs <= -1)."""
    name = "msle"
    target_range = (-1, None)
    target_low_open = True

    def elementwise(self, A, Y):
        if np.any(A <= -1):
            raise ValueError("msle: every output must be > -1 (log1p is undefined below); "
                             "use a non-negative output activation such as softplus or relu")
        return (np.log1p(A) - np.log1p(Y)) ** 2

    def elementwise_grad(self, A, Y):
        return 2.0 * (np.log1p(A) - np.log1p(Y)) / (1.0 + A)


class BCE(Loss):
    """L = -mean(Y log A + (1 - Y) log(1 - A)); A in (0, 1). Fused with sigmoid:
    value from logits as mean(logaddexp(0, Z) - Y Z), gradient dL/dZ = (A - Y) / N.

    Targets: any values in [0, 1] (soft targets too; the fused gradient is exact for them).
    Unfused, A is clipped to [eps, 1 - eps] in the value; where the clip is active the value
    does not change with A, so the gradient there is 0."""
    name = "bce"
    fuses_with = ("sigmoid",)
    requires_activation = ("sigmoid", "hard_sigmoid", "softmax")
    target_range = (0, 1)

    @staticmethod
    def _clip(A):
        eps = np.finfo(A.dtype).eps
        return np.clip(A, eps, 1.0 - eps)

    def elementwise(self, A, Y):
        A = self._clip(A)
        return -(xlogy(Y, A) + xlogy(1.0 - Y, 1.0 - A))

    def elementwise_grad(self, A, Y):
        Ac = self._clip(A)
        g = (Ac - Y) / (Ac * (1.0 - Ac))
        g[Ac != A] = 0.0        # the clipped value is flat there
        return g

    def fused_value(self, Z, Y, activation, mask=None, sample_weight=None):
        w, n = self._count(Z, mask, sample_weight)
        e = np.logaddexp(0.0, Z) - Y * Z
        return float(np.sum(e if w is None else e * w) / n)


class CCE(Loss):
    """L = -mean over positions of sum_k Y_k log A_k; A a probability vector (softmax output).
    Fused with softmax(Z / T): value from log_softmax(Z / T), gradient
    dL/dZ = (A sum_k Y_k - Y) / (T N).

    Targets: values in [0, 1] whose rows need not sum to 1 (soft labels, label smoothing,
    multi-hot, all-zero rows). Since d/dZ_j of -sum_k Y_k log softmax(Z)_k is
    A_j sum_k Y_k - Y_j, the usual (A - Y) is exact only for rows summing to 1; the row sum
    makes it exact for every accepted target (an all-zero row gives value and gradient 0)."""
    name = "cce"
    per_element = False
    fuses_with = ("softmax",)
    requires_activation = ("softmax",)
    target_range = (0, 1)

    def elementwise(self, A, Y):
        tiny = np.finfo(A.dtype).tiny
        return -np.sum(xlogy(Y, np.maximum(A, tiny)), axis=-1, keepdims=True)

    def elementwise_grad(self, A, Y):
        tiny = np.finfo(A.dtype).tiny
        return np.where(A >= tiny, -Y / np.maximum(A, tiny), 0.0)   # flat where A is floored

    def fused_gradient(self, A, Y, activation, mask=None, sample_weight=None):
        w, n = self._count(A, mask, sample_weight)
        Y = self._dense_targets(A, Y)
        dZ = A * Y.sum(axis=-1, keepdims=True)                      # A sum_k Y_k
        dZ -= Y
        dZ /= n * getattr(activation, "temperature", 1.0)
        return dZ if w is None else dZ * w

    def value(self, A, Y, mask=None, sample_weight=None):
        return super().value(A, self._dense_targets(A, Y), mask, sample_weight)

    def gradient(self, A, Y, mask=None, sample_weight=None):
        return super().gradient(A, self._dense_targets(A, Y), mask, sample_weight)

    def fused_value(self, Z, Y, activation, mask=None, sample_weight=None):
        w, n = self._count(Z, mask, sample_weight)
        logp = log_softmax(Z / getattr(activation, "temperature", 1.0), axis=-1)
        e = -np.sum(self._dense_targets(Z, Y) * logp, axis=-1, keepdims=True)
        return float(np.sum(e if w is None else e * w) / n)


class SparseCCE(CCE):
    """Categorical cross-entropy with integer class labels ``Y`` of shape ``A.shape[:-1]``
    (each a one-hot row: the fused gradient is (A - Y) / (T N))."""
    name = "scce"
    integer_targets = True
    target_range = (None, None)

    def fused_gradient(self, A, Y, activation, mask=None, sample_weight=None):
        return Loss.fused_gradient(self, A, Y, activation, mask, sample_weight)

    def _dense_targets(self, A, Y):
        labels = np.asarray(Y)
        n_classes = A.shape[-1]
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= n_classes:
            raise ValueError(f"scce: labels must lie in [0, {n_classes - 1}] for an output of "
                             f"width {n_classes}, got values in [{labels.min()}, {labels.max()}]")
        dense = np.zeros(A.shape, dtype=A.dtype)
        np.put_along_axis(dense, labels.astype(np.intp)[..., None], 1.0, axis=-1)
        return dense


LOSSES = {cls.name: cls for cls in (MSE, MAE, MSLE, BCE, CCE, SparseCCE)}
ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae",
           "mean_squared_logarithmic_error": "msle", "binary_crossentropy": "bce",
           "categorical_crossentropy": "cce", "sparse_categorical_crossentropy": "scce",
           "sparse_cce": "scce", "cce_int": "scce"}


def get_loss(spec):
    """A Loss from a name or an instance; unknown names list the valid ones."""
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, str):
        return lookup("loss", spec, LOSSES, ALIASES)[1]()
    raise TypeError(f"model: loss must be a name or a Loss instance, got {type(spec).__name__}")
