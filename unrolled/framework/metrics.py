"""Metrics computed from outputs ``A`` and targets ``Y`` (same shapes as for the losses).

The *task* decides how outputs become class labels:

* ``"binary"`` (sigmoid outputs, bce): label = ``A >= 0.5``, elementwise (also multi-label);
  precision, recall... use class 1 as the positive class;
* ``"categorical"`` (softmax outputs, one-hot targets) and ``"sparse"`` (integer targets):
  label = ``argmax(A)``; precision, recall, F1, specificity and NPV are macro averages over the
  classes (each class in turn is the positive one), never "label 0 is positive". As in
  scikit-learn (``average="macro"``), the average runs over the classes *present*: those that
  occur in the targets or in the predictions of the scored data; ``classes="all"`` averages over
  every output class instead (an absent class then scores 0 and pulls the mean down). In a
  model, ``macro("f1", classes="all")`` is that metric under the name ``"f1_all"``;
* ``"regression"``: MAE and RMSE only.

Sequence outputs ``(m, s, n)`` are scored per step; a boolean ``mask`` ``(m, s)`` drops padded steps.
"""
import numpy as np

from .registry import lookup
CLASSIFICATION_TASKS = ("binary", "categorical", "sparse")


def task_for_loss(loss_name, output_activation=None):
    """The task of a loss; a regression loss on probabilities (mse after softmax or sigmoid, as
    EpyNN pairs them) is scored as the classification those probabilities make."""
    task = {"bce": "binary", "cce": "categorical", "scce": "sparse"}.get(loss_name, "regression")
    if task == "regression":
        task = {"softmax": "categorical", "sigmoid": "binary"}.get(output_activation, task)
    return task


def _labels(A, Y, task, mask):
    """Flattened (predicted, true) integer labels over the real positions."""
    if task == "binary":
        pred, true = (A >= 0.5), (np.asarray(Y) >= 0.5)
        if mask is not None:
            pred, true = pred[mask], true[mask]
        return pred.ravel().astype(np.intp), true.ravel().astype(np.intp), 2
    pred = np.argmax(A, axis=-1)
    true = np.asarray(Y).astype(np.intp) if task == "sparse" else np.argmax(Y, axis=-1)
    if mask is not None:
        pred, true = pred[mask], true[mask]
    return pred.ravel(), true.ravel(), A.shape[-1]


def _confusion(A, Y, task, mask, classes="present"):
    """Per-class (tp, fp, fn, tn) arrays; binary tasks keep only the positive class 1, other tasks
    the classes present in the targets or the predictions (``classes="present"``) or all."""
    if classes not in ("present", "all"):
        raise ValueError(f"metrics: classes must be 'present' or 'all', got {classes!r}")
    pred, true, k = _labels(A, Y, task, mask)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)
    tp = np.diag(cm).astype(float)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = cm.sum() - tp - fp - fn
    if task == "binary":
        return tp[1:], fp[1:], fn[1:], tn[1:]
    if classes == "present":
        keep = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
        return tp[keep], fp[keep], fn[keep], tn[keep]
    return tp, fp, fn, tn


def _ratio(num, den):
    """Macro average of num/den over classes; a class with den = 0 scores 0 (as sklearn's default)."""
    if num.size == 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return float(np.mean(r))


def accuracy(A, Y, task="categorical", mask=None):
    pred, true, _ = _labels(A, Y, task, mask)
    return float(np.mean(pred == true)) if pred.size else float("nan")


def exact_match(A, Y, task="categorical", mask=None):
    """Fraction of sequences whose every (real) step is right: outputs (m, s, n)."""
    if task == "binary":
        right = np.all((A >= 0.5) == (np.asarray(Y) >= 0.5), axis=-1)
    else:
        true = np.asarray(Y).astype(np.intp) if task == "sparse" else np.argmax(Y, axis=-1)
        right = np.argmax(A, axis=-1) == true
    if right.ndim == 1:
        return float(np.mean(right))
    if mask is not None:
        right = right | ~mask
    return float(np.mean(np.all(right, axis=1)))


def precision(A, Y, task="categorical", mask=None, classes="present"):
    tp, fp, fn, tn = _confusion(A, Y, task, mask, classes)
    return _ratio(tp, tp + fp)


def recall(A, Y, task="categorical", mask=None, classes="present"):
    tp, fp, fn, tn = _confusion(A, Y, task, mask, classes)
    return _ratio(tp, tp + fn)


def f1(A, Y, task="categorical", mask=None, classes="present"):
    tp, fp, fn, tn = _confusion(A, Y, task, mask, classes)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def specificity(A, Y, task="categorical", mask=None, classes="present"):
    tp, fp, fn, tn = _confusion(A, Y, task, mask, classes)
    return _ratio(tn, tn + fp)


def npv(A, Y, task="categorical", mask=None, classes="present"):
    tp, fp, fn, tn = _confusion(A, Y, task, mask, classes)
    return _ratio(tn, tn + fn)


def perplexity(A, Y, task="categorical", mask=None):
    """exp(mean cross-entropy) of the probabilities A given to the true classes: the number of
    equally likely choices the model hesitates between (1 is perfect; a uniform guess over n
    classes scores n). Language models report it per token."""
    if task not in ("categorical", "sparse"):
        raise ValueError(f"perplexity needs class probabilities (a softmax output), got task {task!r}")
    true = np.asarray(Y).astype(np.intp) if task == "sparse" else np.argmax(Y, axis=-1)
    p = np.take_along_axis(A, true[..., None], axis=-1)[..., 0]
    if mask is not None:
        p = p[mask]
    with np.errstate(divide="ignore"):
        return float(np.exp(-np.mean(np.log(p))))


MACRO_METRICS = ("precision", "recall", "f1", "specificity", "npv")


def macro(name, classes="all"):
    """The macro metric ``name`` averaged over ``classes`` ("all" or "present"), as a function
    for ``Model(metrics=[...])`` named ``"<name>_all"`` (or ``name`` for "present")."""
    key, fn = lookup("metric", name, METRICS, ALIASES)
    if key not in MACRO_METRICS:
        raise ValueError(f"macro: {name!r} is not a macro metric; choose among {MACRO_METRICS}")
    _confusion(np.zeros((1, 2)), np.zeros(1), "sparse", None, classes)   # checks ``classes``

    def metric(A, Y, task="categorical", mask=None):
        return fn(A, Y, task=task, mask=mask, classes=classes)
    metric.__name__ = key + ("_all" if classes == "all" else "")
    return metric


def _errors(A, Y, mask):
    err = A - Y
    return err[mask] if mask is not None else err


def mae(A, Y, task="regression", mask=None):
    return float(np.mean(np.abs(_errors(A, Y, mask))))


def rmse(A, Y, task="regression", mask=None):
    return float(np.sqrt(np.mean(_errors(A, Y, mask) ** 2)))


METRICS = {"accuracy": accuracy, "exact_match": exact_match, "precision": precision, "recall": recall, "f1": f1,
           "specificity": specificity, "npv": npv, "perplexity": perplexity, "mae": mae,
           "rmse": rmse}
CLASSIFICATION_METRICS = ("accuracy", "exact_match", "precision", "recall", "f1", "specificity",
                          "npv", "perplexity")
ALIASES = {"acc": "accuracy", "f1_score": "f1", "fscore": "f1", "sensitivity": "recall",
           "tpr": "recall", "tnr": "specificity", "ppv": "precision"}


def get_metric(name, task):
    """(canonical name, function) for a metric name; checks it fits the task."""
    if callable(name):
        return getattr(name, "__name__", "metric"), name
    if not isinstance(name, str):
        raise TypeError(f"model: a metric must be a name or a function, got {type(name).__name__}")
    key, _ = lookup("metric", name, METRICS, ALIASES)
    if key in CLASSIFICATION_METRICS and task not in CLASSIFICATION_TASKS:
        raise ValueError(f"model: metric {key!r} needs a classification loss (bce, cce, scce) or "
                         f"probabilities (a softmax or sigmoid output); this model's task is {task!r}")
    if key == "perplexity" and task == "binary":
        raise ValueError("model: metric 'perplexity' needs class probabilities (softmax, cce or "
                         "scce); this model's task is 'binary'")
    return key, METRICS[key]
