"""Layers: one module per layer, all following the ``Layer`` hooks."""
from ..framework import registry
from .attention import Attention
from .bidirectional import Bidirectional
from .composite import Residual, Sequential
from .conv import Conv1D, Conv2D, Convolution
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .gru import GRU
from .layer_normalization import LayerNormalization
from .lstm import LSTM
from .multi_head_attention import MultiHeadAttention
from .positional_encoding import PositionalEncoding
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                      GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                      MaxPooling1D, MaxPooling2D, Pooling)
from .recurrent import Recurrent  # noqa: F401  (base class for your own recurrent layers)
from .repeat_vector import RepeatVector
from .reshape import Reshape
from .rnn import RNN
from .template import Template  # noqa: F401  (the layer to copy; saveable like any other)

__all__ = ["Attention", "Bidirectional", "Dense", "Dropout", "Embedding", "GRU", "LSTM", "RNN",
           "RepeatVector", "Flatten", "Reshape", "Conv1D", "Conv2D", "Convolution",
           "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "Pooling", "LayerNormalization", "MultiHeadAttention",
           "PositionalEncoding", "Residual", "Sequential"]

#: layer class by name: the registry's live layer table (every Layer subclass enters it when it
#: is defined, the built-in ones above and yours alike); saved models are rebuilt from it only
LAYER_TYPES = registry.table("layer")
