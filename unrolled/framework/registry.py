"""Looking things up by name: activations, losses, metrics, initializers, optimizers, schedules."""


def lookup(kind, name, registry, aliases=None, owner="model"):
    """``(key, registry[key])`` for a case-insensitive ``name`` or alias; an unknown name raises a
    ValueError naming ``owner`` and listing the valid names."""
    aliases = aliases or {}
    key = aliases.get(name.lower(), name.lower())
    if key not in registry:
        listed = f"valid names: {', '.join(sorted(registry))}"
        if aliases:
            listed += f" (aliases: {', '.join(sorted(aliases))})"
        raise ValueError(f"{owner}: unknown {kind} {name!r}; {listed}")
    return key, registry[key]
