"""The vocabulary comparison of the tokenization chapter (lib.lm.vocab_privacy.compare_vocabularies
with the chapter's recipes, lib.ch02_tokenization.recipes) and its chart (lib.book.charts.auc_chart),
on a small simulated run.

Each recipe is built with and without a seeded half of the members (the candidates); a
recipe that reads only public information builds the same vocabulary both times, one that
learns from the members does not, and its member-specific tokens name the positions of rare
sites only candidates carry."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_declared_run, svg_marks, validate
from lib.runs import artefacts
from lib import ch01_data
from lib.book import charts
from lib import ch02_tokenization as ch02
from lib.lm import tokenization as tk
from lib.lm import vocab_privacy as vp

SEED, VOCAB = 3, 600


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """45 simulated people (27 members, 7 holdout, 4 public); a panel of 120 sites drawn
    from the simulated sites declared public, so rare sites only members carry are on it."""
    run = tmp_path_factory.mktemp("vocab") / "run"
    make_declared_run(run, seed=5, n_sites=120, samples_per_population=15, sim_length=400_000)
    texts = ch02.model_texts(run)
    samples = {s: tk.text_to_sample(t).records for s, t in texts["sparse"].items()}
    return {"run": run, "texts": texts, "samples": samples, "splits": artefacts.load_splits(run)}


@pytest.fixture(scope="module")
def compared(cohort):
    recipes = ch02.recipes(cohort["run"], cohort["texts"], VOCAB, SEED)
    assert tuple(recipes) == ch02.RECIPES
    return vp.compare_vocabularies(recipes, cohort["samples"], cohort["splits"], seed=SEED, n_boot=50)


def test_candidate_members_are_a_seeded_half_of_the_members(cohort):
    splits = cohort["splits"]
    candidates = vp.candidate_members(splits, seed=SEED)
    assert len(candidates) == round(len(splits["train"]) / 2) and set(candidates) < set(splits["train"])
    assert candidates == [s for s in splits["train"] if s in set(candidates)]  # in the split's order
    assert vp.candidate_members(splits, seed=SEED) == candidates
    assert vp.candidate_members(splits, seed=SEED + 1) != candidates
    assert len(vp.candidate_members({"train": ["a", "b"]}, fraction=1.0)) == 1  # someone stays in both builds


def test_each_recipe_is_built_with_and_without_the_candidates(cohort):
    seen = []

    def spy(people):
        seen.append({k: list(v) for k, v in people.items()})
        return tk.character_tokenizer()

    results, tables = vp.compare_vocabularies({"spy": spy}, cohort["samples"], cohort["splits"], seed=SEED,
                                              n_boot=10)
    splits, candidates = cohort["splits"], vp.candidate_members(cohort["splits"], seed=SEED)
    assert len(seen) == 2 and seen[0] == splits
    assert seen[1] == {**splits, "train": [s for s in splits["train"] if s not in candidates]}
    assert results["identical"].tolist() == [True] and results["auc"].tolist() == [0.5]
    assert tables["carried only by"].tolist() == ["candidate members", "non-members (holdout)"]


def test_compare_vocabularies_frames(cohort, compared):
    results, tables = compared
    assert list(results.columns) == vp.RESULT_COLUMNS
    assert list(tables.columns) == vp.TABLE_COLUMNS
    assert results["tokenizer"].tolist() == list(ch02.RECIPES)
    assert tables["tokenizer"].tolist() == [name for name in ch02.RECIPES for _ in range(2)]
    assert tables["carried only by"].tolist() == ["candidate members", "non-members (holdout)"] * len(ch02.RECIPES)
    splits = cohort["splits"]
    assert (results["n_members"] == len(vp.candidate_members(splits, seed=SEED))).all()
    assert (results["n_non_members"] == len(splits["holdout"])).all()
    assert ((results["ci_low"] <= results["auc"]) & (results["auc"] <= results["ci_high"])).all()
    assert results["auc"].between(0, 1).all()
    # the disclosure table's denominators are the same for every recipe (they come from the people)
    rare = tables.pivot(index="tokenizer", columns="carried only by", values="rare sites")
    assert (rare.nunique() == 1).all() and (rare["candidate members"] > 0).all()


@pytest.mark.parametrize("recipe", [ch02.BPE_PUBLIC, ch02.VARIANT])
def test_public_recipes_build_identical_vocabularies(compared, recipe):
    """Reading only public people (or the public panel), a recipe builds the same vocabulary
    with and without the candidates: no specific token, AUC exactly 0.5."""
    results, tables = compared
    row = results.set_index("tokenizer").loc[recipe]
    assert bool(row["identical"]) is True
    assert row["auc"] == row["ci_low"] == row["ci_high"] == 0.5
    assert row["n_specific_tokens"] == 0
    assert row["mean_member_score"] == row["mean_non_member_score"] == 0
    assert (tables.loc[tables["tokenizer"] == recipe, "position in a specific token"] == 0).all()


@pytest.mark.parametrize("recipe", [ch02.BPE_MEMBERS, ch02.BPE_MEMBER_RECORDS])
def test_bpe_on_members_discloses_candidate_only_rare_sites(cohort, compared, recipe):
    results, tables = compared
    row = results.set_index("tokenizer").loc[recipe]
    assert bool(row["identical"]) is False and row["n_specific_tokens"] > 0
    table = tables.set_index(["tokenizer", "carried only by"]).loc[recipe]
    assert table.loc["candidate members", "position in a specific token"] > 0
    assert table.loc["non-members (holdout)", "position in a specific token"] == 0  # in neither build
    # a holdout person may share a rare site with a candidate, so only the means are ordered
    assert row["auc"] > 0.5 and row["mean_member_score"] > row["mean_non_member_score"]

    # the same count from the two builds directly: candidate-only rare sites (at most 5% of
    # the people carry them) whose position digits lie inside a token only the build with
    # the candidates has
    splits, samples = cohort["splits"], cohort["samples"]
    candidates = set(vp.candidate_members(splits, seed=SEED))
    build = ch02.recipes(cohort["run"], cohort["texts"], VOCAB, SEED)[recipe]
    without = {**splits, "train": [s for s in splits["train"] if s not in candidates]}
    specific = tk.vocabulary_strings(build(splits)) - tk.vocabulary_strings(build(without))
    assert len(specific) == row["n_specific_tokens"]
    carriers = {}
    for person, records in samples.items():
        for record in records:
            carriers.setdefault(record.rsplit("_", 1)[0], set()).add(person)
    only = [site for site, who in carriers.items() if who <= candidates and len(who) <= 0.05 * len(samples)]
    assert len(only) == table.loc["candidate members", "rare sites"]
    covered = [site for site in only if any(site.split(":")[1] in token for token in specific)]
    assert len(covered) == table.loc["candidate members", "position in a specific token"]


def test_compare_vocabularies_is_reproducible(cohort, compared):
    recipes = ch02.recipes(cohort["run"], cohort["texts"], VOCAB, SEED)
    again = vp.compare_vocabularies({k: recipes[k] for k in (ch02.BPE_MEMBERS, ch02.VARIANT)}, cohort["samples"],
                                    cohort["splits"], seed=SEED, n_boot=50)
    chosen = compared[0]["tokenizer"].isin([ch02.BPE_MEMBERS, ch02.VARIANT])
    pd.testing.assert_frame_equal(again[0], compared[0][chosen].reset_index(drop=True))


def test_variant_recipe_on_a_panel_chosen_from_the_public_split(tmp_path):
    """Without a declared list the variant recipe chooses the panel again from the public
    people it is given: the same with and without the candidates."""
    run = tmp_path / "run"
    ch01_data.prepare(run, ch01_data.DataSpec(source="simulate", seed=5, n_sites=80, sim_samples_per_population=12,
                                              sim_length=300_000), progress=False)
    texts = ch02.model_texts(run)
    samples = {s: tk.text_to_sample(t).records for s, t in texts["sparse"].items()}
    build = ch02.panel_recipe(run, seed=5)
    splits = artefacts.load_splits(run)
    assert tk.vocabulary_strings(build(splits)) >= set(artefacts.read_panel_json(run)["sites"])
    results, _ = vp.compare_vocabularies({ch02.VARIANT: build}, samples, splits, seed=1, n_boot=20)
    row = results.iloc[0]
    assert bool(row["identical"]) and row["auc"] == 0.5 and row["n_specific_tokens"] == 0


def test_vocabulary_attack_on_identical_vocabularies(cohort):
    tok = tk.character_tokenizer()
    groups = {"train": vp.candidate_members(cohort["splits"], seed=SEED), "holdout": cohort["splits"]["holdout"]}
    table, test = vp.vocabulary_attack(tok, tok, cohort["samples"], groups, n_boot=20)
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
    assert dots["encoding"]["y"]["field"] == "tokenizer" and dots["encoding"]["y"]["sort"] == list(ch02.RECIPES)
    assert {t["field"] for t in dots["encoding"]["tooltip"]} >= {"tokenizer", "auc", "ci_low", "ci_high"}
    # drawn: one dot and one interval per row, one chance line
    assert svg_marks(chart) == {"mark-rule": len(results) + 1, "mark-symbol": len(results)}
    assert chart.to_json() == charts.auc_chart(results).to_json()  # deterministic
    with pytest.raises(ValueError, match="auc_chart needs"):
        charts.auc_chart(results.drop(columns="ci_low"))
