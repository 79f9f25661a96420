"""Custom layers: a layer written here from the Layer hooks, the shipped Template layer, and the
runnable examples of docs/custom_layers.md."""
import re
from pathlib import Path

import numpy as np
import pytest

from unrolled.framework import SGD, Layer, Model, gradcheck
from unrolled.framework.initializers import ones
from unrolled.layers import Dense
from unrolled.layers.template import Template

DOC = Path(__file__).resolve().parents[1] / "docs" / "custom_layers.md"


class ScaledTanh(Layer):
    """A = a * tanh(b * X), one learnable amplitude a and slope b per feature.

    (S1) U = b * X,  T = tanh(U),  A = a * T
    (S2) dT = a * dA,  dU = (1 - T^2) * dT,  dX = b * dU
    (S3) da = sum(dA * T),  db = sum(dU * X)      (over samples and steps)
    """

    weight_names = ("a", "b")

    def compute_shapes(self, A):
        self.check_ndim(A, (2, 3))
        self.check_size("n", A.shape[-1])
        self.d["n"] = A.shape[-1]
        self.fs["X"] = self.fs["A"] = A.shape
        self.fs["a"] = self.fs["b"] = (1, self.d["n"])

    def initialize_parameters(self):
        self.p["a"] = ones(self.fs["a"], dtype=self.dtype)
        self.p["b"] = ones(self.fs["b"], dtype=self.dtype)

    def forward(self, A):
        self.fc["X"] = A
        T = self.fc["T"] = np.tanh(self.p["b"] * A)           # (S1)
        self.fc["A"] = self.p["a"] * T                         # (S1)
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        dU = self.bc["dU"] = (1.0 - self.fc["T"] ** 2) * (self.p["a"] * dA)  # (S2)
        self.bc["dX"] = self.p["b"] * dU                       # (S2)
        return self.bc["dX"]

    def compute_gradients(self):
        axes = tuple(range(self.bc["dA"].ndim - 1))
        self.g["da"] = np.sum(self.bc["dA"] * self.fc["T"], axis=axes).reshape(1, -1)  # (S3)
        self.g["db"] = np.sum(self.bc["dU"] * self.fc["X"], axis=axes).reshape(1, -1)  # (S3)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _randomize(layer, rng):
    """Move the parameters away from their (special) starting values."""
    for value in layer.p.values():
        value[...] = rng.uniform(0.5, 1.5, value.shape) * rng.choice([-1.0, 1.0], value.shape)


# --------------------------------------------------------------------------- the layer defined here
@pytest.mark.parametrize("shape", [(5, 3), (3, 4, 2)], ids=["2d", "3d"])
def test_custom_scaled_tanh_passes_gradcheck(shape):
    """Backward of the hand-written layer agrees with finite differences (a, b and X)."""
    rng = _rng(1)
    layer = ScaledTanh(l2=0.05).seed(0)
    X = rng.standard_normal(shape)
    layer(X)
    _randomize(layer, rng)
    result = gradcheck(layer, X)
    assert set(result) == {"ScaledTanh.a", "ScaledTanh.b", "X"}
    assert result.worst < 1e-6, repr(result)


def test_custom_layer_gradcheck_inside_a_model():
    """Between two Dense layers, with a cross-entropy loss: the whole chain checks out."""
    rng = _rng(2)
    model = Model([Dense(4), ScaledTanh(name="st"), Dense(3, activation="softmax")],
                  loss="scce", seed=3)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    model.build(X)
    _randomize(model["st"], rng)
    result = gradcheck(model, X, y)
    assert "st.a" in result and "st.b" in result
    assert result.worst < 1e-6, repr(result)


def test_custom_layer_trains_in_a_model_and_recovers_the_true_parameters():
    """Fitting Y = a* tanh(b* X) from a = b = 1: the loss falls 1000-fold, a and b are recovered."""
    rng = _rng(4)
    a_true, b_true = np.array([[2.0, -1.5]]), np.array([[0.5, 1.5]])
    X = rng.uniform(-3.0, 3.0, (200, 2))
    Y = a_true * np.tanh(b_true * X)
    model = Model([ScaledTanh(name="st")], loss="mse", optimizer=SGD(lr=0.5, momentum=0.5),
                  seed=0)
    history = model.train(X, Y, epochs=150, batch_size=50, verbose=0)
    assert history["loss"][-1] < 1e-3 * history["loss"][0]
    np.testing.assert_allclose(model["st"].p["a"], a_true, rtol=1e-2)
    np.testing.assert_allclose(model["st"].p["b"], b_true, rtol=1e-2)


# --------------------------------------------------------------------------- the Template layer
def test_template_forward_is_the_elementwise_affine_map():
    """(T1): A = X * gamma + beta per feature, on 2-D and 3-D input; identity at initialization."""
    rng = _rng(5)
    layer = Template().seed(0)
    X = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(layer(X), X)       # gamma = 1, beta = 0
    gamma, beta = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
    layer.p["gamma"][...], layer.p["beta"][...] = gamma, beta
    X3 = rng.standard_normal((2, 5, 3))
    expected = np.empty_like(X3)
    for k in range(3):
        expected[..., k] = X3[..., k] * gamma[0, k] + beta[0, k]
    np.testing.assert_allclose(layer(X3), expected, rtol=1e-15)


@pytest.mark.parametrize("penalty", [{}, {"l1": 0.02, "l2": 0.03}], ids=["plain", "l1l2"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 4, 2)], ids=["2d", "3d"])
def test_template_passes_gradcheck(shape, penalty):
    """(T2)-(T5) are exact: gamma, beta and X agree with finite differences."""
    rng = _rng(6)
    layer = Template(**penalty).seed(0)
    X = rng.standard_normal(shape)
    layer(X)
    _randomize(layer, rng)
    result = gradcheck(layer, X)
    assert set(result) == {"Template.gamma", "Template.beta", "X"}
    assert result.worst < 1e-6, repr(result)


def test_template_gradients_match_the_hand_sums():
    """(T3)/(T4) by hand: dgamma = sum(dA * X), dbeta = sum(dA) over samples and steps."""
    rng = _rng(7)
    layer = Template().seed(0)
    X, dA = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    layer(X)
    layer.p["gamma"][...] = [[2.0, -3.0]]
    dX = layer.backward(dA)
    layer.compute_gradients()
    np.testing.assert_allclose(dX, dA * np.array([2.0, -3.0]))
    np.testing.assert_allclose(layer.g["dgamma"], [[np.sum(dA[..., 0] * X[..., 0]),
                                                    np.sum(dA[..., 1] * X[..., 1])]])
    np.testing.assert_allclose(layer.g["dbeta"], [[dA[..., 0].sum(), dA[..., 1].sum()]])


def test_template_inside_a_model_passes_gradcheck_and_learns_an_affine_map():
    """Template -> Dense in a model: gradients check, and alone it fits Y = 3 X - 1 exactly."""
    rng = _rng(8)
    model = Model([Template(name="t"), Dense(2, activation="tanh")], loss="mse", seed=1)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    model.build(X)
    _randomize(model["t"], rng)
    assert gradcheck(model, X, Y).worst < 1e-6

    X = rng.standard_normal((64, 2))
    Y = X * np.array([3.0, 0.5]) + np.array([-1.0, 2.0])
    model = Model([Template(name="t")], loss="mse", optimizer=SGD(lr=0.2), seed=0)
    history = model.train(X, Y, epochs=60, batch_size=16, verbose=0)
    assert history["loss"][-1] < 1e-6
    np.testing.assert_allclose(model["t"].p["gamma"], [[3.0, 0.5]], rtol=1e-3)
    np.testing.assert_allclose(model["t"].p["beta"], [[-1.0, 2.0]], atol=1e-3)


def test_template_refuses_bad_input_and_keeps_float32():
    """The template's shape checks name the layer; a float32 model keeps float32 throughout."""
    with pytest.raises(ValueError, match=r"Template 'aff': expected 2-D or 3-D input, got shape"):
        Template(name="aff")(np.zeros((2, 3, 4, 5)))
    layer = Template(name="aff")
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Template 'aff': built for inputs with n = 3 features, "
                                         r"got 4"):
        layer(np.zeros((2, 4)))
    model = Model([Dense(3), Template(name="t"), Dense(1)], loss="mse", dtype="float32", seed=0)
    rng = _rng(9)
    model.train(rng.standard_normal((8, 3)), rng.standard_normal((8, 1)), epochs=1, verbose=0)
    t = model["t"]
    assert {v.dtype for v in [*t.p.values(), *t.g.values(), t.bc["dX"]]} == {np.dtype("float32")}


def test_template_skips_the_input_gradient_only_when_told_and_keeps_its_own_gradients():
    """input_gradient=False (first layer of a model): backward returns None, g is unchanged."""
    rng = _rng(10)
    X, dA = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    grads = []
    for flag in (True, False):
        layer = Template().seed(0)
        layer.input_gradient = flag
        layer(X)
        dX = layer.backward(dA)
        layer.compute_gradients()
        assert (dX is None) == (not flag)
        grads.append({k: v.copy() for k, v in layer.g.items()})
    for key in grads[0]:
        np.testing.assert_array_equal(grads[0][key], grads[1][key])


def test_template_config_rebuilds_an_equivalent_layer():
    """config() holds the constructor arguments: Template(**config) has the same settings."""
    layer = Template(name="t", l2=0.5, lr=0.1, trainable=False)
    clone = Template(**layer.config())
    assert clone.config() == layer.config()
    assert clone.l2 == 0.5 and clone.lr == 0.1 and not clone.trainable


# --------------------------------------------------------------------------- the documentation
def _python_blocks(text):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_custom_layers_doc_has_runnable_examples_and_the_template_equations():
    """The guide exists, numbers the same equations as the template, and has code blocks."""
    text = DOC.read_text(encoding="utf-8")
    for tag in ("T1", "T2", "T3", "T4", "T5", "T6"):
        assert f"\\tag{{{tag}}}" in text
    assert "$$" in text
    assert len(_python_blocks(text)) >= 3


@pytest.mark.parametrize("index", range(len(_python_blocks(DOC.read_text(encoding="utf-8")))
                                        if DOC.exists() else 0))
def test_custom_layers_doc_code_block_runs_on_its_own(index):
    """Each ```python block of docs/custom_layers.md runs by itself (its asserts included)."""
    code = _python_blocks(DOC.read_text(encoding="utf-8"))[index]
    exec(compile(code, f"{DOC.name}[block {index}]", "exec"), {"__name__": "__doc_example__"})
