"""Seq2Seq with attention: exact gradients through the whole model, greedy decoding consistent
with teacher forcing, and a saved model that reloads bit-identically."""
import numpy as np
import pytest

from unrolled.framework import Adam, Model, Seq2Seq, gradcheck
from unrolled.layers import GRU, LSTM, Attention, Dense, Embedding

TOL = 1e-6


def _model(cell=GRU, score="dot", u=3, vocab=4, seed=0, **kwargs):
    return Seq2Seq(cell(u), cell(u, sequences=True), Dense(vocab, activation="softmax"),
                   attention=Attention(score), seed=seed, **kwargs)


def _data(m=2, s_in=5, e=3, s_out=3, vocab=4, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((m, s_in), dtype=bool)
    mask[-1, 3:] = False                           # the last source is 3 steps long
    return rng.standard_normal((m, s_in, e)), rng.integers(1, vocab, (m, s_out)), mask


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
@pytest.mark.parametrize("cell", [GRU, LSTM], ids=["GRU", "LSTM"])
def test_gradcheck_whole_model(cell, score):
    """Encoder, decoder, attention and output: every parameter and the source X, padded steps
    masked in the encoder and in the attention."""
    X, Y, mask = _data()
    model = _model(cell, score)
    result = gradcheck(model, X, Y, mask=mask)
    assert any(key.startswith("attention") for key in result) == (score != "dot")
    assert result.worst < TOL, repr(result)


def test_gradcheck_with_embeddings():
    rng = np.random.default_rng(1)
    X, Y = rng.integers(0, 6, (2, 4)), rng.integers(1, 5, (2, 3))
    # Larger initial weights than the defaults: with tiny states tanh in (A4) is nearly linear,
    # the query's term is the same for every encoder step and cancels in the softmax, and dWq
    # is so small that finite differences cannot resolve it
    big = "he_normal"
    model = Seq2Seq(GRU(3), GRU(3, sequences=True), Dense(5, activation="softmax"),
                    encoder_embedding=Embedding(6, 2, initializer=big),
                    decoder_embedding=Embedding(5, 2, initializer=big),
                    attention=Attention("additive", units=2, initializer=big), seed=0)
    result = gradcheck(model, X, Y, check_input=False)
    assert result.worst < TOL, repr(result)


def test_wiring_context_next_to_the_decoder_state():
    """The output layer reads [context, decoder state]; the context is the attention of the
    decoder states over the encoder's states at every step (its sequences are switched on)."""
    X, Y, mask = _data()
    model = _model(score="general")
    assert model.encoder.sequences is True
    A = model.teacher_forward(X, Y, training=False, mask=mask)
    att, dec, enc, out = model.attention, model.decoder, model.encoder, model.output
    np.testing.assert_array_equal(att.fc["K"], enc.fc["h"])
    np.testing.assert_array_equal(att.fc["X"], dec.fc["h"])
    np.testing.assert_array_equal(out.fc["X"], np.concatenate([att.fc["context"], dec.fc["h"]], -1))
    assert att.fc["weights"].shape == (2, 3, 5)
    assert np.all(att.fc["weights"][-1, :, 3:] == 0.0)          # padded source steps
    np.testing.assert_array_equal(dec.fc["hp"][:, 0], enc.fc["h"][:, -1])   # state hand-over
    assert A.shape == (2, 3, 4)


def test_greedy_decoding_is_teacher_forcing_on_its_own_predictions():
    X, Y, mask = _data(m=3)
    mask[0, 2:] = False
    model = _model(score="additive", u=4, seed=3)
    greedy = model.predict(X, length=3, mask=mask)
    ids = greedy.argmax(-1)
    forced = model.teacher_forward(X, ids, training=False, mask=mask)
    np.testing.assert_allclose(greedy, forced, rtol=1e-12, atol=1e-15)


def test_encoder_with_sequences_needs_attention():
    with pytest.raises(ValueError, match="encoder with sequences=False .or give attention="):
        Seq2Seq(GRU(3, sequences=True), GRU(3, sequences=True), Dense(4, activation="softmax"))


def test_attention_learns_a_reversal_the_encoder_state_alone_cannot_hold():
    """Reversing 12 random symbols (5 kinds, 28 bits) with 16 units: through the final state
    alone the decoder gets about half of the symbols right after 10 epochs; attention reads
    each one back from its encoder step."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, (2200, 12))
    X = np.eye(5)[ids]
    Y = ids[:, ::-1] + 1                                  # target vocabulary "^" + 5 symbols
    scores = {}
    for name, attention in (("attention", Attention("general")), ("none", None)):
        model = Seq2Seq(GRU(16), GRU(16, sequences=True), Dense(6, activation="softmax"),
                        attention=attention, optimizer=Adam(lr=0.02), clip_norm=5.0, seed=0)
        model.train(X[:2000], Y[:2000], epochs=10, batch_size=50, verbose=0)
        scores[name] = model.evaluate(X[2000:], Y[2000:])
    assert scores["attention"]["accuracy"] > 0.95, scores
    assert scores["attention"]["exact_match"] > 0.9 > 0.1 > scores["none"]["exact_match"], scores
    assert scores["none"]["accuracy"] < 0.6, scores


def test_save_and_load_bit_identical(tmp_path):
    """Predictions, the attention weights and two more epochs of training are identical."""
    X, Y, mask = _data(m=6, s_in=5, s_out=3, seed=2)
    model = _model(score="additive", u=4, optimizer=Adam(lr=0.01))
    model.train(X, Y, epochs=2, batch_size=3, mask=mask, verbose=0)
    path = tmp_path / "att.npz"
    model.save(path)
    again = Seq2Seq.load(path)
    assert isinstance(again.attention, Attention) and again.attention.config() == model.attention.config()
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    np.testing.assert_array_equal(again.predict(X, mask=mask), model.predict(X, mask=mask))
    np.testing.assert_array_equal(again.attention.fc["weights"], model.attention.fc["weights"])
    model.train(X, Y, epochs=2, batch_size=3, mask=mask, verbose=0)
    again.train(X, Y, epochs=2, batch_size=3, mask=mask, verbose=0)
    assert again.history["loss"] == model.history["loss"]
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(again.get_weights()[key], value)


def test_attention_layer_saves_in_a_plain_model(tmp_path):
    X = np.random.default_rng(0).standard_normal((4, 3, 2))
    model = Model([Attention("general"), Dense(1)], loss="mse", seed=0)
    model.train(X, np.zeros((4, 3, 1)), epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(Model.load(tmp_path / "m.npz").predict(X), model.predict(X))
