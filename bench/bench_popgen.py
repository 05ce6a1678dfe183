"""The utility metrics of lib.genetics.popgen on a cohort the size of 1000 Genomes: time and memory,
and the time scikit-allel takes for the same metric where it computes one.

    python bench/bench_popgen.py [--people 2504] [--sites 10000] [--k 20] [--seed 0]

Builds a real and a synthetic dosage matrix of ``--people`` x ``--sites`` (haplotypes with
linkage between neighbouring sites, allele frequencies of a neutral spectrum; the synthetic
cohort is a second draw of the same population), then times each metric of
:mod:`lib.genetics.popgen` comparing them -- allele-frequency agreement, neighbour r² and LD decay
(``--k`` neighbours), PCA fit on the real people and projection of both, heterozygosity,
closest-record distances to the real cohort, AATS, KING kinship of every synthetic person
to every real one, the Hardy-Weinberg exact test at every site, Weir-Cockerham Fst, the
classifier two-sample test -- and prints seconds per metric, the total, and the peak resident memory
of the process (``VmHWM``); then the utility chapter's whole suite for one cohort as the
chapter runs it (:func:`lib.evaluation.utility.cohort_metrics`: every metric with its bootstrap
intervals, against ``--people`` holdout people and as many members, populations inferred
by a classifier fit on a tenth as many labelled public people). The issue's target: the
whole suite under 60 s on 2 cores. Last, the classifier two-sample test's two kinds side by
side at the quick book's size (``--c2st-people`` real and as many synthetic people x
``--c2st-sites``, default 122 + 122 x 1,000): the logistic regression and the boosted trees
on dosages and principal components (target: about 3 s or less on 2 cores), their seconds,
the ratio, and each one's AUC against a second draw of the population and against
independent sites.

Where scikit-allel (pinned in requirements-nodeps.lock) computes the same thing, it runs
right after lib.genetics.popgen in the same process on the same people, from ``GenotypeArray``
objects of the same calls (built before the clock starts, as the dosage matrices are), and
the table adds its seconds, the ratio allel seconds / popgen seconds (above 1: lib.genetics.popgen
is faster) and the largest difference between the two results relative to the largest
value (after the documented conventions below are accounted for):

* neighbour r² (the LD difference row): ``allel.rogers_huff_r`` on the ALT counts over the
  same pairs, window by window (scikit-allel computes every pair of a window; windows of
  ``--k`` sites and the ``--k`` after them, about twice the pairs needed, were the fastest
  tried), squared, then the same mean absolute difference;
* PCA: ``allel.pca`` (``scaler='patterson'``, an exact SVD) on the real people's
  segregating sites, ``model.transform`` of both cohorts; scikit-allel divides by
  sqrt(p(1-p)) and lib.genetics.popgen by sqrt(2p(1-p)), so its coordinates are sqrt(2) times
  lib.genetics.popgen's (compared after that and each component's sign);
* heterozygosity: each synthetic person's observed share (``GenotypeArray.is_het``) and
  ``allel.heterozygosity_expected`` at the real frequencies, averaged over sites;
* Weir-Cockerham Fst: ``allel.weir_cockerham_fst``, a, b and c summed over sites and alleles;
* allele frequencies alone (a row of its own under the agreement row, not in the total:
  scikit-allel has none of the agreement statistics): ``count_alleles().to_frequencies()``.

LD decay, distances, AATS, kinship, the HWE exact test (scikit-allel has none) and the
classifier have no scikit-allel counterpart. Not a test; nothing is asserted (the
agreement itself is tested in ``tests/test_popgen_allel.py``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import allel
import numpy as np
import sklearn.ensemble  # noqa: F401  (the boosted two-sample test's trees, imported before any clock starts)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib.genetics import popgen  # noqa: E402
from lib.evaluation import utility


def cohort(n: int, n_sites: int, p: np.ndarray, rng: np.random.Generator, linked: float = 0.8) -> np.ndarray:
    h = (rng.random((2 * n, n_sites)) < p).astype(np.int8)
    copy = rng.random((2 * n, n_sites)) < linked
    for j in range(1, n_sites):  # each site copies its neighbour with probability `linked`
        h[copy[:, j], j] = h[copy[:, j], j - 1]
    return h[0::2] + h[1::2]


def genotype_array(d: np.ndarray) -> allel.GenotypeArray:
    """scikit-allel's sites x people x 2 calls for a dosage matrix (unphased: the ALT allele
    of a heterozygote second)."""
    return allel.GenotypeArray(np.stack([d.T >= 1, d.T == 2], axis=-1).astype(np.int8))


def allel_neighbour_r2(g: allel.GenotypeArray, k: int) -> np.ndarray:
    """r² of each site with each of its next ``k`` sites by ``allel.rogers_huff_r``, in the
    order of :func:`lib.genetics.popgen.neighbour_r2`'s rows (by step, then site): window by window
    of ``k`` sites and the ``k`` after them."""
    n_alt = g.to_n_alt()
    m = len(n_alt)
    out = np.full((k, m), np.nan)
    for start in range(0, m, k):
        width = min(start + 2 * k, m) - start
        r = allel.rogers_huff_r(n_alt[start:start + width])  # condensed, pairs i < j of the window
        for step in range(1, min(k, width - 1) + 1):
            i = np.arange(min(k, width - step))
            out[step - 1, start + i] = r[width * i - i * (i + 1) // 2 + step - 1]
    return np.concatenate([out[step - 1, :m - step] for step in range(1, min(k, m - 1) + 1)]) ** 2


def allel_ld_difference(a: allel.GenotypeArray, b: allel.GenotypeArray, k: int) -> float:
    """:func:`lib.genetics.popgen.ld_difference` with scikit-allel's r²."""
    ra, rb = allel_neighbour_r2(a, k), allel_neighbour_r2(b, k)
    ok = ~np.isnan(ra) & ~np.isnan(rb)
    return float(np.abs(ra[ok] - rb[ok]).mean()) if ok.any() else float("nan")


def allel_pca(real: allel.GenotypeArray, synthetic: allel.GenotypeArray, n: int = 4) -> list[np.ndarray]:
    """PCA by ``allel.pca`` on the real people's segregating sites, both cohorts projected."""
    keep = real.count_alleles(max_allele=1).is_segregating()
    n_alt = [x.compress(keep, axis=0).to_n_alt().astype(np.float64) for x in (real, synthetic)]
    coords, model = allel.pca(n_alt[0], n_components=n, scaler="patterson")
    return [coords, model.transform(n_alt[1])]


def allel_heterozygosity(synthetic: allel.GenotypeArray, real: allel.GenotypeArray) -> tuple[np.ndarray, float]:
    """Each synthetic person's observed heterozygous share and the expected heterozygosity
    at the real frequencies, averaged over sites."""
    af = real.count_alleles(max_allele=1).to_frequencies()
    return synthetic.is_het().mean(axis=0), float(allel.heterozygosity_expected(af, ploidy=2).mean())


def allel_fst(g: allel.GenotypeArray, labels: np.ndarray) -> float:
    a, b, c = allel.weir_cockerham_fst(g, [np.flatnonzero(labels == x) for x in np.unique(labels)], max_allele=1)
    return float(np.nansum(a) / np.nansum(a + b + c))


def relative_difference(ours, theirs) -> float:
    """max |ours - theirs| / max |theirs| over arrays (or scalars) in the same shape."""
    ours = np.atleast_1d(np.asarray(ours, dtype=np.float64))
    theirs = np.atleast_1d(np.asarray(theirs, dtype=np.float64))
    ok = ~np.isnan(theirs)
    if not np.array_equal(ok, ~np.isnan(ours)) or not ok.any():
        return float("nan")  # NaN in different places
    return float(np.abs(ours[ok] - theirs[ok]).max() / max(np.abs(theirs[ok]).max(), 1e-300))


def pca_difference(ours: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    """:func:`relative_difference` of the coordinates, lib.genetics.popgen's times sqrt(2) and each
    component's sign matched to scikit-allel's."""
    sign = np.sign((ours[0] * theirs[0]).sum(axis=0))
    return max(relative_difference(o * np.sqrt(2) * sign, t) for o, t in zip(ours, theirs))


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
    parser.add_argument("--c2st-people", type=int, default=122)
    parser.add_argument("--c2st-sites", type=int, default=1_000)
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
        "AATS (three distance matrices)": lambda: popgen.adversarial_accuracy(real, synthetic),
        "KING kinship, synthetic x real": lambda: popgen.kinship_degree(
            np.nanmax(popgen.king_kinship(synthetic, real), axis=1)),
        "Hardy-Weinberg exact test, every site": lambda: popgen.hwe_pvalues(synthetic),
        "Weir-Cockerham Fst (5 groups)": lambda: popgen.weir_cockerham_fst(synthetic, labels),
        "classifier two-sample test (5-fold LR)": lambda: popgen.classifier_two_sample(real, synthetic),
    }
    real_g, synthetic_g = genotype_array(real), genotype_array(synthetic)
    # metric -> (scikit-allel's computation of the same thing, max relative difference of the results)
    same_in_allel = {
        "LD: r² difference over neighbour pairs": (lambda: allel_ld_difference(real_g, synthetic_g, args.k),
                                                   relative_difference),
        "PCA fit on real, project both": (lambda: allel_pca(real_g, synthetic_g), pca_difference),
        "heterozygosity": (lambda: allel_heterozygosity(synthetic_g, real_g),
                           lambda t, a: max(relative_difference(t["observed"], a[0]),
                                            relative_difference(t["expected"].iloc[0], a[1]))),
        "Weir-Cockerham Fst (5 groups)": (lambda: allel_fst(synthetic_g, labels), relative_difference),
    }
    # not part of the suite (not in its total): the frequencies inside the agreement row
    frequencies_alone = ("  of which allele frequencies, both cohorts",
                         lambda: [popgen.allele_frequencies(x) for x in (real, synthetic)],
                         lambda: [g.count_alleles(max_allele=1).to_frequencies()[:, 1] for g in (real_g, synthetic_g)],
                         lambda t, a: max(relative_difference(x, y) for x, y in zip(t, a)))

    def timed(step):
        started = time.perf_counter()
        result = step()
        return result, time.perf_counter() - started

    def row(name: str, step, allel_step=None, compare=None) -> float:
        result, seconds = timed(step)
        line = f"{name:<46} {seconds:>8.2f}"
        if allel_step is not None:
            theirs, allel_seconds = timed(allel_step)
            line += f" {allel_seconds:>8.2f} {allel_seconds / seconds:>9.2f}x {compare(result, theirs):>12.1e}"
        print(line, flush=True)
        return seconds

    total = 0.0
    print(f"{'metric':<46} {'seconds':>8} {'allel s':>8} {'allel/ours':>10} {'max rel diff':>12}")
    for name, step in steps.items():
        total += row(name, step, *same_in_allel.get(name, ()))
        if name.startswith("allele frequencies"):
            row(*frequencies_alone)
    print(f"{'whole suite':<46} {total:>8.2f}  (target < 60 s); peak memory {peak_mb():,.0f} MB")
    print("allel/ours: scikit-allel's seconds over lib.genetics.popgen's for the same result (above 1: lib.genetics.popgen is "
          "faster); max rel diff: the largest difference between the two results over the largest value")
    # the utility chapter's suite for one cohort, as it runs it: every metric above with its
    # bootstrap intervals, plus LD decay against the real curve, the spectrum, near copies,
    # within-cohort distances, populations inferred by a classifier fit on labelled public
    # people, TSTR, per-population frequencies (record-level metrics need profiles: none here)
    members = cohort(args.people, args.sites, p, rng)
    public = cohort(max(args.people // 10, 10), args.sites, p, rng)
    inputs = {"holdout": real, "members": members, "public": public, "positions": positions,
              "labels": {"holdout": labels, "public": rng.choice(list("ABCDE"), len(public))},
              "near_copy_distance": float(np.quantile(popgen.closest(real, members), 0.05))}
    inputs["public_axes"] = popgen.pca_fit(public, 10)
    inputs["population_classifier"] = popgen.population_classifier(public, inputs["labels"]["public"],
                                                                   axes=inputs["public_axes"])
    _, seconds = timed(lambda: utility.cohort_metrics("synthetic", synthetic, None, inputs, k=args.k))
    label = "utility chapter's suite, one cohort"
    print(f"{label:<46} {seconds:>8.2f}  (target < 60 s; n_boot=200; "
          f"lib.evaluation.utility.cohort_metrics against {args.people:,} holdout and {args.people:,} members); "
          f"peak memory {peak_mb():,.0f} MB")
    # the two-sample test's two kinds at the quick book's size: a second draw of the same
    # population, and independent sites at another draw's frequencies (no linkage)
    n, m = args.c2st_people, args.c2st_sites
    small = np.clip(1 / rng.uniform(1.0, 200.0, m), 0.002, 0.5)
    real_small, same_small = cohort(n, m, small, rng), cohort(n, m, small, rng)
    independent = popgen.independent_sites(cohort(1000, m, small, rng), n, seed=args.seed)
    line = []
    for kind in ("linear", "boosting"):
        (same_auc, _, _), seconds = timed(lambda: popgen.classifier_two_sample(real_small, same_small, kind=kind))
        apart = popgen.classifier_two_sample(real_small, independent, kind=kind)[0]
        line.append((kind, seconds, same_auc, apart))
    (_, linear_s, *_), (_, boosting_s, *_) = line
    print(f"{'two-sample test, ' + f'{n} + {n} x {m:,} sites':<46} linear {linear_s:.2f} s, boosting "
          f"{boosting_s:.2f} s (boosting/linear {boosting_s / linear_s:.2f}x; target about 3 s or less); AUC "
          + "; ".join(f"{kind}: same population {same:.3f}, independent sites {apart:.3f}"
                      for kind, _, same, apart in line))


if __name__ == "__main__":
    main()
