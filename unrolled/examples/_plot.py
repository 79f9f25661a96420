"""Learning curves of the examples, written to a PNG file (needs matplotlib).

Imported only when a plot is asked for, so that the examples run without matplotlib. The figure
comes from :func:`unrolled.plot.training_curves` (matplotlib's object interface): the user's
backend is never switched and no window opens.
"""
from ..plot import training_curves


def plot_history(history, path, title=None):
    """Save the per-epoch curves of ``history`` to ``path`` (PNG) and return the path.

    ``history`` is one History (one row of panels: the loss, then every other metric, each with
    its validation twin) or a dict ``{name: History}`` (one row per entry).
    """
    training_curves(history, title=title).savefig(path, dpi=100)
    return path
