"""The run directory as one object (:class:`lib.runs.run.Run`): where things live, what
the run holds, its tables read back typed, its manifest; a path-like object the concern
packages take as a path."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from lib.core import rundir
from lib.runs.run import TABLES, Run


def test_a_run_is_a_path_and_says_where_each_artefact_lives(tmp_path):
    run = Run.at(tmp_path / "r", "smoke")
    assert Run.of(run) is run and Run.of(str(run)) == run and os.fspath(run) == str(tmp_path / "r")
    assert all((tmp_path / "r" / area).is_dir() for area in rundir.SUBDIRS)
    assert run.model_dir("mingpt-eps8") == tmp_path / "r" / "models" / "mingpt-eps8"
    assert run.history_path("m") == tmp_path / "r" / "diagnostics" / "m" / "history.json"
    assert run.diagnostic_model_dir("ref") == tmp_path / "r" / "diagnostics" / "models" / "ref"
    assert run.synthetic_paths("c")["vcf"] == tmp_path / "r" / "synthetic" / "c.vcf.gz"
    assert run.cohort_paths()["panel"] == tmp_path / "r" / "cohort" / "panel.json"
    assert run.data_diagnostics_paths()["coverage"] == tmp_path / "r" / "diagnostics" / "panel_coverage.csv"
    assert run.metrics_path("05_utility") == tmp_path / "r" / "metrics" / "05_utility.csv"
    assert run.notebook_path("01_data") == tmp_path / "r" / "notebooks" / "01_data.ipynb"
    with pytest.raises(ValueError, match="'weights': not an area"):
        run.area("weights")
    rundir.write_json(run.model_dir("a") / "x.json", {})  # a concern function takes the Run as a path
    assert rundir.read_json(os.path.join(run, "models", "a", "x.json")) == {}


def test_it_lists_its_models_and_cohorts(tmp_path):
    run = Run(tmp_path / "r")
    assert run.models() == [] and run.cohorts() == []  # not even created yet
    for name in ("mingpt-eps8-1", "mingpt-eps8", "sites-eps1"):
        run.model_dir(name).mkdir(parents=True)
    (run.area("models") / "stray.txt").write_text("not a model")
    run.area("synthetic").mkdir()
    for name in ("b", "a-unconstrained"):
        run.synthetic_paths(name)["vcf"].write_bytes(b"")
    run.synthetic_paths("a")["profiles"].write_text("")
    assert run.models() == ["mingpt-eps8", "mingpt-eps8-1", "sites-eps1"]
    assert run.models("sites-eps*") == ["sites-eps1"]
    assert run.cohorts() == ["a-unconstrained", "b"]


def test_tables_read_back_with_their_types(tmp_path):
    run = Run.at(tmp_path / "r", "smoke")
    frame = pd.DataFrame({"audit run": ["a", "b"], "family": ["mingpt", "gpt2"], "eps": ["8", ""],
                          "guesses (right / made)": ["3 / 4", "0 / 0"], "epsilon": [8.0, None], "primary": [True, False]})
    with pytest.raises(FileNotFoundError, match="06_audit.csv: missing; run the privacy \\(06\\) chapter"):
        run.table("06_audit")
    frame.to_csv(run.metrics_path("06_audit"), index=False)
    read = run.table("06_audit")
    assert read["eps"].tolist() == ["8", ""] and read["primary"].dtype == bool
    assert read["epsilon"].iloc[0] == 8.0 and pd.isna(read["epsilon"].iloc[1])
    with pytest.raises(KeyError, match="no such table"):
        run.table("99_nothing")
    assert {"05_utility", "05_utility_seeds", "06_privacy", "06_privacy_seeds", "06_audit"} <= set(TABLES)


def test_records_keep_paths_relative_so_a_moved_run_is_still_current(tmp_path):
    run = Run.at(tmp_path / "r", "smoke")
    path = run.metrics_path("x")
    path.write_text("1\n")
    params = {"base": run.relative(run.model_dir("gpt2-public-base")), "seed": 0}
    assert params["base"] == "models/gpt2-public-base" and run.relative("/elsewhere/m") == "/elsewhere/m"
    assert not run.is_current(params, [path])
    run.record("05_utility", params, [path])
    assert run.is_current(params, [path]) and not run.is_current({**params, "seed": 1}, [path])
    assert run.manifest()["artefacts"]["metrics/x.csv"]["chapter"] == "05_utility"
    moved = Run(tmp_path / "moved")
    os.rename(run.path, moved.path)
    assert moved.relative(moved.model_dir("gpt2-public-base")) == params["base"]
    assert moved.is_current(params, [moved.metrics_path("x")])
