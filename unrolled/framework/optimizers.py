"""Optimizers: objects that update ``layer.p`` in place from ``layer.g``.

An optimizer holds per-parameter state keyed by ``(layer.name, parameter name)`` and is called by
``Layer.update_parameters`` once per parameter, after every layer's gradients are computed and
clipped. Learning rate: ``optimizer.lr`` (set each epoch by the model's schedule); a layer with its
own ``lr`` uses ``layer.lr * optimizer.lr / optimizer.base_lr`` so that it follows the schedule.

Every optimizer applies exactly the update rule of the ``torch.optim`` class of the same name (the
single-tensor code path, with PyTorch's argument names and defaults); each docstring states it.
Notation: ``p`` parameter, ``g`` its gradient (after clipping), ``t`` the step count of that
parameter (1 on its first update), ``lr`` the learning rate of its layer for the current epoch.

State arrays are created with the parameter's dtype and updated in place, so a float32 model keeps
float32 state; scalars (step counts, bias corrections) are Python numbers. The step count of every
parameter is part of its state (``state[key]["step"]``), so ``state_arrays()`` /
``load_state_arrays()`` resume an optimizer exactly.
"""
import numpy as np

from . import checks
from .registry import lookup

class Optimizer:
    """Base class. Subclasses implement ``_update(p, g, lr, state)`` in place."""

    name = "optimizer"

    def __init__(self, lr, **unknown):
        if unknown:      # learning_rate=, beta_1=, epsilon=... get a suggestion
            raise checks.unknown_arguments(type(self).__name__, type(self), unknown)
        self.lr = self.base_lr = checks.number(type(self).__name__, "lr", lr, low=0, low_open=True)
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

    block = 1 << 16       # elements per block of add_scaled_

    def add_scaled_(self, a, alpha, x):
        """In place ``a += alpha * x``; a parameter larger than ``block`` goes a block at a time
        through a reused work array (not state: never saved).

        The same arithmetic as ``a += alpha * x`` without its parameter-sized temporary: the SGD
        update of a 784 x 256 float64 weight (bench MLP) took 160 instead of 225 us here, and the
        step allocates no parameter-sized array (bench/README.md, memory table). ``alpha`` is
        taken as a Python float, so both paths compute in the parameter's dtype (as torch's
        ``p.add_(g, alpha=-lr)``), whatever the type of a layer's ``lr``."""
        alpha = float(alpha)
        if not a.flags.c_contiguous or a.size <= self.block:
            a += alpha * x
            return a
        work = getattr(self, "_work", None)
        if work is None or work.dtype != a.dtype:
            work = self._work = np.empty(self.block, dtype=a.dtype)
        af, xf = a.reshape(-1), x.reshape(-1)     # af: a view (a is contiguous)
        n, k = af.size, work.size
        for i in range(0, n, k):
            j = min(n, i + k)
            af[i:j] += np.multiply(xf[i:j], alpha, out=work[:j - i])
        return a

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

    def slots(self):
        """Names of the state slots kept for every parameter the optimizer has updated (``step``
        included): a loaded state must hold exactly these. None (a subclass that does not say)
        accepts any slot names, still checked for shape, dtype and finiteness."""
        return None

    def load_state_arrays(self, arrays, params=None):
        """Restore ``state_arrays()``. With ``params`` (``{(layer, param): array}``) every value
        is checked first and one ValueError names the entry: each parameter with state has
        exactly the optimizer's slots, arrays of its parameter's shape and dtype and finite,
        ``step`` a non-negative integer."""
        state = {}
        for key, value in arrays.items():
            parts = key.split("/")
            if len(parts) != 3 or not all(parts):
                raise ValueError(f"bad optimizer state entry {key!r} (expected 'layer/param/slot')")
            layer, param, slot = parts
            value = np.asarray(value)
            if params is not None:
                value = self._checked_slot(key, slot, value, params.get((layer, param)))
            state.setdefault((layer, param), {})[slot] = value.copy() if value.ndim else value.item()
        expected = self.slots()
        if params is not None and expected is not None:
            for (layer, param), slots in state.items():
                if set(slots) != set(expected):
                    raise ValueError(f"{type(self).__name__} keeps the slots {sorted(expected)} for "
                                     f"each parameter, the state of {layer}/{param} has "
                                     f"{sorted(slots)}")
        self.state = state

    @staticmethod
    def _checked_slot(key, slot, value, target):
        if target is None:
            raise ValueError(f"entry {key!r} refers to no parameter of the model")
        if slot == "step":
            if value.ndim or value.dtype.kind not in "iu" or int(value) < 0:
                raise ValueError(f"entry {key!r}: a step count is a non-negative integer scalar, "
                                 f"got {value.dtype} of shape {value.shape} = {value.ravel()[:1]}")
            return value
        if value.shape != target.shape or value.dtype != target.dtype:
            raise ValueError(f"entry {key!r} has shape {value.shape} and dtype {value.dtype}, its "
                             f"parameter {target.shape} and {target.dtype}")
        if not np.isfinite(value).all():
            raise ValueError(f"entry {key!r} holds non-finite values")
        return value

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({params})"


def _check(owner, **values):
    """Raise unless every value is a finite number >= 0 (TypeError for a string, a bool...)."""
    for name, value in values.items():
        checks.number(owner, name, value, low=0)


def _lerp_(a, b, w):
    """In place ``a = a + w (b - a)``, evaluated as ``torch.lerp`` does (two branches on ``w``)."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        np.subtract(b, (b - a) * (1.0 - w), out=a)
    return a


class SGD(Optimizer):
    """Stochastic gradient descent, the update rule of ``torch.optim.SGD``::

        g = g + weight_decay * p
        b = momentum * b + (1 - dampening) * g      (b = g on the first step)
        g = g + momentum * b  if nesterov  else  b  (when momentum > 0)
        p = p - lr * g

    State: ``momentum_buffer`` (when momentum > 0) and ``step``.
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                 **unknown):
        super().__init__(lr, **unknown)
        _check("SGD", momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        nesterov = checks.flag("SGD", "nesterov", nesterov)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.nesterov, self.weight_decay = bool(nesterov), float(weight_decay)

    def _update(self, p, g, lr, state):
        state["step"] = state.get("step", 0) + 1
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        self.add_scaled_(p, -lr, g)

    def slots(self):
        return ("step", "momentum_buffer") if self.momentum else ("step",)

    def config(self):
        return {"lr": self.base_lr, "momentum": self.momentum, "dampening": self.dampening,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop, the update rule of ``torch.optim.RMSprop``::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2                   (v starts at 0)
        if centered:
            a = alpha * a + (1 - alpha) * g                  (a starts at 0)
            d = sqrt(v - a**2) + eps
        else:
            d = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / d                         (b starts at 0)
            p = p - lr * b
        else:
            p = p - lr * g / d

    State: ``step``, ``square_avg`` (v), ``grad_avg`` (a, centered only), ``momentum_buffer`` (b,
    momentum > 0 only). Note that eps is added *outside* the square root, as in PyTorch (Keras adds
    it inside).
    """

    name = "rmsprop"

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, **unknown):
        super().__init__(lr, **unknown)
        _check("RMSprop", alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        self.alpha, self.eps = float(alpha), float(eps)
        self.weight_decay, self.momentum = float(weight_decay), float(momentum)
        self.centered = checks.flag("RMSprop", "centered", centered)

    def _update(self, p, g, lr, state):
        if "step" not in state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if self.momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if self.centered:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = state["square_avg"]
        v *= self.alpha
        v += (1.0 - self.alpha) * g * g
        if self.centered:
            a = _lerp_(state["grad_avg"], g, 1.0 - self.alpha)
            d = np.sqrt(v - a * a)
        else:
            d = np.sqrt(v)
        d += self.eps
        if self.momentum > 0:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g / d
            p -= lr * b
        else:
            p -= lr * g / d

    def slots(self):
        return (("step", "square_avg") + (("momentum_buffer",) if self.momentum > 0 else ())
                + (("grad_avg",) if self.centered else ()))

    def config(self):
        return {"lr": self.base_lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad, the update rule of ``torch.optim.Adagrad``::

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                          (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    State: ``step`` (t) and ``sum`` (s).
    """

    name = "adagrad"

    def __init__(self, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, **unknown):
        super().__init__(lr, **unknown)
        _check("Adagrad", lr_decay=lr_decay, weight_decay=weight_decay,
               initial_accumulator_value=initial_accumulator_value, eps=eps)
        self.lr_decay, self.weight_decay = float(lr_decay), float(weight_decay)
        self.initial_accumulator_value, self.eps = float(initial_accumulator_value), float(eps)

    def _update(self, p, g, lr, state):
        if "step" not in state:
            state["step"] = 0
            state["sum"] = np.full_like(p, self.initial_accumulator_value)
        state["step"] += 1
        if self.weight_decay:
            g = g + self.weight_decay * p
        clr = lr / (1 + (state["step"] - 1) * self.lr_decay)
        s = state["sum"]
        s += g * g
        std = np.sqrt(s)
        std += self.eps
        p -= clr * g / std

    def slots(self):
        return ("step", "sum")

    def config(self):
        return {"lr": self.base_lr, "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), the update rule of ``torch.optim.Adam``::

        g = g + weight_decay * p                     (L2 penalty folded into the gradient)
        m = beta1 * m + (1 - beta1) * g              (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                        (amsgrad only; v_max starts at 0)
        step_size = lr / (1 - beta1**t)
        d = sqrt(v_max or v) / sqrt(1 - beta2**t) + eps
        p = p - step_size * m / d

    State: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad only).
    """

    name = "adam"
    decoupled = False

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 **unknown):
        super().__init__(lr, **unknown)
        owner = type(self).__name__
        if not (isinstance(betas, (tuple, list, np.ndarray)) and len(betas) == 2):
            raise checks.ArgumentTypeError(f"{owner}: betas must be a pair (beta1, beta2) of "
                                           f"numbers in [0, 1), got {checks.received(betas)}")
        self.betas = tuple(checks.number(owner, f"betas[{i}]", b, low=0, high=1, high_open=True)
                           for i, b in enumerate(betas))
        _check(owner, eps=eps, weight_decay=weight_decay)
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        self.amsgrad = checks.flag(owner, "amsgrad", amsgrad)

    def _update(self, p, g, lr, state):
        beta1, beta2 = self.betas
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if self.amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if self.weight_decay:
            if self.decoupled:
                p *= 1 - lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if self.amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        d = np.sqrt(v)
        d /= bias_correction2_sqrt
        d += self.eps
        p -= step_size * m / d

    def slots(self):
        return ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def config(self):
        return {"lr": self.base_lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), the update rule of
    ``torch.optim.AdamW``: the same as :class:`Adam` except that the decay shrinks the parameter
    directly instead of entering the gradient (and so never reaches ``m`` and ``v``)::

        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                        (amsgrad only)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v_max or v) / sqrt(1 - beta2**t) + eps)
    """

    name = "adamw"
    decoupled = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False,
                 **unknown):
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         **unknown)


OPTIMIZERS = {cls.name: cls for cls in (SGD, RMSprop, Adagrad, Adam, AdamW)}


def get_optimizer(spec):
    """An Optimizer from a name (default settings) or an instance."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        return lookup("optimizer", spec, OPTIMIZERS)[1]()
    raise TypeError(f"model: optimizer must be a name or an Optimizer, got {type(spec).__name__}")
