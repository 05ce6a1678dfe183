"""Reading genotypes: lib.genomes.vcf against pysam record by record, and the two-pass panel read.

Prints ratios measured side by side in one run (not a test; nothing is asserted):

1. time to read every genotype of a cohort-sized VCF with ``lib.genomes.vcf.read_vcf`` (numpy
   parse of fixed-width ``a|b`` calls) divided by the time pysam takes to decode the same
   records and copy their GT tuples into an array (the obvious pysam loop);
2. peak Python memory of choosing a 1,000-site panel (among the sites that vary among the
   public split, :mod:`lib.genomes.panel`) from that VCF by reading it whole and then subsetting,
   against the data chapter's two-pass read (:func:`lib.ch01_data.choose_panel`: per-split
   frequencies first, then :func:`lib.ch01_data.cohort_on_panel`: only the panel's genotypes).

The VCF is synthetic (1000 Genomes shape: 2,504 samples, phased, mostly rare variants) and
written to a temporary directory. Run: ``.venv/bin/python bench/bench_vcf_read.py [n_records]``.
"""
from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pysam

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import ch01_data  # noqa: E402
from lib.genomes import panel, splits
from lib.genomes.vcf import read_vcf, sample_table  # noqa: E402

N_SAMPLES = 2504


def make_vcf(path: Path, n_records: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    header = ["##fileformat=VCFv4.2", "##contig=<ID=22,length=51304566,assembly=GRCh37>",
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
              + "\t".join(f"S{i:04d}" for i in range(N_SAMPLES))]
    positions = np.sort(rng.choice(np.arange(16_050_000, 51_000_000), n_records, replace=False))
    af = rng.beta(0.2, 3.0, n_records)  # a spectrum dominated by rare variants
    bases = np.array(list("ACGT"))
    plain = path.with_suffix("")
    with open(plain, "w") as out:
        out.write("\n".join(header) + "\n")
        for pos, p in zip(positions, af):
            alleles = (rng.random((N_SAMPLES, 2)) < p).astype(np.int8)
            calls = "\t".join(f"{a}|{b}" for a, b in alleles)
            ref, alt = rng.choice(bases, 2, replace=False)
            out.write(f"22\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{calls}\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    plain.unlink()
    return path


def read_with_pysam(path: Path) -> np.ndarray:
    rows = []
    with pysam.VariantFile(str(path)) as vf:
        samples = list(vf.header.samples)
        for rec in vf:
            rows.append([rec.samples[s]["GT"] for s in samples])
    return np.asarray(rows, dtype=np.int8)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def peak_memory(fn, *args, **kwargs):
    tracemalloc.start()
    result = fn(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak


def main(n_records: int = 5000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        vcf = make_vcf(Path(tmp) / "bench.vcf.gz", n_records)
        print(f"synthetic VCF: {n_records:,} records x {N_SAMPLES:,} samples, "
              f"{vcf.stat().st_size / 1e6:.1f} MB bgzipped")

        ours, t_ours = timed(read_vcf, vcf)
        theirs, t_pysam = timed(read_with_pysam, vcf)
        assert np.array_equal(ours.genotypes, theirs), "the two readers disagree"
        print(f"read every genotype: lib.genomes.vcf {t_ours:.2f} s, pysam per record {t_pysam:.2f} s "
              f"-> lib.genomes.vcf is {t_pysam / t_ours:.1f}x faster (same genotypes)")

        groups = splits.make_splits(sample_table(vcf), 0.15, 0.15, seed=0, public_fraction=0.1)

        def whole_then_subset():
            whole = read_vcf(vcf)
            table = panel.site_table(whole, groups)
            return panel.on_sites(whole, table.iloc[panel.from_public_split(table, 1000, 0.1, seed=0).index])

        def two_pass():
            source = ch01_data.Source(samples=sample_table(vcf), path=vcf, label=vcf.name)
            _, sites, _, _ = ch01_data.choose_panel(source, groups, panel_path=None, chromosome="22", region=None,
                                                    n_sites=1000, common_fraction=0.1, seed=0, progress=False)
            return ch01_data.cohort_on_panel(source, sites, "22", None, progress=False)

        (a, m_whole), (b, m_two) = peak_memory(whole_then_subset), peak_memory(two_pass)
        assert a.sites[["pos", "ref", "alts"]].equals(b.sites[["pos", "ref", "alts"]]), "the two panel reads disagree"
        assert np.array_equal(a.genotypes, b.genotypes), "the two panel reads disagree"
        print(f"1,000-site panel: whole read peaks at {m_whole / 1e6:.0f} MB, two-pass read at "
              f"{m_two / 1e6:.0f} MB -> {m_whole / m_two:.1f}x less memory (same panel)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
