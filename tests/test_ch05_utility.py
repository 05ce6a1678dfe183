"""The utility chapter's module on a small real run: synthetic cohorts written as VCFs
through the models chapter's writer (pysam), read back and evaluated; the record-level
metrics and plausibility checks on hand-made profiles with known answers; population
labels, TSTR and the rank-based AUC against scikit-learn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_declared_run, make_small_run
from lib.runs import artefacts, comparison, experiments, glossary
from lib.runs.run import Run
from lib.dp import budget
from lib.book import charts
from lib.genetics import popgen
from lib.core import profiles, rundir, scoring
from lib.evaluation import utility
from lib import ch05_utility as chapter


# ----------------------------------------------------------------------------- names

@pytest.mark.parametrize("name, expected", [
    ("mingpt-eps8", ("mingpt", "record", 8.0, "")),
    ("gpt2-epsinf", ("gpt2", "variant", float("inf"), "")),
    ("gpt2-dptransformers-eps8", ("gpt2", "variant", 8.0, "dptransformers")),
    ("mingpt-cliponly-epsinf", ("mingpt", "record", float("inf"), "cliponly")),
    ("mingpt-bpe-epsinf", ("mingpt", "bpe", float("inf"), "")),
    ("mingpt-variant-eps0.5", ("mingpt", "variant", 0.5, "")),
])
def test_model_names_parse_back(name, expected):
    parsed = artefacts.parse_model_name(name)
    assert (parsed["family"], parsed["tokenizer"], parsed["epsilon"], parsed["variant"]) == expected
    assert artefacts.model_name(parsed["family"], parsed["tokenizer"], parsed["epsilon"], parsed["variant"]) == name


@pytest.mark.parametrize("name", ["transformer-eps1", "mingpt", "mingpt-epsx", "mingpt-record-eps1", "gpt2-eps-1"])
def test_a_name_that_is_not_a_model_is_refused(name):
    with pytest.raises(ValueError, match="not a model name|not an epsilon|above 0"):
        artefacts.parse_model_name(name)


# ----------------------------------------------------------------------------- record metrics

MEMBERS = [["22:100:A>G_0|1", "22:200:AT>A_1|1"], ["22:100:A>G_1|1", "22:300:C>CTT_0|1"]]


def test_record_metrics_have_known_answers():
    cohort = [["22:100:A>G_0|1", "22:200:AT>A_1|1", "22:999999999:G>T_0|1"],  # one memorised twice, one far off
              ["22:300:C>CTT_1|0", "22:400:G>A,C_0|2", "nonsense"]]
    out = utility.record_metrics(cohort, frozenset(r for p in MEMBERS for r in p), contig_length=51_304_566)
    assert out["validity"] == pytest.approx(5 / 6)
    assert out["quality"] == pytest.approx(4 / 5)  # 999,999,999 lies beyond chr22
    assert out["memorised"] == pytest.approx(2 / 5) and out["novel"] == pytest.approx(3 / 5)  # 1|0 is not 0|1
    assert out["deletion"] == pytest.approx(1 / 5) and out["insertion"] == pytest.approx(1 / 5)
    assert out["substitution"] == pytest.approx(3 / 5) and out["multi_allelic"] == pytest.approx(1 / 5)
    assert out["record_het"] == pytest.approx(4 / 5) and out["record_hom_alt"] == pytest.approx(1 / 5)
    assert out["record_uniqueness"] == 1.0  # no record is shared between the two people
    shared = [["22:100:A>G_0|1", "22:200:AT>A_1|1"], ["22:100:A>G_0|1"]]
    assert utility.record_uniqueness(shared) == pytest.approx((1 / 2 + 0) / 2)
    empty = utility.record_metrics([["nonsense"]], frozenset(), 100)
    assert empty["validity"] == 0 and np.isnan(empty["memorised"])


def test_plausibility_counts_each_fault(real_data):
    from lib.genomes import profiletext, vcf
    panel = vcf.read_vcf(real_data["vcf"], assembly="GRCh37").subset(site_index=np.arange(20))
    keys = profiletext.site_keys(panel)
    chrom, pos6 = keys[6].split(":")[:2]
    good = [f"{keys[1]}_0|1", f"{keys[3]}_1|1"]
    bad = [f"{keys[5]}_0|1", f"{keys[4]}_0|1",  # the second is out of order
           f"{keys[5]}_1|1",  # the same site again
           f"{chrom}:{pos6}:N>N_0|1",  # a panel position, other alleles
           f"{chrom}:{int(panel.sites['pos'].iloc[-1]) + 1}:A>G_0|1"]  # no panel site there
    out = utility.plausibility([good, bad], panel)
    assert out == {"off_panel": pytest.approx(1 / 7), "wrong_ref": pytest.approx(1 / 7), "bad_genotype": 0.0,
                   "repeated_site": pytest.approx(1 / 7), "unsorted": pytest.approx(1 / 7)}
    assert utility.plausibility([good], panel) == dict.fromkeys(utility.PLAUSIBILITY, 0.0)


# ----------------------------------------------------------------------------- populations, AUC

def structured(n_per: int, n_sites: int, seed: int, people: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three populations whose allele frequencies (drawn from ``seed``, Balding-Nichols-like)
    differ; ``people`` seeds the draw of the people, so that one ``seed`` with two
    ``people`` gives two samples of the same populations."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.05, 0.5, n_sites)
    frequencies = [np.clip(rng.beta(base * 8, (1 - base) * 8), 0.01, 0.99) for _ in range(3)]
    draw = np.random.default_rng([seed, people])
    blocks = [draw.binomial(2, p, size=(n_per, n_sites)).astype(np.int8) for p in frequencies]
    return np.vstack(blocks), np.repeat(["AFR", "EAS", "EUR"], n_per)


def test_population_labels_and_tstr_see_structure():
    reference, ref_labels = structured(30, 300, seed=1)
    test, test_labels = structured(40, 300, seed=1, people=1)  # the same populations, new people
    inferred = popgen.infer_populations(reference, ref_labels, test)
    assert np.mean(inferred == test_labels) > 0.95
    with_structure = popgen.train_synthetic_test_real(test, inferred, reference, ref_labels, n_boot=50)
    shuffled = popgen.shuffle_within_sites(test, seed=2)  # keeps frequencies, destroys structure
    without = popgen.train_synthetic_test_real(
        shuffled, popgen.infer_populations(reference, ref_labels, shuffled), reference, ref_labels, n_boot=50)
    assert with_structure[0] > 0.9 and without[0] < 0.6 and with_structure[1] > without[2]
    assert popgen.weir_cockerham_fst(test, inferred) > 5 * abs(popgen.weir_cockerham_fst(
        shuffled, popgen.infer_populations(reference, ref_labels, shuffled)))
    per = popgen.population_af_agreement(reference, ref_labels, test, inferred)
    assert set(per) == {"AFR", "EAS", "EUR"} and min(per.values()) > 0.8
    one_class = popgen.train_synthetic_test_real(test, np.array(["EUR"] * len(test)), reference, ref_labels, n_boot=20)
    assert one_class[0] == pytest.approx(1 / 3)  # a constant answer: chance


def test_rank_auc_and_balanced_accuracy_equal_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.normal(y * 0.7, 1.0), 1)  # rounded: ties
    assert scoring.roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    truth, predicted = rng.choice(list("abc"), 200), rng.choice(list("abc"), 200)
    assert scoring.balanced_accuracy(truth, predicted) == pytest.approx(balanced_accuracy_score(truth, predicted))
    assert np.isnan(scoring.roc_auc(np.ones(5), np.arange(5)))


def test_aats_counts_ties_half_and_two_draws_sit_near_one_half():
    d, _ = structured(60, 200, seed=4)
    assert popgen.adversarial_accuracy(d, d.copy())["AATS"] == 0.0  # a copy: every synthetic person on a real one
    same = np.repeat(d[:1], 4, axis=0)  # everyone identical: every comparison a tie
    assert popgen.adversarial_accuracy(same, same.copy())["AATS"] == 0.5
    a, b = d[::2], d[1::2]
    value, low, high = popgen.adversarial_accuracy_interval(a, b, n_boot=100)
    assert low <= 0.5 <= high + 0.05 and 0.35 < value < 0.65


def test_linkage_and_hardy_weinberg_summaries():
    p = np.random.default_rng(5).uniform(0.1, 0.9, 200)
    rng = np.random.default_rng(6)
    h = (rng.random((400, 200)) < p).astype(np.int8)
    for j in range(1, 200):  # neighbours copy each other: linkage
        copy = rng.random(400) < 0.8
        h[copy, j] = h[copy, j - 1]
    real = h[0::2] + h[1::2]
    positions = np.arange(1, 201) * 1_000
    assert popgen.ld_decay_distance(real, real, positions, k=5) == 0
    assert popgen.ld_decay_distance(real, popgen.shuffle_within_sites(real, 1), positions, k=5) > 0.1
    assert popgen.hwe_deviation(popgen.independent_sites(real, 500, seed=1)) < 0.1
    two, _ = structured(100, 200, seed=7)  # three populations pooled: the Wahlund effect
    assert popgen.hwe_deviation(two) > 0.2


def test_the_frequency_spectrum_and_its_distance():
    common = np.ones((10, 50), dtype=np.int8)  # every site at frequency 0.5
    rare = np.zeros((10, 50), dtype=np.int8)
    rare[0] = 1  # every site at 0.05: one ALT allele of 20
    assert popgen.frequency_spectrum(common).tolist() == [0, 0, 0, 0, 0, 1]
    assert popgen.frequency_spectrum(rare).tolist() == [0, 0, 1, 0, 0, 0]
    assert popgen.spectrum_distance(common, rare) == 1.0 and popgen.spectrum_distance(rare, rare) == 0.0
    half = np.hstack([common[:, :25], rare[:, :25]])
    assert popgen.spectrum_distance(common, half) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- the chapter on a run

@pytest.fixture(scope="module")
def utility_run(tmp_path_factory):
    """A small simulated run with four synthetic cohorts written by the models chapter's
    writer: a copy of members (``mingpt-epsinf``), people drawn at independent sites
    (``mingpt-eps1``), real validation people (``gpt2-epsinf``) and a broken unconstrained
    cohort (``gpt2-epsinf-unconstrained``)."""
    run = make_small_run(tmp_path_factory.mktemp("ch05"), seed=8, n_sites=60, samples_per_population=16)
    panel, _ = artefacts.load_panel(run)
    n = len(artefacts.load_splits(run)["holdout"])
    members = [list(v) for v in artefacts.split_profiles(run, "train")["variants"]]
    validation = [list(v) for v in artefacts.split_profiles(run, "validation")["variants"]]
    real = artefacts.load_cohort(run)
    train = popgen.dosages(artefacts.split_cohort(real, artefacts.load_splits(run)["train"]))
    independent = popgen.independent_sites(train, n, seed=1)
    from lib.genomes import profiletext
    as_cohort = artefacts.split_cohort(real, artefacts.load_splits(run)["train"][:n])
    as_cohort.genotypes[:] = 0
    as_cohort.genotypes[:, :, 0] = (independent.T >= 1)
    as_cohort.genotypes[:, :, 1] = (independent.T == 2)
    drawn = profiletext.profiles(as_cohort)
    broken = [p[::-1] + ["garbage"] for p in validation[:n]]
    for name, cohort in (("mingpt-epsinf", members[:n]), ("mingpt-eps1", drawn), ("gpt2-epsinf", validation[:n]),
                         ("gpt2-epsinf-unconstrained", broken)):
        experiments.write_synthetic(run, name, cohort, panel, {"summary": {}})
    return run


@pytest.fixture(scope="module")
def evaluated(utility_run):
    return chapter.evaluate_cohorts(utility_run, seed=0, k=5, n_boot=30)


def test_the_catalogue_reads_every_cohort_from_its_name(utility_run):
    found = comparison.catalogue(utility_run).set_index("cohort")
    assert list(found.index) == ["gpt2-epsinf", "gpt2-epsinf-unconstrained", "mingpt-eps1", "mingpt-epsinf"]
    assert found.loc["mingpt-eps1", ["family", "tokenizer", "eps", "decoding"]].tolist() == ["mingpt", "record", "1",
                                                                                           "constrained"]
    assert found.loc["gpt2-epsinf-unconstrained", "decoding"] == "unconstrained"


def test_the_table_frames_every_cohort_by_its_references(utility_run, evaluated):
    table = evaluated["table"]
    assert set(table["cohort"]) == {"gpt2-epsinf", "gpt2-epsinf-unconstrained", "mingpt-eps1", "mingpt-epsinf",
                                    *glossary.REFERENCES}
    assert set(table["metric"]) <= set(utility.METRICS) and {"af_r", "tstr", "memorised", "wrong_ref"} <= set(table["metric"])
    v = table.set_index(["cohort", "metric"])["value"]
    # the copied members are caught by every copying metric, the real strangers are not
    assert v["mingpt-epsinf", "exact_copies"] == 1.0 and v["mingpt-epsinf", "dcr_members"] == 0
    assert v["mingpt-epsinf", "kin_duplicate"] == 1.0 and v["mingpt-epsinf", "memorised"] == 1.0
    assert v["mingpt-epsinf", "near_copies"] == 1.0 and v["gpt2-epsinf", "near_copies"] < 0.5
    assert v["gpt2-epsinf", "exact_copies"] == 0.0 and v["gpt2-epsinf", "dcr_members"] > 0
    # the real validation people written as a VCF and read back are the reference row, exactly
    for metric in ("af_r", "c2st_auc", "fst", "hwe_deviation", "burden"):
        assert v["gpt2-epsinf", metric] == pytest.approx(v[glossary.REAL, metric], nan_ok=True), metric
    # the broken cohort: every record out of order and one malformed per person
    assert v["gpt2-epsinf-unconstrained", "validity"] < 1 and v["gpt2-epsinf-unconstrained", "unsorted"] > 0.3
    assert v[glossary.INDEPENDENT, "ld_decay_distance"] >= 0 and not ("independent sites", "memorised") in v.index
    intervals = table.dropna(subset=["low"])
    assert ((intervals["low"] <= intervals["value"] + 1e-9) & (intervals["value"] <= intervals["high"] + 1e-9)).all()
    written = pd.read_csv(utility_run / "metrics" / "05_utility.csv")
    assert len(written) == len(table) and list(written.columns) == list(table.columns)
    entry = rundir.read_manifest(utility_run)["artefacts"]["metrics/05_utility.csv"]
    assert entry["chapter"] == chapter.CHAPTER and entry["sha256"] == rundir.sha256(utility_run / "metrics" / "05_utility.csv")
    assert entry["params"]["utility_version"] == chapter.UTILITY_VERSION


def test_the_seed_level_table_reads_back_as_it_was_written(utility_run, evaluated):
    read = Run.of(utility_run).table(chapter.SEEDS_NAME)
    pd.testing.assert_frame_equal(read, evaluated["seeds"], check_dtype=False)
    assert chapter.claim_records({"table": evaluated["table"], "seeds": read}, profiles.resolve("smoke")) == \
        chapter.claim_records(evaluated, profiles.resolve("smoke"))


def test_same_seed_same_table(utility_run, evaluated):
    again = chapter.evaluate_cohorts(utility_run, seed=0, k=5, n_boot=30)["table"]
    pd.testing.assert_frame_equal(again, evaluated["table"])


def test_figures_tables_and_sentences_build(utility_run, evaluated):
    table = evaluated["table"]
    wide = chapter.wide_table(table)
    assert "copy of members" in wide.index and "gpt2-epsinf-unconstrained" not in " ".join(wide.index)
    assert chapter.wide_table(table, ["validity"], decoding=None).shape[0] == 6  # independent sites: no records
    frames = {"ld": chapter.ld_decay_frame(evaluated), "positions": chapter.positions_frame(evaluated),
              "burden": chapter.burden_frame(evaluated), "pca": chapter.pca_frame(evaluated),
              "dcr": chapter.dcr_frame(evaluated), "af": chapter.cohort_af_frame(evaluated),
              "eps": chapter.epsilon_frame(table), "classes": chapter.genotype_class_frame(evaluated)}
    assert all(len(f) for f in frames.values())
    for chart in (charts.ld_decay_chart(frames["ld"]), charts.positions_chart(frames["positions"]),
                  charts.burden_chart(frames["burden"]), charts.pca_overlay_chart(frames["pca"]),
                  charts.dcr_chart(frames["dcr"]), charts.af_scatter_chart(frames["af"]),
                  charts.utility_epsilon_chart(frames["eps"], glossary.SHORT_TITLES),
                  charts.genotype_class_chart(frames["classes"])):
        assert chart.to_dict()
    classes = frames["classes"].set_index(["cohort", "class"])
    real = classes.xs("real holdout")
    assert (real["mean"] == real["real"]).all() and len(classes) == 4 * len(classes.index.unique("cohort"))
    # independent sites at the members' frequencies carry about as many of each class as real people
    copied = classes.xs(glossary.INDEPENDENT)
    assert ((copied["low"] <= copied["real"] + 1.5) & (copied["high"] >= copied["real"] - 1.5)).all()
    # by frequency bin: the holdout against itself would sit at 1; the copy of members near it at common sites
    bins = chapter.frequency_bin_frame(evaluated)
    assert set(bins["bin"]) == set(popgen.af_bin_labels()) and set(bins["class"]) == {"het", "hom-ALT"}
    assert charts.frequency_bin_chart(bins).to_dict()
    copied_bins = bins[(bins["cohort"] == glossary.INDEPENDENT) & (bins["bin"] == "≥ 50%")]
    assert ((copied_bins["ratio"] > 0.5) & (copied_bins["ratio"] < 2)).all()
    leaning = chapter.leading_sites_table(evaluated)
    assert np.allclose(leaning.sum(axis=1), 1, atol=0.02) and "share of sites" in leaning.index
    mixing = chapter.population_mixing_table(evaluated)
    assert mixing["top posterior"].between(0, 1).all() and mixing["population mix distance"].between(0, 1).all()
    named = chapter.labels(evaluated["table"])  # tag agreement: the real people's own labels; none without tags
    assert 0 <= mixing.loc[named.get(glossary.REAL, glossary.REAL), "tag agreement"] <= 1
    assert np.isnan(mixing.loc[named.get(glossary.INDEPENDENT, glossary.INDEPENDENT), "tag agreement"])
    copy = frames["dcr"][frames["dcr"]["panel"] == "minGPT ε=∞"]
    member_hist = copy[copy["to"] == "closest member"]
    assert member_hist["people"].iloc[0] == member_hist["people"].sum()  # every copy at distance 0
    settings = profiles.resolve("smoke")
    structure = chapter.structure_references(evaluated, n_boot=20)
    numbers = chapter.numbers(evaluated, settings, 1.0, structure)
    assert numbers["gpt2_low_eps"] == "–" and numbers["mingpt_low_eps"] == "1"
    assert numbers["copy_exact_copies"] == "100.0%" and numbers["n_synthetic"] == "4"
    said = chapter.claims(evaluated, settings)
    keys = {"dp_claim", "identical_claim", "size_claim", "memorisation_claim", "baseline_claim"}
    assert set(said) == keys | {f"{k}_rule" for k in keys}  # every verdict with the rule that read it
    assert "cannot be tested" in said["size_claim"] and "comparisons" in said["dp_claim"]
    assert chapter.metric_glossary().index.tolist() == list(utility.METRICS)


def test_the_seeds_of_a_setting_are_averaged_with_their_spread(evaluated):
    """A setting trained with several seeds is one row of the seed-level table: the mean
    over seeds, an interval wider than one model's when the seeds disagree, every seed's
    value kept; a setting of one model keeps that model's own interval."""
    table = evaluated["table"]
    assert glossary.cohort_setting("mingpt-eps1-seed1") == "mingpt-eps1"
    assert glossary.cohort_setting("gpt2-epsinf-unconstrained") == "gpt2-epsinf-unconstrained"
    one = table[table["cohort"] == "mingpt-eps1"]
    twin = one.assign(cohort="mingpt-eps1-seed1", seed=1, value=one["value"] + 0.05, low=one["low"] + 0.05,
                      high=one["high"] + 0.05)
    seeds = chapter.seed_table(pd.concat([table, twin], ignore_index=True))
    row = seeds[(seeds["setting"] == "mingpt-eps1") & (seeds["metric"] == "af_r")].iloc[0]
    first = one[one["metric"] == "af_r"].iloc[0]
    assert row["n_seeds"] == 2 and row["value"] == pytest.approx(first["value"] + 0.025)
    assert row["high"] - row["low"] > first["high"] - first["low"]  # the seeds disagree: wider
    assert [float(v) for v in row["seed_values"].split()] == pytest.approx([first["value"], first["value"] + 0.05])
    single = seeds[(seeds["setting"] == "gpt2-epsinf") & (seeds["metric"] == "af_r")].iloc[0]
    own = table[(table["cohort"] == "gpt2-epsinf") & (table["metric"] == "af_r")].iloc[0]
    assert single["n_seeds"] == 1 and (single["low"], single["high"]) == (own["low"], own["high"])
    assert "minGPT ε=1 (2 seeds)" in chapter.wide_table(seeds).index
    estimate = chapter.estimate(seeds, "mingpt-eps1", "af_r")
    assert estimate.n == 2 and estimate.value == pytest.approx(row["value"])


def test_bcftools_stats_beside_the_real_holdout(utility_run):
    table = chapter.bcftools_table(utility_run, ["mingpt-epsinf"])
    assert table.index.tolist() == ["real holdout", "mingpt-epsinf"]
    assert (table["people"] == len(artefacts.load_splits(utility_run)["holdout"])).all()
    assert (table["het sites per person"] > 0).all()


def test_bad_requests_are_refused_before_work(utility_run, tmp_path):
    with pytest.raises(ValueError, match="not-a-cohort"):
        chapter.evaluate_cohorts(utility_run, cohorts=["not-a-cohort"])
    with pytest.raises(FileNotFoundError, match="no synthetic cohort"):
        comparison.catalogue(tmp_path)


def test_without_public_people_the_population_metrics_are_empty(tmp_path):
    """A run with no public split (a practitioner's cohort): nothing to infer a synthetic
    person's population from, so TSTR, Fst and the per-population frequencies are NaN and
    everything else is computed."""
    run = rundir.run_path(tmp_path / "run", "smoke")
    make_declared_run(run, seed=9, n_sites=40, samples_per_population=12, sim_length=300_000, public_fraction=0.0)
    assert artefacts.load_splits(run).get("public", []) == []
    panel, _ = artefacts.load_panel(run)
    n = len(artefacts.load_splits(run)["holdout"])
    members = [list(v) for v in artefacts.split_profiles(run, "train")["variants"]]
    experiments.write_synthetic(run, "mingpt-eps8", members[:n], panel, {"summary": {}})
    result = chapter.evaluate_cohorts(run, n_boot=10, k=3)
    v = result["table"].set_index(["cohort", "metric"])["value"]
    assert np.isnan(v["mingpt-eps8", "tstr"]) and np.isnan(v["mingpt-eps8", "fst"])
    assert v["mingpt-eps8", "exact_copies"] == 1.0 and v["mingpt-eps8", "af_r"] > 0.5
    assert np.isnan(chapter.structure_references(result)["trtr"][0])
    assert len(chapter.pca_frame(result)) and chapter.numbers(result, profiles.resolve("smoke"), 1.0,
                                                              chapter.structure_references(result))["trtr"] == "–"


def _seeded(values: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """A seed-level table (:func:`lib.ch05_utility.seed_table`) of constrained settings
    from each setting's per-seed values of each metric (a half-width 0.01 bootstrap each)."""
    rows = []
    for setting, metrics in values.items():
        parsed = artefacts.parse_model_name(setting)
        for metric, seeds in metrics.items():
            for k, v in enumerate(seeds):
                rows.append({"cohort": setting + (f"-seed{k}" if k else ""), "setting": setting, "seed": k,
                             "kind": "synthetic", "family": parsed["family"], "tokenizer": parsed["tokenizer"],
                             "variant": "", "epsilon": parsed["epsilon"], "eps": budget.label(parsed["epsilon"]),
                             "decoding": "constrained", "group": "", "metric": metric, "value": v, "low": v - 0.01,
                             "high": v + 0.01})
    return chapter.seed_table(pd.DataFrame(rows))


def test_the_baseline_claim_can_hold_fail_or_be_untold():
    """"At the same ε the private language model gives more useful cohorts than the private
    baselines": judged per ε on the declared metrics (a two-sample AUC by its distance from
    0.5), Bonferroni over the comparisons, by the majority rule; each outcome is reachable,
    and the evidence says which metrics each side wins."""
    def claim(model_af, sites_af, model_auc, sites_auc):
        seeds = _seeded({"mingpt-eps8": {"af_r": model_af, "c2st_auc": model_auc},
                         "sites-eps8": {"af_r": sites_af, "c2st_auc": sites_auc}})
        return chapter._baseline_claim(seeds)

    wins = claim([0.95, 0.96, 0.95], [0.80, 0.81, 0.80], [0.60, 0.61, 0.60], [0.90, 0.91, 0.90])
    assert wins.verdict == "holds"
    assert "the model wins on Allele-frequency r, Two-sample AUC" in wins.evidence
    assert "Bonferroni over the 2 comparisons" in wins.rule and "distance from 0.5" in wins.rule
    loses = claim([0.80, 0.81, 0.80], [0.95, 0.96, 0.95], [0.60, 0.61, 0.60], [0.60, 0.61, 0.60])
    assert loses.verdict == "does not hold" and "the baseline on Allele-frequency r" in loses.evidence
    # seeds that disagree: nothing can be told apart
    noisy = claim([0.95, 0.70, 0.90], [0.85, 0.80, 0.90], [0.60, 0.80, 0.55], [0.70, 0.62, 0.66])
    assert noisy.verdict == "cannot be told at this scale"
    effects = chapter.baseline_effect(_seeded({"mingpt-eps8": {"af_r": [0.9, 0.9]}, "mst-eps8": {"af_r": [0.5, 0.5]},
                                               "mingpt-eps1": {"af_r": [0.9, 0.9]}}))
    assert effects[["eps", "model", "baseline", "verdict"]].values.tolist() == [["8", "minGPT", "MST", "better"]]
    shown = chapter.format_baseline_effect(effects)
    assert shown["wins"].tolist() == ["model"] and shown["baseline"].tolist() == ["MST"]
    # no baseline at the model's ε: untold
    alone = chapter._baseline_claim(_seeded({"mingpt-eps8": {"af_r": [0.9, 0.9]}, "sites-eps1": {"af_r": [0.9, 0.9]}}))
    assert alone.verdict == "cannot be told" and "no private baseline" in alone.evidence
    # a baseline is named as what it is in every table
    assert chapter.cohort_label({"kind": "synthetic", "family": "mst", "tokenizer": "", "variant": "", "eps": "3",
                                 "decoding": "constrained", "seed": 1}) == "MST ε=3, seed 1"


def test_the_realism_goals_can_be_met_missed_or_not_apply():
    """Each criterion of the goals for synthetic people is judged on a setting's seed mean
    against the real validation people, independent sites or the private baselines at the
    same ε: a setting that matches real people meets its goals, one that does not misses
    them, and the references and baselines get numbers without a verdict."""
    real = {"c2st_auc": [0.5], "c2st_trees_auc": [0.5], "tstr": [0.76], "fst": [0.1], "hwe_deviation": [0.12],
            "rare_het": [4.0], "rare_hom_alt": [0.5], "ld_decay_distance": [0.004]}
    good = {"c2st_auc": [0.55, 0.57], "c2st_trees_auc": [0.58, 0.56], "tstr": [0.7, 0.7], "fst": [0.1, 0.11],
            "hwe_deviation": [0.13, 0.14], "rare_het": [4.2, 4.0], "rare_hom_alt": [0.5, 0.6],
            "ld_decay_distance": [0.005, 0.005]}
    bad = {"c2st_auc": [0.99, 0.98], "c2st_trees_auc": [0.99, 0.99], "tstr": [0.2, 0.2], "fst": [0.01, 0.01],
           "hwe_deviation": [0.5, 0.5], "rare_het": [20.0, 21.0], "rare_hom_alt": [5.0, 5.0],
           "ld_decay_distance": [0.02, 0.02]}
    seeds = _seeded({"mingpt-epsinf": good, "gpt2-eps8": bad, "mingpt-eps1": good, "sites-eps1": bad})
    references = _seeded({"mingpt-eps3": real, "gpt2-eps3": dict(real, ld_decay_distance=[0.007])})
    references["setting"] = references["setting"].map({"mingpt-eps3": glossary.REAL, "gpt2-eps3": glossary.INDEPENDENT})
    references["kind"] = "reference"
    goals = chapter.realism_goals(pd.concat([seeds, references], ignore_index=True)).set_index(["setting", "criterion"])
    assert goals.loc["mingpt-epsinf", "met"].tolist() == [True] * 7
    assert goals.loc["gpt2-eps8", "met"].tolist() == [False] * 7
    at_one = goals.loc["mingpt-eps1"]  # judged against the baseline at ε = 1, no goal for Fst, HWE, LD
    assert at_one.loc["two-sample AUC, linear", "met"] and at_one.loc["TSTR", "met"]
    assert at_one.loc["Fst / real Fst", "met"] is None and at_one.loc["LD-decay distance", "goal"] == ""
    assert goals.loc["sites-eps1", "met"].isna().all() and goals.loc[glossary.REAL, "met"].isna().all()
    assert goals.loc[("gpt2-eps8", "rare-site genotypes / person"), "value"] == pytest.approx(25.5)
    shown = chapter.format_realism_goals(goals.reset_index())
    assert shown.loc["mingpt-epsinf", "TSTR"] == "0.700 ✓" and shown.loc["gpt2-eps8", "TSTR"] == "0.200 ✗"
    assert list(shown.columns) == list(chapter.REALISM_CRITERIA) and chapter.realism_goal_text().shape == (3, 7)
    assert chapter.realism_met_text(goals.reset_index()) == "ε = ∞: 7 of 7; ε = 8: 0 of 7; ε = 1: 4 of 4"
    assert chapter.realism_met_text(goals.reset_index().assign(met=None)) == "no goals judged"
