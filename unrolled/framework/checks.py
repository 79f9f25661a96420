"""Argument checks shared by constructors and training loops.

Every check raises an error that names the owner (``"SGD"``, ``"Dense 'h'"``, ``"model.train"``),
the argument, what was expected and what was received, with its type::

    SGD: lr must be a finite number > 0, got '0.1' (str: pass the number itself, 0.1)

A value of the wrong type raises :class:`ArgumentTypeError`, which is both a ``TypeError`` (the
Python convention) and a ``ValueError`` (what these checks raised before, so ``except ValueError``
keeps working). A value of the right type outside its range raises ``ValueError``.
"""
import difflib
import inspect
import math

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a TypeError that is also a ValueError)."""


def short_repr(value, limit=80):
    """``repr(value)``, cut to ``limit`` characters (an array argument must not flood a message)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def received(value):
    """``'0.1' (str: pass the number itself, 0.1)``: the value, its type and a hint for strings."""
    text = f"{short_repr(value)} ({type(value).__name__}"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            pass
        else:
            text += f": pass the number itself, {value.strip()}"
    return text + ")"


def _bound(low, low_open, high, high_open):
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def _describe(integer, low, low_open, high, high_open):
    if integer and low == 0 and low_open and high is None:
        return "a positive integer"
    bound = _bound(low, low_open, high, high_open)
    kind = "an integer" if integer else "a finite number"
    return f"{kind} {bound}".rstrip()


def number(owner, name, value, low=None, low_open=False, high=None, high_open=False,
           integer=False, none=False):
    """``value`` as a float (``int`` when ``integer``) after checking its type and range.

    ``none=True`` lets None through. Bools are refused (``True`` is not a learning rate), and so
    are strings, complex numbers and arrays.
    """
    if value is None and none:
        return None
    expected = _describe(integer, low, low_open, high, high_open) + (" or None" if none else "")
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
        raise ArgumentTypeError(f"{owner}: {name} must be {expected}, got {received(value)}")
    # a plain int or float (NumPy scalars would print as np.float64(...)); ints stay exact
    value = int(value) if isinstance(value, (int, np.integer)) else float(value)
    ok = isinstance(value, int) or math.isfinite(value)
    ok = ok and ((low is None or (value > low if low_open else value >= low))
                 and (high is None or (value < high if high_open else value <= high)))
    if not ok:
        raise ValueError(f"{owner}: {name} must be {expected}, got {value!r}")
    if integer:
        return value
    try:
        return float(value)
    except OverflowError:      # an int beyond the float range
        raise ValueError(f"{owner}: {name} must be {expected}, got {short_repr(value)}") from None


def positive_int(owner, name, value, none=False):
    return number(owner, name, value, low=0, low_open=True, integer=True, none=none)


def flag(owner, name, value):
    """A bool (NumPy bools too); 0/1 are accepted, strings such as ``"no"`` are not."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer))
                                                and value in (0, 1)):
        return bool(value)
    raise ArgumentTypeError(f"{owner}: {name} must be True or False, got {received(value)}")


def text(owner, name, value, choices=None, none=False):
    """A string (one of ``choices`` when given)."""
    if value is None and none:
        return None
    if not isinstance(value, str):
        expected = f"one of {', '.join(map(repr, choices))}" if choices else "a string"
        raise ArgumentTypeError(f"{owner}: {name} must be {expected}, got {received(value)}")
    if choices is not None and value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, "
                         f"got {value!r}")
    return value


# ------------------------------------------------------------------------------ did you mean
#: Keras / PyTorch argument names -> the names used here, tried in order (the first that the
#: constructor accepts is suggested).
ALIASES = {
    "return_sequences": ("sequences",),
    "learning_rate": ("lr",),
    "kernel_initializer": ("initializer",),
    "weight_initializer": ("initializer",),
    "recurrent_kernel_initializer": ("recurrent_initializer",),
    "hidden_size": ("units",),
    "out_features": ("units",),
    "output_dim": ("dim", "units"),
    "embedding_dim": ("dim",),
    "input_dim": ("vocab_size",),
    "num_embeddings": ("vocab_size",),
    "p": ("rate",),
    "dropout_rate": ("rate", "dropout"),
    "beta_1": ("betas",),
    "beta_2": ("betas",),
    "beta1": ("betas",),
    "beta2": ("betas",),
    "epsilon": ("eps",),
    "decay": ("weight_decay",),
    "rho": ("alpha",),
    "nesterov_momentum": ("nesterov",),
    "merge_mode": ("merge",),
    "bias": ("use_bias",),
}

#: arguments with no counterpart here, and what to do instead
UNSUPPORTED = {
    "use_bias": "Dense, the convolutions, RNN, LSTM, GRU and MultiHeadAttention take use_bias= "
                "(Bidirectional: give it to the wrapped layer; LayerNormalization: center=False)",
    "bias_initializer": "biases start at zero and take no initializer",
    "input_shape": "the input size is read from the first input the layer sees",
    "input_size": "the input size is read from the first input the layer sees",
    "input_dim": "the input size is read from the first input the layer sees",
    "in_features": "the input size is read from the first input the layer sees",
    "batch_first": "inputs are always batch-first, (m, s, e)",
    "bidirectional": "wrap the layer: Bidirectional(LSTM(...))",
    "num_layers": "stack layers in the Model's list instead",
    "kernel_regularizer": "use l1= / l2= (penalties on the layer's weights)",
    "activity_regularizer": "penalties apply to weights only (l1= / l2=)",
    "bias_regularizer": "biases are never penalized",
    "return_state": "read the final states from layer.state after the forward pass",
    "dtype": "the Model's dtype= sets every layer's dtype",
    "seed": "the Model's seed= seeds every layer",
    "device": "everything runs on the CPU with NumPy",
    "clipnorm": "a layer takes clip_norm= (its own gradients); the Model takes clip_norm=, "
                "clip_layer_norm=, clip_value=",
    "clipvalue": "clipping is set on the Model (clip_norm=, clip_layer_norm=, clip_value=)",
    "global_clipnorm": "clipping is set on the Model (clip_norm=, clip_layer_norm=, clip_value=)",
}


def accepted_arguments(target):
    """Names of the keyword arguments that ``target`` accepts: a class (along its constructors'
    MRO) or a function."""
    functions = ([klass.__dict__.get("__init__") for klass in target.__mro__]
                 if isinstance(target, type) else [target])
    names = []
    for function in functions:
        if function is None:
            continue
        try:
            params = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) \
                    and p.name not in names:
                names.append(p.name)
    return names


def unknown_arguments(owner, target, unknown, habits=None):
    """TypeError for keyword arguments that ``target`` (a class or a function) does not take,
    with a hint for each: ``habits`` (name -> hint) first, then the Keras/PyTorch names, then
    the closest real argument; the message ends with the arguments it does take."""
    valid = accepted_arguments(target)
    name = target.__name__
    lines = []
    for key, value in unknown.items():
        targets = [t for t in ALIASES.get(key, ()) if t in valid]
        if habits and key in habits:
            hint = habits[key]
        elif targets:
            hint = f"did you mean {targets[0]}=? ({key}= is the Keras/PyTorch name)"
            if key.startswith("beta") and targets[0] == "betas":
                hint = "did you mean betas=(beta1, beta2)? (one pair, as in PyTorch)"
        elif key in UNSUPPORTED:
            hint = f"not supported: {UNSUPPORTED[key]}"
        elif ALIASES.get(key):
            hint = (f"{key}= is the Keras/PyTorch name of {ALIASES[key][0]}=, which "
                    f"{name} does not take")
        else:
            close = difflib.get_close_matches(key, valid, n=2, cutoff=0.6)
            hint = f"did you mean {' or '.join(c + '=' for c in close)}?" if close else ""
        lines.append(f"{key}={short_repr(value)}" + (f": {hint}" if hint else ""))
    plural = "s" if len(unknown) > 1 else ""
    return TypeError(f"{owner}: unknown argument{plural} " + "; ".join(lines)
                     + f" ({name} takes: {', '.join(valid)})")


def binding_error(cls, err, kwargs, built=None):
    """TypeError for a call of ``cls.__init__`` whose arguments do not bind (``err``, Python's
    message): it names the class (and the subclass ``built`` whose construction made the call)
    and, for each keyword it was given that is a Keras/PyTorch name, the name used here."""
    valid = accepted_arguments(cls)
    hints = [f"{key}= is {targets[0]}= here" for key in kwargs
             for targets in [[t for t in ALIASES.get(key, ()) if t in valid]] if targets]
    where = cls.__name__ if built in (None, cls) else f"{cls.__name__} (called by {built.__name__})"
    return TypeError(f"{where}: {err}" + (f"; {'; '.join(hints)}" if hints else "")
                     + f" ({cls.__name__} takes: {', '.join(valid)})")
