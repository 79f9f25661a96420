"""``unrolled.interop.torch``: PyTorch stays optional, what converts converts exactly (dense layers,
folded activations, dropout, sequential models, dtypes), and what cannot convert says why.

The recurrent layers' agreement with PyTorch (outputs and every gradient) is in
test_recurrent_torch.py; this file covers the conversion functions themselves.
"""
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from unrolled.framework import Model
from unrolled.interop.torch import from_torch, to_torch     # never imports torch itself
from unrolled.layers import GRU, LSTM, RNN, Dense, Dropout

try:
    import torch
    from torch import nn
except ImportError:
    torch = nn = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

TORCH_MISSING = ("PyTorch is needed for unrolled.interop.torch: pip install 'unrolled[torch]' "
                 "(or torch==2.13.0 for a CPU build)")


def _python(code):
    """Run ``code`` in a fresh interpreter (so that sys.modules starts clean)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- torch is optional
def test_importing_interop_does_not_import_torch():
    result = _python("""
        import sys
        import unrolled.interop
        import unrolled.interop.torch
        from unrolled.interop import from_torch, to_torch
        assert "torch" not in sys.modules, "importing unrolled.interop imported torch"
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_without_torch_the_functions_raise_a_helpful_import_error():
    result = _python("""
        import sys
        sys.modules["torch"] = None          # makes `import torch` raise ImportError
        import numpy as np
        from unrolled.interop.torch import from_torch, to_torch
        from unrolled.layers import Dense
        layer = Dense(2)
        layer(np.zeros((1, 3)))
        for call in (lambda: from_torch(object()), lambda: to_torch(layer)):
            try:
                call()
            except ImportError as err:
                print(str(err))
            else:
                print("no error")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [TORCH_MISSING, TORCH_MISSING]


# --------------------------------------------------------------------------- dense and activations
def _close(actual, expected, tol=1e-12):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    assert float(np.max(np.abs(actual - expected))) / scale <= tol


FOLDED = {
    "relu": (lambda: nn.ReLU(), "relu", {}),
    "tanh": (lambda: nn.Tanh(), "tanh", {}),
    "sigmoid": (lambda: nn.Sigmoid(), "sigmoid", {}),
    "softmax": (lambda: nn.Softmax(dim=-1), "softmax", {}),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), "leaky_relu", {"alpha": 0.2}),
    "elu": (lambda: nn.ELU(alpha=0.7), "elu", {"alpha": 0.7}),
    "selu": (lambda: nn.SELU(), "selu", {}),
    "silu": (lambda: nn.SiLU(), "swish", {"beta": 1.0}),
    "softplus": (lambda: nn.Softplus(), "softplus", {}),
    "hardsigmoid": (lambda: nn.Hardsigmoid(), "hard_sigmoid", {}),
}


@needs_torch
@pytest.mark.parametrize("key", list(FOLDED))
def test_activation_modules_fold_into_dense(key):
    make, name, params = FOLDED[key]
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 5), make()).double()
    model = from_torch(seq)
    (dense,) = model.layers
    assert dense.activation.name == name
    for option, value in params.items():
        assert getattr(dense.activation, option) == pytest.approx(value)
    X = 2.0 * _rng(1).standard_normal((7, 3))
    expected = seq(torch.tensor(X)).detach().numpy()
    _close(model.predict(X), expected)
    # and back: the same modules, the same outputs
    back = to_torch(dense)
    assert [type(m) for m in back] == [type(m) for m in seq]
    _close(back(torch.tensor(X)).detach().numpy(), expected)


@needs_torch
def test_linear_converts_with_and_without_bias():
    torch.manual_seed(1)
    for bias in (True, False):
        linear = nn.Linear(4, 3, bias=bias).double()
        dense = from_torch(linear)
        assert isinstance(dense, Dense) and dense.activation.name == "identity"
        np.testing.assert_array_equal(dense.p["W"], linear.weight.detach().numpy().T)
        expected_b = linear.bias.detach().numpy()[None] if bias else np.zeros((1, 3))
        np.testing.assert_array_equal(dense.p["b"], expected_b)
        X = _rng(2).standard_normal((5, 4))
        _close(dense(X), linear(torch.tensor(X)).detach().numpy())
        # 3-D input: the same weights at every step, like nn.Linear
        X3 = _rng(3).standard_normal((2, 6, 4))
        _close(dense(X3), linear(torch.tensor(X3)).detach().numpy())
    back = to_torch(dense)
    assert type(back) is nn.Linear          # identity activation: a bare Linear


@needs_torch
def test_converted_values_are_copies():
    torch.manual_seed(2)
    lstm = nn.LSTM(2, 3, batch_first=True).double()
    layer = from_torch(lstm)
    before = {k: v.copy() for k, v in layer.p.items()}
    with torch.no_grad():
        for p in lstm.parameters():
            p.add_(1.0)
    for k in before:
        np.testing.assert_array_equal(layer.p[k], before[k])
    module = to_torch(layer)
    layer.p["U"] += 1.0
    np.testing.assert_array_equal(module.weight_ih_l0.detach().numpy().T, before["U"])


# --------------------------------------------------------------------------- sequential models
@needs_torch
def test_sequential_passes_model_settings_and_dropout():
    torch.manual_seed(3)
    seq = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.25), nn.Identity(),
                        nn.Linear(6, 3), nn.Softmax(dim=-1)).double()
    seq.eval()
    model = from_torch(seq, loss="cce", optimizer="adam", metrics=["accuracy"], seed=5)
    assert model.loss.name == "cce" and type(model.optimizer).__name__ == "Adam"
    assert model.seed == 5 and "accuracy" in model.metrics
    assert [type(l).__name__ for l in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.layers[1].rate == 0.25
    X = _rng(4).standard_normal((9, 4))
    expected = seq(torch.tensor(X)).detach().numpy()
    _close(model.predict(X), expected)          # evaluation mode: dropout is the identity
    back = to_torch(model).eval()
    assert [type(m) for m in back] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.Softmax]
    assert back[2].p == 0.25
    _close(back(torch.tensor(X)).detach().numpy(), expected)


@needs_torch
def test_sequential_dtype_can_be_chosen():
    torch.manual_seed(4)
    seq = nn.Sequential(nn.Linear(3, 2), nn.Tanh()).double()
    model = from_torch(seq, dtype="float32")
    assert model.dtype == np.float32
    assert all(v.dtype == np.float32 for v in model.layers[0].p.values())
    X = _rng(5).standard_normal((4, 3))
    np.testing.assert_allclose(model.predict(X), seq(torch.tensor(X)).detach().numpy(), atol=1e-6)


@needs_torch
def test_plain_recurrent_module_in_a_sequential_uses_the_sequences_argument():
    """nn.LSTM returns a tuple, so PyTorch cannot run it inside nn.Sequential; from_torch still
    converts it, with ``sequences`` from its argument."""
    torch.manual_seed(5)
    seq = nn.Sequential(nn.LSTM(2, 3, batch_first=True), nn.Linear(3, 1)).double()
    model = from_torch(seq, sequences=False)
    assert isinstance(model.layers[0], LSTM) and model.layers[0].sequences is False
    assert model.predict(_rng(6).standard_normal((4, 5, 2))).shape == (4, 1)


@needs_torch
def test_converted_sequence_model_trains_and_evaluates_on_any_length():
    """A converted many-to-many model is built on a dummy input; evaluating it on sequences of
    other lengths must use the real output shape."""
    torch.manual_seed(6)
    model = Model([GRU(4, sequences=True), Dense(2)], loss="mse", seed=0)
    model.build(np.zeros((1, 3, 2)))
    seq = to_torch(model)
    again = from_torch(seq, loss="mse", seed=1)
    data = {s: (_rng(s).standard_normal((5, s, 2)), _rng(s + 1).standard_normal((5, s, 2)))
            for s in (7, 2)}
    for X, _ in data.values():
        _close(again.predict(X), seq(torch.tensor(X)).detach().numpy())
    for X, Y in data.values():
        assert np.isfinite(again.evaluate(X, Y)["loss"])
        history = again.train(X, Y, epochs=1, verbose=0)
        assert np.isfinite(history["loss"][-1])


@needs_torch
def test_weights_trained_in_unrolled_run_in_pytorch():
    rng = _rng(7)
    X, Y = rng.standard_normal((16, 6, 2)), np.eye(3)[rng.integers(0, 3, 16)]
    model = Model([LSTM(4, sequences=True), GRU(3), Dense(3, activation="softmax")], loss="cce",
                  optimizer="adam", seed=2)
    model.train(X, Y, epochs=3, batch_size=4, verbose=0)
    seq = to_torch(model)
    _close(seq(torch.tensor(X)).detach().numpy(), model.predict(X))
    # the wrapper modules pickle (torch.save of the whole module works)
    restored = pickle.loads(pickle.dumps(seq))
    _close(restored(torch.tensor(X)).detach().numpy(), model.predict(X))


@needs_torch
def test_recurrent_layers_without_bias_convert_both_ways_in_a_model():
    """use_bias=False <-> bias=False for RNN, LSTM and GRU inside a model: no bias parameter on
    either side, the same outputs, and the same weights back (gradients against PyTorch:
    test_recurrent_torch.py)."""
    model = Model([LSTM(4, sequences=True, use_bias=False), GRU(3, sequences=True, use_bias=False),
                   RNN(2, use_bias=False)], seed=3)
    X = _rng(9).standard_normal((5, 6, 2))
    model.build(X)
    seq = to_torch(model)
    modules = [wrapper.rnn for wrapper in seq]
    assert [type(m) for m in modules] == [nn.LSTM, nn.GRU, nn.RNN]
    assert all(m.bias is False and not any("bias" in name for name, _ in m.named_parameters())
               for m in modules)
    _close(seq(torch.tensor(X)).detach().numpy(), model.predict(X))
    again = from_torch(seq)
    for layer, original in zip(again.layers, model.layers):
        assert layer.use_bias is False and set(layer.p) == {"U", "V"}
        for name in ("U", "V"):
            np.testing.assert_array_equal(layer.p[name], original.p[name])
    _close(again.predict(X), model.predict(X))


# --------------------------------------------------------------------------- what cannot convert
@needs_torch
@pytest.mark.parametrize("module, match", [
    (lambda: nn.LSTM(2, 3, num_layers=2, batch_first=True), "num_layers=2"),
    (lambda: nn.GRU(2, 3), "batch_first=False"),
    (lambda: nn.RNN(2, 3, batch_first=True, bidirectional=True), "bidirectional=True"),
    (lambda: nn.LSTM(2, 4, batch_first=True, proj_size=2), "proj_size=2"),
    (lambda: nn.Conv3d(2, 3, 3), "Conv3d is not supported"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)), r"Softmax\(dim=1\)"),
    (lambda: nn.Sequential(nn.Tanh(), nn.Linear(2, 3)), "must follow an nn.Linear"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh()), "must follow an nn.Linear"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softplus(beta=2.0)), "beta=2"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3)), "LayerNorm is not supported"),
    (lambda: nn.Linear(2, 3).half(), "float16"),
])
def test_from_torch_refuses_what_it_cannot_express(module, match):
    with pytest.raises(ValueError, match=match):
        from_torch(module())


@needs_torch
def test_model_settings_apply_to_sequential_only():
    with pytest.raises(TypeError, match="nn.Sequential only"):
        from_torch(nn.Linear(2, 3), loss="mse")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        from_torch(np.zeros(3))


def _built(layer, shape=(2, 3, 2)):
    layer.seed(0)
    layer(np.zeros(shape))
    return layer


@needs_torch
@pytest.mark.parametrize("make, match", [
    (lambda: _built(GRU(3, reset_after=False)), "reset_after=False"),
    (lambda: _built(LSTM(3, activation="elu")), "gate g activation 'elu'"),
    (lambda: _built(LSTM(3, gate_activations={"o": "hard_sigmoid"})), "gate o activation"),
    (lambda: _built(RNN(3, activation="elu")), "nonlinearity 'tanh' or 'relu'"),
    (lambda: _built(Dropout(0.2, axis=(1,))), r"shares its mask \(per_sequence=False, axis=\(1,\)\)"),
    (lambda: _built(Dropout(0.2, per_sequence=True)), r"shares its mask \(per_sequence=True"),
    (lambda: _built(GRU(3, activation="swish")), "gate n activation 'swish'"),
    (lambda: _built(GRU(3, recurrent_activation="hard_sigmoid")), "gate r activation 'hard_sigmoid'"),
    (lambda: _built(Dense(2, activation="softmax", activation_params={"temperature": 2.0}),
                    (2, 3)), "temperature"),
    (lambda: _built(Dense(2, activation="swish", activation_params={"beta": 2.0}), (2, 3)),
     "beta"),
    (lambda: LSTM(3), "build it first"),
])
def test_to_torch_refuses_what_pytorch_cannot_express(make, match):
    with pytest.raises(ValueError, match=match):
        to_torch(make())


@needs_torch
def test_to_torch_warns_about_recurrent_dropout_and_rejects_non_layers():
    with pytest.warns(UserWarning, match="recurrent_dropout"):
        to_torch(_built(LSTM(3, recurrent_dropout=0.2)))
    with pytest.raises(TypeError, match="Layer or Model"):
        to_torch(nn.Linear(2, 2))
