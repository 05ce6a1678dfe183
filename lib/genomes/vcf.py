"""Reading a cohort from a VCF robustly, and writing one back with pysam.

Real VCFs are messier than the specification. The shared 1000 Genomes panel alone has a
contig header with the wrong assembly and length, multi-allelic ALT alleles joined with
``/`` instead of ``,``, INFO counts that contradict the genotypes, and SNVs and indels
sharing a position. A reader that trusts such a file silently produces wrong allele
frequencies; a reader that gives up on it with a deep htslib traceback helps nobody.

So :func:`read_vcf` checks the file before doing any work (exists, is VCF/BCF, is not a
truncated gzip), then reads the records of one chromosome line by line and either
**repairs** a quirk it can repair unambiguously — recording each repair in
``Cohort.repairs`` and in the log — or raises :class:`VCFError` naming the file, the line
and the problem. Genotypes are parsed with numpy when every call has the fixed ``a|b`` shape
(the common case, ~100x faster than per-sample Python), and one call at a time otherwise.

Input goes through pysam/htslib where that is the right tool: BCF is decoded by
``pysam.VariantFile``, a ``region`` of an indexed file is fetched with ``pysam.TabixFile``.
INFO is never read: AC/AF/AN are recomputed from the genotypes.

:func:`write_vcf` writes a cohort as a bgzipped, tabix-indexed VCF (pysam's
``tabix_compress`` and ``tabix_index``) with a contig header carrying the contig's real
length and assembly.
"""
from __future__ import annotations

import gzip
import io
import logging
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .cohort import CHR22_LENGTH, Cohort, Contig, UNKNOWN

log = logging.getLogger(__name__)

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
GZIP_MAGIC = b"\x1f\x8b"

# The 26 1000 Genomes populations and their continental groups, used when a population
# table gives populations but no super-populations.
SUPERPOPULATION = {
    **dict.fromkeys(["YRI", "LWK", "GWD", "MSL", "ESN", "ASW", "ACB"], "AFR"),
    **dict.fromkeys(["MXL", "PUR", "CLM", "PEL"], "AMR"),
    **dict.fromkeys(["CHB", "JPT", "CHS", "CDX", "KHV"], "EAS"),
    **dict.fromkeys(["CEU", "TSI", "FIN", "GBR", "IBS"], "EUR"),
    **dict.fromkeys(["GIH", "PJL", "BEB", "STU", "ITU"], "SAS"),
}

_ALLELE = re.compile(r"^[ACGTN]+$")
_INFO_AF = re.compile(r"(?:^|;)AF=([^;]+)")


class VCFError(ValueError):
    """A VCF (or population table) that cannot be read as asked; the message names the file."""


# --------------------------------------------------------------------------------------
# Names, regions
# --------------------------------------------------------------------------------------

def normalise_chromosome(name: str | int) -> str:
    """``"chr22"``, ``"22"`` and ``22`` all name chromosome ``"22"``."""
    text = str(name).strip()
    return text[3:] if text.lower().startswith("chr") else text


def parse_region(region: str | None, chromosome: str) -> tuple[int, int] | None:
    """Parse ``"22:16,000,000-17,000,000"``, ``"chr22:16000000-17000000"`` or
    ``"16000000-17000000"`` into a 1-based inclusive ``(start, end)``."""
    if region is None or str(region).strip() == "":
        return None
    text = str(region).replace(",", "").replace("_", "").strip()
    match = re.fullmatch(r"(?:(?P<chrom>[^:]+):)?(?P<start>\d+)-(?P<end>\d+)", text)
    if not match:
        raise ValueError(f"region={region!r} is not of the form 'CHROM:START-END' (1-based, inclusive)")
    if match["chrom"] and normalise_chromosome(match["chrom"]) != normalise_chromosome(chromosome):
        raise ValueError(f"region={region!r} is on chromosome {match['chrom']}, not chromosome={chromosome!r}")
    start, end = int(match["start"]), int(match["end"])
    if start < 1 or end < start:
        raise ValueError(f"region={region!r} is empty or starts before position 1")
    return start, end


# --------------------------------------------------------------------------------------
# Checks before any work
# --------------------------------------------------------------------------------------

def sniff(path: str | os.PathLike) -> str:
    """Return ``"vcf"``, ``"vcf.gz"``, ``"bgzf-vcf"`` or ``"bcf"``; raise VCFError otherwise.

    Checks that the file exists, is not empty, is not a truncated BGZF file (the 28-byte
    end-of-file block is missing) and starts like a VCF or BCF.
    """
    path = Path(path)
    if not path.exists():
        raise VCFError(f"{path}: file not found")
    if path.is_dir():
        raise VCFError(f"{path}: is a directory, not a VCF file")
    size = path.stat().st_size
    if size == 0:
        raise VCFError(f"{path}: file is empty")
    with open(path, "rb") as handle:
        head = handle.read(18)
        if head[:2] != GZIP_MAGIC:
            if head.startswith(b"##fileformat=VCF"):
                return "vcf"
            if head.startswith(b"BCF"):
                raise VCFError(f"{path}: uncompressed BCF is not supported; compress it with bcftools view -Ob")
            raise VCFError(f"{path}: not a VCF or BCF file (it starts with {head[:16]!r}, "
                           "expected '##fileformat=VCF' or gzip/BGZF data)")
        is_bgzf = len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC"
        if is_bgzf:
            handle.seek(max(0, size - len(BGZF_EOF)))
            if handle.read() != BGZF_EOF:
                raise VCFError(f"{path}: truncated BGZF file (the end-of-file block is missing); "
                               "the download or copy was probably interrupted")
    try:
        with gzip.open(path, "rb") as handle:
            first = handle.read(5)
    except (OSError, EOFError, zlib.error) as exc:
        raise VCFError(f"{path}: corrupt gzip data ({exc})") from None
    if first.startswith(b"BCF"):
        return "bcf"
    if first.startswith(b"##fil"):
        return "bgzf-vcf" if is_bgzf else "vcf.gz"
    raise VCFError(f"{path}: gzip-compressed but not a VCF or BCF (it starts with {first!r})")


def _header_and_lines(path: Path, kind: str, contig: str | None,
                      region: tuple[int, int] | None) -> tuple[list[str], Iterator[str]]:
    """Header lines and an iterator over data lines (text, without newline)."""
    import pysam

    if kind == "bcf":
        try:
            vf = pysam.VariantFile(str(path))
        except (OSError, ValueError) as exc:
            raise VCFError(f"{path}: cannot open BCF ({exc})") from None
        header = str(vf.header).rstrip("\n").split("\n")

        def bcf_lines() -> Iterator[str]:
            with vf:
                for rec in vf:
                    yield str(rec).rstrip("\n")
        return header, bcf_lines()

    if kind == "bgzf-vcf" and region is not None and contig is not None:
        fetched = _tabix_fetch(path, contig, region)
        if fetched is not None:
            return fetched

    opener = gzip.open if kind in ("vcf.gz", "bgzf-vcf") else open
    handle = opener(path, "rt", newline="")
    header: list[str] = []
    try:
        for line in handle:
            line = line.rstrip("\r\n")
            if line.startswith("#"):
                header.append(line)
                if line.startswith("#CHROM"):
                    break
            elif line:
                raise VCFError(f"{path}: data line before the '#CHROM' header line")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        handle.close()
        raise VCFError(f"{path}: cannot read header ({exc})") from None

    def text_lines() -> Iterator[str]:
        try:
            for line in handle:
                line = line.rstrip("\r\n")
                if line:
                    yield line
        except EOFError:
            raise VCFError(f"{path}: truncated gzip data (the compressed stream ends early)") from None
        except (OSError, zlib.error, UnicodeDecodeError) as exc:
            raise VCFError(f"{path}: corrupt data ({exc})") from None
        finally:
            handle.close()
    return header, text_lines()


def _tabix_fetch(path: Path, contig: str, region: tuple[int, int]) -> tuple[list[str], Iterator[str]] | None:
    """Header lines and the data lines of ``region`` of a bgzipped VCF through its tabix (or
    CSI) index; None when there is no usable index."""
    import pysam

    index = next((Path(str(path) + ext) for ext in (".tbi", ".csi") if Path(str(path) + ext).exists()), None)
    if index is None:
        return None
    try:
        tabix = pysam.TabixFile(str(path), index=str(index))
        header = list(tabix.header)
        if contig not in tabix.contigs:
            raise VCFError(f"{path}: no records on chromosome {contig!r}; "
                           f"contigs in the index: {', '.join(tabix.contigs) or 'none'}")
        # pysam regions are 0-based half-open
        return header, iter(tabix.fetch(contig, region[0] - 1, region[1]))
    except OSError as exc:
        log.warning("%s: tabix index unusable (%s); reading the whole file", path, exc)
        return None


# --------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------

def _parse_header(path: Path, header: list[str], repairs: list[str]) -> tuple[list[str], dict[str, dict]]:
    if not header or not header[0].startswith("##fileformat=VCF"):
        raise VCFError(f"{path}: missing '##fileformat=VCF' first line")
    chrom_lines = [h for h in header if h.startswith("#CHROM")]
    if not chrom_lines:
        raise VCFError(f"{path}: missing the '#CHROM POS ID REF ALT ...' header line")
    fields = chrom_lines[0].split("\t")
    if fields[-1] == "" and len(fields) > 1:
        n_trailing = 0
        while fields and fields[-1] == "":
            fields.pop()
            n_trailing += 1
        repairs.append(f"header: removed {n_trailing} trailing tab(s) from the #CHROM line "
                       "(they would have made empty sample names)")
    expected = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if fields[:8] != expected:
        raise VCFError(f"{path}: the #CHROM line's first columns are {fields[:8]}, expected {expected}")
    samples = [s.strip() for s in fields[9:]]
    if len(fields) <= 9 or not samples:
        raise VCFError(f"{path}: the VCF has no samples (no genotype columns after FORMAT)")
    if any(s == "" for s in samples):
        raise VCFError(f"{path}: the #CHROM line has an empty sample name (two tabs in a row?)")
    dupes = pd.Series(samples)[pd.Series(samples).duplicated()].unique().tolist()
    if dupes:
        raise VCFError(f"{path}: duplicated sample names in the header: {dupes[:5]}")
    contigs: dict[str, dict] = {}
    for line in header:
        if line.startswith("##contig=<"):
            body = line[len("##contig=<"):].rstrip(">")
            attrs = dict(re.findall(r'([A-Za-z_]+)=("[^"]*"|[^,]*)', body))
            if "ID" in attrs:
                contigs[attrs["ID"]] = {k: v.strip('"') for k, v in attrs.items()}
    has_gt_format = any(h.startswith("##FORMAT=<ID=GT,") for h in header)
    if not has_gt_format:
        log.debug("%s: no ##FORMAT GT header line", path)
    return samples, contigs


# How reference sequence names spell each assembly, matched case-insensitively anywhere in
# the value of a ``##reference=`` line (a bare name, a path or a URL).
_REFERENCE_NAMES = {
    "GRCh37": re.compile(r"grch37|hg19|(?<![a-z0-9])b37(?![0-9])|human_g1k_v37|hs37d5", re.IGNORECASE),
    "GRCh38": re.compile(r"grch38|hg38", re.IGNORECASE),
}


def _reference_line(header: list[str]) -> str | None:
    """The value of the first ``##reference=`` header line, or None without one."""
    for line in header:
        if line[:12].lower() == "##reference=":
            return line[12:].strip()
    return None


def _reference_assembly(reference: str) -> str | None:
    """The assembly a ``##reference=`` value names: ``"GRCh37"`` (GRCh37, hg19, b37,
    human_g1k_v37, hs37d5) or ``"GRCh38"`` (GRCh38, hg38); None when it names neither or both."""
    named = [name for name, pattern in _REFERENCE_NAMES.items() if pattern.search(reference)]
    return named[0] if len(named) == 1 else None


def _resolve_contig(path: Path, chromosome: str, contigs: dict[str, dict], found_name: str | None,
                    max_pos: int, assembly: str | None, repairs: list[str],
                    reference: str | None = None) -> Contig:
    """The contig the cohort is on, with a length and assembly that fit its positions.

    The length comes from, first to last: ``assembly=`` as asked; the length the ``##contig``
    line declares; for chr22, the assembly the ``##reference`` line names; for any other
    chromosome, the last position.
    """
    name = found_name or chromosome
    declared = contigs.get(name, {})
    declared_length = int(declared["length"]) if declared.get("length", "").isdigit() else None
    declared_assembly = declared.get("assembly")
    if assembly is not None:
        length = _requested_length(chromosome, assembly, declared_length, declared_assembly, repairs)
    else:
        length, assembly = _header_length(path, chromosome, declared_length, declared_assembly,
                                          max_pos, reference, repairs)
    if max_pos > length:
        raise VCFError(f"{path}: position {max_pos:,} is beyond the contig length {length:,} "
                       f"({assembly}) declared in its header; give the assembly the positions are on "
                       f"(assembly='GRCh37', or -p assembly GRCh37 on the command line; "
                       f"chr22 is {CHR22_LENGTH['GRCh37']:,} bp in GRCh37, {CHR22_LENGTH['GRCh38']:,} in GRCh38)")
    return Contig(name=name, length=int(length), assembly=str(assembly))


def _requested_length(chromosome: str, assembly: str, declared_length: int | None,
                      declared_assembly: str | None, repairs: list[str]) -> int:
    """chr22's length in the ``assembly=`` asked for, noting where the header said otherwise."""
    if normalise_chromosome(chromosome) != "22":
        raise VCFError(f"assembly={assembly!r}: known lengths are for chromosome 22 only")
    if assembly not in CHR22_LENGTH:
        raise ValueError(f"assembly={assembly!r} is unknown; choose one of {sorted(CHR22_LENGTH)}")
    length = CHR22_LENGTH[assembly]
    if declared_length != length or declared_assembly not in (None, assembly):
        repairs.append(
            f"contig header: the file declares assembly={declared_assembly or 'none'}, "
            f"length={declared_length if declared_length is not None else 'none'}; "
            f"using assembly={assembly} (chr22 length {length:,}) as requested")
    return length


def _header_length(path: Path, chromosome: str, declared_length: int | None, declared_assembly: str | None,
                   max_pos: int, reference: str | None, repairs: list[str]) -> tuple[int, str]:
    """Length and assembly from the header alone (no ``assembly=``): the declared length; else,
    for chr22, the assembly the ``##reference`` line names; else the last position."""
    is_chr22 = normalise_chromosome(chromosome) == "22"
    if declared_length is not None:
        if is_chr22 and declared_length not in CHR22_LENGTH.values():
            repairs.append(f"contig header: declared length {declared_length:,} is not chr22's length in "
                           f"GRCh37 ({CHR22_LENGTH['GRCh37']:,}) or GRCh38 ({CHR22_LENGTH['GRCh38']:,}); "
                           "pass assembly= to fix it")
        return declared_length, declared_assembly or "unknown"
    if not is_chr22:
        repairs.append(f"contig header: no length declared; using the last position {max_pos:,}")
        return max_pos, declared_assembly or "unknown"
    named = _reference_assembly(reference) if reference is not None else None
    if named is None:
        why = "" if reference is None else (
            f", and its ##reference line {reference!r} does not name one assembly this reader recognises "
            "(GRCh37, hg19, b37, human_g1k_v37, hs37d5; GRCh38, hg38)")
        raise VCFError(f"{path}: no contig length in the header{why}; pass assembly='GRCh37' or 'GRCh38'")
    if _reference_assembly(declared_assembly or "") not in (None, named):
        raise VCFError(f"{path}: no contig length in the header, and its ##reference line {reference!r} names "
                       f"{named} while the ##contig line says assembly={declared_assembly}; "
                       "pass assembly='GRCh37' or 'GRCh38'")
    length = CHR22_LENGTH[named]
    repairs.append(f"contig header: no length declared; assembly {named} (chr22 length {length:,}) "
                   f"taken from the ##reference line {reference!r}")
    return length, named


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------

def _parse_gt_fast(text: str, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorised parse when every call is exactly 'a|b' or 'a/b' with single digits."""
    if len(text) != 4 * n - 1:
        return None
    raw = np.frombuffer((text + "\t").encode("ascii"), dtype=np.uint8).reshape(n, 4)
    a, sep, b, tab = raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3]
    if not (np.all(tab == 9) and np.all((sep == ord("|")) | (sep == ord("/")))):
        return None
    digits_a, digits_b = a - ord("0"), b - ord("0")
    ok_a = (digits_a <= 9) | (a == ord("."))
    ok_b = (digits_b <= 9) | (b == ord("."))
    if not (np.all(ok_a) and np.all(ok_b)):
        return None
    gt = np.stack([np.where(a == ord("."), -1, digits_a), np.where(b == ord("."), -1, digits_b)], axis=1)
    return gt.astype(np.int8), sep == ord("|")


def _parse_gt_slow(fields: list[str], gt_index: int, path: Path, line_no: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(fields)
    gt = np.empty((n, 2), dtype=np.int8)
    phased = np.empty(n, dtype=bool)
    for j, call_field in enumerate(fields):
        parts = call_field.split(":")
        call = parts[gt_index] if gt_index < len(parts) else "./."
        if "|" in call:
            alleles, phased[j] = call.split("|"), True
        else:
            alleles, phased[j] = call.split("/"), False
        if len(alleles) != 2:
            raise VCFError(f"{path}: line {line_no}: genotype {call!r} of sample {j + 1} is not diploid")
        for k, allele in enumerate(alleles):
            if allele == ".":
                gt[j, k] = -1
            elif allele.isdigit() and int(allele) < 127:
                gt[j, k] = int(allele)
            else:
                raise VCFError(f"{path}: line {line_no}: genotype {call!r} of sample {j + 1} is malformed")
    return gt, phased


class _Site(NamedTuple):
    """One record kept: its site and its calls (samples x 2 allele indices, -1 missing)."""
    pos: int
    ref: str
    alts: tuple[str, ...]
    id: str
    gt: np.ndarray
    phased: np.ndarray


@dataclass
class _Tally:
    """What the record parser saw and repaired on its way through the file."""
    found_name: str | None = None  # the chromosome's name as the records spell it
    other_contigs: dict[str, int] = field(default_factory=dict)  # records on other chromosomes
    trailing_tab_lines: int = 0
    slash_alts: list[int] = field(default_factory=list)  # positions
    symbolic: list[int] = field(default_factory=list)  # positions
    info_disagrees: int = 0
    info_is_ref_af: int = 0

    def repairs(self) -> list[str]:
        """The repairs as lines for ``Cohort.repairs``."""
        out = []
        if self.trailing_tab_lines:
            out.append(f"records: removed trailing tabs from {self.trailing_tab_lines} data line(s)")
        if self.slash_alts:
            out.append(f"ALT: {len(self.slash_alts)} multi-allelic record(s) joined ALT alleles with '/' "
                       f"instead of ','; split them into separate alleles (positions {_fmt_list(self.slash_alts)})")
        if self.symbolic:
            out.append(f"ALT: dropped {len(self.symbolic)} record(s) with no ALT or a symbolic/breakend/'*' "
                       f"allele, which have no REF>ALT text form (positions {_fmt_list(self.symbolic)})")
        if self.info_disagrees:
            out.append(f"INFO: AF disagrees with the genotypes at {self.info_disagrees} record(s); INFO is "
                       "ignored and allele counts are recomputed from the genotypes"
                       + (f" (at {self.info_is_ref_af} of them INFO AF is the REF allele's frequency)"
                          if self.info_is_ref_af else ""))
        return out


def _records(path: Path, lines: Iterable[str], line_no: int, chrom: str, n: int,
             bounds: tuple[int, int] | None, keep_sites: set[str] | None, tally: _Tally) -> Iterator[_Site]:
    """Parse the data lines one by one into the sites of chromosome ``chrom`` (within
    ``bounds``, among ``keep_sites``), counting what it skips and repairs in ``tally``.

    ``line_no`` is the number of the line before the first one; errors name the line.
    """
    for line in lines:
        line_no += 1
        if line.startswith("#"):
            continue
        head = line.split("\t", 9)
        if len(head) < 10:
            raise VCFError(f"{path}: line {line_no}: {len(head)} columns, expected at least 10 "
                           "(no genotype columns)")
        c, pos_text, vid, ref, alt, _qual, _filter, info, fmt, rest = head
        if normalise_chromosome(c) != chrom:
            tally.other_contigs[c] = tally.other_contigs.get(c, 0) + 1
            continue
        tally.found_name = c
        if not pos_text.isdigit():
            raise VCFError(f"{path}: line {line_no}: POS {pos_text!r} is not a positive integer")
        pos = int(pos_text)
        if bounds is not None and not (bounds[0] <= pos <= bounds[1]):
            continue
        fmt_keys = fmt.split(":")
        if "GT" not in fmt_keys:
            raise VCFError(f"{path}: line {line_no}: FORMAT is {fmt!r}, without GT: no genotypes to read")
        alleles = _alleles(pos, ref, alt, tally)
        if alleles is None:
            continue
        ref, alt_alleles = alleles
        if keep_sites is not None and site_key(pos, ref, alt_alleles) not in keep_sites:
            continue
        gt, ph = _genotypes(path, line_no, rest, fmt, fmt_keys.index("GT"), n, tally)
        if gt.max(initial=0) > len(alt_alleles):
            raise VCFError(f"{path}: line {line_no}: a genotype uses allele {int(gt.max())} but ALT "
                           f"{alt!r} has {len(alt_alleles)} allele(s)")
        _compare_info_af(info, gt, tally)
        yield _Site(pos, ref, alt_alleles, vid if vid != "." else f"{c}:{pos}", gt, ph)


def _alleles(pos: int, ref: str, alt: str, tally: _Tally) -> tuple[str, tuple[str, ...]] | None:
    """REF and the ALT alleles in upper case, splitting ALTs joined with '/'; None for a
    record with no ALT or a symbolic (<DEL>), breakend or spanning-deletion (*) allele."""
    ref = ref.upper()
    if "/" in alt and "," not in alt:
        alt_alleles = tuple(a.upper() for a in alt.split("/"))
        tally.slash_alts.append(pos)
    else:
        alt_alleles = tuple(a.upper() for a in alt.split(","))
    if alt in (".", "") or not _ALLELE.match(ref) or not all(_ALLELE.match(a) for a in alt_alleles):
        tally.symbolic.append(pos)
        return None
    return ref, alt_alleles


def _genotypes(path: Path, line_no: int, rest: str, fmt: str, gt_index: int, n: int,
               tally: _Tally) -> tuple[np.ndarray, np.ndarray]:
    """The calls and phases of one record's sample columns: parsed with numpy when every call
    is a plain fixed-width ``a|b``, one call at a time otherwise."""
    if rest.endswith("\t"):
        rest = rest.rstrip("\t")
        tally.trailing_tab_lines += 1
    parsed = _parse_gt_fast(rest, n) if fmt == "GT" else None
    if parsed is None:
        fields = rest.split("\t")
        if len(fields) != n:
            raise VCFError(f"{path}: line {line_no}: {len(fields)} genotype columns for {n} samples")
        parsed = _parse_gt_slow(fields, gt_index, path, line_no)
    return parsed


def _compare_info_af(info: str, gt: np.ndarray, tally: _Tally) -> None:
    """Count a record whose INFO AF (all ALTs together) disagrees with its genotypes by more
    than 0.01, and whether INFO gives the REF allele's frequency instead."""
    m = _INFO_AF.search(info)
    if not m:
        return
    try:
        info_af = sum(float(x) for x in m.group(1).split(","))
    except ValueError:
        return
    called = (gt >= 0).sum()
    alt_af = (gt > 0).sum() / called if called else 0.0
    if called and abs(info_af - alt_af) > 0.01:
        tally.info_disagrees += 1
        tally.info_is_ref_af += abs(info_af - (1.0 - alt_af)) <= 0.01


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

def read_vcf(path: str | os.PathLike, chromosome: str = "22", region: str | None = None,
             populations_path: str | os.PathLike | None = None, assembly: str | None = None,
             progress: bool = False, keep_sites: set[str] | None = None) -> Cohort:
    """Read the SNVs, MNPs and indels of one chromosome into a Cohort.

    Parameters
    ----------
    path: a VCF (plain or gzipped/bgzipped) or BCF file.
    chromosome: ``"22"``; ``"chr22"`` and ``22`` name the same chromosome.
    region: ``"22:START-END"`` (1-based, inclusive) to read part of the chromosome.
    populations_path: a table with a ``sample`` column and ``population`` (and optionally
        ``superpopulation``) columns, or the 1000 Genomes panel format (``sample pop super_pop``).
        Without one, every sample is labelled ``unknown``.
    assembly: ``"GRCh37"`` or ``"GRCh38"`` to override a missing or wrong contig header.
        Without it, a chr22 contig declared with no length takes the assembly its
        ``##reference=`` line names (GRCh37, hg19, b37, human_g1k_v37 or hs37d5 mean
        GRCh37; GRCh38 or hg38 mean GRCh38; in any case, anywhere in a name, path or URL).
    keep_sites: read only these sites (keys ``POS:REF>ALT[,ALT]`` as :func:`site_key` makes
        them); with :func:`scan_frequencies` this reads a panel from a whole-chromosome VCF
        without holding every genotype in memory.

    Every repair the reader makes is listed in ``Cohort.repairs`` and logged at WARNING.
    """
    return _read(path, chromosome, region, populations_path, assembly, progress, keep_sites, summary=False)


def scan_frequencies(path: str | os.PathLike, chromosome: str = "22", region: str | None = None,
                     assembly: str | None = None, progress: bool = False, *,
                     groups: Mapping[str, Sequence[str]] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One pass over the file keeping, per site, only what panel selection needs.

    Returns a table with ``pos``, ``ref``, ``alts``, ``key`` (see :func:`site_key`),
    ``alt_frequency``, ``minor_allele_frequency`` and ``polymorphic``, and the repairs made.
    Memory is O(sites), not O(sites x samples).

    ``groups`` (group name -> sample ids) adds, for each group ``g``, the integer columns
    ``ac_<g>`` (ALT allele copies among the group's called alleles, any ALT), ``an_<g>``
    (called alleles) and ``carriers_<g>`` (samples with at least one ALT allele), and the
    boolean ``polymorphic_<g>`` (at least two different alleles called in the group). A
    sample id the file does not have is a VCFError, raised before any record is read.
    """
    return _read(path, chromosome, region, None, assembly, progress, None, summary=True, groups=groups)


def site_key(pos: int, ref: str, alts: tuple[str, ...]) -> str:
    """``POS:REF>ALT[,ALT]``: how a site is named across the two passes of a panel read."""
    return f"{pos}:{ref}>{','.join(alts)}"


def _read(path, chromosome, region, populations_path, assembly, progress, keep_sites, summary, groups=None):
    """Read ``chromosome`` of ``path``: a Cohort, or with ``summary`` the per-site table and the repairs."""
    path = Path(path)
    kind = sniff(path)
    chrom = normalise_chromosome(chromosome)
    bounds = _region_bounds(region, chrom, assembly)
    populations = read_populations(populations_path) if populations_path is not None else None
    repairs: list[str] = []
    header, lines, samples, contigs = _open_vcf(path, kind, chrom, bounds, region, assembly, repairs)
    if populations is not None:
        _check_populations(path, populations_path, populations, samples)
    counts = _GroupCounts(path, samples, groups) if groups is not None else None
    tally = _Tally()
    records = _records(path, _with_progress(lines, path, progress), len(header), chrom, len(samples),
                       bounds, keep_sites, tally)
    if summary:
        sites, kept = _gather(records, lambda site: (_summarise(site.gt), counts(site.gt) if counts else None))
    else:
        sites, kept = _gather(records, lambda site: (site.gt, site.phased))
    if sites.empty:
        raise _no_records(path, chromosome, region, bounds, tally, contigs)
    repairs += tally.repairs()
    sites, rows = _tidy_sites(sites, repairs)
    contig = _resolve_contig(path, chromosome, contigs, tally.found_name, int(sites["pos"].max()),
                             assembly, repairs, _reference_line(header))
    if summary:
        return _summary_table(sites, kept, rows, counts), repairs
    genotypes, phased = np.stack([k[0] for k in kept]), np.stack([k[1] for k in kept])
    if rows is not None:
        genotypes, phased = genotypes[rows], phased[rows]
    for message in repairs:
        log.warning("%s: %s", path.name, message)
    return Cohort(contig=contig, sites=sites, samples=_sample_table(samples, populations),
                  genotypes=genotypes, phased=phased, source=str(path), repairs=repairs)


def _region_bounds(region: str | None, chrom: str, assembly: str | None) -> tuple[int, int] | None:
    """The region as 1-based inclusive bounds (None: the whole chromosome), checked against
    chr22's length in ``assembly`` when one is asked for."""
    bounds = parse_region(region, chrom)
    if bounds is not None and assembly in CHR22_LENGTH and chrom == "22" and bounds[0] > CHR22_LENGTH[assembly]:
        raise VCFError(f"region={region!r} starts beyond the end of chr22 ({CHR22_LENGTH[assembly]:,} in {assembly})")
    return bounds


def _open_vcf(path: Path, kind: str, chrom: str, bounds: tuple[int, int] | None, region: str | None,
              assembly: str | None, repairs: list[str]) -> tuple[list[str], Iterator[str], list[str], dict[str, dict]]:
    """The header, the data lines, the samples and the declared contigs of ``path``.

    A region of a bgzipped VCF with a tabix (or CSI) index is fetched through the index;
    otherwise the lines of the whole file are read and the records outside it skipped.
    """
    header, lines = _header_and_lines(path, kind, None, None)
    samples, contigs = _parse_header(path, header, repairs)
    # Which spelling of the chromosome the file uses, guessed from its contig lines.
    file_name = next((c for c in contigs if normalise_chromosome(c) == chrom), None)
    if bounds is not None and file_name is not None:
        declared = contigs[file_name].get("length", "")
        limit = CHR22_LENGTH.get(assembly) if assembly else (int(declared) if declared.isdigit() else None)
        if limit is not None and bounds[0] > limit:
            raise VCFError(f"{path}: region={region!r} is outside chromosome {file_name} (length {limit:,})")
    if bounds is not None and kind == "bgzf-vcf" and file_name is not None:
        lines.close()  # an indexed file: fetch only the region
        header, lines = _header_and_lines(path, kind, file_name, bounds)
    return header, lines, samples, contigs


def _check_populations(path: Path, populations_path, populations: pd.DataFrame, samples: list[str]) -> None:
    """Every sample of the VCF must be in the population table."""
    missing = [s for s in samples if s not in populations.index]
    if missing:
        raise VCFError(f"{populations_path}: {len(missing)} of the {len(samples)} samples in {path.name} "
                       f"are absent from the population table, e.g. {missing[:5]}")


def _with_progress(lines: Iterator[str], path: Path, progress: bool) -> Iterable[str]:
    """The lines, behind a tqdm progress bar when asked for."""
    if not progress:
        return lines
    from tqdm import tqdm
    return tqdm(lines, desc=f"reading {path.name}", unit=" records", mininterval=1.0, leave=False)


def _gather(records: Iterator[_Site], keep: Callable[[_Site], object]) -> tuple[pd.DataFrame, list]:
    """The site table (``pos``, ``ref``, ``alts``, ``id``) of the records, in file order, and
    ``keep(site)`` of each: its calls, or a summary of them that lets the calls go."""
    positions: list[int] = []
    refs: list[str] = []
    alts: list[tuple[str, ...]] = []
    ids: list[str] = []
    kept: list = []
    for site in records:
        positions.append(site.pos)
        refs.append(site.ref)
        alts.append(site.alts)
        ids.append(site.id)
        kept.append(keep(site))
    sites = pd.DataFrame({"pos": np.asarray(positions, dtype=np.int64), "ref": refs, "alts": alts, "id": ids})
    return sites, kept


def _no_records(path: Path, chromosome: str, region: str | None, bounds: tuple[int, int] | None,
                tally: _Tally, contigs: dict[str, dict]) -> VCFError:
    """The error for a file (or region) without a variant record on the chromosome."""
    if bounds is not None:
        return VCFError(f"{path}: no variant records on chromosome {chromosome!r} in region {region!r}")
    found = sorted(set(tally.other_contigs) | set(contigs))
    return VCFError(f"{path}: no records on chromosome {chromosome!r}; "
                    f"contigs found: {', '.join(found) if found else 'none'}")


def _tidy_sites(sites: pd.DataFrame, repairs: list[str]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Sort the sites by position and drop exact duplicate records, recording both repairs and
    the positions that carry several different records. Returns the tidy table and the rows
    of ``sites`` it keeps, in order (None: all of them, as they were)."""
    rows = None
    positions = sites["pos"].to_numpy()
    order = np.argsort(positions, kind="stable")
    if np.any(order != np.arange(len(order))):
        first_bad = int(np.nonzero(np.diff(positions) < 0)[0][0])
        repairs.append(f"records: not sorted by position (position {int(positions[first_bad + 1]):,} follows "
                       f"{int(positions[first_bad]):,}); sorted them")
        sites, rows = sites.iloc[order].reset_index(drop=True), order
    key = sites["pos"].astype(str) + ":" + sites["ref"] + ">" + sites["alts"].map(",".join)
    exact = key.duplicated()
    if exact.any():
        repairs.append(f"records: dropped {int(exact.sum())} exact duplicate record(s) "
                       f"(positions {_fmt_list(sites.loc[exact, 'pos'].tolist())})")
        keep = ~exact.to_numpy()
        sites = sites[keep].reset_index(drop=True)
        rows = (np.arange(len(keep)) if rows is None else rows)[keep]
    shared = sites["pos"].duplicated(keep=False)
    if shared.any():
        repairs.append(f"records: {int(sites.loc[shared, 'pos'].nunique())} position(s) carry more than one "
                       f"record with different alleles (e.g. an SNV and an indel); kept each as its own site "
                       f"(positions {_fmt_list(sorted(set(sites.loc[shared, 'pos'])))})")
    return sites, rows


def _fmt_list(values: list, limit: int = 6) -> str:
    shown = ", ".join(f"{v:,}" if isinstance(v, (int, np.integer)) else str(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


# --------------------------------------------------------------------------------------
# Per-site summaries (scan_frequencies)
# --------------------------------------------------------------------------------------

def _summarise(gt: np.ndarray) -> tuple[float, bool]:
    """The ALT allele frequency among the called alleles, and whether two alleles are called."""
    called = gt[gt >= 0]
    if called.size == 0:
        return 0.0, False
    return float((called > 0).mean()), bool(called.min() != called.max())


class _GroupCounts:
    """Counts of one record's calls in each group of samples: ALT allele copies, called
    alleles, carriers of an ALT allele, and whether two different alleles are called."""

    def __init__(self, path: Path, samples: list[str], groups: Mapping[str, Sequence[str]]):
        column = {s: j for j, s in enumerate(samples)}
        unknown: dict[str, None] = {}
        for name, ids in groups.items():
            if isinstance(ids, str):
                raise TypeError(f"groups[{name!r}] must be a sequence of sample ids, not the string {ids!r}")
            unknown.update(dict.fromkeys(s for s in ids if s not in column))
        if unknown:
            raise VCFError(f"{path}: groups= name {len(unknown)} sample id(s) that are not samples of this file, "
                           f"e.g. {list(unknown)[:5]}")
        self.names = [str(name) for name in groups]
        self.members = [np.unique([column[s] for s in ids]).astype(np.intp) for ids in groups.values()]
        self.matrix = np.zeros((len(self.names), len(samples)))  # group x sample membership
        for g, members in enumerate(self.members):
            self.matrix[g, members] = 1

    def __call__(self, gt: np.ndarray) -> np.ndarray:
        """A (groups x 4) array: ac, an, carriers, polymorphic (0/1) of each group."""
        alt, called = (gt > 0).view(np.uint8), (gt >= 0).view(np.uint8)
        alt_copies = alt[:, 0] + alt[:, 1]  # faster than .sum(axis=1) on two columns
        per_sample = np.stack([alt_copies, called[:, 0] + called[:, 1], alt_copies > 0]).astype(np.float64)
        ac, an, carriers = (self.matrix @ per_sample.T).T.astype(np.int64)  # exact: counts < 2**53
        polymorphic = (ac > 0) & (ac < an)
        if gt.max(initial=0) > 1:  # all-ALT groups may still call two different ALT alleles
            for g in np.nonzero((ac > 0) & (ac == an))[0]:
                alleles = gt[self.members[g]]
                alleles = alleles[alleles >= 0]
                polymorphic[g] = alleles.min() != alleles.max()
        return np.stack([ac, an, carriers, polymorphic], axis=1)

    def columns(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """The table columns of the (sites x groups x 4) counts."""
        out: dict[str, np.ndarray] = {}
        for g, name in enumerate(self.names):
            out[f"ac_{name}"] = counts[:, g, 0].astype(np.int64)
            out[f"an_{name}"] = counts[:, g, 1].astype(np.int64)
            out[f"carriers_{name}"] = counts[:, g, 2].astype(np.int64)
            out[f"polymorphic_{name}"] = counts[:, g, 3].astype(bool)
        return out


def _summary_table(sites: pd.DataFrame, kept: list, rows: np.ndarray | None,
                   counts: _GroupCounts | None) -> pd.DataFrame:
    """The per-site table of :func:`scan_frequencies` from each record's summary."""
    frequency = np.array([k[0][0] for k in kept], dtype=float)
    polymorphic = np.array([k[0][1] for k in kept], dtype=bool)
    groups = np.stack([k[1] for k in kept]) if counts is not None else None
    if rows is not None:
        frequency, polymorphic = frequency[rows], polymorphic[rows]
        groups = groups[rows] if groups is not None else None
    table = sites.drop(columns="id").assign(
        key=[site_key(p, r, a) for p, r, a in zip(sites["pos"], sites["ref"], sites["alts"])],
        alt_frequency=frequency, minor_allele_frequency=np.minimum(frequency, 1.0 - frequency),
        polymorphic=polymorphic)
    if counts is not None:
        table = table.assign(**counts.columns(groups))
    return table


# --------------------------------------------------------------------------------------
# Population tables
# --------------------------------------------------------------------------------------

def read_populations(path: str | os.PathLike) -> pd.DataFrame:
    """A sample -> population table indexed by sample, with ``population`` and ``superpopulation``.

    Accepts the project's format (``sample population superpopulation``, tab-separated) and
    the 1000 Genomes panel format (``sample pop super_pop gender``).
    """
    path = Path(path)
    if not path.exists():
        raise VCFError(f"{path}: population table not found")
    try:
        table = pd.read_csv(path, sep="\t", dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise VCFError(f"{path}: cannot read the population table ({exc})") from None
    table.columns = [c.strip().lower() for c in table.columns]
    table = table.rename(columns={"pop": "population", "super_pop": "superpopulation",
                                  "super_population": "superpopulation", "sample_id": "sample"})
    if "sample" not in table.columns or "population" not in table.columns:
        raise VCFError(f"{path}: the population table needs 'sample' and 'population' columns "
                       f"(tab-separated); found {list(table.columns)}")
    table["sample"] = table["sample"].str.strip()
    if table["sample"].duplicated().any():
        dupes = table.loc[table["sample"].duplicated(), "sample"].tolist()
        raise VCFError(f"{path}: samples listed twice in the population table: {dupes[:5]}")
    if "superpopulation" not in table.columns:
        table["superpopulation"] = table["population"].map(SUPERPOPULATION).fillna(UNKNOWN)
    table = table.fillna(UNKNOWN)
    return table.set_index("sample")[["population", "superpopulation"]]


def sample_table(path: str | os.PathLike, populations_path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The people of a VCF/BCF, from its header alone: ``sample``, ``population``,
    ``superpopulation`` (``unknown`` without a population table; every sample must be in
    the table). What the splits are drawn from before any genotype is read."""
    path = Path(path)
    kind = sniff(path)
    populations = read_populations(populations_path) if populations_path is not None else None
    header, lines = _header_and_lines(path, kind, None, None)
    lines.close()
    samples, _ = _parse_header(path, header, [])
    if populations is not None:
        _check_populations(path, populations_path, populations, samples)
    return _sample_table(samples, populations)


def read_sites(path: str | os.PathLike, chromosome: str = "22", region: str | None = None,
               assembly: str | None = None) -> pd.DataFrame:
    """The sites of a VCF/BCF read as a site list (a panel declared public): ``pos``,
    ``ref``, ``alts``, ``id`` and ``key`` (:func:`site_key`), sorted, exact duplicates
    dropped, ALT alleles joined with ``/`` split as :func:`read_vcf` does. Genotype columns
    are not needed, and ignored when present. A file with no site on the chromosome (or in
    the region) is an error naming it."""
    path = Path(path)
    kind = sniff(path)
    chrom = normalise_chromosome(chromosome)
    bounds = _region_bounds(region, chrom, assembly)
    header, lines = _header_and_lines(path, kind, None, None)
    if not header or not header[0].startswith("##fileformat=VCF") or not any(h.startswith("#CHROM") for h in header):
        raise VCFError(f"{path}: not a VCF site list (missing '##fileformat=VCF' or the '#CHROM' line)")
    tally, rows = _Tally(), []
    for line_no, line in enumerate(lines, start=len(header) + 1):
        head = line.split("\t", 8)
        if len(head) < 5 or normalise_chromosome(head[0]) != chrom:
            continue
        if not head[1].isdigit():
            raise VCFError(f"{path}: line {line_no}: POS {head[1]!r} is not a positive integer")
        pos = int(head[1])
        alleles = _alleles(pos, head[3], head[4], tally) if bounds is None or bounds[0] <= pos <= bounds[1] else None
        if alleles is not None:
            rows.append((pos, alleles[0], alleles[1], head[2] if head[2] != "." else f"{head[0]}:{pos}"))
    if not rows:
        raise VCFError(f"{path}: no sites on chromosome {chromosome!r}" + (f" in region {region!r}" if region else ""))
    sites, _ = _tidy_sites(pd.DataFrame(rows, columns=["pos", "ref", "alts", "id"]), [])
    return sites.assign(key=[site_key(p, r, a) for p, r, a in zip(sites["pos"], sites["ref"], sites["alts"])])

def _sample_table(samples: list[str], populations: pd.DataFrame | None) -> pd.DataFrame:
    if populations is None:
        return pd.DataFrame({"sample": samples, "population": UNKNOWN, "superpopulation": UNKNOWN})
    sub = populations.loc[samples]
    return pd.DataFrame({"sample": samples, "population": sub["population"].to_numpy(),
                         "superpopulation": sub["superpopulation"].to_numpy()})


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def vcf_text(cohort: Cohort, source: str = "lib.genomes.vcf") -> str:
    """The cohort as VCF 4.2 text (header and records), INFO carrying AC/AN/AF from the genotypes."""
    c = cohort.contig
    out = io.StringIO()
    out.write("##fileformat=VCFv4.2\n")
    out.write(f"##source={source}\n")
    out.write(f"##reference={c.assembly}\n")
    out.write(f"##contig=<ID={c.name},length={c.length},assembly={c.assembly}>\n")
    out.write('##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes, for each ALT allele">\n')
    out.write('##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">\n')
    out.write('##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency of each ALT allele, from the genotypes">\n')
    out.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
    out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(cohort.sample_ids) + "\n")
    calls_text = cohort.genotype_text()
    for i, site in enumerate(cohort.sites.itertuples(index=False)):
        gt = cohort.genotypes[i]
        an = int((gt >= 0).sum())
        acs = [int((gt == k).sum()) for k in range(1, len(site.alts) + 1)]
        afs = ",".join(f"{ac / an:.6g}" if an else "." for ac in acs)
        info = f"AC={','.join(map(str, acs))};AN={an};AF={afs}"
        calls = "\t".join(calls_text[i])
        out.write(f"{c.name}\t{site.pos}\t{site.id}\t{site.ref}\t{','.join(site.alts)}\t.\tPASS\t{info}\tGT\t{calls}\n")
    return out.getvalue()


def write_vcf(cohort: Cohort, dest: str | os.PathLike, source: str = "lib.genomes.vcf") -> Path:
    """Write ``cohort`` to ``dest`` (``.vcf.gz``): bgzipped by pysam, tabix-indexed (``.tbi``).

    The file and its index appear only when both are complete (written beside ``dest``, then
    renamed), so an existing cohort is never left half-overwritten.
    """
    import pysam

    dest = Path(dest)
    if not dest.name.endswith(".vcf.gz"):
        raise ValueError(f"{dest}: a bgzipped VCF must be named *.vcf.gz")
    text = vcf_text(cohort, source=source)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        plain, gz = Path(tmp) / "cohort.vcf", Path(tmp) / "cohort.vcf.gz"
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(gz), force=True)
        pysam.tabix_index(str(gz), preset="vcf", force=True)
        os.replace(gz, dest)
        os.replace(str(gz) + ".tbi", str(dest) + ".tbi")
    return dest
