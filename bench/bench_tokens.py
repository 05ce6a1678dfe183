"""Tokens per sample for every tokenizer on one cohort, dense and sparse profiles.

    python bench/bench_tokens.py [--profile quick] [--run-dir DIR] [--vocab-size 4096] [--gpt2-path DIR]

Uses the run directory's cohort if the data chapter wrote one with the profile's data
settings, else prepares it (:func:`lib.ch01_data.prepare_with`: the quick profile's real
1000 Genomes panel, the smoke profile's simulation). Texts are the chapter's model texts
(:func:`lib.ch02_tokenization.model_texts`). Tokenizers: the book's (characters, BPE learned
on the public people, the variant tokenizer of the public panel -- two tokens per record --,
the record tokenizer -- one --, GPT-2's when found locally) and the dissertation's BPE
learned on the members (GPT-2 pre-split, and merges spanning whole records). Prints the mean
tokens per sample, the ratio of the dissertation's shortest BPE on dense profiles to the
variant and record tokenizers on sparse profiles (target for one-token records: >= 30x), and
how far the record tokenizer is from the floor of a record-by-record text: one token per
non-reference record plus the start, population and end tokens.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib import ch01_data  # noqa: E402
from lib.core import profiles, rundir
from lib import ch02_tokenization as ch02  # noqa: E402
from lib.lm import tokenization as tk  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--gpt2-path", default=None, help="a directory with GPT-2's vocab.json and merges.txt")
    args = parser.parse_args(argv)
    run = rundir.run_path(args.run_dir, args.profile)
    prepared = ch01_data.prepare_with(run, profiles.resolve(args.profile), args.seed)  # reused when current
    splits, sites = prepared.splits, prepared.panel["sites"]
    texts = ch02.model_texts(run)
    public = [texts[k][s] for k in texts for s in splits["public"]]
    members = [texts[k][s] for k in texts for s in splits["train"]]
    built = {"character": tk.build_tokenizer("character"),
             "bpe": tk.build_tokenizer("bpe", train_texts=public, vocab_size=args.vocab_size, split="public"),
             "bpe-members": tk.bpe_tokenizer(members, args.vocab_size),
             "bpe-record": tk.bpe_tokenizer(members, args.vocab_size, pre_split="record"),
             "variant": tk.build_tokenizer("variant", panel_sites=sites),
             "record": tk.build_tokenizer("record", panel_sites=sites, phased=prepared.panel["phased"]),
             "gpt2": tk.build_tokenizer("gpt2", gpt2_path=args.gpt2_path)}
    print(f"run {run}: {len(texts['sparse'])} samples ({len(splits['public'])} public, "
          f"{len(splits['train'])} members), {len(sites)} panel sites")
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
    variant = mean["variant", "sparse"]
    print(f"BPE on the public people (the book's) dense / variant sparse: {mean['bpe', 'dense'] / variant:.1f}x")
    print(f"BPE on the members (GPT-2 pre-split) dense / variant sparse: {mean['bpe-members', 'dense'] / variant:.1f}x")
    print(f"BPE on the members, whole records, dense / variant sparse: {mean['bpe-record', 'dense'] / variant:.1f}x")
    # the target is against the dissertation's best (shortest) tokenizer on dense profiles
    best = min(("bpe-members", "bpe-record"), key=lambda name: mean[name, "dense"])
    print(f"best dissertation BPE ({best}) dense / variant sparse: {mean[best, 'dense'] / variant:.1f}x "
          "(target >= 15x)")
    record = mean["record", "sparse"]
    print(f"best dissertation BPE ({best}) dense / record sparse: {mean[best, 'dense'] / record:.1f}x "
          "(target >= 30x)")
    print(f"variant sparse / record sparse: {variant / record:.2f}x")
    # the floor: every non-reference record one token, plus <START_SAMPLE>, the population tag and <END_SAMPLE>
    floor = float(np.mean([len(sample.records) + 2 + (sample.population is not None)
                           for sample in map(tk.text_to_sample, texts["sparse"].values())]))
    print(f"record sparse / floor (one token per non-reference record + start, tag, end): {record / floor:.3f}x")


if __name__ == "__main__":
    main()
