"""What the four EpyNN examples share: EpyNN's training settings in unrolled's terms, its accuracy,
and the run of one of its experiments (train, evaluate, one row of the results table).

EpyNN's ``epynnlive`` notebooks train plain gradient descent at a constant learning rate, on the
whole training split at once unless they give a ``batch_size``. Its conventions (EpyNN 1.2.13)
change the numbers an unrolled model needs:

* EpyNN **sums** the gradients of a batch where unrolled **averages** them, and its softmax
  derivative leaves out the ``1 / T`` of a temperature ``T``: its gradients are ``b * T`` times
  unrolled's on batches of ``b`` samples, so its learning rate ``lr`` is unrolled's
  ``SGD(lr * b * T)`` (:func:`epynn_scale`);
* EpyNN's RNN layer clips its own (summed) gradients to norm 0.25 by default (its LSTM and GRU do
  not), which is the layer option ``clip_norm=0.25 / (b * T)`` on unrolled's gradients;
* EpyNN's accuracy rounds a single output and takes the argmax of several, whatever the loss
  (its MSE with a softmax output is a classifier), which :func:`accuracy` does for unrolled's
  metrics, which otherwise ask for a classification loss.

The runs are not step-for-step EpyNN's: the initial weights and the samples differ.
"""
import numpy as np

from unrolled.examples._common import percent, print_results, save_plot
from unrolled.framework.model import Model
from unrolled.framework.optimizers import SGD
from unrolled.layers import RNN

#: EpyNN's RNN layer clips its gradients to this norm (clip_gradients=True by default)
EPYNN_RNN_CLIP = 0.25


def accuracy(A, Y, task=None, mask=None):
    """EpyNN's accuracy: predicted label = rounded output (one unit) or argmax (several units)."""
    if A.shape[-1] == 1:
        return float(np.mean(np.round(A) == Y))
    return float(np.mean(np.argmax(A, axis=-1) == np.argmax(Y, axis=-1)))


def epynn_scale(batch_size, temperature=1.0):
    """How many times larger EpyNN's gradients are than unrolled's (batch sums, softmax T)."""
    return batch_size * temperature


def clip_like_epynn(layers, scale):
    """EpyNN's RNN clips its own summed gradients to norm 0.25, its other layers do not: each RNN
    gets ``clip_norm = 0.25 / scale`` on unrolled's mean gradients. Returns ``layers``."""
    for layer in layers:
        if isinstance(layer, RNN):
            layer.clip_norm = EPYNN_RNN_CLIP / scale
    return layers


def run_experiment(name, layers, ds, loss, lr, epochs, batch_size=None, temperature=1.0, seed=0,
                   verbose=1, published=None):
    """Train EpyNN's experiment ``name`` on ``ds``; returns (history, {"val": .., "test": ..}, row).

    ``lr``, ``batch_size`` and ``temperature`` (of the softmax output) are EpyNN's settings;
    ``batch_size=None`` is EpyNN's default, the whole training split as one batch. ``published``
    is EpyNN's validation accuracy for this experiment, or None when its notebook prints none.
    """
    X, Y = ds.train
    batch = len(X) if batch_size is None else batch_size
    scale = epynn_scale(batch, temperature)
    model = Model(clip_like_epynn(layers, scale), loss=loss, optimizer=SGD(lr=lr * scale), metrics=[accuracy], seed=seed,
                  name=name)
    history = model.train(X, Y, epochs=epochs, batch_size=batch, validation=(ds.val.X, ds.val.Y),
                          verbose=verbose)
    acc = {"val": model.evaluate(ds.val.X, ds.val.Y)["accuracy"],
           "test": model.evaluate(ds.test.X, ds.test.Y)["accuracy"]}
    reference = (f"EpyNN: {percent(published)}" if published is not None
                 else "EpyNN: no published number")
    row = (f"{name}, val / test", f"{percent(acc['val'])} / {percent(acc['test'])}", reference)
    return history, acc, row


def run_experiments(networks, ds, loss, published, epochs=None, seed=0, verbose=1):
    """Run every experiment of ``networks`` (name -> (layers, EpyNN settings: lr, epochs,
    batch_size, temperature)); ``epochs`` overrides each one's. Returns histories, validation and
    test accuracies by name, and the rows of the results table."""
    histories, val, test, rows = {}, {}, {}, []
    for name, (layers, settings) in networks.items():
        settings = {**settings, **({"epochs": epochs} if epochs else {})}
        histories[name], acc, row = run_experiment(name, layers, ds, loss=loss, seed=seed,
                                                   verbose=verbose, published=published[name],
                                                   **settings)
        val[name], test[name] = acc["val"], acc["test"]
        rows.append(row)
    return histories, val, test, rows


def short_name(name):
    """EpyNN's experiment name without sizes, to fit a plot title: 'RNN-10_Dense-2-softmax (..)'
    becomes 'RNN-Dense (..)'."""
    layers = name.split(" ")[0].rstrip(",")
    return "-".join(part.split("-")[0] for part in layers.split("_")) + name[len(layers):]


def report(ds, histories, val, test, rows, published, watch, plot, title,
           majority="majority class, test"):
    """Print the results beside EpyNN's, write the curves, and return ``main``'s dict."""
    base = ds.info["baseline"]["majority_accuracy"]
    print_results(rows + [(majority, percent(base), "")], watch.seconds)
    save_plot({short_name(k): h for k, h in histories.items()}, plot, title)
    return {"metrics": {"val_accuracy": val, "test_accuracy": test},
            "reference": {"epynn_val_accuracy": published, "majority_accuracy": base},
            "history": histories, "epochs": sum(h.epochs for h in histories.values()),
            "seconds": watch.seconds}
