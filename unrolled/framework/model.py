"""``Model``: a stack of layers with a loss, an optimizer and a training loop.

One training step (``Model.train_step``), in this order:

1. forward through every layer (training mode);
2. loss value and its gradient (fused with a softmax/sigmoid output where possible);
3. ``backward`` then ``compute_gradients`` through every layer in reverse;
4. penalties' gradients, then clipping over all gradients (global, per layer or by value);
5. a divergence guard: a non-finite loss or gradient stops training before any update;
6. ``update_parameters`` on every layer.

Updates never happen inside the backward loop, so clipping can see every gradient and optimizers
with state (momentum, Adam) see a consistent step.
"""
import html
import inspect
import math
import os
import sys
import time

import numpy as np

from . import checks, clipping, inputs
from .callbacks import CallbackList
from .layer import Layer
from .losses import get_loss
from .metrics import get_metric, task_for_loss
from .optimizers import get_optimizer
from .registry import register
from .schedules import checked_rate
from ..threads import with_model_threads


class TrainingDiverged(FloatingPointError):
    """Raised when the loss, a gradient or a parameter becomes NaN or infinite during training.

    The model keeps the last finite parameters. ``epoch``/``batch`` say where it happened and
    ``history`` holds the metrics of the epochs completed before. The optimizer's state (momentum,
    Adam moments) may already include the step that diverged: before training on, lower the
    learning rate and reset it with ``model.optimizer.state.clear()``.
    """

    def __init__(self, message, epoch=None, batch=None, history=None):
        super().__init__(message)
        self.epoch, self.batch, self.history = epoch, batch, history


class History(dict):
    """Metric name -> list of per-epoch values (``"loss"``, ``"val_loss"``, ``"accuracy"``, ``"lr"``...).

    Aligned by epoch: every list has one entry per epoch trained, and a value an epoch did not
    log (``val_loss`` in a ``train()`` call without validation, a metric added later) is NaN.
    So ``history["val_loss"][k]`` always belongs to epoch ``history.epoch[k]``, and
    ``pandas.DataFrame(history.history)`` has one row per epoch. As in Keras, ``.history`` is the
    dict of lists (the History itself) and ``.epoch`` the list of 0-based epoch indices.
    """

    def append(self, logs):
        """Add one epoch: ``logs`` maps names to values; a name seen before but missing here gets
        NaN, a new name gets NaN for the epochs before."""
        n = self.epochs
        for key in self.keys() - logs.keys():
            self[key].append(math.nan)
        for key, value in logs.items():
            column = self.setdefault(key, [])
            column.extend([math.nan] * (n - len(column)))
            column.append(value)

    def __setitem__(self, key, values):
        # every missing value is the one object math.nan, so that two histories with the same
        # values compare equal as lists (NaN != NaN, but list equality tries identity first)
        super().__setitem__(key, [math.nan if isinstance(v, float) and v != v else v
                                  for v in values])

    @property
    def history(self):
        """The dict of per-epoch lists (Keras' ``History.history``): this History itself."""
        return self

    @property
    def epochs(self):
        """Number of epochs recorded."""
        return max((len(v) for v in self.values()), default=0)

    @property
    def epoch(self):
        """0-based index of every recorded epoch (Keras' ``History.epoch``)."""
        return list(range(self.epochs))

    def last(self):
        """``{name: value}`` of the last epoch (names it did not log are left out)."""
        return {k: v[-1] for k, v in self.items() if v and v[-1] == v[-1]}


class _PrintedText(str):
    """The text ``summary()`` returns after printing it: a notebook does not show it again."""

    def _ipython_display_(self):
        pass


#: train() arguments of neighbouring libraries (Keras, scikit-learn, Lightning) -> how to say it here
_TRAIN_HABITS = {
    "validation_data": "validation=(X_val, Y_val)",
    "val_data": "validation=(X_val, Y_val)",
    "eval_set": "validation=(X_val, Y_val)",
    "nb_epoch": "epochs=", "n_epochs": "epochs=", "num_epochs": "epochs=", "max_epochs": "epochs=",
    "epoch": "epochs=",
    "batchsize": "batch_size=", "bs": "batch_size=",
    "restore_best_weights": "callbacks=[EarlyStopping(restore_best=True)] "
                            "(from unrolled.framework import EarlyStopping)",
    "patience": "callbacks=[EarlyStopping(patience=...)] (from unrolled.framework import "
                "EarlyStopping)",
    "early_stopping": "callbacks=[EarlyStopping(...)] (from unrolled.framework import "
                      "EarlyStopping)",
    "initial_epoch": "nothing: model.epoch counts the epochs done and train() carries on from it",
    "class_weight": "sample_weight=class_weight[y] (one weight per sample)",
    "sample_weights": "sample_weight=",
    "learning_rate": "Model(..., optimizer=SGD(lr=...)) or model.optimizer.lr = ...",
    "lr": "Model(..., optimizer=SGD(lr=...)) or model.optimizer.lr = ...",
    "steps_per_epoch": "batch_size= (an epoch is one pass over every sample)",
    "callback": "callbacks=[...]",
    "verbosity": "verbose=",
    "val_split": "validation_split=",
    "shuffle_each_epoch": "shuffle=",
    "sample_mask": "mask=",
}


def _output_kind():
    """Where training progress goes: ``"notebook"`` (a Jupyter kernel), ``"terminal"`` (stderr
    is a terminal) or ``"log"`` (piped to a file, CI)."""
    if "ipykernel.zmqshell" in sys.modules and not any(
            k == "QT_API" or k.startswith("SPYDER") for k in os.environ):
        from IPython import get_ipython
        from ipykernel.zmqshell import ZMQInteractiveShell
        if isinstance(get_ipython(), ZMQInteractiveShell):
            return "notebook"
    isatty = getattr(sys.stderr, "isatty", None)
    return "terminal" if isatty is not None and isatty() else "log"


def _split_off(fraction, X, Y, mask, sample_weight):
    """``validation_split``: the last ``fraction`` of the samples become the validation set
    (taken before shuffling, as Keras does). Returns (X, Y, mask, sample_weight, validation)."""
    if isinstance(fraction, bool) or not (isinstance(fraction, (float, int, np.floating))
                                          and 0 < fraction < 1):
        raise ValueError(f"model.train: validation_split must be a fraction in (0, 1), got "
                         f"{fraction!r}")
    m = len(X)
    cut = int(m * (1 - fraction))
    if not 0 < cut < m:
        raise ValueError(f"model.train: validation_split={fraction} of {m} samples leaves {cut} "
                         f"for training and {m - cut} for validation; each needs at least one")
    X, Y = np.asarray(X), np.asarray(Y)
    mask = None if mask is None else np.asarray(mask)
    sample_weight = None if sample_weight is None else np.asarray(sample_weight)
    for name, value in (("Y", Y), ("mask", mask), ("sample_weight", sample_weight)):
        if value is not None and (value.ndim == 0 or len(value) != m):
            raise ValueError(f"model.train: X has {m} samples but {name} has "
                             f"{len(value) if value.ndim else 'none (a scalar)'}: they are split "
                             f"together by validation_split")
    validation = (X[cut:], Y[cut:]) + (() if mask is None else (mask[cut:],))
    return (X[:cut], Y[:cut], None if mask is None else mask[:cut],
            None if sample_weight is None else sample_weight[:cut], validation)


class Model:
    """A sequential network.

    Parameters
    ----------
    layers : list of Layer
    loss : str or Loss
        ``"mse"``, ``"mae"``, ``"msle"``, ``"bce"``, ``"cce"``, ``"scce"`` (integer labels).
    optimizer : str or Optimizer
        A name (default settings) or an instance such as ``SGD(lr=0.1)``.
    metrics : list of str
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``specificity``, ``npv``, ``mae``, ``rmse``.
    seed : int, optional
        Seeds every layer's generator and the shuffling: the same seed gives bit-identical
        training. ``None`` draws fresh entropy (kept in ``model.seed`` so the run can be repeated).
    dtype : ``"float64"`` (default) or ``"float32"``
        Parameters, caches and gradients all use it; inputs are converted at the model's boundary.
    clip_norm, clip_layer_norm, clip_value : float, optional
        Gradient clipping (see :mod:`unrolled.framework.clipping`).
    schedule : callable, optional
        ``schedule(epoch, base_lr) -> lr``, applied at the start of each epoch.
    threads : int, optional
        BLAS threads for ``train``, ``evaluate`` and ``predict``; by default chosen from the
        environment and the model's size (:mod:`unrolled.threads`).
    """

    def __init_subclass__(cls, **kwargs):
        """Model types enter the registry: load_model rebuilds a file's model class from it."""
        super().__init_subclass__(**kwargs)
        register("model", cls, automatic=True)

    def __init__(self, layers, loss="mse", optimizer="sgd", metrics=(), seed=None,
                 dtype="float64", clip_norm=None, clip_layer_norm=None, clip_value=None,
                 schedule=None, name="model", threads=None, **unknown):
        if unknown:    # lr=, epochs=... belong elsewhere: say where
            raise self._unknown(unknown)
        if isinstance(layers, Layer):
            layers = [layers]
        layers = list(layers)
        if not layers:
            raise ValueError("model: needs at least one layer, got an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"model: layer {i} must be a Layer, got {type(layer).__name__}")
        self.layers = layers
        self.name = checks.text("model", "name", name)
        self._name_layers()
        # Nothing needs dL/dX of the model's input: the first layer skips that product.
        for layer in self.layers:
            layer.input_gradient = True
        self.layers[0].input_gradient = False

        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"model: dtype must be 'float32' or 'float64', got {dtype!r}")
        for layer in self.layers:
            layer.dtype = self.dtype

        self.loss = get_loss(loss)
        self.loss.check_output(self.layers[-1].output_activation(), "model")
        last = self.layers[-1]
        self._fused = (last.output_activation() in self.loss.fuses_with
                       and hasattr(last, "fused_output"))
        if self._fused:
            last.fused_output = True
        self.task = task_for_loss(self.loss.name, last.output_activation())
        metrics = [metrics] if isinstance(metrics, str) else metrics
        self.metrics = dict(get_metric(m, self.task) for m in metrics)

        self.optimizer = get_optimizer(optimizer)
        self.clip_norm, self.clip_layer_norm, self.clip_value = (
            checks.number("model", option, value, low=0, low_open=True, none=True)
            for option, value in (("clip_norm", clip_norm), ("clip_layer_norm", clip_layer_norm),
                                  ("clip_value", clip_value)))
        if schedule is not None and not callable(schedule):
            raise TypeError(f"model: schedule must be callable(epoch, base_lr), got {schedule!r}")
        self.schedule = schedule
        self.threads = checks.positive_int("model", "threads", threads, none=True)
        self.last_threads = None  # BLAS threads of the last train/evaluate/predict (unrolled.threads)

        checks.number("model", "seed", seed, low=0, integer=True, none=True)
        self.seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        children = np.random.SeedSequence(self.seed).spawn(len(self.layers) + 1)
        for layer, child in zip(self.layers, children):
            layer.seed(child)
        self.rng = np.random.default_rng(children[-1])   # shuffling

        self.epoch = 0            # epochs completed (training resumes from here)
        self.history = History()
        self.stop_training = False
        self.last_grad_norm = None

    #: Model(...) arguments that belong somewhere else, and where
    MISPLACED = {"lr": "the learning rate belongs to the optimizer: optimizer=SGD(lr=0.1)",
                 "learning_rate": "the learning rate belongs to the optimizer: "
                                  "optimizer=SGD(lr=0.1)",
                 "epochs": "an argument of model.train(X, Y, epochs=...)",
                 "batch_size": "an argument of model.train / predict / evaluate",
                 "callbacks": "an argument of model.train(X, Y, callbacks=[...])",
                 "clipnorm": "clip_norm= here", "clipvalue": "clip_value= here",
                 "loss_fn": "loss= here", "criterion": "loss= here",
                 "lr_schedule": "schedule= here", "scheduler": "schedule= here"}

    def _unknown(self, unknown):
        return checks.unknown_arguments("model", type(self), unknown, self.MISPLACED)

    # ------------------------------------------------------------------ structure
    def _name_layers(self):
        seen = set()
        for i, layer in enumerate(self.layers):
            if layer.name is None:
                layer.name = f"{type(layer).__name__.lower()}_{i}"
            if layer.name in seen:
                raise ValueError(f"model: two layers are named {layer.name!r}; names must be unique")
            seen.add(layer.name)

    def __getitem__(self, key):
        if isinstance(key, str):
            for layer in self.layers:
                if layer.name == key:
                    return layer
            raise KeyError(f"model: no layer named {key!r}; layers: {[l.name for l in self.layers]}")
        return self.layers[key]

    @property
    def built(self):
        return all(layer.initialized for layer in self.layers)

    def build(self, X):
        """Create every layer's parameters from a sample input (done lazily by train/predict);
        states carried by stateful layers are left as they were."""
        self._output_shape(self._inputs(X, "X"))
        return self

    def _probe(self, X):
        """Forward one sample ``X[:1]``; a shape error quotes the caller's ``X.shape``."""
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # overflow: train_step reports it
                return self.forward(X[:1], training=False)
        except ValueError as err:
            inputs.raise_with_caller_shape(err, X[:1], X)

    @property
    def n_parameters(self):
        return sum(layer.n_parameters for layer in self.layers)

    def _rows(self):
        """``(name, type, output shape, parameters, trainable)`` of every layer."""
        rows = []
        for layer in self.layers:
            shape = layer.fs.get("A")
            shape = "?" if shape is None else "(m, " + ", ".join(map(str, shape[1:])) + ")"
            rows.append((layer.name, type(layer).__name__, shape, layer.n_parameters,
                         layer.trainable))
        return rows

    def summary(self, print_fn=print):
        """Print a table of the layers, their output shapes and parameter counts (as Keras does)
        and return its text. ``print_fn=None`` only returns it; any other callable receives it.

        Output shapes read ``(m, ...)`` with ``m`` the number of samples; they are ``?`` until the
        model is built (by ``train``, ``predict`` or ``build``).
        """
        rows = self._rows()
        width = max([28] + [len(f"{n} ({t})") + 2 for n, t, *_ in rows])
        rule = "_" * (width + 37)
        lines = [f"Model: {self.name!r}  (loss {self.loss.name}, optimizer {self.optimizer!r}, "
                 f"{self.dtype}, seed {self.seed})",
                 rule, f"{'Layer (type)':<{width}}{'Output shape':<22}{'Param #':>15}",
                 "=" * len(rule)]
        for i, (name, kind, shape, n, _) in enumerate(rows):
            lines.append(f"{f'{name} ({kind})':<{width}}{shape:<22}{n:>15,}")
            lines.append(rule if i < len(rows) - 1 else "=" * len(rule))
        trainable = sum(n for *_, n, train in rows if train)
        lines += [f"Total params: {self.n_parameters:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {self.n_parameters - trainable:,}"]
        if not self.built:
            lines.append("(not built yet: shapes and parameters appear after train, predict or "
                         "build)")
        if self.epoch:
            lines.append(f"Trained for {self.epoch} epoch{'s' if self.epoch != 1 else ''}")
        text = "\n".join(lines)
        if print_fn is None:
            return text
        print_fn(text)
        return _PrintedText(text)

    def __repr__(self):
        layers = ", ".join(layer.label for layer in self.layers)
        return (f"<{type(self).__name__} {self.name!r}: [{layers}], loss={self.loss.name!r}, "
                f"optimizer={self.optimizer!r}, {self.n_parameters:,} parameters, "
                f"{self.epoch} epochs trained>")

    def _repr_html_(self):
        """The summary as an HTML table (what a notebook shows for a bare ``model``)."""
        esc = html.escape
        cells = "".join(
            f"<tr><td>{esc(name)}</td><td>{esc(kind)}</td><td>{esc(shape)}</td>"
            f"<td style='text-align:right'>{n:,}</td><td>{'yes' if train else 'no'}</td></tr>"
            for name, kind, shape, n, train in self._rows())
        head = "".join(f"<th>{h}</th>" for h in ("layer", "type", "output shape", "parameters",
                                                 "trainable"))
        caption = (f"<b>{esc(type(self).__name__)} {esc(repr(self.name))}</b>: loss "
                   f"<code>{esc(self.loss.name)}</code>, optimizer "
                   f"<code>{esc(repr(self.optimizer))}</code>, {esc(str(self.dtype))}, seed "
                   f"{self.seed}, {self.epoch} epochs trained")
        last = self.history.last()
        if last:
            caption += "<br>last epoch: " + ", ".join(
                f"{esc(k)} = {v:.4g}" if isinstance(v, float) else f"{esc(k)} = {esc(str(v))}"
                for k, v in last.items())
        return (f"<div><p>{caption}</p><table><thead><tr>{head}</tr></thead><tbody>{cells}"
                f"<tr><td colspan='3'><b>total</b></td><td style='text-align:right'>"
                f"<b>{self.n_parameters:,}</b></td><td></td></tr></tbody></table></div>")

    # ------------------------------------------------------------------ data checks
    def _inputs(self, X, name):
        return inputs.check_inputs(X, name, self.dtype,
                                   getattr(self.layers[0], "integer_input", False))

    def _mask(self, mask, X, name):
        return inputs.check_mask(mask, X, name, getattr(self.layers[0], "integer_input", False))

    def _targets(self, Y, X, A_shape, name):
        """Check ``Y`` against the output shape ``A_shape`` (samples, width, label range)."""
        return inputs.check_targets(Y, X, A_shape, name, self.loss, self.dtype)

    def _output_shape(self, X):
        """Shape of the outputs for inputs X (one sample through the model, evaluation mode;
        states carried by stateful layers are kept as they were)."""
        carried = [(l, l.carried) for l in self.layers if getattr(l, "stateful", False)]
        self.reset_states()          # a one-sample probe cannot continue a carried batch
        A = self._probe(X)
        for layer, state in carried:
            layer.carried = state
        return (X.shape[0],) + A.shape[1:]

    def _prepare(self, X, Y, mask, prefix=""):
        X = self._inputs(X, prefix + "X")
        n_y = len(Y) if hasattr(Y, "__len__") else None
        if n_y is not None and n_y != X.shape[0]:
            raise ValueError(f"model: {prefix}X has {X.shape[0]} samples but {prefix}Y has {n_y}")
        mask = self._mask(mask, X, prefix + "mask")
        out_shape = self._output_shape(X)
        Y = self._targets(Y, X, out_shape, prefix + "Y")
        return X, Y, mask

    # ------------------------------------------------------------------ passes
    def forward(self, X, training=False, mask=None):
        """Run every layer; returns the output (a cache array: copy it to keep it)."""
        A = X
        for layer in self.layers:
            layer.training = training
            layer.build(A)
            if mask is not None and getattr(layer, "supports_mask", False):
                A = layer.forward(A, mask=mask)
            else:
                A = layer.forward(A)
        return A

    def backward(self, dA):
        """``backward`` then ``compute_gradients`` through every layer in reverse; returns dL/dX."""
        for layer in reversed(self.layers):
            dA = layer.backward(dA)
            if layer.trainable:
                layer.compute_gradients()
                layer.add_penalty_gradients()
        return dA

    def penalty(self):
        return sum(layer.penalty() for layer in self.layers)

    @staticmethod
    def output_mask(A, mask):
        """The step mask applies to outputs with a steps axis (m, s, n); many-to-one outputs
        (m, n) already come from each sequence's last real step."""
        return mask if mask is not None and A.shape[:-1] == mask.shape else None

    def loss_value(self, A, Y, mask=None, sample_weight=None):
        """The data loss of outputs ``A`` (plus nothing else; see ``penalty``); ``sample_weight``
        (m,) multiplies each sample's terms."""
        mask = self.output_mask(A, mask)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        last = self.layers[-1]
        if self._fused:
            return self.loss.fused_value(last.fc["Z"], Y, last.activation, mask, **weights)
        return self.loss.value(A, Y, mask, **weights)

    def loss_gradient(self, A, Y, mask=None, sample_weight=None):
        """dL/dA, or dL/dZ of the output layer when the loss is fused with its activation."""
        mask = self.output_mask(A, mask)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self._fused:
            return self.loss.fused_gradient(A, Y, self.layers[-1].activation, mask, **weights)
        return self.loss.gradient(A, Y, mask, **weights)

    def loss_at(self, X, Y, mask=None, sample_weight=None):
        """The training objective (data loss + penalties) at (X, Y), without gradients."""
        A = self.forward(X, training=True, mask=mask)
        return self.loss_value(A, Y, mask, sample_weight) + self.penalty()

    def compute_loss_and_gradients(self, X, Y, mask=None, sample_weight=None):
        """Forward (training mode), loss, backward and gradients; no update. Returns (loss, A)."""
        A = self.forward(X, training=True, mask=mask)
        loss = self.loss_value(A, Y, mask, sample_weight) + self.penalty()
        self.backward(self.loss_gradient(A, Y, mask, sample_weight))
        return loss, A

    def _clip(self):
        layers = [l for l in self.layers if l.trainable]
        for layer in layers:                       # per-layer norms first (Layer clip_norm)
            if getattr(layer, "clip_norm", None) is not None:
                clipping.clip_own_norm(layer, layer.clip_norm)
        if self.clip_value is not None:
            clipping.clip_value(layers, self.clip_value)
        if self.clip_layer_norm is not None:
            clipping.clip_layer_norm(layers, self.clip_layer_norm)
        # The global norm doubles as the finiteness check of every gradient.
        norm = clipping.grad_norm(layers)
        if self.clip_norm is not None and np.isfinite(norm):
            clipping.clip_global_norm(layers, self.clip_norm)
        self.last_grad_norm = norm
        return norm

    def train_step(self, X, Y, mask=None, where="", sample_weight=None):
        """One step on a batch (already checked and converted). Returns (loss, outputs)."""
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        # An overflow makes an inf or a NaN, which the guard below reports with its epoch and
        # batch: NumPy's own warnings would only repeat it without saying where.
        with np.errstate(over="ignore", invalid="ignore"):
            loss, A = self.compute_loss_and_gradients(X, Y, mask, **weights)
            norm = self._clip()
        if not np.isfinite(norm):     # a sum of squares can overflow while every entry is finite
            norm = np.inf if any(not np.isfinite(g).all() for l in self.layers if l.trainable
                                 for g in l.g.values()) else np.finfo(np.float64).max
        if not (np.isfinite(loss) and np.isfinite(norm)):
            raise TrainingDiverged(f"training diverged{where}: "
                                   + self._divergence_cause(X, Y, loss, norm))
        # Keep the parameters before the update (in reused buffers) in case it overflows.
        params = [(layer, key, value) for layer in self.layers if layer.trainable
                  for key, value in layer.p.items()]
        backup = self._backup_buffers(params)
        for (_, _, value), saved in zip(params, backup):
            np.copyto(saved, value)
        with np.errstate(over="ignore", invalid="ignore"):
            self.optimizer.step(self.layers)
        for layer, key, value in params:
            if not np.isfinite(value).all():
                for (_, _, v2), saved in zip(params, backup):
                    np.copyto(v2, saved)
                rate = layer.lr if layer.lr is not None else self.optimizer.lr
                cause = ("lower the learning rate or clip gradients" if np.isfinite(rate) else
                         f"the learning rate {rate} is not finite")
                raise TrainingDiverged(f"training diverged{where}: the update made "
                                       f"{layer.label}.{key} non-finite from finite data, weights "
                                       f"and gradients ({cause}); parameters are restored to "
                                       f"their last finite values")
        return loss, A

    def _divergence_cause(self, X, Y, loss, norm):
        """Why the loss or a gradient is not finite, checked in the order a user can act on:
        the data, the weights before the step (loaded or set), then what the step computed."""
        for what, arr in (("input X", X), ("targets Y", Y)):
            arr = np.asarray(arr)
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                return f"the {what} contains NaN or inf; nothing was updated (check the data)"
        for layer in self.layers:
            for key, value in layer.p.items():
                if not np.isfinite(value).all():
                    return (f"{layer.label}.{key} was already non-finite before this step (were "
                            f"the weights loaded or set with NaN or inf?); nothing was updated")
        if np.isfinite(loss):
            bad = next((f"{l.label}.d{k[1:]}" for l in self.layers if l.trainable
                        for k, g in l.g.items() if not np.isfinite(g).all()), "a gradient")
            found = f"the gradient norm is {norm} ({bad} is not finite)"
        else:
            first = next((l.label for l in self.layers if isinstance(l.fc.get("A"), np.ndarray)
                          and not np.isfinite(l.fc["A"]).all()), None)
            A = self.layers[-1].fc.get("A")
            size = (f" (the outputs are finite, up to |A| = {np.abs(A).max():.3g}: the loss "
                    f"itself overflowed)" if isinstance(A, np.ndarray) and A.size else "")
            found = f"the loss is {loss}" + (f" (the first non-finite output: {first})"
                                              if first else size)
        return (f"{found} with finite data and weights: the forward or backward pass overflowed; "
                f"parameters are left at their last finite values (lower the learning rate or "
                f"clip gradients)")

    def _backup_buffers(self, params):
        shapes = [(v.shape, v.dtype) for _, _, v in params]
        if getattr(self, "_backup_shapes", None) != shapes:
            self._backup = [np.empty(shape, dtype) for shape, dtype in shapes]
            self._backup_shapes = shapes
        return self._backup

    # ------------------------------------------------------------------ loops
    @with_model_threads
    def train(self, X, Y, epochs=1, batch_size=32, shuffle=True, validation=None, verbose=1,
              callbacks=(), mask=None, validation_batch_size=None, validation_split=None,
              sample_weight=None, **unknown):
        """Train for ``epochs`` more epochs; returns the model's ``History``.

        ``validation`` is ``(Xv, Yv)``, ``(Xv, Yv, mask_v)`` or a dataset ``Split``;
        ``validation_split=0.2`` instead holds out the last 20% of the samples, taken before any
        shuffling (as Keras does). ``sample_weight`` (one number >= 0 per sample) multiplies each
        sample's loss: the objective becomes ``sum_i w_i L_i / N`` with the same ``N`` as without
        weights, so weights of 1 change nothing (validation values stay unweighted). ``verbose``: 0 silent; 1 a tqdm progress bar on
        a terminal or in a notebook, and one line per epoch when the output is neither (piped to
        a file, CI); 2 one line per epoch. ``validation_batch_size`` defaults to 256 or more, and
        to ``batch_size`` when a layer is stateful (its state flows from one validation batch to
        the next, so their layout must match).
        """
        if unknown:
            raise checks.unknown_arguments("model.train", self.train, unknown, {
                key: f"did you mean {hint}?" for key, hint in _TRAIN_HABITS.items()})
        epochs = checks.positive_int("model.train", "epochs", epochs)
        batch_size = checks.positive_int("model.train", "batch_size", batch_size)
        checks.positive_int("model.train", "validation_batch_size", validation_batch_size, none=True)
        shuffle = checks.flag("model.train", "shuffle", shuffle)
        if validation_split is not None:
            if validation is not None:
                raise ValueError("model.train: give validation=(X_val, Y_val) or "
                                 "validation_split=, not both")
            X, Y, mask, sample_weight, validation = _split_off(validation_split, X, Y, mask,
                                                               sample_weight)
        X, Y, mask = self._prepare(X, Y, mask)
        sample_weight = self._sample_weight(sample_weight, X.shape[0], "model.train")
        val = None
        if validation is not None and hasattr(validation, "X") and hasattr(validation, "Y"):
            validation = (validation.X, validation.Y, getattr(validation, "mask", None))
        if validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
                raise ValueError("model.train: validation must be (X, Y), (X, Y, mask) or a "
                                 "dataset Split")
            val = self._prepare(*validation, prefix="validation ") if len(validation) == 3 else \
                self._prepare(validation[0], validation[1], None, prefix="validation ")
        self._check_stateful_batches("model.train", "training samples", X.shape[0], batch_size)
        if val is not None:
            self._check_stateful_batches("model.train", "validation samples", val[0].shape[0],
                                         validation_batch_size or batch_size,
                                         "a validation_batch_size")
        m = X.shape[0]
        cbs = CallbackList(callbacks, self)
        self.stop_training = False
        show = self._display(verbose)
        bar = self._progress(epochs) if show == "bar" else None
        last_epoch = self.epoch + epochs
        cbs.call("on_train_begin")
        try:
            for _ in range(epochs):
                epoch = self.epoch
                started = time.perf_counter()
                if self.schedule is not None:
                    self.optimizer.lr = checked_rate(self.schedule, epoch, self.optimizer.base_lr)
                else:   # set by hand or by a callback: a negative rate would climb the loss
                    checks.number(f"model.train (epoch {epoch})", "optimizer.lr",
                                  self.optimizer.lr, low=0)
                self.reset_states()
                cbs.call("on_epoch_begin", epoch)
                order = self.rng.permutation(m) if shuffle else np.arange(m)
                total, count, outputs = 0.0, 0, []
                for b, start in enumerate(range(0, m, batch_size)):
                    idx = order[start:start + batch_size]
                    Yb = Y[idx]
                    mb = mask[idx] if mask is not None else None
                    wb = sample_weight[idx] if sample_weight is not None else None
                    try:
                        loss, A = self.train_step(X[idx], Yb, mb, where=f" at epoch {epoch + 1}, batch {b + 1}",
                                                  sample_weight=wb)
                    except TrainingDiverged as err:
                        err.epoch, err.batch, err.history = epoch + 1, b + 1, self.history
                        raise
                    total += loss * len(idx)
                    count += len(idx)
                    if self.metrics:
                        outputs.append(A.copy())
                    cbs.call("on_batch_end", b, {"loss": loss})
                logs = {"loss": total / count}
                if self.metrics:
                    A_all = np.concatenate(outputs)
                    Y_all = Y[order]
                    m_all = self.output_mask(A_all, mask[order] if mask is not None else None)
                    for name, fn in self.metrics.items():
                        logs[name] = fn(A_all, Y_all, task=self.task, mask=m_all)
                if val is not None:
                    vbs = validation_batch_size or (
                        batch_size if any(getattr(l, "stateful", False) for l in self.layers)
                        else max(batch_size, 256))
                    for key, value in self._evaluate(*val, batch_size=vbs).items():
                        logs["val_" + key] = value
                logs["lr"] = self.optimizer.lr
                self.epoch += 1
                self.history.append(logs)
                cbs.call("on_epoch_end", epoch, logs)
                self._report(bar, show, logs, last_epoch, time.perf_counter() - started)
                if self.stop_training:
                    break
        finally:
            if bar is not None:
                bar.close()
        cbs.call("on_train_end")
        return self.history

    def _check_stateful_batches(self, owner, what, n, batch_size, knob="a batch size"):
        """A stateful layer carries its state from one batch to the next, so every batch of a
        pass must have the same size: refuse, before any step, a set that leaves a short batch."""
        stateful = [l.label for l in self.layers if getattr(l, "stateful", False)]
        if stateful and batch_size is not None and n % batch_size:
            raise ValueError(f"{owner}: {', '.join(stateful)} is stateful (it carries its state "
                             f"from one batch to the next), so every batch must have the same "
                             f"size, but the {n} {what} do not split into batches of "
                             f"{batch_size}: use {knob} that divides {n}, or "
                             f"{n - n % batch_size} samples")

    def _sample_weight(self, sample_weight, m, owner):
        if sample_weight is None:
            return None
        if "sample_weight" not in inspect.signature(self.compute_loss_and_gradients).parameters:
            raise ValueError(f"{owner}: {type(self).__name__} does not take sample_weight")
        w = np.asarray(sample_weight)
        if w.dtype == object or not (np.issubdtype(w.dtype, np.number) or w.dtype == bool):
            raise TypeError(f"{owner}: sample_weight must be numeric, got dtype {w.dtype}")
        if w.shape != (m,):
            raise ValueError(f"{owner}: sample_weight must hold one weight per sample, shape "
                             f"({m},), got shape {w.shape}")
        if not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError(f"{owner}: sample_weight must be finite and >= 0")
        return w.astype(self.dtype)

    @staticmethod
    def _display(verbose):
        """``"bar"``, ``"lines"`` (one per epoch) or None (silent) for this ``verbose``."""
        if verbose not in (0, 1, 2):
            raise ValueError(f"model.train: verbose must be 0, 1 or 2, got {verbose!r}")
        if not verbose:
            return None
        if verbose == 2:
            return "lines"
        return "lines" if _output_kind() == "log" else "bar"

    def _progress(self, epochs):
        """A tqdm bar: the notebook widget when ipywidgets is installed, else the text bar (in a
        notebook too, where the frontend redraws it on each carriage return). tqdm.auto would
        choose the same but warn when ipywidgets is missing."""
        from importlib.util import find_spec
        if _output_kind() == "notebook" and find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm
        else:
            from tqdm.std import tqdm
        return tqdm(total=epochs, desc=self.name, unit="epoch", leave=True)

    def _report(self, bar, show, logs, last_epoch, seconds):
        shown = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in logs.items()}
        if bar is not None:
            bar.set_postfix(shown, refresh=False)
            bar.update(1)
        elif show == "lines":
            print(f"epoch {self.epoch}/{last_epoch}: "
                  + "  ".join(f"{k}={v}" for k, v in shown.items()) + f"  ({seconds:.2f} s)",
                  flush=True)

    def _batches(self, X, mask, batch_size):
        m = X.shape[0]
        batch_size = m if batch_size is None else batch_size
        for start in range(0, m, batch_size):
            sl = slice(start, start + batch_size)
            try:
                A = self.forward(X[sl], training=False, mask=mask[sl] if mask is not None else None)
            except ValueError as err:
                inputs.raise_with_caller_shape(err, X[sl], X)
            yield sl, A

    def reset_states(self):
        """Forget the states that stateful layers carry between batches."""
        for layer in self.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()

    def _evaluate(self, X, Y, mask, batch_size=None, sample_weight=None):
        # Stateful layers start evaluation from zero and get their training state back after.
        carried = [(l, l.carried) for l in self.layers if getattr(l, "stateful", False)]
        self.reset_states()
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        try:
            return self._evaluate_batches(X, Y, mask, batch_size, **weights)
        finally:
            for layer, state in carried:
                layer.carried = state

    def _evaluate_batches(self, X, Y, mask, batch_size, sample_weight=None):
        loss_sum, n_sum, outputs = 0.0, 0, []
        for sl, A in self._batches(X, mask, batch_size):
            mb = self.output_mask(A, mask[sl] if mask is not None else None)
            _, n = self.loss._count(A, mb)
            weights = {} if sample_weight is None else {"sample_weight": sample_weight[sl]}
            loss_sum += self.loss_value(A, Y[sl], mb, **weights) * n
            n_sum += n
            outputs.append(A.copy())
        A = np.concatenate(outputs)
        logs = {"loss": loss_sum / max(n_sum, 1) + self.penalty()}
        mask = self.output_mask(A, mask)
        for name, fn in self.metrics.items():
            logs[name] = fn(A, Y, task=self.task, mask=mask)
        return logs

    @with_model_threads
    def evaluate(self, X, Y, batch_size=256, mask=None, sample_weight=None):
        """``{"loss": ..., metric: ...}`` on (X, Y), in evaluation mode (no dropout).
        ``sample_weight`` weighs each sample's loss as in ``train`` (the metrics stay unweighted)."""
        batch_size = checks.positive_int("model.evaluate", "batch_size", batch_size, none=True)
        X, Y, mask = self._prepare(X, Y, mask)
        self._check_stateful_batches("model.evaluate", "samples", X.shape[0],
                                     min(batch_size, X.shape[0]) if batch_size else None)
        sample_weight = self._sample_weight(sample_weight, X.shape[0], "model.evaluate")
        return self._evaluate(X, Y, mask, batch_size, sample_weight)

    @with_model_threads
    def predict(self, X, batch_size=256, mask=None):
        """Outputs for X in evaluation mode (a fresh array)."""
        batch_size = checks.positive_int("model.predict", "batch_size", batch_size, none=True)
        X = self._inputs(X, "X")
        mask = self._mask(mask, X, "mask")
        return np.concatenate([A.copy() for _, A in self._batches(X, mask, batch_size)])

    __call__ = predict

    # ------------------------------------------------------------------ parameters
    def get_weights(self):
        """``{"layer_name/param": array copy}`` of every parameter."""
        return {f"{l.name}/{k}": v.copy() for l in self.layers for k, v in l.p.items()}

    def set_weights(self, weights):
        """Copy ``{"layer_name/param": array}`` (as ``get_weights`` returns) into the parameters.
        Every entry is checked before any is copied: a known layer and parameter, its shape,
        real and finite values."""
        checked = []
        for key, value in weights.items():
            layer_name, _, param = str(key).partition("/")
            layer = self[layer_name]
            if param not in layer.p:
                raise ValueError(f"model: set_weights: {key!r} names no parameter; {layer.label} "
                                 f"has {sorted(layer.p)}")
            value = np.asarray(value)
            if value.shape != layer.p[param].shape:
                raise ValueError(f"model: set_weights: {key} has shape {value.shape}, expected "
                                 f"{layer.p[param].shape}")
            if not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)):
                raise ValueError(f"model: set_weights: {key} must hold real numbers, got dtype "
                                 f"{value.dtype}")
            if not np.isfinite(value).all():
                raise ValueError(f"model: set_weights: {key} holds NaN or inf")
            checked.append((layer.p[param], value))
        for target, value in checked:
            np.copyto(target, value)

    # ------------------------------------------------------------------ save / load
    def config(self):
        """Constructor arguments other than the layers, the optimizer and the schedule (which
        save_model stores through their own registries): ``from_config`` reads them back."""
        return {"name": self.name, "loss": self.loss.name, "metrics": list(self.metrics),
                "seed": self.seed, "dtype": self.dtype.name, "clip_norm": self.clip_norm,
                "clip_layer_norm": self.clip_layer_norm, "clip_value": self.clip_value,
                "threads": self.threads}

    def components(self):
        """``{constructor argument: layer}`` of every layer passed by name (Seq2Seq's encoder,
        decoder, ...: any argument, of this class's constructor or a parent's, whose attribute
        of the same name is a Layer); a plain Model takes its layers as one list and has none."""
        import inspect
        args = dict.fromkeys(arg for klass in type(self).__mro__ if "__init__" in vars(klass)
                             for arg in inspect.signature(klass.__init__).parameters)
        return {arg: getattr(self, arg) for arg in args
                if isinstance(getattr(self, arg, None), Layer)}

    @classmethod
    def from_config(cls, layers, components, config, optimizer=None, schedule=None):
        """The model of ``config()`` around rebuilt ``layers`` (``components`` by name)."""
        return cls(layers, optimizer=optimizer, schedule=schedule, **config)

    def build_shapes(self, input_shape):
        """Shape-only build (used by load_model): each layer's ``compute_shapes`` on a zero-strided
        array of the shape the previous layer declares in ``fs["A"]``; nothing is computed and no
        parameter is drawn. Returns the layers it could not reach (after one without ``fs["A"]``)."""
        return self._build_chain(self.layers, input_shape)

    def _build_chain(self, layers, shape):
        for i, layer in enumerate(layers):
            layer.compute_shapes(np.broadcast_to(np.zeros((), self.dtype), shape))
            shape = layer.fs.get("A")
            if not isinstance(shape, tuple):
                return list(layers[i + 1:])
        return []

    def save(self, path):
        """Write the model (architecture, weights, optimizer state, training position) to ``path``."""
        from .serialization import save_model
        save_model(self, path)

    @classmethod
    def load(cls, path):
        """Rebuild a model saved with ``save`` (no pickle: untrusted files cannot run code)."""
        from .serialization import load_model
        return load_model(path)


register("model", Model)
