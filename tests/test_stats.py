"""Tests of lib.genetics.stats (cohort statistics, bcftools stats) and lib.book.charts (their charts).

Small cohorts are built by hand so that every expected number can be worked out on paper.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.book import charts
from lib.genetics import stats
from lib.genomes.cohort import Cohort, Contig

CONTIG = Contig(name="22", length=51_304_566, assembly="GRCh37")


def make_cohort(sites, genotypes, populations=None, contig=CONTIG, phased=True) -> Cohort:
    """``sites``: list of (pos, ref, alts); ``genotypes``: nested list (site, sample, 2)."""
    gt = np.asarray(genotypes, dtype=np.int8).reshape(len(sites), -1, 2)
    n_samples = gt.shape[1]
    if populations is None:
        populations = [("unknown", "unknown")] * n_samples
    samples = pd.DataFrame({
        "sample": [f"S{i}" for i in range(n_samples)],
        "population": [p for p, _ in populations],
        "superpopulation": [s for _, s in populations],
    })
    site_frame = pd.DataFrame({
        "pos": [p for p, _, _ in sites], "ref": [r for _, r, _ in sites],
        "alts": [tuple(a) for _, _, a in sites], "id": [f"s{i}" for i in range(len(sites))],
    })
    return Cohort(contig=contig, sites=site_frame, samples=samples, genotypes=gt,
                  phased=np.full(gt.shape[:2], phased))


def no_genotypes(sites, n_samples=1):
    return make_cohort(sites, np.zeros((len(sites), n_samples, 2), dtype=np.int8))


# --------------------------------------------------------------------------------------
# variant types and Ts/Tv
# --------------------------------------------------------------------------------------

def test_ts_tv_two_transitions_one_transversion():
    cohort = no_genotypes([(100, "A", ("G",)), (200, "C", ("T",)), (300, "A", ("C",))])
    result = stats.ts_tv(cohort)
    assert result["transitions"] == 2
    assert result["transversions"] == 1
    assert result["ts_tv"] == 2.0
    assert result["ts_tv_first_alt"] == 2.0


def test_ts_tv_without_transversions_is_nan():
    assert math.isnan(stats.ts_tv(no_genotypes([(1, "G", ("A",))]))["ts_tv"])


@pytest.mark.parametrize("ref, alt, kind", [
    ("A", "G", "snv"), ("a", "g", "snv"), ("A", "A", "ref"), ("A", ".", "ref"),
    ("AC", "GT", "mnp"), ("A", "AT", "insertion"), ("AT", "A", "deletion"),
    ("AT", "GT", "snv"),          # the shared T is trimmed: an A>G SNV, as bcftools counts it
    ("ACT", "TCGA", "other"),     # complex substitution (bcftools' own example)
    ("G", "A/C", "other"),        # the 1000 Genomes panel's slash-separated ALT
    ("A", "<DEL>", "other"), ("A", "*", "overlap"), ("A", "<*>", "ref"),
])
def test_classify_allele(ref, alt, kind):
    assert stats.classify_allele(ref, alt)[0] == kind


def test_variant_types_per_site_and_summary():
    sites = [
        (100, "A", ("G",)),          # SNV, transition
        (200, "C", ("A",)),          # SNV, transversion
        (300, "A", ("AT",)),         # insertion
        (400, "AT", ("A",)),         # deletion
        (500, "A", ("G", "T")),      # multi-allelic SNV: one transition, one transversion
        (600, "AC", ("GT",)),        # MNP
        (700, "ACT", ("TCGA",)),     # other
        (800, "C", ("T", "CA")),     # multi-allelic, SNV + insertion
    ]
    vt = stats.variant_types(no_genotypes(sites))
    assert list(vt["type"]) == ["SNV", "SNV", "insertion", "deletion", "SNV", "MNP", "other", "mixed"]
    assert list(vt["n_alts"]) == [1, 1, 1, 1, 2, 1, 1, 2]
    assert list(vt["is_multiallelic"]) == [False] * 4 + [True, False, False, True]
    assert list(vt["n_transitions"]) == [1, 0, 0, 0, 1, 0, 0, 1]
    assert list(vt["n_transversions"]) == [0, 1, 0, 0, 1, 0, 0, 0]
    assert vt.loc[7, "is_snv"] and vt.loc[7, "is_indel"] and vt.loc[7, "is_insertion"]

    summary = stats.variant_type_summary(no_genotypes(sites)).set_index("type")
    expected = {"records": 8, "no-ALT": 0, "SNV": 4, "MNP": 1, "indel": 3, "insertion": 2,
                "deletion": 1, "other": 1, "multi-allelic": 2, "multi-allelic SNV": 1}
    assert summary["count"].to_dict() == expected
    assert summary.loc["SNV", "fraction"] == 0.5
    assert summary.loc["indel", "bcftools_key"] == "number of indels"
    assert stats.ts_tv(no_genotypes(sites))["ts_tv"] == 3 / 2
    assert stats.ts_tv(no_genotypes(sites))["ts_tv_first_alt"] == 3 / 1


# --------------------------------------------------------------------------------------
# genotypes: per-sample counts and allele frequencies
# --------------------------------------------------------------------------------------

# 3 sites x 4 samples; -1 is a missing allele.
GENOTYPES = [
    [[0, 0], [0, 1], [1, 1], [-1, -1]],   # AC 3 of AN 6 -> AF 0.5
    [[0, 0], [0, 0], [0, 1], [0, 0]],     # AC 1 of 8: a singleton, AF 0.125
    [[1, 2], [2, 2], [-1, 1], [0, 0]],    # multi-allelic; AC 5 of AN 7 (half-missing call)
]
SITES3 = [(1_000, "A", ("G",)), (2_000, "C", ("T",)), (1_500_000, "G", ("A", "T"))]
POPS = [("YRI", "AFR"), ("YRI", "AFR"), ("GBR", "EUR"), ("CHB", "EAS")]


def test_variants_per_sample_counts_with_missing():
    cohort = make_cohort(SITES3, GENOTYPES, POPS)
    per = stats.variants_per_sample(cohort).set_index("sample")
    assert list(per.columns) == ["population", "superpopulation", "n_non_ref", "n_het",
                                 "n_hom_alt", "n_missing", "n_called", "het_hom_ratio"]
    assert per["n_non_ref"].tolist() == [1, 2, 3, 0]
    assert per["n_het"].tolist() == [1, 1, 1, 0]
    assert per["n_hom_alt"].tolist() == [0, 1, 1, 0]
    assert per["n_missing"].tolist() == [0, 0, 1, 1]
    assert per["n_called"].tolist() == [3, 3, 2, 2]
    assert per.loc["S1", "het_hom_ratio"] == 1.0
    assert math.isnan(per.loc["S0", "het_hom_ratio"])
    assert per.loc["S2", "superpopulation"] == "EUR"


def test_allele_frequencies_from_genotypes():
    cohort = make_cohort(SITES3, GENOTYPES, POPS)
    afs = stats.allele_frequency_spectrum(cohort)
    sites = afs["sites"]
    assert sites["alt_allele_count"].tolist() == [3, 1, 5]
    assert sites["called_alleles"].tolist() == [6, 8, 7]
    assert sites["alt_frequency"].tolist() == [0.5, 0.125, 5 / 7]
    assert sites["minor_allele_count"].tolist() == [3, 1, 2]
    assert sites["minor_allele_frequency"].tolist() == pytest.approx([0.5, 0.125, 2 / 7])
    assert sites["is_singleton"].tolist() == [False, True, False]
    assert afs["n_singletons"] == 1 and afs["singleton_fraction"] == 1 / 3
    spectrum = afs["spectrum"].set_index("bin")
    assert spectrum.loc["monomorphic", "n_sites"] == 0
    assert spectrum.loc["10-20%", "n_sites"] == 1     # 0.125
    assert spectrum.loc["20-30%", "n_sites"] == 1     # 2/7
    assert spectrum.loc["40-50%", "n_sites"] == 1     # 0.5: the last bin is closed
    assert spectrum["n_sites"].sum() == 3
    assert afs["sfs"]["n_sites"].tolist() == [0, 1, 1, 1]
    assert afs["sfs"]["minor_allele_count"].tolist() == [0, 1, 2, 3]


def test_spectrum_unfolded_and_monomorphic():
    genotypes = [[[0, 0], [0, 0]], [[1, 1], [1, 1]], [[0, 1], [0, 0]]]
    cohort = make_cohort([(1, "A", ("G",)), (2, "A", ("G",)), (3, "A", ("G",))], genotypes)
    folded = stats.allele_frequency_spectrum(cohort)["spectrum"].set_index("bin")
    assert folded.loc["monomorphic", "n_sites"] == 2   # absent and fixed ALT
    unfolded = stats.allele_frequency_spectrum(cohort, folded=False, bins=[0, 0.5, 1])
    assert unfolded["spectrum"]["n_sites"].tolist() == [2, 1]   # [0, .5): 0, .25; [.5, 1]: 1
    with pytest.raises(ValueError, match="increasing"):
        stats.allele_frequency_spectrum(cohort, bins=[0.5, 0.1])


def test_population_composition():
    comp = stats.population_composition(make_cohort(SITES3, GENOTYPES, POPS))
    assert comp["population"].tolist() == ["YRI", "CHB", "GBR"]   # AFR, EAS, EUR order
    assert comp["n_samples"].tolist() == [2, 1, 1]
    assert comp["fraction"].tolist() == [0.5, 0.25, 0.25]
    assert comp["superpopulation_n_samples"].tolist() == [2, 1, 1]


def test_density_includes_empty_bins_and_bounds_last_bin():
    contig = Contig("22", 3_500_000, "GRCh37")
    sites = [(1, "A", ("G",)), (1_000_000, "A", ("G",)), (1_000_001, "A", ("G",)),
             (3_500_000, "A", ("G",))]
    dens = stats.density(make_cohort(sites, np.zeros((4, 1, 2)), contig=contig),
                         bin_size=1_000_000)
    assert dens["n_variants"].tolist() == [2, 1, 0, 1]
    assert dens["start_mb"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert dens["end_mb"].tolist() == [1.0, 2.0, 3.0, 3.5]
    assert dens["bin_end"].iloc[-1] == 3_500_000
    assert dens["variants_per_mb"].iloc[-1] == 2.0
    outside = make_cohort([(3_500_001, "A", ("G",))], np.zeros((1, 1, 2)), contig=contig)
    with pytest.raises(ValueError, match="outside the contig"):
        stats.density(outside)



def test_tables_as_the_data_chapter_shows_them():
    cohort = make_cohort(SITES3, GENOTYPES, POPS)
    comp = stats.format_composition(stats.population_composition(cohort))
    assert comp.index.tolist() == [("AFR", "YRI"), ("EAS", "CHB"), ("EUR", "GBR")]
    assert comp["samples"].tolist() == [2, 1, 1] and comp["fraction"].tolist() == ["50.0%", "25.0%", "25.0%"]
    per_pop = stats.variants_per_population(stats.variants_per_sample(cohort))
    assert list(per_pop.columns) == ["non-reference sites", "heterozygous", "homozygous ALT"]
    # YRI: S0 (1 non-ref, 1 het, 0 hom) and S1 (2, 1, 1); GBR: S2 (3, 1, 1); CHB: S3 (nothing)
    assert per_pop.loc[("AFR", "YRI")].tolist() == [1.5, 1.0, 0.5]
    assert per_pop.loc[("EUR", "GBR")].tolist() == [3.0, 1.0, 1.0]
    assert per_pop.loc[("EAS", "CHB")].tolist() == [0.0, 0.0, 0.0]
    types = stats.format_variant_types(stats.variant_type_summary(cohort))
    assert "bcftools_key" not in types.columns
    assert types.loc["SNV"].tolist() == [3, "100.0%"] and types.loc["multi-allelic"].tolist() == [1, "33.3%"]
    assert stats.contig_label(cohort) == "22"
    assert stats.contig_label(make_cohort(SITES3, GENOTYPES, POPS, contig=Contig("chr22", 10**8, "GRCh38"))) == "22"

@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-1, 2), min_size=2, max_size=2), min_size=6, max_size=6))
def test_per_sample_counts_are_consistent(calls):
    gt = np.asarray(calls).reshape(2, 3, 2)
    cohort = make_cohort([(1, "A", ("G", "T")), (2, "C", ("T", "G"))], gt)
    per = stats.variants_per_sample(cohort)
    assert (per["n_het"] + per["n_hom_alt"] <= per["n_non_ref"]).all()
    assert (per["n_called"] + per["n_missing"] == 2).all()
    af = stats.allele_frequency_spectrum(cohort)["sites"]["alt_frequency"]
    assert ((af >= 0) & (af <= 1)).all()


# --------------------------------------------------------------------------------------
# bcftools stats: the reference file and pysam's bcftools on a tiny VCF
# --------------------------------------------------------------------------------------

def test_reference_bcftools_stats(real_data):
    assert stats.reference_stats_path() == real_data["stats"]  # the committed file is found by default
    ref = stats.read_bcftools_stats(real_data["stats"])
    assert {"SN", "TSTV", "AF", "IDD", "ST", "SiS", "QUAL", "DP"} <= set(ref)
    sn = stats.summary_numbers(ref)
    assert sn["number of records"] == 1_103_547
    assert sn["number of SNPs"] == 1_060_388
    assert sn["number of indels"] == 43_230
    assert sn["number of samples"] == 2_504
    assert ref["TSTV"]["ts_tv"].iloc[0] == 2.39
    assert ref["TSTV"]["ts"].iloc[0] == 750_034
    assert ref["SiS"]["n_snps"].iloc[0] == 453_496
    assert list(ref["IDD"].columns[:3]) == ["id", "length", "n_sites"]
    assert len(ref["ST"]) == 12
    assert ref["AF"]["n_snps"].sum() > 1_000_000


def test_parser_tolerates_stray_lines_and_rejects_other_files(tmp_path):
    text = ("user@host % bcftools stats x.vcf\n"
            "# This file was produced by bcftools stats\n"
            "# SN\t[2]id\t[3]key\t[4]value\n"
            "SN\t0\tnumber of records:\t5\n"
            "user@host % \n")
    path = tmp_path / "stats.txt"
    path.write_text(text)
    parsed = stats.read_bcftools_stats(path)
    assert stats.summary_numbers(parsed) == {"number of records": 5}
    other = tmp_path / "notes.txt"
    other.write_text("just some text\nwith\ttabs\n")
    with pytest.raises(ValueError, match="notes.txt: not a bcftools stats file"):
        stats.read_bcftools_stats(other)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        stats.read_bcftools_stats(tmp_path / "missing.txt")


N_VCF_SAMPLES = 60   # <= 100: bcftools' AF bins are then exactly 1% wide
# (pos, ref, alts, ALT allele copies per ALT); the copies are spread over the samples
VCF_SITES = [
    (16_050_075, "A", ("G",), (1,)),           # SNV ts, singleton, AF 1/120
    (16_050_115, "G", ("A",), (3,)),           # SNV ts, AF 2.5%
    (16_050_213, "C", ("T",), (20,)),          # SNV ts, AF 16.7%
    (16_050_319, "C", ("A",), (7,)),           # SNV tv, AF 5.8%
    (16_050_527, "C", ("CA",), (2,)),          # insertion
    (16_050_568, "TA", ("T",), (1,)),          # deletion, singleton
    (16_050_607, "G", ("A", "T"), (4, 1)),     # multi-allelic SNV: ts (3.3%) + tv (singleton)
    (16_050_627, "G", ("T",), (60,)),          # SNV tv, AF 50%
    (16_050_740, "A", ("G",), (0,)),           # SNV ts, absent from the cohort
]


def _vcf_genotypes() -> np.ndarray:
    rng = np.random.default_rng(7)
    gt = np.zeros((len(VCF_SITES), N_VCF_SAMPLES, 2), dtype=np.int8)
    for i, (_, _, _, copies) in enumerate(VCF_SITES):
        slots = rng.permutation(2 * N_VCF_SAMPLES)
        start = 0
        for k, n in enumerate(copies, start=1):
            flat = gt[i].reshape(-1)
            flat[slots[start:start + n]] = k
            start += n
    # one missing genotype, at a sample that is REF/REF there (site 2 keeps AC 3, AN 118)
    j = int(np.flatnonzero((gt[1] == 0).all(axis=1))[0])
    gt[1, j] = -1
    return gt


@pytest.fixture(scope="module")
def tiny_vcf(tmp_path_factory):
    """A bgzipped, tabix-indexed VCF written with pysam, and the same data as a Cohort.

    The INFO AC is deliberately wrong: statistics must come from the genotypes.
    """
    gt = _vcf_genotypes()
    samples = [f"S{i:02d}" for i in range(N_VCF_SAMPLES)]
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID=22,length={CONTIG.length},assembly=GRCh37>")
    header.add_line('##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">')
    header.add_line('##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">')
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    for s in samples:
        header.add_sample(s)
    tmp = tmp_path_factory.mktemp("vcf")
    plain = tmp / "tiny.vcf"
    with pysam.VariantFile(str(plain), "w", header=header) as out:
        for i, (pos, ref, alts, _) in enumerate(VCF_SITES):
            rec = out.new_record(contig="22", start=pos - 1, alleles=(ref, *alts))
            rec.info["AC"] = tuple(99 for _ in alts)
            rec.info["AN"] = 999
            for j, s in enumerate(samples):
                rec.samples[s]["GT"] = tuple(None if a < 0 else int(a) for a in gt[i, j])
                rec.samples[s].phased = True
            out.write(rec)
    gz = tmp / "tiny.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    cohort = make_cohort([(p, r, a) for p, r, a, _ in VCF_SITES], gt)
    return gz, cohort


def test_bcftools_stats_agrees_with_our_counts(tiny_vcf):
    path, cohort = tiny_vcf
    assert path.with_suffix(".gz.tbi").exists()
    bstats = stats.bcftools_stats(path)
    sn = stats.summary_numbers(bstats)
    ours = stats.variant_type_summary(cohort).set_index("type")["count"]
    assert sn["number of samples"] == N_VCF_SAMPLES
    for row, key in stats.SUMMARY_ROWS.items():
        if key is not None:
            assert sn[key] == ours[row], row
    assert (ours["SNV"], ours["indel"], ours["multi-allelic"]) == (7, 2, 1)
    tstv = bstats["TSTV"].iloc[0]
    mine = stats.ts_tv(cohort)
    assert (tstv["ts"], tstv["tv"]) == (mine["transitions"], mine["transversions"]) == (5, 3)
    assert tstv["ts_tv"] == pytest.approx(mine["ts_tv"], abs=0.005)
    # singletons from the genotypes, not from the (wrong) INFO AC
    sis = bstats["SiS"].iloc[0]
    assert sis["n_snps"] + sis["n_indels"] == 3


def test_headline_statistics_bcftools_vs_cohort(tiny_vcf):
    path, cohort = tiny_vcf
    from_tool = stats.headline_statistics(stats.bcftools_stats(path))
    from_cohort = stats.headline_statistics(cohort)
    assert from_cohort["records"] == from_tool["records"] == len(VCF_SITES)
    assert from_cohort["singleton fraction"] == pytest.approx(3 / 10)
    assert from_cohort["AF < 1%"] == pytest.approx(4 / 10)   # 3 singletons + the absent one
    for key in stats.HEADLINE_KINDS:
        tol = 0.005 if key == "mean ALT allele frequency" else 1e-9
        assert from_tool[key] == pytest.approx(from_cohort[key], abs=tol), key


def test_bcftools_stats_errors(tmp_path, real_data):
    with pytest.raises(FileNotFoundError, match="nope.vcf.gz"):
        stats.bcftools_stats(tmp_path / "nope.vcf.gz")
    # the panel's slash-separated ALT with genotype allele 2 makes htslib exit(); the
    # child process turns that into an error naming the file
    with pytest.raises(ValueError, match="panel998.vcf.gz: bcftools stats failed"):
        stats.bcftools_stats(real_data["vcf"])


def test_compare_with_reference(tiny_vcf, real_data):
    path, _ = tiny_vcf
    reference = real_data["stats"]
    table = stats.compare_with_reference(stats.bcftools_stats(path), reference)
    label = "1000 Genomes phase 3 chr22 (2,504 samples)"
    assert list(table.columns) == ["statistic", "kind", "this cohort", label]
    row = table.set_index("statistic")
    assert row.loc["records", label] == 1_103_547
    assert row.loc["SNV fraction", label] == pytest.approx(1_060_388 / 1_103_547)
    assert row.loc["Ts/Tv", label] == pytest.approx(750_034 / 314_468)
    assert row.loc["multi-allelic fraction", "this cohort"] == pytest.approx(1 / 9)
    ref = row[label]
    assert ref["AF < 1%"] + ref["AF 1-5%"] + ref["AF >= 5%"] == pytest.approx(1.0)
    assert 0.3 < ref["singleton fraction"] < 0.5



def test_compare_with_reference_file(tiny_vcf, real_data, tmp_path, monkeypatch):
    """The data chapter's call: bcftools stats of a VCF beside the committed reference by
    default, an explicit file when given, and the cohort against itself without one."""
    path, _ = tiny_vcf
    label = "1000 Genomes phase 3 chr22 (2,504 samples)"
    by_default = stats.compare_with_reference_file(path)
    pd.testing.assert_frame_equal(by_default, stats.compare_with_reference_file(path, real_data["stats"]))
    assert by_default.set_index("statistic").loc["records", label] == 1_103_547
    with pytest.raises(FileNotFoundError, match=r"nope.txt: reference statistics not found"):
        stats.compare_with_reference_file(path, tmp_path / "nope.txt")
    assert stats.reference_stats_path(real_data["stats"]) == real_data["stats"]
    monkeypatch.setattr(stats, "reference_stats_path", lambda explicit=None: None)  # a copy without data/1000g
    alone = stats.compare_with_reference_file(path)
    assert list(alone.columns) == ["statistic", "kind", "this cohort", "(no reference)"]
    pd.testing.assert_series_equal(alone["this cohort"], alone["(no reference)"], check_names=False)


# --------------------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------------------

def _mark(spec: dict) -> str:
    mark = spec["mark"]
    return mark if isinstance(mark, str) else mark["type"]


@pytest.fixture(scope="module")
def chart_frames(real_data):
    cohort = make_cohort(SITES3, GENOTYPES, POPS)
    return {
        "composition": stats.population_composition(cohort),
        "per_sample": stats.variants_per_sample(cohort),
        "afs": stats.allele_frequency_spectrum(cohort),
        "summary": stats.variant_type_summary(cohort),
        "density": stats.density(cohort),
        "comparison": stats.compare_with_reference(
            cohort, real_data["stats"]),
    }


def test_population_composition_chart(chart_frames):
    spec = charts.population_composition_chart(chart_frames["composition"]).to_dict()
    assert _mark(spec) == "bar"
    assert spec["encoding"]["x"]["field"] == "n_samples"
    color = spec["encoding"]["color"]
    assert color["field"] == "superpopulation"
    assert color["scale"]["domain"] == ["AFR", "AMR", "EAS", "EUR", "SAS", "unknown"]
    assert "tooltip" in spec["encoding"]


def test_variants_per_sample_chart(chart_frames):
    chart = charts.variants_per_sample_chart(chart_frames["per_sample"], measure="n_het")
    spec = chart.to_dict()
    assert [_mark(layer) for layer in spec["layer"]] == ["rule", "bar", "tick"]
    assert spec["layer"][1]["encoding"]["color"]["scale"]["range"][0] == charts.SUPERPOPULATION_COLORS["AFR"]
    values = next(iter(spec["datasets"].values()))
    assert len(values) == 3   # one row per population, not per sample
    with pytest.raises(ValueError, match="needs columns"):
        charts.variants_per_sample_chart(chart_frames["per_sample"], measure="nope")


@pytest.mark.parametrize("log_scale", [False, True])
def test_allele_frequency_spectrum_chart(chart_frames, log_scale):
    spec = charts.allele_frequency_spectrum_chart(chart_frames["afs"]["spectrum"],
                                                  log_scale=log_scale).to_dict()
    assert _mark(spec) == "bar"
    assert spec["encoding"]["y"]["field"] == "n_sites"
    assert (spec["encoding"]["y"].get("scale", {}).get("type") == "symlog") is log_scale
    sfs = charts.site_frequency_spectrum_chart(chart_frames["afs"]["sfs"]).to_dict()
    assert sfs["encoding"]["x"]["field"] == "minor_allele_count"


def test_variant_types_chart(chart_frames):
    spec = charts.variant_types_chart(chart_frames["summary"]).to_dict()
    assert _mark(spec) == "bar"
    assert spec["encoding"]["x"]["field"] == "fraction"
    values = next(iter(spec["datasets"].values()))
    assert "records" not in [v["type"] for v in values]


def test_density_chart(chart_frames):
    spec = charts.density_chart(chart_frames["density"]).to_dict()
    assert _mark(spec) == "bar"
    assert spec["encoding"]["x"]["field"] == "start_mb"
    assert spec["encoding"]["x2"]["field"] == "end_mb"
    assert spec["encoding"]["y2"] == {"datum": 0}   # bars start at zero
    assert "(Mb)" in spec["encoding"]["x"]["title"]
    assert len(next(iter(spec["datasets"].values()))) == 52   # 51.3 Mb in 1 Mb windows


def test_comparison_chart(chart_frames):
    chart = charts.comparison_chart(chart_frames["comparison"])
    spec = chart.to_dict()
    assert _mark(spec) == "bar"
    assert spec["encoding"]["yOffset"]["field"] == "source"
    values = next(iter(spec["datasets"].values()))
    assert {v["source"] for v in values} == {"this cohort", "1000 Genomes phase 3 chr22 (2,504 samples)"}
    assert "Ts/Tv" not in {v["statistic"] for v in values}
    assert chart.to_json() == charts.comparison_chart(chart_frames["comparison"]).to_json()


def test_pca_separates_africans_on_the_first_component(real_data):
    """On the real panel, PC1 separates AFR from the other super-populations, PC2 EAS from EUR."""
    from lib.book.charts import pca_chart
    from lib.genomes.vcf import read_vcf

    cohort = read_vcf(real_data["vcf"], populations_path=real_data["populations"], assembly="GRCh37")
    scores, explained = stats.pca(cohort, n_components=3)
    assert list(scores.columns) == ["sample", "population", "superpopulation", "PC1", "PC2", "PC3"]
    assert explained[0] > explained[1] > explained[2] > 0
    means = scores.groupby("superpopulation")[["PC1", "PC2"]].mean()
    others = means.drop(index="AFR")
    assert (abs(means.loc["AFR", "PC1"] - others["PC1"]) > 5 * others["PC1"].std()).all()
    assert abs(means.loc["EAS", "PC2"] - means.loc["EUR", "PC2"]) > 3
    again, _ = stats.pca(cohort, n_components=3)
    assert again.equals(scores)  # deterministic, signs included
    spec = pca_chart(scores, explained).to_dict()
    assert spec["mark"]["type"] == "circle" and "of variance" in spec["encoding"]["x"]["title"]


def test_pca_refuses_a_cohort_without_variation():
    sites = [(100, "A", ("G",)), (200, "C", ("T",)), (300, "G", ("A",))]
    cohort = make_cohort(sites, [[[0, 0]] * 4, [[1, 1]] * 4, [[0, 1], [0, 0], [0, 0], [0, 0]]])
    with pytest.raises(ValueError, match="PCA needs more than 2 polymorphic sites and samples; got 1 sites"):
        stats.pca(cohort)


def test_format_comparison_reads_like_prose():
    table = pd.DataFrame({"statistic": ["records", "SNV fraction", "Ts/Tv"], "kind": ["count", "fraction", "ratio"],
                          "this cohort": [1000.0, 0.9876, 2.0957], "reference": [1103547.0, float("nan"), 2.385]})
    out = stats.format_comparison(table)
    assert out.loc["records"].tolist() == ["1,000", "1,103,547"]
    assert out.loc["SNV fraction"].tolist() == ["98.76%", "–"]
    assert out.loc["Ts/Tv"].tolist() == ["2.10", "2.38"]
