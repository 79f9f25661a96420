"""Callbacks: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger."""
import csv

import numpy as np
import pytest

from unrolled.framework.callbacks import (Callback, CSVLogger, EarlyStopping, ModelCheckpoint,
                                          ReduceLROnPlateau)
from unrolled.framework.model import Model
from unrolled.framework.optimizers import SGD
from unrolled.framework.schedules import ExponentialDecay
from unrolled.framework.serialization import load_model
from unrolled.layers.dense import Dense


def problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3))
    Y = X @ rng.standard_normal((3, 1))
    # validation targets anti-correlated with the training ones: val_loss worsens as training
    # improves, so the best validation epoch is an early one
    return X, Y, (X, -Y)


def model(lr=0.05, **kw):
    return Model([Dense(1, name="out", **kw)], optimizer=SGD(lr=lr), seed=0)


class Recorder(Callback):
    def __init__(self):
        self.weights, self.lrs = {}, []

    def on_epoch_end(self, epoch, logs):
        self.weights[self.model.epoch] = self.model.get_weights()
        self.lrs.append(self.model.optimizer.lr)


def test_early_stopping_stops_and_restores_best_weights():
    X, Y, val = problem()
    net, rec = model(), Recorder()
    stop = EarlyStopping(monitor="val_loss", patience=3)
    net.train(X, Y, epochs=50, batch_size=10, validation=val, callbacks=[rec, stop], verbose=0)
    val_loss = net.history["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    assert stop.best_epoch == best and stop.best == min(val_loss)
    assert net.epoch == best + 3 == stop.stopped_epoch < 50       # stopped after `patience` bad epochs
    final = rec.weights[net.epoch]
    for key, value in net.get_weights().items():
        np.testing.assert_array_equal(value, rec.weights[best][key])
    assert not np.array_equal(final["out/W"], rec.weights[best]["out/W"])


def test_early_stopping_without_restore_and_max_mode():
    X, Y, val = problem()
    net, rec = model(), Recorder()
    stop = EarlyStopping(monitor="val_loss", patience=1, restore_best=False)
    net.train(X, Y, epochs=50, batch_size=10, validation=val, callbacks=[rec, stop], verbose=0)
    for key, value in net.get_weights().items():
        np.testing.assert_array_equal(value, rec.weights[net.epoch][key])
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="loss").mode == "min"
    with pytest.raises(ValueError, match="not in the epoch logs"):
        model().train(X, Y, epochs=2, callbacks=[EarlyStopping()], verbose=0)   # no validation


def test_model_checkpoint_every_n_epochs(tmp_path):
    X, Y, val = problem()
    net, rec = model(), Recorder()
    ckpt = ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.npz", save_best_only=False, every=2)
    net.train(X, Y, epochs=6, batch_size=10, validation=val, callbacks=[rec, ckpt], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-02.npz", "ckpt-04.npz", "ckpt-06.npz"]
    for epoch in (2, 4, 6):
        loaded = load_model(tmp_path / f"ckpt-{epoch:02d}.npz")
        assert loaded.epoch == epoch and len(loaded.history["loss"]) == epoch
        for key, value in loaded.get_weights().items():
            np.testing.assert_array_equal(value, rec.weights[epoch][key])


def test_model_checkpoint_save_best_only(tmp_path):
    X, Y, val = problem()
    net, rec = model(), Recorder()
    path = tmp_path / "best.npz"
    ckpt = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    net.train(X, Y, epochs=8, batch_size=10, validation=val, callbacks=[rec, ckpt], verbose=0)
    best = int(np.argmin(net.history["val_loss"])) + 1
    assert best < 8 and ckpt.saved == [str(path)] * len(ckpt.saved)
    loaded = load_model(path)
    assert loaded.epoch == best
    for key, value in loaded.get_weights().items():
        np.testing.assert_array_equal(value, rec.weights[best][key])
    np.testing.assert_array_equal(loaded.predict(X), Model.load(path).predict(X))


def test_reduce_lr_on_plateau_scales_lr_and_base_lr():
    X, Y, val = problem()
    net = Model([Dense(1, name="out", lr=0.02)], optimizer=SGD(lr=0.05), seed=0,
                schedule=ExponentialDecay(1.0))   # a schedule recomputes lr from base_lr
    rec = Recorder()
    reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.01)
    net.train(X, Y, epochs=12, batch_size=10, validation=val, callbacks=[reduce, rec], verbose=0)
    assert reduce.reductions, "no reduction happened"
    val_loss = net.history["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    # first reduction after `patience` epochs without improvement
    assert all(v > val_loss[best - 1] for v in val_loss[best:])      # worse after the best
    # a reduction after every `patience` epochs without improvement, floored at min_lr
    assert reduce.reductions == [(best + 2, 0.025), (best + 4, 0.0125), (best + 6, 0.01)]
    # the schedule (computing lr from base_lr each epoch) kept every reduction
    lrs = net.history["lr"]
    assert lrs == [0.05] * (best + 2) + [0.025] * 2 + [0.0125] * 2 + [0.01] * (12 - best - 6)
    assert net.optimizer.base_lr == net.optimizer.lr    # gamma = 1: lr == base_lr
    assert net["out"].lr == pytest.approx(0.02 * net.optimizer.lr / 0.05)
    assert ReduceLROnPlateau(monitor="val_f1").mode == "max"
    with pytest.raises(ValueError):
        ReduceLROnPlateau(factor=1.5)


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, Y, val = problem()
    path = tmp_path / "log.csv"
    net = model()
    net.train(X, Y, epochs=4, batch_size=10, validation=val, callbacks=[CSVLogger(path)], verbose=0)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "val_loss", "lr"]
    assert len(rows) == 5
    for i, row in enumerate(rows[1:]):
        assert int(row[0]) == i + 1
        assert float(row[1]) == net.history["loss"][i]
        assert float(row[2]) == net.history["val_loss"][i]
    # appending continues the file without a second header
    net.train(X, Y, epochs=2, batch_size=10, validation=val,
              callbacks=[CSVLogger(path, append=True)], verbose=0)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 7 and rows[-1][0] == "6" and rows.count(rows[0]) == 1
    # a new logger without append starts over
    net.train(X, Y, epochs=1, batch_size=10, validation=val, callbacks=[CSVLogger(path)], verbose=0)
    with open(path, newline="") as f:
        assert len(list(csv.reader(f))) == 2
