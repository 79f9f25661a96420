"""PositionalEncoding, Residual and Sequential, and a Transformer encoder block in a plain Model:
exact gradients, the block equal to the plain reference, what a composite must give the model
(optimizer, clipping, penalties, freezing, save/load), and clear errors."""
import math

import numpy as np
import pytest

from unrolled.framework import SGD, Adam, Model, gradcheck
from unrolled.layers import (Dense, Dropout, LayerNormalization, MultiHeadAttention,
                             PositionalEncoding, Residual, Sequential)
from unrolled.reference import transformer as ref

TOL = 1e-7


def sample(shape, seed=3):
    return np.random.default_rng(seed).standard_normal(shape)


def seq_mask():
    mask = np.ones((3, 5), dtype=bool)
    mask[1, 3:] = False
    return mask


def encoder_block(e=8, heads=2, ff=12, causal=False):
    return [Residual(Sequential([LayerNormalization(), MultiHeadAttention(heads, e // heads,
                                                                          causal=causal)])),
            Residual(Sequential([LayerNormalization(), Dense(ff, activation="relu"), Dense(e)]))]


def block_gradients_exact(result):
    return result.worst < TOL


# ----------------------------------------------------------------------------- positional encoding
def test_sinusoidal_table_is_vaswanis_formula():
    X = np.zeros((2, 7, 6))
    A = PositionalEncoding()(X)
    for t in range(7):
        for i in range(3):
            angle = t / 10000 ** (2 * i / 6)
            assert A[1, t, 2 * i] == pytest.approx(math.sin(angle), abs=1e-14)
            assert A[1, t, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-14)
    np.testing.assert_allclose(ref.sinusoidal_table(7, 6), A[0], rtol=1e-15, atol=1e-15)


def test_sinusoidal_encoding_adds_a_fixed_table_and_has_no_parameters():
    X = sample((2, 4, 5))              # odd width: the last feature is a sine
    layer = PositionalEncoding(max_length=10)
    A = layer(X)
    assert layer.p == {}
    np.testing.assert_allclose(A - X, np.broadcast_to(ref.sinusoidal_table(4, 5), X.shape), atol=1e-15)
    assert gradcheck(layer, X).worst < TOL


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_learned_encoding_equals_reference_and_its_gradient_is_exact(dtype, tol):
    X = sample((3, 4, 5)).astype(dtype)
    layer = PositionalEncoding("learned", max_length=6)
    layer.dtype = np.dtype(dtype)
    layer.seed(0)
    A = layer(X)
    dA = sample(A.shape, 4).astype(dtype)
    layer.backward(dA)
    layer.compute_gradients()
    fc = ref.positional_encoding_forward(X.astype(np.float64), layer.p["P"].astype(np.float64))
    bc, g = ref.positional_encoding_backward(dA.astype(np.float64), layer.p["P"].shape)
    for key in fc:
        np.testing.assert_allclose(layer.fc[key], fc[key], rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.bc["dX"], bc["dX"], rtol=tol)
    np.testing.assert_allclose(layer.g["dP"], g["dP"], rtol=tol, atol=tol)
    assert np.all(layer.g["dP"][4:] == 0)                   # rows past the sequence are unused
    if dtype == np.float64:
        assert gradcheck(layer, X).worst < TOL


def test_positional_encoding_errors():
    with pytest.raises(ValueError, match=r"kind must be one of \('sinusoidal', 'learned'\), got 'rotary'"):
        PositionalEncoding("rotary")
    with pytest.raises(ValueError, match="a learned encoding needs max_length"):
        PositionalEncoding("learned")
    with pytest.raises(ValueError, match=r"sequences of 7 steps are longer than max_length = 5"):
        PositionalEncoding("learned", max_length=5)(np.zeros((2, 7, 3)))


# ----------------------------------------------------------------------------- Residual, Sequential
def test_residual_adds_the_input_to_the_branch_and_sums_both_gradient_paths():
    X = sample((3, 4, 6))
    dense = Dense(6, activation="tanh")
    layer = Residual(dense).seed(0)
    layer.training = True
    A = layer(X)
    np.testing.assert_allclose(A, X + np.tanh(X @ dense.p["W"] + dense.p["b"]), rtol=1e-13)
    dA = sample(A.shape, 4)
    dX = layer.backward(dA)
    np.testing.assert_allclose(dX, dA + dense.bc["dX"], rtol=1e-13)
    assert layer.p["W"] is dense.p["W"]                      # the same arrays, not copies
    assert gradcheck(layer, X).worst < TOL


def test_sequential_runs_its_layers_in_order_and_exposes_them():
    X = sample((3, 4, 6))
    seq = Sequential([Dense(5, activation="relu"), Dense(2)]).seed(0)
    A = seq(X)
    first, second = seq.layers
    np.testing.assert_allclose(A, np.maximum(X @ first.p["W"] + first.p["b"], 0) @ second.p["W"]
                               + second.p["b"], rtol=1e-13)
    assert seq.p["0.W"] is first.p["W"] and seq.p["1.b"] is second.p["b"]
    assert gradcheck(seq, X).worst < TOL
    assert seq.g["d1.W"] is second.g["dW"]


def test_block_gradients_are_exact_with_padding_and_causal_masks():
    X, mask = sample((3, 5, 8)), seq_mask()
    for causal in (False, True):
        block = Residual(Sequential([LayerNormalization(), MultiHeadAttention(2, 4, causal=causal)]))
        block.seed(0)
        assert block_gradients_exact(gradcheck(block, X, mask=mask))


def test_encoder_model_gradients_are_exact():
    X, Y, mask = sample((3, 5, 8)), sample((3, 5, 3), 4), seq_mask()
    model = Model([PositionalEncoding("learned", max_length=6), *encoder_block(causal=True),
                   Dense(3)], loss="mse", seed=0)
    model.train(X, Y, epochs=2, batch_size=3, mask=mask, verbose=0)  # away from the initial point
    result = gradcheck(model, X, Y, mask=mask)
    assert block_gradients_exact(result)
    assert "residual_1.1.Wq" in result and "residual_2.2.W" in result


def block_parameters(model, att, ff):
    a, f = model.layers[att], model.layers[ff]
    return {"ln1": {"gamma": a.p["0.gamma"], "beta": a.p["0.beta"]},
            "attention": {k[2:]: v for k, v in a.p.items() if k.startswith("1.")},
            "ln2": {"gamma": f.p["0.gamma"], "beta": f.p["0.beta"]},
            "ff": {"W1": f.p["1.W"], "b1": f.p["1.b"], "W2": f.p["2.W"], "b2": f.p["2.b"]}}


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_encoder_block_equals_the_plain_reference_block(dtype, tol):
    X, mask = sample((3, 5, 8)), seq_mask()
    model = Model(encoder_block(causal=True), loss="mse", seed=0, dtype=dtype.__name__)
    model.layers[0].input_gradient = True
    A = model.forward(X.astype(dtype), training=True, mask=mask)
    dA = sample(A.shape, 4)
    dX = model.backward(dA.astype(dtype))
    p = {k: {n: v.astype(np.float64) for n, v in d.items()}
         for k, d in block_parameters(model, 0, 1).items()}
    fc = ref.encoder_block_forward(X, p, 2, mask=mask, causal=True)
    bc, g = ref.encoder_block_backward(dA, fc, p)

    def rel(a, b):
        return np.abs(a - b).max() / np.abs(b).max()
    att_block, ff_block = model.layers
    assert rel(att_block.branch.layers[1].fc["weights"], fc["attention"]["weights"]) < tol
    assert rel(att_block.fc["A"], fc["X1"]) < tol and rel(A, fc["A"]) < tol
    assert rel(ff_block.bc["dX"], bc["dX1"]) < tol and rel(dX, bc["dX"]) < tol
    ours = {"ln1": att_block.g, "ln2": ff_block.g}
    for part, prefix in (("ln1", "0."), ("ln2", "0.")):
        for name, value in g[part].items():
            assert rel(ours[part]["d" + prefix + name[1:]], value) < tol, (part, name)
    for name, value in g["attention"].items():
        assert rel(att_block.g["d1." + name[1:]], value) < tol, name
    for ours_name, ref_name in (("d1.W", "dW1"), ("d1.b", "db1"), ("d2.W", "dW2"), ("d2.b", "db2")):
        assert rel(ff_block.g[ours_name], g["ff"][ref_name]) < tol, ref_name


# ----------------------------------------------------------------------------- what the model sees
def test_optimizer_updates_every_inner_parameter_in_place_except_frozen_layers():
    X, Y = sample((4, 5, 8)), sample((4, 5, 8), 4)
    frozen = LayerNormalization(trainable=False)
    attention = MultiHeadAttention(2, 4)
    model = Model([Residual(Sequential([frozen, attention])), Dense(8)], loss="mse",
                  optimizer=SGD(lr=0.1), seed=0)
    model.build(X)
    before = {k: v.copy() for k, v in model.layers[0].p.items()}
    model.train(X, Y, epochs=1, batch_size=4, verbose=0)
    after = model.layers[0].p
    assert np.array_equal(after["0.gamma"], before["0.gamma"])
    assert np.array_equal(after["0.beta"], before["0.beta"])
    assert "d0.gamma" not in model.layers[0].g
    for name in ("1.Wq", "1.Wk", "1.Wv", "1.Wo", "1.bq", "1.bo"):
        assert not np.array_equal(after[name], before[name]), name
    assert after["1.Wq"] is attention.p["Wq"]


def test_clipping_sees_the_inner_gradients():
    X, Y = sample((4, 5, 8)), sample((4, 5, 8), 4)
    model = Model(encoder_block(), loss="mse", optimizer=SGD(lr=0.01), seed=0, clip_norm=1e-3)
    model.build(X)
    model.compute_loss_and_gradients(X, Y)
    inner = [g for block in model.layers for sub in block.branch.layers for g in sub.g.values()]
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in inner))
    assert model._clip() == pytest.approx(norm, rel=1e-12) and norm > 1e-3
    clipped = math.sqrt(sum(float(np.vdot(g, g)) for g in inner))
    assert clipped == pytest.approx(1e-3, rel=1e-5)          # scaled through the shared arrays


def test_penalties_of_inner_layers_and_of_the_composite_count():
    X = sample((2, 3, 4))
    dense = Dense(4, l2=0.1)
    block = Residual(Sequential([dense]), l1=0.01).seed(0)
    block(X)
    W = dense.p["W"]
    assert block.penalty() == pytest.approx(0.1 * np.sum(W ** 2) + 0.01 * np.sum(np.abs(W)))
    assert gradcheck(block, X).worst < TOL


def test_dropout_inside_a_block_is_replayed_by_gradcheck():
    X = sample((3, 4, 6))
    block = Residual(Sequential([Dense(6, activation="tanh"), Dropout(0.3)])).seed(0)
    assert gradcheck(block, X).worst < TOL


def test_model_with_transformer_blocks_saves_and_loads_bit_identically(tmp_path):
    X, Y, mask = sample((6, 5, 8)), sample((6, 5, 3), 4), np.ones((6, 5), dtype=bool)
    mask[2, 3:] = False
    model = Model([PositionalEncoding("learned", max_length=5), *encoder_block(causal=True),
                   Dropout(0.1), Dense(3)], loss="mse", optimizer=Adam(lr=1e-2), seed=0)
    model.train(X, Y, epochs=2, batch_size=3, mask=mask, verbose=0)
    path = tmp_path / "transformer.npz"
    model.save(path)
    loaded = Model.load(path)
    assert isinstance(loaded.layers[1].branch.layers[1], MultiHeadAttention)
    assert loaded.layers[1].branch.layers[1].causal
    np.testing.assert_array_equal(loaded.predict(X, mask=mask), model.predict(X, mask=mask))
    model.train(X, Y, epochs=2, batch_size=3, mask=mask, verbose=0)     # resume: same steps,
    loaded.train(X, Y, epochs=2, batch_size=3, mask=mask, verbose=0)    # same dropout masks
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value)


def test_composite_errors():
    with pytest.raises(ValueError, match=r"Residual: the branch Dense .* maps \(2, 3, 4\) to "
                                         r"\(2, 3, 5\); a residual connection needs the same shape"):
        Residual(Dense(5))(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="Sequential: needs at least one layer"):
        Sequential([])
    dense = Dense(3)
    with pytest.raises(ValueError, match="the same layer object appears twice"):
        Sequential([dense, dense])
    with pytest.raises(TypeError, match="Sequential: expected a Layer, got str"):
        Sequential(["dense"])
    with pytest.raises(ValueError, match="Residual: unknown layer type 'Conv9'"):
        Residual({"type": "Conv9", "config": {}})


# ----------------------------------------------------------------------------- docs labels
def test_every_label_of_the_reference_module_is_tagged_on_its_page():
    """The reference module spans four pages (tests/test_docs.py maps a module to one): each
    family of labels must be tagged on its own page, and every equation of the layer pages has
    its plain line (Sequential's (RS4), (RS5) need none: a loop over layers)."""
    import io
    import re
    import tokenize
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    source = (root / "unrolled" / "reference" / "transformer.py").read_text(encoding="utf-8")
    labels = {label for tok in tokenize.generate_tokens(io.StringIO(source).readline)
              if tok.type == tokenize.COMMENT for label in re.findall(r"\(([A-Z]+\d+)\)", tok.string)}
    pages = {"N": "layer_normalization", "M": "multi_head_attention", "PE": "positional_encoding",
             "RS": "composite"}
    assert {label.rstrip("0123456789") for label in labels} == set(pages)
    for family, page in pages.items():
        text = (root / "docs" / "layers" / f"{page}.md").read_text(encoding="utf-8")
        tags = set(re.findall(r"\\tag\{([A-Z]+\d+)\}", text))
        ours = {label for label in labels if label.rstrip("0123456789") == family}
        assert ours == tags if family != "RS" else ours == tags - {"RS4", "RS5"}, page


def test_gradcheck_skips_a_frozen_inner_layer_and_checks_the_rest():
    from unrolled.layers import Dense, LayerNormalization, Residual, Sequential
    frozen = Dense(3, trainable=False)
    model = Model([Residual(Sequential([LayerNormalization(), frozen])), Dense(1)], seed=0)
    X = np.random.default_rng(0).standard_normal((4, 3))
    result = gradcheck(model, X, np.zeros((4, 1)))
    assert set(result) == {"X", "dense_1.W", "dense_1.b", "residual_0.0.beta", "residual_0.0.gamma"}
    assert result.worst < 1e-7
