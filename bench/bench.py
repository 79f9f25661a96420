#!/usr/bin/env python
"""Training-step benchmark of ``unrolled`` against PyTorch (CPU) and a NumPy GEMM floor.

Usage (from the repository root)::

    python bench/bench.py [--quick] [--threads 1 2] [--dtypes float64 float32]
                          [--only LSTM-M ...] [--repeats N] [--markdown bench/RESULTS.md]
                          [--json PATH]

Every workload is a recurrent layer (or an MLP) followed by ``Dense(10, softmax)`` with
cross-entropy; one *training step* is forward, loss gradient, backward, parameter gradients and a
plain SGD update (lr 0.01). Three contenders are timed, alternating in one run:

* ``unrolled``: ``Model([...], loss="cce", optimizer=SGD(lr=0.01), dtype=..., seed=0).train_step``;
* ``torch``: the same network with ``nn.LSTM/GRU/RNN`` + ``nn.Linear``, ``F.cross_entropy``,
  ``torch.optim.SGD`` (zero_grad, forward, loss, backward, step);
* ``floor``: exactly the matrix products the fused unrolled step performs, with ``np.matmul``
  on preallocated arrays, and nothing else (see bench/README.md).

Each thread count runs in its own subprocess whose environment sets OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS before numpy/torch are imported; the worker also calls
``torch.set_num_threads(n)`` (and ``threadpoolctl.threadpool_limits(n)`` when that package is
installed). The peak memory of one unrolled step is measured with ``tracemalloc`` (NumPy reports
its buffers to it) in the first worker.
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
CONTENDERS = ("unrolled", "torch", "floor")
N_CLASSES = 10
LR = 0.01

SIZES = {"S": dict(m=32, s=20, e=8, u=32),
         "M": dict(m=64, s=50, e=32, u=128),
         "L": dict(m=128, s=100, e=64, u=256)}
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _workloads():
    out = {}
    for size in ("S", "M"):
        for kind in ("RNN", "LSTM", "GRU"):
            out[f"{kind}-{size}"] = dict(kind=kind, size=size, sequences=False, **SIZES[size])
    out["LSTM-M-seq"] = dict(kind="LSTM", size="M", sequences=True, **SIZES["M"])
    out["MLP"] = dict(kind="MLP", size="MLP", sequences=False, m=256, n_in=784, hidden=256)
    for kind in ("RNN", "LSTM", "GRU"):
        out[f"{kind}-L"] = dict(kind=kind, size="L", sequences=False, **SIZES["L"])
    return out


WORKLOADS = _workloads()
# Repeats (timed samples per contender) by size: full run, --quick run.
DEFAULT_REPEATS = {"S": 21, "M": 15, "MLP": 21, "L": 7}
QUICK_REPEATS = {"S": 9, "M": 7, "MLP": 9, "L": 3}
MIN_SAMPLE_S = 0.025   # a timed sample loops over the step until it lasts at least this long


def describe(spec):
    if spec["kind"] == "MLP":
        return f"MLP {spec['n_in']}-{spec['hidden']}-{N_CLASSES}, m={spec['m']}"
    mode = "many-to-many" if spec["sequences"] else "many-to-one"
    return (f"{spec['kind']} m={spec['m']} s={spec['s']} e={spec['e']} u={spec['u']}, {mode}")


# ====================================================================================== worker
def make_data(spec, dtype, np):
    """X in the model dtype, one-hot Y in the dtype (for unrolled), integer labels (for torch)."""
    rng = np.random.default_rng(1234)
    m = spec["m"]
    if spec["kind"] == "MLP":
        X = rng.standard_normal((m, spec["n_in"])).astype(dtype)
        labels = rng.integers(0, N_CLASSES, size=m)
    else:
        X = rng.standard_normal((m, spec["s"], spec["e"])).astype(dtype)
        labels = rng.integers(0, N_CLASSES, size=(m, spec["s"]) if spec["sequences"] else m)
    Y = np.eye(N_CLASSES, dtype=dtype)[labels]
    return X, Y, labels


def build_unrolled(spec, dtype, X, Y, lean=False):
    from unrolled.framework import Model, SGD
    from unrolled.layers import Dense, GRU, LSTM, RNN
    if spec["kind"] == "MLP":
        layers = [Dense(spec["hidden"], activation="relu"), Dense(N_CLASSES, activation="softmax")]
    else:
        cell = {"LSTM": LSTM, "GRU": GRU, "RNN": RNN}[spec["kind"]]
        layers = [cell(spec["u"], sequences=spec["sequences"], lean=lean),
                  Dense(N_CLASSES, activation="softmax")]
    model = Model(layers, loss="cce", optimizer=SGD(lr=LR), dtype=dtype, seed=0)

    def step():
        model.train_step(X, Y)
    return model, step


def build_torch(spec, dtype, X, labels, torch):
    import numpy as np
    nn, F = torch.nn, torch.nn.functional
    tdtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
    torch.manual_seed(0)
    if spec["kind"] == "MLP":
        net = nn.Sequential(nn.Linear(spec["n_in"], spec["hidden"]), nn.ReLU(),
                            nn.Linear(spec["hidden"], N_CLASSES))
    else:
        cell = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[spec["kind"]]

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = cell(spec["e"], spec["u"], batch_first=True)
                self.fc = nn.Linear(spec["u"], N_CLASSES)

            def forward(self, x):
                out, _ = self.rnn(x)
                return self.fc(out if spec["sequences"] else out[:, -1])
        net = Net()
    net = net.to(tdtype)
    x = torch.from_numpy(np.ascontiguousarray(X))        # requires_grad=False
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64)).reshape(-1)
    opt = torch.optim.SGD(net.parameters(), lr=LR)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = net(x)
        loss = F.cross_entropy(logits.reshape(-1, N_CLASSES), y)
        loss.backward()
        opt.step()
    return net, step


def floor_products(spec, dtype, np):
    """The (A, B, out) operands of every matrix product of one fused unrolled step.

    Recurrent cell with G gates (G = 4 LSTM, 3 GRU, 1 RNN), time-major buffers:
      forward   [Xt 1] (s*m, e+1) @ [U; b] (e+1, G*u)          once (the bias rides along)
                h_{t-1} (m, u) @ V (u, G*u)                    s times
                H (m, u) @ W (u, 10)   [(s*m, u) @ W when many-to-many]
      backward  dW = H^T dZo,  dH = dZo W^T                    output Dense
                dZ_t (m, G*u) @ V^T (G*u, u)                   s times (V^T a contiguous copy)
                [dU; db] = [Xt 1]^T (e+1, s*m) @ dZ (s*m, G*u)
                dV = Hprev^T (u, s*m) @ dZ (s*m, G*u)
      (no dX = dZ U^T: the first layer's input needs no gradient)
    MLP: X @ W1, H @ W2; dW2 = H^T dZ2, dH = dZ2 W2^T, dW1 = X^T dZ1 (no dX).
    Transposed operands are transposed views, which NumPy hands to BLAS without a copy.
    """
    rng = np.random.default_rng(7)

    def arr(*shape):
        return (rng.random(shape) * 0.2 - 0.1).astype(dtype)

    def out(*shape):
        return np.zeros(shape, dtype=dtype)

    ops = []
    if spec["kind"] == "MLP":
        m, n, h, k = spec["m"], spec["n_in"], spec["hidden"], N_CLASSES
        X, W1, W2 = arr(m, n), arr(n, h), arr(h, k)
        H, Z2, dZ2, dZ1 = out(m, h), out(m, k), arr(m, k), arr(m, h)
        dH, dW1, dW2 = out(m, h), out(n, h), out(h, k)
        ops += [(X, W1, H), (H, W2, Z2),                      # forward
                (H.T, dZ2, dW2), (dZ2, W2.T, dH), (X.T, dZ1, dW1)]   # backward
        return ops
    m, s, e, u, G = spec["m"], spec["s"], spec["e"], spec["u"], GATES[spec["kind"]]
    k = N_CLASSES
    Xt, U, V, W = arr(s, m, e + 1), arr(e + 1, G * u), arr(u, G * u), arr(u, k)
    Zt = out(s, m, G * u)
    Ht = arr(s + 1, m, u)
    dZt = arr(s, m, G * u)
    dh = out(m, u)
    ops.append((Xt.reshape(s * m, e + 1), U, Zt.reshape(s * m, G * u)))      # input projection
    for t in range(s):
        ops.append((Ht[t], V, Zt[t]))                                        # recurrent product
    if spec["sequences"]:
        Hd = Ht[1:].reshape(s * m, u)
        Zo, dZo, dHd = out(s * m, k), arr(s * m, k), out(s * m, u)
    else:
        Hd = Ht[s]
        Zo, dZo, dHd = out(m, k), arr(m, k), out(m, u)
    dW = out(u, k)
    ops.append((Hd, W, Zo))                                                  # Dense forward
    ops.append((Hd.T, dZo, dW))                                              # Dense dW
    ops.append((dZo, W.T, dHd))                                              # Dense dH
    VT = np.ascontiguousarray(V.T)      # unrolled copies V^T once per backward pass
    for t in reversed(range(s)):
        ops.append((dZt[t], VT, dh))                                         # dh_{t-1}
    dU, dV = out(e + 1, G * u), out(u, G * u)
    ops.append((Xt.reshape(s * m, e + 1).T, dZt.reshape(s * m, G * u), dU))  # [dU; db]
    ops.append((Ht[:-1].reshape(s * m, u).T, dZt.reshape(s * m, G * u), dV))  # dV
    return ops


def build_floor(spec, dtype, np):
    ops = floor_products(spec, dtype, np)
    matmul = np.matmul

    def step():
        for a, b, c in ops:
            matmul(a, b, out=c)
    return ops, step


def floor_flops(ops):
    return sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in ops)


def needed_arrays(spec):
    """Element counts of the arrays one training step must keep (see bench/README.md)."""
    m = spec["m"]
    k = N_CLASSES
    if spec["kind"] == "MLP":
        n, h = spec["n_in"], spec["hidden"]
        cell = {"X (m, 784)": m * n, "H relu output (m, 256)": m * h}
        params = n * h + h + h * k + k
        outputs = m * k
    else:
        s, e, u, kind = spec["s"], spec["e"], spec["u"], spec["kind"]
        cell = {"X (m,s,e)": m * s * e, "time-major X copy (s,m,e)": s * m * e}
        if kind == "LSTM":
            cell.update({"gates (s,m,4u)": s * m * 4 * u, "C (s+1,m,u)": (s + 1) * m * u,
                         "act(C) (s,m,u)": s * m * u, "h (s+1,m,u)": (s + 1) * m * u})
        elif kind == "GRU":
            cell.update({"gates (s,m,3u)": s * m * 3 * u, "h (s+1,m,u)": (s + 1) * m * u,
                         "hn (s,m,u)": s * m * u})
        else:
            cell.update({"pre-activations (s,m,u)": s * m * u, "h (s+1,m,u)": (s + 1) * m * u})
        G = GATES[kind]
        params = e * G * u + u * G * u + G * u + (u if kind == "GRU" else 0) + u * k + k
        outputs = m * s * k if spec["sequences"] else m * k
    other = {"parameters": params, "parameter gradients": params,
             "softmax output": outputs, "one-hot Y": outputs}
    return cell, other


def backward_arrays(spec):
    """Element counts of the per-step gradients unrolled keeps readable after backward (bc):
    not counted as needed, reported beside it (see bench/README.md)."""
    m = spec["m"]
    if spec["kind"] == "MLP":
        return {"dZ1 (m,256)": m * spec["hidden"]}
    s, u, kind = spec["s"], spec["u"], spec["kind"]
    out = {f"dZ (s,m,{GATES[kind]}u)": s * m * GATES[kind] * u, "dh (s,m,u)": s * m * u}
    if kind == "LSTM":
        out["dC (s,m,u)"] = s * m * u
    if kind == "GRU":
        out["dn*r (s,m,u)"] = s * m * u
    return out


def live_cache_bytes(model, np):
    """Bytes of the distinct buffers behind every array in the layers' fc/bc/g/p dicts."""
    seen = {}
    for layer in model.layers:
        for store in (layer.fc, layer.bc, layer.g, layer.p):
            for value in store.values():
                if not isinstance(value, np.ndarray):
                    continue
                root = value
                while isinstance(root.base, np.ndarray):
                    root = root.base
                seen[id(root)] = root.nbytes
    return sum(seen.values())


def measure_memory(spec, dtype, np, lean=False):
    """tracemalloc around one train_step after two warm-up steps (the recurrent layer built with
    ``lean``; the caller also measures ``lean=True``).

    Tracing starts before the data and the model are created, so the preallocated caches reused
    by every step are traced too: ``peak`` is everything the step holds at its highest point
    (input, caches, parameters, gradients, temporaries); ``transient`` is the part above what was
    live just before the step.
    """
    import gc
    import tracemalloc
    X, Y, _ = make_data(spec, dtype, np)
    build_unrolled(spec, dtype, X, Y, lean=lean)[1]()   # first use: lazy imports happen here,
    del X, Y                                           # untraced (they are not the step's memory)
    gc.collect()
    tracemalloc.start()
    try:
        X, Y, _ = make_data(spec, dtype, np)
        model, step = build_unrolled(spec, dtype, X, Y, lean=lean)
        step()
        step()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if lean:
        return {"peak_bytes": peak}
    live = live_cache_bytes(model, np)
    itemsize = np.dtype(dtype).itemsize
    cell, other = needed_arrays(spec)
    cell_elems, other_elems = sum(cell.values()), sum(other.values())
    return {"peak_bytes": peak, "before_bytes": before, "after_bytes": after,
            "transient_bytes": peak - before, "live_cache_bytes": live,
            "cell_arrays": cell, "cell_elements": cell_elems, "cell_bytes": cell_elems * itemsize,
            "other_arrays": other, "other_bytes": other_elems * itemsize,
            "needed_bytes": (cell_elems + other_elems) * itemsize,
            "kept_bytes": (cell_elems + other_elems + sum(backward_arrays(spec).values())) * itemsize}


class OtherLoad:
    """Average number of cores used by *other* processes (and hypervisor steal) over an interval:
    machine-wide busy time from /proc/stat minus this process's own CPU time, per wall second."""

    def __init__(self):
        self.clk = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start = self._sample()

    def _sample(self):
        try:
            with open("/proc/stat") as fh:
                f = [int(x) for x in fh.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]   # user nice system irq softirq steal
        t = os.times()
        return busy / self.clk, t.user + t.system, time.perf_counter()

    def cores(self):
        end = self._sample()
        if self.start is None or end is None or end[2] <= self.start[2]:
            return None
        other = (end[0] - self.start[0]) - (end[1] - self.start[1])
        return max(0.0, other / (end[2] - self.start[2]))


def wait_idle(limit_s, log, threshold=0.25):
    """Wait up to ``limit_s`` seconds until other processes use less than ``threshold`` cores."""
    deadline = time.perf_counter() + limit_s
    waited = False
    while True:
        probe = OtherLoad()
        time.sleep(1.0)
        load = probe.cores()
        if load is None or load < threshold:
            return
        if time.perf_counter() >= deadline:
            log(f"    still {load:.2f} cores of other load after waiting {limit_s:.0f} s; timing anyway")
            return
        if not waited:
            log(f"    other processes use {load:.2f} cores; waiting (up to {limit_s:.0f} s)")
            waited = True


def time_contenders(fns, repeats, log):
    """Warm up, calibrate, then alternate the contenders ``repeats`` times; ms per step."""
    import gc
    inner, samples, errors = {}, {}, {}
    for name, fn in list(fns.items()):
        try:
            fn()                                   # warm-up (lazy build, cache allocation)
            t0 = time.perf_counter()
            fn()                                   # warm-up, timed to calibrate
            dt = time.perf_counter() - t0
        except Exception as err:                   # a contender broken: report, time the others
            errors[name] = f"{type(err).__name__}: {err}"
            log(f"    {name} failed: {errors[name]}")
            del fns[name]
            continue
        inner[name] = max(1, min(2000, math.ceil(MIN_SAMPLE_S / max(dt, 1e-7))))
        samples[name] = []
    load = OtherLoad()
    for _ in range(repeats):
        for name, fn in list(fns.items()):
            k = inner[name]
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                for _ in range(k):
                    fn()
                dt = time.perf_counter() - t0
            except Exception as err:               # e.g. diverged: keep the samples so far
                errors[name] = f"{type(err).__name__}: {err}"
                log(f"    {name} failed while timed: {errors[name]}")
                del fns[name]
                if not samples[name]:
                    del samples[name]
                continue
            finally:
                gc.enable()
            samples[name].append(dt / k * 1e3)
    return samples, inner, errors, load.cores()


def openblas_runtime():
    """OpenBLAS core type and thread count read from the loaded library (no threadpoolctl)."""
    import ctypes
    try:
        paths = sorted({line.split()[-1] for line in open("/proc/self/maps")
                        if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        info = {"library": path}
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                cfg = getattr(lib, f"{prefix}get_config{suffix}", None)
                if cfg is None:
                    continue
                cfg.restype = ctypes.c_char_p
                info["config"] = cfg().decode()
                core = getattr(lib, f"{prefix}get_corename{suffix}", None)
                if core is not None:
                    core.restype = ctypes.c_char_p
                    info["corename"] = core().decode()
                nthr = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                if nthr is not None:
                    nthr.restype = ctypes.c_int
                    info["num_threads"] = nthr()
                return info
    return None


def source_fingerprint():
    """Which unrolled code was measured: git HEAD, and a hash of the package's .py files as
    imported (the package may be edited between runs)."""
    import hashlib
    h = hashlib.sha256()
    for path in sorted((ROOT / "unrolled").rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    info = {"sources_sha256": h.hexdigest()[:12], "git_head": None, "git_dirty": None}
    try:
        info["git_head"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                          capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "unrolled"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["git_dirty"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def environment_info(np, torch, threads):
    info = {"python": sys.version.split()[0], "numpy": np.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "requested_threads": threads,
            "env": {v: os.environ.get(v) for v in THREAD_VARS}}
    try:
        import scipy
        info["scipy"] = scipy.__version__
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = " ".join(str(blas.get(k, "")) for k in ("name", "version")).strip()
        if blas.get("openblas configuration"):
            info["numpy_blas"] += f" ({blas['openblas configuration']})"
    except Exception as err:                       # older/newer numpy: best effort
        info["numpy_blas"] = f"unknown ({err})"
    info["openblas_runtime"] = openblas_runtime()
    try:
        import threadpoolctl
        info["threadpoolctl"] = [{k: p.get(k) for k in ("user_api", "internal_api", "version",
                                                         "num_threads", "architecture")}
                                 for p in threadpoolctl.threadpool_info()]
    except ImportError:
        info["threadpoolctl"] = None
    lines = torch.__config__.parallel_info().splitlines()
    info["torch_parallel"] = [l.strip() for l in lines
                              if any(w in l for w in ("backend", "Math Kernel", "MKL-DNN",
                                                      "OpenMP 2", "oneDNN"))]
    return info


def worker(args):
    threads = args.worker_threads
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    limiter = None
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(threads)
    except ImportError:
        pass
    sys.path.insert(0, str(ROOT))
    try:
        import unrolled.framework    # noqa: F401  (imported once: the code the rows measure)
        import unrolled.layers       # noqa: F401
    except Exception as err:
        print(f"cannot import unrolled: {type(err).__name__}: {err}", file=sys.stderr)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    result = {"threads": threads, "env_info": environment_info(np, torch, threads),
              "source": source_fingerprint(), "runs": []}
    for name in args.only:
        spec = WORKLOADS[name]
        repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)[spec["size"]]
        for dtype in args.dtypes:
            t0 = time.perf_counter()
            run = {"workload": name, "dtype": dtype, "threads": threads, "repeats": repeats,
                   "description": describe(spec)}
            X, Y, labels = make_data(spec, dtype, np)
            fns, errors = {}, {}
            builders = {"unrolled": lambda: build_unrolled(spec, dtype, X, Y)[1],
                        "torch": lambda: build_torch(spec, dtype, X, labels, torch)[1],
                        "floor": lambda: build_floor(spec, dtype, np)[1]}
            for c in CONTENDERS:
                try:
                    fns[c] = builders[c]()
                except Exception as err:
                    errors[c] = f"{type(err).__name__}: {err}"
                    log(f"    {c} could not be built: {errors[c]}")
            if args.wait_idle:
                wait_idle(args.wait_idle, log)
            samples, inner, t_errors, other = time_contenders(fns, repeats, log)
            run["other_load_cores"] = other
            errors.update(t_errors)
            run["samples_ms"], run["inner_loops"], run["errors"] = samples, inner, errors
            run["median_ms"] = {c: float(np.median(v)) for c, v in samples.items()}
            run["floor_gflop"] = floor_flops(floor_products(spec, dtype, np)) / 1e9
            del fns
            if args.memory and "unrolled" not in errors:
                try:
                    run["memory"] = measure_memory(spec, dtype, np)
                    if spec["kind"] != "MLP":
                        run["memory"]["lean_peak_bytes"] = measure_memory(spec, dtype, np, lean=True)["peak_bytes"]
                except Exception as err:
                    run["memory_error"] = f"{type(err).__name__}: {err}"
            run["wall_s"] = time.perf_counter() - t0
            med = run["median_ms"]
            log(f"  [{threads} thr] {name:<11} {dtype:<8} "
                + "  ".join(f"{c} {med[c]:9.3f} ms" if c in med else f"{c} {'error':>12}"
                            for c in CONTENDERS)
                + f"   ({run['wall_s']:.1f} s, other load "
                + (f"{other:.2f}" if other is not None else "?") + " cores)")
            result["runs"].append(run)
    if limiter is not None:
        limiter.restore_original_limits()
    with open(args.worker_out, "w") as fh:
        json.dump(result, fh)


# ====================================================================================== parent
def machine_info():
    info = {"cpu": "unknown", "cores_online": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["cores_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        info["cores_usable"] = os.cpu_count()
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((l.split(":", 1)[1].split() for l in fh if l.startswith("flags")), [])
        info["simd"] = " ".join(f for f in ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                                if f in flags)
    except OSError:
        pass
    return info


def targets(workload, dtype, med, mem):
    """(description, ratio, limit) of every target that applies to this row (bench/README.md)."""
    spec = WORKLOADS[workload]
    out = []
    if "unrolled" in med and "torch" in med:
        r = med["unrolled"] / med["torch"]
        if spec["size"] in ("M", "L"):
            limit = 0.6 if dtype == "float64" else 1.0
        else:                                       # S and MLP
            limit = 1.0
        out.append(("unrolled/torch", r, limit))
    if "unrolled" in med and "floor" in med and spec["size"] in ("M", "L"):
        out.append(("unrolled/floor", med["unrolled"] / med["floor"],
                    1.5 if spec["size"] == "L" else 2.0))
    if mem:
        out.append(("peak/needed", mem["peak_bytes"] / mem["needed_bytes"], 1.5))
        if "lean_peak_bytes" in mem:
            out.append(("peak/needed lean", mem["lean_peak_bytes"] / mem["needed_bytes"], 1.5))
    return out


def fmt_ms(x):
    if x is None:
        return "error"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def rows_for(runs, memory):
    rows = []
    for run in runs:
        med = run["median_ms"]
        mem = memory.get((run["workload"], run["dtype"]))
        u, t, f = med.get("unrolled"), med.get("torch"), med.get("floor")
        checks = targets(run["workload"], run["dtype"], med, mem)
        misses = [f"{n}>{lim:g}" for n, r, lim in checks if r > lim]
        spread = max((spread_pct(v) for v in run["samples_ms"].values()), default=None)
        rows.append([run["workload"], run["dtype"], fmt_ms(u), fmt_ms(t), fmt_ms(f),
                     f"{u / t:.2f}" if u and t else "-", f"{u / f:.2f}" if u and f else "-",
                     f"{spread:.0f}" if spread is not None else "-",
                     f"{run['other_load_cores']:.2f}" if run.get("other_load_cores") is not None else "-",
                     f"{mem['peak_bytes'] / 2**20:.2f}" if mem else "-",
                     f"{mem['needed_bytes'] / 2**20:.2f}" if mem else "-",
                     f"{mem['peak_bytes'] / mem['needed_bytes']:.2f}" if mem else "-",
                     ("miss: " + ", ".join(misses)) if misses else ("ok" if checks else "-")])
    return rows


def spread_pct(samples):
    """Interquartile range of the samples, in % of their median."""
    xs = sorted(samples)
    if len(xs) < 2:
        return 0.0
    q = lambda p: xs[0] if len(xs) == 1 else (
        xs[int(math.floor(p * (len(xs) - 1)))] * (1 - (p * (len(xs) - 1)) % 1)
        + xs[int(math.ceil(p * (len(xs) - 1)))] * ((p * (len(xs) - 1)) % 1))
    return (q(0.75) - q(0.25)) / q(0.5) * 100.0


HEADER = ["workload", "dtype", "unrolled ms", "torch ms", "floor ms", "unrolled/torch",
          "unrolled/floor", "IQR %", "other load", "peak MiB", "needed MiB", "peak/needed", "targets"]


def text_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w) if i > 1 else str(x).ljust(w)
                               for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def memory_rows(memory, order):
    rows = []
    for key in order:
        mem = memory.get(key)
        if not mem:
            continue
        rows.append([key[0], key[1], f"{mem['cell_elements']:,}", f"{mem['cell_bytes'] / 2**20:.2f}",
                     f"{mem['other_bytes'] / 2**20:.2f}", f"{mem['needed_bytes'] / 2**20:.2f}",
                     f"{mem['live_cache_bytes'] / 2**20:.2f}",
                     f"{mem['transient_bytes'] / 2**20:.2f}", f"{mem['peak_bytes'] / 2**20:.2f}",
                     f"{mem['peak_bytes'] / mem['needed_bytes']:.2f}",
                     f"{mem['kept_bytes'] / 2**20:.2f}", f"{mem['peak_bytes'] / mem['kept_bytes']:.2f}",
                     f"{mem['lean_peak_bytes'] / 2**20:.2f}" if "lean_peak_bytes" in mem else "-",
                     f"{mem['lean_peak_bytes'] / mem['needed_bytes']:.2f}" if "lean_peak_bytes" in mem else "-"])
    return rows


MEM_HEADER = ["workload", "dtype", "BPTT arrays (elements)", "BPTT MiB", "params+grads+Y+out MiB",
              "needed MiB", "live fc/bc/g/p MiB", "step transient MiB", "peak MiB", "peak/needed",
              "needed + backward caches MiB", "peak/(needed + backward caches)",
              "peak MiB, lean=True", "peak/needed, lean=True"]


def run_workers(args, selected):
    results = []
    for i, n in enumerate(args.threads):
        env = dict(os.environ)
        for var in THREAD_VARS:
            env[var] = str(n)
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out_path = tmp.name
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker-threads", str(n),
               "--worker-out", out_path, "--dtypes", *args.dtypes, "--only", *selected]
        if args.quick:
            cmd.append("--quick")
        if args.repeats:
            cmd += ["--repeats", str(args.repeats)]
        if args.wait_idle:
            cmd += ["--wait-idle", str(args.wait_idle)]
        if i == 0 and not args.no_memory:
            cmd.append("--memory")
        print(f"== {n} thread(s): {' '.join(f'{v}={n}' for v in THREAD_VARS[:3])}, "
              f"torch.set_num_threads({n})", flush=True)
        proc = subprocess.run(cmd, env=env, cwd=str(ROOT))
        if proc.returncode != 0:
            print(f"worker for {n} thread(s) failed with exit code {proc.returncode}", file=sys.stderr)
            continue
        with open(out_path) as fh:
            results.append(json.load(fh))
        os.unlink(out_path)
    return results


def write_markdown(path, args, selected, machine, results, memory, elapsed):
    env = results[0]["env_info"] if results else {}
    cmd = "python bench/bench.py" + ("" if not sys.argv[1:] else " " + shlex.join(sys.argv[1:]))
    loads = [r.get("other_load_cores") for res in results for r in res["runs"]]
    loads = [x for x in loads if x is not None]
    src = sorted({(res["source"]["git_head"], res["source"]["git_dirty"],
                   res["source"]["sources_sha256"]) for res in results})
    lines = ["# unrolled training-step benchmark", "",
             f"Command: `{cmd}` (run from the repository root; took {elapsed:.0f} s).", ""]
    if loads and max(loads) > 0.1:
        lines += [f"**Warning: contended run.** Other processes used up to {max(loads):.2f} cores "
                  f"(median {sorted(loads)[len(loads) // 2]:.2f}) of the "
                  f"{machine['cores_usable']} while rows were timed (`other load` column): "
                  "the timings, and above all the 2-thread ones, are inflated and noisy. "
                  "Rerun on a quiet machine (or with `--wait-idle 600`) before drawing conclusions.",
                  ""]
    src_text = ", ".join(f"{h}{' + uncommitted changes' if d else ''} (sources sha256 {x})"
                         for h, d, x in src)
    lines += [f"Code measured: unrolled at git {src_text}"
              + (" (the sources changed between the thread counts' processes)" if len(src) > 1 else "")
              + ".", "",
             f"Date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", "",
             "## Machine", "",
             f"- CPU: {machine['cpu']}; {machine['cores_online']} logical cores online, "
             f"{machine['cores_usable']} usable by this process; SIMD: {machine.get('simd', '?')}",
             f"- Load average (1/5/15 min): "
             f"{'/'.join(f'{x:.2f}' for x in machine['loadavg_start'])} before the run, "
             f"{'/'.join(f'{x:.2f}' for x in machine['loadavg_end'])} after (a 1-min load well "
             f"above 0 before the run means other processes competed for the cores)",
             f"- Python {env.get('python')}, numpy {env.get('numpy')}, scipy {env.get('scipy', '-')}, "
             f"torch {env.get('torch')}",
             f"- NumPy BLAS (build): {env.get('numpy_blas')}"]
    rt = env.get("openblas_runtime")
    if rt:
        lines.append(f"- OpenBLAS at run time: core `{rt.get('corename')}`, config "
                     f"`{rt.get('config')}`")
    if env.get("threadpoolctl"):
        lines.append("- threadpoolctl: " + "; ".join(
            f"{p['internal_api']} {p['version']} ({p['user_api']}, {p['architecture']})"
            for p in env["threadpoolctl"]))
    if env.get("torch_parallel"):
        lines.append("- torch: " + "; ".join(env["torch_parallel"]))
    lines += ["- Threads: each thread count runs in a fresh subprocess with "
              "OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = n set before numpy "
              "and torch are imported, and torch.set_num_threads(n). Checked at run time: "
              + ", ".join(f"{r['threads']} thr -> OpenBLAS "
                          f"{(r['env_info'].get('openblas_runtime') or {}).get('num_threads', '?')}, "
                          f"torch {r['env_info']['torch_threads']}" for r in results) + ".", "",
              "## Method", "",
              "One step = forward, loss gradient, backward, parameter gradients, SGD update "
              "(lr 0.01). Per workload and dtype, every contender is warmed up twice, then the "
              "three are timed in turn (unrolled, torch, floor, unrolled, ...) for the number "
              "of repeats below; a sample loops over the step until it lasts at least "
              f"{MIN_SAMPLE_S * 1e3:.0f} ms. Times are the **median ms per step**; `IQR %` is "
              "the largest interquartile range of the three contenders' samples, in % of the "
              "median (a noise indicator); `other load` is the average number of cores that "
              "other processes (and hypervisor steal) used while the row was timed, from "
              "/proc/stat minus this process's CPU time: above ~0.1 the row is contended. "
              "`floor` is the NumPy GEMM floor (exactly the matrix products of the fused "
              "unrolled step, nothing else). Peak memory: tracemalloc around one unrolled step "
              "after two warm-up steps (measured once, in the first thread count's process). "
              "`targets`: see bench/README.md (`ok`, or the targets missed).", ""]
    spec_lines = []
    for name in selected:
        spec_lines.append(f"- `{name}`: {describe(WORKLOADS[name])}")
    lines += ["Workloads:", ""] + spec_lines + [""]
    for res in results:
        runs = res["runs"]
        reps = sorted({r["repeats"] for r in runs})
        lines += [f"## {res['threads']} thread(s)", "",
                  f"Repeats per contender: {', '.join(map(str, reps))}.", "",
                  md_table(HEADER, rows_for(runs, memory)), ""]
        errs = [(r["workload"], r["dtype"], c, e) for r in runs for c, e in r["errors"].items()]
        if errs:
            lines += ["Errors:", ""] + [f"- {w} {d} {c}: `{e}`" for w, d, c, e in errs] + [""]
    if memory:
        order = [(r["workload"], r["dtype"]) for r in results[0]["runs"]]
        lines += ["## Memory of one unrolled training step", "",
                  "`BPTT arrays`: what backpropagation through time must keep per cell (LSTM: "
                  "X, time-major X copy, gates (s,m,4u), C (s+1,m,u), act(C) (s,m,u), h (s+1,m,u); "
                  "GRU: X, copy, gates (s,m,3u), h (s+1,m,u), hn (s,m,u); RNN: X, copy, "
                  "pre-activations (s,m,u), h (s+1,m,u); MLP: X, relu output). `needed` adds "
                  "parameters, their gradients, the one-hot targets and the softmax output. "
                  "`live fc/bc/g/p`: distinct buffers behind the arrays in the layers' dicts after "
                  "the step. `step transient`: traced peak minus what was live just before the "
                  "step. `peak`: the traced peak during the step (everything alive: input, caches, "
                  "parameters, gradients, temporaries).", "",
                  md_table(MEM_HEADER, memory_rows(memory, order)), ""]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="only the S and M workloads (and MLP), fewer repeats")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                   choices=["float64", "float32"])
    p.add_argument("--only", nargs="+", metavar="WORKLOAD",
                   help=f"workloads to run, among {', '.join(WORKLOADS)}")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed samples per contender (default by size: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_REPEATS.items())
                        + "; --quick: " + ", ".join(f"{k} {v}" for k, v in QUICK_REPEATS.items()
                                                   if k != "L") + ")")
    p.add_argument("--markdown", metavar="PATH", help="write the results as Markdown (bench/RESULTS.md)")
    p.add_argument("--json", metavar="PATH", help="write every sample and measurement as JSON")
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc measurement")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                   help="before each row, wait up to SECONDS for other processes to use "
                        "< 0.25 cores (for shared machines; default 0: do not wait)")
    # internal: one worker per thread count
    p.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    p.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.only:
        unknown = [w for w in args.only if w not in WORKLOADS]
        if unknown:
            p.error(f"unknown workload(s) {unknown}; choose among {list(WORKLOADS)}")
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be >= 1")
    if any(n < 1 for n in args.threads):
        p.error("--threads must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker_threads is not None:
        worker(args)
        return 0
    if args.only:
        selected = [w for w in WORKLOADS if w in args.only]
    else:
        selected = [w for w, spec in WORKLOADS.items() if not (args.quick and spec["size"] == "L")]
    t0 = time.perf_counter()
    machine = machine_info()
    machine["loadavg_start"] = os.getloadavg()
    if machine["loadavg_start"][0] > 0.5:
        print(f"warning: load average {machine['loadavg_start'][0]:.2f} before the run: other "
              f"processes share the CPU and will inflate and scatter the timings", flush=True)
    print(f"unrolled bench: {machine['cpu']}, {machine['cores_usable']} usable cores; "
          f"workloads {', '.join(selected)}; dtypes {', '.join(args.dtypes)}; "
          f"threads {', '.join(map(str, args.threads))}", flush=True)
    results = run_workers(args, selected)
    elapsed = time.perf_counter() - t0
    machine["loadavg_end"] = os.getloadavg()
    memory = {}
    for res in results:
        for run in res["runs"]:
            if "memory" in run:
                memory[(run["workload"], run["dtype"])] = run["memory"]
    for res in results:
        print(f"\n== {res['threads']} thread(s)  (median ms per training step)")
        print(text_table(HEADER, rows_for(res["runs"], memory)))
        for run in res["runs"]:
            for c, e in run["errors"].items():
                print(f"   error: {run['workload']} {run['dtype']} {c}: {e}")
            if "memory_error" in run:
                print(f"   memory error: {run['workload']} {run['dtype']}: {run['memory_error']}")
    if memory and results:
        print("\n== memory of one unrolled training step (MiB)")
        print(text_table(MEM_HEADER, memory_rows(memory, [(r["workload"], r["dtype"])
                                                          for r in results[0]["runs"]])))
    print(f"\ntotal time {elapsed:.1f} s; load average (1 min) {machine['loadavg_start'][0]:.2f} "
          f"before, {machine['loadavg_end'][0]:.2f} after")
    if args.markdown:
        write_markdown(args.markdown, args, selected, machine, results, memory, elapsed)
        print(f"wrote {args.markdown}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "argv": sys.argv,
                                               "elapsed_s": elapsed, "results": results}, indent=1))
        print(f"wrote {args.json}")
    return 0 if len(results) == len(args.threads) else 1


if __name__ == "__main__":
    sys.exit(main())
