"""Profiles: sizes, and the data set each is built on.

``smoke`` runs the whole book in a few minutes on a simulated cohort (tests and CI);
``quick`` is the default of ``make book``: the real 1000 Genomes chromosome-22 panel
shipped in ``data/1000g/`` (813 people, 998 sites, declared its own public site list), the
whole book on 2 CPU cores; ``full`` is paper scale: the whole 1000 Genomes chr22 release
downloaded, a panel of 10,000 sites chosen from the public people (GPU recommended). Every
code path runs in every profile, and any profile runs on any source (``-p source
simulate``, ``-p source vcf -p vcf_path ...``: :func:`lib.ch01_data.data_settings`).

Every setting is declared once in :data:`SETTINGS` with its default (the ``quick``
profile's value) and what it means; :data:`DIFFERENCES` holds what each profile changes.
:data:`FAMILY_SETTINGS` are the optional per-family settings (``gpt2_n_layer``,
``mingpt_train_lr``, ...): where a profile sets one, that family uses it instead of the
shared ``model_*`` or ``train_*`` value. A profile may set nothing else
(``tests/test_profiles.py``).
"""
from __future__ import annotations

import copy
from typing import Any

#: Every setting: ``name -> (default, what it means)``. The defaults are the quick profile's.
SETTINGS: dict[str, tuple[Any, str]] = {
    "data": ({"source": "vcf", "vcf_path": "data/1000g/1000g_chr22_panel998.vcf.gz",
              "populations_path": "data/1000g/1000g_samples_panel998.tsv", "assembly": "GRCh37",
              "panel_path": "data/1000g/1000g_chr22_panel998.vcf.gz"},
             "the data chapter's source when none is given (paths relative to the repository): the real 1000 "
             "Genomes chr22 panel of data/1000g/README.md, declared its own site list"),
    "sim_samples_per_population": (100, "simulated cohort (stdpopsim OutOfAfrica_3G09: YRI, CEU, CHB), with "
                                        "-p source simulate: people per population"),
    "sim_length": (5_000_000, "simulated cohort: base pairs of chromosome simulated"),
    "n_sites": (1000, "panel: sites chosen from the public people (where no site list is declared)"),
    "common_fraction": (0.1, "panel: the share of its sites drawn among common ones"),
    "validation_fraction": (0.15, "splits: the share of the cohort in the validation people"),
    "holdout_fraction": (0.15, "splits: the share in the holdout (never trained on; the utility reference)"),
    "public_fraction": (0.1, "splits: the share of public people (panel, vocabulary, bases, the attacker's "
                             "references)"),
    # 4 x 128 ran at ~800 tokens/s on 2 cores (bench/bench_training.py): too slow for the
    # 20-minute book with ~1,100-token profiles
    "model_n_layer": (2, "models: transformer layers (both families; private and non-private models alike)"),
    "model_n_head": (4, "models: attention heads"),
    "model_n_embd": (64, "models: embedding width"),
    "model_dropout": (0.1, "models: dropout"),
    # chosen on a simulated cohort of this size (bench/tune_dp.py), never on the members:
    # positions for 1.5x the public people's longest profile (not 2,048), tied embeddings and
    # fixed sinusoidal positions for the minGPT (fewer weights to noise)
    "model_block_size": ("public", "models: positions; 'public' is 1.5x the public people's longest profile"),
    "model_tie_weights": (True, "models: tie the input and output embeddings"),
    "model_positions": ("sinusoidal", "the minGPT's positions: 'sinusoidal' (fixed, nothing to learn under DP) "
                                      "or 'learned'"),
    # the quick run of 2026-12-03 (minGPT, ε = ∞, 122 validation people): population classifier
    # trained on its people 0.42 -> 0.67 on real ones, Fst 0.022 -> 0.090 (real 0.111), linear
    # two-sample AUC 0.70 -> 0.63 with the tag; no change at ε <= 8 (DP-SGD does not learn it there)
    "population_tags": (True, "models: every model (public bases and the attacker's references too) reads the "
                              "person's super-population tag after the start token, and synthetic people are "
                              "prompted with tags drawn in the public people's proportions (the members' tags "
                              "are then inside ε)"),
    "mingpt_base": (False, "True: pre-train the minGPT on the public people first, as GPT-2 always is"),
    "train_epochs": (20, "training: the most epochs (early stopping on the validation people)"),
    # the text-tokenizer (BPE) comparison model: its validation loss went 2.968, 2.948, 2.946
    # over 3 epochs in the quick run of 2026-12-03 (converged after the first), so 2 show the
    # plateau at two thirds of the time; the attacker's references of it take the same
    "text_model_epochs": (2, "training: epochs of the text-tokenizer comparison model (sequences ~4x longer)"),
    "train_batch_size": (16, "training: batch size (the expected batch under DP's Poisson sampling)"),
    "train_lr": (3e-3, "training: peak learning rate"),
    "train_weight_decay": (0.1, "training: AdamW weight decay"),
    "train_warmup_fraction": (0.1, "training: the share of steps warming the learning rate up"),
    "train_grad_clip": (1.0, "training: gradient-norm clipping without DP"),
    "train_patience": (2, "training: epochs without a better validation loss before stopping"),
    "dp_epsilons": ([8.0, 3.0, 1.0], "differential privacy (chapter 04): the ε grid; the same model and training "
                                     "settings for every ε, only the noise multiplier changes"),
    "dp_delta": (1e-5, "differential privacy: δ"),
    "dp_max_grad_norm": (1.0, "differential privacy: the per-person clipping norm"),
    "dp_max_physical_batch_size": (16, "differential privacy: people per forward pass (memory only; the logical "
                                       "batch is Poisson-sampled)"),
    "dp_secure_mode": (False, "differential privacy: Opacus' cryptographically secure noise (slower)"),
    "dp_clip_only": (True, "beside ε = ∞: the same Poisson batches and clipping, no noise"),
    "dp_accountant": ("prv", "differential privacy: the accountant ('prv', 'rdp' or 'gdp')"),
    "n_seeds": (3, "training seeds of the main grid (both families at every ε, clip only included): each setting "
                   "trained this many times with its own initialisation, batches and noise"),
    # bench/bench_decoding.py on the quick run's ε = 8 models against the validation people: a lower
    # temperature and the public prior each moved the rare-site genotypes toward the real ones
    "decoding_temperatures": ([1.0, 0.9, 0.8, 0.7], "chapter 04: the temperatures of the decoding grid each "
                                                    "private setting's cohorts are sampled at (chosen on the "
                                                    "validation people)"),
    "decoding_prior_weights": ([0.0, 0.5], "chapter 04: the weights of the public prior in that grid "
                                           "(lib.lm.generation.mix_prior)"),
    "mia_reference_models": (2, "privacy chapter: the attacker's reference models per (family, tokenizer), on "
                                "public people"),
    "mia_online_references": (2, "online LiRA/RMIA: references on halves of public people + candidates "
                                 "(even; 0: none)"),
    # the text-tokenizer (BPE) model's online references would take ~3 of the chapter's 12 minutes
    "mia_online_tokenizers": (["record", "variant"], "the tokenizers whose models get online references "
                                                     "('all' or a list)"),
    "mia_hybrid_tokens": (100, "the hybrid attack's continuation of a candidate's first two variants"),
    "audit_canaries": (200, "the one-run audit: canaries per audit run (each trained on with probability 1/2)"),
    "audit_epsilons": (None, "the audit runs' ε (None: the private grid, then inf for clipping alone)"),
    # bench/choose_primary_attack.py quick (a simulated cohort of 300 people, one seed): the
    # highest mean AUC over each family's five main targets, GPT-2 LiRA offline 0.707 (RMIA
    # online 0.676), minGPT LiRA online 0.737 (loss threshold 0.731)
    "mia_primary_attack": ({"mingpt": "LiRA (online)", "gpt2": "LiRA (offline)"},
                           "the headline attack of each family, declared before any target is scored: the "
                           "highest mean AUC over the family's main targets on a simulated cohort of the "
                           "profile's sizes (bench/choose_primary_attack.py), never on the targets' labels"),
    "mia_primary_cohort_attack": ("distance to closest", "the headline attack on a released cohort alone"),
}

#: Optional per-family settings (``<family>_<setting>``): where a profile sets one, that
#: family uses it instead of the shared setting; where none does, the shared one applies.
FAMILY_SETTINGS: dict[str, str] = {
    "gpt2_n_layer": "GPT-2's layers (instead of model_n_layer)",
    "gpt2_n_head": "GPT-2's attention heads (instead of model_n_head)",
    "gpt2_n_embd": "GPT-2's embedding width (instead of model_n_embd)",
    "gpt2_tie_weights": "GPT-2's tied embeddings (instead of model_tie_weights; Opacus' ghost mode rejects tied "
                        "weights)",
    "mingpt_train_lr": "the minGPT's peak learning rate (instead of train_lr)",
}

#: What each profile changes from :data:`SETTINGS`' defaults.
DIFFERENCES: dict[str, dict[str, Any]] = {
    "smoke": {
        "data": {"source": "simulate"},
        "sim_samples_per_population": 40,
        "sim_length": 1_000_000,
        "n_sites": 200,
        "model_n_head": 2,
        "model_n_embd": 32,
        "gpt2_tie_weights": False,
        "train_epochs": 2,
        "train_batch_size": 8,
        "dp_max_physical_batch_size": 8,
        "n_seeds": 2,
        "decoding_temperatures": [1.0, 0.8],
        "mia_online_tokenizers": "all",
        "mia_hybrid_tokens": 20,
        "audit_canaries": 40,
        # declared on a simulated cohort of the smoke sizes (bench/choose_primary_attack.py
        # smoke; at 18 against 18 candidates the smoke choice is noise, which is what the smoke
        # profile is for)
        "mia_primary_attack": {"mingpt": "hybrid (logistic)", "gpt2": "confidence threshold"},
    },
    "quick": {
        "gpt2_tie_weights": False,
        "mingpt_train_lr": 1e-2,
    },
    "full": {
        # the whole 1000 Genomes phase 3 chr22 release, downloaded once; panel from the public people
        "data": {"source": "1000g", "assembly": "GRCh37"},
        "sim_samples_per_population": 835,
        "sim_length": 20_000_000,
        "n_sites": 10_000,
        # the dissertation's minGPT (6 x 384, 6 heads); GPT-2 small (12 x 768) is fine-tuned
        "model_n_layer": 6,
        "model_n_head": 6,
        "model_n_embd": 384,
        "model_tie_weights": False,
        "model_positions": "learned",
        "gpt2_n_layer": 12,
        "gpt2_n_head": 12,
        "gpt2_n_embd": 768,
        "text_model_epochs": 20,
        "train_lr": 1e-3,
        "train_warmup_fraction": 0.05,
        "train_patience": 3,
        "n_seeds": 5,
        "mia_reference_models": 16,
        "mia_online_references": 16,
        "mia_online_tokenizers": "all",
        "audit_canaries": 1000,
        # mia_primary_attack: the quick profile's, declared on its simulated cohort; rerun
        # bench/choose_primary_attack.py full (on a GPU) before the full book scores its
        # targets, to declare it at this scale
    },
}

#: Each profile's settings in full: the defaults with its differences.
PROFILES: dict[str, dict[str, Any]] = {
    name: {**{key: copy.deepcopy(default) for key, (default, _) in SETTINGS.items()}, **copy.deepcopy(changes)}
    for name, changes in DIFFERENCES.items()
}

DEFAULT_PROFILE = "quick"


def describe() -> list[dict[str, Any]]:
    """Every setting (and per-family setting) with its meaning and each profile's value
    (``None`` where a per-family setting is not set): one row per setting."""
    rows = [dict(setting=key, meaning=doc, **{name: PROFILES[name][key] for name in PROFILES})
            for key, (_, doc) in SETTINGS.items()]
    rows += [dict(setting=key, meaning=doc, **{name: PROFILES[name].get(key) for name in PROFILES})
             for key, doc in FAMILY_SETTINGS.items()]
    return rows


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
