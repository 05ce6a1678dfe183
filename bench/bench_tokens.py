"""Tokens per sample for every tokenizer on one cohort, dense and sparse profiles.

    python bench/bench_tokens.py [--profile quick] [--run-dir DIR] [--vocab-size 4096]

Uses the run directory's cohort if the data chapter wrote one, else prepares it (simulated,
at the profile's sizes). Prints the mean tokens per sample and the ratio of BPE on dense
profiles (the dissertation's setting) to the variant tokenizer on sparse profiles.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib import data, profiles, rundir  # noqa: E402
from lib import tokenization as tk  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("--vocab-size", type=int, default=4096)
    args = parser.parse_args(argv)
    run = rundir.run_path(args.run_dir, args.profile)
    if not data.cohort_paths(run)["profiles"].exists():
        s = profiles.resolve(args.profile)
        data.prepare(run, n_sites=s["n_sites"], common_fraction=s["common_fraction"],
                     sim_samples_per_population=s["sim_samples_per_population"], sim_length=s["sim_length"],
                     progress=False)
    splits = data.load_splits(run)
    sites = json.loads(data.cohort_paths(run)["panel"].read_text())["sites"]
    texts = {}
    for kind in ("sparse", "dense"):
        frame = data.read_profiles(run, dense=kind == "dense")
        texts[kind] = {s: tk.sample_to_text(r) for s, r in zip(frame["sample"], frame["variants"])}
    train = [texts[k][s] for k in texts for s in splits["train"]]
    built = {"character": tk.build_tokenizer("character"),
             "bpe": tk.build_tokenizer("bpe", train_texts=train, vocab_size=args.vocab_size),
             "bpe-record": tk.bpe_tokenizer(train, args.vocab_size, pre_split="record"),
             "variant": tk.build_tokenizer("variant", panel_sites=sites),
             "gpt2": tk.build_tokenizer("gpt2")}
    print(f"run {run}: {len(texts['sparse'])} samples, {len(sites)} panel sites")
    print(f"{'tokenizer':>11} {'vocab':>7} {'dense':>9} {'sparse':>9} {'encode s':>9}")
    mean = {}
    for name, tok in built.items():
        if tok is None:
            print(f"{name:>11}  (no GPT-2 tokenizer found locally: skipped)")
            continue
        t0 = time.perf_counter()
        for kind in texts:
            mean[name, kind] = float(np.mean(tk.tokens_per_sample(tok, list(texts[kind].values()))))
        print(f"{name:>11} {len(tok):>7,} {mean[name, 'dense']:>9,.0f} {mean[name, 'sparse']:>9,.1f} "
              f"{time.perf_counter() - t0:>9.2f}")
    # the target is against the dissertation's best (shortest) tokenizer on dense profiles:
    # BPE whose merges may span a whole record
    best = min(("bpe", "bpe-record"), key=lambda name: mean[name, "dense"])
    print(f"BPE (GPT-2 pre-split) dense / variant sparse: {mean['bpe', 'dense'] / mean['variant', 'sparse']:.1f}x")
    print(f"BPE whole-record dense / variant sparse: {mean['bpe-record', 'dense'] / mean['variant', 'sparse']:.1f}x")
    print(f"best BPE ({best}) dense / variant sparse: {mean[best, 'dense'] / mean['variant', 'sparse']:.1f}x "
          "(target >= 15x)")


if __name__ == "__main__":
    main()
