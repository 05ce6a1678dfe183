"""lib.dp.grad_samplers, with the Conv1D <-> Linear conversion of lib.lm.models: Opacus'
per-example gradients equal autograd run one example at a time, for GPT-2 in hooks mode
(our Conv1D sampler, the tied embedding), for GPT-2 in expanded-weights mode once its
Conv1D layers are nn.Linear, and for the minGPT in expanded-weights mode; the Conv1D <->
Linear conversion changes nothing the model computes and round-trips exactly;
registration is idempotent; unknown models are refused."""
from __future__ import annotations

import pytest
import torch
from opacus.grad_sample import (GradSampleHooksFastGradientClipping, GradSampleModule,
                                GradSampleModuleExpandedWeights)
from transformers.pytorch_utils import Conv1D

from lib.lm import models
from lib.dp.grad_samplers import compute_conv1d_grad_sample, grad_sample_mode, register_conv1d_grad_sampler
from lib.lm.models import LinearFromConv1D, conv1d_to_linear, has_conv1d, has_linearized, linear_to_conv1d

VOCAB = {"vocab_size": 50, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
SIZES = {"block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16, "dropout": 0.0}
TOL = {"rtol": 1e-5, "atol": 1e-6}


def padded_batch(seed: int = 0, lengths=(9, 5, 7, 3)) -> dict[str, torch.Tensor]:
    """Random sequences of different lengths, padded on the right (pad id 0)."""
    g = torch.Generator().manual_seed(seed)
    width = max(lengths)
    input_ids = torch.zeros(len(lengths), width, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, n in enumerate(lengths):
        input_ids[row, :n] = torch.randint(3, VOCAB["vocab_size"], (n,), generator=g)
        attention_mask[row, :n] = 1
    position_ids = torch.arange(width).expand(len(lengths), width).contiguous()
    return {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}


def per_example_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum over the batch of each example's own mean loss (the project's lm_loss per row):
    a SUM-reduced loss, so that Opacus' grad_sample[n] is example n's gradient."""
    return sum(models.lm_loss(logits[n:n + 1], labels[n:n + 1]) for n in range(logits.size(0)))


def autograd_one_at_a_time(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """name -> (B, *param.shape): plain autograd on each example alone."""
    names = dict(model.named_parameters(remove_duplicate=False))
    per_example = {name: [] for name in names}
    for n in range(batch["input_ids"].size(0)):
        row = {key: value[n:n + 1] for key, value in batch.items()}
        model.zero_grad(set_to_none=True)
        out = model(**row)
        models.lm_loss(out.logits, models.make_labels(row["input_ids"], row["attention_mask"])).backward()
        for name, param in names.items():
            per_example[name].append(param.grad.detach().clone())
    model.zero_grad(set_to_none=True)
    return {name: torch.stack(grads) for name, grads in per_example.items()}


def assert_grad_samples_match(model: torch.nn.Module, expected: dict[str, torch.Tensor]) -> float:
    """Every parameter (tied ones under each of their names) has grad_sample == expected;
    returns the largest absolute difference."""
    worst = 0.0
    for name, param in model.named_parameters(remove_duplicate=False):
        assert param.grad_sample is not None, f"{name}: no grad_sample"
        torch.testing.assert_close(param.grad_sample, expected[name], **TOL, msg=lambda m: f"{name}: {m}")
        worst = max(worst, float((param.grad_sample - expected[name]).abs().max()))
    return worst


def gpt2(tie: bool) -> torch.nn.Module:
    return models.build_model("gpt2", dict(SIZES, tie_weights=tie), VOCAB, seed=0).train()


# --------------------------------------------------------------------------------------

def test_conv1d_sampler_on_a_single_layer_handles_2d_and_3d_inputs():
    torch.manual_seed(0)
    layer = Conv1D(5, 3)  # in 3, out 5: weight (3, 5)
    with torch.no_grad():
        layer.bias.normal_()
    for shape in [(4, 3), (4, 6, 3)]:
        x = torch.randn(*shape)
        g = torch.randn(*shape[:-1], 5)
        grads = compute_conv1d_grad_sample(layer, [x], g)
        for n in range(shape[0]):
            layer.zero_grad()
            (layer(x[n:n + 1]) * g[n:n + 1]).sum().backward()
            torch.testing.assert_close(grads[layer.weight][n], layer.weight.grad, **TOL)
            torch.testing.assert_close(grads[layer.bias][n], layer.bias.grad, **TOL)


def test_conv1d_norm_sampler_gives_the_norm_of_the_per_example_gradient():
    register_conv1d_grad_sampler()
    norm_sampler = GradSampleHooksFastGradientClipping.NORM_SAMPLERS[Conv1D]
    torch.manual_seed(1)
    layer = Conv1D(5, 3)
    x, g = torch.randn(4, 6, 3), torch.randn(4, 6, 5)
    grads = compute_conv1d_grad_sample(layer, [x], g)
    norms = norm_sampler(layer, [x], g)
    for param in (layer.weight, layer.bias):
        torch.testing.assert_close(norms[param], grads[param].flatten(1).norm(dim=1), **TOL)


def test_registration_is_idempotent_and_used_by_hooks_mode():
    register_conv1d_grad_sampler()
    register_conv1d_grad_sampler()
    assert GradSampleModule.GRAD_SAMPLERS[Conv1D] is compute_conv1d_grad_sample
    assert GradSampleHooksFastGradientClipping.GRAD_SAMPLERS[Conv1D] is compute_conv1d_grad_sample
    model = gpt2(tie=False)
    wrapped = GradSampleModule(model, loss_reduction="sum")  # strict validation passes
    # a module with a registered sampler is not handed to torch.func
    assert not any(hasattr(m, "ft_compute_sample_grad") for m in model.modules() if isinstance(m, Conv1D))
    wrapped.remove_hooks()


def test_grad_sample_mode_per_family():
    assert grad_sample_mode(models.build_model("mingpt", SIZES, VOCAB)) == "ew"
    assert grad_sample_mode(gpt2(tie=False)) == "ew"  # once make_private has made Conv1D nn.Linear
    assert GradSampleModule.GRAD_SAMPLERS[Conv1D] is compute_conv1d_grad_sample  # for "hooks"
    with pytest.raises(ValueError, match="Linear"):
        grad_sample_mode(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("tie", [True, False], ids=["tied", "untied"])
def test_gpt2_hooks_per_example_gradients_equal_autograd(tie):
    model = gpt2(tie)
    if tie:
        assert model.lm_head.weight is model.transformer.wte.weight
    batch = padded_batch()
    expected = autograd_one_at_a_time(model, batch)
    register_conv1d_grad_sampler()
    wrapped = GradSampleModule(model, loss_reduction="sum")
    out = wrapped(**batch)
    per_example_loss_sum(out.logits, models.make_labels(batch["input_ids"], batch["attention_mask"])).backward()
    worst = assert_grad_samples_match(model, expected)
    assert worst < 1e-6
    # the tied matrix received both uses: not just the output layer's share
    if tie:
        wte = model.transformer.wte.weight
        embedding_rows = batch["input_ids"].unique()
        assert wte.grad_sample[:, embedding_rows].abs().sum() > 0
    wrapped.remove_hooks()


def test_conv1d_to_linear_computes_the_same_function_and_round_trips_exactly():
    model = gpt2(tie=True)
    with torch.no_grad():  # a non-zero bias everywhere, so a lost bias would show
        for module in model.modules():
            if isinstance(module, Conv1D):
                module.bias.normal_()
    original = {k: v.clone() for k, v in model.state_dict().items()}
    n_conv = sum(isinstance(m, Conv1D) for m in model.modules())
    batch = padded_batch()
    model.eval()
    with torch.no_grad():
        expected = model(**batch).logits
    mapping = conv1d_to_linear(model)
    assert not has_conv1d(model) and has_linearized(model)
    assert sum(isinstance(m, LinearFromConv1D) for m in model.modules()) == n_conv
    assert len(mapping) == 2 * n_conv  # weight and bias of each
    params = {id(p) for p in model.parameters()}
    assert all(id(new) in params and id(old) not in params for old, new in mapping.items())
    assert all(new.shape == old.t().shape if old.dim() == 2 else new.shape == old.shape
               for old, new in mapping.items())
    assert not any(m.training for m in model.modules())  # eval mode carried over
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, expected, rtol=0, atol=1e-6)
    linear_to_conv1d(model)
    assert has_conv1d(model) and not has_linearized(model)
    state = model.state_dict()
    assert state.keys() == original.keys()
    assert all(torch.equal(state[k], original[k]) for k in original)  # transposes are exact
    assert model.lm_head.weight is model.transformer.wte.weight  # tying untouched


def test_gpt2_with_conv1d_fails_under_expanded_weights():
    """Why make_private converts: expanded weights do not know Conv1D's addmm (if this
    starts passing, PyTorch has changed and the conversion may be dropped)."""
    model = gpt2(tie=False)
    wrapped = GradSampleModuleExpandedWeights(model, loss_reduction="sum")
    batch = padded_batch()
    with pytest.raises(Exception, match="addmm|Expanded Weights"):
        out = wrapped(batch["input_ids"], attention_mask=batch["attention_mask"],
                      position_ids=batch["position_ids"])
        out.logits.sum().backward()


@pytest.mark.parametrize("family, tie", [("mingpt", True), ("gpt2", True), ("gpt2", False)],
                         ids=["mingpt", "gpt2-tied", "gpt2-untied"])
def test_expanded_weights_per_example_gradients_equal_autograd(family, tie):
    """The mode make_private uses for both families (GPT-2's Conv1D made nn.Linear first)."""
    model = models.build_model(family, dict(SIZES, tie_weights=tie), VOCAB, seed=0).train()
    conv1d_to_linear(model)  # nothing to convert in the minGPT
    batch = padded_batch(seed=1)
    expected = autograd_one_at_a_time(model, batch)
    wrapped = GradSampleModuleExpandedWeights(model, loss_reduction="sum")
    assert grad_sample_mode(wrapped) == "ew"
    out = wrapped(batch["input_ids"], attention_mask=batch["attention_mask"],
                  position_ids=batch["position_ids"])
    per_example_loss_sum(out.logits, models.make_labels(batch["input_ids"], batch["attention_mask"])).backward()
    assert assert_grad_samples_match(model, expected) < 1e-6
    if family == "gpt2" and tie:  # the tied matrix received both uses
        assert model.lm_head.weight is model.transformer.wte.weight
        assert model.transformer.wte.weight.grad_sample[:, batch["input_ids"].unique()].abs().sum() > 0


def test_expanded_weights_need_input_ids_positionally():
    """The caveat in the module docstring: Opacus' ew wrapper takes the batch size from its
    first positional argument, so an all-keyword call fails (if this starts passing,
    Opacus has changed and the docstring should say so)."""
    model = models.build_model("mingpt", SIZES, VOCAB, seed=0).train()
    wrapped = GradSampleModuleExpandedWeights(model, loss_reduction="sum")
    batch = padded_batch()
    with pytest.raises(TypeError, match="positional"):
        wrapped(**batch)


def test_expanded_weights_need_grad_samples_cleared_before_the_forward_pass():
    """The second caveat: a forward pass while grad_sample is still set is refused."""
    model = models.build_model("mingpt", SIZES, VOCAB, seed=0).train()
    wrapped = GradSampleModuleExpandedWeights(model, loss_reduction="sum")
    batch = padded_batch()
    args = (batch["input_ids"],)
    kwargs = {"attention_mask": batch["attention_mask"], "position_ids": batch["position_ids"]}
    wrapped(*args, **kwargs).logits.sum().backward()
    with pytest.raises(RuntimeError, match="accumulates the gradients"):
        wrapped(*args, **kwargs)


@pytest.mark.parametrize("family", ["mingpt", "gpt2"])
def test_private_training_steps_with_the_chosen_mode(family):
    """PrivacyEngine.make_private with grad_sample_mode(model): a few DP-SGD steps on
    Poisson batches change the weights and are accounted."""
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    model = models.build_model(family, SIZES, VOCAB, seed=0).train()
    conv1d_to_linear(model)  # GPT-2's Conv1D as nn.Linear, as make_private does; nothing for the minGPT
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = padded_batch(lengths=(9, 5, 7, 3, 8, 6, 4, 9))
    data = TensorDataset(batch["input_ids"], batch["attention_mask"], batch["position_ids"])
    engine = PrivacyEngine()
    torch.manual_seed(0)
    private, optimizer, loader = engine.make_private(
        module=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        data_loader=DataLoader(data, batch_size=4), noise_multiplier=1.0, max_grad_norm=1.0,
        grad_sample_mode=grad_sample_mode(model), poisson_sampling=True)
    steps = 0
    for input_ids, attention_mask, position_ids in loader:
        if len(input_ids) == 0:  # see the module docstring; not expected with q = 1/2 here
            continue
        optimizer.zero_grad(set_to_none=True)
        out = private(input_ids, attention_mask=attention_mask, position_ids=position_ids)
        models.lm_loss(out.logits, models.make_labels(input_ids, attention_mask)).backward()
        optimizer.step()
        steps += 1
    assert steps >= 1
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert engine.get_epsilon(1e-5) > 0
