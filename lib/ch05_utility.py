"""The utility chapter (``book/05_utility.ipynb``): every synthetic cohort of the run
against real people, framed by three reference cohorts.

* :func:`catalogue` -- the synthetic cohorts the models chapters wrote (both families,
  every ε, the clip-only runs, dp-transformers, the text-tokenizer model; constrained and
  unconstrained), each with its family, tokenizer, ε and decoding read from its name.
* :func:`load_inputs` -- the real people as dosage matrices: the members (train split),
  the holdout (the real people every cohort is compared with), the validation split and
  the public people with their population labels.
* :func:`reference_cohorts` -- **real (validation)**: real people the models never trained
  on, as many as the holdout (what a perfect generator reaches, sampling noise included);
  **independent sites**: every site drawn independently at the members' allele frequency
  (the dissertation's "random model": frequencies kept, linkage and structure destroyed);
  **copy of members**: members resampled (perfect utility, no privacy).
* :func:`evaluate` -- every metric of :mod:`lib.popgen` and :mod:`lib.utility` for every
  cohort: one tidy table (cohort, family, tokenizer, ε, decoding, metric, value and a
  bootstrap 95% interval where one is computed) written to ``metrics/05_utility.csv``,
  and the frames the chapter's figures draw.
* :func:`bcftools_table`, :func:`wide_table`, :func:`epsilon_frame`, :func:`claims`,
  :func:`numbers` -- the chapter's tables and the sentences it states, computed.

Every number here is an *evaluation* computed on real people, members included (the
copying metrics must look at the members): none of it is released with a model, and none
of it is covered by ε. The population labels of synthetic people are inferred by a
classifier trained on the public people (synthetic people carry none).
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import artefacts, charts, popgen, rundir, stats, utility, vcf
from .cohort import CHR22_LENGTH

CHAPTER = "05_utility"
#: Bumped when a metric changes what it computes (goes into the manifest's parameters).
UTILITY_VERSION = 1
METRICS_NAME = "05_utility"

REAL = "real (validation)"
INDEPENDENT = "independent sites"
COPY = "copy of members"
REFERENCES = (REAL, INDEPENDENT, COPY)

#: Every metric of the table: (group, short description, what is best). "best" is
#: ``"high"``, ``"low"``, ``"0.5"`` (AATS, the two-sample AUC), ``"real"`` (as the real
#: reference row) or ``"0"``.
METRICS: dict[str, tuple[str, str, str]] = {
    "af_r": ("allele frequencies", "Pearson r of per-site ALT allele frequency with the holdout's", "high"),
    "af_mad": ("allele frequencies", "mean absolute difference of allele frequency", "low"),
    "af_wasserstein": ("allele frequencies", "Wasserstein distance between the frequency spectra", "low"),
    "genotype_kl": ("allele frequencies", "mean per-site KL divergence of genotype shares", "low"),
    "afs_distance": ("allele frequencies", "total-variation distance between the allele-frequency spectra "
                     "(bins 0-1-5-10-20-50-100%)", "low"),
    "af_r_population": ("allele frequencies", "mean over populations of the allele-frequency r within a population "
                        "(synthetic people labelled by the public classifier)", "high"),
    "hwe_deviation": ("genotypes", "share of sites failing the Hardy-Weinberg exact test at 5%", "real"),
    "heterozygosity": ("genotypes", "share of calls heterozygous", "real"),
    "het_f": ("genotypes", "mean inbreeding coefficient F per person (expected from the holdout's frequencies)", "real"),
    "share_hom_alt": ("genotypes", "share of calls homozygous ALT", "real"),
    "mean_af": ("genotypes", "mean ALT allele frequency over sites", "real"),
    "burden": ("genotypes", "variants (non-reference sites) per person, mean", "real"),
    "position_mad": ("positions", "mean over 1-Mb bins of |variants per person in the bin - the holdout's|", "low"),
    "ld_r2_mad": ("linkage", "mean absolute difference of r² over neighbouring site pairs", "low"),
    "ld_decay_distance": ("linkage", "distance between the LD-decay curves (mean |Δ mean r²| per bin)", "low"),
    "fst": ("structure", "Weir-Cockerham Fst between inferred super-populations", "real"),
    "tstr": ("structure", "population classifier trained on the cohort, balanced accuracy on the holdout", "high"),
    "c2st_auc": ("structure", "classifier two-sample test: AUC telling the cohort from the holdout", "0.5"),
    "aats": ("distances", "nearest-neighbour adversarial accuracy against the holdout", "0.5"),
    "aats_privacy_loss": ("distances", "AATS against the holdout minus AATS against the members", "0"),
    "dcr_members": ("distances", "median distance to the closest member (alleles)", "real"),
    "dcr_holdout": ("distances", "median distance to the closest holdout person (alleles)", "real"),
    "within_distance": ("distances", "median distance between two people of the cohort", "real"),
    "exact_copies": ("distances", "share of people identical to a member", "0"),
    "near_copies": ("distances", "share of people closer to a member than 95% of real holdout people are", "real"),
    "unique_people": ("distances", "share of distinct people in the cohort", "high"),
    "kin_duplicate": ("kinship", "share with a member as duplicate (KING > 0.354)", "0"),
    "kin_first": ("kinship", "share with a member as first-degree relative", "0"),
    "kin_second": ("kinship", "share with a member as second-degree relative", "0"),
    **{name: ("records (dissertation)", text, "real") for name, text in utility.RECORD_METRICS.items()},
    **{name: ("plausibility", text, "0") for name, text in utility.PLAUSIBILITY.items()},
}

#: The metrics the chapter's utility-against-ε figure and headline table show, with short titles.
HEADLINE = ("af_r", "ld_decay_distance", "c2st_auc", "aats", "tstr", "burden")
SHORT_TITLES = {"af_r": "Allele-frequency r", "ld_decay_distance": "LD-decay distance",
                "c2st_auc": "Two-sample AUC (0.5 best)", "aats": "AATS (0.5 best)",
                "tstr": "TSTR balanced accuracy", "burden": "Variants per person"}


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------

def catalogue(run: str | os.PathLike) -> pd.DataFrame:
    """The synthetic cohorts of the run: one row per ``synthetic/<name>.vcf.gz`` with
    ``cohort`` (its name), ``model``, ``decoding`` (constrained / unconstrained),
    ``family``, ``tokenizer``, ``epsilon`` (float), ``eps`` (its chart label: ∞, 8, …;
    ``∞, clip only`` for the clip-only runs) and ``variant`` (``""``, ``cliponly``,
    ``dptransformers``)."""
    directory = Path(run) / "synthetic"
    names = sorted(p.name[: -len(".vcf.gz")] for p in directory.glob("*.vcf.gz")) if directory.is_dir() else []
    if not names:
        raise FileNotFoundError(f"{directory}: no synthetic cohort; run the models (03_models) and private "
                                "training (04_dp_training) chapters first")
    rows = []
    for name in names:
        decoding = "unconstrained" if name.endswith("-unconstrained") else "constrained"
        model = name[: -len("-unconstrained")] if decoding == "unconstrained" else name
        parsed = artefacts.parse_model_name(model)
        label = charts.CLIP_ONLY_LABEL if parsed["variant"] == "cliponly" else charts.epsilon_label(parsed["epsilon"])
        rows.append({"cohort": name, "model": model, "decoding": decoding, "family": parsed["family"],
                     "tokenizer": parsed["tokenizer"], "epsilon": parsed["epsilon"], "eps": label,
                     "variant": parsed["variant"]})
    return pd.DataFrame(rows)


def is_main(row: Mapping[str, Any]) -> bool:
    """A cohort of the ε grid (the family's main tokenizer, Opacus, noise), constrained."""
    return (row["decoding"] == "constrained" and row["variant"] == ""
            and row["tokenizer"] == artefacts.main_tokenizer(row["family"]))


def load_inputs(run: str | os.PathLike) -> dict[str, Any]:
    """The real people of the run as :func:`lib.popgen.dosages`: ``members``, ``holdout``,
    ``validation``, ``public``; ``labels`` (split -> super-population per person);
    ``profiles`` (split -> records per person); ``member_records`` (every member record);
    ``positions``; the public ``panel``; ``contig_length`` (the chromosome of the cohort's
    assembly, from :data:`lib.cohort.CHR22_LENGTH` when the assembly is known);
    ``near_copy_distance`` (the 5th percentile of the holdout people's distance to the
    closest member), ``public_axes`` (the public people's top principal components: the
    feature space of every population classifier) and ``population_classifier`` (fit on
    the public people, in that space)."""
    run = Path(run)
    with quiet_reader():
        real = artefacts.load_cohort(run)
    panel, _ = artefacts.load_panel(run)
    members = artefacts.load_splits(run)
    out: dict[str, Any] = {"panel": panel, "real": real, "positions": panel.sites["pos"].to_numpy(),
                           "labels": {}, "profiles": {}}
    for split in ("train", "holdout", "validation", "public"):
        people = artefacts.split_cohort(real, members.get(split, []))
        key = "members" if split == "train" else split
        out[key] = popgen.dosages(people)
        out["labels"][key] = people.samples["superpopulation"].astype(str).to_numpy()
        if split != "public":
            out["profiles"][key] = [list(v) for v in artefacts.split_profiles(run, split)["variants"]]
    if len(out["holdout"]) < 2 or len(out["members"]) < 2:
        raise ValueError(f"{run}: the utility chapter needs at least 2 members and 2 holdout people")
    # a near copy sits closer to a member than 95% of the real holdout people do
    out["near_copy_distance"] = float(np.quantile(popgen.closest(out["holdout"], out["members"]), 0.05))
    # synthetic people carry no population: a classifier fitted once on the public people labels them
    # in one feature space for every cohort: the public people's top principal components
    # (none without public people of two known populations: the population metrics are then NaN)
    known = set(out["labels"]["public"]) - {"unknown"}
    out["public_axes"] = out["population_classifier"] = None
    if len(known) >= 2 and len(out["public"]) >= 3:
        out["public_axes"] = popgen.pca_fit(out["public"], min(10, len(out["public"]) - 1))
        out["population_classifier"] = popgen.population_classifier(out["public"], out["labels"]["public"],
                                                                    axes=out["public_axes"])
    out["member_records"] = frozenset(r for profile in out["profiles"]["members"] for r in profile)
    out["contig_length"] = int(CHR22_LENGTH.get(real.contig.assembly, real.contig.length))
    return out


def reference_cohorts(inputs: Mapping[str, Any], seed: int = 0) -> dict[str, dict[str, Any]]:
    """:data:`REFERENCES`, each ``{"dosages", "profiles"}`` with as many people as the
    holdout (profiles ``None`` for independent sites, which have no records to compare:
    its validity and plausibility are 1 and 0 by construction)."""
    n = len(inputs["holdout"])
    members, validation = inputs["members"], inputs["validation"]
    # the copy: the same people popgen.resample_people draws, with their records
    index = popgen.resample_people(np.arange(len(members))[:, None], n, seed)[:, 0]
    out = {REAL: {"dosages": validation[:n], "profiles": inputs["profiles"]["validation"][:n]},
           INDEPENDENT: {"dosages": popgen.independent_sites(members, n, seed), "profiles": None},
           COPY: {"dosages": members[index], "profiles": [inputs["profiles"]["members"][i] for i in index]}}
    return out


# --------------------------------------------------------------------------------------
# The evaluation
# --------------------------------------------------------------------------------------

def ld_edges(positions: Sequence[int], k: int = 20, bins: int = 8) -> np.ndarray:
    """Distance bins for the LD-decay curves with about as many site pairs each: quantiles
    of the distances between each panel site and its next ``k`` (public: the panel's
    positions alone), so that a sparse panel does not leave its short-distance bins with a
    handful of pairs."""
    positions = np.asarray(positions)
    distances = np.concatenate([positions[j:] - positions[:-j] for j in range(1, min(k, len(positions) - 1) + 1)])
    if not len(distances):
        return np.array([0, 1])
    edges = np.unique(np.quantile(distances, np.linspace(0, 1, bins + 1)).round(-2))
    edges[0], edges[-1] = 0, max(edges[-1], distances.max()) + 1
    return edges


@contextlib.contextmanager
def quiet_reader():
    """The VCF reader's repairs of the *panel* (e.g. two records at one position), which
    the data chapter reports, are not repeated for every synthetic cohort on it."""
    logger = logging.getLogger(vcf.__name__)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def per_megabase(d: np.ndarray, positions: Sequence[int], bin_mb: float = 1.0) -> np.ndarray:
    """Variants a person carries per ``bin_mb`` bin of the chromosome, on average (one value
    per bin that holds a panel site, in position order)."""
    bins = (np.asarray(positions) // int(bin_mb * 1_000_000)).astype(int)
    carried = (d > 0).mean(axis=0)
    return np.bincount(np.unique(bins, return_inverse=True)[1], weights=carried)


def cohort_metrics(name: str, d: np.ndarray, profiles: Sequence[Sequence[str]] | None, inputs: Mapping[str, Any],
                   k: int = 20, n_boot: int = 200, seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every metric of :data:`METRICS` for one cohort (dosages ``d`` on the panel, its
    ``profiles`` where it has records) against the real holdout and members: rows
    ``cohort``, ``metric``, ``value``, ``low``, ``high``; and the per-person and per-bin
    numbers the figures draw (``labels``, ``burden``, ``dcr_members``, ``dcr_holdout``,
    ``ld_decay``). What depends on the real people alone is computed once and kept in
    ``inputs`` (:func:`real_summaries`)."""
    holdout, members, positions = inputs["holdout"], inputs["members"], inputs["positions"]
    real = real_summaries(inputs, k)
    details: dict[str, Any] = {}
    table = popgen.utility_table(holdout, members, {name: d}, positions, k=k, n_boot=n_boot, seed=seed,
                                 own=real["own"], details=details)
    rows = table.to_dict("records")

    def add(metric: str, value: float, low: float = float("nan"), high: float = float("nan")) -> None:
        rows.append({"cohort": name, "metric": metric, "value": float(value), "low": float(low), "high": float(high)})

    curve = popgen.ld_decay(d, positions, real["ld_edges"], k)
    add("ld_decay_distance", popgen.curve_distance(real["ld_decay"], curve))
    add("afs_distance", popgen.spectrum_distance(holdout, d))
    to_members = details[name]["dcr_members"]
    add("near_copies", float(np.mean(to_members < inputs["near_copy_distance"])))
    add("hwe_deviation", popgen.hwe_deviation(d))
    add("het_f", float(popgen.heterozygosity(d, popgen.allele_frequencies(holdout))["f"].mean()))
    burden = (d > 0).sum(axis=1)
    add("burden", *popgen.bootstrap(np.mean, [burden.astype(float)], n_boot, seed))
    add("position_mad", float(np.abs(per_megabase(d, positions) - real["per_megabase"]).mean()))
    if inputs["population_classifier"] is not None:
        labels = popgen.infer_populations(inputs["public"], inputs["labels"]["public"], d,
                                          classifier=inputs["population_classifier"])
        # the classifier finds its features in the cohort itself (its top principal
        # components): a cohort without structure gives it nothing that transfers (in the
        # public people's axes, any cloud of people covering them would teach the labeller's
        # own boundaries back)
        add("tstr", *popgen.train_synthetic_test_real(d, labels, holdout, inputs["labels"]["holdout"], n_boot,
                                                      seed))
        groups = pd.Series(labels).value_counts()
        add("fst", popgen.weir_cockerham_fst(d, labels) if (groups >= 2).sum() >= 2 else float("nan"))
        per_population = popgen.population_af_agreement(holdout, inputs["labels"]["holdout"], d, labels)
        values = [v for v in per_population.values() if v == v]
        add("af_r_population", float(np.mean(values)) if values else float("nan"))
    else:  # no labelled public people: nothing to infer a population from
        labels, per_population = np.full(len(d), "unknown", dtype=object), {}
        for metric in ("tstr", "fst", "af_r_population"):
            add(metric, float("nan"))
    if profiles is not None:
        for metric, value in utility.record_metrics(profiles, inputs["member_records"],
                                                    inputs["contig_length"]).items():
            add(metric, value)
        for metric, value in utility.plausibility(profiles, inputs["panel"]).items():
            add(metric, value)
    extras = {"labels": labels, "burden": burden, "dcr_members": to_members,
              "dcr_holdout": details[name]["dcr_holdout"], "ld_decay": curve, "per_population": per_population}
    return pd.DataFrame(rows, columns=["cohort", "metric", "value", "low", "high"]), extras


def real_summaries(inputs: Mapping[str, Any], k: int = 20) -> dict[str, Any]:
    """What every cohort is compared with and depends on the real people alone, computed
    once per ``k`` and kept in ``inputs["real_summaries"]``: the holdout's and members'
    distances to their closest other person (``own``), the LD-decay bins and the holdout's
    curve, the holdout's variants per megabase."""
    cache = inputs.setdefault("real_summaries", {}) if isinstance(inputs, dict) else {}
    if k not in cache:
        holdout, positions = inputs["holdout"], inputs["positions"]
        edges = ld_edges(positions, k)
        cache[k] = {"own": {"holdout": popgen.own_distances(holdout), "members": popgen.own_distances(inputs["members"])},
                    "ld_edges": edges, "ld_decay": popgen.ld_decay(holdout, positions, edges, k),
                    "per_megabase": per_megabase(holdout, positions)}
    return cache[k]


def evaluate(run: str | os.PathLike, seed: int = 0, k: int = 20, n_boot: int = 200,
             cohorts: Sequence[str] | None = None, progress: bool = False) -> dict[str, Any]:
    """Every cohort of :func:`catalogue` (or the named ``cohorts``) and the
    :data:`REFERENCES` through :func:`cohort_metrics`. Returns ``table`` (the tidy table,
    also written to ``metrics/05_utility.csv`` and recorded in the manifest),
    ``catalogue``, ``inputs``, ``dosages`` (cohort -> matrix) and ``extras`` (cohort ->
    figure numbers)."""
    run = Path(run)
    found = artefacts.select_named(catalogue(run), "cohort", cohorts, "cohorts", run / "synthetic")
    inputs = load_inputs(run)
    panel = inputs["panel"]
    todo: dict[str, dict[str, Any]] = {}
    for name in found["cohort"]:
        with quiet_reader():
            cohort = artefacts.read_synthetic(run, name, panel)
        if cohort.n_sites != panel.n_sites or (cohort.sites["pos"].to_numpy() != inputs["positions"]).any():
            raise ValueError(f"{artefacts.synthetic_paths(run, name)['vcf']}: not on the run's panel of "
                             f"{panel.n_sites} sites; rerun the chapter that wrote it")
        todo[name] = {"dosages": popgen.dosages(cohort), "profiles": artefacts.read_synthetic_profiles(run, name)}
    todo.update(reference_cohorts(inputs, seed))
    frames, extras = [], {}
    names = list(todo)
    if progress:
        from tqdm.auto import tqdm
        names = tqdm(names, desc="utility", unit="cohort")
    for name in names:
        frame, extras[name] = cohort_metrics(name, todo[name]["dosages"], todo[name]["profiles"], inputs,
                                             k=k, n_boot=n_boot, seed=seed)
        frames.append(frame)
    table = _describe(pd.concat(frames, ignore_index=True), found)
    path = run / "metrics" / f"{METRICS_NAME}.csv"
    rundir.write_text(path, table.to_csv(index=False))
    rundir.record_artefacts(run, CHAPTER, {"seed": seed, "k": k, "n_boot": n_boot, "cohorts": list(todo),
                                           "utility_version": UTILITY_VERSION}, [path])
    return {"table": table, "catalogue": found, "inputs": inputs,
            "dosages": {name: item["dosages"] for name, item in todo.items()}, "extras": extras}


def _describe(table: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """The tidy table with each cohort's description columns in front."""
    described = found.set_index("cohort")[["model", "family", "tokenizer", "epsilon", "eps", "variant", "decoding"]]
    refs = pd.DataFrame({"model": list(REFERENCES), "family": "reference", "tokenizer": "", "epsilon": np.nan,
                         "eps": "", "variant": "", "decoding": ""}, index=pd.Index(REFERENCES, name="cohort"))
    described = pd.concat([described, refs])
    out = table.join(described, on="cohort")
    out.insert(1, "kind", np.where(out["cohort"].isin(REFERENCES), "reference", "synthetic"))
    out["group"] = out["metric"].map(lambda m: METRICS[m][0])
    columns = ["cohort", "kind", "model", "family", "tokenizer", "variant", "epsilon", "eps", "decoding", "group",
               "metric", "value", "low", "high"]
    return out[columns]


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
    """How a cohort is named in the chapter's tables: ``minGPT ε=8``, ``GPT-2 ε=∞ (clip only)``,
    ``minGPT/bpe ε=∞``, ``… unconstrained``; references by their name."""
    if row["kind"] == "reference":
        return str(row["cohort"])
    family = {"mingpt": "minGPT", "gpt2": "GPT-2"}.get(row["family"], row["family"])
    tokenizer = "" if row["tokenizer"] == artefacts.main_tokenizer(row["family"]) else f"/{row['tokenizer']}"
    variant = {"cliponly": " (clip only)", "dptransformers": " (dp-transformers)"}.get(row["variant"], "")
    eps = "∞" if row["variant"] == "cliponly" else row["eps"]
    suffix = ", unconstrained" if row["decoding"] == "unconstrained" else ""
    return f"{family}{tokenizer} ε={eps}{variant}{suffix}"


#: The utility table's text columns (the rest are numbers).
TEXT_COLUMNS = ("cohort", "kind", "model", "family", "tokenizer", "variant", "eps", "decoding", "group", "metric")


def read_table(run: str | os.PathLike) -> pd.DataFrame:
    """``metrics/05_utility.csv`` as :func:`evaluate` returned it (for later chapters)."""
    return artefacts.read_metrics(run, METRICS_NAME, "utility (05)", TEXT_COLUMNS)


def wide_table(table: pd.DataFrame, metrics: Sequence[str] = HEADLINE, decoding: str | None = "constrained",
               digits: int = 3) -> pd.DataFrame:
    """Formatted: one row per cohort (references last), one column per metric, value and
    interval as text. ``decoding`` keeps the synthetic cohorts of one decoding (None: all)."""
    data = table[table["metric"].isin(metrics)].fillna({"variant": "", "tokenizer": "", "decoding": ""})
    if decoding is not None:
        data = data[(data["kind"] == "reference") | (data["decoding"] == decoding)]
    data = data.assign(label=data.apply(cohort_label, axis=1),
                       text=[show(m, (v, lo, hi), digits) for m, v, lo, hi in
                             zip(data["metric"], data["value"], data["low"], data["high"])])
    order = list(dict.fromkeys(data.sort_values(["kind", "family", "tokenizer", "variant", "epsilon"],
                                                ascending=[False, True, True, True, False])["label"]))
    wide = data.pivot(index="label", columns="metric", values="text").reindex(order)
    wide = wide[[m for m in metrics if m in wide.columns]]
    wide.index.name = "cohort"
    return wide


def metric_glossary(metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """What each metric measures and what is best (for the chapter's tables)."""
    best = {"high": "higher", "low": "lower", "0.5": "0.5", "real": "as the real people", "0": "0"}
    names = metrics or list(METRICS)
    return pd.DataFrame({"metric": names, "group": [METRICS[m][0] for m in names],
                         "what it measures": [METRICS[m][1] for m in names],
                         "best": [best[METRICS[m][2]] for m in names]}).set_index("metric")


def value(table: pd.DataFrame, cohort: str, metric: str) -> tuple[float, float, float]:
    """``(value, low, high)`` of one cohort's metric."""
    row = table[(table["cohort"] == cohort) & (table["metric"] == metric)]
    if row.empty:
        raise KeyError(f"no {metric!r} for cohort {cohort!r}")
    r = row.iloc[0]
    return float(r["value"]), float(r["low"]), float(r["high"])


def epsilon_frame(table: pd.DataFrame, metrics: Sequence[str] = HEADLINE) -> pd.DataFrame:
    """The main constrained cohorts (:func:`is_main`) and the clip-only runs of each family,
    with the references: ``family``, ``eps`` (label), ``metric``, ``value``, ``low``,
    ``high``, ``kind`` (for the utility-against-ε chart)."""
    data = table[table["metric"].isin(metrics)]
    synthetic = data[(data["kind"] == "synthetic") & (data["decoding"] == "constrained")
                     & (data["tokenizer"] == data["family"].map(artefacts.MAIN_TOKENIZERS))
                     & data["variant"].isin(["", "cliponly"])]
    synthetic = synthetic.assign(family=synthetic["family"].map(FAMILY_LABELS))
    refs = data[data["kind"] == "reference"].assign(eps="", family=data["cohort"])
    return pd.concat([synthetic, refs])[["cohort", "kind", "family", "eps", "metric", "value", "low", "high"]]


def bcftools_table(run: str | os.PathLike, cohorts: Sequence[str]) -> pd.DataFrame:
    """``bcftools stats`` (pysam's bcftools, :func:`lib.stats.bcftools_stats`) of each
    named synthetic VCF beside the real holdout's (written to a temporary VCF): the headline
    statistics that depend on the genotypes (AF spectrum, singletons, mean ALT frequency)
    and, from the per-sample section, heterozygous and homozygous-ALT sites per person."""
    run = Path(run)
    with quiet_reader():
        real = artefacts.load_cohort(run)
    holdout = artefacts.split_cohort(real, artefacts.load_splits(run)["holdout"])
    keys = ["singleton fraction", "mean ALT allele frequency", "AF < 1%", "AF 1-5%", "AF >= 5%"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "holdout.vcf.gz"
        vcf.write_vcf(holdout, path, source="lib.ch05_utility (the real holdout)")
        sources = {"real holdout": path, **{c: artefacts.synthetic_paths(run, c)["vcf"] for c in cohorts}}
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

FAMILY_LABELS = {"mingpt": "minGPT", "gpt2": "GPT-2"}


def labels(table: pd.DataFrame) -> dict[str, str]:
    """cohort name -> :func:`cohort_label`."""
    first = table.drop_duplicates("cohort")
    return dict(zip(first["cohort"], first.apply(cohort_label, axis=1)))


def main_cohorts(table: pd.DataFrame) -> pd.DataFrame:
    """One row per main constrained cohort (:func:`is_main`) and per clip-only constrained
    cohort: ``cohort``, ``family``, ``eps``, ``epsilon``; most private first within a family."""
    first = table[table["kind"] == "synthetic"].drop_duplicates("cohort")
    keep = first[(first["decoding"] == "constrained") & first["variant"].isin(["", "cliponly"])
                 & (first["tokenizer"] == first["family"].map(artefacts.MAIN_TOKENIZERS))]
    order = {label: i for i, label in enumerate(charts._epsilon_order(keep["eps"]))}
    return keep.assign(rank=keep["eps"].map(order)).sort_values(["family", "rank"])[
        ["cohort", "family", "eps", "epsilon"]].reset_index(drop=True)


def panel_cohorts(table: pd.DataFrame, epsilons: Sequence[str] | None = None) -> list[str]:
    """The cohorts the per-cohort panels show: for each family its ε = ∞ cohort and its
    most private one (or the ``epsilons`` labels given), then the real and
    independent-sites references."""
    main = main_cohorts(table)
    main = main[main["eps"] != charts.CLIP_ONLY_LABEL]
    chosen = []
    for family, rows in main.groupby("family", sort=False):
        wanted = epsilons or list(dict.fromkeys([rows["eps"].iloc[-1], rows["eps"].iloc[0]]))
        chosen += [c for eps in wanted for c in rows[rows["eps"] == eps]["cohort"]]
    return chosen + [REAL, INDEPENDENT]


def _series(table: pd.DataFrame) -> pd.DataFrame:
    """Per cohort of the ε-grid figures: ``cohort``, ``family`` (panel), ``eps`` (colour;
    the reference's name for a reference, which every family panel repeats)."""
    main = main_cohorts(table)[["cohort", "family", "eps"]]
    main["family"] = main["family"].map(FAMILY_LABELS)
    refs = [{"cohort": ref, "family": FAMILY_LABELS[f], "eps": ref} for f in main_cohorts(table)["family"].unique()
            for ref in (REAL, INDEPENDENT)]
    return pd.concat([main, pd.DataFrame(refs)], ignore_index=True)


def ld_decay_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Mean r² by distance bin for the main cohorts and the references, and the real
    holdout's curve in every panel: ``family``, ``eps``, ``distance_kb`` (bin middle),
    ``mean_r2``, ``pairs``."""
    series = _series(result["table"])
    positions = result["inputs"]["positions"]
    holdout = popgen.ld_decay(result["inputs"]["holdout"], positions, ld_edges(positions))
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
        rows.append(pd.DataFrame({"family": row.family, "eps": row.eps, "mb": starts,
                                  "per_person": per_megabase(result["dosages"][row.cohort], positions, bin_mb)}))
    for family in series["family"].unique():
        rows.append(pd.DataFrame({"family": family, "eps": "real holdout", "mb": starts,
                                  "per_person": per_megabase(result["inputs"]["holdout"], positions, bin_mb)}))
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
    burdens.update({names[c]: ("reference" if c in REFERENCES else "synthetic", result["extras"][c]["burden"])
                    for c in keep})
    for label, (kind, burden) in burdens.items():
        q = np.quantile(burden, [0.05, 0.25, 0.5, 0.75, 0.95])
        rows.append({"cohort": label, "kind": kind, "q05": q[0], "q25": q[1], "median": q[2], "q75": q[3],
                     "q95": q[4], "mean": float(np.mean(burden))})
    return pd.DataFrame(rows)


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
                                ("synthetic" if cohort not in REFERENCES else "reference", scores,
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


def af_frame(result: Mapping[str, Any], cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`lib.utility.af_frame`-shaped rows (``model``, ``site``, ``real_af``,
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


def _overlap(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    return not (a[2] < b[1] or b[2] < a[1])


def _interval(v: tuple[float, float, float], digits: int = 3) -> str:
    return _fmt(*v, digits=digits)


def dp_effect(table: pd.DataFrame, metric: str = "af_r") -> pd.DataFrame:
    """For each family and private ε, ``metric`` against the same family's ε = ∞ cohort
    (main constrained cohorts): ``better``, ``worse`` or ``indistinguishable`` (95%
    intervals overlap), by :data:`METRICS`' sense of better."""
    main = main_cohorts(table)
    sense = METRICS[metric][2]
    rows = []
    for family, group in main.groupby("family"):
        reference = group[group["eps"] == "∞"]
        if reference.empty:
            continue
        base = value(table, reference["cohort"].iloc[0], metric)
        for row in group[~group["eps"].isin(["∞", charts.CLIP_ONLY_LABEL])].itertuples():
            v = value(table, row.cohort, metric)
            if _overlap(v, base) or v[1] != v[1]:
                verdict = "indistinguishable"
            elif sense == "0.5":
                verdict = "better" if abs(v[0] - 0.5) < abs(base[0] - 0.5) else "worse"
            else:
                verdict = "better" if (v[0] > base[0]) == (sense == "high") else "worse"
            rows.append({"family": FAMILY_LABELS[family], "eps": row.eps, "metric": metric, "value": v[0],
                         "low": v[1], "high": v[2], "non_private": base[0], "verdict": verdict})
    return pd.DataFrame(rows)


def family_sizes(settings: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Each family's (layers, width) in the profile (a ``<family>_n_*`` key over ``model_n_*``):
    what the dissertation's size claims are tested on."""
    return {family: (int(settings.get(f"{family}_n_layer", settings.get("model_n_layer"))),
                     int(settings.get(f"{family}_n_embd", settings.get("model_n_embd")))) for family in FAMILY_LABELS}


#: Verdicts a claim can get, from its numbers (never typed into the prose).
VERDICTS = ("holds", "holds in part", "does not hold", "cannot be told at this scale", "cannot be tested here",
            "cannot be told")


def claim_sentence(verdict: str, evidence: str) -> str:
    """A claim's verdict and evidence as the chapters' sentence: "it holds here: ..."."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r}: choose one of {VERDICTS}")
    return f"it {verdict}: {evidence}" if verdict.startswith("cannot") else f"it {verdict} here: {evidence}"


def claim_records(result: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The dissertation's utility findings, each set against this run's numbers: key ->
    ``claim`` (the dissertation's), ``verdict`` (one of :data:`VERDICTS`, computed) and
    ``evidence`` (the numbers behind it). ``dp_claim`` (DP improving utility: the
    dissertation's "DP regularises"), ``identical_claim`` (large models writing
    near-identical samples), ``size_claim`` (small models more diverse but worse
    positions), ``memorisation_claim`` (record-level memorisation)."""
    table = result["table"]
    out = {}
    effects = pd.concat([dp_effect(table, m) for m in ("af_r", "c2st_auc", "tstr")], ignore_index=True)
    counts = effects["verdict"].value_counts() if len(effects) else pd.Series(dtype=int)
    better, worse, same = (int(counts.get(k, 0)) for k in ("better", "worse", "indistinguishable"))
    claim = "Differential privacy improves utility (it regularises)"
    if not len(effects):
        out["dp_claim"] = dict(claim=claim, verdict="cannot be told",
                               evidence="the run has no private cohort beside a non-private one")
    else:
        out["dp_claim"] = dict(
            claim=claim, verdict=("holds" if better > worse and worse == 0 else "does not hold" if worse > better
                                  else "cannot be told at this scale"),
            evidence=(f"of {len(effects)} comparisons of a private cohort with its family's non-private one "
                      f"(allele-frequency r, two-sample AUC and TSTR at every private ε, 95% intervals), {better} are "
                      f"better, {worse} worse and {same} indistinguishable"))
    main = main_cohorts(table)
    non_private = main[main["eps"] == "∞"]["cohort"].tolist()
    real_within = value(table, REAL, "within_distance")[0]
    ratios = {FAMILY_LABELS[c.split("-")[0]]: value(table, c, "within_distance")[0] / real_within for c in non_private}
    unique = {FAMILY_LABELS[c.split("-")[0]]: value(table, c, "unique_people")[0] for c in non_private}
    near_identical = [f for f, r in ratios.items() if r < 0.5 or unique[f] < 0.9]
    claim = "Large models write near-identical samples"
    if not ratios:
        out["identical_claim"] = dict(claim=claim, verdict="cannot be told", evidence="the run has no non-private cohort")
    else:
        out["identical_claim"] = dict(
            claim=claim, verdict=("does not hold" if not near_identical else "holds" if len(near_identical) == len(ratios)
                                  else "holds in part"),
            evidence="; ".join(f"{f}'s people are {ratios[f]:.0%} as far apart as real people ({unique[f]:.0%} distinct)"
                               for f in ratios))
    sizes = family_sizes(settings)
    by_family = {c.split("-")[0]: c for c in non_private}
    claim = "Small models write more diverse people but put variants at worse positions"
    if len(set(sizes.values())) == 1:
        out["size_claim"] = dict(claim=claim, verdict="cannot be tested here", evidence=(
            f"both families are built the same size ({sizes['mingpt'][0]} layers, {sizes['mingpt'][1]} wide), so that "
            "neither the comparison of families nor that of ε is confounded by size (the dissertation changed the "
            "size along with ε)"))
    elif len(by_family) < 2:
        out["size_claim"] = dict(claim=claim, verdict="cannot be told",
                                 evidence="the run lacks a non-private cohort of each family")
    else:
        small, large = sorted(by_family, key=lambda f: sizes[f][0] * sizes[f][1])
        diverse = value(table, by_family[small], "within_distance")[0] > value(table, by_family[large], "within_distance")[0]
        worse_positions = value(table, by_family[small], "position_mad")[0] > value(table, by_family[large],
                                                                                     "position_mad")[0]
        out["size_claim"] = dict(
            claim=claim, verdict=("holds" if diverse and worse_positions else
                                  "does not hold" if not diverse and not worse_positions else "holds in part"),
            evidence=(f"the smaller {FAMILY_LABELS[small]} ({sizes[small][0]} layers, {sizes[small][1]} wide) writes "
                      f"people {'more' if diverse else 'less'} spread out than the larger {FAMILY_LABELS[large]} "
                      f"({sizes[large][0]} x {sizes[large][1]}), and places their variants "
                      f"{'worse' if worse_positions else 'no worse'} along the chromosome (within-cohort distance and "
                      "position_mad, non-private cohorts)"))
    real_memorised = value(table, REAL, "memorised")[0]
    model_memorised = {FAMILY_LABELS[c.split("-")[0]]: value(table, c, "memorised")[0] for c in non_private}
    claim = "The models memorise records of their members"
    if not model_memorised:
        out["memorisation_claim"] = dict(claim=claim, verdict="cannot be told",
                                         evidence="the run has no non-private cohort")
    else:
        out["memorisation_claim"] = dict(claim=claim, verdict="cannot be told", evidence=(
            "records of real people the models never saw are 'memorised' at "
            f"{real_memorised:.1%} by the dissertation's definition, against "
            + " and ".join(f"{v:.1%} for {f}" for f, v in model_memorised.items())
            + ": on a fixed panel nearly every record (a site and a genotype) a person can carry is carried by some "
              "member, so record-level memorisation cannot tell copying from resemblance; the distance and kinship "
              "metrics compare whole people"))
    return out


def claims(result: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, str]:
    """:func:`claim_records` as the chapter's sentences (key -> "it holds here: ...")."""
    return {key: claim_sentence(r["verdict"], r["evidence"]) for key, r in claim_records(result, settings).items()}


def _lookup(table: pd.DataFrame, cohort: str | None, metric: str) -> str:
    if cohort is None:
        return "–"
    try:
        return show(metric, value(table, cohort, metric))
    except KeyError:
        return "–"


PROSE_REFERENCE_METRICS = ("af_r", "ld_decay_distance", "c2st_auc", "aats", "tstr", "fst", "hwe_deviation",
                           "kin_first", "kin_duplicate", "exact_copies", "dcr_members", "dcr_holdout",
                           "within_distance")
PROSE_NON_PRIVATE_METRICS = ("af_r", "ld_decay_distance", "c2st_auc", "aats", "tstr", "fst", "hwe_deviation",
                             "kin_first", "exact_copies", "dcr_members", "dcr_holdout", "aats_privacy_loss")
PROSE_PRIVATE_METRICS = ("af_r", "c2st_auc", "aats", "tstr", "fst", "hwe_deviation", "burden")


def numbers(result: Mapping[str, Any], settings: Mapping[str, Any], seconds: float,
            structure: Mapping[str, tuple]) -> dict[str, str]:
    """Every number the chapter's prose cites, formatted (glued by the notebook). Every
    key is always present: a cohort the run lacks (a family without private models, a
    restricted ``cohorts`` list) reads "–"."""
    table, found = result["table"], result["catalogue"]
    inputs = result["inputs"]
    main = main_cohorts(table)
    out = {"n_synthetic": f"{len(found):,}", "n_cohorts": f"{len(found) + len(REFERENCES):,}",
           "n_holdout": f"{len(inputs['holdout']):,}", "n_members": f"{len(inputs['members']):,}",
           "n_public": f"{len(inputs['public']):,}", "n_sites": f"{inputs['holdout'].shape[1]:,}",
           "members_ratio": f"{len(inputs['members']) / len(inputs['holdout']):.1f}",
           "utility_seconds": f"{seconds:.0f}", "trtr": _interval(structure["trtr"]),
           "labeller": _interval(structure["labeller"])}
    for name, cohort in (("real", REAL), ("independent", INDEPENDENT), ("copy", COPY)):
        for metric in PROSE_REFERENCE_METRICS:
            out[f"{name}_{metric}"] = _lookup(table, cohort, metric)
    for family in ("gpt2", "mingpt"):
        rows = main[(main["family"] == family) & (main["eps"] != charts.CLIP_ONLY_LABEL)]
        non_private = rows[rows["eps"] == "∞"]["cohort"].tolist()
        private = rows[rows["eps"] != "∞"]
        lowest = private["cohort"].iloc[0] if len(private) else None  # most private first
        for metric in PROSE_NON_PRIVATE_METRICS:
            out[f"{family}_inf_{metric}"] = _lookup(table, non_private[0] if non_private else None, metric)
        out[f"{family}_low_eps"] = private["eps"].iloc[0] if len(private) else "–"
        for metric in PROSE_PRIVATE_METRICS:
            out[f"{family}_low_{metric}"] = _lookup(table, lowest, metric)
    out["holdout_fst"] = f"{popgen.weir_cockerham_fst(inputs['holdout'], inputs['labels']['holdout']):.3f}"
    out["holdout_burden"] = f"{np.mean((inputs['holdout'] > 0).sum(axis=1)):.1f}"
    out["holdout_het"] = f"{np.mean((inputs['holdout'] == 1).sum(axis=1)):.0f}"
    return out
