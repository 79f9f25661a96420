"""What training shows and keeps: History aligned by epoch (NaN where an epoch logged nothing)
with Keras' ``.history`` and ``.epoch``; the progress bar on a terminal, one line per epoch in a
log; ``summary()`` printed and returned; the model's repr and HTML summary."""
import json
import math
import re

import numpy as np
import pytest

from unrolled.framework import History, Model
from unrolled.framework import model as model_module
from unrolled.layers import LSTM, Dense


def _data(m=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, 4, 3)), rng.integers(0, 2, m)


def _model(**kw):
    return Model([LSTM(4), Dense(2, activation="softmax")], loss="scce", seed=0, **kw)


# ----------------------------------------------------------------------------- History
def test_history_stays_aligned_across_calls_with_and_without_validation():
    X, y = _data()
    model = _model(metrics=["accuracy"])
    model.train(X, y, epochs=2, batch_size=4, verbose=0)
    model.train(X, y, epochs=3, batch_size=4, validation=(X, y), verbose=0)
    h = model.train(X, y, epochs=1, batch_size=4, verbose=0)
    assert h.epochs == 6 and h.epoch == [0, 1, 2, 3, 4, 5]
    assert {k: len(v) for k, v in h.items()} == {k: 6 for k in
                                                 ("loss", "accuracy", "lr", "val_loss",
                                                  "val_accuracy")}
    val = h["val_loss"]
    assert [math.isnan(v) for v in val] == [True, True, False, False, False, True]
    # the validation value of epoch k is the one logged at epoch k
    assert val[4] == pytest.approx(model.history["val_loss"][4])
    assert not any(math.isnan(v) for v in h["loss"])


def test_append_fills_new_and_missing_names_with_nan():
    h = History()
    h.append({"loss": 1.0})
    h.append({"loss": 0.5, "val_loss": 0.7})
    h.append({"loss": 0.25})
    assert h["loss"] == [1.0, 0.5, 0.25]
    assert math.isnan(h["val_loss"][0]) and h["val_loss"][1] == 0.7 and math.isnan(h["val_loss"][2])
    assert h.last() == {"loss": 0.25}
    assert h.history is h and h.epoch == [0, 1, 2]


def test_history_is_still_a_dict_of_lists_and_round_trips_json():
    h = History()
    h.append({"loss": 1.0, "lr": 0.1})
    h.append({"loss": 0.5, "lr": 0.1, "val_loss": 0.6})
    assert isinstance(h, dict) and h["loss"] == [1.0, 0.5]
    back = History()
    for key, values in json.loads(json.dumps(h)).items():
        back[key] = values
    assert back == h               # NaN is one object, so equal lists stay equal


def test_history_goes_straight_into_pandas():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    model = _model()
    model.train(X, y, epochs=2, batch_size=6, verbose=0)
    h = model.train(X, y, epochs=2, batch_size=6, validation=(X, y), verbose=0)
    frame = pd.DataFrame(h.history, index=h.epoch)
    assert frame.shape == (4, 3) and frame["val_loss"].isna().tolist() == [True, True, False, False]


# ----------------------------------------------------------------------------- progress
def test_verbose_1_in_a_log_prints_one_line_per_epoch(capsys, monkeypatch):
    monkeypatch.setattr(model_module, "_output_kind", lambda: "log")
    X, y = _data()
    model = _model()
    model.train(X, y, epochs=2, batch_size=4)
    model.train(X, y, epochs=3, batch_size=4, validation=(X, y))
    out = capsys.readouterr()
    lines = out.out.strip().split("\n")
    assert len(lines) == 5 and out.err == ""
    assert [re.match(r"epoch (\d+)/(\d+): loss=", l).groups() for l in lines] == \
        [("1", "2"), ("2", "2"), ("3", "5"), ("4", "5"), ("5", "5")]
    assert "val_loss=" in lines[-1] and "val_loss=" not in lines[0]


def test_pytest_capture_counts_as_a_log(capsys):
    """Captured output is neither a terminal nor a notebook (as in CI)."""
    assert model_module._output_kind() == "log"


def test_verbose_1_on_a_terminal_draws_a_bar_and_no_lines(capsys, monkeypatch):
    monkeypatch.setattr(model_module, "_output_kind", lambda: "terminal")
    X, y = _data()
    _model().train(X, y, epochs=3, batch_size=4)
    out = capsys.readouterr()
    assert out.out == ""
    assert "3/3" in out.err and "epoch" in out.err and "100%" in out.err


def test_verbose_0_is_silent_and_2_prints_lines_even_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(model_module, "_output_kind", lambda: "terminal")
    X, y = _data()
    _model().train(X, y, epochs=2, batch_size=4, verbose=0)
    assert capsys.readouterr() == ("", "")
    _model().train(X, y, epochs=2, batch_size=4, verbose=2)
    out = capsys.readouterr()
    assert out.out.count("\n") == 2 and out.err == ""


def test_bad_verbose_is_a_clear_error():
    X, y = _data()
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2, got 3"):
        _model().train(X, y, verbose=3)


# ----------------------------------------------------------------------------- summary, repr
def test_summary_prints_the_table_and_returns_the_same_text(capsys):
    X, y = _data()
    model = _model()
    model.build(X)
    text = model.summary()
    assert capsys.readouterr().out == text + "\n"
    rows = {line.split()[0]: line.split() for line in text.split("\n")
            if line.startswith(("lstm_0", "dense_1"))}
    # LSTM: 4 gates x (3 inputs + 4 recurrent + 1 bias) x 4 units; Dense: (4 + 1) x 2
    assert rows["lstm_0"][1:] == ["(LSTM)", "(m,", "4)", "128"]
    assert rows["dense_1"][1:] == ["(Dense)", "(m,", "2)", "10"]
    assert "Total params: 138" in text and "Trainable params: 138" in text
    assert "Non-trainable params: 0" in text


def test_summary_print_fn_none_only_returns(capsys):
    model = _model()
    text = model.summary(print_fn=None)
    assert capsys.readouterr().out == ""
    assert "not built yet" in text and "?" in text
    seen = []
    assert model.summary(print_fn=seen.append) == text and seen == [text]


def test_frozen_layer_counts_as_non_trainable():
    model = Model([Dense(3, trainable=False), Dense(1)], seed=0)
    model.build(np.zeros((1, 2)))
    text = model.summary(print_fn=None)
    assert "Trainable params: 4" in text and "Non-trainable params: 9" in text


def test_repr_names_layers_loss_optimizer_and_size():
    X, y = _data()
    model = _model()
    model.train(X, y, epochs=2, batch_size=6, verbose=0)
    text = repr(model)
    assert text.startswith("<Model 'model': [LSTM 'lstm_0', Dense 'dense_1'], loss='scce', "
                           "optimizer=SGD(")
    assert text.endswith("138 parameters, 2 epochs trained>")


def test_html_summary_is_a_table_of_the_layers():
    X, y = _data()
    model = _model()
    model.train(X, y, epochs=1, batch_size=6, verbose=0)
    page = model._repr_html_()
    cells = re.findall(r"<td[^>]*>(.*?)</td>", page)
    assert cells[:5] == ["lstm_0", "LSTM", "(m, 4)", "128", "yes"]
    assert cells[5:10] == ["dense_1", "Dense", "(m, 2)", "10", "yes"]
    assert "<b>138</b>" in page and "last epoch: loss = " in page
    model.name = "<b>bold</b>"
    assert "<b>bold</b>" not in model._repr_html_()      # escaped
