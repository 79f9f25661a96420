"""Synthetic sequence datasets generated on the fly (deterministic per seed).

Every loader takes split sizes ``n_train, n_val, n_test`` and a ``seed``
(int >= 0 or :class:`numpy.random.Generator`). With an int seed each split is
drawn from its own child generator (``SeedSequence(seed).spawn(3)``), so the
training data do not change when only ``n_val`` or ``n_test`` change (the one
exception, documented there, is :func:`binary_addition`, whose validation and
test pairs are drawn so that they never repeat a training pair).

Binary tasks (:func:`parity`, :func:`boolean_majority`,
:func:`string_first_last`, :func:`signal_in_noise`, :func:`small_images`)
return ``Y`` of shape ``(m, 1)`` with values 0.0 / 1.0, or one-hot ``(m, 2)``
with ``one_hot=True``; their classes are balanced within every split (the
counts differ by at most one).

The loaders live in one module per family, and this module gathers them under the name they
always had (``from unrolled.datasets.generated import parity`` keeps working):

* :mod:`unrolled.datasets.arithmetic`: :func:`binary_addition`, :func:`adding_problem`,
  :func:`int_to_bits`, :func:`bits_to_int`;
* :mod:`unrolled.datasets.reber`: :func:`embedded_reber`, :func:`reber_strings`,
  :func:`is_reber`, :func:`reber_legal_next`, ``REBER_SYMBOLS``;
* :mod:`unrolled.datasets.binary_tasks`: :func:`parity`, :func:`boolean_majority`,
  :func:`string_first_last`, :func:`signal_in_noise`, :func:`small_images`;
* :mod:`unrolled.datasets.waves`: :func:`sine`.
"""

from .arithmetic import adding_problem, binary_addition, bits_to_int, int_to_bits
from .binary_tasks import boolean_majority, parity, signal_in_noise, small_images, string_first_last
from .reber import REBER_SYMBOLS, embedded_reber, is_reber, reber_legal_next, reber_strings
from .waves import sine

__all__ = [
    "binary_addition",
    "int_to_bits",
    "bits_to_int",
    "adding_problem",
    "embedded_reber",
    "reber_strings",
    "is_reber",
    "reber_legal_next",
    "REBER_SYMBOLS",
    "parity",
    "sine",
    "boolean_majority",
    "string_first_last",
    "signal_in_noise",
    "small_images",
]
