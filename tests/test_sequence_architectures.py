"""Sequence architectures: encoder-decoder, one-to-many, embedding, bidirectional, masking,
truncated BPTT. Every gradient is checked by finite differences; behaviours against independent
computations."""
import numpy as np
import pytest

from unrolled.datasets import reverse_digits
from unrolled.framework import Model, gradcheck
from unrolled.framework.optimizers import Adam
from unrolled.framework.seq2seq import Seq2Seq
from unrolled.layers import GRU, LSTM, RNN, Bidirectional, Dense, Embedding, RepeatVector
from unrolled.layers.bidirectional import reversal_index

CELLS = [RNN, LSTM, GRU]
TOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(42)


# ---------------------------------------------------------------- encoder-decoder
@pytest.mark.parametrize("cell", CELLS)
def test_gradcheck_passes_through_the_whole_encoder_decoder(cell, rng):
    model = Seq2Seq(cell(4), cell(4, sequences=True), Dense(5, activation="softmax"), seed=0)
    X = rng.standard_normal((3, 4, 2))
    Y = rng.integers(1, 5, (3, 3))
    result = gradcheck(model, X, Y)
    assert result.worst < TOL, result


def test_gradcheck_encoder_decoder_with_embeddings(rng):
    model = Seq2Seq(LSTM(4), LSTM(4, sequences=True), Dense(6, activation="softmax"),
                    encoder_embedding=Embedding(6, 3), decoder_embedding=Embedding(6, 3), seed=1)
    ids = rng.integers(1, 6, (3, 5))
    result = gradcheck(model, ids, rng.integers(1, 6, (3, 4)), check_input=False, eps=1e-5)
    assert result.worst < TOL, result


def test_decoder_loss_reaches_the_encoder_only_through_the_state_hand_over(rng):
    """Encoder gradients are exactly those of the encoder's final state times dL/dh0."""
    model = Seq2Seq(GRU(3), GRU(3, sequences=True), Dense(4, activation="softmax"), seed=3)
    X, Y = rng.standard_normal((2, 5, 2)), rng.integers(1, 4, (2, 3))
    model.compute_loss_and_gradients(*model._prepare(X, Y, None)[:2])
    dh0 = model.decoder.bc["dh0"].copy()
    dU = model.encoder.g["dU"].copy()
    # the same encoder, asked only for its final state, with dL/dhT = dh0
    enc = model.encoder
    enc(X)
    enc.backward(dh0)
    enc.compute_gradients()
    np.testing.assert_allclose(enc.g["dU"], dU, rtol=1e-12, atol=1e-15)


def test_greedy_decoding_feeds_back_its_own_predictions(rng):
    """Step t of greedy decoding equals a teacher-forced pass on the greedy prefix."""
    model = Seq2Seq(LSTM(5), LSTM(5, sequences=True), Dense(6, activation="softmax"), seed=4)
    X = rng.standard_normal((4, 3, 2))
    model.build(X, np.ones((1, 4), dtype=int))
    P = model.predict(X, length=4)
    greedy = P.argmax(-1)
    A = model.teacher_forward(X, greedy, training=False)
    np.testing.assert_allclose(A, P, rtol=1e-12, atol=1e-14)


def test_encoder_decoder_learns_to_reverse_digit_strings():
    data = reverse_digits(n_train=3000, n_val=300, n_test=300, length=5, seed=0)
    model = Seq2Seq(GRU(48), GRU(48, sequences=True), Dense(11, activation="softmax"),
                    optimizer=Adam(lr=1e-2), clip_norm=5.0, seed=0)
    model.train(*data.train, epochs=6, batch_size=64, verbose=0)
    scores = model.evaluate(*data.test)
    # chance exact match is 1e-5; a decoder that did not receive the encoder's state cannot
    # do better than guessing the digits
    assert scores["exact_match"] >= 0.9, scores


def test_seq2seq_rejects_mismatched_encoder_and_decoder():
    with pytest.raises(TypeError, match="same kind"):
        Seq2Seq(GRU(4), LSTM(4, sequences=True), Dense(3, activation="softmax"))
    with pytest.raises(ValueError, match="same units"):
        Seq2Seq(GRU(4), GRU(5, sequences=True), Dense(3, activation="softmax"))
    with pytest.raises(ValueError, match="sequences"):
        Seq2Seq(GRU(4, sequences=True), GRU(4, sequences=True), Dense(3, activation="softmax"))


# ---------------------------------------------------------------- one-to-many
@pytest.mark.parametrize("cell", CELLS)
def test_one_to_many_gradcheck(cell, rng):
    model = Model([Dense(4, activation="tanh"), RepeatVector(5), cell(3, sequences=True),
                   Dense(1)], loss="mse", seed=0)
    result = gradcheck(model, rng.standard_normal((3, 2)), rng.standard_normal((3, 5, 1)))
    assert result.worst < TOL, result


def test_one_to_many_learns_a_waveform_from_its_parameters(rng):
    """A vector (frequency, phase) conditions a whole 20-step output sequence."""
    def waves(n):
        freq, phase = rng.uniform(0.1, 0.3, n), rng.uniform(0, np.pi, n)
        t = np.arange(20)
        return np.stack([freq, phase], 1), np.sin(freq[:, None] * t + phase[:, None])[..., None]
    X, Y = waves(600)
    Xt, Yt = waves(200)
    model = Model([Dense(16, activation="tanh"), RepeatVector(20), GRU(24, sequences=True),
                   Dense(1)], loss="mse", optimizer=Adam(lr=1e-2), seed=0)
    model.train(X, Y, epochs=40, batch_size=32, verbose=0)
    mse = model.evaluate(Xt, Yt)["loss"]
    assert mse < 0.1 * np.var(Yt), mse   # predicting the mean scores var(Yt)


def test_repeat_vector_shapes_and_gradient(rng):
    layer = RepeatVector(3)
    X = rng.standard_normal((2, 4))
    A = layer(X)
    assert A.shape == (2, 3, 4) and np.all(A == X[:, None])
    dA = rng.standard_normal(A.shape)
    np.testing.assert_allclose(layer.backward(dA), dA.sum(axis=1))


# ---------------------------------------------------------------- embedding
def test_embedding_looks_up_rows_and_accumulates_repeated_ids(rng):
    layer = Embedding(5, 3).seed(0)
    ids = np.array([[1, 1, 4], [0, 1, 2]])
    A = layer(ids)
    np.testing.assert_array_equal(A, layer.p["E"][ids])
    dA = rng.standard_normal(A.shape)
    layer.backward(dA)
    layer.compute_gradients()
    onehot = np.eye(5)[ids].reshape(-1, 5)          # dense reference: one-hot @ E
    np.testing.assert_allclose(layer.g["dE"], onehot.T @ dA.reshape(-1, 3), rtol=1e-12)


def test_embedding_gradcheck_in_a_model(rng):
    model = Model([Embedding(7, 3), GRU(4, sequences=True), Dense(7, activation="softmax")],
                  loss="scce", seed=0)
    result = gradcheck(model, rng.integers(0, 7, (4, 5)), rng.integers(0, 7, (4, 5)),
                       check_input=False, eps=1e-5)
    assert result.worst < TOL, result


def test_embedding_rejects_out_of_range_and_fractional_ids():
    layer = Embedding(4, 2).seed(0)
    with pytest.raises(ValueError, match=r"\[0, 3\].*got values in \[0, 4\]"):
        layer(np.array([[0, 4]]))
    with pytest.raises(ValueError, match="integer"):
        layer(np.array([[0.5, 1.0]]))


# ---------------------------------------------------------------- bidirectional
@pytest.mark.parametrize("merge", ["concat", "sum", "mean"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("sequences", [True, False])
def test_bidirectional_gradcheck(merge, cell, sequences, rng):
    layer = Bidirectional(cell(3, sequences=sequences), merge=merge).seed(0)
    result = gradcheck(layer, rng.standard_normal((3, 4, 2)))
    assert result.worst < TOL, result


def test_bidirectional_backward_half_reads_the_sequence_reversed(rng):
    fwd = LSTM(3, sequences=True)
    layer = Bidirectional(fwd).seed(0)
    X = rng.standard_normal((2, 5, 2))
    A = layer(X)
    alone = LSTM(3, sequences=True).seed(9)
    alone(X)
    for k in alone.p:
        np.copyto(alone.p[k], layer.backward_layer.p[k])
    expected = alone(X[:, ::-1])[:, ::-1]
    np.testing.assert_allclose(A[..., 3:], expected, rtol=1e-12)
    np.testing.assert_allclose(A[..., :3], layer.forward_layer.fc["h"], rtol=1e-12)


def test_reversal_index_reverses_real_steps_only():
    mask = np.array([[True, True, True, False], [True, False, False, False]])
    idx = reversal_index(mask, 2, 4)
    np.testing.assert_array_equal(idx, [[2, 1, 0, 3], [0, 1, 2, 3]])


def test_bidirectional_with_mask_equals_each_sequence_alone(rng):
    layer = Bidirectional(GRU(3, sequences=False)).seed(0)
    X = rng.standard_normal((3, 6, 2))
    lengths = [6, 4, 1]
    mask = np.arange(6)[None] < np.array(lengths)[:, None]
    out = layer(X, mask=mask).copy()
    for i, L in enumerate(lengths):
        np.testing.assert_allclose(layer(X[i:i + 1, :L])[0], out[i], rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- masking in a model
@pytest.mark.parametrize("cell", CELLS)
def test_padded_batch_trains_exactly_like_each_sequence_alone(cell, rng):
    """Loss and every parameter gradient of a padded, masked batch equal the per-sequence ones
    (many-to-one: the sum of per-sequence gradients divided by the batch size)."""
    X = rng.standard_normal((3, 6, 2))
    lengths = [6, 3, 2]
    mask = np.arange(6)[None] < np.array(lengths)[:, None]
    X[~mask] = 7.0                                   # padding values must not matter
    Y = np.eye(2)[[0, 1, 1]]

    def model():
        return Model([cell(4), Dense(2, activation="softmax")], loss="cce", seed=5)
    batch = model()
    loss, _ = batch.compute_loss_and_gradients(*batch._prepare(X, Y, mask))
    grads = batch.get_weights()  # parameters (to copy) ...
    batch_grads = {f"{l.name}/{k}": l.g["d" + k].copy() for l in batch.layers for k in l.p}
    single = model()
    single.build(X)
    single.set_weights(grads)
    total_loss, total = 0.0, {k: 0.0 for k in batch_grads}
    for i, L in enumerate(lengths):
        li, _ = single.compute_loss_and_gradients(X[i:i + 1, :L], Y[i:i + 1])
        total_loss += li / 3
        for l in single.layers:
            for k in l.p:
                total[f"{l.name}/{k}"] = total[f"{l.name}/{k}"] + l.g["d" + k] / 3
    assert loss == pytest.approx(total_loss, rel=1e-12)
    for key in batch_grads:
        np.testing.assert_allclose(batch_grads[key], total[key], rtol=1e-10, atol=1e-14)


def test_masked_steps_do_not_count_in_the_loss_or_metrics(rng):
    X = rng.standard_normal((2, 4, 2))
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    Y = rng.integers(0, 3, (2, 4))
    model = Model([LSTM(3, sequences=True), Dense(3, activation="softmax")], loss="scce",
                  metrics=["accuracy"], seed=0)
    full = model.evaluate(X, Y, mask=mask)
    Y2 = Y.copy()
    Y2[0, 2:] = (Y[0, 2:] + 1) % 3                     # change only padded targets
    assert model.evaluate(X, Y2, mask=mask) == full


# ---------------------------------------------------------------- truncated BPTT, stateful
def test_stateful_layer_carries_its_state_across_batches(rng):
    X = rng.standard_normal((2, 8, 3))
    full = LSTM(4, sequences=True).seed(0)
    H = full(X).copy()
    stateful = LSTM(4, sequences=True, stateful=True).seed(0)
    first = stateful(X[:, :4]).copy()
    second = stateful(X[:, 4:]).copy()
    np.testing.assert_allclose(np.concatenate([first, second], 1), H, rtol=1e-12)
    stateful.reset_state()
    np.testing.assert_allclose(stateful(X[:, 4:]), full(X[:, 4:]), rtol=1e-12)


def test_truncated_bptt_stops_the_gradient_at_the_window_boundary(rng):
    """With a carried state, the gradient of a window is that of a layer started from the
    carried state as a constant: nothing flows into the previous window."""
    X = rng.standard_normal((2, 8, 3))
    layer = GRU(4, sequences=True, stateful=True).seed(0)
    layer(X[:, :4])
    carried = layer.fc["hT"].copy()
    out = layer(X[:, 4:])
    dA = rng.standard_normal(out.shape)
    layer.backward(dA)
    layer.compute_gradients()
    dV = layer.g["dV"].copy()
    plain = GRU(4, sequences=True).seed(0)
    plain(X[:, 4:], h0=carried)
    plain.backward(dA)
    plain.compute_gradients()
    np.testing.assert_allclose(dV, plain.g["dV"], rtol=1e-12)
    assert np.abs(layer.bc["dh0"]).max() > 0      # the gradient reached the window's start ...


def test_model_resets_stateful_layers_each_epoch_and_around_evaluation(rng):
    X = rng.standard_normal((4, 5, 2))
    Y = rng.standard_normal((4, 5, 1))
    model = Model([RNN(3, sequences=True, stateful=True), Dense(1)], loss="mse", seed=0)
    model.train(X, Y, epochs=1, batch_size=2, shuffle=False, verbose=0)
    carried = model.layers[0].carried["h"].copy()
    model.evaluate(X, Y, batch_size=2)
    np.testing.assert_array_equal(model.layers[0].carried["h"], carried)
    before = model.evaluate(X, Y, batch_size=4)["loss"]
    model.layers[0].reset_state()
    assert model.evaluate(X, Y, batch_size=4)["loss"] == before  # evaluation starts from zero


def test_seq2seq_save_load_round_trip_and_resume(tmp_path, rng):
    from unrolled.framework import load_model
    model = Seq2Seq(LSTM(4), LSTM(4, sequences=True), Dense(6, activation="softmax"),
                    encoder_embedding=Embedding(6, 3), optimizer=Adam(lr=1e-2), seed=0)
    X, Y = rng.integers(0, 6, (5, 4)), rng.integers(1, 6, (5, 3))
    model.train(X, Y, epochs=2, verbose=0)
    model.save(tmp_path / "s2s.npz")
    loaded = load_model(tmp_path / "s2s.npz")
    assert type(loaded) is Seq2Seq and loaded.start_id == 0
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    model.train(X, Y, epochs=2, verbose=0)
    loaded.train(X, Y, epochs=2, verbose=0)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value)


def test_masks_of_token_id_inputs_are_checked_like_any_other(rng):
    """With an Embedding first, inputs are ids (m, s) and the mask must be (m, s) too."""
    model = Model([Embedding(6, 3), GRU(4), Dense(2, activation="softmax")], loss="cce", seed=0)
    ids = rng.integers(0, 6, (3, 5))
    Y = np.eye(2)[[0, 1, 0]]
    mask = np.arange(5)[None] < np.array([5, 3, 2])[:, None]
    full = model.evaluate(ids, Y, mask=mask)["loss"]
    ids2 = ids.copy()
    ids2[~mask] = 0                                 # padded ids must not matter
    assert model.evaluate(ids2, Y, mask=mask)["loss"] == full
    with pytest.raises(ValueError, match=r"mask must have shape \(m, s\) = \(3, 5\)"):
        model.evaluate(ids, Y, mask=mask[:, :4])


def test_an_unbuilt_seq2seq_checks_its_targets_before_building():
    """train() builds the model from the first sample before anything else: its Y is checked
    first, as train would (ids out of range refused, whole-number floats accepted)."""
    X, Y = np.zeros((4, 6, 3)), np.array([[1, 2, 3]] * 4)
    model = Seq2Seq(LSTM(4), LSTM(4, sequences=True), Dense(5, activation="softmax"), seed=0)
    with pytest.raises(ValueError, match=r"Seq2Seq: Y ids must lie in \[0, 4\], got \[11, 13\]"):
        model.train(X, Y + 10, verbose=0)
    model = Seq2Seq(LSTM(4), LSTM(4, sequences=True), Dense(5, activation="softmax"), seed=0)
    model.train(X, Y.astype(float), verbose=0)
    assert len(model.history["loss"]) == 1
