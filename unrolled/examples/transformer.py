"""Transformer or RNN: a small Transformer encoder and a GRU encoder-decoder reverse the same digits.

The task of the reverse_digits example: read a string of digits, write it reversed. The GRU
encoder-decoder (Seq2Seq) must squeeze the whole string into its final state and unfold it again,
one digit at a time. The Transformer has a shorter road: output position t only has to *look at*
input position L-1-t, and one attention layer can learn exactly that. Both train on the same
strings with the same batch size; the example prints their held-out accuracy and training time
side by side, then the alignment the attention learned for one string (a PNG heatmap when
matplotlib is installed, like figure 3 of Bahdanau et al. 2015: here an anti-diagonal).

The Transformer is encoder-only and not causal: input and output have the same length and every
output may read the whole input. Its layers, all in a plain Model:

    Dense(32)                                   one-hot digits -> vectors of width 32
    PositionalEncoding("learned")               where each digit stands
    Residual(Sequential([LayerNormalization(), MultiHeadAttention(4, 8)]))
    Residual(Sequential([LayerNormalization(), Dense(64, "relu"), Dense(32)]))
    LayerNormalization(), Dense(11, "softmax")  a digit at every position

Reference: chance is 1e-L per string; the reverse_digits example (GRU, L = 8) is the RNN's
published number; Vaswani et al. (2017) for the Transformer.

Run:  python -m unrolled.examples.transformer [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run transformer)
(--plot writes the learning curves to FILE.png and the attention heatmap to FILE_attention.png;
without it the heatmap goes to transformer_attention.png, except with --quick.)
"""
import os


from unrolled.datasets import reverse_digits
from unrolled.examples._common import (Stopwatch, check_plot, percent, plotting_available,
                                       print_results, run_script, save_plot)
from unrolled.framework import Adam, ExponentialDecay, Model, Seq2Seq
from unrolled.layers import (GRU, Dense, LayerNormalization, MultiHeadAttention,
                             PositionalEncoding, Residual, Sequential)

NAME = "transformer"
DESCRIPTION = ("A small Transformer and a GRU encoder-decoder reverse the same digit strings: "
               "accuracy, time, attention map.")
HEATMAP = "transformer_attention.png"


def transformer(length, width=32, heads=4, seed=0):
    """An encoder-only Transformer: one pre-norm block, a softmax over the 11 target symbols."""
    return Model([Dense(width),
                  PositionalEncoding("learned", max_length=length),
                  Residual(Sequential([LayerNormalization(),
                                       MultiHeadAttention(heads, width // heads)])),
                  Residual(Sequential([LayerNormalization(), Dense(2 * width, activation="relu"),
                                       Dense(width)])),
                  LayerNormalization(),
                  Dense(11, activation="softmax")],
                 loss="scce", optimizer=Adam(lr=3e-3), metrics=["accuracy", "exact_match"],
                 clip_norm=5.0, seed=seed)


def alignment_text(weights, source, target):
    """One line per output digit: the input step it attends to most (weights averaged over heads)."""
    mean = weights.mean(axis=0)
    lines = []
    for t, row in enumerate(mean):
        j = int(row.argmax())
        lines.append(f"  output {t:2d} '{target[t]}' <- input {j:2d} '{source[j]}'  "
                     f"(weight {row[j]:.2f})")
    return "\n".join(lines)


def save_heatmap(weights, source, target, path):
    """Each head's weights (queries down, keys across) and their mean, as one PNG (object API:
    no pyplot, no backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    panels = [(f"head {j + 1}", w) for j, w in enumerate(weights)] + [("mean", weights.mean(axis=0))]
    fig = Figure(figsize=(3.0 * len(panels), 3.4))
    FigureCanvasAgg(fig)
    for k, (title, w) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        image = ax.imshow(w, cmap="Greys", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(len(source)), list(source))
        ax.set_yticks(range(len(target)), list(target))
        ax.set_xlabel("input digit (key)")
        if k == 0:
            ax.set_ylabel("output digit (query)")
        ax.set_title(title)
    fig.colorbar(image, ax=fig.axes, shrink=0.8, label="attention weight")
    fig.suptitle(f"Attention of the Transformer reversing {source}")
    fig.savefig(path, dpi=100)
    return path


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, L, 10) one-hot digits; Y (m, L) ids of the reversed digits over
    #    "^0123456789" (id 0, the decoder's start token, is never a target).
    length = 6 if quick else 8
    ds = reverse_digits(n_train=2000 if quick else 10000, n_val=300, n_test=1000, length=length,
                        seed=seed)
    (X, Y), (Xv, Yv), (Xt, Yt) = ds.train, ds.val, ds.test
    decode = ds.extras["decode_target"]
    print(f"{len(X)} training strings of {length} digits; X {X.shape}, Y {Y.shape}")

    # 2. The Transformer: a prediction at every position, all positions in parallel.
    tr_epochs = epochs or (3 if quick else 5)
    model = transformer(length, seed=seed)
    clock = Stopwatch()
    tr_history = model.train(X, Y, epochs=tr_epochs, batch_size=64, validation=(Xv, Yv),
                             verbose=verbose)
    tr_seconds = clock.seconds
    tr_scores = model.evaluate(Xt, Yt)

    # 3. The GRU encoder-decoder of the reverse_digits example, on the same strings.
    rnn_epochs = epochs or (3 if quick else 20)
    rnn = Seq2Seq(GRU(64), GRU(64, sequences=True), Dense(11, activation="softmax"),
                  start_id=ds.extras["start_id"], optimizer=Adam(lr=0.01), clip_norm=5.0,
                  schedule=ExponentialDecay(0.85), seed=seed)
    clock = Stopwatch()
    rnn_history = rnn.train(X, Y, epochs=rnn_epochs, batch_size=64, validation=(Xv, Yv),
                            verbose=verbose)
    rnn_seconds = clock.seconds
    rnn_scores = rnn.evaluate(Xt, Yt)

    # 4. What the attention learned for one held-out string: the weights of its 4 heads.
    source = ds.extras["strings"]["test"][0][0]
    target = decode(model.predict(Xt[:1]).argmax(axis=-1))[0]
    weights = model.layers[2].branch.layers[1].fc["weights"][0].copy()   # (heads, L, L)
    print(f"\nattention for {source} -> {target} (mean over heads):")
    print(alignment_text(weights, source, target))
    heatmap = None
    if plotting_available() and (plot or not quick):
        heatmap = os.path.splitext(plot)[0] + "_attention.png" if plot else HEATMAP
        save_heatmap(weights, source, target, heatmap)
        print(f"attention heatmap written to {heatmap}")

    chance = f"chance {10.0 ** -length:.0e}"
    print_results([
        (f"Transformer: exact strings, {len(Xt):,} held out", percent(tr_scores["exact_match"]), chance),
        ("GRU encoder-decoder: exact strings", percent(rnn_scores["exact_match"]), chance),
        ("Transformer: correct digits", percent(tr_scores["accuracy"]), "chance 10%"),
        ("GRU encoder-decoder: correct digits", percent(rnn_scores["accuracy"]), "chance 10%"),
        (f"Transformer: training time, {tr_epochs} epochs", f"{tr_seconds:.1f} s",
         f"{model.n_parameters:,} parameters"),
        (f"GRU encoder-decoder: training time, {rnn_epochs} epochs", f"{rnn_seconds:.1f} s",
         f"{rnn.n_parameters:,} parameters"),
    ], watch.seconds)
    save_plot({"Transformer": tr_history, "GRU encoder-decoder": rnn_history}, plot, DESCRIPTION)
    return {"metrics": {"transformer_exact_match": tr_scores["exact_match"],
                        "transformer_accuracy": tr_scores["accuracy"],
                        "transformer_seconds": tr_seconds,
                        "rnn_exact_match": rnn_scores["exact_match"],
                        "rnn_accuracy": rnn_scores["accuracy"],
                        "rnn_seconds": rnn_seconds},
            "reference": {"chance_exact_match": 10.0 ** -length, "chance_accuracy": 0.1},
            "history": {"transformer": tr_history, "rnn": rnn_history},
            "epochs": model.epoch, "seconds": watch.seconds, "attention": weights,
            "heatmap": heatmap}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
