"""The ``unrolled`` command line (unrolled.cli) and ``python -m unrolled``."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unrolled import __version__, cli
from unrolled.examples import DEFAULT, EXAMPLES, _common, descriptions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_blas_thread():
    with _common.blas_threads(1):
        yield


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def test_list_shows_every_example_with_its_description(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == len(EXAMPLES)
    for line, (name, text) in zip(lines, descriptions().items()):
        assert line.split()[0] == name
        assert text in line
    assert "(default)" in lines[EXAMPLES.index(DEFAULT)]


def test_unknown_name_exits_2_and_lists_the_names(capsys):
    assert cli.main(["run", "no_such_example"]) == 2
    err = capsys.readouterr().err
    assert "unknown example 'no_such_example'" in err
    for name in EXAMPLES:
        assert name in err


def test_bad_epochs_is_a_usage_error(capsys):
    assert cli.main(["run", "iris", "--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    out = capsys.readouterr().out
    assert "list" in out and "run" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_plot_without_matplotlib_says_how_to_install(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "matplotlib" else real(name, *a, **k))

    def must_not_run(name):
        raise AssertionError("the example was started although --plot cannot be honoured")

    monkeypatch.setattr("unrolled.examples.load", must_not_run)
    path = tmp_path / "curves.png"
    status = cli.main(["run", "--plot", str(path)])
    assert status != 0
    assert ("matplotlib is needed for --plot: pip install 'unrolled[plot]'"
            in capsys.readouterr().err)
    assert not path.exists()


def test_run_default_example_quick(capsys):
    assert cli.main(["run", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "exact sums, 1,000 held-out pairs" in out


def test_run_passes_the_options(monkeypatch):
    seen = {}

    def fake_main(**kwargs):
        seen.update(kwargs)
        return {}

    import unrolled.examples.iris as iris
    monkeypatch.setattr(iris, "main", fake_main)
    assert cli.main(["run", "iris", "--epochs", "3", "--seed", "5", "--quick"]) == 0
    assert seen == {"epochs": 3, "seed": 5, "verbose": 1, "plot": None, "quick": True}


def test_python_dash_m_unrolled_list():
    proc = subprocess.run([sys.executable, "-m", "unrolled", "list"], cwd=str(ROOT), env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in EXAMPLES:
        assert name in proc.stdout


def test_python_dash_m_unrolled_unknown_name():
    proc = subprocess.run([sys.executable, "-m", "unrolled", "run", "nope"], cwd=str(ROOT),
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "binary_addition" in proc.stderr


def test_python_dash_m_unrolled_run_quick():
    proc = subprocess.run([sys.executable, "-m", "unrolled", "run", "binary_addition", "--quick"],
                          cwd=str(ROOT), env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "exact sums" in proc.stdout


def test_run_in_process_leaves_the_environment_alone(monkeypatch):
    """numpy is imported already: setting OPENBLAS_NUM_THREADS now would not reach it, and
    would make later blas_threads() calls believe the user fixed the thread count."""
    import contextlib
    import io
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["run", "iris", "--quick"]) == 0
    assert "OPENBLAS_NUM_THREADS" not in os.environ
