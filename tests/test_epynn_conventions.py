"""The names and habits an EpyNN (or R `rnn`) user brings compute what they computed there."""
import numpy as np
import pytest

from unrolled.datasets import Vocabulary
from unrolled.framework import Model, get_activation, get_initializer
from unrolled.framework.activations import LeakyReLU
from unrolled.framework.metrics import METRICS, get_metric
from unrolled.layers import Dense, LSTM


def test_lrelu_is_leaky_relu():
    act = get_activation("lrelu", alpha=0.3)          # EpyNN's LRELU_alpha default is 0.3
    assert isinstance(act, LeakyReLU) and act.alpha == 0.3
    np.testing.assert_array_equal(act.forward(np.array([-2.0, 3.0])), [-0.6, 3.0])


def test_gompertz_is_r_rnns_gompertz_curve():
    act = get_activation("gompertz")
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(act.forward(z), np.exp(-np.exp(-z)), rtol=1e-15)
    assert act.forward(np.array([0.0]))[0] == pytest.approx(1 / np.e)
    # saturates without NaN at both ends, and so does its derivative
    far = np.array([-800.0, 800.0])
    a = act.forward(far)
    np.testing.assert_array_equal(a, [0.0, 1.0])
    assert np.all(np.isfinite(act.backward(np.ones(2), a, far)))


def test_xavier_is_epynns_xavier_a_normal_with_variance_2_over_fans():
    init = get_initializer("xavier")
    W = init((400, 600), np.random.default_rng(0))
    assert abs(W.mean()) < 1e-3
    assert W.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.01)
    # the same draws as glorot_normal from the same generator (a normal, not a uniform)
    np.testing.assert_array_equal(W, get_initializer("glorot_normal")((400, 600),
                                                                        np.random.default_rng(0)))
    assert np.abs(W).max() > np.sqrt(6 / 1000)       # beyond a Glorot uniform's bound


@pytest.mark.parametrize("name, canonical", [("fscore", "f1"), ("NPV", "npv"),
                                             ("Perplexity", "perplexity")])
def test_epynn_metric_names_are_accepted(name, canonical):
    assert get_metric(name, "categorical") == (canonical, METRICS[canonical])


def test_perplexity_counts_the_choices_the_model_hesitates_between():
    n = 5
    uniform = np.full((4, 3, n), 1 / n)
    labels = np.random.default_rng(0).integers(0, n, (4, 3))
    assert METRICS["perplexity"](uniform, labels, task="sparse") == pytest.approx(n)
    perfect = np.eye(n)[labels]
    assert METRICS["perplexity"](perfect, perfect, task="categorical") == pytest.approx(1.0)
    A = np.random.default_rng(1).dirichlet(np.ones(n), size=(4, 3))
    mask = np.ones((4, 3), dtype=bool)
    mask[0, 2] = False
    picked = A[np.arange(4)[:, None], np.arange(3)[None], labels][mask]
    assert METRICS["perplexity"](A, labels, task="sparse", mask=mask) == \
        pytest.approx(np.exp(-np.mean(np.log(picked))), rel=1e-12)


def test_perplexity_refuses_binary_outputs():
    with pytest.raises(ValueError, match="perplexity"):
        get_metric("perplexity", "binary")


def test_classification_metrics_with_mse_on_probabilities():
    """EpyNN pairs mse with softmax: accuracy is then scored on the softmax's argmax."""
    model = Model([Dense(3, activation="softmax")], loss="mse", metrics=["accuracy"], seed=0)
    X = np.random.default_rng(0).standard_normal((6, 4))
    Y = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    expected = np.mean(model.predict(X).argmax(axis=1) == Y.argmax(axis=1))
    assert model.evaluate(X, Y)["accuracy"] == pytest.approx(expected)
    binary = Model([LSTM(2), Dense(1, activation="sigmoid")], loss="mse", metrics=["f1"], seed=0)
    assert binary.task == "binary"
    with pytest.raises(ValueError, match="needs a classification loss .* or probabilities"):
        Model([Dense(3)], loss="mse", metrics=["accuracy"])


def test_vocabulary_round_trips_strings_words_and_integers():
    chars = Vocabulary().fit(["GATTACA", "CAT"])
    assert chars.tokens == ["G", "A", "T", "C"]
    X = chars.one_hot(["TAG", "CAT"])
    assert X.shape == (2, 3, 4) and X.sum() == 6
    assert chars.decode(X) == [["T", "A", "G"], ["C", "A", "T"]]
    words = Vocabulary(["<pad>"]).fit([["the", "cat"], ["a", "cat"]])
    assert words.encode([["a", "the"]]).tolist() == [[3, 1]]
    assert words.decode(np.array([[2, 0]])) == [["cat", "<pad>"]]
    numbers = Vocabulary([10, 20, 30])
    assert numbers.decode(numbers.encode([[30, 10]])) == [[30, 10]]


def test_vocabulary_errors_name_the_problem():
    vocab = Vocabulary("ACGT")
    with pytest.raises(ValueError, match=r"unknown tokens 'N'"):
        vocab.encode(["ACN"])
    with pytest.raises(ValueError, match=r"one length, got lengths \[2, 3\]"):
        vocab.encode(["AC", "ACG"])
    with pytest.raises(ValueError, match=r"ids must be in \[0, 4\), got \[0, 7\]"):
        vocab.decode(np.array([[0, 7]]))
    with pytest.raises(ValueError, match="last axis of 4"):
        vocab.decode(np.zeros((1, 2, 3)))


def test_a_layers_clip_norm_clips_that_layer_only():
    X = np.random.default_rng(0).standard_normal((8, 5, 3)) * 10
    Y = np.random.default_rng(1).standard_normal((8, 1)) * 10
    model = Model([LSTM(3, clip_norm=1e-3), Dense(1)], loss="mse", seed=0)
    model.compute_loss_and_gradients(X, Y)
    before = {l.name: np.sqrt(sum(np.sum(g ** 2) for g in l.g.values())) for l in model.layers}
    assert before["lstm_0"] > 1e-3 and before["dense_1"] > 1e-3
    model._clip()
    after = {l.name: np.sqrt(sum(np.sum(g ** 2) for g in l.g.values())) for l in model.layers}
    assert after["lstm_0"] == pytest.approx(1e-3, rel=1e-12)      # exactly clip_norm / norm
    assert after["dense_1"] == before["dense_1"]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "1", True])
def test_clip_norm_must_be_a_positive_number(bad):
    with pytest.raises(ValueError, match=r"LSTM: clip_norm must be a finite number > 0"):
        LSTM(3, clip_norm=bad)


def test_clip_norm_is_saved(tmp_path):
    from unrolled.framework import load_model, save_model
    model = Model([LSTM(3, clip_norm=0.5), Dense(1)], loss="mse", seed=0)
    model.build(np.zeros((2, 4, 3)))
    save_model(model, tmp_path / "m.npz")
    assert load_model(tmp_path / "m.npz").layers[0].clip_norm == 0.5


def test_dense_without_bias():
    """Dense(use_bias=False) equals the reference with b = 0, entry by entry, and has no b."""
    from unrolled.framework import gradcheck
    from unrolled.reference.dense import dense_backward, dense_forward
    layer = Dense(3, activation="tanh", use_bias=False).seed(0)
    X = np.random.default_rng(0).standard_normal((4, 5))
    layer(X)
    assert set(layer.p) == {"W"}
    fc = dense_forward(X, layer.p["W"], np.zeros((1, 3)), "tanh")
    dA = np.random.default_rng(1).standard_normal(fc["A"].shape)
    layer.backward(dA)
    layer.compute_gradients()
    bc, g = dense_backward(fc, layer.p["W"], dA, "tanh")
    assert set(layer.g) == {"dW"}
    for ours, theirs in ((layer.fc, fc), (layer.bc, bc)):
        for key, value in theirs.items():
            np.testing.assert_allclose(ours[key], value, rtol=1e-12, atol=1e-15, err_msg=key)
    np.testing.assert_allclose(layer.g["dW"], g["dW"], rtol=1e-12)
    assert gradcheck(Dense(3, activation="tanh", use_bias=False).seed(0), X).worst < 1e-7


def test_dense_without_bias_saves(tmp_path):
    from unrolled.framework import load_model, save_model
    model = Model([Dense(2, use_bias=False)], seed=0)
    X = np.ones((3, 4))
    model.build(X)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.layers[0].use_bias is False and set(loaded.layers[0].p) == {"W"}
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("make, pattern", [
    (lambda: Dense(True), r"Dense: units must be"),
    (lambda: Dense("4"), r"Dense: units must be .*'4'"),
    (lambda: Dense(2, activation_params=[1]), r"Dense: activation_params must be a dict"),
    (lambda: Dense(2, use_bias="no"), r"Dense: use_bias must be"),
])
def test_dense_arguments_are_typed(make, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        make()


def test_gru_takes_one_activation_per_gate():
    """EpyNN's GRU(activate_update=..., activate_reset=...): GRU(gate_activations=...)."""
    from unrolled.framework import gradcheck
    from unrolled.layers import GRU
    X = np.random.default_rng(0).standard_normal((3, 4, 2))
    for reset_after in (True, False):
        layer = GRU(3, gate_activations={"u": "hard_sigmoid", "r": "tanh"}, reset_after=reset_after,
                    sequences=True).seed(0)
        assert gradcheck(layer, X).worst < 1e-6
        layer(X)
        np.testing.assert_allclose(layer.fc["u"], np.clip(layer.fc["u"], 0, 1))   # hard sigmoid
        assert layer.fc["r"].min() < 0                                             # tanh, not sigmoid
    plain = GRU(3, sequences=True).seed(0)
    same = GRU(3, gate_activations={"r": "sigmoid", "u": "sigmoid"}, sequences=True).seed(0)
    np.testing.assert_array_equal(plain(X), same(X))
    with pytest.raises(ValueError, match=r"gate_activations keys must be among \('r', 'u', 'n'\), got \['z'\]"):
        GRU(3, gate_activations={"z": "sigmoid"})


def test_gru_gate_activations_are_saved(tmp_path):
    from unrolled.framework import load_model, save_model
    from unrolled.layers import GRU
    model = Model([GRU(3, gate_activations={"u": "hard_sigmoid"}), Dense(1)], seed=0)
    X = np.random.default_rng(0).standard_normal((2, 4, 2))
    model.build(X)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.layers[0].gate_activations["u"].name == "hard_sigmoid"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
