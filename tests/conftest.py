"""Shared fixtures.

``shared_data``: the reference data set beside the repository (``../shared/data``: the
1000 Genomes chr22 panel VCF, sample table, bcftools stats, GPT-2 tokenizer). A test that
needs it must not silently pass without it: in CI (``CI=true``) its absence is a failure,
elsewhere the test is skipped with the reason shown (``-ra`` is on by default).

``fixture_book``: the small fixture book (``tests/fixtures/book``: the repository's intro and
references pages around a chart notebook) executed and built once per session through the
real runner (:mod:`lib.book`), into a temporary directory so the repository's ``_build`` and
``data/runs`` are left alone.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_BOOK = Path(__file__).resolve().parent / "fixtures" / "book"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_or_skip(ok: bool, reason: str) -> None:
    """Fail in CI, skip (with ``reason``) elsewhere, when ``ok`` is False."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo root>/../shared/data``; fails in CI, skips elsewhere, when it is missing."""
    path = (REPO_ROOT.parent / "shared" / "data").resolve()
    require_or_skip(path.is_dir() and any(path.iterdir()),
                    f"reference data not found at {path} (expected ../shared/data beside the repository)")
    return path


def make_fixture_root(dest: Path) -> Path:
    """A book root in ``dest``: the repository's ``_config.yml`` and pages, the fixture's
    ``_toc.yml`` and notebook -- so the test exercises the real configuration."""
    (dest / "book").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "_config.yml", dest / "_config.yml")
    shutil.copy2(FIXTURE_BOOK / "_toc.yml", dest / "_toc.yml")
    for name in ("intro.md", "references.md", "references.bib", "favicon.svg"):
        shutil.copy2(REPO_ROOT / "book" / name, dest / "book" / name)
    for notebook in (FIXTURE_BOOK / "book").glob("*.ipynb"):
        shutil.copy2(notebook, dest / "book" / notebook.name)
    return dest


@pytest.fixture(scope="session")
def fixture_book(tmp_path_factory) -> dict[str, Path]:
    """Execute and build the fixture book once; returns its ``root``, ``run`` and ``html`` dirs."""
    from lib import book

    base = tmp_path_factory.mktemp("fixture-book")
    root = make_fixture_root(base / "root")
    run = base / "run"
    code = book.main(["--profile", "smoke", "--root", str(root), "--run-dir", str(run),
                      "--output", str(base / "out"), "-p", "n_points", "25"])
    assert code == 0, "the fixture book did not build; see the output above"
    return {"root": root, "run": run, "html": base / "out" / "_build" / "html"}


def pattern_language(n: int, seed: int, lengths: tuple[int, int] = (8, 20)) -> list[list[int]]:
    """Token data a tiny model can learn: bos (1), a repeating cycle of the tokens 3, 4, 5
    from one of three phases, eos (2); ``lengths`` bounds the cycle's length (high end
    excluded). Used by the training and privacy tests."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        start = int(torch.randint(0, 3, (1,), generator=g))
        length = int(torch.randint(lengths[0], lengths[1], (1,), generator=g))
        out.append([1] + [3 + (start + i) % 3 for i in range(length)] + [2])
    return out


def make_small_run(base: Path, seed: int, n_sites: int, samples_per_population: int,
                   public_fraction: float = 0.1) -> Path:
    """A small simulated run directory (smoke profile, 300 kb) with its cohort, splits,
    profiles and the variant tokenizer saved: what the models chapters read."""
    from lib import data, rundir
    from lib import tokenization as tk

    run = rundir.run_path(base / "run", "smoke")
    prepared = data.prepare(run, source="simulate", seed=seed, n_sites=n_sites,
                            sim_samples_per_population=samples_per_population, sim_length=300_000,
                            public_fraction=public_fraction, progress=False)
    tk.save(tk.build_tokenizer("variant", panel_sites=data.site_keys(prepared.cohort)), run, "variant")
    return run
