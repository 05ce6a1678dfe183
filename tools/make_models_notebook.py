"""Write book/03_models.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_models_notebook.py`` after editing and commit both files.
"""
from notebooks import IMPORT_LIB, code, md, write

cells = [
md("""# Models: two families, no privacy yet

This chapter trains the two model families of the book on the variant tokenizer's sparse
profiles, without differential privacy (epsilon is infinite): the small GPT written for
this project (**minGPT**, built from layers Opacus can follow) and **GPT-2** (Hugging Face's
implementation, the same sizes). Both learn from the *training* split only and are validated
on the *validation* split after every epoch. Each then writes a synthetic cohort as large as
the holdout split, and we take a first look at it beside the real people. The private models
of the next chapter are trained the same way, so the differences there come from privacy.

One more minGPT learns from a text tokenizer (byte-pair encoding by default), the one
comparison in this chapter of a tokenizer that cuts records into sub-word pieces."""),
md("""## Parameters

`base_model` is the GPT-2 that fine-tuning starts from: `None` pre-trains one here, on the
*public* split only (reference samples that are never trained on privately nor attacked);
a directory with a saved GPT-2 also works. `temperature`, `top_k` and `top_p` shape the
sampling (`None`: no top-k or nucleus filtering)."""),
code("""profile = "quick"          # smoke | quick | full: sizes only
run_dir = None             # default: data/runs/<profile>
seed = 42
base_model = None          # None: pre-train a GPT-2 base on the public split
temperature = 1.0
top_k = None
top_p = None
text_tokenizer = "bpe"     # the text tokenizer of the comparison, minGPT only""",
     metadata={"tags": ["parameters"]}),
code(IMPORT_LIB + """
import logging
import time

import pandas as pd
import transformers
from IPython.display import Markdown, display
from myst_nb import glue

from lib import charts, data, figures, models, profiles, rundir
from lib import experiment as ex
from lib import tokenization as tk

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
figures.setup()
run = rundir.run_path(run_dir, profile)
settings = profiles.resolve(profile)
print(f"profile={profile} run directory: {run}")""", metadata={"tags": ["hide-input"]}),
md("""## What the models learn from

This chapter only reads what the data and tokenization chapters wrote into the run
directory (it stops with a clear message if they are missing). A sample's text is its
sparse profile, `<START_SAMPLE>`, the records separated by `<MUT_SEP>`, `<END_SAMPLE>`,
here without the population tag: the models learn to write people, not people of a given
population. With the variant tokenizer a record is two tokens, its site and its genotype."""),
code("""panel = data.load_cohort(run)  # both raise FileNotFoundError naming the chapter to run first
splits = data.load_splits(run)
tokenizers = {"variant": tk.load(run, "variant"), text_tokenizer: tk.load(run, text_tokenizer)}
sizes = {split: len(splits[split]) for split in ("train", "validation", "holdout", "public")}
lengths = {name: tk.tokens_per_sample(tok, [tk.sample_to_text(list(r)) for r in ex.split_profiles(run, "train")["variants"]])
           for name, tok in tokenizers.items()}
for split, n in sizes.items():
    glue(f"n_{split}", f"{n:,}", display=False)
glue("variant_tokens", f"{sum(lengths['variant']) / len(lengths['variant']):,.0f}", display=False)
glue("text_tokens", f"{sum(lengths[text_tokenizer]) / len(lengths[text_tokenizer]):,.0f}", display=False)
glue("text_tokenizer", text_tokenizer, display=False)
pd.DataFrame([{"split": split, "samples": f"{n:,}",
               "used for": {"train": "training", "validation": "validation loss, early stopping",
                            "holdout": "comparison only (never trained on)",
                            "public": "GPT-2 base pre-training" if base_model is None else "not used"}[split]}
              for split, n in sizes.items()]).set_index("split")""", metadata={"tags": ["hide-input"]}),
md("""The {glue:text}`n_train` training samples average {glue:text}`variant_tokens` variant
tokens each, and {glue:text}`text_tokens` with the {glue:text}`text_tokenizer` tokenizer.

## Training

Both families have the profile's sizes (layers, heads, width, context) and the same
training settings: AdamW, a warm-up then a cosine learning rate, gradient clipping, the
validation loss after each epoch, early stopping, and the weights of the best epoch kept.
Padding is never a target. GPT-2 is fine-tuned from a base: unless `base_model` names one,
the base is pre-trained here on the public split's profiles, so that it carries nothing of
the private training members. Every model is saved into the run directory
(`models/<model>-epsinf/`: safetensors weights, configuration, tokenizer, metadata and
`history.json`) and reused on a rerun whose inputs and settings have not changed."""),
code("""started = time.perf_counter()
trained, histories, directories = {}, {}, {}
base = base_model
if base is None:
    base = ex.public_base(run, tokenizers["variant"], settings, seed=seed)
runs = [("mingpt", "variant", None), ("gpt2", "variant", base), ("mingpt", text_tokenizer, None)]
for family, tok_name, base_dir in runs:
    name = ex.model_name(family, tok_name)
    # the text-tokenizer model reads sequences several times longer: the profile gives it its own epochs
    extra = {} if tok_name == "variant" else {"epochs": settings["text_model_epochs"]}
    trained[name], histories[name], directories[name] = ex.train_model(run, family, tok_name, settings, seed=seed,
                                                                       base_model=base_dir, **extra)
training_seconds = time.perf_counter() - started
tokenizer_of = {ex.model_name(f, t): t for f, t, _ in runs}
table = pd.DataFrame([{
    "model": name, "tokenizer": tokenizer_of[name],
    "parameters": f"{models.num_parameters(model):,}",
    "epochs": str(len(histories[name]["epochs"])),
    "best validation loss": f"{histories[name]['best_val_loss']:.3f}",
    "tokens per second": f"{histories[name]['epochs'][-1]['tokens_per_s']:,.0f}",
    "saved in": str(directories[name].relative_to(run))} for name, model in trained.items()]).set_index("model")
glue("mingpt_parameters", f"{models.num_parameters(trained['mingpt-epsinf']):,}", display=False)
glue("gpt2_parameters", f"{models.num_parameters(trained['gpt2-epsinf']):,}", display=False)
glue("gpt2_base", "pre-trained here on the public split" if base_model is None else f"`{base_model}`", display=False)
glue("train_epochs", f"{settings['train_epochs']}", display=False)
glue("text_model_epochs", f"{settings['text_model_epochs']}", display=False)
table""", metadata={"tags": ["hide-input"]}),
md("""The minGPT has {glue:text}`mingpt_parameters` parameters and GPT-2 {glue:text}`gpt2_parameters`
(the same sizes; GPT-2's base was {glue:text}`gpt2_base`). The variant-tokenizer models train
for at most {glue:text}`train_epochs` epochs (early stopping may end them sooner); the
text-tokenizer model, whose sequences are several times longer, for at most
{glue:text}`text_model_epochs` — the profile sets both. The losses per epoch, on the
training split (solid) and the validation split (dashed), are in nats per token. Models with
different tokenizers predict different units, so compare a model's two curves, and the two
families with the variant tokenizer, but not the text tokenizer's loss with theirs."""),
code("""charts.loss_curves_chart(ex.loss_frame(histories))""", metadata={"tags": ["hide-input"]}),
md("""## Synthetic cohorts

Each model writes as many people as the holdout split has. Sampling starts from the
`<START_SAMPLE>` token alone, never from a real person's first records (which would copy
them into the synthetic cohort). Under **constrained decoding** every step may only choose a
token that keeps the profile valid for the public panel: a site of the panel written as the
panel writes it, a genotype that site can have, each site at most once; so every record is
valid by construction. With the variant tokenizer (a site token, then a genotype token) the
sites may come in any order, and the records are sorted into panel order afterwards; the
text-tokenizer model, whose tokens do not line up with records, must also write them in
increasing position. Why not always demand the order profiles are written in: a model that
knows which sites a person carries better than in which order to write them would have its
profile cut short, since once it has written a later site every earlier one is forbidden and
the probability it held goes to the later sites and to the end of the sample (with these
models the ordered constraint roughly halved the variants per person and lowered the allele
frequency correlation). Without the constraint the model may write anything, and we count
how much of it is valid. Each cohort is written to the run
directory as a bgzipped, indexed VCF (`synthetic/<model>-epsinf.vcf.gz`; the unconstrained
ones as `<model>-epsinf-unconstrained`)."""),
code("""n_synthetic = sizes["holdout"]
validity, synthetic, gen_seconds = {}, {}, {}
for name, model in trained.items():
    cohorts = ex.synthesize_both(run, name, model, tokenizers[tokenizer_of[name]], n_synthetic, directories[name],
                                 panel, seed=seed, temperature=temperature, top_k=top_k, top_p=top_p)
    for label, made in cohorts.items():
        validity[label], synthetic[label], gen_seconds[label] = made["validity"], made["cohort"], made["seconds"]
assert all(validity[name]["valid_rate"] == 1.0 for name in trained), "constrained decoding wrote an invalid record"
validity_table = pd.DataFrame([{
    "cohort": label, "decoding": "constrained" if label in trained else "unconstrained",
    "records": f"{v['records']:,}", "valid records": f"{v['valid_rate']:.1%}",
    "valid samples": f"{v['valid_samples']:,} of {v['n_samples']:,}",
    "malformed": f"{v.get('malformed', 0):,}", "off panel or wrong alleles": f"{v.get('off_panel', 0) + v.get('wrong_alleles', 0):,}",
    "bad genotype": f"{v.get('bad_genotype', 0):,}",
    "out of order or repeated": f"{v.get('out_of_order', 0) + v.get('duplicate', 0):,}",
    "no end token": f"{v['unfinished']:,}", "seconds": f"{gen_seconds[label]:.1f}"} for label, v in validity.items()])
role = {"mingpt-epsinf": "mingpt", "gpt2-epsinf": "gpt2", ex.model_name("mingpt", text_tokenizer): "text"}
for name in trained:
    glue(f"{role[name]}_unconstrained_validity", f"{validity[name + '-unconstrained']['valid_rate']:.1%}", display=False)
glue("n_synthetic", f"{n_synthetic:,}", display=False)
validity_table.set_index("cohort")""", metadata={"tags": ["hide-input"]}),
md("""Constrained, every record of every model is valid. Unconstrained, the minGPT's records
are {glue:text}`mingpt_unconstrained_validity` valid, GPT-2's
{glue:text}`gpt2_unconstrained_validity`, and the text-tokenizer minGPT's
{glue:text}`text_unconstrained_validity`: a model that has seen little data
writes records that are not on the panel, or not records at all, and the constraint is what
makes its output a usable cohort. The rest of the book uses the constrained cohorts."""),
md("""## A first look

How many variants does a synthetic person carry, and how often is each site's ALT allele
written? The table puts each synthetic cohort beside the real holdout (people the models never
saw) and training members: the mean and standard deviation of variants per person, and the
Pearson correlation and mean absolute difference of the per-site ALT allele frequency against
the training and the holdout members. The utility chapter compares the cohorts in depth; the
privacy chapter asks whether they copy their training members."""),
code("""train_cohort = ex.split_cohort(panel, splits["train"])
holdout_cohort = ex.split_cohort(panel, splits["holdout"])
constrained = {name: synthetic[name] for name in trained}
look = ex.first_look(panel, synthetic, train_cohort, holdout_cohort, validity)
rundir.write_text(run / "metrics" / "03_models.csv", look.to_csv(index=False))
rundir.record_artefacts(run, "03_models", {"seed": seed, "temperature": temperature, "top_k": top_k,
                                           "top_p": top_p, "text_tokenizer": text_tokenizer},
                        [run / "metrics" / "03_models.csv"])
rows = look.set_index("cohort")
for name in trained:
    glue(f"{role[name]}_af_r", f"{rows.loc[name, 'AF r (holdout)']:.2f}", display=False)
    glue(f"{role[name]}_variants", f"{rows.loc[name, 'variants per sample']:.1f}", display=False)
glue("holdout_variants", f"{rows.loc['holdout (real)', 'variants per sample']:.1f}", display=False)
glue("train_holdout_af_r", f"{rows.loc['train (real)', 'AF r (holdout)']:.2f}", display=False)
ex.format_first_look(look)""", metadata={"tags": ["hide-input"]}),
code("""charts.af_scatter_chart(ex.af_frame(constrained, holdout_cohort), reference="holdout")""",
     metadata={"tags": ["hide-input"]}),
md("""A real holdout person carries {glue:text}`holdout_variants` variants on the panel; the
minGPT's synthetic people carry {glue:text}`mingpt_variants`, GPT-2's
{glue:text}`gpt2_variants`. Their per-site ALT allele frequencies correlate with the
holdout's at r = {glue:text}`mingpt_af_r` (minGPT) and {glue:text}`gpt2_af_r`
(GPT-2); two samples of real people, the training members and the holdout, reach
{glue:text}`train_holdout_af_r`, which is about as close as a synthetic cohort of this size
can be expected to come. These are non-private models: the next chapter trains the same
models under differential privacy and measures what the privacy costs."""),
]

write(cells, "03_models")
