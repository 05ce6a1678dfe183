"""lib.popgen on small hand-made cohorts whose answers are known: copies score perfectly,
shuffling people within sites keeps allele frequencies and destroys linkage, a copied
member set is caught by distances, AATS and kinship, relatives get their degree."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib import popgen
from lib.cohort import Cohort, Contig


def haplotypes(n: int, n_sites: int, seed: int, p: np.ndarray | None = None, linked: float = 0.0) -> np.ndarray:
    """``n`` haplotypes (0/1) over ``n_sites``; with ``linked``, each site copies the
    previous one with that probability (linkage between neighbours)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.5, n_sites) if p is None else p
    h = (rng.random((n, n_sites)) < p).astype(np.int8)
    if linked:
        for j in range(1, n_sites):
            copy = rng.random(n) < linked
            h[copy, j] = h[copy, j - 1]
    return h


def people(n: int, n_sites: int, seed: int, **kwargs) -> np.ndarray:
    h = haplotypes(2 * n, n_sites, seed, **kwargs)
    return h[0::2] + h[1::2]


POSITIONS = np.arange(1, 401) * 1_000  # 400 sites, 1 kb apart


@pytest.fixture(scope="module")
def linked():
    return people(60, 400, seed=1, linked=0.9)


def test_dosages_from_a_cohort():
    genotypes = np.array([[[0, 1], [1, 1], [-1, 0]], [[0, 0], [2, 0], [1, 2]]], dtype=np.int8)
    cohort = Cohort(Contig("22", 100, "GRCh37"), pd.DataFrame({"pos": [1, 2], "ref": ["A", "C"],
                                                               "alts": [("G",), ("T", "G")], "id": [".", "."]}),
                    pd.DataFrame({"sample": ["a", "b", "c"], "population": "x", "superpopulation": "y"}),
                    genotypes, np.ones((2, 3), dtype=bool))
    assert popgen.dosages(cohort).tolist() == [[1, 0], [2, 1], [0, 2]]  # missing counts as REF


def test_a_copy_scores_perfectly(linked):
    agreement = popgen.af_agreement(linked, linked.copy())
    assert agreement["r"] == pytest.approx(1.0) and agreement["mad"] == 0.0
    assert agreement["wasserstein"] == 0.0 and agreement["kl"] == pytest.approx(0.0, abs=1e-12)
    assert popgen.ld_difference(linked, linked.copy(), POSITIONS) == 0.0
    fit = popgen.pca_fit(linked)
    np.testing.assert_allclose(popgen.pca_project(fit, linked.copy()), popgen.pca_project(fit, linked))


def test_shuffling_people_keeps_frequencies_and_destroys_linkage(linked):
    shuffled = popgen.shuffle_within_sites(linked, seed=2)
    assert popgen.af_agreement(linked, shuffled)["mad"] == 0.0  # exactly the same counts
    np.testing.assert_array_equal(np.sort(shuffled, axis=0), np.sort(linked, axis=0))
    before = popgen.neighbour_r2(linked, POSITIONS, k=1)["r2"].mean()
    after = popgen.neighbour_r2(shuffled, POSITIONS, k=1)["r2"].mean()
    assert before > 0.4 and after < 0.05
    assert popgen.ld_difference(linked, shuffled, POSITIONS, k=1) > 0.35
    decay = popgen.ld_decay(linked, POSITIONS, edges=[0, 1_500, 5_500, 20_500], k=20)
    assert decay["pairs"].tolist() == [399, sum(400 - s for s in range(2, 6)), sum(400 - s for s in range(6, 21))]
    assert decay["mean_r2"].is_monotonic_decreasing  # linkage decays with distance
    # the dissertation's random model: the frequencies (up to sampling), no linkage
    independent = popgen.independent_sites(linked, 2000, seed=3)
    assert popgen.af_agreement(linked, independent)["mad"] < 0.02
    assert popgen.neighbour_r2(independent, POSITIONS, k=1)["r2"].mean() < 0.01


def test_r2_is_the_squared_correlation_of_dosages(linked):
    pairs = popgen.neighbour_r2(linked, POSITIONS, k=3)
    for _, row in pairs.sample(20, random_state=0).iterrows():
        i, j = int(row["i"]), int(row["j"])
        expected = np.corrcoef(linked[:, i], linked[:, j])[0, 1] ** 2
        assert row["r2"] == pytest.approx(expected) and row["distance"] == POSITIONS[j] - POSITIONS[i]
    constant = linked.copy()
    constant[:, 5] = 0
    assert popgen.neighbour_r2(constant, POSITIONS, k=1).set_index("i").loc[5, "r2"] != \
        popgen.neighbour_r2(constant, POSITIONS, k=1).set_index("i").loc[5, "r2"]  # NaN
    with pytest.raises(ValueError, match="sorted"):
        popgen.neighbour_r2(linked, POSITIONS[::-1])
    with pytest.raises(ValueError, match="positions"):
        popgen.neighbour_r2(linked, POSITIONS[:10])


def test_distances_are_exact(linked):
    a, b = linked[:7], popgen.shuffle_within_sites(linked, seed=4)[:5]
    brute = np.abs(a[:, None, :].astype(int) - b[None, :, :].astype(int)).sum(axis=2)
    np.testing.assert_array_equal(popgen.genotype_distances(a, b), brute)
    np.testing.assert_array_equal(popgen.closest(a, b), brute.min(axis=1))
    own = popgen.closest(a, a, exclude_self=True)
    assert (own > 0).all()
    with pytest.raises(ValueError, match="same sites"):
        popgen.genotype_distances(a, b[:, :10])
    with pytest.raises(ValueError, match="0, 1 or 2"):
        popgen.genotype_distances(a + 1, b)


def test_a_copied_member_set_is_caught():
    """Members and a holdout from one population; a "synthetic" cohort that copies members:
    every copy is at distance 0 from a member and not from any holdout person, AATS is 0
    (ideal 0.5) and its privacy loss positive, and kinship calls each copy a duplicate."""
    p = np.random.default_rng(5).uniform(0.1, 0.5, 1500)
    cohort = people(120, 1500, seed=5, p=p)
    members, holdout = cohort[:60], cohort[60:]
    copy = popgen.resample_people(members, 40, seed=6)
    assert (popgen.closest(copy, members) == 0).all() and (popgen.closest(copy, holdout) > 0).all()
    assert popgen.adversarial_accuracy(members, copy)["AATS"] < 0.2
    fresh = people(60, 1500, seed=7, p=p)  # new people of the same population: what a good generator writes
    assert 0.3 < popgen.adversarial_accuracy(members, fresh)["AATS"] < 0.7
    assert popgen.aats_privacy_loss(members, holdout, copy) > 0.2
    assert abs(popgen.aats_privacy_loss(members, holdout, fresh)) < 0.2
    degrees = popgen.kinship_degree(popgen.king_kinship(copy, members).max(axis=1))
    assert set(degrees) == {"duplicate"}
    assert set(popgen.kinship_degree(popgen.king_kinship(fresh, members).max(axis=1))) <= {"unrelated", "third degree"}


def test_relatives_get_their_degree():
    """A parent and child share one allele at every site (kinship 1/4), half siblings at
    half the sites (1/8), unrelated people none (0)."""
    rng = np.random.default_rng(8)
    n_sites = 3000
    p = rng.uniform(0.1, 0.5, n_sites)
    a1, a2, b1, b2, c1, c2 = haplotypes(6, n_sites, seed=9, p=p)

    def transmit(h1, h2):  # one of the parent's two alleles at each (unlinked) site
        return np.where(rng.random(n_sites) < 0.5, h1, h2)

    parent, other = a1 + a2, b1 + b2
    child = transmit(a1, a2) + transmit(b1, b2)
    half_sibling = transmit(a1, a2) + transmit(c1, c2)
    unrelated = people(1, n_sites, seed=10, p=p)[0]
    phi = popgen.king_kinship(np.stack([parent, child]), np.stack([child, half_sibling, unrelated, parent]))
    assert phi[0, 0] == pytest.approx(0.25, abs=0.04) and phi[1, 1] == pytest.approx(0.125, abs=0.04)
    assert phi[0, 2] == pytest.approx(0.0, abs=0.04) and phi[0, 3] == pytest.approx(0.5)
    assert popgen.kinship_degree(phi[0, :]).tolist() == ["first degree", "first degree", "unrelated", "duplicate"]
    assert popgen.kinship_degree(phi[1, 1]) == "second degree"
    assert popgen.kinship_degree([0.06, 0.01]).tolist() == ["third degree", "unrelated"]


def test_pca_is_fit_on_real_people_and_separates_populations():
    rng = np.random.default_rng(11)
    base = rng.uniform(0.2, 0.8, 500)
    pop_a = people(40, 500, seed=12, p=np.clip(base + 0.15, 0, 1))
    pop_b = people(40, 500, seed=13, p=np.clip(base - 0.15, 0, 1))
    real = np.vstack([pop_a, pop_b])
    fit = popgen.pca_fit(real, n_components=2)
    scores = popgen.pca_project(fit, real)
    gap = abs(scores[:40, 0].mean() - scores[40:, 0].mean())
    assert gap > 4 * max(scores[:40, 0].std(), scores[40:, 0].std())
    assert fit["explained"][0] > fit["explained"][1]
    # new people of population a land with population a on the real axes
    new_a = popgen.pca_project(fit, people(20, 500, seed=14, p=np.clip(base + 0.15, 0, 1)))
    assert np.sign(new_a[:, 0].mean()) == np.sign(scores[:40, 0].mean())
    with pytest.raises(ValueError, match="polymorphic"):
        popgen.pca_fit(np.zeros((5, 3), dtype=np.int8))


def test_heterozygosity():
    hwe = people(500, 200, seed=15)
    table = popgen.heterozygosity(hwe)
    assert abs(table["f"].mean()) < 0.03 and (table["expected"] == table["expected"].iloc[0]).all()
    all_het = np.ones((10, 200), dtype=np.int8)
    assert (popgen.heterozygosity(all_het, popgen.allele_frequencies(hwe))["f"] < -0.5).all()
