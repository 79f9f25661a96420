"""The two measured choices in the package's hot loops, reproducible:

1. sigmoid as 0.5 tanh(z/2) + 0.5 in place, against scipy.special.expit (activations.Sigmoid);
2. the recurrent product with NumPy's matmul, against SciPy's BLAS gemm with beta = 1
   (recurrent.Recurrent.add_recurrent_product), with 1 and 2 BLAS threads.

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


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "sigmoid":
        sigmoid_case()
    elif len(sys.argv) > 1:
        product_case(sys.argv[1])
    else:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        subprocess.run([sys.executable, __file__, "sigmoid"], env=env, check=True)
        for n in ("1", "2"):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n)
            subprocess.run([sys.executable, __file__, n], env=env, check=True)
