"""lib.data and lib.simulate: sources, panel selection, splits, profiles, the run directory.

The real 1000 Genomes panel in ../shared/data is read end to end (the ``shared_data``
fixture fails in CI when it is missing and skips elsewhere).
"""
from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pysam
import pytest

from lib import data, rundir
from lib.cohort import CHR22_LENGTH
from lib.simulate import simulate_cohort
from lib.vcf import VCFError, read_vcf


@pytest.fixture(scope="module")
def simulated():
    return simulate_cohort(samples_per_population=20, length=500_000, seed=7)


# ---------------------------------------------------------------------------- simulation

def test_simulation_is_1000_genomes_like(simulated):
    c = simulated
    assert c.n_samples == 60
    assert c.samples.groupby("population").size().to_dict() == {"CEU": 20, "CHB": 20, "YRI": 20}
    assert c.samples.set_index("population")["superpopulation"].to_dict() == {"CEU": "EUR", "CHB": "EAS", "YRI": "AFR"}
    pos = c.sites["pos"].to_numpy()
    assert np.all(np.diff(pos) > 0) and pos.min() > 17_000_000 and pos.max() <= 17_500_000
    assert c.contig.length == CHR22_LENGTH["GRCh38"]
    # every site has an ALT carrier and every ALT allele differs from REF
    assert np.all((c.genotypes > 0).any(axis=(1, 2)))
    assert all(ref not in alts for ref, alts in zip(c.sites["ref"], c.sites["alts"]))
    # HKY with kappa 4.2: Ts/Tv near 2.1 (JC69 would give 0.5)
    snv = c.sites[c.sites["alts"].map(len) == 1]
    ts = sum({r, a[0]} in ({"A", "G"}, {"C", "T"}) for r, a in zip(snv["ref"], snv["alts"]))
    assert 1.6 < ts / (len(snv) - ts) < 2.7
    # REF from a reference haplotype: some sites have ALT as the major allele, most are rare
    af = c.alt_frequency()
    assert 0 < (af > 0.5).mean() < 0.2 and (af < 0.05).mean() > 0.4
    # Africans carry more variants than the out-of-Africa populations
    per_sample = (c.genotypes > 0).any(axis=2).sum(axis=0)
    by_pop = pd.Series(per_sample).groupby(c.samples["population"].to_numpy()).mean()
    assert by_pop["YRI"] > by_pop["CEU"] and by_pop["YRI"] > by_pop["CHB"]


def test_simulation_is_seeded(simulated):
    again = simulate_cohort(samples_per_population=20, length=500_000, seed=7)
    assert again.sites.equals(simulated.sites)
    np.testing.assert_array_equal(again.genotypes, simulated.genotypes)
    other = simulate_cohort(samples_per_population=20, length=500_000, seed=8)
    assert not np.array_equal(other.sites["pos"].to_numpy()[:50], simulated.sites["pos"].to_numpy()[:50])


def test_simulation_rejects_a_window_off_the_chromosome():
    with pytest.raises(ValueError, match="must lie within chr22"):
        simulate_cohort(5, 1_000_000, left=50_500_000)


# ---------------------------------------------------------------------------- panel

def test_panel_has_the_requested_mix(simulated):
    panel = data.select_panel(simulated, n_sites=100, common_fraction=0.2, seed=1)
    maf = panel.cohort.minor_allele_frequency()
    assert panel.cohort.n_sites == 100 and (maf >= 0.05).sum() == 20 and ((maf > 0) & (maf < 0.05)).sum() == 80
    assert np.all(np.diff(panel.cohort.sites["pos"].to_numpy()) > 0)
    same = data.select_panel(simulated, n_sites=100, common_fraction=0.2, seed=1)
    assert same.cohort.sites.equals(panel.cohort.sites)


def test_panel_shortfalls_are_reported(simulated):
    everything = data.select_panel(simulated, n_sites=10**6, common_fraction=0.1, seed=1)
    assert any("asked for more sites" in n for n in everything.notes)
    n_common = int((simulated.minor_allele_frequency() >= 0.05).sum())
    allcommon = data.select_panel(simulated, n_sites=n_common + 10, common_fraction=1.0, seed=1)
    assert allcommon.n_common == n_common and allcommon.n_rare == 10
    assert any("so the panel has" in n for n in allcommon.notes)


# ---------------------------------------------------------------------------- splits

def test_splits_are_disjoint_stratified_and_seeded(simulated):
    splits = data.make_splits(simulated.samples, 0.2, 0.2, seed=3)
    ids = [s for v in splits.values() for s in v]
    assert sorted(ids) == sorted(simulated.sample_ids) and len(ids) == len(set(ids))
    assert {k: len(v) for k, v in splits.items()} == {"train": 36, "validation": 12, "holdout": 12, "public": 0}
    pops = simulated.samples.set_index("sample")["population"]
    for name in ("validation", "holdout"):
        assert pops[splits[name]].value_counts().to_dict() == {"YRI": 4, "CEU": 4, "CHB": 4}
    assert data.make_splits(simulated.samples, 0.2, 0.2, seed=3) == splits
    assert data.make_splits(simulated.samples, 0.2, 0.2, seed=4) != splits


def test_public_split_is_stratified_too(simulated):
    splits = data.make_splits(simulated.samples, 0.1, 0.2, seed=3, public_fraction=0.1)
    assert {k: len(v) for k, v in splits.items()} == {"train": 36, "validation": 6, "holdout": 12, "public": 6}
    pops = simulated.samples.set_index("sample")["population"]
    assert pops[splits["public"]].value_counts().to_dict() == {"YRI": 2, "CEU": 2, "CHB": 2}
    assert not set(splits["public"]) & (set(splits["train"]) | set(splits["holdout"]) | set(splits["validation"]))


def test_too_few_samples_for_the_splits(simulated):
    with pytest.raises(ValueError, match=r"too few samples \(3\) for the splits"):
        data.make_splits(simulated.samples.head(3), 0.15, 0.15, seed=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "s3"}, "source='s3' is unknown"),
    ({"source": "vcf"}, "source='vcf' needs vcf_path"),
    ({"source": "vcf", "vcf_path": "/nonexistent.vcf"}, "/nonexistent.vcf: file not found"),
    ({"n_sites": 0}, "n_sites=0 must be at least 1"),
    ({"common_fraction": 1.5}, "common_fraction=1.5 must lie in"),
    ({"validation_fraction": 0.6, "holdout_fraction": 0.5}, "leaves no samples to train on"),
    ({"public_fraction": 0.8}, "leaves no samples to train on"),
    ({"public_fraction": -0.1}, r"public_fraction=-0.1 must lie in \[0, 1\)"),
    ({"region": "21:1-100"}, "is on chromosome 21"),
])
def test_bad_parameters_are_refused_before_work(tmp_path, kwargs, message):
    with pytest.raises((ValueError, VCFError), match=message):
        data.prepare(tmp_path, **kwargs)
    assert not (tmp_path / "cohort").exists() or not any((tmp_path / "cohort").iterdir())


# ---------------------------------------------------------------------------- profiles

def test_profiles_dense_and_sparse(tmp_path):
    from tests.test_vcf import write_text_vcf

    cohort = read_vcf(write_text_vcf(tmp_path / "x.vcf"))
    dense, sparse = data.profiles(cohort, sparse=False), data.profiles(cohort, sparse=True)
    assert dense[0] == ["22:100:A>G_0|0", "22:200:C>T,A_0|2", "22:300:AT>A_0/1", "22:400:G>GTT_0|0"]
    assert sparse[0] == ["22:200:C>T,A_0|2", "22:300:AT>A_0/1"]
    assert sparse[1] == ["22:100:A>G_0|1", "22:200:C>T,A_1|0", "22:300:AT>A_./."]  # missing calls kept
    assert data.parse_record("22:200:C>T,A_0|2") == ("22", 200, "C", ("T", "A"), "0|2")
    with pytest.raises(ValueError, match="is not a '22:POS:REF>ALT_GT' record"):
        data.parse_record("22-200-C-T")


# ---------------------------------------------------------------------------- the whole step

def test_prepare_writes_the_run_directory_and_reuses_it(tmp_path):
    run = rundir.run_path(tmp_path / "run", "smoke")
    kwargs = dict(source="simulate", seed=5, n_sites=120, sim_samples_per_population=15, sim_length=400_000,
                  public_fraction=0.1)
    first = data.prepare(run, **kwargs, progress=False)
    assert not first.reused
    paths = first.paths
    for path in paths.values():
        assert path.exists() and path.stat().st_size > 0, path
    with pysam.VariantFile(str(paths["vcf"])) as vf:
        assert vf.header.contigs["22"].length == CHR22_LENGTH["GRCh38"]
        assert "assembly=GRCh38" in str(vf.header)
        assert len(list(vf.fetch("22"))) == 120
    splits = json.loads(paths["splits"].read_text())
    assert splits["sizes"] == {k: len(splits[k]) for k in data.SPLITS}
    profiles = data.read_profiles(run)
    assert len(profiles) == 45 and set(profiles["split"]) == set(data.SPLITS)
    with gzip.open(paths["profiles_dense"], "rt") as handle:
        dense = [json.loads(line) for line in handle]
    assert all(len(row["variants"]) == 120 for row in dense)
    # sparse is the dense profile without the 0|0 records
    assert [r for r in dense[0]["variants"] if not r.endswith("_0|0")] == profiles.iloc[0]["variants"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["artefacts"]["cohort/cohort.vcf.gz"]["sha256"] == rundir.sha256(paths["vcf"])
    stamp = paths["vcf"].stat().st_mtime_ns
    second = data.prepare(run, **kwargs, progress=False)
    assert second.reused and paths["vcf"].stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(second.cohort.genotypes, first.cohort.genotypes)
    assert data.load_splits(run) == first.splits
    # a new parameter rebuilds; same parameters on a fresh directory give identical bytes
    third = data.prepare(rundir.run_path(tmp_path / "other", "smoke"), **kwargs, progress=False)
    for key in ("profiles", "profiles_dense", "splits", "vcf"):
        assert rundir.sha256(third.paths[key]) == rundir.sha256(paths[key]), key


def test_a_failed_rerun_leaves_the_previous_cohort_intact(tmp_path):
    run = rundir.run_path(tmp_path / "run", "smoke")
    data.prepare(run, source="simulate", seed=1, n_sites=50, sim_samples_per_population=10,
                 sim_length=300_000, progress=False)
    before = {p.name: rundir.sha256(p) for p in (run / "cohort").iterdir()}
    bad = tmp_path / "broken.vcf.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x04" + b"\x00" * 40)
    with pytest.raises(VCFError, match="broken.vcf.gz"):
        data.prepare(run, source="vcf", vcf_path=str(bad), progress=False)
    assert {p.name: rundir.sha256(p) for p in (run / "cohort").iterdir()} == before


# ---------------------------------------------------------------------------- the real panel

def test_real_panel_end_to_end(tmp_path, shared_data):
    vcf, pops = shared_data / "1000g_chr22_panel998.vcf.gz", shared_data / "1000g_samples.tsv"
    cohort = read_vcf(vcf, populations_path=pops, assembly="GRCh37")
    assert (cohort.n_sites, cohort.n_samples) == (998, 813)
    repairs = "\n".join(cohort.repairs)
    assert "5 multi-allelic record(s) joined ALT alleles with '/'" in repairs
    assert "declares assembly=GRCh38, length=49691432; using assembly=GRCh37" in repairs
    assert "INFO is ignored" in repairs
    assert "3 position(s) carry more than one record" in repairs
    site = cohort.sites.index[cohort.sites["pos"] == 27_763_167][0]
    assert cohort.sites.loc[site, "alts"] == ("G", "TAAG")
    assert set(np.unique(cohort.genotypes)) == {0, 1, 2}
    assert cohort.samples["superpopulation"].value_counts().to_dict() == {
        "AFR": 219, "EAS": 165, "SAS": 163, "EUR": 147, "AMR": 119}
    # the genotypes agree with htslib's own reading of the file, sample by sample
    with pysam.VariantFile(str(vcf)) as vf:
        for i, rec in enumerate(vf):
            if i % 97 == 0 and "/" not in rec.alts[0]:
                row = cohort.sites.index[(cohort.sites["pos"] == rec.pos) & (cohort.sites["ref"] == rec.ref)
                                         & (cohort.sites["alts"] == rec.alts)][0]
                got = [tuple(rec.samples[s]["GT"]) for s in cohort.sample_ids[:50]]
                assert got == [tuple(g) for g in cohort.genotypes[row, :50].tolist()]

    run = rundir.run_path(tmp_path / "real", "smoke")
    prepared = data.prepare(run, source="vcf", vcf_path=str(vcf), populations_path=str(pops),
                            assembly="GRCh37", n_sites=None, progress=False)
    assert prepared.cohort.n_sites == 998 - 366  # monomorphic sites in these 813 samples left out
    with pysam.VariantFile(str(prepared.paths["vcf"])) as vf:
        assert vf.header.contigs["22"].length == 51_304_566
        multi = [r for r in vf if len(r.alts) > 1]
        assert len(multi) >= 4 and all("/" not in a for r in multi for a in r.alts)


def test_two_pass_panel_read_equals_the_in_memory_selection(shared_data):
    """Reading a panel from a file in two passes (frequencies, then the panel's genotypes
    only) picks the same sites and genotypes as selecting from the whole cohort in memory."""
    vcf, pops = shared_data / "1000g_chr22_panel998.vcf.gz", shared_data / "1000g_samples.tsv"
    whole = read_vcf(vcf, populations_path=pops, assembly="GRCh37")
    in_memory = data.select_panel(whole, n_sites=300, common_fraction=0.2, seed=11)
    two_pass = data.load_panel("vcf", seed=11, n_sites=300, common_fraction=0.2, vcf_path=str(vcf),
                               populations_path=str(pops), assembly="GRCh37", progress=False)
    assert two_pass.cohort.sites.equals(in_memory.cohort.sites)
    np.testing.assert_array_equal(two_pass.cohort.genotypes, in_memory.cohort.genotypes)
    assert two_pass.cohort.samples.equals(in_memory.cohort.samples)
    assert (two_pass.n_common, two_pass.notes, two_pass.n_source_sites) == (
        in_memory.n_common, in_memory.notes, in_memory.n_source_sites)
    assert two_pass.n_common == 60
    assert two_pass.cohort.repairs == whole.repairs
