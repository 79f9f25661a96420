"""Two paths, one truth: each fast layer equals its readable reference in unrolled/reference/.

For Dense, Dropout, Embedding and RepeatVector, every public entry of ``fc``, ``bc`` and ``g``
(every key not starting with ``_``) of the layer the model runs equals the entry of the same name
computed by the reference, one statement per equation: in float64 to 1e-12 and in float32 to
1e-5, relative to the largest entry of the reference array, or for a sum (a product's inner
dimension, dW, db, dE...) to the largest sum of the magnitudes of its terms, the scale rounding
errors are made at when the terms nearly cancel (a softmax's dZ sums to zero over each row, so
its db may be tiny). The key sets must match too, so a public entry without a reference (or a
reference entry the layer drops) fails.

Shapes are drawn by hypothesis (derandomized, so every run checks the same cases) and include
m=1, one step, one unit and 3-D input; Dense is also fed the batch-major view of time-major
memory that a recurrent layer's ``fc["h"]`` is, which takes the layer's time-major branch.
"""
import copy

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from unrolled.framework.activations import ACTIVATIONS
from unrolled.layers import Dense, Dropout, Embedding, RepeatVector
from unrolled.reference.dense import dense_backward, dense_forward
from unrolled.reference.dropout import dropout_backward, dropout_forward, dropout_mask_shape
from unrolled.reference.embedding import embedding_backward, embedding_forward
from unrolled.reference.repeat_vector import repeat_vector_backward, repeat_vector_forward

TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
ORACLE = settings(max_examples=40, derandomize=True, deadline=None)

dims = st.integers(1, 4)
dtypes = st.sampled_from([np.float64, np.float32])
seeds = st.integers(0, 2**16)


def public(store):
    return {key: value for key, value in store.items() if not key.startswith("_")}


def assert_same(fast, reference, dtype, where, magnitudes=None):
    """``fast`` equals ``reference`` key by key, each array to the dtype's relative tolerance;
    ``magnitudes[key]``, when given, is the array of the sums of the terms' magnitudes."""
    fast, reference = public(fast), dict(reference)
    assert sorted(fast) == sorted(reference), f"{where}: keys {sorted(fast)} != {sorted(reference)}"
    for key, ref in reference.items():
        got = fast[key]
        if ref is None:
            assert got is None, f"{where}[{key!r}] should be None"
            continue
        got, ref = np.asarray(got), np.asarray(ref)
        assert got.shape == ref.shape, f"{where}[{key!r}]: shape {got.shape} != {ref.shape}"
        if not np.issubdtype(ref.dtype, np.floating):
            np.testing.assert_array_equal(got, ref, err_msg=f"{where}[{key!r}]")
            continue
        error = float(np.max(np.abs(got - ref), initial=0.0))
        scale = float(np.max(np.abs(ref), initial=0.0))
        if magnitudes and key in magnitudes:
            scale = max(scale, float(np.max(magnitudes[key], initial=0.0)))
        assert error <= TOLERANCE[np.dtype(dtype)] * scale, (
            f"{where}[{key!r}]: largest difference {error:.3g}, largest entry {scale:.3g}")


def abs_rows(array):
    """|array| with every sample (and step) one row."""
    return np.abs(array).reshape(-1, array.shape[-1])


# --------------------------------------------------------------------------------------- Dense
#: every activation with parameters away from their defaults where they have some
ACTIVATION_CASES = [("identity", {}), ("sigmoid", {}), ("tanh", {}), ("relu", {}),
                    ("leaky_relu", {"alpha": 0.2}), ("elu", {"alpha": 0.7}), ("selu", {}),
                    ("swish", {"beta": 1.5}), ("gompertz", {}), ("softplus", {}), ("hard_sigmoid", {"slope": 0.3}),
                    ("softmax", {}), ("softmax", {"temperature": 2.0})]


def test_the_oracle_covers_every_activation():
    assert {name for name, _ in ACTIVATION_CASES} == set(ACTIVATIONS)


@pytest.mark.parametrize("case", ACTIVATION_CASES, ids=lambda c: f"{c[0]}{c[1] or ''}")
@ORACLE
@given(m=dims, steps=st.sampled_from([None, 1, 3]), n=dims, u=dims, dtype=dtypes, seed=seeds,
       time_major=st.booleans(), fused=st.booleans(), input_gradient=st.booleans())
def test_dense_equals_reference(m, steps, n, u, dtype, seed, case, time_major, fused,
                                input_gradient):
    name, params = case
    rng = np.random.default_rng(seed)
    if steps is None:
        X = rng.standard_normal((m, n)).astype(dtype)
    elif time_major:                      # a recurrent layer's fc["h"]: (m, s, n) over (s, m, n)
        X = rng.standard_normal((steps, m, n)).astype(dtype).swapaxes(0, 1)
    else:
        X = rng.standard_normal((m, steps, n)).astype(dtype)
    layer = Dense(u, activation=name, activation_params=params).seed(seed)
    layer.fused_output, layer.input_gradient = fused, input_gradient
    layer.build(X)
    layer.p["b"][...] = rng.standard_normal(layer.p["b"].shape)   # b starts at zero: move it
    W, b = layer.p["W"].copy(), layer.p["b"].copy()
    dA = rng.standard_normal(X.shape[:-1] + (u,)).astype(dtype)

    layer.forward(X)
    layer.backward(dA.copy())
    layer.compute_gradients()

    fc = dense_forward(X, W, b, name, **params)
    bc, g = dense_backward(fc, W, dA, name, fused_output=fused, **params)
    if not input_gradient:                # the model's first layer skips (D4)
        bc["dX"] = None
    T = params.get("temperature", 1.0)
    sums = {"Z": np.abs(X) @ np.abs(W) + np.abs(b), "dX": np.abs(bc["dZ"]) @ np.abs(W).T,
            "dW": abs_rows(X).T @ abs_rows(bc["dZ"]), "db": abs_rows(bc["dZ"]).sum(axis=0)}
    if name == "softmax" and not fused:   # dZ = A (dA - sum(dA A)) / T
        sums["dZ"] = np.abs(fc["A"]) * (np.abs(dA) + (np.abs(dA) * fc["A"]).sum(-1, keepdims=True)) / T
    assert_same(layer.fc, fc, dtype, "fc", sums)
    assert_same(layer.bc, bc, dtype, "bc", sums)
    assert_same(layer.g, g, dtype, "g", sums)


# ------------------------------------------------------------------------------------- Dropout
@st.composite
def dropout_axes(draw, ndim):
    """A subset of the non-batch axes of an ``ndim``-D input, some written from the end."""
    axes = draw(st.lists(st.integers(1, ndim - 1), unique=True, max_size=ndim - 1))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@ORACLE
@given(m=dims, steps=st.sampled_from([None, 1, 3, (2, 3)]), n=dims, dtype=dtypes, seed=seeds,
       rate=st.sampled_from([0.0, 0.3, 0.5, 0.9]), per_sequence=st.booleans(),
       training=st.booleans(), input_gradient=st.booleans(), data=st.data())
def test_dropout_equals_reference(m, steps, n, dtype, seed, rate, per_sequence, training,
                                  input_gradient, data):
    rng = np.random.default_rng(seed)
    middle = () if steps is None else (steps,) if isinstance(steps, int) else steps
    shape = (m, *middle, n)                     # (m, n), (m, s, n) or (m, h, w, c)
    axis = () if per_sequence else data.draw(dropout_axes(len(shape)), label="axis")
    X = rng.standard_normal(shape).astype(dtype)
    dA = rng.standard_normal(shape).astype(dtype)
    layer = Dropout(rate, per_sequence=per_sequence, axis=axis).seed(seed)
    layer.training, layer.input_gradient = training, input_gradient
    layer.build(X)
    # (DR5), (DR1): U uniform on [0, 1) from the layer's generator, one per mask element
    shared = (1,) if per_sequence and len(shape) == 3 else axis
    mask_shape = dropout_mask_shape(shape, shared)
    keep = copy.deepcopy(layer.rng).random(mask_shape) >= rate

    layer.forward(X)
    layer.backward(dA.copy())

    dropping = training and rate > 0
    fc = dropout_forward(X, keep if dropping else None, rate)
    bc = dropout_backward(fc, dA)
    if not input_gradient:
        bc["dX"] = None
    assert_same(layer.fc, fc, dtype, "fc")
    assert_same(layer.bc, bc, dtype, "bc")


# ----------------------------------------------------------------------------------- Embedding
@ORACLE
@given(m=dims, steps=st.sampled_from([None, 1, 5]), v=st.integers(1, 6), k=dims, dtype=dtypes,
       seed=seeds, float_ids=st.booleans())
def test_embedding_equals_reference(m, steps, v, k, dtype, seed, float_ids):
    rng = np.random.default_rng(seed)
    shape = (m,) if steps is None else (m, steps)
    ids = rng.integers(0, v, shape)                # repeated ids are the interesting case of (E2)
    layer = Embedding(v, k).seed(seed)
    layer.dtype = np.dtype(dtype)
    given_ids = ids.astype(np.float64) if float_ids else ids      # whole numbers held as floats
    layer.build(given_ids)
    E = layer.p["E"].copy()
    dA = rng.standard_normal(shape + (k,)).astype(dtype)

    layer.forward(given_ids)
    layer.backward(dA.copy())
    layer.compute_gradients()

    fc = embedding_forward(ids, E)
    bc, g = embedding_backward(fc, E, dA)
    sums = {"dE": embedding_backward(fc, E, np.abs(dA))[1]["dE"]}    # (E2) on |dA|
    assert_same(layer.fc, fc, dtype, "fc")
    assert_same(layer.bc, bc, dtype, "bc")
    assert_same(layer.g, g, dtype, "g", sums)


# -------------------------------------------------------------------------------- RepeatVector
@ORACLE
@given(m=dims, e=dims, n=st.integers(1, 5), dtype=dtypes, seed=seeds)
def test_repeat_vector_equals_reference(m, e, n, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, e)).astype(dtype)
    dA = rng.standard_normal((m, n, e)).astype(dtype)
    layer = RepeatVector(n)
    layer(X)
    layer.backward(dA.copy())

    fc = repeat_vector_forward(X, n)
    assert_same(layer.fc, fc, dtype, "fc")
    sums = {"dX": np.abs(dA).sum(axis=1)}
    assert_same(layer.bc, repeat_vector_backward(fc, dA), dtype, "bc", sums)


# ------------------------------------------------------------------------ the oracle's own teeth
def test_the_comparison_fails_on_a_wrong_entry_and_on_a_missing_key():
    ref = {"A": np.array([1.0, -2.0, 4.0])}
    assert_same({"A": ref["A"] * (1 + 1e-13), "_scratch": 0}, ref, np.float64, "fc")
    with pytest.raises(AssertionError, match="largest difference"):
        assert_same({"A": ref["A"] + [0, 0, 1e-10]}, ref, np.float64, "fc")
    with pytest.raises(AssertionError, match="keys"):
        assert_same({"A": ref["A"], "Z": ref["A"]}, ref, np.float64, "fc")
