"""Learning-rate schedules: each sequence against its formula (and torch's schedulers)."""
import math

import numpy as np
import pytest

from unrolled.framework.model import Model
from unrolled.framework.optimizers import SGD
from unrolled.framework.schedules import (SCHEDULES, CosineAnnealing, CyclicDescent,
                                          ExponentialDecay, LinearDecay, StepDecay, Steady,
                                          get_schedule)
from unrolled.layers.dense import Dense

LR0 = 0.3
EPOCHS = range(40)


def sequence(schedule, lr0=LR0):
    return [schedule(e, lr0) for e in EPOCHS]


def test_steady():
    assert sequence(Steady()) == [LR0] * len(EPOCHS)


def test_exponential_decay():
    expected = [LR0 * 0.9 ** e for e in EPOCHS]
    np.testing.assert_allclose(sequence(ExponentialDecay(0.9)), expected, rtol=1e-14)


def test_linear_decay():
    s = LinearDecay(end_factor=0.1, total_epochs=10)
    expected = [LR0 * (1.0 - 0.9 * min(e, 10) / 10) for e in EPOCHS]
    np.testing.assert_allclose(sequence(s), expected, rtol=1e-14)
    assert s(0, LR0) == LR0 and s(10, LR0) == pytest.approx(0.1 * LR0) and s(25, LR0) == s(10, LR0)
    s2 = LinearDecay(end_factor=1.0, total_epochs=4, start_factor=0.25)   # a warm-up
    assert [s2(e, 1.0) for e in range(6)] == pytest.approx([0.25, 0.4375, 0.625, 0.8125, 1, 1])


def test_step_decay():
    s = StepDecay(step_size=7, gamma=0.5)
    expected = [LR0 * 0.5 ** (e // 7) for e in EPOCHS]
    np.testing.assert_allclose(sequence(s), expected, rtol=1e-14)
    assert s(6, LR0) == LR0 and s(7, LR0) == LR0 / 2


def test_cosine_annealing():
    s = CosineAnnealing(T_max=12, eta_min=0.01)
    expected = [0.01 + (LR0 - 0.01) * (1 + math.cos(math.pi * e / 12)) / 2 for e in EPOCHS]
    np.testing.assert_allclose(sequence(s), expected, rtol=1e-14)
    assert s(0, LR0) == LR0 and s(12, LR0) == pytest.approx(0.01)


def test_cyclic_descent():
    s = CyclicDescent(cycle_epochs=8, decay_k=0.3, cycle_descent=0.2)
    expected = [LR0 * 0.8 ** (e // 8) * math.exp(-0.3 * (e % 8)) for e in EPOCHS]
    np.testing.assert_allclose(sequence(s), expected, rtol=1e-14)
    # restarts: the first epoch of every cycle is the cycle's peak
    for c in range(1, 5):
        assert s(8 * c, LR0) > s(8 * c - 1, LR0)
        assert s(8 * c, LR0) == pytest.approx(LR0 * 0.8 ** c)
    # EpyNN's default decay_k = 5 / cycle_epochs
    assert CyclicDescent(cycle_epochs=10).decay_k == 0.5


@pytest.mark.parametrize("schedule, torch_factory", [
    (ExponentialDecay(0.9), lambda sch, o: sch.ExponentialLR(o, gamma=0.9)),
    (StepDecay(5, 0.3), lambda sch, o: sch.StepLR(o, step_size=5, gamma=0.3)),
    (CosineAnnealing(10, 0.02), lambda sch, o: sch.CosineAnnealingLR(o, T_max=10, eta_min=0.02)),
    (LinearDecay(0.2, 8, start_factor=0.9),
     lambda sch, o: sch.LinearLR(o, start_factor=0.9, end_factor=0.2, total_iters=8)),
], ids=["exponential", "step", "cosine", "linear"])
def test_matches_torch_schedulers(schedule, torch_factory):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR0)
    sched = torch_factory(torch.optim.lr_scheduler, opt)
    theirs = []
    for _ in range(30):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose([schedule(e, LR0) for e in range(30)], theirs, rtol=1e-10, atol=1e-15)


def test_get_schedule_names_and_errors():
    assert set(SCHEDULES) == {"steady", "exponential", "linear", "step", "cosine", "cyclic",
                              "inverse_time"}
    assert isinstance(get_schedule("exponential_decay", gamma=0.5), ExponentialDecay)
    assert get_schedule("cosine", T_max=3) == CosineAnnealing(T_max=3)
    s = StepDecay(2)
    assert get_schedule(s) is s
    with pytest.raises(ValueError, match="unknown schedule"):
        get_schedule("warp")
    with pytest.raises(TypeError):
        get_schedule("step", gamma_typo=1)
    for bad in (lambda: ExponentialDecay(0), lambda: StepDecay(0), lambda: CosineAnnealing(-1),
                lambda: CyclicDescent(3, cycle_descent=1.0), lambda: LinearDecay(total_epochs=0)):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        Steady()(-1, 0.1)


def test_schedule_inside_model_train_sets_history_lr():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    Y = rng.standard_normal((20, 1))
    model = Model([Dense(1)], optimizer=SGD(lr=0.2), schedule=StepDecay(2, 0.5), seed=0)
    model.train(X, Y, epochs=6, batch_size=10, verbose=0)
    assert model.history["lr"] == [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    # resumed training continues the sequence from model.epoch
    model.train(X, Y, epochs=2, batch_size=10, verbose=0)
    assert model.history["lr"][-2:] == [0.025, 0.025]
    assert model.optimizer.base_lr == 0.2


# EpyNN 1.2.13's schedules (epynn/commons/schedule.py), written out from its documented formulas:
#   exp_decay: lr * (1 - d)**(x // epc) * exp(-(x % epc) * k);   lin_decay: lr / (1 + k * 100 * x)
@pytest.mark.parametrize("epc, k, d", [(10, 0.5, 0.0), (7, 0.1, 0.3), (30, 5 / 30, 0.0)])
def test_epynn_exp_decay_alias_computes_epynns_exp_decay(epc, k, d):
    schedule = get_schedule("exp_decay", cycle_epochs=epc, decay_k=k, cycle_descent=d)
    expected = [LR0 * (1 - d) ** (x // epc) * np.exp(-(x % epc) * k) for x in range(30)]
    np.testing.assert_allclose([schedule(x, LR0) for x in range(30)], expected, rtol=1e-14)


@pytest.mark.parametrize("k", [0.001, 0.05, 1.0])
def test_epynn_lin_decay_alias_computes_epynns_lin_decay(k):
    schedule = get_schedule("lin_decay", decay_k=k)
    expected = [LR0 / (1 + k * 100 * x) for x in range(30)]
    np.testing.assert_allclose([schedule(x, LR0) for x in range(30)], expected, rtol=1e-14)


def test_epynn_schedules_against_epynn_itself():
    schedule_module = pytest.importorskip("epynn.commons.schedule")
    for name, kwargs in (("exp_decay", dict(cycle_epochs=6, decay_k=0.2, cycle_descent=0.1)),
                         ("lin_decay", dict(decay_k=0.02))):
        ours = get_schedule(name, **kwargs)
        hpars = (20, LR0, 20 // 6, kwargs["decay_k"], kwargs.get("cycle_descent", 0.0), 6)
        theirs = schedule_module.schedule_functions(name, hpars)
        np.testing.assert_allclose([ours(x, LR0) for x in range(20)], theirs, rtol=1e-14)
