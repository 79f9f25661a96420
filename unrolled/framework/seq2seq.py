"""Encoder-decoder networks for unsynchronized sequences. Derivation: docs/seq2seq.md."""
import numpy as np

from . import checks, inputs
from ..threads import with_model_threads
from .model import Model


class Seq2Seq(Model):
    r"""Encoder-decoder (Sutskever et al. 2014; Cho et al. 2014) with teacher forcing.

    The encoder reads the source ``X (m, s_in, e)`` (or token ids ``(m, s_in)`` through an
    ``encoder_embedding``); its final state(s) become the decoder's initial state(s). The decoder
    reads the previous target token at each step (teacher forcing while training; its own previous
    prediction at inference, greedy decoding) and ``output`` (a softmax Dense) gives the
    distribution of the next token. Targets ``Y`` are integer ids ``(m, s_out)``; the loss is the
    per-token cross-entropy (``scce``).

    Steps (numbers match docs/seq2seq.md)::

        (S1) hT, CT = encoder(X)                         final states, (m, u) each
        (S2) y~_t = y_{t-1} (teacher forcing), y~_0 = start_id
        (S3) H = decoder(onehot(y~) or embedding(y~), h0=hT, C0=CT)    (m, s_out, u)
        (S4) P = output(H)                               (m, s_out, vocab)
        (S5) backward through output and decoder gives dL/dh0 (and dL/dC0) = decoder.bc["dh0"]
        (S6) encoder.backward(dL/dh0, dCT=dL/dC0): the decoder's loss reaches the encoder
             through the state hand-over and nothing else

    With ``attention=Attention(...)`` (Luong et al. 2015, as dlfs2's AttentionSeq2seq; steps
    (S7)-(S10) in docs/seq2seq.md, "With attention") the encoder returns every step (Seq2Seq sets
    its ``sequences=True``), each decoder state attends over them, and the output layer reads the
    context next to the decoder state::

        (S7)  E = encoder(X) (m, s_in, u); its final state(s) still start the decoder
        (S8)  C = attention(H, K=E, mask=mask)           (m, s_out, u) contexts
        (S9)  P = output([C, H])                         concatenated (m, s_out, 2u)
        (S10) encoder.backward(attention.bc["dK"], dhT=dL/dh0): every encoder step receives
              the gradient of its context directly, besides the one through the recurrence

    Parameters
    ----------
    encoder, decoder : RNN, LSTM or GRU
        Same type and units; the encoder with ``sequences=False``, the decoder with
        ``sequences=True``.
    output : Dense
        ``Dense(vocab, activation="softmax")``.
    start_id : int
        Token fed to the decoder at its first step.
    encoder_embedding, decoder_embedding : Embedding, optional
        Without a decoder embedding the decoder reads one-hot vectors of width ``vocab``.
    attention : Attention, optional
        Luong-style attention of the decoder states over the encoder states (above); the
        encoder's padded steps (``mask``) get no weight.
    **kwargs
        Other keyword arguments as for :class:`Model` (``loss`` is always ``"scce"``).
    """

    def __init__(self, encoder, decoder, output, start_id=0, encoder_embedding=None,
                 decoder_embedding=None, metrics=("accuracy", "exact_match"), attention=None,
                 **kwargs):
        if type(encoder) is not type(decoder):
            raise TypeError(f"Seq2Seq: encoder and decoder must be the same kind of layer, got "
                            f"{type(encoder).__name__} and {type(decoder).__name__}")
        if encoder.d["u"] != decoder.d["u"]:
            raise ValueError(f"Seq2Seq: the decoder starts from the encoder's state, so both need "
                             f"the same units; got {encoder.d['u']} and {decoder.d['u']}")
        if attention is not None:
            encoder.sequences = True        # (S7) attention reads every encoder step
        elif encoder.sequences:
            raise ValueError("Seq2Seq: use an encoder with sequences=False (or give attention=)")
        if not decoder.sequences:
            raise ValueError("Seq2Seq: use a decoder with sequences=True")
        self.encoder, self.decoder, self.output = encoder, decoder, output
        self.encoder_embedding, self.decoder_embedding = encoder_embedding, decoder_embedding
        self.attention = attention
        layers = [l for l in (encoder_embedding, encoder, decoder_embedding, decoder, attention,
                              output) if l is not None]
        kwargs.pop("loss", None)
        super().__init__(layers, loss="scce", metrics=metrics, **kwargs)
        self.vocab = output.d["u"]
        start_id = checks.number("Seq2Seq", "start_id", start_id, low=0, integer=True)
        if not start_id < self.vocab:
            raise ValueError(f"Seq2Seq: start_id must lie in [0, {self.vocab - 1}], got {start_id}")
        self.start_id = int(start_id)
        self.target_length = None
        (decoder_embedding or decoder).input_gradient = False   # the decoder's inputs are data

    # ------------------------------------------------------------------ helpers
    def _run(self, layer, A, training, **kwargs):
        layer.training = training
        layer.build(A)
        return layer.forward(A, **kwargs)

    def _decoder_input(self, ids, training):
        if self.decoder_embedding is not None:
            return self._run(self.decoder_embedding, ids, training)
        onehot = np.zeros(ids.shape + (self.vocab,), dtype=self.dtype)
        np.put_along_axis(onehot, ids[..., None], 1.0, axis=-1)
        return onehot

    def _encode(self, X, training, mask):
        A = X
        if self.encoder_embedding is not None:
            A = self._run(self.encoder_embedding, A, training)
        self._run(self.encoder, A, training, **({} if mask is None else {"mask": mask}))  # (S1)
        self._keys = (self.encoder.fc["A"], mask)                                  # (S7)
        return {f"{name}0": state.copy() for name, state in
                zip(self.encoder.state_names, self.encoder.state)}

    def _output(self, H, training):
        """(S4), or with attention (S8)-(S9): the output layer reads [context, decoder state]."""
        if self.attention is None:
            return self._run(self.output, H, training)
        keys, mask = self._keys
        self.attention.training = training
        self.attention.build(H, keys)
        C = self.attention.forward(H, keys, mask=mask)                             # (S8)
        return self._run(self.output, np.concatenate([C, H], axis=-1), training)   # (S9)

    def _inputs(self, X, name):
        if self.encoder_embedding is not None:
            return inputs.check_inputs(X, name, self.dtype, integer_input=True, owner="Seq2Seq")
        return super()._inputs(X, name)

    # ------------------------------------------------------------------ passes
    def teacher_forward(self, X, Y, training=True, mask=None):
        """Outputs (m, s_out, vocab) with the decoder reading the shifted targets (S2)-(S4)."""
        states = self._encode(X, training, mask)
        prev = np.empty_like(Y)
        prev[:, 0] = self.start_id                                                  # (S2)
        prev[:, 1:] = Y[:, :-1]
        H = self._run(self.decoder, self._decoder_input(prev, training), training, **states)  # (S3)
        return self._output(H, training)                                            # (S4)

    def forward(self, X, training=False, mask=None, length=None):
        """Greedy decoding: the decoder reads its own previous prediction. (m, length, vocab)."""
        length = checks.positive_int("Seq2Seq", "length", length, none=True)
        length = self.target_length if length is None else length
        if length is None:
            raise ValueError("Seq2Seq: give the output length (train first, or pass length=)")
        states = self._encode(X, False, mask)
        m = X.shape[0]
        probs = np.empty((m, length, self.vocab), dtype=self.dtype)
        prev = np.full((m, 1), self.start_id, dtype=np.intp)
        for t in range(length):
            H = self._run(self.decoder, self._decoder_input(prev, False), False, **states)
            probs[:, t] = self._output(H, False)[:, 0]
            states = {f"{name}0": state.copy() for name, state in
                      zip(self.decoder.state_names, self.decoder.state)}
            prev = probs[:, t].argmax(axis=-1)[:, None]
        return probs

    def loss_at(self, X, Y, mask=None):
        return self.loss_value(self.teacher_forward(X, Y, True, mask), Y) + self.penalty()

    def compute_loss_and_gradients(self, X, Y, mask=None):
        A = self.teacher_forward(X, Y, True, mask)
        loss = self.loss_value(A, Y) + self.penalty()
        dH = self.output.backward(self.loss_gradient(A, Y))
        self._gradients(self.output)
        dK = None
        if self.attention is not None:                    # dH holds [dC, dH]: split it (S9)
            u = self.attention.d["e_k"]
            dH = dH[..., u:] + self.attention.backward(np.ascontiguousarray(dH[..., :u]))
            self._gradients(self.attention)
            dK = self.attention.bc["dK"]
        self.decoder.backward(dH)                                                   # (S5)
        self._gradients(self.decoder)
        if self.decoder_embedding is not None:
            self.decoder_embedding.backward(self.decoder.bc["dX"])
            self._gradients(self.decoder_embedding)
        # the decoder started from the encoder's final states: their gradients go back (S6)
        final = {"dhT": self.decoder.bc["dh0"]}
        if self.decoder.bc.get("dC0") is not None:                       # an LSTM's cell state
            final["dCT"] = self.decoder.bc["dC0"]
        if dK is None:
            dA = self.encoder.backward(final.pop("dhT"), **final)                   # (S6)
        else:
            dA = self.encoder.backward(dK, **final)                                 # (S10)
        self._gradients(self.encoder)
        if self.encoder_embedding is not None:
            self.encoder_embedding.backward(dA)
            self._gradients(self.encoder_embedding)
        return loss, A

    @staticmethod
    def _gradients(layer):
        if layer.trainable:
            layer.compute_gradients()
            layer.add_penalty_gradients()

    # ------------------------------------------------------------------ data and evaluation
    def build(self, X, Y=None):
        X = self._inputs(X, "X")
        # one sample of each: its ids checked as train would (Y may have a single row)
        Y = np.zeros((1, 1), dtype=np.intp) if Y is None else \
            self._target_ids(np.asarray(Y)[:1], X[:1])
        try:
            self.teacher_forward(X[:1], Y, training=False)
        except ValueError as err:          # quote the caller's X, not the one-sample probe
            inputs.raise_with_caller_shape(err, X[:1], X)
        return self

    def _target_ids(self, Y, X, prefix=""):
        """``Y`` checked as integer token ids ``(m, s_out)`` for the ``m`` samples of ``X``."""
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
            raise ValueError(f"Seq2Seq: {prefix}Y must be integer ids of shape (m, s_out) with "
                             f"m = {X.shape[0]}, got shape {Y.shape}")
        if not np.issubdtype(Y.dtype, np.integer):
            if not np.issubdtype(Y.dtype, np.number) or not np.all(np.mod(Y, 1) == 0):
                raise ValueError(f"Seq2Seq: {prefix}Y must hold integer token ids")
        if Y.min() < 0 or Y.max() >= self.vocab:
            raise ValueError(f"Seq2Seq: {prefix}Y ids must lie in [0, {self.vocab - 1}], got "
                             f"[{Y.min()}, {Y.max()}]")
        return Y.astype(np.intp)

    def _prepare(self, X, Y, mask, prefix=""):
        X = self._inputs(X, prefix + "X")
        Y = self._target_ids(Y, X, prefix)
        mask = self._mask(mask, X, prefix + "mask")
        if not self.built:
            self.build(X, Y)
        if self.target_length is None or not prefix:
            self.target_length = Y.shape[1]
        return X, Y, mask

    def _evaluate_batches(self, X, Y, mask, batch_size):
        """Loss with teacher forcing; metrics on greedy decoding (what inference does)."""
        batch_size = X.shape[0] if batch_size is None else batch_size
        loss_sum, n_sum, outputs = 0.0, 0, []
        for start in range(0, X.shape[0], batch_size):
            sl = slice(start, start + batch_size)
            mb = None if mask is None else mask[sl]
            A = self.teacher_forward(X[sl], Y[sl], training=False, mask=mb)
            n = A.shape[0] * A.shape[1]
            loss_sum += self.loss_value(A, Y[sl]) * n
            n_sum += n
            outputs.append(self.forward(X[sl], mask=mb, length=Y.shape[1]))
        A = np.concatenate(outputs)
        logs = {"loss": loss_sum / n_sum + self.penalty()}
        for name, fn in self.metrics.items():
            logs[name] = fn(A, Y, task=self.task)
        return logs

    @with_model_threads
    def predict(self, X, length=None, batch_size=256, mask=None):
        """Greedy-decoded output distributions (m, length, vocab)."""
        length = checks.positive_int("Seq2Seq.predict", "length", length, none=True)
        batch_size = checks.positive_int("Seq2Seq.predict", "batch_size", batch_size)
        X = self._inputs(X, "X")
        mask = self._mask(mask, X, "mask")
        return np.concatenate([self.forward(X[i:i + batch_size], length=length,
                                            mask=None if mask is None else mask[i:i + batch_size])
                               for i in range(0, X.shape[0], batch_size)])

    __call__ = predict

    # ------------------------------------------------------------------ save / load
    def config(self):
        config = {k: v for k, v in super().config().items() if k != "loss"}   # always scce
        return {**config, "start_id": self.start_id, "target_length": self.target_length}

    @classmethod
    def from_config(cls, layers, components, config, optimizer=None, schedule=None):
        config = dict(config)
        target_length = config.pop("target_length", None)
        model = cls(**components, optimizer=optimizer, schedule=schedule, **config)
        model.target_length = target_length
        return model

    def build_shapes(self, input_shape):
        """Shape-only build: the encoder chain on the source shape, the decoder chain on one
        step of ids (with a decoder embedding) or one-hot vectors."""
        encoder = [l for l in (self.encoder_embedding, self.encoder) if l is not None]
        decoder = [l for l in (self.decoder_embedding, self.decoder) if l is not None]
        first = (1, 1) if self.decoder_embedding is not None else (1, 1, self.vocab)
        left = self._build_chain(encoder, input_shape) + self._build_chain(decoder, first)
        H, keys = self.decoder.fs.get("A"), self.encoder.fs.get("A")
        if self.attention is not None and not left and isinstance(keys, tuple):
            # (S8)-(S9): the attention reads decoder states over encoder states, the output
            # layer [context, state]
            self.attention.fs["K"] = (H[0],) + keys[1:]
            left = self._build_chain([self.attention], H)
            if not left:
                H = H[:-1] + (self.attention.d["e_k"] + H[-1],)
        elif self.attention is not None:
            left = left + [self.attention]
        left = left + (self._build_chain([self.output], H) if not left else [self.output])
        built = encoder + decoder + [self.attention, self.output]
        return left + [l for l in self.layers if l not in built]

    def decode(self, X, length=None, mask=None):
        """Greedy-decoded token ids (m, length)."""
        return self.predict(X, length=length, mask=mask).argmax(axis=-1)

    def alignment(self, X, length=None, mask=None):
        """Greedy-decoded ids ``(m, length)`` and the attention weights that produced them,
        ``(m, length, s_in)``: row t says which source steps output step t read. (The decoder
        fed its own predictions is the decoder forced with them: one teacher-forced pass on the
        decoded ids gives every step's weights at once.)"""
        if self.attention is None:
            raise ValueError("Seq2Seq: alignment needs a model built with attention=")
        X = self._inputs(X, "X")
        ids = self.decode(X, length=length, mask=mask)
        self.teacher_forward(X, ids, training=False, mask=mask)
        return ids, self.attention.fc["weights"].copy()
