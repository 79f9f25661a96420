"""The Transformer example: in quick mode the Transformer reverses held-out strings and its
attention is the anti-diagonal the task calls for; the heatmap is a PNG drawn without pyplot.
The full run (published numbers in docs/examples.md) runs with UNROLLED_SLOW=1."""
import os

import numpy as np
import pytest

from unrolled.examples import transformer as example

try:                    # shares the quick run with tests/test_examples.py when both run
    from test_examples import run_quick
except ImportError:     # pragma: no cover
    def run_quick(name):
        return example.main(quick=True, verbose=0, seed=0), ""


def test_quick_run_reverses_strings_and_attends_to_the_mirrored_step():
    result, _ = run_quick("transformer")
    m = result["metrics"]
    assert m["transformer_exact_match"] >= 0.9             # chance: 1e-6 a string
    assert m["rnn_exact_match"] >= 0.1 and m["rnn_accuracy"] >= 0.5
    weights = result["attention"]                           # (heads, L, L) of one string
    L = weights.shape[-1]
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    assert list(weights.mean(axis=0).argmax(axis=1)) == [L - 1 - t for t in range(L)]
    assert result["heatmap"] is None                        # quick mode writes no file unasked


def test_alignment_text_names_the_most_attended_input():
    weights = np.array([[[0.1, 0.9], [0.8, 0.2]]])
    text = example.alignment_text(weights, "12", "21")
    assert text.splitlines() == ["  output  0 '2' <- input  1 '2'  (weight 0.90)",
                                 "  output  1 '1' <- input  0 '1'  (weight 0.80)"]


def test_heatmap_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(5), size=(2, 5))
    path = example.save_heatmap(weights, "12345", "54321", str(tmp_path / "a.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 5000


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("UNROLLED_SLOW") != "1", reason="full run: UNROLLED_SLOW=1")
def test_full_run_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = example.main(verbose=0)
    m = result["metrics"]
    assert m["transformer_exact_match"] >= 0.99
    assert m["rnn_exact_match"] >= 0.95
