"""Pooling layers: finite differences for every option, the fast path equal to the plain-loop
reference entry by entry, the tie rule, "same" padding counts, EpyNN's Pooling, errors.
(PyTorch cross-checks: tests/test_conv_torch.py.)"""
import numpy as np
import pytest

from unrolled.framework import gradcheck
from unrolled.layers import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                             GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                             MaxPooling1D, MaxPooling2D, Pooling)
from unrolled.reference import conv as ref_conv
from unrolled.reference import pooling as ref_pool

TOL = 1e-6


def rng(seed=0):
    return np.random.default_rng(seed)


def distinct(shape, seed=0):
    """Random values with no ties (finite differences of a max need a unique winner)."""
    values = rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 7.0
    return values + 0.01 * rng(seed + 1).standard_normal(shape)


POOL_CASES = [   # (cls, kwargs, input shape)
    (MaxPooling2D, dict(pool_size=2), (2, 4, 6, 2)),
    (MaxPooling2D, dict(pool_size=3, strides=2), (2, 7, 5, 2)),
    (MaxPooling2D, dict(pool_size=(2, 3), strides=(1, 2), padding="same"), (2, 5, 7, 1)),
    (MaxPooling2D, dict(pool_size=2, padding="same"), (1, 5, 5, 3)),
    (AveragePooling2D, dict(pool_size=2), (2, 5, 4, 2)),
    (AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 6, 5, 2)),
    (AveragePooling2D, dict(pool_size=(3, 2), strides=(1, 3), padding="same"), (2, 4, 7, 1)),
    (MaxPooling1D, dict(pool_size=3), (2, 7, 2)),
    (MaxPooling1D, dict(pool_size=2, strides=1, padding="same"), (2, 5, 3)),
    (AveragePooling1D, dict(pool_size=3, strides=2, padding="same"), (2, 8, 2)),
    (AveragePooling1D, dict(pool_size=4, strides=3), (2, 9, 2)),
    (Pooling, dict(pool=np.min), (2, 4, 5, 2)),
    (Pooling, dict(pool_size=(3, 3), strides=(2, 2), pool=np.mean), (2, 7, 6, 1)),
]
POOL_IDS = [cls.__name__ + "-" + "-".join(f"{k}={getattr(v, '__name__', v)}" for k, v in kw.items())
            for cls, kw, _ in POOL_CASES]
GLOBALS = [(GlobalAveragePooling1D, (2, 5, 3)), (GlobalAveragePooling2D, (2, 3, 4, 2)),
           (GlobalMaxPooling1D, (2, 5, 3)), (GlobalMaxPooling2D, (2, 3, 4, 2))]


@pytest.mark.parametrize("cls, kwargs, shape", POOL_CASES, ids=POOL_IDS)
def test_pooling_gradcheck_every_option(cls, kwargs, shape):
    assert gradcheck(cls(**kwargs), distinct(shape)).worst < TOL


@pytest.mark.parametrize("cls, shape", GLOBALS, ids=[c.__name__ for c, _ in GLOBALS])
def test_global_pooling_gradcheck(cls, shape):
    layer = cls()
    assert layer(distinct(shape)).shape == (shape[0], shape[-1])
    assert gradcheck(layer, distinct(shape)).worst < TOL


def _pads(layer):
    if layer.padding == "valid":
        return ((0, 0),) * layer.rank
    return tuple(ref_conv.same_padding(n, k, s, 1)
                 for n, k, s in zip(layer.fs["X"][1:-1], layer.d["pool"], layer.d["strides"]))


def _assert_dict(fast, ref, rtol, atol):
    for key, value in ref.items():
        np.testing.assert_allclose(fast[key], value, rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("cls, kwargs, shape", POOL_CASES, ids=POOL_IDS)
def test_pooling_fast_path_equals_reference_entry_by_entry(cls, kwargs, shape, dtype, rtol, ties):
    X = (rng(3).integers(0, 3, shape) if ties else distinct(shape)).astype(dtype)
    layer = cls(**kwargs)
    A = layer(X)
    fc = ref_pool.pool_forward(X, layer.d["pool"], layer.d["strides"], _pads(layer), layer.op)
    _assert_dict(layer.fc, fc, rtol, 1e-6 * (dtype == np.float32))
    dA = rng(4).standard_normal(A.shape).astype(dtype)
    layer.backward(dA)
    bc = ref_pool.pool_backward(fc, dA, layer.d["pool"], layer.d["strides"], _pads(layer), layer.op)
    _assert_dict(layer.bc, bc, rtol, 1e-6 * (dtype == np.float32))
    assert layer.bc["dX"].shape == X.shape and layer.fc["A"].dtype == dtype


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("cls, shape", GLOBALS, ids=[c.__name__ for c, _ in GLOBALS])
def test_global_pooling_equals_reference(cls, shape, ties):
    X = rng(5).integers(0, 2, shape).astype(float) if ties else distinct(shape)
    layer = cls()
    fc = ref_pool.global_pool_forward(X, layer.op)
    layer(X)
    _assert_dict(layer.fc, fc, 1e-12, 0)
    dA = rng(6).standard_normal((shape[0], shape[-1]))
    layer.backward(dA)
    _assert_dict(layer.bc, ref_pool.global_pool_backward(fc, dA, layer.op), 1e-12, 0)


def test_max_pooling_tie_sends_the_gradient_to_the_first_maximum_in_window_order():
    """A 2x2 window [[1, 5], [5, 5]]: the max 5 appears three times; only (0, 1) gets dA."""
    X = np.array([[1.0, 5.0], [5.0, 5.0]]).reshape(1, 2, 2, 1)
    layer = MaxPooling2D(2)
    assert layer(X)[0, 0, 0, 0] == 5.0
    assert layer.fc["argmax"][0, 0, 0, 0] == 1
    dX = layer.backward(np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(dX[0, :, :, 0], [[0.0, 3.0], [0.0, 0.0]])
    glob = GlobalMaxPooling2D()
    glob(X)
    np.testing.assert_array_equal(glob.backward(np.array([[3.0]]))[0, :, :, 0], [[0, 3], [0, 0]])


def test_overlapping_windows_add_their_gradients():
    """Stride 1, pool 2 on [0, 9, 1]: 9 wins both windows and collects both gradients."""
    layer = MaxPooling1D(2, strides=1)
    np.testing.assert_array_equal(layer(np.array([0.0, 9.0, 1.0]).reshape(1, 3, 1))[0, :, 0], [9, 9])
    dX = layer.backward(np.array([2.0, 5.0]).reshape(1, 2, 1))
    np.testing.assert_array_equal(dX[0, :, 0], [0.0, 7.0, 0.0])


def test_average_same_padding_excludes_padded_entries_from_the_count():
    """Keras 'same': a corner window holding 2 real entries divides by 2, not by the pool size."""
    layer = AveragePooling1D(3, strides=2, padding="same")
    A = layer(np.array([2.0, 4.0, 6.0, 8.0]).reshape(1, 4, 1))
    # out = ceil(4/2) = 2, total pad = (2-1)*2 + 3 - 4 = 1 -> (0, 1): windows [2,4,6], [6,8,pad]
    np.testing.assert_allclose(A[0, :, 0], [4.0, 7.0])
    dX = layer.backward(np.array([3.0, 2.0]).reshape(1, 2, 1))
    np.testing.assert_allclose(dX[0, :, 0], [1.0, 1.0, 1.0 + 1.0, 1.0])
    mx = MaxPooling1D(3, strides=2, padding="same")
    np.testing.assert_array_equal(mx(-np.ones((1, 4, 1)))[0, :, 0], [-1.0, -1.0])   # pads never win


def test_epynn_pooling_arguments_and_min_pool():
    layer = Pooling()                                     # EpyNN defaults: (2, 2), strides = pool
    assert layer.d["pool"] == (2, 2) and layer.d["strides"] == (2, 2) and layer.op == "max"
    X = np.array([[3.0, 1.0], [2.0, 4.0]]).reshape(1, 2, 2, 1)
    low = Pooling(pool=np.min)
    assert low(X)[0, 0, 0, 0] == 1.0
    np.testing.assert_array_equal(low.backward(np.ones((1, 1, 1, 1)))[0, :, :, 0], [[0, 1], [0, 0]])
    mean = Pooling(pool=np.mean)
    assert mean(X)[0, 0, 0, 0] == 2.5
    np.testing.assert_array_equal(mean.backward(np.ones((1, 1, 1, 1)))[0, :, :, 0], np.full((2, 2), 0.25))
    assert Pooling(**mean.config()).config() == mean.config()
    with pytest.raises(ValueError, match=r"Pooling: pool must be np.max, np.min or np.mean .*got <function"):
        Pooling(pool=np.median)


@pytest.mark.parametrize("make, shape, match", [
    (lambda: MaxPooling2D(0), None, "MaxPooling2D: pool_size must be a positive integer or 2 of them, got 0"),
    (lambda: MaxPooling2D(2, strides=(1, 0)), None, r"strides must be .* got \(1, 0\)"),
    (lambda: AveragePooling1D(2, padding="full"), None, "AveragePooling1D: padding must be 'valid' or 'same', got 'full'"),
    (lambda: MaxPooling2D(3), (1, 2, 5, 1), "MaxPooling2D: pool size 3 is larger than the padded input size 2 along spatial axis 0"),
    (lambda: GlobalMaxPooling2D(), (2, 3, 4), r"GlobalMaxPooling2D: expected 4-D input \(m, h, w, c\), got shape \(2, 3, 4\)"),
])
def test_pooling_errors_name_the_layer_and_values(make, shape, match):
    with pytest.raises(ValueError, match=match):
        layer = make()
        layer(np.zeros(shape))


# ------------------------------------------------------------------------------ masks (1-D global)
LENGTHS = [5, 2, 4]


def _mask(lengths=LENGTHS, s=5):
    return np.arange(s)[None, :] < np.array(lengths)[:, None]


@pytest.mark.parametrize("cls", [GlobalAveragePooling1D, GlobalMaxPooling1D])
def test_masked_global_pooling_equals_pooling_each_real_sequence(cls):
    """With a mask, sample i pools its first lengths[i] steps only (padding values are junk)."""
    X = distinct((3, 5, 2), seed=8)
    X[~_mask()] = 100.0                                   # junk on padded steps must not matter
    layer = cls()
    A = layer(X, mask=_mask())
    for i, n in enumerate(LENGTHS):
        np.testing.assert_allclose(A[i], cls()(X[i:i + 1, :n])[0], rtol=1e-15)
    dX = layer.backward(np.ones((3, 2)))
    assert not dX[~_mask()].any()                         # padded steps get no gradient
    fc = ref_pool.global_pool_forward(X, layer.op, _mask())
    _assert_dict(layer.fc, {k: v for k, v in fc.items() if k != "X"}, 1e-12, 0)
    dA = rng(9).standard_normal((3, 2))
    layer.backward(dA)
    _assert_dict(layer.bc, ref_pool.global_pool_backward(fc, dA, layer.op, _mask()), 1e-12, 0)


@pytest.mark.parametrize("cls", [GlobalAveragePooling1D, GlobalMaxPooling1D])
def test_masked_global_pooling_gradcheck_and_in_a_masked_model(cls):
    from unrolled.framework import Model
    from unrolled.layers import LSTM, Dense
    assert gradcheck(cls(), distinct((3, 5, 2), seed=10), mask=_mask()).worst < TOL
    model = Model([LSTM(3, sequences=True), cls(), Dense(2)], seed=0)
    X = rng(11).standard_normal((3, 5, 2))
    Y = rng(12).standard_normal((3, 2))
    assert gradcheck(model, X, Y, mask=_mask()).worst < TOL
    full = model.predict(X, mask=_mask())
    X[~_mask()] = 50.0                                    # what the padding holds is irrelevant
    np.testing.assert_allclose(model.predict(X, mask=_mask()), full, rtol=1e-15)


def test_global_pooling_mask_errors():
    with pytest.raises(ValueError, match=r"mask must be a boolean array of shape \(m, s\) = \(3, 5\)"):
        GlobalAveragePooling1D()(np.zeros((3, 5, 2)), mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"at least one real step; the mask of sample\(s\) \[1\]"):
        GlobalMaxPooling1D()(np.zeros((3, 5, 2)), mask=_mask([5, 0, 4]))
    with pytest.raises(ValueError, match="a mask applies to sequences"):
        GlobalMaxPooling2D()(np.zeros((3, 5, 2, 1)), mask=_mask())


@pytest.mark.parametrize("seed", range(16))
def test_random_pooling_configurations_match_the_reference(seed):
    """A seeded sweep over ranks, kinds, sizes, pool sizes, strides and paddings, with ties."""
    r = np.random.default_rng(200 + seed)
    rank = int(r.integers(1, 3))
    kinds = [(MaxPooling1D, AveragePooling1D), (MaxPooling2D, AveragePooling2D)][rank - 1]
    cls = kinds[int(r.integers(0, 2))]
    pool = tuple(int(k) for k in r.integers(1, 4, rank))
    strides = tuple(int(s) for s in r.integers(1, 4, rank))
    padding = ["valid", "same"][int(r.integers(0, 2))]
    spatial = tuple(int(k + r.integers(0, 5)) for k in pool)
    X = r.integers(-2, 3, (2,) + spatial + (2,)).astype(float)      # small integers: many ties
    layer = cls(pool, strides=strides, padding=padding)
    A = layer(X)
    fc = ref_pool.pool_forward(X, pool, strides, _pads(layer), layer.op)
    _assert_dict(layer.fc, fc, 1e-12, 0)
    dA = r.standard_normal(A.shape)
    layer.backward(dA)
    _assert_dict(layer.bc, ref_pool.pool_backward(fc, dA, pool, strides, _pads(layer), layer.op),
                 1e-12, 1e-15)
