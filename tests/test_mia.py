"""Membership inference (lib.evaluation.mia): signals from real models, attacks with known answers,
and the one evaluation every attack goes through.

The central checks are the issue's: on a model deliberately overfit to a few people the
attacks reach a high AUC; on a model that never saw the members they stay near 0.5,
within the bootstrap interval. The best of several attacks is reported with a
selection-aware interval, checked by simulation where nothing leaks (the best of 14
coin flips) and where one attack does; RMIA's offline correction, gamma and population
mask have answers worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import norm

from lib.evaluation import mia
from lib.lm import models, training
from lib.core import scoring

VOCAB = {"vocab_size": 24, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
SIZES = {"block_size": 32, "n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.0}


def random_people(n: int, seed: int) -> list[list[int]]:
    """Profiles of random tokens (3..23) of random lengths: nothing to learn but the people."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        length = int(torch.randint(8, 20, (1,), generator=g))
        out.append([1] + torch.randint(3, 24, (length,), generator=g).tolist() + [2])
    return out


def trained(sequences: list[list[int]], seed: int = 0, epochs: int = 60) -> torch.nn.Module:
    model = models.build_model("mingpt", SIZES, VOCAB, seed=seed)
    training.train(model, sequences, None, training.TrainConfig(epochs=epochs, batch_size=8, lr=1e-2,
                                                                 weight_decay=0.0, seed=seed, progress=False))
    return model


@pytest.fixture(scope="module")
def people():
    return {"members": random_people(16, 1), "non_members": random_people(16, 2), "other": random_people(16, 3)}


@pytest.fixture(scope="module")
def overfit(people):
    return trained(people["members"], seed=0)


@pytest.fixture(scope="module")
def never_saw(people):
    return trained(people["other"], seed=0)


# ----------------------------------------------------------------------------- signals

def test_signals_ignore_padding_and_batching(overfit, people):
    sequences = people["members"][:5] + people["non_members"][:5]
    batched = mia.sequence_signals(overfit, sequences, batch_size=4)
    alone = pd.concat([mia.sequence_signals(overfit, [s]) for s in sequences], ignore_index=True)
    pd.testing.assert_frame_equal(batched, alone, atol=1e-5, rtol=1e-5)
    assert list(batched.columns) == ["loss", "perplexity", "confidence", "loss_variance", "logit_norm", "n_tokens",
                                     "log_likelihood"]
    assert (batched["n_tokens"] == [len(s) - 1 for s in sequences]).all()
    # the loss is the training loop's: one sequence's mean next-token loss
    loader = training.make_loader(training.TokenDataset([sequences[0]], VOCAB["pad_token_id"]), batch_size=1)
    assert batched["loss"].iloc[0] == pytest.approx(training.mean_loss(overfit, loader), rel=1e-5)
    assert np.allclose(batched["perplexity"], np.exp(batched["loss"]))
    assert (batched["loss_variance"] > 0).all()  # per token, not per 1,024-token window
    assert overfit.training  # left in the mode it was found in


def test_a_sequence_too_short_is_refused(overfit):
    with pytest.raises(ValueError, match="at least 2 tokens"):
        mia.sequence_signals(overfit, [[1]])


# ----------------------------------------------------------------------------- attacks on real models

def test_an_overfit_model_gives_its_members_away_and_an_unseen_one_does_not(people, overfit, never_saw):
    candidates = people["members"] + people["non_members"]
    labels = np.r_[np.ones(16), np.zeros(16)].astype(int)
    # the attacker's references: its own model on people it chose (a public sample)
    reference = trained(people["other"][:8], seed=1)
    ref_features = mia.sequence_signals(reference, people["other"])
    ref_labels = np.r_[np.ones(8), np.zeros(8)].astype(int)
    attack = mia.ThresholdAttack("loss").fit(ref_features, ref_labels)
    assert attack.sign_ == -1.0  # learnt: members have the lower loss
    leaked = mia.evaluate(attack.score(mia.sequence_signals(overfit, candidates)), labels, n_boot=100)
    safe = mia.evaluate(attack.score(mia.sequence_signals(never_saw, candidates)), labels, n_boot=100)
    assert leaked["auc"] > 0.95 and leaked["auc_low"] > 0.8 and leaked["advantage"] > 0.7
    assert safe["auc_low"] <= 0.5 <= safe["auc_high"]
    assert leaked["epsilon_lb"] > safe["epsilon_lb"]
    target_features = mia.sequence_signals(overfit, candidates)
    for kind in ("logistic", "forest"):
        learnt = mia.ClassifierAttack(kind, seed=0).fit(ref_features, ref_labels)
        assert mia.evaluate(learnt.score(target_features), labels, n_boot=50)["auc"] > 0.8
    # k-NN transfers badly from a reference model to the target: the target's logit norms
    # lie outside the reference cloud, every nearest neighbour is a reference non-member
    knn = mia.ClassifierAttack("knn").fit(ref_features, ref_labels).score(target_features)
    assert ((knn >= 0) & (knn <= 1)).all()


def test_reference_model_attacks_on_real_models(people, overfit, never_saw):
    """LiRA and RMIA with two reference models trained on public people (none a candidate)."""
    candidates = people["members"] + people["non_members"]
    labels = np.r_[np.ones(16), np.zeros(16)].astype(int)
    references = [trained(people["other"][i::2], seed=10 + i) for i in range(2)]
    population = random_people(12, 4)
    ref_cand = np.stack([mia.sequence_signals(r, candidates)["log_likelihood"] for r in references])
    ref_pop = np.stack([mia.sequence_signals(r, population)["log_likelihood"] for r in references])
    for target, high in ((overfit, True), (never_saw, False)):
        stat = mia.sequence_signals(target, candidates)["log_likelihood"].to_numpy()
        lira = mia.LiRA().fit(ref_cand).score(stat)
        rmia = mia.RMIA().fit(mia.sequence_signals(target, population)["log_likelihood"], ref_pop).score(
            stat, ref_cand)
        for scores in (lira, rmia):
            result = mia.evaluate(scores, labels, n_boot=100)
            if high:
                assert result["auc"] > 0.9
            else:
                assert result["auc_low"] <= 0.5 <= result["auc_high"]


def test_online_lira_with_references_that_trained_on_half_the_candidates(people, overfit, never_saw):
    """Online LiRA: four references, each on a complementary half of the candidates'
    profiles (the attacker holds the profiles, not the labels), so each candidate is IN
    for two and OUT for two."""
    candidates = people["members"] + people["non_members"]
    labels = np.r_[np.ones(16), np.zeros(16)].astype(int)
    rng = np.random.default_rng(5)
    first = np.zeros(32, dtype=bool)
    first[rng.permutation(32)[:16]] = True
    in_mask = np.array([first, ~first, first, ~first])
    references = [trained([c for c, m in zip(candidates, mask) if m], seed=20 + i) for i, mask in enumerate(in_mask)]
    stats = np.stack([mia.sequence_signals(r, candidates)["log_likelihood"] for r in references])
    assert (stats[in_mask] > -1.0).mean() > (stats[~in_mask] > -1.0).mean()  # the references did learn their halves
    for target, high in ((overfit, True), (never_saw, False)):
        statistic = mia.sequence_signals(target, candidates)["log_likelihood"].to_numpy()
        for fixed in (True, False):
            result = mia.evaluate(mia.LiRA(fix_variance=fixed).fit(stats, in_mask).score(statistic), labels,
                                  n_boot=100)
            if high:
                assert result["auc"] > 0.9, fixed
            else:
                assert result["auc_low"] <= 0.5 <= result["auc_high"], fixed


def test_online_lira_known_answer_and_refusals():
    rng = np.random.default_rng(1)
    n, refs = 400, 8
    base = rng.normal(-2.0, 0.5, n)
    in_mask = np.zeros((refs, n), dtype=bool)
    in_mask[::2] = rng.random(n) < 0.5
    in_mask[1::2] = ~in_mask[::2]
    reference = base + 0.4 * in_mask + rng.normal(0, 0.1, (refs, n))  # IN models like the candidate more
    labels = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    target = base + 0.4 * labels + rng.normal(0, 0.1, n)
    online = mia.evaluate(mia.LiRA().fit(reference, in_mask).score(target), labels, n_boot=50)
    assert online["auc"] > 0.97
    # the score is the Gaussian log-likelihood ratio: at the IN mean it is positive, at the OUT mean negative
    lira = mia.LiRA(fix_variance=True).fit(reference, in_mask)
    assert (lira.score(lira.in_mean_) > 0).all() and (lira.score(lira.out_mean_) < 0).all()
    assert lira.in_std_[0] == pytest.approx(0.1, rel=0.15)  # the spread within a side, pooled
    # a target trained on more people puts everyone higher than the references do: the
    # level shift swamps the IN/OUT difference until it is calibrated on population people
    population = rng.normal(-2.0, 0.5, 300)
    pop_out = np.zeros((refs, 300), dtype=bool)
    pop_out[::2] = rng.random(300) < 0.5
    pop_out[1::2] = ~pop_out[::2]
    pop_reference = population + 0.4 * ~pop_out + rng.normal(0, 0.1, (refs, 300))
    shifted, pop_target = target + 1.5, population + 1.5
    shift = mia.calibration_offset(pop_target, pop_reference, pop_out)
    assert shift == pytest.approx(1.5, abs=0.05)
    uncalibrated = mia.evaluate(mia.LiRA().fit(reference, in_mask).score(shifted), labels, n_boot=50)["auc"]
    calibrated = mia.evaluate(mia.LiRA().fit(reference, in_mask).score(shifted, shift), labels, n_boot=50)["auc"]
    assert calibrated > 0.97 and uncalibrated < calibrated - 0.1
    with pytest.raises(ValueError, match="left out"):
        mia.calibration_offset(pop_target, pop_reference, np.zeros_like(pop_out))
    with pytest.raises(ValueError, match="lack a reference model"):
        mia.LiRA().fit(reference, np.ones_like(in_mask))
    with pytest.raises(ValueError, match="shape"):
        mia.LiRA().fit(reference, in_mask[:, :10])
    one_each = np.array([in_mask[0], ~in_mask[0]])
    with pytest.raises(ValueError, match="fix_variance=True"):
        mia.LiRA(fix_variance=False).fit(reference[:2], one_each)
    assert np.isfinite(mia.LiRA().fit(reference[:2], one_each).score(target)).all()


# ----------------------------------------------------------------------------- attacks with known answers

def test_lira_and_rmia_find_a_shift_the_members_get():
    rng = np.random.default_rng(0)
    n, refs = 400, 4
    base = rng.normal(-2.0, 0.5, n)  # each candidate's own typical log-likelihood
    reference = base + rng.normal(0, 0.1, (refs, n))
    labels = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    target = base + rng.normal(0, 0.1, n) + 0.3 * labels  # members: higher likelihood under the target
    population_base = rng.normal(-2.0, 0.5, 200)
    pop_reference = population_base + rng.normal(0, 0.1, (refs, 200))
    pop_target = population_base + rng.normal(0, 0.1, 200)
    lira = mia.evaluate(mia.LiRA().fit(reference).score(target), labels, n_boot=50)
    rmia = mia.evaluate(mia.RMIA().fit(pop_target, pop_reference).score(target, reference), labels, n_boot=50)
    raw = mia.evaluate(target, labels, n_boot=50)  # the likelihood alone: each person's own level hides the shift
    assert lira["auc"] > 0.95 and rmia["auc"] > 0.95 and raw["auc"] < 0.75
    none = base + rng.normal(0, 0.1, n)
    assert abs(mia.evaluate(mia.LiRA().fit(reference).score(none), labels, n_boot=50)["auc"] - 0.5) < 0.08
    with pytest.raises(ValueError, match="gamma"):
        mia.RMIA(gamma=0)


def structured(n: int, sites: int, seed: int) -> np.ndarray:
    p = np.random.default_rng(99).uniform(0.05, 0.5, sites)
    return np.random.default_rng(seed).binomial(2, p, size=(n, sites)).astype(np.int8)


def test_the_released_cohort_alone_gives_copied_members_away():
    members, non_members, public = structured(60, 300, 1), structured(60, 300, 2), structured(80, 300, 3)
    candidates = np.vstack([members, non_members])
    labels = np.r_[np.ones(60), np.zeros(60)].astype(int)
    copied = members[:40].copy()  # a generator that copies two thirds of its members
    fresh = structured(40, 300, 4)  # one that writes new people of the same population
    signals = mia.synthetic_signals(candidates, copied)
    assert (signals["dcr"][:40] == 0).all() and signals["identical"][:40].all() and not signals["identical"][60:].any()
    assert (signals["kinship"][:40] > 0.45).all()
    leaked = mia.evaluate(-signals["dcr"], labels, n_boot=100)
    safe = mia.evaluate(-mia.synthetic_signals(candidates, fresh)["dcr"], labels, n_boot=100)
    assert leaked["auc"] > 0.8 and safe["auc_low"] <= 0.5 <= safe["auc_high"]
    density = mia.DensityRatioAttack(n_components=3).fit(copied, public)
    assert mia.evaluate(density.score(candidates), labels, n_boot=50)["auc"] > 0.6
    unrelated = mia.DensityRatioAttack(n_components=3).fit(fresh, public)
    result = mia.evaluate(unrelated.score(candidates), labels, n_boot=100)
    assert result["auc_low"] <= 0.5 <= result["auc_high"]


# ----------------------------------------------------------------------------- evaluation

def test_evaluation_of_a_perfect_and_a_useless_attack():
    labels = np.r_[np.ones(500), np.zeros(500)].astype(int)
    perfect = mia.evaluate(labels + 0.0, labels, n_boot=50)
    assert perfect["auc"] == 1.0 and perfect["tpr@0.01"] == 1.0 and perfect["advantage"] == 1.0
    assert np.isnan(perfect["tpr@0.001"])  # 500 non-members cannot resolve 0.1%
    assert perfect["fpr_resolution"] == 1 / 500
    assert 0 < perfect["epsilon_lb"] < np.log(500)  # capped by the non-members, never infinite
    useless = mia.evaluate(np.random.default_rng(1).random(1000), labels, n_boot=200)
    assert useless["auc_low"] <= 0.5 <= useless["auc_high"] and useless["epsilon_lb_split"] < 0.5
    curve = mia.roc_curve([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0])
    assert curve[["fpr", "tpr"]].values.tolist() == [[0, 0], [0, 0.5], [0.5, 1.0], [1.0, 1.0]]
    assert mia.tpr_at_fpr([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0], 0.5) == 1.0
    with pytest.raises(ValueError, match="NaN"):
        mia.evaluate([0.1, np.nan, 0.3, 0.4], [1, 1, 0, 0])
    with pytest.raises(ValueError, match="both 1"):
        mia.evaluate([0.1, 0.2], [1, 1])


def test_auc_agrees_with_scikit_learn():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(labels * 0.5, 1), 1)
    assert mia.evaluate(scores, labels, n_boot=10)["auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert scoring.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


# ----------------------------------------------------------------------------- RMIA with known answers

def rmia_example():
    """Two reference models, three population people and three candidates, given as
    per-token probabilities (the attack takes their logs, the mean log-likelihoods).

    population    p(z | ref 1), p(z | ref 2)    p(z | target)    a = 1: p(z), ratio
    z1            0.2, 0.4                      0.3              0.3, 1.0
    z2            0.5, 0.5                      0.25             0.5, 0.5
    z3            0.1, 0.3                      0.4              0.2, 2.0

    candidate     p(x | ref 1), p(x | ref 2)    p(x | target)    a = 1: p(x), ratio
    x1            0.2, 0.2                      0.6              0.2, 3.0
    x2            0.35, 0.45                    0.3              0.4, 0.75
    x3            0.05, 0.15                    0.16             0.1, 1.6
    """
    log = np.log
    population_target = log([0.3, 0.25, 0.4])
    population_reference = log([[0.2, 0.5, 0.1], [0.4, 0.5, 0.3]])
    target = log([0.6, 0.3, 0.16])
    reference = log([[0.2, 0.35, 0.05], [0.2, 0.45, 0.15]])
    return population_target, population_reference, target, reference


@pytest.mark.parametrize("a, gamma, expected", [
    # a = 1, gamma = 1: the population ratios are 0.5, 1.0, 2.0; x1 (3.0) beats all three,
    # x2 (0.75) only 0.5, x3 (1.6) 0.5 and 1.0
    (1.0, 1.0, [3, 1, 2]),
    # gamma = 2: ratio_x / ratio_z > 2, i.e. ratio_z below 1.5, 0.375, 0.8
    (1.0, 2.0, [2, 0, 1]),
    # a = 0.3: p(.) = (1.3 mean + 0.7) / 2 = 0.65 mean + 0.35. Population: p(z) = 0.545,
    # 0.675, 0.48, ratios 0.5505, 0.3704, 0.8333. Candidates: p(x) = 0.48, 0.61, 0.415,
    # ratios 1.25 (beats all three), 0.4918 (beats 0.3704), 0.3855 (beats 0.3704): x3,
    # which the references found unlikely, is no longer lifted above x2's level
    (0.3, 1.0, [3, 1, 1]),
    # a = 0.3, gamma = 2: ratio_z below 0.625, 0.2459, 0.1928
    (0.3, 2.0, [2, 0, 0]),
])
def test_rmia_known_answers_for_the_offline_correction_and_gamma(a, gamma, expected):
    population_target, population_reference, target, reference = rmia_example()
    attack = mia.RMIA(gamma=gamma, a=a).fit(population_target, population_reference)
    assert attack.score(target, reference) == pytest.approx(np.array(expected) / 3, abs=1e-12)
    ratios = {1.0: [0.5, 1.0, 2.0], 0.3: [0.3 / 0.545, 0.25 / 0.675, 0.4 / 0.48]}[a]
    assert np.exp(attack.population_ratio_) == pytest.approx(sorted(ratios), rel=1e-12)


def test_rmia_population_out_averages_only_the_models_that_left_a_person_out():
    population_target, population_reference, target, reference = rmia_example()
    # a fourth population person both references trained on: it has no offline p(z), and
    # kept it would sit below every candidate (ratio 0.05 / 0.9) and lift every score
    population_target = np.r_[population_target, np.log(0.05)]
    population_reference = np.c_[population_reference, np.log([0.9, 0.9])]
    out = np.array([[True, True, False, False], [False, True, True, False]])
    attack = mia.RMIA().fit(population_target, population_reference, out)
    # p(z1) = 0.2 (ref 1 only), p(z2) = 0.5, p(z3) = 0.3 (ref 2 only): ratios 1.5, 0.5, 1.333
    assert np.exp(attack.population_ratio_) == pytest.approx([0.5, 0.4 / 0.3, 1.5], rel=1e-12)
    # candidates 3.0, 0.75, 1.6: x3 now beats all three
    assert attack.score(target, reference) == pytest.approx([1, 1 / 3, 1], abs=1e-12)
    offline = mia.RMIA(a=0.3).fit(population_target, population_reference, out)
    # p(z) = 0.65 x (0.2, 0.5, 0.3) + 0.35 = 0.48, 0.675, 0.545
    assert np.exp(offline.population_ratio_) == pytest.approx(sorted([0.3 / 0.48, 0.25 / 0.675, 0.4 / 0.545]),
                                                              rel=1e-12)
    # every person left out by every model is the same as no mask
    everyone = mia.RMIA().fit(population_target[:3], population_reference[:, :3], np.ones((2, 3), dtype=bool))
    assert everyone.population_ratio_ == pytest.approx(mia.RMIA().fit(population_target[:3],
                                                                      population_reference[:, :3]).population_ratio_)
    with pytest.raises(ValueError, match="did not train on"):
        mia.RMIA().fit(population_target, population_reference, np.zeros_like(out))
    with pytest.raises(ValueError, match="population_out has shape"):
        mia.RMIA().fit(population_target, population_reference, out[0])  # one row is not a mask per model


def test_rmia_a_larger_gamma_can_only_lower_every_score():
    rng = np.random.default_rng(7)
    base, population = rng.normal(-2.0, 0.5, 300), rng.normal(-2.0, 0.5, 200)
    reference = base + rng.normal(0, 0.1, (3, 300))
    target = base + rng.normal(0, 0.1, 300) + 0.2 * (np.arange(300) < 150)
    pop_reference, pop_target = population + rng.normal(0, 0.1, (3, 200)), population + rng.normal(0, 0.1, 200)
    for a in (1.0, mia.RMIA.OFFLINE_A):
        scores = [mia.RMIA(gamma=g, a=a).fit(pop_target, pop_reference).score(target, reference)
                  for g in (1.0, 1.05, 1.2, 2.0)]
        for lower, higher in zip(scores, scores[1:]):
            assert (higher <= lower).all()
        assert (scores[-1] < scores[0]).any()  # and it does lower some


def test_rmia_offline_default_and_refusals():
    assert mia.RMIA.OFFLINE_A == 0.3
    assert mia.RMIA().a == 1.0  # the class keeps a = 1; offline callers pass OFFLINE_A
    assert mia.RMIA(a=mia.RMIA.OFFLINE_A).a == 0.3
    for bad in ({"a": -0.1}, {"a": 1.1}, {"a": float("nan")}):
        with pytest.raises(ValueError, match="a="):
            mia.RMIA(**bad)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="gamma"):
            mia.RMIA(gamma=bad)
    population_target, population_reference, target, reference = rmia_example()
    with pytest.raises(ValueError, match="finite"):
        mia.RMIA().fit(np.r_[population_target[:2], np.nan], population_reference)
    attack = mia.RMIA().fit(population_target, population_reference)
    with pytest.raises(ValueError, match="shape"):
        attack.score(target[:2], reference)
    with pytest.raises(ValueError, match="finite"):
        attack.score(target, np.where(reference > -1.5, np.nan, reference))


# ----------------------------------------------------------------------------- the best of several attacks

MEMBERS_122 = np.r_[np.ones(122), np.zeros(122)].astype(int)


def test_the_resampled_aucs_are_roc_auc_on_the_resamples_ties_included():
    rng = np.random.default_rng(11)
    members, non_members = np.round(rng.normal(0.3, 1, 40), 1), np.round(rng.normal(0, 1, 50), 1)  # many ties
    counts_m, counts_n = mia._bootstrap_counts(40, 50, 30, seed=2)
    fast = mia._resampled_aucs(members, non_members, counts_m, counts_n)
    for b in range(30):
        m, n = np.repeat(members, counts_m[b].astype(int)), np.repeat(non_members, counts_n[b].astype(int))
        assert fast[b] == pytest.approx(scoring.roc_auc(np.r_[np.ones(40), np.zeros(50)], np.r_[m, n]), abs=1e-12)
    # no resampling at all (every person once) is the AUC itself
    whole = mia._resampled_aucs(members, non_members, np.ones((1, 40)), np.ones((1, 50)))[0]
    assert whole == pytest.approx(scoring.roc_auc(np.r_[np.ones(40), np.zeros(50)], np.r_[members, non_members]))


def test_best_of_many_useless_attacks_is_not_called_a_leak():
    """No leakage, 14 attacks of independent random scores on 122 members vs 122
    non-members, 200 replicates: the best attack's own interval excludes 0.5 often (the
    winner's curse), the selection-aware interval about 5% of the time."""
    naive = aware = 0
    best = []
    replicates = 200
    for r in range(replicates):
        rng = np.random.default_rng(1000 + r)
        out = mia.best_attack({f"attack {j}": rng.normal(size=244) for j in range(14)}, MEMBERS_122, n_boot=200,
                              seed=r)
        assert out["n_attacks"] == 14
        naive += not out["naive_low"] <= 0.5 <= out["naive_high"]
        aware += not out["auc_low"] <= 0.5 <= out["auc_high"]
        best.append(out["auc"])
    assert np.mean(best) > 0.54  # the best of 14 coin flips looks like an attack
    assert naive / replicates > 0.15
    assert aware / replicates <= 0.07  # covers 0.5 in at least 93% of the replicates


def test_one_strong_attack_among_noise_is_found_and_bounded():
    """A shift of one standard deviation (true AUC Phi(1 / sqrt 2) = 0.760) among ten
    attacks of noise, 20 replicates: found every time, its interval excludes 0.5 and
    holds the true AUC (computed on 200,000 + 200,000 people)."""
    shift = 1.0
    huge = np.random.default_rng(0)
    true_auc = scoring.roc_auc(np.r_[np.ones(200_000), np.zeros(200_000)],
                              np.r_[huge.normal(shift, 1, 200_000), huge.normal(0, 1, 200_000)])
    assert true_auc == pytest.approx(norm.cdf(shift / np.sqrt(2)), abs=0.003)
    contained = 0
    for r in range(20):
        rng = np.random.default_rng(r)
        scores = {f"noise {j}": rng.normal(size=244) for j in range(10)}
        scores["strong"] = rng.normal(size=244) + shift * MEMBERS_122
        out = mia.best_attack(scores, MEMBERS_122, n_boot=200, seed=r)
        assert out["attack"] == "strong" and out["auc_low"] > 0.5
        assert out["auc_high"] - out["auc_low"] >= out["naive_high"] - out["naive_low"] - 0.01  # pays for choosing
        contained += out["auc_low"] <= true_auc <= out["auc_high"]
    assert contained >= 18


def test_with_one_attack_the_interval_is_about_its_own():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=244) + 0.8 * MEMBERS_122
    out = mia.best_attack({"only": scores}, MEMBERS_122, n_boot=500, seed=4)
    own = mia.evaluate(scores, MEMBERS_122, n_boot=500, seed=4)
    # the naive interval is exactly evaluate's: the same draws
    assert (out["naive_low"], out["naive_high"]) == (own["auc_low"], own["auc_high"])
    assert out["auc"] == own["auc"] and out["attack"] == "only" and out["n_attacks"] == 1
    # one attack: auc +- c se, c about the normal 1.96, close to the percentile interval
    assert 1.7 < out["critical_value"] < 2.3
    assert out["auc_low"] == pytest.approx(own["auc_low"], abs=0.015)
    assert out["auc_high"] == pytest.approx(own["auc_high"], abs=0.015)


def test_best_attack_is_seeded_and_guards_a_zero_spread():
    rng = np.random.default_rng(5)
    scores = {"a": rng.normal(size=244), "b": rng.normal(size=244) + 0.3 * MEMBERS_122}
    assert mia.best_attack(scores, MEMBERS_122, seed=8) == mia.best_attack(scores, MEMBERS_122, seed=8)
    assert mia.best_attack(scores, MEMBERS_122, seed=8)["auc_low"] != mia.best_attack(scores, MEMBERS_122,
                                                                                      seed=9)["auc_low"]
    # a perfect and a constant attack do not vary over the draws (se = 0): no division by
    # zero, and the perfect one's AUC is both ends
    with np.errstate(all="raise"):
        out = mia.best_attack({"noise": rng.normal(size=244), "constant": np.zeros(244),
                               "perfect": MEMBERS_122 + 0.0}, MEMBERS_122, n_boot=100)
    assert out["se"]["perfect"] == 0.0 and out["se"]["constant"] == 0.0
    assert out["attack"] == "perfect" and out["auc_low"] == out["auc_high"] == 1.0
    # ties: the first attack in the mapping's order
    assert mia.best_attack({"x": MEMBERS_122 + 0.0, "y": MEMBERS_122 + 1.0}, MEMBERS_122, n_boot=10)["attack"] == "x"


def test_best_attack_refuses_what_evaluate_refuses():
    labels = [1, 1, 0, 0]
    with pytest.raises(ValueError, match="'bad'.*1 NaN"):
        mia.best_attack({"good": [0.1, 0.2, 0.3, 0.4], "bad": [0.1, np.nan, 0.3, 0.4]}, labels)
    with pytest.raises(ValueError, match="both 1"):
        mia.best_attack({"a": [0.1, 0.2]}, [1, 1])
    with pytest.raises(ValueError, match="labels"):
        mia.best_attack({"a": [0.1, 0.2, 0.3, 0.4], "b": [0.1, 0.2, 0.3]}, labels)
    with pytest.raises(ValueError, match="non-empty mapping"):
        mia.best_attack({}, labels)
    with pytest.raises(ValueError, match="level"):
        mia.best_attack({"a": [0.1, 0.2, 0.3, 0.4]}, labels, level=1.0)
