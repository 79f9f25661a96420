"""The package has no import cycle, and ``unrolled.framework`` never imports ``unrolled.layers``.

1. Every module imports on its own in a fresh interpreter (a cycle that only bites when entered
   from one particular module fails here), and after importing a module of
   ``unrolled.framework`` no module of ``unrolled.layers`` is loaded.
2. The graph of module-level imports inside the package (read from the sources) has no cycle.
"""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "unrolled"

#: modules that run something when imported (``python -m unrolled``)
RUN_ON_IMPORT = {"unrolled.__main__"}


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}

#: Imports each module named on its command line in a forked child of an interpreter that has
#: loaded numpy, scipy and tqdm but nothing of unrolled: each child starts clean of unrolled,
#: without paying for numpy again. One JSON line per module.
PROBE = r"""
import importlib, json, os, sys, traceback
for dependency in ("numpy", "scipy", "scipy.special", "tqdm", "tqdm.auto"):
    try:
        importlib.import_module(dependency)
    except ImportError:
        pass

def probe(name):
    try:
        importlib.import_module(name)
        return {"ok": True, "loaded": sorted(m for m in sys.modules
                                             if m == "unrolled" or m.startswith("unrolled."))}
    except BaseException:
        return {"ok": False, "error": traceback.format_exc()[-2000:]}

assert not any(m.startswith("unrolled") for m in sys.modules)
for name in sys.argv[1:]:
    if not hasattr(os, "fork"):          # no fork (Windows): import in this process, one per run
        result = probe(name)
    else:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            with os.fdopen(write, "w") as out:
                out.write(json.dumps(probe(name)))
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as inp:
            text = inp.read()
        os.waitpid(pid, 0)
        result = json.loads(text) if text else {"ok": False, "error": "the child died"}
    print(json.dumps({"name": name, **result}), flush=True)
"""


def import_each_alone(names):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    if not hasattr(os, "fork"):
        runs = [[name] for name in names]
    else:
        runs = [names]
    results = {}
    for run in runs:
        proc = subprocess.run([sys.executable, "-c", PROBE, *run], cwd=str(ROOT), env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                results[row["name"]] = (0 if row["ok"] else 1, row.get("error", ""),
                                        row.get("loaded"))
    return results


@pytest.fixture(scope="module")
def imported():
    """{module: (return code, error, loaded unrolled modules)}, each module imported alone."""
    return import_each_alone(sorted(set(MODULES) - RUN_ON_IMPORT))


def test_every_module_imports_alone(imported):
    failed = {name: err for name, (code, err, _) in imported.items() if code != 0}
    assert not failed, "modules that fail to import alone:\n" + "\n".join(
        f"{name}:\n{err}" for name, err in failed.items())
    assert "unrolled.framework.model" in imported and "unrolled.layers.lstm" in imported


def test_framework_never_loads_layers(imported):
    offenders = {name: [m for m in loaded if m.startswith("unrolled.layers")]
                 for name, (code, _, loaded) in imported.items()
                 if name.startswith("unrolled.framework") and code == 0}
    offenders = {name: mods for name, mods in offenders.items() if mods}
    assert not offenders, f"framework modules that load layers when imported: {offenders}"


def test_the_probe_sees_what_a_module_loads(imported):
    # guards the check above: importing a layer does load the framework it builds on
    code, _, loaded = imported["unrolled.layers.dense"]
    assert code == 0 and "unrolled.framework.layer" in loaded


# ------------------------------------------------------------------------ static import graph
def imports_of(name, path):
    """Modules of the package that ``name`` imports at module level (not inside functions)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [target] + [f"{target}.{alias.name}" for alias in node.names]
        # a package importing its own submodules is how packages are made, not a cycle
        found.update(t for t in targets if t in MODULES and t != name
                     and not t.startswith(name + "."))
    return found


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_module_level_imports_form_no_cycle():
    graph = {name: imports_of(name, path) for name, path in MODULES.items()}
    assert graph["unrolled.layers.dense"] >= {"unrolled.framework.layer"}
    assert not cycles(graph), f"import cycles: {cycles(graph)}"


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
