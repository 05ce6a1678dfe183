"""The realism levers of issue 21 that the book does not keep, measured on a finished run
(the quick one by default) against the real **validation** people, as chapter 04 chooses its
decoding (the holdout stays untouched):

    python bench/realism_levers.py calibration [--model mingpt-eps8] [--extra-eps 0.5 1]
    python bench/realism_levers.py tokenizer   [--run-copy /tmp/levers-run]
    python bench/realism_levers.py public
    python bench/realism_levers.py baselines

* ``calibration`` (lever 5, "spend part of ε on private counts to calibrate the model"): ten
  private numbers, the members' mean heterozygous and homozygous-ALT genotypes per person in
  the five bins of the *public* ALT frequency (:data:`lib.genetics.popgen.AF_BIN_EDGES`), each clipped
  per person at 1.5x the public people's largest, released by the Gaussian mechanism (L2
  sensitivity √10 after scaling each number by its clip) at each extra ε, composed with the
  model's DP-SGD by Opacus' PRV accountant (RDP beside it); then one logit bias per class on
  the record tokens, fitted on the model's own samples in four rounds (post-processing),
  sampled at chapter 04's chosen decoding. Record-tokenizer models only (a record token is a
  site and a genotype at once).
* ``tokenizer`` (lever 6, site and genotype apart): the private minGPT at ε = 8 on the variant
  tokenizer, trained in a *copy* of the run (``--run-copy``; the run itself is not touched)
  with the book's settings, seed 0, scored at every point of the decoding grid with its own
  public prior.
* ``public``: what no member and no ε give: independent sites at the public people's
  frequencies (and at the members', not private) and the minGPT public base sampled alone.
* ``baselines``: both private baselines at every ε with and without the public people's
  shares in their post-processing (:func:`lib.dp.baselines.shrink_to_public`).
"""
from __future__ import annotations

import argparse
import contextlib
import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from opacus.accountants import PRVAccountant, RDPAccountant

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib import ch04_dp_training as ch04  # noqa: E402
from lib.core import profiles, rundir  # noqa: E402
from lib.genomes import profiletext  # noqa: E402
from lib.genetics import popgen  # noqa: E402
from lib.lm import generation, models  # noqa: E402
from lib.lm import tokenization as tk  # noqa: E402
from lib.dp import baselines  # noqa: E402
from lib.runs import artefacts, experiments  # noqa: E402
from lib.runs.run import Run  # noqa: E402

DELTA = 1e-5


def validation_people(run: Path) -> tuple[np.ndarray, np.ndarray]:
    cohort, splits = artefacts.load_cohort(run), artefacts.load_splits(run)
    validation = popgen.dosages(artefacts.split_cohort(cohort, splits["validation"]))
    return validation, popgen.allele_frequencies(validation)


def score(d: np.ndarray, validation: np.ndarray, af: np.ndarray, seed: int = 0) -> dict[str, float]:
    """The scores of chapter 04's decoding choice (:func:`lib.ch04_dp_training.decoding_job`)."""
    classes = popgen.genotype_classes(d, af).mean(axis=0)
    return dict(auc=popgen.classifier_two_sample(validation, d, seed=seed, n_boot=0)[0],
                classes_auc=popgen.class_two_sample(validation, d, af, seed=seed, n_boot=0)[0],
                af_r=popgen.frequency_agreement(popgen.allele_frequencies(d), af)[0],
                rare_het=float(classes[0]), rare_hom_alt=float(classes[1]), variants=float((d > 0).sum(1).mean()))


@contextlib.contextmanager
def logit_bias(bias: torch.Tensor):
    """Add ``bias`` to every step's logits before the constrained sampler reads them."""
    original = generation.constrained_probabilities

    def biased(logits, allowed, eos, config):
        return original(logits + bias[: logits.shape[-1]], allowed, eos, config)

    generation.constrained_probabilities = biased
    try:
        yield
    finally:
        generation.constrained_probabilities = original


def calibration(run: Path, name: str, extra: list[float]) -> pd.DataFrame:
    cohort, splits = artefacts.load_cohort(run), artefacts.load_splits(run)
    dosages = {s: popgen.dosages(artefacts.split_cohort(cohort, splits[s])) for s in ("train", "public")}
    validation, af = validation_people(run)
    panel, phased = artefacts.load_panel(run)
    edges = popgen.AF_BIN_EDGES
    site_bin = np.clip(np.digitize(popgen.allele_frequencies(dosages["public"]), edges[1:-1]), 0, len(edges) - 2)
    n_classes = 2 * (len(edges) - 1)

    def class_counts(d: np.ndarray) -> np.ndarray:
        return np.stack([(d[:, site_bin == b] == g).sum(1) for b in range(len(edges) - 1) for g in (1, 2)], 1)

    clip = np.maximum(1.0, np.ceil(1.5 * class_counts(dosages["public"]).max(0)))
    scaled = np.minimum(class_counts(dosages["train"]), clip) / clip
    directory = Run.of(run).model_dir(name)
    record = rundir.read_json(directory / "privacy.json")
    tokenizer = tk.load(run, "record")
    keys = {k: i for i, k in enumerate(profiletext.site_keys(panel))}
    token_class = torch.full((len(tokenizer),), -1, dtype=torch.long)
    for piece, idx in tokenizer.get_vocab().items():
        site, _, genotype = piece.rpartition("_")
        if site in keys and not piece.startswith("<"):
            n_alt = sum(a != "0" for a in re.split(r"[|/]", genotype))
            if n_alt:
                token_class[idx] = 2 * site_bin[keys[site]] + (n_alt == 2)
    decoding = pd.read_csv(run / "metrics" / "04_decoding.csv")
    chosen = decoding[(decoding["model"] == name) & decoding["chosen"]].iloc[0]
    point = dict(temperature=float(chosen["temperature"]), prior_weight=float(chosen["prior_weight"]))
    model = models.load_model(directory).eval()
    prior = models.load_model(Run.of(run).model_dir("mingpt-public-base")).eval() if point["prior_weight"] else None
    grammar = generation.panel_grammar(tokenizer, panel, phased, order=generation.constrained_order(tokenizer))
    bias = torch.zeros(len(tokenizer))

    def sample(beta: np.ndarray, seed: int) -> np.ndarray:
        bias.zero_()
        bias[token_class >= 0] = torch.tensor(beta, dtype=torch.float32)[token_class[token_class >= 0]]
        prompt, _ = experiments.sampling_prompts(run, tokenizer, len(validation), seed, experiments.is_tagged(directory))
        config = generation.SamplingConfig(max_new_tokens=models.block_size(model) - len(prompt[0]), batch_size=32,
                                           **point)
        with logit_bias(bias):
            new = generation.generate(model, prompt, len(validation), tokenizer.eos_token_id, config,
                                      constraint=grammar, seed=seed, prior=prior)
        profiles_ = [generation.ids_to_records(tokenizer, ids) if len(ids) < config.max_new_tokens
                     else generation.drop_cut_record(generation.ids_to_records(tokenizer, ids), panel) for ids in new]
        if generation.constrained_order(tokenizer) == "any":
            profiles_ = [grammar.sort_records(records) for records in profiles_]
        return popgen.dosages(profiletext.to_cohort(profiles_, panel))

    rows = [dict(setting="chosen decoding", extra_eps=0.0, total_eps=record["epsilon"],
                 **score(sample(np.zeros(n_classes), 100), validation, af))]
    for eps in extra:
        sigma = baselines.gaussian_sigma(eps, DELTA)
        noisy = scaled.sum(0) + np.random.default_rng(7).normal(0, sigma * math.sqrt(n_classes), n_classes)
        target = np.maximum(noisy / len(scaled) * clip, 0.0)
        total = {}
        for label, accountant in (("prv", PRVAccountant()), ("rdp", RDPAccountant())):
            accountant.history = [(record["noise_multiplier"], record["sample_rate"], int(record["steps"])),
                                  (sigma, 1.0, 1)]
            total[label] = accountant.get_epsilon(DELTA)
        beta = np.zeros(n_classes)
        for round_ in range(4):
            written = class_counts(sample(beta, 200 + round_)).mean(0)
            beta = np.clip(beta + 0.8 * np.log((target + 0.05) / (written + 0.05)), -4, 4)
        rows.append(dict(setting="+ class calibration", extra_eps=eps, total_eps=total["prv"],
                         total_eps_rdp=total["rdp"], **score(sample(beta, 100), validation, af)))
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def tokenizer_lever(run: Path, copy: Path) -> pd.DataFrame:
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(run, copy)
    settings = profiles.resolve("quick")
    name = artefacts.model_name("mingpt", "variant", 8.0)
    _, _, directory, record = experiments.train_private(copy, "mingpt", 8.0, settings, seed=0, tokenizer_name="variant",
                                                 name=name)
    prior = experiments.public_base(copy, settings, family="mingpt", tokenizer_name="variant")
    return pd.DataFrame(ch04.decoding_job(str(copy), name, str(directory), "variant", str(prior),
                                          ch04.decoding_grid(settings), seed=0))


def public_only(run: Path) -> pd.DataFrame:
    cohort, splits = artefacts.load_cohort(run), artefacts.load_splits(run)
    validation, af = validation_people(run)
    rows = []
    for label, split in (("independent sites, public frequencies", "public"),
                         ("independent sites, members' frequencies (not private)", "train")):
        d = popgen.independent_sites(popgen.dosages(artefacts.split_cohort(cohort, splits[split])), len(validation), 0)
        rows.append(dict(cohort=label, **score(d, validation, af)))
    base = Run.of(run).model_dir("mingpt-public-base")
    for row in ch04.decoding_job(str(run), "mingpt-public-base", str(base), "record", None,
                                 [dict(temperature=t, prior_weight=0.0) for t in (1.0, 0.9, 0.8)], seed=0):
        rows.append(dict(cohort=f"minGPT public base, T = {row.pop('temperature')}", **row))
    return pd.DataFrame(rows)


def baselines_prior(run: Path) -> pd.DataFrame:
    data = experiments.baseline_inputs(run)
    validation, af = validation_people(run)
    records = tk.record_vocabulary(data["sites"], phased=data["phased"])
    rows = []
    for eps in (8.0, 3.0, 1.0):
        for prior in (False, True):
            noisy, record = baselines.release_counts(data["members"], records,
                                                     baselines.contribution_bound(data["public"]), eps, DELTA, seed=42)
            sites = baselines.sample_sites(noisy, records, len(validation), seed=42, noise_std=record["noise_std"],
                                           prior=baselines.public_prior(data["public"], records) if prior else None)
            mst, _ = baselines.mst(data["members"], data["sites"], len(validation), eps, DELTA, phased=data["phased"],
                                   seed=42, public=data["public"] if prior else None)
            for mechanism, made in (("sites", sites), ("mst", mst)):
                d = popgen.dosages(profiletext.to_cohort(made, data["panel"]))
                rows.append(dict(eps=eps, mechanism=mechanism, public_prior=prior, **score(d, validation, af)))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lever", choices=["calibration", "tokenizer", "public", "baselines"])
    parser.add_argument("--run", type=Path, default=Path("data/runs/quick"))
    parser.add_argument("--model", default="mingpt-eps8")
    parser.add_argument("--extra-eps", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--run-copy", type=Path, default=Path("/tmp/levers-run"))
    args = parser.parse_args(argv)
    table = {"calibration": lambda: calibration(args.run, args.model, args.extra_eps),
             "tokenizer": lambda: tokenizer_lever(args.run, args.run_copy),
             "public": lambda: public_only(args.run), "baselines": lambda: baselines_prior(args.run)}[args.lever]()
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
