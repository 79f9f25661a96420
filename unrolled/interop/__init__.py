"""Bridges between unrolled and other frameworks.

* :mod:`unrolled.interop.torch`: ``from_torch`` / ``to_torch``, exact conversion of weights
  between PyTorch modules (``nn.Linear``, ``nn.RNN``, ``nn.LSTM``, ``nn.GRU``, ``nn.Sequential``)
  and unrolled layers and models.

PyTorch is optional: importing this package (or :mod:`unrolled.interop.torch`) never imports it;
only calling a conversion function does, and raises ``ImportError`` with install instructions when
it is missing.
"""
from .torch import from_torch, to_torch

__all__ = ["from_torch", "to_torch"]
