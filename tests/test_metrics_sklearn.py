"""Macro precision, recall and F1 against scikit-learn (skipped without it), above all when a
class is absent from the targets, the predictions or both: scikit-learn averages over the labels
present in either (``average="macro"``); ``classes="all"`` averages over every output class, as
scikit-learn does when given ``labels=range(k)``."""
import numpy as np
import pytest

from unrolled.framework import Model
from unrolled.framework import metrics as M
from unrolled.layers import Dense

sk = pytest.importorskip("sklearn.metrics")

SK = {"precision": sk.precision_score, "recall": sk.recall_score, "f1": sk.f1_score}


def _outputs(pred, k):
    """Softmax-like outputs whose argmax is ``pred``."""
    A = np.full((len(pred), k), 0.1 / k)
    A[np.arange(len(pred)), pred] = 0.9
    return A


CASES = {
    # k = 4 output classes; class 3 never occurs
    "absent everywhere": ([0, 1, 2, 0, 1, 2, 0, 0], [0, 2, 2, 0, 1, 1, 0, 2], 4),
    # class 2 only predicted, never a target
    "only predicted": ([0, 1, 0, 1, 0, 1], [0, 2, 0, 1, 2, 1], 3),
    # class 2 only a target, never predicted
    "only a target": ([0, 2, 0, 1, 2, 1], [0, 1, 0, 1, 0, 1], 3),
    "every class": ([0, 1, 2, 2, 1, 0, 1], [0, 1, 2, 1, 1, 0, 2], 3),
}


@pytest.mark.parametrize("name", sorted(SK))
@pytest.mark.parametrize("case", sorted(CASES))
def test_macro_metric_over_present_classes_equals_sklearn(name, case):
    true, pred, k = CASES[case]
    expected = SK[name](true, pred, average="macro", zero_division=0)
    got = getattr(M, name)(_outputs(pred, k), np.array(true), task="sparse")
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", sorted(SK))
@pytest.mark.parametrize("case", sorted(CASES))
def test_macro_metric_over_all_classes_equals_sklearn_with_every_label(name, case):
    true, pred, k = CASES[case]
    expected = SK[name](true, pred, labels=list(range(k)), average="macro", zero_division=0)
    got = getattr(M, name)(_outputs(pred, k), np.array(true), task="sparse", classes="all")
    assert got == pytest.approx(expected, rel=1e-12)


def test_one_hot_targets_and_a_sequence_mask_match_sklearn_on_the_real_steps():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 3, (6, 5))             # class 3 of 4 never a target
    pred = rng.integers(0, 3, (6, 5))
    mask = rng.random((6, 5)) < 0.7
    A = _outputs(pred.ravel(), 4).reshape(6, 5, 4)
    Y = np.eye(4)[true]
    for name, fn in SK.items():
        expected = fn(true[mask], pred[mask], average="macro", zero_division=0)
        got = getattr(M, name)(A, Y, task="categorical", mask=mask)
        assert got == pytest.approx(expected, rel=1e-12), name


def test_absent_class_no_longer_pulls_the_model_metric_down():
    """A 4-class model whose data hold 3 classes reports sklearn's macro F1 by default and the
    all-classes variant under its own name."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 3, 30)
    model = Model([Dense(4, activation="softmax")], loss="scce", seed=0,
                  metrics=["f1", M.macro("f1", classes="all")])
    result = model.evaluate(X, y)
    pred = model.predict(X).argmax(axis=1)
    assert result["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro", zero_division=0))
    assert result["f1_all"] == pytest.approx(
        sk.f1_score(y, pred, labels=[0, 1, 2, 3], average="macro", zero_division=0))


def test_bad_classes_option_is_a_clear_error():
    with pytest.raises(ValueError, match="classes must be 'present' or 'all', got 'some'"):
        M.f1(np.eye(3), np.arange(3), task="sparse", classes="some")
    with pytest.raises(ValueError, match="'accuracy' is not a macro metric"):
        M.macro("accuracy")
