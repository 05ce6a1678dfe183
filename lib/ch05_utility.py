"""The utility chapter (``book/05_utility.ipynb``): every synthetic cohort of the run
against real people, framed by three reference cohorts.

* :func:`lib.runs.comparison.catalogue` -- the synthetic cohorts the models chapters wrote (both families,
  every ε and training seed, the clip-only runs, dp-transformers, the text-tokenizer model;
  constrained and unconstrained), each with its setting, seed, family, tokenizer, ε and
  decoding read from its name.
* :func:`lib.runs.comparison.load_inputs` -- the real people as dosage matrices: the members (train split),
  the holdout (the real people every cohort is compared with), the validation split and
  the public people with their population labels.
* :func:`lib.runs.comparison.reference_cohorts` -- **real (validation)**: real people the models never trained
  on, as many as the holdout (what a perfect generator reaches, sampling noise included);
  **independent sites**: every site drawn independently at the members' allele frequency
  (the dissertation's "random model": frequencies kept, linkage and structure destroyed);
  **independent sites (public people)**: the same at the public people's frequencies (no
  member, no ε: what a private cohort must beat); **copy of members**: members resampled
  (perfect utility, no privacy).
* :func:`evaluate_cohorts` -- every metric of :mod:`lib.genetics.popgen` and :mod:`lib.evaluation.utility` for every
  cohort: one tidy table (cohort, family, tokenizer, ε, decoding, metric, value and a
  bootstrap 95% interval where one is computed) written to ``metrics/05_utility.csv``,
  its seed-level form (:func:`seed_table`: each setting's mean over its training seeds with
  an interval that carries their spread, :mod:`lib.evaluation.evidence`) to
  ``metrics/05_utility_seeds.csv``, and the frames the chapter's figures draw.
* :func:`bcftools_table`, :func:`wide_table`, :func:`epsilon_frame`, :func:`claims`,
  :func:`numbers` -- the chapter's tables and the sentences it states, computed; every
  verdict read from the seed-level numbers by a printed rule (:func:`claim_records`).

Every number here is an *evaluation* computed on real people, members included (the
copying metrics must look at the members): none of it is released with a model, and none
of it is covered by ε. The population labels of synthetic people are inferred by a
classifier trained on the public people (synthetic people carry none).
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .core import rundir
from .genomes import vcf
from .genetics import popgen, stats
from .lm import models
from .dp import baselines, budget
from .evaluation import evidence, utility
from .runs import artefacts, comparison, glossary
from .runs.run import Run

CHAPTER = "05_utility"
#: Bumped when a metric changes what it computes (goes into the manifest's parameters).
UTILITY_VERSION = 3  # 2: KING between-family, equal-sized AATS loss, per-population r, the trees two-sample test;
# 3: genotype classes at rare sites, their two-sample test, AATS's halves and their balance
METRICS_NAME = "05_utility"


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------
# The evaluation
# --------------------------------------------------------------------------------------

def evaluate_cohorts(run: str | os.PathLike, seed: int = 0, k: int = 20, n_boot: int = 200,
                     cohorts: Sequence[str] | None = None, progress: bool = False) -> dict[str, Any]:
    """Every cohort of :func:`lib.runs.comparison.catalogue` (or the named ``cohorts``) and the
    :data:`REFERENCES` through :func:`utility.cohort_metrics`. Returns ``table`` (the tidy table,
    also written to ``metrics/05_utility.csv`` and recorded in the manifest),
    ``catalogue``, ``inputs``, ``dosages`` (cohort -> matrix) and ``extras`` (cohort ->
    figure numbers), ``seeds`` (:func:`seed_table`, also written to
    ``metrics/05_utility_seeds.csv``)."""
    run = Run.of(run)
    found = artefacts.select_named(comparison.catalogue(run), "cohort", cohorts, "cohorts", run.area("synthetic"))
    inputs = comparison.load_inputs(run)
    panel = inputs["panel"]
    todo: dict[str, dict[str, Any]] = {}
    for name in found["cohort"]:
        with comparison.quiet_reader():
            cohort = artefacts.read_synthetic(run, name, panel)
        if cohort.n_sites != panel.n_sites or (cohort.sites["pos"].to_numpy() != inputs["positions"]).any():
            raise ValueError(f"{run.synthetic_paths(name)['vcf']}: not on the run's panel of "
                             f"{panel.n_sites} sites; rerun the chapter that wrote it")
        todo[name] = {"dosages": popgen.dosages(cohort), "profiles": artefacts.read_synthetic_profiles(run, name),
                      "populations": artefacts.read_synthetic_populations(run, name)}
    todo.update(comparison.reference_cohorts(inputs, seed))
    frames, extras = [], {}
    names = list(todo)
    if progress:
        from tqdm.auto import tqdm
        names = tqdm(names, desc="utility", unit="cohort")
    for name in names:
        frame, extras[name] = utility.cohort_metrics(name, todo[name]["dosages"], todo[name]["profiles"], inputs,
                                             k=k, n_boot=n_boot, seed=seed, trees=not name.endswith("-unconstrained"))
        frames.append(frame)
    table = _describe(pd.concat(frames, ignore_index=True), found)
    seeds = seed_table(table)
    path, seeds_path = run.metrics_path(METRICS_NAME), run.metrics_path(SEEDS_NAME)
    rundir.write_text(path, table.to_csv(index=False))
    rundir.write_text(seeds_path, seeds.to_csv(index=False))
    run.record(CHAPTER, {"seed": seed, "k": k, "n_boot": n_boot, "cohorts": list(todo),
                                           "utility_version": UTILITY_VERSION}, [path, seeds_path])
    return {"table": table, "seeds": seeds, "catalogue": found, "inputs": inputs, "k": k, "seed": seed,
            "dosages": {name: item["dosages"] for name, item in todo.items()}, "extras": extras,
            "populations": {name: item.get("populations") for name, item in todo.items()}}


def _describe(table: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """The tidy table with each cohort's description columns in front."""
    described = found.set_index("cohort")[["setting", "seed", "model", "family", "tokenizer", "epsilon", "eps",
                                           "variant", "decoding"]]
    refs = pd.DataFrame({"setting": list(glossary.REFERENCES), "seed": 0, "model": list(glossary.REFERENCES),
                         "family": "reference",
                         "tokenizer": "", "epsilon": np.nan, "eps": "", "variant": "", "decoding": ""},
                        index=pd.Index(glossary.REFERENCES, name="cohort"))
    described = pd.concat([described, refs])
    out = table.join(described, on="cohort")
    out.insert(1, "kind", np.where(out["cohort"].isin(glossary.REFERENCES), "reference", "synthetic"))
    out["group"] = out["metric"].map(lambda m: utility.METRICS[m][0])
    out["seed"] = out["seed"].astype(int)
    return out[COLUMNS]


#: The columns of the utility table (``metrics/05_utility.csv``): one row per cohort and metric.
COLUMNS = ["cohort", "kind", "setting", "seed", "model", "family", "tokenizer", "variant", "epsilon", "eps",
           "decoding", "group", "metric", "value", "low", "high"]


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

def _fmt(value: float, low: float, high: float, digits: int = 3) -> str:
    if value != value:
        return "–"
    text = f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"
    if low == low and high == high:
        text += f" [{low:.{digits}f}, {high:.{digits}f}]" if abs(value) < 1000 else f" [{low:,.0f}, {high:,.0f}]"
    return text


#: How the prose writes a metric: as a percentage, or with this many decimals.
PERCENT = {"kin_first", "kin_second", "kin_duplicate", "exact_copies", "near_copies", "hwe_deviation",
           "unique_people", "memorised"}
DIGITS = {"dcr_members": 0, "dcr_holdout": 0, "within_distance": 0, "burden": 1}


def show(metric: str, v: tuple[float, float, float], digits: int = 3) -> str:
    """One metric's value (and interval) as the prose and tables write it: a share of
    people or sites (:data:`PERCENT`) as a percentage, distances and counts with
    :data:`DIGITS` decimals, anything else with ``digits``."""
    if v[0] != v[0]:
        return "–"
    if metric in PERCENT:
        return f"{v[0]:.1%}" + (f" [{v[1]:.1%}, {v[2]:.1%}]" if v[1] == v[1] else "")
    return _fmt(*v, digits=DIGITS.get(metric, digits))


def cohort_label(row: Mapping[str, Any]) -> str:
    """How a cohort (or a setting of the seed-level table) is named in the chapter's tables:
    ``minGPT ε=8``, ``GPT-2 ε=∞ (clip only)``, ``minGPT/bpe ε=∞``, ``… unconstrained``,
    ``minGPT ε=8, seed 2`` for a cohort of a training seed beyond the first, ``minGPT ε=8 (3
    seeds)`` for a setting averaged over several; references by their name."""
    if row["kind"] == "reference":
        return str(row.get("cohort", row.get("setting")))
    family = glossary.FAMILY_LABELS.get(row["family"], row["family"])
    tokenizer = "" if row["tokenizer"] == artefacts.main_tokenizer(row["family"]) else f"/{row['tokenizer']}"
    variant = {"cliponly": " (clip only)", "dptransformers": " (dp-transformers)"}.get(row["variant"], "")
    eps = "∞" if row["variant"] == "cliponly" else row["eps"]
    suffix = ", unconstrained" if row["decoding"] == "unconstrained" else ""
    if "n_seeds" in row and int(row["n_seeds"]) > 1:
        suffix += f" ({int(row['n_seeds'])} seeds)"
    elif int(row.get("seed", 0) or 0) > 0:
        suffix += f", seed {int(row['seed'])}"
    return f"{family}{tokenizer} ε={eps}{variant}{suffix}"


def wide_table(table: pd.DataFrame, metrics: Sequence[str] = glossary.HEADLINE, decoding: str | None = "constrained",
               digits: int = 3) -> pd.DataFrame:
    """Formatted: one row per cohort of the utility table, or per setting of the seed-level
    table (:func:`seed_table`: the mean over training seeds with its seed-level interval),
    references last; one column per metric, value and interval as text. ``decoding`` keeps
    the synthetic cohorts of one decoding (None: all)."""
    key = "setting" if "n_seeds" in table.columns else "cohort"
    data = table[table["metric"].isin(metrics)].fillna({"variant": "", "tokenizer": "", "decoding": ""})
    if decoding is not None:
        data = data[(data["kind"] == "reference") | (data["decoding"] == decoding)]
    data = data.assign(label=data.apply(cohort_label, axis=1),
                       text=[show(m, (v, lo, hi), digits) for m, v, lo, hi in
                             zip(data["metric"], data["value"], data["low"], data["high"])])
    sort = ["kind", "family", "tokenizer", "variant", "epsilon"] + (["seed"] if key == "cohort" else [])
    order = list(dict.fromkeys(data.sort_values(sort, ascending=[False, True, True, True, False] + [True] * (
        key == "cohort"))["label"]))
    wide = data.pivot(index="label", columns="metric", values="text").reindex(order)
    wide = wide[[m for m in metrics if m in wide.columns]]
    wide.index.name = "cohort" if key == "cohort" else "setting"
    return wide


def metric_glossary(metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """What each metric measures and what is best (for the chapter's tables)."""
    best = {"high": "higher", "low": "lower", "0.5": "0.5", "real": "as the real people", "0": "0"}
    names = metrics or list(utility.METRICS)
    return pd.DataFrame({"metric": names, "group": [utility.METRICS[m][0] for m in names],
                         "what it measures": [utility.METRICS[m][1] for m in names],
                         "best": [best[utility.METRICS[m][2]] for m in names]}).set_index("metric")


def value(table: pd.DataFrame, cohort: str, metric: str) -> tuple[float, float, float]:
    """``(value, low, high)`` of one cohort's metric."""
    row = table[(table["cohort"] == cohort) & (table["metric"] == metric)]
    if row.empty:
        raise KeyError(f"no {metric!r} for cohort {cohort!r}")
    r = row.iloc[0]
    return float(r["value"]), float(r["low"]), float(r["high"])


def epsilon_frame(table: pd.DataFrame, metrics: Sequence[str] = glossary.HEADLINE,
                  seeds: pd.DataFrame | None = None) -> pd.DataFrame:
    """The main constrained settings (:func:`lib.runs.comparison.main_settings`: each family's main tokenizer at
    every ε, and the clip-only runs) with the references, for the utility-against-ε chart:
    ``kind`` "synthetic" rows carry the seed-level estimate (mean over the training seeds,
    ``low``/``high`` its interval, :func:`seed_table`; computed from ``table`` when
    ``seeds`` is None), "seed" rows each training seed's own value, "reference" rows the
    reference cohorts; columns ``setting``, ``kind``, ``family``, ``eps``, ``seed``,
    ``metric``, ``value``, ``low``, ``high``."""
    seeds = seed_table(table) if seeds is None else seeds
    keep = comparison.main_settings(seeds)["setting"]
    means = seeds[seeds["metric"].isin(metrics) & seeds["setting"].isin(keep)]
    means = means.assign(kind="synthetic", family=means["family"].map(glossary.FAMILY_LABELS), seed=-1)
    each = table[table["metric"].isin(metrics) & table["setting"].isin(keep) & (table["kind"] == "synthetic")]
    each = each.assign(kind="seed", family=each["family"].map(glossary.FAMILY_LABELS))
    refs = seeds[seeds["metric"].isin(metrics) & (seeds["kind"] == "reference")]
    refs = refs.assign(eps="", family=refs["setting"], seed=-1)
    columns = ["setting", "kind", "family", "eps", "seed", "metric", "value", "low", "high"]
    return pd.concat([means[columns], each[columns], refs[columns]], ignore_index=True)


def bcftools_table(run: str | os.PathLike, cohorts: Sequence[str]) -> pd.DataFrame:
    """``bcftools stats`` (pysam's bcftools, :func:`lib.genetics.stats.bcftools_stats`) of each
    named synthetic VCF beside the real holdout's (written to a temporary VCF): the headline
    statistics that depend on the genotypes (AF spectrum, singletons, mean ALT frequency)
    and, from the per-sample section, heterozygous and homozygous-ALT sites per person."""
    run = Run.of(run)
    with comparison.quiet_reader():
        real = artefacts.load_cohort(run)
    holdout = artefacts.split_cohort(real, artefacts.load_splits(run)["holdout"])
    keys = ["singleton fraction", "mean ALT allele frequency", "AF < 1%", "AF 1-5%", "AF >= 5%"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "holdout.vcf.gz"
        vcf.write_vcf(holdout, path, source="lib.ch05_utility (the real holdout)")
        sources = {"real holdout": path, **{c: run.synthetic_paths(c)["vcf"] for c in cohorts}}
        for label, vcf_path in sources.items():
            parsed = stats.bcftools_stats(vcf_path)
            head = stats.headline_statistics(parsed)
            psc = parsed.get("PSC")
            row = {"cohort": label, "people": int(head["samples"]), **{k: head[k] for k in keys}}
            row["het sites per person"] = float(psc["nhets"].mean()) if psc is not None and len(psc) else np.nan
            row["hom-ALT sites per person"] = (float(psc["nnonrefhom"].mean()) if psc is not None and len(psc)
                                               else np.nan)
            rows.append(row)
    return pd.DataFrame(rows).set_index("cohort")


# --------------------------------------------------------------------------------------
# Frames for the figures
# --------------------------------------------------------------------------------------


def labels(table: pd.DataFrame) -> dict[str, str]:
    """cohort name -> :func:`cohort_label`."""
    first = table.drop_duplicates("cohort")
    return dict(zip(first["cohort"], first.apply(cohort_label, axis=1)))


def panel_cohorts(table: pd.DataFrame, epsilons: Sequence[str] | None = None) -> list[str]:
    """The cohorts the per-cohort panels show: for each family its ε = ∞ cohort and its
    most private one (or the ``epsilons`` labels given), of the first training seed, then
    the real and independent-sites references."""
    main = comparison.main_cohorts(table, seed=0)
    main = main[main["eps"] != budget.CLIP_ONLY_LABEL]
    chosen = []
    for family, rows in main.groupby("family", sort=False):
        wanted = epsilons or list(dict.fromkeys([rows["eps"].iloc[-1], rows["eps"].iloc[0]]))
        chosen += [c for eps in wanted for c in rows[rows["eps"] == eps]["cohort"]]
    return chosen + [glossary.REAL, glossary.INDEPENDENT]


def _series(table: pd.DataFrame) -> pd.DataFrame:
    """Per cohort of the ε-grid figures (the first training seed's): ``cohort``, ``family``
    (panel), ``eps`` (colour; the reference's name for a reference, which every family panel
    repeats)."""
    main = comparison.main_cohorts(table, seed=0)[["cohort", "family", "eps"]]
    main["family"] = main["family"].map(glossary.FAMILY_LABELS)
    refs = [{"cohort": ref, "family": glossary.FAMILY_LABELS[f], "eps": ref}
            for f in comparison.main_cohorts(table, seed=0)["family"].unique()
            for ref in (glossary.REAL, glossary.INDEPENDENT)]
    return pd.concat([main, pd.DataFrame(refs)], ignore_index=True)


def ld_decay_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Mean r² by distance bin for the main cohorts and the references, and the real
    holdout's curve in every panel, all with the pairs and bins the evaluation used (its
    ``k``, the chapter's ``ld_neighbours``): ``family``, ``eps``, ``distance_kb`` (bin
    middle), ``mean_r2``, ``pairs``."""
    series = _series(result["table"])
    holdout = utility.real_summaries(result["inputs"], result.get("k", 20), result.get("seed", 0))["ld_decay"]
    rows = []
    for row in series.itertuples():
        curve = result["extras"][row.cohort]["ld_decay"]
        rows.append(curve.assign(family=row.family, eps=row.eps))
    for family in series["family"].unique():
        rows.append(holdout.assign(family=family, eps="real holdout"))
    out = pd.concat(rows, ignore_index=True)
    out["distance_kb"] = np.sqrt(np.maximum(out["low"], 100) * out["high"]) / 1000  # geometric middle
    return out.dropna(subset=["mean_r2"])[["family", "eps", "distance_kb", "mean_r2", "pairs"]]


def positions_frame(result: Mapping[str, Any], bin_mb: float = 1.0) -> pd.DataFrame:
    """Variants per person along the chromosome (``bin_mb`` megabase bins) for the main
    cohorts, the references and the real holdout: ``family``, ``eps``, ``mb`` (bin start),
    ``per_person``."""
    series = _series(result["table"])
    positions = result["inputs"]["positions"]
    starts = np.unique((positions // int(bin_mb * 1_000_000)).astype(int)) * bin_mb
    rows = []
    for row in series.itertuples():
        carried = utility.per_megabase(result["dosages"][row.cohort], positions, bin_mb)
        rows.append(pd.DataFrame({"family": row.family, "eps": row.eps, "mb": starts, "per_person": carried}))
    for family in series["family"].unique():
        rows.append(pd.DataFrame({"family": family, "eps": "real holdout", "mb": starts,
                                  "per_person": utility.per_megabase(result["inputs"]["holdout"], positions, bin_mb)}))
    return pd.concat(rows, ignore_index=True)


def burden_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Per cohort (constrained synthetic and references) and the real holdout, the
    distribution of variants per person: ``cohort`` (label), ``kind``, ``q05``, ``q25``,
    ``median``, ``q75``, ``q95``, ``mean``."""
    names = labels(result["table"])
    table = result["table"].drop_duplicates("cohort")
    keep = table[(table["kind"] == "reference") | (table["decoding"] == "constrained")]["cohort"]
    rows = []
    burdens = {"real holdout": ("real", (result["inputs"]["holdout"] > 0).sum(axis=1))}
    burdens.update({names[c]: ("reference" if c in glossary.REFERENCES else "synthetic", result["extras"][c]["burden"])
                    for c in keep})
    for label, (kind, burden) in burdens.items():
        q = np.quantile(burden, [0.05, 0.25, 0.5, 0.75, 0.95])
        rows.append({"cohort": label, "kind": kind, "q05": q[0], "q25": q[1], "median": q[2], "q75": q[3],
                     "q95": q[4], "mean": float(np.mean(burden))})
    return pd.DataFrame(rows)


def genotype_class_frame(result: Mapping[str, Any], cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """What tells a cohort from real people, person by person: for the real holdout and each
    cohort of ``cohorts`` (default :func:`panel_cohorts`), the mean number of each genotype
    class a person carries (:data:`lib.genetics.popgen.GENOTYPE_CLASSES`: het and hom-ALT at sites
    rare among the holdout people, and at the others) with a 95% interval (normal, over
    people); ``cohort`` (label), ``kind`` (real / reference / synthetic), ``class``,
    ``mean``, ``low``, ``high``, ``real`` (the holdout's mean)."""
    names = labels(result["table"])
    chosen = list(cohorts) if cohorts is not None else panel_cohorts(result["table"])
    inputs = result["inputs"]
    af = popgen.allele_frequencies(inputs["holdout"])
    per_person = {"real holdout": ("real", popgen.genotype_classes(inputs["holdout"], af))}
    per_person.update({names.get(c, c): ("reference" if c in glossary.REFERENCES else "synthetic",
                                         result["extras"][c]["classes"])
                       for c in chosen if c in result["extras"]})
    real = per_person["real holdout"][1].mean(axis=0)
    rows = []
    for label, (kind, counts) in per_person.items():
        mean = counts.mean(axis=0)
        half = 1.96 * counts.std(axis=0, ddof=1) / np.sqrt(len(counts)) if len(counts) > 1 else np.full(4, np.nan)
        rows += [{"cohort": label, "kind": kind, "class": name, "mean": float(mean[j]), "low": float(mean[j] - half[j]),
                  "high": float(mean[j] + half[j]), "real": float(real[j])}
                 for j, name in enumerate(popgen.GENOTYPE_CLASSES)]
    return pd.DataFrame(rows)


#: The goals for synthetic people that pass for real (issue 21), per ε: each criterion's
#: test on a setting's seed mean. ``real`` is the real validation people's value of the same
#: metric; ``independent`` the independent-sites reference's; ``baselines`` the private
#: baselines' at the same ε.
REALISM_CRITERIA = ("two-sample AUC, linear", "two-sample AUC, trees", "TSTR", "Fst / real Fst", "HWE failure",
                    "rare-site genotypes / person", "LD-decay distance")
REALISM_GOALS: dict[str, dict[str, str]] = {
    "∞": {"two-sample AUC, linear": "≤ 0.60", "two-sample AUC, trees": "≤ 0.60", "TSTR": "≥ 0.65",
          "Fst / real Fst": "0.7–1.3", "HWE failure": "within 5 points of real",
          "rare-site genotypes / person": "within ±20% of real", "LD-decay distance": "≤ 2× real's"},
    "8": {"two-sample AUC, linear": "≤ 0.75", "two-sample AUC, trees": "≤ 0.75", "TSTR": "≥ 0.45",
          "Fst / real Fst": "≥ 0.5", "HWE failure": "≤ real + 10 points",
          "rare-site genotypes / person": "within ±50% of real", "LD-decay distance": "below independent sites'"},
    "low": {"two-sample AUC, linear": "below every private baseline's", "two-sample AUC, trees":
            "below every private baseline's", "TSTR": "above every private baseline's",
            "rare-site genotypes / person": "within 2× of real"},
}


def _realism_values(seeds: pd.DataFrame, setting: str) -> dict[str, float]:
    """One setting's numbers for :data:`REALISM_CRITERIA` (seed means; NaN where missing)."""
    def value(metric: str) -> float:
        return value_of(seeds, setting, metric)

    real_fst = value_of(seeds, glossary.REAL, "fst")
    return {"two-sample AUC, linear": value("c2st_auc"), "two-sample AUC, trees": value("c2st_trees_auc"),
            "TSTR": value("tstr"), "Fst / real Fst": value("fst") / real_fst if real_fst else float("nan"),
            "HWE failure": value("hwe_deviation"),
            "rare-site genotypes / person": value("rare_het") + value("rare_hom_alt"),
            "LD-decay distance": value("ld_decay_distance")}


def value_of(seeds: pd.DataFrame, setting: str, metric: str) -> float:
    """A setting's seed mean of ``metric``, NaN when the table has none."""
    try:
        return float(estimate(seeds, setting, metric).value)
    except KeyError:
        return float("nan")


def _realism_met(criterion: str, eps: str, x: float, real: Mapping[str, float], independent: Mapping[str, float],
                 baselines: Sequence[Mapping[str, float]]) -> bool | None:
    """Whether ``x`` meets :data:`REALISM_GOALS` for ``criterion`` at ``eps`` (None: no goal)."""
    row = "∞" if eps == "∞" else ("8" if eps == "8" else "low")
    goal = REALISM_GOALS[row].get(criterion)
    if goal is None or x != x:
        return None
    r = real[criterion]
    if row == "low":
        others = [b[criterion] for b in baselines if b[criterion] == b[criterion]]
        if criterion == "rare-site genotypes / person":
            return 0.5 <= x / r <= 2
        if not others:
            return None
        return x < min(others) if criterion.startswith("two-sample") else x > max(others)
    if criterion.startswith("two-sample"):
        return x <= float(goal.split()[-1])
    if criterion == "TSTR":
        return x >= float(goal.split()[-1])
    if criterion == "Fst / real Fst":
        return 0.7 <= x <= 1.3 if row == "∞" else x >= 0.5
    if criterion == "HWE failure":
        return abs(x - r) <= 0.05 if row == "∞" else x <= r + 0.10
    if criterion == "rare-site genotypes / person":
        return abs(x / r - 1) <= (0.2 if row == "∞" else 0.5)
    return x <= 2 * r if row == "∞" else x < independent[criterion]


def realism_goals(seeds: pd.DataFrame) -> pd.DataFrame:
    """Every setting of the ε grid of both language-model families against
    :data:`REALISM_GOALS`, beside the real validation people, independent sites and the
    private baselines (their numbers, no verdict): one row per (setting, criterion) with
    ``value`` (the seed mean), ``goal`` (its text) and ``met`` (True/False; None where no
    goal applies or the number is missing)."""
    main = seeds[(seeds["decoding"] == "constrained") & (seeds["variant"].fillna("") == "")
                 & (seeds["tokenizer"].fillna("") == seeds["family"].map(artefacts.MAIN_TOKENIZERS).fillna(""))]
    real, independent = _realism_values(seeds, glossary.REAL), _realism_values(seeds, glossary.INDEPENDENT)
    public = _realism_values(seeds, glossary.PUBLIC_SITES)
    rows = [dict(setting=s, family="reference", eps="", criterion=c, value=v, goal="", met=None)
            for s, values in ((glossary.REAL, real), (glossary.INDEPENDENT, independent), (glossary.PUBLIC_SITES, public))
            for c, v in values.items()]
    synthetic = main[main["kind"] == "synthetic"].drop_duplicates("setting")
    for eps in list(dict.fromkeys(synthetic["eps"])):
        at = synthetic[synthetic["eps"] == eps]
        baselines = {s: _realism_values(seeds, s)
                     for s, f in zip(at["setting"], at["family"]) if artefacts.is_baseline(f)}
        for setting, family in zip(at["setting"], at["family"]):
            if artefacts.is_baseline(family):
                continue
            row = "∞" if eps == "∞" else ("8" if eps == "8" else "low")
            for criterion, x in _realism_values(seeds, setting).items():
                rows.append(dict(setting=setting, family=family, eps=eps, criterion=criterion, value=x,
                                 goal=REALISM_GOALS[row].get(criterion, ""),
                                 met=_realism_met(criterion, eps, x, real, independent, list(baselines.values()))))
        rows += [dict(setting=s, family="baseline", eps=eps, criterion=c, value=v, goal="", met=None)
                 for s, values in baselines.items() for c, v in values.items()]
    return pd.DataFrame(rows, columns=["setting", "family", "eps", "criterion", "value", "goal", "met"])


def format_realism_goals(goals: pd.DataFrame) -> pd.DataFrame:
    """:func:`realism_goals` as the chapter shows it: one row per setting, one column per
    criterion, each cell the number with ✓ (goal met), ✗ (missed) or nothing (no goal)."""
    mark = {True: " ✓", False: " ✗"}
    cells = goals.assign(cell=[f"{v:.3f}{mark.get(m, '')}" if v == v else "–" for v, m in zip(goals["value"],
                                                                                          goals["met"])])
    wide = cells.pivot_table(index="setting", columns="criterion", values="cell", aggfunc="first", sort=False)
    return wide.reindex(columns=list(REALISM_CRITERIA))


def realism_met_text(goals: pd.DataFrame) -> str:
    """How many of :func:`realism_goals`' judged goals each budget meets, as one line
    (``"ε = ∞: 5 of 14; ε = 8: 4 of 14; …"``; "no goals judged" when none is)."""
    judged = goals[goals["met"].notna()]
    if judged.empty:
        return "no goals judged"
    order = sorted(dict.fromkeys(judged["eps"]), key=lambda e: -math.inf if e == "∞" else -float(e))
    parts = [f"ε = {eps}: {int(judged.loc[judged['eps'] == eps, 'met'].astype(bool).sum())} of "
             f"{int((judged['eps'] == eps).sum())}" for eps in order]
    return "; ".join(parts)


def realism_goal_text() -> pd.DataFrame:
    """:data:`REALISM_GOALS` as a table (rows: ∞, 8, 3 and 1; columns: the criteria)."""
    frame = pd.DataFrame(REALISM_GOALS).T.reindex(columns=list(REALISM_CRITERIA)).fillna("")
    return frame.rename(index={"∞": "ε = ∞, both families", "8": "ε = 8, both families", "low": "ε = 3 and 1"})


def frequency_bin_frame(result: Mapping[str, Any], cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """Where in the frequency spectrum a cohort's genotypes go wrong: for each cohort of
    ``cohorts`` (default :func:`panel_cohorts`) and each bin of the real holdout's ALT
    frequency (:data:`lib.genetics.popgen.AF_BIN_EDGES`), heterozygous and homozygous-ALT genotypes
    per person (:func:`lib.genetics.popgen.genotype_spectrum`) against the holdout's: ``cohort``
    (label), ``kind``, ``bin``, ``class`` (het / hom-ALT), ``per_person``, ``real``,
    ``ratio`` (cohort over holdout; NaN where the holdout carries none)."""
    names = labels(result["table"])
    chosen = list(cohorts) if cohorts is not None else panel_cohorts(result["table"])
    holdout = result["inputs"]["holdout"]
    af = popgen.allele_frequencies(holdout)
    bins = popgen.af_bin_labels()
    real = popgen.genotype_spectrum(holdout, af)
    rows = []
    for c in chosen:
        spectrum = popgen.genotype_spectrum(result["dosages"][c], af)
        for b, label in enumerate(bins):
            for j, kind in enumerate(("het", "hom-ALT")):
                rows.append({"cohort": names.get(c, c),
                             "kind": "reference" if c in glossary.REFERENCES else "synthetic",
                             "bin": label, "class": kind, "per_person": float(spectrum[b, j]),
                             "real": float(real[b, j]),
                             "ratio": float(spectrum[b, j] / real[b, j]) if real[b, j] > 0 else float("nan")})
    return pd.DataFrame(rows)


def leading_sites_table(result: Mapping[str, Any], cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """Where the linear two-sample test leans: for each cohort of ``cohorts`` (default
    :func:`panel_cohorts`) against the real holdout, the share of the test's absolute
    weights (:func:`lib.genetics.popgen.two_sample_weights`) on the sites of each bin of the
    holdout's ALT frequency, beside each bin's share of the sites (what an even spread
    would give). One row per cohort, one column per bin."""
    names = labels(result["table"])
    chosen = list(cohorts) if cohorts is not None else panel_cohorts(result["table"])
    holdout = result["inputs"]["holdout"]
    af = popgen.allele_frequencies(holdout)
    edges = np.asarray(popgen.AF_BIN_EDGES[1:-1])
    bins = np.searchsorted(edges, af, side="right")
    columns = popgen.af_bin_labels()
    rows = {"share of sites": [float(np.mean(bins == b)) for b in range(len(columns))]}
    for c in chosen:
        w = popgen.two_sample_weights(holdout, result["dosages"][c])
        rows[names.get(c, c)] = [float(w[bins == b].sum() / w.sum()) for b in range(len(columns))]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).round(2)


def population_mixing_table(result: Mapping[str, Any], cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """Do synthetic people belong to one population or mix several? A population classifier
    fit on the real holdout people (:func:`lib.genetics.popgen.population_classifier`) gives each
    person of each cohort of ``cohorts`` (default :func:`panel_cohorts`) a posterior over the
    populations: ``top posterior`` (its mean over people: near 1, each person looks like
    one population; near 1/k, like none), ``unassigned`` (the share of people whose top
    posterior is below 0.5), ``population mix distance`` (total variation between the
    cohort's assigned populations and the holdout's) and ``tag agreement`` (the share of
    people assigned the population they were prompted with, for cohorts of models trained
    with population tags; for the real people, their own population: the classifier's
    accuracy; NaN where a cohort has no tags). The real validation people (the reference
    ``real``) are the yardstick: the classifier never saw them."""
    names = labels(result["table"])
    chosen = list(cohorts) if cohorts is not None else panel_cohorts(result["table"])
    holdout, holdout_labels = result["inputs"]["holdout"], np.asarray(result["inputs"]["labels"]["holdout"])
    classifier = popgen.population_classifier(holdout, holdout_labels)
    real_share = pd.Series(holdout_labels).value_counts(normalize=True)
    rows = {}
    for c in chosen:
        posterior = classifier.predict_proba(result["dosages"][c])
        top = posterior.max(axis=1)
        share = pd.Series(np.asarray(classifier.classes_)[posterior.argmax(axis=1)]).value_counts(normalize=True)
        tv = 0.5 * float(share.reindex(real_share.index.union(share.index), fill_value=0).sub(
            real_share.reindex(real_share.index.union(share.index), fill_value=0)).abs().sum())
        tags = result.get("populations", {}).get(c)
        assigned = np.asarray(classifier.classes_)[posterior.argmax(axis=1)]
        rows[names.get(c, c)] = {"top posterior": float(top.mean()), "unassigned": float(np.mean(top < 0.5)),
                                 "population mix distance": tv,
                                 "tag agreement": float(np.mean(assigned == np.asarray(tags, dtype=str)))
                                 if tags is not None else float("nan")}
    return pd.DataFrame.from_dict(rows, orient="index").round(3)


def pca_frame(result: Mapping[str, Any], cohorts: Sequence[str] | None = None, n_components: int = 2) -> pd.DataFrame:
    """PCA fit on the real holdout only; the holdout and each cohort of ``cohorts``
    (default :func:`panel_cohorts`) projected onto it: ``panel`` (cohort label), ``source``
    (real holdout / cohort), ``superpopulation`` (the holdout's own; inferred for the
    cohort's people), ``PC1``, ``PC2``; the share of variance explained is in
    ``frame.attrs["explained"]``."""
    names = labels(result["table"])
    cohorts = list(cohorts or panel_cohorts(result["table"]))
    holdout = result["inputs"]["holdout"]
    fit = popgen.pca_fit(holdout, n_components)
    real = popgen.pca_project(fit, holdout)
    rows = []
    for cohort in cohorts:
        scores = popgen.pca_project(fit, result["dosages"][cohort])
        for source, s, pops in (("real holdout", real, result["inputs"]["labels"]["holdout"]),
                                ("synthetic" if cohort not in glossary.REFERENCES else "reference", scores,
                                 result["extras"][cohort]["labels"])):
            rows.append(pd.DataFrame({"panel": names[cohort], "source": source, "superpopulation": pops,
                                      "PC1": s[:, 0].round(4), "PC2": s[:, 1].round(4)}))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["explained"] = [float(x) for x in fit["explained"][:2]]
    return out


def dcr_frame(result: Mapping[str, Any], cohorts: Sequence[str] | None = None, bins: int = 25) -> pd.DataFrame:
    """Histograms of each synthetic person's distance to the closest member and to the
    closest holdout person (same bins within a panel): ``panel``, ``to``, ``low``,
    ``high``, ``people``."""
    names = labels(result["table"])
    cohorts = list(cohorts or panel_cohorts(result["table"]))
    rows = []
    for cohort in cohorts:
        extras = result["extras"][cohort]
        both = np.r_[extras["dcr_members"], extras["dcr_holdout"]]
        edges = np.histogram_bin_edges(both, bins=bins)
        for to, values in (("closest member", extras["dcr_members"]), ("closest holdout person", extras["dcr_holdout"])):
            counts, _ = np.histogram(values, bins=edges)
            rows.append(pd.DataFrame({"panel": names[cohort], "to": to, "low": edges[:-1], "high": edges[1:],
                                      "people": counts}))
    return pd.concat(rows, ignore_index=True)


def cohort_af_frame(result: Mapping[str, Any], cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`lib.evaluation.utility.af_frame`-shaped rows (``model``, ``site``, ``real_af``,
    ``synthetic_af``) for ``cohorts`` (default :func:`panel_cohorts`) against the holdout."""
    names = labels(result["table"])
    cohorts = list(cohorts or panel_cohorts(result["table"]))
    real = popgen.allele_frequencies(result["inputs"]["holdout"])
    sites = [str(p) for p in result["inputs"]["positions"]]
    return pd.concat([pd.DataFrame({"model": names[c], "site": sites, "real_af": real.round(4),
                                    "synthetic_af": popgen.allele_frequencies(result["dosages"][c]).round(4)})
                      for c in cohorts], ignore_index=True)


# --------------------------------------------------------------------------------------
# What the chapter states, computed
# --------------------------------------------------------------------------------------

def structure_references(result: Mapping[str, Any], n_boot: int = 200, seed: int = 0) -> dict[str, tuple]:
    """Two numbers that frame the TSTR column: the population classifier trained on the
    real members with their true labels (train on real, TRTR; on the members' own top
    principal components, as TSTR on a cohort's) and the public classifier that labels
    synthetic people (on the public people's), each tested on the holdout: balanced
    accuracy with a bootstrap interval."""
    inputs = result["inputs"]
    holdout, truth = inputs["holdout"], inputs["labels"]["holdout"]
    if inputs["population_classifier"] is None:
        return {"trtr": (float("nan"),) * 3, "labeller": (float("nan"),) * 3}
    axes = inputs["public_axes"]
    trtr = popgen.train_synthetic_test_real(inputs["members"], inputs["labels"]["members"], holdout, truth,
                                            n_boot, seed)
    labeller = popgen.train_synthetic_test_real(inputs["public"], inputs["labels"]["public"], holdout, truth,
                                                n_boot, seed, axes=axes)
    return {"trtr": trtr, "labeller": labeller}


def _interval(v: tuple[float, float, float], digits: int = 3) -> str:
    return _fmt(*v, digits=digits)


# --------------------------------------------------------------------------------------
# Seed-level estimates
# --------------------------------------------------------------------------------------

SEEDS_NAME = "05_utility_seeds"
#: The seed-level table's columns (``metrics/05_utility_seeds.csv``): one row per setting and metric.
SEED_COLUMNS = ["setting", "kind", "family", "tokenizer", "variant", "epsilon", "eps", "decoding", "group", "metric",
                "value", "low", "high", "n_seeds", "seed_sd", "boot_half", "seed_values"]


#: The values a metric can take where it is bounded: its seed-level interval is shown within them
#: (the comparisons use the unclipped half-widths, :class:`lib.evaluation.evidence.Estimate`).
RANGES = {**{m: (0.0, 1.0) for m in ("c2st_auc", "c2st_trees_auc", "aats", "tstr", "unique_people", "heterozygosity",
                                     "share_hom_alt", "mean_af", "hwe_deviation", "exact_copies", "near_copies",
                                     "kin_duplicate", "kin_first", "kin_second", "af_mad", "validity", "quality",
                                     "memorised", "novel", "record_uniqueness")},
          "af_r": (-1.0, 1.0), "af_r_population": (-1.0, 1.0), "aats_privacy_loss": (-1.0, 1.0)}


def seed_table(table: pd.DataFrame) -> pd.DataFrame:
    """The utility table over training seeds: one row per setting (:func:`lib.runs.glossary.cohort_setting`;
    a reference cohort is its own setting) and metric, with the seed-level estimate of
    :func:`lib.evaluation.evidence.seed_estimate` (``value`` the mean over seeds; ``low``, ``high`` its
    interval, which carries the seed-to-seed spread and the per-model bootstrap:
    :func:`lib.evaluation.evidence.interval_rule`), ``n_seeds``, ``seed_sd``, ``boot_half`` (the mean
    half-width of the per-model intervals) and ``seed_values`` (every seed's value). A
    setting of one model keeps that model's own interval; an interval is shown within the
    values a bounded metric can take (:data:`RANGES`)."""
    rows = []
    for (setting, metric), group in table.groupby(["setting", "metric"], sort=False):
        group = group.sort_values("seed")
        first = group.iloc[0]
        estimate = evidence.seed_estimate(group["value"], group["low"], group["high"])
        low, high = (estimate.low, estimate.high) if estimate.n > 1 else (first["low"], first["high"])
        if metric in RANGES and low == low:
            low, high = max(low, RANGES[metric][0]), min(high, RANGES[metric][1])
        rows.append({**{c: first[c] for c in SEED_COLUMNS[:10]}, "value": estimate.value, "low": low, "high": high,
                     **estimate.columns()})
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def estimate(seeds: pd.DataFrame, setting: str, metric: str) -> evidence.Estimate:
    """One setting's metric from the seed-level table, as an :class:`lib.evaluation.evidence.Estimate`
    (a KeyError naming what is missing)."""
    row = seeds[(seeds["setting"] == setting) & (seeds["metric"] == metric)]
    if row.empty:
        raise KeyError(f"no {metric!r} for setting {setting!r}")
    return evidence.Estimate.from_row(row.iloc[0])


def _scaled(e: evidence.Estimate, factor: float) -> evidence.Estimate:
    """An estimate multiplied by a constant (a ratio to a fixed reference value)."""
    return evidence.Estimate(e.value * factor, e.low * factor, e.high * factor, e.n, e.sd * factor,
                             e.boot_half * factor, tuple(v * factor for v in e.values), e.level)


def oriented(seeds: pd.DataFrame, setting: str, metric: str) -> tuple[evidence.Estimate, str]:
    """A setting's metric turned so that one direction is better, for
    :func:`lib.evaluation.evidence.compare`: as it is with its sense (``"high"``/``"low"``) for a
    metric whose best is high or low; as the distance from 0.5 (lower better) for one whose
    best is 0.5 (a two-sample AUC, AATS's halves); as the distance from the real validation
    people's value (lower better) for a metric whose best is "as the real people" (AATS
    itself); from 0 for one whose best is 0."""
    e = estimate(seeds, setting, metric)
    best = utility.METRICS[metric][2]
    if best in ("high", "low"):
        return e, best
    if best == "0.5":
        return evidence.distance_from(e, 0.5), "low"
    if best == "0":
        return evidence.distance_from(e, 0.0), "low"
    return evidence.distance_from(e, estimate(seeds, glossary.REAL, metric).value), "low"


#: The utility metrics the claim "differential privacy improves utility" is judged on, declared
#: before any cohort is scored: the chapter's headline metrics that have a direction.
DP_CLAIM_METRICS = ("af_r", "ld_decay_distance", "c2st_auc", "c2st_trees_auc", "aats_balance", "tstr")
#: The list as first declared, with AATS oriented by its distance from the real people's; replaced
#: (issue 21) when AATS's halves showed that value reached by two failures (AA_T = 1, AA_S = 0).
DP_CLAIM_METRICS_FIRST = ("af_r", "ld_decay_distance", "c2st_auc", "c2st_trees_auc", "aats", "tstr")


def dp_effect(seeds: pd.DataFrame, metrics: Sequence[str] = DP_CLAIM_METRICS,
              level: float | None = None) -> pd.DataFrame:
    """For each family and private ε (main settings), every metric of ``metrics`` against
    the same family's ε = ∞ setting, on the seed-level estimates (:func:`oriented`,
    :func:`lib.evaluation.evidence.compare`): ``better``, ``worse`` or ``indistinguishable``, with the
    difference's interval at ``level`` (default: Bonferroni over all the comparisons made).
    Columns ``family``, ``eps``, ``metric``, ``value``, ``low``, ``high`` (the private
    setting's), ``non_private``, ``difference``, ``diff_low``, ``diff_high``, ``level``,
    ``verdict``."""
    main = comparison.main_settings(seeds)
    pairs = []
    for family, group in main.groupby("family"):
        reference = group[group["eps"] == "∞"]
        if reference.empty:
            continue
        for row in group[~group["eps"].isin(["∞", budget.CLIP_ONLY_LABEL])].itertuples():
            pairs += [(family, row.setting, row.eps, reference["setting"].iloc[0], m) for m in metrics]
    found = []
    for family, setting, eps, base, metric in pairs:  # a metric the run lacks is no comparison
        try:
            found.append((family, setting, eps, base, metric, oriented(seeds, setting, metric),
                          oriented(seeds, base, metric)))
        except KeyError:
            continue
    if level is None and found:
        level = evidence.bonferroni(len(found))
    rows = []
    for family, setting, eps, base, metric, (a, sense), (b, _) in found:
        plain = estimate(seeds, setting, metric)
        c = evidence.compare(a, b, sense, level)
        rows.append({"family": glossary.FAMILY_LABELS[family], "eps": eps, "metric": metric, "value": plain.value,
                     "low": plain.low, "high": plain.high, "non_private": estimate(seeds, base, metric).value,
                     "difference": c["difference"], "diff_low": c["low"], "diff_high": c["high"], "level": level,
                     "verdict": c["outcome"]})
    return pd.DataFrame(rows, columns=["family", "eps", "metric", "value", "low", "high", "non_private", "difference",
                                       "diff_low", "diff_high", "level", "verdict"])


#: The utility metrics the claim "at the same ε the private language model gives more useful
#: cohorts than the private baselines" is judged on, declared before any cohort is scored:
#: the same directed headline metrics as the DP claim.
BASELINE_CLAIM_METRICS = DP_CLAIM_METRICS


def baseline_effect(seeds: pd.DataFrame, metrics: Sequence[str] = BASELINE_CLAIM_METRICS,
                    level: float | None = None) -> pd.DataFrame:
    """At every private ε both have, each language-model family's main setting against each
    private baseline (:data:`lib.dp.baselines.MECHANISMS`) on every metric of ``metrics``, on
    the seed-level estimates (:func:`oriented`, :func:`lib.evaluation.evidence.compare`), read from the
    language model's side: ``better``, ``worse`` or ``indistinguishable``, the difference's
    interval at ``level`` (default: Bonferroni over all the comparisons made). Columns
    ``eps``, ``model``, ``baseline`` (labels), ``metric``, ``value``, ``low``, ``high`` (the
    model's), ``baseline_value``, ``baseline_low``, ``baseline_high``, ``difference``,
    ``diff_low``, ``diff_high`` (of the oriented values: distance from the ideal where the
    metric has one), ``level``, ``verdict``."""
    main = comparison.main_settings(seeds)
    private = main[np.isfinite(main["epsilon"].astype(float)) & (main["eps"] != budget.CLIP_ONLY_LABEL)]
    is_base = private["family"].map(artefacts.is_baseline)
    found = []
    for lm in private[~is_base].itertuples():
        for base in private[is_base & (private["eps"] == lm.eps)].itertuples():
            for metric in metrics:
                try:  # a metric the run lacks is no comparison
                    found.append((lm, base, metric, oriented(seeds, lm.setting, metric),
                                  oriented(seeds, base.setting, metric)))
                except KeyError:
                    continue
    if level is None and found:
        level = evidence.bonferroni(len(found))
    rows = []
    for lm, base, metric, (a, sense), (b, _) in found:
        mine, theirs = estimate(seeds, lm.setting, metric), estimate(seeds, base.setting, metric)
        c = evidence.compare(a, b, sense, level)
        rows.append({"eps": lm.eps, "model": glossary.FAMILY_LABELS[lm.family],
                     "baseline": glossary.FAMILY_LABELS[base.family],
                     "metric": metric, "value": mine.value, "low": mine.low, "high": mine.high,
                     "baseline_value": theirs.value, "baseline_low": theirs.low, "baseline_high": theirs.high,
                     "difference": c["difference"], "diff_low": c["low"], "diff_high": c["high"], "level": level,
                     "verdict": c["outcome"]})
    return pd.DataFrame(rows, columns=["eps", "model", "baseline", "metric", "value", "low", "high", "baseline_value",
                                       "baseline_low", "baseline_high", "difference", "diff_low", "diff_high", "level",
                                       "verdict"])


def format_baseline_effect(effects: pd.DataFrame) -> pd.DataFrame:
    """:func:`baseline_effect` for the page: per ε, model and baseline, each metric as the
    model's value against the baseline's (seed-level 95% intervals) and who wins."""
    who = {"better": "model", "worse": "baseline", "indistinguishable": "–", "equivalent": "neither"}
    rows = []
    for r in effects.itertuples():
        rows.append({"ε": r.eps, "model": r.model, "baseline": r.baseline,
                     "metric": glossary.SHORT_TITLES.get(r.metric, r.metric),
                     "model's value": _fmt(r.value, r.low, r.high), "baseline's": _fmt(
                         r.baseline_value, r.baseline_low, r.baseline_high), "wins": who[r.verdict]})
    return pd.DataFrame(rows)


def _baseline_claim(seeds: pd.DataFrame, metrics: Sequence[str] = BASELINE_CLAIM_METRICS) -> evidence.Claim:
    claim = "At the same ε, the private language model gives more useful cohorts than the private baselines"
    effects = baseline_effect(seeds, metrics)
    m = len(effects)
    rule = (f"at every private ε, each language model's main setting against each private baseline (private "
            f"independent sites, MST; same members, same δ) on the pre-declared metrics "
            f"({', '.join(metrics)}; a two-sample AUC by its distance from 0.5, AATS by how far its "
            "two halves are from 0.5, the LD-decay distance and TSTR as they are), seed-level intervals of the "
            "difference"
            + (f" at {effects['level'].iloc[0]:.2%} (Bonferroni over the {m} comparisons)" if m else "")
            + "; " + evidence.MAJORITY_RULE)
    if not m:
        return evidence.Claim(claim, "cannot be told", rule, "the run has no private baseline beside a private model "
                              "at the same ε")
    counts = evidence.tally(effects["verdict"])
    parts = []
    for (eps, model, base), group in effects.groupby(["eps", "model", "baseline"], sort=False):
        wins = [glossary.SHORT_TITLES.get(x, x) for x in group.loc[group["verdict"] == "better", "metric"]]
        losses = [glossary.SHORT_TITLES.get(x, x) for x in group.loc[group["verdict"] == "worse", "metric"]]
        parts.append(f"ε = {eps}, {model} against {base}: "
                     + (f"the model wins on {', '.join(wins)}" if wins else "the model wins on none")
                     + (f", the baseline on {', '.join(losses)}" if losses else ""))
    text = (f"of {m} comparisons, the language model is better in {counts['better']}, worse in {counts['worse']} "
            f"and indistinguishable in {counts['indistinguishable']} (" + "; ".join(parts) + ")")
    return evidence.Claim(claim, evidence.majority_verdict(counts), rule, text)


#: "Large models write near-identical samples": the thresholds the verdict reads (printed with it).
IDENTICAL_DISTANCE_RATIO, IDENTICAL_DISTINCT = 0.5, 0.9
#: "The models memorise their members": a share of near copies this close to the real people's is no memorisation.
MEMORISATION_MARGIN = 0.05


def _non_private(seeds: pd.DataFrame) -> dict[str, str]:
    """family -> its main non-private setting."""
    main = comparison.main_settings(seeds)
    return dict(zip(main.loc[main["eps"] == "∞", "family"], main.loc[main["eps"] == "∞", "setting"]))


def _dp_claim(seeds: pd.DataFrame, metrics: Sequence[str] = DP_CLAIM_METRICS) -> evidence.Claim:
    claim = "Differential privacy improves utility (it regularises)"
    effects = dp_effect(seeds, metrics)
    m = len(effects)
    rule = (f"each private setting against its family's non-private one on the pre-declared metrics "
            f"({', '.join(metrics)}; a two-sample AUC by its distance from 0.5, AATS by how far its two "
            "halves are from 0.5), seed-level "
            f"intervals of the difference at {effects['level'].iloc[0]:.2%} (Bonferroni over the {m} comparisons); "
            if m else "") + evidence.MAJORITY_RULE
    if not m:
        return evidence.Claim(claim, "cannot be told", rule, "the run has no private cohort beside a non-private one")
    counts = evidence.tally(effects["verdict"])
    verdict = evidence.majority_verdict(counts)

    def which(kind: str) -> str:
        rows = effects[effects["verdict"] == kind]
        return ", ".join(f"{f} ε = {e} {mt}" for f, e, mt in zip(rows["family"], rows["eps"], rows["metric"]))

    text = (f"of {m} comparisons of a private setting with its family's non-private one, {counts['better']} are "
            f"better, {counts['worse']} worse and {counts['indistinguishable']} indistinguishable")
    details = [f"better: {which('better')}" if counts["better"] else "",
               f"worse: {which('worse')}" if counts["worse"] else ""]
    details = [d for d in details if d]
    return evidence.Claim(claim, verdict, rule, text + (f" ({'; '.join(details)})" if details else ""))


def _identical_claim(seeds: pd.DataFrame, settings: Mapping[str, Any]) -> evidence.Claim:
    claim = "Large models write near-identical samples"
    rule = (f"the larger family's non-private people: holds when, with 95% confidence, they are less than "
            f"{IDENTICAL_DISTANCE_RATIO:.0%} as far apart as real people (median within-cohort distance) or under "
            f"{IDENTICAL_DISTINCT:.0%} distinct; does not hold when both are confidently above those thresholds; "
            "cannot be told otherwise; cannot be tested when both families are built the same size")
    sizes = models.family_sizes(settings)
    plain = _non_private(seeds)
    if len(set(sizes.values())) == 1:
        return evidence.Claim(claim, "cannot be tested here", rule, (
            f"both families are built the same size ({sizes['mingpt'][0]} layers, {sizes['mingpt'][1]} wide) in this "
            "profile, so no model is larger than the other"))
    large = max(sizes, key=lambda f: sizes[f][0] * sizes[f][1])
    if large not in plain:
        return evidence.Claim(claim, "cannot be told", rule,
                              f"the run has no non-private {glossary.FAMILY_LABELS[large]} cohort")
    real_within = estimate(seeds, glossary.REAL, "within_distance").value
    ratio = _scaled(estimate(seeds, plain[large], "within_distance"), 1 / real_within)
    distinct = estimate(seeds, plain[large], "unique_people")
    near = ratio.high < IDENTICAL_DISTANCE_RATIO or distinct.high < IDENTICAL_DISTINCT
    apart = ratio.low >= IDENTICAL_DISTANCE_RATIO and distinct.low >= IDENTICAL_DISTINCT
    verdict = "holds" if near else "does not hold" if apart else "cannot be told at this scale"
    return evidence.Claim(claim, verdict, rule, (
        f"the larger {glossary.FAMILY_LABELS[large]}'s ({sizes[large][0]} x {sizes[large][1]}) "
        f"people are {ratio.text(2)} "
        f"times as far apart as real people and {distinct.text(3)} of them distinct ({ratio.n} seeds)"))


def _size_claim(seeds: pd.DataFrame, settings: Mapping[str, Any]) -> evidence.Claim:
    claim = "Small models write more diverse people but put variants at worse positions"
    rule = ("the smaller family's non-private setting against the larger's, seed-level intervals at 97.5% "
            "(Bonferroni over 2): holds when its people are more spread out (median within-cohort distance) and "
            "its variants worse placed (position_mad), both with intervals apart; holds in part when one is and "
            "the other cannot be told; does not hold when either is confidently the other way; cannot be told "
            "otherwise; cannot be tested when both families are built the same size")
    sizes = models.family_sizes(settings)
    plain = _non_private(seeds)
    if len(set(sizes.values())) == 1:
        return evidence.Claim(claim, "cannot be tested here", rule, (
            f"both families are built the same size ({sizes['mingpt'][0]} layers, {sizes['mingpt'][1]} wide) in this "
            "profile, so that neither the comparison of families nor that of ε is confounded by size (the "
            "dissertation changed the size along with ε)"))
    if len(plain) < 2:
        return evidence.Claim(claim, "cannot be told", rule, "the run lacks a non-private cohort of each family")
    small, large = sorted(plain, key=lambda f: sizes[f][0] * sizes[f][1])
    level = evidence.bonferroni(2)
    spread = evidence.compare(estimate(seeds, plain[small], "within_distance"),
                              estimate(seeds, plain[large], "within_distance"), "high", level)["outcome"]
    placed = evidence.compare(estimate(seeds, plain[small], "position_mad"),
                              estimate(seeds, plain[large], "position_mad"), "high", level)["outcome"]
    # "better" here reads "the small model's value is higher": more spread out, worse placed
    said = [{"better": "yes", "worse": "no"}.get(o, "?") for o in (spread, placed)]
    verdict = ("holds" if said == ["yes", "yes"] else "does not hold" if "no" in said else
               "holds in part" if "yes" in said else "cannot be told at this scale")
    return evidence.Claim(claim, verdict, rule, (
        f"the smaller {glossary.FAMILY_LABELS[small]} ({sizes[small][0]} x {sizes[small][1]}) writes people "
        f"{estimate(seeds, plain[small], 'within_distance').text(0)} alleles apart against "
        f"{estimate(seeds, plain[large], 'within_distance').text(0)} for the larger {glossary.FAMILY_LABELS[large]} "
        f"({sizes[large][0]} x {sizes[large][1]}), and places their variants "
        f"{estimate(seeds, plain[small], 'position_mad').text(2)} against "
        f"{estimate(seeds, plain[large], 'position_mad').text(2)} from the holdout per megabase (position_mad)"))


def _memorisation_claim(seeds: pd.DataFrame) -> evidence.Claim:
    claim = "The models memorise their members"
    plain = _non_private(seeds)
    level = evidence.bonferroni(max(len(plain), 1))
    rule = (f"each non-private setting's share of near copies (people closer to a member than 95% of real holdout "
            f"people are) against the real validation people's, intervals of the difference at {level:.2%} "
            f"(Bonferroni over the families): holds when any family's is above; does not hold when every family's "
            f"is below or within ±{MEMORISATION_MARGIN:.0%} of it; cannot be told otherwise. The dissertation's "
            "record-level share is shown beside it and not judged: on a fixed panel nearly every record a person "
            "can carry is carried by some member")
    if not plain:
        return evidence.Claim(claim, "cannot be told", rule, "the run has no non-private cohort")
    real = estimate(seeds, glossary.REAL, "near_copies")
    outcomes, parts = {}, []
    for family, setting in plain.items():
        e = estimate(seeds, setting, "near_copies")
        outcomes[family] = evidence.compare(e, real, "low", level, margin=MEMORISATION_MARGIN)["outcome"]
        records = estimate(seeds, setting, "memorised")
        parts.append(f"{glossary.FAMILY_LABELS[family]} {_pct(e)} near copies, "
                     f"{records.value:.1%} of its records 'memorised'")
    said = list(outcomes.values())
    verdict = ("holds" if "worse" in said else "does not hold" if all(o in ("better", "equivalent") for o in said)
               else "cannot be told at this scale")
    return evidence.Claim(claim, verdict, rule, (
        "; ".join(parts) + f"; real people never trained on: {_pct(real)} near copies, "
        f"{estimate(seeds, glossary.REAL, 'memorised').value:.1%} of their records 'memorised'"))


def _pct(e: evidence.Estimate) -> str:
    if e.low == e.low:
        return f"{e.value:.1%} [{e.low:.1%}, {e.high:.1%}]"
    return f"{e.value:.1%}"


def claim_records(result: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The dissertation's utility findings, each set against this run's seed-level numbers
    (``result["seeds"]``, :func:`seed_table`; computed from ``result["table"]`` when
    absent): key -> ``claim``, ``verdict`` (one of :data:`lib.evaluation.evidence.VERDICTS`, computed), ``rule``
    (how the verdict is read from the numbers, printed with it), ``evidence`` and
    ``ceiling`` (:class:`lib.evaluation.evidence.Claim`). ``dp_claim`` (DP improving utility: the
    dissertation's "DP regularises"), ``identical_claim`` (large models writing
    near-identical samples), ``size_claim`` (small models more diverse but worse
    positions), ``memorisation_claim`` (members memorised), ``baseline_claim`` (the private
    language models against the private baselines at the same ε: this book's question, not
    the dissertation's)."""
    seeds = result.get("seeds")
    if seeds is None:
        seeds = seed_table(result["table"])
    return {"dp_claim": evidence.untold(lambda: _dp_claim(seeds),
                                        "Differential privacy improves utility (it regularises)"),
            "identical_claim": evidence.untold(lambda: _identical_claim(seeds, settings),
                                      "Large models write near-identical samples"),
            "size_claim": evidence.untold(lambda: _size_claim(seeds, settings),
                                 "Small models write more diverse people but put variants at worse positions"),
            "memorisation_claim": evidence.untold(lambda: _memorisation_claim(seeds),
                                                  "The models memorise their members"),
            "baseline_claim": evidence.untold(lambda: _baseline_claim(seeds),
                                              "At the same ε, the private language model "
                                     "gives more useful cohorts than the private baselines")}


def claims(result: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, str]:
    """:func:`claim_records` as the chapter's sentences (key -> "it holds here: ..."), and
    each rule (key ``<claim>_rule``)."""
    out = {}
    for key, r in claim_records(result, settings).items():
        out[key] = evidence.claim_sentence(r["verdict"], r["evidence"])
        out[f"{key}_rule"] = r["rule"]
    return out


def _lookup(seeds: pd.DataFrame, setting: str | None, metric: str) -> str:
    """A setting's seed-level value and interval as the prose writes it ("–" where missing)."""
    if setting is None:
        return "–"
    try:
        e = estimate(seeds, setting, metric)
    except KeyError:
        return "–"
    return show(metric, (e.value, e.low, e.high))


PROSE_REFERENCE_METRICS = ("af_r", "ld_decay_distance", "c2st_auc", "c2st_trees_auc", "aats", "aats_privacy_loss",
                           "tstr", "fst", "hwe_deviation", "near_copies",
                           "kin_first", "kin_duplicate", "exact_copies", "dcr_members", "dcr_holdout",
                           "within_distance", "c2st_classes_auc")
PROSE_NON_PRIVATE_METRICS = ("af_r", "ld_decay_distance", "c2st_auc", "c2st_trees_auc", "aats", "tstr", "fst",
                             "hwe_deviation", "near_copies",
                             "kin_first", "exact_copies", "dcr_members", "dcr_holdout", "aats_privacy_loss")
PROSE_PRIVATE_METRICS = ("af_r", "c2st_auc", "c2st_trees_auc", "aats", "tstr", "fst", "hwe_deviation", "burden",
                         "rare_het", "rare_hom_alt")


def numbers(result: Mapping[str, Any], settings: Mapping[str, Any], seconds: float,
            structure: Mapping[str, tuple]) -> dict[str, str]:
    """Every number the chapter's prose cites, formatted (glued by the notebook): a
    setting's numbers are seed-level estimates (:func:`seed_table`). Every key is always
    present: a cohort the run lacks (a family without private models, a restricted
    ``cohorts`` list) reads "–"."""
    table, found = result["table"], result["catalogue"]
    seeds = result["seeds"] if result.get("seeds") is not None else seed_table(table)
    inputs = result["inputs"]
    main = comparison.main_settings(seeds)
    out = {"n_synthetic": f"{len(found):,}", "n_cohorts": f"{len(found) + len(glossary.REFERENCES):,}",
           "n_holdout": f"{len(inputs['holdout']):,}", "n_members": f"{len(inputs['members']):,}",
           "n_public": f"{len(inputs['public']):,}", "n_sites": f"{inputs['holdout'].shape[1]:,}",
           "members_ratio": f"{len(inputs['members']) / len(inputs['holdout']):.1f}",
           "utility_seconds": f"{seconds:.0f}", "trtr": _interval(structure["trtr"]),
           "labeller": _interval(structure["labeller"]),
           "n_seeds": f"{int(main['n_seeds'].max()) if len(main) else 1}", "n_settings": f"{len(main):,}",
           "seed_interval_rule": evidence.interval_rule()}
    for name, cohort in (("real", glossary.REAL), ("independent", glossary.INDEPENDENT),
                         ("public_sites", glossary.PUBLIC_SITES), ("copy", glossary.COPY)):
        for metric in PROSE_REFERENCE_METRICS:
            out[f"{name}_{metric}"] = _lookup(seeds, cohort, metric)
    for family in ("gpt2", "mingpt", *baselines.MECHANISMS):
        rows = main[(main["family"] == family) & (main["eps"] != budget.CLIP_ONLY_LABEL)]
        non_private = rows[rows["eps"] == "∞"]["setting"].tolist()
        private = rows[rows["eps"] != "∞"]
        lowest = private["setting"].iloc[0] if len(private) else None  # most private first
        for metric in PROSE_NON_PRIVATE_METRICS:
            out[f"{family}_inf_{metric}"] = _lookup(seeds, non_private[0] if non_private else None, metric)
        out[f"{family}_low_eps"] = private["eps"].iloc[0] if len(private) else "–"
        for metric in PROSE_PRIVATE_METRICS:
            out[f"{family}_low_{metric}"] = _lookup(seeds, lowest, metric)
    out["holdout_fst"] = f"{popgen.weir_cockerham_fst(inputs['holdout'], inputs['labels']['holdout']):.3f}"
    out["holdout_burden"] = f"{np.mean((inputs['holdout'] > 0).sum(axis=1)):.1f}"
    out["holdout_het"] = f"{np.mean((inputs['holdout'] == 1).sum(axis=1)):.0f}"
    # the two claims judged on AATS as first declared (its distance from the real people's), beside the verdicts
    for key, make in (("dp_claim", _dp_claim), ("baseline_claim", _baseline_claim)):
        out[f"{key}_first"] = evidence.untold(lambda: make(seeds, DP_CLAIM_METRICS_FIRST), key)["verdict"]
    classes = popgen.genotype_classes(inputs["holdout"], popgen.allele_frequencies(inputs["holdout"]))
    out["holdout_rare_het"], out["holdout_rare_hom_alt"] = (f"{v:.1f}" for v in classes[:, :2].mean(axis=0))
    return out
