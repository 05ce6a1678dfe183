"""Training: one loop for both model families, private or not.

The loop is the textbook one -- AdamW (weight decay on matrices only, never on biases,
norms), a learning rate that warms up linearly and then decays along a cosine, optional
gradient clipping, a validation loss after every epoch, early stopping when it stops
improving -- written so that the private-training chapter reuses it unchanged: it hands
in what :func:`lib.dp.privacy.make_private` set up (``private=``: Opacus' wrapped model, its
``DPOptimizer``, a Poisson ``DPDataLoader`` and the accountant); the loop then skips the
global gradient clipping (DP-SGD clips per person) and records epsilon after every epoch.
(Any other caller may hand in its own optimizer and data loader.)

What private training changes in the loop (:mod:`lib.dp.privacy` sets it up):

* the loss. Opacus clips one gradient per sequence, and that gradient must depend on
  that sequence alone: the token-weighted batch mean of the non-private loop divides by
  the targets of the *whole* batch, so a person's gradient would shrink or grow with
  whoever else was sampled. In private training the loss is instead the mean over
  sequences of each sequence's own mean next-token loss (:func:`sequence_loss`); the
  history still reports the token-weighted mean.
* logical and physical batches. ``max_physical_batch_size`` splits each Poisson batch
  as Opacus' ``BatchMemoryManager`` does; the ``DPOptimizer`` then only clips and
  accumulates on every physical batch but the last of a logical one
  (``optimizer._is_last_step_skipped``), and the scheduler and the ``steps`` of the
  history count only the real -- logical -- steps.
* empty batches. Poisson sampling now and then draws nobody; the model is then not run,
  but the step is still taken -- the noise alone -- and accounted.
* the order zero_grad, forward, backward, step, and ``input_ids`` passed positionally:
  Opacus' expanded-weights mode (the minGPT's) requires both (:mod:`lib.dp.grad_samplers`).
* checkpoints also hold the accountant's history and the noise generator's state, so a
  resumed private run accounts for every step already taken.

Every forward call passes ``input_ids``, ``attention_mask`` and ``position_ids`` (a row
per sequence; Opacus needs positions as an input), and the loss ignores padding
(:func:`lib.lm.models.lm_loss`).

Batches. :class:`TokenDataset` holds token-id lists left-aligned and padded on the
right to the longest sequence, each item a tuple of fixed-shape tensors (what Opacus'
Poisson loader expects); :func:`collate` trims a batch's all-padding columns. A sequence
longer than the model's ``block_size`` is an error by default (the policy
``on_overflow="truncate"`` cuts it and warns once with the count): silently cutting
genotype profiles would drop the end of the chromosome without anyone noticing.

Reproducibility. Same seed, same data, same weights on CPU: the global torch seed
(dropout), a seeded ``torch.Generator`` for the shuffle, deterministic algorithms. A
checkpoint is written after every epoch (atomically: a new directory, then the pointer
``latest.json``) with the model (safetensors), the optimizer's tensors (safetensors) and
everything else -- scheduler, epoch, history, early-stopping state, the RNG states -- as
JSON or safetensors; nothing is pickled. Resuming from it gives bit-identical weights to
an uninterrupted run.
"""
from __future__ import annotations

import base64
import json
import math
import os
import random
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from . import models
from ..core import rundir


# --------------------------------------------------------------------------------------
# Device
# --------------------------------------------------------------------------------------

def select_device(override: str | torch.device | None = None) -> torch.device:
    """``override`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), else the first
    available of CUDA, Apple MPS and the CPU."""
    if override is not None:
        device = torch.device(override)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={str(override)!r} requested but CUDA is not available")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device={str(override)!r} requested but MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# --------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------

def _check_lengths(sequences: Sequence[Sequence[int]], block_size: int | None,
                   on_overflow: str) -> list[list[int]]:
    if on_overflow not in ("error", "truncate"):
        raise ValueError(f"on_overflow={on_overflow!r}; choose 'error' or 'truncate'")
    sequences = [list(map(int, seq)) for seq in sequences]
    if block_size is None:
        return sequences
    long = [len(seq) for seq in sequences if len(seq) > block_size]
    if long:
        message = (f"{len(long)} of {len(sequences)} sequences are longer than block_size="
                   f"{block_size} (longest {max(long)} tokens)")
        if on_overflow == "error":
            raise ValueError(message + "; raise block_size or pass on_overflow='truncate'")
        warnings.warn(message + f"; truncated to {block_size} tokens", stacklevel=3)
        sequences = [seq[:block_size] for seq in sequences]
    return sequences


def pad_batch(sequences: Sequence[Sequence[int]], pad_token_id: int, block_size: int | None = None,
              on_overflow: str = "error") -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask`` and ``position_ids`` (each ``(n, longest)``) of
    token-id lists, left-aligned and padded on the right with ``pad_token_id``."""
    sequences = _check_lengths(sequences, block_size, on_overflow)
    if any(len(seq) == 0 for seq in sequences):
        raise ValueError("an empty token sequence cannot be trained on")
    length = max((len(seq) for seq in sequences), default=0)
    input_ids = torch.full((len(sequences), length), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention_mask[row, :len(seq)] = 1
    position_ids = torch.arange(length).unsqueeze(0).expand(len(sequences), length).contiguous()
    return {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}


class TokenDataset(Dataset):
    """Token-id lists as fixed-shape ``(input_ids, attention_mask, position_ids)`` items."""

    def __init__(self, sequences: Sequence[Sequence[int]], pad_token_id: int,
                 block_size: int | None = None, on_overflow: str = "error") -> None:
        if len(sequences) == 0:
            raise ValueError("TokenDataset needs at least one sequence")
        batch = pad_batch(sequences, pad_token_id, block_size, on_overflow)
        self.input_ids = batch["input_ids"]
        self.attention_mask = batch["attention_mask"]
        self.position_ids = batch["position_ids"]
        self.pad_token_id = pad_token_id

    def __len__(self) -> int:
        return self.input_ids.size(0)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.input_ids[index], self.attention_mask[index], self.position_ids[index]

    @property
    def n_tokens(self) -> int:
        return int(self.attention_mask.sum())


def collate(items: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    """Stack items and drop the columns that are padding in every row of the batch."""
    input_ids, attention_mask, position_ids = (torch.stack(parts) for parts in zip(*items))
    keep = int(attention_mask.sum(dim=0).nonzero().max()) + 1 if attention_mask.any() else 1
    return input_ids[:, :keep], attention_mask[:, :keep], position_ids[:, :keep]


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A single-process loader whose shuffle comes from its own seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                      generator=generator, num_workers=0)


# --------------------------------------------------------------------------------------
# Optimizer and schedule
# --------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """Everything the loop needs besides the model and the data.

    ``warmup_fraction`` of all steps warm the learning rate up linearly from 0 to ``lr``,
    then a cosine brings it to ``lr * min_lr_ratio``. ``grad_clip`` is the global norm
    clip (None: off; ignored under a privacy engine, which clips per sample).
    ``patience``: stop after that many epochs without a lower validation loss (None:
    never). ``checkpoint_dir``: where checkpoints go (None: none are written);
    ``resume``: continue from the latest one there."""
    epochs: int = 1
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_fraction: float = 0.1
    min_lr_ratio: float = 0.1
    grad_clip: float | None = 1.0
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    seed: int = 0
    device: str | None = None
    deterministic: bool = True
    on_overflow: str = "error"
    checkpoint_dir: str | None = None
    resume: bool = True
    progress: bool = True


def make_optimizer(model: nn.Module, lr: float, weight_decay: float,
                   betas: tuple[float, float] = (0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (weights of linear layers and embeddings) only."""
    decay, no_decay, seen = [], [], set()
    for param in model.parameters():
        if not param.requires_grad or id(param) in seen:
            continue
        seen.add(id(param))
        (decay if param.dim() >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), foreach=False)


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                   min_lr_ratio: float = 0.1) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``min_lr_ratio`` of the rate."""
    total_steps, warmup_steps = max(1, total_steps), max(0, warmup_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --------------------------------------------------------------------------------------
# Checkpoints: safetensors and JSON only
# --------------------------------------------------------------------------------------

def _loader_generators(loader: Any) -> list[torch.Generator]:
    """The generators that decide a loader's batches (shuffle, or Opacus' Poisson sampler)."""
    found: list[torch.Generator] = []
    for owner in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator) and all(generator is not g for g in found):
            found.append(generator)
    return found


def _rng_state(generators: list[torch.Generator]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {"torch_cpu": torch.get_rng_state()}
    for i, generator in enumerate(generators):
        tensors[f"loader_{i}"] = generator.get_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda_{i}"] = state
    np_state = np.random.get_state()
    plain = {"python": base64.b64encode(json.dumps(random.getstate()).encode()).decode(),
             "numpy": [np_state[0], np_state[1].tolist(), *map(_plain, np_state[2:])]}
    return tensors, plain


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _set_rng_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any],
                   generators: list[torch.Generator]) -> None:
    torch.set_rng_state(tensors["torch_cpu"])
    for i, generator in enumerate(generators):
        if f"loader_{i}" in tensors:
            generator.set_state(tensors[f"loader_{i}"])
    if torch.cuda.is_available():
        states = [tensors[k] for k in sorted(tensors) if k.startswith("cuda_")]
        if states:
            torch.cuda.set_rng_state_all(states)
    state = json.loads(base64.b64decode(plain["python"]))
    random.setstate((state[0], tuple(state[1]), state[2]))
    name, keys, *rest = plain["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))


def _split_optimizer_state(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state_dict as tensors (for safetensors) and the rest (for JSON)."""
    tensors, plain_state = {}, {}
    for index, values in state_dict["state"].items():
        plain_state[str(index)] = {}
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain_state[str(index)][key] = value
    return tensors, {"state": plain_state, "param_groups": state_dict["param_groups"]}


def _join_optimizer_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, tensor in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    groups = [dict(group, betas=tuple(group["betas"])) if "betas" in group else group
              for group in plain["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(directory: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, trainer_state: dict[str, Any], loaders: list[Any]) -> Path:
    """Write ``epoch-NNNN/`` under ``directory`` and then point ``latest.json`` at it."""
    from safetensors.torch import save_file, save_model

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{trainer_state['epoch']:04d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=directory))
    try:
        save_model(models.unwrap(model), str(tmp / "model.safetensors"))
        opt_tensors, opt_plain = _split_optimizer_state(optimizer.state_dict())
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        rng_tensors, rng_plain = _rng_state([g for loader in loaders for g in _loader_generators(loader)])
        save_file(rng_tensors, str(tmp / "rng.safetensors"))
        rundir.write_json(tmp / "trainer_state.json", dict(
            trainer_state, optimizer=opt_plain, rng=rng_plain,
            scheduler=scheduler.state_dict() if scheduler is not None else None))
        final = directory / name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rundir.write_json(directory / "latest.json", {"epoch": trainer_state["epoch"], "path": name})
    for old in directory.glob("epoch-*"):  # keep only the newest
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return directory / name


def load_checkpoint(directory: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, loaders: list[Any]) -> dict[str, Any] | None:
    """Restore the latest checkpoint under ``directory`` into the given objects; returns
    the trainer state (epoch, history, early-stopping state), or None when there is none."""
    from safetensors.torch import load_file, load_model

    pointer = Path(directory) / "latest.json"
    if not pointer.exists():
        return None
    path = Path(directory) / json.loads(pointer.read_text())["path"]
    state = json.loads((path / "trainer_state.json").read_text())
    load_model(models.unwrap(model), str(path / "model.safetensors"))
    optimizer.load_state_dict(_join_optimizer_state(load_file(str(path / "optimizer.safetensors")),
                                                    state.pop("optimizer")))
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(load_file(str(path / "rng.safetensors")), state.pop("rng"),
                   [g for loader in loaders for g in _loader_generators(loader)])
    return state


# --------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------

def _as_dataset(data: Any, pad_token_id: int, block_size: int | None, on_overflow: str) -> Dataset:
    if data is None or isinstance(data, Dataset):
        return data
    return TokenDataset(data, pad_token_id, block_size, on_overflow)


def sequence_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss of private training: the mean over the batch's sequences of each one's mean
    next-token loss (so one sequence's gradient depends on that sequence alone), and,
    detached, the token-weighted mean :func:`lib.lm.models.lm_loss` reports."""
    batch, length, vocab = logits.shape
    targets = labels[:, 1:]
    per_token = F.cross_entropy(logits[:, :-1, :].reshape(-1, vocab).float(), targets.reshape(-1),
                                ignore_index=models.IGNORE_INDEX, reduction="none").view(batch, length - 1)
    counts = (targets != models.IGNORE_INDEX).sum(dim=1)
    per_sequence = per_token.sum(dim=1) / counts.clamp(min=1)
    token_mean = per_token.detach().sum() / counts.sum().clamp(min=1)
    return per_sequence.sum() / max(batch, 1), token_mean


def _forward_loss(model: nn.Module, batch: Sequence[torch.Tensor], device: torch.device,
                  pad_token_id: int | None, per_sequence: bool = False) -> tuple[torch.Tensor, int, float]:
    """The loss to differentiate, the number of targets and the token-weighted mean loss.
    ``input_ids`` goes first and positionally (Opacus' expanded weights read the batch
    from it); ``per_sequence`` selects :func:`sequence_loss` (private training)."""
    input_ids, attention_mask, position_ids = (t.to(device) for t in batch)
    output = model(input_ids, attention_mask=attention_mask, position_ids=position_ids)
    labels = models.make_labels(input_ids, attention_mask, pad_token_id)
    n_targets = int((labels[:, 1:] != models.IGNORE_INDEX).sum())
    if per_sequence:
        loss, token_mean = sequence_loss(output.logits, labels)
        return loss, n_targets, float(token_mean)
    loss = models.lm_loss(output.logits, labels)
    return loss, n_targets, float(loss.detach())


def _noise_only_step(optimizer: torch.optim.Optimizer) -> None:
    """Prepare a ``DPOptimizer`` step for an empty Poisson batch: no sequence was drawn,
    so every per-sample gradient is an empty ``(0, *shape)`` tensor; ``step()`` then adds
    (and accounts for) the noise alone."""
    for param in optimizer.params:
        param.grad_sample = torch.zeros((0, *param.shape), dtype=param.dtype, device=param.device)


@torch.no_grad()
def mean_loss(model: nn.Module, loader: DataLoader, device: torch.device | None = None) -> float:
    """Mean next-token loss over every non-padding target of ``loader``."""
    model = models.unwrap(model)  # an Opacus wrapper would compute per-sample gradients for nothing
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    pad = model.config.pad_token_id
    for batch in loader:
        _, n, loss = _forward_loss(model, batch, device, pad)
        total += loss * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


def train(model: nn.Module, train_data: Any, val_data: Any = None, config: TrainConfig | None = None, *,
          private: Any = None, optimizer: torch.optim.Optimizer | None = None, train_loader: Any = None,
          on_epoch_end: Callable[[dict[str, Any], nn.Module], None] | None = None,
          history_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Train ``model`` (either family) and return its history.

    ``train_data``/``val_data``: token-id lists or a :class:`TokenDataset` (``val_data``
    None: no validation, no early stopping). ``private``: a
    :class:`lib.dp.privacy.PrivateTraining` (what :func:`lib.dp.privacy.make_private` returns;
    ``train_data`` is then None): its Poisson loader, ``DPOptimizer`` and accountant are
    used, the loss is :func:`sequence_loss`, the global clip is skipped, each logical batch
    is split into physical ones of at most ``settings.max_physical_batch_size``, and every
    epoch records ``epsilon`` and the clipping statistics. Without ``private``, a caller
    may still hand in its own ``optimizer`` and ``train_loader``.
    ``on_epoch_end(entry, model)`` may add fields to an epoch's history entry. The history
    (per epoch: train and validation loss, optimizer steps, tokens per second, learning
    rate, seconds) is saved as JSON to ``history_path`` or ``<checkpoint_dir>/history.json``.

    The steps: :func:`_start` (loaders, optimizer, schedule, a resumed checkpoint), then
    per epoch :func:`_train_epoch` and :func:`_end_epoch` (validation, accounting, early
    stopping, checkpoint), then :func:`_finish` (the best epoch's weights, the history)."""
    config = config or TrainConfig()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(config.seed)
    try:
        session = _start(model, train_data, val_data, config, private, optimizer, train_loader)
        for epoch in range(session.state["epoch"] + 1, config.epochs + 1):
            if session.state["stopped_early"]:
                break
            entry = _train_epoch(session, epoch)
            _end_epoch(session, entry, on_epoch_end)
        history = _finish(session)
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
    path = history_path or (Path(config.checkpoint_dir) / "history.json" if config.checkpoint_dir else None)
    if path is not None:
        rundir.write_json(path, history)
    return history


@dataclass
class _Session:
    """What one call of :func:`train` works with."""
    model: nn.Module
    base: nn.Module                 # the model inside Opacus' and the distributed wrappers
    config: TrainConfig
    device: torch.device
    pad: int
    train_loader: Any
    val_loader: Any
    optimizer: Any
    scheduler: Any
    private: Any
    rng_owners: list[Any]           # whatever holds a generator a checkpoint must save
    state: dict[str, Any]           # epoch, history, early-stopping state (checkpointed)
    best_weights: dict[str, torch.Tensor] | None = None

    @property
    def best_path(self) -> Path | None:
        return Path(self.config.checkpoint_dir) / "best.safetensors" if self.config.checkpoint_dir else None


def _start(model: nn.Module, train_data: Any, val_data: Any, config: TrainConfig, private: Any,
           optimizer: Any, train_loader: Any) -> _Session:
    """Loaders, optimizer and schedule (the caller's or new ones), and the state of a
    checkpoint to resume from (refused when it was made with other settings)."""
    base = models.unwrap(model)
    pad = base.config.pad_token_id
    if pad is None:
        raise ValueError("the model's config has no pad_token_id; build it from a tokenizer with a pad token")
    block_size = getattr(base.config, "block_size", None) or getattr(base.config, "n_positions", None)
    device = select_device(config.device)
    model.to(device)
    if private is not None:
        optimizer, train_loader = private.optimizer, private.loader
    if train_loader is None:
        dataset = _as_dataset(train_data, pad, block_size, config.on_overflow)
        train_loader = make_loader(dataset, config.batch_size, shuffle=True, seed=config.seed)
    val_set = _as_dataset(val_data, pad, block_size, config.on_overflow)
    val_loader = None if val_set is None else make_loader(val_set, config.batch_size, shuffle=False,
                                                          seed=config.seed + 1)
    optimizer = optimizer or make_optimizer(model, config.lr, config.weight_decay, config.betas)
    total_steps = max(1, len(train_loader)) * config.epochs  # logical steps (Poisson: 1 / sample rate)
    scheduler = make_scheduler(optimizer, total_steps, int(config.warmup_fraction * total_steps), config.min_lr_ratio)
    rng_owners = [train_loader] + ([val_loader] if val_loader is not None else [])
    rng_owners += [optimizer] if private is not None else []  # the noise generator
    settings = {k: v for k, v in asdict(config).items()
                if k not in ("device", "resume", "progress", "checkpoint_dir", "patience")}
    state: dict[str, Any] = {"epoch": 0, "epochs": [], "best_val_loss": None, "best_epoch": None,
                             "bad_epochs": 0, "stopped_early": False, "settings": settings}
    session = _Session(model, base, config, device, pad, train_loader, val_loader, optimizer, scheduler,
                       private, rng_owners, state)
    if config.checkpoint_dir and config.resume:
        _resume(session)
    return session


def _resume(session: _Session) -> None:
    """Continue from the latest checkpoint, if any: weights, optimizer, schedule, the
    generators, the history and, for a private run, the accountant's steps."""
    config = session.config
    loaded = load_checkpoint(config.checkpoint_dir, session.model, session.optimizer, session.scheduler,
                             session.rng_owners)
    if loaded is None:
        return
    if loaded.get("settings") != json.loads(json.dumps(session.state["settings"])):
        raise ValueError(f"{config.checkpoint_dir}: the checkpoint was made with other settings "
                         f"({loaded.get('settings')}); use another checkpoint_dir or resume=False")
    loaded.pop("scheduler", None)
    accountant_history = loaded.pop("accountant_history", None)
    if session.private is not None and accountant_history is not None:
        session.private.engine.accountant.history = [tuple(h) for h in accountant_history]
    session.state = loaded


def _batches(session: _Session) -> Any:
    """The epoch's batches: a private run's logical Poisson batches cut into physical ones
    that tell the ``DPOptimizer`` which one ends a logical batch (what Opacus'
    ``BatchMemoryManager`` does on entering)."""
    physical = session.private.settings.max_physical_batch_size if session.private is not None else None
    if physical is None:
        return session.train_loader
    from opacus.utils.batch_memory_manager import wrap_data_loader

    return wrap_data_loader(data_loader=session.train_loader, optimizer=session.optimizer, max_batch_size=physical)


def _train_epoch(session: _Session, epoch: int) -> dict[str, Any]:
    """One pass over the training loader; returns the epoch's history entry (training
    loss, logical steps, tokens, seconds, learning rate)."""
    from tqdm.auto import tqdm

    model, optimizer, config, private = session.model, session.optimizer, session.config, session.private
    model.train()
    started, total, n_targets, n_tokens, steps = time.perf_counter(), 0.0, 0, 0, 0
    bar = tqdm(_batches(session), desc=f"epoch {epoch}/{config.epochs}", leave=False, disable=not config.progress)
    for batch in bar:
        optimizer.zero_grad(set_to_none=True)
        if private is not None and batch[0].size(0) == 0:
            _noise_only_step(optimizer)  # Poisson sampling drew nobody
        else:
            loss, n, loss_value = _forward_loss(model, batch, session.device, session.pad,
                                                per_sequence=private is not None)
            loss.backward()
            total, n_targets, n_tokens = total + loss_value * n, n_targets + n, n_tokens + int(batch[1].sum())
            bar.set_postfix(loss=f"{loss_value:.3f}")
        if config.grad_clip and private is None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if not getattr(optimizer, "_is_last_step_skipped", False):  # a logical step
            session.scheduler.step()
            steps += 1
    seconds = time.perf_counter() - started
    return {"epoch": epoch, "train_loss": total / max(n_targets, 1), "steps": steps, "tokens": n_tokens,
            "seconds": seconds, "tokens_per_s": n_tokens / max(seconds, 1e-9),
            "lr": session.scheduler.get_last_lr()[0]}


def _end_epoch(session: _Session, entry: dict[str, Any], on_epoch_end: Callable | None) -> None:
    """Validation loss, privacy spent and clipping statistics, the caller's fields, early
    stopping (keeping the best epoch's weights), and a checkpoint."""
    state, config, private = session.state, session.config, session.private
    if session.val_loader is not None:
        entry["val_loss"] = mean_loss(session.model, session.val_loader, session.device)
    if private is not None:
        epsilon = float(private.engine.get_epsilon(private.settings.delta))
        entry["epsilon"] = epsilon if math.isfinite(epsilon) else None  # None: no noise, no guarantee
        entry.update(private.epoch_statistics())
    if on_epoch_end is not None:
        on_epoch_end(entry, session.model)
    state["epochs"].append(entry)
    if "val_loss" in entry:
        if state["best_val_loss"] is None or entry["val_loss"] < state["best_val_loss"] - config.min_delta:
            state.update(best_val_loss=entry["val_loss"], best_epoch=entry["epoch"], bad_epochs=0)
            _keep_best(session)
        else:
            state["bad_epochs"] += 1
            state["stopped_early"] = config.patience is not None and state["bad_epochs"] >= config.patience
    state["epoch"] = entry["epoch"]
    if config.checkpoint_dir:
        saved = dict(state)
        if private is not None:
            saved["accountant_history"] = [list(h) for h in private.engine.accountant.history]
        save_checkpoint(config.checkpoint_dir, session.model, session.optimizer, session.scheduler, saved,
                        session.rng_owners)


def _keep_best(session: _Session) -> None:
    """The weights of the best epoch so far, in memory and (with checkpoints) on disk."""
    session.best_weights = {k: v.detach().clone() for k, v in session.base.state_dict().items()}
    if session.best_path is not None:
        from safetensors.torch import save_model

        with rundir.atomic_path(session.best_path, suffix=".safetensors") as tmp:
            save_model(session.base, str(tmp))


def _finish(session: _Session) -> dict[str, Any]:
    """Restore the best epoch's weights (``restore_best``) and return the history."""
    state, config = session.state, session.config
    restore = config.restore_best and state["best_epoch"] not in (None, state["epoch"])
    if restore:
        if session.best_weights is not None:
            session.base.load_state_dict(session.best_weights)
        elif session.best_path is not None and session.best_path.exists():
            from safetensors.torch import load_model

            load_model(session.base, str(session.best_path))
    return {"family": models.family_of(session.model), "parameters": models.num_parameters(session.model),
            "device": str(session.device), "epochs": state["epochs"], "best_epoch": state["best_epoch"],
            "best_val_loss": state["best_val_loss"], "stopped_early": state["stopped_early"],
            "restored_best": bool(restore), "config": asdict(config)}


def config_from_profile(settings: dict[str, Any], family: str | None = None, **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` from a profile's ``train_*`` keys, the ``<family>_train_*``
    ones overriding them for that model family (a base fine-tuned wants another learning
    rate than a model trained from scratch), then ``overrides``."""
    keys = ("epochs", "batch_size", "lr", "weight_decay", "warmup_fraction", "grad_clip", "patience")
    values = {key: settings[f"train_{key}"] for key in keys if f"train_{key}" in settings}
    if family is not None:
        values.update({key: settings[f"{family}_train_{key}"] for key in keys if f"{family}_train_{key}" in settings})
    values.update(overrides)
    return TrainConfig(**values)
