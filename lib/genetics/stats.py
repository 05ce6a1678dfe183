"""Population-genetics statistics of a cohort, and ``bcftools stats`` as the reference.

Before a language model learns to write genetic-variant profiles, we describe the cohort it
learns from; after it has written synthetic ones, we describe those the same way and ask
whether they look like real human variation. Each function here takes a
:class:`~lib.genomes.cohort.Cohort` and returns a tidy :class:`pandas.DataFrame` (or a small dict).
Every frequency is computed from the genotypes, never from a VCF's INFO fields, which may
be stale or wrong (the 1000 Genomes panel in ``data/1000g/`` is an example).

**Who is in the cohort** (:func:`population_composition`). 1000 Genomes samples come from
26 populations grouped into five super-populations: AFR (African), AMR (admixed American),
EAS (East Asian), EUR (European) and SAS (South Asian). African genomes carry the most
variation (human diversity is highest in Africa), so the composition drives everything
below.

**Variants per genome** (:func:`variants_per_sample`). A genotype is *non-reference* when at
least one of its two alleles differs from the reference genome; it is *heterozygous* when
its two alleles differ and *homozygous ALT* when both are the same ALT allele. Africans
carry more heterozygous sites than non-Africans (the out-of-Africa bottleneck removed
diversity), and the het/hom ratio is a standard check of genotype quality.

**Kinds of variants** (:func:`variant_types`, :func:`variant_type_summary`,
:func:`ts_tv`), counted the way ``bcftools stats`` counts them (htslib's
``bcf_set_variant_type``): after trimming the bases REF and ALT share at both ends, an ALT
allele is an *SNV* (one base changed), an *MNP* (several adjacent bases changed, same
length), an *insertion* or *deletion* (REF and ALT differ in length and the shorter one is a
prefix/suffix of the longer) or *other* (complex substitutions such as ``ACT>TCGA``,
symbolic alleles). A site (a VCF record) counts once in each class that one of its ALT
alleles has, and is *multi-allelic* when it has more than one ALT allele.

SNVs are *transitions* (purine<->purine ``A<->G`` or pyrimidine<->pyrimidine ``C<->T``)
or *transversions* (the other eight substitutions). There are twice as many possible
transversions, so random errors give Ts/Tv ~ 0.5; real mutation favours transitions
(deamination of methylated CpG turns C into T), and whole-genome call sets of 1000
Genomes show Ts/Tv ~ 2.0-2.1 (exomes ~ 3). GC- and CpG-rich chromosome 22 is higher: the
phase 3 chr22 call set has 2.39. A Ts/Tv far below 2 flags false-positive calls, or a
generator that writes random substitutions.

**Allele frequencies** (:func:`allele_frequency_spectrum`). The ALT allele frequency of a
site is the share of called alleles that are non-reference; the minor allele frequency
(MAF) is the smaller of that and its complement. Human populations have grown fast and
recently, so most variants are rare: in 1000 Genomes chr22 over half of all SNVs are
singletons (one copy among 5,008 chromosomes). Rare variants are also the ones that
identify people, which is why the privacy chapters care about them.

**Where variants lie** (:func:`density`). Chromosome 22 is acrocentric: its short arm
(the first ~16 Mb of GRCh37) is heterochromatin and rDNA that short-read sequencing
cannot place, so those bins are empty; density then follows the gene-rich long arm.

**The reference** (:func:`read_bcftools_stats`, :func:`bcftools_stats`,
:func:`compare_with_reference`). ``bcftools stats`` of the full 1000 Genomes phase 3 chr22
VCF (2,504 samples) is the yardstick. The cohort's numbers are best computed by the same
tool (pysam bundles bcftools), so that both columns of the comparison mean the same thing.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Union

import numpy as np
import pandas as pd

from . import popgen
from ..genomes.cohort import SUPERPOPULATIONS, Cohort, UNKNOWN


#: Default bin edges of the folded (minor allele frequency) spectrum.
MAF_BINS = (0.0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
#: Default bin edges of the unfolded (ALT allele frequency) spectrum.
ALT_AF_BINS = (0.0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0)

COHORT_LABEL = "this cohort"

StatsDict = dict[str, pd.DataFrame]


# --------------------------------------------------------------------------------------
# Who is in the cohort
# --------------------------------------------------------------------------------------

def _superpopulation_rank(values: pd.Series) -> pd.Series:
    order = {name: i for i, name in enumerate(SUPERPOPULATIONS[:-1])}
    return values.map(lambda s: order.get(s, len(order) + (1 if s == UNKNOWN else 0)))


def population_composition(cohort: Cohort) -> pd.DataFrame:
    """Samples per population.

    Columns: ``superpopulation``, ``population``, ``n_samples``, ``fraction`` (of all
    samples), ``superpopulation_n_samples`` (the super-population's total). One row per
    population, ordered AFR, AMR, EAS, EUR, SAS, other codes, ``unknown``, then population.
    """
    samples = cohort.samples
    if len(samples) == 0:
        return pd.DataFrame(columns=["superpopulation", "population", "n_samples", "fraction",
                                     "superpopulation_n_samples"])
    counts = (samples.groupby(["superpopulation", "population"], dropna=False).size()
              .rename("n_samples").reset_index())
    counts["fraction"] = counts["n_samples"] / len(samples)
    counts["superpopulation_n_samples"] = counts.groupby("superpopulation")["n_samples"].transform("sum")
    counts["_rank"] = _superpopulation_rank(counts["superpopulation"])
    counts = counts.sort_values(["_rank", "superpopulation", "population"]).drop(columns="_rank")
    return counts.reset_index(drop=True)


def variants_per_sample(cohort: Cohort) -> pd.DataFrame:
    """Non-reference genotypes per sample.

    Columns: ``sample``, ``population``, ``superpopulation``, ``n_non_ref`` (sites where at
    least one called allele is ALT, half-missing calls such as ``./1`` included), ``n_het``
    (both alleles called and different), ``n_hom_alt`` (both called, the same ALT allele),
    ``n_missing`` (sites where at least one allele is missing), ``n_called`` (both alleles
    called), ``het_hom_ratio`` (``n_het / n_hom_alt``, NaN without hom-ALT calls).
    ``n_non_ref >= n_het + n_hom_alt``, equal when no call is half-missing.
    """
    gt = cohort.genotypes
    a, b = gt[..., 0], gt[..., 1]
    called = (a >= 0) & (b >= 0)
    non_ref = (a > 0) | (b > 0)
    het = called & (a != b)
    hom_alt = called & (a == b) & (a > 0)
    out = cohort.samples[["sample", "population", "superpopulation"]].copy().reset_index(drop=True)
    out["n_non_ref"] = non_ref.sum(axis=0).astype(np.int64)
    out["n_het"] = het.sum(axis=0).astype(np.int64)
    out["n_hom_alt"] = hom_alt.sum(axis=0).astype(np.int64)
    out["n_missing"] = (~called).sum(axis=0).astype(np.int64)
    out["n_called"] = called.sum(axis=0).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["het_hom_ratio"] = np.where(out["n_hom_alt"] > 0,
                                        out["n_het"] / out["n_hom_alt"].clip(lower=1), np.nan)
    return out


# --------------------------------------------------------------------------------------
# Kinds of variants
# --------------------------------------------------------------------------------------

_TRANSITIONS = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}
_REF_LIKE_SYMBOLIC = {"<*>", "<X>", "<NON_REF>"}


def classify_allele(ref: str, alt: str) -> tuple[str, str | None, str | None]:
    """The class of one ALT allele against REF, as htslib's ``bcf_set_variant_type``.

    Returns ``(kind, ref_base, alt_base)`` where ``kind`` is one of ``"ref"`` (no change,
    ``.``), ``"snv"``, ``"mnp"``, ``"insertion"``, ``"deletion"``, ``"other"``,
    ``"overlap"`` (the ``*`` allele); for an SNV the two differing bases (upper case),
    else ``None``. E.g. ``AT>GT`` is an SNV ``A>G``; ``ACT>TCGA`` is "other".
    """
    ref = str(ref).upper()
    alt = str(alt).upper()
    if alt == "*":
        return "overlap", None, None
    if len(ref) == 1 and len(alt) == 1:
        if alt in (".", "X") or alt == ref:
            return "ref", None, None
        return "snv", ref, alt
    if alt in ("", ".") or alt in _REF_LIKE_SYMBOLIC:
        return "ref", None, None
    if alt.startswith("<") or "[" in alt or "]" in alt:
        return "other", None, None
    # common prefix
    i = 0
    while i < len(ref) and i < len(alt) and ref[i] == alt[i]:
        i += 1
    if i == len(ref) and i == len(alt):
        return "ref", None, None
    if i == len(ref):
        return "insertion", None, None
    if i == len(alt):
        return "deletion", None, None
    # common suffix, not crossing the prefix
    re_, ae = len(ref) - 1, len(alt) - 1
    while re_ > i and ae > i and ref[re_] == alt[ae]:
        re_ -= 1
        ae -= 1
    if ae == i:
        if re_ == i:
            return "snv", ref[i], alt[i]
        return ("deletion" if ref[re_] == alt[ae] else "other"), None, None
    if re_ == i:
        return ("insertion" if ref[re_] == alt[ae] else "other"), None, None
    return ("mnp" if re_ - i == ae - i else "other"), None, None


def _alts_of(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(a for a in value.split(",") if a not in ("", "."))
    return tuple(str(a) for a in value)


def variant_types(cohort: Cohort) -> pd.DataFrame:
    """The classes of every site, counted as ``bcftools stats`` counts them.

    Columns: ``pos``, ``ref``, ``alts``, ``n_alts``, ``allele_types`` (tuple, one class per
    ALT: snv/mnp/insertion/deletion/other/ref/overlap), ``type`` (``"SNV"``, ``"MNP"``,
    ``"insertion"``, ``"deletion"``, ``"other"``, ``"no-ALT"`` or ``"mixed"`` when the ALT
    alleles differ in class), booleans ``is_snv``, ``is_mnp``, ``is_indel``,
    ``is_insertion``, ``is_deletion``, ``is_other``, ``is_no_alt``, ``is_multiallelic``
    (more than one ALT allele), and ``n_transitions`` / ``n_transversions`` (SNV ALT
    alleles of each kind; SNVs involving N count as neither).
    """
    rows = []
    for pos, ref, alts in zip(cohort.sites["pos"], cohort.sites["ref"], cohort.sites["alts"]):
        alts = _alts_of(alts)
        kinds, ts, tv = [], 0, 0
        for alt in alts:
            kind, rb, ab = classify_allele(ref, alt)
            kinds.append(kind)
            if kind == "snv" and rb in "ACGT" and ab in "ACGT":
                if (rb, ab) in _TRANSITIONS:
                    ts += 1
                else:
                    tv += 1
        variant = {k for k in kinds if k not in ("ref", "overlap")}
        if not variant:
            label = "no-ALT"
        elif len(variant) == 1:
            label = {"snv": "SNV", "mnp": "MNP"}.get(next(iter(variant)), next(iter(variant)))
        else:
            label = "mixed"
        rows.append({
            "pos": int(pos), "ref": ref, "alts": alts, "n_alts": len(alts),
            "allele_types": tuple(kinds), "type": label,
            "is_snv": "snv" in variant, "is_mnp": "mnp" in variant,
            "is_indel": bool(variant & {"insertion", "deletion"}),
            "is_insertion": "insertion" in variant, "is_deletion": "deletion" in variant,
            "is_other": "other" in variant, "is_no_alt": not variant,
            "is_multiallelic": len(alts) > 1,
            "n_transitions": ts, "n_transversions": tv,
        })
    columns = ["pos", "ref", "alts", "n_alts", "allele_types", "type", "is_snv", "is_mnp",
               "is_indel", "is_insertion", "is_deletion", "is_other", "is_no_alt",
               "is_multiallelic", "n_transitions", "n_transversions"]
    return pd.DataFrame(rows, columns=columns)


#: Rows of :func:`variant_type_summary` and the ``bcftools stats`` SN key each matches.
SUMMARY_ROWS = {
    "records": "number of records",
    "no-ALT": "number of no-ALTs",
    "SNV": "number of SNPs",
    "MNP": "number of MNPs",
    "indel": "number of indels",
    "insertion": None,
    "deletion": None,
    "other": "number of others",
    "multi-allelic": "number of multiallelic sites",
    "multi-allelic SNV": "number of multiallelic SNP sites",
}


def variant_type_summary(cohort: Cohort) -> pd.DataFrame:
    """Counts of sites per class, like the SN section of ``bcftools stats``.

    Columns: ``type`` (records, no-ALT, SNV, MNP, indel, insertion, deletion, other,
    multi-allelic, multi-allelic SNV), ``count``, ``fraction`` (of records), ``bcftools_key``
    (the matching SN key, or None). A site with an SNV and an indel ALT counts in both, so
    the class fractions can sum to more than one. "multi-allelic SNV": multi-allelic and
    every ALT an SNV.
    """
    vt = variant_types(cohort)
    n = len(vt)
    all_snv = vt["allele_types"].map(lambda ks: len(ks) > 0 and all(k == "snv" for k in ks))
    counts = {
        "records": n,
        "no-ALT": int(vt["is_no_alt"].sum()),
        "SNV": int(vt["is_snv"].sum()),
        "MNP": int(vt["is_mnp"].sum()),
        "indel": int(vt["is_indel"].sum()),
        "insertion": int(vt["is_insertion"].sum()),
        "deletion": int(vt["is_deletion"].sum()),
        "other": int(vt["is_other"].sum()),
        "multi-allelic": int(vt["is_multiallelic"].sum()),
        "multi-allelic SNV": int((vt["is_multiallelic"] & all_snv).sum()),
    }
    out = pd.DataFrame({"type": list(counts), "count": list(counts.values())})
    out["fraction"] = out["count"] / n if n else np.nan
    out["bcftools_key"] = out["type"].map(SUMMARY_ROWS)
    return out


def ts_tv(cohort: Cohort) -> dict[str, float]:
    """Transitions, transversions and their ratio over all SNV ALT alleles.

    Keys: ``transitions``, ``transversions``, ``ts_tv`` (NaN without transversions), and the
    same over first ALT alleles only (``transitions_first_alt``, ``transversions_first_alt``,
    ``ts_tv_first_alt``), as the TSTV section of ``bcftools stats``.
    """
    ts = tv = ts1 = tv1 = 0
    for ref, alts in zip(cohort.sites["ref"], cohort.sites["alts"]):
        for i, alt in enumerate(_alts_of(alts)):
            kind, rb, ab = classify_allele(ref, alt)
            if kind != "snv" or rb not in "ACGT" or ab not in "ACGT":
                continue
            is_ts = (rb, ab) in _TRANSITIONS
            ts += is_ts
            tv += not is_ts
            if i == 0:
                ts1 += is_ts
                tv1 += not is_ts
    ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {"transitions": ts, "transversions": tv, "ts_tv": ratio(ts, tv),
            "transitions_first_alt": ts1, "transversions_first_alt": tv1,
            "ts_tv_first_alt": ratio(ts1, tv1)}


# --------------------------------------------------------------------------------------
# Allele frequencies
# --------------------------------------------------------------------------------------

def _percent(x: float) -> str:
    return f"{x * 100:g}%"


def _bin_labels(edges: np.ndarray) -> list[str]:
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if lo == 0:
            labels.append(f"<{_percent(hi)}")
        else:
            labels.append(f"{lo * 100:g}-{_percent(hi)}")
    return labels


def allele_frequency_spectrum(cohort: Cohort, bins: Iterable[float] | None = None,
                              folded: bool = True) -> dict[str, Any]:
    """Allele frequencies per site from the genotypes, and their spectrum.

    ``folded=True`` bins the minor allele frequency (default edges :data:`MAF_BINS`, up to
    0.5); ``folded=False`` bins the ALT allele frequency (default :data:`ALT_AF_BINS`).
    Bins are ``[lo, hi)``, the last one closed. In the folded spectrum sites whose minor
    allele is absent from the cohort (MAF 0) get their own first bin ``"monomorphic"``.

    Returns a dict:

    - ``"sites"``: per site ``pos``, ``ref``, ``alts``, ``alt_allele_count`` (AC, all ALT
      alleles together), ``called_alleles`` (AN), ``alt_frequency`` (AC/AN, 0 when nothing
      is called), ``minor_allele_count``, ``minor_allele_frequency``, ``is_singleton``
      (AC == 1, as ``bcftools stats`` counts singletons);
    - ``"spectrum"``: per bin ``bin`` (label), ``order``, ``lower``, ``upper``, ``n_sites``,
      ``fraction`` (of sites);
    - ``"sfs"``: the folded site-frequency spectrum by minor allele count,
      ``minor_allele_count`` 0..max, ``n_sites``, ``fraction`` (every count, zeros included;
      at most n_samples + 1 rows);
    - ``"n_singletons"``, ``"singleton_fraction"`` (of sites), ``"n_sites"``.
    """
    ac = cohort.alt_counts().astype(np.int64)
    an = cohort.called_alleles().astype(np.int64)
    af = cohort.alt_frequency().astype(float)
    mac = np.minimum(ac, an - ac)
    maf = np.minimum(af, 1.0 - af)
    sites = pd.DataFrame({
        "pos": cohort.sites["pos"].astype(np.int64).to_numpy(),
        "ref": cohort.sites["ref"].to_numpy(),
        "alts": cohort.sites["alts"].to_numpy(),
        "alt_allele_count": ac, "called_alleles": an, "alt_frequency": af,
        "minor_allele_count": mac, "minor_allele_frequency": maf,
        "is_singleton": ac == 1,
    })
    n = len(sites)

    if bins is None:
        bins = MAF_BINS if folded else ALT_AF_BINS
    edges = np.asarray(list(bins), dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins={list(bins)!r} must be at least two increasing edges")
    values = maf if folded else af
    lo_edge, hi_edge = edges[0], edges[-1]
    if n and (values.min() < lo_edge or values.max() > hi_edge):
        raise ValueError(f"bins {edges[0]:g}..{edges[-1]:g} do not cover the frequencies "
                         f"{values.min():g}..{values.max():g}")
    rows = []
    counted = np.ones(n, dtype=bool)
    if folded:
        mono = mac == 0
        rows.append({"bin": "monomorphic", "lower": 0.0, "upper": 0.0, "n_sites": int(mono.sum())})
        counted = ~mono
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    labels = _bin_labels(edges)
    for i, label in enumerate(labels):
        rows.append({"bin": label, "lower": float(edges[i]), "upper": float(edges[i + 1]),
                     "n_sites": int(((idx == i) & counted).sum())})
    spectrum = pd.DataFrame(rows)
    spectrum.insert(1, "order", np.arange(len(spectrum)))
    spectrum["fraction"] = spectrum["n_sites"] / n if n else np.nan

    max_mac = int(mac.max()) if n else 0
    sfs = pd.DataFrame({"minor_allele_count": np.arange(max_mac + 1),
                        "n_sites": np.bincount(mac, minlength=max_mac + 1) if n else [0]})
    sfs["fraction"] = sfs["n_sites"] / n if n else np.nan
    n_single = int(sites["is_singleton"].sum())
    return {"sites": sites, "spectrum": spectrum, "sfs": sfs, "n_sites": n,
            "n_singletons": n_single, "singleton_fraction": n_single / n if n else float("nan")}


def _alt_allele_table(cohort: Cohort) -> pd.DataFrame:
    """One row per ALT allele: ``site``, ``kind``, ``ac``, ``an``, ``af`` (from genotypes)."""
    an = cohort.called_alleles().astype(np.int64)
    rows = []
    gt = cohort.genotypes
    for s, (ref, alts) in enumerate(zip(cohort.sites["ref"], cohort.sites["alts"])):
        for k, alt in enumerate(_alts_of(alts), start=1):
            ac = int((gt[s] == k).sum())
            rows.append({"site": s, "kind": classify_allele(ref, alt)[0], "ac": ac,
                         "an": int(an[s]), "af": ac / an[s] if an[s] else 0.0})
    return pd.DataFrame(rows, columns=["site", "kind", "ac", "an", "af"])


# --------------------------------------------------------------------------------------
# Where variants lie
# --------------------------------------------------------------------------------------

def density(cohort: Cohort, bin_size: int = 1_000_000) -> pd.DataFrame:
    """Variant sites per window along the chromosome, empty windows included.

    Windows of ``bin_size`` bp tile ``1..contig.length`` (the last one is cut at the contig
    length). Columns: ``bin_start``, ``bin_end`` (1-based, inclusive), ``start_mb``,
    ``end_mb``, ``mid_mb`` (the window in Mb: ``start_mb = (bin_start - 1) / 1e6``),
    ``n_variants``, ``variants_per_mb``. A site outside the contig is an error (a wrong
    assembly or contig length in the header).
    """
    if int(bin_size) <= 0:
        raise ValueError(f"bin_size={bin_size} must be a positive number of base pairs")
    bin_size = int(bin_size)
    length = int(cohort.contig.length)
    if length <= 0:
        raise ValueError(f"contig {cohort.contig.name!r} has no length ({length}); cannot bin it")
    pos = cohort.sites["pos"].to_numpy(dtype=np.int64)
    if len(pos) and (pos.min() < 1 or pos.max() > length):
        bad = int(pos.max()) if pos.max() > length else int(pos.min())
        raise ValueError(
            f"{cohort.source or 'cohort'}: site at {cohort.contig.name}:{bad:,} lies outside the "
            f"contig (length {length:,}, assembly {cohort.contig.assembly}); is the contig "
            f"length or assembly in the header right?")
    n_bins = -(-length // bin_size)
    counts = np.bincount((pos - 1) // bin_size, minlength=n_bins) if len(pos) else np.zeros(n_bins, int)
    start = np.arange(n_bins, dtype=np.int64) * bin_size + 1
    end = np.minimum(start + bin_size - 1, length)
    out = pd.DataFrame({"bin_start": start, "bin_end": end,
                        "start_mb": (start - 1) / 1e6, "end_mb": end / 1e6,
                        "n_variants": counts.astype(np.int64)})
    out.insert(4, "mid_mb", (out["start_mb"] + out["end_mb"]) / 2)
    out["variants_per_mb"] = out["n_variants"] / ((end - start + 1) / 1e6)
    return out


# --------------------------------------------------------------------------------------
# bcftools stats
# --------------------------------------------------------------------------------------

_SECTION = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_COLUMN = re.compile(r"\[(\d+)\]([^\[\t]*)")
_RENAME = {"n_transition": "n_transitions", "length_deletions_negative": "length",
           "tab_separated_file_names": "files"}


def _column_name(text: str) -> str:
    name = text.strip().lower().replace("number of ", "n_").replace("(%)", "pct")
    name = name.replace("ts/tv", "ts_tv")
    name = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    return _RENAME.get(name, name)


def parse_bcftools_stats(text: str, source: str = "<text>") -> StatsDict:
    """Parse the text of ``bcftools stats`` (see :func:`read_bcftools_stats`)."""
    headers: dict[str, list[str]] = {}
    data: dict[str, list[list[str]]] = {}
    produced_by = False
    for line in text.splitlines():
        if line.startswith("#"):
            if "produced by bcftools stats" in line:
                produced_by = True
            body = line[1:].strip()
            section, _, rest = body.partition("\t")
            if _SECTION.match(section) and rest.startswith("[2]"):
                cols = [(int(i), name) for i, name in _COLUMN.findall(body)]
                headers[section] = ["section"] + [_column_name(n) for _, n in cols]
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 2 or not _SECTION.match(fields[0]):
            continue  # a stray line, e.g. a shell prompt pasted with the output
        data.setdefault(fields[0], []).append(fields)
    if "SN" not in data:
        hint = "" if produced_by else " and no 'produced by bcftools stats' header"
        raise ValueError(f"{source}: not a bcftools stats file (no SN summary section{hint})")
    out: StatsDict = {}
    for section, rows in data.items():
        cols = headers.get(section, ["section"])
        width = max(len(r) for r in rows)
        cols = cols + [f"col{i}" for i in range(len(cols) + 1, width + 1)]
        frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], columns=cols[:width])
        frame = frame.drop(columns="section")
        for col in frame.columns:
            converted = pd.to_numeric(frame[col].replace(".", np.nan), errors="coerce")
            if converted.notna().sum() == frame[col].replace(".", np.nan).notna().sum():
                frame[col] = converted
        if section == "SN" and "key" in frame:
            frame["key"] = frame["key"].str.rstrip(":")
        frame.attrs["source"] = source
        out[section] = frame
    return out


def read_bcftools_stats(path: Union[str, os.PathLike]) -> StatsDict:
    """Read a ``bcftools stats`` text file into a dict of DataFrames, one per section.

    Keys are the section codes (``SN`` summary numbers, ``TSTV``, ``SiS`` singletons, ``AF``
    by allele frequency, ``QUAL``, ``IDD`` indel lengths, ``ST`` substitution types, ``DP``,
    ``ID``, and any other the file has). Columns come from the file's ``# SECTION [2]...``
    header lines in snake case (``number of SNPs`` -> ``n_snps``, ``ts/tv`` -> ``ts_tv``,
    ``ts (1st ALT)`` -> ``ts_1st_alt``); the ``SN`` keys lose their trailing colon; ``.``
    becomes NaN. Lines that are not comments or section rows (a pasted shell prompt) are
    skipped. A file without an SN section raises a ValueError that names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: bcftools stats file not found")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ValueError(f"{path}: cannot read the bcftools stats file ({err})") from err
    if "\x00" in text[:4096]:
        raise ValueError(f"{path}: not a bcftools stats file (binary content; a VCF.gz?)")
    return parse_bcftools_stats(text, source=str(path))


# bcftools runs in a child Python: htslib calls exit() on some malformed records (e.g. a
# genotype naming an allele the record lacks), which would otherwise kill the interpreter
# (and a notebook's kernel) instead of raising.
_BCFTOOLS_CHILD = r"""
import os, sys, tempfile
try:
    import pysam.bcftools as bcftools
except ImportError as err:
    sys.stderr.write(f"pysam's bundled bcftools is not available: {err}")
    sys.exit(3)
path, drop = sys.argv[1], [k for k in sys.argv[2].split(",") if k]
with tempfile.TemporaryDirectory() as tmp:
    target = path
    if drop:
        target = os.path.join(tmp, "genotypes_only.vcf.gz")
        bcftools.annotate("-x", ",".join("INFO/" + k for k in drop), "-O", "z", "-o", target,
                          path, catch_stdout=False)
    text = bcftools.stats("-s", "-", target)
sys.stdout.write(text)
"""


def bcftools_stats(vcf_path: Union[str, os.PathLike], timeout: float | None = 3600) -> StatsDict:
    """Run ``bcftools stats -s -`` (pysam's bundled bcftools) on a VCF and parse the output.

    Allele counts come from the genotypes: bcftools would take them from INFO ``AC``/``AN``
    when the header declares those (and without them and without ``-s`` it cannot count at
    all), so they are first removed into a temporary copy (``bcftools annotate -x``), and
    ``-s -`` makes bcftools read every sample's genotype (adding the per-sample sections
    ``PSC`` and ``PSI``). bcftools runs in a child process so that a malformed record gives a
    ValueError naming the file instead of ending the Python process.
    """

    path = Path(vcf_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: VCF not found")
    import pysam

    try:
        with pysam.VariantFile(str(path)) as vf:
            drop = sorted({"AC", "AN"} & set(vf.header.info))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable VCF/BCF ({err})") from err
    try:
        proc = subprocess.run([sys.executable, "-c", _BCFTOOLS_CHILD, str(path), ",".join(drop)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise ValueError(f"{path}: bcftools stats did not finish within {timeout} s") from err
    if proc.returncode == 3:
        raise RuntimeError(proc.stderr.strip() + "; install pysam >= 0.22 (PyPI or conda-forge)")
    if proc.returncode != 0 or not proc.stdout.strip():
        errors = [l for l in proc.stderr.splitlines() if "[E::" in l or "rror" in l]
        detail = "; ".join(errors[-3:]) or proc.stderr.strip()[-500:] or f"exit status {proc.returncode}"
        raise ValueError(f"{path}: bcftools stats failed: {detail}")
    return parse_bcftools_stats(proc.stdout, source=f"bcftools stats {path}")


def summary_numbers(stats: StatsDict) -> dict[str, float]:
    """The SN section as ``{key: value}`` (keys without trailing colon)."""
    sn = stats["SN"]
    return dict(zip(sn["key"], sn["value"]))


def _headline_from_bcftools(stats: StatsDict) -> dict[str, float]:
    sn = summary_numbers(stats)
    records = sn.get("number of records", np.nan)
    n_samples = sn.get("number of samples", np.nan)
    out = {"records": records, "samples": n_samples}
    for name, key in (("SNV fraction", "number of SNPs"), ("indel fraction", "number of indels"),
                      ("multi-allelic fraction", "number of multiallelic sites")):
        out[name] = sn.get(key, np.nan) / records if records else np.nan
    tstv = stats.get("TSTV")
    if tstv is not None and len(tstv):
        ts, tv = float(tstv["ts"].iloc[0]), float(tstv["tv"].iloc[0])
        out["Ts/Tv"] = ts / tv if tv else np.nan
    else:
        out["Ts/Tv"] = np.nan
    af = stats.get("AF")
    if af is not None and len(af):
        n = (af["n_snps"] + af["n_indels"]).to_numpy(dtype=float)
        lower = af["allele_frequency"].to_numpy(dtype=float)
        total = n.sum()
        # bcftools' default AF bins are 1 / max(100, n_samples) wide; use their midpoints
        width = 1.0 / max(100.0, float(n_samples) if n_samples == n_samples else 100.0)
        mid = np.minimum(lower + width / 2, 1.0)
        sis = stats.get("SiS")
        singles = float((sis["n_snps"] + sis["n_indels"]).sum()) if sis is not None else np.nan
        out["singleton fraction"] = singles / total if total else np.nan
        out["mean ALT allele frequency"] = float((mid * n).sum() / total) if total else np.nan
        out["AF < 1%"] = float(n[lower < 0.01].sum() / total) if total else np.nan
        out["AF 1-5%"] = float(n[(lower >= 0.01) & (lower < 0.05)].sum() / total) if total else np.nan
        out["AF >= 5%"] = float(n[lower >= 0.05].sum() / total) if total else np.nan
    else:
        for name in ("singleton fraction", "mean ALT allele frequency", "AF < 1%", "AF 1-5%",
                     "AF >= 5%"):
            out[name] = np.nan
    return out


def _headline_from_cohort(cohort: Cohort) -> dict[str, float]:
    summary = variant_type_summary(cohort).set_index("type")["count"]
    records = float(summary["records"])
    out = {"records": records, "samples": float(cohort.n_samples)}
    out["SNV fraction"] = summary["SNV"] / records if records else np.nan
    out["indel fraction"] = summary["indel"] / records if records else np.nan
    out["multi-allelic fraction"] = summary["multi-allelic"] / records if records else np.nan
    out["Ts/Tv"] = ts_tv(cohort)["ts_tv"]
    alleles = _alt_allele_table(cohort)
    alleles = alleles[alleles["kind"].isin(["snv", "insertion", "deletion"])]
    total = len(alleles)
    af = alleles["af"].to_numpy(dtype=float)
    out["singleton fraction"] = float((alleles["ac"] == 1).sum() / total) if total else np.nan
    out["mean ALT allele frequency"] = float(af.mean()) if total else np.nan
    out["AF < 1%"] = float((af < 0.01).mean()) if total else np.nan
    out["AF 1-5%"] = float(((af >= 0.01) & (af < 0.05)).mean()) if total else np.nan
    out["AF >= 5%"] = float((af >= 0.05).mean()) if total else np.nan
    return out


#: What each headline statistic is: a count, a fraction (0..1) or a ratio.
HEADLINE_KINDS = {
    "records": "count", "samples": "count", "SNV fraction": "fraction",
    "indel fraction": "fraction", "multi-allelic fraction": "fraction", "Ts/Tv": "ratio",
    "singleton fraction": "fraction", "mean ALT allele frequency": "fraction",
    "AF < 1%": "fraction", "AF 1-5%": "fraction", "AF >= 5%": "fraction",
}


def headline_statistics(stats: Union[Cohort, Mapping[str, pd.DataFrame], str, os.PathLike]) -> dict[str, float]:
    """The headline numbers of a cohort, from ``bcftools stats`` output or from a Cohort.

    Keys (see :data:`HEADLINE_KINDS`): ``records``, ``samples``, ``SNV fraction``, ``indel
    fraction``, ``multi-allelic fraction`` (of records), ``Ts/Tv``, and over the ALT alleles
    of SNVs and indels: ``singleton fraction`` (AC = 1), ``mean ALT allele frequency``,
    ``AF < 1%``, ``AF 1-5%``, ``AF >= 5%``. ``stats`` is a parsed stats dict, the path of a
    stats text file, or a :class:`Cohort` (then computed here from the genotypes, exactly).
    From bcftools output the frequency rows come from its AF histogram: bins of width
    ``1 / max(100, n_samples)``, classed by their lower edge and averaged at their
    midpoints, so they are exact for cohorts of up to 100 samples and within one bin
    otherwise.
    """
    if isinstance(stats, Cohort):
        return _headline_from_cohort(stats)
    if isinstance(stats, (str, os.PathLike)):
        stats = read_bcftools_stats(stats)
    return _headline_from_bcftools(dict(stats))


def compare_with_reference(cohort_stats, reference_stats, cohort_label: str = COHORT_LABEL,
                           reference_label: str | None = None) -> pd.DataFrame:
    """Headline statistics of the cohort next to those of the reference.

    Both arguments take what :func:`headline_statistics` takes (ideally both parsed
    ``bcftools stats`` output, so that one tool computed both columns). Columns:
    ``statistic``, ``kind`` (count/fraction/ratio), then one column named ``cohort_label``
    and one named ``reference_label`` (default "1000 Genomes phase 3 chr22 (N samples)"
    with N from the reference), one row per headline statistic.
    """
    ours = headline_statistics(cohort_stats)
    ref = headline_statistics(reference_stats)
    if reference_label is None:
        n = ref.get("samples")
        reference_label = (f"1000 Genomes phase 3 chr22 ({int(n):,} samples)"
                           if n is not None and n == n else "reference")
    if reference_label == cohort_label:
        raise ValueError(f"cohort_label and reference_label are both {cohort_label!r}")
    names = list(HEADLINE_KINDS)
    return pd.DataFrame({"statistic": names, "kind": [HEADLINE_KINDS[n] for n in names],
                         cohort_label: [ours[n] for n in names],
                         reference_label: [ref[n] for n in names]})


# --------------------------------------------------------------------------------------
# Population structure
# --------------------------------------------------------------------------------------

def pca(cohort: Cohort, n_components: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    """Principal components of the genotypes: the standard picture of population structure.

    Each person is a vector of ALT allele dosages (0, 1 or 2 per site); each site is centred
    and scaled by its binomial standard deviation ``sqrt(2 p (1 - p))`` (Patterson, Price and
    Reich 2006), so that rare and common sites count alike; monomorphic sites carry no
    information and are left out, missing calls take the site mean. In human data the first
    components separate continental groups (African from non-African first), which a
    synthetic cohort must reproduce.

    Returns one row per sample (``sample``, ``population``, ``superpopulation``, ``PC1``,
    ``PC2``, ...) and the fraction of variance each component explains. Signs are fixed so
    that each component's largest loading is positive (deterministic output).
    """
    dosage = (cohort.genotypes > 0).sum(axis=2).astype(float)  # sites x samples
    missing = (cohort.genotypes < 0).any(axis=2)
    dosage[missing] = np.nan
    p = np.nanmean(dosage, axis=1) / 2.0
    keep = (p > 0) & (p < 1) & np.isfinite(p)
    if keep.sum() < n_components or cohort.n_samples <= n_components:
        raise ValueError(f"PCA needs more than {n_components} polymorphic sites and samples; "
                         f"got {int(keep.sum())} sites and {cohort.n_samples} samples")
    x = dosage[keep]
    x = np.where(np.isnan(x), 2 * p[keep][:, None], x).T  # samples x sites, missing at the mean
    fit = popgen.pca_fit(x, n_components)  # the same axes the utility chapter projects onto
    loadings = fit["components"]  # sites x components
    signs = np.sign(loadings[np.abs(loadings).argmax(axis=0), np.arange(n_components)])
    scores = popgen.pca_project(fit, x) * signs
    explained = fit["explained"]
    table = cohort.samples[["sample", "population", "superpopulation"]].copy()
    for k in range(n_components):
        table[f"PC{k + 1}"] = scores[:, k]
    return table, explained



def format_comparison(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_with_reference`'s table as text for reading: counts with thousands
    separators, fractions as percentages, ratios with two decimals; ``statistic`` as index."""
    formats = {"count": "{:,.0f}", "fraction": "{:.2%}", "ratio": "{:.2f}"}
    values = [c for c in comparison.columns if c not in ("statistic", "kind")]
    out = comparison.set_index("statistic")[values].astype(object)
    for statistic, kind in zip(comparison["statistic"], comparison["kind"]):
        for column in values:
            value = out.at[statistic, column]
            out.at[statistic, column] = "–" if pd.isna(value) else formats[kind].format(value)
    out.index.name = None
    return out


def reference_stats_path(explicit: Union[str, os.PathLike, None] = None) -> Path | None:
    """The whole-chromosome reference statistics: ``explicit`` if given (it must exist), else
    the ``bcftools stats`` of 1000 Genomes phase 3 chr22 shipped in ``data/1000g/``."""
    if explicit is not None:
        path = Path(explicit)
        if not path.exists():
            raise FileNotFoundError(f"{path}: reference statistics not found (reference_stats_path)")
        return path
    candidate = Path(__file__).resolve().parents[2] / "data" / "1000g" / "1000g_phase3_chr22_bcftools_stats.txt"
    return candidate if candidate.exists() else None


# --------------------------------------------------------------------------------------
# Tables as the data chapter shows them
# --------------------------------------------------------------------------------------

def format_composition(composition: pd.DataFrame) -> pd.DataFrame:
    """:func:`population_composition` for display (people, share)."""
    return (composition.rename(columns={"n_samples": "samples"})
            .assign(fraction=composition["fraction"].map("{:.1%}".format))
            .set_index(["superpopulation", "population"]))


def variants_per_population(per_sample: pd.DataFrame) -> pd.DataFrame:
    """Mean non-reference, heterozygous and homozygous-ALT sites per person, per population."""
    return (per_sample.groupby(["superpopulation", "population"])[["n_non_ref", "n_het", "n_hom_alt"]]
            .mean().round(1).rename(columns={"n_non_ref": "non-reference sites", "n_het": "heterozygous",
                                             "n_hom_alt": "homozygous ALT"}))


def format_variant_types(types: pd.DataFrame) -> pd.DataFrame:
    """:func:`variant_type_summary` for display."""
    return types.drop(columns=["bcftools_key"]).assign(fraction=types["fraction"].map("{:.1%}".format)).set_index("type")


def contig_label(cohort: Cohort) -> str:
    """The chromosome's name without ``chr`` (``"22"``)."""
    name = str(cohort.contig.name)
    return name[3:] if name.lower().startswith("chr") else name


def compare_with_reference_file(vcf_path: Union[str, os.PathLike],
                                reference_path: Union[str, os.PathLike, None] = None) -> pd.DataFrame:
    """:func:`compare_with_reference` of ``bcftools stats`` on ``vcf_path`` and the reference
    statistics file (:func:`reference_stats_path`); the cohort against itself, labelled
    "(no reference)", when no reference file is found."""
    ours = bcftools_stats(vcf_path)
    path = reference_stats_path(reference_path)
    if path is None:
        return compare_with_reference(ours, ours, reference_label="(no reference)")
    return compare_with_reference(ours, read_bcftools_stats(path))
