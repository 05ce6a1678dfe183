"""Generation throughput: with the key/value cache against recomputing the prefix.

For both families built with the ``quick`` profile's sizes (or another profile's),
untrained (the speed does not depend on the weights), samples a batch of sequences of a
fixed length -- the end token is never drawn, so every sequence runs to the full length --
once with ``use_cache=True`` (each step feeds only the newest token) and once with
``use_cache=False`` (each step feeds the whole prefix again), and prints generated tokens
per second and the ratio, side by side, at lengths typical of the ``quick`` profile's
sparse variant-token profiles and at a longer one. Not a test; nothing is
asserted.

Run: ``.venv/bin/python bench/bench_generation.py [profile] [lengths] [batch] [threads]``
(defaults: quick, ``120,175,700``, 16, torch's default thread count; lengths comma-separated).
The mean sparse profile of the ``quick`` panel is about 120 variant tokens, the longest about
175. Run it on an idle machine: torch's OpenMP threads compete badly with other processes
(on a loaded 2-core machine a decoding step took 25x longer with 2 threads than with 1).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import generation, models, training  # noqa: E402
from lib.profiles import get_profile  # noqa: E402

# about the variant tokenizer of the quick panel: 1,000 site tokens, genotypes, specials
VOCAB = {"vocab_size": 1_100, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
NEVER = -1  # an end token id that is never drawn: every sequence runs to its full length


def tokens_per_second(model, length: int, batch: int, use_cache: bool) -> float:
    config = generation.SamplingConfig(max_new_tokens=length, batch_size=batch)
    started = time.perf_counter()
    out = generation.generate(model, [VOCAB["bos_token_id"]], batch, NEVER, config, seed=0, use_cache=use_cache)
    seconds = time.perf_counter() - started
    assert all(len(ids) == length for ids in out)
    return batch * length / seconds


def main(profile: str = "quick", lengths: str = "120,175,700", batch: int = 16, threads: int | None = None) -> None:
    if threads:
        torch.set_num_threads(threads)
    settings = get_profile(profile)
    device = training.select_device()
    torch.set_grad_enabled(False)
    built = {}
    for family in models.FAMILIES:
        sizes = models.sizes_from_profile(settings, family)
        built[family] = models.build_model(family, sizes, VOCAB, seed=0).to(device).eval()
    sizes = models.sizes_from_profile(settings, "mingpt")
    print(f"profile={profile} ({sizes['n_layer']} layers x {sizes['n_embd']} wide, {sizes['n_head']} heads), "
          f"vocabulary {VOCAB['vocab_size']:,}, batch {batch}, device {device}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'family':>8} {'tokens':>7} {'cached tok/s':>13} {'uncached tok/s':>15} {'speed-up':>9}")
    for length in (int(x) for x in lengths.split(",")):
        for family, model in built.items():
            tokens_per_second(model, 8, batch, True)  # warm-up
            cached = tokens_per_second(model, length, batch, True)
            uncached = tokens_per_second(model, length, batch, False)
            print(f"{family:>8} {length:>7,} {cached:>13,.0f} {uncached:>15,.0f} {cached / uncached:>8.1f}x")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(args[:1]), *(args[1:2]), *[int(a) for a in args[2:4]])
