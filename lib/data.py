"""The data chapter's pipeline: a cohort, a panel of sites, per-sample profiles and splits.

1. **Load** a cohort from one of three sources: a simulation (``"simulate"``, offline,
   the default), any VCF/BCF with an optional population table (``"vcf"``), or the 1000
   Genomes phase 3 chr22 release downloaded from IGSR (``"1000g"``).
2. **Select a panel** of sites like the dissertation's: ``n_sites`` sites of which a
   fraction ``common_fraction`` are common (minor allele frequency >= 5%) and the rest rare
   (0 < MAF < 5%), drawn with a seed; or, with a ``region``, every polymorphic site in it.
   Sites where every sample carries the same genotype are left out: they describe nobody.
3. **Split** the samples, at random and stratified by population, into ``train`` (the
   members a model is trained on), ``validation`` and ``holdout`` (non-members). Members
   and non-members are drawn from one pool, so a membership-inference attack later faces
   the question it claims to answer — not "which file did this sample come from".
4. **Write** the run directory's ``cohort/``: ``cohort.vcf.gz`` (+ ``.tbi``, via pysam),
   ``populations.tsv``, ``splits.json``, ``profiles.jsonl`` (sparse profiles) and
   ``profiles_dense.jsonl.gz`` (dense profiles), each atomically, and record them in the
   manifest; a rerun with the same parameters reuses them.

A profile is a sample's genotypes as text records ``22:POS:REF>ALT_GT`` — e.g.
``22:17327068:A>G_1|1``. *Dense* profiles list every panel site (``0|0`` included, as the
dissertation did); *sparse* profiles list only sites where the sample carries an ALT
allele (or has a missing call), which is what makes them an order of magnitude shorter.
Multi-allelic ALT alleles are joined with ``,`` as in VCF (the dissertation used ``/``,
which is also the unphased genotype separator).
"""
from __future__ import annotations

import gzip
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import rundir
from .cohort import Cohort
from .vcf import (VCFError, normalise_chromosome, parse_region, read_populations, read_vcf,
                  scan_frequencies, write_vcf)

log = logging.getLogger(__name__)

SOURCES = ("simulate", "vcf", "1000g")
COMMON_MAF = 0.05
SPLITS = ("train", "validation", "holdout", "public")
MIN_TRAIN, MIN_OTHER = 2, 1


# --------------------------------------------------------------------------------------
# 1. Sources
# --------------------------------------------------------------------------------------

def check_parameters(source: str, vcf_path: str | None, populations_path: str | None,
                     n_sites: int | None, common_fraction: float | None,
                     validation_fraction: float, holdout_fraction: float,
                     chromosome: str = "22", region: str | None = None, public_fraction: float = 0.0) -> None:
    """Refuse impossible parameters before any work is done."""
    if source not in SOURCES:
        raise ValueError(f"source={source!r} is unknown; choose one of {list(SOURCES)}")
    if source == "vcf":
        if not vcf_path:
            raise ValueError("source='vcf' needs vcf_path (a VCF or BCF file)")
        if not Path(vcf_path).exists():
            raise VCFError(f"{vcf_path}: file not found (vcf_path)")
    if populations_path is not None and not Path(populations_path).exists():
        raise VCFError(f"{populations_path}: population table not found (populations_path)")
    if n_sites is not None and int(n_sites) < 1:
        raise ValueError(f"n_sites={n_sites} must be at least 1")
    if common_fraction is not None and not 0.0 <= float(common_fraction) <= 1.0:
        raise ValueError(f"common_fraction={common_fraction} must lie in [0, 1]")
    for name, value in (("validation_fraction", validation_fraction), ("holdout_fraction", holdout_fraction)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"{name}={value} must lie strictly between 0 and 1")
    if not 0.0 <= float(public_fraction) < 1.0:
        raise ValueError(f"public_fraction={public_fraction} must lie in [0, 1)")
    if validation_fraction + holdout_fraction + public_fraction >= 1.0:
        raise ValueError(f"validation_fraction + holdout_fraction + public_fraction = "
                         f"{validation_fraction + holdout_fraction + public_fraction:g} leaves no samples to train on")
    parse_region(region, normalise_chromosome(chromosome))


def source_files(source: str, vcf_path: str | None, populations_path: str | None,
                 assembly: str | None, sources_dir: str | os.PathLike = "data/sources",
                 chromosome: str = "22", progress: bool = True) -> tuple[Path, Path | None, str | None]:
    """The VCF, population table and assembly of a file source (``"vcf"`` or ``"1000g"``);
    for ``"1000g"`` this downloads the release once (see :mod:`lib.download`)."""
    if source == "vcf":
        return Path(vcf_path), Path(populations_path) if populations_path else None, assembly
    if source == "1000g":
        from .download import fetch_1000g_chr22

        if normalise_chromosome(chromosome) != "22":
            raise ValueError(f"source='1000g' downloads chromosome 22 only, not chromosome={chromosome!r}")
        paths = fetch_1000g_chr22(sources_dir, progress=progress)
        return paths["vcf"], Path(populations_path) if populations_path else paths["populations"], assembly or "GRCh37"
    raise ValueError(f"source={source!r} is not a file source; choose 'vcf' or '1000g'")


def load_panel(source: str, *, seed: int, n_sites: int | None, common_fraction: float,
               chromosome: str = "22", region: str | None = None, vcf_path: str | None = None,
               populations_path: str | None = None, assembly: str | None = None,
               sim_samples_per_population: int = 100, sim_length: int = 5_000_000,
               sources_dir: str | os.PathLike = "data/sources", progress: bool = True) -> "Panel":
    """The cohort of ``source`` restricted to its panel of sites (see the module docstring).

    A simulated cohort is made whole, then its panel is selected. A file is read in two
    passes: the first keeps only each site's allele frequency, the panel is chosen from
    those, and the second reads the genotypes of the panel's sites alone — so a
    whole-chromosome VCF (1000 Genomes: 1.1 million records x 2,504 people) never has to
    fit in memory. Both give the same panel for the same seed.
    """
    if source == "simulate":
        from .simulate import DEFAULT_LEFT, simulate_cohort

        left, length = DEFAULT_LEFT, sim_length
        bounds = parse_region(region, normalise_chromosome(chromosome))
        if bounds is not None:  # simulate exactly the requested window
            left, length = bounds[0] - 1, bounds[1] - bounds[0] + 1
        cohort = simulate_cohort(sim_samples_per_population, length, left=left, seed=seed)
        return select_panel(cohort, n_sites, common_fraction, seed)
    path, populations, assembly = source_files(source, vcf_path, populations_path, assembly,
                                               sources_dir, chromosome, progress)
    table, repairs = scan_frequencies(path, chromosome=chromosome, region=region, assembly=assembly,
                                      progress=progress)
    if populations is not None:
        read_populations(populations)  # a bad table fails before the second pass
    chosen, n_common, notes, dropped = choose_sites(
        table["minor_allele_frequency"].to_numpy(), table["polymorphic"].to_numpy(), n_sites,
        common_fraction, seed)
    cohort = read_vcf(path, chromosome=chromosome, region=region, populations_path=populations,
                      assembly=assembly, progress=progress, keep_sites=set(table["key"].iloc[chosen]))
    cohort.repairs = repairs  # the first pass saw every record; the second only the panel's
    return Panel(cohort=cohort, n_common=n_common, n_rare=cohort.n_sites - n_common,
                 n_monomorphic_dropped=dropped, notes=notes, n_source_sites=len(table))


# --------------------------------------------------------------------------------------
# 2. Panel
# --------------------------------------------------------------------------------------

@dataclass
class Panel:
    cohort: Cohort  # restricted to the panel's sites (all samples)
    n_common: int
    n_rare: int
    n_monomorphic_dropped: int
    notes: list[str]
    n_source_sites: int


def choose_sites(maf: np.ndarray, polymorphic: np.ndarray, n_sites: int | None,
                 common_fraction: float, seed: int) -> tuple[np.ndarray, int, list[str], int]:
    """Indices (sorted) of ``n_sites`` polymorphic sites, ``round(n_sites * common_fraction)``
    of them common (MAF >= 5%) and the rest rare; ``n_sites=None`` keeps every polymorphic
    site. Returns the indices, the number of common sites, notes, and the number of
    monomorphic sites left out.

    Sites where every sample carries the same genotype are not eligible. When a class has
    fewer sites than asked for, all of it is taken and the other class fills the panel; the
    shortfall is reported in the notes.
    """
    common = np.nonzero(polymorphic & (maf >= COMMON_MAF))[0]
    rare = np.nonzero(polymorphic & (maf < COMMON_MAF))[0]
    dropped = int((~polymorphic).sum())
    notes: list[str] = []
    if dropped:
        notes.append(f"{dropped} site(s) are monomorphic in this cohort (every sample has the same "
                     "genotype) and are not eligible for the panel")
    available = len(common) + len(rare)
    if available == 0:
        raise ValueError("the cohort has no polymorphic sites to build a panel from")
    if n_sites is None or n_sites >= available:
        if n_sites is not None and n_sites > available:
            notes.append(f"n_sites={n_sites} asked for more sites than the {available} polymorphic "
                         "ones available: the panel holds them all")
        return np.sort(np.concatenate([common, rare])), len(common), notes, dropped
    rng = np.random.default_rng(seed)
    want_common = int(round(n_sites * common_fraction))
    n_common = min(want_common, len(common))
    n_rare = n_sites - n_common
    if n_rare > len(rare):
        n_rare = len(rare)
        n_common = n_sites - n_rare
    if n_common != want_common:
        notes.append(f"asked for {want_common} common and {n_sites - want_common} rare sites; the cohort "
                     f"has {len(common)} common and {len(rare)} rare, so the panel has {n_common} and {n_rare}")
    chosen = np.concatenate([rng.choice(common, n_common, replace=False),
                             rng.choice(rare, n_rare, replace=False)])
    return np.sort(chosen), int(n_common), notes, dropped


def select_panel(cohort: Cohort, n_sites: int | None, common_fraction: float, seed: int) -> Panel:
    """The panel (see :func:`choose_sites`) of a cohort held in memory."""
    chosen, n_common, notes, dropped = choose_sites(
        cohort.minor_allele_frequency(), _polymorphic(cohort), n_sites, common_fraction, seed)
    return Panel(cohort=cohort.subset(site_index=chosen), n_common=n_common,
                 n_rare=len(chosen) - n_common, n_monomorphic_dropped=dropped, notes=notes,
                 n_source_sites=cohort.n_sites)


def _polymorphic(cohort: Cohort) -> np.ndarray:
    """True where at least two different alleles are called in the cohort."""
    gt = cohort.genotypes.reshape(cohort.n_sites, -1).astype(np.int16)
    called = gt >= 0
    hi = np.where(called, gt, -1).max(axis=1)
    lo = np.where(called, gt, 127).min(axis=1)
    return called.any(axis=1) & (hi != lo)


# --------------------------------------------------------------------------------------
# 3. Splits
# --------------------------------------------------------------------------------------

def make_splits(samples: pd.DataFrame, validation_fraction: float, holdout_fraction: float,
                seed: int, stratify: str = "population", public_fraction: float = 0.0) -> dict[str, list[str]]:
    """Disjoint ``train``/``validation``/``holdout``/``public`` sample lists, random within
    each population (so each split has the cohort's population mix) and seeded.

    ``public`` stands for data that is public anyway (as a reference panel is): it is never
    trained on privately and never attacked, and later chapters may use it freely — to
    pre-train the GPT-2 base that is then fine-tuned on the members. Empty when
    ``public_fraction`` is 0."""
    n = len(samples)
    need = MIN_TRAIN + 2 * MIN_OTHER
    if n < need or round(n * holdout_fraction) < MIN_OTHER or round(n * validation_fraction) < MIN_OTHER:
        raise ValueError(
            f"too few samples ({n}) for the splits: with validation_fraction={validation_fraction} and "
            f"holdout_fraction={holdout_fraction} every split needs at least {MIN_OTHER} sample(s) "
            f"and train at least {MIN_TRAIN}; use a larger cohort or larger fractions")
    n_holdout, n_validation = int(round(n * holdout_fraction)), int(round(n * validation_fraction))
    n_public = int(round(n * public_fraction))
    if public_fraction > 0 and n_public < MIN_OTHER:
        raise ValueError(f"too few samples ({n}) for public_fraction={public_fraction}: the public split "
                         f"would be empty")
    if n - n_holdout - n_validation - n_public < MIN_TRAIN:
        raise ValueError(f"too few samples ({n}) for the splits: train would get "
                         f"{n - n_holdout - n_validation - n_public}")
    # Systematic stratified sampling: shuffle each population, give its i-th sample the key
    # (i + u) / size with one random offset u per population, and sort all samples by key.
    # Every prefix of that order holds each population in proportion to its size, so taking
    # the first n_holdout, then the next n_validation, stratifies both at exact totals.
    rng = np.random.default_rng(seed)
    ids, keys = [], []
    for _, group in samples.groupby(stratify, sort=True):
        members = group["sample"].to_numpy().copy()
        rng.shuffle(members)
        offset = rng.random()
        ids.extend(members.tolist())
        keys.extend(((np.arange(len(members)) + offset) / len(members)).tolist())
    ordered = [ids[i] for i in np.argsort(np.asarray(keys), kind="stable")]
    cut = np.cumsum([n_holdout, n_validation, n_public])
    splits = {"holdout": ordered[:cut[0]], "validation": ordered[cut[0]:cut[1]],
              "public": ordered[cut[1]:cut[2]], "train": ordered[cut[2]:]}
    order = {s: i for i, s in enumerate(samples["sample"])}
    return {name: sorted(splits[name], key=order.get) for name in SPLITS}


# --------------------------------------------------------------------------------------
# 4. Profiles
# --------------------------------------------------------------------------------------

def site_keys(cohort: Cohort) -> list[str]:
    """``22:POS:REF>ALT`` for every site (ALT alleles joined by ``,``)."""
    chrom = normalise_chromosome(cohort.contig.name)
    return [f"{chrom}:{pos}:{ref}>{','.join(alts)}"
            for pos, ref, alts in zip(cohort.sites["pos"], cohort.sites["ref"], cohort.sites["alts"])]


def profiles(cohort: Cohort, sparse: bool = True) -> list[list[str]]:
    """Every sample's profile: a list of ``22:POS:REF>ALT_GT`` records in position order."""
    keys = np.array(site_keys(cohort), dtype=object)
    records = keys[:, None] + "_" + cohort.genotype_text()
    if not sparse:
        return [records[:, j].tolist() for j in range(cohort.n_samples)]
    carries = (cohort.genotypes != 0).any(axis=2)  # an ALT allele or a missing call
    return [records[carries[:, j], j].tolist() for j in range(cohort.n_samples)]


def parse_record(record: str) -> tuple[str, int, str, tuple[str, ...], str]:
    """``"22:17327068:A>G_1|1"`` -> ``("22", 17327068, "A", ("G",), "1|1")``."""
    try:
        site, gt = record.rsplit("_", 1)
        chrom, pos, alleles = site.split(":")
        ref, alt = alleles.split(">")
        return chrom, int(pos), ref, tuple(alt.split(",")), gt
    except ValueError:
        raise ValueError(f"{record!r} is not a '22:POS:REF>ALT_GT' record") from None


# --------------------------------------------------------------------------------------
# 5. The whole step, with the run directory
# --------------------------------------------------------------------------------------

@dataclass
class Prepared:
    cohort: Cohort  # the panel: selected sites x all samples
    splits: dict[str, list[str]]
    paths: dict[str, Path]
    panel_notes: list[str]
    reused: bool


def cohort_paths(run: Path) -> dict[str, Path]:
    base = Path(run) / "cohort"
    return {"vcf": base / "cohort.vcf.gz", "tbi": base / "cohort.vcf.gz.tbi",
            "populations": base / "populations.tsv", "splits": base / "splits.json",
            "profiles": base / "profiles.jsonl", "profiles_dense": base / "profiles_dense.jsonl.gz",
            "panel": base / "panel.json"}


def prepare(run: Path, *, source: str = "simulate", seed: int = 42, chromosome: str = "22",
            region: str | None = None, vcf_path: str | None = None, populations_path: str | None = None,
            assembly: str | None = None, n_sites: int | None = None, common_fraction: float = 0.1,
            validation_fraction: float = 0.15, holdout_fraction: float = 0.15, public_fraction: float = 0.0,
            sim_samples_per_population: int = 100, sim_length: int = 5_000_000,
            sources_dir: str | os.PathLike = "data/sources", progress: bool = True) -> Prepared:
    """Load, select, split and write (or reuse) the cohort of a run. See the module docstring."""
    check_parameters(source, vcf_path, populations_path, n_sites, common_fraction,
                     validation_fraction, holdout_fraction, chromosome, region, public_fraction)
    params: dict[str, Any] = dict(
        source=source, seed=seed, chromosome=normalise_chromosome(chromosome), region=region,
        vcf_path=str(vcf_path) if vcf_path else None,
        vcf_sha256=rundir.sha256(vcf_path) if source == "vcf" else None,
        populations_path=str(populations_path) if populations_path else None,
        populations_sha256=rundir.sha256(populations_path) if populations_path else None,
        assembly=assembly, n_sites=n_sites, common_fraction=common_fraction,
        validation_fraction=validation_fraction, holdout_fraction=holdout_fraction,
        public_fraction=public_fraction)
    if source == "simulate":
        params.update(sim_samples_per_population=sim_samples_per_population, sim_length=sim_length)
    paths = cohort_paths(run)
    if rundir.is_current(run, params, list(paths.values())):
        log.info("reusing the cohort in %s (same parameters and inputs)", paths["vcf"].parent)
        cohort = load_cohort(run)
        splits = json.loads(paths["splits"].read_text())
        panel_info = json.loads(paths["panel"].read_text())
        return Prepared(cohort, {k: splits.get(k, []) for k in SPLITS}, paths, panel_info["notes"], reused=True)

    panel = load_panel(source, seed=seed, n_sites=None if region and n_sites is None else n_sites,
                       common_fraction=common_fraction, chromosome=chromosome, region=region,
                       vcf_path=vcf_path, populations_path=populations_path, assembly=assembly,
                       sim_samples_per_population=sim_samples_per_population, sim_length=sim_length,
                       sources_dir=sources_dir, progress=progress)
    cohort = panel.cohort
    splits = make_splits(cohort.samples, validation_fraction, holdout_fraction, seed,
                         public_fraction=public_fraction)
    write_cohort(run, cohort, splits, seed=seed, panel=panel)
    rundir.record_artefacts(run, "01_data", params, list(paths.values()))
    return Prepared(cohort, splits, paths, panel.notes, reused=False)


def write_cohort(run: Path, cohort: Cohort, splits: dict[str, list[str]], *, seed: int,
                 panel: Panel) -> dict[str, Path]:
    """Write every file of ``cohort/`` atomically."""
    paths = cohort_paths(run)
    write_vcf(cohort, paths["vcf"], source=f"lib.data ({cohort.source})")
    split_of = {s: name for name, ids in splits.items() for s in ids}
    table = cohort.samples.assign(split=cohort.samples["sample"].map(split_of))
    with rundir.atomic_path(paths["populations"]) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    rundir.write_json(paths["splits"], {
        "seed": seed, "stratified_by": "population",
        "sizes": {k: len(v) for k, v in splits.items()}, **splits})
    rundir.write_json(paths["panel"], {
        "source": cohort.source, "contig": vars(cohort.contig), "n_source_sites": panel.n_source_sites,
        "n_sites": cohort.n_sites, "n_common": panel.n_common, "n_rare": panel.n_rare,
        "common_maf_threshold": COMMON_MAF, "n_monomorphic_dropped": panel.n_monomorphic_dropped,
        "notes": panel.notes, "repairs": cohort.repairs, "sites": site_keys(cohort)})
    sparse, dense = profiles(cohort, sparse=True), profiles(cohort, sparse=False)
    rows = list(table.itertuples(index=False))
    with rundir.atomic_path(paths["profiles"]) as tmp, open(tmp, "w") as out:
        for row, records in zip(rows, sparse):
            out.write(json.dumps({"sample": row.sample, "population": row.population,
                                  "superpopulation": row.superpopulation, "split": row.split,
                                  "variants": records}) + "\n")
    with rundir.atomic_path(paths["profiles_dense"]) as tmp:
        # mtime=0: the same cohort gives byte-identical files
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as out:
            for row, records in zip(rows, dense):
                out.write((json.dumps({"sample": row.sample, "split": row.split,
                                       "variants": records}) + "\n").encode())
    return paths


def load_cohort(run: Path) -> Cohort:
    """The cohort a run's data chapter wrote (for later chapters)."""
    paths = cohort_paths(run)
    for key in ("vcf", "populations", "panel"):
        if not paths[key].exists():
            raise FileNotFoundError(f"{paths[key]}: missing; run the data chapter (01_data) for this run first")
    panel = json.loads(paths["panel"].read_text())
    cohort = read_vcf(paths["vcf"], chromosome=panel["contig"]["name"],
                      populations_path=paths["populations"])
    cohort.source = panel["source"]
    cohort.repairs = list(panel["repairs"])
    return cohort


def load_splits(run: Path) -> dict[str, list[str]]:
    path = cohort_paths(run)["splits"]
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run the data chapter (01_data) for this run first")
    data = json.loads(path.read_text())
    return {k: data.get(k, []) for k in SPLITS}


def read_profiles(run: Path, dense: bool = False) -> pd.DataFrame:
    """The profiles a run wrote: one row per sample with its split and its records."""
    path = cohort_paths(run)["profiles_dense" if dense else "profiles"]
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run the data chapter (01_data) for this run first")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return pd.DataFrame([json.loads(line) for line in handle])
