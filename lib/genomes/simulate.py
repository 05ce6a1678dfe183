"""A 1000-Genomes-like cohort simulated offline: stdpopsim's Out-of-Africa model with msprime.

The model is HomSap ``OutOfAfrica_3G09`` (Gutenkunst et al. 2009): three populations, YRI
(Yoruba, Africa), CEU (Utah residents of European ancestry) and CHB (Han Chinese, Beijing),
with the out-of-Africa bottleneck, the European/East-Asian split and exponential growth
fitted to the site frequency spectrum of those populations. Simulated on a window of
chromosome 22 (stdpopsim's HomSap genome is GRCh38), it gives genotypes whose allele
frequency spectrum, linkage and population structure are like real data's — which is what
the language models must learn and the utility chapter measures.

Choices, each checked against what real data looks like:

* **No genetic map.** A map would trigger a download; the contig's uniform mean
  recombination rate for chr22 is used instead.
* **The model's mutation rate** (2.35e-8 per base per generation), not the contig default.
* **HKY mutations** (kappa 4.2, equal base frequencies). stdpopsim's engine would add JC69
  mutations, under which transitions and transversions are equally likely per pair of bases
  (Ts/Tv 0.5); human SNVs have Ts/Tv around 2.1. So ancestry is simulated without mutations
  and ``msprime.sim_mutations`` adds them with HKY, whose kappa sets Ts/Tv = kappa / 2.
* **REF from a reference haplotype.** tskit's first allele is the *ancestral* one; a reference
  genome instead carries whatever allele one person had. Taking REF from one extra simulated
  haplotype (of a CEU individual outside the cohort, as GRCh37/38 are largely European
  mosaics) gives realistic ALT frequencies, including sites where the reference carries the
  rare allele and most samples are homozygous ALT — as in real VCFs.
* Sites where no cohort member carries an ALT allele are dropped; positions are 1-based
  (tskit's are 0-based).

msprime simulates point mutations only, so the simulated cohort has SNVs (including
multi-allelic SNVs where a site mutated twice) but no indels; the chapter says so.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .cohort import Cohort, Contig, UNKNOWN
from .vcf import SUPERPOPULATION

MODEL = "OutOfAfrica_3G09"
POPULATIONS = ("YRI", "CEU", "CHB")
KAPPA = 4.2
DEFAULT_LEFT = 17_000_000  # chr22 is acrocentric: its short arm has no variant calls
BASES = ("A", "C", "G", "T")


def simulate_cohort(samples_per_population: int = 100, length: int = 5_000_000,
                    left: int = DEFAULT_LEFT, seed: int = 42, kappa: float = KAPPA) -> Cohort:
    """Simulate ``samples_per_population`` diploid individuals from each of YRI, CEU and CHB
    on chr22 positions ``left+1 .. left+length`` (GRCh38 coordinates)."""
    import msprime
    import stdpopsim

    if samples_per_population < 1:
        raise ValueError(f"samples_per_population={samples_per_population} must be at least 1")
    species = stdpopsim.get_species("HomSap")
    model = species.get_demographic_model(MODEL)
    chrom_length = int(species.get_contig("chr22").length)
    right = left + length
    if length < 1000 or left < 0 or right > chrom_length:
        raise ValueError(f"the window [{left:,}, {right:,}) must lie within chr22 (length {chrom_length:,}) "
                         "and span at least 1 kb")
    contig = species.get_contig("chr22", left=left, right=right, mutation_rate=0.0)
    n = samples_per_population
    # one more CEU individual, outside the cohort, carries the reference haplotype
    requested = {"YRI": n, "CEU": n + 1, "CHB": n}
    engine = stdpopsim.get_engine("msprime")
    with warnings.catch_warnings():
        # the zero mutation rate is deliberate: mutations are added below with HKY
        warnings.filterwarnings("ignore", message=".*mutation rate.*", category=UserWarning)
        ts = engine.simulate(model, contig, samples=requested, seed=seed)
    mutation_model = msprime.HKY(kappa=kappa, equilibrium_frequencies=[0.25] * 4)
    ts = msprime.sim_mutations(ts, rate=model.mutation_rate, model=mutation_model,
                               random_seed=seed, discrete_genome=True)
    return _cohort_from_tree_sequence(ts, seed, kappa)


def _cohort_from_tree_sequence(ts, seed: int, kappa: float) -> Cohort:
    pop_names = {p.id: p.metadata.get("name") for p in ts.populations()}
    individuals = [ind for ind in ts.individuals() if len(ind.nodes)]
    node_pop = ts.tables.nodes.population
    by_pop: dict[str, list] = {name: [] for name in POPULATIONS}
    for ind in individuals:
        by_pop[pop_names[node_pop[ind.nodes[0]]]].append(ind)
    reference = by_pop["CEU"].pop()  # the extra individual
    cohort_inds = [ind for name in POPULATIONS for ind in by_pop[name]]
    names = [f"{name}{k + 1:04d}" for name in POPULATIONS for k in range(len(by_pop[name]))]
    nodes = np.array([[ind.nodes[0], ind.nodes[1]] for ind in cohort_inds])
    ref_node = reference.nodes[0]

    sample_nodes = ts.samples()
    column = {node: j for j, node in enumerate(sample_nodes)}
    cols = np.vectorize(column.get)(nodes)  # (n_samples, 2) column in the genotype matrix
    ref_col = column[ref_node]

    positions, refs, alts, genotypes = [], [], [], []
    for var in ts.variants():
        g = var.genotypes  # allele index into var.alleles per sample node
        alleles = var.alleles
        ref_index = g[ref_col]
        cohort_g = g[cols]  # (n_samples, 2)
        present = [a for a in np.unique(cohort_g) if a != ref_index]
        if not present:
            continue
        # ALT order: by decreasing count in the cohort (ties by allele text), as callers do
        counts = {a: int((cohort_g == a).sum()) for a in present}
        order = sorted(present, key=lambda a: (-counts[a], alleles[a]))
        recode = np.full(len(alleles), -1, dtype=np.int8)
        recode[ref_index] = 0
        for k, a in enumerate(order, start=1):
            recode[a] = k
        positions.append(int(var.site.position) + 1)
        refs.append(alleles[ref_index])
        alts.append(tuple(alleles[a] for a in order))
        genotypes.append(recode[cohort_g])

    if not positions:
        raise ValueError("the simulation produced no variant sites; use a longer window or more samples")
    sites = pd.DataFrame({"pos": np.array(positions, dtype=np.int64), "ref": refs, "alts": alts,
                          "id": [f"sim_{p}" for p in positions]})
    pops = [name for name in POPULATIONS for _ in by_pop[name]]
    samples = pd.DataFrame({"sample": names, "population": pops,
                            "superpopulation": [SUPERPOPULATION.get(p, UNKNOWN) for p in pops]})
    contig = Contig(name="22", length=int(ts.sequence_length), assembly="GRCh38")
    gt = np.stack(genotypes).astype(np.int8)
    return Cohort(contig=contig, sites=sites, samples=samples, genotypes=gt,
                  phased=np.ones(gt.shape[:2], dtype=bool),
                  source=f"stdpopsim HomSap {MODEL} (msprime, HKY kappa={kappa}, seed={seed})")
