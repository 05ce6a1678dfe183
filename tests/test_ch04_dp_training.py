"""lib.ch04_dp_training: private models on a run's splits, their privacy.json (in the model
directory) and history (in diagnostics/), reuse, secure mode, the grid, GPT-2 through
dp-transformers, and the chapter's tables and claims. Tiny sizes, real DP-SGD steps."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from conftest import make_small_run
from lib.runs import artefacts, experiments
from lib.dp import budget, privacy
from lib import ch04_dp_training as ch04
from lib.lm import models
from lib.core import profiles, rundir
from lib.runs.run import Run

PRIVACY_KEYS = {"epsilon", "target_epsilon", "delta", "sample_rate", "noise_multiplier", "steps", "epochs",
                "max_grad_norm", "accountant", "sampler", "secure_mode", "seed", "rank"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_small_run(tmp_path_factory.mktemp("dp"), seed=4, n_sites=30, samples_per_population=12)


@pytest.fixture(scope="module")
def settings():
    return profiles.resolve("smoke", model_n_layer=1, model_n_embd=16, model_block_size=128, train_epochs=2,
                            train_batch_size=6, dp_accountant="rdp")


def assert_released_model_is_clean(run, name):
    """The model directory holds weights, configuration, tokenizer, metadata and
    privacy.json -- no history, nothing computed on the members' data but through DP."""
    directory = Run.of(run).model_dir(name)
    assert (directory / privacy.PRIVACY_JSON).exists() and not (directory / "history.json").exists()
    meta = models.read_metadata(directory)
    assert not [key for key in meta if "sha256" in key] and "history" not in meta
    text = (directory / "metadata.json").read_text()
    assert not any(value in text for value in artefacts.input_digest(run, meta["tokenizer"]).values())
    history = artefacts.read_history(run, name)
    assert history["privacy_note"] == experiments.HISTORY_NOTE
    assert Run.of(run).history_path(name) == run / "diagnostics" / name / "history.json"
    return history


@pytest.mark.parametrize("family", ["mingpt", "gpt2"])
def test_private_model_records_what_it_spent(run, settings, family):
    model, history, directory, record = experiments.train_private(run, family, 8.0, settings, seed=1)
    assert directory == run / "models" / f"{family}-eps8"
    on_disk = json.loads((directory / privacy.PRIVACY_JSON).read_text())
    assert PRIVACY_KEYS <= set(on_disk) and on_disk == json.loads(json.dumps(record))
    assert record["sampler"] == "poisson" and record["target_epsilon"] == 8.0
    assert record["secure_mode"] is False and record["seed"] == 1 and record["rank"] == 0
    assert record["delta"] == settings["dp_delta"] and record["max_grad_norm"] == settings["dp_max_grad_norm"]
    assert record["steps"] == sum(e["steps"] for e in history["epochs"])
    shared = ch04.shared_settings(settings, record["n_train"])  # what the chapter's table shows
    assert shared["sample_rate"] == record["sample_rate"] and shared["steps"] == record["steps"]
    assert shared["secure_mode"] is False and "seeded" in ch04.shared_table(shared).loc["noise", "value"]
    expected = privacy.compute_epsilon(record["sample_rate"], record["noise_multiplier"], record["steps"],
                                       record["delta"], record["accountant"])
    assert record["epsilon"] == pytest.approx(expected, rel=1e-9) and record["epsilon"] <= 8.0 + 1e-6
    assert all(math.isfinite(e["train_loss"]) and 0 <= e["clipped_fraction"] <= 1 for e in history["epochs"])
    assert all(e["accountant"] == "rdp" for e in history["epochs"])
    assert history["epochs"][-1]["epsilon"] == pytest.approx(record["epsilon"], rel=1e-9)
    written = assert_released_model_is_clean(run, f"{family}-eps8")
    assert written["epochs"] == json.loads(json.dumps(history["epochs"]))
    assert models.read_metadata(directory)["privacy"] == on_disk
    assert models.family_of(models.load_model(directory)) == family  # GPT-2 saved in its standard layout
    # reused, not retrained, when nothing changed
    stamp = (directory / "model.safetensors").stat().st_mtime_ns
    _, again, _, record2 = experiments.train_private(run, family, 8.0, settings, seed=1)
    assert (directory / "model.safetensors").stat().st_mtime_ns == stamp
    assert record2 == on_disk and again["epochs"] == written["epochs"]


def test_secure_mode_run(run, settings):
    """``dp_secure_mode``: batches and noise from the OS; nothing seeded; recorded."""
    secure = dict(settings, dp_secure_mode=True)
    assert experiments.dp_settings(secure)["secure_mode"] is True and experiments.dp_settings(settings)["secure_mode"] is False
    _, history, directory, record = experiments.train_private(run, "mingpt", 6.0, secure, seed=1)
    on_disk = json.loads((directory / privacy.PRIVACY_JSON).read_text())
    assert on_disk["secure_mode"] is True and on_disk["seed"] is None
    assert record["epsilon"] == pytest.approx(privacy.compute_epsilon(
        record["sample_rate"], record["noise_multiplier"], record["steps"], record["delta"], record["accountant"]))
    assert record["epsilon"] <= 6.0 + 1e-6 and math.isfinite(history["epochs"][-1]["train_loss"])
    shared = ch04.shared_settings(secure, record["n_train"])
    assert shared["secure_mode"] and "CSPRNG" in ch04.shared_table(shared).loc["noise", "value"]
    assert_released_model_is_clean(run, "mingpt-eps6")


def test_gpt2_fine_tunes_privately_from_a_saved_base(run, settings):
    """A base loaded with from_pretrained comes back in eval mode; private set-up still works."""
    base = experiments.public_base(run, settings, seed=1)
    model, history, directory, record = experiments.train_private(run, "gpt2", 4.0, settings, seed=1, base_model=base)
    assert record["epsilon"] <= 4.0 + 1e-6 and math.isfinite(history["epochs"][-1]["train_loss"])
    assert models.read_metadata(directory)["base_model"]["base_sha256"] is not None


def test_grid_shares_everything_but_the_noise(run, settings):
    trained = ch04.train_grid(run, "mingpt", [float("inf"), 8.0, 2.0], dict(settings, dp_clip_only=False), seed=1)
    assert list(trained) == ["mingpt-epsinf", "mingpt-eps8", "mingpt-eps2"]
    assert trained["mingpt-epsinf"]["privacy"] is None
    assert all(item["tokenizer"] == "record" and item["family"] == "mingpt" for item in trained.values())
    sizes = {name: item["model"].config.n_embd for name, item in trained.items()}
    assert len(set(sizes.values())) == 1  # one architecture for every epsilon
    r8, r2 = trained["mingpt-eps8"]["privacy"], trained["mingpt-eps2"]["privacy"]
    assert r8["sample_rate"] == r2["sample_rate"] and r8["max_grad_norm"] == r2["max_grad_norm"]
    assert r2["noise_multiplier"] > r8["noise_multiplier"]  # more privacy, more noise
    epochs = ch04.epoch_frame(trained)
    assert set(epochs["epsilon"]) == {"∞", "8", "2"}
    assert epochs.loc[epochs["epsilon"] == "∞", "epsilon_spent"].isna().all()
    assert epochs.loc[epochs["epsilon"] != "∞", "clipped_fraction"].between(0, 1).all()
    summary = ch04.summary_frame(trained)
    assert summary.set_index("model").loc["mingpt-eps2", "noise_multiplier"] == r2["noise_multiplier"]
    # the noise of one step against the largest signal: sigma sqrt(d) / (q n), more for less epsilon
    rows = summary.set_index("model")
    d = models.num_parameters(trained["mingpt-eps2"]["model"])
    assert rows.loc["mingpt-eps2", "parameters"] == d == rows.loc["mingpt-epsinf", "parameters"]
    assert rows.loc["mingpt-eps2", "noise_to_signal"] == pytest.approx(
        r2["noise_multiplier"] * d ** 0.5 / (r2["sample_rate"] * r2["n_train"]))
    assert rows.loc["mingpt-eps2", "noise_to_signal"] > rows.loc["mingpt-eps8", "noise_to_signal"]
    assert pd.isna(rows.loc["mingpt-epsinf", "noise_to_signal"])
    formatted = ch04.format_summary(summary)
    assert formatted.loc["mingpt-epsinf", "target ε"] == "∞" and formatted.loc["mingpt-eps2", "target ε"] == "2"
    # accountant_table: every private run's epsilon recomputed from its privacy.json alone
    table = ch04.accountant_table(trained).set_index("model")
    assert list(table.index) == ["mingpt-eps8", "mingpt-eps2"]
    for name in table.index:
        row = table.loc[name]
        assert row["same accountant"] == pytest.approx(row["recorded"], rel=1e-9) and row["accountant"] == "rdp"
        assert row["rdp"] == pytest.approx(row["recorded"], rel=1e-9)
        assert row["dp-transformers accountant"] in ("prv", "rdp") and 0 < row["dp-transformers"] <= row["rdp"] * 1.01
    assert ch04.format_accountants(ch04.accountant_table(trained)).shape == (2, 4)
    # claims: true of these runs, and naming a run that overspent when one did
    claims = ch04.claims(summary, ch04.accountant_table(trained))
    assert claims["targets_claim"].startswith("every private run spent at most its target ε")
    assert claims["full_runs"].endswith("of 2") and float(claims["recomputed_gap"]) < 1e-6
    rdp_low, rdp_high = map(float, claims["rdp_looser"].split(" to "))
    assert rdp_low == pytest.approx(1.0) and rdp_high == pytest.approx(1.0)
    faked = summary.copy()
    faked.loc[faked["model"] == "mingpt-eps2", "epsilon_spent"] = 2.5
    over = ch04.claims(faked, ch04.accountant_table(trained))["targets_claim"]
    assert over == "1 private run(s) spent more than the target ε: mingpt-eps2"


def test_impossible_epsilon_is_refused_before_training(run, settings):
    for bad in (0.0, -1.0, float("nan")):  # inf is the clip-only run (test_clip_only_run)
        with pytest.raises(ValueError, match="epsilon"):
            experiments.train_private(run, "mingpt", bad, settings)
    with pytest.raises(ValueError, match="delta"):
        experiments.train_private(run, "mingpt", 3.0, dict(settings, dp_delta=0.5))
    assert not (run / "models" / "mingpt-eps3").exists()
    assert not (run / "diagnostics" / "mingpt-eps3").exists()
    with pytest.raises(ValueError, match="epsilon"):
        experiments.epsilon_grid(settings, float("nan"))
    assert experiments.epsilon_grid(settings) == [float("inf")] + [float(e) for e in settings["dp_epsilons"]]
    assert experiments.epsilon_grid(settings, 3) == [float("inf"), 3.0]


def test_dp_transformers_beside_opacus(run, settings):
    """GPT-2 at one budget through dp-transformers: saved with privacy.json (epsilon at
    most the target), its history in diagnostics/; and the chapter's comparison of the
    two trainers, with their accountants and claims."""
    base = experiments.public_base(run, settings, seed=0)
    trained = ch04.train_grid(run, "gpt2", [float("inf")], settings, seed=0, base_model=base)
    assert ch04.compare_trainers(run, trained, None, settings) == {}
    compared = ch04.compare_trainers(run, trained, 8.0, settings, seed=0, base_model=base)
    name = "gpt2-dptransformers-eps8"
    assert list(compared) == [name, "gpt2-eps8"]  # the Opacus run at that epsilon was not in the grid
    theirs = compared[name]
    directory = run / "models" / name
    assert theirs["directory"] == directory and theirs["family"] == "gpt2" and theirs["epsilon"] == 8.0
    record = json.loads((directory / privacy.PRIVACY_JSON).read_text())
    assert record == theirs["privacy"] and record["trainer"].startswith("dp-transformers")
    assert record["sampler"] == "poisson"
    assert 0 < record["epsilon"] <= 8.0 + 1e-6 and record["target_epsilon"] == 8.0
    assert record["delta"] == settings["dp_delta"] and record["max_grad_norm"] == settings["dp_max_grad_norm"]
    history = assert_released_model_is_clean(run, name)
    assert history["trainer"] == "dp-transformers" and len(history["epochs"]) >= 1
    assert models.read_metadata(directory)["base_model"]["base_sha256"] == rundir.sha256(base / "model.safetensors")
    # reused when nothing changed
    stamp = (directory / "model.safetensors").stat().st_mtime_ns
    again = ch04.train_dp_transformers(run, 8.0, settings, seed=0, base_model=base)
    assert (directory / "model.safetensors").stat().st_mtime_ns == stamp and again["privacy"] == record
    # the comparison: one row per trainer, the same target and delta, sane numbers
    everything = {**trained, **compared}
    look = pd.DataFrame({"cohort": ["gpt2-eps8", name], "variants per sample": [3.0, 4.0],
                         "AF r (holdout)": [0.5, 0.25]})
    table = ch04.trainer_comparison(trained, compared, look)
    assert list(table["model"]) == ["gpt2-eps8", name]
    assert (table["target ε"] == 8.0).all() and (table["δ"] == settings["dp_delta"]).all()
    assert (table["ε spent"] <= 8.0 + 1e-6).all() and (table["ε spent"] > 0).all()
    assert table["q"].between(0, 1).all() and (table["noise σ"] > 0).all() and (table["steps"] > 0).all()
    assert table["variants per person"].tolist() == [3.0, 4.0] and table["AF r (holdout)"].tolist() == [0.5, 0.25]
    assert ch04.trainer_comparison(trained, {}, look) is None
    assert "not compared" in ch04.format_trainer_comparison(None).iloc[0, 0]  # dp_transformers_epsilon=None
    assert list(ch04.format_trainer_comparison(table).columns) == ["Opacus (this book's loop)",
                                                         "dp-transformers (compatibility layer)"]
    accountants = ch04.accountant_table(everything).set_index("model")
    assert list(accountants.index) == [name, "gpt2-eps8"]
    row = accountants.loc[name]
    assert row["recorded"] <= 8.0 + 1e-6 and row["rdp"] >= row["recorded"] * (1 - 1e-6)
    summary = ch04.summary_frame(everything)
    assert summary.set_index("model").loc[name, "sample_rate"] == record["sampling_rate"]
    claims = ch04.claims(summary, ch04.accountant_table(everything))
    assert claims["targets_claim"].startswith("every private run spent at most its target ε")
    assert claims["dp_transformers_gap"] == "–" or float(claims["dp_transformers_gap"]) >= 0
    assert claims["dp_transformers_within"] in ("within", "beyond")


def test_clip_only_run_has_the_batches_and_clipping_but_no_noise(run, settings):
    """``dp_clip_only``: beside ∞, the same Poisson batches and per-person clipping with a
    noise multiplier of 0 -- no guarantee (epsilon None), labelled apart on the charts."""
    grid = ch04.train_grid(run, "mingpt", [float("inf")], dict(settings, dp_clip_only=True), seed=2)
    assert list(grid) == ["mingpt-epsinf", "mingpt-cliponly-epsinf"]
    item = grid["mingpt-cliponly-epsinf"]
    record = item["privacy"]
    assert record["clip_only"] is True and record["epsilon"] is None and record["noise_multiplier"] == 0.0
    assert record["sampler"] == "poisson" and record["steps"] > 0
    assert all(entry["epsilon"] is None and entry["clipped_fraction"] is not None
               for entry in item["history"]["epochs"])
    assert_released_model_is_clean(run, "mingpt-cliponly-epsinf")
    summary = ch04.summary_frame(grid)
    assert summary["epsilon"].tolist() == ["∞", budget.CLIP_ONLY_LABEL]
    assert ch04.accountant_table(grid).empty  # no epsilon to recompute
    cost = ch04.claims(summary.assign(planned_epochs=summary["epochs"]), ch04.accountant_table(grid))
    assert cost["clip_cost_claim"].startswith("mingpt: clipping alone")
    assert budget.order(["∞", "8", budget.CLIP_ONLY_LABEL, "1"]) == ["1", "8", budget.CLIP_ONLY_LABEL, "∞"]
    assert math.isinf(privacy.compute_epsilon(0.1, 0.0, 10, 1e-5))


def test_goals_and_the_regularisation_claim():
    """The goal table marks each cohort against the goals of its ε; the claims say whether
    any private model beats its family's non-private validation loss."""
    look = pd.DataFrame({"cohort": ["holdout (real)", "mingpt-epsinf", "mingpt-eps8", "mingpt-eps8-unconstrained",
                                    "mingpt-eps1"],
                         "variants per sample": [50.0, 52.0, 62.0, 70.0, 74.0], "sd": [10.0, 12.0, 16.0, 20.0, 50.0],
                         "AF r (holdout)": [1.0, 0.97, 0.95, 0.9, 0.76], "validity": [1.0, 1.0, 1.0, 0.4, 1.0]})
    goals = ch04.goal_table(look, families=("mingpt",)).set_index("model")
    assert goals["met"].to_dict() == {"mingpt-epsinf": True, "mingpt-eps8": False, "mingpt-eps1": True}
    assert goals.loc["mingpt-eps8", "mean deviation"] == pytest.approx(0.24)
    assert goals.loc["mingpt-eps8", "unconstrained validity"] == 0.4 and pd.isna(goals.loc["mingpt-eps1", "sd goal"])
    shown = ch04.format_goals(goals.reset_index())
    assert shown.loc["mingpt-eps8", "variants / person vs real (goal)"] == "+24% (±20%) ✗"
    summary = pd.DataFrame({"model": ["mingpt-epsinf", "mingpt-eps8", "mingpt-eps1"], "family": "mingpt",
                            "epsilon": ["∞", "8", "1"], "target_epsilon": [None, 8.0, 1.0],
                            "epsilon_spent": [None, 7.9, 1.0], "epochs": 2, "planned_epochs": 2,
                            "best_val_loss": [2.0, 1.9, 2.5], "seed": 0})
    accountants = pd.DataFrame({"recorded": [7.9], "same accountant": [7.9], "rdp": [8.5],
                                "dp-transformers": [7.95], "dp-transformers accountant": ["prv"]})
    # one seed per setting: nothing can be told apart, whatever the numbers
    one = ch04.claims(summary, accountants)["regularises_claim"]
    assert one.startswith("0 of the 2 private settings") and "one seed gives no interval" in one
    # three seeds per setting: the seed-to-seed spread decides
    seeds = pd.concat([summary.assign(seed=k, best_val_loss=summary["best_val_loss"] + 0.01 * k) for k in range(3)],
                      ignore_index=True)
    claims = ch04.claims(seeds, accountants)
    assert claims["regularises_claim"].startswith("1 of the 2 private settings (mingpt ε = 8)")
    assert "1 a higher one (mingpt ε = 1)" in claims["regularises_claim"]
    noisy = seeds.assign(best_val_loss=seeds["best_val_loss"] + [0.0, 0.3, 0.0, 0.0, -0.3, 0.0, 0.0, 0.0, 0.0])
    said = ch04.claims(noisy, accountants)["regularises_claim"]  # the seeds of ε = 8 disagree
    assert said.startswith("0 of the 2 private settings") and "and 1 cannot be told apart" in said
    quick = profiles.resolve("quick")
    numbers = ch04.numbers(quick, {"n_train": 100, "delta": 1e-5, "expected_batch_size": 10.0},
                           summary.assign(noise_multiplier=[None, 1.0, 2.0], noise_to_signal=[None, 3.0, 6.0],
                                          parameters=1000), None, 60.0, goals.reset_index())
    assert numbers["goals_met"] == "2 of 3" and numbers["goals_missed"] == "mingpt-eps8"
    # the settings the prose states come from the profile: the quick one's, then the full one's
    assert (numbers["mingpt_lr"], numbers["gpt2_lr"], numbers["mingpt_tied"]) == ("0.01", "0.003", "tied")
    assert numbers["mingpt_positions"].startswith("fixed sinusoids") and "public" in numbers["context_from"]
    full = experiments.settings_text(profiles.resolve("full", model_block_size=4096))
    assert full["mingpt_positions"] == "a learned table" and full["mingpt_tied"] == "untied"
    assert full["context_from"] == "4,096 tokens, fixed by the profile" and full["mingpt_lr"] == "0.001"


def test_private_baselines_are_released_beside_the_models(run, settings):
    """Both private baselines at every private ε of the grid and every training seed, on
    the same members and δ: each cohort written by the models' VCF writer and read back by
    pysam, valid on the panel; its privacy.json holds what a run may release (the ε its
    accountant computed, at most the target) and nothing counted on the members, which goes
    to diagnostics/; a rerun reuses every release; the privacy chapter never takes a
    baseline for a model to attack through weights, and attacks its cohort instead."""
    from lib.dp import baselines
    from lib import ch06_privacy
    from lib.runs import comparison

    grid = [float("inf"), 8.0, 1.0]
    made = ch04.release_baselines(run, grid, settings, n_samples=12, seed=3, n_seeds=2)
    assert sorted(made) == sorted(f"{m}-eps{e}{s}" for m in ("sites", "mst") for e in ("8", "1")
                                  for s in ("", "-seed1"))
    panel, _ = artefacts.load_panel(run)
    members = len(artefacts.load_splits(run)["train"])
    for name, item in made.items():
        paths = ch04.baseline_paths(run, name)
        cohort = artefacts.read_synthetic(run, name, panel)
        assert cohort.n_samples == 12 and item["validity"]["valid_rate"] == 1.0
        record = json.loads(paths["privacy"].read_text())
        assert record["epsilon"] <= item["epsilon"] * 1.001 and record["delta"] == experiments.dp_settings(settings)["delta"]
        assert record["neighbouring"] == baselines.NEIGHBOURS and baselines.OUTSIDE not in record
        assert baselines.OUTSIDE not in paths["summary"].read_text()
        outside = json.loads(paths["outside"].read_text())[baselines.OUTSIDE]
        assert outside["members"] == members and paths["outside"].parent == run / "diagnostics" / name
        assert sorted(p.name for p in Run.of(run).model_dir(name).iterdir()) == [privacy.PRIVACY_JSON]
    assert made["sites-eps8"]["privacy"]["contribution_bound"] >= 1 and "rho" in made["mst-eps1"]["privacy"]
    # different seeds, different noise; the same seed, the same cohort
    assert (artefacts.read_synthetic_profiles(run, "sites-eps1") != artefacts.read_synthetic_profiles(run, "sites-eps1-seed1"))
    stamps = {name: ch04.baseline_paths(run, name)["vcf"].stat().st_mtime_ns for name in made}
    again = ch04.release_baselines(run, grid, settings, n_samples=12, seed=3, n_seeds=2)
    assert {name: ch04.baseline_paths(run, name)["vcf"].stat().st_mtime_ns for name in again} == stamps
    table = ch04.baseline_table(made)
    assert table.index.tolist() == ["sites-eps8", "sites-eps1", "mst-eps8", "mst-eps1"]
    assert set(table["seeds"]) == {2} and table.loc["mst-eps1", "mechanism"] == baselines.MST
    said = ch04.baseline_numbers(made, 30.0)
    assert said["n_baselines"] == "8" and said["baseline_minutes"] == "0.5" and float(said["baseline_eps_gap"]) < 0.01
    # the chapters that follow: a baseline is a cohort, never a model target
    found = comparison.catalogue(run).set_index("cohort")
    assert found.loc["mst-eps1-seed1", ["family", "setting", "seed", "tokenizer"]].tolist() == ["mst", "mst-eps1", 1, ""]
    try:  # alone, the module's models are not trained yet: only baselines, so no target at all
        names = set(ch06_privacy.targets(run)["model"])
    except FileNotFoundError as error:
        assert "no trained model" in str(error)
        names = set()
    assert not names & set(made)
    listed = ch06_privacy.baseline_targets(run).set_index("model")
    assert sorted(listed.index) == sorted(made)
    assert listed.loc["sites-eps8", "accountant_epsilon"] == pytest.approx(made["sites-eps8"]["privacy"]["epsilon"])
    # names: a baseline has a finite ε, no tokenizer, no variant
    assert artefacts.model_name("mst", eps=3, seed=2) == "mst-eps3-seed2" and artefacts.is_baseline("sites")
    for bad in (dict(eps=float("inf")), dict(eps=8, tokenizer_name="record"), dict(eps=8, variant="cliponly")):
        with pytest.raises(ValueError, match="private baseline"):
            artefacts.model_name("sites", **bad)
    with pytest.raises(ValueError, match="mechanism"):
        ch04.release_baselines(run, [8.0], settings, n_samples=4, mechanisms=("aim",))


def test_decoding_is_chosen_on_the_validation_people_and_used_for_every_seed(run, settings):
    """Each private setting samples its first seed's model at every point of the grid
    against the validation people; the point closest to 0.5 is chosen, every seed of the
    setting is sampled with it (the public prior's weights recorded with the cohort), the
    non-private models keep plain sampling, and the table is reused while nothing changed."""
    decoding = dict(settings, dp_clip_only=False, decoding_temperatures=[1.0, 0.8], decoding_prior_weights=[0.0, 0.5])
    trained = ch04.train_grid(run, "mingpt", [float("inf"), 8.0], decoding, seed=1)
    trained.update(ch04.train_grid(run, "mingpt", [8.0], decoding, seed=1, seed_index=1))
    assert ch04.decoding_grid(decoding)[0] == {"temperature": 1.0, "prior_weight": 0.0}
    assert len(ch04.decoding_grid(decoding)) == 4 and ch04.decoding_grid({}) == [ch04.decoding_grid(decoding)[0]]
    with pytest.raises(ValueError, match="prior_weight"):
        ch04.decoding_grid(dict(decoding, decoding_prior_weights=[1.0]))
    table = ch04.choose_decoding(run, trained, decoding, seed=1)
    assert table["model"].unique().tolist() == ["mingpt-eps8"] and len(table) == 4  # first seed, private only
    assert table["chosen"].sum() == 1
    best = table.loc[(table["auc"] - 0.5).abs().idxmin()]
    assert table.loc[table["chosen"]].iloc[0].equals(best)
    path = run / "metrics" / "04_decoding.csv"
    stamp = path.stat().st_mtime_ns
    assert ch04.choose_decoding(run, trained, decoding, seed=1).equals(table) and path.stat().st_mtime_ns == stamp
    # force the prior: every seed of the setting takes it, the non-private model does not
    forced = table.assign(chosen=(table["temperature"] == 0.8) & (table["prior_weight"] == 0.5))
    sampled = ch04.with_decoding(run, trained, forced, decoding, seed=1)
    for name in ("mingpt-eps8", "mingpt-eps8-seed1"):
        assert sampled[name]["sampling"]["temperature"] == 0.8 and sampled[name]["sampling"]["prior_weight"] == 0.5
        assert (Run.of(run).model_dir("mingpt-public-base") / "model.safetensors").exists()
    assert "sampling" not in sampled["mingpt-epsinf"]
    cohorts = ch04.synthesize_private(run, {k: v for k, v in sampled.items() if k != "mingpt-epsinf"}, 6, seed=1)
    assert {"mingpt-eps8", "mingpt-eps8-seed1"} <= set(cohorts)
    written = json.loads(Run.of(run).synthetic_paths("mingpt-eps8-seed1")["summary"].read_text())
    assert written["sampling"]["prior_weight"] == 0.5 and written["prior_sha256"]
    assert "λ 0.5" in ch04.decoding_summary(forced) and "choose_decoding=False" in ch04.decoding_summary(None)
    assert ch04.choose_decoding(run, trained, decoding, enabled=False) is None
    assert ch04.with_decoding(run, trained, None, decoding).keys() == trained.keys()
    assert ch04.decoding_table(table).shape[0] == 4
