"""Shared pytest fixtures (temporary: written by the stats helper; replace freely)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real 1000 Genomes reference files in ``../shared/data`` (skips when absent)."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared reference data not found at {path}")
    return path
