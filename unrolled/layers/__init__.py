"""Layers: one module per layer, all following the ``Layer`` hooks."""
from .attention import Attention
from .bidirectional import Bidirectional
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent  # noqa: F401  (base class for your own recurrent layers)
from .repeat_vector import RepeatVector
from .rnn import RNN

__all__ = ["Attention", "Bidirectional", "Dense", "Dropout", "Embedding", "GRU", "LSTM", "RNN", "RepeatVector"]

#: layer class by name (used to rebuild saved models); only these types are ever instantiated
LAYER_TYPES = {name: globals()[name] for name in __all__}
