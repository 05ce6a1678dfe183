"""The vocabulary comparison of the tokenization chapter (lib.vocab_privacy.compare_vocabularies)
and its chart (lib.charts.auc_chart), on a small simulated cohort."""
from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from lib import charts, data
from lib import tokenization as tk
from lib import vocab_privacy as vp

SVG = "{http://www.w3.org/2000/svg}"


_BAR = re.compile(r"M(-?[\d.e+-]+),(-?[\d.e+-]+)h(-?[\d.e+-]+)v(-?[\d.e+-]+)")
_TRANSLATE = re.compile(r"translate\((-?[\d.e+-]+),(-?[\d.e+-]+)\)")


def _drawn(item: ET.Element) -> bool:
    """Whether a rendered mark item can be seen: a bar needs a non-zero width and height
    (a bar on a log scale renders as ``h0``: present in the SVG, invisible), a symbol a
    finite position."""
    role = item.get("aria-roledescription")
    if role == "bar":
        found = _BAR.match(item.get("d") or "")
        return bool(found) and float(found.group(3)) != 0 and float(found.group(4)) != 0
    if role == "circle" or role == "symbol":
        found = _TRANSLATE.search(item.get("transform") or "")
        return bool(found) and all(math.isfinite(float(v)) for v in found.groups())
    return True


def svg_marks(chart) -> dict[str, int]:
    """Render ``chart`` with vl-convert (as the book's reader would see it) and count the
    marks actually drawn: mark group class (``mark-symbol``, ``mark-rule``, ``mark-rect``
    ...) -> number of visible items."""
    vlc = pytest.importorskip("vl_convert")
    root = ET.fromstring(vlc.vegalite_to_svg(chart.to_json()))
    counts: dict[str, int] = {}
    for group in root.iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "role-mark" in classes:
            kind = next(c for c in classes if c.startswith("mark-"))
            counts[kind] = counts.get(kind, 0) + sum(1 for item in group
                                                     if item.get("role") == "graphics-symbol" and _drawn(item))
    return counts


def validate(chart) -> dict:
    """``to_dict()`` validates the spec against the Vega-Lite schema (altair raises if not)."""
    spec = chart.to_dict(validate=True)
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    return spec


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    run = tmp_path_factory.mktemp("vocab") / "run"
    data.prepare(run, source="simulate", n_sites=120, sim_samples_per_population=15, sim_length=400_000,
                 progress=False)
    sparse, dense = data.read_profiles(run), data.read_profiles(run, dense=True)
    population = dict(zip(sparse["sample"], sparse["superpopulation"]))
    texts = {kind: {s: tk.sample_to_text(recs, population[s]) for s, recs in zip(frame["sample"], frame["variants"])}
             for kind, frame in (("sparse", sparse), ("dense", dense))}
    return {"texts": texts, "splits": data.load_splits(run),
            "sites": json.loads(data.cohort_paths(run)["panel"].read_text())["sites"]}


@pytest.fixture(scope="module")
def compared(cohort):
    return vp.compare_vocabularies(cohort["texts"], cohort["splits"], cohort["sites"], vocab_size=600, seed=3,
                                   n_boot=50)


def test_compare_vocabularies_frames(cohort, compared):
    results, tables = compared
    assert list(results.columns) == vp.RESULT_COLUMNS
    assert list(tables.columns) == vp.TABLE_COLUMNS
    assert results["tokenizer"].tolist() == list(vp.CASES)
    assert tables["tokenizer"].tolist() == [case for case in vp.CASES for _ in range(2)]
    assert tables["carried only by"].tolist() == ["members (train)", "non-members (holdout)"] * len(vp.CASES)
    splits = cohort["splits"]
    assert (results["n_members"] == len(splits["train"])).all()
    assert (results["n_non_members"] == len(splits["holdout"])).all()
    assert ((results["ci_low"] <= results["auc"]) & (results["auc"] <= results["ci_high"])).all()
    assert results["auc"].between(0, 1).all()


def test_variant_rows_disclose_nothing(compared):
    results, tables = compared
    variant = results.set_index("tokenizer").loc[vp.VARIANT]
    assert variant["auc"] == variant["ci_low"] == variant["ci_high"] == 0.5
    assert variant["n_specific_tokens"] == 0
    assert variant["mean_member_score"] == variant["mean_non_member_score"] == 0
    assert (tables.loc[tables["tokenizer"] == vp.VARIANT, "position in a specific token"] == 0).all()


def test_bpe_on_sparse_members_is_measured(compared):
    results, tables = compared
    sparse = tables.set_index(["tokenizer", "carried only by"]).loc[vp.BPE_SPARSE]
    assert sparse.loc["members (train)", "position in a specific token"] > 0
    assert sparse.loc["non-members (holdout)", "position in a specific token"] == 0
    assert results.set_index("tokenizer").loc[vp.BPE_SPARSE, "n_specific_tokens"] > 0


def test_compare_vocabularies_is_reproducible_and_uses_the_saved_bpe(cohort, compared):
    texts, splits = cohort["texts"], cohort["splits"]
    saved = tk.bpe_tokenizer([texts[k][s] for k in ("sparse", "dense") for s in splits["train"]], 600)
    again = vp.compare_vocabularies(texts, splits, cohort["sites"], vocab_size=600, seed=3, n_boot=50,
                                    saved_bpe=saved)
    pd.testing.assert_frame_equal(again[0], compared[0])
    pd.testing.assert_frame_equal(again[1], compared[1])
    # a different "saved" tokenizer changes that row only
    other = vp.compare_vocabularies(texts, splits, cohort["sites"], vocab_size=600, seed=3, n_boot=50,
                                    saved_bpe=tk.character_tokenizer())
    changed = other[0].set_index("tokenizer")["n_specific_tokens"] != compared[0].set_index("tokenizer")["n_specific_tokens"]
    assert changed.tolist() == [case == vp.BPE_SAVED for case in vp.CASES]


def test_compare_vocabularies_needs_both_profiles(cohort):
    with pytest.raises(ValueError, match="dense"):
        vp.compare_vocabularies({"sparse": cohort["texts"]["sparse"]}, cohort["splits"], cohort["sites"])


def test_vocabulary_attack_on_identical_vocabularies(cohort):
    samples = {s: tk.text_to_sample(t).records for s, t in cohort["texts"]["sparse"].items()}
    tok = tk.character_tokenizer()
    table, test = vp.vocabulary_attack(tok, tok, samples, cohort["splits"], n_boot=20)
    assert test["auc"] == 0.5 and test["n_specific_tokens"] == 0
    assert table["position in a specific token"].tolist() == [0, 0]


def test_auc_chart(compared):
    results, _ = compared
    chart = charts.auc_chart(results)
    spec = validate(chart)
    chance, interval, dots = spec["layer"]
    assert chance["mark"]["type"] == "rule" and chance["mark"]["strokeDash"] == [4, 4]
    assert interval["mark"]["type"] == "rule"
    assert interval["encoding"]["x"]["field"] == "ci_low" and interval["encoding"]["x2"]["field"] == "ci_high"
    assert dots["mark"]["type"] == "circle"
    assert dots["encoding"]["x"]["field"] == "auc" and dots["encoding"]["x"]["scale"]["domain"] == [0, 1]
    assert dots["encoding"]["y"]["field"] == "tokenizer" and dots["encoding"]["y"]["sort"] == list(vp.CASES)
    assert {t["field"] for t in dots["encoding"]["tooltip"]} >= {"tokenizer", "auc", "ci_low", "ci_high"}
    # drawn: one dot and one interval per row, one chance line
    assert svg_marks(chart) == {"mark-rule": len(results) + 1, "mark-symbol": len(results)}
    assert chart.to_json() == charts.auc_chart(results).to_json()  # deterministic
    with pytest.raises(ValueError, match="auc_chart needs"):
        charts.auc_chart(results.drop(columns="ci_low"))
