"""Write book/05_utility.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_05_utility.py`` after editing and commit both files.
"""
from notebooks import code, md, write

HIDE = {"tags": ["hide-input"]}

cells = [
md("""# Utility: how real are the synthetic cohorts?

The previous chapters trained minGPT and GPT-2 with and without differential privacy and
had every model write a synthetic cohort. This chapter asks how much of real genetics
those cohorts keep. A geneticist would check a cohort for:

- **allele frequencies**: how common each variant is;
- **genotypes**: whether heterozygous and homozygous calls come in the proportions
  Hardy–Weinberg predicts;
- **linkage**: whether neighbouring variants are inherited together as they are in real
  chromosomes;
- **population structure**: whether the people still cluster by ancestry;
- **distances between people**: whether a synthetic person is a new person or a copy of a
  member.

Every cohort is compared with the real **holdout** people, whom no model saw. Four
**reference cohorts** of the same size frame each table:

- **real (validation)**: real people never trained on. This is what a perfect generator
  reaches, sampling noise included.
- **independent sites**: every site is drawn on its own at the members' allele frequency.
  This is the dissertation's "random model": it keeps the allele frequencies and destroys
  linkage and structure.
- **independent sites (public people)**: the same, at the *public* people's allele
  frequencies. It uses no member and spends no ε: what a private cohort must beat for its
  budget to have bought anything.
- **copy of members**: members resampled. Its utility is perfect and it gives no privacy.
  The privacy chapter puts it at the other end of the frontier.

**Outside the guarantee.** Every number here is an *evaluation* computed on real people,
the members included, since a copying metric has to look at the members. None of it is
released with a model, and ε covers none of it. Each synthetic person carries the
population tag it was prompted with (drawn in the public people's proportions). Where a
metric needs a population label, a classifier trained on the *public* people (who are
public by definition) infers it, the same way for every cohort and reference; whether a
synthetic person looks like the population of their tag is measured on its own (`tag
agreement` below)."""),
md("""## Parameters

`n_boot` is the number of bootstrap resamples behind each 95% interval. `ld_neighbours`
is how many following sites each site is paired with for linkage. `cohorts` is a list of
synthetic cohort names to evaluate (`None` evaluates every cohort in `synthetic/`)."""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>
seed = 42
n_boot = 200               # bootstrap resamples per interval
ld_neighbours = 20         # each site's next sites paired for r²
cohorts = None             # None: every synthetic cohort of the run""", metadata={"tags": ["parameters"]}),
code("""import logging
import time

import pandas as pd

from lib import ch05_utility as chapter
from lib.core import profiles
from lib.runs import comparison, glossary
from lib.runs.run import Run
from lib.book import charts, figures

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
figures.enable()
pd.set_option("display.max_colwidth", 200)  # the glossary's descriptions in full
run = Run.at(run_dir, profile)
settings = profiles.resolve(profile)
print(f"profile={profile} run directory: {run}")""", metadata=HIDE),
md("""## The cohorts

The run holds {glue:text}`n_synthetic` synthetic cohorts: both families at every ε, the
clip-only runs (DP-SGD's clipping without its noise), GPT-2 through dp-transformers, the
minGPTs on the variant and text (BPE) tokenizers, each once under constrained decoding
(every record valid for the public panel) and once unconstrained; and the constrained
cohorts of the grid's further training seeds, {glue:text}`n_seeds` per setting in all. Each
holds {glue:text}`n_holdout` people, as many as the holdout, on the panel's
{glue:text}`n_sites` sites. The table names each cohort's setting, training seed, family,
tokenizer, ε and decoding, all read from its file name.

**Seeds and intervals.** A setting trained with several seeds is reported as the mean over
its seeds, and its interval is built as follows: {glue:text}`seed_interval_rule`. The first
part is the luck of training, the second the luck of the people the models are evaluated
on. With {glue:text}`n_seeds` seeds the first part is wide (Student's t with
{glue:text}`n_seeds` − 1 degrees of freedom): that width is the honest price of a few
training runs. The tables give these seed-level numbers; the charts show every seed's own
value beside the mean. The per-cohort numbers, one row per seed, are in
`metrics/05_utility.csv`; the seed-level ones in `metrics/05_utility_seeds.csv`."""),
code("""comparison.catalogue(run).set_index("cohort")""", metadata=HIDE),
md("""## Every metric, every cohort

Every metric of `lib.genetics.popgen` and `lib.evaluation.utility` runs on every cohort (the test suite checks
those that scikit-allel {cite:p}`miles2024` also computes against it). The results go into
one tidy table, `metrics/05_utility.csv`: one row per cohort and metric, with the family,
tokenizer, ε, decoding, value and a bootstrap 95% interval where one is computed. The
evaluation took {glue:text}`utility_seconds` s. Below, the headline metrics of the
constrained cohorts are shown with their intervals (the glossary at the end of the chapter
defines every metric):

- **allele-frequency r**: the correlation of per-site ALT frequencies with the holdout's;
- **LD-decay distance**: how far the cohort's linkage-against-distance curve lies from the
  holdout's;
- **two-sample AUC** {cite:p}`lopezpaz2017`: how well a classifier tells the cohort's
  people from real ones (0.5: it cannot), twice: a *linear* classifier on the dosages, which
  sees allele frequencies and little else, and *gradient-boosted trees* on the dosages and
  the public people's principal components, which can also see linkage (sites that go
  together) and population structure;
- **AATS** {cite:p}`yale2020`: nearest-neighbour adversarial accuracy (0.5: synthetic and
  real people are as close to each other as to their own kind);
- **TSTR** {cite:p}`esteban2017`: a population classifier trained on the cohort and tested
  on the real holdout;
- **variants per person**."""),
code("""started = time.perf_counter()
result = chapter.evaluate_cohorts(run, seed=seed, k=ld_neighbours, n_boot=n_boot, cohorts=cohorts)
seconds = time.perf_counter() - started
chapter.wide_table(result["seeds"])""", metadata=HIDE),
md("""The reference rows show what each number can be. Real people never trained on reach an
allele-frequency r of {glue:text}`real_af_r`, a two-sample AUC of {glue:text}`real_c2st_auc`
and an AATS of {glue:text}`real_aats`. These are the best a generator can hope for at this
size, and they are not exactly 1 or 0.5 because two samples of {glue:text}`n_holdout` people differ.
The AATS interval holds each person's nearest neighbours fixed, so it understates how much
AATS varies from one sample of real people to another.
Independent sites match the frequencies just as well (r = {glue:text}`independent_af_r`),
which is why allele frequencies alone say little. Their linkage is gone (LD-decay distance
{glue:text}`independent_ld_decay_distance`, against {glue:text}`real_ld_decay_distance` for
real people), and so is their structure (TSTR {glue:text}`independent_tstr`).

## Utility against ε

Each family's constrained cohort along the ε grid, from the most private to ∞, with the
clip-only run beside ∞. Vertical bars are 95% intervals; horizontal lines are the
reference cohorts."""),
code("""structure = chapter.structure_references(result, n_boot=n_boot, seed=seed)
figures.glue_numbers(chapter.numbers(result, settings, seconds, structure))
figures.glue_numbers(chapter.claims(result, settings))
charts.utility_epsilon_chart(chapter.epsilon_frame(result["table"], seeds=result["seeds"]), glossary.SHORT_TITLES)""", metadata=HIDE),
md("""Without privacy, GPT-2's allele-frequency r is {glue:text}`gpt2_inf_af_r` and its
two-sample AUC {glue:text}`gpt2_inf_c2st_auc`; the minGPT's are {glue:text}`mingpt_inf_af_r`
and {glue:text}`mingpt_inf_c2st_auc`. At the most private budget (ε =
{glue:text}`gpt2_low_eps`), the allele-frequency r is {glue:text}`gpt2_low_af_r` for GPT-2
and {glue:text}`mingpt_low_af_r` for the minGPT. The two-sample AUC there is
{glue:text}`gpt2_low_c2st_auc` and {glue:text}`mingpt_low_c2st_auc` (0.5: a classifier
cannot tell the cohort from real people; 1: it tells every person apart), and TSTR is
{glue:text}`gpt2_low_tstr` and {glue:text}`mingpt_low_tstr` (real people never trained
on: {glue:text}`real_tstr`).

## What the budget buys: language models against private baselines

A reviewer from the field of private synthetic data asks first whether a far simpler
mechanism, spending the same (ε, δ) on the same members, gives cohorts as useful. The
private training chapter released two at every ε of the grid, each at every training seed:
**private independent sites** (every site's genotype counts under the Gaussian mechanism,
sampled site by site) and **MST** {cite:p}`mckenna2021` (noisy one-way counts, a spanning
tree of site pairs chosen by the exponential mechanism, noisy two-way counts of its edges,
sampled down the tree). Both turn their noisy counts into shares after combining them with
the public people's shares by inverse variance (post-processing, no ε): clipping noisy
counts at zero on their own turns the noise on every rare genotype into a genotype that
people carry, tens of them per person at these budgets. They appear above as two more
panels of each figure. At the most
private budget (ε = {glue:text}`gpt2_low_eps`) private independent sites reach an
allele-frequency r of {glue:text}`sites_low_af_r` and MST {glue:text}`mst_low_af_r`; their
two-sample AUCs are {glue:text}`sites_low_c2st_auc` and {glue:text}`mst_low_c2st_auc`, their
TSTR {glue:text}`sites_low_tstr` and {glue:text}`mst_low_tstr`.

The claim this book adds, judged like the others by a rule fixed before any cohort was
scored, on the metrics of the DP claim: *at the same ε, the private language model gives
more useful cohorts than the private baselines*: {glue:text}`baseline_claim`. The rule:
{glue:text}`baseline_claim_rule`. The table gives every comparison, the model's value
against the baseline's (mean over training seeds, seed-level 95% interval) and which is
better by the Bonferroni-corrected interval of the difference ("–": neither can be told
apart)."""),
code("""chapter.format_baseline_effect(chapter.baseline_effect(result["seeds"]))""", metadata=HIDE),
md("""## Allele frequencies

Each site's ALT allele frequency in a cohort against the holdout's, for each family's
non-private cohort and its most private one, and for the two reference cohorts that matter
here. The column `afs_distance` in the table below compares the allele-frequency spectra:
the share of sites in each frequency bin (0–1%, 1–5%, 5–10%, 10–20%, 20–50%, 50–100%),
by total-variation distance. The bcftools table at the end of the chapter gives the same
spectrum as bcftools counts it."""),
code("""charts.af_scatter_chart(chapter.cohort_af_frame(result), reference="holdout")""", metadata=HIDE),
md("""The frequencies within each super-population test more than the pooled ones. A
synthetic cohort can match the pooled frequency by mixing ancestries in the wrong way, and
then fail within each population. The column `af_r_population` is the mean over
super-populations of the correlation between the real holdout people of that population
and the synthetic people labelled with it. Those labels come from the public classifier,
which labels real holdout people correctly with balanced accuracy {glue:text}`labeller`."""),
code("""chapter.wide_table(result["seeds"], ["af_r", "af_r_population", "af_mad", "af_wasserstein", "afs_distance",
                                      "genotype_kl"])""",
     metadata=HIDE),
md("""## Genotypes

Real cohorts of several populations fail the Hardy–Weinberg exact test
{cite:p}`wigginton2005` more often than 5% of sites, because mixing populations creates an
excess of homozygotes (the Wahlund effect): {glue:text}`real_hwe_deviation` of the real
validation people's sites fail it. A cohort whose sites are drawn independently fails it at
about the test's level or below ({glue:text}`independent_hwe_deviation`). The non-private
cohorts fail it at {glue:text}`gpt2_inf_hwe_deviation` (GPT-2) and
{glue:text}`mingpt_inf_hwe_deviation` (minGPT), and the most private ones at
{glue:text}`gpt2_low_hwe_deviation` and {glue:text}`mingpt_low_hwe_deviation`. A share far
above the real one means genotypes in proportions that no mixture of the real populations
gives. The inbreeding coefficient F compares each person's heterozygosity with what the
holdout's frequencies predict."""),
code("""chapter.wide_table(result["seeds"], ["hwe_deviation", "heterozygosity", "het_f", "share_hom_alt", "mean_af"])""",
     metadata=HIDE),
md("""## Linkage

Neighbouring variants are inherited together, so their genotypes correlate (r²), and the
correlation fades with distance. The curves give the mean r² of site pairs by distance,
with bins chosen from the panel's positions alone so that each holds about as many pairs.
The LD-decay distance in the tables is the mean gap between a cohort's curve and the real
holdout's. When the panel's sites are tens of kilobases apart and mostly rare, as in the
quick profile's 998-site panel, r² is small at every distance and the curves are noisy;
the full profile's 10,000-site panel resolves linkage better."""),
code("""charts.ld_decay_chart(chapter.ld_decay_frame(result))""", metadata=HIDE),
code("""chapter.wide_table(result["seeds"], ["ld_decay_distance", "ld_r2_mad"])""", metadata=HIDE),
md("""## Population structure

The principal components {cite:p}`patterson2006` are fit on the real holdout only, and every
cohort is projected onto them (the dissertation fit a separate PCA per cohort, whose axes
cannot be compared). Real people are coloured by super-population; the crosses are the
cohort's people; each axis gives the share of the holdout's variance its component explains.
The real holdout's Fst {cite:p}`weir1984` between super-populations is
{glue:text}`holdout_fst`. With labels inferred by the public classifier, the real validation
people reach {glue:text}`real_fst`, the non-private GPT-2 {glue:text}`gpt2_inf_fst` and the
minGPT {glue:text}`mingpt_inf_fst`.

TSTR trains a population classifier on the synthetic people (with their inferred labels)
and tests it on the real holdout. The classifier finds its features in the cohort it is
trained on (the cohort's own top principal components), so a cohort without structure
leaves it near chance, one over the number of super-populations: independent sites reach
{glue:text}`independent_tstr`. Trained on the real members instead, with their true
labels, it reaches {glue:text}`trtr`. Real people never trained on, labelled by the same
public classifier, reach {glue:text}`real_tstr`: that is the ceiling the inferred labels
leave."""),
code("""charts.pca_overlay_chart(chapter.pca_frame(result))""", metadata=HIDE),
md("""The two two-sample tests read against the reference rows: real people never trained on
score {glue:text}`real_c2st_auc` (linear) and {glue:text}`real_c2st_trees_auc` (trees);
independent sites, which keep every allele frequency and nothing else,
{glue:text}`independent_c2st_auc` and {glue:text}`independent_c2st_trees_auc`. What the trees
catch and the linear model misses is what a cohort gets wrong beyond the frequencies."""),
code("""chapter.wide_table(result["seeds"], ["fst", "tstr", "c2st_auc", "c2st_trees_auc"])""", metadata=HIDE),
md("""## What tells a synthetic person from a real one

The linear two-sample test catches nearly every private cohort. Before asking how to make the
people more real, this section asks what gives them away. Four numbers per person, the
heterozygous and homozygous-ALT genotypes a person carries at the sites that are rare among
the real holdout people (ALT frequency below 5%) and at the others, are the features of a
second linear test, `c2st_classes_auc`. Where its AUC comes near the test on every site's
dosage, what tells a cohort apart is *how many* genotypes of each class its people carry,
not which. The real validation people score {glue:text}`real_c2st_classes_auc` on it;
independent sites at the members' frequencies {glue:text}`independent_c2st_classes_auc`. A
real holdout person carries {glue:text}`holdout_rare_het` heterozygous and
{glue:text}`holdout_rare_hom_alt` homozygous-ALT genotypes at rare sites; the most private
cohorts {glue:text}`gpt2_low_rare_het` and {glue:text}`gpt2_low_rare_hom_alt` (GPT-2),
{glue:text}`mingpt_low_rare_het` and {glue:text}`mingpt_low_rare_hom_alt` (minGPT),
{glue:text}`sites_low_rare_het` and {glue:text}`sites_low_rare_hom_alt` (private
independent sites). Noise spreads probability over the rare genotypes of the vocabulary (and,
for the counting baselines, a noisy count clipped at zero is biased upwards), and the
allele-frequency r, dominated by common sites, does not see it.

AATS has two halves, and its ideal, 0.5, is also what two failures average to: every real
person closer to another real one (AA_T = 1) while every synthetic person sits closer to a
real one than to any of their own kind (AA_S = 0). The table gives both halves beside
AATS, and `aats_balance`, how far the two halves are from 0.5 each ((|AA_T − 0.5| +
|AA_S − 0.5|) / 2, 0 best). The chapter's two utility claims read AATS by this balance: first
declared, they read it by its distance from the real people's AATS, which rewards exactly
those two failures. On AATS as first declared, the DP claim would read
"{glue:text}`dp_claim_first`" and the baseline claim "{glue:text}`baseline_claim_first`"."""),
code("""charts.genotype_class_chart(chapter.genotype_class_frame(result))""", metadata=HIDE),
md("""The same counts, split finer by how common the site is among the real holdout people, each
as a multiple of what a real holdout person carries there. A line above the rule at the
rarest sites (below 1%) is a cohort writing genotypes real people do not carry (noise flattens
a model's distribution, and a noisy count clipped at zero is biased upwards); a line below it
at the common sites (above 50%) is a cohort leaving out genotypes nearly every real person
carries (a sparse profile that spends its records on rare sites has fewer left for them)."""),
code("""charts.frequency_bin_chart(chapter.frequency_bin_frame(result))""", metadata=HIDE),
md("""Where the linear two-sample test leans: the share of its absolute weights on the sites of
each frequency bin, fit on every person of the cohort and the real holdout (the first row is
each bin's share of the sites: an even spread). A test that leans on the rarest sites is
counting genotypes real people do not carry; one that leans on the common sites is counting
genotypes a cohort leaves out."""),
code("""chapter.leading_sites_table(result)""", metadata=HIDE),
md("""Do synthetic people belong to one population? A population classifier fit on the real
holdout people gives each person a posterior over the five super-populations. A
synthetic person who mixes the variants of several populations gets a flatter posterior
(`unassigned`: the share below 0.5), and a cohort whose people are assigned in the wrong
proportions has a large `population mix distance` (total variation from the holdout's).
`tag agreement` is the share of synthetic people the classifier assigns to the population of
their tag: what the tag makes of a person (for the real people, their own population: the
classifier's accuracy). Real people it never saw (the validation people, `real`) are the
yardstick: their posteriors are what a cohort of real people reaches, not 1."""),
code("""chapter.population_mixing_table(result)""", metadata=HIDE),
md("""### Do synthetic people pass for real? The goals

What a geneticist would need before using a synthetic cohort in place of real people, set per
budget: near the real people without privacy, close at ε = 8, and better than the private
baselines at the same smaller budget. Each criterion is judged on a setting's mean over its
training seeds, against the real validation people (`real`: the two-sample tests and TSTR
are scored against the holdout, so real people's own values are what a perfect cohort
reaches), independent sites or the private baselines at the same ε. The private cohorts are
sampled at the decoding chosen on the validation people (chapter 04, "How the private models
are sampled"); the non-private ones at temperature 1."""),
code("""chapter.realism_goal_text()""", metadata=HIDE),
md("""Measured (✓ met, ✗ missed; the references and the private baselines without a verdict):"""),
code("""goals = chapter.realism_goals(result["seeds"])
figures.glue_numbers({"realism_met": chapter.realism_met_text(goals)})
chapter.format_realism_goals(goals)""", metadata=HIDE),
md("""Goals met, per budget: {glue:text}`realism_met`. Three levers are in the runs above.
Every model reads the person's population tag after the start token, and synthetic people are
prompted with tags in the public people's proportions (chapter 03). Without privacy the tag is
what gives the models their population structure (an earlier run of this profile without
tags, not this run, gave the non-private models a lower TSTR and Fst); under DP-SGD the
private models barely learn it, as their `tag agreement` above shows. Two levers cost no privacy: the
decoding temperature and a prior from a model trained on public people only, mixed into the
private model's next-token distribution (chapter 04). They bring the private models' genotypes
at rare sites from several times the real count towards it and lower the linear two-sample AUC,
but a private person still carries too few of the genotypes that nearly every real person
carries and too little population structure, and the trees still find them.

Three more levers were tried outside the book and not kept. Starting the private model from
the public model: the noise undoes the prior within an epoch, and the budget stops training
early. Spending a little more ε on ten private numbers (the members' mean heterozygous and
homozygous-ALT genotypes per person in five bins of the public allele frequency) and biasing
what the model writes towards them: the genotype counts at rare sites come right, the
two-sample AUC does not move. What the linear test reads is the allele frequency at each
site, and there the private models are further from the real people than the public people
are: independent sites at the public people's frequencies, which use no member and no ε, are
caught less often than any private language model (the reference rows above).
Keeping site and genotype apart (the private minGPT on the variant tokenizer, a site token
then a genotype token, instead of one token per record): under the same budget and settings
its allele frequencies were further from the real ones and the linear two-sample test caught
it at every temperature and prior weight of the decoding grid."""),
code("""chapter.wide_table(result["seeds"], ["c2st_auc", "c2st_classes_auc", "rare_het", "rare_hom_alt", "aats", "aa_t",
                                      "aa_s", "aats_balance"])""", metadata=HIDE),
md("""## Positions along the chromosome

How many variants a person carries in each megabase of chromosome 22: a model that has
learnt where variants are dense puts them there."""),
code("""charts.positions_chart(chapter.positions_frame(result))""", metadata=HIDE),
md("""`position_mad` is the mean gap, over the megabase bins, between a cohort's curve and the
real holdout's."""),
code("""chapter.wide_table(result["seeds"], ["position_mad", "burden"])""", metadata=HIDE),
md("""## Variants per person

The spread of the number of non-reference sites a person carries (the real holdout:
{glue:text}`holdout_burden` on average). A cohort can have the right mean and the wrong
spread."""),
code("""charts.burden_chart(chapter.burden_frame(result))""", metadata=HIDE),
md("""## Distances, copies and relatives

A synthetic person who sits closer to the members than to people the model never saw has
been copied, not generated. For each synthetic person the figure gives the distance
(alleles that differ) to the closest member and to the closest holdout person. The members
are {glue:text}`members_ratio` times as many as the holdout, so even real strangers sit a little closer to the
closest member: real validation people are {glue:text}`real_dcr_members` alleles from the
closest member and {glue:text}`real_dcr_holdout` from the closest holdout person (medians).
The non-private GPT-2's people are {glue:text}`gpt2_inf_dcr_members` and
{glue:text}`gpt2_inf_dcr_holdout`, and the minGPT's {glue:text}`mingpt_inf_dcr_members` and
{glue:text}`mingpt_inf_dcr_holdout`. Exact copies of a member: {glue:text}`gpt2_inf_exact_copies`
(GPT-2) and {glue:text}`mingpt_inf_exact_copies` (minGPT), against
{glue:text}`copy_exact_copies` for the copy of members. A *near copy* sits closer to a
member than 95% of the real holdout people do, so about 5% of real strangers are near
copies by this definition (the real validation people: {glue:text}`real_near_copies`). The
AATS privacy loss {cite:p}`yale2020`, AATS against the holdout minus AATS against as many
members (equal sizes: with more members, everyone's closest member is closer, which biases
the loss), is {glue:text}`gpt2_inf_aats_privacy_loss` and
{glue:text}`mingpt_inf_aats_privacy_loss`; read it against real strangers',
{glue:text}`real_aats_privacy_loss`, not against 0."""),
code("""charts.dcr_chart(chapter.dcr_frame(result))""", metadata=HIDE),
md("""**Kinship at this panel size.** The KING-robust kinship coefficient
{cite:p}`manichaikul2010` of each synthetic person with every member classifies the closest
relation, using the standard cut-offs. It is the *between-family* estimator (their equation
11, as PLINK 2's `--make-king` computes it), which divides by the smaller of the two
people's heterozygous counts; the within-family form, which divides by their sum, calls
strangers of different heterozygosity relatives (on this panel, many real strangers of
different ancestries). It needs many heterozygous sites per person, and the
{glue:text}`n_sites` sites of this panel give a real person {glue:text}`holdout_het` on
average: {glue:text}`real_kin_first` of the real validation people, who are strangers to
the members, have a "first-degree relative" among them, and {glue:text}`independent_kin_first`
of the independent-sites people. Read the kinship columns against those rows (the glossary's
"as the real people"); the copy of members shows what copying looks like
({glue:text}`copy_kin_duplicate` duplicates). The privacy chapter asks the same question
with attacks."""),
code("""chapter.wide_table(result["seeds"], ["aats", "aats_privacy_loss", "dcr_members", "dcr_holdout", "within_distance",
                                      "exact_copies", "near_copies", "unique_people", "kin_duplicate", "kin_first",
                                      "kin_second"])""",
     metadata=HIDE),
md("""## The dissertation's metrics

These are the dissertation's record-level metrics, computed as it defined them, for every
cohort including the unconstrained ones: validity, "quality" (a position inside chromosome
22 of the cohort's assembly), memorisation and novelty against the members' records,
uniqueness within the cohort, and the variant-type and genotype mix of the records. Beside
them are the plausibility checks it lacked, each the share of records that fail: off the
panel, a REF that differs from the panel's, an allele the site lacks, a site twice in one
person, records out of order. Constrained decoding passes every check by construction.
The BPE model's unconstrained cohort shows what a text tokenizer writes without it.

On a fixed panel nearly every record (a site and a genotype) a person can carry is carried by
some member, so the record-level "memorised" share cannot tell copying from resemblance: read
it against the real validation row, whose people the models never saw. The verdict on
memorisation at the end of the chapter judges whole people instead (near copies of a
member)."""),
code("""chapter.wide_table(result["seeds"], ["validity", "quality", "memorised", "novel", "record_uniqueness", "deletion",
                                      "insertion", "substitution", "multi_allelic", "record_het", "off_panel",
                                      "wrong_ref", "bad_genotype", "repeated_site", "unsorted"], decoding=None)""",
     metadata=HIDE),
md("""## bcftools stats

`bcftools stats` {cite:p}`danecek2021` (pysam's bundled bcftools) on each constrained
synthetic VCF and on the real holdout, written to a VCF the same way. Every synthetic VCF
holds the whole panel, so the site counts and types are the panel's. The table shows what
depends on the genotypes: the frequency spectrum, singletons, and heterozygous and
homozygous-ALT sites per person (from bcftools' per-sample section)."""),
code("""chapter.bcftools_table(run, comparison.main_cohorts(result["table"], seed=0)["cohort"])""", metadata=HIDE),
md("""## What holds of the dissertation's findings

- *Differential privacy improves utility*: {glue:text}`dp_claim`. What the dissertation saw
  may have come from changing the model size along with ε.
- *Large models write near-identical samples*: {glue:text}`identical_claim`.
- *Small models are more diverse but put variants at worse positions*: {glue:text}`size_claim`.
- *The models memorise their members*: {glue:text}`memorisation_claim`.

Each verdict is read from the numbers by a rule fixed before the numbers were computed:

- *DP improves utility*: {glue:text}`dp_claim_rule`.
- *Large models near-identical*: {glue:text}`identical_claim_rule`.
- *Small models more diverse*: {glue:text}`size_claim_rule`.
- *Memorisation*: {glue:text}`memorisation_claim_rule`.

And the claim this book adds (above): *at the same ε, the private language model gives more
useful cohorts than the private baselines*: {glue:text}`baseline_claim`.

## The table and its metrics

`metrics/05_utility.csv` holds every number of this chapter in long form, one row per
cohort and metric. This glossary says what each metric measures and what value is best;
"as the real people" means the value of the real (validation) row."""),
code("""chapter.metric_glossary()""", metadata=HIDE),
]

write(cells, "05_utility")
