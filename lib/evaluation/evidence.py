"""Standards of evidence: what a finding of the book rests on and how its verdict is read.

A claim about a *setting* (a model family trained at one ε) rests on several models of that
setting, one per **training seed**: each has its own initial weights, Poisson batches and
noise, while the people (the split) stay the same. Every metric of one model comes with a
bootstrap interval over the people (or sites) it is computed on; that interval says nothing
about the luck of the model's training. This module combines the two, compares settings with
a correction for the number of comparisons, reads verdicts by printed rules, and computes the
ceiling of a check (the largest value its sample can prove).

* :class:`Estimate` and :func:`seed_estimate` -- a setting's metric as the mean over its seeds
  with an interval that carries both sources of uncertainty:

      mean ± sqrt( (t_{n-1} · s / √n)²  +  (z · h̄ / 1.96)² )

  where ``s`` is the seed-to-seed standard deviation of the n per-model values (training
  randomness: it shrinks as seeds are added), ``h̄`` the mean half-width of the per-model 95%
  bootstrap intervals (the people the models are evaluated on: every seed is evaluated on the
  same holdout, so this part does not shrink with more seeds and is not divided by √n), and
  ``t_{n-1}``, ``z`` the Student and normal quantiles of the interval's level. With one seed
  only the bootstrap part is left (and the estimate says ``n = 1``); a metric computed without
  a bootstrap interval has only the seed part.
* :func:`compare` -- two estimates, one difference, an interval for it at a Bonferroni-corrected
  level, and one of :data:`OUTCOMES`.
* :class:`Claim` -- a verdict (:data:`VERDICTS`) with the rule that produced it (printed beside
  it), the evidence, and the check's ceiling where it has one.

Nothing here knows about genomes or models: the chapters hand it numbers.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

#: The verdicts a claim can get. "holds in part": some of a claim's comparisons hold and some
#: do not; "cannot be told at this scale": the numbers cannot decide (intervals overlap, or
#: the check's ceiling is below what it would have to prove); "cannot be tested here": the run
#: is built so that the claim's comparison does not exist (e.g. both families the same size).
VERDICTS = ("holds", "holds in part", "does not hold", "cannot be told at this scale", "cannot be tested here",
            "cannot be told")
#: The outcomes of one comparison of two estimates (:func:`compare`).
OUTCOMES = ("better", "worse", "equivalent", "indistinguishable")
#: The level of every interval of the book.
LEVEL = 0.95
_Z95 = stats.norm.ppf(0.975)


@dataclass(frozen=True)
class Estimate:
    """A setting's metric over its training seeds: ``value`` (the mean over seeds), ``low``
    and ``high`` (the seed-level interval at ``level``), ``n`` (seeds), ``sd`` (seed-to-seed
    standard deviation, NaN for one seed), ``boot_half`` (mean half-width of the per-model
    95% bootstrap intervals, NaN where none was computed) and ``values`` (one per seed)."""

    value: float
    low: float
    high: float
    n: int
    sd: float = float("nan")
    boot_half: float = float("nan")
    values: tuple[float, ...] = field(default_factory=tuple)
    level: float = LEVEL

    def half_width(self, level: float | None = None) -> float:
        """The interval's half-width at ``level`` (default: its own)."""
        return _half_width(self.n, self.sd, self.boot_half, self.level if level is None else level)

    def interval(self, level: float | None = None) -> tuple[float, float]:
        half = self.half_width(level)
        return self.value - half, self.value + half

    def text(self, digits: int = 3) -> str:
        """``0.912 [0.884, 0.940]`` (``(1 seed)`` where only one model stands behind it)."""
        if self.value != self.value:
            return "–"
        out = f"{self.value:.{digits}f}"
        if self.low == self.low and self.high == self.high:
            out += f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        return out

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["values"] = list(self.values)
        return out

    def columns(self) -> dict[str, Any]:
        """What a seed-level table keeps of it beside the value and interval: ``n_seeds``,
        ``seed_sd``, ``boot_half`` and ``seed_values`` (every seed's value, as text)."""
        return {"n_seeds": self.n, "seed_sd": self.sd, "boot_half": self.boot_half,
                "seed_values": " ".join(f"{v:.6g}" for v in self.values)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any], value: str = "value", low: str = "low",
                 high: str = "high") -> "Estimate":
        """An estimate read back from a row of a seed-level table (:meth:`columns`, with the
        value and interval in the columns named ``value``, ``low``, ``high``)."""
        text = row["seed_values"] if isinstance(row["seed_values"], str) else ""
        return cls(float(row[value]), float(row[low]), float(row[high]), int(row["n_seeds"]), float(row["seed_sd"]),
                   float(row["boot_half"]), tuple(float(v) for v in text.split()) if text else ())


def _half_width(n: int, sd: float, boot_half: float, level: float) -> float:
    seed_part = 0.0
    if n >= 2 and sd == sd:
        seed_part = stats.t.ppf((1 + level) / 2, n - 1) * sd / math.sqrt(n)
    boot_part = boot_half * stats.norm.ppf((1 + level) / 2) / _Z95 if boot_half == boot_half else 0.0
    if n < 2 and boot_half != boot_half:
        return float("nan")
    return float(math.hypot(seed_part, boot_part))


def seed_estimate(values: Sequence[float], lows: Sequence[float] | None = None,
                  highs: Sequence[float] | None = None, level: float = LEVEL) -> Estimate:
    """The :class:`Estimate` of one setting from its models' ``values`` (one per training
    seed) and, where computed, their per-model 95% bootstrap intervals ``lows`` and
    ``highs`` (the interval formula is the module docstring's). NaN values are left out;
    with none left the estimate is NaN."""
    values = np.asarray(values, dtype=float)
    lows = np.full(len(values), np.nan) if lows is None else np.asarray(lows, dtype=float)
    highs = np.full(len(values), np.nan) if highs is None else np.asarray(highs, dtype=float)
    if not (len(values) == len(lows) == len(highs)):
        raise ValueError(f"{len(values)} values but {len(lows)} lows and {len(highs)} highs")
    keep = ~np.isnan(values)
    values, lows, highs = values[keep], lows[keep], highs[keep]
    if not len(values):
        return Estimate(float("nan"), float("nan"), float("nan"), 0, level=level)
    n = len(values)
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n >= 2 else float("nan")
    halves = (highs - lows) / 2
    halves = halves[~np.isnan(halves)]
    boot_half = float(halves.mean()) if len(halves) else float("nan")
    half = _half_width(n, sd, boot_half, level)
    if half != half:  # one model and no bootstrap interval: a number without an interval
        return Estimate(mean, float("nan"), float("nan"), n, sd, boot_half, tuple(map(float, values)), level)
    return Estimate(mean, mean - half, mean + half, n, sd, boot_half, tuple(map(float, values)), level)


def interval_rule(level: float = LEVEL) -> str:
    """How a seed-level interval is built, in words (printed beside the tables)."""
    return (f"mean over the training seeds ± the root sum of squares of t(n−1) × seed-to-seed SD / √n (training "
            f"randomness) and the mean half-width of the per-model bootstrap intervals (the people every seed is "
            f"evaluated on; not divided by √n), at {level:.0%}")


def bonferroni(m: int, level: float = LEVEL) -> float:
    """The level of each of ``m`` intervals so that all hold together at ``level``."""
    if m < 1:
        raise ValueError(f"m={m}: at least one comparison")
    return 1 - (1 - level) / m


def compare(a: Estimate, b: Estimate, sense: str = "high", level: float = LEVEL,
            margin: float | None = None) -> dict[str, Any]:
    """Setting ``a`` against setting ``b`` on one metric: the difference of their means, its
    interval at ``level`` (the two half-widths combined in quadrature: conservative, since
    both are evaluated on the same people) and the outcome:

    * ``"better"`` / ``"worse"``: the interval lies wholly on one side of 0, read by ``sense``
      (``"high"``: higher is better; ``"low"``: lower is better);
    * ``"equivalent"``: ``margin`` given and the interval lies within ±``margin``;
    * ``"indistinguishable"``: anything else, or either estimate without an interval.

    Pass a Bonferroni level (:func:`bonferroni`) when many comparisons decide one verdict."""
    if sense not in ("high", "low"):
        raise ValueError(f"sense={sense!r}: 'high' or 'low'")
    diff = a.value - b.value
    half = math.hypot(a.half_width(level), b.half_width(level))
    low, high = diff - half, diff + half
    if half != half or diff != diff:
        outcome = "indistinguishable"
    elif low > 0 or high < 0:
        outcome = "better" if (low > 0) == (sense == "high") else "worse"
    elif margin is not None and -margin < low and high < margin:
        outcome = "equivalent"
    else:
        outcome = "indistinguishable"
    return {"difference": diff, "low": low, "high": high, "level": level, "outcome": outcome}


def distance_from(estimate: Estimate, target: float) -> Estimate:
    """An estimate of how far a metric is from ``target`` (0.5 for a two-sample AUC or AATS,
    the real people's value for "as the real people" metrics): |value − target| with the same
    half-width. Exact while the interval does not contain ``target``; near it, conservative
    (a smaller distance cannot be told from 0)."""
    values = tuple(abs(v - target) for v in estimate.values)
    value = abs(estimate.value - target)
    half = estimate.half_width()
    return Estimate(value, value - half, value + half, estimate.n, estimate.sd, estimate.boot_half, values,
                    estimate.level)


@dataclass
class Claim:
    """One finding: the ``claim`` (in the dissertation's words), its ``verdict`` (one of
    :data:`VERDICTS`), the ``rule`` that reads the verdict from the numbers (printed beside
    it), the ``evidence`` (the numbers with their intervals) and, for a check that can only
    prove so much, its ``ceiling`` in words (empty otherwise)."""

    claim: str
    verdict: str
    rule: str
    evidence: str
    ceiling: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r}: choose one of {VERDICTS}")

    def sentence(self) -> str:
        """The verdict and evidence as the chapters write them: "it holds here: ..."."""
        lead = f"it {self.verdict}" if self.verdict.startswith("cannot") else f"it {self.verdict} here"
        return f"{lead}: {self.evidence}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def tally(outcomes: Iterable[str]) -> dict[str, int]:
    """How many comparisons came out each way (every :data:`OUTCOMES` key present)."""
    out = dict.fromkeys(OUTCOMES, 0)
    for outcome in outcomes:
        if outcome not in out:
            raise ValueError(f"outcome {outcome!r}: choose one of {OUTCOMES}")
        out[outcome] += 1
    return out


def majority_verdict(counts: Mapping[str, int]) -> str:
    """The verdict of a claim that a change makes things *better*, from its comparisons'
    :func:`tally` (the rule :data:`MAJORITY_RULE` prints): "holds" when at least half of
    the comparisons are better and none is worse; "does not hold" when at least one is
    worse and no more are better than worse, or when at least half are equivalent and
    none is better; "cannot be told at this scale" otherwise."""
    m = sum(counts.values())
    better, worse, equivalent = counts.get("better", 0), counts.get("worse", 0), counts.get("equivalent", 0)
    if m and better * 2 >= m and worse == 0:
        return "holds"
    if (worse and better <= worse) or (m and equivalent * 2 >= m and better == 0):
        return "does not hold"
    return "cannot be told at this scale"


MAJORITY_RULE = ("holds when at least half of the comparisons are better and none is worse; does not hold when "
                 "at least one is worse and no more are better than worse (or at least half are equivalent and none "
                 "better); otherwise cannot be told at this scale")


def claim_sentence(verdict: str, evidence_text: str) -> str:
    """A claim's verdict and evidence as the chapters' sentence: "it holds here: ..."."""
    return Claim("", verdict, "", evidence_text).sentence()


def untold(make: Any, claim: str) -> dict[str, str]:
    """``make()``'s claim record, or, when the run lacks a number the claim needs (a
    KeyError naming it: a restricted ``cohorts`` list, a profile without a family), the
    claim as "cannot be told" saying what is missing."""
    try:
        return make().as_dict()
    except KeyError as missing:
        return Claim(claim, "cannot be told", "the claim's rule needs numbers this run lacks",
                              f"the run lacks {missing.args[0]}").as_dict()
