"""Private training throughput at the quick shape: the settings before issue 10 and now.

    python bench/bench_private_throughput.py [--run-dir data/runs/quick] [--rounds 2] [--threads N]

On the run directory's real members (the data and tokenization chapters must have run:
``make book`` or ``python -m lib.book --profile quick --chapters 01,02``), trains each
family privately for one epoch of Poisson batches (noise multiplier 1, clipping bound 1,
the profile's batch size and physical batch; the accountant's noise search is skipped, it
is not training) through the book's own path -- :func:`lib.dp.privacy.make_private` and
:func:`lib.lm.training.train` -- once with the quick profile's settings **before** (both
families on the variant tokenizer, a learned table of 2,048 positions, untied embeddings)
and once **now** (:data:`lib.runs.artefacts.MAIN_TOKENIZERS`: the minGPT on one-token records with
fixed sinusoidal positions and tied embeddings; a context sized from the public people for
both). The configurations take turns, the order reversed every other round, so that drift
in the machine's load falls on both alike.

Prints per family and configuration: parameters, context, the median over rounds of
non-padding tokens per second and of members (training sequences) per second, and the
ratios now / before. A one-token record carries a whole record, so tokens per second
understate what the record tokenizer gains: members per second is the number to read for
"how long does an epoch take". Not a test; nothing is asserted. Run it on an idle machine.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from lib.runs import artefacts, experiments  # noqa: E402
from lib.lm import models, training
from lib.dp import privacy
from lib.core import profiles, rundir
from lib.lm import tokenization as tk  # noqa: E402
from tune_dp import BEFORE  # noqa: E402  (the quick profile's settings before issue 10)


def configurations(family: str) -> dict[str, tuple[str, dict]]:
    return {"before": ("variant", BEFORE), "now": (artefacts.main_tokenizer(family), {})}


def one_epoch(run: Path, family: str, tokenizer_name: str, overrides: dict) -> dict:
    settings = profiles.resolve("quick", **overrides)
    tokenizer = tk.load(run, tokenizer_name)
    sizes = artefacts.model_sizes(run, settings, family, tokenizer)
    train_ids, val_ids, _ = experiments.training_ids(run, tokenizer, tokenizer_name, sizes)
    config = training.config_from_profile(dict(settings), family, seed=0, epochs=1, progress=False)
    model = models.build_model(family, sizes, tokenizer, seed=0)
    optimizer = training.make_optimizer(model, config.lr, config.weight_decay, config.betas)
    private = privacy.make_private(model, optimizer, train_ids, batch_size=config.batch_size, max_grad_norm=1.0,
                                   epochs=1, noise_multiplier=1.0, delta=settings["dp_delta"],
                                   max_physical_batch_size=settings["dp_max_physical_batch_size"], seed=0)
    history = training.train(private.model, None, val_ids[:16], config, private=private)
    epoch = history["epochs"][0]
    return {"parameters": models.num_parameters(model), "context": int(sizes["block_size"]),
            "tokens_per_s": epoch["tokens_per_s"], "members_per_s": len(train_ids) / epoch["seconds"] * 1.0,
            "tokens_per_member": epoch["tokens"] / len(train_ids)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default=None, help="default: data/runs/quick")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--families", default="mingpt,gpt2")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    run = rundir.run_path(args.run_dir, "quick")
    print(f"run {run}: {len(artefacts.load_splits(run)['train'])} members, {torch.get_num_threads()} threads, "
          f"{args.rounds} rounds of one private epoch per configuration")
    print("| family | settings | tokenizer | parameters | context | tokens / member | non-padding tokens / s "
          "| members / s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = []
    for family in args.families.split(","):
        configs = configurations(family)
        results: dict[str, list[dict]] = {name: [] for name in configs}
        for round_ in range(args.rounds):
            order = list(configs) if round_ % 2 == 0 else list(reversed(configs))
            for name in order:
                results[name].append(one_epoch(run, family, *configs[name]))
        median = {name: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
                  for name, rows in results.items()}
        for name, m in median.items():
            print(f"| {family} | {name} | {configs[name][0]} | {m['parameters']:,.0f} | {m['context']:,.0f} | "
                  f"{m['tokens_per_member']:.1f} | {m['tokens_per_s']:,.0f} | {m['members_per_s']:.1f} |", flush=True)
        summary.append((family, median["now"]["tokens_per_s"] / median["before"]["tokens_per_s"],
                        median["now"]["members_per_s"] / median["before"]["members_per_s"]))
    for family, tokens, members in summary:
        print(f"{family}: now / before = {tokens:.2f}x non-padding tokens per second, {members:.2f}x members per second")


if __name__ == "__main__":
    main()
