"""Porting from EpyNN 1.2.13: its weights and its training settings, converted exactly.

EpyNN and unrolled compute the same layers (same equations, same parameter layout ``X W + b``),
but they train with different conventions. :func:`from_epynn_settings` converts EpyNN's
hyper-parameters into the unrolled ones that make training identical, and :func:`copy_weights`
copies the weights of an EpyNN layer into an unrolled layer. docs/coming_from_epynn.md explains
each rule; tests/test_epynn_parity.py trains both side by side and compares the weights.

Conventions (EpyNN → unrolled)
------------------------------
* **Batch sum vs batch mean.** EpyNN's loss derivative is per sample and its parameter gradients
  sum over the batch; unrolled's losses are means (``torch``'s ``reduction="mean"``), so its
  gradients are EpyNN's divided by ``N``, the number of terms of the mean: the batch size ``m``
  for ``cce`` and for the other losses on an output of one unit; ``m * u`` for ``mse``, ``mae``,
  ``msle`` and ``bce`` on ``u`` output units, because EpyNN's per-sample value is already a mean
  over the units. An EpyNN learning rate ``lr`` is therefore an unrolled ``SGD(lr=lr * m)``
  (``m`` = the batch size, for every loss: EpyNN's own mean over the units is kept). Batches must
  all have the same size for the two to stay equal (EpyNN's last batch may be smaller: choose
  a batch size that divides the training set).
* **Softmax temperature.** EpyNN's softmax derivative is ``diag(a) - a a^T`` for any
  ``softmax_temperature`` T, where the derivative of ``softmax(z / T)`` has a further ``1 / T``:
  every EpyNN gradient is T times the exact one, so its ``lr`` is ``SGD(lr * m * T)`` here.
* **Schedules.** EpyNN computes ``lrate[epoch]`` from ``learning_rate``, ``schedule``,
  ``decay_k``, ``cycle_epochs`` and ``cycle_descent``; ``exp_decay`` is unrolled's
  ``CyclicDescent`` (one cycle of all training epochs when ``cycle_epochs`` is 0) and
  ``lin_decay`` its ``InverseTimeDecay``; ``decay_k = 0`` means ``5 / cycle_epochs`` in both.
* **Clipping.** EpyNN's ``clip_gradients=True`` (the default of its RNN) rescales a layer's
  summed gradients to a norm of at most 0.25; on unrolled's mean gradients the same step is that
  layer's ``clip_norm = 0.25 / m`` (:func:`epynn_clip_norm`). (EpyNN divides by ``norm +
  1e-16`` and adds 1e-16 to each entry before squaring it for the norm: a relative difference
  of about ``1e-16 / norm`` in each clipped step.)
* **Updates.** EpyNN updates each layer as soon as its gradients exist, inside the backward loop;
  with plain SGD this gives the same weights as unrolled's update after the whole backward pass,
  because every layer's input gradient is computed before its own update.
"""
import numpy as np

#: EpyNN parameter names of each unrolled gate block, in unrolled's gate order
GATE_PARAMETERS = {
    "LSTM": ("i", "f", "g", "o"),
    "GRU": ("r", "z", "hh"),
}

#: EpyNN's fixed per-layer clipping norm (epynn.commons.maths.clip_gradient)
EPYNN_CLIP_NORM = 0.25


def epynn_parameters(epynn_layer, kind):
    """The EpyNN layer's parameters as unrolled's ``p`` dict of layer ``kind`` (``"Dense"``,
    ``"RNN"``, ``"LSTM"``, ``"GRU"``, ``"Convolution"`` / ``"Conv2D"``, or any layer without
    parameters): gates concatenated in unrolled's order, every other array as it is."""
    p = epynn_layer.p
    if not p or kind in ("Dense", "RNN", "Conv2D", "Convolution"):
        return {name: np.array(value, dtype=np.float64) for name, value in p.items()}
    if kind not in GATE_PARAMETERS:
        raise ValueError(f"epynn_parameters: layer kind must be one of Dense, RNN, LSTM, GRU, "
                         f"Conv2D (Convolution), got {kind!r}")
    gates = GATE_PARAMETERS[kind]
    missing = sorted({f"{w}{g}" for w in "UVb" for g in gates} - set(p))
    if missing:
        raise ValueError(f"epynn_parameters: the EpyNN {kind} layer has no parameters {missing} "
                         f"(has {sorted(p)}); was it initialized?")
    return {w: np.concatenate([np.asarray(p[w + g], dtype=np.float64) for g in gates], axis=1)
            for w in "UVb"}


def copy_weights(epynn_layer, layer):
    """Copy an initialized EpyNN layer's weights into the built unrolled ``layer`` (in place).

    The unrolled layer must compute the same function: a ``GRU`` with ``reset_after=False``
    (EpyNN's GRU applies the reset gate before the recurrent product)."""
    kind = type(layer).__name__
    if kind == "GRU" and getattr(layer, "reset_after", False):
        raise ValueError(f"copy_weights: {layer.label} has reset_after=True; EpyNN's GRU is "
                         f"GRU(..., reset_after=False)")
    if not getattr(layer, "use_bias", True):
        raise ValueError(f"copy_weights: {layer.label} has use_bias=False; EpyNN's layers always "
                         f"have a bias (build the layer with use_bias=True)")
    values = epynn_parameters(epynn_layer, kind)
    if not layer.initialized:
        raise ValueError(f"copy_weights: build {layer.label} first (layer(X) or model.build(X))")
    for name, value in values.items():
        if name not in layer.p or layer.p[name].shape != value.shape:
            have = {k: v.shape for k, v in layer.p.items()}
            raise ValueError(f"copy_weights: {layer.label} parameter {name} has shape "
                             f"{have.get(name)}, the EpyNN layer's {value.shape}")
        layer.p[name][...] = value
    return layer


def epynn_clip_norm(batch_size, temperature=1.0):
    """The layer ``clip_norm`` that clips unrolled's mean gradients as EpyNN's
    ``clip_gradients=True`` clips its summed ones: ``0.25 / (batch_size * temperature)``."""
    return EPYNN_CLIP_NORM / (batch_size * temperature)


def from_epynn_settings(se_hPars, batch_size, epochs):
    """unrolled ``Model`` keyword arguments equal to EpyNN's training settings.

    Parameters
    ----------
    se_hPars : dict
        EpyNN's hyper-parameters (``epynn.settings.se_hPars`` or a copy): ``learning_rate``,
        ``schedule`` (``steady``, ``exp_decay``, ``lin_decay``), ``decay_k``, ``cycle_epochs``,
        ``cycle_descent``.
    batch_size : int
        The batch size of EpyNN's ``Embedding``; every batch must have this size.
    epochs : int
        The epochs of EpyNN's ``model.train``, on which its schedules depend.

    Returns
    -------
    dict
        ``{"optimizer": SGD(...), "schedule": ...}``. EpyNN's per-layer ``clip_gradients``
        becomes ``clip_norm=epynn_clip_norm(batch_size)`` on those layers.
    """
    from ..framework.optimizers import SGD
    from ..framework.schedules import CyclicDescent, InverseTimeDecay, Steady

    for name in ("learning_rate", "schedule"):
        if name not in se_hPars:
            raise ValueError(f"from_epynn_settings: se_hPars has no {name!r} (keys: {sorted(se_hPars)})")
    for name, value in (("batch_size", batch_size), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"from_epynn_settings: {name} must be a positive integer, got {value!r}")
    # EpyNN's softmax derivative leaves out 1/T, so all its gradients are T times the exact ones
    scale = batch_size * float(se_hPars.get("softmax_temperature") or 1.0)
    lr = float(se_hPars["learning_rate"])
    cycle_epochs = int(se_hPars.get("cycle_epochs") or 0) or int(epochs)
    decay_k = float(se_hPars.get("decay_k") or 0) or 5.0 / cycle_epochs
    schedule = se_hPars["schedule"]
    if schedule == "steady":
        made = Steady()
    elif schedule == "exp_decay":
        made = CyclicDescent(cycle_epochs=cycle_epochs, decay_k=decay_k,
                             cycle_descent=float(se_hPars.get("cycle_descent") or 0.0))
    elif schedule == "lin_decay":
        made = InverseTimeDecay(rate=100.0 * decay_k)
    else:
        raise ValueError(f"from_epynn_settings: schedule must be 'steady', 'exp_decay' or "
                         f"'lin_decay', got {schedule!r}")
    return {"optimizer": SGD(lr=lr * scale), "schedule": made}
