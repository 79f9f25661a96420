"""Layers: one module per layer, all following the ``Layer`` hooks."""
from .dense import Dense
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent
from .rnn import RNN

__all__ = ["Dense", "GRU", "LSTM", "RNN"]
