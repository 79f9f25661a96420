"""Exact conversion between PyTorch modules and unrolled layers and models.

``from_torch(module)`` builds the unrolled equivalent of a PyTorch module with the same weights;
``to_torch(layer_or_model)`` goes the other way. Both copy values (no memory is shared) and keep
the dtype (float32 or float64). PyTorch is optional: this module imports it only when a function
is called.

Correspondence
--------------
=========================================  ====================================================
PyTorch                                    unrolled
=========================================  ====================================================
``nn.Linear(n, u)``                        ``Dense(u)``: ``W = weight.T (n, u)``,
                                           ``b = bias[None] (1, u)`` (zeros when ``bias=False``)
``nn.Linear`` + activation module          ``Dense(u, activation=...)`` (folded, see below)
``nn.RNN(e, u, nonlinearity)``             ``RNN(u, activation="tanh" | "relu")``
``nn.LSTM(e, u)``                          ``LSTM(u)``, gate order i, f, g, o in both
``nn.GRU(e, u)``                           ``GRU(u, reset_after=True)``, gate order r, z, n (ours: r, u, n)
``weight_ih_l0 (G*u, e)``                  ``U (e, G*u) = weight_ih_l0.T``
``weight_hh_l0 (G*u, u)``                  ``V (u, G*u) = weight_hh_l0.T``
``bias_ih_l0 + bias_hh_l0 (G*u,)``         ``b (1, G*u)`` (RNN, LSTM: one folded bias)
GRU ``b_ir + b_hr``, ``b_iz + b_hz``       GRU ``b`` on the r and z blocks
GRU ``b_in``  /  ``b_hn``                  GRU ``b`` on the n block  /  ``bh (1, u)``
``nn.RNN/LSTM/GRU(..., bias=False)``       ``use_bias=False``: no ``b`` (nor GRU ``bh``)
``nn.Dropout(p)``                          ``Dropout(p)`` (``per_sequence=False``, ``axis=()``)
``nn.Sequential``                          ``Model`` (``from_torch(seq, loss=..., ...)``)
``nn.Conv1d(c, f, k)`` / ``nn.Conv2d``     ``Conv1D(f, k)`` / ``Conv2D``: ``W = weight`` moved to
                                           ``(k, c, f)`` / ``(kh, kw, c, f)``, ``b = bias``
``h0 (1, m, u)``, ``c0 (1, m, u)``         forward keyword ``h0 (m, u)``, ``C0 (m, u)``
=========================================  ====================================================

Folded activations (the module must come right after an ``nn.Linear``): ``nn.ReLU``, ``nn.Tanh``,
``nn.Sigmoid``, ``nn.Softmax(dim=-1)``, ``nn.LeakyReLU(negative_slope)``, ``nn.ELU(alpha)``,
``nn.SELU``, ``nn.SiLU`` (swish), ``nn.Softplus`` (``beta=1`` only; PyTorch switches to the
identity above ``threshold=20``, where the two differ by less than 3e-9), ``nn.Hardsigmoid``
(``hard_sigmoid`` with slope 1/6); ``nn.Identity`` is dropped anywhere.

Biases. PyTorch's recurrent modules have two biases, ``bias_ih`` and ``bias_hh``; wherever they are
simply added, unrolled keeps their sum ``b``. ``from_torch`` folds them; ``to_torch`` puts the whole
``b`` into ``bias_ih`` and zeros into ``bias_hh``, except GRU's n block, where
``bias_hh_n = bh`` (PyTorch's ``b_hn`` is multiplied by the reset gate, so it cannot be folded).
The gradient of the folded ``b`` equals the gradient of EACH of PyTorch's two biases on those
blocks.

Limits
------
* Recurrent modules: one layer, ``batch_first=True``, not bidirectional, no ``proj_size``;
  anything else raises ``ValueError`` naming it. A single-layer module's ``dropout`` argument does
  nothing in PyTorch and is ignored.
* ``GRU(reset_after=False)`` (Cho et al. 2014) has no PyTorch equivalent: ``to_torch`` refuses it.
* Convolutions convert one module at a time (not inside ``nn.Sequential``/``Model``): PyTorch is
  channels first, ``(m, c, h, w)``, unrolled channels last, ``(m, h, w, c)``; permute the inputs
  (``x.permute(0, 3, 1, 2)``) and outputs. Padding: an int or tuple is that many zeros per side in
  both; ``"same"`` converts with stride 1 only (PyTorch's ``padding="same"`` has no strides;
  unrolled's, TensorFlow's, depends on the input size); ``groups``, ``padding_mode`` other than
  ``"zeros"`` have no unrolled counterpart.
* PyTorch's recurrent modules only know tanh/relu (RNN) and sigmoid/tanh (LSTM, GRU): other
  activations raise ``ValueError``.
* ``sequences``: PyTorch's recurrent modules always return every step, ``output (m, s, u)``, with
  the final state(s) next to it. ``to_torch`` of a single ``sequences=False`` layer returns the
  plain module: take ``output[:, -1]`` (or ``h_n[0]``) yourself. Inside a ``Model`` the layer becomes
  ``RecurrentOutput(module, sequences)``, a small module that returns ``output`` or
  ``output[:, -1]`` so the ``nn.Sequential`` runs; ``from_torch`` reads it back. A plain recurrent
  module met inside an ``nn.Sequential`` uses the ``sequences`` argument of ``from_torch``.
* unrolled's ``mask`` (padded batches), ``stateful`` carries and variational ``dropout`` /
  ``recurrent_dropout`` have no counterpart in these PyTorch modules; the weights convert, but
  training with them behaves differently (``to_torch`` warns on recurrent dropout).
"""
import warnings

import numpy as np

TORCH_MISSING = ("PyTorch is needed for unrolled.interop.torch: pip install 'unrolled[torch]' "
                 "(or torch==2.13.0 for a CPU build)")

__all__ = ["from_torch", "to_torch"]


def _torch():
    try:
        import torch
    except ImportError as err:
        raise ImportError(TORCH_MISSING) from err
    return torch


# --------------------------------------------------------------------------- RecurrentOutput
_RECURRENT_OUTPUT = None


def _recurrent_output_class():
    """``RecurrentOutput``: defined on first use, so that importing this module needs no torch."""
    global _RECURRENT_OUTPUT
    if _RECURRENT_OUTPUT is None:
        nn = _torch().nn

        class RecurrentOutput(nn.Module):
            """Runs a batch_first ``nn.RNN``/``nn.LSTM``/``nn.GRU`` and returns its output sequence
            ``(m, s, u)`` (``sequences=True``) or the last step ``(m, u)``, so that recurrent
            modules can sit in an ``nn.Sequential``."""

            def __init__(self, rnn, sequences=True):
                super().__init__()
                self.rnn = rnn
                self.sequences = bool(sequences)

            def forward(self, x):
                out, _ = self.rnn(x)
                return out if self.sequences else out[:, -1]

            def extra_repr(self):
                return f"sequences={self.sequences}"

        RecurrentOutput.__module__ = __name__
        RecurrentOutput.__qualname__ = "RecurrentOutput"
        _RECURRENT_OUTPUT = RecurrentOutput
    return _RECURRENT_OUTPUT


def __getattr__(name):
    # ``unrolled.interop.torch.RecurrentOutput`` (also what pickle looks up) without importing
    # torch at import time.
    if name == "RecurrentOutput":
        try:
            return _recurrent_output_class()
        except ImportError:
            raise AttributeError(f"RecurrentOutput is a torch.nn.Module: {TORCH_MISSING}") from None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- helpers
def _numpy_dtype(torch, tensor, what):
    if tensor.dtype == torch.float32:
        return np.dtype(np.float32)
    if tensor.dtype == torch.float64:
        return np.dtype(np.float64)
    raise ValueError(f"from_torch: {what} has dtype {tensor.dtype}; only float32 and float64 "
                     f"convert (call module.float() or module.double() first)")


def _array(tensor):
    return tensor.detach().cpu().numpy()


def _tensor(torch, array):
    return torch.from_numpy(np.array(array, copy=True))


def _torch_dtype(torch, dtype):
    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(dtype)]


def _build(layer, shape, dtype):
    """Create the layer's parameters with the right shapes by running it once on zeros."""
    layer.dtype = np.dtype(dtype)
    if layer.rng is None:
        layer.seed(0)
    layer(np.zeros(shape, dtype=dtype))
    return layer


def _copy(layer, name, value):
    target = layer.p[name]
    value = np.asarray(value)
    if value.shape != target.shape:
        raise ValueError(f"{layer.label}: cannot copy a {value.shape} array into {name} "
                         f"{target.shape}")
    np.copyto(target, value, casting="same_kind")


# --------------------------------------------------------------------------- activations
def _activation_of(torch, module, where):
    """(name, params) of the unrolled activation equivalent to an activation module, or None when
    the module is not an activation."""
    nn = torch.nn
    simple = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.SELU: "selu",
              nn.SiLU: "swish", nn.Hardsigmoid: "hard_sigmoid", nn.Identity: "identity"}
    for cls, name in simple.items():
        if type(module) is cls:
            return name, {}
    if type(module) is nn.Softmax:
        if module.dim != -1:
            raise ValueError(f"from_torch: {where} nn.Softmax(dim={module.dim}) is not supported: "
                             f"unrolled's softmax runs over the last axis; use nn.Softmax(dim=-1) "
                             f"(the same as dim=1 for 2-D inputs)")
        return "softmax", {}
    if type(module) is nn.LeakyReLU:
        slope = float(module.negative_slope)
        if slope == 0.0:
            return "relu", {}
        if slope < 0.0:
            raise ValueError(f"from_torch: {where} nn.LeakyReLU(negative_slope={slope}) is not "
                             f"supported: unrolled's leaky_relu needs a slope > 0")
        return "leaky_relu", {"alpha": slope}
    if type(module) is nn.ELU:
        alpha = float(module.alpha)
        if not alpha > 0.0:
            raise ValueError(f"from_torch: {where} nn.ELU(alpha={alpha}) is not supported: "
                             f"unrolled's elu needs alpha > 0")
        return "elu", {"alpha": alpha}
    if type(module) is nn.Softplus:
        if float(module.beta) != 1.0:
            raise ValueError(f"from_torch: {where} nn.Softplus(beta={module.beta}) is not "
                             f"supported: only beta=1")
        return "softplus", {}
    return None


def _activation_module(torch, layer):
    """The PyTorch module of a Dense layer's activation (None for the identity)."""
    nn, act = torch.nn, layer.activation
    name = act.name
    if name == "identity":
        return None
    simple = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "selu": nn.SELU,
              "softplus": nn.Softplus}
    if name in simple:
        return simple[name]()
    if name == "softmax":
        if act.temperature != 1.0:
            raise ValueError(f"to_torch: {layer.label} uses softmax with temperature "
                             f"{act.temperature}; PyTorch's nn.Softmax has none (only 1.0 converts)")
        return nn.Softmax(dim=-1)
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope=act.alpha)
    if name == "elu":
        return nn.ELU(alpha=act.alpha)
    if name == "swish":
        if act.beta != 1.0:
            raise ValueError(f"to_torch: {layer.label} uses swish with beta {act.beta}; only "
                             f"beta=1 (nn.SiLU) converts")
        return nn.SiLU()
    if name == "hard_sigmoid":
        if not np.isclose(act.slope, 1.0 / 6.0, rtol=0, atol=1e-15):
            raise ValueError(f"to_torch: {layer.label} uses hard_sigmoid with slope {act.slope}; "
                             f"only slope 1/6 (nn.Hardsigmoid) converts")
        return nn.Hardsigmoid()
    raise ValueError(f"to_torch: {layer.label} has activation {name!r}, which has no PyTorch "
                     f"module here")


# --------------------------------------------------------------------------- from_torch
def _linear_to_dense(torch, module, activation=("identity", {})):
    from ..layers import Dense
    weight = module.weight
    dtype = _numpy_dtype(torch, weight, "nn.Linear.weight")
    name, params = activation
    layer = Dense(module.out_features, activation=name, activation_params=params)
    _build(layer, (1, module.in_features), dtype)
    _copy(layer, "W", _array(weight).T)
    _copy(layer, "b", np.zeros((1, module.out_features)) if module.bias is None
          else _array(module.bias)[None])
    return layer


def _conv_from_torch(torch, module):
    from ..layers import Conv1D, Conv2D
    rank = 1 if isinstance(module, torch.nn.Conv1d) else 2
    kind = type(module).__name__
    if module.groups != 1 or module.padding_mode != "zeros":
        raise ValueError(f"from_torch: nn.{kind} with groups={module.groups}, padding_mode="
                         f"{module.padding_mode!r} is not supported (groups=1, 'zeros' only)")
    weight = module.weight                       # (f, c, *kernel)
    dtype = _numpy_dtype(torch, weight, f"nn.{kind}.weight")
    padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    layer = (Conv1D if rank == 1 else Conv2D)(
        module.out_channels, tuple(module.kernel_size), strides=tuple(module.stride),
        padding=padding, dilation_rate=tuple(module.dilation), use_bias=module.bias is not None)
    _build(layer, (1,) + tuple((k - 1) * d + 1 for k, d in zip(module.kernel_size, module.dilation))
           + (module.in_channels,), dtype)
    _copy(layer, "W", np.moveaxis(_array(weight), (0, 1), (-1, -2)))
    if module.bias is not None:
        _copy(layer, "b", _array(module.bias))
    return layer


def _check_recurrent(module):
    kind = type(module).__name__
    problems = []
    if module.num_layers != 1:
        problems.append(f"num_layers={module.num_layers} (stack single-layer modules instead)")
    if not module.batch_first:
        problems.append("batch_first=False (unrolled takes (m, s, e): use batch_first=True)")
    if module.bidirectional:
        problems.append("bidirectional=True")
    if getattr(module, "proj_size", 0):
        problems.append(f"proj_size={module.proj_size}")
    if problems:
        raise ValueError(f"from_torch: nn.{kind} with {', '.join(problems)} is not supported; "
                         f"only single-layer, batch_first=True, unidirectional modules without "
                         f"projection convert")


def _recurrent_from_torch(torch, module, sequences):
    from ..layers import GRU, LSTM, RNN
    nn = torch.nn
    _check_recurrent(module)
    e, u = module.input_size, module.hidden_size
    W_ih, W_hh = module.weight_ih_l0, module.weight_hh_l0
    dtype = _numpy_dtype(torch, W_ih, f"nn.{type(module).__name__}.weight_ih_l0")
    options = {"sequences": sequences, "use_bias": bool(module.bias)}
    if isinstance(module, nn.LSTM):
        layer = LSTM(u, **options)
    elif isinstance(module, nn.GRU):
        layer = GRU(u, reset_after=True, **options)
    elif isinstance(module, nn.RNN):
        if module.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"from_torch: nn.RNN nonlinearity {module.nonlinearity!r} is not "
                             f"supported (tanh or relu)")
        layer = RNN(u, activation=module.nonlinearity, **options)
    else:
        raise ValueError(f"from_torch: {type(module).__name__} is not supported")
    _build(layer, (1, 1, e), dtype)
    _copy(layer, "U", _array(W_ih).T)
    _copy(layer, "V", _array(W_hh).T)
    if module.bias:       # bias=False: the layer has no b (nor bh) either
        b_ih, b_hh = _array(module.bias_ih_l0), _array(module.bias_hh_l0)
        if isinstance(layer, GRU):
            b = np.concatenate([b_ih[:2 * u] + b_hh[:2 * u], b_ih[2 * u:]])
            _copy(layer, "bh", b_hh[2 * u:][None])
        else:
            b = b_ih + b_hh
        _copy(layer, "b", b[None])
    return layer


def _flatten(torch, module):
    for child in module:
        if isinstance(child, torch.nn.Sequential):
            yield from _flatten(torch, child)
        else:
            yield child


def _dropout_class():
    try:
        from ..layers.dropout import Dropout
    except ImportError:
        return None
    return Dropout


def _sequential_layers(torch, seq, sequences):
    Dropout = _dropout_class()
    nn = torch.nn
    Wrapper = _recurrent_output_class()
    layers = []
    pending = None          # an nn.Linear waiting for a possible activation

    def flush(activation=("identity", {})):
        nonlocal pending
        if pending is not None:
            layers.append(_linear_to_dense(torch, pending, activation))
            pending = None

    for index, child in enumerate(_flatten(torch, seq)):
        where = f"module {index} ({type(child).__name__}) of the nn.Sequential:"
        act = _activation_of(torch, child, where)
        if act is not None:
            if act[0] == "identity":
                continue
            if pending is None:
                raise ValueError(f"from_torch: {where} an activation must follow an nn.Linear "
                                 f"directly (unrolled applies activations inside Dense layers)")
            flush(act)
            continue
        flush()
        if isinstance(child, nn.Linear):
            pending = child
        elif isinstance(child, Wrapper):
            layers.append(_recurrent_from_torch(torch, child.rnn, child.sequences))
        elif isinstance(child, (nn.RNN, nn.LSTM, nn.GRU)):
            layers.append(_recurrent_from_torch(torch, child, sequences))
        elif type(child) is nn.Dropout and Dropout is not None:
            layers.append(Dropout(float(child.p)))
        else:
            raise ValueError(f"from_torch: {where} {type(child).__name__} is not supported (Linear, "
                             f"RNN, LSTM, GRU, Dropout and activation modules are)")
    flush()
    if not layers:
        raise ValueError("from_torch: the nn.Sequential holds no convertible layer")
    return layers


def from_torch(module, sequences=True, **model_kwargs):
    """The unrolled equivalent of a PyTorch module, with the same weights.

    Parameters
    ----------
    module : torch.nn.Module
        ``nn.Linear`` -> ``Dense``; ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (one layer,
        ``batch_first=True``) -> ``RNN``/``LSTM``/``GRU(reset_after=True)``; ``nn.Sequential`` ->
        ``Model`` (activation modules folded into the preceding ``Dense``). See the module docstring
        for the full correspondence.
    sequences : bool
        ``sequences`` of the recurrent layer made from a plain recurrent module (PyTorch's modules
        return every step: ``sequences=True`` is the same output).
    **model_kwargs
        For ``nn.Sequential`` only: ``Model`` settings (``loss``, ``optimizer``, ``metrics``,
        ``seed``, ...). ``dtype`` defaults to the module's dtype.

    Returns
    -------
    Layer or Model
        Built (parameters created) and holding copies of the module's values.
    """
    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    if isinstance(module, nn.Sequential):
        from ..framework.model import Model
        params = list(module.parameters())
        dtype = _numpy_dtype(torch, params[0], "the nn.Sequential") if params else np.float64
        dtype = np.dtype(model_kwargs.pop("dtype", dtype))
        layers = _sequential_layers(torch, module, sequences)
        for layer in layers:
            if layer.initialized and layer.dtype != dtype:   # dtype asked for differs
                for name, value in layer.p.items():
                    layer.p[name] = value.astype(dtype)
                layer.dtype = dtype
        return Model(layers, dtype=dtype, **model_kwargs)
    if model_kwargs:
        raise TypeError(f"from_torch: model settings {sorted(model_kwargs)} apply to an "
                        f"nn.Sequential only, not to {type(module).__name__}")
    if isinstance(module, nn.Linear):
        return _linear_to_dense(torch, module)
    if isinstance(module, _recurrent_output_class()):
        return _recurrent_from_torch(torch, module.rnn, module.sequences)
    if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        return _recurrent_from_torch(torch, module, sequences)
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return _conv_from_torch(torch, module)
    raise ValueError(f"from_torch: {type(module).__name__} is not supported (Linear, RNN, LSTM, "
                     f"GRU, Conv1d, Conv2d and Sequential are)")


# --------------------------------------------------------------------------- to_torch
def _dense_to_torch(torch, layer):
    nn = torch.nn
    W, b = layer.p["W"], layer.p["b"]
    linear = nn.Linear(W.shape[0], W.shape[1], dtype=_torch_dtype(torch, W.dtype))
    with torch.no_grad():
        linear.weight.copy_(_tensor(torch, W.T))
        linear.bias.copy_(_tensor(torch, b[0]))
    act = _activation_module(torch, layer)
    return [linear] if act is None else [linear, act]


def _conv_to_torch(torch, layer):
    nn = torch.nn
    W = layer.p["W"]                             # (*kernel, c, f)
    if layer.padding == "same":
        if max(layer.d["strides"]) > 1:
            raise ValueError(f"to_torch: {layer.label} has padding='same' with strides "
                             f"{layer.d['strides']}; PyTorch's padding='same' needs stride 1 (pad "
                             f"the input yourself, or use an explicit padding)")
        padding = "same"
    elif layer.padding == "causal":
        raise ValueError(f"to_torch: {layer.label} has padding='causal', which nn.Conv1d lacks "
                         f"(pad the input with F.pad(x, ({layer.d['pads'][0][0]}, 0)) and use "
                         f"padding=0)")
    else:
        padding = 0 if layer.padding == "valid" else tuple(layer.padding)
    cls = nn.Conv1d if layer.rank == 1 else nn.Conv2d
    conv = cls(layer.d["c"], layer.d["f"], layer.d["kernel"], stride=layer.d["strides"],
               padding=padding, dilation=layer.d["dilation"], bias=layer.use_bias,
               dtype=_torch_dtype(torch, W.dtype))
    with torch.no_grad():
        conv.weight.copy_(_tensor(torch, np.moveaxis(W, (-1, -2), (0, 1))))
        if layer.use_bias:
            conv.bias.copy_(_tensor(torch, layer.p["b"]))
    act = _activation_module(torch, layer)
    return [conv] if act is None else [conv, act]


def _require(layer, acts, allowed, kind):
    for what, act in acts.items():
        if act.name != allowed[what]:
            raise ValueError(f"to_torch: {layer.label} uses {what} activation {act.name!r}; "
                             f"{kind} only has {allowed[what]!r} there")


def _recurrent_to_torch(torch, layer):
    from ..layers import GRU, LSTM, RNN
    nn = torch.nn
    U, V = layer.p["U"], layer.p["V"]
    e, u = U.shape[0], V.shape[0]
    dtype = _torch_dtype(torch, U.dtype)
    options = {"bias": layer.use_bias, "batch_first": True, "dtype": dtype}
    if isinstance(layer, LSTM):
        _require(layer, {f"gate {k}": a for k, a in layer.gate_activations.items()} |
                 {"cell": layer.activation},
                 {"gate i": "sigmoid", "gate f": "sigmoid", "gate g": "tanh", "gate o": "sigmoid",
                  "cell": "tanh"}, "nn.LSTM")
        module = nn.LSTM(e, u, **options)
    elif isinstance(layer, GRU):
        if not layer.reset_after:
            raise ValueError(f"to_torch: {layer.label} has reset_after=False (Cho et al. 2014: the "
                             f"reset gate multiplies h before the product); nn.GRU only has the "
                             f"reset_after=True form, so there is no equivalent")
        _require(layer, {f"gate {k}": a for k, a in layer.gate_activations.items()},
                 {"gate r": "sigmoid", "gate u": "sigmoid", "gate n": "tanh"}, "nn.GRU")
        module = nn.GRU(e, u, **options)
    elif isinstance(layer, RNN):
        if layer.activation.name not in ("tanh", "relu"):
            raise ValueError(f"to_torch: {layer.label} uses activation {layer.activation.name!r}; "
                             f"nn.RNN only has nonlinearity 'tanh' or 'relu'")
        module = nn.RNN(e, u, nonlinearity=layer.activation.name, **options)
    else:
        raise ValueError(f"to_torch: {layer.label} is not supported")
    if layer.dropout or layer.recurrent_dropout:
        warnings.warn(f"to_torch: {layer.label} uses dropout={layer.dropout}, recurrent_dropout="
                      f"{layer.recurrent_dropout}; a single-layer PyTorch module has no such "
                      f"dropout (inference is the same, training is not)", stacklevel=3)
    with torch.no_grad():
        module.weight_ih_l0.copy_(_tensor(torch, U.T))
        module.weight_hh_l0.copy_(_tensor(torch, V.T))
        if layer.use_bias:     # all of b in bias_ih; bias_hh zero except GRU's b_hn = bh
            b = layer.p["b"][0]
            bias_hh = np.zeros_like(b)
            if isinstance(layer, GRU):
                bias_hh[2 * u:] = layer.p["bh"][0]
            module.bias_ih_l0.copy_(_tensor(torch, b))
            module.bias_hh_l0.copy_(_tensor(torch, bias_hh))
    return module


def _layer_modules(torch, layer, in_model):
    from ..layers import Dense, Recurrent
    Dropout = _dropout_class()
    if not layer.initialized:
        raise ValueError(f"to_torch: {layer.label} has no parameters yet; build it first (call it "
                         f"on a sample input, or model.build(X))")
    if isinstance(layer, Dense):
        return _dense_to_torch(torch, layer)
    from ..layers.conv import ConvND
    if isinstance(layer, ConvND):
        if in_model:
            raise ValueError(f"to_torch: {layer.label} is a convolution; models with convolutions "
                             f"do not convert (PyTorch is channels first): convert the layer alone")
        return _conv_to_torch(torch, layer)
    if isinstance(layer, Recurrent):
        module = _recurrent_to_torch(torch, layer)
        return [_recurrent_output_class()(module, layer.sequences)] if in_model else [module]
    if Dropout is not None and isinstance(layer, Dropout):
        if layer.per_sequence or layer.axis:
            raise ValueError(f"to_torch: {layer.label} shares its mask (per_sequence="
                             f"{layer.per_sequence}, axis={layer.axis}); nn.Dropout draws one "
                             f"mask per element (per_sequence=False, axis=())")
        return [torch.nn.Dropout(layer.rate)]
    raise ValueError(f"to_torch: {layer.label} ({type(layer).__name__}) has no PyTorch equivalent "
                     f"here (Dense, RNN, LSTM, GRU, Dropout and Model convert)")


def to_torch(layer_or_model):
    """The PyTorch equivalent of a built unrolled layer or model, with the same weights.

    * ``Dense`` -> ``nn.Linear``, or ``nn.Sequential(nn.Linear, activation)`` when the activation is
      not the identity;
    * ``RNN``/``LSTM``/``GRU(reset_after=True)`` -> ``nn.RNN``/``nn.LSTM``/``nn.GRU`` with
      ``batch_first=True``; the module returns ``(output, h_n)`` (``(output, (h_n, c_n))``) with
      every step in ``output``: for a ``sequences=False`` layer use ``output[:, -1]``;
    * ``Conv1D``/``Conv2D`` -> ``nn.Conv1d``/``nn.Conv2d`` (+ activation module), channels first;
    * ``Model`` -> ``nn.Sequential`` (recurrent layers wrapped in :class:`RecurrentOutput`).

    Raises ``ValueError`` for what PyTorch cannot express (``GRU(reset_after=False)``, activations
    its recurrent modules lack, softmax temperature, ...).
    """
    torch = _torch()
    from ..framework.layer import Layer
    from ..framework.model import Model
    if isinstance(layer_or_model, Model):
        modules = [mod for layer in layer_or_model.layers
                   for mod in _layer_modules(torch, layer, in_model=True)]
        return torch.nn.Sequential(*modules)
    if isinstance(layer_or_model, Layer):
        modules = _layer_modules(torch, layer_or_model, in_model=False)
        return modules[0] if len(modules) == 1 else torch.nn.Sequential(*modules)
    raise TypeError(f"to_torch: expected an unrolled Layer or Model, got "
                    f"{type(layer_or_model).__name__}")
