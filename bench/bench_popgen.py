"""The utility metrics of lib.popgen on a cohort the size of 1000 Genomes: time and memory.

    python bench/bench_popgen.py [--people 2504] [--sites 10000] [--k 20] [--seed 0]

Builds a real and a synthetic dosage matrix of ``--people`` x ``--sites`` (haplotypes with
linkage between neighbouring sites, allele frequencies of a neutral spectrum; the synthetic
cohort is a second draw of the same population), then times each metric of
:mod:`lib.popgen` comparing them -- allele-frequency agreement, neighbour r² and LD decay
(``--k`` neighbours), PCA fit on the real people and projection of both, heterozygosity,
closest-record distances to the real cohort, AATS, KING kinship of every synthetic person
to every real one, the Hardy-Weinberg exact test at every site, Weir-Cockerham Fst, the
classifier two-sample test -- and prints seconds per metric, the total, and the peak resident memory
of the process (``VmHWM``). The issue's target: the whole suite under 60 s on 2 cores.
scikit-allel is not installed here, so no ratio to it is printed. Not a test; nothing is
asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib import popgen  # noqa: E402


def cohort(n: int, n_sites: int, p: np.ndarray, rng: np.random.Generator, linked: float = 0.8) -> np.ndarray:
    h = (rng.random((2 * n, n_sites)) < p).astype(np.int8)
    copy = rng.random((2 * n, n_sites)) < linked
    for j in range(1, n_sites):  # each site copies its neighbour with probability `linked`
        h[copy[:, j], j] = h[copy[:, j], j - 1]
    return h[0::2] + h[1::2]


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2504)
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    p = np.clip(1 / rng.uniform(1.0, 200.0, args.sites), 0.002, 0.5)  # many rare sites, some common
    real, synthetic = cohort(args.people, args.sites, p, rng), cohort(args.people, args.sites, p, rng)
    positions = np.cumsum(rng.integers(100, 5_000, args.sites))
    labels = rng.choice(list("ABCDE"), args.people)
    print(f"{args.people:,} people x {args.sites:,} sites, real and synthetic; k = {args.k} neighbours; "
          f"before the metrics: {peak_mb():,.0f} MB peak")
    steps = {
        "allele frequencies (r, MAD, Wasserstein, KL)": lambda: popgen.af_agreement(real, synthetic),
        "LD: r² difference over neighbour pairs": lambda: popgen.ld_difference(real, synthetic, positions, args.k),
        "LD decay (synthetic)": lambda: popgen.ld_decay(synthetic, positions, k=args.k),
        "PCA fit on real, project both": lambda: [popgen.pca_project(fit, x) for fit in [popgen.pca_fit(real)]
                                                  for x in (real, synthetic)],
        "heterozygosity": lambda: popgen.heterozygosity(synthetic, popgen.allele_frequencies(real)),
        "closest real record per synthetic person": lambda: popgen.closest(synthetic, real),
        "AATS (four distance matrices)": lambda: popgen.adversarial_accuracy(real, synthetic),
        "KING kinship, synthetic x real": lambda: popgen.kinship_degree(
            np.nanmax(popgen.king_kinship(synthetic, real), axis=1)),
        "Hardy-Weinberg exact test, every site": lambda: popgen.hwe_pvalues(synthetic),
        "Weir-Cockerham Fst (5 groups)": lambda: popgen.weir_cockerham_fst(synthetic, labels),
        "classifier two-sample test (5-fold LR)": lambda: popgen.classifier_two_sample(real, synthetic),
    }
    total = 0.0
    print(f"{'metric':<46} {'seconds':>8}")
    for name, step in steps.items():
        started = time.perf_counter()
        step()
        seconds = time.perf_counter() - started
        total += seconds
        print(f"{name:<46} {seconds:>8.2f}", flush=True)
    print(f"{'whole suite':<46} {total:>8.2f}  (target < 60 s); peak memory {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
