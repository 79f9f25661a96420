"""Tests for unrolled.datasets.

Expected values are recomputed here from first principles (regular
expressions for the Reber grammar, the raw data files read with the standard
library, hand-written sums), never copied from the code under test.
"""

import collections
import csv
import gzip
import math
import re
from pathlib import Path

import numpy as np
import pytest

import unrolled.datasets as D
from unrolled.datasets import Dataset, Split

DATA = Path(D.__file__).parent / "data"

# small sizes keep the whole file fast
SMALL = {
    "binary_addition": dict(n_train=300, n_val=50, n_test=100),
    "adding_problem": dict(n_train=200, n_val=50, n_test=100, T=20),
    "embedded_reber": dict(n_train=60, n_val=20, n_test=40),
    "parity": dict(n_train=200, n_val=40, n_test=100, max_len=20),
    "sine": dict(n_train=100, n_val=20, n_test=40, steps=30),
    "boolean_majority": dict(n_train=201, n_val=41, n_test=60),
    "string_first_last": dict(n_train=201, n_val=41, n_test=60),
    "signal_in_noise": dict(n_train=201, n_val=41, n_test=60),
    "small_images": dict(n_train=201, n_val=41, n_test=60),
    "digits": {},
    "iris": {},
    "sunspots": {},
    "co2": {},
    "text": dict(seq_len=50),
    "reverse_digits": dict(n_train=100, n_val=20, n_test=30, length=6),
    "addition_strings": dict(n_train=200, n_val=20, n_test=30, digits=3),
    "dates": dict(n_train=200, n_val=30, n_test=30),
    "dummy_boolean": dict(n_samples=60, n_test=40),
    "dummy_string": dict(n_samples=90, n_test=40),
    "dummy_time": dict(n_samples=90, n_test=40),
    "dummy_image": dict(n_samples=60, n_test=30, height=12, width=12),
}
GENERATED = ["reverse_digits", "addition_strings", "dates", "binary_addition", "adding_problem", "embedded_reber", "parity", "sine",
             "boolean_majority", "string_first_last", "signal_in_noise", "small_images"]
BALANCED = ["parity", "boolean_majority", "string_first_last", "signal_in_noise", "small_images"]
SPLITS = ("train", "val", "test")


def load(name, **kw):
    args = dict(SMALL[name])
    args.update(kw)
    return D.LOADERS[name](**args)


# --------------------------------------------------------------------------- #
# generic properties of every loader
# --------------------------------------------------------------------------- #
def test_loaders_dict_complete():
    assert set(D.LOADERS) == set(SMALL)
    for fn in D.LOADERS.values():
        assert callable(fn) and fn.__doc__ and "Returns" in fn.__doc__


def test_generated_sets_live_in_one_module_per_family_and_keep_their_old_homes():
    import importlib
    import unrolled.datasets.generated as generated
    families = {"arithmetic": {"binary_addition", "adding_problem", "int_to_bits", "bits_to_int"},
                "reber": {"embedded_reber", "reber_strings", "is_reber", "reber_legal_next",
                          "REBER_SYMBOLS"},
                "binary_tasks": {"parity", "boolean_majority", "string_first_last",
                                 "signal_in_noise", "small_images"},
                "waves": {"sine"}}
    assert set(generated.__all__) == set().union(*families.values())
    for family, names in families.items():
        module = importlib.import_module(f"unrolled.datasets.{family}")
        assert set(module.__all__) == names, family
        for name in names:   # one object, reachable from the family, generated and the package
            assert getattr(module, name) is getattr(generated, name) is getattr(D, name), name


@pytest.mark.parametrize("name", sorted(SMALL))
def test_structure_and_dtypes(name):
    ds = load(name)
    assert isinstance(ds, Dataset)
    for key in ("description", "source", "task", "shapes", "baseline", "reference"):
        assert key in ds.info, key
    assert ds.info["task"] in {"many-to-one", "many-to-many", "regression", "classification",
                               "next-step", "sequence-to-sequence"}
    assert isinstance(ds.info["baseline"], dict) and ds.info["baseline"]
    for v in ds.info["baseline"].values():
        assert np.isfinite(v)
    for sname in SPLITS:
        sp = ds.split(sname)
        assert isinstance(sp, Split)
        X, Y = sp  # unpacking works
        assert X is sp.X and Y is sp.Y
        assert len(sp) == X.shape[0] == Y.shape[0]
        if name in ("text", "dates"):        # token ids in, token ids out
            assert X.dtype == np.int64 and Y.dtype == np.int64
        elif ds.info["task"] == "sequence-to-sequence":   # one-hot sources, target token ids
            assert X.dtype == np.float64 and Y.dtype == np.int64
        else:
            assert X.dtype == np.float64 and Y.dtype == np.float64
            assert np.all(np.isfinite(X)) and np.all(np.isfinite(Y))
        if sp.mask is not None:
            assert sp.mask.dtype == bool and sp.mask.shape == X.shape[:2]
    assert len(ds.train) > 0 and len(ds.test) > 0


@pytest.mark.parametrize("name", sorted(SMALL))
def test_same_seed_same_data(name):
    a, b = load(name, seed=3), load(name, seed=3)
    for sname in SPLITS:
        sa, sb = a.split(sname), b.split(sname)
        np.testing.assert_array_equal(sa.X, sb.X)
        np.testing.assert_array_equal(sa.Y, sb.Y)
        if sa.mask is not None:
            np.testing.assert_array_equal(sa.mask, sb.mask)


@pytest.mark.parametrize("name", GENERATED + ["dummy_boolean", "dummy_string", "dummy_time",
                                               "dummy_image"])
def test_different_seed_different_data(name):
    a, b = load(name, seed=0), load(name, seed=1)
    for sname in SPLITS:
        assert not np.array_equal(a.split(sname).X, b.split(sname).X) or \
            a.split(sname).X.shape != b.split(sname).X.shape


@pytest.mark.parametrize("name", GENERATED)
def test_generated_split_sizes_and_generator_seed(name):
    kw = SMALL[name]
    ds = load(name)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (kw["n_train"], kw["n_val"], kw["n_test"])
    g1 = load(name, seed=np.random.default_rng(11))
    g2 = load(name, seed=np.random.default_rng(11))
    np.testing.assert_array_equal(g1.train.X, g2.train.X)
    np.testing.assert_array_equal(g1.test.Y, g2.test.Y)


@pytest.mark.parametrize("name", BALANCED)
def test_balanced_classes_and_majority_baseline(name):
    ds = load(name)
    for sname in SPLITS:
        y = ds.split(sname).Y[:, 0]
        assert set(np.unique(y)) <= {0.0, 1.0}
        n1 = int(y.sum())
        assert abs(n1 - (len(y) - n1)) <= 1, (sname, n1, len(y))
    yt = ds.test.Y[:, 0]
    expected = max(np.mean(yt == 0), np.mean(yt == 1))
    assert abs(ds.info["baseline"]["majority_accuracy"] - 0.5) <= 0.5 / len(yt) + 1e-12
    assert ds.info["baseline"]["majority_accuracy"] <= expected + 1e-12


@pytest.mark.parametrize("name", [n for n in BALANCED if n != "parity"])
def test_binary_one_hot_option(name):
    a = load(name)
    b = load(name, one_hot=True)
    assert b.train.Y.shape == (len(a.train), 2)
    np.testing.assert_array_equal(b.train.Y[:, 1], a.train.Y[:, 0])
    np.testing.assert_array_equal(b.train.Y.sum(axis=1), 1.0)


def test_train_unchanged_when_test_size_changes():
    a = D.parity(n_train=50, n_val=10, n_test=10, seed=4)
    b = D.parity(n_train=50, n_val=30, n_test=70, seed=4)
    np.testing.assert_array_equal(a.train.X, b.train.X)


# --------------------------------------------------------------------------- #
# binary addition
# --------------------------------------------------------------------------- #
def _bits_value(bits_row):
    return sum(int(round(b)) << k for k, b in enumerate(bits_row))


def test_binary_addition_targets_are_sums():
    bits = 8
    ds = D.binary_addition(n_train=300, n_val=50, n_test=100, bits=bits, seed=2)
    seen = set()
    for sname in SPLITS:
        X, Y = ds.split(sname)
        assert X.shape == (len(X), bits, 2) and Y.shape == (len(X), bits, 1)
        assert set(np.unique(X)) <= {0.0, 1.0} and set(np.unique(Y)) <= {0.0, 1.0}
        for i in range(len(X)):
            a, b = _bits_value(X[i, :, 0]), _bits_value(X[i, :, 1])
            s = _bits_value(Y[i, :, 0])
            assert a + b < 2 ** bits
            assert s == a + b
            assert (a, b) not in seen  # no pair repeated within or across splits
            seen.add((a, b))
        np.testing.assert_array_equal(ds.extras["a"][sname], [_bits_value(r) for r in X[:, :, 0]])


def test_binary_addition_helpers_and_xor_baseline():
    vals = np.array([0, 1, 5, 200, 255])
    B = D.int_to_bits(vals, 8)
    for v, row in zip(vals, B):
        assert "".join(str(int(b)) for b in row[::-1]) == format(v, "08b")
    np.testing.assert_array_equal(D.bits_to_int(B), vals)
    np.testing.assert_array_equal(D.bits_to_int(B[..., None] * 0.9), vals)  # soft outputs
    ds = D.binary_addition(n_train=100, n_val=10, n_test=200, bits=6, seed=0)
    X, Y = ds.test
    correct = 0
    for i in range(len(X)):
        a, b = _bits_value(X[i, :, 0]), _bits_value(X[i, :, 1])
        correct += int((a ^ b) == a + b)  # xor == sum iff there is no carry
    assert ds.info["baseline"]["xor_sum_accuracy"] == pytest.approx(correct / len(X))


def test_binary_addition_too_many_pairs():
    with pytest.raises(ValueError, match="distinct pairs"):
        D.binary_addition(n_train=10, n_val=0, n_test=10, bits=2)  # only 10 pairs exist


# --------------------------------------------------------------------------- #
# adding problem
# --------------------------------------------------------------------------- #
def test_adding_problem_modern():
    T = 30
    ds = D.adding_problem(n_train=100, n_val=10, n_test=2000, T=T, seed=5)
    X, Y = ds.test
    assert X.shape == (2000, T, 2) and Y.shape == (2000, 1)
    assert np.all((X[..., 0] >= 0) & (X[..., 0] < 1))
    for i in range(0, 2000, 7):
        marks = np.flatnonzero(X[i, :, 1] == 1.0)
        assert len(marks) == 2 and np.count_nonzero(X[i, :, 1]) == 2
        assert marks[0] < T // 2 <= marks[1]
        assert Y[i, 0] == pytest.approx(X[i, marks[0], 0] + X[i, marks[1], 0])
    base = ds.info["baseline"]["predict_1_mse"]
    assert base == pytest.approx(np.mean((Y - 1.0) ** 2))
    assert abs(base - 1.0 / 6.0) < 0.02  # Var(U1 + U2) = 2/12


def test_adding_problem_original():
    T = 40
    ds = D.adding_problem(n_train=500, n_val=0, n_test=10, T=T, variant="original", seed=1)
    X, Y = ds.train
    assert len(ds.val) == 0
    assert np.all(np.abs(X[..., 0]) <= 1)
    first_marked = 0
    for i in range(len(X)):
        m = X[i, :, 1]
        marks = np.flatnonzero(m == 1.0)
        assert len(marks) == 2
        # one marker among the first ten steps, the other among the first T/2 - 1
        p, q = marks
        assert (p < 10 and q < T // 2 - 1) or (q < 10 and p < T // 2 - 1)
        if 0 not in marks:
            assert m[0] == -1.0
        else:  # "in the rare case where the first pair is marked, X1 is set to zero"
            assert X[i, 0, 0] == 0.0
            first_marked += 1
        assert m[-1] == -1.0
        assert np.all(m[1:-1][~np.isin(np.arange(1, T - 1), marks)] == 0)
        assert Y[i, 0] == pytest.approx(0.5 + (X[i, marks[0], 0] + X[i, marks[1], 0]) / 4)
    assert np.all((Y >= 0) & (Y <= 1))
    assert first_marked > 10  # P(first pair marked) = 1/10


# --------------------------------------------------------------------------- #
# embedded Reber grammar (checked against an independent regular expression)
# --------------------------------------------------------------------------- #
_R3 = "(?:T*VPX)*T*V(?:V|PS)"
_REBER_RE = f"B(?:TS*X(?:S|X{_R3})|P{_R3})E"
REBER = re.compile(f"^{_REBER_RE}$")
EMBEDDED = re.compile(f"^B(?:T{_REBER_RE}TE|P{_REBER_RE}PE)$")
SYMS = "BTSXPVE"


def test_regex_sanity():
    for s in ["BTXSE", "BPVVE", "BTSSXXTVVE", "BPTVPSE"]:
        assert REBER.match(s)
    for s in ["BTXE", "BPVE", "BTSSXXTVPE"]:
        assert not REBER.match(s)


def test_reber_strings_grammatical_and_checker_agrees():
    strs = D.reber_strings(300, seed=0)
    assert len(set(strs)) > 30
    assert all(EMBEDDED.match(s) for s in strs)
    assert all(D.is_reber(s) for s in strs)
    plain = D.reber_strings(200, embedded=False, seed=1)
    assert all(REBER.match(s) and D.is_reber(s, embedded=False) for s in plain)
    # corrupted strings: the checker must agree with the regex
    rng = np.random.default_rng(0)
    for s in strs[:150]:
        k = rng.integers(0, len(s))
        t = s[:k] + SYMS[rng.integers(0, 7)] + s[k + 1:]
        assert D.is_reber(t) == bool(EMBEDDED.match(t)), t
        u = s[:k] + s[k + 1:]
        assert D.is_reber(u) == bool(EMBEDDED.match(u)), u
    assert not D.is_reber("BTBTXSEPE")  # wrong remembered symbol
    assert D.is_reber("BTBTXSETE")


def test_embedded_reber_dataset():
    ds = D.embedded_reber(n_train=80, n_val=20, n_test=50, seed=7)
    for sname in SPLITS:
        sp = ds.split(sname)
        strs = ds.extras["strings"][sname]
        legal = ds.extras["legal"][sname]
        lag = ds.extras["long_lag_step"][sname]
        lengths = np.array([len(s) for s in strs])
        assert sp.X.shape == (len(strs), lengths.max() - 1, 7) == sp.Y.shape == legal.shape
        np.testing.assert_array_equal(sp.mask.sum(axis=1), lengths - 1)
        for i, s in enumerate(strs):
            assert EMBEDDED.match(s)
            L = len(s)
            decoded_in = "".join(SYMS[j] for j in sp.X[i, :L - 1].argmax(axis=1))
            decoded_out = "".join(SYMS[j] for j in sp.Y[i, :L - 1].argmax(axis=1))
            assert decoded_in == s[:-1] and decoded_out == s[1:]
            assert np.all(sp.X[i, L - 1:] == 0) and not sp.mask[i, L - 1:].any()
            # the true next symbol is always legal
            for t in range(L - 1):
                assert legal[i, t, SYMS.index(s[t + 1])]
            assert not legal[i, L - 1:].any()
            # fixed points of the embedded grammar
            assert set(np.flatnonzero(legal[i, 0])) == {SYMS.index("T"), SYMS.index("P")}
            assert lag[i] == L - 3
            assert s[lag[i] + 1] == s[1]
            assert np.flatnonzero(legal[i, lag[i]]).tolist() == [SYMS.index(s[1])]
            assert np.flatnonzero(legal[i, L - 2]).tolist() == [SYMS.index("E")]


def test_reber_legal_sets_match_observed_continuations():
    strs = D.reber_strings(3000, seed=1)
    observed = collections.defaultdict(set)
    for s in strs:
        for t in range(len(s) - 1):
            observed[s[:t + 1]].add(s[t + 1])
    counts = collections.Counter(s[:t + 1] for s in strs for t in range(len(s) - 1))
    checked = 0
    for s in strs[:300]:
        legal = D.reber_legal_next(s)
        for t in range(len(s) - 1):
            lset = {SYMS[j] for j in np.flatnonzero(legal[t])}
            prefix = s[:t + 1]
            assert observed[prefix] <= lset
            if counts[prefix] >= 30:  # every legal branch has probability >= 1/2
                assert observed[prefix] == lset, prefix
                checked += 1
    assert checked > 100
    with pytest.raises(ValueError):
        D.reber_legal_next("BTXSE")  # plain string is not embedded


# --------------------------------------------------------------------------- #
# parity
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("padding", ["post", "pre"])
def test_parity_labels(padding):
    ds = D.parity(n_train=300, n_val=10, n_test=10, min_len=3, max_len=25, padding=padding, seed=9)
    X, Y = ds.train
    mask = ds.train.mask
    assert X.shape == (300, 25, 1) and Y.shape == (300, 1) and mask.shape == (300, 25)
    lengths = mask.sum(axis=1)
    assert lengths.min() >= 3 and lengths.max() <= 25
    np.testing.assert_array_equal(lengths, ds.extras["lengths"]["train"])
    for i in range(len(X)):
        bits = [int(b) for b, m in zip(X[i, :, 0], mask[i]) if m]
        assert set(bits) <= {0, 1}
        assert Y[i, 0] == sum(bits) % 2
        assert np.all(X[i, ~mask[i], 0] == 0)
        real = np.flatnonzero(mask[i])
        assert np.all(np.diff(real) == 1)  # contiguous
        if padding == "post":
            assert real[0] == 0
        else:
            assert real[-1] == 24


# --------------------------------------------------------------------------- #
# sine
# --------------------------------------------------------------------------- #
def test_sine_shift_and_persistence():
    ds = D.sine(n_train=20, n_val=5, n_test=30, steps=40, noise=0.0, seed=2)
    X, Y = ds.test
    assert X.shape == Y.shape == (30, 40, 1)
    np.testing.assert_array_equal(Y[:, :-1], X[:, 1:])
    t = np.arange(41)
    f, ph = ds.extras["freq"]["test"], ds.extras["phase"]["test"]
    for i in range(30):
        series = np.array([math.sin(2 * math.pi * f[i] * k + ph[i]) for k in t])
        np.testing.assert_allclose(X[i, :, 0], series[:-1], atol=1e-12)
        np.testing.assert_allclose(Y[i, :, 0], series[1:], atol=1e-12)
    expected = np.mean([(Y[i, k, 0] - X[i, k, 0]) ** 2 for i in range(30) for k in range(40)])
    assert ds.info["baseline"]["persistence_mse"] == pytest.approx(expected)
    noisy = D.sine(n_train=20, n_val=5, n_test=30, steps=40, noise=0.1, seed=2)
    resid = noisy.test.Y - noisy.extras["clean"]["test"]
    assert 0.07 < resid.std() < 0.13


# --------------------------------------------------------------------------- #
# EpyNN-like smoke sets
# --------------------------------------------------------------------------- #
def test_boolean_majority_labels():
    ds = D.boolean_majority(n_train=101, n_val=11, n_test=21, n_features=9, seed=3)
    X, Y = ds.train
    assert X.shape == (101, 9, 1)
    for i in range(101):
        trues = sum(int(v) for v in X[i, :, 0])
        assert Y[i, 0] == (1.0 if trues > 9 - trues else 0.0)
    with pytest.raises(ValueError, match="n_features"):
        D.boolean_majority(n_features=10)


def test_string_first_last_labels():
    ds = D.string_first_last(n_train=101, n_val=11, n_test=21, length=7, alphabet="xyz", seed=3)
    X, Y = ds.train
    assert X.shape == (101, 7, 3)
    np.testing.assert_array_equal(X.sum(axis=-1), 1.0)
    for i in range(101):
        s = "".join("xyz"[j] for j in X[i].argmax(axis=1))
        assert s == ds.extras["strings"]["train"][i]
        assert Y[i, 0] == float(s[0] == s[-1])
    # the middle characters are not constant
    assert len({s[1:-1] for s in ds.extras["strings"]["train"]}) > 50


def test_signal_in_noise_content_matches_label():
    ds = D.signal_in_noise(n_train=200, n_val=10, n_test=10, steps=64, pattern_len=16, seed=4)
    X, Y = ds.train
    pattern = ds.extras["pattern"]
    off = ds.extras["offset"]["train"]
    assert np.all((off >= 0) == (Y[:, 0] == 1))
    # a matched filter separates the classes well above chance
    score = np.array([max(np.dot(X[i, k:k + 16, 0], pattern) for k in range(64 - 16 + 1))
                      for i in range(len(X))])
    thr = np.median(score)
    acc = np.mean((score > thr) == (Y[:, 0] == 1))
    assert acc > 0.85


def test_small_images_bar_matches_label():
    ds = D.small_images(n_train=200, n_val=10, n_test=10, size=6, seed=5)
    X, Y = ds.train
    assert X.shape == (200, 6, 6)
    assert X.min() >= 0 and X.max() <= 1
    for i in range(200):
        bar = any(np.all(X[i, r, :] >= 0.8) for r in range(6)) or \
            any(np.all(X[i, :, c] >= 0.8) for c in range(6))
        assert bar == (Y[i, 0] == 1.0)


# --------------------------------------------------------------------------- #
# real data: compare against the raw files read with the standard library
# --------------------------------------------------------------------------- #
def _raw_digits():
    with gzip.open(DATA / "digits.csv.gz", "rt") as fh:
        return [[int(v) for v in row] for row in csv.reader(fh)]


def test_digits():
    rows = _raw_digits()
    assert len(rows) == 1797
    ds = D.digits(seed=1, val_fraction=0.1, test_fraction=0.2)
    sizes = [len(ds.split(s)) for s in SPLITS]
    assert sum(sizes) == 1797 and sizes[2] == round(0.2 * 1797) and sizes[1] == round(0.1 * 1797)
    idx = ds.extras["indices"]
    allidx = np.concatenate([idx[s] for s in SPLITS])
    assert len(np.unique(allidx)) == 1797  # no overlap, full coverage
    overall = collections.Counter(r[64] for r in rows)
    for sname in SPLITS:
        X, Y = ds.split(sname)
        assert X.shape == (len(X), 8, 8) and Y.shape == (len(X), 10)
        assert X.min() >= 0 and X.max() <= 1
        np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
        for k in range(0, len(X), 17):
            raw = rows[idx[sname][k]]
            np.testing.assert_array_equal(X[k].ravel() * 16, raw[:64])
            assert Y[k].argmax() == raw[64]
        counts = collections.Counter(Y.argmax(axis=1).tolist())
        for c in range(10):  # stratified: class counts proportional within rounding
            assert abs(counts[c] - overall[c] * len(X) / 1797) <= 1.5
    other = D.digits(seed=2)
    assert not np.array_equal(other.extras["indices"]["test"], idx["test"])


def test_iris_scaler_uses_train_only():
    with open(DATA / "iris.csv") as fh:
        lines = fh.read().strip().splitlines()[1:]
    raw = np.array([[float(v) for v in ln.split(",")] for ln in lines])
    ds = D.iris(seed=0)
    idx = ds.extras["indices"]
    assert [len(idx[s]) for s in SPLITS] == [90, 30, 30]
    assert len(np.unique(np.concatenate([idx[s] for s in SPLITS]))) == 150
    train_raw = raw[idx["train"], :4]
    mu = [sum(train_raw[:, j]) / len(train_raw) for j in range(4)]
    sd = [math.sqrt(sum((x - mu[j]) ** 2 for x in train_raw[:, j]) / len(train_raw)) for j in range(4)]
    for sname in SPLITS:
        X, Y = ds.split(sname)
        expected = (raw[idx[sname], :4] - np.array(mu)) / np.array(sd)
        np.testing.assert_allclose(X, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(Y.argmax(axis=1), raw[idx[sname], 4].astype(int))
    np.testing.assert_allclose(ds.train.X.mean(axis=0), 0, atol=1e-12)
    assert not np.allclose(ds.test.X.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(ds.extras["scaler"].inverse_transform(ds.test.X), raw[idx["test"], :4])
    for sname in SPLITS:  # stratified: 50 of each class overall
        assert sorted(collections.Counter(ds.split(sname).Y.argmax(1).tolist()).values()) == \
            [len(ds.split(sname)) // 3] * 3


def _raw_sunspots():
    with open(DATA / "sunspots.csv") as fh:
        rd = csv.reader(fh)
        next(rd)
        return {int(float(y)): float(v) for y, v in rd}


def test_sunspots_classic_split():
    spots = _raw_sunspots()
    ds = D.sunspots(lags=12, val_years=20)
    ty = ds.extras["target_years"]
    assert ty["train"].tolist() == list(range(1712, 1901))
    assert ty["val"].tolist() == list(range(1901, 1921))
    assert ty["test"].tolist() == list(range(1921, 1956))
    assert ty["test2"].tolist() == list(range(1956, 1980))
    # scaling by the training maximum, computed from training years only
    train_max = max(v for y, v in spots.items() if y <= 1900)
    sc = ds.extras["scaler"]
    for sname in SPLITS:
        X, Y = ds.split(sname)
        assert X.shape == (len(ty[sname]), 12, 1) and Y.shape == (len(ty[sname]), 1)
        for k, year in enumerate(ty[sname]):
            assert Y[k, 0] * train_max == pytest.approx(spots[int(year)])
            np.testing.assert_allclose(sc.inverse_transform(X[k, :, 0]),
                                       [spots[y] for y in range(year - 12, year)])
    full = D.sunspots(val_years=0)
    assert len(full.val) == 0 and full.extras["target_years"]["train"].tolist() == list(range(1712, 1921))
    # persistence baseline, recomputed here
    errs = [(spots[y] - spots[y - 1]) ** 2 for y in range(1921, 1956)]
    seg = [spots[y] for y in range(1921, 1956)]
    allv = [spots[y] for y in range(1700, 1980)]
    var = lambda v: sum((x - sum(v) / len(v)) ** 2 for x in v) / len(v)  # noqa: E731
    b = ds.info["baseline"]
    assert b["persistence_arv_test"] == pytest.approx(sum(errs) / len(errs) / var(seg))
    assert b["persistence_arv_test_var1700_1979"] == pytest.approx(sum(errs) / len(errs) / var(allv))
    assert abs(b["persistence_arv_test_var1700_1979"] - 0.43) < 0.02  # the literature value


def test_arv():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    assert D.arv(np.full(4, 2.5), t) == pytest.approx(1.0)  # predicting the mean
    assert D.arv(t, t) == 0.0
    assert D.arv(t + 1, t, variance=2.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same number"):
        D.arv(t[:3], t)


def _raw_co2_monthly():
    groups = collections.OrderedDict()
    with open(DATA / "co2.csv") as fh:
        rd = csv.reader(fh)
        next(rd)
        for date, value in rd:
            key = (int(date[:4]), int(date[4:6]))
            groups.setdefault(key, [])
            if value.strip():
                groups[key].append(float(value))
    return groups


def test_co2():
    groups = _raw_co2_monthly()
    (y0, m0), (y1, m1) = next(iter(groups)), next(reversed(groups))
    n = (y1 - y0) * 12 + (m1 - m0) + 1
    ds = D.co2(lags=12)
    series = ds.extras["series"]
    assert len(series) == n and not np.any(np.isnan(series))
    for sname in SPLITS:
        assert not np.any(np.isnan(ds.split(sname).X)) and not np.any(np.isnan(ds.split(sname).Y))
    # months with data are plain means of the weekly values
    for k in range(n):
        y, m = divmod(y0 * 12 + m0 - 1 + k, 12)
        vals = groups.get((y, m + 1), [])
        if vals:
            assert series[k] == pytest.approx(sum(vals) / len(vals))
            assert not ds.extras["interpolated"][k]
        else:
            assert ds.extras["interpolated"][k]
            lo, hi = sorted((series[k - 1], series[k + 1]))
            assert lo - 1e-9 <= series[k] <= hi + 1e-9  # linear interpolation
    n_test = round(0.2 * n)
    assert len(ds.test) == n_test
    ti = ds.extras["target_index"]
    assert ti["test"].tolist() == list(range(n - n_test, n))
    assert ti["train"].max() < ti["val"].min() and ti["val"].max() < ti["test"].min()
    # windows and scaler (standard, training months only)
    train_months = series[: ti["val"].min()]
    sc = ds.extras["scaler"]
    assert sc.center_ == pytest.approx(train_months.mean())
    np.testing.assert_allclose(sc.inverse_transform(ds.test.Y[:, 0]), series[ti["test"]])
    np.testing.assert_allclose(sc.inverse_transform(ds.test.X[5, :, 0]),
                               series[ti["test"][5] - 12: ti["test"][5]])
    # seasonal naive with drift, recomputed with a plain loop
    start = n - n_test
    diffs = [series[k] - series[k - 12] for k in range(12, start)]
    drift = sum(diffs) / len(diffs)
    sq = [(series[k] - (series[k - 12] + drift)) ** 2 for k in range(start, n)]
    rmse = math.sqrt(sum(sq) / len(sq))
    b = ds.info["baseline"]["seasonal_naive_drift_rmse"]
    assert b == pytest.approx(rmse)
    assert 0.6 < b < 1.1  # about 0.85 ppm
    assert b < ds.info["baseline"]["seasonal_naive_rmse"]


def test_text_hamlet():
    raw = gzip.open(DATA / "hamlet_gut.txt.gz").read().decode("ascii")
    ds = D.text("hamlet", seq_len=64)
    assert isinstance(ds, D.TextDataset)
    assert ds.vocab == sorted(set(raw)) and ds.vocab_size == 65
    # contiguous split covering the whole text, 90/5/5
    joined = ds.decode(np.concatenate([ds.train_ids, ds.val_ids, ds.test_ids]))
    assert joined == raw
    assert abs(len(ds.train_ids) - 0.9 * len(raw)) <= 1
    snippet = raw[1000:1300]
    np.testing.assert_array_equal(ds.decode(ds.encode(snippet)), snippet)
    assert ds.decode(ds.encode(snippet)) == snippet
    with pytest.raises(ValueError, match="vocabulary"):
        ds.encode("~")
    X, Y = ds.train
    assert X.shape[1] == 64 and X.shape == Y.shape
    np.testing.assert_array_equal(X[:, 1:], Y[:, :-1])
    assert ds.decode(X[0]) == raw[:64] and ds.decode(Y[0]) == raw[1:65]
    assert ds.decode(X[1]) == raw[64:128]
    oh = ds.one_hot(X[:2])
    assert oh.shape == (2, 64, 65) and oh.dtype == np.float64
    Xr, Yr = ds.random_windows(10, split="val", seq_len=20, seed=0)
    val_text = ds.decode(ds.val_ids)
    for a, b in zip(Xr, Yr):
        assert ds.decode(a) in val_text and ds.decode(a)[1:] == ds.decode(b)[:-1]
    Xs, Ys = ds.windows("test", seq_len=10, stride=5)
    assert ds.decode(Xs[1]) == ds.decode(ds.test_ids)[5:15]
    cnt = collections.Counter(raw)
    ent = -sum(c / len(raw) * math.log2(c / len(raw)) for c in cnt.values())
    assert ds.info["unigram_entropy_bits"] == pytest.approx(ent)
    assert round(ent, 2) == 4.66
    with pytest.raises(ValueError, match="name"):
        D.text("macbeth")


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def test_one_hot_roundtrip_and_errors():
    lab = np.array([[0, 2], [1, 1]])
    oh = D.one_hot(lab, 3)
    assert oh.shape == (2, 2, 3) and oh.dtype == np.float64
    assert oh[0, 1].tolist() == [0.0, 0.0, 1.0]
    np.testing.assert_array_equal(D.from_one_hot(oh), lab)
    assert D.one_hot([3]).shape == (1, 4)
    with pytest.raises(ValueError, match="n_classes"):
        D.one_hot([0, 5], 3)
    with pytest.raises(ValueError, match=">= 0"):
        D.one_hot([-1, 0], 3)
    with pytest.raises(ValueError, match="integer"):
        D.one_hot([0.5])


def test_sliding_windows():
    s = np.arange(10.0)
    X, Y = D.sliding_windows(s, lags=3)
    assert X.shape == (7, 3, 1) and Y.shape == (7, 1)
    assert X[0, :, 0].tolist() == [0, 1, 2] and Y[0, 0] == 3 and Y[-1, 0] == 9
    X2, Y2 = D.sliding_windows(np.stack([s, -s], axis=1), lags=2, horizon=3)
    assert X2.shape == (6, 2, 2) and Y2[0].tolist() == [4.0, -4.0]
    with pytest.raises(ValueError, match="lags"):
        D.sliding_windows(s, lags=0)
    with pytest.raises(ValueError, match="too short"):
        D.sliding_windows(s, lags=10)


def test_pad_sequences():
    seqs = [np.array([1.0, 2.0]), np.array([3.0]), np.array([4.0, 5.0, 6.0])]
    X, mask = D.pad_sequences(seqs, value=-1.0)
    assert X.tolist() == [[1, 2, -1], [3, -1, -1], [4, 5, 6]]
    assert mask.tolist() == [[True, True, False], [True, False, False], [True, True, True]]
    Xp, mp = D.pad_sequences(seqs, maxlen=2, padding="pre", truncating="pre")
    assert Xp.tolist() == [[1, 2], [0, 3], [5, 6]] and mp.tolist() == [[1, 1], [0, 1], [1, 1]]
    X3, m3 = D.pad_sequences([np.ones((2, 4)), np.ones((1, 4))])
    assert X3.shape == (2, 2, 4) and m3.sum() == 3
    with pytest.raises(ValueError, match="padding"):
        D.pad_sequences(seqs, padding="middle")


def test_scaler_fits_train_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, size=(200, 3))
    test = rng.normal(-1.0, 0.5, size=(50, 3))
    sc = D.Scaler("standard").fit(train)
    z = sc.transform(test)
    mu = train.sum(axis=0) / 200
    sd = np.sqrt(((train - mu) ** 2).sum(axis=0) / 200)
    np.testing.assert_allclose(z, (test - mu) / sd)
    np.testing.assert_allclose(sc.inverse_transform(z), test)
    assert not np.allclose(z.mean(axis=0), 0, atol=0.5)  # test stats are NOT used
    mm = D.Scaler("minmax", feature_range=(-1, 1)).fit(train)
    zt = mm.transform(train)
    np.testing.assert_allclose(zt.min(axis=0), -1) and np.testing.assert_allclose(zt.max(axis=0), 1)
    np.testing.assert_allclose(mm.inverse_transform(mm.transform(test)), test)
    seq = rng.normal(size=(10, 6, 2))  # reduces over all axes but the last
    ss = D.Scaler().fit(seq)
    assert ss.center_.shape == (2,)
    np.testing.assert_allclose(ss.transform(seq).reshape(-1, 2).std(axis=0), 1.0)
    mx = D.Scaler("maxabs").fit(np.array([1.0, -4.0, 2.0]))
    assert mx.transform(np.array([8.0])).tolist() == [2.0]
    with pytest.raises(RuntimeError):
        D.Scaler().transform(train)
    with pytest.raises(ValueError, match="kind"):
        D.Scaler("robust")


def test_train_val_test_split():
    X = np.arange(100.0)[:, None]
    y = np.repeat([0, 1, 2, 3], [40, 30, 20, 10])
    tr, va, te, (itr, iva, ite) = D.train_val_test_split(
        X, y, (0.6, 0.2, 0.2), seed=1, stratify=y, return_indices=True)
    assert (len(tr), len(va), len(te)) == (60, 20, 20)
    assert len(set(itr) | set(iva) | set(ite)) == 100
    np.testing.assert_array_equal(te.X[:, 0], ite)
    assert collections.Counter(te.Y.tolist()) == {0: 8, 1: 6, 2: 4, 3: 2}
    assert collections.Counter(va.Y.tolist()) == {0: 8, 1: 6, 2: 4, 3: 2}
    a = D.train_val_test_split(X, y, (0.6, 0.2, 0.2), seed=1)
    b = D.train_val_test_split(X, y, (0.6, 0.2, 0.2), seed=1)
    c = D.train_val_test_split(X, y, (0.6, 0.2, 0.2), seed=2)
    np.testing.assert_array_equal(a[0].X, b[0].X)
    assert not np.array_equal(a[0].X, c[0].X)
    with pytest.raises(ValueError, match="fractions"):
        D.train_val_test_split(X, y, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="same length"):
        D.train_val_test_split(X, y[:50])


@pytest.mark.parametrize("call, argname", [
    (lambda: D.parity(n_train=0), "n_train"),
    (lambda: D.parity(min_len=5, max_len=3), "max_len"),
    (lambda: D.adding_problem(variant="new"), "variant"),
    (lambda: D.adding_problem(T=1), "T"),
    (lambda: D.sine(noise=-1.0), "noise"),
    (lambda: D.binary_addition(bits=0), "bits"),
    (lambda: D.sine(seed=-3), "seed"),
    (lambda: D.sine(seed="abc"), "seed"),
    (lambda: D.digits(val_fraction=0.6, test_fraction=0.5), "val_fraction"),
    (lambda: D.sunspots(lags=0), "lags"),
    (lambda: D.sunspots(scale="log"), "scale"),
    (lambda: D.co2(test_fraction=1.5), "test_fraction"),
    (lambda: D.text(seq_len=0), "seq_len"),
])
def test_bad_arguments_name_the_argument(call, argname):
    with pytest.raises(ValueError, match=argname):
        call()


def test_split_container():
    sp = Split(np.zeros((3, 4, 2)), np.ones((3, 1)), np.ones((3, 4), bool))
    X, Y = sp
    assert len(sp) == 3 and X.shape == (3, 4, 2) and Y.shape == (3, 1)
    with pytest.raises(ValueError):
        Split(np.zeros((3, 2)), np.zeros((4, 1)))
    ds = D.iris()
    assert ds["test"] is ds.test
    assert "iris" in repr(ds)


# --------------------------------------------------------------------------- #
# sequence-to-sequence tasks
# --------------------------------------------------------------------------- #
def test_reverse_digits_targets_are_the_reversed_sources():
    ds = load("reverse_digits")
    src = ds.train.X.argmax(-1)                       # digit d is source id d
    vocab = ds.extras["target_vocab"]
    assert vocab[0] == "^" and ds.extras["start_id"] == 0
    tgt_digits = np.array([[int(vocab[i]) for i in row] for row in ds.train.Y])
    np.testing.assert_array_equal(tgt_digits, src[:, ::-1])
    assert ds.train.Y.min() >= 1                      # the start token is never a target


def test_addition_strings_answers_are_the_sums():
    ds = load("addition_strings")
    queries = ds.extras["strings"]["test"][0]
    answers = ds.extras["decode_target"](ds.test.Y)
    for q, a in zip(queries, answers):
        x, y = q.strip().split("+")
        assert int(a.strip()) == int(x) + int(y)
        assert len(q) == 7 and len(a) == 4
    onehot = ds.test.X
    assert onehot.shape == (30, 7, 12) and np.all(onehot.sum(-1) == 1)


def test_text_streams_continue_row_by_row_across_batches():
    """Row i of consecutive batches, joined, is one contiguous piece of the split's text."""
    ds = load("text")
    X, Y = ds.streams(4, "val", seq_len=10)
    assert X.shape[0] % 4 == 0 and X.shape[0] >= 8 and X.shape[1] == 10
    batches = X.reshape(-1, 4, 10)
    text = ds.decode(ds.val_ids)
    pieces = [ds.decode(batches[:, i].reshape(-1)) for i in range(4)]
    positions = [text.find(p) for p in pieces]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions) and len(set(positions)) == 4
    np.testing.assert_array_equal(Y[:, :-1], X[:, 1:])
