"""Write book/03_models.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_03_models.py`` after editing and commit both files.
"""
from notebooks import code, md, write

cells = [
md("""# Models: two families, no privacy yet

This chapter trains the two model families of the book on the members' sparse profiles,
without differential privacy (ε is infinite): the small GPT written for this project in
PyTorch {cite:p}`paszke2019` (**minGPT**, after {cite:t}`karpathy2020`, built from layers
Opacus {cite:p}`yousefpour2021` can follow) on the **record** tokenizer (one token per
record), and **GPT-2** {cite:p}`radford2019` (Hugging Face's implementation
{cite:p}`wolf2020`, the same sizes) on the **variant** tokenizer (a site token, then a
genotype token). Both learn from the members (the *training* split) only and are validated
on the *validation* split after every epoch. Each then writes a synthetic cohort as large as
the holdout split, and we take a first look at it beside the real people. The private models
of the next chapter are trained the same way, so the differences there come from privacy.

Two more minGPTs are comparisons: one on the variant tokenizer, so that one-token and
two-token records can be set side by side in the same family, and one on a text tokenizer
(byte-pair encoding, learned on the public people), a tokenizer that cuts records into
sub-word pieces, as the dissertation's did."""),
md("""## Parameters

`base_model` is the GPT-2 that fine-tuning starts from: `None` pre-trains one here, on the
*public* people only (never trained on privately nor attacked); a directory with a saved
GPT-2 also works. `temperature`, `top_k` and `top_p` shape the sampling (`None`: no top-k or
nucleus filtering)."""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>
seed = 42
base_model = None          # None: pre-train a GPT-2 base on the public split
temperature = 1.0
top_k = None
top_p = None
text_tokenizer = "bpe"     # the text tokenizer of the comparison, minGPT only""",
     metadata={"tags": ["parameters"]}),
code("""import logging

import transformers

from lib import ch03_models as chapter
from lib.core import profiles
from lib.evaluation import utility
from lib.runs import experiments
from lib.runs.run import Run
from lib.book import charts, figures

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
figures.enable()
run = Run.at(run_dir, profile)
settings = profiles.resolve(profile)
sampling = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
print(f"profile={profile} run directory: {run}")""", metadata={"tags": ["hide-input"]}),
md("""## What the models learn from

This chapter only reads what the data and tokenization chapters wrote into the run
directory (it stops with a clear message if they are missing). A person's text is their
sparse profile: `<START_SAMPLE>`, the person's super-population tag (`<POP_EUR>`, ...), the
records separated by `<MUT_SEP>`, `<END_SAMPLE>`. The tag is what lets a model keep
populations apart: without it the non-private minGPT wrote people whose population a
classifier could barely tell (chapter 05 reports what was measured with and without it).
The members' tags are part of their records, so what a private model learns of them is
inside its ε. With the variant tokenizer a record is two tokens, its site and its genotype;
with the record tokenizer it is one."""),
code("""chapter.split_use_table(run, base_model)""", metadata={"tags": ["hide-input"]}),
md("""The {glue:text}`n_train` members average {glue:text}`record_tokens` tokens each with the
record tokenizer, {glue:text}`variant_tokens` with the variant tokenizer and
{glue:text}`text_tokens` with the {glue:text}`text_tokenizer` tokenizer.

## Training

Both families, decoder-only transformers {cite:p}`vaswani2017`, have the profile's sizes
(layers, heads, width) and training settings: AdamW, a warm-up then a cosine learning rate,
gradient clipping, the validation loss after each epoch, early stopping, and the weights of
the best epoch kept. Padding is never a target. The context is {glue:text}`context_from`
({glue:text}`mingpt_block` positions for the minGPT), not a length taken from the members: a
longer member's profile is cut to it, a per-person step that the privacy analysis of the
next chapter allows. The minGPT's positions are {glue:text}`mingpt_positions` and its input
and output embeddings are {glue:text}`mingpt_tied` (GPT-2's: {glue:text}`gpt2_tied`); fewer
trained weights leave less for the next chapter's noise to land on. The learning rates,
{glue:text}`mingpt_lr` for the minGPT and {glue:text}`gpt2_lr` for GPT-2, and these choices
were picked on a simulated cohort (`bench/tune_dp.py`). The minGPT starts from
{glue:text}`mingpt_base`. GPT-2 is fine-tuned from a base: unless `base_model` names one,
the base is pre-trained here on the public people's profiles, so that it carries nothing of
the members. Every model is saved into the run directory (`models/<model>-epsinf/`:
safetensors weights, configuration, tokenizer and metadata) and reused on a rerun whose
inputs and settings have not changed; its training history goes to `diagnostics/`."""),
code("""trained = chapter.train_models(run, settings, seed=seed, base_model=base_model, text_tokenizer=text_tokenizer)
chapter.training_table(run, trained)""", metadata={"tags": ["hide-input"]}),
md("""The minGPT has {glue:text}`mingpt_parameters` parameters and GPT-2 {glue:text}`gpt2_parameters`
(the same layers and width; GPT-2's base was {glue:text}`gpt2_base`). The record- and
variant-tokenizer models train for at most {glue:text}`train_epochs` epochs (early stopping may end them sooner); the
text-tokenizer model, whose sequences are several times longer, for at most
{glue:text}`text_model_epochs` — the profile sets both. The losses per epoch, on the
training split (solid) and the validation split (dashed), are in nats per token. Models with
different tokenizers predict different units (a record tokenizer's token is a whole record,
worth about two of the variant tokenizer's), so compare a model's two curves, and models of
the same tokenizer, but not losses across tokenizers. The
training loss is computed on the members: like everything in the run's `diagnostics/`, it is
for the researcher and is never released with a model."""),
code("""charts.loss_curves_chart(chapter.loss_frame(trained))""", metadata={"tags": ["hide-input"]}),
md("""## Synthetic cohorts

Each model writes as many people as the holdout split has. Sampling starts from the
`<START_SAMPLE>` token and a population tag, never from a real person's first records
(which would copy them into the synthetic cohort). The tags are drawn in the *public*
people's proportions (each population's share of the cohort, rounded by largest
remainder, in a seeded order), so the cohort's population mix says nothing of the members',
and each synthetic person's tag is written beside their records. Under **constrained decoding** every step may only choose a
token that keeps the profile valid for the public panel: a site of the panel written as the
panel writes it, a genotype that site can have, each site at most once; so every record is
valid by construction, and the constraint uses nothing but the public panel. With the
variant tokenizer (a site token, then a genotype token) the sites may come in any order, and
the records are sorted into panel order afterwards, and so with the record tokenizer, whose
every token is a whole record that the grammar checks at once; the text-tokenizer model, whose tokens
do not line up with records, must also write them in increasing position. Why not always
demand the order profiles are written in: a model that knows which sites a person carries
better than in which order to write them would have its profile cut short, since once it
has written a later site every earlier one is forbidden, and the probability it held goes to
the later sites and to the end of the sample. Without the constraint the model may write
anything, and we count how much of it is valid. Each cohort is written to the run
directory as a bgzipped, indexed VCF (`synthetic/<model>-epsinf.vcf.gz`; the unconstrained
ones as `<model>-epsinf-unconstrained`); `synthesize_all` stops with an error should a
constrained record ever be invalid."""),
code("""cohorts = experiments.synthesize_all(run, trained, experiments.holdout_size(run), seed=seed, **sampling)
chapter.validity_table(cohorts)""", metadata={"tags": ["hide-input"]}),
md("""Constrained, every record of every model is valid. Unconstrained, the minGPT's records
are {glue:text}`mingpt_unconstrained_validity` valid, GPT-2's
{glue:text}`gpt2_unconstrained_validity`, the variant-tokenizer minGPT's
{glue:text}`mingpt_other_unconstrained_validity` and the text-tokenizer minGPT's
{glue:text}`text_unconstrained_validity`: a model that has seen little data
writes records that are not on the panel, or not records at all, and the constraint is what
makes its output a usable cohort. The rest of the book uses the constrained cohorts."""),
md("""## A first look

How many variants does a synthetic person carry, and how often is each site's ALT allele
written? The table puts each synthetic cohort beside the real holdout (people the models never
saw) and the members: the mean and standard deviation of variants per person, and the
Pearson correlation and mean absolute difference of the per-site ALT allele frequency against
the members and the holdout. The columns against the members are computed on the members:
a diagnostic outside any guarantee. The utility chapter compares the cohorts in depth; the
privacy chapter asks whether they copy their members."""),
code("""look = experiments.record_first_look(run, cohorts, params={"seed": seed, "text_tokenizer": text_tokenizer, **sampling})
figures.glue_numbers(chapter.numbers(run, settings, trained, cohorts, look, text_tokenizer, base_model))
utility.format_first_look(look)""", metadata={"tags": ["hide-input"]}),
code("""charts.af_scatter_chart(experiments.synthetic_af_frame(run, cohorts), reference="holdout")""",
     metadata={"tags": ["hide-input"]}),
md("""A real holdout person carries {glue:text}`holdout_variants` variants on the panel; the
minGPT's synthetic people carry {glue:text}`mingpt_variants`, GPT-2's
{glue:text}`gpt2_variants`. Their per-site ALT allele frequencies correlate with the
holdout's at r = {glue:text}`mingpt_af_r` (minGPT) and {glue:text}`gpt2_af_r`
(GPT-2). The minGPT on the variant tokenizer writes {glue:text}`mingpt_other_variants` per
person at r = {glue:text}`mingpt_other_af_r`, on the same members, architecture and
settings as the one on one-token records. Two samples of real people, the members and the holdout, reach
{glue:text}`train_holdout_af_r`, which is about as close as a synthetic cohort of this size
can be expected to come. These are non-private models: the next chapter trains the same
models under differential privacy and measures what the privacy costs."""),
]

write(cells, "03_models")
