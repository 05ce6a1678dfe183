"""The tokenization chapter (``book/02_tokenization.ipynb``): four tokenizers, from public
information only, their sequence lengths, and what a vocabulary can disclose.

1. :func:`model_texts` -- every person's model text (:func:`lib.lm.tokenization.sample_to_text`),
   sparse and dense, with the super-population tag.
2. :func:`build_tokenizers` -- the character tokenizer (a fixed alphabet), byte-level BPE
   learned on the **public** people's texts, the variant tokenizer of the public panel
   (a site token and a genotype token per record), the record tokenizer (one token per
   record, also from the public panel), and GPT-2's own BPE when its files are found
   locally; each saved the Hugging Face way into ``tokenizers/<name>/`` with
   ``provenance.json``, and checked to decode every text it encodes back to itself.
3. :func:`lengths` -- tokens per person, per tokenizer and profile kind.
4. :func:`vocabulary_comparison` -- each tokenizer *recipe* built with and without a set
   of candidate members (:func:`lib.lm.vocab_privacy.compare_vocabularies`): the book's
   recipes (BPE on the public people, the variant tokenizer of the public panel) beside the
   dissertation's (BPE learned on the members).
"""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from .core import rundir
from .genomes import panel, profiletext
from .lm import tokenization as tk
from .lm import vocab_privacy as vp
from .runs import artefacts
from .runs.run import Run

CHAPTER = "02_tokenization"
DEFAULT_VOCAB_SIZE = 4096
#: The recipes of :func:`vocabulary_comparison`, in order.
BPE_MEMBERS = "BPE on the members, sparse (dissertation)"
BPE_MEMBER_RECORDS = "BPE on the members, whole records"
BPE_PUBLIC = "BPE on the public people (this book)"
VARIANT = "variant, public panel (this book)"
RECIPES = (BPE_MEMBERS, BPE_MEMBER_RECORDS, BPE_PUBLIC, VARIANT)


def model_texts(run: str | os.PathLike) -> dict[str, dict[str, str]]:
    """``{"sparse": {sample: text}, "dense": {sample: text}}`` for every person of the run,
    each text with the person's super-population tag."""
    sparse, dense = artefacts.read_profiles(run), artefacts.read_profiles(run, dense=True)
    population = dict(zip(sparse["sample"], sparse["superpopulation"]))
    return {kind: {s: tk.sample_to_text(list(records), population[s])
                   for s, records in zip(frame["sample"], frame["variants"])}
            for kind, frame in (("sparse", sparse), ("dense", dense))}


def _public_bpe(texts: Mapping[str, Mapping[str, str]], people: Sequence[str], vocab_size: int):
    if not people:
        raise ValueError("the run has no public people to learn BPE from: set public_fraction in the data chapter")
    return tk.bpe_tokenizer([texts[k][s] for k in ("sparse", "dense") for s in people], vocab_size, split="public")


def build_tokenizers(run: str | os.PathLike, texts: Mapping[str, Mapping[str, str]],
                     vocab_size: int = DEFAULT_VOCAB_SIZE, gpt2_path: str | os.PathLike | None = None,
                     n_checked: int = 20) -> dict[str, Any]:
    """Build, check and save the four tokenizers (GPT-2 only when found locally; nothing
    is downloaded). Each must decode the first ``n_checked`` sparse texts back to
    themselves exactly, else a ValueError names it. Returns name -> tokenizer."""
    splits = artefacts.load_splits(run)
    panel_json = artefacts.read_panel_json(run)
    built = {"character": tk.build_tokenizer("character"),
             "bpe": _public_bpe(texts, splits["public"], vocab_size),
             "variant": tk.build_tokenizer("variant", panel_sites=panel_json["sites"]),
             "record": tk.build_tokenizer("record", panel_sites=panel_json["sites"], phased=panel_json["phased"]),
             "gpt2": tk.build_tokenizer("gpt2", gpt2_path=gpt2_path)}
    built = {name: tok for name, tok in built.items() if tok is not None}
    sample = list(texts["sparse"].values())[:n_checked]
    for name, tok in built.items():
        bad = [t for t in sample if tk.decode(tok, tok.encode(t, add_special_tokens=False)) != t]
        if bad:
            raise ValueError(f"the {name} tokenizer does not decode {len(bad)} of {len(sample)} texts back to "
                             f"themselves, e.g. {bad[0][:80]!r}")
        extra = ({"panel_sha256": rundir.sha256(Run.of(run).cohort_paths()["panel"])}
                 if name in ("variant", "record") else None)
        tk.save(tok, run, name, extra=extra)
    return built


def tokenizer_table(run: str | os.PathLike, built: Mapping[str, Any]) -> pd.DataFrame:
    """One row per tokenizer: vocabulary size, what it was built from, where it is saved."""
    source = {"character": "a fixed alphabet", "bpe": "the public people's texts",
              "variant": "the public panel's sites", "record": "the public panel's sites and genotypes",
              "gpt2": "GPT-2's released files"}
    rows = [{"tokenizer": name, "vocabulary": f"{len(tok):,}", "built from": source[name],
             "saved in": str(tk.tokenizer_dir(run, name).relative_to(run))} for name, tok in built.items()]
    if "gpt2" not in built:
        rows.append({"tokenizer": "gpt2", "vocabulary": "–", "built from": "not found locally (nothing is "
                     "downloaded): left out", "saved in": "–"})
    return pd.DataFrame(rows).set_index("tokenizer")


def example_pieces(built: Mapping[str, Any], text: str, n_tokens: int = 14) -> str:
    """The first ``n_tokens`` tokens of ``text`` as each tokenizer cuts it (``·`` between)."""
    lines = []
    for name, tok in built.items():
        pieces = [tok.convert_tokens_to_string([t]) for t in tok.tokenize(text)[:n_tokens]]
        lines.append(f"{name:>10}: " + " · ".join(pieces))
    return "\n".join(lines)


def lengths(built: Mapping[str, Any], texts: Mapping[str, Mapping[str, str]],
            run: str | os.PathLike | None = None) -> pd.DataFrame:
    """:func:`lib.lm.tokenization.length_table` over the dense and sparse texts. With ``run``,
    the table is saved to ``diagnostics/02_lengths.csv`` and reused while the tokenizers and
    texts are unchanged (encoding every dense profile takes most of the chapter's time; the
    reused table keeps the encoding speed measured when it was made). It is computed over
    every person, members included: a diagnostic outside the guarantee, never released."""
    kinds = {"dense": texts["dense"], "sparse": texts["sparse"]}
    if run is None:
        return tk.length_table(built, kinds)
    run = Run.of(run)
    path = run.diagnostics_path("02_lengths.csv")
    params = {"role": "tokens per sample", "texts_sha256": tk.texts_sha256(
                  [t for kind in kinds.values() for t in kind.values()]),
              "tokenizers": {name: rundir.sha256(tk.tokenizer_dir(run, name) / "tokenizer.json") for name in built}}
    if run.is_current(params, [path]):
        return pd.read_csv(path)
    table = tk.length_table(built, kinds)
    rundir.write_text(path, table.to_csv(index=False))
    run.record(CHAPTER, params, [path])
    return table


def format_lengths(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(**{"vocabulary": table["vocabulary"].map("{:,}".format),
                           "mean tokens": table["mean tokens"].map("{:,.0f}".format),
                           "max tokens": table["max tokens"].map("{:,}".format),
                           "samples per second": table["samples per second"].map("{:,.0f}".format)}
                        ).set_index(["tokenizer", "profile"])


# --------------------------------------------------------------------------------------
# What a vocabulary discloses
# --------------------------------------------------------------------------------------

def panel_recipe(run: str | os.PathLike, seed: int) -> Callable[[Mapping[str, Sequence[str]]], Any]:
    """The variant tokenizer as the book builds it, as a function of the people: the panel
    chosen again (:mod:`lib.genomes.panel`, on the run's panel sites, with the people given:
    a declared list as it is, otherwise the sites that vary among the public people),
    then its tokenizer."""
    cohort, info = artefacts.load_cohort(run), artefacts.read_panel_json(run)

    def build(people: Mapping[str, Sequence[str]]):
        everyone = [s for ids in people.values() for s in ids]
        table = panel.site_table(artefacts.split_cohort(cohort, everyone), people)
        choose = panel.from_declared if info["declared"] else panel.from_public_split
        choice = choose(table, None, info["n_common"] / max(info["n_sites"], 1), seed)
        return tk.variant_tokenizer(profiletext.site_keys(cohort.subset(site_index=choice.index)))
    return build


def recipes(run: str | os.PathLike, texts: Mapping[str, Mapping[str, str]], vocab_size: int,
            seed: int) -> dict[str, Callable[[Mapping[str, Sequence[str]]], Any]]:
    """The four recipes the comparison runs (:data:`RECIPES`), each a function of the
    people (splits) it may learn from."""
    def members_bpe(pre_split: str):
        return lambda people: tk.bpe_tokenizer([texts["sparse"][s] for s in people["train"]], vocab_size,
                                               pre_split=pre_split)
    return {BPE_MEMBERS: members_bpe("gpt2"), BPE_MEMBER_RECORDS: members_bpe("record"),
            BPE_PUBLIC: lambda people: _public_bpe(texts, people["public"], vocab_size),
            VARIANT: panel_recipe(run, seed)}


def vocabulary_comparison(run: str | os.PathLike, texts: Mapping[str, Mapping[str, str]],
                          vocab_size: int = DEFAULT_VOCAB_SIZE, seed: int = 0,
                          n_boot: int = 1000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`lib.lm.vocab_privacy.compare_vocabularies` of :func:`recipes` on the run's
    people (candidates: a seeded half of the members; non-members: the holdout)."""
    samples = {s: tk.text_to_sample(text).records for s, text in texts["sparse"].items()}
    return vp.compare_vocabularies(recipes(run, texts, vocab_size, seed), samples, artefacts.load_splits(run),
                                   seed=seed, n_boot=n_boot)


def format_results(results: pd.DataFrame) -> pd.DataFrame:
    return results.assign(
        **{"same with and without": results["identical"].map({True: "yes", False: "no"}),
           "AUC": results.apply(lambda r: f"{r['auc']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]", axis=1),
           "specific tokens": results["n_specific_tokens"].map("{:,}".format),
           "mean score, candidates": results["mean_member_score"].map("{:.2f}".format),
           "mean score, holdout": results["mean_non_member_score"].map("{:.2f}".format)})[
        ["tokenizer", "same with and without", "AUC", "specific tokens", "mean score, candidates",
         "mean score, holdout"]].set_index("tokenizer")


def format_disclosure(tables: pd.DataFrame) -> pd.DataFrame:
    return tables.assign(fraction=tables["fraction"].map(lambda f: "-" if pd.isna(f) else f"{f:.0%}")
                         ).set_index(["tokenizer", "carried only by"])


def numbers(run: str | os.PathLike, built: Mapping[str, Any], lengths_table: pd.DataFrame, results: pd.DataFrame,
            tables: pd.DataFrame) -> dict[str, str]:
    """The numbers the chapter's prose glues, formatted."""
    mean = lengths_table.set_index(["tokenizer", "profile"])["mean tokens"]
    by = results.set_index("tokenizer")
    disclosed = tables.set_index(["tokenizer", "carried only by"]).loc[BPE_MEMBERS]
    first = by.loc[BPE_MEMBERS]
    return {"n_tokenizers": str(len(built)), "variant_vocab": f"{len(built['variant']):,}",
            "n_panel_sites": f"{len(artefacts.read_panel_json(run)['sites']):,}",
            "bpe_vocab": f"{len(built['bpe']):,}", "char_dense_tokens": f"{mean[('character', 'dense')]:,.0f}",
            "bpe_dense_tokens": f"{mean[('bpe', 'dense')]:,.0f}",
            "variant_sparse_tokens": f"{mean[('variant', 'sparse')]:,.0f}",
            "record_vocab": f"{len(built['record']):,}", "record_sparse_tokens": f"{mean[('record', 'sparse')]:,.0f}",
            "bpe_dense_over_record_sparse": f"{mean[('bpe', 'dense')] / mean[('record', 'sparse')]:.0f}",
            "bpe_dense_over_variant_sparse": f"{mean[('bpe', 'dense')] / mean[('variant', 'sparse')]:.1f}",
            "n_candidates": f"{int(first['n_members']):,}", "n_holdout": f"{int(first['n_non_members']):,}",
            "disclosed_sites": f"{int(disclosed.loc['candidate members', 'position in a specific token']):,}",
            "member_only_rare_sites": f"{int(disclosed.loc['candidate members', 'rare sites']):,}",
            "holdout_disclosed_sites": f"{int(disclosed.loc['non-members (holdout)', 'position in a specific token']):,}",
            "holdout_only_rare_sites": f"{int(disclosed.loc['non-members (holdout)', 'rare sites']):,}",
            "bpe_members_auc": f"{first['auc']:.2f} (95% CI {first['ci_low']:.2f}-{first['ci_high']:.2f})",
            "bpe_public_identical": "the same" if by.loc[BPE_PUBLIC, "identical"] else "not the same",
            "variant_identical": "the same" if by.loc[VARIANT, "identical"] else "not the same",
            "bpe_public_auc": f"{by.loc[BPE_PUBLIC, 'auc']:.2f}", "variant_auc": f"{by.loc[VARIANT, 'auc']:.2f}"}


def example_text(texts: Mapping[str, Mapping[str, str]], run: str | os.PathLike, n_chars: int = 300) -> str:
    """The first characters of the first holdout person's sparse model text."""
    person = artefacts.load_splits(run)["holdout"][0]
    return texts["sparse"][person][:n_chars] + " ..."

