"""Layers: one module per layer, all following the ``Layer`` hooks."""
from .bidirectional import Bidirectional
from .composite import Residual, Sequential
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .layer_normalization import LayerNormalization
from .lstm import LSTM
from .multi_head_attention import MultiHeadAttention
from .positional_encoding import PositionalEncoding
from .recurrent import Recurrent  # noqa: F401  (base class for your own recurrent layers)
from .repeat_vector import RepeatVector
from .rnn import RNN

__all__ = ["Bidirectional", "Dense", "Dropout", "Embedding", "GRU", "LSTM", "RNN", "RepeatVector",
           "LayerNormalization", "MultiHeadAttention", "PositionalEncoding", "Residual",
           "Sequential"]

#: layer class by name (used to rebuild saved models); only these types are ever instantiated
LAYER_TYPES = {name: globals()[name] for name in __all__}
