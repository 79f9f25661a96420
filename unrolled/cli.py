"""The ``unrolled`` command: list and run the worked examples.

::

    unrolled list                      # every example with its one-line description
    unrolled run                       # the default example (binary_addition)
    unrolled run NAME [--epochs N] [--seed S] [--plot FILE.png] [--quick]

``python -m unrolled ...`` does the same. Exit status: 0 on success, 2 for a usage error (such as
an unknown example name), 1 when ``--plot`` is asked for without matplotlib.
"""
import argparse
import os
import sys

from . import __version__
from .examples import DEFAULT, EXAMPLES
from .examples import _common


def _parser():
    parser = argparse.ArgumentParser(
        prog="unrolled",
        description="Run the worked examples of unrolled, a white-box NumPy neural-network "
                    "framework.")
    parser.add_argument("--version", action="version", version=f"unrolled {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("list", help="list the examples with a one-line description",
                        description="List the examples with a one-line description.")
    run = commands.add_parser(
        "run", help=f"run one example (default: {DEFAULT})",
        description=f"Train and evaluate one example (default: {DEFAULT}); "
                    "`unrolled list` shows the names.")
    run.add_argument("name", nargs="?", default=DEFAULT, metavar="NAME",
                     help=f"example to run (default: {DEFAULT})")
    _common.add_run_options(run)
    return parser


def _list():
    from .examples import descriptions
    width = max(len(name) for name in EXAMPLES)
    for name, text in descriptions().items():
        default = "  (default)" if name == DEFAULT else ""
        print(f"{name:<{width}}  {text}{default}")
    return 0


def _run(args):
    if args.name not in EXAMPLES:
        print(f"unrolled: unknown example {args.name!r}; valid names:", file=sys.stderr)
        for name in EXAMPLES:
            print(f"  {name}", file=sys.stderr)
        return 2
    if args.epochs is not None and args.epochs < 1:
        print(f"unrolled: --epochs must be a positive integer, got {args.epochs}", file=sys.stderr)
        return 2
    if args.plot and not _common.plotting_available():     # say so before training, not after
        print(_common.PLOT_MESSAGE, file=sys.stderr)
        return 1
    # One BLAS thread: through the environment when numpy is not imported yet (the example
    # imports it), else by asking the loaded BLAS libraries at run time.
    if "numpy" not in sys.modules:
        _common.prefer_single_thread_env()
    from .examples import load
    module = load(args.name)
    with _common.blas_threads(1):
        module.main(epochs=args.epochs, seed=args.seed, verbose=1, plot=args.plot,
                    quick=args.quick)
    return 0


def main(argv=None):
    """Entry point of the ``unrolled`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _list()
        if args.command == "run":
            return _run(args)
    except BrokenPipeError:             # `unrolled run | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
