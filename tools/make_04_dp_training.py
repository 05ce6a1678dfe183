"""Write book/04_dp_training.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_04_dp_training.py`` after editing and commit both files.
"""
from notebooks import code, md, write

cells = [
md("""# Private training: the same models under differential privacy

The models of the previous chapter learned from their members with nothing to stop them
from memorising a person. This chapter trains the same two families, minGPT and GPT-2,
with **DP-SGD** {cite:p}`abadi2016` (differentially-private stochastic gradient descent) at
a grid of privacy budgets ε, then writes a synthetic cohort from every model for the utility
and privacy chapters.

**What the guarantee says.** Training is (ε, δ)-differentially private
{cite:p}`dwork2006,dwork2014` when adding or removing any one person's profile (one training
sequence) changes the probability of any outcome, any set of weights, by at most a factor
e^ε, except with probability δ.

**What ε covers, and what it does not.** ε bounds what can be learnt about a member from
the model's weights and from everything computed from the weights alone: the synthetic
cohorts, and an attacker's queries to the model. It also covers nothing else, so what a
run releases with a model is kept to that: the weights, the configuration, a tokenizer and
a panel built from public information only (previous chapters), and `privacy.json`. The
training history — the training loss per epoch, token counts, the fraction of per-person
gradients clipped and their median norm — is computed on the members *without* noise: it is
a **diagnostic outside the guarantee**, kept in the run's `diagnostics/` and shown below
only to explain the training, never released. The validation loss is computed on
non-members and ε by the accountant from public settings.

**How DP-SGD gets it.** Every step draws a batch by *Poisson sampling* (each person
independently, with probability q), computes one gradient per person, *clips* each to norm
at most C, sums them and adds Gaussian *noise* of standard deviation σ·C before the optimiser
sees it. An *accountant* turns (q, σ, number of steps, δ) into ε; here the noise multiplier σ
is searched so that the planned epochs spend exactly the target ε. Everything else, the
architecture, the optimiser, its learning rate and schedule, the logical batch size and the
epochs, is the previous chapter's, for every ε: only the noise changes along the grid (the
dissertation changed the model size along with ε, which confounds the two). The non-private
point, ε = ∞, *is* the previous chapter's model; beside it, a **clip-only** run takes DP-SGD's
Poisson batches and per-person clipping without the noise (no guarantee at all), so that what
clipping costs and what the noise costs can be told apart.

**Models built for the noise, chosen on simulated people.** The noise lands on every trained
weight, so the models carry no more weights than the data need, and the choice was made
before any member was seen. The minGPT writes each record as **one token** (the record
tokenizer of the tokenization chapter: site and genotype together, its vocabulary from the
public panel), so a profile is half as long and a record cannot be left half written; its
positions are {glue:text}`mingpt_positions`, its input and output embeddings are
{glue:text}`mingpt_tied`, and the context of both families is {glue:text}`context_from`
rather than a fixed 2,048. GPT-2 keeps the two-token variant tokenizer, learned positions and
{glue:text}`gpt2_tied` embeddings, all starting from its base pre-trained on the public
people. The learning rate is {glue:text}`mingpt_lr` for the minGPT and {glue:text}`gpt2_lr`
for GPT-2. The quick profile's choices were made by `bench/tune_dp.py` on a *simulated*
cohort of its size (stdpopsim, never the members, whose every use would spend privacy), and
they hold for every ε, ∞ included.

**Seeded noise.** The Poisson draws and the noise come from generators seeded by `seed`, so
that the book's numbers are reproducible. Whoever knows the seed can subtract the noise, so a
model meant for release is trained with `secure_mode=True`: both are then drawn from the
operating system's cryptographically secure generator, with Opacus' defence
{cite:p}`yousefpour2021` against floating-point attacks on the noise, and `privacy.json`
records it."""),
md("""## Parameters

`epsilon` trains a single private budget (besides ∞), e.g. `papermill ... -p epsilon 1`;
`None` trains the profile's grid. `delta` and `max_grad_norm` (the clipping bound C) default
to the profile's; `accountant` is `prv` (the privacy-loss-distribution accountant
{cite:p}`gopi2021`, tight) or `rdp` (Rényi DP {cite:p}`mironov2017`, looser). `secure_mode`
draws the batches and the noise from the operating system's CSPRNG instead of seeded
generators (not reproducible). `base_model` is the GPT-2 that private fine-tuning starts
from, as in the models chapter (`None`: the base pre-trained on the public people).
`dp_transformers_epsilon` is the budget at which GPT-2 is also fine-tuned through the
dp-transformers trainer (`None`: not). `n_seeds` is how many times every setting of the grid
(both families at every ε, ∞ and clipping alone included) is trained, each time with its own
training seed (`None`: the profile's). `choose_decoding` samples each private setting's cohorts
at the temperature and weight of the public prior chosen on the validation people (section
"How the private models are sampled"); `False` samples every model at `temperature`, `top_k`
and `top_p`, as the non-private models are."""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>
seed = 42
epsilon = None             # one private budget, or None for the profile's grid
delta = None               # None: the profile's; must be below 1/n
max_grad_norm = None       # None: the profile's clipping bound C
accountant = "prv"         # prv or rdp
secure_mode = False        # True: OS CSPRNG for batches and noise (not reproducible)
base_model = None          # None: the GPT-2 base pre-trained on the public split
dp_transformers_epsilon = 8.0  # GPT-2 through dp-transformers at this budget too (None: not)
n_seeds = None             # training seeds of every setting of the grid (None: the profile's n_seeds)
temperature = 1.0
top_k = None
top_p = None
choose_decoding = True     # private cohorts at the decoding chosen on the validation people""", metadata={"tags": ["parameters"]}),
code("""import logging
import time
import warnings

import transformers

from lib import ch04_dp_training as chapter
from lib.core import profiles
from lib.evaluation import utility
from lib.runs import experiments
from lib.runs.run import Run
from lib.book import charts, figures

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
# a warning that says nothing about this chapter's results: RDP's search over orders at a
# large epsilon (the PRV accountant is the one used)
warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
figures.enable()
run = Run.at(run_dir, profile)
settings = profiles.resolve(profile, dp_delta=delta, dp_max_grad_norm=max_grad_norm, dp_accountant=accountant,
                            dp_secure_mode=secure_mode)
grid = experiments.epsilon_grid(settings, epsilon)  # a bad epsilon is refused before anything is trained
sampling = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
print(f"profile={profile} run directory: {run}; epsilon grid {chapter.grid_text(grid)}")""",
     metadata={"tags": ["hide-input"]}),
md("""## The privacy unit and the sampling rate

One person is one training sequence (their sparse profile), so the guarantee is per person.
The table gives what every private run shares: the number of members n, the logical batch
size and the sampling rate q it implies (each step draws each person with probability q, so
batch sizes vary around q·n, and now and then a step draws nobody and adds the noise alone),
δ, the clipping bound C, the planned epochs and how the noise is drawn."""),
code("""shared = chapter.shared_settings(settings, experiments.members_count(run))  # refuses a delta not below 1/n
chapter.shared_table(shared)""", metadata={"tags": ["hide-input"]}),
md("""δ = {glue:text}`delta` is {glue:text}`delta_ratio` times smaller than 1/n =
{glue:text}`inverse_n`: a mechanism that publishes one random member outright satisfies
δ = 1/n, so a meaningful δ must be much smaller (a δ of 1/n or more is refused before any
training).

## Training the grid

**Several training seeds.** One trained model is one draw of its training: its initial
weights, its Poisson batches and its noise are random. A difference between two settings
seen on one model each may be nothing but the luck of two draws, and no interval over the
people a model is evaluated on can show it. So every setting of the grid, both families at
every ε with ∞ and clipping alone, is trained {glue:text}`n_seeds` times, each time from
its own training seed (the chapter's `seed` plus 0, 1, 2, ...); the split of the people
stays fixed, and GPT-2 starts every time from the same public base. The later chapters
report every metric as the mean over the seeds with an interval that carries the
seed-to-seed spread. The dp-transformers model and the models chapter's tokenizer
comparisons stay at one seed: no claim of the book rests on them alone.

Every model is saved into the run directory as `models/<family>-eps<ε>/` (`-seed<k>` after it for the
seeds beyond the first) with its weights, configuration, tokenizer and `privacy.json` (the ε the accountant computed, the target, δ,
q, σ, steps, epochs, C, the accountant, the sampler and whether the noise was secure), and
reused on a rerun whose inputs and settings have not changed. The per-person gradients come
from Opacus: the *expanded weights* mode for both families; GPT-2's `Conv1D` layers (a linear
layer with its weight stored transposed, which expanded weights do not know) are trained as
equivalent `nn.Linear` layers and saved back as `Conv1D`, so every saved model is a standard
checkpoint."""),
code("""started = time.perf_counter()
trained = chapter.train_private_models(run, grid, settings, seed=seed, base_model=base_model, n_seeds=n_seeds)
training_seconds = time.perf_counter() - started
summary = chapter.summary_frame(trained)
chapter.write_summary(run, summary, {"seed": seed, "grid": grid, "accountant": accountant})
chapter.format_summary(summary)""", metadata={"tags": ["hide-input"]}),
md("""The noise multipliers range from {glue:text}`sigma_range` across the private budgets;
the grid took {glue:text}`training_minutes` minutes to train (or to reuse).

**How loud the noise is.** The column *noise / signal* compares, for one step, the norm of
the noise DP-SGD adds to the averaged gradient with the largest norm the gradient itself can
have. Each person's gradient is clipped to norm C and the sum is divided by the expected
batch q·n, so the signal is at most C; the Gaussian noise, σC on each of the d parameters
(up to {glue:text}`parameters` here) divided by the same q·n ({glue:text}`expected_batch`
people), has norm about σC√d/(q·n). The ratio, σ√d/(q·n), is {glue:text}`noise_ratio_range`
for these runs: a single step points mostly in a random direction, and only the average over
many steps carries what the data say. It grows with the model (√d) and shrinks with the
number of people in a batch, which is why DP-SGD favours small models, large batches and
large cohorts.

## Loss curves

Training loss (solid) and validation loss (dashed) per epoch, one colour per ε. The training
loss is a diagnostic outside the guarantee (computed on the members' batches without noise);
the validation people are never trained on."""),
code("""epochs = chapter.epoch_frame(trained)
charts.dp_epoch_chart(epochs, "loss", "Loss (nats per token)", "Loss per epoch", dashed_by="split")""",
     metadata={"tags": ["hide-input"]}),
md("""## Privacy spent

How ε grows with the steps taken: every step is one more Poisson-subsampled Gaussian
mechanism, and the accountant composes them. Of the private runs, {glue:text}`full_runs`
trained every planned epoch; early stopping ended the others sooner. Computed from the runs:
{glue:text}`targets_claim`."""),
code("""charts.dp_epoch_chart(epochs[epochs["epsilon_spent"].notna() & (epochs["split"] == "validation")],
                      "epsilon_spent", "ε spent", "Privacy spent against optimizer steps", x="steps")""",
     metadata={"tags": ["hide-input"]}),
md("""The ε of every run can be recomputed from its `privacy.json` alone: the table feeds the
recorded (q, σ, steps, δ) to the accountants directly, without training, and to
dp-transformers' own PRV computation {cite:p}`wutschitz2022` (the library the dissertation
used, through this project's compatibility layer, `lib.dp.dp_transformers_compat`). Recomputed
by the same accountant, ε differs from the recorded one by at most
{glue:text}`recomputed_gap`; dp-transformers' PRV computation, which reports an upper bound
with an error tolerance of {glue:text}`dp_transformers_error` in ε, by at most
{glue:text}`dp_transformers_gap` ({glue:text}`dp_transformers_within` that tolerance); RDP's
bound is {glue:text}`rdp_looser` times PRV's.

**A difference in sampling.** dp-transformers 1.0.0, as the dissertation ran it, trained on
fixed-size batches of a shuffled epoch (every person exactly once per epoch) while its
accountant assumed Poisson sampling. The ε of the privacy-amplification-by-subsampling
analysis holds for Poisson batches only, so a shuffled run's reported ε was not a proven
bound. Here every private run, the Opacus path and the dp-transformers path alike, draws
Poisson batches (batch sizes vary, now and then a step is noise alone), and the ε in
`privacy.json` is the one the accountant computed for exactly that sampling."""),
code("""accountants = chapter.accountant_table(trained)
figures.glue_numbers(chapter.claims(summary, accountants))
chapter.format_accountants(accountants)""", metadata={"tags": ["hide-input"]}),
md("""## What privacy costs

The best validation loss of each model against its ε: the price of privacy in how well the
model predicts people it has not seen, at the same architecture and training settings. The
dissertation found that differential privacy *regularises*, lowering the validation loss;
here {glue:text}`regularises_claim`. Split into its parts, {glue:text}`clip_cost_claim`."""),
code("""charts.loss_against_epsilon_chart(summary)""", metadata={"tags": ["hide-input"]}),
md("""## Clipping

The fraction of per-person gradients that clipping shortened, per epoch, is the first thing
to check when choosing C: near 1, every gradient is cut to the same length and their sizes
carry no information; near 0, C is larger than it needs to be, and the noise, proportional
to C, larger than it needs to be. Like the training loss it is computed on the members
without noise: a diagnostic outside the guarantee."""),
code("""charts.dp_epoch_chart(epochs[epochs["clipped_fraction"].notna() & (epochs["split"] == "validation")],
                      "clipped_fraction", "Fraction clipped", "Per-person gradients clipped", y_format=".1%")""",
     metadata={"tags": ["hide-input"]}),
md("""## The same GPT-2 through dp-transformers

The dissertation fine-tuned GPT-2 privately with Microsoft's dp-transformers
{cite:p}`wutschitz2022`. Its 1.0.0 release no longer runs on today's transformers and
Opacus, and as released it kept the batch's token-mean loss, which scales a person's
gradient by who else was sampled (so the per-person clipping bound did not hold per person),
and defaulted δ to 1/n. The compatibility layer (`lib.dp.dp_transformers_compat`) runs its
trainer with a per-person loss, Poisson batches and a δ below 1/n. Here GPT-2 is fine-tuned
through it at ε = {glue:text}`compared_epsilon` from the same base, on the same members,
with the same δ, clipping bound, optimiser, schedule, batch size and epochs as the Opacus
path, and writes its cohorts the same way. The two differ in the sampling rate each derives
from the batch size (q = {glue:text}`opacus_q` against {glue:text}`dpt_q`) and in how they
compute per-person gradients (expanded weights against Opacus' hooks); their best validation
losses are {glue:text}`opacus_val_loss` and {glue:text}`dpt_val_loss`."""),
code("""compared = chapter.compare_trainers(run, trained, dp_transformers_epsilon, settings, seed=seed, base_model=base_model)
decoding = chapter.choose_decoding(run, {**trained, **compared}, settings, seed=seed, enabled=choose_decoding)
sampled = chapter.with_decoding(run, {**trained, **compared}, decoding, settings, seed=seed)
cohorts = chapter.synthesize_private(run, sampled, experiments.holdout_size(run), seed=seed, **sampling)
look = experiments.record_first_look(run, cohorts, chapter=chapter.CHAPTER, metrics_name="04_dp_synthetic",
                              params={"seed": seed, "grid": grid, "choose_decoding": choose_decoding, **sampling})
comparison = chapter.trainer_comparison(trained, compared, look)
chapter.format_trainer_comparison(comparison)""", metadata={"tags": ["hide-input"]}),
md("""## How the private models are sampled

Sampling is post-processing: how a private model's cohort is drawn from it spends no privacy,
so it may be chosen, as long as it is chosen on people the later chapters do not score on and
nothing else about the members enters. The utility chapter shows what gives private cohorts
away (far more genotypes at rare sites than real people carry, homozygous ALT above all): the
noise of DP-SGD spreads probability over the rare records of the vocabulary. Two settings pull
it back. A lower **temperature** sharpens each step's distribution. A **public prior** mixes
each step's distribution with that of the same family pre-trained on the public people alone
(GPT-2's base; for the minGPT, its own public base), geometrically with weight λ: a record the
public people never carry stays unlikely however the noise moved the private model's logits.
The rule: {glue:text}`decoding_rule`. The table lists every point tried for each private model
(the one chosen ✓); the chosen points are {glue:text}`decoding_chosen`."""),
code("""figures.glue_numbers({"decoding_rule": chapter.DECODING_RULE, "decoding_chosen": chapter.decoding_summary(decoding)})
chapter.decoding_table(decoding)""",
     metadata={"tags": ["hide-input"]}),
md("""## Synthetic cohorts from every model

As in the models chapter, each private model writes as many people as the holdout split has,
from the `<START_SAMPLE>` token alone, constrained (every record valid for the public panel)
and unconstrained, into `synthetic/<family>-eps<ε>.vcf.gz` (and `-unconstrained`); the
models of the further training seeds write their constrained cohort only
(`<family>-eps<ε>-seed<k>.vcf.gz`), sampled with their own seed. Sampling from a private
model is post-processing: it costs no privacy. The first seed's non-private cohorts are the
models chapter's. The table shows the first seed's cohorts; the utility chapter sets every
seed's beside each other. The constrained cohorts are valid by construction at every ε; what privacy
changes is how close their variants per person and allele frequencies come to the real
people's. Read the variants per person together with the allele frequencies: a model that
has not learnt when a profile ends rarely chooses the end token and writes far more variants
than a real person carries, which raises every site's frequency at once."""),
code("""utility.format_first_look(chapter.first_seed(look))""", metadata={"tags": ["hide-input"]}),
md("""## Against the goals

What the book asks of a synthetic cohort at each ε, both families (constrained cohorts against
the real holdout): an allele-frequency correlation of at least 0.95 without privacy, 0.90 at
ε = 8, 0.85 at ε = 3 and 0.75 at ε = 1; the mean number of variants per person within 10%,
20%, 30% and 50% of the real one; and, at ε = ∞ and 8, their spread (standard deviation)
within 30% and 50% of the real spread. The unconstrained cohort's validity is given beside
them. {glue:text}`goals_met` cohorts meet every goal of their row (missed: {glue:text}`goals_missed`).
The deviations are signed (a cohort above the real mean is positive); what was tried to meet
the goals, on a simulated cohort, is what `bench/tune_dp.py` prints."""),
code("""goals = chapter.goal_table(look)
figures.glue_numbers(chapter.numbers(settings, shared, summary, comparison, training_seconds, goals))
chapter.format_goals(goals)""", metadata={"tags": ["hide-input"]}),
md("""The allele frequencies of the constrained cohorts against the holdout's:"""),
code("""charts.af_scatter_chart(experiments.synthetic_af_frame(run, chapter.first_seed(cohorts)), reference="holdout")""",
     metadata={"tags": ["hide-input"]}),
md("""## What the budget buys without a language model: private baselines

Is a language model worth it? In tabular data, mechanisms that publish a few noisy counts
usually give better synthetic data than deep generators at the same budget. So beside the
models, two such mechanisms spend the same (ε, δ) on the same members, under the same
neighbouring relation (adding or removing one person), at every ε of the grid and every
training seed, and write their cohorts through the same VCF writer, as
`synthetic/sites-eps<ε>.vcf.gz` and `synthetic/mst-eps<ε>.vcf.gz` with a `privacy.json` in
`models/<mechanism>-eps<ε>/`. The later chapters evaluate, attack and audit them like the
models' cohorts.

**Private independent sites.** Each person contributes a vector v(x): a one for each of
their records (every genotype a panel site admits except 0|0: the record tokenizer's
vocabulary, from public information) and a one that counts the person. The mechanism
releases Σ v(x) over the members with Gaussian noise on every coordinate, once, and samples
people site by site from the noisy counts (post-processing). *The contribution bound.* As
DP-SGD clips each person's gradient, each person keeps at most k records (a random subset
beyond k, drawn from the person's own records alone); k = {glue:text}`baseline_bound` is the
largest number of records any *public* person carries, so choosing it costs nothing. *The
sensitivity.* Then ‖v(x)‖² ≤ k + 1 for everyone, and adding or removing one person changes
the released sum by exactly one v(x): its L2 sensitivity is Δ = √(k + 1) =
{glue:text}`baseline_sensitivity`. Noise of standard deviation σΔ on every coordinate is the
Gaussian mechanism with noise multiplier σ, which is one DP-SGD step at sampling rate 1; σ is
the smallest that the book's accountant (PRV) says spends at most the target ε, bracketed by
the exact privacy profile of the Gaussian mechanism {cite:p}`balle2018`. A test changes one
person and checks that the counts move by at most Δ.

**MST** {cite:p}`mckenna2021`, the winner of the NIST 2018 challenge, with the sites as
attributes (0|0 or one of the genotypes the site admits), in zero-concentrated DP
{cite:p}`bun2016`: the budget ρ is the largest whose conversion to (ε, δ) by the RDP
conversion of Opacus (the accountant family of the book's RDP accountant) is at most the
target, split in thirds. (1) Every site's one-way counts with Gaussian noise: one person is
one cell of every one of the d sites, so Δ = √d. (2) A spanning tree of d − 1 site pairs
chosen one edge at a time in Kruskal's order by the exponential mechanism (ρ = ε₀²/8 per
choice {cite:p}`cesar2021`), each pair scored by how far its two-way counts are from what
independence predicts from the *released* one-way counts (one person moves a score by at
most 1). (3) The chosen pairs' two-way counts with Gaussian noise (Δ = √(d − 1)). The rest
is post-processing: each site's shares from its one-way counts and the margins of its
tables, each table fitted to those shares, and people sampled down the tree. Private-PGM
{cite:p}`mckenna2019` (`mbi`) fits the same tree model by a general estimator; on a tree
the fit has this closed form, and the measured `mbi` 2.0 took 340 s per fit on these sites
against about 10 s here. MST keeps linkage between the site pairs its tree joins, which
independent sites cannot.

Both mechanisms' ε is computed from their records, not typed: the largest gap between a
baseline's accountant ε and its target is {glue:text}`baseline_eps_gap`. The
{glue:text}`n_baselines` releases took {glue:text}`baseline_minutes` minutes (or their
reuse). What each counted on the members (how many, how many were cut to the bound) is a
diagnostic outside ε, kept in `diagnostics/`, never released."""),
code("""started = time.perf_counter()
released = chapter.release_baselines(run, grid, settings, experiments.holdout_size(run), seed=seed, n_seeds=n_seeds)
figures.glue_numbers(chapter.baseline_numbers(released, time.perf_counter() - started))
chapter.baseline_table(released)""", metadata={"tags": ["hide-input"]}),
md("""The utility chapter compares these cohorts in depth (allele frequencies, linkage,
population structure), and the privacy chapter asks what an attacker can learn from them
about the members, against what ε promises."""),
]

write(cells, "04_dp_training")
