"""The run directory contract (``data/runs/<run>/``), atomic writes and the manifest.

Every artefact is written to a temporary file next to its destination and renamed into
place, so a crash or a bad input never leaves a half-written file where a good one was.
``manifest.json`` records, per artefact, its checksum and the parameters that made it, so
a chapter can reuse an artefact whose inputs have not changed.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNS_ROOT = REPO_ROOT / "data" / "runs"
SUBDIRS = ("cohort", "tokenizers", "models", "synthetic", "metrics", "diagnostics", "notebooks")


def shown(path: str | os.PathLike) -> str:
    """``path`` as a published page may show it: relative to the repository when inside it
    (``data/runs/quick``), else only its last component (``…/run``), never the absolute
    path of the machine that built the page."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return f"…/{path.name}"


def run_path(run_dir: str | os.PathLike | None, profile: str) -> Path:
    """The run directory: ``run_dir`` if given (relative paths are taken from the repo root),
    else ``data/runs/<profile>``. Creates it and its standard subdirectories."""
    path = Path(run_dir) if run_dir else RUNS_ROOT / profile
    if not path.is_absolute():
        path = REPO_ROOT / path
    for sub in SUBDIRS:
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` only if the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(dest: str | os.PathLike, text: str) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_text(text)
    return Path(dest)


def write_json(dest: str | os.PathLike, obj: Any) -> Path:
    return write_text(dest, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def params_key(params: dict[str, Any]) -> str:
    """A stable hash of a parameter dict (what an artefact was made from)."""
    blob = json.dumps(params, sort_keys=True, default=_json_default)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: The manifest's file name at the top of a run directory.
MANIFEST_NAME = "manifest.json"


def read_manifest(run: Path) -> dict[str, Any]:
    path = Path(run) / MANIFEST_NAME
    if not path.exists():
        return {"artefacts": {}}
    return json.loads(path.read_text())


def code_version(root: str | os.PathLike = REPO_ROOT) -> dict[str, Any]:
    """The code a run was made with: ``commit`` (git HEAD of the repository, None outside
    a git checkout) and ``dirty`` (tracked files changed since that commit)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


@contextlib.contextmanager
def manifest_lock(run: str | os.PathLike) -> Iterator[None]:
    """Hold the run's manifest for a read-modify-write: an exclusive lock on
    ``.manifest.lock`` beside it, so that jobs training side by side
    (:mod:`lib.core.parallel`) never lose each other's entries."""
    import fcntl

    path = Path(run) / ".manifest.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record_artefacts(run: Path, chapter: str, params: dict[str, Any], paths: list[Path]) -> dict:
    """Add ``paths`` (made by ``chapter`` from ``params``) to the run's manifest, with the
    code they were made with (:func:`code_version`; it does not decide reuse), under
    :func:`manifest_lock`."""
    run = Path(run)
    code = code_version()
    entries = {}
    for path in paths:
        rel = str(Path(path).resolve().relative_to(run.resolve()))
        entries[rel] = {"chapter": chapter, "sha256": sha256(path), "params": params,
                        "params_key": params_key(params), "code": code}
    with manifest_lock(run):
        manifest = read_manifest(run)
        manifest.setdefault("artefacts", {})
        manifest["versions"] = package_versions()
        manifest["artefacts"].update(entries)
        write_json(run / MANIFEST_NAME, manifest)
    return manifest


def record_chapter(run: Path, chapter: str, parameters: dict[str, Any], seconds: float,
                   extra: dict[str, Any] | None = None) -> dict:
    """Record that ``chapter`` was executed on this run directory with ``parameters``
    (``manifest["chapters"][chapter]``: the parameters, the seconds it took, the code and
    the package versions, and ``extra``: the runner's fingerprint of what it executed),
    beside the artefacts it wrote."""
    entry = {"parameters": parameters, "seconds": round(float(seconds), 1), "code": code_version(),
             "versions": package_versions(), **(extra or {})}
    with manifest_lock(run):
        manifest = read_manifest(Path(run))
        manifest.setdefault("artefacts", {})
        manifest.setdefault("chapters", {})[chapter] = entry
        write_json(Path(run) / MANIFEST_NAME, manifest)
    return manifest


def is_current(run: Path, params: dict[str, Any], paths: list[Path]) -> bool:
    """True when every path exists, is in the manifest with the same parameters and checksum."""
    manifest = read_manifest(run).get("artefacts", {})
    key = params_key(params)
    for path in paths:
        path = Path(path)
        if not path.exists():
            return False
        rel = str(path.resolve().relative_to(Path(run).resolve()))
        entry = manifest.get(rel)
        if entry is None or entry.get("params_key") != key or entry.get("sha256") != sha256(path):
            return False
    return True


def package_versions() -> dict[str, str]:
    from importlib import metadata

    names = ["numpy", "pandas", "pysam", "msprime", "stdpopsim", "tskit", "torch",
             "transformers", "opacus", "altair", "papermill", "jupyter-book"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions
