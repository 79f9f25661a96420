"""Deterministic, offline datasets for :mod:`unrolled`.

Every loader returns a :class:`Dataset` with ``train`` / ``val`` / ``test``
:class:`Split` objects (``X, Y = ds.train``; padded sets also carry
``ds.train.mask``), an ``info`` dict (description, source, task, shapes,
baseline, reference) and an ``extras`` dict of dataset-specific helpers.

Generated sets, one module per family (all gathered in :mod:`.generated` too):
:func:`binary_addition`, :func:`adding_problem` (:mod:`.arithmetic`);
:func:`embedded_reber` (:mod:`.reber`); :func:`parity`, :func:`boolean_majority`,
:func:`string_first_last`, :func:`signal_in_noise`, :func:`small_images`
(:mod:`.binary_tasks`); :func:`sine` (:mod:`.waves`).

Real sets shipped with the package (no download): :func:`digits`,
:func:`iris`, :func:`sunspots`, :func:`co2`, :func:`text`.

``LOADERS`` maps each loader name to its function.
"""

from .base import Dataset, Split
from .arithmetic import adding_problem, binary_addition, bits_to_int, int_to_bits
from .binary_tasks import boolean_majority, parity, signal_in_noise, small_images, string_first_last
from .reber import REBER_SYMBOLS, embedded_reber, is_reber, reber_legal_next, reber_strings
from .waves import sine
from .seq2seq import addition_strings, reverse_digits
from .dates import dates
from .real import TEXTS, TextDataset, arv, co2, digits, iris, sunspots, text
from .utils import (
    Scaler,
    from_one_hot,
    majority_baseline,
    one_hot,
    Vocabulary,
    pad_sequences,
    sliding_windows,
    train_val_test_split,
)

LOADERS = {
    "binary_addition": binary_addition,
    "adding_problem": adding_problem,
    "embedded_reber": embedded_reber,
    "parity": parity,
    "sine": sine,
    "boolean_majority": boolean_majority,
    "string_first_last": string_first_last,
    "signal_in_noise": signal_in_noise,
    "small_images": small_images,
    "digits": digits,
    "iris": iris,
    "sunspots": sunspots,
    "co2": co2,
    "text": text,
    "reverse_digits": reverse_digits,
    "addition_strings": addition_strings,
}

__all__ = [
    "Dataset",
    "Split",
    "TextDataset",
    "LOADERS",
    "TEXTS",
    "REBER_SYMBOLS",
    # generated
    "reverse_digits",
    "addition_strings",
    "dates",
    "binary_addition",
    "adding_problem",
    "embedded_reber",
    "parity",
    "sine",
    "boolean_majority",
    "string_first_last",
    "signal_in_noise",
    "small_images",
    "reber_strings",
    "is_reber",
    "reber_legal_next",
    "int_to_bits",
    "bits_to_int",
    # real
    "digits",
    "iris",
    "sunspots",
    "co2",
    "text",
    "arv",
    # helpers
    "one_hot",
    "Vocabulary",
    "from_one_hot",
    "sliding_windows",
    "pad_sequences",
    "Scaler",
    "train_val_test_split",
    "majority_baseline",
]
