"""lib.experiment: training on a run's splits, reuse through the manifest, the public GPT-2
base, unconditional synthesis (constrained and not) and the first-look table. Tiny sizes:
a small simulated run, one-layer models, one epoch."""
from __future__ import annotations

import json

import numpy as np
import pysam
import pytest

from lib import data, experiment as ex, models, profiles, rundir
from lib import tokenization as tk


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = rundir.run_path(tmp_path_factory.mktemp("exp") / "run", "smoke")
    prepared = data.prepare(run, source="simulate", seed=3, n_sites=40, sim_samples_per_population=10,
                            sim_length=300_000, public_fraction=0.15, progress=False)
    tk.save(tk.build_tokenizer("variant", panel_sites=data.site_keys(prepared.cohort)), run, "variant")
    train_texts = [tk.sample_to_text(r) for r in ex.split_profiles(run, "train")["variants"]]
    tk.save(tk.build_tokenizer("bpe", train_texts=train_texts, vocab_size=300), run, "bpe")
    return run


@pytest.fixture(scope="module")
def settings():
    return profiles.resolve("smoke", model_n_layer=1, model_n_embd=16, model_block_size=256, train_epochs=1)


def test_model_names_follow_the_run_directory_contract():
    assert ex.model_name("mingpt") == "mingpt-epsinf"
    assert ex.model_name("gpt2", "variant") == "gpt2-epsinf"
    assert ex.model_name("mingpt", "bpe") == "mingpt-bpe-epsinf"
    with pytest.raises(ValueError, match="family"):
        ex.model_name("lstm")


def test_encode_split_follows_the_splits(run):
    tok = tk.load(run, "variant")
    splits = data.load_splits(run)
    ids = ex.encode_split(run, tok, "train")
    assert len(ids) == len(splits["train"])
    assert all(seq[0] == tok.bos_token_id and seq[-1] == tok.eos_token_id for seq in ids)
    tagged = ex.encode_split(run, tok, "train", with_population=True)
    assert all(t[1] in {tok.convert_tokens_to_ids(p) for p in tk.POPULATION_TOKENS.values()} for t in tagged)
    with pytest.raises(ValueError, match="split"):
        ex.encode_split(run, tok, "members")


def test_missing_chapters_give_a_clear_error(tmp_path, settings):
    with pytest.raises(FileNotFoundError, match="01_data"):
        ex.train_model(rundir.run_path(tmp_path / "empty", "smoke"), "mingpt", "variant", settings)


def test_train_saves_and_reuses(run, settings):
    model, history, directory = ex.train_model(run, "mingpt", "variant", settings, seed=1)
    assert directory == run / "models" / "mingpt-epsinf"
    assert (directory / "model.safetensors").exists() and (directory / "history.json").exists()
    assert len(history["epochs"]) == 1 and history["epochs"][0]["val_loss"] > 0
    meta = models.read_metadata(directory)
    assert meta["eps"] == "inf" and meta["n_train"] == len(data.load_splits(run)["train"])
    stamp = (directory / "model.safetensors").stat().st_mtime_ns
    again, history2, _ = ex.train_model(run, "mingpt", "variant", settings, seed=1)
    assert (directory / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not retrained
    assert history2 == json.loads(json.dumps(history))
    assert all((a == b).all() for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    ex.train_model(run, "mingpt", "variant", settings, seed=2)  # another seed: retrained
    assert (directory / "model.safetensors").stat().st_mtime_ns != stamp


def test_public_base_and_gpt2_fine_tuning(run, settings):
    tok = tk.load(run, "variant")
    base = ex.public_base(run, tok, settings, seed=0)
    assert base == run / "models" / "gpt2-public-base"
    meta = models.read_metadata(base)
    assert meta["split"] == "public" and set(meta["samples"]) == set(data.load_splits(run)["public"])
    model, history, directory = ex.train_model(run, "gpt2", "variant", settings, seed=0, base_model=base)
    assert directory.name == "gpt2-epsinf" and (directory / "model.safetensors").exists()
    assert models.read_metadata(directory)["base_model"]["base_sha256"] == rundir.sha256(base / "model.safetensors")


def test_synthesize_constrained_is_valid_and_written(run, settings):
    model, _, directory = ex.train_model(run, "mingpt", "bpe", settings, seed=0)
    tok = tk.load(run, "bpe")
    panel = data.load_cohort(run)
    profiles_, validity = ex.synthesize(run, model, tok, 6, seed=0, name="mingpt-bpe-epsinf", panel=panel,
                                        model_path=directory)
    assert len(profiles_) == 6 and validity["valid_rate"] == 1.0 and validity["valid_samples"] == 6
    path = run / "synthetic" / "mingpt-bpe-epsinf.vcf.gz"
    with pysam.VariantFile(str(path)) as vcf:
        assert len(list(vcf.header.samples)) == 6 and sum(1 for _ in vcf) == panel.n_sites
    synthetic = ex.read_synthetic(run, "mingpt-bpe-epsinf", panel)
    assert ex.variants_per_sample(synthetic).tolist() == [len(p) for p in profiles_]
    again, _ = ex.synthesize(run, model, tok, 6, seed=0, name="mingpt-bpe-epsinf", panel=panel, model_path=directory)
    assert again == profiles_  # reused (same model, settings and seed)


def test_synthesize_variant_tokenizer_any_order_is_sorted_and_recorded(run, settings):
    """With the variant tokenizer constrained decoding takes sites in any order: the
    written profiles are in panel order and valid, and the order is in the manifest
    parameters and the summary (a cohort made under the other order is not reused)."""
    model, _, directory = ex.train_model(run, "mingpt", "variant", settings, seed=2)
    tok = tk.load(run, "variant")
    panel = data.load_cohort(run)
    profiles_, validity = ex.synthesize(run, model, tok, 6, seed=0, name="v", panel=panel, model_path=directory)
    assert validity["valid_rate"] == 1.0 and validity["out_of_order"] == 0 and validity["duplicate"] == 0
    index = {key: i for i, key in enumerate(data.site_keys(panel))}
    for records in profiles_:
        sites = [index[r.rsplit("_", 1)[0]] for r in records]
        assert sites == sorted(sites) and len(set(sites)) == len(sites)
    summary = json.loads((run / "synthetic" / "v.json").read_text())
    assert summary["order"] == "any"
    stamp = (run / "synthetic" / "v.vcf.gz").stat().st_mtime_ns
    _, ordered = ex.synthesize(run, model, tok, 6, seed=0, name="v", panel=panel, model_path=directory,
                               order="sorted")
    assert ordered["valid_rate"] == 1.0 and json.loads((run / "synthetic" / "v.json").read_text())["order"] == "sorted"
    assert (run / "synthetic" / "v.vcf.gz").stat().st_mtime_ns != stamp  # made again, not reused


def test_synthesize_unconstrained_is_measured(run, settings):
    from lib.generation import SamplingConfig

    model, _, directory = ex.train_model(run, "mingpt", "variant", settings, seed=2)
    tok = tk.load(run, "variant")
    _, validity = ex.synthesize(run, model, tok, 4, seed=0, name="u", constrained=False,
                                sampling=SamplingConfig(max_new_tokens=40), model_path=directory)
    assert validity["n_samples"] == 4 and 0.0 <= validity["valid_rate"] <= 1.0
    assert validity["records"] == sum(validity[k] for k in ("valid", "malformed", "off_panel", "wrong_alleles",
                                                            "bad_genotype", "out_of_order", "duplicate"))
    with pytest.raises(ValueError, match="block size"):
        ex.synthesize(run, model, tok, 1, sampling=SamplingConfig(max_new_tokens=10_000))


def test_ids_to_records_keeps_what_is_not_a_record():
    tok = tk.variant_tokenizer(["22:10:A>G", "22:20:C>T"])
    # a site without its genotype, and a genotype without its site
    tokens = ["<POP_EUR>", "22:10:A>G", "_0|1", "22:20:C>T", "22:10:A>G", "_1|1", "_0|1", "<END_SAMPLE>"]
    ids = tok.convert_tokens_to_ids(tokens)
    assert ex.ids_to_records(tok, ids) == ["22:10:A>G_0|1", "22:20:C>T", "22:10:A>G_1|1_0|1"]
    text_tok = tk.character_tokenizer()
    ids = text_tok.encode("<POP_EUR>22:10:A>G_0|1<MUT_SEP>22:20:C>T<MUT_SEP>_1|1<END_SAMPLE>", add_special_tokens=False)
    assert ex.ids_to_records(text_tok, ids) == ["22:10:A>G_0|1", "22:20:C>T", "_1|1"]


def test_first_look_on_real_cohorts(run):
    panel = data.load_cohort(run)
    splits = data.load_splits(run)
    train, holdout = ex.split_cohort(panel, splits["train"]), ex.split_cohort(panel, splits["holdout"])
    table = ex.first_look(panel, {"copy of train": train}, train, holdout, {"copy of train": {"valid_rate": 1.0}})
    rows = table.set_index("cohort")
    assert list(rows.index) == ["copy of train", "holdout (real)", "train (real)"]
    assert rows.loc["copy of train", "AF r (train)"] == pytest.approx(1.0)
    assert rows.loc["copy of train", "AF |diff| (train)"] == 0.0
    assert rows.loc["holdout (real)", "AF r (holdout)"] == pytest.approx(1.0)
    per = ex.variants_per_sample(holdout)
    assert rows.loc["holdout (real)", "variants per sample"] == pytest.approx(per.mean())
    assert rows.loc["holdout (real)", "sd"] == pytest.approx(np.std(per, ddof=1))
    formatted = ex.format_first_look(table)
    assert formatted.loc["copy of train", "validity"] == "100.0%"
    with pytest.raises(ValueError, match="panel"):
        ex.first_look(panel, {"bad": panel.subset(site_index=[0, 1])}, train, holdout)
    frame = ex.af_frame({"copy": train}, holdout)
    assert len(frame) == panel.n_sites and set(frame.columns) >= {"model", "site", "real_af", "synthetic_af"}


def test_loss_frame_and_charts():
    from lib import charts

    history = {"epochs": [{"epoch": 1, "train_loss": 3.0, "val_loss": 2.9}, {"epoch": 2, "train_loss": 2.5}]}
    frame = ex.loss_frame({"m": history})
    assert frame["split"].tolist() == ["train", "validation", "train"]
    assert charts.loss_curves_chart(frame).to_dict()["mark"]["type"] == "line"
    af = ex.pd.DataFrame({"model": ["a", "b"], "site": ["s", "s"], "real_af": [0.1, 0.1], "synthetic_af": [0.2, 0.0]})
    assert len(charts.af_scatter_chart(af).to_dict()["vconcat"][0]["hconcat"]) == 2
