"""Profiles: sizes, and the data set each is built on.

``smoke`` runs the whole book in a few minutes on a simulated cohort (tests and CI);
``quick`` is the default of ``make book``: the real 1000 Genomes chromosome-22 panel
shipped in ``data/1000g/`` (813 people, 998 sites, declared its own public site list), the
whole book on 2 CPU cores; ``full`` is paper scale: the whole 1000 Genomes chr22 release
downloaded, a panel of 10,000 sites chosen from the public people (GPU recommended). Every
code path runs in every profile, and any profile runs on any source (``-p source
simulate``, ``-p source vcf -p vcf_path ...``: :func:`lib.ch01_data.data_settings`).

``data``: the data chapter's source when none is given (paths relative to the repository).
"""
from __future__ import annotations

import copy
from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {
        "data": {"source": "simulate"},
        # simulated cohort (stdpopsim OutOfAfrica_3G09: YRI, CEU, CHB)
        "sim_samples_per_population": 40,
        "sim_length": 1_000_000,
        # panel
        "n_sites": 200,
        "common_fraction": 0.1,
        # splits (fractions of the cohort)
        "validation_fraction": 0.15,
        "holdout_fraction": 0.15,
        "public_fraction": 0.1,
        # models (both families the same size; private and non-private models too)
        "model_n_layer": 2,
        "model_n_head": 2,
        "model_n_embd": 32,
        "model_dropout": 0.1,
        "model_block_size": "public",  # positions for 1.5x the public people's longest profile
        "model_tie_weights": True,
        "gpt2_tie_weights": False,
        "model_positions": "sinusoidal",  # the minGPT's: fixed, nothing to learn under DP
        "mingpt_base": False,  # True: pre-train the minGPT on the public people first, as GPT-2
        # training
        "train_epochs": 2,
        "text_model_epochs": 2,  # the text-tokenizer comparison model (sequences ~4x longer)
        "train_batch_size": 8,
        "train_lr": 3e-3,
        "train_weight_decay": 0.1,
        "train_warmup_fraction": 0.1,
        "train_grad_clip": 1.0,
        "train_patience": 2,
        # differential privacy (chapter 04): the same model and training settings as
        # above for every epsilon; only the noise multiplier changes
        "dp_epsilons": [8.0, 3.0, 1.0],
        "dp_delta": 1e-5,
        "dp_max_grad_norm": 1.0,
        "dp_max_physical_batch_size": 8,
        "dp_secure_mode": False,
        "dp_clip_only": True,  # beside epsilon=inf: the same Poisson batches and clipping, no noise
        # training seeds of the main grid (both families at every epsilon, clip only included): each
        # setting is trained n_seeds times with its own initialisation, batches and noise
        "n_seeds": 2,
        # chapter 04: each private setting's cohorts are sampled at the point of this grid (temperature x
        # weight of the public prior, lib.generation.mix_prior) chosen on the validation people
        "decoding_temperatures": [1.0, 0.8],
        "decoding_prior_weights": [0.0, 0.5],
        "mia_reference_models": 2,  # privacy chapter: the attacker's reference models per (family, tokenizer), on public people
        "mia_online_references": 2,  # online LiRA/RMIA: references on halves of public people + candidates (even; 0: none)
        "mia_online_tokenizers": "all",  # or a list: the tokenizers whose models get online references
        "mia_hybrid_tokens": 20,  # the hybrid attack's continuation of a candidate's first two variants
        "audit_canaries": 40,  # the one-run audit: canaries per audit run (each trained on with probability 1/2)
        # the headline attack of each family, declared before any target is scored: the highest
        # mean AUC over the family's main targets on a simulated cohort of the profile's sizes
        # (bench/choose_primary_attack.py smoke; at 18 against 18 candidates the smoke choice is
        # noise, which is what the smoke profile is for), never on the targets' labels; and the
        # headline attack on a released cohort alone
        "mia_primary_attack": {"mingpt": "hybrid (logistic)", "gpt2": "confidence threshold"},
        "mia_primary_cohort_attack": "distance to closest",
    },
    "quick": {
        # the real 1000 Genomes chr22 panel (data/1000g/README.md), declared its own site list
        "data": {"source": "vcf", "vcf_path": "data/1000g/1000g_chr22_panel998.vcf.gz",
                 "populations_path": "data/1000g/1000g_samples_panel998.tsv", "assembly": "GRCh37",
                 "panel_path": "data/1000g/1000g_chr22_panel998.vcf.gz"},
        # with -p source simulate
        "sim_samples_per_population": 100,
        "sim_length": 5_000_000,
        "n_sites": 1000,
        "common_fraction": 0.1,
        "validation_fraction": 0.15,
        "holdout_fraction": 0.15,
        "public_fraction": 0.1,
        # 4 x 128 ran at ~800 tokens/s on 2 cores (bench/bench_training.py): too slow for
        # the 20-minute book with ~1,100-token profiles
        "model_n_layer": 2,
        "model_n_head": 4,
        "model_n_embd": 64,
        "model_dropout": 0.1,
        # chosen on a simulated cohort of this size (bench/tune_dp.py), never on the members:
        # positions for 1.5x the public people's longest profile (not 2,048), tied
        # embeddings and fixed sinusoidal positions for the minGPT (fewer weights to noise)
        "model_block_size": "public",
        "model_tie_weights": True,
        "gpt2_tie_weights": False,
        "model_positions": "sinusoidal",
        "mingpt_base": False,
        "train_epochs": 20,
        # the text-tokenizer (BPE) comparison model: its validation loss went 2.968, 2.948, 2.946
        # over 3 epochs in the quick run of 2026-12-03 (converged after the first), so 2 show the
        # plateau at two thirds of the time; the attacker's references of it take the same
        "text_model_epochs": 2,
        "train_batch_size": 16,
        "train_lr": 3e-3,
        "mingpt_train_lr": 1e-2,
        "train_weight_decay": 0.1,
        "train_warmup_fraction": 0.1,
        "train_grad_clip": 1.0,
        "train_patience": 2,
        "dp_epsilons": [8.0, 3.0, 1.0],
        "dp_delta": 1e-5,
        "dp_max_grad_norm": 1.0,
        "dp_max_physical_batch_size": 16,
        "dp_secure_mode": False,
        "dp_clip_only": True,
        "n_seeds": 3,
        # bench/bench_decoding.py on the quick run's ε = 8 models against the validation people: a lower
        # temperature and the public prior each moved the rare-site genotypes toward the real ones
        "decoding_temperatures": [1.0, 0.9, 0.8, 0.7],
        "decoding_prior_weights": [0.0, 0.5],
        "mia_reference_models": 2,
        "mia_online_references": 2,
        # the text-tokenizer (BPE) model's online references would take ~3 of the chapter's 12 minutes
        "mia_online_tokenizers": ["record", "variant"],
        "mia_hybrid_tokens": 100,
        "audit_canaries": 200,
        # bench/choose_primary_attack.py quick (a simulated cohort of 300 people, one seed): the
        # highest mean AUC over each family's five main targets, GPT-2 LiRA offline 0.707 (RMIA
        # online 0.676), minGPT LiRA online 0.737 (loss threshold 0.731)
        "mia_primary_attack": {"mingpt": "LiRA (online)", "gpt2": "LiRA (offline)"},
        "mia_primary_cohort_attack": "distance to closest",
    },
    "full": {
        # the whole 1000 Genomes phase 3 chr22 release, downloaded once; panel from the public people
        "data": {"source": "1000g", "assembly": "GRCh37"},
        "sim_samples_per_population": 835,
        "sim_length": 20_000_000,
        "n_sites": 10_000,
        "common_fraction": 0.1,
        "validation_fraction": 0.15,
        "holdout_fraction": 0.15,
        "public_fraction": 0.1,
        # the dissertation's minGPT (6 x 384, 6 heads); GPT-2 small (12 x 768) is fine-tuned
        "model_n_layer": 6,
        "model_n_head": 6,
        "model_n_embd": 384,
        "model_dropout": 0.1,
        "model_block_size": "public",
        "model_tie_weights": False,
        "model_positions": "learned",
        "mingpt_base": False,
        "gpt2_n_layer": 12,
        "gpt2_n_head": 12,
        "gpt2_n_embd": 768,
        "train_epochs": 20,
        "text_model_epochs": 20,
        "train_batch_size": 16,
        "train_lr": 1e-3,
        "train_weight_decay": 0.1,
        "train_warmup_fraction": 0.05,
        "train_grad_clip": 1.0,
        "train_patience": 3,
        "dp_epsilons": [8.0, 3.0, 1.0],
        "dp_delta": 1e-5,
        "dp_max_grad_norm": 1.0,
        "dp_max_physical_batch_size": 16,
        "dp_secure_mode": False,
        "dp_clip_only": True,
        "n_seeds": 5,
        "decoding_temperatures": [1.0, 0.9, 0.8, 0.7],
        "decoding_prior_weights": [0.0, 0.5],
        "mia_reference_models": 16,
        "mia_online_references": 16,
        "mia_online_tokenizers": "all",
        "mia_hybrid_tokens": 100,
        "audit_canaries": 1000,
        # declared from the quick profile's simulated cohort; rerun bench/choose_primary_attack.py
        # full (on a GPU) before the full book scores its targets, to declare it at this scale
        "mia_primary_attack": {"mingpt": "LiRA (online)", "gpt2": "LiRA (offline)"},
        "mia_primary_cohort_attack": "distance to closest",
    },
}

DEFAULT_PROFILE = "quick"


def get_profile(name: str) -> dict[str, Any]:
    """The settings of profile ``name`` (a copy), or a ValueError naming the known ones."""
    if name not in PROFILES:
        raise ValueError(f"profile={name!r} is unknown; choose one of {sorted(PROFILES)}")
    return copy.deepcopy(dict(PROFILES[name], name=name))


def resolve(profile: str, **overrides: Any) -> dict[str, Any]:
    """Profile settings with every non-None override applied (notebook parameters win)."""
    settings = get_profile(profile)
    for key, value in overrides.items():
        if value is not None:
            settings[key] = value
    return settings
