"""EpyNN's dummy_image: is a black cross drawn on a random 28x28 grey image? (Dense vs CNN)

Re-creates the ``epynnlive/dummy_image`` project of EpyNN (Malard et al., 2022): its data law
(:func:`unrolled.datasets.dummy_image`: 750 images of 16 random grey tones, split 2:1; label 0
when one row and one column are black) and its two networks, trained by MSE on softmax outputs
in batches of 32 for 100 epochs: a Dense network with two Dropout layers on the flattened pixels,
and EpyNN's CNN, a Convolution of 6 filters 4x4 (stride 4, EpyNN's default) with relu, a 2x2
max Pooling, Flatten and a softmax Dense layer. Each validation accuracy is printed beside the
one EpyNN's notebook prints. The cross is a pattern in space, which the CNN can find and the
Dense network, which sees 784 unrelated numbers, overfits instead.

Run:  python -m unrolled.examples.epynn_image [--epochs N] [--seed S] [--plot FILE.png] [--quick]
"""
import numpy as np

from unrolled.datasets import dummy_image
from unrolled.examples._common import Stopwatch, check_plot, run_script
from unrolled.examples._epynn import report, run_experiments
from unrolled.layers import Convolution, Dense, Dropout, Flatten, Pooling

NAME = "epynn_image"
DESCRIPTION = "EpyNN's dummy_image: is a black cross drawn on a random grey image? (Dense vs CNN)"

#: EpyNN's validation accuracies after 100 epochs (epynnlive/dummy_image/train.ipynb)
PUBLISHED = {"Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax": 0.512,
             "Convolution-6-4_Pooling-2-Max_Flatten_Dense-2-softmax": 0.760}


def networks():
    """EpyNN's experiments: name -> (layers, one line per EpyNN layer; its settings)."""
    return {
        "Flatten_Dropout-02_Dense-64-relu_Dropout-05_Dense-2-softmax": ([
            Flatten(),                                          # flatten = Flatten()
            Dropout(0.2),                                       # Dropout(drop_prob=0.2)
            Dense(64, activation="relu"),                       # Dense(64, relu)
            Dropout(0.5),                                       # Dropout(drop_prob=0.5)
            Dense(2, activation="softmax"),                     # Dense(2, softmax)
        ], {"lr": 0.01, "epochs": 100, "batch_size": 32}),
        "Convolution-6-4_Pooling-2-Max_Flatten_Dense-2-softmax": ([
            Convolution(unit_filters=6, filter_size=(4, 4), activate="relu"),  # same call in EpyNN
            Pooling(pool_size=(2, 2), pool=np.max),             # Pooling(pool_size=(2, 2))
            Flatten(),                                          # flatten = Flatten()
            Dense(2, activation="softmax"),                     # Dense(2, softmax)
        ], {"lr": 0.001, "epochs": 100, "batch_size": 32}),
    }


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 28, 28, 1) grey levels in [0, 1], Y (m, 2) one-hot (column 0: a cross).
    ds = dummy_image(seed=seed, n_test=200 if quick else 1000)
    print(f"dummy_image: X {ds.train.X.shape}, Y {ds.train.Y.shape}; "
          f"{len(ds.val)} validation, {len(ds.test)} test images")

    # 2-3. EpyNN's two networks, trained as its notebook does: MSE, batches of 32, 100 epochs.
    results = run_experiments(networks(), ds, "mse", PUBLISHED, epochs or (30 if quick else None),
                              seed, verbose)

    # 4. Results beside EpyNN's.
    return report(ds, *results, PUBLISHED, watch, plot, DESCRIPTION)


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
