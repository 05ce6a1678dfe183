"""The reproducible record (``book/08_record.ipynb``, an appendix): what the run directory's
``manifest.json`` says about how every number of the book was made.

* :func:`chapters_table` -- each chapter as it was last executed on this run: its
  parameters, the seconds it took, the code (git commit) and the packages.
* :func:`inputs_table` -- the checksums of the inputs the artefacts were made from (the
  VCF, the panel, the population labels, the tokenizers, the public texts, the bases).
* :func:`artefacts_table` -- every artefact: the chapter that wrote it, its seed, its
  SHA-256 as recorded, and whether the file on disk still has it (checked now).
* :func:`versions_table` -- the package versions.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import pandas as pd

from .core import rundir
from .runs.run import Run

CHAPTER = "08_record"


def load_manifest(run: str | os.PathLike) -> dict[str, Any]:
    """The run's manifest (an error naming the file when there is none)."""
    run = Run.of(run)
    path = run.path / rundir.MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run the book's chapters on this run directory first")
    return run.manifest()


def _short(code: Mapping[str, Any] | None) -> str:
    if not code or not code.get("commit"):
        return "–"
    return code["commit"][:12] + (" (changed)" if code.get("dirty") else "")


def chapters_table(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """One row per executed chapter: its parameters, seconds, commit."""
    rows = [{"chapter": name, "parameters": ", ".join(f"{k}={v!r}" for k, v in entry.get("parameters", {}).items()),
             "seconds": entry.get("seconds"), "commit": _short(entry.get("code"))}
            for name, entry in sorted(manifest.get("chapters", {}).items())]
    return pd.DataFrame(rows, columns=["chapter", "parameters", "seconds", "commit"]).set_index("chapter")


def versions_table(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """The package versions the manifest last recorded."""
    versions = manifest.get("versions", {})
    return pd.DataFrame({"package": list(versions), "version": list(versions.values())}).set_index("package")


def inputs_table(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """Every input checksum an artefact's parameters name (``*_sha256`` keys, at any
    depth): ``input``, ``sha256``, and the number of artefacts made from it."""
    found: dict[tuple[str, str], int] = {}

    def walk(node: Any, parent: str) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                if key.endswith("sha256") and isinstance(item, str):
                    name = key[: -len("sha256")].rstrip("_") or parent or "file"
                    found[(name, item)] = found.get((name, item), 0) + 1
                else:
                    walk(item, key)

    for entry in manifest.get("artefacts", {}).values():
        walk(entry.get("params", {}), "")
    rows = [{"input": name, "sha256": digest, "artefacts made from it": n} for (name, digest), n in sorted(found.items())]
    return pd.DataFrame(rows, columns=["input", "sha256", "artefacts made from it"]).set_index("input")


def artefacts_table(run: str | os.PathLike, manifest: Mapping[str, Any]) -> pd.DataFrame:
    """Every artefact of the manifest: ``chapter``, ``seed`` (where its parameters have
    one), ``sha256`` as recorded, ``bytes`` and ``matches`` (the file on disk has that
    checksum now; False for a file changed or gone since)."""
    run = Run.of(run)
    rows = []
    for rel, entry in sorted(manifest.get("artefacts", {}).items()):
        path = run.path / rel
        exists = path.is_file()
        rows.append({"artefact": rel, "chapter": entry.get("chapter", ""),
                     "seed": entry.get("params", {}).get("seed", "") if isinstance(entry.get("params"), dict) else "",
                     "sha256": entry.get("sha256", ""), "bytes": path.stat().st_size if exists else 0,
                     "matches": bool(exists and rundir.sha256(path) == entry.get("sha256")),
                     "commit": _short(entry.get("code"))})
    return pd.DataFrame(rows, columns=["artefact", "chapter", "seed", "sha256", "bytes", "matches",
                                       "commit"]).set_index("artefact")


def numbers(run: str | os.PathLike, manifest: Mapping[str, Any], artefacts: pd.DataFrame) -> dict[str, str]:
    """The appendix's prose numbers: artefacts, how many still match, commits seen."""
    commits = sorted({_short(e.get("code")) for e in manifest.get("artefacts", {}).values()} - {"–"})
    return {"n_artefacts": f"{len(artefacts):,}", "n_matching": f"{int(artefacts['matches'].sum()):,}",
            "n_chapters": f"{len(manifest.get('chapters', {})):,}",
            "commits": ", ".join(commits) if commits else "none recorded (artefacts made before commits were recorded)",
            "run_name": Run.of(run).name}
