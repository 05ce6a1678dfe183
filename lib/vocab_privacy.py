"""What a tokenizer's vocabulary discloses about the people it was learned from.

DP-SGD protects the weights of a model, not its tokenizer. A BPE vocabulary learned from
the members' profiles has a merge for every character sequence frequent *in the members'
text*: in sparse profiles, a site appears only when somebody carries it, so with a budget of
a few thousand ids the trainer ends up merging the digits of positions that only one or two
members carry. Publishing the tokenizer with the model then says "somebody in the training
set carries a variant at 22:X" — for a rare variant, nearly a name.

The measurement, using only the vocabulary:

1. **Specific tokens**: the tokens of the tokenizer under test that a *reference*
   vocabulary, learned the same way from non-member text (the validation split), does not
   have. Whatever is common to any sample of the population is learned by both; what only
   the members brought in is specific.
2. **Disclosure**: of the rare sites (carrier fraction below ``max_carrier_fraction``) carried
   only by members, how many have their position digits inside a specific token — beside the
   same rate for rare sites carried only by holdout samples (the false-positive baseline).
3. **Membership test**: score each candidate by the number of its rare records whose position
   is inside a specific token, and compare members with holdout samples (drawn from one pool
   by :func:`lib.data.make_splits`) by the AUC, with a bootstrap confidence interval.

A vocabulary derived from the public panel only (:func:`lib.tokenization.variant_tokenizer`)
is the same whoever the members are, so its reference is itself: no token is specific, every
score is zero and the AUC is exactly 0.5, by construction.

:func:`compare_vocabularies` runs the whole comparison of the tokenization chapter: BPE on
sparse profiles, BPE with whole-record merges, the saved BPE (sparse and dense texts), and
the variant tokenizer built for two different member sets.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import tokenization as tk

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

    ``samples`` maps every sample of the cohort to its sparse records; ``splits`` is
    :func:`lib.data.load_splits`.
    """
    who = carriers(samples)
    rare = rare_sites(who, len(samples), max_carrier_fraction)
    covered = covered_positions(specific)
    rows = []
    for group in ("train", "holdout"):
        inside = set(splits[group])
        only = [s for s in rare if who[s] <= inside]
        hit = sum(position(s) in covered for s in only)
        rows.append({"carried only by": "members (train)" if group == "train" else "non-members (holdout)",
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
    greater = (m[:, None] > n[None, :]).mean()
    equal = (m[:, None] == n[None, :]).mean()
    return float(greater + 0.5 * equal)


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


#: The cases of :func:`compare_vocabularies`, in order.
BPE_SPARSE = "BPE, sparse profiles"
BPE_RECORDS = "BPE whole records, sparse"
BPE_SAVED = "BPE, sparse and dense (saved)"
VARIANT = "variant (panel only)"
CASES = (BPE_SPARSE, BPE_RECORDS, BPE_SAVED, VARIANT)
RESULT_COLUMNS = ["tokenizer", "auc", "ci_low", "ci_high", "n_members", "n_non_members", "mean_member_score",
                  "mean_non_member_score", "n_specific_tokens"]
TABLE_COLUMNS = ["tokenizer", "carried only by", "rare sites", "position in a specific token", "fraction"]


def vocabulary_attack(member_tokenizer, reference_tokenizer, samples: Mapping[str, Sequence[str]],
                      splits: Mapping[str, Sequence[str]], max_carrier_fraction: float = 0.05,
                      n_boot: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, dict[str, float]]:
    """:func:`disclosure` and :func:`membership_test` for one tokenizer learned on the members
    against its ``reference`` learned the same way from non-members; both are judged by their
    vocabularies alone (:func:`lib.tokenization.vocabulary_strings`)."""
    specific = specific_tokens(tk.vocabulary_strings(member_tokenizer), tk.vocabulary_strings(reference_tokenizer))
    table = disclosure(specific, samples, splits, max_carrier_fraction)
    test = membership_test(specific, samples, splits, max_carrier_fraction, n_boot=n_boot, seed=seed)
    return table, test


def _sample_records(sample_texts: Mapping[str, str]) -> dict[str, list[str]]:
    return {sample: tk.text_to_sample(text).records for sample, text in sample_texts.items()}


def compare_vocabularies(texts: Mapping[str, Mapping[str, str]], splits: Mapping[str, Sequence[str]],
                         panel_sites: Sequence[str], vocab_size: int = 4096, seed: int = 0, n_boot: int = 1000,
                         saved_bpe=None, max_carrier_fraction: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What four vocabularies disclose about the members (``splits["train"]``): the
    :data:`CASES`, each a tokenizer learned on the members and its reference learned the same
    way from the validation split (the variant tokenizer: built for two member sets).

    ``texts`` maps ``"sparse"`` and ``"dense"`` to sample -> model text
    (:func:`lib.tokenization.sample_to_text`); the sparse records the attack scores are read
    back from ``texts["sparse"]``. ``saved_bpe`` is the chapter's BPE (learned from the
    members' sparse and dense texts with ``vocab_size`` ids); when None it is learned here the
    same way. Returns ``(results, tables)``: one row per case with :func:`membership_test`'s
    numbers (:data:`RESULT_COLUMNS`), and :func:`disclosure`'s two rows per case
    (:data:`TABLE_COLUMNS`).
    """
    for kind in ("sparse", "dense"):
        if kind not in texts:
            raise ValueError(f"compare_vocabularies needs {kind} texts; got {list(texts)}")
    samples = _sample_records(texts["sparse"])

    def of(kinds, split):
        return [texts[k][s] for k in kinds for s in splits[split]]

    if saved_bpe is None:
        saved_bpe = tk.bpe_tokenizer(of(("sparse", "dense"), "train"), vocab_size)
    variant_a = tk.variant_tokenizer(panel_sites)  # for the members of splits["train"] ...
    variant_b = tk.variant_tokenizer(panel_sites)  # ... and for any other member set: it never sees them
    if variant_a.get_vocab() != variant_b.get_vocab():
        raise AssertionError("the variant vocabulary should depend on the panel only")
    cases = {
        BPE_SPARSE: (tk.bpe_tokenizer(of(("sparse",), "train"), vocab_size),
                     tk.bpe_tokenizer(of(("sparse",), "validation"), vocab_size, split="validation")),
        BPE_RECORDS: (tk.bpe_tokenizer(of(("sparse",), "train"), vocab_size, pre_split="record"),
                      tk.bpe_tokenizer(of(("sparse",), "validation"), vocab_size, pre_split="record",
                                       split="validation")),
        BPE_SAVED: (saved_bpe, tk.bpe_tokenizer(of(("sparse", "dense"), "validation"), vocab_size,
                                                split="validation")),
        VARIANT: (variant_a, variant_b),
    }
    results, tables = [], []
    for case, (member, reference) in cases.items():
        table, test = vocabulary_attack(member, reference, samples, splits, max_carrier_fraction,
                                        n_boot=n_boot, seed=seed)
        tables.append(table.assign(tokenizer=case))
        results.append({"tokenizer": case, **test})
    return (pd.DataFrame(results, columns=RESULT_COLUMNS),
            pd.concat(tables, ignore_index=True)[TABLE_COLUMNS])
