"""Parity of 1 to 50 bits: a GRU with masks tells whether a bit string has an odd number of ones.

Parity is the classic hard case for learning from examples (Minsky & Papert, 1969): flipping any
single bit flips the answer, so no bit on its own says anything and there is no partial credit to
climb towards. A recurrent network can solve it for any length with a one-bit flip-flop in its
state, but finding that solution from long strings alone takes many epochs of a flat loss.

Two ideas make it quick:

* **masks**: strings of 1 to 50 bits share one batch, padded to 50 steps; the boolean mask (True on
  real bits) makes the GRU skip the padding, so the state it returns is the one after the last
  real bit;
* **curriculum**: a few epochs on short strings (at most 10 bits) find the flip-flop, which then
  carries over to long strings; a few epochs on lengths 1 to 50 finish the job.

Run:  python -m unrolled.examples.parity [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run parity)
"""
from unrolled.datasets import parity
from unrolled.examples._common import (Stopwatch, check_plot, percent, print_results,
                                       run_script, save_plot)
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.layers import GRU, Dense

NAME = "parity"
DESCRIPTION = ("Parity of 1 to 50 bits: a GRU with masks tells whether a bit string "
               "has an odd number of ones.")

WARMUP_LENGTH = 10      # longest string of the curriculum's first stage
WARMUP_EPOCHS = 6


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 50, 1) bits padded with zeros after the end, mask (m, 50), Y (m, 1) parity.
    #    The short strings of the first stage come from another seed: no test string is reused.
    short = parity(n_train=2000, n_val=1, n_test=1, max_len=WARMUP_LENGTH,
                   seed=seed + 1000).train
    ds = parity(n_train=2000, n_val=500, n_test=500 if quick else 1000, min_len=1, max_len=50,
                seed=seed)
    print(f"stage 1: {len(short.X)} strings of 1..{WARMUP_LENGTH} bits; stage 2: {len(ds.train)} "
          f"strings of 1..50 bits, X {ds.train.X.shape}, mask {ds.train.mask.shape}")

    # 2. Model: the GRU returns its state after the last real bit (sequences=False with a mask);
    #    a sigmoid unit reads the parity off it.
    model = Model([GRU(16), Dense(1, activation="sigmoid")], loss="bce",
                  optimizer=Adam(lr=0.01), metrics=["accuracy"], seed=seed, clip_norm=1.0)
    val = (ds.val.X, ds.val.Y, ds.val.mask)

    # 3. Train: the curriculum's short strings first, then every length mixed in one batch.
    model.train(short.X, short.Y, mask=short.mask, epochs=WARMUP_EPOCHS, batch_size=32,
                validation=val, verbose=verbose)
    after_warmup = model.evaluate(ds.val.X, ds.val.Y, mask=ds.val.mask)["accuracy"]
    print(f"after {WARMUP_EPOCHS} epochs on short strings: {percent(after_warmup)} right on "
          "validation strings of 1..50 bits")
    epochs = epochs or (3 if quick else 6)
    model.optimizer.lr = 0.003      # smaller steps on long strings: Adam at 0.01 can jump away
    history = model.train(ds.train.X, ds.train.Y, mask=ds.train.mask, epochs=epochs,
                          batch_size=32, validation=val, verbose=verbose)

    # 4. Evaluate on held-out strings of every length, and on the longest ones alone.
    acc = model.evaluate(ds.test.X, ds.test.Y, mask=ds.test.mask)["accuracy"]
    long = ds.extras["lengths"]["test"] > 40
    acc_long = model.evaluate(ds.test.X[long], ds.test.Y[long],
                              mask=ds.test.mask[long])["accuracy"]

    base = ds.info["baseline"]["majority_accuracy"]
    print_results([
        (f"test accuracy, {len(ds.test)} strings of 1..50 bits", percent(acc),
         f">= 99% target; majority class: {percent(base)}"),
        (f"  of which {int(long.sum())} strings of 41..50 bits", percent(acc_long),
         "a model without memory: 50%"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"accuracy": acc, "accuracy_41_50": acc_long},
            "reference": {"majority_accuracy": base, "target_accuracy": 0.99},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
