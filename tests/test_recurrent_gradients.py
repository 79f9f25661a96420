"""Backpropagation through time is exact: every gradient of RNN, LSTM and GRU (both forms) agrees
with central finite differences (``unrolled.framework.gradcheck``, float64).

The reference is independent of the code under test: it only ever calls the forward pass. A
correct float64 backward scores about 1e-9; the bound is 1e-6 (see gradcheck's docstring). The
teaching test at the end shows the bound is sharp: the classic mistakes score above 1e-3.
"""
import numpy as np
import pytest

from unrolled.framework import Model, gradcheck
from unrolled.layers import GRU, LSTM, RNN, Dense

TOL = 1e-6
M, S, E, U = 3, 4, 2, 3     # samples, steps, features, units: small, so every check is fast

CELLS = {
    "rnn": lambda **kw: RNN(U, **kw),
    "lstm": lambda **kw: LSTM(U, **kw),
    "gru_reset_after": lambda **kw: GRU(U, reset_after=True, **kw),
    "gru_reset_before": lambda **kw: GRU(U, reset_after=False, **kw),
}


def _rng(seed):
    return np.random.default_rng(seed)


def _layer(cell, seed=0, **kwargs):
    layer = CELLS[cell](**kwargs).seed(seed)
    layer.dtype = np.dtype(np.float64)
    return layer


def _initial_states(layer, m=M, seed=11):
    """Random initial state(s): h0, and C0 for an LSTM (non-zero, so their gradients matter)."""
    rng = _rng(seed)
    states = {"h0": 0.5 * rng.standard_normal((m, U))}
    if isinstance(layer, LSTM):
        states["C0"] = rng.standard_normal((m, U))
    return states


def _randomize_biases(layer, X, seed=5):
    """Build the layer and give it non-zero biases (zeros would hide bias mistakes)."""
    layer(X)
    rng = _rng(seed)
    for name in ("b", "bh"):
        if name in layer.p:
            layer.p[name][...] = 0.3 * rng.standard_normal(layer.p[name].shape)


def _expected_keys(layer, states):
    keys = {f"{type(layer).__name__}.{k}" for k in ("U", "V")} | {"X"} | set(states)
    if layer.use_bias:
        keys.add(f"{type(layer).__name__}.b")
        if isinstance(layer, GRU) and layer.reset_after:
            keys.add("GRU.bh")
    return keys


# --------------------------------------------------------------------------- every cell
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_gradcheck_every_cell(cell, sequences, with_state):
    """dU, dV, db (and GRU's dbh), dX, dh0 (and LSTM's dC0) match finite differences, whether the
    output is every step or only the last, from a zero or a given initial state."""
    layer = _layer(cell, sequences=sequences)
    X = _rng(1).standard_normal((M, S, E))
    _randomize_biases(layer, X)
    states = _initial_states(layer) if with_state else {}
    result = gradcheck(layer, X, inputs=states)
    assert set(result) == _expected_keys(layer, states)
    assert result.worst < TOL, repr(result)


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_gradcheck_every_cell_without_bias(cell, masked):
    """use_bias=False: no b (nor GRU's bh), and dU, dV, dX, dh0 (and LSTM's dC0) are exact, with
    every step in the output, from a given initial state, with and without a mask."""
    layer = _layer(cell, sequences=True, use_bias=False)
    X = _rng(8).standard_normal((M, S, E))
    states = _initial_states(layer)
    result = gradcheck(layer, X, inputs=states, **({"mask": _padded_mask()} if masked else {}))
    assert set(layer.p) == {"U", "V"} and set(layer.g) == {"dU", "dV"}
    assert set(result) == _expected_keys(layer, states)
    assert result.worst < TOL, repr(result)


ACTIVATION_VARIANTS = {
    "rnn_elu": ("rnn", {"activation": "elu"}),
    "rnn_swish": ("rnn", {"activation": "swish"}),
    "rnn_softplus": ("rnn", {"activation": "softplus"}),
    "lstm_elu_hard_sigmoid_o": ("lstm", {"activation": "elu",
                                         "gate_activations": {"o": "hard_sigmoid"}}),
    "lstm_swish": ("lstm", {"activation": "swish"}),
    "lstm_swish_forget_gate": ("lstm", {"gate_activations": {"f": "swish"}}),
    "gru_reset_after_swish": ("gru_reset_after", {"activation": "swish"}),
    "gru_reset_before_swish": ("gru_reset_before", {"activation": "swish"}),
    "gru_reset_after_hard_sigmoid_gates": ("gru_reset_after", {"recurrent_activation": "hard_sigmoid"}),
    "gru_reset_before_softplus": ("gru_reset_before", {"activation": "softplus"}),
}


@pytest.mark.parametrize("sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("variant", list(ACTIVATION_VARIANTS))
def test_gradcheck_non_default_activations(variant, sequences):
    """Other activations, including swish, whose derivative needs the pre-activation that the
    layer must then keep."""
    cell, kwargs = ACTIVATION_VARIANTS[variant]
    layer = _layer(cell, sequences=sequences, **kwargs)
    X = _rng(2).standard_normal((M, S, E))
    _randomize_biases(layer, X)
    result = gradcheck(layer, X, inputs=_initial_states(layer))
    assert result.worst < TOL, repr(result)


def test_gradcheck_rnn_relu():
    """ReLU recurrence (the Elman cell of nn.RNN(nonlinearity='relu')); positive biases keep the
    pre-activations away from the kink at 0, where finite differences are meaningless."""
    layer = _layer("rnn", sequences=True, activation="relu")
    X = _rng(3).standard_normal((M, S, E))
    layer(X)
    layer.p["b"][...] = 0.05
    layer(X, h0=np.full((M, U), 0.1))
    assert np.min(np.abs(layer.fc["Z"])) > 1e-4      # no pre-activation sits on the kink
    result = gradcheck(layer, X, inputs={"h0": np.full((M, U), 0.1)})
    assert result.worst < TOL, repr(result)


# --------------------------------------------------------------------------- masks
def _padded_mask(m=M, s=S):
    """Post-padded lengths s, 1, s - 1 ... (one sequence of a single step)."""
    lengths = [s, 1, s - 1, 2, s][:m]
    return np.arange(s)[None, :] < np.array(lengths)[:, None]


@pytest.mark.parametrize("sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_gradcheck_with_mask(cell, sequences):
    """Padded batch: the masked forward is a function like any other, and its gradient (including
    the gradient that flows across padded steps to the last real state) is exact."""
    layer = _layer(cell, sequences=sequences)
    X = _rng(4).standard_normal((M, S, E))
    _randomize_biases(layer, X)
    mask = _padded_mask()
    result = gradcheck(layer, X, mask=mask, inputs=_initial_states(layer))
    assert result.worst < TOL, repr(result)


def test_gradcheck_with_pre_padding_mask():
    """Padding at the start of a sequence (state held at h0 until the first real step)."""
    layer = _layer("lstm", sequences=False)
    X = _rng(5).standard_normal((M, S, E))
    _randomize_biases(layer, X)
    mask = np.array([[False, False, True, True], [True] * 4, [False, True, True, True]])
    result = gradcheck(layer, X, mask=mask, inputs=_initial_states(layer))
    assert result.worst < TOL, repr(result)


# --------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("cell", list(CELLS))
def test_gradcheck_with_dropout_and_recurrent_dropout(cell):
    """Variational dropout on x_t and on h_{t-1}: gradcheck rewinds the layer's generator, so the
    same masks are drawn on every evaluation and the function is differentiable."""
    layer = _layer(cell, sequences=True, dropout=0.3, recurrent_dropout=0.4, seed=7)
    X = _rng(6).standard_normal((M, S, E))
    _randomize_biases(layer, X)
    result = gradcheck(layer, X, inputs=_initial_states(layer))
    # masks were really drawn (training mode) and really drop something
    assert layer.fc["dropout_mask"] is not None and layer.fc["recurrent_dropout_mask"] is not None
    assert (layer.fc["dropout_mask"] == 0).any() and (layer.fc["recurrent_dropout_mask"] == 0).any()
    assert result.worst < TOL, repr(result)


# --------------------------------------------------------------------------- through a model
def test_gradcheck_model_lstm_gru_dense_softmax_cce():
    """LSTM(sequences) -> GRU -> Dense(softmax) trained with cross-entropy: gradients of every layer
    and of the input, through the fused softmax/cce output and two recurrent layers."""
    model = Model([LSTM(U, sequences=True), GRU(4), Dense(3, activation="softmax")],
                  loss="cce", seed=3)
    rng = _rng(8)
    X = rng.standard_normal((M, S, E))
    Y = np.eye(3)[rng.integers(0, 3, M)]
    model.build(X)
    for layer in model.layers:
        layer.p["b"][...] += 0.2 * rng.standard_normal(layer.p["b"].shape)
    result = gradcheck(model, X, Y)
    assert {"lstm_0.U", "lstm_0.V", "lstm_0.b", "gru_1.U", "gru_1.V", "gru_1.b", "gru_1.bh",
            "dense_2.W", "dense_2.b", "X"} == set(result)
    assert result.worst < TOL, repr(result)


def test_gradcheck_model_with_mask_and_sequence_loss():
    """Many-to-many with a padded batch: masked loss, masked recurrent layers."""
    model = Model([GRU(U, sequences=True), LSTM(U, sequences=True), Dense(2, activation="tanh")],
                  loss="mse", seed=4)
    rng = _rng(9)
    X = rng.standard_normal((M, S, E))
    Y = rng.standard_normal((M, S, 2))
    result = gradcheck(model, X, Y, mask=_padded_mask())
    assert result.worst < TOL, repr(result)


# --------------------------------------------------------------------------- teaching test
class RNNWeightsFromPostActivation(RNN):
    """A deliberately WRONG RNN, the error found in circulating notes: the parameter gradients (and
    dX) use dL/dh_t, the gradient AFTER the activation, instead of dL/dz_t = act'(z_t) * dL/dh_t.
    (The recurrence itself is right, so the mistake hides in the weight updates.)"""

    def backward_steps(self, dAt, dZt, dHt, maskT):
        V, act = self.p["V"], self.activation
        Ht, Zt = self.fc["_Ht"], self.fc["_Zt"]
        dh_next = np.zeros_like(Ht[0])
        for t in reversed(range(self.d["s"])):
            dh = np.add(dAt[t], dh_next, out=dHt[t])
            dz = act.backward(dh, Ht[t + 1], Zt[t])
            dZt[t] = dh                                  # WRONG: should be dz
            dh_next = dz @ V.T
        self.bc["dh0"] = dh_next


class RNNSwappedWeightsInHiddenDelta(RNN):
    """A deliberately WRONG RNN: the gradient to h_{t-1} goes through the input weights U instead of
    the recurrent weights V (dh_{t-1} = dz_t U^T), a swap that type-checks when e == u."""

    def backward_steps(self, dAt, dZt, dHt, maskT):
        Uw, act = self.p["U"], self.activation
        Ht, Zt = self.fc["_Ht"], self.fc["_Zt"]
        dh_next = np.zeros_like(Ht[0])
        for t in reversed(range(self.d["s"])):
            dh = np.add(dAt[t], dh_next, out=dHt[t])
            dZt[t] = act.backward(dh, Ht[t + 1], Zt[t])
            dh_next = dZt[t] @ Uw.T                      # WRONG: should be V^T
        self.bc["dh0"] = dh_next


@pytest.mark.parametrize("wrong_cls", [RNNWeightsFromPostActivation, RNNSwappedWeightsInHiddenDelta])
def test_gradcheck_catches_the_classic_bptt_mistakes(wrong_cls):
    """The same weights, the same input: the real RNN passes, the wrong copies fail by a wide
    margin (errors of order 1, not 1e-6), so a passing gradcheck means something."""
    X = _rng(10).standard_normal((M, S, U))            # e == u so that the swap type-checks
    real = RNN(U, sequences=True).seed(0)
    wrong = wrong_cls(U, sequences=True).seed(0)
    for layer in (real, wrong):
        layer.dtype = np.dtype(np.float64)
        layer(X)
    rng = _rng(12)
    for name in real.p:                                 # U != V, so the swap is visible
        real.p[name][...] = 0.8 * rng.standard_normal(real.p[name].shape)
        np.copyto(wrong.p[name], real.p[name])
    h0 = {"h0": 0.5 * _rng(13).standard_normal((M, U))}
    good, bad = gradcheck(real, X, inputs=h0), gradcheck(wrong, X, inputs=h0)
    assert good.worst < TOL, repr(good)
    assert bad.worst > 1e-3, repr(bad)
