"""RNN, LSTM and GRU agree with PyTorch's nn.RNN, nn.LSTM and nn.GRU: outputs, final states and
every gradient (input, initial states, each parameter), in float64.

PyTorch is the independent reference here: its modules are given random weights, converted with
``unrolled.interop.torch.from_torch`` (whose weight mapping is stated in that module's docstring)
and both frameworks then run the same input. PyTorch has two biases per gate where unrolled keeps
their sum, so the gradient of unrolled's folded bias must equal EACH of PyTorch's two bias
gradients on those blocks. Modules with ``bias=False`` become layers with ``use_bias=False``.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unrolled.framework import Model                      # noqa: E402
from unrolled.interop.torch import from_torch, to_torch    # noqa: E402
from unrolled.layers import GRU, LSTM, RNN, Dense          # noqa: E402

OUT_TOL = 1e-10    # relative, outputs and states
GRAD_TOL = 1e-9    # relative, gradients

MODULES = {
    "rnn_tanh": lambda e, u: torch.nn.RNN(e, u, batch_first=True, nonlinearity="tanh"),
    "rnn_relu": lambda e, u: torch.nn.RNN(e, u, batch_first=True, nonlinearity="relu"),
    "lstm": lambda e, u: torch.nn.LSTM(e, u, batch_first=True),
    "gru": lambda e, u: torch.nn.GRU(e, u, batch_first=True),
    # bias=False <-> use_bias=False: no b (nor GRU's bh) on either side
    "rnn_tanh_no_bias": lambda e, u: torch.nn.RNN(e, u, batch_first=True, bias=False),
    "lstm_no_bias": lambda e, u: torch.nn.LSTM(e, u, batch_first=True, bias=False),
    "gru_no_bias": lambda e, u: torch.nn.GRU(e, u, batch_first=True, bias=False),
}
# (m, s, e, u): including a single step and a single sample
SHAPES = [(3, 5, 2, 4), (1, 1, 3, 2), (2, 1, 4, 3), (1, 6, 2, 3), (4, 7, 5, 6)]
SHAPE_IDS = ["m{}s{}e{}u{}".format(*shape) for shape in SHAPES]


def assert_close(actual, expected, tol, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    error = float(np.max(np.abs(actual - expected), initial=0.0)) / scale
    assert error <= tol, f"{what}: relative error {error:.2e} > {tol:.0e}"


def random_module(kind, e, u, seed):
    """A float64 PyTorch module whose every weight and bias is random (wider than the default
    init, so that saturations and both biases matter)."""
    torch.manual_seed(seed)
    module = MODULES[kind](e, u).double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.6 * torch.randn_like(p))
    return module


def torch_run(module, X, R, h0=None, C0=None, sequences=True):
    """Forward and backward of L = sum(R * output) in PyTorch; returns outputs, states, gradients."""
    x = torch.tensor(X, requires_grad=True)
    inputs = {}
    if h0 is not None:
        inputs["h0"] = torch.tensor(h0[None], requires_grad=True)
    if C0 is not None:
        inputs["C0"] = torch.tensor(C0[None], requires_grad=True)
    if isinstance(module, torch.nn.LSTM):
        state = None if h0 is None else (inputs["h0"], inputs["C0"])
        out, (hn, cn) = module(x, state)
    else:
        out, hn = module(x, inputs.get("h0"))
        cn = None
    A = out if sequences else out[:, -1]
    (torch.as_tensor(R) * A).sum().backward()
    grads = {"X": x.grad.numpy()}
    grads.update({k: v.grad.numpy()[0] for k, v in inputs.items()})
    grads.update({name: p.grad.numpy() for name, p in module.named_parameters()})
    return (A.detach().numpy(), hn.detach().numpy()[0],
            None if cn is None else cn.detach().numpy()[0], grads)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("kind", list(MODULES))
def test_agrees_with_pytorch(kind, shape, sequences, with_state):
    m, s, e, u = shape
    module = random_module(kind, e, u, seed=s * 100 + m * 10 + u)
    layer = from_torch(module, sequences=sequences)
    assert layer.sequences is sequences
    assert layer.use_bias is module.bias
    rng = np.random.default_rng(m + s + e + u)
    X = rng.standard_normal((m, s, e))
    h0 = rng.standard_normal((m, u)) if with_state else None
    C0 = rng.standard_normal((m, u)) if with_state and kind.startswith("lstm") else None
    R = rng.standard_normal((m, s, u) if sequences else (m, u))
    A_t, hT_t, CT_t, g_t = torch_run(module, X, R, h0, C0, sequences)

    kwargs = {} if h0 is None else {"h0": h0}
    if C0 is not None:
        kwargs["C0"] = C0
    layer.training = True
    A = layer(X, **kwargs).copy()
    assert_close(A, A_t, OUT_TOL, "output")
    assert_close(layer.fc["hT"], hT_t, OUT_TOL, "final state h")
    if kind.startswith("lstm"):
        assert_close(layer.fc["CT"], CT_t, OUT_TOL, "final cell state C")

    dX = layer.backward(R)
    layer.compute_gradients()
    assert_close(dX, g_t["X"], GRAD_TOL, "dX")
    if h0 is not None:
        assert_close(layer.bc["dh0"], g_t["h0"], GRAD_TOL, "dh0")
    if C0 is not None:
        assert_close(layer.bc["dC0"], g_t["C0"], GRAD_TOL, "dC0")
    assert_close(layer.g["dU"], g_t["weight_ih_l0"].T, GRAD_TOL, "dU vs weight_ih.grad.T")
    assert_close(layer.g["dV"], g_t["weight_hh_l0"].T, GRAD_TOL, "dV vs weight_hh.grad.T")
    if not module.bias:
        assert set(layer.g) == {"dU", "dV"} and set(g_t) == {"X", *kwargs, "weight_ih_l0",
                                                            "weight_hh_l0"}
    else:
        db = layer.g["db"][0]
        assert_close(db, g_t["bias_ih_l0"], GRAD_TOL, "db vs bias_ih.grad")
        if kind == "gru":
            # b_ir + b_hr and b_iz + b_hz are folded; b_hn is GRU's separate bh
            assert_close(db[:2 * u], g_t["bias_hh_l0"][:2 * u], GRAD_TOL,
                         "db[r, z] vs bias_hh.grad")
            assert_close(layer.g["dbh"][0], g_t["bias_hh_l0"][2 * u:], GRAD_TOL,
                         "dbh vs b_hn.grad")
        else:
            assert_close(db, g_t["bias_hh_l0"], GRAD_TOL, "db vs bias_hh.grad")

    # back to PyTorch: the same function (bias now all in bias_ih, except GRU's b_hn)
    again = to_torch(layer)
    assert type(again) is type(module) and again.bias is module.bias
    A_again = torch_run(again, X, R, h0, C0, sequences)[0]
    assert_close(A_again, A_t, OUT_TOL, "to_torch(from_torch(module)) output")


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=["rnn", "lstm", "gru"])
def test_to_torch_of_an_unrolled_layer_agrees(cls, use_bias):
    """The other direction: a layer initialized by unrolled (LSTM's forget bias, non-zero GRU bh)
    runs the same in PyTorch after to_torch, and from_torch gives the parameters back exactly;
    use_bias=False becomes bias=False and back."""
    layer = cls(5, sequences=True, use_bias=use_bias).seed(3)
    layer.dtype = np.dtype(np.float64)
    X = np.random.default_rng(4).standard_normal((3, 6, 4))
    layer(X)
    rng = np.random.default_rng(5)
    for name in layer.p:
        layer.p[name] += 0.3 * rng.standard_normal(layer.p[name].shape)
    A = layer(X).copy()
    module = to_torch(layer)
    assert module.bias is use_bias
    out = module(torch.tensor(X))[0].detach().numpy()
    assert_close(out, A, OUT_TOL, "to_torch output")
    back = from_torch(module)
    assert back.use_bias is use_bias and set(back.p) == set(layer.p)
    for name in layer.p:
        np.testing.assert_array_equal(back.p[name], layer.p[name], err_msg=name)


# --------------------------------------------------------------------------- Sequential <-> Model
def _mlp(dtype):
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3),
                               torch.nn.Softmax(dim=-1)).to(dtype)


def test_sequential_mlp_round_trip():
    seq = _mlp(torch.float64)
    model = from_torch(seq, loss="cce", seed=0)
    assert isinstance(model, Model) and model.loss.name == "cce"
    assert [type(l) for l in model.layers] == [Dense, Dense]
    assert [l.activation.name for l in model.layers] == ["tanh", "softmax"]
    X = np.random.default_rng(0).standard_normal((10, 4))
    expected = seq(torch.tensor(X)).detach().numpy()
    assert_close(model.predict(X), expected, OUT_TOL, "predictions")
    back = to_torch(model)
    assert [type(m) for m in back] == [type(m) for m in seq]
    assert_close(back(torch.tensor(X)).detach().numpy(), expected, OUT_TOL, "round trip")


def test_float32_conversion_keeps_float32():
    seq = _mlp(torch.float32)
    model = from_torch(seq, loss="cce")
    assert model.dtype == np.float32
    assert all(p.dtype == np.float32 for l in model.layers for p in l.p.values())
    X = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    out = model.predict(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, seq(torch.tensor(X)).detach().numpy(), rtol=0, atol=1e-6)
    lstm = from_torch(torch.nn.LSTM(4, 3, batch_first=True))
    assert lstm.dtype == np.float32 and all(p.dtype == np.float32 for p in lstm.p.values())
    back = to_torch(lstm)
    assert all(p.dtype == torch.float32 for p in back.parameters())


def test_recurrent_model_round_trip_through_sequential():
    """LSTM(sequences) -> GRU(last step) -> Dense(softmax): to_torch wraps the recurrent layers so
    the nn.Sequential runs, from_torch reads the wrappers back (sequences included)."""
    model = Model([LSTM(5, sequences=True), GRU(4), Dense(3, activation="softmax")],
                  loss="cce", seed=2)
    X = np.random.default_rng(1).standard_normal((6, 7, 2))
    model.build(X)
    expected = model.predict(X)
    seq = to_torch(model)
    assert_close(seq(torch.tensor(X)).detach().numpy(), expected, OUT_TOL, "to_torch(model)")
    again = from_torch(seq, loss="cce")
    assert [type(l) for l in again.layers] == [LSTM, GRU, Dense]
    assert [getattr(l, "sequences", None) for l in again.layers] == [True, False, None]
    assert_close(again.predict(X), expected, OUT_TOL, "from_torch(to_torch(model))")
