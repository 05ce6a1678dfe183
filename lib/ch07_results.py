"""The results chapter (``book/07_results.ipynb``): the book's headline numbers in one
place, read back from what the chapters wrote into the run directory, and the
dissertation's claims set beside them.

* :func:`load_tables` -- the utility chapter's table (``metrics/05_utility.csv``), the privacy
  chapter's (``metrics/06_privacy.csv``) and its audits (``metrics/06_audit.csv``); a
  missing table names the chapter to run.
* :func:`claims_table` -- each claim of the dissertation, what it reported, what this run
  measured (numbers with 95% intervals) and the verdict, computed by the chapters'
  ``claim_records`` (never typed).
* :func:`utility_summary`, :func:`privacy_summary` -- one row per main cohort or model: the
  headline utility metrics; the best attack, its TPR at 10% FPR, the empirical ε bounds
  beside the accountant's ε.
* :func:`numbers` -- everything the page's prose cites.

Nothing here computes a new metric: every number was computed by the chapter that owns
it, on this run, and is only gathered. Like those chapters' numbers, they are evaluations
on members and non-members, outside the guarantee.
"""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import ch05_utility, ch06_privacy
from .lm import models
from .dp import budget
from .evaluation import evidence
from .runs import artefacts, comparison, glossary
from .runs.run import Run

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
    "baselines": ("05 utility", "baseline_claim", "not examined (no private baseline was run)"),
}


def load_tables(run: str | os.PathLike) -> dict[str, Any]:
    """The chapters' tables of ``run``: ``utility`` and ``utility_seeds`` (05), ``privacy``,
    ``privacy_seeds`` and ``audits`` (06), ``run``. A table that is missing is an error
    naming the chapter that writes it."""
    run = Run.of(run)
    return {"run": run, "utility": run.table(ch05_utility.METRICS_NAME),
            "utility_seeds": run.table(ch05_utility.SEEDS_NAME), "privacy": run.table(ch06_privacy.METRICS_NAME),
            "privacy_seeds": run.table(ch06_privacy.SEEDS_NAME), "audits": run.table(ch06_privacy.AUDIT_NAME)}


def claims_table(loaded: Mapping[str, Any], settings: Mapping[str, Any]) -> pd.DataFrame:
    """One row per claim of :data:`CLAIMS`: ``claim`` (the dissertation's words),
    ``chapter``, ``the dissertation reported``, ``measured here`` (the evidence: seed-level
    numbers and intervals of this run), ``verdict`` (holds / holds in part / does not hold /
    cannot be told ...) and ``rule`` (how the verdict is read from the numbers, with the
    check's ceiling where it has one), as the owning chapter computed them."""
    records = {"05 utility": ch05_utility.claim_records({"table": loaded["utility"],
                                                         "seeds": loaded["utility_seeds"]}, settings),
               "06 privacy": ch06_privacy.claim_records(loaded["privacy"], settings, loaded["audits"],
                                                        loaded["privacy_seeds"])}
    rows = []
    for chapter, key, reported in CLAIMS.values():
        record = records[chapter][key]
        rule = record["rule"] + (f" ({record['ceiling']})" if record.get("ceiling") else "")
        rows.append({"claim": record["claim"], "chapter": chapter, "the dissertation reported": reported,
                     "measured here": record["evidence"], "verdict": record["verdict"], "rule": rule})
    return pd.DataFrame(rows).set_index("claim")


#: The utility metrics of the results page (the utility chapter's headline, fewer).
UTILITY_METRICS = ("af_r", "c2st_auc", "c2st_trees_auc", "aats", "tstr", "ld_decay_distance")


def utility_summary(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """The main constrained settings (each family's main tokenizer, every ε, clipping
    alone) and the reference cohorts: the headline utility metrics as the mean over
    training seeds with the seed-level 95% interval."""
    seeds = loaded["utility_seeds"]
    main = seeds[(seeds["kind"] == "reference") | seeds["setting"].isin(comparison.main_settings(seeds)["setting"])]
    wide = ch05_utility.wide_table(main, UTILITY_METRICS)
    return wide.rename(columns=glossary.SHORT_TITLES)


def privacy_summary(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """One row per model setting (a family at one ε, its tokenizer and trainer): the
    accountant's ε (– without a guarantee), the training seeds, the declared primary attack's
    AUC (mean over seeds, seed-level 95% interval) and its TPR at 10% FPR, the best of the
    attacks on the first seed's model with its selection-aware interval, the largest
    held-out empirical ε of any seed's model (Bonferroni over the attacks) and, for the
    main settings, the canaries' one-run bound of the audit run at the same ε, each bound
    beside its ceiling."""
    table, seeds = loaded["privacy"], loaded["privacy_seeds"]
    models_ = seeds[seeds["target_kind"] == "model"]
    best = ch06_privacy.best_attacks(table[table["target_kind"] == "model"])
    bounds = ch06_privacy.epsilon_table(table)
    audits = loaded["audits"].set_index(["family", "eps"])
    rows = []
    for setting, group in models_.groupby("setting", sort=False):
        first = group.iloc[0]
        primary = group[group["primary"].astype(bool)]
        b = best[(best["setting"] == setting) & (best["seed"] == 0)]
        mine = bounds[bounds["setting"] == setting]
        main = first["variant"] in ("", "cliponly") and first["tokenizer"] == artefacts.MAIN_TOKENIZERS.get(first["family"])
        audit = audits.loc[(first["family"], first["eps"])] if main and (first["family"], first["eps"]) in audits.index \
            else None
        spent = first["accountant_epsilon"]
        rows.append({"setting": setting, "family": glossary.FAMILY_LABELS.get(first["family"], first["family"]),
                     "ε (target)": first["eps"], "accountant ε": "–" if pd.isna(spent) else f"{spent:.2f}",
                     "seeds": f"{int(group['n_seeds'].max())}",
                     "primary attack": primary["attack"].iloc[0] if len(primary) else "–",
                     "primary AUC [95%, seeds]": (ch06_privacy.auc_estimate(seeds, setting, primary["attack"].iloc[0])
                                                  .text() if len(primary) else "–"),
                     "primary TPR at 10% FPR": f"{primary['tpr@0.1'].iloc[0]:.3f}" if len(primary) else "–",
                     "best of the attacks (seed 0, selection-aware)": (
                         f"{b['selected'].iloc[0]}: {b['auc'].iloc[0]:.3f} [{b['auc_low'].iloc[0]:.3f}, "
                         f"{b['auc_high'].iloc[0]:.3f}]" if len(b) else "–"),
                     "empirical ε, attacks (ceiling)": (
                         f"{mine['empirical ε (held-out threshold)'].max():.2f} ({mine['ceiling'].min():.2f})"
                         if len(mine) else "–"),
                     "empirical ε, canaries (ceiling)": (
                         f"{float(audit['one-run lower bound']):.2f} ({float(audit['ceiling']):.2f})"
                         if audit is not None else "–")})
    order = list(glossary.FAMILY_LABELS.values())
    frame = pd.DataFrame(rows)
    rank = frame["family"].map(lambda f: order.index(f) if f in order else len(order))
    return frame.assign(_rank=rank).sort_values(["_rank", "setting"]).drop(columns="_rank").set_index("setting")


def budget_table(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """What each private ε buys: at every private ε of the grid, each language model's main
    setting and each private baseline side by side, on the headline utility metrics
    (:data:`UTILITY_METRICS`; mean over training seeds, seed-level 95% interval) and the
    declared primary attack on the setting's released cohort (the one attack every setting
    shares: a baseline releases nothing else), its AUC over the same seeds."""
    seeds, privacy_seeds = loaded["utility_seeds"], loaded["privacy_seeds"]
    main = comparison.main_settings(seeds)
    private = main[np.isfinite(main["epsilon"].astype(float)) & (main["eps"] != budget.CLIP_ONLY_LABEL)]
    if private.empty:
        return pd.DataFrame()
    attacks = privacy_seeds[(privacy_seeds["target_kind"] == "synthetic cohort")
                            & privacy_seeds["primary"].astype(bool)].set_index("setting")
    rows = []
    for r in private.sort_values("epsilon", ascending=False, kind="stable").itertuples():
        row = {"ε": r.eps, "generator": glossary.FAMILY_LABELS.get(r.family, r.family),
               "kind": "private baseline" if artefacts.is_baseline(r.family) else "language model"}
        for metric in UTILITY_METRICS:
            try:
                e = ch05_utility.estimate(seeds, r.setting, metric)
            except KeyError:
                row[glossary.SHORT_TITLES[metric]] = "–"
                continue
            row[glossary.SHORT_TITLES[metric]] = ch05_utility.show(metric, (e.value, e.low, e.high))
        a = attacks.loc[r.setting] if r.setting in attacks.index else None
        row["primary attack on the cohort, AUC"] = (
            f"{a['auc']:.3f} [{a['auc_low']:.3f}, {a['auc_high']:.3f}]" if a is not None else "–")
        rows.append(row)
    return pd.DataFrame(rows).set_index(["ε", "generator"])


def bounds_of(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """Every empirical lower bound against the accountant's ε (the privacy chapter's chart)."""
    return ch06_privacy.bound_frame(loaded["privacy"], loaded["audits"])


def frontier_of(loaded: Mapping[str, Any]) -> pd.DataFrame:
    """The privacy-utility frontier of the privacy chapter, from the two seed-level tables."""
    return ch06_privacy.frontier(loaded["privacy_seeds"], loaded["utility_seeds"])


def boundary_check(run: str | os.PathLike) -> dict[str, Any]:
    """What this run keeps where a run releases from, checked on its files: where the
    panel of sites came from (``panel.json``'s basis), and how many files under
    ``models/`` and ``tokenizers/`` name a member (the train split's sample IDs; 0 when
    the boundary holds). Returns ``basis``, ``declared``, ``files`` (checked), ``naming``
    (the files that name a member) and ``sentence``."""
    run = Run.of(run)
    panel = artefacts.read_panel_json(run)
    members = set(artefacts.load_splits(run)["train"])
    files = [p for area in ("models", "tokenizers") for p in sorted(run.area(area).rglob("*"))
             if p.is_file() and p.suffix in (".json", ".txt", ".model", ".vocab")]
    naming = [str(p.relative_to(run)) for p in files
              if members & set(re.findall(r"[\w.\-]+", p.read_text(errors="ignore")))]
    where = "a site list declared public" if panel.get("declared") else "the sites that vary among the public people"
    sentence = (f"the panel of sites is {where}; of the {len(files):,} files this run keeps under models/ and "
                f"tokenizers/, {len(naming)} name{'s' if len(naming) == 1 else ''} a member")
    return {"basis": panel.get("basis"), "declared": bool(panel.get("declared")), "files": len(files),
            "naming": naming, "sentence": sentence}


def run_facts(run: str | os.PathLike, settings: Mapping[str, Any]) -> dict[str, str]:
    """The facts of this run the discussion and the conclusion cite (glued from this page,
    so that another profile's book says what it did): ``n_sites``, ``n_people``,
    ``n_train``, ``parameters`` (the range over the main models), ``sizes_text`` (how the
    families are built), ``boundary`` (:func:`boundary_check`)."""
    run = Run.of(run)
    panel = artefacts.read_panel_json(run)
    splits = artefacts.load_splits(run)
    sizes = models.family_sizes(settings)
    if len(set(sizes.values())) == 1:
        layers, width = sizes["mingpt"]
        sizes_text = (f"both families are built the same size ({layers} layers, {width} wide), so the dissertation's "
                      "claims about small against large models cannot be tested in this profile")
    else:
        sizes_text = ("the families differ in size (" + ", ".join(
            f"{glossary.FAMILY_LABELS[f]} {l} layers × {w} wide" for f, (l, w) in sizes.items())
            + "), so the size claims are tested, though the families also differ in architecture")
    summary = run.metrics_path("04_dp_training")
    parameters = "–"
    if summary.is_file():
        counts = pd.read_csv(summary)["parameters"]
        parameters = (f"{counts.min():,.0f}" if counts.min() == counts.max() else
                      f"{counts.min():,.0f} to {counts.max():,.0f}")
    return {"n_sites": f"{int(panel['n_sites']):,}", "n_people": f"{sum(len(v) for v in splits.values()):,}",
            "n_train": f"{len(splits['train']):,}", "parameters": parameters, "sizes_text": sizes_text,
            "boundary": boundary_check(run)["sentence"]}


def numbers(loaded: Mapping[str, Any], settings: Mapping[str, Any], claims: pd.DataFrame) -> dict[str, str]:
    """Every number the page's prose cites, formatted; every key always present."""
    privacy, utility, seeds = loaded["privacy"], loaded["utility"], loaded["privacy_seeds"]
    models_ = privacy[privacy["target_kind"] == "model"]
    out = {"n_models": f"{models_['target'].nunique():,}",
           "n_settings": f"{models_['setting'].nunique():,}",
           "n_seeds": f"{int(seeds['n_seeds'].max()) if len(seeds) else 1}",
           "n_cohorts": f"{utility.loc[utility['kind'] == 'synthetic', 'cohort'].nunique():,}",
           "n_attacks": f"{privacy['attack'].nunique():,}", "n_claims": f"{len(claims):,}",
           "profile": str(settings.get("name", "")),
           "n_members": f"{int(models_['n_members'].max()):,}" if len(models_) else "–",
           "n_non_members": f"{int(models_['n_non_members'].max()):,}" if len(models_) else "–",
           "seed_interval_rule": evidence.interval_rule()}
    for verdict in ("holds", "holds in part", "does not hold"):
        out[f"claims_{verdict.replace(' ', '_')}"] = f"{int((claims['verdict'] == verdict).sum())}"
    out["claims_untold"] = f"{int(claims['verdict'].str.startswith('cannot').sum())}"
    primary = seeds[seeds["primary"].astype(bool) & (seeds["target_kind"] == "model") & (seeds["variant"] == "")
                    & (seeds["tokenizer"] == seeds["family"].map(artefacts.MAIN_TOKENIZERS))]
    for family in ("mingpt", "gpt2"):
        rows = primary[primary["family"] == family]
        out[f"{family}_primary"] = rows["attack"].iloc[0] if len(rows) else "–"
        for label, private in (("open", False), ("private", True)):
            chosen = rows[rows["accountant_epsilon"].notna() == private]
            if not len(chosen):
                out[f"{family}_{label}_auc"] = "–"
                continue
            top = chosen.loc[chosen["auc"].idxmax()]
            out[f"{family}_{label}_auc"] = ch06_privacy.auc_estimate(seeds, top["setting"], top["attack"]).text()
    real = utility[(utility["cohort"] == glossary.REAL) & (utility["metric"] == "c2st_auc")]
    out["real_c2st"] = f"{real['value'].iloc[0]:.3f}" if len(real) else "–"
    out.update(run_facts(loaded["run"], settings))
    return out
