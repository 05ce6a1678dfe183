"""Profiles: the only thing they change is sizes.

``smoke`` runs the whole book in a few minutes (tests and CI), ``quick`` is the default of
``make book`` (the whole book within 20 minutes on 2 CPU cores), ``full`` is paper scale
(GPU recommended). Every code path runs in every profile.
"""
from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {
        # simulated cohort (stdpopsim OutOfAfrica_3G09: YRI, CEU, CHB)
        "sim_samples_per_population": 40,
        "sim_length": 1_000_000,
        # panel
        "n_sites": 200,
        "common_fraction": 0.1,
        # splits (fractions of the cohort)
        "validation_fraction": 0.15,
        "holdout_fraction": 0.15,
    },
    "quick": {
        "sim_samples_per_population": 100,
        "sim_length": 5_000_000,
        "n_sites": 1000,
        "common_fraction": 0.1,
        "validation_fraction": 0.15,
        "holdout_fraction": 0.15,
    },
    "full": {
        "sim_samples_per_population": 835,
        "sim_length": 20_000_000,
        "n_sites": 10_000,
        "common_fraction": 0.1,
        "validation_fraction": 0.15,
        "holdout_fraction": 0.15,
    },
}

DEFAULT_PROFILE = "quick"


def get_profile(name: str) -> dict[str, Any]:
    """The settings of profile ``name`` (a copy), or a ValueError naming the known ones."""
    if name not in PROFILES:
        raise ValueError(f"profile={name!r} is unknown; choose one of {sorted(PROFILES)}")
    return dict(PROFILES[name], name=name)


def resolve(profile: str, **overrides: Any) -> dict[str, Any]:
    """Profile settings with every non-None override applied (notebook parameters win)."""
    settings = get_profile(profile)
    for key, value in overrides.items():
        if value is not None:
            settings[key] = value
    return settings
