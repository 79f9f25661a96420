"""Worked examples: one short script per data set of :mod:`unrolled.datasets`.

Each module loads its data, builds a model, trains it with a progress bar, evaluates it and prints
its result next to a reference (a published number, or a baseline such as persistence or the
majority class). Run one with ``unrolled run NAME`` (``unrolled list`` shows them), with
``python -m unrolled run NAME`` or as a module: ``python -m unrolled.examples.NAME`` (from the
repository root, or anywhere once installed; an installed package also runs
``python unrolled/examples/NAME.py``: the examples import ``unrolled`` like any user code).

Every module has the same interface::

    NAME, DESCRIPTION                    # the name used by the command line, a one-line summary
    main(epochs=None, seed=0, verbose=1, plot=None, quick=False) -> dict

``main`` returns ``{"metrics": {...}, "reference": {...}, "history": History, "epochs": int,
"seconds": float}``; ``quick=True`` shrinks the data and the training for the test suite and
``plot="curves.png"`` writes the learning curves (needs matplotlib).
"""
import importlib
import pkgutil

#: the examples in the order ``unrolled list`` shows them (a new module in this package that is
#: not listed here is found anyway and shown after these, in alphabetical order)
ORDER = (
    "binary_addition",
    "embedded_reber",
    "adding_problem",
    "parity",
    "sine",
    "digits",
    "iris",
    "sunspots",
    "co2",
    "hamlet",
    "epynn_smoke",
    "epynn_boolean",
    "epynn_string",
    "epynn_time",
    "epynn_image",
    "digits_cnn",
)


def _discover():
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    return tuple(n for n in ORDER if n in found) + tuple(sorted(found - set(ORDER)))


#: every example module of this package
EXAMPLES = _discover()

#: the example ``unrolled run`` runs when no name is given
DEFAULT = "binary_addition"


def load(name):
    """The module of the example ``name``; a ValueError lists the valid names."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; valid names: {', '.join(EXAMPLES)}")
    return importlib.import_module(f"{__name__}.{name}")


def descriptions():
    """``{name: one-line description}`` of every example, in order."""
    return {name: load(name).DESCRIPTION for name in EXAMPLES}


__all__ = ["DEFAULT", "EXAMPLES", "ORDER", "descriptions", "load"]
