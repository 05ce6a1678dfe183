"""lib.dp.dp_transformers_compat: dp-transformers 1.0.0 on transformers 5 / Opacus 1.6.

A tiny GPT-2 is trained privately for a few steps on CPU (Poisson batches, with and
without gradient accumulation, empty batches included); its epsilon is recomputed
independently; each known breakage of dp-transformers 1.0.0 is shown to break without
the fix and to work with it; the loss is shown to be per person (a sequence's
per-example gradient does not depend on who else was sampled); a missing or too large
delta is refused; and :func:`fit` trains like :func:`lib.lm.training.train`, reproducibly."""
from __future__ import annotations

import logging
import math

import pytest
import torch
from conftest import pattern_language

from lib.dp import dp_transformers_compat as compat  # patches transformers, then imports dp-transformers
from lib.lm import models, training
from lib.dp.grad_samplers import compute_conv1d_grad_sample, register_conv1d_grad_sampler

N_EXAMPLES = 32
DELTA = 1e-3  # below 1 / N_EXAMPLES
SIZES = {"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16, "tie_weights": True}


@pytest.fixture(scope="module")
def tokenizer():
    from lib.lm.tokenization import character_tokenizer

    return character_tokenizer()


@pytest.fixture(scope="module")
def dataset(tokenizer):
    """A few dozen short random token sequences (lengths 4..11), as a datasets.Dataset."""
    import datasets

    g = torch.Generator().manual_seed(0)
    rows = []
    for _ in range(N_EXAMPLES):
        length = int(torch.randint(4, 12, (1,), generator=g))
        rows.append({"input_ids": torch.randint(3, len(tokenizer), (length,), generator=g).tolist()})
    return datasets.Dataset.from_list(rows)


def make_trainer(tokenizer, dataset, output_dir, *, noise_multiplier=1.0, target_delta=DELTA, **overrides):
    model = models.build_model("gpt2", SIZES, tokenizer, seed=0)
    settings = dict(per_device_train_batch_size=8, num_train_epochs=1, learning_rate=1e-2,
                    logging_steps=1, seed=0)
    settings.update(overrides)
    args = compat.training_arguments(output_dir, **settings)
    privacy = compat.PrivacyArguments(per_sample_max_grad_norm=1.0, noise_multiplier=noise_multiplier,
                                      target_delta=target_delta)
    return compat.dp_trainer(model, tokenizer, dataset, training_args=args, privacy_args=privacy)


def train_counting_noisy_steps(trainer) -> int:
    """Train; return how many optimizer steps added noise (the DPOptimizer's step hook
    runs only on steps that are not skipped), checking that none of them happened inside
    a gradient-accumulation micro-step. create_optimizer() is called first and must
    return the same DPOptimizer when the Trainer calls it again (breakage 5)."""
    optimizer = trainer.create_optimizer()
    in_substep, noisy = [], []
    optimizer.attach_step_hook(lambda opt: noisy.append(bool(in_substep)))
    on_substep_end = trainer.dp_callback.on_substep_end

    def marked_substep_end(*args, **kwargs):
        in_substep.append(True)
        try:
            return on_substep_end(*args, **kwargs)
        finally:
            in_substep.pop()

    trainer.dp_callback.on_substep_end = marked_substep_end
    trainer.train()
    assert compat._dp_optimizer(trainer.optimizer) is optimizer
    assert not any(noisy), "a micro-step added noise and updated the weights"
    return len(noisy)


def independent_prv_epsilon(q: float, sigma: float, steps: int, delta: float, planned: int) -> float:
    """prv-accountant's current API (PRVAccountant + PoissonSubsampledGaussianMechanism),
    same error budget as dp-transformers (eps_error 0.1, delta_error delta/1000)."""
    from prv_accountant import PoissonSubsampledGaussianMechanism, PRVAccountant

    prv = PoissonSubsampledGaussianMechanism(sampling_probability=q, noise_multiplier=sigma)
    accountant = PRVAccountant(prvs=[prv], eps_error=0.1, delta_error=delta / 1000,
                               max_self_compositions=[planned])
    return accountant.compute_epsilon(delta, [steps])[2]


def rdp_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """Opacus' RDP analysis called directly (orders as Opacus' RDPAccountant)."""
    from opacus.accountants.analysis import rdp

    orders = RDP_ORDERS
    eps, _ = rdp.get_privacy_spent(orders=orders, rdp=rdp.compute_rdp(q=q, noise_multiplier=sigma,
                                                                      steps=steps, orders=orders),
                                   delta=delta)
    return float(eps)


RDP_ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


# --------------------------------------------------------------------------------------
# Training runs
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run(tokenizer, dataset, tmp_path_factory):
    """One epoch of q = 8/32: int(1/q) = 4 Poisson steps."""
    trainer = make_trainer(tokenizer, dataset, tmp_path_factory.mktemp("dp_run"))
    before = {k: v.detach().clone() for k, v in trainer.model._module.state_dict().items()}
    noisy = train_counting_noisy_steps(trainer)
    return trainer, before, noisy


def test_tiny_run_trains_with_poisson_batches(run):
    trainer, before, noisy = run
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses and all(math.isfinite(loss) for loss in losses)
    assert trainer.state.global_step == trainer.num_steps == 4
    assert noisy == trainer.state.global_step  # every step noised exactly once
    assert len(trainer.batch_sizes) == 4 and len(set(trainer.batch_sizes)) > 1  # Poisson: sizes vary
    after = trainer.model._module.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert "grad_norm" not in str(trainer.state.log_history)  # no non-private gradient norm logged


def test_reported_epsilon_equals_independent_accountants(run):
    trainer, _, _ = run
    report = trainer.privacy_report()
    q, sigma, steps, delta = 8 / N_EXAMPLES, 1.0, 4, DELTA
    assert (report["sampling_rate"], report["noise_multiplier"], report["steps"], report["delta"]) == \
        (q, sigma, steps, delta)
    assert report["accountant"] == "prv" and report["sampler"] == "poisson"
    torch.testing.assert_close(report["epsilon"], independent_prv_epsilon(q, sigma, steps, delta, steps),
                               rtol=1e-9, atol=0)
    # the RDP accountant stepped by the callback, once per optimizer step
    torch.testing.assert_close(trainer.get_rdp_epsilon(), rdp_epsilon(q, sigma, steps, delta), rtol=1e-9, atol=0)
    # Opacus' own PRV implementation (eps_error 0.01) agrees within dp-transformers' eps_error
    from opacus.accountants import PRVAccountant

    opacus_prv = PRVAccountant()
    opacus_prv.history = [(sigma, q, steps)]
    assert abs(report["epsilon"] - opacus_prv.get_epsilon(delta)) <= compat.PRV_EPS_ERROR + 0.01


def test_saved_model_loads_the_hugging_face_way(run, tmp_path):
    from transformers import GPT2LMHeadModel

    trainer, _, _ = run
    trainer.save_model(str(tmp_path / "model"))
    loaded = GPT2LMHeadModel.from_pretrained(str(tmp_path / "model"), local_files_only=True)
    for name, tensor in trainer.model._module.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor)


def test_gradient_accumulation_and_empty_batches(tokenizer, dataset, tmp_path):
    """q = 1 * 2 / 32: one Poisson batch per step split into 2 micro-batches, so batches of
    0 or 1 examples give empty micro-batches; those still count, and every optimizer step
    is noised once, micro-steps never (breakage 3: the FIFO skip flags)."""
    trainer = make_trainer(tokenizer, dataset, tmp_path, per_device_train_batch_size=1,
                           gradient_accumulation_steps=2, max_steps=8)
    noisy = train_counting_noisy_steps(trainer)
    assert trainer.state.global_step == 8 == noisy
    assert any(size <= 1 for size in trainer.batch_sizes)  # an empty micro-batch happened
    report = trainer.privacy_report()
    assert report["sampling_rate"] == 2 / N_EXAMPLES and report["steps"] == 8
    torch.testing.assert_close(report["epsilon"],
                               independent_prv_epsilon(2 / N_EXAMPLES, 1.0, 8, DELTA, 8),
                               rtol=1e-9, atol=0)


# --------------------------------------------------------------------------------------
# Each known breakage, without and with the fix
# --------------------------------------------------------------------------------------

def test_conv1d_is_back_on_modeling_utils_and_our_sampler_wins():
    import transformers.modeling_utils
    from transformers.pytorch_utils import Conv1D

    assert transformers.modeling_utils.Conv1D is Conv1D
    compat.patch_transformers()  # idempotent
    try:
        # breakage 1: this import fails on transformers 5 without the patch
        from dp_transformers.grad_sample.transformers.conv_1d import compute_transformers_conv1d_grad_sample
        from opacus.grad_sample import GradSampleModule

        # breakage 2: importing it registered dp-transformers' sampler, which expects the
        # activations as a tensor; Opacus 1.6 passes a list
        layer = Conv1D(4, 3)
        x, g = torch.randn(2, 5, 3), torch.randn(2, 5, 4)
        with pytest.raises((TypeError, RuntimeError, AttributeError)):
            compute_transformers_conv1d_grad_sample(layer, [x], g)
        register_conv1d_grad_sampler()  # what the compat trainer does on construction
        assert GradSampleModule.GRAD_SAMPLERS[Conv1D] is compute_conv1d_grad_sample
    finally:
        register_conv1d_grad_sampler()


def test_dp_callback_needs_the_dp_optimizer_not_accelerates_wrapper():
    from accelerate import Accelerator
    from dp_transformers.dp_utils import DPCallback
    from opacus.accountants import RDPAccountant
    from opacus.optimizers import DPOptimizer
    from transformers import TrainerControl, TrainerState

    def setup():
        layer = torch.nn.Linear(3, 2)
        for p in layer.parameters():
            p.grad_sample = torch.zeros(4, *p.shape)
        optimizer = DPOptimizer(torch.optim.SGD(layer.parameters(), lr=0.1), noise_multiplier=1.0,
                                max_grad_norm=1.0, expected_batch_size=4)
        noisy = []
        optimizer.attach_step_hook(lambda opt: noisy.append(1))
        return layer, optimizer, noisy

    kwargs = dict(noise_multiplier=1.0, target_delta=1e-5, sampling_probability=0.1,
                  rdp_accountant=RDPAccountant(), prv_accountant=None)
    state, control = TrainerState(), TrainerControl()
    _, optimizer, _ = setup()
    wrapped = Accelerator(cpu=True).prepare_optimizer(optimizer)
    with pytest.raises(AttributeError, match="signal_skip_step"):  # breakage 3a
        DPCallback(**kwargs).on_substep_end(None, state, control, optimizer=wrapped)
    # breakage 3b: with the DPOptimizer itself, the old callback's "do not skip" flag
    # makes the accumulation micro-step a real, noisy step
    _, optimizer, noisy = setup()
    old = DPCallback(**kwargs)
    old.on_step_begin(None, state, control, optimizer=optimizer)
    old.on_substep_end(None, state, control, optimizer=optimizer)
    assert noisy == [1]
    # the compat callback: micro-step clipped and accumulated only, through the wrapper
    layer, optimizer, noisy = setup()
    wrapped = Accelerator(cpu=True).prepare_optimizer(optimizer)
    new = compat.CompatDPCallback(**kwargs, max_steps=10)
    new.on_step_begin(None, state, control, optimizer=wrapped)
    new.on_substep_end(None, state, control, optimizer=wrapped)
    assert noisy == [] and optimizer._step_skip_queue == []
    assert all(p.summed_grad is not None for p in layer.parameters())


def test_old_training_step_breaks_on_the_new_trainer(run):
    """Breakage 4: the Trainer passes num_items_in_batch, and use_cuda_amp is gone."""
    from dp_transformers.dp_utils import OpacusDPTrainer

    trainer, _, _ = run
    batch = trainer.data_collator([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}])
    with pytest.raises(TypeError):
        OpacusDPTrainer.training_step(trainer, trainer.model, batch, 3)
    with pytest.raises(AttributeError, match="use_cuda_amp"):
        OpacusDPTrainer.training_step(trainer, trainer.model, batch)
    trainer.model.zero_grad()
    loss = trainer.training_step(trainer.model, batch, 3)
    assert torch.isfinite(loss)
    trainer.model.zero_grad()


def test_remove_unused_columns_must_be_off(tokenizer, dataset, tmp_path):
    """Breakage 6: the wrapped model's forward(*args, **kwargs) names no column."""
    with pytest.raises(ValueError, match="remove_unused_columns"):
        make_trainer(tokenizer, dataset, tmp_path, remove_unused_columns=True)


# --------------------------------------------------------------------------------------
# Sampling and accounting on their own
# --------------------------------------------------------------------------------------

def test_poisson_sampler_includes_each_author_with_probability_q():
    n, q, chunks = 20, 0.25, 2
    sampler = compat.PoissonAuthorBatchSampler([[i] for i in range(n)], q, chunks=chunks,
                                               generator=torch.Generator().manual_seed(0))
    assert len(sampler) == int(1 / q) * chunks
    counts, steps = torch.zeros(n), 0
    for _ in range(250):  # epochs
        parts = list(sampler)
        assert len(parts) == len(sampler)
        for i in range(0, len(parts), chunks):
            batch = sum(parts[i:i + chunks], [])
            assert len(batch) == len(set(batch))  # an author at most once per step
            counts[batch] += 1
            steps += 1
    rate = counts / steps
    spread = 4 * math.sqrt(q * (1 - q) / steps)
    assert ((rate - q).abs() < spread).all(), rate
    assert min(sampler.sizes) < q * n < max(sampler.sizes)


def test_prv_failure_falls_back_to_rdp_with_a_logged_reason(caplog):
    q, sigma, steps, delta = 0.25, 0.3, 30, 1e-5  # small noise: the PRV grid fails
    with caplog.at_level(logging.WARNING, logger="lib.dp.dp_transformers_compat"):
        report = compat.dp_transformers_epsilon(q, sigma, steps, delta)
    assert report["accountant"] == "rdp" and report["epsilon_prv"] is None
    assert "Discrete mean" in report["fallback_reason"] and "Discrete mean" in caplog.text
    torch.testing.assert_close(report["epsilon"], rdp_epsilon(q, sigma, steps, delta), rtol=1e-9, atol=0)


def test_noise_calibration_falls_back_to_rdp_where_dp_transformers_fails():
    from dp_transformers.arguments import find_noise_multiplier

    q, steps, target, delta = 0.125, 9, 8.0, 1 / 32
    with pytest.raises(RuntimeError, match="Discrete mean"):
        find_noise_multiplier(sampling_probability=q, num_steps=steps, target_epsilon=target,
                              target_delta=delta)
    sigma, accountant = compat.calibrate_noise(q, steps, target, delta)
    assert accountant == "rdp"
    assert target - 0.1 <= rdp_epsilon(q, sigma, steps, delta) <= target


# --------------------------------------------------------------------------------------
# The loss is per person
# --------------------------------------------------------------------------------------

def per_example_gradient(trainer, batch, loss_fn) -> dict[str, torch.Tensor]:
    """The per-example gradient (``p.grad_sample``) of row 0 of ``batch`` that the trainer's
    Opacus-wrapped model computes for the loss ``loss_fn(trainer, model, batch)``."""
    model = trainer.model
    model.zero_grad(set_to_none=True)
    loss_fn(trainer, model, dict(batch)).backward()
    grads = {name: p.grad_sample[0].detach().clone() for name, p in model._module.named_parameters()}
    model.zero_grad(set_to_none=True)
    return grads


def test_per_example_gradient_does_not_depend_on_the_other_sequences(tokenizer, dataset, tmp_path):
    """Example i's per-example gradient is the gradient of its own mean token loss, whether it
    is batched with a short or a long partner; with the model's batch token-mean loss (what
    dp-transformers kept) it is scaled by the partner's length."""
    from dp_transformers.dp_utils import OpacusDPTrainer

    trainer = make_trainer(tokenizer, dataset, tmp_path)
    g = torch.Generator().manual_seed(1)
    example, short, long = (torch.randint(3, len(tokenizer), (length,), generator=g).tolist()
                            for length in (7, 3, 15))
    collate = trainer.data_collator
    with_short = collate([{"input_ids": example}, {"input_ids": short}])
    with_long = collate([{"input_ids": example}, {"input_ids": long}])
    assert (with_short["labels"][1] == -100).any() and (with_long["labels"][0] == -100).any()  # padded rows

    # the reference: example i's own mean next-token loss, alone, on an unwrapped copy
    alone = models.build_model("gpt2", SIZES, tokenizer, seed=0)
    alone.load_state_dict(trainer.model._module.state_dict())
    ids = torch.tensor([example])
    loss = models.lm_loss(alone(ids).logits, ids)
    names = [name for name, _ in alone.named_parameters()]
    reference = dict(zip(names, torch.autograd.grad(loss, list(alone.parameters()))))

    new_loss = type(trainer).compute_loss
    for batch in (with_short, with_long):
        grads = per_example_gradient(trainer, batch, new_loss)
        assert grads.keys() == reference.keys()
        for name in names:
            torch.testing.assert_close(grads[name], reference[name], rtol=1e-4, atol=1e-6, msg=name)

    # the old loss (the model's own mean over all the batch's targets) fails the check
    old_loss = OpacusDPTrainer.compute_loss
    old_short = per_example_gradient(trainer, with_short, old_loss)
    old_long = per_example_gradient(trainer, with_long, old_loss)
    for old in (old_short, old_long):
        assert not all(torch.allclose(old[n], reference[n], rtol=1e-4, atol=1e-6) for n in names)
    assert not all(torch.allclose(old_short[n], old_long[n], rtol=1e-4, atol=1e-6) for n in names)
    # precisely: scaled by batch size * own targets / the batch's targets
    n_example = len(example) - 1
    for old, partner in ((old_short, short), (old_long, long)):
        scale = 2 * n_example / (n_example + len(partner) - 1)
        torch.testing.assert_close(old["transformer.h.0.mlp.c_fc.weight"],
                                   scale * reference["transformer.h.0.mlp.c_fc.weight"], rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------------------
# delta
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("delta, message", [(None, r"target_delta below 1/N = 0\.0312 \(N = 32 authors\)"),
                                            (1 / N_EXAMPLES, r"must be below 1/n"),
                                            (0.5, r"must be below 1/n")])
def test_missing_or_too_large_delta_is_refused_before_anything_is_built(tokenizer, dataset, tmp_path,
                                                                        delta, message):
    model = models.build_model("gpt2", SIZES, tokenizer, seed=0)
    args = compat.training_arguments(tmp_path, per_device_train_batch_size=8)
    privacy = compat.PrivacyArguments(per_sample_max_grad_norm=1.0, target_epsilon=3.0, target_delta=delta)
    with pytest.raises(ValueError, match=message):
        compat.dp_trainer(model, tokenizer, dataset, training_args=args, privacy_args=privacy)
    assert privacy.noise_multiplier is None and privacy.target_delta == delta  # no calibration, no 1/N
    assert not hasattr(model, "autograd_grad_sample_hooks")  # no Opacus wrapper
    assert not any(tmp_path.iterdir())


def test_calibrated_noise_never_reports_more_than_the_target():
    """dp-transformers' search may stop a little above the target; calibrate_noise does not."""
    q, steps, target, delta = 0.25, 8, 8.0, 1e-3  # the settings of the fit test below
    raw = compat._prv_noise_multiplier(q, steps, target, delta)  # dp-transformers' search, memoised
    assert compat.dp_transformers_epsilon(q, raw, steps, delta)["epsilon"] > target  # the case this guards against
    sigma, accountant = compat.calibrate_noise(q, steps, target, delta)
    assert accountant == "prv" and raw < sigma < 1.02 * raw
    assert target - 0.1 < compat.dp_transformers_epsilon(q, sigma, steps, delta)["epsilon"] <= target


# --------------------------------------------------------------------------------------
# fit: a private run shaped like lib.lm.training.train
# --------------------------------------------------------------------------------------

FIT_SIZES = {"block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 16, "tie_weights": True}


def fit_data(tokenizer, n: int, seed: int) -> list[list[int]]:
    """pattern_language with its bos (1) and eos (2) mapped onto the tokenizer's."""
    mapping = {1: tokenizer.bos_token_id, 2: tokenizer.eos_token_id}
    return [[mapping.get(t, t) for t in seq] for seq in pattern_language(n, seed)]


def test_fit_trains_privately_and_reproducibly(tokenizer, tmp_path, monkeypatch):
    train_ids, val_ids = fit_data(tokenizer, 64, 0), fit_data(tokenizer, 16, 1)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    settings = dict(target_epsilon=8.0, delta=1e-3, max_grad_norm=1.0,
                    config=training.TrainConfig(epochs=2, batch_size=16, lr=1e-2, weight_decay=0.1,
                                                warmup_fraction=0.1, patience=3, seed=0))

    def once(name):
        model = models.build_model("gpt2", FIT_SIZES, tokenizer, seed=0)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        return before, compat.fit(model, tokenizer, train_ids, val_ids, output_dir=tmp_path / name, **settings)

    before, (model, history, record) = once("a")
    _, (again, _, record_again) = once("b")
    from transformers import GPT2LMHeadModel

    assert isinstance(model, GPT2LMHeadModel) and not model.training
    assert not hasattr(model, "autograd_grad_sample_hooks")  # Opacus' hooks removed
    # history
    assert set(history) == {"epochs", "best_epoch", "best_val_loss", "stopped_early", "restored_best", "trainer"}
    assert history["trainer"] == "dp-transformers" and history["stopped_early"] is False
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    assert all(set(e) == {"epoch", "val_loss", "epsilon", "steps"} for e in history["epochs"])
    assert [e["steps"] for e in history["epochs"]] == [4, 4]  # int(1 / (16/64)) Poisson steps an epoch
    assert history["epochs"][0]["epsilon"] < history["epochs"][1]["epsilon"] == record["epsilon"]
    losses = [e["val_loss"] for e in history["epochs"]]
    assert history["best_val_loss"] == min(losses) and history["best_epoch"] == 1 + losses.index(min(losses))
    from lib.lm.training import TokenDataset, make_loader, mean_loss

    val_loader = make_loader(TokenDataset(val_ids, tokenizer.pad_token_id), 16)
    assert mean_loss(model, val_loader) == pytest.approx(history["best_val_loss"], rel=1e-6)  # best weights
    # record
    assert record["trainer"] == compat.TRAINER_NAME and record["sampler"] == "poisson"
    assert (record["sampling_rate"], record["steps"], record["planned_steps"], record["delta"],
            record["max_grad_norm"], record["target_epsilon"]) == (0.25, 8, 8, 1e-3, 1.0, 8.0)
    assert record["epsilon"] <= settings["target_epsilon"]
    recomputed = compat.dp_transformers_epsilon(record["sampling_rate"], record["noise_multiplier"], record["steps"],
                                        record["delta"], max_steps=record["planned_steps"])
    assert recomputed["epsilon"] == record["epsilon"] and recomputed["accountant"] == record["accountant"]
    if record["accountant"] == "prv":
        torch.testing.assert_close(record["epsilon"], independent_prv_epsilon(
            0.25, record["noise_multiplier"], 8, 1e-3, 8), rtol=1e-9, atol=0)
    # the model changed; the same seed gives the same weights and record
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for name, tensor in again.state_dict().items():
        assert torch.equal(tensor, after[name]), name
    assert record_again == record
    # nothing written outside output_dir, and no checkpoints inside it
    assert not any((tmp_path / "cwd").iterdir())
    assert not list((tmp_path / "a").rglob("*.safetensors")) and not list((tmp_path / "a").rglob("checkpoint-*"))


def test_epoch_end_keeps_the_best_weights_and_stops_after_patience(monkeypatch):
    """The callback of fit with a scripted validation loss: best epoch 2, patience 2."""
    from types import SimpleNamespace

    from transformers import TrainerControl

    losses = iter([1.0, 0.5, 0.7, 0.6, 0.4])
    monkeypatch.setattr(compat.training, "mean_loss", lambda model, loader: next(losses))
    layer = torch.nn.Linear(2, 1)
    trainer = SimpleNamespace(model=SimpleNamespace(_module=layer), privacy_report=lambda: {"epsilon": 1.0})
    callback = compat._EpochEnd(trainer, val_loader=object(), patience=2)
    control, best = TrainerControl(), None
    for epoch in range(1, 5):
        with torch.no_grad():
            layer.weight.fill_(epoch)
        control = callback.on_epoch_end(None, SimpleNamespace(global_step=3 * epoch), control)
        if epoch == 2:
            best = layer.weight.clone()
        if control.should_training_stop:
            break
    assert epoch == 4 and callback.stopped_early and callback.best_epoch == 2
    assert callback.best_val_loss == 0.5 and torch.equal(callback.best_weights["weight"], best)
    assert [e["steps"] for e in callback.epochs] == [3, 3, 3, 3]
