"""The oracle: the fast recurrent layers equal the readable references, entry by entry.

unrolled/reference/ computes RNN, LSTM and GRU (both formulations) one equation per statement;
unrolled/layers/ computes the same arithmetic reordered for speed (time-major buffers, fused
gates, chunks of steps, lean mode, ``out=``). Every public ``fc`` and ``bc`` entry and every ``g``
entry of the fast layer must equal the reference's: float64 to 1e-12 and float32 to 1e-5,
relative to the largest entry of the array (a sum taken in another order differs in the last
bits, and an entry near zero has no relative precision of its own). Random choices (dropout
masks) are read from the fast layer's cache and handed to the reference.

Covered: masks (right-padded, left-padded, with gaps, rows without any real step), initial states,
``sequences`` both ways, ``lean=True``, chunks of one step and of all steps, ``stateful``, input
and recurrent dropout, final-state gradients (dhT, dCT), activations whose derivative needs the
pre-activation (the branches that keep ``fc["Z"]``), ``use_bias=False`` (no ``b``, nor GRU's ``bh``:
the reference reads a ``p`` without them as a bias of zero), float64 and float32, and with
hypothesis shapes down to m = 1, s = 1, u = 1. Bidirectional is checked against two cell references, one on
the sequences reversed within their real steps.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unrolled.framework.activations import Sigmoid, Tanh
from unrolled.layers import GRU, LSTM, RNN, Bidirectional
from unrolled.layers.bidirectional import take_steps
from unrolled.reference.bidirectional import (bidirectional_backward, bidirectional_forward,
                                              reverse_steps)
from unrolled.reference.gru import (gru_reset_after_backward, gru_reset_after_forward,
                                    gru_reset_before_backward, gru_reset_before_forward)
from unrolled.reference.lstm import lstm_backward, lstm_forward
from unrolled.reference.rnn import rnn_backward, rnn_forward

class TanhFromZ(Tanh):
    """tanh whose derivative is taken from the pre-activation (needs_input): the layers then keep
    fc["Z"] and run their branches for such activations, with the reference's arithmetic."""
    needs_input = True

    def derivative(self, a, z=None, out=None):
        return np.subtract(1.0, np.square(np.tanh(z)), out=out)

    def backward(self, da, a, z=None, out=None):
        out = self.derivative(a, z, out=out)
        out *= da
        return out


class SigmoidFromZ(Sigmoid):
    """The sigmoid counterpart of TanhFromZ."""
    needs_input = True

    def derivative(self, a, z=None, out=None):
        sig = 0.5 * np.tanh(0.5 * z) + 0.5
        return np.multiply(sig, 1.0 - sig, out=out)

    def backward(self, da, a, z=None, out=None):
        out = self.derivative(a, z, out=out)
        out *= da
        return out


def from_z(cell):
    """Activation arguments for ``cell`` that compute the same functions from z."""
    return {"activation": TanhFromZ()} if cell == "rnn" else \
        {"activation": TanhFromZ(), "recurrent_activation": SigmoidFromZ()}


CELLS = {
    "rnn": (lambda u, **kw: RNN(u, **kw), rnn_forward, rnn_backward),
    "lstm": (lambda u, **kw: LSTM(u, **kw), lstm_forward, lstm_backward),
    "gru_reset_after": (lambda u, **kw: GRU(u, reset_after=True, **kw),
                        gru_reset_after_forward, gru_reset_after_backward),
    "gru_reset_before": (lambda u, **kw: GRU(u, reset_after=False, **kw),
                         gru_reset_before_forward, gru_reset_before_backward),
}
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
MASKS = ("none", "right", "left", "gaps", "empty_row")


def make_mask(kind, m, s, rng):
    """(m, s) sequence mask of one kind, or None."""
    if kind == "none":
        return None
    steps = np.arange(s)[None, :]
    lengths = rng.integers(1, s + 1, size=(m, 1))
    if kind == "right":                       # real steps first, padding after
        return steps < lengths
    if kind == "left":                        # padding first, the last step real
        return steps >= s - lengths
    mask = rng.random((m, s)) < 0.6           # gaps: padded steps anywhere
    if kind == "empty_row":
        mask[0] = False                       # a sequence without any real step
    return mask


def public(store):
    """Copies of the public entries of a cache (None stays None)."""
    return {k: None if v is None else np.array(v) for k, v in store.items() if not k.startswith("_")}


def assert_same(fast, ref, what, dtype, may_be_none=()):
    """Both dictionaries hold the same keys and equal arrays (see the module docstring)."""
    assert set(fast) == set(ref), (what, sorted(set(fast) ^ set(ref)))
    rtol = RTOL[np.dtype(dtype)]
    for key in sorted(ref):
        got, want = fast[key], ref[key]
        if want is None or got is None:
            assert got is None and (want is None or key in may_be_none), (what, key, got, want)
            continue
        got, want = np.asarray(got), np.asarray(want)
        assert got.shape == want.shape, (what, key, got.shape, want.shape)
        if got.dtype == bool:
            np.testing.assert_array_equal(got, want, err_msg=f"{what}[{key!r}]")
            continue
        assert got.dtype == dtype, (what, key, got.dtype)
        err = float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0))
        scale = float(np.max(np.abs(want), initial=0.0))
        assert err <= rtol * scale, f"{what}[{key!r}]: max error {err:.3g}, largest entry {scale:.3g}"


def prepare(layer, shape, dtype, training, mask_kind, rng):
    """Build the layer on random input of ``shape`` with random parameters; the input and mask."""
    layer.dtype = dtype
    X = rng.standard_normal(shape).astype(dtype)
    layer.build(X)
    for value in layer.p.values():
        value[...] = 0.7 * rng.standard_normal(value.shape)
    layer.training = training
    return X, make_mask(mask_kind, shape[0], shape[1], rng)


def compare(cell, m=3, s=5, e=2, u=3, dtype=np.float64, seed=0, sequences=False, mask="none",
            initial=False, lean=False, chunk_bytes=None, dropout=False, final=False,
            stateful=False, activations_from_z=False, use_bias=True):
    """Run the fast layer and the reference on the same data; compare fc, bc and g."""
    dtype = np.dtype(dtype)
    make, ref_forward, ref_backward = CELLS[cell]
    rng = np.random.default_rng(seed)
    rates = {"dropout": 0.3, "recurrent_dropout": 0.4} if dropout else {}
    options = from_z(cell) if activations_from_z else {}
    layer = make(u, sequences=sequences, lean=lean, stateful=stateful, use_bias=use_bias, **rates,
                 **options)
    layer.seed(seed)
    if chunk_bytes is not None:
        layer.chunk_bytes = chunk_bytes
    X, mask = prepare(layer, (m, s, e), dtype, dropout, mask, rng)
    biases = {"b", "bh"} if cell == "gru_reset_after" else {"b"}
    assert set(layer.p) == {"U", "V"} | (biases if use_bias else set())
    states = {}
    if initial:
        states = {name + "0": rng.standard_normal((m, u)).astype(dtype) for name in layer.state_names}
    if stateful:                              # a first batch leaves its final states behind
        layer(rng.standard_normal((m, s, e)).astype(dtype))
        states = {name + "0": layer.carried[name].copy() for name in layer.state_names}
        A = layer(X, **({} if mask is None else {"mask": mask}))
    else:
        A = layer(X, **({} if mask is None else {"mask": mask}), **states)
    fc = public(layer.fc)
    dA = rng.standard_normal(A.shape).astype(dtype)
    finals = {}
    if final:
        finals = {f"d{name}T": rng.standard_normal((m, u)).astype(dtype) for name in layer.state_names}
    layer.backward(dA, **finals)
    layer.compute_gradients()
    bc, g = public(layer.bc), public(layer.g)

    ref_fc = ref_forward(X, layer.p, mask=mask, dropout_mask=fc["dropout_mask"],
                         recurrent_dropout_mask=fc["recurrent_dropout_mask"],
                         sequences=sequences, **states)
    ref_bc, ref_g = ref_backward(ref_fc, layer.p, dA, **finals)
    what = f"{cell} {dtype}"
    # the pre-activations of gated cells are kept only when an activation needs them
    keeps_Z = layer.gates == 1 or activations_from_z
    assert_same(fc, ref_fc, what + " fc", dtype, may_be_none=() if keeps_Z else {"Z"})
    # lean: dh_t lives only during step t
    assert_same(bc, ref_bc, what + " bc", dtype, may_be_none={"dh"} if lean else ())
    assert_same(g, ref_g, what + " g", dtype)
    assert (bc["dh"] is None) == lean


OPTIONS = {
    "plain": {},
    "sequences": {"sequences": True},
    "right_padded": {"mask": "right", "sequences": True},
    "left_padded": {"mask": "left"},
    "gaps": {"mask": "gaps", "sequences": True},
    "empty_row": {"mask": "empty_row", "sequences": True},
    "initial_states": {"initial": True},
    "lean": {"lean": True, "sequences": True, "mask": "gaps"},
    "chunks_of_one_step": {"chunk_bytes": 1, "sequences": True},
    "one_chunk": {"chunk_bytes": 1 << 30},
    "lean_small_chunks": {"lean": True, "chunk_bytes": 1, "s": 17},
    "stateful": {"stateful": True, "sequences": True},
    "dropout": {"dropout": True, "sequences": True, "mask": "right"},
    "final_state_gradients": {"final": True},
    "final_sequences_masked": {"final": True, "sequences": True, "mask": "left", "initial": True},
    "activations_from_z": {"activations_from_z": True, "sequences": True, "mask": "gaps"},
    "activations_from_z_lean": {"activations_from_z": True, "lean": True, "chunk_bytes": 1,
                                "initial": True, "final": True},
    "everything": {"sequences": True, "mask": "gaps", "initial": True, "lean": True,
                   "chunk_bytes": 1, "dropout": True, "final": True, "s": 9},
    "no_bias": {"use_bias": False},
    "no_bias_sequences_masked": {"use_bias": False, "sequences": True, "mask": "gaps",
                                 "initial": True, "final": True},
    "no_bias_everything": {"use_bias": False, "sequences": True, "mask": "right", "lean": True,
                           "chunk_bytes": 1, "dropout": True, "stateful": True, "s": 9},
    "no_bias_activations_from_z": {"use_bias": False, "activations_from_z": True, "lean": True,
                                   "mask": "empty_row", "final": True},
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("cell", list(CELLS))
def test_fast_path_equals_reference(cell, option, dtype):
    compare(cell, dtype=dtype, **OPTIONS[option])


@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cell=st.sampled_from(list(CELLS)), m=st.integers(1, 4), s=st.integers(1, 6),
       e=st.integers(1, 3), u=st.integers(1, 4), dtype=st.sampled_from([np.float64, np.float32]),
       sequences=st.booleans(), mask=st.sampled_from(MASKS), initial=st.booleans(),
       lean=st.booleans(), chunk_bytes=st.sampled_from([None, 1, 64]), dropout=st.booleans(),
       final=st.booleans(), activations_from_z=st.booleans(), use_bias=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_fast_path_equals_reference_for_any_shape(cell, m, s, e, u, dtype, sequences, mask,
                                                  initial, lean, chunk_bytes, dropout, final,
                                                  activations_from_z, use_bias, seed):
    compare(cell, m=m, s=s, e=e, u=u, dtype=dtype, seed=seed, sequences=sequences, mask=mask,
            initial=initial, lean=lean, chunk_bytes=chunk_bytes, dropout=dropout, final=final,
            activations_from_z=activations_from_z, use_bias=use_bias)


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_one_step_one_unit_one_sample(cell, use_bias):
    """The smallest layer: every loop runs once and every matrix is 1 x 1."""
    compare(cell, m=1, s=1, e=1, u=1, sequences=True, initial=True, final=True,
            use_bias=use_bias)


def test_the_oracle_sees_a_single_wrong_entry():
    """assert_same fails on one changed entry, and on a missing or extra key."""
    ref = {"a": np.ones((2, 3)), "b": None}
    changed = {"a": np.ones((2, 3)), "b": None}
    changed["a"][1, 2] += 1e-10
    with pytest.raises(AssertionError, match="max error"):
        assert_same(changed, ref, "test", np.float64)
    with pytest.raises(AssertionError):
        assert_same({"a": ref["a"]}, ref, "test", np.float64)
    assert_same({"a": ref["a"].copy(), "b": None}, ref, "test", np.float64)


# --------------------------------------------------------------------------- Bidirectional
BIDIRECTIONAL_CELLS = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
                       "gru_reset_after": (gru_reset_after_forward, gru_reset_after_backward),
                       "gru_reset_before": (gru_reset_before_forward, gru_reset_before_backward)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("merge,sequences,mask,dropout", [
    ("concat", True, "gaps", False), ("sum", False, "left", True), ("mean", True, "right", True),
    ("concat", False, "none", False)])
@pytest.mark.parametrize("cell", list(CELLS))
def test_bidirectional_equals_two_references(cell, merge, sequences, mask, dropout, dtype):
    """The wrapper and both inner layers, against two cell references, one on the sequences
    reversed within their real steps; dropout masks of each direction read from its layer."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(5)
    m, s, e, u = 4, 6, 2, 3
    rates = {"dropout": 0.3, "recurrent_dropout": 0.4} if dropout else {}
    layer = Bidirectional(CELLS[cell][0](u, sequences=sequences, **rates), merge=merge).seed(1)
    X, mask = prepare(layer, (m, s, e), dtype, dropout, mask, rng)
    A = layer(X, **({} if mask is None else {"mask": mask}))
    dA = rng.standard_normal(A.shape).astype(dtype)
    layer.backward(dA)
    layer.compute_gradients()

    inner = layer.forward_layer, layer.backward_layer
    options = [{k: f.fc[k] for k in ("dropout_mask", "recurrent_dropout_mask")} for f in inner]
    assert (options[0]["dropout_mask"] is not None) == dropout
    ref_fc, fc_f, fc_b = bidirectional_forward(X, inner[0].p, inner[1].p,
                                               BIDIRECTIONAL_CELLS[cell], mask=mask, merge=merge,
                                               sequences=sequences, forward_options=options[0],
                                               backward_options=options[1])
    ref_bc, ref_g, bc_f, bc_b = bidirectional_backward(ref_fc, fc_f, fc_b, inner[0].p,
                                                       inner[1].p, BIDIRECTIONAL_CELLS[cell], dA,
                                                       merge=merge)
    fast_fc = public(layer.fc)
    # the fast path's gather index reverses the real steps as the reference does (B1)
    np.testing.assert_array_equal(take_steps(X, fast_fc.pop("reverse_index")),
                                  reverse_steps(X, mask))
    may_be_none = {"Z"} if inner[0].gates > 1 else ()
    assert_same(fast_fc, ref_fc, "fc", dtype)
    assert_same(public(layer.bc), ref_bc, "bc", dtype)
    assert_same(public(layer.g), ref_g, "g", dtype)
    for side, ref_cache, ref_grads in ((0, fc_f, bc_f), (1, fc_b, bc_b)):
        assert_same(public(inner[side].fc), ref_cache, f"{side} fc", dtype, may_be_none)
        assert_same(public(inner[side].bc), ref_grads, f"{side} bc", dtype)
