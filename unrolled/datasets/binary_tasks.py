"""Binary classification of sequences: parity of bit strings and the EpyNN-like smoke sets.

Every task returns ``Y`` of shape ``(m, 1)`` with values 0.0 / 1.0, or one-hot ``(m, 2)`` with
``one_hot=True``; the classes are balanced within every split (the counts differ by at most one).

Split sizes and seeds follow the convention of :mod:`unrolled.datasets.generated`.
"""

from __future__ import annotations

import numpy as np

from ._splits import _SPLITS, _sizes
from .base import Dataset, Split
from .utils import (
    _check_choice,
    _check_float,
    _check_int,
    majority_baseline,
    one_hot as _one_hot,
    pad_sequences,
    _split_rngs,
)

__all__ = ["parity", "boolean_majority", "string_first_last", "signal_in_noise", "small_images"]

_EPYNN = (
    "Malard, F., Danner, L., Rouzies, E., Meyer, J. G., Lescop, E. & Olivier-Van Stichelen, S. "
    "(2022). EpyNN: Educational python for Neural Networks. SoftwareX 19, 101140 "
    "(its dummy sample-data generators inspired this set)."
)


def _balanced_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """n labels in {0, 1}, counts differing by at most one, in random order."""
    lab = np.arange(n) % 2
    if n % 2:  # the odd one out is a fair coin, not always class 0
        lab[-1] = rng.integers(0, 2)
    return rng.permutation(lab).astype(np.int64)


def _binary_Y(labels: np.ndarray, one_hot: bool) -> np.ndarray:
    if one_hot:
        return _one_hot(labels, 2)
    return labels.astype(np.float64)[:, None]


def _binary_info_Y(one_hot: bool) -> str:
    return "Y (m, 2) one-hot" if one_hot else "Y (m, 1) in {0, 1}"


# =========================================================================== #
# parity
# =========================================================================== #
def parity(n_train: int = 2000, n_val: int = 500, n_test: int = 1000, min_len: int = 1,
           max_len: int = 50, padding: str = "post", seed=0) -> Dataset:
    """Parity of variable-length bit strings (many-to-one).

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    min_len, max_len : int, default 1 and 50
        Lengths are uniform in ``[min_len, max_len]``.
    padding : {"post", "pre"}, default "post"
        Where the padding goes: after the real bits (``"post"``) or before
        them (``"pre"``, so that the last step is always real).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, max_len, 1) float64 bits (0 on padding), ``mask``
        (m, max_len), ``Y`` (m, 1) float64: 1.0 if the number of ones is odd.
        Classes are balanced within every split: labels are drawn first and
        the last bit is set to match, so that conditional on the label the
        string is uniform. ``extras["lengths"]``: split -> int64 (m,).
        ``info["baseline"]``: majority-class accuracy on the test split.

    References
    ----------
    Minsky, M. & Papert, S. (1969). Perceptrons. MIT Press.
    Hochreiter, S. & Schmidhuber, J. (1997). LSTM can solve hard long time
    lag problems. NIPS 9, 473-479.
    """
    sizes = _sizes(n_train, n_val, n_test)
    min_len = _check_int("min_len", min_len, minimum=1)
    max_len = _check_int("max_len", max_len, minimum=min_len)
    padding = _check_choice("padding", padding, ("post", "pre"))
    rngs = _split_rngs(seed)
    splits, lengths = {}, {}
    for name, n, rng in zip(_SPLITS, sizes, rngs):
        lab = _balanced_labels(rng, n)
        lens = rng.integers(min_len, max_len + 1, size=n)
        bits = rng.integers(0, 2, size=(n, max_len))
        seqs = []
        for i in range(n):
            b = bits[i, :lens[i]].copy()
            b[-1] = (lab[i] - b[:-1].sum()) % 2
            seqs.append(b[:, None].astype(np.float64))
        X, mask = pad_sequences(seqs, maxlen=max_len, padding=padding)
        splits[name] = Split(X, lab.astype(np.float64)[:, None], mask)
        lengths[name] = lens.astype(np.int64)
    info = {
        "description": f"Parity of random bit strings of length {min_len}..{max_len} "
                       f"({padding}-padded, see mask).",
        "source": "Minsky & Papert (1969), Perceptrons; Hochreiter & Schmidhuber (1997), LSTM can "
                  "solve hard long time lag problems, NIPS 9.",
        "task": "many-to-one",
        "shapes": f"X (m, {max_len}, 1), mask (m, {max_len}), Y (m, 1) in {{0, 1}}",
        "baseline": {"majority_accuracy": majority_baseline(splits["train"].Y, splits["test"].Y)},
        "reference": "",
    }
    return Dataset("parity", splits["train"], splits["val"], splits["test"], info,
                   {"lengths": lengths})

# =========================================================================== #
# EpyNN-like smoke sets
# =========================================================================== #
def _binary_dataset(name, parts, one_hot, info, extras):
    splits = {k: Split(X, _binary_Y(lab, one_hot)) for k, (X, lab) in parts.items()}
    labels = {k: lab for k, (_, lab) in parts.items()}
    info["baseline"] = {"majority_accuracy": majority_baseline(labels["train"], labels["test"])}
    info.setdefault("reference", "")
    extras["labels"] = labels
    return Dataset(name, splits["train"], splits["val"], splits["test"], info, extras)


def boolean_majority(n_train: int = 1000, n_val: int = 200, n_test: int = 200,
                     n_features: int = 11, one_hot: bool = False, seed=0) -> Dataset:
    """Boolean vectors labelled by whether True is the majority.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    n_features : int, odd, default 11
        Number of booleans (odd, so there are no ties).
    one_hot : bool, default False
        Return ``Y`` as one-hot (m, 2) instead of (m, 1).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, n_features, 1) float64 in {0, 1} (a sequence of booleans;
        reshape to (m, n_features) for a dense model), ``Y`` (m, 1): 1.0 when
        more than half of the features are 1. Balanced within each split
        (a vector with the wrong majority is complemented, which keeps it
        uniform within its class). ``extras["labels"]``: split -> int64.
        ``info["baseline"]``: majority-class accuracy on the test split.

    References
    ----------
    Malard et al. (2022), EpyNN: Educational python for Neural Networks,
    SoftwareX 19, 101140 (``dummy_boolean`` sample data).
    """
    sizes = _sizes(n_train, n_val, n_test)
    n_features = _check_int("n_features", n_features, minimum=1)
    if n_features % 2 == 0:
        raise ValueError(f"n_features must be odd (no ties), got {n_features}")
    parts = {}
    for name, n, rng in zip(_SPLITS, sizes, _split_rngs(seed)):
        lab = _balanced_labels(rng, n)
        b = rng.integers(0, 2, size=(n, n_features))
        maj = (2 * b.sum(axis=1) > n_features).astype(np.int64)
        b[maj != lab] = 1 - b[maj != lab]
        parts[name] = (b[..., None].astype(np.float64), lab)
    info = {
        "description": f"{n_features} random booleans; label 1 if True is the majority.",
        "source": _EPYNN,
        "task": "many-to-one",
        "shapes": f"X (m, {n_features}, 1), {_binary_info_Y(one_hot)}",
    }
    return _binary_dataset("boolean_majority", parts, one_hot, info, {})


def string_first_last(n_train: int = 1000, n_val: int = 200, n_test: int = 200,
                      length: int = 12, alphabet: str = "ACGT", one_hot: bool = False,
                      seed=0) -> Dataset:
    """Random strings labelled by whether the first and last characters match.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    length : int >= 2, default 12
        String length ``s``.
    alphabet : str, default "ACGT"
        At least two distinct characters; the vocabulary order is the
        alphabet order.
    one_hot : bool, default False
        Return ``Y`` as one-hot (m, 2) instead of (m, 1).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, length, vocab) float64 one-hot characters, ``Y`` (m, 1):
        1.0 when ``string[0] == string[-1]``. Balanced within each split (the
        last character is set to match or to differ from the first, uniformly
        among the allowed characters). ``extras``: ``"strings"`` (split ->
        list of str), ``"alphabet"``, ``"labels"``.
        ``info["baseline"]``: majority-class accuracy on the test split.

    References
    ----------
    Malard et al. (2022), EpyNN: Educational python for Neural Networks,
    SoftwareX 19, 101140 (``dummy_string`` sample data).
    """
    sizes = _sizes(n_train, n_val, n_test)
    length = _check_int("length", length, minimum=2)
    if not isinstance(alphabet, str) or len(set(alphabet)) != len(alphabet) or len(alphabet) < 2:
        raise ValueError(f"alphabet must be a str of at least 2 distinct characters, got {alphabet!r}")
    V = len(alphabet)
    parts, strings = {}, {}
    for name, n, rng in zip(_SPLITS, sizes, _split_rngs(seed)):
        lab = _balanced_labels(rng, n)
        ids = rng.integers(0, V, size=(n, length))
        other = (ids[:, 0] + rng.integers(1, V, size=n)) % V  # uniform among != first
        ids[:, -1] = np.where(lab == 1, ids[:, 0], other)
        parts[name] = (_one_hot(ids, V), lab)
        strings[name] = ["".join(alphabet[j] for j in row) for row in ids]
    info = {
        "description": f"Strings of length {length} over {alphabet!r}; label 1 if the first "
                       "character equals the last.",
        "source": _EPYNN,
        "task": "many-to-one",
        "shapes": f"X (m, {length}, {V}) one-hot, {_binary_info_Y(one_hot)}",
    }
    return _binary_dataset("string_first_last", parts, one_hot, info,
                           {"strings": strings, "alphabet": alphabet})


def signal_in_noise(n_train: int = 1000, n_val: int = 200, n_test: int = 200, steps: int = 64,
                    pattern_len: int = 16, amplitude: float = 1.0, noise: float = 0.5,
                    one_hot: bool = False, seed=0) -> Dataset:
    """Gaussian noise series, half of them with an embedded signal burst.

    The pattern is ``amplitude * hann(pattern_len) * sin(4 pi k / pattern_len)``
    (two periods under a Hann window), added at a uniformly random offset.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    steps : int, default 64
        Series length.
    pattern_len : int, default 16
        Burst length (``4 <= pattern_len <= steps``).
    amplitude : float, default 1.0
        Burst peak amplitude.
    noise : float, default 0.5
        Noise standard deviation.
    one_hot : bool, default False
        Return ``Y`` as one-hot (m, 2) instead of (m, 1).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, steps, 1) float64, ``Y`` (m, 1): 1.0 when the burst is
        present. Balanced within each split. ``extras``: ``"pattern"``
        (pattern_len,), ``"offset"`` (split -> int64, -1 when absent),
        ``"labels"``. ``info["baseline"]``: majority-class accuracy (test).

    References
    ----------
    Malard et al. (2022), EpyNN: Educational python for Neural Networks,
    SoftwareX 19, 101140 (``dummy_time`` sample data).
    """
    sizes = _sizes(n_train, n_val, n_test)
    steps = _check_int("steps", steps, minimum=4)
    pattern_len = _check_int("pattern_len", pattern_len, minimum=4, maximum=steps)
    amplitude = _check_float("amplitude", amplitude, minimum=0.0, min_inclusive=False)
    noise = _check_float("noise", noise, minimum=0.0)
    k = np.arange(pattern_len)
    pattern = amplitude * np.hanning(pattern_len) * np.sin(4 * np.pi * k / pattern_len)
    parts, offsets = {}, {}
    for name, n, rng in zip(_SPLITS, sizes, _split_rngs(seed)):
        lab = _balanced_labels(rng, n)
        x = noise * rng.standard_normal((n, steps))
        off = rng.integers(0, steps - pattern_len + 1, size=n)
        off = np.where(lab == 1, off, -1)
        for i in np.flatnonzero(lab == 1):
            x[i, off[i]:off[i] + pattern_len] += pattern
        parts[name] = (x[..., None], lab)
        offsets[name] = off.astype(np.int64)
    info = {
        "description": f"Gaussian noise (sd {noise}) of {steps} steps; label 1 if a {pattern_len}-step "
                       f"sine burst (amplitude {amplitude}) is embedded.",
        "source": _EPYNN,
        "task": "many-to-one",
        "shapes": f"X (m, {steps}, 1), {_binary_info_Y(one_hot)}",
    }
    return _binary_dataset("signal_in_noise", parts, one_hot, info,
                           {"pattern": pattern, "offset": offsets})


def small_images(n_train: int = 1000, n_val: int = 200, n_test: int = 200, size: int = 8,
                 background: float = 0.5, one_hot: bool = False, seed=0) -> Dataset:
    """Tiny noisy grey images with or without a bright bar.

    Background pixels are ``U(0, background)``; positive images get one full
    bright bar (a row or a column, orientation and position uniform) with
    pixels ``U(0.8, 1.0)``.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    size : int >= 2, default 8
        Images are ``size x size``.
    background : float in (0, 0.8), default 0.5
        Upper bound of the background intensity.
    one_hot : bool, default False
        Return ``Y`` as one-hot (m, 2) instead of (m, 1).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, size, size) float64 in [0, 1] (read row by row: ``size``
        steps of ``size`` features), ``Y`` (m, 1): 1.0 when a bar is present.
        Balanced within each split. ``extras``: ``"orientation"`` (split ->
        int64: 0 none, 1 horizontal / row, 2 vertical / column),
        ``"position"`` (row or column index, -1 when absent), ``"labels"``.
        ``info["baseline"]``: majority-class accuracy (test).

    References
    ----------
    Malard et al. (2022), EpyNN: Educational python for Neural Networks,
    SoftwareX 19, 101140 (``dummy_image`` sample data).
    """
    sizes = _sizes(n_train, n_val, n_test)
    size = _check_int("size", size, minimum=2)
    background = _check_float("background", background, minimum=0.0, maximum=0.8,
                              min_inclusive=False, max_inclusive=False)
    parts, orient, pos = {}, {}, {}
    for name, n, rng in zip(_SPLITS, sizes, _split_rngs(seed)):
        lab = _balanced_labels(rng, n)
        img = rng.uniform(0.0, background, size=(n, size, size))
        o = np.where(lab == 1, rng.integers(1, 3, size=n), 0)
        p = np.where(lab == 1, rng.integers(0, size, size=n), -1)
        bright = rng.uniform(0.8, 1.0, size=(n, size))
        for i in np.flatnonzero(o == 1):
            img[i, p[i], :] = bright[i]
        for i in np.flatnonzero(o == 2):
            img[i, :, p[i]] = bright[i]
        parts[name] = (img, lab)
        orient[name], pos[name] = o.astype(np.int64), p.astype(np.int64)
    info = {
        "description": f"{size}x{size} noisy images; label 1 if a bright full row or column is present.",
        "source": _EPYNN,
        "task": "classification",
        "shapes": f"X (m, {size}, {size}), {_binary_info_Y(one_hot)}",
    }
    return _binary_dataset("small_images", parts, one_hot, info,
                           {"orientation": orient, "position": pos})
