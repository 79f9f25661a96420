"""BLAS threads: train, evaluate and predict run with a count chosen by the rules of
unrolled.threads (the model's setting, blas_threads, UNROLLED_NUM_THREADS, the user's BLAS
environment, then the model's size), and asking for a count never silently does nothing."""
import sys

import numpy as np
import pytest
import threadpoolctl

from unrolled import threads
from unrolled.framework import Callback, Model
from unrolled.layers import LSTM, RNN, Dense


def blas_counts():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"]


@pytest.fixture
def clean_env(monkeypatch):
    """No thread count fixed by the environment, and two usable cores."""
    for var in threads.THREAD_VARIABLES + (threads.ENVIRONMENT,):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "busy_cores", lambda: 0.3)
    if not blas_counts():
        pytest.skip("no BLAS library visible to threadpoolctl")


class RecordThreads(Callback):
    """The BLAS thread counts in force while a batch is trained."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def on_batch_end(self, batch, logs):
        self.seen.update(blas_counts())


def lstm_model(units, **kwargs):
    return Model([LSTM(units), Dense(2)], loss="mse", seed=0, **kwargs)


def data(m=32, s=4, e=3):
    rng = np.random.default_rng(0)
    return rng.standard_normal((m, s, e)), rng.standard_normal((m, 2))


def test_blas_threads_limits_and_restores(clean_env):
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_counts()
        with threads.blas_threads(1):
            assert blas_counts() == [1] * len(before)
        assert blas_counts() == before


def test_blas_threads_without_threadpoolctl_raises(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)     # import now fails
    with pytest.raises(ImportError):
        with threads.blas_threads(1):
            pass


def test_blas_threads_with_no_blas_visible_raises(monkeypatch):
    monkeypatch.setattr(threadpoolctl, "threadpool_info", list)
    with pytest.raises(RuntimeError, match="no BLAS library"):
        with threads.blas_threads(1):
            pass


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_thread_counts_must_be_positive_integers(bad):
    with pytest.raises(ValueError, match=rf"threads must be a positive integer, got {bad!r}"):
        with threads.blas_threads(bad):
            pass


def test_model_threads_argument_is_checked():
    with pytest.raises(ValueError, match="model: threads must be a positive integer or None, got 0"):
        lstm_model(3, threads=0)
    with pytest.raises(TypeError, match=r"model: threads must be a positive integer or None, got "
                                        r"'2' \(str"):
        lstm_model(3, threads="2")


def test_size_rule_picks_one_thread_for_small_and_two_for_large_products(clean_env):
    small = lstm_model(8)
    small.build(data()[0])
    big = Model([Dense(512), Dense(2)], seed=0)
    big.build(np.zeros((1, 1024)))
    assert threads.step_work(small, 32) == 32 * 8 * 32          # V: (u, 4u)
    assert threads.step_work(big, 256) == 256 * 1024 * 512      # W: (1024, 512)
    assert threads.choose(None, threads.step_work(small, 32)) == (1, "size")
    assert threads.choose(None, threads.step_work(big, 256)) == (2, "size")


def test_a_busy_machine_means_one_thread(clean_env, monkeypatch):
    """With another process on the second core, two threads made large steps 1.3-4x slower
    (bench/README.md, "BLAS threads")."""
    monkeypatch.setattr(threads, "busy_cores", lambda: 1.6)
    assert threads.choose(None, 10 * threads.TWO_THREADS_FROM) == (1, "size")


def test_one_usable_core_means_one_thread(clean_env, monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 1)
    assert threads.choose(None, 10 * threads.TWO_THREADS_FROM) == (1, "size")


def test_precedence_model_then_context_then_variable_then_environment(clean_env, monkeypatch):
    large = 10 * threads.TWO_THREADS_FROM
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert threads.choose(None, 0) == (None, "OPENBLAS_NUM_THREADS")   # the BLAS obeys it already
    monkeypatch.setenv(threads.ENVIRONMENT, "1")
    assert threads.choose(None, large) == (1, threads.ENVIRONMENT)
    with threads.blas_threads(2):
        assert threads.choose(None, 0) == (2, "blas_threads")
        assert threads.choose(1, large) == (1, "model")


def test_bad_unrolled_num_threads_names_the_variable(clean_env, monkeypatch):
    monkeypatch.setenv(threads.ENVIRONMENT, "two")
    with pytest.raises(ValueError, match="UNROLLED_NUM_THREADS must be a positive integer, got 'two'"):
        threads.choose(None, 0)


@pytest.mark.parametrize("requested", [1, 2])
def test_training_runs_with_the_chosen_count_and_restores_it(clean_env, requested):
    X, Y = data()
    model = lstm_model(4, threads=requested)
    record = RecordThreads()
    with threadpoolctl.threadpool_limits(limits=2 if requested == 1 else 1, user_api="blas"):
        before = blas_counts()
        model.train(X, Y, epochs=1, batch_size=8, verbose=0, callbacks=[record])
        assert blas_counts() == before
    assert record.seen == {requested}
    assert model.last_threads == requested


def test_a_small_model_trains_on_one_thread_by_default(clean_env):
    X, Y = data()
    model = lstm_model(4)
    record = RecordThreads()
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        model.train(X, Y, epochs=1, batch_size=8, verbose=0, callbacks=[record])
    assert record.seen == {1} and model.last_threads == 1


def test_predict_and_evaluate_choose_too(clean_env):
    X, Y = data()
    model = lstm_model(4)
    with threads.blas_threads(2):
        model.predict(X)
        assert model.last_threads == 2
    model.evaluate(X, Y)
    assert model.last_threads == 1


def test_building_a_fresh_stateful_model_carries_no_state(clean_env):
    """The model is built from the first call's data before its threads are chosen: one sample
    through a stateful layer must not leave a carried state of batch size 1 behind."""
    X, Y = data(m=8)
    model = Model([RNN(3, stateful=True), Dense(2)], seed=0)
    model.build(X)
    assert model.layers[0].carried is None
    model.train(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert model.layers[0].carried["h"].shape == (8, 3)


def test_seq2seq_predict_uses_the_models_threads(clean_env):
    from unrolled.framework import Seq2Seq
    model = Seq2Seq(LSTM(3), LSTM(3, sequences=True), Dense(4, activation="softmax"), seed=0,
                    threads=2)
    model.predict(np.zeros((2, 5, 3)), length=3)
    assert model.last_threads == 2
