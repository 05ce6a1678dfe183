"""Private GPT-2 fine-tuning through dp-transformers 1.0.0, on today's libraries.

The dissertation fine-tuned GPT-2 privately with Microsoft's dp-transformers: its
``OpacusDPTrainer`` (a Hugging Face ``Trainer`` whose model is wrapped in Opacus'
``GradSampleModule`` and whose optimizer is Opacus' ``DPOptimizer``), its
``DataCollatorForPrivateCausalLanguageModeling`` (which adds per-row ``position_ids``, so
that Opacus sees the position embedding as a batch), its ``TrainingArguments`` and
``PrivacyArguments``, and its two accountants (Opacus' RDP and the PRV accountant of
``prv-accountant``). Version 1.0.0 was written for transformers 4.x and Opacus 1.2; this
module lets the same pipeline run on transformers 5 and Opacus 1.6, and fixes how it
samples, its loss and its delta. :func:`fit` trains with it the way
:func:`lib.lm.training.train` does, so that the two paths can be compared side by side.
What is kept and what is changed:

**Kept.** The collator, the argument classes (the noise is still calibrated with
dp-transformers' own ``find_noise_multiplier``), the ``GradSampleModule`` wrapper with
its ``no_sync`` (Opacus' ``loss_reduction="mean"``), the ``DPCallback`` (accounting after
every optimizer step, virtual steps for gradient accumulation), the author mapping
(sample-level DP is one author per example).

**Fixed breakages** (each has a test in ``tests/test_dp_transformers_compat.py``):

1. ``Conv1D`` moved from ``transformers.modeling_utils`` to ``transformers.pytorch_utils``;
   dp-transformers' grad sampler module imports it from the old place. Importing this
   module first calls :func:`patch_transformers` -- explicitly, before anything of
   dp-transformers is imported -- which puts the class back on
   ``transformers.modeling_utils`` (the same class object, nothing else changes).
2. dp-transformers' own ``Conv1D`` grad sampler expects the activations as a tensor;
   Opacus >= 1.3 passes a list, so it fails. The trainer registers
   :func:`lib.dp.grad_samplers.register_conv1d_grad_sampler` instead (again, if the old one
   was imported since).
3. The ``DPCallback`` calls ``signal_skip_step`` on the trainer's optimizer, which the
   Trainer has wrapped in accelerate's ``AcceleratedOptimizer`` (no such method). It also
   pushes a "do not skip" flag at every step begin, which Opacus 1.6 keeps in a FIFO
   queue: the flag is consumed by the first micro-batch, which then takes a real noisy
   step, and the real step is skipped. :class:`CompatDPCallback` unwraps to the
   ``DPOptimizer`` and signals only "skip" right before each accumulation micro-step.
4. ``training_step`` is now called as ``training_step(model, inputs, num_items_in_batch)``
   and the Trainer's ``use_cuda_amp`` attribute is gone; the trainer's ``training_step``
   takes the new signature (and ignores ``num_items_in_batch``, a token count over the
   whole accumulated batch: see *The loss*) and refuses mixed precision through the
   arguments that still exist.
5. ``create_optimizer(model=None)`` gained an argument and may be called more than once;
   the optimizer is wrapped in a ``DPOptimizer`` exactly once.
6. The Trainer removes dataset columns that the model's ``forward`` does not name; the
   wrapped model's ``forward(*args, **kwargs)`` names none, so every column would go.
   ``remove_unused_columns=False`` is required (a clear error otherwise;
   :func:`training_arguments` sets it).

**The loss.** dp-transformers uses the model's own loss, the mean over *all* the batch's
target tokens. With ``loss_reduction="mean"`` the per-example gradient Opacus clips is
then the example's summed token loss times ``batch size / the batch's targets``: a
person's gradient grows or shrinks with the lengths of whoever else was sampled, which
is not per-person DP. The trainer's loss (:meth:`CompatOpacusDPTrainer.compute_loss`) is
instead the mean over the batch's sequences of each sequence's own mean next-token loss
(:func:`lib.lm.training.sequence_loss`, the loss of the project's own private loop), so the
per-example gradient is exactly the gradient of that example's own mean loss.

**delta.** dp-transformers sets ``target_delta = 1/N`` when none is given, but a mechanism
that publishes one random person outright is (0, 1/N)-DP. The trainer refuses a missing
delta and one of ``1/N`` or more (:func:`lib.dp.privacy.check_delta`, N the number of
authors) before anything is built.

**Calibration.** dp-transformers' noise search stops within its ``eps_error`` of the target
on either side, so the epsilon reported after the planned steps could exceed the target;
:func:`calibrate_noise` raises the noise until it does not.

**Sampling.** dp-transformers 1.0.0 trains on fixed-size batches of a shuffled epoch
(``ShuffledAuthorSampler``: every example exactly once per epoch, ``drop_last``) but
accounts as if each batch were a *Poisson* sample -- each example included independently
with probability ``q = batch size / N`` -- which is what the RDP and PRV analyses of
DP-SGD assume; shuffling gives no such amplification guarantee. Here the batches are
Poisson samples (Opacus' ``UniformWithReplacementSampler``, the sampler of its
``DPDataLoader``): every step draws each author independently with probability ``q``
(``q = per_device_train_batch_size * gradient_accumulation_steps * world_size / N``), so
batch sizes vary around ``q N`` and may be 0, and an epoch is ``int(1/q)`` steps. With
gradient accumulation one Poisson batch is drawn per optimizer step and split into
``gradient_accumulation_steps`` micro-batches. An empty (micro-)batch still takes its
step: clipped sum zero plus noise, as the analysis assumes. ``DPOptimizer`` divides by
the *expected* batch size ``q N``.

**Accounting.** ``epsilon`` is the PRV accountant's upper bound, as dp-transformers
reports it. The PRV accountant discretises the privacy-loss distribution on a grid set by
the planned number of steps; for short runs at small noise it fails ("Discrete mean
differs from continuous mean significantly"). Then, and only then, epsilon comes from
Opacus' RDP accountant (a valid, slightly looser bound) and the report says so and why
(:func:`dp_transformers_epsilon`); noise calibration to a target epsilon falls back the same way.

Not covered by DP: anything the Trainer logs from the private data -- the training loss
in particular. The Trainer's global gradient clipping and its ``grad_norm`` log would use
the non-private batch gradient; both are switched off (clipping is per example, in the
``DPOptimizer``).
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
import warnings
from typing import Any, Iterator, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler

from . import grad_samplers, privacy
from ..lm import models, training

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Before dp-transformers is imported
# --------------------------------------------------------------------------------------

def patch_transformers() -> None:
    """Put ``Conv1D`` back on ``transformers.modeling_utils`` (it lives in
    ``transformers.pytorch_utils`` since transformers 4.x), so that dp-transformers 1.0.0's
    ``from transformers.modeling_utils import Conv1D`` works. Idempotent; also checks that
    accelerate, which the Trainer needs, is installed."""
    if importlib.util.find_spec("accelerate") is None:
        raise ImportError("the Hugging Face Trainer (and so dp-transformers) needs `accelerate`; "
                          "install it (pip install accelerate)")
    import transformers.modeling_utils as modeling_utils
    from transformers.pytorch_utils import Conv1D

    if getattr(modeling_utils, "Conv1D", None) is not Conv1D:
        modeling_utils.Conv1D = Conv1D


patch_transformers()

from dp_transformers import arguments as dp_arguments  # noqa: E402
from dp_transformers.arguments import PrivacyArguments, TrainingArguments  # noqa: E402
from dp_transformers.dp_utils import (DataCollatorForPrivateCausalLanguageModeling,  # noqa: E402
                                      DPCallback, GradSampleModule, OpacusDPTrainer)
from dp_transformers.sampler import AuthorSampler  # noqa: E402
from opacus.accountants import RDPAccountant  # noqa: E402
from opacus.optimizers import DPOptimizer  # noqa: E402
from opacus.utils.uniform_sampler import UniformWithReplacementSampler  # noqa: E402
from prv_accountant import Accountant as PRVAccountant  # noqa: E402
from transformers import PrinterCallback, Trainer, TrainerCallback  # noqa: E402
from transformers.training_args import ParallelMode  # noqa: E402

__all__ = ["patch_transformers", "PrivacyArguments", "TrainingArguments", "training_arguments",
           "PoissonAuthorBatchSampler", "dp_transformers_epsilon", "calibrate_noise",
           "CompatDPCallback", "CompatOpacusDPTrainer", "dp_trainer", "fit", "TRAINER_NAME"]

TRAINER_NAME = "dp-transformers 1.0.0 (compatibility layer)"

PRV_EPS_ERROR = 0.1  # dp-transformers' choice


# --------------------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=32)
def _prv_accountant(sampling_rate: float, noise_multiplier: float, delta: float,
                    max_steps: int) -> PRVAccountant:
    with warnings.catch_warnings():  # the class is marked "will be deprecated"
        warnings.simplefilter("ignore", DeprecationWarning)
        return PRVAccountant(noise_multiplier=noise_multiplier, sampling_probability=sampling_rate,
                             delta=delta, eps_error=PRV_EPS_ERROR, max_compositions=max_steps)


def _rdp_epsilon(sampling_rate: float, noise_multiplier: float, steps: int, delta: float) -> float:
    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sampling_rate, steps)]
    return float(accountant.get_epsilon(delta))


def dp_transformers_epsilon(sampling_rate: float, noise_multiplier: float, steps: int, delta: float,
                    max_steps: int | None = None) -> dict[str, Any]:
    """Epsilon of ``steps`` DP-SGD steps (Poisson rate ``sampling_rate``, Gaussian noise
    ``noise_multiplier``) at ``delta``, as dp-transformers computes it.

    ``max_steps`` is the planned length the PRV grid is sized for (default ``steps``).
    Returns ``epsilon`` (the PRV upper bound, or RDP when PRV fails), ``accountant``
    (``"prv"`` or ``"rdp"``), ``epsilon_prv`` (None when it failed), ``epsilon_rdp`` and
    ``fallback_reason`` (None, or why PRV was not used)."""
    steps = int(steps)
    max_steps = max(int(max_steps if max_steps is not None else steps), steps, 1)
    if steps == 0:
        return {"epsilon": 0.0, "accountant": "prv", "epsilon_prv": 0.0, "epsilon_rdp": 0.0,
                "fallback_reason": None}
    epsilon_rdp = _rdp_epsilon(sampling_rate, noise_multiplier, steps, delta)
    try:
        epsilon_prv = float(_prv_accountant(sampling_rate, noise_multiplier, delta, max_steps)
                            .compute_epsilon(steps)[2])
        reason = None
    except (RuntimeError, ValueError, OverflowError) as error:
        epsilon_prv = None
        reason = (f"PRV accountant failed ({error}) for q={sampling_rate:g}, "
                  f"sigma={noise_multiplier:g}, {max_steps} planned steps; using RDP")
        logger.warning(reason)
    return {"epsilon": epsilon_prv if epsilon_prv is not None else epsilon_rdp,
            "accountant": "prv" if epsilon_prv is not None else "rdp",
            "epsilon_prv": epsilon_prv, "epsilon_rdp": epsilon_rdp, "fallback_reason": reason}


@functools.lru_cache(maxsize=32)
def _prv_noise_multiplier(sampling_rate: float, steps: int, target_epsilon: float, delta: float) -> float:
    """dp-transformers' PRV noise search (deterministic, and seconds long: memoised)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return float(dp_arguments.find_noise_multiplier(sampling_probability=sampling_rate, num_steps=steps,
                                                        target_epsilon=target_epsilon, target_delta=delta))


def calibrate_noise(sampling_rate: float, steps: int, target_epsilon: float, delta: float) -> tuple[float, str]:
    """The noise multiplier reaching ``target_epsilon`` after ``steps`` steps: dp-transformers'
    PRV search, or Opacus' RDP search where that fails. Returns (sigma, accountant).

    dp-transformers' search stops within its ``eps_error`` of the target on *either* side,
    and with half the error budget of the reported bound; the noise is then raised in
    steps of 0.5% until the epsilon :func:`dp_transformers_epsilon` reports after ``steps`` steps is
    at most ``target_epsilon``."""
    try:
        sigma = _prv_noise_multiplier(float(sampling_rate), int(steps), float(target_epsilon), float(delta))
        accountant = "prv"
    except (RuntimeError, ValueError, OverflowError) as error:
        from opacus.accountants.utils import get_noise_multiplier

        logger.warning(f"PRV noise calibration failed ({error}) for q={sampling_rate:g}, {steps} steps, "
                       f"target epsilon {target_epsilon:g}; calibrating with RDP")
        sigma = float(get_noise_multiplier(target_epsilon=target_epsilon, target_delta=delta,
                                           sample_rate=sampling_rate, steps=steps, accountant="rdp"))
        accountant = "rdp"
    for _ in range(1000):
        if dp_transformers_epsilon(sampling_rate, sigma, steps, delta)["epsilon"] <= target_epsilon:
            return sigma, accountant
        sigma *= 1.005
    raise RuntimeError(f"no noise multiplier reaches target epsilon {target_epsilon:g} (q={sampling_rate:g}, "
                       f"{steps} steps, delta={delta:g})")


# --------------------------------------------------------------------------------------
# Poisson sampling
# --------------------------------------------------------------------------------------

class PoissonAuthorBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices: each step includes every author independently with
    probability ``sampling_rate`` (Opacus' ``UniformWithReplacementSampler``) and takes
    the author's next example (dp-transformers' ``AuthorSampler``); the step's batch is
    split into ``chunks`` micro-batches (gradient accumulation), some possibly empty.
    ``int(1/sampling_rate)`` steps make an epoch. ``sizes`` records the size of every
    step's batch."""

    def __init__(self, author_mapping: Sequence[Sequence[int]], sampling_rate: float,
                 chunks: int = 1, generator: torch.Generator | None = None) -> None:
        if not 0 < sampling_rate <= 1:
            raise ValueError(f"sampling_rate={sampling_rate} must be in (0, 1]")
        self.author_sampler = AuthorSampler(
            UniformWithReplacementSampler(num_samples=len(author_mapping), sample_rate=sampling_rate,
                                          generator=generator), author_mapping)
        self.chunks = int(chunks)
        self.steps = len(self.author_sampler)
        self.sizes: list[int] = []

    def __len__(self) -> int:
        return self.steps * self.chunks

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.author_sampler:
            self.sizes.append(len(batch))
            for part in torch.tensor_split(torch.tensor(batch, dtype=torch.long), self.chunks):
                yield part.tolist()


def _collate_allowing_empty(collator):
    """``collator``, except that an empty list of examples gives empty tensors."""
    def collate(examples: list[Any]) -> dict[str, torch.Tensor]:
        if len(examples) == 0:
            empty = torch.zeros((0, 0), dtype=torch.long)
            return {key: empty.clone() for key in ("input_ids", "attention_mask", "labels", "position_ids")}
        return collator(examples)
    return collate


# --------------------------------------------------------------------------------------
# The callback and the trainer
# --------------------------------------------------------------------------------------

def _dp_optimizer(optimizer: Any) -> DPOptimizer:
    """The Opacus ``DPOptimizer`` inside accelerate's ``AcceleratedOptimizer`` wrapper(s)."""
    inner = optimizer
    while not isinstance(inner, DPOptimizer):
        if not hasattr(inner, "optimizer"):
            raise RuntimeError(f"no DPOptimizer inside {type(optimizer).__name__}")
        inner = inner.optimizer
    return inner


class CompatDPCallback(DPCallback):
    """dp-transformers' ``DPCallback`` acting on the ``DPOptimizer`` itself: accumulation
    micro-steps clip and accumulate without noise (``signal_skip_step`` right before their
    ``step``); every optimizer step is accounted once. The PRV epsilon falls back to RDP
    (see :func:`dp_transformers_epsilon`) instead of raising."""

    def __init__(self, *args: Any, max_steps: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_steps = max_steps
        self.compute_prv_epsilon = self._epsilon

    def _epsilon(self, steps: int) -> float:
        return dp_transformers_epsilon(self.sampling_probability, self.noise_multiplier, steps,
                               self.target_delta, max_steps=self.max_steps)["epsilon"]

    def on_substep_end(self, args, state, control, optimizer=None, **kwargs):
        if optimizer is None:
            raise RuntimeError("Impossible to access optimizer from inside callback")
        dp_optimizer = _dp_optimizer(optimizer)
        dp_optimizer.signal_skip_step(do_skip=True)
        dp_optimizer.step()  # clip and accumulate only
        dp_optimizer.zero_grad()
        self.on_substep_end_was_called = True

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        pass  # no "do not skip" flag: Opacus queues flags, see the module docstring

    def on_step_end(self, args, state, control, optimizer=None, **kwargs):
        if optimizer is not None:
            optimizer = _dp_optimizer(optimizer)
        return super().on_step_end(args, state, control, optimizer=optimizer, **kwargs)


def _planned_steps(epochs: float, sampling_rate: float) -> int:
    """Optimizer steps of ``epochs`` epochs of ``int(1/q)`` Poisson steps each."""
    return max(1, math.ceil(epochs * int(1 / sampling_rate)))


class CompatOpacusDPTrainer(OpacusDPTrainer):
    """dp-transformers' ``OpacusDPTrainer`` on transformers 5 / Opacus 1.6, with Poisson
    sampling (see the module docstring).

    Same arguments as ``OpacusDPTrainer`` (``model``, ``args`` a :class:`TrainingArguments`
    with ``remove_unused_columns=False``, ``train_dataset``, ``privacy_args``,
    ``author_mapping``, and the ``Trainer``'s keywords such as ``data_collator`` and
    ``processing_class``); ``privacy_args.target_delta`` must be given, below ``1/N``.
    After training, :meth:`privacy_report` gives epsilon and the
    parameters ``privacy.json`` records. ``batch_sizes`` lists the size of every step's
    Poisson batch."""

    def __init__(self, model: nn.Module = None, args: TrainingArguments = None, train_dataset=None,
                 privacy_args: PrivacyArguments = None,
                 author_mapping: Sequence[Sequence[int]] | None = None, **kwargs: Any) -> None:
        if args is None or privacy_args is None or train_dataset is None:
            raise ValueError("CompatOpacusDPTrainer needs model, args, train_dataset and privacy_args")
        if args.remove_unused_columns:
            raise ValueError("TrainingArguments(remove_unused_columns=True): the Trainer would drop every "
                             "dataset column, since the Opacus-wrapped model's forward(*args, **kwargs) names "
                             "none; pass remove_unused_columns=False (training_arguments() does)")
        if args.fp16 or args.bf16:
            raise NotImplementedError("mixed precision is not supported with DP training here")
        self.author_mapping = author_mapping if author_mapping is not None else \
            [[i] for i in range(len(train_dataset))]
        n_authors = len(self.author_mapping)
        if privacy_args.target_delta is None:  # dp-transformers would take 1/N: no protection
            raise ValueError(f"PrivacyArguments(target_delta=None): pass target_delta below 1/N = {1 / n_authors:.3g} "
                             f"(N = {n_authors} authors); dp-transformers' default of 1/N allows publishing "
                             "one person's data outright")
        privacy.check_delta(privacy_args.target_delta, n_authors)
        grad_samplers.register_conv1d_grad_sampler()  # ours, also over dp-transformers' if that was imported
        self.train_args = args
        self.privacy_args = privacy_args
        self.noise_accountant = "given"
        if not privacy_args.is_initialized:
            if privacy_args.noise_multiplier is None:
                privacy_args.noise_multiplier, self.noise_accountant = calibrate_noise(
                    self.sampling_probability, self.num_steps, privacy_args.target_epsilon,
                    privacy_args.target_delta)
            privacy_args.initialize(sampling_probability=self.sampling_probability,
                                    num_steps=self.num_steps, num_samples=len(self.author_mapping))
        if args.parallel_mode == ParallelMode.DISTRIBUTED:
            raise NotImplementedError("distributed DP training is not supported by this compatibility layer")
        self.batch_sizes: list[int] = []
        self.rdp_accountant = RDPAccountant()
        self.dp_callback = CompatDPCallback(
            noise_multiplier=privacy_args.noise_multiplier, target_delta=privacy_args.target_delta,
            sampling_probability=self.sampling_probability, rdp_accountant=self.rdp_accountant,
            prv_accountant=None, max_steps=self.num_steps)
        # OpacusDPTrainer.__init__ is skipped: it builds the PRV accountant unguarded
        Trainer.__init__(self, model=GradSampleModule(model), args=args, train_dataset=train_dataset,
                         callbacks=[self.dp_callback], **kwargs)

    # ---- sizes -------------------------------------------------------------------------

    @property
    def num_steps(self) -> int:
        """Optimizer steps the run will take (``max_steps``, or epochs of ``int(1/q)`` steps)."""
        if self.train_args.max_steps and self.train_args.max_steps > 0:
            return int(self.train_args.max_steps)
        return _planned_steps(self.train_args.num_train_epochs, self.sampling_probability)

    # ---- epsilon -----------------------------------------------------------------------

    def get_rdp_epsilon(self) -> float:
        return float(self.rdp_accountant.get_epsilon(self.privacy_args.target_delta))

    def get_prv_epsilon(self) -> float:
        """The reported epsilon: PRV, or RDP where PRV fails (see :func:`dp_transformers_epsilon`)."""
        return self.privacy_report()["epsilon"]

    def privacy_report(self) -> dict[str, Any]:
        """Epsilon after the steps taken so far, with everything needed to recompute it."""
        steps = int(self.state.global_step)
        report = dp_transformers_epsilon(self.sampling_probability, self.privacy_args.noise_multiplier, steps,
                                 self.privacy_args.target_delta, max_steps=self.num_steps)
        report.update(delta=self.privacy_args.target_delta, sampling_rate=self.sampling_probability,
                      noise_multiplier=self.privacy_args.noise_multiplier, steps=steps,
                      planned_steps=self.num_steps, max_grad_norm=self.privacy_args.per_sample_max_grad_norm,
                      noise_calibrated_with=self.noise_accountant, sampler="poisson",
                      expected_batch_size=self.sampling_probability * len(self.author_mapping),
                      authors=len(self.author_mapping))
        return report

    # ---- the pieces of the Trainer that change -----------------------------------------

    def create_optimizer(self, model: nn.Module | None = None):
        if isinstance(self.optimizer, DPOptimizer):
            return self.optimizer
        optimizer = Trainer.create_optimizer(self, model)
        self.optimizer = DPOptimizer(
            optimizer=optimizer, noise_multiplier=self.privacy_args.noise_multiplier,
            max_grad_norm=self.privacy_args.per_sample_max_grad_norm,
            expected_batch_size=self.sampling_probability * len(self.author_mapping))
        return self.optimizer

    def _get_train_sampler(self, train_dataset=None) -> PoissonAuthorBatchSampler:
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        sampler = PoissonAuthorBatchSampler(self.author_mapping, self.sampling_probability,
                                            chunks=self.args.gradient_accumulation_steps,
                                            generator=torch.Generator().manual_seed(seed))
        sampler.sizes = self.batch_sizes
        return sampler

    def get_train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            raise ValueError("Trainer: training requires a train_dataset.")
        return DataLoader(self.train_dataset, batch_sampler=self._get_train_sampler(),
                          collate_fn=_collate_allowing_empty(self.data_collator),
                          num_workers=self.args.dataloader_num_workers,
                          pin_memory=self.args.dataloader_pin_memory)

    def compute_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None):
        """The per-person loss: the mean over the batch's sequences of each sequence's own
        mean next-token loss over its non-padding targets (:func:`lib.lm.training.sequence_loss`).

        With Opacus' ``loss_reduction="mean"`` the per-example gradient is then exactly the
        gradient of that example's own mean loss, whoever else was sampled. (The model's
        built-in loss, a mean over all the batch's targets, would scale a person's gradient
        by the batch's other lengths.) The collator's labels are the unshifted ``input_ids``
        with -100 on padding, as :func:`~lib.lm.training.sequence_loss` expects; positions
        outside ``attention_mask`` are also set to -100. ``num_items_in_batch`` (the
        Trainer's token count over the accumulated batch) is ignored: it depends on the
        other examples."""
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        if "attention_mask" in inputs:
            labels = labels.masked_fill(inputs["attention_mask"] == 0, models.IGNORE_INDEX)
        outputs = model(**inputs)
        loss, _ = training.sequence_loss(outputs.logits, labels)
        return (loss, outputs) if return_outputs else loss

    def training_step(self, model: nn.Module, inputs: dict[str, Any],
                      num_items_in_batch: Any = None) -> torch.Tensor:
        """Forward and backward on one (micro-)batch; the DPOptimizer clips and noises.

        The loss is :meth:`compute_loss`, the mean over the batch's sequences of each one's
        mean token loss (``num_items_in_batch`` is accepted for the Trainer's signature and
        ignored); it is not divided by the accumulation steps before backward (Opacus
        scales), only for the returned value. An empty Poisson batch has no forward pass:
        its per-example gradients are an empty batch, so the optimizer step adds noise to a
        zero sum."""
        model.train()
        inputs = self._prepare_inputs(inputs)
        if inputs["input_ids"].shape[0] == 0:
            for param in self.model.parameters():
                if param.requires_grad:
                    param.grad_sample = param.new_zeros((0, *param.shape))
            return torch.zeros((), device=self.args.device)
        with self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        loss.backward()
        return loss.detach() / self.args.gradient_accumulation_steps

    def _clip_grad_norm(self, model):  # DP clips per example; p.grad is not private here
        return None

    def _get_grad_norm(self, model, grad_norm=None):  # never log the non-private norm
        return None

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Save the inner model the Hugging Face way (safetensors), not the Opacus wrapper."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        os.makedirs(output_dir, exist_ok=True)
        inner = self.model._module
        if hasattr(inner, "save_pretrained"):
            inner.save_pretrained(output_dir)
        else:
            from safetensors.torch import save_model

            save_model(inner, os.path.join(output_dir, "model.safetensors"))
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------

def training_arguments(output_dir: str | os.PathLike, **overrides: Any) -> TrainingArguments:
    """dp-transformers' ``TrainingArguments`` with the settings DP training needs here:
    ``remove_unused_columns=False``, no global gradient clipping (``max_grad_norm=0``),
    no reporting integrations, no checkpoints, no pin_memory; ``overrides`` win."""
    settings: dict[str, Any] = dict(output_dir=str(output_dir), remove_unused_columns=False,
                                    max_grad_norm=0.0, report_to="none", save_strategy="no",
                                    dataloader_pin_memory=False, disable_tqdm=True)
    settings.update(overrides)
    return TrainingArguments(**settings)


def dp_trainer(model: nn.Module, tokenizer: Any, train_dataset: Any, *, training_args: TrainingArguments,
               privacy_args: PrivacyArguments, author_mapping: Sequence[Sequence[int]] | None = None,
               **trainer_kwargs: Any) -> CompatOpacusDPTrainer:
    """A :class:`CompatOpacusDPTrainer` for causal-LM fine-tuning of ``model`` on
    ``train_dataset`` (a ``datasets.Dataset`` of tokenised examples, ``input_ids`` and
    optionally ``attention_mask``), batching with dp-transformers' private collator
    (padding from ``tokenizer``, labels -100 on padding, per-row ``position_ids``).
    Call ``.train()`` on it, then ``.privacy_report()``."""
    collator = DataCollatorForPrivateCausalLanguageModeling(tokenizer)
    return CompatOpacusDPTrainer(model=model, args=training_args, train_dataset=train_dataset,
                                 privacy_args=privacy_args, author_mapping=author_mapping,
                                 data_collator=collator, processing_class=tokenizer, **trainer_kwargs)


# --------------------------------------------------------------------------------------
# A private fine-tuning run, shaped like lib.lm.training.train
# --------------------------------------------------------------------------------------

class _EpochEnd(TrainerCallback):
    """After every epoch: the validation loss of the inner model (token-weighted, as
    :func:`lib.lm.training.mean_loss`), the epsilon spent so far, the best epoch's weights kept
    in memory, and early stopping after ``patience`` epochs without a lower loss."""

    def __init__(self, trainer: CompatOpacusDPTrainer, val_loader: DataLoader | None,
                 patience: int | None) -> None:
        self.trainer, self.val_loader, self.patience = trainer, val_loader, patience
        self.epochs: list[dict[str, Any]] = []
        self.best_epoch: int | None = None
        self.best_val_loss: float | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.bad_epochs, self.stopped_early, self.steps_before = 0, False, 0

    def on_epoch_end(self, args, state, control, **kwargs):
        inner = self.trainer.model._module
        epoch = len(self.epochs) + 1
        entry: dict[str, Any] = {"epoch": epoch, "val_loss": None,
                                 "epsilon": self.trainer.privacy_report()["epsilon"],
                                 "steps": int(state.global_step) - self.steps_before}
        self.steps_before = int(state.global_step)
        if self.val_loader is not None:
            entry["val_loss"] = training.mean_loss(inner, self.val_loader)  # no_grad, eval mode: no per-sample hooks fire
            if self.best_val_loss is None or entry["val_loss"] < self.best_val_loss:
                self.best_epoch, self.best_val_loss, self.bad_epochs = epoch, entry["val_loss"], 0
                self.best_weights = {k: v.detach().clone() for k, v in inner.state_dict().items()}
            else:
                self.bad_epochs += 1
                if self.patience is not None and self.bad_epochs >= self.patience:
                    self.stopped_early = True
                    control.should_training_stop = True
        self.epochs.append(entry)
        return control


def fit(model: nn.Module, tokenizer: Any, train_ids: Sequence[Sequence[int]],
        val_ids: Sequence[Sequence[int]] | None, *, output_dir: str | os.PathLike, config: training.TrainConfig,
        target_epsilon: float, delta: float, max_grad_norm: float) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """Fine-tune ``model`` (a ``GPT2LMHeadModel``) privately on the token-id lists
    ``train_ids`` through :class:`CompatOpacusDPTrainer`, with the optimisation of
    :func:`lib.lm.training.train`, so that the two paths can be compared side by side.

    The optimisation is ``config``'s (:class:`lib.lm.training.TrainConfig`, the one the
    Opacus path trains with): ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``betas``,
    ``warmup_fraction``, ``min_lr_ratio``, ``patience`` and ``seed``; the rest of it
    (``grad_clip``: DP clips per person instead; checkpoints, device) does not apply here.

    Optimisation: AdamW (``betas``, ``weight_decay`` on matrices only:
    :func:`lib.lm.training.make_optimizer`), linear warm-up over ``warmup_fraction`` of the
    planned steps then cosine decay to ``min_lr_ratio * lr``
    (:func:`lib.lm.training.make_scheduler`), Poisson batches of expected size ``batch_size``
    (``q = batch_size / N``), ``epochs`` planned epochs of ``int(1/q)`` steps, per-example
    clipping at ``max_grad_norm`` and noise calibrated so that the reported epsilon after
    the planned steps is at most ``target_epsilon`` at ``delta`` (below ``1/N``).

    After every epoch the validation loss (token-weighted mean over every target of
    ``val_ids``, :func:`lib.lm.training.mean_loss`) is computed on the inner model; the best
    epoch's weights are kept in memory and restored at the end, and training stops after
    ``patience`` epochs without improvement (None: never). The validation split is never
    trained on, so choosing an epoch with it is post-processing. ``val_ids`` None: no
    validation, no early stopping, the last weights.

    ``output_dir`` is the Trainer's (nothing is saved there: no checkpoints, no logs);
    nothing else is written. Same inputs and ``seed``, same weights on CPU.

    Returns the trained ``GPT2LMHeadModel`` (``model`` itself, trained in place; Opacus'
    hooks removed; eval mode); the
    ``history`` (``epochs``: per epoch ``epoch``, ``val_loss``, ``epsilon``, ``steps``;
    ``best_epoch``, ``best_val_loss``, ``stopped_early``, ``restored_best``, ``trainer``);
    and the ``privacy.json`` record (:meth:`CompatOpacusDPTrainer.privacy_report` after the
    steps taken, with ``target_epsilon``, ``epochs``, ``planned_epochs``, ``batch_size``,
    ``seed`` and ``trainer``)."""
    import datasets
    from transformers import set_seed

    epochs, batch_size, lr, weight_decay = config.epochs, config.batch_size, config.lr, config.weight_decay
    warmup_fraction, min_lr_ratio, betas = config.warmup_fraction, config.min_lr_ratio, config.betas
    patience, seed = config.patience, config.seed
    # every check before anything is built
    train_ids = [[int(t) for t in seq] for seq in train_ids]
    n = len(train_ids)
    if n == 0:
        raise ValueError("train_ids is empty")
    if any(len(seq) == 0 for seq in train_ids):
        raise ValueError("train_ids holds an empty sequence, which cannot be trained on")
    delta = privacy.check_delta(delta, n)
    for name, value in (("target_epsilon", target_epsilon), ("max_grad_norm", max_grad_norm), ("lr", lr)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name}={value!r} must be a finite number above 0")
    for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("patience", patience, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{name}={value!r} must be an integer of at least {low}")
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} exceeds the {n} training sequences")
    if not 0 <= warmup_fraction < 1:
        raise ValueError(f"warmup_fraction={warmup_fraction!r} must be in [0, 1)")
    pad = model.config.pad_token_id
    if pad is None or pad != tokenizer.pad_token_id:
        raise ValueError(f"the model's pad_token_id ({pad}) must be the tokenizer's ({tokenizer.pad_token_id}): "
                         "the collator pads with the tokenizer's, the validation loss ignores the model's")
    block_size = model.config.n_positions
    long = [len(seq) for seq in train_ids if len(seq) > block_size]
    if long:
        raise ValueError(f"{len(long)} of {n} training sequences are longer than the model's n_positions="
                         f"{block_size} (longest {max(long)} tokens)")
    val_loader = None
    if val_ids is not None:  # training.TokenDataset refuses an empty or too long sequence
        val_loader = training.make_loader(training.TokenDataset(val_ids, pad, block_size), batch_size)

    sampling_rate = batch_size / n
    planned = _planned_steps(epochs, sampling_rate)
    train_set = datasets.Dataset.from_dict({"input_ids": train_ids,
                                            "attention_mask": [[1] * len(seq) for seq in train_ids]})
    optimizer = training.make_optimizer(model, lr, weight_decay, betas)
    scheduler = training.make_scheduler(optimizer, planned, int(warmup_fraction * planned), min_lr_ratio)
    args = training_arguments(output_dir, per_device_train_batch_size=batch_size, num_train_epochs=epochs,
                              learning_rate=lr, weight_decay=weight_decay, adam_beta1=betas[0],
                              adam_beta2=betas[1], seed=seed, data_seed=seed, logging_strategy="no")
    privacy_args = PrivacyArguments(per_sample_max_grad_norm=max_grad_norm, target_epsilon=target_epsilon,
                               target_delta=delta)
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with warnings.catch_warnings():
            # Opacus' backward hooks on a model whose inputs need no gradient: expected, harmless
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            trainer = dp_trainer(model, tokenizer, train_set, training_args=args, privacy_args=privacy_args,
                                 optimizers=(optimizer, scheduler))
            trainer.remove_callback(PrinterCallback)  # no log dicts on the console
            monitor = _EpochEnd(trainer, val_loader, patience)
            trainer.add_callback(monitor)
            set_seed(seed)
            trainer.train()
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
    report = trainer.privacy_report()
    inner = trainer.model.to_standard_module()  # Opacus' hooks and attributes removed
    last_epoch = monitor.epochs[-1]["epoch"] if monitor.epochs else None
    restored = monitor.best_weights is not None and monitor.best_epoch != last_epoch
    if restored:
        inner.load_state_dict(monitor.best_weights)
    inner.eval()
    history = {"epochs": monitor.epochs, "best_epoch": monitor.best_epoch,
               "best_val_loss": monitor.best_val_loss, "stopped_early": monitor.stopped_early,
               "restored_best": restored, "trainer": "dp-transformers"}
    record = dict(report, target_epsilon=float(target_epsilon), epochs=len(monitor.epochs),
                  planned_epochs=epochs, batch_size=batch_size, seed=seed, trainer=TRAINER_NAME)
    return inner, history, record
