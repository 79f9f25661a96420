"""Saving and loading whole models: one NumPy ``.npz`` file, no pickle.

File layout (a plain zip of ``.npy`` arrays, as ``np.savez`` writes it):

==========================================  ====================================================
``__unrolled__``                            UTF-8 JSON, stored as a 1-D ``uint8`` array
``param/<layer name>/<parameter>``          every parameter array (the model's dtype)
``optimizer/<layer>/<parameter>/<slot>``    every optimizer state array (``step`` counts are
                                            0-d integer arrays)
``state/<layer>/<state>``                   the states a stateful layer carries to the next
                                            batch (``layer.carried``), when it holds some
==========================================  ====================================================

The JSON holds ``format`` (``"unrolled.model"``) and ``version``; ``class`` (the registered model
type) and ``components`` (which layer is the Seq2Seq encoder, decoder...); ``layers``: for each
layer its registered type, the module that defined it (for error messages only), ``config()``,
parameter names, ``initialized`` flag, random-generator state and carried-state names;
``model``: the model's ``config()``, the optimizer (registered name, ``config()``, ``lr``,
``base_lr``, ``iterations``) and schedule; ``input_shape``; ``training``: ``epoch`` and the
shuffling generator's state; ``history``.

Every type a file names (layer, model, optimizer, loss, metric, schedule, activation) is looked up
in :mod:`unrolled.framework.registry` and nowhere else: loading never imports a module named in
the file. A user's class is saved and loaded like a built-in one once it is registered (a Layer
subclass is, by being defined) and its module imported.

Saving is atomic: the archive is written to a temporary file ``.<name>.<pid>.<random>.tmp`` in the
destination directory, synced and moved over ``path`` with ``os.replace``; the temporary file is
removed on every error, and the leftovers of a save that was killed (a dead process id in that
pattern) are removed by the next save of the same target.

Loading validates everything before it allocates or computes, and refuses a bad file with one
``ValueError`` naming the path and the entry:

1. the archive: central directory size and member count, every member's declared size (their sum
   at most twice the file size plus 1 MiB: a zip bomb is refused before anything is inflated),
   every ``.npy`` header (numeric dtype, no object array, declared shape x itemsize equal to the
   bytes the member holds) before its array is allocated; pickles are never read;
2. the metadata: at most 2 MiB of JSON, nested at most 64 deep, at most 50 000 objects and
   arrays (checked before parsing), every field of the right type;
3. the values: finite parameters of the model's dtype; exactly the optimizer slots the optimizer
   keeps, with the shape and dtype of their parameter, finite, and non-negative integer steps;
   learning rates finite and >= 0; epoch, iterations and step counts non-negative integers;
4. the dimensions: the layers are built from shapes only (``Model.build_shapes``:
   ``compute_shapes`` on zero-strided arrays, no forward pass, nothing drawn), and every
   parameter shape a layer declares in ``fs`` must equal the array the file holds, so a declared
   size (units, input length, vocabulary) larger than the arrays present is refused without being
   allocated.

A loaded model predicts bit-identically and resumes training bit-identically (same parameters,
optimizer state, step counts, learning rate, epoch counter, random-generator states and carried
states: shuffling, dropout masks and a stateful stream continue the same sequences).
"""
import json
import math
import os
import re
import secrets
import struct
import warnings
import zipfile
import zlib

import numpy as np

from . import registry
from .activations import ACTIVATIONS
from .losses import LOSSES
from .metrics import METRICS
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES, Schedule

# The built-in tables are the registry's tables: user entries go into the same dicts.
for _kind, _table in (("activation", ACTIVATIONS), ("loss", LOSSES), ("metric", METRICS),
                      ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
    registry.adopt(_kind, _table)

FORMAT = "unrolled.model"
VERSION = 2
META_KEY = "__unrolled__"
PARAM_PREFIX = "param/"
OPTIMIZER_PREFIX = "optimizer/"
STATE_PREFIX = "state/"

#: limits of what load_model reads (see the module docstring)
MAX_META_BYTES = 2 << 20
MAX_JSON_DEPTH = 64
MAX_JSON_CONTAINERS = 50_000
MAX_MEMBERS = 10_000
MAX_DIRECTORY_BYTES = 2 << 20
MAX_NPY_HEADER = 10_000
MAX_LAYERS = 4096

_BIT_GENERATORS = {cls.__name__: cls for cls in (np.random.PCG64, np.random.PCG64DXSM,
                                                 np.random.MT19937, np.random.Philox,
                                                 np.random.SFC64)}
_ARRAY_KINDS = "biuf"   # bool, signed, unsigned, float: everything a model file may contain


def layer_types():
    """``{registered name: class}`` of the layers a file may name: the registry's layer table
    (the built-in layers, imported here, and every Layer subclass defined so far)."""
    from .. import layers  # noqa: F401  (a fixed import: the built-in layers register themselves)
    return registry.table("layer")


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
                raise ValueError(f"{where} has a non-string key {key!r}")
            out[key] = _to_json(value, f"{where}[{key!r}]")
        return out
    if isinstance(obj, np.ndarray) and obj.dtype.kind in _ARRAY_KINDS:
        return {"__ndarray__": obj.tolist(), "dtype": obj.dtype.str}
    raise ValueError(f"{where} holds a {type(obj).__name__} ({obj!r}), which cannot be saved (only "
                     f"numbers, strings, lists, tuples and dicts)")


def _from_json(obj):
    if isinstance(obj, list):
        return [_from_json(v) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__tuple__"} and isinstance(obj["__tuple__"], list):
            return tuple(_from_json(v) for v in obj["__tuple__"])
        if set(obj) == {"__ndarray__", "dtype"}:
            try:
                dtype = np.dtype(str(obj["dtype"]))
            except TypeError:
                raise _Bad(f"metadata array of unknown dtype {_show(obj['dtype'])}") from None
            if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None:
                raise _Bad(f"metadata array of dtype {dtype}")
            try:
                return np.array(obj["__ndarray__"], dtype=dtype)
            except (TypeError, ValueError, OverflowError) as err:
                raise _Bad(f"bad metadata array ({err})") from None
        return {k: _from_json(v) for k, v in obj.items()}
    return obj


def _rng_state(rng):
    return None if rng is None else rng.bit_generator.state


def _make_rng(state, where):
    """A Generator with the saved bit-generator state (only numpy's own bit generators)."""
    if not isinstance(state, dict) or state.get("bit_generator") not in _BIT_GENERATORS:
        raise _Bad(f"{where}: unsupported random-generator state {_show(state)}")
    bit_gen = _BIT_GENERATORS[state["bit_generator"]]()
    try:
        bit_gen.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise _Bad(f"{where}: bad random-generator state ({type(err).__name__}: {err})") from None
    return np.random.Generator(bit_gen)


# ------------------------------------------------------------------------------------ saving
def _check_array(key, value):
    arr = np.asarray(value)
    if arr.dtype.hasobject or arr.dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"{key} has dtype {arr.dtype}; only numeric arrays are saved")
    return arr


def _shapes_json(store):
    """``d`` / ``fs`` of a layer (dimensions and shapes) as JSON, or None if they hold anything
    else than numbers, tuples and lists."""
    try:
        return _to_json(dict(store), "shapes")
    except ValueError:
        return None


def _layer_spec(layer):
    if "/" in str(layer.name):
        raise ValueError(f"layer names may not contain '/', got {layer.name!r}")
    carried = getattr(layer, "carried", None)
    return {"type": registry.name_of("layer", type(layer)),
            "module": type(layer).__module__,
            "config": _to_json(layer.config(), f"{layer.label}.config()"),
            "initialized": bool(layer.initialized),
            "params": list(layer.p),
            "rng": _to_json(_rng_state(layer.rng), f"{layer.label}.rng"),
            "d": _shapes_json(layer.d),
            "fs": _shapes_json(layer.fs),
            "carried": sorted(carried) if isinstance(carried, dict) else None}


def _schedule_spec(schedule):
    if schedule is None:
        return None
    if isinstance(schedule, Schedule):
        return {"type": registry.name_of("schedule", type(schedule)),
                "config": _to_json(schedule.config(), "schedule")}
    warnings.warn(f"save_model: the schedule {schedule!r} is a custom callable and is not "
                  f"saved; set model.schedule again after loading (or make it a registered "
                  f"Schedule subclass)", stacklevel=4)
    return {"type": None, "repr": repr(schedule)[:200]}


def _metadata(model):
    layers = [_layer_spec(layer) for layer in model.layers]
    config = _to_json(model.config(), "model.config()")
    if "loss" in config:
        config["loss"] = registry.name_of("loss", type(model.loss))
    for name, fn in model.metrics.items():
        if registry.name_of("metric", fn) != name:
            raise ValueError(f"the metric {name!r} is registered as "
                             f"{registry.name_of('metric', fn)!r}; pass it by that name")
    opt = model.optimizer
    index = {id(layer): i for i, layer in enumerate(model.layers)}
    components = {}
    for arg, layer in model.components().items():
        if id(layer) not in index:
            raise ValueError(f"the {type(model).__name__} argument {arg!r} holds {layer.label}, "
                             f"which is not in model.layers")
        components[arg] = index[id(layer)]
    return {
        "format": FORMAT,
        "version": VERSION,
        "class": registry.name_of("model", type(model)),
        "components": components,
        "layers": layers,
        "model": {
            "config": config,
            "optimizer": {"type": registry.name_of("optimizer", type(opt)),
                          "config": _to_json(opt.config(), "optimizer.config()"),
                          "lr": float(opt.lr), "base_lr": float(opt.base_lr),
                          "iterations": int(opt.iterations)},
            "schedule": _schedule_spec(model.schedule),
        },
        "input_shape": _input_shape(model),
        "training": {"epoch": int(model.epoch),
                     "rng": _to_json(_rng_state(model.rng), "model.rng")},
        "history": {str(k): [_to_json(v, f"history[{k!r}]") for v in vals]
                    for k, vals in model.history.items()},
    }


def _input_shape(model):
    shape = model.layers[0].fs.get("X")
    if model.built and isinstance(shape, tuple) and all(isinstance(n, (int, np.integer)) for n in shape):
        return [1] + [int(n) for n in shape[1:]]
    return None


def _arrays(model):
    arrays = {}
    for layer in model.layers:
        for name, value in layer.p.items():
            key = f"{PARAM_PREFIX}{layer.name}/{name}"
            arrays[key] = _check_array(key, value)
        for name, value in (getattr(layer, "carried", None) or {}).items():
            key = f"{STATE_PREFIX}{layer.name}/{name}"
            arrays[key] = _check_array(key, value)
    for key, value in model.optimizer.state_arrays().items():
        full = OPTIMIZER_PREFIX + key
        if key.count("/") != 2:
            raise ValueError(f"optimizer state key {key!r} must be 'layer/param/slot'")
        arrays[full] = _check_array(full, value)
    return arrays


def _write_archive(f, arrays):
    """Write ``arrays`` as an uncompressed .npz archive into the open binary file ``f``."""
    np.savez(f, allow_pickle=False, **arrays)


def _temp_pattern(base):
    return re.compile(rf"^\.{re.escape(base)}\.(\d+)\.[0-9a-f]{{8}}\.tmp$")


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _clean_leftovers(directory, base):
    """Remove the temporary files of killed saves of the same target (dead process ids)."""
    pattern = _temp_pattern(base)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.match(name)
        if match and not _alive(int(match.group(1))):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def _atomic_write(path, arrays):
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _clean_leftovers(directory, base)
    tmp = os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
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
    """Write ``model`` (architecture, parameters, optimizer state, carried states, training
    position, history) to ``path`` as a single ``.npz`` file (exactly ``path``: no suffix is
    added). Atomic; errors name ``path``."""
    path = os.fspath(path)
    try:
        meta = _metadata(model)
        arrays = _arrays(model)
        text = json.dumps(meta, allow_nan=True)
    except ValueError as err:
        raise ValueError(f"save_model: {path}: {str(err).removeprefix('save_model: ')}") from None
    arrays[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    try:
        _atomic_write(path, arrays)
    except OSError as err:
        message = f"save_model: cannot write {path!r}: {err.strerror or err}"
        raise (type(err)(err.errno, message) if err.errno is not None else OSError(message)) from err
    return path


# ------------------------------------------------------------------------------------ reading
class _Bad(ValueError):
    """Internal: a problem found while loading (re-raised with the path)."""


def _show(value, limit=80):
    """``repr(value)``, cut to ``limit`` characters (a file's values may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _zip_directory(f, size):
    """Refuse, from the end-of-central-directory record alone, an archive whose directory is
    too large or lists too many members (before zipfile parses it)."""
    tail_len = min(size, 22 + 65535)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Bad("not a readable .npz model file (no zip directory: truncated or corrupted?)")
    _, _, _, _, count, dir_size, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    if (count == 0xFFFF or dir_size == 0xFFFFFFFF) and at >= 20 \
            and tail[at - 20:at - 16] == b"PK\x06\x07":         # zip64: read the real numbers
        offset = struct.unpack("<Q", tail[at - 12:at - 4])[0]
        if offset + 56 > size:
            raise _Bad("corrupted zip64 directory record")
        f.seek(offset)
        record = f.read(56)
        if record[:4] != b"PK\x06\x06":
            raise _Bad("corrupted zip64 directory record")
        count, dir_size = struct.unpack("<QQ", record[32:48])
    if count > MAX_MEMBERS or dir_size > MAX_DIRECTORY_BYTES:
        raise _Bad(f"the archive lists {count} entries in a {dir_size}-byte directory; a model "
                   f"file holds at most {MAX_MEMBERS} in {MAX_DIRECTORY_BYTES} bytes")
    f.seek(0)


def _npy_header(member, name):
    """(shape, fortran_order, dtype) of a .npy member, checked, before any data is read."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                member, max_header_size=MAX_NPY_HEADER)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                member, max_header_size=MAX_NPY_HEADER)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error, SyntaxError,
            TypeError, RecursionError) as err:
        raise _Bad(f"entry {name!r} is not a readable .npy array ({type(err).__name__}: "
                   f"{str(err)[:200]})") from None
    if any(n < 0 for n in shape):
        raise _Bad(f"entry {name!r} declares the negative shape {shape}")
    if dtype.hasobject:
        raise _Bad(f"refusing to load: entry {name!r} is an object array / pickled payload "
                   f"(never unpickled)")
    text_meta = name == META_KEY and dtype.kind == "U"       # a 0-d string: older writers
    if (dtype.kind not in _ARRAY_KINDS and not text_meta) or dtype.fields is not None \
            or dtype.subdtype is not None:
        raise _Bad(f"entry {name!r} has dtype {dtype}; a model file holds only numeric arrays")
    return shape, fortran, dtype


def _read_member(archive, info, name):
    with archive.open(info) as member:
        shape, fortran, dtype = _npy_header(member, name)
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        held = info.file_size - member.tell()
        if nbytes != held:
            raise _Bad(f"entry {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                       f"holds {held} bytes")
        flat = np.empty(count, dtype=dtype)           # at most the member's declared size
        view, done = memoryview(flat).cast("B"), 0
        while done < nbytes:
            n = member.readinto(view[done:])
            if not n:
                raise _Bad(f"entry {name!r} is truncated ({done} of {nbytes} bytes)")
            done += n
    return flat.reshape(shape, order="F" if fortran else "C")


_MEMBER = re.compile(rf"^({META_KEY}|(param|state)/[^/]+/[^/]+|optimizer/[^/]+/[^/]+/[^/]+)\.npy$")


def _read_entries(path):
    """Every entry of the archive as a numeric array, every size checked before it is read."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            raise _Bad("not an unrolled model file: expected an .npz archive, got a single .npy "
                       "array")
        _zip_directory(f, size)
        try:
            archive = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error,
                NotImplementedError, UnicodeDecodeError) as err:
            raise _Bad(f"not a readable .npz model file (truncated or corrupted?): "
                       f"{type(err).__name__}: {err}") from None
        with archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise _Bad("the archive holds two entries of the same name")
            budget = 2 * size + (1 << 20)
            declared = sum(info.file_size for info in infos)
            if declared > budget:
                raise _Bad(f"the archive's entries declare {declared} bytes once inflated, more "
                           f"than twice the file's {size} bytes plus 1 MiB (a zip bomb?); "
                           f"refused before inflating anything")
            for info in infos:
                if not _MEMBER.match(info.filename):
                    raise _Bad(f"unexpected entry {info.filename[:80]!r} (a model file holds "
                               f"{META_KEY}.npy, param/<layer>/<name>.npy, "
                               f"state/<layer>/<name>.npy and optimizer/<layer>/<param>/<slot>.npy)")
            entries = {}
            for info in infos:
                name = info.filename[:-4]
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
                        or info.flag_bits & 0x1:
                    raise _Bad(f"entry {name!r} is encrypted or uses an unsupported compression")
                if name == META_KEY and info.file_size > MAX_META_BYTES + MAX_NPY_HEADER:
                    raise _Bad(f"metadata entry of {info.file_size} bytes; at most "
                               f"{MAX_META_BYTES} bytes of JSON are read")
                try:
                    entries[name] = _read_member(archive, info, name)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                        RuntimeError, NotImplementedError) as err:
                    if isinstance(err, _Bad):
                        raise
                    raise _Bad(f"entry {name!r} cannot be read (truncated or corrupted?): "
                               f"{type(err).__name__}: {err}") from None
    return entries


def _json_shape(text):
    """(deepest nesting, number of objects and arrays) of a JSON text outside its strings,
    without parsing or recursion: one vectorized pass (escaped backslashes and quotes removed,
    then quotes toggle "in a string")."""
    text = text.replace("\\\\", "").replace('\\"', "")
    codes = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    outside = (np.cumsum(codes == 34, dtype=np.int32) & 1) == 0
    opens = ((codes == 91) | (codes == 123)) & outside       # [ {
    closes = ((codes == 93) | (codes == 125)) & outside      # ] }
    depth = np.cumsum(opens.view(np.int8) - closes.view(np.int8), dtype=np.int32)
    return int(depth.max(initial=0)), int(np.count_nonzero(opens))


def _read_meta(entries):
    if META_KEY not in entries:
        raise _Bad(f"not an unrolled model file: no {META_KEY!r} entry")
    raw = entries.pop(META_KEY)
    if raw.dtype == np.uint8 and raw.ndim == 1:
        data = raw.tobytes()
    elif raw.dtype.kind == "U" and raw.ndim == 0:
        data = str(raw[()]).encode("utf-8")
    else:
        raise _Bad(f"metadata entry {META_KEY!r} has dtype {raw.dtype} and shape {raw.shape}; "
                   f"expected uint8 bytes")
    if len(data) > MAX_META_BYTES:
        raise _Bad(f"metadata of {len(data)} bytes; at most {MAX_META_BYTES} are read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _Bad(f"metadata is not UTF-8 ({err})") from None
    depth, containers = _json_shape(text)
    if depth > MAX_JSON_DEPTH:
        raise _Bad(f"metadata JSON is nested {depth} deep; at most {MAX_JSON_DEPTH}")
    if containers > MAX_JSON_CONTAINERS:
        raise _Bad(f"metadata JSON holds {containers} objects and arrays; at most "
                   f"{MAX_JSON_CONTAINERS}")
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as err:
        raise _Bad(f"metadata is not valid JSON ({str(err)[:200]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise _Bad(f"not an unrolled model file (format {_show(found)}, expected {FORMAT!r})")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
        raise _Bad(f"unsupported file version {_show(version)} (this unrolled reads versions 1 "
                   f"to {VERSION})")
    if version == 1:
        meta = _upgrade_v1(meta)
    for key, kind in (("layers", list), ("model", dict), ("training", dict), ("history", dict),
                      ("components", dict), ("class", str)):
        if not isinstance(meta.get(key), kind):
            raise _Bad(f"metadata entry {key!r} must be a {kind.__name__}, got "
                       f"{type(meta.get(key)).__name__}")
    return meta


def _upgrade_v1(meta):
    """A version-1 file's metadata in the version-2 layout (model settings under ``config``,
    Seq2Seq roles as ``components``)."""
    m = meta.get("model")
    if not isinstance(m, dict):
        return meta
    config = {k: m.get(k) for k in ("name", "loss", "metrics", "seed", "dtype", "clip_norm",
                                    "clip_layer_norm", "clip_value")}
    components = {}
    s2s = meta.get("seq2seq")
    if meta.get("class") == "Seq2Seq" and isinstance(s2s, dict):
        config.pop("loss")
        config.update(start_id=s2s.get("start_id", 0), target_length=s2s.get("target_length"))
        roles = s2s.get("roles")
        components = {role: i for i, role in enumerate(roles)} if isinstance(roles, list) else None
    return {**meta, "components": components, "class": meta.get("class", "Model"),
            "model": {"config": config, "optimizer": m.get("optimizer"),
                      "schedule": m.get("schedule")}}


# ------------------------------------------------------------------------------------ validation
def _field(mapping, key, kind, where):
    """``mapping[key]``, which must be of type ``kind`` (a bool is no int here)."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _Bad(f"{where}: {key!r} must be a {kind.__name__}, got {_show(value)}")
    return value


def _count(value, where):
    """A non-negative integer (JSON int, not bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad(f"{where} must be a non-negative integer, got {_show(value)}")
    return value


def _rate(value, where, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise _Bad(f"{where} must be a finite number {'> 0' if positive else '>= 0'}, got "
                   f"{_show(value)}")
    return float(value)


def _dtype(meta):
    name = _field(meta["model"], "config", dict, "model").get("dtype", "float64")
    if name not in ("float32", "float64"):
        raise _Bad(f"model dtype must be 'float32' or 'float64', got {_show(name)}")
    return np.dtype(name)


def _check_entries(meta, entries, dtype):
    """Every array by kind: parameters and carried states finite and of the model's dtype;
    nothing the layout does not name."""
    for key, arr in entries.items():
        if key.startswith((PARAM_PREFIX, STATE_PREFIX)):
            if key.count("/") != 2:
                raise _Bad(f"bad entry name {key!r} (expected 'kind/layer/name')")
            if arr.dtype != dtype:
                raise _Bad(f"entry {key!r} has dtype {arr.dtype}, the model's dtype is {dtype}")
            if not np.isfinite(arr).all():
                raise _Bad(f"entry {key!r} holds non-finite values (NaN or inf)")
        elif not key.startswith(OPTIMIZER_PREFIX):
            raise _Bad(f"unexpected entries in the file: {key!r}")


def _input_dims(meta, entries):
    """The saved input shape; its feature sizes may not exceed the parameters present (the one
    declared size a shape-only build of a Seq2Seq turns into an array)."""
    shape = meta.get("input_shape")
    if shape is None:
        return None
    if not (isinstance(shape, list) and 2 <= len(shape) <= 8 and shape[0] == 1
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 < n < 2 ** 62 for n in shape)):
        raise _Bad(f"bad input_shape {_show(shape)} in metadata")
    present = sum(arr.size for key, arr in entries.items() if key.startswith(PARAM_PREFIX))
    # the features of one position (last axis of an (m, s, e) or (m, h, w, c) input) each meet
    # at least one weight of the first layer that has any; steps and pixels are not bounded so
    features = shape[-1] if len(shape) >= 3 else 1
    if features > max(present, 1):
        raise _Bad(f"input_shape {shape} declares {features} features per position, more "
                   f"than the {present} parameters the file holds")
    return tuple(shape)


# ------------------------------------------------------------------------------------ rebuilding
def _kwargs(config, where):
    config = _from_json(config)
    if not isinstance(config, dict):
        raise _Bad(f"{where}: config must be a dict of named arguments, got {_show(config)}")
    return config


def _build(cls, config, where):
    try:
        return cls(**config)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as err:
        raise _Bad(f"{where}: cannot rebuild {cls.__name__}(**{str(config)[:200]}): {err}") from None


def _lookup(kind, spec, where):
    name = spec.get("type") if isinstance(spec, dict) else None
    try:
        return registry.get(kind, name, spec.get("module") if isinstance(spec, dict) else None)
    except ValueError as err:
        raise _Bad(f"{where}: unknown {kind} {_show(name)}: {err}") from None


def _rebuild_layers(meta):
    from .layer import Layer
    layers_table = layer_types()
    layers = []
    if not 1 <= len(meta["layers"]) <= MAX_LAYERS:
        raise _Bad(f"metadata lists {len(meta['layers'])} layers; a model file holds 1 to "
                   f"{MAX_LAYERS}")
    for i, spec in enumerate(meta["layers"]):
        where = f"layer {i}"
        if not isinstance(spec, dict):
            raise _Bad(f"{where}: spec must be a dict")
        name = spec.get("type")
        cls = layers_table.get(name) if isinstance(name, str) else None
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            hint = spec.get("module")
            raise _Bad(f"{where} has unknown type {_show(name)}: not a registered layer; "
                       f"import the module that defines it"
                       f"{f' ({hint!r})' if isinstance(hint, str) else ''} before loading "
                       f"(loading never imports modules itself); a Layer subclass registers "
                       f"itself when it is defined")
        _field(spec, "params", list, where)
        _field(spec, "initialized", bool, where)
        layers.append(_build(cls, _kwargs(spec.get("config", {}), where), where))
    return layers


def _rebuild_optimizer(meta):
    spec = _field(meta["model"], "optimizer", dict, "model")
    cls = _lookup("optimizer", spec, "optimizer")
    optimizer = _build(cls, _kwargs(spec.get("config", {}), "optimizer"), "optimizer")
    optimizer.lr = _rate(spec.get("lr"), "optimizer lr")
    optimizer.base_lr = _rate(spec.get("base_lr"), "optimizer base_lr", positive=True)
    optimizer.iterations = _count(spec.get("iterations"), "optimizer iterations")
    return optimizer


def _rebuild_schedule(meta):
    spec = meta["model"].get("schedule")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise _Bad("schedule must be a dict or null")
    if spec.get("type") is None:
        warnings.warn(f"load_model: the model was trained with a custom schedule "
                      f"({str(spec.get('repr'))[:200]}), which was not saved; set model.schedule "
                      f"again to keep it", stacklevel=4)
        return None
    cls = _lookup("schedule", spec, "schedule")
    return _build(cls, _kwargs(spec.get("config", {}), "schedule"), "schedule")


def _rebuild_model(meta, layers, optimizer, schedule):
    cls = _lookup("model", {"type": meta["class"]}, "model")
    config = _kwargs(meta["model"]["config"], "model config")
    components = {}
    for arg, index in meta["components"].items():
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(layers):
            raise _Bad(f"component {arg!r} names layer {_show(index)}, the file has "
                       f"{len(layers)} layers")
        components[arg] = layers[index]
    for name in config.get("metrics") or ():
        if not isinstance(name, str) or name not in registry.table("metric"):
            raise _Bad(f"unknown metric {_show(name)}: not registered; register it with "
                       f"@register_metric in a module you import before loading")
    loss = config.get("loss")
    if loss is not None and (not isinstance(loss, str) or loss not in registry.table("loss")):
        raise _Bad(f"unknown loss {_show(loss)}: not registered; registered losses: "
                   f"{', '.join(sorted(registry.table('loss')))}")
    try:
        model = cls.from_config(layers, components, config, optimizer=optimizer, schedule=schedule)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as err:
        raise _Bad(f"cannot rebuild the model {cls.__name__}: {err}") from None
    if model.layers != layers:
        raise _Bad("the rebuilt model's layers are not those of the file (components out of order)")
    rebuilt = model.components()
    if set(rebuilt) != set(components) or any(rebuilt[a] is not components[a] for a in components):
        raise _Bad(f"components {sorted(components)} do not match the layer arguments of "
                   f"{cls.__name__}: {sorted(rebuilt)}")
    return model


def _param_arrays(spec, layer, entries):
    names = spec["params"]
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise _Bad(f"{layer.label}: bad parameter names {_show(names)}")
    return {name: _take(entries, PARAM_PREFIX, layer, name, "parameter array")[1] for name in names}


def _take(entries, prefix, layer, name, what):
    """``(key, array)`` of the layer's entry, removed from ``entries``; C-contiguous, writable."""
    key = f"{prefix}{layer.name}/{name}"
    if key not in entries:
        raise _Bad(f"missing {what} {key!r}")
    arr = entries.pop(key)
    return key, arr if arr.flags.c_contiguous and arr.flags.writeable else np.array(arr, order="C")


def _preassign(layer, params):
    """Give the layer (and the inner layers of a wrapper, Bidirectional or a composite, which
    names inner layer i's parameters ``prefix(i) + name``) the saved arrays, marked initialized:
    no initializer ever runs."""
    layer.p, layer.initialized, layer.g = params, True, {}
    inner = getattr(layer, "layers", None)
    if callable(getattr(layer, "prefix", None)) and isinstance(inner, (tuple, list)) and inner:
        # Residual's prefix is "": its one inner layer owns every parameter
        prefixes = [layer.prefix(i) for i in range(len(inner))]
        claimed = set()
        for prefix, sub in zip(prefixes, inner):
            own = {k: v for k, v in params.items() if k.startswith(prefix) and k not in claimed}
            claimed |= set(own)
            _preassign(sub, {k[len(prefix):]: v for k, v in own.items()})
        if claimed != set(params):
            raise _Bad(f"{layer.label}: parameters {sorted(set(params) - claimed)} belong to "
                       f"none of its {len(inner)} inner layers")


def _check_shapes(layer, where):
    """Every parameter shape the layer declared in ``fs`` equals the saved array's."""
    for name, arr in layer.p.items():
        declared = layer.fs.get(name)
        if isinstance(declared, tuple) and declared != arr.shape:
            raise _Bad(f"parameter {where}/{name!r} has shape {arr.shape}, the layer's "
                       f"configuration declares {declared}")
    for sub in getattr(layer, "layers", None) or ():
        if hasattr(sub, "p") and sub is not layer:
            _check_shapes(sub, where)


def _restore_parameters(model, specs, entries, input_shape):
    """Saved parameters into the layers, then (for a built model) the shape-only build that
    checks every declared dimension against them."""
    for layer, spec in zip(model.layers, specs):
        params = _param_arrays(spec, layer, entries)
        if spec["initialized"]:
            _preassign(layer, params)
        elif params:
            raise _Bad(f"{layer.label}: parameters saved for a layer marked uninitialized")
    if input_shape is None:
        for layer, spec in zip(model.layers, specs):      # never run as a model: keep d / fs
            shapes, dims = _from_json(spec.get("fs")), _from_json(spec.get("d"))
            if spec["initialized"] and isinstance(shapes, dict) and isinstance(dims, dict):
                layer.fs, layer.d = shapes, dims
                _check_shapes(layer, f"param/{layer.name}")
        return
    if not all(spec["initialized"] for spec in specs):
        raise _Bad("input_shape given (a built model) but some layers are marked uninitialized")
    try:
        model.build_shapes(input_shape)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:
        raise _Bad(f"the layers do not fit the saved input shape {input_shape}: {err}") from None
    for layer in model.layers:
        _check_shapes(layer, f"param/{layer.name}")


def _restore_carried(model, specs, entries):
    for layer, spec in zip(model.layers, specs):
        if hasattr(layer, "reset_state"):
            layer.reset_state()
        names = spec.get("carried")
        if names is None:
            continue
        if not hasattr(layer, "carried"):
            raise _Bad(f"{layer.label} carries no state between batches, the file gives it "
                       f"{_show(names)}")
        allowed = getattr(layer, "state_names", None)
        if not isinstance(names, list) or not names or \
                (allowed is not None and not set(names) <= set(allowed)):
            raise _Bad(f"{layer.label}: carried states {_show(names)}, expected names among "
                       f"{allowed}")
        carried = {}
        for name in names:
            key, arr = _take(entries, STATE_PREFIX, layer, name, "carried state")
            u = layer.d.get("u")
            if arr.ndim != 2 or (u is not None and arr.shape[1] != u):
                raise _Bad(f"carried state {key!r} has shape {arr.shape}, expected (m, {u})")
            carried[name] = arr
        if len({a.shape for a in carried.values()}) != 1:
            raise _Bad(f"{layer.label}: carried states of different shapes")
        layer.carried = carried
    leftover = [k for k in entries if k.startswith(STATE_PREFIX)]
    if leftover:
        raise _Bad(f"carried state {leftover[0]!r} belongs to no stateful layer of the model")


def _restore_optimizer_state(model, entries):
    params, state = {}, {}
    for layer in model.layers:
        for name, value in layer.p.items():
            params[(layer.name, name)] = value
    for key in [k for k in entries if k.startswith(OPTIMIZER_PREFIX)]:
        state[key[len(OPTIMIZER_PREFIX):]] = entries.pop(key)
    try:
        model.optimizer.load_state_arrays(state, params)
    except ValueError as err:
        raise _Bad(f"optimizer state: {err}") from None


def _restore_training(model, meta, specs):
    for layer, spec in zip(model.layers, specs):
        if spec.get("rng") is not None:
            layer.rng = _make_rng(_from_json(spec["rng"]), layer.label)
    training = meta["training"]
    model.epoch = _count(training.get("epoch"), "training epoch")
    if training.get("rng") is not None:
        model.rng = _make_rng(_from_json(training["rng"]), "model")
    target = getattr(model, "target_length", None)
    if target is not None:
        _count(target, "target_length")
    history = type(model.history)()
    for key, values in meta["history"].items():
        if not isinstance(values, list) or not all(
                v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                for v in values):
            raise _Bad(f"history[{key!r}] must be a list of numbers")
        history[str(key)] = list(values)
    model.history = history


def _rebuild(meta, entries):
    """The model of a validated file, in steps: values, layers, optimizer, schedule, model,
    parameters (shape-only build), carried states, optimizer state, training position."""
    dtype = _dtype(meta)
    _check_entries(meta, entries, dtype)
    input_shape = _input_dims(meta, entries)
    specs = meta["layers"]
    layers = _rebuild_layers(meta)
    optimizer = _rebuild_optimizer(meta)
    schedule = _rebuild_schedule(meta)
    model = _rebuild_model(meta, layers, optimizer, schedule)
    _restore_parameters(model, specs, entries, input_shape)
    _restore_carried(model, specs, entries)
    _restore_optimizer_state(model, entries)
    if entries:
        raise _Bad(f"unexpected entries in the file: {', '.join(sorted(entries)[:5])}")
    _restore_training(model, meta, specs)
    return model


def load_model(path):
    """Rebuild a model written by :func:`save_model` (see the module docstring for the checks).

    Raises ``FileNotFoundError`` for a missing file and one ``ValueError`` naming ``path`` and the
    entry for anything wrong with the file: not an unrolled ``.npz``, truncated or corrupted,
    pickled or object payloads, sizes beyond the limits, unknown format version, unregistered
    layer / optimizer / loss / metric / schedule types, non-finite or inconsistent values.
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
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, UnicodeDecodeError,
            OverflowError, RecursionError, struct.error, zipfile.BadZipFile,
            zlib.error, EOFError) as err:
        raise ValueError(f"load_model: {path}: invalid or corrupted model file "
                         f"({type(err).__name__}: {str(err)[:300]})") from None
