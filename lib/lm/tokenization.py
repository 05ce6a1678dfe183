"""Tokenizers: from a sample's profile to the ids a language model reads, and back.

A sample is a list of records ``22:POS:REF>ALT_GT`` (see :mod:`lib.genomes.profiletext`) and, optionally,
its super-population. :func:`sample_to_text` writes it as **one model text** shared by every
tokenizer::

    <START_SAMPLE><POP_EUR>22:16050075:A>G_0|1<MUT_SEP>22:16050115:G>A_1|1<END_SAMPLE>

and :func:`text_to_sample` reads it back. Four tokenizers turn that text into ids; each is a
Hugging Face :class:`~transformers.PreTrainedTokenizerFast` (``save_pretrained`` /
``from_pretrained``, usable by any ``transformers`` model) with **the same special tokens**
(:data:`SPECIAL_TOKENS`: sample start and end, padding, unknown, record separator and one tag
per super-population), and ``decode(encode(text)) == text`` exactly:

``character``
    The dissertation's manual tokenizer: every character one token, over the fixed alphabet
    the format allows (digits, ``A C G T N``, ``: > _ | / , .``). Tiny vocabulary, very long
    sequences (about 20 tokens per record).
``bpe``
    Byte-level BPE trained with the ``tokenizers`` library on the texts it is given: in this
    book the **public** people's profiles (:mod:`lib.ch02_tokenization`; the dissertation
    learned its 4,096 ids on the members'). ``pre_split="gpt2"`` (the default) splits text
    as GPT-2 does, so a merge never crosses a digit/punctuation boundary;
    ``pre_split="record"`` lets merges grow into whole records (the dissertation's "regex
    BPE").
``variant``
    A vocabulary derived **only from the public panel**: one token per panel site
    (``22:POS:REF>ALT``) and one per genotype (``_0|1``, ``_1/1``, ``_.|.`` ...); a record is
    two tokens, site then genotype. Records at sites outside the panel become ``<UNK>``.
    The separator is implicit (no ``<MUT_SEP>`` id).
``gpt2``
    GPT-2's own byte-level BPE plus the special tokens, when its files are available locally
    (a directory, or the Hugging Face cache offline). Never downloaded.

Why site tokens plus genotype tokens, not one token per (site, genotype)
------------------------------------------------------------------------
A joint token per (site, genotype) would make a record one token instead of two, but it
multiplies the vocabulary by the number of genotypes a site can take (10 for a bi-allelic
site once phased, unphased and missing calls are written: 4 phased + 3 unphased + 3 with a
missing allele), so 10,000 sites give ~100,000 embeddings instead of ~10,000. Under DP-SGD
every parameter receives noise of the same scale whatever its signal, and the gradient of a
row of the embedding matrix comes only from the samples that use that token: a joint token
``22:X:A>G_1|1`` at a rare site is used by a handful of people, so its embedding is almost
pure noise, and the model cannot share what ``1|1`` means (homozygous ALT) from one site to
another. With factored tokens the ~20-50 genotype embeddings are trained by every record of
every sample, and each site embedding by every sample (dense) or every carrier (sparse). The
genotypes possible at a site follow from its allele count, which the public panel gives, so
a generator can mask invalid genotype tokens at each site without looking at anyone's data.
The cost is sequence length: two tokens per record (site, genotype) instead of one. A
sparse profile is still far shorter than any dense one.

The model text is one and the same for every tokenizer, separator included, but in the
variant scheme the separator is redundant (a site token always starts a record): the
variant tokenizer drops ``<MUT_SEP>`` when encoding and writes it back when decoding, so it
spends no id on it (:func:`record_separator` tells a generator which text its tokens put
between records).

Vocabulary and privacy
----------------------
A vocabulary is a parameter of the model that DP-SGD does not protect: BPE learned on the
members can contain merges that exist only because a member carries a rare variant. See
:mod:`lib.lm.vocab_privacy` for the measurement. The book's tokenizers are built from public
information only -- the variant vocabulary from the public panel, BPE from the public
people -- so they are the same whoever the members are.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from ..core import rundir
from ..genomes import profiletext
from ..genomes.cohort import SUPERPOPULATIONS

# --------------------------------------------------------------------------------------
# 1. Special tokens and the model text
# --------------------------------------------------------------------------------------

#: The special tokens every tokenizer carries, as ``PreTrainedTokenizerFast`` keyword
#: arguments: the one place their strings are defined.
SPECIAL_TOKENS: dict[str, Any] = {
    "bos_token": "<START_SAMPLE>",
    "eos_token": "<END_SAMPLE>",
    "pad_token": "<PAD>",
    "unk_token": "<UNK>",
    "sep_token": "<MUT_SEP>",
    "extra_special_tokens": [f"<POP_{p.upper()}>" for p in SUPERPOPULATIONS],
}
POPULATION_TOKENS = dict(zip(SUPERPOPULATIONS, SPECIAL_TOKENS["extra_special_tokens"]))
ALL_SPECIAL_TOKENS = [SPECIAL_TOKENS[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token",
                                                   "sep_token")] + list(POPULATION_TOKENS.values())
BOS, EOS, PAD, UNK, SEP = ALL_SPECIAL_TOKENS[:5]
TOKENIZERS = ("character", "bpe", "variant", "record", "gpt2")
#: The tokenizers whose tokens are whole records or sites (the rest split text).
RECORD_TOKENIZERS = ("variant", "record")

#: The characters a record can contain (the character tokenizer's vocabulary).
ALPHABET = "0123456789ACGTN:>_|/,."
_SPECIAL_RE = re.compile("|".join(re.escape(t) for t in ALL_SPECIAL_TOKENS))
_POPULATION_OF = {tag: pop for pop, tag in POPULATION_TOKENS.items()}


@dataclass
class Sample:
    """A sample as the models see it: its records and, optionally, its super-population."""
    records: list[str]
    population: str | None = None


def sample_to_text(records: Sequence[str], population: str | None = None) -> str:
    """The model text of one sample (the inverse is :func:`text_to_sample`).

    ``<START_SAMPLE>``, the population tag if ``population`` is given, the records joined by
    ``<MUT_SEP>``, then ``<END_SAMPLE>``. Records must be non-empty, without whitespace or
    special-token strings, so that the text reads back unambiguously.
    """
    if population is not None and population not in POPULATION_TOKENS:
        raise ValueError(f"population={population!r} is not a super-population; choose one of "
                         f"{list(SUPERPOPULATIONS)} or None")
    for record in records:
        if not record or any(c.isspace() for c in record) or _SPECIAL_RE.search(record):
            raise ValueError(f"record {record!r} is empty or holds whitespace or a special token")
    tag = POPULATION_TOKENS[population] if population is not None else ""
    return BOS + tag + SEP.join(records) + EOS


def text_to_sample(text: str) -> Sample:
    """Read a model text back into a :class:`Sample` (inverse of :func:`sample_to_text`)."""
    if not (text.startswith(BOS) and text.endswith(EOS)):
        raise ValueError(f"not a sample text (must start with {BOS} and end with {EOS}): {text[:60]!r}")
    body = text[len(BOS):-len(EOS)]
    population = None
    for tag, pop in _POPULATION_OF.items():
        if body.startswith(tag):
            population, body = pop, body[len(tag):]
            break
    return Sample(body.split(SEP) if body else [], population)


def encode_sample(tokenizer: PreTrainedTokenizerFast, records: Sequence[str],
                  population: str | None = None) -> list[int]:
    """The ids of one sample's model text."""
    return tokenizer.encode(sample_to_text(records, population), add_special_tokens=False)


def prompt_ids(tokenizer: PreTrainedTokenizerFast, population: str | None = None) -> list[int]:
    """What a sample is generated from: ``<START_SAMPLE>`` and, when ``population`` is
    given, its tag (never a person's records)."""
    return encode_sample(tokenizer, [], population)[:-1]


def decode_sample(tokenizer: PreTrainedTokenizerFast, ids: Sequence[int]) -> Sample:
    """The sample of a sequence of ids (special tokens kept: they delimit the records)."""
    return text_to_sample(decode(tokenizer, ids))


def decode(tokenizer: PreTrainedTokenizerFast, ids: Sequence[int]) -> str:
    """Exact decoding: special tokens kept, no clean-up of spaces."""
    return tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)


def text_segments(text: str) -> list[str]:
    """The parts of a model text between special tokens (what a trainer learns merges from)."""
    return [part for part in _SPECIAL_RE.split(text) if part]


# --------------------------------------------------------------------------------------
# 2. The four tokenizers
# --------------------------------------------------------------------------------------

def _wrap(backend: Tokenizer, provenance: dict[str, Any], separator: bool = True) -> PreTrainedTokenizerFast:
    """A ``PreTrainedTokenizerFast`` around ``backend`` with the shared special tokens
    (without ``<MUT_SEP>`` when ``separator`` is False: the variant tokenizer)."""
    specials = ALL_SPECIAL_TOKENS if separator else [t for t in ALL_SPECIAL_TOKENS if t != SEP]
    backend.add_special_tokens(specials)  # a no-op for ids already in the vocabulary
    kwargs = SPECIAL_TOKENS if separator else {k: v for k, v in SPECIAL_TOKENS.items() if k != "sep_token"}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, clean_up_tokenization_spaces=False, **kwargs)
    tokenizer.provenance = provenance
    return tokenizer


def _fixed_vocabulary_tokenizer(vocab: list[str], pre_tokenizer,
                                specials: Sequence[str] = ALL_SPECIAL_TOKENS) -> Tokenizer:
    ids = {token: i for i, token in enumerate(dict.fromkeys(list(specials) + vocab))}
    backend = Tokenizer(models.WordLevel(ids, unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizer
    backend.decoder = decoders.Fuse()  # tokens are concatenated: no spaces are invented
    return backend


def character_tokenizer() -> PreTrainedTokenizerFast:
    """Every character one token (the dissertation's manual character/digit tokenizer).
    A character outside :data:`ALPHABET` becomes ``<UNK>``."""
    backend = _fixed_vocabulary_tokenizer(list(ALPHABET), pre_tokenizers.Split(Regex("."), "isolated"))
    return _wrap(backend, {"tokenizer": "character", "alphabet": ALPHABET})


def bpe_tokenizer(train_texts: Sequence[str], vocab_size: int = 4096, pre_split: str = "gpt2",
                  split: str = "train") -> PreTrainedTokenizerFast:
    """Byte-level BPE with ``vocab_size`` ids learned from ``train_texts`` (model texts).

    Only the text between special tokens is learned from, exactly as it is segmented when
    encoding. ``pre_split="gpt2"`` keeps merges within runs of digits, letters or
    punctuation; ``"record"`` lets a merge span a whole record. ``split`` is recorded in the
    provenance: it names the split the texts came from (``public`` in this book).
    """
    if pre_split not in ("gpt2", "record"):
        raise ValueError(f"pre_split={pre_split!r}: choose 'gpt2' or 'record'")
    if not train_texts:
        raise ValueError("bpe_tokenizer needs at least one training text")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=pre_split == "gpt2")
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=ALL_SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator((seg for text in train_texts for seg in text_segments(text)), trainer)
    return _wrap(backend, {"tokenizer": "bpe", "vocab_size_requested": vocab_size, "pre_split": pre_split,
                           "split": split, "n_samples": len(train_texts), "text_sha256": texts_sha256(train_texts)})


def genotype_tokens(max_alt_alleles: int) -> list[str]:
    """Every diploid genotype token ``_a|b`` / ``_a/b`` over alleles ``.``, ``0`` .. ``max_alt_alleles``."""
    alleles = ["."] + [str(i) for i in range(max_alt_alleles + 1)]
    return [f"_{a}{sep}{b}" for sep in "|/" for a in alleles for b in alleles]


def variant_vocabulary(panel_sites: Sequence[str]) -> list[str]:
    """The variant tokenizer's vocabulary (after the special tokens): genotype tokens, then
    one token per panel site in panel order. A function of the public site list only."""
    if not panel_sites:
        raise ValueError("the panel has no sites")
    bad = [s for s in panel_sites if "_" in s or s.count(":") != 2 or ">" not in s]
    if bad:
        raise ValueError(f"panel sites must read '22:POS:REF>ALT'; got {bad[:3]}")
    max_alt = max(site.split(">", 1)[1].count(",") + 1 for site in panel_sites)
    return genotype_tokens(max_alt) + list(dict.fromkeys(panel_sites))


def variant_tokenizer(panel_sites: Sequence[str]) -> PreTrainedTokenizerFast:
    """Site tokens plus genotype tokens from the public panel (see the module docstring).

    A record ``22:POS:REF>ALT_GT`` is split before its last ``_``: the site and the genotype.
    A site outside the panel (or a genotype with more alleles than any panel site) is
    ``<UNK>``, so only in-panel records decode back to themselves.

    The record separator is implicit: ``<MUT_SEP>`` is dropped when encoding (a site token
    always starts a record) and written back when decoding, in front of every record but the
    first, so a record costs two tokens and ``decode(encode(text)) == text`` still holds.
    This tokenizer therefore has no ``sep_token`` (see :func:`record_separator`).
    """
    backend = _fixed_vocabulary_tokenizer(
        variant_vocabulary(panel_sites),
        pre_tokenizers.Sequence([pre_tokenizers.Split(SEP, "removed"),  # the separator carries no information
                                 pre_tokenizers.Split(Regex("_[^_]*$"), "isolated")]),  # site | genotype
        specials=[t for t in ALL_SPECIAL_TOKENS if t != SEP])
    backend.decoder = _implicit_separator_decoder()
    return _wrap(backend, {"tokenizer": "variant", "n_panel_sites": len(panel_sites),
                           "panel_sha256": texts_sha256(panel_sites), "record_separator": "implicit"},
                 separator=False)


def _implicit_separator_decoder():
    """Decoding when ``<MUT_SEP>`` has no id: every token that starts a record (a site or a
    whole record, both starting with the chromosome, or ``<UNK>`` standing for one) gets the
    separator in front; after fusing, the separator is removed where no record precedes it
    (at the very start, after ``<START_SAMPLE>`` or a population tag)."""
    return decoders.Sequence(
        [decoders.Replace(Regex("^(?=[^_<])"), SEP), decoders.Replace(UNK, SEP + UNK), decoders.Fuse()]
        + [decoders.Replace(tag + SEP, tag) for tag in [BOS] + list(POPULATION_TOKENS.values())]
        + [decoders.Replace(Regex(f"^{re.escape(SEP)}"), "")])


def record_vocabulary(panel_sites: Sequence[str], phased: bool = True) -> list[str]:
    """The record tokenizer's vocabulary (after the special tokens): for every panel site,
    one token per genotype a sparse profile can hold there (alleles called, not ``0|0``;
    phased or not as the public people's calls are): ``22:POS:REF>ALT_GT``. A function of
    the public panel only."""
    variant_vocabulary(panel_sites)  # the same checks of the site list
    out = []
    for site in dict.fromkeys(panel_sites):
        n_alts = site.split(">", 1)[1].count(",") + 1
        out += [f"{site}_{gt}" for gt in profiletext.possible_genotypes(n_alts, phased=phased, sparse=True)]
    return out


def record_tokenizer(panel_sites: Sequence[str], phased: bool = True) -> PreTrainedTokenizerFast:
    """One token per record (site and genotype together) from the public panel: half the
    variant tokenizer's sequence length, at the price of a vocabulary the size of the
    panel times the genotypes a site can take, each token trained only by the people who
    carry that genotype there. A record with a missing allele, the other phasing, or a site
    outside the panel is ``<UNK>``. The separator is implicit, as in
    :func:`variant_tokenizer`."""
    backend = _fixed_vocabulary_tokenizer(record_vocabulary(panel_sites, phased),
                                          pre_tokenizers.Split(SEP, "removed"),
                                          specials=[t for t in ALL_SPECIAL_TOKENS if t != SEP])
    backend.decoder = _implicit_separator_decoder()
    return _wrap(backend, {"tokenizer": "record", "n_panel_sites": len(panel_sites), "phased": phased,
                           "panel_sha256": texts_sha256(panel_sites), "record_separator": "implicit"},
                 separator=False)


def record_unit(tokenizer: PreTrainedTokenizerFast) -> str:
    """How a tokenizer spells a record: ``"record"`` (one token, :func:`record_tokenizer`),
    ``"site+genotype"`` (two, :func:`variant_tokenizer`) or ``"text"`` (sub-word pieces)."""
    if record_separator(tokenizer):
        return "text"
    vocab = tokenizer.get_vocab()
    return "record" if any(profiletext.RECORD.match(token) for token in vocab) else "site+genotype"


def record_separator(tokenizer: PreTrainedTokenizerFast) -> str:
    """The text a tokenizer's *tokens* put between two records: ``<MUT_SEP>`` for the text
    tokenizers, ``""`` for the variant tokenizer, whose records are self-delimiting (its
    decoder writes ``<MUT_SEP>`` back, so decoded texts are the same for every tokenizer)."""
    return SEP if SEP in tokenizer.get_vocab() else ""


def default_gpt2_paths() -> list[Path]:
    """Where a GPT-2 tokenizer is looked for: the shared data directory beside the repository."""
    return [rundir.REPO_ROOT.parent / "shared" / "data" / "gpt2-tokenizer"]


def gpt2_tokenizer(path: str | os.PathLike | None = None) -> PreTrainedTokenizerFast | None:
    """GPT-2's byte-level BPE (50,257 ids) plus the special tokens, or None when no GPT-2
    tokenizer is available locally: ``path`` (a directory with ``vocab.json`` and
    ``merges.txt``, or a saved tokenizer), else :func:`default_gpt2_paths`, else the Hugging
    Face cache with ``local_files_only=True``. Nothing is downloaded."""
    candidates = [Path(path)] if path is not None else default_gpt2_paths()
    backend, source = None, None
    for directory in candidates:
        if (directory / "vocab.json").exists() and (directory / "merges.txt").exists():
            backend = Tokenizer(models.BPE.from_file(str(directory / "vocab.json"), str(directory / "merges.txt")))
            source = str(directory)
            break
        if (directory / "tokenizer.json").exists():
            backend, source = Tokenizer.from_file(str(directory / "tokenizer.json")), str(directory)
            break
    if backend is None and path is None:
        try:
            from transformers import GPT2TokenizerFast

            backend = GPT2TokenizerFast.from_pretrained("gpt2", local_files_only=True).backend_tokenizer
            source = "huggingface cache (gpt2)"
        except (OSError, ValueError):
            return None
        if not _covers_bytes(backend):  # transformers 5 returns an empty tokenizer when nothing is cached
            return None
    if backend is None:
        return None
    if not _covers_bytes(backend):
        raise ValueError(f"{source}: not a byte-level BPE tokenizer like GPT-2's (its vocabulary lacks "
                         "byte tokens, so it cannot encode every profile); give the directory of GPT-2's "
                         "vocab.json and merges.txt")
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = None  # the model text already carries its special tokens
    return _wrap(backend, {"tokenizer": "gpt2", "source": source})


def _covers_bytes(backend: Tokenizer) -> bool:
    """Whether a byte-level BPE vocabulary holds a token for every byte (GPT-2's does)."""
    vocab = backend.get_vocab()
    return all(symbol in vocab for symbol in pre_tokenizers.ByteLevel.alphabet())


def build_tokenizer(name: str, *, train_texts: Sequence[str] | None = None,
                    panel_sites: Sequence[str] | None = None, vocab_size: int = 4096,
                    pre_split: str = "gpt2", gpt2_path: str | os.PathLike | None = None,
                    split: str = "train", phased: bool = True) -> PreTrainedTokenizerFast | None:
    """One tokenizer by name (:data:`TOKENIZERS`). ``bpe`` needs ``train_texts`` (model
    texts; ``split`` names whose), ``variant`` needs ``panel_sites``; ``gpt2`` returns None
    when no GPT-2 tokenizer is found locally."""
    if name == "character":
        return character_tokenizer()
    if name == "bpe":
        if train_texts is None:
            raise ValueError("build_tokenizer('bpe') needs train_texts (the model texts to learn merges from)")
        return bpe_tokenizer(train_texts, vocab_size=vocab_size, pre_split=pre_split, split=split)
    if name in ("variant", "record"):
        if panel_sites is None:
            raise ValueError(f"build_tokenizer({name!r}) needs panel_sites (panel.json's 'sites')")
        return variant_tokenizer(panel_sites) if name == "variant" else record_tokenizer(panel_sites, phased)
    if name == "gpt2":
        return gpt2_tokenizer(gpt2_path)
    raise ValueError(f"tokenizer {name!r} is unknown; choose one of {list(TOKENIZERS)}")


def texts_sha256(texts: Iterable[str]) -> str:
    """Checksum of a list of texts (one per line), recorded with what was built from them."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\n")
    return digest.hexdigest()


# --------------------------------------------------------------------------------------
# 3. Saving and loading in the run directory
# --------------------------------------------------------------------------------------

METADATA_FILE = "provenance.json"


def tokenizer_dir(run: str | os.PathLike, name: str) -> Path:
    return Path(run) / "tokenizers" / name


def save(tokenizer: PreTrainedTokenizerFast, run: str | os.PathLike, name: str,
         extra: dict[str, Any] | None = None) -> Path:
    """Write ``tokenizer`` to ``<run>/tokenizers/<name>/`` with ``save_pretrained`` plus
    ``provenance.json`` (what it was built from). Written into a temporary directory and
    moved into place, so a failure leaves the previous tokenizer intact."""
    dest = tokenizer_dir(run, name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dest.parent))
    try:
        tokenizer.save_pretrained(str(tmp))
        meta = {**getattr(tokenizer, "provenance", {}), **(extra or {}), "name": name,
                "vocab_size": len(tokenizer), "special_tokens": list(tokenizer.all_special_tokens),
                "versions": rundir.package_versions()}
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def load(run: str | os.PathLike, name: str) -> PreTrainedTokenizerFast:
    """The tokenizer :func:`save` wrote (its provenance back on ``.provenance``)."""
    path = tokenizer_dir(run, name)
    if not (path / "tokenizer.json").exists():
        raise FileNotFoundError(f"{path}: no saved tokenizer; run the tokenization chapter (02_tokenization) first")
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path))
    meta = path / METADATA_FILE
    tokenizer.provenance = json.loads(meta.read_text()) if meta.exists() else {}
    return tokenizer


# --------------------------------------------------------------------------------------
# 4. Comparing tokenizers
# --------------------------------------------------------------------------------------

def tokens_per_sample(tokenizer: PreTrainedTokenizerFast, texts: Sequence[str]) -> list[int]:
    """The length in tokens of each model text."""
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def vocabulary_strings(tokenizer: PreTrainedTokenizerFast) -> set[str]:
    """The text of every non-special token (byte-level tokens decoded to characters)."""
    special = set(ALL_SPECIAL_TOKENS) | set(tokenizer.all_special_tokens)
    return {tokenizer.convert_tokens_to_string([token]) for token in tokenizer.get_vocab()
            if token not in special and token not in tokenizer.added_tokens_encoder}


def length_table(tokenizers: Mapping[str, PreTrainedTokenizerFast],
                 texts: Mapping[str, Mapping[str, str] | Sequence[str]]) -> pd.DataFrame:
    """Sequence length per tokenizer and profile kind: one row per (tokenizer, profile).

    ``tokenizers`` maps a name to a tokenizer; ``texts`` maps a profile kind (``"dense"``,
    ``"sparse"``) to its model texts (a list, or a mapping sample -> text). Columns:
    ``tokenizer``, ``profile``, ``vocabulary`` (ids), ``mean tokens``, ``max tokens`` and
    ``samples per second``: the encoding speed, the one column that is *measured* (wall
    clock, :func:`time.perf_counter`) rather than computed, so it varies between runs and
    machines. Rows follow the order of ``tokenizers``, then of ``texts``.
    """
    rows = []
    for name, tokenizer in tokenizers.items():
        for kind, kind_texts in texts.items():
            values = list(kind_texts.values()) if isinstance(kind_texts, Mapping) else list(kind_texts)
            if not values:
                raise ValueError(f"length_table: no {kind} texts")
            start = time.perf_counter()
            lengths = tokens_per_sample(tokenizer, values)
            seconds = max(time.perf_counter() - start, 1e-9)
            rows.append({"tokenizer": name, "profile": kind, "vocabulary": len(tokenizer),
                         "mean tokens": float(np.mean(lengths)), "max tokens": int(np.max(lengths)),
                         "samples per second": len(lengths) / seconds})
    return pd.DataFrame(rows, columns=["tokenizer", "profile", "vocabulary", "mean tokens", "max tokens",
                                       "samples per second"])
