"""Embedded Reber grammar: an LSTM predicts legal next symbols across a long time lag.

Strings of the embedded Reber grammar look like ``B T <Reber string> T E`` or
``B P <Reber string> P E``: after the inner string the network must repeat the symbol it read at
step 2, which can lie 20 or more steps back (the long time lag). Everywhere else the next symbol is
one of at most two legal choices, so a prediction counts as right when its most likely symbol is
legal. Hochreiter & Schmidhuber (1997) used this task to show that LSTM learns what Elman networks
and real-time recurrent learning mostly fail to learn.

Variable lengths: the strings of a split are padded to its longest one, and the boolean ``mask``
(True on real steps) keeps the padding out of the loss, the metrics and the recurrent state.

Run:  python -m unrolled.examples.embedded_reber [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run embedded_reber)
"""
import numpy as np

from unrolled.datasets import REBER_SYMBOLS, embedded_reber
from unrolled.examples._common import (Stopwatch, check_plot, percent, print_results,
                                       run_script, save_plot)
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.layers import LSTM, Dense

NAME = "embedded_reber"
DESCRIPTION = "Embedded Reber grammar: an LSTM predicts legal next symbols across a long time lag."


def scores(P, legal, mask, long_lag_step, Y):
    """(fraction of real steps whose most likely symbol is legal, accuracy at the long-lag step,
    fraction of strings with every step legal)."""
    pred = P.argmax(axis=-1)                                              # (m, s)
    ok = np.take_along_axis(legal, pred[..., None], axis=-1)[..., 0]      # legal prediction?
    rows = np.arange(len(P))
    long_lag = np.mean(pred[rows, long_lag_step] == Y[rows, long_lag_step].argmax(axis=-1))
    return float(ok[mask].mean()), float(long_lag), float(np.mean(np.all(ok | ~mask, axis=1)))


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: one-hot symbols over "BTSXPVE"; Y[i, t] is the symbol after X[i, t]. Each split
    #    is padded to its longest string and comes with its mask. The 200 test strings are fresh
    #    draws from the grammar.
    ds = embedded_reber(n_train=500 if quick else 1000, n_val=200, n_test=200, seed=seed)
    X, Y = ds.train
    Xt, Yt = ds.test
    legal = ds.extras["legal"]["test"]            # (m, s, 7) the legal next symbols
    lag = ds.extras["long_lag_step"]["test"]      # the step whose target repeats symbol 2
    print(f"{len(X)} training strings (padded to {X.shape[1]} steps), {len(Xt)} test strings; "
          f"e.g. {ds.extras['strings']['test'][0]}")

    # 2. Model: an LSTM returns its state at every step; a softmax layer turns it into the
    #    probabilities of the 7 possible next symbols.
    model = Model([LSTM(32, sequences=True), Dense(len(REBER_SYMBOLS), activation="softmax")],
                  loss="cce", optimizer=Adam(lr=0.01), metrics=["accuracy"],
                  seed=seed, clip_norm=1.0)

    # 3. Train (the mask removes the padded steps from the loss and from the state).
    epochs = epochs or (8 if quick else 10)
    history = model.train(X, Y, epochs=epochs, batch_size=32, mask=ds.train.mask,
                          validation=(ds.val.X, ds.val.Y, ds.val.mask), verbose=verbose)

    # 4. Evaluate on the fresh strings: is the most likely next symbol always a legal one, and
    #    is the second-to-last symbol (the long-lag one) remembered?
    P = model.predict(Xt, mask=ds.test.mask)
    legal_steps, long_lag, all_legal = scores(P, legal, ds.test.mask, lag, Yt)
    s = ds.extras["strings"]["test"][0]
    guess = "".join(REBER_SYMBOLS[k] for k in P[0, :len(s) - 1].argmax(axis=-1))
    print(f"\ntest string          {s}\nits predictions       {' ' + guess}  (each symbol predicted "
          "from the ones before it)")

    base = ds.info["baseline"]
    print_results([
        (f"legal next-symbol predictions, {len(Xt)} strings", percent(legal_steps),
         f">= 99% target; bigram model (no memory): {percent(base['bigram_legal_step_fraction'])}"),
        ("long-lag symbol (second-to-last)", percent(long_lag),
         f"100% (Hochreiter & Schmidhuber 1997, LSTM); bigram: "
         f"{percent(base['bigram_long_lag_accuracy'])}"),
        ("strings with every prediction legal", percent(all_legal),
         f"bigram: {percent(base['bigram_all_steps_legal_fraction'])}"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"legal_step_fraction": legal_steps, "long_lag_accuracy": long_lag,
                        "all_legal_fraction": all_legal},
            "reference": {"published_long_lag_accuracy": 1.0, **base},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
