"""One registry of the things a model file names: layers, activations, losses, metrics,
optimizers and schedules. Built-in and user-written entries enter it the same way.

* **Layers** register themselves: every subclass of ``Layer`` enters the ``"layer"`` table under
  its class name when the class is created (``Layer.__init_subclass__``), the built-in ones when
  ``unrolled.layers`` is imported, yours when your module is. Set ``registered_name = "..."`` in
  the class body to use another name.
* **Activations, losses, metrics, optimizers, schedules** enter with the decorators
  :func:`register_activation`, :func:`register_loss`, :func:`register_metric`; the built-in
  tables (``ACTIVATIONS``, ``LOSSES``, ``METRICS``, ``OPTIMIZERS``, ``SCHEDULES``) *are* the
  registry's tables, so ``get_activation("mine")``, ``Model(loss="mine")`` and
  ``Model(metrics=["mine"])`` find a registered entry as they find a built-in one.

Loading a model file looks every name up here and only here: it never imports a module named in
the file. A class the file names but no import has registered is a clear error saying which
module to import (the file records it, for the message only).

A name clash (a second, different class under a name already taken) is refused: at once for an
explicit registration, and for an automatic one when an instance of the newcomer is saved (so a
student may define her own ``LSTM`` class to learn, and only has to rename it to save it).
Defining the same class again (same module and qualified name: a re-run notebook cell, a
reloaded module) replaces the old definition.
"""

KINDS = ("layer", "activation", "loss", "metric", "optimizer", "schedule", "model")

_TABLES = {kind: {} for kind in KINDS}
_CLASHES = {kind: {} for kind in KINDS}     # newcomer -> (name, the entry that holds the name)
_HOW = {"layer": "subclass unrolled.framework.Layer (or set registered_name = '...' in the class "
                 "body)",
        "activation": "decorate it with @unrolled.framework.registry.register_activation",
        "loss": "decorate it with @unrolled.framework.registry.register_loss",
        "metric": "decorate it with @unrolled.framework.registry.register_metric",
        "optimizer": "decorate it with @unrolled.framework.registry.register_optimizer",
        "schedule": "decorate it with @unrolled.framework.registry.register_schedule",
        "model": "subclass unrolled.framework.Model (or set registered_name = '...' in the class "
                 "body)"}


def lookup(kind, name, registry, aliases=None, owner="model"):
    """``(key, registry[key])`` for a case-insensitive ``name`` or alias; an unknown name raises a
    ValueError naming ``owner`` and listing the valid names."""
    aliases = aliases or {}
    key = aliases.get(name.lower(), name.lower())
    if key not in registry and name in registry:     # a registered name with capitals
        key = name
    if key not in registry:
        listed = f"valid names: {', '.join(sorted(registry))}"
        if aliases:
            listed += f" (aliases: {', '.join(sorted(aliases))})"
        if kind in _HOW:
            listed += (f"; one of your own must be registered ({_HOW[kind]}) and its module "
                       f"imported")
        raise ValueError(f"{owner}: unknown {kind} {name!r}; {listed}")
    return key, registry[key]


# ------------------------------------------------------------------------------------ tables
def table(kind):
    """The live ``{name: entry}`` table of ``kind`` (the same dict every lookup reads)."""
    if kind not in _TABLES:
        raise ValueError(f"registry: unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    return _TABLES[kind]


def adopt(kind, builtins):
    """Make the built-in dict ``builtins`` (e.g. ``LOSSES``) the table of ``kind``: its entries
    are registered like any other and later registrations go into that very dict."""
    current = table(kind)
    if current is builtins:
        return builtins
    for name, entry in list(builtins.items()):
        if current.get(name) is not None and not _same(current[name], entry):
            raise ValueError(_clash_message(kind, name, entry, current[name]))
    extra = {name: entry for name, entry in current.items() if name not in builtins}
    builtins.update(extra)
    _TABLES[kind] = builtins
    return builtins


def _describe(entry):
    return f"{getattr(entry, '__module__', '?')}.{getattr(entry, '__qualname__', repr(entry))}"


def _same(a, b):
    """The same definition (possibly redefined: a re-run cell, a reloaded module)."""
    return a is b or (getattr(a, "__module__", None) == getattr(b, "__module__", 0)
                      and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", 0))


def _clash_message(kind, name, newcomer, holder):
    return (f"registry: the {kind} name {name!r} of {_describe(newcomer)} is already taken by "
            f"{_describe(holder)}; rename your class or register it under another name "
            f"({_register_hint(kind)})")


def _register_hint(kind):
    if kind in ("layer", "model"):
        return "registered_name = 'my_name' in the class body"
    return f"@register_{kind}(name='my_name')"


def register(kind, entry, name=None, automatic=False):
    """Enter ``entry`` in the ``kind`` table under ``name`` and return it.

    A different entry already under ``name`` is a clash: a ValueError naming both (or, for an
    ``automatic`` registration, an error at the first save of the newcomer)."""
    name = _default_name(kind, entry) if name is None else name
    if not isinstance(name, str) or not name:
        raise ValueError(f"registry: a {kind} needs a non-empty string name, got {name!r}")
    current = table(kind)
    holder = current.get(name)
    if holder is not None and not _same(holder, entry):
        if automatic:
            _CLASHES[kind][entry] = (name, holder)
            return entry
        raise ValueError(_clash_message(kind, name, entry, holder))
    _CLASHES[kind].pop(entry, None)
    current[name] = entry
    return entry


def _default_name(kind, entry):
    if kind in ("layer", "model"):
        return entry.__dict__.get("registered_name") or entry.__name__
    if kind in ("activation", "loss", "optimizer", "schedule"):
        return getattr(entry, "name", None) or entry.__name__
    return getattr(entry, "__name__", None)


def _decorator(kind):
    def decorate(entry=None, *, name=None):
        if entry is None:                     # used as @register_xxx(name="...")
            return lambda e: register(kind, e, name)
        return register(kind, entry, name)
    decorate.__name__ = f"register_{kind}"
    decorate.__doc__ = (f"Register a {kind} (as ``@register_{kind}`` or "
                        f"``@register_{kind}(name='...')``); a name clash raises a ValueError.")
    return decorate


register_layer = _decorator("layer")
register_activation = _decorator("activation")
register_loss = _decorator("loss")
register_metric = _decorator("metric")
register_optimizer = _decorator("optimizer")
register_schedule = _decorator("schedule")


# ------------------------------------------------------------------------------------ queries
def name_of(kind, entry, where="save_model"):
    """The name under which ``entry`` (a class, or a metric function) is registered; a
    ValueError naming the class and how to register it if there is none."""
    for name, value in table(kind).items():
        if value is entry:
            return name
    if entry in _CLASHES[kind]:
        name, holder = _CLASHES[kind][entry]
        raise ValueError(f"{where}: " + _clash_message(kind, name, entry, holder)[len("registry: "):])
    raise ValueError(f"{where}: the {kind} {_describe(entry)} is not registered, so a file "
                     f"cannot name it; {_HOW[kind]}")


def get(kind, name, module=None):
    """The entry registered as ``name``; never imports anything. ``module`` (as recorded in a
    file) only helps the message say what to import."""
    entry = table(kind).get(name) if isinstance(name, str) else None
    if entry is None:
        hint = (f"import the module that defines it ({module!r}) before loading"
                if isinstance(module, str) and module else "import the module that defines it")
        known = ", ".join(sorted(table(kind)))
        raise ValueError(f"{kind} {str(name)[:60]!r} is not registered: {hint} (loading never "
                         f"imports modules itself); to register one of your own, {_HOW[kind]}. "
                         f"Registered: {known}")
    return entry
