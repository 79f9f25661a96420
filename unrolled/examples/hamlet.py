"""Hamlet: a character-level LSTM learns to predict, then to write, Shakespeare's text.

The text of Hamlet (174,000 characters, 65 distinct ones) is trained with truncated BPTT: it is
cut into 32 contiguous streams, each read 100 characters at a time, and a *stateful* LSTM carries
its state from one window of a stream to the next (docs/truncated_bptt.md), so it can use
context longer than the 100 steps it backpropagates through. At every step the LSTM reads one
character (a one-hot vector of 65) and outputs the probabilities of the next one, trained with
cross-entropy on integer labels (loss "scce", outputs (m, 100, 65)); this is Karpathy's
"char-rnn" in NumPy. Scores are in bits per character: the
cross-entropy divided by ln 2. Knowing only how often each character occurs costs 4.66 bits per
character; a 128-unit LSTM gets below 3 bits on held-out text within two minutes on two cores.

Sampling: starting from a few characters, the network's output is turned into probabilities
with a *temperature* (below 1: safer, more repetitive; above 1: wilder), one character is drawn,
fed back in, and so on. The LSTM is called step by step, passing its state (h, C) along.

Run:  python -m unrolled.examples.hamlet [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run hamlet)
"""
import math

import numpy as np

from unrolled.datasets import text
from unrolled.examples._common import Stopwatch, check_plot, print_results, run_script, save_plot
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.framework.schedules import CosineAnnealing
from unrolled.layers import LSTM, Dense

NAME = "hamlet"
DESCRIPTION = ("Hamlet: a character-level LSTM learns to predict, then to write, "
               "Shakespeare's text.")


def sample(model, ds, start, length, temperature, rng):
    """Continue the text ``start`` by ``length`` characters drawn from the model."""
    lstm, dense = model.layers
    x = ds.one_hot(ds.encode(start))[None].astype(model.dtype)    # (1, len(start), vocab)
    lstm.reset_state()                           # start from zeros, not the training streams
    h = C = None
    out = []
    for _ in range(length):
        A = lstm(x, h0=h, C0=C)                  # (1, steps, units): states after each input
        h, C = (s.copy() for s in lstm.state)    # carry the state to the next call
        dense(A[:, -1:])                          # the last step's output layer...
        logits = dense.fc["Z"][0, -1] / temperature   # ...read before its softmax
        p = np.exp(logits - logits.max())
        k = rng.choice(len(p), p=p / p.sum())
        out.append(ds.vocab[k])
        x = ds.one_hot([[k]]).astype(model.dtype)   # feed the drawn character back in
    return start + "".join(out)


def bigram_bits(ds):
    """Bits per character on the test text of a model that knows only the previous character
    (counts on the training text, add-one smoothing): what a network without memory can reach."""
    V, train, test = ds.vocab_size, ds.train_ids, ds.test_ids
    counts = np.ones((V, V))
    np.add.at(counts, (train[:-1], train[1:]), 1)
    p = counts / counts.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log2(p[test[:-1], test[1:]])))


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()
    rng = np.random.default_rng(seed)

    # 1. Data: the first 90% of the play for training, 5% validation, the last 5% test, each
    #    laid out as parallel streams of windows of 100 characters: row i of batch b + 1
    #    continues row i of batch b. Y[i, t] = X[i, t + 1] (the next character's id).
    ds = text("hamlet", seq_len=100)
    V = ds.vocab_size
    streams, eval_streams = 32, 8
    Xi, Y = ds.streams(streams, "train")              # int64 character ids (m, 100)
    X = ds.one_hot(Xi).astype(np.float32)             # (m, 100, 65) one-hot inputs
    Xv, Yv = ds.streams(eval_streams, "val")
    Xt, Yt = ds.streams(eval_streams, "test")
    Xv, Xt = (ds.one_hot(a).astype(np.float32) for a in (Xv, Xt))
    print(f"{len(X)} training windows of {X.shape[1]} characters, vocabulary {V}; "
          f"X {X.shape}, Y {Y.shape}")

    # 2. Model: LSTM(128) -> softmax over the 65 characters at every step. float32 halves the
    #    memory traffic; it is precise enough for this.
    epochs = epochs or (3 if quick else 20)
    model = Model([LSTM(128, sequences=True, stateful=True), Dense(V, activation="softmax")],
                  loss="scce", optimizer=Adam(lr=0.01), seed=seed, clip_norm=5.0,
                  dtype="float32", schedule=CosineAnnealing(T_max=epochs, eta_min=0.001))

    # 3. Train in stream order (shuffle=False: batch b + 1 continues batch b); the model resets
    #    the carried state at each epoch. Validation loss / ln 2 is the held-out bits per character.
    history = model.train(X, Y, epochs=epochs, batch_size=streams, shuffle=False,
                          validation=(Xv, Yv), validation_batch_size=eval_streams,
                          verbose=verbose)

    # 4. Evaluate on the last 5% of the play (its streams, state carried), then let it write.
    bits = model.evaluate(Xt, Yt, batch_size=eval_streams)["loss"] / math.log(2)
    for temperature in (0.5, 0.8):
        print(f"\n--- sampled at temperature {temperature} ---")
        print(sample(model, ds, "HAMLET.\n", 300 if quick else 500, temperature, rng))
    print("---")

    unigram, bigram = ds.info["unigram_entropy_bits"], bigram_bits(ds)
    print_results([
        ("bits per character, last 5% of the play", f"{bits:.3f}",
         f"target < 3.0; previous character only: {bigram:.2f}; character frequencies alone: "
         f"{unigram:.2f}"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"bits_per_char": bits},
            "reference": {"unigram_entropy_bits": unigram, "bigram_bits": bigram,
                          "target_bits_per_char": 3.0},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
