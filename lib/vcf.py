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
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from .cohort import CHR22_LENGTH, UNKNOWN, Cohort, Contig

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

    index = next((Path(str(path) + ext) for ext in (".tbi", ".csi") if Path(str(path) + ext).exists()), None)
    if kind == "bgzf-vcf" and region is not None and index is not None and contig is not None:
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


def _resolve_contig(path: Path, chromosome: str, contigs: dict[str, dict], found_name: str | None,
                    max_pos: int, assembly: str | None, repairs: list[str]) -> Contig:
    """The contig the cohort is on, with a length and assembly that fit its positions."""
    name = found_name or chromosome
    declared = contigs.get(name, {})
    declared_length = int(declared["length"]) if declared.get("length", "").isdigit() else None
    declared_assembly = declared.get("assembly")
    if assembly is not None:
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
    else:
        length, assembly = declared_length, declared_assembly or "unknown"
        if length is None:
            if normalise_chromosome(chromosome) == "22":
                raise VCFError(f"{path}: no contig length in the header; pass assembly='GRCh37' or 'GRCh38'")
            length = max_pos
            repairs.append(f"contig header: no length declared; using the last position {max_pos:,}")
        known = {v: k for k, v in CHR22_LENGTH.items()}
        if normalise_chromosome(chromosome) == "22" and length not in known:
            repairs.append(f"contig header: declared length {length:,} is not chr22's length in "
                           f"GRCh37 ({CHR22_LENGTH['GRCh37']:,}) or GRCh38 ({CHR22_LENGTH['GRCh38']:,}); "
                           "pass assembly= to fix it")
    if max_pos > length:
        raise VCFError(f"{path}: position {max_pos:,} is beyond the contig length {length:,} "
                       f"({assembly}) declared in its header; give the assembly the positions are on "
                       f"(assembly='GRCh37', or -p assembly GRCh37 on the command line; "
                       f"chr22 is {CHR22_LENGTH['GRCh37']:,} bp in GRCh37, {CHR22_LENGTH['GRCh38']:,} in GRCh38)")
    return Contig(name=name, length=int(length), assembly=str(assembly))


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
    for j, field in enumerate(fields):
        parts = field.split(":")
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
    keep_sites: read only these sites (keys ``POS:REF>ALT[,ALT]`` as :func:`site_key` makes
        them); with :func:`scan_frequencies` this reads a panel from a whole-chromosome VCF
        without holding every genotype in memory.

    Every repair the reader makes is listed in ``Cohort.repairs`` and logged at WARNING.
    """
    return _read(path, chromosome, region, populations_path, assembly, progress, keep_sites, summary=False)


def scan_frequencies(path: str | os.PathLike, chromosome: str = "22", region: str | None = None,
                     assembly: str | None = None, progress: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """One pass over the file keeping, per site, only what panel selection needs.

    Returns a table with ``pos``, ``ref``, ``alts``, ``key`` (see :func:`site_key`),
    ``alt_frequency``, ``minor_allele_frequency`` and ``polymorphic``, and the repairs made.
    Memory is O(sites), not O(sites x samples).
    """
    return _read(path, chromosome, region, None, assembly, progress, None, summary=True)


def site_key(pos: int, ref: str, alts: tuple[str, ...]) -> str:
    """``POS:REF>ALT[,ALT]``: how a site is named across the two passes of a panel read."""
    return f"{pos}:{ref}>{','.join(alts)}"


def _summarise(gt: np.ndarray) -> tuple[float, bool]:
    called = gt[gt >= 0]
    if called.size == 0:
        return 0.0, False
    return float((called > 0).mean()), bool(called.min() != called.max())


def _read(path, chromosome, region, populations_path, assembly, progress, keep_sites, summary):
    path = Path(path)
    kind = sniff(path)
    chrom = normalise_chromosome(chromosome)
    bounds = parse_region(region, chrom)
    if bounds is not None and assembly in CHR22_LENGTH and chrom == "22" and bounds[0] > CHR22_LENGTH[assembly]:
        raise VCFError(f"region={region!r} starts beyond the end of chr22 ({CHR22_LENGTH[assembly]:,} in {assembly})")
    populations = read_populations(populations_path) if populations_path is not None else None

    repairs: list[str] = []
    # Which spelling of the chromosome the file uses, guessed from its contig lines.
    header, lines = _header_and_lines(path, kind, None, None)
    samples, contigs = _parse_header(path, header, repairs)
    file_name = next((c for c in contigs if normalise_chromosome(c) == chrom), None)
    if bounds is not None and file_name is not None:
        declared = contigs[file_name].get("length", "")
        limit = CHR22_LENGTH.get(assembly) if assembly else (int(declared) if declared.isdigit() else None)
        if limit is not None and bounds[0] > limit:
            raise VCFError(f"{path}: region={region!r} is outside chromosome {file_name} (length {limit:,})")
    if bounds is not None and kind == "bgzf-vcf" and file_name is not None:
        lines.close()  # an indexed file: fetch only the region
        header, lines = _header_and_lines(path, kind, file_name, bounds)
    if populations is not None:
        missing = [s for s in samples if s not in populations.index]
        if missing:
            raise VCFError(f"{populations_path}: {len(missing)} of the {len(samples)} samples in {path.name} "
                           f"are absent from the population table, e.g. {missing[:5]}")

    n = len(samples)
    positions: list[int] = []
    refs: list[str] = []
    alts: list[tuple[str, ...]] = []
    ids: list[str] = []
    gts: list[np.ndarray] = []
    phases: list[np.ndarray] = []
    other_contigs: dict[str, int] = {}
    found_name = None
    slash_alts: list[int] = []
    symbolic: list[int] = []
    trailing_tab_lines = 0
    info_disagrees = info_is_ref_af = 0
    line_no = len(header)
    iterator: Iterable[str] = lines
    if progress:
        from tqdm import tqdm
        iterator = tqdm(lines, desc=f"reading {path.name}", unit=" records", mininterval=1.0, leave=False)
    for line in iterator:
        line_no += 1
        if line.startswith("#"):
            continue
        head = line.split("\t", 9)
        if len(head) < 10:
            raise VCFError(f"{path}: line {line_no}: {len(head)} columns, expected at least 10 "
                           "(no genotype columns)")
        c, pos_text, vid, ref, alt, _qual, _filter, info, fmt, rest = head
        if normalise_chromosome(c) != chrom:
            other_contigs[c] = other_contigs.get(c, 0) + 1
            continue
        found_name = c
        if not pos_text.isdigit():
            raise VCFError(f"{path}: line {line_no}: POS {pos_text!r} is not a positive integer")
        pos = int(pos_text)
        if bounds is not None and not (bounds[0] <= pos <= bounds[1]):
            continue
        fmt_keys = fmt.split(":")
        if "GT" not in fmt_keys:
            raise VCFError(f"{path}: line {line_no}: FORMAT is {fmt!r}, without GT: no genotypes to read")
        gt_index = fmt_keys.index("GT")
        ref = ref.upper()
        if "/" in alt and "," not in alt:
            alt_alleles = tuple(a.upper() for a in alt.split("/"))
            slash_alts.append(pos)
        else:
            alt_alleles = tuple(a.upper() for a in alt.split(","))
        if alt in (".", "") or not _ALLELE.match(ref) or not all(_ALLELE.match(a) for a in alt_alleles):
            symbolic.append(pos)  # no ALT, symbolic (<DEL>), breakend or spanning deletion (*)
            continue
        if keep_sites is not None and site_key(pos, ref, alt_alleles) not in keep_sites:
            continue
        if rest.endswith("\t"):
            rest = rest.rstrip("\t")
            trailing_tab_lines += 1
        parsed = _parse_gt_fast(rest, n) if fmt == "GT" else None
        if parsed is None:
            fields = rest.split("\t")
            if len(fields) != n:
                raise VCFError(f"{path}: line {line_no}: {len(fields)} genotype columns for {n} samples")
            parsed = _parse_gt_slow(fields, gt_index, path, line_no)
        gt, ph = parsed
        if gt.max(initial=0) > len(alt_alleles):
            raise VCFError(f"{path}: line {line_no}: a genotype uses allele {int(gt.max())} but ALT "
                           f"{alt!r} has {len(alt_alleles)} allele(s)")
        m = re.search(r"(?:^|;)AF=([^;]+)", info)
        if m:
            try:
                info_af = sum(float(x) for x in m.group(1).split(","))
                called = (gt >= 0).sum()
                alt_af = (gt > 0).sum() / called if called else 0.0
                if called and abs(info_af - alt_af) > 0.01:
                    info_disagrees += 1
                    info_is_ref_af += abs(info_af - (1.0 - alt_af)) <= 0.01
            except ValueError:
                pass
        positions.append(pos)
        refs.append(ref)
        alts.append(alt_alleles)
        ids.append(vid if vid != "." else f"{c}:{pos}")
        if summary:
            gts.append(_summarise(gt))
        else:
            gts.append(gt)
            phases.append(ph)

    if not positions:
        if bounds is not None:
            raise VCFError(f"{path}: no variant records on chromosome {chromosome!r} in region {region!r}")
        found = sorted(set(other_contigs) | set(contigs))
        raise VCFError(f"{path}: no records on chromosome {chromosome!r}; "
                       f"contigs found: {', '.join(found) if found else 'none'}")

    if trailing_tab_lines:
        repairs.append(f"records: removed trailing tabs from {trailing_tab_lines} data line(s)")
    if slash_alts:
        repairs.append(f"ALT: {len(slash_alts)} multi-allelic record(s) joined ALT alleles with '/' "
                       f"instead of ','; split them into separate alleles (positions {_fmt_list(slash_alts)})")
    if symbolic:
        repairs.append(f"ALT: dropped {len(symbolic)} record(s) with no ALT or a symbolic/breakend/'*' "
                       f"allele, which have no REF>ALT text form (positions {_fmt_list(symbolic)})")
    if info_disagrees:
        repairs.append(f"INFO: AF disagrees with the genotypes at {info_disagrees} record(s); INFO is "
                       "ignored and allele counts are recomputed from the genotypes"
                       + (f" (at {info_is_ref_af} of them INFO AF is the REF allele's frequency)"
                          if info_is_ref_af else ""))

    sites = pd.DataFrame({"pos": np.asarray(positions, dtype=np.int64), "ref": refs,
                          "alts": alts, "id": ids})
    if summary:  # per site (alt frequency, polymorphic) instead of genotypes
        genotypes = np.array([g[0] for g in gts], dtype=float)
        phased = np.array([g[1] for g in gts], dtype=bool)
    else:
        genotypes = np.stack(gts)
        phased = np.stack(phases)
    order = np.argsort(sites["pos"].to_numpy(), kind="stable")
    if np.any(order != np.arange(len(order))):
        first_bad = int(np.nonzero(np.diff(sites["pos"].to_numpy()) < 0)[0][0])
        repairs.append(f"records: not sorted by position (position {positions[first_bad + 1]:,} follows "
                       f"{positions[first_bad]:,}); sorted them")
        sites = sites.iloc[order].reset_index(drop=True)
        genotypes, phased = genotypes[order], phased[order]
    key = sites["pos"].astype(str) + ":" + sites["ref"] + ">" + sites["alts"].map(",".join)
    exact = key.duplicated()
    if exact.any():
        repairs.append(f"records: dropped {int(exact.sum())} exact duplicate record(s) "
                       f"(positions {_fmt_list(sites.loc[exact, 'pos'].tolist())})")
        keep = ~exact.to_numpy()
        sites, genotypes, phased = sites[keep].reset_index(drop=True), genotypes[keep], phased[keep]
    shared = sites["pos"].duplicated(keep=False)
    if shared.any():
        repairs.append(f"records: {int(sites.loc[shared, 'pos'].nunique())} position(s) carry more than one "
                       f"record with different alleles (e.g. an SNV and an indel); kept each as its own site "
                       f"(positions {_fmt_list(sorted(set(sites.loc[shared, 'pos'])))})")

    contig = _resolve_contig(path, chromosome, contigs, found_name, int(sites["pos"].max()), assembly, repairs)
    if summary:
        table = sites.drop(columns="id").assign(
            key=[site_key(p, r, a) for p, r, a in zip(sites["pos"], sites["ref"], sites["alts"])],
            alt_frequency=genotypes, minor_allele_frequency=np.minimum(genotypes, 1.0 - genotypes),
            polymorphic=phased)
        return table, repairs
    sample_table = _sample_table(samples, populations)
    for message in repairs:
        log.warning("%s: %s", path.name, message)
    return Cohort(contig=contig, sites=sites, samples=sample_table, genotypes=genotypes,
                  phased=phased, source=str(path), repairs=repairs)


def _fmt_list(values: list, limit: int = 6) -> str:
    shown = ", ".join(f"{v:,}" if isinstance(v, (int, np.integer)) else str(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


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


def _sample_table(samples: list[str], populations: pd.DataFrame | None) -> pd.DataFrame:
    if populations is None:
        return pd.DataFrame({"sample": samples, "population": UNKNOWN, "superpopulation": UNKNOWN})
    sub = populations.loc[samples]
    return pd.DataFrame({"sample": samples, "population": sub["population"].to_numpy(),
                         "superpopulation": sub["superpopulation"].to_numpy()})


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def vcf_text(cohort: Cohort, source: str = "lib.vcf") -> str:
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


def write_vcf(cohort: Cohort, dest: str | os.PathLike, source: str = "lib.vcf") -> Path:
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
