"""Return containers shared by every loader in :mod:`unrolled.datasets`.

Every loader returns a :class:`Dataset` holding three :class:`Split` objects
(``train``, ``val``, ``test``), an ``info`` dict describing the task and an
``extras`` dict with dataset-specific helpers (scalers, vocabularies, legal
symbol masks, ...).

Array conventions
-----------------
* ``X`` is ``float64`` with the sample axis first: ``(m, e)`` for flat
  features or ``(m, s, e)`` for sequences of ``s`` steps with ``e`` features.
* ``Y`` is ``float64`` (one-hot class vectors, 0/1 labels or real targets)
  unless a loader states otherwise (the character-level text loader returns
  ``int64`` symbol ids).
* ``mask`` is ``None`` for fixed-length data, otherwise a ``bool`` array of
  shape ``(m, s)`` that is ``True`` on real steps and ``False`` on padding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

__all__ = ["Split", "Dataset", "SPLIT_NAMES"]

SPLIT_NAMES = ("train", "val", "test")


def _shape_text(a: Any) -> str:
    return "None" if a is None else f"{tuple(np.shape(a))} {np.asarray(a).dtype}"


@dataclass(repr=False)
class Split:
    """One split (train, validation or test) of a dataset.

    Parameters
    ----------
    X : numpy.ndarray
        Inputs, sample axis first, e.g. ``(m, s, e)``.
    Y : numpy.ndarray
        Targets, sample axis first, e.g. ``(m, s, k)`` or ``(m, k)``.
    mask : numpy.ndarray of bool, shape (m, s), optional
        ``True`` on real time steps and ``False`` on padding, for padded
        variable-length data; ``None`` when every sequence has full length.

    Notes
    -----
    ``len(split)`` is the number of samples and iterating yields ``X`` then
    ``Y`` so that ``X, Y = ds.train`` works; the mask is read as
    ``ds.train.mask``.
    """

    X: np.ndarray
    Y: np.ndarray
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        nx, ny = np.shape(self.X)[0], np.shape(self.Y)[0]
        if nx != ny:
            raise ValueError(
                f"Split: X and Y must have the same number of samples, got X with {nx} "
                f"and Y with {ny}"
            )
        if self.mask is not None:
            ms = np.shape(self.mask)
            if len(ms) != 2 or ms[0] != nx or (np.ndim(self.X) >= 2 and ms[1] != np.shape(self.X)[1]):
                raise ValueError(
                    f"Split: mask must have shape (m, s) = ({nx}, {np.shape(self.X)[1]}), got {ms}"
                )

    def __len__(self) -> int:
        return int(np.shape(self.X)[0])

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.X
        yield self.Y

    def __repr__(self) -> str:
        return f"Split(X={_shape_text(self.X)}, Y={_shape_text(self.Y)}, mask={_shape_text(self.mask)})"


@dataclass(repr=False)
class Dataset:
    """A dataset with train / validation / test splits.

    Parameters
    ----------
    name : str
        Loader name, e.g. ``"embedded_reber"``.
    train, val, test : Split
        The three splits. A split may be empty (zero samples) when a loader
        is asked for no validation data.
    info : dict
        Always holds ``"description"``, ``"source"`` (citation), ``"task"``
        (one of ``"many-to-one"``, ``"many-to-many"``, ``"regression"``,
        ``"classification"``, ``"next-step"``), ``"shapes"`` (human-readable
        text), ``"baseline"`` (dict name -> value, computed on the test split
        unless the key says otherwise) and ``"reference"`` (published numbers
        as text, or ``""``).
    extras : dict
        Dataset-specific helpers, documented by each loader (e.g. the
        ``"scaler"`` of a regression set, the ``"legal"`` next-symbol masks of
        the Reber grammar). Values keyed by split name are dicts with keys
        ``"train"``, ``"val"`` and ``"test"``.
    """

    name: str
    train: Split
    val: Split
    test: Split
    info: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)

    def split(self, name: str) -> Split:
        """Return the split called ``name`` (``"train"``, ``"val"`` or ``"test"``)."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"split name must be one of {SPLIT_NAMES}, got {name!r}")
        return getattr(self, name)

    def __getitem__(self, name: str) -> Split:
        return self.split(name)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, task={self.info.get('task')!r}, "
            f"train={len(self.train)}, val={len(self.val)}, test={len(self.test)}, "
            f"shapes={self.info.get('shapes')!r})"
        )
