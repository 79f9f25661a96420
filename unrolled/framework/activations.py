"""Activation functions as small objects: each layer owns its own instances.

Every activation has

* ``forward(z, out=None) -> a``: the elementwise (or row-wise, for softmax) function;
* ``backward(da, a, z=None, out=None) -> dz``: the vector-Jacobian product ``dL/dz`` given
  ``dL/da`` (written into ``out`` when given, which must not be ``da``).
  Wherever the math allows the derivative is written in terms of the cached output ``a``
  (``a (1 - a)`` for the sigmoid, ``1 - a**2`` for tanh ...), so layers need not keep ``z``.
  ``needs_input`` is True for the few activations whose derivative needs ``z`` (swish).
* ``derivative(a, z=None, out=None) -> da/dz``: the elementwise derivative on its own, which
  recurrent layers compute for every step at once before their backward loop (every
  activation but softmax, whose Jacobian is not diagonal: ``elementwise = False``).

Parameters (leaky-relu ``alpha``, softmax ``temperature``...) are attributes of the instance:
there is no module-level state, so two layers never share or overwrite each other's settings.
"""
import numpy as np
from scipy.special import expit, softmax as _softmax

from .registry import lookup

class Activation:
    """Base class. Subclasses set ``name`` and implement ``forward``/``backward``."""

    name = "activation"
    needs_input = False  # True when backward needs the pre-activation z (not only a)
    elementwise = True   # a_j depends on z_j only, so da/dz is an array of a's shape

    def forward(self, z, out=None):
        raise NotImplementedError

    def backward(self, da, a, z=None, out=None):
        raise NotImplementedError

    def derivative(self, a, z=None, out=None):
        """da/dz elementwise (the backward pass of an upstream gradient of ones)."""
        return self.backward(np.ones((), dtype=a.dtype), a, z, out=out)

    @staticmethod
    def _emit(result, out):
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def __call__(self, z, out=None):
        return self.forward(z, out=out)

    def config(self):
        """The parameters that rebuild this activation: ``get_activation(name, **config())``."""
        return {}

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({params})"


class Identity(Activation):
    """a = z"""
    name = "identity"

    def forward(self, z, out=None):
        if out is None:
            return z
        np.copyto(out, z)
        return out

    def backward(self, da, a, z=None, out=None):
        return self._emit(da, out)

    def derivative(self, a, z=None, out=None):
        if out is None:
            return np.ones_like(a)
        out.fill(1.0)
        return out


class Sigmoid(Activation):
    """a = 1 / (1 + exp(-z));  da/dz = a (1 - a)"""
    name = "sigmoid"

    def forward(self, z, out=None):
        # 0.5 tanh(z / 2) + 0.5, in place: faster than scipy.special.expit (bench/README.md,
        # "Measured choices", sigmoid). Absolute error below 1e-16; tiny outputs lose relative
        # precision.
        out = np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out

    def backward(self, da, a, z=None, out=None):
        out = self.derivative(a, out=out)
        out *= da
        return out

    def derivative(self, a, z=None, out=None):
        out = np.multiply(a, a, out=out)         # a (1 - a) = a - a^2, with no temporary
        return np.subtract(a, out, out=out)


class Tanh(Activation):
    """a = tanh(z);  da/dz = 1 - a^2   (np.tanh is stable for any ``|z|``, unlike exp ratios)"""
    name = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def backward(self, da, a, z=None, out=None):
        out = self.derivative(a, out=out)
        out *= da
        return out

    def derivative(self, a, z=None, out=None):
        out = np.multiply(a, a, out=out)         # 1 - a^2, with no temporary
        return np.subtract(1.0, out, out=out)


class ReLU(Activation):
    """a = max(z, 0);  da/dz = 1 where a > 0, else 0"""
    name = "relu"

    def forward(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def backward(self, da, a, z=None, out=None):
        return self._emit(da * (a > 0), out)


class LeakyReLU(Activation):
    """a = z if z > 0 else alpha z;  da/dz = 1 or alpha  (read from a: same sign as z, alpha > 0)"""
    name = "leaky_relu"

    def __init__(self, alpha=0.01):
        if not alpha > 0:
            raise ValueError(f"leaky_relu: alpha must be > 0, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, z, out=None):
        a = np.where(z > 0, z, self.alpha * z)
        if out is None:
            return a
        np.copyto(out, a)
        return out

    def backward(self, da, a, z=None, out=None):
        return self._emit(da * np.where(a > 0, 1.0, self.alpha).astype(da.dtype, copy=False), out)

    def config(self):
        return {"alpha": self.alpha}


class ELU(Activation):
    """a = z if z > 0 else alpha (exp(z) - 1);  da/dz = 1 or a + alpha"""
    name = "elu"

    def __init__(self, alpha=1.0):
        if not alpha > 0:
            raise ValueError(f"elu: alpha must be > 0, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, z, out=None):
        a = np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0)))
        if out is None:
            return a
        np.copyto(out, a)
        return out

    def backward(self, da, a, z=None, out=None):
        return self._emit(da * np.where(a > 0, 1.0, a + self.alpha), out)

    def config(self):
        return {"alpha": self.alpha}


class SELU(ELU):
    """a = scale * elu(z, alpha) with the self-normalizing constants of Klambauer et al. (2017);
    da/dz = scale where a > 0, else a + scale * alpha"""
    name = "selu"
    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def __init__(self):
        self.alpha = self.ALPHA
        self.scale = self.SCALE

    def forward(self, z, out=None):
        a = self.scale * np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0)))
        if out is None:
            return a
        np.copyto(out, a)
        return out

    def backward(self, da, a, z=None, out=None):
        return self._emit(da * np.where(a > 0, self.scale, a + self.scale * self.alpha), out)

    def config(self):
        return {}


class Swish(Activation):
    """a = z * sigmoid(beta z) (beta = 1: SiLU);  da/dz = s + beta z s (1 - s), s = sigmoid(beta z).
    The derivative needs z, so layers cache it for this activation (``needs_input``)."""
    name = "swish"
    needs_input = True

    def __init__(self, beta=1.0):
        self.beta = float(beta)

    def forward(self, z, out=None):
        return np.multiply(z, expit(self.beta * z), out=out)

    def backward(self, da, a, z=None, out=None):
        if z is None:
            raise ValueError("swish: backward needs the pre-activation z")
        s = expit(self.beta * z)
        return self._emit(da * (s + self.beta * z * s * (1.0 - s)), out)

    def config(self):
        return {"beta": self.beta}


class Gompertz(Activation):
    """a = exp(-exp(-z)), the Gompertz sigmoid of R's ``rnn`` package: from 0 to 1 like the
    logistic sigmoid, but asymmetric (a(0) = 1/e);  da/dz = exp(-z - exp(-z)) = -a log(a).
    The derivative is computed from z, where it stays finite after a underflows to 0."""
    name = "gompertz"
    needs_input = True

    def forward(self, z, out=None):
        with np.errstate(over="ignore"):        # exp(-z) = inf for z < -709: a = exp(-inf) = 0
            return np.exp(-np.exp(-z), out=out)

    def backward(self, da, a, z=None, out=None):
        if z is None:
            raise ValueError("gompertz: backward needs the pre-activation z")
        with np.errstate(over="ignore"):
            return self._emit(da * np.exp(-z - np.exp(-z)), out)


class Softplus(Activation):
    """a = log(1 + exp(z)) (computed as logaddexp(0, z): no overflow);
    da/dz = sigmoid(z) = 1 - exp(-a)"""
    name = "softplus"

    def forward(self, z, out=None):
        return np.logaddexp(0.0, z, out=out)

    def backward(self, da, a, z=None, out=None):
        return self._emit(da * -np.expm1(-a), out)


class HardSigmoid(Activation):
    """a = clip(slope z + 0.5, 0, 1) (slope 1/6 as in PyTorch; Keras 2 used 0.2);
    da/dz = slope where 0 < a < 1, else 0"""
    name = "hard_sigmoid"

    def __init__(self, slope=1.0 / 6.0):
        if not slope > 0:
            raise ValueError(f"hard_sigmoid: slope must be > 0, got {slope!r}")
        self.slope = float(slope)

    def forward(self, z, out=None):
        a = np.multiply(z, self.slope, out=out)
        a += 0.5
        return np.clip(a, 0.0, 1.0, out=a)

    def backward(self, da, a, z=None, out=None):
        return self._emit(da * ((a > 0) & (a < 1)) * self.slope, out)

    def config(self):
        return {"slope": self.slope}


class Softmax(Activation):
    """a = softmax(z / T) over the last axis.

    Vector-Jacobian product, never the (m, n, n) Jacobian:
    dz = a * (da - sum(da * a, axis=-1)) / T
    (with cross-entropy the model fuses the two into dz = (a - y) / (T N)).
    """
    name = "softmax"
    elementwise = False

    def __init__(self, temperature=1.0):
        if not temperature > 0:
            raise ValueError(f"softmax: temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)

    def forward(self, z, out=None):
        a = _softmax(z / self.temperature if self.temperature != 1.0 else z, axis=-1)
        if out is None:
            return a
        np.copyto(out, a)
        return out

    def backward(self, da, a, z=None, out=None):
        dz = a * (da - np.sum(da * a, axis=-1, keepdims=True))
        if self.temperature != 1.0:
            dz /= self.temperature
        return self._emit(dz, out)

    def derivative(self, a, z=None, out=None):
        raise TypeError("softmax has no elementwise derivative (its Jacobian is not diagonal); "
                        "use backward(da, a)")

    def config(self):
        return {"temperature": self.temperature}


ACTIVATIONS = {cls.name: cls for cls in
               (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, Swish, Gompertz, Softplus,
                HardSigmoid, Softmax)}
ALIASES = {"linear": "identity", "none": "identity", "silu": "swish", "logistic": "sigmoid",
           "leakyrelu": "leaky_relu", "lrelu": "leaky_relu", "hardsigmoid": "hard_sigmoid"}


def activation_spec(act):
    """What rebuilds ``act`` with :func:`get_activation`: its name, or ``{"name": ..., **params}``."""
    params = act.config()
    return {"name": act.name, **params} if params else act.name


def get_activation(spec, owner="layer", **params):
    """Return a fresh Activation from a name (with ``params``), a ``{"name": ..., **params}``
    dict, an instance or ``None`` (identity).

    Raises ValueError naming ``owner`` and listing the valid names on an unknown name.
    """
    if spec is None:
        return Identity()
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, dict):
        spec = dict(spec)
        if "name" not in spec:
            raise ValueError(f"{owner}: an activation given as a dict needs a 'name', got {spec}")
        return get_activation(spec.pop("name"), owner, **spec, **params)
    if isinstance(spec, str):
        key, cls = lookup("activation", spec, ACTIVATIONS, ALIASES, owner)
        try:
            return cls(**params)
        except TypeError as err:
            raise TypeError(f"{owner}: bad parameters {params} for activation {key!r}: {err}") from None
    raise TypeError(f"{owner}: activation must be a name, an Activation or None, "
                    f"got {type(spec).__name__}")
