"""What the four EpyNN examples share: EpyNN's training settings in unrolled's terms and the run
of one of its experiments (train, evaluate, one row of the results table).

EpyNN's ``epynnlive`` notebooks train plain gradient descent at a constant learning rate, on the
whole training split at once unless they give a ``batch_size``. Its conventions (EpyNN 1.2.13)
change the numbers an unrolled model needs, which :mod:`unrolled.interop.epynn` converts
(docs/coming_from_epynn.md):

* EpyNN **sums** the gradients of a batch where unrolled **averages** them, and its softmax
  derivative leaves out the ``1 / T`` of a temperature ``T``: its learning rate ``lr`` is
  unrolled's ``SGD(lr * b * T)`` on batches of ``b`` samples (``from_epynn_settings``);
* EpyNN's RNN layer clips its own (summed) gradients to norm 0.25 by default (its LSTM and GRU do
  not), which is that layer's ``clip_norm=0.25 / (b * T)`` here (``epynn_clip_norm``);
* EpyNN's accuracy rounds a single output and takes the argmax of several, whatever the loss;
  unrolled's ``"accuracy"`` does the same for a sigmoid or softmax output under any loss.

The runs are not step-for-step EpyNN's: the initial weights and the samples differ.
"""
from unrolled.examples._common import percent, print_results, save_plot
from unrolled.framework.model import Model
from unrolled.interop.epynn import epynn_clip_norm, from_epynn_settings
from unrolled.layers import RNN


def clip_rnn_like_epynn(layers, batch_size, temperature=1.0):
    """EpyNN's RNN clips its own gradients, its other layers do not: each RNN of ``layers`` gets
    the ``clip_norm`` that does the same on unrolled's mean gradients. Returns ``layers``."""
    for layer in layers:
        if isinstance(layer, RNN):
            layer.clip_norm = epynn_clip_norm(batch_size, temperature)
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
    settings = from_epynn_settings({"learning_rate": lr, "schedule": "steady",
                                    "softmax_temperature": temperature}, batch, epochs)
    model = Model(clip_rnn_like_epynn(layers, batch, temperature), loss=loss, metrics=["accuracy"],
                  seed=seed, name=name, **settings)
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
