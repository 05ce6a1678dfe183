"""The models chapter (``book/03_models.ipynb``): train both families without privacy,
sample a synthetic cohort from each, and take a first look at it. The training and
sampling themselves are :mod:`lib.runs.experiments` (shared with chapters 04 and 06); this
module holds the chapter's own steps and tables.

* :func:`train_models` -- the chapter's three models: minGPT and GPT-2 on their main
  tokenizers, and a minGPT on a text tokenizer (:func:`lib.runs.experiments.train_model`, side
  by side);
* :func:`training_table`, :func:`loss_frame` -- how they trained;
* :func:`validity_table`, :func:`split_use_table`, :func:`numbers` -- the chapter's tables and
  the numbers its prose glues.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .core import parallel
from .lm import models
from .lm import tokenization as tk
from .runs import artefacts, experiments

CHAPTER = "03_models"


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


def train_models(run: str | os.PathLike, settings: Mapping[str, Any], seed: int = 0,
              base_model: str | os.PathLike | None = None, text_tokenizer: str = "bpe") -> dict[str, dict[str, Any]]:
    """The chapter's models: minGPT and GPT-2 (fine-tuned from ``base_model``, by default
    :func:`public_base`) on their main tokenizers (:data:`lib.runs.artefacts.MAIN_TOKENIZERS`),
    a minGPT on the other record tokenizer (two tokens per record when the main one writes
    one, and the other way round), and a minGPT on ``text_tokenizer`` (whose longer
    sequences get the profile's ``text_model_epochs``). Every minGPT starts where
    :func:`model_start` says. Returns name -> ``{"model", "history", "directory",
    "family", "tokenizer", "seconds"}``."""
    other = "variant" if artefacts.main_tokenizer("mingpt") == "record" else "record"
    with parallel.job_threads():  # the bases first (GPT-2's fine-tuning starts from one)
        plan = [("mingpt", artefacts.main_tokenizer("mingpt"),
                 experiments.family_base(run, "mingpt", settings, seed=seed)),
                ("gpt2", artefacts.main_tokenizer("gpt2"), experiments.family_base(run, "gpt2", settings, seed=seed,
                                                                       base_model=base_model)),
                ("mingpt", other, experiments.model_start(run, "mingpt", other, settings, seed=seed)),
                ("mingpt", text_tokenizer, experiments.model_start(run, "mingpt", text_tokenizer, settings, seed=seed))]
    # the models side by side (lib.core.parallel), the longest first; the loop below loads them
    jobs = [dict(run=str(run), family=family, tokenizer_name=tokenizer_name, settings=dict(settings), seed=seed,
                 base_model=str(base_dir) if base_dir is not None else None)
            for family, tokenizer_name, base_dir in sorted(plan, key=lambda p: p[1] != text_tokenizer)]
    parallel.run_jobs(train_job, jobs)
    out = {}
    for family, tokenizer_name, base_dir in plan:
        started = time.perf_counter()
        model, history, directory = experiments.train_model(run, family, tokenizer_name, settings, seed=seed,
                                                            base_model=base_dir)
        out[artefacts.model_name(family, tokenizer_name)] = dict(
            model=model, history=history, directory=directory, family=family, tokenizer=tokenizer_name,
            seconds=time.perf_counter() - started)
    return out


def train_job(run: str, family: str, tokenizer_name: str, settings: Mapping[str, Any], seed: int,
              base_model: str | None, **train_overrides: Any) -> str:
    """:func:`train_model` as a job of :func:`lib.core.parallel.run_jobs`; returns the model's name."""
    return experiments.train_model(run, family, tokenizer_name, settings, seed=seed, base_model=base_model,
                       **train_overrides)[2].name


def training_table(run: str | os.PathLike, trained: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per model: tokenizer, parameters, epochs, best validation loss, speed, where saved."""
    return pd.DataFrame([{
        "model": name, "tokenizer": item["tokenizer"], "parameters": f"{models.num_parameters(item['model']):,}",
        "epochs": str(len(item["history"]["epochs"])),
        "best validation loss": f"{item['history']['best_val_loss']:.3f}",
        "tokens per second": f"{item['history']['epochs'][-1]['tokens_per_s']:,.0f}",
        "saved in": str(Path(item["directory"]).relative_to(run))} for name, item in trained.items()]).set_index("model")


def loss_frame(trained: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Tidy per-epoch losses of trained models (name -> an item with its ``history``):
    ``model``, ``epoch``, ``split`` (train/validation), ``loss``."""
    rows = []
    for name, item in trained.items():
        for entry in item["history"]["epochs"]:
            rows.append({"model": name, "epoch": entry["epoch"], "split": "train", "loss": entry["train_loss"]})
            if entry.get("val_loss") is not None:
                rows.append({"model": name, "epoch": entry["epoch"], "split": "validation", "loss": entry["val_loss"]})
    return pd.DataFrame(rows, columns=["model", "epoch", "split", "loss"])


# --------------------------------------------------------------------------------------
# Synthetic cohorts
# --------------------------------------------------------------------------------------


def validity_table(cohorts: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Records by fault per cohort (:func:`lib.lm.generation.validity_summary`), formatted."""
    rows = []
    for label, made in cohorts.items():
        v = made["validity"]
        rows.append({"cohort": label, "decoding": "unconstrained" if label.endswith("-unconstrained") else "constrained",
                     "records": f"{v['records']:,}", "valid records": f"{v['valid_rate']:.1%}",
                     "valid samples": f"{v['valid_samples']:,} of {v['n_samples']:,}",
                     "malformed": f"{v.get('malformed', 0):,}",
                     "off panel or wrong alleles": f"{v.get('off_panel', 0) + v.get('wrong_alleles', 0):,}",
                     "bad genotype": f"{v.get('bad_genotype', 0):,}",
                     "out of order or repeated": f"{v.get('out_of_order', 0) + v.get('duplicate', 0):,}",
                     "no end token": f"{v['unfinished']:,}", "seconds": f"{made.get('seconds', 0.0):.1f}"})
    return pd.DataFrame(rows).set_index("cohort")


def numbers(run: str | os.PathLike, settings: Mapping[str, Any], trained: Mapping[str, Mapping[str, Any]],
            cohorts: Mapping[str, Mapping[str, Any]], look: pd.DataFrame, text_tokenizer: str,
            base_model: Any) -> dict[str, str]:
    """The numbers the chapter's prose glues, formatted."""
    members = artefacts.load_splits(run)
    texts = [tk.sample_to_text(list(r)) for r in artefacts.split_profiles(run, "train")["variants"]]
    lengths = {name: tk.tokens_per_sample(tk.load(run, name), texts) for name in ("variant", "record")}
    lengths["text"] = tk.tokens_per_sample(tk.load(run, text_tokenizer), texts)
    other = "variant" if artefacts.main_tokenizer("mingpt") == "record" else "record"
    role = {artefacts.model_name("mingpt"): "mingpt", artefacts.model_name("gpt2"): "gpt2",
            artefacts.model_name("mingpt", other): "mingpt_other", artefacts.model_name("mingpt", text_tokenizer): "text"}
    rows = look.set_index("cohort")
    out = {f"n_{split}": f"{len(ids):,}" for split, ids in members.items()}
    out.update(experiments.settings_text(settings))
    out.update({f"{name}_tokens": f"{sum(n) / len(n):,.0f}" for name, n in lengths.items()})
    out.update(text_tokenizer=text_tokenizer, other_tokenizer=other,
               mingpt_tokenizer=artefacts.main_tokenizer("mingpt"), gpt2_tokenizer=artefacts.main_tokenizer("gpt2"),
               mingpt_base="its own base pre-trained on the public people" if settings.get("mingpt_base")
               else "scratch, as in the dissertation",
               mingpt_parameters=f"{models.num_parameters(trained[artefacts.model_name('mingpt')]['model']):,}",
               gpt2_parameters=f"{models.num_parameters(trained[artefacts.model_name('gpt2')]['model']):,}",
               mingpt_block=f"{trained[artefacts.model_name('mingpt')]['model'].config.block_size:,}",
               gpt2_base="pre-trained here on the public split" if base_model is None else f"`{base_model}`",
               train_epochs=f"{settings['train_epochs']}", text_model_epochs=f"{settings['text_model_epochs']}",
               n_synthetic=f"{len(members['holdout']):,}",
               holdout_variants=f"{rows.loc['holdout (real)', 'variants per sample']:.1f}",
               train_holdout_af_r=f"{rows.loc['train (real)', 'AF r (holdout)']:.2f}")
    for name, short in role.items():
        out[f"{short}_unconstrained_validity"] = f"{cohorts[name + '-unconstrained']['validity']['valid_rate']:.1%}"
        out[f"{short}_af_r"] = f"{rows.loc[name, 'AF r (holdout)']:.2f}"
        out[f"{short}_variants"] = f"{rows.loc[name, 'variants per sample']:.1f}"
        out[f"{short}_val_loss"] = f"{trained[name]['history']['best_val_loss']:.3f}"
    return out


def split_use_table(run: str | os.PathLike, base_model: Any) -> pd.DataFrame:
    """What each split is used for in this chapter."""
    members = artefacts.load_splits(run)
    use = {"train": "training", "validation": "validation loss, early stopping",
           "holdout": "comparison only (never trained on)",
           "public": "GPT-2 base pre-training, BPE tokenizer" if base_model is None else "BPE tokenizer"}
    return pd.DataFrame([{"split": split, "people": f"{len(ids):,}", "used for": use[split]}
                         for split, ids in members.items()]).set_index("split")


