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
    # the same axes and variance ratios as a singular value decomposition of the scaled matrix
    p = popgen.allele_frequencies(real)
    x = (real - 2 * p) / np.sqrt(p * (1 - p))
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(np.abs(fit["components"]), np.abs(vt[:2].T), atol=1e-8)
    np.testing.assert_allclose(fit["explained"], sv[:2] ** 2 / (sv ** 2).sum(), rtol=1e-8)


def test_genotype_shares_and_uniqueness():
    d = np.array([[0, 1, 2, 2], [0, 1, 2, 2], [1, 1, 0, 0]], dtype=np.int8)
    assert popgen.genotype_shares(d) == {"hom_ref": 4 / 12, "het": 4 / 12, "hom_alt": 4 / 12,
                                         "mean_af": pytest.approx(np.mean([1 / 6, 3 / 6, 4 / 6, 4 / 6]))}
    assert popgen.uniqueness(d) == pytest.approx(2 / 3) and popgen.uniqueness(d[:1]) == 1.0


def test_heterozygosity():
    hwe = people(500, 200, seed=15)
    table = popgen.heterozygosity(hwe)
    assert abs(table["f"].mean()) < 0.03 and (table["expected"] == table["expected"].iloc[0]).all()
    all_het = np.ones((10, 200), dtype=np.int8)
    assert (popgen.heterozygosity(all_het, popgen.allele_frequencies(hwe))["f"] < -0.5).all()


def test_hwe_exact_is_the_exact_distribution():
    """Against the distribution written out (Levene's formula) for every heterozygote count."""
    from math import lgamma

    def exact(n: int, minor: int) -> dict[int, float]:
        out = {}
        for het in range(minor % 2, minor + 1, 2):
            hom_minor = (minor - het) // 2
            hom_major = n - het - hom_minor
            if hom_major < 0:
                continue
            out[het] = np.exp(lgamma(n + 1) - lgamma(hom_minor + 1) - lgamma(het + 1) - lgamma(hom_major + 1)
                              + het * np.log(2) + lgamma(minor + 1) + lgamma(2 * n - minor + 1) - lgamma(2 * n + 1))
        return out

    for n, minor in ((20, 10), (15, 7), (30, 30)):
        dist = exact(n, minor)
        assert sum(dist.values()) == pytest.approx(1.0)
        for het, p in dist.items():
            hom_minor = (minor - het) // 2
            expected = sum(q for q in dist.values() if q <= p * (1 + 1e-9))
            assert popgen.hwe_exact(het, n - het - hom_minor, hom_minor) == pytest.approx(min(1.0, expected))
    assert popgen.hwe_exact(0, 10, 0) == 1.0
    hwe = people(300, 100, seed=16)
    p = popgen.hwe_pvalues(hwe)
    assert 0.85 < np.mean(p > 0.05) and p.shape == (100,)
    assert (popgen.hwe_pvalues(np.ones((50, 3), dtype=np.int8)) < 1e-6).all()  # everyone heterozygous


def test_fst_and_telling_real_from_synthetic():
    rng = np.random.default_rng(17)
    base = rng.uniform(0.2, 0.8, 300)
    one = people(80, 300, seed=18, p=base)
    labels = ["a"] * 40 + ["b"] * 40
    assert abs(popgen.weir_cockerham_fst(one, labels)) < 0.02
    fixed = np.vstack([np.zeros((20, 300), dtype=np.int8), np.full((20, 300), 2, dtype=np.int8)])
    assert popgen.weir_cockerham_fst(fixed, ["a"] * 20 + ["b"] * 20) > 0.95
    apart = np.vstack([people(40, 300, seed=19, p=np.clip(base + 0.2, 0, 1)),
                       people(40, 300, seed=20, p=np.clip(base - 0.2, 0, 1))])
    assert 0.05 < popgen.weir_cockerham_fst(apart, labels) < 0.5
    with pytest.raises(ValueError, match="labels"):
        popgen.weir_cockerham_fst(one, labels[:5])
    auc, low, high = popgen.classifier_two_sample(one[:40], one[40:], n_boot=50)
    assert 0.3 < auc < 0.7 and low <= auc <= high
    auc, low, _ = popgen.classifier_two_sample(apart[:40], apart[40:], n_boot=50)
    assert auc > 0.95 and low > 0.85
    value, low, high = popgen.bootstrap(lambda a: a.mean(), [one], n_boot=100, seed=1)
    assert low <= value <= high and (value, low, high) == popgen.bootstrap(lambda a: a.mean(), [one], 100, 1)


def test_the_suite_frames_a_cohort_by_its_references():
    p = np.random.default_rng(21).uniform(0.02, 0.98, 600)
    real = people(150, 600, seed=22, p=p, linked=0.5)
    members, holdout = real[:90], real[90:]
    positions = np.arange(1, 601) * 500
    cohorts = popgen.reference_cohorts(members, 60, seed=1)
    cohorts["new people"] = people(60, 600, seed=23, p=p, linked=0.5)
    table = popgen.utility_table(holdout, members, cohorts, positions, k=1, n_boot=30)
    assert set(table["cohort"]) == set(cohorts) and not table["value"].isna().any()
    value = table.set_index(["cohort", "metric"])["value"]
    assert value["copy of members", "exact_copies"] == 1.0 and value["copy of members", "kin_duplicate"] == 1.0
    assert value["copy of members", "dcr_members"] == 0.0 < value["copy of members", "dcr_holdout"]
    assert value["copy of members", "aats_privacy_loss"] > 0.2 > abs(value["new people", "aats_privacy_loss"])
    assert value["new people", "exact_copies"] == 0.0 and value["new people", "kin_duplicate"] == 0.0
    assert value["new people", "unique_people"] == 1.0 and value["copy of members", "unique_people"] == 1.0
    assert value["copy of members", "mean_af"] == pytest.approx(popgen.genotype_shares(cohorts["copy of members"])["mean_af"])
    # independent sites keep frequencies, lose linkage
    assert value["independent sites", "af_r"] > 0.8 and value["new people", "af_r"] > 0.8
    assert value["independent sites", "ld_r2_mad"] > 1.5 * value["new people", "ld_r2_mad"]  # 60 people: noisy r2
    intervals = table.dropna(subset=["low"])
    assert set(intervals["metric"]) == {"af_r", "af_mad", "heterozygosity", "c2st_auc", "aats"}
    assert ((intervals["low"] <= intervals["value"] + 1e-12) & (intervals["value"] <= intervals["high"] + 1e-12)).all()
