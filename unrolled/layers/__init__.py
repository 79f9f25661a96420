"""Layers: one module per layer, all following the ``Layer`` hooks."""
from .bidirectional import Bidirectional
from .conv import Conv1D, Conv2D, Convolution
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .gru import GRU
from .lstm import LSTM
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                      GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                      MaxPooling1D, MaxPooling2D, Pooling)
from .recurrent import Recurrent  # noqa: F401  (base class for your own recurrent layers)
from .repeat_vector import RepeatVector
from .reshape import Reshape
from .rnn import RNN

__all__ = ["Bidirectional", "Dense", "Dropout", "Embedding", "GRU", "LSTM", "RNN", "RepeatVector",
           "Flatten", "Reshape", "Conv1D", "Conv2D", "Convolution",
           "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "Pooling"]

#: layer class by name (used to rebuild saved models); only these types are ever instantiated
LAYER_TYPES = {name: globals()[name] for name in __all__}
