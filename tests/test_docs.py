"""The documentation is tested like code.

1. Every ```python block of docs/**/*.md (and of README.md when it exists) runs: the blocks of
   one file run in order, in one fresh namespace, in a fresh interpreter whose working directory
   is a temporary folder. A block tagged ```python no-run, or preceded by the line
   ``<!-- no-run -->``, is skipped. Each block must finish within BLOCK_LIMIT_S seconds.
2. Every equation label used in the comments of a module, e.g. ``# (L3)``, appears as
   ``\\tag{L3}`` in the page the module points to ("Equations: docs/layers/lstm.md"); the shared
   recurrent steps (R1), (R2)... belong to docs/bptt.md. Conversely a ``\\tag`` on such a page
   must name a label that exists in the code.
3. Every docs page named in the package's source (``docs/....md``) exists, and every dataset
   loader of ``unrolled.datasets.LOADERS`` has a section in docs/datasets.md.
4. The site builds with Sphinx with warnings as errors, and no tagged equation ends up inside a
   ``split`` environment, where MathJax refuses ``\\tag`` (skipped without Sphinx).
"""
import ast
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "unrolled"
README = ROOT / "README.md"

#: documentation blocks should take well under 5 s; the limit leaves room for a busy machine
BLOCK_LIMIT_S = 20.0

# --------------------------------------------------------------------------------- code blocks
sys.path.insert(0, str(DOCS / "_ext"))
from blocks import python_blocks  # noqa: E402  (docs/_ext/blocks.py: the rule the docs build uses too)


def markdown_files():
    files = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
    if README.exists():
        files.append(README)
    return files


# One interpreter runs the blocks of every file; each file gets a fresh namespace and a fresh
# working folder, and its own captured output. Tracebacks point at the Markdown lines.
RUNNER = r"""
import contextlib, io, json, os, sys, time, traceback
spec = json.load(open(sys.argv[1]))
with open(spec["results"], "w") as results:
    for k, (path, blocks) in enumerate(spec["files"]):
        work = os.path.join(spec["work"], str(k))
        os.makedirs(work)
        os.chdir(work)
        namespace = {"__name__": "__main__"}
        out, times, failed = io.StringIO(), [], None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            for line, code in blocks:
                start = time.perf_counter()
                try:
                    exec(compile("\n" * (line - 1) + code, path, "exec"), namespace)
                except BaseException:
                    traceback.print_exc()
                    failed = line
                    break
                times.append([line, time.perf_counter() - start])
        results.write(json.dumps({"file": path, "failed_at_line": failed, "times": times,
                                  "output": out.getvalue()[-8000:]}) + "\n")
        results.flush()
"""


def _block_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    # one BLAS thread: small matrices, and machines running several test processes at once
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


def _rel(path):
    return path.relative_to(ROOT).as_posix()


FILES_WITH_CODE = [p for p in markdown_files() if python_blocks(p.read_text(encoding="utf-8"))]


def _have_sphinx():
    from importlib.util import find_spec
    return find_spec("sphinx") is not None and find_spec("myst_parser") is not None


class _Job:
    """A background process whose output goes to files (started at once, awaited later)."""

    def __init__(self, args, cwd, env, folder):
        self.folder = folder
        self.log = open(folder / "log.txt", "w")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.log.close()
        return self.proc.returncode

    def output(self, limit=6000):
        return (self.folder / "log.txt").read_text(encoding="utf-8", errors="replace")[-limit:]


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    """Runs the code blocks and the Sphinx build side by side, once for the whole module."""
    base = tmp_path_factory.mktemp("docs")
    jobs = {}
    blocks_dir = base / "blocks"
    blocks_dir.mkdir()
    spec = {"files": [[str(p), python_blocks(p.read_text(encoding="utf-8"))]
                      for p in FILES_WITH_CODE],
            "work": str(blocks_dir / "work"), "results": str(blocks_dir / "results.jsonl")}
    (blocks_dir / "spec.json").write_text(json.dumps(spec))
    jobs["blocks"] = _Job([sys.executable, "-c", RUNNER, str(blocks_dir / "spec.json")],
                          blocks_dir, _block_env(), blocks_dir)
    jobs["n_blocks"] = sum(len(b) for _, b in spec["files"])
    if _have_sphinx():
        sphinx_dir = base / "sphinx"
        sphinx_dir.mkdir()
        # the blocks that draw the pictures run beside this build already (the "blocks" job)
        jobs["sphinx"] = _Job([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                               "html", str(DOCS), str(sphinx_dir / "html")],
                              ROOT, {**os.environ, "UNROLLED_DOCS_PICTURES": "0"}, sphinx_dir)
    yield jobs
    for job in jobs.values():
        if isinstance(job, _Job) and job.proc.poll() is None:
            job.proc.kill()
            job.wait(30)


def _block_results(jobs):
    if "results" not in jobs:
        job = jobs["blocks"]
        job.wait(timeout=BLOCK_LIMIT_S * jobs["n_blocks"] + 120)
        path = job.folder / "results.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        jobs["results"] = {json.loads(line)["file"]: json.loads(line) for line in lines}
    return jobs["results"]


REQUIRES = re.compile(r"<!--\s*requires:\s*([\w, -]+?)\s*-->")


def missing_requirements(path):
    """The optional packages a page declares with ``<!-- requires: matplotlib -->`` and that are
    not installed (its blocks are then not judged: they cannot run)."""
    from importlib.util import find_spec
    names = [n.strip() for found in REQUIRES.findall(path.read_text(encoding="utf-8"))
             for n in found.split(",") if n.strip()]
    return [n for n in names if find_spec(n) is None]


@pytest.mark.parametrize("path", FILES_WITH_CODE, ids=_rel)
def test_code_blocks_run(path, background):
    missing = missing_requirements(path)
    if missing:
        pytest.skip(f"{_rel(path)} needs {', '.join(missing)} (pip install \".[plot]\")")
    result = _block_results(background).get(str(path))
    assert result is not None, (f"{_rel(path)}: the block runner stopped before this file:\n"
                                f"{background['blocks'].output()}")
    assert result["failed_at_line"] is None, (
        f"{_rel(path)}: the code block starting at line {result['failed_at_line']} failed:\n"
        f"{result['output']}")
    slow = [(line, round(t, 1)) for line, t in result["times"] if t > BLOCK_LIMIT_S]
    assert not slow, f"{_rel(path)}: blocks slower than {BLOCK_LIMIT_S} s (line, seconds): {slow}"


def test_block_parser():
    text = "\n".join([
        "```python", "a = 1", "```",
        "```python no-run", "raise SystemExit", "```",
        "<!-- no-run -->", "", "```python", "raise SystemExit", "```",
        "````markdown", "```python", "inner = 1", "```", "````",
        "- item", "  ```python", "  b = 2", "  ```",
        "```text", "c = 3", "```",
    ])
    assert python_blocks(text) == [(2, "a = 1"), (19, "b = 2")]


# ------------------------------------------------------------------------ equation labels
LABEL = re.compile(r"\(([A-Z]{1,4}\d+)\)")
TAG = re.compile(r"\\tag\{([A-Z]{1,4}\d+)\}")
PAGE = re.compile(r"docs/[\w./-]+\.md")
#: labels of these families are the shared recurrent steps, documented on one page
SHARED = {"R": "docs/bptt.md"}
#: pages that may tag equations of their own besides the code's (they build new layers in the text)
OWN_EQUATIONS = {"docs/custom_layers.md"}


def comment_labels(source):
    """Equation labels written in the comments of a Python source, e.g. ``# (L3)``."""
    labels = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            labels.update(LABEL.findall(tok.string))
    return labels


def family(label):
    return re.match(r"[A-Z]+", label).group()


def label_pages():
    """{module path: {page: sorted labels}} for every module with labelled comments.

    A module's page is the first ``docs/....md`` its module docstring names (or, failing that,
    the first one anywhere in the file); labels of a SHARED family go to that family's page.
    """
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        labels = comment_labels(source)
        if not labels:
            continue
        doc = ast.get_docstring(ast.parse(source)) or ""
        pages = PAGE.findall(doc) or PAGE.findall(source)
        wanted = {}
        for label in labels:
            page = SHARED.get(family(label), pages[0] if pages else None)
            if page is not None:
                wanted.setdefault(page, set()).add(label)
        if wanted:
            out[_rel(path)] = {page: sorted(v) for page, v in wanted.items()}
    return out


LABEL_PAGES = label_pages()


def tags_of(page):
    path = ROOT / page
    return set(TAG.findall(path.read_text(encoding="utf-8"))) if path.exists() else None


@pytest.mark.parametrize("module", sorted(LABEL_PAGES))
def test_code_labels_are_tagged_in_docs(module):
    problems = []
    for page, labels in LABEL_PAGES[module].items():
        tags = tags_of(page)
        if tags is None:
            problems.append(f"{page} does not exist (labels {labels})")
            continue
        missing = [label for label in labels if label not in tags]
        if missing:
            problems.append(f"{page} has no \\tag for {missing}")
    assert not problems, f"{module}: " + "; ".join(problems)


EQUATION_PAGES = sorted({page for pages in LABEL_PAGES.values() for page in pages}
                        - OWN_EQUATIONS)


@pytest.mark.parametrize("page", EQUATION_PAGES)
def test_docs_tags_exist_in_code(page):
    tags = tags_of(page)
    assert tags is not None, f"{page} does not exist"
    known = set()
    for pages in LABEL_PAGES.values():
        known.update(pages.get(page, ()))
    unknown = sorted(tags - known)
    assert not unknown, f"{page} tags equations that no code comment names: {unknown}"


def test_every_equation_label_belongs_to_one_page():
    """A label such as (G3) means one equation of the whole documentation, so a reader who meets
    it in a code comment finds one page: each layer family has its own letters."""
    pages = {}
    for path in sorted(DOCS.rglob("*.md")):
        if "_build" in path.parts:
            continue
        for label in TAG.findall(path.read_text(encoding="utf-8")):
            pages.setdefault(label, set()).add(_rel(path))
    shared = {label: sorted(where) for label, where in pages.items() if len(where) > 1}
    assert not shared, f"labels tagged on more than one page: {shared}"


def test_label_scan_finds_the_recurrent_steps():
    # guards the scanner itself: if it found nothing, the two tests above would pass vacuously
    assert "docs/bptt.md" in LABEL_PAGES.get("unrolled/layers/recurrent.py", {})
    assert LABEL_PAGES["unrolled/layers/lstm.py"]["docs/layers/lstm.md"][0] == "L1"
    assert {"docs/layers/dense.md", "docs/layers/rnn.md", "docs/layers/gru.md"} <= set(EQUATION_PAGES)
    assert comment_labels("x = 1  # (L3) and (R7)\n'(G1) in a string'\n") == {"L3", "R7"}


# ------------------------------------------------------------------------ referenced pages
def referenced_pages():
    refs = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for page in PAGE.findall(path.read_text(encoding="utf-8")):
            refs.setdefault(page, set()).add(_rel(path))
    return refs


REFERENCED = referenced_pages()


@pytest.mark.parametrize("page", sorted(REFERENCED))
def test_pages_referenced_from_code_exist(page):
    assert (ROOT / page).is_file(), (
        f"{page} is referenced from {sorted(REFERENCED[page])} but does not exist")


def test_every_dataset_is_documented():
    from unrolled.datasets import LOADERS
    text = (DOCS / "datasets.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#{2,4} (.+)$", text, re.M))
    missing = [name for name in LOADERS
               if not any(f"`{name}`" in heading for heading in headings)]
    assert not missing, f"docs/datasets.md has no section (a heading naming `loader`) for {missing}"


def test_every_module_is_in_the_api_reference():
    pages = [DOCS / "api.md"] + sorted((DOCS / "api").glob("*.md"))
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages if p.exists())
    documented = set(re.findall(r"\.\. automodule:: ([\w.]+)", text))
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts)
               for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    modules |= {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    # example scripts, the command line and private helpers are documented on docs/examples.md
    modules = {m for m in modules if not (m.startswith("unrolled.examples") or m in
               ("unrolled.cli", "unrolled.__main__") or m.rsplit(".", 1)[-1].startswith("_"))}
    missing = sorted(modules - documented)
    assert not missing, f"modules missing from docs/api.md, docs/api/*.md (add an automodule): {missing}"
    unknown = sorted(documented - modules)
    assert not unknown, f"docs/api/*.md documents modules that do not exist: {unknown}"


# ------------------------------------------------------------------------ sphinx build
def test_sphinx_build(background):
    if "sphinx" not in background:
        pytest.skip("sphinx and myst-parser are not installed (pip install '.[docs]')")
    job = background["sphinx"]
    assert job.wait(timeout=600) == 0, f"sphinx -W failed:\n{job.output()}"
    # Sphinx wraps a display containing "\\" in \begin{split}, where MathJax rejects \tag:
    # such equations render as an error message, silently for Sphinx
    broken = []
    html = job.folder / "html"
    for page in sorted(html.rglob("*.html")):
        for body in re.findall(r"\\begin\{split\}(.*?)\\end\{split\}",
                               page.read_text(encoding="utf-8"), re.S):
            if "\\tag" in body:
                broken.append(f"{page.relative_to(html)}: {body.strip()[:80]}")
    assert not broken, "tagged equations with a line break (use one line per tag):\n" + \
        "\n".join(broken)
