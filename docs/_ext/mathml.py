"""Equations typeset when the site is built: LaTeX becomes MathML, which browsers lay out natively.

The pages then need no script, no font download and no network: they read the same from
``file://`` on a train as on a web server. Conversion is done by ``latex2mathml`` (pure Python,
an 80 KB wheel); the alternative, MathJax bundled into the site, adds 2 MB (its single-file SVG
build) to 24 MB (the whole distribution) and typesets in the reader's browser. A formula
latex2mathml cannot convert stops the build with the page and the formula named.

Equation tags ``\\tag{L8}`` are taken out of the formula and set to its right, as LaTeX does.
"""
import re

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util.math import get_node_equation_number

TAG = re.compile(r"\\tag\*?\{([^{}]*)\}")


def to_mathml(latex, display):
    """MathML of ``latex`` (``display``: a block of its own) and the tags taken out of it."""
    from latex2mathml.converter import convert
    tags = TAG.findall(latex)
    body = TAG.sub("", latex).strip()
    # a display of several lines, as Sphinx's MathJax renderer reads it: lines split by \\
    if display and "\\\\" in body and "\\begin" not in body:
        body = r"\begin{aligned}" + body + r"\end{aligned}"
    return convert(body, display="block" if display else "inline"), tags


def _convert(self, node, display):
    try:
        return to_mathml(node.astext(), display)
    except Exception as error:   # latex2mathml raises many kinds; name the page and formula
        where = f"{node.source or self.builder.current_docname}:{node.line or '?'}"
        raise ExtensionError(f"{where}: cannot typeset {node.astext()!r}: "
                             f"{type(error).__name__}: {error}") from error


def visit_math(self, node):
    mathml, tags = _convert(self, node, display=False)
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate"))
    self.body.append(mathml + "".join(f"\u2003({tag})" for tag in tags) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node):
    self.body.append(self.starttag(node, "div", CLASS="math math-display notranslate"))
    parts = [part for part in node.astext().split("\n\n") if part.strip()]
    for part in parts:
        mathml, tags = _convert(self, nodes.math_block(part, part, source=node.source,
                                                       line=node.line), display=True)
        self.body.append('<div class="math-line">' + mathml)
        for tag in tags:
            self.body.append(f'<span class="eqno">({self.encode(tag)})</span>')
        self.body.append("</div>")
    if node.get("number"):
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, "Link to this equation")
        self.body.append("</span>")
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    app.add_css_file("mathml.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
