"""Figures: Altair charts that are live in the HTML book, static in the PDF, and offline.

The book is read as static HTML with no network, so a chart cannot use Altair's default
renderer (it loads Vega from a CDN), nor the "inline" renderer (its template declares
top-level ``const`` names that clash with Sphinx's ``doctools.js``). This module therefore
registers its own Altair renderer, ``"book"``, whose mimebundle holds

- ``text/html``: a ``<div>`` plus a ``<script>`` that draws the chart as SVG into it by
  calling ``vegaEmbed`` -- a global defined by one JavaScript bundle (Vega, Vega-Lite,
  vega-embed, from ``vl_convert.javascript_bundle``) that the book serves from its own
  static directory. Where that global is missing (a notebook opened in Jupyter) the div
  keeps a one-line note saying so; the PNG is not repeated inside the HTML, because a
  PNG per chart would make every book page several times heavier;
- ``image/png``: the same chart rendered by vl-convert, which the PDF (LaTeX) build and
  image-only viewers use;
- ``text/plain``: a one-line description.

Same spec, same HTML: a chart's element id is a hash of its spec plus a counter that
:func:`enable` resets at the top of each notebook, so re-running a chapter with the same
parameters gives byte-identical pages.

MathJax is served locally too: :func:`write_static_assets` copies MathJax 3 (shipped by the
``django-static-mathjax`` wheel, pinned in ``requirements.lock``) next to the Vega bundle.
``_config.yml`` points Sphinx at both (``html_js_files``, ``mathjax_path``); the names it uses
are :data:`VEGA_BUNDLE` and :data:`MATHJAX_ENTRY` below.

Public API: :func:`enable` (call once at the top of a notebook), :func:`render` (the
renderer itself), :func:`write_static_assets` (called by :mod:`lib.book`), the LaTeX form of
a chapter's tables (:func:`latex_table`), and :func:`glue_numbers` (a chapter's numbers for
its prose). The charts themselves are :mod:`lib.book.charts`.
"""
from __future__ import annotations

# ======================================================================================
# Offline renderer, LaTeX tables and static assets
# ======================================================================================

import base64
import hashlib
import html
import importlib.resources
import json
import re
import shutil
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

RENDERER_NAME = "book"
#: File name of the Vega/Vega-Lite/vega-embed bundle inside the book's static directory.
VEGA_BUNDLE = "vega-embed-bundle.js"
#: Directory (inside the static directory) holding MathJax, and its entry point.
MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = f"{MATHJAX_DIR}/tex-chtml.js"
#: Options given to vegaEmbed: SVG (so tests can check a chart drew), no action menu.
EMBED_OPTIONS = {"actions": False, "renderer": "svg"}
#: Shown in a chart's div until vegaEmbed replaces it (i.e. where the bundle is absent).
NO_VEGA_NOTE = "[interactive chart: shown in the HTML book; a PNG of it is in this output's image/png]"
#: Pixel scale of the PNG (2 gives a sharp image in the PDF and on high-DPI screens).
PNG_SCALE = 2.0

_state = {"counter": 0}


def vegalite_version() -> str:
    """The Vega-Lite version (``"6.4"``) matching this Altair's schema, as vl-convert names it."""
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = vlc.get_vegalite_versions()
    if major_minor not in available:
        raise RuntimeError(
            f"Altair uses Vega-Lite {alt.SCHEMA_VERSION} but vl-convert only knows {available}; "
            "install the versions pinned in requirements.lock"
        )
    return major_minor


def enable() -> None:
    """Register and enable the ``"book"`` renderer and restart chart numbering.

    Call once at the top of every notebook, so that chart ids depend only on the charts
    (and their order) in that notebook.
    """
    _state["counter"] = 0
    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, render)
    alt.renderers.enable(RENDERER_NAME)
    _register_latex_tables()


def _register_latex_tables() -> None:
    """In a notebook kernel, give every displayed DataFrame a ``text/latex`` form
    (:func:`latex_table`) beside its HTML: the PDF build uses it, the HTML never does."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return
    shell = get_ipython()
    if shell is None:
        return
    import pandas as pd

    shell.display_formatter.formatters["text/latex"].for_type(pd.DataFrame, latex_table)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str, chunk: int = 12) -> str:
    """``text`` for LaTeX: special characters escaped, a break allowed after ``_``, ``/``,
    ``-`` and ``,`` (metric names, paths), and a long unbroken run (a checksum) given break
    points every ``chunk`` characters, so that a narrow column can wrap it."""
    def escape(piece: str) -> str:
        out = []
        for c in piece:
            out.append(_LATEX_SPECIAL.get(c, c))
            if c in "_/-,":
                out.append(r"\allowbreak{}")
        return "".join(out)

    words = []
    for word in str(text).split(" "):
        if len(word) > 2 * chunk and not any(c in word for c in "_/-,"):
            words.append(r"\allowbreak{}".join(escape(word[i:i + chunk]) for i in range(0, len(word), chunk)))
        else:
            words.append(escape(word))
    return " ".join(words)


def latex_table(frame: Any, max_rows: int = 400) -> str:
    """A DataFrame as a LaTeX ``longtable`` that fits the text width: one paragraph column
    per column (the index first when it is named or not a plain range), widths in
    proportion to each column's longest entry (within limits), small type, header repeated
    on every page. Rows past ``max_rows`` are left out and the table says so."""
    import pandas as pd

    data = frame
    if isinstance(data.columns, pd.MultiIndex):
        data = data.copy()
        data.columns = [" / ".join(str(x) for x in c if str(x)) for c in data.columns]
    show_index = data.index.name is not None or not isinstance(data.index, pd.RangeIndex)
    if show_index:
        data = data.reset_index()
    cut = len(data) > max_rows
    data = data.head(max_rows)
    header = [str(c) for c in data.columns]
    rows = [["" if (isinstance(v, float) and v != v) else (f"{v:.4g}" if isinstance(v, float) else str(v))
             for v in row] for row in data.itertuples(index=False)]
    def longest_word(text: str) -> int:  # a run longer than 24 characters is cut every 12 (latex_escape)
        return max((len(w) if len(w) <= 24 else 12 for w in re.split(r"[\s_/,-]+", text)), default=0)

    longest = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    need = [max([longest_word(h)] + [longest_word(r[i]) for r in rows]) for i, h in enumerate(header)]
    weights = [max(n + 1, 2.5 * min(m, 200) ** 0.6) for n, m in zip(need, longest)]
    total = sum(weights) or 1.0
    widths = [w / total for w in weights]
    # characters a line holds at 11pt: ~90 in \small, ~100 in \footnotesize, ~115 in
    # \scriptsize, less the space between columns
    room = total + 1.5 * len(header)
    size = "small" if room <= 78 else "footnotesize" if room <= 92 else "scriptsize"
    spec = "".join(fr">{{\raggedright\arraybackslash}}p{{\dimexpr {w:.3f}\linewidth-2\tabcolsep\relax}}"
                   for w in widths)
    line = lambda cells: " & ".join(cells) + r" \\"  # noqa: E731
    head = line([fr"\textbf{{{latex_escape(h)}}}" for h in header])
    body = "\n".join(line([latex_escape(c) for c in r]) for r in rows)
    note = (f"\n\\multicolumn{{{len(header)}}}{{l}}{{\\emph{{{len(frame) - max_rows} more rows are in the HTML book "
            "and the run directory}} \\\\" if cut else "")
    return ("{\\" + size + ("\\setlength{\\tabcolsep}{3pt}" if len(header) > 6 else "")
            + "\n\\begin{longtable}{" + spec + "}\n\\hline\n" + head + "\n\\hline\n\\endhead\n"
            + body + note + "\n\\hline\n\\end{longtable}\n}\n")


def chart_id(spec: dict[str, Any], counter: int) -> str:
    """A deterministic element id: a hash of the spec plus the chart's number in the notebook."""
    digest = hashlib.sha256(_canonical_json(spec).encode()).hexdigest()[:12]
    return f"vega-{digest}-{counter}"


def render(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    """The Altair renderer: a mimebundle with live HTML, a PNG and a text description."""
    _state["counter"] += 1
    element_id = chart_id(spec, _state["counter"])
    png = vlc.vegalite_to_png(spec, vl_version=vegalite_version(), scale=PNG_SCALE)
    png_b64 = base64.b64encode(png).decode("ascii")
    return {
        "text/html": _html(element_id, spec),
        "image/png": png_b64,
        "text/plain": f"<Altair chart {element_id}>",
    }


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _html(element_id: str, spec: dict[str, Any]) -> str:
    # "</" would end the <script> element early if it appeared inside a string of the spec.
    spec_js = _canonical_json(spec).replace("</", "<\\/")
    options_js = _canonical_json(EMBED_OPTIONS)
    return (
        f'<div id="{element_id}" class="book-chart">'
        f'<span class="book-chart-note">{html.escape(NO_VEGA_NOTE)}</span></div>\n'
        "<script>\n"
        "(function () {\n"
        f'  var el = document.getElementById("{element_id}");\n'
        '  if (!el || typeof window.vegaEmbed !== "function") { return; }\n'
        f"  var spec = {spec_js};\n"
        '  el.textContent = "";\n'
        f"  window.vegaEmbed(el, spec, {options_js}).catch(function (err) {{ console.error(err); }});\n"
        "})();\n"
        "</script>"
    )


def vega_bundle_js() -> str:
    """Vega, Vega-Lite and vega-embed in one script that defines ``window.vegaEmbed``.

    vl-convert's bundle declares its modules as top-level ``const``s; wrapped in a function
    scope they cannot clash with the globals of Sphinx's own scripts.
    """
    bundle = vlc.javascript_bundle(vl_version=vegalite_version())
    return "(function () {\n" + bundle + "\n})();\n"


def mathjax_source() -> Path:
    """The MathJax 3 ``es5`` directory shipped by the ``django-static-mathjax`` wheel."""
    try:
        root = Path(str(importlib.resources.files("mathjax"))) / "static" / "mathjax" / "es5"
    except ModuleNotFoundError as err:
        raise RuntimeError("MathJax is missing: pip install -r requirements.lock") from err
    if not (root / "tex-chtml.js").is_file():
        raise RuntimeError(f"no MathJax 3 build at {root}: pip install -r requirements.lock")
    return root


def write_static_assets(static_dir: str | Path) -> list[Path]:
    """Write the Vega bundle and a copy of MathJax under ``static_dir``; return their paths.

    Of MathJax's single-file builds only ``tex-chtml.js`` is copied (the others are large
    alternatives); the component directories stay, since MathJax loads fonts and TeX
    extensions from them on demand.
    """
    static_dir = Path(static_dir)
    static_dir.mkdir(parents=True, exist_ok=True)
    bundle = static_dir / VEGA_BUNDLE
    bundle.write_text(vega_bundle_js(), encoding="utf-8")

    source = mathjax_source()
    target = static_dir / MATHJAX_DIR
    if target.exists():
        shutil.rmtree(target)
    entry = Path(MATHJAX_ENTRY).name
    skip = {p.name for p in source.glob("*.js") if p.name != entry}
    shutil.copytree(source, target, ignore=lambda d, names: skip & set(names) if Path(d) == source else ())
    license_file = source.parent / "LICENSE"
    if license_file.is_file():
        shutil.copy2(license_file, target / "LICENSE")
    return [bundle, target / entry]


# ======================================================================================
# Numbers for the prose
# ======================================================================================


def glue_numbers(values: dict[str, Any]) -> None:
    """Glue every ``name -> value`` for the prose (myst-nb ``glue``, not displayed), so that
    a chapter's cell is one call: the numbers in the text come from the run."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)
