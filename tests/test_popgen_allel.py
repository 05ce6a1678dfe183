"""lib.genetics.popgen against scikit-allel on the same data: where scikit-allel computes a metric,
lib.genetics.popgen's vectorised version must give the same numbers.

The cohort: 3 populations x 100 people x 400 sites, haplotypes with linkage between
neighbouring sites (each site copies the previous one, with probability 0.5 here where
``bench/bench_popgen.py`` uses 0.8: at 0.8 the haplotype blocks, not the populations,
would dominate the PCA), each population at its own allele frequencies (Fst about 0.07),
plus one site monomorphic REF and one monomorphic ALT. lib.genetics.popgen gets the dosages,
scikit-allel a ``GenotypeArray`` of the same haplotypes (or its ALT counts, sites x people).

Tolerances (above the rounding of the two implementations, far below any real difference):

* neighbour r²: absolute 1e-6 (scikit-allel's ``rogers_huff_r`` computes in float32; the
  largest difference here is 2e-7), and NaN at exactly the same pairs;
* Weir-Cockerham Fst, allele frequencies, heterozygosity: relative 1e-12 (both float64;
  the differences here are 0 or about 1e-16);
* PCA: coordinates and components absolute 1e-9 x their largest value after matching
  each component's sign (the differences here are about 1e-14); explained variance
  ratios relative 1e-10.

Hardy-Weinberg: scikit-allel has no exact test (only the inbreeding coefficient), and
``tests/test_popgen.py::test_hwe_exact_is_the_exact_distribution`` already checks
:func:`lib.genetics.popgen.hwe_exact` against the distribution written out, so nothing here.
"""
from __future__ import annotations

import allel
import numpy as np
import pytest

from lib.genetics import popgen
from conftest import haplotypes

N_PER_POPULATION, N_SITES, K = 100, 400, 20
LABELS = np.repeat(["a", "b", "c"], N_PER_POPULATION)
MONOMORPHIC = {"ref": 10, "alt": 50}


def population_haplotypes(seed: int, populations: int = 3) -> np.ndarray:
    """Haplotypes (2 per person, consecutive rows) x sites: ``populations`` populations,
    each at its own frequencies around a common spectrum (independent departures, so the
    populations are apart along more than one axis), linked neighbours."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.05, 0.5, N_SITES)
    h = np.vstack([haplotypes(2 * N_PER_POPULATION, N_SITES, seed=seed + 1 + k, linked=0.5,
                              p=np.clip(base + rng.normal(0, 0.25, N_SITES), 0.01, 0.99))
                   for k in range(populations)])
    h[:, MONOMORPHIC["ref"]], h[:, MONOMORPHIC["alt"]] = 0, 1
    return h


@pytest.fixture(scope="module")
def data():
    h = population_haplotypes(seed=100)
    d = h[0::2] + h[1::2]
    g = allel.HaplotypeArray(h.T).to_genotypes(ploidy=2)
    assert np.array_equal(g.to_n_alt(), d.T)  # the same people, the same calls
    return d, g


def test_allel_does_not_need_dask():
    """scikit-allel is installed without its declared dependency dask (requirements-nodeps.lock):
    the in-memory functions used here must not import it."""
    import subprocess
    import sys

    code = "import sys, allel; allel.rogers_huff_r; print(any(m.split('.')[0] == 'dask' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_allele_frequencies(data):
    d, g = data
    ours = popgen.allele_frequencies(d)
    theirs = g.count_alleles(max_allele=1).to_frequencies()[:, 1]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert ours[MONOMORPHIC["ref"]] == 0 and ours[MONOMORPHIC["alt"]] == 1


def test_neighbour_r2_is_rogers_huff_r_squared(data):
    d, _ = data
    pairs = popgen.neighbour_r2(d, np.arange(N_SITES) * 1_000, k=K)
    r = allel.rogers_huff_r(d.T)  # condensed: every pair i < j of sites
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    theirs = r[N_SITES * i - i * (i + 1) // 2 + (j - i - 1)].astype(np.float64) ** 2
    ours = pairs["r2"].to_numpy()
    assert len(ours) == sum(N_SITES - step for step in range(1, K + 1))
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))  # the monomorphic sites' pairs
    monomorphic = list(MONOMORPHIC.values())
    np.testing.assert_array_equal(np.isnan(ours), np.isin(i, monomorphic) | np.isin(j, monomorphic))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert np.nanmean(ours[j == i + 1]) > 0.2  # the linkage is there to be measured


def test_weir_cockerham_fst(data):
    """One Fst over all sites, as the ratio of sums: scikit-allel's variance components
    a, b and c summed over sites and both alleles (equal for a biallelic site, so the ratio
    is that of the ALT allele alone)."""
    d, g = data
    subpops = [np.flatnonzero(LABELS == label) for label in np.unique(LABELS)]
    a, b, c = allel.weir_cockerham_fst(g, subpops, max_allele=1)
    theirs = np.nansum(a) / np.nansum(a + b + c)
    ours = popgen.weir_cockerham_fst(d, LABELS)
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours > 0.05  # the populations differ
    # two of the three populations, unequal sizes
    some = np.r_[np.flatnonzero(LABELS == "a"), np.flatnonzero(LABELS == "b")[:40]]
    a, b, c = allel.weir_cockerham_fst(g.take(some, axis=1), [np.arange(100), np.arange(100, 140)], max_allele=1)
    assert popgen.weir_cockerham_fst(d[some], LABELS[some]) == pytest.approx(np.nansum(a) / np.nansum(a + b + c),
                                                                              rel=1e-12)


def test_pca_matches_allel_up_to_sign_and_sqrt2(data):
    """popgen.pca_fit scales each site by sqrt(2p(1-p)) (its docstring), scikit-allel's
    ``scaler='patterson'`` by sqrt(p(1-p)) (Patterson et al. 2006): the same axes and variance
    ratios, coordinates sqrt(2) times larger in scikit-allel. Compared after that factor
    and each component's sign. scikit-allel needs the monomorphic sites removed beforehand
    (it would divide by 0); popgen drops them itself (``keep``)."""
    d, _ = data
    n = 4
    fit = popgen.pca_fit(d, n_components=n)
    ours = popgen.pca_project(fit, d)
    keep = fit["keep"]
    assert not keep[MONOMORPHIC["ref"]] and not keep[MONOMORPHIC["alt"]] and keep.sum() == N_SITES - 2
    coords, model = allel.pca(d.T[keep].astype(np.float64), n_components=n, scaler="patterson")
    sign = np.sign((ours * coords).sum(axis=0))
    assert (sign != 0).all()
    np.testing.assert_allclose(ours * np.sqrt(2) * sign, coords, rtol=0, atol=1e-9 * np.abs(coords).max())
    np.testing.assert_allclose(fit["components"] * sign, model.components_.T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit["explained"], model.explained_variance_ratio_, rtol=1e-10)
    assert fit["explained"][1] > 1.5 * fit["explained"][2]  # two axes of structure, then noise
    # projecting other people onto the fitted axes: new draws of the same three populations
    new = population_haplotypes(seed=200)
    other = new[0::2] + new[1::2]
    theirs = model.transform(other.T[keep].astype(np.float64))
    np.testing.assert_allclose(popgen.pca_project(fit, other) * np.sqrt(2) * sign, theirs,
                               rtol=0, atol=1e-9 * np.abs(theirs).max())


def test_heterozygosity(data):
    """popgen.heterozygosity is per person; scikit-allel's heterozygosity_observed and
    heterozygosity_expected are per site. Comparable: each person's observed share
    (scikit-allel's ``is_het`` averaged over sites), the mean observed heterozygosity over
    every call (the mean of either), and the expected heterozygosity 2p(1-p) averaged over
    sites, with the cohort's own frequencies or another cohort's."""
    d, g = data
    ours = popgen.heterozygosity(d)
    np.testing.assert_allclose(ours["observed"], g.is_het().mean(axis=0), rtol=1e-12)
    observed_per_site = allel.heterozygosity_observed(g)
    assert ours["observed"].mean() == pytest.approx(observed_per_site.mean(), rel=1e-12)
    assert ours["observed"].mean() == pytest.approx((d == 1).mean(), rel=1e-12)
    expected_per_site = allel.heterozygosity_expected(g.count_alleles(max_allele=1).to_frequencies(), ploidy=2)
    np.testing.assert_allclose(ours["expected"], expected_per_site.mean(), rtol=1e-12)
    # the expectation at another cohort's frequencies (population a's), and f = 1 - observed / expected
    a = LABELS == "a"
    reference = g.take(np.flatnonzero(a), axis=1).count_alleles(max_allele=1).to_frequencies()
    at_a = popgen.heterozygosity(d[~a], reference[:, 1])
    expected_a = allel.heterozygosity_expected(reference, ploidy=2).mean()
    np.testing.assert_allclose(at_a["expected"], expected_a, rtol=1e-12)
    np.testing.assert_allclose(at_a["f"], 1 - g.take(np.flatnonzero(~a), axis=1).is_het().mean(axis=0) / expected_a,
                               rtol=1e-12, atol=1e-15)
