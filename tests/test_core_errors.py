"""Bad input fails early, with a message that names the culprit, what was expected and what came.

Every check uses ``pytest.raises(..., match=...)`` on the parts of the message a user needs:
the layer or argument, the expected value and the received one.
"""
import re

import numpy as np
import pytest

from unrolled.framework import (ACTIVATIONS, INITIALIZERS, LOSSES, METRICS, SGD, Model,
                                get_activation, get_loss, get_optimizer)
from unrolled.framework.optimizers import OPTIMIZERS
from unrolled.layers import GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Embedding, RepeatVector


def _rng(seed=0):
    return np.random.default_rng(seed)


def _regressor(**kwargs):
    return Model([Dense(4, activation="tanh"), Dense(2)], loss="mse", seed=0, **kwargs)


def _classifier(loss="cce", **kwargs):
    return Model([Dense(4, activation="tanh"), Dense(3, activation="softmax")], loss=loss, seed=0,
                 **kwargs)


def _valid_names_listed(message, names):
    return all(name in message for name in names)


# --------------------------------------------------------------------------- data shapes
def test_sample_count_mismatch_names_both_counts():
    rng = _rng()
    with pytest.raises(ValueError, match=r"X has 10 samples but Y has 9"):
        _regressor().train(rng.standard_normal((10, 3)), rng.standard_normal((9, 2)), verbose=0)


def test_sample_count_mismatch_in_evaluate_and_validation():
    rng = _rng()
    X, Y = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    with pytest.raises(ValueError, match=r"X has 10 samples but Y has 7"):
        _regressor().evaluate(X, Y[:7])
    with pytest.raises(ValueError, match=r"validation X has 10 samples but validation Y has 4"):
        _regressor().train(X, Y, verbose=0, validation=(X, Y[:4]))


def test_dense_rejects_4d_input_naming_the_layer_the_expected_and_the_received_shape():
    X = np.zeros((2, 3, 4, 5))
    with pytest.raises(ValueError, match=re.escape(
            "Dense 'dense_0': expected 2-D or 3-D input, got shape (2, 3, 4, 5) (4-D)")):
        _regressor().predict(X)
    with pytest.raises(ValueError, match=r"Dense 'hidden': expected 2-D or 3-D input, got shape "
                                         r"\(5,\) \(1-D\)"):
        Dense(3, name="hidden")(np.zeros(5))


def test_feature_count_change_after_build_is_refused():
    """A layer built for 3 features refuses 4: its W could not multiply them."""
    model = _regressor()
    rng = _rng()
    model.train(rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"Dense 'dense_0': built for inputs with n = 3 features, "
                                         r"got 4"):
        model.predict(rng.standard_normal((6, 4)))


@pytest.mark.parametrize("make, X", [
    (lambda: Dense(3), np.zeros((4, 2))),
    (lambda: Dense(3), np.zeros((4, 5, 2))),
    (lambda: Dropout(0.5), np.zeros((4, 2))),
    (lambda: Embedding(10, 3), np.zeros((4, 5), dtype=int)),
    (lambda: RepeatVector(3), np.zeros((4, 2))),
    (lambda: RNN(3), np.zeros((4, 5, 2))),
    (lambda: LSTM(3), np.zeros((4, 5, 2))),
    (lambda: GRU(3), np.zeros((4, 5, 2))),
    (lambda: Bidirectional(LSTM(3)), np.zeros((4, 5, 2))),
], ids=["dense", "dense_3d", "dropout", "embedding", "repeat_vector", "rnn", "lstm", "gru",
        "bidirectional"])
def test_direct_forward_on_a_shape_compute_shapes_did_not_see_names_both_shapes(make, X):
    """The model builds every layer from X[:1]; calling the hook forward itself with the full
    batch skips compute_shapes, and says so instead of failing inside NumPy."""
    layer = make()
    layer.name = "probe"
    Model([layer], seed=0).build(X)
    with pytest.raises(ValueError, match=re.escape(
            f"'probe': forward got input of shape {X.shape}, but its shapes were computed for "
            f"{(1,) + X.shape[1:]}: call layer(A)")):
        layer.forward(X)
    assert layer(X).shape[0] == 4          # layer(A) runs compute_shapes first


def test_one_hot_width_different_from_output_width_names_both_widths():
    rng = _rng()
    X, Y = rng.standard_normal((5, 3)), np.eye(4)[[0, 1, 2, 3, 0]]
    with pytest.raises(ValueError, match=r"Y has shape \(5, 4\).*expected \(m,\) \+ \(3,\).*"
                                         r"targets have width 4 but the last layer outputs 3"):
        _classifier().train(X, Y, verbose=0)


def test_integer_labels_with_cce_hint_at_scce():
    rng = _rng()
    X, y = rng.standard_normal((5, 3)), np.array([0, 1, 2, 1, 0])
    with pytest.raises(ValueError, match=r"Y has shape \(5,\).*\(3,\).*use loss='scce'"):
        _classifier("cce").train(X, y, verbose=0)


@pytest.mark.parametrize("labels, received", [([0, 1, 3, 1], r"\[0, 3\]"),
                                              ([0, -1, 2, 1], r"\[-1, 2\]")])
def test_scce_labels_out_of_range_name_the_valid_and_the_received_range(labels, received):
    X = _rng().standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"Y labels must lie in \[0, 2\] for an output of width 3, "
                                         r"got " + received):
        _classifier("scce").train(X, np.array(labels), verbose=0)


def test_scce_rejects_fractional_labels():
    X = _rng().standard_normal((3, 3))
    with pytest.raises(ValueError, match=r"scce.*integer class labels.*non-integer"):
        _classifier("scce").evaluate(X, np.array([0.0, 1.5, 2.0]))


def test_cross_entropy_targets_outside_0_1_are_refused():
    X = _rng().standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"loss 'cce' needs targets in \[0, 1\], got Y values in "
                                         r"\[0\.0, 2\.0\]"):
        _classifier("cce").evaluate(X, np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]]))


# --------------------------------------------------------------------------- non-finite / empty
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_nan_or_inf_in_X_is_refused(bad):
    rng = _rng()
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    X[2, 1] = bad
    with pytest.raises(ValueError, match=r"model: X contains NaN or inf"):
        _regressor().train(X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"model: X contains NaN or inf"):
        _regressor().predict(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_nan_or_inf_in_Y_is_refused(bad):
    rng = _rng()
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    Y[4, 0] = bad
    with pytest.raises(ValueError, match=r"model: Y contains NaN or inf"):
        _regressor().train(X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"model: validation Y contains NaN or inf"):
        _regressor().train(X, np.zeros((5, 2)), verbose=0, validation=(X, Y))


def test_empty_data_is_refused():
    with pytest.raises(ValueError, match=r"model: X is empty \(shape \(0, 3\)\)"):
        _regressor().train(np.zeros((0, 3)), np.zeros((0, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"model: X is empty"):
        _regressor().predict(np.zeros((0, 3)))


def test_non_numeric_data_is_a_type_error():
    with pytest.raises(TypeError, match=r"model: X must be a numeric array, got dtype <U1"):
        _regressor().predict(np.array([["a", "b", "c"]]))


# --------------------------------------------------------------------------- training arguments
@pytest.mark.parametrize("epochs", [0, -1, 1.5])
def test_epochs_must_be_a_positive_integer(epochs):
    rng = _rng()
    with pytest.raises(ValueError, match=r"epochs must be a positive integer, got "
                                         + re.escape(repr(epochs))):
        _regressor().train(rng.standard_normal((4, 3)), rng.standard_normal((4, 2)),
                           epochs=epochs, verbose=0)


@pytest.mark.parametrize("batch_size", [0, -8, 2.0])
def test_batch_size_must_be_a_positive_integer(batch_size):
    rng = _rng()
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer, got "
                                         + re.escape(repr(batch_size))):
        _regressor().train(rng.standard_normal((4, 3)), rng.standard_normal((4, 2)),
                           batch_size=batch_size, verbose=0)


# --------------------------------------------------------------------------- names, at construction
def test_unknown_activation_is_refused_when_the_layer_is_built_listing_valid_names():
    with pytest.raises(ValueError, match=r"Dense 'out': unknown activation 'relux'") as info:
        Dense(3, activation="relux", name="out")
    assert _valid_names_listed(str(info.value), ACTIVATIONS)


def test_bad_activation_parameter_names_the_activation():
    with pytest.raises(TypeError, match=r"Dense: bad parameters \{'gamma': 2\} for activation "
                                        r"'leaky_relu'"):
        Dense(3, activation="leaky_relu", activation_params={"gamma": 2})
    with pytest.raises(ValueError, match=r"leaky_relu: alpha must be > 0, got -0\.1"):
        get_activation("leaky_relu", alpha=-0.1)
    with pytest.raises(ValueError, match=r"softmax: temperature must be > 0, got 0"):
        get_activation("softmax", temperature=0)


def test_unknown_loss_is_refused_at_model_construction_listing_valid_names():
    with pytest.raises(ValueError, match=r"unknown loss 'crossentropy'") as info:
        Model([Dense(2)], loss="crossentropy")
    assert _valid_names_listed(str(info.value), LOSSES)
    with pytest.raises(ValueError, match=r"unknown loss"):
        get_loss("hinge")


def test_unknown_metric_is_refused_at_model_construction_listing_valid_names():
    with pytest.raises(ValueError, match=r"unknown metric 'auc'") as info:
        _classifier(metrics=["accuracy", "auc"])
    assert _valid_names_listed(str(info.value), METRICS)


def test_unknown_initializer_is_refused_when_the_layer_is_built():
    with pytest.raises(ValueError,
                       match=r"Dense 'h': unknown initializer 'glorot_unif'; valid names") as info:
        Dense(3, initializer="glorot_unif", name="h")
    assert _valid_names_listed(str(info.value), INITIALIZERS)


def test_unknown_optimizer_is_refused_at_model_construction_listing_valid_names():
    with pytest.raises(ValueError, match=r"unknown optimizer 'no_such_optimizer'; valid names: "
                                         r".*sgd") as info:
        Model([Dense(2)], optimizer="no_such_optimizer")
    assert _valid_names_listed(str(info.value), OPTIMIZERS)
    with pytest.raises(TypeError, match=r"optimizer must be a name or an Optimizer, got int"):
        get_optimizer(3)


def test_cce_with_a_non_softmax_output_is_refused_naming_the_activation():
    with pytest.raises(ValueError, match=r"loss 'cce' needs an output activation in "
                                         r"\('softmax',\).*last layer's activation is 'sigmoid'"):
        Model([Dense(3, activation="sigmoid")], loss="cce")
    with pytest.raises(ValueError, match=r"loss 'scce' needs an output activation.*'identity'"):
        Model([Dense(3)], loss="scce")


def test_bce_with_an_unbounded_output_is_refused():
    with pytest.raises(ValueError, match=r"loss 'bce' needs an output activation in .*'relu'"):
        Model([Dense(1, activation="relu")], loss="bce")


def test_accuracy_with_mse_loss_is_refused_naming_the_task():
    with pytest.raises(ValueError, match=r"metric 'accuracy' needs a classification loss "
                                         r"\(bce, cce, scce\) or probabilities \(a softmax or "
                                         r"sigmoid output\); this model's task is 'regression'"):
        _regressor(metrics=["accuracy"])


# --------------------------------------------------------------------------- constructor arguments
@pytest.mark.parametrize("units", [0, -3, 2.5, "4"])
def test_dense_units_must_be_a_positive_integer(units):
    with pytest.raises(ValueError, match=r"Dense: units must be a positive integer, got "
                                         + re.escape(repr(units))):
        Dense(units)


def test_layer_lr_and_penalties_must_be_valid():
    with pytest.raises(ValueError, match=r"Dense 'a': lr must be a finite number > 0 or None, "
                                         r"got 0"):
        Dense(2, name="a", lr=0)
    with pytest.raises(ValueError, match=r"Dense 'a': l1 must be a finite number >= 0, got -1"):
        Dense(2, name="a", l1=-1)


def test_model_arguments_are_checked_at_construction():
    with pytest.raises(ValueError, match=r"model: needs at least one layer"):
        Model([])
    with pytest.raises(TypeError, match=r"model: layer 1 must be a Layer, got str"):
        Model([Dense(2), "dense"])
    with pytest.raises(ValueError, match=r"two layers are named 'x'"):
        Model([Dense(2, name="x"), Dense(2, name="x")])
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'float64', got 'float16'"):
        Model([Dense(2)], dtype="float16")
    for option in ("clip_norm", "clip_layer_norm", "clip_value"):
        with pytest.raises(ValueError, match=rf"model: {option} must be a finite number > 0 or None, got -1"):
            Model([Dense(2)], **{option: -1})
    with pytest.raises(TypeError, match=r"schedule must be callable"):
        Model([Dense(2)], schedule=0.1)


def test_sgd_arguments_are_checked():
    with pytest.raises(ValueError, match=r"SGD: lr must be a finite number > 0, got 0"):
        SGD(lr=0)
    with pytest.raises(ValueError, match=r"SGD: momentum .*>= 0.*-0\.9"):
        SGD(momentum=-0.9)
    with pytest.raises(ValueError, match=r"SGD: .*weight_decay .*>= 0.*-0\.1"):
        SGD(weight_decay=-0.1)
    with pytest.raises(ValueError, match=r"nesterov needs momentum > 0 and dampening = 0"):
        SGD(nesterov=True)


def test_validation_must_be_a_pair_or_triple():
    rng = _rng()
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    with pytest.raises(ValueError, match=r"validation must be \(X, Y\), \(X, Y, mask\) or a dataset Split"):
        _regressor().train(X, Y, verbose=0, validation=X)
