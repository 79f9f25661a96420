"""EpyNN networks ported line by line: EpyNN 1.2.13's Convolution, Pooling, Flatten and Dense layers
and unrolled's aliases of them, from the same initial weights, trained 50 full-batch epochs, end
with the same weights (1e-12).

The one conversion: EpyNN sums the gradients over the batch (its cross-entropy derivative is
-Y/A, not -Y/(m A)), unrolled averages them, so EpyNN's learning rate lr matches unrolled's SGD
with lr * m. EpyNN is an optional test dependency (``pip install --no-deps epynn==1.2.13``);
the test is skipped without it.
"""
import numpy as np
import pytest

from unrolled.framework import Model
from unrolled.framework.optimizers import SGD
from unrolled.layers import Convolution, Dense, Flatten, Pooling

epynn_conv = pytest.importorskip("epynn.convolution.models", reason="epynn 1.2.13 not installed")
from epynn.commons.loss import CCE  # noqa: E402
from epynn.commons.maths import relu, softmax, tanh  # noqa: E402
from epynn.dense.models import Dense as EpyDense  # noqa: E402
from epynn.flatten.models import Flatten as EpyFlatten  # noqa: E402
from epynn.pooling.models import Pooling as EpyPooling  # noqa: E402
from epynn.settings import se_hPars  # noqa: E402

M, EPOCHS, LR = 12, 50, 0.05


def data():
    rng = np.random.default_rng(0)
    X = rng.random((M, 7, 7, 2))
    Y = np.eye(3)[rng.integers(0, 3, M)]
    return X, Y


def epynn_train(layers, X, Y):
    """EpyNN's training step, as its model runs it: forward, CCE derivative, then each layer
    backward, gradients, update (steady learning rate)."""
    A = X
    for i, layer in enumerate(layers):
        layer.se_hPars = dict(se_hPars)
        layer.lrate, layer.e = [LR] * EPOCHS, 0
        layer.np_rng = np.random.default_rng(10 + i)
        layer.compute_shapes(A)
        layer.initialize_parameters()
        A = layer.forward(A)
    initial = [{k: v.copy() for k, v in layer.p.items()} for layer in layers]
    for epoch in range(EPOCHS):
        A = X
        for layer in layers:
            layer.e = epoch
            A = layer.forward(A)
        dA = CCE(Y, A, deriv=True)
        for layer in reversed(layers):
            dA = layer.backward(dA)
            layer.compute_gradients()
            layer.update_parameters()
    return initial


@pytest.mark.parametrize("conv_strides, pool, act", [((1, 1), np.max, relu), (None, np.min, tanh),
                                                    ((2, 1), np.max, relu)],
                         ids=["stride1-max-relu", "default-strides-min-tanh", "stride21-max-relu"])
def test_epynn_cnn_and_its_unrolled_port_train_to_the_same_weights(conv_strides, pool, act):
    """EpyNN's functions (relu, tanh, np.max, np.min) are passed as they are to the aliases."""
    X, Y = data()
    epy = [epynn_conv.Convolution(3, (2, 2), strides=conv_strides, activate=act),
           EpyPooling((2, 2), pool=pool),
           EpyFlatten(), EpyDense(3, activate=softmax)]
    initial = epynn_train(epy, X, Y)

    model = Model([Convolution(3, (2, 2), strides=conv_strides, activate=act), Pooling((2, 2), pool=pool),
                   Flatten(), Dense(3, activation="softmax")],
                  loss="cce", optimizer=SGD(lr=LR * M), seed=0)
    model.predict(X)                                       # builds the layers
    ours = [model.layers[0], model.layers[3]]
    for layer, start in zip(ours, (initial[0], initial[3])):
        for name, value in start.items():
            layer.p[name][...] = value.reshape(layer.p[name].shape)
    before = ours[0].p["W"].copy()
    model.train(X, Y, epochs=EPOCHS, batch_size=M, shuffle=False, verbose=0)

    assert np.abs(ours[0].p["W"] - before).max() > 1e-3   # the weights did move
    for layer, theirs in zip(ours, (epy[0], epy[3])):
        for name in ("W", "b"):
            np.testing.assert_allclose(layer.p[name], np.reshape(theirs.p[name], layer.p[name].shape),
                                       rtol=1e-12, atol=1e-12, err_msg=f"{layer.label}.{name}")


def test_epynn_dense_network_and_its_port_train_to_the_same_weights():
    """The same conversion without convolutions: Flatten, Dense(relu), Dense(softmax)."""
    X, Y = data()
    epy = [EpyFlatten(), EpyDense(5, activate=relu), EpyDense(3, activate=softmax)]
    initial = epynn_train(epy, X, Y)
    model = Model([Flatten(), Dense(5, activation="relu"), Dense(3, activation="softmax")],
                  loss="cce", optimizer=SGD(lr=LR * M), seed=0)
    model.predict(X)
    for layer, start in zip(model.layers[1:], initial[1:]):
        for name, value in start.items():
            layer.p[name][...] = value
    model.train(X, Y, epochs=EPOCHS, batch_size=M, shuffle=False, verbose=0)
    for layer, theirs in zip(model.layers[1:], epy[1:]):
        assert np.abs(layer.p["W"] - initial[epy.index(theirs)]["W"]).max() > 1e-3
        for name in ("W", "b"):
            np.testing.assert_allclose(layer.p[name], theirs.p[name], rtol=1e-12, atol=1e-12,
                                       err_msg=f"{layer.label}.{name}")
