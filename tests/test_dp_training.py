"""lib.dp_training: private models on a run's splits, their privacy.json, reuse, the grid
and the chapter's tables. Tiny sizes, real DP-SGD steps."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from conftest import make_small_run

from lib import dp_training as dpt, experiment as ex, models, privacy, profiles
from lib import tokenization as tk

PRIVACY_KEYS = {"epsilon", "target_epsilon", "delta", "sample_rate", "noise_multiplier", "steps", "epochs",
                "max_grad_norm", "accountant", "sampler"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_small_run(tmp_path_factory.mktemp("dp"), seed=4, n_sites=30, samples_per_population=12,
                          public_fraction=0.15)


@pytest.fixture(scope="module")
def settings():
    return profiles.resolve("smoke", model_n_layer=1, model_n_embd=16, model_block_size=128, train_epochs=2,
                            train_batch_size=6, dp_accountant="rdp")


@pytest.mark.parametrize("family", ["mingpt", "gpt2"])
def test_private_model_records_what_it_spent(run, settings, family):
    model, history, directory, record = dpt.train_private(run, family, 8.0, settings, seed=1)
    assert directory == run / "models" / f"{family}-eps8"
    on_disk = json.loads((directory / privacy.PRIVACY_JSON).read_text())
    assert PRIVACY_KEYS <= set(on_disk) and on_disk == json.loads(json.dumps(record))
    assert record["sampler"] == "poisson" and record["target_epsilon"] == 8.0
    assert record["delta"] == settings["dp_delta"] and record["max_grad_norm"] == settings["dp_max_grad_norm"]
    assert record["steps"] == sum(e["steps"] for e in history["epochs"])
    shared = dpt.shared_settings(settings, record["n_train"])  # what the chapter's table shows
    assert shared["sample_rate"] == record["sample_rate"] and shared["steps"] == record["steps"]
    expected = privacy.compute_epsilon(record["sample_rate"], record["noise_multiplier"], record["steps"],
                                       record["delta"], record["accountant"])
    assert record["epsilon"] == pytest.approx(expected, rel=1e-9) and record["epsilon"] <= 8.0 + 1e-6
    assert all(math.isfinite(e["train_loss"]) and 0 <= e["clipped_fraction"] <= 1 for e in history["epochs"])
    assert history["epochs"][-1]["epsilon"] == pytest.approx(record["epsilon"], rel=1e-9)
    # reused, not retrained, when nothing changed
    stamp = (directory / "model.safetensors").stat().st_mtime_ns
    dpt.train_private(run, family, 8.0, settings, seed=1)
    assert (directory / "model.safetensors").stat().st_mtime_ns == stamp


def test_gpt2_fine_tunes_privately_from_a_saved_base(run, settings, tmp_path):
    """A base loaded with from_pretrained comes back in eval mode; private set-up still works."""
    base = ex.public_base(run, tk.load(run, "variant"), settings, seed=1)
    model, history, directory, record = dpt.train_private(run, "gpt2", 4.0, settings, seed=1, base_model=base)
    assert record["epsilon"] <= 4.0 + 1e-6 and math.isfinite(history["epochs"][-1]["train_loss"])


def test_grid_shares_everything_but_the_noise(run, settings):
    trained = dpt.train_grid(run, "mingpt", [float("inf"), 8.0, 2.0], settings, seed=1)
    assert list(trained) == ["mingpt-epsinf", "mingpt-eps8", "mingpt-eps2"]
    assert trained["mingpt-epsinf"]["privacy"] is None
    sizes = {name: item["model"].config.n_embd for name, item in trained.items()}
    assert len(set(sizes.values())) == 1  # one architecture for every epsilon
    r8, r2 = trained["mingpt-eps8"]["privacy"], trained["mingpt-eps2"]["privacy"]
    assert r8["sample_rate"] == r2["sample_rate"] and r8["max_grad_norm"] == r2["max_grad_norm"]
    assert r2["noise_multiplier"] > r8["noise_multiplier"]  # more privacy, more noise
    epochs = dpt.epoch_frame(trained)
    assert set(epochs["epsilon"]) == {"∞", "8", "2"}
    assert epochs.loc[epochs["epsilon"] == "∞", "epsilon_spent"].isna().all()
    summary = dpt.summary_frame(trained)
    assert summary.set_index("model").loc["mingpt-eps2", "noise_multiplier"] == r2["noise_multiplier"]
    # the noise of one step against the largest signal: sigma sqrt(d) / (q n), more for less epsilon
    rows = summary.set_index("model")
    d = models.num_parameters(trained["mingpt-eps2"]["model"])
    assert rows.loc["mingpt-eps2", "parameters"] == d == rows.loc["mingpt-epsinf", "parameters"]
    assert rows.loc["mingpt-eps2", "noise_to_signal"] == pytest.approx(
        r2["noise_multiplier"] * d ** 0.5 / (r2["sample_rate"] * r2["n_train"]))
    assert rows.loc["mingpt-eps2", "noise_to_signal"] > rows.loc["mingpt-eps8", "noise_to_signal"]
    assert pd.isna(rows.loc["mingpt-epsinf", "noise_to_signal"])


def test_impossible_epsilon_is_refused_before_training(run, settings):
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="epsilon"):
            dpt.train_private(run, "mingpt", bad, settings)
    with pytest.raises(ValueError, match="delta"):
        dpt.train_private(run, "mingpt", 3.0, dict(settings, dp_delta=0.5))
    assert not (run / "models" / "mingpt-eps3").exists()
    assert ex.eps_text(8.0) == "8" and ex.eps_text(0.5) == "0.5" and ex.eps_text("inf") == "inf"
