"""Composite layers: ``Residual(layer)`` and ``Sequential([...])``, layers made of layers.
Equations: docs/layers/composite.md.

They let a plain :class:`~unrolled.framework.Model` stack hold a Transformer block::

    Residual(Sequential([LayerNormalization(), MultiHeadAttention(4, 16)]))
    Residual(Sequential([LayerNormalization(), Dense(128, activation="relu"), Dense(64)]))

Like :class:`~unrolled.layers.Bidirectional`, a composite exposes its inner layers' parameters
as its own (the same arrays, under prefixed names: ``p["1.Wq"]`` is ``layers[1].p["Wq"]``) and
their gradients in ``g``, so the model's optimizer, clipping, penalties and save/load see them;
the inner layers stay readable (``block.layers[1].fc["weights"]``) with all their caches.
"""
import numpy as np

from ..framework import registry
from ..framework.layer import Layer


def layer_from_config(spec, owner):
    """A Layer, or one rebuilt from a saved ``{"type": name, "config": {...}}``."""
    if isinstance(spec, Layer):
        return spec
    if isinstance(spec, dict) and set(spec) == {"type", "config"}:
        from . import LAYER_TYPES
        cls = LAYER_TYPES.get(spec["type"])
        if cls is None:
            raise ValueError(f"{owner}: unknown layer type {spec['type']!r}; known: "
                             f"{', '.join(sorted(LAYER_TYPES))}")
        return cls(**spec["config"])
    raise TypeError(f"{owner}: expected a Layer, got {type(spec).__name__}")


def layer_spec(layer):
    """How a composite's config() records an inner layer (read back by layer_from_config): the
    name it is registered under (a user layer's ``registered_name``) and its configuration."""
    return {"type": registry.name_of("layer", type(layer)), "config": layer.config()}


class Composite(Layer):
    """What Residual and Sequential share: inner layers seen as one layer by the model.

    ``p`` and ``g`` are dictionaries of the inner layers' own arrays (rebuilt after each forward
    pass and each ``compute_gradients``); ``update_parameters`` updates every parameter of a
    trainable inner layer through this layer's name and learning rate (the optimizer keeps its
    state under ``(composite name, prefixed name)``, which save/load restores). Penalties: each
    inner layer's own ``l1``/``l2``, plus this layer's on every inner weight.
    """

    supports_mask = True

    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        self._inner = list(layers)
        seen = set()
        for inner in self._inner:
            if id(inner) in seen:
                raise ValueError(f"{self.label}: the same layer object appears twice; give each "
                                 f"position its own layer")
            seen.add(id(inner))

    def prefix(self, i):
        """Prefix of inner layer i's names in ``p`` and ``g``."""
        raise NotImplementedError

    @property
    def weight_names(self):
        return tuple(self.prefix(i) + w for i, inner in enumerate(self._inner)
                     for w in inner.weight_names)

    def _run(self, i, A, mask):
        """Build and run inner layer i as the model would (dtype, generator and mode shared)."""
        inner = self._inner[i]
        inner.dtype, inner.rng, inner.training = self.dtype, self.rng, self.training
        if inner.name is None:
            inner.name = f"{self.name or type(self).__name__.lower()}.{i}"
        inner.build(A)
        if mask is not None and getattr(inner, "supports_mask", False):
            return inner.forward(A, mask=mask)
        return inner.forward(A)

    def _link_parameters(self):
        self.p = {self.prefix(i) + k: v for i, inner in enumerate(self._inner)
                  for k, v in inner.p.items()}

    def trainable_parameters(self):
        """Prefixed names of the parameters that training changes (of trainable inner layers)."""
        names = set()
        for i, inner in enumerate(self._inner):
            if isinstance(inner, Composite):
                names |= {self.prefix(i) + k for k in inner.trainable_parameters()}
            elif inner.trainable:
                names |= {self.prefix(i) + k for k in inner.p}
        return names

    def compute_gradients(self):
        self.g = {}
        for i, inner in enumerate(self._inner):
            if inner.trainable:
                inner.compute_gradients()
                self.g.update({"d" + self.prefix(i) + k[1:]: v for k, v in inner.g.items()})

    def penalty(self):
        return super().penalty() + sum(inner.penalty() for inner in self._inner)

    def add_penalty_gradients(self):
        for inner in self._inner:                   # in place: the same arrays as self.g
            if inner.trainable:
                inner.add_penalty_gradients()
        for name in self.weight_names:              # this layer's own l1/l2 on inner weights
            if "d" + name in self.g:
                if self.l1:
                    self.g["d" + name] += self.l1 * np.sign(self.p[name])
                if self.l2:
                    self.g["d" + name] += (2.0 * self.l2) * self.p[name]

    def update_parameters(self, optimizer):
        if not self.trainable:
            return
        for name in sorted(self.trainable_parameters()):
            optimizer.update(self, name)


class Residual(Composite):
    r"""``A = X + branch(X)``: a skip connection around the layer ``branch`` (He et al. 2016),
    whose output must have the input's shape. The gradient reaches ``X`` by both paths.

    Equations (docs/layers/composite.md)::

        (RS1) F = branch(X)
        (RS2) A = X + F
        (RS3) dF = dA;  dX = dA + branch.backward(dF)

    ``p``, ``g`` are the branch's (same names, same arrays); ``self.branch`` is it, with every
    cache. ``fc["X"]``, ``fc["A"]``, ``bc["dA"]``, ``bc["dX"]`` as in any layer.
    """

    def __init__(self, branch, **kwargs):
        branch = layer_from_config(branch, "Residual")
        super().__init__([branch], **kwargs)
        self.branch = branch

    @property
    def layers(self):
        return (self.branch,)

    def prefix(self, i):
        return ""

    def compute_shapes(self, A):
        self.fs["X"] = self.fs["A"] = A.shape
        self.d["m"] = A.shape[0]

    def forward(self, A, mask=None):
        self.check_input(A)
        self.fc["X"] = A
        self.branch.input_gradient = self.input_gradient
        F = self._run(0, A, mask)                                               # (RS1)
        if F.shape != A.shape:
            raise ValueError(f"{self.label}: the branch {self.branch.label} maps {A.shape} to "
                             f"{F.shape}; a residual connection needs the same shape (give the "
                             f"branch's last layer output width {A.shape[-1]})")
        self._link_parameters()
        self.fc["A"] = np.add(A, F, out=self.cache(self.fc, "A", A.shape))      # (RS2)
        return self.fc["A"]

    def backward(self, dA):
        self.bc["dA"] = dA
        dF = self.branch.backward(dA)                                           # (RS3)
        self.bc["dX"] = None if not self.input_gradient else dA + dF            # (RS3)
        return self.bc["dX"]

    def config(self):
        return {**super().config(), "branch": layer_spec(self.branch)}


class Sequential(Composite):
    r"""Runs ``layers`` one after the other, as one layer (for ``Residual(Sequential([...]))``).

    Equations (docs/layers/composite.md)::

        (RS4) A_0 = X,  A_i = layers[i](A_{i-1}),  A = A_n
        (RS5) dA_n = dA,  dA_{i-1} = layers[i].backward(dA_i),  dX = dA_0

    ``p["<i>.<name>"]`` is ``layers[i].p[name]`` (the same array), ``g["d<i>.<name>"]`` its
    gradient; ``self.layers`` are the inner layers with all their caches. A sequence mask goes to
    every inner layer that takes one.
    """

    def __init__(self, layers, **kwargs):
        if isinstance(layers, Layer):
            layers = [layers]
        layers = [layer_from_config(spec, "Sequential") for spec in layers]
        if not layers:
            raise ValueError("Sequential: needs at least one layer, got an empty list")
        super().__init__(layers, **kwargs)
        self.layers = tuple(layers)

    def prefix(self, i):
        return f"{i}."

    @property
    def integer_input(self):
        return getattr(self.layers[0], "integer_input", False)

    def output_activation(self):
        return self.layers[-1].output_activation()

    def compute_shapes(self, A):
        self.fs["X"] = A.shape
        self.d["m"] = A.shape[0]

    def forward(self, A, mask=None):
        self.check_input(A)
        self.fc["X"] = A
        for i, inner in enumerate(self.layers):
            inner.input_gradient = self.input_gradient if i == 0 else True
            A = self._run(i, A, mask)                                           # (RS4)
        self._link_parameters()
        self.fs["A"] = A.shape
        self.fc["A"] = A
        return A

    def backward(self, dA):
        self.bc["dA"] = dA
        for inner in reversed(self.layers):
            dA = inner.backward(dA)                                             # (RS5)
        self.bc["dX"] = dA
        return dA

    def config(self):
        return {**super().config(), "layers": [layer_spec(layer) for layer in self.layers]}
