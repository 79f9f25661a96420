"""MultiHeadAttention and LayerNormalization against PyTorch in float64: outputs to 1e-10, every
gradient to 1e-9. Weights map as ``in_proj_weight = [Wq Wk Wv]^T``, ``out_proj.weight = Wo^T``
(PyTorch stores ``(out, in)``; unrolled ``(in, out)``) and ``in_proj_bias = [bq 0 bv]`` (unrolled
has no key bias: its gradient in PyTorch is 0, as the tests check); a key mask True on real steps is PyTorch's
``key_padding_mask`` negated; causal is PyTorch's boolean ``attn_mask`` above the diagonal."""
import numpy as np
import pytest

from unrolled.layers import LayerNormalization, MultiHeadAttention

torch = pytest.importorskip("torch")

OUT, GRAD = 1e-10, 1e-9


def close(ours, theirs, tol):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours.shape == theirs.shape
    scale = max(1.0, float(np.abs(theirs).max()))
    assert np.abs(ours - theirs).max() <= tol * scale


def t(a, grad=False):
    return torch.tensor(np.array(a), dtype=torch.float64, requires_grad=grad)


def key_mask():
    mask = np.ones((3, 5), dtype=bool)
    mask[1, 3:] = False            # a padded sequence
    mask[2, 1] = False             # a hole, still leaving key 0 to every causal query
    return mask


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_self_attention_matches_torch(causal, masked):
    rng = np.random.default_rng(1)
    m, s, e, h = 3, 5, 8, 2
    X = rng.standard_normal((m, s, e))
    mask = key_mask() if masked else None
    layer = MultiHeadAttention(h, e // h, causal=causal).seed(0)
    layer.training = True
    A = layer(X, mask=mask)
    for name in ("bq", "bv", "bo"):                    # nonzero biases, so their paths count
        layer.p[name][:] = rng.standard_normal(layer.p[name].shape)
    A = layer(X, mask=mask).copy()
    R = rng.standard_normal(A.shape)
    layer.backward(R)
    layer.compute_gradients()

    mha = torch.nn.MultiheadAttention(e, h, batch_first=True, dtype=torch.float64)
    p = layer.p
    with torch.no_grad():
        mha.in_proj_weight.copy_(t(np.concatenate([p["Wq"], p["Wk"], p["Wv"]], axis=1).T))
        mha.in_proj_bias.copy_(t(np.concatenate([p["bq"], 0 * p["bq"], p["bv"]], axis=1)[0]))
        mha.out_proj.weight.copy_(t(p["Wo"].T))
        mha.out_proj.bias.copy_(t(p["bo"][0]))
    Xt = t(X, grad=True)
    kw = {}
    if masked:
        kw["key_padding_mask"] = torch.tensor(~mask)
    if causal:
        kw["attn_mask"] = torch.tensor(~np.tri(s, s, dtype=bool))
    out, weights = mha(Xt, Xt, Xt, need_weights=True, average_attn_weights=False, **kw)
    out.backward(t(R))

    close(A, out, OUT)
    close(layer.fc["weights"], weights, OUT)
    close(layer.bc["dX"], Xt.grad, GRAD)
    g = layer.g
    close(np.concatenate([g["dWq"], g["dWk"], g["dWv"]], axis=1).T, mha.in_proj_weight.grad, GRAD)
    close(np.concatenate([g["dbq"], 0 * g["dbq"], g["dbv"]], axis=1)[0], mha.in_proj_bias.grad, GRAD)
    close(g["dWo"].T, mha.out_proj.weight.grad, GRAD)
    close(g["dbo"][0], mha.out_proj.bias.grad, GRAD)


def test_cross_attention_with_other_memory_width_matches_torch():
    """Queries from X (width 8), keys and values from memory (width 5): PyTorch's kdim/vdim."""
    rng = np.random.default_rng(2)
    m, s_q, s_k, e, e_k, h = 3, 4, 5, 8, 5, 4
    X, M = rng.standard_normal((m, s_q, e)), rng.standard_normal((m, s_k, e_k))
    mask = key_mask()
    layer = MultiHeadAttention(h, e // h, memory_dim=e_k).seed(0)
    layer.build(X)
    for name in ("bq", "bv", "bo"):
        layer.p[name][:] = rng.standard_normal(layer.p[name].shape)
    layer.training = True
    A = layer(X, memory=M, mask=mask).copy()
    R = rng.standard_normal(A.shape)
    layer.backward(R)
    layer.compute_gradients()

    mha = torch.nn.MultiheadAttention(e, h, batch_first=True, kdim=e_k, vdim=e_k,
                                      dtype=torch.float64)
    p = layer.p
    with torch.no_grad():
        mha.q_proj_weight.copy_(t(p["Wq"].T))
        mha.k_proj_weight.copy_(t(p["Wk"].T))
        mha.v_proj_weight.copy_(t(p["Wv"].T))
        mha.in_proj_bias.copy_(t(np.concatenate([p["bq"], 0 * p["bq"], p["bv"]], axis=1)[0]))
        mha.out_proj.weight.copy_(t(p["Wo"].T))
        mha.out_proj.bias.copy_(t(p["bo"][0]))
    Xt, Mt = t(X, grad=True), t(M, grad=True)
    out, weights = mha(Xt, Mt, Mt, key_padding_mask=torch.tensor(~mask), need_weights=True,
                       average_attn_weights=False)
    out.backward(t(R))

    close(A, out, OUT)
    close(layer.fc["weights"], weights, OUT)
    close(layer.bc["dX"], Xt.grad, GRAD)
    close(layer.bc["dmemory"], Mt.grad, GRAD)
    g = layer.g
    close(g["dWq"].T, mha.q_proj_weight.grad, GRAD)
    close(g["dWk"].T, mha.k_proj_weight.grad, GRAD)
    close(g["dWv"].T, mha.v_proj_weight.grad, GRAD)
    close(np.concatenate([g["dbq"], 0 * g["dbq"], g["dbv"]], axis=1)[0], mha.in_proj_bias.grad, GRAD)
    close(g["dWo"].T, mha.out_proj.weight.grad, GRAD)


@pytest.mark.parametrize("shape", [(4, 7), (3, 5, 7)])
def test_layer_normalization_matches_torch(shape):
    rng = np.random.default_rng(3)
    X = rng.standard_normal(shape) * 3 + 1
    layer = LayerNormalization(epsilon=1e-5).seed(0)
    layer.build(X)
    layer.p["gamma"][:] = rng.standard_normal(7)
    layer.p["beta"][:] = rng.standard_normal(7)
    A = layer(X).copy()
    R = rng.standard_normal(A.shape)
    layer.backward(R)
    layer.compute_gradients()

    norm = torch.nn.LayerNorm(7, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(t(layer.p["gamma"]))
        norm.bias.copy_(t(layer.p["beta"]))
    Xt = t(X, grad=True)
    out = norm(Xt)
    out.backward(t(R))
    close(A, out, OUT)
    close(layer.bc["dX"], Xt.grad, GRAD)
    close(layer.g["dgamma"], norm.weight.grad, GRAD)
    close(layer.g["dbeta"], norm.bias.grad, GRAD)
