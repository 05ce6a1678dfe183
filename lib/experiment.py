"""The models chapter's steps: train a model on a run's profiles, sample a synthetic cohort
from it, and take a first look at that cohort beside the real one.

Everything reads and writes the run directory (:mod:`lib.rundir`):

* :func:`encode_split` -- the token ids of one split's profiles (the model text of
  :mod:`lib.tokenization`, sparse by default, without the population tag by default);
* :func:`train_model` -- a model of either family trained on the *train* split and
  validated on the *validation* split, saved to ``models/<name>/`` (:func:`model_name`:
  ``mingpt-epsinf`` and ``gpt2-epsinf`` for the variant tokenizer, the run-directory
  contract's ``<model>-eps<eps>``; ``<family>-<tokenizer>-epsinf`` for another tokenizer)
  with its ``history.json``; a model whose inputs and settings are unchanged (the
  manifest's parameters and checksums) is loaded, not retrained;
* :func:`public_base` -- the GPT-2 base that fine-tuning starts from when no base is
  given: pre-trained on the *public* split only (reference samples that are never trained
  on privately nor attacked), at ``models/gpt2-public-base/``;
* :func:`synthesize` -- ``n_samples`` profiles sampled unconditionally, from the
  sample-start token alone (never a real member's first records), with or without the
  panel grammar (:func:`panel_grammar`: sites in any order for the variant tokenizer,
  :class:`lib.generation.SiteSetGrammar`; in increasing position otherwise,
  :class:`lib.generation.PanelGrammar`), written to
  ``synthetic/<name>.vcf.gz`` (+ profiles and a summary) and measured for validity;
* :func:`first_look` -- one row per cohort: validity, variants per sample, and how the
  allele frequencies agree with the training and the holdout members'.

The holdout split is what a synthetic cohort should resemble without copying: the model
never saw it. Agreement with the training split alone says little (a model that copies
its training members agrees perfectly); the utility and privacy chapters go further.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from . import data, generation, models, rundir, training
from . import tokenization as tk
from .cohort import Cohort

CHAPTER = "03_models"
PUBLIC_BASE = "gpt2-public-base"


# --------------------------------------------------------------------------------------
# Names and inputs
# --------------------------------------------------------------------------------------

def model_name(family: str, tokenizer_name: str = "variant", eps: float | str = "inf") -> str:
    """``<family>-eps<eps>`` for the variant tokenizer (the run-directory contract),
    ``<family>-<tokenizer>-eps<eps>`` for any other."""
    if family not in models.FAMILIES:
        raise ValueError(f"family={family!r} is unknown; choose one of {models.FAMILIES}")
    middle = "" if tokenizer_name == "variant" else f"-{tokenizer_name}"
    return f"{family}{middle}-eps{eps_text(eps)}"


def eps_text(eps: float | str) -> str:
    """Epsilon as model names write it: ``inf``, ``8``, ``0.5``."""
    value = float(eps)
    if value == float("inf"):
        return "inf"
    if not value > 0:
        raise ValueError(f"epsilon={eps!r} must be above 0 (or inf: not private)")
    return f"{value:g}"


def model_dir(run: str | os.PathLike, name: str) -> Path:
    return Path(run) / "models" / name


def split_profiles(run: str | os.PathLike, split: str, sparse: bool = True) -> pd.DataFrame:
    """The profiles of one split (rows in the order of ``splits.json``)."""
    splits = data.load_splits(Path(run))
    if split not in splits:
        raise ValueError(f"split={split!r} is unknown; choose one of {sorted(splits)}")
    frame = data.read_profiles(Path(run), dense=not sparse).set_index("sample")
    missing = [s for s in splits[split] if s not in frame.index]
    if missing:
        raise ValueError(f"{data.cohort_paths(Path(run))['profiles']}: {len(missing)} samples of the "
                         f"{split} split have no profile (e.g. {missing[0]}); rerun the data chapter")
    return frame.loc[splits[split]].reset_index()


def encode_split(run: str | os.PathLike, tokenizer: Any, split: str, sparse: bool = True,
                 with_population: bool = False) -> list[list[int]]:
    """Token ids of every profile of ``split`` (``train``, ``validation``, ``holdout``,
    ``public``); ``with_population`` puts the super-population tag after the start token."""
    frame = split_profiles(run, split, sparse=sparse)
    if not sparse and with_population:  # the dense file carries no population columns
        population = data.read_profiles(Path(run)).set_index("sample")["superpopulation"]
        frame = frame.assign(superpopulation=frame["sample"].map(population))
    pops = frame["superpopulation"] if with_population else [None] * len(frame)
    return [tk.encode_sample(tokenizer, list(records), pop) for records, pop in zip(frame["variants"], pops)]


def input_digest(run: Path, tokenizer_name: str) -> dict[str, str]:
    """Checksums of what a model is trained from: the profiles, splits and tokenizer."""
    paths = data.cohort_paths(run)
    tok_file = tk.tokenizer_dir(run, tokenizer_name) / "tokenizer.json"
    for path in (paths["profiles"], paths["splits"], tok_file):
        if not path.exists():
            chapter = "02_tokenization" if path == tok_file else "01_data"
            raise FileNotFoundError(f"{path}: missing; run the {chapter} chapter for this run first")
    return {"profiles_sha256": rundir.sha256(paths["profiles"]),
            "splits_sha256": rundir.sha256(paths["splits"]),
            "tokenizer_sha256": rundir.sha256(tok_file)}


def train_settings(config: training.TrainConfig) -> dict[str, Any]:
    """The training settings that decide a model's weights (what the manifest compares)."""
    return {k: v for k, v in asdict(config).items() if k not in ("device", "progress", "resume", "checkpoint_dir")}


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def public_base(run: str | os.PathLike, tokenizer: Any, settings: dict[str, Any], seed: int = 0,
                tokenizer_name: str = "variant", progress: bool = False) -> Path:
    """The GPT-2 base pre-trained on the *public* split's sparse profiles (sizes and
    training settings of the profile), at ``models/gpt2-public-base/``; reused when its
    inputs are unchanged."""
    run = Path(run)
    public = split_profiles(run, "public")
    if len(public) < 2:
        raise ValueError(f"the public split of {run} has {len(public)} samples; pre-training a GPT-2 "
                         "base needs at least 2 (set public_fraction in the data chapter, or pass base_model)")
    texts = [tk.sample_to_text(list(r)) for r in public["variants"]]
    sizes = models.sizes_from_profile(settings, "gpt2")
    config = training.config_from_profile(settings, seed=seed, progress=progress)
    directory = model_dir(run, PUBLIC_BASE)
    params = dict(role="public pre-trained base", split="public", sizes=sizes, seed=seed,
                  train=train_settings(config), texts_sha256=tk.texts_sha256(texts),
                  **input_digest(run, tokenizer_name))
    paths = [directory / "model.safetensors"]
    if rundir.is_current(run, params, paths):
        return directory
    models.pretrain_public_base(texts, tokenizer, directory, sizes, train_config=config, seed=seed,
                                metadata={"split": "public", "samples": public["sample"].tolist()})
    rundir.record_artefacts(run, CHAPTER, params, paths)
    return directory


def base_record(base_model: str | os.PathLike | None) -> dict[str, Any] | None:
    """What a model fine-tuned from ``base_model`` records of its base: the path and the
    weights' checksum (None when trained from scratch)."""
    if base_model is None:
        return None
    weights = Path(base_model) / "model.safetensors"
    return {"base_model": str(base_model), "base_sha256": rundir.sha256(weights) if weights.exists() else None}


def training_ids(run: Path, tokenizer: Any, tokenizer_name: str,
                 sizes: Mapping[str, Any]) -> tuple[list[list[int]], list[list[int]]]:
    """The train and validation splits' token ids, refused when one is longer than the
    model's ``block_size`` (before any training)."""
    train_ids = encode_split(run, tokenizer, "train")
    val_ids = encode_split(run, tokenizer, "validation")
    longest = max(len(ids) for ids in train_ids + val_ids)
    if longest > int(sizes["block_size"]):
        raise ValueError(f"the longest {tokenizer_name} profile has {longest} tokens, more than the "
                         f"profile's model_block_size={sizes['block_size']}: raise it or use another tokenizer")
    return train_ids, val_ids


def save_trained(run: Path, model: torch.nn.Module, directory: Path, tokenizer: Any, history: dict,
                 params: dict[str, Any], metadata: dict[str, Any], chapter: str = CHAPTER,
                 extra: Mapping[str, Any] | None = None) -> list[Path]:
    """Save a trained model (:func:`lib.models.save_model`), its ``history.json`` and any
    ``extra`` JSON files (name -> content) into ``directory``, and record them in the
    manifest under ``params``. Returns the paths :func:`lib.rundir.is_current` checks."""
    models.save_model(model, directory, tokenizer=tokenizer, metadata=metadata)
    paths = [directory / "model.safetensors"]
    for filename, content in {"history.json": history, **(extra or {})}.items():
        rundir.write_json(directory / filename, content)  # after save_model, which replaces the directory
        paths.append(directory / filename)
    rundir.record_artefacts(run, chapter, params, paths)
    return paths


def train_model(run: str | os.PathLike, family: str, tokenizer_name: str, settings: dict[str, Any],
                seed: int = 0, base_model: str | os.PathLike | None = None, name: str | None = None,
                progress: bool = False, **train_overrides: Any) -> tuple[torch.nn.Module, dict, Path]:
    """Train (or reuse) a non-private model on the run's *train* split, validated on its
    *validation* split, sparse profiles without population tags. Sizes and training
    settings come from the profile ``settings`` (:func:`lib.profiles.resolve`), then
    ``train_overrides`` (``TrainConfig`` fields). Returns the model, its history and its
    directory ``models/<name>/`` (``name`` defaults to :func:`model_name`)."""
    run = Path(run)
    name = name or model_name(family, tokenizer_name)
    directory = model_dir(run, name)
    digest = input_digest(run, tokenizer_name)
    tokenizer = tk.load(run, tokenizer_name)
    sizes = models.sizes_from_profile(settings, family)
    config = training.config_from_profile(settings, seed=seed, progress=progress, **train_overrides)
    base = base_record(base_model)
    params = dict(family=family, tokenizer=tokenizer_name, sizes=sizes, seed=seed, eps="inf",
                  train=train_settings(config), profiles="sparse", with_population=False,
                  base=base, **digest)
    paths = [directory / "model.safetensors", directory / "history.json"]
    if rundir.is_current(run, params, paths):
        return models.load_model(directory), json.loads(paths[1].read_text()), directory
    train_ids, val_ids = training_ids(run, tokenizer, tokenizer_name, sizes)
    model = models.build_model(family, sizes, tokenizer, base_model=base_model, seed=seed)
    history = training.train(model, train_ids, val_ids, config)
    save_trained(run, model, directory, tokenizer, history, params, metadata=dict(
        name=name, eps="inf", seed=seed, tokenizer=tokenizer_name, train_split="train",
        validation_split="validation", n_train=len(train_ids), n_validation=len(val_ids),
        base_model=base, **digest))
    return model.eval(), history, directory


def loss_frame(histories: Mapping[str, dict]) -> pd.DataFrame:
    """Tidy per-epoch losses: ``model``, ``epoch``, ``split`` (train/validation), ``loss``."""
    rows = []
    for name, history in histories.items():
        for entry in history["epochs"]:
            rows.append({"model": name, "epoch": entry["epoch"], "split": "train", "loss": entry["train_loss"]})
            if entry.get("val_loss") is not None:
                rows.append({"model": name, "epoch": entry["epoch"], "split": "validation",
                             "loss": entry["val_loss"]})
    return pd.DataFrame(rows, columns=["model", "epoch", "split", "loss"])


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------

def constrained_order(tokenizer: Any, sparse: bool = True) -> str:
    """The site order constrained decoding imposes with ``tokenizer``: ``"any"`` (each
    site at most once, the records sorted afterwards) where the tokenizer spells a record
    as a site token and a genotype token (the variant tokenizer) and profiles are sparse;
    ``"sorted"`` (increasing positions, as profiles are written) otherwise."""
    return "any" if sparse and tk.record_separator(tokenizer) == "" else "sorted"


def panel_grammar(tokenizer: Any, panel: Cohort, sparse: bool = True, order: str | None = None
                  ) -> generation.PanelGrammar | generation.SiteSetGrammar:
    """The grammar of valid profiles over ``panel`` for ``tokenizer`` (phased genotypes
    where most of the panel's calls are phased: the panel is public). ``order``: ``"any"``
    (:class:`lib.generation.SiteSetGrammar`, sparse profiles only), ``"sorted"``
    (:class:`lib.generation.PanelGrammar`), or None for :func:`constrained_order`."""
    order = order or constrained_order(tokenizer, sparse)
    phased = bool(panel.phased.mean() >= 0.5) if panel.phased.size else True
    n_alts = panel.sites["alts"].map(len).tolist()
    if order == "any":
        if not sparse:
            raise ValueError("order='any' is for sparse profiles (a dense profile lists every site in order)")
        return generation.SiteSetGrammar(tokenizer, data.site_keys(panel), n_alts, end=tk.EOS, phased=phased)
    if order != "sorted":
        raise ValueError(f"order={order!r}: choose 'any' or 'sorted'")
    return generation.PanelGrammar(tokenizer, data.site_keys(panel), n_alts, separator=tk.record_separator(tokenizer),
                                   end=tk.EOS, sparse=sparse, phased=phased)


def ids_to_records(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """The records of generated ids (the text after ``<START_SAMPLE>``): a population tag
    in front is dropped, the rest is split at ``<MUT_SEP>``. Whatever is not a record (a
    stray special token, a cut-off record) stays in, for :func:`validate_profile` to count."""
    text = tk.decode(tokenizer, ids)
    if text.endswith(tk.EOS):
        text = text[:-len(tk.EOS)]
    for tag in tk.POPULATION_TOKENS.values():
        if text.startswith(tag):
            text = text[len(tag):]
            break
    return [r for r in text.split(tk.SEP) if r]


def validity_summary(profiles: Sequence[Sequence[str]], panel: Cohort, finished: Sequence[bool] | None = None) -> dict:
    """Record counts by fault (:func:`lib.generation.validate_profile`) summed over the
    profiles, plus ``valid_rate`` (valid records / records), ``valid_samples`` (profiles
    whose every record is valid and that ended with the end token) and ``n_samples``."""
    totals: dict[str, Any] = {}
    valid_samples = 0
    finished = list(finished) if finished is not None else [True] * len(profiles)
    for records, done in zip(profiles, finished):
        counts = generation.validate_profile(records, panel)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        valid_samples += int(done and counts["valid"] == counts["records"])
    totals.setdefault("records", 0)
    totals.setdefault("valid", 0)
    totals.update(n_samples=len(profiles), valid_samples=valid_samples,
                  unfinished=len(profiles) - sum(map(bool, finished)),
                  valid_rate=totals["valid"] / totals["records"] if totals["records"] else 1.0)
    return totals


def synthesize(run: str | os.PathLike, model: torch.nn.Module, tokenizer: Any, n_samples: int,
               seed: int = 0, name: str = "mingpt-epsinf", constrained: bool = True,
               sampling: generation.SamplingConfig | None = None, panel: Cohort | None = None,
               model_path: str | os.PathLike | None = None, chapter: str = CHAPTER,
               order: str | None = None) -> tuple[list[list[str]], dict]:
    """Sample ``n_samples`` profiles from ``<START_SAMPLE>`` alone and write them as
    ``synthetic/<name>.vcf.gz`` (``write_synthetic``). ``constrained``: decode under the
    panel grammar (every record valid by construction); ``order`` its site order
    (:func:`panel_grammar`; by default :func:`constrained_order`), the records of an
    ``"any"``-order profile being sorted into panel order. ``sampling`` defaults to
    temperature 1 up to the model's block size. Reused when the model's weights
    (``model_path``: its directory), the sampling settings and the seed are unchanged.
    Returns the profiles and :func:`validity_summary`."""
    run = Path(run)
    panel = panel if panel is not None else data.load_cohort(run)
    config = models.unwrap(model).config
    block = int(getattr(config, "block_size", None) or getattr(config, "n_positions"))
    prompt = [tokenizer.bos_token_id]
    sampling = sampling or generation.SamplingConfig(max_new_tokens=block - len(prompt), batch_size=32)
    if sampling.max_new_tokens > block - len(prompt):
        raise ValueError(f"max_new_tokens={sampling.max_new_tokens} exceeds the model's block size "
                         f"{block} less the prompt")
    weights = Path(model_path) / "model.safetensors" if model_path is not None else None
    order = (order or constrained_order(tokenizer)) if constrained else None
    params = dict(name=name, n_samples=n_samples, seed=seed, constrained=constrained, order=order,
                  sampling=asdict(sampling), prompt="<START_SAMPLE>", sampler_version=generation.SAMPLER_VERSION,
                  model_sha256=rundir.sha256(weights) if weights is not None and weights.exists() else None)
    base = run / "synthetic"
    paths = [base / f"{name}.vcf.gz", base / f"{name}.profiles.jsonl", base / f"{name}.json"]
    if params["model_sha256"] is not None and rundir.is_current(run, params, paths):
        with open(paths[1]) as handle:
            profiles = [json.loads(line)["variants"] for line in handle]
        return profiles, read_validity(run, name)
    grammar = panel_grammar(tokenizer, panel, order=order) if constrained else None
    new = generation.generate(model, prompt, n_samples, tokenizer.eos_token_id, sampling,
                              constraint=grammar, seed=seed)
    profiles = [ids_to_records(tokenizer, ids) for ids in new]
    if order == "any":
        profiles = [grammar.sort_records(records) for records in profiles]
    finished = [len(ids) < sampling.max_new_tokens for ids in new]  # stopped at the end token
    summary = validity_summary(profiles, panel, finished)
    generation.write_synthetic(run, name, profiles, panel, metadata=dict(params, summary=summary))
    rundir.record_artefacts(run, chapter, params, paths)
    return profiles, summary


def synthesize_both(run: str | os.PathLike, name: str, model: torch.nn.Module, tokenizer: Any, n_samples: int,
                    model_path: str | os.PathLike, panel: Cohort, seed: int = 0, temperature: float = 1.0,
                    top_k: int | None = None, top_p: float | None = None,
                    chapter: str = CHAPTER) -> dict[str, dict[str, Any]]:
    """A model's two cohorts, as the chapters write them: constrained (``<name>``) and
    unconstrained (``<name>-unconstrained``), each :func:`synthesize`-d up to the model's
    block size and read back. Returns label -> ``{"validity", "cohort", "seconds"}``."""
    import time

    config = models.unwrap(model).config
    block = int(getattr(config, "block_size", None) or getattr(config, "n_positions"))
    sampling = generation.SamplingConfig(max_new_tokens=block - 1, temperature=temperature, top_k=top_k,
                                         top_p=top_p, batch_size=32)
    out = {}
    for constrained in (True, False):
        label = name if constrained else f"{name}-unconstrained"
        started = time.perf_counter()
        _, validity = synthesize(run, model, tokenizer, n_samples, seed=seed, name=label, constrained=constrained,
                                 sampling=sampling, panel=panel, model_path=model_path, chapter=chapter)
        out[label] = {"validity": validity, "cohort": read_synthetic(run, label, panel),
                      "seconds": time.perf_counter() - started}
    return out


# --------------------------------------------------------------------------------------
# A first look
# --------------------------------------------------------------------------------------

def variants_per_sample(cohort: Cohort) -> np.ndarray:
    """Per sample: the sites where it carries an ALT allele (or a missing call), i.e. the
    length of its sparse profile."""
    return (cohort.genotypes != 0).any(axis=2).sum(axis=0)


def _af_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return r, float(np.abs(a - b).mean())


def first_look(panel: Cohort, synthetic: Mapping[str, Cohort], train: Cohort, holdout: Cohort,
               validity: Mapping[str, dict] | None = None) -> pd.DataFrame:
    """One row per synthetic cohort, then the real holdout and train cohorts: validity
    rate (valid records / records), variants per sample (mean, sd), and the Pearson
    correlation and mean absolute difference of per-site ALT allele frequency against
    the training and the holdout members. Numbers, not strings (format for display)."""
    cohorts = dict(synthetic)
    cohorts.update({"holdout (real)": holdout, "train (real)": train})
    for label, cohort in cohorts.items():
        if cohort.n_sites != panel.n_sites or not (cohort.sites["pos"].to_numpy() == panel.sites["pos"].to_numpy()).all():
            raise ValueError(f"cohort {label!r} is not on the panel's {panel.n_sites} sites")
    af_train, af_holdout = train.alt_frequency(), holdout.alt_frequency()
    rows = []
    for label, cohort in cohorts.items():
        per = variants_per_sample(cohort)
        af = cohort.alt_frequency()
        r_train, d_train = _af_agreement(af, af_train)
        r_holdout, d_holdout = _af_agreement(af, af_holdout)
        v = (validity or {}).get(label)
        rows.append({"cohort": label, "samples": cohort.n_samples,
                     "validity": v["valid_rate"] if v else (1.0 if label.endswith("(real)") else float("nan")),
                     "variants per sample": float(per.mean()) if len(per) else float("nan"),
                     "sd": float(per.std(ddof=1)) if len(per) > 1 else float("nan"),
                     "AF r (train)": r_train, "AF r (holdout)": r_holdout,
                     "AF |diff| (train)": d_train, "AF |diff| (holdout)": d_holdout})
    return pd.DataFrame(rows)


def format_first_look(table: pd.DataFrame) -> pd.DataFrame:
    """The first-look table with formatted strings (for display)."""
    out = table.copy()
    out["samples"] = out["samples"].map("{:,}".format)
    out["validity"] = out["validity"].map(lambda x: "–" if pd.isna(x) else f"{x:.1%}")
    for col in ("variants per sample", "sd"):
        out[col] = out[col].map(lambda x: "–" if pd.isna(x) else f"{x:.1f}")
    for col in ("AF r (train)", "AF r (holdout)", "AF |diff| (train)", "AF |diff| (holdout)"):
        out[col] = out[col].map(lambda x: "–" if pd.isna(x) else f"{x:.3f}")
    return out.set_index("cohort")


def af_frame(synthetic: Mapping[str, Cohort], reference: Cohort, reference_label: str = "holdout") -> pd.DataFrame:
    """Tidy per-site frequencies for a scatter: ``model``, ``site``, ``real_af`` (of
    ``reference``), ``synthetic_af``."""
    real = reference.alt_frequency()
    keys = data.site_keys(reference)
    frames = [pd.DataFrame({"model": label, "site": keys, "real_af": real, "synthetic_af": c.alt_frequency(),
                            "reference": reference_label}) for label, c in synthetic.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["model", "site", "real_af", "synthetic_af", "reference"])


def split_cohort(panel: Cohort, samples: Sequence[str]) -> Cohort:
    """The panel restricted to ``samples`` (in that order)."""
    index = {s: i for i, s in enumerate(panel.sample_ids)}
    return panel.subset(sample_index=[index[s] for s in samples])


def read_validity(run: str | os.PathLike, name: str) -> dict:
    """The :func:`validity_summary` :func:`synthesize` recorded for cohort ``name``."""
    path = Path(run) / "synthetic" / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run the models chapter (03_models) first")
    return json.loads(path.read_text())["summary"]


def read_synthetic(run: str | os.PathLike, name: str, panel: Cohort) -> Cohort:
    """A synthetic cohort written by :func:`synthesize`, read back through pysam."""
    from .vcf import read_vcf

    path = Path(run) / "synthetic" / f"{name}.vcf.gz"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run the models chapter (03_models) first")
    return read_vcf(path, chromosome=panel.contig.name)
