"""Privacy audits: lower bounds on epsilon from what an attack gets right, and exposure.

An accountant (:mod:`lib.dp.privacy`) proves an *upper* bound: training is (epsilon,
delta)-DP. An audit runs an attack and turns its successes into a *lower* bound that
holds with a stated confidence: "with probability at least 95 %, training is not
(epsilon', delta)-DP for any epsilon' below this". A lower bound far below the
accountant's epsilon says the attack (or the analysis) is weak, not that training leaks
less; one *above* it says something is wrong -- in the proof, the code or the audit.

**Membership inference as a hypothesis test** (Kairouz, Oh & Viswanath 2015; Jagielski,
Ullman & Oprea 2020; Nasr et al. 2021, 2023). An attack says "member" or "non-member". If
training is (epsilon, delta)-DP, any such test, run on members and non-members, has

    TPR <= e^epsilon * FPR + delta     and     TNR <= e^epsilon * FNR + delta

(TPR = true-positive rate on members, FPR = false-positive rate on non-members,
TNR = 1 - FPR, FNR = 1 - TPR). So ``epsilon >= log((TPR - delta) / FPR)`` and
``epsilon >= log((TNR - delta) / FNR)``. The rates are estimated from finitely many
members and non-members, so :func:`empirical_epsilon` puts one-sided Clopper-Pearson
bounds on them first -- TPR from below, FPR from above -- and only then takes the
logarithm. Each of the two bounds holds with probability ``level``; both together (which
the epsilon bound needs) with probability at least ``2 * level - 1`` (a union bound; the
result reports it as ``confidence``). Pass ``level = (1 + c) / 2`` for a joint confidence
``c``.

*The bound is capped by the number of non-members.* With ``n`` non-members and no false
positive at all, the upper Clopper-Pearson bound on FPR is ``1 - (1 - level)^(1/n)``
(about ``3 / n`` at 95 %), so even a perfect attack proves at most about
``log(n / 3)``: 1 000 non-members cannot show epsilon above about 5.8. The point
estimate (the same formula on the raw rates) of a perfect attack is infinite; it is
reported but is no claim.

*Choosing the threshold.* :func:`epsilon_from_scores` sweeps every threshold of an attack
score and keeps the best bound; choosing the best of many on the same data makes that
bound optimistic (the confidence holds for one threshold fixed in advance, not for the
best of many). :func:`split_epsilon` chooses the threshold on one half of the people and
evaluates it on the other, which keeps the stated confidence.

**The one-run audit** (Steinke, Nasr & Jagielski 2023, "Privacy Auditing with One (1)
Training Run", NeurIPS; arXiv:2305.08846). ``m`` canaries are each included in training
independently with probability 1/2 -- the analysis needs exactly this coin, drawn
before training and independent of everything else. After one training run the auditor
scores every canary, guesses "included" for the ``k+`` highest scores, "excluded" for the
``k-`` lowest and abstains on the rest: ``r = k+ + k-`` guesses of which ``v`` are right.
Under (epsilon, 0)-DP each guess is at best right with probability
``q = e^epsilon / (1 + e^epsilon)``, as in randomised response, and the number right is
stochastically dominated by ``W ~ Binomial(r, q)`` (their Theorem 2). The p-value of the
null hypothesis "training is (epsilon, delta)-DP" is their Theorem 3, as computed by the
code of their Appendix D:

    p(epsilon) = P[W >= v] + 2 * m * delta * max_{i = 1..v} (1 / i) * P[v - i <= W < v]

(the second term is absent for delta = 0). :func:`one_run_epsilon` reports the largest
epsilon whose p-value is at most ``beta``: with probability at least ``1 - beta`` the
training is not (epsilon', delta)-DP for any epsilon' below it. Trying several
``(k+, k-)`` and keeping the best is again a choice made on the data; :func:`one_run_audit`
pays for it with a Bonferroni correction (each choice is tested at ``beta / K`` for ``K``
choices), so its best bound keeps confidence ``1 - beta``.

**Exposure** (Carlini et al. 2019, "The Secret Sharer", USENIX Security). A canary
(e.g. a secret inserted into the training data) is ranked among a candidate set ``R`` of
equally likely alternatives by the model's likelihood; its exposure is
``log2 |R| - log2 rank`` bits: 0 when it is the least likely candidate, ``log2 |R|`` when
it is the most likely. Exposure is a measurement, not a bound.

**The best of several attacks.** Reporting the largest of ``K`` attacks' bounds is a
choice made on the data as well: :func:`split_epsilon_best` bounds every attack at the
Bonferroni level ``1 - (1 - level) / K``, so that the best bound keeps the stated
confidence.

**Ceilings.** Every check has a largest value it can prove with the people it has: a
perfect attack's bound (:func:`split_epsilon_ceiling`, :func:`one_run_ceiling`). A
check whose ceiling is below the accountant's epsilon cannot come out "the guarantee is
violated" at this scale, whatever the training does; its verdict reads "cannot be told".

API: :func:`clopper_pearson` (one-sided bounds), :func:`empirical_epsilon` (one
threshold's counts), :func:`epsilon_from_scores` (every threshold, or a fixed one),
:func:`split_epsilon` (threshold chosen on one half, evaluated on the other),
:func:`split_epsilon_best` (the best of several attacks, Bonferroni-corrected),
:func:`split_epsilon_ceiling`, :func:`one_run_guesses`, :func:`one_run_p_value`,
:func:`one_run_epsilon`, :func:`one_run_audit`, :func:`one_run_ceiling`,
:func:`exposure`, :func:`exposure_from_scores`. All are pure functions of numbers and
arrays.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special, stats

# the search for the largest epsilon: grid points before bisection, bisection steps
_GRID_POINTS = 64
_BISECTION_STEPS = 100
_EPSILON_CEILING = 1024.0  # q = expit(epsilon) is 1.0 in floating point long before this


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------

def _check_open_unit(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}={value!r} must lie strictly between 0 and 1")
    return value


def _check_delta(delta: float) -> float:
    delta = float(delta)
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta={delta!r} must lie in [0, 1)")
    return delta


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 0:
        raise ValueError(f"{name}={value!r} must be a non-negative whole number")
    return int(value)


def _check_scores(name: str, scores: Any) -> np.ndarray:
    array = np.asarray(scores, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of numbers (shape {array.shape})")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has {int(np.sum(~np.isfinite(array)))} values that are NaN or infinite")
    return array


def _check_binary(name: str, values: Any, length: int) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (length,):
        raise ValueError(f"{name} has shape {array.shape}; the scores have shape ({length},)")
    if array.dtype != bool:
        bad = ~np.isin(array, (0, 1))
        if np.any(bad):
            raise ValueError(f"{name} must hold only 0 and 1 (or booleans); found {array[bad][:5].tolist()}")
    return array.astype(bool)


# --------------------------------------------------------------------------------------
# Membership inference at a threshold
# --------------------------------------------------------------------------------------

def clopper_pearson(k: Any, n: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Clopper-Pearson bounds on a binomial proportion from ``k`` successes in
    ``n`` trials (Clopper & Pearson 1934): ``(lower, upper)`` with ``P[p >= lower] >=
    level`` and ``P[p <= upper] >= level`` separately.

    ``lower`` is the ``1 - level`` quantile of Beta(k, n - k + 1) (0 when k = 0) -- the
    ``p`` at which ``P[Binomial(n, p) >= k] = 1 - level`` -- and ``upper`` the ``level``
    quantile of Beta(k + 1, n - k) (1 when k = n). Vectorised over ``k`` and ``n``."""
    level = _check_open_unit("level", level)
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("clopper_pearson needs 0 <= k <= n and n >= 1")
    with np.errstate(invalid="ignore"):
        lower = np.where(k > 0, stats.beta.ppf(1.0 - level, np.maximum(k, 1), n - k + 1), 0.0)
        upper = np.where(k < n, stats.beta.ppf(level, k + 1, np.maximum(n - k, 1)), 1.0)
    return lower, upper


def _log_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """log(numerator / denominator) with the conventions of a bound: no evidence
    (numerator <= 0) is -inf, a positive numerator over 0 is +inf."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.full(numerator.shape, -np.inf)
    positive = numerator > 0
    out[positive & (denominator <= 0)] = np.inf
    ok = positive & (denominator > 0)
    out[ok] = np.log(numerator[ok]) - np.log(denominator[ok])
    return out


def _epsilon_from_counts(tp, fn, fp, tn, delta: float, level: float) -> dict[str, np.ndarray]:
    """The arrays behind :func:`empirical_epsilon`, vectorised over thresholds."""
    tp, fn, fp, tn = (np.asarray(x, dtype=float) for x in (tp, fn, fp, tn))
    members, non_members = tp + fn, fp + tn
    tpr_low, _ = clopper_pearson(tp, members, level)
    _, fpr_high = clopper_pearson(fp, non_members, level)
    # Beta(a, b) quantile u is 1 - the Beta(b, a) quantile 1 - u: the CP lower bound on
    # TNR is exactly 1 - FPR_high and the CP upper bound on FNR exactly 1 - TPR_low.
    tnr_low, fnr_high = 1.0 - fpr_high, 1.0 - tpr_low
    lower = np.maximum(np.maximum(_log_ratio(tpr_low - delta, fpr_high),
                                  _log_ratio(tnr_low - delta, fnr_high)), 0.0)
    tpr, fpr = tp / members, fp / non_members
    point = np.maximum(np.maximum(_log_ratio(tpr - delta, fpr), _log_ratio(1.0 - fpr - delta, 1.0 - tpr)), 0.0)
    return {"epsilon_lower": lower, "epsilon_point": point, "tpr": tpr, "fpr": fpr,
            "tpr_low": tpr_low, "fpr_high": fpr_high, "tnr_low": tnr_low, "fnr_high": fnr_high}


def _as_dict(arrays: dict[str, np.ndarray], index: Any = ()) -> dict[str, float]:
    return {key: float(np.asarray(value)[index]) for key, value in arrays.items()}


def empirical_epsilon(tp: int, fn: int, fp: int, tn: int, delta: float = 0.0,
                      level: float = 0.95) -> dict[str, float]:
    """The lower bound on epsilon implied by one attack threshold's confusion counts.

    ``tp`` members predicted member, ``fn`` members predicted non-member, ``fp``
    non-members predicted member, ``tn`` non-members predicted non-member. With
    one-sided Clopper-Pearson bounds at ``level`` (Jagielski et al. 2020; Nasr et al.
    2021, 2023) -- ``TPR_low`` below ``tp / (tp + fn)``, ``FPR_high`` above
    ``fp / (fp + tn)``, ``TNR_low = 1 - FPR_high``, ``FNR_high = 1 - TPR_low`` --

        epsilon_lower = max(log((TPR_low - delta) / FPR_high),
                            log((TNR_low - delta) / FNR_high), 0)

    (a term whose numerator is not positive counts as -inf). It holds with probability at
    least ``2 * level - 1`` (``confidence``; see the module docstring), and is always
    finite: ``FPR_high >= 1 - (1 - level)^(1/n)`` for ``n`` non-members, which caps it at
    about ``log(n / 3)`` at 95 %.

    ``epsilon_point`` is the same formula on the raw rates: infinite when FPR = 0 (or
    FNR = 0) and the other rate exceeds delta, 0 when the attack is no better than a
    guess. It is an estimate, never a claim.

    Returns a dict of floats: ``epsilon_lower``, ``epsilon_point``, ``tpr``, ``fpr``,
    ``tpr_low``, ``fpr_high``, ``tnr_low``, ``fnr_high``, ``tp``, ``fn``, ``fp``, ``tn``,
    ``delta``, ``level``, ``confidence``."""
    tp, fn, fp, tn = (_check_count(name, value) for name, value in (("tp", tp), ("fn", fn), ("fp", fp), ("tn", tn)))
    if tp + fn == 0:
        raise ValueError("tp + fn = 0: there are no members to measure the true-positive rate on")
    if fp + tn == 0:
        raise ValueError("fp + tn = 0: there are no non-members to measure the false-positive rate on")
    delta, level = _check_delta(delta), _check_open_unit("level", level)
    out = _as_dict(_epsilon_from_counts(tp, fn, fp, tn, delta, level))
    out.update(tp=tp, fn=fn, fp=fp, tn=tn, delta=delta, level=level, confidence=max(0.0, 2 * level - 1))
    return out


def _scores_and_labels(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    scores = _check_scores("scores", scores)
    labels = _check_binary("labels", labels, scores.size)
    if labels.all() or not labels.any():
        raise ValueError(f"labels must contain both members (1) and non-members (0); "
                         f"found {int(labels.sum())} members of {labels.size}")
    return scores, labels


def _sweep(scores: np.ndarray, labels: np.ndarray, delta: float, level: float,
           threshold: float | None) -> dict[str, float]:
    """Counts at every threshold (predict member when score >= threshold) and the best."""
    thresholds = np.unique(scores)[::-1] if threshold is None else np.array([float(threshold)])
    member_scores, other_scores = np.sort(scores[labels]), np.sort(scores[~labels])
    tp = member_scores.size - np.searchsorted(member_scores, thresholds, side="left")
    fp = other_scores.size - np.searchsorted(other_scores, thresholds, side="left")
    fn, tn = member_scores.size - tp, other_scores.size - fp
    arrays = _epsilon_from_counts(tp, fn, fp, tn, delta, level)
    best = int(np.argmax(arrays["epsilon_lower"]))  # the first (highest) threshold among ties
    out = _as_dict(arrays, best)
    out.update(threshold=float(thresholds[best]), tp=int(tp[best]), fn=int(fn[best]), fp=int(fp[best]),
               tn=int(tn[best]), n_thresholds=int(thresholds.size), delta=delta, level=level,
               confidence=max(0.0, 2 * level - 1), threshold_chosen_on_these_data=threshold is None)
    return out


def epsilon_from_scores(scores: Any, labels: Any, delta: float = 0.0, level: float = 0.95,
                        threshold: float | None = None) -> dict[str, Any]:
    """The best :func:`empirical_epsilon` over every threshold of an attack score.

    ``scores``: one number per person, higher = more likely a member (a loss goes in
    negated); ``labels``: 1 for members, 0 for non-members. A threshold ``t`` predicts
    "member" when ``score >= t``; every distinct score is tried and the threshold with the
    largest ``epsilon_lower`` kept (the highest such threshold among ties).

    **Optimistic.** The confidence of :func:`empirical_epsilon` holds for a threshold
    fixed before the counts are seen; the best of ``n_thresholds`` chosen on the same
    data can exceed the truth more often (``threshold_chosen_on_these_data`` is True).
    For a claim, fix ``threshold`` in advance -- only it is evaluated -- or use
    :func:`split_epsilon`.

    Returns :func:`empirical_epsilon`'s dict plus ``threshold``, ``n_thresholds`` and
    ``threshold_chosen_on_these_data``."""
    scores, labels = _scores_and_labels(scores, labels)
    delta, level = _check_delta(delta), _check_open_unit("level", level)
    if threshold is not None and not math.isfinite(float(threshold)):
        raise ValueError(f"threshold={threshold!r} must be a finite number")
    return _sweep(scores, labels, delta, level, threshold)


def _selection_size(n: int, fraction: float, what: str) -> int:
    """How many of a class's ``n`` people :func:`split_epsilon` puts in the selection
    part: a ``fraction`` of them, at least one and at most all but one."""
    if n < 2:
        raise ValueError(f"labels has {n} {what}; splitting needs at least two of each")
    return min(max(int(round(fraction * n)), 1), n - 1)


def split_epsilon(scores: Any, labels: Any, seed: int, delta: float = 0.0, level: float = 0.95,
                  fraction: float = 0.5) -> dict[str, Any]:
    """:func:`epsilon_from_scores` without the optimism: the threshold is chosen on a
    random part of the people and the bound computed on the rest.

    Members and non-members are each shuffled with ``numpy.random.default_rng(seed)`` and
    split, a ``fraction`` of each class (at least one person, at most all but one) going
    to the selection part. The threshold with the best ``epsilon_lower`` on the selection
    part is then evaluated once on the evaluation part, so the evaluation's confidence is
    the stated one. Each class needs at least two people.

    Returns the evaluation's dict (``threshold_chosen_on_these_data`` False) plus
    ``selection_epsilon_lower`` (the optimistic bound on the selection part), ``seed``,
    ``n_selection`` and ``n_evaluation``."""
    scores, labels = _scores_and_labels(scores, labels)
    delta, level = _check_delta(delta), _check_open_unit("level", level)
    fraction = _check_open_unit("fraction", fraction)
    rng = np.random.default_rng(seed)
    chosen = np.zeros(scores.size, dtype=bool)
    for cls in (True, False):
        where = np.flatnonzero(labels == cls)
        take = _selection_size(where.size, fraction, "members" if cls else "non-members")
        chosen[rng.permutation(where)[:take]] = True
    selection = _sweep(scores[chosen], labels[chosen], delta, level, None)
    out = _sweep(scores[~chosen], labels[~chosen], delta, level, selection["threshold"])
    out.update(selection_epsilon_lower=selection["epsilon_lower"], seed=seed,
               n_selection=int(chosen.sum()), n_evaluation=int((~chosen).sum()))
    return out


def split_epsilon_ceiling(n_members: int, n_non_members: int, delta: float = 0.0, level: float = 0.975,
                          fraction: float = 0.5) -> float:
    """The largest bound :func:`split_epsilon` can ever return with these numbers of
    people: the ceiling of the check.

    :func:`split_epsilon` evaluates its threshold on the evaluation part only -- of each
    class, the people not put in the selection part (``fraction`` of them, at least one,
    at most all but one; the sizes :func:`split_epsilon` uses). The bound of
    :func:`empirical_epsilon` grows with the true positives and shrinks with the false
    positives (``TPR_low`` rises with ``tp``, ``FPR_high`` with ``fp``; ``TNR_low`` and
    ``1 / FNR_high`` likewise), so it is largest for a perfect attack: every evaluated
    member at or above the threshold, no evaluated non-member. (A score that separates
    members from non-members perfectly but spreads them need not reach it: the threshold
    is the selection part's lowest member score, and an evaluated member can fall below
    it.) With ``n`` evaluated people in
    each class and delta = 0 that is ``logit((1 - level)^(1/n))``; 122 members against
    122 non-members (61 and 61 evaluated) at ``level`` 0.975 cannot prove more than
    ``log(0.025^(1/61) / (1 - 0.025^(1/61)))`` = 2.775, whatever the attack.

    A check whose ceiling is below the epsilon it would need to reach (the accountant's,
    say) can come out neither way at this scale: read it as "cannot be told", not as
    "the guarantee holds". Pass the level actually used per attack (after a Bonferroni
    correction, :func:`split_epsilon_best`'s ``level_per_attack``)."""
    n_members, n_non_members = _check_count("n_members", n_members), _check_count("n_non_members", n_non_members)
    delta, level = _check_delta(delta), _check_open_unit("level", level)
    fraction = _check_open_unit("fraction", fraction)
    evaluated_members = n_members - _selection_size(n_members, fraction, "members")
    evaluated_non_members = n_non_members - _selection_size(n_non_members, fraction, "non-members")
    return empirical_epsilon(tp=evaluated_members, fn=0, fp=0, tn=evaluated_non_members, delta=delta,
                             level=level)["epsilon_lower"]


def split_epsilon_best(scores: Mapping[str, Any], labels: Any, seed: int, delta: float = 0.0,
                       level: float = 0.975, fraction: float = 0.5) -> dict[str, Any]:
    """:func:`split_epsilon` for several attacks on the same people, the best one kept
    and paid for.

    Each attack's bound holds with probability at least ``2 * level - 1`` (two one-sided
    Clopper-Pearson bounds, see :func:`empirical_epsilon`); the *largest* of ``K`` such
    bounds exceeds the truth whenever any one of them does, which can be up to ``K``
    times as likely. So every attack is bounded at the Bonferroni level ``1 - (1 - level)
    / K`` (``level_per_attack``): the probability that any of the ``K`` bounds overstates
    epsilon is then at most ``K * 2 (1 - level) / K = 2 (1 - level)``, and the best bound
    keeps the stated ``confidence`` ``2 * level - 1`` (Bonferroni's inequality needs no
    independence between the attacks; it is conservative when they agree). Every attack
    uses the same split (``seed``), the people an attack chooses its threshold on are
    never the ones it is evaluated on.

    ``scores`` maps attack names to one score per person (higher = more likely a member);
    ``labels``: 1 for members, 0 for non-members. Among attacks with the same bound the
    first in ``scores``' order is reported.

    Returns ``attack`` (the best), ``epsilon_lower`` (its corrected bound), ``best`` (its
    :func:`split_epsilon` dict), ``rows`` (per attack: ``attack``, ``epsilon_lower`` at
    ``level_per_attack``, ``epsilon_lower_uncorrected`` at ``level``, valid only for an
    attack fixed in advance), ``n_attacks``, ``level``, ``level_per_attack``,
    ``confidence``, ``delta``, ``seed`` and ``ceiling`` (:func:`split_epsilon_ceiling` at
    ``level_per_attack``: what a perfect attack would prove here)."""
    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("scores must be a non-empty mapping of attack name -> scores")
    checked = {name: _check_scores(f"scores[{name!r}]", value) for name, value in scores.items()}
    sizes = {value.size for value in checked.values()}
    if len(sizes) != 1:
        raise ValueError(f"scores: the attacks score different numbers of people ({sorted(sizes)})")
    first = next(iter(checked.values()))
    _, labels = _scores_and_labels(first, labels)
    delta, level = _check_delta(delta), _check_open_unit("level", level)
    per_attack = 1.0 - (1.0 - level) / len(checked)
    rows, results = [], {}
    for name, value in checked.items():
        results[name] = split_epsilon(value, labels, seed=seed, delta=delta, level=per_attack, fraction=fraction)
        uncorrected = split_epsilon(value, labels, seed=seed, delta=delta, level=level, fraction=fraction)
        rows.append({"attack": name, "epsilon_lower": results[name]["epsilon_lower"],
                     "epsilon_lower_uncorrected": uncorrected["epsilon_lower"]})
    best = max(rows, key=lambda row: row["epsilon_lower"])  # the first among ties
    return {"attack": best["attack"], "epsilon_lower": best["epsilon_lower"], "best": results[best["attack"]],
            "rows": rows, "n_attacks": len(checked), "level": level, "level_per_attack": per_attack,
            "confidence": max(0.0, 2 * level - 1), "delta": delta, "seed": seed,
            "ceiling": split_epsilon_ceiling(int(labels.sum()), int((~labels).sum()), delta, per_attack, fraction)}


# --------------------------------------------------------------------------------------
# The one-run audit (Steinke, Nasr & Jagielski 2023)
# --------------------------------------------------------------------------------------

def one_run_guesses(scores: Any, included: Any, k_pos: int, k_neg: int) -> tuple[int, int]:
    """The one-run auditor's guesses and how many are right: ``(r, v)``.

    ``scores``: one per canary, higher = more likely included; ``included``: whether each
    canary was in training (1/0 or booleans, drawn independently with probability 1/2).
    The ``k_pos`` highest scores are guessed "included", the ``k_neg`` lowest "excluded",
    the rest abstained on; ``r = k_pos + k_neg``, ``v`` = right guesses. Ties are broken by
    position (a stable sort), which is independent of inclusion as long as the canaries'
    order was fixed before the coins were drawn."""
    scores = _check_scores("scores", scores)
    included = _check_binary("included", included, scores.size)
    k_pos, k_neg = _check_count("k_pos", k_pos), _check_count("k_neg", k_neg)
    if k_pos + k_neg > scores.size:
        raise ValueError(f"k_pos + k_neg = {k_pos} + {k_neg} exceeds the m = {scores.size} canaries")
    order = np.argsort(-scores, kind="stable")  # highest first
    right = int(included[order[:k_pos]].sum())
    right += int((~included[order[scores.size - k_neg:]]).sum()) if k_neg else 0
    return k_pos + k_neg, right


def _check_guesses(r: Any, v: Any, m: Any) -> tuple[int, int, int | None]:
    r, v = _check_count("r", r), _check_count("v", v)
    if v > r:
        raise ValueError(f"v={v} correct guesses exceed the r={r} guesses")
    if m is not None:
        m = _check_count("m", m)
        if r > m:
            raise ValueError(f"m={m} canaries cannot give r={r} guesses")
    return r, v, m


def _p_value(r: int, v: int, m: int, epsilon: float, delta: float) -> float:
    q = special.expit(epsilon)  # the accuracy of epsilon-DP randomised response
    tail = float(stats.binom.sf(v - 1, r, q))  # P[W >= v]
    if delta == 0.0 or v == 0:
        return min(tail, 1.0)
    # P[v - i <= W < v] for i = 1..v: cumulative sums of P[W = v - 1], P[W = v - 2], ...
    window = np.cumsum(stats.binom.pmf(np.arange(v - 1, -1, -1), r, q))
    alpha = float(np.max(window / np.arange(1, v + 1)))
    return min(tail + 2.0 * m * delta * alpha, 1.0)


def one_run_p_value(r: int, v: int, epsilon: float, delta: float = 0.0, m: int | None = None) -> float:
    """The p-value of "training is (epsilon, delta)-DP" after ``v`` right of ``r`` guesses
    on ``m`` canaries (Steinke, Nasr & Jagielski 2023, Theorem 3 / Appendix D):

        P[W >= v] + 2 * m * delta * max_{i = 1..v} (1 / i) * P[v - i <= W < v],
        W ~ Binomial(r, e^epsilon / (1 + e^epsilon)),

    capped at 1; the delta term is absent for delta = 0. ``m`` -- all canaries, the
    abstained-on included -- is needed when delta > 0."""
    r, v, m = _check_guesses(r, v, m)
    delta = _check_delta(delta)
    if not epsilon >= 0:
        raise ValueError(f"epsilon={epsilon!r} must be a non-negative number")
    if delta > 0 and m is None:
        raise ValueError("m (the number of canaries) is needed when delta > 0")
    return _p_value(r, v, m or 0, float(epsilon), delta)


def one_run_epsilon(r: int, v: int, delta: float = 0.0, beta: float = 0.05, m: int | None = None) -> float:
    """The one-run audit's lower bound on epsilon: the largest epsilon whose
    :func:`one_run_p_value` is at most ``beta``.

    With probability at least ``1 - beta`` over the canaries' coins and training,
    training is not (epsilon', delta)-DP for any epsilon' below the returned value. 0 when
    even epsilon = 0 is not rejected (e.g. ``v <= r / 2`` at usual ``beta``).

    For delta = 0 the p-value ``P[Binomial(r, q) >= v]`` increases strictly with ``q``,
    hence with epsilon, and all ``v = r`` right has a closed form:
    ``q^r = beta``, epsilon = ``log(q / (1 - q))`` with ``q = beta^(1/r)`` (r = 100,
    beta = 0.05: 3.4930). The delta term is not obviously monotone, so the search takes
    the *first* crossing: the p-value is evaluated on a grid from 0 and the first interval
    where it exceeds ``beta`` is bisected -- the bound is then valid even where the
    p-value were to dip again later.

    ``m`` (all canaries) is required for delta > 0 and must be at least ``r``; the delta
    term grows with it (2 m delta), so passing ``r`` for ``m`` would overstate the bound."""
    r, v, m = _check_guesses(r, v, m)
    delta, beta = _check_delta(delta), _check_open_unit("beta", beta)
    if delta > 0 and m is None:
        raise ValueError("m (the number of canaries, abstentions included) is needed when delta > 0")
    m = m or 0

    def rejected(epsilon: float) -> bool:
        return _p_value(r, v, m, epsilon, delta) <= beta

    if not rejected(0.0):
        return 0.0
    high = 1.0
    while rejected(high):
        if high >= _EPSILON_CEILING:
            return math.inf  # cannot happen for beta < 1 (q rounds to 1 first); kept for safety
        high *= 2.0
    grid = np.linspace(0.0, high, _GRID_POINTS + 1)
    first = next(i for i, epsilon in enumerate(grid) if not rejected(epsilon))
    low, high = float(grid[first - 1]), float(grid[first])
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        low, high = (middle, high) if rejected(middle) else (low, middle)
    return low


def one_run_audit(scores: Any, included: Any, delta: float = 0.0, beta: float = 0.05,
                  k_values: Sequence[tuple[int, int]] = ()) -> dict[str, Any]:
    """The one-run audit for several choices of ``(k_pos, k_neg)``, with the choice paid
    for.

    Each choice in ``k_values`` gives ``(r, v)`` (:func:`one_run_guesses`) and a bound
    (:func:`one_run_epsilon`, with ``m = len(scores)``). Keeping the best of ``K`` choices
    is a choice made on the data (Steinke et al. note that picking ``k`` afterwards is
    not covered by the theorem), so every choice is tested at ``beta / K`` (Bonferroni):
    then the probability that *any* of them overstates epsilon is at most ``beta``, and
    ``epsilon`` -- the best corrected bound -- holds with confidence ``1 - beta``. Each
    row also shows ``epsilon_uncorrected`` (at ``beta``), valid only for a choice fixed in
    advance.

    Returns ``epsilon``, ``best`` (its row), ``rows`` (``k_pos``, ``k_neg``, ``r``,
    ``v``, ``epsilon``, ``epsilon_uncorrected``), ``m``, ``delta``, ``beta`` and
    ``beta_per_choice``."""
    scores = _check_scores("scores", scores)
    delta, beta = _check_delta(delta), _check_open_unit("beta", beta)
    choices = [tuple(pair) for pair in k_values]
    if not choices or any(len(pair) != 2 for pair in choices):
        raise ValueError(f"k_values={k_values!r} must be a non-empty sequence of (k_pos, k_neg) pairs")
    m, per_choice = scores.size, beta / len(choices)
    rows = []
    for k_pos, k_neg in choices:
        r, v = one_run_guesses(scores, included, k_pos, k_neg)
        rows.append({"k_pos": int(k_pos), "k_neg": int(k_neg), "r": r, "v": v,
                     "epsilon": one_run_epsilon(r, v, delta, per_choice, m),
                     "epsilon_uncorrected": one_run_epsilon(r, v, delta, beta, m)})
    best = max(rows, key=lambda row: row["epsilon"])
    return {"epsilon": best["epsilon"], "best": best, "rows": rows, "m": m, "delta": delta,
            "beta": beta, "beta_per_choice": per_choice}


def one_run_ceiling(m: int, k_values: Sequence[tuple[int, int]], delta: float = 0.0,
                    beta: float = 0.05) -> float:
    """The largest bound :func:`one_run_audit` can return with ``m`` canaries and these
    ``(k_pos, k_neg)`` choices: the ceiling of the one-run check.

    The bound of one choice grows with the right guesses ``v`` (fewer right guesses make
    the observation likelier under any epsilon), so it is largest when all ``r = k_pos +
    k_neg`` are right; :func:`one_run_audit` tests each of the ``K`` choices at
    ``beta / K`` and keeps the best, so the ceiling is the largest
    ``one_run_epsilon(r, r, delta, beta / K, m)`` over the choices. For delta = 0 it has
    the closed form ``logit((beta / K)^(1/r))`` at the largest ``r``: ``m`` = 200 and
    choices (10, 10), (20, 20), (50, 50) give ``r`` = 100 and ``logit((0.05 / 3)^(1/100))``
    = 3.17. A one-run audit whose ceiling is below the accountant's epsilon cannot tell
    whether the guarantee is tight at this scale, however strong the attack."""
    m = _check_count("m", m)
    delta, beta = _check_delta(delta), _check_open_unit("beta", beta)
    choices = [tuple(pair) for pair in k_values]
    if not choices or any(len(pair) != 2 for pair in choices):
        raise ValueError(f"k_values={k_values!r} must be a non-empty sequence of (k_pos, k_neg) pairs")
    guesses = set()
    for k_pos, k_neg in choices:
        k_pos, k_neg = _check_count("k_pos", k_pos), _check_count("k_neg", k_neg)
        if k_pos + k_neg > m:
            raise ValueError(f"k_pos + k_neg = {k_pos} + {k_neg} exceeds the m = {m} canaries")
        guesses.add(k_pos + k_neg)
    per_choice = beta / len(choices)
    return max(one_run_epsilon(r, r, delta, per_choice, m) for r in sorted(guesses))


# --------------------------------------------------------------------------------------
# Exposure (Carlini et al. 2019)
# --------------------------------------------------------------------------------------

def exposure(canary_rank: int, n_candidates: int) -> float:
    """The exposure of a canary ranked ``canary_rank`` among ``n_candidates`` (Carlini
    et al. 2019): ``log2(n_candidates) - log2(canary_rank)`` bits, rank 1 being the most
    likely candidate. 10 bits for rank 1 of 2^10; 0 for the last."""
    n_candidates = _check_count("n_candidates", n_candidates)
    canary_rank = _check_count("canary_rank", canary_rank)
    if n_candidates < 1:
        raise ValueError(f"n_candidates={n_candidates} must be at least 1")
    if not 1 <= canary_rank <= n_candidates:
        raise ValueError(f"canary_rank={canary_rank} must lie in 1..n_candidates={n_candidates}")
    return math.log2(n_candidates) - math.log2(canary_rank)


def exposure_from_scores(canary_score: float, reference_scores: Any,
                         n_candidates: int | None = None) -> dict[str, float]:
    """The exposure of a canary from its score and the scores of other candidates.

    **Convention: higher score = more likely** (a log-likelihood; pass a loss or a
    log-perplexity negated), as everywhere in this module. The canary's rank is one plus
    the number of references scoring strictly higher; ties count in the canary's favour,
    which overstates exposure rather than understating it.

    With ``n_candidates`` None, the references are *all* the other candidates:
    ``|R| = len(reference_scores) + 1`` and the rank is exact. Otherwise they are a
    uniform sample from a candidate space of ``n_candidates`` (the canary's included), and
    the rank is estimated as ``1 + (n_candidates - 1) * (fraction of references scoring
    higher)`` -- Carlini et al.'s estimate by sampling, which cannot resolve exposures
    above about ``log2(len(reference_scores))`` bits (no reference higher gives rank 1).

    Returns ``exposure``, ``rank`` (a float when estimated), ``n_candidates`` and
    ``n_higher``."""
    references = _check_scores("reference_scores", reference_scores)
    canary_score = float(canary_score)
    if not math.isfinite(canary_score):
        raise ValueError(f"canary_score={canary_score!r} must be a finite number")
    higher = int(np.sum(references > canary_score))
    if n_candidates is None:
        size, rank = references.size + 1, float(higher + 1)
    else:
        size = _check_count("n_candidates", n_candidates)
        if size < 2:
            raise ValueError(f"n_candidates={size} must be at least 2 (the canary and one other)")
        rank = 1.0 + (size - 1) * higher / references.size
    return {"exposure": math.log2(size) - math.log2(rank), "rank": rank, "n_candidates": size,
            "n_higher": higher}
