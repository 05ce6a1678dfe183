"""The private-training chapter's steps: one model per (family, epsilon), the same model
and training settings for every epsilon, and what each private run spent.

* :func:`train_private` -- DP-SGD (:func:`lib.privacy.make_private`: Poisson sampling, the
  noise calibrated to a target epsilon, per-sample clipping) through the loop of
  :func:`lib.training.train`, on the *train* split, validated on the *validation* split,
  saved to ``models/<family>-eps<eps>/`` with ``history.json`` and ``privacy.json``;
  reused when its inputs and settings are unchanged. GPT-2 is fine-tuned privately from
  the same base as the non-private GPT-2 (by default the base pre-trained on the public
  split, :func:`lib.experiment.public_base`).
* :func:`train_grid` -- every epsilon of the grid for one family. ``inf`` is the
  non-private model of the models chapter (:func:`lib.experiment.train_model`, same
  sizes, same optimiser, learning rate, batch size and epochs); the private models differ
  from it only by what DP-SGD adds -- Poisson batches, per-sample clipping, noise -- and
  from each other only by the noise multiplier. (The dissertation changed the model size
  along with epsilon, which confounds the two.)
* :func:`epoch_frame`, :func:`summary_frame` -- tidy tables for the chapter's figures.

Early stopping on the validation loss may end a run before its planned epochs; the epsilon
reported is then what the accountant computed for the steps actually taken (at most the
target). The validation split is not protected by the guarantee (it is not trained on):
choosing the best epoch with it is post-processing for the training members.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
import torch

from . import experiment as ex
from . import grad_samplers, models, privacy, rundir, training
from . import tokenization as tk

CHAPTER = "04_dp_training"
# Bumped when the private training path changes what it computes or how (it goes into every
# private model's manifest parameters, so models trained by older code are retrained):
# 2 = GPT-2 trained under expanded weights with its Conv1D layers as nn.Linear.
PRIVATE_TRAINING_VERSION = 2


def dp_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's DP settings (``dp_*`` keys) that every epsilon of the grid shares."""
    return {"delta": float(settings["dp_delta"]), "max_grad_norm": float(settings["dp_max_grad_norm"]),
            "max_physical_batch_size": settings.get("dp_max_physical_batch_size"),
            "accountant": settings.get("dp_accountant", "prv")}


def epsilon_grid(settings: Mapping[str, Any], epsilon: float | None = None) -> list[float]:
    """``inf`` (the non-private model) then the private budgets: the one ``epsilon``, or
    the profile's ``dp_epsilons``; each must be a finite number above 0."""
    budgets = [epsilon] if epsilon is not None else list(settings["dp_epsilons"])
    for value in budgets:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < float("inf"):
            raise ValueError(f"epsilon={value!r}: a privacy budget must be a finite number above 0")
    return [float("inf")] + [float(value) for value in budgets]


def shared_settings(settings: Mapping[str, Any], n_train: int) -> dict[str, Any]:
    """What every private run of the grid shares, checked before training (δ below 1/n):
    n, the logical batch, the Poisson rate q and expected batch q·n, δ, C, the planned
    epochs and steps, and the accountant."""
    dp = dp_settings(settings)
    privacy.check_delta(dp["delta"], n_train)
    q = privacy.sample_rate(n_train, int(settings["train_batch_size"]))
    steps_per_epoch = round(1 / q)
    return {"n_train": n_train, "batch_size": int(settings["train_batch_size"]), "sample_rate": q,
            "expected_batch_size": q * n_train, "delta": dp["delta"], "max_grad_norm": dp["max_grad_norm"],
            "epochs": int(settings["train_epochs"]), "steps": steps_per_epoch * int(settings["train_epochs"]),
            "accountant": dp["accountant"]}


def train_private(run: str | os.PathLike, family: str, epsilon: float, settings: Mapping[str, Any],
                  seed: int = 0, base_model: str | os.PathLike | None = None, accountant: str | None = None,
                  progress: bool = False) -> tuple[torch.nn.Module, dict, Path, dict]:
    """Train (or reuse) the private ``family`` model at ``target_epsilon=epsilon`` on the
    run's train split with the variant tokenizer. Returns the (unwrapped) model, its
    history, its directory and its ``privacy.json`` record."""
    run = Path(run)
    epsilon_grid(settings, epsilon)  # a finite epsilon above 0 (inf is the models chapter's model)
    name = ex.model_name(family, "variant", epsilon)
    directory = ex.model_dir(run, name)
    digest = ex.input_digest(run, "variant")
    tokenizer = tk.load(run, "variant")
    sizes = models.sizes_from_profile(dict(settings), family)
    config = training.config_from_profile(dict(settings), seed=seed, progress=progress)
    dp = dp_settings(settings)
    if accountant is not None:
        dp["accountant"] = accountant
    base = ex.base_record(base_model)
    params = dict(family=family, tokenizer="variant", sizes=sizes, seed=seed, eps=float(epsilon), dp=dp,
                  train=ex.train_settings(config), profiles="sparse", with_population=False, base=base,
                  private_training_version=PRIVATE_TRAINING_VERSION, **digest)
    paths = [directory / "model.safetensors", directory / "history.json", directory / privacy.PRIVACY_JSON]
    if rundir.is_current(run, params, paths):
        return (models.load_model(directory), json.loads(paths[1].read_text()), directory,
                json.loads(paths[2].read_text()))
    train_ids, val_ids = ex.training_ids(run, tokenizer, "variant", sizes)
    model = models.build_model(family, sizes, tokenizer, base_model=base_model, seed=seed)
    optimizer = training.make_optimizer(model, config.lr, config.weight_decay, config.betas)
    private = privacy.make_private(model, optimizer, train_ids, batch_size=config.batch_size,
                                   max_grad_norm=dp["max_grad_norm"], epochs=config.epochs,
                                   target_epsilon=float(epsilon), delta=dp["delta"], accountant=dp["accountant"],
                                   max_physical_batch_size=dp["max_physical_batch_size"], seed=seed)
    history = training.train(private.model, None, val_ids, config, **private.train_kwargs())
    record = private.record()
    model = grad_samplers.linear_to_conv1d(models.unwrap(private.model))  # GPT-2's standard layout again
    ex.save_trained(run, model, directory, tokenizer, history, params, chapter=CHAPTER,
                    extra={privacy.PRIVACY_JSON: record}, metadata=dict(
                        name=name, eps=float(epsilon), seed=seed, tokenizer="variant", train_split="train",
                        validation_split="validation", n_train=len(train_ids), n_validation=len(val_ids),
                        base_model=base, privacy=record, **digest))
    return model.eval(), history, directory, record


def train_grid(run: str | os.PathLike, family: str, epsilons: Sequence[float], settings: Mapping[str, Any],
               seed: int = 0, base_model: str | os.PathLike | None = None, progress: bool = False
               ) -> dict[str, dict[str, Any]]:
    """Every epsilon of ``epsilons`` (``inf`` included or not) for ``family``: a mapping
    model name -> ``{"epsilon", "model", "history", "directory", "privacy"}`` (``privacy``
    None for ``inf``, which is :func:`lib.experiment.train_model`'s non-private model)."""
    out: dict[str, dict[str, Any]] = {}
    for epsilon in epsilons:
        epsilon = float(epsilon)
        if epsilon == float("inf"):
            model, history, directory = ex.train_model(run, family, "variant", dict(settings), seed=seed,
                                                       base_model=base_model, progress=progress)
            record = None
        else:
            model, history, directory, record = train_private(run, family, epsilon, settings, seed=seed,
                                                              base_model=base_model, progress=progress)
        out[ex.model_name(family, "variant", epsilon)] = dict(epsilon=epsilon, family=family, model=model,
                                                               history=history, directory=directory,
                                                               privacy=record)
    return out


# --------------------------------------------------------------------------------------
# Tables for the figures
# --------------------------------------------------------------------------------------

def epoch_frame(trained: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (model, epoch, split): ``family``, ``epsilon`` (chart label), ``epoch``,
    ``split``, ``loss``, and per epoch ``steps`` (cumulative optimizer steps),
    ``epsilon_spent`` (the accountant's, private models only) and ``clipped_fraction``."""
    from .charts import epsilon_label

    rows = []
    for name, item in trained.items():
        steps = 0
        for entry in item["history"]["epochs"]:
            steps += int(entry.get("steps", 0))
            common = dict(model=name, family=item["family"], epsilon=epsilon_label(item["epsilon"]),
                          epoch=entry["epoch"], steps=steps, epsilon_spent=entry.get("epsilon"),
                          clipped_fraction=entry.get("clipped_fraction"),
                          grad_norm_median=entry.get("grad_norm_median"))
            rows.append(dict(common, split="train", loss=entry["train_loss"]))
            if entry.get("val_loss") is not None:
                rows.append(dict(common, split="validation", loss=entry["val_loss"]))
    return pd.DataFrame(rows, columns=["model", "family", "epsilon", "epoch", "split", "loss", "steps",
                                       "epsilon_spent", "clipped_fraction", "grad_norm_median"])


def noise_to_signal(noise_multiplier: float, parameters: int, expected_batch_size: float) -> float:
    """How much larger the noise of one DP-SGD step is than the largest possible signal:
    the averaged gradient is ``(sum of clipped per-sample gradients + N(0, sigma^2 C^2
    I_d)) / (q n)``; the sum has norm at most ``C`` times the batch, about ``C q n``, so the
    signal is at most ``C``, while the noise vector's norm is about ``sigma C sqrt(d) /
    (q n)``. Returns ``sigma sqrt(d) / (q n)`` (``C`` cancels): far above 1, a single step
    points mostly in a random direction, and only many steps average the noise out."""
    return float(noise_multiplier) * math.sqrt(parameters) / float(expected_batch_size)


def summary_frame(trained: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per model: its privacy record (target and spent epsilon, delta, sample
    rate, noise multiplier, steps, epochs, accountant), its parameter count, the noise
    of one step against the largest signal (:func:`noise_to_signal`; None for a
    non-private model) and its best validation loss."""
    from .charts import epsilon_label

    rows = []
    for name, item in trained.items():
        record = item["privacy"] or {}
        history = item["history"]
        parameters = models.num_parameters(item["model"])
        ratio = (noise_to_signal(record["noise_multiplier"], parameters, record["expected_batch_size"])
                 if record else None)
        rows.append({"model": name, "family": item["family"], "epsilon": epsilon_label(item["epsilon"]),
                     "target_epsilon": record.get("target_epsilon"), "epsilon_spent": record.get("epsilon"),
                     "delta": record.get("delta"), "sample_rate": record.get("sample_rate"),
                     "noise_multiplier": record.get("noise_multiplier"), "max_grad_norm": record.get("max_grad_norm"),
                     "steps": record.get("steps", sum(int(e.get("steps", 0)) for e in history["epochs"])),
                     "epochs": len(history["epochs"]), "accountant": record.get("accountant"),
                     "parameters": parameters, "noise_to_signal": ratio,
                     "best_val_loss": history["best_val_loss"]})
    return pd.DataFrame(rows)
