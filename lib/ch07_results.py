"""The results chapter (``book/07_results.ipynb``): the book's headline numbers in one
place, read back from what the chapters wrote into the run directory, and the
dissertation's claims set beside them.

* :func:`load` -- the utility chapter's table (``metrics/05_utility.csv``), the privacy
  chapter's (``metrics/06_privacy.csv``) and its audits (``metrics/06_audit.csv``); a
  missing table names the chapter to run.
* :func:`claims_table` -- each claim of the dissertation, what it reported, what this run
  measured (numbers with 95% intervals) and the verdict, computed by the chapters'
  ``claim_records`` (never typed).
* :func:`utility_table`, :func:`privacy_table` -- one row per main cohort or model: the
  headline utility metrics; the best attack, its TPR at 10% FPR, the empirical ε bounds
  beside the accountant's ε.
* :func:`numbers` -- everything the page's prose cites.

Nothing here computes a new metric: every number was computed by the chapter that owns
it, on this run, and is only gathered. Like those chapters' numbers, they are evaluations
on members and non-members, outside the guarantee.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import artefacts, ch05_utility, ch06_privacy

CHAPTER = "07_results"

#: The dissertation's claims, in the order of its README, with what it reported (its
#: numbers, as ../shared/DISSERTATION.md records them) and where this book measures them:
#: key -> (chapter, key of that chapter's ``claim_records``, what the dissertation reported).
CLAIMS = {
    "small_diverse": ("05 utility", "size_claim",
                      "minGPT (6 x 384, from scratch) against GPT-2 (124M, fine-tuned); no number given"),
    "large_identical": ("05 utility", "identical_claim",
                        "GPT-2, 50 samples: 95 unique valid records, 93.7% of them 'memorised'"),
    "small_leak_less": ("06 privacy", "size_claim",
                        "model-feature AUC 0.66 (rerun 0.57) on minGPT against 0.775 (k-NN) on GPT-2, 20 vs 20"),
    "dp_lowers": ("06 privacy", "dp_claim",
                  "minGPT model-feature AUC 0.66 without DP against 0.53 at ε = 1 (a smaller model), 20 vs 20"),
    "dp_regularises": ("05 utility", "dp_claim", "private models' utility improves; no interval given"),
    "hybrid_beats": ("06 privacy", "hybrid_claim",
                     "minGPT 0.8175 (threshold) against 0.66; GPT-2 0.81 (logistic) against 0.775; "
                     "at ε = 1 0.59-0.60 against 0.53; 20 vs 20"),
    "memorisation": ("05 utility", "memorisation_claim", "93.7% of GPT-2's records are training records"),
    "bounds": ("06 privacy", "bound_claim", "not measured (no empirical ε, no audit)"),
}


def load(run: str | os.PathLike) -> dict[str, Any]:
    """The chapters' tables of ``run``: ``utility`` (05), ``privacy`` and ``audits`` (06),
    ``run``. A table that is missing is an error naming the chapter that writes it."""
    run = Path(run)
    return {"run": run, "utility": ch05_utility.read_table(run), "privacy": ch06_privacy.read_table(run),
            "audits": ch06_privacy.read_audit_table(run)}


def claims_table(loaded: Mapping[str, Any], settings: Mapping[str, Any]) -> pd.DataFrame:
    """One row per claim of :data:`CLAIMS`: ``claim`` (the dissertation's words),
    ``chapter``, ``the dissertation reported``, ``measured here`` (the evidence, numbers and
    95% intervals of this run) and ``verdict`` (holds / holds in part / does not hold /
    cannot be told ...), as the owning chapter computed them."""
    records = {"05 utility": ch05_utility.claim_records({"table": loaded["utility"]}, settings),
               "06 privacy": ch06_privacy.claim_records(loaded["privacy"], settings)}
    rows = []
    for chapter, key, reported in CLAIMS.values():
        record = records[chapter][key]
        rows.append({"claim": record["claim"], "chapter": chapter, "the dissertation reported": reported,
                     "measured here": record["evidence"], "verdict": record["verdict"]})
    return pd.DataFrame(rows).set_index("claim")


#: The utility metrics of the results page (the utility chapter's headline, fewer).
UTILITY_METRICS = ("af_r", "c2st_auc", "aats", "tstr", "ld_decay_distance")


def utility_table(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """The main constrained cohorts (each family's main tokenizer, every ε, clipping
    alone) and the reference cohorts: the headline utility metrics with 95% intervals."""
    table = loaded["utility"]
    main = table[(table["kind"] == "reference") | table["cohort"].isin(ch05_utility.main_cohorts(table)["cohort"])]
    wide = ch05_utility.wide_table(main, UTILITY_METRICS)
    return wide.rename(columns=ch05_utility.SHORT_TITLES)


def privacy_table(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """One row per target model: the accountant's ε (– without a guarantee), the best
    attack with its AUC and 95% interval, its TPR at 10% FPR, the attacks' held-out
    empirical ε and, for the main models, the canaries' one-run bound of the audit run at
    the same ε."""
    table = loaded["privacy"]
    models = table[table["target_kind"] == "model"]
    best = ch06_privacy.best_attacks(models).set_index("target")
    bounds = ch06_privacy.epsilon_table(models).set_index("target")
    audits = loaded["audits"].set_index(["family", "eps"])
    rows = []
    for target, b in best.iterrows():
        spent = b["accountant_epsilon"]
        audit = (audits.loc[(b["family"], b["eps"]), "one-run lower bound"]
                 if b["variant"] in ("", "cliponly") and b["tokenizer"] == artefacts.MAIN_TOKENIZERS.get(b["family"])
                 and (b["family"], b["eps"]) in audits.index else np.nan)
        rows.append({"model": target, "family": ch05_utility.FAMILY_LABELS.get(b["family"], b["family"]),
                     "ε (target)": b["eps"], "accountant ε": "–" if pd.isna(spent) else f"{spent:.2f}",
                     "best attack": b["attack"], "AUC [95%]": f"{b['auc']:.3f} [{b['auc_low']:.3f}, {b['auc_high']:.3f}]",
                     "TPR at 10% FPR": f"{b['tpr@0.1']:.3f}",
                     "empirical ε, attacks": (f"{bounds.loc[target, 'empirical ε (held-out threshold)']:.2f}"
                                              if target in bounds.index else "–"),
                     "empirical ε, canaries": "–" if pd.isna(audit) else f"{float(audit):.2f}"})
    order = list(ch05_utility.FAMILY_LABELS.values())
    frame = pd.DataFrame(rows)
    rank = frame["family"].map(lambda f: order.index(f) if f in order else len(order))
    return frame.assign(_rank=rank).sort_values(["_rank", "model"]).drop(columns="_rank").set_index("model")


def bound_frame(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """Every empirical lower bound against the accountant's ε (the privacy chapter's chart)."""
    return ch06_privacy.bound_frame(loaded["privacy"], loaded["audits"])


def frontier(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """The privacy-utility frontier of the privacy chapter, from the two tables."""
    return ch06_privacy.frontier(loaded["privacy"], loaded["utility"])


def numbers(loaded: Mapping[str, Any], settings: Mapping[str, Any], claims: pd.DataFrame) -> dict[str, str]:
    """Every number the page's prose cites, formatted; every key always present."""
    privacy, utility = loaded["privacy"], loaded["utility"]
    models = privacy[privacy["target_kind"] == "model"]
    out = {"n_models": f"{models['target'].nunique():,}",
           "n_cohorts": f"{utility.loc[utility['kind'] == 'synthetic', 'cohort'].nunique():,}",
           "n_attacks": f"{privacy['attack'].nunique():,}", "n_claims": f"{len(claims):,}",
           "profile": str(settings.get("name", "")),
           "n_members": f"{int(models['n_members'].max()):,}" if len(models) else "–",
           "n_non_members": f"{int(models['n_non_members'].max()):,}" if len(models) else "–"}
    for verdict in ("holds", "holds in part", "does not hold"):
        out[f"claims_{verdict.replace(' ', '_')}"] = f"{int((claims['verdict'] == verdict).sum())}"
    out["claims_untold"] = f"{int(claims['verdict'].str.startswith('cannot').sum())}"
    best = ch06_privacy.best_attacks(models)
    for family in ("mingpt", "gpt2"):
        for label, private in (("open", False), ("private", True)):
            rows = best[(best["family"] == family) & (best["variant"] == "")
                        & (best["tokenizer"] == artefacts.MAIN_TOKENIZERS[family])
                        & (best["accountant_epsilon"].notna() == private)]
            out[f"{family}_{label}_auc"] = (f"{rows['auc'].max():.3f}" if len(rows) else "–")
    real = utility[(utility["cohort"] == ch05_utility.REAL) & (utility["metric"] == "c2st_auc")]
    out["real_c2st"] = f"{real['value'].iloc[0]:.3f}" if len(real) else "–"
    return out
