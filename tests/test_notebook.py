"""The notebook path, end to end: a notebook executed by a real Jupyter kernel (nbclient) trains
with a visible progress bar, shows the summary and the model's HTML table, draws the gates of an
LSTM with unrolled.plot, saves and reloads the model, and saves and reloads a model holding a
layer defined in a notebook cell. Skipped without nbclient, nbformat, ipykernel or matplotlib."""
import base64
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

PARAMETERS = 4 * 5 * (2 + 5 + 1) + (5 + 1)      # LSTM(5) on 2 features, then Dense(1)

CELLS = {
    "setup": f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import numpy as np
import unrolled
from unrolled.framework import Model
from unrolled.layers import LSTM, Dense
print("unrolled from", unrolled.__file__)
""",
    "train": """
rng = np.random.default_rng(0)
X, Y = rng.standard_normal((32, 6, 2)), rng.standard_normal((32, 1))
model = Model([LSTM(5, name="lstm"), Dense(1)], loss="mse", seed=0)
history = model.train(X, Y, epochs=3, batch_size=8)
""",
    "summary": "model.summary()",
    "html": "model",
    "gates": """
from unrolled import plot
model.predict(X[:2])
plot.states_and_gates(model["lstm"], sample=1)
""",
    "save and reload": """
import os, tempfile
path = os.path.join(tempfile.mkdtemp(), "model.npz")
model.save(path)
loaded = Model.load(path)
np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
assert loaded.epoch == 3 and loaded.history == model.history
print("reloaded", type(loaded.layers[0]).__name__, "with", loaded.n_parameters, "parameters")
""",
    "user layer": """
from unrolled.framework import Layer, gradcheck

class Scale(Layer):
    \"\"\"A = X * s, one learned scale per feature.\"\"\"
    weight_names = ("s",)

    def compute_shapes(self, A):
        self.check_size("n", A.shape[-1])
        self.d["n"] = A.shape[-1]
        self.fs.update(X=A.shape, A=A.shape, s=(1, A.shape[-1]))

    def initialize_parameters(self):
        self.p["s"] = np.ones(self.fs["s"], dtype=self.dtype)

    def forward(self, A):
        self.check_input(A)
        self.fc["X"] = A
        self.fc["A"] = A * self.p["s"]
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        self.bc["dX"] = dA * self.p["s"]
        return self.bc["dX"]

    def compute_gradients(self):
        X, dA = self.fc["X"], self.bc["dA"]
        self.g["ds"] = (X * dA).reshape(-1, X.shape[-1]).sum(axis=0, keepdims=True)

custom = Model([LSTM(5), Scale(), Dense(1)], loss="mse", seed=0)
custom.train(X, Y, epochs=2, batch_size=8, verbose=0)
assert gradcheck(custom, X[:4], Y[:4]).worst < 1e-6
path = os.path.join(tempfile.mkdtemp(), "custom.npz")
custom.save(path)
again = Model.load(path)
np.testing.assert_array_equal(again.predict(X), custom.predict(X))
print("reloaded a", type(again.layers[1]).__name__, "layer, scales", again.layers[1].p["s"].round(3))
""",
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    if not _have_kernel("python3"):
        pytest.skip("no Jupyter kernel named python3")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code.strip(), metadata={"name": name})
                for name, code in CELLS.items()]
    folder = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    nbformat.write(nb, str(folder / "executed.ipynb"))
    return {cell.metadata["name"]: cell.outputs for cell in nb.cells}


def _have_kernel(name):
    from jupyter_client.kernelspec import KernelSpecManager
    return name in KernelSpecManager().find_kernel_specs()


def _text(outputs, stream=None):
    return "".join(o.get("text", "") for o in outputs
                   if o.output_type == "stream" and stream in (None, o.name))


def _data(outputs, mime):
    return [o.data[mime] for o in outputs
            if o.output_type in ("execute_result", "display_data") and mime in o.data]


def test_the_kernel_imports_this_checkout(executed):
    assert f"unrolled from {ROOT / 'unrolled' / '__init__.py'}" in _text(executed["setup"])


def test_training_shows_a_progress_bar_that_reaches_the_last_epoch(executed):
    outputs = executed["train"]
    bar = _text(outputs) + "".join(str(d) for d in _data(outputs, "text/plain"))
    if _data(outputs, "application/vnd.jupyter.widget-view+json"):
        assert "epoch" in bar                 # the ipywidgets bar; its text is its first state
    else:
        assert "3/3" in bar and "100%" in bar and "epoch" in bar and "loss=" in bar


def test_summary_prints_once_and_is_not_echoed(executed):
    outputs = executed["summary"]
    text = _text(outputs, "stdout")
    assert text.count(f"Total params: {PARAMETERS}") == 1 and "lstm (LSTM)" in text
    assert not _data(outputs, "text/plain")


def test_a_bare_model_shows_its_html_table(executed):
    (page,) = _data(executed["html"], "text/html")
    assert "<table>" in page and "<td>lstm</td><td>LSTM</td>" in page and "3 epochs trained" in page


def test_the_lstm_gates_are_drawn_as_a_png(executed):
    (png,) = _data(executed["gates"], "image/png")
    raw = base64.b64decode(png)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 10_000


def test_the_model_saves_and_reloads(executed):
    assert f"reloaded LSTM with {PARAMETERS} parameters" in _text(executed["save and reload"])


def test_a_model_with_a_layer_defined_in_the_notebook_saves_and_reloads(executed):
    assert "reloaded a Scale layer, scales" in _text(executed["user layer"])
