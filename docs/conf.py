"""Sphinx configuration of the unrolled documentation.

Build: ``python -m sphinx -W -q -b html docs docs/_build/html`` (warnings are errors).
The pages are Markdown (MyST) so that they read as-is on GitHub; math is LaTeX between ``$``
or ``$$``, typeset to MathML when the site is built (``_ext/mathml.py``): the pages need no
script and no network.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)          # document the working tree, not an installed copy
sys.path.insert(0, os.path.join(HERE, "_ext"))

project = "unrolled"
author = "the unrolled authors"
copyright = "the unrolled authors, MIT licence"
try:
    from unrolled import __version__ as release
except Exception:                 # the docs still build if the package cannot be imported
    release = ""
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "mathml",                     # equations typeset at build time (no MathJax, no network)
    "pictures",                   # the pages' figures drawn by their own blocks at build time
]
html_math_renderer = "mathml"

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "**/README.md", "Thumbs.db", ".DS_Store"]

# --- MyST: $...$ / $$...$$ math, \begin{align} blocks, ::: fences
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# --- autodoc + napoleon (numpy-style docstrings)
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_mock_imports = ["torch", "matplotlib"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Section titles our docstrings use besides the standard numpy ones
napoleon_custom_sections = [("Shapes", "notes")]

# --- HTML
html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"unrolled {release}"
html_theme_options = {
    "description": "A white-box NumPy neural-network framework with exact backpropagation "
                   "through time",
    "fixed_sidebar": True,
}
