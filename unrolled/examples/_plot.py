"""Learning curves from a :class:`~unrolled.framework.model.History` (needs matplotlib).

Imported only when a plot is asked for, so that the examples run without matplotlib.
"""
import textwrap

import matplotlib

matplotlib.use("Agg")          # write files; never open a window
import matplotlib.pyplot as plt  # noqa: E402


def _panels(history):
    """Metric names to draw, the loss first; ``val_*`` twins share their panel, ``lr`` is left out."""
    keys = [k for k in history if not k.startswith("val_") and k != "lr" and history[k]]
    return sorted(keys, key=lambda k: k != "loss")


def plot_history(history, path, title=None):
    """Save the per-epoch curves of ``history`` to ``path`` (PNG) and return the path.

    ``history`` is one History (one row of panels: the loss, then every other metric, each with
    its validation twin) or a dict ``{name: History}`` (one row per entry).
    """
    rows = history if isinstance(history, dict) and not hasattr(history, "epochs") else {"": history}
    rows = {name: h for name, h in rows.items() if _panels(h)}
    if not rows:
        raise ValueError("plot_history: the history holds no epoch yet")
    ncols = max(len(_panels(h)) for h in rows.values())
    width = max(4.5 * ncols, 7.0)                      # inches
    fig, axes = plt.subplots(len(rows), ncols, figsize=(width, 3.2 * len(rows)), squeeze=False)
    for row, (name, h) in zip(axes, rows.items()):
        keys = _panels(h)
        for ax, key in zip(row, keys):
            dots = {"marker": "o", "markersize": 3} if len(h[key]) <= 30 else {}
            ax.plot(range(1, len(h[key]) + 1), h[key], label=f"train {key}", **dots)
            val = h.get("val_" + key)
            if val:
                # validation values belong to the last len(val) epochs
                start = len(h[key]) - len(val) + 1
                ax.plot(range(start, start + len(val)), val, label=f"validation {key}", **dots)
            ax.set_xlabel("epoch")
            ax.set_ylabel(key)
            if key == "loss" and min(list(h[key]) + list(val or [])) > 0:
                ax.set_yscale("log")
            if name:
                ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        for ax in row[len(keys):]:
            ax.axis("off")
    if title:
        fig.suptitle(textwrap.fill(title, width=int(11 * width)))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
