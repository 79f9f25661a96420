"""EpyNN's dummy_time: is a sine wave hidden in one second of white noise?

Re-creates the ``epynnlive/dummy_time`` project of EpyNN (Malard et al., 2022): its data law
(:func:`unrolled.datasets.dummy_time`: 1,024 series of 128 measurements of Gaussian noise, split
2:1; label 0 when a sine wave of random frequency below 32 Hz is added) and its four networks,
trained by MSE on softmax outputs as its notebook does, for 100 epochs each: a Dense network on
the flattened series, the same with two Dropout layers, and an RNN of 10 units read step by step
(softmax temperature 5), first on the whole training split at once and then on batches of 32.
Each validation accuracy is printed beside the one the notebook prints.

Run:  python -m unrolled.examples.epynn_time [--epochs N] [--seed S] [--plot FILE.png] [--quick]
"""
from unrolled.datasets import dummy_time
from unrolled.examples._common import Stopwatch, check_plot, run_script
from unrolled.examples._epynn import report, run_experiments
from unrolled.layers import RNN, Dense, Dropout, Flatten

NAME = "epynn_time"
DESCRIPTION = "EpyNN's dummy_time: is a sine wave hidden in one second of white noise?"

#: EpyNN's validation accuracies after 100 epochs (epynnlive/dummy_time/train.ipynb)
PUBLISHED = {"Flatten_Dense-64-relu_Dense-2-softmax": 0.909,
             "Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax": 0.938,
             "RNN-10_Flatten_Dense-2-softmax": 0.663,
             "RNN-10_Flatten_Dense-2-softmax (batches of 32)": 0.991}

SOFTMAX_T5 = {"temperature": 5}     # EpyNN's se_hPars['softmax_temperature'] = 5


def networks():
    """EpyNN's experiments: name -> (layers, one line per EpyNN layer; its settings: no batch size
    is the whole training split as one batch)."""
    return {
        "Flatten_Dense-64-relu_Dense-2-softmax": ([
            Flatten(),                                                  # flatten = Flatten()
            Dense(64, activation="relu"),                               # Dense(64, relu)
            Dense(2, activation="softmax"),                             # Dense(2, softmax)
        ], {"lr": 0.005, "epochs": 100}),
        "Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax": ([
            Flatten(),                                                  # flatten = Flatten()
            Dropout(0.2),                                               # Dropout(drop_prob=0.2)
            Dense(64, activation="relu"),                               # Dense(64, relu)
            Dropout(0.5),                                               # Dropout(drop_prob=0.5)
            Dense(2, activation="softmax"),                             # Dense(2, softmax)
        ], {"lr": 0.005, "epochs": 100}),
        # EpyNN's name says Flatten, its layers have none: the RNN returns its last state
        "RNN-10_Flatten_Dense-2-softmax": ([
            RNN(10),                                                    # rnn = RNN(10)
            Dense(2, activation="softmax", activation_params=SOFTMAX_T5),   # Dense(2, softmax)
        ], {"lr": 0.01, "epochs": 100, "temperature": 5}),
        "RNN-10_Flatten_Dense-2-softmax (batches of 32)": ([
            RNN(10),                                                    # rnn = RNN(10)
            Dense(2, activation="softmax", activation_params=SOFTMAX_T5),   # Dense(2, softmax)
        ], {"lr": 0.01, "epochs": 100, "temperature": 5, "batch_size": 32}),
    }


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 128, 1) one measurement per step, Y (m, 2) one-hot (column 0: a wave).
    ds = dummy_time(seed=seed, n_test=200 if quick else 1000)
    print(f"dummy_time: X {ds.train.X.shape}, Y {ds.train.Y.shape}; "
          f"{len(ds.val)} validation, {len(ds.test)} test series")

    # 2-3. Each of EpyNN's networks, trained as its notebook does: MSE, 100 epochs.
    results = run_experiments(networks(), ds, "mse", PUBLISHED, epochs or (25 if quick else None),
                              seed, verbose)

    # 4. Results beside EpyNN's.
    return report(ds, *results, PUBLISHED, watch, plot, DESCRIPTION)


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
