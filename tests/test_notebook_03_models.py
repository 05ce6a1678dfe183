"""The models chapter (book/03_models.ipynb), run after the data and tokenization chapters
with papermill in the smoke profile: its models and synthetic cohorts land in the run
directory (their training histories under diagnostics/), load back, and the constrained
cohorts are 100% valid."""
from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pysam
import pytest

from conftest import check_source_notebook, execute_chapter, glued

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "03_models.ipynb"


def test_source_notebook_has_no_outputs_and_a_parameters_cell():
    check_source_notebook(CHAPTER, {"profile", "run_dir", "seed", "base_model", "temperature", "top_k", "top_p",
                                    "text_tokenizer"})


def test_chapter_needs_the_earlier_chapters(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as info:
        execute_chapter(CHAPTER, tmp_path, tmp_path / "empty-run")
    assert "FileNotFoundError" in info.value.ename and "01_data" in info.value.evalue


def test_chapter_after_the_data_and_tokenization_chapters(tmp_path):
    from lib.runs import artefacts
    from lib.lm import models
    from lib.runs.run import Run

    run = tmp_path / "run"
    execute_chapter(ROOT / "book" / "01_data.ipynb", tmp_path, run)
    execute_chapter(ROOT / "book" / "02_tokenization.ipynb", tmp_path, run)
    nb = execute_chapter(CHAPTER, tmp_path, run)
    values = glued(nb)
    for name in ("mingpt-epsinf", "gpt2-epsinf", "mingpt-variant-epsinf", "mingpt-bpe-epsinf", "gpt2-public-base"):
        assert (run / "models" / name / "model.safetensors").exists(), name
    assert models.read_metadata(run / "models" / "mingpt-epsinf")["tokenizer"] == "record"
    assert models.read_metadata(run / "models" / "gpt2-epsinf")["tokenizer"] == "variant"
    for name in ("mingpt-epsinf", "gpt2-epsinf", "mingpt-bpe-epsinf"):  # histories are diagnostics
        assert not (run / "models" / name / "history.json").exists(), name
        assert artefacts.read_history(run, name)["privacy_note"], name
    n_sites = json.loads(Run.of(run).cohort_paths()["panel"].read_text())["n_sites"]
    assert models.read_metadata(run / "models" / "gpt2-public-base")["split"] == "public"
    model = models.load_model(run / "models" / "mingpt-epsinf")
    assert models.num_parameters(model) == int(values["mingpt_parameters"].replace(",", ""))
    n_holdout = int(values["n_holdout"])
    for name in ("mingpt-epsinf", "gpt2-epsinf", "mingpt-variant-epsinf", "mingpt-bpe-epsinf"):
        for label in (name, f"{name}-unconstrained"):
            with pysam.VariantFile(str(run / "synthetic" / f"{label}.vcf.gz")) as vcf:
                assert len(list(vcf.header.samples)) == n_holdout
                assert sum(1 for _ in vcf) == n_sites  # the public panel's sites
        summary = json.loads((run / "synthetic" / f"{name}.json").read_text())["summary"]
        # every record valid; a profile the context (1.5x the longest public one) cut short
        # is unfinished, the smoke models having trained for two epochs only
        assert summary["valid_rate"] == 1.0 and summary["valid_samples"] + summary["unfinished"] == n_holdout
    assert (run / "metrics" / "03_models.csv").exists()
    assert float(values["train_holdout_af_r"]) > 0.8
    html = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert sum("vegaEmbed" in h for h in html) >= 2  # loss curves and the AF scatter
