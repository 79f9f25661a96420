r"""A template for new layers: an elementwise affine map ``A = X * gamma + beta``.

Copy this file, rename the class and replace the equations: every hook a layer can implement is
here, in the order the model calls it, with the shapes and the dictionaries it reads and fills.
The equation numbers (T1)...(T6) match ``docs/custom_layers.md``.

The operation
-------------
Each feature ``k`` of the input gets its own scale ``gamma[k]`` and shift ``beta[k]``, the same
for every sample and every step (a learnable per-feature standardization, the last step of batch
or layer normalization)::

    (T1) A[i, t, k] = X[i, t, k] * gamma[0, k] + beta[0, k]       forward
    (T2) dX[i, t, k] = dA[i, t, k] * gamma[0, k]                   gradient to the previous layer
    (T3) dgamma[0, k] = sum over i, t of dA[i, t, k] * X[i, t, k]  gradient of gamma
    (T4) dbeta[0, k] = sum over i, t of dA[i, t, k]                gradient of beta
    (T5) dgamma += l1 * sign(gamma) + 2 * l2 * gamma               penalties (base class)
    (T6) gamma -= lr * dgamma, beta -= lr * dbeta                  update (optimizer, e.g. SGD)

``i`` runs over the ``m`` samples, ``t`` over the ``s`` steps (absent for 2-D input) and ``k``
over the ``n`` features. Sums over ``i`` and ``t`` appear in (T3)/(T4) because the same parameter
is used at every sample and step: its gradient collects every use.

Shapes
------
============  =====================  =========================================================
``X``         ``(m, n)``             or ``(m, s, n)``: input, ``fc["X"]``
``gamma``     ``(1, n)``             scale, ``p["gamma"]`` (starts at 1: the identity map)
``beta``      ``(1, n)``             shift, ``p["beta"]`` (starts at 0)
``A``         like ``X``             output, ``fc["A"]``
``dA``        like ``A``             gradient from the next layer, ``bc["dA"]``
``dX``        like ``X``             gradient to the previous layer, ``bc["dX"]``
``dgamma``    like ``gamma``         ``g["dgamma"]``
``dbeta``     like ``beta``          ``g["dbeta"]``
============  =====================  =========================================================

The six dictionaries (all plain ``dict``, open them at any time)
-----------------------------------------------------------------
``d`` dimensions, ``p`` parameters, ``fs`` forward shapes, ``fc`` forward cache, ``bc`` backward
cache, ``g`` gradients (``g["d" + name]`` is dL/d``p[name]``). A gradient has the shape of what it
differentiates, so backward shapes are read from ``fs`` (there is no backward-shape contract).
Public keys are the ones in the table above; scratch arrays of your own start with ``_``.

The base class checks the order of the hooks for you: ``backward`` before ``forward``, or
``compute_gradients`` before ``backward``, raises a ``RuntimeError`` naming the layer.

Check it: ``gradcheck(Template().seed(0), X)`` returns errors around 1e-10 (see the docs).
"""
import numpy as np

from ..framework.initializers import get_initializer, initializer_name, zeros
from ..framework.layer import Layer


class Template(Layer):
    """Elementwise affine layer ``A = X * gamma + beta`` with one (gamma, beta) per feature.

    Parameters
    ----------
    initializer : str or callable
        Initializer of ``gamma`` (default ``"ones"``: the layer starts as the identity);
        ``beta`` starts at zero.
    **kwargs
        ``name``, ``trainable``, ``lr``, ``l1``, ``l2`` of :class:`~unrolled.framework.Layer`.
        The penalties apply to ``gamma`` (listed in ``weight_names``), not to ``beta``.
    """

    # Parameters that l1/l2 penalize. The base class adds the penalty to the loss (penalty()) and
    # its gradient (T5) to g (add_penalty_gradients()); nothing to write here.
    weight_names = ("gamma",)

    def __init__(self, initializer="ones", **kwargs):
        # The base class creates the dictionaries d, p, fs, fc, bc, g and checks the common
        # arguments. Validate your own arguments here, naming the layer (self.label) in errors.
        super().__init__(**kwargs)
        self.initializer = get_initializer(initializer, self.label)

    # ------------------------------------------------------------------- hook 1: compute_shapes
    def compute_shapes(self, A):
        """Read the dimensions off the input, check it, and record every shape in ``fs``.

        Called before *every* forward pass (shapes may change from batch to batch: a smaller
        last batch, another sequence length), so keep it cheap.
        """
        self.check_ndim(A, (2, 3))               # (m, n) or (m, s, n), else a clear ValueError
        self.check_size("n", A.shape[-1])         # once built, the feature count must not change
        self.d["m"], self.d["n"] = A.shape[0], A.shape[-1]
        self.d["s"] = A.shape[1] if A.ndim == 3 else None
        self.fs["X"] = self.fs["A"] = A.shape
        self.fs["gamma"] = self.fs["beta"] = (1, self.d["n"])

    # ------------------------------------------------------------ hook 2: initialize_parameters
    def initialize_parameters(self):
        """Create ``p`` once, from the shapes of the first input.

        Use ``self.rng`` (seeded by the model) for anything random and ``self.dtype`` (the
        model's float32 or float64) for every array, so that a seed reproduces a run bit for bit.
        """
        self.p["gamma"] = self.initializer(self.fs["gamma"], self.rng, self.dtype)
        self.p["beta"] = zeros(self.fs["beta"], dtype=self.dtype)

    # -------------------------------------------------------------------------- hook 3: forward
    def forward(self, A):
        """Compute the output and cache in ``fc`` everything backward will need."""
        self.check_input(A)                      # A has the shape compute_shapes read, else a clear error
        X = self.fc["X"] = A                     # cache the input: (T3) needs it
        # self.cache() returns a preallocated array, reused while the shape stays the same
        # (no allocation per batch). The model copies outputs it keeps.
        out = self.cache(self.fc, "A", self.fs["A"])
        np.multiply(X, self.p["gamma"], out=out)  # (T1) gamma (1, n) broadcasts over m (and s)
        out += self.p["beta"]                     # (T1)
        return out

    # ------------------------------------------------------------------------- hook 4: backward
    def backward(self, dA):
        """Given dL/dA, return dL/dX (and keep it in ``bc``). Do not update anything here."""
        self.bc["dA"] = dA                        # cache it: compute_gradients reads it
        if not self.input_gradient:               # optional: the model's first layer; nobody
            self.bc["dX"] = None                  # needs dL/dX, so skip computing it
            return None
        dX = self.bc["dX"] = dA * self.p["gamma"]  # (T2)
        return dX

    # ---------------------------------------------------------------- hook 5: compute_gradients
    def compute_gradients(self):
        """Fill ``g["d" + name]`` for every parameter from the caches of forward and backward.

        Called right after ``backward`` (only when the layer is trainable). Shapes must equal the
        parameters' shapes (``fs``), so sum over every axis the parameter is shared across.
        """
        dA, X = self.bc["dA"], self.fc["X"]
        shared = tuple(range(dA.ndim - 1))       # samples, and steps for 3-D input
        self.g["dgamma"] = np.sum(dA * X, axis=shared).reshape(self.fs["gamma"])  # (T3)
        self.g["dbeta"] = np.sum(dA, axis=shared).reshape(self.fs["beta"])        # (T4)

    # ---------------------------------------------------------------- hook 6: update_parameters
    # Not overridden: Layer.update_parameters(optimizer) applies the optimizer to every entry of
    # p (T6), after the model has added penalties (T5) and clipped all gradients; a frozen layer
    # (trainable=False) keeps its parameters. Override it only for parameters that must not
    # follow the optimizer (e.g. running statistics).

    # ------------------------------------------------------------------------------ save / load
    def config(self):
        """Constructor arguments that rebuild the layer (the parameters themselves are saved
        from ``p``)."""
        init = initializer_name(self.initializer)
        return {**super().config(), "initializer": init if init else "ones"}
