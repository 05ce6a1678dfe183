"""What one full attack evaluation costs against one training run (the privacy chapter).

    python bench/bench_attacks.py [--run data/runs/quick] [--profile quick] [--model mingpt-epsinf]

On a run the book has built (``make book``): the target's training time (the sum of its
recorded epoch times, a diagnostic), then, timed side by side in this process, training
one reference model from scratch on half of the public people (as
:func:`lib.ch06_privacy.train_references` does, not saved), scoring every candidate and
every public person with the target and the reference (:func:`lib.evaluation.mia.sequence_signals`),
training one *online* reference model on half of the public people and candidates (as
:func:`lib.ch06_privacy.train_online_references` does, from where the target starts) and
scoring with it, and fitting and evaluating every attack of the chapter on those scores. Prints seconds per
step and the ratio of the whole evaluation (with the profile's number of reference models)
to the target's training. Not a test; nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib.runs import artefacts, experiments  # noqa: E402
from lib.evaluation import mia
from lib.lm import models, training
from lib.core import profiles
from lib import ch06_privacy as chapter  # noqa: E402
from lib.lm import tokenization as tk  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="data/runs/quick")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--model", default="mingpt-epsinf")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run = Path(args.run)
    if not (run / "models" / args.model).is_dir():
        raise SystemExit(f"{run / 'models' / args.model}: not found; build the book first (make book PROFILE=...)")
    settings = profiles.resolve(args.profile)
    parsed = artefacts.parse_model_name(args.model)
    history = artefacts.read_history(run, args.model)
    target_seconds = float(sum(e.get("seconds", 0.0) for e in history["epochs"]))
    tokenizer = tk.load(run, parsed["tokenizer"])
    sizes = artefacts.model_sizes(run, settings, parsed["family"], tokenizer)
    block = int(sizes["block_size"])
    people = chapter.candidates(run, seed=args.seed)
    public = artefacts.split_profiles(run, "public")
    ids = [tk.encode_sample(tokenizer, list(p), None)[:block] for p in people["variants"]]
    public_ids = [tk.encode_sample(tokenizer, list(p), None)[:block] for p in public["variants"]]
    mask = chapter.reference_halves(len(public), 1, seed=args.seed)[0]
    labels = people["label"].to_numpy()

    def timed(step):
        started = time.perf_counter()
        result = step()
        return result, time.perf_counter() - started

    config = training.config_from_profile(dict(settings), parsed["family"], seed=args.seed, progress=False)
    reference = models.build_model(parsed["family"], sizes, tokenizer, seed=args.seed)
    _, reference_seconds = timed(lambda: training.train(reference, [public_ids[i] for i in np.flatnonzero(mask)],
                                                        None, config))
    pool_ids = public_ids + ids
    online_mask = chapter.reference_halves(len(pool_ids), 2, seed=(args.seed, 0x0411))[0]
    start = experiments.model_start(run, parsed["family"], parsed["tokenizer"], settings, seed=args.seed)
    online = models.build_model(parsed["family"], sizes, tokenizer, base_model=start, seed=args.seed)
    _, online_seconds = timed(lambda: training.train(online, [pool_ids[i] for i in np.flatnonzero(online_mask)],
                                                     None, config))
    (online_candidates, online_public), online_scoring = timed(lambda: (mia.sequence_signals(online, ids),
                                                                        mia.sequence_signals(online, public_ids)))
    target = models.load_model(run / "models" / args.model).eval()
    (features, population), target_scoring = timed(lambda: (mia.sequence_signals(target, ids),
                                                             mia.sequence_signals(target, public_ids)))
    (ref_features, ref_public), reference_scoring = timed(lambda: (mia.sequence_signals(reference, ids),
                                                                   mia.sequence_signals(reference, public_ids)))

    def attacks():
        fitted = [mia.ThresholdAttack("loss"), mia.ThresholdAttack("confidence"), mia.ClassifierAttack("logistic"),
                  mia.ClassifierAttack("forest"), mia.ClassifierAttack("knn")]
        scores = [a.fit(ref_public, mask.astype(int)).score(features) for a in fitted]
        scores.append(mia.LiRA().fit(ref_features["log_likelihood"].to_numpy()[None]).score(
            features["log_likelihood"].to_numpy()))
        scores.append(mia.RMIA().fit(population["log_likelihood"], ref_public["log_likelihood"].to_numpy()[None],
                                     ~mask[None]).score(features["log_likelihood"].to_numpy(),
                                                        ref_features["log_likelihood"].to_numpy()[None]))
        in_mask = online_mask[None, len(public_ids):]
        both = np.vstack([online_candidates["log_likelihood"], online_candidates["log_likelihood"]])
        scores.append(mia.LiRA().fit(both, np.vstack([in_mask, ~in_mask])).score(  # the pair's shape, one model's cost
            features["log_likelihood"].to_numpy()))
        scores.append(mia.RMIA().fit(population["log_likelihood"], online_public["log_likelihood"].to_numpy()[None])
                      .score(features["log_likelihood"].to_numpy(), online_candidates["log_likelihood"].to_numpy()[None]))
        return [mia.evaluate(s, labels, n_boot=200) for s in scores]

    _, attack_seconds = timed(attacks)
    n_refs = int(settings.get("mia_reference_models", 2))
    allowed = chapter.online_tokenizers(settings)
    n_online = chapter.online_count(settings) if allowed is None or parsed["tokenizer"] in allowed else 0
    whole = (n_refs * (reference_seconds + reference_scoring) + n_online * (online_seconds + online_scoring)
             + target_scoring + attack_seconds)
    rows = [("target's training (recorded epochs)", target_seconds),
            ("one reference model's training (half the public people)", reference_seconds),
            ("scoring candidates and public people: target", target_scoring),
            ("scoring candidates and public people: one reference", reference_scoring),
            ("one online reference model's training (half the public people and candidates)", online_seconds),
            ("scoring candidates and public people: one online reference", online_scoring),
            ("fitting and evaluating the 9 attacks (200 bootstraps each)", attack_seconds),
            (f"one full evaluation with {n_refs} offline and {n_online} online reference models", whole)]
    print(f"{args.model} on {run}: {int((labels == 1).sum())} members against {int((labels == 0).sum())} "
          f"non-members, {len(public)} public people")
    print(pd.DataFrame(rows, columns=["step", "seconds"]).to_string(index=False, float_format="{:.1f}".format))
    print(f"one full attack evaluation / one training run: {whole / max(target_seconds, 1e-9):.2f}x "
          "(reference models trained once per family and tokenizer serve every ε of the grid)")


if __name__ == "__main__":
    main()
