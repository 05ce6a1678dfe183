"""The private baselines (lib.dp.baselines): the sensitivity by changing one person, the noise
calibrated by the book's accountant and checked against the exact Gaussian privacy profile,
the contribution bound from public people, the sampler, and bad input refused."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lib.evaluation import audit
from lib.dp import baselines, privacy
from lib.lm import tokenization as tk
from lib.ch06_privacy import audit_k_values

SITES = ["22:100:A>G", "22:200:C>T", "22:300:G>A,C", "22:400:T>C"]
RECORDS = tk.record_vocabulary(SITES, phased=True)


def people(n: int, seed: int = 0, most: int = 4) -> list[list[str]]:
    """Random sparse profiles: at most one genotype per site, up to ``most`` records."""
    rng = np.random.default_rng(seed)
    by_site = baselines.site_records(RECORDS)
    out = []
    for _ in range(n):
        sites = rng.choice(SITES, size=rng.integers(0, most + 1), replace=False)
        out.append([str(rng.choice(by_site[s])) for s in sorted(sites, key=SITES.index)])
    return out


def test_the_vocabulary_is_the_record_tokenizers():
    assert RECORDS[:3] == ["22:100:A>G_0|1", "22:100:A>G_1|0", "22:100:A>G_1|1"]
    assert sum(r.startswith("22:300:") for r in RECORDS) == 8  # two ALT alleles: 3 x 3 genotypes less 0|0


@pytest.mark.parametrize("bound", [1, 2, 3])
def test_sensitivity_by_adding_or_removing_one_person(bound):
    """Neighbouring cohorts (one person added or removed, the accountant's relation): the
    bounded sums differ by at most sqrt(bound + 1) in L2, and by exactly that for a person
    who carries at least ``bound`` records."""
    cohort = people(30, seed=bound)
    base, _, _ = baselines.bounded_counts(cohort, RECORDS, bound, seed=0)
    worst = 0.0
    for i in range(len(cohort)):
        without, _, _ = baselines.bounded_counts(cohort[:i] + cohort[i + 1:], RECORDS, bound, seed=0)
        alone, _, _ = baselines.bounded_counts([cohort[i]], RECORDS, bound, seed=0)
        assert (base - without == alone).all()  # a person's vector depends on that person alone
        norm = float(np.linalg.norm(base - without))
        assert norm <= math.sqrt(bound + 1) + 1e-12
        if len(cohort[i]) >= bound:
            assert norm == pytest.approx(math.sqrt(bound + 1))
        worst = max(worst, norm)
        assert without[-1] == base[-1] - 1  # the count of people moves by one
    assert worst == pytest.approx(math.sqrt(bound + 1))
    heavy = [RECORDS[0], RECORDS[3], RECORDS[6], RECORDS[-1]]  # four records on four sites
    sums, cut, lost = baselines.bounded_counts([heavy], RECORDS, bound, seed=1)
    assert sums[:-1].sum() == min(bound, 4) and (cut, lost) == ((1, 4 - bound) if bound < 4 else (0, 0))


def test_the_bound_comes_from_the_public_people():
    public = [["22:100:A>G_0|1"], ["22:100:A>G_1|1", "22:200:C>T_0|1", "22:400:T>C_1|0"]]
    assert baselines.contribution_bound(public) == 3
    with pytest.raises(ValueError, match="public people"):
        baselines.contribution_bound([])


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 3.0, 8.0])
def test_noise_is_calibrated_by_the_books_accountant_and_the_exact_profile_agrees(epsilon):
    """σ spends at most ε by the accountant (PRV, as DP-SGD), and the Gaussian mechanism's
    exact privacy profile (Balle & Wang 2018) puts its ε no higher than the accountant's and
    close to it; 1% less noise would spend more than ε."""
    delta = 1e-5
    sigma = baselines.release_noise_multiplier(epsilon, delta)
    spent = privacy.compute_epsilon(1.0, sigma, 1, delta, "prv")
    assert spent <= epsilon
    assert privacy.compute_epsilon(1.0, sigma * 0.99, 1, delta, "prv") > epsilon
    exact = baselines.gaussian_epsilon(sigma, delta)
    assert exact <= spent + 1e-6 and spent - exact < 0.02 * epsilon + 0.01
    assert baselines.gaussian_delta(sigma, exact) == pytest.approx(delta, rel=1e-3)


def test_release_adds_gaussian_noise_of_the_recorded_scale():
    """The noise is N(0, (σ·sqrt(k+1))²) on every coordinate: its standard deviation over many
    coordinates matches the recorded one, and the record says what a privacy.json says."""
    cohort = people(50, seed=3)
    records = RECORDS * 1  # the same vocabulary
    sums, _, _ = baselines.bounded_counts(cohort, records, 2, seed=0)
    noise = []
    for seed in range(200):
        noisy, record = baselines.release_counts(cohort, records, 2, 1.0, 1e-5, seed=seed)
        noise.append(noisy - sums)
    noise = np.concatenate(noise)
    assert record["l2_sensitivity"] == pytest.approx(math.sqrt(3))
    assert np.std(noise) == pytest.approx(record["noise_std"], rel=0.05)
    assert abs(np.mean(noise)) < 0.1 * record["noise_std"]
    assert record["epsilon"] <= 1.0 and record["delta"] == 1e-5 and record["neighbouring"] == baselines.NEIGHBOURS
    assert record["accountant"] == "prv" and record[baselines.OUTSIDE]["members"] == 50
    assert not {"members", "members_cut", "records_cut"} & set(record)  # member counts only outside ε


def test_the_sampler_follows_the_released_counts():
    """With almost no noise the synthetic people carry each record at the members' rate (one
    genotype per site at most, sites in panel order), and the same seed gives the same people."""
    cohort = people(400, seed=4)
    bound = max(len(p) for p in cohort)
    sums, _, _ = baselines.bounded_counts(cohort, RECORDS, bound)
    synthetic = baselines.sample_sites(sums.astype(float), RECORDS, 4000, seed=1)
    counts = {r: 0 for r in RECORDS}
    for profile in synthetic:
        sites = [r.rsplit("_", 1)[0] for r in profile]
        assert len(set(sites)) == len(sites) and sites == sorted(sites, key=SITES.index)
        for r in profile:
            counts[r] += 1
    rates = np.array([counts[r] / 4000 for r in RECORDS])
    assert np.abs(rates - sums[:-1] / sums[-1]).max() < 0.03
    assert baselines.sample_sites(sums.astype(float), RECORDS, 10, seed=2) == \
        baselines.sample_sites(sums.astype(float), RECORDS, 10, seed=2)
    # noisy counts above the number of people are renormalised, negative ones read as 0
    wild = np.zeros(len(RECORDS) + 1)
    wild[:3], wild[3:6], wild[-1] = 50.0, -20.0, 10.0
    drawn = baselines.sample_sites(wild, RECORDS, 200, seed=0)
    assert all(p and p[0] in RECORDS[:3] for p in drawn) and not any(r in RECORDS[3:6] for p in drawn for r in p)


def test_private_independent_sites_end_to_end_and_bad_input():
    members, public = people(120, seed=5), people(20, seed=6)
    synthetic, record = baselines.private_independent_sites(members, public, SITES, 60, 3.0, 1e-5, seed=0)
    assert len(synthetic) == 60 and all(r in RECORDS for p in synthetic for r in p)
    assert record["contribution_bound"] == baselines.contribution_bound(public)
    assert record["epsilon"] <= 3.0 and "public" in record["bound_from"]
    again, _ = baselines.private_independent_sites(members, public, SITES, 60, 3.0, 1e-5, seed=0)
    assert again == synthetic
    for epsilon in (0, -1.0, float("inf"), float("nan"), True):
        with pytest.raises(ValueError, match="epsilon"):
            baselines.private_independent_sites(members, public, SITES, 60, epsilon, 1e-5)
    with pytest.raises(ValueError, match="delta"):
        baselines.private_independent_sites(members, public, SITES, 60, 1.0, 1 / 100)  # not below 1/n
    with pytest.raises(ValueError, match="22:999:A>T_0\\|1"):
        baselines.bounded_counts([["22:999:A>T_0|1"]], RECORDS, 2)
    with pytest.raises(ValueError, match="twice"):
        baselines.bounded_counts([[RECORDS[0], RECORDS[0]]], RECORDS, 2)
    with pytest.raises(ValueError, match="bound"):
        baselines.bounded_counts(members, RECORDS, 0)


def audit_release(epsilon: float, seed: int = 0, m: int = 200) -> dict:
    """The one-run audit (Steinke et al. 2023, :func:`lib.evaluation.audit.one_run_audit`) of one
    release: ``m`` canaries, each a person with one record no member carries, each added to
    the members with probability 1/2; the auditor scores a canary by the released count of
    its record."""
    sites = [f"22:{1000 + 10 * i}:A>G" for i in range(400)]
    records = tk.record_vocabulary(sites)
    rng = np.random.default_rng(seed)
    members = [[records[j] for j in sorted(rng.choice(300, size=3, replace=False))] for _ in range(100)]
    canary_ids = 300 + rng.choice(len(records) - 300, size=m, replace=False)
    included = rng.random(m) < 0.5
    cohort = members + [[records[j]] for j, inside in zip(canary_ids, included) if inside]
    noisy, _ = baselines.release_counts(cohort, records, 3, epsilon, 1e-5, seed=seed)
    return audit.one_run_audit(noisy[canary_ids], included.astype(int), delta=1e-5, k_values=audit_k_values(m))


def test_the_canary_audit_stays_below_epsilon_and_catches_a_sensitivity_bug(monkeypatch):
    """A correct release never audits above its ε; the same release with its sensitivity
    understated tenfold (a known bug: one tenth of the noise) audits far above it."""
    for epsilon in (1.0, 3.0):
        found = audit_release(epsilon)["epsilon"]
        assert found <= epsilon, (epsilon, found)
    monkeypatch.setattr(baselines, "l2_sensitivity", lambda bound: math.sqrt(bound + 1) / 10)
    assert audit_release(1.0)["epsilon"] > 1.0


@pytest.mark.parametrize("sigma", [0.6, 1.4, 3.8])
def test_zcdp_of_a_gaussian_converts_as_the_books_rdp_accountant(sigma):
    """One Gaussian release is ρ = 1/(2σ²)-zCDP; converted by zcdp_epsilon it gives the ε of
    the book's RDP accountant for one step at sampling rate 1 (the same orders and
    conversion), which is never below the exact ε of the Gaussian mechanism."""
    rho = baselines.gaussian_rho(sigma * 2.0, 2.0)
    assert rho == pytest.approx(1 / (2 * sigma ** 2))
    converted = baselines.zcdp_epsilon(rho, 1e-5)
    assert converted == pytest.approx(privacy.compute_epsilon(1.0, sigma, 1, 1e-5, "rdp"), rel=1e-9)
    assert converted >= baselines.gaussian_epsilon(sigma, 1e-5)


def test_zcdp_composes_by_adding_rho_and_the_exponential_mechanism_costs_a_quarter():
    assert baselines.exponential_rho(1.0) == pytest.approx(1 / 8)
    one = baselines.zcdp_epsilon(baselines.exponential_rho(1.0), 1e-5)
    both = baselines.zcdp_epsilon(baselines.exponential_rho(1.0) + baselines.gaussian_rho(2.0, 1.0), 1e-5)
    assert one < both
    for bad in (0, -1.0, float("inf")):
        with pytest.raises(ValueError):
            baselines.zcdp_epsilon(bad, 1e-5)


def test_mst_sensitivities_by_adding_one_person():
    """MST's three measurements under adding one person (the accountant's relation): the
    one-way counts move by √d in L2 (one cell of every site), each chosen table by one cell
    (√(d − 1) over a tree's d − 1 tables), each selection score by at most 1."""
    cohort = people(40, seed=7)
    x, sizes = baselines.categories(cohort, RECORDS)
    d = len(sizes)
    shares = np.concatenate([np.full(k, 1.0 / k) for k in sizes])
    for extra in people(5, seed=8):
        y, _ = baselines.categories(cohort + [extra], RECORDS)
        change = baselines.one_way_counts(y, sizes) - baselines.one_way_counts(x, sizes)
        assert np.linalg.norm(change) == pytest.approx(math.sqrt(d))
        tables = [baselines.two_way_counts(y, sizes, i, i + 1) - baselines.two_way_counts(x, sizes, i, i + 1)
                  for i in range(d - 1)]
        assert np.linalg.norm(np.concatenate([t.ravel() for t in tables])) == pytest.approx(math.sqrt(d - 1))
        # the scores are computed against the released shares and number of people, fixed
        before = baselines.independence_errors(x, sizes, shares, 41.3)
        after = baselines.independence_errors(y, sizes, shares, 41.3)
        assert np.abs(after - before).max() <= 1 + 1e-9 and np.abs(after - before).max() > 0


def test_mst_spends_its_epsilon_and_keeps_linkage_that_independent_sites_lose():
    """The zCDP budget converts to at most ε; with a generous ε the tree joins the linked
    sites, and the synthetic people carry the link (site 1's record follows site 0's), which
    private independent sites cannot; with ε = 1 on few people the tree is close to random."""
    rho = baselines.zcdp_budget(3.0, 1e-5)
    assert baselines.zcdp_epsilon(rho, 1e-5) <= 3.0 < baselines.zcdp_epsilon(rho * 1.01, 1e-5)
    rng = np.random.default_rng(9)
    carriers = rng.random(600) < 0.4
    cohort = [[RECORDS[2], RECORDS[5]] if c else [] for c in carriers]  # sites 1 and 2 together, 1|1 at both
    for profile, extra in zip(cohort, rng.random(600) < 0.3):
        if extra:
            profile.append(RECORDS[-1])  # site 4 on its own
    synthetic, record = baselines.mst(cohort, SITES, 2000, 200.0, 1e-5, seed=0)
    assert record["epsilon"] <= 200.0 and ["22:100:A>G", "22:200:C>T"] in record["edges"]
    both = sum(RECORDS[2] in p and RECORDS[5] in p for p in synthetic) / 2000
    first = sum(RECORDS[2] in p for p in synthetic) / 2000
    assert abs(first - 0.4) < 0.05 and both > 0.9 * first  # the link kept
    again, _ = baselines.mst(cohort, SITES, 2000, 200.0, 1e-5, seed=0)
    assert again == synthetic
    independent, _ = baselines.private_independent_sites(cohort, [[RECORDS[2], RECORDS[5]]], SITES, 2000, 200.0, 1e-5)
    both_independent = sum(RECORDS[2] in p and RECORDS[5] in p for p in independent) / 2000
    assert both_independent < 0.6 * first  # independent sites lose it (0.4 x 0.4)
    with pytest.raises(ValueError, match="two records at site"):
        baselines.categories([[RECORDS[0], RECORDS[1]]], RECORDS)
    with pytest.raises(ValueError, match="epsilon"):
        baselines.mst(cohort, SITES, 10, float("inf"), 1e-5)


def audit_mechanism(mechanism: str, epsilon: float, seed: int = 0, m: int = 200) -> dict:
    """The one-run audit of a baseline as the privacy chapter runs it
    (:func:`lib.dp.baselines.audit_scores`: the mechanism's own release code on the members and
    the canaries whose coin is 1): ``m`` canaries of three records each at sites of their
    own (no member, no other canary carries them), each inserted with probability 1/2."""
    sites = [f"22:{1000 + 10 * i}:A>G" for i in range(30 + 3 * m)]
    records = tk.record_vocabulary(sites)
    site_of = baselines.site_records(records)
    rng = np.random.default_rng(seed)
    members = [[site_of[sites[j]][0] for j in sorted(rng.choice(30, size=3, replace=False))] for _ in range(100)]
    canaries = [[site_of[sites[30 + 3 * i + j]][int(rng.integers(3))] for j in range(3)] for i in range(m)]
    included = rng.random(m) < 0.5
    public = [members[0][:2], members[1]]  # the bound: 3 records
    scores, record = baselines.audit_scores(mechanism, members, canaries, included, public, sites, epsilon, 1e-5,
                                            seed=seed)
    assert record["epsilon"] <= epsilon * 1.001
    return audit.one_run_audit(scores, included.astype(int), delta=1e-5, k_values=audit_k_values(m))


@pytest.mark.parametrize("mechanism", ["sites", "mst"])
def test_each_baselines_audit_stays_below_its_epsilon_and_catches_an_injected_bug(mechanism, monkeypatch):
    """The audit the privacy chapter runs on each baseline: below ε with the mechanism as
    written; with its noise understated (independent sites: the sensitivity tenfold; MST:
    the one-way counts' noise a hundredfold), the same audit proves more than ε."""
    for epsilon in (1.0, 4.0):
        found = audit_mechanism(mechanism, epsilon)["epsilon"]
        assert found <= epsilon, (mechanism, epsilon, found)
    if mechanism == "sites":
        monkeypatch.setattr(baselines, "l2_sensitivity", lambda bound: math.sqrt(bound + 1) / 10)
    else:
        honest = baselines.mst_noise
        monkeypatch.setattr(baselines, "mst_noise", lambda e, d_, d: dict(honest(e, d_, d), sigma_one=honest(
            e, d_, d)["sigma_one"] / 100))
    assert audit_mechanism(mechanism, 1.0)["epsilon"] > 1.0


def test_the_public_prior_takes_the_clipping_bias_off_rare_records():
    """Noise far above a record's count, clipped at 0 on its own, puts records nobody
    carries on many synthetic people; combined with the public people's shares first
    (post-processing, no privacy spent) far fewer, while the carried record keeps its rate."""
    private, public = np.array([0.3, -0.1, 0.02]), np.array([0.25, 0.0, 0.01])
    assert np.allclose(baselines.shrink_to_public(private, 1e-12, public, 50), [0.3, 0.0, 0.02])
    assert np.allclose(baselines.shrink_to_public(private, 1e6, public, 50), public, atol=1e-4)
    rng = np.random.default_rng(3)
    members = [[RECORDS[0]] if c else [] for c in rng.random(500) < 0.3]
    public_people = [[RECORDS[0]] if c else [] for c in rng.random(100) < 0.3]
    sums, _, _ = baselines.bounded_counts(members, RECORDS, 1)
    noise_std = 25.0
    noisy = sums + rng.normal(0.0, noise_std, size=sums.shape)
    prior = baselines.public_prior(public_people, RECORDS)
    assert prior["n"] == 100 and prior["shares"][0] == pytest.approx(np.mean([bool(p) for p in public_people]))
    plain = baselines.sample_sites(noisy, RECORDS, 4000, seed=0)
    leaning = baselines.sample_sites(noisy, RECORDS, 4000, seed=0, prior=prior, noise_std=noise_std)
    strays = [sum(r != RECORDS[0] for profile in drawn for r in profile) for drawn in (plain, leaning)]
    assert strays[1] < 0.3 * strays[0]
    assert abs(sum(RECORDS[0] in p for p in leaning) / 4000 - 0.3) < 0.05
    with pytest.raises(ValueError, match="noise_std"):
        baselines.sample_sites(noisy, RECORDS, 10, prior=prior)
    with pytest.raises(ValueError, match="public people"):
        baselines.public_prior([], RECORDS)
    # MST leans on the public people's shares of its cells too, and says so in its record
    _, record = baselines.mst(members, SITES, 50, 1.0, 1e-5, seed=0, public=public_people)
    assert "public" in record["post_processing"]
    assert "post_processing" not in baselines.mst(members, SITES, 50, 1.0, 1e-5, seed=0)[1]
    cells = baselines.category_prior(public_people, RECORDS)
    assert cells["shares"].sum() == pytest.approx(len(SITES))  # each site's categories sum to 1
