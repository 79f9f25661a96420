"""Learning-rate schedules: ``schedule(epoch, base_lr) -> lr``.

``Model`` calls its schedule at the start of every epoch with the 0-based epoch index (the number
of epochs completed so far, so resumed training continues the same sequence) and the optimizer's
``base_lr``, and sets ``optimizer.lr`` to the result. Layers with their own ``lr`` follow by the
same factor (see :mod:`unrolled.framework.optimizers`).

Every schedule is a closed-form function of ``epoch`` (no hidden state), so the learning rate of
any epoch can be computed without replaying the ones before. Notation: ``e`` epoch index
(0, 1, 2...), ``lr0`` = ``base_lr``.

====================  ===========================================================================
``Steady``            ``lr0``
``ExponentialDecay``  ``lr0 * gamma**e``  (``torch.optim.lr_scheduler.ExponentialLR``)
``LinearDecay``       ``lr0 * (start_factor + (end_factor - start_factor) * min(e, T) / T)``
                      (``LinearLR``, ``T = total_epochs``)
``StepDecay``         ``lr0 * gamma**(e // step_size)``  (``StepLR``)
``CosineAnnealing``   ``eta_min + (lr0 - eta_min) * (1 + cos(pi * e / T_max)) / 2``
                      (the closed form of ``CosineAnnealingLR``)
``CyclicDescent``     ``lr0 * (1 - cycle_descent)**(e // N) * exp(-decay_k * (e % N))``
                      (EpyNN's ``exp_decay``, ``N = cycle_epochs``)
``InverseTimeDecay``  ``lr0 / (1 + rate * e)`` (Keras' ``InverseTimeDecay``; EpyNN's
                      ``lin_decay`` with ``rate = 100 * decay_k``)
====================  ===========================================================================

Any callable with the same signature works as a schedule too; the classes here can also be saved
with the model (``config()`` rebuilds them).
"""
import math

import numpy as np

from . import checks
from .registry import lookup


def _positive_int(owner, name, value):
    return checks.positive_int(owner, name, value)


def _number(owner, name, value, low=0.0, low_open=False, high=None):
    return checks.number(owner, name, value, low=low, low_open=low_open, high=high)


def checked_rate(schedule, epoch, base_lr):
    """``schedule(epoch, base_lr)`` as a float, refused unless it is a finite number >= 0 (a
    negative rate would silently climb the loss, a NaN would destroy every parameter)."""
    owner = getattr(schedule, "__name__", None) or repr(schedule)
    value = schedule(epoch, base_lr)
    kinds = (int, float, np.integer, np.floating)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
        raise checks.ArgumentTypeError(
            f"schedule {owner} returned {checks.received(value)} at epoch {epoch} (base_lr "
            f"{base_lr}); a schedule must return a finite number >= 0")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"schedule {owner} returned the learning rate {value!r} at epoch {epoch} "
                         f"(base_lr {base_lr}); it must be a finite number >= 0")
    return float(value)


class Schedule:
    """Base class: subclasses implement ``lr(epoch, base_lr)`` and ``config()``."""

    name = "schedule"

    def __call__(self, epoch, base_lr):
        epoch = checks.number(type(self).__name__, "epoch", epoch, low=0, integer=True)
        base_lr = checks.number(type(self).__name__, "base_lr", base_lr, low=0)
        return float(self.lr(epoch, base_lr))

    def lr(self, epoch, base_lr):
        raise NotImplementedError

    def config(self):
        """Constructor arguments that rebuild this schedule."""
        return {}

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other):
        return type(self) is type(other) and self.config() == other.config()

    __hash__ = None


class Steady(Schedule):
    """A constant learning rate: ``lr = lr0``."""

    name = "steady"

    def lr(self, epoch, base_lr):
        return base_lr


class ExponentialDecay(Schedule):
    """``lr = lr0 * gamma**epoch`` (as ``torch.optim.lr_scheduler.ExponentialLR``)."""

    name = "exponential"

    def __init__(self, gamma=0.95):
        self.gamma = _number("ExponentialDecay", "gamma", gamma, low=0.0, low_open=True)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** epoch

    def config(self):
        return {"gamma": self.gamma}


class LinearDecay(Schedule):
    """A linear ramp of the factor from ``start_factor`` to ``end_factor`` over ``total_epochs``,
    then constant (as ``torch.optim.lr_scheduler.LinearLR``)::

        lr = lr0 * (start_factor + (end_factor - start_factor) * min(epoch, total_epochs) / total_epochs)

    ``end_factor`` is reached at epoch index ``total_epochs``, so with ``total_epochs`` equal to
    the number of training epochs and ``end_factor = 0`` the last epoch still has a positive lr.
    """

    name = "linear"

    def __init__(self, end_factor=0.0, total_epochs=100, start_factor=1.0):
        self.end_factor = _number("LinearDecay", "end_factor", end_factor)
        self.total_epochs = _positive_int("LinearDecay", "total_epochs", total_epochs)
        self.start_factor = _number("LinearDecay", "start_factor", start_factor)

    def lr(self, epoch, base_lr):
        frac = min(epoch, self.total_epochs) / self.total_epochs
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)

    def config(self):
        return {"end_factor": self.end_factor, "total_epochs": self.total_epochs,
                "start_factor": self.start_factor}


class StepDecay(Schedule):
    """``lr = lr0 * gamma**(epoch // step_size)`` (as ``torch.optim.lr_scheduler.StepLR``)."""

    name = "step"

    def __init__(self, step_size=10, gamma=0.1):
        self.step_size = _positive_int("StepDecay", "step_size", step_size)
        self.gamma = _number("StepDecay", "gamma", gamma, low=0.0, low_open=True)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)

    def config(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class CosineAnnealing(Schedule):
    """The closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR`` (SGDR without restarts)::

        lr = eta_min + (lr0 - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    ``lr`` reaches ``eta_min`` at ``epoch = T_max``; beyond it the cosine rises again (period
    ``2 T_max``), exactly as PyTorch's scheduler does.
    """

    name = "cosine"

    def __init__(self, T_max=100, eta_min=0.0):
        self.T_max = _positive_int("CosineAnnealing", "T_max", T_max)
        self.eta_min = _number("CosineAnnealing", "eta_min", eta_min)

    def lr(self, epoch, base_lr):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2

    def config(self):
        return {"T_max": self.T_max, "eta_min": self.eta_min}


class CyclicDescent(Schedule):
    """EpyNN's cyclic descent (``exp_decay`` with ``cycle_epochs``/``cycle_descent``): the rate
    restarts every ``cycle_epochs`` epochs and decays exponentially within each cycle; each new
    cycle starts ``(1 - cycle_descent)`` times lower than the one before::

        lr = lr0 * (1 - cycle_descent)**(epoch // cycle_epochs) * exp(-decay_k * (epoch % cycle_epochs))

    ``decay_k`` defaults to ``5 / cycle_epochs`` as in EpyNN (the last epoch of a cycle runs at
    about ``exp(-5) ~ 0.7 %`` of the cycle's first rate).
    """

    name = "cyclic"

    def __init__(self, cycle_epochs=10, decay_k=None, cycle_descent=0.0):
        self.cycle_epochs = _positive_int("CyclicDescent", "cycle_epochs", cycle_epochs)
        self.decay_k = (5.0 / self.cycle_epochs if decay_k is None
                        else _number("CyclicDescent", "decay_k", decay_k))
        self.cycle_descent = _number("CyclicDescent", "cycle_descent", cycle_descent,
                                     high=1.0 - 1e-12)

    def lr(self, epoch, base_lr):
        cycle, within = divmod(epoch, self.cycle_epochs)
        return base_lr * (1.0 - self.cycle_descent) ** cycle * math.exp(-self.decay_k * within)

    def config(self):
        return {"cycle_epochs": self.cycle_epochs, "decay_k": self.decay_k,
                "cycle_descent": self.cycle_descent}


class InverseTimeDecay(Schedule):
    """``lr = lr0 / (1 + rate * epoch)`` (Keras' ``InverseTimeDecay`` with one epoch per step).

    EpyNN's ``lin_decay`` is this schedule with ``rate = 100 * decay_k``:
    ``get_schedule("lin_decay", decay_k=k)`` builds it so.
    """

    name = "inverse_time"

    def __init__(self, rate=0.01):
        self.rate = _number("InverseTimeDecay", "rate", rate)

    def lr(self, epoch, base_lr):
        return base_lr / (1.0 + self.rate * epoch)

    def config(self):
        return {"rate": self.rate}


def _epynn_lin_decay(decay_k=0.01):
    """EpyNN's ``lin_decay``: ``lr0 / (1 + 100 * decay_k * epoch)``."""
    return InverseTimeDecay(rate=100.0 * _number("lin_decay", "decay_k", decay_k))


SCHEDULES = {cls.name: cls for cls in (Steady, ExponentialDecay, LinearDecay, StepDecay,
                                      CosineAnnealing, CyclicDescent, InverseTimeDecay)}
# EpyNN's names compute what EpyNN's functions of those names compute: its exp_decay is the
# cyclic exponential decay, its lin_decay an inverse-time decay (not a linear ramp)
ALIASES = {"constant": "steady", "exp_decay": "cyclic", "exponential_decay": "exponential",
           "linear_decay": "linear", "step_decay": "step", "cosine_annealing": "cosine",
           "cyclic_descent": "cyclic", "inverse_time_decay": "inverse_time"}
FACTORIES = {"lin_decay": _epynn_lin_decay}


def get_schedule(spec, **kwargs):
    """A Schedule from a name (with constructor ``kwargs``) or an instance (returned as is).

    Names: ``steady``, ``exponential``, ``linear``, ``step``, ``cosine``, ``cyclic``,
    ``inverse_time``; EpyNN's ``exp_decay`` (= ``cyclic``, with ``cycle_epochs``, ``decay_k``,
    ``cycle_descent``) and ``lin_decay`` (``decay_k``) compute what EpyNN's functions compute.
    """
    if isinstance(spec, Schedule):
        if kwargs:
            raise TypeError(f"get_schedule: keyword arguments given with a Schedule instance {spec!r}")
        return spec
    if isinstance(spec, str) and spec.lower() in FACTORIES:
        return FACTORIES[spec.lower()](**kwargs)
    if isinstance(spec, str):
        key, cls = lookup("schedule", spec, SCHEDULES, ALIASES, owner="get_schedule")
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise TypeError(f"schedule {key!r}: bad arguments {kwargs}: {err}") from None
    raise TypeError(f"get_schedule: expected a name or a Schedule, got {type(spec).__name__}")
