"""load_model on hostile and on large valid files: time and peak memory of each.

Every crafted file of the table in tests/test_hostile_files.py (the same table the tests check
for the error message), the expensive-looking valid files of that module, and valid files of
about 10 MB (one stored, one with a non-finite value at its very end, one deflated), each loaded
in this process:

* time: the best of ``--repeats`` loads (``time.perf_counter``, tracing off);
* traced peak: the ``tracemalloc`` peak of one more load (Python and NumPy allocations made
  during the load; NumPy reports its array memory to tracemalloc);
* maxrss: this process's ``ru_maxrss`` growth over the whole run, printed at the end.

Run:  python bench/load.py [--repeats 3] [--markdown]       (from the repository root)
"""
import argparse
import importlib.util
import resource
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unrolled.framework.model import Model                  # noqa: E402
from unrolled.framework.optimizers import SGD                # noqa: E402
from unrolled.framework.serialization import load_model      # noqa: E402
from unrolled.layers import Dense                            # noqa: E402


def hostile_table():
    spec = importlib.util.spec_from_file_location("hostile", ROOT / "tests" / "test_hostile_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def large_files(folder):
    """About 10 MB of parameters: Dense(1100) on 1100 inputs (1.2 M float64)."""
    model = Model([Dense(1100, name="big")], optimizer=SGD(lr=0.1), seed=0)
    model.predict(np.zeros((1, 1100)))
    stored = folder / "valid-10MB.npz"
    model.save(stored)
    model["big"].p["W"][-1, -1] = np.nan
    nan_end = folder / "nan-at-end-10MB.npz"
    model.save(nan_end)
    deflated = folder / "valid-deflated.npz"
    with zipfile.ZipFile(stored) as zin, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    return {"valid-10MB": stored, "nan-at-end-10MB": nan_end, "valid-deflated": deflated}


def load(path):
    try:
        load_model(path)
        return "loaded"
    except ValueError:
        return "ValueError"


def measure(path, repeats):
    """(best time of ``repeats`` untraced loads, tracemalloc peak of one more load, outcome)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        outcome = load(path)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, outcome


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    hostile = hostile_table()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bases = hostile.write_bases(folder)
        files = {}
        for name, base, craft, _ in hostile.CASES:
            files[name] = folder / f"{name}.npz"
            craft(bases[base], files[name])
        for name, base, craft in hostile.CHEAP:
            files[name] = folder / f"{name}.npz"
            craft(bases[base], files[name])
        files.update(large_files(folder))
        for name, path in files.items():
            best, peak, outcome = measure(path, args.repeats)
            rows.append((name, path.stat().st_size, best, peak, outcome))
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    rows.sort(key=lambda r: -r[2])
    if args.markdown:
        print("| file | size (KB) | load (ms) | traced peak (MB) | outcome |")
        print("|---|---:|---:|---:|---|")
        for name, size, best, peak, outcome in rows:
            print(f"| {name} | {size / 1024:.1f} | {best * 1e3:.1f} | {peak / 2**20:.2f} | {outcome} |")
    else:
        print(f"{'file':28s} {'size KB':>9s} {'load ms':>9s} {'peak MB':>9s}  outcome")
        for name, size, best, peak, outcome in rows:
            print(f"{name:28s} {size / 1024:9.1f} {best * 1e3:9.1f} {peak / 2**20:9.2f}  {outcome}")
    worst_t, worst_m = max(r[2] for r in rows), max(r[3] for r in rows)
    print(f"\n{len(rows)} files: slowest {worst_t * 1e3:.0f} ms, largest traced peak "
          f"{worst_m / 2**20:.1f} MB, ru_maxrss growth over the run {rss:.0f} MB")


if __name__ == "__main__":
    main()
