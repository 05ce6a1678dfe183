"""What a tokenizer's vocabulary discloses about the people it was learned from.

DP-SGD protects the weights of a model, not its tokenizer. A BPE vocabulary learned from
the members' profiles has a merge for every character sequence frequent *in the members'
text*: in sparse profiles, a site appears only when somebody carries it, so with a budget of
a few thousand ids the trainer ends up merging the digits of positions that only one or two
members carry. Publishing the tokenizer with the model then says "somebody in the training
set carries a variant at 22:X" — for a rare variant, nearly a name.

The measurement, using only the vocabulary, follows the definition of differential
privacy: compare what a recipe builds from a cohort *with* some members and *without*
them (:func:`compare_vocabularies`).

1. **Specific tokens**: the tokens of the tokenizer built with the candidate members (a
   seeded half of the training split) that the same recipe, run on the same cohort without
   them, does not produce. What the rest of the cohort brings is learned by both; what only
   the candidates brought in is specific.
2. **Disclosure**: of the rare sites (carrier fraction below ``max_carrier_fraction``)
   carried only by candidates, how many have their position digits inside a specific token
   -- beside the same rate for rare sites carried only by holdout people (in neither build:
   the false-positive baseline).
3. **Membership test**: score each person by the number of their rare records whose
   position is inside a specific token, and compare the candidates with the holdout
   non-members (drawn from one pool by :func:`lib.genomes.splits.make_splits`) by the AUC, with a
   bootstrap confidence interval.

A recipe that reads public information only -- the variant tokenizer of a panel chosen from
public information (:mod:`lib.genomes.panel`), BPE learned on the public people -- builds the same
vocabulary with and without the candidates; the comparison shows it from two real builds,
and the tests of :mod:`lib.ch01_data` show that the panel itself is the same, byte for
byte, for two cohorts that differ in one member.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import tokenization as tk
from ..core import scoring

_DIGITS = re.compile(r"\d+")


def position(record_or_site: str) -> str:
    """The position digits of ``22:POS:REF>ALT[_GT]``."""
    return record_or_site.split(":", 2)[1]


def site(record: str) -> str:
    """``22:POS:REF>ALT`` of a record."""
    return record.rsplit("_", 1)[0]


def specific_tokens(vocabulary: Iterable[str], reference: Iterable[str]) -> set[str]:
    """Tokens of ``vocabulary`` (token texts) absent from ``reference``."""
    return set(vocabulary) - set(reference)


def covered_positions(tokens: Iterable[str], min_digits: int = 4) -> set[str]:
    """Every digit string of at least ``min_digits`` digits that lies inside a token: a
    position is *covered* when its full digit string is one of these."""
    covered: set[str] = set()
    for token in tokens:
        for run in _DIGITS.findall(token):
            for i in range(len(run)):
                for j in range(i + min_digits, len(run) + 1):
                    covered.add(run[i:j])
    return covered


def carriers(samples: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """Site -> the samples whose (sparse) profile lists it."""
    out: dict[str, set[str]] = {}
    for sample, records in samples.items():
        for record in records:
            out.setdefault(site(record), set()).add(sample)
    return out


def rare_sites(site_carriers: Mapping[str, set[str]], n_samples: int,
               max_carrier_fraction: float = 0.05) -> set[str]:
    """Sites carried by at least one and at most ``max_carrier_fraction`` of the samples."""
    return {s for s, who in site_carriers.items() if 0 < len(who) <= max_carrier_fraction * n_samples}


def disclosure(specific: Iterable[str], samples: Mapping[str, Sequence[str]], splits: Mapping[str, Sequence[str]],
               max_carrier_fraction: float = 0.05) -> pd.DataFrame:
    """Rare sites carried only by members (``train``) or only by non-members (``holdout``),
    and how many of each have their position inside a specific token.

    ``samples`` maps every person of the cohort to their sparse records; ``splits`` holds
    the two groups, ``train`` (the candidate members) and ``holdout``.
    """
    who = carriers(samples)
    rare = rare_sites(who, len(samples), max_carrier_fraction)
    covered = covered_positions(specific)
    rows = []
    for group in ("train", "holdout"):
        inside = set(splits[group])
        only = [s for s in rare if who[s] <= inside]
        hit = sum(position(s) in covered for s in only)
        rows.append({"carried only by": "candidate members" if group == "train" else "non-members (holdout)",
                     "rare sites": len(only), "position in a specific token": hit,
                     "fraction": hit / len(only) if only else float("nan")})
    return pd.DataFrame(rows)


def membership_scores(specific: Iterable[str], candidates: Sequence[Sequence[str]], rare: set[str]) -> np.ndarray:
    """Per candidate: the number of its rare records whose position is in a specific token."""
    covered = covered_positions(specific)
    return np.array([sum(site(r) in rare and position(r) in covered for r in records) for records in candidates],
                    dtype=float)


def auc(members: Sequence[float], non_members: Sequence[float]) -> float:
    """P(member score > non-member score) + 0.5 P(equal): the Mann-Whitney AUC (0.5 = chance)."""
    m, n = np.asarray(members, float), np.asarray(non_members, float)
    if len(m) == 0 or len(n) == 0:
        raise ValueError("auc needs at least one member and one non-member score")
    return scoring.roc_auc(np.r_[np.ones(len(m)), np.zeros(len(n))], np.r_[m, n])


def bootstrap_auc(members: Sequence[float], non_members: Sequence[float], n_boot: int = 1000,
                  seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """The AUC and a percentile bootstrap interval (members and non-members resampled separately)."""
    m, n = np.asarray(members, float), np.asarray(non_members, float)
    rng = np.random.default_rng(seed)
    boots = [auc(rng.choice(m, len(m)), rng.choice(n, len(n))) for _ in range(n_boot)]
    lo, hi = np.quantile(boots, [(1 - level) / 2, 1 - (1 - level) / 2])
    return auc(m, n), float(lo), float(hi)


def membership_test(specific: Iterable[str], samples: Mapping[str, Sequence[str]],
                    splits: Mapping[str, Sequence[str]], max_carrier_fraction: float = 0.05,
                    n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """The vocabulary-only membership test: members (train) against non-members (holdout)."""
    rare = rare_sites(carriers(samples), len(samples), max_carrier_fraction)
    specific = set(specific)
    scores = {g: membership_scores(specific, [samples[s] for s in splits[g]], rare) for g in ("train", "holdout")}
    value, lo, hi = bootstrap_auc(scores["train"], scores["holdout"], n_boot=n_boot, seed=seed)
    return {"auc": value, "ci_low": lo, "ci_high": hi, "n_members": len(scores["train"]),
            "n_non_members": len(scores["holdout"]), "mean_member_score": float(scores["train"].mean()),
            "mean_non_member_score": float(scores["holdout"].mean()), "n_specific_tokens": len(specific)}


RESULT_COLUMNS = ["tokenizer", "identical", "auc", "ci_low", "ci_high", "n_members", "n_non_members",
                  "mean_member_score", "mean_non_member_score", "n_specific_tokens"]
TABLE_COLUMNS = ["tokenizer", "carried only by", "rare sites", "position in a specific token", "fraction"]


def vocabulary_attack(with_candidates, without_candidates, samples: Mapping[str, Sequence[str]],
                      groups: Mapping[str, Sequence[str]], max_carrier_fraction: float = 0.05,
                      n_boot: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, dict[str, float]]:
    """:func:`disclosure` and :func:`membership_test` of the tokens that a tokenizer built
    *with* the candidate members has and the same recipe built *without* them lacks; both
    are judged by their vocabularies alone (:func:`lib.lm.tokenization.vocabulary_strings`).
    ``groups``: ``train`` (the candidate members) and ``holdout`` (the non-members)."""
    specific = specific_tokens(tk.vocabulary_strings(with_candidates), tk.vocabulary_strings(without_candidates))
    table = disclosure(specific, samples, groups, max_carrier_fraction)
    test = membership_test(specific, samples, groups, max_carrier_fraction, n_boot=n_boot, seed=seed)
    return table, test


def candidate_members(splits: Mapping[str, Sequence[str]], fraction: float = 0.5, seed: int = 0) -> list[str]:
    """The members whose membership the comparison tests: a seeded ``fraction`` of the
    training split (in the split's order); the rest stay in both builds."""
    members = list(splits["train"])
    n = max(1, int(round(len(members) * fraction)))
    chosen = set(np.random.default_rng(seed).choice(len(members), size=min(n, len(members) - 1), replace=False))
    return [s for i, s in enumerate(members) if i in chosen]


def compare_vocabularies(recipes: Mapping[str, Callable[[Mapping[str, Sequence[str]]], object]],
                         samples: Mapping[str, Sequence[str]], splits: Mapping[str, Sequence[str]],
                         seed: int = 0, n_boot: int = 1000, max_carrier_fraction: float = 0.05,
                         candidate_fraction: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What each tokenizer recipe's vocabulary discloses about the members it may see.

    ``recipes`` maps a name to a function that builds a tokenizer from a cohort's splits
    (sample lists; it may use any split, the way the recipe does in the book). Each recipe
    is run twice: on ``splits`` (*with* the candidate members, :func:`candidate_members`)
    and on the same splits with the candidates removed from ``train`` (*without*). A
    recipe that uses public information only builds the same vocabulary both times
    (``identical``), so no token is specific and the test's AUC is 0.5 -- computed, from
    two real builds; one that learns from the members has tokens only the candidates
    brought in, and the membership test (candidates against the holdout non-members, who
    are in neither build) scores them. ``samples`` maps every person to their sparse
    records. Returns ``(results, tables)``: one row per recipe (:data:`RESULT_COLUMNS`) and
    :func:`disclosure`'s two rows per recipe (:data:`TABLE_COLUMNS`)."""
    candidates = candidate_members(splits, candidate_fraction, seed)
    without = dict(splits, train=[s for s in splits["train"] if s not in set(candidates)])
    groups = {"train": candidates, "holdout": list(splits["holdout"])}
    results, tables = [], []
    for name, recipe in recipes.items():
        built_with, built_without = recipe(splits), recipe(without)
        identical = built_with.get_vocab() == built_without.get_vocab()
        table, test = vocabulary_attack(built_with, built_without, samples, groups, max_carrier_fraction,
                                        n_boot=n_boot, seed=seed)
        tables.append(table.assign(tokenizer=name))
        results.append({"tokenizer": name, "identical": identical, **test})
    return (pd.DataFrame(results, columns=RESULT_COLUMNS),
            pd.concat(tables, ignore_index=True)[TABLE_COLUMNS])
