"""The book pipeline: the runner's options, the offline chart renderer, an end-to-end build."""
from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import altair as alt
import pandas as pd
import pytest
import yaml

from lib.book import runner as book, figures
from conftest import FIXTURE_BOOK, REPO_ROOT, make_fixture_root

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------- arguments


def test_parse_value_reads_like_papermill():
    assert book.parse_value("3") == 3 and isinstance(book.parse_value("3"), int)
    assert book.parse_value("0.5") == 0.5
    assert book.parse_value("1e-5") == 1e-5
    assert book.parse_value("True") is True and book.parse_value("False") is False
    assert book.parse_value("None") is None
    assert book.parse_value("vcf") == "vcf"
    assert book.parse_value("my.vcf.gz") == "my.vcf.gz"
    assert book.parse_value("true") == "true"  # papermill only knows the Python spellings


def test_command_line_options():
    args = book.parse_args(["--profile", "smoke", "-p", "source", "vcf", "-p", "vcf_path",
                            "my.vcf.gz", "-p", "epsilon", "8", "-y", "seed: 3\nsource: sim",
                            "--chapters", "01_data", "--no-build"])
    assert args.profile == "smoke" and args.no_build and args.chapters == ["01_data"]
    assert args.builder == "html" and args.run_dir is None
    # -y first, every -p on top of it
    assert book.overrides_from(args) == {"seed": 3, "source": "vcf", "vcf_path": "my.vcf.gz",
                                         "epsilon": 8}
    assert book.parse_args([]).profile == "quick"
    with pytest.raises(SystemExit):
        book.parse_args(["--profile", "huge"])
    with pytest.raises(book.BookError, match="YAML mapping"):
        book.overrides_from(book.parse_args(["-y", "[1, 2]"]))


def test_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "lib.book", "--help"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True)
    for option in ("--profile", "--run-dir", "-p NAME VALUE", "--chapters", "--no-build", "--builder"):
        assert option in result.stdout


def test_chapters_come_from_the_toc(tmp_path):
    root = make_fixture_root(tmp_path / "root")
    assert book.toc_docnames(root) == ["book/intro", "book/charts", "book/references"]
    chapters = book.toc_chapters(root)
    assert [(c.name, c.is_notebook) for c in chapters] == [
        ("intro", False), ("charts", True), ("references", False)]
    assert [c.name for c in book.select_notebooks(chapters, None)] == ["charts"]
    for spelling in ("charts", "book/charts", "book/charts.ipynb"):
        assert [c.name for c in book.select_notebooks(chapters, [spelling])] == ["charts"]
    with pytest.raises(book.BookError, match="no such notebook chapter"):
        book.select_notebooks(chapters, ["99_missing"])


def test_repository_toc_starts_with_intro_and_runs_the_chapters_in_order():
    """The notebooks execute in toc order: each chapter after those it reads, the results
    and the record after every chapter."""
    names = book.toc_docnames(REPO_ROOT)
    assert names[0] == "book/intro"
    notebooks = [c.name for c in book.select_notebooks(book.toc_chapters(REPO_ROOT), None)]
    assert notebooks == sorted(notebooks) and notebooks[0] == "01_data"
    assert notebooks[-2:] == ["07_results", "08_record"]


def test_toc_entry_without_a_file_is_an_error(tmp_path):
    root = make_fixture_root(tmp_path / "root")
    (root / "book" / "charts.ipynb").unlink()
    with pytest.raises(book.BookError, match="book/charts"):
        book.toc_chapters(root)


def test_parameters_go_only_where_declared(tmp_path):
    root = make_fixture_root(tmp_path / "root")
    # a second notebook that declares only `profile`
    (root / "book" / "other.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "p",
                   "metadata": {"tags": ["parameters"]}, "outputs": [],
                   "source": "profile = 'smoke'\nwidth = 3"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    notebooks = [book.Chapter("book/charts", root / "book" / "charts.ipynb"),
                 book.Chapter("book/other", root / "book" / "other.ipynb")]
    plan = book.plan_parameters(notebooks, {"profile": "smoke", "run_dir": "r"},
                                {"n_points": 5, "width": 4})
    assert plan == {"charts": {"profile": "smoke", "run_dir": "r", "n_points": 5},
                    "other": {"profile": "smoke", "width": 4}}


def test_unknown_parameter_is_an_error(tmp_path):
    root = make_fixture_root(tmp_path / "root")
    notebooks = book.select_notebooks(book.toc_chapters(root), None)
    with pytest.raises(book.BookError, match=r"\['epsilonn'\] are declared by no chapter.*n_points"):
        book.plan_parameters(notebooks, {"profile": "smoke"}, {"epsilonn": 3})
    with pytest.raises(book.BookError, match="--profile"):
        book.plan_parameters(notebooks, {"profile": "smoke"}, {"profile": "full"})
    # main() reports it without executing anything
    run = tmp_path / "run"
    assert book.main(["--root", str(root), "--run-dir", str(run), "-p", "epsilonn", "3"]) == 1
    assert not list((run / "notebooks").glob("*.ipynb"))


# ---------------------------------------------------------------------------- renderer


def _chart(n: int = 10) -> alt.Chart:
    table = pd.DataFrame({"x": range(n), "y": [i % 3 for i in range(n)]})
    return alt.Chart(table, title="t").mark_point().encode(x="x", y="y")


def test_renderer_mimebundle():
    figures.enable()
    assert alt.renderers.active == figures.RENDERER_NAME
    bundle = _chart()._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    page = bundle["text/html"]
    assert "vegaEmbed(" in page and '"actions":false' in page and '"renderer":"svg"' in page
    assert "cdn" not in page.lower() and "<script src" not in page
    element_id = re.search(r'<div id="([^"]+)" class="book-chart"', page).group(1)
    assert f'getElementById("{element_id}")' in page
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)


def test_renderer_is_deterministic():
    figures.enable()
    first = [_chart(10)._repr_mimebundle_(), _chart(10)._repr_mimebundle_(), _chart(11)._repr_mimebundle_()]
    figures.enable()
    second = [_chart(10)._repr_mimebundle_(), _chart(10)._repr_mimebundle_(), _chart(11)._repr_mimebundle_()]
    assert first == second
    ids = [re.search(r'<div id="([^"]+)"', b["text/html"]).group(1) for b in first]
    assert len(set(ids)) == 3  # the same chart twice on a page still gets two ids


def test_script_end_tag_in_data_cannot_break_out():
    figures.enable()
    table = pd.DataFrame({"x": [1], "label": ["</script><b>x</b>"]})
    page = alt.Chart(table).mark_text().encode(x="x", text="label")._repr_mimebundle_()["text/html"]
    assert page.count("</script>") == 1


def test_config_names_the_assets_the_runner_writes(tmp_path):
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    sphinx = config["sphinx"]["config"]
    assert config["execute"]["execute_notebooks"] == "off"
    assert figures.VEGA_BUNDLE in sphinx["html_js_files"]
    assert sphinx["mathjax_path"] == figures.MATHJAX_ENTRY
    assert sphinx["html_static_path"] == [book.ASSETS_DIR]
    assert "lib.book.runner" in config["sphinx"]["extra_extensions"]
    written = figures.write_static_assets(tmp_path)
    bundle = (tmp_path / figures.VEGA_BUNDLE).read_text()
    assert bundle.startswith("(function () {") and "window.vegaEmbed=" in bundle
    assert (tmp_path / figures.MATHJAX_ENTRY).is_file() and all(p.is_file() for p in written)
    assert list((tmp_path / figures.MATHJAX_DIR / "output" / "chtml" / "fonts").rglob("*.woff"))


# ---------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_fixture_book_builds(fixture_book):
    html, run = fixture_book["html"], fixture_book["run"]
    assert (html / "index.html").is_file()
    for page in ("book/intro.html", "book/charts.html", "book/references.html"):
        assert (html / page).is_file(), page
    charts = (html / "book" / "charts.html").read_text()
    assert charts.count('class="book-chart"') == 2 and charts.count("vegaEmbed(") == 2
    assert f"_static/{figures.VEGA_BUNDLE}" in charts
    assert f"_static/{figures.MATHJAX_ENTRY}" in charts
    assert "cdn.jsdelivr.net" not in charts
    assert charts.count("const THEBE_JS_URL") <= 1  # lib.book's Sphinx extension dedups it
    assert (html / "_static" / figures.VEGA_BUNDLE).stat().st_size > 100_000
    assert (html / "_static" / figures.MATHJAX_ENTRY).is_file()
    intro = (html / "book" / "intro.html").read_text()
    assert "Abadi" in intro  # citations resolved through references.bib
    # the executed notebook and its log are run artefacts
    assert (run / "notebooks" / "charts.ipynb").is_file()
    assert "Executing" in (run / "notebooks" / "charts.log").read_text()
    executed = json.loads((run / "notebooks" / "charts.ipynb").read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "n_points = 25" in "".join(injected[0]["source"])


@pytest.mark.slow
def test_same_parameters_give_identical_pages(fixture_book, tmp_path):
    root = make_fixture_root(tmp_path / "root")
    code = book.main(["--profile", "smoke", "--root", str(root), "--run-dir",
                      str(fixture_book["run"]), "--output", str(tmp_path / "out"),
                      "-p", "n_points", "25"])
    assert code == 0
    again = (tmp_path / "out" / "_build" / "html" / "book" / "charts.html").read_text()
    assert again == (fixture_book["html"] / "book" / "charts.html").read_text()


@pytest.mark.slow
def test_failing_chapter_is_named(tmp_path, capsys):
    root = make_fixture_root(tmp_path / "root")
    code = book.main(["--profile", "smoke", "--root", str(root), "--run-dir", str(tmp_path / "run"),
                      "--output", str(tmp_path / "out"), "-p", "fail", "True"])
    assert code == 1
    err = capsys.readouterr().err
    assert "chapter charts failed" in err and "asked to fail" in err
    assert not (tmp_path / "out" / "_build" / "html").exists()


@pytest.mark.slow
def test_chapter_runs_alone_with_papermill(tmp_path):
    out = tmp_path / "alone.ipynb"
    subprocess.run([sys.executable, "-m", "papermill", str(FIXTURE_BOOK / "book" / "charts.ipynb"),
                    str(out), "-p", "profile", "smoke", "--cwd", str(REPO_ROOT)],
                   check=True, capture_output=True, cwd=REPO_ROOT)
    executed = json.loads(out.read_text())
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert any("image/png" in o.get("data", {}) for o in outputs)


# ---------------------------------------------------------------------------- CI policy


def test_missing_data_fails_in_ci_and_skips_elsewhere(monkeypatch):
    from conftest import require_or_skip

    require_or_skip(True, "present")  # nothing happens
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_or_skip(False, "data missing")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="data missing"):
        require_or_skip(False, "data missing")


def test_publishing_workflow_and_citation_file():
    """The Pages workflow builds the quick book with the README's command and publishes
    the site and the run's record; CITATION.cff has what the format requires."""
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert any("make book" in step.get("run", "") and "PROFILE=quick" in step.get("run", "") for step in steps)
    uploads = [step["with"]["path"] for step in steps if "upload" in step.get("uses", "")]
    assert "_build/html" in uploads and any("manifest.json" in path for path in uploads)
    assert workflow["jobs"]["deploy"]["needs"] == "build"
    citation = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert citation["title"] and citation["message"] and citation["authors"]
    assert any("Belfiore" in str(ref["authors"]) for ref in citation["references"])


def test_tables_for_the_pdf_fit_the_page_and_escape_latex():
    from lib.book import figures

    frame = pd.DataFrame({"metric_name": ["a & b", "50%"], "sha256": ["f" * 64, "x_y"]},
                         index=pd.Index(["r1", "r2"], name="row"))
    latex = figures.latex_table(frame)
    assert "\\begin{longtable}" in latex and "\\endhead" in latex
    widths = [float(w) for w in re.findall(r"p\{\\dimexpr ([0-9.]+)\\linewidth", latex)]
    assert len(widths) == 3 and abs(sum(widths) - 1) < 0.01  # index + 2 columns share the text width
    assert "a \\& b" in latex and "50\\%" in latex and "metric\\_\\allowbreak{}name" in latex
    assert latex.count("\\allowbreak{}") >= 5  # the checksum can wrap in its column
    cut = figures.latex_table(pd.DataFrame({"x": range(10)}), max_rows=4)
    assert "6 more rows" in cut and cut.count("\\\\") == 4 + 1 + 1  # header, 4 rows, the note
    assert cut.count("{") == cut.count("}")  # the note's braces close (a long record table broke xelatex)
    assert "\\emph{6 more rows are in the HTML book and the run directory}} \\\\" in cut


def test_paper_notebook_prints_figures_and_tables_not_code(tmp_path):
    """What the PDF gets of an executed chapter: code sources removed, each chart a
    numbered figure with its title as caption, each table as LaTeX (not as math)."""
    import nbformat

    from lib.book import figures

    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x").properties(title="Two points")
    frame = pd.DataFrame({"a": [1, 2]})
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"),
                nbformat.v4.new_code_cell("chart", outputs=[nbformat.v4.new_output(
                    "display_data", data=figures.render(chart.to_dict()))]),
                nbformat.v4.new_code_cell("frame", outputs=[nbformat.v4.new_output(
                    "execute_result", data={"text/html": frame.to_html(), "text/plain": str(frame),
                                            "text/latex": figures.latex_table(frame)}, execution_count=1)]),
                nbformat.v4.new_code_cell("x = 1")]
    paper = book.paper_notebook(nb, tmp_path / "figures", "ch")
    kinds = [(c.cell_type, c.metadata.get("tags", [])[-1:] if c.cell_type == "code" else c.source[:12]) for c in paper.cells]
    assert kinds == [("markdown", "# A chapter"), ("code", ["remove-cell"]), ("markdown", "```{figure} "),
                     ("code", ["remove-cell"]), ("markdown", "```{raw} lat"), ("code", ["remove-cell"])]
    assert "Two points" in paper.cells[2].source and (tmp_path / "figures" / "ch-1.png").read_bytes()[:4] == b"\x89PNG"
    assert book.chart_caption(figures.render(chart.to_dict())["text/html"]) == "Two points"



def test_a_citation_without_a_bibliography_entry_fails_the_build(tmp_path, capfd):
    """sphinxcontrib-bibtex warns about a key missing from book/references.bib, and the
    book is built with -W: the build fails and names the key."""
    root = make_fixture_root(tmp_path / "root")
    intro = root / "book" / "intro.md"
    intro.write_text(intro.read_text() + "\nA claim {cite:p}`nosuchwork2099`.\n")
    code = book.main(["--profile", "smoke", "--root", str(root), "--run-dir", str(tmp_path / "run"),
                      "--output", str(tmp_path / "out"), "-p", "n_points", "25"])
    assert code == 1
    captured = capfd.readouterr()
    assert "nosuchwork2099" in captured.out + captured.err


def test_published_notebooks_carry_no_absolute_path_of_the_machine(tmp_path):
    """The staged notebooks name the run directory as the reader may see it: relative to the
    repository when inside it, its last component otherwise; chart images are left alone."""
    import nbformat

    from lib.core import rundir

    inside, outside = REPO_ROOT / "data" / "runs" / "quick", tmp_path / "elsewhere" / "run"
    assert rundir.shown(inside) == "data/runs/quick" and rundir.shown(outside) == "…/run"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f'run_dir = "{outside}"'),
                nbformat.v4.new_code_cell("print(run)", outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text=f"run directory: {inside}\n"),
                    nbformat.v4.new_output("display_data", data={"text/html": f"<p>{outside}/metrics</p>",
                                                                 "image/png": "iVBORw0KGgo=",
                                                                 "text/latex": figures.latex_table(pd.DataFrame(
                                                                     {"run_dir": [f"run_dir='{outside}'"]}))})])]
    published = book.publishable(nb, [outside, REPO_ROOT])
    text = json.dumps(published)
    assert str(outside) not in text and str(REPO_ROOT) not in text
    assert published.cells[0].source == 'run_dir = "…/run"'
    assert published.cells[1].outputs[0]["text"] == "run directory: data/runs/quick\n"
    assert published.cells[1].outputs[1]["data"]["text/html"] == "<p>…/run/metrics</p>"
    assert published.cells[1].outputs[1]["data"]["image/png"] == "iVBORw0KGgo="
    latex = published.cells[1].outputs[1]["data"]["text/latex"]
    assert "pytest" not in latex and figures.latex_escape("…/run") in latex  # a path in a LaTeX table too


def test_a_chapter_is_stale_when_its_source_or_the_package_changed_or_it_never_ran(tmp_path):
    """What a bare ``jupyter-book build .`` executes before building: nothing when every
    executed chapter carries the fingerprint of today's source and package; from the first
    chapter whose source changed, whose executed notebook is missing, or that was recorded
    without a fingerprint (a run made before), that chapter and every later one."""
    import nbformat

    from lib.core import rundir

    chapters, run = [], tmp_path / "run"
    (run / "notebooks").mkdir(parents=True)
    for name in ("01_a", "02_b", "03_c"):
        path = tmp_path / "book" / f"{name}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = '{name}'")]), path)
        chapters.append(book.Chapter(f"book/{name}", path))
        nbformat.write(nbformat.read(path, as_version=4), run / "notebooks" / f"{name}.ipynb")
        rundir.record_chapter(run, name, {"profile": "smoke"}, 1.0, book.fingerprint(chapters[-1]))
    pages = [book.Chapter("intro", tmp_path / "intro.md")]
    assert book.stale(pages + chapters, run) == []
    chapters[1].path.write_text(chapters[1].path.read_text().replace("02_b", "02_b changed"))
    assert book.stale(chapters, run) == chapters[1:]
    rundir.record_chapter(run, "02_b", {"profile": "smoke"}, 1.0, book.fingerprint(chapters[1]))
    assert book.stale(chapters, run) == []
    (run / "notebooks" / "03_c.ipynb").unlink()
    assert book.stale(chapters, run) == chapters[2:]
    rundir.record_chapter(run, "01_a", {"profile": "smoke"}, 1.0)  # recorded by an older runner
    assert book.stale(chapters, run) == chapters
    assert book.fingerprint(chapters[0])["lib_sha256"] == book.lib_digest() != book.lib_digest(tmp_path)
