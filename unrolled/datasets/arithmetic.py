"""Arithmetic on sequences: binary addition (many-to-many, bit by bit) and the adding problem
(many-to-one, long-range memory), with the bit helpers they use.

Split sizes and seeds follow the convention of :mod:`unrolled.datasets.generated`.
"""

from __future__ import annotations

import numpy as np

from ._splits import _SPLITS, _sizes
from .base import Dataset, Split
from .utils import (
    _check_choice,
    _check_int,
    _split_rngs,
)

__all__ = ["binary_addition", "int_to_bits", "bits_to_int", "adding_problem"]

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
