"""The whole book (every chapter of ``_toc.yml``) run in the smoke profile on the real 1000
Genomes panel committed in ``data/1000g/`` and built with ``jupyter-book build -W`` through
the runner, once per test session: its charts, its private models and what they may
release, its tables and record, reproducibility, every page offline, and the PDF."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from conftest import REAL_POPULATIONS, REAL_VCF
from lib.book import runner as book
from lib.core import rundir
from lib.evaluation import evidence
from lib.runs.run import Run

ROOT = Path(__file__).resolve().parent.parent
#: The book's data parameters on the committed real panel, as a user types them (paths
#: relative to the repository, the runner's working directory).
REAL_PANEL_ARGS = ["-p", "source", "vcf", "-p", "vcf_path", str(REAL_VCF.relative_to(ROOT)),
                   "-p", "populations_path", str(REAL_POPULATIONS.relative_to(ROOT)), "-p", "assembly", "GRCh37"]


# ---------------------------------------------------------------------------- the built book

#: The whole smoke book runs in the setup of the first test that needs it, and that setup
#: counts against the test's timeout (pyproject's 900 s): about 12 minutes on 2 free cores,
#: more on a shared machine. The tests that use it get a longer limit.
book_timeout = pytest.mark.timeout(2400)


@pytest.fixture(scope="module")
def data_book(tmp_path_factory, real_data):
    """The repository's book (every chapter of _toc.yml) run in the smoke profile on the
    committed real panel and built with ``jupyter-book build -W`` through the runner."""
    base = tmp_path_factory.mktemp("data-book")
    code = book.main(["--profile", "smoke", "--run-dir", str(base / "run"), "--output", str(base / "out"),
                      *REAL_PANEL_ARGS])
    assert code == 0, "the book did not build; see the output above"
    return {"run": base / "run", "html": base / "out" / "_build" / "html"}


@book_timeout
def test_a_bare_jupyter_book_build_gives_the_runners_site(data_book, tmp_path):
    """``jupyter-book build .`` from the repository, pointed at the smoke run
    (``BOOK_PROFILE``, ``BOOK_RUN_DIR``): every chapter is current, so nothing is executed
    again; the site it builds has every chapter page with the outputs and charts of the
    runner's site, and no absolute path of this machine."""
    import os
    import subprocess
    import sys

    executed = {p.name: p.stat().st_mtime_ns for p in (data_book["run"] / "notebooks").glob("*.ipynb")}
    env = {**os.environ, book.PROFILE_ENV: "smoke", book.RUN_DIR_ENV: str(data_book["run"])}
    done = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "--path-output",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "missing or stale" not in done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (data_book["run"] / "notebooks").glob("*.ipynb")} == executed
    site = tmp_path / "_build" / "html"
    assert (site / "_static" / "vega-embed-bundle.js").is_file()
    for chapter in book.toc_chapters():
        if not chapter.is_notebook:
            continue
        bare = (site / f"{chapter.docname}.html").read_text()
        runner = (data_book["html"] / f"{chapter.docname}.html").read_text()
        assert bare.count("vegaEmbed(") == runner.count("vegaEmbed(") >= MIN_CHARTS[chapter.name], chapter.name
        text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)) for page in (bare, runner)]
        assert text[0] == text[1], chapter.name
        assert str(data_book["run"].resolve()) not in bare and str(ROOT) not in bare


@book_timeout
def test_a_bare_pdf_build_is_the_paper_with_its_commit(data_book, tmp_path):
    """``jupyter-book build . --builder pdflatex`` on the smoke run: the PDF of the staged
    paper form, the commit on its title page, no absolute path of this machine."""
    import os
    import shutil
    import subprocess
    import sys

    from pypdf import PdfReader

    from conftest import require_or_skip

    require_or_skip(shutil.which("xelatex") is not None and shutil.which("latexmk") is not None,
                    "needs xelatex and latexmk")
    env = {**os.environ, book.PROFILE_ENV: "smoke", book.RUN_DIR_ENV: str(data_book["run"])}
    done = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "--builder", "pdflatex",
                           "--path-output", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "missing or stale" not in done.stderr
    flat = "".join("".join((page.extract_text() or "").split())
                   for page in PdfReader(tmp_path / "_build" / "latex" / "book.pdf").pages)
    assert "Commit" + rundir.code_version()["commit"][:12] in flat
    assert str(data_book["run"].resolve()) not in flat and str(ROOT) not in flat


@book_timeout
def test_no_page_carries_an_absolute_path_of_the_building_machine(data_book):
    """The run directory (outside the repository here) and the repository appear in no page
    of the site, not even in papermill's injected parameters: pages name ``…/run``."""
    absolute = [str(data_book["run"].resolve()), str(ROOT)]
    pages = sorted(data_book["html"].rglob("*.html"))
    assert len(pages) >= len(book.toc_chapters())
    leaks = [f"{page.name}: {path}" for page in pages for path in absolute if path in page.read_text()]
    assert leaks == []
    assert "…/run" in (data_book["html"] / "book" / "01_data.html").read_text()


@book_timeout
def test_book_builds_with_the_data_chapter(data_book):
    page = data_book["html"] / "book" / "01_data.html"
    text = page.read_text()
    assert text.count("vegaEmbed(") >= 8  # every chart is live
    assert "813" in text and "GRCh37" in text  # glued numbers reached the prose
    assert "cdn." not in text and "https://cdn" not in text
    for chapter in book.toc_chapters():
        if chapter.is_notebook:
            assert (data_book["run"] / "notebooks" / f"{chapter.name}.ipynb").exists(), chapter.name
    # every glued value reached its page: no role is left as typed text (a role wrapped in
    # a code literal, `{glue:text}`name``, renders as the role's own source)
    for html in sorted((data_book["html"] / "book").glob("*.html")):
        assert "{glue:" not in html.read_text(), f"{html.name} shows an unrendered glue role"


@book_timeout
def test_book_trains_the_private_grid(data_book):
    """Chapter 04 in the built book: a private model per (family, epsilon) with its
    privacy.json, the epsilon the accountant computed (at most the target), and a
    constrained and an unconstrained synthetic cohort per model, as large as the holdout.
    What a model directory holds is what a run may release: no training history (it is a
    diagnostic computed on the members, kept in diagnostics/) and no data checksums."""
    import pysam

    from lib.dp import privacy
    from lib.core import profiles

    run = data_book["run"]
    n_holdout = len(json.loads((run / "cohort" / "splits.json").read_text())["holdout"])

    def check_released(name: str) -> dict:
        directory = run / "models" / name
        assert (directory / "model.safetensors").exists(), name
        assert not (directory / "history.json").exists(), name
        history = json.loads((run / "diagnostics" / name / "history.json").read_text())
        assert "diagnostic outside the privacy guarantee" in history["privacy_note"], name
        metadata = json.loads((directory / "metadata.json").read_text())
        assert not {"profiles_sha256", "splits_sha256"} & set(metadata), name
        for label in (name, f"{name}-unconstrained"):
            with pysam.VariantFile(str(run / "synthetic" / f"{label}.vcf.gz")) as vcf:
                assert len(list(vcf.header.samples)) == n_holdout, label
        return json.loads((directory / "privacy.json").read_text())

    for family in ("mingpt", "gpt2"):
        for eps in profiles.get_profile("smoke")["dp_epsilons"]:
            name = f"{family}-eps{eps:g}"
            record = check_released(name)
            assert {"epsilon", "target_epsilon", "delta", "sample_rate", "noise_multiplier", "steps", "epochs",
                    "max_grad_norm", "accountant", "sampler", "secure_mode", "rank"} <= set(record), name
            assert record["sampler"] == "poisson" and record["target_epsilon"] == eps
            assert record["secure_mode"] is False and record["rank"] == 0 and record["seed"] is not None
            assert 0 < record["epsilon"] <= eps + 1e-6
            assert record["epsilon"] == pytest.approx(privacy.compute_epsilon(
                record["sample_rate"], record["noise_multiplier"], record["steps"], record["delta"],
                record["accountant"]), rel=1e-9)
            summary = json.loads((run / "synthetic" / f"{name}.json").read_text())["summary"]
            assert summary["valid_rate"] == 1.0
            assert record["grad_sample_mode"] == "ew"
    # the non-private models of chapter 03 keep the same boundary
    for family in ("mingpt", "gpt2"):
        assert not (run / "models" / f"{family}-epsinf" / "history.json").exists()
        assert (run / "diagnostics" / f"{family}-epsinf" / "history.json").exists()
    # GPT-2 through dp-transformers at epsilon 8, beside the Opacus path
    record = check_released("gpt2-dptransformers-eps8")
    assert 0 < record["epsilon"] <= 8 + 1e-6 and record["target_epsilon"] == 8
    # trained with nn.Linear in place of Conv1D, saved as a standard transformers GPT-2
    from transformers.pytorch_utils import Conv1D

    from lib.lm import models

    gpt2 = models.load_model(run / "models" / "gpt2-eps8")
    assert sum(isinstance(m, Conv1D) for m in gpt2.modules()) == 4 * gpt2.config.n_layer
    text = (data_book["html"] / "book" / "04_dp_training.html").read_text()
    assert text.count("vegaEmbed(") >= 5 and "privacy.json" in text and "noise / signal" in text
    assert (run / "metrics" / "04_dp_training.csv").exists() and (run / "metrics" / "04_dp_synthetic.csv").exists()
    table = pd.read_csv(run / "metrics" / "04_dp_training.csv")
    private = table["target_epsilon"].notna()
    assert (table.loc[private, "noise_to_signal"] > 0).all()
    clip_only = table["model"].str.contains("-cliponly-")
    n_seeds = profiles.get_profile("smoke")["n_seeds"]
    assert clip_only.sum() == 2 * n_seeds and (table.loc[clip_only, "noise_to_signal"] == 0).all()  # no noise
    # every setting of the grid, both families at every epsilon, is trained once per training seed,
    # each seed with its own random seed, and writes its constrained cohort
    assert sorted(table.groupby(["family", "epsilon"])["seed"].nunique().unique()) == [n_seeds]
    for name in table["model"]:
        assert (run / "synthetic" / f"{name}.vcf.gz").exists(), name
        first = "-seed" not in name
        assert (run / "synthetic" / f"{name}-unconstrained.vcf.gz").exists() == first, name
    seeds = {json.loads((run / "models" / name / "metadata.json").read_text())["seed"]
             for name in ("mingpt-eps8", "mingpt-eps8-seed1")}
    assert len(seeds) == 2  # two draws of training, not one model twice
    assert table.loc[~private & ~clip_only, "noise_to_signal"].isna().all()
    for mechanism in ("sites", "mst"):  # the private baselines: a privacy.json and a cohort, no model
        for eps in profiles.get_profile("smoke")["dp_epsilons"]:
            name = f"{mechanism}-eps{eps:g}"
            assert sorted(p.name for p in (run / "models" / name).iterdir()) == ["privacy.json"], name
            record = json.loads((run / "models" / name / "privacy.json").read_text())
            assert 0 < record["epsilon"] <= eps * 1.001 and record["neighbouring"] == "add or remove one person"
            with pysam.VariantFile(str(run / "synthetic" / f"{name}.vcf.gz")) as vcf:
                assert len(list(vcf.header.samples)) == n_holdout, name
    for family in ("mingpt", "gpt2"):  # the clip-only runs: DP-SGD's batches and clipping, no guarantee
        record = json.loads((run / "models" / f"{family}-cliponly-epsinf" / "privacy.json").read_text())
        assert record["clip_only"] is True and record["epsilon"] is None and record["noise_multiplier"] == 0


@book_timeout
def test_book_evaluates_utility_and_attacks_every_model(data_book):
    """Chapters 05 and 06 in the built book: every synthetic cohort in the utility table
    with the reference rows; every trained model attacked by every attack, members (a
    sample of the train split) against the holdout; and no private model whose held-out
    empirical epsilon bound (95%) exceeds the epsilon its accountant computed -- that
    would be a bug in the training, the accounting or the audit."""
    from lib import ch06_privacy
    from lib.runs import glossary
    from lib.core.profiles import get_profile

    run = data_book["run"]
    utility = pd.read_csv(run / "metrics" / "05_utility.csv")
    written = {p.name[: -len(".vcf.gz")] for p in (run / "synthetic").glob("*.vcf.gz")}
    assert set(utility["cohort"]) == written | set(glossary.REFERENCES)
    privacy_table = pd.read_csv(run / "metrics" / "06_privacy.csv").fillna({"variant": "", "tokenizer": ""})
    targets = set(ch06_privacy.targets(run)["model"])
    models_attacked = privacy_table[privacy_table["target_kind"] == "model"]
    assert set(models_attacked["target"]) == targets
    for target, group in models_attacked.groupby("target"):
        assert set(group["attack"]) == set(ch06_privacy.MODEL_ATTACKS) | {ch06_privacy.REPLICA, ch06_privacy.BEST}, target
    n_holdout = len(json.loads((run / "cohort" / "splits.json").read_text())["holdout"])
    assert (models_attacked["n_non_members"][models_attacked["kind"] != "replica"] == n_holdout).all()
    bounds = ch06_privacy.epsilon_table(privacy_table)
    assert len(bounds) >= 6
    assert bounds["within the guarantee"].all(), bounds
    audits = pd.read_csv(run / "metrics" / "06_audit.csv")  # the canaries' one-run audits, every family and epsilon
    n_eps = len(get_profile("smoke")["dp_epsilons"])
    baseline = audits["family"].isin(["sites", "mst"])  # and every private baseline at every private epsilon
    assert (~baseline).sum() == 2 * (n_eps + 1) and baseline.sum() == 2 * n_eps
    assert audits["within the guarantee"].all(), audits
    # the private baselines' cohorts are attacked like the models' (their cohort is all they release)
    attacked = privacy_table[privacy_table["family"].isin(["sites", "mst"])]
    assert set(attacked["target_kind"]) == {"synthetic cohort"} and len(set(attacked["target"])) == 2 * n_eps * get_profile(
        "smoke")["n_seeds"] and attacked["accountant_epsilon"].notna().all()
    # online references (smoke trains them for every model): GPT-2's start from the very
    # base its targets were fine-tuned from, whose checksum the target's metadata records
    manifest = rundir.read_manifest(run)["artefacts"]
    online = manifest[f"diagnostics/models/{ch06_privacy.online_reference_name('gpt2', 'variant', 0)}/model.safetensors"]
    target_base = json.loads((run / "models" / "gpt2-epsinf" / "metadata.json").read_text())["base_model"]
    assert online["params"]["base_sha256"] == target_base["base_sha256"]
    text = (data_book["html"] / "book" / "06_privacy.html").read_text()
    assert "replica" in text and "empirical" in text and "LiRA (online)" in text
    # nothing under models/ or tokenizers/ names a member: the online references live in diagnostics/
    from lib import ch07_results
    checked = ch07_results.boundary_check(run)
    assert checked["files"] > 50 and checked["naming"] == [], checked["naming"]
    assert any((run / "diagnostics" / "models").glob("ref-online-*")) and not any((run / "models").glob("ref-online-*"))
    # a private target's references are trained as it was: DP-SGD at its noise multiplier
    mimic = json.loads((run / "models" / "ref-mingpt-eps1-0" / "metadata.json").read_text())["privacy"]
    target = json.loads((run / "models" / "mingpt-eps1" / "privacy.json").read_text())
    assert mimic["noise_multiplier"] == pytest.approx(target["noise_multiplier"]) and mimic["sampler"] == "poisson"
    # every setting of the main grid over its seeds, and the declared primary attack on each
    seeds = Run.of(run).table(ch06_privacy.SEEDS_NAME)
    primary = seeds[seeds["primary"].astype(bool) & (seeds["target_kind"] == "model")]
    assert set(primary["attack"]) == set(get_profile("smoke")["mia_primary_attack"].values())
    assert (primary[primary["setting"].isin(["mingpt-eps8", "gpt2-eps1", "mingpt-cliponly-epsinf"])]["n_seeds"]
            == get_profile("smoke")["n_seeds"]).all()


@book_timeout
def test_book_gathers_results_and_its_record(data_book):
    """The results page reads the chapters' tables back: one row per claim with a computed
    verdict, the headline tables, the frontier; the appendix shows the run's manifest, in
    which every chapter was recorded with its parameters and code, and every artefact's
    checksum still matches (a recorded checksum that does not is reported as such)."""
    from lib import ch07_results, ch08_record
    from lib.core.profiles import resolve

    run = data_book["run"]
    loaded = ch07_results.load_tables(run)
    claims = ch07_results.claims_table(loaded, resolve("smoke"))
    assert len(claims) == len(ch07_results.CLAIMS) and set(claims["verdict"]) <= set(evidence.VERDICTS)
    assert claims["rule"].str.len().min() > 40  # every verdict with the rule that read it
    assert not ch07_results.privacy_summary(loaded).empty and not ch07_results.utility_summary(loaded).empty
    page = (data_book["html"] / "book" / "07_results.html").read_text()
    for claim in claims.index:
        assert claim in page.replace("&#8217;", "'").replace("’", "'"), claim
    manifest = ch08_record.load_manifest(run)
    executed = [c.name for c in book.toc_chapters() if c.is_notebook]
    assert set(manifest["chapters"]) == set(executed)
    assert all(entry["code"]["commit"] for entry in manifest["chapters"].values())
    table = ch08_record.artefacts_table(run, manifest)
    assert table["matches"].all(), table[~table["matches"]]
    first = next(iter(manifest["artefacts"]))
    manifest["artefacts"][first]["sha256"] = "0" * 64
    assert not ch08_record.artefacts_table(run, manifest).loc[first, "matches"]
    assert "reproducible record" in (data_book["html"] / "book" / "08_record.html").read_text()


@book_timeout
@pytest.mark.slow
def test_two_runs_with_one_seed_give_identical_cohorts_and_tables(data_book, tmp_path):
    """Determinism: the whole book executed again into a fresh run directory, same profile,
    data and seed, gives byte-identical synthetic VCFs and identical metric tables (every
    model retrained, every cohort generated, every attack and audit run again)."""
    second = tmp_path / "run"
    code = book.main(["--profile", "smoke", "--run-dir", str(second), "--no-build", *REAL_PANEL_ARGS])
    assert code == 0
    first = data_book["run"]
    vcfs = sorted(p.name for p in (first / "synthetic").glob("*.vcf.gz"))
    assert len(vcfs) >= 10 and vcfs == sorted(p.name for p in (second / "synthetic").glob("*.vcf.gz"))
    for name in vcfs:
        assert (first / "synthetic" / name).read_bytes() == (second / "synthetic" / name).read_bytes(), name
    tables = sorted(p.name for p in (first / "metrics").glob("*.csv"))
    assert {"05_utility.csv", "06_privacy.csv", "06_audit.csv"} <= set(tables)
    for name in tables:
        assert (first / "metrics" / name).read_text() == (second / "metrics" / name).read_text(), name


#: Charts a chapter must draw at least (a floor, so a chapter that loses its charts fails);
#: a page not listed is held to the charts its executed notebook holds.
MIN_CHARTS = {"01_data": 8, "02_tokenization": 2, "03_models": 2, "04_dp_training": 5, "05_utility": 8, "06_privacy": 6,
              "07_results": 5, "08_record": 0}


def charts_in_notebook(path: Path) -> int:
    """The charts an executed notebook holds (:mod:`lib.book.figures` wraps each in a ``book-chart`` div)."""
    nb = nbformat.read(path, as_version=4)
    return sum('class="book-chart"' in o.get("data", {}).get("text/html", "")
               for c in nb.cells for o in c.get("outputs", []))


@book_timeout
@pytest.mark.browser
@pytest.mark.parametrize("where", ["server", "file"])
@pytest.mark.parametrize("chapter", book.toc_chapters(), ids=lambda c: c.name)
def test_every_page_works_offline_from_a_server_and_from_files(data_book, chapter, where):
    """Every page of _toc.yml in the built book (on the real panel), served on 127.0.0.1
    and opened from file://: each chart drawn as SVG, math rendered, no console error, no
    request leaving the machine or failing, no broken internal link or missing image."""
    from browser_utils import check_page, chromium_available, serve_directory
    from conftest import require_or_skip

    require_or_skip(chromium_available(), "needs /usr/bin/chromium and playwright")
    expected = 0
    if chapter.is_notebook:
        expected = charts_in_notebook(data_book["run"] / "notebooks" / f"{chapter.name}.ipynb")
        assert expected >= MIN_CHARTS.get(chapter.name, 1), chapter.name
    if where == "server":
        with serve_directory(data_book["html"]) as base_url:
            report = check_page(f"{base_url}/{chapter.docname}.html")
    else:
        report = check_page((data_book["html"] / f"{chapter.docname}.html").as_uri())
    assert report["chart_count"] >= expected
    assert report["svg_count"] == report["chart_count"], report
    assert report["math_count"] >= report["math_expected"], report
    assert report["console_errors"] == [], report
    assert report["failed_requests"] == [], report
    assert report["external_requests"] == [], report
    assert report["broken_links"] == [] and report["broken_images"] == [], report
    if chapter.name == "intro":
        assert report["math_count"] > 0  # the definition of differential privacy is typeset


@book_timeout
@pytest.mark.slow
def test_book_builds_as_a_pdf(data_book, tmp_path):
    """``--builder pdflatex``: xelatex through latexmk, a PDF that reads like a paper. Its
    text (pypdf) holds every page's title, every chart as a numbered figure with its title
    as caption, the claims table, the commit on the title page, and no code cell's source;
    tables come as LaTeX tables that fit the page, not as text dumps. The PDF is built from
    the smoke book's executed chapters (the execution is the HTML build's, tested there);
    only the record chapter runs again (``--chapters``), so that the build reuses the rest
    as ``make pdf`` after ``make book`` does."""
    import shutil

    from pypdf import PdfReader

    from conftest import require_or_skip
    from lib import ch07_results
    from lib.core.profiles import resolve

    require_or_skip(shutil.which("xelatex") is not None and shutil.which("latexmk") is not None,
                    "needs xelatex and latexmk (apt-get install texlive-xetex texlive-latex-extra "
                    "texlive-fonts-recommended fonts-freefont-otf latexmk)")
    code = book.main(["--profile", "smoke", "--run-dir", str(data_book["run"]), "--output", str(tmp_path),
                      "--builder", "pdflatex", "--chapters", "08_record"])
    assert code == 0
    latex = tmp_path / "_build" / "latex"
    pdf = latex / "book.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 100_000
    tex = (latex / "book.tex").read_text()
    assert "Styler object" not in tex and "<pandas" not in tex
    assert tex.count("\\begin{longtable}") >= 10  # DataFrames as tables (lib.book.figures.latex_table)
    # pypdf loses some spaces between words of this font: compare without any whitespace
    flat = "".join("".join((page.extract_text() or "").split()) for page in PdfReader(pdf).pages)
    flat = flat.replace("’", "'").replace("‘", "'")

    def squeeze(text: str) -> str:
        return "".join(text.split()).replace("’", "'")

    assert "Commit" + rundir.code_version()["commit"][:12] in flat  # the title page says which code built it
    for absolute in (str(data_book["run"].resolve()), str(ROOT)):  # no path of the building machine
        assert squeeze(absolute) not in flat and absolute not in tex
    charts, captions = 0, []
    for chapter in book.toc_chapters():
        source = chapter.path.read_text() if not chapter.is_notebook else None
        if chapter.is_notebook:
            executed = nbformat.read(data_book["run"] / "notebooks" / f"{chapter.name}.ipynb", as_version=4)
            title = next(c.source for c in executed.cells if c.cell_type == "markdown").splitlines()[0]
            for cell in executed.cells:
                for output in cell.get("outputs", []):
                    caption = book.chart_caption(output.get("data", {}).get("text/html", ""))
                    if caption:
                        charts += 1
                        captions.append(caption)
                if cell.cell_type == "code":  # no code cell's source reaches the PDF
                    for line in cell.source.splitlines():
                        line = squeeze(line)
                        if len(line) > 25 and "(" in line and not line.startswith("#"):
                            assert line not in flat, (chapter.name, line)
        else:
            title = source.splitlines()[0]
        assert squeeze(title.lstrip("# ")) in flat, title
    assert charts >= 20
    for caption in captions:
        assert f":{squeeze(caption)}" in flat, caption
    assert len(re.findall(r"Fig\.\d+\.\d+:", flat)) >= charts  # each chart a numbered figure, "Fig. 9.5: ..."
    claims = ch07_results.claims_table(ch07_results.load_tables(data_book["run"]), resolve("smoke"))
    for claim in claims.index:
        assert squeeze(" ".join(claim.split()[:4])) in flat, claim
