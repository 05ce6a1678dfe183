"""Utility of a synthetic cohort: how close it comes to real people.

This module starts with the *first look* the models chapters take at every synthetic
cohort -- how many variants a synthetic person carries and how each site's ALT allele
frequency agrees with the real members' and the real holdout's -- and holds the utility
chapter's whole suite: :data:`METRICS` (every metric, what it measures and what is best)
and :func:`cohort_metrics` (all of them for one cohort: the population-genetic comparisons
of :func:`lib.genetics.popgen.cohort_comparison`, the further metrics computed here, and the
dissertation's record-level metrics, :func:`record_metrics`). Every function is a pure function of cohorts on the same
panel of sites (genotype arrays plus the site table), returning numbers or a tidy frame.

The holdout split is what a synthetic cohort should resemble without copying: the model
never saw it. Agreement with the training members alone says little (a model that copies
its members agrees perfectly); the privacy chapter asks whether it copies them.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..core import scoring
from ..genomes import profiletext
from ..genomes.cohort import Cohort
from ..genetics import popgen, stats
from ..lm import generation


def profile_lengths(cohort: Cohort) -> np.ndarray:
    """Per sample: the sites where it carries an ALT allele (or a missing call), i.e. the
    length of its sparse profile (:func:`lib.genetics.stats.variants_per_sample` counts the ALT
    sites alone, with the genotype classes)."""
    return (cohort.genotypes != 0).any(axis=2).sum(axis=0)


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
        per = profile_lengths(cohort)
        af = cohort.alt_frequency()
        r_train, d_train = popgen.frequency_agreement(af, af_train)
        r_holdout, d_holdout = popgen.frequency_agreement(af, af_holdout)
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
    keys = profiletext.site_keys(reference)
    frames = [pd.DataFrame({"model": label, "site": keys, "real_af": real, "synthetic_af": c.alt_frequency(),
                            "reference": reference_label}) for label, c in synthetic.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["model", "site", "real_af", "synthetic_af", "reference"])


# --------------------------------------------------------------------------------------
# The dissertation's record-level metrics
# --------------------------------------------------------------------------------------

#: What :func:`record_metrics` returns, in order, with what each share is a share of.
RECORD_METRICS = {
    "validity": "records matching the record pattern (of all records)",
    "quality": "well-formed records at a position inside the chromosome (0 < POS <= its length)",
    "memorised": "well-formed records (site and genotype) found among the members' records",
    "novel": "well-formed records found in no member's records",
    "record_uniqueness": "per person, records no other person of the cohort carries (mean over people)",
    "deletion": "well-formed records whose ALT allele carried is a deletion",
    "insertion": "... an insertion",
    "substitution": "... an SNV or MNP",
    "multi_allelic": "well-formed records at a multi-allelic site",
    "record_het": "well-formed records heterozygous",
    "record_hom_alt": "well-formed records homozygous ALT",
}


def carried_type(ref: str, alts: tuple[str, ...], gt: str) -> str:
    """The class of the ALT allele a record carries (the highest-numbered one of its
    genotype): ``deletion``, ``insertion``, ``substitution`` (SNV or MNP) or ``other``."""
    alleles = [int(a) for a in gt.replace("|", "/").split("/") if a.isdigit() and int(a) > 0]
    if not alleles or max(alleles) > len(alts):
        return "other"
    kind = stats.classify_allele(ref, alts[max(alleles) - 1])[0]
    return {"snv": "substitution", "mnp": "substitution"}.get(kind, kind if kind in ("deletion", "insertion")
                                                                 else "other")


def record_uniqueness(profiles: Sequence[Sequence[str]]) -> float:
    """The dissertation's uniqueness: for each person, the share of their records that no
    other person of the cohort carries, averaged over the people who carry a record."""
    from collections import Counter

    carriers = Counter(record for profile in profiles for record in set(profile))
    shares = [np.mean([carriers[r] == 1 for r in set(p)]) for p in profiles if len(p)]
    return float(np.mean(shares)) if shares else float("nan")


def record_metrics(profiles: Sequence[Sequence[str]], member_records: set[str] | frozenset[str],
                   contig_length: int) -> dict[str, float]:
    """The dissertation's utility metrics of a cohort's profiles (:data:`RECORD_METRICS`),
    computed as it defined them but on every record: validity (the record pattern),
    "quality" (position within ``contig_length``, the chromosome of the cohort's assembly:
    the dissertation used a wrong length), memorisation and novelty against the
    ``member_records`` (every ``22:POS:REF>ALT_GT`` record of a member), uniqueness within
    the cohort, the variant-type mix and the genotype mix of the records. Shares in [0, 1];
    NaN where there is no well-formed record."""
    records = [record for profile in profiles for record in profile]
    parsed = [m for m in (profiletext.RECORD.match(r) for r in records) if m is not None]
    out = dict.fromkeys(RECORD_METRICS, float("nan"))
    out["validity"] = len(parsed) / len(records) if records else float("nan")
    out["record_uniqueness"] = record_uniqueness(profiles)
    if not parsed:
        return out
    n = len(parsed)
    positions = np.array([int(m["pos"]) for m in parsed])
    out["quality"] = float(np.mean((positions > 0) & (positions <= contig_length)))
    memorised = sum(m.group(0) in member_records for m in parsed)
    out["memorised"], out["novel"] = memorised / n, 1 - memorised / n
    kinds = [carried_type(m["ref"], tuple(m["alts"].split(",")), f"{m['a']}/{m['b']}") for m in parsed]
    for kind in ("deletion", "insertion", "substitution"):
        out[kind] = kinds.count(kind) / n
    out["multi_allelic"] = float(np.mean(["," in m["alts"] for m in parsed]))
    genotypes = [(m["a"], m["b"]) for m in parsed]
    out["record_het"] = float(np.mean([a != b for a, b in genotypes]))
    out["record_hom_alt"] = float(np.mean([a == b and a not in ("0", ".") for a, b in genotypes]))
    return out


#: The plausibility checks the dissertation lacked, from :func:`lib.lm.generation.validate_profile`'s
#: faults: each a share of all records (0 is best).
PLAUSIBILITY = {"off_panel": "no panel site at that position", "wrong_ref": "REF/ALT differ from the panel's",
                "bad_genotype": "an allele the site lacks", "repeated_site": "a site twice in one person",
                "unsorted": "records out of position order"}


def plausibility(profiles: Sequence[Sequence[str]], panel: Cohort) -> dict[str, float]:
    """Shares of records failing each check of :data:`PLAUSIBILITY` (against the public
    panel), computed by :func:`lib.lm.generation.validity_summary`."""
    v = generation.validity_summary(profiles, panel)
    n = max(v["records"], 1)
    return {"off_panel": v["off_panel"] / n, "wrong_ref": v["wrong_alleles"] / n,
            "bad_genotype": v["bad_genotype"] / n, "repeated_site": v["duplicate"] / n,
            "unsorted": v["out_of_order"] / n}


# --------------------------------------------------------------------------------------
# The utility suite: every metric of the utility chapter for one cohort
# --------------------------------------------------------------------------------------

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
    "c2st_auc": ("structure", "classifier two-sample test, linear (logistic regression on dosages): AUC telling the "
                              "cohort from the holdout; it sees allele frequencies and little else", "0.5"),
    "c2st_trees_auc": ("structure", "classifier two-sample test, non-linear (gradient-boosted trees on dosages and the "
                                    "public people's principal components): it sees linkage and structure too", "0.5"),
    "c2st_classes_auc": ("genotypes", "classifier two-sample test on four numbers per person only (het and hom-ALT "
                                      "genotypes at rare and at common sites): how much of the linear test they explain",
                         "0.5"),
    "rare_het": ("genotypes", "heterozygous genotypes per person at sites rare among the holdout people (ALT frequency "
                              "below 5%), mean", "real"),
    "rare_hom_alt": ("genotypes", "homozygous-ALT genotypes per person at sites rare among the holdout people, mean",
                     "real"),
    "aats": ("distances", "nearest-neighbour adversarial accuracy against the holdout (ideal 0.5; read against the "
                          "real people's)", "real"),
    "aats_balance": ("distances", "how far AATS's halves are from 0.5 each: (|AA_T - 0.5| + |AA_S - 0.5|) / 2 "
                                  "(0 best; AATS itself reads two failures, AA_T = 1 and AA_S = 0, as ideal)", "0"),
    "aa_t": ("distances", "AATS's real half: share of holdout people whose closest synthetic person is farther than "
                          "their closest real one (0.5 best; 1 with 0 for the synthetic half also averages to 0.5)",
             "0.5"),
    "aa_s": ("distances", "AATS's synthetic half: share of synthetic people whose closest holdout person is farther "
                          "than their closest synthetic one (0.5 best; near 0, every synthetic person sits nearer a real "
                          "one than any of their own kind)", "0.5"),
    "aats_privacy_loss": ("distances", "AATS against the holdout minus AATS against as many members (read against "
                                       "the real people's, not 0)", "real"),
    "dcr_members": ("distances", "median distance to the closest member (alleles)", "real"),
    "dcr_holdout": ("distances", "median distance to the closest holdout person (alleles)", "real"),
    "within_distance": ("distances", "median distance between two people of the cohort", "real"),
    "exact_copies": ("distances", "share of people identical to a member", "0"),
    "near_copies": ("distances", "share of people closer to a member than 95% of real holdout people are", "real"),
    "unique_people": ("distances", "share of distinct people in the cohort", "high"),
    "kin_duplicate": ("kinship", "share with a member as duplicate (KING between-family > 0.354)", "real"),
    "kin_first": ("kinship", "share with a member as first-degree relative (KING between-family)", "real"),
    "kin_second": ("kinship", "share with a member as second-degree relative (KING between-family)", "real"),
    **{name: ("records (dissertation)", text, "real") for name, text in RECORD_METRICS.items()},
    **{name: ("plausibility", text, "0") for name, text in PLAUSIBILITY.items()},
}


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


def per_megabase(d: np.ndarray, positions: Sequence[int], bin_mb: float = 1.0) -> np.ndarray:
    """Variants a person carries per ``bin_mb`` bin of the chromosome, on average (one value
    per bin that holds a panel site, in position order)."""
    bins = (np.asarray(positions) // int(bin_mb * 1_000_000)).astype(int)
    carried = (d > 0).mean(axis=0)
    return np.bincount(np.unique(bins, return_inverse=True)[1], weights=carried)


def real_summaries(inputs: Mapping[str, Any], k: int = 20, seed: int = 0) -> dict[str, Any]:
    """What every cohort is compared with and depends on the real people alone, computed
    once per ``k`` and ``seed`` and kept in ``inputs["real_summaries"]``: the holdout's and
    members' distances to their closest other person (``own``; for the AATS privacy loss
    also within the equal-sized subsets :func:`lib.genetics.popgen.equal_size_subsets` draws from
    ``seed``, as :func:`lib.genetics.popgen.cohort_comparison` does), the LD-decay bins and the holdout's
    curve, the holdout's variants per megabase and allele frequencies (``af``: what makes a
    site rare for :func:`lib.genetics.popgen.genotype_classes`)."""
    cache = inputs.setdefault("real_summaries", {}) if isinstance(inputs, dict) else {}
    if (k, seed) not in cache:
        holdout, positions = inputs["holdout"], inputs["positions"]
        edges = ld_edges(positions, k)
        members = inputs["members"]
        member_rows, holdout_rows = popgen.equal_size_subsets(len(members), len(holdout), seed)
        cache[(k, seed)] = {"own": {"holdout": popgen.own_distances(holdout), "members": popgen.own_distances(members),
                            "members_equal": popgen.own_distances(members[member_rows]),
                            "holdout_equal": popgen.own_distances(holdout[holdout_rows])},
                    "ld_edges": edges, "ld_decay": popgen.ld_decay(holdout, positions, edges, k),
                    "af": popgen.allele_frequencies(holdout),
                    "per_megabase": per_megabase(holdout, positions)}
    return cache[(k, seed)]


def cohort_metrics(name: str, d: np.ndarray, profiles: Sequence[Sequence[str]] | None, inputs: Mapping[str, Any],
                   k: int = 20, n_boot: int = 200, seed: int = 0,
                   trees: bool = True) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every metric of :data:`METRICS` for one cohort (dosages ``d`` on the panel, its
    ``profiles`` where it has records) against the real holdout and members: rows
    ``cohort``, ``metric``, ``value``, ``low``, ``high`` (``trees``: with the non-linear
    two-sample test, the slowest metric); and the per-person and per-bin
    numbers the figures draw (``labels``, ``burden``, ``dcr_members``, ``dcr_holdout``,
    ``ld_decay``). What depends on the real people alone is computed once and kept in
    ``inputs`` (:func:`real_summaries`)."""
    holdout, members, positions = inputs["holdout"], inputs["members"], inputs["positions"]
    real = real_summaries(inputs, k, seed)
    details: dict[str, Any] = {}
    table = popgen.cohort_comparison(holdout, members, {name: d}, positions, k=k, n_boot=n_boot, seed=seed,
                                 own=real["own"], details=details)
    rows = table.to_dict("records")

    def add(metric: str, value: float, low: float = float("nan"), high: float = float("nan")) -> None:
        rows.append({"cohort": name, "metric": metric, "value": float(value), "low": float(low), "high": float(high)})

    curve = popgen.ld_decay(d, positions, real["ld_edges"], k)
    add("ld_decay_distance", popgen.curve_distance(real["ld_decay"], curve))
    if trees:  # the non-linear two-sample test (left out for the unconstrained cohorts: their records table judges them)
        add("c2st_trees_auc", *popgen.classifier_two_sample(holdout, d, seed=seed, n_boot=n_boot, kind="boosting",
                                                            axes=inputs["public_axes"]))
    add("afs_distance", popgen.spectrum_distance(holdout, d))
    to_members = details[name]["dcr_members"]
    add("near_copies", *scoring.bootstrap(np.mean, [(to_members < inputs["near_copy_distance"]).astype(float)],
                                         n_boot, seed))
    add("hwe_deviation", popgen.hwe_deviation(d))
    add("het_f", float(popgen.heterozygosity(d, popgen.allele_frequencies(holdout))["f"].mean()))
    burden = (d > 0).sum(axis=1)
    add("burden", *scoring.bootstrap(np.mean, [burden.astype(float)], n_boot, seed))
    classes = popgen.genotype_classes(d, real["af"])
    add("rare_het", *scoring.bootstrap(np.mean, [classes[:, 0].astype(float)], n_boot, seed))
    add("rare_hom_alt", *scoring.bootstrap(np.mean, [classes[:, 1].astype(float)], n_boot, seed))
    add("c2st_classes_auc", *popgen.class_two_sample(holdout, d, real["af"], seed=seed, n_boot=n_boot))
    halves = popgen.adversarial_accuracy(holdout, d)
    add("aa_t", halves["AA_T"])
    add("aa_s", halves["AA_S"])
    add("aats_balance", *popgen.aats_balance_interval(holdout, d, n_boot, seed))
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
        for metric, value in record_metrics(profiles, inputs["member_records"],
                                                    inputs["contig_length"]).items():
            add(metric, value)
        for metric, value in plausibility(profiles, inputs["panel"]).items():
            add(metric, value)
    extras = {"labels": labels, "burden": burden, "classes": classes, "dcr_members": to_members,
              "dcr_holdout": details[name]["dcr_holdout"], "ld_decay": curve, "per_population": per_population}
    return pd.DataFrame(rows, columns=["cohort", "metric", "value", "low", "high"]), extras
