"""One CNN training step: unrolled vs PyTorch (CPU, float32 and float64) vs EpyNN 1.2.13.

The network (issue 18): input (m=64, 28, 28, 1), Conv2D(32, 3x3, relu), MaxPooling2D(2),
Conv2D(64, 3x3, relu), MaxPooling2D(2), Flatten, Dense(10, softmax), categorical cross-entropy,
plain SGD. One step = forward, loss gradient, backward, parameter gradients, update.

    python bench/cnn.py                    # 1 thread, 15 interleaved rounds, EpyNN if importable
    python bench/cnn.py --repeats 25 --no-epynn
    PYTHONPATH=/path/to/epynn python bench/cnn.py   # pip install --no-deps epynn==1.2.13

Every contender runs in this one process with one thread (OMP/OPENBLAS/MKL_NUM_THREADS and
torch.set_num_threads set before the libraries load); rounds are interleaved (each round times
one step of every contender in turn) so that a change of machine load hits all of them alike.
Memory: tracemalloc peak of one unrolled step (NumPy reports its buffers to tracemalloc) against
the arrays the step must hold (see ``needed_bytes``). Results: bench/README.md.
"""
import argparse
import os
import sys
import time
import tracemalloc

THREADS = os.environ.get("BENCH_THREADS", "1")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = THREADS

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from unrolled.framework import Model  # noqa: E402
from unrolled.framework.optimizers import SGD  # noqa: E402
from unrolled.layers import Conv2D, Dense, Flatten, MaxPooling2D  # noqa: E402

M, H, W, C, CLASSES, LR = 64, 28, 28, 1, 10, 0.01


def data(dtype):
    rng = np.random.default_rng(0)
    X = rng.random((M, H, W, C)).astype(dtype)          # pixel-like values in [0, 1)
    Y = np.eye(CLASSES, dtype=dtype)[rng.integers(0, CLASSES, M)]
    return X, Y


# ---------------------------------------------------------------------------------------- unrolled
def unrolled_model(dtype):
    return Model([Conv2D(32, 3, activation="relu"), MaxPooling2D(2),
                  Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(),
                  Dense(CLASSES, activation="softmax")],
                 loss="cce", optimizer=SGD(lr=LR), dtype=dtype, seed=0)


def unrolled_step(dtype):
    model = unrolled_model(dtype)
    X, Y = data(dtype)
    model.train_step(X, Y)              # builds the layers
    return lambda: model.train_step(X, Y)


def needed_bytes(dtype):
    """What one step must hold at its fullest: the input and targets, every layer's output (the
    next layer's input, read again by backward), the parameters and their gradients, and the two
    largest gradient arrays alive together in backward (dL/dA of the first convolution and its
    dL/dZ). Private caches (im2col windows, pre-activations kept beside relu outputs, argmax
    indices) and temporaries are what the measured peak adds on top."""
    conv1 = M * 26 * 26 * 32
    outputs = conv1 + M * 13 * 13 * 32 + M * 11 * 11 * 64 + M * 5 * 5 * 64 + M * CLASSES
    params = (9 * 32 + 32) + (9 * 32 * 64 + 64) + (5 * 5 * 64 * CLASSES + CLASSES)
    entries = M * H * W * C + M * CLASSES + outputs + 2 * params + 2 * conv1
    return entries * np.dtype(dtype).itemsize


def unrolled_peak(dtype):
    """tracemalloc peak of one step, everything the step touches included (model, data, caches)."""
    tracemalloc.start()
    step = unrolled_step(dtype)
    step()
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# ---------------------------------------------------------------------------------------- torch
def torch_step(dtype):
    import torch
    from torch import nn
    torch.set_num_threads(int(THREADS))
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(C, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5 * 5 * 64, CLASSES)
                        ).to(tdtype)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    X, Y = data(dtype)
    x = torch.from_numpy(np.moveaxis(X, -1, 1).copy())     # channels first; no grad on the input
    y = torch.from_numpy(Y.argmax(axis=1))

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    step()
    return step


# ---------------------------------------------------------------------------------------- EpyNN
def epynn_step():
    """EpyNN 1.2.13's own layers, driven as its model does (forward, CCE derivative, then
    backward, compute_gradients and update_parameters layer by layer); float64 only. None when
    epynn is not importable."""
    try:
        from epynn.commons.loss import CCE
        from epynn.commons.maths import softmax
        from epynn.convolution.models import Convolution
        from epynn.dense.models import Dense as EDense
        from epynn.flatten.models import Flatten as EFlatten
        from epynn.pooling.models import Pooling
        from epynn.settings import se_hPars
    except ImportError:
        return None
    layers = [Convolution(32, (3, 3), strides=(1, 1)), Pooling((2, 2)),   # a tuple: EpyNN ignores
              Convolution(64, (3, 3), strides=(1, 1)), Pooling((2, 2)),   # an int stride
              EFlatten(), EDense(CLASSES, activate=softmax)]
    X, Y = data(np.float64)
    A = X
    for i, layer in enumerate(layers):
        layer.se_hPars = dict(se_hPars)
        layer.lrate, layer.e = [LR / M], 0      # EpyNN sums gradients over the batch
        layer.np_rng = np.random.default_rng(i)
        layer.compute_shapes(A)
        layer.initialize_parameters()
        A = layer.forward(A)

    def step():
        A = X
        for layer in layers:
            A = layer.forward(A)
        dA = CCE(Y, A, deriv=True)
        for layer in reversed(layers):
            dA = layer.backward(dA)
            layer.compute_gradients()
            layer.update_parameters()
    step()
    return step


# ---------------------------------------------------------------------------------------- timing
def interleaved(contenders, repeats):
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, step in contenders.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--epynn-repeats", type=int, default=3,
                        help="EpyNN steps timed (it is slow; 0 skips it)")
    parser.add_argument("--no-epynn", action="store_true")
    args = parser.parse_args()

    contenders = {"unrolled float64": unrolled_step(np.float64),
                  "unrolled float32": unrolled_step(np.float32)}
    try:
        contenders["torch float64"] = torch_step(np.float64)
        contenders["torch float32"] = torch_step(np.float32)
    except ImportError:
        print("torch not installed: unrolled only")
    times = interleaved(contenders, args.repeats)
    epynn = None if args.no_epynn or not args.epynn_repeats else epynn_step()
    if epynn is not None:            # a few EpyNN steps, each between two unrolled float64 steps
        pair = interleaved({"EpyNN float64": epynn, "unrolled float64": contenders["unrolled float64"]},
                           args.epynn_repeats)
        times["EpyNN float64"] = pair["EpyNN float64"]
        times["unrolled f64 (paired)"] = pair["unrolled float64"]   # the steps beside EpyNN's
    elif not args.no_epynn:
        print("epynn not importable (pip install --no-deps epynn==1.2.13): EpyNN skipped")

    try:
        from threadpoolctl import threadpool_info
        blas = {p["internal_api"]: p["num_threads"] for p in threadpool_info()}
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"threads: {THREADS} (BLAS pools {blas}); m={M}, {H}x{W}x{C}; repeats {args.repeats}")
    print(f"{'contender':<22} {'median ms':>10} {'min ms':>8}")
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    low = {k: float(np.min(v)) * 1e3 for k, v in times.items()}
    for name in times:
        print(f"{name:<22} {med[name]:>10.2f} {low[name]:>8.2f}")
    print("\nratios (median; min in brackets), target in the last column")
    rows = [("unrolled f64 / torch f64", "unrolled float64", "torch float64", "<= 1.5"),
            ("unrolled f32 / torch f32", "unrolled float32", "torch float32", "<= 2"),
            ("EpyNN f64 / unrolled f64", "EpyNN float64", "unrolled f64 (paired)", ">= 5")]
    for label, a, b, target in rows:
        if a in med and b in med:
            print(f"{label:<26} {med[a] / med[b]:>7.2f} ({low[a] / low[b]:.2f})   {target}")
    for dtype in (np.float64, np.float32):
        peak, need = unrolled_peak(dtype), needed_bytes(dtype)
        print(f"memory {np.dtype(dtype).name}: peak {peak / 2**20:.1f} MiB, needed "
              f"{need / 2**20:.1f} MiB, peak/needed {peak / need:.2f}   <= 2")


if __name__ == "__main__":
    main()
