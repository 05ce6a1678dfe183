"""Choose each family's primary membership-inference attack on a simulated cohort.

The privacy chapter reports one attack per model family as its headline, declared in the
profile (``mia_primary_attack``) *before* any target of the book is scored: choosing the
strongest attack on the targets' own membership labels and then quoting its interval would
overstate the leakage (the best of a dozen attacks on a model that leaks nothing looks like
a leak). This script makes the choice where the labels may be looked at: a run of the
book's chapters 01-04 on a **simulated** cohort (stdpopsim's Out-of-Africa model, the
profile's sizes: nobody of the real data), one training seed, then every attack of the
privacy chapter on its models. It prints each attack's AUC on each target and, per family,
the attack with the highest mean AUC over that family's main targets (∞, clipping alone and
every ε): the profile's declaration should name it.

Run: ``.venv/bin/python bench/choose_primary_attack.py [profile] [run_dir]``
(defaults: quick, ``data/runs/choose-primary-<profile>``; chapters already run there are reused).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.runs import artefacts  # noqa: E402
from lib.book import runner as book
from lib import ch06_privacy
from lib.core import profiles, rundir


def main(profile: str = "quick", run_dir: str | None = None) -> None:
    run = rundir.run_path(run_dir or f"data/runs/choose-primary-{profile}", profile)
    started = time.perf_counter()
    code = book.main(["--profile", profile, "--run-dir", str(run), "--no-build",
                      "--chapters", "01_data", "02_tokenization", "03_models", "04_dp_training",
                      "-p", "source", "simulate", "-p", "n_seeds", "1", "-p", "dp_transformers_epsilon", "None"])
    if code != 0:
        raise SystemExit(f"the simulated run failed ({code}); see {run / 'notebooks'}")
    settings = profiles.resolve(profile)
    found = ch06_privacy.targets(run)
    main_targets = found[(found["variant"].isin(["", "cliponly"]))
                         & (found["tokenizer"] == found["family"].map(artefacts.MAIN_TOKENIZERS))]
    results = ch06_privacy.attack_models(run, settings, seed=0, n_boot=50, models_to_attack=list(main_targets["model"]))
    table = ch06_privacy.results_table(run, results, {"rows": []}, params={"purpose": "choosing the primary attack"})
    scored = table[~table["kind"].isin(["replica", "best"])]
    wide = scored.pivot(index="attack", columns="target", values="auc")
    print(f"simulated cohort, profile {profile}, {len(main_targets)} targets, "
          f"{time.perf_counter() - started:.0f} s; AUC per attack and target:")
    print(wide.round(3).to_string())
    for family, group in scored.groupby("family"):
        means = group.groupby("attack")["auc"].mean().sort_values(ascending=False)
        print(f"\n{family}: mean AUC over its {group['target'].nunique()} main targets")
        print(means.round(3).to_string())
        print(f"-> primary attack for {family}: {means.index[0]} (declared: "
              f"{settings.get('mia_primary_attack', {}).get(family)})")


if __name__ == "__main__":
    main(*sys.argv[1:])
