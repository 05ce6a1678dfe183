"""The cost of privacy per step: a DP-SGD step against a non-private one, for both families.

For each model family -- the project's minGPT (:class:`lib.lm.models.GPT`) and GPT-2
(``transformers.GPT2LMHeadModel``) -- built with the ``quick`` profile's sizes (or
another profile's), prints the median seconds of one *private* training step divided by
the median seconds of one *non-private* step, both measured in the same process, and
the peak memory of each. Target: DP / non-DP <= 1.2x for both families. Not a test;
nothing is asserted.

**What one step is.** Exactly what :func:`lib.lm.training.train` does per batch:

* non-private: ``zero_grad``, forward (``input_ids`` positional, ``attention_mask`` and
  ``position_ids`` keywords, the token-weighted :func:`lib.lm.models.lm_loss`, through
  ``training._forward_loss``), ``backward``, ``clip_grad_norm_`` (the profile's
  ``train_grad_clip``), AdamW step (:func:`lib.lm.training.make_optimizer`), scheduler step;
* private: the same model, optimizer and scheduler made private by
  :func:`lib.dp.privacy.make_private` (``noise_multiplier=1.0``, ``max_grad_norm=1.0``, and
  the ``grad_sample_mode`` it picks: ``"ew"`` for both families, GPT-2's ``Conv1D``
  layers turned into ``nn.Linear`` for it), then ``zero_grad``, forward with the
  per-sequence loss (:func:`lib.lm.training.sequence_loss`), ``backward`` (per-sample
  gradients), and the ``DPOptimizer``'s step: per-sample clipping (through the project's
  ``ClippingMonitor``), Gaussian noise, AdamW; no global clip, as in ``train``.

Like ``train``, it runs with ``torch.use_deterministic_algorithms(True, warn_only=True)``
and the model in training mode (dropout on).

**Fixed batches.** Everything private is built through ``make_private`` (so the measured
path is the project's), but the step is timed on one *fixed* batch tensor -- the profile's
``train_batch_size`` (16 in ``quick``) sequences of ``--lengths`` random token ids (the
speed does not depend on the values; vocabulary 1,100, about the ``quick`` panel's
variant tokenizer: 1,000 site tokens, genotypes, specials; pad id 0) -- and *not* drawn
from the Poisson loader, whose batch sizes vary around 16 from step to step and would
make the two timings incomparable. The mean ``quick`` sparse profile is about 120 tokens
and the longest about 175 (``--lengths 120,175`` measures both).

**Timing.** Per family, every configuration (non-private, and each private mode) first
runs ``--warmup`` steps; then ``--steps`` steps each are timed one by one, in blocks of
``--block`` steps, the configurations taking turns block by block and the order reversed
every other round (A B B A ...) so that drift in the machine's load falls on all of them
alike. The table gives the median seconds per step, their ratio, and the smallest and
largest ratio of the per-round block medians (a sense of the noise). On a CPU the
timings are wall-clock ``time.perf_counter``; on CUDA each step is synchronised.

**Memory.** CPU tensors escape ``tracemalloc`` and PyTorch keeps no peak counter for the
CPU allocator, so each configuration is run again in a *fresh subprocess* (this file,
with ``--child``) that builds only that configuration, takes ``--warmup`` +
``--memory-steps`` steps and reports its peak resident set size, ``VmHWM`` of
``/proc/self/status`` (Linux): "peak MB" is the whole process's, the interpreter and the
libraries (about 355 MB once torch, transformers and Opacus are imported) included;
"step MB" is how far that peak rose above the resident size just before the first step
(activations, gradients, per-sample gradients, optimizer state, and what the allocator
keeps). Not ``getrusage(...).ru_maxrss``: Linux carries the parent's peak over into a
child across ``fork``/``exec``, so a child started by this (large) process would report
the parent's peak whatever it did itself. RSS is coarse -- a few MB of allocator slack --
which matters at ``quick`` sizes (one set of per-sample gradients is 16 x 372k
parameters x 4 bytes = 24 MB). On CUDA it reports ``torch.cuda.max_memory_allocated``
over the steps instead (both columns). ``--no-memory`` skips this.

**grad_sample_mode alternatives.** ``--modes`` lists the Opacus modes to time for every
family, ``auto`` being the one ``make_private`` picks (``lib.dp.grad_samplers.
grad_sample_mode``); any other mode is forced by substituting that function for the
duration of ``make_private`` (the GPT-2 ``Conv1D`` sampler is registered all the same).
E.g. ``--modes auto,hooks,functorch`` checks the claim that ``"ew"`` is the fastest on
this CPU; forced ``"hooks"`` on GPT-2 keeps its ``Conv1D`` layers and uses the project's
``Conv1D`` sampler (``make_private`` converts them for ``"ew"`` only). A mode that fails
(any ``"ghost"`` mode, which ``make_private`` does not set up) is printed as failed, with
the error.

Run: ``.venv/bin/python bench/bench_dp.py [--profile quick] [--lengths 120[,175]]
[--steps 30] [--warmup 3] [--block 5] [--modes auto[,hooks,...]] [--families mingpt,gpt2]
[--threads N] [--device cpu] [--no-memory]``, on an idle machine. The defaults took
70 s with ``--threads 1`` on a shared 2-core machine (each length and each extra mode adds
about 30-50 s), 3.5 minutes with its 2 default threads. On a *shared* machine pass
``--threads 1``: torch's OpenMP threads compete badly with other processes (on a loaded
2-core machine a step took 5-10x longer with 2 threads than with 1, and varied as much),
which drowns the ratio in noise -- with 2 threads there one run put the minGPT's private
step at 0.67x the non-private one.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.dp import grad_samplers, privacy  # noqa: E402
from lib.lm import models, training
from lib.core.profiles import get_profile  # noqa: E402

# about the variant tokenizer of the quick panel: 1,000 site tokens, genotypes, specials
VOCAB = {"vocab_size": 1_100, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
NON_DP = "non-DP"
TARGET = 1.2
N_BATCHES = 10  # make_private's data: this many batches of random sequences (q = 1/10)


# --------------------------------------------------------------------------------------
# One configuration: a model, its optimizer and one training step
# --------------------------------------------------------------------------------------

@dataclass
class Setting:
    """What every configuration shares."""
    profile: str
    length: int
    device: str
    noise_multiplier: float = 1.0
    max_grad_norm: float = 1.0

    @property
    def settings(self) -> dict[str, Any]:
        return get_profile(self.profile)

    def sizes(self, family: str) -> dict[str, Any]:
        """The profile's sizes; a context sized from public data (``"public"``) gets
        exactly the measured length."""
        return models.sizes_from_profile(self.settings, family, block_size=self.length)


@contextlib.contextmanager
def forced_mode(mode: str):
    """Make ``lib.dp.privacy.make_private`` use ``mode`` (``"auto"``: its own choice)."""
    if mode == "auto":
        yield
        return
    original = grad_samplers.grad_sample_mode

    def forced(model: torch.nn.Module) -> str:
        original(model)  # registers the GPT-2 Conv1D sampler, refuses unknown models
        return mode

    grad_samplers.grad_sample_mode = forced  # make_private imports it at call time
    try:
        yield
    finally:
        grad_samplers.grad_sample_mode = original


def data(setting: Setting) -> tuple[training.TokenDataset, tuple[torch.Tensor, ...]]:
    """Random sequences of ``setting.length`` tokens for ``make_private``, and the fixed
    batch (the first ``train_batch_size`` of them) every step is timed on."""
    batch_size = setting.settings["train_batch_size"]
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, VOCAB["vocab_size"], (N_BATCHES * batch_size, setting.length), generator=generator)
    dataset = training.TokenDataset(ids.tolist(), VOCAB["pad_token_id"])
    return dataset, training.collate([dataset[i] for i in range(batch_size)])


def build(family: str, mode: str | None, setting: Setting) -> tuple[Callable[[], None], str]:
    """A function taking one training step of ``family`` on the fixed batch -- non-private
    when ``mode`` is None, else private through ``make_private`` with ``mode`` -- and the
    ``grad_sample_mode`` actually used (``NON_DP`` for none)."""
    settings = setting.settings
    device = torch.device(setting.device)
    dataset, batch = data(setting)
    model = models.build_model(family, setting.sizes(family), VOCAB, seed=0)
    model.to(device).train()
    optimizer = training.make_optimizer(model, settings["train_lr"], settings["train_weight_decay"])
    pad = VOCAB["pad_token_id"]
    if mode is None:
        scheduler = training.make_scheduler(optimizer, 10_000, 100)
        clip = settings["train_grad_clip"]

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            loss, _, _ = training._forward_loss(model, batch, device, pad)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            scheduler.step()

        return step, NON_DP

    with forced_mode(mode):
        private = privacy.make_private(model, optimizer, dataset, max_grad_norm=setting.max_grad_norm,
                                       epochs=1, batch_size=settings["train_batch_size"],
                                       noise_multiplier=setting.noise_multiplier)
    wrapped, dp_optimizer = private.model, private.optimizer
    scheduler = training.make_scheduler(dp_optimizer, 10_000, 100)

    def dp_step() -> None:
        dp_optimizer.zero_grad(set_to_none=True)
        loss, _, _ = training._forward_loss(wrapped, batch, device, pad, per_sequence=True)
        loss.backward()
        dp_optimizer.step()
        if not getattr(dp_optimizer, "_is_last_step_skipped", False):
            scheduler.step()

    return dp_step, private.settings.grad_sample_mode


def timed(step: Callable[[], None], device: str) -> float:
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    started = time.perf_counter()
    step()
    sync()
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------
# Memory: one configuration in a fresh process
# --------------------------------------------------------------------------------------

def _status_mb(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Build one configuration, take warm-up and measured steps, report the peak memory."""
    setting = Setting(**spec["setting"])
    step, used = build(spec["family"], spec["mode"], setting)
    cuda = setting.device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    before = _status_mb("VmRSS")
    for _ in range(spec["steps"]):
        step()
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
        return {"mode": used, "peak_mb": peak, "step_mb": peak}
    peak = _status_mb("VmHWM")
    return {"mode": used, "peak_mb": peak, "step_mb": peak - before}


def memory(family: str, mode: str | None, setting: Setting, steps: int,
           threads: int | None) -> dict[str, Any]:
    spec = {"family": family, "mode": mode, "steps": steps, "setting": setting.__dict__}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------

def compare(family: str, modes: list[str], setting: Setting,
            args: argparse.Namespace) -> list[dict[str, Any]]:
    """Time the non-private step and each private mode of ``family`` interleaved; one row
    per private mode (or per failure)."""
    configs: dict[str, Callable[[], None]] = {}
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    project_mode = grad_samplers.grad_sample_mode(
        models.build_model(family, setting.sizes(family), VOCAB))
    requested: dict[str, str | None] = {}
    for mode in [None, *modes]:
        try:
            step, used = build(family, mode, setting)
            for _ in range(args.warmup):
                step()
        except Exception as error:  # a mode Opacus or make_private cannot run: report it
            message = f"{type(error).__name__}: {error}"
            if mode and mode.startswith("ghost"):
                message += (" (make_private does not set up ghost clipping: Opacus then returns a "
                            "criterion too)")
            failed.append({"family": family, "mode": mode, "error": message})
            continue
        if used in configs:  # "auto" and its explicit name: time it once
            continue
        configs[used] = step
        requested[used] = mode
    times: dict[str, list[float]] = {name: [] for name in configs}
    rounds: dict[str, list[float]] = {name: [] for name in configs}
    names = list(configs)
    n_rounds = max(1, -(-args.steps // args.block))
    for round_ in range(n_rounds):
        for name in (names if round_ % 2 == 0 else names[::-1]):
            block = [timed(configs[name], setting.device) for _ in range(args.block)]
            times[name] += block
            rounds[name].append(statistics.median(block))
    if NON_DP not in configs:
        return failed
    base = statistics.median(times[NON_DP])
    base_memory = memory(family, None, setting, args.warmup + args.memory_steps, args.threads) \
        if not args.no_memory else {}
    for name in names[1:]:
        ratios = [dp / non for dp, non in zip(rounds[name], rounds[NON_DP])]
        row = {"family": family, "mode": name + ("*" if name == project_mode else ""),
               "non_dp_s": base, "dp_s": statistics.median(times[name]), "steps": len(times[name]),
               "round_ratios": (min(ratios), max(ratios)), "memory_non_dp": base_memory}
        row["ratio"] = row["dp_s"] / base
        row["memory_dp"] = (memory(family, requested[name], setting, args.warmup + args.memory_steps,
                                   args.threads) if not args.no_memory else {})
        rows.append(row)
    return rows + failed


def _mb(result: dict[str, Any], key: str) -> str:
    if not result:
        return "-"
    if "error" in result:
        return "failed"
    return f"{result[key]:,.0f}"


def print_table(length: int, rows: list[dict[str, Any]]) -> None:
    print(f"\nbatch of {length}-token sequences")
    print(f"{'family':>7} {'mode':>9} {'non-DP s/step':>14} {'DP s/step':>10} {'DP/non-DP':>10} "
          f"{'round ratios':>13} {'peak MB non-DP':>15} {'peak MB DP':>11} {'step MB non-DP':>15} "
          f"{'step MB DP':>11} {'<= ' + str(TARGET) + 'x':>7}")
    for row in rows:
        if "error" in row:
            mode = row["mode"] or NON_DP
            print(f"{row['family']:>7} {mode:>9} failed: {row['error'][:300]}")
            continue
        low, high = row["round_ratios"]
        non, dp = row["memory_non_dp"], row["memory_dp"]
        print(f"{row['family']:>7} {row['mode']:>9} {row['non_dp_s']:>14.4f} {row['dp_s']:>10.4f} "
              f"{row['ratio']:>9.2f}x {f'{low:.2f}-{high:.2f}':>13} {_mb(non, 'peak_mb'):>15} "
              f"{_mb(dp, 'peak_mb'):>11} {_mb(non, 'step_mb'):>15} {_mb(dp, 'step_mb'):>11} "
              f"{'yes' if row['ratio'] <= TARGET else 'no':>7}")
        for label, result in (("non-DP", non), ("DP", dp)):
            if result and "error" in result:
                print(f"{'':>17} memory run ({label}) failed: {result['error'][:300]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--lengths", default="120", help="comma-separated sequence lengths (default 120)")
    parser.add_argument("--families", default=",".join(models.FAMILIES))
    parser.add_argument("--modes", default="auto",
                        help="comma-separated Opacus grad_sample_modes; auto = make_private's choice")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per configuration (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--block", type=int, default=5, help="steps per interleaved block (default 5)")
    parser.add_argument("--memory-steps", type=int, default=3, help="steps after warm-up in each memory run")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default=None, help="default: lib.lm.training.select_device()")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)  # as lib.lm.training.train does
    warnings.filterwarnings("ignore")  # Opacus' and transformers' notices, once per configuration
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return

    import opacus
    import transformers

    device = str(training.select_device(args.device))
    settings = get_profile(args.profile)
    print(f"profile={args.profile}: device {device}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, opacus {opacus.__version__}, transformers {transformers.__version__}")
    for family in args.families.split(","):
        sizes = models.sizes_from_profile(settings, family, block_size=max(int(x) for x in args.lengths.split(",")))
        model = models.build_model(family, sizes, VOCAB, seed=0)
        print(f"  {family}: {sizes['n_layer']} layers x {sizes['n_embd']} wide, {sizes['n_head']} heads, "
              f"{models.num_parameters(model):,} parameters")
    print(f"vocabulary {VOCAB['vocab_size']:,}, batch {settings['train_batch_size']} sequences (fixed), "
          f"noise multiplier 1.0, max grad norm 1.0; {args.warmup} warm-up + {args.steps} timed steps "
          f"per configuration in blocks of {args.block}, interleaved")
    if args.no_memory:
        how = "skipped"
    elif device.startswith("cuda"):
        how = "torch.cuda.max_memory_allocated during the steps, a fresh process per configuration"
    else:
        how = ("peak RSS (VmHWM) of a fresh process per configuration (peak MB: the whole process) "
               "and its rise over the RSS before the first step (step MB)")
    print(f"memory: {how}")
    modes = args.modes.split(",")
    started = time.perf_counter()
    for length in (int(x) for x in args.lengths.split(",")):
        setting = Setting(args.profile, length, device)
        rows = [row for family in args.families.split(",") for row in compare(family, modes, setting, args)]
        print_table(length, rows)
    print("\n* the grad_sample_mode lib.dp.privacy.make_private picks for the family; round ratios: the "
          "smallest and largest ratio of the per-round block medians")
    print(f"target: DP s/step / non-DP s/step <= {TARGET}x for both families")
    print(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
