"""The model's input checks: ``X``, masks and targets ``Y``, checked at the model's boundary.

Each function returns the array the model computes with (converted to the model's dtype) or
raises an error that names the argument (``X``, ``validation Y``, ``mask``...), what was expected
and what was received. ``Model._inputs``, ``Model._mask`` and ``Model._targets`` call them.

Refused, never silently converted: complex values (NumPy would drop the imaginary part), strings,
object arrays (ragged lists), NaN and inf, empty arrays, masks that are not boolean.
"""
import numpy as np


def _array(value, name, owner):
    """``np.asarray(value)``, with ragged nested lists reported instead of NumPy's own error."""
    try:
        return np.asarray(value)
    except ValueError as err:
        raise ValueError(f"{owner}: {name} is ragged ({err}); pad the sequences to one length "
                         f"and pass a mask") from None


def _describe_dtype(arr, name, what, owner):
    """TypeError for a dtype that is not ``what``, naming it and the common cause."""
    kind = arr.dtype.kind
    if kind == "c":
        cause = " (complex values are not supported: pass .real and .imag as separate features)"
    elif kind == "O":
        cause = (" (an object array: a ragged list, None or mixed types; pad sequences to one "
                 "length and pass a mask)") if arr.ndim else f" (got {arr.item()!r})"
    elif kind in "US":
        cause = " (strings: convert them to numbers, e.g. token ids)"
    else:
        cause = ""
    return TypeError(f"{owner}: {name} must be {what}, got dtype {arr.dtype}{cause}")


def as_float_array(value, name, dtype, owner="model"):
    """A C-contiguous array of ``dtype`` from real numbers (bools, ints, floats)."""
    arr = _array(value, name, owner)
    if arr.dtype.kind not in "biuf":
        raise _describe_dtype(arr, name, "a numeric array", owner)
    return np.asarray(arr, dtype=dtype, order="C")      # (ascontiguousarray makes scalars 1-D)


def _finite(arr, name, owner):
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{owner}: {name} contains NaN or inf ({int((~np.isfinite(arr)).sum())} "
                         f"entries, the first at index {tuple(int(i) for i in bad)}: "
                         f"{arr[tuple(bad)]})")


def check_inputs(X, name, dtype, integer_input=False, owner="model"):
    """The model's input: token ids stay integers (the Embedding checks their range), features
    become ``dtype``. Needs at least one sample, finite values."""
    if integer_input:
        X = _array(X, name, owner)
        if X.dtype.kind not in "biuf":
            raise _describe_dtype(X, name, "an array of integer token ids", owner)
    else:
        X = as_float_array(X, name, dtype, owner)
    if X.ndim == 0:
        raise ValueError(f"{owner}: {name} must be an array with the samples first, (m, ...), got "
                         f"a scalar (shape ())")
    if X.shape[0] == 0:
        raise ValueError(f"{owner}: {name} is empty (shape {X.shape}); need at least one sample")
    _finite(X, name, owner)
    return X


def check_mask(mask, X, name, integer_input=False, owner="model"):
    """A boolean ``(m, s)`` mask for sequence inputs: ``X (m, s, e)``, or token ids ``(m, s)``."""
    if mask is None:
        return None
    mask = _array(mask, name, owner)
    if mask.dtype != bool:
        raise TypeError(f"{owner}: {name} must be a boolean array (True on real steps), "
                        f"got dtype {mask.dtype}" + (" (use mask.astype(bool))"
                                                     if mask.dtype.kind in "iuf" else ""))
    sequence = X.ndim == 2 if integer_input else X.ndim >= 3
    if not sequence:
        layout = "token ids (m, s)" if integer_input else "features (m, s, e)"
        raise ValueError(f"{owner}: {name} marks the steps of sequence inputs, {layout}, but X "
                         f"of shape {X.shape} is {X.ndim}-D with no steps axis")
    if mask.shape != X.shape[:2]:
        raise ValueError(f"{owner}: {name} must have shape (m, s) = {X.shape[:2]} for inputs of "
                         f"shape {X.shape}, got {mask.shape}")
    return mask


def _integer_labels(Y, A_shape, name, loss_name, owner):
    Y = _array(Y, name, owner)
    if Y.dtype.kind not in "biuf":
        raise _describe_dtype(Y, name, "an array of integer class labels", owner)
    if Y.shape == A_shape[:-1] + (1,):
        Y = Y[..., 0]
    if Y.shape != A_shape[:-1]:
        raise ValueError(f"{owner}: loss {loss_name!r} takes integer labels of shape "
                         f"{A_shape[:-1]} for outputs of shape {A_shape}, got {name} of shape "
                         f"{Y.shape}")
    if Y.dtype.kind == "f" and not np.all(np.mod(Y, 1) == 0):
        raise ValueError(f"{owner}: loss {loss_name!r} takes integer class labels; {name} has "
                         f"non-integer values")
    if Y.min() < 0 or Y.max() >= A_shape[-1]:
        raise ValueError(f"{owner}: {name} labels must lie in [0, {A_shape[-1] - 1}] for an "
                         f"output of width {A_shape[-1]}, got [{Y.min()}, {Y.max()}]")
    return Y.astype(np.intp)


def check_targets(Y, X, A_shape, name, loss, dtype, owner="model"):
    """Targets for outputs of shape ``A_shape``: samples, width and the range ``loss`` accepts
    (see each loss's docstring: cross-entropies take [0, 1], msle takes values > -1)."""
    if loss.integer_targets:
        return _integer_labels(Y, A_shape, name, loss.name, owner)
    Y = as_float_array(Y, name, dtype, owner)
    if Y.ndim == 0:
        raise ValueError(f"{owner}: {name} must be an array of shape (m,) + {A_shape[1:]}, got "
                         f"a scalar")
    _finite(Y, name, owner)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"{owner}: X has {X.shape[0]} samples but {name} has {Y.shape[0]}")
    if Y.shape == A_shape[:-1] and A_shape[-1] == 1:
        Y = Y[..., None]
    if Y.shape[1:] != A_shape[1:]:
        hint = ""
        if loss.name == "cce" and Y.ndim == len(A_shape) - 1:
            hint = " (integer labels: use loss='scce' or unrolled.datasets.one_hot)"
        elif Y.ndim == len(A_shape) and Y.shape[-1] != A_shape[-1]:
            hint = f" (targets have width {Y.shape[-1]} but the last layer outputs {A_shape[-1]})"
        raise ValueError(f"{owner}: {name} has shape {Y.shape}, expected (m,) + {A_shape[1:]} to "
                         f"match the model's output{hint}")
    low, high = loss.target_range
    if Y.size and ((low is not None and Y.min() < low) or (high is not None and Y.max() > high)
                   or (low is not None and loss.target_low_open and Y.min() <= low)):
        rng = f"({low}, inf)" if loss.target_low_open else f"[{low}, {high}]"
        raise ValueError(f"{owner}: loss {loss.name!r} needs targets in {rng}, got {name} values "
                         f"in [{Y.min()}, {Y.max()}]")
    return Y


def raise_with_caller_shape(err, part, X):
    """Re-raise ``err``, raised while ``part`` (one sample ``X[:1]`` or one batch of ``X``) went
    through the model, with the caller's shape ``X.shape`` in place of the part's."""
    message = str(err)
    if str(part.shape) not in message or part.shape == X.shape:
        raise err
    message = message.replace(str(part.shape), str(X.shape))
    try:
        reworded = type(err)(message)
    except TypeError:
        reworded = ValueError(message)
    raise reworded from err
