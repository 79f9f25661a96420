"""Speed-up of the working tree over an earlier git revision, both timed in one process.

On a shared machine two separate benchmark runs can differ by 20% or more, which hides the effect
of a change. Here the unrolled package of REV is extracted (``git archive``) under another name,
both versions build the same model on the same data (the workloads of ``bench.py``), and their
training steps are timed in turn, round after round, so that drifts of the machine hit both alike.

Run from the repository root:

    python bench/compare.py c5ec034                         # LSTM-S, LSTM-M, GRU-M, RNN-M
    python bench/compare.py HEAD~3 --only GRU-L --dtypes float64 --rounds 9
    python bench/compare.py c5ec034 --stat min     # the fastest round of each, not the median
    python bench/compare.py c5ec034 --memory       # also the peak memory of training, each version

Set the BLAS threads in the environment (OPENBLAS_NUM_THREADS=1 ...) as for bench.py.
"""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import bench  # noqa: E402  (bench/bench.py: the workloads and their data)


def import_revision(rev, workdir):
    """The unrolled package at ``rev``, imported as ``unrolled_at_rev`` (its imports are relative)."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "unrolled"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", workdir], input=archive, check=True)
    os.rename(os.path.join(workdir, "unrolled"), os.path.join(workdir, "unrolled_at_rev"))
    sys.path.insert(0, workdir)
    return (importlib.import_module("unrolled_at_rev.framework"),
            importlib.import_module("unrolled_at_rev.layers"))


def build_step(framework, layers, spec, dtype, X, Y):
    if spec["kind"] == "MLP":
        stack = [layers.Dense(spec["hidden"], activation="relu"),
                 layers.Dense(bench.N_CLASSES, activation="softmax")]
    else:
        cell = getattr(layers, spec["kind"])
        stack = [cell(spec["u"], sequences=spec["sequences"]),
                 layers.Dense(bench.N_CLASSES, activation="softmax")]
    model = framework.Model(stack, loss="cce", optimizer=framework.SGD(lr=bench.LR), dtype=dtype,
                            seed=0)
    return lambda: model.train_step(X, Y)


def compare(name, dtype, old, new, rounds, stat="median"):
    spec = bench.WORKLOADS[name]
    X, Y, _ = bench.make_data(spec, dtype, np)
    steps = {"rev": build_step(*old, spec, dtype, X, Y), "tree": build_step(*new, spec, dtype, X, Y)}
    for step in steps.values():          # warm-up: caches allocated, BLAS started
        step()
        step()
    start = time.perf_counter()
    steps["rev"]()
    loops = max(1, int(bench.MIN_SAMPLE_S / max(time.perf_counter() - start, 1e-6)))
    samples = {key: [] for key in steps}
    for _ in range(rounds):
        for key, step in steps.items():
            start = time.perf_counter()
            for _ in range(loops):
                step()
            samples[key].append((time.perf_counter() - start) / loops * 1e3)
    pick = min if stat == "min" else (lambda v: sorted(v)[len(v) // 2])
    return pick(samples["rev"]), pick(samples["tree"])


def peak_mib(step):
    """tracemalloc peak over three training steps of a model built but never run: the caches a
    step keeps plus its temporaries, in MiB (the data and parameters were allocated before)."""
    import tracemalloc
    tracemalloc.start()
    try:
        for _ in range(3):
            step()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def compare_memory(name, dtype, old, new):
    spec = bench.WORKLOADS[name]
    X, Y, _ = bench.make_data(spec, dtype, np)
    return (peak_mib(build_step(*old, spec, dtype, X, Y)),       # fresh models: their first
            peak_mib(build_step(*new, spec, dtype, X, Y)))       # steps allocate the caches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rev", help="git revision to compare the working tree with")
    parser.add_argument("--only", nargs="+", default=["LSTM-S", "LSTM-M", "GRU-M", "RNN-M"],
                        choices=sorted(bench.WORKLOADS), metavar="WORKLOAD")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--stat", choices=["median", "min"], default="median",
                        help="per-version statistic of the rounds; min is the more robust to bursts "
                             "of other load or hypervisor steal on a shared machine")
    parser.add_argument("--memory", action="store_true",
                        help="also the tracemalloc peak of one training step of each version")
    args = parser.parse_args(argv)
    new = (importlib.import_module("unrolled.framework"), importlib.import_module("unrolled.layers"))
    with tempfile.TemporaryDirectory() as workdir:
        old = import_revision(args.rev, workdir)
        print(f"{args.stat} ms per training step, {args.rounds} alternating rounds; "
              f"{args.rev} vs the working tree")
        for name in args.only:
            for dtype in args.dtypes:
                t_rev, t_tree = compare(name, dtype, old, new, args.rounds, args.stat)
                line = (f"{name:<11} {dtype:<8} {args.rev}: {t_rev:9.3f}   tree: {t_tree:9.3f}   "
                        f"speed-up {t_rev / t_tree:.2f}x")
                if args.memory:
                    m_rev, m_tree = compare_memory(name, dtype, old, new)
                    line += f"   peak MiB {m_rev:.2f} vs {m_tree:.2f} ({m_tree / m_rev:.2f}x)"
                print(line, flush=True)


if __name__ == "__main__":
    main()
