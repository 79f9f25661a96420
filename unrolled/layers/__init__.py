"""Layers: one module per layer, all following the ``Layer`` hooks."""
from .dense import Dense

__all__ = ["Dense"]
