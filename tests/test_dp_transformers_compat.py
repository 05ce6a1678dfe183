"""lib.dp_transformers_compat: dp-transformers 1.0.0 on transformers 5 / Opacus 1.6.

A tiny GPT-2 is trained privately for a few steps on CPU (Poisson batches, with and
without gradient accumulation, empty batches included); its epsilon is recomputed
independently; and each known breakage of dp-transformers 1.0.0 is shown to break
without the fix and to work with it."""
from __future__ import annotations

import logging
import math

import pytest
import torch

from lib import dp_transformers_compat as compat  # patches transformers, then imports dp-transformers
from lib import models
from lib.grad_samplers import compute_conv1d_grad_sample, register_conv1d_grad_sampler

N_EXAMPLES = 32
SIZES = {"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16, "tie_weights": True}


@pytest.fixture(scope="module")
def tokenizer():
    from lib.tokenization import character_tokenizer

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


def make_trainer(tokenizer, dataset, output_dir, *, noise_multiplier=1.0, **overrides):
    model = models.build_model("gpt2", SIZES, tokenizer, seed=0)
    settings = dict(per_device_train_batch_size=8, num_train_epochs=1, learning_rate=1e-2,
                    logging_steps=1, seed=0)
    settings.update(overrides)
    args = compat.training_arguments(output_dir, **settings)
    privacy = compat.PrivacyArguments(per_sample_max_grad_norm=1.0, noise_multiplier=noise_multiplier)
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
    q, sigma, steps, delta = 8 / N_EXAMPLES, 1.0, 4, 1 / N_EXAMPLES
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
                               independent_prv_epsilon(2 / N_EXAMPLES, 1.0, 8, 1 / N_EXAMPLES, 8),
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
    with caplog.at_level(logging.WARNING, logger="lib.dp_transformers_compat"):
        report = compat.compute_epsilon(q, sigma, steps, delta)
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
