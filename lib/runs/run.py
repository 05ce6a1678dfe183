"""A run directory as one object: :class:`Run`.

The run-directory contract (``data/runs/<run>/``, :mod:`lib.core.rundir`) spelt out once: where
each artefact of a run lives, which models and synthetic cohorts the run holds, its chapters'
tables read back with their types (:data:`TABLES`), and its manifest (``is_current``,
``record``). Chapter modules and :mod:`lib.runs.artefacts` take a run as a :class:`Run`
(``Run.of(run)`` accepts a path too); the concern packages below keep plain paths, and a
:class:`Run` is a path-like object (``os.fspath(run)``), so it can be passed to them as it is.

What a run holds, by area (the privacy boundary shows in where things are kept):

* ``cohort/`` -- the real people (private) and the public panel;
* ``tokenizers/`` -- built from public information only;
* ``models/<name>/`` -- what a run would release with a model;
* ``synthetic/<name>.*`` -- the cohorts sampled from the models (covered by the model's ε);
* ``metrics/<name>.csv`` -- the chapters' tables (:data:`TABLES`);
* ``diagnostics/`` -- everything computed from the members without noise (never released);
* ``notebooks/`` -- the executed chapters.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..core import rundir


@dataclasses.dataclass(frozen=True)
class Table:
    """A chapter's table ``metrics/<name>.csv``: the ``chapter`` that writes it (named in
    the error when it is missing) and its ``text`` columns (read as text, "" where empty;
    the other columns are numbers or True/False)."""

    name: str
    chapter: str
    text: tuple[str, ...]


#: The chapters' tables that later chapters read back typed (:meth:`Run.table`).
TABLES: dict[str, Table] = {t.name: t for t in (
    Table("05_utility", "utility (05)", ("cohort", "kind", "setting", "model", "family", "tokenizer", "variant", "eps",
                                         "decoding", "group", "metric")),
    Table("05_utility_seeds", "utility (05)", ("setting", "kind", "family", "tokenizer", "variant", "eps", "decoding",
                                               "group", "metric", "seed_values")),
    Table("06_privacy", "privacy (06)", ("target", "target_kind", "setting", "family", "tokenizer", "variant", "eps",
                                         "attack", "kind", "selected", "epsilon_attack")),
    Table("06_privacy_seeds", "privacy (06)", ("setting", "target_kind", "family", "tokenizer", "variant", "eps",
                                               "attack", "kind", "seed_values")),
    Table("06_audit", "privacy (06)", ("audit run", "family", "eps", "guesses (right / made)")),
)}


def missing(path: Path, chapter: str) -> FileNotFoundError:
    """The error for an artefact that is not there: it names the chapter to run first."""
    return FileNotFoundError(f"{path}: missing; run the {chapter} chapter for this run first")


@dataclasses.dataclass(frozen=True)
class Run(os.PathLike):
    """One run directory (``path``) and its contract. ``Run.of(x)`` takes a :class:`Run` or
    a path; :meth:`at` resolves ``run_dir``/``profile`` as the chapters' parameters do and
    creates the standard areas."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def of(cls, run: "Run | str | os.PathLike") -> "Run":
        return run if isinstance(run, Run) else cls(Path(run))

    @classmethod
    def at(cls, run_dir: str | os.PathLike | None, profile: str) -> "Run":
        """:func:`lib.core.rundir.run_path` as a :class:`Run`."""
        return cls(rundir.run_path(run_dir, profile))

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    # ----------------------------------------------------------------- where things live
    def area(self, name: str) -> Path:
        """One of the run's areas (:data:`lib.core.rundir.SUBDIRS`); another name is refused."""
        if name not in rundir.SUBDIRS:
            raise ValueError(f"{name!r}: not an area of a run directory (one of {', '.join(rundir.SUBDIRS)})")
        return self.path / name

    def cohort_paths(self) -> dict[str, Path]:
        """The files of ``cohort/`` (written by the data chapter)."""
        base = self.area("cohort")
        return {"vcf": base / "cohort.vcf.gz", "tbi": base / "cohort.vcf.gz.tbi",
                "populations": base / "populations.tsv", "splits": base / "splits.json",
                "profiles": base / "profiles.jsonl", "profiles_dense": base / "profiles_dense.jsonl.gz",
                "panel": base / "panel.json"}

    def diagnostics_path(self, *parts: str) -> Path:
        """``diagnostics/<parts>``: what is computed from the members without noise (never released)."""
        return self.area("diagnostics").joinpath(*parts)

    def data_diagnostics_paths(self) -> dict[str, Path]:
        """The data chapter's diagnostics: ``data.json`` (the source, what the reader repaired,
        the panel's notes) and ``panel_coverage.csv`` (what the panel covers of the members'
        variation, :func:`lib.genomes.panel.coverage`)."""
        return {"data": self.diagnostics_path("data.json"), "coverage": self.diagnostics_path("panel_coverage.csv")}

    def model_dir(self, name: str) -> Path:
        """``models/<name>/``: what a run would release with the model ``name``."""
        return self.area("models") / name

    def diagnostic_model_dir(self, name: str) -> Path:
        """``diagnostics/models/<name>/``: a model trained on members' data that is no target
        and is never released (the attacker's online reference models, which train on the
        candidates' profiles): kept out of ``models/``, the area a run releases from."""
        return self.diagnostics_path("models", name)

    def history_path(self, name: str) -> Path:
        """A model's training history (losses on the members, clipping statistics): a
        diagnostic outside the guarantee, kept out of the model's directory."""
        return self.diagnostics_path(name, "history.json")

    def synthetic_paths(self, name: str) -> dict[str, Path]:
        """``synthetic/<name>.vcf.gz`` (+ ``.tbi``), ``<name>.profiles.jsonl``, ``<name>.json``."""
        base = self.area("synthetic")
        return {"vcf": base / f"{name}.vcf.gz", "tbi": base / f"{name}.vcf.gz.tbi",
                "profiles": base / f"{name}.profiles.jsonl", "summary": base / f"{name}.json"}

    def metrics_path(self, name: str) -> Path:
        """``metrics/<name>.csv``: a chapter's table."""
        return self.area("metrics") / f"{name}.csv"

    def notebook_path(self, chapter: str) -> Path:
        """``notebooks/<chapter>.ipynb``: the chapter as it was executed on this run."""
        return self.area("notebooks") / f"{chapter}.ipynb"

    # ----------------------------------------------------------------- what it holds
    def models(self, pattern: str = "*") -> list[str]:
        """The names of the run's ``models/<name>/`` directories matching ``pattern``, sorted."""
        area = self.area("models")
        return sorted(p.name for p in area.glob(pattern) if p.is_dir()) if area.is_dir() else []

    def cohorts(self) -> list[str]:
        """The names of the run's synthetic cohorts (``synthetic/<name>.vcf.gz``), sorted."""
        area = self.area("synthetic")
        return sorted(p.name[: -len(".vcf.gz")] for p in area.glob("*.vcf.gz")) if area.is_dir() else []

    def table(self, name: str) -> pd.DataFrame:
        """The chapter's table ``metrics/<name>.csv`` (:data:`TABLES`) as the chapter made it:
        its text columns as text ("" where empty: a reference row has no ε label), a column of
        True/False as booleans, every other column numeric (NaN where empty). A missing table
        names the chapter that writes it; a name that is no table of :data:`TABLES` is refused."""
        if name not in TABLES:
            raise KeyError(f"{name!r}: no such table of a run (one of {', '.join(TABLES)})")
        spec = TABLES[name]
        path = self.metrics_path(name)
        if not path.is_file():
            raise missing(path, spec.chapter)
        table = pd.read_csv(path, dtype={c: str for c in spec.text}, keep_default_na=False, na_values={})
        for column in table.columns:
            if column in spec.text:
                table[column] = table[column].astype(str)
            elif len(table) and table[column].isin(["True", "False"]).all():
                table[column] = table[column] == "True"
            else:
                table[column] = pd.to_numeric(table[column].replace("", np.nan))
        return table

    # ----------------------------------------------------------------- the manifest
    def manifest(self) -> dict[str, Any]:
        return rundir.read_manifest(self.path)

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` relative to the run directory when inside it (``models/gpt2-public-base``),
        else as given: what a record of the run stores, so that moving the run keeps it."""
        path = Path(path)
        try:
            return path.resolve().relative_to(self.path.resolve()).as_posix()
        except ValueError:
            return str(path)

    def is_current(self, params: Mapping[str, Any], paths: Sequence[str | os.PathLike]) -> bool:
        """:func:`lib.core.rundir.is_current`: every path there, recorded with these parameters."""
        return rundir.is_current(self.path, dict(params), [Path(p) for p in paths])

    def record(self, chapter: str, params: Mapping[str, Any], paths: Sequence[str | os.PathLike]) -> dict:
        """:func:`lib.core.rundir.record_artefacts`: ``paths``, made by ``chapter`` from ``params``."""
        return rundir.record_artefacts(self.path, chapter, dict(params), [Path(p) for p in paths])
