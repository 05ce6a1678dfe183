"""Training throughput: the minGPT against GPT-2 at the same shape, side by side.

Prints the training speed (non-padding tokens per second, forward + backward + AdamW
step) of both families built with the ``quick`` profile's sizes (or another profile's),
on the same random batches, alternating between the two so that both see the same
machine load, and the ratio between them. Not a test; nothing is asserted.

Run: ``.venv/bin/python bench/bench_training.py [profile] [seq_len] [steps]``
(defaults: quick, 1,100 tokens -- about a ``quick`` profile of 1,000 sites -- and 6 steps).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.lm import models, training  # noqa: E402
from lib.core.profiles import get_profile  # noqa: E402

VOCAB = {"vocab_size": 4_104, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}


def step_time(model, optimizer, batch) -> float:
    started = time.perf_counter()
    loss, _, _ = training._forward_loss(model, batch, torch.device("cpu"), 0)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - started


def main(profile: str = "quick", seq_len: int = 1_100, steps: int = 6) -> None:
    settings = get_profile(profile)
    batch_size = settings["train_batch_size"]
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(3, VOCAB["vocab_size"], (seq_len,), generator=g).tolist() for _ in range(batch_size)]
    batch = training.collate([training.TokenDataset(seqs, 0)[i] for i in range(batch_size)])
    tokens = int(batch[1].sum())
    built = {}
    for family in models.FAMILIES:
        # a context sized from public data ("public") gets exactly seq_len
        model = models.build_model(family, models.sizes_from_profile(settings, family, block_size=seq_len), VOCAB,
                                   seed=0).train()
        built[family] = (model, training.make_optimizer(model, 1e-3, 0.1))
        step_time(*built[family], batch)  # warm-up
    times = {family: [] for family in built}
    for _ in range(steps):
        for family, (model, optimizer) in built.items():
            times[family].append(step_time(model, optimizer, batch))
    print(f"profile={profile} sizes={models.sizes_from_profile(settings, 'mingpt', block_size=seq_len)} batch={batch_size}x{seq_len} "
          f"threads={torch.get_num_threads()} steps={steps}")
    rate = {}
    for family, (model, _) in built.items():
        median = sorted(times[family])[len(times[family]) // 2]
        rate[family] = tokens / median
        print(f"{family:7s} {models.num_parameters(model):>10,d} parameters  "
              f"{median:7.3f} s/step  {rate[family]:>9,.0f} tokens/s")
    print(f"minGPT / GPT-2 throughput ratio: {rate['mingpt'] / rate['gpt2']:.2f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else "quick", int(args[1]) if len(args) > 1 else 1_100,
         int(args[2]) if len(args) > 2 else 6)
