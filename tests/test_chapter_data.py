"""The data chapter (book/01_data.ipynb) executed by papermill in the smoke profile.

On the default simulated cohort and on the real 1000 Genomes panel; and a bad input
reaching the chapter stops it with the reader's clear message, not a traceback from pysam.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "01_data.ipynb"


def execute(tmp: Path, **parameters) -> tuple[nbformat.NotebookNode, Path]:
    run = tmp / "run"
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / "01_data.ipynb"
    pm.execute_notebook(str(CHAPTER), str(out), parameters={"profile": "smoke", "run_dir": str(run), **parameters},
                        cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    return nbformat.read(out, as_version=4), run


def glued(nb) -> dict[str, str]:
    """The values the chapter glued for its prose (myst-nb stores them as outputs)."""
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook", {})
            if meta.get("name"):
                values[meta["name"]] = output["data"][meta["mime_prefix"] + "text/plain"].strip("'\"")
    return values


def outputs_of_type(nb, mime: str) -> int:
    return sum(mime in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def test_source_notebook_has_no_outputs_and_a_parameters_cell():
    nb = nbformat.read(CHAPTER, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and nb.cells.index(tagged[0]) == next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    declared = set(pm.inspect_notebook(str(CHAPTER)))
    assert {"profile", "run_dir", "seed", "source", "vcf_path", "populations_path", "chromosome",
            "region", "n_sites", "common_fraction"} <= declared


def test_chapter_on_the_simulated_cohort(tmp_path):
    nb, run = execute(tmp_path)
    values = glued(nb)
    assert values["n_samples"] == "120" and values["n_sites"] == "200"  # smoke: 3 x 40 people, 200 sites
    assert 1.5 < float(values["ts_tv"]) < 2.8
    assert outputs_of_type(nb, "image/png") >= 7  # every chart also has its static image (8 with the reference)
    html = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert sum("vegaEmbed" in h for h in html) >= 7
    for name in ("cohort.vcf.gz", "cohort.vcf.gz.tbi", "populations.tsv", "splits.json", "profiles.jsonl"):
        assert (run / "cohort" / name).exists()
    splits = json.loads((run / "cohort" / "splits.json").read_text())
    assert splits["sizes"] == {"train": 72, "validation": 18, "holdout": 18, "public": 12}


def test_chapter_is_reproducible(tmp_path):
    nb1, run1 = execute(tmp_path / "a", seed=3)
    nb2, run2 = execute(tmp_path / "b", seed=3)
    assert glued(nb1) == glued(nb2)
    for name in ("cohort.vcf.gz", "splits.json", "profiles.jsonl"):
        assert (run1 / "cohort" / name).read_bytes() == (run2 / "cohort" / name).read_bytes()


def test_chapter_on_the_real_panel(tmp_path, shared_data):
    nb, run = execute(tmp_path, source="vcf", vcf_path=str(shared_data / "1000g_chr22_panel998.vcf.gz"),
                      populations_path=str(shared_data / "1000g_samples.tsv"), assembly="GRCh37")
    values = glued(nb)
    assert values["n_samples"] == "813" and values["n_sites"] == "200"
    assert values["assembly"].startswith("GRCh37")
    text = "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells for o in c.get("outputs", []))
    assert "joined ALT alleles with '/'" in text and "declares assembly=GRCh38" in text
    pops = (run / "cohort" / "populations.tsv").read_text()
    assert "AFR" in pops and "unknown" not in pops


def test_chapter_without_population_table_labels_unknown(tmp_path, shared_data):
    nb, run = execute(tmp_path, source="vcf", vcf_path=str(shared_data / "1000g_chr22_panel998.vcf.gz"),
                      assembly="GRCh37", region="22:16000000-30000000")
    assert set(line.split("\t")[1] for line in (run / "cohort" / "populations.tsv").read_text().splitlines()[1:]) == {"unknown"}
    assert glued(nb)["n_samples"] == "813"


def test_chapter_stops_with_the_readers_message(tmp_path):
    bad = tmp_path / "broken.vcf"
    bad.write_text("this is not a VCF\n")
    with pytest.raises(pm.PapermillExecutionError) as info:
        execute(tmp_path, source="vcf", vcf_path=str(bad))
    assert "VCFError" in info.value.ename and "not a VCF or BCF file" in info.value.evalue
    assert str(bad) in info.value.evalue


# ---------------------------------------------------------------------------- the built book

@pytest.fixture(scope="module")
def data_book(tmp_path_factory, shared_data):
    """The repository's book (intro, data chapter, references) run in the smoke profile on
    the real panel and built with ``jupyter-book build -W`` through the runner."""
    from lib import book

    base = tmp_path_factory.mktemp("data-book")
    code = book.main(["--profile", "smoke", "--run-dir", str(base / "run"), "--output", str(base / "out"),
                      "-p", "source", "vcf", "-p", "vcf_path", str(shared_data / "1000g_chr22_panel998.vcf.gz"),
                      "-p", "populations_path", str(shared_data / "1000g_samples.tsv"), "-p", "assembly", "GRCh37"])
    assert code == 0, "the book did not build; see the output above"
    return {"run": base / "run", "html": base / "out" / "_build" / "html"}


def test_book_builds_with_the_data_chapter(data_book):
    page = data_book["html"] / "book" / "01_data.html"
    text = page.read_text()
    assert text.count("vegaEmbed(") >= 8  # every chart is live
    assert "813" in text and "GRCh37" in text  # glued numbers reached the prose
    assert "cdn." not in text and "https://cdn" not in text
    assert (data_book["run"] / "notebooks" / "01_data.ipynb").exists()


def test_book_trains_the_private_grid(data_book):
    """Chapter 04 in the built book: a private model per (family, epsilon) with its
    privacy.json, the epsilon the accountant computed (at most the target), and a
    constrained and an unconstrained synthetic cohort per model, as large as the holdout."""
    import pysam

    from lib import privacy, profiles

    run = data_book["run"]
    n_holdout = len(json.loads((run / "cohort" / "splits.json").read_text())["holdout"])
    for family in ("mingpt", "gpt2"):
        for eps in profiles.get_profile("smoke")["dp_epsilons"]:
            name = f"{family}-eps{eps:g}"
            record = json.loads((run / "models" / name / "privacy.json").read_text())
            assert {"epsilon", "target_epsilon", "delta", "sample_rate", "noise_multiplier", "steps", "epochs",
                    "max_grad_norm", "accountant", "sampler"} <= set(record), name
            assert record["sampler"] == "poisson" and record["target_epsilon"] == eps
            assert 0 < record["epsilon"] <= eps + 1e-6
            assert record["epsilon"] == pytest.approx(privacy.compute_epsilon(
                record["sample_rate"], record["noise_multiplier"], record["steps"], record["delta"],
                record["accountant"]), rel=1e-9)
            for label in (name, f"{name}-unconstrained"):
                with pysam.VariantFile(str(run / "synthetic" / f"{label}.vcf.gz")) as vcf:
                    assert len(list(vcf.header.samples)) == n_holdout
            summary = json.loads((run / "synthetic" / f"{name}.json").read_text())["summary"]
            assert summary["valid_rate"] == 1.0
            assert record["grad_sample_mode"] == "ew"
    # trained with nn.Linear in place of Conv1D, saved as a standard transformers GPT-2
    from transformers.pytorch_utils import Conv1D

    from lib import models

    gpt2 = models.load_model(run / "models" / "gpt2-eps8")
    assert sum(isinstance(m, Conv1D) for m in gpt2.modules()) == 4 * gpt2.config.n_layer
    text = (data_book["html"] / "book" / "04_dp_training.html").read_text()
    assert text.count("vegaEmbed(") >= 5 and "privacy.json" in text and "noise / signal" in text
    assert (run / "metrics" / "04_dp_training.csv").exists() and (run / "metrics" / "04_dp_synthetic.csv").exists()
    table = pd.read_csv(run / "metrics" / "04_dp_training.csv")
    private = table["target_epsilon"].notna()
    assert (table.loc[private, "noise_to_signal"] > 0).all() and table.loc[~private, "noise_to_signal"].isna().all()


@pytest.mark.browser
@pytest.mark.parametrize("page, min_charts", [("01_data", 8), ("02_tokenization", 2), ("03_models", 2),
                                              ("04_dp_training", 5)])
def test_chapter_pages_draw_their_charts_offline(data_book, page, min_charts):
    """The built book (every chapter of _toc.yml, on the real panel): each chapter page
    draws every chart as SVG, with no console error and no request leaving the machine."""
    from browser_utils import check_page, chromium_available, serve_directory
    from conftest import require_or_skip

    require_or_skip(chromium_available(), "needs /usr/bin/chromium and playwright")
    with serve_directory(data_book["html"]) as base_url:
        report = check_page(f"{base_url}/book/{page}.html")
    assert report["chart_count"] >= min_charts
    assert report["svg_count"] == report["chart_count"], report
    assert report["console_errors"] == [], report
    assert report["failed_requests"] == [], report
    assert report["external_requests"] == [], report


@pytest.mark.slow
def test_book_builds_as_a_pdf(data_book, tmp_path, shared_data):
    """``--builder pdflatex``: xelatex through latexmk; every chart goes in as its PNG."""
    import shutil

    from conftest import require_or_skip
    from lib import book

    require_or_skip(shutil.which("xelatex") is not None and shutil.which("latexmk") is not None,
                    "needs xelatex and latexmk (apt-get install texlive-xetex texlive-latex-extra "
                    "texlive-fonts-recommended fonts-freefont-otf latexmk)")
    code = book.main(["--profile", "smoke", "--run-dir", str(data_book["run"]), "--output", str(tmp_path),
                      "--builder", "pdflatex",
                      "-p", "source", "vcf", "-p", "vcf_path", str(shared_data / "1000g_chr22_panel998.vcf.gz"),
                      "-p", "populations_path", str(shared_data / "1000g_samples.tsv"), "-p", "assembly", "GRCh37"])
    assert code == 0
    latex = tmp_path / "_build" / "latex"
    pdf = latex / "book.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 100_000
    tex = (latex / "book.tex").read_text()
    assert tex.count("\\sphinxincludegraphics") >= 8
    assert "Styler object" not in tex and "<pandas" not in tex
