"""Mauna Loa CO2: a GRU forecasts next month's level and beats the seasonal naive forecast.

Monthly mean CO2 at Mauna Loa, 1958-2001: a steady rise of about 1.2-1.5 ppm a year plus a
seasonal swing of a few ppm. The last 20% of the months (1993-2001) are the test period; the
forecast is one month ahead. The baseline to beat is the seasonal naive forecast with drift (the
same month last year, plus the average yearly rise): RMSE 0.85 ppm.

One idea matters more than the network: **forecast changes, not levels**. The test months have
higher CO2 than any training month, and a network trained on levels has never seen such inputs
(its tanh units saturate; it scores several ppm). Given the last 12 months *relative to the
latest one*, and asked for the *change* to next month, the network sees inputs of the same kind
in training and in test, whatever the level.

Run:  python -m unrolled.examples.co2 [--epochs N] [--seed S] [--plot FILE.png] [--quick]
      (from the repository root, or anywhere once installed; or: unrolled run co2)
"""
import numpy as np

from unrolled.datasets import co2
from unrolled.examples._common import Stopwatch, check_plot, print_results, run_script, save_plot
from unrolled.framework.model import Model
from unrolled.framework.optimizers import Adam
from unrolled.framework.schedules import CosineAnnealing
from unrolled.layers import GRU, Dense

NAME = "co2"
DESCRIPTION = ("Mauna Loa CO2: a GRU forecasts next month's level and beats the "
               "seasonal naive forecast.")


def as_changes(split, scale):
    """Windows relative to their last month, and next month's change from it (both / scale)."""
    last = split.X[:, -1, :]                                  # (m, 1) the latest month
    return (split.X - last[:, None, :]) / scale, (split.Y - last) / scale, last


def main(epochs=None, seed=0, verbose=1, plot=None, quick=False):
    check_plot(plot)
    watch = Stopwatch()

    # 1. Data: X (m, 12, 1) = the last 12 months, Y (m, 1) = the next month, standardized with
    #    the training months (ds.extras["scaler"] turns them back into ppm).
    ds = co2(lags=12)
    scaler = ds.extras["scaler"]
    # Changes are much smaller than levels: bring them to unit spread (training statistics).
    scale = float(np.std(ds.train.Y - ds.train.X[:, -1, :]))
    X, Y, _ = as_changes(ds.train, scale)
    Xv, Yv, _ = as_changes(ds.val, scale)
    Xt, _, last_t = as_changes(ds.test, scale)
    print(f"{len(X)} training months, {len(Xv)} validation, {len(Xt)} test; X {X.shape}, Y {Y.shape}")

    # 2. Model: 16 GRU units read the 12 relative months; a linear unit gives the change.
    epochs = epochs or (30 if quick else 100)
    model = Model([GRU(16), Dense(1)], loss="mse", optimizer=Adam(lr=0.01), seed=seed,
                  clip_norm=1.0, schedule=CosineAnnealing(T_max=epochs))

    # 3. Train.
    history = model.train(X, Y, epochs=epochs, batch_size=16, validation=(Xv, Yv),
                          verbose=verbose)

    # 4. Evaluate in ppm: forecast level = latest month + predicted change.
    forecast = scaler.inverse_transform(last_t + model.predict(Xt) * scale)
    observed = scaler.inverse_transform(ds.test.Y)
    rmse = float(np.sqrt(np.mean((forecast - observed) ** 2)))
    ym = ds.extras["year_month"][ds.extras["target_index"]["test"]]
    print("\nmonth     observed  forecast (ppm)")
    for i in range(0, len(ym), 24):
        print(f"{ym[i, 0]}-{ym[i, 1]:02d}  {observed[i, 0]:8.2f}  {forecast[i, 0]:8.2f}")

    base = ds.info["baseline"]
    print_results([
        (f"test RMSE, {len(Xt)} months (ppm)", f"{rmse:.3f}",
         f"seasonal naive with drift: {base['seasonal_naive_drift_rmse']:.3f}; persistence: "
         f"{base['persistence_rmse']:.3f}"),
    ], watch.seconds)
    save_plot(history, plot, DESCRIPTION)
    return {"metrics": {"rmse": rmse},
            "reference": {"seasonal_naive_drift_rmse": base["seasonal_naive_drift_rmse"],
                          "persistence_rmse": base["persistence_rmse"]},
            "history": history, "epochs": model.epoch, "seconds": watch.seconds}


if __name__ == "__main__":
    raise SystemExit(run_script(main, DESCRIPTION))
