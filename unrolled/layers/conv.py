"""Convolution layers Conv1D, Conv2D (channels last) and EpyNN's name Convolution.
Equations: docs/layers/conv.md; the plain-loop version: unrolled/reference/conv.py."""
import numpy as np

from ..framework.activations import get_activation
from ..framework.initializers import get_initializer, initializer_name, zeros
from ..framework.layer import Layer
from .windows import as_tuple, check_padding, col2im, output_and_pads, pad, unpad, window_view


class ConvND(Layer):
    r"""Convolution over ``rank`` spatial axes, channels last (base of Conv1D and Conv2D).

    Every output position ``o`` is a Dense product of the window of the input it sees::

        Z[i, o, f] = sum_{k, c} Xp[i, o*s + k*d, c] W[k, c, f] + b[f]

    (``k`` runs over the kernel offsets, ``s`` the strides, ``d`` the dilation, ``Xp`` the padded
    input.) Shapes below are for Conv2D; Conv1D drops one spatial axis (``(m, s, c)`` in,
    ``(m, o, f)`` out, kernel ``(k, c, f)``).

    Shapes
    ------
    ================  ====================  =================================================
    ``X``             ``(m, h, w, c)``      input, ``fc["X"]``
    ``W``             ``(kh, kw, c, f)``    kernel, ``p["W"]`` (Keras layout)
    ``b``             ``(f,)``              bias, ``p["b"]`` (absent when ``use_bias=False``)
    ``Z``             ``(m, oh, ow, f)``    pre-activation, ``fc["Z"]``
    ``A``             ``(m, oh, ow, f)``    output, ``fc["A"]``
    ``dA``            like ``A``            gradient from the next layer, ``bc["dA"]``
    ``dZ``            like ``Z``            ``bc["dZ"]``
    ``dX``            like ``X``            gradient to the previous layer, ``bc["dX"]``
    ``dW``, ``db``    like ``W``, ``b``     ``g["dW"]``, ``g["db"]``
    ================  ====================  =================================================

    ``d`` holds ``m``, ``c``, ``f``, ``kernel``, ``strides``, ``dilation``, ``out`` (output
    sizes) and ``pads`` (``(before, after)`` zeros per spatial axis). The matrix of windows
    ``cols (m*oh*ow, kh*kw*c)`` of (C2) is ``kh*kw`` times the input: forward and
    compute_gradients each build it in chunks of samples (no larger than the input or 2**17
    entries), never keep it; ``dcols`` (C6) is never built whole: (C6)-(C7) run one kernel offset at a time.

    Equations (numbers match the comments below and docs/layers/conv.md)::

        (C1)  Xp = pad(X)
        (C2)  cols[i, o, k, :] = Xp[i, o*s + k*d, :]          (im2col: one row per position)
        (C3)  Z = cols W + b                                   (one matrix product)
        (C4)  A = act(Z)
        (C5)  dZ = act'(Z) * dA
        (C6)  dcols = dZ W^T
        (C7)  dXp[i, o*s + k*d, :] += dcols[i, o, k, :]        (col2im: a loop over offsets k)
        (C8)  dX = dXp without the padding
        (C9)  dW = cols^T dZ
        (C10) db = sum of dZ over samples and positions

    Parameters
    ----------
    filters : int
        Output channels ``f``.
    kernel_size, strides, dilation_rate : int or tuple of ``rank`` ints
        ``strides`` default 1; a dilation ``d`` spaces the kernel taps ``d`` apart.
    padding : "valid", "same", "causal" (Conv1D) or int(s)
        TensorFlow/Keras semantics (``"same"``: ``out = ceil(n / s)``, the odd padded entry
        after; ``"causal"``: ``(k - 1) d`` zeros before the sequence, so that no output reads a
        later step); an int is that many zeros on each side (EpyNN).
    activation, activation_params, initializer, use_bias
        As in Dense. The initializer sees ``W`` with fans ``kh*kw*c`` and ``kh*kw*f`` (Keras).
    """

    rank = None
    weight_names = ("W",)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation="identity", activation_params=None, initializer="glorot_uniform",
                 use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(filters, (int, np.integer)) and filters > 0):
            raise ValueError(f"{self.label}: filters must be a positive integer, got {filters!r}")
        self.d["f"] = int(filters)
        self.d["kernel"] = as_tuple(kernel_size, self.rank, "kernel_size", self.label)
        self.d["strides"] = as_tuple(strides, self.rank, "strides", self.label)
        self.d["dilation"] = as_tuple(dilation_rate, self.rank, "dilation_rate", self.label)
        self.padding = check_padding(padding, self.rank, self.label)
        self.activation = get_activation(activation, self.label, **(activation_params or {}))
        self.initializer = get_initializer(initializer, self.label)
        self.use_bias = bool(use_bias)

    def compute_shapes(self, A):
        self.check_ndim(A, (self.rank + 2,), "input (m, h, w, c)" if self.rank == 2 else "input (m, s, c)")
        self.check_size("c", A.shape[-1])
        self.fs["X"] = A.shape
        self.d["m"], self.d["c"] = A.shape[0], A.shape[-1]
        self.d["out"], self.d["pads"] = output_and_pads(
            self.label, A.shape[1:-1], self.d["kernel"], self.d["strides"], self.d["dilation"],
            self.padding)
        self.fs["W"] = self.d["kernel"] + (self.d["c"], self.d["f"])
        if self.use_bias:
            self.fs["b"] = (self.d["f"],)
        self.fs["Z"] = self.fs["A"] = (self.d["m"],) + self.d["out"] + (self.d["f"],)

    def initialize_parameters(self):
        c, f, kernel = self.d["c"], self.d["f"], self.d["kernel"]
        W = self.initializer((c, f) + kernel, self.rng, self.dtype)     # fans c*K and f*K
        self.p["W"] = np.ascontiguousarray(np.moveaxis(W, (0, 1), (-2, -1)))
        if self.use_bias:
            self.p["b"] = zeros(self.fs["b"], dtype=self.dtype)

    def forward(self, A):
        self.check_input(A)
        self.fc["X"] = A
        f = self.d["f"]
        W2 = self.p["W"].reshape(-1, f)
        Z = self.cache(self.fc, "Z", self.fs["Z"])
        for rows, cols in self._windows():                                          # (C1)-(C2)
            np.matmul(cols, W2, out=Z[rows].reshape(-1, f))                         # (C3) cols W
        if self.use_bias:
            Z += self.p["b"]                                                        # (C3) + b
        self.fc["A"] = self.activation.forward(Z, out=self.cache(self.fc, "A", self.fs["A"]))  # (C4)
        return self.fc["A"]

    def _chunks(self, per_sample):
        """Slices of samples holding at most max(input size, 2**17) entries of ``per_sample``
        entries each (at least one sample): the bound on every temporary of the layer."""
        m = self.d["m"]
        step = max(1, min(m, max(int(np.prod(self.fs["X"])), 2**17) // per_sample))
        return [slice(start, min(start + step, m)) for start in range(0, m, step)]

    def _windows(self):
        """(C1)-(C2) in chunks of samples: ``(samples, cols)``, the windows of those samples'
        padded input copied into one contiguous matrix (im2col) ``(rows, prod(kernel) * c)``.
        The whole matrix is ``prod(kernel)`` times the input: it is never kept (forward and
        compute_gradients each build it again, a copy, not a product); see ``_chunks``."""
        d = self.d
        for rows in self._chunks(int(np.prod(d["out"])) * int(np.prod(d["kernel"])) * d["c"]):
            Xp = pad(self.fc["X"][rows], d["pads"])                                 # (C1)
            windows = window_view(Xp, d["kernel"], d["strides"], d["dilation"], d["out"])
            cols = np.array(windows, dtype=self.dtype, order="C")                  # (C2)
            yield rows, cols.reshape(-1, int(np.prod(d["kernel"])) * d["c"])

    def backward(self, dA):
        self.bc["dA"] = dA
        d = self.d
        dZ = self.bc["dZ"] = self.cache(self.bc, "dZ", self.fs["Z"])
        A, Z = self.fc["A"], self.fc["Z"]
        for rows in self._chunks(int(np.prod(d["out"])) * d["f"]):  # temporaries of a chunk only
            self.activation.backward(dA[rows], A[rows], Z[rows], out=dZ[rows])       # (C5)
        if not self.input_gradient:
            self.bc["dX"] = None
            return None
        padded = (d["m"],) + tuple(n + b + a for n, (b, a) in zip(self.fs["X"][1:-1], d["pads"])) \
            + (d["c"],)
        # (C6)-(C7) one kernel offset at a time: dcols[:, k] = dZ W[k]^T, added at once onto the
        # input entries offset k read (never the whole dcols: it is kh*kw times the input)
        dXp = col2im(dZ, self.p["W"], self.cache(self.bc, "_dXp", padded), d["kernel"],
                     d["strides"], d["dilation"], d["out"])
        self.bc["dX"] = unpad(dXp, d["pads"])                                        # (C8)
        return self.bc["dX"]

    def compute_gradients(self):
        f = self.d["f"]
        dZ = self.bc["dZ"]
        dW2 = self.cache(self.g, "dW", self.fs["W"]).reshape(-1, f)
        for rows, cols in self._windows():                   # (C9), summed over the chunks
            if rows.start == 0:
                np.matmul(cols.T, dZ[rows].reshape(-1, f), out=dW2)
            else:
                dW2 += cols.T @ dZ[rows].reshape(-1, f)
        if self.use_bias:
            self.g["db"] = dZ.reshape(-1, f).sum(axis=0)                             # (C10)

    def config(self):
        init = initializer_name(self.initializer)
        padding = self.padding if isinstance(self.padding, str) else list(self.padding)
        return {**super().config(), "filters": self.d["f"], "kernel_size": list(self.d["kernel"]),
                "strides": list(self.d["strides"]), "padding": padding,
                "dilation_rate": list(self.d["dilation"]), "activation": self.activation.name,
                "activation_params": self.activation.config(),
                "initializer": init if init else "glorot_uniform", "use_bias": self.use_bias}


class Conv1D(ConvND):
    """1-D convolution over the steps of ``(m, s, c)`` (a sequence, e.g. a recurrent layer's
    output with ``sequences=True``): output ``(m, o, filters)``, kernel ``W (k, c, filters)``.
    See :class:`ConvND` for equations, shapes and arguments."""
    rank = 1


class Conv2D(ConvND):
    """2-D convolution of images ``(m, h, w, c)``: output ``(m, oh, ow, filters)``, kernel
    ``W (kh, kw, c, filters)``. See :class:`ConvND` for equations, shapes and arguments."""
    rank = 2


def _function_name(fn, what, label):
    """EpyNN passes functions (``relu``, ``xavier``); unrolled stores names."""
    if isinstance(fn, str) or fn is None:
        return fn
    name = getattr(fn, "__name__", None)
    if name is None:
        raise ValueError(f"{label}: {what} must be a name or a named function, got {fn!r}")
    return name


class Convolution(Conv2D):
    """EpyNN's ``Convolution(unit_filters, filter_size, strides, padding, activate,
    initialization, use_bias)`` as a :class:`Conv2D`, argument by argument (EpyNN 1.2.13):

    * ``unit_filters`` (default 1) is ``filters``;
    * ``filter_size`` (default ``(3, 3)``) is ``kernel_size``;
    * ``strides=None`` (the default) means ``strides = filter_size``: non-overlapping windows.
      EpyNN 1.2.13 replaces any non-tuple ``strides`` (an int too) by ``filter_size``; here an int
      is that stride on both axes, as EpyNN's docstring says. An EpyNN network written with an int
      stride reproduces with ``strides=None``;
    * ``padding`` (default 0) is the number of zeros on each side. EpyNN 1.2.13 pads but computes
      the output size from the unpadded input (it drops the last ``2 p / s`` rows and columns);
      here the output covers the whole padded input, ``floor((h + 2p - fh) / sh) + 1``;
    * ``activate`` (default relu) and ``initialization`` (default ``"xavier"``) take EpyNN's
      functions or unrolled names; the function's name is looked up in unrolled's registry.
    """

    def __init__(self, unit_filters=1, filter_size=(3, 3), strides=None, padding=0,
                 activate="relu", initialization="xavier", use_bias=True, **kwargs):
        label = f"{type(self).__name__} {kwargs['name']!r}" if kwargs.get("name") else "Convolution"
        self._epynn = {"unit_filters": unit_filters, "filter_size": filter_size, "strides": strides,
                       "padding": padding, "activate": _function_name(activate, "activate", label),
                       "initialization": _function_name(initialization, "initialization", label),
                       "use_bias": use_bias}
        super().__init__(unit_filters, filter_size, strides=filter_size if strides is None else strides,
                         padding=padding, activation=self._epynn["activate"],
                         initializer=self._epynn["initialization"], use_bias=use_bias, **kwargs)

    def config(self):
        base = Layer.config(self)
        epynn = {k: list(v) if isinstance(v, tuple) else v for k, v in self._epynn.items()}
        return {**base, **epynn}
