"""The one BLAS call NumPy does not expose: ``c += a @ b`` without a temporary.

``np.matmul`` cannot accumulate into its output, so ``z += h @ V`` allocates ``h @ V`` and adds
it in a second pass. BLAS ``gemm`` with ``beta = 1`` does both in one call. SciPy's wrappers want
Fortran order; a C-ordered ``c`` is a Fortran-ordered ``c.T``, and ``(a @ b).T = b.T @ a.T``, so
the call runs on transposed views with no copy. Used in the per-step loops of recurrent layers.
"""
import numpy as np
from scipy.linalg import blas

_GEMM = {np.dtype(np.float64): blas.dgemm, np.dtype(np.float32): blas.sgemm}


def add_matmul(c, a, b):
    """``c += a @ b`` in place for a C-contiguous 2-D ``c``; returns ``c``."""
    gemm = _GEMM.get(c.dtype)
    if gemm is None or not c.flags.c_contiguous or a.dtype != c.dtype or b.dtype != c.dtype:
        c += a @ b
        return c
    gemm(1.0, b.T, a.T, beta=1.0, c=c.T, overwrite_c=1)
    return c
