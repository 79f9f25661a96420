"""The registry: user layers, activations, losses and metrics are saved and loaded like built-in
ones, in a fresh process once the user's module is imported; loading never imports a module the
file names; clashes and missing classes are clear errors naming the class and the remedy."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import unrolled
import unrolled.layers
from unrolled.framework import registry, serialization
from unrolled.framework.activations import ACTIVATIONS, Activation, get_activation
from unrolled.framework.layer import Layer
from unrolled.framework.losses import LOSSES, MSE
from unrolled.framework.metrics import METRICS
from unrolled.framework.model import Model
from unrolled.framework.serialization import load_model
from unrolled.layers import Dense

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(unrolled.__file__)))

# A user's module: a layer with a parameter, an activation, a loss and a metric of her own.
USER_MODULE = textwrap.dedent('''
    import numpy as np
    from unrolled.framework.activations import Activation
    from unrolled.framework.layer import Layer
    from unrolled.framework.losses import MSE
    from unrolled.framework.registry import register_activation, register_loss, register_metric

    class Shift(Layer):
        """A = X + beta, one learnable shift per feature."""
        def compute_shapes(self, A):
            self.d["n"] = A.shape[-1]
            self.fs["X"] = self.fs["A"] = A.shape
            self.fs["beta"] = (1, self.d["n"])
        def initialize_parameters(self):
            self.p["beta"] = self.rng.standard_normal(self.fs["beta"]).astype(self.dtype)
        def forward(self, A):
            self.fc["X"] = A
            self.fc["A"] = A + self.p["beta"]
            return self.fc["A"]
        def backward(self, dA):
            self.bc["dA"] = self.bc["dX"] = dA
            return dA
        def compute_gradients(self):
            self.g["dbeta"] = self.bc["dA"].sum(axis=0, keepdims=True)

    @register_activation
    class Softsign(Activation):
        name = "softsign"
        def forward(self, z, out=None):
            return self._emit(z / (1 + np.abs(z)), out)
        def backward(self, da, a, z=None, out=None):
            return self._emit(da * (1 - np.abs(a)) ** 2, out)

    @register_loss
    class HalfMSE(MSE):
        name = "half_mse"
        def elementwise(self, A, Y):
            return 0.5 * (A - Y) ** 2
        def elementwise_grad(self, A, Y):
            return A - Y

    @register_metric
    def max_error(A, Y, task=None, mask=None):
        return float(np.max(np.abs(A - Y)))
''')

SAVE = textwrap.dedent('''
    import sys, numpy as np
    import my_layers
    from unrolled.framework.model import Model
    from unrolled.layers import Dense
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    model = Model([Dense(4, "softsign", name="hidden"), my_layers.Shift(name="shift"),
                   Dense(2, name="out")], loss="half_mse", metrics=["max_error"],
                  optimizer="adam", seed=1)
    model.train(X, Y, epochs=2, batch_size=4, verbose=0)
    model.save(sys.argv[1])
    np.save(sys.argv[2], model.predict(X))
''')

LOAD = textwrap.dedent('''
    import sys, numpy as np
    if sys.argv[3] == "import":
        import my_layers
    from unrolled.framework.serialization import load_model
    try:
        model = load_model(sys.argv[1])
    except ValueError as err:
        print(err)
        print("imported my_layers:", "my_layers" in sys.modules)
        sys.exit(3)
    X = np.random.default_rng(0).standard_normal((16, 3))
    assert np.array_equal(model.predict(X), np.load(sys.argv[2]))
    assert type(model["shift"]).__module__ == "my_layers"
    assert model.loss.name == "half_mse" and list(model.metrics) == ["max_error"]
    assert model["hidden"].activation.name == "softsign"
    print(model.evaluate(X, X[:, :2] * 0)["max_error"] > 0)
''')


def run(code, *args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_user_layer_activation_loss_metric_save_and_load_in_a_fresh_process(tmp_path):
    (tmp_path / "my_layers.py").write_text(USER_MODULE)
    saved = run(SAVE, "m.npz", "pred.npy", cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    meta = json.loads(bytes(np.load(tmp_path / "m.npz")[serialization.META_KEY]).decode())
    assert [spec["type"] for spec in meta["layers"]] == ["Dense", "Shift", "Dense"]
    assert meta["layers"][1]["module"] == "my_layers"

    loaded = run(LOAD, "m.npz", "pred.npy", "import", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "True"

    # without the user's import: one clear error naming the class, its module and the remedy,
    # and the module named in the file was not imported by load_model
    missing = run(LOAD, "m.npz", "pred.npy", "no-import", cwd=tmp_path)
    assert missing.returncode == 3, missing.stderr
    assert "unknown activation 'softsign'" in missing.stdout
    assert "register_activation) and its module imported" in missing.stdout
    assert "imported my_layers: False" in missing.stdout


def test_loading_never_imports_the_module_a_file_names(tmp_path, monkeypatch):
    """A file naming a class of an importable module with a side effect: load refuses it and
    the module never runs."""
    marker = tmp_path / "RAN"
    (tmp_path / "evil_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nfrom unrolled.framework.layer import Layer\n"
        f"class Evil(Layer):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = Model([Dense(2, name="a")], seed=0)
    model.predict(np.zeros((1, 3)))
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path) as archive:
        entries = {k: archive[k] for k in archive.files}
    meta = json.loads(bytes(entries[serialization.META_KEY]).decode())
    meta["layers"][0].update(type="Evil", module="evil_module")
    meta["layers"][0]["config"] = {}
    entries[serialization.META_KEY] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **entries)
    with pytest.raises(ValueError, match="unknown type 'Evil'.*'evil_module'") as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert not marker.exists() and "evil_module" not in sys.modules


def test_a_layer_subclass_registers_itself_under_its_name():
    class Doubler(Layer):
        pass

    assert registry.table("layer")["Doubler"] is Doubler
    assert registry.name_of("layer", Doubler) == "Doubler"
    assert unrolled.layers.LAYER_TYPES is registry.table("layer")   # one table for everybody
    assert registry.table("layer")["Dense"] is Dense


def test_redefining_the_same_class_replaces_it():
    """A re-run notebook cell defines the class again: the newest definition is registered."""
    first = type("Rerun", (Layer,), {"__module__": "notebook_cell"})
    second = type("Rerun", (Layer,), {"__module__": "notebook_cell"})
    assert first is not second
    assert registry.table("layer")["Rerun"] is second


def test_registered_name_avoids_a_clash():
    mine = type("Dense", (Dense,), {"__module__": "students_module", "registered_name": "my_dense"})
    assert registry.table("layer")["my_dense"] is mine
    assert registry.table("layer")["Dense"] is Dense


def test_a_clash_is_refused_naming_both_classes_and_the_remedy(tmp_path):
    clash = type("LSTM", (Layer,), {"__module__": "students_module"})   # defining it is allowed
    assert registry.table("layer")["LSTM"] is unrolled.layers.LSTM       # the built-in keeps it
    with pytest.raises(ValueError, match=r"the layer name 'LSTM' of students_module\.LSTM is "
                                         r"already taken by unrolled\.layers\.lstm\.LSTM.*"
                                         r"registered_name = 'my_name'"):
        registry.name_of("layer", clash)

    with pytest.raises(ValueError, match="activation name 'tanh'.*already taken.*"
                                         "register_activation\\(name='my_name'\\)"):
        registry.register_activation(type("Tanh", (Activation,), {"name": "tanh"}))
    assert ACTIVATIONS["tanh"].__module__ == "unrolled.framework.activations"


def test_registered_entries_are_found_by_the_ordinary_lookups():
    @registry.register_activation(name="neg")
    class Negate(Activation):
        def forward(self, z, out=None):
            return self._emit(-z, out)

    @registry.register_loss
    class DoubleMSE(MSE):
        name = "double_mse"

    @registry.register_metric
    def zero_metric(A, Y, task=None, mask=None):
        return 0.0

    try:
        assert type(get_activation("neg")) is Negate
        model = Model([Dense(1, name="o")], loss="double_mse", metrics=["zero_metric"])
        assert type(model.loss) is DoubleMSE and model.metrics["zero_metric"] is zero_metric
    finally:
        del ACTIVATIONS["neg"], LOSSES["double_mse"], METRICS["zero_metric"]


def test_an_unregistered_activation_class_is_refused_at_save(tmp_path):
    class Unlisted(Activation):
        name = "unlisted"

        def forward(self, z, out=None):
            return self._emit(z, out)

    layer = Dense(1, name="o")
    layer.activation = Unlisted()
    model = Model([layer], seed=0)
    model.save(tmp_path / "m.npz")            # the activation is saved by name ...
    with pytest.raises(ValueError, match="unknown activation 'unlisted'"):
        load_model(tmp_path / "m.npz")        # ... and a name nobody registered is refused


def test_a_user_recurrent_layer_inside_a_wrapper_keeps_its_registered_name(tmp_path):
    """Bidirectional and the composites record an inner layer by its registered name, so a
    user layer with a registered_name of its own round-trips inside them too."""
    import numpy as np
    from unrolled.framework import Model, load_model
    from unrolled.layers import LSTM, Bidirectional, Dense, Residual

    class WrappedLSTM(LSTM):
        registered_name = "test_wrapped_lstm"

    class WrappedDense(Dense):
        registered_name = "test_wrapped_dense"

    model = Model([Bidirectional(WrappedLSTM(3), merge="sum"), Residual(WrappedDense(3)),
                   Dense(1)], seed=0)
    X = np.random.default_rng(0).standard_normal((2, 4, 3))
    model.build(X)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert type(loaded.layers[0].forward_layer) is WrappedLSTM
    assert type(loaded.layers[1].branch) is WrappedDense
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
