"""Arguments people bring from neighbouring libraries: ``validation_split=``, ``sample_weight=``,
"did you mean" for train() arguments that exist elsewhere under another name, and the gradient
check's probe drawn from its own random stream.

Expected values are written by hand (NumPy formulas) or come from a second, independent run
(a model given the same split by hand), never from the code under test."""
import numpy as np
import pytest

from unrolled.framework import SGD, Layer, Model, Seq2Seq, gradcheck
from unrolled.framework.gradcheck import probe
from unrolled.layers import GRU, LSTM, Dense, Embedding


def _rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------ validation_split
def test_validation_split_holds_out_the_last_samples_before_shuffling():
    """validation_split=0.25 trains exactly as validation=(the last quarter) given by hand."""
    rng = _rng(1)
    X, y = rng.standard_normal((40, 6, 3)), rng.integers(0, 3, 40)

    def model():
        return Model([GRU(5), Dense(3, activation="softmax")], loss="scce",
                     metrics=["accuracy"], seed=2)

    by_split, by_hand = model(), model()
    h1 = by_split.train(X, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    h2 = by_hand.train(X[:30], y[:30], epochs=3, batch_size=8, validation=(X[30:], y[30:]),
                       verbose=0)
    assert dict(h1) == dict(h2)
    assert h1["val_loss"][-1] == pytest.approx(by_split.evaluate(X[30:], y[30:])["loss"], rel=1e-12)


def test_validation_split_splits_the_mask_and_the_weights_too():
    rng = _rng(2)
    X, Y = rng.standard_normal((10, 5, 2)), rng.standard_normal((10, 5, 1))
    mask = np.ones((10, 5), dtype=bool)
    mask[:, 4:] = False
    w = rng.uniform(0.5, 2.0, 10)

    def model():
        return Model([LSTM(3, sequences=True), Dense(1)], loss="mse", seed=0)

    a, b = model(), model()
    ha = a.train(X, Y, epochs=2, batch_size=4, mask=mask, sample_weight=w, validation_split=0.2,
                 verbose=0)
    hb = b.train(X[:8], Y[:8], epochs=2, batch_size=4, mask=mask[:8], sample_weight=w[:8],
                 validation=(X[8:], Y[8:], mask[8:]), verbose=0)
    assert dict(ha) == dict(hb)


@pytest.mark.parametrize("bad, message", [
    (0.0, "validation_split must be a fraction in \\(0, 1\\), got 0.0"),
    (1.5, "validation_split must be a fraction in \\(0, 1\\), got 1.5"),
    (0.95, "leaves 0 for training and 10 for validation"),
])
def test_validation_split_out_of_range_is_a_clear_error(bad, message):
    X, Y = np.zeros((10, 2)), np.zeros((10, 1))
    with pytest.raises(ValueError, match=message):
        Model([Dense(1)], seed=0).train(X, Y, validation_split=bad, verbose=0)


def test_validation_split_and_validation_together_are_refused():
    X, Y = np.zeros((10, 2)), np.zeros((10, 1))
    with pytest.raises(ValueError, match="validation=\\(X_val, Y_val\\) or validation_split=, not both"):
        Model([Dense(1)], seed=0).train(X, Y, validation=(X, Y), validation_split=0.2, verbose=0)


# ------------------------------------------------------------------------ sample_weight
def test_sample_weight_gives_the_hand_weighted_mse_and_its_sgd_step():
    """Linear model, MSE: L = sum_i w_i sum_j (a_ij - y_ij)^2 / (m n) and one full-batch SGD
    step W -= lr X^T (2 w (A - Y)) / (m n), written out here."""
    rng = _rng(3)
    m, n_in, n_out, lr = 12, 4, 2, 0.1
    X, Y = rng.standard_normal((m, n_in)), rng.standard_normal((m, n_out))
    w = rng.uniform(0.0, 3.0, m)
    model = Model([Dense(n_out)], loss="mse", optimizer=SGD(lr=lr), seed=0)
    model.build(X)
    W0, b0 = model.layers[0].p["W"].copy(), model.layers[0].p["b"].copy()
    A = X @ W0 + b0
    hand_loss = np.sum(w[:, None] * (A - Y) ** 2) / (m * n_out)
    assert model.loss_at(X, Y, sample_weight=w) == pytest.approx(hand_loss, rel=1e-13)
    history = model.train(X, Y, epochs=1, batch_size=m, shuffle=False, sample_weight=w, verbose=0)
    assert history["loss"][0] == pytest.approx(hand_loss, rel=1e-13)
    dA = 2.0 * w[:, None] * (A - Y) / (m * n_out)
    np.testing.assert_allclose(model.layers[0].p["W"], W0 - lr * X.T @ dA, rtol=1e-13)
    np.testing.assert_allclose(model.layers[0].p["b"], b0 - lr * dA.sum(axis=0, keepdims=True),
                               rtol=1e-13)


def test_unit_sample_weights_change_nothing():
    rng = _rng(4)
    X, y = rng.standard_normal((16, 5, 3)), rng.integers(0, 2, 16)

    def run(**kw):
        model = Model([LSTM(4), Dense(2, activation="softmax")], loss="scce", seed=5)
        return model.train(X, y, epochs=2, batch_size=5, verbose=0, **kw), model.get_weights()

    (h1, w1), (h2, w2) = run(), run(sample_weight=np.ones(16))
    assert dict(h1) == dict(h2)
    for key in w1:
        np.testing.assert_array_equal(w1[key], w2[key])


@pytest.mark.parametrize("case", ["fused softmax scce", "sigmoid bce", "sequence mse with mask"])
def test_weighted_loss_gradient_is_exact(case):
    """Finite differences of the weighted objective agree with the analytic gradients."""
    rng = _rng(6)
    m = 5
    w = rng.uniform(0.0, 2.0, m)
    mask = None
    if case == "fused softmax scce":
        model = Model([LSTM(3), Dense(3, activation="softmax")], loss="scce", seed=0)
        X, Y = rng.standard_normal((m, 4, 2)), rng.integers(0, 3, m)
    elif case == "sigmoid bce":
        model = Model([Dense(3, activation="tanh"), Dense(2, activation="sigmoid")], loss="bce",
                      seed=0)
        X, Y = rng.standard_normal((m, 3)), rng.integers(0, 2, (m, 2)).astype(float)
    else:
        model = Model([GRU(3, sequences=True), Dense(2)], loss="mse", seed=0)
        X, Y = rng.standard_normal((m, 4, 2)), rng.standard_normal((m, 4, 2))
        mask = np.ones((m, 4), dtype=bool)
        mask[1, 2:] = mask[3, 3:] = False
    result = gradcheck(model, X, Y, mask=mask, sample_weight=w)
    assert result.worst < 1e-7, repr(result)
    # and the weights matter: the weighted gradient is not the unweighted one
    model.compute_loss_and_gradients(*model._prepare(X, Y, mask))
    plain = model.layers[0].g["dU" if case != "sigmoid bce" else "dW"].copy()
    model.compute_loss_and_gradients(*model._prepare(X, Y, mask), sample_weight=w)
    assert not np.allclose(plain, model.layers[0].g["dU" if case != "sigmoid bce" else "dW"])


@pytest.mark.parametrize("bad, error, message", [
    (np.ones(5), ValueError, r"one weight per sample, shape \(6,\), got shape \(5,\)"),
    (-np.ones(6), ValueError, "finite and >= 0"),
    (np.array(["a"] * 6), TypeError, "sample_weight must be numeric"),
])
def test_bad_sample_weight_is_a_clear_error(bad, error, message):
    X, Y = np.zeros((6, 2)), np.zeros((6, 1))
    with pytest.raises(error, match=message):
        Model([Dense(1)], seed=0).train(X, Y, sample_weight=bad, verbose=0)


def test_seq2seq_says_it_takes_no_sample_weight():
    model = Seq2Seq(GRU(4), GRU(4, sequences=True), Dense(5, activation="softmax"),
                    encoder_embedding=Embedding(5, 3), decoder_embedding=Embedding(5, 3), seed=0)
    X, Y = np.zeros((4, 3), dtype=int), np.ones((4, 2), dtype=int)
    with pytest.raises(ValueError, match="Seq2Seq does not take sample_weight"):
        model.train(X, Y, sample_weight=np.ones(4), verbose=0)


# ------------------------------------------------------------------------ did you mean
@pytest.mark.parametrize("argument, suggestion", [
    ("validation_data", "validation=(X_val, Y_val)"),
    ("restore_best_weights", "EarlyStopping(restore_best=True)"),
    ("nb_epoch", "epochs="),
    ("num_epochs", "epochs="),
    ("learning_rate", "optimizer=SGD(lr=...)"),
    ("class_weight", "sample_weight=class_weight[y]"),
    ("initial_epoch", "model.epoch counts the epochs done"),
    ("batch_sise", "batch_size="),          # a typo: the nearest real argument
    ("shufle", "shuffle="),
])
def test_arguments_from_other_libraries_get_a_did_you_mean(argument, suggestion):
    X, Y = np.zeros((4, 2)), np.zeros((4, 1))
    with pytest.raises(TypeError) as err:
        Model([Dense(1)], seed=0).train(X, Y, verbose=0, **{argument: 1})
    text = str(err.value)
    assert f"model.train: unknown argument {argument}=1: did you mean" in text
    assert suggestion in text


def test_restore_best_weights_names_the_real_early_stopping_argument():
    """The hint must name an argument EarlyStopping really takes."""
    import inspect
    from unrolled.framework import EarlyStopping
    assert "restore_best" in inspect.signature(EarlyStopping).parameters


def test_a_name_with_no_neighbour_still_lists_the_arguments():
    with pytest.raises(TypeError, match=r"zzz=1 \(train takes: X, Y, epochs, batch_size"):
        Model([Dense(1)], seed=0).train(np.zeros((4, 2)), np.zeros((4, 1)), zzz=1, verbose=0)


# ------------------------------------------------------------------------ gradcheck's probe
class RowNormalize(Layer):
    """A = X / |X| per row: scale-invariant, so dL/dX = 0 whenever R is parallel to X.

    (N1) A = X / r with r = |X| (per row)
    (N2) dX = (dA - A sum(dA * A)) / r
    """

    def compute_shapes(self, A):
        self.fs["X"] = self.fs["A"] = A.shape

    def initialize_parameters(self):
        pass

    def forward(self, A):
        self.fc["X"] = A
        self.fc["r"] = np.linalg.norm(A, axis=-1, keepdims=True)
        self.fc["A"] = A / self.fc["r"]                                        # (N1)
        return self.fc["A"]

    def backward(self, dA):
        A = self.fc["A"]
        self.bc["dX"] = (dA - A * np.sum(dA * A, axis=-1, keepdims=True)) / self.fc["r"]  # (N2)
        return self.bc["dX"]

    def compute_gradients(self):
        pass


def test_probe_is_not_the_input_drawn_the_usual_way():
    shape = (3, 5)
    assert not np.allclose(probe(shape, seed=0), _rng(0).standard_normal(shape))
    np.testing.assert_array_equal(probe(shape, seed=0), probe(shape, seed=0))


def test_scale_invariant_layer_passes_with_the_input_drawn_as_the_docs_draw_it():
    """With the probe equal to X, dL/dX is zero up to rounding and the relative error compares
    noise with noise (about 1); from its own stream the probe gives a real check."""
    X = np.random.default_rng(0).standard_normal((3, 5))
    result = gradcheck(RowNormalize(), X)
    assert result.worst < 1e-7, repr(result)


def test_evaluate_weighs_the_loss_like_train():
    """evaluate(sample_weight=w) reports sum_i w_i L_i / N, the objective train minimizes; the
    metrics stay unweighted; weights of 1 change nothing."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    model = Model([Dense(2)], loss="mse", metrics=["mae"], seed=0)
    w = rng.uniform(0, 2, size=10)
    A = model.predict(X)
    expected = float(np.sum(w[:, None] * (A - Y) ** 2) / A.size)
    logs = model.evaluate(X, Y, sample_weight=w, batch_size=3)      # weights follow the batches
    assert logs["loss"] == pytest.approx(expected, rel=1e-12)
    assert logs["mae"] == pytest.approx(model.evaluate(X, Y)["mae"], rel=1e-12)
    assert model.evaluate(X, Y, sample_weight=np.ones(10))["loss"] == \
        pytest.approx(model.evaluate(X, Y)["loss"], rel=1e-12)
    with pytest.raises(ValueError, match=r"model.evaluate: sample_weight must hold one weight per "
                                         r"sample, shape \(10,\), got shape \(3,\)"):
        model.evaluate(X, Y, sample_weight=np.ones(3))
