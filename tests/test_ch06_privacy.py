"""The privacy chapter's module: who is attacked, the reference models' data, and the
chapter's tables on a small real run with trained models (the smoke book's run checks
every model of the book; tests/test_whole_book_smoke.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_small_run
from lib.runs import artefacts, experiments, glossary
from lib.evaluation import evidence, mia
from lib.lm import models
from lib.core import profiles, rundir
from lib.lm import tokenization as tk
from lib import ch06_privacy as chapter
from lib.runs.run import Run


@pytest.fixture(scope="module")
def attacked_run(tmp_path_factory):
    """A small simulated run with a non-private minGPT trained by the models chapter, its
    synthetic cohort, and the chapter's attacks on both."""
    run = make_small_run(tmp_path_factory.mktemp("ch06"), seed=6, n_sites=40, samples_per_population=16)
    settings = profiles.resolve("smoke")
    experiments.train_model(run, "mingpt", None, settings, seed=0)
    panel, _ = artefacts.load_panel(run)
    people = chapter.candidates(run, seed=0)
    copied = [list(v) for v in people[people["label"] == 1]["variants"]]  # a "generator" that copies the members attacked
    experiments.write_synthetic(run, "mingpt-epsinf", copied, panel, {"summary": {}})
    results = chapter.attack_models(run, settings, seed=0, n_boot=30)
    cohorts = chapter.attack_cohorts(run, results["candidates"], seed=0, n_boot=30)
    table = chapter.results_table(run, results, cohorts, params={"seed": 0})
    return {"run": run, "settings": settings, "results": results, "cohorts": cohorts, "table": table}


def test_candidates_are_members_against_the_holdout(attacked_run):
    run = attacked_run["run"]
    people = chapter.candidates(run, seed=3)
    splits = artefacts.load_splits(run)
    members, non_members = people[people["label"] == 1], people[people["label"] == 0]
    assert set(members["sample"]) <= set(splits["train"]) and list(non_members["sample"]) == splits["holdout"]
    assert len(members) == len(non_members)  # balanced
    assert people.equals(chapter.candidates(run, seed=3)) and not people.equals(chapter.candidates(run, seed=4))
    with pytest.raises(ValueError, match="n_members"):
        chapter.candidates(run, n_members=10_000)


def test_reference_models_never_see_a_candidate(attacked_run):
    masks = chapter.reference_halves(11, 4, seed=0)
    assert masks.shape == (4, 11) and (masks[0] == ~masks[1]).all() and (masks[2] == ~masks[3]).all()
    run = attacked_run["run"]
    public = set(artefacts.load_splits(run)["public"])
    people = set(attacked_run["results"]["candidates"]["sample"])
    for i in range(int(attacked_run["settings"]["mia_reference_models"])):
        name = chapter.reference_name("mingpt", "record", i)
        entry = rundir.read_manifest(run)["artefacts"][f"models/{name}/model.safetensors"]
        trained_on = set(entry["params"]["people"])
        assert trained_on and trained_on <= public and not trained_on & people
    assert [t for t in chapter.targets(run)["model"]] == ["mingpt-epsinf"]  # references are not targets


def test_references_train_as_the_model_they_mimic_on_a_text_tokenizer(attacked_run, tmp_path):
    """A reference model of a text-tokenizer model takes that model's epochs
    (``text_model_epochs``, :func:`lib.runs.experiments.tokenizer_overrides`), not the record
    models' ``train_epochs``: the attacker mimics how the target was trained."""
    from lib.lm import tokenization as tk
    import shutil
    run = tmp_path / "run"
    shutil.copytree(attacked_run["run"], run)
    tk.save(tk.build_tokenizer("character"), run, "character")
    settings = dict(attacked_run["settings"], train_epochs=2, text_model_epochs=1)
    assert experiments.tokenizer_overrides(settings, "character") == {"epochs": 1}
    assert experiments.tokenizer_overrides(settings, "record") == {}
    chapter.train_references(run, "mingpt", "character", settings, 2, seed=0)
    manifest = rundir.read_manifest(run)["artefacts"]
    for i in range(2):
        params = manifest[f"models/{chapter.reference_name('mingpt', 'character', i)}/model.safetensors"]["params"]
        assert params["train"]["epochs"] == 1
    assert manifest[f"models/{chapter.reference_name('mingpt', 'record', 0)}/model.safetensors"][
        "params"]["train"]["epochs"] == int(attacked_run["settings"]["train_epochs"])


def test_online_references_train_on_halves_of_public_people_and_candidates(attacked_run):
    """Online references: complementary halves of a pool of public people and candidates'
    profiles; every candidate is IN for exactly half of them, and the mask the attack uses
    is what the manifest says each model trained on."""
    run, settings = attacked_run["run"], attacked_run["settings"]
    public = artefacts.load_splits(run)["public"]
    people = attacked_run["results"]["candidates"]
    n = int(settings["mia_online_references"])
    assert n >= 2
    trained_on = []
    for i in range(n):
        name = chapter.online_reference_name("mingpt", "record", i)
        assert not Run.of(run).model_dir(name).exists()  # trained on members: never in models/
        entry = rundir.read_manifest(run)["artefacts"][f"diagnostics/models/{name}/model.safetensors"]
        assert entry["params"]["base_sha256"] is None  # the minGPT target starts from scratch too
        trained_on.append(set(entry["params"]["people"]))
        assert trained_on[-1] <= set(public) | set(people["sample"])
    for sample in people["sample"]:
        assert sum(sample in t for t in trained_on) == n // 2, sample
    assert trained_on[0].isdisjoint(trained_on[1])
    with pytest.raises(ValueError, match="even number"):
        chapter.train_online_references(run, "mingpt", "record", settings, people, 3)
    for bad in (3, -2, 1.5, "4"):
        with pytest.raises(ValueError, match="mia_online_references"):  # before any work
            chapter.attack_models(run, dict(settings, mia_online_references=bad))
    # a profile without online references attacks without them, and says so
    offline = dict(settings, mia_online_references=0, mia_primary_attack={"mingpt": "RMIA", "gpt2": "RMIA"})
    assert "0" in chapter.protocol_table(attacked_run["results"], offline).loc[
        "online reference models per family and tokenizer (halves of public people and candidates)", "value"]


def test_every_attack_is_evaluated_and_a_copy_is_caught(attacked_run):
    table = attacked_run["table"]
    model_rows = table[table["target_kind"] == "model"]
    assert set(model_rows["attack"]) == set(chapter.MODEL_ATTACKS) | {chapter.REPLICA, chapter.BEST}
    # the declared primary attack is marked, once per model; the best attack's interval pays for the choice
    assert list(model_rows.loc[model_rows["primary"], "attack"]) == [attacked_run["settings"]["mia_primary_attack"]["mingpt"]]
    best = model_rows[model_rows["attack"] == chapter.BEST].iloc[0]
    chosen = model_rows[model_rows["attack"] == best["selected"]].iloc[0]
    assert best["auc"] == chosen["auc"] == model_rows.loc[model_rows["kind"] != "replica", "auc"].max()
    assert best["auc_low"] <= best["auc"] <= best["auc_high"] and best["n_attacks"] == len(chapter.MODEL_ATTACKS)
    assert ((table["auc"] >= 0) & (table["auc"] <= 1)).all() and (table["auc_low"] <= table["auc_high"]).all()
    cohort = table[(table["target"] == "mingpt-epsinf") & (table["kind"] == "synthetic")].set_index("attack")
    assert cohort.loc["distance to closest", "auc"] == 1.0  # every member attacked is in the cohort
    copy = table[table["target"] == glossary.COPY].set_index("attack")
    assert copy.loc["distance to closest", "auc"] == 1.0
    written = pd.read_csv(attacked_run["run"] / "metrics" / "06_privacy.csv")
    assert len(written) == len(table)
    assert chapter.leakiest(table) == "mingpt-epsinf"
    said = chapter.claims(table, attacked_run["settings"])
    assert "no private model" in said["dp_claim"] and "no private model" in said["bound_claim"]
    assert "Bonferroni" in said["dp_claim_rule"]
    numbers = chapter.numbers(table, attacked_run["results"], attacked_run["settings"], 1.0)
    assert numbers["gpt2_inf_best"] == "–" and numbers["copy_auc"] == "1.000"
    assert len(chapter.roc_frame(attacked_run["results"], "mingpt-epsinf")) > 0
    assert not chapter.replica_table(table).empty


def test_scores_do_not_depend_on_the_membership_labels(attacked_run):
    """The attacks never read the candidates' labels: permuting them leaves every score of
    every attack unchanged (the replica, the dissertation's oracle protocol, is the one
    thing that uses them, and it is not an attack score)."""
    run, settings = attacked_run["run"], attacked_run["settings"]
    people = attacked_run["results"]["candidates"]
    shuffled = people.assign(label=np.random.default_rng(0).permutation(people["label"].to_numpy()))
    assert not (shuffled["label"] == people["label"]).all()
    scores, _ = chapter.score_models(run, settings, shuffled, attacked_run["results"]["targets"], seed=0)
    for model, by_attack in attacked_run["results"]["scores"].items():
        assert set(scores[model]) == set(by_attack)
        for attack, s in by_attack.items():
            np.testing.assert_array_equal(scores[model][attack], s, err_msg=attack)


def test_the_primary_attack_is_declared_and_checked_before_any_work(attacked_run):
    run, settings = attacked_run["run"], attacked_run["settings"]
    with pytest.raises(ValueError, match="mia_primary_attack"):
        chapter.attack_models(run, dict(settings, mia_primary_attack={"mingpt": "the strongest", "gpt2": "RMIA"}))
    with pytest.raises(ValueError, match="online reference models"):  # an online primary needs online references
        chapter.attack_models(run, dict(settings, mia_online_references=0,
                                        mia_primary_attack={"mingpt": "RMIA (online)", "gpt2": "LiRA (online)"}))
    with pytest.raises(ValueError, match="mia_primary_cohort_attack"):
        chapter.attack_cohorts(run, attacked_run["results"]["candidates"],
                               settings=dict(settings, mia_primary_cohort_attack="guess"))


def test_no_model_metadata_names_a_member(attacked_run):
    """What is kept under models/ (the area a run could release from) names no member: the
    online references, trained on candidates' profiles, live under diagnostics/."""
    run = attacked_run["run"]
    members = set(artefacts.load_splits(run)["train"])
    texts = [p.read_text() for p in (run / "models").glob("*/*.json")]
    assert texts and not any(sample in text for text in texts for sample in members)


def test_unknown_models_are_refused(attacked_run):
    with pytest.raises(ValueError, match="not-a-model"):
        chapter.attack_models(attacked_run["run"], attacked_run["settings"], models_to_attack=["not-a-model"])


def test_a_run_without_models_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trained model"):
        chapter.targets(tmp_path)


def test_canaries_are_inserted_exactly_and_recorded(attacked_run):
    """An audit run on the small run (clipping without noise, so that the planted canaries
    are learnt): every canary is a valid profile on the public panel, the coins are saved
    beside the model, the model trained on exactly the members plus the canaries whose
    coin came up, and the one-run bound and exposure are computed from the canaries'
    likelihoods. The audit model is never a target of the attacks."""
    import json

    from lib.lm import generation
    run, settings = attacked_run["run"], attacked_run["settings"]
    panel, _ = artefacts.load_panel(run)
    canaries = chapter.make_canaries(run, 30, seed=1)
    assert canaries == chapter.make_canaries(run, 30, seed=1) != chapter.make_canaries(run, 30, seed=2)
    assert generation.validity_summary(canaries, panel)["valid_rate"] == 1.0
    result = chapter.audit_run(run, "mingpt", float("inf"), settings, seed=1, m=30)
    directory = Run.of(run).model_dir(result["model"])
    saved = json.loads((directory / "canaries.json").read_text())
    assert saved["canaries"] == canaries and saved["included"] == result["included"].astype(int).tolist()
    record = json.loads((directory / "privacy.json").read_text())
    n_members = len(artefacts.load_splits(run)["train"])
    assert record["n_train"] == n_members + int(result["included"].sum())
    assert 0 < result["included"].sum() < 30
    assert result["bound"]["m"] == 30 and result["bound"]["epsilon"] >= 0
    table = chapter.audit_table([result])
    assert table["within the guarantee"].all() and np.isnan(table["accountant ε"].iloc[0])
    assert "audit-mingpt-epsinf" not in set(chapter.targets(run)["model"])
    again = chapter.audit_run(run, "mingpt", float("inf"), settings, seed=1, m=30)  # reused, same numbers
    assert np.array_equal(again["scores"], result["scores"])
    assert "audit_claim" in chapter.audit_numbers([result])
    from lib.book import charts
    frame = chapter.bound_frame(attacked_run["table"], [result])
    assert frame.empty  # no private model and clipping alone: no accountant epsilon to set a bound beside
    with_one = pd.DataFrame({"target": ["a"], "family": ["mingpt"], "accountant ε": [1.0],
                             "empirical ε (held-out threshold)": [0.1], "source": ["canaries (one-run audit)"]})
    assert charts.epsilon_bound_chart(with_one).to_dict()


def test_the_table_reads_back_as_it_was_written(attacked_run):
    """Later chapters (the results page) read metrics/06_privacy.csv back: the same table,
    the same claims."""
    table, settings = attacked_run["table"], attacked_run["settings"]
    read = Run.of(attacked_run["run"]).table(chapter.METRICS_NAME)
    pd.testing.assert_frame_equal(read.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False)
    assert chapter.claims(read, settings) == chapter.claims(table, settings)
    records = chapter.claim_records(table, settings)
    assert {r["verdict"] for r in records.values()} <= set(evidence.VERDICTS)
    with pytest.raises(FileNotFoundError, match="privacy \\(06\\)"):
        Run.of(attacked_run["run"] / "nowhere").table(chapter.METRICS_NAME)



def test_attack_table_marks_the_primary_and_dashes_attacks_not_run():
    """One row per target, one column per attack; an attack not run on a target (no online
    references for the BPE model) reads "–", never NaN, and the primary column says so."""
    rows = [dict(target=t, attack=a, kind="model", target_kind="model", auc=auc, auc_low=auc - 0.05,
                 auc_high=auc + 0.05, primary=a == "LiRA (online)")
            for t, a, auc in [("mingpt-epsinf", "loss threshold", 0.9), ("mingpt-epsinf", "LiRA (online)", 0.95),
                              ("mingpt-bpe-epsinf", "loss threshold", 0.6)]]
    wide = chapter.format_attacks(pd.DataFrame(rows))
    assert list(wide.columns) == ["loss threshold", "LiRA (online) (primary)"]
    assert wide.loc["mingpt-bpe-epsinf", "LiRA (online) (primary)"] == "–"
    assert wide.loc["mingpt-epsinf", "LiRA (online) (primary)"] == "0.950 [0.900, 1.000]"
    assert not wide.isna().any().any()


def test_private_baselines_are_attacked_through_their_cohorts_and_audited(attacked_run):
    """A private baseline releases a cohort and nothing else: its cohorts of every seed are
    attacked like the models' (rows of kind "synthetic cohort" with the mechanism as family,
    the ε its accountant computed, one setting over its seeds), it stands on the frontier by
    the primary attack on that cohort, and its canary audit stays within its ε."""
    from lib import ch04_dp_training

    run, settings, results = attacked_run["run"], attacked_run["settings"], attacked_run["results"]
    made = ch04_dp_training.release_baselines(run, [8.0], settings, n_samples=16, seed=0, n_seeds=2)
    cohorts = chapter.attack_cohorts(run, results["candidates"], seed=0, n_boot=20, settings=settings)
    table = chapter.results_table(run, results, cohorts, params={"seed": 0})
    rows = table[table["family"].isin(["sites", "mst"])]
    assert set(rows["target"]) == set(made) and set(rows["target_kind"]) == {"synthetic cohort"}
    assert set(rows["setting"]) == {"sites-eps8", "mst-eps8"} and set(rows["seed"]) == {0, 1}
    spent = rows.set_index(["target", "attack"])["accountant_epsilon"]
    assert spent[("mst-eps8-seed1", chapter.BEST)] == pytest.approx(made["mst-eps8-seed1"]["privacy"]["epsilon"])
    assert chapter.epsilon_table(table)["target"].isin(made).sum() == 0  # held-out bounds are the models'
    seeds = chapter.seed_table(table)
    primary = chapter.primary_cohort_attack(settings)
    row = seeds[(seeds["setting"] == "sites-eps8") & (seeds["attack"] == primary)].iloc[0]
    assert row["n_seeds"] == 2 and row["target_kind"] == "synthetic cohort" and row["primary"]
    utility = pd.DataFrame([{"setting": s, "kind": "synthetic", "family": f, "tokenizer": t, "variant": "",
                             "epsilon": e, "eps": l, "decoding": "constrained", "group": "", "metric": "af_r",
                             "value": v, "low": v - 0.05, "high": v + 0.05, "n_seeds": 2, "seed_sd": 0.01,
                             "boot_half": 0.02, "seed_values": f"{v} {v}"}
                            for s, f, t, e, l, v in (("mingpt-epsinf", "mingpt", "record", float("inf"), "∞", 0.9),
                                                     ("sites-eps8", "sites", "", 8.0, "8", 0.95),
                                                     ("mst-eps8", "mst", "", 8.0, "8", 0.8))])
    points = chapter.frontier(seeds, utility, ["af_r"]).set_index("cohort")
    assert points.loc["sites-eps8", "attack"] == primary and points.loc["sites-eps8", "family"] == "sites"
    assert points.loc["mingpt-epsinf", "attack"] == settings["mia_primary_attack"]["mingpt"]
    audited = chapter.audit_baseline(run, "sites", 8.0, settings, seed=0, m=20)
    assert audited["model"] == "audit-sites-eps8" and audited["included"].sum() > 0
    line = chapter.audit_table([audited]).iloc[0]
    assert line["family"] == "sites" and line["within the guarantee"]
    assert line["accountant ε"] == pytest.approx(made["sites-eps8"]["privacy"]["epsilon"])
    assert "mst-eps8" not in set(chapter.targets(run)["model"])


def test_the_headline_frontier_has_two_large_panels_and_no_labels_to_collide():
    """The results page's headline figure: the panels of the metrics asked for, in that
    order; ε as the mark's shape (a legend) rather than text next to each point; each
    family's settings joined from the most private to ε = ∞ (the references are not); every
    point drawn. An unknown metric is refused by name."""
    from conftest import svg_marks
    from lib.book import charts

    rows = []
    for metric, title in (("af_r", "Allele-frequency r"), ("c2st_auc", "Two-sample AUC"), ("tstr", "TSTR")):
        for cohort, family, eps, u, a in (("mingpt-eps1", "mingpt", "1", 0.9, 0.5),
                                          ("mingpt-eps8", "mingpt", "8", 0.95, 0.52),
                                          ("mingpt-epsinf", "mingpt", "∞", 0.99, 0.9),
                                          ("gpt2-eps8", "gpt2", "8", 0.97, 0.5),
                                          ("copy of members", "reference", "copy of members", 1.0, 1.0)):
            rows.append(dict(metric=metric, metric_title=title, cohort=cohort, family=family, eps=eps, utility=u,
                             utility_low=u - 0.01, utility_high=u + 0.01, attack_auc=a, attack_low=a - 0.05,
                             attack_high=a + 0.05, attack="LiRA", **{"tpr@0.1": 0.1}))
    frame = pd.DataFrame(rows)
    chart = charts.frontier_chart(frame, metrics=("c2st_auc", "af_r"), columns=2, panel_width=300, panel_height=280)
    spec = chart.to_dict()
    assert spec["facet"]["sort"] == ["Two-sample AUC", "Allele-frequency r"] and spec["columns"] == 2
    marks = [layer["mark"]["type"] for layer in spec["spec"]["layer"]]
    assert "text" not in marks and marks.count("point") == 1 and "line" in marks
    point = next(layer for layer in spec["spec"]["layer"] if layer["mark"]["type"] == "point")
    assert point["encoding"]["shape"]["field"] == "eps"
    assert point["encoding"]["shape"]["scale"]["domain"] == ["1", "8", "∞", "copy of members"]
    drawn = svg_marks(chart)
    assert drawn["mark-symbol"] == 2 * 5  # every point of the two panels
    assert charts.frontier_chart(frame).to_dict()["facet"]["sort"] == ["Allele-frequency r", "Two-sample AUC", "TSTR"]
    with pytest.raises(ValueError, match="burden"):
        charts.frontier_chart(frame, metrics=("burden",))


def test_a_tagged_model_is_attacked_with_each_candidates_tag(attacked_run):
    """The models read a population tag after the start token (profile ``population_tags``):
    the attacker, who holds a candidate's whole record, reads it with its tag, and its
    reference models are trained with tags too; a tagged model given no populations is
    refused rather than scored on texts it never saw."""
    run = attacked_run["run"]
    directory = Run.of(run).model_dir("mingpt-epsinf")
    reference = Run.of(run).model_dir(chapter.reference_name("mingpt", "record", 0))
    assert experiments.is_tagged(directory) and experiments.is_tagged(reference)
    people = chapter.candidates(run, seed=0).head(4)
    job = chapter._view_job(run, directory, "record", people, artefacts.split_profiles(run, "public"), 5, 0, None)
    assert job["candidate_populations"] == list(people["superpopulation"])
    view = chapter.model_view(**job)
    model, tok = models.load_model(directory).eval(), tk.load(run, "record")
    first = list(people["variants"].iloc[0])
    tagged = mia.sequence_signals(model, [tk.encode_sample(tok, first, people["superpopulation"].iloc[0])])
    untagged = mia.sequence_signals(model, [tk.encode_sample(tok, first, None)])
    assert view["candidates"]["log_likelihood"].iloc[0] == pytest.approx(tagged["log_likelihood"].iloc[0])
    assert view["candidates"]["log_likelihood"].iloc[0] != pytest.approx(untagged["log_likelihood"].iloc[0])
    with pytest.raises(ValueError, match="population tags"):
        chapter.model_view(**dict(job, candidate_populations=None))
