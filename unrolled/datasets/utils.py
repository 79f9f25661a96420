"""Array helpers shared by the dataset loaders.

All helpers are pure NumPy. Bad arguments raise :class:`ValueError` with a
message that names the argument, what was expected and what was received.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

from .base import Split

__all__ = [
    "one_hot",
    "from_one_hot",
    "sliding_windows",
    "pad_sequences",
    "Scaler",
    "train_val_test_split",
    "majority_baseline",
]


# --------------------------------------------------------------------------- #
# argument checking and random generators (private, used by every loader)
# --------------------------------------------------------------------------- #
def _check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def _check_float(name: str, value, minimum: float | None = None, maximum: float | None = None,
                 min_inclusive: bool = True, max_inclusive: bool = True) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (not min_inclusive and value == minimum)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (not max_inclusive and value == maximum)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def _check_choice(name: str, value, choices: Sequence) -> object:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def _rng(seed) -> np.random.Generator:
    """A Generator from ``seed`` (int >= 0 or Generator; a Generator is used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            f"seed must be a non-negative int or a numpy.random.Generator, got {seed!r}"
        )
    return np.random.default_rng(int(seed))


def _split_rngs(seed, n: int = 3) -> list[np.random.Generator]:
    """Independent child generators, one per split.

    With an int seed the children come from ``SeedSequence(seed).spawn(n)``,
    so the training split does not change when only the validation or test
    sizes change. A Generator is spawned from (which advances its spawn
    counter: pass a fresh Generator to repeat a draw).
    """
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(n))
    _rng(seed)  # validates
    return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(n)]


# --------------------------------------------------------------------------- #
# public helpers
# --------------------------------------------------------------------------- #
def one_hot(labels, n_classes: int | None = None, dtype=np.float64) -> np.ndarray:
    """One-hot encode integer labels.

    Parameters
    ----------
    labels : array_like of int, any shape ``S``
        Class indices in ``0 .. n_classes - 1``.
    n_classes : int, optional
        Number of classes; defaults to ``labels.max() + 1``.
    dtype : numpy dtype, default float64
        Output dtype.

    Returns
    -------
    numpy.ndarray, shape ``S + (n_classes,)``
        ``out[..., k] == 1`` where ``labels == k``, else 0.

    Examples
    --------
    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    lab = np.asarray(labels)
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or not np.all(lab == np.round(lab)):
            raise ValueError("labels must hold integer values, got non-integer floats")
        lab = lab.astype(np.int64)
    elif lab.dtype.kind == "b":
        lab = lab.astype(np.int64)
    elif lab.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {lab.dtype}")
    if lab.size and lab.min() < 0:
        raise ValueError(f"labels must be >= 0, got minimum {int(lab.min())}")
    if n_classes is None:
        n_classes = int(lab.max()) + 1 if lab.size else 0
    n_classes = _check_int("n_classes", n_classes, minimum=1 if lab.size else 0)
    if lab.size and lab.max() >= n_classes:
        raise ValueError(
            f"labels must be < n_classes={n_classes}, got maximum {int(lab.max())}"
        )
    out = np.zeros(lab.shape + (n_classes,), dtype=dtype)
    if lab.size:
        np.put_along_axis(out, lab[..., None].astype(np.intp), 1, axis=-1)
    return out


def from_one_hot(Y, axis: int = -1) -> np.ndarray:
    """Class indices from one-hot (or score / probability) arrays.

    Parameters
    ----------
    Y : array_like, shape ``S + (k,)``
        One-hot vectors, probabilities or scores along ``axis``.
    axis : int, default -1
        Class axis.

    Returns
    -------
    numpy.ndarray of int64, shape ``S``
        ``argmax`` along ``axis``.
    """
    Y = np.asarray(Y)
    if Y.ndim == 0:
        raise ValueError("Y must have at least one dimension (the class axis), got a scalar")
    return np.argmax(Y, axis=axis).astype(np.int64)


class Vocabulary:
    """Tokens of any hashable kind (characters, words, integers) <-> ids ``0 .. n-1`` <-> one-hot.

    Ids follow the order of first appearance in the sequences given to :meth:`fit` (or the
    order of ``tokens``), so the same data always gives the same ids.

    >>> vocab = Vocabulary().fit(["GATTACA", "CAT"])
    >>> vocab.tokens
    ['G', 'A', 'T', 'C']
    >>> vocab.encode(["CAT"]).tolist()
    [[3, 1, 2]]
    >>> vocab.decode(vocab.one_hot(["TAG"]))
    [['T', 'A', 'G']]
    """

    def __init__(self, tokens=()):
        self.tokens, self.ids = [], {}
        self.add(tokens)

    def add(self, tokens):
        """Append the tokens not yet known, in order."""
        for token in tokens:
            if token not in self.ids:
                self.ids[token] = len(self.tokens)
                self.tokens.append(token)
        return self

    def fit(self, sequences):
        """Learn every token of ``sequences`` (an iterable of sequences); returns self."""
        for sequence in sequences:
            self.add(sequence)
        return self

    def __len__(self):
        return len(self.tokens)

    def encode(self, sequences):
        """Integer ids, shape ``(m, s)``; all sequences must have the same length (pad first)."""
        rows = [list(sequence) for sequence in sequences]
        if not rows:
            return np.zeros((0, 0), dtype=np.int64)
        lengths = {len(row) for row in rows}
        if len(lengths) > 1:
            raise ValueError(f"Vocabulary.encode: sequences must have one length, got lengths "
                             f"{sorted(lengths)} (pad them first)")
        unknown = sorted({repr(t) for row in rows for t in row if t not in self.ids})
        if unknown:
            raise ValueError(f"Vocabulary.encode: unknown tokens {', '.join(unknown[:10])}; "
                             f"known: {len(self)} tokens (add or fit them first)")
        return np.array([[self.ids[t] for t in row] for row in rows], dtype=np.int64).reshape(
            len(rows), -1)

    def one_hot(self, sequences, dtype=np.float64):
        """One-hot vectors, shape ``(m, s, len(vocabulary))``."""
        return one_hot(self.encode(sequences), len(self), dtype=dtype)

    def decode(self, encoded):
        """Tokens back from ids ``(m, s)`` or from one-hot / probabilities ``(m, s, n)`` (argmax)."""
        ids = np.asarray(encoded)
        if ids.dtype.kind == "f":
            if ids.shape[-1:] != (len(self),):
                raise ValueError(f"Vocabulary.decode: one-hot input needs a last axis of "
                                 f"{len(self)}, got shape {ids.shape}")
            ids = from_one_hot(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"Vocabulary.decode: ids must be in [0, {len(self)}), got "
                             f"[{ids.min()}, {ids.max()}]")
        return np.vectorize(self.tokens.__getitem__, otypes=[object])(ids).tolist() \
            if ids.ndim else self.tokens[int(ids)]


def sliding_windows(series, lags: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into (lag window, future value) pairs.

    Parameters
    ----------
    series : array_like, shape (n,) or (n, f)
        The series; a 1-D series is treated as one feature (``f = 1``).
    lags : int >= 1
        Window length (number of past steps used as input).
    horizon : int >= 1, default 1
        How far ahead the target lies: ``horizon=1`` is one step ahead.

    Returns
    -------
    X : numpy.ndarray of float64, shape (m, lags, f)
        ``X[i] = series[i : i + lags]``.
    Y : numpy.ndarray of float64, shape (m, f)
        ``Y[i] = series[i + lags + horizon - 1]``.

    Notes
    -----
    ``m = n - lags - horizon + 1``; a ValueError is raised when ``m < 1``.
    """
    s = np.asarray(series, dtype=np.float64)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise ValueError(f"series must have shape (n,) or (n, f), got shape {np.shape(series)}")
    lags = _check_int("lags", lags, minimum=1)
    horizon = _check_int("horizon", horizon, minimum=1)
    n = s.shape[0]
    m = n - lags - horizon + 1
    if m < 1:
        raise ValueError(
            f"series is too short: need length >= lags + horizon = {lags + horizon}, got {n}"
        )
    idx = np.arange(m)[:, None] + np.arange(lags)[None, :]
    X = s[idx]
    Y = s[np.arange(m) + lags + horizon - 1]
    return X, Y


def pad_sequences(sequences, maxlen: int | None = None, value: float = 0.0,
                  padding: str = "post", truncating: str = "post",
                  dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Pad variable-length sequences into one array plus a step mask.

    Parameters
    ----------
    sequences : sequence of array_like
        Each item has shape ``(len_i,)`` or ``(len_i, *feature_shape)``; all
        items share the same feature shape.
    maxlen : int, optional
        Output length ``s``; defaults to the longest sequence.
    value : float, default 0.0
        Fill value for padded steps.
    padding : {"post", "pre"}, default "post"
        Pad at the end (real steps first) or at the start (real steps last).
    truncating : {"post", "pre"}, default "post"
        For sequences longer than ``maxlen``: drop steps at the end or start.
    dtype : numpy dtype, default float64

    Returns
    -------
    X : numpy.ndarray, shape (m, s) or (m, s, *feature_shape)
        Padded data.
    mask : numpy.ndarray of bool, shape (m, s)
        ``True`` on real steps.
    """
    padding = _check_choice("padding", padding, ("post", "pre"))
    truncating = _check_choice("truncating", truncating, ("post", "pre"))
    seqs = [np.asarray(q) for q in sequences]
    if any(q.ndim == 0 for q in seqs):
        raise ValueError("sequences must be arrays with a time axis first, got a scalar item")
    feat = {q.shape[1:] for q in seqs}
    if len(feat) > 1:
        raise ValueError(f"all sequences must share the same feature shape, got {sorted(feat)}")
    feat_shape = feat.pop() if feat else ()
    lengths = [len(q) for q in seqs]
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    maxlen = _check_int("maxlen", maxlen, minimum=0)
    X = np.full((len(seqs), maxlen) + feat_shape, value, dtype=dtype)
    mask = np.zeros((len(seqs), maxlen), dtype=bool)
    for i, q in enumerate(seqs):
        if len(q) > maxlen:
            q = q[:maxlen] if truncating == "post" else q[len(q) - maxlen:]
        L = len(q)
        if L == 0:
            continue
        if padding == "post":
            X[i, :L] = q
            mask[i, :L] = True
        else:
            X[i, maxlen - L:] = q
            mask[i, maxlen - L:] = True
    return X, mask


class Scaler:
    """Affine feature scaler fitted on training data only.

    ``transform(x) = (x - center_) / scale_`` and
    ``inverse_transform(z) = z * scale_ + center_``.

    Parameters
    ----------
    kind : {"standard", "minmax", "maxabs"}, default "standard"
        ``"standard"``: zero mean, unit variance (population std).
        ``"minmax"``: maps the training min / max to ``feature_range``.
        ``"maxabs"``: divides by the training maximum absolute value.
    feature_range : (float, float), default (0.0, 1.0)
        Target interval for ``"minmax"``.

    Notes
    -----
    Statistics reduce over every axis except the last one (one statistic per
    feature); a 1-D array is treated as a single feature. Constant features
    get ``scale_ = 1``. Call :meth:`fit` on the training split only and reuse
    the fitted scaler for validation and test data.

    Attributes
    ----------
    center_, scale_ : numpy.ndarray, shape (f,) (or () for 1-D input)
        Set by :meth:`fit`.
    """

    KINDS = ("standard", "minmax", "maxabs")

    def __init__(self, kind: str = "standard", feature_range: tuple[float, float] = (0.0, 1.0)):
        self.kind = _check_choice("kind", kind, self.KINDS)
        lo, hi = feature_range
        if not float(lo) < float(hi):
            raise ValueError(
                f"feature_range must be (low, high) with low < high, got {feature_range!r}"
            )
        self.feature_range = (float(lo), float(hi))
        self.center_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def _axes(self, X: np.ndarray) -> tuple[int, ...]:
        return tuple(range(X.ndim)) if X.ndim <= 1 else tuple(range(X.ndim - 1))

    def fit(self, X) -> "Scaler":
        """Compute the statistics of ``X`` (the training data). Returns self."""
        X = np.asarray(X, dtype=np.float64)
        if X.size == 0:
            raise ValueError("X must not be empty when fitting a Scaler")
        if not np.all(np.isfinite(X)):
            raise ValueError("X must be finite (no NaN / inf) when fitting a Scaler")
        ax = self._axes(X)
        if self.kind == "standard":
            center = X.mean(axis=ax)
            scale = X.std(axis=ax)
        elif self.kind == "minmax":
            lo, hi = self.feature_range
            xmin, xmax = X.min(axis=ax), X.max(axis=ax)
            scale = (xmax - xmin) / (hi - lo)
            scale = np.where(scale > 0, scale, 1.0)
            center = xmin - lo * scale
        else:  # maxabs
            center = np.zeros(X.shape[-1] if X.ndim > 1 else ())
            scale = np.abs(X).max(axis=ax)
        self.center_ = np.asarray(center, dtype=np.float64)
        self.scale_ = np.asarray(np.where(scale > 0, scale, 1.0), dtype=np.float64)
        return self

    def _check_fitted(self) -> None:
        if self.center_ is None:
            raise RuntimeError("Scaler is not fitted yet: call fit(X_train) first")

    def transform(self, X) -> np.ndarray:
        """Scale ``X`` with the fitted statistics."""
        self._check_fitted()
        return (np.asarray(X, dtype=np.float64) - self.center_) / self.scale_

    def inverse_transform(self, Z) -> np.ndarray:
        """Map scaled values back to original units."""
        self._check_fitted()
        return np.asarray(Z, dtype=np.float64) * self.scale_ + self.center_

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def __repr__(self) -> str:
        state = "unfitted" if self.center_ is None else f"center={self.center_}, scale={self.scale_}"
        return f"Scaler(kind={self.kind!r}, {state})"


def _largest_remainder(ideal: np.ndarray, total: int, cap: np.ndarray) -> np.ndarray:
    """Integers close to ``ideal`` (floors + largest remainders) summing to ``total``."""
    base = np.minimum(np.floor(ideal).astype(np.int64), cap)
    left = total - int(base.sum())
    order = np.argsort(-(ideal - base), kind="stable")
    while left > 0:
        progressed = False
        for c in order:
            if left == 0:
                break
            if base[c] < cap[c]:
                base[c] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return base


def train_val_test_split(X, Y, fractions=(0.8, 0.1, 0.1), seed=0, stratify=None,
                         mask=None, return_indices: bool = False):
    """Shuffle and split arrays into train / validation / test :class:`Split` objects.

    Parameters
    ----------
    X, Y : array_like, sample axis first, same length ``n``
    fractions : (float, float, float), default (0.8, 0.1, 0.1)
        Train, validation and test fractions, non-negative, summing to 1.
        ``n_test = round(n * f_test)``, ``n_val = round(n * f_val)``, the rest
        is training data.
    seed : int or numpy.random.Generator, default 0
        Shuffling seed.
    stratify : array_like, optional
        Class labels, shape (n,) (integers) or (n, k) (one-hot). Each split
        then keeps the class proportions (largest-remainder rounding, split
        sizes stay exactly as above).
    mask : array_like of bool, shape (n, s), optional
        Step mask, split along with X and Y.
    return_indices : bool, default False
        Also return the index arrays ``(i_train, i_val, i_test)`` into the
        original arrays.

    Returns
    -------
    train, val, test : Split
        (followed by ``(i_train, i_val, i_test)`` when ``return_indices``).
    """
    X = np.asarray(X)
    Y = np.asarray(Y)
    n = X.shape[0]
    if Y.shape[0] != n:
        raise ValueError(f"X and Y must have the same length, got {n} and {Y.shape[0]}")
    try:
        fr = np.asarray(fractions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"fractions must be three numbers, got {fractions!r}") from None
    if fr.shape != (3,) or np.any(fr < 0) or not np.isclose(fr.sum(), 1.0):
        raise ValueError(
            f"fractions must be three non-negative numbers (train, val, test) summing to 1, "
            f"got {fractions!r}"
        )
    rng = _rng(seed)
    n_test = int(round(n * fr[2]))
    n_val = int(round(n * fr[1]))
    if n_test + n_val > n:
        n_val = n - n_test
    perm = rng.permutation(n)
    if stratify is None:
        i_test = perm[:n_test]
        i_val = perm[n_test:n_test + n_val]
        i_train = perm[n_test + n_val:]
    else:
        lab = np.asarray(stratify)
        if lab.ndim == 2:
            lab = lab[:, 0] if lab.shape[1] == 1 else from_one_hot(lab)
        if lab.shape != (n,):
            raise ValueError(
                f"stratify must have shape ({n},) or ({n}, k), got {np.shape(stratify)}"
            )
        classes, inv = np.unique(lab, return_inverse=True)
        counts = np.bincount(inv, minlength=len(classes))
        t_c = _largest_remainder(counts * n_test / max(n, 1), n_test, counts)
        v_c = _largest_remainder(counts * n_val / max(n, 1), n_val, counts - t_c)
        parts = {"train": [], "val": [], "test": []}
        for c in range(len(classes)):
            idx = perm[inv[perm] == c]  # shuffled members of class c
            parts["test"].append(idx[:t_c[c]])
            parts["val"].append(idx[t_c[c]:t_c[c] + v_c[c]])
            parts["train"].append(idx[t_c[c] + v_c[c]:])
        # shuffle again so classes are interleaved inside each split
        i_train, i_val, i_test = (
            rng.permutation(np.concatenate(parts[k])) if parts[k] else np.zeros(0, np.int64)
            for k in ("train", "val", "test")
        )
    M = None if mask is None else np.asarray(mask, dtype=bool)
    splits = tuple(
        Split(X[i], Y[i], None if M is None else M[i]) for i in (i_train, i_val, i_test)
    )
    if return_indices:
        return splits + ((i_train.astype(np.int64), i_val.astype(np.int64), i_test.astype(np.int64)),)
    return splits


def majority_baseline(y_train, y_test) -> float:
    """Accuracy on ``y_test`` of always predicting the most frequent training class.

    Parameters
    ----------
    y_train, y_test : array_like
        Labels as int arrays (n,), 0/1 columns (n, 1) or one-hot (n, k).

    Returns
    -------
    float
        Fraction of test labels equal to the training majority class
        (``nan`` for an empty test set).
    """
    def labels(y):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            return from_one_hot(y)
        return np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64) if y.ndim > 1 else y.astype(np.int64)

    tr, te = labels(y_train), labels(y_test)
    if len(te) == 0:
        return float("nan")
    vals, counts = np.unique(tr, return_counts=True)
    return float(np.mean(te == vals[np.argmax(counts)]))
