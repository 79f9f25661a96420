"""Noisy sine waves: a GRU forecasts the next value at every step.

Each sequence is a sine wave of its own frequency (0.02 to 0.1 cycles per step) and phase, plus
Gaussian noise (sd 0.05). At every step the network sees the values so far and predicts the next
one. It cannot know the wave from its first value, but after a few steps it has seen enough to
pin down frequency and phase, and its forecast then tracks the clean wave more closely than the
noisy measurements do.

Numbers to compare:

* the persistence forecast ("the next value equals this one") on the noisy data;
* the noise itself: no forecast of the *noisy* values can beat an MSE of 0.05**2 = 0.0025;
* the *clean* wave (the loader keeps it): after a 10-step warm-up the forecast should be within
  an MSE of 1e-3 of it.

Run:  python -m unrolled.examples.sine [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run sine)
"""
import numpy as np

from unrolled.datasets import sine
from unrolled.examples._common import Stopwatch, check_plot, print_results, run_script, save_plot
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.framework.schedules import CosineAnnealing
from unrolled.layers import GRU, Dense

NAME = "sine"
DESCRIPTION = "Noisy sine waves: a GRU forecasts the next value at every step."

NOISE = 0.05
WARMUP = 10      # steps the network may use to recognise the wave before it is scored


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 50, 1) = x_0..x_49 and Y (m, 50, 1) = x_1..x_50, the same series shifted.
    ds = sine(n_train=1000 if quick else 2000, n_val=200, n_test=200, steps=50, noise=NOISE,
              seed=seed)
    X, Y = ds.train
    Xt, Yt = ds.test
    clean = ds.extras["clean"]["test"]            # the test targets without their noise
    print(f"{len(X)} training waves of {X.shape[1]} steps; X {X.shape}, Y {Y.shape}")

    # 2. Model: a GRU that outputs its state at every step, and one linear unit per step.
    epochs = epochs or (12 if quick else 40)
    model = Model([GRU(32, sequences=True), Dense(1)], loss="mse", optimizer=Adam(lr=0.01),
                  seed=seed, clip_norm=1.0, schedule=CosineAnnealing(T_max=epochs))

    # 3. Train; the cosine schedule lowers the learning rate smoothly to 0 over the epochs.
    history = model.train(X, Y, epochs=epochs, batch_size=32, validation=(ds.val.X, ds.val.Y),
                          verbose=verbose)

    # 4. Evaluate: against the noisy targets (what it was trained on) and against the clean wave.
    P = model.predict(Xt)
    mse_noisy = float(np.mean((P - Yt) ** 2))
    mse_clean = float(np.mean((P - clean)[:, WARMUP:] ** 2))
    per_step = np.mean((P - clean) ** 2, axis=(0, 2))
    print("\nMSE against the clean wave, by step: "
          + "  ".join(f"t={t}: {per_step[t]:.4f}" for t in (0, 1, 2, 5, 10, 20, 49)))

    persistence = ds.info["baseline"]["persistence_mse"]
    print_results([
        ("one-step MSE, noisy targets, all steps", f"{mse_noisy:.5f}",
         f"persistence: {persistence:.4f}; noise floor: {NOISE ** 2:.4f}"),
        (f"one-step MSE vs the clean wave, steps {WARMUP}-49", f"{mse_clean:.5f}",
         "target < 0.001"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"mse": mse_noisy, "mse_clean_after_warmup": mse_clean},
            "reference": {"persistence_mse": persistence, "noise_floor_mse": NOISE ** 2,
                          "target_mse_clean": 1e-3},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
