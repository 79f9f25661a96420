"""The framework: Layer contract, Model, activations, losses, metrics, initializers, optimizers,
clipping, gradient check and serialization."""
from .activations import Activation, get_activation, ACTIVATIONS
from .callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from .gradcheck import gradcheck, GradcheckResult, relative_error
from .initializers import get_initializer, INITIALIZERS
from .layer import Layer
from .losses import Loss, get_loss, LOSSES
from .metrics import METRICS
from .model import History, Model, TrainingDiverged
from .optimizers import Optimizer, SGD, RMSprop, Adagrad, Adam, AdamW, OPTIMIZERS, get_optimizer
from .schedules import (Schedule, Steady, ExponentialDecay, LinearDecay, StepDecay,
                        CosineAnnealing, CyclicDescent, InverseTimeDecay, SCHEDULES, get_schedule)
from .serialization import save_model, load_model
from .seq2seq import Seq2Seq
from . import clipping, schedules, serialization

__all__ = ["Activation", "ACTIVATIONS", "Callback", "GradcheckResult", "History", "INITIALIZERS",
           "Layer", "Loss", "LOSSES", "METRICS", "Model", "Optimizer", "SGD", "TrainingDiverged",
           "clipping", "get_activation", "get_initializer", "get_loss", "get_optimizer",
           "gradcheck", "relative_error", "CSVLogger", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "RMSprop", "Adagrad", "Adam", "AdamW", "OPTIMIZERS", "Schedule",
           "Steady", "ExponentialDecay", "LinearDecay", "StepDecay", "CosineAnnealing",
           "CyclicDescent", "InverseTimeDecay", "SCHEDULES", "get_schedule", "save_model", "load_model", "Seq2Seq",
           "schedules", "serialization"]
