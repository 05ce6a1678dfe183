"""Per-person gradients for both model families under Opacus.

DP-SGD clips the gradient of every training example separately before it adds noise, so
Opacus must compute one gradient per example rather than the batch sum autograd gives.
It has three ways of doing so (its ``grad_sample_mode``):

* ``"hooks"``: a forward hook keeps each layer's input ``a`` and a backward hook the
  gradient ``g`` of the layer's output; a per-layer *grad sampler* then forms each
  example's gradient from the pair. For a linear layer ``y = a W^T + b`` over a sequence
  of ``T`` positions, example ``n``'s weight gradient is the sum over its positions of the
  outer products, ``sum_t g[n, t] (x) a[n, t]``, one ``einsum``. A layer Opacus has no
  sampler for falls back to ``torch.func`` (vmap of per-example autograd): correct, but
  slower and heavier on memory.
* ``"ew"``: PyTorch's *expanded weights* (``torch.nn.utils._per_sample_grad``) swap every
  parameter for a wrapper whose operations (linear, embedding, layer norm, ...) compute
  per-example gradients themselves; no hooks, nothing to register.
* ``"ghost"``: per-example gradient *norms* only (ghost clipping), for memory; it rejects a
  weight shared by two layers.

**GPT-2's linear layer.** ``transformers.pytorch_utils.Conv1D`` is a linear layer with
the weight stored transposed, shape ``(in, out)``, and ``y = a @ W + b``. Opacus has no
sampler for it, so :func:`register_conv1d_grad_sampler` registers one: example ``n``'s
weight gradient is ``sum_t a[n, t] (x) g[n, t]`` (in x out, the layout of ``W``) and its
bias gradient ``sum_t g[n, t]``, both over every leading axis between the batch and the
features (``(B, in)`` and ``(B, T, in)`` inputs alike). For ghost clipping it also
registers the norm of that gradient, which is the norm of the transposed linear one, so
Opacus' linear norm sampler is reused.

**Tied weights.** GPT-2 (``tie_word_embeddings=True``) uses one matrix both as the token
embedding ``wte`` and as the output layer ``lm_head``. In hooks mode Opacus counts, per
parameter, the forward passes through layers that hold it (``_forward_counter``); each
layer's backward hook *adds* its contribution to ``_current_grad_sample`` and only when
the count is back to zero is the sum promoted to ``grad_sample``. A tied matrix therefore
gets, per example, the sum of its embedding and output-layer gradients -- the true
per-example gradient (``tests/test_grad_samplers.py`` checks it against autograd run
one example at a time). Expanded weights do the same: each use of the tied matrix adds
its per-example contribution to ``grad_sample`` (also checked against autograd). Ghost
clipping does not support tied weights.

**Which mode per family** (:func:`grad_sample_mode`): ``"ew"`` for both. The project's
minGPT (:class:`lib.lm.models.GPT`) is built from ``nn.Linear``, ``nn.Embedding`` and
``nn.LayerNorm`` only, all supported by expanded weights. GPT-2's ``Conv1D`` computes
``torch.addmm(b, a, W)``, which expanded weights do not know, so for private training
:func:`lib.dp.privacy.make_private` replaces every ``Conv1D`` by a :class:`lib.lm.models.LinearFromConv1D`
(an ``nn.Linear`` holding ``W`` transposed: the same function,
:func:`lib.lm.models.conv1d_to_linear`) and points the optimizer at the new parameters;
:func:`lib.lm.models.save_model` writes the layers back as ``Conv1D``
(:func:`lib.lm.models.linear_to_conv1d`), so a saved private GPT-2 is a standard
``transformers`` checkpoint. Why not "hooks" with the ``Conv1D`` sampler above:
measured by ``bench/bench_dp.py`` at the ``quick`` shape on one CPU thread, a GPT-2 DP
step cost 1.09x a non-private one under "ew" against 1.23x under "hooks" (Opacus' hooks
and per-layer bookkeeping in the backward pass); the minGPT showed the same ordering.
The sampler stays registered for the "hooks" alternative (and dp-transformers' path,
:mod:`lib.dp.dp_transformers_compat`, which builds its own hooks-mode module). Three
caveats, all about how the model is *called* (:func:`lib.lm.training.train` honours all
three; any other loop that drives a private model must too):

* Opacus' expanded-weights wrapper takes the batch from its first *positional* argument
  (``GradSampleModuleExpandedWeights.forward(x, *args, **kwargs)``, batch size
  ``x.shape[0]``): call the wrapped model as ``model(input_ids, attention_mask=...,
  position_ids=...)``; an all-keyword call ``model(input_ids=...)`` raises ``TypeError``.
* Expanded weights refuse to *start a forward pass* while any parameter still holds a
  ``grad_sample`` (PyTorch raises "Current Expanded Weights accumulates the gradients"):
  clear them (``optimizer.zero_grad()``) before the forward pass, not between forward and
  backward -- the order is zero_grad, forward, backward, step.
* Positions must be given per row (``position_ids`` of shape ``(B, T)``). GPT-2 left to
  itself builds them as ``(1, T)``, and Opacus would then see the position embedding as
  a batch of one example.

Neither mode runs a forward pass on an *empty* batch, which Poisson sampling produces now
and then (each example is drawn independently); the loop that drives the model has to
handle that step itself (a noise-only step, so that the step is still taken and accounted).
"""
from __future__ import annotations

import torch
from torch import nn

from ..lm import models

__all__ = ["compute_conv1d_grad_sample", "register_conv1d_grad_sampler", "grad_sample_mode"]


def compute_conv1d_grad_sample(layer: nn.Module, activations: list[torch.Tensor],
                               backprops: torch.Tensor) -> dict[nn.Parameter, torch.Tensor]:
    """Per-example gradients of a ``Conv1D`` (weight ``(in, out)``, ``y = a @ W + b``).

    ``activations`` is the list of the layer's inputs Opacus captured (one tensor,
    ``(B, ..., in)``); ``backprops`` the gradient of its output, ``(B, ..., out)``,
    already scaled by Opacus for the loss reduction. Returns ``{weight: (B, in, out),
    bias: (B, out)}`` for the parameters that require a gradient."""
    inputs = activations[0].to(backprops.dtype)
    grads: dict[nn.Parameter, torch.Tensor] = {}
    if layer.weight.requires_grad:
        grads[layer.weight] = torch.einsum("n...i,n...o->nio", inputs, backprops)
    if layer.bias is not None and layer.bias.requires_grad:
        grads[layer.bias] = torch.einsum("n...o->no", backprops)
    return grads


def register_conv1d_grad_sampler() -> None:
    """Register :func:`compute_conv1d_grad_sample` for ``transformers``' ``Conv1D`` with
    Opacus (hooks mode, and the norm sampler of ghost clipping). Calling it again does
    nothing.

    Opacus' own decorators put the sampler in ``GradSampleHooks.GRAD_SAMPLERS`` (which
    ``GradSampleModule`` inherits) and in the fast-gradient-clipping table. Nothing else
    is needed for ``GradSampleModule``'s validation, which in Opacus 1.6 only rejects
    trainable layers that hold buffers; ``Conv1D`` holds none."""
    from opacus.grad_sample import (GradSampleHooksFastGradientClipping, GradSampleModule,
                                    register_grad_sampler, register_norm_sampler)
    from opacus.grad_sample.linear import compute_linear_norm_sample
    from transformers.pytorch_utils import Conv1D

    if GradSampleModule.GRAD_SAMPLERS.get(Conv1D) is not compute_conv1d_grad_sample:
        register_grad_sampler(Conv1D)(compute_conv1d_grad_sample)
    # ||a (x) g|| = ||g (x) a||: the linear layer's norm sampler is right for Conv1D too
    # (it reads only layer.weight / layer.bias and never the weight's layout).
    if GradSampleHooksFastGradientClipping.NORM_SAMPLERS.get(Conv1D) is not compute_linear_norm_sample:
        register_norm_sampler(Conv1D)(compute_linear_norm_sample)


def grad_sample_mode(model: nn.Module) -> str:
    """The Opacus ``grad_sample_mode`` for ``model`` (also through an Opacus wrapper):
    ``"ew"`` for both families -- the minGPT (:class:`lib.lm.models.GPT`) as it is,
    ``transformers.GPT2LMHeadModel`` once its ``Conv1D`` layers are ``nn.Linear``
    (:func:`lib.dp.privacy.make_private` converts them, :func:`lib.lm.models.conv1d_to_linear`). The
    ``Conv1D`` sampler for the ``"hooks"`` alternative is registered all the same.

    Under ``"ew"`` call the wrapped model with ``input_ids`` as its first positional
    argument (see the module docstring). Raises ``ValueError`` for any other model."""
    from transformers import GPT2LMHeadModel

    inner = models.unwrap(model)  # through Opacus' and the distributed wrappers
    if isinstance(inner, models.GPT):
        return "ew"
    if isinstance(inner, GPT2LMHeadModel):
        register_conv1d_grad_sampler()
        return "ew"
    raise ValueError(f"no Opacus grad_sample_mode is known for a {type(inner).__name__}; "
                     "expected lib.lm.models.GPT (minGPT) or transformers.GPT2LMHeadModel")
