"""Sequence-to-sequence tasks with unsynchronized input and output (encoder-decoder).

Both tasks return one-hot source strings ``X (m, s_in, v_in)`` and target token ids
``Y (m, s_out)`` over a target vocabulary whose id 0 is the decoder's start token (never a
target). ``extras`` holds ``source_vocab``, ``target_vocab``, ``encode_source(strings)`` and
``decode_target(ids)``.
"""

from __future__ import annotations

import numpy as np

from .base import Dataset, Split
from .utils import _check_int, _split_rngs

__all__ = ["reverse_digits", "addition_strings"]

START = "^"


def _make(name, parts, source_vocab, target_vocab, info):
    src_index = {c: i for i, c in enumerate(source_vocab)}
    tgt_index = {c: i for i, c in enumerate(target_vocab)}

    def encode_source(strings):
        ids = np.array([[src_index[c] for c in s] for s in strings], dtype=np.intp)
        return np.eye(len(source_vocab))[ids]

    def encode_target(strings):
        return np.array([[tgt_index[c] for c in s] for s in strings], dtype=np.int64)

    def decode_target(ids):
        return ["".join(target_vocab[i] for i in row) for row in np.asarray(ids)]

    splits = {k: Split(encode_source(src), encode_target(tgt)) for k, (src, tgt) in parts.items()}
    extras = {"source_vocab": source_vocab, "target_vocab": target_vocab, "start_id": 0,
              "encode_source": encode_source, "encode_target": encode_target,
              "decode_target": decode_target,
              "strings": {k: v for k, v in parts.items()}}
    return Dataset(name, splits["train"], splits["val"], splits["test"], info, extras)


def reverse_digits(n_train: int = 5000, n_val: int = 500, n_test: int = 1000, length: int = 8,
                   seed=0) -> Dataset:
    """Reverse a string of decimal digits: ``"20471"`` -> ``"17402"``.

    The classic first test of an encoder-decoder (Sutskever, Vinyals & Le 2014 reverse the
    source to ease learning; here the reversal *is* the task): the decoder must emit the
    last-read digit first, so everything passes through the state hand-over.

    Returns
    -------
    Dataset
        ``X (m, length, 10)`` one-hot digits, ``Y (m, length)`` ids over ``"^0123456789"``
        (id 0 = start token). Baseline: the most frequent digit at every position scores
        about 10% per token and 1e-length exact match.
    """
    length = _check_int("length", length, minimum=1)
    sizes = {"train": _check_int("n_train", n_train, minimum=1),
             "val": _check_int("n_val", n_val, minimum=0),
             "test": _check_int("n_test", n_test, minimum=1)}
    parts = {}
    for (split, n), rng in zip(sizes.items(), _split_rngs(seed)):
        digits = rng.integers(0, 10, (n, length))
        src = ["".join(map(str, row)) for row in digits]
        parts[split] = (src, [s[::-1] for s in src])
    info = {"description": f"reverse a string of {length} decimal digits",
            "source": "Sutskever, Vinyals & Le (2014), Sequence to sequence learning with neural "
                      "networks; a standard encoder-decoder toy task",
            "task": "sequence-to-sequence", "shapes": f"X (m, {length}, 10), Y (m, {length}) ids",
            "baseline": {"token_accuracy_chance": 0.1, "exact_match_chance": 10.0 ** -length},
            "reference": "a small LSTM/GRU encoder-decoder reaches ~100% exact match"}
    return _make("reverse_digits", parts, list("0123456789"), list(START + "0123456789"), info)


def addition_strings(n_train: int = 20000, n_val: int = 1000, n_test: int = 1000,
                     digits: int = 3, seed=0) -> Dataset:
    """Add two numbers written as characters: ``"12+345 "`` -> ``"357 "``.

    The query is ``a+b`` right-padded with spaces to ``2 * digits + 1`` characters, the answer
    ``a + b`` right-padded to ``digits + 1`` characters (the Keras "addition RNN" example, after
    Zaremba & Sutskever 2014, Learning to execute). Numbers have 1 to ``digits`` digits, drawn
    with a uniform number of digits.

    Returns
    -------
    Dataset
        ``X (m, 2*digits+1, 12)`` one-hot over ``"0123456789+ "``, ``Y (m, digits+1)`` ids over
        ``"^0123456789 "`` (id 0 = start token).
    """
    digits = _check_int("digits", digits, minimum=1, maximum=9)
    sizes = {"train": _check_int("n_train", n_train, minimum=1),
             "val": _check_int("n_val", n_val, minimum=0),
             "test": _check_int("n_test", n_test, minimum=1)}
    q_len, a_len = 2 * digits + 1, digits + 1

    def number(rng, n):
        lengths = rng.integers(1, digits + 1, n)
        return np.array([rng.integers(0, 10 ** L) for L in lengths], dtype=np.int64)

    parts = {}
    for (split, n), rng in zip(sizes.items(), _split_rngs(seed)):
        a, b = number(rng, n), number(rng, n)
        src = [f"{x}+{y}".ljust(q_len) for x, y in zip(a, b)]
        tgt = [str(x + y).ljust(a_len) for x, y in zip(a, b)]
        parts[split] = (src, tgt)
    info = {"description": f"add two numbers of up to {digits} digits written as characters",
            "source": "Zaremba & Sutskever (2014), Learning to execute; the Keras addition RNN "
                      "example",
            "task": "sequence-to-sequence", "shapes": f"X (m, {q_len}, 12), Y (m, {a_len}) ids",
            "baseline": {"exact_match_chance": 0.0},
            "reference": "Keras' LSTM encoder-decoder: ~99% validation accuracy for 3 digits"}
    return _make("addition_strings", parts, list("0123456789+ "), list(START + "0123456789 "), info)
