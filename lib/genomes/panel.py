"""The panel of sites, chosen from public information only, and what it costs the members.

The panel decides everything a run can ever write: the variant tokenizer's vocabulary
(one token per site), the decoding grammar, and the records of every synthetic VCF. If it
were chosen from the members' genotypes -- "every site where somebody in the cohort
carries a variant" -- a site carried by one member alone would be published with every
model, whatever its ε. So the panel comes from one of two public sources, never from the
members, validation or holdout people:

* **a declared site list** (``panel_path``): a VCF of sites the user declares public (a
  reference panel, a genotyping array's manifest, or an input VCF that already is such a
  panel, like the 1000 Genomes panel of the quick profile). Its sites, with their REF and
  ALT alleles, are the panel; ``n_sites`` may draw a seeded subset of it.
* **the public split's genotypes**: the sites that vary among the public people (a
  stand-in for a public reference panel), ``n_sites`` of them drawn with a seed, a
  fraction ``common_fraction`` common (minor allele frequency >= 5% *among the public
  people*) and the rest rare, as the dissertation drew its panel.

Either way, the common/rare labels and the phasing convention also come from the public
people, so two cohorts that differ in one member give the same panel, byte for byte.

What it costs (:func:`coverage`): the members' variants at sites outside the panel can
never be written by any model. The coverage table -- computed on the members, so a
diagnostic outside the privacy guarantee that no run releases -- says how many.

Every function works on a *site table*: one row per site of the source, with per-group
columns ``ac_<g>`` (ALT copies), ``an_<g>`` (called alleles), ``carriers_<g>`` (people
carrying an ALT allele) and ``polymorphic_<g>`` for the groups of :mod:`lib.genomes.splits` plus
``all``; :func:`site_table` makes it from a cohort in memory and
:func:`lib.genomes.vcf.scan_frequencies` (``groups=``) from a file, in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .cohort import Cohort

COMMON_MAF = 0.05


# --------------------------------------------------------------------------------------
# Site tables
# --------------------------------------------------------------------------------------

def group_columns(genotypes: np.ndarray, name: str) -> dict[str, np.ndarray]:
    """``ac_<name>``, ``an_<name>``, ``carriers_<name>``, ``polymorphic_<name>`` of a
    ``(sites, people, 2)`` genotype array (alleles 0 = REF, 1.. = ALT, -1 = missing)."""
    gt = genotypes.astype(np.int16)
    called = gt >= 0
    hi = np.where(called, gt, -1).reshape(len(gt), -1).max(axis=1, initial=-1)
    lo = np.where(called, gt, 127).reshape(len(gt), -1).min(axis=1, initial=127)
    return {f"ac_{name}": (gt > 0).sum(axis=(1, 2)), f"an_{name}": called.sum(axis=(1, 2)),
            f"carriers_{name}": (gt > 0).any(axis=2).sum(axis=1),
            f"polymorphic_{name}": called.reshape(len(gt), -1).any(axis=1) & (hi != lo)}


def site_table(cohort: Cohort, groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """The site table (see the module docstring) of a cohort in memory: ``pos``, ``ref``,
    ``alts``, ``key`` (``POS:REF>ALT``) and the columns of every group and of ``all``."""
    index = {s: i for i, s in enumerate(cohort.sample_ids)}
    unknown = [s for ids in groups.values() for s in ids if s not in index]
    if unknown:
        raise ValueError(f"{len(unknown)} sample(s) of the groups are not in the cohort, e.g. {unknown[:3]}")
    table = pd.DataFrame({"pos": cohort.sites["pos"].to_numpy(), "ref": cohort.sites["ref"].to_numpy(),
                          "alts": cohort.sites["alts"].to_numpy()})
    table["key"] = [f"{p}:{r}>{','.join(a)}" for p, r, a in zip(table["pos"], table["ref"], table["alts"])]
    columns = group_columns(cohort.genotypes, "all")
    for name, ids in groups.items():
        columns.update(group_columns(cohort.genotypes[:, [index[s] for s in ids]], name))
    return table.assign(**columns)


def minor_allele_frequency(table: pd.DataFrame, group: str) -> np.ndarray:
    """Per site: the non-reference allele frequency among ``group``'s called alleles,
    folded (``min(f, 1 - f)``); 0 where the group has no call."""
    ac, an = table[f"ac_{group}"].to_numpy(float), table[f"an_{group}"].to_numpy(float)
    af = np.divide(ac, an, out=np.zeros_like(ac), where=an > 0)
    return np.minimum(af, 1 - af)


# --------------------------------------------------------------------------------------
# Choosing the panel
# --------------------------------------------------------------------------------------

@dataclass
class PanelChoice:
    """Which sites of a site table form the panel, and on what public basis."""
    index: np.ndarray         # rows of the site table, in position order
    n_common: int             # MAF >= 5% among the public people
    n_rare: int
    basis: str                # "public split" or "declared site list"
    n_candidates: int         # sites the choice was made among
    notes: list[str] = field(default_factory=list)


def choose_sites(maf: np.ndarray, eligible: np.ndarray, n_sites: int | None, common_fraction: float,
                 seed: int) -> tuple[np.ndarray, int, list[str]]:
    """Indices (sorted) of ``n_sites`` eligible sites, ``round(n_sites * common_fraction)``
    of them common (``maf`` >= 5%) and the rest rare, drawn with ``seed``; ``n_sites=None``
    (or more than are eligible) keeps every eligible site. When a class has fewer sites
    than asked for, all of it is taken and the other class fills the panel (said in the
    notes). Returns the indices, the number of common sites and the notes."""
    common = np.nonzero(eligible & (maf >= COMMON_MAF))[0]
    rare = np.nonzero(eligible & (maf < COMMON_MAF))[0]
    available = len(common) + len(rare)
    if available == 0:
        raise ValueError("no site is eligible for the panel (none varies among the public people)")
    notes: list[str] = []
    if n_sites is None or n_sites >= available:
        if n_sites is not None and n_sites > available:
            notes.append(f"n_sites={n_sites} asked for more sites than the {available} eligible: "
                         "the panel holds them all")
        return np.sort(np.concatenate([common, rare])), len(common), notes
    want_common = int(round(n_sites * common_fraction))
    n_common = min(want_common, len(common))
    n_rare = min(n_sites - n_common, len(rare))
    n_common = n_sites - n_rare
    if n_common != want_common:
        notes.append(f"asked for {want_common} common and {n_sites - want_common} rare sites; "
                     f"{len(common)} common and {len(rare)} rare are eligible, so the panel has "
                     f"{n_common} and {n_rare}")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(common, n_common, replace=False), rng.choice(rare, n_rare, replace=False)])
    return np.sort(chosen), int(n_common), notes


def from_public_split(table: pd.DataFrame, n_sites: int | None, common_fraction: float, seed: int) -> PanelChoice:
    """The panel drawn among the sites that vary among the public people (``*_public``
    columns of the site table), labelled common or rare by their frequency there."""
    if "polymorphic_public" not in table:
        raise ValueError("the site table has no public group: a panel chosen from genotypes needs a public "
                         "split (public_fraction > 0) or a declared site list (panel_path)")
    eligible = table["polymorphic_public"].to_numpy(bool)
    maf = minor_allele_frequency(table, "public")
    index, n_common, notes = choose_sites(maf, eligible, n_sites, common_fraction, seed)
    notes.insert(0, f"{len(table) - int(eligible.sum())} of the source's {len(table)} sites do not vary among "
                    "the public people and are not eligible")
    return PanelChoice(index=index, n_common=n_common, n_rare=len(index) - n_common, basis="public split",
                       n_candidates=int(eligible.sum()), notes=notes)


def from_declared(table: pd.DataFrame, n_sites: int | None, common_fraction: float, seed: int) -> PanelChoice:
    """The panel drawn from a declared site list (every row of ``table`` is a declared
    site; with ``n_sites`` a seeded subset, common/rare by the public people's frequency
    where the table has a public group, all "rare" otherwise). No site is left out for
    being invariant: a declared site is public whoever carries it."""
    maf = minor_allele_frequency(table, "public") if "ac_public" in table else np.zeros(len(table))
    subset = n_sites if n_sites is not None and n_sites < len(table) else None  # otherwise the whole list
    index, n_common, notes = choose_sites(maf, np.ones(len(table), bool), subset, common_fraction, seed)
    return PanelChoice(index=index, n_common=n_common, n_rare=len(index) - n_common,
                       basis="declared site list", n_candidates=len(table), notes=notes)


def phased_convention(cohort: Cohort, public: Sequence[str]) -> bool:
    """Whether synthetic genotypes are written phased (``|``): where most of the public
    people's calls are phased (True when there are no public people)."""
    index = {s: i for i, s in enumerate(cohort.sample_ids)}
    calls = cohort.phased[:, [index[s] for s in public]]
    return bool(calls.mean() >= 0.5) if calls.size else True


# --------------------------------------------------------------------------------------
# What the panel costs the members (a diagnostic outside the guarantee)
# --------------------------------------------------------------------------------------

def coverage(table: pd.DataFrame, on_panel: np.ndarray, member: str = "train",
             public: str = "public") -> pd.DataFrame:
    """How much of the members' variation a panel can express, one row per measure:

    * ``non-reference genotypes``: the members' genotypes carrying an ALT allele, at every
      site of the source, and the share of them on panel sites;
    * ``rare variant sites``: sites with cohort ALT frequency below 5% that at least one
      member carries, and the share on the panel (the others no model can ever write);
    * ``carried by no public person``: the rare member sites no public person carries
      (never eligible for a panel chosen from the public split).

    Columns: ``measure``, ``at source sites``, ``on the panel``, ``share on the panel``.
    Computed on members: a diagnostic, outside the privacy guarantee."""
    on_panel = np.asarray(on_panel, bool)
    carriers = table[f"carriers_{member}"].to_numpy()
    ac, an = table["ac_all"].to_numpy(float), table["an_all"].to_numpy(float)
    af = np.divide(ac, an, out=np.zeros_like(ac), where=an > 0)
    rare_member = (carriers > 0) & (af < COMMON_MAF)
    no_public = rare_member & (table[f"carriers_{public}"].to_numpy() == 0) if f"carriers_{public}" in table \
        else rare_member
    rows = [("non-reference genotypes", int(carriers.sum()), int(carriers[on_panel].sum())),
            ("rare variant sites", int(rare_member.sum()), int((rare_member & on_panel).sum())),
            ("carried by no public person", int(no_public.sum()), int((no_public & on_panel).sum()))]
    frame = pd.DataFrame(rows, columns=["measure", "at source sites", "on the panel"])
    frame["share on the panel"] = np.where(frame["at source sites"] > 0,
                                           frame["on the panel"] / frame["at source sites"].clip(lower=1), np.nan)
    return frame


def on_sites(cohort: Cohort, sites: pd.DataFrame) -> Cohort:
    """``cohort`` on exactly the panel's ``sites`` (``pos``, ``ref``, ``alts``, ``key``,
    optionally ``id``), in their order: a site the cohort has no record of is homozygous
    REF (``0|0``) for everyone, as in a call set where nobody carries its ALT allele."""
    keys = [f"{p}:{r}>{','.join(a)}" for p, r, a in zip(cohort.sites["pos"], cohort.sites["ref"], cohort.sites["alts"])]
    row_of = {key: i for i, key in enumerate(keys)}
    rows = np.array([row_of.get(key, -1) for key in sites["key"]], dtype=int)
    present = rows >= 0
    genotypes = np.zeros((len(sites), cohort.n_samples, 2), dtype=np.int8)
    phased = np.ones((len(sites), cohort.n_samples), dtype=bool)
    genotypes[present] = cohort.genotypes[rows[present]]
    phased[present] = cohort.phased[rows[present]]
    ids = sites["id"].to_numpy() if "id" in sites else np.where(
        present, cohort.sites["id"].to_numpy()[np.maximum(rows, 0)], [f"{cohort.contig.name}:{p}" for p in sites["pos"]])
    table = pd.DataFrame({"pos": sites["pos"].astype(np.int64).to_numpy(), "ref": sites["ref"].to_numpy(),
                          "alts": [tuple(a) for a in sites["alts"]], "id": ids})
    return Cohort(contig=cohort.contig, sites=table, samples=cohort.samples.copy(), genotypes=genotypes,
                  phased=phased, source=cohort.source, repairs=list(cohort.repairs))
