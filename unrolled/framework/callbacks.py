"""Callbacks: hooks into ``Model.train``.

Subclass :class:`Callback` and override any of ``on_train_begin()``, ``on_epoch_begin(epoch)``,
``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end()``. ``self.model``
is set before training starts; setting ``self.model.stop_training = True`` ends training after the
current epoch.

Built-in callbacks: :class:`EarlyStopping`, :class:`ModelCheckpoint`, :class:`ReduceLROnPlateau`,
:class:`CSVLogger`. Monitored values are keys of the epoch logs (``"loss"``, ``"val_loss"``,
``"accuracy"``...); a missing key raises a ValueError listing the available ones.
"""
import csv
import os

from . import checks


class Callback:
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self):
        pass

    def on_epoch_begin(self, epoch):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self):
        pass


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks or ())
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"model.train: callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
            cb.set_model(model)

    def call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)


# ---------------------------------------------------------------------------------------- helpers
_MAX_HINTS = ("acc", "precision", "recall", "f1", "specificity", "npv", "auc")


def _resolve_mode(owner, mode, monitor):
    """``"min"`` or ``"max"``; ``"auto"`` picks max for accuracy-like metrics, min otherwise."""
    checks.text(owner, "mode", mode, choices=("auto", "min", "max"))
    checks.text(owner, "monitor", monitor)
    if mode == "auto":
        name = monitor[4:] if monitor.startswith("val_") else monitor
        return "max" if any(h in name for h in _MAX_HINTS) else "min"
    return mode


def _monitored(owner, logs, monitor):
    if monitor not in logs:
        raise ValueError(f"{owner}: monitored value {monitor!r} is not in the epoch logs "
                         f"(available: {', '.join(logs)}); pass validation=(X, Y) to train for "
                         f"'val_*' values")
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of ``monitor``: improvement means ``value < best - min_delta``
    (mode ``min``) or ``value > best + min_delta`` (mode ``max``). NaN never improves."""

    def __init__(self, owner, monitor, mode, min_delta):
        self.owner, self.monitor = owner, monitor
        self.min_delta = checks.number(owner, "min_delta", min_delta, low=0)
        self.mode = _resolve_mode(owner, mode, monitor)
        self.reset()

    def reset(self):
        self.best = float("inf") if self.mode == "min" else float("-inf")

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs in a row
    (``patience=0`` or ``1``: at the first epoch without improvement).

    Improvement means beating the best value so far by more than ``min_delta`` (lower for losses,
    higher for accuracy-like metrics with ``mode="auto"``). With ``restore_best=True`` the weights
    of the best epoch are put back when training ends (whether it stopped early or ran out of
    epochs). Attributes after training: ``best``, ``best_epoch`` (1-based count of completed
    epochs, as ``model.epoch``), ``stopped_epoch`` (None if it did not stop early).
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best=True):
        self.patience = checks.number("EarlyStopping", "patience", patience, low=0, integer=True)
        self.restore_best = checks.flag("EarlyStopping", "restore_best", restore_best)
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor, self.mode = monitor, self._monitor.mode
        self._reset()

    def _reset(self):
        self._monitor.reset()
        self.wait, self.best_epoch, self.stopped_epoch = 0, None, None
        self.best_weights = None

    @property
    def best(self):
        return self._monitor.best

    def on_train_begin(self):
        self._reset()

    def on_epoch_end(self, epoch, logs):
        value = _monitored("EarlyStopping", logs, self.monitor)
        if self._monitor.improved(value):
            self._monitor.best = value
            self.best_epoch = self.model.epoch
            self.wait = 0
            if self.restore_best:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= max(self.patience, 1):
                self.stopped_epoch = self.model.epoch
                self.model.stop_training = True

    def on_train_end(self):
        if self.restore_best and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model with ``model.save`` during training.

    Every ``every`` epochs (counting completed epochs ``model.epoch``), the model is written to
    ``path``, which may contain ``{epoch}`` (the completed-epoch count) and any log key, e.g.
    ``"ckpt-{epoch:03d}-{val_loss:.3f}.npz"``. With ``save_best_only=True`` it is written only
    when ``monitor`` improved on the best value seen at the previous checks. ``saved`` lists the
    paths written.
    """

    def __init__(self, path, monitor="val_loss", save_best_only=True, every=1, mode="auto",
                 min_delta=0.0):
        self.every = checks.positive_int("ModelCheckpoint", "every", every)
        if not isinstance(path, (str, os.PathLike)):
            raise checks.ArgumentTypeError(f"ModelCheckpoint: path must be a str or os.PathLike, "
                                           f"got {checks.received(path)}")
        self.path, self.monitor = os.fspath(path), monitor
        self.save_best_only = checks.flag("ModelCheckpoint", "save_best_only", save_best_only)
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode, min_delta)
        self.mode = self._monitor.mode
        self.saved = []

    @property
    def best(self):
        return self._monitor.best

    def on_train_begin(self):
        self._monitor.reset()

    def on_epoch_end(self, epoch, logs):
        done = self.model.epoch
        if done % self.every:
            return
        if self.save_best_only:
            value = _monitored("ModelCheckpoint", logs, self.monitor)
            if not self._monitor.improved(value):
                return
            self._monitor.best = value
        path = self.path.format(epoch=done, **logs)
        self.model.save(path)
        self.saved.append(path)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs in a row (Keras' semantics; then wait ``cooldown`` epochs before counting
    again); never below ``min_lr``.

    Both ``optimizer.lr`` and ``optimizer.base_lr`` are scaled, so a schedule (which computes each
    epoch's lr from ``base_lr``) keeps the reduction; layers with their own ``lr`` are scaled by
    the same factor. ``reductions`` lists ``(model.epoch, new_lr)`` for each reduction.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_lr=0.0, mode="auto",
                 min_delta=1e-4, cooldown=0):
        owner = "ReduceLROnPlateau"
        factor = checks.number(owner, "factor", factor, low=0, low_open=True, high=1, high_open=True)
        patience = checks.number(owner, "patience", patience, low=0, integer=True)
        cooldown = checks.number(owner, "cooldown", cooldown, low=0, integer=True)
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_lr, self.cooldown = checks.number(owner, "min_lr", min_lr, low=0), cooldown
        self._monitor = _Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.mode = self._monitor.mode
        self.wait = self.cooldown_left = 0
        self.reductions = []

    @property
    def best(self):
        return self._monitor.best

    def on_train_begin(self):
        self._monitor.reset()
        self.wait = self.cooldown_left = 0

    def on_epoch_end(self, epoch, logs):
        value = _monitored("ReduceLROnPlateau", logs, self.monitor)
        in_cooldown = self.cooldown_left > 0
        if in_cooldown:
            self.cooldown_left -= 1
            self.wait = 0
        if self._monitor.improved(value):
            self._monitor.best = value
            self.wait = 0
            return
        if in_cooldown:
            return
        self.wait += 1
        if self.wait < max(self.patience, 1):
            return
        opt = self.model.optimizer
        new_lr = max(opt.lr * self.factor, self.min_lr)
        if new_lr < opt.lr:
            scale = new_lr / opt.lr
            opt.lr = new_lr
            opt.base_lr *= scale
            for layer in self.model.layers:
                if layer.lr is not None:
                    layer.lr *= scale
            self.reductions.append((self.model.epoch, new_lr))
        self.wait = 0
        self.cooldown_left = self.cooldown


class CSVLogger(Callback):
    """Write one CSV row per epoch to ``path``: ``epoch`` (completed-epoch count) then the epoch's
    logs, with a header row from the first epoch's log keys. ``append=True`` continues an existing
    file (no second header). Each row is flushed as soon as it is written.
    """

    def __init__(self, path, separator=",", append=False):
        if not isinstance(path, (str, os.PathLike)):
            raise checks.ArgumentTypeError(f"CSVLogger: path must be a str or os.PathLike, got "
                                           f"{checks.received(path)}")
        if not (isinstance(separator, str) and len(separator) == 1):
            raise checks.ArgumentTypeError(f"CSVLogger: separator must be a one-character string, "
                                           f"got {checks.received(separator)}")
        self.path, self.separator = os.fspath(path), separator
        self.append = checks.flag("CSVLogger", "append", append)
        self.keys = None

    def on_train_begin(self):
        self.keys = None
        if self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            with open(self.path, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            if header:
                self.keys = header[1:]
        elif not self.append:
            open(self.path, "w").close()

    def on_epoch_end(self, epoch, logs):
        rows = []
        if self.keys is None:
            self.keys = list(logs)
            rows.append(["epoch"] + self.keys)
        rows.append([self.model.epoch] + [logs.get(k, "") for k in self.keys])
        with open(self.path, "a", newline="") as f:
            csv.writer(f, delimiter=self.separator).writerows(rows)
