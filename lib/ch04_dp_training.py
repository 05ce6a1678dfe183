"""The private-training chapter (``book/04_dp_training.ipynb``): one model per (family, ε),
the same model and training settings for every ε, what each private run spent, and the
same GPT-2 fine-tuned through dp-transformers beside the Opacus path.

* :func:`lib.runs.experiments.train_private` -- DP-SGD (:func:`lib.dp.privacy.make_private`: Poisson sampling, the
  noise calibrated to a target ε, per-sample clipping) through the loop of
  :func:`lib.lm.training.train`, on the *train* split, validated on the *validation* split,
  saved to ``models/<family>-eps<eps>/`` with ``privacy.json`` (the training history goes
  to ``diagnostics/``: it is computed on the members without noise); reused when its
  inputs and settings are unchanged. GPT-2 is fine-tuned privately from the same base as
  the non-private GPT-2 (by default the base pre-trained on the public people).
* :func:`train_grid` -- every ε of the grid for one family. ``inf`` is the non-private
  model of the models chapter (:func:`lib.runs.experiments.train_model`, same sizes, same
  optimiser, learning rate, batch size and epochs); the private models differ from it only
  by what DP-SGD adds -- Poisson batches, per-sample clipping, noise -- and from each other
  only by the noise multiplier. (The dissertation changed the model size along with ε,
  which confounds the two.)
* :func:`train_dp_transformers` -- GPT-2 at one budget through the dp-transformers trainer
  (:func:`lib.dp.dp_transformers_compat.fit`: the library the dissertation used, on today's
  libraries), same data, base, ε, δ and optimisation, saved to
  ``models/gpt2-dptransformers-eps<eps>/``.
* :func:`release_baselines` -- the private baselines (:mod:`lib.dp.baselines`: private
  independent sites and MST) on the same members, at the same δ, every ε of the grid and
  every training seed: "what the budget buys" without a language model, their cohorts
  written by the same VCF writer into ``synthetic/<mechanism>-eps<eps>.vcf.gz`` and their
  ``privacy.json`` into ``models/<mechanism>-eps<eps>/``.
* :func:`summary_frame`, :func:`epoch_frame`, :func:`accountant_table`,
  :func:`trainer_comparison`, :func:`claims` -- the chapter's tables, and the sentences it
  states, computed.

Early stopping on the validation loss may end a run before its planned epochs; the ε
reported is then what the accountant computed for the steps actually taken (at most the
target). The validation split is not protected by the guarantee (it is not trained on):
choosing the best epoch with it is post-processing for the training members.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .core import parallel, rundir
from .genomes import profiletext
from .genetics import popgen
from .lm import generation, models, training
from .lm import tokenization as tk
from .dp import baselines, budget, dp_transformers_compat, privacy
from .evaluation import evidence
from .runs import artefacts, experiments
from .runs.run import Run

CHAPTER = "04_dp_training"
DP_TRANSFORMERS = "dptransformers"


def grid_text(grid: Sequence[float]) -> str:
    """``∞, 8, 3, 1``: the grid as the chapter's charts label it."""
    return ", ".join(budget.label(e) for e in grid)


def shared_settings(settings: Mapping[str, Any], n_train: int) -> dict[str, Any]:
    """What every private run of the grid shares, checked before training (δ below 1/n):
    n, the logical batch, the Poisson rate q and expected batch q·n, δ, C, the planned
    epochs and steps, the accountant and whether the noise is secure."""
    dp = experiments.dp_settings(settings)
    privacy.check_delta(dp["delta"], n_train)
    q = privacy.sample_rate(n_train, int(settings["train_batch_size"]))
    steps_per_epoch = round(1 / q)
    return {"n_train": n_train, "batch_size": int(settings["train_batch_size"]), "sample_rate": q,
            "expected_batch_size": q * n_train, "delta": dp["delta"], "max_grad_norm": dp["max_grad_norm"],
            "epochs": int(settings["train_epochs"]), "steps": steps_per_epoch * int(settings["train_epochs"]),
            "accountant": dp["accountant"], "secure_mode": dp["secure_mode"]}


def shared_table(shared: Mapping[str, Any]) -> pd.DataFrame:
    rows = {"training people (n)": f"{shared['n_train']:,}", "logical batch": f"{shared['batch_size']:,}",
            "sampling rate q": f"{shared['sample_rate']:.4f}",
            "expected batch q·n": f"{shared['expected_batch_size']:.1f}", "δ": f"{shared['delta']:g}",
            "clipping bound C": f"{shared['max_grad_norm']:g}", "epochs (planned)": f"{shared['epochs']}",
            "steps (planned)": f"{shared['steps']:,}", "accountant": shared["accountant"],
            "noise": "secure (OS CSPRNG)" if shared["secure_mode"] else "seeded (reproducible)"}
    return pd.DataFrame({"setting": list(rows), "value": list(rows.values())}).set_index("setting")


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def train_grid(run: str | os.PathLike, family: str, epsilons: Sequence[float], settings: Mapping[str, Any],
               seed: int = 0, base_model: str | os.PathLike | None = None, progress: bool = False,
               seed_index: int = 0) -> dict[str, dict[str, Any]]:
    """Every ε of ``epsilons`` (``inf`` included or not) for ``family``, trained with
    training seed ``seed_index`` (:func:`lib.runs.artefacts.training_seed`: the random seed
    ``seed + seed_index`` for the initial weights, the batches and the noise; the models are
    named with ``-seed<k>`` beyond the first, :func:`lib.runs.artefacts.model_name`): a mapping
    model name -> ``{"epsilon", "family", "model", "history", "directory", "privacy",
    "tokenizer", "seed"}`` (``privacy`` None for ``inf``, :func:`lib.runs.experiments.train_model`'s
    model)."""
    out: dict[str, dict[str, Any]] = {}
    tokenizer = artefacts.main_tokenizer(family)
    rng_seed = artefacts.training_seed(seed, seed_index)
    for epsilon in map(float, epsilons):
        if epsilon == float("inf"):
            model, history, directory = experiments.train_model(
                run, family, tokenizer, settings, seed=rng_seed, base_model=base_model, progress=progress,
                name=artefacts.model_name(family, tokenizer, epsilon, seed=seed_index))
            record = None
        else:
            model, history, directory, record = experiments.train_private(
                run, family, epsilon, settings, seed=rng_seed, base_model=base_model, progress=progress,
                name=artefacts.model_name(family, tokenizer, epsilon, seed=seed_index))
        out[directory.name] = dict(epsilon=epsilon, family=family, model=model, history=history,
                                   directory=directory, privacy=record, tokenizer=tokenizer, seed=seed_index)
        if epsilon == float("inf") and settings.get("dp_clip_only"):
            model, history, directory, record = experiments.train_private(
                run, family, epsilon, settings, seed=rng_seed, base_model=base_model, progress=progress,
                name=artefacts.model_name(family, tokenizer, epsilon, variant=budget.CLIP_ONLY, seed=seed_index))
            out[directory.name] = dict(epsilon=epsilon, label=budget.CLIP_ONLY_LABEL, family=family, model=model,
                                       history=history, directory=directory, privacy=record, tokenizer=tokenizer,
                                       seed=seed_index)
    return out


def train_one(run: str, family: str, epsilon: float, variant: str, settings: Mapping[str, Any], seed: int,
              base_model: str | None, seed_index: int) -> str:
    """One model of the grid (``variant`` ``""`` or :data:`budget.CLIP_ONLY`), as
    :func:`train_grid` trains it (a job of :func:`lib.core.parallel.run_jobs`); returns its name."""
    tokenizer = artefacts.main_tokenizer(family)
    rng_seed = artefacts.training_seed(seed, seed_index)
    name = artefacts.model_name(family, tokenizer, epsilon, variant=variant, seed=seed_index)
    if float(epsilon) == float("inf") and not variant:
        experiments.train_model(run, family, tokenizer, settings, seed=rng_seed, base_model=base_model, name=name)
    else:
        experiments.train_private(run, family, epsilon, settings, seed=rng_seed, base_model=base_model, name=name)
    return name


def seed_count(settings: Mapping[str, Any], n_seeds: int | None = None) -> int:
    """How many training seeds each setting of the main grid gets: ``n_seeds`` when given,
    else the profile's ``n_seeds`` (1 when it has none); a whole number of at least 1."""
    n = settings.get("n_seeds", 1) if n_seeds is None else n_seeds
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n_seeds={n!r}: the number of training seeds is a whole number of at least 1")
    return int(n)


def train_private_models(run: str | os.PathLike, grid: Sequence[float], settings: Mapping[str, Any], seed: int = 0,
              base_model: str | os.PathLike | None = None, n_seeds: int | None = None) -> dict[str, dict[str, Any]]:
    """:func:`train_grid` for both families and every training seed (:func:`seed_count`:
    the profile's ``n_seeds``), each family from where :func:`lib.runs.experiments.family_base`
    says (GPT-2 from ``base_model``, by default the public base of the models chapter; the
    minGPT from scratch unless the profile says ``mingpt_base``): every ε and every seed of
    a family starts from the same public weights (the base is public input, like the
    architecture); the seeds differ in everything training draws at random. The first seed
    of ε = ∞ is the models chapter's model."""
    n = seed_count(settings, n_seeds)
    with parallel.job_threads():
        base = experiments.family_base(run, "gpt2", settings, seed=seed, base_model=base_model)
        mingpt_base = experiments.family_base(run, "mingpt", settings, seed=seed)
    # every model of the grid trains as its own job, side by side (lib.core.parallel); the loop
    # below then finds each one current and loads it
    jobs = [dict(run=str(run), family=family, epsilon=float(epsilon), variant=variant, settings=dict(settings),
                 seed=seed, base_model=str(start) if start is not None else None, seed_index=index)
            for index in range(n) for family, start in (("mingpt", mingpt_base), ("gpt2", base))
            for epsilon in map(float, grid)
            for variant in ([""] + ([budget.CLIP_ONLY] if epsilon == float("inf") and settings.get("dp_clip_only") else []))]
    # the jobs that always train every planned epoch (non-private and clip-only GPT-2, the
    # private minGPT) first, those early stopping often ends sooner last: a shorter tail
    jobs.sort(key=lambda job: not ((job["family"] == "gpt2") == (job["epsilon"] == float("inf"))))
    parallel.run_jobs(train_one, jobs)
    trained: dict[str, dict[str, Any]] = {}
    for index in range(n):
        trained.update(train_grid(run, "mingpt", grid, settings, seed=seed, base_model=mingpt_base, seed_index=index))
        trained.update(train_grid(run, "gpt2", grid, settings, seed=seed, base_model=base, seed_index=index))
    return trained


def compare_trainers(run: str | os.PathLike, trained: Mapping[str, Mapping[str, Any]], epsilon: float | None,
                     settings: Mapping[str, Any], seed: int = 0, base_model: str | os.PathLike | None = None
                     ) -> dict[str, dict[str, Any]]:
    """The models :func:`trainer_comparison` sets side by side at ``epsilon`` that are not
    already in ``trained``: GPT-2 through dp-transformers (:func:`train_dp_transformers`)
    and, when the grid skipped that ε, GPT-2 through the Opacus path. ``epsilon`` None:
    nothing (the comparison is left out)."""
    if epsilon is None:
        return {}
    base = experiments.family_base(run, "gpt2", settings, seed=seed, base_model=base_model)
    out = {artefacts.model_name("gpt2", eps=epsilon, variant=DP_TRANSFORMERS):
           train_dp_transformers(run, float(epsilon), settings, seed=seed, base_model=base)}
    if artefacts.model_name("gpt2", eps=epsilon) not in trained:
        out.update(train_grid(run, "gpt2", [float(epsilon)], settings, seed=seed, base_model=base))
    return out


def train_dp_transformers(run: str | os.PathLike, epsilon: float, settings: Mapping[str, Any], seed: int = 0,
                          base_model: str | os.PathLike | None = None) -> dict[str, Any]:
    """GPT-2 fine-tuned privately at ``epsilon`` through the dp-transformers trainer
    (:func:`lib.dp.dp_transformers_compat.fit`) from the same base, on the same members, with
    the same δ, clipping bound, optimiser, schedule, batch and epochs as
    :func:`lib.runs.experiments.train_private`; saved (or reused) as ``models/gpt2-dptransformers-eps<eps>/``.
    Returns ``{"epsilon", "family", "model", "history", "directory", "privacy"}``."""
    run = Run.of(run)
    experiments.epsilon_grid(settings, epsilon)
    name = artefacts.model_name("gpt2", eps=epsilon, variant=DP_TRANSFORMERS)
    directory = run.model_dir(name)
    base_model = experiments.family_base(run, "gpt2", settings, seed=seed, base_model=base_model)
    tokenizer_name = artefacts.main_tokenizer("gpt2")
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, "gpt2", tokenizer)
    config = training.config_from_profile(dict(settings), "gpt2", seed=seed, progress=False)
    dp = experiments.dp_settings(settings)
    base = experiments.base_record(run, base_model)
    tagged = bool(settings["population_tags"])
    params = dict(family="gpt2", trainer="dp-transformers", tokenizer=tokenizer_name, sizes=sizes, seed=seed,
                  eps=float(epsilon), delta=dp["delta"], max_grad_norm=dp["max_grad_norm"], with_population=tagged,
                  train=experiments.train_settings(config), base=base, **artefacts.input_digest(run, tokenizer_name))
    paths = [directory / "model.safetensors", directory / privacy.PRIVACY_JSON, run.history_path(name)]
    if not run.is_current(params, paths):
        train_ids, val_ids, cut = experiments.training_ids(run, tokenizer, tokenizer_name, sizes,
                                                           with_population=tagged)
        model = models.build_model("gpt2", sizes, tokenizer, base_model=base_model, seed=seed)
        with tempfile.TemporaryDirectory(prefix="dp-transformers-") as scratch:
            model, history, record = dp_transformers_compat.fit(
                model, tokenizer, train_ids, val_ids, output_dir=scratch, config=config,
                target_epsilon=float(epsilon), delta=dp["delta"], max_grad_norm=dp["max_grad_norm"])
        history = dict(history, truncated_sequences=cut)
        experiments.save_trained(run, model, name, tokenizer, history, params, chapter=CHAPTER,
                                 extra={privacy.PRIVACY_JSON: record}, metadata=experiments.release_metadata(
                                     name, epsilon, seed, tokenizer_name, base, privacy=record,
                                     population_tags=tagged))
    return dict(epsilon=float(epsilon), family="gpt2", model=models.load_model(directory),
                history=artefacts.read_history(run, name), directory=directory,
                privacy=rundir.read_json(paths[1]), tokenizer=tokenizer_name)


def synthesize_private(run: str | os.PathLike, trained: Mapping[str, Mapping[str, Any]], n_samples: int,
                       seed: int = 0, **sampling: Any) -> dict[str, dict[str, Any]]:
    """The cohorts of every model this chapter trained (:func:`lib.runs.experiments.synthesize_all`:
    constrained and unconstrained for the first training seed, constrained only for the
    others), and the non-private first-seed models' cohorts as the models chapter wrote them."""
    mine = {name: item for name, item in trained.items() if item["privacy"] is not None or item.get("seed", 0)}
    cohorts = experiments.synthesize_all(run, mine, n_samples, seed=seed, chapter=CHAPTER, **sampling)
    panel, _ = artefacts.load_panel(run)
    for name, item in trained.items():
        if name not in mine:
            cohorts[name] = {"validity": artefacts.read_validity(run, name),
                             "cohort": artefacts.read_synthetic(run, name, panel)}
    return dict(sorted(cohorts.items(), key=lambda kv: (kv[0].split("-")[0], kv[0])))


# --------------------------------------------------------------------------------------
# Decoding chosen on the validation people
# --------------------------------------------------------------------------------------

#: Bumped when :func:`choose_decoding` changes what it computes (its table is then redone).
DECODING_VERSION = 1
#: Added to the chapter's seed for the draws the choice is made on, so that no released
#: cohort is the very draw it was chosen on.
DECODING_SEED_OFFSET = 1000
DECODING_RULE = ("each private setting (family, ε) samples its first training seed's model once at every point of "
                 "the profile's grid (temperature × weight of the public prior), as many people as the validation "
                 "split, constrained; the point whose linear two-sample AUC against the real validation people is "
                 "closest to 0.5 is chosen (ties: the earlier point, the first being temperature 1 without prior), "
                 "and every training seed of that setting is sampled with it. The validation people are not "
                 "members and the prior is trained on public people only: the choice is post-processing of the "
                 "private model and spends no ε; the holdout people the later chapters score on are not used")


def _noised(item: Mapping[str, Any]) -> bool:
    """Whether a trained model (an item of :func:`train_private_models` or :func:`compare_trainers`)
    is private: a finite ε (the clip-only and non-private models are not)."""
    return math.isfinite(float(item["epsilon"]))


def decoding_grid(settings: Mapping[str, Any]) -> list[dict[str, float]]:
    """The decoding settings a private model's cohort is chosen among: every pair of the
    profile's ``decoding_temperatures`` and ``decoding_prior_weights`` (λ of
    :func:`lib.lm.generation.mix_prior`), plain sampling (temperature 1, no prior) first.
    Without those keys, plain sampling alone."""
    temperatures = [float(t) for t in settings.get("decoding_temperatures", [1.0])]
    weights = [float(w) for w in settings.get("decoding_prior_weights", [0.0])]
    for t in temperatures:
        generation.SamplingConfig(temperature=t)  # refuses a temperature that is not positive
    for w in weights:
        generation.SamplingConfig(prior_weight=w)  # refuses a weight outside [0, 1)
    grid = [dict(temperature=t, prior_weight=w) for w in weights for t in temperatures]
    plain = dict(temperature=1.0, prior_weight=0.0)
    return [plain] + [g for g in grid if g != plain]


def decoding_job(run: str, name: str, directory: str, tokenizer_name: str, prior: str | None,
                 grid: Sequence[Mapping[str, float]], seed: int) -> list[dict[str, Any]]:
    """One private model sampled at every point of ``grid`` (``prior``: its family's public
    base, needed where a point's prior weight is above 0) and scored against the validation
    people: the linear two-sample AUC (:func:`lib.genetics.popgen.classifier_two_sample`), the same
    on four numbers per person (:func:`lib.genetics.popgen.class_two_sample`), the allele-frequency
    r, and heterozygous and homozygous-ALT genotypes per person at rare sites. A job of
    :func:`lib.core.parallel.run_jobs`."""
    panel, phased = artefacts.load_panel(run)
    validation = popgen.dosages(artefacts.split_cohort(artefacts.load_cohort(run),
                                                       artefacts.load_splits(run)["validation"]))
    af = popgen.allele_frequencies(validation)
    tokenizer = tk.load(run, tokenizer_name)
    model = models.load_model(directory).eval()
    prior_model = models.load_model(prior).eval() if prior is not None else None
    order = generation.constrained_order(tokenizer)
    grammar = generation.panel_grammar(tokenizer, panel, phased, order=order)
    rows = []
    prompt, _ = experiments.sampling_prompts(run, tokenizer, len(validation), seed, experiments.is_tagged(directory))
    for point in grid:
        sampling = generation.SamplingConfig(max_new_tokens=models.block_size(model) - len(prompt[0]),
                                             batch_size=32, **point)
        new = generation.generate(model, prompt, len(validation), tokenizer.eos_token_id,
                                  sampling, constraint=grammar, seed=seed, prior=prior_model)
        profiles = [generation.ids_to_records(tokenizer, ids) if len(ids) < sampling.max_new_tokens
                    else generation.drop_cut_record(generation.ids_to_records(tokenizer, ids), panel) for ids in new]
        if order == "any":
            profiles = [grammar.sort_records(records) for records in profiles]
        d = popgen.dosages(profiletext.to_cohort(profiles, panel))
        classes = popgen.genotype_classes(d, af).mean(axis=0)
        rows.append(dict(model=name, **point, auc=popgen.classifier_two_sample(validation, d, seed=seed, n_boot=0)[0],
                         classes_auc=popgen.class_two_sample(validation, d, af, seed=seed, n_boot=0)[0],
                         af_r=popgen.frequency_agreement(popgen.allele_frequencies(d), af)[0],
                         rare_het=float(classes[0]), rare_hom_alt=float(classes[1]),
                         variants=float((d > 0).sum(axis=1).mean())))
    return rows


def choose_decoding(run: str | os.PathLike, trained: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any],
                    seed: int = 0, enabled: bool = True) -> pd.DataFrame | None:
    """The decoding of every private setting, chosen on the validation people
    (:data:`DECODING_RULE`): one row per (first-seed private model, grid point) with the
    scores of :func:`decoding_job` and ``chosen`` (one True per model). Written to
    ``metrics/04_decoding.csv`` and reused while the models, the priors, the grid and the
    validation people are unchanged. Models with no noise (ε = ∞) keep plain sampling and
    are not listed. ``enabled=False`` chooses nothing (None: every model sampled plainly)."""
    if not enabled:
        return None
    run = Run.of(run)
    grid = decoding_grid(settings)
    firsts = {name: item for name, item in trained.items() if _noised(item) and not item.get("seed", 0)}
    priors: dict[str, str | None] = {}
    for name, item in firsts.items():
        family, tokenizer_name = artefacts.parse_model_name(name)["family"], item.get("tokenizer", "variant")
        if any(p["prior_weight"] > 0 for p in grid) and (family, tokenizer_name) not in priors:
            with parallel.job_threads():
                priors[family, tokenizer_name] = str(experiments.public_base(run, settings, seed=seed, family=family,
                                                                             tokenizer_name=tokenizer_name))
    path = run.metrics_path("04_decoding")
    params = dict(version=DECODING_VERSION, grid=grid, seed=seed, sampler_version=generation.SAMPLER_VERSION,
                  validation=artefacts.load_splits(run)["validation"],
                  models={n: rundir.sha256(Path(i["directory"]) / "model.safetensors") for n, i in firsts.items()},
                  priors={f"{f}/{t}": rundir.sha256(Path(p) / "model.safetensors") for (f, t), p in priors.items()})
    if run.is_current(params, [path]):
        return pd.read_csv(path)
    jobs = [dict(run=str(run), name=name, directory=str(item["directory"]),
                 tokenizer_name=item.get("tokenizer", "variant"),
                 prior=priors.get((artefacts.parse_model_name(name)["family"], item.get("tokenizer", "variant"))),
                 grid=grid, seed=seed + DECODING_SEED_OFFSET) for name, item in firsts.items()]
    rows = [row for made in parallel.run_jobs(decoding_job, jobs) for row in made]
    table = pd.DataFrame(rows, columns=["model", "temperature", "prior_weight", "auc", "classes_auc", "af_r",
                                        "rare_het", "rare_hom_alt", "variants"])
    distance = (table["auc"] - 0.5).abs()
    table["chosen"] = False
    for _, group in distance.groupby(table["model"], sort=False):
        table.loc[group.idxmin(), "chosen"] = True  # idxmin: the first of ties, in grid order
    rundir.write_text(path, table.to_csv(index=False))
    run.record(CHAPTER, params, [path])
    return table


def with_decoding(run: str | os.PathLike, trained: Mapping[str, Mapping[str, Any]], table: pd.DataFrame | None,
                  settings: Mapping[str, Any], seed: int = 0) -> dict[str, dict[str, Any]]:
    """``trained`` with each private model's ``sampling`` set to its setting's choice in
    ``table`` (:func:`choose_decoding`; every training seed of a setting takes its first
    seed's), the prior's directory included where its weight is above 0; models not in the
    table (ε = ∞), or all of them when ``table`` is None, unchanged. :func:`synthesize_private`
    then samples each with it."""
    if table is None:
        return {name: dict(item) for name, item in trained.items()}
    chosen = {artefacts.setting_name(r["model"]): r for _, r in table[table["chosen"]].iterrows()}
    out = {}
    for name, item in trained.items():
        row = chosen.get(artefacts.setting_name(name)) if _noised(item) else None
        if row is None:
            out[name] = dict(item)
            continue
        sampling: dict[str, Any] = dict(temperature=float(row["temperature"]), prior_weight=float(row["prior_weight"]))
        if sampling["prior_weight"] > 0:
            family = artefacts.parse_model_name(name)["family"]
            sampling["prior_path"] = str(experiments.public_base(run, settings, seed=seed, family=family,
                                                                 tokenizer_name=item.get("tokenizer", "variant")))
        out[name] = dict(item, sampling=sampling)
    return out


def decoding_summary(table: pd.DataFrame | None) -> str:
    """The chosen decoding of every private setting, as a sentence part
    (``mingpt-eps8: temperature 0.9, λ 0.5; …``), or what was sampled when nothing was chosen."""
    if table is None:
        return "none: every model sampled at temperature 1 without the prior (choose_decoding=False)"
    chosen = table[table["chosen"]]
    return "; ".join(f"{r['model']}: temperature {r['temperature']:g}, λ {r['prior_weight']:g}"
                     for _, r in chosen.iterrows())


def decoding_table(table: pd.DataFrame | None) -> pd.DataFrame:
    """:func:`choose_decoding`'s table for the chapter: one row per model and grid point,
    the chosen one marked, numbers rounded (when nothing was chosen, one row saying so)."""
    if table is None:
        return pd.DataFrame({"decoding": [decoding_summary(None)]})
    out = table.assign(chosen=table["chosen"].map({True: "✓", False: ""}))
    out = out.rename(columns={"temperature": "temperature", "prior_weight": "prior weight λ",
                              "auc": "two-sample AUC (0.5 best)", "classes_auc": "four-number AUC",
                              "af_r": "AF r", "rare_het": "rare het / person", "rare_hom_alt": "rare hom-ALT / person",
                              "variants": "variants / person"})
    return out.set_index(["model", "temperature", "prior weight λ"]).round(3)


# --------------------------------------------------------------------------------------
# Private baselines at the same budget
# --------------------------------------------------------------------------------------

#: The version of the baselines' releases (a change of it makes a rerun release them again).
BASELINE_VERSION = 2  # 2: shares combined with the public people's before clipping
#: Where a baseline's diagnostics outside ε go (what its release counted on the members).
BASELINE_DIAGNOSTICS = "release.json"
BASELINE_NOTE = ("diagnostic outside the privacy guarantee: counted on the members without noise (how many, how "
                 "many were cut to the contribution bound). Kept in diagnostics/, never released with the cohort.")


def baseline_paths(run: str | os.PathLike, name: str) -> dict[str, Path]:
    """A baseline's files: its cohort (:func:`lib.runs.artefacts.synthetic_paths`), its
    ``models/<name>/privacy.json`` (what a run may release beside the cohort) and
    ``diagnostics/<name>/release.json`` (:data:`lib.dp.baselines.OUTSIDE`: counted on the
    members, outside ε, never released)."""
    run = Run.of(run)
    return {**run.synthetic_paths(name), "privacy": run.model_dir(name) / privacy.PRIVACY_JSON,
            "outside": run.diagnostics_path(name, BASELINE_DIAGNOSTICS)}


def release_baseline(run: str, mechanism: str, epsilon: float, settings: Mapping[str, Any], seed: int,
                     seed_index: int, n_samples: int) -> dict[str, Any]:
    """One private baseline (:func:`lib.dp.baselines.release`) on the run's members at
    ``epsilon`` and the profile's δ, with training seed ``seed_index``'s random seed
    (:func:`lib.runs.artefacts.training_seed`), ``n_samples`` people written through the models'
    VCF writer (:func:`lib.runs.experiments.write_synthetic`); reused when its inputs and
    settings are unchanged (a job of :func:`lib.core.parallel.run_jobs`). Returns ``name``,
    ``family`` (the mechanism), ``epsilon``, ``seed``, ``privacy`` (the released record),
    ``validity`` and ``seconds``."""
    started = time.perf_counter()
    run = Run.of(run)
    name = artefacts.model_name(mechanism, eps=epsilon, seed=seed_index)
    dp = experiments.dp_settings(settings)
    rng_seed = artefacts.training_seed(seed, seed_index)
    files = run.cohort_paths()
    params = dict(mechanism=mechanism, eps=float(epsilon), delta=dp["delta"], seed=rng_seed, n_samples=int(n_samples),
                  version=BASELINE_VERSION, profiles_sha256=rundir.sha256(files["profiles"]),
                  splits_sha256=rundir.sha256(files["splits"]), panel_sha256=rundir.sha256(files["panel"]))
    paths = baseline_paths(run, name)
    checked = [paths[k] for k in ("vcf", "profiles", "summary", "privacy", "outside")]
    if not run.is_current(params, checked):
        data = experiments.baseline_inputs(run)
        profiles, record = baselines.release(mechanism, data["members"], data["public"], data["sites"], int(n_samples),
                                             float(epsilon), dp["delta"], phased=data["phased"], seed=rng_seed)
        outside = record.pop(baselines.OUTSIDE)
        summary = generation.validity_summary(profiles, data["panel"], [True] * len(profiles))
        experiments.write_synthetic(run, name, profiles, data["panel"],
                                    dict(name=name, mechanism=mechanism, eps=float(epsilon), seed=rng_seed,
                                         n_samples=int(n_samples), privacy=record, summary=summary))
        rundir.write_json(paths["privacy"], record)
        rundir.write_json(paths["outside"], {baselines.OUTSIDE: outside, "note": BASELINE_NOTE})
        run.record(CHAPTER, params, checked)
    return {"name": name, "family": mechanism, "epsilon": float(epsilon), "seed": int(seed_index),
            "privacy": rundir.read_json(paths["privacy"]), "validity": artefacts.read_validity(run, name),
            "seconds": time.perf_counter() - started}


def release_baselines(run: str | os.PathLike, grid: Sequence[float], settings: Mapping[str, Any], n_samples: int,
                      seed: int = 0, n_seeds: int | None = None,
                      mechanisms: Sequence[str] = tuple(baselines.MECHANISMS)) -> dict[str, dict[str, Any]]:
    """:func:`release_baseline` for every mechanism, every private ε of ``grid`` (a baseline
    at ε = ∞ would be the members' own counts: the utility chapter's non-private references
    already are) and every training seed (:func:`seed_count`), side by side. Returns name ->
    what :func:`release_baseline` returns."""
    unknown = [m for m in mechanisms if m not in baselines.MECHANISMS]
    if unknown:
        raise ValueError(f"mechanisms={unknown}: no such private baseline; choose from {sorted(baselines.MECHANISMS)}")
    n = seed_count(settings, n_seeds)
    jobs = [dict(run=str(run), mechanism=mechanism, epsilon=float(epsilon), settings=dict(settings), seed=seed,
                 seed_index=index, n_samples=int(n_samples))
            for mechanism in mechanisms for epsilon in grid if float(epsilon) != float("inf") for index in range(n)]
    jobs.sort(key=lambda job: job["mechanism"] != "mst")  # the slower first: a shorter tail
    out = {made["name"]: made for made in parallel.run_jobs(release_baseline, jobs)}
    return dict(sorted(out.items(), key=lambda kv: (kv[1]["family"] != "sites", -kv[1]["epsilon"], kv[1]["seed"])))


def baseline_table(made: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per baseline setting (the first training seed's release): the mechanism, the
    target ε, the ε its accountant computed, δ, how its noise was set (σ and the
    contribution bound for independent sites; ρ and its parts for MST), its seeds and the
    seconds the release and sampling took (or its reuse)."""
    rows = []
    for name, item in made.items():
        if item["seed"]:
            continue
        r = item["privacy"]
        seeds = sum(1 for other in made.values() if other["family"] == item["family"]
                    and other["epsilon"] == item["epsilon"])
        if item["family"] == "sites":
            noise = (f"σ = {r['noise_multiplier']:.3f} × Δ = √({r['contribution_bound']} + 1) = "
                     f"{r['l2_sensitivity']:.2f}")
        else:
            noise = (f"ρ = {r['rho']:.4f} (thirds); σ one-way {r['noise_std_one_way']:.1f}, two-way "
                     f"{r['noise_std_two_way']:.1f}; ε per tree edge {r['epsilon_per_round']:.4f}")
        rows.append({"baseline": name, "mechanism": baselines.MECHANISMS[item["family"]],
                     "ε (target)": f"{r['target_epsilon']:g}", "accountant ε": f"{r['epsilon']:.3f}",
                     "δ": f"{r['delta']:.1e}", "noise": noise, "accountant": r["accountant"], "seeds": seeds,
                     "seconds (seed 0)": f"{item['seconds']:.1f}"})
    return pd.DataFrame(rows).set_index("baseline")


def baseline_numbers(made: Mapping[str, Mapping[str, Any]], seconds: float) -> dict[str, str]:
    """What the chapter's prose cites about the baselines: ``baseline_bound`` (independent
    sites' contribution bound k), ``baseline_sensitivity``, ``baseline_minutes`` (every
    release and its sampling, or their reuse), ``baseline_eps_gap`` (the largest gap between a
    baseline's accountant ε and its target) and ``n_baselines``."""
    sites = [m["privacy"] for m in made.values() if m["family"] == "sites"]
    gaps = [abs(m["privacy"]["epsilon"] - m["privacy"]["target_epsilon"]) for m in made.values()]
    return {"baseline_bound": f"{sites[0]['contribution_bound']}" if sites else "–",
            "baseline_sensitivity": f"{sites[0]['l2_sensitivity']:.2f}" if sites else "–",
            "baseline_minutes": f"{seconds / 60:.1f}", "n_baselines": f"{len(made):,}",
            "baseline_eps_gap": f"{max(gaps):.3f}" if gaps else "–"}


# --------------------------------------------------------------------------------------
# Tables for the figures and the prose
# --------------------------------------------------------------------------------------

def epoch_frame(trained: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (model, epoch, split): ``family``, ``seed`` (the training seed's index),
    ``epsilon`` (chart label), ``epoch``,
    ``split``, ``loss``, and per epoch ``steps`` (cumulative optimizer steps),
    ``epsilon_spent`` (the accountant's, private models only), ``clipped_fraction`` and
    ``grad_norm_median`` (diagnostics computed on the members)."""
    rows = []
    for name, item in trained.items():
        steps = 0
        label = item.get("label") or budget.label(item["epsilon"])
        for entry in item["history"]["epochs"]:
            steps += int(entry.get("steps", 0))
            common = dict(model=name, family=item["family"], seed=int(item.get("seed", 0)), epsilon=label,
                          epoch=entry["epoch"], steps=steps, epsilon_spent=entry.get("epsilon"),
                          clipped_fraction=entry.get("clipped_fraction"),
                          grad_norm_median=entry.get("grad_norm_median"))
            if entry.get("train_loss") is not None:
                rows.append(dict(common, split="train", loss=entry["train_loss"]))
            if entry.get("val_loss") is not None:
                rows.append(dict(common, split="validation", loss=entry["val_loss"]))
    return pd.DataFrame(rows, columns=["model", "family", "seed", "epsilon", "epoch", "split", "loss", "steps",
                                       "epsilon_spent", "clipped_fraction", "grad_norm_median"])


def noise_to_signal(noise_multiplier: float, parameters: int, expected_batch_size: float) -> float:
    """How much larger the noise of one DP-SGD step is than the largest possible signal:
    the averaged gradient is ``(sum of clipped per-sample gradients + N(0, sigma^2 C^2
    I_d)) / (q n)``; the sum has norm at most ``C`` times the batch, about ``C q n``, so the
    signal is at most ``C``, while the noise vector's norm is about ``sigma C sqrt(d) /
    (q n)``. Returns ``sigma sqrt(d) / (q n)`` (``C`` cancels): far above 1, a single step
    points mostly in a random direction, and only many steps average the noise out."""
    return float(noise_multiplier) * math.sqrt(parameters) / float(expected_batch_size)


def summary_frame(trained: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per model: its privacy record (target and spent ε, δ, sample rate, noise
    multiplier, steps, epochs, accountant), its parameter count, the noise of one step
    against the largest signal (:func:`noise_to_signal`; None for a non-private model) and
    its best validation loss."""
    rows = []
    for name, item in trained.items():
        record = item["privacy"] or {}
        history = item["history"]
        parameters = models.num_parameters(item["model"])
        ratio = (noise_to_signal(record["noise_multiplier"], parameters, record["expected_batch_size"])
                 if record and record.get("expected_batch_size") else None)
        rows.append({"model": name, "family": item["family"], "seed": int(item.get("seed", 0)),
                     "epsilon": item.get("label") or budget.label(item["epsilon"]),
                     "target_epsilon": record.get("target_epsilon"), "epsilon_spent": record.get("epsilon"),
                     "delta": record.get("delta"),
                     "sample_rate": record.get("sample_rate", record.get("sampling_rate")),
                     "noise_multiplier": record.get("noise_multiplier"), "max_grad_norm": record.get("max_grad_norm"),
                     "steps": record.get("steps", sum(int(e.get("steps", 0)) for e in history["epochs"])),
                     "epochs": len(history["epochs"]), "planned_epochs": record.get("planned_epochs"),
                     "accountant": record.get("accountant"),
                     "parameters": parameters, "noise_to_signal": ratio, "best_val_loss": history["best_val_loss"]})
    return pd.DataFrame(rows)


def write_summary(run: str | os.PathLike, summary: pd.DataFrame, params: Mapping[str, Any]) -> Path:
    run = Run.of(run)
    path = run.metrics_path("04_dp_training")
    rundir.write_text(path, summary.to_csv(index=False))
    run.record(CHAPTER, params, [path])
    return path


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.assign(**{
        "target ε": summary["target_epsilon"].map(lambda x: "∞" if pd.isna(x) else f"{x:g}"),
        "ε spent": summary["epsilon_spent"].map(lambda x: "∞" if pd.isna(x) else f"{x:.3f}"),
        "noise σ": summary["noise_multiplier"].map(lambda x: "0" if pd.isna(x) else f"{x:.3f}"),
        "steps": summary["steps"].map("{:,}".format), "accountant": summary["accountant"].fillna("–"),
        "noise / signal": summary["noise_to_signal"].map(lambda x: "0" if pd.isna(x) else f"{x:.1f}"),
        "best validation loss": summary["best_val_loss"].map("{:.3f}".format),
    })[["model", "target ε", "ε spent", "noise σ", "steps", "epochs", "accountant", "noise / signal",
        "best validation loss"]].set_index("model")


def accountant_table(trained: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Every private run's ε recomputed from its ``privacy.json`` alone: by the same
    accountant, by RDP, and by dp-transformers' PRV computation. Numbers, one row per model."""
    rows = []
    for name, item in trained.items():
        record = item["privacy"]
        if record is None or record.get("clip_only"):
            continue
        q = record.get("sample_rate", record.get("sampling_rate"))
        args = (q, record["noise_multiplier"], record["steps"], record["delta"])
        theirs = dp_transformers_compat.dp_transformers_epsilon(*args)
        rows.append({"model": name, "recorded": record["epsilon"], "accountant": record["accountant"],
                     "same accountant": privacy.compute_epsilon(*args, accountant=record["accountant"]),
                     "rdp": privacy.compute_epsilon(*args, accountant="rdp"),
                     "dp-transformers": theirs["epsilon"], "dp-transformers accountant": theirs["accountant"]})
    return pd.DataFrame(rows, columns=["model", "recorded", "accountant", "same accountant", "rdp", "dp-transformers",
                                       "dp-transformers accountant"])


def format_accountants(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "model": table["model"],
        "privacy.json ε": [f"{e:.4f} ({a})" for e, a in zip(table["recorded"], table["accountant"])],
        "recomputed, same accountant": table["same accountant"].map("{:.4f}".format),
        "RDP": table["rdp"].map("{:.4f}".format),
        "dp-transformers": [f"{e:.4f} ({a})" for e, a in zip(table["dp-transformers"],
                                                              table["dp-transformers accountant"])]}).set_index("model")


def trainer_comparison(trained: Mapping[str, Mapping[str, Any]], compared: Mapping[str, Mapping[str, Any]],
                       look: pd.DataFrame) -> pd.DataFrame | None:
    """The same GPT-2 at the same ε through the two trainers (``compared``, as
    :func:`compare_trainers` returns it, beside ``trained``): ε spent, q, σ, steps,
    epochs, best validation loss, and the constrained cohort's first-look numbers. None
    when nothing was compared."""
    if not compared:
        return None
    models_ = {**trained, **compared}
    theirs = next(name for name in compared if DP_TRANSFORMERS in name)
    ours = artefacts.model_name("gpt2", eps=compared[theirs]["epsilon"])
    rows = []
    by = look.set_index("cohort")
    for trainer, item in (("Opacus (this book's loop)", models_[ours]),
                          ("dp-transformers (compatibility layer)", models_[theirs])):
        record, name = item["privacy"], Path(item["directory"]).name
        rows.append({"trainer": trainer, "model": name, "target ε": record["target_epsilon"],
                     "ε spent": record["epsilon"], "accountant": record["accountant"], "δ": record["delta"],
                     "q": record.get("sample_rate", record.get("sampling_rate")),
                     "noise σ": record["noise_multiplier"], "steps": record["steps"],
                     "epochs": len(item["history"]["epochs"]), "best validation loss": item["history"]["best_val_loss"],
                     "variants per person": by.loc[name, "variants per sample"],
                     "AF r (holdout)": by.loc[name, "AF r (holdout)"]})
    return pd.DataFrame(rows)


def format_trainer_comparison(table: pd.DataFrame | None) -> pd.DataFrame:
    """:func:`trainer_comparison` for display: one column per trainer, one row per measure
    (a one-line frame saying so when nothing was compared: ``dp_transformers_epsilon=None``)."""
    if table is None:
        return pd.DataFrame({"": ["not compared (dp_transformers_epsilon is None)"]}, index=["dp-transformers"])
    out = table.copy()
    for column, fmt in (("ε spent", "{:.3f}"), ("q", "{:.4f}"), ("noise σ", "{:.3f}"), ("steps", "{:,}"),
                        ("best validation loss", "{:.3f}"), ("variants per person", "{:.1f}"),
                        ("AF r (holdout)", "{:.2f}"), ("target ε", "{:g}"), ("δ", "{:g}")):
        out[column] = out[column].map(fmt.format)
    return out.set_index("trainer").T.rename_axis(None, axis=1)


def claims(summary: pd.DataFrame, accountants: pd.DataFrame) -> dict[str, str]:
    """The sentences the chapter states about its runs, computed from them: whether every
    private run spent at most its target and how close it came, how far the recomputed and
    dp-transformers' ε are from the recorded one, whether any private model beats the
    non-private one of its family on validation loss (the dissertation's "DP
    regularises"), and what clipping alone and the noise cost in validation loss."""
    private = summary[summary["target_epsilon"].notna()]
    over = private[private["epsilon_spent"] > private["target_epsilon"] * (1 + 1e-9)]
    ratio = private["epsilon_spent"] / private["target_epsilon"]
    full = private[private["epochs"] >= private["planned_epochs"]]
    if over.empty:
        targets = (f"every private run spent at most its target ε (between {ratio.min():.1%} and {ratio.max():.1%} "
                   "of it)")
    else:
        targets = f"{len(over)} private run(s) spent more than the target ε: {', '.join(over['model'])}"
    same = (accountants["same accountant"] - accountants["recorded"]).abs().max()
    prv = accountants[accountants["dp-transformers accountant"] == "prv"]
    theirs = (prv["dp-transformers"] - prv["recorded"]).abs()
    looser = (accountants["rdp"] / accountants["recorded"])
    regularises = _regularises(summary)
    return {"targets_claim": targets, "full_runs": f"{len(full)} of {len(private)}",
            "recomputed_gap": f"{same:.2g}",
            "dp_transformers_gap": f"{theirs.max():.3f}" if len(theirs) else "–",
            "dp_transformers_error": f"{dp_transformers_compat.PRV_EPS_ERROR:g}",
            "dp_transformers_within": ("within" if len(theirs) and theirs.max() <= dp_transformers_compat.PRV_EPS_ERROR
                                       else "beyond"),
            "rdp_looser": f"{looser.min():.2f} to {looser.max():.2f}", "regularises_claim": regularises,
            "clip_cost_claim": _clip_cost(summary)}


def _regularises(summary: pd.DataFrame) -> str:
    """Whether any private setting (a family at one ε, over its training seeds) reaches a
    lower best validation loss than its family's non-private setting: seed-level
    estimates (:func:`lib.evaluation.evidence.seed_estimate`) compared with Bonferroni-corrected
    intervals (:func:`lib.evaluation.evidence.compare`)."""
    loss = {key: evidence.seed_estimate(rows["best_val_loss"])
            for key, rows in summary.groupby(["family", "epsilon"], sort=False)}
    private = [(family, label) for family, label in loss
               if label not in ("∞", budget.CLIP_ONLY_LABEL) and (family, "∞") in loss]
    if not private:
        return "no private model stands beside a non-private one of its family"
    level = evidence.bonferroni(len(private))
    outcome = {(family, label): evidence.compare(loss[(family, label)], loss[(family, "∞")], sense="low",
                                                 level=level)["outcome"] for family, label in private}
    better = [f"{family} ε = {label}" for (family, label), o in outcome.items() if o == "better"]
    worse = [f"{family} ε = {label}" for (family, label), o in outcome.items() if o == "worse"]
    seeds = max(e.n for e in loss.values())
    how = (f"mean over {seeds} training seed{'s' if seeds > 1 else ''}, intervals at {level:.2%} (Bonferroni over "
           f"{len(private)} comparisons)" + ("; one seed gives no interval, so nothing can be told apart"
                                             if seeds < 2 else ""))
    return (f"{len(better)} of the {len(private)} private settings{' (' + ', '.join(better) + ')' if better else ''} "
            f"reach a lower validation loss than the non-private model of their family, {len(worse)} a higher one"
            f"{' (' + ', '.join(worse) + ')' if worse else ''}, and {len(private) - len(better) - len(worse)} cannot "
            f"be told apart from it ({how})")


def _clip_cost(summary: pd.DataFrame) -> str:
    """What clipping alone (the clip-only run against ∞) and then the noise (the
    largest-ε run against clip-only) add to each family's best validation loss (means over
    the training seeds)."""
    parts = []
    for family, rows in summary.groupby("family", sort=False):
        by = rows.groupby("epsilon")["best_val_loss"].mean()
        if budget.CLIP_ONLY_LABEL not in by or "∞" not in by:
            continue
        noisy = rows[rows["target_epsilon"].notna()].groupby("target_epsilon")["best_val_loss"].mean()
        text = f"{family}: clipping alone {by[budget.CLIP_ONLY_LABEL] - by['∞']:+.3f}"
        if len(noisy):
            top = float(noisy.index.max())
            text += f", the noise at ε = {top:g} a further {noisy[top] - by[budget.CLIP_ONLY_LABEL]:+.3f}"
        parts.append(text)
    return "; ".join(parts) if parts else "no clip-only run was trained (dp_clip_only is off)"


#: What the quick profile's constrained cohorts should reach against the real holdout, per ε
#: (both families): AF r at least ``af_r``; mean variants per person within ``mean`` (a
#: fraction) of the real mean; their standard deviation within ``sd`` of the real one.
GOALS = {float("inf"): {"af_r": 0.95, "mean": 0.10, "sd": 0.30}, 8.0: {"af_r": 0.90, "mean": 0.20, "sd": 0.50},
         3.0: {"af_r": 0.85, "mean": 0.30, "sd": None}, 1.0: {"af_r": 0.75, "mean": 0.50, "sd": None}}


def goal_table(look: pd.DataFrame, families: Sequence[str] = ("mingpt", "gpt2")) -> pd.DataFrame:
    """Each setting of the grid (a family at one ε) against :data:`GOALS`, from its
    constrained cohorts of every training seed found in ``look``: AF r against the holdout,
    mean and SD of variants per person as a deviation from the holdout's, each the mean over
    the seeds (``seeds`` says how many), the first seed's unconstrained cohort's validity
    beside them, and whether each goal is met by the mean. Numbers, one row per setting."""
    by = look.set_index("cohort")
    real = by.loc["holdout (real)"]
    rows = []
    for family in families:
        for epsilon, goal in GOALS.items():
            name = artefacts.model_name(family, eps=epsilon)
            names = [c for c in by.index if _setting_of(c) == name]
            if name not in by.index:
                continue
            cohorts = by.loc[names]
            af_r = float(cohorts["AF r (holdout)"].mean())
            mean_dev = float((cohorts["variants per sample"] / real["variants per sample"] - 1).mean())
            sd_dev = float((cohorts["sd"] / real["sd"] - 1).mean())
            unconstrained = f"{name}-unconstrained"
            checks = [af_r >= goal["af_r"], abs(mean_dev) <= goal["mean"]]
            checks += [abs(sd_dev) <= goal["sd"]] if goal["sd"] is not None else []
            rows.append({"model": name, "family": family, "epsilon": budget.label(epsilon),
                         "seeds": len(names), "AF r": af_r, "AF r goal": goal["af_r"],
                         "mean deviation": mean_dev, "mean goal": goal["mean"], "sd deviation": sd_dev,
                         "sd goal": goal["sd"],
                         "unconstrained validity": by.loc[unconstrained, "validity"] if unconstrained in by.index
                         else float("nan"), "met": all(checks)})
    return pd.DataFrame(rows)


def _setting_of(cohort: str) -> str | None:
    """The setting (:func:`lib.runs.artefacts.setting_name`) of a constrained cohort's name; None
    for anything else (an unconstrained cohort, a real split's row)."""
    if cohort.endswith("-unconstrained"):
        return None
    try:
        return artefacts.setting_name(cohort)
    except ValueError:
        return None


def format_goals(goals: pd.DataFrame) -> pd.DataFrame:
    """:func:`goal_table` for display: each value with its goal, ✓ where it is met."""
    def mark(ok: bool, text: str) -> str:
        return f"{text} {'✓' if ok else '✗'}"
    out = pd.DataFrame({"model": goals["model"], "seeds": goals["seeds"]})
    out["AF r (goal)"] = [mark(v >= g, f"{v:.3f} (≥ {g:g})") for v, g in zip(goals["AF r"], goals["AF r goal"])]
    out["variants / person vs real (goal)"] = [mark(abs(v) <= g, f"{v:+.0%} (±{g:.0%})")
                                               for v, g in zip(goals["mean deviation"], goals["mean goal"])]
    out["their SD vs real (goal)"] = ["–" if pd.isna(g) else mark(abs(v) <= g, f"{v:+.0%} (±{g:.0%})")
                                      for v, g in zip(goals["sd deviation"], goals["sd goal"])]
    out["unconstrained validity"] = goals["unconstrained validity"].map(lambda v: "–" if pd.isna(v) else f"{v:.1%}")
    return out.set_index("model")


def numbers(settings: Mapping[str, Any], shared: Mapping[str, Any], summary: pd.DataFrame,
            comparison: pd.DataFrame | None, training_seconds: float,
            goals: pd.DataFrame | None = None) -> dict[str, str]:
    """The numbers the chapter's prose glues, formatted."""
    private = summary[summary["target_epsilon"].notna()]
    out = {"n_train": f"{shared['n_train']:,}", "delta": f"{shared['delta']:g}",
           "inverse_n": f"{1 / shared['n_train']:.2g}",
           "delta_ratio": f"{1 / (shared['n_train'] * shared['delta']):,.0f}",
           "training_minutes": f"{training_seconds / 60:.1f}",
           "sigma_range": f"{private['noise_multiplier'].min():.2f} to {private['noise_multiplier'].max():.2f}",
           "noise_ratio_range": f"{private['noise_to_signal'].min():.0f} to {private['noise_to_signal'].max():.0f}",
           "parameters": f"{int(summary['parameters'].max()):,}",
           "expected_batch": f"{shared['expected_batch_size']:.0f}", "n_seeds": f"{int(summary['seed'].max()) + 1}",
           **experiments.settings_text(settings)}
    if goals is not None:
        missed = goals.loc[~goals["met"], "model"].tolist()
        out.update(goals_met=f"{int(goals['met'].sum())} of {len(goals)}",
                   goals_missed=", ".join(missed) if missed else "none")
    if comparison is None:  # every key the prose glues, present even when nothing was compared
        out.update(compared_epsilon="–", opacus_val_loss="–", dpt_val_loss="–", opacus_q="–", dpt_q="–")
    else:
        rows = comparison.set_index("trainer")
        opacus, theirs = rows.iloc[0], rows.iloc[1]
        out.update(compared_epsilon=f"{opacus['target ε']:g}",
                   opacus_val_loss=f"{opacus['best validation loss']:.3f}",
                   dpt_val_loss=f"{theirs['best validation loss']:.3f}",
                   opacus_q=f"{opacus['q']:.4f}", dpt_q=f"{theirs['q']:.4f}")
    return out


def first_seed(cohorts: Any) -> Any:
    """The first training seed's part of ``cohorts``: a mapping cohort name -> anything
    (as :func:`synthesize_private` returns) or a frame with a ``cohort`` column (as
    :func:`lib.runs.experiments.record_first_look` returns); names that are not a model's (a real
    split's row) are kept."""
    def first(name: str) -> bool:
        model = name[: -len("-unconstrained")] if name.endswith("-unconstrained") else name
        try:
            return artefacts.parse_model_name(model)["seed"] == 0
        except ValueError:
            return True
    if isinstance(cohorts, pd.DataFrame):
        return cohorts[cohorts["cohort"].map(first)].reset_index(drop=True)
    return {name: item for name, item in cohorts.items() if first(name)}
