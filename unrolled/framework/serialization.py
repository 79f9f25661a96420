"""Saving and loading whole models: one NumPy ``.npz`` file, no pickle.

File layout (``np.savez``; every entry is a plain numeric array):

==========================================  ====================================================
``__unrolled__``                            UTF-8 JSON, stored as a 1-D ``uint8`` array
``param/<layer name>/<parameter>``          every parameter array (the model's dtype)
``optimizer/<layer>/<parameter>/<slot>``    every optimizer state array (``step`` counts are
                                            0-d integer arrays)
==========================================  ====================================================

The JSON holds ``format`` (``"unrolled.model"``) and ``version``; ``layers``: for each layer its
type (a class exported by :mod:`unrolled.layers`), ``config()``, parameter names, ``initialized``
flag and random-generator state; ``model``: name, loss, metrics, dtype, seed, clipping, optimizer
(registry name, ``config()``, current ``lr``, ``base_lr``, ``iterations``) and schedule (when it
is one of :mod:`unrolled.framework.schedules`); ``training``: ``epoch`` and the shuffling
generator's state; ``history``.

Saving is atomic: the archive is written to a temporary file in the destination directory, synced
to disk and moved over ``path`` with ``os.replace``, so a crash mid-save leaves any previous file
intact. Loading uses ``np.load(path, allow_pickle=False)`` and never executes anything from the
file: layer, optimizer, loss, metric and schedule types are looked up in fixed registries (layer
types: ``unrolled.layers.__all__``), object arrays and pickled payloads are refused, and any
corrupted, truncated or inconsistent file raises a ``ValueError`` naming the path.

A loaded model predicts bit-identically and resumes training bit-identically (same parameters,
optimizer state, step counts, learning rate, epoch counter and random-generator states: shuffling
and dropout masks continue the same sequences).
"""
import json
import os
import secrets
import warnings
import zipfile
import zlib

import numpy as np

from .layer import Layer
from .losses import LOSSES
from .metrics import METRICS
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES, Schedule

FORMAT = "unrolled.model"
VERSION = 1
META_KEY = "__unrolled__"
PARAM_PREFIX = "param/"
OPTIMIZER_PREFIX = "optimizer/"

_BIT_GENERATORS = {cls.__name__: cls for cls in (np.random.PCG64, np.random.PCG64DXSM,
                                                 np.random.MT19937, np.random.Philox,
                                                 np.random.SFC64)}
_ARRAY_KINDS = "biuf"   # bool, signed, unsigned, float: everything a model file may contain


# ------------------------------------------------------------------------------------ registries
def layer_types():
    """``{class name: class}`` of the layers that can be saved and loaded: every ``Layer``
    subclass exported in ``unrolled.layers.__all__`` (read at call time, so new layers count)."""
    from .. import layers as layers_pkg
    from ..layers.dropout import Dropout
    registry = {"Dropout": Dropout}
    for name in getattr(layers_pkg, "__all__", ()):
        cls = getattr(layers_pkg, name, None)
        if isinstance(cls, type) and issubclass(cls, Layer):
            registry[cls.__name__] = cls
    return registry


# ------------------------------------------------------------------------------------ JSON helpers
def _to_json(obj, where):
    """A JSON-ready copy of ``obj``; tuples and arrays are tagged so they come back as such."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, tuple):
        return {"__tuple__": [_to_json(v, where) for v in obj]}
    if isinstance(obj, list):
        return [_to_json(v, where) for v in obj]
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise ValueError(f"save_model: {where} has a non-string key {key!r}")
            out[key] = _to_json(value, f"{where}[{key!r}]")
        return out
    if isinstance(obj, np.ndarray) and obj.dtype.kind in _ARRAY_KINDS:
        return {"__ndarray__": obj.tolist(), "dtype": obj.dtype.str}
    raise ValueError(f"save_model: {where} holds a {type(obj).__name__} ({obj!r}), which cannot be "
                     f"saved (only numbers, strings, lists, tuples and dicts)")


def _from_json(obj):
    if isinstance(obj, list):
        return [_from_json(v) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__tuple__"}:
            return tuple(_from_json(v) for v in obj["__tuple__"])
        if set(obj) == {"__ndarray__", "dtype"}:
            dtype = np.dtype(str(obj["dtype"]))
            if dtype.kind not in _ARRAY_KINDS:
                raise ValueError(f"array of dtype {dtype} in metadata")
            return np.array(obj["__ndarray__"], dtype=dtype)
        return {k: _from_json(v) for k, v in obj.items()}
    return obj


def _rng_state(rng):
    return None if rng is None else rng.bit_generator.state


def _make_rng(state):
    """A Generator with the saved bit-generator state (only numpy's own bit generators)."""
    if not isinstance(state, dict) or state.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(f"unsupported random-generator state {str(state)[:80]!r}")
    bit_gen = _BIT_GENERATORS[state["bit_generator"]]()
    bit_gen.state = state
    return np.random.Generator(bit_gen)


# ------------------------------------------------------------------------------------ saving
def _check_array(key, value):
    arr = np.asarray(value)
    if arr.dtype.hasobject or arr.dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"save_model: {key} has dtype {arr.dtype}; only numeric arrays are saved")
    return arr


def _shapes_json(store):
    """``d`` / ``fs`` of a layer (dimensions and shapes) as JSON, or None if they hold anything
    else than numbers, tuples and lists."""
    try:
        return _to_json(dict(store), "shapes")
    except ValueError:
        return None


def _registered(kind, registry, name, obj):
    if registry.get(name) is not type(obj):
        raise ValueError(f"save_model: the {kind} {obj!r} is not a built-in one (registered names: "
                         f"{', '.join(sorted(registry))}); it cannot be saved")


def _metadata(model):
    registry = layer_types()
    layers = []
    for layer in model.layers:
        cls_name = type(layer).__name__
        if registry.get(cls_name) is not type(layer):
            raise ValueError(f"save_model: {layer.label} is of type {cls_name}, which is not exported "
                             f"by unrolled.layers (saveable types: {', '.join(sorted(registry))})")
        if "/" in layer.name:
            raise ValueError(f"save_model: layer names may not contain '/', got {layer.name!r}")
        layers.append({"type": cls_name,
                       "config": _to_json(layer.config(), f"{layer.label}.config()"),
                       "initialized": bool(layer.initialized),
                       "params": list(layer.p),
                       "rng": _to_json(_rng_state(layer.rng), f"{layer.label}.rng"),
                       "d": _shapes_json(layer.d),
                       "fs": _shapes_json(layer.fs)})

    _registered("loss", LOSSES, model.loss.name, model.loss)
    for name, fn in model.metrics.items():
        if METRICS.get(name) is not fn:
            raise ValueError(f"save_model: metric {name!r} is a custom function; only built-in "
                             f"metrics ({', '.join(sorted(METRICS))}) can be saved")
    opt = model.optimizer
    _registered("optimizer", OPTIMIZERS, opt.name, opt)

    schedule = model.schedule
    if schedule is None:
        sched = None
    elif isinstance(schedule, Schedule) and SCHEDULES.get(schedule.name) is type(schedule):
        sched = {"type": schedule.name, "config": _to_json(schedule.config(), "schedule")}
    else:
        warnings.warn(f"save_model: the schedule {schedule!r} is a custom callable and is not "
                      f"saved; set model.schedule again after loading", stacklevel=3)
        sched = {"type": None, "repr": repr(schedule)[:200]}

    history = {str(k): [_to_json(v, f"history[{k!r}]") for v in vals]
               for k, vals in model.history.items()}
    from .model import Model
    from .seq2seq import Seq2Seq
    if type(model) not in (Model, Seq2Seq):
        raise ValueError(f"save_model: {type(model).__name__} is a custom model class; only Model "
                         f"and Seq2Seq can be saved")
    seq2seq = None
    if isinstance(model, Seq2Seq):
        roles = {id(model.encoder_embedding): "encoder_embedding", id(model.encoder): "encoder",
                 id(model.decoder_embedding): "decoder_embedding", id(model.decoder): "decoder",
                 id(model.output): "output", id(model.attention): "attention"}
        seq2seq = {"start_id": model.start_id, "target_length": model.target_length,
                   "roles": [roles[id(layer)] for layer in model.layers]}
    return {
        "format": FORMAT,
        "version": VERSION,
        "class": type(model).__name__,
        "seq2seq": seq2seq,
        "layers": layers,
        "model": {
            "name": _to_json(model.name, "model.name"),
            "loss": model.loss.name,
            "metrics": list(model.metrics),
            "dtype": model.dtype.name,
            "seed": _to_json(model.seed, "model.seed"),
            "clip_norm": _to_json(model.clip_norm, "clip_norm"),
            "clip_layer_norm": _to_json(model.clip_layer_norm, "clip_layer_norm"),
            "clip_value": _to_json(model.clip_value, "clip_value"),
            "optimizer": {"type": opt.name,
                          "config": _to_json(opt.config(), "optimizer.config()"),
                          "lr": float(opt.lr), "base_lr": float(opt.base_lr),
                          "iterations": int(opt.iterations)},
            "schedule": sched,
        },
        "input_shape": _input_shape(model),
        "training": {"epoch": int(model.epoch),
                     "rng": _to_json(_rng_state(model.rng), "model.rng")},
        "history": history,
    }


def _input_shape(model):
    shape = model.layers[0].fs.get("X")
    if model.built and isinstance(shape, tuple) and all(isinstance(n, (int, np.integer)) for n in shape):
        return [1] + [int(n) for n in shape[1:]]
    return None


def _write_archive(f, arrays):
    """Write ``arrays`` as an uncompressed .npz archive into the open binary file ``f``."""
    np.savez(f, allow_pickle=False, **arrays)


def _atomic_write(path, arrays):
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_archive(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_model(model, path):
    """Write ``model`` (architecture, parameters, optimizer state, training position, history) to
    ``path`` as a single ``.npz`` file (exactly ``path``: no suffix is added). Atomic."""
    path = os.fspath(path)
    meta = _metadata(model)
    arrays = {}
    for layer in model.layers:
        for name, value in layer.p.items():
            key = f"{PARAM_PREFIX}{layer.name}/{name}"
            arrays[key] = _check_array(key, value)
    for key, value in model.optimizer.state_arrays().items():
        full = OPTIMIZER_PREFIX + key
        if key.count("/") != 2:
            raise ValueError(f"save_model: optimizer state key {key!r} must be 'layer/param/slot'")
        arrays[full] = _check_array(full, value)
    text = json.dumps(meta, allow_nan=True)
    arrays[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    _atomic_write(path, arrays)
    return path


# ------------------------------------------------------------------------------------ loading
class _Bad(ValueError):
    """Internal: a problem found while loading (re-raised with the path)."""


_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError,
                IndexError, TypeError, UnicodeDecodeError, RuntimeError, NotImplementedError)


def _read_entries(path):
    """Every entry of the archive as a numeric array; refuses pickles and object arrays."""
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as err:
        if "pickle" in str(err).lower():
            raise _Bad("refusing to load: the file holds pickled data (never unpickled)") from None
        raise _Bad(f"not a readable .npz model file (truncated or corrupted?): "
                   f"{type(err).__name__}: {err}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _Bad("not an unrolled model file: expected an .npz archive, got a single .npy array")
    entries = {}
    with archive:
        for name in archive.files:
            try:
                arr = archive[name]
            except _READ_ERRORS as err:
                if "pickle" in str(err).lower() or "object arrays" in str(err).lower():
                    raise _Bad(f"refusing to load: entry {name!r} is an object array / pickled "
                               f"payload (never unpickled)") from None
                raise _Bad(f"entry {name!r} cannot be read (truncated or corrupted?): "
                           f"{type(err).__name__}: {err}") from None
            if arr.dtype.hasobject:
                raise _Bad(f"refusing to load: entry {name!r} is an object array")
            entries[name] = arr
    return entries


def _read_meta(entries):
    if META_KEY not in entries:
        raise _Bad(f"not an unrolled model file: no {META_KEY!r} entry")
    raw = entries.pop(META_KEY)
    if raw.dtype == np.uint8 and raw.ndim == 1:
        text = raw.tobytes().decode("utf-8")
    elif raw.dtype.kind == "U" and raw.ndim == 0:
        text = str(raw[()])
    else:
        raise _Bad(f"metadata entry has dtype {raw.dtype} and shape {raw.shape}; expected uint8 "
                   f"bytes or a 0-d string")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise _Bad(f"metadata is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _Bad(f"not an unrolled model file (format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                   f"expected {FORMAT!r})")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
        raise _Bad(f"unsupported file version {version!r} (this unrolled reads versions 1 to {VERSION})")
    for key in ("layers", "model", "training", "history"):
        if key not in meta:
            raise _Bad(f"metadata lacks {key!r}")
    return meta


def _kwargs(config, what):
    config = _from_json(config)
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise _Bad(f"{what}: config must be a dict of named arguments, got {config!r}")
    return config


def _build(cls, config, what):
    try:
        return cls(**config)
    except (TypeError, ValueError) as err:
        raise _Bad(f"{what}: cannot rebuild {cls.__name__}(**{config!r}): {err}") from None


_MAX_INPUT_ELEMENTS = 10 ** 8


def _valid_input_shape(shape):
    if shape is None:
        return None
    if not (isinstance(shape, list) and shape and shape[0] == 1
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
            and int(np.prod(shape)) <= _MAX_INPUT_ELEMENTS):
        raise _Bad(f"bad input_shape {shape!r} in metadata")
    return tuple(shape)


def _saved_param(model, layer, name, entries):
    key = f"{PARAM_PREFIX}{layer.name}/{name}"
    if key not in entries:
        raise _Bad(f"missing parameter array {key!r}")
    arr = entries.pop(key)
    if arr.dtype != model.dtype:
        raise _Bad(f"parameter {key!r} has dtype {arr.dtype}, the model's dtype is {model.dtype}")
    return key, arr


def _fill_built(model, specs, entries, input_shape):
    """Build every layer as ``Model.build`` does (one inference-mode pass on a zero sample of the
    saved input shape: parameters are created, shapes computed, wrappers link their inner layers'
    arrays), then copy the saved values into the parameter arrays in place, as ``set_weights``
    does. The random draws of that initialization are discarded: generator states are restored
    afterwards. The shapes the rebuilt layers expect validate the saved arrays."""
    model.build(np.zeros(input_shape, dtype=model.dtype))
    for layer, spec in zip(model.layers, specs):
        if hasattr(layer, "reset_state"):
            layer.reset_state()              # nothing carried over from the zero sample
        names = list(spec.get("params", []))
        if sorted(names) != sorted(layer.p):
            raise _Bad(f"{layer.label}: the file has parameters {names}, the rebuilt layer has "
                       f"{list(layer.p)}")
        for name in names:
            key, arr = _saved_param(model, layer, name, entries)
            if arr.shape != layer.p[name].shape:
                raise _Bad(f"parameter {key!r} has shape {arr.shape}, the rebuilt layer needs "
                           f"{layer.p[name].shape}")
            np.copyto(layer.p[name], arr)
        layer.g = {}


def _assign_unbuilt(model, specs, entries):
    """No saved input shape (the model was never run): assign whatever parameters were saved,
    mark such layers initialized (Layer.build then never draws new ones) and restore their saved
    dimensions and shapes; compute_shapes runs again on the next forward."""
    for layer, spec in zip(model.layers, specs):
        params = {}
        shapes = _from_json(spec["fs"]) if spec.get("fs") is not None else None
        for name in spec.get("params", []):
            key, arr = _saved_param(model, layer, name, entries)
            if isinstance(shapes, dict) and isinstance(shapes.get(name), (tuple, list)) \
                    and tuple(shapes[name]) != arr.shape:
                raise _Bad(f"parameter {key!r} has shape {arr.shape}, the layer's shapes say "
                           f"{tuple(shapes[name])}")
            params[name] = np.array(arr, dtype=model.dtype, order="C", copy=True)
        if spec.get("initialized"):
            layer.p = params
            layer.initialized = True
            layer.g = {}
            if isinstance(shapes, dict) and isinstance(spec.get("d"), dict):
                layer.fs, layer.d = shapes, _from_json(spec["d"])
        elif params:
            raise _Bad(f"{layer.label}: parameters saved for a layer marked uninitialized")


def _rebuild(meta, entries):
    from .losses import get_loss
    from .model import History, Model

    registry = layer_types()
    layers = []
    specs = meta["layers"]
    if not isinstance(specs, list) or not specs:
        raise _Bad("metadata has no layers")
    for i, spec in enumerate(specs):
        type_name = spec.get("type") if isinstance(spec, dict) else None
        if type_name not in registry:
            raise _Bad(f"layer {i} has unknown type {type_name!r}; known layer types: "
                       f"{', '.join(sorted(registry))}")
        layers.append(_build(registry[type_name], _kwargs(spec.get("config", {}), f"layer {i}"),
                             f"layer {i}"))

    m = meta["model"]
    opt_spec = m["optimizer"]
    opt_cls = OPTIMIZERS.get(opt_spec.get("type"))
    if opt_cls is None:
        raise _Bad(f"unknown optimizer {opt_spec.get('type')!r}; known: {', '.join(sorted(OPTIMIZERS))}")
    optimizer = _build(opt_cls, _kwargs(opt_spec.get("config", {}), "optimizer"), "optimizer")
    optimizer.lr, optimizer.base_lr = float(opt_spec["lr"]), float(opt_spec["base_lr"])
    optimizer.iterations = int(opt_spec["iterations"])

    if m["loss"] not in LOSSES:
        raise _Bad(f"unknown loss {m['loss']!r}; known: {', '.join(sorted(LOSSES))}")
    metrics = list(m.get("metrics", []))
    for name in metrics:
        if name not in METRICS:
            raise _Bad(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")

    sched_spec, schedule = m.get("schedule"), None
    if sched_spec is not None:
        if sched_spec.get("type") is None:
            warnings.warn(f"load_model: the model was trained with a custom schedule "
                          f"({sched_spec.get('repr')}), which was not saved; set model.schedule "
                          f"again to keep it", stacklevel=3)
        else:
            sched_cls = SCHEDULES.get(sched_spec["type"])
            if sched_cls is None:
                raise _Bad(f"unknown schedule {sched_spec['type']!r}; known: {', '.join(sorted(SCHEDULES))}")
            schedule = _build(sched_cls, _kwargs(sched_spec.get("config", {}), "schedule"), "schedule")

    settings = dict(optimizer=optimizer, metrics=metrics, seed=m["seed"], dtype=m["dtype"],
                    clip_norm=m.get("clip_norm"), clip_layer_norm=m.get("clip_layer_norm"),
                    clip_value=m.get("clip_value"), schedule=schedule, name=m.get("name", "model"))
    model_class = meta.get("class", "Model")
    try:
        if model_class == "Model":
            model = Model(layers, loss=get_loss(m["loss"]), **settings)
        elif model_class == "Seq2Seq":
            from .seq2seq import Seq2Seq
            spec = meta.get("seq2seq") or {}
            roles = spec.get("roles")
            if not isinstance(roles, list) or len(roles) != len(layers):
                raise _Bad("Seq2Seq metadata does not name the role of every layer")
            parts = dict(zip(roles, layers))
            if not {"encoder", "decoder", "output"} <= set(parts) or len(parts) != len(layers):
                raise _Bad(f"bad Seq2Seq roles {roles}")
            model = Seq2Seq(parts["encoder"], parts["decoder"], parts["output"],
                            start_id=spec.get("start_id", 0),
                            encoder_embedding=parts.get("encoder_embedding"),
                            decoder_embedding=parts.get("decoder_embedding"),
                            attention=parts.get("attention"), **settings)
            model.target_length = spec.get("target_length")
        else:
            raise _Bad(f"unknown model class {model_class!r}; known: Model, Seq2Seq")
    except (TypeError, ValueError) as err:
        raise _Bad(f"cannot rebuild the model: {err}") from None

    input_shape = _valid_input_shape(meta.get("input_shape"))
    if input_shape is not None and any(spec.get("initialized") for spec in specs):
        _fill_built(model, specs, entries, input_shape)
    else:
        _assign_unbuilt(model, specs, entries)
    for layer, spec in zip(model.layers, specs):
        if spec.get("rng") is not None:
            layer.rng = _make_rng(_from_json(spec["rng"]))

    state = {}
    for key in [k for k in entries if k.startswith(OPTIMIZER_PREFIX)]:
        arr = entries.pop(key)
        sub = key[len(OPTIMIZER_PREFIX):]
        parts = sub.split("/")
        if len(parts) != 3:
            raise _Bad(f"bad optimizer state entry {key!r}")
        layer_name, param, slot = parts
        try:
            target = model[layer_name].p[param]
        except KeyError:
            raise _Bad(f"optimizer state {key!r} refers to no parameter of the model") from None
        if arr.ndim and arr.shape != target.shape:
            raise _Bad(f"optimizer state {key!r} has shape {arr.shape}, its parameter {target.shape}")
        state[sub] = arr
    optimizer.load_state_arrays(state)
    if entries:
        raise _Bad(f"unexpected entries in the file: {', '.join(sorted(entries))}")

    training = meta["training"]
    model.epoch = int(training["epoch"])
    if training.get("rng") is not None:
        model.rng = _make_rng(_from_json(training["rng"]))
    model.history = History()
    for key, values in meta["history"].items():
        model.history[str(key)] = list(values)
    return model


def load_model(path):
    """Rebuild a model written by :func:`save_model` (see the module docstring for the guarantees).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming ``path`` for
    anything wrong with the file: not an unrolled ``.npz``, truncated or corrupted, pickled or object
    payloads, unknown format version, unknown layer / optimizer / loss / metric / schedule types,
    inconsistent contents.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_model: no such file: {path!r}")
    try:
        entries = _read_entries(path)
        meta = _read_meta(entries)
        return _rebuild(meta, entries)
    except _Bad as err:
        raise ValueError(f"load_model: {path}: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, UnicodeDecodeError) as err:
        raise ValueError(f"load_model: {path}: invalid or corrupted model file "
                         f"({type(err).__name__}: {err})") from None
