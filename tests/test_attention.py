"""Attention (Luong dot and general, Bahdanau additive): exact gradients, the same numbers as the
formulas written with torch autograd, and the fast path equal to the plain reference entry by
entry."""
import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest

from unrolled.framework import Model, gradcheck
from unrolled.layers import Attention, Dense
from unrolled.reference.attention import attention_backward, attention_forward

SCORES = ["dot", "general", "additive"]
TOL = 1e-6          # worst relative error of a float64 gradcheck


def _data(m=3, s_dec=4, s_enc=5, e=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, s_dec, e)), rng.standard_normal((m, s_enc, e))


def _mask(m=3, s_enc=5, empty_row=True):
    """Right padding, a gap, and (optionally) a sample with no real encoder step."""
    mask = np.ones((m, s_enc), dtype=bool)
    mask[0, 3:] = False
    mask[1, 1] = False
    if empty_row:
        mask[2] = False
    return mask


def _layer(score, seed=1, **kwargs):
    units = {"units": 3} if score == "additive" else {}
    return Attention(score, **units, **kwargs).seed(seed)


# ----------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "mask"])
@pytest.mark.parametrize("score", SCORES)
def test_gradcheck_queries_keys_and_parameters(score, masked):
    """dQ, dK (keys = values) and every parameter gradient agree with central differences."""
    Q, K = _data()
    layer = _layer(score)
    result = gradcheck(layer, Q, inputs={"K": K}, mask=_mask() if masked else None)
    expected = {"X", "K"} | {f"Attention.{k}" for k in layer.p}
    assert set(result) == expected
    assert result.worst < TOL, repr(result)


@pytest.mark.parametrize("score", SCORES)
def test_gradcheck_self_attention_inside_a_model(score):
    """Without keys the queries attend over themselves; dX then sums both paths."""
    Q, _ = _data(m=2, s_dec=3, e=3, seed=2)
    model = Model([_layer(score, name="att"), Dense(2)], loss="mse", seed=0)
    Y = np.random.default_rng(3).standard_normal((2, 3, 2))
    result = gradcheck(model, Q, Y)
    assert result.worst < TOL, repr(result)


class AttentionWithoutSoftmaxJacobian(Attention):
    """A deliberately WRONG backward: (A11) without the row term, ds = weights * dweights."""

    def backward(self, dA):
        out = super().backward(dA)
        wrong = self.bc["dweights"] * self.fc["weights"]
        extra = np.matmul(wrong - self.bc["dscores"], self.fc["K"])
        return out + extra


def test_gradcheck_catches_a_wrong_softmax_backward():
    Q, K = _data()
    result = gradcheck(AttentionWithoutSoftmaxJacobian("dot").seed(0), Q, inputs={"K": K})
    assert result["X"] > 1e-3


def test_masked_steps_get_no_weight_and_no_gradient():
    Q, K = _data()
    mask = _mask()
    layer = _layer("additive")
    layer(Q, K=K, mask=mask)
    weights = layer.fc["weights"]
    assert np.all(weights[~np.broadcast_to(mask[:, None, :], weights.shape)] == 0.0)
    assert np.all(np.isneginf(layer.fc["scores"][0, :, 3:]))
    np.testing.assert_allclose(weights[:2].sum(axis=-1), 1.0, rtol=1e-14)
    assert np.all(weights[2] == 0.0) and np.all(layer.fc["context"][2] == 0.0)
    layer.backward(np.ones_like(layer.fc["A"]))
    assert np.all(layer.bc["dK"][0, 3:] == 0.0) and np.all(layer.bc["dK"][1, 1] == 0.0)
    # a padded key changes nothing
    K2 = K.copy()
    K2[0, 3:] = 100.0
    np.testing.assert_array_equal(_layer("additive")(Q, K=K2, mask=mask)[0], weights[0] @ K[0])


# ----------------------------------------------------------------------------- torch
def _torch_attention(torch, score, Q, K, p, mask):
    """The three scores written directly with torch tensors (autograd does the backward)."""
    if score == "dot":
        S = Q @ K.transpose(1, 2)                               # Luong dot
    elif score == "general":
        S = (Q @ p["W"]) @ K.transpose(1, 2)                    # Luong general
    else:                                                       # Bahdanau: v^T tanh(Wq q + Wk k + b)
        T = torch.tanh((Q @ p["Wq"])[:, :, None, :] + (K @ p["Wk"] + p["b"])[:, None, :, :])
        S = (T @ p["v"])[..., 0]
    if mask is not None:
        S = S.masked_fill(~mask[:, None, :], float("-inf"))
    return torch.softmax(S, dim=-1) @ K


@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "mask"])
@pytest.mark.parametrize("score", SCORES)
def test_matches_torch_autograd_float64(score, masked):
    torch = pytest.importorskip("torch")
    Q, K = _data(m=3, s_dec=4, s_enc=6, e=5, seed=4)
    mask = _mask(s_enc=6, empty_row=False) if masked else None   # torch gives NaN for empty rows
    layer = _layer(score, seed=5)
    A = layer(Q, K=K, mask=mask)
    dA = np.random.default_rng(6).standard_normal(A.shape)
    dQ = layer.backward(dA)
    layer.compute_gradients()

    tQ = torch.tensor(Q, requires_grad=True)
    tK = torch.tensor(K, requires_grad=True)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in layer.p.items()}
    tmask = None if mask is None else torch.tensor(mask)
    out = _torch_attention(torch, score, tQ, tK, tp, tmask)
    out.backward(torch.tensor(dA))
    np.testing.assert_allclose(A, out.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dQ, tQ.grad.numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(layer.bc["dK"], tK.grad.numpy(), rtol=0, atol=1e-9)
    for name, tensor in tp.items():
        np.testing.assert_allclose(layer.g["d" + name], tensor.grad.numpy(), rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- oracle
def _close(fast, ref, rtol, what):
    fast, ref = np.asarray(fast, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert fast.shape == ref.shape, what
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(fast), finite, err_msg=what)
    np.testing.assert_array_equal(fast[~finite], ref[~finite], err_msg=what)
    scale = max(np.max(np.abs(ref[finite]), initial=0.0), 1e-300)
    err = np.max(np.abs(fast[finite] - ref[finite]), initial=0.0) / scale
    assert err <= rtol, f"{what}: relative error {err:.2e} > {rtol:.0e}"


SHAPES = [(1, 1, 1, 1), (2, 3, 4, 3), (3, 1, 6, 2), (2, 5, 1, 4)]


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "m%d-sdec%d-senc%d-e%d" % s)
@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "mask"])
@pytest.mark.parametrize("score", SCORES)
def test_fast_path_equals_reference(score, masked, shape, dtype, rtol):
    """Every public fc, bc and g entry of the layer equals the plain per-step reference."""
    m, s_dec, s_enc, e = shape
    rng = np.random.default_rng(sum(shape))
    Q = rng.standard_normal((m, s_dec, e)).astype(dtype)
    K = rng.standard_normal((m, s_enc, e + (score != "dot"))).astype(dtype)
    mask = rng.random((m, s_enc)) < 0.7 if masked else None
    if masked:
        mask[0, 0] = True
        mask[-1] = mask[-1] & (m == 1)          # the last sample: no real step (unless m = 1)
    layer = Attention(score).seed(7)
    layer.dtype = np.dtype(dtype)
    A = layer(Q, K=K, mask=mask)
    dA = rng.standard_normal(A.shape).astype(dtype)
    layer.backward(dA)
    layer.compute_gradients()

    p = {k: v.astype(np.float64) for k, v in layer.p.items()}
    fc = attention_forward(Q.astype(np.float64), K.astype(np.float64), p, score, mask)
    bc, g = attention_backward(dA.astype(np.float64), fc, p, score)
    public = [k for k in layer.fc if not k.startswith("_")]
    assert sorted(public) == sorted(fc)
    for key in fc:
        if key == "mask":
            assert (layer.fc["mask"] is None) == (mask is None)
            continue
        assert layer.fc[key].dtype == np.dtype(dtype), key
        _close(layer.fc[key], fc[key], rtol, f"fc[{key!r}]")
    assert sorted(k for k in layer.bc if not k.startswith("_")) == sorted(bc)
    for key in bc:
        _close(layer.bc[key], bc[key], rtol, f"bc[{key!r}]")
    assert sorted(layer.g) == sorted(g)
    for key in list(bc) + list(g):                      # bs states every backward shape
        assert layer.bs[key] == np.shape(bc[key] if key in bc else g[key]), key
    for key in g:
        assert layer.g[key].dtype == np.dtype(dtype), key
        _close(layer.g[key], g[key], rtol, f"g[{key!r}]")


@hypothesis.settings(max_examples=30, derandomize=True, deadline=None)
@hypothesis.given(m=st.integers(1, 3), s_dec=st.integers(1, 4), s_enc=st.integers(1, 5),
                  e=st.integers(1, 4), units=st.integers(1, 3), score=st.sampled_from(SCORES),
                  masked=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_fast_path_equals_reference_property(m, s_dec, s_enc, e, units, score, masked, seed):
    """The same, over random shapes, masks (some rows without real steps) and additive widths."""
    rng = np.random.default_rng(seed)
    Q, K = rng.standard_normal((m, s_dec, e)), rng.standard_normal((m, s_enc, e))
    mask = rng.random((m, s_enc)) < 0.6 if masked else None
    layer = Attention(score, units=units if score == "additive" else None).seed(seed)
    A = layer(Q, K=K, mask=mask)
    dA = rng.standard_normal(A.shape)
    layer.backward(dA)
    layer.compute_gradients()
    fc = attention_forward(Q, K, layer.p, score, mask)
    bc, g = attention_backward(dA, fc, layer.p, score)
    for store, ref in ((layer.fc, fc), (layer.bc, bc), (layer.g, g)):
        for key in ref:
            if key != "mask":
                _close(store[key], ref[key], 1e-12, key)


# ----------------------------------------------------------------------------- contract
def test_shapes_and_parameters():
    Q, K = np.zeros((2, 3, 4)), np.zeros((2, 7, 5))
    layer = Attention("additive", units=6).seed(0)
    assert layer(Q, K=K).shape == (2, 3, 5)
    assert {k: v.shape for k, v in layer.p.items()} == {
        "Wq": (4, 6), "Wk": (5, 6), "b": (1, 6), "v": (6, 1)}
    assert layer.fc["T"].shape == (2, 3, 7, 6) and layer.fc["weights"].shape == (2, 3, 7)
    general = Attention("general").seed(0)
    general(Q, K=K)
    assert general.p["W"].shape == (4, 5)
    assert Attention("dot")(np.zeros((2, 3, 4)), K=np.zeros((2, 7, 4))).shape == (2, 3, 4)
    assert Attention("dot").p == {}
    # uniform weights when all scores are equal
    np.testing.assert_allclose(Attention("dot")(Q, K=np.zeros((2, 7, 4))), 0.0)


def test_config_rebuilds_the_layer():
    layer = Attention("additive", units=4, name="att", l2=0.1)
    again = Attention(**layer.config())
    assert again.config() == layer.config()
    assert (again.score, again.units, again.name, again.l2) == ("additive", 4, "att", 0.1)


def test_errors_name_the_layer_and_the_values():
    with pytest.raises(ValueError, match="Attention: score must be one of .* got 'cosine'"):
        Attention("cosine")
    with pytest.raises(ValueError, match="units is the width of the additive score"):
        Attention("dot", units=3)
    with pytest.raises(ValueError, match="units must be a positive integer, got 0"):
        Attention("additive", units=0)
    with pytest.raises(ValueError, match="dot score needs .* e_q = 4 and e_k = 5"):
        Attention("dot")(np.zeros((2, 3, 4)), K=np.zeros((2, 6, 5)))
    with pytest.raises(ValueError, match=r"keys must have shape \(m, s_enc, e_k\) with m = 2"):
        Attention("dot")(np.zeros((2, 3, 4)), K=np.zeros((3, 6, 4)))
    with pytest.raises(ValueError, match=r"mask must have shape \(m, s_enc\) = \(2, 6\), got \(2, 3\)"):
        Attention("dot")(np.zeros((2, 3, 4)), K=np.zeros((2, 6, 4)), mask=np.ones((2, 3), bool))
    layer = Attention("general")
    layer(np.zeros((2, 3, 4)), K=np.zeros((2, 6, 5)))
    with pytest.raises(ValueError, match="forward got keys of shape"):
        layer.forward(np.zeros((2, 3, 4)), K=np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="built for inputs with e_k = 5 features, got 4"):
        layer(np.zeros((2, 3, 4)), K=np.zeros((2, 6, 4)))
    with pytest.raises(ValueError, match=r"backward expected dA of shape \(2, 3, 5\)"):
        layer(np.zeros((2, 3, 4)), K=np.zeros((2, 6, 5)))
        layer.backward(np.zeros((2, 3, 4)))
