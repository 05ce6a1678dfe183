"""lib.vcf: reading real and deliberately broken VCFs, writing them back with pysam.

Every bad input the data chapter promises to handle has a test here: each must give a
VCFError naming the file and the problem (or a repair listed in ``Cohort.repairs``), never a
pysam traceback and never silently wrong genotypes.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest

from lib.cohort import CHR22_LENGTH
from lib.vcf import VCFError, normalise_chromosome, parse_region, read_populations, read_vcf, sniff, write_vcf

SAMPLES = ["S1", "S2", "S3"]
HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=22,length=51304566,assembly=GRCh37>",
    "##contig=<ID=21,length=48129895,assembly=GRCh37>",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
]
RECORDS = [
    "22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|0\t0|1\t1|1",
    "22\t200\trs2\tC\tT,A\t.\tPASS\t.\tGT\t0|2\t1|0\t0|0",
    "22\t300\t.\tAT\tA\t.\tPASS\t.\tGT\t0/1\t./.\t0|0",
    "22\t400\t.\tG\tGTT\t.\tPASS\t.\tGT:DP\t0|0:3\t0|0:4\t1|0:5",
]


def write_text_vcf(path: Path, records=RECORDS, samples=SAMPLES, header=HEADER, chrom_line=None,
                   compress: str | None = None) -> Path:
    chrom_line = chrom_line or "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                                          "FORMAT", *samples])
    text = "\n".join([*header, chrom_line, *records]) + "\n"
    if compress is None:
        path.write_text(text)
        return path
    plain = path.with_suffix(".plain")
    plain.write_text(text)
    if compress == "bgzf":
        pysam.tabix_compress(str(plain), str(path), force=True)
    else:
        with gzip.open(path, "wt") as out:
            out.write(text)
    return path


# ---------------------------------------------------------------------------- good input

@pytest.mark.parametrize("compress", [None, "gzip", "bgzf"])
def test_reads_genotypes_exactly(tmp_path, compress):
    path = write_text_vcf(tmp_path / ("x.vcf" + (".gz" if compress else "")), compress=compress)
    cohort = read_vcf(path)
    assert cohort.sample_ids == SAMPLES
    assert cohort.sites["pos"].tolist() == [100, 200, 300, 400]
    assert cohort.sites["alts"].tolist() == [("G",), ("T", "A"), ("A",), ("GTT",)]
    np.testing.assert_array_equal(cohort.genotypes[1], [[0, 2], [1, 0], [0, 0]])
    np.testing.assert_array_equal(cohort.genotypes[2], [[0, 1], [-1, -1], [0, 0]])
    assert cohort.phased[2].tolist() == [False, False, True]
    np.testing.assert_array_equal(cohort.genotypes[3], [[0, 0], [0, 0], [1, 0]])  # GT:DP parsed
    assert (cohort.samples["population"] == "unknown").all()
    assert cohort.contig.length == CHR22_LENGTH["GRCh37"] and cohort.contig.assembly == "GRCh37"
    assert cohort.repairs == []


def test_chr_prefixed_names_read_the_same(tmp_path):
    header = [h.replace("ID=22", "ID=chr22") for h in HEADER]
    records = ["chr" + r for r in RECORDS]
    path = write_text_vcf(tmp_path / "chr.vcf", records=records, header=header)
    for name in ("22", "chr22", 22):
        cohort = read_vcf(path, chromosome=name)
        assert cohort.n_sites == 4 and cohort.contig.name == "chr22"
    assert normalise_chromosome("CHR22") == "22"


def test_region_plain_and_indexed(tmp_path):
    plain = write_text_vcf(tmp_path / "r.vcf")
    assert read_vcf(plain, region="22:150-350").sites["pos"].tolist() == [200, 300]
    indexed = write_text_vcf(tmp_path / "r.vcf.gz", compress="bgzf")
    pysam.tabix_index(str(indexed), preset="vcf", force=True)
    assert read_vcf(indexed, region="chr22:150-350").sites["pos"].tolist() == [200, 300]
    assert parse_region("22:1,000-2,000", "22") == (1000, 2000)


def test_bcf_input(tmp_path):
    vcf = write_text_vcf(tmp_path / "b.vcf")
    bcf = tmp_path / "b.bcf"
    with pysam.VariantFile(str(vcf)) as src, pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:
        for rec in src:
            dst.write(rec)
    cohort = read_vcf(bcf)
    np.testing.assert_array_equal(cohort.genotypes, read_vcf(vcf).genotypes)


def test_populations_table_and_1000g_panel_format(tmp_path):
    table = tmp_path / "pops.tsv"
    table.write_text("sample\tpopulation\tsuperpopulation\nS1\tGBR\tEUR\nS2\tYRI\tAFR\nS3\tCHB\tEAS\nS9\tPEL\tAMR\n")
    cohort = read_vcf(write_text_vcf(tmp_path / "p.vcf"), populations_path=table)
    assert cohort.samples["population"].tolist() == ["GBR", "YRI", "CHB"]
    panel = tmp_path / "panel.tsv"
    panel.write_text("sample\tpop\tsuper_pop\tgender\nS1\tGBR\tEUR\tmale\nS2\tYRI\tAFR\tfemale\nS3\tCHB\tEAS\tmale\n")
    assert read_populations(panel).loc["S2", "superpopulation"] == "AFR"
    pops_only = tmp_path / "pops_only.tsv"
    pops_only.write_text("sample\tpopulation\nS1\tGBR\nS2\tYRI\nS3\tXYZ\n")
    assert read_populations(pops_only)["superpopulation"].tolist() == ["EUR", "AFR", "unknown"]


def test_write_then_read_back(tmp_path):
    cohort = read_vcf(write_text_vcf(tmp_path / "w.vcf"))
    out = write_vcf(cohort, tmp_path / "out" / "cohort.vcf.gz")
    assert Path(str(out) + ".tbi").exists()
    with pysam.VariantFile(str(out)) as vf:  # htslib itself accepts it
        assert vf.header.contigs["22"].length == CHR22_LENGTH["GRCh37"]
        assert 'assembly=GRCh37' in str(vf.header)
        recs = list(vf.fetch("22", 150, 250))
        assert [r.pos for r in recs] == [200] and recs[0].alts == ("T", "A")
        assert recs[0].samples["S1"]["GT"] == (0, 2) and recs[0].info["AC"] == (1, 1)
    again = read_vcf(out)
    np.testing.assert_array_equal(again.genotypes, cohort.genotypes)
    np.testing.assert_array_equal(again.phased, cohort.phased)


# ---------------------------------------------------------------------------- bad input

def test_missing_file(tmp_path):
    with pytest.raises(VCFError, match=r"nope\.vcf\.gz: file not found"):
        read_vcf(tmp_path / "nope.vcf.gz")


def test_not_a_vcf(tmp_path):
    path = tmp_path / "notes.vcf"
    path.write_text("hello, I am a text file\n")
    with pytest.raises(VCFError, match=r"notes\.vcf: not a VCF or BCF file"):
        read_vcf(path)
    gz = tmp_path / "table.csv.gz"
    with gzip.open(gz, "wt") as out:
        out.write("a,b,c\n")
    with pytest.raises(VCFError, match=r"table\.csv\.gz: gzip-compressed but not a VCF"):
        read_vcf(gz)
    empty = tmp_path / "empty.vcf"
    empty.write_bytes(b"")
    with pytest.raises(VCFError, match="file is empty"):
        read_vcf(empty)


def test_truncated_bgzf(tmp_path):
    many = [f"22\t{100 + i}\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0" for i in range(5000)]
    path = write_text_vcf(tmp_path / "t.vcf.gz", records=many, compress="bgzf")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VCFError, match=r"t\.vcf\.gz: truncated BGZF file"):
        read_vcf(path)


def test_truncated_plain_gzip(tmp_path):
    many = [f"22\t{100 + i}\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0" for i in range(5000)]
    path = write_text_vcf(tmp_path / "t.vcf.gz", records=many, compress="gzip")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VCFError, match=r"t\.vcf\.gz: truncated gzip data"):
        read_vcf(path)


def test_no_samples(tmp_path):
    records = ["22\t100\t.\tA\tG\t.\tPASS\t."]
    chrom = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    path = write_text_vcf(tmp_path / "sites.vcf", records=records, chrom_line=chrom)
    with pytest.raises(VCFError, match=r"sites\.vcf: the VCF has no samples"):
        read_vcf(path)


def test_no_gt(tmp_path):
    records = ["22\t100\t.\tA\tG\t.\tPASS\t.\tDP\t3\t4\t5"]
    path = write_text_vcf(tmp_path / "dp.vcf", records=records)
    with pytest.raises(VCFError, match=r"dp\.vcf: line 7: FORMAT is 'DP', without GT"):
        read_vcf(path)


def test_no_records_on_the_chromosome_names_the_contigs(tmp_path):
    records = [r.replace("22\t", "21\t", 1) for r in RECORDS]
    path = write_text_vcf(tmp_path / "c21.vcf", records=records)
    with pytest.raises(VCFError, match=r"c21\.vcf: no records on chromosome '22'; contigs found: 21, 22"):
        read_vcf(path)


def test_region_outside_the_chromosome(tmp_path):
    path = write_text_vcf(tmp_path / "r.vcf")
    with pytest.raises(VCFError, match=r"r\.vcf: region='22:60000000-61000000' is outside chromosome 22"):
        read_vcf(path, region="22:60000000-61000000")
    with pytest.raises(VCFError, match="no variant records on chromosome '22' in region"):
        read_vcf(path, region="22:1000-2000")
    with pytest.raises(ValueError, match="is not of the form"):
        read_vcf(path, region="twenty-two")


def test_samples_absent_from_the_population_table(tmp_path):
    table = tmp_path / "pops.tsv"
    table.write_text("sample\tpopulation\nS1\tGBR\n")
    with pytest.raises(VCFError, match=r"pops\.tsv: 2 of the 3 samples in p\.vcf are absent.*S2"):
        read_vcf(write_text_vcf(tmp_path / "p.vcf"), populations_path=table)
    bad = tmp_path / "bad.tsv"
    bad.write_text("id,pop\nS1,GBR\n")
    with pytest.raises(VCFError, match=r"bad\.tsv: the population table needs 'sample' and 'population'"):
        read_populations(bad)


def test_unsorted_records_are_sorted_and_reported(tmp_path):
    records = [RECORDS[2], RECORDS[0], RECORDS[3], RECORDS[1]]
    cohort = read_vcf(write_text_vcf(tmp_path / "u.vcf", records=records))
    assert cohort.sites["pos"].tolist() == [100, 200, 300, 400]
    np.testing.assert_array_equal(cohort.genotypes, read_vcf(write_text_vcf(tmp_path / "s.vcf")).genotypes)
    assert any("not sorted by position (position 100 follows 300)" in r for r in cohort.repairs)


def test_header_with_trailing_tabs_is_repaired(tmp_path):
    chrom = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *SAMPLES]) + "\t\t"
    records = [r + "\t" for r in RECORDS]
    cohort = read_vcf(write_text_vcf(tmp_path / "tt.vcf", records=records, chrom_line=chrom))
    assert cohort.sample_ids == SAMPLES
    assert any("removed 2 trailing tab(s) from the #CHROM line" in r for r in cohort.repairs)
    assert any("trailing tabs from 4 data line(s)" in r for r in cohort.repairs)


def test_alt_alleles_joined_with_slash_are_split(tmp_path):
    records = ["22\t100\t.\tG\tA/C\t.\tPASS\t.\tGT\t0|2\t1|0\t2|2"]
    cohort = read_vcf(write_text_vcf(tmp_path / "slash.vcf", records=records))
    assert cohort.sites["alts"].tolist() == [("A", "C")]
    np.testing.assert_array_equal(cohort.genotypes[0], [[0, 2], [1, 0], [2, 2]])
    assert any("joined ALT alleles with '/'" in r and "100" in r for r in cohort.repairs)


def test_genotype_beyond_the_alt_alleles_is_an_error(tmp_path):
    records = ["22\t100\t.\tG\tA\t.\tPASS\t.\tGT\t0|2\t1|0\t0|0"]
    with pytest.raises(VCFError, match=r"bad\.vcf: line 7: a genotype uses allele 2 but ALT 'A' has 1"):
        read_vcf(write_text_vcf(tmp_path / "bad.vcf", records=records))


def test_wrong_column_count_and_malformed_genotypes(tmp_path):
    with pytest.raises(VCFError, match=r"cols\.vcf: line 7: 2 genotype columns for 3 samples"):
        read_vcf(write_text_vcf(tmp_path / "cols.vcf", records=["22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|0\t0|1"]))
    with pytest.raises(VCFError, match=r"gt\.vcf: line 7: genotype 'x\|1' of sample 2 is malformed"):
        read_vcf(write_text_vcf(tmp_path / "gt.vcf", records=["22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|0\tx|1\t0|0"]))
    with pytest.raises(VCFError, match=r"pos\.vcf: line 7: POS 'abc'"):
        read_vcf(write_text_vcf(tmp_path / "pos.vcf", records=["22\tabc\t.\tA\tG\t.\tPASS\t.\tGT\t0|0\t0|1\t0|0"]))


def test_symbolic_alleles_dropped_and_reported(tmp_path):
    records = RECORDS + ["22\t500\t.\tA\t<DEL>\t.\tPASS\tSVTYPE=DEL\tGT\t0|1\t0|0\t0|0"]
    cohort = read_vcf(write_text_vcf(tmp_path / "sv.vcf", records=records))
    assert cohort.n_sites == 4
    assert any("symbolic" in r and "500" in r for r in cohort.repairs)


def test_positions_beyond_the_contig_need_the_right_assembly(tmp_path):
    header = [HEADER[0], "##contig=<ID=22,length=49691432,assembly=GRCh38>", HEADER[3], HEADER[4]]
    records = ["22\t50742205\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0"]
    path = write_text_vcf(tmp_path / "asm.vcf", records=records, header=header)
    with pytest.raises(VCFError, match=r"asm\.vcf: position 50,742,205 is beyond the contig length 49,691,432"):
        read_vcf(path)
    cohort = read_vcf(path, assembly="GRCh37")
    assert cohort.contig.length == 51_304_566
    assert any("declares assembly=GRCh38" in r for r in cohort.repairs)


def test_sniff_kinds(tmp_path):
    assert sniff(write_text_vcf(tmp_path / "a.vcf")) == "vcf"
    assert sniff(write_text_vcf(tmp_path / "a.vcf.gz", compress="bgzf")) == "bgzf-vcf"
    assert sniff(write_text_vcf(tmp_path / "b.vcf.gz", compress="gzip")) == "vcf.gz"
