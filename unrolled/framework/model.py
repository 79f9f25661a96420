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

from . import clipping
from .callbacks import CallbackList
from .layer import Layer
from .losses import get_loss
from .metrics import get_metric, task_for_loss
from .optimizers import get_optimizer


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


def _as_float_array(value, name, dtype):
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"model: {name} must be a numeric array, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


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
    """

    def __init__(self, layers, loss="mse", optimizer="sgd", metrics=(), seed=None,
                 dtype="float64", clip_norm=None, clip_layer_norm=None, clip_value=None,
                 schedule=None, name="model"):
        if isinstance(layers, Layer):
            layers = [layers]
        layers = list(layers)
        if not layers:
            raise ValueError("model: needs at least one layer, got an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"model: layer {i} must be a Layer, got {type(layer).__name__}")
        self.layers = layers
        self.name = name
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
        self.metrics = dict(get_metric(m, self.task) for m in metrics)

        self.optimizer = get_optimizer(optimizer)
        for option, value in (("clip_norm", clip_norm), ("clip_layer_norm", clip_layer_norm),
                              ("clip_value", clip_value)):
            if value is not None and not value > 0:
                raise ValueError(f"model: {option} must be > 0, got {value!r}")
        self.clip_norm, self.clip_layer_norm, self.clip_value = clip_norm, clip_layer_norm, clip_value
        if schedule is not None and not callable(schedule):
            raise TypeError(f"model: schedule must be callable(epoch, base_lr), got {schedule!r}")
        self.schedule = schedule

        self.seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        children = np.random.SeedSequence(self.seed).spawn(len(self.layers) + 1)
        for layer, child in zip(self.layers, children):
            layer.seed(child)
        self.rng = np.random.default_rng(children[-1])   # shuffling

        self.epoch = 0            # epochs completed (training resumes from here)
        self.history = History()
        self.stop_training = False
        self.last_grad_norm = None

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
        """Create every layer's parameters from a sample input (done lazily by train/predict)."""
        self.forward(self._inputs(X[:1], "X"))
        return self

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
        if getattr(self.layers[0], "integer_input", False):
            X = np.asarray(X)      # token ids stay integers (the layer checks their range)
            if X.dtype == object or not np.issubdtype(X.dtype, np.number):
                raise TypeError(f"model: {name} must hold integer token ids, got dtype {X.dtype}")
        else:
            X = _as_float_array(X, name, self.dtype)
        if X.ndim == 0 or X.shape[0] == 0:
            raise ValueError(f"model: {name} is empty (shape {X.shape}); need at least one sample")
        if not np.isfinite(X).all():
            raise ValueError(f"model: {name} contains NaN or inf")
        return X

    def _mask(self, mask, X, name):
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"model: {name} must be a boolean array (True on real steps), "
                            f"got dtype {mask.dtype}")
        # token ids (m, s) for an Embedding, else features (m, s, e): the steps are axis 1
        sequence = X.ndim == 2 if getattr(self.layers[0], "integer_input", False) else X.ndim >= 3
        if not sequence or mask.shape != X.shape[:2]:
            raise ValueError(f"model: {name} must have shape (m, s) = {X.shape[:2]} for inputs of "
                             f"shape {X.shape}, got {mask.shape}")
        return mask

    def _targets(self, Y, X, A_shape, name):
        """Check ``Y`` against the output shape ``A_shape`` (samples, width, label range)."""
        if self.loss.integer_targets:
            Y = np.asarray(Y)
            if Y.shape == A_shape[:-1] + (1,):
                Y = Y[..., 0]
            if Y.shape != A_shape[:-1]:
                raise ValueError(f"model: loss 'scce' takes integer labels of shape {A_shape[:-1]} "
                                 f"for outputs of shape {A_shape}, got {name} of shape {Y.shape}")
            if not np.issubdtype(Y.dtype, np.integer):
                if not np.all(np.mod(Y, 1) == 0):
                    raise ValueError(f"model: loss 'scce' takes integer class labels; {name} has "
                                     f"non-integer values")
            if Y.min() < 0 or Y.max() >= A_shape[-1]:
                raise ValueError(f"model: {name} labels must lie in [0, {A_shape[-1] - 1}] for an "
                                 f"output of width {A_shape[-1]}, got [{Y.min()}, {Y.max()}]")
            return Y.astype(np.intp)
        Y = _as_float_array(Y, name, self.dtype)
        if not np.isfinite(Y).all():
            raise ValueError(f"model: {name} contains NaN or inf")
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"model: X has {X.shape[0]} samples but {name} has {Y.shape[0]}")
        if Y.shape == A_shape[:-1] and A_shape[-1] == 1:
            Y = Y[..., None]
        if Y.shape[1:] != A_shape[1:]:
            hint = ""
            if self.loss.name == "cce" and Y.ndim == len(A_shape) - 1:
                hint = " (integer labels: use loss='scce' or unrolled.datasets.one_hot)"
            elif Y.ndim == len(A_shape) and Y.shape[-1] != A_shape[-1]:
                hint = (f" (targets have width {Y.shape[-1]} but the last layer outputs "
                        f"{A_shape[-1]})")
            raise ValueError(f"model: {name} has shape {Y.shape}, expected (m,) + {A_shape[1:]} to "
                             f"match the model's output{hint}")
        if self.loss.name in ("bce", "cce") and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(f"model: loss {self.loss.name!r} needs targets in [0, 1], got "
                             f"{name} values in [{Y.min()}, {Y.max()}]")
        return Y

    def _output_shape(self, X):
        """Shape of the outputs for inputs X (one sample through the model, evaluation mode;
        states carried by stateful layers are kept as they were)."""
        carried = [(l, l.carried) for l in self.layers if getattr(l, "stateful", False)]
        self.reset_states()          # a one-sample probe cannot continue a carried batch
        A = self.forward(X[:1], training=False)
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
            bad = "loss" if not np.isfinite(loss) else "gradient norm"
            raise TrainingDiverged(f"training diverged{where}: the {bad} is {loss if bad == 'loss' else norm}; "
                                   f"parameters are left at their last finite values "
                                   f"(lower the learning rate or clip gradients)")
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
                raise TrainingDiverged(f"training diverged{where}: the update made "
                                       f"{layer.label}.{key} non-finite; parameters are "
                                       f"restored to their last finite values")
        return loss, A

    def _backup_buffers(self, params):
        shapes = [(v.shape, v.dtype) for _, _, v in params]
        if getattr(self, "_backup_shapes", None) != shapes:
            self._backup = [np.empty(shape, dtype) for shape, dtype in shapes]
            self._backup_shapes = shapes
        return self._backup

    # ------------------------------------------------------------------ loops
    def train(self, X, Y, epochs=1, batch_size=32, shuffle=True, validation=None, verbose=1,
              callbacks=(), mask=None, validation_batch_size=None):
        """Train for ``epochs`` more epochs; returns the model's ``History``.

        ``validation`` is ``(Xv, Yv)``, ``(Xv, Yv, mask_v)`` or a dataset ``Split``. ``verbose``: 0 silent, 1 a tqdm
        progress bar (only on a terminal), 2 one line per epoch. ``validation_batch_size``
        defaults to 256 or more, and to ``batch_size`` when a layer is stateful (its state flows
        from one validation batch to the next, so their layout must match).
        """
        if not (isinstance(epochs, (int, np.integer)) and epochs > 0):
            raise ValueError(f"model.train: epochs must be a positive integer, got {epochs!r}")
        if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
            raise ValueError(f"model.train: batch_size must be a positive integer, got {batch_size!r}")
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
                    self.optimizer.lr = float(self.schedule(epoch, self.optimizer.base_lr))
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
            yield sl, self.forward(X[sl], training=False,
                                   mask=mask[sl] if mask is not None else None)

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

    def evaluate(self, X, Y, batch_size=256, mask=None):
        """``{"loss": ..., metric: ...}`` on (X, Y), in evaluation mode (no dropout)."""
        X, Y, mask = self._prepare(X, Y, mask)
        return self._evaluate(X, Y, mask, batch_size)

    def predict(self, X, batch_size=256, mask=None):
        """Outputs for X in evaluation mode (a fresh array)."""
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
