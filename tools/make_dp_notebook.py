"""Write book/04_dp_training.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_dp_notebook.py`` after editing and commit both files.
"""
from notebooks import IMPORT_LIB, code, md, write

cells = [
md("""# Private training: the same models under differential privacy

The models of the previous chapter learned from their training members with nothing to stop
them from memorising a person. This chapter trains the same two families, minGPT and GPT-2,
with **DP-SGD** (differentially-private stochastic gradient descent) at a grid of privacy
budgets ε, then writes a synthetic cohort from every model for the utility and privacy
chapters.

**What the guarantee says.** Training is (ε, δ)-differentially private when adding or
removing any one person's profile (one training sequence) changes the probability of any
outcome, any set of weights, by at most a factor e^ε, except with probability δ. The smaller
ε, the less any single person can show through the model and everything computed from it,
the synthetic cohorts included.

**How DP-SGD gets it.** Every step draws a batch by *Poisson sampling* (each person
independently, with probability q), computes one gradient per person, *clips* each to norm
at most C, sums them and adds Gaussian *noise* of standard deviation σ·C before the optimiser
sees it. An *accountant* turns (q, σ, number of steps, δ) into ε; here the noise multiplier σ
is searched so that the planned epochs spend exactly the target ε. Everything else, the
architecture, the optimiser, its learning rate and schedule, the logical batch size and the
epochs, is the previous chapter's, for every ε: only the noise changes along the grid (the
dissertation changed the model size along with ε, which confounds the two). The non-private
point, ε = ∞, *is* the previous chapter's model."""),
md("""## Parameters

`epsilon` trains a single private budget (besides ∞), e.g. `papermill ... -p epsilon 1`;
`None` trains the profile's grid. `delta` and `max_grad_norm` (the clipping bound C) default
to the profile's; `accountant` is `prv` (the privacy-loss-distribution accountant, tight) or
`rdp` (Rényi DP, looser). `base_model` is the GPT-2 that private fine-tuning starts from, as
in the models chapter (`None`: the base pre-trained on the public split)."""),
code("""profile = "quick"          # smoke | quick | full: sizes only
run_dir = None             # default: data/runs/<profile>
seed = 42
epsilon = None             # one private budget, or None for the profile's grid
delta = None               # None: the profile's; must be below 1/n
max_grad_norm = None       # None: the profile's clipping bound C
accountant = "prv"         # prv or rdp
base_model = None          # None: the GPT-2 base pre-trained on the public split
temperature = 1.0
top_k = None
top_p = None""", metadata={"tags": ["parameters"]}),
code(IMPORT_LIB + """
import logging
import time
import warnings

import pandas as pd
import transformers
from IPython.display import Markdown, display
from myst_nb import glue

from lib import charts, data, figures, privacy, profiles, rundir
from lib import dp_training as dpt
from lib import experiment as ex
from lib import tokenization as tk

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
# a warning that says nothing about this chapter's results: RDP's search over orders at a
# large epsilon (the PRV accountant is the one used)
warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
figures.setup()
run = rundir.run_path(run_dir, profile)
overrides = {"dp_delta": delta, "dp_max_grad_norm": max_grad_norm, "dp_accountant": accountant}
settings = profiles.resolve(profile, **overrides)
grid = dpt.epsilon_grid(settings, epsilon)  # a bad epsilon is refused before anything is trained
print(f"profile={profile} run directory: {run}; epsilon grid {[charts.epsilon_label(e) for e in grid]}")""",
     metadata={"tags": ["hide-input"]}),
md("""## The privacy unit and the sampling rate

One person is one training sequence (their sparse profile), so the guarantee is per person.
The table gives what every private run shares: the number of training people n, the logical
batch size and the sampling rate q it implies (each step draws each person with probability
q, so batch sizes vary around q·n, and now and then a step draws nobody and adds the noise
alone), δ, the clipping bound C and the planned epochs."""),
code("""panel = data.load_cohort(run)  # both raise FileNotFoundError naming the chapter to run first
splits = data.load_splits(run)
n_train = len(splits["train"])
common = dpt.shared_settings(settings, n_train)  # refuses a delta that is not below 1/n
shared = {"training people (n)": f"{n_train:,}", "logical batch": f"{common['batch_size']:,}",
          "sampling rate q": f"{common['sample_rate']:.4f}", "expected batch q·n": f"{common['expected_batch_size']:.1f}",
          "δ": f"{common['delta']:g}", "clipping bound C": f"{common['max_grad_norm']:g}",
          "epochs (planned)": f"{common['epochs']}", "steps (planned)": f"{common['steps']:,}",
          "accountant": common["accountant"]}
glue("n_train", f"{n_train:,}", display=False)
glue("delta", f"{common['delta']:g}", display=False)
glue("inverse_n", f"{1 / n_train:.2g}", display=False)
pd.DataFrame({"setting": list(shared), "value": list(shared.values())}).set_index("setting")""",
     metadata={"tags": ["hide-input"]}),
md("""δ = {glue:text}`delta` is far below 1/n = {glue:text}`inverse_n`: a mechanism that
publishes one random training person outright satisfies δ = 1/n, so a meaningful δ must be
much smaller.

## Training the grid

Every model is saved into the run directory as `models/<family>-eps<ε>/` with its weights,
configuration, tokenizer, `history.json` and `privacy.json` (the ε the accountant computed,
the target, δ, q, σ, steps, epochs, C, the accountant and the sampler), and reused on a rerun
whose inputs and settings have not changed. The per-person gradients come from Opacus: the
*expanded weights* mode for both families; GPT-2's `Conv1D` layers (a linear layer with its
weight stored transposed, which expanded weights do not know) are trained as equivalent
`nn.Linear` layers and saved back as `Conv1D`, so every saved model is a standard checkpoint."""),
code("""started = time.perf_counter()
base = base_model if base_model is not None else ex.public_base(run, tk.load(run, "variant"), settings, seed=seed)
trained = {}
for family in ("mingpt", "gpt2"):
    trained.update(dpt.train_grid(run, family, grid, settings, seed=seed,
                                  base_model=base if family == "gpt2" else None))
training_seconds = time.perf_counter() - started
summary = dpt.summary_frame(trained)
rundir.write_text(run / "metrics" / "04_dp_training.csv", summary.to_csv(index=False))
rundir.record_artefacts(run, "04_dp_training", {"seed": seed, "grid": grid, "accountant": accountant},
                        [run / "metrics" / "04_dp_training.csv"])
private = summary[summary["epsilon"] != "∞"]
glue("training_minutes", f"{training_seconds / 60:.1f}", display=False)
glue("sigma_range", f"{private['noise_multiplier'].min():.2f} to {private['noise_multiplier'].max():.2f}", display=False)
glue("noise_ratio_range", f"{private['noise_to_signal'].min():.0f} to {private['noise_to_signal'].max():.0f}", display=False)
glue("parameters", f"{int(summary['parameters'].max()):,}", display=False)
glue("expected_batch", f"{common['expected_batch_size']:.0f}", display=False)
summary.assign(**{
    "target ε": summary["target_epsilon"].map(lambda x: "∞" if pd.isna(x) else f"{x:g}"),
    "ε spent": summary["epsilon_spent"].map(lambda x: "∞" if pd.isna(x) else f"{x:.3f}"),
    "noise σ": summary["noise_multiplier"].map(lambda x: "0" if pd.isna(x) else f"{x:.3f}"),
    "steps": summary["steps"].map("{:,}".format),
    "accountant": summary["accountant"].fillna("–"),
    "noise / signal": summary["noise_to_signal"].map(lambda x: "0" if pd.isna(x) else f"{x:.1f}"),
    "best validation loss": summary["best_val_loss"].map("{:.3f}".format),
})[["model", "target ε", "ε spent", "noise σ", "steps", "epochs", "accountant", "noise / signal",
    "best validation loss"]].set_index("model")""",
     metadata={"tags": ["hide-input"]}),
md("""The noise multipliers range from {glue:text}`sigma_range` across the private budgets.
A run that early stopping ended before its planned epochs spent less than its target: the ε
reported is always what the accountant computed for the steps actually taken.

**How loud the noise is.** The column *noise / signal* compares, for one step, the norm of
the noise DP-SGD adds to the averaged gradient with the largest norm the gradient itself can
have. Each person's gradient is clipped to norm C and the sum is divided by the expected
batch q·n, so the signal is at most C; the Gaussian noise, σC on each of the d parameters
(up to {glue:text}`parameters` here) divided by the same q·n ({glue:text}`expected_batch`
people), has norm about σC√d/(q·n). The ratio, σ√d/(q·n), is {glue:text}`noise_ratio_range`
for these runs: a single step points mostly in a random direction, and only the average over
many steps carries what the data say. It grows with the model (√d) and shrinks with the
number of people in a batch, which is why DP-SGD favours small models, large batches and
large cohorts, and why the private models of a small profile learn much less than the
non-private one.

## Loss curves

Training loss (solid) and validation loss (dashed) per epoch, one colour per ε. The training
loss of a private run is measured on the noisy, clipped trajectory's own batches; the
validation people are never trained on."""),
code("""epochs = dpt.epoch_frame(trained)
charts.dp_epoch_chart(epochs, "loss", "Loss (nats per token)", "Loss per epoch", dashed_by="split")""",
     metadata={"tags": ["hide-input"]}),
md("""## Privacy spent

How ε grows with the steps taken: every step is one more Poisson-subsampled Gaussian
mechanism, and the accountant composes them. Each private run ends at (or, when stopped
early, below) its target."""),
code("""spent = epochs[(epochs["split"] == "train") & epochs["epsilon_spent"].notna()]
charts.dp_epoch_chart(spent, "epsilon_spent", "ε spent", "Privacy spent against optimizer steps", x="steps")""",
     metadata={"tags": ["hide-input"]}),
md("""The ε of every run can be recomputed from its `privacy.json` alone: the table feeds the
recorded (q, σ, steps, δ) to the accountants directly, without training, and to
dp-transformers' own PRV computation (the library the dissertation used, through this
project's compatibility layer, `lib.dp_transformers_compat`). The PRV numbers agree up to the
accountants' stated error; RDP is a valid but looser bound.

**A difference in sampling.** dp-transformers 1.0.0, as the dissertation ran it, trained on
fixed-size batches of a shuffled epoch (every person exactly once per epoch) while its
accountant assumed Poisson sampling. The ε of the privacy-amplification-by-subsampling
analysis holds for Poisson batches only, so a shuffled run's reported ε was not a proven
bound. Here every private run, this chapter's and the dp-transformers path of the
compatibility layer alike, draws Poisson batches (batch sizes vary, now and then a step is
noise alone), and the ε in `privacy.json` is the one the accountant computed for exactly that
sampling."""),
code("""from lib import dp_transformers_compat as dpc

rows = []
for name, item in trained.items():
    record = item["privacy"]
    if record is None:
        continue
    args = (record["sample_rate"], record["noise_multiplier"], record["steps"], record["delta"])
    dp_transformers_eps = dpc.compute_epsilon(*args)
    rows.append({"model": name, "privacy.json ε": f"{record['epsilon']:.4f} ({record['accountant']})",
                 "recomputed, same accountant": f"{privacy.compute_epsilon(*args, accountant=record['accountant']):.4f}",
                 "RDP": f"{privacy.compute_epsilon(*args, accountant='rdp'):.4f}",
                 "dp-transformers": f"{dp_transformers_eps['epsilon']:.4f} ({dp_transformers_eps['accountant']})"})
pd.DataFrame(rows).set_index("model")""", metadata={"tags": ["hide-input"]}),
md("""## What privacy costs

The best validation loss of each model against its ε: the price of privacy in how well the
model predicts people it has not seen, at the same architecture and training settings."""),
code("""charts.loss_against_epsilon_chart(summary)""", metadata={"tags": ["hide-input"]}),
md("""## Clipping

The fraction of per-person gradients that clipping shortened, per epoch, is the first thing
to check when choosing C: near 1, every gradient is cut to the same length and their sizes
carry no information; near 0, C is larger than it needs to be, and the noise, proportional
to C, larger than it needs to be."""),
code("""clipped = epochs[(epochs["split"] == "train") & epochs["clipped_fraction"].notna()]
charts.dp_epoch_chart(clipped, "clipped_fraction", "Fraction clipped", "Per-person gradients clipped",
                      y_format=".1%")""", metadata={"tags": ["hide-input"]}),
md("""## Synthetic cohorts from every model

As in the models chapter, each private model writes as many people as the holdout split has,
from the `<START_SAMPLE>` token alone, constrained (every record valid for the public panel)
and unconstrained, into `synthetic/<family>-eps<ε>.vcf.gz` (and `-unconstrained`). Sampling
from a private model is post-processing: it costs no privacy. The non-private cohorts are the
models chapter's."""),
code("""n_synthetic = len(splits["holdout"])
validity, synthetic = {}, {}
variant = tk.load(run, "variant")
for name, item in trained.items():
    if item["privacy"] is None:  # the models chapter wrote the non-private cohorts
        continue
    cohorts = ex.synthesize_both(run, name, item["model"], variant, n_synthetic, item["directory"], panel,
                                 seed=seed, temperature=temperature, top_k=top_k, top_p=top_p,
                                 chapter=dpt.CHAPTER)
    for label, made in cohorts.items():
        validity[label], synthetic[label] = made["validity"], made["cohort"]
for name, item in trained.items():  # the non-private cohorts, for comparison
    if item["privacy"] is None:
        synthetic[name] = ex.read_synthetic(run, name, panel)
        validity[name] = ex.read_validity(run, name)
assert all(v["valid_rate"] == 1.0 for label, v in validity.items() if not label.endswith("unconstrained"))
train_cohort = ex.split_cohort(panel, splits["train"])
holdout_cohort = ex.split_cohort(panel, splits["holdout"])
look = ex.first_look(panel, {k: synthetic[k] for k in sorted(synthetic, key=lambda k: (k.split("-")[0], k))},
                     train_cohort, holdout_cohort, validity)
rundir.write_text(run / "metrics" / "04_dp_synthetic.csv", look.to_csv(index=False))
rundir.record_artefacts(run, "04_dp_training", {"seed": seed, "grid": grid, "temperature": temperature,
                                                "top_k": top_k, "top_p": top_p},
                        [run / "metrics" / "04_dp_synthetic.csv"])
glue("n_synthetic", f"{n_synthetic:,}", display=False)
ex.format_first_look(look)""", metadata={"tags": ["hide-input"]}),
md("""Every cohort has {glue:text}`n_synthetic` people. The constrained cohorts are valid by
construction at every ε (each site at most once, in any order, sorted afterwards, as in the
models chapter); what privacy changes is how close their variants per person and allele
frequencies come to the real people's. Read the variants per person together with the allele
frequencies: a model that has not learnt when a profile ends rarely chooses the end token and
writes far more variants than a real person carries, which raises every site's frequency at
once. The allele frequencies of the constrained cohorts against the holdout's:"""),
code("""constrained_private = {k: v for k, v in synthetic.items() if not k.endswith("unconstrained")}
charts.af_scatter_chart(ex.af_frame(constrained_private, holdout_cohort), reference="holdout")""",
     metadata={"tags": ["hide-input"]}),
md("""The utility chapter compares these cohorts in depth (allele frequencies, linkage,
population structure), and the privacy chapter asks what an attacker can learn from them
about the training members, against what ε promises."""),
]

write(cells, "04_dp_training")
