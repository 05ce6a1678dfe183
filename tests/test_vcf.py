"""lib.genomes.vcf: reading real and deliberately broken VCFs, writing them back with pysam.

Every bad input the data chapter promises to handle has a test here: each must give a
VCFError naming the file and the problem (or a repair listed in ``Cohort.repairs``), never a
pysam traceback and never silently wrong genotypes.
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from lib.genomes.cohort import CHR22_LENGTH
from lib.genomes.vcf import (VCFError, normalise_chromosome, parse_region, read_populations, read_vcf, scan_frequencies,
                     sniff, write_vcf)

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


# ---------------------------------------------------------------------------- assembly from ##reference

def no_length_vcf(path: Path, reference: str | None, records=RECORDS, contig="##contig=<ID=22>") -> Path:
    header = [HEADER[0], *([f"##reference={reference}"] if reference is not None else []), contig, HEADER[3]]
    return write_text_vcf(path, records=records, header=header)


@pytest.mark.parametrize("reference, assembly", [
    ("GRCh37", "GRCh37"),
    ("file:///data/GRCh37.p13.genome.fa", "GRCh37"),
    ("/refs/ucsc.HG19.fasta", "GRCh37"),
    ("b37", "GRCh37"),
    ("/broad/Homo_sapiens_assembly_b37.fasta", "GRCh37"),
    ("file:///data/human_g1k_v37.fasta", "GRCh37"),
    ("ftp://ftp.1000genomes.ebi.ac.uk/vol1/ftp/technical/reference/phase2_reference_assembly_sequence/hs37d5.fa.gz",
     "GRCh37"),
    ("grch38", "GRCh38"),
    ("/data/GRCh38_full_analysis_set_plus_decoy_hla.fa", "GRCh38"),
    ("https://example.org/Hg38.fa.gz", "GRCh38"),
])
def test_assembly_from_the_reference_line(tmp_path, caplog, reference, assembly):
    path = no_length_vcf(tmp_path / "ref.vcf", reference)
    with caplog.at_level("WARNING", logger="lib.genomes.vcf"):
        cohort = read_vcf(path)
    length = CHR22_LENGTH[assembly]
    assert cohort.contig.length == length and cohort.contig.assembly == assembly
    message = (f"contig header: no length declared; assembly {assembly} (chr22 length {length:,}) "
               f"taken from the ##reference line {reference!r}")
    assert cohort.repairs == [message]
    assert message in caplog.text
    table, repairs = scan_frequencies(path)
    assert repairs == [message] and table["pos"].tolist() == [100, 200, 300, 400]


def test_explicit_assembly_wins_over_the_reference_line(tmp_path):
    cohort = read_vcf(no_length_vcf(tmp_path / "ref.vcf", "human_g1k_v37.fasta"), assembly="GRCh38")
    assert cohort.contig.assembly == "GRCh38" and cohort.contig.length == CHR22_LENGTH["GRCh38"]
    assert len(cohort.repairs) == 1
    assert "using assembly=GRCh38 (chr22 length 50,818,468) as requested" in cohort.repairs[0]
    # ... and over a declared length
    declared = "##contig=<ID=22,length=50818468,assembly=GRCh38>"
    cohort = read_vcf(no_length_vcf(tmp_path / "decl.vcf", "GRCh38", contig=declared), assembly="GRCh37")
    assert cohort.contig.assembly == "GRCh37" and cohort.contig.length == CHR22_LENGTH["GRCh37"]


def test_declared_length_wins_over_the_reference_line(tmp_path):
    declared = "##contig=<ID=22,length=50818468,assembly=GRCh38>"
    cohort = read_vcf(no_length_vcf(tmp_path / "decl.vcf", "hg19.fa", contig=declared))
    assert cohort.contig.assembly == "GRCh38" and cohort.contig.length == CHR22_LENGTH["GRCh38"]
    assert cohort.repairs == []


@pytest.mark.parametrize("reference", ["mystery_genome.fa", "GRCh37 lifted over to GRCh38", "md5:ab37f0e1", ""])
def test_unrecognised_reference_line_keeps_the_error(tmp_path, reference):
    path = no_length_vcf(tmp_path / "odd.vcf", reference)
    with pytest.raises(VCFError, match=r"odd\.vcf: no contig length in the header, and its ##reference line "
                                       + re.escape(repr(reference)) + r" does not name one assembly.*"
                                       r"pass assembly='GRCh37' or 'GRCh38'"):
        read_vcf(path)
    assert read_vcf(path, assembly="GRCh37").contig.length == CHR22_LENGTH["GRCh37"]


def test_no_reference_line_keeps_the_error(tmp_path):
    path = no_length_vcf(tmp_path / "bare.vcf", None)
    with pytest.raises(VCFError, match=r"bare\.vcf: no contig length in the header; pass assembly="):
        read_vcf(path)


def test_reference_line_contradicting_the_contig_assembly_is_an_error(tmp_path):
    path = no_length_vcf(tmp_path / "both.vcf", "hg19.fa", contig="##contig=<ID=22,assembly=GRCh38>")
    with pytest.raises(VCFError, match=r"both\.vcf: .*names GRCh37 while the ##contig line says assembly=GRCh38"):
        read_vcf(path)


def test_positions_beyond_the_reference_assembly_still_fail(tmp_path):
    records = ["22\t51000000\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0\t0|0"]  # inside GRCh37, beyond GRCh38
    assert read_vcf(no_length_vcf(tmp_path / "in37.vcf", "hs37d5", records=records)).n_sites == 1
    with pytest.raises(VCFError, match=r"in38\.vcf: position 51,000,000 is beyond the contig length 50,818,468"):
        read_vcf(no_length_vcf(tmp_path / "in38.vcf", "GRCh38", records=records))


# ---------------------------------------------------------------------------- per-group summaries

GROUP_SAMPLES = ["S1", "S2", "S3", "S4"]
GROUP_RECORDS = [
    "22\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t./.\t0|0",
    "22\t200\t.\tC\tT,A\t.\tPASS\t.\tGT\t1|2\t2|2\t0|0\t.|1",  # a: only ALTs, but two of them
    "22\t300\t.\tG\tA,C\t.\tPASS\t.\tGT\t2|2\t2|2\t0|1\t0|0",  # a: one ALT allele only
    "22\t400\t.\tT\tC\t.\tPASS\t.\tGT:DP\t0/1:3\t0/0:2\t./.:0\t./.:0",  # b: nothing called
]
GROUPS = {"a": ["S1", "S2"], "b": ["S3", "S4"]}
EXPECTED = {  # pos: (ac, an, carriers, polymorphic) of a, then of b
    100: ((3, 4, 2, True), (0, 2, 0, False)),
    200: ((4, 4, 2, True), (1, 3, 1, True)),
    300: ((4, 4, 2, False), (1, 4, 1, True)),
    400: ((1, 4, 1, True), (0, 0, 0, False)),
}


def group_vcf(path: Path, records=GROUP_RECORDS) -> Path:
    return write_text_vcf(path, records=records, samples=GROUP_SAMPLES)


def test_group_columns_count_exactly(tmp_path):
    path = group_vcf(tmp_path / "g.vcf")
    table, repairs = scan_frequencies(path, groups=GROUPS)
    plain, plain_repairs = scan_frequencies(path)
    assert repairs == plain_repairs
    assert list(table.columns) == [*plain.columns, "ac_a", "an_a", "carriers_a", "polymorphic_a",
                                   "ac_b", "an_b", "carriers_b", "polymorphic_b"]
    pd.testing.assert_frame_equal(table[plain.columns], plain)  # the all-sample columns are unchanged
    for g in GROUPS:
        assert all(table[f"{c}_{g}"].dtype == np.int64 for c in ("ac", "an", "carriers"))
        assert table[f"polymorphic_{g}"].dtype == bool
    for row in table.itertuples():
        got = tuple(tuple(getattr(row, f"{c}_{g}") for c in ("ac", "an", "carriers", "polymorphic"))
                    for g in GROUPS)
        assert got == EXPECTED[row.pos], row.pos


def test_group_columns_follow_sorting_and_deduplication(tmp_path):
    records = [GROUP_RECORDS[3], GROUP_RECORDS[1], GROUP_RECORDS[0], GROUP_RECORDS[1], GROUP_RECORDS[2]]
    table, repairs = scan_frequencies(group_vcf(tmp_path / "u.vcf", records), groups=GROUPS)
    tidy, _ = scan_frequencies(group_vcf(tmp_path / "s.vcf"), groups=GROUPS)
    assert any("not sorted" in r for r in repairs) and any("exact duplicate" in r for r in repairs)
    pd.testing.assert_frame_equal(table, tidy)


def test_groups_overlapping_empty_and_whole(tmp_path):
    table, _ = scan_frequencies(group_vcf(tmp_path / "g.vcf"),
                                groups={"all": GROUP_SAMPLES, "none": [], "S2twice": ["S2", "S2", "S1"]})
    np.testing.assert_allclose(table["ac_all"] / table["an_all"], table["alt_frequency"])
    assert (table["polymorphic_all"] == table["polymorphic"]).all()
    assert (table[["ac_none", "an_none", "carriers_none"]] == 0).all().all() and not table["polymorphic_none"].any()
    assert table["an_S2twice"].tolist() == [4, 4, 4, 4]  # a sample listed twice counts once


def test_unknown_group_samples_fail_before_reading(tmp_path):
    records = [*GROUP_RECORDS, "22\tbad\t.\tA\tG\t.\tPASS\t.\tGT\t0|0\t0|0\t0|0\t0|0"]
    path = group_vcf(tmp_path / "g.vcf", records)
    with pytest.raises(VCFError, match=r"g\.vcf: groups= name 2 sample id\(s\) .*\['S9', 'NA12878'\]"):
        scan_frequencies(path, groups={"a": ["S1", "S9"], "b": ["NA12878", "S9"]})
    with pytest.raises(TypeError, match="sequence of sample ids"):
        scan_frequencies(path, groups={"a": "S1"})


def test_group_counts_on_the_real_panel(real_data):
    vcf = real_data["vcf"]
    whole = read_vcf(vcf, populations_path=real_data["populations"], assembly="GRCh37")
    is_eur = (whole.samples["superpopulation"] == "EUR").to_numpy()
    groups = {"eur": whole.samples["sample"][is_eur].tolist(), "rest": whole.samples["sample"][~is_eur].tolist()}
    assert 0 < len(groups["eur"]) < whole.n_samples
    table, _ = scan_frequencies(vcf, assembly="GRCh37", groups=groups)
    assert table["key"].tolist() == [f"{p}:{r}>{','.join(a)}" for p, r, a in
                                     zip(whole.sites["pos"], whole.sites["ref"], whole.sites["alts"])]
    ac, an = table["ac_eur"] + table["ac_rest"], table["an_eur"] + table["an_rest"]
    np.testing.assert_allclose(ac / an, table["alt_frequency"], rtol=1e-12)
    assert ((table["carriers_eur"] + table["carriers_rest"]) <= whole.n_samples).all()
    assert not (table["polymorphic_eur"] & ~table["polymorphic"]).any()
    for name, mask in (("eur", is_eur), ("rest", ~is_eur)):  # against the genotype matrix
        gt = whole.genotypes[:, mask]
        np.testing.assert_array_equal(table[f"ac_{name}"], (gt > 0).sum(axis=(1, 2)))
        np.testing.assert_array_equal(table[f"an_{name}"], (gt >= 0).sum(axis=(1, 2)))
        np.testing.assert_array_equal(table[f"carriers_{name}"], (gt > 0).any(axis=2).sum(axis=1))
        lowest, highest = np.where(gt >= 0, gt, 127).min(axis=(1, 2)), gt.max(axis=(1, 2))
        np.testing.assert_array_equal(table[f"polymorphic_{name}"], (highest >= 0) & (lowest != highest))
