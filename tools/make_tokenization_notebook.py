"""Write book/02_tokenization.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_tokenization_notebook.py`` after editing and commit both files.
"""
from notebooks import IMPORT_LIB, code, md, write

cells = [
md("""# Tokenization: from profiles to tokens

A language model reads a sequence of ids from a fixed vocabulary. This chapter compares four
ways of cutting the profiles of the data chapter into tokens, on the same cohort:

- **character**: every character one token, as the dissertation's manual tokenizer;
- **BPE**: byte-level byte-pair encoding learned from the *training* profiles only;
- **variant**: one token per site of the public panel plus one per genotype;
- **GPT-2**: GPT-2's own BPE, when its files are available locally.

All four share the same special tokens and the same model text, and each decodes back to
exactly the text it encoded. They differ in sequence length (what a transformer pays for
quadratically), vocabulary size (what DP-SGD pays for: every embedding gets noise) and in
what the vocabulary itself reveals about the people it was learned from."""),
md("""## Parameters

`None` means the default: BPE with 4,096 ids, and GPT-2 from `../shared/data/gpt2-tokenizer`
if present, else the Hugging Face cache (offline), else skipped."""),
code("""profile = "quick"          # smoke | quick | full: sizes only
run_dir = None             # default: data/runs/<profile>
seed = 42
bpe_vocab_size = None      # default: 4096
gpt2_tokenizer_path = None # a directory with vocab.json and merges.txt""",
     metadata={"tags": ["parameters"]}),
code(IMPORT_LIB + """
import json
import logging

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from lib import charts, data, figures, rundir
from lib import tokenization as tk
from lib import vocab_privacy as vp

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
figures.setup()
run = rundir.run_path(run_dir, profile)
vocab_size = bpe_vocab_size or 4096
print(f"profile={profile} run directory: {run}")""", metadata={"tags": ["hide-input"]}),
md("""## The model text

The data chapter wrote the profiles; this chapter only reads them (it stops with a clear
message if they are missing). Every tokenizer reads the same text: a sample starts with
`<START_SAMPLE>`, optionally a population tag (`<POP_AFR>` ... `<POP_UNKNOWN>`, one per
super-population: public labels), its records separated by `<MUT_SEP>`, and `<END_SAMPLE>`.
Padding is `<PAD>`, and `<UNK>` stands for what a vocabulary cannot express."""),
code("""sparse = data.read_profiles(run)
dense = data.read_profiles(run, dense=True)
splits = data.load_splits(run)
panel = json.loads(data.cohort_paths(run)["panel"].read_text())
population = dict(zip(sparse["sample"], sparse["superpopulation"]))
records = {"sparse": dict(zip(sparse["sample"], sparse["variants"])),
           "dense": dict(zip(dense["sample"], dense["variants"]))}
texts = {kind: {s: tk.sample_to_text(recs, population[s]) for s, recs in records[kind].items()}
         for kind in records}
train_texts = [texts[k][s] for k in ("sparse", "dense") for s in splits["train"]]
example = next(s for s in splits["holdout"])
print(texts["sparse"][example][:300], "...")""", metadata={"tags": ["hide-input"]}),
md("""## Four tokenizers

The BPE tokenizer learns from the training split only (its sparse and dense texts), never
from the validation or holdout samples. The variant tokenizer is built from the panel's
public site list alone. Each is saved into the run directory (`tokenizers/<name>/`, the
Hugging Face way) with a `provenance.json` that records what it was built from."""),
code("""built = {
    "character": tk.build_tokenizer("character"),
    "bpe": tk.build_tokenizer("bpe", train_texts=train_texts, vocab_size=vocab_size),
    "variant": tk.build_tokenizer("variant", panel_sites=panel["sites"]),
    "gpt2": tk.build_tokenizer("gpt2", gpt2_path=gpt2_tokenizer_path),
}
if built["gpt2"] is None:
    display(Markdown("*No GPT-2 tokenizer was found locally (nothing is downloaded): GPT-2 is skipped.*"))
built = {name: tok for name, tok in built.items() if tok is not None}
for name, tok in built.items():
    tk.save(tok, run, name, extra={"panel_sha256": rundir.sha256(data.cohort_paths(run)["panel"])}
            if name == "variant" else None)
glue("n_tokenizers", str(len(built)), display=False)
for name, tok in built.items():
    assert all(tk.decode(tok, tok.encode(t, add_special_tokens=False)) == t
               for t in list(texts["sparse"].values())[:20]), name
pd.DataFrame([{"tokenizer": name, "vocabulary": f"{len(tok):,}",
               "built from": tok.provenance.get("split", tok.provenance.get("source", "panel" if name == "variant" else "alphabet")),
               "saved in": str(tk.tokenizer_dir(run, name).relative_to(run))} for name, tok in built.items()]).set_index("tokenizer")""",
     metadata={"tags": ["hide-input"]}),
md("""Here is the beginning of the same sample as each tokenizer cuts it (tokens separated by `·`):"""),
code("""for name, tok in built.items():
    pieces = [tok.convert_tokens_to_string([t]) for t in tok.tokenize(texts["sparse"][example])[:14]]
    print(f"{name:>10}: " + " · ".join(pieces))"""),
md("""## Why the variant tokenizer has site tokens and genotype tokens

A joint token per (site, genotype) would make each record one token instead of two, but it
multiplies the vocabulary by the number of genotypes a site can take (10 for a bi-allelic
site: 4 phased, 3 unphased, 3 with a missing allele). Under DP-SGD every parameter receives
noise of the same scale, while a row of the embedding matrix is trained only by the samples
that use that token: a joint token for a rare genotype at a rare site would be almost pure
noise, and nothing learned about `1|1` at one site would carry over to another. Factored, the
few genotype embeddings are trained by every record of every sample. Which genotypes are
possible at a site follows from its allele count, which the public panel gives, so a generator
can rule out impossible genotypes without looking at anyone's data. The cost is one more token
per record; the vocabulary here is {glue:text}`variant_vocab` ids for {glue:text}`n_panel_sites`
panel sites. The record separator costs nothing: a site token always starts a record, so the
variant tokenizer drops `<MUT_SEP>` when it encodes and writes it back when it decodes (the
decoded text is the same as every other tokenizer's)."""),
md("""## Sequence length

Tokens per sample, for the dense profiles (every panel site) and the sparse ones (only the
non-reference records). The table also gives each tokenizer's encoding speed, in samples per
second: it is the one number in this chapter that is *measured* (a wall-clock time) rather
than computed from the data, so it depends on the machine and varies from run to run."""),
code("""lengths = tk.length_table(built, {"dense": texts["dense"], "sparse": texts["sparse"]})
mean = lengths.set_index(["tokenizer", "profile"])["mean tokens"]
glue("variant_vocab", f"{len(built['variant']):,}", display=False)
glue("n_panel_sites", f"{len(panel['sites']):,}", display=False)
glue("bpe_vocab", f"{len(built['bpe']):,}", display=False)
glue("char_dense_tokens", f"{mean[('character', 'dense')]:,.0f}", display=False)
glue("bpe_dense_tokens", f"{mean[('bpe', 'dense')]:,.0f}", display=False)
glue("variant_sparse_tokens", f"{mean[('variant', 'sparse')]:,.0f}", display=False)
glue("bpe_dense_over_variant_sparse", f"{mean[('bpe', 'dense')] / mean[('variant', 'sparse')]:.1f}", display=False)
charts.tokens_per_sample_chart(lengths)""", metadata={"tags": ["hide-input"]}),
code("""lengths.assign(**{"vocabulary": lengths["vocabulary"].map("{:,}".format),
                  "mean tokens": lengths["mean tokens"].map("{:,.0f}".format),
                  "max tokens": lengths["max tokens"].map("{:,}".format),
                  "samples per second": lengths["samples per second"].map("{:,.0f}".format)}).set_index(["tokenizer", "profile"])""",
     metadata={"tags": ["hide-input"]}),
md("""A dense profile costs {glue:text}`char_dense_tokens` tokens per sample with the character
tokenizer and {glue:text}`bpe_dense_tokens` with BPE ({glue:text}`bpe_vocab` ids); a sparse
profile costs {glue:text}`variant_sparse_tokens` tokens with the variant tokenizer:
{glue:text}`bpe_dense_over_variant_sparse` times fewer than BPE on dense profiles. The GPT-2
vocabulary is large but was learned on English, so it cuts the records about as finely as
the character tokenizer does."""),
md("""## What a vocabulary discloses

DP-SGD protects a model's weights, not its tokenizer, and the dissertation's tokenizers were
learned on the members' data. A BPE vocabulary has a merge for every character sequence that
is frequent in its training text; in sparse profiles a site appears only when somebody
carries it, so with thousands of ids to fill the trainer ends up merging the position digits
of variants that one or two members carry. To measure it, we learn a **reference** BPE the
same way from non-member text (the validation split); the tokens of the members' BPE that the
reference lacks are *specific* to the members. We then count the rare sites (carried by at
most 5% of the cohort) that only members carry and whose position is inside a specific token,
beside the same count for rare sites only holdout samples carry, and run a membership test
that sees nothing but the vocabulary: a candidate's score is the number of its rare records
whose position is inside a specific token. Members and holdout samples come from one pool
(the data chapter's splits), so an AUC above 0.5 is what the vocabulary gives away."""),
code("""results, tables = vp.compare_vocabularies(texts, splits, panel["sites"], vocab_size=vocab_size, seed=seed,
                                         n_boot=1000, saved_bpe=built["bpe"])
by_case = results.set_index("tokenizer")
sparse_bpe = tables.set_index(["tokenizer", "carried only by"]).loc[vp.BPE_SPARSE]
first = by_case.loc[vp.BPE_SPARSE]
glue("disclosed_sites", f"{int(sparse_bpe.loc['members (train)', 'position in a specific token']):,}", display=False)
glue("member_only_rare_sites", f"{int(sparse_bpe.loc['members (train)', 'rare sites']):,}", display=False)
glue("holdout_disclosed_sites", f"{int(sparse_bpe.loc['non-members (holdout)', 'position in a specific token']):,}",
     display=False)
glue("holdout_only_rare_sites", f"{int(sparse_bpe.loc['non-members (holdout)', 'rare sites']):,}", display=False)
glue("bpe_sparse_auc", f"{first['auc']:.2f} (95% CI {first['ci_low']:.2f}-{first['ci_high']:.2f})", display=False)
glue("variant_auc", f"{by_case.loc[vp.VARIANT, 'auc']:.2f}", display=False)
glue("saved_bpe_auc", f"AUC {by_case.loc[vp.BPE_SAVED, 'auc']:.2f}", display=False)
charts.auc_chart(results)""", metadata={"tags": ["hide-input"]}),
code("""tables.assign(fraction=tables["fraction"].map(lambda f: "-" if pd.isna(f) else f"{f:.0%}")).set_index(["tokenizer", "carried only by"])""",
     metadata={"tags": ["hide-input"]}),
code("""results.assign(AUC=results.apply(lambda r: f"{r['auc']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]", axis=1),
               **{"specific tokens": results["n_specific_tokens"].map("{:,}".format),
                  "mean score, members": results["mean_member_score"].map("{:.2f}".format),
                  "mean score, holdout": results["mean_non_member_score"].map("{:.2f}".format)})[
    ["tokenizer", "AUC", "specific tokens", "mean score, members", "mean score, holdout"]].set_index("tokenizer")""",
     metadata={"tags": ["hide-input"]}),
md("""Learned on the members' sparse profiles, the BPE vocabulary holds the position of
{glue:text}`disclosed_sites` of the {glue:text}`member_only_rare_sites` rare sites that only
members carry, against {glue:text}`holdout_disclosed_sites` of the {glue:text}`holdout_only_rare_sites`
that only holdout samples carry; the vocabulary-only membership
test reaches an AUC of {glue:text}`bpe_sparse_auc`. Learned on dense profiles as well (the
saved BPE), every panel position is frequent whoever the members are, so position tokens stop
being specific and this test finds nothing to score ({glue:text}`saved_bpe_auc`) — yet the
vocabulary is still learned from the members, and a finer test (of genotype-bearing merges,
say) might find what this one does not. The variant tokenizer's vocabulary
is a function of the public panel: built for two different member sets it is the same, no
token is specific, and the test's AUC is {glue:text}`variant_auc` by construction. This is
why the models of the following chapters use it: the tokenizer is published with a private
model, and it must not be the part that leaks."""),
]

write(cells, "02_tokenization")
