"""Binary addition: a 16-unit RNN learns to add two 8-bit numbers, one bit at a time.

The two numbers are read least-significant bit first, one pair of bits per step, and at every
step the network outputs one bit of the sum (a synchronized many-to-many task). The only thing it
has to remember from one step to the next is the carry: a memoryless rule (``a XOR b``, addition
without carry) gets just a few sums right, so every correct sum shows that the recurrent state
has learned to carry. The sums of four held-out pairs are printed after every epoch: watch them
become right.

Reference: the R package ``rnn`` (Quast, 2016) trains a 16-unit RNN on this task to 100%.

Run:  python -m unrolled.examples.binary_addition [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run binary_addition)
"""
import numpy as np
from tqdm.auto import tqdm

from unrolled.datasets import binary_addition, bits_to_int
from unrolled.examples._common import (Stopwatch, check_plot, percent, print_results,
                                       run_script, save_plot)
from unrolled.framework.callbacks import Callback
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.layers import RNN, Dense

NAME = "binary_addition"
DESCRIPTION = "Binary addition: a 16-unit RNN learns to add two 8-bit numbers, one bit at a time."

BITS = 8


def exact_sums(P, Y):
    """Fraction of sequences whose every output bit is right (the whole sum is right)."""
    return float(np.mean(np.all((P > 0.5) == (Y > 0.5), axis=(1, 2))))


def show_sum(a, b, bits_out):
    """'  37 +  85 = 122' and whether it is right."""
    s = int(bits_to_int(bits_out[None])[0])
    return f"{a:3d} + {b:3d} = {s:3d}", s == a + b


class ShowSums(Callback):
    """After every epoch print the accuracy on the held-out pairs and four of their sums."""

    def __init__(self, X, Y, a, b):
        self.X, self.Y, self.a, self.b = X, Y, a, b

    def on_epoch_end(self, epoch, logs):
        P = self.model.predict(self.X)
        sums = []
        for i in range(4):
            text, right = show_sum(self.a[i], self.b[i], P[i])
            sums.append(f"{text} {'right' if right else 'WRONG'}")
        # tqdm.write prints above the progress bar instead of through it
        tqdm.write(f"epoch {epoch + 1:2d}  exact sums {percent(exact_sums(P, self.Y)):>6} | "
                   + " | ".join(sums))


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 8, 2) holds bit t of a and of b at step t; Y (m, 8, 1) bit t of a + b.
    #    The 1,000 test pairs are never seen in training.
    ds = binary_addition(n_train=2000, n_val=200, n_test=1000, bits=BITS,
                         seed=seed)
    X, Y = ds.train
    Xt, Yt = ds.test
    a, b = ds.extras["a"]["test"], ds.extras["b"]["test"]
    print(f"{len(X)} training pairs, {len(Xt)} held-out pairs; X {X.shape}, Y {Y.shape}")

    # 2. Model: an Elman RNN returns its state at every step (sequences=True) and the same
    #    Dense(1, sigmoid) turns each state into the probability that this bit of the sum is 1.
    model = Model([RNN(16, sequences=True), Dense(1, activation="sigmoid")],
                  loss="bce", optimizer=Adam(lr=0.01), metrics=["accuracy"],
                  seed=seed, clip_norm=5.0)
    model.build(X)
    model.summary()

    # 3. Train. Before training the sums are random; after a few epochs they are right.
    show = ShowSums(Xt, Yt, a, b)
    show.set_model(model)
    show.on_epoch_end(-1, {})                      # "epoch 0": the untrained network
    epochs = epochs or (8 if quick else 10)
    history = model.train(X, Y, epochs=epochs, batch_size=32, validation=(ds.val.X, ds.val.Y),
                          verbose=verbose, callbacks=[show])

    # 4. Evaluate on the held-out pairs: a sum counts only if all its 8 bits are right.
    P = model.predict(Xt)
    exact = exact_sums(P, Yt)
    bit_acc = model.evaluate(Xt, Yt)["accuracy"]
    right = [show_sum(a[i], b[i], P[i]) for i in range(len(Xt))]
    print("\nSome held-out sums it gets right:")
    for text in [t for t, ok in right if ok][:6]:
        print("  " + text)
    wrong = [t for t, ok in right if not ok]
    if wrong:
        print(f"and {len(wrong)} it gets wrong, e.g. {wrong[0].strip()}")

    xor = ds.info["baseline"]["xor_sum_accuracy"]
    print_results([
        (f"exact sums, {len(Xt):,} held-out pairs", percent(exact),
         f"100% (Quast 2016, 16-unit RNN); no-carry rule a XOR b: {percent(xor)}"),
        ("correct bits", percent(bit_acc),
         f"no-carry rule: {percent(ds.info['baseline']['xor_bit_accuracy'])}"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"exact_sum_accuracy": exact, "bit_accuracy": bit_acc},
            "reference": {"published_exact_sum_accuracy": 1.0, "xor_sum_accuracy": xor},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
