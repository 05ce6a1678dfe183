"""Standards of evidence: seed-level intervals, comparisons with a multiplicity correction,
verdict rules, and every verdict of every claim of the book reached from small tables with
known outcomes (the claims' functions are the ones the chapters and the results page call)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lib import ch05_utility, ch06_privacy
from lib.evaluation import evidence
from lib.runs import glossary

# --------------------------------------------------------------------------------------
# Seed-level estimates and comparisons
# --------------------------------------------------------------------------------------


def test_seed_estimate_combines_the_seed_spread_and_the_bootstrap():
    values, lows, highs = [0.80, 0.84, 0.82], [0.76, 0.80, 0.78], [0.84, 0.88, 0.86]
    e = evidence.seed_estimate(values, lows, highs)
    sd = np.std(values, ddof=1)
    expected = math.hypot(stats.t.ppf(0.975, 2) * sd / math.sqrt(3), 0.04)
    assert e.n == 3 and e.value == pytest.approx(0.82) and e.sd == pytest.approx(sd)
    assert e.boot_half == pytest.approx(0.04)
    assert (e.low, e.high) == pytest.approx((0.82 - expected, 0.82 + expected))
    # wider than either part alone: the seed spread and the people both count
    assert e.high - e.low > 2 * 0.04 and e.high - e.low > 2 * stats.t.ppf(0.975, 2) * sd / math.sqrt(3)
    # a wider level widens it; the seed part alone when no bootstrap was computed
    assert e.half_width(0.99) > e.half_width()
    alone = evidence.seed_estimate(values)
    assert alone.half_width() == pytest.approx(stats.t.ppf(0.975, 2) * sd / math.sqrt(3))


def test_one_seed_keeps_the_bootstrap_and_nothing_is_invented():
    one = evidence.seed_estimate([0.7], [0.65], [0.75])
    assert one.n == 1 and (one.low, one.high) == pytest.approx((0.65, 0.75))
    bare = evidence.seed_estimate([0.7])
    assert bare.n == 1 and math.isnan(bare.low) and math.isnan(bare.high)
    empty = evidence.seed_estimate([float("nan")])
    assert empty.n == 0 and math.isnan(empty.value)
    with pytest.raises(ValueError, match="lows"):
        evidence.seed_estimate([1, 2], [0], [3])


def test_compare_reads_each_outcome():
    high = evidence.seed_estimate([0.90, 0.91, 0.92], [0.88, 0.89, 0.90], [0.92, 0.93, 0.94])
    low = evidence.seed_estimate([0.60, 0.61, 0.62], [0.58, 0.59, 0.60], [0.62, 0.63, 0.64])
    near = evidence.seed_estimate([0.605, 0.61, 0.615], [0.60, 0.605, 0.61], [0.61, 0.615, 0.62])
    noisy = evidence.seed_estimate([0.5, 0.7, 0.9])
    assert evidence.compare(high, low, "high")["outcome"] == "better"
    assert evidence.compare(high, low, "low")["outcome"] == "worse"
    assert evidence.compare(near, low, "high", margin=0.05)["outcome"] == "equivalent"
    assert evidence.compare(near, low, "high")["outcome"] == "indistinguishable"  # no margin: no equivalence
    assert evidence.compare(noisy, low, "high")["outcome"] == "indistinguishable"
    # a Bonferroni level widens the interval of the difference
    wide = evidence.compare(high, low, "high", level=evidence.bonferroni(30))
    assert wide["high"] - wide["low"] > evidence.compare(high, low, "high")["high"] - evidence.compare(
        high, low, "high")["low"]
    assert evidence.bonferroni(20) == pytest.approx(0.9975)
    with pytest.raises(ValueError, match="sense"):
        evidence.compare(high, low, "up")


def test_majority_rule_reaches_each_verdict():
    assert evidence.majority_verdict({"better": 3, "worse": 0, "indistinguishable": 3}) == "holds"
    assert evidence.majority_verdict({"better": 1, "worse": 0, "indistinguishable": 17}) == \
        "cannot be told at this scale"  # one of 18 is not a finding (the old rule said "holds")
    assert evidence.majority_verdict({"better": 1, "worse": 2, "indistinguishable": 3}) == "does not hold"
    assert evidence.majority_verdict({"better": 0, "equivalent": 4, "indistinguishable": 2}) == "does not hold"
    assert evidence.majority_verdict({"better": 3, "worse": 1}) == "cannot be told at this scale"
    assert evidence.tally(["better", "worse", "better"])["better"] == 2
    with pytest.raises(ValueError, match="outcome"):
        evidence.tally(["maybe"])
    with pytest.raises(ValueError, match="verdict"):
        evidence.Claim("c", "probably", "rule", "evidence")


# --------------------------------------------------------------------------------------
# The utility chapter's claims, from small tables
# --------------------------------------------------------------------------------------

SMALL = {"model_n_layer": 2, "model_n_embd": 64}
SIZED = {"model_n_layer": 2, "model_n_embd": 64, "gpt2_n_layer": 12, "gpt2_n_embd": 768}


def _utility_rows(setting: str, seeds: list[float] | float, metric: str, half: float = 0.01,
                  kind: str = "synthetic") -> list[dict]:
    """Per-cohort rows of one setting's metric, one per seed value, each with a bootstrap
    interval of ``half`` either side."""
    values = seeds if isinstance(seeds, list) else [seeds]
    if kind == "reference":
        described = dict(family="reference", tokenizer="", variant="", epsilon=np.nan, eps="", decoding="")
    else:
        family, _, eps = setting.partition("-eps")
        described = dict(family=family, tokenizer={"mingpt": "record", "gpt2": "variant"}[family], variant="",
                         epsilon=float(eps), eps="∞" if eps == "inf" else eps, decoding="constrained")
    return [dict(cohort=setting if k == 0 else f"{setting}-seed{k}", kind=kind, setting=setting, seed=k,
                 model=setting, **described, group="", metric=metric, value=v, low=v - half, high=v + half)
            for k, v in enumerate(values)]


def utility_table(values: dict[tuple[str, str], list[float] | float], half: float = 0.01) -> pd.DataFrame:
    rows = []
    for (setting, metric), v in values.items():
        kind = "reference" if setting in glossary.REFERENCES else "synthetic"
        rows += _utility_rows(setting, v, metric, half, kind)
    return pd.DataFrame(rows)[ch05_utility.COLUMNS]


def dp_values(private_af: list[float], private_c2st: list[float]) -> dict:
    """Both families at ∞ and ε = 8 on the DP claim's metrics: only allele-frequency r and
    the two-sample AUC move; the rest stay equal."""
    out = {}
    for family in ("mingpt", "gpt2"):
        out[(f"{family}-epsinf", "af_r")] = [0.95, 0.95, 0.95]
        out[(f"{family}-eps8", "af_r")] = private_af
        out[(f"{family}-epsinf", "c2st_auc")] = [0.70, 0.70, 0.70]
        out[(f"{family}-eps8", "c2st_auc")] = private_c2st
        for metric in ("ld_decay_distance", "aats_balance", "tstr", "c2st_trees_auc"):
            out[(f"{family}-epsinf", metric)] = [0.5, 0.5, 0.5]
            out[(f"{family}-eps8", metric)] = [0.5, 0.5, 0.5]
    return out


def utility_claims(values: dict, settings: dict, half: float = 0.01) -> dict:
    return ch05_utility.claim_records({"table": utility_table(values, half)}, settings)


def test_dp_improves_utility_reaches_every_verdict():
    better = utility_claims(dp_values([0.99, 0.99, 0.99], [0.52, 0.52, 0.52]), SMALL)["dp_claim"]
    worse = utility_claims(dp_values([0.60, 0.61, 0.60], [0.99, 0.99, 0.99]), SMALL)["dp_claim"]
    told = utility_claims(dp_values([0.95, 0.95, 0.95], [0.70, 0.70, 0.70]), SMALL, half=0.2)["dp_claim"]
    # 4 of 12 comparisons better (af_r and c2st for each family) is not a majority: cannot be told
    assert better["verdict"] == "cannot be told at this scale" and "4 are better" in better["evidence"]
    assert worse["verdict"] == "does not hold" and "4 worse" in worse["evidence"]
    assert told["verdict"] == "cannot be told at this scale"
    # better on every pre-declared metric: holds
    all_better = dp_values([0.99, 0.99, 0.99], [0.52, 0.52, 0.52])
    for family in ("mingpt", "gpt2"):
        all_better[(f"{family}-eps8", "ld_decay_distance")] = [0.1, 0.1, 0.1]
        all_better[(f"{family}-eps8", "tstr")] = [0.9, 0.9, 0.9]
        all_better[(f"{family}-eps8", "aats_balance")] = [0.1, 0.1, 0.1]  # AATS's halves nearer 0.5 each
    holds = utility_claims(all_better, SMALL)["dp_claim"]
    assert holds["verdict"] == "holds"
    for record in (better, worse, told, holds):
        assert "Bonferroni" in record["rule"] and "12 comparisons" in record["rule"]
    none = utility_claims({("mingpt-epsinf", "af_r"): [0.9, 0.9]}, SMALL)["dp_claim"]
    assert none["verdict"] == "cannot be told"


def identical_values(ratio: list[float], distinct: list[float]) -> dict:
    return {(glossary.REAL, "within_distance"): 100.0, ("gpt2-epsinf", "within_distance"): [100 * r for r in ratio],
            ("gpt2-epsinf", "unique_people"): distinct, ("mingpt-epsinf", "within_distance"): [90.0, 90.0, 90.0],
            ("mingpt-epsinf", "unique_people"): [1.0, 1.0, 1.0]}


def test_near_identical_samples_reaches_every_verdict_and_prints_its_thresholds():
    near = utility_claims(identical_values([0.20, 0.21, 0.19], [0.5, 0.5, 0.5]), SIZED, half=0.001)
    apart = utility_claims(identical_values([0.92, 0.93, 0.92], [1.0, 1.0, 1.0]), SIZED, half=0.001)
    unclear = utility_claims(identical_values([0.3, 0.9, 0.6], [1.0, 0.95, 0.92]), SIZED, half=0.001)
    same_size = utility_claims(identical_values([0.2, 0.2, 0.2], [0.5, 0.5, 0.5]), SMALL)
    assert near["identical_claim"]["verdict"] == "holds"
    assert apart["identical_claim"]["verdict"] == "does not hold"
    assert unclear["identical_claim"]["verdict"] == "cannot be told at this scale"
    assert same_size["identical_claim"]["verdict"] == "cannot be tested here"
    assert "50%" in near["identical_claim"]["rule"] and "90%" in near["identical_claim"]["rule"]


def size_values(small_spread: list[float], small_positions: list[float]) -> dict:
    return {("mingpt-epsinf", "within_distance"): small_spread, ("gpt2-epsinf", "within_distance"): [100.0] * 3,
            ("mingpt-epsinf", "position_mad"): small_positions, ("gpt2-epsinf", "position_mad"): [1.0] * 3}


def test_small_models_claim_reaches_every_verdict():
    assert utility_claims(size_values([150.0] * 3, [3.0] * 3), SIZED)["size_claim"]["verdict"] == "holds"
    assert utility_claims(size_values([150.0] * 3, [1.0] * 3), SIZED)["size_claim"]["verdict"] == "holds in part"
    assert utility_claims(size_values([50.0] * 3, [3.0] * 3), SIZED)["size_claim"]["verdict"] == "does not hold"
    assert utility_claims(size_values([100.0] * 3, [1.0] * 3), SIZED)["size_claim"]["verdict"] == \
        "cannot be told at this scale"
    assert utility_claims(size_values([150.0] * 3, [3.0] * 3), SMALL)["size_claim"]["verdict"] == \
        "cannot be tested here"


def memorisation_values(near: list[float]) -> dict:
    return {(glossary.REAL, "near_copies"): 0.05, (glossary.REAL, "memorised"): 0.99,
            ("mingpt-epsinf", "near_copies"): near, ("mingpt-epsinf", "memorised"): [0.99] * 3,
            ("gpt2-epsinf", "near_copies"): [0.05, 0.05, 0.05], ("gpt2-epsinf", "memorised"): [0.99] * 3}


def test_memorisation_is_computed_and_reaches_every_verdict():
    copies = utility_claims(memorisation_values([0.60, 0.62, 0.61]), SMALL)["memorisation_claim"]
    strangers = utility_claims(memorisation_values([0.05, 0.05, 0.05]), SMALL, half=0.005)["memorisation_claim"]
    unclear = utility_claims(memorisation_values([0.05, 0.30, 0.15]), SMALL)["memorisation_claim"]
    assert copies["verdict"] == "holds" and "near copies" in copies["evidence"]
    assert strangers["verdict"] == "does not hold"
    assert unclear["verdict"] == "cannot be told at this scale"
    assert "±5%" in copies["rule"]


# --------------------------------------------------------------------------------------
# The privacy chapter's claims, from small tables
# --------------------------------------------------------------------------------------

PRIMARY = "RMIA (online)"


def _privacy_rows(setting: str, aucs: list[float], attack: str = PRIMARY, half: float = 0.02,
                  bound: float = 0.0) -> list[dict]:
    family, _, eps = setting.partition("-eps")
    clip = "-cliponly" in setting
    family = family.split("-")[0]
    spent = float("nan") if eps == "inf" else float(eps)
    rows = []
    for k, auc in enumerate(aucs):
        target = setting if k == 0 else f"{setting}-seed{k}"
        common = dict(target=target, target_kind="model", setting=setting, seed=k, family=family,
                      tokenizer={"mingpt": "record", "gpt2": "variant"}[family], variant="cliponly" if clip else "",
                      eps=("∞, clip only" if clip else "∞" if eps == "inf" else eps), accountant_epsilon=spent,
                      n_members=122, n_non_members=122, epsilon_lb=bound, epsilon_lb_split=bound)
        rows.append(dict(common, attack=attack, kind="reference", primary=attack == PRIMARY, auc=auc,
                         auc_low=auc - half, auc_high=auc + half, **{"tpr@0.1": 0.1}))
        if attack == PRIMARY:
            rows.append(dict(common, attack=ch06_privacy.BEST, kind="best", primary=False, auc=auc,
                             auc_low=auc - 2 * half, auc_high=auc + 2 * half, selected=PRIMARY, n_attacks=11,
                             epsilon_attack=PRIMARY, **{"tpr@0.1": 0.1}))
    return rows


def privacy_table(settings_aucs: dict[str, list[float]], half: float = 0.02, bound: float = 0.0,
                  extra: list[dict] | None = None) -> pd.DataFrame:
    rows = [r for s, a in settings_aucs.items() for r in _privacy_rows(s, a, half=half, bound=bound)]
    table = pd.DataFrame(rows + (extra or []))
    for column in ("selected", "epsilon_attack"):
        table[column] = table[column].fillna("") if column in table else ""
    return table


def test_dp_lowers_attack_success_reaches_every_verdict():
    lowered = privacy_table({"mingpt-epsinf": [0.95, 0.96, 0.95], "mingpt-eps8": [0.55, 0.53, 0.54],
                             "gpt2-epsinf": [0.85, 0.86, 0.85], "gpt2-eps8": [0.50, 0.51, 0.52]})
    same = privacy_table({"mingpt-epsinf": [0.95, 0.95, 0.95], "mingpt-eps8": [0.95, 0.95, 0.95],
                          "gpt2-epsinf": [0.85, 0.85, 0.85], "gpt2-eps8": [0.85, 0.85, 0.85]}, half=0.002)
    higher = privacy_table({"mingpt-epsinf": [0.55, 0.55, 0.55], "mingpt-eps8": [0.90, 0.91, 0.90],
                            "gpt2-epsinf": [0.55, 0.55, 0.55], "gpt2-eps8": [0.55, 0.56, 0.55]})
    unclear = privacy_table({"mingpt-epsinf": [0.60, 0.80, 0.70], "mingpt-eps8": [0.50, 0.70, 0.60]})
    verdicts = {name: ch06_privacy.claim_records(t, SMALL)["dp_claim"] for name, t in
                (("lowered", lowered), ("same", same), ("higher", higher), ("unclear", unclear))}
    assert verdicts["lowered"]["verdict"] == "holds"
    assert verdicts["same"]["verdict"] == "does not hold"  # equivalent within ±0.02: DP did not lower it
    assert verdicts["higher"]["verdict"] == "does not hold"
    assert verdicts["unclear"]["verdict"] == "cannot be told at this scale"
    assert "Bonferroni" in verdicts["lowered"]["rule"] and "0.02" in verdicts["lowered"]["rule"]
    assert "RMIA (online)" in verdicts["lowered"]["evidence"]


def test_smaller_models_leak_less_reaches_every_verdict():
    def verdict(small: list[float], large: list[float], settings=SIZED) -> str:
        table = privacy_table({"mingpt-epsinf": small, "gpt2-epsinf": large})
        return ch06_privacy.claim_records(table, settings)["size_claim"]["verdict"]

    assert verdict([0.60, 0.60, 0.61], [0.90, 0.91, 0.90]) == "holds"
    assert verdict([0.90, 0.91, 0.90], [0.60, 0.60, 0.61]) == "does not hold"
    assert verdict([0.60, 0.90, 0.75], [0.70, 0.80, 0.75]) == "cannot be told at this scale"
    assert verdict([0.60, 0.60, 0.61], [0.90, 0.91, 0.90], SMALL) == "cannot be tested here"


def test_hybrid_claim_reaches_every_verdict():
    def verdict(hybrid: list[float], plain: list[float]) -> str:
        extra = [dict(r, attack=a, kind="hybrid" if a.startswith("hybrid") else "model", primary=False)
                 for a, aucs in (("hybrid (logistic)", hybrid), ("logistic regression", plain))
                 for r in _privacy_rows("mingpt-epsinf", aucs, attack=a)]
        table = privacy_table({}, extra=extra)
        return ch06_privacy.claim_records(table, SMALL)["hybrid_claim"]["verdict"]

    assert verdict([0.90, 0.91, 0.90], [0.60, 0.61, 0.60]) == "holds"
    assert verdict([0.60, 0.61, 0.60], [0.90, 0.91, 0.90]) == "does not hold"
    assert verdict([0.60, 0.80, 0.70], [0.65, 0.75, 0.70]) == "cannot be told at this scale"


def test_bound_check_reaches_every_verdict_and_knows_its_ceiling():
    """61 against 61 evaluated candidates can prove at most about 2.8 (Bonferroni over 11
    attacks lowers it further): a check at ε = 8 cannot fail, one at ε = 1 can."""
    from lib.evaluation import audit

    ceiling = audit.split_epsilon_ceiling(122, 122, level=1 - 0.025 / 11)
    assert 1 < ceiling < 2.8
    cannot = privacy_table({"mingpt-eps8": [0.5, 0.5, 0.5]}, bound=0.5)
    can = privacy_table({"mingpt-eps1": [0.5, 0.5, 0.5]}, bound=0.5)
    broken = privacy_table({"mingpt-eps1": [0.5, 0.5, 0.5]}, bound=1.5)
    results = {name: ch06_privacy.claim_records(t, SMALL)["bound_claim"] for name, t in
               (("cannot", cannot), ("can", can), ("broken", broken))}
    assert results["cannot"]["verdict"] == "cannot be told at this scale"
    assert results["can"]["verdict"] == "holds"
    assert results["broken"]["verdict"] == "does not hold"
    assert f"{ceiling:.2f}" in results["cannot"]["ceiling"]
    # the canary audits count as checks too: an audit run at ε = 1 whose ceiling is above 1 can fail
    audits = pd.DataFrame({"audit run": ["audit-mingpt-eps1"], "family": ["mingpt"], "eps": ["1"],
                           "accountant ε": [1.0], "one-run lower bound": [0.3], "ceiling": [3.17]})
    with_audit = ch06_privacy.claim_records(cannot, SMALL, audits)["bound_claim"]
    assert with_audit["verdict"] == "holds" and "canaries" in with_audit["ceiling"]
    bad_audit = ch06_privacy.claim_records(cannot, SMALL, audits.assign(**{"one-run lower bound": [1.4]}))
    assert bad_audit["bound_claim"]["verdict"] == "does not hold"
    checks = ch06_privacy.bound_checks(cannot, audits)
    assert list(checks["outcome"]) == ["cannot fail"] * 3 + ["passes"]
