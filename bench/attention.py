"""One training step of an encoder-decoder with attention: unrolled vs the same model in PyTorch.

The model is ``Seq2Seq(GRU(u), GRU(u, sequences=True), Dense(vocab, softmax),
attention=Attention(score))`` with teacher forcing (docs/seq2seq.md, "With attention"): the GRU
encoder reads ``X (m, s_in, e)``, its final state starts the GRU decoder, which reads the
previous target as a one-hot vector; each decoder state attends over every encoder state and the
output layer reads ``[context, decoder state]``; mean cross-entropy over the ``m * s_out`` tokens;
plain SGD. The PyTorch model is the same network written with ``nn.GRU``, ``torch.bmm``,
``softmax`` and ``nn.Linear`` (the GRUs and the output layer converted by
``unrolled.interop.to_torch``, the attention's parameters copied), and one step is ``zero_grad``,
forward (one-hot decoder inputs built inside the step, as unrolled does), loss, ``backward``,
``step``. Before timing, both compute the loss and every parameter gradient at the same
parameters, and the script stops if they differ (float64: 1e-9 relative).

The two are timed in turn, round after round (unrolled, torch, unrolled, ...), in one process,
so drifts of a shared machine hit both alike; a sample loops over the step until it lasts at
least 25 ms; the reported value is the median per-step time and the ratio unrolled/torch.

Run from the repository root (results: bench/README.md, "Attention decoder"):

    python bench/attention.py                          # both sizes, three scores, both dtypes
    python bench/attention.py --only dates --scores additive --dtypes float64 --rounds 15
    python bench/attention.py --threads 2

``--threads N`` (default 1) sets OMP/OPENBLAS/MKL_NUM_THREADS before numpy and torch are
imported and calls ``torch.set_num_threads(N)``.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

#: name -> (m batch, s_in source steps, e input width, s_out target steps, vocab, u units)
WORKLOADS = {
    "dates": dict(m=128, s_in=29, e=16, s_out=10, vocab=12, u=64),   # the example's sizes
    "M": dict(m=64, s_in=50, e=32, s_out=20, vocab=32, u=128),
}
SCORES = ("dot", "general", "additive")
LR = 0.01


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--scores", nargs="+", choices=SCORES, default=list(SCORES))
    parser.add_argument("--dtypes", nargs="+", choices=["float64", "float32"],
                        default=["float64", "float32"])
    parser.add_argument("--rounds", type=int, default=11, help="timed samples per contender")
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args(argv)


def build(spec, score, dtype, np, torch):
    """The unrolled model, its torch twin with the same parameters, and data."""
    from unrolled.framework import SGD, Seq2Seq
    from unrolled.interop import to_torch
    from unrolled.layers import GRU, Attention, Dense

    m, s_in, e, s_out, V, u = (spec[k] for k in ("m", "s_in", "e", "s_out", "vocab", "u"))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, s_in, e)).astype(dtype)
    Y = rng.integers(1, V, (m, s_out))
    model = Seq2Seq(GRU(u), GRU(u, sequences=True), Dense(V, activation="softmax"),
                    attention=Attention(score), optimizer=SGD(lr=LR), dtype=dtype, seed=0)
    model.build(X, Y)

    tdtype = getattr(torch, dtype)
    nn, F = torch.nn, torch.nn.functional

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = to_torch(model.encoder), to_torch(model.decoder)
            out = to_torch(model.output)
            self.out = out[0] if isinstance(out, nn.Sequential) else out   # logits: no softmax
            self.att = nn.ParameterDict({k: nn.Parameter(torch.tensor(v))
                                         for k, v in model.attention.p.items()})

        def forward(self, Xt, Yt):
            E, hT = self.enc(Xt)
            prev = torch.cat([torch.zeros_like(Yt[:, :1]), Yt[:, :-1]], dim=1)   # start id 0
            H, _ = self.dec(F.one_hot(prev, V).to(tdtype), hT)
            if score == "dot":
                S = H @ E.transpose(1, 2)
            elif score == "general":
                S = (H @ self.att["W"]) @ E.transpose(1, 2)
            else:
                T = torch.tanh((H @ self.att["Wq"])[:, :, None] +
                               (E @ self.att["Wk"] + self.att["b"])[:, None])
                S = (T @ self.att["v"])[..., 0]
            C = torch.softmax(S, dim=-1) @ E
            logits = self.out(torch.cat([C, H], dim=-1))
            return F.cross_entropy(logits.reshape(-1, V), Yt.reshape(-1))

    twin = Twin()
    opt = torch.optim.SGD(twin.parameters(), lr=LR)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def torch_step():
        opt.zero_grad()
        loss = twin(Xt, Yt)
        loss.backward()
        opt.step()
        return loss

    return model, twin, (lambda: model.train_step(X, Y)), torch_step, (X, Y, Xt, Yt)


def check_same(model, twin, data, dtype, np):
    """The loss and every parameter gradient agree before any step (the same model)."""
    X, Y, Xt, Yt = data
    loss, _ = model.compute_loss_and_gradients(X, Y)
    twin.zero_grad()
    tloss = twin(Xt, Yt)
    tloss.backward()
    tol = 1e-9 if dtype == "float64" else 1e-4
    pairs = [(model.attention.g["d" + k], twin.att[k].grad) for k in model.attention.p]
    pairs += [(model.output.g["dW"], twin.out.weight.grad.T),
              (model.encoder.g["dU"], twin.enc.weight_ih_l0.grad.T),
              (model.decoder.g["dV"], twin.dec.weight_hh_l0.grad.T)]
    worst = abs(loss - float(tloss.detach())) / abs(loss)
    for ours, theirs in pairs:
        theirs = theirs.detach().numpy()
        worst = max(worst, float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))))
    if worst > tol:
        raise SystemExit(f"the two models differ: worst relative difference {worst:.2e}")
    return worst


def per_step(step, target=0.025):
    """Seconds per step, looping until a sample lasts ``target`` seconds."""
    n, start = 0, time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= target:
            return elapsed / n


def main(argv=None):
    args = parse(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)

    print(f"threads {args.threads}; numpy {np.__version__}, torch {torch.__version__}; "
          f"{args.rounds} interleaved rounds; median ms per training step")
    print(f"{'workload':<10}{'score':<10}{'dtype':<9}{'unrolled ms':>12}{'torch ms':>10}"
          f"{'unrolled/torch':>16}{'check':>10}")
    for name in args.only:
        spec = WORKLOADS[name]
        for score in args.scores:
            for dtype in args.dtypes:
                model, twin, ours, theirs, data = build(spec, score, dtype, np, torch)
                worst = check_same(model, twin, data, dtype, np)
                for step in (ours, theirs, ours, theirs):     # warm up
                    step()
                times = {"unrolled": [], "torch": []}
                for _ in range(args.rounds):
                    times["unrolled"].append(per_step(ours))
                    times["torch"].append(per_step(theirs))
                a, b = (1e3 * float(np.median(times[k])) for k in ("unrolled", "torch"))
                print(f"{name:<10}{score:<10}{dtype:<9}{a:>12.2f}{b:>10.2f}{a / b:>16.2f}"
                      f"{worst:>10.0e}", flush=True)


if __name__ == "__main__":
    main()
