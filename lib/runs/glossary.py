"""What the book calls its cohorts, model families and headline metrics, in one place:
the reference cohorts every synthetic cohort is framed by (:data:`REAL`,
:data:`INDEPENDENT`, :data:`PUBLIC_SITES`, :data:`COPY`), the families' names in tables and charts
(:data:`FAMILY_LABELS`), the headline metrics with their short titles (:data:`HEADLINE`,
:data:`SHORT_TITLES`), and the setting a cohort belongs to (:func:`cohort_setting`). The
utility, privacy and results chapters all read them from here."""
from __future__ import annotations

from . import artefacts

REAL = "real (validation)"


INDEPENDENT = "independent sites"


#: Independent sites at the *public* people's frequencies: what no member and no ε give.
PUBLIC_SITES = "independent sites (public people)"


COPY = "copy of members"


REFERENCES = (REAL, INDEPENDENT, PUBLIC_SITES, COPY)


#: The metrics the chapter's utility-against-ε figure and headline table show, with short titles.
HEADLINE = ("af_r", "ld_decay_distance", "c2st_auc", "c2st_trees_auc", "aats", "tstr", "burden")


SHORT_TITLES = {"af_r": "Allele-frequency r", "ld_decay_distance": "LD-decay distance",
                "c2st_auc": "Two-sample AUC, linear (0.5 best)",
                "c2st_trees_auc": "Two-sample AUC, trees (0.5 best)", "aats": "AATS (as real people)",
                "aats_balance": "AATS halves, distance from 0.5 (0 best)",
                "tstr": "TSTR balanced accuracy", "burden": "Variants per person"}


def cohort_setting(cohort: str) -> str:
    """The setting a synthetic cohort belongs to: its model's name without the training
    seed (:func:`lib.runs.artefacts.setting_name`), ``-unconstrained`` kept
    (``mingpt-eps8-seed2`` -> ``mingpt-eps8``). The cohorts of one setting, one per
    training seed, are what a seed-level estimate (:func:`lib.ch05_utility.seed_table`) averages."""
    unconstrained = cohort.endswith("-unconstrained")
    model = cohort[: -len("-unconstrained")] if unconstrained else cohort
    return artefacts.setting_name(model) + ("-unconstrained" if unconstrained else "")


FAMILY_LABELS = {"mingpt": "minGPT", "gpt2": "GPT-2", "sites": "private independent sites", "mst": "MST"}
