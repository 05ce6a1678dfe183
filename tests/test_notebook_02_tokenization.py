"""The tokenization chapter (book/02_tokenization.ipynb), run after the data chapter with
papermill in the smoke profile: its tokenizers are saved and reload, its glued numbers exist."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

from lib.core import rundir
from conftest import check_source_notebook, execute_chapter, glued, outputs_of_type

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "02_tokenization.ipynb"


def test_source_notebook_has_no_outputs_and_a_parameters_cell():
    check_source_notebook(CHAPTER, {"profile", "run_dir", "seed", "bpe_vocab_size", "gpt2_tokenizer_path"})


def test_chapter_needs_the_data_chapter(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as info:
        execute_chapter(CHAPTER, tmp_path, tmp_path / "empty-run")
    assert "FileNotFoundError" in info.value.ename and "01_data" in info.value.evalue


def test_chapter_after_the_data_chapter(tmp_path, gpt2_dir):
    from lib.runs import artefacts
    from lib import ch02_tokenization as ch02
    from lib.lm import tokenization as tk

    run = tmp_path / "run"
    execute_chapter(ROOT / "book" / "01_data.ipynb", tmp_path, run)
    # a GPT-2-format tokenizer made here
    nb = execute_chapter(CHAPTER, tmp_path, run, gpt2_tokenizer_path=str(gpt2_dir))
    values = glued(nb)
    for name in ("character", "bpe", "variant", "record", "gpt2"):
        tok = tk.load(run, name)
        text = tk.sample_to_text(["22:1:A>G_0|1"], "EUR")
        assert tk.decode(tok, tok.encode(text, add_special_tokens=False)) in (
            text, text.replace("22:1:A>G", tk.UNK), text.replace("22:1:A>G_0|1", tk.UNK))  # off the panel
    # BPE learned on the public people only (their sparse and dense texts), never on members
    meta = json.loads((run / "tokenizers" / "bpe" / "provenance.json").read_text())
    splits = artefacts.load_splits(run)
    assert meta["split"] == "public" and meta["n_samples"] == 2 * len(splits["public"])
    texts = ch02.model_texts(run)
    public = [texts[k][s] for k in ("sparse", "dense") for s in splits["public"]]
    assert meta["text_sha256"] == tk.texts_sha256(public)
    variant = json.loads((run / "tokenizers" / "variant" / "provenance.json").read_text())
    assert variant["panel_sha256"] == rundir.sha256(run / "cohort" / "panel.json")
    assert json.loads((run / "tokenizers" / "gpt2" / "provenance.json").read_text())["source"] == str(gpt2_dir)

    numbers = {"n_tokenizers", "variant_vocab", "n_panel_sites", "bpe_vocab", "char_dense_tokens", "bpe_dense_tokens",
               "variant_sparse_tokens", "bpe_dense_over_variant_sparse", "n_candidates", "n_holdout", "disclosed_sites",
               "member_only_rare_sites", "holdout_disclosed_sites", "holdout_only_rare_sites", "bpe_members_auc",
               "bpe_public_identical", "variant_identical", "bpe_public_auc", "variant_auc", "record_vocab",
               "record_sparse_tokens", "bpe_dense_over_record_sparse"}
    assert numbers <= set(values)
    assert values["n_tokenizers"] == "5" and values["n_panel_sites"] == "200"
    assert values["variant_vocab"] == f"{len(tk.load(run, 'variant')):,}"
    assert values["record_vocab"] == f"{len(tk.load(run, 'record')):,}"
    record = json.loads((run / "tokenizers" / "record" / "provenance.json").read_text())
    assert record["panel_sha256"] == variant["panel_sha256"]
    # one token per record: about half the variant tokenizer's sparse length
    assert float(values["record_sparse_tokens"]) < float(values["variant_sparse_tokens"])
    assert values["n_candidates"] == str(round(len(splits["train"]) / 2))
    assert values["n_holdout"] == str(len(splits["holdout"]))
    # the book's recipes read public information only: the same vocabulary with and without
    # the candidates, so the vocabulary-only test is at chance exactly
    assert values["bpe_public_identical"] == values["variant_identical"] == "the same"
    assert values["variant_auc"] == values["bpe_public_auc"] == "0.50"
    # the smoke panel is chosen from the public split: every site on it has a public carrier,
    # so no rare site is carried by candidates alone and BPE on the members can name none
    assert values["member_only_rare_sites"] == values["disclosed_sites"] == "0"
    assert re.fullmatch(r"\d\.\d\d \(95% CI \d\.\d\d-\d\.\d\d\)", values["bpe_members_auc"])
    assert float(values["bpe_dense_over_variant_sparse"]) > 5
    referenced = {name for c in nb.cells if c.cell_type == "markdown"
                  for name in re.findall(r"\{glue:text\}`([^`]+)`", c.source)}
    assert referenced and referenced <= set(values)  # every number of the prose is glued
    assert outputs_of_type(nb, "image/png") == 2  # tokens per sample, membership AUC
    html = "".join(o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", [])
                   if "text/html" in o.get("data", {}) and "vegaEmbed(" in o["data"]["text/html"])
    assert '"type":"log"' in html and '"type":"circle"' in html and '"type":"bar"' not in html  # dots, not bars
    for recipe in ch02.RECIPES:  # the comparison's table shows every recipe
        assert any(recipe in o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    # the length table is saved and reused while the tokenizers and texts are unchanged
    path = run / "diagnostics" / "02_lengths.csv"  # computed on members too: a diagnostic
    stamp, saved = path.stat().st_mtime_ns, pd.read_csv(path)
    built = {name: tk.load(run, name) for name in saved["tokenizer"].unique()}
    again = ch02.lengths(built, texts, run)
    assert path.stat().st_mtime_ns == stamp and again.equals(saved)
    assert list(again["tokenizer"].unique()) == ["character", "bpe", "variant", "record", "gpt2"]
    fresh = ch02.lengths(built, texts)  # without a run: computed, nothing written
    assert fresh[["tokenizer", "profile", "mean tokens", "max tokens"]].equals(
        saved[["tokenizer", "profile", "mean tokens", "max tokens"]])
    fewer = {name: built[name] for name in ("variant", "record")}
    assert list(ch02.lengths(fewer, texts, run)["tokenizer"].unique()) == ["variant", "record"]  # remade
    assert path.stat().st_mtime_ns != stamp


def test_chapter_keeps_logic_in_lib():
    """Code cells call into the chapter module and lib.book.charts; the plumbing is hidden
    (hide-input)."""
    nb = nbformat.read(CHAPTER, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    source = "\n".join(c.source for c in code)
    assert "def " not in source and "alt.Chart" not in source and "perf_counter" not in source
    assert "lambda" not in source  # no logic of its own
    for call in ("chapter.model_texts(", "chapter.build_tokenizers(", "chapter.tokenizer_table(", "chapter.lengths(",
                 "chapter.format_lengths(", "chapter.vocabulary_comparison(", "chapter.numbers(",
                 "figures.glue_numbers(", "chapter.format_disclosure(", "chapter.format_results(",
                 "charts.tokens_per_sample_chart(", "charts.auc_chart("):
        assert call in source, call
    assert "from lib import ch02_tokenization as chapter" in source
    for cell in code:
        if "glue" in cell.source or "charts." in cell.source or "chapter." in cell.source:
            assert "hide-input" in cell.metadata.get("tags", []), cell.source[:60]
    prose = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert "samples per second" in prose and "varies from run to run" in prose
