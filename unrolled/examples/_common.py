"""What every example shares: the command line of a script, the BLAS thread limit, the check for
matplotlib and the printed comparison with the reference.

Nothing here is needed to understand an example: each one reads top to bottom on its own.
"""
import argparse
import importlib.util
import sys
import time

PLOT_MESSAGE = "matplotlib is needed for --plot: pip install 'unrolled[plot]'"



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
# One BLAS thread for these small networks: see unrolled.threads for why and how.
from unrolled.threads import blas_threads, prefer_threads_env  # noqa: E402 (imports no numpy)


def prefer_single_thread_env():
    """One BLAS thread, asked through the environment before numpy is imported."""
    prefer_threads_env(1)


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
def add_run_options(parser):
    """--epochs, --seed, --plot, --quick: the options of every example (scripts and `unrolled run`)."""
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: the example's own)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--plot", metavar="FILE.png", default=None,
                        help="write the learning curves to this PNG file (needs matplotlib)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and fewer epochs (a quick check, not the full result)")
    return parser


def parse_args(description, argv=None):
    parser = add_run_options(argparse.ArgumentParser(description=description))
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
