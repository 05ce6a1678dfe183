"""Private training on several processes: ``torchrun`` and Opacus' DPDDP.

A user with several GPUs (or several machines) trains one private model with one process
per device. Opacus' recipe, followed here:

* **The model** is wrapped in ``DifferentiallyPrivateDistributedDataParallel`` (DPDDP),
  which broadcasts rank 0's weights at the start; gradients are *not* averaged in the
  backward pass as ``DistributedDataParallel`` would (that would mix people before
  clipping) but in the optimizer step, after every process has clipped its own
  per-sample gradients (``DistributedDPOptimizer``). Only rank 0 adds the noise, so the
  noise of a step is the single-process noise, ``sigma * C`` per coordinate.
* **Sampling** stays Poisson over the *whole* training set: each process owns a fixed
  share of the sequences and draws each of them independently with the same rate ``q =
  1 / ceil(n / global_batch)``, from its own seeded generator (the processes' draws must
  be independent for the union to be a Poisson sample: every rank's sampler and noise
  seeds are distinct words of one ``SeedSequence``, :func:`lib.dp.privacy.stream_seeds`). The union of
  the local batches is then exactly the single-process Poisson batch in distribution, so
  the accounting -- ``(q, sigma, steps)`` -- is the single-process accounting of the same
  global batch. Opacus' own distributed sampler skips a step whenever a process's local
  batch is empty, which would desynchronise the processes (the others wait in the
  all-reduce) and under-count noise steps; :class:`DistributedPoissonSampler` yields
  the empty batch, and :func:`lib.lm.training.train` takes the noise-only step.
* **Everything else** is the single-process path: :func:`lib.dp.privacy.make_private` sets
  privacy up (the one place), :func:`lib.lm.training.train` trains (every process evaluates
  the whole validation split, so early stopping decides the same on every rank), and
  rank 0 writes the model and ``privacy.json`` into ``--out``, and the training history
  (a diagnostic computed on the members, never released) beside it, ``<out>.history.json``.

Run it with ``torchrun`` (one process per GPU, or ``gloo`` processes on CPU)::

    torchrun --nproc_per_node 2 -m lib.runs.distributed --run-dir data/runs/quick \\
        --family mingpt --target-epsilon 8 --out data/runs/quick/models/mingpt-eps8-ddp

The data and tokenization chapters must have run for ``--run-dir`` (the training split's
sparse profiles, the variant tokenizer); sizes and training settings come from
``--profile``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler

from . import artefacts
from ..core import profiles, rundir
from ..lm import models, tokenization, training
from ..dp import privacy

log = logging.getLogger(__name__)


class DistributedPoissonSampler(Sampler[list[int]]):
    """One process's share of a Poisson-sampled logical batch.

    The ``total_size`` sequences are dealt to the ``world_size`` processes round-robin
    (process ``rank`` owns ``rank, rank + world_size, ...``); every step, each owned
    sequence is drawn independently with probability ``sample_rate`` from ``generator``.
    Yields ``steps`` batches of indices, *including empty ones* (every process must take
    every step)."""

    def __init__(self, total_size: int, sample_rate: float, rank: int, world_size: int,
                 steps: int, generator: torch.Generator) -> None:
        if not 0 < sample_rate <= 1:
            raise ValueError(f"sample_rate={sample_rate} must lie in (0, 1]")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank={rank} must lie in [0, world_size={world_size})")
        self.indices = torch.arange(rank, total_size, world_size)
        self.sample_rate, self.steps, self.generator = sample_rate, steps, generator

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.steps):
            mask = torch.rand(len(self.indices), generator=self.generator) < self.sample_rate
            yield self.indices[mask].tolist()


def _backend() -> str:
    return "nccl" if torch.cuda.is_available() else "gloo"


def train_distributed(train_ids: Sequence[Sequence[int]], val_ids: Sequence[Sequence[int]] | None,
                      tokenizer, family: str, sizes: dict, config, *, out: str | os.PathLike,
                      target_epsilon: float | None = None, noise_multiplier: float | None = None,
                      delta: float = 1e-5, max_grad_norm: float = 1.0, accountant: str = "prv",
                      seed: int = 0, metadata: dict | None = None) -> dict:
    """Train one private model across the processes of the current process group (call
    it from every process; ``torchrun`` sets the group up through the environment).
    ``config`` is a :class:`lib.lm.training.TrainConfig` whose ``batch_size`` is the *global*
    logical batch. Returns ``privacy.json``'s record (on every rank)."""
    from opacus.distributed import DifferentiallyPrivateDistributedDataParallel as DPDDP

    rank, world = dist.get_rank(), dist.get_world_size()
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    config = dataclasses.replace(config, device=str(device), checkpoint_dir=None,
                                 progress=config.progress and rank == 0)
    model = models.build_model(family, sizes, tokenizer, seed=seed).to(device)
    model = DPDDP(model)  # broadcasts rank 0's weights
    optimizer = training.make_optimizer(model, config.lr, config.weight_decay, config.betas)
    block = int(sizes["block_size"])  # a longer profile is cut, as lib.runs.experiments.training_ids does
    dataset = training.TokenDataset(train_ids, tokenizer.pad_token_id, block, on_overflow="truncate")
    val_ids = [ids[:block] for ids in val_ids] if val_ids is not None else None
    private = privacy.make_private(model, optimizer, dataset, batch_size=config.batch_size,
                                   max_grad_norm=max_grad_norm, epochs=config.epochs,
                                   target_epsilon=target_epsilon, noise_multiplier=noise_multiplier,
                                   delta=delta, accountant=accountant, seed=seed, rank=rank, device=device)
    settings = private.settings
    sampler_seed, _ = privacy.stream_seeds(seed, rank)
    sampler = DistributedPoissonSampler(len(dataset), settings.sample_rate, rank, world, settings.steps_per_epoch,
                                        torch.Generator().manual_seed(sampler_seed))
    # Opacus' DPDataLoader collate function turns an empty batch into zero-length tensors
    private.loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=private.loader.collate_fn)
    history = training.train(private.model, None, val_ids, config, private=private)
    record = dict(private.record(), world_size=world, backend=dist.get_backend())
    if rank == 0:
        models.save_model(private.model, out, tokenizer=tokenizer,  # GPT-2 goes back to Conv1D
                          metadata=dict(metadata or {}, world_size=world, seed=seed))
        rundir.write_json(Path(out) / privacy.PRIVACY_JSON, record)  # with world_size and backend
        # the history (losses on the members, clipping statistics) is a diagnostic
        # outside the guarantee: beside the model directory, not in it
        rundir.write_json(Path(f"{out}.history.json"), history)
    dist.barrier()
    return record


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="torchrun ... -m lib.runs.distributed", description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="a run directory with the data and tokenization chapters")
    parser.add_argument("--profile", default="quick", help="sizes and training settings (default quick)")
    parser.add_argument("--family", choices=("mingpt", "gpt2"), default="mingpt")
    privacy_group = parser.add_mutually_exclusive_group(required=True)
    privacy_group.add_argument("--target-epsilon", type=float)
    privacy_group.add_argument("--noise-multiplier", type=float)
    parser.add_argument("--delta", type=float, default=None, help="default: the profile's dp_delta")
    parser.add_argument("--max-grad-norm", type=float, default=None, help="default: the profile's dp_max_grad_norm")
    parser.add_argument("--accountant", choices=("prv", "rdp"), default="prv")
    parser.add_argument("--epochs", type=int, default=None, help="default: the profile's train_epochs")
    parser.add_argument("--batch-size", type=int, default=None, help="global logical batch (default: the profile's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="the model directory to write (rank 0)")
    args = parser.parse_args(argv)

    settings = profiles.resolve(args.profile)
    run = Path(args.run_dir)
    # the family's main tokenizer; a clear error if the tokenization chapter has not run
    tokenizer = tokenization.load(run, artefacts.main_tokenizer(args.family))
    sizes = artefacts.model_sizes(run, settings, args.family, tokenizer)
    overrides = {k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size}.items() if v is not None}
    config = training.config_from_profile(settings, args.family, seed=args.seed, **overrides)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    dist.init_process_group(backend=_backend())
    try:
        record = train_distributed(
            *(artefacts.encode_split(run, tokenizer, split, with_population=bool(settings["population_tags"]))
              for split in ("train", "validation")),
            tokenizer, args.family, sizes, config, out=args.out,
            target_epsilon=args.target_epsilon, noise_multiplier=args.noise_multiplier,
            delta=args.delta if args.delta is not None else settings["dp_delta"],
            max_grad_norm=args.max_grad_norm if args.max_grad_norm is not None else settings["dp_max_grad_norm"],
            accountant=args.accountant, seed=args.seed,
            metadata={"run_dir": str(run), "profile": args.profile, "family": args.family})
        if dist.get_rank() == 0:
            print(json.dumps({k: record[k] for k in ("epsilon", "delta", "sample_rate", "noise_multiplier",
                                                      "steps", "accountant", "world_size")}))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
