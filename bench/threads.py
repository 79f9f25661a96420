"""How many BLAS threads a training step wants, by model size: the measurement behind
``unrolled.threads.TWO_THREADS_FROM``.

For a grid of models, one training step is timed with 1 and with 2 BLAS threads, alternating
(1, 2, 1, 2, ...) in one process so that both see the same machine; the fastest round of each is
kept (bursts from other processes only ever slow a round down). The table gives each model's
``work`` (batch rows x largest parameter: the multiply-adds of its largest per-step product, what
``unrolled.threads.step_work`` computes) and ``t1/t2``: above 1, two threads were faster.

    python bench/threads.py                  # about 2 minutes
    python bench/threads.py --rounds 15 --markdown bench/threads.md
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)   # measure the working tree

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from unrolled.framework import SGD, Model  # noqa: E402
from unrolled.layers import GRU, LSTM, RNN, Dense  # noqa: E402
from unrolled.threads import TWO_THREADS_FROM, step_work  # noqa: E402

KINDS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def grid():
    """(name, model, X, Y): recurrent many-to-one models from tiny to large, and MLPs."""
    rng = np.random.default_rng(0)
    for kind in ("RNN", "LSTM", "GRU"):
        for m, u in ((32, 16), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128), (128, 256)):
            s, e = 30, 16
            model = Model([KINDS[kind](u), Dense(10, activation="softmax")], loss="cce",
                          optimizer=SGD(lr=0.01), seed=0)
            X = rng.standard_normal((m, s, e))
            Y = np.eye(10)[rng.integers(0, 10, m)]
            yield f"{kind} m={m} u={u}", model, X, Y
    for m, e, u in ((32, 64, 64), (64, 256, 128), (256, 784, 256)):
        model = Model([Dense(u, activation="relu"), Dense(10, activation="softmax")], loss="cce",
                      optimizer=SGD(lr=0.01), seed=0)
        X = rng.standard_normal((m, e))
        Y = np.eye(10)[rng.integers(0, 10, m)]
        yield f"MLP m={m} {e}-{u}-10", model, X, Y


def step_ms(model, X, Y, threads, min_ms=30.0):
    """ms per training step at ``threads`` BLAS threads (loops until a sample lasts min_ms)."""
    with threadpool_limits(limits=threads, user_api="blas"):
        n, start = 0, time.perf_counter()
        while True:
            model.train_step(X, Y)
            n += 1
            elapsed = (time.perf_counter() - start) * 1e3
            if elapsed >= min_ms:
                return elapsed / n


def measure(rounds):
    rows = []
    for name, model, X, Y in grid():
        model.build(X)
        for threads in (1, 2, 1, 2):            # warm-up, both counts
            step_ms(model, X, Y, threads, min_ms=5)
        best = {1: np.inf, 2: np.inf}
        for _ in range(rounds):
            for threads in (1, 2):
                best[threads] = min(best[threads], step_ms(model, X, Y, threads))
        work = step_work(model, len(X))
        rows.append((name, work, best[1], best[2], best[1] / best[2]))
        print(f"{name:24s} work {work:>11,d}  1 thread {best[1]:8.3f} ms  "
              f"2 threads {best[2]:8.3f} ms  t1/t2 {best[1] / best[2]:.2f}", flush=True)
    return rows


def markdown(rows, rounds):
    lines = ["| model | work | 1 thread ms | 2 threads ms | t1/t2 | automatic choice |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, work, t1, t2, ratio in sorted(rows, key=lambda r: r[1]):
        choice = 2 if work >= TWO_THREADS_FROM else 1
        lines.append(f"| {name} | {work:,d} | {t1:.3f} | {t2:.3f} | {ratio:.2f} | {choice} |")
    load = os.getloadavg()
    return (f"Fastest of {rounds} alternated rounds; load average after the run "
            f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} on {os.cpu_count()} cores.\n\n"
            + "\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--markdown", help="write the table to this file")
    args = parser.parse_args(argv)
    rows = measure(args.rounds)
    text = markdown(rows, args.rounds)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
