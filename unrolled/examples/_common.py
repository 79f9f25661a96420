"""What every example shares: the command line of a script, the BLAS thread limit, the check for
matplotlib and the printed comparison with the reference.

Nothing here is needed to understand an example: each one reads top to bottom on its own.
"""
import argparse
import contextlib
import ctypes
import importlib.util
import os
import sys
import time

PLOT_MESSAGE = "matplotlib is needed for --plot: pip install 'unrolled[plot]'"

#: environment variables read by the BLAS / OpenMP libraries when numpy is first imported
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class PlotUnavailable(ImportError):
    """``plot=`` was asked for but matplotlib is not installed."""


def plotting_available():
    """True when matplotlib can be imported (checked without importing it)."""
    return importlib.util.find_spec("matplotlib") is not None


def check_plot(plot):
    """Fail before training, not after, when a plot is asked for and matplotlib is missing."""
    if plot and not plotting_available():
        raise PlotUnavailable(PLOT_MESSAGE)


def save_plot(history, plot, title):
    """Write the learning curves of ``history`` to the PNG file ``plot`` (no-op when None)."""
    if plot:
        from ._plot import plot_history   # imports matplotlib: only when a plot is asked for
        plot_history(history, plot, title=title)
        print(f"learning curves written to {plot}")


# --------------------------------------------------------------------------- BLAS threads
def prefer_single_thread_env():
    """Ask for one BLAS thread in a process that has not imported numpy yet (a user's own
    setting wins). Only call it before ``import numpy``: afterwards the variables no longer reach
    the loaded libraries (and :func:`blas_threads` would take them for the user's choice)."""
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, "1")


def _openblas_libraries():
    """(get, set) thread-count functions of every OpenBLAS loaded in this process (numpy and
    scipy each bring their own copy); an empty list when there is none or this is not Linux."""
    if "numpy" not in sys.modules:
        return []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:          # not Linux: leave the libraries alone
        return []
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads",
                     "openblas_{}_num_threads64_", "openblas_{}_num_threads"):
            get = getattr(lib, name.format("get"), None)
            set_ = getattr(lib, name.format("set"), None)
            if get is not None and set_ is not None:
                get.restype = ctypes.c_int
                set_.argtypes = [ctypes.c_int]
                found.append((get, set_))
                break
    return found


@contextlib.contextmanager
def blas_threads(n=1):
    """Run the block with ``n`` OpenBLAS threads, then restore the previous counts.

    The matrices of these small networks are far too small for threads to pay: on a busy 2-core
    machine the threaded BLAS made an epoch 10-30 times slower than a single thread. Libraries
    already loaded are told at run time; for libraries loaded inside the block (numpy imported
    there for the first time), the thread variables of the environment are set for its duration.
    An ``OPENBLAS_NUM_THREADS`` already in the environment is the user's choice: the block then
    changes nothing.
    """
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        yield
        return
    libs = _openblas_libraries()
    before = [get() for get, _ in libs]
    saved = {var: os.environ.get(var) for var in THREAD_VARIABLES}
    os.environ.update({var: str(n) for var in THREAD_VARIABLES})
    for _, set_ in libs:
        set_(n)
    try:
        yield
    finally:
        for (_, set_), count in zip(libs, before):
            set_(count)
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


# --------------------------------------------------------------------------- printing
class Stopwatch:
    """Wall-clock seconds since creation: ``watch.seconds``."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self):
        return time.perf_counter() - self.start


def print_results(rows, seconds=None):
    """Print ``(what, measured, reference)`` rows as a small table."""
    width = max(len(what) for what, _, _ in rows)
    mwidth = max(len("measured"), *(len(measured) for _, measured, _ in rows))
    print()
    print(f"{'result':<{width}}  {'measured':>{mwidth}}  reference")
    for what, measured, reference in rows:
        print(f"{what:<{width}}  {measured:>{mwidth}}  {reference}")
    if seconds is not None:
        print(f"(wall time {seconds:.1f} s)")


def percent(x):
    return f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- scripts
def parse_args(description, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: the example's own)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--plot", metavar="FILE.png", default=None,
                        help="write the learning curves to this PNG file (needs matplotlib)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and fewer epochs (seconds instead of a minute)")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be a positive integer, got {args.epochs}")
    return args


def run_script(main, description, argv=None):
    """The ``if __name__ == "__main__":`` block of every example."""
    args = parse_args(description, argv)
    if args.plot and not plotting_available():
        print(PLOT_MESSAGE, file=sys.stderr)
        return 1
    with blas_threads(1):
        main(epochs=args.epochs, seed=args.seed, verbose=1, plot=args.plot, quick=args.quick)
    return 0
