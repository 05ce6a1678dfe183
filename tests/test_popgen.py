"""lib.genetics.popgen on small hand-made cohorts whose answers are known: copies score perfectly,
shuffling people within sites keeps allele frequencies and destroys linkage, a copied
member set is caught by distances, AATS and kinship, relatives get their degree."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import haplotypes
from lib.genetics import popgen
from lib.core import scoring
from lib.genomes.cohort import Cohort, Contig


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


def test_aats_privacy_loss_compares_equal_sized_sets():
    """Members four times as many as the holdout (240 and 60), synthetic people from the same
    population, eight draws. Against all members AATS's halves are biased by the size alone
    (each member's closest other member and each synthetic person's closest member are
    nearer): the old loss's AA_T part is about -0.34, its AA_S part about +0.29, and the loss
    near 0 only as the two cancel. Against a holdout-sized subset of the members each half
    is near 0 and so is the loss. A cohort that copies every member is caught (loss above
    0.1 in every draw), but less loudly than against all members (about 0.17 against 0.5):
    the copies of members left out of the subset look like strangers."""
    p = np.random.default_rng(60).uniform(0.05, 0.5, 500)
    halves_old, halves_new, loss_old, loss_new = [], [], [], []
    for s in range(8):
        members, holdout, fresh = (people(n, 500, seed=[61, s, k], p=p, linked=0.5)
                                   for k, n in enumerate((240, 60, 60)))
        member_rows, holdout_rows = popgen.equal_size_subsets(240, 60, seed=s)
        assert len(member_rows) == 60 == len(np.unique(member_rows)) and holdout_rows.tolist() == list(range(60))

        def halves(real):
            out = popgen.adversarial_accuracy(real, fresh)
            return np.array([out["AA_T"], out["AA_S"]])

        against_holdout = halves(holdout)
        halves_old.append(against_holdout - halves(members))
        halves_new.append(against_holdout - halves(members[member_rows]))
        loss_old.append(halves_old[-1].mean())
        loss_new.append(popgen.aats_privacy_loss(members, holdout, fresh, seed=s))
        assert loss_new[-1] == pytest.approx(halves_new[-1].mean())
        memorised = members[np.random.default_rng(s).permutation(240)]  # every member, copied
        caught = popgen.aats_privacy_loss(members, holdout, memorised, seed=s)
        assert 0.1 < caught < popgen.adversarial_accuracy(holdout, memorised)["AATS"] - \
            popgen.adversarial_accuracy(members, memorised)["AATS"]
    halves_old, halves_new = np.array(halves_old), np.array(halves_new)
    assert (halves_old[:, 0] < -0.2).all() and (halves_old[:, 1] > 0.2).all()
    assert (np.abs(halves_new.mean(axis=0)) < 0.05).all()
    assert abs(np.mean(loss_new)) < 0.03 and max(np.abs(loss_new)) < 0.1
    assert abs(np.mean(loss_old)) < 0.05  # the old halves cancel, nearly


def test_equal_size_subsets_and_the_suite_agree():
    """The subset is seeded and sorted, the larger set is the one cut, and the suite's
    ``aats_privacy_loss`` is :func:`popgen.aats_privacy_loss` with the same seed, whether
    the subset's closest distances are passed in ``own`` or computed."""
    a = popgen.equal_size_subsets(90, 30, seed=4)
    assert np.array_equal(a[0], popgen.equal_size_subsets(90, 30, seed=4)[0])
    assert not np.array_equal(a[0], popgen.equal_size_subsets(90, 30, seed=5)[0])
    assert len(a[0]) == 30 and (np.diff(a[0]) > 0).all() and a[1].tolist() == list(range(30))
    members_kept, holdout_cut = popgen.equal_size_subsets(20, 50, seed=4)
    assert members_kept.tolist() == list(range(20)) and len(np.unique(holdout_cut)) == 20
    # the copy reference and the subset come from different streams of one seed
    assert set(popgen.resample_people(np.arange(90)[:, None], 30, seed=4)[:, 0]) != set(a[0])
    p = np.random.default_rng(62).uniform(0.05, 0.5, 300)
    members, holdout, fresh = (people(n, 300, seed=seed, p=p) for n, seed in ((90, 63), (30, 64), (30, 65)))
    positions = np.arange(1, 301) * 1_000
    for m, h in ((members, holdout), (holdout, members)):  # the holdout larger, too
        table = popgen.cohort_comparison(h, m, {"x": fresh}, positions, k=1, n_boot=5, seed=4)
        value = table.set_index("metric")["value"]["aats_privacy_loss"]
        assert value == pytest.approx(popgen.aats_privacy_loss(m, h, fresh, seed=4), abs=1e-12)
    rows, _ = popgen.equal_size_subsets(90, 30, seed=4)
    own = {"members_equal": popgen.own_distances(members[rows])}
    table = popgen.cohort_comparison(holdout, members, {"x": fresh}, positions, k=1, n_boot=5, seed=4, own=own)
    assert table.set_index("metric")["value"]["aats_privacy_loss"] == pytest.approx(
        popgen.aats_privacy_loss(members, holdout, fresh, seed=4), abs=1e-12)
    with pytest.raises(ValueError, match="members_equal"):
        popgen.cohort_comparison(holdout, members, {"x": fresh}, positions, k=1, n_boot=5,
                             own={"members_equal": own["members_equal"][:10]})


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


def within_family_king(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The within-family KING-robust form popgen used before: (N_AaAa - 2 N_AA,aa) /
    (N_Aa(i) + N_Aa(j)), written out here to show where the two estimators part."""
    a0, a1, a2 = ((a == g).astype(np.float64) for g in (0, 1, 2))
    b0, b1, b2 = ((b == g).astype(np.float64) for g in (0, 1, 2))
    return (a1 @ b1.T - 2 * (a0 @ b2.T + a2 @ b0.T)) / (a1.sum(axis=1)[:, None] + b1.sum(axis=1)[None, :])


def test_king_is_the_between_family_estimator():
    """Pair by pair against eq. 11 of Manichaikul et al. (2010) written as PLINK 2 documents
    it, 1/2 + (2 N_AaAa - 4 N_AA,aa - N_Aa(i) - N_Aa(j)) / (4 min N_Aa): duplicates exactly
    0.5, NaN where either person has no heterozygous site, never above the within-family
    form and equal to it where the two people have as many heterozygous sites."""
    rng = np.random.default_rng(30)
    a = rng.integers(0, 3, (6, 50)).astype(np.int8)
    b = np.vstack([rng.integers(0, 3, (5, 50)), a[:1], np.zeros((1, 50))]).astype(np.int8)
    b[-1, :3] = 2  # homozygous everywhere: no heterozygous site
    phi = popgen.king_kinship(a, b)
    for i in range(len(a)):
        for j in range(len(b)):
            x, y = a[i].astype(int), b[j].astype(int)
            het_x, het_y = int((x == 1).sum()), int((y == 1).sum())
            if min(het_x, het_y) == 0:
                assert np.isnan(phi[i, j])
                continue
            both = int(((x == 1) & (y == 1)).sum())
            opposite = int((np.abs(x - y) == 2).sum())
            expected = 0.5 + (2 * both - 4 * opposite - het_x - het_y) / (4 * min(het_x, het_y))
            assert phi[i, j] == pytest.approx(expected, abs=1e-12)
            assert phi[i, j] == pytest.approx(0.5 - ((x - y) ** 2).sum() / (4 * min(het_x, het_y)), abs=1e-12)
    assert phi[0, 5] == 0.5 and np.isnan(phi[:, 6]).all()
    np.testing.assert_array_equal(np.diag(popgen.king_kinship(a, a)), 0.5)  # each person with itself
    old = within_family_king(a, b[:6])
    assert (phi[:, :6] <= old + 1e-12).all()
    het_a, het_b = (a == 1).sum(axis=1)[:, None], (b[:6] == 1).sum(axis=1)[None, :]
    np.testing.assert_allclose(phi[:, :6][het_a == het_b], old[het_a == het_b], atol=1e-12)
    assert (phi[:, :6][het_a != het_b] < old[het_a != het_b]).all()


def test_king_does_not_take_unequal_strangers_for_relatives():
    """Two unrelated people of very different heterozygosity: one whose two haplotypes come
    from populations at allele frequencies 0.02 and 0.98 (a first-generation child of two
    distant populations: heterozygous at ~96% of sites; a generator that writes too many
    heterozygotes looks the same), one drawn at frequencies 0.1-0.3 (~32%). They share
    nothing by descent. The within-family form, dividing by the mean heterozygosity, calls
    them first-degree relatives (about 0.21); the between-family form, dividing by the
    smaller one, calls them unrelated (about -0.07)."""
    for seed in range(5):
        rng = np.random.default_rng([31, seed])
        n_sites = 2000
        mixed = (rng.random(n_sites) < 0.02).astype(np.int8) + (rng.random(n_sites) < 0.98).astype(np.int8)
        q = rng.uniform(0.1, 0.3, n_sites)
        other = (rng.random(n_sites) < q).astype(np.int8) + (rng.random(n_sites) < q).astype(np.int8)
        assert (mixed == 1).mean() > 0.9 and (other == 1).mean() < 0.4
        old = within_family_king(mixed[None], other[None])[0, 0]
        new = popgen.king_kinship(mixed[None], other[None])[0, 0]
        assert popgen.kinship_degree(old) == "first degree" and old > 0.19
        assert popgen.kinship_degree(new) == "unrelated" and new < 0.0


def test_king_calls_unrelated_people_of_one_population_unrelated():
    """Thirty unrelated people of one population (3,000 sites): mean kinship about 0, none
    called second degree or closer (the parent and child, half siblings and duplicates of
    test_relatives_get_their_degree are the other side)."""
    d = people(30, 3000, seed=32)
    phi = popgen.king_kinship(d, d)
    pairs = phi[np.triu_indices(30, k=1)]
    assert abs(pairs.mean()) < 0.02 and pairs.max() < popgen.KINSHIP_CUTOFFS["second degree"]


def test_king_on_real_strangers(real_data):
    """The 813 people of the committed 1000 Genomes panel, pairs of different
    super-populations (strangers by construction). The between-family estimate is never
    above the within-family one; it calls at most 1 in 1,000 such pairs first-degree
    relatives; and among the pairs whose heterozygous-site counts differ two-fold or more
    (an African and a European person, typically) the within-family form calls more than
    1% related (third degree or closer), the between-family form none."""
    from lib.genomes.vcf import read_vcf

    cohort = read_vcf(real_data["vcf"], populations_path=real_data["populations"], assembly="GRCh37")
    d = popgen.dosages(cohort)
    superpopulation = cohort.samples["superpopulation"].to_numpy()
    phi, old = popgen.king_kinship(d, d), within_family_king(d, d)
    assert (phi <= old + 1e-12).all()
    upper = np.triu_indices(len(d), k=1)
    strangers = (superpopulation[:, None] != superpopulation[None, :])[upper]
    het = (d == 1).sum(axis=1)
    unequal = (np.maximum(het[:, None], het[None, :]) >= 2 * np.minimum(het[:, None], het[None, :]))[upper]
    new_pairs, old_pairs = phi[upper], old[upper]
    assert strangers.sum() > 250_000 and (strangers & unequal).sum() > 10_000
    assert np.mean(new_pairs[strangers] > popgen.KINSHIP_CUTOFFS["first degree"]) < 1e-3
    related = popgen.KINSHIP_CUTOFFS["third degree"]
    assert np.mean(old_pairs[strangers & unequal] > related) > 0.01
    assert np.mean(new_pairs[strangers & unequal] > related) == 0.0


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
    value, low, high = scoring.bootstrap(lambda a: a.mean(), [one], n_boot=100, seed=1)
    assert low <= value <= high and (value, low, high) == scoring.bootstrap(lambda a: a.mean(), [one], 100, 1)


def founder_blocks(n_sites: int, seed: int, block: int = 20, founders: int = 4) -> list:
    """A population of haplotype blocks: per block of ``block`` sites, ``founders`` founder
    haplotypes (each site's ALT at a frequency of 0.05-0.5) and their shares. Strong
    linkage within a block (only a few combinations of its sites exist), none between."""
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_sites, block):
        width = min(block, n_sites - start)
        haplotypes = (rng.random((founders, width)) < rng.uniform(0.05, 0.5, width)).astype(np.int8)
        out.append((haplotypes, rng.dirichlet(np.ones(founders))))
    return out


def block_people(population: list, n: int, seed) -> np.ndarray:
    """``n`` people of a :func:`founder_blocks` population: each of their two haplotypes
    takes one founder per block, independently."""
    rng = np.random.default_rng(seed)
    blocks = [founders[rng.choice(len(founders), 2 * n, p=shares)] for founders, shares in population]
    h = np.hstack(blocks)
    return h[0::2] + h[1::2]


def test_boosted_two_sample_test_sees_linkage():
    """Real people made of haplotype blocks against independent sites at the population's
    allele frequencies (no linkage): a weighted sum of sites sees nothing (AUC about 0.5),
    the boosted trees on dosages and principal components see the broken haplotypes
    (about 0.97). The independent sites are drawn from another sample of the population, not
    from the real people compared: drawn from those, each held-out real person would have
    pulled the synthetic frequencies towards themselves (a leak that scores below 0.5)."""
    population = founder_blocks(1000, seed=40)
    real = block_people(population, 122, seed=41)
    independent = popgen.independent_sites(block_people(population, 1000, seed=42), 122, seed=43)
    linear = popgen.classifier_two_sample(real, independent, seed=1, n_boot=100)
    boosting = popgen.classifier_two_sample(real, independent, seed=1, n_boot=100, kind="boosting")
    assert linear[0] < 0.65 and boosting[0] > 0.9
    assert boosting[0] > linear[0] + 0.25 and boosting[1] > linear[2]  # intervals apart


def test_two_draws_of_one_population_cannot_be_told_apart():
    """Two samples of one population of haplotype blocks (80 + 80 people, 500 sites), for
    four populations: both kinds score near 0.5 and their intervals cover it. The interval
    resamples people with the out-of-fold predictions fixed (not the luck of the fits): over
    20 such populations it covered 0.5 in 18 (linear) and 19 (boosting), mean AUCs 0.516
    and 0.507; so here three of four must, not all."""
    for kind in ("linear", "boosting"):
        values, covered = [], 0
        for s in range(4):
            population = founder_blocks(500, seed=[44, s])
            a, b = block_people(population, 80, seed=[45, s]), block_people(population, 80, seed=[46, s])
            auc, low, high = popgen.classifier_two_sample(a, b, seed=2, n_boot=200, kind=kind)
            values.append(auc)
            covered += low <= 0.5 <= high
        assert max(abs(v - 0.5) for v in values) < 0.15 and abs(np.mean(values) - 0.5) < 0.05, (kind, values)
        assert covered >= 3, (kind, values)


def test_two_sample_test_is_seeded_and_fits_its_axes_on_training_people(monkeypatch):
    """The same seed gives the same numbers; the linear kind is the logistic regression it
    always was; the boosted kind fits its principal components on each fold's training
    people (never on the people the fold predicts) unless the caller passes ``axes``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    population = founder_blocks(300, seed=47)
    a, b = block_people(population, 40, seed=48), block_people(population, 40, seed=49)
    for kind in ("linear", "boosting"):
        first = popgen.classifier_two_sample(a, b, seed=3, n_boot=50, kind=kind)
        assert first == popgen.classifier_two_sample(a, b, seed=3, n_boot=50, kind=kind)
    x, y = np.vstack([a, b]).astype(np.float64), np.r_[np.zeros(40), np.ones(40)]
    score = cross_val_predict(LogisticRegression(C=0.1, max_iter=2000), x, y, method="predict_proba",
                              cv=StratifiedKFold(5, shuffle=True, random_state=3))[:, 1]
    assert popgen.classifier_two_sample(a, b, seed=3, n_boot=50)[0] == scoring.roc_auc(y, score)

    fitted = []
    real_fit = popgen.pca_fit
    monkeypatch.setattr(popgen, "pca_fit", lambda d, n=4: fitted.append(d.copy()) or real_fit(d, n))
    popgen.classifier_two_sample(a, b, seed=3, folds=4, n_boot=10, kind="boosting")
    everyone = np.vstack([a, b])
    assert len(np.unique(everyone, axis=0)) == 80 and len(fitted) == 4
    held_out = np.zeros(80, dtype=int)
    for d in fitted:
        rows = [int(np.flatnonzero((everyone == person).all(axis=1))[0]) for person in d]
        assert len(rows) == 60 == len(set(rows))
        held_out[np.setdiff1d(np.arange(80), rows)] += 1
    assert (held_out == 1).all()  # each person predicted by exactly one fold, fit without them
    fitted.clear()
    axes = real_fit(block_people(population, 50, seed=50), 4)  # e.g. public people
    with_axes = popgen.classifier_two_sample(a, b, seed=3, n_boot=50, kind="boosting", axes=axes)
    assert not fitted and 0.0 <= with_axes[1] <= with_axes[0] <= with_axes[2] <= 1.0
    with pytest.raises(ValueError, match="kind"):
        popgen.classifier_two_sample(a, b, kind="forest")
    with pytest.raises(ValueError, match="axes"):
        popgen.classifier_two_sample(a, b, axes=axes)
    with pytest.raises(ValueError, match="sites"):
        popgen.classifier_two_sample(a[:, :100], b[:, :100], kind="boosting", axes=axes)


def test_population_af_agreement_fails_a_left_out_population():
    """Three real populations of 30 people and one of 3. A synthetic cohort with the first
    two (new people at their frequencies) scores high on them; the third, which it leaves
    out (2 people labelled with it, under ``min_people``), scores 0.0, a failure the mean
    over populations feels, where it used to be NaN and dropped from the mean; the
    population of 3 real people is not judged (NaN), whatever the synthetic cohort holds.
    A population whose synthetic people carry no ALT allele scores 0.0 too."""
    rng = np.random.default_rng(70)
    frequencies = {name: rng.uniform(0.05, 0.6, 400) for name in ("a", "b", "c", "d")}
    real = np.vstack([people(30, 400, seed=71, p=frequencies["a"]), people(30, 400, seed=72, p=frequencies["b"]),
                      people(30, 400, seed=73, p=frequencies["c"]), people(3, 400, seed=74, p=frequencies["d"])])
    real_labels = ["a"] * 30 + ["b"] * 30 + ["c"] * 30 + ["d"] * 3
    synthetic = np.vstack([people(40, 400, seed=75, p=frequencies["a"]), people(40, 400, seed=76, p=frequencies["b"]),
                           people(2, 400, seed=77, p=frequencies["c"]), people(20, 400, seed=78, p=frequencies["d"])])
    synthetic_labels = ["a"] * 40 + ["b"] * 40 + ["c"] * 2 + ["d"] * 20
    per = popgen.population_af_agreement(real, real_labels, synthetic, synthetic_labels)
    assert per["a"] > 0.8 and per["b"] > 0.8 and per["c"] == 0.0 and np.isnan(per["d"])
    judged = [v for v in per.values() if v == v]
    assert np.mean(judged) < 0.7 < min(per["a"], per["b"])  # the dropped population pulls the mean down
    all_ref = synthetic.copy()
    all_ref[80:82] = 0
    all_ref[:40] = 0  # population a's synthetic people: no ALT allele anywhere
    assert popgen.population_af_agreement(real, real_labels, all_ref, synthetic_labels)["a"] == 0.0
    constant_real = real.copy()
    constant_real[60:90] = 1  # population c's real people: every frequency 0.5, nothing to judge
    assert np.isnan(popgen.population_af_agreement(constant_real, real_labels, synthetic, synthetic_labels)["c"])
    with pytest.raises(ValueError, match="labels"):
        popgen.population_af_agreement(real, real_labels[:10], synthetic, synthetic_labels)


def test_the_suite_frames_a_cohort_by_its_references():
    p = np.random.default_rng(21).uniform(0.02, 0.98, 600)
    real = people(150, 600, seed=22, p=p, linked=0.5)
    members, holdout = real[:90], real[90:]
    positions = np.arange(1, 601) * 500
    cohorts = {"independent sites": popgen.independent_sites(members, 60, 1),
               "copy of members": popgen.resample_people(members, 60, 1)}
    cohorts["new people"] = people(60, 600, seed=23, p=p, linked=0.5)
    table = popgen.cohort_comparison(holdout, members, cohorts, positions, k=1, n_boot=30)
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


def test_genotype_classes_count_each_class_and_their_test_sees_rare_genotypes():
    """Four numbers per person (het and hom-ALT at rare and at common sites, rare by the
    reference frequencies); a cohort drawn like the real one cannot be told apart by them,
    one that writes rare homozygous genotypes can."""
    d = np.array([[0, 1, 2, 1], [2, 0, 1, 0]], dtype=np.int8)
    af = np.array([0.01, 0.02, 0.3, 0.6])  # the first two sites are rare
    assert popgen.genotype_classes(d, af).tolist() == [[1, 0, 1, 1], [0, 1, 1, 0]]
    with pytest.raises(ValueError, match="reference_af"):
        popgen.genotype_classes(d, af[:3])
    rng = np.random.default_rng(0)
    p = np.r_[np.full(60, 0.02), np.full(40, 0.3)]

    def draw(n, freq):
        return (rng.random((n, len(freq))) < freq).astype(np.int8) + (rng.random((n, len(freq))) < freq)

    real, again = draw(150, p), draw(150, p)
    auc, low, high = popgen.class_two_sample(real, again, p, n_boot=50)
    assert low < 0.5 < high and auc < 0.62
    skewed = again.copy()
    skewed[:, :3] = 2  # three rare sites homozygous ALT in everybody
    assert popgen.class_two_sample(real, skewed, p, n_boot=50)[0] > 0.95


def test_aats_balance_reads_two_failures_as_the_worst_where_aats_reads_them_as_ideal():
    """Synthetic people nearer to the (sparse) real people than to each other, and real people
    nearer to each other than to any synthetic one, give AA_T = 1 and AA_S = 0: AATS 0.5 (its ideal), the balance 0.5 (its worst); two
    draws of one population give a balance near 0."""
    rng = np.random.default_rng(1)
    far = np.zeros((40, 200), dtype=np.int8)
    for person in far:  # each synthetic person: ten random homozygous sites, apart from every other
        person[rng.choice(200, 10, replace=False)] = 2
    real_close = (rng.random((40, 200)) < 0.02).astype(np.int8)  # real people with few variants, near each other
    aa = popgen.adversarial_accuracy(real_close, far)
    assert aa["AA_T"] == 1.0 and aa["AA_S"] == 0.0 and aa["AATS"] == 0.5
    value, low, high = popgen.aats_balance_interval(real_close, far, n_boot=50)
    assert value == 0.5 and low <= value <= high
    p = np.full(200, 0.3)
    a = (rng.random((60, 200)) < p).astype(np.int8) + (rng.random((60, 200)) < p)
    b = (rng.random((60, 200)) < p).astype(np.int8) + (rng.random((60, 200)) < p)
    assert popgen.aats_balance_interval(a, b, n_boot=50)[0] < 0.15
