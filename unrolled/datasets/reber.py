"""The (embedded) Reber grammar: strings, a parser, the legal next symbols and the dataset.

Split sizes and seeds follow the convention of :mod:`unrolled.datasets.generated`.
"""

from __future__ import annotations

import numpy as np

from ._splits import _SPLITS, _sizes
from .base import Dataset, Split
from .utils import (
    _check_int,
    _rng,
    _split_rngs,
    pad_sequences,
)

__all__ = ["embedded_reber", "reber_strings", "is_reber", "reber_legal_next", "REBER_SYMBOLS"]

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
