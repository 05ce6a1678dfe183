"""What a run's synthetic cohorts are compared with, and which of them are the main ones:
read by the utility and privacy chapters alike (chapters 05 to 07).

* :func:`catalogue` -- the synthetic cohorts of the run (both families, every ε and training
  seed, the clip-only runs, dp-transformers, the text-tokenizer model; constrained and
  unconstrained), each with its setting, seed, family, tokenizer, ε and decoding read from
  its name; :func:`is_main`, :func:`main_cohorts`, :func:`main_settings` -- the main ones
  (each family's main tokenizer, Opacus, constrained decoding);
* :func:`load_inputs` -- the real people as dosage matrices: the members (train split), the
  holdout (the real people every cohort is compared with), the validation split and the
  public people with their population labels;
* :func:`reference_cohorts` -- the four reference cohorts of :data:`lib.runs.glossary.REFERENCES`;
* :func:`quiet_reader` -- the panel's VCF repairs, reported once by the data chapter, not
  repeated for every synthetic cohort.

Everything here reads real people, members included: an evaluation, outside ε.
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import artefacts, glossary
from ..genomes import vcf
from ..genomes.cohort import CHR22_LENGTH
from ..genetics import popgen
from ..dp import budget
from .run import Run


def catalogue(run: str | os.PathLike) -> pd.DataFrame:
    """The synthetic cohorts of the run: one row per ``synthetic/<name>.vcf.gz`` with
    ``cohort`` (its name), ``setting`` (:func:`lib.runs.glossary.cohort_setting`), ``seed`` (the training
    seed's index), ``model``, ``decoding`` (constrained / unconstrained),
    ``family``, ``tokenizer``, ``epsilon`` (float), ``eps`` (its chart label: ∞, 8, …;
    ``∞, clip only`` for the clip-only runs) and ``variant`` (``""``, ``cliponly``,
    ``dptransformers``)."""
    run = Run.of(run)
    names = run.cohorts()
    if not names:
        raise FileNotFoundError(f"{run.area('synthetic')}: no synthetic cohort; run the models (03_models) and private "
                                "training (04_dp_training) chapters first")
    rows = []
    for name in names:
        decoding = "unconstrained" if name.endswith("-unconstrained") else "constrained"
        model = name[: -len("-unconstrained")] if decoding == "unconstrained" else name
        parsed = artefacts.parse_model_name(model)
        label = budget.CLIP_ONLY_LABEL if parsed["variant"] == "cliponly" else budget.label(parsed["epsilon"])
        rows.append({"cohort": name, "setting": glossary.cohort_setting(name), "seed": parsed["seed"], "model": model,
                     "decoding": decoding, "family": parsed["family"], "tokenizer": parsed["tokenizer"],
                     "epsilon": parsed["epsilon"], "eps": label, "variant": parsed["variant"]})
    return pd.DataFrame(rows)


def is_main(row: Mapping[str, Any]) -> bool:
    """A cohort of the ε grid (the family's main tokenizer, Opacus, noise), constrained."""
    return (row["decoding"] == "constrained" and row["variant"] == ""
            and row["tokenizer"] == artefacts.main_tokenizer(row["family"]))


def _is_main_row(frame: pd.DataFrame) -> pd.Series:
    return ((frame["decoding"] == "constrained") & frame["variant"].isin(["", "cliponly"])
            & (frame["tokenizer"] == frame["family"].map(artefacts.MAIN_TOKENIZERS)))


def main_cohorts(table: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
    """One row per main constrained cohort (:func:`is_main`) and per clip-only constrained
    cohort, of every training seed (or of training seed ``seed``): ``cohort``, ``setting``,
    ``seed``, ``family``, ``eps``, ``epsilon``; most private first within a family, seeds
    in order."""
    first = table[table["kind"] == "synthetic"].drop_duplicates("cohort")
    keep = first[_is_main_row(first)]
    if seed is not None:
        keep = keep[keep["seed"] == seed]
    order = {label: i for i, label in enumerate(budget.order(keep["eps"]))}
    return keep.assign(rank=keep["eps"].map(order)).sort_values(["family", "rank", "seed"])[
        ["cohort", "setting", "seed", "family", "eps", "epsilon"]].reset_index(drop=True)


def main_settings(seeds: pd.DataFrame) -> pd.DataFrame:
    """:func:`main_cohorts` for the seed-level table (:func:`seed_table`): one row per main
    setting (``setting``, ``family``, ``eps``, ``epsilon``, ``n_seeds``), most private first."""
    first = seeds[seeds["kind"] == "synthetic"].drop_duplicates("setting")
    keep = first[_is_main_row(first)]
    order = {label: i for i, label in enumerate(budget.order(keep["eps"]))}
    return keep.assign(rank=keep["eps"].map(order)).sort_values(["family", "rank"])[
        ["setting", "family", "eps", "epsilon", "n_seeds"]].reset_index(drop=True)


def load_inputs(run: str | os.PathLike) -> dict[str, Any]:
    """The real people of the run as :func:`lib.genetics.popgen.dosages`: ``members``, ``holdout``,
    ``validation``, ``public``; ``labels`` (split -> super-population per person);
    ``profiles`` (split -> records per person); ``member_records`` (every member record);
    ``positions``; the public ``panel``; ``contig_length`` (the chromosome of the cohort's
    assembly, from :data:`lib.genomes.cohort.CHR22_LENGTH` when the assembly is known);
    ``near_copy_distance`` (the 5th percentile of the holdout people's distance to the
    closest member), ``public_axes`` (the public people's top principal components: the
    feature space of every population classifier) and ``population_classifier`` (fit on
    the public people, in that space)."""
    run = Run.of(run)
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
    """:data:`lib.runs.glossary.REFERENCES`, each ``{"dosages", "profiles", "populations"}`` with as many people
    as the holdout (profiles ``None`` for independent sites, at the members' or at the
    public people's frequencies, which have no records to compare: their validity and
    plausibility are 1 and 0 by construction; populations, the people's own, for the real
    and copied people only)."""
    n = len(inputs["holdout"])
    members, validation = inputs["members"], inputs["validation"]
    # the copy: the same people popgen.resample_people draws, with their records
    index = popgen.resample_people(np.arange(len(members))[:, None], n, seed)[:, 0]
    labels = inputs["labels"]
    out = {glossary.REAL: {"dosages": validation[:n], "profiles": inputs["profiles"]["validation"][:n],
                           "populations": list(labels["validation"][:n])},
           glossary.INDEPENDENT: {"dosages": popgen.independent_sites(members, n, seed), "profiles": None,
                                  "populations": None},
           glossary.PUBLIC_SITES: {"dosages": popgen.independent_sites(inputs["public"], n, seed + 1), "profiles": None,
                                   "populations": None},
           glossary.COPY: {"dosages": members[index], "profiles": [inputs["profiles"]["members"][i] for i in index],
                           "populations": list(labels["members"][index])}}
    return out


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
