"""MultiHeadAttention and LayerNormalization: exact gradients (float64 finite differences), the
fast path equal to the plain reference entry by entry, what the masks mean, and clear errors."""
import numpy as np
import pytest

from unrolled.framework import gradcheck
from unrolled.layers import LayerNormalization, MultiHeadAttention
from unrolled.reference import transformer as ref

TOL = 1e-7          # a correct float64 backward scores ~1e-10; a wrong one ~1e-1


def sample(shape, seed=3):
    return np.random.default_rng(seed).standard_normal(shape)


def key_mask():
    mask = np.ones((3, 5), dtype=bool)
    mask[1, 3:] = False
    mask[2, 1] = False
    return mask


def randomize(layer, X, seed=5):
    """Build ``layer`` on X and give every parameter random values (zero biases and unit scales
    would hide the paths through them)."""
    layer.build(X)
    rng = np.random.default_rng(seed)
    for value in layer.p.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    return layer


def check_attention(result, layer):
    """Every gradient exact."""
    assert result.worst < TOL, result
    assert {k.split(".")[-1] for k in result} >= set(layer.p)


# ----------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("causal,masked", [(False, False), (False, True), (True, False), (True, True)])
def test_self_attention_gradients_are_exact(causal, masked):
    X = sample((3, 5, 6))
    layer = randomize(MultiHeadAttention(2, 3, value_dim=4, causal=causal).seed(0), X)
    result = gradcheck(layer, X, mask=key_mask() if masked else None)
    check_attention(result, layer)
    assert "X" in result


def test_cross_attention_gradients_are_exact_for_queries_and_memory():
    X, M = sample((3, 4, 6)), sample((3, 5, 7), seed=1)
    layer = randomize(MultiHeadAttention(3, 2, value_dim=3, output_dim=5, memory_dim=7).seed(0), X)
    result = gradcheck(layer, X, mask=key_mask(), inputs={"memory": M})
    check_attention(result, layer)
    assert {"X", "memory"} <= set(result)


def test_attention_without_biases_has_exact_gradients():
    X = sample((2, 4, 4))
    layer = randomize(MultiHeadAttention(2, 2, use_bias=False, causal=True).seed(0), X)
    assert sorted(layer.p) == ["Wk", "Wo", "Wq", "Wv"]
    check_attention(gradcheck(layer, X), layer)


def test_the_keys_have_no_bias_because_the_softmax_would_ignore_it():
    """A key bias b would add q . b / sqrt(dk) to every score of a query's row: the scores move,
    the weights (hence the output) do not. That is why the layer has bq, bv, bo and no bk."""
    X = sample((2, 4, 4))
    layer = randomize(MultiHeadAttention(2, 2).seed(0), X)
    assert sorted(layer.p) == ["Wk", "Wo", "Wq", "Wv", "bo", "bq", "bv"]
    fc = ref.mha_forward(X, layer.p, 2)
    K = ref.split_heads(X @ layer.p["Wk"] + sample((1, 4), 9), 2)      # with a key bias
    scores = fc["Q"] @ K.swapaxes(-1, -2) / np.sqrt(2)
    assert not np.allclose(scores, fc["scores"])
    np.testing.assert_allclose(ref.masked_softmax(scores, True), fc["weights"], rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 6), (3, 4, 6)])
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False), (False, False)])
def test_layer_normalization_gradients_are_exact(shape, center, scale):
    X = sample(shape) * 2 + 1
    layer = randomize(LayerNormalization(center=center, scale=scale).seed(0), X)
    assert gradcheck(layer, X).worst < TOL


# ----------------------------------------------------------------------------- fast == reference
def relative(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def attention_pair(dtype, cross, masked, causal, seed=0):
    X = sample((3, 5, 6), seed).astype(dtype)
    M = sample((3, 4, 7), seed + 1).astype(dtype) if cross else None
    mask = (key_mask()[:, :4] if cross else key_mask()) if masked else None
    layer = MultiHeadAttention(2, 3, value_dim=4, causal=causal,
                               memory_dim=7 if cross else None)
    layer.dtype = np.dtype(dtype)
    randomize(layer.seed(0), X)
    layer.training = True
    A = layer(X, memory=M, mask=mask)
    dA = sample(A.shape, seed + 2).astype(dtype)
    layer.backward(dA)
    layer.compute_gradients()
    p64 = {k: v.astype(np.float64) for k, v in layer.p.items()}
    fc = ref.mha_forward(X.astype(np.float64), p64, 2,
                         memory=None if M is None else M.astype(np.float64), mask=mask,
                         causal=causal)
    bc, g = ref.mha_backward(dA.astype(np.float64), fc, p64)
    return layer, fc, bc, g


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("cross,masked,causal", [(False, False, False), (False, True, True),
                                                 (True, True, False), (True, False, True)])
def test_attention_fast_path_equals_reference_entry_by_entry(dtype, tol, cross, masked, causal):
    layer, fc, bc, g = attention_pair(dtype, cross, masked, causal)
    for key in ("X", "Q", "K", "V", "scores", "weights", "context", "A") + (("memory",) if cross else ()):
        assert layer.fc[key].dtype == dtype
        assert relative(layer.fc[key], fc[key]) < tol, key
    if masked or causal:
        assert np.array_equal(np.broadcast_to(layer.fc["attention_mask"], fc["attention_mask"].shape),
                              fc["attention_mask"])
    assert set(bc) <= set(layer.bc)
    for key in bc:
        assert relative(layer.bc[key], bc[key]) < tol, key
    assert set(g) == set(layer.g)
    for key in g:
        assert relative(layer.g[key], g[key]) < tol, key


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("center,scale", [(True, True), (False, False)])
def test_layer_normalization_fast_path_equals_reference(dtype, tol, center, scale):
    X = (sample((3, 4, 6)) * 2 + 1).astype(dtype)
    layer = LayerNormalization(center=center, scale=scale)
    layer.dtype = np.dtype(dtype)
    randomize(layer.seed(0), X)
    A = layer(X)
    dA = sample(A.shape, 1).astype(dtype)
    layer.backward(dA)
    layer.compute_gradients()
    p64 = {k: v.astype(np.float64) for k, v in layer.p.items()}
    fc = ref.layer_norm_forward(X.astype(np.float64), p64.get("gamma"), p64.get("beta"), 1e-5)
    bc, g = ref.layer_norm_backward(dA.astype(np.float64), fc, p64.get("gamma"), p64.get("beta"))
    for key in fc:
        assert relative(layer.fc[key], fc[key]) < tol, key
    for key in bc:
        assert relative(layer.bc[key], bc[key]) < tol, key
    assert set(g) == set(layer.g)
    for key in g:
        assert relative(layer.g[key], g[key]) < tol, key


# ----------------------------------------------------------------------------- what masks mean
def test_padded_keys_get_zero_weight_and_do_not_change_the_output():
    X = sample((3, 5, 6))
    mask = key_mask()
    layer = MultiHeadAttention(2, 3).seed(0)
    A = layer(X, mask=mask).copy()
    assert np.all(layer.fc["weights"][~np.broadcast_to(mask[:, None, None, :], (3, 2, 5, 5))] == 0)
    np.testing.assert_allclose(layer.fc["weights"].sum(axis=-1), 1.0, rtol=1e-12)
    X2 = X.copy()
    X2[~mask] = 100.0                           # rewrite what the padded steps hold
    B = layer(X2, mask=mask)
    np.testing.assert_allclose(B[mask], A[mask], rtol=1e-12)   # real queries do not see it


def test_causal_output_at_step_t_ignores_later_steps():
    X = sample((2, 6, 4))
    layer = MultiHeadAttention(2, 2, causal=True).seed(0)
    A = layer(X).copy()
    assert np.all(np.triu(layer.fc["weights"][0, 0], k=1) == 0)
    X2 = X.copy()
    X2[:, 3:] = sample((2, 3, 4), 7)
    B = layer(X2)
    np.testing.assert_allclose(B[:, :3], A[:, :3], rtol=1e-12)
    assert not np.allclose(B[:, 3:], A[:, 3:])


def test_a_query_with_no_allowed_key_gets_zero_weights_and_finite_gradients():
    X = sample((2, 4, 4))
    mask = np.ones((2, 4), dtype=bool)
    mask[1, 0] = False                   # causal: query 0 of sequence 1 may see only key 0
    layer = MultiHeadAttention(2, 2, causal=True).seed(0)
    layer.training = True
    A = layer(X, mask=mask)
    assert np.all(layer.fc["weights"][1, :, 0] == 0) and np.all(layer.fc["context"][1, :, 0] == 0)
    np.testing.assert_allclose(A[1, 0], layer.p["bo"][0])      # the output bias alone
    layer.backward(np.ones_like(A))
    layer.compute_gradients()
    assert all(np.isfinite(v).all() for v in layer.g.values())
    assert np.isfinite(layer.bc["dX"]).all()


def test_shapes_of_every_cached_array():
    X, M = sample((3, 4, 6)), sample((3, 5, 7), 1)
    layer = MultiHeadAttention(2, 3, value_dim=4, output_dim=8, memory_dim=7).seed(0)
    layer.training = True
    A = layer(X, memory=M)
    fc = layer.fc
    assert fc["Q"].shape == (3, 2, 4, 3) and fc["K"].shape == (3, 2, 5, 3)
    assert fc["V"].shape == (3, 2, 5, 4)
    assert fc["scores"].shape == fc["weights"].shape == (3, 2, 4, 5)
    assert fc["context"].shape == (3, 2, 4, 4) and A.shape == (3, 4, 8)
    layer.backward(np.ones_like(A))
    assert layer.bc["dX"].shape == X.shape and layer.bc["dmemory"].shape == M.shape


def test_layer_normalization_output_has_zero_mean_unit_variance_per_position():
    X = sample((3, 4, 16)) * 5 + 3
    A = LayerNormalization(epsilon=1e-12)(X)
    np.testing.assert_allclose(A.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(A.var(axis=-1), 1.0, rtol=1e-9)


# ----------------------------------------------------------------------------- errors
def test_errors_name_the_layer_the_argument_and_the_values():
    with pytest.raises(ValueError, match=r"MultiHeadAttention: num_heads must be a positive integer, got 0"):
        MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match=r"key_dim must be a positive integer, got 2.5"):
        MultiHeadAttention(2, 2.5)
    layer = MultiHeadAttention(2, 2)
    with pytest.raises(ValueError, match=r"expected 3-D input \(m, s, e\), got shape \(3, 4\)"):
        layer(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"mask must be a boolean array \(m, s_k\) = \(3, 4\), got bool \(3, 5\)"):
        layer(np.zeros((3, 4, 6)), mask=np.ones((3, 5), dtype=bool))
    with pytest.raises(ValueError, match=r"memory must have shape \(m, s_k, e_k\) = \(3, s_k, 6\), got \(3, 5, 7\) \(set memory_dim"):
        layer(np.zeros((3, 4, 6)), memory=np.zeros((3, 5, 7)))
    with pytest.raises(ValueError, match=r"LayerNormalization: epsilon must be a number > 0, got 0"):
        LayerNormalization(epsilon=0)
