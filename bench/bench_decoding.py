"""Decoding as a lever on realism (issue 21): the quick run's private models, sampled again
with a lower temperature or a nucleus (top-p) cut-off, against the real **validation**
people (the holdout stays untouched: whatever setting is chosen here is chosen on people
the chapters do not score on). Sampling from a trained private model is post-processing: no
setting here spends privacy.

    python bench/bench_decoding.py [--run data/runs/quick] [--models mingpt-eps8 gpt2-eps8]

For each model and each sampling setting, as many people as the validation split,
constrained to the public panel's grammar exactly as the chapters sample: the seconds, the
allele-frequency r, the linear two-sample AUC on dosages and on four numbers per person
(:func:`lib.genetics.popgen.class_two_sample`), heterozygous and homozygous-ALT genotypes per person
at rare sites (below 5% among the validation people) and variants per person, each beside
the validation people's own values (a second draw of real people: the members, as many).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.runs import artefacts  # noqa: E402
from lib.lm import generation, models
from lib.genetics import popgen
from lib.genomes import profiletext
from lib.lm import tokenization as tk  # noqa: E402
from lib.runs.run import Run

SETTINGS = [("T = 1 (the chapters')", 1.0, None), ("T = 0.8", 0.8, None), ("T = 0.6", 0.6, None),
            ("top-p 0.9", 1.0, 0.9)]


def row(label: str, d: np.ndarray, real: np.ndarray, seconds: float) -> str:
    af = popgen.allele_frequencies(real)
    classes = popgen.genotype_classes(d, af).mean(axis=0)
    r = popgen.frequency_agreement(popgen.allele_frequencies(d), af)[0]
    c2st = popgen.classifier_two_sample(real, d, n_boot=50)[0]
    four = popgen.class_two_sample(real, d, af, n_boot=50)[0]
    return (f"| {label} | {seconds:.0f} | {r:.3f} | {c2st:.3f} | {four:.3f} | {classes[0]:.1f} | {classes[1]:.2f} | "
            f"{(d > 0).sum(axis=1).mean():.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="data/runs/quick")
    parser.add_argument("--models", nargs="+", default=["mingpt-eps8", "gpt2-eps8"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = Path(args.run)
    panel, phased = artefacts.load_panel(run)
    real = popgen.dosages(artefacts.split_cohort(artefacts.load_cohort(run), artefacts.load_splits(run)["validation"]))
    members = popgen.dosages(artefacts.split_cohort(artefacts.load_cohort(run),
                                                    artefacts.load_splits(run)["train"][:len(real)]))
    print("| model, sampling | seconds | AF r | two-sample AUC, dosages | two-sample AUC, four numbers | "
          "rare het / person | rare hom-ALT / person | variants / person |")
    print("|:--|--:|--:|--:|--:|--:|--:|--:|")
    print(row("real members (as many as the validation people)", members, real, 0.0))
    for name in args.models:
        parsed = artefacts.parse_model_name(name)
        tokenizer = tk.load(run, parsed["tokenizer"])
        model = models.load_model(Run.of(run).model_dir(name)).eval()
        order = generation.constrained_order(tokenizer)
        grammar = generation.panel_grammar(tokenizer, panel, phased, order=order)
        block = models.block_size(model)
        for label, temperature, top_p in SETTINGS:
            sampling = generation.SamplingConfig(max_new_tokens=block - 1, temperature=temperature, top_p=top_p,
                                                 batch_size=32)
            started = time.perf_counter()
            new = generation.generate(model, [tokenizer.bos_token_id], len(real), tokenizer.eos_token_id, sampling,
                                      constraint=grammar, seed=args.seed)
            profiles = []
            for ids in new:
                records = generation.ids_to_records(tokenizer, ids)
                if len(ids) >= sampling.max_new_tokens:
                    records = generation.drop_cut_record(records, panel)
                profiles.append(grammar.sort_records(records) if order == "any" else records)
            d = popgen.dosages(profiletext.to_cohort(profiles, panel))
            print(row(f"{name}, {label}", d, real, time.perf_counter() - started), flush=True)


if __name__ == "__main__":
    main()
