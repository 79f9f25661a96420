"""The measured choices in the package's hot loops, reproducible:

1. sigmoid as 0.5 tanh(z/2) + 0.5 in place, against scipy.special.expit (activations.Sigmoid);
2. the recurrent product with NumPy's matmul, against SciPy's BLAS gemm with beta = 1
   (recurrent.Recurrent.add_recurrent_product), with 1 and 2 BLAS threads;
3. the four LSTM gate activations of a step as one tanh on the whole (m, 4u) block
   (recurrent.GateActivations), against one call per gate group on column blocks;
4. dz_t V^T through the transposed view of V against a contiguous copy of V^T (bc["_VT"]);
5. the LSTM backward loop: every elementwise step inside the loop (about 25 NumPy calls a step)
   against the step-independent factors computed for all steps first (6 elementwise calls a step);
6. those factors prepared a chunk of steps at a time (Recurrent.chunk_bytes, 512 KiB) against all
   steps at once, on the real LSTM layer at the L size;
7. with 2 cores, the samples of a batch split between two Python threads (the rows of a batch are
   independent sequences, so each thread could run the whole step loop on its half, BLAS on one
   thread each) against one loop over the whole batch with 2 BLAS threads; not adopted;
8. a training step with lean=True (backward writes the gradients over the gate caches) against the
   default, LSTM and GRU at M;
9. ufuncs on the column blocks of fused gate rows (z[:, :2u]) against contiguous scratch and a copy
   back (GRU.forward_steps), a row broadcast over m rows against the row repeated
   (GateActivations.rows_of), and the LSTM backward's two gate-block multiplies against one
   multiplier row built by copies;
10. the elementwise work of each step split by rows between the main thread and a waiting worker
   thread (NumPy releases the interpreter lock inside a ufunc) against all of it on the main
   thread, on a synthetic LSTM forward loop, with 1 and 2 BLAS threads; not adopted;
11. the bias of the input projection and its gradient through a column of ones next to the
   time-major input, [X 1] [U; b] and [X 1]^T dZ = [dU; db] (Recurrent.forward, input_gradients),
   against X U followed by Z += b, and X^T dZ followed by the sum of dZ.

Run:  python bench/micro.py     (each thread count runs in its own subprocess)
"""
import os
import subprocess
import sys
import timeit


def sigmoid_case():
    import numpy as np
    from scipy.special import expit
    for dtype in (np.float64, np.float32):
        Z = np.random.default_rng(0).uniform(-3, 3, (64, 512)).astype(dtype)
        block = Z[:, :256]                       # a (64, 256) gate block of a fused row

        def with_expit():
            expit(block, out=block)

        def with_tanh():
            np.multiply(block, 0.5, out=block)
            np.tanh(block, out=block)
            np.multiply(block, 0.5, out=block)
            np.add(block, 0.5, out=block)
        times = {}
        for f in (with_expit, with_tanh):
            times[f.__name__] = min(timeit.repeat(f, number=200, repeat=7)) / 200 * 1e6
        print(f"sigmoid {np.dtype(dtype).name}: expit {times['with_expit']:.1f} us, "
              f"tanh form {times['with_tanh']:.1f} us, ratio {times['with_expit'] / times['with_tanh']:.2f}")


def product_case(threads):
    import numpy as np
    from scipy.linalg import blas
    rng = np.random.default_rng(0)
    m, u, s = 64, 128, 50
    Z = rng.standard_normal((s, m, 4 * u))
    h, V = rng.standard_normal((m, u)), rng.standard_normal((u, 4 * u))
    W = rng.standard_normal((4 * u, u))
    scratch, d = np.empty((m, 4 * u)), np.empty((m, u))

    def scipy_gemm():            # what a training step does: the recurrent product, then
        for t in range(s):       # NumPy work on the same arrays (here another product)
            blas.dgemm(1.0, V.T, h.T, beta=1.0, c=Z[t].T, overwrite_c=1)
            np.matmul(Z[t], W, out=d)

    def numpy_matmul():
        for t in range(s):
            Z[t] += np.matmul(h, V, out=scratch)
            np.matmul(Z[t], W, out=d)
    times = {f.__name__: min(timeit.repeat(f, number=3, repeat=5)) / 3 * 1e3
             for f in (scipy_gemm, numpy_matmul)}
    print(f"recurrent product, {threads} thread(s), 50 steps: SciPy gemm {times['scipy_gemm']:.1f} ms, "
          f"NumPy matmul + add {times['numpy_matmul']:.1f} ms")


def _best_ms(f, number, repeat=7):
    return min(timeit.repeat(f, number=number, repeat=repeat)) / number * 1e3


def gate_block_case():
    import numpy as np
    m, u = 64, 128
    for dtype in (np.float64, np.float32):
        Z = np.random.default_rng(0).uniform(-3, 3, (m, 4 * u)).astype(dtype)
        work = np.empty_like(Z)
        alpha = np.repeat(np.array([0.5, 0.5, 1.0, 0.5]), u).astype(dtype)
        beta = np.repeat(np.array([0.5, 0.5, 0.0, 0.5]), u).astype(dtype)

        def sigmoid(block):
            np.multiply(block, 0.5, out=block)
            np.tanh(block, out=block)
            np.multiply(block, 0.5, out=block)
            np.add(block, 0.5, out=block)

        def per_group():         # i and f share a call, then g, then o
            np.copyto(work, Z)
            sigmoid(work[:, :2 * u])
            np.tanh(work[:, 2 * u:3 * u], out=work[:, 2 * u:3 * u])
            sigmoid(work[:, 3 * u:])

        def one_tanh():
            np.copyto(work, Z)
            np.multiply(work, alpha, out=work)
            np.tanh(work, out=work)
            np.multiply(work, alpha, out=work)
            np.add(work, beta, out=work)
        times = {f.__name__: _best_ms(f, 500) * 1e3 for f in (per_group, one_tanh)}
        print(f"LSTM gate activations (64, 512) {np.dtype(dtype).name}: per group "
              f"{times['per_group']:.1f} us, one tanh {times['one_tanh']:.1f} us "
              f"(both include a 1-pass copy)")


def transpose_case():
    import numpy as np
    m, u, s = 64, 128, 50
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        dZ, V = rng.standard_normal((s, m, 4 * u)).astype(dtype), rng.standard_normal((u, 4 * u)).astype(dtype)
        out = np.empty((m, u), dtype=dtype)

        def view():
            for t in range(s):
                np.matmul(dZ[t], V.T, out=out)

        def copy():
            VT = np.ascontiguousarray(V.T)
            for t in range(s):
                np.matmul(dZ[t], VT, out=out)
        times = {f.__name__: _best_ms(f, 10) for f in (view, copy)}
        print(f"dz V^T over 50 steps {np.dtype(dtype).name}: transposed view {times['view']:.2f} ms, "
              f"contiguous copy {times['copy']:.2f} ms")


def lstm_backward_case():
    """Only the elementwise work of the LSTM backward (the per-step products are left out)."""
    import numpy as np
    m, u, s = 64, 128, 50
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        G = rng.uniform(0.05, 0.95, (s, m, 4 * u)).astype(dtype)
        Ct = rng.standard_normal((s + 1, m, u)).astype(dtype)
        tCt = np.tanh(Ct[1:])
        dh_in = rng.standard_normal((m, u)).astype(dtype) * 0.1
        dZ, dC_all = np.empty_like(G), np.empty((s, m, u), dtype=dtype)
        alpha = np.repeat(np.array([0.5, 0.5, 1.0, 0.5]), u).astype(dtype)
        beta = np.repeat(np.array([0.5, 0.5, 0.0, 0.5]), u).astype(dtype)

        def per_step():
            dC_next = np.zeros((m, u), dtype=dtype)
            dG, tmp = np.empty((m, 4 * u), dtype=dtype), np.empty((m, u), dtype=dtype)
            for t in reversed(range(s)):
                i, f, g, o = (G[t][:, k * u:(k + 1) * u] for k in range(4))
                dh = dh_in
                np.multiply(dh, tCt[t], out=dG[:, 3 * u:])
                np.multiply(tCt[t], tCt[t], out=tmp)
                np.subtract(1.0, tmp, out=tmp)
                tmp *= o
                dC = np.multiply(dh, tmp, out=dC_all[t])
                dC += dC_next
                np.multiply(dC, g, out=dG[:, :u])
                np.multiply(dC, Ct[t], out=dG[:, u:2 * u])
                np.multiply(dC, i, out=dG[:, 2 * u:3 * u])
                for cols, tanh in ((slice(0, 2 * u), False), (slice(2 * u, 3 * u), True),
                                   (slice(3 * u, 4 * u), False)):
                    a, out = G[t][:, cols], dZ[t][:, cols]
                    np.multiply(a, a, out=out)
                    np.subtract(1.0 if tanh else a, out, out=out)
                    out *= dG[:, cols]
                np.multiply(dC, f, out=dC_next)

        def factors_first():
            np.subtract(G, beta, out=dZ)                 # GateActivations.derivative
            np.square(dZ, out=dZ)
            np.subtract(alpha * alpha, dZ, out=dZ)
            F, G4 = dZ.reshape(s, m, 4, u), G.reshape(s, m, 4, u)
            F[:, :, 0] *= G4[:, :, 2]
            F[:, :, 1] *= Ct[:-1]
            F[:, :, 2] *= G4[:, :, 0]
            F[:, :, 3] *= tCt
            np.multiply(tCt, tCt, out=dC_all)
            np.subtract(1.0, dC_all, out=dC_all)
            np.multiply(dC_all, G4[:, :, 3], out=dC_all)
            dC_next = np.zeros((m, u), dtype=dtype)
            for t in reversed(range(s)):
                dh = dh_in
                dC = dC_all[t]
                dC *= dh
                dC += dC_next
                F[t][:, :3] *= dC[:, None]
                F[t][:, 3] *= dh
                np.multiply(dC, G4[t][:, 1], out=dC_next)
        times = {f.__name__: _best_ms(f, 3) for f in (per_step, factors_first)}
        print(f"LSTM backward elementwise work, 50 steps (64, 128) {np.dtype(dtype).name}: "
              f"per step {times['per_step']:.2f} ms, factors first {times['factors_first']:.2f} ms")


def chunk_case():
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from unrolled.layers import LSTM
    m, s, e, u = 128, 100, 64, 256
    for dtype in (np.float64, np.float32):
        X = np.random.default_rng(0).standard_normal((m, s, e)).astype(dtype)
        dA = np.random.default_rng(1).standard_normal((m, u)).astype(dtype)
        layer = LSTM(u).seed(0)
        layer.dtype = np.dtype(dtype)
        layer.training = True
        layer(X)
        samples = {"all steps": [], "chunks": []}
        for _ in range(7):                     # alternate, so drifts of the machine hit both
            for name, chunk in (("all steps", 1 << 40), ("chunks", LSTM.chunk_bytes)):
                layer.chunk_bytes = chunk
                layer(X)
                start = timeit.default_timer()
                layer.backward(dA)
                samples[name].append((timeit.default_timer() - start) * 1e3)
        med = {k: sorted(v)[len(v) // 2] for k, v in samples.items()}
        print(f"LSTM-L backward {np.dtype(dtype).name}: factors of all steps at once "
              f"{med['all steps']:.1f} ms, in chunks of {LSTM.chunk_bytes // 1024} KiB {med['chunks']:.1f} ms")


def batch_threads_case():
    """Forward + backward + gradients of an LSTM layer: the whole batch in one loop (BLAS on 2
    threads) against each half of the batch in its own Python thread (BLAS on 1 thread each)."""
    import numpy as np
    from concurrent.futures import ThreadPoolExecutor
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        print("batch split over threads: skipped (needs threadpoolctl to pin BLAS to one thread)")
        return
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from unrolled.layers import LSTM
    controller, pool = ThreadpoolController(), ThreadPoolExecutor(2)
    for (m, s, e, u) in ((64, 50, 32, 128), (128, 100, 64, 256)):
        for dtype in (np.float32, np.float64):
            X = np.random.default_rng(0).standard_normal((m, s, e)).astype(dtype)
            dA = np.ones((m, u), dtype=dtype)
            halves = [slice(0, m // 2), slice(m // 2, m)]
            layers = []
            for rows in [slice(0, m)] + halves:
                layer = LSTM(u).seed(0)
                layer.dtype = np.dtype(dtype)
                layer(X[rows])
                layers.append(layer)

            def run(layer, rows):
                layer.forward(X[rows])
                layer.backward(dA[rows])
                layer.compute_gradients()

            def one_loop():
                run(layers[0], slice(0, m))

            def two_threads():
                with controller.limit(limits=1, user_api="blas"):
                    for job in [pool.submit(run, layer, rows) for layer, rows in zip(layers[1:], halves)]:
                        job.result()
            samples = {"one_loop": [], "two_threads": []}
            for _ in range(7):
                for f in (one_loop, two_threads):
                    start = timeit.default_timer()
                    f()
                    samples[f.__name__].append((timeit.default_timer() - start) * 1e3)
            med = {k: sorted(v)[len(v) // 2] for k, v in samples.items()}
            print(f"LSTM (m={m}, s={s}, u={u}) {np.dtype(dtype).name}, 2 cores: one loop "
                  f"{med['one_loop']:.1f} ms, batch halves in two threads {med['two_threads']:.1f} ms")


def lean_case():
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from unrolled.framework import SGD, Model
    from unrolled.layers import GRU, LSTM, Dense
    m, s, e, u = 64, 50, 32, 128
    for cell in (LSTM, GRU):
        for dtype in ("float32", "float64"):
            rng = np.random.default_rng(0)
            X = rng.standard_normal((m, s, e)).astype(dtype)
            Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, m)]
            models = {lean: Model([cell(u, lean=lean), Dense(10, activation="softmax")], loss="cce",
                                  optimizer=SGD(lr=0.01), dtype=dtype, seed=0) for lean in (False, True)}
            samples = {False: [], True: []}
            for _ in range(11):
                for lean, model in models.items():
                    start = timeit.default_timer()
                    model.train_step(X, Y)
                    samples[lean].append((timeit.default_timer() - start) * 1e3)
            med = {k: sorted(v[1:])[len(v[1:]) // 2] for k, v in samples.items()}
            print(f"{cell.__name__}-M training step {dtype}: default {med[False]:.1f} ms, "
                  f"lean=True {med[True]:.1f} ms")


def strided_case():
    """Why the step loops avoid ufuncs on the column blocks of fused rows and on broadcast rows."""
    import numpy as np

    def us(f):
        return _best_ms(f, 300) * 1e3
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        rng = np.random.default_rng(0)
        for m, u in ((32, 32), (64, 128), (128, 256)):
            Z = rng.uniform(-1, 1, (m, 3 * u)).astype(dtype)      # a fused GRU row block [r u n]
            hv = rng.uniform(-1, 1, (m, 3 * u)).astype(dtype)
            block, contiguous = Z[:, :2 * u], np.ascontiguousarray(Z[:, :2 * u])
            out = np.empty_like(contiguous)
            hv_block, hv_contiguous = hv[:, :2 * u], np.ascontiguousarray(hv[:, :2 * u])

            def on_block():                     # z[:, :2u] += hv[:, :2u], then a sigmoid pass
                np.add(block, hv_block, out=block)
                np.multiply(block, 0.5, out=block)

            def contiguous_then_copy():         # the same into contiguous scratch, one copy back
                np.add(block, hv_block, out=out)
                np.multiply(out, 0.5, out=out)
                np.copyto(block, out)
            print(f"GRU gate block {name} m={m} u={u}: one add on the column blocks "
                  f"{us(lambda: np.add(block, hv_block, out=block)):.1f} us, on contiguous arrays "
                  f"{us(lambda: np.add(contiguous, hv_contiguous, out=out)):.1f} us; add + scale on the "
                  f"column block {us(on_block):.1f} us, into contiguous scratch + copy back "
                  f"{us(contiguous_then_copy):.1f} us")
            # factors of magnitude 1, so that repeating a sample never makes subnormal numbers
            # (which would slow every variant down)
            G = rng.uniform(0.1, 0.9, (m, 4 * u)).astype(dtype)   # a fused LSTM row block
            row = np.repeat(np.array([-1.0, 1.0, 1.0, -1.0], dtype=dtype), u)
            tiled = np.tile(row, (m, 1))
            print(f"LSTM gate scale {name} m={m} u={u}: z *= one row (broadcast) "
                  f"{us(lambda: np.multiply(G, row, out=G)):.1f} us, z *= the row repeated "
                  f"over m rows ({tiled.nbytes >> 10} KiB) {us(lambda: np.multiply(G, tiled, out=G)):.1f} us")
            F = G.reshape(m, 4, u)
            dC, dh = rng.choice(np.array([-1.0, 1.0], dtype=dtype), (2, m, u))
            W = np.empty_like(F)

            def on_blocks():                    # F[:, :3] *= dC, F[:, 3] *= dh
                F[:, :3] *= dC[:, None]
                F[:, 3] *= dh

            def one_multiplier():               # [dC dC dC dh] built by copies, one multiply
                np.copyto(W[:, :3], dC[:, None])
                np.copyto(W[:, 3], dh)
                np.multiply(F, W, out=F)
            print(f"LSTM backward step {name} m={m} u={u}: two multiplies on gate blocks "
                  f"{us(on_blocks):.1f} us, one multiplier row built by copies {us(one_multiplier):.1f} us")


def row_threads_case(threads):
    """LSTM forward loop, 50 steps: the elementwise work of every step on the main thread, against
    half of its rows handed to a worker thread (woken by an Event) while the main thread does the
    other half; the matrix product of each step stays on the main thread."""
    import threading
    import numpy as np

    class Worker:
        def __init__(self):
            self.go, self.done, self.job = threading.Event(), threading.Event(), None
            threading.Thread(target=self.loop, daemon=True).start()

        def loop(self):
            while True:
                self.go.wait()
                self.go.clear()
                self.job()
                self.done.set()

        def run(self, job):
            self.job = job
            self.done.clear()
            self.go.set()
    worker, s = Worker(), 50
    for dtype in (np.float32, np.float64):
        for m, u in ((64, 128), (128, 256)):
            rng = np.random.default_rng(0)
            V = rng.uniform(-0.1, 0.1, (u, 4 * u)).astype(dtype)
            Z0 = rng.uniform(-1, 1, (s, m, 4 * u)).astype(dtype)
            Z, H, C = Z0.copy(), np.zeros((s + 1, m, u), dtype), np.zeros((s + 1, m, u), dtype)
            tC, hV = np.zeros((s, m, u), dtype), np.empty((m, 4 * u), dtype)
            alpha = np.tile(np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype), u), (m, 1))

            def rows_of_step(t, r):             # the LSTM forward step after z += h V, on rows r
                z = Z[t][r]
                z += hV[r]
                z *= alpha[r]
                np.tanh(z, out=z)
                z *= alpha[r]
                z += 1.0 - alpha[r]
                c = np.multiply(z[:, u:2 * u], C[t][r], out=C[t + 1][r])
                c += z[:, :u] * z[:, 2 * u:3 * u]
                np.tanh(c, out=tC[t][r])
                np.multiply(z[:, 3 * u:], tC[t][r], out=H[t + 1][r])

            def main_thread():
                np.copyto(Z, Z0)
                for t in range(s):
                    np.matmul(H[t], V, out=hV)
                    rows_of_step(t, slice(None))

            def rows_split():
                np.copyto(Z, Z0)
                for t in range(s):
                    np.matmul(H[t], V, out=hV)
                    worker.run(lambda t=t: rows_of_step(t, slice(m // 2, m)))
                    rows_of_step(t, slice(0, m // 2))
                    worker.done.wait()
            print(f"LSTM forward loop {np.dtype(dtype).name} m={m} u={u}, {threads} BLAS thread(s): "
                  f"elementwise on the main thread {_best_ms(main_thread, 3):.2f} ms, rows split "
                  f"with a worker thread {_best_ms(rows_split, 3):.2f} ms")


def bias_case():
    """Input projection and its gradients with the bias as separate passes over Z and dZ, against
    the bias carried by a column of ones in the same products."""
    import numpy as np
    for dtype in (np.float32, np.float64):
        for (m, s, e, G, u) in ((64, 50, 32, 4, 128), (128, 100, 64, 1, 256), (128, 100, 64, 4, 256)):
            rng = np.random.default_rng(0)
            A = rng.uniform(-1, 1, (m, s, e)).astype(dtype)
            U, b = rng.uniform(-1, 1, (e, G * u)).astype(dtype), rng.uniform(-1, 1, (1, G * u)).astype(dtype)
            dZ = rng.uniform(-1, 1, (s * m, G * u)).astype(dtype)
            Xt, Z, dU = np.empty((s, m, e), dtype), np.empty((s * m, G * u), dtype), np.empty_like(U)
            X1, Ub, dUb = np.empty((s, m, e + 1), dtype), np.empty((e + 1, G * u), dtype), np.empty((e + 1, G * u), dtype)

            def separate_forward():
                np.copyto(Xt, A.swapaxes(0, 1))
                np.matmul(Xt.reshape(s * m, e), U, out=Z)
                np.add(Z, b, out=Z)

            def ones_forward():
                np.copyto(X1[:, :, :e], A.swapaxes(0, 1))
                X1[:, :, e] = 1.0
                np.copyto(Ub[:e], U)
                np.copyto(Ub[e:], b)
                np.matmul(X1.reshape(s * m, e + 1), Ub, out=Z)

            def separate_backward():
                np.matmul(Xt.reshape(s * m, e).T, dZ, out=dU)
                dZ.sum(axis=0, keepdims=True)

            def ones_backward():
                np.matmul(X1.reshape(s * m, e + 1).T, dZ, out=dUb)
            print(f"input projection {np.dtype(dtype).name} m={m} s={s} e={e} {G}u={G * u}: "
                  f"X U, then Z += b {_best_ms(separate_forward, 2):.2f} ms, [X 1] [U; b] "
                  f"{_best_ms(ones_forward, 2):.2f} ms; X^T dZ and sum(dZ) "
                  f"{_best_ms(separate_backward, 2):.2f} ms, [X 1]^T dZ {_best_ms(ones_backward, 2):.2f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "sigmoid":
        sigmoid_case()
        gate_block_case()
        transpose_case()
        lstm_backward_case()
        chunk_case()
        lean_case()
        strided_case()
        bias_case()
    elif len(sys.argv) > 1:
        product_case(sys.argv[1])
        row_threads_case(sys.argv[1])
        if sys.argv[1] == "2":
            batch_threads_case()
    else:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        subprocess.run([sys.executable, __file__, "sigmoid"], env=env, check=True)
        for n in ("1", "2"):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n)
            subprocess.run([sys.executable, __file__, n], env=env, check=True)
