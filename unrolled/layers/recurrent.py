"""What RNN, LSTM and GRU share: shapes, parameters, the input projection, masks, initial states,
dropout, and the parameter gradients. Each cell adds only its step loop (equations in
docs/layers/rnn.md, lstm.md, gru.md; the shared steps are numbered (R1)-(R9) in docs/bptt.md).

Memory layout. Every per-step array is stored time-major, ``(s, m, ...)``, so the slice of one
step is a contiguous ``(m, ...)`` block; the dictionaries expose them batch-major, ``(m, s, ...)``,
as views of the same memory (``fc["h"][:, t]`` is that contiguous block). Hidden states live in
one buffer of ``s + 1`` steps whose first entry is ``h0``: ``fc["hp"]`` (previous states) and
``fc["h"]`` are two views of it, and ``dV = hp^T dZ`` is one matrix product over all steps.

``lean=True`` trades part of the white box for memory: the backward pass writes the gate
gradients over the gate activations (and LSTM's dC_t over act(C_t), GRU's dn*r over hn_t), which
it reads for the last time a chunk of steps earlier, and keeps dh_t only during step t. A training
step then holds little more than the forward caches (bench/README.md, memory table); the
overwritten ``fc`` entries and ``bc["dh"]`` are None, and a second backward without a new forward
raises instead of reading gradients as gates.
"""
import numpy as np

from ..framework import checks
from ..framework.activations import Sigmoid, Tanh, get_activation
from ..framework.initializers import get_initializer, initializer_name, zeros
from ..framework.layer import Layer


def batch_major(a):
    """(s, m, ...) <-> (m, s, ...) view of the same memory."""
    return a.swapaxes(0, 1)


class GateActivations:
    """The activations of a fused gate block ``(..., G*u)``, in as few NumPy calls as they allow.

    ``acts`` lists one activation per gate block of width ``u``. When every gate uses sigmoid or
    tanh (the defaults of LSTM and GRU), the whole block is one ``tanh`` and three ufunc calls on
    contiguous memory, through ``sigmoid(z) = 0.5 tanh(0.5 z) + 0.5`` and ``tanh(z) = 1 tanh(1 z) + 0``:
    ``a = alpha tanh(alpha z) + beta`` with ``alpha``, ``beta`` per column, and the derivative
    from the output is ``alpha^2 - (a - beta)^2`` (``a (1 - a)``, resp. ``1 - a^2``). Faster than
    one call per gate group on strided column blocks (bench/README.md, "Measured choices": the
    four LSTM gate activations).
    Other activations: adjacent gates with the same activation share one call.
    """

    tile_bytes = 1 << 18     # largest alpha (and beta) repeated over the rows of a step (rows_of)

    def __init__(self, acts, u, dtype):
        self.groups = []
        for k, act in enumerate(acts):
            last = self.groups[-1][0] if self.groups else None
            if last is not None and type(last) is type(act) and last.config() == act.config():
                self.groups[-1] = (last, slice(self.groups[-1][1].start, (k + 1) * u))
            else:
                self.groups.append((act, slice(k * u, (k + 1) * u)))
        self.alpha = self.beta = self._rows = None
        if all(type(act) in (Sigmoid, Tanh) for act in acts):
            half = [type(act) is Sigmoid for act in acts]
            self.alpha = np.repeat(np.where(half, 0.5, 1.0), u).astype(dtype)
            self.beta = np.repeat(np.where(half, 0.5, 0.0), u).astype(dtype)
            self.alpha2 = self.alpha * self.alpha
        self.needs_input = any(act.needs_input for act in acts)

    def forward(self, z):
        """Activations of the pre-activations ``z``, in place."""
        if self.alpha is not None:
            alpha, beta = self.rows_of(z)
            z *= alpha
            np.tanh(z, out=z)
            z *= alpha
            z += beta
            return z
        for act, cols in self.groups:
            act.forward(z[..., cols], out=z[..., cols])
        return z

    def rows_of(self, z):
        """``alpha`` and ``beta`` for ``z``: repeated over its rows (built once per row count)
        while they are at most ``tile_bytes``, else one row broadcast over the rows
        (bench/README.md, "Measured choices": the per-column scale)."""
        rows = z.shape[-2] if z.ndim > 1 else 1
        if rows * self.alpha.nbytes > self.tile_bytes:
            return self.alpha, self.beta
        if self._rows is None or len(self._rows[0]) != rows:
            self._rows = (np.tile(self.alpha, (rows, 1)), np.tile(self.beta, (rows, 1)))
        return self._rows

    def derivative(self, a, z, out):
        """da/dz of every gate from the outputs ``a`` (and pre-activations ``z`` when an
        activation needs them), written into ``out``."""
        if self.alpha is not None:
            np.subtract(a, self.beta, out=out)
            np.square(out, out=out)
            return np.subtract(self.alpha2, out, out=out)
        for act, cols in self.groups:
            act.derivative(a[..., cols], None if z is None else z[..., cols], out=out[..., cols])
        return out


class Recurrent(Layer):
    """Base class of recurrent layers with ``G`` gates fused into one set of weights.

    Parameters ``U (e, G*u)``, ``V (u, G*u)``, ``b (1, G*u)``; the gate order is stated by each
    subclass. ``use_bias=False``: no ``b`` (``z_t = x_t U + h_{t-1} V``; PyTorch's
    ``bias=False``). Input ``X (m, s, e)``; output ``(m, s, u)`` with ``sequences=True``, else the
    last state ``(m, u)``.

    Forward keyword arguments: ``h0 (m, u)`` initial state (LSTM also ``C0``), ``mask (m, s)``
    boolean, True on real steps: padded steps keep the state unchanged and receive no gradient,
    so ``sequences=False`` returns each sequence's last real state.

    ``lean=True``: backward overwrites the forward caches it no longer needs with gradients
    (module docstring); the gradients are bit-identical, the ``fc`` entries named in
    ``lean_spent`` and ``bc["dh"]`` are None after backward.
    """

    gates = 1
    gate_names = ()          # gated cells: fc[name], bc["d" + name] are views of one gate block
    weight_names = ("U", "V")
    chunk_bytes = 1 << 19    # backward: steps prepared together (see backward_chunks)
    supports_mask = True
    state_names = ("h",)
    lean_spent = ()          # fc entries that a lean backward overwrites (set to None after it)

    def __init__(self, units, sequences=False, initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", dropout=0.0, recurrent_dropout=0.0,
                 stateful=False, lean=False, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.d["u"] = checks.positive_int(self.label, "units", units)
        self.sequences = checks.flag(self.label, "sequences", sequences)
        self.initializer = get_initializer(initializer, self.label)
        self.recurrent_initializer = get_initializer(recurrent_initializer, self.label)
        self.dropout = checks.number(self.label, "dropout", dropout, low=0, high=1,
                                     high_open=True)
        self.recurrent_dropout = checks.number(self.label, "recurrent_dropout", recurrent_dropout,
                                               low=0, high=1, high_open=True)
        self.stateful = checks.flag(self.label, "stateful", stateful)
        self.carried = None   # stateful: {state name: (m, u) final state} for the next batch
        self.lean = checks.flag(self.label, "lean", lean)
        self.use_bias = checks.flag(self.label, "use_bias", use_bias)
        self.backward_ready = False   # a complete forward pass whose caches backward may use

    # ------------------------------------------------------------------ shapes and parameters
    def compute_shapes(self, A):
        self.check_ndim(A, (3,), "input (m, s, e)")
        if A.shape[1] == 0:
            raise ValueError(f"{self.label}: sequences must have at least one step, got shape {A.shape}")
        self.check_size("e", A.shape[2])
        m, s, e = A.shape
        u, G = self.d["u"], self.gates
        self.d.update(m=m, s=s, e=e)
        self.fs.update(X=A.shape, U=(e, G * u), V=(u, G * u),
                       h=(m, s, u), A=(m, s, u) if self.sequences else (m, u))
        if self.use_bias:
            self.fs["b"] = (1, G * u)

    def initialize_parameters(self):
        e, u, G = self.d["e"], self.d["u"], self.gates
        # One initializer call per gate block, so fans are those of one gate (as Keras/PyTorch).
        self.p["U"] = np.concatenate([self.initializer((e, u), self.rng, self.dtype)
                                      for _ in range(G)], axis=1)
        self.p["V"] = np.concatenate([self.recurrent_initializer((u, u), self.rng, self.dtype)
                                      for _ in range(G)], axis=1)
        if self.use_bias:
            self.p["b"] = zeros((1, G * u), dtype=self.dtype)

    # ------------------------------------------------------------------ forward
    def initial_state(self, name, value):
        """(m, u) initial state from a keyword argument, the stateful carry, or zeros.

        A stateful layer continues each row of the last batch in the same row of this one, so a
        batch of another size is an error, not a silent restart from zeros."""
        m, u = self.d["m"], self.d["u"]
        if value is None and self.stateful and self.carried is not None:
            value = self.carried.get(name)
            if value is not None and value.shape[0] != m:
                raise ValueError(
                    f"{self.label}: stateful layer carries its state {name} for batches of "
                    f"{value.shape[0]} sequences from the last batch, got a batch of {m}; keep the "
                    f"batch size, or forget the carried state first with layer.reset_state() "
                    f"(model.reset_states() for a model)")
        if value is None:
            return None
        value = np.asarray(value)
        if value.shape != (m, u):
            raise ValueError(f"{self.label}: initial state {name}0 must have shape (m, u) = "
                             f"{(m, u)}, got {value.shape}")
        return value

    def _dropout_mask(self, key, rate, width):
        """Variational dropout: one mask per sequence, the same at every step (Gal & Ghahramani 2016)."""
        if self.training and rate > 0.0:
            keep = self.rng.random((self.d["m"], width)) >= rate
            self.fc[key] = keep.astype(self.dtype) / self.dtype.type(1.0 - rate)
        else:
            self.fc[key] = None
        return self.fc[key]

    def forward(self, A, h0=None, mask=None, **states):
        allowed = {name + "0" for name in self.state_names if name != "h"}
        unknown = sorted(set(states) - allowed)
        if unknown:
            raise TypeError(f"{self.label}: unknown forward arguments {unknown}; initial states "
                            f"are {sorted(allowed | {'h0'})}, and mask")
        self.check_input(A)
        m, s, e, u, G = self.d["m"], self.d["s"], self.d["e"], self.d["u"], self.gates
        self.fc["X"] = A
        self.backward_ready = False      # until the caches below are complete
        # (R1) time-major copy of the input, with the input dropout mask (and, with a bias, a
        # last column of ones, below)
        k = e + 1 if self.use_bias else e            # columns of [X 1], or of X alone
        Xt1 = self.cache(self.fc, "_Xt", (s, m, k))
        Xt = Xt1[:, :, :e]
        np.copyto(Xt, batch_major(A))                                         # (R1)
        Dx = self._dropout_mask("dropout_mask", self.dropout, e)
        if Dx is not None:
            Xt *= Dx                                                          # (R1)
        self._dropout_mask("recurrent_dropout_mask", self.recurrent_dropout, u)
        # (R2) input projection and bias of every step at once: one (s*m, e+1) @ (e+1, G*u)
        # product [X 1] [U; b], the column of ones carrying the bias through (R2) and (R7)+(R9)
        # (bench/README.md, "Measured choices": the bias); without a bias, X U
        if self.use_bias:
            Xt1[:, :, e] = 1.0                                                # (R1)
            Ub = self.cache(self.fc, "_Ub", (e + 1, G * u))
            np.copyto(Ub[:e], self.p["U"])
            np.copyto(Ub[e:], self.p["b"])
        else:
            Ub = self.p["U"]
        Zt = self.cache(self.fc, "_Zt", (s, m, G * u))
        np.matmul(Xt1.reshape(s * m, k), Ub, out=Zt.reshape(s * m, G * u))   # (R2)
        # (R3) state buffers of s + 1 steps, entry 0 holding the initial state
        Ht = self.cache(self.fc, "_Ht", (s + 1, m, u))
        h0 = self.initial_state("h", h0)
        Ht[0] = 0.0 if h0 is None else h0                                     # (R3)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (m, s):
                raise ValueError(f"{self.label}: mask must have shape (m, s) = {(m, s)}, got {mask.shape}")
            self.fc["mask"] = mask
            maskT = np.ascontiguousarray(mask.T)[:, :, None]   # (s, m, 1)
        else:
            self.fc["mask"] = maskT = None
        self.fc["_maskT"] = maskT
        self.cache(self.fc, "_hV", (m, G * u))     # scratch of the per-step recurrent product
        self.forward_steps(Zt, Ht, maskT, states)                # cell-specific (per-step loop)
        for k, name in enumerate(self.gate_names):      # one view of the gates per gate
            self.fc[name] = self.fc["gates"][:, :, k * u:(k + 1) * u]
        self.fc["h"] = batch_major(Ht[1:])
        self.fc["hp"] = batch_major(Ht[:-1])
        self.fc["hT"] = Ht[-1]
        self.backward_ready = True
        if self.stateful:
            self.carried = {name: self.fc[name + "T"].copy() for name in self.state_names}
        # (R4) output: every step, or the last state
        self.fc["A"] = self.fc["h"] if self.sequences else Ht[-1]             # (R4)
        return self.fc["A"]

    @property
    def state(self):
        """Final state(s) of the last forward pass: ``hT`` (and ``CT`` for LSTM), each (m, u)."""
        return tuple(self.fc[name + "T"] for name in self.state_names)

    def reset_state(self):
        """Forget the state carried between batches (stateful layers)."""
        self.carried = None

    def recurrent_input(self, Ht, t):
        """h_{t-1} as it enters the recurrent product (with the recurrent dropout mask)."""
        Dh = self.fc["recurrent_dropout_mask"]
        return Ht[t] if Dh is None else Ht[t] * Dh

    @staticmethod
    def keep_padded(new, old, maskT, t):
        """(R10) Padded steps keep the previous state: new = old where mask is False."""
        if maskT is not None:
            np.copyto(new, old, where=~maskT[t])                              # (R10)

    @staticmethod
    def split_padded(grad, maskT, t):
        """(R11) Under a mask: ``grad`` on the real rows of step t (zero on padded ones), and
        the part that a padded step hands on unchanged to step t - 1."""
        return grad * maskT[t], grad * ~maskT[t]                               # (R11)

    # ------------------------------------------------------------------ backward
    def backward(self, dA, dhT=None, **state_grads):
        """Gradient to the input from dA = dL/d(output).

        ``dhT`` (m, u), and for a layer with more states (LSTM: ``dCT``) one such keyword per
        state, are gradients with respect to the final states from a consumer of
        ``layer.state``, e.g. a decoder that started from them (encoder-decoder): they enter the
        last step as the "future" gradient. The cell reads them from ``bc``.
        """
        m, s, e, u, G = self.d["m"], self.d["s"], self.d["e"], self.d["u"], self.gates
        expected = self.fs["A"]
        if dA is None:
            dA = np.zeros(expected, dtype=self.dtype)
        if dA.shape != expected:
            raise ValueError(f"{self.label}: backward expected dA of shape {expected}, got {dA.shape}")
        allowed = {f"d{name}T" for name in self.state_names if name != "h"}
        unknown = sorted(set(state_grads) - allowed)
        if unknown:
            raise TypeError(f"{self.label}: unknown backward arguments {unknown}; final-state "
                            f"gradients are {sorted(allowed | {'dhT'})}")
        for name, grad in (("dhT", dhT), *sorted(state_grads.items())):
            if grad is not None and np.shape(grad) != (m, u):
                raise ValueError(f"{self.label}: {name} must have shape (m, u) = {(m, u)}, "
                                 f"got {np.shape(grad)}")
        if not self.backward_ready:
            raise RuntimeError(f"{self.label}: backward needs a new, complete forward pass (the "
                               f"last forward pass failed, or lean=True and the last backward "
                               f"overwrote the gate caches with gradients)")
        self.bc["dA"] = dA
        for name in sorted(allowed):
            self.bc[name] = state_grads.get(name)
        # (R5) gradient arriving from the output at each step (zero except the last when
        # sequences=False), plus the gradient of the final state from a consumer of the state
        if self.sequences:
            dAt = batch_major(dA)                                             # (R5)
            if dhT is not None:
                dAt = dAt.copy()
                dAt[-1] += dhT                                                # (R5)
        else:
            # only the last step receives a gradient: one shared zero block for the others
            last = dA if dhT is None else dA + dhT                            # (R5)
            dAt = [np.zeros((m, u), dtype=self.dtype)] * (s - 1) + [last]     # (R5)
        # lean: dz_t overwrites the gate activations of step t (backward_chunks)
        dZt = self.fc["_Zt"] if self.lean else self.cache(self.bc, "_dZt", (s, m, G * u))
        if self.lean:    # dh_t is read only in step t: every step writes the same (m, u) block
            block = self.cache(self.bc, "_dh", (m, u))
            dHt = np.lib.stride_tricks.as_strided(block, (s, m, u), (0, *block.strides))
        else:
            dHt = self.cache(self.bc, "_dHt", (s, m, u))
        # V^T as a contiguous copy, once per pass, read in order by every step's dz V^T
        # (bench/README.md, "Measured choices": dz_t V^T)
        self.bc["_VT"] = np.ascontiguousarray(self.p["V"].T)
        self.backward_steps(dAt, dZt, dHt, self.fc["_maskT"])     # cell-specific (reverse loop)
        if self.lean:
            for key in self.lean_spent:
                self.fc[key] = None
            self.backward_ready = False
        self.bc["dh"] = None if self.lean else batch_major(dHt)
        self.bc["dZ"] = batch_major(dZt)
        for k, name in enumerate(self.gate_names):      # one view of dZ per gate
            self.bc["d" + name] = self.bc["dZ"][:, :, k * u:(k + 1) * u]
        # (R6) gradient to the previous layer: one (s*m, G*u) @ (G*u, e) product (skipped for
        # the model's first layer, whose input needs no gradient)
        if not self.input_gradient:
            self.bc["dX"] = None
            return None
        dXt = self.cache(self.bc, "_dXt", (s, m, e))
        np.matmul(dZt.reshape(s * m, G * u), self.p["U"].T, out=dXt.reshape(s * m, e))  # (R6)
        Dx = self.fc["dropout_mask"]
        if Dx is not None:
            dXt *= Dx                                                         # (R6)
        self.bc["dX"] = batch_major(dXt)
        return self.bc["dX"]

    def fused_gates(self, acts):
        """:class:`GateActivations` of ``acts`` (one activation per gate block of width u), built
        again only when the unit count, the dtype or an activation object changes."""
        key = (self.d["u"], self.dtype, *map(id, acts))
        if getattr(self, "_fused_gates", (None,))[0] != key:
            self._fused_gates = (key, GateActivations(acts, self.d["u"], self.dtype))
        return self._fused_gates[1]

    def backward_chunks(self, bytes_per_step, *spent):
        """Slices of steps for the backward loop, last steps first, each holding about
        ``chunk_bytes`` of per-step arrays (all steps in one slice for small layers), with the
        chunk of each time-major forward array in ``spent``.

        A cell prepares the step-independent factors of one slice, then walks its steps: the
        factors are still in the CPU cache when the loop reads them (bench/README.md, "Measured
        choices": chunks of steps).

        ``spent`` are the forward arrays that the backward pass overwrites with gradients when
        ``lean=True``: their chunks are then copies in a reused chunk-sized scratch, taken before
        the first write (and a chunk holds at most an eighth of the steps); otherwise plain views.
        Either way step ``t`` of a chunk is ``chunk[t - steps.start]``.
        """
        s = self.d["s"]
        k = max(1, min(s, self.chunk_bytes // max(1, bytes_per_step)))
        # lean: the copies of a chunk stay under an eighth of the overwritten arrays
        # (bench/README.md, "Measured choices": lean chunk size)
        if self.lean:
            k = min(k, -(-s // 8))
        for stop in range(s, 0, -k):
            steps = slice(max(0, stop - k), stop)
            if not self.lean:
                yield steps, [a[steps] for a in spent]
                continue
            chunks = []
            for i, a in enumerate(spent):
                chunk = self.cache(self.bc, f"_lean{i}", (k,) + a.shape[1:])[:steps.stop - steps.start]
                np.copyto(chunk, a[steps])
                chunks.append(chunk)
            yield steps, chunks

    def recurrent_gradient(self, dz, VrT, out):
        """dL/dh_{t-1} = (dz Vr^T) * recurrent dropout mask, written into ``out``; ``VrT`` is
        ``Vr^T`` (the contiguous copy ``bc["_VT"]`` or a block of it)."""
        np.matmul(dz, VrT, out=out)
        Dh = self.fc["recurrent_dropout_mask"]
        if Dh is not None:
            out *= Dh
        return out

    def add_recurrent_product(self, z, Ht, t, Vr):
        """z += h_{t-1} Vr, through a reused scratch block.

        NumPy's matmul, not SciPy's BLAS gemm with beta = 1, whose separate OpenBLAS thread pool
        fights NumPy's (bench/README.md, "Measured choices": the recurrent product)."""
        z += np.matmul(self.recurrent_input(Ht, t), Vr, out=self.fc["_hV"])

    # ------------------------------------------------------------------ parameter gradients
    def recurrent_operand(self):
        """(s*m, u) left operand of dV: the previous states as they entered the recurrent product."""
        s, m, u = self.d["s"], self.d["m"], self.d["u"]
        Hp = self.fc["_Ht"][:-1]
        Dh = self.fc["recurrent_dropout_mask"]
        return (Hp if Dh is None else Hp * Dh).reshape(s * m, u)

    def input_gradients(self, dZ):
        """(R7) dU = X^T dZ and (R9) db = sum of dZ over steps and samples, as one product over
        all steps with the column of ones of (R1): [X 1]^T dZ = [dU; db] (without a bias,
        X^T dZ = dU). ``g["dU"]`` and ``g["db"]`` are the two row blocks of one buffer, reused by
        the next step (no parameter-sized allocation per step; copy g to keep it, as any cache)."""
        s, m, e = self.d["s"], self.d["m"], self.d["e"]
        k = e + 1 if self.use_bias else e            # columns of [X 1], or of X alone
        dUb = self.cache(self.bc, "_dUb", (k, dZ.shape[1]))
        np.matmul(self.fc["_Xt"].reshape(s * m, k).T, dZ, out=dUb)            # (R7), (R9)
        names = ("dU", "db") if self.use_bias else ("dU",)
        if any(getattr(self.g.get(name), "base", None) is not dUb for name in names):
            self.g["dU"] = dUb[:e]                              # new views only when replaced
            if self.use_bias:
                self.g["db"] = dUb[e:]

    def compute_gradients(self):
        s, m, u, G = self.d["s"], self.d["m"], self.d["u"], self.gates
        dZ = batch_major(self.bc["dZ"]).reshape(s * m, G * u)    # time-major: a view
        self.input_gradients(dZ)                                               # (R7), (R9)
        # (R8) dV = h_prev^T dZ_h: one product over all steps
        np.matmul(self.recurrent_operand().T, dZ,
                  out=self.cache(self.g, "dV", self.fs["V"]))                 # (R8)

    # ------------------------------------------------------------------ cell hooks
    def forward_steps(self, Zt, Ht, maskT, states):
        raise NotImplementedError

    def backward_steps(self, dAt, dZt, dHt, maskT):
        """Fill dZt[t] (and dHt[t] = dL/dh_t) for every step, last first, and bc["dh0"].

        With ``lean=True``, ``dZt`` is the gate cache itself (read the gates through
        ``backward_chunks`` before writing) and every ``dHt[t]`` is the same (m, u) block: valid
        only during step t, never scratch for other steps."""
        raise NotImplementedError

    def config(self):
        init = initializer_name(self.initializer)
        rinit = initializer_name(self.recurrent_initializer)
        return {**super().config(), "units": self.d["u"], "sequences": self.sequences,
                "initializer": init or "glorot_uniform", "recurrent_initializer": rinit or "orthogonal",
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "stateful": self.stateful, "lean": self.lean, "use_bias": self.use_bias}

    @staticmethod
    def make_activation(spec, owner):
        act = get_activation(spec, owner)
        if not act.elementwise:
            raise ValueError(f"{owner}: recurrent cells need elementwise activations, got "
                             f"{act.name!r}")
        return act
