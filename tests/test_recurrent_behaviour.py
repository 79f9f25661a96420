"""What RNN, LSTM and GRU promise besides exact gradients: the documented caches and their shapes,
masks (a padded batch behaves as each sequence alone), stateful carries, dtype, errors, gradient
clipping, and learning a 40-step dependency.

Reference values come from outside the code under test: the cell equations written out here in
NumPy, the same layer run on unpadded single sequences, or the definition of the clipping rule.
"""
import os
import time

import numpy as np
import pytest
from scipy.special import expit

from unrolled.framework import SGD, Model, clipping
from unrolled.layers import GRU, LSTM, RNN, Dense

try:
    from unrolled.framework.optimizers import Adam
except ImportError:      # Adam is optional for these tests: SGD with momentum must do as well
    Adam = None

M, S, E, U = 3, 5, 2, 4

CELLS = {
    "rnn": lambda **kw: RNN(U, **kw),
    "lstm": lambda **kw: LSTM(U, **kw),
    "gru_reset_after": lambda **kw: GRU(U, reset_after=True, **kw),
    "gru_reset_before": lambda **kw: GRU(U, reset_after=False, **kw),
}
GATES = {"rnn": 1, "lstm": 4, "gru_reset_after": 3, "gru_reset_before": 3}


def _rng(seed):
    return np.random.default_rng(seed)


def _layer(cell, dtype=np.float64, seed=0, **kwargs):
    layer = CELLS[cell](**kwargs).seed(seed)
    layer.dtype = np.dtype(dtype)
    return layer


def _states(layer, m=M, seed=3, dtype=np.float64):
    rng = _rng(seed)
    states = {"h0": (0.5 * rng.standard_normal((m, U))).astype(dtype)}
    if isinstance(layer, LSTM):
        states["C0"] = rng.standard_normal((m, U)).astype(dtype)
    return states


def _randomize(layer, X, seed=1, scale=0.5):
    """Build the layer and give it random parameters (biases included)."""
    layer(X)
    rng = _rng(seed)
    for name, value in layer.p.items():
        value[...] = scale * rng.standard_normal(value.shape)


def _forward_backward(layer, X, R, **kwargs):
    A = layer(X, **kwargs).copy()
    dX = layer.backward(R).copy()
    layer.compute_gradients()
    return A, dX, {k: v.copy() for k, v in layer.g.items()}


# --------------------------------------------------------------------------- caches
@pytest.mark.parametrize("sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_documented_cache_shapes(cell, sequences):
    layer = _layer(cell, sequences=sequences)
    X = _rng(0).standard_normal((M, S, E))
    _randomize(layer, X)
    states = _states(layer)
    A = layer(X, **states)
    G = GATES[cell]
    assert A.shape == ((M, S, U) if sequences else (M, U))
    assert layer.fc["X"].shape == (M, S, E)
    for key in ("h", "hp"):
        assert layer.fc[key].shape == (M, S, U), key
    assert layer.fc["hT"].shape == (M, U)
    np.testing.assert_array_equal(layer.fc["hp"][:, 0], states["h0"])
    np.testing.assert_array_equal(layer.fc["hp"][:, 1:], layer.fc["h"][:, :-1])
    np.testing.assert_array_equal(layer.fc["hT"], layer.fc["h"][:, -1])
    if cell == "rnn":
        assert layer.fc["Z"].shape == (M, S, U)
    if cell == "lstm":
        assert layer.fc["gates"].shape == (M, S, 4 * U)
        for k, name in enumerate("ifgo"):
            assert layer.fc[name].shape == (M, S, U), name
            np.testing.assert_array_equal(layer.fc[name], layer.fc["gates"][:, :, k * U:(k + 1) * U])
        for key in ("C", "Cp", "tC"):
            assert layer.fc[key].shape == (M, S, U), key
        np.testing.assert_array_equal(layer.fc["Cp"][:, 0], states["C0"])
        assert layer.fc["CT"].shape == (M, U)
    if cell.startswith("gru"):
        assert layer.fc["gates"].shape == (M, S, 3 * U)
        for k, name in enumerate("run"):
            assert layer.fc[name].shape == (M, S, U), name
            np.testing.assert_array_equal(layer.fc[name], layer.fc["gates"][:, :, k * U:(k + 1) * U])
        assert layer.fc["hn" if layer.reset_after else "rh"].shape == (M, S, U)

    R = _rng(1).standard_normal(A.shape)
    dX = layer.backward(R)
    layer.compute_gradients()
    assert dX.shape == (M, S, E)
    np.testing.assert_array_equal(layer.bc["dX"], dX)
    assert layer.bc["dh"].shape == (M, S, U)
    assert layer.bc["dZ"].shape == (M, S, G * U)
    assert layer.bc["dh0"].shape == (M, U)
    if cell == "lstm":
        assert layer.bc["dC"].shape == (M, S, U)
        assert layer.bc["dC0"].shape == (M, U)
    # the last step's dh is the output gradient only (no future step)
    np.testing.assert_array_equal(layer.bc["dh"][:, -1], R[:, -1] if sequences else R)
    assert set(layer.g) == {"d" + k for k in layer.p}
    for name, value in layer.p.items():
        assert layer.g["d" + name].shape == value.shape, name


@pytest.mark.parametrize("cell", list(CELLS))
def test_sequences_false_returns_the_last_state(cell):
    """sequences=False returns fc["h"][:, -1], the last step of what sequences=True returns."""
    X = _rng(2).standard_normal((M, S, E))
    both = [_layer(cell, sequences=flag) for flag in (False, True)]
    for layer in both:
        _randomize(layer, X)
    last, every = (layer(X, **_states(layer)).copy() for layer in both)
    np.testing.assert_array_equal(last, both[0].fc["h"][:, -1])
    np.testing.assert_array_equal(last, every[:, -1])


def test_cells_follow_their_equations():
    """One step of each cell against the textbook equations written out here (PyTorch's forms)."""
    rng = _rng(4)
    X = rng.standard_normal((M, 1, E))
    h0 = rng.standard_normal((M, U))
    C0 = rng.standard_normal((M, U))
    x = X[:, 0]

    rnn = _layer("rnn", sequences=True)
    _randomize(rnn, X)
    Up, Vp, b = rnn.p["U"], rnn.p["V"], rnn.p["b"]
    np.testing.assert_allclose(rnn(X, h0=h0)[:, 0], np.tanh(x @ Up + h0 @ Vp + b), rtol=1e-13)

    lstm = _layer("lstm", sequences=True)
    _randomize(lstm, X)
    z = x @ lstm.p["U"] + h0 @ lstm.p["V"] + lstm.p["b"]
    i, f, g, o = expit(z[:, :U]), expit(z[:, U:2 * U]), np.tanh(z[:, 2 * U:3 * U]), expit(z[:, 3 * U:])
    C = f * C0 + i * g
    np.testing.assert_allclose(lstm(X, h0=h0, C0=C0)[:, 0], o * np.tanh(C), rtol=1e-13)
    np.testing.assert_allclose(lstm.fc["CT"], C, rtol=1e-13)

    for reset_after in (True, False):
        gru = _layer("gru_reset_after" if reset_after else "gru_reset_before", sequences=True)
        _randomize(gru, X)
        Ug, Vg, bg = gru.p["U"], gru.p["V"], gru.p["b"]
        xz = x @ Ug + bg
        r = expit(xz[:, :U] + h0 @ Vg[:, :U])
        u = expit(xz[:, U:2 * U] + h0 @ Vg[:, U:2 * U])
        if reset_after:
            n = np.tanh(xz[:, 2 * U:] + r * (h0 @ Vg[:, 2 * U:] + gru.p["bh"]))
        else:
            n = np.tanh(xz[:, 2 * U:] + (r * h0) @ Vg[:, 2 * U:])
        np.testing.assert_allclose(gru(X, h0=h0)[:, 0], (1 - u) * n + u * h0, rtol=1e-13,
                                   err_msg=f"reset_after={reset_after}")


# --------------------------------------------------------------------------- masks (issue 6)
LENGTHS = [5, 2, 4, 1]


def _padded_batch(padding, seed=5):
    """Sequences of LENGTHS padded to S steps with large garbage values (which must not matter)."""
    rng = _rng(seed)
    m = len(LENGTHS)
    X = 100.0 * rng.standard_normal((m, S, E))
    mask = np.zeros((m, S), dtype=bool)
    for k, n in enumerate(LENGTHS):
        real = slice(0, n) if padding == "post" else slice(S - n, S)
        mask[k, real] = True
        X[k, real] = rng.standard_normal((n, E))
    return X, mask


@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_padded_batch_equals_each_sequence_alone(cell, sequences, padding):
    """Issue 6: with a mask, a padded batch gives exactly the outputs, dX, dh0 (dC0) of running
    each sequence alone, and the parameter gradients are the sums of the single-sequence ones.
    Padded steps get zero dX; the upstream gradient is zero there (as a masked loss makes it)."""
    m = len(LENGTHS)
    X, mask = _padded_batch(padding)
    layer = _layer(cell, sequences=sequences)
    _randomize(layer, X[:, :1])
    states = _states(layer, m=m)
    R = _rng(6).standard_normal((m, S, U) if sequences else (m, U))
    if sequences:
        R = R * mask[:, :, None]
    A, dX, grads = _forward_backward(layer, X, R, mask=mask, **states)
    dstates = {k: layer.bc["d" + k].copy() for k in states}

    summed = {k: np.zeros_like(v) for k, v in grads.items()}
    for k in range(m):
        real = mask[k]
        x_alone = X[k:k + 1, real]
        s_alone = {name: value[k:k + 1] for name, value in states.items()}
        r_alone = R[k:k + 1, real] if sequences else R[k:k + 1]
        a1, dx1, g1 = _forward_backward(layer, x_alone, r_alone, **s_alone)
        for name in summed:
            summed[name] += g1[name]
        a_batch = A[k:k + 1, real] if sequences else A[k:k + 1]
        np.testing.assert_allclose(a_batch, a1, rtol=1e-12, atol=1e-15, err_msg=f"output {k}")
        np.testing.assert_allclose(dX[k:k + 1, real], dx1, rtol=1e-10, atol=1e-14,
                                   err_msg=f"dX {k}")
        np.testing.assert_array_equal(dX[k, ~real], 0.0)
        for name in states:
            np.testing.assert_allclose(dstates[name][k:k + 1], layer.bc["d" + name],
                                       rtol=1e-10, atol=1e-14, err_msg=f"d{name} {k}")
    for name in grads:
        np.testing.assert_allclose(grads[name], summed[name], rtol=1e-10, atol=1e-13,
                                   err_msg=name)


@pytest.mark.parametrize("options", [{}, {"masked": True}, {"recurrent_dropout": 0.3},
                                     {"activation": "swish"}, {"dtype": np.float32},
                                     {"dropout": 0.2, "final_state_gradients": True}],
                         ids=["plain", "masked", "recurrent_dropout", "swish", "float32",
                              "dropout_dhT"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_backward_in_chunks_and_lean_equal_all_steps_at_once(cell, options):
    """The backward loop prepares its step-independent factors a chunk of steps at a time
    (Recurrent.backward_chunks), and with lean=True writes the gradients over the forward caches
    it has read for the last time. Neither changes the arithmetic: one step per chunk, and lean
    with either chunking, give bit-identical outputs, gradients and per-step backward caches to
    one chunk of all steps. (swish: an activation whose derivative reads z, which a lean RNN
    overwrites.)"""
    options = dict(options)
    masked = options.pop("masked", False)
    dtype = options.pop("dtype", np.float64)
    final = options.pop("final_state_gradients", False)   # dhT (and dCT) from a state consumer
    X = _rng(8).standard_normal((M, S, E)).astype(dtype)
    mask = np.ones((M, S), dtype=bool)
    mask[0, 3:] = False
    mask[2, 4:] = False
    results = []
    for chunk_bytes, lean in ((1 << 40, False), (1, False), (1, True), (1 << 40, True)):
        layer = _layer(cell, dtype=dtype, sequences=True, lean=lean, **options)
        layer.input_gradient = True
        _randomize(layer, X)
        layer.training = True
        layer.rng = _rng(4)                       # the same dropout masks in every run
        layer.chunk_bytes = chunk_bytes
        R = _rng(9).standard_normal((M, S, U)).astype(dtype)
        kwargs = {"mask": mask} if masked else {}
        A = layer(X, **kwargs, **_states(layer, dtype=dtype)).copy()
        finals = {}
        if final:
            finals = {name: _rng(10 + i).standard_normal((M, U)).astype(dtype)
                      for i, name in enumerate(("dhT", "dCT")[:len(layer.state_names)])}
        dX = layer.backward(R, **finals).copy()
        layer.compute_gradients()
        grads = {k: v.copy() for k, v in layer.g.items()}
        kept = [k for k in ("dh", "dZ", "dh0", "dC", "dC0", "dhn") if k in layer.bc]
        assert (layer.bc["dh"] is None) == lean   # lean keeps dh_t only during step t
        kept = [k for k in kept if k != "dh" or not lean]
        results.append((A, dX, grads, {k: np.copy(layer.bc[k]) for k in kept}))
        # lean caps a chunk at an eighth of the steps (its copies are extra memory)
        chunks = 1 if not lean else len(range(0, S, -(-S // 8)))
        assert len(list(layer.backward_chunks(1))) == (chunks if chunk_bytes > 1 else S)
    A1, dX1, g1, b1 = results[0]
    for A2, dX2, g2, b2 in results[1:]:
        np.testing.assert_array_equal(A1, A2)
        np.testing.assert_array_equal(dX1, dX2)
        assert g1.keys() == g2.keys() and b2.keys() <= b1.keys() and "dZ" in b2
        for key in g1:
            np.testing.assert_array_equal(g1[key], g2[key])
        for key in b2:
            np.testing.assert_array_equal(b1[key], b2[key])


@pytest.mark.parametrize("cell", list(CELLS))
def test_lean_backward_overwrites_the_gate_caches_and_says_so(cell):
    """lean=True: the gradients live in the memory of the gate activations (no separate dZ), the
    overwritten fc entries and bc["dh"] are None after backward, and a second backward without a
    new forward is an error that names the layer, not gradients computed from gradients."""
    X = _rng(8).standard_normal((M, S, E))
    layer = _layer(cell, sequences=True, lean=True)
    _randomize(layer, X)
    R = _rng(9).standard_normal((M, S, U))
    layer(X)
    gate_memory = layer.fc["_Zt"]
    readable = {k: layer.fc[k] for k in ("h", "hp", "X")}
    layer.backward(R)
    assert np.shares_memory(layer.bc["dZ"], gate_memory)
    expected_spent = {"rnn": {"Z"}, "lstm": {"gates", "i", "f", "g", "o", "tC"},
                      "gru_reset_after": {"gates", "r", "u", "n", "hn"},
                      "gru_reset_before": {"gates", "r", "u", "n"}}[cell]
    assert {k for k, v in layer.fc.items() if v is None and not k.startswith("_")} >= expected_spent
    assert layer.bc["dh"] is None and layer.bc["dZ"].shape == (M, S, GATES[cell] * U)
    for key, value in readable.items():       # what the parameter gradients read stays
        assert layer.fc[key] is value, key
    with pytest.raises(RuntimeError, match=layer.label + ".*new, complete forward pass"):
        layer.backward(R)
    layer(X)
    assert layer.fc["gates" if cell != "rnn" else "Z"] is not None
    layer.backward(R)                         # a new forward makes backward valid again

    plain = _layer(cell, sequences=True)
    _randomize(plain, X)
    plain(X)
    plain.backward(R)
    plain.backward(R)                         # without lean, backward may be repeated
    assert not np.shares_memory(plain.bc["dZ"], plain.fc["_Zt"])


@pytest.mark.parametrize("lean", [False, True])
def test_backward_after_a_failed_forward_is_an_error(lean):
    """A forward pass that stops on bad input has already overwritten part of the caches: a
    backward pass after it raises instead of returning gradients of a half-finished pass."""
    X = _rng(8).standard_normal((M, S, E))
    layer = _layer("lstm", sequences=True, lean=lean)
    _randomize(layer, X)
    R = np.ones((M, S, U))
    layer(X)
    layer.backward(R)
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(X, mask=np.ones((M, S + 1), dtype=bool))
    with pytest.raises(RuntimeError, match=layer.label + ".*new, complete forward pass"):
        layer.backward(R)


def test_gradient_norms_through_time_refuses_a_lean_layer():
    """The per-step dh that the diagnostic reads is not kept by a lean layer: a clear error that
    says what to do, not a crash on None."""
    from unrolled.framework.diagnostics import gradient_norms_through_time
    X = _rng(8).standard_normal((M, S, E))
    Y = _rng(9).standard_normal((M, 2))
    model = Model([LSTM(U, lean=True), Dense(2)], loss="mse", seed=0)
    with pytest.raises(ValueError, match="lean=True.*layer.lean = False"):
        gradient_norms_through_time(model, X, Y)
    model.layers[0].lean = False
    assert gradient_norms_through_time(model, X, Y).shape == (S,)


@pytest.mark.parametrize("cell", ["lstm", "gru_reset_after"])
def test_lean_training_step_allocates_less(cell):
    """The point of lean=True, measured with tracemalloc (memory is deterministic, unlike time):
    a training step of a lean model peaks at least the size of dZ (s, m, G u) and dh (s, m, u)
    lower than the same step of the default model (whose dC or dn*r the lean one does not keep
    either, while it holds a copy of one chunk of steps), and both models end with the same
    weights."""
    import tracemalloc
    m, s, e, u = 16, 40, 3, 24
    X = _rng(1).standard_normal((m, s, e))
    Y = _rng(2).standard_normal((m, 2))
    peaks, weights = [], []
    for lean in (False, True):
        tracemalloc.start()                   # from before the model: its reused caches count
        try:
            layer = LSTM(u, lean=lean) if cell == "lstm" else GRU(u, lean=lean)
            layer.chunk_bytes = 1 << 13       # chunks of a few steps: a small lean scratch
            model = Model([layer, Dense(2)], loss="mse", seed=0)
            model.train_step(X, Y)
            tracemalloc.reset_peak()
            model.train_step(X, Y)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        weights.append(model.get_weights())
    dz_dh_bytes = s * m * (GATES[cell] + 1) * u * 8
    assert peaks[0] - peaks[1] >= dz_dh_bytes, (peaks, dz_dh_bytes)
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key], weights[1][key])


@pytest.mark.parametrize("cell", list(CELLS))
def test_padded_steps_hold_the_state(cell):
    """On padded steps the state is carried unchanged (sequences=True shows it at every step)."""
    X, mask = _padded_batch("post")
    layer = _layer(cell, sequences=True)
    _randomize(layer, X[:, :1])
    A = layer(X, mask=mask)
    for k, n in enumerate(LENGTHS):
        for t in range(n, S):
            np.testing.assert_array_equal(A[k, t], A[k, n - 1])
    np.testing.assert_array_equal(layer.fc["hT"], A[:, -1])


def test_model_with_mask_ignores_padding():
    """Through a Model: padded positions change neither the loss nor any gradient."""
    X, mask = _padded_batch("post")
    Y = _rng(7).standard_normal((len(LENGTHS), S, 2))
    model = Model([LSTM(U, sequences=True), Dense(2)], loss="mse", seed=0)
    loss1, _ = model.compute_loss_and_gradients(X, Y, mask)
    g1 = {f"{l.name}/{k}": v.copy() for l in model.layers for k, v in l.g.items()}
    X2, Y2 = X.copy(), Y.copy()
    X2[~mask] = -X2[~mask] + 3.0
    Y2[~mask] = 7.0
    loss2, _ = model.compute_loss_and_gradients(X2, Y2, mask)
    g2 = {f"{l.name}/{k}": v.copy() for l in model.layers for k, v in l.g.items()}
    assert loss1 == pytest.approx(loss2, rel=1e-13)
    for key in g1:
        np.testing.assert_allclose(g1[key], g2[key], rtol=1e-12, atol=1e-15, err_msg=key)


# --------------------------------------------------------------------------- stateful
@pytest.mark.parametrize("cell", list(CELLS))
def test_stateful_halves_equal_the_full_sequence(cell):
    X = _rng(8).standard_normal((M, 2 * S, E))
    full = _layer(cell, sequences=True)
    _randomize(full, X)
    expected = full(X).copy()
    expected_T = [v.copy() for v in full.state]

    carried = _layer(cell, sequences=True, stateful=True)
    _randomize(carried, X)
    carried.reset_state()            # _randomize ran it once: forget that run's state
    first = carried(X[:, :S]).copy()
    second = carried(X[:, S:]).copy()
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), expected,
                               rtol=1e-13, atol=1e-15)
    for got, want in zip(carried.state, expected_T):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)

    # reset_state forgets: the next batch starts from zeros again
    carried.reset_state()
    np.testing.assert_array_equal(carried(X[:, :S]), first)
    # an explicit initial state wins over the carried one
    h0 = np.zeros((M, U))
    kwargs = {"h0": h0, "C0": np.zeros((M, U))} if cell == "lstm" else {"h0": h0}
    np.testing.assert_array_equal(carried(X[:, :S], **kwargs), first)


@pytest.mark.parametrize("cell", list(CELLS))
def test_stateful_layer_refuses_a_new_batch_size_until_reset(cell):
    """A carried state continues row i of the last batch in row i of the next one: a batch of
    another size is an error naming the layer, both sizes and the way out, not a silent restart
    from zeros. ``carried`` is a public {state name: (m, u) array} dictionary."""
    X = _rng(8).standard_normal((M, S, E))
    layer = _layer(cell, sequences=True, stateful=True)
    _randomize(layer, X)
    assert set(layer.carried) == set(layer.state_names)
    for name in layer.state_names:
        np.testing.assert_array_equal(layer.carried[name], layer.fc[name + "T"])
    with pytest.raises(ValueError, match=rf"{layer.label}.*batches of {M} sequences.*batch of "
                                         rf"{M - 1}.*reset_state\(\).*reset_states\(\)"):
        layer(X[:M - 1])
    layer.reset_state()
    fresh = _layer(cell, sequences=True)
    _randomize(fresh, X)
    np.testing.assert_array_equal(layer(X[:M - 1]), fresh(X[:M - 1]))   # from zeros again


def test_non_stateful_layer_does_not_carry():
    layer = _layer("lstm", sequences=True)
    X = _rng(9).standard_normal((M, S, E))
    _randomize(layer, X)
    first = layer(X).copy()
    np.testing.assert_array_equal(layer(X), first)


# --------------------------------------------------------------------------- dtype
@pytest.mark.parametrize("cell", list(CELLS))
def test_float32_layer_stays_float32(cell):
    """No silent upcast: every float array in fc, bc, g and p is float32, with masks, dropout,
    given initial states (passed as float64) and swish (which keeps pre-activations)."""
    kwargs = {} if cell == "rnn" else {"activation": "swish"}
    layer = _layer(cell, dtype=np.float32, sequences=True, dropout=0.2, recurrent_dropout=0.3,
                   **kwargs)
    layer.training = True
    X = _rng(10).standard_normal((M, S, E)).astype(np.float32)
    mask = np.ones((M, S), dtype=bool)
    mask[1, 3:] = False
    states = _states(layer, dtype=np.float64)
    A = layer(X, mask=mask, **states)
    dX = layer.backward(np.ones_like(A))
    layer.compute_gradients()
    assert A.dtype == np.float32 and dX.dtype == np.float32
    seen = 0
    for store in ("fc", "bc", "g", "p"):
        for key, value in getattr(layer, store).items():
            if isinstance(value, np.ndarray) and value.dtype != bool:
                assert value.dtype == np.float32, f"{store}[{key!r}] is {value.dtype}"
                seen += 1
    assert seen > 15


def test_float32_matches_float64():
    X = _rng(11).standard_normal((M, S, E))
    l64, l32 = _layer("lstm", sequences=True), _layer("lstm", np.float32, sequences=True)
    _randomize(l64, X)
    l32(X.astype(np.float32))
    for name in l64.p:
        l32.p[name][...] = l64.p[name]
    np.testing.assert_allclose(l32(X.astype(np.float32)), l64(X), rtol=0, atol=1e-5)


def test_float32_model_gradients_stay_float32():
    model = Model([GRU(U, sequences=True), LSTM(U), Dense(2, activation="softmax")],
                  loss="cce", dtype="float32", seed=0)
    # compute_loss_and_gradients takes inputs already converted to the model's dtype
    X = _rng(12).standard_normal((M, S, E)).astype(np.float32)
    Y = np.eye(2, dtype=np.float32)[[0, 1, 0]]
    loss, A = model.compute_loss_and_gradients(X, Y)
    assert A.dtype == np.float32
    for layer in model.layers:
        for key, value in layer.g.items():
            assert value.dtype == np.float32, f"{layer.name}.{key}"


def test_float32_model_with_hard_sigmoid_output_stays_float32():
    """hard_sigmoid's derivative is a Python float times a boolean array: it must not turn the
    float32 gradients into float64 (it once did)."""
    model = Model([LSTM(U), Dense(2, activation="hard_sigmoid")], loss="mse", dtype="float32",
                  seed=0)
    X = _rng(13).standard_normal((M, S, E)).astype(np.float32)
    model.compute_loss_and_gradients(X, _rng(14).random((M, 2)).astype(np.float32))
    dense = model.layers[-1]
    assert dense.bc["dZ"].dtype == np.float32
    assert dense.g["dW"].dtype == np.float32


# --------------------------------------------------------------------------- errors
def test_clear_errors():
    lstm = _layer("lstm")
    with pytest.raises(ValueError, match=r"3-D input \(m, s, e\).*\(4, 2\)"):
        lstm(np.zeros((4, 2)))
    X = np.zeros((M, S, E))
    lstm(X)
    with pytest.raises(ValueError, match=r"h0 must have shape \(m, u\) = \(3, 4\), got \(3, 5\)"):
        lstm(X, h0=np.zeros((M, 5)))
    with pytest.raises(ValueError, match=r"C0 must have shape \(m, u\) = \(3, 4\), got \(2, 4\)"):
        lstm(X, C0=np.zeros((2, U)))
    with pytest.raises(ValueError, match=r"mask must have shape \(m, s\) = \(3, 5\), got \(3, 4\)"):
        lstm(X, mask=np.ones((M, S - 1), dtype=bool))
    with pytest.raises(ValueError, match="built for inputs with e = 2 features, got 3"):
        lstm(np.zeros((M, S, 3)))
    with pytest.raises(ValueError, match="at least one step"):
        lstm(np.zeros((M, 0, E)))
    with pytest.raises(ValueError, match=r"dA of shape \(3, 4\)"):
        lstm.backward(np.zeros((M, S, U)))
    for bad in (0, -2, 2.5, "4", None):
        with pytest.raises(ValueError, match="units must be a positive integer"):
            LSTM(bad)
    for option in ("dropout", "recurrent_dropout"):
        for rate in (1.0, -0.1, 1.5):
            with pytest.raises(ValueError, match=f"{option} must be a finite number >= 0 and < 1"):
                GRU(3, **{option: rate})
    with pytest.raises(ValueError, match="unknown activation"):
        RNN(3, activation="sigmoidal")
    with pytest.raises(ValueError, match="gate_activations keys"):
        LSTM(3, gate_activations={"c": "tanh"})
    with pytest.raises(ValueError, match="elementwise activations, got 'softmax'"):
        LSTM(3, gate_activations={"o": "softmax"})
    with pytest.raises(ValueError, match="elementwise activations, got 'softmax'"):
        RNN(3, activation="softmax")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gates", [
    ("sigmoid", "sigmoid", "tanh", "sigmoid"),        # LSTM defaults: the one-tanh path
    ("tanh", "sigmoid", "sigmoid", "tanh"),
    ("sigmoid", "relu", "tanh", "hard_sigmoid"),      # one call per group of equal gates
    ("swish", "swish", "tanh", "sigmoid"),
], ids=["lstm_default", "mixed_tanh_sigmoid", "other", "needs_input"])
@pytest.mark.parametrize("tile_bytes", [1 << 18, 0], ids=["rows_repeated", "one_row"])
def test_fused_gate_block_equals_each_gate_on_its_own(gates, dtype, tile_bytes, monkeypatch):
    """GateActivations on a (s, m, 4u) block equals every gate's activation applied to its own
    column block, and its derivative equals each activation's derivative, whether the per-column
    scale and shift are repeated over the rows (small blocks) or broadcast from one row."""
    from unrolled.framework import get_activation
    from unrolled.layers.recurrent import GateActivations
    monkeypatch.setattr(GateActivations, "tile_bytes", tile_bytes)
    u = 3
    z = np.random.default_rng(5).uniform(-6, 6, size=(2, 4, 4 * u)).astype(dtype)
    acts = [get_activation(g) for g in gates]
    block = GateActivations(acts, u, dtype)
    if block.alpha is not None:
        alpha, _ = block.rows_of(z)
        assert alpha.shape == ((4, 4 * u) if tile_bytes else (4 * u,))
    assert (block.alpha is not None) == all(g in ("sigmoid", "tanh") for g in gates)
    a = block.forward(z.copy())
    d = block.derivative(a, z, out=np.empty_like(z))
    tol = dict(rtol=1e-12, atol=1e-15) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for k, act in enumerate(acts):
        cols = slice(k * u, (k + 1) * u)
        zk = z[..., cols].astype(np.float64)
        np.testing.assert_allclose(a[..., cols], act.forward(zk.copy()), **tol)
        np.testing.assert_allclose(d[..., cols], act.derivative(act.forward(zk.copy()), zk), **tol)


@pytest.mark.parametrize("cell", ["rnn", "gru_reset_after"])
def test_misspelt_initial_state_is_an_error(cell):
    layer = _layer(cell)
    X = np.zeros((M, S, E))
    layer(X)
    with pytest.raises(TypeError, match="h_0"):
        layer(X, h_0=np.ones((M, U)))



@pytest.mark.parametrize("cell", list(CELLS))
def test_final_state_gradients_follow_the_layer_states(cell):
    """backward accepts one final-state gradient per state of the layer (dhT; an LSTM also dCT)
    and refuses others by name; bc holds the given ones and no key for states the layer lacks."""
    layer = _layer(cell, sequences=True)
    X = _rng(4).standard_normal((M, S, E))
    _randomize(layer, X)
    A = layer(X)
    names = {f"d{name}T" for name in layer.state_names if name != "h"}
    if cell != "lstm":
        with pytest.raises(TypeError, match=rf"{layer.label}.*\['dCT'\].*\['dhT'\]"):
            layer.backward(np.ones_like(A), dCT=np.ones((M, U)))
    else:
        with pytest.raises(ValueError, match=r"dCT must have shape \(m, u\)"):
            layer.backward(np.ones_like(A), dCT=np.ones((M, U + 1)))
    layer(X)
    layer.backward(np.ones_like(A), dhT=np.ones((M, U)))
    assert {k for k in layer.bc if k.endswith("T") and not k.startswith("_")} == names
    assert all(layer.bc[k] is None for k in names)


# --------------------------------------------------------------------------- clipping
def _gradients(model):
    return [g.copy() for layer in model.layers for g in layer.g.values()]


@pytest.mark.parametrize("bound", [1e-3, 1e6], ids=["clips", "below_bound"])
def test_global_norm_clipping_of_an_lstm_model(bound):
    rng = _rng(15)
    X = rng.standard_normal((8, S, E))
    Y = rng.standard_normal((8, 1))
    model = Model([LSTM(U), Dense(1)], loss="mse", clip_norm=bound, seed=0)
    model.compute_loss_and_gradients(X, Y)
    before = _gradients(model)
    norm_before = np.sqrt(sum(np.sum(g * g) for g in before))
    assert norm_before == pytest.approx(clipping.grad_norm(model.layers), rel=1e-12)
    model._clip()
    after = _gradients(model)
    norm_after = clipping.grad_norm(model.layers)
    assert norm_after <= bound + 1e-9
    if norm_before > bound:
        factor = norm_after / norm_before
        assert factor < 1.0
        # direction unchanged: every gradient scaled by the same positive factor
        for g0, g1 in zip(before, after):
            np.testing.assert_allclose(g1, factor * g0, rtol=1e-10, atol=1e-18)
    else:
        for g0, g1 in zip(before, after):
            np.testing.assert_array_equal(g1, g0)


# --------------------------------------------------------------------------- learning
STEPS = 40


def long_range_task(n, seed, steps=STEPS):
    """Binary classification decided by the FIRST of 40 steps, read out after the LAST one.

    Channel 0: x_0 = +1 (class 1) or -1 (class 0); steps 1..39 are N(0, 1) noise, as large as the
    signal, which the network must learn not to store. Channel 1 marks the first step (1, else 0).
    Nothing after step 0 carries information about the label: the model has to carry one bit
    across 39 noisy steps (a real long-range dependency).
    """
    rng = _rng(seed)
    y = rng.integers(0, 2, n)
    X = np.zeros((n, steps, 2))
    X[:, 0, 0] = 2.0 * y - 1.0
    X[:, 0, 1] = 1.0
    X[:, 1:, 0] = rng.standard_normal((n, steps - 1))
    return X, y[:, None].astype(float)


# Settings measured over 12 model seeds each (all reached 95%: SGD in <= 7 epochs, Adam in <= 2);
# clip_norm=1 keeps the momentum steps safe. Budgets are epochs, never seconds.
SGD_LR = {"lstm": 0.05, "gru": 0.2, "rnn": 0.1}
BUDGET = {"sgd_momentum": 25, "adam": 10}


def make_optimizer(name, cell):
    if name == "adam":
        return Adam(lr=0.01)
    return SGD(lr=SGD_LR[cell], momentum=0.9)


def _recurrent(cell, units, memory_bias):
    """The cell; with ``memory_bias`` its gate that keeps the memory starts open at sigmoid(3) =
    0.95 per step (LSTM: ``forget_bias``; GRU: the update-gate block of ``b``, since
    h = (1 - z) n + z h keeps h when z -> 1), as with the LSTM forget-gate bias of Jozefowicz et
    al. (2015): then 39 steps keep 0.95**39 = 14% of the first step, not 0.5**39."""
    if cell == "lstm":
        return LSTM(units, forget_bias=memory_bias if memory_bias is not None else 1.0)
    return {"gru": GRU, "rnn": RNN}[cell](units)


def train_long_range(cell, optimizer="adam", units=32, memory_bias=3.0, epochs=None, n=1000,
                     seed=0, target=0.95):
    """Train on the 40-step task until validation accuracy reaches ``target`` or the epoch budget
    runs out; returns (best validation accuracy, epochs run, seconds)."""
    X, Y = long_range_task(n, seed=1)
    Xv, Yv = long_range_task(500, seed=2)
    model = Model([_recurrent(cell, units, memory_bias), Dense(1, activation="sigmoid")],
                  loss="bce", optimizer=make_optimizer(optimizer, cell), metrics=["accuracy"],
                  clip_norm=1.0, seed=seed)
    model.build(X)
    if cell == "gru" and memory_bias is not None:
        model.layers[0].p["b"][0, units:2 * units] = memory_bias
    start, accuracy, epoch = time.perf_counter(), 0.0, 0
    for epoch in range(1, (epochs or BUDGET[optimizer]) + 1):
        model.train(X, Y, epochs=1, batch_size=32, verbose=0)
        accuracy = max(accuracy, model.evaluate(Xv, Yv)["accuracy"])
        if accuracy >= target:
            break
    return accuracy, epoch, time.perf_counter() - start


def test_long_range_task_depends_only_on_the_first_step():
    X, Y = long_range_task(200, seed=3)
    np.testing.assert_array_equal(X[:, 0, 0] > 0, Y[:, 0] == 1)
    np.testing.assert_array_equal(X[:, 0, 1], 1.0)
    np.testing.assert_array_equal(X[:, 1:, 1], 0.0)
    assert X.shape == (200, STEPS, 2) and 0.3 < Y.mean() < 0.7


@pytest.mark.parametrize("optimizer", [
    "sgd_momentum",
    pytest.param("adam", marks=pytest.mark.skipif(Adam is None, reason="no Adam optimizer")),
])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_learn_a_40_step_dependency(cell, optimizer):
    """LSTM and GRU carry one bit across 39 steps of noise to >= 95% validation accuracy."""
    accuracy, epochs, _ = train_long_range(cell, optimizer)
    assert accuracy >= 0.95, f"{cell} with {optimizer}: {accuracy:.3f} after {epochs} epochs"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("UNROLLED_SLOW") != "1",
                    reason="measurement; run with UNROLLED_SLOW=1 (and -s to see the table)")
def test_measure_long_range_learning():
    """Not a pass/fail claim about the vanilla RNN (that would be flaky), a measurement: each cell
    on the 40-step task with the same budget, printed as a table."""
    rows = []
    runs = [(cell, optimizer, bias) for cell, bias in
            [("rnn", None), ("lstm", 3.0), ("gru", 3.0), ("lstm", None), ("gru", None)]
            for optimizer in ("adam", "sgd_momentum")]
    for cell, optimizer, bias in runs:
        if optimizer == "adam" and Adam is None:
            continue
        accuracy, epochs, seconds = train_long_range(cell, optimizer, memory_bias=bias, epochs=25)
        rows.append((cell, optimizer, bias, accuracy, epochs, seconds))
    print(f"\n{'cell':<6}{'optimizer':<14}{'gate bias':<11}{'val acc':>8}{'epochs':>8}{'s':>7}")
    for cell, optimizer, bias, accuracy, epochs, seconds in rows:
        bias = "default" if bias is None else f"{bias:g}"
        print(f"{cell:<6}{optimizer:<14}{bias:<11}{accuracy:>8.3f}{epochs:>8d}{seconds:>7.1f}")
    gated = [r for r in rows if r[0] != "rnn" and r[2] is not None]
    assert all(r[3] >= 0.95 for r in gated)


def test_changing_a_gate_activation_after_a_forward_pass_takes_effect():
    """The fused gate block is rebuilt when an activation object changes (it is cached)."""
    from unrolled.framework import get_activation
    X = _rng(12).standard_normal((M, S, E))
    changed = _layer("lstm")
    _randomize(changed, X)
    changed(X)
    changed.gate_activations["o"] = get_activation("hard_sigmoid")
    reference = _layer("lstm", gate_activations={"o": "hard_sigmoid"})
    reference(X)
    for name, value in changed.p.items():
        reference.p[name][...] = value
    np.testing.assert_array_equal(changed(X), reference(X))


@pytest.mark.parametrize("cell", list(CELLS))
def test_dU_and_db_are_one_product_and_a_replaced_buffer_is_refilled(cell):
    """(R7) and (R9) come from one product [X 1]^T dZ: g["dU"] and g["db"] are its two row blocks.
    A gradient entry replaced from outside (zero_gradients, or a user's own array) must not be
    left stale by the next backward pass."""
    X = _rng(8).standard_normal((M, S, E))
    R = _rng(9).standard_normal((M, S, U))
    layer = _layer(cell, sequences=True)
    _randomize(layer, X)
    layer(X)
    layer.backward(R)
    layer.compute_gradients()
    dZ = layer.bc["dZ"]
    np.testing.assert_allclose(layer.g["dU"], np.einsum("mse,msg->eg", X, dZ), rtol=1e-12)
    np.testing.assert_allclose(layer.g["db"][0], dZ.sum(axis=(0, 1)), rtol=1e-12)
    expected = {k: layer.g[k].copy() for k in ("dU", "db")}
    for replaced in ("dU", "db"):
        layer.g[replaced] = np.zeros_like(layer.g[replaced])
        layer(X)
        layer.backward(R)
        layer.compute_gradients()
        for k, value in expected.items():
            np.testing.assert_array_equal(layer.g[k], value, err_msg=f"{k} after replacing {replaced}")


# --------------------------------------------------------------------------- use_bias=False
def test_layers_without_bias_train_save_and_load(tmp_path):
    """use_bias=False: no b (nor GRU's bh) in p or g, use_bias in the config (a Bidirectional
    gives it to both directions); a model of such layers trains, and comes back from its file
    with the same parameters and predictions."""
    from unrolled.framework.serialization import load_model, save_model
    from unrolled.layers import Bidirectional
    model = Model([Bidirectional(LSTM(3, sequences=True, use_bias=False)),
                   GRU(3, sequences=True, use_bias=False), RNN(2, use_bias=False)], seed=4)
    X, Y = _rng(5).standard_normal((8, 5, 2)), _rng(6).standard_normal((8, 2))
    history = model.train(X, Y, epochs=2, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    bi, gru, rnn = model.layers
    cells = [bi.forward_layer, bi.backward_layer, gru, rnn]
    for layer in cells:
        assert layer.use_bias is False and layer.config()["use_bias"] is False
        assert set(layer.p) == {"U", "V"} and set(layer.g) == {"dU", "dV"}
    save_model(model, tmp_path / "no_bias.npz")
    loaded = load_model(tmp_path / "no_bias.npz")
    bi2, gru2, rnn2 = loaded.layers
    for layer, again in zip(cells, [bi2.forward_layer, bi2.backward_layer, gru2, rnn2]):
        assert again.use_bias is False and set(again.p) == {"U", "V"}
        for name in ("U", "V"):
            np.testing.assert_array_equal(again.p[name], layer.p[name])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_stateful_model_refuses_sets_that_leave_a_short_batch_before_any_update():
    """A stateful layer refuses a batch of another size; the model's own loops must not make one:
    train and evaluate say so up front, naming the set, its size and the batch size."""
    from unrolled.framework import Model
    from unrolled.layers import Dense
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 5, 3)), rng.standard_normal((10, 2))
    model = Model([LSTM(3, stateful=True), Dense(2)], seed=0)
    model.build(X)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"the 7 training samples do not split into batches of 3"):
        model.train(X[:7], Y[:7], batch_size=3, verbose=0)
    with pytest.raises(ValueError, match=r"the 4 validation samples do not split into batches of "
                                         r"3: use a validation_batch_size that divides 4"):
        model.train(X, Y, batch_size=3, validation_split=0.4, verbose=0)
    assert all(np.array_equal(before[k], v) for k, v in model.get_weights().items())
    with pytest.raises(ValueError, match=r"model.evaluate: .* the 4 samples do not split into "
                                         r"batches of 3"):
        model.evaluate(X[:4], Y[:4], batch_size=3)
    model.train(X[:6], Y[:6], batch_size=3, validation_split=0.5, verbose=0)   # 3 + 3: fine
    assert model.evaluate(X[:4], Y[:4])["loss"] > 0                          # one batch of 4


def test_validation_split_checks_the_lengths_it_splits():
    from unrolled.framework import Model
    from unrolled.layers import Dense
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"X has 10 samples but sample_weight has 11"):
        Model([Dense(1)], seed=0).train(X, X[:, :1], sample_weight=np.ones(11),
                                        validation_split=0.2, verbose=0)


def test_a_frozen_layer_stays_frozen_inside_bidirectional():
    from unrolled.framework import Model
    from unrolled.layers import Bidirectional, Dense
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((8, 4, 3)), rng.standard_normal((8, 1))
    model = Model([Bidirectional(LSTM(3, trainable=False)), Dense(1)], seed=0)
    model.build(X)
    before = {k: v.copy() for k, v in model.layers[0].p.items()}
    model.train(X, Y, epochs=2, batch_size=4, verbose=0)
    assert model.layers[0].trainable is False
    assert all(np.array_equal(before[k], v) for k, v in model.layers[0].p.items())
