"""The framework: Layer contract, Model, activations, losses, metrics, initializers, optimizers,
clipping, gradient check and serialization."""
from .activations import Activation, get_activation, ACTIVATIONS
from .callbacks import Callback
from .gradcheck import gradcheck, GradcheckResult, relative_error
from .initializers import get_initializer, INITIALIZERS
from .layer import Layer
from .losses import Loss, get_loss, LOSSES
from .metrics import METRICS
from .model import History, Model, TrainingDiverged
from .optimizers import Optimizer, SGD, get_optimizer
from . import clipping

__all__ = ["Activation", "ACTIVATIONS", "Callback", "GradcheckResult", "History", "INITIALIZERS",
           "Layer", "Loss", "LOSSES", "METRICS", "Model", "Optimizer", "SGD", "TrainingDiverged",
           "clipping", "get_activation", "get_initializer", "get_loss", "get_optimizer",
           "gradcheck", "relative_error"]
