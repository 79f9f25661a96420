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
import sys

import numpy as np

from . import checks, clipping, inputs
from .callbacks import CallbackList
from .layer import Layer
from .losses import get_loss
from .metrics import get_metric, task_for_loss
from .optimizers import get_optimizer
from .schedules import checked_rate
from ..threads import check_count, with_model_threads


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
    """Metric name -> list of per-epoch values (``"loss"``, ``"val_loss"``, ``"accuracy"``, ``"lr"``...)."""

    def append(self, logs):
        for key, value in logs.items():
            self.setdefault(key, []).append(value)

    @property
    def epochs(self):
        return len(self.get("loss", []))

    def last(self):
        return {k: v[-1] for k, v in self.items() if v}


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
        self.task = task_for_loss(self.loss.name)
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
        self.threads = None if threads is None else check_count(threads, "model: threads")
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
        if not any(key in self.MISPLACED for key in unknown):
            return checks.unknown_arguments("model", type(self), unknown)
        return TypeError("model: unknown argument" + ("s " if len(unknown) > 1 else " ")
                         + "; ".join(f"{k}={v!r}" + (f": {self.MISPLACED[k]}"
                                                     if k in self.MISPLACED else "")
                                     for k, v in unknown.items()))

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

    def summary(self):
        """A table of the layers, their output shapes and parameter counts (returns the text)."""
        lines = [f"Model {self.name!r}: loss={self.loss.name}, optimizer={self.optimizer!r}, "
                 f"dtype={self.dtype}, seed={self.seed}",
                 f"{'layer':<24}{'output shape':<22}{'parameters':>12}"]
        for layer in self.layers:
            shape = layer.fs.get("A")
            shape = "?" if shape is None else "(m, " + ", ".join(map(str, shape[1:])) + ")"
            lines.append(f"{layer.label:<24}{str(shape):<22}{layer.n_parameters:>12}")
        lines.append(f"{'total':<46}{self.n_parameters:>12}")
        return "\n".join(lines)

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

    def loss_value(self, A, Y, mask=None):
        """The data loss of outputs ``A`` (plus nothing else; see ``penalty``)."""
        mask = self.output_mask(A, mask)
        last = self.layers[-1]
        if self._fused:
            return self.loss.fused_value(last.fc["Z"], Y, last.activation, mask)
        return self.loss.value(A, Y, mask)

    def loss_gradient(self, A, Y, mask=None):
        """dL/dA, or dL/dZ of the output layer when the loss is fused with its activation."""
        mask = self.output_mask(A, mask)
        if self._fused:
            return self.loss.fused_gradient(A, Y, self.layers[-1].activation, mask)
        return self.loss.gradient(A, Y, mask)

    def loss_at(self, X, Y, mask=None):
        """The training objective (data loss + penalties) at (X, Y), without gradients."""
        A = self.forward(X, training=True, mask=mask)
        return self.loss_value(A, Y, mask) + self.penalty()

    def compute_loss_and_gradients(self, X, Y, mask=None):
        """Forward (training mode), loss, backward and gradients; no update. Returns (loss, A)."""
        A = self.forward(X, training=True, mask=mask)
        loss = self.loss_value(A, Y, mask) + self.penalty()
        self.backward(self.loss_gradient(A, Y, mask))
        return loss, A

    def _clip(self):
        layers = [l for l in self.layers if l.trainable]
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

    def train_step(self, X, Y, mask=None, where=""):
        """One step on a batch (already checked and converted). Returns (loss, outputs)."""
        # An overflow makes an inf or a NaN, which the guard below reports with its epoch and
        # batch: NumPy's own warnings would only repeat it without saying where.
        with np.errstate(over="ignore", invalid="ignore"):
            loss, A = self.compute_loss_and_gradients(X, Y, mask)
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
              callbacks=(), mask=None, validation_batch_size=None):
        """Train for ``epochs`` more epochs; returns the model's ``History``.

        ``validation`` is ``(Xv, Yv)``, ``(Xv, Yv, mask_v)`` or a dataset ``Split``. ``verbose``: 0 silent, 1 a tqdm
        progress bar (only on a terminal), 2 one line per epoch. ``validation_batch_size``
        defaults to 256 or more, and to ``batch_size`` when a layer is stateful (its state flows
        from one validation batch to the next, so their layout must match).
        """
        epochs = checks.positive_int("model.train", "epochs", epochs)
        batch_size = checks.positive_int("model.train", "batch_size", batch_size)
        checks.positive_int("model.train", "validation_batch_size", validation_batch_size, none=True)
        shuffle = checks.flag("model.train", "shuffle", shuffle)
        X, Y, mask = self._prepare(X, Y, mask)
        val = None
        if validation is not None and hasattr(validation, "X") and hasattr(validation, "Y"):
            validation = (validation.X, validation.Y, getattr(validation, "mask", None))
        if validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
                raise ValueError("model.train: validation must be (X, Y), (X, Y, mask) or a "
                                 "dataset Split")
            val = self._prepare(*validation, prefix="validation ") if len(validation) == 3 else \
                self._prepare(validation[0], validation[1], None, prefix="validation ")
        m = X.shape[0]
        cbs = CallbackList(callbacks, self)
        self.stop_training = False
        bar = self._progress(epochs, verbose)
        cbs.call("on_train_begin")
        try:
            for _ in range(epochs):
                epoch = self.epoch
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
                    try:
                        loss, A = self.train_step(X[idx], Yb, mb, where=f" at epoch {epoch + 1}, batch {b + 1}")
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
                self._report(bar, verbose, logs)
                if self.stop_training:
                    break
        finally:
            if bar is not None:
                bar.close()
        cbs.call("on_train_end")
        return self.history

    def _progress(self, epochs, verbose):
        if verbose != 1 or not sys.stderr.isatty():
            return None
        from tqdm.auto import tqdm
        return tqdm(total=epochs, desc=self.name, unit="epoch", leave=True)

    def _report(self, bar, verbose, logs):
        shown = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in logs.items()}
        if bar is not None:
            bar.set_postfix(shown, refresh=False)
            bar.update(1)
        elif verbose == 2:
            print(f"epoch {self.epoch}: " + "  ".join(f"{k}={v}" for k, v in shown.items()))

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

    def _evaluate(self, X, Y, mask, batch_size=None):
        # Stateful layers start evaluation from zero and get their training state back after.
        carried = [(l, l.carried) for l in self.layers if getattr(l, "stateful", False)]
        self.reset_states()
        try:
            return self._evaluate_batches(X, Y, mask, batch_size)
        finally:
            for layer, state in carried:
                layer.carried = state

    def _evaluate_batches(self, X, Y, mask, batch_size):
        loss_sum, n_sum, outputs = 0.0, 0, []
        for sl, A in self._batches(X, mask, batch_size):
            mb = self.output_mask(A, mask[sl] if mask is not None else None)
            _, n = self.loss._count(A, mb)
            loss_sum += self.loss_value(A, Y[sl], mb) * n
            n_sum += n
            outputs.append(A.copy())
        A = np.concatenate(outputs)
        logs = {"loss": loss_sum / max(n_sum, 1) + self.penalty()}
        mask = self.output_mask(A, mask)
        for name, fn in self.metrics.items():
            logs[name] = fn(A, Y, task=self.task, mask=mask)
        return logs

    @with_model_threads
    def evaluate(self, X, Y, batch_size=256, mask=None):
        """``{"loss": ..., metric: ...}`` on (X, Y), in evaluation mode (no dropout)."""
        batch_size = checks.positive_int("model.evaluate", "batch_size", batch_size, none=True)
        X, Y, mask = self._prepare(X, Y, mask)
        return self._evaluate(X, Y, mask, batch_size)

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
        for key, value in weights.items():
            layer_name, param = key.split("/")
            layer = self[layer_name]
            if param not in layer.p or layer.p[param].shape != np.shape(value):
                raise ValueError(f"model: {key} has shape {np.shape(value)}, expected "
                                 f"{layer.p[param].shape if param in layer.p else 'no such parameter'}")
            np.copyto(layer.p[param], value)

    def save(self, path):
        """Write the model (architecture, weights, optimizer state, training position) to ``path``."""
        from .serialization import save_model
        save_model(self, path)

    @classmethod
    def load(cls, path):
        """Rebuild a model saved with ``save`` (no pickle: untrusted files cannot run code)."""
        from .serialization import load_model
        return load_model(path)
