"""Pictures of the white box: training curves, the states and gates of a recurrent layer over
time, gradient norms through time, attention weights, convolution filters and feature maps.

Every function returns a :class:`matplotlib.figure.Figure` (a :class:`Picture`, which a
notebook shows as an image) built with matplotlib's object interface: no pyplot, no global
figure state, and the user's backend is never switched. Save one with
``fig.savefig("name.png")``; a notebook shows it when it is the last value of a cell (or with
``IPython.display.display(fig)``). Pictures: docs/plots.md.

matplotlib is an optional extra (``pip install "unrolled[plot]"``); without it, importing this
module works and each function raises an ``ImportError`` saying how to install it.

Arrays are drawn as they are stored: a recurrent layer's ``fc["h"]`` of shape ``(m, s, u)`` is
shown for one sample as a ``u x s`` picture, unit ``k`` on row ``k`` and step ``t`` in column ``t``
(numbered from 1, as in the equations).
"""
import io
import math
import textwrap

import numpy as np

try:
    from matplotlib.figure import Figure as _Figure
except ImportError:            # every function raises PLOT_HINT before using the class below
    _Figure = object

PLOT_HINT = 'matplotlib is needed for unrolled.plot: pip install "unrolled[plot]"'

#: colour maps: values of either sign (centred on 0) and values of one sign
DIVERGING, SEQUENTIAL = "RdBu_r", "viridis"


class Picture(_Figure):
    """A :class:`matplotlib.figure.Figure` that a notebook shows as a PNG image even when pyplot
    was never imported (a plain Figure outside pyplot shows as ``<Figure size ...>``)."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def _checked(array, ndims, owner, expected):
    """``array`` as floats, or a ValueError naming ``owner`` and the ``expected`` shapes."""
    a = np.asarray(array, dtype=float)
    if a.ndim not in ndims:
        raise ValueError(f"{owner}: expected {expected}, got shape {a.shape}")
    return a


def _one_sample(array, sample, owner):
    if not 0 <= sample < array.shape[0]:
        raise ValueError(f"{owner}: sample must lie in [0, {array.shape[0] - 1}], got {sample}")
    return array[sample]


def _figure(width, height):
    try:
        import matplotlib.figure  # noqa: F401  (checked at every call: the extra may be missing)
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    return Picture(figsize=(width, height), layout="constrained")


def _draw(fig, ax, array, title=None, xlabel=None, ylabel=None, xticklabels=None,
          yticklabels=None, cmap=None, vmin=None, vmax=None, colorbar=True, steps=False):
    """Draw a 2-D array on ``ax`` (row 0 at the top); NaN entries are left grey.

    Without ``cmap``/``vmin``/``vmax``: arrays with negative entries get a diverging map centred
    on 0, the others a sequential one from their minimum to their maximum. ``steps=True`` numbers
    the columns from 1 (time steps).
    """
    a = np.ma.masked_invalid(np.asarray(array, dtype=float))
    if cmap is None:
        finite = a.compressed()
        if finite.size and finite.min() < 0:
            cmap = DIVERGING
            if vmin is None and vmax is None:
                bound = float(np.abs(finite).max()) or 1.0
                vmin, vmax = -bound, bound
        else:
            cmap = SEQUENTIAL
    from matplotlib import colormaps
    colours = colormaps[cmap].with_extremes(bad="0.85")
    extent = None
    if steps:      # columns centred on t = 1 .. s
        extent = (0.5, a.shape[1] + 0.5, a.shape[0] - 0.5, -0.5)
    image = ax.imshow(a, cmap=colours, vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest", extent=extent)
    from matplotlib.ticker import MaxNLocator
    if xticklabels is not None:
        ax.set_xticks(range(len(xticklabels)), [str(t) for t in xticklabels], rotation=90)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))    # rows and columns are indices
    if yticklabels is not None:
        ax.set_yticks(range(len(yticklabels)), [str(t) for t in yticklabels])
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if colorbar:
        fig.colorbar(image, ax=ax)
    return image


def heatmap(array, title=None, xlabel=None, ylabel=None, xticklabels=None, yticklabels=None,
            cmap=None, vmin=None, vmax=None, colorbar=True, size=None):
    """A 2-D array as a picture: entry ``[i, j]`` at row ``i`` (from the top), column ``j``.

    Parameters
    ----------
    array : array of shape (rows, columns)
        NaN entries are drawn grey (padded steps, for instance).
    title, xlabel, ylabel : str, optional
    xticklabels, yticklabels : sequence, optional
        One label per column / row (tokens, class names).
    cmap : str, optional
        A matplotlib colour map name. Default: diverging and centred on 0 when the array has
        negative entries, sequential otherwise.
    vmin, vmax : float, optional
        Colour range.
    colorbar : bool
    size : (width, height) in inches, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"heatmap: needs a 2-D array (rows, columns), got shape {a.shape}")
    width, height = size or (min(2.5 + 0.25 * a.shape[1], 12.0), min(1.5 + 0.25 * a.shape[0], 9.0))
    fig = _figure(width, height)
    _draw(fig, fig.subplots(), a, title, xlabel, ylabel, xticklabels, yticklabels, cmap, vmin,
          vmax, colorbar)
    return fig


# --------------------------------------------------------------------------------- training
def _is_one_history(history):
    return all(isinstance(v, (list, tuple, np.ndarray)) for v in history.values())


def _panels(history):
    """Names to draw, the loss first; ``val_*`` twins share their panel, ``lr`` is left out."""
    keys = [k for k in history if not k.startswith("val_") and k != "lr"
            and np.isfinite(np.asarray(history[k], dtype=float)).any()]
    return sorted(keys, key=lambda k: k != "loss")


def training_curves(history, title=None):
    """The per-epoch values of a History: one panel per metric (the loss first, on a log scale
    when positive), training and validation (``val_*``) in the same panel.

    Parameters
    ----------
    history : History, dict of lists, or dict ``{name: History}``
        One History gives one row of panels; a dict of Histories gives one row per entry (to
        compare models). Epochs that did not log a value (NaN) leave a gap.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = {"": history} if _is_one_history(history) else dict(history)
    rows = {name: h for name, h in rows.items() if _panels(h)}
    if not rows:
        raise ValueError("training_curves: the history holds no epoch yet (train first)")
    ncols = max(len(_panels(h)) for h in rows.values())
    width = max(4.5 * ncols, 7.0)
    fig = _figure(width, 3.2 * len(rows))
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for row, (name, h) in zip(axes, rows.items()):
        keys = _panels(h)
        for ax, key in zip(row, keys):
            values = np.asarray(h[key], dtype=float)
            epochs = np.arange(1, values.size + 1)
            dots = {"marker": "o", "markersize": 3} if values.size <= 30 else {}
            ax.plot(epochs, values, label=f"train {key}", **dots)
            shown = [values]
            if "val_" + key in h:
                val = np.asarray(h["val_" + key], dtype=float)
                ax.plot(np.arange(1, val.size + 1), val, label=f"validation {key}", **dots)
                shown.append(val)
            finite = np.concatenate(shown)
            finite = finite[np.isfinite(finite)]
            if key == "loss" and finite.size and finite.min() > 0:
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_ylabel(key)
            if name:
                ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        for ax in row[len(keys):]:
            ax.axis("off")
    if title:
        fig.suptitle(textwrap.fill(title, width=int(11 * width)))
    return fig


# --------------------------------------------------------------------------------- recurrent
def _names_to_draw(layer):
    """Gates first (the layer's ``gate_names``), then its states (``state_names``), h last."""
    gates = [g for g in layer.gate_names if g not in layer.state_names]
    states = sorted(layer.state_names, key=lambda name: name == "h")
    return gates + states


def states_and_gates(layer, sample=0, names=None, title=None):
    """Each gate's activation and each state of a recurrent layer over time, one heatmap each.

    Reads the layer's forward cache after a pass (``model.predict(X)`` or training): for an RNN
    ``fc["h"]``; for an LSTM the gates ``i, f, g, o`` then ``C`` and ``h``; for a GRU ``r, z, n``
    then ``h`` (the names come from the layer's ``gate_names`` and ``state_names``). Each panel
    shows one sample: unit on the vertical axis, step ``t = 1 .. s`` on the horizontal one.
    Padded steps (``fc["mask"]`` False) are grey.

    Parameters
    ----------
    layer : a recurrent layer (RNN, LSTM, GRU), e.g. ``model["lstm_0"]``
    sample : int
        Which sample of the last batch.
    names : sequence of str, optional
        The ``fc`` entries to draw (default: every gate and state, as above).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not hasattr(layer, "gate_names") or not hasattr(layer, "state_names"):
        inner = "; draw its forward_layer / backward_layer" if hasattr(layer, "forward_layer") else ""
        raise ValueError(f"states_and_gates: {getattr(layer, 'label', type(layer).__name__)} is "
                         f"not a recurrent layer with gate_names and state_names{inner}")
    names = list(names) if names is not None else _names_to_draw(layer)
    arrays = []
    for name in names:
        value = layer.fc.get(name)
        if value is None:
            raise ValueError(f"states_and_gates: {layer.label} has no fc[{name!r}]; run a forward "
                             f"pass first (model.predict(X)); a lean=True backward overwrites "
                             f"the gates")
        value = _checked(value, (3,), "states_and_gates", f"fc[{name!r}] of shape (m, s, u)")
        arrays.append(_one_sample(value, sample, "states_and_gates").T.copy())     # (u, s)
    mask = layer.fc.get("mask")
    u, s = arrays[0].shape
    fig = _figure(min(3.5 + 0.22 * s, 14.0), len(names) * min(0.9 + 0.12 * u, 3.0) + 0.6)
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name, a in zip(axes, names, arrays):
        if mask is not None:
            a[:, ~np.asarray(mask)[sample]] = np.nan
        _draw(fig, ax, a, ylabel="unit", steps=True,
              title=f"{name}: {_describe(layer, name)}")
    axes[-1].set_xlabel("step t")
    fig.suptitle(title or f"{layer.label}, sample {sample}")
    return fig


def _describe(layer, name):
    """A few words for a gate or state name (what the docs' equations call it)."""
    words = {"i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate",
             "r": "reset gate", "z": "update gate", "n": "candidate", "h": "hidden state",
             "C": "cell state"}
    return words.get(name, "fc entry")


# --------------------------------------------------------------------------------- gradients
def gradient_norms(norms, X=None, Y=None, layer=None, mask=None,
                   title="Gradient norm through time"):
    """Mean ``|dL/dh_t|`` at every step on a log scale: a straight line is an exponential decay
    (vanishing) or growth (exploding) of the gradient on its way back through time.

    Parameters
    ----------
    norms : dict ``{name: 1-D array}``, a 1-D array, or a Model
        Curves from :func:`unrolled.framework.diagnostics.gradient_norms_through_time`; given a
        Model, that function runs on ``X, Y`` (``layer``, ``mask`` as there) and the curve is
        named after the layer.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .framework.diagnostics import _as_curves, _pick_layer, gradient_norms_through_time
    if hasattr(norms, "compute_loss_and_gradients"):
        if X is None or Y is None:
            raise ValueError("gradient_norms: given a model, pass X and Y too")
        target = _pick_layer(norms, layer)
        norms = {target.label: gradient_norms_through_time(norms, X, Y, layer=target, mask=mask)}
    elif not isinstance(norms, dict):
        norms = {"dL/dh": norms}
    curves = _as_curves(norms)
    fig = _figure(7, 4)
    ax = fig.subplots()
    for name, c in curves.items():
        ax.semilogy(np.arange(1, c.size + 1), c, label=name)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step t")
    ax.set_ylabel(r"mean over samples of $\|\partial L / \partial h_t\|$")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig


# --------------------------------------------------------------------------------- attention
def attention_weights(weights, source_tokens=None, target_tokens=None, sample=0, title=None):
    """Attention weights: row ``i`` is the distribution over the source positions that output
    (query) position ``i`` reads, so each row sums to 1.

    Parameters
    ----------
    weights : array
        ``(s_dec, s_enc)``, or an attention layer's ``fc["weights"]`` of shape
        ``(m, s_q, s_k)`` or ``(m, heads, s_q, s_k)`` (one panel per head), of which ``sample``
        is drawn.
    source_tokens, target_tokens : sequence, optional
        Labels of the columns (source / key positions) and rows (target / query positions).
    sample : int
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    w = _checked(weights, (2, 3, 4), "attention_weights",
                 "(s_dec, s_enc), (m, s_q, s_k) or (m, heads, s_q, s_k)")
    if w.ndim > 2:
        w = _one_sample(w, sample, "attention_weights")
    heads = w[None] if w.ndim == 2 else w
    s_q, s_k = heads.shape[1:]
    for what, tokens, n in (("source_tokens", source_tokens, s_k),
                            ("target_tokens", target_tokens, s_q)):
        if tokens is not None and len(tokens) != n:
            raise ValueError(f"attention_weights: {what} has {len(tokens)} labels for {n} "
                             f"positions")
    fig = _figure(min(2.5 + 0.3 * s_k, 8.0) * len(heads) + 0.8, min(1.8 + 0.3 * s_q, 9.0))
    axes = fig.subplots(1, len(heads), squeeze=False)[0]
    for k, (ax, a) in enumerate(zip(axes, heads)):
        _draw(fig, ax, a, title=f"head {k}" if len(heads) > 1 else None,
              xlabel="source position", ylabel="target position" if k == 0 else None,
              xticklabels=source_tokens, yticklabels=target_tokens, cmap=SEQUENTIAL, vmin=0.0,
              vmax=1.0, colorbar=k == len(heads) - 1)
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------------- convolution
def _grid(n):
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def _panel_grid(panels, titles, title, cmap, vmin, vmax, xlabel=None, ylabel=None):
    rows, cols = _grid(len(panels))
    fig = _figure(1.0 + 1.8 * cols, 0.6 + 1.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.axis("off")
            continue
        image = _draw(fig, ax, panels[k], title=titles[k], cmap=cmap, vmin=vmin, vmax=vmax,
                      colorbar=False)
        ax.set_xticks([])
        ax.set_yticks([])
        if xlabel and k // cols == rows - 1:
            ax.set_xlabel(xlabel)
        if ylabel and k % cols == 0:
            ax.set_ylabel(ylabel)
    fig.colorbar(image, ax=axes, shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def filters(W, title="filters"):
    """Convolution filters, one panel per filter, on one colour scale centred on 0.

    Parameters
    ----------
    W : array with the filters on its last axis
        ``(k, f)``: 1-D kernels of width ``k`` over one channel; ``(k, c, f)``: a 1-D
        convolution over ``c`` channels (panel ``k x c``); ``(kh, kw, f)``: 2-D kernels on one
        channel; ``(kh, kw, c, f)``: 2-D kernels over ``c`` channels, the channels side by side
        in each panel (``kh x c*kw``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    W = _checked(W, (2, 3, 4), "filters", "(k, f), (k, c, f), (kh, kw, f) or (kh, kw, c, f)")
    f = W.shape[-1]
    if W.ndim == 2:
        panels = [W[:, j][:, None] for j in range(f)]
    elif W.ndim == 3:
        panels = [W[..., j] for j in range(f)]
    else:
        kh, kw, c, _ = W.shape
        panels = [W[..., j].transpose(0, 2, 1).reshape(kh, c * kw) for j in range(f)]
    bound = float(np.abs(W).max()) or 1.0
    return _panel_grid(panels, [f"filter {j}" for j in range(f)], title, DIVERGING, -bound, bound)


def feature_maps(A, sample=0, title="feature maps"):
    """A convolution layer's output for one sample: one panel per channel for 2-D maps, one
    heatmap (channel x step) for 1-D ones.

    Parameters
    ----------
    A : array
        ``(m, h, w, f)`` (2-D maps, channels last) or ``(m, s, f)`` (1-D, steps then channels).
    sample : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    A = _checked(A, (3, 4), "feature_maps", "(m, h, w, f) or (m, s, f)")
    a = _one_sample(A, sample, "feature_maps")
    if a.ndim == 2:
        fig = _figure(min(3.5 + 0.22 * a.shape[0], 14.0), min(1.5 + 0.25 * a.shape[1], 9.0))
        _draw(fig, fig.subplots(), a.T, title=title, xlabel="step t", ylabel="channel",
              steps=True)
        return fig
    lo, hi = float(a.min()), float(a.max())
    cmap, vmin, vmax = SEQUENTIAL, lo, hi
    if lo < 0:
        bound = max(abs(lo), abs(hi)) or 1.0
        cmap, vmin, vmax = DIVERGING, -bound, bound
    return _panel_grid([a[..., j] for j in range(a.shape[-1])],
                       [f"channel {j}" for j in range(a.shape[-1])], title, cmap, vmin, vmax)
