"""The date-format task (unrolled.datasets.dates) and its attention example (unrolled run dates)."""
import contextlib
import datetime
import io
import os

import numpy as np
import pytest

from unrolled.datasets import dates
from unrolled.datasets.dates import DATE_FORMATS
from unrolled.examples import _common, load

# How each format reads back with the standard library (the oracle; independent of the writer)
STRPTIME = {
    "month d, yyyy": "%B %d, %Y", "weekday, month d, yyyy": "%A, %B %d, %Y",
    "mon d yyyy": "%b %d %Y", "mon d, yyyy": "%b %d, %Y", "d month yyyy": "%d %B %Y",
    "d mon yyyy": "%d %b %Y", "wkd mon d yyyy": "%a %b %d %Y", "m/d/yy": "%m/%d/%y",
    "mm/dd/yy": "%m/%d/%y", "mm/dd/yyyy": "%m/%d/%Y", "yyyy-mm-dd": "%Y-%m-%d",
    "dd.mm.yyyy": "%d.%m.%Y",
}


def _pivot(date):
    """strptime's %y puts 69-99 in the 1900s; the dataset puts 50-99 there."""
    return date.replace(year=date.year - 100) if date.year >= 2050 else date


@pytest.fixture(scope="module")
def ds():
    return dates(n_train=600, n_val=100, n_test=300, seed=1)


def test_every_source_string_reads_back_as_its_target(ds):
    assert set(STRPTIME) == set(DATE_FORMATS)
    for split in ("train", "val", "test"):
        sources, targets = ds.extras["strings"][split]
        for src, tgt, kind in zip(sources, targets, ds.extras["formats"][split]):
            date = _pivot(datetime.datetime.strptime(src, STRPTIME[kind]).date())
            assert date.isoformat() == tgt, (src, kind)
            assert "1950-01-01" <= tgt <= "2049-12-31"
            # the weekday written in the source is the date's real weekday
            if kind.startswith(("weekday", "wkd")):
                assert src[:3].lower() == date.strftime("%a").lower()


def test_arrays_encode_the_strings(ds):
    X, Y, mask = ds.test.X, ds.test.Y, ds.test.mask
    vocab, decode = ds.extras["source_vocab"], ds.extras["decode_target"]
    sources, targets = ds.extras["strings"]["test"]
    assert X.shape == (300, 29) and Y.shape == (300, 10) and mask.shape == (300, 29)
    assert len(vocab) == 68 and vocab[0] == "_" and X.max() < 68
    assert decode(Y) == targets
    assert ds.extras["decode_source"](X) == sources
    for i in (0, 1, 299):
        assert mask[i].sum() == len(sources[i]) and mask[i, :len(sources[i])].all()
        assert "".join(vocab[j] for j in X[i, mask[i]]) == sources[i]
    assert np.all((X != 0) == mask)                  # id 0 pads, and only pads
    again, again_mask = ds.extras["encode_source"](sources[:3])
    np.testing.assert_array_equal(again, X[:3])
    np.testing.assert_array_equal(again_mask, mask[:3])


def test_held_out_dates_never_appear_in_training(ds):
    train = set(ds.extras["strings"]["train"][1])
    assert not train & set(ds.extras["strings"]["test"][1])
    assert not train & set(ds.extras["strings"]["val"][1])


def test_deterministic_and_varied():
    a, b = dates(n_train=200, n_val=10, n_test=50, seed=3), dates(n_train=200, n_val=10, n_test=50, seed=3)
    assert a.extras["strings"] == b.extras["strings"]
    np.testing.assert_array_equal(a.train.X, b.train.X)
    other = dates(n_train=200, n_val=10, n_test=50, seed=4)
    assert other.extras["strings"]["train"] != a.extras["strings"]["train"]
    big = dates(n_train=3000, n_val=0, n_test=10, seed=0)
    assert set(big.extras["formats"]["train"]) == set(DATE_FORMATS)
    words = " ".join(big.extras["strings"]["train"][0])
    assert "september" in words and "SEPTEMBER" in words and "September" in words
    with pytest.raises(ValueError, match="n_train must be >= 1"):
        dates(n_train=0)


# ----------------------------------------------------------------------------- the example
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("dates") / "curves.png"
    out = io.StringIO()
    with _common.blas_threads(1), contextlib.redirect_stdout(out):
        plot = str(path) if _common.plotting_available() else None
        result = load("dates").main(quick=True, verbose=0, seed=0, plot=plot)
    return result, out.getvalue(), path


def test_quick_run_attention_beats_the_same_network_without_it(quick_run):
    """3,000 dates, 3 epochs of 32 units: attention gets most dates exactly right (89.5% at
    seed 0), the same network without attention, trained as long, almost none."""
    result, out, _ = quick_run
    m = result["metrics"]
    assert m["exact_match"] >= 0.75, m
    assert m["no_attention_exact_match"] < 0.2, m
    assert m["no_attention_seconds"] >= m["train_seconds"]
    assert "exact dates, 1,000 held out, attention" in out


def test_quick_run_prints_and_returns_the_alignment(quick_run):
    result, out, _ = quick_run
    source, output = result["alignment_strings"]
    weights = result["alignment"]
    assert weights.shape == (10, len(source))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    assert "alignment of one test date" in out and source in out
    # the year's last digit (output step 3) is read from the year's last digit of the source:
    # the last character, or the fourth in yyyy-mm-dd
    year_end = 3 if source[4:5] == "-" else len(source) - 1
    assert weights[3].argmax() == year_end and weights[3].max() > 0.5, (source, weights[3])


def test_quick_run_writes_the_heatmap(quick_run):
    pytest.importorskip("matplotlib")
    _, out, path = quick_run
    heatmap = path.parent / "curves_attention.png"
    assert heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"attention heatmap written to {heatmap}" in out


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("UNROLLED_SLOW") != "1",
                    reason="full example (about a minute); run with UNROLLED_SLOW=1")
def test_full_run_reaches_99_percent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with _common.blas_threads(1), contextlib.redirect_stdout(io.StringIO()):
        result = load("dates").main(verbose=0, seed=0)
    assert result["metrics"]["exact_match"] >= 0.99, result["metrics"]
    assert result["metrics"]["no_attention_exact_match"] < 0.5, result["metrics"]
