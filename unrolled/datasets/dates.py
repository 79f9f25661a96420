"""Date-format conversion: dates written by people, in many formats, to ISO ``YYYY-MM-DD``.

The task of *Deep Learning from Scratch 2*, chapter 8 (and of Bahdanau-style attention demos):
``"september 27, 1994"``, ``"Aug 3 2001"``, ``"10/11/09"``, ``"TUESDAY, SEPTEMBER 25, 1984"``...
all become ``"1994-09-27"``-style strings, read and written one character at a time. The
alignment is easy to read: the year of the output attends to the year of the input, wherever the
format put it.
"""

from __future__ import annotations

import datetime

import numpy as np

from .base import Dataset, Split
from .utils import Vocabulary, _check_int, _split_rngs

__all__ = ["dates", "DATE_FORMATS"]

START = "^"
PAD = "_"
SOURCE_VOCAB = list(PAD + " ,-./0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
TARGET_VOCAB = list(START + "0123456789-")
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
FIRST, LAST = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)

#: name -> template; ``{Month}``/``{Mon}``/``{Weekday}``/``{Wkd}`` are written in lower, title
#: or upper case (one draw per date), ``{yy}`` is the year's last two digits (50-99: 19yy)
DATE_FORMATS = {
    "month d, yyyy": "{Month} {d}, {yyyy}",
    "weekday, month d, yyyy": "{Weekday}, {Month} {d}, {yyyy}",
    "mon d yyyy": "{Mon} {d} {yyyy}",
    "mon d, yyyy": "{Mon} {d}, {yyyy}",
    "d month yyyy": "{d} {Month} {yyyy}",
    "d mon yyyy": "{d} {Mon} {yyyy}",
    "wkd mon d yyyy": "{Wkd} {Mon} {d} {yyyy}",
    "m/d/yy": "{m}/{d}/{yy}",
    "mm/dd/yy": "{mm}/{dd}/{yy}",
    "mm/dd/yyyy": "{mm}/{dd}/{yyyy}",
    "yyyy-mm-dd": "{yyyy}-{mm}-{dd}",
    "dd.mm.yyyy": "{dd}.{mm}.{yyyy}",
}
SOURCE_LENGTH = 29      # the longest: "wednesday, september 27, 1994"


def _write(date, template, case):
    month, weekday = MONTHS[date.month - 1], WEEKDAYS[date.weekday()]
    words = {"Month": month, "Mon": month[:3], "Weekday": weekday, "Wkd": weekday[:3]}
    words = {k: (v, v.title(), v.upper())[case] for k, v in words.items()}
    return template.format(**words, d=date.day, dd=f"{date.day:02d}", m=date.month,
                           mm=f"{date.month:02d}", yy=f"{date.year % 100:02d}",
                           yyyy=date.year)


def dates(n_train: int = 20000, n_val: int = 1000, n_test: int = 1000, seed=0) -> Dataset:
    """Human-written dates to ISO ``YYYY-MM-DD``, character by character.

    Dates are days from 1950-01-01 to 2049-12-31 (two-digit years 50-99 mean 19yy, 00-49 20yy;
    slashes are month/day/year, dots day.month.year). The days are split first: no calendar date
    of the test or validation split appears in training, in any format. Each sample draws one
    of the twelve :data:`DATE_FORMATS` and, for words, one of lower, title or upper case.

    Returns
    -------
    Dataset
        ``X (m, 29)`` character ids over ``extras["source_vocab"]`` (68 symbols; id 0 ``"_"``
        pads on the right), for an ``Embedding`` (or ``one_hot(X, 68)``), ``mask (m, 29)`` True
        on real characters (``ds.train.mask``); ``Y (m, 10)`` ids over ``"^0123456789-"`` (id 0
        = start token). ``extras``: ``encode_source(strings) -> (X, mask)``,
        ``decode_source(X)``, ``decode_target(ids)``, ``strings`` (source and target strings
        per split), ``formats`` (format name per sample and split).
    """
    sizes = {"train": _check_int("n_train", n_train, minimum=1),
             "val": _check_int("n_val", n_val, minimum=0),
             "test": _check_int("n_test", n_test, minimum=1)}
    rng_days, *rngs = _split_rngs(seed, 4)
    days = rng_days.permutation((LAST - FIRST).days + 1)
    held = sizes["val"] + sizes["test"]
    pools = {"test": days[:sizes["test"]], "val": days[sizes["test"]:held], "train": days[held:]}
    names = list(DATE_FORMATS)
    source, target = Vocabulary(SOURCE_VOCAB), Vocabulary(TARGET_VOCAB)

    def encode_source(strings):
        X = source.encode([s.ljust(SOURCE_LENGTH, PAD) for s in strings])    # PAD is id 0
        X = X.reshape(len(strings), SOURCE_LENGTH)          # also with no strings: (0, s)
        mask = np.arange(SOURCE_LENGTH) < np.array([len(s) for s in strings])[:, None]
        return X, mask

    def decode_source(X):
        return ["".join(row).rstrip(PAD) for row in source.decode(np.asarray(X))]

    def decode_target(ids):
        return ["".join(row) for row in target.decode(np.asarray(ids))]

    splits, strings, formats = {}, {}, {}
    for (split, n), rng in zip(sizes.items(), rngs):
        pool = pools[split]
        chosen = pool[rng.integers(0, len(pool), n)] if n else pool[:0]
        kinds = rng.integers(0, len(names), n)
        cases = rng.integers(0, 3, n)
        src, tgt = [], []
        for day, kind, case in zip(chosen, kinds, cases):
            date = FIRST + datetime.timedelta(days=int(day))
            src.append(_write(date, DATE_FORMATS[names[kind]], case))
            tgt.append(date.isoformat())
        X, mask = encode_source(src)
        Y = target.encode(tgt).reshape(n, 10)
        splits[split] = Split(X, Y, mask)
        strings[split] = (src, tgt)
        formats[split] = [names[k] for k in kinds]
    info = {"description": "convert dates written in 12 human formats to ISO YYYY-MM-DD",
            "source": "Saito (2018), Deep Learning from Scratch 2, chapter 8 (date format "
                      "conversion); generated here",
            "task": "sequence-to-sequence",
            "shapes": f"X (m, {SOURCE_LENGTH}) ids over {len(SOURCE_VOCAB)} + mask, Y (m, 10) ids",
            "baseline": {"exact_match_chance": 1.0 / ((LAST - FIRST).days + 1)},
            "reference": "dlfs2's attention LSTM encoder-decoder: 99.9% exact on held-out dates"}
    extras = {"source_vocab": SOURCE_VOCAB, "target_vocab": TARGET_VOCAB, "start_id": 0,
              "encode_source": encode_source, "decode_source": decode_source,
              "decode_target": decode_target,
              "strings": strings, "formats": formats}
    return Dataset("dates", splits["train"], splits["val"], splits["test"], info, extras)
