"""Noisy sine waves: one-step-ahead forecasting at every step (regression).

Split sizes and seeds follow the convention of :mod:`unrolled.datasets.generated`.
"""

from __future__ import annotations

import numpy as np

from ._splits import _SPLITS, _sizes
from .base import Dataset, Split
from .utils import (
    _check_float,
    _check_int,
    _split_rngs,
)

__all__ = ["sine"]

# =========================================================================== #
# sine forecasting
# =========================================================================== #
def sine(n_train: int = 1000, n_val: int = 200, n_test: int = 200, steps: int = 50,
         noise: float = 0.05, freq_range: tuple[float, float] = (0.02, 0.1), seed=0) -> Dataset:
    """Noisy sine waves, one-step-ahead forecasting at every step.

    ``x_t = sin(2 pi f t + phi) + eps_t`` for ``t = 0 .. steps`` with
    ``f ~ U(freq_range)`` (cycles per step), ``phi ~ U(0, 2 pi)`` and
    ``eps_t ~ N(0, noise**2)``.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Split sizes.
    steps : int, default 50
        Sequence length ``s``.
    noise : float >= 0, default 0.05
        Standard deviation of the additive Gaussian noise.
    freq_range : (float, float), default (0.02, 0.1)
        Frequency range in cycles per step (``0 < low <= high <= 0.5``).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    Dataset
        ``X`` (m, steps, 1) = ``x_0 .. x_{steps-1}``, ``Y`` (m, steps, 1) =
        ``x_1 .. x_steps`` (synchronized, the series shifted by one).
        ``extras``: ``"freq"``, ``"phase"`` (split -> (m,)) and ``"clean"``
        (split -> noise-free targets (m, steps, 1)).
        ``info["baseline"]`` (test): ``"persistence_mse"`` (predict
        ``x_{t+1} = x_t``) and ``"zero_mse"``.

    References
    ----------
    Standard toy forecasting task; the persistence (naive) forecast is the
    usual reference (Hyndman, R. J. & Athanasopoulos, G., Forecasting:
    Principles and Practice, 3rd ed., OTexts, 2021, section 5.2).
    """
    sizes = _sizes(n_train, n_val, n_test)
    steps = _check_int("steps", steps, minimum=1)
    noise = _check_float("noise", noise, minimum=0.0)
    try:
        lo, hi = (float(v) for v in freq_range)
    except (TypeError, ValueError):
        raise ValueError(f"freq_range must be two numbers (low, high), got {freq_range!r}") from None
    if not (0.0 < lo <= hi <= 0.5):
        raise ValueError(f"freq_range must satisfy 0 < low <= high <= 0.5, got {freq_range!r}")
    rngs = _split_rngs(seed)
    t = np.arange(steps + 1)
    splits, freq, phase, clean = {}, {}, {}, {}
    for name, n, rng in zip(_SPLITS, sizes, rngs):
        f = rng.uniform(lo, hi, size=n)
        ph = rng.uniform(0.0, 2 * np.pi, size=n)
        c = np.sin(2 * np.pi * f[:, None] * t[None, :] + ph[:, None])
        x = c + noise * rng.standard_normal(c.shape)
        splits[name] = Split(x[:, :-1, None], x[:, 1:, None])
        freq[name], phase[name], clean[name] = f, ph, c[:, 1:, None]
    te = splits["test"]
    info = {
        "description": f"Sine waves (f in [{lo}, {hi}] cycles/step, random phase, noise sd "
                       f"{noise}), predict the next value at each of {steps} steps.",
        "source": "Synthetic; persistence baseline as in Hyndman & Athanasopoulos (2021), "
                  "Forecasting: Principles and Practice.",
        "task": "next-step",
        "shapes": f"X (m, {steps}, 1), Y (m, {steps}, 1)",
        "baseline": {
            "persistence_mse": float(np.mean((te.Y - te.X) ** 2)),
            "zero_mse": float(np.mean(te.Y ** 2)),
        },
        "reference": "",
    }
    return Dataset("sine", splits["train"], splits["val"], splits["test"], info,
                   {"freq": freq, "phase": phase, "clean": clean})
