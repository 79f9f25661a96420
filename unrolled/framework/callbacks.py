"""Callbacks: hooks into ``Model.train``.

Subclass :class:`Callback` and override any of ``on_train_begin()``, ``on_epoch_begin(epoch)``,
``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end()``. ``self.model``
is set before training starts; setting ``self.model.stop_training = True`` ends training after the
current epoch.
"""


class Callback:
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self):
        pass

    def on_epoch_begin(self, epoch):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self):
        pass


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks or ())
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"model.train: callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
            cb.set_model(model)

    def call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)
