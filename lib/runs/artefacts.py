"""How a later chapter reads back what earlier chapters wrote into a run, and how artefacts
are named.

A chapter only reads what earlier chapters wrote into the run directory (its areas and the
privacy boundary they draw: :class:`lib.runs.run.Run`); this module is that reading side, so
that every chapter finds the cohort, the splits, the profiles, the public panel, the models'
histories and the synthetic cohorts the same way, and a missing artefact is an error that
names the chapter to run first. It also names things: a model's directory from its family,
tokenizer, ε, variant and training seed (:func:`model_name`, :func:`parse_model_name`), each
family's main tokenizer, and the context a family is built with, sized from the public people.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..core import rundir
from ..genomes import splits, vcf
from ..genomes.cohort import Cohort, Contig
from ..lm import models, tokenization
from ..dp import baselines, budget
from .run import missing, Run


# --------------------------------------------------------------------------------------
# The data chapter's artefacts
# --------------------------------------------------------------------------------------

def read_panel_json(run: str | os.PathLike) -> dict[str, Any]:
    path = Run.of(run).cohort_paths()["panel"]
    if not path.exists():
        raise missing(path, "data (01_data)")
    return json.loads(path.read_text())


def load_cohort(run: str | os.PathLike) -> Cohort:
    """The real cohort on the panel's sites (every person of every split)."""
    run = Run.of(run)
    paths = run.cohort_paths()
    for key in ("vcf", "populations", "panel"):
        if not paths[key].exists():
            raise missing(paths[key], "data (01_data)")
    panel = read_panel_json(run)
    cohort = vcf.read_vcf(paths["vcf"], chromosome=panel["contig"]["name"], populations_path=paths["populations"])
    diagnostics = run.data_diagnostics_paths()["data"]
    if diagnostics.exists():
        about = json.loads(diagnostics.read_text())
        cohort.source, cohort.repairs = about["source"], list(about["repairs"])
    return cohort


def load_panel(run: str | os.PathLike) -> tuple[Cohort, bool]:
    """The public panel alone: a cohort of the panel's sites with no people in it (what
    the grammar, the tokenizer and a synthetic VCF may use), and whether synthetic
    genotypes are written phased (the public people's convention)."""
    panel = read_panel_json(run)
    table = panel["site_table"]
    sites = pd.DataFrame({"pos": np.asarray(table["pos"], dtype=np.int64), "ref": table["ref"],
                          "alts": [tuple(a) for a in table["alts"]], "id": table["id"]})
    empty = pd.DataFrame({"sample": [], "population": [], "superpopulation": []}, dtype=object)
    cohort = Cohort(contig=Contig(**panel["contig"]), sites=sites, samples=empty,
                    genotypes=np.zeros((len(sites), 0, 2), np.int8), phased=np.zeros((len(sites), 0), bool),
                    source="public panel")
    return cohort, bool(panel["phased"])


def load_splits(run: str | os.PathLike) -> dict[str, list[str]]:
    path = Run.of(run).cohort_paths()["splits"]
    if not path.exists():
        raise missing(path, "data (01_data)")
    data = json.loads(path.read_text())
    return {k: data.get(k, []) for k in splits.SPLITS}


def read_profiles(run: str | os.PathLike, dense: bool = False) -> pd.DataFrame:
    """The profiles a run wrote: one row per person with their split and records."""
    path = Run.of(run).cohort_paths()["profiles_dense" if dense else "profiles"]
    if not path.exists():
        raise missing(path, "data (01_data)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return pd.DataFrame([json.loads(line) for line in handle])


def split_profiles(run: str | os.PathLike, split: str, sparse: bool = True) -> pd.DataFrame:
    """The profiles of one split (rows in the order of ``splits.json``)."""
    members = load_splits(run)
    if split not in members:
        raise ValueError(f"split={split!r} is unknown; choose one of {sorted(members)}")
    frame = read_profiles(run, dense=not sparse).set_index("sample")
    missing = [s for s in members[split] if s not in frame.index]
    if missing:
        raise ValueError(f"{Run.of(run).cohort_paths()['profiles']}: {len(missing)} samples of the {split} split have "
                         f"no profile (e.g. {missing[0]}); rerun the data chapter")
    return frame.loc[members[split]].reset_index()


def public_populations(run: str | os.PathLike) -> pd.Series:
    """The public people's super-populations (sample -> label), read from the data
    chapter's ``populations.tsv``: public labels only, no genotype of anyone."""
    path = Run.of(run).cohort_paths()["populations"]
    if not path.exists():
        raise missing(path, "data (01_data)")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if not {"sample", "superpopulation", "split"} <= set(table.columns):
        raise ValueError(f"{path}: needs the columns sample, superpopulation and split; rerun the data chapter")
    public = table[table["split"] == "public"]
    return public.set_index("sample")["superpopulation"]


def split_cohort(cohort: Cohort, samples: Sequence[str]) -> Cohort:
    """``cohort`` restricted to ``samples`` (in that order)."""
    index = {s: i for i, s in enumerate(cohort.sample_ids)}
    return cohort.subset(sample_index=[index[s] for s in samples])


def encode_split(run: str | os.PathLike, tokenizer: Any, split: str, sparse: bool = True,
                 with_population: bool = False) -> list[list[int]]:
    """Token ids of every profile of ``split``; ``with_population`` puts the
    super-population tag after the start token."""
    frame = split_profiles(run, split, sparse=sparse)
    if not sparse and with_population:  # the dense file carries no population columns
        population = read_profiles(run).set_index("sample")["superpopulation"]
        frame = frame.assign(superpopulation=frame["sample"].map(population))
    pops = frame["superpopulation"] if with_population else [None] * len(frame)
    return [tokenization.encode_sample(tokenizer, list(records), pop)
            for records, pop in zip(frame["variants"], pops)]


#: How much longer than the longest public sequence a model's context is (see
#: :func:`public_block_size`), rounded up to a multiple of :data:`LENGTH_MULTIPLE` tokens.
LENGTH_MARGIN, LENGTH_MULTIPLE = 1.5, 64


def public_block_size(run: str | os.PathLike, tokenizer: Any, margin: float = LENGTH_MARGIN,
                      multiple: int = LENGTH_MULTIPLE, with_population: bool = False) -> int:
    """A model's context length taken from public data: ``margin`` times the longest
    public person's sparse profile in ``tokenizer``'s tokens (its population tag counted
    when ``with_population``), rounded up to a multiple of ``multiple``. It sizes the
    position table (parameters DP-SGD must noise) and bounds generation, so it must not
    come from the members."""
    ids = encode_split(run, tokenizer, "public", with_population=with_population)
    if not ids:
        raise ValueError(f"{run}: no public people to size the model's context from; give the profile a "
                         "model_block_size or the data chapter a public_fraction")
    longest = max(len(seq) for seq in ids)
    return int(-(-int(longest * margin) // multiple) * multiple)


def model_sizes(run: str | os.PathLike, settings: Mapping[str, Any], family: str, tokenizer: Any) -> dict[str, Any]:
    """The profile's sizes for ``family`` (:func:`lib.lm.models.sizes_from_profile`), the
    context length taken from the public people's sequences when the profile says
    ``model_block_size="public"`` (:func:`public_block_size`), and ``block_from`` saying
    which (a longer member's profile is cut only when the context is public). Sequences
    carry the population tag when the profile says ``population_tags``."""
    public = settings["model_block_size"] == "public"
    block = public_block_size(run, tokenizer, with_population=bool(settings["population_tags"])) if public else None
    return dict(models.sizes_from_profile(dict(settings), family, block_size=block),
                block_from="public" if public else "profile")


def input_digest(run: str | os.PathLike, tokenizer_name: str) -> dict[str, str]:
    """Checksums of what a model is trained from (the profiles, splits and tokenizer): the
    manifest compares them to decide whether a model can be reused. They are computed
    from the members, so they stay in the manifest, never in a released model directory."""
    paths = Run.of(run).cohort_paths()
    tok_file = tokenization.tokenizer_dir(run, tokenizer_name) / "tokenizer.json"
    for path in (paths["profiles"], paths["splits"], tok_file):
        if not path.exists():
            raise missing(path, "tokenization (02_tokenization)" if path == tok_file else "data (01_data)")
    return {"profiles_sha256": rundir.sha256(paths["profiles"]), "splits_sha256": rundir.sha256(paths["splits"]),
            "tokenizer_sha256": rundir.sha256(tok_file)}


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------

MAIN_TOKENIZERS = {"mingpt": "record", "gpt2": "variant", **{b: "" for b in baselines.MECHANISMS}}
"""Each family's main tokenizer, the one its chapter-03 and chapter-04 models use: chosen
on a simulated cohort of the quick profile's size (``bench/tune_dp.py``). The minGPT
learns one-token records best under DP; GPT-2, fine-tuned from a base pre-trained on the
public people's two-token records, keeps the variant tokenizer. A private baseline
(:data:`lib.dp.baselines.MECHANISMS`) has none (``""``): it counts records."""

#: Everything that writes a synthetic cohort under a model name: the language-model
#: families, then the private baselines (:data:`lib.dp.baselines.MECHANISMS`).
GENERATORS = (*models.FAMILIES, *baselines.MECHANISMS)


def is_baseline(family: str) -> bool:
    """Whether ``family`` names a private baseline (a mechanism, no model) rather than a
    language-model family."""
    return family in baselines.MECHANISMS


def main_tokenizer(family: str) -> str:
    """``family``'s main tokenizer (:data:`MAIN_TOKENIZERS`)."""
    if family not in MAIN_TOKENIZERS:
        raise ValueError(f"family={family!r} is unknown; choose one of {sorted(MAIN_TOKENIZERS)}")
    return MAIN_TOKENIZERS[family]


def _is_main(family: str, tokenizer_name: str | None) -> bool:
    return tokenizer_name is None or tokenizer_name == main_tokenizer(family)


def model_name(family: str, tokenizer_name: str | None = None, eps: float | str = "inf", variant: str = "",
               seed: int = 0) -> str:
    """``<family>-eps<eps>`` for the family's main tokenizer (:data:`MAIN_TOKENIZERS`; the
    run-directory contract; a private baseline's ``sites-eps8``), ``<family>-<tokenizer>-eps<eps>``
    for any other; ``variant``
    (e.g. ``"dptransformers"``) names another way of training the same model:
    ``<family>-<variant>-eps<eps>``. ``seed`` is the training seed's index (0, 1, ...; see
    :func:`training_seed`): the first model of a setting has no suffix, the others end in
    ``-seed<k>`` (``mingpt-eps8-seed2``): the same setting trained again with its own
    initialisation, batches and noise."""
    if family not in GENERATORS:
        raise ValueError(f"family={family!r} is unknown; choose one of {GENERATORS}")
    if is_baseline(family) and (float(eps) == float("inf") or variant or tokenizer_name):
        raise ValueError(f"{family!r} is a private baseline: it has a finite epsilon, no tokenizer and no variant "
                         f"(got eps={eps!r}, tokenizer_name={tokenizer_name!r}, variant={variant!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: a training seed's index is a whole number from 0")
    middle = "" if _is_main(family, tokenizer_name) else f"-{tokenizer_name}"
    middle += f"-{variant}" if variant else ""
    return f"{family}{middle}-eps{budget.name_text(eps)}" + (f"{SEED_SUFFIX}{int(seed)}" if seed else "")


#: How a model name marks a training seed other than the first (:func:`model_name`).
SEED_SUFFIX = "-seed"


def training_seed(seed: int, index: int) -> int:
    """The random seed of training seed ``index`` of a setting, from the chapter's ``seed``:
    ``seed + index`` (index 0 is the chapter's own seed, so the first model of every setting
    is the one a single-seed run trains). Every random draw of a training run (initial
    weights, Poisson batches, DP noise, the synthetic cohort's sampling) follows from it."""
    return int(seed) + int(index)


def parse_model_name(name: str) -> dict[str, Any]:
    """The inverse of :func:`model_name`: ``family``, ``tokenizer`` (the family's main one
    when the name gives none), ``epsilon`` (a float, ``inf`` for a non-private model),
    ``variant`` (``""``, or e.g. ``"cliponly"``, ``"dptransformers"``) and ``seed`` (the
    training seed's index, 0 without a suffix). Any middle part that names a tokenizer
    (:data:`lib.lm.tokenization.TOKENIZERS`) is the tokenizer; the rest is the variant."""
    base, seed = name, 0
    found = re.fullmatch(rf"(.+){re.escape(SEED_SUFFIX)}([1-9][0-9]*)", name)
    if found:
        base, seed = found.group(1), int(found.group(2))
    head, sep, eps = base.rpartition("-eps")
    parts = head.split("-") if sep else []
    if not parts or parts[0] not in GENERATORS:
        raise ValueError(f"{name!r} is not a model name (<family>[-<tokenizer>][-<variant>]-eps<ε>[-seed<k>])")
    try:
        epsilon = float(eps)
    except ValueError:
        raise ValueError(f"{name!r}: {eps!r} is not an epsilon") from None
    family, middle = parts[0], parts[1:]
    tokenizer = middle.pop(0) if middle and middle[0] in tokenization.TOKENIZERS else main_tokenizer(family)
    out = {"family": family, "tokenizer": tokenizer, "epsilon": epsilon, "variant": "-".join(middle), "seed": seed}
    if model_name(family, tokenizer, epsilon, out["variant"], seed) != name:
        raise ValueError(f"{name!r} is not a model name (<family>[-<tokenizer>][-<variant>]-eps<ε>[-seed<k>])")
    return out


def setting_name(name: str) -> str:
    """A model's name without its training seed: the *setting* its seeds share
    (``mingpt-eps8-seed2`` -> ``mingpt-eps8``)."""
    parsed = parse_model_name(name)
    return model_name(parsed["family"], parsed["tokenizer"], parsed["epsilon"], parsed["variant"])


def base_name(family: str, tokenizer_name: str | None = None) -> str:
    """The public base's directory name: ``<family>-public-base`` on the family's main
    tokenizer, ``<family>-<tokenizer>-public-base`` on another."""
    return f"{family}-public-base" if _is_main(family, tokenizer_name) else f"{family}-{tokenizer_name}-public-base"


def select_named(frame: pd.DataFrame, column: str, names: Sequence[str] | None, parameter: str,
                 where: str | os.PathLike) -> pd.DataFrame:
    """The rows of ``frame`` whose ``column`` is one of ``names`` (all rows for None); a
    name that is not there is refused, naming the ``parameter``, ``where`` it was looked
    for and what was found."""
    if names is None:
        return frame
    unknown = sorted(set(names) - set(frame[column]))
    if unknown:
        raise ValueError(f"{parameter}={unknown}: not in {where} (found {frame[column].tolist()})")
    return frame[frame[column].isin(names)].reset_index(drop=True)


def read_history(run: str | os.PathLike, name: str) -> dict[str, Any]:
    path = Run.of(run).history_path(name)
    if not path.exists():
        raise missing(path, "models (03_models) or private training (04_dp_training)")
    return json.loads(path.read_text())


# --------------------------------------------------------------------------------------
# Synthetic cohorts
# --------------------------------------------------------------------------------------

def read_validity(run: str | os.PathLike, name: str) -> dict:
    """The validity summary recorded with synthetic cohort ``name``."""
    path = Run.of(run).synthetic_paths(name)["summary"]
    if not path.exists():
        raise missing(path, "models (03_models)")
    return json.loads(path.read_text())["summary"]


def read_synthetic_profiles(run: str | os.PathLike, name: str) -> list[list[str]]:
    path = Run.of(run).synthetic_paths(name)["profiles"]
    if not path.exists():
        raise missing(path, "models (03_models)")
    with open(path) as handle:
        return [json.loads(line)["variants"] for line in handle]


def read_synthetic_populations(run: str | os.PathLike, name: str) -> list[str] | None:
    """The super-population each synthetic person of ``name`` was prompted with (None when
    its model reads no population tag)."""
    path = Run.of(run).synthetic_paths(name)["profiles"]
    if not path.exists():
        raise missing(path, "models (03_models)")
    with open(path) as handle:
        tags = [json.loads(line).get("superpopulation") for line in handle]
    return tags if tags and all(t is not None for t in tags) else None


def read_synthetic(run: str | os.PathLike, name: str, panel: Cohort) -> Cohort:
    """A synthetic cohort, read back through pysam."""
    path = Run.of(run).synthetic_paths(name)["vcf"]
    if not path.exists():
        raise missing(path, "models (03_models)")
    return vcf.read_vcf(path, chromosome=panel.contig.name)
