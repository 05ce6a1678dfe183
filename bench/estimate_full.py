"""What the ``full`` profile costs: an estimate from per-step costs measured here.

    python bench/estimate_full.py [--quick-run data/runs/quick] [--length 128] [--steps 3]
                                  [--threads 2] [--gpu-tflops 50]

No GPU was at hand when this was written, and a full book does not fit this machine, so
the full profile's time is *estimated*, and every line says how:

1. **Sequence lengths (extrapolated).** The quick run's tokens per sparse profile
   (``diagnostics/02_lengths.csv``: mean and longest, per tokenizer, on its 998-site
   panel) scaled by the full panel's sites over the quick panel's: a profile carries
   variants in proportion to the sites of a panel of the same make-up (the same
   ``common_fraction``).
2. **Seconds per step (measured).** One training step of each family at the full
   profile's sizes (minGPT 6 x 384, GPT-2 small 12 x 768) and batch size, non-private and
   private (:func:`lib.dp.privacy.make_private`, as ``bench/bench_dp.py`` builds them), on
   ``--length`` random tokens, the median of ``--steps`` steps after one warm-up step;
   then scaled linearly in tokens to the full mean length (the attention's quadratic
   term is a small part at these widths; the scaling is an estimate).
3. **Steps (counted).** Every training the full book runs, from the profile's settings:
   chapter 03's models and the GPT-2 public base, chapter 04's ε grid, clipping alone and
   dp-transformers, chapter 06's offline and online reference models and the audit runs;
   each for its planned epochs (early stopping can only shorten it), over its own people.
4. **A GPU (assumed, not measured).** 6 x parameters x tokens floating-point operations
   per non-private step (forward and backward), times the private/non-private ratio
   measured here, at ``--gpu-tflops`` sustained; memory from the sizes: weights,
   gradients and AdamW's two moments (16 bytes a parameter), one per-sample gradient per
   sequence of the batch for DP-SGD, and the activations of a batch.

Prints one table per part and the totals. Not a test; nothing is asserted.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_dp import Setting, build, timed  # noqa: E402
from lib.lm import models  # noqa: E402
from lib.core.profiles import get_profile  # noqa: E402

#: The 1000 Genomes phase 3 release the full profile downloads.
FULL_PEOPLE = 2_504
#: Tokens per record of each family's main tokenizer, and its name.
MAIN = {"mingpt": "record", "gpt2": "variant"}


def lengths(quick_run: Path, scale: float) -> pd.DataFrame:
    table = pd.read_csv(quick_run / "diagnostics" / "02_lengths.csv")
    table = table[table["profile"] == "sparse"].set_index("tokenizer")
    return pd.DataFrame({"quick mean": table["mean tokens"], "quick longest": table["max tokens"],
                         "full mean (extrapolated)": (table["mean tokens"] * scale).round(),
                         "full longest (extrapolated)": (table["max tokens"] * scale).round()})


def measure(family: str, length: int, steps: int, profile: str) -> dict[str, float]:
    setting = Setting(profile=profile, length=length, device="cpu")
    out = {"parameters": float(models.num_parameters(models.build_model(
        family, setting.sizes(family), {"vocab_size": 1_100, "pad_token_id": 0, "bos_token_id": 1,
                                         "eos_token_id": 2}, seed=0)))}
    for label, mode in (("non-private", None), ("private", "auto")):
        step, _ = build(family, mode, setting)
        step()  # warm-up
        out[label] = statistics.median(timed(step, "cpu") for _ in range(steps))
    return out


def trainings(settings: dict) -> list[tuple[str, str, str, bool, int, int]]:
    """(what, family, tokenizer, private, people, epochs) for every training of the full book."""
    n = FULL_PEOPLE
    train = round(n * (1 - settings["validation_fraction"] - settings["holdout_fraction"]
                       - settings["public_fraction"]))
    public = round(n * settings["public_fraction"])
    holdout = round(n * settings["holdout_fraction"])
    epochs, text_epochs = settings["train_epochs"], settings["text_model_epochs"]
    eps = len(settings["dp_epsilons"])
    offline, online = settings["mia_reference_models"], settings["mia_online_references"]
    canaries = settings["audit_canaries"]
    # chapter 03's models, each with chapter 06's references: (family, tokenizer, epochs)
    targets = [("mingpt", "record", epochs), ("gpt2", "variant", epochs), ("mingpt", "variant", epochs),
               ("mingpt", "bpe", text_epochs)]
    rows = [("03: GPT-2 public base", "gpt2", "variant", False, public, epochs)]
    for family, tokenizer, e in targets:
        rows.append((f"03: {family} on {tokenizer}", family, tokenizer, False, train, e))
        rows += [(f"06: {family} on {tokenizer}, offline references", family, tokenizer, False, public // 2, e)] * offline
        if settings.get("mia_online_tokenizers", "all") == "all" or tokenizer in settings["mia_online_tokenizers"]:
            rows += [(f"06: {family} on {tokenizer}, online references", family, tokenizer, False,
                      (public + 2 * holdout) // 2, e)] * online
    for family in MAIN:
        rows += [(f"04: {family}, {eps} budgets and clipping alone", family, MAIN[family], True, train, epochs)] * (eps + 1)
        rows += [(f"06: {family}, audit runs", family, MAIN[family], True, train + canaries // 2, epochs)] * (eps + 1)
    rows += [("04: GPT-2 through dp-transformers", "gpt2", "variant", True, train, epochs)]
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick-run", default="data/runs/quick")
    parser.add_argument("--length", type=int, default=128, help="tokens per sequence measured (default 128)")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--gpu-tflops", type=float, default=50.0,
                        help="assumed sustained TFLOP/s of one GPU in fp32/TF32 (default 50)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    full, quick = get_profile("full"), get_profile("quick")
    scale = full["n_sites"] / 998 if quick["data"].get("vcf_path") else full["n_sites"] / quick["n_sites"]
    table = lengths(Path(args.quick_run), scale)
    print(f"1. tokens per sparse profile (quick: 998 sites; full: {full['n_sites']:,} sites, x{scale:.2f})")
    print(table.to_string())
    batch = full["train_batch_size"]
    measured = {f: measure(f, args.length, args.steps, "full") for f in MAIN}
    rows = []
    for family, m in measured.items():
        full_mean = float(table.loc[MAIN[family], "full mean (extrapolated)"])
        factor = full_mean / args.length
        rows.append({"family": family, "parameters": f"{m['parameters'] / 1e6:.1f} M",
                     "s/step measured": f"{m['non-private']:.2f}", "DP s/step measured": f"{m['private']:.2f}",
                     "DP / non-DP": f"{m['private'] / m['non-private']:.2f}",
                     "main tokenizer, full mean tokens": f"{full_mean:.0f}",
                     "s/step there (scaled)": f"{m['non-private'] * factor:.1f}",
                     "DP s/step there (scaled)": f"{m['private'] * factor:.1f}"})
    print(f"\n2. seconds per training step on this machine, batch {batch}, measured at {args.length} tokens "
          f"({torch.get_num_threads()} threads), scaled linearly in tokens to the full profile's mean profile")
    print(pd.DataFrame(rows).to_string(index=False))
    plan = trainings(full)
    totals: dict[str, list[float]] = {}
    for what, family, tokenizer, private, people, epochs in plan:
        m = measured[family]
        full_mean = float(table.loc[tokenizer, "full mean (extrapolated)"])
        steps = math.ceil(people / batch) * epochs
        cpu = steps * (m["private"] if private else m["non-private"]) * full_mean / args.length
        flops = 6 * m["parameters"] * batch * full_mean * steps * ((m["private"] / m["non-private"]) if private else 1)
        gpu = flops / (args.gpu_tflops * 1e12)
        entry = totals.setdefault(what, [0, 0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += steps
        entry[2] += cpu
        entry[3] += gpu
    frame = pd.DataFrame([{"training": k, "runs": v[0], "steps": v[1], "this machine (h, estimate)": round(v[2] / 3600, 1),
                           f"one GPU at {args.gpu_tflops:g} TFLOP/s (h, estimate)": round(v[3] / 3600, 2)}
                          for k, v in totals.items()])
    print("\n3./4. every training of the full book (planned epochs; early stopping can only shorten them)")
    print(frame.to_string(index=False))
    print(f"total: {frame['runs'].sum()} trainings, {frame['steps'].sum():,} steps; this machine about "
          f"{frame['this machine (h, estimate)'].sum():,.0f} h; one GPU about "
          f"{frame.iloc[:, -1].sum():.1f} h (an estimate from FLOPs at the assumed throughput)")
    for family, m in measured.items():
        sizes = models.sizes_from_profile(full, family, block_size=int(table.loc[MAIN[family],
                                                                                 "full longest (extrapolated)"]))
        length = int(table.loc[MAIN[family], "full longest (extrapolated)"])
        params = m["parameters"]
        state = 16 * params
        per_sample = batch * 4 * params
        activations = batch * length * sizes["n_embd"] * sizes["n_layer"] * 34 + \
            batch * sizes["n_head"] * length ** 2 * sizes["n_layer"] * 4 * 2
        print(f"GPU memory, {family} (estimate, longest profile {length} tokens): optimizer state "
              f"{state / 2**30:.1f} GiB + per-sample gradients {per_sample / 2**30:.1f} GiB (DP) + activations "
              f"{activations / 2**30:.1f} GiB = {(state + per_sample + activations) / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
