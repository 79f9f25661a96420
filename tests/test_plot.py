"""unrolled.plot: every picture renders to a PNG that is not blank, from the arrays the layers
keep; matplotlib's object interface only (no pyplot, the backend untouched); a clear ImportError
without matplotlib. Skipped without matplotlib (except the ImportError test)."""
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unrolled import plot
from unrolled.framework import Model
from unrolled.layers import GRU, LSTM, RNN, Dense

ROOT = Path(__file__).resolve().parents[1]


def _pixels(fig):
    """RGB pixels of the figure rendered by the Agg canvas (what savefig writes to a PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3]


def assert_picture(fig, min_colours=20, png=False):
    """A real picture: many distinct colours and pixel values that vary (and, with ``png``, a
    valid PNG file from savefig)."""
    from matplotlib.figure import Figure
    assert isinstance(fig, Figure)
    rgb = _pixels(fig)
    colours = len(np.unique(rgb.reshape(-1, 3), axis=0))
    assert colours >= min_colours, f"only {colours} distinct colours: a blank picture"
    assert rgb.std() > 10
    if png:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def _sequences(m=3, s=7, e=2, seed=0):
    return np.random.default_rng(seed).standard_normal((m, s, e))


# ------------------------------------------------------------------------------ the check itself
def test_the_blank_check_can_fail(mpl):
    from matplotlib.figure import Figure
    with pytest.raises(AssertionError, match="blank picture"):
        assert_picture(Figure(figsize=(3, 2)))


# ------------------------------------------------------------------------------ training curves
def test_training_curves_of_a_history_with_a_validation_gap(mpl):
    X, y = _sequences(m=12), np.arange(12) % 2
    model = Model([GRU(4), Dense(2, activation="softmax")], loss="scce", metrics=["accuracy"],
                  seed=0)
    model.train(X, y, epochs=2, batch_size=4, verbose=0)
    history = model.train(X, y, epochs=2, batch_size=4, validation=(X, y), verbose=0)
    fig = plot.training_curves(history, title="two calls")
    axes = [ax for ax in fig.axes if ax.lines]
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
    assert [l.get_label() for l in axes[0].lines] == ["train loss", "validation loss"]
    assert np.isnan(axes[0].lines[1].get_ydata()[:2]).all()     # no validation at epochs 1-2
    assert_picture(fig)


def test_training_curves_of_several_models_one_row_each(mpl):
    h = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.5], "lr": [0.1] * 3}
    fig = plot.training_curves({"a": h, "b": {"loss": [2.0, 1.0, 0.2]}})
    assert [ax.get_title() for ax in fig.axes if ax.lines] == ["a", "b"]
    assert_picture(fig)


def test_training_curves_of_an_empty_history_is_an_error(mpl):
    with pytest.raises(ValueError, match="no epoch yet"):
        plot.training_curves({"loss": []})


# ------------------------------------------------------------------------------ recurrent layers
@pytest.mark.parametrize("layer, names", [
    (RNN(5, sequences=True), ["h"]),
    (LSTM(5, sequences=True), ["i", "f", "g", "o", "C", "h"]),
    (GRU(5, sequences=True), ["r", "u", "n", "h"]),
], ids=["RNN", "LSTM", "GRU"])
def test_states_and_gates_draws_one_panel_per_gate_and_state(mpl, layer, names):
    model = Model([layer, Dense(1)], seed=0)
    model.predict(_sequences())
    fig = plot.states_and_gates(model.layers[0], sample=1)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title().split(":")[0] for ax in panels] == names
    # each panel shows the fc array of sample 1, units down, steps across
    for ax, name in zip(panels, names):
        shown = ax.images[0].get_array()
        np.testing.assert_array_equal(shown, model.layers[0].fc[name][1].T)
    assert_picture(fig, png=True)


def test_padded_steps_are_masked_out(mpl):
    model = Model([LSTM(3, sequences=True), Dense(1)], seed=0)
    mask = np.ones((2, 6), dtype=bool)
    mask[1, 4:] = False
    model.predict(_sequences(m=2, s=6), mask=mask)
    fig = plot.states_and_gates(model.layers[0], sample=1, names=["h"])
    shown = fig.axes[0].images[0].get_array()
    assert shown.mask[:, 4:].all() and not shown.mask[:, :4].any()


def test_states_and_gates_needs_a_forward_pass_and_a_recurrent_layer(mpl):
    with pytest.raises(ValueError, match="run a forward pass first"):
        plot.states_and_gates(LSTM(3))
    with pytest.raises(ValueError, match="not a recurrent layer"):
        plot.states_and_gates(Dense(3))


# ------------------------------------------------------------------------------ gradients
def test_gradient_norms_from_a_model_and_from_curves(mpl):
    X, Y = _sequences(m=4, s=12), np.zeros((4, 1))
    model = Model([RNN(4), Dense(1)], seed=0)
    fig = plot.gradient_norms(model, X, Y)
    line = fig.axes[0].lines[0]
    from unrolled.framework.diagnostics import gradient_norms_through_time
    np.testing.assert_allclose(line.get_ydata(), gradient_norms_through_time(model, X, Y))
    assert line.get_label() == "RNN 'rnn_0'" and fig.axes[0].get_yscale() == "log"
    assert_picture(fig)
    assert_picture(plot.gradient_norms({"a": np.geomspace(1e-3, 1, 10), "b": np.ones(10)}))


# ------------------------------------------------------------------------------ generic and future
def test_heatmap_of_a_plain_array(mpl):
    a = np.outer(np.arange(-3, 4), np.arange(5)).astype(float)
    fig = plot.heatmap(a, title="outer", xticklabels=list("abcde"))
    assert fig.axes[0].images[0].get_cmap().name.startswith(plot.DIVERGING)
    assert_picture(fig)
    with pytest.raises(ValueError, match="2-D array"):
        plot.heatmap(np.zeros(3))


def test_attention_weights_with_tokens_and_heads(mpl):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((2, 3, 4, 5))
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)   # (m, heads, q, k)
    fig = plot.attention_weights(weights, source_tokens="the cat sat on mats".split(),
                                 target_tokens="le chat est assis".split(), sample=1)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3
    np.testing.assert_array_equal(panels[2].images[0].get_array(), weights[1, 2])
    assert [t.get_text() for t in panels[0].get_xticklabels()] == "the cat sat on mats".split()
    assert_picture(fig)
    assert_picture(plot.attention_weights(weights[0, 0]))                    # (s_dec, s_enc)
    with pytest.raises(ValueError, match="source_tokens has 2 labels for 5 positions"):
        plot.attention_weights(weights[0, 0], source_tokens=["a", "b"])


@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 6), (3, 3, 4), (3, 3, 2, 5)])
def test_filters_one_panel_per_filter(mpl, shape):
    W = np.random.default_rng(1).standard_normal(shape)
    fig = plot.filters(W)
    assert len([ax for ax in fig.axes if ax.images]) == shape[-1]
    assert_picture(fig)


@pytest.mark.parametrize("shape, panels", [((2, 6, 5, 3), 3), ((2, 9, 4), 1)])
def test_feature_maps(mpl, shape, panels):
    A = np.random.default_rng(2).standard_normal(shape)
    fig = plot.feature_maps(A, sample=1)
    assert len([ax for ax in fig.axes if ax.images]) == panels
    assert_picture(fig)


# ------------------------------------------------------------------------------ no global state
def test_no_pyplot_and_the_backend_is_untouched(mpl):
    """In a fresh interpreter with a chosen backend: every function, and the examples' --plot,
    leave it chosen and never import pyplot."""
    code = "\n".join([
        "import sys, numpy as np, matplotlib",
        "matplotlib.use('svg')",
        "from unrolled import plot",
        "from unrolled.framework import Model",
        "from unrolled.layers import LSTM, Dense",
        "m = Model([LSTM(3, sequences=True), Dense(1)], seed=0)",
        "m.predict(np.ones((1, 4, 2)))",
        "plot.states_and_gates(m.layers[0]); plot.heatmap(np.eye(3))",
        "plot.training_curves({'loss': [1.0, 0.5]}); plot.filters(np.ones((3, 2)))",
        "plot.attention_weights(np.eye(3)); plot.feature_maps(np.ones((1, 3, 3, 2)))",
        "plot.gradient_norms({'a': np.ones(3)})",
        "import tempfile, os",
        "from unrolled.examples._plot import plot_history",
        "plot_history({'loss': [1.0, 0.5]}, os.path.join(tempfile.mkdtemp(), 'c.png'))",
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()",
        "assert 'matplotlib.pyplot' not in sys.modules",
        "print('ok')",
    ])
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_without_matplotlib_each_function_says_how_to_install(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "unrolled\[plot\]"'):
        plot.heatmap(np.eye(2))
    with pytest.raises(ImportError, match=r'pip install "unrolled\[plot\]"'):
        plot.training_curves({"loss": [1.0]})


# ------------------------------------------------------------------------------ the docs page
def test_every_picture_of_the_docs_page_is_written_by_its_code():
    """docs/plots.md shows images/<name>.png only for files its own blocks save (the docs test
    runs the blocks), and every file they save is shown."""
    import re
    import test_docs
    page = (ROOT / "docs" / "plots.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"!\[[^\]]*\]\(images/([\w.-]+\.png)\)", page))
    code = "\n".join(code for _, code in test_docs.python_blocks(page))
    saved = set(re.findall(r'savefig\("([\w.-]+\.png)"', code))
    assert shown and shown == saved
    for name in shown:
        assert (ROOT / "docs" / "images" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_notebook_gets_a_png_without_pyplot(mpl):
    fig = plot.heatmap(np.eye(3))
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("call, message", [
    (lambda: plot.feature_maps(np.zeros((2, 3, 3, 1)), sample=2),
     r"feature_maps: sample must lie in \[0, 1\], got 2"),
    (lambda: plot.filters(np.zeros(3)), r"filters: expected \(k, f\), .* got shape \(3,\)"),
    (lambda: plot.attention_weights(np.zeros((1, 2, 3, 4, 5))),
     r"attention_weights: expected \(s_dec, s_enc\), .* got shape \(1, 2, 3, 4, 5\)"),
])
def test_bad_arrays_are_clear_errors(mpl, call, message):
    with pytest.raises(ValueError, match=message):
        call()
