"""Gradient clipping over the gradients ``layer.g`` of a list of layers (in place).

* ``clip_global_norm``: one norm over every gradient of every layer, as
  ``torch.nn.utils.clip_grad_norm_``: if ``total > max_norm``, every gradient is scaled by
  ``max_norm / (total + 1e-6)``;
* ``clip_layer_norm``: the same, but each layer on its own (EpyNN's way);
* ``clip_value``: every gradient element clipped to ``[-value, value]``;
* ``clip_own_norm``: one layer's gradients scaled by exactly ``max_norm / norm`` when ``norm >
  max_norm`` (a layer's ``clip_norm``; EpyNN's ``clip_gradients`` on summed gradients).

Clipping runs after every layer's ``compute_gradients`` and before any ``update_parameters``:
that is why a layer never updates itself inside its backward pass.
"""
import numpy as np

from . import checks


def _grads(layers):
    return [g for layer in layers if layer.trainable for g in layer.g.values()]


def grad_norm(layers):
    """Euclidean norm of all gradients of ``layers`` taken together."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in _grads(layers))))


def _scale(grads, norm, max_norm, eps=1e-6):
    if norm > max_norm:
        factor = max_norm / (norm + eps)
        for g in grads:
            g *= factor


def clip_global_norm(layers, max_norm):
    """Scale all gradients together so their global norm is at most ``max_norm``; returns the
    norm before clipping."""
    max_norm = checks.number("clip_global_norm", "max_norm", max_norm, low=0, low_open=True)
    norm = grad_norm(layers)
    _scale(_grads(layers), norm, max_norm)
    return norm


def clip_layer_norm(layers, max_norm):
    """Clip each layer's gradients to norm ``max_norm`` on their own; returns the norms before."""
    max_norm = checks.number("clip_layer_norm", "max_norm", max_norm, low=0, low_open=True)
    norms = []
    for layer in layers:
        norm = grad_norm([layer])
        _scale(_grads([layer]), norm, max_norm)
        norms.append(norm)
    return norms


def clip_own_norm(layer, max_norm):
    """Scale one layer's gradients to norm ``max_norm`` when above it, by ``max_norm / norm``
    exactly (PyTorch's ``+ 1e-6`` guards a zero norm, which cannot exceed ``max_norm > 0``: with
    it, the step would differ from EpyNN's by about ``1e-6 / norm``); returns the norm before."""
    norm = grad_norm([layer])
    _scale(_grads([layer]), norm, max_norm, eps=0.0)
    return norm


def clip_value(layers, value):
    """Clip every gradient element to ``[-value, value]``."""
    value = checks.number("clip_value", "value", value, low=0, low_open=True)
    for g in _grads(layers):
        np.clip(g, -value, value, out=g)
