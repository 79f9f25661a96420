"""Finite-difference gradient check: the proof that a layer's backward pass is exact.

``gradcheck(model_or_layer, X, Y=None)`` compares every analytic gradient (each parameter, the
input ``X`` and any extra input such as an initial state ``h0``) with central differences::

    dL/dθ_i ≈ (L(θ + ε e_i) - L(θ - ε e_i)) / (2 ε)

computed in float64, and returns, for each array, the worst error relative to that array's scale::

    error = max_i |analytic_i - numeric_i| / max(max_i |analytic_i|, max_i |numeric_i|)

A correct float64 implementation scores around 1e-9 to 1e-11; an error above 1e-6 means the
backward pass is wrong (or the function is not differentiable at that point, e.g. a ReLU kink).

For a single layer the objective is ``L = sum(R * layer(X)) + penalties`` with a fixed random
probe ``R``, so ``dL/dA = R`` exercises every output. ``R`` comes from its own stream,
``SeedSequence(seed, spawn_key=PROBE_STREAM)``, never the one ``default_rng(seed)`` gives: an
input drawn as ``default_rng(0).standard_normal(shape)`` would otherwise *equal* the probe when
the output has the input's shape, and for a scale-invariant layer (``A = X / |X|``) the gradient
at ``R = X`` is zero, so the check compares rounding noise with rounding noise (a false alarm). For a model it is the model's own loss.
Random generators of the layers (dropout masks) are rewound before every evaluation, so the
function being differentiated stays the same.
"""
import numpy as np

from .layer import Layer
from .model import Model


#: spawn key of the probe's random stream (the bytes of "grad"): independent of default_rng(seed)
PROBE_STREAM = (0x67726164,)


def probe(shape, seed=0):
    """The random output weights ``R`` of a layer check: standard normal, from the probe stream."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=PROBE_STREAM))
    return rng.standard_normal(shape)


class GradcheckResult(dict):
    """``{array name: worst relative error}`` with ``worst`` and a readable table."""

    @property
    def worst(self):
        return max(self.values()) if self else 0.0

    def __repr__(self):
        width = max((len(k) for k in self), default=5)
        rows = [f"{k:<{width}}  {v:.2e}" for k, v in self.items()]
        return "\n".join(rows + [f"{'worst':<{width}}  {self.worst:.2e}"])


def relative_error(analytic, numeric):
    scale = max(float(np.max(np.abs(analytic), initial=0.0)),
                float(np.max(np.abs(numeric), initial=0.0)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric))) / scale


def _numeric(f, arr, eps):
    """Central differences of the scalar function f() with respect to every element of arr."""
    if not arr.flags.c_contiguous:      # reshape(-1) would copy: the nudges would be lost
        raise ValueError("gradcheck: arrays to perturb must be C-contiguous")
    grad = np.zeros(arr.shape, dtype=arr.dtype)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2.0 * eps)
    return grad


def _frozen_rngs(layers):
    states = [(layer, layer.rng.bit_generator.state) for layer in layers if layer.rng is not None]

    def rewind():
        for layer, state in states:
            layer.rng.bit_generator.state = state
    return rewind


def gradcheck(target, X, Y=None, eps=1e-6, mask=None, inputs=None, seed=0, check_input=True,
              sample_weight=None):
    """Worst relative error of every gradient of ``target`` (a Model or a Layer) at input ``X``.

    Parameters
    ----------
    target : Model or Layer
        Must use float64.
    X : array
        Input (converted to float64).
    Y : array, optional
        Targets (models only).
    eps : float
        Finite-difference step.
    mask : bool array (m, s), optional
        Passed to the forward pass (variable-length sequences).
    inputs : dict, optional
        Extra forward arrays of a layer, e.g. ``{"h0": h0}``; the analytic gradient of each is read
        from ``layer.bc["d" + name]``.
    seed : int
        Seed of the random output weights ``R`` for a layer (see :func:`probe`).
    check_input : bool
        Also check dL/dX.
    sample_weight : array (m,), optional
        Models only: per-sample weights of the loss, as ``Model.train(sample_weight=...)``.

    Returns
    -------
    GradcheckResult
        ``{"<layer>.<param>": err, ..., "X": err, "<input>": err}``.
    """
    # C order: the inputs are perturbed through flat views (a view of time-major memory, such as
    # a recurrent layer's fc["h"], would otherwise keep its layout and be copied by reshape)
    inputs = {k: np.array(v, dtype=np.float64, order="C") for k, v in (inputs or {}).items()}
    X = np.array(X, dtype=np.float64, order="C")
    if isinstance(target, Model):
        if target.dtype != np.float64:
            raise ValueError(f"gradcheck: needs a float64 model, got dtype {target.dtype}")
        X, Y, mask = target._prepare(X, Y, mask)
        layers = target.layers
        first_flag = layers[0].input_gradient
        layers[0].input_gradient = check_input
        rewind = _frozen_rngs(layers)

        weights = {} if sample_weight is None else {
            "sample_weight": target._sample_weight(sample_weight, X.shape[0], "gradcheck")}

        def objective():
            rewind()
            return target.loss_at(X, Y, mask, **weights)

        rewind()
        target.compute_loss_and_gradients(X, Y, mask, **weights)
        dX = layers[0].bc.get("dX")
        layers[0].input_gradient = first_flag
    elif isinstance(target, Layer):
        layer, layers = target, [target]
        if layer.dtype is None:
            layer.dtype = np.dtype(np.float64)
        if layer.dtype != np.float64:
            raise ValueError(f"gradcheck: {layer.label} must use float64, got {layer.dtype}")
        kwargs = dict(inputs)
        if mask is not None:
            kwargs["mask"] = mask
        layer.training = True
        rewind = _frozen_rngs(layers)
        rewind()
        A = layer(X, **kwargs)
        if sample_weight is not None:
            raise ValueError("gradcheck: sample_weight applies to a Model's loss, not to a layer")
        R = probe(A.shape, seed)

        def objective():
            rewind()
            return float(np.sum(R * layer(X, **kwargs))) + layer.penalty()

        rewind()
        layer(X, **kwargs)
        dX = layer.backward(R.copy())
        layer.compute_gradients()
        layer.add_penalty_gradients()
    else:
        raise TypeError(f"gradcheck: target must be a Model or a Layer, got {type(target).__name__}")

    def trained(layer):
        """The parameters training changes: all of a trainable layer's, except those a composite
        says are frozen (a frozen inner layer's, which get no gradient)."""
        if not layer.trainable:
            return []
        names = getattr(layer, "trainable_parameters", None)
        return [k for k in layer.p if names is None or k in names()]

    analytic = {f"{l.name or type(l).__name__}.{k}": l.g["d" + k].copy()
                for l in layers for k in trained(l)}
    params = {f"{l.name or type(l).__name__}.{k}": l.p[k] for l in layers for k in trained(l)}
    extra = {}
    if check_input:
        if dX is None:
            raise ValueError("gradcheck: the first layer did not return dL/dX from backward")
        extra["X"] = (X, np.array(dX, dtype=np.float64))
    for name, arr in inputs.items():
        grad = layers[0].bc.get("d" + name)
        if grad is None:
            raise ValueError(f"gradcheck: {layers[0].label} has no bc['d{name}'] after backward")
        extra[name] = (arr, np.array(grad, dtype=np.float64))

    result = GradcheckResult()
    for key, p in params.items():
        result[key] = relative_error(analytic[key], _numeric(objective, p, eps))
    for key, (arr, grad) in extra.items():
        result[key] = relative_error(grad, _numeric(objective, arr, eps))
    return result
