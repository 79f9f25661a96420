"""Pictures made while the site is built: before Sphinx reads the pages, the pages that draw
figures have their Python blocks run in order, as one script, in a fresh interpreter, and the
pictures they save replace those in docs/images/ that the page shows (``images/NAME.png``).

So what a page shows is what its code computes today. Without matplotlib (the ``plot`` extra)
the pictures already in docs/images/ are used, and the build says so.
``UNROLLED_DOCS_PICTURES=0`` skips the runs (tests/test_docs.py runs the same blocks itself).
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

from blocks import python_blocks

logger = logging.getLogger(__name__)

#: pages whose blocks save the pictures they show
PAGES = ("plots.md", "gradients_through_time.md", "attention_through_time.md")
SHOWN = re.compile(r"\]\((?:\.\./)?images/([\w.-]+\.png)\)")


def make_pictures(app):
    if os.environ.get("UNROLLED_DOCS_PICTURES") == "0":
        logger.info("pictures: not remade (UNROLLED_DOCS_PICTURES=0)")
        return
    if importlib.util.find_spec("matplotlib") is None:
        logger.info("pictures: matplotlib is not installed, the pictures in docs/images are used")
        return
    docs = Path(app.srcdir)
    root = docs.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    for page in PAGES:
        text = (docs / page).read_text(encoding="utf-8")
        script = "\n\n".join(code for _, code in python_blocks(text))
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            done = subprocess.run([sys.executable, "-c", script], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                raise ExtensionError(f"pictures: the blocks of {page} failed:\n"
                                     f"{done.stderr[-3000:]}")
            made = [name for name in SHOWN.findall(text) if (Path(work) / name).exists()]
            for name in made:
                shutil.copyfile(Path(work) / name, docs / "images" / name)
        logger.info(f"pictures: {page} drew {', '.join(made) or 'nothing'} "
                    f"({time.perf_counter() - start:.0f} s)")


def setup(app):
    app.connect("builder-inited", make_pictures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
