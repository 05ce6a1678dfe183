"""lib.core.profiles: every setting declared once with its default and meaning, each profile
only its differences, and every setting the code reads declared."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lib.core import profiles

LIB = Path(__file__).resolve().parent.parent / "lib"


def test_every_profile_is_the_defaults_with_its_differences():
    for name, changes in profiles.DIFFERENCES.items():
        settings = profiles.get_profile(name)
        for key, (default, _) in profiles.SETTINGS.items():
            assert settings[key] == changes.get(key, default)
        assert set(settings) - {"name"} == set(profiles.SETTINGS) | (set(changes) & set(profiles.FAMILY_SETTINGS))


def test_a_profile_changes_only_declared_settings_and_restates_no_default():
    declared = set(profiles.SETTINGS) | set(profiles.FAMILY_SETTINGS)
    for name, changes in profiles.DIFFERENCES.items():
        assert set(changes) <= declared, f"profile {name} sets undeclared {set(changes) - declared}"
        restated = [k for k, v in changes.items() if k in profiles.SETTINGS and profiles.SETTINGS[k][0] == v]
        assert restated == [], f"profile {name} restates the defaults of {restated}"
    assert all(doc.strip() for _, doc in profiles.SETTINGS.values())
    assert all(doc.strip() for doc in profiles.FAMILY_SETTINGS.values())


def test_every_setting_the_code_reads_is_declared():
    """``settings["x"]``, ``settings.get("x", ...)`` and the per-family f-strings
    (``f"{family}_n_layer"``, ``f"train_{key}"``) anywhere in lib name declared settings."""
    declared = set(profiles.SETTINGS) | set(profiles.FAMILY_SETTINGS) | {"name"}
    read, patterns = set(), set()
    for path in LIB.rglob("*.py"):
        text = path.read_text()
        read |= set(re.findall(r'settings(?:\.get\(|\[)"([a-z0-9_]+)"', text))
        patterns |= set(re.findall(r'settings(?:\.get\(|\[)f"([a-z0-9_{}]+)"', text))
    assert read and read - declared == set(), f"read but not declared: {read - declared}"
    for pattern in patterns:  # each f-string key matches at least one declared setting
        regex = re.sub(r"\\{[a-z_]+\\}", "[a-z0-9_]+", re.escape(pattern))
        assert any(re.fullmatch(regex, key) for key in declared), f"settings[f{pattern!r}] matches no setting"


def test_describe_lists_every_setting_with_each_profiles_value():
    rows = {row["setting"]: row for row in profiles.describe()}
    assert set(rows) == set(profiles.SETTINGS) | set(profiles.FAMILY_SETTINGS)
    assert rows["n_sites"]["smoke"] == 200 and rows["n_sites"]["full"] == 10_000
    assert rows["gpt2_n_layer"]["quick"] is None and rows["gpt2_n_layer"]["full"] == 12


def test_an_unknown_profile_is_refused_by_name():
    with pytest.raises(ValueError, match="profile='tiny' is unknown"):
        profiles.get_profile("tiny")
