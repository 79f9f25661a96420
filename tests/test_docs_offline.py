"""The documentation reads offline: equations are typeset when the site is built, and a real
browser with no network shows them as mathematics, never as raw LaTeX.

The browser check runs headless Chromium (Debian's ``chromium`` package) on pages opened from
``file://``, inside a network namespace with no interfaces when the machine allows one. It is
skipped without Chromium, unless ``UNROLLED_REQUIRE_BROWSER=1`` (set by CI) makes that a failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = ("layers/lstm.html", "bptt.html")           # the two pages with the most equations
RAW_TEX = re.compile(r"\\(frac|mathrm|partial|odot|sum|tag|begin|text|top|sigma|tanh)\b|\$\$")

# Appended to a copy of a built page: after layout, it writes what it measured into the DOM,
# which `chromium --dump-dom` prints.
PROBE = """
<script>
(function () {
  var maths = Array.prototype.slice.call(document.querySelectorAll("math"));
  var typeset = maths.filter(function (m) {
    var box = m.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(m).display.indexOf("math") >= 0;
  }).length;
  var prose = document.body.cloneNode(true);
  prose.querySelectorAll("pre, code, script, math, #offline-probe").forEach(function (e) { e.remove(); });
  var fetched = performance.getEntriesByType("resource").map(function (r) { return r.name; })
    .filter(function (url) { return url.indexOf("file:") !== 0; });
  var out = document.createElement("pre");
  out.id = "offline-probe";
  out.textContent = JSON.stringify({maths: maths.length, typeset: typeset,
                                    prose: prose.textContent, fetched: fetched});
  document.body.appendChild(out);
})();
</script>
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("UNROLLED_REQUIRE_BROWSER") == "1":
        pytest.fail("UNROLLED_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium)")
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def offline_command(browser, profile, url):
    """Chromium headless on ``url``, with no network: a namespace with no interfaces where the
    machine allows it, and in any case every host name unresolvable and a dead proxy."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url]
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0:
        command = [unshare, "--net"] + command
    return command


def measure(page, tmp_path):
    """What a browser with no network shows of ``page``: counts of <math> elements and of those
    laid out as mathematics, the visible prose (code excluded) and any non-file URL fetched."""
    probe = page.with_name("_offline_probe_" + page.name)     # beside it: relative links hold
    html = page.read_text(encoding="utf-8")
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        done = subprocess.run(offline_command(chromium(), tmp_path / "profile", probe.as_uri()),
                              capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink()
    found = re.search(r'<pre id="offline-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium printed no measurement for {page.name}:\n{done.stderr[-3000:]}"
    text = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    return json.loads(text.replace("&amp;", "&"))


def assert_typeset(result, name):
    assert result["maths"] > 0, f"{name}: no equation reached the page as MathML"
    assert result["typeset"] == result["maths"], \
        f"{name}: {result['maths'] - result['typeset']} of {result['maths']} equations not laid out"
    raw = sorted(set(m.group(0) for m in RAW_TEX.finditer(result["prose"])))
    assert not raw, f"{name}: raw LaTeX visible in the text: {raw}"
    assert not result["fetched"], f"{name}: fetched from the network: {result['fetched']}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("latex2mathml")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(DOCS),
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.sources.append(attrs["src"])
        if tag == "link" and attrs.get("href", "").startswith(("http:", "https:", "//")):
            self.sources.append(attrs["href"])


def test_no_page_loads_anything_from_the_network(site):
    remote = []
    for page in sorted(site.rglob("*.html")):
        parser = _Scripts()
        parser.feed(page.read_text(encoding="utf-8"))
        remote += [f"{page.relative_to(site)}: {src}" for src in parser.sources
                   if src.startswith(("http:", "https:", "//"))]
    assert not remote, "pages load from the network:\n" + "\n".join(remote)


@pytest.mark.parametrize("name", PAGES)
def test_equations_are_mathml_in_the_built_page(site, name):
    html = (site / name).read_text(encoding="utf-8")
    assert html.count("<math ") > 20
    tags = re.findall(r'<span class="eqno">\(([^)]*)\)', html)
    assert ("L8" if "lstm" in name else "R1") in tags, tags[:20]


@pytest.mark.parametrize("name", PAGES)
def test_a_browser_with_no_network_shows_typeset_equations(site, tmp_path, name):
    assert_typeset(measure(site / name, tmp_path), name)


def test_the_browser_check_sees_raw_latex(site, tmp_path):
    """The check can fail: the LSTM page with its equations left as MathJax-style TeX (what a
    page whose MathJax did not load shows) is caught."""
    page = site / "layers" / "lstm.html"
    html = page.read_text(encoding="utf-8")
    untypeset = re.sub(r"<math .*?</math>", r"$$\\frac{\\partial L}{\\partial h_t}$$", html,
                       flags=re.S)
    planted = page.with_name("planted.html")
    planted.write_text(untypeset, encoding="utf-8")
    result = measure(planted, tmp_path)
    with pytest.raises(AssertionError, match="no equation reached|raw LaTeX"):
        assert_typeset(result, "planted")
