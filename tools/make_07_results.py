"""Write book/07_results.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_07_results.py`` after editing and commit both files.
"""
from notebooks import code, md, write

HIDE = {"tags": ["hide-input"]}

cells = [
md("""# Results

This page gathers the book's headline results from the run it was built on (profile
{glue:text}`profile`): {glue:text}`n_models` trained models of {glue:text}`n_settings`
settings (the main grid trained with {glue:text}`n_seeds` training seeds each),
{glue:text}`n_cohorts` synthetic cohorts, {glue:text}`n_members` members attacked against
{glue:text}`n_non_members` people never trained on. A setting's number is the mean over its
training seeds, and its interval is built as follows: {glue:text}`seed_interval_rule`. Nothing is computed here that a
chapter did not compute: each table and figure is read back from the chapters' tables in
the run directory (`metrics/05_utility.csv`, `metrics/06_privacy.csv`,
`metrics/06_audit.csv`), and each links back to the chapter that explains it. Like those
chapters' numbers, they are evaluations on members and non-members, outside the
guarantee."""),
md("""## Parameters

The run to gather: `profile` and `run_dir` as for every chapter."""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>""", metadata={"tags": ["parameters"]}),
code("""import pandas as pd

from lib import ch05_utility
from lib import ch07_results as chapter
from lib.core import profiles
from lib.runs import glossary
from lib.runs.run import Run
from lib.book import charts, figures

figures.enable()
pd.set_option("display.max_colwidth", 400)
run = Run.at(run_dir, profile)
settings = profiles.resolve(profile)
loaded = chapter.load_tables(run)
claims = chapter.claims_table(loaded, settings)
figures.glue_numbers(chapter.numbers(loaded, settings, claims))
print(f"profile={profile} run directory: {run}")""", metadata=HIDE),
md("""## The privacy–utility frontier

Each main setting is a point: its utility against the declared primary membership-inference
attack on its models ({glue:text}`mingpt_primary` for the minGPT, {glue:text}`gpt2_primary`
for GPT-2), each the mean over training seeds with its seed-level 95% interval (the bars).
The first figure shows two of the utility chapter's headline metrics: the allele-frequency
correlation (what a private model keeps) and the linear two-sample AUC (whether its people
pass for real; 0.5 is best). The mark's shape is the ε, and a line joins each family's
settings from ε = 1 to ε = ∞, so each step along it is what more budget buys. The copy of
members and the independent sites are the two ends a generator sits between; every headline
metric follows below. Without privacy, the primary attack reaches an AUC of
{glue:text}`mingpt_open_auc` on the minGPT and {glue:text}`gpt2_open_auc` on GPT-2; under
differential privacy, at most {glue:text}`mingpt_private_auc` (minGPT) and
{glue:text}`gpt2_private_auc` (GPT-2), and the utility the private cohorts keep is what
the panels show. The chapters explain each axis: [utility](05_utility.ipynb),
[privacy](06_privacy.ipynb)."""),
code("""points = chapter.frontier_of(loaded)
charts.frontier_chart(points, metrics=charts.FRONTIER_HEADLINE, columns=2, panel_width=330, panel_height=300)""",
     metadata=HIDE),
code("""charts.frontier_chart(points, title="The privacy-utility frontier on every headline metric of the utility chapter")""",
     metadata=HIDE),
code("""charts.frontier_chart(points, value="tpr@0.1", value_title="Primary attack's TPR at 10% FPR",
                      title="The privacy-utility frontier at low false-positive rate")""", metadata=HIDE),
md("""## What each ε buys: language models against private baselines

At every private ε, the language models' main settings beside the two private baselines
that spend the same (ε, δ) on the same members ([private training](04_dp_training.ipynb):
private independent sites, MST), on the headline utility metrics and on the declared primary
attack on each setting's released cohort (the one attack they all share; a language model
also releases its weights, attacked in the frontier above). Each number is the mean over
training seeds with its seed-level 95% interval. Which metrics each wins, by the rule fixed
before any cohort was scored, is the last row of the claims below."""),
code("""chapter.budget_table(loaded)""", metadata=HIDE),
md("""## The dissertation's claims

Each claim of the dissertation this book reproduces (and, last, the one it adds: the
private baselines), what it reported (on 20 members
against 20 non-members, without intervals), what this run measured, the verdict the owning
chapter computed, and the rule that reads the verdict from the numbers: every verdict is
computed from seed-level 95% intervals (corrected for the number of comparisons where one
verdict rests on several), thresholds and margins stated in its rule, and a check that
could not have failed at this scale (its ceiling is below what it would have to prove)
reads "cannot be told". Of
{glue:text}`n_claims` claims, {glue:text}`claims_holds` hold, {glue:text}`claims_holds_in_part`
hold in part, {glue:text}`claims_does_not_hold` do not hold, and
{glue:text}`claims_untold` cannot be told or tested at this scale (the table says
why)."""),
code("""claims""", metadata=HIDE),
md("""## Privacy

Every model setting's primary attack (the chapter's [corrected protocol](06_privacy.ipynb))
over its training seeds, its true-positive rate at a 10% false-positive rate, the best of all
attacks with an interval that pays for choosing it, and the lower bounds on ε that the
attacks and the [canary audits](06_privacy.ipynb) prove with 95% confidence, each beside
its ceiling (the most it could prove with this many people or canaries) and the ε the
accountant computed."""),
code("""chapter.privacy_summary(loaded)""", metadata=HIDE),
code("""charts.epsilon_bound_chart(chapter.bounds_of(loaded), title="Every empirical lower bound against the accountant's ε")""",
     metadata=HIDE),
md("""## Utility

The main settings of each family (every ε, and clipping without noise; the mean over
training seeds with seed-level 95% intervals) and the three reference cohorts on the
[utility chapter's](05_utility.ipynb) headline metrics; the chart shows every seed's value
beside the mean."""),
code("""chapter.utility_summary(loaded)""", metadata=HIDE),
code("""charts.utility_epsilon_chart(ch05_utility.epsilon_frame(loaded["utility"], chapter.UTILITY_METRICS,
                                                           seeds=loaded["utility_seeds"]), glossary.SHORT_TITLES)""",
     metadata=HIDE),
]

write(cells, "07_results")
