"""Model behaviour: training, determinism, reductions, evaluation, clipping, optimizers, metrics,
dtypes, divergence and initializers.

Expected values are computed here by hand (NumPy formulas, literal confusion matrices) or by
PyTorch when it is installed, never copied from a run of the code under test.
"""
import numpy as np
import pytest

from unrolled.framework import (INITIALIZERS, SGD, History, Model, TrainingDiverged, clipping,
                                get_activation, get_initializer)
from unrolled.framework import metrics as M
from unrolled.layers import Dense


def _rng(seed=0):
    return np.random.default_rng(seed)


def two_spirals(n, rng, noise=0.15, turns=1.25):
    """Two interleaved spiral arms (class 0 and its point reflection, class 1)."""
    k = n // 2
    t = np.sqrt(rng.random(k)) * turns * 2 * np.pi
    arm = np.c_[t * np.cos(t), t * np.sin(t)]
    X = np.r_[arm, -arm] + rng.normal(0.0, noise, (2 * k, 2))
    y = np.r_[np.zeros(k, dtype=int), np.ones(k, dtype=int)]
    return X, y


def _mlp(seed=0, hidden=8, out=2, act="softmax", loss="scce", **kwargs):
    return Model([Dense(hidden, activation="tanh"), Dense(out, activation=act)], loss=loss,
                 seed=seed, **kwargs)


# --------------------------------------------------------------------------- learning
def test_mlp_learns_two_spirals_to_98_percent_validation_accuracy():
    """A 2-32-32-2 tanh MLP with SGD + momentum separates two spirals it has not seen."""
    rng = _rng(0)
    X, y = two_spirals(800, rng)
    Xv, yv = two_spirals(400, rng)
    mu, sd = X.mean(axis=0), X.std(axis=0)
    X, Xv = (X - mu) / sd, (Xv - mu) / sd
    model = Model([Dense(32, activation="tanh"), Dense(32, activation="tanh"),
                   Dense(2, activation="softmax")], loss="scce",
                  optimizer=SGD(lr=0.05, momentum=0.9), metrics=["accuracy"], seed=0)
    history = model.train(X, y, epochs=100, batch_size=32, validation=(Xv, yv), verbose=0)
    hand_accuracy = np.mean(model.predict(Xv).argmax(axis=1) == yv)
    assert hand_accuracy >= 0.98
    assert history["val_accuracy"][-1] == pytest.approx(hand_accuracy)
    assert history["loss"][-1] < 0.25 * history["loss"][0]


# --------------------------------------------------------------------------- determinism
def _trained_weights(seed):
    rng = _rng(42)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    model = _mlp(seed=seed, out=3, optimizer=SGD(lr=0.1, momentum=0.5))
    model.train(X, y, epochs=3, batch_size=8, shuffle=True, verbose=0)
    return model.get_weights()


def test_same_seed_gives_bit_identical_weights_after_training():
    """Initialization and shuffling both follow the seed: the runs agree to the last bit."""
    a, b = _trained_weights(7), _trained_weights(7)
    assert a.keys() == b.keys() and len(a) == 4
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_different_seeds_give_different_weights():
    """Two seeds give different initial and trained weights."""
    a, b = _trained_weights(7), _trained_weights(8)
    for key in ("dense_0/W", "dense_1/W"):
        assert not np.allclose(a[key], b[key])


def test_get_weights_returns_copies():
    """Mutating what get_weights returned does not touch the model."""
    model = _mlp()
    model.build(np.zeros((1, 3)))
    w = model.get_weights()
    w["dense_0/W"] += 1.0
    assert not np.array_equal(model.get_weights()["dense_0/W"], w["dense_0/W"])


# --------------------------------------------------------------------------- reduction
def _gradients(model, X, Y):
    model.compute_loss_and_gradients(X, Y)
    return {f"{l.name}/{k}": v.copy() for l in model.layers for k, v in l.g.items()}


@pytest.mark.parametrize("loss, act, shape", [("mse", "identity", (6, 3)),
                                              ("bce", "sigmoid", (6, 3)),
                                              ("cce", "softmax", (4, 3, 3)),
                                              ("scce", "softmax", (6, 3))],
                         ids=["mse", "bce", "cce-3d", "scce"])
def test_batch_gradient_is_the_mean_of_per_sample_gradients(loss, act, shape):
    """Mean reduction: the gradient on a batch equals the average of per-sample gradients, so the
    gradient scale (and the right learning rate) does not depend on the batch size."""
    rng = _rng(1)
    model = Model([Dense(4, activation="tanh"), Dense(3, activation=act)], loss=loss, seed=3)
    X = rng.standard_normal(shape)
    out = shape[:-1] + (3,)
    if loss == "mse":
        Y = rng.standard_normal(out)
    elif loss == "bce":
        Y = (rng.random(out) > 0.5).astype(float)
    else:
        labels = rng.integers(0, 3, out[:-1])
        Y = labels if loss == "scce" else np.eye(3)[labels]
    batch = _gradients(model, X, Y)
    singles = [_gradients(model, X[i:i + 1], Y[i:i + 1]) for i in range(shape[0])]
    for key, value in batch.items():
        np.testing.assert_allclose(value, np.mean([s[key] for s in singles], axis=0),
                                   rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------- evaluate / predict
def test_evaluate_returns_loss_and_metrics_equal_to_hand_values_from_predict():
    """evaluate()['loss'] = cce from predict() + l2 penalty; accuracy = argmax agreement."""
    rng = _rng(2)
    model = Model([Dense(5, activation="tanh", l2=0.01), Dense(3, activation="softmax")],
                  loss="cce", metrics=["accuracy", "f1"], seed=4)
    X = rng.standard_normal((20, 4))
    Y = np.eye(3)[rng.integers(0, 3, 20)]
    result = model.evaluate(X, Y, batch_size=7)  # several batches, the last one short
    assert set(result) == {"loss", "accuracy", "f1"}
    P = model.predict(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    data_loss = -np.mean(np.sum(Y * np.log(P), axis=1))
    penalty = 0.01 * np.sum(model.layers[0].p["W"] ** 2)
    assert result["loss"] == pytest.approx(data_loss + penalty, rel=1e-12)
    assert result["accuracy"] == pytest.approx(np.mean(P.argmax(1) == Y.argmax(1)))


def test_predict_returns_a_fresh_array_that_later_model_changes_do_not_touch():
    """predict() copies the output cache: a later predict or a weight change leaves it as it was."""
    rng = _rng(3)
    model = Model([Dense(3, activation="identity")], loss="mse", seed=0)
    X1, X2 = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    P1 = model.predict(X1)
    kept = P1.copy()
    np.testing.assert_allclose(P1, X1 @ model.layers[0].p["W"] + model.layers[0].p["b"])
    model.predict(X2)                      # same shape: the layer's caches are reused
    model.layers[0].p["W"] += 1.0
    model.train(X2, rng.standard_normal((4, 3)), epochs=1, verbose=0)
    np.testing.assert_array_equal(P1, kept)


def test_gradient_buffers_are_reused_and_hold_the_current_batch():
    """The weight gradients of Dense and recurrent layers are written into the buffers of the
    previous step (no parameter-sized allocation per step): after a second batch, g holds that
    batch's gradients, the same as a fresh model's first batch gives."""
    from unrolled.layers import GRU, LSTM
    rng = np.random.default_rng(3)
    X1, X2 = rng.standard_normal((2, 6, 5, 3))
    Y1, Y2 = rng.standard_normal((2, 6, 2))

    def build():
        return Model([LSTM(4, sequences=True), GRU(3), Dense(2)], loss="mse", seed=1)
    model = build()
    model.compute_loss_and_gradients(X1, Y1)
    before = {(l.name, k): v for l in model.layers for k, v in l.g.items()}
    model.compute_loss_and_gradients(X2, Y2)
    fresh = build()
    fresh.compute_loss_and_gradients(X2, Y2)
    for layer, ref in zip(model.layers, fresh.layers):
        for key in ("dW", "dU", "dV"):
            if key in layer.g:
                assert layer.g[key] is before[(layer.name, key)], (layer.name, key)
                np.testing.assert_array_equal(layer.g[key], ref.g[key], err_msg=f"{layer.name}.{key}")


def test_history_keeps_per_epoch_lists_including_validation_and_lr():
    """History: one value per epoch for loss, metrics, val_* and the scheduled lr."""
    rng = _rng(4)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    Xv, yv = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    model = _mlp(metrics=["accuracy"], optimizer=SGD(lr=0.2),
                 schedule=lambda epoch, base: base / (1 + epoch))
    history = model.train(X, y, epochs=3, batch_size=10, validation=(Xv, yv), verbose=0)
    assert isinstance(history, History)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 3 for v in history.values()) and history.epochs == 3
    assert history["lr"] == pytest.approx([0.2, 0.1, 0.2 / 3])
    # validation is scored after the epoch's last update: the final value is today's evaluate
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(Xv, yv)["loss"], rel=1e-12)
    # training resumes: two more epochs append to the same history
    model.train(X, y, epochs=2, batch_size=10, verbose=0)
    assert len(history["loss"]) == 5 and model.epoch == 5


def test_epoch_loss_with_one_full_batch_is_the_loss_before_the_update():
    """With batch_size = m and no shuffling, an epoch's loss is the mse at the epoch's start."""
    rng = _rng(5)
    X, Y = rng.standard_normal((12, 3)), rng.standard_normal((12, 2))
    model = Model([Dense(2)], loss="mse", optimizer=SGD(lr=0.1), seed=0)
    model.build(X)
    W, b = model.layers[0].p["W"].copy(), model.layers[0].p["b"].copy()
    history = model.train(X, Y, epochs=1, batch_size=12, shuffle=False, verbose=0)
    assert history["loss"][0] == pytest.approx(np.mean((X @ W + b - Y) ** 2), rel=1e-12)


# --------------------------------------------------------------------------- freezing, per-layer lr
def test_frozen_layer_keeps_its_weights_while_the_others_train():
    """trainable=False: the layer's parameters do not move; gradients still reach layers below."""
    rng = _rng(6)
    X, Y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    model = Model([Dense(4, activation="tanh"), Dense(4, activation="tanh", trainable=False),
                   Dense(2)], loss="mse", optimizer=SGD(lr=0.1), seed=1)
    model.build(X)
    before = model.get_weights()
    model.train(X, Y, epochs=3, batch_size=4, verbose=0)
    after = model.get_weights()
    for key in ("dense_1/W", "dense_1/b"):
        np.testing.assert_array_equal(after[key], before[key])
    for key in ("dense_0/W", "dense_2/W"):
        assert not np.allclose(after[key], before[key])


def test_per_layer_learning_rate_overrides_and_follows_the_schedule():
    """A layer with lr=0.5 steps by 0.5 * g while the others use the optimizer's lr; a schedule
    halving the lr halves both."""
    rng = _rng(7)
    X, Y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    model = Model([Dense(4, activation="tanh", lr=0.5), Dense(2)], loss="mse",
                  optimizer=SGD(lr=0.1), schedule=lambda epoch, base: base * 0.5, seed=2)
    model.build(X)
    before = model.get_weights()
    model.compute_loss_and_gradients(X, Y)        # gradients at the starting point, no update
    grads = {f"{l.name}/{k}": l.g["d" + k].copy() for l in model.layers for k in l.p}
    model.train(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    after = model.get_weights()
    for key in before:
        lr = 0.5 * 0.5 if key.startswith("dense_0") else 0.1 * 0.5
        np.testing.assert_allclose(after[key], before[key] - lr * grads[key], rtol=1e-12,
                                   atol=1e-15)


# --------------------------------------------------------------------------- clipping
def _big_gradients(seed=8, **model_kwargs):
    """A model whose gradients are large (targets of size 100), after one backward pass."""
    rng = _rng(seed)
    model = Model([Dense(5, activation="tanh"), Dense(3)], loss="mse", seed=seed, **model_kwargs)
    X, Y = rng.standard_normal((10, 4)), 100.0 * rng.standard_normal((10, 3))
    X, Y, _ = model._prepare(X, Y, None)
    model.compute_loss_and_gradients(X, Y)
    return model, X, Y


def _norm(arrays):
    return np.sqrt(sum(np.sum(a ** 2) for a in arrays))


def test_clip_global_norm_bounds_the_norm_and_keeps_the_direction():
    """After clip_global_norm the norm over every gradient is <= bound, scaled, not rotated."""
    model, _, _ = _big_gradients()
    grads = [g.copy() for l in model.layers for g in l.g.values()]
    before = _norm(grads)
    assert before > 10.0
    returned = clipping.clip_global_norm(model.layers, 1.5)
    after = [g for l in model.layers for g in l.g.values()]
    assert returned == pytest.approx(before, rel=1e-12)
    assert _norm(after) <= 1.5
    assert _norm(after) == pytest.approx(1.5, rel=1e-5)
    for g0, g1 in zip(grads, after):
        np.testing.assert_allclose(g1, g0 * (_norm(after) / before), rtol=1e-10, atol=1e-15)


def test_clip_global_norm_leaves_small_gradients_alone():
    """A bound above the current norm changes nothing."""
    model, _, _ = _big_gradients()
    grads = [g.copy() for l in model.layers for g in l.g.values()]
    clipping.clip_global_norm(model.layers, 10.0 * _norm(grads))
    for g0, g1 in zip(grads, [g for l in model.layers for g in l.g.values()]):
        np.testing.assert_array_equal(g0, g1)


def test_clip_value_bounds_every_element_and_keeps_the_small_ones():
    """clip_value: each element lands in [-v, v]; elements already inside are untouched."""
    model, _, _ = _big_gradients()
    grads = [g.copy() for l in model.layers for g in l.g.values()]
    v = 0.5
    assert any(np.abs(g).max() > v for g in grads)
    clipping.clip_value(model.layers, v)
    for g0, g1 in zip(grads, [g for l in model.layers for g in l.g.values()]):
        np.testing.assert_array_equal(g1, np.minimum(np.maximum(g0, -v), v))


def test_clip_layer_norm_bounds_each_layer_on_its_own():
    """clip_layer_norm: each layer's norm <= bound; a layer already below it is untouched."""
    model, _, _ = _big_gradients()
    norms = [_norm(l.g.values()) for l in model.layers]
    bound = 0.5 * (min(norms) + max(norms))
    assert min(norms) < bound < max(norms)
    grads = [{k: v.copy() for k, v in l.g.items()} for l in model.layers]
    clipping.clip_layer_norm(model.layers, bound)
    for layer, norm, saved in zip(model.layers, norms, grads):
        assert _norm(layer.g.values()) <= bound
        if norm < bound:
            for key in saved:
                np.testing.assert_array_equal(layer.g[key], saved[key])


def test_model_clip_norm_is_applied_before_the_update():
    """Model(clip_norm=c): _clip bounds the global norm, records the norm before, and one SGD
    step moves the parameters by exactly lr * clipped gradient."""
    model, X, Y = _big_gradients(clip_norm=0.25, optimizer=SGD(lr=0.1))
    raw = _norm([g for l in model.layers for g in l.g.values()])
    returned = model._clip()
    assert returned == pytest.approx(raw) and model.last_grad_norm == pytest.approx(raw)
    assert _norm([g for l in model.layers for g in l.g.values()]) <= 0.25
    before = model.get_weights()
    model.train(X, Y, epochs=1, batch_size=len(X), shuffle=False, verbose=0)
    after = model.get_weights()
    step = _norm([after[k] - before[k] for k in before])
    assert step <= 0.1 * 0.25 * (1 + 1e-9)
    assert step == pytest.approx(0.1 * 0.25, rel=1e-5)


def test_model_clip_value_and_clip_layer_norm_paths():
    """Model(clip_value=v, clip_layer_norm=c): after _clip every element is within v and every
    layer's norm within c."""
    model, _, _ = _big_gradients(clip_value=0.3, clip_layer_norm=0.4)
    model._clip()
    for layer in model.layers:
        assert all(np.abs(g).max() <= 0.3 for g in layer.g.values())
        assert _norm(layer.g.values()) <= 0.4


# --------------------------------------------------------------------------- SGD
SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
    "weight_decay": dict(lr=0.1, weight_decay=0.3),
    "all": dict(lr=0.07, momentum=0.6, dampening=0.25, weight_decay=0.1),
}


def _torch_sgd_by_hand(params, grad_fn, steps, lr, momentum=0.0, dampening=0.0, nesterov=False,
                       weight_decay=0.0):
    """The update rule from the torch.optim.SGD documentation, written out."""
    params = [p.copy() for p in params]
    bufs = [None] * len(params)
    for t in range(steps):
        grads = grad_fn(*params)
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g + weight_decay * p
            if momentum:
                bufs[i] = g.copy() if t == 0 else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            params[i] = p - lr * g
    return params


def _linear_problem():
    rng = _rng(9)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    def mse_grads(W, b):
        dA = 2.0 * (X @ W + b - Y) / Y.size
        return X.T @ dA, dA.sum(axis=0, keepdims=True)
    return X, Y, mse_grads


@pytest.mark.parametrize("config", list(SGD_CONFIGS.values()), ids=list(SGD_CONFIGS))
def test_sgd_three_steps_follow_the_torch_update_rule(config):
    """Three full-batch steps of a linear mse model equal the torch.optim.SGD rule done by hand."""
    X, Y, grads = _linear_problem()
    model = Model([Dense(2)], loss="mse", optimizer=SGD(**config), seed=0)
    model.build(X)
    W0, b0 = model.layers[0].p["W"].copy(), model.layers[0].p["b"].copy()
    W3, b3 = _torch_sgd_by_hand([W0, b0], grads, 3, **config)
    model.train(X, Y, epochs=3, batch_size=len(X), shuffle=False, verbose=0)
    np.testing.assert_allclose(model.layers[0].p["W"], W3, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.layers[0].p["b"], b3, rtol=1e-12, atol=1e-14)
    assert not np.allclose(W3, W0)


@pytest.mark.parametrize("config", list(SGD_CONFIGS.values()), ids=list(SGD_CONFIGS))
def test_sgd_matches_torch_optim_sgd(config):
    """The same three steps agree with torch.optim.SGD itself (skipped without torch)."""
    torch = pytest.importorskip("torch")
    X, Y, _ = _linear_problem()
    model = Model([Dense(2)], loss="mse", optimizer=SGD(**config), seed=0)
    model.build(X)
    linear = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(model.layers[0].p["W"].T.copy()))
        linear.bias.copy_(torch.from_numpy(model.layers[0].p["b"][0].copy()))
    opt = torch.optim.SGD(linear.parameters(), **config)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.mse_loss(linear(Xt), Yt).backward()
        opt.step()
    model.train(X, Y, epochs=3, batch_size=len(X), shuffle=False, verbose=0)
    np.testing.assert_allclose(model.layers[0].p["W"], linear.weight.detach().numpy().T,
                               rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.layers[0].p["b"][0], linear.bias.detach().numpy(),
                               rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------- metrics
# Binary: 4 positives, 6 negatives; predictions give TP=3, FN=1, FP=2, TN=4.
BIN_Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=float)[:, None]
BIN_A = np.array([0.9, 0.8, 0.6, 0.4, 0.7, 0.5, 0.49, 0.3, 0.2, 0.1])[:, None]
BIN_EXPECTED = {"accuracy": 7 / 10, "precision": 3 / 5, "recall": 3 / 4,
                "f1": 2 * 3 / (2 * 3 + 2 + 1), "specificity": 4 / 6, "npv": 4 / 5}

# Three classes; confusion matrix (rows true, columns predicted) [[2,1,0],[0,1,1],[1,1,2]]
MC_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
MC_PRED = np.array([0, 1, 0, 1, 2, 2, 2, 0, 1])
# per class (tp, fp, fn, tn): 0: (2,1,1,5)  1: (1,2,1,5)  2: (2,1,2,4)
MC_EXPECTED = {"accuracy": 5 / 9,
               "precision": (2 / 3 + 1 / 3 + 2 / 3) / 3,
               "recall": (2 / 3 + 1 / 2 + 2 / 4) / 3,
               "f1": (4 / 6 + 2 / 5 + 4 / 7) / 3,
               "specificity": (5 / 6 + 5 / 7 + 4 / 5) / 3,
               "npv": (5 / 6 + 5 / 6 + 4 / 6) / 3}


@pytest.mark.parametrize("name", list(BIN_EXPECTED))
def test_binary_metrics_match_the_hand_confusion_matrix(name):
    """Class 1 is positive; the 0.5 threshold counts 0.5 as positive (A >= 0.5)."""
    assert getattr(M, name)(BIN_A, BIN_Y, task="binary") == pytest.approx(BIN_EXPECTED[name])


@pytest.mark.parametrize("task", ["sparse", "categorical"])
@pytest.mark.parametrize("name", list(MC_EXPECTED))
def test_multiclass_metrics_are_macro_averages_of_the_hand_confusion_matrix(name, task):
    """Each class in turn is positive; precision...npv are the unweighted mean over classes."""
    A = np.full((9, 3), 0.1)
    A[np.arange(9), MC_PRED] = 0.8
    Y = MC_TRUE if task == "sparse" else np.eye(3)[MC_TRUE]
    assert getattr(M, name)(A, Y, task=task) == pytest.approx(MC_EXPECTED[name])


def test_multiclass_metrics_on_sequences_score_every_step():
    """(m, s, k) outputs are scored per step: reshaping the example to (3, 3, 3) changes nothing."""
    A = np.full((9, 3), 0.1)
    A[np.arange(9), MC_PRED] = 0.8
    for name, expected in MC_EXPECTED.items():
        value = getattr(M, name)(A.reshape(3, 3, 3), MC_TRUE.reshape(3, 3), task="sparse")
        assert value == pytest.approx(expected)


def test_regression_metrics_mae_and_rmse_by_hand():
    """mae = mean|e|, rmse = sqrt(mean e^2) over every element."""
    A = np.array([[1.0, 2.0], [3.0, -1.0]])
    Y = np.array([[1.5, 2.0], [1.0, 0.0]])  # errors -0.5, 0, 2, -1
    assert M.mae(A, Y) == pytest.approx(3.5 / 4)
    assert M.rmse(A, Y) == pytest.approx(np.sqrt(5.25 / 4))


def test_model_reports_metrics_consistent_with_its_predictions():
    """A bce model's precision/recall in evaluate() equal the counts from predict() >= 0.5."""
    rng = _rng(10)
    model = _mlp(out=1, act="sigmoid", loss="bce", metrics=["precision", "recall", "mae"])
    X, Y = rng.standard_normal((40, 3)), (rng.random((40, 1)) > 0.5).astype(float)
    result = model.evaluate(X, Y)
    pred = model.predict(X) >= 0.5
    tp = np.sum(pred & (Y == 1))
    assert result["precision"] == pytest.approx(tp / pred.sum())
    assert result["recall"] == pytest.approx(tp / (Y == 1).sum())
    assert result["mae"] == pytest.approx(np.mean(np.abs(model.predict(X) - Y)))


# --------------------------------------------------------------------------- float32
HIDDEN = ["tanh", "sigmoid", "relu", "leaky_relu", "elu", "selu", "swish", "softplus",
          "hard_sigmoid", "softmax"]


@pytest.mark.parametrize("name", [
    "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "swish", "softplus",
    "hard_sigmoid", "softmax"])
def test_every_activation_keeps_float32_in_forward_and_backward(name):
    """An activation never promotes float32 arrays to float64 (forward output or dz)."""
    act = get_activation(name)
    z = np.linspace(-4, 4, 12, dtype=np.float32).reshape(3, 4)
    da = np.ones_like(z)
    a = act.forward(z)
    assert a.dtype == np.float32
    assert act.backward(da, a, z).dtype == np.float32


@pytest.mark.parametrize("hidden", HIDDEN)
def test_float32_model_keeps_float32_parameters_outputs_and_gradients(hidden):
    """dtype='float32': parameters, caches, outputs and every gradient stay float32."""
    rng = _rng(11)
    model = Model([Dense(4, activation=hidden), Dense(3, activation="softmax")], loss="scce",
                  dtype="float32", seed=0)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)   # float64 input, converted
    model.train(X, y, epochs=2, batch_size=4, verbose=0)
    assert model.predict(X).dtype == np.float32
    Xc, yc, _ = model._prepare(X, y, None)
    model.compute_loss_and_gradients(Xc, yc)
    for layer in model.layers:
        for key, value in {**layer.p, **layer.g}.items():
            assert value.dtype == np.float32, f"{layer.name}.{key} is {value.dtype}"
        assert layer.bc["dZ"].dtype == np.float32, f"{layer.name}.bc['dZ']"
    assert model.layers[1].bc["dX"].dtype == np.float32  # the gradient passed down


# --------------------------------------------------------------------------- divergence
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_absurd_learning_rate_raises_training_diverged_and_keeps_finite_weights():
    """lr=1e6 on targets ~1e3: TrainingDiverged names epoch and batch; weights stay finite."""
    rng = _rng(12)
    X = rng.standard_normal((64, 3))
    Y = X @ np.array([[1e3], [2e3], [-3e3]]) + 5e3
    model = Model([Dense(1)], loss="mse", optimizer=SGD(lr=1e6), seed=0)
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch \d+, batch \d+") as info:
        model.train(X, Y, epochs=100, batch_size=16, verbose=0)
    err = info.value
    assert err.epoch >= 1 and 1 <= err.batch <= 4
    assert f"epoch {err.epoch}, batch {err.batch}" in str(err)
    assert len(err.history["loss"]) == err.epoch - 1   # the completed epochs only
    assert all(np.isfinite(w).all() for w in model.get_weights().values())


# --------------------------------------------------------------------------- initializers
INIT_SHAPES = [(3, 4), (5, 2), (2, 3, 4)]


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_initializers_return_the_requested_shape_and_dtype(name):
    """Every registered initializer honours shape and dtype and is reproducible from its rng."""
    init = get_initializer(name)
    for shape in INIT_SHAPES:
        for dtype in (np.float32, np.float64):
            a = init(shape, _rng(1), dtype)
            assert a.shape == shape and a.dtype == dtype
            np.testing.assert_array_equal(a, init(shape, _rng(1), dtype))


def test_zeros_and_ones_are_constant():
    np.testing.assert_array_equal(get_initializer("zeros")((2, 3), _rng()), np.zeros((2, 3)))
    np.testing.assert_array_equal(get_initializer("ones")((2, 3), _rng()), np.ones((2, 3)))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)], ids=["tall", "wide", "square"])
def test_orthogonal_initializer_is_orthogonal(shape):
    """Tall: W^T W = I; wide: W W^T = I; square: both."""
    W = get_initializer("orthogonal")(shape, _rng(2))
    small = min(shape)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


@pytest.mark.parametrize("name, variance", [
    ("glorot_uniform", lambda fi, fo: 2.0 / (fi + fo)),
    ("glorot_normal", lambda fi, fo: 2.0 / (fi + fo)),
    ("he_uniform", lambda fi, fo: 2.0 / fi),
    ("he_normal", lambda fi, fo: 2.0 / fi),
    ("lecun_normal", lambda fi, fo: 1.0 / fi),
])
def test_variance_scaling_initializers_have_the_published_variance(name, variance):
    """Sample mean ~ 0 and variance within 3% of the formula on 240,000 draws (fans 400, 600)."""
    fan_in, fan_out = 400, 600
    W = get_initializer(name)((fan_in, fan_out), _rng(3))
    target = variance(fan_in, fan_out)
    assert abs(W.mean()) < 0.02 * np.sqrt(target)
    assert W.var() == pytest.approx(target, rel=0.03)
    if name.endswith("uniform"):
        assert np.abs(W).max() <= np.sqrt(3 * target)   # U(-l, l) with l^2 / 3 = variance


def test_unknown_initializer_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown initializer 'glorot_uniformm'") as info:
        get_initializer("glorot_uniformm")
    for name in INITIALIZERS:
        assert name in str(info.value)


def test_dense_uses_its_initializer_for_W_and_zeros_for_b():
    """Dense(initializer='orthogonal') gives an orthogonal W; b starts at zero."""
    layer = Dense(4, initializer="orthogonal").seed(0)
    layer(np.zeros((2, 4)))
    np.testing.assert_allclose(layer.p["W"].T @ layer.p["W"], np.eye(4), atol=1e-12)
    np.testing.assert_array_equal(layer.p["b"], np.zeros((1, 4)))


@pytest.mark.parametrize("act", ["tanh", "softmax"])
def test_dense_on_a_time_major_view_equals_dense_on_a_contiguous_copy(act):
    """A recurrent layer hands Dense a batch-major view of time-major memory. Dense reads it in
    that order without copying; outputs and every gradient equal those of the same layer on a
    contiguous copy, also when the two kinds of input alternate (the caches must not be written
    through a view)."""
    rng = _rng(11)
    Xt = rng.standard_normal((5, 3, 4))            # (s, m, n) memory
    view = Xt.swapaxes(0, 1)                        # (m, s, n) view, not C-contiguous
    assert not view.flags.c_contiguous
    dA = rng.standard_normal((3, 5, 2))
    layer = Dense(2, activation=act).seed(0)
    layer.input_gradient = True
    results = []
    for X in (view, np.ascontiguousarray(view), view, np.ascontiguousarray(view)):
        A = layer(X).copy()
        expected_A = get_activation(act).forward(np.ascontiguousarray(view) @ layer.p["W"] + layer.p["b"])
        np.testing.assert_allclose(A, expected_A, rtol=1e-13, atol=1e-15)
        dX = layer.backward(dA).copy()
        layer.compute_gradients()
        results.append((A, dX, layer.g["dW"].copy(), layer.g["db"].copy()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    layer(view)
    layer.backward(dA)      # dZ is kept in X's time-major memory order: no reordering copy later
    assert layer.bc["dZ"].swapaxes(0, 1).flags.c_contiguous
    np.testing.assert_allclose(layer.bc["dZ"], results[0][1] @ np.linalg.pinv(layer.p["W"].T),
                               rtol=1e-8, atol=1e-10)
    layer(np.ascontiguousarray(view))
    layer.backward(dA)
    dZ = layer.bc["dZ"].reshape(-1, 2)
    np.testing.assert_allclose(results[0][2], np.ascontiguousarray(view).reshape(-1, 4).T @ dZ,
                               rtol=1e-13)
    np.testing.assert_allclose(results[0][1], (dZ @ layer.p["W"].T).reshape(3, 5, 4), rtol=1e-13)


@pytest.mark.parametrize("bad, pattern", [
    ({"dense_0/W": np.full((3, 2), np.nan)}, r"dense_0/W holds NaN or inf"),
    ({"dense_0/W": np.zeros((2, 3))}, r"dense_0/W has shape \(2, 3\), expected \(3, 2\)"),
    ({"dense_0/Q": np.zeros((3, 2))}, r"'dense_0/Q' names no parameter; Dense 'dense_0' has \['W', 'b'\]"),
    ({"dense_0/W": np.full((3, 2), "x")}, r"dense_0/W must hold real numbers"),
])
def test_set_weights_checks_every_entry_before_copying_any(bad, pattern):
    model = Model([Dense(2)], seed=0)
    model.build(np.zeros((1, 3)))
    before = model.get_weights()
    weights = {"dense_0/b": np.ones((1, 2)), **bad}       # a good entry first: not copied either
    with pytest.raises(ValueError, match=pattern):
        model.set_weights(weights)
    assert all(np.array_equal(before[k], v) for k, v in model.get_weights().items())
