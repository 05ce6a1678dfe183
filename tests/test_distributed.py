"""lib.runs.distributed: private training under torchrun with Opacus' DPDDP, on 2 CPU processes
(gloo). The accounting must equal the single-process run with the same global batch, and
the loss must be finite. A real smoke-sized run directory, real processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import make_small_run
from lib.runs import artefacts
from lib.lm import models, training
from lib.dp import privacy
from lib.core import profiles, rundir
from lib.lm import tokenization as tk
from lib.runs.distributed import DistributedPoissonSampler

ROOT = rundir.REPO_ROOT


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_small_run(tmp_path_factory.mktemp("ddp"), seed=5, n_sites=30, samples_per_population=12)


def test_sampler_yields_every_step_and_samples_poisson():
    """Each process owns a disjoint share; draws are independent with the same rate; empty
    local batches are yielded, not skipped (every process must take every step)."""
    n, q, steps = 50, 0.1, 400
    shares = [DistributedPoissonSampler(n, q, rank, 2, steps, torch.Generator().manual_seed(rank)) for rank in (0, 1)]
    assert sorted(shares[0].indices.tolist() + shares[1].indices.tolist()) == list(range(n))
    batches = [list(share) for share in shares]
    assert all(len(b) == steps for b in batches)
    assert any(len(batch) == 0 for batch in batches[0])  # q * n / 2 = 2.5 expected: empties happen
    sizes = torch.tensor([len(a) + len(b) for a, b in zip(*batches)], dtype=torch.float)
    # the global batch size is Binomial(n, q): mean n q, variance n q (1 - q)
    assert abs(sizes.mean().item() - n * q) < 4 * (n * q * (1 - q) / steps) ** 0.5
    with pytest.raises(ValueError, match="sample_rate"):
        DistributedPoissonSampler(n, 0.0, 0, 2, steps, torch.Generator())


def test_torchrun_two_processes_account_like_one(run, tmp_path):
    out = tmp_path / "mingpt-eps8-ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
               "-m", "lib.runs.distributed", "--run-dir", str(run), "--profile", "smoke", "--family", "mingpt",
               "--target-epsilon", "8", "--accountant", "rdp", "--epochs", "2", "--batch-size", "8",
               "--seed", "3", "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = json.loads((out / "privacy.json").read_text())
    # the history is a diagnostic computed on the members: beside the model directory, not in it
    assert not (out / "history.json").exists()
    history = json.loads((tmp_path / "mingpt-eps8-ddp.history.json").read_text())
    assert len(history["epochs"]) == 2
    assert all(0 <= e["clipped_fraction"] <= 1 and e["accountant"] == "rdp" for e in history["epochs"])
    assert record["world_size"] == 2 and record["backend"] == "gloo" and record["sampler"] == "poisson"
    assert record["seed"] == 3 and record["rank"] == 0 and record["secure_mode"] is False
    assert all(torch.isfinite(torch.tensor([e["train_loss"], e["val_loss"]])).all() for e in history["epochs"])

    # the single-process set-up of the same global batch gives the same q and sigma ...
    settings = profiles.resolve("smoke")
    tokenizer = tk.load(run, artefacts.main_tokenizer("mingpt"))
    train_ids = artefacts.encode_split(run, tokenizer, "train")
    sizes = models.sizes_from_profile(settings, "mingpt", block_size=artefacts.public_block_size(run, tokenizer))
    model = models.build_model("mingpt", sizes, tokenizer, seed=3)
    single = privacy.make_private(model, training.make_optimizer(model, 1e-3, 0.0), train_ids, batch_size=8,
                                  max_grad_norm=settings["dp_max_grad_norm"], epochs=2, target_epsilon=8,
                                  delta=settings["dp_delta"], accountant="rdp", seed=3)
    assert record["sample_rate"] == pytest.approx(single.settings.sample_rate, rel=1e-12)
    assert record["noise_multiplier"] == pytest.approx(single.settings.noise_multiplier, rel=1e-12)
    # ... every planned step was taken on both processes, and epsilon is the accountant's
    assert record["steps"] == 2 * single.settings.steps_per_epoch
    expected = privacy.compute_epsilon(record["sample_rate"], record["noise_multiplier"], record["steps"],
                                       record["delta"], "rdp")
    assert record["epsilon"] == pytest.approx(expected, rel=1e-9)
    assert record["epsilon"] <= 8 + 1e-6
    reloaded = models.load_model(out)  # rank 0 saved a loadable model
    assert models.family_of(reloaded) == "mingpt"
