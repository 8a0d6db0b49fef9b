"""The parameters file `sqlrec tune` writes and `sqlrec train` reads."""

from __future__ import annotations

import json

from sqlrec.recommend.params import AlsParams, default_params_path, load_params, save_params


def test_params_round_trip(tmp_path):
    path = tmp_path / "params.json"
    saved = AlsParams(factors=32, regularization=0.5, alpha=3.0, iterations=9,
                      half_life_days=45.0)
    save_params(saved, path, tuned={"trials": 3})

    loaded, source = load_params(path)
    assert loaded == saved and source == path
    assert json.loads(path.read_text())["tuned"] == {"trials": 3}
    assert load_params(tmp_path / "absent.json") == (AlsParams(), None)


def test_the_default_file_is_sqlrec_als_params_or_the_projects(tmp_path, monkeypatch):
    monkeypatch.delenv("SQLREC_ALS_PARAMS", raising=False)
    project = default_params_path().parents[1]
    assert default_params_path() == project / "data" / "als_params.json"
    assert (project / "dbt_project.yml").is_file()
    monkeypatch.setenv("SQLREC_ALS_PARAMS", str(tmp_path / "mine.json"))
    assert default_params_path() == tmp_path / "mine.json"
