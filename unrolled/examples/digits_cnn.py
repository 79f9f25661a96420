"""Handwritten digits with a CNN: the 8x8 images seen whole, as one grey channel.

The same 1,797 images as the ``digits`` example (UCI / scikit-learn, split 70 / 10 / 20 with the
class proportions kept), but where that example's LSTM reads them row by row, here two 3x3
convolutions look at every neighbourhood of pixels, a max pooling halves the image to 4x4, a
third convolution and pooling reduce it to 2x2 maps of 64 features, and a softmax layer names
the digit. Channels last: X is (m, 8, 8, 1). The issue's target is 98.5% test accuracy; always
guessing the most common digit gives about 10%.

Run:  python -m unrolled.examples.digits_cnn [--epochs N] [--seed S] [--plot FILE.png] [--quick]
"""
import numpy as np

from unrolled.datasets import digits
from unrolled.examples._common import (Stopwatch, check_plot, percent, print_results,
                                       run_script, save_plot)
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.framework.schedules import CosineAnnealing
from unrolled.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

NAME = "digits_cnn"
DESCRIPTION = "Handwritten digits with a CNN: 8x8 images seen whole (Conv2D, MaxPooling2D, Dense)."

#: the accuracy this example must reach on the test images (issue 18)
TARGET = 0.985


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 8, 8, 1) pixels in [0, 1] with one channel, Y (m, 10) one-hot digits.
    ds = digits(seed=seed)
    X, Y = ds.train.X[..., None], ds.train.Y
    Xv, Xt, Yt = ds.val.X[..., None], ds.test.X[..., None], ds.test.Y
    print(f"{len(X)} training images, {len(Xt)} test images; X {X.shape}, Y {Y.shape}")

    # 2. Model: 8x8x1 -> conv 8x8x32 -> conv 8x8x32 -> pool 4x4x32 -> conv 4x4x64 -> pool 2x2x64
    #    -> 256 features -> softmax over 10 digits.
    width = 16 if quick else 32
    epochs = epochs or (6 if quick else 30)
    model = Model([
        Conv2D(width, 3, padding="same", activation="relu"),
        Conv2D(width, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(2 * width, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dropout(0.3),
        Dense(10, activation="softmax"),
    ], loss="cce", optimizer=Adam(lr=0.003), metrics=["accuracy"], seed=seed,
        schedule=CosineAnnealing(T_max=epochs))

    # 3. Train.
    history = model.train(X, Y, epochs=epochs, batch_size=32, validation=(Xv, ds.val.Y),
                          verbose=verbose)

    # 4. Evaluate on the test images; list the ones it misreads.
    acc = model.evaluate(Xt, Yt)["accuracy"]
    pred, true = model.predict(Xt).argmax(axis=1), Yt.argmax(axis=1)
    confused = np.flatnonzero(pred != true)
    if len(confused):
        pairs = ", ".join(f"{true[i]} as {pred[i]}" for i in confused[:8])
        print(f"{len(confused)} of {len(Xt)} test digits misread: {pairs}")

    base = ds.info["baseline"]["majority_accuracy"]
    print_results([
        (f"test accuracy, {len(Xt)} images", percent(acc),
         f"target {percent(TARGET)} (no published number for this split); "
         f"LSTM on rows (`digits`): about 97%; majority class: {percent(base)}"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"accuracy": acc},
            "reference": {"target_accuracy": TARGET, "majority_accuracy": base},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
