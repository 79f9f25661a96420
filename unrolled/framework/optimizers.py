"""Optimizers: objects that update ``layer.p`` in place from ``layer.g``.

An optimizer holds per-parameter state keyed by ``(layer.name, parameter name)`` and is called by
``Layer.update_parameters`` once per parameter, after every layer's gradients are computed and
clipped. Learning rate: ``optimizer.lr`` (set each epoch by the model's schedule); a layer with its
own ``lr`` uses ``layer.lr * optimizer.lr / optimizer.base_lr`` so that it follows the schedule.
"""
import numpy as np


class Optimizer:
    """Base class. Subclasses implement ``_update(p, g, lr, state)`` in place."""

    name = "optimizer"

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be > 0, got {lr!r}")
        self.lr = float(lr)
        self.base_lr = float(lr)
        self.state = {}
        self.iterations = 0

    def layer_lr(self, layer):
        if layer.lr is None:
            return self.lr
        return layer.lr * (self.lr / self.base_lr)

    def update(self, layer, name):
        key = (layer.name, name)
        self._update(layer.p[name], layer.g["d" + name], self.layer_lr(layer),
                     self.state.setdefault(key, {}))

    def step(self, layers):
        for layer in layers:
            layer.update_parameters(self)
        self.iterations += 1

    def _update(self, p, g, lr, state):
        raise NotImplementedError

    def config(self):
        return {"lr": self.base_lr}

    def state_arrays(self):
        """Flat ``{"layer/param/slot": array}`` view of the state (for saving)."""
        out = {}
        for (layer, param), slots in self.state.items():
            for slot, value in slots.items():
                out[f"{layer}/{param}/{slot}"] = np.asarray(value)
        return out

    def load_state_arrays(self, arrays):
        self.state = {}
        for key, value in arrays.items():
            layer, param, slot = key.split("/")
            self.state.setdefault((layer, param), {})[slot] = (
                value.copy() if value.ndim else value.item())

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({params})"


class SGD(Optimizer):
    """Stochastic gradient descent, the update rule of ``torch.optim.SGD``::

        g = g + weight_decay * p
        b = momentum * b + (1 - dampening) * g      (b = g on the first step)
        g = g + momentum * b  if nesterov  else  b  (when momentum > 0)
        p = p - lr * g
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, "
                             f"got {momentum!r}, {weight_decay!r}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.nesterov, self.weight_decay = bool(nesterov), float(weight_decay)

    def _update(self, p, g, lr, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= lr * g

    def config(self):
        return {"lr": self.base_lr, "momentum": self.momentum, "dampening": self.dampening,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}


OPTIMIZERS = {"sgd": SGD}


def get_optimizer(spec):
    """An Optimizer from a name (default settings) or an instance."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key not in OPTIMIZERS:
            raise ValueError(f"model: unknown optimizer {spec!r}; valid names: "
                             f"{', '.join(sorted(OPTIMIZERS))}")
        return OPTIMIZERS[key]()
    raise TypeError(f"model: optimizer must be a name or an Optimizer, got {type(spec).__name__}")
