"""A hostile user through the public API: every bad input gets an error naming its cause.

Each row of ``CASES`` is ``(id, call, exception type, substrings)``: ``call()`` must raise the
exception and its message must contain every substring, which name the argument, what was
expected and what was received. Groups: layer construction (common arguments and Keras/PyTorch
habits), optimizers, schedules, callbacks, clipping, ``Model(...)``, data, training arguments,
schedules at run time, ``Seq2Seq`` lengths and divergence. Files are tested elsewhere
(tests/test_serialization.py and the file-hostility suite).

The second half proves that every loss gives the exact gradient of the value it reports for
every target it accepts (soft labels, label smoothing, all-zero rows...), by finite differences.
"""
import math

import numpy as np
import pytest

from unrolled.framework import (SGD, Adagrad, Adam, AdamW, CosineAnnealing, CSVLogger,
                                CyclicDescent, EarlyStopping, ExponentialDecay, LinearDecay, Model,
                                ModelCheckpoint, ReduceLROnPlateau, RMSprop, Seq2Seq, Steady,
                                StepDecay, TrainingDiverged, clipping, get_optimizer, get_schedule,
                                gradcheck)
from unrolled.layers import GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Embedding

RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 3))           # features (m, n)
Y = RNG.standard_normal((8, 2))
XS = RNG.standard_normal((6, 4, 3))       # sequences (m, s, e)
LABELS = np.array([0, 1, 2, 1, 0, 2, 1, 0])


def regressor(**kwargs):
    return Model([Dense(4, activation="tanh"), Dense(2)], seed=0, **kwargs)


def classifier(loss="cce", **kwargs):
    return Model([Dense(4, activation="tanh"), Dense(3, activation="softmax")], loss=loss,
                 seed=0, **kwargs)


def sequence_model(**kwargs):
    return Model([LSTM(3, sequences=True), Dense(2)], seed=0, **kwargs)


def train(model=None, X=X, Y=Y, **kwargs):
    return (model or regressor()).train(X, Y, verbose=0, **kwargs)


def seq2seq(**kwargs):
    return Seq2Seq(GRU(3), GRU(3, sequences=True), Dense(4, activation="softmax"), seed=0,
                   **kwargs)


def trained_seq2seq():
    model = seq2seq()
    model.train(XS, RNG.integers(0, 4, (6, 2)), epochs=1, verbose=0)
    return model


def with_nan_weight():
    model = regressor()
    model.build(X)
    model.layers[0].p["W"][0, 0] = np.nan     # e.g. weights set or loaded with a NaN
    return model


def with_huge_weights():
    model = Model([Dense(4), Dense(2)], seed=0).build(X)
    model.layers[0].p["W"][...] = 1e300        # finite, but X @ W overflows for |X| > 1e9
    return model


def with_layer_lr(lr):
    model = regressor()
    model.layers[0].lr = lr                    # changed by hand after construction
    return model


def with_lr(lr):
    model = regressor()
    model.optimizer.lr = lr
    return model


def call(f, *args, **kwargs):
    return lambda: f(*args, **kwargs)


T, V = TypeError, ValueError

# (id, call, exception, substrings of the message)
CONSTRUCTION_LAYERS = [
    ("dense-name-int", call(Dense, 3, name=3), T, ["name", "a string", "3 (int)"]),
    ("dense-name-list", call(Embedding, 10, 3, name=["e"]), T, ["name", "a string", "['e'] (list)"]),
    ("dense-trainable-str", call(Dense, 3, trainable="no"), T,
     ["trainable", "True or False", "'no' (str)"]),
    ("rnn-trainable-none", call(RNN, 3, trainable=None), T,
     ["trainable", "True or False", "None (NoneType)"]),
    ("dense-lr-str", call(Dense, 3, lr="0.1"), T,
     ["lr", "a finite number > 0", "'0.1' (str: pass the number itself, 0.1)"]),
    ("dense-lr-zero", call(Dense, 3, lr=0), V, ["lr", "> 0", "got 0"]),
    ("dense-lr-negative", call(Dense, 3, lr=-0.5), V, ["lr", "> 0", "got -0.5"]),
    ("dense-lr-nan", call(Dense, 3, lr=float("nan")), V, ["lr", "finite number > 0", "got nan"]),
    ("dense-lr-inf", call(Dense, 3, lr=float("inf")), V, ["lr", "finite number > 0", "got inf"]),
    ("dense-lr-bool", call(Dense, 3, lr=True), T, ["lr", "finite number > 0", "True (bool)"]),
    ("lstm-lr-complex", call(LSTM, 3, lr=1 + 0j), T, ["lr", "finite number", "(1+0j) (complex)"]),
    ("dense-l1-negative", call(Dense, 3, l1=-0.1), V, ["l1", ">= 0", "got -0.1"]),
    ("dense-l2-str", call(Dense, 3, l2="0.01"), T, ["l2", ">= 0", "'0.01' (str"]),
    ("dense-l1-nan", call(Dense, 3, l1=float("nan")), V, ["l1", "finite number >= 0", "nan"]),
    ("dense-l2-list", call(Dense, 3, l2=[0.1]), T, ["l2", ">= 0", "[0.1] (list)"]),
    ("gru-l2-negative", call(GRU, 3, l2=-1), V, ["GRU", "l2", ">= 0", "got -1"]),
    ("dropout-lr-word", call(Dropout, 0.5, lr="fast"), T, ["Dropout", "lr", "'fast' (str)"]),
    ("layer-label-in-message", call(Dense, 3, name="head", l1=-2), V, ["Dense 'head'", "l1", "-2"]),
    # the recurrent layers' own arguments
    ("rnn-units-str", call(RNN, "4"), T,
     ["RNN", "units", "a positive integer", "'4' (str: pass the number itself, 4)"]),
    ("gru-units-zero", call(GRU, 0), V, ["GRU", "units", "a positive integer", "got 0"]),
    ("lstm-dropout-str", call(LSTM, 3, dropout="0.1"), T,
     ["LSTM", "dropout", "a finite number >= 0 and < 1", "'0.1' (str: pass the number itself, 0.1)"]),
    ("rnn-dropout-none", call(RNN, 3, dropout=None), T, ["RNN", "dropout", "None (NoneType)"]),
    ("gru-recurrent_dropout-one", call(GRU, 3, recurrent_dropout=1.0), V,
     ["GRU", "recurrent_dropout", ">= 0 and < 1", "got 1.0"]),
    ("lstm-recurrent_dropout-list", call(LSTM, 3, recurrent_dropout=[0.1]), T,
     ["LSTM", "recurrent_dropout", "< 1", "[0.1] (list)"]),
    ("lstm-sequences-word", call(LSTM, 3, sequences="no"), T,
     ["LSTM", "sequences", "True or False", "'no' (str)"]),
    ("gru-stateful-word", call(GRU, 3, stateful="no"), T,
     ["GRU", "stateful", "True or False", "'no' (str)"]),
    ("rnn-lean-word", call(RNN, 3, lean="no"), T, ["RNN", "lean", "True or False", "'no' (str)"]),
    ("lstm-use_bias-word", call(LSTM, 3, use_bias="no"), T,
     ["LSTM", "use_bias", "True or False", "'no' (str)"]),
    ("gru-use_bias-none", call(GRU, 3, use_bias=None), T,
     ["GRU", "use_bias", "True or False", "None (NoneType)"]),
    ("lstm-forget_bias-str", call(LSTM, 3, forget_bias="1"), T,
     ["LSTM", "forget_bias", "a finite number", "'1' (str: pass the number itself, 1)"]),
    ("lstm-forget_bias-nan", call(LSTM, 3, forget_bias=float("nan")), V,
     ["LSTM", "forget_bias", "a finite number", "got nan"]),
    ("lstm-forget_bias-without-bias", call(LSTM, 3, use_bias=False, forget_bias=0.0), V,
     ["LSTM", "forget_bias=0.0", "use_bias=False", "no bias"]),
    ("recurrent-label-in-message", call(LSTM, 3, name="enc", lean="yes"), T,
     ["LSTM 'enc'", "lean", "'yes' (str)"]),
]

HABITS = [
    ("lstm-return_sequences", call(LSTM, 3, return_sequences=True), T,
     ["return_sequences=True", "did you mean sequences="]),
    ("gru-return_sequences", call(GRU, 3, return_sequences=True), T,
     ["return_sequences", "sequences="]),
    ("rnn-return_sequences", call(RNN, 3, return_sequences=False), T,
     ["return_sequences=False", "sequences="]),
    ("dense-return_sequences", call(Dense, 3, return_sequences=True), T,
     ["return_sequences", "sequences=", "Dense does not take"]),
    ("embedding-keras-names", call(Embedding, input_dim=10, output_dim=3), T,
     ["Embedding", "missing a required argument: 'vocab_size'", "input_dim= is vocab_size= here",
      "output_dim= is dim= here"]),
    ("lstm-hidden_size", call(LSTM, hidden_size=3), T,
     ["LSTM", "'units'", "hidden_size= is units= here"]),
    ("dense-too-many-positional", call(Dense, 3, "relu", None, "glorot_uniform", True, "x"), T,
     ["Dense", "too many positional arguments", "Dense takes: units"]),
    ("dense-learning_rate", call(Dense, 3, learning_rate=0.1), T,
     ["learning_rate=0.1", "did you mean lr="]),
    ("lstm-learning_rate", call(LSTM, 3, learning_rate=0.1), T, ["learning_rate", "lr="]),
    ("dense-kernel_initializer", call(Dense, 3, kernel_initializer="zeros"), T,
     ["kernel_initializer='zeros'", "initializer="]),
    ("dense-use_bias-word", call(Dense, 3, use_bias="no"), T,
     ["use_bias", "'no'"]),
    ("embedding-use_bias", call(Embedding, 10, 3, use_bias=False), T,
     ["use_bias=False", "not supported", "RNN, LSTM, GRU", "take use_bias="]),
    ("bidirectional-use_bias", call(Bidirectional, LSTM(3), use_bias=False), T,
     ["use_bias=False", "the wrapped layer"]),
    ("lstm-batch_first", call(LSTM, 3, batch_first=True), T,
     ["batch_first=True", "batch-first, (m, s, e)"]),
    ("lstm-bidirectional", call(LSTM, 3, bidirectional=True), T,
     ["bidirectional=True", "Bidirectional(LSTM(...))"]),
    ("gru-num_layers", call(GRU, 3, num_layers=2), T, ["num_layers=2", "stack layers"]),
    ("dense-input_shape", call(Dense, 3, input_shape=(4,)), T,
     ["input_shape=(4,)", "read from the first input"]),
    ("dense-input_dim", call(Dense, 3, input_dim=4), T, ["input_dim=4", "read from the first input"]),
    ("dense-bias_initializer", call(Dense, 3, bias_initializer="ones"), T,
     ["bias_initializer", "biases start at zero"]),
    ("dense-kernel_regularizer", call(Dense, 3, kernel_regularizer=0.1), T,
     ["kernel_regularizer", "l1= / l2="]),
    ("dropout-p", call(Dropout, p=0.3), T, ["p=0.3", "did you mean rate="]),
    ("dense-typo", call(Dense, 3, activaton="relu"), T,
     ["activaton='relu'", "did you mean activation="]),
    ("lstm-return_state", call(LSTM, 3, return_state=True), T, ["return_state", "layer.state"]),
    ("dense-dtype", call(Dense, 3, dtype="float32"), T, ["dtype", "Model's dtype="]),
    ("dense-seed", call(Dense, 3, seed=0), T, ["seed=0", "Model's seed="]),
    ("bidirectional-merge_mode", call(Bidirectional, LSTM(3), merge_mode="sum"), T,
     ["merge_mode='sum'", "merge="]),
    ("lstm-dropout_rate", call(LSTM, 3, dropout_rate=0.1), T, ["dropout_rate", "dropout="]),
    ("rnn-hidden_size", call(RNN, 3, hidden_size=3), T, ["hidden_size=3", "units="]),
    ("array-value-shortened", call(SGD, lr=np.zeros(1000)), T,
     ["lr", "finite number > 0", "array([0., 0.,", "...", "(ndarray)"]),
    ("valid-arguments-listed", call(Dense, 3, foo=1), T,
     ["foo=1", "Dense takes: units, activation"]),
]

OPTIMIZERS = [
    ("sgd-lr-str", call(SGD, lr="0.1"), T, ["SGD", "lr", "finite number > 0", "'0.1' (str"]),
    ("sgd-lr-zero", call(SGD, lr=0), V, ["SGD", "lr", "> 0", "got 0"]),
    ("sgd-lr-negative", call(SGD, lr=-0.1), V, ["lr", "> 0", "-0.1"]),
    ("sgd-lr-numpy-negative", call(SGD, lr=np.float64(-0.1)), V, ["lr", "> 0", "got -0.1"]),
    ("sgd-lr-huge-int", call(SGD, lr=10**400), V, ["lr", "finite number > 0", "got 1000"]),
    ("sgd-lr-nan", call(SGD, lr=float("nan")), V, ["lr", "finite", "nan"]),
    ("sgd-lr-none", call(SGD, lr=None), T, ["lr", "> 0", "None (NoneType)"]),
    ("sgd-momentum-negative", call(SGD, momentum=-0.9), V, ["momentum", ">= 0", "-0.9"]),
    ("sgd-momentum-str", call(SGD, momentum="0.9"), T, ["momentum", ">= 0", "'0.9' (str"]),
    ("sgd-nesterov-str", call(SGD, momentum=0.9, nesterov="yes"), T,
     ["nesterov", "True or False", "'yes'"]),
    ("sgd-weight_decay-inf", call(SGD, weight_decay=float("inf")), V,
     ["weight_decay", "finite number >= 0", "inf"]),
    ("sgd-dampening-negative", call(SGD, dampening=-1), V, ["dampening", ">= 0", "-1"]),
    ("sgd-nesterov-without-momentum", call(SGD, nesterov=True), V,
     ["nesterov", "momentum > 0", "dampening = 0"]),
    ("sgd-learning_rate", call(SGD, learning_rate=0.1), T, ["learning_rate=0.1", "did you mean lr="]),
    ("sgd-clipnorm", call(SGD, clipnorm=1.0), T, ["clipnorm", "clip_norm="]),
    ("adam-betas-one", call(Adam, betas=(1.0, 0.9)), V, ["betas[0]", "< 1", "got 1.0"]),
    ("adam-betas-scalar", call(Adam, betas=0.9), T, ["betas", "a pair", "0.9 (float)"]),
    ("adam-betas-short", call(Adam, betas=(0.9,)), T, ["betas", "a pair", "(0.9,) (tuple)"]),
    ("adam-betas-str", call(Adam, betas=("0.9", 0.999)), T, ["betas[0]", "'0.9' (str"]),
    ("adam-betas-negative", call(Adam, betas=(0.9, -0.1)), V, ["betas[1]", ">= 0", "-0.1"]),
    ("adam-eps-negative", call(Adam, eps=-1), V, ["Adam", "eps", ">= 0", "-1"]),
    ("adam-eps-str", call(Adam, eps="1e-8"), T, ["eps", "'1e-8' (str"]),
    ("adam-amsgrad-str", call(Adam, amsgrad="no"), T, ["amsgrad", "True or False", "'no'"]),
    ("adam-beta_1", call(Adam, beta_1=0.8), T, ["beta_1=0.8", "betas=(beta1, beta2)"]),
    ("adam-epsilon", call(Adam, epsilon=1e-7), T, ["epsilon=1e-07", "did you mean eps="]),
    ("adam-weight_decay-negative", call(Adam, weight_decay=-0.01), V, ["weight_decay", "-0.01"]),
    ("adamw-lr-zero", call(AdamW, lr=0), V, ["AdamW", "lr", "> 0", "0"]),
    ("adamw-decay", call(AdamW, decay=0.01), T, ["decay=0.01", "weight_decay="]),
    ("rmsprop-alpha-negative", call(RMSprop, alpha=-0.5), V, ["RMSprop", "alpha", ">= 0", "-0.5"]),
    ("rmsprop-rho", call(RMSprop, rho=0.9), T, ["rho=0.9", "alpha="]),
    ("rmsprop-centered-str", call(RMSprop, centered="true"), T, ["centered", "'true'"]),
    ("rmsprop-momentum-nan", call(RMSprop, momentum=float("nan")), V, ["momentum", "finite", "nan"]),
    ("adagrad-lr_decay-negative", call(Adagrad, lr_decay=-1), V, ["lr_decay", ">= 0", "-1"]),
    ("adagrad-accumulator-str", call(Adagrad, initial_accumulator_value="0.1"), T,
     ["initial_accumulator_value", "'0.1' (str"]),
    ("adagrad-eps-inf", call(Adagrad, eps=float("inf")), V, ["eps", "finite", "inf"]),
    ("get_optimizer-int", call(get_optimizer, 3), T, ["optimizer", "a name or an Optimizer", "int"]),
    ("get_optimizer-unknown", call(get_optimizer, "adamx"), V,
     ["unknown optimizer 'adamx'", "valid names", "adam"]),
]

SCHEDULES = [
    ("exponential-gamma-zero", call(ExponentialDecay, gamma=0), V, ["gamma", "> 0", "got 0"]),
    ("exponential-gamma-str", call(ExponentialDecay, gamma="0.9"), T, ["gamma", "'0.9' (str"]),
    ("step-size-zero", call(StepDecay, step_size=0), V, ["step_size", "positive integer", "got 0"]),
    ("step-size-float", call(StepDecay, step_size=2.5), T,
     ["step_size", "positive integer", "2.5 (float)"]),
    ("step-gamma-negative", call(StepDecay, gamma=-0.1), V, ["gamma", "> 0", "-0.1"]),
    ("cosine-T_max-negative", call(CosineAnnealing, T_max=-1), V, ["T_max", "positive integer", "-1"]),
    ("cosine-eta_min-nan", call(CosineAnnealing, eta_min=float("nan")), V, ["eta_min", "finite", "nan"]),
    ("linear-total-str", call(LinearDecay, total_epochs="10"), T,
     ["total_epochs", "positive integer", "'10' (str"]),
    ("linear-end-negative", call(LinearDecay, end_factor=-1), V, ["end_factor", ">= 0", "-1"]),
    ("cyclic-epochs-zero", call(CyclicDescent, cycle_epochs=0), V, ["cycle_epochs", "positive", "0"]),
    ("cyclic-descent-above-one", call(CyclicDescent, cycle_descent=1.5), V,
     ["cycle_descent", "<= 1", "1.5"]),
    ("schedule-epoch-negative", call(Steady(), -1, 0.1), V, ["Steady", "epoch", ">= 0", "-1"]),
    ("schedule-epoch-float", call(Steady(), 1.5, 0.1), T, ["epoch", "an integer", "1.5 (float)"]),
    ("schedule-base_lr-str", call(Steady(), 0, "0.1"), T, ["base_lr", "'0.1' (str"]),
    ("get_schedule-unknown", call(get_schedule, "warp"), V, ["unknown schedule 'warp'", "cosine"]),
]

CALLBACKS = [
    ("early-patience-negative", call(EarlyStopping, patience=-1), V,
     ["EarlyStopping", "patience", "integer >= 0", "-1"]),
    ("early-patience-float", call(EarlyStopping, patience=1.5), T, ["patience", "integer", "1.5"]),
    ("early-patience-str", call(EarlyStopping, patience="3"), T, ["patience", "'3' (str"]),
    ("early-min_delta-negative", call(EarlyStopping, min_delta=-0.1), V, ["min_delta", ">= 0", "-0.1"]),
    ("early-mode-unknown", call(EarlyStopping, mode="maximum"), V,
     ["mode", "'auto', 'min', 'max'", "'maximum'"]),
    ("early-monitor-int", call(EarlyStopping, monitor=3), T, ["monitor", "a string", "3 (int)"]),
    ("early-restore-str", call(EarlyStopping, restore_best="yes"), T,
     ["restore_best", "True or False", "'yes'"]),
    ("checkpoint-path-int", call(ModelCheckpoint, 3), T, ["ModelCheckpoint", "path", "3 (int)"]),
    ("checkpoint-every-zero", call(ModelCheckpoint, "m.npz", every=0), V,
     ["every", "positive integer", "0"]),
    ("plateau-factor-above-one", call(ReduceLROnPlateau, factor=1.5), V, ["factor", "< 1", "1.5"]),
    ("plateau-factor-zero", call(ReduceLROnPlateau, factor=0), V, ["factor", "> 0", "got 0"]),
    ("plateau-patience-negative", call(ReduceLROnPlateau, patience=-1), V, ["patience", ">= 0", "-1"]),
    ("plateau-cooldown-float", call(ReduceLROnPlateau, cooldown=0.5), T, ["cooldown", "integer", "0.5"]),
    ("plateau-min_lr-negative", call(ReduceLROnPlateau, min_lr=-1), V, ["min_lr", ">= 0", "-1"]),
    ("csv-path-none", call(CSVLogger, None), T, ["CSVLogger", "path", "None"]),
    ("csv-separator-long", call(CSVLogger, "log.csv", separator=";;"), T,
     ["separator", "one-character", "';;'"]),
    ("train-callback-not-callback", lambda: train(callbacks=[object()]), T,
     ["callbacks", "Callback instances", "object"]),
]

CLIPPING = [
    ("clip-global-zero", call(clipping.clip_global_norm, [], 0), V, ["max_norm", "> 0", "got 0"]),
    ("clip-value-str", call(clipping.clip_value, [], "1"), T, ["clip_value", "value", "'1' (str"]),
    ("clip-layer-negative", call(clipping.clip_layer_norm, [], -1), V, ["max_norm", "> 0", "-1"]),
]

MODEL = [
    ("model-empty", call(Model, []), V, ["at least one layer", "empty list"]),
    ("model-layer-str", call(Model, [Dense(2), "dense"]), T, ["layer 1", "a Layer", "str"]),
    ("model-dtype", call(Model, Dense(2), dtype="float16"), V,
     ["dtype", "'float32' or 'float64'", "'float16'"]),
    ("model-clip_norm-negative", call(Model, Dense(2), clip_norm=-1), V, ["clip_norm", "> 0", "-1"]),
    ("model-clip_norm-str", call(Model, Dense(2), clip_norm="1"), T, ["clip_norm", "'1' (str"]),
    ("model-clip_value-zero", call(Model, Dense(2), clip_value=0), V, ["clip_value", "> 0", "0"]),
    ("model-clip_layer_norm-nan", call(Model, Dense(2), clip_layer_norm=float("nan")), V,
     ["clip_layer_norm", "finite", "nan"]),
    ("model-schedule-number", call(Model, Dense(2), schedule=0.1), T, ["schedule", "callable", "0.1"]),
    ("model-seed-str", call(Model, Dense(2), seed="1"), T, ["seed", "integer >= 0", "'1' (str"]),
    ("model-seed-negative", call(Model, Dense(2), seed=-1), V, ["seed", ">= 0", "-1"]),
    ("model-name-int", call(Model, Dense(2), name=5), T, ["name", "a string", "5 (int)"]),
    ("model-lr", call(Model, Dense(2), lr=0.1), T, ["lr=0.1", "optimizer=SGD(lr=0.1)"]),
    ("model-epochs", call(Model, Dense(2), epochs=3), T, ["epochs=3", "model.train"]),
    ("model-typo", call(Model, Dense(2), optimiser="adam"), T,
     ["optimiser='adam'", "did you mean optimizer="]),
    ("model-loss-unknown", call(Model, Dense(2), loss="crossentropy"), V,
     ["unknown loss 'crossentropy'", "mse"]),
    ("model-loss-int", call(Model, Dense(2), loss=3), T, ["loss", "a name or a Loss", "int"]),
    ("model-metric-unknown", lambda: classifier(metrics=["auc"]), V,
     ["unknown metric 'auc'", "valid names", "accuracy"]),
    ("model-duplicate-names", call(Model, [Dense(2, name="x"), Dense(2, name="x")]), V,
     ["two layers are named 'x'", "names must be unique"]),
    ("model-cce-sigmoid", call(Model, Dense(3, activation="sigmoid"), loss="cce"), V,
     ["loss 'cce'", "('softmax',)", "'sigmoid'"]),
]

DATA = [
    ("predict-complex", lambda: regressor().predict(X + 1j), T,
     ["X", "numeric array", "complex128", "complex values are not supported"]),
    ("train-complex-X", lambda: train(X=X.astype(complex)), T, ["X", "complex128"]),
    ("train-complex-Y", lambda: train(Y=Y + 0.5j), T, ["Y", "numeric array", "complex128"]),
    ("predict-strings", lambda: regressor().predict(np.array([["a", "b", "c"]])), T,
     ["X", "numeric array", "<U1"]),
    ("predict-ragged", lambda: regressor().predict([[1.0, 2.0, 3.0], [1.0, 2.0]]), V,
     ["X is ragged", "pad the sequences"]),
    ("predict-object", lambda: regressor().predict(np.array([[1, "a", None]], dtype=object)), T,
     ["X", "numeric array", "object"]),
    ("predict-none", lambda: regressor().predict(None), T, ["X", "numeric array", "None"]),
    ("predict-nan", lambda: regressor().predict(np.where(X > 1, np.nan, X)), V,
     ["X contains NaN or inf", "first at index"]),
    ("train-Y-inf", lambda: train(Y=np.where(Y > 1, np.inf, Y)), V, ["Y contains NaN or inf"]),
    ("predict-empty", lambda: regressor().predict(np.zeros((0, 3))), V,
     ["X is empty", "(0, 3)", "at least one sample"]),
    ("train-X-scalar", lambda: train(X=3.0), V, ["X", "samples first, (m, ...)", "a scalar"]),
    ("train-Y-scalar", lambda: train(Y=1.0), V, ["Y", "(m,) + (2,)", "a scalar"]),
    ("train-sample-mismatch", lambda: train(Y=Y[:5]), V, ["X has 8 samples but Y has 5"]),
    ("train-validation-mismatch", lambda: train(validation=(X, Y[:4])), V,
     ["validation X has 8 samples but validation Y has 4"]),
    ("mask-on-2d-input", lambda: regressor().predict(X, mask=np.ones((8, 3), bool)), V,
     ["mask", "sequence inputs", "(8, 3) is 2-D with no steps axis"]),
    ("mask-wrong-shape", lambda: sequence_model().predict(XS, mask=np.ones((6, 3), bool)), V,
     ["mask", "(m, s) = (6, 4)", "got (6, 3)"]),
    ("mask-int", lambda: sequence_model().predict(XS, mask=np.ones((6, 4), int)), T,
     ["mask", "boolean", "int64", "astype(bool)"]),
    ("mask-float", lambda: sequence_model().predict(XS, mask=np.ones((6, 4))), T,
     ["mask", "boolean", "float64"]),
    ("mask-str", lambda: sequence_model().predict(XS, mask=np.full((6, 4), "y")), T,
     ["mask", "boolean", "<U1"]),
    ("cce-target-above-one", lambda: classifier().evaluate(X, np.full((8, 3), 2.0)), V,
     ["loss 'cce'", "targets in [0, 1]", "[2.0, 2.0]"]),
    ("bce-target-negative", lambda: Model(Dense(1, activation="sigmoid"), loss="bce")
     .evaluate(X, -np.ones(8)), V, ["loss 'bce'", "[0, 1]", "[-1.0, -1.0]"]),
    ("msle-target-minus-one", lambda: Model(Dense(2, activation="softplus"), loss="msle")
     .evaluate(X, np.full((8, 2), -1.0)), V, ["loss 'msle'", "(-1, inf)", "[-1.0, -1.0]"]),
    ("scce-label-out-of-range", lambda: classifier("scce").evaluate(X, LABELS + 1), V,
     ["labels must lie in [0, 2]", "width 3", "[1, 3]"]),
    ("scce-fractional", lambda: classifier("scce").evaluate(X, LABELS + 0.5), V,
     ["scce", "integer class labels", "non-integer"]),
    ("scce-strings", lambda: classifier("scce").evaluate(X, LABELS.astype(str)), T,
     ["Y", "integer class labels", "<U"]),
    ("scce-complex", lambda: classifier("scce").evaluate(X, LABELS + 0j), T,
     ["Y", "complex128"]),
    ("scce-wrong-shape", lambda: classifier("scce").evaluate(X, np.zeros((8, 2), int)), V,
     ["'scce'", "shape (8,)", "got Y of shape (8, 2)"]),
    ("cce-integer-labels", lambda: classifier().evaluate(X, LABELS), V,
     ["Y has shape (8,)", "(3,)", "use loss='scce'"]),
    ("targets-wrong-width", lambda: train(Y=np.zeros((8, 5))), V,
     ["Y has shape (8, 5)", "(m,) + (2,)", "width 5", "outputs 2"]),
    ("train-4d-quotes-caller-shape", lambda: train(X=np.zeros((5, 2, 3, 4)), Y=np.zeros((5, 2))), V,
     ["Dense 'dense_0'", "2-D or 3-D", "got shape (5, 2, 3, 4)"]),
    ("predict-batches-quote-caller-shape", lambda: regressor().predict(np.zeros((300, 2, 3, 4)),
                                                                      batch_size=100), V,
     ["2-D or 3-D", "got shape (300, 2, 3, 4)"]),
    ("lstm-2d-quotes-caller-shape", lambda: train(Model([LSTM(2)], seed=0)), V,
     ["LSTM 'lstm_0'", "3-D input (m, s, e)", "got shape (8, 3)"]),
    ("feature-count-changed", lambda: regressor().build(X).predict(np.zeros((2, 4))), V,
     ["built for inputs with n = 3 features", "got 4"]),
    ("embedding-complex-ids", lambda: Model([Embedding(5, 2), Dense(1)], seed=0)
     .predict(np.ones((2, 3)) + 1j), T, ["X", "integer token ids", "complex128"]),
    ("layer-call-complex", lambda: Dense(2, name="d")(X + 1j), T,
     ["Dense 'd'", "real numeric array", "complex128"]),
    ("layer-call-strings", lambda: Dense(2, name="d")(np.array([["1", "2"]])), T,
     ["Dense 'd'", "real numeric array", "<U1"]),
]

TRAINING = [
    ("train-epochs-zero", lambda: train(epochs=0), V, ["epochs", "positive integer", "got 0"]),
    ("train-epochs-str", lambda: train(epochs="3"), T,
     ["epochs", "positive integer", "'3' (str: pass the number itself, 3)"]),
    ("train-epochs-float", lambda: train(epochs=1.5), T, ["epochs", "positive integer", "1.5 (float)"]),
    ("train-epochs-none", lambda: train(epochs=None), T, ["epochs", "None (NoneType)"]),
    ("train-batch-zero", lambda: train(batch_size=0), V, ["batch_size", "positive integer", "0"]),
    ("train-batch-negative", lambda: train(batch_size=-1), V, ["batch_size", "positive", "-1"]),
    ("train-batch-str", lambda: train(batch_size="32"), T, ["batch_size", "'32' (str"]),
    ("train-batch-float", lambda: train(batch_size=2.0), T, ["batch_size", "2.0 (float)"]),
    ("predict-batch-zero", lambda: regressor().predict(X, batch_size=0), V,
     ["model.predict", "batch_size", "positive integer", "got 0"]),
    ("predict-batch-negative", lambda: regressor().predict(X, batch_size=-3), V,
     ["batch_size", "positive", "-3"]),
    ("predict-batch-float", lambda: regressor().predict(X, batch_size=1.5), T,
     ["batch_size", "integer", "1.5 (float)"]),
    ("predict-batch-str", lambda: regressor().predict(X, batch_size="8"), T,
     ["batch_size", "'8' (str"]),
    ("evaluate-batch-zero", lambda: regressor().evaluate(X, Y, batch_size=0), V,
     ["model.evaluate", "batch_size", "0"]),
    ("evaluate-batch-word", lambda: regressor().evaluate(X, Y, batch_size="all"), T,
     ["batch_size", "'all' (str)"]),
    ("train-validation_batch_size-zero", lambda: train(validation=(X, Y), validation_batch_size=0),
     V, ["validation_batch_size", "positive integer", "got 0"]),
    ("train-shuffle-str", lambda: train(shuffle="no"), T, ["shuffle", "True or False", "'no'"]),
    ("train-optimizer-lr-negative", lambda: train(with_lr(-0.1)), V,
     ["optimizer.lr", "finite number >= 0", "-0.1", "epoch 0"]),
    ("train-optimizer-lr-nan", lambda: train(with_lr(math.nan)), V, ["optimizer.lr", "nan"]),
    ("train-validation-not-pair", lambda: train(validation=X), V,
     ["validation must be (X, Y), (X, Y, mask)"]),
    ("schedule-negative", lambda: train(regressor(schedule=lambda e, lr: -0.1)), V,
     ["schedule <lambda>", "-0.1", "epoch 0", "finite number >= 0"]),
    ("schedule-nan", lambda: train(regressor(schedule=lambda e, lr: math.nan)), V,
     ["learning rate nan", "finite number >= 0"]),
    ("schedule-inf", lambda: train(regressor(schedule=lambda e, lr: math.inf)), V,
     ["learning rate inf", ">= 0"]),
    ("schedule-str", lambda: train(regressor(schedule=lambda e, lr: "0.1")), T,
     ["returned '0.1' (str", "finite number >= 0"]),
    ("schedule-none", lambda: train(regressor(schedule=lambda e, lr: None)), T,
     ["returned None (NoneType)", "epoch 0"]),
    ("schedule-negative-later", lambda: train(regressor(schedule=lambda e, lr: lr - 0.01 * e),
                                              epochs=3), V,
     ["at epoch 2", "-0.01", ">= 0"]),
]

SEQ2SEQ = [
    ("seq2seq-length-zero", lambda: trained_seq2seq().predict(XS, length=0), V,
     ["length", "positive integer", "got 0"]),
    ("seq2seq-length-negative", lambda: trained_seq2seq().predict(XS, length=-2), V,
     ["length", "positive integer", "-2"]),
    ("seq2seq-length-float", lambda: trained_seq2seq().predict(XS, length=2.5), T,
     ["length", "integer", "2.5 (float)"]),
    ("seq2seq-length-str", lambda: trained_seq2seq().decode(XS, length="3"), T,
     ["length", "'3' (str"]),
    ("seq2seq-no-length", lambda: seq2seq().predict(XS), V, ["output length", "length="]),
    ("seq2seq-start_id-negative", lambda: seq2seq(start_id=-1), V, ["start_id", ">= 0", "-1"]),
    ("seq2seq-start_id-str", lambda: seq2seq(start_id="0"), T, ["start_id", "'0' (str"]),
    ("seq2seq-start_id-too-big", lambda: seq2seq(start_id=4), V, ["start_id", "[0, 3]", "4"]),
    ("seq2seq-batch-zero", lambda: trained_seq2seq().predict(XS, batch_size=0), V,
     ["batch_size", "positive integer", "0"]),
    ("seq2seq-2d-quotes-caller-shape", lambda: seq2seq().train(X, LABELS[:, None], verbose=0), V,
     ["GRU 'gru_0'", "3-D input (m, s, e)", "got shape (8, 3)"]),
    ("seq2seq-mask-shape", lambda: trained_seq2seq().predict(XS, mask=np.ones((6, 2), bool)), V,
     ["mask", "(m, s) = (6, 4)", "(6, 2)"]),
]

DIVERGENCE = [
    ("diverged-nan-weight", lambda: train(with_nan_weight()), TrainingDiverged,
     ["epoch 1, batch 1", "dense_0'.W was already non-finite", "loaded or set"]),
    ("diverged-loss-overflow", lambda: train(Model(Dense(2), seed=0), X=X * 1e200),
     TrainingDiverged, ["the loss is inf", "outputs are finite, up to |A| = ",
                        "the loss itself overflowed", "finite data and weights"]),
    ("diverged-output-overflow", lambda: train(with_huge_weights(), X=X * 1e10),
     TrainingDiverged, ["first non-finite output: Dense", "finite data and weights",
                        "overflowed", "lower the learning rate"]),
    ("diverged-layer-lr-inf", lambda: train(with_layer_lr(math.inf)), TrainingDiverged,
     ["the update made", "Dense 'dense_0'.W non-finite", "learning rate inf is not finite"]),
    ("diverged-train_step-nan-input", lambda: regressor().build(X).train_step(
        np.full((2, 3), np.nan), np.zeros((2, 2))), TrainingDiverged,
     ["input X contains NaN or inf", "nothing was updated"]),
]

CASES = (CONSTRUCTION_LAYERS + HABITS + OPTIMIZERS + SCHEDULES + CALLBACKS + CLIPPING + MODEL
         + DATA + TRAINING + SEQ2SEQ + DIVERGENCE)


def test_the_table_is_large_and_its_ids_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 130
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("make, exception, parts", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_hostile_input_gets_an_error_naming_its_cause(make, exception, parts):
    with pytest.raises(exception) as info:
        make()
    message = str(info.value)
    missing = [part for part in parts if part not in message]
    assert not missing, f"{missing} not in: {message}"


def test_wrong_types_are_type_errors_that_old_value_error_handlers_still_catch():
    with pytest.raises(TypeError):
        SGD(lr="0.1")
    with pytest.raises(ValueError):
        SGD(lr="0.1")


def test_a_valid_schedule_still_sets_each_epochs_rate():
    model = regressor(schedule=lambda e, lr: lr / (1 + e))
    history = train(model, epochs=3)
    assert history["lr"] == pytest.approx([0.01, 0.005, 0.01 / 3])


# --------------------------------------------------------------------------- exact loss gradients
def _soft_rows(rng, m, n):
    """Rows of [0, 1] values whose sums are not 1: soft labels, smoothing, multi-hot, zeros."""
    Y = rng.uniform(0, 1, (m, n))
    Y[0] = 0.0                                         # an all-zero row
    Y[1] = np.eye(n)[0] * 0.9 + 0.1 / n                # label smoothing (sums to 1)
    Y[2] = np.where(np.arange(n) < 2, 1.0, 0.0)       # multi-hot (sums to 2)
    return Y


CCE_TARGETS = {"soft": _soft_rows, "one-hot": lambda rng, m, n: np.eye(n)[rng.integers(0, n, m)]}


@pytest.mark.parametrize("targets", sorted(CCE_TARGETS))
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused"])
def test_cce_gradient_is_exact_for_every_accepted_target(targets, fused):
    """The fused softmax gradient (A - Y) is exact only for rows summing to 1; the loss uses
    A sum(Y) - Y, the derivative of what it reports, for all of them."""
    rng = np.random.default_rng(1)
    model = Model([Dense(4, activation="tanh"), Dense(3, activation="softmax")], loss="cce",
                  seed=0)
    if not fused:
        model._fused = model.layers[-1].fused_output = False
    Xg, Yg = rng.standard_normal((6, 2)), CCE_TARGETS[targets](rng, 6, 3)
    assert gradcheck(model, Xg, Yg).worst < 1e-6


def test_cce_soft_targets_on_sequences_with_a_mask_and_a_temperature():
    rng = np.random.default_rng(2)
    model = Model([Dense(3, activation="softmax", activation_params={"temperature": 2.0})],
                  loss="cce", seed=0)
    Xg = rng.standard_normal((3, 4, 2))
    Yg = rng.uniform(0, 1, (3, 4, 3))
    mask = np.ones((3, 4), bool)
    mask[0, 2:] = False
    assert gradcheck(model, Xg, Yg, mask=mask).worst < 1e-6


def test_cce_all_zero_row_contributes_nothing_but_counts_in_the_mean():
    model = Model([Dense(3, activation="softmax")], loss="cce", seed=0)
    Xg = np.random.default_rng(3).standard_normal((2, 2))
    one_hot = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    with_zero = one_hot.copy()
    with_zero[1] = 0.0
    full = model.evaluate(Xg, one_hot)["loss"]
    model.build(Xg)
    first_only = -np.log(model.predict(Xg[:1])[0, 0])
    assert model.evaluate(Xg, with_zero)["loss"] == pytest.approx(first_only / 2, rel=1e-12)
    assert full > first_only / 2


@pytest.mark.parametrize("activation, fused", [("sigmoid", True), ("sigmoid", False),
                                               ("softmax", False)])
def test_bce_gradient_is_exact_for_soft_targets(activation, fused):
    rng = np.random.default_rng(4)
    model = Model([Dense(3, activation=activation)], loss="bce", seed=0)
    if not fused:
        model._fused = model.layers[-1].fused_output = False
    Yg = rng.uniform(0, 1, (5, 3))
    Yg[0] = [0.0, 1.0, 0.5]
    assert gradcheck(model, rng.standard_normal((5, 2)), Yg).worst < 1e-6


@pytest.mark.parametrize("labels", ["int", "whole-floats"])
def test_scce_gradient_is_exact_for_integer_labels(labels):
    rng = np.random.default_rng(5)
    model = Model([Dense(4, activation="tanh"), Dense(3, activation="softmax")], loss="scce",
                  seed=0)
    y = rng.integers(0, 3, 6)
    assert gradcheck(model, rng.standard_normal((6, 2)),
                     y if labels == "int" else y.astype(float)).worst < 1e-6


@pytest.mark.parametrize("loss, activation, low", [("mse", "identity", -5.0),
                                                    ("mae", "identity", -5.0),
                                                    ("msle", "softplus", -0.9)])
def test_regression_losses_are_exact_over_their_whole_target_range(loss, activation, low):
    """mse/mae take any finite target, msle any target > -1 (near the bound included)."""
    rng = np.random.default_rng(6)
    model = Model([Dense(3, activation=activation)], loss=loss, seed=0)
    Yg = rng.uniform(low, 5.0, (4, 3))
    assert gradcheck(model, rng.standard_normal((4, 2)), Yg).worst < 1e-6


def test_bce_unfused_gradient_is_zero_where_the_clip_flattens_the_value():
    from unrolled.framework.losses import BCE
    A = np.array([[0.0, 0.5, 1.0]])
    g = BCE().gradient(A, np.array([[1.0, 1.0, 0.0]]))
    assert g[0, 0] == 0.0 and g[0, 2] == 0.0 and g[0, 1] != 0.0
