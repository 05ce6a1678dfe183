"""lib.lm.training: batches, optimizer and schedule, and the loop (learning, determinism,
bit-identical resume for both families, early stopping, safetensors/JSON checkpoints)."""
from __future__ import annotations

import json

import pytest
import torch
from conftest import pattern_language

from lib.lm import models, training
from lib.lm.training import TrainConfig, pad_batch, train

VOCAB = {"vocab_size": 10, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
SIZES = {"block_size": 24, "n_layer": 1, "n_head": 2, "n_embd": 16, "dropout": 0.1}




TRAIN, VAL = pattern_language(24, 0), pattern_language(8, 1)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_pad_batch_left_aligned_with_positions():
    b = pad_batch([[1, 5, 2], [1, 2]], pad_token_id=0)
    assert b["input_ids"].tolist() == [[1, 5, 2], [1, 2, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert b["position_ids"].tolist() == [[0, 1, 2], [0, 1, 2]]


def test_overflow_policy():
    with pytest.raises(ValueError, match=r"1 of 2 sequences are longer than block_size=3 \(longest 5"):
        pad_batch([[1, 2], [1, 2, 3, 4, 5]], 0, block_size=3)
    with pytest.warns(UserWarning, match="truncated to 3"):
        b = pad_batch([[1, 2], [1, 2, 3, 4, 5]], 0, block_size=3, on_overflow="truncate")
    assert b["input_ids"].shape == (2, 3)
    with pytest.raises(ValueError, match="on_overflow"):
        pad_batch([[1]], 0, on_overflow="ignore")


def test_collate_trims_padding_columns():
    ds = training.TokenDataset([[1, 2], [1, 2, 3, 4, 5]], pad_token_id=0)
    ids, mask, pos = training.collate([ds[0]])
    assert ids.shape == (1, 2) and mask.tolist() == [[1, 1]] and pos.tolist() == [[0, 1]]
    assert training.collate([ds[0], ds[1]])[0].shape == (2, 5)


def test_weight_decay_on_matrices_only():
    model = models.build_model("mingpt", SIZES, VOCAB)
    decay, no_decay = training.make_optimizer(model, 1e-3, 0.1).param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_schedule_warms_up_then_decays_by_cosine():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = training.make_scheduler(opt, total_steps=20, warmup_steps=4, min_lr_ratio=0.1)
    rates = []
    for _ in range(20):
        rates.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert all(a >= b for a, b in zip(rates[3:], rates[4:]))
    assert rates[-1] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * 15 / 16)).item()))


def test_select_device():
    assert training.select_device("cpu") == torch.device("cpu")
    assert training.select_device().type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            training.select_device("cuda")


@pytest.mark.parametrize("family", models.FAMILIES)
def test_training_lowers_loss(family):
    model = models.build_model(family, SIZES, VOCAB, seed=0)
    before = training.mean_loss(model, training.make_loader(training.TokenDataset(VAL, 0), 8))
    history = train(model, TRAIN, VAL, TrainConfig(epochs=4, batch_size=4, lr=1e-2, progress=False,
                                                   device="cpu"))
    assert history["epochs"][-1]["val_loss"] < before - 0.5
    assert history["epochs"][-1]["train_loss"] < history["epochs"][0]["train_loss"]
    entry = history["epochs"][0]
    assert entry["tokens"] == sum(map(len, TRAIN)) and entry["tokens_per_s"] > 0
    assert history["family"] == family and history["device"] == "cpu"


def test_same_seed_same_weights():
    runs = []
    for _ in range(2):
        model = models.build_model("mingpt", SIZES, VOCAB, seed=3)
        train(model, TRAIN, VAL, TrainConfig(epochs=2, batch_size=4, seed=5, progress=False))
        runs.append(weights(model))
    assert same(*runs)
    other = models.build_model("mingpt", SIZES, VOCAB, seed=3)
    train(other, TRAIN, VAL, TrainConfig(epochs=2, batch_size=4, seed=6, progress=False))
    assert not same(runs[0], weights(other))


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("family", models.FAMILIES)
def test_resume_is_bit_identical(tmp_path, family):
    config = dict(epochs=2, batch_size=4, seed=1, progress=False, patience=5, restore_best=False)
    whole = models.build_model(family, SIZES, VOCAB, seed=2)
    train(whole, TRAIN, VAL, TrainConfig(**config))

    def crash_in_epoch_2(entry, model):
        if entry["epoch"] == 2:
            raise Interrupt

    ckpt = tmp_path / "ckpt"
    first = models.build_model(family, SIZES, VOCAB, seed=2)
    with pytest.raises(Interrupt):
        train(first, TRAIN, VAL, TrainConfig(**config, checkpoint_dir=str(ckpt)), on_epoch_end=crash_in_epoch_2)
    assert json.loads((ckpt / "latest.json").read_text())["epoch"] == 1
    resumed = models.build_model(family, SIZES, VOCAB, seed=99)  # weights come from the checkpoint
    history = train(resumed, TRAIN, VAL, TrainConfig(**config, checkpoint_dir=str(ckpt)))
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    assert same(weights(whole), weights(resumed))
    # every file written is safetensors or JSON: nothing to unpickle
    files = [p for p in ckpt.rglob("*") if p.is_file()]
    assert files and all(p.suffix in (".safetensors", ".json") for p in files), files
    assert json.loads((ckpt / "history.json").read_text())["epochs"][1]["epoch"] == 2
    with pytest.raises(ValueError, match="other settings"):
        train(resumed, TRAIN, VAL, TrainConfig(**dict(config, lr=0.5), checkpoint_dir=str(ckpt)))


def test_early_stopping_restores_best(tmp_path):
    model = models.build_model("mingpt", SIZES, VOCAB, seed=0)
    seen = []
    # min_delta so large that no epoch after the first counts as an improvement
    history = train(model, TRAIN, VAL, TrainConfig(epochs=6, batch_size=4, patience=2, min_delta=1e9,
                                                   progress=False, checkpoint_dir=str(tmp_path)),
                    on_epoch_end=lambda entry, m: seen.append(weights(m)))
    assert history["stopped_early"] and len(history["epochs"]) == 3
    assert history["best_epoch"] == 1 and history["restored_best"]
    assert same(weights(model), seen[0])
    assert (tmp_path / "best.safetensors").exists()
    # resuming a stopped run trains no further
    again = train(model, TRAIN, VAL, TrainConfig(epochs=6, batch_size=4, patience=2, min_delta=1e9,
                                                 progress=False, checkpoint_dir=str(tmp_path)))
    assert len(again["epochs"]) == 3 and same(weights(model), seen[0])


def test_caller_supplies_optimizer_and_loader():
    """The private chapter's path: its own optimizer and loader go through the same loop."""
    model = models.build_model("mingpt", SIZES, VOCAB, seed=0)
    loader = training.make_loader(training.TokenDataset(TRAIN, 0), batch_size=6, shuffle=True, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    calls = []
    history = train(model, None, VAL, TrainConfig(epochs=1, progress=False), optimizer=opt,
                    train_loader=loader, on_epoch_end=lambda e, m: calls.append(e["epoch"]))
    assert calls == [1] and len(history["epochs"]) == 1
    with pytest.raises(ValueError, match="pad_token_id"):
        train(models.build_model("mingpt", SIZES, 10), TRAIN)


def test_private_run_is_handed_in_whole(monkeypatch):
    """``train(..., private=...)`` (what :func:`lib.dp.privacy.make_private` returns) replaces
    the old loader/optimizer/engine keywords: the loop takes the Poisson loader and the
    ``DPOptimizer`` from it, never clips globally (DP-SGD clips per sequence), and adds
    epsilon, the clipping statistics and the accountant to every epoch."""
    from lib.dp import privacy

    def no_global_clip(*args, **kwargs):
        raise AssertionError("a private run must not clip the batch gradient")

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", no_global_clip)
    model = models.build_model("mingpt", dict(SIZES, dropout=0.0), VOCAB, seed=0)
    private = privacy.make_private(model, training.make_optimizer(model, 1e-2, 0.0), TRAIN, max_grad_norm=1.0,
                                   epochs=3, batch_size=6, noise_multiplier=1.0, delta=1e-3, accountant="rdp")
    history = train(private.model, None, VAL, TrainConfig(epochs=3, batch_size=6, grad_clip=1.0, progress=False,
                                                           device="cpu"), private=private)
    assert len(history["epochs"]) == 3 and private.steps == 12
    for entry in history["epochs"]:
        assert entry["steps"] == 4 and entry["accountant"] == "rdp"
        assert 0 <= entry["clipped_fraction"] <= 1 and entry["grad_norm_median"] > 0
        assert entry["per_sample_gradients"] > 0
    spent = [e["epsilon"] for e in history["epochs"]]
    assert spent == sorted(spent) and spent[-1] == pytest.approx(private.epsilon())
    for gone in ("privacy_engine", "delta", "max_physical_batch_size", "optimizer_factory", "scheduler",
                 "val_loader"):
        with pytest.raises(TypeError, match=gone):
            train(models.build_model("mingpt", SIZES, VOCAB), TRAIN, VAL, TrainConfig(progress=False),
                  **{gone: None})
