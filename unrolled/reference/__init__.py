"""Reference layers: the same arithmetic as ``unrolled.layers``, written to be read.

Each module here computes one layer's forward and backward pass step by step, one NumPy statement
per numbered equation of the layer's docs page, with the equation's label in a comment
(``# (L8)``). No in-place tricks, no ``out=``, no chunks of steps, no time-major buffers, no lean
mode: a loop ``for t in range(s)`` over batch-major arrays ``(m, s, ...)``. The functions take the
parameters and every random choice (dropout masks) as arguments and return plain dictionaries
with the same public keys as the fast layer's ``fc``, ``bc`` and ``g``, so that a test can compare
them entry by entry (tests/test_reference_*.py). ``Model`` never calls them.

Read these first; read ``unrolled/layers/`` afterwards to see how the same arithmetic is
reordered for speed.

Modules, one per layer family: ``rnn``, ``lstm``, ``gru``, ``bidirectional`` (and ``common``,
the loop set-up they share), ``dense``, ``embedding``, ``dropout``, ``repeat_vector``, ``conv``,
``pooling``, ``flatten``, ``attention``, ``transformer``.
"""
from . import (attention, bidirectional, common, conv, dense, dropout, embedding, flatten,  # noqa: F401
               gru, lstm, pooling, repeat_vector, rnn, transformer)
