"""The privacy chapter (``book/06_privacy.ipynb``): every model and every synthetic cohort
of the run attacked, under a corrected protocol, beside the dissertation's.

* :func:`candidates` -- who is attacked: members (people actually trained on, a seeded
  sample as large as the holdout) against the holdout (never trained on), labelled 1 and
  0; the dissertation took its "members" as the first people of a file of which 30% was
  never trained on.
* :func:`train_references`, :func:`train_online_references` -- the attacker's own
  reference models: the target's architecture and training settings, and a private
  target's DP-SGD too (its noise multiplier and clipping bound, :func:`reference_treatment`),
  trained on seeded halves of the *public* people (offline: no candidate is ever in their
  data; ``models/ref-...``) or of the public people and the candidates' profiles (online:
  kept under ``diagnostics/models/``, since they train on members' profiles), side by side
  (:func:`train_all_references`) and reused like any model.
* :func:`attack_models` -- every target model (both families, every ε and training seed,
  the clip-only runs, dp-transformers, the text-tokenizer model) against every attack of
  :mod:`lib.evaluation.mia` whose learning is done on the reference models (:func:`score_models`,
  which never reads the candidates' labels): loss and confidence thresholds, logistic
  regression, random forest and k-NN over the signals, offline and online LiRA and RMIA, the
  hybrid attack; the profile's declared primary attack marked (:func:`primary_attack`);
  each target's best attack with a selection-aware interval (:data:`BEST`); and the
  dissertation's protocol replayed on the same model (:func:`replica`: 20 members against
  20 non-members, a classifier trained on half of the target's own labels).
* :func:`attack_cohorts` -- every constrained synthetic cohort and the utility chapter's
  reference cohorts, from the released people alone: distance to the closest synthetic
  person, kinship, a density ratio.
* :func:`results_table`, :func:`seed_table`, :func:`frontier`, :func:`claims`,
  :func:`numbers` -- the chapter's tables and sentences, computed: the table goes to
  ``metrics/06_privacy.csv``, its seed-level form (the mean over training seeds with a
  seed-level interval) to ``metrics/06_privacy_seeds.csv``; every verdict is read by a
  printed rule from seed-level intervals (:mod:`lib.evaluation.evidence`), every bound check beside its
  ceiling (:func:`bound_checks`).

The attacks' evaluation (AUC with a bootstrap interval, TPR at low FPR, the empirical ε
lower bound) is :func:`lib.evaluation.mia.evaluate`; the bound is set beside the ε the accountant
computed, read from each model's ``privacy.json``. Everything here is an evaluation on
members and non-members: outside the guarantee, never released with a model.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .core import parallel, rundir
from .genomes import profiletext
from .genetics import popgen
from .lm import generation, models, training
from .lm import tokenization as tk
from .dp import baselines, budget, privacy
from .evaluation import audit, evidence, mia
from .runs import artefacts, comparison, experiments, glossary
from .runs.run import Run

CHAPTER = "06_privacy"
METRICS_NAME = "06_privacy"
AUDIT_NAME = "06_audit"
#: Bumped when an attack or the protocol changes what it computes (goes into the manifest).
PRIVACY_CHAPTER_VERSION = 1
REFERENCE_PREFIX = "ref"

#: The attacks on a model, in the chapter's order: name -> (kind, short description).
MODEL_ATTACKS = {
    "loss threshold": ("model", "the candidate's mean loss, its direction learnt on reference models"),
    "confidence threshold": ("model", "mean top-token probability, direction learnt on reference models"),
    "logistic regression": ("model", "over loss, confidence, loss variance and logit norm, trained on reference models"),
    "random forest": ("model", "the same signals, 100 trees"),
    "k-NN": ("model", "the same signals, k = sqrt(n) / 2"),
    "LiRA (offline)": ("reference", "likelihood ratio against the candidate's own reference-model distribution"),
    "RMIA": ("reference", "likelihood ratio compared with public people's"),
    "LiRA (online)": ("reference", "likelihood ratio between the candidate's IN and OUT reference-model distributions "
                                   "(references trained on halves of public people and candidates; the target's "
                                   "level calibrated on public people)"),
    "RMIA (online)": ("reference", "RMIA with p(x) averaged over the online references, half of which trained on x"),
    "hybrid (logistic)": ("hybrid", "the signals and the ten genomic features of what the model writes from the "
                                    "candidate's first two variants, trained on reference models"),
    "hybrid (random forest)": ("hybrid", "the same features, 100 trees"),
}
#: The model-only signals the classifiers use, and the hybrid attack's on top of them.
MODEL_SIGNALS = ["loss", "confidence", "loss_variance", "logit_norm"]
HYBRID_SIGNALS = MODEL_SIGNALS + ["n_records", *mia.GENOMIC_FEATURES]
COHORT_ATTACKS = {
    "distance to closest": ("synthetic", "minus the distance to the closest synthetic person"),
    "kinship": ("synthetic", "KING kinship with the closest synthetic person"),
    "density ratio": ("synthetic", "synthetic over public density on the public people's principal components"),
}
REPLICA = "replica (20 vs 20, target's labels)"
#: The attacks that need the online reference models (absent where a profile trains none).
ONLINE_ATTACKS = ("LiRA (online)", "RMIA (online)")


# --------------------------------------------------------------------------------------
# Who is attacked
# --------------------------------------------------------------------------------------

def candidates(run: str | os.PathLike, seed: int = 0, n_members: int | None = None) -> pd.DataFrame:
    """The candidates: ``n_members`` members (default: as many as the holdout), a seeded
    sample of the train split, then every holdout person. Columns ``sample``, ``label``
    (1 member, 0 non-member), ``variants`` (the sparse profile) and ``superpopulation``."""
    splits = artefacts.load_splits(run)
    train, holdout = splits["train"], splits["holdout"]
    n = len(holdout) if n_members is None else int(n_members)
    if not 1 <= n <= len(train):
        raise ValueError(f"n_members={n_members}: choose between 1 and the {len(train)} members")
    if len(holdout) < 2:
        raise ValueError(f"{run}: the holdout has {len(holdout)} people; attacks need at least 2 non-members")
    chosen = sorted(np.random.default_rng(seed).choice(len(train), n, replace=False).tolist())
    profiles = artefacts.read_profiles(run).set_index("sample")
    rows = [(train[i], 1) for i in chosen] + [(s, 0) for s in holdout]
    frame = pd.DataFrame(rows, columns=["sample", "label"])
    frame["variants"] = [list(profiles.loc[s, "variants"]) for s in frame["sample"]]
    frame["superpopulation"] = [profiles.loc[s, "superpopulation"] if "superpopulation" in profiles else "unknown"
                                for s in frame["sample"]]
    return frame


def targets(run: str | os.PathLike) -> pd.DataFrame:
    """The run's trained models (``models/<name>/`` whose name is a model name; public
    bases, reference models and the private baselines' records left out): ``model``, ``setting`` (the name without the
    training seed), ``seed`` (the training seed's index), ``family``, ``tokenizer``,
    ``epsilon``, ``eps`` (chart label), ``variant`` and ``accountant_epsilon`` (the ε in its
    ``privacy.json``, NaN without a guarantee)."""
    run = Run.of(run)
    rows = []
    for name in run.models():
        directory = run.model_dir(name)
        try:
            parsed = artefacts.parse_model_name(directory.name)
        except ValueError:
            continue
        if artefacts.is_baseline(parsed["family"]):  # a private baseline releases a cohort, no model
            continue
        record = directory / privacy.PRIVACY_JSON
        spent = rundir.read_json(record).get("epsilon") if record.exists() else None
        eps = budget.CLIP_ONLY_LABEL if parsed["variant"] == "cliponly" else budget.label(parsed["epsilon"])
        rows.append({"model": directory.name, "setting": artefacts.setting_name(directory.name),
                     "seed": parsed["seed"], "family": parsed["family"], "tokenizer": parsed["tokenizer"],
                     "epsilon": parsed["epsilon"], "eps": eps, "variant": parsed["variant"],
                     "accountant_epsilon": float(spent) if spent is not None else float("nan")})
    if not rows:
        raise FileNotFoundError(f"{run.area('models')}: no trained model; run chapters 03 and 04 first")
    return pd.DataFrame(rows)


def _encode(tokenizer: Any, profiles: Sequence[Sequence[str]], block: int,
            populations: Sequence[str] | None = None) -> list[list[int]]:
    """The profiles as a model reads them (each with its population tag when ``populations``
    is given: the attacker holds a candidate's whole record, its population included),
    truncated to ``block`` tokens as training truncated them."""
    tags = populations if populations is not None else [None] * len(profiles)
    return [tk.encode_sample(tokenizer, list(p), pop)[:block] for p, pop in zip(profiles, tags)]


def _populations(frame: pd.DataFrame, tagged: bool) -> list[str] | None:
    """The people of ``frame``'s population tags where the models read them (``tagged``)."""
    if not tagged:
        return None
    if "superpopulation" not in frame:
        raise ValueError("population_tags: the people's superpopulation column is needed to encode their records")
    return [str(p) for p in frame["superpopulation"]]


# --------------------------------------------------------------------------------------
# Reference models
# --------------------------------------------------------------------------------------

def reference_name(family: str, tokenizer_name: str, index: int, treatment: str = "") -> str:
    """``ref-<family>[-<tokenizer>][-<treatment>]-<i>``: the attacker's ``index``-th offline
    reference model of ``family`` on ``tokenizer_name``, trained as ``treatment``
    (:func:`reference_treatment`: ``""`` without privacy, ``cliponly``, ``eps8``, ...)."""
    middle = "" if tokenizer_name == artefacts.main_tokenizer(family) else f"-{tokenizer_name}"
    middle += f"-{treatment}" if treatment else ""
    return f"{REFERENCE_PREFIX}-{family}{middle}-{index}"


def reference_halves(n_public: int, n_references: int, seed: int | Sequence[int] = 0) -> np.ndarray:
    """Reference models x public people: True where the model trains on the person. Each
    model takes a seeded half; with an even number of models they come in complementary
    pairs, so every public person is left out by half of them."""
    rng = np.random.default_rng(seed)
    masks = []
    for i in range(n_references):
        if i % 2 == 0:
            half = np.zeros(n_public, dtype=bool)
            half[rng.permutation(n_public)[: n_public // 2]] = True
            masks.append(half)
        else:
            masks.append(~masks[-1])
    return np.array(masks, dtype=bool).reshape(n_references, n_public)


def reference_treatment(run: str | os.PathLike, family: str, tokenizer_name: str, epsilon: float,
                        variant: str = "") -> tuple[str, dict[str, Any] | None]:
    """How the attacker trains its mimic of a target (the reference models' treatment), as
    the target was trained: ``("", None)`` for a non-private target; ``("cliponly", dp)``
    for the clip-only run and ``("eps<ε>", dp)`` for a private one, ``dp`` holding the
    target setting's noise multiplier σ, clipping bound C, δ and accountant, read from the
    ``privacy.json`` of the setting's first model (the main path: dp-transformers' model
    at the same ε shares it). The σ, C, logical batch size and epochs are the target's,
    so that each step adds the same noise to the same clipped per-person signal; the
    reference's own ε differs (it trains on fewer people) and is not what is mimicked.
    Every training seed of a setting shares one set of references (their σ is the same)."""
    run = Run.of(run)
    clip_only = variant == budget.CLIP_ONLY
    if float(epsilon) == float("inf") and not clip_only:
        return "", None
    key = budget.CLIP_ONLY if clip_only else f"eps{budget.name_text(epsilon)}"
    main = artefacts.model_name(family, tokenizer_name, epsilon, variant=budget.CLIP_ONLY if clip_only else "")
    record_path = run.model_dir(main) / privacy.PRIVACY_JSON
    if not record_path.exists():
        own = artefacts.model_name(family, tokenizer_name, epsilon, variant=variant)
        record_path = run.model_dir(own) / privacy.PRIVACY_JSON
    if not record_path.exists():
        raise FileNotFoundError(f"{record_path}: missing; the attacker mimics a private target from its privacy.json "
                                "(run the private training chapter 04 first)")
    record = rundir.read_json(record_path)
    return key, {"noise_multiplier": float(record["noise_multiplier"]), "max_grad_norm": float(record["max_grad_norm"]),
                 "delta": float(record["delta"]), "accountant": str(record.get("accountant") or "prv"),
                 "max_physical_batch_size": record.get("max_physical_batch_size")}


def train_references(run: str | os.PathLike, family: str, tokenizer_name: str, settings: Mapping[str, Any],
                     n_references: int, seed: int = 0, treatment: str = "",
                     dp: Mapping[str, Any] | None = None) -> tuple[list[torch.nn.Module], np.ndarray]:
    """The attacker's ``n_references`` reference models of ``family`` on
    ``tokenizer_name``: the target's sizes and training settings, trained from scratch on
    the halves of the public people :func:`reference_halves` draws, without validation
    (the full planned epochs), under ``treatment`` with DP-SGD settings ``dp``
    (:func:`reference_treatment`; None: without privacy); saved in ``models/`` (public
    people only) and reused when their inputs are unchanged. Returns the models and the
    masks (reference x public person, True = trained on). The GPT-2 targets start from a
    base pre-trained on every public person; a reference starting there would have seen its
    "non-members", so references start from scratch (the attacker's mimic is then
    imperfect, which can only weaken the attack)."""
    run = Run.of(run)
    public = artefacts.split_profiles(run, "public")
    if len(public) < 2:
        raise ValueError(f"{run}: the public split has {len(public)} people; reference models need at least 2")
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    tagged = bool(settings["population_tags"])
    ids = _encode(tokenizer, public["variants"], int(sizes["block_size"]), _populations(public, tagged))
    masks = reference_halves(len(public), n_references, seed)
    out = []
    for i, mask in enumerate(masks):
        name = reference_name(family, tokenizer_name, i, treatment)
        directory = run.model_dir(name)
        config = experiments.train_config(settings, family, tokenizer_name, seed=seed + i, progress=False)
        params = dict(role="reference model", family=family, tokenizer=tokenizer_name, sizes=sizes, seed=seed + i,
                      train=dict(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr),
                      people=[s for s, m in zip(public["sample"], mask) if m],
                      tokenizer_sha256=rundir.sha256(tk.tokenizer_dir(run, tokenizer_name) / "tokenizer.json"),
                      version=PRIVACY_CHAPTER_VERSION)
        if dp is not None:
            params.update(treatment=treatment, dp=dict(dp), train=experiments.train_settings(config))
        out.append(_reference_model(run, directory, params, family, sizes, tokenizer,
                                    [ids[j] for j in np.flatnonzero(mask)], config, None,
                                    dict(role="reference model (the attacker's, public people only)", family=family,
                                         split="public", treatment=treatment or "non-private",
                                         population_tags=tagged), dp))
    return out, masks


def _reference_model(run: str | os.PathLike, directory: Path, params: dict[str, Any], family: str,
                     sizes: Mapping[str, Any], tokenizer: Any, sequences: list[list[int]], config: Any,
                     start: Path | None, metadata: dict[str, Any], dp: Mapping[str, Any] | None = None) -> torch.nn.Module:
    """One reference model: reused when the manifest says its ``params`` are unchanged,
    else built (from ``start`` or scratch), trained on ``sequences`` (with DP-SGD at the
    noise multiplier and clipping bound of ``dp`` when given, :func:`lib.dp.privacy.train_dp`),
    saved and recorded."""
    run = Run.of(run)
    paths = [directory / "model.safetensors"]
    if run.is_current(params, paths):
        return models.load_model(directory).eval()
    model = models.build_model(family, sizes, tokenizer, base_model=start, seed=params["seed"])
    if dp is None:
        history = training.train(model, sequences, None, config)
    else:  # a reference of very few people draws them all in each batch (a rate above 1 does not exist)
        config = dataclasses.replace(config, batch_size=min(config.batch_size, len(sequences)))
        model, history, record = privacy.train_dp(
            model, sequences, None, config, max_grad_norm=dp["max_grad_norm"], noise_multiplier=dp["noise_multiplier"],
            delta=dp["delta"], accountant=dp["accountant"], max_physical_batch_size=dp.get("max_physical_batch_size"),
            seed=params["seed"])
        metadata = dict(metadata, privacy=record)
    models.save_model(model, directory, tokenizer=tokenizer, metadata=dict(
        metadata, samples=params["people"], seed=params["seed"], history=history))
    run.record(CHAPTER, params, paths)
    return model.eval()


def online_reference_name(family: str, tokenizer_name: str, index: int, treatment: str = "") -> str:
    """``ref-online-<family>[-<tokenizer>][-<treatment>]-<i>`` (kept under
    ``diagnostics/models/``: :func:`lib.runs.artefacts.diagnostic_model_dir`)."""
    middle = "" if tokenizer_name == artefacts.main_tokenizer(family) else f"-{tokenizer_name}"
    middle += f"-{treatment}" if treatment else ""
    return f"{REFERENCE_PREFIX}-online-{family}{middle}-{index}"


def online_count(settings: Mapping[str, Any]) -> int:
    """The profile's ``mia_online_references``: 0 (none), or an even number of at least 2
    (the halves come in complementary pairs); anything else is refused before any work."""
    return _even_count(settings.get("mia_online_references", 0), "mia_online_references")


def _even_count(n: Any, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0 or n % 2:
        raise ValueError(f"{name}={n!r}: online references come in complementary pairs; choose an even number of "
                         "at least 2, or 0 for none")
    return int(n)


def online_tokenizers(settings: Mapping[str, Any]) -> set[str] | None:
    """The tokenizers whose models get online reference models (profile
    ``mia_online_tokenizers``: a list, or ``"all"``; None means all)."""
    chosen = settings.get("mia_online_tokenizers", "all")
    return None if chosen == "all" else set(chosen)


def train_online_references(run: str | os.PathLike, family: str, tokenizer_name: str, settings: Mapping[str, Any],
                            people: pd.DataFrame, n_references: int, seed: int = 0, treatment: str = "",
                            dp: Mapping[str, Any] | None = None) -> tuple[list[torch.nn.Module], np.ndarray]:
    """The attacker's ``n_references`` *online* reference models of ``family`` on
    ``tokenizer_name``, for online LiRA and RMIA: each trained on a seeded half of a pool
    made of the public people and the candidates' profiles (the attacker holds the
    profiles it asks about, never whether they are members; only ``people["variants"]``,
    ``people["sample"]`` and, with population tags, ``people["superpopulation"]`` are
    read), complementary halves in pairs, so every candidate is IN
    for exactly half of them. Each starts where the target starts
    (:func:`lib.runs.experiments.model_start`: GPT-2 fine-tuned from the same public base, which
    the offline references cannot use) and trains with the target's settings for its
    planned epochs, without validation, under ``treatment`` with DP-SGD settings ``dp``
    (:func:`reference_treatment`; None: without privacy). Saved under
    ``diagnostics/models/ref-online-...`` (:func:`lib.runs.artefacts.diagnostic_model_dir`) and
    reused. Returns the models and the masks (reference x pool person, True = trained on;
    the pool is the public people, then ``people`` in order).

    These models are trained on members' profiles: diagnostics of the attack, outside
    the guarantee, never released (hence not in ``models/``)."""
    if _even_count(n_references, "n_references") == 0:
        raise ValueError("n_references=0: choose an even number of at least 2")
    run = Run.of(run)
    public = artefacts.split_profiles(run, "public")
    tagged = bool(settings["population_tags"])
    columns = ["sample", "variants"] + (["superpopulation"] if tagged else [])
    pool = pd.concat([public[columns], people[columns]], ignore_index=True)
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    ids = _encode(tokenizer, pool["variants"], int(sizes["block_size"]), _populations(pool, tagged))
    masks = reference_halves(len(pool), n_references, seed=(seed, 0x0411))
    start = experiments.model_start(run, family, tokenizer_name, settings, seed=seed)
    out = []
    for i, mask in enumerate(masks):
        name = online_reference_name(family, tokenizer_name, i, treatment)
        directory = run.diagnostic_model_dir(name)
        config = experiments.train_config(settings, family, tokenizer_name, seed=seed + i, progress=False)
        params = dict(role="online reference model", family=family, tokenizer=tokenizer_name, sizes=sizes,
                      seed=seed + i, train=experiments.train_settings(config),
                      people=[s for s, m in zip(pool["sample"], mask) if m],
                      base_sha256=rundir.sha256(Path(start) / "model.safetensors") if start is not None else None,
                      tokenizer_sha256=rundir.sha256(tk.tokenizer_dir(run, tokenizer_name) / "tokenizer.json"),
                      version=PRIVACY_CHAPTER_VERSION)
        if dp is not None:
            params.update(treatment=treatment, dp=dict(dp))
        out.append(_reference_model(run, directory, params, family, sizes, tokenizer,
                                    [ids[j] for j in np.flatnonzero(mask)], config, start, dict(
                                        role="online reference model (the attacker's: public people and candidates' "
                                             "profiles, never their labels; a diagnostic outside the guarantee)",
                                        family=family, base_model=experiments.base_record(run, start),
                                        treatment=treatment or "non-private", population_tags=tagged), dp))
    return out, masks


# --------------------------------------------------------------------------------------
# Attacks
# --------------------------------------------------------------------------------------

def _signals(model: torch.nn.Module, ids: list[list[int]]) -> pd.DataFrame:
    return mia.sequence_signals(model, ids, batch_size=32)


def hybrid_features(model: torch.nn.Module, tokenizer: Any, profiles: Sequence[Sequence[str]],
                          n_tokens: int = 100, seed: int = 0, populations: Sequence[str] | None = None
                          ) -> pd.DataFrame:
    """The hybrid attack's view of a model: for each profile, what the model writes when
    prompted with the profile's first two variants (start token, the population tag where
    ``populations`` are given, two records; 100 new tokens, temperature 0.8, top-p 0.9, as
    the dissertation; unconstrained), and the ten genomic features of the records it wrote
    (:func:`lib.evaluation.mia.continuation_features`). The dissertation prompted GPT-2 with the *end*
    of the candidate's sequence."""
    block = models.block_size(model)
    tags = populations if populations is not None else [None] * len(profiles)
    prompts = [tk.encode_sample(tokenizer, list(p[:2]), pop)[:-1]  # the end token dropped
               for p, pop in zip(profiles, tags)]
    longest = max(len(p) for p in prompts)
    sampling = generation.SamplingConfig(max_new_tokens=max(1, min(n_tokens, block - longest)), temperature=0.8,
                                         top_p=0.9, batch_size=32)
    new = generation.continue_prompts(model, prompts, tokenizer.eos_token_id, sampling, seed=seed)
    rows = []
    for prompt, ids in zip(prompts, new):
        before = len(generation.ids_to_records(tokenizer, prompt[1:]))
        rows.append(mia.continuation_features(generation.ids_to_records(tokenizer, prompt[1:] + ids)[before:]))
    return pd.DataFrame(rows, columns=["n_records", *mia.GENOMIC_FEATURES])


def replica(features: pd.DataFrame, labels: np.ndarray, order: Sequence[int], n: int = 20,
            seed: int = 0, n_boot: int = 200) -> dict[str, Any]:
    """The dissertation's protocol on this model: the first ``n`` members and first ``n``
    non-members (``order``: the candidates in the order of the split file), a logistic
    regression over the signals trained on a random half of those 2n people *with the
    target's own membership labels* and tested on the other half: the AUC and a bootstrap
    interval over the test half (how wide 20 against 20 is)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    order = np.asarray(order)
    members = [i for i in order if labels[i] == 1][:n]
    non_members = [i for i in order if labels[i] == 0][:n]
    chosen = np.array(members + non_members)
    x = features.iloc[chosen][MODEL_SIGNALS].to_numpy(dtype=float)
    y = labels[chosen]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=seed, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    result = mia.evaluate(model.predict_proba(x_test)[:, 1], y_test, n_boot=n_boot, seed=seed)
    result["n_members"], result["n_non_members"] = len(members), len(non_members)
    return result


def primary_attack(settings: Mapping[str, Any], family: str) -> str:
    """The headline attack on ``family``'s models, declared in the profile
    (``mia_primary_attack``) before any target is scored: chosen on a simulated cohort by
    ``bench/choose_primary_attack.py``, never on the targets' membership labels. An attack
    the chapter does not run is refused."""
    chosen = dict(settings.get("mia_primary_attack") or {}).get(family)
    if chosen not in MODEL_ATTACKS:
        raise ValueError(f"mia_primary_attack[{family!r}]={chosen!r}: declare one of {list(MODEL_ATTACKS)}")
    return str(chosen)


def primary_cohort_attack(settings: Mapping[str, Any]) -> str:
    """The headline attack on a released cohort alone (profile ``mia_primary_cohort_attack``)."""
    chosen = settings.get("mia_primary_cohort_attack", "distance to closest")
    if chosen not in COHORT_ATTACKS:
        raise ValueError(f"mia_primary_cohort_attack={chosen!r}: declare one of {list(COHORT_ATTACKS)}")
    return str(chosen)


def check_protocol(settings: Mapping[str, Any]) -> None:
    """Everything about the attacks the profile declares, checked before any work: the
    reference counts, and a primary attack for each family that its main tokenizer's models
    can get (an online attack needs online references for that tokenizer)."""
    online, allowed = online_count(settings), online_tokenizers(settings)
    for family in models.FAMILIES:
        attack = primary_attack(settings, family)
        tokenizer = artefacts.main_tokenizer(family)
        if attack in ONLINE_ATTACKS and (not online or (allowed is not None and tokenizer not in allowed)):
            raise ValueError(f"mia_primary_attack[{family!r}]={attack!r} needs online reference models for the "
                             f"{tokenizer} tokenizer; the profile trains none (mia_online_references={online}, "
                             f"mia_online_tokenizers={settings.get('mia_online_tokenizers', 'all')!r})")
    primary_cohort_attack(settings)


def model_view(run: str, directory: str, tokenizer_name: str, candidates: Sequence[Sequence[str]],
               public: Sequence[Sequence[str]], n_tokens: int, seed: int, continuation: str | None,
               candidate_populations: Sequence[str] | None = None,
               public_populations: Sequence[str] | None = None) -> dict[str, Any]:
    """What the attacker measures of one model (a target or a reference model, saved in
    ``directory``), a job of :func:`lib.core.parallel.run_jobs`: its signals on the candidates'
    and the public people's profiles (:func:`lib.evaluation.mia.sequence_signals`, each truncated to the
    model's context as training truncated it) and, on the ``continuation`` side
    (``"candidates"``, ``"public"`` or None), the hybrid attack's genomic features of what it
    writes (:func:`hybrid_features`). A model trained with population tags
    (:func:`lib.runs.experiments.is_tagged`) reads each profile with its tag
    (``candidate_populations``, ``public_populations``). Returns ``candidates``, ``public``
    (signals) and ``continuation`` (features, or None)."""
    model = models.load_model(directory).eval()
    tokenizer = tk.load(run, tokenizer_name)
    block = models.block_size(model)
    tagged = experiments.is_tagged(directory)
    if tagged and (candidate_populations is None or public_populations is None):
        raise ValueError(f"{directory} was trained with population tags: give the people's populations")
    side = {"candidates": (candidates, candidate_populations if tagged else None),
            "public": (public, public_populations if tagged else None)}
    out = {kind: _signals(model, _encode(tokenizer, profiles, block, pops)) for kind, (profiles, pops) in side.items()}
    if continuation:
        profiles, pops = side[continuation]
        out["continuation"] = hybrid_features(model, tokenizer, profiles, n_tokens, seed, populations=pops)
    else:
        out["continuation"] = None
    return out


def _view_job(run: Path, directory: Path, tokenizer_name: str, people: pd.DataFrame, public: pd.DataFrame,
              n_tokens: int, seed: int, continuation: str | None) -> dict[str, Any]:
    return dict(run=str(run), directory=str(directory), tokenizer_name=tokenizer_name,
                candidates=[list(v) for v in people["variants"]], public=[list(v) for v in public["variants"]],
                n_tokens=n_tokens, seed=seed, continuation=continuation,
                candidate_populations=_populations(people, "superpopulation" in people),
                public_populations=_populations(public, True))


def _reference_directories(run: str | os.PathLike, settings: Mapping[str, Any], family: str, tokenizer_name: str,
                           treatment: str) -> tuple[list[Path], list[Path]]:
    """Where the offline and the online reference models of a set are saved (the online
    ones only where the profile trains them for this tokenizer)."""
    run = Run.of(run)
    n_online, allowed = online_count(settings), online_tokenizers(settings)
    offline = [run.model_dir(reference_name(family, tokenizer_name, i, treatment))
               for i in range(int(settings.get("mia_reference_models", 2)))]
    online = ([run.diagnostic_model_dir(online_reference_name(family, tokenizer_name, i, treatment))
               for i in range(n_online)] if n_online and (allowed is None or tokenizer_name in allowed) else [])
    return offline, online


def prepare_attacker(run: str | os.PathLike, settings: Mapping[str, Any], family: str, tokenizer_name: str,
                     people: pd.DataFrame, seed: int = 0, treatment: str = "",
                     dp: Mapping[str, Any] | None = None, views: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the attacker prepares once for every target of ``family`` on ``tokenizer_name``
    trained as ``treatment`` (:func:`reference_treatment`): its reference models trained
    the same way (:func:`train_references`, :func:`train_online_references` where the
    profile trains online ones for this tokenizer), the candidates' and public people's
    statistics under them (:func:`model_view`; ``views``: directory -> view, already
    measured), and the attacks fit on the references' own members and non-members among the
    public people. Reads the candidates' profiles (``people["variants"]``,
    ``people["sample"]``), never their labels."""
    run = Run.of(run)
    views = dict(views or {})
    public = artefacts.split_profiles(run, "public")
    n_tokens = int(settings.get("mia_hybrid_tokens", 100))
    tokenizer = tk.load(run, tokenizer_name)
    _, masks = train_references(run, family, tokenizer_name, settings, int(settings.get("mia_reference_models", 2)),
                                seed=seed, treatment=treatment, dp=dp)
    offline, online_dirs = _reference_directories(run, settings, family, tokenizer_name, treatment)

    def view(directory: Path, continuation: str | None) -> dict[str, Any]:
        if str(directory) not in views:
            views[str(directory)] = model_view(**_view_job(run, directory, tokenizer_name, people, public, n_tokens,
                                                           seed, continuation))
        return views[str(directory)]

    refs = [view(d, "public") for d in offline]
    features = pd.concat([pd.concat([r["public"], r["continuation"]], axis=1) for r in refs], ignore_index=True)
    feature_labels = np.concatenate([m.astype(int) for m in masks])
    fitted = {"loss threshold": mia.ThresholdAttack("loss"),
              "confidence threshold": mia.ThresholdAttack("confidence"),
              "logistic regression": mia.ClassifierAttack("logistic", MODEL_SIGNALS, seed=seed),
              "random forest": mia.ClassifierAttack("forest", MODEL_SIGNALS, seed=seed),
              "k-NN": mia.ClassifierAttack("knn", MODEL_SIGNALS, seed=seed),
              "hybrid (logistic)": mia.ClassifierAttack("logistic", HYBRID_SIGNALS, seed=seed),
              "hybrid (random forest)": mia.ClassifierAttack("forest", HYBRID_SIGNALS, seed=seed)}
    out = dict(masks=masks, tokenizer=tokenizer, n_tokens=n_tokens,
               fitted={name: attack.fit(features, feature_labels) for name, attack in fitted.items()},
               ref_candidates=np.stack([r["candidates"]["log_likelihood"] for r in refs]),
               ref_public=np.stack([r["public"]["log_likelihood"] for r in refs]))
    if online_dirs:
        _, online_masks = train_online_references(run, family, tokenizer_name, settings, people, len(online_dirs),
                                                  seed=seed, treatment=treatment, dp=dp)
        online = [view(d, None) for d in online_dirs]
        out.update(online_candidates=np.stack([r["candidates"]["log_likelihood"] for r in online]),
                   online_public=np.stack([r["public"]["log_likelihood"] for r in online]),
                   online_in=online_masks[:, len(public):], online_public_in=online_masks[:, :len(public)])
    return out


def score_model(target: Mapping[str, Any], attacker: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Every attack's scores (higher: more likely a member) of one target from what the
    attacker measured of it (``target``: its :func:`model_view`, continuations on the
    candidates) and what :func:`prepare_attacker` prepared. Returns the target's features
    (signals and genomic features of its continuations; their ``attrs`` keep the public
    people's mean log-likelihood under the target, the population RMIA compares with) and
    the scores. Reads the candidates' profiles, never their labels. Offline RMIA uses the
    paper's offline correction (:data:`lib.evaluation.mia.RMIA.OFFLINE_A`); online RMIA averages over
    references that did and did not train on the candidate, which needs none."""
    a = attacker
    features = pd.concat([target["candidates"], target["continuation"]], axis=1)
    population = target["public"]["log_likelihood"].to_numpy()
    features.attrs["population_log_likelihood"] = float(population.mean())
    statistic = features["log_likelihood"].to_numpy()
    got = {name: attack.score(features) for name, attack in a["fitted"].items()}
    got["LiRA (offline)"] = mia.LiRA().fit(a["ref_candidates"]).score(statistic)
    got["RMIA"] = mia.RMIA(a=mia.RMIA.OFFLINE_A).fit(population, a["ref_public"], ~a["masks"]).score(
        statistic, a["ref_candidates"])
    if "online_in" in a:
        offset = mia.calibration_offset(population, a["online_public"], ~a["online_public_in"])
        got["LiRA (online)"] = mia.LiRA().fit(a["online_candidates"], a["online_in"]).score(statistic, offset)
        got["RMIA (online)"] = mia.RMIA().fit(population, a["online_public"]).score(statistic, a["online_candidates"])
    return features, {name: got[name] for name in MODEL_ATTACKS if name in got}


def score_models(run: str | os.PathLike, settings: Mapping[str, Any], people: pd.DataFrame,
                 found: pd.DataFrame, seed: int = 0, progress: bool = False
                 ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, pd.DataFrame]]:
    """Every target of ``found`` (:func:`targets` rows) scored by every attack of
    :data:`MODEL_ATTACKS` against the candidates ``people``: the attacker trains its
    reference models once per family, tokenizer and treatment
    (:func:`train_all_references`: a private target's are trained with its σ and C), measures
    every target and reference model side by side (:func:`model_view`, jobs of
    :func:`lib.core.parallel.run_jobs`), prepares its attacks (:func:`prepare_attacker`) and
    scores each target (:func:`score_model`). Returns ``scores`` (model -> attack -> scores)
    and the targets' ``features``. Membership labels are never read: permuting
    ``people["label"]`` changes nothing here (a test checks it)."""
    run = Run.of(run)
    train_all_references(run, settings, people, found, seed=seed)
    public = artefacts.split_profiles(run, "public")
    n_tokens = int(settings.get("mia_hybrid_tokens", 100))
    treatments = {t.model: reference_treatment(run, t.family, t.tokenizer, t.epsilon, t.variant)
                  for t in found.itertuples()}
    jobs = {str(run.model_dir(t.model)): _view_job(run, run.model_dir(t.model), t.tokenizer, people,
                                                              public, n_tokens, seed, "candidates")
            for t in found.itertuples()}
    for t in found.itertuples():
        offline, online = _reference_directories(run, settings, t.family, t.tokenizer, treatments[t.model][0])
        jobs.update({str(d): _view_job(run, d, t.tokenizer, people, public, n_tokens, seed, "public") for d in offline})
        jobs.update({str(d): _view_job(run, d, t.tokenizer, people, public, n_tokens, seed, None) for d in online})
    views = dict(zip(jobs, parallel.run_jobs(model_view, list(jobs.values()))))
    cache: dict[tuple[str, str, str], dict[str, Any]] = {}
    scores, features = {}, {}
    iterator = found.itertuples()
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(list(iterator), desc="attacks", unit="model")
    for target in iterator:
        treatment, dp = treatments[target.model]
        key = (target.family, target.tokenizer, treatment)
        if key not in cache:
            cache[key] = prepare_attacker(run, settings, target.family, target.tokenizer, people, seed=seed,
                                          treatment=treatment, dp=dp, views=views)
        features[target.model], scores[target.model] = score_model(views[str(run.model_dir(target.model))],
                                                                   cache[key])
    return scores, features


def train_reference_set(run: str, settings: Mapping[str, Any], family: str, tokenizer_name: str,
                        people: pd.DataFrame, seed: int, treatment: str, dp: Mapping[str, Any] | None,
                        online: bool) -> str:
    """One set of the attacker's reference models (:func:`train_references`, or
    :func:`train_online_references` when ``online``), as a job of
    :func:`lib.core.parallel.run_jobs`; returns what it trained, in words."""
    if online:
        train_online_references(run, family, tokenizer_name, settings, people, online_count(settings), seed=seed,
                                treatment=treatment, dp=dp)
    else:
        train_references(run, family, tokenizer_name, settings, int(settings.get("mia_reference_models", 2)),
                         seed=seed, treatment=treatment, dp=dp)
    return f"{'online ' if online else ''}references of {family}/{tokenizer_name} {treatment or 'non-private'}"


def train_all_references(run: str | os.PathLike, settings: Mapping[str, Any], people: pd.DataFrame,
                         found: pd.DataFrame, seed: int = 0) -> None:
    """Every set of reference models the targets of ``found`` need (one per family,
    tokenizer and treatment, :func:`reference_treatment`; online ones where the profile
    trains them), trained side by side (:func:`lib.core.parallel.run_jobs`; the online sets, the
    longest, first) and reused by :func:`prepare_attacker`. Where a set starts from a
    public base, the base is made here first, once."""
    run = Run.of(run)
    n_online, allowed = online_count(settings), online_tokenizers(settings)
    keys: dict[tuple[str, str, str], Mapping[str, Any] | None] = {}
    for target in found.itertuples():
        treatment, dp = reference_treatment(run, target.family, target.tokenizer, target.epsilon, target.variant)
        keys[(target.family, target.tokenizer, treatment)] = dp
    jobs = []
    for (family, tokenizer_name, treatment), dp in keys.items():
        common = dict(run=str(run), settings=dict(settings), family=family, tokenizer_name=tokenizer_name,
                      people=people[[c for c in ("sample", "variants", "superpopulation") if c in people]],
                      seed=seed, treatment=treatment, dp=dp)
        jobs.append(dict(common, online=False))
        if n_online and (allowed is None or tokenizer_name in allowed):
            with parallel.job_threads():
                experiments.model_start(run, family, tokenizer_name, settings, seed=seed)
            jobs.insert(0, dict(common, online=True))
    parallel.run_jobs(train_reference_set, jobs)


#: The row of a target's best attack (a maximum over attacks, with a selection-aware interval).
BEST = "best of the attacks (max-statistic interval)"


def attack_models(run: str | os.PathLike, settings: Mapping[str, Any], seed: int = 0, n_boot: int = 200,
                  models_to_attack: Sequence[str] | None = None, progress: bool = False) -> dict[str, Any]:
    """Every target model (:func:`targets`, or the named ones) under every attack of
    :data:`MODEL_ATTACKS` (:func:`score_models`; online LiRA and RMIA,
    :data:`ONLINE_ATTACKS`, where the profile trains ``mia_online_references`` on the
    tokenizers of ``mia_online_tokenizers``), evaluated against the candidates' labels
    (:func:`lib.evaluation.mia.evaluate`), :func:`replica`, and each target's best attack
    (:data:`BEST`: :func:`lib.evaluation.mia.best_attack`'s selection-aware interval for the maximum
    AUC, and :func:`lib.evaluation.audit.split_epsilon_best`'s held-out ε bound, Bonferroni over the
    attacks). The profile's declarations (:func:`check_protocol`) are checked before any
    work. Returns ``rows`` (one dict per model and attack: the numbers with ``model``,
    ``attack``, ``kind``, ``primary``), ``scores`` (model -> attack -> scores), ``labels``,
    ``candidates`` and ``targets``."""
    run = Run.of(run)
    check_protocol(settings)
    found = artefacts.select_named(targets(run), "model", models_to_attack, "models", run.area("models"))
    people = candidates(run, seed=seed)
    labels = people["label"].to_numpy()
    splits = artefacts.load_splits(run)
    position = {s: i for i, s in enumerate(splits["train"] + splits["holdout"])}
    file_order = np.argsort([position[s] for s in people["sample"]], kind="stable")
    scores, features = score_models(run, settings, people, found, seed=seed, progress=progress)
    delta = float(settings["dp_delta"])
    rows = []
    for target in found.itertuples():
        got = scores[target.model]
        primary = (primary_attack(settings, target.family)
                   if target.tokenizer == artefacts.main_tokenizer(target.family) else None)
        evaluated = {attack: mia.evaluate(s, labels, n_boot=n_boot, seed=seed) for attack, s in got.items()}
        # how far above the real non-members the target puts the public people (RMIA's population):
        # about 0 unless the public people were in the target's pre-training (GPT-2's base)
        own = features[target.model]
        gap = own.attrs["population_log_likelihood"] - float(own["log_likelihood"].to_numpy()[labels == 0].mean())
        for attack, numbers in evaluated.items():
            rows.append({"model": target.model, "attack": attack, "kind": MODEL_ATTACKS[attack][0],
                         "primary": attack == primary, **numbers, "population_gap": gap})
        best = mia.best_attack(got, labels, n_boot=n_boot, seed=seed)
        bound = audit.split_epsilon_best(got, labels, seed=seed, delta=delta)
        rows.append({"model": target.model, "attack": BEST, "kind": "best", "primary": False,
                     **evaluated[best["attack"]], "auc": best["auc"], "auc_low": best["auc_low"],
                     "auc_high": best["auc_high"], "selected": best["attack"], "n_attacks": best["n_attacks"],
                     "epsilon_lb_split": bound["epsilon_lower"], "epsilon_attack": bound["attack"]})
        rows.append({"model": target.model, "attack": REPLICA, "kind": "replica", "primary": False,
                     **replica(features[target.model], labels, file_order, seed=seed, n_boot=n_boot)})
    return {"rows": rows, "scores": scores, "labels": labels, "candidates": people, "targets": found}


def attack_cohorts(run: str | os.PathLike, people: pd.DataFrame, seed: int = 0, n_boot: int = 200,
                   cohorts: Sequence[str] | None = None, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every constrained synthetic cohort (or ``cohorts``), and the utility chapter's
    reference cohorts (copy of members, independent sites), attacked from the released
    people alone (:data:`COHORT_ATTACKS`), each cohort's best attack beside them
    (:data:`BEST`); the profile's ``mia_primary_cohort_attack`` is marked ``primary``."""
    primary = primary_cohort_attack(settings or {})
    run = Run.of(run)
    inputs = comparison.load_inputs(run)
    real = inputs["real"]
    index = {s: i for i, s in enumerate(real.sample_ids)}
    all_dosages = popgen.dosages(real)
    candidates_d = all_dosages[[index[s] for s in people["sample"]]]
    labels = people["label"].to_numpy()
    found = comparison.catalogue(run)
    if cohorts is None:
        cohorts = found[(found["decoding"] == "constrained")]["cohort"].tolist()
    released = {}
    panel = inputs["panel"]
    for name in cohorts:
        with comparison.quiet_reader():
            released[name] = popgen.dosages(artefacts.read_synthetic(run, name, panel))
    for name, item in comparison.reference_cohorts(inputs, seed).items():
        if name != glossary.REAL:
            released[name] = item["dosages"]
    rows, scores = [], {}
    for name, d in released.items():
        signals = mia.synthetic_signals(candidates_d, d)
        got = {"distance to closest": -signals["dcr"].to_numpy(),
               "kinship": np.nan_to_num(signals["kinship"].to_numpy(), nan=-1.0),
               "density ratio": mia.DensityRatioAttack(n_components=5).fit(d, inputs["public"]).score(candidates_d)}
        scores[name] = got
        evaluated = {attack: mia.evaluate(s, labels, n_boot=n_boot, seed=seed) for attack, s in got.items()}
        for attack, numbers in evaluated.items():
            rows.append({"model": name, "attack": attack, "kind": "synthetic", "primary": attack == primary,
                         **numbers})
        best = mia.best_attack(got, labels, n_boot=n_boot, seed=seed)
        rows.append({"model": name, "attack": BEST, "kind": "best", "primary": False, **evaluated[best["attack"]],
                     "auc": best["auc"], "auc_low": best["auc_low"], "auc_high": best["auc_high"],
                     "selected": best["attack"], "n_attacks": best["n_attacks"]})
    return {"rows": rows, "scores": scores}


# --------------------------------------------------------------------------------------
# Auditing with canaries: the one-run audit and exposure
# --------------------------------------------------------------------------------------

AUDIT_PREFIX = "audit"


def make_canaries(run: str | os.PathLike, m: int, seed: int = 0) -> list[list[str]]:
    """``m`` canary profiles from public information alone: each as long as a public
    person's median profile, at panel sites drawn at random, each with a random
    non-reference genotype the site admits (phased as the panel is), in panel order. They
    are nobody: unlike any real person (random rare variants together), which is what
    makes a canary easy to recognise when it was trained on."""
    panel, phased = artefacts.load_panel(run)
    public = artefacts.split_profiles(run, "public")
    length = max(1, int(np.median([len(v) for v in public["variants"]]))) if len(public) else 10
    length = min(length, panel.n_sites)
    keys = profiletext.site_keys(panel)
    n_alts = panel.sites["alts"].map(len).to_numpy()
    rng = np.random.default_rng([seed, 0xCA])
    canaries = []
    for _ in range(int(m)):
        sites = np.sort(rng.choice(panel.n_sites, length, replace=False))
        canaries.append([f"{keys[i]}_{rng.choice(profiletext.possible_genotypes(int(n_alts[i]), phased))}"
                         for i in sites])
    return canaries


def audit_k_values(m: int) -> list[tuple[int, int]]:
    """The (k+, k-) choices the audit tries (Bonferroni-corrected): equal numbers of
    positive and negative guesses on 5%, 10% and 25% of the canaries each."""
    return sorted({(max(1, int(m * f)), max(1, int(m * f))) for f in (0.05, 0.1, 0.25)})


def audit_run(run: str | os.PathLike, family: str, epsilon: float, settings: Mapping[str, Any],
              seed: int = 0, m: int | None = None) -> dict[str, Any]:
    """One audit run: the family's private model at ``epsilon`` (``inf``: clipping without
    noise, no guarantee) trained exactly as chapter 04's (same settings, same members,
    same base) with ``m`` canaries (:func:`make_canaries`; default the profile's
    ``audit_canaries``) each added to the training data with probability 1/2 by a seeded
    fair coin drawn before training. The canaries, the coins and the seed are saved in
    the model's directory (``canaries.json``), so the insertion can be checked; the model
    is ``models/audit-<family>-eps<ε>/`` (never a target of the attacks). Each canary is
    then scored by its log-likelihood under the trained model, and the one-run audit
    (:func:`lib.evaluation.audit.one_run_audit`, β = 0.05, δ of the run) bounds ε from below; the
    exposure of each canary is taken among the canaries left out (the same distribution,
    never trained on). Returns the bound, the record, the scores and the exposures."""
    run = Run.of(run)
    m = int(m or settings.get("audit_canaries", 100))
    canaries = make_canaries(run, m, seed)
    included = np.random.default_rng([seed, 0x51DE]).random(m) < 0.5
    tokenizer_name = artefacts.main_tokenizer(family)
    tokenizer = tk.load(run, tokenizer_name)
    ids = [tk.encode_sample(tokenizer, c, None) for c in canaries]  # nobody: no population tag
    name = f"{AUDIT_PREFIX}-{family}-eps{budget.name_text(epsilon)}"
    base = experiments.family_base(run, family, settings, seed=seed)  # where chapter 04's models start
    record_file = {"canaries.json": {"seed": seed, "m": m, "included": included.astype(int).tolist(),
                                     "canaries": canaries,
                                     "note": "each canary added to the training data when its coin is 1"}}
    model, _, directory, record = experiments.train_private(
        run, family, epsilon, settings, seed=seed, base_model=base,
        extra_train=[ids[i] for i in np.flatnonzero(included)], name=name, extra_files=record_file, chapter=CHAPTER)
    scores = mia.sequence_signals(model, ids)["log_likelihood"].to_numpy()
    delta = float(record.get("delta") or settings["dp_delta"])
    bound = audit.one_run_audit(scores, included, delta=delta, beta=0.05, k_values=audit_k_values(m))
    left_out = scores[~included]
    exposures = np.array([audit.exposure_from_scores(s, left_out)["exposure"] for s in scores[included]])
    return {"model": name, "family": family, "epsilon": float(epsilon), "record": record, "bound": bound,
            "scores": scores, "included": included, "exposure": exposures,
            "baseline_exposure": np.array([audit.exposure_from_scores(s, np.delete(left_out, i))["exposure"]
                                           for i, s in enumerate(left_out)])}


def audit_baseline(run: str | os.PathLike, mechanism: str, epsilon: float, settings: Mapping[str, Any],
                   seed: int = 0, m: int | None = None) -> dict[str, Any]:
    """The one-run audit of a private baseline (:data:`lib.dp.baselines.MECHANISMS`), as
    :func:`audit_run` audits a model: the same ``m`` canaries (:func:`make_canaries`) and
    the same seeded fair coins, each canary added to the members when its coin is 1, the
    mechanism run once on them at ``epsilon`` and the profile's δ (its own release code,
    :func:`lib.dp.baselines.audit_scores`), each canary scored by what the release says about
    its own coordinates, then :func:`lib.evaluation.audit.one_run_audit` (β = 0.05). The run is
    ``audit-<mechanism>-eps<ε>`` (never a target, nothing written but the audit table).
    Returns what :func:`audit_run` returns."""
    run = Run.of(run)
    m = int(m or settings.get("audit_canaries", 100))
    canaries = make_canaries(run, m, seed)
    included = np.random.default_rng([seed, 0x51DE]).random(m) < 0.5
    data = experiments.baseline_inputs(run)  # what chapter 04 runs the mechanism on
    delta = float(experiments.dp_settings(settings)["delta"])
    scores, record = baselines.audit_scores(mechanism, data["members"], canaries, included, data["public"],
                                            data["sites"], float(epsilon), delta, phased=data["phased"], seed=seed)
    record.pop(baselines.OUTSIDE, None)
    bound = audit.one_run_audit(scores, included, delta=delta, beta=0.05, k_values=audit_k_values(m))
    left_out = scores[~included]
    return {"model": f"{AUDIT_PREFIX}-{mechanism}-eps{budget.name_text(epsilon)}", "family": mechanism,
            "epsilon": float(epsilon), "record": record, "bound": bound, "scores": scores, "included": included,
            "exposure": np.array([audit.exposure_from_scores(s, left_out)["exposure"] for s in scores[included]]),
            "baseline_exposure": np.array([audit.exposure_from_scores(s, np.delete(left_out, i))["exposure"]
                                           for i, s in enumerate(left_out)])}


def run_audits(run: str | os.PathLike, settings: Mapping[str, Any], seed: int = 0,
               epsilons: Sequence[float] | None = None, families: Sequence[str] = ("mingpt", "gpt2"),
               mechanisms: Sequence[str] = tuple(baselines.MECHANISMS)) -> list[dict[str, Any]]:
    """:func:`audit_run` for every family and every ε of the profile's
    ``audit_epsilons`` (default: the private grid, then ``inf`` for clipping alone), and
    :func:`audit_baseline` for every private baseline of ``mechanisms`` at every finite one;
    the :func:`audit_table` is written to ``metrics/06_audit.csv``."""
    run = Run.of(run)
    grid = list(epsilons if epsilons is not None else
                settings.get("audit_epsilons") or [*settings["dp_epsilons"], float("inf")])
    with parallel.job_threads():  # the bases the audit runs start from, once
        for family in families:
            experiments.family_base(run, family, settings, seed=seed)
    audits = parallel.run_jobs(audit_run, [dict(run=str(run), family=family, epsilon=float(e), settings=dict(settings),
                                                seed=seed) for family in families for e in grid])
    audits += parallel.run_jobs(audit_baseline, [dict(run=str(run), mechanism=b, epsilon=float(e),
                                                      settings=dict(settings), seed=seed)
                                                 for b in mechanisms for e in grid if float(e) != float("inf")])
    path = run.metrics_path(AUDIT_NAME)
    rundir.write_text(path, audit_table(audits).to_csv(index=False))
    run.record(CHAPTER, {"seed": seed, "grid": grid, "version": PRIVACY_CHAPTER_VERSION}, [path])
    return audits


def audit_table(audits: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per audit run: the accountant's ε (none for clipping alone), the one-run
    lower bound (95%, Bonferroni over the k choices), the guesses behind it, the canaries'
    mean exposure (trained on, and left out for a baseline), whether the bound is within
    the guarantee, its ``ceiling`` (the largest bound these canaries and guesses could
    prove, every guess right: :func:`lib.evaluation.audit.one_run_ceiling`) and whether the check
    ``can fail`` (the ceiling exceeds the accountant's ε)."""
    rows = []
    for a in audits:
        best = a["bound"]["best"]
        spent = a["record"].get("epsilon")
        m = int(a["bound"]["m"])
        ceiling = audit.one_run_ceiling(m, audit_k_values(m), delta=float(a["bound"]["delta"]), beta=a["bound"]["beta"])
        rows.append({"audit run": a["model"], "family": a["family"],
                     "eps": budget.CLIP_ONLY_LABEL if a["epsilon"] == float("inf") else budget.label(a["epsilon"]),
                     "accountant ε": float(spent) if spent is not None else float("nan"),
                     "one-run lower bound": float(a["bound"]["epsilon"]),
                     "guesses (right / made)": f"{best['v']} / {best['r']}", "canaries": int(a["bound"]["m"]),
                     "exposure, trained on (bits)": float(np.mean(a["exposure"])) if len(a["exposure"]) else float("nan"),
                     "exposure, left out (bits)": (float(np.mean(a["baseline_exposure"])) if len(a["baseline_exposure"])
                                                   else float("nan")),
                     "within the guarantee": bool(spent is None or a["bound"]["epsilon"] <= float(spent) + 1e-9),
                     "ceiling": ceiling, "can fail": bool(spent is not None and ceiling > float(spent))})
    return pd.DataFrame(rows)


def bound_frame(table: pd.DataFrame, audits: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Both kinds of empirical lower bound per private model, for one chart: the attacks'
    (:func:`epsilon_table`, held-out threshold) and the canaries' one-run audit
    (:func:`audit_table`, or the audit runs themselves), each with the accountant's ε of
    its own run and its ceiling."""
    attacks = epsilon_table(table).assign(source="membership inference (held-out threshold)")
    canaries = audits if isinstance(audits, pd.DataFrame) else audit_table(audits)
    canaries = canaries[canaries["accountant ε"].notna()].rename(
        columns={"audit run": "target", "one-run lower bound": "empirical ε (held-out threshold)"}).assign(
        source="canaries (one-run audit)")
    columns = ["target", "family", "accountant ε", "empirical ε (held-out threshold)", "source", "ceiling"]
    return pd.concat([attacks[columns], canaries[columns]], ignore_index=True)


def audit_numbers(audits: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``audit_claim``: whether every private audit run's one-run bound stays within its
    accountant ε, and what the audits prove without noise (clipping alone)."""
    table = audit_table(audits)
    if table.empty:
        return {"audit_claim": "no audit run was made"}
    private = table[table["accountant ε"].notna()]
    clip = table[table["accountant ε"].isna()]
    parts = []
    if len(private):
        broken = private[~private["within the guarantee"]]
        able = private[private["can fail"]]
        parts.append(f"every private audit run's lower bound stays within the ε its accountant computed (largest "
                     f"bound {private['one-run lower bound'].max():.2f}); with {int(private['canaries'].max()):,} "
                     f"canaries no audit can prove more than {private['ceiling'].max():.2f}, so "
                     + (f"only the runs at ε = {', '.join(dict.fromkeys(able['eps']))} could have failed" if len(able) else
                        "none of these checks could have failed: at this scale they cannot tell")
                     if broken.empty else
                     f"{len(broken)} audit runs prove more than their accountant ε ({', '.join(broken['audit run'])}): "
                     "a bug to find")
    if len(clip):
        parts.append("without noise (clipping alone) the canaries prove ε ≥ "
                     + " and ".join(f"{b:.2f} ({glossary.FAMILY_LABELS.get(f, f)})"
                                    for f, b in zip(clip["family"], clip["one-run lower bound"]))
                     + ", with a mean exposure of "
                     + " and ".join(f"{x:.1f} bits" for x in clip["exposure, trained on (bits)"]))
    return {"audit_claim": "; ".join(parts)}


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

def baseline_targets(run: str | os.PathLike) -> pd.DataFrame:
    """The private baselines' releases of the run (``models/<mechanism>-eps<ε>/privacy.json``,
    :func:`lib.ch04_dp_training.release_baselines`) in :func:`targets`' columns: their
    cohorts are attacked like the models' (the released cohort is all there is to attack)."""
    run = Run.of(run)
    rows = []
    for mechanism in baselines.MECHANISMS:
        for name in run.models(f"{mechanism}-eps*"):
            record = run.model_dir(name) / privacy.PRIVACY_JSON
            if not record.is_file():
                continue
            parsed = artefacts.parse_model_name(name)
            rows.append({"model": name, "setting": artefacts.setting_name(name), "seed": parsed["seed"],
                         "family": parsed["family"], "tokenizer": parsed["tokenizer"], "epsilon": parsed["epsilon"],
                         "eps": budget.label(parsed["epsilon"]), "variant": "",
                         "accountant_epsilon": float(rundir.read_json(record)["epsilon"])})
    return pd.DataFrame(rows, columns=["model", "setting", "seed", "family", "tokenizer", "epsilon", "eps", "variant",
                                       "accountant_epsilon"])


def results_table(run: str | os.PathLike, model_results: Mapping[str, Any], cohort_results: Mapping[str, Any],
                  params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per (target, attack): the target's kind (a model or a released cohort),
    setting, training seed, family, tokenizer, ε label and the accountant's ε (a synthetic
    cohort inherits its model's), whether the attack is the declared primary one, then
    :func:`lib.evaluation.mia.evaluate`'s numbers (a :data:`BEST` row: the selection-aware interval and
    ``selected``, the attack it is). Written to ``metrics/06_privacy.csv`` and recorded in
    the manifest."""
    run = Run.of(run)
    described = pd.concat([model_results["targets"], baseline_targets(run)], ignore_index=True).set_index("model")
    rows = []
    sources = [("model", r) for r in model_results["rows"]] + [("synthetic cohort", r) for r in cohort_results["rows"]]
    for kind, row in sources:
        name = row["model"]
        model = name[: -len("-unconstrained")] if name.endswith("-unconstrained") else name
        info = described.loc[model] if model in described.index else None
        setting = (glossary.cohort_setting(name) if kind == "synthetic cohort" else info["setting"]) \
            if info is not None else name
        rows.append({"target": name, "target_kind": kind, "setting": setting,
                     "seed": int(info["seed"]) if info is not None else 0,
                     "family": info["family"] if info is not None else "reference",
                     "tokenizer": info["tokenizer"] if info is not None else "",
                     "variant": info["variant"] if info is not None else "",
                     "eps": info["eps"] if info is not None else "",
                     "accountant_epsilon": info["accountant_epsilon"] if info is not None else float("nan"),
                     **{k: v for k, v in row.items() if k != "model"}})
    table = pd.DataFrame(rows)
    for column in ("selected", "epsilon_attack"):
        table[column] = table[column].fillna("") if column in table else ""
    seeds = seed_table(table)
    path, seeds_path = run.metrics_path(METRICS_NAME), run.metrics_path(SEEDS_NAME)
    rundir.write_text(path, table.to_csv(index=False))
    rundir.write_text(seeds_path, seeds.to_csv(index=False))
    run.record(CHAPTER, dict(params or {}, version=PRIVACY_CHAPTER_VERSION), [path, seeds_path])
    return table


SEEDS_NAME = "06_privacy_seeds"


def seed_table(table: pd.DataFrame) -> pd.DataFrame:
    """The privacy table over training seeds: one row per kind of target (a model or its
    released cohort), setting (a model's name without its seed; a released cohort's
    :func:`lib.labels.cohort_setting`) and attack, the
    AUC as a seed-level estimate (:func:`lib.evaluation.evidence.seed_estimate`: mean over seeds, an
    interval that carries the seed-to-seed spread and the per-model bootstrap, or for
    :data:`BEST` the per-model selection-aware interval), its ``n_seeds``, ``seed_sd``,
    ``boot_half`` and ``seed_values``, the mean TPR at 10% FPR and its seed-level interval
    (seed spread only), the mean accountant ε and whether the attack is the primary one.
    The replica is left out (it uses the target's labels)."""
    rows = []
    data = table[table["kind"] != "replica"]
    for (_, setting, attack), group in data.groupby(["target_kind", "setting", "attack"], sort=False):
        group = group.sort_values("seed")
        first = group.iloc[0]
        auc = evidence.seed_estimate(group["auc"], group["auc_low"], group["auc_high"])
        tpr = evidence.seed_estimate(group["tpr@0.1"])
        low, high = (auc.low, auc.high) if auc.n > 1 else (first["auc_low"], first["auc_high"])
        low, high = max(low, 0.0), min(high, 1.0)  # an AUC lies in [0, 1]
        rows.append({"setting": setting, "target_kind": first["target_kind"], "family": first["family"],
                     "tokenizer": first["tokenizer"], "variant": first["variant"], "eps": first["eps"],
                     "accountant_epsilon": float(group["accountant_epsilon"].mean()), "attack": attack,
                     "kind": first["kind"], "primary": bool(group["primary"].astype(bool).all()),
                     "auc": auc.value, "auc_low": low, "auc_high": high, **auc.columns(),
                     "tpr@0.1": tpr.value, "tpr_low": tpr.low, "tpr_high": tpr.high})
    return pd.DataFrame(rows)


def auc_estimate(seeds: pd.DataFrame, setting: str, attack: str, target_kind: str = "model") -> evidence.Estimate:
    """One setting's AUC under ``attack`` from :func:`seed_table`, as an
    :class:`lib.evaluation.evidence.Estimate`: of its models (``target_kind="model"``) or of its
    released cohorts (``"synthetic cohort"``); a KeyError naming what is missing."""
    row = seeds[(seeds["setting"] == setting) & (seeds["attack"] == attack) & (seeds["target_kind"] == target_kind)]
    if row.empty:
        raise KeyError(f"no {attack!r} for setting {setting!r}")
    return evidence.Estimate.from_row(row.iloc[0], "auc", "auc_low", "auc_high")


def best_attacks(table: pd.DataFrame) -> pd.DataFrame:
    """Per target, its :data:`BEST` row: the attack with the highest AUC, with the
    selection-aware interval of :func:`lib.evaluation.mia.best_attack` (``selected`` names the
    attack)."""
    return table[table["attack"] == BEST].reset_index(drop=True)


def primary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the declared primary attacks (:func:`primary_attack` on the models of
    each family's main tokenizer, :func:`primary_cohort_attack` on released cohorts)."""
    return table[table["primary"].astype(bool)].reset_index(drop=True)


def format_attacks(table: pd.DataFrame, kinds: Sequence[str] = ("model", "reference", "replica", "best"),
                   target_kind: str | None = "model") -> pd.DataFrame:
    """One row per target (of ``target_kind``), one column per attack: AUC [95% interval]
    (the primary attack's column marked "(primary)"); an attack not run on a target (the BPE
    text model has no online references) reads "–"."""
    data = table[table["kind"].isin(kinds)]
    if target_kind is not None:
        data = data[data["target_kind"] == target_kind]
    text = [f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for a, lo, hi in zip(data["auc"], data["auc_low"], data["auc_high"])]
    data = data.assign(text=text, column=[f"{a} *" if p else a for a, p in zip(data["attack"],
                                                                               data["primary"].astype(bool))])
    wide = data.pivot_table(index="target", columns="attack", values="text", aggfunc="first")
    starred = set(data.loc[data["primary"].astype(bool), "attack"])
    order = [a for a in [*MODEL_ATTACKS, *COHORT_ATTACKS, BEST, REPLICA] if a in wide.columns]
    return wide[order].fillna("–").rename(columns={a: f"{a} (primary)" for a in starred})


def format_primary(seeds: pd.DataFrame) -> pd.DataFrame:
    """The headline of the chapter, one row per main setting (:func:`_main_primary`): the
    accountant's ε, the declared primary attack, its AUC as the mean over training seeds
    with the seed-level 95% interval, each seed's AUC, the TPR at 10% FPR (mean over seeds),
    and the best of the attacks over seeds with the selection-aware per-model intervals."""
    rows = []
    for _, r in _main_primary(seeds).iterrows():
        auc = auc_estimate(seeds, r["setting"], r["attack"])
        try:
            best = auc_estimate(seeds, r["setting"], BEST).text()
        except KeyError:
            best = "–"
        rows.append({"setting": r["setting"], "family": glossary.FAMILY_LABELS.get(r["family"], r["family"]),
                     "ε": r["eps"], "accountant ε": "–" if pd.isna(r["accountant_epsilon"]) else
                     f"{r['accountant_epsilon']:.2f}", "primary attack": r["attack"],
                     "AUC [95%, seeds]": auc.text(), "each seed": ", ".join(f"{v:.3f}" for v in auc.values),
                     "TPR at 10% FPR": f"{r['tpr@0.1']:.3f}", "best of the attacks": best})
    return pd.DataFrame(rows).set_index("setting") if rows else pd.DataFrame()


def epsilon_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per private model: the accountant's ε; the held-out empirical lower bound of its
    best attack, Bonferroni-corrected over the attacks so that the maximum keeps its 95%
    confidence (:func:`lib.evaluation.audit.split_epsilon_best`), the attack that reaches it and its
    ``ceiling`` (the largest bound these numbers of candidates could ever show,
    :func:`lib.evaluation.audit.split_epsilon_ceiling`); the optimistic best threshold of any attack;
    and whether the bound stays at or below the accountant's ε (``within the guarantee``)
    and whether it could have shown otherwise (``can fail``: the ceiling exceeds ε)."""
    data = table[(table["kind"] != "replica") & table["accountant_epsilon"].notna()
                 & (table["target_kind"] == "model")]
    rows = []
    for target, group in data.groupby("target", sort=False):
        best = group[group["attack"] == BEST]
        if best.empty:
            continue
        b = best.iloc[0]
        spent = float(group["accountant_epsilon"].iloc[0])
        k = int(b["n_attacks"])
        ceiling = audit.split_epsilon_ceiling(int(b["n_members"]), int(b["n_non_members"]),
                                              level=1 - (1 - 0.975) / k)
        rows.append({"target": target, "setting": b["setting"], "seed": int(b["seed"]), "family": b["family"],
                     "eps": b["eps"], "accountant ε": spent,
                     "empirical ε (held-out threshold)": float(b["epsilon_lb_split"]), "attack": b["epsilon_attack"],
                     "ceiling": ceiling, "empirical ε (best threshold, optimistic)": float(group["epsilon_lb"].max()),
                     "within the guarantee": bool(b["epsilon_lb_split"] <= spent + 1e-9),
                     "can fail": bool(ceiling > spent)})
    return pd.DataFrame(rows, columns=["target", "setting", "seed", "family", "eps", "accountant ε",
                                       "empirical ε (held-out threshold)", "attack", "ceiling",
                                       "empirical ε (best threshold, optimistic)", "within the guarantee", "can fail"])


def roc_frame(results: Mapping[str, Any], model: str, attacks: Sequence[str] | None = None,
              max_points: int = 200) -> pd.DataFrame:
    """ROC curves of one target's attacks for a log-log chart: ``attack``, ``fpr``,
    ``tpr``, thinned to at most ``max_points`` per attack; the zero rates are dropped (a
    log axis cannot show them)."""
    frames = []
    for attack, s in results["scores"][model].items():
        if attacks is not None and attack not in attacks:
            continue
        curve = mia.roc_curve(s, results["labels"])
        curve = curve[(curve["fpr"] > 0) & (curve["tpr"] > 0)]
        if len(curve) > max_points:
            curve = curve.iloc[np.linspace(0, len(curve) - 1, max_points).round().astype(int)]
        frames.append(curve.assign(attack=attack)[["attack", "fpr", "tpr"]])
    return pd.concat(frames, ignore_index=True)


def frontier(seeds: pd.DataFrame, utility: pd.DataFrame,
             utility_metrics: Sequence[str] = glossary.HEADLINE) -> pd.DataFrame:
    """One point per main setting (each family's main tokenizer at every ε and clipping
    alone, and each private baseline at every ε: :func:`lib.runs.comparison.main_settings`)
    and per reference cohort, for each of
    ``utility_metrics`` of the utility chapter's seed-level table (``utility``,
    :func:`lib.ch05_utility.seed_table`): ``utility`` with its seed-level interval
    (``utility_low``, ``utility_high``) against the declared primary attack on the
    setting's models (a reference cohort or a private baseline: the primary attack on the
    released cohort) from
    this chapter's seed-level table (``seeds``, :func:`seed_table`): ``attack_auc`` with its
    interval, ``attack`` and ``tpr@0.1``. A metric the utility table lacks is an error
    naming it."""
    missing = sorted(set(utility_metrics) - set(utility["metric"]))
    if missing:
        raise ValueError(f"utility metrics {missing} are not in the utility chapter's table (it has "
                         f"{sorted(utility['metric'].unique())})")
    primary = seeds[seeds["primary"].astype(bool)].set_index("setting")
    model_primary = primary[primary["target_kind"] == "model"]
    cohort_primary = primary[primary["target_kind"] == "synthetic cohort"]
    main = comparison.main_settings(utility)
    # a private baseline has no model: the primary attack on its released cohort
    points = [(row.setting, row.family, row.eps, cohort_primary if artefacts.is_baseline(row.family) else model_primary)
              for row in main.itertuples()]
    points += [(ref, "reference", ref, cohort_primary) for ref in (glossary.COPY, glossary.INDEPENDENT)]
    rows = []
    for metric in utility_metrics:
        u = utility[utility["metric"] == metric].set_index("setting")
        for setting, family, eps, attacks in points:
            if setting not in u.index or setting not in attacks.index:
                continue
            a = attacks.loc[setting]
            rows.append({"metric": metric, "metric_title": glossary.SHORT_TITLES.get(metric, metric),
                         "cohort": setting, "family": family, "eps": eps, "utility": float(u.loc[setting, "value"]),
                         "utility_low": float(u.loc[setting, "low"]), "utility_high": float(u.loc[setting, "high"]),
                         "attack_auc": float(a["auc"]), "attack_low": float(a["auc_low"]),
                         "attack_high": float(a["auc_high"]), "attack": a["attack"], "tpr@0.1": float(a["tpr@0.1"]),
                         "n_seeds": int(a["n_seeds"])})
    return pd.DataFrame(rows, columns=["metric", "metric_title", "cohort", "family", "eps", "utility", "utility_low",
                                       "utility_high", "attack_auc", "attack_low", "attack_high", "attack", "tpr@0.1",
                                       "n_seeds"])


def protocol_table(results: Mapping[str, Any], settings: Mapping[str, Any]) -> pd.DataFrame:
    """The protocol in numbers: candidates by label, reference models, public people."""
    people = results["candidates"]
    rows = {"members attacked (a seeded sample of the train split)": f"{int((people['label'] == 1).sum()):,}",
            "non-members attacked (the holdout, never trained on)": f"{int((people['label'] == 0).sum()):,}",
            "reference models per family and tokenizer (public people only)": f"{int(settings.get('mia_reference_models', 2))}",
            "online reference models per family and tokenizer (halves of public people and candidates)":
                f"{int(settings.get('mia_online_references', 0))}"
                + ("" if online_tokenizers(settings) is None else
                   f" (tokenizers: {', '.join(sorted(online_tokenizers(settings)))})"),
            "target models": f"{len(results['targets']):,}",
            "lowest FPR resolved (1 / non-members)": f"{1 / max(int((people['label'] == 0).sum()), 1):.4f}"}
    return pd.DataFrame({"": list(rows), "value": list(rows.values())}).set_index("")


def leakiest(table: pd.DataFrame) -> str:
    """The target model whose best attack (replica left out) has the highest AUC."""
    best = best_attacks(table[table["target_kind"] == "model"])
    return str(best.loc[best["auc"].idxmax(), "target"])


def replica_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per model of the first training seed: the dissertation's protocol (20 vs 20, the
    target's own labels) beside the corrected protocol's logistic regression and best
    attack (with its selection-aware interval), AUC and interval."""
    rows = []
    models_ = table[(table["target_kind"] == "model") & (table["seed"] == 0)]
    best = best_attacks(models_).set_index("target")
    for target, group in models_.groupby("target"):
        rep = group[group["kind"] == "replica"]
        logistic = group[group["attack"] == "logistic regression"]
        if rep.empty or logistic.empty:
            continue
        r, l, b = rep.iloc[0], logistic.iloc[0], best.loc[target]
        rows.append({"model": target, "replica (20 vs 20)": f"{r['auc']:.3f} [{r['auc_low']:.3f}, {r['auc_high']:.3f}]",
                     "replica interval width": f"{r['auc_high'] - r['auc_low']:.2f}",
                     f"logistic regression ({int(l['n_members'])} vs {int(l['n_non_members'])})":
                         f"{l['auc']:.3f} [{l['auc_low']:.3f}, {l['auc_high']:.3f}]",
                     "best attack (selection-aware interval)":
                         f"{b['selected']}: {b['auc']:.3f} [{b['auc_low']:.3f}, {b['auc_high']:.3f}]"})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


#: How much lower a private setting's primary-attack AUC must be, at least, for "DP lowers attack
#: success" to be read as telling (an interval of the difference within ±this is "equivalent").
ATTACK_MARGIN = 0.02


def _main_primary(seeds: pd.DataFrame) -> pd.DataFrame:
    """The primary attack's seed-level rows of the main model settings (each family's main
    tokenizer at every ε and clipping alone)."""
    data = seeds[seeds["primary"].astype(bool) & (seeds["target_kind"] == "model")
                 & seeds["variant"].isin(["", budget.CLIP_ONLY])
                 & (seeds["tokenizer"] == seeds["family"].map(artefacts.MAIN_TOKENIZERS))]
    return data.reset_index(drop=True)


def _dp_claim(seeds: pd.DataFrame) -> evidence.Claim:
    claim = "Differential privacy lowers attack success"
    data = _main_primary(seeds)
    pairs = []
    for family, group in data.groupby("family", sort=False):
        base = group[group["eps"] == "∞"]
        if base.empty:
            continue
        private = group[group["accountant_epsilon"].notna()].sort_values("accountant_epsilon")
        pairs += [(family, row.setting, row.eps, base["setting"].iloc[0], row.attack) for row in private.itertuples()]
    m = len(pairs)
    level = evidence.bonferroni(max(m, 1))
    rule = (f"each private setting's declared primary attack against its family's non-private setting's, seed-level "
            f"AUC intervals of the difference at {level:.2%} (Bonferroni over the {m} comparisons); a comparison is "
            f"better when the private AUC is lower, worse when higher, equivalent when the difference lies within "
            f"±{ATTACK_MARGIN}; " + evidence.MAJORITY_RULE)
    if not m:
        return evidence.Claim(claim, "cannot be told", rule, "the run has no private model beside a non-private one")
    outcomes, parts = [], []
    for family, setting, eps, base, attack in pairs:
        a, b = auc_estimate(seeds, setting, attack), auc_estimate(seeds, base, attack)
        c = evidence.compare(a, b, "low", level, margin=ATTACK_MARGIN)
        outcomes.append(c["outcome"])
        parts.append(f"{glossary.FAMILY_LABELS[family]} ε = {eps}: {a.text()} against {b.text()} "
                     f"({c['outcome']})")
    counts = evidence.tally(outcomes)
    return evidence.Claim(claim, evidence.majority_verdict(counts), rule, (
        f"{data['attack'].iloc[0] if data['attack'].nunique() == 1 else 'the primary attacks'}, mean AUC over "
        f"{int(data['n_seeds'].max())} training seeds: " + "; ".join(parts)))


def _size_claim(seeds: pd.DataFrame, settings: Mapping[str, Any]) -> evidence.Claim:
    claim = "Smaller models leak less"
    rule = (f"the smaller family's non-private setting against the larger's on the declared primary attack, "
            f"seed-level AUC intervals of the difference at 95%: holds when the smaller's AUC is lower; does not hold "
            f"when it is higher or within ±{ATTACK_MARGIN} (equivalent); cannot be told otherwise; cannot be tested "
            "when both families are built the same size")
    sizes = models.family_sizes(settings)
    if len(set(sizes.values())) == 1:
        return evidence.Claim(claim, "cannot be tested here", rule, (
            f"both families are built the same size ({sizes['mingpt'][0]} layers, {sizes['mingpt'][1]} wide) in this "
            "profile"))
    data = _main_primary(seeds)
    plain = data[data["eps"] == "∞"].set_index("family")
    small, large = sorted(sizes, key=lambda f: sizes[f][0] * sizes[f][1])
    if small not in plain.index or large not in plain.index:
        return evidence.Claim(claim, "cannot be told", rule, "the run lacks a non-private model of each family")
    a = auc_estimate(seeds, plain.loc[small, "setting"], plain.loc[small, "attack"])
    b = auc_estimate(seeds, plain.loc[large, "setting"], plain.loc[large, "attack"])
    outcome = evidence.compare(a, b, "low", margin=ATTACK_MARGIN)["outcome"]
    verdict = {"better": "holds", "worse": "does not hold", "equivalent": "does not hold"}.get(
        outcome, "cannot be told at this scale")
    return evidence.Claim(claim, verdict, rule, (
        f"the primary attack on the smaller {glossary.FAMILY_LABELS[small]} ({sizes[small][0]} x "
        f"{sizes[small][1]}) reaches AUC {a.text()}, on the larger {glossary.FAMILY_LABELS[large]} "
        f"({sizes[large][0]} x {sizes[large][1]}) {b.text()} (non-private models; the families also differ in "
        "architecture)"))


def _hybrid_claim(seeds: pd.DataFrame) -> evidence.Claim:
    """The hybrid attack (logistic) against the model-only logistic regression on the same
    signals, on each family's non-private main setting, by seed-level intervals."""
    claim = "The hybrid attack beats model-only attacks on non-private models"
    data = seeds[(seeds["target_kind"] == "model") & (seeds["variant"] == "") & (seeds["eps"] == "∞")
                 & (seeds["tokenizer"] == seeds["family"].map(artefacts.MAIN_TOKENIZERS))]
    settings_ = [s for s in data["setting"].unique()
                 if {"hybrid (logistic)", "logistic regression"} <= set(data.loc[data["setting"] == s, "attack"])]
    level = evidence.bonferroni(max(len(settings_), 1))
    rule = (f"on each family's non-private setting, the hybrid logistic regression against the model-only one on the "
            f"same signals, seed-level AUC intervals of the difference at {level:.2%} (Bonferroni over the families): "
            + evidence.MAJORITY_RULE)
    if not settings_:
        return evidence.Claim(claim, "cannot be told", rule, "no non-private model was attacked by both")
    outcomes, parts = [], []
    for setting in settings_:
        h, p = auc_estimate(seeds, setting, "hybrid (logistic)"), auc_estimate(seeds, setting, "logistic regression")
        c = evidence.compare(h, p, "high", level)
        outcomes.append(c["outcome"])
        parts.append(f"{setting}: {h.text()} against {p.text()} ({c['outcome']})")
    return evidence.Claim(claim, evidence.majority_verdict(evidence.tally(outcomes)), rule, "; ".join(parts))


def bound_checks(table: pd.DataFrame, audits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every check of "no attack proves more than the accountant's ε": each private model's
    held-out bound of its best attack (:func:`epsilon_table`) and each private audit run's
    one-run bound (:func:`audit_table`), with its ceiling (the most it could prove) and its
    outcome: ``fails`` (the bound exceeds ε: a bug to find), ``passes`` (within ε, and the
    ceiling exceeds ε, so it could have failed) or ``cannot fail`` (the ceiling is at or
    below ε: the check cannot tell at this scale)."""
    rows = []
    for _, r in epsilon_table(table).iterrows():
        rows.append({"check": r["target"], "source": "membership inference (held-out threshold)",
                     "family": r["family"], "accountant ε": r["accountant ε"],
                     "bound": r["empirical ε (held-out threshold)"], "ceiling": r["ceiling"]})
    if audits is not None and len(audits):
        for _, r in audits[audits["accountant ε"].notna()].iterrows():
            rows.append({"check": r["audit run"], "source": "canaries (one-run audit)", "family": r["family"],
                         "accountant ε": r["accountant ε"], "bound": r["one-run lower bound"], "ceiling": r["ceiling"]})
    out = pd.DataFrame(rows, columns=["check", "source", "family", "accountant ε", "bound", "ceiling"])
    out["outcome"] = np.where(out["bound"] > out["accountant ε"] + 1e-9, "fails",
                              np.where(out["ceiling"] > out["accountant ε"], "passes", "cannot fail"))
    return out


def _bound_claim(table: pd.DataFrame, audits: pd.DataFrame | None) -> evidence.Claim:
    claim = "No attack proves more than the accountant's ε (this book's check)"
    rule = ("every check (each private model's best attack, held-out threshold, Bonferroni over the attacks; each "
            "private audit run's canaries) against its accountant ε: does not hold when any bound exceeds ε; holds "
            "when none does and at least one check could have (its ceiling, the largest bound its sample can prove, "
            "exceeds ε); cannot be told at this scale when no check could")
    checks = bound_checks(table, audits)
    if checks.empty:
        return evidence.Claim(claim, "cannot be told", rule, "the run has no private model to audit")
    failed = checks[checks["outcome"] == "fails"]
    able = checks[checks["outcome"] == "passes"]
    unable = checks[checks["outcome"] == "cannot fail"]
    ceilings = "; ".join(f"{source}: {group['ceiling'].min():.2f} to {group['ceiling'].max():.2f}"
                         for source, group in checks.groupby("source", sort=False))
    if len(failed):
        verdict = "does not hold"
        text = (f"{len(failed)} of {len(checks)} checks prove more than their accountant ε "
                f"({', '.join(failed['check'])}): a bug to find")
    else:
        verdict = "holds" if len(able) else "cannot be told at this scale"
        text = (f"no bound exceeds its accountant ε (largest {checks['bound'].max():.2f}); {len(able)} of "
                f"{len(checks)} checks could have failed"
                + (f" (ε = {', '.join(sorted(set(f'{e:.2f}' for e in able['accountant ε'])))})" if len(able) else "")
                + (f", {len(unable)} could not at this scale (their ceiling is at or below their ε)" if len(unable)
                   else ""))
    return evidence.Claim(claim, verdict, rule, text, ceiling=f"ceilings: {ceilings}")


def claim_records(table: pd.DataFrame, settings: Mapping[str, Any], audits: pd.DataFrame | None = None,
                  seeds: pd.DataFrame | None = None) -> dict[str, dict[str, str]]:
    """The dissertation's privacy findings against this run, as
    :func:`lib.ch05_utility.claim_records` (key -> ``claim``, ``verdict``, ``rule``,
    ``evidence``, ``ceiling``), judged on seed-level estimates (``seeds``,
    :func:`seed_table`; computed from ``table`` when None). ``dp_claim`` (DP lowers attack
    success), ``size_claim`` (smaller models leak less), ``hybrid_claim`` (the hybrid attack
    beats model-only attacks on non-private models), ``bound_claim`` (no empirical bound
    above its accountant ε, the attacks' and the canary audits' (``audits``,
    :func:`audit_table`): this book's check, not the dissertation's)."""
    seeds = seed_table(table) if seeds is None else seeds
    untold = evidence.untold
    return {"dp_claim": untold(lambda: _dp_claim(seeds), "Differential privacy lowers attack success"),
            "size_claim": untold(lambda: _size_claim(seeds, settings), "Smaller models leak less"),
            "hybrid_claim": untold(lambda: _hybrid_claim(seeds),
                                   "The hybrid attack beats model-only attacks on non-private models"),
            "bound_claim": untold(lambda: _bound_claim(table, audits),
                                  "No attack proves more than the accountant's ε (this book's check)")}


def claims(table: pd.DataFrame, settings: Mapping[str, Any], audits: pd.DataFrame | None = None) -> dict[str, str]:
    """:func:`claim_records` as the chapter's sentences (key -> "it holds here: ...") and
    their rules (``<key>_rule``)."""
    out = {}
    for key, r in claim_records(table, settings, audits).items():
        out[key] = evidence.claim_sentence(r["verdict"], r["evidence"])
        out[f"{key}_rule"] = r["rule"] + (f" ({r['ceiling']})" if r["ceiling"] else "")
    return out


def numbers(table: pd.DataFrame, results: Mapping[str, Any], settings: Mapping[str, Any],
            seconds: float) -> dict[str, str]:
    """Every number the chapter's prose cites, formatted; every key always present. A
    setting's attack numbers are seed-level (:func:`seed_table`)."""
    people = results["candidates"]
    seeds = seed_table(table)
    main = _main_primary(seeds)
    out = {"n_members": f"{int((people['label'] == 1).sum()):,}", "n_non_members": f"{int((people['label'] == 0).sum()):,}",
           "n_references": f"{int(settings.get('mia_reference_models', 2))}",
           "n_online_references": f"{int(settings.get('mia_online_references', 0))}", "n_targets": f"{len(results['targets']):,}",
           "privacy_seconds": f"{seconds:.0f}", "n_seeds": f"{int(main['n_seeds'].max()) if len(main) else 1}",
           "n_attacks": f"{len(MODEL_ATTACKS)}", "attack_margin": f"{ATTACK_MARGIN}",
           "primary_cohort_attack": primary_cohort_attack(settings)}
    best = best_attacks(table[table["target_kind"] == "model"])
    for family in ("mingpt", "gpt2"):
        out[f"{family}_primary"] = primary_attack(settings, family)
        rows = main[main["family"] == family]
        private = rows[rows["accountant_epsilon"].notna()].sort_values("accountant_epsilon")
        for label, chosen in (("inf", rows[rows["eps"] == "∞"]), ("low", private.head(1))):
            if chosen.empty:
                out.update({f"{family}_{label}_eps": "–", f"{family}_{label}_primary_auc": "–",
                            f"{family}_{label}_tpr": "–", f"{family}_{label}_best": "–"})
                continue
            r = chosen.iloc[0]
            out[f"{family}_{label}_eps"] = r["eps"]
            out[f"{family}_{label}_primary_auc"] = auc_estimate(seeds, r["setting"], r["attack"]).text()
            out[f"{family}_{label}_tpr"] = f"{r['tpr@0.1']:.3f}"
            b = best[(best["setting"] == r["setting"]) & (best["seed"] == 0)]
            out[f"{family}_{label}_best"] = (f"{b['selected'].iloc[0]}, AUC {b['auc'].iloc[0]:.3f} "
                                             f"[{b['auc_low'].iloc[0]:.3f}, {b['auc_high'].iloc[0]:.3f}]"
                                             if len(b) else "–")
    for family in ("mingpt", "gpt2"):
        gap = table[table["target"] == artefacts.model_name(family)]
        gap = gap["population_gap"].dropna() if "population_gap" in gap else gap.iloc[0:0]
        out[f"{family}_population_gap"] = f"{gap.iloc[0]:+.3f}" if len(gap) else "–"
    naive = table[table["kind"] != "replica"]
    widths = []
    for target, b in best.set_index("target").iterrows():
        own = naive[(naive["target"] == target) & (naive["attack"] == b["selected"])]
        if len(own):
            widths.append((b["auc_high"] - b["auc_low"]) / max(own["auc_high"].iloc[0] - own["auc_low"].iloc[0], 1e-9))
    out["selection_widening"] = f"{np.median(widths):.1f}" if widths else "–"
    rep = table[table["kind"] == "replica"]
    out["replica_width"] = f"{(rep['auc_high'] - rep['auc_low']).median():.2f}" if len(rep) else "–"
    corrected = table[(table["attack"] == "logistic regression")]
    out["corrected_width"] = f"{(corrected['auc_high'] - corrected['auc_low']).median():.2f}" if len(corrected) else "–"
    copy = table[(table["target"] == glossary.COPY) & (table["attack"] == "distance to closest")]
    out["copy_auc"] = f"{copy['auc'].iloc[0]:.3f}" if len(copy) else "–"
    synthetic = table[(table["target_kind"] == "synthetic cohort") & (table["kind"] == "best")
                      & ~table["target"].isin(glossary.REFERENCES)]
    out["synthetic_max_auc"] = (f"{synthetic['auc'].max():.3f} ({synthetic.loc[synthetic['auc'].idxmax(), 'target']}, "
                                f"{synthetic.loc[synthetic['auc'].idxmax(), 'selected']}, selection-aware interval "
                                f"[{synthetic.loc[synthetic['auc'].idxmax(), 'auc_low']:.3f}, "
                                f"{synthetic.loc[synthetic['auc'].idxmax(), 'auc_high']:.3f}])"
                                if len(synthetic) else "–")
    return out
