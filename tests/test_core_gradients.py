"""Gradients of the framework core: every activation, every loss, penalties and the fused paths.

The reference is always independent of the code under test: central finite differences
(``gradcheck``), explicit Jacobians built here, or the textbook formula written out in NumPy.
"""
import tracemalloc

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from unrolled.framework import Model, gradcheck, get_activation, get_loss
from unrolled.layers import Dense

TOL = 1e-6  # worst relative error accepted from a float64 gradcheck

ACTIVATIONS = [
    ("identity", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {"alpha": 0.2}),
    ("elu", {"alpha": 0.7}),
    ("selu", {}),
    ("swish", {}),
    ("gompertz", {}),
    ("softplus", {}),
    ("hard_sigmoid", {}),
    ("softmax", {"temperature": 2.5}),
]
ACT_IDS = [name for name, _ in ACTIVATIONS]
SHAPES = {"2d": (5, 3), "3d": (3, 2, 3)}


def _rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- Dense x activations
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
@pytest.mark.parametrize("name, params", ACTIVATIONS, ids=ACT_IDS)
def test_dense_gradcheck_passes_for_every_activation(name, params, shape):
    """Dense(act) backward agrees with central differences for W, b and X (2-D and 3-D input)."""
    layer = Dense(4, activation=name, activation_params=params).seed(1)
    X = 2.0 * _rng(2).standard_normal(shape)
    result = gradcheck(layer, X)
    assert set(result) == {"Dense.W", "Dense.b", "X"}
    assert result.worst < TOL, repr(result)


@pytest.mark.parametrize("penalty", [{"l1": 0.03}, {"l2": 0.05}, {"l1": 0.02, "l2": 0.04}],
                         ids=["l1", "l2", "l1+l2"])
def test_dense_gradcheck_includes_l1_l2_penalty_gradients(penalty):
    """The penalty terms l1*sum|W| and l2*sum(W^2) are differentiated correctly."""
    layer = Dense(3, activation="tanh", **penalty).seed(3)
    result = gradcheck(layer, _rng(4).standard_normal((4, 5)))
    assert result.worst < TOL, repr(result)


class DenseForgettingActivationDerivative(Dense):
    """A deliberately WRONG Dense: its backward skips (D3), the activation derivative."""

    def backward(self, dA):
        self.bc["dA"] = dA
        dZ = self.bc["dZ"] = dA  # bug on purpose: should be act'(Z) * dA
        dX = self.bc["dX"] = (dZ.reshape(-1, self.d["u"]) @ self.p["W"].T).reshape(self.fs["X"])
        return dX


def test_gradcheck_catches_a_backward_that_forgets_the_activation_derivative():
    """Teaching aid: a wrong backward scores far above the tolerance (the check has teeth)."""
    layer = DenseForgettingActivationDerivative(4, activation="tanh", name="wrong").seed(0)
    result = gradcheck(layer, 2.0 * _rng(1).standard_normal((5, 3)))
    assert result.worst > 1e-3
    assert result["wrong.W"] > 1e-3 and result["X"] > 1e-3


def test_gradcheck_catches_a_wrong_backward_inside_a_model():
    """The same bug in the hidden layer of a model is caught by the model-level gradcheck."""
    rng = _rng(5)
    model = Model([DenseForgettingActivationDerivative(4, activation="sigmoid"), Dense(2)],
                  loss="mse", seed=0)
    result = gradcheck(model, rng.standard_normal((6, 3)), rng.standard_normal((6, 2)))
    assert result.worst > 1e-3


# --------------------------------------------------------------------------- losses in a model
def _targets(loss, out_shape, rng):
    """Valid targets for ``loss`` and outputs of shape ``out_shape``."""
    if loss in ("mse", "mae"):
        return rng.standard_normal(out_shape)
    if loss == "msle":
        return 2.0 * rng.random(out_shape)
    if loss == "bce":
        return (rng.random(out_shape) > 0.5).astype(float)
    labels = rng.integers(0, out_shape[-1], size=out_shape[:-1])
    if loss == "scce":
        return labels
    return np.eye(out_shape[-1])[labels]  # cce: one-hot


LOSS_CASES = [
    ("mse", "identity", {}),
    ("mae", "identity", {}),
    ("msle", "softplus", {}),
    ("bce", "sigmoid", {}),
    ("bce", "softmax", {}),
    ("cce", "softmax", {}),
    ("cce", "softmax", {"temperature": 0.7}),
    ("scce", "softmax", {}),
]
LOSS_IDS = ["mse", "mae", "msle-softplus", "bce-sigmoid", "bce-softmax", "cce-softmax",
            "cce-softmax-T0.7", "scce-softmax"]


@pytest.mark.parametrize("penalties", [{}, {"l1": 0.01, "l2": 0.02}], ids=["plain", "l1l2"])
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
@pytest.mark.parametrize("loss, act, params", LOSS_CASES, ids=LOSS_IDS)
def test_model_gradcheck_passes_for_every_loss(loss, act, params, shape, penalties):
    """Loss gradient (fused or not) + backprop through two Dense layers = finite differences."""
    rng = _rng(7)
    model = Model([Dense(4, activation="tanh", **penalties),
                   Dense(3, activation=act, activation_params=params, **penalties)],
                  loss=loss, seed=11)
    X = rng.standard_normal(shape)
    Y = _targets(loss, shape[:-1] + (3,), rng)
    result = gradcheck(model, X, Y)
    assert len(result) == 5  # two W, two b, and X
    assert result.worst < TOL, repr(result)


# --------------------------------------------------------------------------- activations: formulas
def _softmax_rows(z, T=1.0):
    e = np.exp((z - z.max(axis=-1, keepdims=True)) / T)
    return e / e.sum(axis=-1, keepdims=True)


FORMULAS = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z),
    "elu": lambda z: np.where(z > 0, z, 0.7 * (np.exp(z) - 1.0)),
    # Klambauer et al. (2017), eq. (2), constants to 16 digits
    "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * (np.exp(z) - 1)),
    "swish": lambda z: z / (1.0 + np.exp(-z)),
    # Gompertz curve with a = 1, b = c = 1 (R package rnn, sigmoid = "Gompertz")
    "gompertz": lambda z: np.exp(-np.exp(-z)),
    "softplus": lambda z: np.log(1.0 + np.exp(z)),
    "hard_sigmoid": lambda z: np.minimum(np.maximum(z / 6.0 + 0.5, 0.0), 1.0),
    "softmax": lambda z: _softmax_rows(z, 2.5),
}


@pytest.mark.parametrize("name, params", ACTIVATIONS, ids=ACT_IDS)
def test_activation_forward_matches_textbook_formula(name, params):
    """forward(z) equals the definition written out here (moderate z: naive formula is exact)."""
    z = np.linspace(-5.0, 5.0, 24).reshape(4, 6)
    act = get_activation(name, **params)
    np.testing.assert_allclose(act.forward(z), FORMULAS[name](z), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, params", [a for a in ACTIVATIONS if a[0] != "softmax"],
                         ids=[n for n in ACT_IDS if n != "softmax"])
def test_activation_backward_is_derivative_times_upstream(name, params):
    """backward(da) = f'(z) * da, f' by central differences of the formula (away from kinks)."""
    rng = _rng(3)
    z = rng.uniform(-4.0, 4.0, size=(5, 7))
    z[np.abs(z) < 1e-2] = 0.5            # relu-type kinks at 0
    z[np.abs(np.abs(z) - 3.0) < 1e-2] = 1.5  # hard-sigmoid kinks at +-3
    da = rng.standard_normal(z.shape)
    act = get_activation(name, **params)
    a = act.forward(z.copy())
    h = 1e-6
    numeric = (FORMULAS[name](z + h) - FORMULAS[name](z - h)) / (2 * h)
    np.testing.assert_allclose(act.backward(da, a, z), numeric * da, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, params", [a for a in ACTIVATIONS if a[0] != "softmax"],
                         ids=[n for n in ACT_IDS if n != "softmax"])
def test_activation_derivative_is_the_elementwise_slope(name, params, dtype):
    """derivative(a, z) = f'(z), by central differences of the formula, with and without out=."""
    rng = _rng(4)
    z = rng.uniform(-4.0, 4.0, size=(3, 5, 4))
    z[np.abs(z) < 1e-2] = 0.5
    z[np.abs(np.abs(z) - 3.0) < 1e-2] = 1.5
    act = get_activation(name, **params)
    zd = z.astype(dtype)
    a = act.forward(zd.copy())
    h = 1e-6
    numeric = (FORMULAS[name](z + h) - FORMULAS[name](z - h)) / (2 * h)
    tol = dict(rtol=1e-6, atol=1e-8) if dtype == np.float64 else dict(rtol=1e-3, atol=1e-5)
    got = act.derivative(a, zd)
    assert got.shape == z.shape and got.dtype == dtype
    np.testing.assert_allclose(got, numeric, **tol)
    out = np.full(z.shape, np.nan, dtype=dtype)
    assert act.derivative(a, zd, out=out) is out
    np.testing.assert_allclose(out, numeric, **tol)


def test_softmax_has_no_elementwise_derivative():
    act = get_activation("softmax")
    assert not act.elementwise
    with pytest.raises(TypeError, match="not diagonal"):
        act.derivative(np.full((2, 3), 1 / 3))


def test_softmax_rows_sum_to_one_and_ignore_a_constant_shift():
    """softmax(z / T) is a probability vector per row and softmax(z + c) = softmax(z)."""
    z = _rng(0).standard_normal((6, 5)) * 30
    for T in (1.0, 0.3, 4.0):
        act = get_activation("softmax", temperature=T)
        a = act.forward(z)
        np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
        assert (a >= 0).all()
        np.testing.assert_allclose(act.forward(z + 1234.5), a, rtol=1e-9, atol=1e-15)


def test_softmax_of_huge_logits_is_finite_one_hot():
    """Logits of +-1e4 give an exact one-hot row, no overflow and no NaN."""
    a = get_activation("softmax").forward(np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4]]))
    np.testing.assert_array_equal(a, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_saturating_activations_stay_finite_at_extreme_inputs():
    """tanh, sigmoid, softplus, swish, elu, selu at |z| = 1000: exact limits, no overflow/NaN."""
    z = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        np.testing.assert_array_equal(get_activation("tanh").forward(z), [-1.0, 1.0])
        np.testing.assert_array_equal(get_activation("sigmoid").forward(z), [0.0, 1.0])
        np.testing.assert_array_equal(get_activation("softplus").forward(z), [0.0, 1000.0])
        np.testing.assert_array_equal(get_activation("swish").forward(z), [0.0, 1000.0])
        np.testing.assert_array_equal(get_activation("elu").forward(z), [-1.0, 1000.0])
        selu = get_activation("selu").forward(z)
        np.testing.assert_allclose(selu, [-1.0507009873554805 * 1.6732632423543772,
                                          1.0507009873554805 * 1000.0], rtol=1e-15)
        # derivatives are finite (and the right limits) too
        da = np.ones(2)
        for name, expected in (("tanh", [0.0, 0.0]), ("sigmoid", [0.0, 0.0]),
                               ("softplus", [0.0, 1.0])):
            act = get_activation(name)
            np.testing.assert_array_equal(act.backward(da, act.forward(z), z), expected)


def _explicit_softmax_vjp(a, da, T):
    """dz = J^T da with the full Jacobian J_ij = a_i (delta_ij - a_j) / T built row by row."""
    dz = np.empty_like(da)
    for idx in np.ndindex(a.shape[:-1]):
        ai = a[idx]
        J = (np.diag(ai) - np.outer(ai, ai)) / T
        dz[idx] = J.T @ da[idx]
    return dz


@pytest.mark.parametrize("T", [1.0, 2.5])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)], ids=["2d", "3d"])
def test_softmax_backward_equals_explicit_jacobian_product(shape, T):
    """The vector-Jacobian product equals J^T da computed from the full Jacobian."""
    rng = _rng(8)
    z, da = rng.standard_normal(shape), rng.standard_normal(shape)
    act = get_activation("softmax", temperature=T)
    a = act.forward(z)
    np.testing.assert_allclose(act.backward(da, a, z), _explicit_softmax_vjp(a, da, T),
                               rtol=1e-12, atol=1e-15)


def test_softmax_backward_never_allocates_an_m_n_n_jacobian():
    """Peak memory of backward stays O(m n): an (m, n, n) Jacobian would need 1000x more."""
    m, n = 8, 2000
    rng = _rng(9)
    z, da = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    act = get_activation("softmax", temperature=2.0)
    a = act.forward(z)
    tracemalloc.start()
    try:
        act.backward(da, a, z)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    jacobian_bytes = m * n * n * 8  # 256 MB
    assert peak < 20 * m * n * 8    # a few (m, n) temporaries: 2.56 MB
    assert peak < jacobian_bytes / 100


# --------------------------------------------------------------------------- fused gradients
@pytest.mark.parametrize("T", [1.0, 2.0])
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 3)], ids=["2d", "3d"])
def test_fused_softmax_cce_gradient_is_A_minus_Y_over_T_N(shape, T):
    """dL/dZ of softmax(Z/T) + cce equals (A - Y) / (T N), N = samples x steps, by hand."""
    rng = _rng(10)
    layer = Dense(5, activation="softmax", activation_params={"temperature": T})
    model = Model([layer], loss="cce", seed=0)
    X = rng.standard_normal(shape)
    Y = np.eye(5)[rng.integers(0, 5, size=shape[:-1])]
    model.compute_loss_and_gradients(X, Y)
    Z = X @ layer.p["W"] + layer.p["b"][0]
    A = _softmax_rows(Z, T)
    N = int(np.prod(shape[:-1]))
    dZ = (A - Y) / (T * N)
    np.testing.assert_allclose(layer.bc["dZ"], dZ, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.g["dW"], X.reshape(-1, 3).T @ dZ.reshape(-1, 5),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.g["db"][0], dZ.reshape(-1, 5).sum(axis=0),
                               rtol=1e-12, atol=1e-15)


def test_fused_sigmoid_bce_gradient_is_A_minus_Y_over_N():
    """dL/dZ of sigmoid + bce equals (A - Y) / N with N = every output element."""
    rng = _rng(11)
    layer = Dense(3, activation="sigmoid")
    model = Model([layer], loss="bce", seed=0)
    X = rng.standard_normal((4, 2, 5))
    Y = (rng.random((4, 2, 3)) > 0.5).astype(float)
    model.compute_loss_and_gradients(X, Y)
    A = expit(X @ layer.p["W"] + layer.p["b"][0])
    np.testing.assert_allclose(layer.bc["dZ"], (A - Y) / Y.size, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- loss values
def _hand_loss(name, A, Y):
    """PyTorch reduction="mean": element mean for mse/mae/msle/bce, position mean for (s)cce."""
    if name == "mse":
        return np.mean((A - Y) ** 2)
    if name == "mae":
        return np.mean(np.abs(A - Y))
    if name == "msle":
        return np.mean((np.log(1 + A) - np.log(1 + Y)) ** 2)
    if name == "bce":
        return -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    if name == "cce":
        return -np.mean(np.sum(Y * np.log(A), axis=-1))
    if name == "scce":
        picked = np.take_along_axis(A, Y[..., None], axis=-1)[..., 0]
        return -np.mean(np.log(picked))
    raise AssertionError(name)


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 3)], ids=["2d", "3d"])
@pytest.mark.parametrize("name", ["mse", "mae", "msle", "bce", "cce", "scce"])
def test_loss_value_is_the_mean_reduction_of_the_textbook_formula(name, shape):
    """Loss.value(A, Y) equals the hand formula with PyTorch's mean reduction."""
    rng = _rng(12)
    if name in ("cce", "scce"):
        A = _softmax_rows(rng.standard_normal(shape))
    else:
        A = rng.uniform(0.05, 0.95, size=shape)
    Y = _targets(name, shape, rng)
    if name == "bce":
        Y = rng.random(shape)  # soft labels are allowed
    assert get_loss(name).value(A, Y) == pytest.approx(_hand_loss(name, A, Y), rel=1e-12)


def test_cce_mean_is_over_samples_and_steps_not_classes():
    """A uniform prediction over k classes costs log(k) per position, whatever m, s and k."""
    for shape in [(7, 4), (2, 5, 6)]:
        k = shape[-1]
        A = np.full(shape, 1.0 / k)
        Y = np.eye(k)[np.zeros(shape[:-1], dtype=int)]
        assert get_loss("cce").value(A, Y) == pytest.approx(np.log(k), rel=1e-12)


@pytest.mark.parametrize("loss, act, params", [("bce", "sigmoid", {}), ("cce", "softmax", {}),
                                               ("cce", "softmax", {"temperature": 3.0}),
                                               ("scce", "softmax", {})],
                         ids=["bce-sigmoid", "cce-softmax", "cce-softmax-T3", "scce-softmax"])
def test_fused_loss_value_through_model_matches_hand_formula(loss, act, params):
    """evaluate's fused loss (from the logits) equals the hand formula on softmax/sigmoid(Z)."""
    rng = _rng(13)
    layer = Dense(3, activation=act, activation_params=params)
    model = Model([layer], loss=loss, seed=0)
    X = rng.standard_normal((3, 2, 4))
    Y = _targets(loss, (3, 2, 3), rng)
    model.build(X)
    Z = X @ layer.p["W"] + layer.p["b"][0]
    A = expit(Z) if act == "sigmoid" else _softmax_rows(Z, params.get("temperature", 1.0))
    assert model.evaluate(X, Y)["loss"] == pytest.approx(_hand_loss(loss, A, Y), rel=1e-12)


@pytest.mark.parametrize("loss, act", [("cce", "softmax"), ("scce", "softmax"), ("bce", "sigmoid"),
                                       ("bce", "softmax")])
def test_huge_logits_give_a_finite_loss_and_gradient(loss, act):
    """Logits of size 1e4 (confidently wrong): finite, exact loss and finite gradients."""
    layer = Dense(3, activation=act)
    model = Model([layer], loss=loss, seed=0)
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    model.build(X)
    layer.p["W"][...] = [[1e4, -1e4, 5e3], [-1e4, 3e3, 1e4]]
    labels = np.array([1, 0])  # the class with the lowest logit in each row
    Y = labels if loss == "scce" else np.eye(3)[labels]
    loss_value = model.evaluate(X, Y)["loss"]
    assert np.isfinite(loss_value)
    Z = X @ layer.p["W"]
    if loss in ("cce", "scce"):
        # -log softmax(Z)_y = logsumexp(Z) - Z_y, computed stably by hand
        expected = np.mean(logsumexp(Z, axis=-1) - Z[np.arange(2), labels])
        assert loss_value == pytest.approx(expected, rel=1e-12)
        assert expected == pytest.approx(2e4)  # the right class is 2e4 below the best one
    elif act == "sigmoid":
        # -[y log s(z) + (1-y) log(1 - s(z))] = log(1 + e^z) - y z; at |z| >= 3e3, log(1 + e^z)
        # equals max(z, 0) to the last bit, so the loss is the mean of max(z, 0) - y z
        expected = np.mean(np.maximum(Z, 0) - Y * Z)
        assert loss_value == pytest.approx(expected, rel=1e-12)
    loss_train, _ = model.compute_loss_and_gradients(X, Y)
    assert np.isfinite(loss_train)
    assert all(np.isfinite(g).all() for g in layer.g.values())
