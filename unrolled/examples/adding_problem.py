"""Adding problem, T = 50: a GRU finds the two marked numbers in a sequence and adds them.

Every step carries a random value in [0, 1] and a marker; exactly two steps are marked, one in each
half of the sequence, and after the last step the network must output the sum of the two marked
values (a many-to-one regression; the modern variant of Le, Jaitly & Hinton, 2015). The first
marked value has to be kept in memory for up to 49 steps while 48 distractors go by. Always
answering 1 (the mean sum) scores an MSE of about 1/6 = 0.167: that is the baseline an RNN must
beat, and the first thing a network that fails to learn settles on.

Run:  python -m unrolled.examples.adding_problem [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run adding_problem)
"""
from unrolled.datasets import adding_problem
from unrolled.examples._common import Stopwatch, check_plot, print_results, run_script, save_plot
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.layers import GRU, Dense

NAME = "adding_problem"
DESCRIPTION = ("Adding problem, T = 50: a GRU finds the two marked numbers in a "
               "sequence and adds them.")


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 50, 2) = [value, marker] at each step, Y (m, 1) = sum of the marked values.
    ds = adding_problem(n_train=2000 if quick else 5000, n_val=500, n_test=1000, T=50,
                        seed=seed)
    X, Y = ds.train
    Xt, Yt = ds.test
    print(f"{len(X)} training sequences of {X.shape[1]} steps; X {X.shape}, Y {Y.shape}")

    # 2. Model: the GRU reads the whole sequence and returns only its last state
    #    (sequences=False); a linear unit reads the sum off that state.
    model = Model([GRU(32), Dense(1)], loss="mse", optimizer=Adam(lr=0.01), seed=seed,
                  clip_norm=1.0)

    # 3. Train. The loss first sits near 0.167 (the network answers ~1 whatever the input),
    #    then drops once the GRU has learned to latch the marked values.
    epochs = epochs or (6 if quick else 8)
    history = model.train(X, Y, epochs=epochs, batch_size=32, validation=(ds.val.X, ds.val.Y),
                          verbose=verbose)

    # 4. Evaluate: mean squared error on held-out sequences.
    mse = model.evaluate(Xt, Yt)["loss"]
    P = model.predict(Xt[:5])
    print("\nvalue 1 + value 2 = sum    predicted")
    for x, y, p in zip(Xt[:5], Yt[:5], P):
        v1, v2 = x[x[:, 1] == 1, 0]
        print(f"  {v1:.3f} + {v2:.3f} = {y[0]:.3f}    {p[0]:.3f}")

    base = ds.info["baseline"]["predict_1_mse"]
    print_results([
        (f"test MSE, {len(Xt):,} sequences", f"{mse:.5f}",
         f"target < 0.01; always predict 1: {base:.3f} (Le et al. 2015: 1/6)"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"mse": mse},
            "reference": {"predict_1_mse": base, "target_mse": 0.01},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
