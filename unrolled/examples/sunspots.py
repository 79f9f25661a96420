"""Sunspots: a GRU forecasts next year's sunspot number (Weigend et al. 1990 benchmark).

The yearly sunspot numbers since 1700 follow an irregular cycle of about 11 years. The classic
benchmark (Weigend, Huberman & Rumelhart, 1990) trains on the years up to 1920 and forecasts one
year ahead over 1921-1955 (and, harder, 1956-1979). The score is the ARV, the mean squared error
divided by a variance, so that always predicting the mean scores about 1.

Which variance? The literature divides by the variance of the whole 1700-1979 series: Weigend et
al. report 0.086 for their 12-8-1 network and the persistence forecast ("next year = this year")
scores 0.43. Dividing by the variance of the 1921-1955 targets alone (what ``arv`` does by default)
gives other numbers (persistence: 0.38); both are printed, and only the first compares with
published ones.

Run:  python -m unrolled.examples.sunspots [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run sunspots)
"""
from unrolled.datasets import arv, sunspots
from unrolled.examples._common import Stopwatch, check_plot, print_results, run_script, save_plot
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.framework.schedules import CosineAnnealing
from unrolled.layers import GRU, Dense

NAME = "sunspots"
DESCRIPTION = ("Sunspots: a GRU forecasts next year's sunspot number (Weigend et al. "
               "1990 benchmark).")


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 12, 1) = the last 12 years, Y (m, 1) = the next year, divided by the
    #    training maximum. Training targets 1712-1900, validation 1901-1920, test 1921-1955.
    ds = sunspots(lags=12)
    X, Y = ds.train
    scaler = ds.extras["scaler"]
    var_1700_1979 = ds.extras["variance_1700_1979"]
    print(f"{len(X)} training years, {len(ds.val)} validation years, {len(ds.test)} test years "
          f"(1921-1955); X {X.shape}, Y {Y.shape}")

    # 2. Model: 8 GRU units read the 12 years, a linear unit gives next year's (scaled) number.
    #    Only about 200 training years: a small network, and a learning rate that decays to 0.
    epochs = epochs or (40 if quick else 100)
    model = Model([GRU(8), Dense(1)], loss="mse", optimizer=Adam(lr=0.01), seed=seed,
                  clip_norm=1.0, schedule=CosineAnnealing(T_max=epochs))

    # 3. Train.
    history = model.train(X, Y, epochs=epochs, batch_size=16, validation=(ds.val.X, ds.val.Y),
                          verbose=verbose)

    # 4. Evaluate in sunspot numbers (undo the scaling), on both test periods.
    def score(split):
        pred = scaler.inverse_transform(model.predict(split.X))
        target = scaler.inverse_transform(split.Y)
        return arv(pred, target, var_1700_1979), arv(pred, target), pred, target

    arv1, arv1_own, pred, target = score(ds.test)
    arv2, _, _, _ = score(ds.extras["test2"])
    years = ds.extras["target_years"]["test"]
    print("\nyear  observed  forecast")
    for i in range(0, len(years), 7):
        print(f"{years[i]}  {target[i, 0]:8.1f}  {pred[i, 0]:8.1f}")

    base = ds.info["baseline"]
    print_results([
        ("ARV 1921-1955 (variance of 1700-1979)", f"{arv1:.3f}",
         f"Weigend et al. 1990: 0.086; persistence: "
         f"{base['persistence_arv_test_var1700_1979']:.3f}"),
        ("ARV 1921-1955 (variance of 1921-1955)", f"{arv1_own:.3f}",
         f"persistence: {base['persistence_arv_test']:.3f}"),
        ("ARV 1956-1979 (variance of 1700-1979)", f"{arv2:.3f}",
         f"persistence: {base['persistence_arv_test2_var1700_1979']:.3f}"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"arv": arv1, "arv_test_variance": arv1_own, "arv_1956_1979": arv2},
            "reference": {"weigend_1990_arv": 0.086,
                          "persistence_arv": base["persistence_arv_test_var1700_1979"],
                          "persistence_arv_test_variance": base["persistence_arv_test"]},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
