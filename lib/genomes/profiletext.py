"""The text a language model reads: a person as a list of ``22:POS:REF>ALT_GT`` records.

A *record* names a site and one person's genotype there -- ``22:17327068:A>G_1|1`` says
this person carries the ALT allele ``G`` on both copies of chromosome 22 at position
17,327,068. A person's *profile* is their records in position order:

* **dense**: every panel site, ``0|0`` included (as the dissertation wrote them);
* **sparse**: only the sites where the person carries an ALT allele (or has a missing
  call) -- an order of magnitude shorter, and what the models of this book read.

Multi-allelic ALT alleles are joined with ``,`` as in VCF (the dissertation used ``/``,
which is also the unphased genotype separator).

:func:`profiles` writes the records of a cohort; :func:`to_cohort` reads records back into
genotypes on a panel's sites (what a synthetic cohort's VCF is written from).
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from . import vcf
from .cohort import Cohort

#: One record: chromosome, position, REF, ALT alleles (``,``-joined) and a diploid genotype.
RECORD = re.compile(r"^(?P<chrom>[^:]+):(?P<pos>\d+):(?P<ref>[ACGTN]+)>(?P<alts>[ACGTN]+(?:,[ACGTN]+)*)_"
                    r"(?P<a>\d+|\.)(?P<sep>[|/])(?P<b>\d+|\.)$")


def site_keys(cohort: Cohort) -> list[str]:
    """``22:POS:REF>ALT`` for every site (ALT alleles joined by ``,``)."""
    chrom = vcf.normalise_chromosome(cohort.contig.name)
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


def site_of(record: str) -> str:
    """``22:POS:REF>ALT`` of a record (everything before its last ``_``)."""
    return record.rsplit("_", 1)[0]


def possible_genotypes(n_alts: int, phased: bool = True, sparse: bool = True) -> list[str]:
    """Every genotype text a site with ``n_alts`` ALT alleles admits (a public fact: it
    depends on the allele count only). Sparse profiles leave out homozygous reference."""
    sep = "|" if phased else "/"
    alleles = range(n_alts + 1)
    if phased:
        pairs = [(a, b) for a in alleles for b in alleles]
    else:
        pairs = [(a, b) for a in alleles for b in alleles if a <= b]
    return [f"{a}{sep}{b}" for a, b in pairs if not (sparse and a == 0 and b == 0)]


def to_cohort(profiles: Sequence[Sequence[str]], panel: Cohort, prefix: str = "SYN") -> Cohort:
    """Genotypes on ``panel``'s sites from profiles (the inverse of :func:`profiles` for
    sparse profiles): a site a profile does not mention is ``0|0``; a record that is not
    a panel site or names an allele the site lacks is left out (count such records with
    :func:`lib.lm.generation.validate_profile`). Samples are named ``SYN0001``...; their
    population is ``unknown``."""
    index = {key: i for i, key in enumerate(site_keys(panel))}
    n_alts = panel.sites["alts"].map(len).to_numpy()
    genotypes = np.zeros((panel.n_sites, len(profiles), 2), dtype=np.int8)
    phased = np.ones((panel.n_sites, len(profiles)), dtype=bool)
    for j, records in enumerate(profiles):
        for record in records:
            m = RECORD.match(record)
            site = index.get(f"{m['chrom']}:{m['pos']}:{m['ref']}>{m['alts']}") if m else None
            if site is None:
                continue
            a, b = (-1 if x == "." else int(x) for x in (m["a"], m["b"]))
            if max(a, b) > n_alts[site]:
                continue
            genotypes[site, j] = (a, b)
            phased[site, j] = m["sep"] == "|"
    samples = pd.DataFrame({"sample": [f"{prefix}{j + 1:04d}" for j in range(len(profiles))],
                            "population": "unknown", "superpopulation": "unknown"})
    return Cohort(contig=panel.contig, sites=panel.sites.copy(), samples=samples, genotypes=genotypes,
                  phased=phased, source="synthetic")
