"""The worked examples in unrolled.examples, run in quick mode.

Each quick run must clear a bar that a broken layer could not: well above the trivial baseline of
its task (majority class, "always predict 1", persistence, a memoryless rule...), and for the
sequence tasks above what a network without working recurrence can reach.
"""
import importlib
import importlib.util
import inspect
import io
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unrolled.examples import DEFAULT, EXAMPLES, ORDER, _common, descriptions, load
from unrolled.framework.model import History

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Small matrices: threaded BLAS only slows these runs down (badly on a busy machine)."""
    with _common.blas_threads(1):
        yield


_results = {}


def run_quick(name):
    """Run an example once in quick mode (cached: several tests read the same run)."""
    if name not in _results:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = load(name).main(quick=True, verbose=0, seed=0)
        _results[name] = (result, out.getvalue())
    return _results[name]


# ----------------------------------------------------------------------------- interface
def test_registry_lists_every_module():
    here = Path(importlib.import_module("unrolled.examples").__file__).parent
    modules = {p.stem for p in here.glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(EXAMPLES)
    assert set(ORDER) <= set(EXAMPLES)
    assert EXAMPLES[:len(ORDER)] == ORDER
    assert DEFAULT == "binary_addition" and DEFAULT in EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_module_interface(name):
    module = load(name)
    assert module.NAME == name
    # a one-line summary for `unrolled list`, and a docstring that opens with one
    assert module.DESCRIPTION.strip() and "\n" not in module.DESCRIPTION
    assert len(module.DESCRIPTION) <= 120
    assert descriptions()[name] == module.DESCRIPTION
    assert module.__doc__.strip().splitlines()[0].strip()
    params = inspect.signature(module.main).parameters
    assert {k: p.default for k, p in params.items()} == {
        "epochs": None, "seed": 0, "verbose": 1, "plot": None, "quick": False}
    assert "__main__" in Path(module.__file__).read_text()


def test_unknown_example_name():
    with pytest.raises(ValueError, match="valid names: binary_addition"):
        load("no_such_example")


# ----------------------------------------------------------------------------- results
def _check_result(result):
    assert set(result) >= {"metrics", "reference", "history", "epochs", "seconds"}
    assert result["epochs"] >= 1 and result["seconds"] > 0
    histories = result["history"]
    if not isinstance(histories, History):
        histories = histories.values()
    else:
        histories = [histories]
    for h in histories:
        assert isinstance(h, History) and h.epochs >= 1


def test_binary_addition_quick():
    result, out = run_quick("binary_addition")
    _check_result(result)
    m = result["metrics"]
    # the no-carry rule a XOR b gets about 18% of the sums right
    assert result["reference"]["xor_sum_accuracy"] < 0.3
    assert m["exact_sum_accuracy"] >= 0.9
    assert "exact sums" in out and "Some held-out sums it gets right" in out


def test_embedded_reber_quick():
    result, _ = run_quick("embedded_reber")
    _check_result(result)
    m = result["metrics"]
    # a network without memory is at chance (50%) on the long-lag symbol
    assert m["long_lag_accuracy"] >= 0.95
    assert m["legal_step_fraction"] >= 0.97


def test_adding_problem_quick():
    result, _ = run_quick("adding_problem")
    _check_result(result)
    base = result["reference"]["predict_1_mse"]
    assert 0.13 < base < 0.2
    assert result["metrics"]["mse"] < 0.02          # ~8x below "always predict 1"


def test_parity_quick():
    result, _ = run_quick("parity")
    _check_result(result)
    assert result["metrics"]["accuracy"] >= 0.9     # majority class: 50%
    assert result["metrics"]["accuracy_41_50"] >= 0.85


def test_sine_quick():
    result, _ = run_quick("sine")
    _check_result(result)
    assert result["metrics"]["mse"] < result["reference"]["persistence_mse"] / 5


def test_digits_quick():
    result, _ = run_quick("digits")
    _check_result(result)
    assert result["metrics"]["accuracy"] >= 0.8     # majority class: ~10%


def test_iris_quick():
    result, _ = run_quick("iris")
    _check_result(result)
    assert result["metrics"]["accuracy"] >= 0.8     # majority class: 33%


def test_sunspots_quick():
    result, _ = run_quick("sunspots")
    _check_result(result)
    assert 0.4 < result["reference"]["persistence_arv"] < 0.45
    assert result["metrics"]["arv"] < 0.25


def test_co2_quick():
    result, _ = run_quick("co2")
    _check_result(result)
    assert result["metrics"]["rmse"] < result["reference"]["seasonal_naive_drift_rmse"]


def test_hamlet_quick():
    result, out = run_quick("hamlet")
    _check_result(result)
    # unigram entropy 4.66 bits/char; a bigram model (the previous character only, no memory)
    # scores 3.53 bits/char on the test text
    assert 3.4 < result["reference"]["bigram_bits"] < 3.7
    assert result["metrics"]["bits_per_char"] < 3.4
    assert "sampled at temperature" in out


def test_epynn_smoke_quick():
    result, _ = run_quick("epynn_smoke")
    _check_result(result)
    m = result["metrics"]
    assert set(m) == {"boolean_majority", "string_first_last", "signal_in_noise", "small_images"}
    assert m["boolean_majority"] >= 0.85
    assert m["string_first_last"] >= 0.8
    assert m["small_images"] >= 0.9
    assert m["signal_in_noise"] >= 0.6
    assert all(v == 0.5 for v in result["reference"]["majority_accuracy"].values())


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n not in ORDER])
def test_other_examples_run_quick(name):
    """Examples added after the ones above: they run in quick mode and report their result."""
    result, _ = run_quick(name)
    _check_result(result)
    assert result["metrics"] and result["reference"]


def test_same_seed_same_result():
    first = load("iris").main(quick=True, verbose=0, seed=3)
    second = load("iris").main(quick=True, verbose=0, seed=3)
    assert first["metrics"] == second["metrics"]
    assert first["history"]["loss"] == second["history"]["loss"]


# ----------------------------------------------------------------------------- plotting
def _without_matplotlib(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name.split(".")[0] == "matplotlib" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_plot_without_matplotlib_fails_before_training(monkeypatch, tmp_path):
    _without_matplotlib(monkeypatch)
    path = tmp_path / "curves.png"
    with pytest.raises(ImportError, match=r"pip install 'unrolled\[plot\]'"):
        load("iris").main(quick=True, verbose=0, plot=str(path))
    assert not path.exists()


def test_script_plot_without_matplotlib(monkeypatch, capsys, tmp_path):
    _without_matplotlib(monkeypatch)
    module = load("iris")
    status = _common.run_script(module.main, module.DESCRIPTION,
                                ["--quick", "--plot", str(tmp_path / "c.png")])
    assert status == 1
    assert "matplotlib is needed for --plot: pip install 'unrolled[plot]'" in capsys.readouterr().err


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    with contextlib.redirect_stdout(io.StringIO()):
        load("iris").main(quick=True, verbose=0, plot=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_history_of_several_models(tmp_path):
    pytest.importorskip("matplotlib")
    from unrolled.examples._plot import plot_history
    h = History()
    h.append({"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4, "lr": 0.1})
    h.append({"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7, "lr": 0.1})
    path = tmp_path / "two.png"
    plot_history({"a": h, "b": h}, str(path), title="two models")
    assert path.exists()


# ----------------------------------------------------------------------------- scripts
def test_example_runs_as_a_module_from_the_checkout():
    """``python -m unrolled.examples.NAME`` from the repository root: no path tricks in the
    example, the checkout is importable because the current folder is on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "unrolled.examples.binary_addition", "--quick",
         "--epochs", "8", "--seed", "1"],
        cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "exact sums, 1,000 held-out pairs" in proc.stdout


def test_example_runs_as_a_plain_script_when_unrolled_is_importable(tmp_path):
    """A plain script imports ``unrolled`` like user code: with the package importable (installed,
    or here on PYTHONPATH) it runs from any folder."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "unrolled" / "examples" / "iris.py"), "--help"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--epochs" in proc.stdout and "Iris flowers" in proc.stdout


def test_examples_change_no_import_path():
    here = ROOT / "unrolled" / "examples"
    offenders = [p.name for p in here.glob("*.py") if "sys.path" in p.read_text(encoding="utf-8")]
    assert not offenders, f"examples that edit sys.path: {offenders}"


def test_script_arguments():
    args = _common.parse_args("x", ["--epochs", "3", "--seed", "7", "--quick", "--plot", "a.png"])
    assert (args.epochs, args.seed, args.quick, args.plot) == (3, 7, True, "a.png")
    args = _common.parse_args("x", [])
    assert (args.epochs, args.seed, args.quick, args.plot) == (None, 0, False, None)
    with pytest.raises(SystemExit):
        _common.parse_args("x", ["--epochs", "0"])


def test_a_thread_count_set_by_the_user_wins(monkeypatch):
    from unrolled import threads
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threads.prefer_threads_env(1)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2" and os.environ["OMP_NUM_THREADS"] == "1"
