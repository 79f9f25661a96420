"""Diagnostics that make vanishing and exploding gradients visible.

Backpropagation through time sends the gradient of the loss backwards from the last step to the
first. At every step a recurrent layer stores the total gradient of the loss with respect to its
hidden state, ``bc["dh"][:, t] = dL/dh_t`` (what arrives from the output at step t plus what
comes back from step t + 1). Its size as a function of t shows how much of the error signal
reaches step t: a curve that falls by orders of magnitude towards t = 0 is a vanishing gradient,
one that grows is an exploding gradient (see docs/gradients_through_time.md).

* :func:`gradient_norms_through_time` measures that curve for one layer of a model;
* :func:`format_norm_table` prints several curves side by side as text;
* :func:`plot_gradient_norms` draws them on a log scale (needs matplotlib, the ``plot`` extra).
"""
import numpy as np

PLOT_HINT = "matplotlib is needed: pip install 'unrolled[plot]'"


def _recurrent_layers(model):
    return [layer for layer in model.layers if hasattr(layer, "backward_steps")]


def _inner_layers(model):
    """The model's layers and the layers wrapped inside them (e.g. by ``Bidirectional``)."""
    out = list(model.layers)
    for l in model.layers:
        out += [getattr(l, attr) for attr in ("forward_layer", "backward_layer")
                if getattr(l, attr, None) is not None]
    return out


def _pick_layer(model, layer):
    if layer is None:
        found = _recurrent_layers(model)
        if not found:
            raise ValueError("gradient_norms_through_time: the model has no recurrent layer "
                             "(RNN, LSTM, GRU); pass layer= explicitly")
        return found[0]
    if isinstance(layer, (str, int, np.integer)):
        return model[layer] if isinstance(layer, str) else model.layers[int(layer)]
    if not any(layer is l for l in _inner_layers(model)):
        raise ValueError(f"gradient_norms_through_time: {layer.label} is not a layer of this model")
    return layer


def gradient_norms_through_time(model, X, Y, layer=None, mask=None):
    """Norm of dL/dh_t at every step t of a recurrent layer, after one backward pass.

    Runs ``model.compute_loss_and_gradients(X, Y, mask)`` (forward in training mode, loss,
    backward; no parameter update) and reads ``layer.bc["dh"]``, of shape ``(m, s, u)``.
    For every step t it takes the Euclidean norm over the ``u`` units of each sample's gradient
    and averages these norms over the samples::

        norms[t] = mean over i of || dL/dh_t (sample i) ||_2

    The loss is a mean over the batch, so every per-sample gradient carries the factor 1/N of the
    reduction (see ``unrolled.framework.losses``): compare the shape of the curve across t (or
    divide by ``norms[-1]``), not its absolute level across batch sizes.

    Parameters
    ----------
    model : Model
        A model containing at least one recurrent layer.
    X, Y : array
        A batch of inputs and targets, as for ``model.train``.
    layer : Layer, str or int, optional
        The recurrent layer to read (instance, name or index in ``model.layers``; the
        ``forward_layer`` or ``backward_layer`` of a ``Bidirectional`` layer also works, the latter
        with its steps in reversed order); by default the first layer of the model that has a
        step loop (RNN, LSTM, GRU).
    mask : bool array (m, s), optional
        True on real steps. With a mask, ``norms[t]`` averages only over the samples whose step t
        is real (NaN when there is none): padded steps are left out.

    Returns
    -------
    numpy.ndarray, shape (s,)
        ``norms[t]`` for t = 0 .. s - 1 (index 0 is the first step, the farthest from a
        many-to-one output).

    Notes
    -----
    The call overwrites the model's caches and gradients (``fc``, ``bc``, ``g``) like any
    backward pass, but leaves parameters, the layers' random generators (dropout masks) and the
    states carried by stateful layers as they were, so it can run in the middle of training
    without changing what training does next.
    """
    target = _pick_layer(model, layer)
    if not hasattr(target, "backward_steps"):
        raise ValueError(f"gradient_norms_through_time: {target.label} is not a recurrent layer "
                         f"(it keeps no dL/dh_t per step)")
    X = model._inputs(X, "X")
    mask = model._mask(mask, X, "mask")
    if not model.built:
        model.build(X)
    layers = _inner_layers(model)
    saved_rng = [(l, l.rng.bit_generator.state) for l in layers if l.rng is not None]
    saved_carry = [(l, l.carried) for l in layers if hasattr(l, "carried")]

    def restore():
        for l, state in saved_rng:
            l.rng.bit_generator.state = state
        for l, carried in saved_carry:
            l.carried = carried

    if getattr(target, "lean", False):
        raise ValueError(f"gradient_norms_through_time: {target.label} has lean=True, which keeps "
                         f"dL/dh_t only while the backward pass works on step t; set "
                         f"layer.lean = False to read bc['dh']")
    try:
        # one evaluation-mode pass on a single sample sets every layer's shapes for this input
        # (the model checks Y against the output shape of the last forward pass)
        model.forward(X[:1], training=False, mask=None if mask is None else mask[:1])
        restore()
        X, Y, mask = model._prepare(X, Y, mask)
        model.compute_loss_and_gradients(X, Y, mask)
    finally:
        restore()
    dh = np.asarray(target.bc["dh"], dtype=np.float64)          # (m, s, u)
    per_sample = np.sqrt(np.einsum("msu,msu->ms", dh, dh))      # (m, s)
    if mask is None:
        return per_sample.mean(axis=0)
    mask = np.asarray(mask, dtype=bool)
    counts = mask.sum(axis=0)
    sums = np.where(mask, per_sample, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _as_curves(norms_by_name):
    if not isinstance(norms_by_name, dict) or not norms_by_name:
        raise ValueError("norms_by_name must be a non-empty dict {name: 1-D array of norms}")
    curves = {}
    for name, values in norms_by_name.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"norms_by_name[{name!r}] must be a non-empty 1-D array, got shape "
                             f"{arr.shape}")
        curves[str(name)] = arr
    return curves


def format_norm_table(norms_by_name, every=1):
    """A text table of gradient norms, one row per step and one column per curve.

    Parameters
    ----------
    norms_by_name : dict
        ``{name: norms}``, each a 1-D array such as the result of
        :func:`gradient_norms_through_time`; curves of different lengths are allowed.
    every : int
        Print every ``every``-th step, counted back from the last step; the first and the last
        steps are always shown.

    Returns
    -------
    str
        Steps are numbered ``t = 1 .. s`` (1 is the first step). The last line gives, for each
        curve, ``norm at t=1 / norm at t=s``: far below 1 means the gradient vanishes on its way
        back to the first step, far above 1 that it explodes.
    """
    curves = _as_curves(norms_by_name)
    if not (isinstance(every, (int, np.integer)) and every > 0):
        raise ValueError(f"format_norm_table: every must be a positive integer, got {every!r}")
    s = max(c.size for c in curves.values())
    width = max(11, *(len(n) for n in curves))
    label = "first/last"
    head = f"{'step':>{len(label)}}" + "".join(f"  {n:>{width}}" for n in curves)
    lines = [head, "-" * len(head)]
    rows = sorted(set(range(s - 1, -1, -every)) | {0})
    for t in rows:
        cells = [f"{c[t]:>{width}.3e}" if t < c.size else " " * width for c in curves.values()]
        lines.append(f"{t + 1:>{len(label)}}" + "".join("  " + x for x in cells))
    ratios = []
    for c in curves.values():
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(f"{c[0] / c[-1]:>{width}.3e}")
    lines.append("-" * len(head))
    lines.append(label + "".join("  " + x for x in ratios))
    return "\n".join(lines)


def plot_gradient_norms(norms_by_name, path, title="Gradient norm through time"):
    """Draw the curves of ``norms_by_name`` on a log scale and save the figure to ``path``.

    The x axis is the step ``t = 1 .. s``, the y axis ``mean_i ||dL/dh_t||`` (logarithmic, so an
    exponential decay is a straight line). Uses matplotlib's object interface (no pyplot, no
    global state, no display needed). Returns ``path``.

    Raises
    ------
    ImportError
        When matplotlib is not installed: ``pip install 'unrolled[plot]'``.
    """
    curves = _as_curves(norms_by_name)
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for name, c in curves.items():
        ax.semilogy(np.arange(1, c.size + 1), c, label=name)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"mean over samples of $\|\partial L / \partial h_t\|$")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.savefig(path)
    return path
