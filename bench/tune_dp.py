"""Choosing the private models' settings without spending the members' privacy.

    python bench/tune_dp.py [--run-dir /tmp/tune] [--levers "NAME" ...] [--threads 2]

Every use of the members' data to choose a setting leaks something about them that no ε
accounts for. So the quick profile's model settings (tokenizer, context, positions, tied
embeddings, batch, learning rate, public pre-training) were chosen here, on a **simulated**
cohort of the quick profile's size and shape -- stdpopsim's OutOfAfrica_3G09, 3 x 271
people over 5 Mb, a 1,000-site panel chosen from its public tenth, the same splits -- and
never on the real members. Each lever trains one model through the book's own code
(:func:`lib.runs.experiments.train_model` at ε = ∞, :func:`lib.runs.experiments.train_private`
otherwise), writes a constrained cohort as large as the holdout and prints, one row per
lever: the best validation loss (nats per token of that lever's tokenizer: compare rows of
the same tokenizer only), the epochs run, training seconds, the synthetic people's mean and
SD of variants per person against the real holdout's, the allele-frequency correlation with
the holdout, σ and the ε spent.

``--levers`` picks rows of :data:`LEVERS` (default: all, about 1.5 minutes each on 2 cores).
The run directory is reused between calls (the cohort, the tokenizers and every model are
kept when current), so adding a lever costs only that lever. Not a test; nothing is
asserted. The goals the book asks for are in :data:`lib.ch04_dp_training.GOALS`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib.dp import budget  # noqa: E402
from lib import ch01_data, ch02_tokenization
from lib.runs import experiments
from lib.core import profiles, rundir

#: What the quick profile had before this tuning (variant tokenizer for both families, a
#: learned table of 2,048 positions, untied embeddings, learning rate 3e-3).
BEFORE = {"model_block_size": 2048, "model_tie_weights": False, "gpt2_tie_weights": False,
          "model_positions": "learned", "mingpt_train_lr": 3e-3}
INF = float("inf")

#: name -> (family, ε, tokenizer, profile overrides, pre-train the minGPT on the public people)
LEVERS: dict[str, tuple[str, float, str, dict, bool]] = {
    "before, minGPT ε=8": ("mingpt", 8.0, "variant", BEFORE, False),
    "before, minGPT ε=1": ("mingpt", 1.0, "variant", BEFORE, False),
    "+ public context": ("mingpt", 8.0, "variant", dict(BEFORE, model_block_size="public"), False),
    "+ tied": ("mingpt", 8.0, "variant", dict(BEFORE, model_block_size="public", model_tie_weights=True), False),
    "+ tied, batch 64": ("mingpt", 8.0, "variant", dict(BEFORE, model_block_size="public", model_tie_weights=True,
                                                        train_batch_size=64), False),
    "+ tied, batch 64, lr 1e-2": ("mingpt", 8.0, "variant", dict(
        BEFORE, model_block_size="public", model_tie_weights=True, train_batch_size=64, mingpt_train_lr=1e-2), False),
    "+ tied, lr 1e-2": ("mingpt", 8.0, "variant", dict(BEFORE, model_block_size="public", model_tie_weights=True,
                                                       mingpt_train_lr=1e-2), False),
    "+ tied, public pre-training": ("mingpt", 8.0, "variant", dict(BEFORE, model_block_size="public",
                                                                   model_tie_weights=True), True),
    "+ sinusoidal, lr 1e-2": ("mingpt", 8.0, "variant", {}, False),
    "+ sinusoidal, lr 1e-2, ε=1": ("mingpt", 1.0, "variant", {}, False),
    "record tokenizer (kept), ε=∞": ("mingpt", INF, "record", {}, False),
    "record tokenizer (kept), ε=8": ("mingpt", 8.0, "record", {}, False),
    "record tokenizer (kept), ε=3": ("mingpt", 3.0, "record", {}, False),
    "record tokenizer (kept), ε=1": ("mingpt", 1.0, "record", {}, False),
    "GPT-2 before, ε=8": ("gpt2", 8.0, "variant", BEFORE, False),
    "GPT-2 public context (kept), ε=8": ("gpt2", 8.0, "variant", {}, False),
    "GPT-2 record tokenizer, ε=8": ("gpt2", 8.0, "record", {}, False),
    "GPT-2 batch 32, ε=8": ("gpt2", 8.0, "variant", {"gpt2_train_batch_size": 32}, False),
    "GPT-2 lr 1e-3, ε=8": ("gpt2", 8.0, "variant", {"gpt2_train_lr": 1e-3}, False),
    "GPT-2 patience 5, ε=8": ("gpt2", 8.0, "variant", {"gpt2_train_patience": 5}, False),
    "GPT-2 public context (kept), ε=3": ("gpt2", 3.0, "variant", {}, False),
    "GPT-2 public context (kept), ε=1": ("gpt2", 1.0, "variant", {}, False),
    "GPT-2 public context (kept), ε=∞": ("gpt2", INF, "variant", {}, False),
}


def prepare(run: Path, seed: int) -> None:
    """The simulated cohort of the quick profile's size and its tokenizers (reused)."""
    settings = profiles.resolve("quick", sim_samples_per_population=271)
    prepared = ch01_data.prepare(run, ch01_data.DataSpec(source="simulate", seed=seed, n_sites=settings["n_sites"],
                                                         common_fraction=settings["common_fraction"],
                                                         sim_samples_per_population=settings["sim_samples_per_population"],
                                                         sim_length=settings["sim_length"]), progress=False)
    if not all((run / "tokenizers" / name / "tokenizer.json").exists() for name in ("variant", "record")):
        ch02_tokenization.build_tokenizers(run, ch02_tokenization.model_texts(run), vocab_size=4096)
    print(f"simulated cohort in {run}: {len(prepared.splits['train'])} members, "
          f"{len(prepared.splits['holdout'])} holdout, {len(prepared.panel['sites'])} panel sites", flush=True)


def lever(run: Path, name: str, seed: int) -> dict:
    family, epsilon, tokenizer, overrides, pretrain = LEVERS[name]
    settings = profiles.resolve("quick", **overrides)
    tag = hashlib.sha256(json.dumps([overrides, pretrain], sort_keys=True, default=str).encode()).hexdigest()[:8]
    base = None
    if family == "gpt2":
        base = experiments.public_base(run, settings, seed=seed, family="gpt2", tokenizer_name=tokenizer)
    elif pretrain:
        base = experiments.public_base(run, settings, seed=seed, family="mingpt", tokenizer_name=tokenizer)
    started = time.perf_counter()
    if epsilon == INF:
        model, history, directory = experiments.train_model(
            run, family, tokenizer, settings, seed=seed, base_model=base,
            name=f"tune-{family}-{tokenizer}-{tag}-epsinf")
        record = None
    else:
        model, history, directory, record = experiments.train_private(run, family, epsilon, settings, seed=seed,
                                                               base_model=base, tokenizer_name=tokenizer)
    seconds = time.perf_counter() - started
    label = f"tune-{family}-{tokenizer}-{tag}-{budget.name_text(epsilon)}"
    cohorts = experiments.synthesize_all(run, {label: dict(model=model, directory=directory, tokenizer=tokenizer)},
                                         experiments.holdout_size(run), seed=seed)
    look = experiments.record_first_look(run, cohorts, metrics_name="tune").set_index("cohort")
    row, real = look.loc[label], look.loc["holdout (real)"]
    return {"lever": name, "family": family, "ε": epsilon, "tokenizer": tokenizer,
            "params": sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()),
            "val loss": history["best_val_loss"], "epochs": len(history["epochs"]), "train s": seconds,
            "variants": row["variants per sample"], "sd": row["sd"], "real": real["variants per sample"],
            "real sd": real["sd"], "AF r": row["AF r (holdout)"],
            "σ": record and record["noise_multiplier"], "ε spent": record and record["epsilon"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="/tmp/tune")
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), metavar="NAME", help="names of LEVERS (quoted)")
    parser.add_argument("--seed", type=int, default=7, help="the simulation's seed")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    names = list(args.levers)
    unknown = [n for n in names if n not in LEVERS]
    if unknown:
        parser.error(f"unknown levers {unknown}; choose from {list(LEVERS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    run = rundir.run_path(args.run_dir, "quick")
    prepare(run, args.seed)
    print("| lever | ε | params | val loss | epochs | train s | variants / person (real) | SD (real) | AF r | σ |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        r = lever(run, name, seed=0)
        sigma = "–" if r["σ"] is None else f"{r['σ']:.3f}"
        print(f"| {name} | {budget.name_text(r['ε'])} | {r['params']:,} | {r['val loss']:.3f} | {r['epochs']} | "
              f"{r['train s']:.0f} | {r['variants']:.1f} ({r['real']:.1f}) | {r['sd']:.1f} ({r['real sd']:.1f}) | "
              f"{r['AF r']:.3f} | {sigma} |", flush=True)


if __name__ == "__main__":
    main()
