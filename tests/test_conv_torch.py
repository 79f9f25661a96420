"""Convolution and pooling against PyTorch in float64: outputs to 1e-10 and every gradient to 1e-9
(nn.Conv1d/2d, nn.MaxPool1d/2d, nn.AvgPool1d/2d, adaptive pooling for the global layers), odd
sizes, strides, dilations, both paddings, ties in max pooling; weights converted both ways."""
import numpy as np
import pytest

from unrolled.layers import (AveragePooling1D, AveragePooling2D, Conv1D, Conv2D,
                             GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
                             GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from unrolled.reference.conv import same_padding

torch = pytest.importorskip("torch")
F = torch.nn.functional
OUT_TOL = dict(rtol=1e-10, atol=1e-12)
GRAD_TOL = dict(rtol=1e-9, atol=1e-12)


def rng(seed=0):
    return np.random.default_rng(seed)


def channels_first(X):
    return torch.tensor(np.moveaxis(X, -1, 1).copy(), dtype=torch.float64, requires_grad=True)


def to_last(t):
    return np.moveaxis(t.detach().numpy(), 1, -1)


def torch_pad(x, pads, value=0.0):
    """F.pad takes (before, after) pairs from the LAST axis backwards."""
    flat = [n for before_after in reversed(pads) for n in before_after]
    return F.pad(x, flat, value=value) if any(flat) else x


def tf_same(shape, kernel, strides, dilation):
    return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(shape, kernel, strides, dilation))


CONV_CASES = [   # (cls, kwargs, input shape)
    (Conv2D, dict(filters=3, kernel_size=3), (2, 7, 6, 2)),
    (Conv2D, dict(filters=2, kernel_size=(2, 3), strides=(2, 1), padding="same"), (2, 7, 6, 3)),
    (Conv2D, dict(filters=4, kernel_size=2, padding="same"), (2, 5, 5, 1)),   # even kernel, stride 1
    (Conv2D, dict(filters=2, kernel_size=3, dilation_rate=(2, 1), padding="same"), (2, 7, 5, 2)),
    (Conv2D, dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), (2, 9, 8, 2)),
    (Conv2D, dict(filters=2, kernel_size=3, strides=3, padding="same", use_bias=False), (2, 8, 7, 2)),
    (Conv2D, dict(filters=2, kernel_size=(3, 1), padding=(1, 2)), (2, 5, 4, 2)),
    (Conv1D, dict(filters=3, kernel_size=3), (2, 9, 2)),
    (Conv1D, dict(filters=2, kernel_size=4, strides=3, padding="same"), (2, 10, 3)),
    (Conv1D, dict(filters=2, kernel_size=2, padding="same"), (2, 6, 2)),
    (Conv1D, dict(filters=2, kernel_size=3, dilation_rate=3, padding="same"), (2, 11, 2)),
    (Conv1D, dict(filters=2, kernel_size=3, strides=2, use_bias=False), (3, 8, 1)),
    (Conv1D, dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal"), (2, 9, 2)),
]
CONV_IDS = [f"{c.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for c, kw, _ in CONV_CASES]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("cls, kwargs, shape", CONV_CASES, ids=CONV_IDS)
def test_conv_matches_torch_outputs_and_gradients(cls, kwargs, shape):
    layer = cls(activation="tanh", **kwargs).seed(1)
    X = rng(2).standard_normal(shape)
    A = layer(X)
    if layer.use_bias:
        layer.p["b"][...] = rng(3).standard_normal(layer.p["b"].shape)   # a non-zero bias
        A = layer(X)
    R = rng(4).standard_normal(A.shape)
    dX = layer.backward(R)
    layer.compute_gradients()

    x = channels_first(X)
    weight = torch.tensor(np.moveaxis(layer.p["W"], (-1, -2), (0, 1)).copy(), requires_grad=True)
    bias = torch.tensor(layer.p["b"], requires_grad=True) if layer.use_bias else None
    conv = F.conv1d if cls is Conv1D else F.conv2d
    d = layer.d
    if layer.padding == "same" and max(d["strides"]) == 1:
        z = conv(x, weight, bias, stride=1, padding="same", dilation=d["dilation"])   # torch's own
    else:
        pads = (tf_same(shape[1:-1], d["kernel"], d["strides"], d["dilation"])
                if layer.padding == "same" else ((0, 0),) * layer.rank if layer.padding == "valid"
                else (((d["kernel"][0] - 1) * d["dilation"][0], 0),) if layer.padding == "causal"
                else tuple((p, p) for p in layer.padding))
        z = conv(torch_pad(x, pads), weight, bias, stride=d["strides"], dilation=d["dilation"])
    a = torch.tanh(z)
    np.testing.assert_allclose(A, to_last(a), **OUT_TOL)
    (a * channels_first(R).detach()).sum().backward()
    np.testing.assert_allclose(dX, to_last(x.grad), **GRAD_TOL)
    np.testing.assert_allclose(layer.g["dW"], np.moveaxis(weight.grad.numpy(), (0, 1), (-1, -2)),
                               **GRAD_TOL)
    if layer.use_bias:
        np.testing.assert_allclose(layer.g["db"], bias.grad.numpy(), **GRAD_TOL)


POOL_CASES = [
    (MaxPooling2D, dict(pool_size=2), (2, 6, 7, 2)),
    (MaxPooling2D, dict(pool_size=3, strides=2), (2, 7, 8, 2)),
    (MaxPooling2D, dict(pool_size=3, strides=1, padding="same"), (2, 5, 6, 2)),
    (MaxPooling2D, dict(pool_size=(2, 3), strides=(2, 2), padding="same"), (2, 5, 7, 1)),
    (AveragePooling2D, dict(pool_size=2), (2, 5, 7, 2)),
    (AveragePooling2D, dict(pool_size=3, strides=1, padding="same"), (2, 5, 6, 2)),
    (AveragePooling2D, dict(pool_size=(2, 3), strides=(3, 2), padding="same"), (2, 7, 6, 2)),
    (MaxPooling1D, dict(pool_size=3, strides=2), (2, 9, 3)),
    (MaxPooling1D, dict(pool_size=2, padding="same"), (2, 7, 2)),
    (AveragePooling1D, dict(pool_size=3), (2, 10, 2)),
    (AveragePooling1D, dict(pool_size=2, strides=1, padding="same"), (2, 6, 2)),
    (AveragePooling1D, dict(pool_size=5, strides=1, padding="same"), (2, 6, 2)),
]
POOL_IDS = [f"{c.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for c, kw, _ in POOL_CASES]


def torch_pool(layer, x, shape):
    """The same pooling with PyTorch modules: native padding when TF's is symmetric, else F.pad
    (-inf for max; for the average, sums over zero-padded windows divided by torch's count of real
    entries)."""
    rank, d = layer.rank, layer.d
    pads = (tf_same(shape[1:-1], d["pool"], d["strides"], (1,) * rank) if layer.padding == "same"
            else ((0, 0),) * rank)
    nn = torch.nn
    symmetric = all(b == a for b, a in pads)
    if layer.op == "max":
        Pool = nn.MaxPool1d if rank == 1 else nn.MaxPool2d
        if symmetric:
            return Pool(d["pool"], d["strides"], padding=tuple(b for b, _ in pads))(x)
        return Pool(d["pool"], d["strides"])(torch_pad(x, pads, -np.inf))
    Pool = nn.AvgPool1d if rank == 1 else nn.AvgPool2d
    if symmetric and all(b <= k // 2 for (b, _), k in zip(pads, d["pool"])):
        return Pool(d["pool"], d["strides"], padding=tuple(b for b, _ in pads),
                    count_include_pad=False)(x)
    pool = Pool(d["pool"], d["strides"])       # count_include_pad: every window holds K entries
    ones = torch.ones((1, 1) + tuple(shape[1:-1]), dtype=torch.float64)
    return pool(torch_pad(x, pads)) / pool(torch_pad(ones, pads))


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("cls, kwargs, shape", POOL_CASES, ids=POOL_IDS)
def test_pooling_matches_torch_outputs_and_gradients(cls, kwargs, shape, ties):
    X = rng(5).integers(-2, 2, shape).astype(float) if ties else rng(5).standard_normal(shape)
    layer = cls(**kwargs)
    A = layer(X)
    R = rng(6).standard_normal(A.shape)
    dX = layer.backward(R)
    x = channels_first(X)
    a = torch_pool(layer, x, shape)
    np.testing.assert_allclose(A, to_last(a), **OUT_TOL)
    (a * channels_first(R).detach()).sum().backward()
    np.testing.assert_allclose(dX, to_last(x.grad), **GRAD_TOL)


GLOBALS = [(GlobalAveragePooling1D, "AdaptiveAvgPool1d", (2, 7, 3)),
           (GlobalAveragePooling2D, "AdaptiveAvgPool2d", (2, 5, 4, 2)),
           (GlobalMaxPooling1D, "AdaptiveMaxPool1d", (2, 7, 3)),
           (GlobalMaxPooling2D, "AdaptiveMaxPool2d", (2, 5, 4, 2))]


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("cls, module, shape", GLOBALS, ids=[c.__name__ for c, _, _ in GLOBALS])
def test_global_pooling_matches_torch_adaptive_pooling(cls, module, shape, ties):
    X = rng(7).integers(0, 2, shape).astype(float) if ties else rng(7).standard_normal(shape)
    layer = cls()
    A = layer(X)
    R = rng(8).standard_normal(A.shape)
    dX = layer.backward(R)
    x = channels_first(X)
    a = getattr(torch.nn, module)(1)(x).flatten(1)          # (m, c)
    np.testing.assert_allclose(A, a.detach().numpy(), **OUT_TOL)
    (a * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(dX, to_last(x.grad), **GRAD_TOL)


def test_max_pool_tie_rule_is_torchs_first_maximum():
    """All-equal windows: torch and unrolled both give the whole gradient to the first entry."""
    X = np.ones((1, 4, 4, 1))
    layer = MaxPooling2D(2)
    layer(X)
    dX = layer.backward(np.ones((1, 2, 2, 1)))
    x = channels_first(X)
    torch.nn.MaxPool2d(2)(x).sum().backward()
    np.testing.assert_array_equal(dX, to_last(x.grad))
    np.testing.assert_array_equal(dX[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0]] * 2)


# ------------------------------------------------------------------------------ interop
@pytest.mark.parametrize("module_args", [
    ("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=(2, 1), padding=1,
                    dilation=(1, 2))),
    ("Conv2d", dict(in_channels=2, out_channels=3, kernel_size=3, padding="same", bias=False)),
    ("Conv1d", dict(in_channels=2, out_channels=5, kernel_size=4, stride=2)),
    ("Conv1d", dict(in_channels=3, out_channels=2, kernel_size=3, dilation=2, padding="valid")),
], ids=["conv2d-pad1", "conv2d-same-nobias", "conv1d-stride", "conv1d-dilated"])
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_interop_converts_convolutions_both_ways(module_args, dtype):
    from unrolled.interop.torch import from_torch, to_torch
    name, kwargs = module_args
    torch.manual_seed(0)
    module = getattr(torch.nn, name)(**kwargs, dtype=dtype)
    layer = from_torch(module)
    assert type(layer) is (Conv1D if name == "Conv1d" else Conv2D)
    shape = (2, 9) if name == "Conv1d" else (2, 8, 7)
    X = rng(9).standard_normal(shape + (kwargs["in_channels"],)).astype(
        np.float64 if dtype == torch.float64 else np.float32)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
    expected = to_last(module(torch.from_numpy(np.moveaxis(X, -1, 1).copy())))
    np.testing.assert_allclose(layer(X), expected, **tol)
    back = to_torch(layer)
    for p, q in zip(back.parameters(), module.parameters()):
        assert p.dtype == q.dtype
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert back.stride == module.stride and back.dilation == module.dilation
    x = torch.from_numpy(np.moveaxis(X, -1, 1).copy())
    np.testing.assert_array_equal(back(x).detach().numpy(), module(x).detach().numpy())


def test_to_torch_refuses_strided_same_padding_and_models_with_convolutions():
    from unrolled.framework import Model
    from unrolled.interop.torch import to_torch
    from unrolled.layers import Dense, Flatten
    layer = Conv2D(2, 3, strides=2, padding="same", name="c")
    layer(np.zeros((1, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"Conv2D 'c' has padding='same' with strides \(2, 2\)"):
        to_torch(layer)
    causal = Conv1D(1, 3, padding="causal")
    causal(np.zeros((1, 5, 1)))
    with pytest.raises(ValueError, match=r"padding='causal', which nn.Conv1d lacks .*F.pad\(x, \(2, 0\)\)"):
        to_torch(causal)
    relu = Conv2D(2, 3, activation="relu")
    relu(np.zeros((1, 5, 5, 1)))
    seq = to_torch(relu)
    assert isinstance(seq[1], torch.nn.ReLU)
    model = Model([Conv2D(2, 2), Flatten(), Dense(1)])
    model.predict(np.zeros((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="channels first"):
        to_torch(model)
