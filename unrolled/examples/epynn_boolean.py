"""EpyNN's dummy_boolean: a perceptron says whether most of 11 random booleans are True.

Re-creates the ``epynnlive/dummy_boolean`` project of EpyNN (Malard et al., 2022): its data law
(:func:`unrolled.datasets.dummy_boolean`: 50 samples split 2:1, label 0 when True is the
majority) and its network, one Dense unit with a sigmoid trained by MSE at EpyNN's learning rate
0.1 on the whole training split for 100 epochs. The validation accuracy is printed beside the one
EpyNN's notebook prints; with 17 validation samples it moves by 6 points per sample, so the test
accuracy on 1,000 fresh samples is printed too.

Run:  python -m unrolled.examples.epynn_boolean [--epochs N] [--seed S] [--plot FILE.png] [--quick]
"""
from unrolled.datasets import dummy_boolean
from unrolled.examples._common import Stopwatch, check_plot, run_script
from unrolled.examples._epynn import report, run_experiments
from unrolled.layers import Dense

NAME = "epynn_boolean"
DESCRIPTION = "EpyNN's dummy_boolean: a perceptron says whether most of 11 random booleans are True."

#: EpyNN's validation accuracy after 100 epochs (epynnlive/dummy_boolean/train.ipynb)
PUBLISHED = {"Perceptron_Dense-1-sigmoid": 0.824}


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 11) booleans as 0/1, Y (m, 1) label (0 = more True, EpyNN's positive).
    ds = dummy_boolean(seed=seed, n_test=200 if quick else 1000)
    print(f"dummy_boolean: X {ds.train.X.shape}, Y {ds.train.Y.shape}; "
          f"{len(ds.val)} validation, {len(ds.test)} test samples")

    # 2. Model, EpyNN's layers one per line after its Embedding (the data): a perceptron.
    networks = {"Perceptron_Dense-1-sigmoid": ([
        Dense(1, activation="sigmoid"),     # dense = Dense()
    ], {"lr": 0.1, "epochs": 100})}

    # 3. Train as EpyNN does: MSE, learning rate 0.1, the whole training split per step.
    results = run_experiments(networks, ds, "mse", PUBLISHED, epochs or (50 if quick else None),
                              seed, verbose)

    # 4. Results beside EpyNN's.
    return report(ds, *results, PUBLISHED, watch, plot, DESCRIPTION)


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
