"""Generation throughput: with the key/value cache against recomputing the prefix.

For both families built with the ``quick`` profile's sizes (or another profile's),
untrained (the speed does not depend on the weights), samples a batch of sequences of a
fixed length -- the end token is never drawn, so every sequence runs to the full length --
once with ``use_cache=True`` (each step feeds only the newest token) and once with
``use_cache=False`` (each step feeds the whole prefix again; GPT-2 both ways through
:func:`lib.lm.models.gpt2_decode`, which computes the output head for the last position
only), and prints generated tokens per second and the ratio, side by side, at lengths
typical of the ``quick`` profile's sparse profiles and at a longer one. Not a test;
nothing is asserted.

Run: ``.venv/bin/python bench/bench_generation.py [profile] [lengths] [batch] [threads]``
(defaults: quick, ``55,107,175,700``, 32 -- the batch the chapters sample in --, torch's
default thread count; lengths comma-separated). On the real ``quick`` panel a sparse
profile averages about 55 tokens with the minGPT's record tokenizer (one token per record)
and 107 with GPT-2's variant tokenizer (two); the longest public one has about 175 variant
tokens. A profile whose context is ``"public"`` gets positions for the longest length
measured. Run it on an idle machine: torch's OpenMP threads compete badly with other
processes (on a loaded 2-core machine a decoding step took 25x longer with 2 threads than
with 1).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.lm import generation, models, training  # noqa: E402
from lib.core.profiles import get_profile  # noqa: E402

# about each family's tokenizer on the quick panel: the minGPT's record tokenizer (998 sites x
# 3 phased genotypes + specials), GPT-2's variant tokenizer (site tokens, genotypes, specials)
VOCABS = {"mingpt": {"vocab_size": 3_010, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2},
          "gpt2": {"vocab_size": 1_100, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}}
BOS = 1
NEVER = -1  # an end token id that is never drawn: every sequence runs to its full length


def tokens_per_second(model, length: int, batch: int, use_cache: bool) -> float:
    config = generation.SamplingConfig(max_new_tokens=length, batch_size=batch)
    started = time.perf_counter()
    out = generation.generate(model, [BOS], batch, NEVER, config, seed=0, use_cache=use_cache)
    seconds = time.perf_counter() - started
    assert all(len(ids) == length for ids in out)
    return batch * length / seconds


def main(profile: str = "quick", lengths: str = "55,107,175,700", batch: int = 32, threads: int | None = None) -> None:
    if threads:
        torch.set_num_threads(threads)
    settings = get_profile(profile)
    device = training.select_device()
    torch.set_grad_enabled(False)
    measured = [int(x) for x in lengths.split(",")]
    block = max(measured) + 1  # the context when the profile sizes it from public data
    built = {}
    for family in models.FAMILIES:
        sizes = models.sizes_from_profile(settings, family, block_size=block)
        built[family] = models.build_model(family, sizes, VOCABS[family], seed=0).to(device).eval()
    sizes = models.sizes_from_profile(settings, "mingpt", block_size=block)
    print(f"profile={profile} ({sizes['n_layer']} layers x {sizes['n_embd']} wide, {sizes['n_head']} heads), "
          f"vocabulary {VOCABS['mingpt']['vocab_size']:,} (minGPT) and {VOCABS['gpt2']['vocab_size']:,} (GPT-2), "
          f"batch {batch}, device {device}, {torch.get_num_threads()} threads")
    print(f"{'family':>8} {'tokens':>7} {'cached tok/s':>13} {'uncached tok/s':>15} {'speed-up':>9}")
    for length in measured:
        for family, model in built.items():
            tokens_per_second(model, 8, batch, True)  # warm-up
            cached = tokens_per_second(model, length, batch, True)
            uncached = tokens_per_second(model, length, batch, False)
            print(f"{family:>8} {length:>7,} {cached:>13,.0f} {uncached:>15,.0f} {cached / uncached:>8.1f}x")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(args[:1]), *(args[1:2]), *[int(a) for a in args[2:4]])
