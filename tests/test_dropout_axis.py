"""Dropout(axis=): EpyNN's axes along which one mask value is shared (DR5).

The mask has size 1 along ``axis`` and the input's size elsewhere: the fast layer equals the
readable reference given the same ``keep`` (every fc/bc entry), gradients check with the mask
frozen, the drawn mask is constant along the shared axes and independent along the others, bad
``axis`` values are refused with errors naming the argument, the setting survives save/load, and
the layer computes what EpyNN's Dropout(drop_prob, axis) computes from the same uniform draws.
"""
import copy

import numpy as np
import pytest

from unrolled.framework import checks
from unrolled.framework.gradcheck import gradcheck
from unrolled.framework.model import Model
from unrolled.layers import Dense, Dropout, Flatten
from unrolled.reference.dropout import dropout_backward, dropout_forward, dropout_mask_shape

# (input shape, axis, mask shape written out by hand from (DR5))
CASES = [
    ((5, 4), (), (5, 4)),
    ((5, 4), 1, (5, 1)),
    ((5, 4), -1, (5, 1)),
    ((3, 6, 4), 1, (3, 1, 4)),                  # per_sequence=True
    ((3, 6, 4), (2,), (3, 6, 1)),               # whole steps
    ((3, 6, 4), (1, 2), (3, 1, 1)),             # whole samples
    ((2, 5, 4, 3), (1, 2), (2, 1, 1, 3)),       # spatial dropout: whole channels
    ((2, 5, 4, 3), (-3, -2), (2, 1, 1, 3)),
    ((2, 5, 4, 3), 3, (2, 5, 4, 1)),            # whole pixels
    ((2, 5, 4, 3), (2, 1, 3), (2, 1, 1, 1)),
]
IDS = [f"{len(s)}d-axis{a}" for s, a, _ in CASES]


def trained_pass(layer, X, dA):
    layer.training = True
    layer.build(X)
    keep = copy.deepcopy(layer.rng).random(layer.fs["dropout_mask"]) >= layer.rate   # (DR1)
    layer.forward(X)
    layer.backward(dA.copy())
    return keep


@pytest.mark.parametrize("shape, axis, mask_shape", CASES, ids=IDS)
def test_mask_shape_follows_dr5(shape, axis, mask_shape):
    layer = Dropout(0.5, axis=axis).seed(0)
    layer.training = True
    layer(np.ones(shape))
    assert layer.fs["dropout_mask"] == mask_shape
    assert layer.fc["dropout_mask"].shape == mask_shape
    assert dropout_mask_shape(shape, axis if isinstance(axis, tuple) else (axis,)) == mask_shape


@pytest.mark.parametrize("shape, axis, mask_shape", CASES, ids=IDS)
def test_fast_layer_equals_reference(shape, axis, mask_shape):
    rng = np.random.default_rng(len(shape) + sum(shape))
    X, dA = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = Dropout(0.4, axis=axis).seed(3)
    keep = trained_pass(layer, X, dA)
    assert keep.shape == mask_shape
    fc = dropout_forward(X, keep, 0.4)
    bc = dropout_backward(fc, dA)
    public = {k: v for k, v in layer.fc.items() if not k.startswith("_")}
    assert sorted(public) == sorted(fc) and sorted(layer.bc) == sorted(bc)
    for key in fc:
        np.testing.assert_allclose(public[key], fc[key], rtol=1e-12, atol=0, err_msg=key)
    for key in bc:
        np.testing.assert_allclose(layer.bc[key], bc[key], rtol=1e-12, atol=0, err_msg=key)
    # the reference's M, broadcast by hand, is what multiplies X and dA element by element
    full = np.broadcast_to(fc["dropout_mask"], shape)
    np.testing.assert_array_equal(layer.fc["A"], X * full)
    np.testing.assert_array_equal(layer.bc["dX"], dA * full)


@pytest.mark.parametrize("shape, axis", [((3, 4, 2), 2), ((2, 3, 4, 3), (1, 2)),
                                         ((2, 3, 4, 3), -1)], ids=["steps", "channels", "pixels"])
def test_gradcheck_with_a_frozen_mask(shape, axis):
    layer = Dropout(0.5, axis=axis).seed(2)
    X = np.random.default_rng(0).standard_normal(shape)
    result = gradcheck(layer, X)
    assert result.worst < 1e-7, result
    assert (layer.fc["dropout_mask"] == 0).any() and (layer.fc["dropout_mask"] > 0).any()


def test_mask_is_shared_along_axis_and_independent_elsewhere():
    """Spatial dropout on (m, h, w, c): every (sample, channel) draws one keep/drop, ~half kept;
    the values agree over h and w; different channels and samples draw independently."""
    m, h, w, c = 400, 3, 4, 8
    layer = Dropout(0.5, axis=(1, 2)).seed(11)
    layer.training = True
    A = layer(np.ones((m, h, w, c)))
    np.testing.assert_array_equal(A, np.broadcast_to(A[:, :1, :1, :], A.shape))
    kept = A[:, 0, 0, :] > 0                                     # (m, c) drawn entries
    assert set(np.unique(A)) == {0.0, 2.0}
    draws = kept.size                                            # 3200: sd of the fraction 0.009
    assert abs(kept.mean() - 0.5) < 5 * np.sqrt(0.25 / draws)
    # independent along channels and samples: two channels (samples) agree half of the time
    agree_channels = (kept[:, :-1] == kept[:, 1:]).mean()
    agree_samples = (kept[:-1] == kept[1:]).mean()
    for agree, n in ((agree_channels, m * (c - 1)), (agree_samples, (m - 1) * c)):
        assert abs(agree - 0.5) < 5 * np.sqrt(0.25 / n)


def test_sequence_axes_shared_and_independent():
    """(m, s, n) with axis=2: whole steps dropped, independently per sample and step."""
    layer = Dropout(0.5, axis=2).seed(5)
    layer.training = True
    A = layer(np.ones((300, 10, 6)))
    np.testing.assert_array_equal(A, np.broadcast_to(A[:, :, :1], A.shape))
    kept = A[:, :, 0] > 0
    assert abs(kept.mean() - 0.5) < 5 * np.sqrt(0.25 / kept.size)
    assert abs((kept[:, :-1] == kept[:, 1:]).mean() - 0.5) < 5 * np.sqrt(0.25 / (300 * 9))


def test_per_sequence_is_axis_1():
    X = np.random.default_rng(0).standard_normal((4, 5, 3))
    a, b = Dropout(0.5, per_sequence=True).seed(4), Dropout(0.5, axis=1).seed(4)
    a.training = b.training = True
    np.testing.assert_array_equal(a(X), b(X))
    assert a.fc["dropout_mask"].shape == b.fc["dropout_mask"].shape == (4, 1, 3)


@pytest.mark.parametrize("axis, error, words", [
    (0, ValueError, ["axis", "batch axis 0", "axis=0"]),
    ((1, 0), ValueError, ["axis", "batch axis 0", "(1, 0)"]),
    ((1, 1), ValueError, ["axis", "repeat", "(1, 1)"]),
    ("1", checks.ArgumentTypeError, ["axis", "'1' (str"]),
    (1.0, checks.ArgumentTypeError, ["axis", "1.0 (float)"]),
    (True, checks.ArgumentTypeError, ["axis", "True (bool)"]),
    (None, checks.ArgumentTypeError, ["axis", "None (NoneType)"]),
    ((1, "2"), checks.ArgumentTypeError, ["axis", "(1, '2') (tuple)"]),
], ids=["batch", "batch-in-tuple", "duplicate", "str", "float", "bool", "none", "str-in-tuple"])
def test_bad_axis_is_refused_at_construction(axis, error, words):
    with pytest.raises(error) as caught:
        Dropout(0.5, axis=axis, name="d")
    message = str(caught.value)
    for word in ["Dropout 'd'", *words]:
        assert word in message, message


@pytest.mark.parametrize("shape, axis, words", [
    ((4, 3), 2, ["axis=(2,)", "out of range for 2-D", "1..1"]),
    ((4, 3, 2), (3,), ["axis=(3,)", "out of range for 3-D", "1..2"]),
    ((4, 3, 2), -3, ["axis=(-3,)", "out of range for 3-D"]),
    ((4, 3, 2, 2), (1, -3), ["axis=(1, -3)", "twice", "4-D"]),
], ids=["2d", "3d", "3d-negative-batch", "4d-same-axis-twice"])
def test_axis_out_of_range_for_the_input(shape, axis, words):
    layer = Dropout(0.5, axis=axis, name="d")
    with pytest.raises(ValueError) as caught:
        layer(np.ones(shape))
    for word in ["Dropout 'd'", *words]:
        assert word in str(caught.value), str(caught.value)


def test_per_sequence_and_axis_together_are_refused():
    with pytest.raises(ValueError, match=r"per_sequence=True and axis=\(1, 2\) conflict"):
        Dropout(0.5, per_sequence=True, axis=(1, 2))
    with pytest.raises(ValueError, match="per_sequence=True and axis=1 conflict"):
        Dropout(0.5, per_sequence=True, axis=1)       # the same meaning, still one way to say it


def test_config_and_save_load_keep_axis(tmp_path):
    layer = Dropout(0.25, axis=[2, 1], name="d")
    assert layer.config()["axis"] == (2, 1) and layer.config()["per_sequence"] is False
    assert Dropout(**layer.config()).config() == layer.config()
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((8, 3, 4, 2)), rng.standard_normal((8, 2))
    model = Model([Dropout(0.5, axis=(1, 2), name="drop"), Flatten(), Dense(2)], seed=3)
    model.train(X, Y, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = Model.load(tmp_path / "m.npz")
    assert loaded["drop"].axis == (1, 2)
    assert loaded["drop"].config() == model["drop"].config()
    for net in (model, loaded):                       # the same generator state: the same masks
        net.train(X, Y, epochs=1, batch_size=4, verbose=0)
    np.testing.assert_array_equal(loaded["drop"].fc["dropout_mask"],
                                  model["drop"].fc["dropout_mask"])
    assert loaded["drop"].fc["dropout_mask"].shape == (4, 1, 1, 2)


@pytest.mark.parametrize("shape, axis", [((5, 4), ()), ((3, 6, 4), 1), ((3, 6, 4), (2,)),
                                         ((2, 5, 4, 3), (1, 2))],
                         ids=["2d", "3d-steps-shared", "3d-features-shared", "4d-channels"])
def test_epynn_parity(shape, axis):
    """EpyNN draws U with np_rng.uniform(0, 1, mask shape) and keeps U > drop_prob: from the
    same generator state this layer draws the same U (keeps U >= rate: equal but on a tie of
    probability 0) and gives the same output and input gradient."""
    epynn_dropout = pytest.importorskip("epynn.dropout.models")
    rng = np.random.default_rng(1)
    X, dA = rng.standard_normal(shape), rng.standard_normal(shape)
    theirs = epynn_dropout.Dropout(drop_prob=0.3, axis=axis)
    theirs.np_rng = np.random.default_rng(9)
    A_theirs = theirs.forward(X)
    dX_theirs = theirs.backward(dA)
    ours = Dropout(0.3, axis=axis)
    ours.training = True
    ours.build(X)
    ours.rng = np.random.default_rng(9)
    A_ours = ours.forward(X)
    dX_ours = ours.backward(dA)
    assert theirs.fc["D"].shape == ours.fc["dropout_mask"].shape
    np.testing.assert_allclose(A_ours, A_theirs, rtol=1e-12, atol=0)
    np.testing.assert_allclose(dX_ours, dX_theirs, rtol=1e-12, atol=0)
