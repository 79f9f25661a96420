"""Handwritten digits: an LSTM reads 8x8 images row by row and names the digit.

The image is never seen whole: at step t the LSTM reads pixel row t, and only after the last row
does a softmax layer read its state and say which of the 10 digits it was (many-to-one
classification). 1,797 images (UCI / scikit-learn), split 70 / 10 / 20 with the class proportions
kept. A small LSTM reaches about 97% test accuracy; always guessing the most common digit gives
about 10%.

Run:  python -m unrolled.examples.digits [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run digits)
"""
import numpy as np

from unrolled.datasets import digits
from unrolled.examples._common import (Stopwatch, check_plot, percent, print_results,
                                       run_script, save_plot)
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.framework.schedules import CosineAnnealing
from unrolled.layers import LSTM, Dense

NAME = "digits"
DESCRIPTION = "Handwritten digits: an LSTM reads 8x8 images row by row and names the digit."


def ascii_image(img):
    """8 lines of characters, darker pixels as denser characters."""
    shades = " .:-=+*#%@"
    return ["".join(shades[int(v * (len(shades) - 1))] * 2 for v in row) for row in img]


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 8, 8) pixel rows in [0, 1] (steps = rows), Y (m, 10) one-hot digits.
    ds = digits(seed=seed)
    X, Y = ds.train
    Xt, Yt = ds.test
    print(f"{len(X)} training images, {len(Xt)} test images; X {X.shape}, Y {Y.shape}")

    # 2. Model: an LSTM reads the 8 rows and returns its last state; softmax over 10 digits.
    epochs = epochs or (8 if quick else 20)
    model = Model([LSTM(32 if quick else 64), Dense(10, activation="softmax")], loss="cce",
                  optimizer=Adam(lr=0.01), metrics=["accuracy"], seed=seed, clip_norm=5.0,
                  schedule=CosineAnnealing(T_max=epochs))

    # 3. Train.
    history = model.train(X, Y, epochs=epochs, batch_size=32, validation=(ds.val.X, ds.val.Y),
                          verbose=verbose)

    # 4. Evaluate on the test images; show one of them.
    acc = model.evaluate(Xt, Yt)["accuracy"]
    P = model.predict(Xt)
    pred, true = P.argmax(axis=1), Yt.argmax(axis=1)
    print()
    for line in ascii_image(Xt[0]):
        print("   " + line)
    print(f"   a {true[0]}; the LSTM says {pred[0]} (probability {P[0, pred[0]]:.2f})")
    confused = np.flatnonzero(pred != true)
    if len(confused):
        pairs = ", ".join(f"{true[i]} as {pred[i]}" for i in confused[:8])
        print(f"   {len(confused)} test digits misread, e.g. {pairs}")

    base = ds.info["baseline"]["majority_accuracy"]
    print_results([
        (f"test accuracy, {len(Xt)} images", percent(acc),
         f"about 97% for a small LSTM (loader notes); majority class: {percent(base)}"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"accuracy": acc},
            "reference": {"small_lstm_accuracy": 0.97, "majority_accuracy": base},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
