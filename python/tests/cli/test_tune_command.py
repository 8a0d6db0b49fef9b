"""`sqlrec tune`: it runs the trials it is asked for, says so, and `--movielens` never overwrites
the lake's parameters file (needs the recbole wheel for MovieLens-100k)."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402

import pytest  # noqa: E402

from sqlrec import cli  # noqa: E402
from sqlrec.data import movielens  # noqa: E402
from sqlrec.recommend.params import load_params  # noqa: E402

from helpers import PROJECT_DIR  # noqa: E402

# a tuning on MovieLens
pytestmark = pytest.mark.slow


@pytest.mark.skipif(movielens.ratings_path() is None,
                    reason=f"MovieLens-100k comes with the recbole wheel: "
                           f"`{movielens.INSTALL_HINT}`")
def test_tune_movielens_runs_one_trial_and_leaves_the_lakes_params_alone(tmp_path, monkeypatch,
                                                                        capsys):
    project = tmp_path / "project"  # a project folder of its own: tune writes into its data/
    project.mkdir()
    shutil.copy(PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")  # the knobs
    shutil.copytree(PROJECT_DIR / "seeds", project / "seeds")  # the event weights
    lake_params = tmp_path / "params.json"
    lake_params.write_text(json.dumps({"dbt_vars": {"half_life_days": 7.0}}))
    before = lake_params.read_bytes()
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(project))
    monkeypatch.setenv("SQLREC_PARAMS", str(lake_params))

    assert cli.main(["tune", "--movielens", "--trials", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out

    assert re.search(r"best of 1 trials on movielens-100k", printed), printed
    saved = project / "data" / "params-movielens-100k.json"
    assert f"saved to {saved}" in printed
    params, _ = load_params(saved)
    assert params.tuned["trials"] == 1 and params.tuned["dataset"] == "movielens-100k"
    assert lake_params.read_bytes() == before  # the lake's file is untouched
