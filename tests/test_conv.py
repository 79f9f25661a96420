"""Flatten, Reshape, Conv1D, Conv2D and EpyNN's Convolution: finite differences for every option,
the fast path equal to the plain-loop reference entry by entry, errors, save/load, CNN-LSTM stacks.
(PyTorch cross-checks: tests/test_conv_torch.py.)"""
import numpy as np
import pytest

from unrolled.framework import Model, gradcheck
from unrolled.framework.optimizers import SGD
from unrolled.layers import (LSTM, Conv1D, Conv2D, Convolution, Dense, Flatten, GRU,
                             MaxPooling2D, Reshape)
from unrolled.reference import conv as ref_conv
from unrolled.reference import flatten as ref_flatten

TOL = 1e-6          # worst relative error of a float64 gradcheck


def rng(seed=0):
    return np.random.default_rng(seed)


def assert_entries_equal(fast, ref, rtol=1e-12, atol=1e-13):
    """Every entry of the reference dict equals the layer's (same keys, same values)."""
    for key, value in ref.items():
        assert key in fast, f"missing {key}"
        np.testing.assert_allclose(fast[key], value, rtol=rtol, atol=atol, err_msg=key)


# ------------------------------------------------------------------------------ Flatten / Reshape
def test_flatten_reads_c_order_and_backward_is_the_exact_inverse():
    X = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    layer = Flatten()
    A = layer(X)
    assert A.shape == (2, 24)
    np.testing.assert_array_equal(A[1], np.arange(24, 48))        # last axis varies fastest
    dA = rng().standard_normal(A.shape)
    dX = layer.backward(dA)
    assert dX.shape == X.shape
    np.testing.assert_array_equal(layer(dX), dA)                  # flatten(unflatten(dA)) = dA


def test_flatten_and_reshape_match_the_reference_on_non_contiguous_input():
    X = rng(1).standard_normal((3, 4, 5, 2)).transpose(0, 2, 1, 3)   # a view, not C-contiguous
    for layer, ref in ((Flatten(), ref_flatten.flatten_forward(X)),
                       (Reshape((2, -1)), ref_flatten.reshape_forward(X, (2, 20)))):
        A = layer(X)
        assert_entries_equal(layer.fc, ref, rtol=0, atol=0)
        dA = rng(2).standard_normal(A.shape)
        layer.backward(dA)
        assert_entries_equal(layer.bc, ref_flatten.reshape_backward(dA, X.shape), rtol=0, atol=0)


@pytest.mark.parametrize("layer, shape", [(Flatten(), (2, 3, 4)), (Reshape((4, 3)), (2, 3, 4)),
                                          (Reshape((-1,)), (2, 3, 2, 2))])
def test_flatten_reshape_gradcheck(layer, shape):
    assert gradcheck(layer, rng(3).standard_normal(shape)).worst < TOL


@pytest.mark.parametrize("shape, match", [((0,), "positive integers"), ((-1, -1), "at most one -1"),
                                          ("a", "positive integers")])
def test_reshape_rejects_bad_target_shapes(shape, match):
    with pytest.raises(ValueError, match=f"Reshape.*{match}"):
        Reshape(shape)


def test_reshape_names_the_sizes_that_do_not_fit():
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape a sample of shape \(3, 4\) "
                                         r"\(12 entries\) to \(5, -1\)"):
        Reshape((5, -1))(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="at least 2-D"):
        Flatten()(np.zeros(3))


# ------------------------------------------------------------------------------ convolution options
CONV2D_CASES = [   # (kwargs, input shape): odd sizes, strides, dilations, both paddings
    (dict(filters=3, kernel_size=3), (2, 5, 6, 2)),
    (dict(filters=2, kernel_size=(2, 3), strides=(2, 1), padding="same"), (2, 5, 6, 2)),
    (dict(filters=2, kernel_size=2, strides=3, padding="same"), (2, 7, 5, 1)),
    (dict(filters=2, kernel_size=3, dilation_rate=2), (2, 7, 6, 2)),
    (dict(filters=2, kernel_size=(3, 2), dilation_rate=(2, 1), padding="same"), (2, 5, 4, 2)),
    (dict(filters=2, kernel_size=2, strides=2, dilation_rate=2, padding="same"), (1, 7, 6, 2)),
    (dict(filters=2, kernel_size=3, padding=1, use_bias=False), (2, 4, 5, 2)),
    (dict(filters=1, kernel_size=1, strides=2), (2, 5, 5, 3)),
]
CONV1D_CASES = [
    (dict(filters=3, kernel_size=3), (2, 7, 2)),
    (dict(filters=2, kernel_size=4, strides=3, padding="same"), (2, 7, 3)),
    (dict(filters=2, kernel_size=2, dilation_rate=3, padding="same"), (2, 6, 2)),
    (dict(filters=2, kernel_size=3, strides=2, use_bias=False), (3, 8, 1)),
    (dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal"), (2, 7, 2)),
    (dict(filters=2, kernel_size=2, strides=2, padding="causal"), (2, 7, 2)),
]
CASES = [(Conv2D, kw, s) for kw, s in CONV2D_CASES] + [(Conv1D, kw, s) for kw, s in CONV1D_CASES]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for cls, kw, _ in CASES]


@pytest.mark.parametrize("cls, kwargs, shape", CASES, ids=IDS)
@pytest.mark.parametrize("activation", ["tanh", "identity"])
def test_conv_gradcheck_every_option(cls, kwargs, shape, activation):
    layer = cls(activation=activation, **kwargs).seed(1)
    X = rng(2).standard_normal(shape)
    result = gradcheck(layer, X)
    expected = {"X", f"{cls.__name__}.W"} | ({f"{cls.__name__}.b"} if kwargs.get("use_bias", True) else set())
    assert set(result) == expected
    assert result.worst < TOL, repr(result)


def test_conv_gradcheck_includes_l1_l2_penalties_on_the_kernel():
    layer = Conv2D(2, 2, activation="tanh", l1=0.03, l2=0.05).seed(2)
    X = rng(3).standard_normal((2, 4, 5, 2))
    result = gradcheck(layer, X)
    assert result.worst < TOL, repr(result)
    W = layer.p["W"]
    assert np.isclose(layer.penalty(), 0.03 * np.abs(W).sum() + 0.05 * np.square(W).sum())


def _pads(layer):
    """Padding from the reference's own TF formula (not the layer's)."""
    if layer.padding == "same":
        return tuple(ref_conv.same_padding(n, k, s, d) for n, k, s, d in
                     zip(layer.fs["X"][1:-1], layer.d["kernel"], layer.d["strides"], layer.d["dilation"]))
    if layer.padding == "valid":
        return ((0, 0),) * layer.rank
    if layer.padding == "causal":                         # Keras: (k - 1) d zeros before
        return (((layer.d["kernel"][0] - 1) * layer.d["dilation"][0], 0),)
    return tuple((p, p) for p in layer.padding)


@pytest.mark.parametrize("cls, kwargs, shape", CASES, ids=IDS)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_conv_fast_path_equals_reference_entry_by_entry(cls, kwargs, shape, dtype, rtol):
    layer = cls(activation="tanh", **kwargs).seed(4)
    layer.dtype = np.dtype(dtype)
    X = rng(5).standard_normal(shape).astype(dtype)
    A = layer(X)
    b = layer.p.get("b")
    pads = _pads(layer)
    fc = ref_conv.conv_forward(X, layer.p["W"], b, layer.d["strides"], layer.d["dilation"], pads,
                               layer.activation)
    atol = 1e-13 if dtype == np.float64 else 1e-6
    assert_entries_equal(layer.fc, fc, rtol, atol)
    dA = rng(6).standard_normal(A.shape).astype(dtype)
    layer.backward(dA)
    layer.compute_gradients()
    bc, g = ref_conv.conv_backward(fc, dA, layer.p["W"], b, layer.d["strides"], layer.d["dilation"],
                                   pads, layer.activation)
    assert_entries_equal(layer.bc, bc, rtol, atol)
    assert_entries_equal(layer.g, g, rtol, atol)
    assert set(layer.g) == set(g)
    assert layer.fc["A"].dtype == dtype and layer.bc["dX"].dtype == dtype and layer.g["dW"].dtype == dtype


def test_conv2d_one_output_by_hand():
    """Z[0, 1, 0, 0] of a 2x2 kernel at stride 2, written out tap by tap."""
    layer = Conv2D(1, 2, strides=2)
    X = np.arange(16, dtype=float).reshape(1, 4, 4, 1)
    layer(X)
    layer.p["W"][...] = np.array([[1.0, -1.0], [0.5, 2.0]]).reshape(2, 2, 1, 1)
    layer.p["b"][...] = 0.25
    Z = layer(X)
    # window rows 2-3, columns 0-1: [[8, 9], [12, 13]]
    assert Z[0, 1, 0, 0] == 8 * 1.0 - 9 * 1.0 + 12 * 0.5 + 13 * 2.0 + 0.25
    assert Z.shape == (1, 2, 2, 1)


@pytest.mark.parametrize("n, k, s, d, out", [(5, 3, 1, 1, 5), (5, 3, 2, 1, 3), (6, 2, 3, 1, 2),
                                             (7, 3, 1, 2, 7), (4, 4, 4, 1, 1)])
def test_same_padding_gives_ceil_n_over_s_outputs(n, k, s, d, out):
    layer = Conv1D(1, k, strides=s, dilation_rate=d, padding="same")
    assert layer(np.zeros((1, n, 1))).shape == (1, out, 1)
    before, after = layer.d["pads"][0]
    assert after - before in (0, 1)                       # TF: the odd padded entry goes after


def test_causal_conv1d_never_reads_a_later_step():
    """Output step t depends on input steps <= t only: changing the future changes nothing."""
    layer = Conv1D(2, 3, dilation_rate=2, padding="causal", activation="tanh").seed(0)
    X = rng(12).standard_normal((2, 9, 3))
    A = layer(X).copy()
    assert A.shape == (2, 9, 2) and layer.d["pads"] == ((4, 0),)
    for t in range(9):
        later = X.copy()
        later[:, t + 1:] += 5.0
        np.testing.assert_array_equal(layer(later)[:, :t + 1], A[:, :t + 1])
        if t < 8:
            assert not np.allclose(layer(later)[:, t + 1], A[:, t + 1])
    with pytest.raises(ValueError, match="Conv2D: padding must be 'valid', 'same' or a number"):
        Conv2D(1, 2, padding="causal")


def test_conv_initializer_fans_follow_keras():
    """glorot_uniform on W (3, 3, 4, 8): limit sqrt(6 / (9*4 + 9*8))."""
    layer = Conv2D(8, 3).seed(0)
    layer(np.zeros((1, 5, 5, 4)))
    limit = np.sqrt(6.0 / (9 * 4 + 9 * 8))
    W = layer.p["W"]
    assert W.shape == (3, 3, 4, 8) and np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("kwargs, match", [
    (dict(filters=0, kernel_size=3), "filters must be a positive integer, got 0"),
    (dict(filters=2, kernel_size=(3, 0)), r"kernel_size must be a positive integer or 2 of them, got \(3, 0\)"),
    (dict(filters=2, kernel_size=3, strides=-1), "strides must be a positive integer or 2 of them, got -1"),
    (dict(filters=2, kernel_size=3, dilation_rate=(1, 1, 1)), "dilation_rate must be"),
    (dict(filters=2, kernel_size=3, padding="full"), "padding must be 'valid', 'same' or a number of zeros per side, got 'full'"),
    (dict(filters=2, kernel_size=3, padding=-1), "padding"),
])
def test_conv_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"Conv2D 'c': {match}"):
        Conv2D(name="c", **kwargs)


def test_conv_rejects_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match=r"Conv2D: kernel size 3 \(dilated: 5\) is larger than the "
                                         r"padded input size 4 along spatial axis 1"):
        Conv2D(1, 3, dilation_rate=2)(np.zeros((1, 6, 4, 1)))
    with pytest.raises(ValueError, match=r"Conv1D: expected 3-D input \(m, s, c\), got shape \(2, 5\)"):
        Conv1D(1, 2)(np.zeros((2, 5)))
    layer = Conv2D(1, 2)
    layer(np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match="built for inputs with c = 3 features, got 2"):
        layer(np.zeros((1, 4, 4, 2)))


# ------------------------------------------------------------------------------ EpyNN's Convolution
def test_convolution_maps_epynn_arguments():
    layer = Convolution(unit_filters=4, filter_size=(2, 3), padding=1)
    assert layer.d["f"] == 4 and layer.d["kernel"] == (2, 3)
    assert layer.d["strides"] == (2, 3)                   # strides=None: the filter size
    assert layer.activation.name == "relu" and layer.use_bias
    A = layer(np.ones((2, 4, 6, 1)))
    assert layer.d["pads"] == ((1, 1), (1, 1))
    assert A.shape == (2, 3, 2, 4)                        # floor((4+2-2)/2)+1, floor((6+2-3)/3)+1
    assert Convolution(2, 3, strides=1).d["strides"] == (1, 1)

    def relu(z):                                          # EpyNN passes its functions
        return np.maximum(z, 0)
    assert Convolution(activate=relu).activation.name == "relu"


def test_convolution_config_rebuilds_it():
    layer = Convolution(3, (2, 2), strides=(1, 1), padding=1, activate="tanh", name="conv")
    again = Convolution(**layer.config())
    assert again.config() == layer.config()
    assert again.d == layer.d and again.activation.name == "tanh"


# ------------------------------------------------------------------------------ in models
def _cnn(seed=0, dtype="float64"):
    return Model([Conv2D(3, 3, activation="relu", padding="same"), MaxPooling2D(2),
                  Conv2D(4, 2, strides=1, activation="tanh"), Flatten(),
                  Dense(3, activation="softmax")], loss="cce", optimizer=SGD(lr=0.1),
                 seed=seed, dtype=dtype)


def test_cnn_model_gradcheck_and_training_lowers_the_loss():
    X = rng(7).standard_normal((6, 6, 5, 2))
    Y = np.eye(3)[rng(8).integers(0, 3, 6)]
    model = _cnn()
    assert gradcheck(model, X, Y).worst < TOL
    before = model.evaluate(X, Y)["loss"]
    model.train(X, Y, epochs=15, batch_size=6, verbose=0)
    assert model.evaluate(X, Y)["loss"] < 0.8 * before


def test_cnn_model_saves_and_loads(tmp_path):
    X = rng(9).standard_normal((4, 6, 5, 2))
    Y = np.eye(3)[[0, 1, 2, 0]]
    model = Model([Convolution(2, (2, 2), strides=(1, 1), padding=1),
                   MaxPooling2D((2, 2), strides=(1, 2), padding="same"),
                   Reshape((-1, 2)), Conv1D(2, 2, padding="same", use_bias=False), Flatten(),
                   Dense(3, activation="softmax")], loss="cce", seed=1)
    model.train(X, Y, epochs=2, batch_size=2, verbose=0)
    model.save(tmp_path / "cnn.npz")
    loaded = Model.load(tmp_path / "cnn.npz")
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    for a, b in zip(model.layers, loaded.layers):
        assert a.config() == b.config()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("order", ["cnn-lstm", "lstm-cnn", "gru-cnn-lstm"])
def test_conv1d_stacks_with_recurrent_layers(order):
    """Conv1D reads a recurrent layer's (m, s, e) output and feeds one: gradcheck and training."""
    stacks = {
        "cnn-lstm": [Conv1D(3, 3, padding="same", activation="relu"), LSTM(4), Dense(2)],
        "lstm-cnn": [LSTM(4, sequences=True), Conv1D(3, 2, strides=2), Flatten(), Dense(2)],
        "gru-cnn-lstm": [GRU(3, sequences=True), Conv1D(2, 3, dilation_rate=2, padding="same"),
                         LSTM(3), Dense(2)],
    }
    model = Model(stacks[order], loss="mse", optimizer=SGD(lr=0.05), seed=2)
    X = rng(10).standard_normal((5, 7, 3))
    Y = rng(11).standard_normal((5, 2))
    assert gradcheck(model, X, Y).worst < TOL
    before = model.evaluate(X, Y)["loss"]
    model.train(X, Y, epochs=5, batch_size=5, verbose=0)
    assert model.evaluate(X, Y)["loss"] < before


@pytest.mark.parametrize("seed", range(16))
def test_random_configurations_match_the_reference(seed):
    """A seeded sweep over ranks, sizes, kernels, strides, dilations and paddings."""
    r = np.random.default_rng(100 + seed)
    rank = int(r.integers(1, 3))
    kernel = tuple(int(k) for k in r.integers(1, 4, rank))
    dilation = tuple(int(d) for d in r.integers(1, 3, rank))
    strides = tuple(int(s) for s in r.integers(1, 4, rank))
    padding = ["valid", "same", int(r.integers(0, 3))] + (["causal"] if rank == 1 else [])
    padding = padding[int(r.integers(0, len(padding)))]
    spatial = tuple(int((k - 1) * d + 1 + r.integers(0, 5)) for k, d in zip(kernel, dilation))
    X = r.standard_normal((2,) + spatial + (int(r.integers(1, 4)),))
    layer = (Conv1D if rank == 1 else Conv2D)(int(r.integers(1, 4)), kernel, strides=strides,
                                              padding=padding, dilation_rate=dilation,
                                              activation="tanh").seed(seed)
    A = layer(X)
    if padding == "same":
        assert A.shape[1:-1] == tuple(-(-n // s) for n, s in zip(spatial, strides))
    fc = ref_conv.conv_forward(X, layer.p["W"], layer.p["b"], strides, dilation, _pads(layer),
                               layer.activation)
    assert_entries_equal(layer.fc, fc)
    dA = r.standard_normal(A.shape)
    layer.backward(dA)
    layer.compute_gradients()
    bc, g = ref_conv.conv_backward(fc, dA, layer.p["W"], layer.p["b"], strides, dilation,
                                   _pads(layer), layer.activation)
    assert_entries_equal(layer.bc, bc)
    assert_entries_equal(layer.g, g)
