"""Saving and loading models: round trips, exact resume across processes, refusal of bad files."""
import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import unrolled
import unrolled.layers
from unrolled.framework import serialization
from unrolled.framework.model import Model
from unrolled.framework.optimizers import SGD, Adam, AdamW, RMSprop
from unrolled.framework.schedules import CosineAnnealing, ExponentialDecay
from unrolled.framework.serialization import layer_types, load_model, save_model
from unrolled.layers.dense import Dense
from unrolled.layers.dropout import Dropout

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(unrolled.__file__)))


def data(m=24, n=4, out=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    return X, np.tanh(X @ rng.standard_normal((n, out)))


def small_model(seed=3, **kw):
    kw.setdefault("optimizer", Adam(lr=0.01))
    return Model([Dense(6, "tanh", name="hidden", l2=0.01), Dropout(0.3, name="drop"),
                  Dense(2, name="out")], seed=seed, **kw)


def assert_same_state(a, b):
    """Parameters, optimizer state, training position and history are identical."""
    wa, wb = a.get_weights(), b.get_weights()
    assert wa.keys() == wb.keys()
    for key in wa:
        assert wa[key].dtype == wb[key].dtype
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)
    sa, sb = a.optimizer.state_arrays(), b.optimizer.state_arrays()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
    assert type(a.optimizer) is type(b.optimizer)
    assert a.optimizer.config() == b.optimizer.config()
    assert (a.optimizer.lr, a.optimizer.base_lr, a.optimizer.iterations) == \
        (b.optimizer.lr, b.optimizer.base_lr, b.optimizer.iterations)
    assert a.epoch == b.epoch and dict(a.history) == dict(b.history)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    for la, lb in zip(a.layers, b.layers):
        assert type(la) is type(lb) and la.config() == lb.config()
        assert la.rng.bit_generator.state == lb.rng.bit_generator.state


# ------------------------------------------------------------------------------------ round trips
def test_round_trip_everything(tmp_path):
    X, Y = data()
    model = small_model(metrics=["mae", "rmse"], schedule=CosineAnnealing(T_max=10, eta_min=1e-4),
                        clip_norm=5.0, clip_value=2.0, name="net")
    model.train(X, Y, epochs=3, batch_size=5, validation=(X, Y), verbose=0)
    path = tmp_path / "model.npz"
    save_model(model, path)
    loaded = load_model(path)
    assert_same_state(model, loaded)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.name == "net" and loaded.loss.name == "mse" and list(loaded.metrics) == ["mae", "rmse"]
    assert (loaded.clip_norm, loaded.clip_layer_norm, loaded.clip_value) == (5.0, None, 2.0)
    assert loaded.schedule == CosineAnnealing(T_max=10, eta_min=1e-4)
    assert loaded.seed == model.seed and loaded.dtype == model.dtype
    assert loaded["hidden"].l2 == 0.01 and loaded["drop"].rate == 0.3
    # Model.save / Model.load are the same thing
    model.save(tmp_path / "again.npz")
    assert_same_state(model, Model.load(tmp_path / "again.npz"))
    # one more epoch on each: still identical
    model.train(X, Y, epochs=1, batch_size=5, verbose=0)
    loaded.train(X, Y, epochs=1, batch_size=5, verbose=0)
    assert_same_state(model, loaded)


def test_file_is_a_plain_npz_with_json_metadata(tmp_path):
    X, Y = data()
    model = small_model()
    model.train(X, Y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        entries = {k: archive[k] for k in archive.files}
    assert all(not a.dtype.hasobject for a in entries.values())
    meta = json.loads(entries.pop(serialization.META_KEY).tobytes().decode("utf-8"))
    assert meta["format"] == "unrolled.model" and meta["version"] == serialization.VERSION
    assert [l["type"] for l in meta["layers"]] == ["Dense", "Dropout", "Dense"]
    assert meta["model"]["optimizer"]["type"] == "adam"
    assert meta["training"]["epoch"] == 1
    assert meta["layers"][1]["rng"]["bit_generator"] == "PCG64"
    assert "param/hidden/W" in entries and "optimizer/hidden/W/exp_avg" in entries
    assert entries["optimizer/hidden/W/step"].ndim == 0 and entries["optimizer/hidden/W/step"] == 3
    assert not [f for f in os.listdir(tmp_path) if f != "m.npz"]      # no temp files left


@pytest.mark.parametrize("optimizer", [SGD(lr=0.05, momentum=0.9, nesterov=True),
                                       RMSprop(centered=True, momentum=0.5),
                                       AdamW(amsgrad=True)], ids=["sgd", "rmsprop", "adamw"])
def test_float32_and_other_optimizers(tmp_path, optimizer):
    X, Y = data()
    model = small_model(optimizer=optimizer, dtype="float32")
    model.train(X, Y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.dtype == np.float32
    assert all(v.dtype == np.float32 for k, v in loaded.optimizer.state_arrays().items()
               if not k.endswith("/step"))
    assert_same_state(model, loaded)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_unbuilt_model_round_trip(tmp_path):
    X, Y = data()
    model = small_model()
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert not loaded.built
    model.train(X, Y, epochs=2, batch_size=8, verbose=0)
    loaded.train(X, Y, epochs=2, batch_size=8, verbose=0)
    assert_same_state(model, loaded)


def test_loaded_model_is_built_and_checks_input_size(tmp_path):
    X, Y = data()
    model = small_model()
    model.train(X, Y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.built and loaded["hidden"].d["n"] == 4
    with pytest.raises(ValueError, match="built for inputs with n = 4"):
        loaded.predict(np.ones((2, 7)))
    # without the input shape the parameters are assigned and the saved shapes restored
    rewrite(tmp_path / "m.npz", tmp_path / "noshapes.npz",
            edit_meta=lambda meta: meta.update(input_shape=None))
    again = load_model(tmp_path / "noshapes.npz")
    assert_same_state(model, again)
    model.train(X, Y, epochs=1, batch_size=8, verbose=0)
    again.train(X, Y, epochs=1, batch_size=8, verbose=0)
    assert_same_state(model, again)


def test_custom_schedule_is_not_saved_but_warned(tmp_path):
    model = small_model(schedule=lambda epoch, lr: lr / (1 + epoch))
    with pytest.warns(UserWarning, match="custom callable"):
        model.save(tmp_path / "m.npz")
    with pytest.warns(UserWarning, match="custom schedule"):
        assert load_model(tmp_path / "m.npz").schedule is None


def test_unsaveable_models_are_refused_at_save(tmp_path):
    """What cannot be named in a file is refused at save, naming the target and the remedy:
    a layer class whose name another class holds, an unregistered metric function."""
    Dense_ = type("Dense", (Dense,), {"__module__": "someone_elses_module"})   # clashes with Dense

    with pytest.raises(ValueError, match="already taken by unrolled.layers.dense.Dense.*"
                                         "registered_name") as info:
        Model([Dense_(2)]).save(tmp_path / "a.npz")
    assert str(tmp_path / "a.npz") in str(info.value)

    def my_metric(A, Y, task=None, mask=None):
        return 0.0

    with pytest.raises(ValueError, match="my_metric is not registered.*register_metric"):
        Model([Dense(2)], metrics=[my_metric]).save(tmp_path / "b.npz")
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------------------------ every layer type
KNOWN_ARGS = {"layer": lambda: layer_types()["RNN"](3), "units": 3, "rate": 0.3, "hidden_size": 3, "size": 3, "n_units": 3, "output_dim": 3,
              "input_dim": 5, "vocab_size": 5, "dim": 3, "n": 3, "filters": 2, "kernel_size": 2,
              "pool_size": 2}


def build_generic(cls, seed=5):
    """A small trainable model with ``cls`` first and a Dense head, on the first input that
    fits: (m, e), (m, s, e) (recurrent layers) or integer ids (m, s) (``integer_input`` layers)."""
    kwargs = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            if p.name not in KNOWN_ARGS:
                pytest.skip(f"no generic value for {cls.__name__}'s required argument {p.name!r}")
            value = KNOWN_ARGS[p.name]
            kwargs[p.name] = value() if callable(value) else value
    rng = np.random.default_rng(0)
    errors = []
    candidates = [rng.standard_normal((9, 4)), rng.standard_normal((9, 5, 4))]
    ids = rng.integers(0, 5, size=(9, 5)).astype(float)     # token ids for embedding-like layers
    candidates.insert(0 if getattr(cls, "integer_input", False) else 2, ids)
    candidates.append(rng.standard_normal((9, 4, 5, 3)))    # images (m, h, w, c): Flatten to Dense
    for X in candidates:
        flat = [layer_types()["Flatten"](name="flat")] if X.ndim == 4 else []
        model = Model([cls(name="under_test", **kwargs), *flat, Dense(2, name="head")],
                      optimizer=Adam(lr=0.01), seed=seed)
        try:
            out = model.predict(X)
        except (ValueError, TypeError, IndexError) as err:
            errors.append(f"{X.shape}: {err}")
            continue
        Y = np.random.default_rng(1).standard_normal(out.shape)
        return model, X, Y
    pytest.fail(f"could not build a model with {cls.__name__}: " + "; ".join(errors))


BUILT_IN = sorted(["Template"] + [n for n in unrolled.layers.__all__
                                  if isinstance(getattr(unrolled.layers, n), type)])


@pytest.mark.parametrize("type_name", BUILT_IN)
def test_round_trip_every_layer_type(tmp_path, type_name):
    cls = layer_types()[type_name]
    model, X, Y = build_generic(cls)
    model.train(X, Y, epochs=2, batch_size=4, verbose=0)
    path = tmp_path / f"{type_name}.npz"
    model.save(path)
    loaded = Model.load(path)
    assert type(loaded["under_test"]) is cls
    assert loaded["under_test"].config() == model["under_test"].config()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert_same_state(model, loaded)
    model.train(X, Y, epochs=1, batch_size=4, verbose=0)
    loaded.train(X, Y, epochs=1, batch_size=4, verbose=0)
    assert_same_state(model, loaded)


def test_registry_follows_unrolled_layers_all():
    import unrolled.layers as layers_pkg
    for name in layers_pkg.__all__:
        cls = getattr(layers_pkg, name)
        if isinstance(cls, type):
            assert layer_types()[cls.__name__] is cls
    assert "Layer" not in layer_types()


# ------------------------------------------------------------------------------------ exact resume
CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from unrolled.framework.model import Model
    src, data_path, out = sys.argv[1:4]
    with np.load(data_path, allow_pickle=False) as d:
        X, Y = d["X"], d["Y"]
    model = Model.load(src)
    assert model.epoch == 10, model.epoch
    model.train(X, Y, epochs=10, batch_size=5, verbose=0)
    model.save(out)
""")


def resume_setup(kind):
    """(factory of a fresh model, X, Y) for the resume test."""
    if kind == "dense":
        X, Y = data(m=23)
        return (lambda: small_model(seed=11, optimizer=Adam(lr=0.02),
                                    schedule=ExponentialDecay(0.9))), X, Y
    cls = layer_types().get("LSTM")
    if cls is None:
        pytest.skip("no LSTM layer exported yet")
    accepted = inspect.signature(cls.__init__).parameters
    extra = {k: 0.2 for k in ("dropout", "recurrent_dropout") if k in accepted}
    rng = np.random.default_rng(2)
    X = rng.standard_normal((15, 6, 3))
    Y = np.tanh(X.sum(axis=1))[:, :2]
    return (lambda: Model([cls(5, name="lstm", **extra), Dropout(0.3, name="drop"),
                           Dense(2, name="out")], optimizer=Adam(lr=0.02), seed=12,
                          schedule=ExponentialDecay(0.9))), X, Y


@pytest.mark.parametrize("kind", ["dense", "lstm"])
def test_resume_is_bit_identical_across_processes(tmp_path, kind):
    fresh, X, Y = resume_setup(kind)
    straight = fresh()
    straight.train(X, Y, epochs=20, batch_size=5, verbose=0)

    first = fresh()
    first.train(X, Y, epochs=10, batch_size=5, verbose=0)
    first.save(tmp_path / "half.npz")
    np.savez(tmp_path / "data.npz", X=X, Y=Y)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "half.npz"),
                           str(tmp_path / "data.npz"), str(tmp_path / "resumed.npz")],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    resumed = load_model(tmp_path / "resumed.npz")
    assert resumed.epoch == 20
    assert_same_state(straight, resumed)
    np.testing.assert_array_equal(resumed.predict(X), straight.predict(X))
    # the check is sharp: the same run with other shuffling / dropout draws differs
    other = fresh()
    other.train(X, Y, epochs=10, batch_size=5, verbose=0)
    other.rng = np.random.default_rng(123)
    other["drop"].rng = np.random.default_rng(321)
    other.train(X, Y, epochs=10, batch_size=5, verbose=0)
    assert not np.array_equal(other.get_weights()["out/W"], straight.get_weights()["out/W"])


# ------------------------------------------------------------------------------------ bad files
def saved(tmp_path, name="good.npz"):
    X, Y = data()
    model = small_model()
    model.train(X, Y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / name
    model.save(path)
    return model, path


def rewrite(src, dst, edit_meta=None, extra=None, replace_meta=None, drop=()):
    """Copy a model file, editing its JSON metadata and/or adding or removing entries."""
    with np.load(src, allow_pickle=False) as archive:
        entries = {k: archive[k] for k in archive.files if k not in drop}
    meta = json.loads(entries[serialization.META_KEY].tobytes().decode("utf-8"))
    if edit_meta:
        edit_meta(meta)
    entries[serialization.META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    if replace_meta is not None:
        entries[serialization.META_KEY] = replace_meta
    entries.update(extra or {})
    np.savez(dst, **entries)       # allow_pickle defaults to True here: the attacker's side
    return dst


class Payload:
    """Unpickling this object calls ``open(marker, "w")``: it would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("where", ["extra_entry", "metadata_entry", "npy_file"])
def test_pickle_payload_is_refused_without_running_it(tmp_path, where):
    _, good = saved(tmp_path)
    marker = tmp_path / "PWNED"
    evil = np.array([Payload(marker)], dtype=object)
    bad = tmp_path / "bad.npz"
    if where == "extra_entry":
        rewrite(good, bad, extra={"param/out/evil": evil})
    elif where == "metadata_entry":
        rewrite(good, bad, replace_meta=evil)
    else:
        with open(bad, "wb") as f:
            np.save(f, evil, allow_pickle=True)
    with pytest.raises(ValueError, match="pickle|object array") as info:
        load_model(bad)
    assert str(bad) in str(info.value)
    assert not marker.exists()
    # the payload is live: unpickling it (what load_model must never do) creates the marker
    loaded = np.load(bad, allow_pickle=True)
    arrays = [loaded] if isinstance(loaded, np.ndarray) else [loaded[k] for k in loaded.files]
    assert marker.exists()
    for arr in arrays:
        for obj in arr.ravel() if arr.dtype == object else ():
            obj.close()           # the file objects the payload opened


def test_truncated_and_corrupted_files_give_clear_errors(tmp_path):
    _, good = saved(tmp_path)
    raw = good.read_bytes()
    cases = {"truncated.npz": raw[: len(raw) // 2], "tail_cut.npz": raw[:-30],
             "empty.npz": b"", "text.npz": b"hello, I am not a model\n",
             "flipped.npz": raw[:200] + bytes(b ^ 0xFF for b in raw[200:260]) + raw[260:]}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError) as info:
            load_model(path)
        assert str(path) in str(info.value), name
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single .npy"):
        load_model(tmp_path / "plain.npy")


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["layers"][0].update(type="EvilLayer"), "unknown type 'EvilLayer'"),
    (lambda m: m["layers"][0].update(type="Layer"), "unknown type 'Layer'"),
    (lambda m: m["layers"][0].update(type="os.system"), "unknown type"),
    (lambda m: m.update(version=99), "unsupported file version 99"),
    (lambda m: m.update(format="something.else"), "not an unrolled model file"),
    (lambda m: m["model"]["optimizer"].update(type="evil"), "unknown optimizer"),
    (lambda m: m["model"]["config"].update(loss="evil"), "unknown loss"),
    (lambda m: m["model"]["schedule"] is None and m["model"].update(
        schedule={"type": "evil", "config": {}}), "unknown schedule"),
    (lambda m: m["layers"][0]["config"].update(units="many"), "cannot rebuild Dense"),
    (lambda m: m["layers"][0]["config"].update(evil_argument=1), "cannot rebuild Dense"),
    (lambda m: m["layers"][1]["rng"].update(bit_generator="Evil"), "random-generator state"),
    (lambda m: m["layers"][0]["params"].append("Q"), "missing parameter array 'param/hidden/Q'"),
], ids=["unknown-type", "base-class", "dotted-name", "version", "format", "optimizer", "loss",
        "schedule", "bad-config", "extra-kwarg", "rng", "missing-param"])
def test_tampered_metadata_is_refused(tmp_path, edit, message):
    _, good = saved(tmp_path)
    bad = rewrite(good, tmp_path / "bad.npz", edit_meta=edit)
    with pytest.raises(ValueError, match=message) as info:
        load_model(bad)
    assert str(bad) in str(info.value)


def test_tampered_arrays_are_refused(tmp_path):
    _, good = saved(tmp_path)
    bad = rewrite(good, tmp_path / "a.npz", extra={"param/hidden/W": np.zeros((4, 6), np.float32)})
    with pytest.raises(ValueError, match="dtype"):
        load_model(bad)
    bad = rewrite(good, tmp_path / "b.npz", extra={"optimizer/hidden/W/exp_avg": np.zeros(3)})
    with pytest.raises(ValueError, match="shape"):
        load_model(bad)
    bad = rewrite(good, tmp_path / "c.npz", extra={"optimizer/nobody/W/exp_avg": np.zeros(3)})
    with pytest.raises(ValueError, match="refers to no parameter"):
        load_model(bad)
    bad = rewrite(good, tmp_path / "w.npz", extra={"param/hidden/W": np.zeros((5, 6))})
    with pytest.raises(ValueError, match="has shape"):
        load_model(bad)
    bad = rewrite(good, tmp_path / "m.npz", drop=("param/hidden/b",))
    with pytest.raises(ValueError, match="missing parameter array 'param/hidden/b'"):
        load_model(bad)
    bad = rewrite(good, tmp_path / "d.npz", extra={"surprise": np.zeros(3)})
    with pytest.raises(ValueError, match="unexpected entry 'surprise.npy'"):
        load_model(bad)
    # a 0-d unicode metadata entry is accepted too
    with np.load(good, allow_pickle=False) as archive:
        text = archive[serialization.META_KEY].tobytes().decode("utf-8")
    ok = rewrite(good, tmp_path / "e.npz", replace_meta=np.array(text))
    assert load_model(ok).epoch == 1


def test_save_is_atomic(tmp_path, monkeypatch):
    X, Y = data()
    old, path = saved(tmp_path, "model.npz")
    before = path.read_bytes()
    newer = small_model(seed=42)
    newer.train(X, Y, epochs=2, batch_size=8, verbose=0)

    def crash(f, arrays):
        f.write(b"PK\x03\x04 half-written archive")
        raise RuntimeError("simulated crash mid-save")

    monkeypatch.setattr(serialization, "_write_archive", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        newer.save(path)
    assert path.read_bytes() == before                   # the previous file is intact
    assert os.listdir(tmp_path) == ["model.npz"]         # and no temporary file is left
    assert_same_state(old, load_model(path))
    monkeypatch.undo()
    newer.save(path)                                     # a normal save replaces it
    assert_same_state(newer, load_model(path))


def test_lean_recurrent_layer_round_trip(tmp_path):
    """lean=True is part of a recurrent layer's configuration: it survives save/load, and the
    loaded model trains on exactly as the saved one."""
    from unrolled.layers import LSTM
    X = np.random.default_rng(0).standard_normal((8, 5, 3))
    Y = np.random.default_rng(1).standard_normal((8, 2))
    model = Model([LSTM(4, lean=True, name="rec"), Dense(2, name="head")], optimizer=Adam(lr=0.01), seed=2)
    model.train(X, Y, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "lean.npz")
    loaded = Model.load(tmp_path / "lean.npz")
    assert loaded["rec"].lean is True
    model.train(X, Y, epochs=1, batch_size=4, verbose=0)
    loaded.train(X, Y, epochs=1, batch_size=4, verbose=0)
    assert_same_state(model, loaded)


# ------------------------------------------------------------------------------------ nothing lost
def test_stateful_stream_continues_bit_identically_after_reload(tmp_path):
    """The states a stateful layer carries between batches are saved: the reloaded model reads
    the next chunks of the stream exactly as the original does."""
    from unrolled.layers import GRU, LSTM
    rng = np.random.default_rng(4)
    chunks = [rng.standard_normal((3, 4, 2)) for _ in range(4)]
    model = Model([LSTM(5, stateful=True, sequences=True, name="lstm"),
                   GRU(3, stateful=True, name="gru"), Dense(2, name="out")], seed=9)
    for chunk in chunks[:2]:
        model.predict(chunk)
    assert set(model["lstm"].carried) == {"h", "C"} and set(model["gru"].carried) == {"h"}
    model.save(tmp_path / "stream.npz")
    loaded = load_model(tmp_path / "stream.npz")
    for name in ("lstm", "gru"):
        for key, state in model[name].carried.items():
            np.testing.assert_array_equal(loaded[name].carried[key], state)
    for chunk in chunks[2:]:
        np.testing.assert_array_equal(loaded.predict(chunk), model.predict(chunk))
    # sharp: the same model restarted from zero states reads the stream differently
    restarted = load_model(tmp_path / "stream.npz")
    restarted.reset_states()
    assert not np.array_equal(restarted.predict(chunks[2]), load_model(tmp_path / "stream.npz")
                              .predict(chunks[2]))


def test_carried_state_that_does_not_fit_is_refused(tmp_path):
    from unrolled.layers import LSTM
    model = Model([LSTM(5, stateful=True, name="lstm"), Dense(2, name="out")], seed=9)
    model.predict(np.zeros((3, 4, 2)))
    model.save(tmp_path / "s.npz")
    bad = rewrite(tmp_path / "s.npz", tmp_path / "bad.npz", extra={"state/lstm/h": np.zeros((3, 7))})
    with pytest.raises(ValueError, match=r"carried state 'state/lstm/h' has shape \(3, 7\), "
                                         r"expected \(m, 5\)"):
        load_model(bad)


def test_leftovers_of_a_killed_save_are_cleaned_by_the_next_save(tmp_path):
    """A save killed mid-write leaves '.<name>.<pid>.<hex>.tmp'; the next save of the same target
    removes it when that process is gone, and leaves everything else alone."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    dead = int(done.stdout)                             # a process that has exited
    leftover = tmp_path / f".model.npz.{dead}.0badc0de.tmp"
    live = tmp_path / f".model.npz.{os.getppid()}.0badc0de.tmp"     # a save still running
    other = tmp_path / f".other.npz.{dead}.0badc0de.tmp"            # another target's
    for path in (leftover, live, other):
        path.write_bytes(b"PK\x03\x04 80 MB of a half-written archive")
    _, path = saved(tmp_path, "model.npz")
    assert not leftover.exists()
    assert live.exists() and other.exists()
    assert sorted(os.listdir(tmp_path)) == sorted([".model.npz.%d.0badc0de.tmp" % os.getppid(),
                                                   f".other.npz.{dead}.0badc0de.tmp", "model.npz"])


def test_save_errors_name_the_target_path(tmp_path):
    model = small_model()
    target = tmp_path / "no_such_dir" / "m.npz"
    with pytest.raises(FileNotFoundError, match="save_model: cannot write .*no_such_dir/m.npz"):
        model.save(target)
    model["hidden"].name = "a/b"
    with pytest.raises(ValueError, match=r"save_model: .*bad\.npz: layer names may not contain '/'"):
        model.save(tmp_path / "bad.npz")
    assert not os.listdir(tmp_path)


def test_optimizer_state_is_validated_slot_by_slot(tmp_path):
    _, good = saved(tmp_path)         # Adam: step, exp_avg, exp_avg_sq for every parameter
    cases = [
        ({"optimizer/hidden/W/velocity": np.zeros((4, 6))},
         r"Adam keeps the slots \['exp_avg', 'exp_avg_sq', 'step'\].*hidden/W has "
         r"\['exp_avg', 'exp_avg_sq', 'step', 'velocity'\]"),
        ({"optimizer/hidden/W/exp_avg": np.full((4, 6), np.nan)},
         r"'hidden/W/exp_avg' holds non-finite values"),
        ({"optimizer/hidden/W/step": np.array(-3)},
         r"'hidden/W/step': a step count is a non-negative integer scalar, got int64 of shape \(\)"),
        ({"optimizer/hidden/W/step": np.array(2.5)},
         r"'hidden/W/step': a step count is a non-negative integer scalar, got float64"),
        ({"optimizer/hidden/W/exp_avg": np.zeros((4, 6), np.float32)},
         r"'hidden/W/exp_avg' has shape \(4, 6\) and dtype float32, its parameter \(4, 6\) and "
         r"float64"),
    ]
    for i, (extra, message) in enumerate(cases):
        bad = rewrite(good, tmp_path / f"bad{i}.npz", extra=extra)
        with pytest.raises(ValueError, match=message):
            load_model(bad)
    bad = rewrite(good, tmp_path / "missing.npz", drop=("optimizer/hidden/W/exp_avg_sq",))
    with pytest.raises(ValueError, match=r"hidden/W has \['exp_avg', 'step'\]"):
        load_model(bad)


# ------------------------------------------------------------------------------------ older files
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def test_version_1_files_still_load_and_predict_the_same():
    """tests/data/v1_*.npz were written by the version-1 writer (commit f913aad) with the
    predictions of the saved models: they load into the version-2 layout unchanged."""
    with np.load(os.path.join(DATA, "v1_expected.npz")) as expected:
        X, Xs = expected["X"], expected["Xs"]
        dense_out, seq_out = expected["dense_predict"], expected["seq2seq_predict"]
    dense = load_model(os.path.join(DATA, "v1_dense.npz"))
    assert dense.epoch == 2 and isinstance(dense.schedule, ExponentialDecay)
    np.testing.assert_array_equal(dense.predict(X), dense_out)
    seq = load_model(os.path.join(DATA, "v1_seq2seq.npz"))
    assert type(seq).__name__ == "Seq2Seq" and seq.start_id == 1 and seq.target_length == 3
    assert set(seq.components()) == {"encoder_embedding", "encoder", "decoder", "output"}
    np.testing.assert_array_equal(seq.predict(Xs), seq_out)


def test_an_extra_seq2seq_component_saves_without_special_code(tmp_path):
    """Seq2Seq's layers are saved as named components (every constructor argument whose
    attribute is a layer): a further one, as an attention layer will be, needs no save code."""
    from unrolled.framework import Seq2Seq
    from unrolled.layers import LSTM, Embedding
    from unrolled.layers.template import Template

    class Seq2SeqWithBridge(Seq2Seq):
        def __init__(self, encoder, decoder, output, bridge=None, **kwargs):
            super().__init__(encoder, decoder, output, **kwargs)
            self.bridge = bridge
            self.layers.insert(-1, bridge)             # the output layer stays last
            self._name_layers()
            bridge.dtype = self.dtype
            bridge.seed(5)
            bridge(np.zeros((1, 4)))                # built: (1, 4) gammas and betas

    rng = np.random.default_rng(0)
    X, Y = rng.integers(0, 6, (8, 5)), rng.integers(0, 7, (8, 3))
    model = Seq2SeqWithBridge(LSTM(4, sequences=False), LSTM(4, sequences=True),
                              Dense(7, activation="softmax"), bridge=Template(name="bridge", trainable=False),
                              encoder_embedding=Embedding(6, 3), seed=2, optimizer="adam")
    model.train(X, Y, epochs=1, batch_size=4, verbose=0)
    model["bridge"].p["gamma"][...] = rng.standard_normal((1, 4))
    model.save(tmp_path / "bridge.npz")
    loaded = load_model(tmp_path / "bridge.npz")
    assert type(loaded) is Seq2SeqWithBridge and loaded.bridge is loaded["bridge"]
    assert set(loaded.components()) == {"encoder", "decoder", "output", "bridge",
                                        "encoder_embedding"}
    np.testing.assert_array_equal(loaded.bridge.p["gamma"], model.bridge.p["gamma"])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
