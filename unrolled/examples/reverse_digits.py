"""Encoder-decoder: a GRU reads a string of 8 digits, a second GRU writes it reversed.

The encoder reads the whole string; only its final state reaches the decoder, which then writes
the digits last-read first, feeding back its own previous digit (greedy decoding). Nothing but
the state hand-over links the two, so every correct string shows BPTT carrying the decoder's
errors back into the encoder (docs/seq2seq.md). A string counts only if all 8 digits are right.

Reference: chance is 1e-8 per string (10% per digit); Sutskever et al. (2014) introduced the
encoder-decoder on translation, and string reversal is its standard first test.

Run:  python -m unrolled.examples.reverse_digits [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run reverse_digits)
"""
from unrolled.datasets import reverse_digits
from unrolled.examples._common import (Stopwatch, check_plot, percent, print_results,
                                       run_script, save_plot)
from unrolled.framework import Adam, ExponentialDecay, Seq2Seq
from unrolled.layers import GRU, Dense

NAME = "reverse_digits"
DESCRIPTION = "Encoder-decoder: a GRU reads 8 digits, another writes them reversed (seq2seq)."


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, L, 10) one-hot digits; Y (m, L) ids of the reversed digits over
    #    "^0123456789", where id 0 "^" is the start token the decoder reads first.
    length = 5 if quick else 8
    ds = reverse_digits(n_train=3000 if quick else 10000, n_val=300, n_test=1000,
                        length=length, seed=seed)
    (X, Y), (Xv, Yv), (Xt, Yt) = ds.train, ds.val, ds.test
    decode = ds.extras["decode_target"]
    print(f"{len(X)} training strings of {length} digits; X {X.shape}, Y {Y.shape}")

    # 2. Model: encoder and decoder GRUs of the same size; a softmax over the 11 target symbols.
    #    While training the decoder reads the previous *target* digit (teacher forcing).
    #    The learning rate decays by 15% an epoch: 0.01 at first, 0.0005 by epoch 20.
    model = Seq2Seq(GRU(64), GRU(64, sequences=True), Dense(11, activation="softmax"),
                    start_id=ds.extras["start_id"], optimizer=Adam(lr=0.01), clip_norm=5.0,
                    schedule=ExponentialDecay(0.85), seed=seed)

    # 3. Train; validation scores greedy decoding, as in use.
    epochs = epochs or (5 if quick else 20)
    history = model.train(X, Y, epochs=epochs, batch_size=64, validation=(Xv, Yv),
                          verbose=verbose)

    # 4. Evaluate on 1,000 new strings and show a few.
    scores = model.evaluate(Xt, Yt)
    sources = ds.extras["strings"]["test"][0]
    decoded = decode(model.decode(Xt[:5]))
    print("\nsource    -> decoded")
    for src, out in zip(sources[:5], decoded):
        print(f"  {src} -> {out}   {'right' if out == src[::-1] else 'WRONG'}")
    print_results([
        (f"exact strings, {len(Xt):,} held out", percent(scores["exact_match"]),
         f"chance {10.0 ** -length:.0e}"),
        ("correct digits", percent(scores["accuracy"]), "chance 10%"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"exact_match": scores["exact_match"], "accuracy": scores["accuracy"]},
            "reference": {"chance_exact_match": 10.0 ** -length, "chance_accuracy": 0.1},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
