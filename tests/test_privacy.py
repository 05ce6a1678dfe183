"""lib.dp.privacy: DP-SGD set up in one place -- per-sample clipping, Gaussian noise of
standard deviation sigma*C, Poisson sampling, the accountant's epsilon (and its PRV->RDP
fallback), refusals before any work, logical vs physical batches, and real private runs
of both model families through lib.lm.training.train.

The statistical tests draw many samples from seeded generators and compare them with
bounds derived from the sample size (chi-square quantiles at a two-sided level of 1e-6);
each also checks that it would reject a wrong answer."""
from __future__ import annotations

import json
import logging
import math
import warnings

import pytest
import torch
from conftest import pattern_language as _pattern_language
from scipy import stats

from lib.lm import models, training
from lib.dp import privacy
from lib.lm.models import LinearFromConv1D, conv1d_to_linear, has_conv1d
from lib.lm.training import TrainConfig

VOCAB = {"vocab_size": 10, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
SIZES = {"block_size": 24, "n_layer": 1, "n_head": 2, "n_embd": 16, "dropout": 0.0}
ALPHA = 1e-6  # two-sided level of every statistical check


def pattern_language(n: int, seed: int) -> list[list[int]]:
    return _pattern_language(n, seed, lengths=(6, 16))


TRAIN, VAL = pattern_language(24, 0), pattern_language(8, 1)


def setup(family: str = "mingpt", data=TRAIN, lr: float = 1e-2, **kwargs) -> privacy.PrivateTraining:
    model = models.build_model(family, SIZES, VOCAB, seed=0)
    optimizer = training.make_optimizer(model, lr, 0.0)
    kwargs = {"max_grad_norm": 1.0, "epochs": 2, "batch_size": 4, "noise_multiplier": 1.0,
              "delta": 1e-3, **kwargs}
    return privacy.make_private(model, optimizer, data, **kwargs)


def quiet_train(private: privacy.PrivateTraining, epochs: int = 2, **kwargs) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus' full-backward-hook notice and the like
        return training.train(private.model, None, VAL,
                              TrainConfig(epochs=epochs, batch_size=private.settings.batch_size, lr=1e-2,
                                          progress=False, device="cpu"),
                              private=private, **kwargs)


def batch_of(sequences: list[list[int]]) -> tuple[torch.Tensor, ...]:
    dataset = training.TokenDataset(sequences, VOCAB["pad_token_id"])
    return training.collate([dataset[i] for i in range(len(dataset))])


def backward_per_sample(private: privacy.PrivateTraining, sequences: list[list[int]]) -> None:
    """One forward/backward of the private model: fills every ``p.grad_sample``."""
    ids, mask, pos = batch_of(sequences)
    private.optimizer.zero_grad(set_to_none=True)
    out = private.model(ids, attention_mask=mask, position_ids=pos)
    loss, _ = training.sequence_loss(out.logits, models.make_labels(ids, mask, VOCAB["pad_token_id"]))
    loss.backward()


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


# --------------------------------------------------------------------------------------
# Refusals, before any work
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, message", [
    ({"target_epsilon": 0.0, "noise_multiplier": None}, r"target_epsilon=0\.0 must be .* above 0"),
    ({"target_epsilon": -1.0, "noise_multiplier": None}, r"target_epsilon=-1\.0 must be"),
    ({"target_epsilon": float("inf"), "noise_multiplier": None}, r"target_epsilon=inf must be a finite"),
    ({"delta": 1 / 24}, r"delta=0\.0416667 must be below 1/n = 0\.0417 \(n = 24 training sequences\)"),
    ({"delta": 0.5}, r"delta=0\.5 must be below 1/n .*n = 24"),
    ({"delta": 0.0}, r"delta=0\.0 must be"),
    ({"target_epsilon": 1.0, "noise_multiplier": 1.0}, r"exactly one of target_epsilon .* and noise_multiplier"),
    ({"target_epsilon": None, "noise_multiplier": None}, r"exactly one of target_epsilon"),
    ({"max_grad_norm": 0.0}, r"max_grad_norm=0\.0 must be"),
    ({"max_grad_norm": -1.0}, r"max_grad_norm=-1\.0 must be"),
    ({"noise_multiplier": -0.5}, r"noise_multiplier=-0\.5 must be"),  # 0 is the clip-only run
    ({"epochs": 0}, r"epochs=0 must be an integer of at least 1"),
    ({"batch_size": 25}, r"batch_size=25 exceeds the 24 training sequences"),
    ({"accountant": "gdp"}, r"accountant='gdp' is unknown"),
    ({"max_physical_batch_size": 0}, r"max_physical_batch_size=0 must be"),
])
def test_impossible_settings_are_refused_before_any_work(monkeypatch, settings, message):
    import opacus

    def no_engine(*args, **kwargs):
        raise AssertionError("the privacy engine was built before the settings were checked")

    monkeypatch.setattr(opacus.PrivacyEngine, "__init__", no_engine)
    model = models.build_model("mingpt", SIZES, VOCAB, seed=0)
    optimizer = training.make_optimizer(model, 1e-2, 0.0)
    kwargs = {"max_grad_norm": 1.0, "epochs": 2, "batch_size": 4, "noise_multiplier": 1.0,
              "delta": 1e-3, **settings}
    with pytest.raises(ValueError, match=message):
        privacy.make_private(model, optimizer, TRAIN, **kwargs)
    assert type(optimizer) is torch.optim.AdamW
    assert all(getattr(p, "grad_sample", None) is None for p in model.parameters())


def test_unreachable_target_epsilon_is_refused():
    model = models.build_model("mingpt", SIZES, VOCAB, seed=0)
    optimizer = training.make_optimizer(model, 1e-2, 0.0)
    with pytest.raises(ValueError, match=r"target_epsilon=1e-09 cannot be met at delta=0\.001 in 2 epochs"):
        privacy.make_private(model, optimizer, TRAIN, max_grad_norm=1.0, epochs=2, batch_size=4,
                             target_epsilon=1e-9, delta=1e-3, accountant="rdp")
    assert type(optimizer) is torch.optim.AdamW  # nothing was wrapped


def test_unknown_model_is_refused():
    model = torch.nn.Linear(3, 3)
    with pytest.raises(ValueError, match="no Opacus grad_sample_mode is known for a Linear"):
        privacy.make_private(model, torch.optim.SGD(model.parameters(), lr=0.1), TRAIN,
                             max_grad_norm=1.0, epochs=1, batch_size=4, noise_multiplier=1.0)


# --------------------------------------------------------------------------------------
# Per-sample gradients, clipping, noise
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("family, mode", [("mingpt", "ew"), ("gpt2", "ew")])
def test_per_sample_gradient_is_that_sequences_own(family, mode):
    """Opacus' gradient of sequence i in a batch equals autograd's on sequence i alone:
    the private loss makes it independent of the rest of the batch (and GPT-2's
    positions are per row)."""
    private = setup(family)
    assert private.settings.grad_sample_mode == mode
    sequences = TRAIN[:5]
    backward_per_sample(private, sequences)
    reference = models.build_model(family, SIZES, VOCAB, seed=0)
    conv1d_to_linear(reference)  # GPT-2's layers in the layout make_private trains them in
    named = dict(reference.named_parameters())
    pairs = [(p, named[name.removeprefix("_module.")]) for name, p in private.model.named_parameters()]
    assert len(pairs) == len(named)
    for i, seq in enumerate(sequences):
        ids, mask, pos = batch_of([seq])
        reference.zero_grad()
        loss = models.lm_loss(reference(ids, attention_mask=mask, position_ids=pos).logits,
                              models.make_labels(ids, mask, VOCAB["pad_token_id"]))
        loss.backward()
        for p, ref in pairs:
            torch.testing.assert_close(p.grad_sample[i], ref.grad, atol=1e-6, rtol=1e-4)


def test_gpt2_is_trained_with_linear_layers_and_saved_as_standard_gpt2(tmp_path):
    """make_private turns GPT-2's Conv1D layers into nn.Linear (expanded weights know no
    Conv1D) and re-points the optimizer at the new parameters; the trained model saves
    as a standard GPT-2 that computes what the trained one does."""
    from transformers.pytorch_utils import Conv1D

    model = models.build_model("gpt2", SIZES, VOCAB, seed=0)
    optimizer = training.make_optimizer(model, 1e-2, 0.1)
    private = privacy.make_private(model, optimizer, TRAIN, max_grad_norm=1.0, epochs=1, batch_size=4,
                                   noise_multiplier=1.0, delta=1e-3)
    assert private.settings.grad_sample_mode == "ew"
    assert not has_conv1d(model) and any(isinstance(m, LinearFromConv1D) for m in model.modules())
    model_params = {id(p) for p in model.parameters()}
    optimizer_params = [p for group in private.optimizer.param_groups for p in group["params"]]
    assert {id(p) for p in optimizer_params} == model_params and len(optimizer_params) == len(model_params)
    quiet_train(private, epochs=1)
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    models.save_model(private.model, tmp_path / "m")
    assert any(isinstance(m, LinearFromConv1D) for m in model.modules())  # the trained model is left as it was
    loaded = models.load_model(tmp_path / "m")
    assert any(isinstance(m, Conv1D) for m in loaded.modules())
    ids, mask, pos = batch_of(TRAIN[:3])
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, attention_mask=mask, position_ids=pos).logits,
                                   model(ids, attention_mask=mask, position_ids=pos).logits, rtol=0, atol=1e-5)


def test_an_optimizer_that_has_stepped_cannot_be_re_pointed():
    model = models.build_model("gpt2", SIZES, VOCAB, seed=0)
    optimizer = training.make_optimizer(model, 1e-2, 0.0)
    ids, mask, pos = batch_of(TRAIN[:2])
    models.lm_loss(model(ids, attention_mask=mask, position_ids=pos).logits,
                   models.make_labels(ids, mask, VOCAB["pad_token_id"])).backward()
    optimizer.step()
    with pytest.raises(ValueError, match="optimizer that has not stepped"):
        privacy.make_private(model, optimizer, TRAIN, max_grad_norm=1.0, epochs=1, batch_size=4,
                             noise_multiplier=1.0, delta=1e-3)
    assert has_conv1d(model)  # refused before anything changed


@pytest.mark.parametrize("family", models.FAMILIES)
def test_clipping_bounds_every_per_sample_gradient(family):
    private = setup(family)
    opt = private.optimizer
    sequences = TRAIN[:8]
    backward_per_sample(private, sequences)
    raw = privacy.per_sample_norms(opt)
    raw_grads = [p.grad_sample.clone() for p in opt.params]
    # a bound between the smallest and largest norms: some gradients are clipped, some not
    opt.max_grad_norm = bound = float(raw.median())
    clipped = []
    for i in range(len(sequences)):  # one sequence per "physical batch": summed_grad is its clipped gradient
        for p, g in zip(opt.params, raw_grads):
            p.grad_sample, p.summed_grad = g[i:i + 1].clone(), None
        opt.clip_and_accumulate()
        clipped.append(flat(p.summed_grad for p in opt.params))
    norms = torch.stack([c.norm() for c in clipped])
    assert (norms <= bound * (1 + 1e-5)).all()
    over = raw > bound
    assert 0 < over.sum() < len(sequences)
    torch.testing.assert_close(norms[over], torch.full_like(norms[over], bound), rtol=1e-5, atol=0)
    unclipped = [flat(g[i] for g in raw_grads) for i in range(len(sequences))]
    for i in torch.nonzero(~over).flatten().tolist():  # below the bound: left alone
        torch.testing.assert_close(clipped[i], unclipped[i], rtol=1e-5, atol=1e-7)
    for i in torch.nonzero(over).flatten().tolist():  # above: same direction, shorter
        assert float(torch.nn.functional.cosine_similarity(clipped[i], unclipped[i], dim=0)) > 1 - 1e-5
    # the whole batch at once sums exactly those clipped gradients
    for p, g in zip(opt.params, raw_grads):
        p.grad_sample, p.summed_grad = g.clone(), None
    opt.clip_and_accumulate()
    torch.testing.assert_close(flat(p.summed_grad for p in opt.params), torch.stack(clipped).sum(0),
                               rtol=1e-4, atol=1e-6)
    # and the monitor saw those norms: the fraction clipped is the fraction above the bound
    summary = private.clipping.summary()
    assert summary["per_sample_gradients"] == 2 * len(sequences)
    assert summary["clipped_fraction"] == pytest.approx(float(over.float().mean()))


def chi_square_bounds(df: int) -> tuple[float, float]:
    return stats.chi2.ppf(ALPHA / 2, df), stats.chi2.ppf(1 - ALPHA / 2, df)


def test_noise_has_standard_deviation_sigma_times_c():
    """With every per-sample gradient zero, a step's gradient is the noise alone (divided
    by the expected batch size). Sum of squares / (sigma C)^2 is chi-square with one
    degree of freedom per coordinate."""
    sigma, bound = 0.7, 0.5
    private = setup(noise_multiplier=sigma, max_grad_norm=bound)
    opt = private.optimizer
    draws = []
    for _ in range(5):
        for p in opt.params:
            p.grad_sample, p.summed_grad = torch.zeros((3, *p.shape)), None
        assert opt.pre_step()  # clip (nothing), noise, scale by the expected batch size, account
        draws.append(flat(p.grad for p in opt.params) * opt.expected_batch_size)
    noise = torch.cat(draws).double()
    n = noise.numel()
    assert n > 10_000
    std = sigma * bound
    low, high = chi_square_bounds(n)
    statistic = float((noise ** 2).sum() / std ** 2)
    assert low < statistic < high, (float(noise.std()), std)
    assert abs(float(noise.mean())) < stats.norm.ppf(1 - ALPHA / 2) * std / math.sqrt(n)
    assert not torch.equal(draws[0], draws[1])  # a fresh draw every step
    # the check has power: a standard deviation 5% off either way is rejected
    for wrong in (0.95 * std, 1.05 * std):
        assert not low < float((noise ** 2).sum() / wrong ** 2) < high
    assert private.steps == 5  # every noisy step was accounted


# --------------------------------------------------------------------------------------
# Poisson sampling
# --------------------------------------------------------------------------------------

def test_sampling_is_poisson():
    """Batch sizes are Binomial(n, q): they vary, with mean q n and variance q (1 - q) n."""
    data = pattern_language(60, 2)
    private = setup(data=data, batch_size=6)
    settings = private.settings
    assert settings.sampler == "poisson" and settings.n_train == 60
    assert settings.sample_rate == pytest.approx(6 / 60) and settings.steps_per_epoch == 10
    sizes = torch.tensor([len(batch) for _ in range(300) for batch in private.loader.batch_sampler],
                         dtype=torch.float64)
    k, n, q = len(sizes), 60, settings.sample_rate
    mean, var = n * q, n * q * (1 - q)
    assert abs(float(sizes.mean()) - mean) < stats.norm.ppf(1 - ALPHA / 2) * math.sqrt(var / k)
    low, high = chi_square_bounds(k)
    assert low < float(((sizes - mean) ** 2).sum() / var) < high  # Binomial dispersion
    assert len(set(sizes.tolist())) > 5  # not a fixed batch size
    # a fixed-size loader would fail the dispersion check
    assert not low < float(((torch.full_like(sizes, 6.0) - mean) ** 2).sum() / var) < high
    # each item drawn independently: every one of the 60 appears, none in every batch
    counts = torch.zeros(n)
    for _ in range(50):
        for batch in private.loader.batch_sampler:
            counts[batch] += 1
    assert (counts > 0).all() and (counts < 500).all()
    # the loader yields the collated tensors of those batches
    shapes = {batch[0].size(0) for batch in private.loader}
    assert len(shapes) > 1


def test_sample_rate_follows_opacus_when_batch_size_does_not_divide_n():
    private = setup(data=pattern_language(26, 3), batch_size=4)  # ceil(26 / 4) = 7 batches
    assert private.settings.sample_rate == pytest.approx(1 / 7)
    assert private.settings.expected_batch_size == pytest.approx(26 / 7)


# --------------------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------------------

def test_compute_epsilon_matches_independent_accountants():
    from opacus.accountants import PRVAccountant, RDPAccountant
    from prv_accountant import PoissonSubsampledGaussianMechanism
    from prv_accountant import PRVAccountant as MicrosoftPRV

    q, sigma, steps, delta = 1 / 6, 1.0, 12, 1e-5
    prv = privacy.compute_epsilon(q, sigma, steps, delta)
    opacus_prv = PRVAccountant()
    opacus_prv.history = [(sigma, q, steps)]
    assert prv == opacus_prv.get_epsilon(delta)
    rdp = RDPAccountant()
    rdp.history = [(sigma, q, steps)]
    assert privacy.compute_epsilon(q, sigma, steps, delta, accountant="rdp") == rdp.get_epsilon(delta)
    # Microsoft's implementation of the PRV accountant (Gopi et al.), independent code
    reference = MicrosoftPRV(prvs=[PoissonSubsampledGaussianMechanism(noise_multiplier=sigma,
                                                                      sampling_probability=q)],
                             max_self_compositions=[steps], eps_error=0.01, delta_error=delta / 1000)
    _, _, upper = reference.compute_epsilon(delta=delta, num_self_compositions=[steps])
    assert prv == pytest.approx(upper, abs=0.02)
    assert prv < rdp.get_epsilon(delta)  # PRV is the tighter bound
    assert privacy.compute_epsilon(q, sigma, 0, delta) == 0.0  # nothing spent before the first step


@pytest.mark.parametrize("q, sigma, steps, error", [
    (0.3725801741693321, 0.20811123178315133, 11, "Discrete mean differs significantly"),
    (0.5, 0.02, 1, "Discrete mean differs significantly"),
    (0.5, 0.03, 2, "epsilon came out as inf"),
])
def test_prv_falls_back_to_rdp_where_it_fails(caplog, q, sigma, steps, error):
    """Settings where Opacus' numerical PRV composition fails (found by search: few steps,
    very little noise): epsilon then comes from RDP, with a logged reason."""
    delta = 1e-5
    accountant = privacy.FallbackAccountant("prv")
    accountant.history = [(sigma, q, steps)]
    with caplog.at_level(logging.WARNING, logger="lib.dp.privacy"), pytest.warns(UserWarning, match="falls back"):
        epsilon = accountant.get_epsilon(delta)
    assert accountant.used == "rdp" and error in accountant.fallback_reason
    assert f"after {steps} steps" in caplog.text
    assert math.isfinite(epsilon)
    assert epsilon == privacy.compute_epsilon(q, sigma, steps, delta, accountant="rdp")


def test_very_short_run_falls_back_to_rdp_and_records_it(tmp_path, caplog):
    """Two steps at q = 1/2 with very little noise: Opacus' PRV composition fails when the
    epoch's epsilon is asked for; the run goes on with RDP and privacy.json says so."""
    private = setup(batch_size=12, noise_multiplier=0.03, epochs=1)
    with caplog.at_level(logging.WARNING, logger="lib.dp.privacy"):
        history = quiet_train(private, epochs=1)
    assert "falls back from PRV to RDP" in caplog.text
    assert history["epochs"][0]["accountant"] == "rdp" and math.isfinite(history["epochs"][0]["epsilon"])
    record = json.loads(private.save(tmp_path / "privacy.json").read_text())
    assert record["accountant"] == "rdp" and record["requested_accountant"] == "prv"
    assert "after 2 steps" in record["fallback_reason"]
    assert record["epsilon"] == history["epochs"][0]["epsilon"] == privacy.compute_epsilon(
        0.5, 0.03, 2, 1e-3, accountant="rdp")


def test_calibration_falls_back_to_rdp_and_records_it(monkeypatch, tmp_path, caplog):
    """A run whose PRV fails while the noise is calibrated to a target epsilon -- forced
    here, with the error the PRV code raises -- is calibrated and accounted with RDP."""
    from opacus.accountants import PRVAccountant

    def fail(self, delta, **kwargs):
        raise RuntimeError("Discrete mean differs significantly from continuous mean.")

    monkeypatch.setattr(PRVAccountant, "get_epsilon", fail)
    with caplog.at_level(logging.WARNING, logger="lib.dp.privacy"), pytest.warns(UserWarning, match="falls back"):
        private = setup(target_epsilon=4.0, noise_multiplier=None, epochs=1, batch_size=8)
    assert "calibrating the noise for target_epsilon=4" in caplog.text
    history = quiet_train(private, epochs=1)
    assert [e["accountant"] for e in history["epochs"]] == ["rdp"]
    record = json.loads(private.save(tmp_path).read_text())
    assert record["accountant"] == "rdp" and record["requested_accountant"] == "prv"
    assert "Discrete mean differs" in record["fallback_reason"]
    assert record["steps"] == 3
    assert record["epsilon"] == privacy.compute_epsilon(1 / 3, record["noise_multiplier"], 3, 1e-3, "rdp")
    assert record["epsilon"] <= 4.0


def test_target_epsilon_is_spent_by_the_planned_epochs():
    private = setup(target_epsilon=3.0, noise_multiplier=None, epochs=2, batch_size=6)
    sigma = private.settings.noise_multiplier
    assert private.settings.target_epsilon == 3.0 and 0.3 < sigma < 10
    history = quiet_train(private, epochs=2)
    epsilons = [e["epsilon"] for e in history["epochs"]]
    assert epsilons[0] < epsilons[1] <= 3.0
    assert epsilons[1] == pytest.approx(3.0, abs=0.02)  # Opacus' search tolerance is 0.01
    assert private.steps == 8 and private.accountant.used == "prv"


# --------------------------------------------------------------------------------------
# Private training through lib.lm.training.train
# --------------------------------------------------------------------------------------

PRIVACY_KEYS = {"epsilon", "target_epsilon", "delta", "sample_rate", "noise_multiplier", "steps",
                "epochs", "max_grad_norm", "accountant", "sampler"}


@pytest.mark.parametrize("family, mode", [("mingpt", "ew"), ("gpt2", "ew")])
def test_private_training_run(tmp_path, family, mode):
    private = setup(family)
    history = quiet_train(private, epochs=2)
    epochs = history["epochs"]
    assert len(epochs) == 2 and history["family"] == family
    for entry in epochs:
        assert math.isfinite(entry["train_loss"]) and math.isfinite(entry["val_loss"])
        assert entry["steps"] == private.settings.steps_per_epoch == 6
        assert 0.0 <= entry["clipped_fraction"] <= 1.0 and entry["grad_norm_median"] > 0
        assert entry["accountant"] == "prv"
    assert 0 < epochs[0]["epsilon"] < epochs[1]["epsilon"]
    path = private.save(tmp_path)
    assert path.name == "privacy.json"
    record = json.loads(path.read_text())
    assert PRIVACY_KEYS <= set(record)
    assert record["target_epsilon"] is None and record["sampler"] == "poisson"
    assert record["steps"] == 12 and record["epochs"] == 2 and record["delta"] == 1e-3
    assert record["grad_sample_mode"] == mode and record["n_train"] == 24
    # the epsilon reported is the accountant's for the same (q, sigma, steps)
    assert record["epsilon"] == epochs[-1]["epsilon"] == privacy.compute_epsilon(
        record["sample_rate"], record["noise_multiplier"], record["steps"], record["delta"],
        record["accountant"])


def test_logical_steps_with_physical_batches():
    """Logical batches of 12 split into physical ones of at most 3: the scheduler, the
    history and the accountant count logical steps, and the weights are those of the
    unsplit run (same seed, no dropout) up to rounding. The bound is too large to clip
    anything, so this also checks that a sequence's gradient does not depend on the
    (physical) batch it came in."""
    dp = {"batch_size": 12, "max_grad_norm": 100.0, "noise_multiplier": 0.1}
    split = setup(**dp, max_physical_batch_size=3)
    seen = []
    original_step = split.optimizer.original_optimizer.step

    def counting_step(*args, **kwargs):
        seen.append(1)
        return original_step(*args, **kwargs)

    split.optimizer.original_optimizer.step = counting_step
    history = quiet_train(split, epochs=2)
    assert [e["steps"] for e in history["epochs"]] == [2, 2] and len(seen) == 4 and split.steps == 4
    reference_lr = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-2)
    schedule = training.make_scheduler(reference_lr, total_steps=4, warmup_steps=0)
    for _ in range(4):
        reference_lr.step()
        schedule.step()
    assert history["epochs"][-1]["lr"] == pytest.approx(schedule.get_last_lr()[0])
    assert all(e["clipped_fraction"] == 0.0 for e in history["epochs"])
    whole = setup(**dp)
    quiet_train(whole, epochs=2)
    for a, b in zip(split.model._module.parameters(), whole.model._module.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_empty_poisson_batches_take_a_noise_only_step(monkeypatch):
    calls = []
    noise_only = training._noise_only_step
    monkeypatch.setattr(training, "_noise_only_step", lambda opt: (calls.append(1), noise_only(opt)))
    private = setup(batch_size=1)  # q = 1/24: a batch is empty with probability (23/24)^24 ~ 0.36
    history = quiet_train(private, epochs=1)
    assert calls, "no empty batch was drawn"
    assert history["epochs"][0]["steps"] == 24 and private.steps == 24
    assert math.isfinite(history["epochs"][0]["train_loss"])


def test_private_resume_is_bit_identical(tmp_path):
    """A private run interrupted after epoch 1 and resumed gives the weights and the
    epsilon of an uninterrupted one: the checkpoint keeps the accountant's history and the
    sampler's and the noise's generators."""
    whole = setup()
    quiet_train(whole, epochs=2)

    class Interrupt(Exception):
        pass

    def crash(entry, model):
        if entry["epoch"] == 2:
            raise Interrupt

    config = TrainConfig(epochs=2, batch_size=4, lr=1e-2, progress=False, checkpoint_dir=str(tmp_path))
    first = setup()
    with pytest.raises(Interrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        training.train(first.model, None, VAL, config, private=first, on_epoch_end=crash)
    resumed = setup()
    with torch.no_grad():
        for p in resumed.model.parameters():
            p.zero_()  # the weights must come from the checkpoint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = training.train(resumed.model, None, VAL, config, private=resumed)
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    for a, b in zip(whole.model._module.parameters(), resumed.model._module.parameters()):
        assert torch.equal(a, b)
    assert resumed.steps == whole.steps == 12 and resumed.epsilon() == whole.epsilon()


def test_caller_epoch_hook_sees_the_private_statistics():
    """``train(..., private=...)`` adds epsilon, the clipping statistics and the accountant
    to an epoch's entry before the caller's ``on_epoch_end`` sees it."""
    seen = []
    private = setup()
    history = quiet_train(private, epochs=2, on_epoch_end=lambda entry, model: seen.append(dict(entry)))
    assert [e["epoch"] for e in seen] == [1, 2]
    for entry in seen:
        assert {"epsilon", "clipped_fraction", "grad_norm_median", "per_sample_gradients", "accountant"} <= set(entry)
        # every per-sample gradient of the epoch was seen once (one physical batch per step)
        assert entry["per_sample_gradients"] > 0
    assert history["epochs"] == seen


# --------------------------------------------------------------------------------------
# Randomness: the streams' seeds, the noise generator's device, secure mode
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 7, 12345, 2 ** 31 - 1])
def test_stream_seeds_are_distinct_across_ranks_and_streams(seed):
    """Every sampler and noise seed of a run of 8 processes differs from every other (the
    old scheme, sampler ``seed + rank`` and noise ``seed + 1``, gave rank 1's sampler the
    seed of rank 0's noise); they are reproducible and valid torch seeds."""
    streams = [privacy.stream_seeds(seed, rank) for rank in range(8)]
    flat_seeds = [s for pair in streams for s in pair]
    assert len(set(flat_seeds)) == len(flat_seeds) == 16
    assert all(isinstance(s, int) and 0 <= s < 2 ** 63 for s in flat_seeds)
    assert streams == [privacy.stream_seeds(seed, rank) for rank in range(8)]  # reproducible
    assert privacy.stream_seeds(seed) == streams[0]  # rank 0 by default
    for s in flat_seeds:
        torch.Generator().manual_seed(s)  # accepted as a seed
    old = [(seed + rank, seed + 1) for rank in range(8)]  # what this replaces collides
    assert len({s for pair in old for s in pair}) < 16


def test_stream_seeds_differ_between_seeds():
    seeds = {s for seed in range(20) for rank in range(8) for s in privacy.stream_seeds(seed, rank)}
    assert len(seeds) == 20 * 8 * 2


def zero_gradient_noise(private: privacy.PrivateTraining, steps: int = 1) -> torch.Tensor:
    """The noise of ``steps`` noisy steps with every per-sample gradient zero (the summed
    gradient is then the noise alone), in units of the summed gradient."""
    opt = private.optimizer
    draws = []
    for _ in range(steps):
        for p in opt.params:
            p.grad_sample, p.summed_grad = torch.zeros((3, *p.shape), device=p.device), None
        assert opt.pre_step()
        draws.append(flat(p.grad for p in opt.params).cpu() * opt.expected_batch_size)
    return torch.cat(draws)


def poisson_batches(private: privacy.PrivateTraining, epochs: int = 3) -> list[list[int]]:
    return [list(batch) for _ in range(epochs) for batch in private.loader.batch_sampler]


def test_ranks_draw_different_batches_and_noise():
    """``make_private(..., rank=r)`` seeds its sampler and noise with
    :func:`privacy.stream_seeds`: the same (seed, rank) reproduces both, another rank
    draws other Poisson batches and other noise."""
    data = pattern_language(60, 2)
    runs = {rank: setup(data=data, batch_size=6, seed=3, rank=rank) for rank in (0, 1)}
    again = setup(data=data, batch_size=6, seed=3, rank=1)
    assert runs[1].settings.rank == 1 and runs[0].settings.rank == 0 and runs[1].settings.seed == 3
    batches = {rank: poisson_batches(runs[rank]) for rank in (0, 1)}
    assert batches[0] != batches[1]
    assert poisson_batches(again) == batches[1]
    noise = {rank: zero_gradient_noise(runs[rank]) for rank in (0, 1)}
    assert not torch.equal(noise[0], noise[1])
    torch.testing.assert_close(zero_gradient_noise(again), noise[1], rtol=0, atol=0)
    # the generators really are seeded from stream_seeds
    sampler_seed, noise_seed = privacy.stream_seeds(3, 1)
    fresh = setup(data=data, batch_size=6, seed=3, rank=1)
    assert fresh.optimizer.generator.initial_seed() == noise_seed
    assert fresh.loader.batch_sampler.generator.initial_seed() == sampler_seed


def test_noise_generator_lives_on_the_model_device():
    private = setup(device="cpu")
    assert private.optimizer.generator.device.type == "cpu"
    assert setup().optimizer.generator.device.type == "cpu"  # default: where the parameters are
    assert next(private.model.parameters()).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("family", models.FAMILIES)
@pytest.mark.parametrize("secure_mode", [False, True])
def test_private_training_step_on_cuda(family, secure_mode):
    """One private epoch of each family on CUDA: the model, its gradients and the noise
    generator are on the GPU (a CPU generator cannot draw noise for CUDA gradients)."""
    private = setup(family, device="cuda", epochs=1, batch_size=12, secure_mode=secure_mode)
    if secure_mode:
        assert private.optimizer.generator is None
    else:
        assert private.optimizer.generator.device.type == "cuda"
    assert all(p.device.type == "cuda" for p in private.model.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = training.train(private.model, None, VAL, TrainConfig(epochs=1, batch_size=12, lr=1e-2,
                                                                       progress=False, device="cuda"),
                                 private=private)
    entry = history["epochs"][0]
    assert entry["steps"] == 2 and math.isfinite(entry["train_loss"]) and math.isfinite(entry["val_loss"])
    assert history["device"].startswith("cuda") and private.steps == 2
    assert all(torch.isfinite(p).all() for p in private.model.parameters())
    noise = zero_gradient_noise(private)
    assert torch.isfinite(noise).all() and float(noise.std()) > 0


def test_system_random_uniform_lies_in_the_open_unit_interval():
    u = privacy.SystemRandom.uniform(1_000_000)
    assert u.shape == (1_000_000,) and u.dtype == torch.float64
    assert float(u.min()) > 0.0 and float(u.max()) < 1.0
    # generous bounds (the sample mean's sd is 0.0003, the variance's about 0.00009)
    assert abs(float(u.mean()) - 0.5) < 0.005 and abs(float(u.var()) - 1 / 12) < 0.002
    assert len(torch.unique(u[:1000])) == 1000  # 53 random bits each: no repeats
    assert not torch.equal(privacy.SystemRandom.uniform(16), privacy.SystemRandom.uniform(16))


def test_system_random_normal_has_the_right_mean_and_deviation():
    """One million draws: the mean within 0.01 sd of 0 (its own sd is 0.001 sd), the
    standard deviation within 1% (its sd is 0.07%), and the Gaussian's share within one
    sd (68.3%, its sd 0.05%) within one point: bounds over ten of their own standard
    deviations, so the test cannot flake, yet a wrong scale or shape fails it."""
    std, n = 0.35, 1_000_000
    draws = privacy.SystemRandom.normal(torch.Size([1000, 1000]), std, torch.device("cpu"), torch.float32)
    assert draws.shape == (1000, 1000) and draws.dtype == torch.float32 and draws.device.type == "cpu"
    x = draws.double().reshape(-1)
    assert x.numel() == n
    assert abs(float(x.mean())) < 0.01 * std
    assert abs(float(x.std()) / std - 1) < 0.01
    inside = float((x.abs() < std).double().mean())
    assert abs(inside - (stats.norm.cdf(1) - stats.norm.cdf(-1))) < 0.01
    scalar = privacy.SystemRandom.normal(torch.Size([]), 1.0, torch.device("cpu"), torch.float64)
    assert scalar.shape == () and math.isfinite(float(scalar))


def test_secure_mode_draws_batches_and_noise_from_the_system():
    """``secure_mode=True``: the Poisson batches come from :class:`privacy.SecurePoissonSampler`
    and the noise from :class:`privacy.SystemRandom` -- two runs with the same seed draw
    different noise, where seeded runs draw the same --, nothing is seeded, and the noise
    still has standard deviation sigma * C."""
    sigma, bound = 0.7, 0.5
    secure = [setup(noise_multiplier=sigma, max_grad_norm=bound, secure_mode=True, seed=5) for _ in range(2)]
    for private in secure:
        assert isinstance(private.loader.batch_sampler, privacy.SecurePoissonSampler)
        assert private.settings.seed is None and private.settings.secure_mode
        assert private.optimizer.generator is None
    noise = [zero_gradient_noise(private, steps=3) for private in secure]
    assert not torch.equal(noise[0], noise[1])
    seeded = [setup(noise_multiplier=sigma, max_grad_norm=bound, seed=5) for _ in range(2)]
    assert all(not p.settings.secure_mode and p.settings.seed == 5 for p in seeded)
    assert torch.equal(zero_gradient_noise(seeded[0]), zero_gradient_noise(seeded[1]))
    x = torch.cat(noise).double()
    assert x.numel() > 20_000
    assert abs(float(x.std()) / (sigma * bound) - 1) < 0.05  # sd of the estimate: 0.5%
    assert abs(float(x.mean())) < 0.05 * sigma * bound
    assert secure[0].steps == secure[1].steps == 3  # secure noisy steps are accounted too
    # the sampler: as many batches as Opacus' per epoch, Poisson-sized, different each pass
    sampler = secure[0].loader.batch_sampler
    assert len(sampler) == secure[0].settings.steps_per_epoch == 6
    passes = [[list(b) for b in sampler] for _ in range(200)]
    sizes = torch.tensor([len(b) for batches in passes for b in batches], dtype=torch.float64)
    assert all(len(batches) == 6 for batches in passes)
    assert abs(float(sizes.mean()) - 4.0) < 0.5  # q n = 4; sd of the mean 0.06
    assert len(set(sizes.tolist())) > 3 and passes[0] != passes[1]
    assert all(0 <= i < 24 for batches in passes for b in batches for i in b)


def test_secure_mode_training_run(tmp_path):
    """A whole private run in secure mode: trains, records ``secure_mode: true`` and no
    seed in privacy.json, and its epsilon is the accountant's for its (q, sigma, steps)."""
    private = setup(target_epsilon=3.0, noise_multiplier=None, epochs=2, batch_size=6, secure_mode=True)
    history = quiet_train(private, epochs=2)
    assert [e["steps"] for e in history["epochs"]] == [4, 4]
    assert all(math.isfinite(e["train_loss"]) and 0 <= e["clipped_fraction"] <= 1 for e in history["epochs"])
    record = json.loads(private.save(tmp_path).read_text())
    assert record["secure_mode"] is True and record["seed"] is None and record["sampler"] == "poisson"
    assert record["steps"] == 8 and record["epsilon"] <= 3.0 + 1e-6
    assert record["epsilon"] == history["epochs"][-1]["epsilon"] == privacy.compute_epsilon(
        record["sample_rate"], record["noise_multiplier"], record["steps"], record["delta"], record["accountant"])
