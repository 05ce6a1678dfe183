"""The privacy chapter (``book/06_privacy.ipynb``): every model and every synthetic cohort
of the run attacked, under a corrected protocol, beside the dissertation's.

* :func:`candidates` -- who is attacked: members (people actually trained on, a seeded
  sample as large as the holdout) against the holdout (never trained on), labelled 1 and
  0; the dissertation took its "members" as the first people of a file of which 30% was
  never trained on.
* :func:`train_references` -- the attacker's own reference models: the target's
  architecture and training settings, trained from scratch on seeded halves of the
  *public* people (no candidate is ever in a reference model's data), saved as
  ``models/ref-<family>[-<tokenizer>]-<i>/`` and reused like any model.
* :func:`attack_models` -- every target model (both families, every ε, the clip-only
  runs, dp-transformers, the text-tokenizer model) against every attack of
  :mod:`lib.mia` whose learning is done on the reference models: loss and confidence
  thresholds, logistic regression, random forest and k-NN over the signals, offline
  LiRA, RMIA; and the dissertation's protocol replayed on the same model
  (:func:`replica`: 20 members against 20 non-members, a classifier trained on half of
  the target's own labels).
* :func:`attack_cohorts` -- every constrained synthetic cohort and the utility chapter's
  reference cohorts, from the released people alone: distance to the closest synthetic
  person, kinship, a density ratio.
* :func:`results_table`, :func:`frontier`, :func:`claims`, :func:`numbers` -- the
  chapter's tables and sentences, computed; the table goes to ``metrics/06_privacy.csv``.

The attacks' evaluation (AUC with a bootstrap interval, TPR at low FPR, the empirical ε
lower bound) is :func:`lib.mia.evaluate`; the bound is set beside the ε the accountant
computed, read from each model's ``privacy.json``. Everything here is an evaluation on
members and non-members: outside the guarantee, never released with a model.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from . import artefacts, audit, charts, generation, mia, models, popgen, privacy, profiletext, rundir, training
from . import ch03_models, ch04_dp_training, ch05_utility
from . import tokenization as tk

CHAPTER = "06_privacy"
METRICS_NAME = "06_privacy"
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
    bases and reference models left out): ``model``, ``family``, ``tokenizer``,
    ``epsilon``, ``eps`` (chart label), ``variant`` and ``accountant_epsilon`` (the ε in its
    ``privacy.json``, NaN without a guarantee)."""
    rows = []
    for directory in sorted((Path(run) / "models").glob("*")):
        try:
            parsed = artefacts.parse_model_name(directory.name)
        except ValueError:
            continue
        record = directory / privacy.PRIVACY_JSON
        spent = rundir.read_json(record).get("epsilon") if record.exists() else None
        eps = charts.CLIP_ONLY_LABEL if parsed["variant"] == "cliponly" else charts.epsilon_label(parsed["epsilon"])
        rows.append({"model": directory.name, "family": parsed["family"], "tokenizer": parsed["tokenizer"],
                     "epsilon": parsed["epsilon"], "eps": eps, "variant": parsed["variant"],
                     "accountant_epsilon": float(spent) if spent is not None else float("nan")})
    if not rows:
        raise FileNotFoundError(f"{Path(run) / 'models'}: no trained model; run chapters 03 and 04 first")
    return pd.DataFrame(rows)


def _encode(tokenizer: Any, profiles: Sequence[Sequence[str]], block: int) -> list[list[int]]:
    return [tk.encode_sample(tokenizer, list(p), None)[:block] for p in profiles]


# --------------------------------------------------------------------------------------
# Reference models
# --------------------------------------------------------------------------------------

def reference_name(family: str, tokenizer_name: str, index: int) -> str:
    middle = "" if tokenizer_name == artefacts.main_tokenizer(family) else f"-{tokenizer_name}"
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


def train_references(run: str | os.PathLike, family: str, tokenizer_name: str, settings: Mapping[str, Any],
                     n_references: int, seed: int = 0) -> tuple[list[torch.nn.Module], np.ndarray]:
    """The attacker's ``n_references`` reference models of ``family`` on
    ``tokenizer_name``: the target's sizes and training settings, trained from scratch on
    the halves of the public people :func:`reference_halves` draws, without validation
    (the full planned epochs); saved in ``models/`` and reused when their inputs are
    unchanged. Returns the models and the masks (reference x public person, True = trained
    on). The GPT-2 targets start from a base pre-trained on every public person; a
    reference starting there would have seen its "non-members", so references start from
    scratch (the attacker's mimic is then imperfect, which can only weaken the attack)."""
    run = Path(run)
    public = artefacts.split_profiles(run, "public")
    if len(public) < 2:
        raise ValueError(f"{run}: the public split has {len(public)} people; reference models need at least 2")
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    ids = _encode(tokenizer, public["variants"], int(sizes["block_size"]))
    masks = reference_halves(len(public), n_references, seed)
    out = []
    for i, mask in enumerate(masks):
        name = reference_name(family, tokenizer_name, i)
        directory = artefacts.model_dir(run, name)
        config = training.config_from_profile(dict(settings), family, seed=seed + i, progress=False)
        params = dict(role="reference model", family=family, tokenizer=tokenizer_name, sizes=sizes, seed=seed + i,
                      train=dict(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr),
                      people=[s for s, m in zip(public["sample"], mask) if m],
                      tokenizer_sha256=rundir.sha256(tk.tokenizer_dir(run, tokenizer_name) / "tokenizer.json"),
                      version=PRIVACY_CHAPTER_VERSION)
        out.append(_reference_model(run, directory, params, family, sizes, tokenizer,
                                    [ids[j] for j in np.flatnonzero(mask)], config, None,
                                    dict(role="reference model (the attacker's, public people only)", family=family,
                                         split="public")))
    return out, masks


def _reference_model(run: Path, directory: Path, params: dict[str, Any], family: str, sizes: Mapping[str, Any],
                     tokenizer: Any, sequences: list[list[int]], config: Any, start: Path | None,
                     metadata: dict[str, Any]) -> torch.nn.Module:
    """One reference model: reused when the manifest says its ``params`` are unchanged,
    else built (from ``start`` or scratch), trained on ``sequences``, saved and recorded."""
    paths = [directory / "model.safetensors"]
    if rundir.is_current(run, params, paths):
        return models.load_model(directory).eval()
    model = models.build_model(family, sizes, tokenizer, base_model=start, seed=params["seed"])
    history = training.train(model, sequences, None, config)
    models.save_model(model, directory, tokenizer=tokenizer, metadata=dict(
        metadata, samples=params["people"], seed=params["seed"], history=history))
    rundir.record_artefacts(run, CHAPTER, params, paths)
    return model.eval()


def online_reference_name(family: str, tokenizer_name: str, index: int) -> str:
    middle = "" if tokenizer_name == artefacts.main_tokenizer(family) else f"-{tokenizer_name}"
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
                            people: pd.DataFrame, n_references: int, seed: int = 0
                            ) -> tuple[list[torch.nn.Module], np.ndarray]:
    """The attacker's ``n_references`` *online* reference models of ``family`` on
    ``tokenizer_name``, for online LiRA and RMIA: each trained on a seeded half of a pool
    made of the public people and the candidates' profiles (the attacker holds the
    profiles it asks about, never whether they are members), complementary halves in
    pairs, so every candidate is IN for exactly half of them. Each starts where the
    target starts (:func:`lib.ch03_models.model_start`: GPT-2 fine-tuned from the same public base, which
    the offline references cannot use) and trains with the target's settings for its
    planned epochs, without validation. Saved as ``models/ref-online-...`` and reused.
    Returns the models and the masks (reference x pool person, True = trained on; the
    pool is the public people, then ``people`` in order).

    These models are trained on members' profiles: diagnostics of the attack, outside
    the guarantee, never released."""
    if _even_count(n_references, "n_references") == 0:
        raise ValueError("n_references=0: choose an even number of at least 2")
    run = Path(run)
    public = artefacts.split_profiles(run, "public")
    pool = pd.concat([public[["sample", "variants"]], people[["sample", "variants"]]], ignore_index=True)
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    ids = _encode(tokenizer, pool["variants"], int(sizes["block_size"]))
    masks = reference_halves(len(pool), n_references, seed=(seed, 0x0411))
    start = ch03_models.model_start(run, family, tokenizer_name, settings, seed=seed)
    out = []
    for i, mask in enumerate(masks):
        name = online_reference_name(family, tokenizer_name, i)
        directory = artefacts.model_dir(run, name)
        config = training.config_from_profile(dict(settings), family, seed=seed + i, progress=False)
        params = dict(role="online reference model", family=family, tokenizer=tokenizer_name, sizes=sizes,
                      seed=seed + i, train=ch03_models.train_settings(config),
                      people=[s for s, m in zip(pool["sample"], mask) if m],
                      base_sha256=rundir.sha256(Path(start) / "model.safetensors") if start is not None else None,
                      tokenizer_sha256=rundir.sha256(tk.tokenizer_dir(run, tokenizer_name) / "tokenizer.json"),
                      version=PRIVACY_CHAPTER_VERSION)
        out.append(_reference_model(run, directory, params, family, sizes, tokenizer,
                                    [ids[j] for j in np.flatnonzero(mask)], config, start, dict(
                                        role="online reference model (the attacker's: public people and candidates' "
                                             "profiles, never their labels; a diagnostic outside the guarantee)",
                                        family=family, base_model=ch03_models.base_record(start))))
    return out, masks


# --------------------------------------------------------------------------------------
# Attacks
# --------------------------------------------------------------------------------------

def _signals(model: torch.nn.Module, ids: list[list[int]]) -> pd.DataFrame:
    return mia.sequence_signals(model, ids, batch_size=32)


def continuation_features(model: torch.nn.Module, tokenizer: Any, profiles: Sequence[Sequence[str]],
                          n_tokens: int = 100, seed: int = 0) -> pd.DataFrame:
    """The hybrid attack's view of a model: for each profile, what the model writes when
    prompted with the profile's first two variants (start token, two records; 100 new
    tokens, temperature 0.8, top-p 0.9, as the dissertation; unconstrained), and the ten
    genomic features of the records it wrote (:func:`lib.mia.continuation_features`).
    The dissertation prompted GPT-2 with the *end* of the candidate's sequence."""
    block = models.block_size(model)
    prompts = [tk.encode_sample(tokenizer, list(p[:2]), None)[:-1] for p in profiles]  # the end token dropped
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


def attack_models(run: str | os.PathLike, settings: Mapping[str, Any], seed: int = 0, n_boot: int = 200,
                  models_to_attack: Sequence[str] | None = None, progress: bool = False) -> dict[str, Any]:
    """Every target model (:func:`targets`, or the named ones) under every attack of
    :data:`MODEL_ATTACKS`, and :func:`replica`. Reference models per (family, tokenizer):
    the profile's ``mia_reference_models``; online LiRA and RMIA (:data:`ONLINE_ATTACKS`)
    where the profile trains ``mia_online_references`` (on the tokenizers of
    ``mia_online_tokenizers``). Returns ``rows`` (one dict per model and
    attack: :func:`lib.mia.evaluate`'s numbers with ``model``, ``attack``, ``kind``),
    ``scores`` (model -> attack -> scores), ``labels`` and ``candidates``."""
    run = Path(run)
    found = artefacts.select_named(targets(run), "model", models_to_attack, "models", run / "models")
    people = candidates(run, seed=seed)
    labels = people["label"].to_numpy()
    splits = artefacts.load_splits(run)
    position = {s: i for i, s in enumerate(splits["train"] + splits["holdout"])}
    file_order = np.argsort([position[s] for s in people["sample"]], kind="stable")
    public = artefacts.split_profiles(run, "public")
    n_refs = int(settings.get("mia_reference_models", 2))
    n_tokens = int(settings.get("mia_hybrid_tokens", 100))
    n_online, allowed = online_count(settings), online_tokenizers(settings)
    rows, scores, cache = [], {}, {}
    iterator = found.itertuples()
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(list(iterator), desc="attacks", unit="model")
    for target in iterator:
        key = (target.family, target.tokenizer)
        if key not in cache:
            tokenizer = tk.load(run, target.tokenizer)
            refs, masks = train_references(run, target.family, target.tokenizer, settings, n_refs, seed=seed)
            block = models.block_size(refs[0])
            ids = _encode(tokenizer, people["variants"], block)
            public_ids = _encode(tokenizer, public["variants"], block)
            ref_public = [_signals(r, public_ids) for r in refs]
            ref_candidates = [_signals(r, ids) for r in refs]
            hybrid_public = [continuation_features(r, tokenizer, public["variants"], n_tokens, seed) for r in refs]
            features = pd.concat([pd.concat([f, h], axis=1) for f, h in zip(ref_public, hybrid_public)],
                                 ignore_index=True)
            feature_labels = np.concatenate([m.astype(int) for m in masks])
            fitted = {"loss threshold": mia.ThresholdAttack("loss"),
                      "confidence threshold": mia.ThresholdAttack("confidence"),
                      "logistic regression": mia.ClassifierAttack("logistic", MODEL_SIGNALS, seed=seed),
                      "random forest": mia.ClassifierAttack("forest", MODEL_SIGNALS, seed=seed),
                      "k-NN": mia.ClassifierAttack("knn", MODEL_SIGNALS, seed=seed),
                      "hybrid (logistic)": mia.ClassifierAttack("logistic", HYBRID_SIGNALS, seed=seed),
                      "hybrid (random forest)": mia.ClassifierAttack("forest", HYBRID_SIGNALS, seed=seed)}
            fitted = {name: attack.fit(features, feature_labels) for name, attack in fitted.items()}
            cache[key] = dict(ids=ids, public_ids=public_ids, fitted=fitted, masks=masks, tokenizer=tokenizer,
                              ref_candidates=np.stack([f["log_likelihood"] for f in ref_candidates]),
                              ref_public=np.stack([f["log_likelihood"] for f in ref_public]))
            if n_online and (allowed is None or target.tokenizer in allowed):
                online, online_masks = train_online_references(run, target.family, target.tokenizer, settings,
                                                               people, n_online, seed=seed)
                cache[key].update(
                    online_candidates=np.stack([_signals(r, ids)["log_likelihood"] for r in online]),
                    online_public=np.stack([_signals(r, public_ids)["log_likelihood"] for r in online]),
                    online_in=online_masks[:, len(public):], online_public_in=online_masks[:, :len(public)])
        c = cache[key]
        model = models.load_model(artefacts.model_dir(run, target.model)).eval()
        features = pd.concat([_signals(model, c["ids"]),
                              continuation_features(model, c["tokenizer"], people["variants"], n_tokens, seed)], axis=1)
        population = _signals(model, c["public_ids"])["log_likelihood"].to_numpy()
        got = {name: attack.score(features) for name, attack in c["fitted"].items()}
        got["LiRA (offline)"] = mia.LiRA().fit(c["ref_candidates"]).score(features["log_likelihood"].to_numpy())
        got["RMIA"] = mia.RMIA().fit(population, c["ref_public"], ~c["masks"]).score(
            features["log_likelihood"].to_numpy(), c["ref_candidates"])
        if "online_in" in c:
            statistic = features["log_likelihood"].to_numpy()
            offset = mia.calibration_offset(population, c["online_public"], ~c["online_public_in"])
            got["LiRA (online)"] = mia.LiRA().fit(c["online_candidates"], c["online_in"]).score(statistic, offset)
            got["RMIA (online)"] = mia.RMIA().fit(population, c["online_public"]).score(statistic,
                                                                                          c["online_candidates"])
        scores[target.model] = got
        for attack, s in got.items():
            rows.append({"model": target.model, "attack": attack, "kind": MODEL_ATTACKS[attack][0],
                         **mia.evaluate(s, labels, n_boot=n_boot, seed=seed)})
        rows.append({"model": target.model, "attack": REPLICA, "kind": "replica",
                     **replica(features, labels, file_order, seed=seed, n_boot=n_boot)})
    return {"rows": rows, "scores": scores, "labels": labels, "candidates": people, "targets": found}


def attack_cohorts(run: str | os.PathLike, people: pd.DataFrame, seed: int = 0, n_boot: int = 200,
                   cohorts: Sequence[str] | None = None) -> dict[str, Any]:
    """Every constrained synthetic cohort of the main models (or ``cohorts``), and the
    utility chapter's reference cohorts (copy of members, independent sites), attacked
    from the released people alone (:data:`COHORT_ATTACKS`)."""
    run = Path(run)
    inputs = ch05_utility.load_inputs(run)
    real = inputs["real"]
    index = {s: i for i, s in enumerate(real.sample_ids)}
    all_dosages = popgen.dosages(real)
    candidates_d = all_dosages[[index[s] for s in people["sample"]]]
    labels = people["label"].to_numpy()
    found = ch05_utility.catalogue(run)
    if cohorts is None:
        cohorts = found[(found["decoding"] == "constrained")]["cohort"].tolist()
    released = {}
    panel = inputs["panel"]
    for name in cohorts:
        with ch05_utility.quiet_reader():
            released[name] = popgen.dosages(artefacts.read_synthetic(run, name, panel))
    for name, item in ch05_utility.reference_cohorts(inputs, seed).items():
        if name != ch05_utility.REAL:
            released[name] = item["dosages"]
    rows, scores = [], {}
    for name, d in released.items():
        signals = mia.synthetic_signals(candidates_d, d)
        got = {"distance to closest": -signals["dcr"].to_numpy(),
               "kinship": np.nan_to_num(signals["kinship"].to_numpy(), nan=-1.0),
               "density ratio": mia.DensityRatioAttack(n_components=5).fit(d, inputs["public"]).score(candidates_d)}
        scores[name] = got
        for attack, s in got.items():
            rows.append({"model": name, "attack": attack, "kind": "synthetic",
                         **mia.evaluate(s, labels, n_boot=n_boot, seed=seed)})
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
    (:func:`lib.audit.one_run_audit`, β = 0.05, δ of the run) bounds ε from below; the
    exposure of each canary is taken among the canaries left out (the same distribution,
    never trained on). Returns the bound, the record, the scores and the exposures."""
    run = Path(run)
    m = int(m or settings.get("audit_canaries", 100))
    canaries = make_canaries(run, m, seed)
    included = np.random.default_rng([seed, 0x51DE]).random(m) < 0.5
    tokenizer_name = artefacts.main_tokenizer(family)
    tokenizer = tk.load(run, tokenizer_name)
    ids = [tk.encode_sample(tokenizer, c, None) for c in canaries]
    name = f"{AUDIT_PREFIX}-{family}-eps{artefacts.eps_text(epsilon)}"
    base = ch03_models.family_base(run, family, settings, seed=seed)  # where chapter 04's models start
    record_file = {"canaries.json": {"seed": seed, "m": m, "included": included.astype(int).tolist(),
                                     "canaries": canaries,
                                     "note": "each canary added to the training data when its coin is 1"}}
    model, _, directory, record = ch04_dp_training.train_private(
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


def run_audits(run: str | os.PathLike, settings: Mapping[str, Any], seed: int = 0,
               epsilons: Sequence[float] | None = None, families: Sequence[str] = ("mingpt", "gpt2")
               ) -> list[dict[str, Any]]:
    """:func:`audit_run` for every family and every ε of the profile's
    ``audit_epsilons`` (default: the private grid, then ``inf`` for clipping alone); the
    :func:`audit_table` is written to ``metrics/06_audit.csv``."""
    grid = list(epsilons if epsilons is not None else
                settings.get("audit_epsilons", [*settings["dp_epsilons"], float("inf")]))
    audits = [audit_run(run, family, float(e), settings, seed=seed) for family in families for e in grid]
    path = Path(run) / "metrics" / "06_audit.csv"
    rundir.write_text(path, audit_table(audits).to_csv(index=False))
    rundir.record_artefacts(Path(run), CHAPTER, {"seed": seed, "grid": grid, "version": PRIVACY_CHAPTER_VERSION},
                            [path])
    return audits


def audit_table(audits: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per audit run: the accountant's ε (none for clipping alone), the one-run
    lower bound (95%, Bonferroni over the k choices), the guesses behind it, the canaries'
    mean exposure (trained on, and left out for a baseline)."""
    rows = []
    for a in audits:
        best = a["bound"]["best"]
        spent = a["record"].get("epsilon")
        rows.append({"audit run": a["model"], "family": a["family"],
                     "eps": charts.CLIP_ONLY_LABEL if a["epsilon"] == float("inf") else charts.epsilon_label(a["epsilon"]),
                     "accountant ε": float(spent) if spent is not None else float("nan"),
                     "one-run lower bound": float(a["bound"]["epsilon"]),
                     "guesses (right / made)": f"{best['v']} / {best['r']}", "canaries": int(a["bound"]["m"]),
                     "exposure, trained on (bits)": float(np.mean(a["exposure"])) if len(a["exposure"]) else float("nan"),
                     "exposure, left out (bits)": (float(np.mean(a["baseline_exposure"])) if len(a["baseline_exposure"])
                                                   else float("nan")),
                     "within the guarantee": bool(spent is None or a["bound"]["epsilon"] <= float(spent) + 1e-9)})
    return pd.DataFrame(rows)


def bound_frame(table: pd.DataFrame, audits: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Both kinds of empirical lower bound per private model, for one chart: the attacks'
    (:func:`epsilon_table`, held-out threshold) and the canaries' one-run audit
    (:func:`audit_table`, or the audit runs themselves), each with the accountant's ε of
    its own run."""
    attacks = epsilon_table(table).assign(source="membership inference (held-out threshold)")
    canaries = audits if isinstance(audits, pd.DataFrame) else audit_table(audits)
    canaries = canaries[canaries["accountant ε"].notna()].rename(
        columns={"audit run": "target", "one-run lower bound": "empirical ε (held-out threshold)"}).assign(
        source="canaries (one-run audit)")
    columns = ["target", "family", "accountant ε", "empirical ε (held-out threshold)", "source"]
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
        parts.append(f"every private audit run's lower bound stays within the ε its accountant computed (largest "
                     f"bound {private['one-run lower bound'].max():.2f})" if broken.empty else
                     f"{len(broken)} audit runs prove more than their accountant ε ({', '.join(broken['audit run'])}): "
                     "a bug to find")
    if len(clip):
        parts.append("without noise (clipping alone) the canaries prove ε ≥ "
                     + " and ".join(f"{b:.2f} ({ch05_utility.FAMILY_LABELS.get(f, f)})"
                                    for f, b in zip(clip["family"], clip["one-run lower bound"]))
                     + ", with a mean exposure of "
                     + " and ".join(f"{x:.1f} bits" for x in clip["exposure, trained on (bits)"]))
    return {"audit_claim": "; ".join(parts)}


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

def results_table(run: str | os.PathLike, model_results: Mapping[str, Any], cohort_results: Mapping[str, Any],
                  params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per (target, attack): the target's family, tokenizer, ε label and the
    accountant's ε (a synthetic cohort inherits its model's), then :func:`lib.mia.evaluate`'s
    numbers. Written to ``metrics/06_privacy.csv`` and recorded in the manifest."""
    run = Path(run)
    described = model_results["targets"].set_index("model")
    rows = []
    for row in list(model_results["rows"]) + list(cohort_results["rows"]):
        name = row["model"]
        model = name[: -len("-unconstrained")] if name.endswith("-unconstrained") else name
        info = described.loc[model] if model in described.index else None
        rows.append({"target": name, "target_kind": "model" if row["kind"] != "synthetic" else "synthetic cohort",
                     "family": info["family"] if info is not None else "reference",
                     "tokenizer": info["tokenizer"] if info is not None else "",
                     "variant": info["variant"] if info is not None else "",
                     "eps": info["eps"] if info is not None else "",
                     "accountant_epsilon": info["accountant_epsilon"] if info is not None else float("nan"),
                     **{k: v for k, v in row.items() if k != "model"}})
    table = pd.DataFrame(rows)
    path = run / "metrics" / f"{METRICS_NAME}.csv"
    rundir.write_text(path, table.to_csv(index=False))
    rundir.record_artefacts(run, CHAPTER, dict(params or {}, version=PRIVACY_CHAPTER_VERSION), [path])
    return table


#: The privacy table's text columns (the rest are numbers).
TEXT_COLUMNS = ("target", "target_kind", "family", "tokenizer", "variant", "eps", "attack", "kind")


def read_table(run: str | os.PathLike) -> pd.DataFrame:
    """``metrics/06_privacy.csv`` as :func:`results_table` returned it (for later chapters)."""
    return artefacts.read_metrics(run, METRICS_NAME, "privacy (06)", TEXT_COLUMNS)


def read_audit_table(run: str | os.PathLike) -> pd.DataFrame:
    """``metrics/06_audit.csv`` as :func:`audit_table` made it."""
    return artefacts.read_metrics(run, "06_audit", "privacy (06)", ("audit run", "family", "eps",
                                                                     "guesses (right / made)"))


def best_attacks(table: pd.DataFrame) -> pd.DataFrame:
    """Per target, the attack with the highest AUC (the replica left out: it uses the
    target's labels)."""
    data = table[table["kind"] != "replica"]
    return data.loc[data.groupby("target")["auc"].idxmax()].reset_index(drop=True)


def format_attacks(table: pd.DataFrame, kinds: Sequence[str] = ("model", "reference", "replica")) -> pd.DataFrame:
    """One row per target model, one column per attack: AUC [95% interval]."""
    data = table[table["kind"].isin(kinds)]
    text = [f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for a, lo, hi in zip(data["auc"], data["auc_low"], data["auc_high"])]
    wide = data.assign(text=text).pivot(index="target", columns="attack", values="text")
    order = [a for a in [*MODEL_ATTACKS, REPLICA, *COHORT_ATTACKS] if a in wide.columns]
    return wide[order]


def epsilon_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per private model: the accountant's ε, and the largest empirical lower bound of any
    attack (the held-out threshold's, which keeps its confidence, and the optimistic best
    threshold's), and whether the held-out bound stays at or below the accountant's ε."""
    data = table[(table["kind"] != "replica") & table["accountant_epsilon"].notna()]
    rows = []
    for target, group in data.groupby("target"):
        best = group.loc[group["epsilon_lb_split"].idxmax()]
        rows.append({"target": target, "family": group["family"].iloc[0], "eps": group["eps"].iloc[0],
                     "accountant ε": float(group["accountant_epsilon"].iloc[0]),
                     "empirical ε (held-out threshold)": float(best["epsilon_lb_split"]),
                     "attack": best["attack"],
                     "empirical ε (best threshold, optimistic)": float(group["epsilon_lb"].max()),
                     "within the guarantee": bool(best["epsilon_lb_split"] <= group["accountant_epsilon"].iloc[0])})
    return pd.DataFrame(rows, columns=["target", "family", "eps", "accountant ε", "empirical ε (held-out threshold)",
                                       "attack", "empirical ε (best threshold, optimistic)", "within the guarantee"])


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


def frontier(table: pd.DataFrame, utility: pd.DataFrame,
             utility_metrics: Sequence[str] = ch05_utility.HEADLINE) -> pd.DataFrame:
    """One point per constrained synthetic cohort and per reference cohort, for each of
    ``utility_metrics`` of the utility chapter's table (its headline metrics by default):
    ``metric``, ``metric_title``, ``utility`` (the cohort's value) against the best
    attack on the same model or cohort (for a model's cohort: the stronger of the attacks
    on the model and on its released people): ``attack_auc``, ``attack`` and ``tpr@0.1``.
    A metric the utility table lacks is an error naming it."""
    missing = sorted(set(utility_metrics) - set(utility["metric"]))
    if missing:
        raise ValueError(f"utility metrics {missing} are not in the utility chapter's table (it has "
                         f"{sorted(utility['metric'].unique())})")
    best = best_attacks(table).set_index("target")
    rows = []
    for metric in utility_metrics:
        u = utility[utility["metric"] == metric].set_index("cohort")
        for cohort in u.index:
            if cohort.endswith("-unconstrained"):
                continue
            found = [t for t in (cohort, u.loc[cohort, "model"]) if isinstance(t, str) and t in best.index]
            if not found:
                continue
            strongest = max(found, key=lambda t: best.loc[t, "auc"])
            family = u.loc[cohort, "family"]
            rows.append({"metric": metric, "metric_title": ch05_utility.SHORT_TITLES.get(metric, metric),
                         "cohort": cohort, "family": family,
                         "eps": cohort if family == "reference" else u.loc[cohort, "eps"],
                         "utility": float(u.loc[cohort, "value"]), "attack_auc": float(best.loc[strongest, "auc"]),
                         "attack": best.loc[strongest, "attack"], "tpr@0.1": float(best.loc[strongest, "tpr@0.1"])})
    return pd.DataFrame(rows, columns=["metric", "metric_title", "cohort", "family", "eps", "utility", "attack_auc",
                                       "attack", "tpr@0.1"])


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
    """Per model: the dissertation's protocol (20 vs 20, the target's own labels) beside
    the corrected protocol's logistic regression and best attack, AUC and interval."""
    rows = []
    best = best_attacks(table[table["target_kind"] == "model"]).set_index("target")
    for target, group in table[table["target_kind"] == "model"].groupby("target"):
        rep = group[group["kind"] == "replica"]
        logistic = group[group["attack"] == "logistic regression"]
        if rep.empty or logistic.empty:
            continue
        r, l, b = rep.iloc[0], logistic.iloc[0], best.loc[target]
        rows.append({"model": target, "replica (20 vs 20)": f"{r['auc']:.3f} [{r['auc_low']:.3f}, {r['auc_high']:.3f}]",
                     "replica interval width": f"{r['auc_high'] - r['auc_low']:.2f}",
                     f"logistic regression ({int(l['n_members'])} vs {int(l['n_non_members'])})":
                         f"{l['auc']:.3f} [{l['auc_low']:.3f}, {l['auc_high']:.3f}]",
                     "best attack": f"{b['attack']}: {b['auc']:.3f} [{b['auc_low']:.3f}, {b['auc_high']:.3f}]"})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


def _best_for(table: pd.DataFrame, family: str, eps: str) -> pd.Series | None:
    data = table[(table["target_kind"] == "model") & (table["family"] == family) & (table["eps"] == eps)
                 & (table["variant"] == "") & (table["tokenizer"] == artefacts.MAIN_TOKENIZERS.get(family))
                 & (table["kind"] != "replica")]
    return None if data.empty else data.loc[data["auc"].idxmax()]


def claim_records(table: pd.DataFrame, settings: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The dissertation's privacy findings against this run, as
    :func:`lib.ch05_utility.claim_records`: key -> ``claim``, ``verdict`` (computed) and
    ``evidence``. ``dp_claim`` (DP lowers attack success), ``size_claim`` (smaller models
    leak less), ``hybrid_claim`` (the hybrid attack beats model-only attacks on
    non-private models), ``bound_claim`` (every private model's empirical bound within its
    accountant ε: this book's check, not the dissertation's)."""
    out = {}
    verdicts = []
    for family in ("mingpt", "gpt2"):
        base = _best_for(table, family, "∞")
        if base is None:
            continue
        private = table[(table["target_kind"] == "model") & (table["family"] == family)
                        & table["accountant_epsilon"].notna() & (table["variant"] == "")]
        for eps in sorted(private["eps"].unique(), key=float):
            b = _best_for(table, family, eps)
            if b is None:
                continue
            lower = b["auc_high"] < base["auc_low"]
            verdicts.append((family, eps, lower, b, base))
    claim = "Differential privacy lowers attack success"
    if not verdicts:
        out["dp_claim"] = dict(claim=claim, verdict="cannot be told",
                               evidence="the run has no private model beside a non-private one")
    else:
        lowered = sum(v[2] for v in verdicts)
        out["dp_claim"] = dict(
            claim=claim, verdict=("holds" if lowered == len(verdicts) else "holds in part" if lowered else
                                  "cannot be told at this scale"),
            evidence=(f"the best attack's AUC is lower, with 95% intervals apart, for {lowered} of {len(verdicts)} "
                      "private models than for their family's non-private one ("
                      + "; ".join(f"{ch05_utility.FAMILY_LABELS[f]} ε = {e}: {b['auc']:.3f} [{b['auc_low']:.3f}, "
                                  f"{b['auc_high']:.3f}] against {a['auc']:.3f} [{a['auc_low']:.3f}, {a['auc_high']:.3f}]"
                                  for f, e, _, b, a in verdicts) + ")"))
    sizes = ch05_utility.family_sizes(settings)
    claim = "Smaller models leak less"
    if len(set(sizes.values())) == 1:
        out["size_claim"] = dict(claim=claim, verdict="cannot be tested here", evidence=(
            f"both families are built the same size ({sizes['mingpt'][0]} layers, {sizes['mingpt'][1]} wide)"))
    else:
        small, large = sorted(sizes, key=lambda f: sizes[f][0] * sizes[f][1])
        a, b = _best_for(table, small, "∞"), _best_for(table, large, "∞")
        if a is None or b is None:
            out["size_claim"] = dict(claim=claim, verdict="cannot be told",
                                     evidence="the run lacks a non-private model of each family")
        else:
            out["size_claim"] = dict(
                claim=claim, verdict=("holds" if a["auc_high"] < b["auc_low"] else "does not hold"
                                      if a["auc_low"] > b["auc_high"] else "cannot be told at this scale"),
                evidence=(f"the best attack on the smaller {ch05_utility.FAMILY_LABELS[small]} "
                          f"({sizes[small][0]} x {sizes[small][1]}) reaches AUC {a['auc']:.3f} [{a['auc_low']:.3f}, "
                          f"{a['auc_high']:.3f}], on the larger {ch05_utility.FAMILY_LABELS[large]} "
                          f"({sizes[large][0]} x {sizes[large][1]}) {b['auc']:.3f} [{b['auc_low']:.3f}, "
                          f"{b['auc_high']:.3f}] (non-private models; the families also differ in architecture)"))
    out["hybrid_claim"] = _hybrid_claim(table)
    bounds = epsilon_table(table)
    claim = "No attack proves more than the accountant's ε (this book's check)"
    if bounds.empty:
        out["bound_claim"] = dict(claim=claim, verdict="cannot be told", evidence="the run has no private model to audit")
    else:
        broken = bounds[~bounds["within the guarantee"]]
        out["bound_claim"] = dict(
            claim=claim, verdict="holds" if broken.empty else "does not hold",
            evidence=("every private model's held-out empirical lower bound stays at or below the ε its accountant "
                      f"computed (largest: {bounds['empirical ε (held-out threshold)'].max():.2f})" if broken.empty else
                      f"{len(broken)} private models have an empirical bound above their accountant ε "
                      f"({', '.join(broken['target'])}): a bug to find"))
    return out


def claims(table: pd.DataFrame, settings: Mapping[str, Any]) -> dict[str, str]:
    """:func:`claim_records` as the chapter's sentences (key -> "it holds here: ...")."""
    return {key: ch05_utility.claim_sentence(r["verdict"], r["evidence"])
            for key, r in claim_records(table, settings).items()}


def _hybrid_claim(table: pd.DataFrame) -> dict[str, str]:
    """The hybrid attack (logistic) against the model-only logistic regression on the
    same signals, on the main non-private and private models, by 95% intervals."""
    claim = "The hybrid attack beats model-only attacks on non-private models"
    data = table[(table["target_kind"] == "model") & (table["variant"] == "")
                 & (table["tokenizer"] == table["family"].map(artefacts.MAIN_TOKENIZERS))]
    parts, verdicts, beaten = [], {}, []
    for (target, eps), group in data.groupby(["target", "eps"]):
        hybrid = group[group["attack"] == "hybrid (logistic)"]
        plain = group[group["attack"] == "logistic regression"]
        if hybrid.empty or plain.empty:
            continue
        h, p = hybrid.iloc[0], plain.iloc[0]
        better = h["auc_low"] > p["auc_high"]
        verdicts.setdefault(eps == "∞", []).append(better)
        if eps == "∞" and p["auc_low"] > h["auc_high"]:
            beaten.append(target)
        parts.append(f"{target}: {h['auc']:.3f} [{h['auc_low']:.3f}, {h['auc_high']:.3f}] against {p['auc']:.3f} "
                     f"[{p['auc_low']:.3f}, {p['auc_high']:.3f}]")
    if not parts:
        return dict(claim=claim, verdict="cannot be told", evidence="no model was attacked by both")
    on_open = verdicts.get(True, [])
    return dict(claim=claim, verdict=("holds" if on_open and all(on_open) else "holds in part" if any(on_open) else
                                      "does not hold" if beaten else "cannot be told at this scale"),
                evidence=(f"the hybrid attack's AUC is above the model-only logistic regression's with intervals apart "
                          f"for {sum(on_open)} of {len(on_open)} non-private models and "
                          f"{sum(verdicts.get(False, []))} of {len(verdicts.get(False, []))} private ones ("
                          + "; ".join(parts) + ")"))


def numbers(table: pd.DataFrame, results: Mapping[str, Any], settings: Mapping[str, Any],
            seconds: float) -> dict[str, str]:
    """Every number the chapter's prose cites, formatted; every key always present."""
    people = results["candidates"]
    out = {"n_members": f"{int((people['label'] == 1).sum()):,}", "n_non_members": f"{int((people['label'] == 0).sum()):,}",
           "n_references": f"{int(settings.get('mia_reference_models', 2))}",
           "n_online_references": f"{int(settings.get('mia_online_references', 0))}", "n_targets": f"{len(results['targets']):,}",
           "privacy_seconds": f"{seconds:.0f}"}
    for family in ("mingpt", "gpt2"):
        for label, eps in (("inf", "∞"), ("low", None)):
            if eps is None:
                private = table[(table["family"] == family) & table["accountant_epsilon"].notna()
                                & (table["variant"] == "") & (table["target_kind"] == "model")]
                eps = min(private["eps"], key=float) if len(private) else None
            b = _best_for(table, family, eps) if eps is not None else None
            out[f"{family}_{label}_eps"] = eps or "–"
            out[f"{family}_{label}_best"] = (f"{b['attack']}, AUC {b['auc']:.3f} [{b['auc_low']:.3f}, {b['auc_high']:.3f}]"
                                             if b is not None else "–")
            out[f"{family}_{label}_tpr"] = f"{b['tpr@0.1']:.3f}" if b is not None else "–"
    rep = table[table["kind"] == "replica"]
    out["replica_width"] = f"{(rep['auc_high'] - rep['auc_low']).median():.2f}" if len(rep) else "–"
    corrected = table[(table["attack"] == "logistic regression")]
    out["corrected_width"] = f"{(corrected['auc_high'] - corrected['auc_low']).median():.2f}" if len(corrected) else "–"
    copy = table[(table["target"] == ch05_utility.COPY) & (table["attack"] == "distance to closest")]
    out["copy_auc"] = f"{copy['auc'].iloc[0]:.3f}" if len(copy) else "–"
    synthetic = table[(table["kind"] == "synthetic") & ~table["target"].isin(ch05_utility.REFERENCES)]
    out["synthetic_max_auc"] = (f"{synthetic['auc'].max():.3f} ({synthetic.loc[synthetic['auc'].idxmax(), 'target']}, "
                                f"{synthetic.loc[synthetic['auc'].idxmax(), 'attack']})" if len(synthetic) else "–")
    return out
