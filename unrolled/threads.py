"""BLAS threads: how many threads the matrix products use.

The matrices of small recurrent networks are too small for threads to pay: on two cores one
BLAS thread is usually as fast, and with another busy process much faster (an epoch of the
digits example took 154 s with OpenBLAS's default threads and 7 s with one, on a loaded 2-core
machine). What you control, from the most to the least direct:

* ``OPENBLAS_NUM_THREADS=1`` (and ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) in the environment
  before Python starts: NumPy's and SciPy's BLAS read them when they load;
* :func:`blas_threads` around a block of code, at run time: it uses threadpoolctl, the
  well-kept library for this (``pip install 'unrolled[threads]'``), which reaches every BLAS
  loaded in the process (NumPy and SciPy each load their own OpenBLAS);
* the ``unrolled`` command and the example scripts run with one thread unless the environment
  says otherwise.
"""
import contextlib
import importlib.util
import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MISSING = "threadpoolctl is needed to change BLAS threads at run time: pip install 'unrolled[threads]'"


def prefer_threads_env(n=1):
    """Ask for ``n`` BLAS threads through the environment (a user's own setting wins). Effective
    only before NumPy is first imported."""
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, str(n))


@contextlib.contextmanager
def blas_threads(n=1, required=False):
    """Run the block with ``n`` BLAS threads, then restore the previous counts.

    Without threadpoolctl the block runs unchanged, or raises ImportError when ``required``.
    A thread count set in the environment by the user is respected: nothing changes.
    """
    if os.environ.get("OPENBLAS_NUM_THREADS") and not required:
        yield
        return
    if importlib.util.find_spec("threadpoolctl") is None:
        if required:
            raise ImportError(MISSING)
        yield
        return
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=n, user_api="blas"):
        yield
