"""Porting from EpyNN is exact: the same data, the same initial weights and EpyNN's own
hyper-parameters converted by unrolled.interop.epynn.from_epynn_settings give the same weights
as EpyNN 1.2.13 after 50 epochs, to 1e-12: Dense, RNN, LSTM, GRU and CNN networks, the CNNs
through unrolled's EpyNN-named Convolution and Pooling, given EpyNN's own arguments.

EpyNN is an optional test dependency (``pip install --no-deps epynn==1.2.13 termcolor tabulate
texttable``); without it these tests skip.
"""
import copy

import numpy as np
import pytest

pytest.importorskip("epynn.dense.models", reason="EpyNN 1.2.13 is not installed")
from epynn.commons.loss import loss_functions  # noqa: E402
from epynn.commons.maths import orthogonal, relu, sigmoid, softmax, tanh, xavier  # noqa: E402
from epynn.convolution.models import Convolution as EConvolution  # noqa: E402
from epynn.dense.models import Dense as EDense  # noqa: E402
from epynn.flatten.models import Flatten as EFlatten  # noqa: E402
from epynn.gru.models import GRU as EGRU  # noqa: E402
from epynn.lstm.models import LSTM as ELSTM  # noqa: E402
from epynn.network.hyperparameters import schedule_lrate  # noqa: E402
from epynn.pooling.models import Pooling as EPooling  # noqa: E402
from epynn.rnn.models import RNN as ERNN  # noqa: E402
from epynn.settings import se_hPars as EPYNN_DEFAULTS  # noqa: E402

from unrolled.framework import Model  # noqa: E402
from unrolled.interop.epynn import copy_weights, epynn_clip_norm, from_epynn_settings  # noqa: E402
from unrolled.layers import GRU, LSTM, RNN, Convolution, Dense, Flatten, Pooling  # noqa: E402

EPOCHS = 50
M, BATCH = 24, 8                     # three batches of the same size


def data(kind, seed=0):
    """(X, Y) with 2-D or 3-D X and one-hot (2 classes) or single-unit targets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal({"sequence": (M, 5, 3), "image": (M, 7, 7, 2), "flat": (M, 6)}[kind])
    labels = (X.reshape(M, -1).sum(axis=1) > 0).astype(int)
    return X, labels


def train_epynn(layers, X, Y, loss, hpars, epochs):
    """EpyNN's training loop (epynn.network.training.model_training, .forward, .backward) over
    fixed batches, driving its layers directly: EpyNN's Embedding layer needs NumPy < 2."""
    loss_function = loss_functions(loss, layers[-1].activation["activate"])
    for seed, layer in enumerate(layers, start=1):
        layer.np_rng = np.random.default_rng(seed)
        layer.se_hPars, layer.lrate = schedule_lrate(copy.deepcopy(hpars), epochs)
    A = X[:BATCH]
    for layer in layers:                                  # epynn.network.initialize
        layer.compute_shapes(A)
        layer.initialize_parameters()
        A = layer.forward(A)
    initial = [copy.deepcopy(layer.p) for layer in layers]
    for epoch in range(epochs):
        for start in range(0, len(X), BATCH):
            A = X[start:start + BATCH]
            for layer in layers:                          # epynn.network.forward
                layer.e = epoch
                A = layer.forward(A)
            dA = loss_function(Y[start:start + BATCH], A, deriv=True)
            for layer in reversed(layers):                # epynn.network.backward
                dA = layer.backward(dA)
                layer.compute_gradients()
                layer.update_parameters()
    return initial, [layer.p for layer in layers]


def train_unrolled(layers, X, Y, loss, hpars, epochs, initial):
    model = Model(layers, loss=loss, seed=0, **from_epynn_settings(hpars, BATCH, epochs))
    model.build(X)
    for layer, weights in zip(model.layers, initial):
        holder = type("EpyNNWeights", (), {"p": weights})()
        copy_weights(holder, layer)
    model.train(X, Y, epochs=epochs, batch_size=BATCH, shuffle=False, verbose=0)
    return model


def assert_same_weights(model, epynn_params, kinds):
    from unrolled.interop.epynn import epynn_parameters
    for layer, params, kind in zip(model.layers, epynn_params, kinds):
        holder = type("EpyNNWeights", (), {"p": params})()
        expected = epynn_parameters(holder, kind)
        for name, value in expected.items():
            np.testing.assert_allclose(layer.p[name], value, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{layer.label}.{name}")


def hpars(**changes):
    settings = copy.deepcopy(EPYNN_DEFAULTS)
    settings.update(changes)
    return settings


def one_hot(labels):
    return np.eye(2)[labels]


CASES = {
    # name: (data kind, EpyNN layers, unrolled layers, kinds, loss, targets, settings)
    "dense": ("flat",
              lambda: [EDense(5, activate=relu, initialization=xavier),
                       EDense(2, activate=softmax)],
              lambda: [Dense(5, activation="relu"), Dense(2, activation="softmax")],
              ("Dense", "Dense"), "CCE", one_hot, hpars(learning_rate=0.05)),
    "dense-temperature": ("flat",
                          lambda: [EDense(5, activate=tanh), EDense(2, activate=softmax)],
                          lambda: [Dense(5, activation="tanh"),
                                   Dense(2, activation="softmax",
                                         activation_params={"temperature": 3.0})],
                          ("Dense", "Dense"), "CCE", one_hot,
                          hpars(learning_rate=0.05, softmax_temperature=3.0)),
    "rnn": ("sequence",
            lambda: [ERNN(4, activate=tanh, clip_gradients=False), EDense(1, activate=sigmoid)],
            lambda: [RNN(4), Dense(1, activation="sigmoid")],
            ("RNN", "Dense"), "BCE", lambda y: y[:, None].astype(float),
            hpars(learning_rate=0.1, schedule="exp_decay", decay_k=0.02)),
    "lstm": ("sequence",
             lambda: [ELSTM(4, initialization=orthogonal), EDense(2, activate=softmax)],
             lambda: [LSTM(4), Dense(2, activation="softmax")],
             ("LSTM", "Dense"), "CCE", one_hot,
             hpars(learning_rate=0.1, schedule="lin_decay", decay_k=0.001)),
    "gru": ("sequence",
            lambda: [EGRU(4), EDense(1, activate=sigmoid)],
            lambda: [GRU(4, reset_after=False), Dense(1, activation="sigmoid")],
            ("GRU", "Dense"), "MSE", lambda y: y[:, None].astype(float),
            hpars(learning_rate=0.2, schedule="exp_decay", cycle_epochs=10, cycle_descent=0.2)),
    # EpyNN's CNN stack, its arguments passed unchanged to unrolled's EpyNN-named layers
    **{f"cnn-{name}": ("image",
                       lambda strides=strides, pool=pool, act=act: [
                           EConvolution(3, (2, 2), strides=strides, activate=act),
                           EPooling((2, 2), pool=pool), EFlatten(), EDense(2, activate=softmax)],
                       lambda strides=strides, pool=pool, act=act: [
                           Convolution(3, (2, 2), strides=strides, activate=act),
                           Pooling((2, 2), pool=pool), Flatten(), Dense(2, activation="softmax")],
                       ("Convolution", "Pooling", "Flatten", "Dense"), "CCE", one_hot,
                       hpars(learning_rate=0.05))
       for name, strides, pool, act in (("stride1-max-relu", (1, 1), np.max, relu),
                                        ("default-strides-min-tanh", None, np.min, tanh),
                                        ("stride21-max-relu", (2, 1), np.max, relu))},
    "gru-gate-activations": ("sequence",
                             lambda: [EGRU(4, activate_reset=tanh, activate_update=sigmoid),
                                      EDense(2, activate=softmax)],
                             lambda: [GRU(4, reset_after=False, gate_activations={"r": "tanh"}),
                                      Dense(2, activation="softmax")],
                             ("GRU", "Dense"), "CCE", one_hot, hpars(learning_rate=0.1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_weights_equal_epynns_after_50_epochs(name):
    kind, epynn_layers, our_layers, kinds, loss, targets, settings = CASES[name]
    X, labels = data(kind)
    Y = targets(labels)
    initial, final = train_epynn(epynn_layers(), X, Y, loss, settings, EPOCHS)
    model = train_unrolled(our_layers(), X, Y, loss.lower(), settings, EPOCHS, initial)
    moved = max(np.abs(final[0][k] - initial[0][k]).max() for k in final[0])
    assert moved > 1e-3, "the weights hardly moved: the comparison would prove nothing"
    assert_same_weights(model, final, kinds)


def test_epynns_per_layer_clipping_is_clip_norm():
    """EpyNN's RNN clips its own summed gradients at 0.25 by default (its Dense does not): the
    same layer with clip_norm = 0.25 / m."""
    X, labels = data("sequence")
    Y = labels[:, None].astype(float)
    settings = hpars(learning_rate=0.5)
    initial, final = train_epynn([ERNN(4), EDense(1, activate=sigmoid)], X, Y, "BCE", settings,
                                 EPOCHS)
    model = train_unrolled([RNN(4, clip_norm=epynn_clip_norm(BATCH)),
                            Dense(1, activation="sigmoid")], X, Y, "bce", settings, EPOCHS,
                           initial)
    clipped = Model([RNN(4), Dense(1, activation="sigmoid")], loss="bce", seed=0,
                    **from_epynn_settings(settings, BATCH, EPOCHS))
    clipped.build(X)
    for layer, weights in zip(clipped.layers, initial):
        copy_weights(type("EpyNNWeights", (), {"p": weights})(), layer)
    clipped.train(X, Y, epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
    assert clipped.last_grad_norm * BATCH > 0.25, "the RNN's gradients were never clipped"
    assert_same_weights(model, final, ("RNN", "Dense"))


def test_the_learning_rate_rescaling_is_needed():
    """Without the batch-size factor the two trainings part: the test above can fail."""
    kind, epynn_layers, our_layers, kinds, loss, targets, settings = CASES["dense"]
    X, labels = data(kind)
    Y = targets(labels)
    initial, final = train_epynn(epynn_layers(), X, Y, loss, settings, 5)
    model = Model(our_layers(), loss="cce", seed=0)
    model.optimizer.lr = settings["learning_rate"]       # EpyNN's rate as it is: wrong
    model.build(X)
    for layer, weights in zip(model.layers, initial):
        copy_weights(type("EpyNNWeights", (), {"p": weights})(), layer)
    model.train(X, Y, epochs=5, batch_size=BATCH, shuffle=False, verbose=0)
    with pytest.raises(AssertionError):
        assert_same_weights(model, final, kinds)


def test_settings_refuse_what_they_cannot_convert():
    with pytest.raises(ValueError, match="schedule must be 'steady', 'exp_decay' or 'lin_decay', got 'warp'"):
        from_epynn_settings(hpars(schedule="warp"), 8, 10)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        from_epynn_settings(hpars(), 0, 10)
    with pytest.raises(ValueError, match="reset_after=False"):
        layer = GRU(2)
        layer(np.zeros((1, 2, 3)))
        copy_weights(type("W", (), {"p": {}})(), layer)


def test_epynn_metrics_count_label_0_as_positive():
    """The porting guide's mapping for a binary task: EpyNN's recall is unrolled's specificity,
    its precision unrolled's npv, its specificity unrolled's recall, its NPV unrolled's
    precision."""
    metrics = pytest.importorskip("epynn.commons.metrics")
    from unrolled.framework.metrics import METRICS
    rng = np.random.default_rng(3)
    A = rng.uniform(size=(40, 1))
    Y = (rng.uniform(size=(40, 1)) < 0.4).astype(float)
    mapping = {"recall": "specificity", "precision": "npv", "specificity": "recall", "NPV": "precision"}
    for theirs, ours in mapping.items():
        assert getattr(metrics, theirs)(Y, A) == pytest.approx(METRICS[ours](A, Y, task="binary"),
                                                                rel=1e-12)
    # and their fscore is the F1 of class 0: unrolled's F1 with the labels swapped
    assert metrics.fscore(Y, A) == pytest.approx(METRICS["f1"](1 - A, 1 - Y, task="binary"), rel=1e-12)
