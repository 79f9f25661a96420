"""EpyNN's dummy_string: does a 12-letter DNA-like string end with the letter it starts with?

Re-creates the ``epynnlive/dummy_string`` project of EpyNN (Malard et al., 2022): its data law
(:func:`unrolled.datasets.dummy_string`: 480 strings over ATGC, split 2:1, one-hot letters; label
0 when the first letter equals the last, which happens one time in four) and its four networks,
each trained by binary cross-entropy on the whole training split at EpyNN's learning rates and
for the epochs its notebook ran: Flatten-Dense (50 epochs), then a recurrent layer of a single
unit, RNN, LSTM or GRU (10 epochs each). Each validation accuracy is printed beside the one the
notebook prints. Always answering "different" already scores about 76%, and so do EpyNN's four
networks: the task needs the first letter remembered for 11 steps, which these one-unit layers
trained for 10 epochs do not learn. A last network, not EpyNN's, shows that the 320 strings do
teach it: an LSTM of 32 units trained by Adam on cross-entropy.

Run:  python -m unrolled.examples.epynn_string [--epochs N] [--seed S] [--plot FILE.png] [--quick]
"""
from unrolled.datasets import dummy_string
from unrolled.examples._common import Stopwatch, check_plot, percent, run_script
from unrolled.examples._epynn import report, run_experiments
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.layers import GRU, LSTM, RNN, Dense, Flatten

NAME = "epynn_string"
DESCRIPTION = "EpyNN's dummy_string: does a 12-letter DNA-like string end with its first letter?"

#: EpyNN's validation accuracies (epynnlive/dummy_string/train.ipynb)
PUBLISHED = {"Flatten_Dense-2-softmax": 0.756, "RNN-1_Dense-2-softmax": 0.762,
             "LSTM-1_Dense-2-softmax": 0.762, "GRU-1_Dense-2-softmax": 0.762}


def networks():
    """EpyNN's experiments: name -> (layers, one line per EpyNN layer; its settings)."""
    return {
        "Flatten_Dense-2-softmax": ([
            Flatten(),                              # flatten = Flatten()
            Dense(2, activation="softmax"),         # dense = Dense(2, softmax)
        ], {"lr": 0.001, "epochs": 50}),
        "RNN-1_Dense-2-softmax": ([
            RNN(1),                                 # rnn = RNN(1)
            Dense(2, activation="softmax"),         # dense = Dense(2, softmax)
        ], {"lr": 0.001, "epochs": 10}),
        "LSTM-1_Dense-2-softmax": ([
            LSTM(1),                                # lstm = LSTM(1)
            Dense(2, activation="softmax"),         # dense = Dense(2, softmax)
        ], {"lr": 0.005, "epochs": 10}),
        "GRU-1_Dense-2-softmax": ([
            GRU(1),                                 # gru = GRU(1)
            Dense(2, activation="softmax"),         # dense = Dense(2, softmax)
        ], {"lr": 0.005, "epochs": 10}),
    }


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 12, 4) one-hot letters, Y (m, 2) one-hot label (column 0: first == last).
    ds = dummy_string(seed=seed, n_test=200 if quick else 1000)
    print(f"dummy_string: X {ds.train.X.shape}, Y {ds.train.Y.shape}; e.g. "
          f"{ds.extras['strings']['train'][0]} -> label {ds.extras['labels']['train'][0]}")

    # 2-3. Each of EpyNN's networks, trained as its notebook does: BCE, whole training split.
    histories, val, test, rows = run_experiments(networks(), ds, "bce", PUBLISHED, epochs, seed,
                                                 verbose)

    # 3b. Not EpyNN's: a wider LSTM, Adam and mini-batches learn what the one-unit layers miss.
    name = "LSTM-32_Dense-2-softmax, Adam (not EpyNN's)"
    model = Model([LSTM(32), Dense(2, activation="softmax")], loss="cce", optimizer=Adam(lr=0.01),
                  metrics=["accuracy"], seed=seed, clip_norm=1.0, name="lstm32")
    histories[name] = model.train(*ds.train, epochs=epochs or (30 if quick else 100),
                                  batch_size=32, validation=ds.val, verbose=verbose)
    val[name], test[name] = (model.evaluate(*ds.val)["accuracy"],
                             model.evaluate(*ds.test)["accuracy"])
    rows.append((f"{name}, val / test", f"{percent(val[name])} / {percent(test[name])}",
                 "EpyNN: no published number"))

    # 4. Results beside EpyNN's.
    return report(ds, histories, val, test, rows, PUBLISHED, watch, plot, DESCRIPTION,
                  majority="always 'different' (majority class), test")


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
