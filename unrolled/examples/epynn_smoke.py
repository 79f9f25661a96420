"""EpyNN-like smoke sets: four tiny binary tasks (booleans, strings, signal, images).

The educational framework EpyNN (Malard et al., 2022) ships dummy data generators to check that a
network learns at all; these are their counterparts in :mod:`unrolled.datasets`. Each set has
1,000 training samples and balanced classes, so guessing scores 50%:

* boolean_majority: 11 random booleans, read one per step; are most of them true? (RNN)
* string_first_last: a 12-letter string over ACGT, one-hot; is the last letter the first one?
  The first letter must be remembered for 11 steps. (LSTM)
* signal_in_noise: 64 steps of Gaussian noise; is a faint 16-step burst hidden somewhere? (GRU)
* small_images: an 8x8 noisy image read row by row; is there a bright bar, across or down? (GRU)

Run:  python -m unrolled.examples.epynn_smoke [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run epynn_smoke)
"""
from unrolled.datasets import boolean_majority, signal_in_noise, small_images, string_first_last
from unrolled.examples._common import (Stopwatch, check_plot, percent, print_results,
                                       run_script, save_plot)
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.layers import GRU, LSTM, RNN, Dense

NAME = "epynn_smoke"
DESCRIPTION = "EpyNN-like smoke sets: four tiny binary tasks (booleans, strings, signal, images)."

# name, loader, recurrent layer, learning rate, epochs (full run, quick run)
TASKS = [
    ("boolean_majority", boolean_majority, lambda: RNN(8), 0.01, (10, 5)),
    ("string_first_last", string_first_last, lambda: LSTM(32), 0.01, (20, 10)),
    ("signal_in_noise", signal_in_noise, lambda: GRU(16), 0.003, (20, 10)),
    ("small_images", small_images, lambda: GRU(16), 0.01, (10, 5)),
]


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()
    metrics, reference, histories, rows = {}, {}, {}, []
    for name, loader, recurrent, lr, (full_epochs, quick_epochs) in TASKS:
        # 1. Data: X (m, steps, features), Y (m, 1) in {0, 1}.
        ds = loader(seed=seed)
        print(f"{name}: X {ds.train.X.shape}, Y {ds.train.Y.shape}")

        # 2. Model: a recurrent layer that returns its last state, and one sigmoid unit.
        model = Model([recurrent(), Dense(1, activation="sigmoid")], loss="bce",
                      optimizer=Adam(lr=lr), metrics=["accuracy"], seed=seed, clip_norm=1.0,
                      name=name)

        # 3. Train.
        histories[name] = model.train(
            ds.train.X, ds.train.Y, epochs=epochs or (quick_epochs if quick else full_epochs),
            batch_size=32, validation=(ds.val.X, ds.val.Y), verbose=verbose)

        # 4. Evaluate.
        metrics[name] = model.evaluate(ds.test.X, ds.test.Y)["accuracy"]
        reference[name] = ds.info["baseline"]["majority_accuracy"]
        rows.append((f"{name}, test accuracy", percent(metrics[name]),
                     f"majority class: {percent(reference[name])}"))

    print_results(rows, watch.seconds)
    save_plot(histories, plot, DESCRIPTION)
    return {"metrics": metrics, "reference": {"majority_accuracy": reference},
            "history": histories, "epochs": sum(h.epochs for h in histories.values()),
            "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
