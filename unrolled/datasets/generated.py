"""Synthetic sequence datasets generated on the fly (deterministic per seed).

Every loader takes split sizes ``n_train, n_val, n_test`` and a ``seed``
(int >= 0 or :class:`numpy.random.Generator`). With an int seed each split is
drawn from its own child generator (``SeedSequence(seed).spawn(3)``), so the
training data do not change when only ``n_val`` or ``n_test`` change (the one
exception, documented there, is :func:`binary_addition`, whose validation and
test pairs are drawn so that they never repeat a training pair).

Binary tasks (:func:`parity`, :func:`boolean_majority`,
:func:`string_first_last`, :func:`signal_in_noise`, :func:`small_images`)
return ``Y`` of shape ``(m, 1)`` with values 0.0 / 1.0, or one-hot ``(m, 2)``
with ``one_hot=True``; their classes are balanced within every split (the
counts differ by at most one).
"""

from __future__ import annotations

import numpy as np

from .base import Dataset, Split
from .utils import (
    _check_choice,
    _check_float,
    _check_int,
    _rng,
    _split_rngs,
    majority_baseline,
    one_hot as _one_hot,
    pad_sequences,
)

__all__ = [
    "binary_addition",
    "int_to_bits",
    "bits_to_int",
    "adding_problem",
    "embedded_reber",
    "reber_strings",
    "is_reber",
    "reber_legal_next",
    "REBER_SYMBOLS",
    "parity",
    "sine",
    "boolean_majority",
    "string_first_last",
    "signal_in_noise",
    "small_images",
]

_SPLITS = ("train", "val", "test")

_EPYNN = (
    "Malard, F., Danner, L., Rouzies, E., Meyer, J. G., Lescop, E. & Olivier-Van Stichelen, S. "
    "(2022). EpyNN: Educational python for Neural Networks. SoftwareX 19, 101140 "
    "(its dummy sample-data generators inspired this set)."
)


def _sizes(n_train, n_val, n_test) -> tuple[int, int, int]:
    return (
        _check_int("n_train", n_train, minimum=1),
        _check_int("n_val", n_val, minimum=0),
        _check_int("n_test", n_test, minimum=1),
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
# binary addition
# =========================================================================== #
def int_to_bits(values, bits: int) -> np.ndarray:
    """Binary expansion, least-significant bit first.

    Parameters
    ----------
    values : array_like of int, shape (m,)
        Non-negative integers ``< 2**bits``.
    bits : int
        Number of bits.

    Returns
    -------
    numpy.ndarray of float64, shape (m, bits)
        ``out[i, k]`` is bit ``k`` (weight ``2**k``) of ``values[i]``.
    """
    bits = _check_int("bits", bits, minimum=1, maximum=62)
    v = np.asarray(values, dtype=np.int64)
    if v.size and (v.min() < 0 or v.max() >= 2 ** bits):
        raise ValueError(f"values must lie in [0, 2**bits={2 ** bits}), got range "
                         f"[{int(v.min())}, {int(v.max())}]")
    return ((v[..., None] >> np.arange(bits, dtype=np.int64)) & 1).astype(np.float64)


def bits_to_int(bit_seqs, threshold: float = 0.5) -> np.ndarray:
    """Decode least-significant-first bit sequences to integers.

    Parameters
    ----------
    bit_seqs : array_like, shape (m, bits) or (m, bits, 1)
        Bits or network outputs; values ``> threshold`` count as 1.
    threshold : float, default 0.5

    Returns
    -------
    numpy.ndarray of int64, shape (m,)
        ``sum_k bit[k] * 2**k``.
    """
    b = np.asarray(bit_seqs, dtype=np.float64)
    if b.ndim == 3 and b.shape[-1] == 1:
        b = b[..., 0]
    if b.ndim == 1:
        b = b[None, :]
    if b.ndim != 2:
        raise ValueError(f"bit_seqs must have shape (m, bits) or (m, bits, 1), got {np.shape(bit_seqs)}")
    if b.shape[1] > 62:
        raise ValueError(f"at most 62 bits can be decoded, got {b.shape[1]}")
    return ((b > threshold).astype(np.int64) << np.arange(b.shape[1], dtype=np.int64)).sum(axis=1)


def _sample_sum_pairs(rng: np.random.Generator, n: int, N: int, exclude: np.ndarray) -> np.ndarray:
    """n distinct codes a*N + b with a + b < N, uniform, none of them in ``exclude``."""
    n_pairs = N * (N + 1) // 2
    if n > n_pairs - len(exclude):
        raise ValueError(
            f"binary_addition: only {n_pairs - len(exclude)} distinct pairs (a, b) with a + b < 2**bits "
            f"remain for this split, but {n} were requested; lower the split sizes or raise bits"
        )
    if n == 0:
        return np.zeros(0, np.int64)
    if n_pairs <= 1 << 22:
        a = np.repeat(np.arange(N, dtype=np.int64), N - np.arange(N))
        start = np.cumsum(np.concatenate([[0], N - np.arange(N - 1)]))
        b = np.arange(n_pairs, dtype=np.int64) - np.repeat(start, N - np.arange(N))
        codes = a * N + b
        if len(exclude):
            codes = codes[~np.isin(codes, exclude)]
        return rng.choice(codes, size=n, replace=False)
    out = np.zeros(0, np.int64)
    taken = np.asarray(exclude, dtype=np.int64)
    while len(out) < n:
        k = 2 * (n - len(out)) + 16
        a = rng.integers(0, N, size=k)
        b = rng.integers(0, N, size=k)
        c = (a * N + b)[a + b < N]
        c = c[~np.isin(c, taken)]
        _, first = np.unique(c, return_index=True)
        c = c[np.sort(first)][: n - len(out)]
        out = np.concatenate([out, c])
        taken = np.concatenate([taken, c])
    return out


def binary_addition(n_train: int = 2000, n_val: int = 500, n_test: int = 1000, bits: int = 8,
                    seed=0) -> Dataset:
    """Binary addition, read and written least-significant bit first.

    Two integers ``a, b >= 0`` with ``a + b < 2**bits`` are drawn uniformly
    among all such pairs; at step ``t`` the network reads bit ``t`` of ``a``
    and of ``b`` and must output bit ``t`` of ``a + b`` (synchronized
    many-to-many; the carry has to be remembered from the previous step).

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes. All pairs are distinct, within and across splits (a
        ValueError is raised when more pairs are requested than exist).
    bits : int, default 8
        Sequence length (1 <= bits <= 31).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, bits, 2) float64: ``X[i, t] = (bit t of a, bit t of b)``.
        ``Y`` (m, bits, 1) float64: bit ``t`` of ``a + b``.
        ``extras``: ``"a"``, ``"b"`` (dicts split -> int64 (m,)),
        ``"bits_to_int"`` and ``"int_to_bits"`` (the decoding helpers).
        ``info["baseline"]`` (test split): bit / whole-sum accuracy of the
        memoryless rule ``a XOR b`` (addition without carry).

    Notes
    -----
    The validation pairs are drawn to avoid the training pairs and the test
    pairs to avoid both, so they depend on ``n_train`` (and ``n_val``).

    References
    ----------
    Quast, B. (2016). rnn: a Recurrent Neural Network in R. R package,
    example of ``trainr`` (binary addition of 8-bit numbers, bits reversed
    so that the least-significant bit comes first).
    """
    sizes = _sizes(n_train, n_val, n_test)
    bits = _check_int("bits", bits, minimum=1, maximum=31)
    N = 2 ** bits
    rngs = _split_rngs(seed)
    used = np.zeros(0, np.int64)
    splits, A, B = {}, {}, {}
    for name, n, rng in zip(_SPLITS, sizes, rngs):
        codes = _sample_sum_pairs(rng, n, N, used)
        used = np.concatenate([used, codes])
        a, b = codes // N, codes % N
        X = np.stack([int_to_bits(a, bits), int_to_bits(b, bits)], axis=-1)
        Y = int_to_bits(a + b, bits)[..., None]
        splits[name] = Split(X, Y)
        A[name], B[name] = a, b
    Xt, Yt = splits["test"].X, splits["test"].Y[..., 0]
    xor = np.logical_xor(Xt[..., 0] > 0.5, Xt[..., 1] > 0.5)
    info = {
        "description": f"Binary addition of two numbers with a + b < 2**{bits}, "
                       "bits least-significant first (carry must be remembered).",
        "source": "Quast, B. (2016). rnn: a Recurrent Neural Network in R (R package), trainr example.",
        "task": "many-to-many",
        "shapes": f"X (m, {bits}, 2), Y (m, {bits}, 1)",
        "baseline": {
            "xor_bit_accuracy": float(np.mean(xor == (Yt > 0.5))),
            "xor_sum_accuracy": float(np.mean(np.all(xor == (Yt > 0.5), axis=1))),
        },
        "reference": "Learned to 100% test accuracy by small RNNs (the R rnn package example uses "
                     "a 16-unit RNN on 8-bit numbers).",
    }
    extras = {"a": A, "b": B, "bits_to_int": bits_to_int, "int_to_bits": int_to_bits}
    return Dataset("binary_addition", splits["train"], splits["val"], splits["test"], info, extras)


# =========================================================================== #
# adding problem
# =========================================================================== #
def _adding_split(rng: np.random.Generator, n: int, T: int, variant: str):
    rows = np.arange(n)
    marker = np.zeros((n, T))
    if variant == "modern":
        values = rng.uniform(0.0, 1.0, size=(n, T))
        i1 = rng.integers(0, T // 2, size=n)
        i2 = rng.integers(T // 2, T, size=n)
        marker[rows, i1] = 1.0
        marker[rows, i2] = 1.0
        y = values[rows, i1] + values[rows, i2]
    else:
        values = rng.uniform(-1.0, 1.0, size=(n, T))
        K = T // 2 - 1
        i1 = rng.integers(0, min(10, T), size=n)
        j = rng.integers(0, K - 1, size=n)
        free = rng.integers(0, K, size=n)
        i2 = np.where(i1 < K, j + (j >= i1), free)  # uniform among unmarked of the first K
        marker[:, 0] = -1.0
        marker[:, -1] = -1.0
        marker[rows, i1] = 1.0
        marker[rows, i2] = 1.0
        values[i1 == 0, 0] = 0.0  # "if the first pair is marked, X1 is set to zero"
        values[i2 == 0, 0] = 0.0
        y = 0.5 + (values[rows, i1] + values[rows, i2]) / 4.0
    X = np.stack([values, marker], axis=-1)
    return X, y[:, None]


def adding_problem(n_train: int = 5000, n_val: int = 1000, n_test: int = 1000, T: int = 50,
                   variant: str = "modern", seed=0) -> Dataset:
    """The adding problem (long-range memory, many-to-one regression).

    Each step carries a value and a marker; the target is computed from the
    two marked values only and is given after the last step.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    T : int, default 50
        Sequence length (``>= 2`` for ``"modern"``, ``>= 6`` for ``"original"``).
    variant : {"modern", "original"}, default "modern"
        ``"modern"`` (Le, Jaitly & Hinton, 2015): values ~ U(0, 1), exactly
        two markers (1.0), one uniformly in the first ``T // 2`` steps and one
        in the remaining steps; target = sum of the two marked values.
        ``"original"`` (Hochreiter & Schmidhuber, 1997, experiment 4): values
        ~ U(-1, 1); the first marker is one of the first 10 steps, the second
        one of the first ``T // 2 - 1`` still unmarked steps; the first and last
        steps carry marker -1 when not marked; a value marked at step 0 is
        set to 0; target = ``0.5 + (x1 + x2) / 4``. Simplification: all
        sequences have length ``T`` (the paper draws lengths in
        ``[T, T + T/10]``).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, T, 2) float64: ``X[..., 0]`` values, ``X[..., 1]`` markers.
        ``Y`` (m, 1) float64 target.
        ``info["baseline"]`` (test split): ``"predict_1_mse"`` (always
        predict 1; about 1/6 for ``"modern"``) and ``"predict_train_mean_mse"``.

    References
    ----------
    Le, Q. V., Jaitly, N. & Hinton, G. E. (2015). A simple way to initialize
    recurrent networks of rectified linear units. arXiv:1504.00941.
    Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory. Neural
    Computation 9(8), 1735-1780.
    """
    sizes = _sizes(n_train, n_val, n_test)
    variant = _check_choice("variant", variant, ("modern", "original"))
    T = _check_int("T", T, minimum=2 if variant == "modern" else 6)
    rngs = _split_rngs(seed)
    splits = {name: Split(*_adding_split(rng, n, T, variant))
              for name, n, rng in zip(_SPLITS, sizes, rngs)}
    yt = splits["test"].Y
    mean_tr = float(splits["train"].Y.mean())
    if variant == "modern":
        src = ("Le, Q. V., Jaitly, N. & Hinton, G. E. (2015). A simple way to initialize recurrent "
               "networks of rectified linear units. arXiv:1504.00941.")
        ref = ("Le et al. (2015) use always predicting 1 (MSE about 0.17; 1/6 in theory) as the "
               "baseline an RNN must beat, for T = 150 to 750.")
    else:
        src = ("Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory. Neural Computation "
               "9(8), 1735-1780 (experiment 4).")
        ref = ("Hochreiter & Schmidhuber (1997) count a test sequence as solved when the absolute "
               "error at the end is below 0.04; LSTM solves T = 100 to 1000.")
    info = {
        "description": f"Adding problem ({variant} variant), T = {T}: output a function of the two "
                       "marked values after the last step.",
        "source": src,
        "task": "many-to-one",
        "shapes": f"X (m, {T}, 2) [value, marker], Y (m, 1)",
        "baseline": {
            "predict_1_mse": float(np.mean((yt - 1.0) ** 2)),
            "predict_train_mean_mse": float(np.mean((yt - mean_tr) ** 2)),
        },
        "reference": ref,
    }
    return Dataset("adding_problem", splits["train"], splits["val"], splits["test"], info,
                   {"variant": variant})


# =========================================================================== #
# (embedded) Reber grammar
# =========================================================================== #
REBER_SYMBOLS = "BTSXPVE"
_SYM_INDEX = {c: i for i, c in enumerate(REBER_SYMBOLS)}
# Reber (1967) automaton: state -> {symbol: next state}; state 1 follows the
# initial B, state 0 is final (after E). Each choice has probability 1/2.
_REBER = {
    1: {"T": 2, "P": 3},
    2: {"S": 2, "X": 4},
    3: {"T": 3, "V": 5},
    4: {"X": 3, "S": 6},
    5: {"P": 4, "V": 6},
    6: {"E": 0},
}


def _reber_walk(rng: np.random.Generator) -> str:
    out, state = ["B"], 1
    while state != 0:
        options = list(_REBER[state].items())
        sym, state = options[rng.integers(0, len(options))] if len(options) > 1 else options[0]
        out.append(sym)
    return "".join(out)


def reber_strings(n: int, embedded: bool = True, seed=0) -> list[str]:
    """Draw fresh strings from the (embedded) Reber grammar.

    Parameters
    ----------
    n : int
        Number of strings.
    embedded : bool, default True
        ``True``: embedded grammar ``B c <Reber string> c E`` with ``c`` = T or
        P chosen with probability 1/2. ``False``: plain Reber strings.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    list of str
        Strings over ``"BTSXPVE"``; every branch of the automaton is taken
        with probability 1/2.

    References
    ----------
    Reber, A. S. (1967). Implicit learning of artificial grammars. Journal of
    Verbal Learning and Verbal Behavior 6(6), 855-863.
    Cleeremans, A., Servan-Schreiber, D. & McClelland, J. L. (1989). Finite
    state automata and simple recurrent networks. Neural Computation 1(3),
    372-381 (embedded version).
    """
    n = _check_int("n", n, minimum=0)
    rng = _rng(seed)
    out = []
    for _ in range(n):
        inner = _reber_walk(rng)
        if embedded:
            c = "T" if rng.integers(0, 2) == 0 else "P"
            out.append("B" + c + inner + c + "E")
        else:
            out.append(inner)
    return out


def _reber_parse(s: str, embedded: bool):
    """Legal next-symbol sets after each prefix; (complete, legal_list)."""
    legal: list[set] = []

    def parse_inner(k: int):
        # returns index after the inner string, or None on error
        if k >= len(s) or s[k] != "B":
            return None
        state = 1
        legal.append(set(_REBER[1]))
        k += 1
        while state != 0:
            if k >= len(s) or s[k] not in _REBER[state]:
                return None
            state = _REBER[state][s[k]]
            k += 1
            if state != 0:
                legal.append(set(_REBER[state]))
        return k

    if not embedded:
        k = parse_inner(0)
        if k is None or k != len(s):
            return False, legal
        legal.append(set())
        return True, legal
    if len(s) < 2 or s[0] != "B":
        return False, legal
    legal.append({"T", "P"})
    if s[1] not in ("T", "P"):
        return False, legal
    c = s[1]
    legal.append({"B"})
    k = parse_inner(2)
    if k is None:
        return False, legal
    legal.append({c})  # after the inner E only the remembered symbol is legal
    if k >= len(s) or s[k] != c:
        return False, legal
    legal.append({"E"})
    if k + 1 >= len(s) or s[k + 1] != "E" or k + 2 != len(s):
        return False, legal
    legal.append(set())
    return True, legal


def is_reber(string: str, embedded: bool = True) -> bool:
    """Whether ``string`` belongs to the (embedded) Reber grammar.

    Parameters
    ----------
    string : str
        Candidate string over ``"BTSXPVE"``.
    embedded : bool, default True
        Check against the embedded grammar (``B c <Reber> c E``, c in {T, P})
        or the plain one.

    Returns
    -------
    bool
    """
    if not isinstance(string, str):
        raise ValueError(f"string must be a str, got {type(string).__name__}")
    return _reber_parse(string, embedded)[0]


def reber_legal_next(string: str, embedded: bool = True) -> np.ndarray:
    """Legal next symbols at each prediction step of a grammatical string.

    Parameters
    ----------
    string : str
        A grammatical string of length ``L``.
    embedded : bool, default True

    Returns
    -------
    numpy.ndarray of bool, shape (L - 1, 7)
        Row ``t`` flags the symbols (in ``"BTSXPVE"`` order) that may follow
        ``string[: t + 1]``; ``string[t + 1]`` is always among them.
    """
    ok, legal = _reber_parse(string, embedded)
    if not ok:
        raise ValueError(f"string is not a {'embedded ' if embedded else ''}Reber string: {string!r}")
    out = np.zeros((len(string) - 1, len(REBER_SYMBOLS)), dtype=bool)
    for t, allowed in enumerate(legal[:-1]):
        out[t, [_SYM_INDEX[c] for c in allowed]] = True
    return out


def embedded_reber(n_train: int = 256, n_val: int = 256, n_test: int = 256, seed=0) -> Dataset:
    """Next-symbol prediction on the embedded Reber grammar.

    Strings have the form ``B c <Reber string> c E`` with ``c`` in {T, P}:
    predicting the second-to-last symbol requires remembering ``c`` across
    the whole inner string (the long-lag step).

    Parameters
    ----------
    n_train, n_val, n_test : int, default 256 each (as in Hochreiter &
        Schmidhuber, 1997). Strings are drawn independently, so short strings
        occur repeatedly, also across splits.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        For a string of length ``L``: ``X[i, t]`` = one-hot of symbol ``t``
        and ``Y[i, t]`` = one-hot of symbol ``t + 1``, ``t = 0 .. L - 2``.
        ``X`` (m, s, 7), ``Y`` (m, s, 7) float64 with ``s`` = longest ``L - 1``
        in the split, padded with zeros after the end; ``mask`` (m, s).
        Symbol order is ``REBER_SYMBOLS = "BTSXPVE"``.
        ``extras``:

        * ``"legal"``: split -> bool (m, s, 7), the legal next symbols at
          each step (all False on padding);
        * ``"long_lag_step"``: split -> int64 (m,), the step whose target is
          the second-to-last symbol (``L - 3``);
        * ``"strings"``: split -> list of str;
        * ``"symbols"``: ``"BTSXPVE"``; ``"generate"``: :func:`reber_strings`;
          ``"is_grammatical"``: :func:`is_reber`.

        ``info["baseline"]`` (test split) scores a first-order (bigram) model
        fitted on the training split: fraction of real steps whose argmax is
        legal, accuracy at the long-lag step (about 0.5, no memory) and the
        fraction of strings with every step legal.

    References
    ----------
    Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory. Neural
    Computation 9(8), 1735-1780 (experiment 1).
    Reber, A. S. (1967). Implicit learning of artificial grammars. Journal of
    Verbal Learning and Verbal Behavior 6(6), 855-863.
    """
    sizes = _sizes(n_train, n_val, n_test)
    rngs = _split_rngs(seed)
    splits, legal, lag, strings = {}, {}, {}, {}
    eye = np.eye(len(REBER_SYMBOLS))
    for name, n, rng in zip(_SPLITS, sizes, rngs):
        strs = reber_strings(n, embedded=True, seed=rng)
        ids = [np.array([_SYM_INDEX[c] for c in s]) for s in strs]
        X, mask = pad_sequences([eye[i[:-1]] for i in ids])
        Y, _ = pad_sequences([eye[i[1:]] for i in ids])
        L, _ = pad_sequences([reber_legal_next(s) for s in strs], dtype=bool, value=False)
        splits[name] = Split(X, Y, mask)
        legal[name] = L
        lag[name] = np.array([len(s) - 3 for s in strs], dtype=np.int64)
        strings[name] = strs
    # bigram baseline: next symbol given the current one, counted on train
    tr = splits["train"]
    counts = np.einsum("mse,msk->ek", tr.X * tr.mask[..., None], tr.Y)
    best = np.argmax(counts, axis=1)  # per current symbol
    te = splits["test"]
    pred = best[np.argmax(te.X, axis=-1)]  # (m, s)
    is_legal = np.take_along_axis(legal["test"], pred[..., None], axis=-1)[..., 0]
    real = te.mask
    rows = np.arange(len(te))
    at_lag = np.argmax(te.Y[rows, lag["test"]], axis=-1)
    info = {
        "description": "Embedded Reber grammar, next-symbol prediction over 'BTSXPVE'; the "
                       "second-to-last symbol repeats the second one (long time lag).",
        "source": "Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory. Neural "
                  "Computation 9(8), 1735-1780; grammar from Reber (1967), embedding from "
                  "Cleeremans, Servan-Schreiber & McClelland (1989).",
        "task": "next-step",
        "shapes": "X (m, s, 7), Y (m, s, 7), mask (m, s); extras['legal'] (m, s, 7)",
        "baseline": {
            "bigram_legal_step_fraction": float(is_legal[real].mean()),
            "bigram_long_lag_accuracy": float(np.mean(pred[rows, lag["test"]] == at_lag)),
            "bigram_all_steps_legal_fraction": float(np.mean(np.all(is_legal | ~real, axis=1))),
        },
        "reference": "Hochreiter & Schmidhuber (1997), Table 1: LSTM learns the task (all legal "
                     "symbols predicted at every step of every test string) in nearly all trials, "
                     "where Elman nets and RTRL mostly fail.",
    }
    extras = {"legal": legal, "long_lag_step": lag, "strings": strings, "symbols": REBER_SYMBOLS,
              "generate": reber_strings, "is_grammatical": is_reber}
    return Dataset("embedded_reber", splits["train"], splits["val"], splits["test"], info, extras)


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
# sine forecasting
# =========================================================================== #
def sine(n_train: int = 1000, n_val: int = 200, n_test: int = 200, steps: int = 50,
         noise: float = 0.05, freq_range: tuple[float, float] = (0.02, 0.1), seed=0) -> Dataset:
    """Noisy sine waves, one-step-ahead forecasting at every step.

    ``x_t = sin(2 pi f t + phi) + eps_t`` for ``t = 0 .. steps`` with
    ``f ~ U(freq_range)`` (cycles per step), ``phi ~ U(0, 2 pi)`` and
    ``eps_t ~ N(0, noise**2)``.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    steps : int, default 50
        Sequence length ``s``.
    noise : float >= 0, default 0.05
        Standard deviation of the additive Gaussian noise.
    freq_range : (float, float), default (0.02, 0.1)
        Frequency range in cycles per step (``0 < low <= high <= 0.5``).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, steps, 1) = ``x_0 .. x_{steps-1}``, ``Y`` (m, steps, 1) =
        ``x_1 .. x_steps`` (synchronized, the series shifted by one).
        ``extras``: ``"freq"``, ``"phase"`` (split -> (m,)) and ``"clean"``
        (split -> noise-free targets (m, steps, 1)).
        ``info["baseline"]`` (test): ``"persistence_mse"`` (predict
        ``x_{t+1} = x_t``) and ``"zero_mse"``.

    References
    ----------
    Standard toy forecasting task; the persistence (naive) forecast is the
    usual reference (Hyndman, R. J. & Athanasopoulos, G., Forecasting:
    Principles and Practice, 3rd ed., OTexts, 2021, section 5.2).
    """
    sizes = _sizes(n_train, n_val, n_test)
    steps = _check_int("steps", steps, minimum=1)
    noise = _check_float("noise", noise, minimum=0.0)
    try:
        lo, hi = (float(v) for v in freq_range)
    except (TypeError, ValueError):
        raise ValueError(f"freq_range must be two numbers (low, high), got {freq_range!r}") from None
    if not (0.0 < lo <= hi <= 0.5):
        raise ValueError(f"freq_range must satisfy 0 < low <= high <= 0.5, got {freq_range!r}")
    rngs = _split_rngs(seed)
    t = np.arange(steps + 1)
    splits, freq, phase, clean = {}, {}, {}, {}
    for name, n, rng in zip(_SPLITS, sizes, rngs):
        f = rng.uniform(lo, hi, size=n)
        ph = rng.uniform(0.0, 2 * np.pi, size=n)
        c = np.sin(2 * np.pi * f[:, None] * t[None, :] + ph[:, None])
        x = c + noise * rng.standard_normal(c.shape)
        splits[name] = Split(x[:, :-1, None], x[:, 1:, None])
        freq[name], phase[name], clean[name] = f, ph, c[:, 1:, None]
    te = splits["test"]
    info = {
        "description": f"Sine waves (f in [{lo}, {hi}] cycles/step, random phase, noise sd "
                       f"{noise}), predict the next value at each of {steps} steps.",
        "source": "Synthetic; persistence baseline as in Hyndman & Athanasopoulos (2021), "
                  "Forecasting: Principles and Practice.",
        "task": "next-step",
        "shapes": f"X (m, {steps}, 1), Y (m, {steps}, 1)",
        "baseline": {
            "persistence_mse": float(np.mean((te.Y - te.X) ** 2)),
            "zero_mse": float(np.mean(te.Y ** 2)),
        },
        "reference": "",
    }
    return Dataset("sine", splits["train"], splits["val"], splits["test"], info,
                   {"freq": freq, "phase": phase, "clean": clean})


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
