"""Regularization: L1/L2 penalties (loss and gradients) and the Dropout layer."""
import numpy as np
import pytest

from unrolled.framework.gradcheck import gradcheck
from unrolled.framework.model import Model
from unrolled.framework.optimizers import SGD
from unrolled.layers.dense import Dense
from unrolled.layers.dropout import Dropout


def data(m=12, n=4, out=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal((m, out))


# ------------------------------------------------------------------------------------ L1 / L2
@pytest.mark.parametrize("l1, l2", [(0.0, 0.3), (0.05, 0.0), (0.02, 0.1)])
def test_penalty_gradients_pass_gradcheck(l1, l2):
    X, Y = data()
    model = Model([Dense(5, "tanh", l1=l1, l2=l2), Dense(2, l2=l2)], seed=1)
    result = gradcheck(model, X, Y)
    assert result.worst < 1e-6, result


def test_penalty_enters_reported_loss_and_gradient():
    X, Y = data()
    l1, l2 = 0.03, 0.2
    model = Model([Dense(3, "tanh", l1=l1, l2=l2, name="a"), Dense(2, name="b")], seed=2)
    model.build(X)
    W1, b1 = model["a"].p["W"].copy(), model["a"].p["b"].copy()
    W2, b2 = model["b"].p["W"].copy(), model["b"].p["b"].copy()
    # by hand: data loss + l1 sum|W| + l2 sum W^2 (biases not penalized)
    A = np.tanh(X @ W1 + b1) @ W2 + b2
    expected = np.mean((A - Y) ** 2) + l1 * np.abs(W1).sum() + l2 * np.square(W1).sum()
    assert model.evaluate(X, Y)["loss"] == pytest.approx(expected, rel=1e-12)
    # the gradient of the penalty is added to dW only
    model.compute_loss_and_gradients(X, Y)
    with_penalty = model["a"].g["dW"].copy(), model["a"].g["db"].copy()
    plain = Model([Dense(3, "tanh", name="a"), Dense(2, name="b")], seed=2)
    plain.build(X)
    plain.set_weights(model.get_weights())
    plain.compute_loss_and_gradients(X, Y)
    np.testing.assert_allclose(with_penalty[0] - plain["a"].g["dW"],
                               l1 * np.sign(W1) + 2 * l2 * W1, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(with_penalty[1], plain["a"].g["db"])
    # and training reports the penalized loss (one batch: loss before the update)
    model2 = Model([Dense(3, "tanh", l1=l1, l2=l2, name="a"), Dense(2, name="b")], seed=2)
    history = model2.train(X, Y, epochs=1, batch_size=len(X), shuffle=False, verbose=0)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-12)


def test_l2_shrinks_weights_more():
    X, Y = data(m=40)
    norms = []
    for l2 in (0.0, 0.5):
        model = Model([Dense(6, "tanh", l2=l2), Dense(2, l2=l2)], optimizer=SGD(lr=0.05), seed=0)
        model.train(X, Y, epochs=30, batch_size=10, verbose=0)
        norms.append(sum(float(np.square(w).sum()) for k, w in model.get_weights().items()
                         if k.endswith("/W")))
    assert norms[1] < 0.5 * norms[0]


# ------------------------------------------------------------------------------------ Dropout
def test_dropout_mean_is_preserved_and_rate_respected():
    layer = Dropout(0.3)
    layer.seed(0)
    layer.training = True
    X = np.full((400, 250), 2.0)
    A = layer(X)
    kept = A != 0
    assert abs(kept.mean() - 0.7) < 0.01                        # ~ 4 sigma: sigma = 0.0010
    np.testing.assert_allclose(A[kept], 2.0 / 0.7, rtol=1e-15)  # survivors scaled by 1/(1-rate)
    assert abs(A.mean() - 2.0) < 0.04                           # E[A] = X
    np.testing.assert_array_equal(layer.fc["dropout_mask"], A / 2.0)


def test_dropout_backward_uses_the_mask():
    layer = Dropout(0.5)
    layer.seed(3)
    layer.training = True
    X = np.random.default_rng(0).standard_normal((6, 5))
    A = layer(X).copy()
    mask = layer.fc["dropout_mask"].copy()
    dA = np.random.default_rng(1).standard_normal(A.shape)
    np.testing.assert_array_equal(A, X * mask)
    np.testing.assert_array_equal(layer.backward(dA), dA * mask)
    assert set(np.unique(mask)) <= {0.0, 2.0} and (mask == 0).any() and (mask != 0).any()


def test_dropout_is_identity_at_inference():
    layer = Dropout(0.9)
    layer.seed(0)
    X = np.random.default_rng(0).standard_normal((5, 4))
    state = layer.rng.bit_generator.state
    out = layer(X)     # training is False by default
    np.testing.assert_array_equal(out, X)
    assert layer.rng.bit_generator.state == state               # no random numbers drawn
    np.testing.assert_array_equal(layer.backward(np.ones_like(X)), np.ones_like(X))


def test_model_predict_ignores_dropout():
    X, Y = data()
    model = Model([Dense(8, "tanh", name="h"), Dropout(0.5, name="drop"), Dense(2, name="out")],
                  seed=4)
    model.train(X, Y, epochs=3, batch_size=4, verbose=0)
    first, second = model.predict(X), model.predict(X)
    np.testing.assert_array_equal(first, second)
    plain = Model([Dense(8, "tanh", name="h"), Dense(2, name="out")], seed=99)
    plain.build(X)
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(plain.predict(X), first)
    # while training mode really drops
    assert not np.array_equal(model.forward(model._inputs(X, "X"), training=True), first)


def test_same_seed_same_masks_different_seed_different_masks():
    X, Y = data()

    def masks(seed):
        model = Model([Dense(6, name="h"), Dropout(0.5, name="drop"), Dense(2)], seed=seed)
        model.build(X)
        Xc = model._inputs(X, "X")
        out = []
        for _ in range(3):
            model.forward(Xc, training=True)
            out.append(model["drop"].fc["dropout_mask"].copy())
        return out

    a, b, c = masks(5), masks(5), masks(6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    assert not np.array_equal(a[0], a[1])      # a fresh mask every pass


def test_dropout_3d_per_step_and_per_sequence():
    X = np.ones((4, 7, 5))
    layer = Dropout(0.5)
    layer.seed(0)
    layer.training = True
    A = layer(X)
    assert A.shape == X.shape and layer.fc["dropout_mask"].shape == X.shape
    assert not all(np.array_equal(A[:, 0], A[:, t]) for t in range(1, 7))  # per-step masks differ
    shared = Dropout(0.5, per_sequence=True)
    shared.seed(0)
    shared.training = True
    B = shared(X)
    assert shared.fc["dropout_mask"].shape == (4, 1, 5)
    for t in range(7):
        np.testing.assert_array_equal(B[:, t], B[:, 0])       # one mask for every step
    np.testing.assert_array_equal(shared.backward(np.ones_like(X)), B)
    with pytest.raises(ValueError, match="expected 2-D or 3-D"):
        shared(np.ones(3))


def test_dropout_gradcheck_with_frozen_mask():
    X, Y = data()
    model = Model([Dense(6, "tanh"), Dropout(0.4), Dense(2)], seed=7)
    result = gradcheck(model, X, Y)
    assert result.worst < 1e-6, result
    first = Model([Dropout(0.3), Dense(3, "tanh"), Dense(2)], seed=8)     # dropout on the input
    result = gradcheck(first, X, Y)
    assert result.worst < 1e-6 and "X" in result, result
    layer = Dropout(0.5, per_sequence=True)
    layer.seed(1)
    result = gradcheck(layer, np.random.default_rng(0).standard_normal((3, 4, 2)))
    assert result.worst < 1e-6, result


def test_dropout_validation_and_config():
    for bad in (1.0, -0.1, "0.5", True):
        with pytest.raises(ValueError):
            Dropout(bad)
    layer = Dropout(0.25, per_sequence=True, name="d")
    assert Dropout(**layer.config()).config() == layer.config()
    assert layer.n_parameters == 0


def test_dropout_float32():
    layer = Dropout(0.5)
    layer.seed(0)
    layer.dtype = np.dtype(np.float32)
    layer.training = True
    A = layer(np.ones((3, 4), dtype=np.float32))
    assert A.dtype == np.float32 and layer.fc["dropout_mask"].dtype == np.float32
