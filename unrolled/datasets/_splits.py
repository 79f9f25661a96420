"""What the generated datasets share: the split names and the checked split sizes."""

from __future__ import annotations

from .utils import _check_int

_SPLITS = ("train", "val", "test")


def _sizes(n_train, n_val, n_test) -> tuple[int, int, int]:
    return (
        _check_int("n_train", n_train, minimum=1),
        _check_int("n_val", n_val, minimum=0),
        _check_int("n_test", n_test, minimum=1),
    )
