"""Hostile model files (issue 16): every crafted file is refused by ``load_model`` with one
ValueError that names the file and the entry, and says what was expected and what was found,
before anything large is allocated or computed.

``CASES`` is the table: (id, base model, how to craft the file from a valid one, the pattern the
message must contain). bench/load.py times the same table. A subprocess loads every case under
an address-space limit (valid load + 100 MB), and a hypothesis fuzz mutates valid files.
"""
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import unrolled
from unrolled.framework.model import Model
from unrolled.framework.optimizers import SGD, Adam
from unrolled.framework.schedules import ExponentialDecay
from unrolled.framework.serialization import META_KEY, load_model
from unrolled.layers import LSTM, Dense, Dropout

REPO_ROOT = Path(unrolled.__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ valid files
def base_model(kind):
    """A small trained model: "dense" (Dense-Dropout-Dense, Adam, a schedule) or "lstm" (a
    stateful LSTM carrying states, SGD with momentum)."""
    rng = np.random.default_rng(0)
    if kind == "dense":
        X, Y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
        model = Model([Dense(6, "tanh", name="hidden"), Dropout(0.3, name="drop"),
                       Dense(2, name="out")], optimizer=Adam(lr=0.01), seed=1,
                      schedule=ExponentialDecay(0.9), metrics=["mae"])
    else:
        X, Y = rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 2))
        model = Model([LSTM(4, stateful=True, name="lstm"), Dense(2, name="out")],
                      optimizer=SGD(lr=0.01, momentum=0.9), seed=1)
    model.train(X, Y, epochs=1, batch_size=len(X), verbose=0)
    return model


def write_bases(folder):
    paths = {}
    for kind in ("dense", "lstm"):
        paths[kind] = Path(folder) / f"{kind}.npz"
        base_model(kind).save(paths[kind])
    return paths


# ------------------------------------------------------------------------------------ crafting
def entries_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def edit(change):
    """Craft by editing the metadata (a dict) and/or the arrays (a dict) of a valid file."""
    def craft(src, dst):
        entries = entries_of(src)
        meta = json.loads(entries[META_KEY].tobytes().decode("utf-8"))
        change(meta, entries)
        if META_KEY in entries and entries[META_KEY].dtype == np.uint8 and not isinstance(
                entries[META_KEY], _Raw):
            entries[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
        np.savez(dst, **{k: np.asarray(v) for k, v in entries.items()})
    return craft


class _Raw(np.ndarray):
    """Marks a metadata array that ``edit`` must keep as given."""


def raw_meta(data):
    def change(meta, entries):
        entries[META_KEY] = np.frombuffer(data, np.uint8).view(_Raw)
    return change


def raw_array(value):
    def change(meta, entries):
        entries[META_KEY] = value.view(_Raw)
    return change


def set_in(path, value):
    """A change setting ``meta[path[0]][path[1]]... = value``."""
    def change(meta, entries):
        target = meta
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def arrays(**new):
    """A change replacing or adding arrays (keys with '__' for '/')."""
    def change(meta, entries):
        for key, value in new.items():
            entries[key.replace("__", "/")] = value
    return change


def drop(*keys):
    def change(meta, entries):
        for key in keys:
            del entries[key]
    return change


def both(*changes):
    def change(meta, entries):
        for c in changes:
            c(meta, entries)
    return change


def raw(transform):
    """Craft from the bytes of the valid file."""
    def craft(src, dst):
        Path(dst).write_bytes(transform(Path(src).read_bytes()))
    return craft


def npy(descr, shape, data=b"", fortran=False, header=None):
    """The bytes of a .npy file with the given header (whatever data follows)."""
    text = header if header is not None else \
        f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    pad = 64 - (10 + len(text) + 1) % 64
    body = (text + " " * pad + "\n").encode("latin1")
    if len(body) > 65535:
        return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(body)) + body + data
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body + data


def member(name, content, compression=zipfile.ZIP_STORED):
    """Craft a valid file with one member replaced (or added) by raw bytes."""
    def craft(src, dst):
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
            for info in zin.infolist():
                if info.filename != name:
                    zout.writestr(info.filename, zin.read(info.filename))
            zout.writestr(name, content, compress_type=compression)
    return craft


def zip_bomb(src, dst, inflated=64 << 20):
    """A parameter member whose zeros deflate ~1000:1."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != "param/hidden/W.npy":
                zout.writestr(info.filename, zin.read(info.filename))
        with zout.open("param/hidden/W.npy", "w", force_zip64=True) as f:
            f.write(npy("<f8", (inflated // 8,)))
            block = bytes(1 << 20)
            for _ in range(inflated >> 20):
                f.write(block)


def small_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


def lying_size(src, dst):
    """A small stored member whose central-directory entry declares 2 GB uncompressed."""
    data = bytearray(small_zip({f"{META_KEY}.npy": Path(src).read_bytes()[:100]}))
    at = data.rfind(b"PK\x01\x02")
    data[at + 24:at + 28] = struct.pack("<I", 0x7FFFFFFF)
    Path(dst).write_bytes(bytes(data))


def eocd_patch(offset, fmt, value):
    def transform(data):
        data = bytearray(data)
        at = data.rfind(b"PK\x05\x06")
        data[at + offset:at + offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
        return bytes(data)
    return raw(transform)


def with_flag(src, dst):
    """Every member flagged encrypted."""
    data = bytearray(Path(src).read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig)
        while at >= 0:
            data[at + off] |= 1
            at = data.find(sig, at + 4)
    Path(dst).write_bytes(bytes(data))


def duplicate(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # zipfile warns about the duplicate name
            zout.writestr("param/out/b.npy", zin.read("param/out/b.npy"))


def single_npy(src, dst):
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    Path(dst).write_bytes(buf.getvalue())


class Payload:
    def __reduce__(self):
        return (print, ("unpickled!",))


def pickled(meta, entries):
    entries["param/out/b"] = np.array([Payload()], dtype=object)


def deep_json(meta, entries):
    meta["history"]["deep"] = "PLACEHOLDER"
    text = json.dumps(meta).replace('"PLACEHOLDER"', "[" * 100_000 + "]" * 100_000)
    entries[META_KEY] = np.frombuffer(text.encode(), np.uint8).view(_Raw)


def huge_history(meta, entries):
    meta["history"]["loss"] = [0.5] * 600_000


def dense_json(meta, entries):
    """Just under the metadata limit, in the costliest form to parse: small objects."""
    meta["history"]["blob"] = [{"a": [0, {"b": None}]}] * 83_000


def many_layers(meta, entries):
    meta["layers"] = [{"type": "Dropout", "config": {}}] * 5000


D, L = "dense", "lstm"
W = "param/hidden/W"
CASES = [
    # ---- the archive
    ("empty", D, raw(lambda b: b""), r"no zip directory"),
    ("text", D, raw(lambda b: b"I am not a model\n" * 3), r"no zip directory"),
    ("single-npy", D, single_npy, r"got a single \.npy array"),
    ("truncated-half", D, raw(lambda b: b[: len(b) // 2]), r"no zip directory"),
    ("tail-cut", D, raw(lambda b: b[:-30]), r"no zip directory|not a readable \.npz"),
    ("zip-bomb", D, zip_bomb, r"declare \d+ bytes once inflated, more than twice the file's "
                              r"\d+ bytes plus 1 MiB \(a zip bomb\?\)"),
    ("lying-size", D, lying_size, r"declare 2147483647 bytes once inflated"),
    ("huge-directory", D, eocd_patch(12, "<L", 0x7FFFFFF0),
     r"lists \d+ entries in a 2147483632-byte directory; a model file holds at most 10000"),
    ("many-members", D, eocd_patch(10, "<H", 60000), r"lists 60000 entries"),
    ("duplicate-member", D, duplicate, r"two entries of the same name"),
    ("foreign-member", D, member("readme.txt", b"hello"), r"unexpected entry 'readme\.txt'"),
    ("bzip2", D, member("param/out/b.npy", npy("<f8", (1, 2), bytes(16)), zipfile.ZIP_BZIP2),
     r"entry 'param/out/b' is encrypted or uses an unsupported compression"),
    ("encrypted", D, with_flag, r"is encrypted or uses an unsupported compression"),
    ("npy-1e12-floats", D, member("param/hidden/W.npy", npy("<f8", (10 ** 6, 10 ** 6))),
     r"entry 'param/hidden/W' declares shape \(1000000, 1000000\) of float64 "
     r"\(8000000000000 bytes\) but holds 0 bytes"),
    ("npy-object", D, member("param/hidden/W.npy", npy("|O", (1,), b"\x80")),
     r"entry 'param/hidden/W' is an object array / pickled payload \(never unpickled\)"),
    ("npy-pickle-payload", D, edit(pickled), r"entry 'param/out/b' is an object array"),
    ("npy-structured", D, member("param/hidden/W.npy", npy([("a", "<f8")], (4, 6), bytes(192))),
     r"entry 'param/hidden/W' has dtype \[\('a', '<f8'\)\]; a model file holds only numeric"),
    ("npy-complex", D, member("param/hidden/W.npy", npy("<c16", (4, 6), bytes(384))),
     r"entry 'param/hidden/W' has dtype complex128"),
    ("npy-bad-magic", D, member("param/hidden/W.npy", b"NOTNUMPY" + bytes(200)),
     r"entry 'param/hidden/W' is not a readable \.npy array"),
    ("npy-header-too-long", D, member("param/hidden/W.npy", npy(None, None, header="{" + " " * 20000 + "}")),
     r"entry 'param/hidden/W' is not a readable \.npy array"),
    ("npy-negative-shape", D, member("param/hidden/W.npy", npy("<f8", (-4, 6))),
     r"entry 'param/hidden/W' declares the negative shape \(-4, 6\)"),
    ("npy-code-in-header", D, member("param/hidden/W.npy", npy(None, None, header="{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (1,)}")),
     r"entry 'param/hidden/W' is not a readable \.npy array"),
    ("npy-short-data", D, member("param/hidden/W.npy", npy("<f8", (4, 6), bytes(100))),
     r"entry 'param/hidden/W' declares shape \(4, 6\) of float64 \(192 bytes\) but holds 100"),
    # ---- the metadata
    ("meta-missing", D, edit(drop(META_KEY)), r"no '__unrolled__' entry"),
    ("meta-float", D, edit(raw_array(np.zeros(5))),
     r"metadata entry '__unrolled__' has dtype float64 and shape \(5,\); expected uint8"),
    ("meta-2d", D, edit(raw_array(np.zeros((2, 2), np.uint8))),
     r"metadata entry '__unrolled__' has dtype uint8 and shape \(2, 2\)"),
    ("meta-not-utf8", D, edit(raw_meta(b"\xff\xfe{}")), r"metadata is not UTF-8"),
    ("meta-not-json", D, edit(raw_meta(b"{'format': 1")), r"metadata is not valid JSON"),
    ("meta-deep", D, edit(deep_json), r"metadata JSON is nested 10000\d deep; at most 64"),
    ("meta-huge", D, edit(huge_history), r"metadata entry of \d+ bytes; at most 2097152 bytes of JSON are read"),
    ("meta-2MB-of-objects", D, edit(dense_json), r"metadata JSON holds 249\d\d\d objects and "
                                                   r"arrays; at most 50000"),
    ("format", D, edit(set_in(["format"], "keras")),
     r"not an unrolled model file \(format 'keras', expected 'unrolled\.model'\)"),
    ("version-99", D, edit(set_in(["version"], 99)), r"unsupported file version 99 \(this unrolled "
                                                      r"reads versions 1 to 2\)"),
    ("version-str", D, edit(set_in(["version"], "2")), r"unsupported file version '2'"),
    ("version-bool", D, edit(set_in(["version"], True)), r"unsupported file version True"),
    ("layers-not-list", D, edit(set_in(["layers"], {"a": 1})),
     r"metadata entry 'layers' must be a list, got dict"),
    ("layers-empty", D, edit(set_in(["layers"], [])), r"metadata lists 0 layers; a model file "
                                                        r"holds 1 to 4096"),
    ("layers-5000", D, edit(many_layers), r"metadata lists 5000 layers"),
    ("history-not-dict", D, edit(set_in(["history"], [1, 2])),
     r"metadata entry 'history' must be a dict, got list"),
    ("history-strings", D, edit(set_in(["history", "loss"], ["a"])),
     r"history\['loss'\] must be a list of numbers"),
    ("class-unknown", D, edit(set_in(["class"], "EvilModel")),
     r"model: unknown model 'EvilModel': model 'EvilModel' is not registered"),
    ("class-not-str", D, edit(set_in(["class"], 3)), r"metadata entry 'class' must be a str"),
    ("components-bad-index", D, edit(set_in(["components"], {"encoder": 7})),
     r"component 'encoder' names layer 7, the file has 3 layers"),
    ("components-on-model", D, edit(set_in(["components"], {"encoder": 0})),
     r"components \['encoder'\] do not match the layer arguments of Model: \[\]"),
    # ---- layer specs
    ("layer-spec-str", D, edit(set_in(["layers", 0], "Dense")), r"layer 0: spec must be a dict"),
    ("layer-unknown-type", D, edit(set_in(["layers", 0, "type"], "EvilLayer")),
     r"layer 0 has unknown type 'EvilLayer': not a registered layer; import the module that "
     r"defines it \('unrolled\.layers\.dense'\)"),
    ("layer-base-class", D, edit(set_in(["layers", 0, "type"], "Layer")),
     r"layer 0 has unknown type 'Layer'"),
    ("layer-type-list", D, edit(set_in(["layers", 0, "type"], ["os", "system"])),
     r"layer 0 has unknown type \['os', 'system'\]"),
    ("layer-config-list", D, edit(set_in(["layers", 0, "config"], [1, 2])),
     r"layer 0: config must be a dict of named arguments, got \[1, 2\]"),
    ("layer-units-str", D, edit(set_in(["layers", 0, "config", "units"], "many")),
     r"layer 0: cannot rebuild Dense\(\*\*\{.*'units': 'many'"),
    ("layer-extra-kwarg", D, edit(set_in(["layers", 0, "config", "evil"], 1)),
     r"layer 0: cannot rebuild Dense\(.*evil"),
    ("layer-units-1e9", D, edit(set_in(["layers", 0, "config", "units"], 10 ** 9)),
     r"parameter param/hidden/'W' has shape \(4, 6\), the layer's configuration declares "
     r"\(4, 1000000000\)"),
    ("lstm-4000", L, edit(set_in(["layers", 0, "config", "units"], 4000)),
     r"parameter param/lstm/'U' has shape \(2, 16\), the layer's configuration declares "
     r"\(2, 16000\)"),
    ("layer-initialized-str", D, edit(set_in(["layers", 0, "initialized"], "yes")),
     r"layer 0: 'initialized' must be a bool, got 'yes'"),
    ("layer-params-dict", D, edit(set_in(["layers", 0, "params"], {"W": 1})),
     r"layer 0: 'params' must be a list"),
    ("layer-params-dup", D, edit(set_in(["layers", 0, "params"], ["W", "W"])),
     r"Dense 'hidden': bad parameter names \['W', 'W'\]"),
    ("layer-uninitialized", D, edit(set_in(["layers", 1, "initialized"], False)),
     r"input_shape given \(a built model\) but some layers are marked uninitialized"),
    ("layer-rng-generator", D, edit(set_in(["layers", 1, "rng", "bit_generator"], "Evil")),
     r"Dropout 'drop': unsupported random-generator state"),
    ("layer-rng-state", D, edit(set_in(["layers", 1, "rng", "state"], "x")),
     r"Dropout 'drop': bad random-generator state"),
    # ---- model settings
    ("dtype-float16", D, edit(set_in(["model", "config", "dtype"], "float16")),
     r"model dtype must be 'float32' or 'float64', got 'float16'"),
    ("loss-unknown", D, edit(set_in(["model", "config", "loss"], "evil")),
     r"unknown loss 'evil': not registered"),
    ("metric-unknown", D, edit(set_in(["model", "config", "metrics"], ["evil"])),
     r"unknown metric 'evil': not registered"),
    ("clip-norm-negative", D, edit(set_in(["model", "config", "clip_norm"], -1)),
     r"cannot rebuild the model Model: model: clip_norm must be a finite number > 0 or None, got -1"),
    ("optimizer-unknown", D, edit(set_in(["model", "optimizer", "type"], "evil")),
     r"optimizer: unknown optimizer 'evil'"),
    ("optimizer-config", D, edit(set_in(["model", "optimizer", "config", "betas"], "xy")),
     r"optimizer: cannot rebuild Adam\(.*betas must be a pair \(beta1, beta2\) of numbers"),
    ("lr-nan", D, edit(set_in(["model", "optimizer", "lr"], float("nan"))),
     r"optimizer lr must be a finite number >= 0, got nan"),
    ("lr-negative", D, edit(set_in(["model", "optimizer", "lr"], -1.0)),
     r"optimizer lr must be a finite number >= 0, got -1\.0"),
    ("lr-str", D, edit(set_in(["model", "optimizer", "lr"], "fast")),
     r"optimizer lr must be a finite number >= 0, got 'fast'"),
    ("base-lr-zero", D, edit(set_in(["model", "optimizer", "base_lr"], 0)),
     r"optimizer base_lr must be a finite number > 0, got 0"),
    ("iterations-negative", D, edit(set_in(["model", "optimizer", "iterations"], -1)),
     r"optimizer iterations must be a non-negative integer, got -1"),
    ("iterations-float", D, edit(set_in(["model", "optimizer", "iterations"], 1.5)),
     r"optimizer iterations must be a non-negative integer, got 1\.5"),
    ("schedule-unknown", D, edit(set_in(["model", "schedule", "type"], "evil")),
     r"schedule: unknown schedule 'evil'"),
    ("schedule-config", D, edit(set_in(["model", "schedule", "config"], {"gamma": "x"})),
     r"schedule: cannot rebuild ExponentialDecay"),
    ("epoch-negative", D, edit(set_in(["training", "epoch"], -1)),
     r"training epoch must be a non-negative integer, got -1"),
    ("epoch-str", D, edit(set_in(["training", "epoch"], "ten")),
     r"training epoch must be a non-negative integer, got 'ten'"),
    ("shuffle-rng", D, edit(set_in(["training", "rng"], {"bit_generator": "os.system"})),
     r"model: unsupported random-generator state"),
    # ---- declared shapes
    ("input-shape-dict", D, edit(set_in(["input_shape"], {"a": 1})), r"bad input_shape \{'a': 1\}"),
    ("input-shape-batch", D, edit(set_in(["input_shape"], [5, 4])), r"bad input_shape \[5, 4\]"),
    ("input-shape-negative", D, edit(set_in(["input_shape"], [1, -4])), r"bad input_shape \[1, -4\]"),
    ("input-shape-float", D, edit(set_in(["input_shape"], [1, 4.5])), r"bad input_shape \[1, 4\.5\]"),
    ("input-features-1e9", L, edit(set_in(["input_shape"], [1, 5, 10 ** 9])),
     r"input_shape \[1, 5, 1000000000\] declares 1000000000 features per position, more than the "
     r"\d+ parameters the file holds"),
    ("input-features-wrong", D, edit(set_in(["input_shape"], [1, 7])),
     r"parameter param/hidden/'W' has shape \(4, 6\), the layer's configuration declares \(7, 6\)"),
    ("input-rank-wrong", L, edit(set_in(["input_shape"], [1, 5])),
     r"the layers do not fit the saved input shape \(1, 5\): LSTM 'lstm': expected 3-D input"),
    # ---- parameters
    ("param-nan", D, edit(arrays(param__hidden__W=np.full((4, 6), np.nan))),
     r"entry 'param/hidden/W' holds non-finite values \(NaN or inf\)"),
    ("param-inf", D, edit(arrays(param__out__b=np.array([[np.inf, 0.0]]))),
     r"entry 'param/out/b' holds non-finite values"),
    ("param-float32", D, edit(arrays(param__hidden__W=np.zeros((4, 6), np.float32))),
     r"entry 'param/hidden/W' has dtype float32, the model's dtype is float64"),
    ("param-int", D, edit(arrays(param__hidden__W=np.zeros((4, 6), np.int64))),
     r"entry 'param/hidden/W' has dtype int64, the model's dtype is float64"),
    ("param-shape", D, edit(arrays(param__hidden__W=np.zeros((5, 6)))),
     r"parameter param/hidden/'W' has shape \(5, 6\), the layer's configuration declares \(4, 6\)"),
    ("param-missing", D, edit(drop("param/hidden/b")), r"missing parameter array 'param/hidden/b'"),
    ("param-unlisted", D, edit(arrays(param__hidden__Q=np.zeros(3))),
     r"unexpected entries in the file: param/hidden/Q"),
    ("param-bad-name", D, edit(arrays(param__x=np.zeros(3))), r"unexpected entry 'param/x\.npy'"),
    ("entry-surprise", D, edit(arrays(surprise=np.zeros(3))), r"unexpected entry 'surprise\.npy'"),
    # ---- optimizer state
    ("slot-unknown", D, edit(arrays(optimizer__hidden__W__velocity=np.zeros((4, 6)))),
     r"Adam keeps the slots \['exp_avg', 'exp_avg_sq', 'step'\] for each parameter, the state "
     r"of hidden/W has \['exp_avg', 'exp_avg_sq', 'step', 'velocity'\]"),
    ("slot-missing", D, edit(drop("optimizer/hidden/W/exp_avg")),
     r"the state of hidden/W has \['exp_avg_sq', 'step'\]"),
    ("slot-shape", D, edit(arrays(optimizer__hidden__W__exp_avg=np.zeros(3))),
     r"entry 'hidden/W/exp_avg' has shape \(3,\) and dtype float64, its parameter \(4, 6\)"),
    ("slot-dtype", D, edit(arrays(optimizer__hidden__W__exp_avg=np.zeros((4, 6), np.int32))),
     r"entry 'hidden/W/exp_avg' has shape \(4, 6\) and dtype int32, its parameter \(4, 6\) and "
     r"float64"),
    ("slot-nan", D, edit(arrays(optimizer__out__b__exp_avg_sq=np.full((1, 2), np.nan))),
     r"entry 'out/b/exp_avg_sq' holds non-finite values"),
    ("step-negative", D, edit(arrays(optimizer__out__b__step=np.array(-1))),
     r"entry 'out/b/step': a step count is a non-negative integer scalar, got int64 of shape "
     r"\(\) = \[-1\]"),
    ("step-float", D, edit(arrays(optimizer__out__b__step=np.array(1.0))),
     r"entry 'out/b/step': a step count is a non-negative integer scalar, got float64"),
    ("step-vector", D, edit(arrays(optimizer__out__b__step=np.array([1, 2]))),
     r"entry 'out/b/step': a step count is a non-negative integer scalar, got int64 of shape "
     r"\(2,\)"),
    ("slot-no-parameter", D, edit(arrays(optimizer__ghost__W__exp_avg=np.zeros(3))),
     r"entry 'ghost/W/exp_avg' refers to no parameter of the model"),
    ("slot-sgd-missing", L, edit(drop("optimizer/lstm/U/momentum_buffer")),
     r"SGD keeps the slots \['momentum_buffer', 'step'\] for each parameter, the state of "
     r"lstm/U has \['step'\]"),
    # ---- carried states
    ("carried-shape", L, edit(arrays(state__lstm__h=np.zeros((3, 7)))),
     r"carried state 'state/lstm/h' has shape \(3, 7\), expected \(m, 4\)"),
    ("carried-nan", L, edit(arrays(state__lstm__C=np.full((3, 4), np.nan))),
     r"entry 'state/lstm/C' holds non-finite values"),
    ("carried-name", L, edit(set_in(["layers", 0, "carried"], ["Q"])),
     r"LSTM 'lstm': carried states \['Q'\], expected names among \('h', 'C'\)"),
    ("carried-missing", L, edit(drop("state/lstm/h")), r"missing carried state 'state/lstm/h'"),
    ("carried-orphan", L, edit(set_in(["layers", 0, "carried"], None)),
     r"carried state 'state/lstm/[hC]' belongs to no stateful layer of the model"),
    ("carried-on-dense", L, edit(set_in(["layers", 1, "carried"], ["h"])),
     r"Dense 'out' carries no state between batches, the file gives it \['h'\]"),
    ("carried-mixed-m", L, edit(arrays(state__lstm__h=np.zeros((2, 4)))),
     r"LSTM 'lstm': carried states of different shapes"),
]

#: crafted files that are valid and must load cheaply (the issue's expensive ones)
CHEAP = [
    ("long-declared-input", L, edit(set_in(["input_shape"], [1, 10 ** 7, 2]))),
    ("history-2MB-of-numbers", L, edit(set_in(["history", "loss"], [0.1234567891234] * 120_000))),
]


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return write_bases(tmp_path_factory.mktemp("bases"))


def test_the_table_is_large_and_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(set(ids)) == len(ids) and len(ids) >= 100


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_file_is_refused_with_a_message_naming_path_and_entry(case, bases, tmp_path):
    name, base, craft, pattern = case
    path = tmp_path / f"{name}.npz"
    craft(bases[base], path)
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"load_model: {path}: "), message
    assert re.search(pattern, message), f"{pattern!r} not in {message!r}"


@pytest.mark.parametrize("case", CHEAP, ids=[c[0] for c in CHEAP])
def test_expensive_looking_valid_files_load_without_computing(case, bases, tmp_path):
    """The issue's 'long input shape' file made load_model run ten million steps; the
    shape-only build computes nothing, so it loads at once and predicts on real input. A
    history just under the metadata limit loads too."""
    name, base, craft = case
    path = tmp_path / f"{name}.npz"
    craft(bases[base], path)
    tracemalloc.start()
    model = load_model(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20, peak
    if name == "long-declared-input":
        assert model["lstm"].fs["X"] == (1, 10 ** 7, 2)
    else:
        assert len(model.history["loss"]) == 120_000
    # the stateful LSTM carries states for batches of 3: it continues with that size
    assert model.predict(np.zeros((3, 3, 2))).shape == (3, 2)


# ------------------------------------------------------------------------------------ memory bound
GUARD = textwrap.dedent("""
    import json, resource, sys
    from unrolled.framework.serialization import load_model
    spec = json.load(open(sys.argv[1]))
    load_model(spec["valid"])                      # every import done, one valid load
    def vm_bytes():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    limit = vm_bytes() + 100 * 2 ** 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    results = {}
    for name, path in spec["files"].items():
        try:
            load_model(path)
            results[name] = "loaded"
        except ValueError:
            results[name] = "ValueError"
        except BaseException as err:
            results[name] = type(err).__name__ + ": " + str(err)[:200]
    print(json.dumps(results))
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_every_hostile_file_is_refused_within_100_mb_of_address_space(bases, tmp_path):
    """In a subprocess whose address space is capped at (after a valid load) + 100 MB, every
    case still ends in a ValueError: nothing large is allocated on the way."""
    files = {}
    for name, base, craft, _ in CASES:
        files[name] = str(tmp_path / f"{name}.npz")
        craft(bases[base], files[name])
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"valid": str(bases["dense"]), "files": files}))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", GUARD, str(spec)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {k: v for k, v in results.items() if v != "ValueError"} == {}


# ------------------------------------------------------------------------------------ fuzz
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_FUZZ_BASE = {}


def _fuzz_bytes(kind):
    if kind not in _FUZZ_BASE:
        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "m.npz"
            base_model(kind).save(path)
            _FUZZ_BASE[kind] = path.read_bytes()
    return _FUZZ_BASE[kind]


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(["dense", "lstm"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255), st.sampled_from(
           ["set", "insert", "delete", "truncate"])), min_size=1, max_size=6))
def test_fuzz_mutated_files_raise_only_value_error_in_bounded_memory(tmp_path, kind, edits):
    """Bytes of a valid file set, inserted, deleted or cut anywhere: load_model either loads or
    raises ValueError, never anything else, with a traced peak under 100 MB."""
    data = bytearray(_fuzz_bytes(kind))
    for where, value, how in edits:
        at = min(int(where * len(data)), max(len(data) - 1, 0))
        if how == "set" and data:
            data[at] = value
        elif how == "insert":
            data[at:at] = bytes([value]) * (1 + value % 8)
        elif how == "delete":
            del data[at:at + 1 + value % 16]
        else:
            data = data[:at]
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        load_model(path)
    except ValueError as err:
        assert str(path) in str(err)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 100 << 20, peak


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(["dense", "lstm"]), data=st.data())
def test_fuzz_mutated_metadata_raises_only_value_error(tmp_path, kind, data):
    """Values anywhere in the JSON metadata replaced by other JSON values: load_model loads or
    raises ValueError naming the file."""
    src = tmp_path / "base.npz"
    src.write_bytes(_fuzz_bytes(kind))
    entries = entries_of(src)
    meta = json.loads(entries[META_KEY].tobytes().decode())
    leaves = []

    def walk(node, trail):
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, child in items:
            leaves.append(trail + [key])
            walk(child, trail + [key])

    walk(meta, [])
    json_values = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
                               | st.floats() | st.text(max_size=8),
                               lambda inner: st.lists(inner, max_size=3)
                               | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                               max_leaves=6)
    for _ in range(data.draw(st.integers(1, 3))):
        trail = data.draw(st.sampled_from(leaves))
        target = meta
        try:
            for key in trail[:-1]:
                target = target[key]
            target[trail[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            pass
    entries[META_KEY] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path = tmp_path / "fuzzed.npz"
    np.savez(path, **entries)
    try:
        load_model(path)
    except ValueError as err:
        assert str(path) in str(err)
