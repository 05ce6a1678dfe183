"""The in-memory cohort: a site table, a sample table and a genotype array.

A :class:`Cohort` is what every source (a simulation, a user's VCF, the 1000 Genomes
download) turns into, and what the panel selection, the profile text, the statistics and
the VCF writer read. Genotypes are allele indices (0 = REF, 1.. = ALT, -1 = missing) in an
``int8`` array of shape ``(n_sites, n_samples, 2)``; ``phased`` says per call whether the
two alleles are ordered haplotypes (``|``) or not (``/``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

UNKNOWN = "unknown"
#: The 1000 Genomes super-populations, in display order, then :data:`UNKNOWN` (the colour scale
#: of :mod:`lib.book.charts` and the population tags of :mod:`lib.lm.tokenization` follow it).
SUPERPOPULATIONS = ("AFR", "AMR", "EAS", "EUR", "SAS", UNKNOWN)

# Chromosome lengths of chr22 by assembly (the contig header must carry the right one).
CHR22_LENGTH = {"GRCh37": 51_304_566, "GRCh38": 50_818_468}


@dataclass
class Contig:
    name: str  # as the VCF names it: "22" or "chr22"
    length: int
    assembly: str


@dataclass
class Cohort:
    """Variant sites x samples.

    ``sites`` columns: ``pos`` (1-based), ``ref``, ``alts`` (tuple of str), ``id``.
    ``samples`` columns: ``sample``, ``population``, ``superpopulation`` (``"unknown"`` when
    no population table was given).
    """

    contig: Contig
    sites: pd.DataFrame
    samples: pd.DataFrame
    genotypes: np.ndarray  # int8 (n_sites, n_samples, 2)
    phased: np.ndarray  # bool (n_sites, n_samples)
    source: str = ""
    repairs: list[str] = field(default_factory=list)  # what the reader repaired, in words

    def __post_init__(self) -> None:
        n_sites, n_samples = len(self.sites), len(self.samples)
        if self.genotypes.shape != (n_sites, n_samples, 2):
            raise ValueError(
                f"genotypes have shape {self.genotypes.shape}, expected ({n_sites}, {n_samples}, 2)")
        if self.phased.shape != (n_sites, n_samples):
            raise ValueError(f"phased has shape {self.phased.shape}, expected ({n_sites}, {n_samples})")

    @property
    def n_sites(self) -> int:
        return len(self.sites)

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def sample_ids(self) -> list[str]:
        return self.samples["sample"].tolist()

    def alt_counts(self) -> np.ndarray:
        """Per site: the number of called alleles that are not REF (all ALT alleles together)."""
        gt = self.genotypes
        return ((gt > 0)).sum(axis=(1, 2))

    def called_alleles(self) -> np.ndarray:
        return (self.genotypes >= 0).sum(axis=(1, 2))

    def alt_frequency(self) -> np.ndarray:
        """Frequency of non-reference alleles per site, from the genotypes (never from INFO)."""
        called = self.called_alleles()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(called > 0, self.alt_counts() / np.maximum(called, 1), 0.0)

    def minor_allele_frequency(self) -> np.ndarray:
        af = self.alt_frequency()
        return np.minimum(af, 1.0 - af)

    def genotype_text(self) -> np.ndarray:
        """``(n_sites, n_samples)`` array of genotype strings as VCF writes them: ``0|1``,
        ``1/1``, ``.|.`` (the separator from ``phased``)."""
        digits = np.array(["."] + [str(i) for i in range(127)], dtype=object)
        sep = np.where(self.phased, "|", "/").astype(object)
        return digits[self.genotypes[..., 0] + 1] + sep + digits[self.genotypes[..., 1] + 1]

    def subset(self, site_index=None, sample_index=None) -> "Cohort":
        """A new cohort restricted to the given site and sample positions (in the given order)."""
        si = np.arange(self.n_sites) if site_index is None else np.asarray(site_index)
        sa = np.arange(self.n_samples) if sample_index is None else np.asarray(sample_index)
        return Cohort(
            contig=self.contig,
            sites=self.sites.iloc[si].reset_index(drop=True),
            samples=self.samples.iloc[sa].reset_index(drop=True),
            genotypes=self.genotypes[np.ix_(si, sa)] if len(si) and len(sa) else
            np.zeros((len(si), len(sa), 2), dtype=np.int8),
            phased=self.phased[np.ix_(si, sa)] if len(si) and len(sa) else
            np.zeros((len(si), len(sa)), dtype=bool),
            source=self.source,
            repairs=list(self.repairs),
        )
