"""The tokenization chapter (book/02_tokenization.ipynb), run after the data chapter with
papermill in the smoke profile: its tokenizers are saved and reload, its glued numbers exist."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from test_chapter_data import glued, outputs_of_type

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "02_tokenization.ipynb"


def execute(chapter: Path, tmp: Path, run: Path, **parameters):
    out = tmp / chapter.name
    pm.execute_notebook(str(chapter), str(out), parameters={"profile": "smoke", "run_dir": str(run), **parameters},
                        cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    return nbformat.read(out, as_version=4)


def test_source_notebook_has_no_outputs_and_a_parameters_cell():
    nb = nbformat.read(CHAPTER, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    assert {"profile", "run_dir", "seed", "bpe_vocab_size", "gpt2_tokenizer_path"} <= set(pm.inspect_notebook(str(CHAPTER)))


def test_chapter_needs_the_data_chapter(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as info:
        execute(CHAPTER, tmp_path, tmp_path / "empty-run")
    assert "FileNotFoundError" in info.value.ename and "01_data" in info.value.evalue


def test_chapter_after_the_data_chapter(tmp_path):
    from lib import tokenization as tk

    run = tmp_path / "run"
    execute(ROOT / "book" / "01_data.ipynb", tmp_path, run)
    nb = execute(CHAPTER, tmp_path, run)
    values = glued(nb)
    for name in ("character", "bpe", "variant"):
        tok = tk.load(run, name)
        text = tk.sample_to_text(["22:1:A>G_0|1"], "EUR")
        assert tk.decode(tok, tok.encode(text, add_special_tokens=False)) in (text, text.replace("22:1:A>G", tk.UNK))
    from lib import data

    meta = json.loads((run / "tokenizers" / "bpe" / "provenance.json").read_text())
    n_members = len(data.load_splits(run)["train"])
    assert meta["split"] == "train" and meta["n_samples"] == 2 * n_members  # sparse and dense texts of the members
    assert "panel_sha256" in json.loads((run / "tokenizers" / "variant" / "provenance.json").read_text())
    assert values["variant_auc"] == "0.50"
    assert float(values["bpe_dense_over_variant_sparse"]) > 5
    assert values["n_panel_sites"] == "200"
    assert "bpe_sparse_auc" in values and "disclosed_sites" in values
    referenced = {name for c in nb.cells if c.cell_type == "markdown"
                  for name in re.findall(r"\{glue:text\}`([^`]+)`", c.source)}
    assert referenced and referenced <= set(values)  # every number of the prose is glued
    assert outputs_of_type(nb, "image/png") == 2  # tokens per sample, membership AUC
    html = "".join(o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", [])
                   if "text/html" in o.get("data", {}) and "vegaEmbed(" in o["data"]["text/html"])
    assert '"type":"log"' in html and '"type":"circle"' in html and '"type":"bar"' not in html  # dots, not bars


def test_chapter_keeps_logic_in_lib():
    """Code cells call into lib; the plumbing is hidden (hide-input), the charts come from lib.charts."""
    nb = nbformat.read(CHAPTER, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    source = "\n".join(c.source for c in code)
    assert "def " not in source and "alt.Chart" not in source and "perf_counter" not in source
    assert "charts.tokens_per_sample_chart(" in source and "charts.auc_chart(" in source
    assert "vp.compare_vocabularies(" in source and "tk.length_table(" in source
    for cell in code:
        if "glue(" in cell.source or "charts." in cell.source:
            assert "hide-input" in cell.metadata.get("tags", []), cell.source[:60]
    prose = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert "samples per second" in prose and "varies from run to run" in prose
