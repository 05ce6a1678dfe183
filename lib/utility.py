"""Utility of a synthetic cohort: how close it comes to real people.

This module starts with the *first look* the models chapters take at every synthetic
cohort -- how many variants a synthetic person carries and how each site's ALT allele
frequency agrees with the real members' and the real holdout's -- and is where the utility
chapter's metrics join it. Every function is a pure function of cohorts on the same
panel of sites (genotype arrays plus the site table), returning numbers or a tidy frame.

The holdout split is what a synthetic cohort should resemble without copying: the model
never saw it. Agreement with the training members alone says little (a model that copies
its members agrees perfectly); the privacy chapter asks whether it copies them.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import generation, popgen, profiletext, stats
from .cohort import Cohort


def profile_lengths(cohort: Cohort) -> np.ndarray:
    """Per sample: the sites where it carries an ALT allele (or a missing call), i.e. the
    length of its sparse profile (:func:`lib.stats.variants_per_sample` counts the ALT
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


#: The plausibility checks the dissertation lacked, from :func:`lib.generation.validate_profile`'s
#: faults: each a share of all records (0 is best).
PLAUSIBILITY = {"off_panel": "no panel site at that position", "wrong_ref": "REF/ALT differ from the panel's",
                "bad_genotype": "an allele the site lacks", "repeated_site": "a site twice in one person",
                "unsorted": "records out of position order"}


def plausibility(profiles: Sequence[Sequence[str]], panel: Cohort) -> dict[str, float]:
    """Shares of records failing each check of :data:`PLAUSIBILITY` (against the public
    panel), computed by :func:`lib.generation.validity_summary`."""
    v = generation.validity_summary(profiles, panel)
    n = max(v["records"], 1)
    return {"off_panel": v["off_panel"] / n, "wrong_ref": v["wrong_alleles"] / n,
            "bad_genotype": v["bad_genotype"] / n, "repeated_site": v["duplicate"] / n,
            "unsorted": v["out_of_order"] / n}
