"""lib.ch03_models (with the artefacts, generation and utility functions it calls):
training on a run's splits, where the model and its history go (the history is a
diagnostic in ``diagnostics/``, the model directory holds nothing computed on the members),
reuse through the manifest, the public GPT-2 base, unconditional synthesis from the public
panel (constrained and not) and the first-look table. Tiny sizes: a small simulated run,
one-layer models, one epoch."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch

from conftest import make_small_run
from lib.runs import artefacts, experiments
from lib.dp import budget
from lib import ch03_models as ch03
from lib.lm import generation, models
from lib.core import profiles, rundir
from lib.genomes import profiletext
from lib.evaluation import utility
from lib.lm import tokenization as tk
from lib.runs.run import Run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_small_run(tmp_path_factory.mktemp("ch03"), seed=3, n_sites=40, samples_per_population=10, bpe=True)


@pytest.fixture(scope="module")
def settings():
    return profiles.resolve("smoke", model_n_layer=1, model_n_embd=16, model_block_size=256, train_epochs=1)


def member_checksums(run: Path) -> dict[str, str]:
    """The checksums of what the members' data wrote (the reuse keys of the manifest)."""
    return artefacts.input_digest(run, "variant")


def test_model_names_follow_the_run_directory_contract():
    # each family's main tokenizer (the minGPT's one-token records, GPT-2's two tokens) is left out
    assert artefacts.main_tokenizer("mingpt") == "record" and artefacts.main_tokenizer("gpt2") == "variant"
    assert artefacts.model_name("mingpt") == artefacts.model_name("mingpt", "record") == "mingpt-epsinf"
    assert artefacts.model_name("mingpt", "variant") == "mingpt-variant-epsinf"
    assert artefacts.model_name("gpt2", "variant") == artefacts.model_name("gpt2") == "gpt2-epsinf"
    assert artefacts.model_name("gpt2", "record", 8) == "gpt2-record-eps8"
    assert artefacts.base_name("gpt2") == "gpt2-public-base"
    assert artefacts.base_name("mingpt", "variant") == "mingpt-variant-public-base"
    assert artefacts.model_name("mingpt", "bpe") == "mingpt-bpe-epsinf"
    assert artefacts.model_name("gpt2", "variant", 8.0) == "gpt2-eps8"
    assert artefacts.model_name("gpt2", "variant", 3, variant="dptransformers") == "gpt2-dptransformers-eps3"
    assert artefacts.model_name("mingpt", "bpe", 0.5, variant="x") == "mingpt-bpe-x-eps0.5"
    assert budget.name_text(8.0) == "8" and budget.name_text(0.5) == "0.5" and budget.name_text("inf") == "inf"
    with pytest.raises(ValueError, match="family"):
        artefacts.model_name("lstm")
    with pytest.raises(ValueError, match="epsilon"):
        budget.name_text(0)


def test_encode_split_follows_the_splits(run):
    tok = tk.load(run, "variant")
    splits = artefacts.load_splits(run)
    ids = artefacts.encode_split(run, tok, "train")
    assert len(ids) == len(splits["train"]) == experiments.members_count(run)
    assert experiments.holdout_size(run) == len(splits["holdout"])
    assert all(seq[0] == tok.bos_token_id and seq[-1] == tok.eos_token_id for seq in ids)
    tagged = artefacts.encode_split(run, tok, "train", with_population=True)
    assert all(t[1] in {tok.convert_tokens_to_ids(p) for p in tk.POPULATION_TOKENS.values()} for t in tagged)
    with pytest.raises(ValueError, match="split"):
        artefacts.encode_split(run, tok, "members")


def test_missing_chapters_give_a_clear_error(tmp_path, settings):
    with pytest.raises(FileNotFoundError, match="01_data"):
        experiments.train_model(rundir.run_path(tmp_path / "empty", "smoke"), "mingpt", None, settings)
    with pytest.raises(ValueError, match="family"):
        artefacts.main_tokenizer("lstm")


def test_train_saves_and_reuses(run, settings):
    model, history, directory = experiments.train_model(run, "mingpt", None, settings, seed=1)
    assert directory == run / "models" / "mingpt-epsinf"
    assert (directory / "model.safetensors").exists()
    assert len(history["epochs"]) == 1 and history["epochs"][0]["val_loss"] > 0
    # the history is a diagnostic: in diagnostics/<name>/, labelled, never in the model's directory
    path = Run.of(run).history_path("mingpt-epsinf")
    assert path == run / "diagnostics" / "mingpt-epsinf" / "history.json"
    written = json.loads(path.read_text())
    assert written["privacy_note"] == experiments.HISTORY_NOTE and "outside the privacy guarantee" in written["privacy_note"]
    assert written["epochs"] == json.loads(json.dumps(history["epochs"]))
    assert not (directory / "history.json").exists()
    assert not any("train_loss" in p.read_text() for p in directory.glob("*.json"))
    # metadata.json: what the model is, nothing computed from the members
    meta = models.read_metadata(directory)
    assert meta["eps"] == "inf" and meta["n_train"] == len(artefacts.load_splits(run)["train"])
    assert meta["train_split"] == "train" and meta["tokenizer"] == "record" and meta["base_model"] is None
    assert not [key for key in meta if "sha256" in key]
    text = (directory / "metadata.json").read_text()
    assert not any(value in text for value in member_checksums(run).values())
    assert "history" not in meta
    # reused, not retrained, when nothing changed
    stamp = (directory / "model.safetensors").stat().st_mtime_ns
    again, history2, _ = experiments.train_model(run, "mingpt", "record", settings, seed=1)
    assert (directory / "model.safetensors").stat().st_mtime_ns == stamp
    assert history2["epochs"] == json.loads(json.dumps(history["epochs"]))
    assert all((a == b).all() for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    experiments.train_model(run, "mingpt", None, settings, seed=2)  # another seed: retrained
    assert (directory / "model.safetensors").stat().st_mtime_ns != stamp


def test_a_model_without_its_history_is_retrained(run, settings):
    """The history is one of the artefacts that decide reuse: deleting it retrains."""
    _, _, directory = experiments.train_model(run, "mingpt", None, settings, seed=2)
    stamp = (directory / "model.safetensors").stat().st_mtime_ns
    Run.of(run).history_path("mingpt-epsinf").unlink()
    with pytest.raises(FileNotFoundError, match="history.json"):
        artefacts.read_history(run, "mingpt-epsinf")
    _, history, _ = experiments.train_model(run, "mingpt", None, settings, seed=2)
    assert (directory / "model.safetensors").stat().st_mtime_ns != stamp
    assert artefacts.read_history(run, "mingpt-epsinf")["epochs"] == json.loads(json.dumps(history["epochs"]))


def test_save_trained_writes_extra_files_and_the_manifest(run, settings):
    tok = tk.load(run, "variant")
    model = models.build_model("mingpt", models.sizes_from_profile(dict(settings), "mingpt"), tok, seed=0)
    history = {"epochs": [{"epoch": 1, "train_loss": 3.0}], "best_val_loss": None}
    params = {"test": "save_trained", "seed": 0}
    paths = experiments.save_trained(run, model, "saved-epsinf", tok, history, params, metadata={"name": "saved-epsinf"},
                              extra={"privacy.json": {"epsilon": 1.0}})
    directory = Run.of(run).model_dir("saved-epsinf")
    assert paths == [directory / "model.safetensors", directory / "privacy.json",
                     Run.of(run).history_path("saved-epsinf")]
    assert json.loads((directory / "privacy.json").read_text()) == {"epsilon": 1.0}
    assert not (directory / "history.json").exists()
    assert artefacts.read_history(run, "saved-epsinf") == dict(history, privacy_note=experiments.HISTORY_NOTE)
    assert models.read_metadata(directory)["name"] == "saved-epsinf"
    assert rundir.is_current(run, params, paths) and not rundir.is_current(run, dict(params, seed=1), paths)
    assert experiments.release_metadata("m", float("inf"), 0, "variant", None)["eps"] == float("inf")
    assert experiments.release_metadata("m", "inf", 0, "variant", None, n_train=3) == dict(
        name="m", eps="inf", seed=0, tokenizer="variant", train_split="train", validation_split="validation",
        base_model=None, n_train=3)


def test_public_base_and_gpt2_fine_tuning(run, settings):
    base = experiments.public_base(run, settings, seed=0)
    assert base == run / "models" / "gpt2-public-base"
    meta = models.read_metadata(base)
    public = artefacts.split_profiles(run, "public")
    assert meta["split"] == "public" and set(meta["samples"]) == set(artefacts.load_splits(run)["public"])
    assert meta["role"] == "public pre-trained base" and meta["public_texts"] == len(public)
    assert meta["population_tags"] is True  # the profile's tags: each public person's after the start token
    texts = [tk.sample_to_text(list(r), p) for r, p in zip(public["variants"], public["superpopulation"])]
    assert meta["public_texts_sha256"] == hashlib.sha256("\n".join(texts).encode()).hexdigest()
    stamp = (base / "model.safetensors").stat().st_mtime_ns
    assert experiments.public_base(run, settings, seed=0) == base  # reused
    assert (base / "model.safetensors").stat().st_mtime_ns == stamp
    model, history, directory = experiments.train_model(run, "gpt2", "variant", settings, seed=0, base_model=base)
    assert directory.name == "gpt2-epsinf" and (directory / "model.safetensors").exists()
    assert models.read_metadata(directory)["base_model"]["base_sha256"] == rundir.sha256(base / "model.safetensors")
    assert experiments.base_record(run, None) is None
    # the base is recorded relative to the run, so a moved run directory reuses its models
    assert models.read_metadata(directory)["base_model"]["base_model"] == "models/gpt2-public-base"
    assert experiments.base_record(run, base)["base_model"] == "models/gpt2-public-base"


def test_synthesize_constrained_is_valid_and_written(run, settings):
    # BPE learned on a few public people compresses little: its profiles need a longer block
    model, _, directory = experiments.train_model(run, "mingpt", "bpe", dict(settings, model_block_size=512), seed=0)
    tok = tk.load(run, "bpe")
    panel, phased = artefacts.load_panel(run)
    profiles_, validity = experiments.synthesize(run, model, tok, 6, seed=0, name="mingpt-bpe-epsinf", model_path=directory)
    assert len(profiles_) == 6 and validity["valid_rate"] == 1.0 and validity["valid_samples"] == 6
    path = run / "synthetic" / "mingpt-bpe-epsinf.vcf.gz"
    with pysam.VariantFile(str(path)) as vcf:
        assert len(list(vcf.header.samples)) == 6 and sum(1 for _ in vcf) == panel.n_sites
    synthetic = artefacts.read_synthetic(run, "mingpt-bpe-epsinf", panel)
    assert utility.profile_lengths(synthetic).tolist() == [len(p) for p in profiles_]
    assert artefacts.read_synthetic_profiles(run, "mingpt-bpe-epsinf") == profiles_
    # trained with population tags, each synthetic person is prompted with one, in the public proportions
    assert experiments.is_tagged(directory)
    tags = artefacts.read_synthetic_populations(run, "mingpt-bpe-epsinf")
    assert tags == experiments.population_draw(run, 6, seed=0)
    assert "population tag" in json.loads((run / "synthetic" / "mingpt-bpe-epsinf.json").read_text())["prompt"]
    assert artefacts.read_validity(run, "mingpt-bpe-epsinf") == validity
    separator = "|" if phased else "/"  # the public people's phasing convention
    assert all(record.rsplit("_", 1)[1][1] == separator for p in profiles_ for record in p)
    again, _ = experiments.synthesize(run, model, tok, 6, seed=0, name="mingpt-bpe-epsinf", model_path=directory)
    assert again == profiles_  # reused (same model, settings and seed)


def test_population_draw_follows_the_public_proportions(run):
    public = artefacts.split_profiles(run, "public")["superpopulation"]
    draw = experiments.population_draw(run, 50, seed=1)
    expected = public.value_counts(normalize=True) * 50
    counts = pd.Series(draw).value_counts().reindex(expected.index, fill_value=0)
    assert len(draw) == 50 and ((counts - expected).abs() < 1).all() and set(draw) == set(public)
    assert draw == experiments.population_draw(run, 50, seed=1) != experiments.population_draw(run, 50, seed=2)
    tok = tk.load(run, "variant")
    prompts, pops = experiments.sampling_prompts(run, tok, 3, seed=1, tagged=True)
    assert [tok.convert_ids_to_tokens(p) for p in prompts] == [[tk.BOS, tk.POPULATION_TOKENS[p]] for p in pops]
    assert experiments.sampling_prompts(run, tok, 2, tagged=False) == ([[tok.bos_token_id]] * 2, None)


def test_synthesize_reads_the_public_panel_and_never_the_members(run, settings, monkeypatch):
    """Synthesis sees the public panel (:func:`lib.runs.artefacts.load_panel`: sites, no
    people) and nothing of the members: reading the cohort, its VCF or the profiles fails
    here, and it still writes a valid cohort."""
    from lib.genomes import vcf

    model, _, directory = experiments.train_model(run, "mingpt", "variant", settings, seed=2)
    tok = tk.load(run, "variant")
    loaded = []
    load_panel = artefacts.load_panel
    monkeypatch.setattr(artefacts, "load_panel", lambda r: loaded.append(r) or load_panel(r))

    def forbidden(*args, **kwargs):
        raise AssertionError("synthesize read the members' data")

    for name in ("load_cohort", "read_profiles", "split_profiles", "encode_split", "read_synthetic"):
        monkeypatch.setattr(artefacts, name, forbidden)
    monkeypatch.setattr(vcf, "read_vcf", forbidden)
    profiles_, validity = experiments.synthesize(run, model, tok, 4, seed=1, name="public-only", model_path=directory)
    assert [Path(r) for r in loaded] == [Path(run)] and validity["valid_rate"] == 1.0 and len(profiles_) == 4
    monkeypatch.undo()
    panel, _ = artefacts.load_panel(run)
    assert artefacts.read_synthetic(run, "public-only", panel).n_samples == 4


def test_synthesize_variant_tokenizer_any_order_is_sorted_and_recorded(run, settings):
    """With the variant tokenizer constrained decoding takes sites in any order: the
    written profiles are in panel order and valid, and the order is in the manifest
    parameters and the summary (a cohort made under the other order is not reused)."""
    model, _, directory = experiments.train_model(run, "mingpt", "variant", settings, seed=2)
    tok = tk.load(run, "variant")
    panel, _ = artefacts.load_panel(run)
    profiles_, validity = experiments.synthesize(run, model, tok, 6, seed=0, name="v", model_path=directory)
    assert validity["valid_rate"] == 1.0 and validity["out_of_order"] == 0 and validity["duplicate"] == 0
    index = {key: i for i, key in enumerate(profiletext.site_keys(panel))}
    for records in profiles_:
        sites = [index[r.rsplit("_", 1)[0]] for r in records]
        assert sites == sorted(sites) and len(set(sites)) == len(sites)
    summary = json.loads((run / "synthetic" / "v.json").read_text())
    assert summary["order"] == "any" and summary["summary"] == validity
    stamp = (run / "synthetic" / "v.vcf.gz").stat().st_mtime_ns
    _, ordered = experiments.synthesize(run, model, tok, 6, seed=0, name="v", model_path=directory, order="sorted")
    assert ordered["valid_rate"] == 1.0 and json.loads((run / "synthetic" / "v.json").read_text())["order"] == "sorted"
    assert (run / "synthetic" / "v.vcf.gz").stat().st_mtime_ns != stamp  # made again, not reused


def test_synthesize_unconstrained_is_measured(run, settings):
    model, _, directory = experiments.train_model(run, "mingpt", "variant", settings, seed=2)
    tok = tk.load(run, "variant")
    _, validity = experiments.synthesize(run, model, tok, 4, seed=0, name="u", constrained=False,
                                  sampling=generation.SamplingConfig(max_new_tokens=40), model_path=directory)
    assert validity["n_samples"] == 4 and 0.0 <= validity["valid_rate"] <= 1.0
    assert validity["records"] == sum(validity[k] for k in ("valid", "malformed", "off_panel", "wrong_alleles",
                                                            "bad_genotype", "out_of_order", "duplicate"))
    with pytest.raises(ValueError, match="block size"):
        experiments.synthesize(run, model, tok, 1, sampling=generation.SamplingConfig(max_new_tokens=10_000))


def test_synthesize_all_and_the_validity_table(run, settings):
    model, history, directory = experiments.train_model(run, "mingpt", None, settings, seed=2)
    trained = {"mingpt-epsinf": dict(model=model, history=history, directory=directory, family="mingpt",
                                     tokenizer="record")}
    cohorts = experiments.synthesize_all(run, trained, 3, seed=0)
    assert list(cohorts) == ["mingpt-epsinf", "mingpt-epsinf-unconstrained"]
    for made in cohorts.values():
        assert made["cohort"].n_samples == 3 and made["validity"]["n_samples"] == 3 and made["seconds"] >= 0
    assert cohorts["mingpt-epsinf"]["validity"]["valid_rate"] == 1.0
    table = ch03.validity_table(cohorts)
    assert table.loc["mingpt-epsinf", "decoding"] == "constrained"
    assert table.loc["mingpt-epsinf-unconstrained", "decoding"] == "unconstrained"
    assert table.loc["mingpt-epsinf", "valid records"] == "100.0%"
    look = experiments.record_first_look(run, cohorts, params={"test": "first_look"})
    assert set(look["cohort"]) == {"mingpt-epsinf", "mingpt-epsinf-unconstrained", "holdout (real)", "train (real)"}
    written = pd.read_csv(run / "metrics" / "03_models.csv")
    assert list(written["cohort"]) == list(look["cohort"])
    frame = experiments.synthetic_af_frame(run, cohorts)
    assert set(frame["model"]) == {"mingpt-epsinf"}  # the constrained cohorts only


def test_write_synthetic_reads_back(run, tmp_path):
    panel, _ = artefacts.load_panel(run)
    keys = profiletext.site_keys(panel)
    profiles_ = [[f"{keys[1]}_0|1", f"{keys[4]}_1|1"], [], [f"{keys[0]}_1/0", "garbage"]]
    paths = experiments.write_synthetic(tmp_path, "mingpt-epsinf", profiles_, panel, {"model": "test"})
    expected = Run.of(tmp_path).synthetic_paths("mingpt-epsinf")
    assert paths == [expected["vcf"], expected["profiles"], expected["summary"]] and expected["tbi"].exists()
    cohort = artefacts.read_synthetic(tmp_path, "mingpt-epsinf", panel)
    assert cohort.sample_ids == ["SYN0001", "SYN0002", "SYN0003"]
    assert cohort.contig.length == panel.contig.length and cohort.contig.assembly == panel.contig.assembly
    np.testing.assert_array_equal(cohort.genotypes[1, 0], [0, 1])
    np.testing.assert_array_equal(cohort.genotypes[4, 0], [1, 1])
    np.testing.assert_array_equal(cohort.genotypes[0, 2], [1, 0])
    assert not cohort.phased[0, 2]
    assert int((cohort.genotypes != 0).sum()) == 4
    with pysam.VariantFile(str(expected["vcf"])) as vf:  # bcftools-readable, indexed
        assert len(list(vf.fetch(panel.contig.name))) == panel.n_sites
    assert json.loads(expected["summary"].read_text()) == {"model": "test"}
    assert artefacts.read_synthetic_profiles(tmp_path, "mingpt-epsinf") == profiles_
    summary = generation.validity_summary(profiles_, panel)
    assert summary["malformed"] == 1 and summary["valid"] == 3 and summary["valid_samples"] == 2


def test_ids_to_records_keeps_what_is_not_a_record():
    tok = tk.variant_tokenizer(["22:10:A>G", "22:20:C>T"])
    # a site without its genotype, and a genotype without its site
    tokens = ["<POP_EUR>", "22:10:A>G", "_0|1", "22:20:C>T", "22:10:A>G", "_1|1", "_0|1", "<END_SAMPLE>"]
    ids = tok.convert_tokens_to_ids(tokens)
    assert generation.ids_to_records(tok, ids) == ["22:10:A>G_0|1", "22:20:C>T", "22:10:A>G_1|1_0|1"]
    text_tok = tk.character_tokenizer()
    ids = text_tok.encode("<POP_EUR>22:10:A>G_0|1<MUT_SEP>22:20:C>T<MUT_SEP>_1|1<END_SAMPLE>", add_special_tokens=False)
    assert generation.ids_to_records(text_tok, ids) == ["22:10:A>G_0|1", "22:20:C>T", "_1|1"]


def test_first_look_on_real_cohorts(run):
    real = artefacts.load_cohort(run)
    splits = artefacts.load_splits(run)
    train, holdout = artefacts.split_cohort(real, splits["train"]), artefacts.split_cohort(real, splits["holdout"])
    table = utility.first_look(real, {"copy of train": train}, train, holdout, {"copy of train": {"valid_rate": 1.0}})
    rows = table.set_index("cohort")
    assert list(rows.index) == ["copy of train", "holdout (real)", "train (real)"]
    assert rows.loc["copy of train", "AF r (train)"] == pytest.approx(1.0)
    assert rows.loc["copy of train", "AF |diff| (train)"] == 0.0
    assert rows.loc["holdout (real)", "AF r (holdout)"] == pytest.approx(1.0)
    per = utility.profile_lengths(holdout)
    assert rows.loc["holdout (real)", "variants per sample"] == pytest.approx(per.mean())
    assert rows.loc["holdout (real)", "sd"] == pytest.approx(np.std(per, ddof=1))
    formatted = utility.format_first_look(table)
    assert formatted.loc["copy of train", "validity"] == "100.0%"
    with pytest.raises(ValueError, match="panel"):
        utility.first_look(real, {"bad": real.subset(site_index=[0, 1])}, train, holdout)
    frame = utility.af_frame({"copy": train}, holdout)
    assert len(frame) == real.n_sites and set(frame.columns) >= {"model", "site", "real_af", "synthetic_af"}


def test_loss_frame_and_charts():
    from lib.book import charts

    history = {"epochs": [{"epoch": 1, "train_loss": 3.0, "val_loss": 2.9}, {"epoch": 2, "train_loss": 2.5}]}
    frame = ch03.loss_frame({"m": {"history": history}})
    assert frame["split"].tolist() == ["train", "validation", "train"]
    assert frame["model"].unique().tolist() == ["m"] and frame["loss"].tolist() == [3.0, 2.9, 2.5]
    assert charts.loss_curves_chart(frame).to_dict()["mark"]["type"] == "line"
    af = pd.DataFrame({"model": ["a", "b"], "site": ["s", "s"], "real_af": [0.1, 0.1], "synthetic_af": [0.2, 0.0]})
    assert len(charts.af_scatter_chart(af).to_dict()["vconcat"][0]["hconcat"]) == 2


def test_context_length_comes_from_the_public_people(run, settings):
    """``model_block_size="public"``: 1.5 times the longest public profile, rounded up to 64
    tokens; training cuts a longer member's profile (counted), a fixed context refuses it."""
    tok = tk.load(run, "variant")
    public = artefacts.encode_split(run, tok, "public")
    expected = -(-int(max(map(len, public)) * 1.5) // 64) * 64
    assert artefacts.public_block_size(run, tok) == expected
    sizes = artefacts.model_sizes(run, dict(settings, model_block_size="public"), "mingpt", tok)
    assert sizes["block_size"] == expected and sizes["block_from"] == "public"
    with pytest.raises(ValueError, match="public"):
        models.sizes_from_profile(dict(settings, model_block_size="public"), "mingpt")
    members = artefacts.encode_split(run, tok, "train") + artefacts.encode_split(run, tok, "validation")
    short = sorted(map(len, members))[len(members) // 2]  # half the profiles are longer
    train_ids, val_ids, cut = experiments.training_ids(run, tok, "variant", {"block_size": short, "block_from": "public"})
    assert cut == sum(len(m) > short for m in members) > 0
    assert max(map(len, train_ids + val_ids)) == short
    with pytest.raises(ValueError, match="model_block_size"):
        experiments.training_ids(run, tok, "variant", {"block_size": short, "block_from": "profile"})


def test_mingpt_can_start_from_a_public_base(run, settings):
    """The minGPT pre-trained on the public people (an option; the dissertation's was
    trained from scratch) is what fine-tuning starts from, weights and all."""
    tok = tk.load(run, "record")
    base = experiments.public_base(run, settings, seed=0, family="mingpt")
    assert base == run / "models" / "mingpt-public-base"
    assert models.read_metadata(base)["role"] == "public pre-trained base"
    assert experiments.family_base(run, "mingpt", settings) is None  # from scratch unless the profile says so
    assert experiments.family_base(run, "mingpt", dict(settings, mingpt_base=True), seed=0) == base
    assert experiments.public_base(run, settings, seed=0, family="mingpt", tokenizer_name="variant") == (
        run / "models" / "mingpt-variant-public-base")
    assert models.read_metadata(base)["split"] == "public"
    pretrained = models.load_model(base)
    model = models.build_model("mingpt", models.sizes_from_profile(dict(settings), "mingpt"), tok, base_model=base)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), pretrained.state_dict().values()))
    with pytest.raises(ValueError, match="not a minGPT over"):
        models.build_model("mingpt", models.sizes_from_profile(dict(settings), "mingpt"), len(tok) + 1,
                           base_model=base)


def test_a_profile_cut_by_the_length_limit_keeps_only_whole_records(run, settings):
    """Five new tokens stop a constrained profile half-way through its third record (a
    record is a site token and a genotype token): the half record is dropped, the rest is
    valid, and the profile counts as unfinished."""
    tok = tk.load(run, "variant")
    model = models.build_model("mingpt", models.sizes_from_profile(dict(settings), "mingpt"), tok, seed=5)
    sampling = generation.SamplingConfig(max_new_tokens=5, batch_size=8)
    profiles_, summary = experiments.synthesize(run, model, tok, 8, seed=1, name="cut-short", sampling=sampling)
    unfinished = [p for p in profiles_ if len(p) == 2]
    assert unfinished and all(len(p) <= 2 for p in profiles_)
    assert summary["valid_rate"] == 1.0 and summary["unfinished"] == len(unfinished)
    panel, _ = artefacts.load_panel(run)
    record = profiles_[0][0]
    assert generation.drop_cut_record([record, record.rsplit("_", 1)[0]], panel) == [record]
    assert generation.drop_cut_record([record], panel) == [record]
