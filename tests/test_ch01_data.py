"""The data chapter's concern modules and its orchestration.

* :mod:`lib.genomes.simulate` -- the offline source;
* :mod:`lib.genomes.panel` -- site tables, choosing the panel from public information only, and
  what it costs the members (small arrays whose every expected number is worked out by hand);
* :mod:`lib.genomes.splits` -- who is a member;
* :mod:`lib.genomes.profiletext` -- a person as ``22:POS:REF>ALT_GT`` records, and back;
* :mod:`lib.ch01_data` -- the whole step with its run directory, on a simulated cohort and
  on the real 1000 Genomes panel committed in ``data/1000g/`` (the ``real_data`` fixture).
"""
from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pysam
import pytest

from lib.runs import artefacts
from lib import ch01_data
from lib.genomes import panel, profiletext, splits
from lib.core import rundir
from lib.genomes.cohort import CHR22_LENGTH, Cohort, Contig
from lib.genomes.simulate import simulate_cohort
from lib.genomes.vcf import VCFError, read_vcf


@pytest.fixture(scope="module")
def simulated():
    return simulate_cohort(samples_per_population=20, length=500_000, seed=7)


def small_cohort(sites, genotypes, phased=None, samples=("A", "B", "C", "D")) -> Cohort:
    """``sites``: (pos, ref, alts); ``genotypes``: (site, person, 2) nested lists, -1 = missing."""
    gt = np.asarray(genotypes, dtype=np.int8)
    table = pd.DataFrame({"pos": [p for p, _, _ in sites], "ref": [r for _, r, _ in sites],
                          "alts": [tuple(a) for _, _, a in sites], "id": [f"rs{p}" for p, _, _ in sites]})
    people = pd.DataFrame({"sample": list(samples), "population": "GBR", "superpopulation": "EUR"})
    return Cohort(contig=Contig("22", CHR22_LENGTH["GRCh37"], "GRCh37"), sites=table, samples=people,
                  genotypes=gt, phased=np.ones(gt.shape[:2], bool) if phased is None else np.asarray(phased))


# Three sites x four people; A and B are members, C and D public.
#   100 A>G    A 0|1  B 1|1  C 0|0  D 0|0   varies among the members only
#   200 C>T,A  A 0|0  B 0|0  C 0|2  D ./.   varies among the public people only (D missing)
#   300 G>A    A 1|1  B 1|1  C 1|1  D 1|1   everyone homozygous ALT: varies nowhere
HAND_SITES = [(100, "A", ("G",)), (200, "C", ("T", "A")), (300, "G", ("A",))]
HAND_GT = [[[0, 1], [1, 1], [0, 0], [0, 0]],
           [[0, 0], [0, 0], [0, 2], [-1, -1]],
           [[1, 1], [1, 1], [1, 1], [1, 1]]]
HAND_GROUPS = {"train": ["A", "B"], "public": ["C", "D"]}


@pytest.fixture
def hand_table():
    return panel.site_table(small_cohort(HAND_SITES, HAND_GT), HAND_GROUPS)


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


# ---------------------------------------------------------------------------- lib.genomes.panel: site tables

def test_site_table_by_hand(hand_table):
    t = hand_table
    assert t["key"].tolist() == ["100:A>G", "200:C>T,A", "300:G>A"]
    assert t["ac_all"].tolist() == [3, 1, 8] and t["an_all"].tolist() == [8, 6, 8]
    assert t["carriers_all"].tolist() == [2, 1, 4] and t["polymorphic_all"].tolist() == [True, True, False]
    assert t["ac_train"].tolist() == [3, 0, 4] and t["an_train"].tolist() == [4, 4, 4]
    assert t["carriers_train"].tolist() == [2, 0, 2] and t["polymorphic_train"].tolist() == [True, False, False]
    assert t["ac_public"].tolist() == [0, 1, 4] and t["an_public"].tolist() == [4, 2, 4]  # D's ./. is not called
    assert t["carriers_public"].tolist() == [0, 1, 2] and t["polymorphic_public"].tolist() == [False, True, False]
    # folded: 0/4, 1/2 and 4/4 ALT among the public people's called alleles
    np.testing.assert_allclose(panel.minor_allele_frequency(t, "public"), [0.0, 0.5, 0.0])
    np.testing.assert_allclose(panel.minor_allele_frequency(t, "train"), [0.25, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"1 sample\(s\) of the groups are not in the cohort"):
        panel.site_table(small_cohort(HAND_SITES, HAND_GT), {"public": ["C", "Z"]})


# ---------------------------------------------------------------------------- lib.genomes.panel: choosing sites

MAF = np.array([0.0, 0.3, 0.01, 0.5, 0.04, 0.05, 0.02])
ELIGIBLE = np.array([False, True, True, True, True, True, True])
COMMON, RARE = {1, 3, 5}, {2, 4, 6}  # 0.05 is common (>=); site 0 is not eligible


def test_choose_sites_keeps_every_eligible_site_without_n_sites():
    index, n_common, notes = panel.choose_sites(MAF, ELIGIBLE, None, 0.5, seed=0)
    assert index.tolist() == [1, 2, 3, 4, 5, 6] and n_common == 3 and notes == []
    index, n_common, notes = panel.choose_sites(MAF, ELIGIBLE, 6, 0.5, seed=0)
    assert index.tolist() == [1, 2, 3, 4, 5, 6] and n_common == 3 and notes == []
    index, n_common, notes = panel.choose_sites(MAF, ELIGIBLE, 10, 0.5, seed=0)
    assert index.tolist() == [1, 2, 3, 4, 5, 6] and n_common == 3
    assert notes == ["n_sites=10 asked for more sites than the 6 eligible: the panel holds them all"]


def test_choose_sites_draws_the_requested_mix_with_its_seed():
    index, n_common, notes = panel.choose_sites(MAF, ELIGIBLE, 4, 0.5, seed=1)
    assert len(index) == 4 and np.all(np.diff(index) > 0) and notes == []
    assert n_common == 2 and len(set(index) & COMMON) == 2 and len(set(index) & RARE) == 2
    again = panel.choose_sites(MAF, ELIGIBLE, 4, 0.5, seed=1)
    assert again[0].tolist() == index.tolist()
    draws = {tuple(panel.choose_sites(MAF, ELIGIBLE, 4, 0.5, seed=s)[0]) for s in range(20)}
    assert len(draws) > 1  # the seed matters
    index, n_common, _ = panel.choose_sites(MAF, ELIGIBLE, 3, 0.0, seed=2)
    assert n_common == 0 and set(index) == RARE


def test_choose_sites_reports_a_shortfall():
    # 4 common asked for, 3 exist: all 3 and 1 rare
    index, n_common, notes = panel.choose_sites(MAF, ELIGIBLE, 4, 1.0, seed=0)
    assert n_common == 3 and COMMON <= set(index) and len(set(index) & RARE) == 1
    assert notes == ["asked for 4 common and 0 rare sites; 3 common and 3 rare are eligible, so the panel has 3 and 1"]
    index, n_common, notes = panel.choose_sites(MAF, ELIGIBLE, 5, 0.0, seed=0)
    assert n_common == 2 and RARE <= set(index)
    assert notes == ["asked for 0 common and 5 rare sites; 3 common and 3 rare are eligible, so the panel has 2 and 3"]
    with pytest.raises(ValueError, match="no site is eligible"):
        panel.choose_sites(MAF, np.zeros(len(MAF), bool), None, 0.5, seed=0)


def test_panel_from_the_public_split_by_hand(hand_table):
    choice = panel.from_public_split(hand_table, None, 0.1, seed=0)
    # only 200:C>T,A varies among C and D; 100:A>G varies among the members only and is left out
    assert choice.index.tolist() == [1] and (choice.n_common, choice.n_rare) == (1, 0)
    assert choice.basis == "public split" and choice.n_candidates == 1
    assert choice.notes == ["2 of the source's 3 sites do not vary among the public people and are not eligible"]
    with pytest.raises(ValueError, match="no public group"):
        panel.from_public_split(hand_table.drop(columns=[c for c in hand_table if c.endswith("_public")]),
                                None, 0.1, seed=0)


def test_panel_from_a_declared_list_by_hand(hand_table):
    choice = panel.from_declared(hand_table, None, 0.1, seed=0)
    # every declared site, invariant or not; common/rare by the public MAF (0, 0.5, 0)
    assert choice.index.tolist() == [0, 1, 2] and (choice.n_common, choice.n_rare) == (1, 2)
    assert choice.basis == "declared site list" and choice.n_candidates == 3 and choice.notes == []
    assert panel.from_declared(hand_table, 3, 0.1, seed=0).index.tolist() == [0, 1, 2]  # n_sites >= the list
    subset = panel.from_declared(hand_table, 2, 0.5, seed=0)
    assert len(subset.index) == 2 and 1 in subset.index and subset.n_common == 1
    no_public = hand_table[["pos", "ref", "alts", "key"]]
    choice = panel.from_declared(no_public, None, 0.5, seed=0)  # without public people: all "rare"
    assert choice.index.tolist() == [0, 1, 2] and (choice.n_common, choice.n_rare) == (0, 3)


def test_the_panel_does_not_depend_on_the_members(simulated):
    """Whatever the members carry, a panel chosen from the public split (or a declared list)
    is the same: the same sites, labels and notes."""
    split = splits.make_splits(simulated.samples, 0.2, 0.2, seed=3, public_fraction=0.2)
    table = panel.site_table(simulated, split)
    changed = simulated.subset()
    members = [simulated.sample_ids.index(s) for s in split["train"] + split["holdout"] + split["validation"]]
    changed.genotypes[:, members] = np.random.default_rng(0).integers(0, 2, changed.genotypes[:, members].shape)
    other = panel.site_table(changed, split)
    assert not other["ac_train"].equals(table["ac_train"])  # the members really differ
    for choose in (panel.from_public_split, panel.from_declared):
        a, b = choose(table, 100, 0.2, 5), choose(other, 100, 0.2, 5)
        assert a.index.tolist() == b.index.tolist() and (a.n_common, a.notes) == (b.n_common, b.notes)


def test_phased_convention_follows_the_public_people():
    cohort = small_cohort(HAND_SITES, HAND_GT, phased=[[False, False, True, True]] * 3)
    assert panel.phased_convention(cohort, ["C", "D"]) is True
    assert panel.phased_convention(cohort, ["A", "B"]) is False
    mostly = small_cohort(HAND_SITES, HAND_GT, phased=[[True, True, True, False], [True, True, False, False],
                                                       [True, True, False, False]])
    assert panel.phased_convention(mostly, ["C", "D"]) is False  # 1 of 6 calls phased
    assert panel.phased_convention(mostly, []) is True


def test_on_sites_keeps_the_panel_order_and_writes_absent_sites_as_ref():
    cohort = small_cohort(HAND_SITES, HAND_GT)
    sites = pd.DataFrame({"pos": [300, 150, 100], "ref": ["G", "T", "A"], "alts": [("A",), ("C",), ("G",)],
                          "key": ["300:G>A", "150:T>C", "100:A>G"]})
    out = panel.on_sites(cohort, sites)
    assert out.sites["pos"].tolist() == [300, 150, 100] and out.sites["id"].tolist() == ["rs300", "22:150", "rs100"]
    np.testing.assert_array_equal(out.genotypes[0], HAND_GT[2])
    np.testing.assert_array_equal(out.genotypes[1], np.zeros((4, 2)))  # nobody carries it
    np.testing.assert_array_equal(out.genotypes[2], HAND_GT[0])
    assert out.phased[1].all() and out.sample_ids == cohort.sample_ids


# ---------------------------------------------------------------------------- lib.genomes.panel: coverage

def coverage_table(carriers_train, ac_all, carriers_public, an=100):
    return pd.DataFrame({"carriers_train": carriers_train, "ac_all": ac_all, "an_all": an,
                         "carriers_public": carriers_public})


def test_coverage_by_hand():
    # ALT frequency: 0.40, 0.01, 0.02, 0.03, 0.01; the panel holds the first two sites
    table = coverage_table([3, 1, 0, 2, 1], [40, 1, 2, 3, 1], [5, 0, 1, 1, 0])
    out = panel.coverage(table, np.array([True, True, False, False, False])).set_index("measure")
    assert out.index.tolist() == ["non-reference genotypes", "rare variant sites", "carried by no public person"]
    assert out["at source sites"].tolist() == [7, 3, 2]   # 3+1+0+2+1; sites 1, 3, 4; sites 1, 4
    assert out["on the panel"].tolist() == [4, 1, 1]      # 3+1; site 1; site 1
    np.testing.assert_allclose(out["share on the panel"], [4 / 7, 1 / 3, 1 / 2])
    nobody = panel.coverage(coverage_table([0] * 5, [40, 1, 2, 3, 1], [5, 0, 1, 1, 0]), np.ones(5, bool))
    assert (nobody["at source sites"] == 0).all() and nobody["share on the panel"].isna().all()
    without_public = panel.coverage(table.drop(columns="carriers_public"), np.zeros(5, bool)).set_index("measure")
    assert without_public.loc["carried by no public person", "at source sites"] == 3  # every rare member site


# ---------------------------------------------------------------------------- lib.genomes.splits

def test_splits_are_disjoint_stratified_and_seeded(simulated):
    split = splits.make_splits(simulated.samples, 0.2, 0.2, seed=3)
    ids = [s for v in split.values() for s in v]
    assert sorted(ids) == sorted(simulated.sample_ids) and len(ids) == len(set(ids))
    assert {k: len(v) for k, v in split.items()} == {"train": 36, "validation": 12, "holdout": 12, "public": 0}
    assert tuple(split) == splits.SPLITS == ("train", "validation", "holdout", "public")
    pops = simulated.samples.set_index("sample")["population"]
    for name in ("validation", "holdout"):
        assert pops[split[name]].value_counts().to_dict() == {"YRI": 4, "CEU": 4, "CHB": 4}
    assert splits.make_splits(simulated.samples, 0.2, 0.2, seed=3) == split
    assert splits.make_splits(simulated.samples, 0.2, 0.2, seed=4) != split
    order = {s: i for i, s in enumerate(simulated.sample_ids)}
    assert all(v == sorted(v, key=order.get) for v in split.values())  # in the sample table's order


def test_public_split_is_stratified_too(simulated):
    split = splits.make_splits(simulated.samples, 0.1, 0.2, seed=3, public_fraction=0.1)
    assert {k: len(v) for k, v in split.items()} == {"train": 36, "validation": 6, "holdout": 12, "public": 6}
    pops = simulated.samples.set_index("sample")["population"]
    assert pops[split["public"]].value_counts().to_dict() == {"YRI": 2, "CEU": 2, "CHB": 2}
    assert not set(split["public"]) & (set(split["train"]) | set(split["holdout"]) | set(split["validation"]))


def test_too_few_samples_for_the_splits(simulated):
    with pytest.raises(ValueError, match=r"too few samples \(3\) for the splits"):
        splits.make_splits(simulated.samples.head(3), 0.15, 0.15, seed=0)
    with pytest.raises(ValueError, match=r"too few samples \(60\) for public_fraction=0.005: the public split"):
        splits.make_splits(simulated.samples, 0.15, 0.15, seed=0, public_fraction=0.005)


# ---------------------------------------------------------------------------- lib.genomes.profiletext

def test_profiles_dense_and_sparse(tmp_path):
    from tests.test_vcf import write_text_vcf

    cohort = read_vcf(write_text_vcf(tmp_path / "x.vcf"))
    assert profiletext.site_keys(cohort) == ["22:100:A>G", "22:200:C>T,A", "22:300:AT>A", "22:400:G>GTT"]
    dense, sparse = profiletext.profiles(cohort, sparse=False), profiletext.profiles(cohort, sparse=True)
    assert dense[0] == ["22:100:A>G_0|0", "22:200:C>T,A_0|2", "22:300:AT>A_0/1", "22:400:G>GTT_0|0"]
    assert sparse[0] == ["22:200:C>T,A_0|2", "22:300:AT>A_0/1"]
    assert sparse[1] == ["22:100:A>G_0|1", "22:200:C>T,A_1|0", "22:300:AT>A_./."]  # missing calls kept
    assert profiletext.parse_record("22:200:C>T,A_0|2") == ("22", 200, "C", ("T", "A"), "0|2")
    assert profiletext.site_of("22:200:C>T,A_0|2") == "22:200:C>T,A"
    with pytest.raises(ValueError, match="is not a '22:POS:REF>ALT_GT' record"):
        profiletext.parse_record("22-200-C-T")
    assert profiletext.RECORD.match("22:200:C>T,A_0|2")["alts"] == "T,A"
    assert profiletext.RECORD.match("22:200:C>T/A_0|2") is None  # the dissertation's '/' is not an ALT separator


def test_sparse_profiles_read_back_into_genotypes(tmp_path):
    from tests.test_vcf import write_text_vcf

    cohort = read_vcf(write_text_vcf(tmp_path / "x.vcf"))
    back = profiletext.to_cohort(profiletext.profiles(cohort, sparse=True), cohort)
    np.testing.assert_array_equal(back.genotypes, cohort.genotypes)
    assert back.sites.equals(cohort.sites) and back.sample_ids == ["SYN0001", "SYN0002", "SYN0003"]
    assert (back.samples["population"] == "unknown").all()
    assert back.phased[2].tolist() == [False, False, True]  # 0/1 and ./. unphased; 0|0 (not listed) phased
    # off-panel sites and alleles the site lacks are left out, not guessed
    odd = profiletext.to_cohort([["22:999:A>G_1|1", "22:100:A>G_0|3", "22:100:A>C_1|1", "not a record"]], cohort)
    assert not odd.genotypes.any()


# ---------------------------------------------------------------------------- ch01_data: parameters

@pytest.mark.parametrize("kwargs, message", [
    ({"source": "s3"}, "source='s3' is unknown"),
    ({"source": "vcf"}, "source='vcf' needs vcf_path"),
    ({"source": "vcf", "vcf_path": "/nonexistent.vcf"}, "/nonexistent.vcf: file not found"),
    ({"panel_path": "/nonexistent-panel.vcf"}, r"/nonexistent-panel.vcf: file not found \(panel_path\)"),
    ({"populations_path": "/nonexistent.tsv"}, r"/nonexistent.tsv: file not found \(populations_path\)"),
    ({"n_sites": 0}, "n_sites=0 must be at least 1"),
    ({"common_fraction": 1.5}, "common_fraction=1.5 must lie in"),
    ({"validation_fraction": 0.6, "holdout_fraction": 0.5}, "leaves no samples to train on"),
    ({"holdout_fraction": 0.0}, "holdout_fraction=0.0 must lie strictly between 0 and 1"),
    ({"public_fraction": 0.8}, "leaves no samples to train on"),
    ({"public_fraction": -0.1}, r"public_fraction=-0.1 must lie in \[0, 1\)"),
    ({"public_fraction": 0.0}, "the panel must come from public information"),
    ({"region": "21:1-100"}, "is on chromosome 21"),
])
def test_bad_parameters_are_refused_before_work(tmp_path, kwargs, message):
    run = tmp_path / "run"
    with pytest.raises((ValueError, VCFError), match=message):
        ch01_data.prepare(run, ch01_data.DataSpec(**kwargs), progress=False)
    assert not run.exists()  # nothing written, not even a manifest


def test_no_public_split_is_fine_with_a_declared_panel(tmp_path, real_data):
    prepared = ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(source="vcf", vcf_path=str(real_data["vcf"]),
                                                                      assembly="GRCh37",
                                                                      panel_path=str(real_data["vcf"]),
                                                                      public_fraction=0.0), progress=False)
    assert prepared.splits["public"] == [] and prepared.panel["n_public_people"] == 0
    assert prepared.panel["n_sites"] == 998 and (prepared.panel["n_common"], prepared.panel["n_rare"]) == (0, 998)
    assert prepared.panel["phased"] is True  # no public people: phased by default


def test_data_settings_resolves_the_profile_source():
    quick = {"data": {"source": "vcf", "vcf_path": "data/1000g/a.vcf.gz", "populations_path": "data/1000g/p.tsv",
                      "assembly": "GRCh37", "panel_path": "data/1000g/a.vcf.gz"}}
    chosen = ch01_data.data_settings(quick)
    assert chosen == {"source": "vcf", "vcf_path": str(rundir.REPO_ROOT / "data/1000g/a.vcf.gz"),
                      "populations_path": str(rundir.REPO_ROOT / "data/1000g/p.tsv"), "assembly": "GRCh37",
                      "panel_path": str(rundir.REPO_ROOT / "data/1000g/a.vcf.gz")}
    # a given file replaces the profile's data set whole (its populations and panel belong to it)
    assert ch01_data.data_settings(quick, vcf_path="/x.vcf") == {
        "source": "vcf", "vcf_path": "/x.vcf", "populations_path": None, "assembly": None, "panel_path": None}
    assert ch01_data.data_settings(quick, source="simulate")["source"] == "simulate"
    assert ch01_data.data_settings(quick, assembly="GRCh38")["assembly"] == "GRCh38"  # an override
    assert ch01_data.data_settings({}, source=None) == {"source": "simulate", "vcf_path": None,
                                                        "populations_path": None, "assembly": None, "panel_path": None}
    with pytest.raises(ValueError, match=r"unknown data parameter\(s\) \['n_site'\]"):
        ch01_data.data_settings(quick, n_site=3)


# ---------------------------------------------------------------------------- ch01_data: a simulated cohort

SIMULATED = dict(source="simulate", seed=5, n_sites=120, sim_samples_per_population=15, sim_length=400_000,
                 public_fraction=0.1)


def test_prepare_writes_the_run_directory_and_reuses_it(tmp_path):
    run = rundir.run_path(tmp_path / "run", "smoke")
    first = ch01_data.prepare(run, ch01_data.DataSpec(**SIMULATED), progress=False)
    assert not first.reused
    paths = first.paths
    assert set(paths) == {"vcf", "tbi", "populations", "splits", "profiles", "profiles_dense", "panel", "data",
                          "coverage"}
    assert paths["panel"] == run / "cohort" / "panel.json" and paths["coverage"].parent == run / "diagnostics"
    for path in paths.values():
        assert path.exists() and path.stat().st_size > 0, path
    with pysam.VariantFile(str(paths["vcf"])) as vf:
        assert vf.header.contigs["22"].length == CHR22_LENGTH["GRCh38"]
        assert "assembly=GRCh38" in str(vf.header)
        assert len(list(vf.fetch("22"))) == 120
    split = json.loads(paths["splits"].read_text())
    assert split["sizes"] == {k: len(split[k]) for k in splits.SPLITS} == {
        "train": 27, "validation": 7, "holdout": 7, "public": 4}
    profiles = artefacts.read_profiles(run)
    assert len(profiles) == 45 and set(profiles["split"]) == set(splits.SPLITS)
    with gzip.open(paths["profiles_dense"], "rt") as handle:
        dense = [json.loads(line) for line in handle]
    assert all(len(row["variants"]) == 120 for row in dense)
    # sparse is the dense profile without the 0|0 records
    assert [r for r in dense[0]["variants"] if not r.endswith("_0|0")] == profiles.iloc[0]["variants"]
    manifest = json.loads((run / "manifest.json").read_text())
    for key in ("vcf", "panel", "coverage", "data"):
        relative = str(paths[key].relative_to(run))
        assert manifest["artefacts"][relative]["sha256"] == rundir.sha256(paths[key]), key

    stamp = paths["vcf"].stat().st_mtime_ns
    second = ch01_data.prepare(run, ch01_data.DataSpec(**SIMULATED), progress=False)
    assert second.reused and paths["vcf"].stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(second.cohort.genotypes, first.cohort.genotypes)
    assert second.cohort.sites.equals(first.cohort.sites)
    assert artefacts.load_splits(run) == first.splits == second.splits
    assert second.panel == first.panel and second.diagnostics == first.diagnostics
    pd.testing.assert_frame_equal(second.coverage, first.coverage, check_dtype=False)
    # same parameters on a fresh directory give identical bytes; a new parameter rebuilds
    third = ch01_data.prepare(rundir.run_path(tmp_path / "other", "smoke"), ch01_data.DataSpec(**SIMULATED),
                                                                            progress=False)
    for key in ("profiles", "profiles_dense", "splits", "vcf", "panel", "coverage", "data"):
        assert rundir.sha256(third.paths[key]) == rundir.sha256(paths[key]), key
    fourth = ch01_data.prepare(run, ch01_data.DataSpec(**{**SIMULATED, "n_sites": 60}), progress=False)
    assert not fourth.reused and fourth.cohort.n_sites == 60 and fourth.panel["n_sites"] == 60


def test_simulated_panel_comes_from_the_public_people(tmp_path):
    """Without a declared list, the panel is drawn among the sites that vary among the
    public people, labelled common/rare by their MAF, and its coverage of the members
    is what the source's genotypes say."""
    prepared = ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(**SIMULATED), progress=False)
    source = simulate_cohort(15, 400_000, seed=5)  # what prepare simulated
    assert prepared.splits == splits.make_splits(source.samples, 0.15, 0.15, 5, public_fraction=0.1)
    index = {s: i for i, s in enumerate(source.sample_ids)}
    group = {name: [index[s] for s in ids] for name, ids in prepared.splits.items()}
    keys = profiletext.site_keys(source)
    row = {k: i for i, k in enumerate(keys)}
    info, cohort = prepared.panel, prepared.cohort
    assert info["sites"] == profiletext.site_keys(cohort) and len(info["sites"]) == info["n_sites"] == 120
    rows = np.array([row[k] for k in info["sites"]])
    np.testing.assert_array_equal(cohort.genotypes, source.genotypes[rows])

    public = source.genotypes[:, group["public"]]
    varies = np.array([len(np.unique(g[g >= 0])) > 1 for g in public])
    assert varies[rows].all()  # every panel site varies among the public people
    assert (info["basis"], info["declared"], info["n_candidates"]) == ("public split", False, int(varies.sum()))
    af = (public > 0).sum(axis=(1, 2)) / (public >= 0).sum(axis=(1, 2))
    maf = np.minimum(af, 1 - af)
    assert info["n_common"] == int((maf[rows] >= 0.05).sum()) and info["n_rare"] == 120 - info["n_common"]
    # 4 public people hold 8 alleles: a site varying among them has a public MAF of at
    # least 1/8, so every eligible site is common and the panel cannot have the 108 rare
    # sites asked for -- the labels are the public people's, whatever the members carry
    assert info["n_public_people"] == 4 and (maf[varies] >= 1 / 8).all() and info["n_common"] == 120
    assert ("asked for 12 common and 108 rare sites; " f"{int(varies.sum())} common and 0 rare are eligible, "
            "so the panel has 120 and 0") in prepared.diagnostics["panel_notes"]
    assert info["common_maf_threshold"] == panel.COMMON_MAF and info["phased"] is True
    assert prepared.diagnostics["n_source_sites"] == source.n_sites
    assert prepared.diagnostics["panel_notes"][0] == (
        f"{source.n_sites - int(varies.sum())} of the source's {source.n_sites} sites do not vary among the "
        "public people and are not eligible")
    # panel.json is public: no member-derived file name, checksum or count
    assert set(info) == {"contig", "basis", "declared", "n_public_people", "n_candidates", "n_sites", "n_common",
                         "n_rare", "common_maf_threshold", "phased", "sites", "site_table"}

    check_coverage(prepared, source, group, rows)
    on_panel = prepared.coverage.set_index("measure")["on the panel"]
    assert on_panel["carried by no public person"] == 0  # such a site never varies among the public people


def check_coverage(prepared, source, group, rows):
    """The coverage table against the source's genotypes (members = train)."""
    member_carriers = (source.genotypes[:, group["train"]] > 0).any(axis=2).sum(axis=1)
    public_carriers = (source.genotypes[:, group["public"]] > 0).any(axis=2).sum(axis=1)
    af = source.alt_frequency()
    rare_member = (member_carriers > 0) & (af < 0.05)
    no_public = rare_member & (public_carriers == 0)
    on = np.zeros(source.n_sites, bool)
    on[rows] = True
    table = prepared.coverage.set_index("measure")
    expected = {"non-reference genotypes": (member_carriers.sum(), member_carriers[on].sum()),
                "rare variant sites": (rare_member.sum(), (rare_member & on).sum()),
                "carried by no public person": (no_public.sum(), (no_public & on).sum())}
    for measure, (at_source, on_panel) in expected.items():
        assert table.loc[measure, "at source sites"] == at_source, measure
        assert table.loc[measure, "on the panel"] == on_panel, measure
        if at_source:
            assert table.loc[measure, "share on the panel"] == pytest.approx(on_panel / at_source), measure


def test_a_failed_rerun_leaves_the_previous_cohort_intact(tmp_path):
    run = rundir.run_path(tmp_path / "run", "smoke")
    ch01_data.prepare(run, ch01_data.DataSpec(source="simulate", seed=1, n_sites=50, sim_samples_per_population=10,
                                              sim_length=300_000), progress=False)
    written = [*(run / "cohort").iterdir(), *(run / "diagnostics").iterdir(), run / "manifest.json"]
    before = {p: rundir.sha256(p) for p in written}
    bad = tmp_path / "broken.vcf.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x04" + b"\x00" * 40)
    with pytest.raises(VCFError, match="broken.vcf.gz"):
        ch01_data.prepare(run, ch01_data.DataSpec(source="vcf", vcf_path=str(bad)), progress=False)
    assert {p: rundir.sha256(p) for p in written} == before
    assert ch01_data.prepare(run, ch01_data.DataSpec(source="simulate", seed=1, n_sites=50,
                                                     sim_samples_per_population=10, sim_length=300_000),
                                  progress=False).reused


# ---------------------------------------------------------------------------- the real panel (data/1000g)

@pytest.fixture(scope="module")
def real_cohort(real_data):
    return read_vcf(real_data["vcf"], populations_path=real_data["populations"], assembly="GRCh37")


def test_real_panel_is_read_with_its_repairs(real_data, real_cohort):
    cohort = real_cohort
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
    assert cohort.samples["population"].nunique() == 26
    # the genotypes agree with htslib's own reading of the file, sample by sample
    checked = 0
    with pysam.VariantFile(str(real_data["vcf"])) as vf:
        for i, rec in enumerate(vf):
            if i % 97 == 0 and "/" not in rec.alts[0]:
                row = cohort.sites.index[(cohort.sites["pos"] == rec.pos) & (cohort.sites["ref"] == rec.ref)
                                         & (cohort.sites["alts"] == rec.alts)][0]
                got = [tuple(rec.samples[s]["GT"]) for s in cohort.sample_ids[:50]]
                assert got == [tuple(g) for g in cohort.genotypes[row, :50].tolist()]
                checked += 1
    assert checked >= 10


def test_real_panel_declared_public_keeps_every_site(tmp_path, real_data, real_cohort):
    """``panel_path`` = the VCF itself (the quick profile): all 998 sites, in the file's
    alleles, labelled by the public people's MAF; the members' coverage is whole."""
    vcf = str(real_data["vcf"])
    kwargs = dict(source="vcf", vcf_path=vcf, populations_path=str(real_data["populations"]), assembly="GRCh37",
                  panel_path=vcf, n_sites=None)
    prepared = ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(**kwargs), progress=False)
    whole, info = real_cohort, prepared.panel
    assert prepared.cohort.n_sites == info["n_sites"] == 998 and prepared.cohort.n_samples == 813
    assert info["sites"] == profiletext.site_keys(whole)  # invariant sites included, file order
    np.testing.assert_array_equal(prepared.cohort.genotypes, whole.genotypes)
    assert (info["basis"], info["declared"], info["n_candidates"]) == ("declared site list", True, None)
    public = whole.subset(sample_index=[whole.sample_ids.index(s) for s in prepared.splits["public"]])
    assert info["n_public_people"] == len(prepared.splits["public"]) == public.n_samples == 81
    assert info["n_common"] == int((public.minor_allele_frequency() >= 0.05).sum())
    assert info["n_common"] + info["n_rare"] == 998 and 0 < info["n_common"] < 998
    assert info["phased"] is True and info["contig"] == {"name": "22", "length": 51_304_566, "assembly": "GRCh37"}
    assert prepared.diagnostics["repairs"] == whole.repairs and prepared.diagnostics["n_source_sites"] == 998
    coverage = prepared.coverage.set_index("measure")
    assert (coverage["on the panel"] == coverage["at source sites"]).all()
    assert (coverage["share on the panel"] == 1.0).all()
    with pysam.VariantFile(str(prepared.paths["vcf"])) as vf:
        assert vf.header.contigs["22"].length == 51_304_566
        multi = [r for r in vf if len(r.alts) > 1]
        assert len(multi) >= 5 and all("/" not in a for r in multi for a in r.alts)
    assert ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(**kwargs), progress=False).reused
    # the population table is part of the inputs: another one (none) rebuilds
    assert not ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(**{**kwargs, "populations_path": None}),
                                 progress=False).reused


def test_two_pass_panel_read_equals_the_in_memory_selection(tmp_path, real_data, real_cohort):
    """From the real file without a declared list: the first pass keeps per-split counts,
    the panel is drawn among the sites that vary among the public people, the second pass
    reads only its genotypes -- the same sites, genotypes, labels and notes as choosing
    from the whole cohort in memory."""
    prepared = ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(source="vcf", vcf_path=str(real_data["vcf"]),
                                                                      populations_path=str(real_data["populations"]),
                                                                      assembly="GRCh37", seed=11, n_sites=150,
                                                                      common_fraction=0.2), progress=False)
    whole = real_cohort
    split = splits.make_splits(whole.samples, 0.15, 0.15, 11, public_fraction=0.1)
    assert prepared.splits == split
    table = panel.site_table(whole, split)
    choice = panel.from_public_split(table, 150, 0.2, 11)
    in_memory = panel.on_sites(whole, table.iloc[choice.index])
    two_pass = prepared.cohort
    assert two_pass.sites.equals(in_memory.sites)
    np.testing.assert_array_equal(two_pass.genotypes, in_memory.genotypes)
    np.testing.assert_array_equal(two_pass.phased, in_memory.phased)
    assert two_pass.samples.equals(in_memory.samples)
    info = prepared.panel
    assert (info["n_sites"], info["n_common"], info["n_rare"]) == (150, choice.n_common, choice.n_rare)
    assert (choice.n_common, choice.n_rare) == (30, 120)
    assert info["n_candidates"] == choice.n_candidates == int(table["polymorphic_public"].sum())
    assert prepared.diagnostics["panel_notes"] == choice.notes
    assert prepared.diagnostics["repairs"] == whole.repairs  # the whole file's repairs, from the first pass
    # a subset of the sites that vary among the public people, labelled by their MAF there
    public = whole.subset(sample_index=[whole.sample_ids.index(s) for s in split["public"]])
    keys = profiletext.site_keys(whole)
    rows = np.array([keys.index(k) for k in info["sites"]])
    assert (public.minor_allele_frequency()[rows] > 0).all()
    assert int((public.minor_allele_frequency()[rows] >= 0.05).sum()) == 30
    index = {s: i for i, s in enumerate(whole.sample_ids)}
    check_coverage(prepared, whole, {k: [index[s] for s in v] for k, v in split.items()}, rows)
    # the reused run reads the same cohort back from its VCF
    again = ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(source="vcf", vcf_path=str(real_data["vcf"]),
                                                                   populations_path=str(real_data["populations"]),
                                                                   assembly="GRCh37", seed=11, n_sites=150,
                                                                   common_fraction=0.2), progress=False)
    assert again.reused
    np.testing.assert_array_equal(again.cohort.genotypes, two_pass.genotypes)
    assert again.cohort.sites[["pos", "ref", "alts"]].equals(two_pass.sites[["pos", "ref", "alts"]])


def test_public_panel_reads_back_without_people(tmp_path, real_data):
    prepared = ch01_data.prepare(tmp_path / "run", ch01_data.DataSpec(source="vcf", vcf_path=str(real_data["vcf"]),
                                                                      populations_path=str(real_data["populations"]),
                                                                      assembly="GRCh37", n_sites=100),
                                                   progress=False)
    public, phased = artefacts.load_panel(tmp_path / "run")
    assert public.n_samples == 0 and phased is True
    assert profiletext.site_keys(public) == prepared.panel["sites"]
    assert public.sites[["pos", "ref", "alts", "id"]].equals(prepared.cohort.sites[["pos", "ref", "alts", "id"]])
    assert public.contig == prepared.cohort.contig
