#!/usr/bin/env python
"""Training-step benchmark of a Transformer encoder block: unrolled vs PyTorch (CPU).

Usage (from the repository root)::

    python bench/transformer.py [--threads 1] [--rounds 15] [--m 32 --s 32 --e 64 --heads 4]
                                [--causal]

The network: a pre-norm encoder block and a per-step softmax head,

    Residual(Sequential([LayerNormalization(), MultiHeadAttention(heads, e // heads)]))
    Residual(Sequential([LayerNormalization(), Dense(4 e, relu), Dense(e)]))
    Dense(10, softmax)                  integer labels (m, s), mean cross-entropy, SGD lr 0.01

and in PyTorch the same modules: ``nn.LayerNorm``, ``nn.MultiheadAttention(batch_first=True)``
called with ``need_weights=False`` (its fastest path, the one ``nn.TransformerEncoderLayer``
uses), ``nn.Linear``, ``F.cross_entropy``, ``torch.optim.SGD``. One step is forward, loss,
backward, parameter gradients and the update (torch: ``zero_grad`` first; unrolled:
``Model.train_step``, which also checks finiteness). The input needs no gradient in either.

Timing: float64 and float32, each contender in turn within every round (interleaved, so a
change of machine load hits all of them), a timed sample loops over the step until it lasts at
least 25 ms; the table gives medians and the ratio unrolled / torch of the medians. Thread counts
are set in the environment before numpy and torch are imported. Numbers: bench/README.md.
"""
import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIN_SAMPLE_S = 0.025
N_CLASSES = 10


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--s", type=int, default=32)
    parser.add_argument("--e", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--causal", action="store_true")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    return parser.parse_args(argv)


def build_unrolled(args, dtype, X, labels):
    from unrolled.framework import SGD, Model
    from unrolled.layers import (Dense, LayerNormalization, MultiHeadAttention, Residual,
                                 Sequential)
    e = args.e
    model = Model([Residual(Sequential([LayerNormalization(),
                                        MultiHeadAttention(args.heads, e // args.heads,
                                                           causal=args.causal)])),
                   Residual(Sequential([LayerNormalization(), Dense(4 * e, activation="relu"),
                                        Dense(e)])),
                   Dense(N_CLASSES, activation="softmax")],
                  loss="scce", optimizer=SGD(lr=0.01), dtype=dtype, seed=0)
    model.build(X)

    def step():
        model.train_step(X, labels)
    return model, step


def build_torch(args, dtype, X, labels, model):
    """The same block in torch, starting from the unrolled model's weights."""
    import numpy as np
    import torch
    from torch import nn
    tdtype = getattr(torch, dtype)
    e, h = args.e, args.heads

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(e, dtype=tdtype), nn.LayerNorm(e, dtype=tdtype)
            self.att = nn.MultiheadAttention(e, h, batch_first=True, dtype=tdtype)
            self.ff1, self.ff2 = nn.Linear(e, 4 * e, dtype=tdtype), nn.Linear(4 * e, e, dtype=tdtype)
            self.head = nn.Linear(e, N_CLASSES, dtype=tdtype)
            self.mask = (torch.triu(torch.ones(args.s, args.s, dtype=torch.bool), 1)
                         if args.causal else None)

        def forward(self, x):
            y = self.ln1(x)
            x = x + self.att(y, y, y, need_weights=False, attn_mask=self.mask)[0]
            x = x + self.ff2(torch.relu(self.ff1(self.ln2(x))))
            return self.head(x)

    net = Block()
    att, ff = model.layers[0].branch.layers[1].p, model.layers[1].branch.layers
    with torch.no_grad():                      # the same starting point
        net.att.in_proj_weight.copy_(torch.from_numpy(
            np.concatenate([att["Wq"], att["Wk"], att["Wv"]], axis=1).T.copy()))
        net.att.out_proj.weight.copy_(torch.from_numpy(att["Wo"].T.copy()))
        net.ff1.weight.copy_(torch.from_numpy(ff[1].p["W"].T.copy()))
        net.ff2.weight.copy_(torch.from_numpy(ff[2].p["W"].T.copy()))
        net.head.weight.copy_(torch.from_numpy(model.layers[2].p["W"].T.copy()))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    Xt = torch.from_numpy(X)
    Yt = torch.from_numpy(labels.astype(np.int64)).reshape(-1)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(Xt).reshape(-1, N_CLASSES), Yt)
        loss.backward()
        opt.step()
    return step


def sample(fn):
    """Seconds per call, over a loop of calls lasting at least MIN_SAMPLE_S."""
    n, total = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        total = time.perf_counter() - start
        if total >= MIN_SAMPLE_S:
            return total / n
        n *= 2


def main(argv=None):
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    print(f"encoder block + Dense({N_CLASSES}, softmax): m={args.m} s={args.s} e={args.e} "
          f"heads={args.heads} ff={4 * args.e}{' causal' if args.causal else ''}; "
          f"{args.threads} thread(s), {args.rounds} rounds; numpy {np.__version__}, "
          f"torch {torch.__version__}")
    rng = np.random.default_rng(0)
    rows = []
    for dtype in args.dtypes:
        X = rng.standard_normal((args.m, args.s, args.e)).astype(dtype)
        labels = rng.integers(0, N_CLASSES, size=(args.m, args.s))
        model, ours = build_unrolled(args, dtype, X, labels)
        theirs = build_torch(args, dtype, X, labels, model)
        contenders = {"unrolled": ours, "torch": theirs}
        for fn in contenders.values():          # warm up: caches, allocator, thread pools
            for _ in range(3):
                fn()
        times = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, fn in contenders.items():
                times[name].append(sample(fn))
        med = {name: float(np.median(t)) for name, t in times.items()}
        rows.append((dtype, med["unrolled"], med["torch"], med["unrolled"] / med["torch"]))
    print(f"\n{'dtype':<9}{'unrolled ms':>13}{'torch ms':>11}{'ratio':>8}")
    for dtype, ours_t, theirs_t, ratio in rows:
        print(f"{dtype:<9}{ours_t * 1e3:>13.2f}{theirs_t * 1e3:>11.2f}{ratio:>8.2f}")
    return rows


if __name__ == "__main__":
    main()
