"""Independent jobs side by side (lib.core.parallel): the same numbers however many run at once,
a manifest that loses nothing when jobs record at the same time, failures that surface."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.core import parallel, rundir


def train_tiny(seed: int) -> list[float]:
    """A job: a tiny minGPT trained for a few steps on seeded random tokens; its final weights'
    first values (any thread-count effect on the arithmetic would show here)."""
    import torch

    from lib.lm import models, training

    vocab = {"vocab_size": 40, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    g = torch.Generator().manual_seed(seed)
    ids = [[1] + torch.randint(3, 40, (30,), generator=g).tolist() + [2] for _ in range(24)]
    sizes = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 64, "dropout": 0.0}
    model = models.build_model("mingpt", sizes, vocab, seed=seed)
    config = training.TrainConfig(epochs=2, batch_size=8, lr=3e-3, seed=seed, progress=False)
    training.train(model, ids, None, config)
    return [float(x) for x in next(model.parameters()).detach().flatten()[:16]]


def record(run: str, index: int) -> int:
    """A job that records 20 artefacts of its own in the run's manifest."""
    for i in range(20):
        path = Path(run) / "metrics" / f"job{index}-{i}.txt"
        rundir.write_text(path, f"{index} {i}")
        rundir.record_artefacts(Path(run), "test", {"index": index, "i": i}, [path])
    return index


def fail(message: str) -> None:
    raise ValueError(message)


def test_side_by_side_gives_the_numbers_of_one_after_another():
    jobs = [{"seed": s} for s in (0, 1, 2)]
    one = parallel.run_jobs(train_tiny, jobs, workers=1)
    two = parallel.run_jobs(train_tiny, jobs, workers=2)
    assert one == two  # bit for bit: every job runs with one thread either way
    assert one[0] != one[1]


def test_jobs_recording_at_once_lose_no_manifest_entry(tmp_path):
    run = rundir.run_path(tmp_path / "run", "smoke")
    assert parallel.run_jobs(record, [{"run": str(run), "index": k} for k in range(4)], workers=2) == [0, 1, 2, 3]
    artefacts = json.loads((run / "manifest.json").read_text())["artefacts"]
    assert len([name for name in artefacts if name.startswith("metrics/job")]) == 80
    assert all(rundir.is_current(run, {"index": k, "i": i}, [run / "metrics" / f"job{k}-{i}.txt"])
               for k in range(4) for i in range(20))


def test_a_failing_job_raises_with_its_message():
    with pytest.raises(ValueError, match="the second job"):
        parallel.run_jobs(fail, [{"message": "the first job"}, {"message": "the second job"}][1:], workers=2)


def test_the_number_of_workers(monkeypatch):
    monkeypatch.setenv("LIB_WORKERS", "3")
    assert parallel.default_workers(10) == 3 and parallel.default_workers(2) == 2
    monkeypatch.setenv("LIB_WORKERS", "zero")
    with pytest.raises(ValueError, match="LIB_WORKERS"):
        parallel.default_workers(4)
    assert parallel.run_jobs(fail, []) == []
