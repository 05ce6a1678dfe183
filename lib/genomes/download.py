"""The 1000 Genomes phase 3 chr22 VCF, its index and the sample panel, from IGSR.

This is the ``source="1000g"`` path of the data chapter. Three files are fetched from the
International Genome Sample Resource (IGSR) FTP site, over its HTTPS mirror,
``https://ftp.1000genomes.ebi.ac.uk/vol1/ftp/release/20130502/``:

- ``ALL.chr22.phase3_shapeit2_mvncall_integrated_v5b.20130502.genotypes.vcf.gz``, the
  phased phase 3 call set for chromosome 22 on GRCh37 (2,504 samples, about 1.1 million
  sites), a BGZF-compressed VCF of **about 200 MB**;
- its tabix index (the same name plus ``.tbi``, about 10 kB);
- ``integrated_call_samples_v3.20130502.ALL.panel``, a tab-separated table with header
  ``sample pop super_pop gender`` that gives each sample's population (e.g. ``GBR``) and
  super-population (``AFR``, ``AMR``, ``EAS``, ``EUR``, ``SAS``).

They land in ``data/sources/`` (repository-relative, a parameter; the folder is ignored by
git). Nothing here parses genotypes: the caller reads the VCF with its own reader. The panel
is rewritten in the project's population-table format, a TSV with header
``sample population superpopulation``, at ``data/sources/1000g_samples.tsv``.

Downloads are resumable (a partial ``<file>.part`` is continued with an HTTP ``Range``
request), verified (size against ``Content-Length`` or a given size, optionally an MD5), and
atomic: the final file appears only once it is complete and verified. A sidecar
``<file>.download.json`` records the URL, size, MD5 and SHA-256 for provenance and lets a
later run skip the file without asking the server again. The base URL can be overridden with
the ``base_url`` argument or the environment variable ``LIB_1000G_BASE_URL`` (a mirror, or
the tests' local server).

Licence: the 1000 Genomes Project data are open access, distributed by IGSR without
restriction on use (https://www.internationalgenome.org/IGSR_disclaimer); the project asks
that users cite the phase 3 paper, *A global reference for human genetic variation*,
Nature 526, 68-74 (2015).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from ..core import rundir
from .vcf import BGZF_EOF


BASE_URL = "https://ftp.1000genomes.ebi.ac.uk/vol1/ftp/release/20130502/"
BASE_URL_ENV = "LIB_1000G_BASE_URL"
VCF_NAME = "ALL.chr22.phase3_shapeit2_mvncall_integrated_v5b.20130502.genotypes.vcf.gz"
TBI_NAME = VCF_NAME + ".tbi"
PANEL_NAME = "integrated_call_samples_v3.20130502.ALL.panel"
POPULATIONS_NAME = "1000g_samples.tsv"
PANEL_HEADER = ("sample", "pop", "super_pop", "gender")
POPULATIONS_HEADER = ("sample", "population", "superpopulation")


DEFAULT_CHUNK_SIZE = 1 << 20
DEFAULT_TIMEOUT = (15.0, 60.0)  # (connect, read) seconds
USER_AGENT = "lib-download/1.0 (python-requests)"


class DownloadError(RuntimeError):
    """A download that failed: HTTP error, unreachable server, timeout, interruption."""


class IntegrityError(DownloadError):
    """A downloaded file that is not what it should be (size, checksum, format)."""


# --------------------------------------------------------------------------- download

def download(url: str, dest: str | os.PathLike, expected_size: int | None = None,
             expected_md5: str | None = None, progress: bool = True,
             chunk_size: int = DEFAULT_CHUNK_SIZE, *,
             timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, retries: int = 3,
             retry_wait: float = 2.0, session: requests.Session | None = None) -> Path:
    """Download ``url`` to ``dest``, resumably and atomically; return ``dest``.

    Bytes go to ``dest.part``; a ``.part`` left by an earlier attempt is continued with a
    ``Range`` request (if the server ignores the range and answers 200, the part is dropped
    and the download restarts from zero). When the transfer ends, the size is checked against
    the server's ``Content-Length`` and ``expected_size``, the MD5 against ``expected_md5``;
    only then is the part renamed onto ``dest`` and a provenance sidecar
    ``dest.download.json`` written. A mismatch removes the part and raises
    :class:`IntegrityError`.

    An existing ``dest`` is kept without downloading when it is known to be complete: its
    MD5 equals ``expected_md5``, or else its size equals ``expected_size``, or its sidecar
    (same URL and size), or the server's ``HEAD`` ``Content-Length``.

    A connection dropped mid-transfer is resumed up to ``retries`` times (waiting
    ``retry_wait`` seconds times the attempt number); after that :class:`DownloadError` says
    how far it got, and the part is kept so that calling again resumes.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    own_session = session is None
    session = session or requests.Session()
    try:
        if dest.exists() and _already_complete(url, dest, expected_size, expected_md5,
                                               session, timeout):
            return dest
        attempt = 0
        while True:
            try:
                total = _fetch_into(url, part, expected_size, progress, chunk_size, session,
                                    timeout)
                break
            except _Interrupted as exc:
                attempt += 1
                have = part.stat().st_size if part.exists() else 0
                if attempt > retries:
                    raise DownloadError(
                        f"download of {url} was interrupted ({exc}) after {have:,} bytes, "
                        f"{retries} retr{'y' if retries == 1 else 'ies'} used; the partial file {part} is kept, "
                        f"run again to resume") from None
                if retry_wait:
                    time.sleep(retry_wait * attempt)
        _verify_part(url, part, dest, total, expected_size, expected_md5)
        md5, sha256 = _hashes(part)
        if expected_md5 is not None and md5 != expected_md5.lower():
            part.unlink()
            raise IntegrityError(
                f"MD5 mismatch for {url} -> {dest}: expected {expected_md5.lower()}, "
                f"got {md5}; the partial file was removed")
        os.replace(part, dest)
        _write_sidecar(dest, url, dest.stat().st_size, md5, sha256)
        return dest
    finally:
        if own_session:
            session.close()


class _Interrupted(Exception):
    """Internal: the transfer stopped early but may be resumed."""


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    # identity: Content-Length must count the file's bytes, and the bytes must not be decoded.
    headers = {"Accept-Encoding": "identity", "User-Agent": USER_AGENT}
    headers.update(extra or {})
    return headers


def _request(session: requests.Session, method: str, url: str, timeout, **kwargs):
    """One request; network failures become :class:`DownloadError` with the URL in words."""
    try:
        return session.request(method, url, timeout=timeout, allow_redirects=True, **kwargs)
    except requests.exceptions.ConnectTimeout as exc:
        raise DownloadError(f"timed out connecting to {url} ({_reason(exc)})") from None
    except requests.exceptions.ReadTimeout as exc:
        raise DownloadError(f"timed out waiting for {url} to answer ({_reason(exc)})") from None
    except requests.exceptions.SSLError as exc:
        raise DownloadError(f"TLS error talking to {url}: {_reason(exc)}") from None
    except requests.exceptions.ConnectionError as exc:
        raise DownloadError(
            f"could not connect to {url}: {_reason(exc)} (no network, a proxy, or the "
            f"server is down?)") from None
    except requests.exceptions.RequestException as exc:
        raise DownloadError(f"request for {url} failed: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain."""
    inner: BaseException = exc
    while inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    reason = getattr(inner, "reason", None)
    if reason is not None:
        return str(reason)[:300]
    if inner.args and isinstance(inner.args[0], str):
        return inner.args[0][:300]
    return str(inner)[:300]


def _raise_for_status(url: str, response: requests.Response) -> None:
    if response.status_code < 400:
        return
    code = response.status_code
    if code == 404:
        raise DownloadError(f"not found (HTTP 404): {url}")
    if code in (401, 403):
        raise DownloadError(f"access denied (HTTP {code}): {url}")
    raise DownloadError(f"HTTP {code} {response.reason or ''} for {url}".replace("  ", " "))


def _already_complete(url: str, dest: Path, expected_size, expected_md5, session,
                      timeout) -> bool:
    """Whether an existing ``dest`` is complete; if it is known not to be, remove it."""
    size = dest.stat().st_size
    sidecar = _read_sidecar(dest)
    if expected_md5 is not None:
        if sidecar.get("size") == size and sidecar.get("md5") == expected_md5.lower():
            return True
        if _hashes(dest)[0] == expected_md5.lower():
            return True
        reason = "its MD5 differs from the expected one"
    elif expected_size is not None:
        if size == expected_size:
            return True
        reason = f"it has {size:,} bytes, expected {expected_size:,}"
    elif sidecar.get("url") == url and sidecar.get("size") == size:
        return True
    else:
        try:
            head = _request(session, "HEAD", url, timeout, headers=_headers())
        except DownloadError as exc:
            warnings.warn(f"keeping {dest} unverified: {exc}", stacklevel=3)
            return True
        length = head.headers.get("Content-Length")
        if head.status_code >= 400 or length is None:
            warnings.warn(f"keeping {dest}: the server gave no size to check it against "
                          f"(HTTP {head.status_code})", stacklevel=3)
            return True
        if int(length) == size:
            _write_sidecar(dest, url, size, *_hashes(dest))
            return True
        reason = f"it has {size:,} bytes, the server says {int(length):,}"
    warnings.warn(f"downloading {dest.name} again: {reason}", stacklevel=3)
    dest.unlink()
    _sidecar_path(dest).unlink(missing_ok=True)
    return False


def _fetch_into(url: str, part: Path, expected_size, progress, chunk_size, session,
                timeout) -> int | None:
    """Append the rest of ``url`` to ``part``; return the full size if the server said it.

    Raises :class:`_Interrupted` when the transfer stops early (resumable)."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        part.unlink()
        offset = 0
    for _ in range(2):  # at most one clean restart (416 on a bad part)
        headers = _headers({"Range": f"bytes={offset}-"} if offset else None)
        response = _request(session, "GET", url, timeout, headers=headers, stream=True)
        with response:
            if response.status_code == 416:
                total = _content_range_total(response.headers.get("Content-Range"))
                if total is not None and offset == total:
                    return total  # the part already holds the whole file
                part.unlink(missing_ok=True)  # the part is longer than the file: start over
                offset = 0
                continue
            _raise_for_status(url, response)
            length = response.headers.get("Content-Length")
            length = int(length) if length is not None else None
            if response.status_code == 206:
                start, total = _content_range(response.headers.get("Content-Range"))
                if start != offset:
                    part.unlink(missing_ok=True)
                    offset = 0
                    continue
                if total is None and length is not None:
                    total = offset + length
                mode = "ab"
            else:  # 200: the whole file, whether or not we asked for a range
                offset, total, mode = 0, length, "wb"
            return _stream(url, response, part, mode, offset, total, progress, chunk_size)
    raise DownloadError(f"the server for {url} does not answer range requests consistently")


def _stream(url, response, part: Path, mode: str, offset: int, total: int | None,
            progress: bool, chunk_size: int) -> int | None:
    written = offset
    bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
               desc=part.name[:-len(".part")][:40], disable=not progress, leave=False,
               mininterval=0.5)
    try:
        with open(part, mode) as fh:
            try:
                for chunk in response.iter_content(chunk_size=chunk_size):
                    fh.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
            except (requests.exceptions.ConnectionError,
                    requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.Timeout) as exc:
                raise _Interrupted(_reason(exc)) from None
    finally:
        bar.close()
    if total is not None and written < total:
        raise _Interrupted(f"connection closed at {written:,} of {total:,} bytes")
    return total


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes 100-199/1000`` -> (100, 1000); total None when ``*``."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    start = span.split("-")[0]
    return (int(start) if start.isdigit() else None,
            int(total) if total.isdigit() else None)


def _content_range_total(value: str | None) -> int | None:
    """``bytes */1000`` -> 1000."""
    return _content_range(value)[1]


def _verify_part(url, part: Path, dest: Path, total, expected_size, expected_md5) -> None:
    size = part.stat().st_size if part.exists() else 0
    for label, want in (("the server's Content-Length", total), ("expected", expected_size)):
        if want is not None and size != want:
            part.unlink(missing_ok=True)
            raise IntegrityError(
                f"size mismatch for {url} -> {dest}: {label} {want:,} bytes, got {size:,}; "
                f"the partial file was removed")


def _hashes(path: Path) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            md5.update(block)
            sha256.update(block)
    return md5.hexdigest(), sha256.hexdigest()


def _sidecar_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".download.json")


def _read_sidecar(dest: Path) -> dict[str, Any]:
    try:
        data = json.loads(_sidecar_path(dest).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_sidecar(dest: Path, url: str, size: int, md5: str, sha256: str) -> None:
    record = {"url": url, "file": dest.name, "size": size, "md5": md5, "sha256": sha256,
              "downloaded": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    path = _sidecar_path(dest)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- 1000 Genomes

def resolve_base_url(base_url: str | None = None) -> str:
    """``base_url``, else ``$LIB_1000G_BASE_URL``, else the IGSR release folder; ends in ``/``."""
    url = base_url or os.environ.get(BASE_URL_ENV) or BASE_URL
    return url if url.endswith("/") else url + "/"


def fetch_1000g_chr22(dest_dir: str | os.PathLike = "data/sources", base_url: str | None = None,
                      progress: bool = True, **download_kwargs: Any) -> dict[str, Path]:
    """Download (or reuse) the phase 3 chr22 VCF, its index and the panel; return their paths.

    Returns ``{"vcf", "tbi", "panel", "populations"}``, the last being the panel rewritten as
    ``dest_dir/1000g_samples.tsv`` (``sample population superpopulation``). A relative
    ``dest_dir`` is taken from the repository root. The VCF must be complete BGZF (end in the
    BGZF EOF block) and start like a VCF, the index must be a tabix index, and the panel must
    have the header ``sample pop super_pop gender``; a file that fails is removed (so the next
    run downloads it again) and :class:`IntegrityError` says why. Extra keyword arguments go
    to :func:`download` (``timeout``, ``retries``, ``session``...).
    """
    dest_dir = Path(dest_dir)
    if not dest_dir.is_absolute():
        dest_dir = rundir.REPO_ROOT / dest_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    base = resolve_base_url(base_url)
    paths: dict[str, Path] = {}
    for key, name in (("vcf", VCF_NAME), ("tbi", TBI_NAME), ("panel", PANEL_NAME)):
        paths[key] = download(base + name, dest_dir / name, progress=progress,
                              **download_kwargs)
    _checked(paths["vcf"], check_vcf)
    _checked(paths["tbi"], check_tabix_index)
    panel = _checked(paths["panel"], read_panel)
    if paths["tbi"].stat().st_mtime < paths["vcf"].stat().st_mtime - 1:
        # htslib warns when an index is older than its data file (a re-downloaded VCF).
        os.utime(paths["tbi"])
    paths["populations"] = write_populations(panel, dest_dir / POPULATIONS_NAME)
    return paths


def _checked(path: Path, check):
    try:
        return check(path)
    except IntegrityError:
        path.unlink(missing_ok=True)
        _sidecar_path(path).unlink(missing_ok=True)
        raise


def check_vcf(path: str | os.PathLike) -> Path:
    """Raise :class:`IntegrityError` unless ``path`` is a complete BGZF-compressed VCF."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        magic = fh.read(4)
        fh.seek(max(0, size - len(BGZF_EOF)))
        tail = fh.read()
    if magic[:3] != b"\x1f\x8b\x08" or not magic[3] & 0x04:
        raise IntegrityError(f"{path} is not BGZF-compressed (no gzip header with BGZF extra field)")
    if tail != BGZF_EOF:
        raise IntegrityError(
            f"{path} is truncated or incomplete: it does not end with the 28-byte BGZF EOF "
            f"block ({size:,} bytes on disk); it was removed, download it again")
    try:
        with gzip.open(path, "rb") as fh:
            first = fh.read(16)
    except OSError as exc:
        raise IntegrityError(f"{path} does not decompress: {exc}") from None
    if not first.startswith(b"##fileformat=VCF"):
        raise IntegrityError(f"{path} does not start with '##fileformat=VCF' (got {first!r})")
    return path


def check_tabix_index(path: str | os.PathLike) -> Path:
    """Raise :class:`IntegrityError` unless ``path`` is a (BGZF) tabix index."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise IntegrityError(f"{path} is not a tabix index (does not decompress: {exc})") from None
    if magic != b"TBI\x01":
        raise IntegrityError(f"{path} is not a tabix index (magic {magic!r}, expected b'TBI\\x01')")
    return path


def read_panel(path: str | os.PathLike) -> list[tuple[str, str, str, str]]:
    """The panel's rows ``(sample, pop, super_pop, gender)``; checks header, columns, duplicates.

    Fields are whitespace-separated (the IGSR file pads lines with empty tab fields)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines or tuple(lines[0].split()[:4]) != PANEL_HEADER:
        got = lines[0].split() if lines else []
        raise IntegrityError(
            f"{path} is not the 1000 Genomes sample panel: expected header "
            f"{' '.join(PANEL_HEADER)!r}, got {' '.join(got)!r}")
    rows, seen = [], set()
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 3:
            raise IntegrityError(f"{path}, line {number}: expected sample, pop, super_pop, "
                                 f"gender, got {line!r}")
        sample = fields[0]
        if sample in seen:
            raise IntegrityError(f"{path}, line {number}: sample {sample!r} appears twice")
        seen.add(sample)
        rows.append((sample, fields[1], fields[2], fields[3] if len(fields) > 3 else ""))
    if not rows:
        raise IntegrityError(f"{path} lists no samples")
    return rows


def write_populations(panel: list[tuple[str, ...]], dest: str | os.PathLike) -> Path:
    """Write the project's population table (``sample population superpopulation``)."""
    dest = Path(dest)
    text = "\t".join(POPULATIONS_HEADER) + "\n" + "".join(
        f"{row[0]}\t{row[1]}\t{row[2]}\n" for row in panel)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.genomes.download [DEST_DIR] [--base-url URL] [--quiet]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Download 1000 Genomes phase 3 chr22 from IGSR.")
    parser.add_argument("dest_dir", nargs="?", default="data/sources")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        paths = fetch_1000g_chr22(args.dest_dir, args.base_url, progress=not args.quiet)
    except DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for key, path in paths.items():
        print(f"{key}\t{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
