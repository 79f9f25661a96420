"""EpyNN's example networks (issue 18, item 7): the laws of its four dummy data sets, its layer
stacks, its training conventions in unrolled's terms, and quick runs of the examples.

Expected values come from EpyNN's own descriptions (its ``epynnlive`` prepare_dataset.py laws and
the split sizes its notebooks print) or are recomputed here by hand, never read from the code
under test. The full runs, which measure the numbers quoted in docs/examples.md, are behind the
``slow`` marker (``UNROLLED_SLOW=1``).
"""
import contextlib
import io
import os

import numpy as np
import pytest

from unrolled.datasets import dummy_boolean, dummy_image, dummy_string, dummy_time
from unrolled.examples import _common, load
from unrolled.examples._epynn import clip_rnn_like_epynn
from unrolled.framework.metrics import METRICS
from unrolled.interop.epynn import from_epynn_settings
from unrolled.framework.model import Model
from unrolled.framework.optimizers import SGD
from unrolled.layers import RNN, Dense

SLOW = pytest.mark.skipif(os.environ.get("UNROLLED_SLOW") != "1",
                          reason="full example runs; run with UNROLLED_SLOW=1")


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    with _common.blas_threads(1):
        yield


_results = {}


def run(name, quick=True, seed=0):
    """Run an example once (cached: several tests read the same run)."""
    key = (name, quick, seed)
    if key not in _results:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            result = load(name).main(quick=quick, verbose=0, seed=seed)
        _results[key] = (result, out.getvalue())
    return _results[key]


# ----------------------------------------------------------------------------- data laws
@pytest.mark.parametrize("loader, n_samples, sizes", [
    (dummy_boolean, 50, (33, 17)),      # EpyNN's notebook prints 33 and 17
    (dummy_string, 480, (320, 160)),    # its X has shape (320, 12, 4)
    (dummy_time, 1024, (683, 341)),     # its X has shape (683, 128, 1)
    (dummy_image, 750, (500, 250)),     # round(2 * 750 / 3), the rule that gives the 33
])
def test_split_two_to_one_like_epynn(loader, n_samples, sizes):
    ds = loader(n_samples=n_samples, n_test=7)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (*sizes, 7)


def test_dummy_boolean_law():
    ds = dummy_boolean(n_samples=600, n_test=400, seed=1)
    for split in (ds.train, ds.val, ds.test):
        X, Y = split
        assert X.shape[1:] == (11,) and Y.shape[1:] == (1,)
        assert set(np.unique(X)) == {0.0, 1.0}
        more_true = (X == 1).sum(axis=1) > (X == 0).sum(axis=1)
        np.testing.assert_array_equal(Y[:, 0], np.where(more_true, 0.0, 1.0))   # 0 = positive
    assert 0.4 < ds.test.Y.mean() < 0.6            # fair booleans: no balancing, about half


def test_dummy_string_law():
    ds = dummy_string(n_samples=300, n_test=4000, seed=2)
    X, Y = ds.test
    strings = ds.extras["strings"]["test"]
    assert X.shape[1:] == (12, 4) and Y.shape[1:] == (2,)
    decoded = ["".join("ATGC"[k] for k in row) for row in X.argmax(axis=-1)]
    assert decoded == strings and np.all(X.sum(axis=-1) == 1)
    positive = np.array([s[0] == s[-1] for s in strings])
    np.testing.assert_array_equal(Y[:, 0], positive.astype(float))
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    assert abs(positive.mean() - 0.25) < 0.03     # the last letter repeats the first 1 time in 4


def test_dummy_time_law():
    ds = dummy_time(n_samples=30, n_test=600, seed=3)
    X, Y = ds.test
    f = ds.extras["frequency"]["test"]
    assert X.shape[1:] == (128, 1)
    wave = ~np.isnan(f)
    np.testing.assert_array_equal(Y[:, 0], wave.astype(float))
    assert 0.4 < wave.mean() < 0.6 and np.all((f[wave] >= 0) & (f[wave] < 32))
    t = np.arange(128) / 128
    residual = X[..., 0].copy()
    residual[wave] -= np.sin(2 * np.pi * f[wave, None] * t)
    assert abs(residual.std() - 0.5) < 0.01 and abs(residual.mean()) < 0.01   # white noise left
    assert abs(X[~wave, :, 0].std() - 0.5) < 0.01


def test_dummy_image_law():
    ds = dummy_image(n_samples=30, n_test=300, seed=4)
    X, Y = ds.test
    cross = ds.extras["cross"]["test"]
    assert X.shape[1:] == (28, 28, 1)
    tones = X[..., 0] * 15
    np.testing.assert_allclose(tones, np.round(tones), atol=1e-12)
    assert tones.min() == 0 and tones.max() == 15
    crossed = cross[:, 0] >= 0
    np.testing.assert_array_equal(Y[:, 0], crossed.astype(float))
    for img, (r, c) in zip(tones[crossed], cross[crossed]):
        assert not img[r].any() and not img[:, c].any()
    # a random image has no black line (a line of 28 zeros has probability 16**-28)
    assert all((img != 0).any(axis=1).all() and (img != 0).any(axis=0).all()
               for img in tones[~crossed])


@pytest.mark.parametrize("loader", [dummy_boolean, dummy_string, dummy_time, dummy_image])
def test_seeds(loader):
    a, b, c = loader(n_test=5, seed=7), loader(n_test=5, seed=7), loader(n_test=5, seed=8)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert not np.array_equal(a.train.X, c.train.X)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_features must be odd"):
        dummy_boolean(n_features=10)
    with pytest.raises(ValueError, match="alphabet"):
        dummy_string(alphabet="AAT")
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        dummy_time(n_samples=1)
    with pytest.raises(ValueError, match="noise must be > 0"):
        dummy_time(noise=0.0)


# ----------------------------------------------------------------------------- conventions
def test_unrolleds_accuracy_on_probabilities_is_epynns():
    """EpyNN rounds a single output and takes the argmax of several, whatever the loss: so does
    unrolled's accuracy for a sigmoid (binary) or softmax (categorical) output."""
    A1, Y1 = np.array([[0.49], [0.51], [0.9]]), np.array([[0.0], [1.0], [0.0]])
    assert METRICS["accuracy"](A1, Y1, task="binary") == 2 / 3
    A2 = np.array([[0.6, 0.4], [0.3, 0.7]])
    assert METRICS["accuracy"](A2, np.array([[1.0, 0.0], [1.0, 0.0]]), task="categorical") == 0.5


@pytest.mark.parametrize("temperature", [1.0, 5.0])
def test_one_step_equals_epynns_summed_gradient_update(temperature):
    """EpyNN's step on a Dense softmax layer with MSE, written from its formulas: dA = -2/U (Y - A),
    dZ = J(A) dA with the softmax Jacobian J = diag(A) - A A^T (no 1/T), dW = X^T dZ summed over
    the batch, W -= lr dW. unrolled with SGD(lr * b * T) must take the same step."""
    rng = np.random.default_rng(0)
    b, lr = 16, 0.05
    X = rng.normal(size=(b, 5))
    Y = np.eye(2)[rng.integers(0, 2, b)]
    dense = Dense(2, activation="softmax", activation_params={"temperature": temperature})
    settings = from_epynn_settings({"learning_rate": lr, "schedule": "steady",
                                    "softmax_temperature": temperature}, b, 1)
    model = Model([dense], loss="mse", seed=0, **settings)
    model.predict(X)                                   # builds the parameters
    W, c = dense.p["W"].copy(), dense.p["b"].copy()
    Z = (X @ W + c) / temperature
    A = np.exp(Z - Z.max(axis=1, keepdims=True))
    A /= A.sum(axis=1, keepdims=True)
    dA = -2.0 / 2 * (Y - A)
    dZ = np.einsum("mij,mj->mi", np.einsum("mi,ij->mij", A, np.eye(2)) - A[:, :, None] * A[:, None, :], dA)
    model.train(X, Y, epochs=1, batch_size=b, shuffle=False, verbose=0)
    np.testing.assert_allclose(dense.p["W"], W - lr * X.T @ dZ, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dense.p["b"].ravel(), (c - lr * dZ.sum(axis=0)).ravel(),
                               rtol=1e-12, atol=1e-14)


def test_only_the_rnn_layer_clips_its_gradients():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(8, 6, 2)), rng.normal(size=(8, 3)) * 10
    model = Model(clip_rnn_like_epynn([RNN(4), Dense(3)], batch_size=250), loss="mse",
                  optimizer=SGD(lr=0.1), seed=0)          # clip_norm = 0.25 / 250 = 1e-3
    model.compute_loss_and_gradients(X, Y)
    rnn, dense = model.layers
    dense_before = {k: v.copy() for k, v in dense.g.items()}
    assert np.sqrt(sum(np.sum(g ** 2) for g in rnn.g.values())) > 1e-3
    model._clip()
    assert np.sqrt(sum(np.sum(g ** 2) for g in rnn.g.values())) == pytest.approx(1e-3, rel=1e-12)
    for k, v in dense.g.items():
        np.testing.assert_array_equal(v, dense_before[k])


# ----------------------------------------------------------------------------- the examples
EPYNN_STACKS = {   # EpyNN's layers after its Embedding, one class per EpyNN layer
    "epynn_string": {"Flatten_Dense-2-softmax": ["Flatten", "Dense"],
                     "RNN-1_Dense-2-softmax": ["RNN", "Dense"],
                     "LSTM-1_Dense-2-softmax": ["LSTM", "Dense"],
                     "GRU-1_Dense-2-softmax": ["GRU", "Dense"]},
    "epynn_time": {"Flatten_Dense-64-relu_Dense-2-softmax": ["Flatten", "Dense", "Dense"],
                   "Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax":
                       ["Flatten", "Dropout", "Dense", "Dropout", "Dense"],
                   "RNN-10_Flatten_Dense-2-softmax": ["RNN", "Dense"],
                   "RNN-10_Flatten_Dense-2-softmax (batches of 32)": ["RNN", "Dense"]},
    "epynn_image": {"Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax":
                        ["Flatten", "Dropout", "Dense", "Dropout", "Dense"],
                    "Convolution-6-4_Pooling-2-Max_Flatten_Dense-2-softmax":
                        ["Convolution", "Pooling", "Flatten", "Dense"]},
}


@pytest.mark.parametrize("name", sorted(EPYNN_STACKS))
def test_epynns_layer_stacks_and_a_reference_for_each(name):
    module = load(name)
    stacks = {k: [type(l).__name__ for l in v[0]] for k, v in module.networks().items()}
    assert stacks == EPYNN_STACKS[name]
    assert set(module.PUBLISHED) == set(stacks)
    assert all(0.5 <= v <= 1 for v in module.PUBLISHED.values())


def _learned(history, factor=0.95):
    """The training loss fell below ``factor`` times its first-epoch value."""
    return history["loss"][-1] < factor * history["loss"][0]


def test_epynn_boolean_quick():
    result, out = run("epynn_boolean")
    assert result["metrics"]["test_accuracy"]["Perceptron_Dense-1-sigmoid"] >= 0.7  # half: 50%
    assert "EpyNN: 82.4%" in out


def test_epynn_string_quick():
    result, out = run("epynn_string")
    assert all(_learned(h) for h in result["history"].values())
    base = result["reference"]["majority_accuracy"]
    acc = dict(result["metrics"]["test_accuracy"])
    wider = acc.pop("LSTM-32_Dense-2-softmax, Adam (not EpyNN's)")
    # like EpyNN's, its networks answer "different" (the majority) and learn nothing more ...
    assert set(acc) == set(EPYNN_STACKS["epynn_string"])
    assert all(abs(a - base) <= 0.05 for a in acc.values())
    # ... while a wider LSTM trained by Adam learns from the same strings
    assert wider >= base + 0.05
    assert "EpyNN: no published number" in out


def test_epynn_time_quick():
    result, out = run("epynn_time")
    acc = result["metrics"]["test_accuracy"]
    assert acc["Flatten_Dense-64-relu_Dense-2-softmax"] >= 0.85                 # chance: 50%
    assert acc["Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax"] >= 0.85
    assert acc["RNN-10_Flatten_Dense-2-softmax (batches of 32)"] >= 0.9
    slow = "RNN-10_Flatten_Dense-2-softmax"     # one step per epoch: EpyNN's loss 0.248 -> 0.210
    assert all(_learned(h, 0.99 if k == slow else 0.95) for k, h in result["history"].items())


def test_epynn_image_quick():
    result, out = run("epynn_image")
    assert all(_learned(h) for h in result["history"].values())
    layers = load("epynn_image").networks()[
        "Convolution-6-4_Pooling-2-Max_Flatten_Dense-2-softmax"][0]
    model = Model(layers, loss="mse", seed=0)
    model.predict(np.zeros((3, 28, 28, 1)))
    shapes = [l.fs["A"][1:] for l in model.layers]
    assert shapes == [(7, 7, 6), (3, 3, 6), (54,), (2,)]    # EpyNN's check prints these shapes


def test_digits_cnn_quick():
    result, out = run("digits_cnn")
    assert result["metrics"]["accuracy"] >= 0.93          # majority class: 10%
    assert "misread" in out or result["metrics"]["accuracy"] == 1.0


# ----------------------------------------------------------------------------- full runs
@SLOW
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_cnn_full_reaches_the_target(seed):
    result, _ = run("digits_cnn", quick=False, seed=seed)
    assert result["metrics"]["accuracy"] >= 0.985


@SLOW
@pytest.mark.slow
def test_epynn_time_full():
    result, _ = run("epynn_time", quick=False)
    acc = result["metrics"]["val_accuracy"]
    assert acc["Flatten_Dense-64-relu_Dense-2-softmax"] >= 0.88                 # EpyNN: 90.9%
    assert acc["Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax"] >= 0.9   # 93.8%
    assert acc["RNN-10_Flatten_Dense-2-softmax (batches of 32)"] >= 0.95        # EpyNN: 99.1%


@SLOW
@pytest.mark.slow
@pytest.mark.parametrize("name", ["epynn_boolean", "epynn_string", "epynn_image"])
def test_other_epynn_examples_full(name):
    result, _ = run(name, quick=False)
    history = result["history"]
    assert all(_learned(h) for h in (history.values() if isinstance(history, dict) else [history]))
