"""The data chapter (``book/01_data.ipynb``): a cohort, its splits, a public panel, profiles.

1. **Load** a cohort from one of three sources: a simulation (``"simulate"``, offline), any
   VCF/BCF with an optional population table (``"vcf"``; the ``quick`` profile's default is
   the real 1000 Genomes chr22 panel shipped in ``data/1000g/``), or the 1000 Genomes phase 3
   chr22 release downloaded from IGSR (``"1000g"``).
2. **Split** the people first (:mod:`lib.genomes.splits`), from the sample table alone: members
   (``train``), ``validation``, non-members (``holdout``) and ``public``.
3. **Choose the panel** from public information only (:mod:`lib.genomes.panel`): a site list the
   user declares public (``panel_path``; the quick profile declares the 1000 Genomes panel
   its own site list), or the sites that vary among the public people. Which sites, their
   alleles, their common/rare labels and the phasing convention never depend on a member,
   a validation or a holdout person.
4. **Measure what the panel costs**: the share of the members' variation on panel sites
   and the rare member variants no model can ever write (:func:`lib.genomes.panel.coverage`; a
   diagnostic outside the guarantee, kept in ``diagnostics/``).
5. **Write** the run directory's ``cohort/`` (the cohort on the panel as a bgzipped,
   indexed VCF, ``populations.tsv``, ``splits.json``, the public ``panel.json``, sparse and
   dense profiles) and ``diagnostics/`` (what the reader repaired, the panel's notes and
   coverage), each atomically, recorded in the manifest; a rerun with the same parameters
   and inputs reuses them.

A file is read in two passes: the first keeps only per-site counts per split
(:func:`lib.genomes.vcf.scan_frequencies`), the panel is chosen from them, and the second reads
the genotypes of the panel's sites alone -- so a whole-chromosome VCF (1000 Genomes: 1.1
million records x 2,504 people) never has to fit in memory.
"""
from __future__ import annotations

import gzip
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .core import rundir
from .genomes import download, panel, profiletext, simulate, splits, vcf
from .genomes.cohort import Cohort
from .runs import artefacts
from .runs.run import Run

log = logging.getLogger(__name__)

CHAPTER = "01_data"
SOURCES = ("simulate", "vcf", "1000g")
#: The data parameters of the chapter (each may come from the profile, see :func:`data_settings`).
DATA_KEYS = ("source", "vcf_path", "populations_path", "assembly", "panel_path")


# --------------------------------------------------------------------------------------
# 1. Parameters and sources
# --------------------------------------------------------------------------------------

def data_settings(settings: Mapping[str, Any], **given: Any) -> dict[str, Any]:
    """The data source of a run: the profile's (``settings["data"]``, its paths relative
    to the repository) unless the chapter was given ``source`` or ``vcf_path``, in which
    case only what was given counts (the profile's file defaults belong to its own data
    set); other given values override the profile's."""
    given = {k: v for k, v in given.items() if v is not None}
    unknown = set(given) - set(DATA_KEYS)
    if unknown:
        raise ValueError(f"unknown data parameter(s) {sorted(unknown)}; choose from {DATA_KEYS}")
    if "source" in given or "vcf_path" in given:
        chosen = {"source": "vcf" if "vcf_path" in given and "source" not in given else given.get("source")}
    else:
        chosen = {k: (str(rundir.REPO_ROOT / v) if k.endswith("_path") and v else v)
                  for k, v in dict(settings.get("data", {"source": "simulate"})).items()}
    chosen.update({k: v for k, v in given.items() if k != "source"})
    return {key: chosen.get(key) for key in DATA_KEYS}


@dataclass(frozen=True)
class DataSpec:
    """What the data chapter prepares (:func:`prepare`): the ``source`` (``"simulate"``,
    ``"vcf"`` with ``vcf_path`` and an optional ``populations_path``, ``"1000g"`` downloaded
    into ``sources_dir``) and its ``assembly``; the ``chromosome`` and ``region`` read; the
    split fractions (``validation_fraction``, ``holdout_fraction``, ``public_fraction``: the
    rest are members); the panel (``panel_path`` a site list declared public, else
    ``n_sites`` chosen from the public people with ``common_fraction`` of them common); the
    simulation's size (``sim_samples_per_population``, ``sim_length``); and the ``seed`` of
    every random choice. :meth:`from_profile` makes one from a profile's settings."""

    source: str = "simulate"
    seed: int = 42
    chromosome: str = "22"
    region: str | None = None
    vcf_path: str | None = None
    populations_path: str | None = None
    assembly: str | None = None
    panel_path: str | None = None
    n_sites: int | None = None
    common_fraction: float = 0.1
    validation_fraction: float = 0.15
    holdout_fraction: float = 0.15
    public_fraction: float = 0.1
    sim_samples_per_population: int = 100
    sim_length: int = 5_000_000
    sources_dir: str | os.PathLike = "data/sources"

    @classmethod
    def from_profile(cls, settings: Mapping[str, Any], seed: int, *, region: str | None = None,
                     chromosome: str = "22", n_sites: int | None = None, **data: Any) -> "DataSpec":
        """The profile's ``settings`` (:func:`lib.core.profiles.resolve`) and the chapter's
        parameters: ``n_sites`` (default the profile's; with a ``region``, every eligible site
        of the region) and the data parameters (``source``, ``vcf_path``, ``populations_path``,
        ``assembly``, ``panel_path``: :func:`data_settings`)."""
        n_sites = n_sites if n_sites is not None else (None if region else settings["n_sites"])
        return cls(**data_settings(settings, **data), seed=seed, chromosome=chromosome, region=region,
                   n_sites=n_sites, common_fraction=settings["common_fraction"],
                   validation_fraction=settings["validation_fraction"],
                   holdout_fraction=settings["holdout_fraction"], public_fraction=settings["public_fraction"],
                   sim_samples_per_population=settings["sim_samples_per_population"],
                   sim_length=settings["sim_length"])

    def check(self) -> None:
        """Refuse impossible parameters before any work is done."""
        if self.source not in SOURCES:
            raise ValueError(f"source={self.source!r} is unknown; choose one of {list(SOURCES)}")
        if self.source == "vcf":
            if not self.vcf_path:
                raise ValueError("source='vcf' needs vcf_path (a VCF or BCF file)")
            if not Path(self.vcf_path).exists():
                raise vcf.VCFError(f"{self.vcf_path}: file not found (vcf_path)")
        for name in ("populations_path", "panel_path"):
            path = getattr(self, name)
            if path is not None and not Path(path).exists():
                raise vcf.VCFError(f"{path}: file not found ({name})")
        if self.n_sites is not None and int(self.n_sites) < 1:
            raise ValueError(f"n_sites={self.n_sites} must be at least 1")
        if self.common_fraction is not None and not 0.0 <= float(self.common_fraction) <= 1.0:
            raise ValueError(f"common_fraction={self.common_fraction} must lie in [0, 1]")
        for name in ("validation_fraction", "holdout_fraction"):
            if not 0.0 < float(getattr(self, name)) < 1.0:
                raise ValueError(f"{name}={getattr(self, name)} must lie strictly between 0 and 1")
        if not 0.0 <= float(self.public_fraction) < 1.0:
            raise ValueError(f"public_fraction={self.public_fraction} must lie in [0, 1)")
        held_out = self.validation_fraction + self.holdout_fraction + self.public_fraction
        if held_out >= 1.0:
            raise ValueError(f"validation_fraction + holdout_fraction + public_fraction = {held_out:g} leaves no "
                             "samples to train on")
        if self.panel_path is None and float(self.public_fraction) == 0.0:
            raise ValueError("the panel must come from public information: give a public split (public_fraction > 0) "
                             "or a site list declared public (panel_path)")
        vcf.parse_region(self.region, vcf.normalise_chromosome(self.chromosome))

    def params(self) -> dict[str, Any]:
        """What the cohort is made from, as the manifest records it (the input files by
        checksum): a rerun with the same parameters and inputs reuses the cohort."""
        params: dict[str, Any] = dict(
            source=self.source, seed=self.seed, chromosome=vcf.normalise_chromosome(self.chromosome),
            region=self.region, vcf_sha256=rundir.sha256(self.vcf_path) if self.source == "vcf" else None,
            populations_sha256=rundir.sha256(self.populations_path) if self.populations_path else None,
            panel_sha256=rundir.sha256(self.panel_path) if self.panel_path else None,
            assembly=self.assembly, n_sites=self.n_sites, common_fraction=self.common_fraction,
            validation_fraction=self.validation_fraction, holdout_fraction=self.holdout_fraction,
            public_fraction=self.public_fraction, version=2)
        if self.source == "simulate":
            params.update(sim_samples_per_population=self.sim_samples_per_population, sim_length=self.sim_length)
        return params


@dataclass
class Source:
    """A cohort source before any genotype is looked at: the sample table, and either the
    whole cohort in memory (a simulation) or the file to read it from."""
    samples: pd.DataFrame
    cohort: Cohort | None = None
    path: Path | None = None
    populations: Path | None = None
    assembly: str | None = None
    label: str = ""


def open_source(spec: DataSpec, progress: bool) -> Source:
    """The :class:`Source` of ``spec.source`` (``"1000g"`` downloads the release once, see
    :mod:`lib.genomes.download`)."""
    if spec.source == "simulate":
        left, length = simulate.DEFAULT_LEFT, spec.sim_length
        bounds = vcf.parse_region(spec.region, vcf.normalise_chromosome(spec.chromosome))
        if bounds is not None:  # simulate exactly the requested window
            left, length = bounds[0] - 1, bounds[1] - bounds[0] + 1
        cohort = simulate.simulate_cohort(spec.sim_samples_per_population, length, left=left, seed=spec.seed)
        return Source(samples=cohort.samples, cohort=cohort, label=cohort.source)
    assembly = spec.assembly
    if spec.source == "1000g":
        if vcf.normalise_chromosome(spec.chromosome) != "22":
            raise ValueError(f"source='1000g' downloads chromosome 22 only, not chromosome={spec.chromosome!r}")
        paths = download.fetch_1000g_chr22(spec.sources_dir, progress=progress)
        path, populations, assembly = paths["vcf"], Path(spec.populations_path or paths["populations"]), assembly or "GRCh37"
    else:
        path, populations = Path(spec.vcf_path), Path(spec.populations_path) if spec.populations_path else None
    return Source(samples=vcf.sample_table(path, populations), path=path, populations=populations,
                  assembly=assembly, label=f"{spec.source}: {path.name}")


# --------------------------------------------------------------------------------------
# 2-4. Splits, the public panel, its cost
# --------------------------------------------------------------------------------------

@dataclass
class Prepared:
    cohort: Cohort                    # the panel's sites x every person
    splits: dict[str, list[str]]
    panel: dict[str, Any]             # panel.json: public
    diagnostics: dict[str, Any]       # diagnostics/data.json: the reader's repairs, the panel's notes
    coverage: pd.DataFrame            # diagnostics/panel_coverage.csv (outside the guarantee)
    paths: dict[str, Path]
    reused: bool


def _declared_table(declared: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The declared sites with the source's per-group counts (zero where the source has
    no record of a declared site: nobody there carries its ALT allele)."""
    counts = [c for c in table.columns if c.split("_")[0] in ("ac", "an", "carriers", "polymorphic")]
    site_columns = [c for c in ("pos", "ref", "alts", "id", "key") if c in declared]
    merged = declared[site_columns].merge(table[["key"] + counts], on="key", how="left")
    for column in counts:
        merged[column] = merged[column].fillna(False if column.startswith("polymorphic") else 0)
        merged[column] = merged[column].astype(bool if column.startswith("polymorphic") else int)
    return merged


def choose_panel(source: Source, groups: Mapping[str, list[str]], *, panel_path: str | None, chromosome: str,
                 region: str | None, n_sites: int | None, common_fraction: float, seed: int,
                 progress: bool) -> tuple[pd.DataFrame, pd.DataFrame, panel.PanelChoice, list[str]]:
    """The source's site table (per-group counts), the panel's sites (``pos``, ``ref``,
    ``alts``, ``id``, ``key``), how they were chosen, and the reader's repairs."""
    if source.cohort is not None:
        table, repairs = panel.site_table(source.cohort, groups), list(source.cohort.repairs)
        table["id"] = source.cohort.sites["id"].to_numpy()
    else:
        table, repairs = vcf.scan_frequencies(source.path, chromosome=chromosome, region=region,
                                              assembly=source.assembly, progress=progress,
                                              groups={**groups, "all": source.samples["sample"].tolist()})
    if panel_path is None:
        choice = panel.from_public_split(table, n_sites, common_fraction, seed)
        return table, table.iloc[choice.index].reset_index(drop=True), choice, repairs
    same_file = source.path is not None and Path(panel_path).resolve() == source.path.resolve()
    declared = table if same_file else vcf.read_sites(panel_path, chromosome=chromosome, region=region,
                                                      assembly=source.assembly)
    candidates = _declared_table(declared, table)
    choice = panel.from_declared(candidates, n_sites, common_fraction, seed)
    if not same_file:
        choice.notes.append(f"{int((~candidates['key'].isin(table['key'])).sum())} of the {len(candidates)} declared "
                            "sites have no record in the source: everyone is homozygous REF there")
    return table, candidates.iloc[choice.index].reset_index(drop=True), choice, repairs


def cohort_on_panel(source: Source, sites: pd.DataFrame, chromosome: str, region: str | None,
                    progress: bool) -> Cohort:
    """Every person's genotypes at the panel's sites (second pass over a file)."""
    if source.cohort is not None:
        cohort = source.cohort
    else:
        cohort = vcf.read_vcf(source.path, chromosome=chromosome, region=region, populations_path=source.populations,
                              assembly=source.assembly, progress=progress, keep_sites=set(sites["key"]))
    cohort.source = source.label
    return panel.on_sites(cohort, sites)


# --------------------------------------------------------------------------------------
# 5. The whole step, with the run directory
# --------------------------------------------------------------------------------------

def prepare(run: str | os.PathLike, spec: DataSpec, *, progress: bool = True) -> Prepared:
    """Load, split, choose the public panel, measure its coverage and write (or reuse) the
    cohort of a run, as ``spec`` says (:class:`DataSpec`, checked before any work). See the
    module docstring."""
    run = Run.of(run)
    spec.check()
    params = spec.params()
    paths = data_paths(run)
    if run.is_current(params, list(paths.values())):
        log.info("reusing the cohort in %s (same parameters and inputs)", paths["vcf"].parent)
        return read_prepared(run, reused=True)

    opened = open_source(spec, progress=progress)
    split = splits.make_splits(opened.samples, spec.validation_fraction, spec.holdout_fraction, spec.seed,
                               public_fraction=spec.public_fraction)
    table, sites, choice, repairs = choose_panel(opened, split, panel_path=spec.panel_path, chromosome=spec.chromosome,
                                                 region=spec.region, n_sites=spec.n_sites,
                                                 common_fraction=spec.common_fraction, seed=spec.seed,
                                                 progress=progress)
    cohort = cohort_on_panel(opened, sites, spec.chromosome, spec.region, progress)
    cohort.repairs = repairs
    coverage = panel.coverage(table, table["key"].isin(set(sites["key"])).to_numpy())
    public_panel = panel_record(cohort, choice, split["public"], spec.panel_path is not None)
    diagnostics = {"source": opened.label, "n_source_sites": len(table), "repairs": repairs,
                   "panel_notes": choice.notes}
    write_cohort(run, cohort, split, public_panel, diagnostics, coverage, seed=spec.seed)
    run.record(CHAPTER, params, list(paths.values()))
    return read_prepared(run, reused=False, cohort=cohort)


def prepare_with(run: str | os.PathLike, settings: Mapping[str, Any], seed: int, *, region: str | None = None,
                 chromosome: str = "22", n_sites: int | None = None, progress: bool = False,
                 **data: Any) -> Prepared:
    """:func:`prepare` with :meth:`DataSpec.from_profile` (a download always shows its progress)."""
    spec = DataSpec.from_profile(settings, seed, region=region, chromosome=chromosome, n_sites=n_sites, **data)
    return prepare(run, spec, progress=progress or spec.source == "1000g")


def panel_record(cohort: Cohort, choice: panel.PanelChoice, public: list[str], declared: bool) -> dict[str, Any]:
    """``panel.json``: the panel and how it was chosen, from public information only (no
    file name, checksum or count that a member could change)."""
    sites = cohort.sites
    return {"contig": vars(cohort.contig), "basis": choice.basis, "declared": declared,
            "n_public_people": len(public), "n_candidates": choice.n_candidates if not declared else None,
            "n_sites": cohort.n_sites, "n_common": choice.n_common, "n_rare": choice.n_rare,
            "common_maf_threshold": panel.COMMON_MAF, "phased": panel.phased_convention(cohort, public),
            "sites": profiletext.site_keys(cohort),
            "site_table": {"pos": sites["pos"].astype(int).tolist(), "ref": sites["ref"].tolist(),
                           "alts": [list(a) for a in sites["alts"]], "id": sites["id"].tolist()}}


def data_paths(run: str | os.PathLike) -> dict[str, Path]:
    """Every file the chapter writes: ``cohort/`` and its diagnostics."""
    run = Run.of(run)
    return {**run.cohort_paths(), **run.data_diagnostics_paths()}


def write_cohort(run: Path, cohort: Cohort, split: dict[str, list[str]], public_panel: dict[str, Any],
                 diagnostics: dict[str, Any], coverage: pd.DataFrame, *, seed: int) -> None:
    """Write every file of ``cohort/`` and the data diagnostics, each atomically."""
    paths = data_paths(run)
    vcf.write_vcf(cohort, paths["vcf"], source="lib.ch01_data")
    split_of = {s: name for name, ids in split.items() for s in ids}
    table = cohort.samples.assign(split=cohort.samples["sample"].map(split_of))
    with rundir.atomic_path(paths["populations"]) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    rundir.write_json(paths["splits"], {"seed": seed, "stratified_by": "population",
                                        "sizes": {k: len(v) for k, v in split.items()}, **split})
    rundir.write_json(paths["panel"], public_panel)
    rundir.write_json(paths["data"], diagnostics)
    rundir.write_text(paths["coverage"], coverage.to_csv(index=False))
    sparse, dense = profiletext.profiles(cohort, sparse=True), profiletext.profiles(cohort, sparse=False)
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
                out.write((json.dumps({"sample": row.sample, "split": row.split, "variants": records}) + "\n").encode())


def read_prepared(run: Path, reused: bool, cohort: Cohort | None = None) -> Prepared:
    """What :func:`prepare` wrote, read back."""
    paths = data_paths(run)
    return Prepared(cohort=cohort if cohort is not None else artefacts.load_cohort(run),
                    splits=artefacts.load_splits(run), panel=artefacts.read_panel_json(run),
                    diagnostics=json.loads(paths["data"].read_text()),
                    coverage=pd.read_csv(paths["coverage"]), paths=paths, reused=reused)


# --------------------------------------------------------------------------------------
# Tables for the chapter
# --------------------------------------------------------------------------------------

def summary_table(prepared: Prepared) -> pd.DataFrame:
    """The cohort at a glance: source, contig, people, sites, how the panel was chosen."""
    cohort, info = prepared.cohort, prepared.panel
    basis = ("a site list declared public" if info["declared"] else
             f"the {info['n_public_people']} public people's genotypes")
    rows = {"source": prepared.diagnostics["source"],
            "contig": f"{cohort.contig.name} ({cohort.contig.assembly}, {cohort.contig.length:,} bp)",
            "people": f"{cohort.n_samples:,}", "sites in the source": f"{prepared.diagnostics['n_source_sites']:,}",
            "panel chosen from": basis, "panel sites": f"{cohort.n_sites:,}",
            "common (public MAF >= 5%)": f"{info['n_common']:,}", "rare (public MAF < 5%)": f"{info['n_rare']:,}",
            "genotypes written": "phased (|)" if info["phased"] else "unphased (/)"}
    return pd.DataFrame({"": list(rows), "value": list(rows.values())}).set_index("")


def split_table(prepared: Prepared) -> pd.DataFrame:
    """People per super-population and split."""
    split_of = {s: name for name, ids in prepared.splits.items() for s in ids}
    table = prepared.cohort.samples.assign(split=prepared.cohort.samples["sample"].map(split_of))
    return pd.crosstab(table["superpopulation"], table["split"], margins=True, margins_name="all")[
        [*splits.SPLITS, "all"]]


def coverage_table(prepared: Prepared) -> pd.DataFrame:
    """:func:`lib.genomes.panel.coverage`, formatted."""
    frame = prepared.coverage.copy()
    for column in ("at source sites", "on the panel"):
        frame[column] = frame[column].map("{:,}".format)
    frame["share on the panel"] = frame["share on the panel"].map(lambda x: "–" if pd.isna(x) else f"{x:.1%}")
    return frame.set_index("measure")


def profile_length_table(run: Path, n_sites: int) -> pd.DataFrame:
    """Records per person, dense (every panel site) and sparse (non-reference only)."""
    lengths = artefacts.read_profiles(run)["variants"].map(len)
    return pd.DataFrame({"dense (every panel site)": [n_sites] * 3,
                         "sparse (non-reference only)": lengths.describe()[["min", "mean", "max"]].round(1).tolist()},
                        index=["min", "mean", "max"])


def example_profile(run: Path, n_records: int = 6) -> str:
    """The first records of the first holdout person's sparse profile."""
    table = artefacts.read_profiles(run)
    row = table[table["split"] == "holdout"].iloc[0]
    more = " ..." if len(row["variants"]) > n_records else ""
    return f"{row['sample']} ({row['population']}):\n" + "  ".join(row["variants"][:n_records]) + more


def written_files(prepared: Prepared, run: Path) -> pd.DataFrame:
    """The chapter's files with their sizes and checksums."""
    return pd.DataFrame([{"file": str(p.relative_to(run)), "bytes": f"{p.stat().st_size:,}",
                          "sha256": rundir.sha256(p)[:16]} for p in prepared.paths.values()]).set_index("file")


def numbers(prepared: Prepared) -> dict[str, str]:
    """The numbers the chapter's prose glues, formatted."""
    cohort, info = prepared.cohort, prepared.panel
    coverage = prepared.coverage.set_index("measure")
    rare = coverage.loc["rare variant sites"]
    basis = ("a site list declared public" if info["declared"] else
             f"the genotypes of the {info['n_public_people']} public people")
    return {"n_samples": f"{cohort.n_samples:,}", "n_sites": f"{cohort.n_sites:,}",
            "n_source_sites": f"{prepared.diagnostics['n_source_sites']:,}", "n_common": f"{info['n_common']:,}",
            "n_rare": f"{info['n_rare']:,}", "source_text": prepared.diagnostics["source"],
            "assembly": f"{cohort.contig.assembly} (chr{vcf.normalise_chromosome(cohort.contig.name)}, "
                        f"{cohort.contig.length:,} bp)",
            **{f"n_{name}": f"{len(ids):,}" for name, ids in prepared.splits.items()},
            "panel_basis": basis,
            "genotype_coverage": f"{coverage.loc['non-reference genotypes', 'share on the panel']:.1%}",
            "rare_member_sites": f"{int(rare['at source sites']):,}",
            "rare_member_sites_off_panel": f"{int(rare['at source sites'] - rare['on the panel']):,}",
            "rare_member_sites_no_public": f"{int(coverage.loc['carried by no public person', 'at source sites']):,}"}


def repairs_markdown(prepared: Prepared) -> str:
    """What the reader repaired and the panel's notes, as a Markdown list."""
    notes = prepared.diagnostics["repairs"] + prepared.diagnostics["panel_notes"]
    return "\n".join(f"- {note}" for note in notes) if notes else "- nothing: the source was clean."
