"""The ``Layer`` base class: the contract every layer, built-in or yours, follows.

A layer keeps all of its state in plain dictionaries that you may open at any time:

========  =====================================================================================
``d``     dimensions (``m`` samples, ``s`` steps, ``e`` elements per step, ``u`` units, ...)
``p``     parameters, e.g. ``p["W"]``
``fs``    forward shapes (of inputs, parameters and cached arrays)
``fc``    forward cache: every intermediate array of the last forward pass
``bc``    backward cache: every intermediate gradient of the last backward pass
``g``     gradients: ``g["d" + name]`` is dL/d``p[name]``
========  =====================================================================================

A gradient has the shape of what it differentiates (``bc["dX"]`` like ``fc["X"]``, ``g["dW"]``
like ``p["W"]``), so there are no separate backward shapes: the attribute ``bs`` still exists
(an empty dict a layer may use) but is no part of the contract.

Keys mean the same thing in every layer: ``fc["X"]`` the input, ``fc["Z"]`` the pre-activation of
a product ``XW + b``, ``fc["A"]`` the output, ``bc["dA"]`` the gradient arriving at the output,
``bc["dZ"]`` the gradient of the pre-activation, ``bc["dX"]`` the gradient returned to the input;
``fc["mask"]`` is a *sequence* mask and a dropout mask is ``fc["dropout_mask"]``. Every public key
is listed in the layer's shape table; private scratch arrays start with an underscore
(``fc["_Zt"]``).

The hooks, called in this order by :class:`~unrolled.framework.Model` (or by ``layer(A)``):

1. ``compute_shapes(A)``: read ``d`` and ``fs`` off the input, validate it;
2. ``initialize_parameters()``: create ``p`` (only once, lazily, from the first input's shape and
   the layer's own random generator ``self.rng``);
3. ``forward(A) -> A_next``;
4. ``backward(dA) -> dA_prev``: gradient with respect to the layer's input;
5. ``compute_gradients()``: fill ``g`` from the caches (after ``backward``);
6. ``update_parameters(optimizer)``: apply the optimizer to every parameter (after clipping).

Out of order, ``backward`` before any ``forward`` or ``compute_gradients`` before the ``backward``
of the last forward pass raises a ``RuntimeError`` naming the layer and the order (instead of a
``KeyError`` deep inside the caches). Every subclass gets this without writing a line:
``Layer.__init_subclass__`` wraps the ``forward``, ``backward`` and ``compute_gradients`` a class
defines in :func:`in_order`, which checks ``layer._last_pass`` first (:meth:`Layer.check_order`
raises) and records there the pass that finished.

Caches are reused across batches of the same shape: copy ``fc`` entries you want to keep.
"""
import functools
import inspect

import numpy as np

from . import checks
from .registry import register


def in_order(hook, method):
    """``method`` (the layer's ``hook``) checked against the order of the hooks: it raises when
    called too early, and records ``forward``/``backward`` once they return."""
    allowed = Layer._ALLOWED_AFTER.get(hook)     # None: forward may run at any time
    records = hook != "compute_gradients"

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        if allowed is not None and self._last_pass not in allowed:
            self.check_order(hook)               # raises, naming the layer and the order
        result = method(self, *args, **kwargs)
        if records:
            self._last_pass = hook
        return result
    checked.checks_order = True
    return checked


def named_arguments(cls, init):
    """``init`` (the ``__init__`` of layer class ``cls``) raising, for arguments Python cannot bind
    (a required one missing, too many given), a TypeError that names ``cls`` (and the layer being
    built, when a subclass made the call) and suggests the names this library uses
    (``Embedding(input_dim=10, output_dim=3)``: ``vocab_size=``, ``dim=``)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def checked_init(self, *args, **kwargs):
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError as err:
            raise checks.binding_error(cls, err, kwargs, built=type(self)) from None
        init(self, *args, **kwargs)
    checked_init.checks_arguments = True
    return checked_init


class Layer:
    """Base class of every layer.

    Parameters
    ----------
    name : str, optional
        Unique name inside a model (the model names unnamed layers ``"<kind>_<index>"``).
    trainable : bool
        False freezes the layer: gradients still flow through it, its parameters do not change.
    lr : float, optional
        Per-layer learning rate; it follows the model's schedule by the same factor.
    l1, l2 : float
        Penalties ``l1 * sum|W|`` and ``l2 * sum(W**2)`` on the layer's weights (not biases),
        added to the reported loss and to the gradients.
    clip_norm : float, optional
        This layer's gradients are scaled to a norm of at most ``clip_norm``, on their own,
        before the model's clipping (EpyNN's per-layer ``clip_gradients``).
    """

    #: names of the parameters penalized by l1/l2 (biases are not)
    weight_names = ()

    #: the last of forward/backward that ran (None before the first forward): check_order reads it
    _last_pass = None

    #: the passes after which backward and compute_gradients may run (forward: always)
    _ALLOWED_AFTER = {"backward": ("forward", "backward"), "compute_gradients": ("backward",)}

    def __init_subclass__(cls, **kwargs):
        """Every subclass enters the layer registry under its class name (or the
        ``registered_name`` set in its body), so a model holding it saves and loads; its
        forward, backward and compute_gradients are checked to run in that order."""
        super().__init_subclass__(**kwargs)
        register("layer", cls, automatic=True)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "checks_arguments", False):
            cls.__init__ = named_arguments(cls, init)
        for hook in ("forward", "backward", "compute_gradients"):
            method = cls.__dict__.get(hook)
            if method is not None and not getattr(method, "checks_order", False):
                setattr(cls, hook, in_order(hook, method))

    def __init__(self, name=None, trainable=True, lr=None, l1=0.0, l2=0.0, clip_norm=None, **unknown):
        self.name = checks.text(type(self).__name__, "name", name, none=True)
        if unknown:     # Keras/PyTorch habits (return_sequences=, use_bias=...) get a suggestion
            raise checks.unknown_arguments(self.label, type(self), unknown)
        self.trainable = checks.flag(self.label, "trainable", trainable)
        self.lr = checks.number(self.label, "lr", lr, low=0, low_open=True, none=True)
        self.l1 = checks.number(self.label, "l1", l1, low=0)
        self.l2 = checks.number(self.label, "l2", l2, low=0)
        self.clip_norm = checks.number(self.label, "clip_norm", clip_norm, low=0, low_open=True,
                                       none=True)
        self.d, self.p, self.fs, self.fc = {}, {}, {}, {}
        self.bs, self.bc, self.g = {}, {}, {}
        self.rng = None      # numpy Generator, set by the model from its seed (or by seed())
        self.dtype = None    # numpy dtype, set by the model (or from the first input)
        self.training = False
        self.initialized = False
        # False when nothing needs dL/dX (the model's first layer): backward may then skip the
        # product that computes it and return None.
        self.input_gradient = True

    # ------------------------------------------------------------------ hooks
    def compute_shapes(self, A):
        """Read dimensions and shapes from the input ``A``; raise on input that does not fit."""
        raise NotImplementedError

    def initialize_parameters(self):
        """Create the parameters ``p`` (no-op for layers without parameters)."""

    def forward(self, A):
        raise NotImplementedError

    def backward(self, dA):
        raise NotImplementedError

    def compute_gradients(self):
        """Fill ``g`` (no-op for layers without parameters)."""

    def update_parameters(self, optimizer):
        """Apply ``optimizer`` to every parameter; frozen layers keep theirs."""
        if not self.trainable:
            return
        for name in self.p:
            optimizer.update(self, name)

    # ----------------------------------------------------------------- helpers
    @property
    def label(self):
        """How error messages name this layer: ``Dense 'dense_1'``."""
        return f"{type(self).__name__} {self.name!r}" if self.name else type(self).__name__

    def seed(self, seed):
        """Give the layer its own random generator (the model does this from its seed)."""
        self.rng = np.random.default_rng(seed)
        return self

    def build(self, A):
        """compute_shapes + lazy initialize_parameters; called before every forward pass."""
        kind = np.asarray(A).dtype.kind
        if kind not in "biuf":      # complex would lose its imaginary part, strings cannot multiply
            raise TypeError(f"{self.label}: input must be a real numeric array, got dtype "
                            f"{np.asarray(A).dtype}" + (" (complex values are not supported: pass "
                                                        "A.real and A.imag as features)"
                                                        if kind == "c" else ""))
        if self.dtype is None:
            self.dtype = A.dtype if np.issubdtype(np.asarray(A).dtype, np.floating) else np.dtype(np.float64)
        if self.rng is None:
            self.rng = np.random.default_rng()
        self.compute_shapes(A)
        if not self.initialized:
            self.initialize_parameters()
            self.initialized = True

    def __call__(self, A, **kwargs):
        A = np.asarray(A)
        self.build(A)
        return self.forward(A, **kwargs)

    def check_ndim(self, A, ndims, what="input"):
        if A.ndim not in ndims:
            expected = " or ".join(f"{n}-D" for n in ndims)
            raise ValueError(f"{self.label}: expected {expected} {what}, got shape {A.shape} "
                             f"({A.ndim}-D)")

    def check_input(self, A):
        """Called first by ``forward``: ``A`` must have the shape ``compute_shapes`` last read.
        ``layer(A)`` and the model run ``compute_shapes`` before every forward pass; a direct
        ``layer.forward(A)`` on a new shape would otherwise fail deep inside NumPy."""
        if np.shape(A) != self.fs.get("X"):
            raise ValueError(f"{self.label}: forward got input of shape {np.shape(A)}, but its shapes "
                             f"were computed for {self.fs.get('X')}: call layer(A), or "
                             f"layer.build(A) before layer.forward(A)")

    def check_order(self, hook):
        """Raise a ``RuntimeError`` naming the layer and the order when ``hook`` comes before the
        hook it needs: ``backward`` before any ``forward``, ``compute_gradients`` before the
        ``backward`` of the last ``forward`` (called by :func:`in_order` on every subclass)."""
        if self._last_pass not in self._ALLOWED_AFTER[hook]:
            happened = ("before any forward" if self._last_pass is None
                        else "after forward without backward")
            raise RuntimeError(f"{self.label}: {hook} called {happened}; the order is "
                               f"forward(A), backward(dA), compute_gradients()")

    def check_size(self, key, value):
        """Once parameters exist, the input size they were built for must not change."""
        if self.initialized and self.d.get(key) is not None and self.d[key] != value:
            raise ValueError(f"{self.label}: built for inputs with {key} = {self.d[key]} "
                             f"features, got {value}")

    def cache(self, store, key, shape, dtype=None):
        """A preallocated contiguous array ``store[key]`` of ``shape``, reused while the shape stays
        the same (a view left under ``key``, e.g. a batch-major view of time-major memory, is
        replaced, never written through a reshape that would copy it)."""
        dtype = self.dtype if dtype is None else dtype
        arr = store.get(key)
        if arr is None or arr.shape != shape or arr.dtype != dtype or not arr.flags.c_contiguous:
            arr = store[key] = np.empty(shape, dtype=dtype)
        return arr

    def zero_gradients(self):
        for name, value in self.p.items():
            self.g["d" + name] = np.zeros_like(value)

    def penalty(self):
        """l1/l2 penalty of this layer's weights (added to the reported loss)."""
        total = 0.0
        for name in self.weight_names:
            if name in self.p:
                if self.l1:
                    total += self.l1 * float(np.abs(self.p[name]).sum())
                if self.l2:
                    total += self.l2 * float(np.square(self.p[name]).sum())
        return total

    def add_penalty_gradients(self):
        for name in self.weight_names:
            if name in self.p:
                if self.l1:
                    self.g["d" + name] += self.l1 * np.sign(self.p[name])
                if self.l2:
                    self.g["d" + name] += (2.0 * self.l2) * self.p[name]

    @property
    def n_parameters(self):
        return int(sum(v.size for v in self.p.values()))

    def output_activation(self):
        """Name of the activation applied last by this layer (the model checks it against the loss)."""
        act = getattr(self, "activation", None)
        return getattr(act, "name", None)

    def config(self):
        """Constructor arguments that rebuild this layer (used by save/load)."""
        return {"name": self.name, "trainable": self.trainable, "lr": self.lr,
                "l1": self.l1, "l2": self.l2, "clip_norm": self.clip_norm}

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


# the base class's own no-op compute_gradients is checked too (layers without parameters inherit it)
Layer.compute_gradients = in_order("compute_gradients", Layer.compute_gradients)
