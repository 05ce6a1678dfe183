"""Private training: DP-SGD with Poisson sampling, set up in one place, and its accounting.

**The guarantee.** A training algorithm is (epsilon, delta)-differentially private when
adding or removing any one training sequence -- here one person's genotype profile --
changes the probability of any outcome (any set of final weights) by at most a factor
``e^epsilon``, except with probability ``delta``. Since a person is one sequence, the
guarantee is per person.

**DP-SGD** (Abadi et al. 2016) makes each optimizer step such a mechanism:

1. *Per-sample gradients.* Opacus computes one gradient per sequence of the batch
   (:mod:`lib.dp.grad_samplers` chooses how per model family). That gradient must depend
   on its own sequence only, so the private loss is each sequence's mean next-token loss,
   averaged over the batch (:func:`lib.lm.training.sequence_loss`).
2. *Clipping.* Each per-sample gradient ``g_i`` is scaled to norm at most ``C``
   (``max_grad_norm``): ``g_i * min(1, C / ||g_i||)``. One person can then move the sum
   by at most ``C`` -- its sensitivity.
3. *Noise.* Gaussian noise of standard deviation ``sigma * C`` (``sigma`` the
   ``noise_multiplier``) is added to every coordinate of the sum of clipped gradients;
   the result is divided by the expected batch size and handed to the optimizer (AdamW
   here; anything computed from the noisy gradient is post-processing and costs no
   privacy).

**Poisson sampling.** Each step's batch draws every training sequence independently with
probability ``q`` (the sample rate), so batch sizes vary around ``q * n`` (Opacus'
``DPDataLoader``, ``UniformWithReplacementSampler``); now and then a batch is empty and
the step is the noise alone. This is the sampling the accountants' *amplification by
subsampling* assumes -- a fixed-size shuffled batch is not. Following Opacus, ``q`` is one
over the number of batches per epoch, ``1 / ceil(n / batch_size)``: exactly
``batch_size / n`` when the batch size divides ``n``, slightly less otherwise (the
record keeps the ``q`` actually used, and ``expected_batch_size = q * n``).

**Accounting.** Training composes ``T = epochs / q`` Poisson-subsampled Gaussian
mechanisms. The default accountant is PRV (Gopi, Lee & Wutschitz 2021: the privacy-loss
random variable of each step is discretised and the ``T``-fold composition computed
numerically by FFT, with an error bound; the epsilon reported is the upper bound). RDP
(Mironov 2017; Mironov, Talwar & Zhang 2019) is available and looser. Either gives
epsilon from ``(q, sigma, T, delta)``; with a ``target_epsilon`` Opacus
(``PrivacyEngine.make_private_with_epsilon``) searches the ``sigma`` that spends exactly
the target in the planned epochs. The numerical PRV computation can fail for unusual
settings (Opacus raises "Discrete mean differs significantly from continuous mean" or
"Cannot compute epsilon"); the run then falls back to RDP -- a valid, if looser, bound --
logs why, and records the accountant actually used (:class:`FallbackAccountant`).

**delta.** ``delta`` must be well below ``1 / n``: a mechanism that publishes one random
person's sequence outright is (0, 1/n)-DP. Settings with ``delta >= 1/n``, ``epsilon <=
0``, ``max_grad_norm <= 0``, both or neither of ``target_epsilon`` and
``noise_multiplier`` are refused before anything is built.

**Logical and physical batches.** A large logical batch (many sequences per noisy step,
which improves the signal-to-noise ratio) may not fit in memory;
``max_physical_batch_size`` splits it into physical batches whose clipped gradients are
accumulated before the one noisy step (Opacus' ``BatchMemoryManager``; the loop of
:func:`lib.lm.training.train` counts only the logical steps).

**Clipping statistics.** The fraction of per-sample gradients that clipping shortened is
the first thing to look at when choosing ``C``: near 1, every gradient is cut to the same
length and their sizes are lost; near 0, ``C`` is larger than it needs to be and the
noise, proportional to ``C``, is larger than it needs to be. :class:`ClippingMonitor`
records it per epoch in the training history (with the median per-sample norm). It is
computed on the members without noise: a diagnostic outside the guarantee, which stays in
the run's ``diagnostics/`` and is never released with a model.

**Randomness.** The sampler and the noise come from generators seeded by ``seed`` (and
the process's ``rank``, :func:`stream_seeds`), so a run is reproducible -- what a research
artefact needs -- and the noise generator lives on the model's device (Opacus draws the
noise where the gradients are: a CPU generator fails on a GPU). Seeded noise is only as
secret as the seed: a deployment should pass ``secure_mode=True``, which draws the Poisson
batches and the noise from the operating system's CSPRNG (:class:`SystemRandom`) with
Opacus' defence against floating-point attacks on the noise.

API: :func:`make_private` sets everything up and returns a :class:`PrivateTraining`
(wrapped model, ``DPOptimizer``, Poisson loader, engine, settings), which goes to
:func:`lib.lm.training.train` as ``private=`` and whose
:meth:`~PrivateTraining.save` writes ``privacy.json``; :func:`compute_epsilon` gives the
accountant's epsilon for any ``(q, sigma, steps)``.
"""
from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from opacus.accountants import IAccountant, PRVAccountant, RDPAccountant
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from . import grad_samplers
from ..core import rundir
from ..lm import models, training

log = logging.getLogger(__name__)

DEFAULT_DELTA = 1e-5
ACCOUNTANTS = ("prv", "rdp")
PRIVACY_JSON = "privacy.json"
# what the numerical PRV composition raises when it cannot bound epsilon
_PRV_FAILURES = (RuntimeError, ValueError, FloatingPointError, OverflowError, ZeroDivisionError)


# --------------------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------------------

class FallbackAccountant(IAccountant):
    """An Opacus accountant that accounts with PRV (or RDP) and, should the PRV
    computation fail, falls back to RDP for good -- logging why and remembering it in
    ``used`` and ``fallback_reason``.

    Its history is Opacus' own: ``(noise_multiplier, sample_rate, steps)`` triples, which
    both accountants read."""

    def __init__(self, accountant: str = "prv") -> None:
        if accountant not in ACCOUNTANTS:
            raise ValueError(f"accountant={accountant!r} is unknown; choose one of {ACCOUNTANTS}")
        super().__init__()
        self.requested = accountant
        self.used = accountant
        self.fallback_reason: str | None = None

    def step(self, *, noise_multiplier: float, sample_rate: float) -> None:
        if self.history and self.history[-1][:2] == (noise_multiplier, sample_rate):
            sigma, q, steps = self.history[-1]
            self.history[-1] = (sigma, q, steps + 1)
        else:
            self.history.append((noise_multiplier, sample_rate, 1))

    def __len__(self) -> int:
        return len(self.history)

    def mechanism(self) -> str:  # an instance method: the mechanism in use can change
        return self.used

    @property
    def steps(self) -> int:
        return sum(steps for _, _, steps in self.history)

    def fall_back(self, reason: str) -> None:
        """Account with RDP from now on, because of ``reason``."""
        if self.used != "rdp":
            self.used, self.fallback_reason = "rdp", reason
            log.warning("privacy accounting falls back from PRV to RDP: %s", reason)
            warnings.warn(f"privacy accounting falls back from PRV to RDP: {reason}", stacklevel=3)

    def get_epsilon(self, delta: float, **kwargs: Any) -> float:
        """Epsilon spent so far at ``delta`` (0 before the first step; infinite once a step
        had no noise, as in a clip-only run)."""
        if not self.history:
            return 0.0
        if any(sigma == 0 for sigma, _, _ in self.history):
            return float("inf")
        if self.used == "prv":
            prv = PRVAccountant()
            prv.history = list(self.history)
            try:
                with np.errstate(all="ignore"):  # a failing composition overflows on its way
                    epsilon = float(prv.get_epsilon(delta, **kwargs))
                if math.isfinite(epsilon):
                    return epsilon
                raise FloatingPointError(f"epsilon came out as {epsilon}")
            except _PRV_FAILURES as error:
                sigma, q, _ = self.history[-1]
                self.fall_back(f"PRV accounting failed after {self.steps} steps "
                               f"(sample_rate={q:.4g}, noise_multiplier={sigma:.4g}, delta={delta:g}): "
                               f"{type(error).__name__}: {error}")
        rdp = RDPAccountant()
        rdp.history = list(self.history)
        return float(rdp.get_epsilon(delta))


def compute_epsilon(sample_rate: float, noise_multiplier: float, steps: int,
                    delta: float = DEFAULT_DELTA, accountant: str = "prv") -> float:
    """The epsilon of ``steps`` Poisson-subsampled Gaussian steps (rate ``sample_rate``,
    noise ``noise_multiplier``) at ``delta``, from Opacus' accountant fed these numbers
    directly -- the same computation as a training run's, without one. PRV falls back to
    RDP (with a warning) where it fails."""
    accountant_ = FallbackAccountant(accountant)
    if steps > 0:
        accountant_.history = [(float(noise_multiplier), float(sample_rate), int(steps))]
    return accountant_.get_epsilon(delta)


# --------------------------------------------------------------------------------------
# Clipping statistics
# --------------------------------------------------------------------------------------

def per_sample_norms(optimizer: Any) -> torch.Tensor:
    """The norm of each per-sample gradient over all parameters, before clipping (what
    the ``DPOptimizer`` is about to clip)."""
    grads = optimizer.grad_samples
    if len(grads[0]) == 0:
        return torch.zeros(0)
    norms = [g.reshape(len(g), -1).norm(2, dim=-1) for g in grads]
    return torch.stack([n.to(norms[0].device) for n in norms], dim=1).norm(2, dim=1)


class ClippingMonitor:
    """Per-sample gradient norms seen by a ``DPOptimizer``, before clipping.

    It wraps the optimizer's ``clip_and_accumulate`` (called once per physical batch) so
    that the norms are taken just before Opacus clips them. :meth:`summary` gives the
    fraction clipped (norm above ``max_grad_norm``) and the median norm since the last
    call, which is what :meth:`PrivateTraining.epoch_statistics` adds to every epoch."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self._norms: list[torch.Tensor] = []
        clip_and_accumulate = optimizer.clip_and_accumulate

        def monitored() -> None:
            self._norms.append(per_sample_norms(optimizer).detach().float().cpu())
            clip_and_accumulate()

        optimizer.clip_and_accumulate = monitored

    @property
    def norms(self) -> torch.Tensor:
        return torch.cat(self._norms) if self._norms else torch.zeros(0)

    def summary(self, reset: bool = True) -> dict[str, Any]:
        norms = self.norms
        if reset:
            self._norms = []
        if len(norms) == 0:
            return {"clipped_fraction": None, "grad_norm_median": None, "per_sample_gradients": 0}
        return {"clipped_fraction": float((norms > self.optimizer.max_grad_norm).float().mean()),
                "grad_norm_median": float(norms.median()), "per_sample_gradients": len(norms)}


# --------------------------------------------------------------------------------------
# Randomness: seeded generators, or the operating system's CSPRNG
# --------------------------------------------------------------------------------------

def stream_seeds(seed: int, rank: int = 0) -> tuple[int, int]:
    """The seeds of the Poisson sampler and of the noise of process ``rank`` of a run
    seeded ``seed``: two words drawn from ``numpy.random.SeedSequence((seed, rank))``, so
    that no two streams of a run (two ranks, or a rank's sampler and its noise) share a
    seed, as ``seed + rank`` and ``seed + 1`` would for rank 1's sampler and rank 0's
    noise."""
    sampler, noise = np.random.SeedSequence((int(seed), int(rank))).generate_state(2, dtype=np.uint64)
    return int(sampler) >> 1, int(noise) >> 1  # torch seeds are signed 64-bit


class SystemRandom:
    """Uniform and Gaussian draws from the operating system's cryptographically secure
    generator (``os.urandom``), for ``secure_mode``: a seeded Mersenne Twister or Philox
    stream can be predicted from its outputs, and with it the noise that protects the
    members."""

    @staticmethod
    def uniform(n: int) -> torch.Tensor:
        """``n`` doubles uniform on (0, 1), from 53 random bits each."""
        words = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) >> np.uint64(11)
        return torch.from_numpy((words.astype(np.float64) + 0.5) / float(1 << 53))

    @classmethod
    def normal(cls, shape: torch.Size, std: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Gaussian noise of standard deviation ``std``, as Opacus' secure mode makes it:
        the sum of four independent Gaussian draws (Box-Muller) halved, which resists the
        floating-point attacks on a single draw's discrete support."""
        n = int(np.prod(shape)) if len(shape) else 1
        u1, u2 = cls.uniform(4 * n), cls.uniform(4 * n)
        draws = torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * math.pi * u2)
        return (draws.view(4, n).sum(dim=0) / 2 * std).view(shape).to(device=device, dtype=dtype)


class SecurePoissonSampler(Sampler):
    """Opacus' Poisson batch sampler (each sequence drawn with probability ``sample_rate``,
    ``steps`` batches) with the draws from :class:`SystemRandom`."""

    def __init__(self, num_samples: int, sample_rate: float, steps: int) -> None:
        self.num_samples, self.sample_rate, self.steps = num_samples, sample_rate, steps

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            yield (SystemRandom.uniform(self.num_samples) < self.sample_rate).nonzero().reshape(-1).tolist()


def _secure_add_noise(optimizer: Any) -> None:
    """``DPOptimizer.add_noise`` with :meth:`SystemRandom.normal` (and, as Opacus'
    distributed optimizer, noise on rank 0 only)."""
    from opacus.optimizers.optimizer import _check_processed_flag, _mark_as_processed

    std = optimizer.noise_multiplier * optimizer.max_grad_norm
    for p in optimizer.params:
        _check_processed_flag(p.summed_grad)
        noise = 0 if getattr(optimizer, "rank", 0) != 0 or std == 0 else SystemRandom.normal(
            p.summed_grad.shape, std, p.summed_grad.device, p.summed_grad.dtype)
        p.grad = (p.summed_grad + noise).view_as(p)
        _mark_as_processed(p.summed_grad)


def _make_secure(loader: DataLoader, optimizer: Any) -> DataLoader:
    """Switch a private run's sampler and noise to :class:`SystemRandom`; returns the
    new loader (a ``DataLoader`` cannot change its sampler)."""
    optimizer.add_noise = lambda: _secure_add_noise(optimizer)
    optimizer.generator = None
    sampler = SecurePoissonSampler(len(loader.dataset), float(loader.sample_rate), len(loader))
    secure = DataLoader(loader.dataset, batch_sampler=sampler, collate_fn=loader.collate_fn)
    secure.sample_rate = loader.sample_rate
    return secure


# --------------------------------------------------------------------------------------
# Setting privacy up
# --------------------------------------------------------------------------------------

@dataclass
class PrivacySettings:
    """What a private run was set up with (``privacy.json`` adds what it spent)."""
    target_epsilon: float | None
    delta: float
    noise_multiplier: float
    max_grad_norm: float
    sample_rate: float
    n_train: int
    batch_size: int
    expected_batch_size: float
    steps_per_epoch: int
    epochs: int
    accountant: str
    max_physical_batch_size: int | None
    grad_sample_mode: str
    seed: int | None          # None under secure_mode (nothing is seeded)
    secure_mode: bool
    rank: int = 0
    sampler: str = "poisson"
    privacy_unit: str = "sequence"


@dataclass
class PrivateTraining:
    """The objects of one private run, as :func:`make_private` returns them."""
    model: nn.Module          # Opacus' wrapper (per-sample gradients); the model is ``model._module``
    optimizer: Any            # ``DPOptimizer``: clips, adds noise, then steps the wrapped optimizer
    loader: DataLoader        # ``DPDataLoader``: Poisson-sampled logical batches
    engine: Any               # ``PrivacyEngine``; its accountant is a :class:`FallbackAccountant`
    settings: PrivacySettings
    clipping: ClippingMonitor = field(repr=False)

    @property
    def accountant(self) -> FallbackAccountant:
        return self.engine.accountant

    @property
    def steps(self) -> int:
        """Noisy steps taken so far."""
        return self.accountant.steps

    def epsilon(self) -> float:
        """Epsilon spent so far at the run's delta."""
        return float(self.engine.get_epsilon(self.settings.delta))

    def epoch_statistics(self) -> dict[str, Any]:
        """What :func:`lib.lm.training.train` adds to every epoch of a private run: the
        clipping statistics since the last call (:class:`ClippingMonitor`) and the
        accountant in use. Computed on the members without noise: a diagnostic outside
        the guarantee."""
        return dict(self.clipping.summary(), accountant=self.accountant.used)

    def record(self) -> dict[str, Any]:
        """The content of ``privacy.json``: what was spent (``epsilon`` from the accountant,
        ``steps``, ``epochs`` completed) and how (the settings). A clip-only run (noise
        multiplier 0: Poisson batches and per-sample clipping, no noise) has no guarantee:
        ``epsilon`` is None and ``clip_only`` True."""
        settings = asdict(self.settings)
        epsilon = self.epsilon()  # may switch the accountant: read it afterwards
        clip_only = self.settings.noise_multiplier == 0
        steps = self.steps
        epochs = steps / self.settings.steps_per_epoch
        from opacus import __version__ as opacus_version

        return dict(settings, epsilon=None if clip_only else epsilon, clip_only=clip_only, steps=steps,
                    epochs=int(epochs) if float(epochs).is_integer() else epochs,
                    planned_epochs=self.settings.epochs, accountant=self.accountant.used,
                    requested_accountant=self.accountant.requested,
                    fallback_reason=self.accountant.fallback_reason, opacus=opacus_version)

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`record` atomically to ``path`` (a ``.json`` file, or a directory
        that gets ``privacy.json``)."""
        path = Path(path)
        if path.suffix != ".json":
            path = path / PRIVACY_JSON
        return rundir.write_json(path, self.record())


def sample_rate(n: int, batch_size: int) -> float:
    """Opacus' Poisson sampling rate for ``n`` sequences and a logical ``batch_size``: one
    over the number of batches per epoch, ``1 / ceil(n / batch_size)`` (what
    :func:`make_private` gets from Opacus' ``DPDataLoader``)."""
    return 1 / math.ceil(n / batch_size)


def check_delta(delta: float, n: int) -> float:
    """``delta`` if it is a number in (0, 1/n), else a ValueError naming it, 1/n and n."""
    delta = _positive("delta", delta)
    if delta >= 1 / n:
        raise ValueError(f"delta={delta:g} must be below 1/n = {1 / n:.3g} (n = {n} training sequences): "
                         "a delta of 1/n allows publishing one person's sequence outright")
    return delta


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a finite number of at least 0")
    return float(value)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a finite number above 0")
    return float(value)


def _count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer of at least {minimum}")
    return value


def _dataset_of(data: Any, model: nn.Module) -> tuple[Dataset, Callable | None, int | None]:
    """The dataset, collate function and batch size of ``data`` (a loader, a dataset or
    token-id lists)."""
    if isinstance(data, DataLoader):
        return data.dataset, data.collate_fn, data.batch_size
    if isinstance(data, Dataset):
        return data, training.collate if isinstance(data, training.TokenDataset) else None, None
    base = getattr(model, "_module", model)
    block_size = getattr(base.config, "block_size", None) or getattr(base.config, "n_positions", None)
    return training.TokenDataset(data, base.config.pad_token_id, block_size), training.collate, None


def _linearize_for_ew(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """GPT-2 under expanded weights: turn its ``Conv1D`` layers into ``nn.Linear``
    (:func:`lib.lm.models.conv1d_to_linear`) and point ``optimizer`` at the new
    parameters. Only a fresh optimizer can be re-pointed (its state, e.g. Adam's moments,
    would be in the old layout); one that has stepped is refused."""
    inner = models.unwrap(model)
    if not models.has_conv1d(inner):
        return
    if any(optimizer.state.get(p) for group in optimizer.param_groups for p in group["params"]):
        raise ValueError("make_private turns GPT-2's Conv1D layers into nn.Linear for Opacus' expanded "
                         "weights and must re-point the optimizer at them: pass an optimizer that has not "
                         "stepped yet (its state would be in the old layout)")
    mapping = models.conv1d_to_linear(inner)
    for group in optimizer.param_groups:
        group["params"] = [mapping.get(p, p) for p in group["params"]]


def make_private(model: nn.Module, optimizer: torch.optim.Optimizer, data: Any, *,
                 max_grad_norm: float, epochs: int, batch_size: int | None = None,
                 target_epsilon: float | None = None, noise_multiplier: float | None = None,
                 delta: float = DEFAULT_DELTA, accountant: str = "prv",
                 max_physical_batch_size: int | None = None, seed: int = 0, rank: int = 0,
                 secure_mode: bool = False, device: str | torch.device | None = None) -> PrivateTraining:
    """Make ``model`` and ``optimizer`` private for training on ``data``: the one place
    privacy is set up (Opacus' ``PrivacyEngine.make_private_with_epsilon`` when a
    ``target_epsilon`` is given, ``make_private`` with an explicit ``noise_multiplier``;
    exactly one of the two). ``noise_multiplier=0`` is the *clip-only* run: the same
    Poisson batches and per-sample clipping, no noise and no guarantee (``epsilon`` infinite),
    which shows what clipping alone costs.

    ``data``: a :class:`lib.lm.training.TokenDataset` (or any map-style dataset of
    fixed-shape tensors), a ``DataLoader`` over one (its collate function is kept, and its
    batch size unless ``batch_size`` is given), or token-id lists. ``batch_size`` is the
    *logical* batch size: each sequence is drawn into a batch with probability ``1 /
    ceil(n / batch_size)`` (Poisson sampling; see the module docstring).
    ``max_grad_norm``: the clipping bound ``C``. ``epochs``: the planned epochs (a
    ``target_epsilon`` is spent exactly at their end). ``delta``: below ``1 / n``.
    ``accountant``: ``"prv"`` (default; RDP if it fails) or ``"rdp"``.
    ``max_physical_batch_size``: split logical batches into physical ones of at most this
    many sequences. ``seed`` and ``rank`` (a process of a distributed run) seed the
    sampler's and the noise's generators (:func:`stream_seeds`); the noise generator lives
    on ``device`` (default: where the model's parameters are), where the model is moved
    first, as Opacus draws the noise on the gradients' device. ``secure_mode``: both the
    Poisson draws and the noise come from the operating system's CSPRNG
    (:class:`SystemRandom`) instead, not reproducible, with Opacus' floating-point
    defence; Opacus' own ``secure_mode`` needs ``torchcsprng``, which has no release for
    current PyTorch. Every setting is checked before anything is built.

    Per-sample gradients use Opacus' expanded weights (``"ew"``) for both families: a
    GPT-2's ``Conv1D`` layers are replaced *in place* by equivalent ``nn.Linear`` ones and
    ``optimizer`` is re-pointed at their parameters (it must not have stepped yet);
    :func:`lib.lm.models.save_model` writes them back as ``Conv1D``
    (:mod:`lib.dp.grad_samplers`)."""
    # 1. settings that need no data
    if (target_epsilon is None) == (noise_multiplier is None):
        raise ValueError("give exactly one of target_epsilon (the noise is then calibrated to spend it) "
                         f"and noise_multiplier; got target_epsilon={target_epsilon!r}, "
                         f"noise_multiplier={noise_multiplier!r}")
    if target_epsilon is not None:
        target_epsilon = _positive("target_epsilon", target_epsilon)
    if noise_multiplier is not None:
        noise_multiplier = _non_negative("noise_multiplier", noise_multiplier)
    max_grad_norm = _positive("max_grad_norm", max_grad_norm)
    epochs = _count("epochs", epochs)
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant={accountant!r} is unknown; choose one of {ACCOUNTANTS}")
    if max_physical_batch_size is not None:
        max_physical_batch_size = _count("max_physical_batch_size", max_physical_batch_size)
    mode = grad_samplers.grad_sample_mode(model)  # refuses a model no per-sample gradients are known for
    # 2. settings that depend on the data
    dataset, collate_fn, loader_batch_size = _dataset_of(data, model)
    n = len(dataset)
    if n < 1:
        raise ValueError("the training data is empty")
    batch_size = _count("batch_size", batch_size if batch_size is not None else loader_batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} exceeds the {n} training sequences")
    delta = check_delta(delta, n)

    # 3. the engine (Opacus wraps only a model in training mode; from_pretrained returns one in eval)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    if mode == "ew":
        _linearize_for_ew(model, optimizer)
    model.to(device).train()
    sampler_seed, noise_seed = stream_seeds(seed, rank)
    from opacus import PrivacyEngine

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Secure RNG turned off")  # said in the docstring
        engine = PrivacyEngine(accountant=accountant)  # secure_mode is ours: _make_secure
    engine.accountant = FallbackAccountant(accountant)
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate_fn,
                        generator=torch.Generator().manual_seed(sampler_seed))
    common = dict(module=model, optimizer=optimizer, data_loader=loader, max_grad_norm=max_grad_norm,
                  poisson_sampling=True, grad_sample_mode=mode,
                  noise_generator=torch.Generator(device=device).manual_seed(noise_seed))
    if target_epsilon is not None:
        try:
            private = engine.make_private_with_epsilon(**common, target_epsilon=target_epsilon,
                                                       target_delta=delta, epochs=epochs)
        except _PRV_FAILURES as error:
            if "privacy budget is too low" in str(error):
                raise ValueError(f"target_epsilon={target_epsilon:g} cannot be met at delta={delta:g} in "
                                 f"{epochs} epochs of sample rate {1 / len(loader):.4g}: the noise it needs is "
                                 "beyond Opacus' search; raise target_epsilon or the batch size") from error
            if engine.accountant.used != "prv":
                raise
            engine.accountant.fall_back(f"PRV failed while calibrating the noise for "
                                        f"target_epsilon={target_epsilon:g}: {type(error).__name__}: {error}")
            private = engine.make_private_with_epsilon(**common, target_epsilon=target_epsilon,
                                                       target_delta=delta, epochs=epochs)
    else:
        private = engine.make_private(**common, noise_multiplier=noise_multiplier)
    module, dp_optimizer, dp_loader = private
    if secure_mode:
        dp_loader = _make_secure(dp_loader, dp_optimizer)
    sample_rate = float(dp_loader.sample_rate)
    settings = PrivacySettings(
        target_epsilon=target_epsilon, delta=delta, noise_multiplier=float(dp_optimizer.noise_multiplier),
        max_grad_norm=max_grad_norm, sample_rate=sample_rate, n_train=n, batch_size=batch_size,
        expected_batch_size=sample_rate * n, steps_per_epoch=len(dp_loader), epochs=epochs,
        accountant=accountant, max_physical_batch_size=max_physical_batch_size, grad_sample_mode=mode,
        seed=None if secure_mode else seed, secure_mode=secure_mode, rank=rank)
    log.info("private training: n=%d, q=%.4g, sigma=%.4g, C=%g, %d steps per epoch, accountant %s",
             n, sample_rate, settings.noise_multiplier, max_grad_norm, settings.steps_per_epoch,
             engine.accountant.used)
    return PrivateTraining(model=module, optimizer=dp_optimizer, loader=dp_loader, engine=engine,
                           settings=settings, clipping=ClippingMonitor(dp_optimizer))


def train_dp(model: nn.Module, train_data: Any, val_data: Any, config: "training.TrainConfig", *,
             max_grad_norm: float, target_epsilon: float | None = None, noise_multiplier: float | None = None,
             delta: float = DEFAULT_DELTA, accountant: str = "prv", max_physical_batch_size: int | None = None,
             seed: int = 0, secure_mode: bool = False) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """DP-SGD through the one training loop: an AdamW optimizer of ``config``'s settings,
    :func:`make_private` (Poisson batches of ``config.batch_size``'s rate, clipping at
    ``max_grad_norm``, the noise calibrated to ``target_epsilon`` or given as
    ``noise_multiplier``; 0 is the clip-only run) and :func:`lib.lm.training.train` for
    ``config.epochs`` on ``train_data``, validated on ``val_data`` (None: none). Returns the
    trained model unwrapped, with a GPT-2's layers back in their standard ``Conv1D`` layout
    (:func:`lib.lm.models.linear_to_conv1d`), its history and its privacy record
    (:meth:`PrivateTraining.record`, what ``privacy.json`` holds). The chapters' private
    models and the attacker's private reference models both train here, so that a mimic is
    trained exactly as its target."""
    optimizer = training.make_optimizer(model, config.lr, config.weight_decay, config.betas)
    private = make_private(model, optimizer, train_data, batch_size=config.batch_size, max_grad_norm=max_grad_norm,
                           epochs=config.epochs, target_epsilon=target_epsilon, noise_multiplier=noise_multiplier,
                           delta=delta, accountant=accountant, max_physical_batch_size=max_physical_batch_size,
                           seed=seed, secure_mode=secure_mode, device=training.select_device(config.device))
    history = training.train(private.model, None, val_data, config, private=private)
    record = private.record()
    return models.linear_to_conv1d(models.unwrap(private.model)), history, record
