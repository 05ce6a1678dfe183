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

from typing import Mapping

import numpy as np
import pandas as pd

from . import popgen, profiletext
from .cohort import Cohort


def variants_per_sample(cohort: Cohort) -> np.ndarray:
    """Per sample: the sites where it carries an ALT allele (or a missing call), i.e. the
    length of its sparse profile."""
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
        per = variants_per_sample(cohort)
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
