"""The data chapter (book/01_data.ipynb) executed by papermill in the smoke profile.

The chapter runs on the default simulated cohort and on the real 1000 Genomes panel
committed in ``data/1000g/`` (its panel chosen from the public split, or the file declared
its own public site list); a bad input reaching the chapter stops it with the reader's
clear message, not a traceback from pysam. The whole book is tests/test_whole_book_smoke.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from conftest import execute_chapter, glued, outputs_of_type

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "01_data.ipynb"


def execute(tmp: Path, **parameters) -> tuple[nbformat.NotebookNode, Path]:
    """The data chapter run on a new run directory under ``tmp``: the executed notebook and the run."""
    run = tmp / "run"
    return execute_chapter(CHAPTER, tmp, run, **parameters), run


def test_source_notebook_has_no_outputs_and_a_parameters_cell():
    nb = nbformat.read(CHAPTER, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and nb.cells.index(tagged[0]) == next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    declared = set(pm.inspect_notebook(str(CHAPTER)))
    assert {"profile", "run_dir", "seed", "source", "vcf_path", "populations_path", "assembly", "panel_path",
            "chromosome", "region", "n_sites", "common_fraction", "reference_stats_path"} <= declared


def test_chapter_keeps_logic_in_lib():
    """Every step is one call into the chapter module, lib.genetics.stats or lib.book.charts."""
    nb = nbformat.read(CHAPTER, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def " not in source and "alt.Chart" not in source and "lambda" not in source
    for call in ("chapter.prepare_with(", "figures.glue_numbers(chapter.numbers(prepared))", "chapter.summary_table(",
                 "chapter.repairs_markdown(", "chapter.split_table(", "chapter.coverage_table(",
                 "chapter.example_profile(", "chapter.profile_length_table(", "chapter.written_files(",
                 "stats.compare_with_reference_file("):
        assert call in source, call
    assert "from lib import ch01_data as chapter" in source


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_chapter_on_the_simulated_cohort(tmp_path):
    nb, run = execute(tmp_path)
    values = glued(nb)
    assert values["n_samples"] == "120" and values["n_sites"] == "200"  # smoke: 3 x 40 people, 200 sites
    sizes = [values[f"n_{name}"] for name in ("train", "validation", "holdout", "public")]
    assert sizes == ["72", "18", "18", "12"]
    assert values["panel_basis"] == "the genotypes of the 12 public people"
    assert number(values["n_common"]) + number(values["n_rare"]) == 200 and number(values["n_source_sites"]) > 200
    assert values["rare_member_sites_no_public"] != "0"  # the members' rare sites no public person carries ...
    assert number(values["rare_member_sites_off_panel"]) >= number(values["rare_member_sites_no_public"])  # ... are off
    assert values["genotype_coverage"].endswith("%") and 0 < float(values["genotype_coverage"][:-1]) < 100
    assert 1.5 < float(values["ts_tv"]) < 2.8
    assert outputs_of_type(nb, "image/png") >= 7  # every chart also has its static image (8 with the reference)
    html = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert sum("vegaEmbed" in h for h in html) >= 7
    for name in ("cohort.vcf.gz", "cohort.vcf.gz.tbi", "populations.tsv", "splits.json", "profiles.jsonl",
                 "profiles_dense.jsonl.gz", "panel.json"):
        assert (run / "cohort" / name).exists(), name
    for name in ("data.json", "panel_coverage.csv"):  # computed on the members: a diagnostic, kept apart
        assert (run / "diagnostics" / name).exists(), name
    splits = json.loads((run / "cohort" / "splits.json").read_text())
    assert splits["sizes"] == {"train": 72, "validation": 18, "holdout": 18, "public": 12}
    panel = json.loads((run / "cohort" / "panel.json").read_text())
    assert (panel["basis"], panel["declared"], panel["n_sites"]) == ("public split", False, 200)


def test_chapter_is_reproducible(tmp_path):
    nb1, run1 = execute(tmp_path / "a", seed=3)
    nb2, run2 = execute(tmp_path / "b", seed=3)
    assert glued(nb1) == glued(nb2)
    for name in ("cohort.vcf.gz", "splits.json", "profiles.jsonl", "panel.json"):
        assert (run1 / "cohort" / name).read_bytes() == (run2 / "cohort" / name).read_bytes()


def test_chapter_on_the_real_panel(tmp_path, real_data):
    nb, run = execute(tmp_path, source="vcf", vcf_path=str(real_data["vcf"]),
                      populations_path=str(real_data["populations"]), assembly="GRCh37")
    values = glued(nb)
    assert values["n_samples"] == "813" and values["n_sites"] == "200" and values["n_source_sites"] == "998"
    assert values["assembly"].startswith("GRCh37") and values["n_public"] == "81"
    assert values["panel_basis"] == "the genotypes of the 81 public people"
    text = "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells for o in c.get("outputs", []))
    assert "joined ALT alleles with '/'" in text and "declares assembly=GRCh38" in text
    assert "do not vary among the public people" in text  # the panel's notes are listed too
    pops = (run / "cohort" / "populations.tsv").read_text()
    assert "AFR" in pops and "unknown" not in pops


def test_chapter_on_the_real_panel_declared_public(tmp_path, real_data):
    """The quick profile's data: the file declared its own public site list, used whole."""
    nb, run = execute(tmp_path, source="vcf", vcf_path=str(real_data["vcf"]), panel_path=str(real_data["vcf"]),
                      populations_path=str(real_data["populations"]), assembly="GRCh37", n_sites=998)
    values = glued(nb)
    assert values["n_sites"] == "998" and values["panel_basis"] == "a site list declared public"
    assert values["genotype_coverage"] == "100.0%" and values["rare_member_sites_off_panel"] == "0"
    panel = json.loads((run / "cohort" / "panel.json").read_text())
    assert panel["declared"] is True and len(panel["sites"]) == 998


def test_chapter_without_population_table_labels_unknown(tmp_path, real_data):
    nb, run = execute(tmp_path, source="vcf", vcf_path=str(real_data["vcf"]),
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
