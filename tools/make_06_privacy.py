"""Write book/06_privacy.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_06_privacy.py`` after editing and commit both files.
"""
from notebooks import code, md, write

HIDE = {"tags": ["hide-input"]}

cells = [
md("""# Privacy: who can tell the members?

A model trained on people can give them away. This chapter attacks every model of the book
and every synthetic cohort it released, and asks one question of each: given a person's
profile, can an attacker tell whether that person was a **member** (trained on) or not
{cite:p}`shokri2017`?
It then sets what the attacks achieve beside what differential privacy promises.

**The protocol, corrected.** The dissertation attacked 20 "members" against 20
non-members. Its members were the first people of a file of which 30% had never been
trained on, so some of them were not members at all. Its attack classifiers were trained on
half of the target model's own membership labels and tested on the other half: an attacker
who already knew the labels. Here:

- the **members** are people actually trained on: a seeded sample of the train split, as
  large as the holdout;
- the **non-members** are the holdout people, never trained on;
- every attack that learns does so on **reference models** the attacker trains itself,
  never on the target's membership labels. These have the target's architecture and
  training settings, and a private target's are trained *privately as it was*: DP-SGD with
  its noise multiplier σ, clipping bound C, logical batch and epochs (read from its
  `privacy.json`; clipping alone for the clip-only runs), so the attacks on private models
  are not weakened by a mimic that learnt without noise. The offline ones are trained on
  halves of the *public* people, so no candidate is ever in their data; the online ones on
  halves of the public people and the candidates' profiles;
- **one primary attack per family is declared before any target is scored**:
  {glue:text}`mingpt_primary` for the minGPT, {glue:text}`gpt2_primary` for GPT-2 (the
  profile's `mia_primary_attack`, chosen on a simulated cohort by
  `bench/choose_primary_attack.py`, never on these targets' labels), and
  {glue:text}`primary_cohort_attack` for a released cohort. It is the headline; the
  maximum over all attacks is shown beside it with an interval that pays for choosing it
  (below);
- every setting is attacked on each of its {glue:text}`n_seeds` training seeds' models,
  and its numbers are the mean over the seeds with a seed-level interval;
- the dissertation's protocol is replayed on the same models for comparison (the *replica*
  column), so the width of a 20 against 20 result can be seen.

**What is reported.** Every attack has the same evaluation:

- ROC AUC with a bootstrap 95% interval; for the **best of the attacks** on one target, an
  interval that accounts for the selection: a max-statistic bootstrap that resamples the
  candidates once for every attack and holds for all attacks at once, so the maximum keeps
  its 95% (the best of many attacks on a model that leaks nothing would otherwise look
  like a leak);
- TPR at low false-positive rates, given only where the number of non-members resolves
  them;
- ROC curves on log–log axes, where the low-FPR corner that matters for a real attacker is
  visible;
- the **empirical ε**: the lower bound on ε that the attack's best operating point proves
  with 95% confidence. The threshold is chosen on one half of the candidates and the bound
  is computed on the other, so the confidence holds, and the best of the attacks is taken
  at a Bonferroni-corrected level. It is set beside the ε the accountant computed and beside
  its **ceiling**, the largest bound that many candidates could ever show: a check whose
  ceiling is below the accountant's ε cannot fail, and says nothing. A private model whose
  empirical bound exceeded its accountant ε would mean a bug.

**Outside the guarantee.** These are evaluations on members and non-members. None of them
is released with a model, and ε covers none of them."""),
md("""## Parameters

`n_boot` is the number of bootstrap resamples behind each interval. `models` is a list of
model names to attack (`None` attacks every trained model). The number of reference models
comes from the profile (`mia_reference_models` offline, `mia_online_references` online)."""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>
seed = 42
n_boot = 200               # bootstrap resamples per interval
models = None              # None: every trained model of the run""", metadata={"tags": ["parameters"]}),
code("""import logging
import time
import warnings

import pandas as pd
import transformers

from lib import ch05_utility
from lib import ch06_privacy as chapter
from lib.core import profiles
from lib.runs.run import Run
from lib.book import charts, figures

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
figures.enable()
pd.set_option("display.max_colwidth", 200)
run = Run.at(run_dir, profile)
settings = profiles.resolve(profile)
print(f"profile={profile} run directory: {run}")""", metadata=HIDE),
md("""## Attacking the models

Each model is scored on every candidate in one pass. The signals are the mean next-token
loss, the perplexity, the mean top-token confidence, the variance of the per-token loss
and the mean logit norm; the attacks are built from them:

- the **threshold attacks** use one signal. The direction (does a member have the lower
  loss?) is learnt on the reference models.
- the **classifiers** (logistic regression, random forest, k-NN) are trained on the
  reference models' own members and non-members among the public people.
- **LiRA** {cite:p}`carlini2022`, offline with a fixed variance, asks how far above its own reference-model
  distribution the target puts each candidate.
- **RMIA** {cite:p}`zarifzadeh2024` compares each candidate's likelihood ratio with those of
  public people. Offline, no reference model trained on the candidate, so p(x) is the
  paper's offline approximation from the models that left it out, ((1 + a) p_OUT(x) + 1 −
  a) / 2 with a = 0.3.
- **Online LiRA and RMIA** use a second set of reference models, trained on halves of a
  pool of public people *and the candidates' profiles*: the attacker holds the profiles it
  asks about, though never whether they are members. Complementary halves make every
  candidate a member of exactly half of them, so online LiRA compares the target's
  likelihood with two distributions per candidate: under models that trained on the
  candidate, and under models that did not. These references start where the target
  starts (GPT-2 from the same public base), which the offline ones cannot: that base has
  seen every public person. They train on fewer people than the target, so they fit
  everyone less well; LiRA first shifts the target's likelihoods by the difference
  measured on the public people (none of them a member), or the shift would swamp the
  difference between IN and OUT. There are {glue:text}`n_online_references` of them per
  family and tokenizer in this profile; a profile can leave them out (the protocol table
  says where). They are trained on members' profiles, so they are kept with the run's
  diagnostics (`diagnostics/models/`), not with the models a run could release.
- **GPT-2's public people are not strangers to GPT-2.** Its base was pre-trained on them, so
  they are not non-members of the target in the way the holdout people are: the
  non-private GPT-2 puts them {glue:text}`gpt2_population_gap` nats per token above the
  holdout's (the minGPT, which never saw them: {glue:text}`mingpt_population_gap`). Where
  the public people stand in for non-members this biases an attack *down*: offline RMIA's
  population then looks more like members than a real non-member would, so fewer
  candidates beat it and its scores bunch at the bottom (their order, hence most of the
  AUC, is unchanged), and the offline references, trained from scratch, never saw them at
  all. The online references start from the same base as the target, so online RMIA's and
  LiRA's comparisons on the public people carry the pre-training on both sides. The
  attacks on GPT-2 can only understate its leakage by this.
- the **hybrid attack** adds the dissertation's ten genomic features of what the model
  writes when it is prompted with the candidate's first two variants: 100 new tokens,
  temperature 0.8, top-p 0.9. The dissertation prompted GPT-2 with the end of the
  candidate's sequence instead. A logistic regression and a random forest are trained on
  the reference models, as for the model-only classifiers.

The models read each person's population tag after the start token (chapter 03), so every
attack reads a candidate's record with its tag, as the attacker holds the whole record, and
every reference model, public or online, is trained with the tags too.

There are {glue:text}`n_members` members against {glue:text}`n_non_members` non-members,
{glue:text}`n_references` reference models per family and tokenizer, and
{glue:text}`n_targets` target models. The attacks took {glue:text}`privacy_seconds` s,
reference models included (reused when already trained)."""),
code("""started = time.perf_counter()
results = chapter.attack_models(run, settings, seed=seed, n_boot=n_boot, models_to_attack=models)
cohort_results = chapter.attack_cohorts(run, results["candidates"], seed=seed, n_boot=n_boot, settings=settings)
table = chapter.results_table(run, results, cohort_results, params={"seed": seed, "n_boot": n_boot})
seconds = time.perf_counter() - started
chapter.protocol_table(results, settings)""", metadata=HIDE),
md("""Every model's AUC under every attack, with its 95% interval (the dashed line is chance).
Without privacy, the best attack on the minGPT is the {glue:text}`mingpt_inf_best`, and
on GPT-2 the {glue:text}`gpt2_inf_best`. At the most private budget (ε =
{glue:text}`mingpt_low_eps`) the best attack on the minGPT is the
{glue:text}`mingpt_low_best`, and on GPT-2 the {glue:text}`gpt2_low_best`."""),
code("""figures.glue_numbers(chapter.numbers(table, results, settings, seconds))
charts.attack_auc_chart(table[(table["target_kind"] == "model") & (table["kind"] != "replica") & (table["seed"] == 0)])""",
     metadata=HIDE),
md("""The same on every training seed's model, one row per model, the primary attack's column
marked, the best of the attacks with its selection-aware interval at the right. Choosing the
best of {glue:text}`n_attacks` attacks after seeing their AUCs widens its interval: the
selection-aware interval is a median {glue:text}`selection_widening` times as wide as the
chosen attack's own."""),
code("""chapter.format_attacks(table)""", metadata=HIDE),
md("""## The headline: the primary attack over training seeds

Each main setting's primary attack, its AUC as the mean over the {glue:text}`n_seeds`
training seeds' models with an interval that carries the seed-to-seed spread and the
bootstrap over candidates, each seed's own AUC, and the best of all attacks (its
selection-aware intervals, averaged over seeds the same way). Without privacy the primary
attack reaches {glue:text}`mingpt_inf_primary_auc` on the minGPT and
{glue:text}`gpt2_inf_primary_auc` on GPT-2; at ε = {glue:text}`mingpt_low_eps`,
{glue:text}`mingpt_low_primary_auc` and {glue:text}`gpt2_low_primary_auc`."""),
code("""chapter.format_primary(chapter.seed_table(table))""", metadata=HIDE),
md("""## The low false-positive corner

An attack that flags a member correctly only by also flagging many non-members is of little
use to an attacker. What matters is the true-positive rate at a low false-positive rate.
The ROC curves of the most vulnerable model, on log–log axes:"""),
code("""charts.roc_chart(chapter.roc_frame(results, chapter.leakiest(table)))""", metadata=HIDE),
md("""At a false-positive rate of 10%, the best attack on the non-private minGPT finds
{glue:text}`mingpt_inf_tpr` of the members, and the best attack on GPT-2 finds
{glue:text}`gpt2_inf_tpr`. Lower rates need more non-members than this profile attacks;
where a rate cannot be resolved the table leaves it empty.

## The dissertation's protocol, replayed

The same models, attacked as the dissertation did it: the first 20 members against the
first 20 non-members, and a logistic regression trained on half of them *with the target's
own membership labels*. The 95% intervals of the replica have a median width of
{glue:text}`replica_width`, against {glue:text}`corrected_width` for the logistic
regression of the corrected protocol. The dissertation's headline AUC of 0.66 was measured
at 20 against 20."""),
code("""chapter.replica_table(table)""", metadata=HIDE),
md("""## Attacking the released cohorts

An attacker who sees only a synthetic cohort can still look for the candidate in it. The
attacks measure the distance to the closest synthetic person (identity by state with that
person, the share of alleles the two share, is one minus the distance over twice the number
of sites, so it ranks candidates the same way), the KING kinship {cite:p}`manichaikul2010` with the closest synthetic
relative, and the ratio between the synthetic cohort's density and the public
people's, on the public people's principal components (in the spirit of DOMIAS, {cite:t}`vanbreugel2023`). A cohort
that copies its members is caught at once: the utility chapter's copy of members gives an
AUC of {glue:text}`copy_auc`. The private baselines of the private-training chapter
(private independent sites and MST at every ε and training seed) release nothing but their
cohort, so these attacks are all an attacker of a baseline has, and they are attacked the
same way. The strongest attack on a cohort the models or the baselines wrote reaches
{glue:text}`synthetic_max_auc`."""),
code("""chapter.format_attacks(table, kinds=("synthetic",))""", metadata=HIDE),
md("""## What the attacks prove against what the accountant promises

For every private model, the largest empirical lower bound on ε that any attack proves
with 95% confidence is set beside the ε its accountant computed. The table's held-out
column chooses the threshold on one half of the candidates and evaluates it on the other,
at a level Bonferroni-corrected over the attacks; the ceiling beside it is the most that
column could show with these candidates (every evaluated member caught, no non-member), and
the short ticks in the chart mark it: where a tick lies below the diagonal, the check could
not have failed. The optimistic column takes the best threshold on all of them, so its
confidence does not hold. A bound far below ε says that these attacks are weak, not that
the model leaks less than ε allows."""),
code("""charts.epsilon_bound_chart(chapter.epsilon_table(table))""", metadata=HIDE),
code("""chapter.epsilon_table(table).drop(columns=["setting", "seed"]).set_index("target")""", metadata=HIDE),
md("""## Auditing with canaries

An attack on the book's own models can only prove as much as these models happen to leak
about real people. An **audit** plants the evidence. For each family and ε, the model of
chapter 04 is trained again, exactly as before, with extra profiles: canaries. Each canary
is a made-up profile of random rare variants, and each is added to the training data with
probability ½ by a seeded fair coin drawn before training. The coins, the canaries and the
seed are saved beside the audit model (`canaries.json`). The one-run audit of
{cite:t}`steinke2023` then guesses, from each canary's likelihood under the trained model,
which canaries were trained on. How many guesses are right bounds ε from below, with 95%
confidence and a Bonferroni correction over the numbers of guesses tried. Beside the bound
is the canaries' *exposure* {cite:p}`carlini2019`: how high a canary that was trained on
ranks among the canaries left out, in bits; a canary left out, ranked among the others
left out, gives the baseline (its column in the table).

The private baselines are audited the same way, with the same canaries and the same coins:
each mechanism runs once, through its own release code, on the members and the canaries
whose coin is 1, and the auditor, who knows everything but the coins, scores each canary by
what the release says about its own coordinates (its records' noisy counts for independent
sites; their cells in MST's one-way counts, leaving the tree and the two-way counts
unscored). A test injects a known bug into each, its noise understated (independent sites'
sensitivity tenfold, MST's one-way noise a hundredfold), and the same audit then proves more
than the ε claimed. On the result, {glue:text}`audit_claim`."""),
code("""audits = chapter.run_audits(run, settings, seed=seed)
figures.glue_numbers(chapter.audit_numbers(audits))
figures.glue_numbers(chapter.claims(table, settings, chapter.audit_table(audits)))
chapter.audit_table(audits).set_index("audit run")""", metadata=HIDE),
md("""Every check of the bound, attacks and canaries together, with its ceiling and what it
can say: *passes* (within ε, and it could have failed), *cannot fail* (its ceiling is at or
below ε) or *fails*. On the result, {glue:text}`bound_claim`."""),
code("""chapter.bound_checks(table, chapter.audit_table(audits)).set_index("check")""", metadata=HIDE),
md("""Both kinds of lower bound, the attacks' on the book's models and the canaries' on the
audit runs, against the ε each run's accountant computed:"""),
code("""charts.epsilon_bound_chart(chapter.bound_frame(table, audits), title="Every empirical lower bound against the accountant's ε")""",
     metadata=HIDE),
md("""## The privacy–utility frontier

Each main setting is one point in each panel. Its utility is one of the utility
chapter's headline metrics, one per panel: allele-frequency correlation, LD-decay distance,
the two-sample AUC (how well a classifier tells its people from real ones; 0.5 is best),
AATS (0.5 is best), TSTR and variants per person, the mean over its training seeds. Its
privacy is the declared primary attack's AUC on its models, the mean over the same seeds
(for the reference cohorts and the private baselines, which have no model, the primary attack
on the released cohort: a language model releases more than its cohort, its weights, and is
attacked through them). The copy of members and the independent sites mark the two ends of
the frontier."""),
code("""points = chapter.frontier(chapter.seed_table(table), Run.of(run).table(ch05_utility.SEEDS_NAME))
charts.frontier_chart(points)""", metadata=HIDE),
md("""The same frontier with the primary attack's true-positive rate at a 10% false-positive rate, which says
more about the risk to a few people than the AUC does:"""),
code("""charts.frontier_chart(points, value="tpr@0.1", value_title="Primary attack's TPR at 10% FPR",
                      title="The privacy-utility frontier at low false-positive rate")""", metadata=HIDE),
md("""## What holds of the dissertation's findings

- *Differential privacy lowers attack success*: {glue:text}`dp_claim`.
- *Smaller models leak less*: {glue:text}`size_claim`.
- *The hybrid attack beats model-only attacks on non-private models*: {glue:text}`hybrid_claim`.
- *No attack proves more than the accountant's ε* (this book's check): {glue:text}`bound_claim`.

The rules that read these verdicts from the numbers, fixed before the numbers were computed:

- *DP lowers attack success*: {glue:text}`dp_claim_rule`.
- *Smaller models leak less*: {glue:text}`size_claim_rule`.
- *The hybrid attack*: {glue:text}`hybrid_claim_rule`.
- *The bound*: {glue:text}`bound_claim_rule`.

Every number of this chapter is in `metrics/06_privacy.csv`, one row per target and
attack, and over training seeds in `metrics/06_privacy_seeds.csv`."""),
]

write(cells, "06_privacy")
