"""Weight initializers: ``init(shape, rng, dtype) -> array``.

Weights are stored as ``(fan_in, fan_out)`` (inputs multiply from the left: ``x @ W``).
Recurrent layers with fused gates call the initializer once per gate block, so fans are those of
one gate, as in Keras and PyTorch.
"""
import numpy as np

from .registry import lookup

def zeros(shape, rng=None, dtype=np.float64):
    return np.zeros(shape, dtype=dtype)


def ones(shape, rng=None, dtype=np.float64):
    return np.ones(shape, dtype=dtype)


def _fans(shape):
    if len(shape) < 2:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[0] * receptive, shape[1] * receptive


def glorot_uniform(shape, rng, dtype=np.float64):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out))  (Glorot & Bengio 2010)"""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, rng, dtype=np.float64):
    """N(0, 2 / (fan_in + fan_out))"""
    fan_in, fan_out = _fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape, rng, dtype=np.float64):
    """U(-l, l), l = sqrt(6 / fan_in)  (He et al. 2015, for ReLU layers)"""
    fan_in, _ = _fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng, dtype=np.float64):
    """N(0, 2 / fan_in)"""
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def lecun_normal(shape, rng, dtype=np.float64):
    """N(0, 1 / fan_in)  (the companion of selu)"""
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)).astype(dtype)


def orthogonal(shape, rng, dtype=np.float64, gain=1.0):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix
    (Saxe et al. 2014), signs fixed so the result is uniformly distributed."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q.reshape(shape)).astype(dtype)


INITIALIZERS = {f.__name__: f for f in (zeros, ones, glorot_uniform, glorot_normal, he_uniform,
                                         he_normal, lecun_normal, orthogonal)}
ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
           "xavier": "glorot_normal", "glorot": "glorot_uniform", "he": "he_uniform",
           "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal", "lecun": "lecun_normal"}


def get_initializer(spec, owner="layer"):
    """A callable ``init(shape, rng, dtype)`` from a name or a callable."""
    if callable(spec):
        return spec
    if isinstance(spec, str):
        return lookup("initializer", spec, INITIALIZERS, ALIASES, owner)[1]
    raise TypeError(f"{owner}: initializer must be a name or a callable, got {type(spec).__name__}")


def initializer_name(init):
    """The registry name of an initializer, or None for a user's callable (used when saving)."""
    for name, f in INITIALIZERS.items():
        if f is init:
            return name
    return None
