"""Training and sampling experiments on a run directory, shared by the models chapter
(non-private), the private-training chapter and the privacy chapter's reference models.

* :func:`public_base`, :func:`family_base` -- a family's base pre-trained on the *public*
  people only (``models/<family>-public-base/``), which GPT-2 is always fine-tuned from;
* :func:`train_model` -- a model of either family trained on the members (``train``) and
  validated on ``validation``, saved to ``models/<name>/`` (:func:`lib.runs.artefacts.model_name`)
  with its training history in ``diagnostics/<name>/`` (computed on the members: outside any
  guarantee, never released with the model); reused when its inputs and settings are
  unchanged (the manifest's parameters and checksums); the settings it is trained with
  (:func:`train_config`, :func:`model_start`, :func:`training_ids`, :func:`save_trained`);
* :func:`synthesize` -- ``n_samples`` profiles sampled from the sample-start token alone
  (never a real member's first records; with a population tag drawn in the public people's
  proportions, :func:`population_draw`, when the model was trained with tags), constrained
  by the public panel's grammar or not,
  written to ``synthetic/<name>.vcf.gz`` (+ profiles and a validity summary);
  :func:`synthesize_both`, :func:`synthesize_all` for several models side by side;
* :func:`record_first_look`, :func:`synthetic_af_frame` -- the first look at the cohorts
  (:func:`lib.evaluation.utility.first_look`); :func:`settings_text` -- the training settings in words.

What these write is recorded in the manifest under the chapter that asks for it
(:data:`MODELS_CHAPTER` unless told otherwise).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
import torch

from . import artefacts
from ..core import parallel, rundir
from ..genomes import profiletext, vcf
from ..genomes.cohort import Cohort
from ..lm import generation, models, training
from ..lm import tokenization as tk
from ..dp import budget, privacy
from ..evaluation import utility
from .run import Run

#: The chapter a non-private model and its cohorts are recorded under unless another is named.
MODELS_CHAPTER = "03_models"
#: The chapter a private model is recorded under unless another is named.
PRIVATE_CHAPTER = "04_dp_training"
# Bumped when the private training path changes what it computes or how (it goes into every
# private model's manifest parameters, so models trained by older code are retrained):
# 2 = GPT-2 trained under expanded weights with its Conv1D layers as nn.Linear;
# 3 = sampler and noise seeds from a SeedSequence, the noise generator on the model's device.
PRIVATE_TRAINING_VERSION = 3

#: What every training history says of itself (it is written to ``diagnostics/``).
HISTORY_NOTE = ("diagnostic outside the privacy guarantee: the training loss, token counts and clipping "
                "statistics are computed on the members without noise; the validation loss on non-members; "
                "epsilon by the accountant. Kept in diagnostics/, never released with the model.")


def train_settings(config: training.TrainConfig) -> dict[str, Any]:
    """The training settings that decide a model's weights (what the manifest compares)."""
    return {k: v for k, v in asdict(config).items() if k not in ("device", "progress", "resume", "checkpoint_dir")}


def public_base(run: str | os.PathLike, settings: Mapping[str, Any], seed: int = 0, family: str = "gpt2",
                tokenizer_name: str | None = None, validation_fraction: float = 0.1, progress: bool = False) -> Path:
    """A base of ``family`` pre-trained from scratch on the *public* people's sparse
    profiles, tokenized by ``tokenizer_name`` (the family's main tokenizer by default;
    sizes and training settings of the profile; a seeded ``validation_fraction`` of them
    for early stopping), at ``models/<family>-public-base/``
    (:func:`lib.runs.artefacts.base_name`); reused when its inputs are unchanged. GPT-2 is always
    fine-tuned from a base (this one unless another is given); the minGPT may be (profile
    setting ``mingpt_base``; the dissertation's was trained from scratch). Its metadata
    records the checksum of the public texts, so the base can be shown to come from public
    data only."""
    run = Run.of(run)
    tokenizer_name = tokenizer_name or artefacts.main_tokenizer(family)
    tokenizer = tk.load(run, tokenizer_name)
    public = artefacts.split_profiles(run, "public")
    if len(public) < 2:
        raise ValueError(f"the public split of {run} has {len(public)} people; pre-training a {family} base "
                         "needs at least 2 (set public_fraction in the data chapter, or pass base_model)")
    tagged = bool(settings["population_tags"])
    texts = [tk.sample_to_text(list(r), p if tagged else None)
             for r, p in zip(public["variants"], public["superpopulation"])]
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    config = training.config_from_profile(dict(settings), family, seed=seed, progress=progress)
    directory = run.model_dir(artefacts.base_name(family, tokenizer_name))
    params = dict(role="public pre-trained base", family=family, split="public", sizes=sizes, seed=seed,
                  train=train_settings(config), texts_sha256=tk.texts_sha256(texts), with_population=tagged,
                  tokenizer_sha256=rundir.sha256(tk.tokenizer_dir(run, tokenizer_name) / "tokenizer.json"))
    paths = [directory / "model.safetensors"]
    if run.is_current(params, paths):
        return directory
    ids = [tokenizer(text)["input_ids"][:sizes["block_size"]] for text in texts]
    order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = max(1, int(round(len(ids) * validation_fraction)))
    model = models.build_model(family, sizes, tokenizer, seed=seed)
    history = training.train(model, [ids[i] for i in order[n_val:]], [ids[i] for i in order[:n_val]], config)
    models.save_model(model, directory, tokenizer=tokenizer, metadata=dict(
        role="public pre-trained base", split="public", samples=public["sample"].tolist(), seed=seed,
        population_tags=tagged, public_texts=len(texts),
        public_texts_sha256=hashlib.sha256("\n".join(texts).encode()).hexdigest(),
        sizes=sizes, history=history))
    run.record(MODELS_CHAPTER, params, paths)
    return directory


def family_base(run: str | os.PathLike, family: str, settings: Mapping[str, Any], seed: int = 0,
                base_model: str | os.PathLike | None = None) -> Path | None:
    """Where ``family``'s models start: ``base_model`` when given; otherwise GPT-2 from
    :func:`public_base`, the minGPT from its own public base when the profile says
    ``mingpt_base`` and from scratch (None) when not, as in the dissertation."""
    if base_model is not None:
        return Path(base_model)
    return model_start(run, family, artefacts.main_tokenizer(family), settings, seed=seed)


def model_start(run: str | os.PathLike, family: str, tokenizer_name: str, settings: Mapping[str, Any],
                seed: int = 0) -> Path | None:
    """Where this chapter starts ``family`` on ``tokenizer_name`` when no base is given:
    GPT-2 from its public base, a minGPT on a record tokenizer from its own public base
    when the profile says ``mingpt_base``, anything else (a text tokenizer) from scratch
    (None). The privacy chapter's attacker starts its online references here too."""
    if family == "gpt2" or (settings.get(f"{family}_base") and tokenizer_name in tk.RECORD_TOKENIZERS):
        return public_base(run, settings, seed=seed, family=family, tokenizer_name=tokenizer_name)
    return None


def tokenizer_overrides(settings: Mapping[str, Any], tokenizer_name: str) -> dict[str, Any]:
    """The training settings a model on ``tokenizer_name`` takes beyond its family's: a
    text tokenizer's (its sequences are several times a record tokenizer's) the profile's
    ``text_model_epochs``; a record tokenizer's none."""
    return {} if tokenizer_name in tk.RECORD_TOKENIZERS else {"epochs": int(settings["text_model_epochs"])}


def train_config(settings: Mapping[str, Any], family: str, tokenizer_name: str,
                 **overrides: Any) -> training.TrainConfig:
    """How a model of ``family`` on ``tokenizer_name`` trains: the profile's settings for the
    family (:func:`lib.lm.training.config_from_profile`), the tokenizer's
    (:func:`tokenizer_overrides`), then ``overrides``. One rule for this chapter's models and
    the privacy chapter's reference models that mimic them."""
    return training.config_from_profile(dict(settings), family,
                                        **{**tokenizer_overrides(settings, tokenizer_name), **overrides})


def base_record(run: str | os.PathLike, base_model: str | os.PathLike | None) -> dict[str, Any] | None:
    """What a model fine-tuned from ``base_model`` records of its base: its path relative to
    the run directory when inside it (``models/gpt2-public-base``; moving the run keeps the
    record, and with it the model's reuse) and the weights' checksum (None when trained from
    scratch)."""
    if base_model is None:
        return None
    weights = Path(base_model) / "model.safetensors"
    return {"base_model": Run.of(run).relative(base_model),
            "base_sha256": rundir.sha256(weights) if weights.exists() else None}


def training_ids(run: Path, tokenizer: Any, tokenizer_name: str, sizes: Mapping[str, Any],
                 with_population: bool = False) -> tuple[list[list[int]], list[list[int]], int]:
    """The train and validation splits' token ids (each person's population tag after the
    start token when ``with_population``) and how many were cut to the model's
    ``block_size``. A context taken from public data (``sizes["block_from"] == "public"``)
    cuts a longer profile (a per-person step, as DP allows; the count is a diagnostic); a
    context the profile fixed refuses it, before any training."""
    train_ids = artefacts.encode_split(run, tokenizer, "train", with_population=with_population)
    val_ids = artefacts.encode_split(run, tokenizer, "validation", with_population=with_population)
    block = int(sizes["block_size"])
    longest = max(len(ids) for ids in train_ids + val_ids)
    if longest > block and sizes.get("block_from") != "public":
        raise ValueError(f"the longest {tokenizer_name} profile has {longest} tokens, more than the "
                         f"profile's model_block_size={block}: raise it or use another tokenizer")
    cut = sum(len(ids) > block for ids in train_ids + val_ids)
    return [ids[:block] for ids in train_ids], [ids[:block] for ids in val_ids], cut


def release_metadata(name: str, eps: float | str, seed: int, tokenizer_name: str, base: dict | None,
                     **extra: Any) -> dict[str, Any]:
    """A model's ``metadata.json``: what it is and how it was made, nothing computed from
    the members (the data checksums that decide reuse stay in the run's manifest).
    ``population_tags`` (in ``extra``) says whether it reads a population tag after the
    start token (:func:`is_tagged`)."""
    return dict(name=name, eps=eps if isinstance(eps, str) else float(eps), seed=seed, tokenizer=tokenizer_name,
                train_split="train", validation_split="validation", base_model=base, **extra)


def is_tagged(directory: str | os.PathLike) -> bool:
    """Whether the model saved in ``directory`` was trained with population tags (its
    ``metadata.json`` says ``population_tags``), so that it is prompted with one."""
    return bool(models.read_metadata(directory).get("population_tags", False))


def population_draw(run: str | os.PathLike, n: int, seed: int = 0) -> list[str]:
    """``n`` super-populations in the public people's proportions, the prompts of ``n``
    synthetic people: each population gets its share of ``n`` rounded by largest remainder
    (ties to the larger share), in a seeded random order. Public data only."""
    public = artefacts.public_populations(run)
    if not len(public):
        raise ValueError(f"{run}: no public people to draw population tags from; set public_fraction in the "
                         "data chapter or population_tags=False in the profile")
    share = public.value_counts(normalize=True).sort_index()
    exact = share.to_numpy() * int(n)
    counts = exact.astype(int)
    for i in sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), -exact[i], i))[:int(n) - counts.sum()]:
        counts[i] += 1
    draw = [pop for pop, count in zip(share.index, counts) for _ in range(count)]
    order = torch.randperm(len(draw), generator=torch.Generator().manual_seed(int(seed))).tolist()
    return [draw[i] for i in order]


def sampling_prompts(run: str | os.PathLike, tokenizer: Any, n: int, seed: int = 0,
                     tagged: bool = False) -> tuple[list[list[int]], list[str] | None]:
    """What ``n`` synthetic people are sampled from, one prompt each: the start token alone,
    or, when ``tagged``, the start token and a population tag drawn by
    :func:`population_draw`. Returns the prompts and the populations (None untagged)."""
    populations = population_draw(run, n, seed) if tagged else None
    return [tk.prompt_ids(tokenizer, pop) for pop in (populations or [None] * int(n))], populations


def save_trained(run: Path, model: torch.nn.Module, name: str, tokenizer: Any, history: dict,
                 params: dict[str, Any], metadata: dict[str, Any], chapter: str = MODELS_CHAPTER,
                 extra: Mapping[str, Any] | None = None) -> list[Path]:
    """Save a trained model into ``models/<name>/`` (:func:`lib.lm.models.save_model`) with
    any ``extra`` JSON files (file name -> content, e.g. ``privacy.json``), its history
    into ``diagnostics/<name>/history.json``, and record them in the manifest under
    ``params``. Returns the paths :func:`lib.core.rundir.is_current` checks."""
    run = Run.of(run)
    directory = run.model_dir(name)
    models.save_model(model, directory, tokenizer=tokenizer, metadata=metadata)
    paths = [directory / "model.safetensors"]
    for filename, content in (extra or {}).items():
        rundir.write_json(directory / filename, content)  # after save_model, which replaces the directory
        paths.append(directory / filename)
    history_path = run.history_path(name)
    rundir.write_json(history_path, dict(history, privacy_note=HISTORY_NOTE))
    paths.append(history_path)
    run.record(chapter, params, paths)
    return paths


def train_model(run: str | os.PathLike, family: str, tokenizer_name: str | None, settings: Mapping[str, Any],
                seed: int = 0, base_model: str | os.PathLike | None = None, name: str | None = None,
                progress: bool = False, **train_overrides: Any) -> tuple[torch.nn.Module, dict, Path]:
    """Train (or reuse) a non-private model on the run's *train* split, validated on its
    *validation* split, sparse profiles. Sizes and training
    settings come from the profile ``settings`` (:func:`lib.core.profiles.resolve`; its
    ``population_tags`` puts each person's tag after the start token), then
    ``train_overrides`` (``TrainConfig`` fields). Returns the model, its history and its
    directory ``models/<name>/`` (``name`` defaults to :func:`lib.runs.artefacts.model_name`).
    ``tokenizer_name`` None: the family's main tokenizer (:data:`lib.runs.artefacts.MAIN_TOKENIZERS`).
    A text tokenizer's model takes the profile's ``text_model_epochs`` (:func:`train_config`)."""
    run = Run.of(run)
    tokenizer_name = tokenizer_name or artefacts.main_tokenizer(family)
    name = name or artefacts.model_name(family, tokenizer_name)
    directory = run.model_dir(name)
    digest = artefacts.input_digest(run, tokenizer_name)
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    config = train_config(settings, family, tokenizer_name, seed=seed, progress=progress, **train_overrides)
    base = base_record(run, base_model)
    tagged = bool(settings["population_tags"])
    params = dict(family=family, tokenizer=tokenizer_name, sizes=sizes, seed=seed, eps="inf",
                  train=train_settings(config), profiles="sparse", with_population=tagged,
                  base=base, **digest)
    paths = [directory / "model.safetensors", run.history_path(name)]
    if run.is_current(params, paths):
        return models.load_model(directory), artefacts.read_history(run, name), directory
    train_ids, val_ids, cut = training_ids(run, tokenizer, tokenizer_name, sizes, with_population=tagged)
    model = models.build_model(family, sizes, tokenizer, base_model=base_model, seed=seed)
    history = dict(training.train(model, train_ids, val_ids, config), truncated_sequences=cut)
    save_trained(run, model, name, tokenizer, history, params, metadata=release_metadata(
        name, "inf", seed, tokenizer_name, base, n_train=len(train_ids), n_validation=len(val_ids),
        population_tags=tagged))
    return model.eval(), history, directory


def write_synthetic(run: Path, name: str, profiles: Sequence[Sequence[str]], panel: Cohort,
                    metadata: dict[str, Any], populations: Sequence[str] | None = None) -> list[Path]:
    """``synthetic/<name>.vcf.gz`` (+ ``.tbi``: the profiles' genotypes on the public
    panel, :func:`lib.genomes.profiletext.to_cohort`, written by :func:`lib.genomes.vcf.write_vcf`),
    ``<name>.profiles.jsonl`` (with each person's prompted ``superpopulation`` when
    ``populations`` is given) and ``<name>.json`` (``metadata``), each atomically."""
    paths = Run.of(run).synthetic_paths(name)
    cohort = profiletext.to_cohort(profiles, panel)
    vcf.write_vcf(cohort, paths["vcf"], source=f"lib.ch03_models ({name})")
    tags = populations if populations is not None else [None] * len(profiles)
    with rundir.atomic_path(paths["profiles"]) as tmp, open(tmp, "w") as out:
        for sample, records, pop in zip(cohort.sample_ids, profiles, tags):
            row = {"sample": sample, "variants": list(records)}
            out.write(json.dumps(row if pop is None else dict(row, superpopulation=pop)) + "\n")
    rundir.write_json(paths["summary"], metadata)
    return [paths["vcf"], paths["profiles"], paths["summary"]]


def synthesize(run: str | os.PathLike, model: torch.nn.Module, tokenizer: Any, n_samples: int,
               seed: int = 0, name: str = "mingpt-epsinf", constrained: bool = True,
               sampling: generation.SamplingConfig | None = None,
               model_path: str | os.PathLike | None = None, chapter: str = MODELS_CHAPTER,
               order: str | None = None, prior_path: str | os.PathLike | None = None
               ) -> tuple[list[list[str]], dict]:
    """Sample ``n_samples`` profiles from ``<START_SAMPLE>`` alone (followed by a population
    tag drawn in the public people's proportions, :func:`population_draw`, when the model
    in ``model_path`` was trained with tags, :func:`is_tagged`) and write them as
    ``synthetic/<name>.vcf.gz`` (:func:`write_synthetic`). ``constrained``: decode under the
    public panel's grammar (every record valid by construction); ``order`` its site order
    (:func:`lib.lm.generation.panel_grammar`), the records of an ``"any"``-order profile being
    sorted into panel order. ``sampling`` defaults to temperature 1 up to the model's block
    size; a ``sampling.prior_weight`` above 0 mixes in the public prior saved in
    ``prior_path`` (:func:`lib.lm.generation.mix_prior`). Reused when the model's weights
    (``model_path``: its directory), the prior's, the sampling settings and the seed are
    unchanged. Returns the profiles and :func:`lib.lm.generation.validity_summary`."""
    run = Run.of(run)
    panel, phased = artefacts.load_panel(run)  # the public panel only: no person's genotypes
    block = models.block_size(model)
    prompt, populations = sampling_prompts(run, tokenizer, n_samples, seed,
                                           tagged=model_path is not None and is_tagged(model_path))
    prompt_length = len(prompt[0]) if prompt else 1
    sampling = sampling or generation.SamplingConfig(max_new_tokens=block - prompt_length, batch_size=32)
    if sampling.max_new_tokens > block - prompt_length:
        raise ValueError(f"max_new_tokens={sampling.max_new_tokens} exceeds the model's block size {block} "
                         "less the prompt")
    weights = Path(model_path) / "model.safetensors" if model_path is not None else None
    order = (order or generation.constrained_order(tokenizer)) if constrained else None
    params = dict(name=name, n_samples=n_samples, seed=seed, constrained=constrained, order=order,
                  sampling=asdict(sampling), sampler_version=generation.SAMPLER_VERSION,
                  prompt="<START_SAMPLE>" + (" + population tag in the public proportions" if populations else ""),
                  populations=pd.Series(populations).value_counts().sort_index().to_dict() if populations else None,
                  model_sha256=rundir.sha256(weights) if weights is not None and weights.exists() else None,
                  panel_sha256=rundir.sha256(run.cohort_paths()["panel"]))
    if sampling.prior_weight > 0:
        if prior_path is None:
            raise ValueError(f"{name}: prior_weight={sampling.prior_weight} needs prior_path, "
                             "the public prior's directory")
        params["prior_sha256"] = rundir.sha256(Path(prior_path) / "model.safetensors")
    paths = [run.synthetic_paths(name)[key] for key in ("vcf", "profiles", "summary")]
    if params["model_sha256"] is not None and run.is_current(params, paths):
        return artefacts.read_synthetic_profiles(run, name), artefacts.read_validity(run, name)
    grammar = generation.panel_grammar(tokenizer, panel, phased, order=order) if constrained else None
    prior = models.load_model(prior_path) if sampling.prior_weight > 0 else None
    new = generation.generate(model, prompt, n_samples, tokenizer.eos_token_id, sampling, constraint=grammar,
                              seed=seed, prior=prior)
    profiles = [generation.ids_to_records(tokenizer, ids) for ids in new]
    finished = [len(ids) < sampling.max_new_tokens for ids in new]  # stopped at the end token
    if constrained:  # the length limit may have cut a profile's last record in two
        profiles = [records if done else generation.drop_cut_record(records, panel)
                    for records, done in zip(profiles, finished)]
    if order == "any":
        profiles = [grammar.sort_records(records) for records in profiles]
    summary = generation.validity_summary(profiles, panel, finished)
    write_synthetic(run, name, profiles, panel, dict(params, summary=summary), populations)
    run.record(chapter, params, paths)
    return profiles, summary


def synthesize_both(run: str | os.PathLike, name: str, model: torch.nn.Module, tokenizer: Any, n_samples: int,
                    model_path: str | os.PathLike, seed: int = 0, temperature: float = 1.0,
                    top_k: int | None = None, top_p: float | None = None,
                    chapter: str = MODELS_CHAPTER, unconstrained: bool = True, prior_weight: float = 0.0,
                    prior_path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """A model's two cohorts, as the chapters write them: constrained (``<name>``) and
    unconstrained (``<name>-unconstrained``; left out when ``unconstrained`` is False), each
    :func:`synthesize`-d up to the model's block size (with the public prior in
    ``prior_path`` at ``prior_weight``) and read back. Returns label ->
    ``{"validity", "cohort", "seconds"}``."""
    prompt_length = len(tk.prompt_ids(tokenizer, "unknown" if is_tagged(model_path) else None))
    sampling = generation.SamplingConfig(max_new_tokens=models.block_size(model) - prompt_length,
                                         temperature=temperature, top_k=top_k,
                                         top_p=top_p, batch_size=32, prior_weight=prior_weight)
    panel, _ = artefacts.load_panel(run)
    out = {}
    for constrained in (True, False) if unconstrained else (True,):
        label = name if constrained else f"{name}-unconstrained"
        started = time.perf_counter()
        _, validity = synthesize(run, model, tokenizer, n_samples, seed=seed, name=label, constrained=constrained,
                                 sampling=sampling, model_path=model_path, chapter=chapter, prior_path=prior_path)
        out[label] = {"validity": validity, "cohort": artefacts.read_synthetic(run, label, panel),
                      "seconds": time.perf_counter() - started}
    return out


def synthesize_all(run: str | os.PathLike, trained: Mapping[str, Mapping[str, Any]], n_samples: int,
                   seed: int = 0, chapter: str = MODELS_CHAPTER, **sampling: Any) -> dict[str, dict[str, Any]]:
    """:func:`synthesize_both` for every trained model (``trained`` as :func:`lib.ch03_models.train_models`
    returns it, each with its ``tokenizer`` name and, for a model of a training seed beyond
    the first, its ``seed`` index: its cohort is sampled with that seed's random seed,
    :func:`lib.runs.artefacts.training_seed`, and constrained only), side by side
    (:func:`lib.core.parallel.run_jobs`, one thread each), checking that every constrained cohort
    is valid throughout. An item's own ``sampling`` (keyword arguments of
    :func:`synthesize_both`: a decoding chosen for it) overrides the shared ``sampling``.
    Returns label -> ``{"validity", "cohort", "seconds"}``."""
    jobs = [dict(run=str(run), name=name, directory=str(item["directory"]),
                 tokenizer_name=item.get("tokenizer", "variant"), n_samples=n_samples,
                 seed=artefacts.training_seed(seed, int(item.get("seed", 0))), chapter=chapter,
                 unconstrained=int(item.get("seed", 0)) == 0, sampling={**sampling, **item.get("sampling", {})})
            for name, item in trained.items()]
    out: dict[str, dict[str, Any]] = {}
    for made in parallel.run_jobs(synthesize_job, jobs):
        out.update(made)
    invalid = [label for label, made in out.items()
               if not label.endswith("-unconstrained") and made["validity"]["valid_rate"] != 1.0]
    if invalid:
        raise RuntimeError(f"constrained decoding wrote invalid records in {invalid}: the grammar is broken")
    return out


def synthesize_job(run: str, name: str, directory: str, tokenizer_name: str, n_samples: int, seed: int,
                   chapter: str, unconstrained: bool, sampling: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """:func:`synthesize_both` for the model saved in ``directory``, as a job of
    :func:`lib.core.parallel.run_jobs`; returns what :func:`synthesize_both` returns."""
    model = models.load_model(directory).eval()
    return synthesize_both(run, name, model, tk.load(run, tokenizer_name), n_samples, directory, seed=seed,
                           chapter=chapter, unconstrained=unconstrained, **sampling)


def record_first_look(run: str | os.PathLike, cohorts: Mapping[str, Mapping[str, Any]],
                      chapter: str = MODELS_CHAPTER, metrics_name: str = "03_models",
                      params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """:func:`lib.evaluation.utility.first_look` of ``cohorts`` (label -> ``{"cohort", "validity"}``)
    against the real members and holdout, written to ``metrics/<metrics_name>.csv`` and
    recorded in the manifest."""
    run = Run.of(run)
    real, members = artefacts.load_cohort(run), artefacts.load_splits(run)
    look = utility.first_look(real, {k: v["cohort"] for k, v in cohorts.items()},
                              artefacts.split_cohort(real, members["train"]),
                              artefacts.split_cohort(real, members["holdout"]),
                              {k: v["validity"] for k, v in cohorts.items()})
    path = run.metrics_path(metrics_name)
    rundir.write_text(path, look.to_csv(index=False))
    run.record(chapter, dict(params or {}), [path])
    return look


def synthetic_af_frame(run: str | os.PathLike, cohorts: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Per-site ALT frequencies of the constrained cohorts against the real holdout's."""
    real, members = artefacts.load_cohort(run), artefacts.load_splits(run)
    constrained = {k: v["cohort"] for k, v in cohorts.items() if not k.endswith("-unconstrained")}
    return utility.af_frame(constrained, artefacts.split_cohort(real, members["holdout"]))


def settings_text(settings: Mapping[str, Any]) -> dict[str, str]:
    """How the profile builds and trains each family, in words for the prose (glued, so
    that another profile's chapter says what it did): the minGPT's positions, whether each
    family ties its embeddings, where the context comes from, each family's learning rate."""
    sizes = {family: models.sizes_from_profile(dict(settings), family, block_size=0) for family in models.FAMILIES}
    lr = {family: training.config_from_profile(dict(settings), family).lr for family in models.FAMILIES}
    return {"mingpt_positions": ("fixed sinusoids (nothing to train)" if sizes["mingpt"]["positions"] == "sinusoidal"
                                 else "a learned table"),
            "mingpt_tied": "tied" if sizes["mingpt"]["tie_weights"] else "untied",
            "gpt2_tied": "tied" if sizes["gpt2"]["tie_weights"] else "untied",
            "context_from": ("1.5 times the longest public profile (rounded up to 64 tokens)"
                             if settings["model_block_size"] == "public" else
                             f"{int(settings['model_block_size']):,} tokens, fixed by the profile"),
            "mingpt_lr": f"{lr['mingpt']:g}", "gpt2_lr": f"{lr['gpt2']:g}"}


def members_count(run: str | os.PathLike) -> int:
    """How many members (people of the training split) the run has."""
    return len(artefacts.load_splits(run)["train"])


def holdout_size(run: str | os.PathLike) -> int:
    """How many people a synthetic cohort has: as many as the holdout split."""
    return len(artefacts.load_splits(run)["holdout"])


# --------------------------------------------------------------------------------------
# Private training (chapter 04; the privacy chapter's reference models and canary audits)
# --------------------------------------------------------------------------------------

def dp_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's DP settings (``dp_*`` keys) that every ε of the grid shares."""
    return {"delta": float(settings["dp_delta"]), "max_grad_norm": float(settings["dp_max_grad_norm"]),
            "max_physical_batch_size": settings.get("dp_max_physical_batch_size"),
            "accountant": settings.get("dp_accountant", "prv"), "secure_mode": bool(settings.get("dp_secure_mode"))}


def epsilon_grid(settings: Mapping[str, Any], epsilon: float | None = None) -> list[float]:
    """``inf`` (the non-private model) then the private budgets: the one ``epsilon``, or
    the profile's ``dp_epsilons``; each must be a finite number above 0."""
    budgets = [epsilon] if epsilon is not None else list(settings["dp_epsilons"])
    for value in budgets:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < float("inf"):
            raise ValueError(f"epsilon={value!r}: a privacy budget must be a finite number above 0")
    return [float("inf")] + [float(value) for value in budgets]


def train_private(run: str | os.PathLike, family: str, epsilon: float, settings: Mapping[str, Any],
                  seed: int = 0, base_model: str | os.PathLike | None = None, accountant: str | None = None,
                  progress: bool = False, tokenizer_name: str | None = None,
                  extra_train: Sequence[Sequence[int]] | None = None, name: str | None = None,
                  extra_files: Mapping[str, Any] | None = None,
                  chapter: str = PRIVATE_CHAPTER) -> tuple[torch.nn.Module, dict, Path, dict]:
    """Train (or reuse) the private ``family`` model at ``target_epsilon=epsilon`` on the
    run's train split with ``tokenizer_name`` (the family's main tokenizer by default,
    :data:`lib.runs.artefacts.MAIN_TOKENIZERS`); ``epsilon=inf`` is the *clip-only* run
    (:data:`lib.dp.budget.CLIP_ONLY`: the same Poisson batches and per-sample clipping, noise multiplier
    0, no guarantee). Returns the (unwrapped) model, its history, its directory and its
    ``privacy.json`` record.

    An audit run (the privacy chapter's canaries) passes ``extra_train`` (token-id lists
    trained on beside the members, truncated to the block size like them), its own
    ``name`` and ``extra_files`` (file name -> JSON content saved in the model's
    directory), and the ``chapter`` that records it."""
    run = Run.of(run)
    clip_only = float(epsilon) == float("inf")
    tokenizer_name = tokenizer_name or artefacts.main_tokenizer(family)
    if not clip_only:
        epsilon_grid(settings, epsilon)  # a finite epsilon above 0
    name = name or artefacts.model_name(family, tokenizer_name, epsilon, variant=budget.CLIP_ONLY if clip_only else "")
    directory = run.model_dir(name)
    digest = artefacts.input_digest(run, tokenizer_name)
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    config = training.config_from_profile(dict(settings), family, seed=seed, progress=progress)
    dp = dp_settings(settings)
    if accountant is not None:
        dp["accountant"] = accountant
    base = base_record(run, base_model)
    tagged = bool(settings["population_tags"])
    params = dict(family=family, tokenizer=tokenizer_name, sizes=sizes, seed=seed, eps=float(epsilon), dp=dp,
                  train=train_settings(config), profiles="sparse", with_population=tagged, base=base,
                  private_training_version=PRIVATE_TRAINING_VERSION, **digest)
    if extra_train is not None:
        params["extra_train_sha256"] = hashlib.sha256(json.dumps([list(map(int, s)) for s in extra_train]).encode()
                                                      ).hexdigest()
        params["extra_files_sha256"] = hashlib.sha256(json.dumps(extra_files or {}, sort_keys=True,
                                                                 default=str).encode()).hexdigest()
    paths = [directory / "model.safetensors", directory / privacy.PRIVACY_JSON, run.history_path(name)]
    paths += [directory / f for f in (extra_files or {})]
    if run.is_current(params, paths):
        return (models.load_model(directory), artefacts.read_history(run, name), directory,
                rundir.read_json(paths[1]))
    train_ids, val_ids, cut = training_ids(run, tokenizer, tokenizer_name, sizes, with_population=tagged)
    if extra_train is not None:
        train_ids = train_ids + [list(map(int, s))[:int(sizes["block_size"])] for s in extra_train]
    model = models.build_model(family, sizes, tokenizer, base_model=base_model, seed=seed)
    noise = {"noise_multiplier": 0.0} if clip_only else {"target_epsilon": float(epsilon)}
    model, history, record = privacy.train_dp(model, train_ids, val_ids, config, max_grad_norm=dp["max_grad_norm"],
                                              **noise, delta=dp["delta"], accountant=dp["accountant"],
                                              max_physical_batch_size=dp["max_physical_batch_size"], seed=seed,
                                              secure_mode=dp["secure_mode"])
    history = dict(history, truncated_sequences=cut)
    save_trained(run, model, name, tokenizer, history, params, chapter=chapter,
                             extra={privacy.PRIVACY_JSON: record, **(extra_files or {})},
                             metadata=release_metadata(name, epsilon, seed, tokenizer_name, base,
                                                                   privacy=record, population_tags=tagged))
    return model.eval(), history, directory, record


def baseline_inputs(run: str | os.PathLike) -> dict[str, Any]:
    """What a private baseline is run on: the ``members``' and the ``public`` people's
    sparse profiles, the public ``panel`` with its ``sites`` (``22:POS:REF>ALT``) and
    whether it is ``phased``. Shared by the releases and their canary audits."""
    panel, phased = artefacts.load_panel(run)
    return {"members": [list(v) for v in artefacts.split_profiles(run, "train")["variants"]],
            "public": [list(v) for v in artefacts.split_profiles(run, "public")["variants"]],
            "panel": panel, "sites": profiletext.site_keys(panel), "phased": phased}
