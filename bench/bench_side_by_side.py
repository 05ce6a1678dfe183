"""Training independent models one after another or side by side: what lib.core.parallel buys.

The book trains many small models that do not depend on each other (every ε and training
seed of the grid, the attacker's reference models). This bench trains the same jobs three
ways on this machine, in one run so that all three see the same machine:

1. one after another, each with every core's thread (torch's default);
2. one after another, each with one thread (what a job of :mod:`lib.core.parallel` gets);
3. side by side, ``workers`` jobs at a time, each with one thread (:func:`lib.core.parallel.run_jobs`).

Each job trains a model of the profile's size (both families in turn; private jobs with
DP-SGD at a fixed noise multiplier, as the grid's) on random token sequences as long as a
profile's sparse sequences, for a fixed number of epochs. It prints the wall time of each
way and the ratios. Not a test; nothing is asserted.

Run: ``.venv/bin/python bench/bench_side_by_side.py [profile] [n_jobs] [seq_len] [n_people] [epochs]``
(defaults: quick, 4 jobs, 120 tokens, 488 people, 2 epochs).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCAB = {"vocab_size": 2_100, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}


def job(family: str, private: bool, profile: str, seq_len: int, n_people: int, epochs: int, seed: int) -> float:
    """One training job; returns its own seconds."""
    import torch

    from lib.lm import models, training
    from lib.dp import privacy
    from lib.core.profiles import get_profile

    settings = get_profile(profile)
    g = torch.Generator().manual_seed(seed)
    ids = [[1] + torch.randint(3, VOCAB["vocab_size"], (seq_len - 2,), generator=g).tolist() + [2]
           for _ in range(n_people)]
    model = models.build_model(family, models.sizes_from_profile(settings, family, block_size=seq_len), VOCAB,
                               seed=seed)
    config = training.config_from_profile(dict(settings), family, seed=seed, progress=False, epochs=epochs)
    started = time.perf_counter()
    if private:
        privacy.train_dp(model, ids, None, config, max_grad_norm=1.0, noise_multiplier=1.0, delta=1e-5,
                         max_physical_batch_size=settings["dp_max_physical_batch_size"], seed=seed)
    else:
        training.train(model, ids, None, config)
    return time.perf_counter() - started


def main(profile: str = "quick", n_jobs: int = 4, seq_len: int = 120, n_people: int = 488, epochs: int = 2) -> None:
    import os

    import torch

    from lib.core import parallel

    jobs = [dict(family=("mingpt", "gpt2")[i % 2], private=bool((i // 2) % 2 == 0), profile=profile, seq_len=seq_len,
                 n_people=n_people, epochs=epochs, seed=i) for i in range(n_jobs)]
    cores = os.cpu_count() or 1
    print(f"profile={profile} jobs={n_jobs} ({', '.join(('private ' if j['private'] else '') + j['family'] for j in jobs)})"
          f" people={n_people} tokens={seq_len} epochs={epochs} cores={cores}")
    started = time.perf_counter()
    torch.set_num_threads(cores)
    for j in jobs:
        job(**j)
    sequential_all = time.perf_counter() - started
    started = time.perf_counter()
    parallel.run_jobs(job, jobs, workers=1)
    sequential_one = time.perf_counter() - started
    started = time.perf_counter()
    parallel.run_jobs(job, jobs, workers=cores)
    side_by_side = time.perf_counter() - started
    print(f"one after another, {cores} threads each: {sequential_all:7.1f} s")
    print(f"one after another, 1 thread each:   {sequential_one:7.1f} s")
    print(f"side by side, {cores} workers x 1 thread: {side_by_side:7.1f} s")
    print(f"side by side is {sequential_all / side_by_side:.2f}x as fast as one after another with {cores} threads, "
          f"{sequential_one / side_by_side:.2f}x as fast as one after another with 1 thread")


if __name__ == "__main__":
    main(*(int(a) if a.isdigit() else a for a in sys.argv[1:]))
