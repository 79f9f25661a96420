"""Hooks out of order raise a RuntimeError that names the layer and the order.

``backward`` before any ``forward`` (a ``KeyError: 'A'`` deep in the caches before) and
``compute_gradients`` before the ``backward`` of the last ``forward`` are refused by every layer,
built-in or written by a user, through the base class (``Layer.__init_subclass__``).
"""
import numpy as np
import pytest

from unrolled.framework import Layer
from unrolled.layers import GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Embedding, RepeatVector
from unrolled.layers.template import Template

ORDER = r"the order is forward\(A\), backward\(dA\), compute_gradients\(\)"

#: (layer, input) for every built-in layer
CASES = {
    "Dense": (lambda: Dense(3, name="d"), np.ones((2, 4))),
    "Dropout": (lambda: Dropout(0.5, name="d"), np.ones((2, 4))),
    "Embedding": (lambda: Embedding(5, 3, name="d"), np.array([[1, 2, 4]])),
    "RepeatVector": (lambda: RepeatVector(3, name="d"), np.ones((2, 4))),
    "Template": (lambda: Template(name="d"), np.ones((2, 4))),
    "RNN": (lambda: RNN(3, name="d"), np.ones((2, 5, 4))),
    "LSTM": (lambda: LSTM(3, name="d"), np.ones((2, 5, 4))),
    "GRU": (lambda: GRU(3, name="d"), np.ones((2, 5, 4))),
    "Bidirectional": (lambda: Bidirectional(RNN(3), name="d"), np.ones((2, 5, 4))),
}


def fresh(kind):
    make, X = CASES[kind]
    layer = make().seed(0)
    layer.training = True
    return layer, X


@pytest.mark.parametrize("kind", sorted(CASES))
def test_backward_before_forward_names_the_layer_and_the_order(kind):
    layer, X = fresh(kind)
    with pytest.raises(RuntimeError, match=rf"^{kind} 'd': backward called before any forward; {ORDER}"):
        layer.backward(np.ones((2, 3)))


@pytest.mark.parametrize("kind", sorted(CASES))
def test_compute_gradients_needs_the_backward_of_the_last_forward(kind):
    layer, X = fresh(kind)
    with pytest.raises(RuntimeError, match=rf"compute_gradients called before any forward; {ORDER}"):
        layer.compute_gradients()
    A = layer(X)
    with pytest.raises(RuntimeError, match=rf"^{kind} 'd': compute_gradients called after forward "
                                           rf"without backward; {ORDER}"):
        layer.compute_gradients()
    layer.backward(np.ones_like(A))
    layer.compute_gradients()              # the right order works, and may be repeated
    layer.compute_gradients()
    layer(X)                               # a new forward needs its own backward
    with pytest.raises(RuntimeError, match="after forward without backward"):
        layer.compute_gradients()


class Scale(Layer):
    """A user's layer that knows nothing of the order check: A = 2 X."""

    def compute_shapes(self, A):
        self.fs["X"] = A.shape

    def forward(self, A):
        self.fc["X"], self.fc["A"] = A, 2.0 * A
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"], self.bc["dX"] = dA, 2.0 * dA
        return self.bc["dX"]


class LoudDense(Dense):
    """A subclass overriding backward only, calling the parent's: no false alarm."""

    def backward(self, dA):
        return super().backward(dA)


def test_a_users_layer_gets_the_check_without_writing_a_line():
    layer = Scale(name="mine")
    with pytest.raises(RuntimeError, match=f"^Scale 'mine': backward called before any forward; {ORDER}"):
        layer.backward(np.ones(3))
    layer(np.ones(3))
    with pytest.raises(RuntimeError, match="compute_gradients called after forward without backward"):
        layer.compute_gradients()          # inherited from Layer: checked too
    np.testing.assert_array_equal(layer.backward(np.ones(3)), [2.0, 2.0, 2.0])
    layer.compute_gradients()


def test_overridden_and_inherited_hooks_agree():
    layer = LoudDense(2).seed(0)
    X = np.ones((3, 4))
    layer(X)
    layer.backward(np.ones((3, 2)))
    layer.compute_gradients()              # Dense's compute_gradients sees LoudDense's backward
    np.testing.assert_allclose(layer.g["db"], [[3.0, 3.0]])
    with pytest.raises(RuntimeError, match="LoudDense: backward called before any forward"):
        LoudDense(2).backward(np.ones((3, 2)))


def test_a_failed_forward_does_not_count_as_a_forward():
    layer = Embedding(4, 2, name="e").seed(0)
    layer.build(np.array([[0, 1]]))
    with pytest.raises(ValueError, match="token ids must lie in"):
        layer.forward(np.array([[0, 9]]))
    with pytest.raises(RuntimeError, match="backward called before any forward"):
        layer.backward(np.ones((1, 2, 2)))
