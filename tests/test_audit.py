"""lib.evaluation.audit: epsilon lower bounds from membership inference (Clopper-Pearson at one
threshold, a sweep, a split), the one-run audit of Steinke, Nasr & Jagielski (2023) and
exposure (Carlini et al. 2019); the best of several attacks (Bonferroni) and the ceiling
of each check (a perfect attack's bound).

Known answers are computed here independently of the module: Clopper-Pearson bounds from
their defining binomial tails, the one-run p-value by explicit sums, all-correct one-run
bounds in closed form, a perfect attack's cap from ``1 - (1 - level)^(1/n)``. The
simulations use fixed seeds."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lib.evaluation import audit


def logit(p: float) -> float:
    return math.log(p / (1 - p))


# --------------------------------------------------------------------------------------
# Clopper-Pearson and one threshold
# --------------------------------------------------------------------------------------

def test_clopper_pearson_bounds_are_the_beta_quantiles_and_solve_their_binomial_tails():
    out = audit.empirical_epsilon(tp=30, fn=70, fp=7, tn=193, level=0.95)
    assert out["tpr_low"] == pytest.approx(stats.beta.ppf(0.05, 30, 71), rel=1e-12)
    assert out["fpr_high"] == pytest.approx(stats.beta.ppf(0.95, 8, 193), rel=1e-12)
    # the defining property: at the lower bound, seeing >= 30 of 100 has probability 5 %;
    # at the upper bound, seeing <= 7 of 200 has probability 5 %
    assert stats.binom.sf(29, 100, out["tpr_low"]) == pytest.approx(0.05, rel=1e-9)
    assert stats.binom.cdf(7, 200, out["fpr_high"]) == pytest.approx(0.05, rel=1e-9)
    assert out["tnr_low"] == pytest.approx(stats.beta.ppf(0.05, 193, 8), rel=1e-12)
    assert out["fnr_high"] == pytest.approx(stats.beta.ppf(0.95, 71, 30), rel=1e-12)
    assert out["epsilon_lower"] == pytest.approx(math.log(out["tpr_low"] / out["fpr_high"]), rel=1e-12)
    assert out["epsilon_point"] == pytest.approx(math.log(0.30 / (7 / 200)), rel=1e-12)
    assert out["confidence"] == pytest.approx(0.90)


def test_clopper_pearson_edges():
    lower, upper = audit.clopper_pearson([0, 10], [10, 10], level=0.9)
    assert lower[0] == 0.0 and upper[1] == 1.0
    assert upper[0] == pytest.approx(1 - 0.1 ** (1 / 10), rel=1e-12)
    assert lower[1] == pytest.approx(0.1 ** (1 / 10), rel=1e-12)


@pytest.mark.parametrize("n", [100, 1000, 10000])
def test_a_perfect_attack_proves_a_finite_epsilon_limited_by_the_non_members(n):
    out = audit.empirical_epsilon(tp=n, fn=0, fp=0, tn=n)
    a = 0.05 ** (1 / n)  # CP lower bound on TPR = 1 - CP upper bound on FPR
    assert out["epsilon_point"] == math.inf
    assert math.isfinite(out["epsilon_lower"])
    assert out["epsilon_lower"] == pytest.approx(logit(a), rel=1e-9)
    assert out["epsilon_lower"] < math.log(n / 2.99)  # FPR_high ~ -log(0.05)/n ~ 3/n


def test_the_symmetric_term_counts_when_it_is_the_larger():
    # every member caught, most non-members too: the evidence is in TNR / FNR
    out = audit.empirical_epsilon(tp=100, fn=0, fp=80, tn=20)
    first = math.log(out["tpr_low"] / out["fpr_high"])
    second = math.log(out["tnr_low"] / out["fnr_high"])
    assert second > first > 0
    assert out["epsilon_lower"] == pytest.approx(second, rel=1e-12)


def test_delta_enters_the_numerators_and_a_guess_proves_nothing():
    out = audit.empirical_epsilon(tp=60, fn=40, fp=10, tn=90, delta=0.01)
    assert out["epsilon_lower"] == pytest.approx(math.log((out["tpr_low"] - 0.01) / out["fpr_high"]), rel=1e-12)
    assert out["epsilon_lower"] < audit.empirical_epsilon(60, 40, 10, 90)["epsilon_lower"]
    guess = audit.empirical_epsilon(tp=50, fn=50, fp=50, tn=50)
    assert guess["epsilon_lower"] == 0.0 and guess["epsilon_point"] == 0.0
    # TPR below delta: that term is -inf, not an error
    assert audit.empirical_epsilon(tp=0, fn=100, fp=0, tn=100, delta=0.1)["epsilon_point"] == 0.0


# --------------------------------------------------------------------------------------
# Sweeping thresholds, fixing one, splitting
# --------------------------------------------------------------------------------------

def scored(seed: int, n: int = 400, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    return rng.normal(size=n) + shift * labels, labels


def test_the_sweep_is_the_best_threshold_of_a_brute_force_loop():
    scores, labels = scored(0, n=120, shift=1.5)
    best, where = -1.0, None
    for t in np.unique(scores):
        predicted = scores >= t
        counts = [int(np.sum(predicted & (labels == 1))), int(np.sum(~predicted & (labels == 1))),
                  int(np.sum(predicted & (labels == 0))), int(np.sum(~predicted & (labels == 0)))]
        bound = audit.empirical_epsilon(*counts)["epsilon_lower"]
        if bound > best:
            best, where = bound, (t, counts)
    out = audit.epsilon_from_scores(scores, labels)
    assert best > 0.5
    assert out["epsilon_lower"] == pytest.approx(best, rel=1e-12)
    assert out["threshold"] == where[0]
    assert [out["tp"], out["fn"], out["fp"], out["tn"]] == where[1]
    assert out["threshold_chosen_on_these_data"] is True
    assert out["n_thresholds"] == np.unique(scores).size


def test_a_fixed_threshold_is_evaluated_alone():
    scores, labels = scored(1, shift=1.0)
    out = audit.epsilon_from_scores(scores, labels, threshold=0.7)
    predicted = scores >= 0.7
    counts = (np.sum(predicted & (labels == 1)), np.sum(~predicted & (labels == 1)),
              np.sum(predicted & (labels == 0)), np.sum(~predicted & (labels == 0)))
    assert out["epsilon_lower"] == pytest.approx(audit.empirical_epsilon(*counts)["epsilon_lower"], rel=1e-12)
    assert out["n_thresholds"] == 1 and out["threshold_chosen_on_these_data"] is False


def test_a_random_attack_proves_about_nothing():
    swept = [audit.epsilon_from_scores(*scored(seed))["epsilon_lower"] for seed in range(20)]
    split = [audit.split_epsilon(*scored(seed), seed=seed)["epsilon_lower"] for seed in range(20)]
    assert sum(b < 0.05 for b in swept) >= 18 and max(swept) < 0.5
    assert sum(b == 0.0 for b in split) >= 18 and max(split) < 0.5


def test_the_split_chooses_on_one_part_and_evaluates_on_the_other():
    scores, labels = scored(2, n=600, shift=3.0)
    out = audit.split_epsilon(scores, labels, seed=5)
    assert out["n_selection"] + out["n_evaluation"] == 600
    assert out["tp"] + out["fn"] + out["fp"] + out["tn"] == out["n_evaluation"]
    assert out["threshold_chosen_on_these_data"] is False and out["n_thresholds"] == 1
    assert 0.5 < out["epsilon_lower"] <= out["selection_epsilon_lower"] + 1.0
    assert out["threshold"] in set(scores.tolist())
    assert audit.split_epsilon(scores, labels, seed=5) == out  # seeded
    assert audit.split_epsilon(scores, labels, seed=6)["threshold"] != out["threshold"]


# --------------------------------------------------------------------------------------
# The one-run audit
# --------------------------------------------------------------------------------------

def test_one_run_all_correct_has_a_closed_form():
    # (e^eps / (1 + e^eps))^r = beta
    assert audit.one_run_epsilon(100, 100, beta=0.05) == pytest.approx(logit(0.05 ** (1 / 100)), abs=1e-9)
    assert audit.one_run_epsilon(100, 100, beta=0.05) == pytest.approx(3.4930, abs=5e-5)
    for r in (10, 1000):
        assert audit.one_run_epsilon(r, r, beta=0.01) == pytest.approx(logit(0.01 ** (1 / r)), abs=1e-9)
    # and the bound grows with the number of guesses
    assert audit.one_run_epsilon(10, 10) < audit.one_run_epsilon(100, 100) < audit.one_run_epsilon(1000, 1000)


def test_one_run_bound_grows_with_the_right_guesses_and_is_zero_at_a_coin_flip():
    bounds = [audit.one_run_epsilon(200, v) for v in range(0, 201)]
    assert bounds[100] == 0.0 and bounds[0] == 0.0
    assert all(b >= a for a, b in zip(bounds, bounds[1:]))
    positive = [b for b in bounds if b > 0]
    assert all(b > a for a, b in zip(positive, positive[1:]))
    # at the bound the p-value is beta (a continuous, increasing tail)
    eps = audit.one_run_epsilon(200, 150)
    assert stats.binom.sf(149, 200, 1 / (1 + math.exp(-eps))) == pytest.approx(0.05, rel=1e-6)


def explicit_p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """Theorem 3 of Steinke et al. written out with explicit sums of binomial masses."""
    q = math.exp(eps) / (1 + math.exp(eps))
    pmf = [stats.binom.pmf(w, r, q) for w in range(r + 1)]
    tail = sum(pmf[v:])
    alpha = max((sum(pmf[v - i:v]) / i for i in range(1, v + 1)), default=0.0)
    return min(tail + 2 * m * delta * alpha, 1.0)


@pytest.mark.parametrize("m,r,v,eps,delta", [(1000, 100, 80, 1.0, 1e-5), (1000, 300, 200, 0.5, 1e-4),
                                             (50, 50, 45, 2.0, 1e-3), (1000, 100, 80, 1.0, 0.0)])
def test_one_run_p_value_is_theorem_3(m, r, v, eps, delta):
    assert audit.one_run_p_value(r, v, eps, delta, m) == pytest.approx(explicit_p_value(m, r, v, eps, delta), rel=1e-9)


def test_one_run_delta_term_lowers_the_bound_more_with_more_canaries():
    plain = audit.one_run_epsilon(1000, 900)
    small_m = audit.one_run_epsilon(1000, 900, delta=1e-5, m=1000)
    large_m = audit.one_run_epsilon(1000, 900, delta=1e-5, m=100000)
    assert plain > small_m > large_m > 0
    # the bound is where the full p-value (delta term included) reaches beta
    assert explicit_p_value(100000, 1000, 900, large_m, 1e-5) == pytest.approx(0.05, rel=1e-6)
    assert explicit_p_value(100000, 1000, 900, large_m + 0.01, 1e-5) > 0.05


def test_one_run_guesses_take_the_extremes():
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.5, 0.7])
    included = np.array([1, 0, 0, 1, 1, 1])
    assert audit.one_run_guesses(scores, included, 2, 0) == (2, 1)  # 0.9 (in) and 0.8 (out)
    assert audit.one_run_guesses(scores, included, 0, 2) == (2, 1)  # 0.1 (out) and 0.2 (in)
    assert audit.one_run_guesses(scores, included, 3, 3) == (6, 3)
    assert audit.one_run_guesses(scores, included.astype(bool), 1, 1) == (2, 2)


def randomised_response(seed: int, m: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """An eps-DP mechanism on m canaries: each one's inclusion, flipped w.p. 1/(1+e^eps)."""
    rng = np.random.default_rng(seed)
    included = rng.random(m) < 0.5
    flipped = rng.random(m) < 1 / (1 + math.exp(eps))
    return (included ^ flipped).astype(float), included


def rr_bound(seed: int, m: int, eps: float, delta: float = 0.0) -> float:
    scores, included = randomised_response(seed, m, eps)
    ones = int(scores.sum())
    r, v = audit.one_run_guesses(scores, included, ones, m - ones)  # guess every reported bit
    return audit.one_run_epsilon(r, v, delta=delta, beta=0.05, m=m)


def test_one_run_bound_on_randomised_response_exceeds_the_truth_at_most_beta_of_the_time():
    # Guessing every reported bit makes r = m guesses, each right w.p. q = e^eps/(1+e^eps)
    # independently: V ~ Binomial(m, q) exactly, and the bound exceeds eps exactly when
    # V >= v_star. The probability of that is computed, not sampled.
    eps, m = 1.0, 1000
    q = 1 / (1 + math.exp(-eps))
    v_star = min(v for v in range(m // 2, m + 1) if audit.one_run_epsilon(m, v) > eps)
    miss = stats.binom.sf(v_star - 1, m, q)
    assert 0.04 < miss <= 0.05  # valid at beta = 0.05, and not by a wide margin
    # 200 seeded runs: the misses are the runs with V >= v_star, and about miss * 200 of
    # them (a 200-run fraction of 95 % would fail by chance about half the time at a true
    # rate near 5 %; the check is instead a binomial bound at a two-sided level of 1e-6)
    bounds = np.array([rr_bound(seed, m, eps) for seed in range(200)])
    assert int(np.sum(bounds > eps)) <= stats.binom.ppf(1 - 1e-6, 200, 0.05)
    assert np.median(bounds) > 0.7  # and is not trivially small
    with_delta = np.array([rr_bound(seed, 1000, eps, delta=1e-5) for seed in range(20)])
    assert np.all(with_delta <= bounds[:20] + 1e-12)


def test_one_run_bound_on_randomised_response_is_close_with_many_canaries():
    assert 0.95 < rr_bound(1, 100000, 1.0) <= 1.0


def test_one_run_audit_pays_for_its_choice_of_k():
    scores, included = randomised_response(3, 2000, 2.0)
    scores = scores + np.random.default_rng(4).normal(scale=0.1, size=scores.size)  # ties broken
    k_values = [(100, 100), (300, 300), (1000, 1000)]
    out = audit.one_run_audit(scores, included, delta=1e-6, beta=0.05, k_values=k_values)
    assert out["beta_per_choice"] == pytest.approx(0.05 / 3)
    for row, (k_pos, k_neg) in zip(out["rows"], k_values):
        r, v = audit.one_run_guesses(scores, included, k_pos, k_neg)
        assert (row["r"], row["v"]) == (r, v)
        assert row["epsilon"] == audit.one_run_epsilon(r, v, 1e-6, 0.05 / 3, 2000)
        assert row["epsilon"] < row["epsilon_uncorrected"] == audit.one_run_epsilon(r, v, 1e-6, 0.05, 2000)
    assert out["epsilon"] == max(row["epsilon"] for row in out["rows"]) > 0
    single = audit.one_run_audit(scores, included, delta=1e-6, k_values=[(300, 300)])
    assert single["epsilon"] == single["best"]["epsilon_uncorrected"]


# --------------------------------------------------------------------------------------
# The best of several attacks, and the ceiling of each check
# --------------------------------------------------------------------------------------

def test_the_split_ceiling_is_a_perfect_attack_on_the_evaluation_half():
    # 122 vs 122: 61 vs 61 evaluated; closed form logit(0.025^(1/61))
    ceiling = audit.split_epsilon_ceiling(122, 122, level=0.975)
    assert ceiling == audit.empirical_epsilon(tp=61, fn=0, fp=0, tn=61, level=0.975)["epsilon_lower"]
    assert ceiling == pytest.approx(logit(0.025 ** (1 / 61)), rel=1e-12)
    assert ceiling == pytest.approx(2.775, abs=5e-4)
    # the evaluation sizes are split_epsilon's: 200 members -> 100, 101 non-members -> 51
    assert audit.split_epsilon_ceiling(200, 101, level=0.975) == audit.empirical_epsilon(
        tp=100, fn=0, fp=0, tn=51, level=0.975)["epsilon_lower"]
    assert audit.split_epsilon_ceiling(122, 122, delta=1e-3) < ceiling  # delta is taken off the numerators
    assert audit.split_epsilon_ceiling(1220, 1220) > ceiling  # more people, a higher ceiling


@pytest.mark.parametrize("n_members,n_non_members", [(122, 122), (123, 121), (200, 101), (30, 300)])
def test_a_perfect_attack_reaches_the_split_ceiling_and_nothing_passes_it(n_members, n_non_members):
    labels = np.r_[np.ones(n_members), np.zeros(n_non_members)].astype(int)
    ceiling = audit.split_epsilon_ceiling(n_members, n_non_members, level=0.975)
    rng = np.random.default_rng(n_members)
    for seed in range(3):
        perfect = labels * 1.0  # every member above the threshold chosen on the other half, no non-member
        assert audit.split_epsilon(perfect, labels, seed=seed, level=0.975)["epsilon_lower"] == ceiling
        # separating but spread: the threshold sits at the selection half's lowest member,
        # so an evaluated member can fall below it; never above the ceiling
        separating = labels + rng.normal(scale=0.01, size=labels.size)
        assert audit.split_epsilon(separating, labels, seed=seed, level=0.975)["epsilon_lower"] <= ceiling
        strong = labels * 2.0 + rng.normal(size=labels.size)
        assert audit.split_epsilon(strong, labels, seed=seed, level=0.975)["epsilon_lower"] < ceiling


def test_the_best_of_several_attacks_is_bounded_at_the_bonferroni_level():
    labels = np.r_[np.ones(122), np.zeros(122)].astype(int)
    rng = np.random.default_rng(2)
    scores = {f"noise {j}": rng.normal(size=244) for j in range(10)}
    scores["perfect"] = labels * 1.0
    out = audit.split_epsilon_best(scores, labels, seed=3, level=0.975)
    assert out["n_attacks"] == 11 and out["level_per_attack"] == pytest.approx(1 - 0.025 / 11)
    assert out["confidence"] == pytest.approx(0.95)
    for row in out["rows"]:
        assert row["epsilon_lower"] == audit.split_epsilon(scores[row["attack"]], labels, seed=3,
                                                           level=1 - 0.025 / 11)["epsilon_lower"]
        assert row["epsilon_lower_uncorrected"] == audit.split_epsilon(scores[row["attack"]], labels, seed=3,
                                                                       level=0.975)["epsilon_lower"]
    # the perfect attack wins and reaches the corrected ceiling, which the correction lowers
    assert out["attack"] == "perfect" and out["best"]["threshold_chosen_on_these_data"] is False
    assert out["epsilon_lower"] == out["ceiling"] == audit.split_epsilon_ceiling(122, 122, level=1 - 0.025 / 11)
    uncorrected = audit.split_epsilon_ceiling(122, 122, level=0.975)
    assert out["ceiling"] < uncorrected == out["rows"][-1]["epsilon_lower_uncorrected"]
    # one attack: no correction at all
    single = audit.split_epsilon_best({"perfect": scores["perfect"]}, labels, seed=3, level=0.975)
    assert single["level_per_attack"] == 0.975 and single["epsilon_lower"] == uncorrected
    assert single["best"] == audit.split_epsilon(scores["perfect"], labels, seed=3, level=0.975)
    # ties (every noise attack proves 0): the first in the mapping's order
    noise_only = {name: value for name, value in scores.items() if name != "perfect"}
    assert audit.split_epsilon_best(noise_only, labels, seed=3)["attack"] == "noise 0"


def test_the_one_run_ceiling_is_every_guess_right_at_the_corrected_beta():
    k_values = [(10, 10), (20, 20), (50, 50)]
    ceiling = audit.one_run_ceiling(200, k_values)
    assert ceiling == pytest.approx(logit((0.05 / 3) ** (1 / 100)), rel=1e-9)  # r = 100 at beta / 3
    assert ceiling == pytest.approx(3.175, abs=1e-3)
    rng = np.random.default_rng(0)
    included = rng.permutation(np.r_[np.ones(100), np.zeros(100)]).astype(bool)
    separated = included + rng.normal(scale=0.01, size=200)
    assert audit.one_run_audit(separated, included, k_values=k_values)["epsilon"] == ceiling
    # with delta > 0 too, and no number of right guesses passes it
    small = [(10, 10), (20, 20)]
    with_delta = audit.one_run_ceiling(200, small, delta=1e-4)
    assert with_delta == audit.one_run_audit(separated, included, delta=1e-4, k_values=small)["epsilon"]
    assert with_delta < audit.one_run_ceiling(200, small)
    assert all(audit.one_run_epsilon(r, v, 1e-4, 0.05 / 2, 200) <= with_delta for r in (20, 40) for v in range(r + 1))
    # more choices, a smaller beta each, a lower ceiling
    assert audit.one_run_ceiling(200, [(50, 50)]) > ceiling


# --------------------------------------------------------------------------------------
# Exposure
# --------------------------------------------------------------------------------------

def test_exposure_of_ranks():
    assert audit.exposure(1, 2 ** 10) == pytest.approx(10.0)
    assert audit.exposure(2 ** 10, 2 ** 10) == 0.0
    assert audit.exposure(4, 64) == pytest.approx(4.0)


def test_exposure_from_scores_exact_and_sampled():
    references = np.linspace(-10.0, -1.0, 1023)  # log-likelihoods of the other candidates
    assert audit.exposure_from_scores(0.0, references)["exposure"] == pytest.approx(10.0)
    assert audit.exposure_from_scores(-20.0, references)["exposure"] == pytest.approx(0.0)
    assert audit.exposure_from_scores(-1.0, references)["rank"] == 1.0  # a tie counts for the canary
    out = audit.exposure_from_scores(references[-9] - 1e-9, references)
    assert out["rank"] == 10 and out["exposure"] == pytest.approx(10 - math.log2(10))
    # sampled: 10 of 1000 references higher, in a space of 2^20 candidates
    sample = np.concatenate([np.full(10, 1.0), np.full(990, -1.0)])
    sampled = audit.exposure_from_scores(0.0, sample, n_candidates=2 ** 20)
    assert sampled["rank"] == pytest.approx(1 + (2 ** 20 - 1) * 0.01)
    assert sampled["exposure"] == pytest.approx(20 - math.log2(1 + (2 ** 20 - 1) * 0.01))


# --------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------

SCORES, LABELS = np.array([0.1, 0.5, 0.9, 0.3]), np.array([0, 1, 1, 0])


@pytest.mark.parametrize("call,name", [
    (lambda: audit.empirical_epsilon(-1, 5, 5, 5), "tp"),
    (lambda: audit.empirical_epsilon(1.5, 5, 5, 5), "tp"),
    (lambda: audit.empirical_epsilon(0, 0, 5, 5), "tp + fn"),
    (lambda: audit.empirical_epsilon(5, 5, 0, 0), "fp + tn"),
    (lambda: audit.empirical_epsilon(5, 5, 5, 5, delta=1.0), "delta"),
    (lambda: audit.empirical_epsilon(5, 5, 5, 5, delta=-0.1), "delta"),
    (lambda: audit.empirical_epsilon(5, 5, 5, 5, level=1.0), "level"),
    (lambda: audit.epsilon_from_scores(SCORES, [0, 1, 2, 0]), "labels"),
    (lambda: audit.epsilon_from_scores(SCORES, [1, 1, 1, 1]), "labels"),
    (lambda: audit.epsilon_from_scores(SCORES, [0, 1, 1]), "labels"),
    (lambda: audit.epsilon_from_scores([0.1, np.nan, 0.3, 0.4], LABELS), "scores"),
    (lambda: audit.epsilon_from_scores(SCORES, LABELS, threshold=np.inf), "threshold"),
    (lambda: audit.split_epsilon(SCORES, [0, 1, 0, 0], seed=0), "labels"),
    (lambda: audit.split_epsilon(SCORES, LABELS, seed=0, fraction=1.0), "fraction"),
    (lambda: audit.one_run_guesses(SCORES, LABELS, 3, 2), "k_pos + k_neg"),
    (lambda: audit.one_run_guesses(SCORES, [0, 1, 2, 1], 1, 1), "included"),
    (lambda: audit.one_run_guesses(SCORES, LABELS, -1, 1), "k_pos"),
    (lambda: audit.one_run_epsilon(10, 11), "v="),
    (lambda: audit.one_run_epsilon(10, 5, m=9), "m="),
    (lambda: audit.one_run_epsilon(10, 5, beta=0.0), "beta"),
    (lambda: audit.one_run_epsilon(10, 5, beta=1.0), "beta"),
    (lambda: audit.one_run_epsilon(10, 5, delta=1.0, m=10), "delta"),
    (lambda: audit.one_run_epsilon(10, 5, delta=1e-5), "m "),
    (lambda: audit.one_run_p_value(10, 5, -1.0), "epsilon"),
    (lambda: audit.one_run_audit(SCORES, LABELS, k_values=[]), "k_values"),
    (lambda: audit.one_run_audit(SCORES, LABELS, beta=2.0, k_values=[(1, 1)]), "beta"),
    (lambda: audit.split_epsilon_ceiling(1, 10), "members"),
    (lambda: audit.split_epsilon_ceiling(10, 10, level=1.0), "level"),
    (lambda: audit.split_epsilon_ceiling(10, 10, fraction=0.0), "fraction"),
    (lambda: audit.split_epsilon_best({}, LABELS, seed=0), "mapping"),
    (lambda: audit.split_epsilon_best({"a": SCORES, "b": SCORES[:3]}, LABELS, seed=0), "numbers of people"),
    (lambda: audit.split_epsilon_best({"bad": [0.1, np.nan, 0.3, 0.4]}, LABELS, seed=0), "'bad'"),
    (lambda: audit.split_epsilon_best({"a": SCORES}, [1, 1, 1, 1], seed=0), "labels"),
    (lambda: audit.one_run_ceiling(10, [(6, 5)]), "k_pos + k_neg"),
    (lambda: audit.one_run_ceiling(10, []), "k_values"),
    (lambda: audit.one_run_ceiling(10, [(1, 1)], beta=0.0), "beta"),
    (lambda: audit.exposure(0, 1024), "canary_rank"),
    (lambda: audit.exposure(2000, 1024), "canary_rank"),
    (lambda: audit.exposure_from_scores(np.nan, SCORES), "canary_score"),
    (lambda: audit.exposure_from_scores(0.0, [], n_candidates=10), "reference_scores"),
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises(ValueError, match=name.replace("+", r"\+")):
        call()
