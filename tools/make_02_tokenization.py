"""Write book/02_tokenization.ipynb (without outputs) from the cells below.

The chapter is kept as this script so that its cells can be reviewed as code; run
``python tools/make_02_tokenization.py`` after editing and commit both files.
"""
from notebooks import code, md, write

cells = [
md("""# Tokenization: from profiles to tokens

A language model reads a sequence of ids from a fixed vocabulary. This chapter compares four
ways of cutting the profiles of the data chapter into tokens, on the same cohort:

- **character**: every character one token, as the dissertation's manual tokenizer;
- **BPE**: byte-level byte-pair encoding {cite:p}`radford2019` learned from the **public**
  people's profiles;
- **variant**: one token per site of the public panel plus one per genotype;
- **GPT-2**: GPT-2's own BPE {cite:p}`radford2019`, when its files are available locally.

All four share the same special tokens and the same model text, and each decodes back to
exactly the text it encoded. They differ in sequence length (what a transformer pays for
quadratically), vocabulary size (what DP-SGD pays for: every embedding gets noise) and in
what the vocabulary itself reveals about the people it was learned from: a tokenizer is
published with every model, and DP-SGD does not protect it, so every tokenizer here is built
from public information only."""),
md("""## Parameters

`None` means the default: BPE with 4,096 ids, and GPT-2 from `../shared/data/gpt2-tokenizer`
if present, else the Hugging Face cache (offline), else left out."""),
code("""profile = "quick"          # smoke | quick | full
run_dir = None             # default: data/runs/<profile>
seed = 42
bpe_vocab_size = None      # default: 4096
gpt2_tokenizer_path = None # a directory with vocab.json and merges.txt""",
     metadata={"tags": ["parameters"]}),
code("""import logging

from lib import ch02_tokenization as chapter
from lib.runs.run import Run
from lib.book import charts, figures

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
figures.enable()
run = Run.at(run_dir, profile)
vocab_size = bpe_vocab_size or chapter.DEFAULT_VOCAB_SIZE
print(f"profile={profile} run directory: {run}")""", metadata={"tags": ["hide-input"]}),
md("""## The model text

The data chapter wrote the profiles; this chapter only reads them (it stops with a clear
message if they are missing). Every tokenizer reads the same text: a person starts with
`<START_SAMPLE>`, optionally a population tag (`<POP_AFR>` ... `<POP_UNKNOWN>`, one per
super-population: public labels), their records separated by `<MUT_SEP>`, and `<END_SAMPLE>`.
Padding is `<PAD>`, and `<UNK>` stands for what a vocabulary cannot express."""),
code("""texts = chapter.model_texts(run)
print(chapter.example_text(texts, run))""", metadata={"tags": ["hide-input"]}),
md("""## Four tokenizers

The BPE tokenizer learns from the public people only (their sparse and dense texts), never
from a member, a validation or a holdout person. The variant tokenizer is built from the
public panel's site list alone. Each is saved into the run directory (`tokenizers/<name>/`,
the Hugging Face way) with a `provenance.json` that records what it was built from, and
`build_tokenizers` checks that each decodes what it encodes back to the same text."""),
code("""built = chapter.build_tokenizers(run, texts, vocab_size, gpt2_tokenizer_path)
chapter.tokenizer_table(run, built)""", metadata={"tags": ["hide-input"]}),
md("""Here is the beginning of the same person's text as each tokenizer cuts it (tokens separated by `·`):"""),
code("""print(chapter.example_pieces(built, chapter.example_text(texts, run)))""", metadata={"tags": ["hide-input"]}),
md("""## One token per record, or two

The panel gives two tokenizers whose tokens are records or halves of records. The **variant**
tokenizer writes a record as a site token and a genotype token; the **record** tokenizer as
one token per (site, genotype). The record tokenizer halves the length of a profile and a
model cannot stop half-way through a record, but it multiplies the vocabulary by the number
of genotypes a site can take (the public people's phasing decides which: phased, `0|1`,
`1|0`, `1|1`, and for a multi-allelic site every pair of its alleles); the vocabulary here is
{glue:text}`record_vocab` ids against the variant tokenizer's {glue:text}`variant_vocab`, for
{glue:text}`n_panel_sites` panel sites. Both are built from the public panel alone, so
neither can disclose a member.

Which is better under DP-SGD is not obvious. Every parameter receives noise of the same
scale, while a row of the embedding matrix is trained only by the people whose profiles use
that token: a joint token for a rare genotype at a rare site is trained by few people, and
nothing learnt about `1|1` at one site carries over to another, whereas factored, the few
genotype embeddings are trained by every record of every person. Against that, the record
tokenizer's profiles are half as long, so a model has half as many steps to get wrong and its
positions and attention have half as far to reach. Measured on a simulated cohort of the
quick profile's size (`bench/tune_dp.py`), the minGPT learned one-token records better at
every ε, and GPT-2, whose base is pre-trained on the public people, did better with two: the
book's minGPT uses the record tokenizer and GPT-2 the variant tokenizer (the models chapter
trains a minGPT on each, to set them side by side). The record separator costs nothing in
either: a site token, or a record token, always starts a record, so both drop `<MUT_SEP>`
when they encode and write it back when they decode (the decoded text is the same as every
other tokenizer's)."""),
md("""## Sequence length

Tokens per person, for the dense profiles (every panel site) and the sparse ones (only the
non-reference records). The table also gives each tokenizer's encoding speed, in samples per
second: it is the one number in this chapter that is *measured* (a wall-clock time) rather
than computed from the data, so it depends on the machine and varies from run to run. The
table is computed over every person, members included (their maximum lengths among them),
so like everything in the run's `diagnostics/` it is outside the guarantee and never
released: it is saved as `diagnostics/02_lengths.csv` and reused while the tokenizers and
texts are unchanged, speeds included. The models' context does not come from it but from
the public people alone (next chapter)."""),
code("""lengths = chapter.lengths(built, texts, run)
charts.tokens_per_sample_chart(lengths)""", metadata={"tags": ["hide-input"]}),
code("""chapter.format_lengths(lengths)""", metadata={"tags": ["hide-input"]}),
md("""A dense profile costs {glue:text}`char_dense_tokens` tokens per person with the character
tokenizer and {glue:text}`bpe_dense_tokens` with BPE ({glue:text}`bpe_vocab` ids); a sparse
profile costs {glue:text}`variant_sparse_tokens` tokens with the variant tokenizer,
{glue:text}`bpe_dense_over_variant_sparse` times fewer than BPE on dense profiles, and
{glue:text}`record_sparse_tokens` with the record tokenizer, {glue:text}`bpe_dense_over_record_sparse`
times fewer: one token per non-reference record and the two ends, the floor for a profile
written record by record. The GPT-2
vocabulary is large but was learned on English, so it cuts the records about as finely as
the character tokenizer does."""),
md("""## What a vocabulary discloses

The dissertation learned its BPE tokenizers on the members' data. A BPE vocabulary has a merge
for every character sequence that is frequent in its training text; in sparse profiles a
site appears only when somebody carries it, so with thousands of ids to fill the trainer ends
up merging the position digits of variants that one or two members carry. The test follows
the definition of differential privacy {cite:p}`dwork2006`: each *recipe* — a way of
building a tokenizer from a cohort — is run twice, on the cohort **with** a set of candidate
members (a seeded half of the members, {glue:text}`n_candidates` people) and on the same
cohort **without** them. The tokens the first build has and the second lacks are *specific*
to the candidates. We count the rare sites (carried by at most 5% of the cohort) that only
candidates carry and whose position is inside a specific token, beside the same count for
rare sites only the {glue:text}`n_holdout` holdout people carry (in neither build), and run
a membership test that sees nothing but the two vocabularies: a person's score is the number
of their rare records whose position is inside a specific token; an AUC above 0.5 is what
the vocabulary gives away. The recipes: BPE on the members' sparse profiles (the
dissertation's), the same with merges across whole records, and this book's two — BPE on the
public people and the variant tokenizer of the public panel (the panel chosen again, from
the people given)."""),
code("""results, tables = chapter.vocabulary_comparison(run, texts, vocab_size, seed=seed)
figures.glue_numbers(chapter.numbers(run, built, lengths, results, tables))
charts.auc_chart(results)""", metadata={"tags": ["hide-input"]}),
code("""chapter.format_disclosure(tables)""", metadata={"tags": ["hide-input"]}),
code("""chapter.format_results(results)""", metadata={"tags": ["hide-input"]}),
md("""Learned on the members' sparse profiles, the BPE vocabulary holds the position of
{glue:text}`disclosed_sites` of the {glue:text}`member_only_rare_sites` rare sites that only the
candidates carry, against {glue:text}`holdout_disclosed_sites` of the
{glue:text}`holdout_only_rare_sites` that only holdout people carry; the vocabulary-only
membership test reaches an AUC of {glue:text}`bpe_members_auc`. This book's recipes build
vocabularies that are {glue:text}`bpe_public_identical` (BPE on the public people) and
{glue:text}`variant_identical` (the variant tokenizer; the record tokenizer is built from the
same panel) with and without the candidates: no
token is specific, and the test's AUC is {glue:text}`bpe_public_auc` and
{glue:text}`variant_auc`. This is why the models of the following chapters use them: the
tokenizer is published with a private model, and it must not be the part that leaks."""),
]

write(cells, "02_tokenization")
