"""One-to-many: from two numbers (frequency, phase), a GRU draws a whole 30-step sine wave.

A single vector conditions the whole output sequence: a Dense layer encodes it, RepeatVector
feeds that code to every step, and a GRU unrolls it into the wave, one value per step
(docs/one_to_many.md). The test waves have frequencies and phases the network never saw.

Reference: predicting the average wave (zero) scores the variance of the targets, about 0.5;
the model should be far below it.

Run:  python -m unrolled.examples.one_to_many [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run one_to_many)
"""
import numpy as np

from unrolled.examples._common import (Stopwatch, check_plot, print_results, run_script,
                                       save_plot)
from unrolled.framework import Adam, Model
from unrolled.layers import GRU, Dense, RepeatVector

NAME = "one_to_many"
DESCRIPTION = "One-to-many: from (frequency, phase) a GRU draws a 30-step sine wave."

STEPS = 30


def waves(n, rng):
    """X (n, 2) = (frequency, phase); Y (n, STEPS, 1) = sin(frequency * t + phase)."""
    freq, phase = rng.uniform(0.1, 0.4, n), rng.uniform(0.0, 2 * np.pi, n)
    t = np.arange(STEPS)
    return np.stack([freq, phase], axis=1), np.sin(freq[:, None] * t + phase[:, None])[..., None]


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: each sample is one vector and a whole sequence to produce from it.
    rng = np.random.default_rng(seed)
    X, Y = waves(600 if quick else 3000, rng)
    Xv, Yv = waves(200, rng)
    Xt, Yt = waves(500, rng)
    print(f"{len(X)} training waves; X {X.shape} (one vector each), Y {Y.shape}")

    # 2. Model: vector -> code -> the same code at every step -> GRU -> one value per step.
    #    The phase enters through sin and cos-like features the first Dense layer can build.
    model = Model([Dense(32, activation="tanh"), RepeatVector(STEPS), GRU(48, sequences=True),
                   Dense(1)], loss="mse", optimizer=Adam(lr=0.01), clip_norm=5.0, seed=seed)

    # 3. Train.
    epochs = epochs or (30 if quick else 60)
    history = model.train(X, Y, epochs=epochs, batch_size=32, validation=(Xv, Yv),
                          verbose=verbose)

    # 4. Evaluate on new waves.
    mse = model.evaluate(Xt, Yt)["loss"]
    baseline = float(np.var(Yt))
    P = model.predict(Xt[:1])[0, :, 0]
    print("\nfirst test wave, target vs drawn (every 5th step):")
    print("  " + "  ".join(f"{y:+.2f}/{p:+.2f}" for y, p in zip(Yt[0, ::5, 0], P[::5])))
    print_results([("test MSE, 500 new waves", f"{mse:.4f}",
                    f"always predicting the mean: {baseline:.3f}")], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"mse": mse}, "reference": {"mean_prediction_mse": baseline},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
