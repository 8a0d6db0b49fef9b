"""The parameters file `sqlrec tune` writes and `sqlrec build`, `train` and `refresh` read."""

from __future__ import annotations

import json

import pytest

from sqlrec.errors import UserError
from sqlrec.recommend.params import (
    AlsParams,
    EaseParams,
    PipelineParams,
    default_params_path,
    load_params,
    save_params,
)


def test_params_round_trip(tmp_path):
    path = tmp_path / "params.json"
    saved = PipelineParams(dbt_vars={"similarity": "cosine", "half_life_days": 45.0},
                           als=AlsParams(factors=32, regularization=0.5, alpha=3.0, iterations=9),
                           ease=EaseParams(regularization=250.0), tuned={"trials": 3})
    save_params(saved, path)

    loaded, source = load_params(path)
    assert loaded == saved and source == path
    assert json.loads(path.read_text())["dbt_vars"]["similarity"] == "cosine"
    assert load_params(tmp_path / "absent.json") == (PipelineParams(), None)


def test_a_partial_file_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"als": {"factors": 16}}')
    loaded, _ = load_params(path)
    assert loaded.als == AlsParams(factors=16) and loaded.ease == EaseParams()
    assert loaded.dbt_vars == {}


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "is not valid JSON"),
    ('{"als": {"factor": 3}}', "unknown als parameter(s) factor"),
    ('{"dbt_vars": [1]}', "'dbt_vars' must be an object"),
    ("[1, 2]", "expected an object"),
])
def test_a_bad_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "params.json"
    path.write_text(text)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_params(path)


def test_the_default_file_is_sqlrec_params_or_the_projects(tmp_path, monkeypatch):
    monkeypatch.delenv("SQLREC_PARAMS", raising=False)
    project = default_params_path().parents[1]
    assert default_params_path() == project / "data" / "params.json"
    assert (project / "dbt_project.yml").is_file()
    monkeypatch.setenv("SQLREC_PARAMS", str(tmp_path / "mine.json"))
    assert default_params_path() == tmp_path / "mine.json"


def test_unset_regularisation_scales_with_the_scores():
    assert AlsParams().resolved(10_000).regularization == pytest.approx(2.0)
    assert AlsParams(regularization=0.1).resolved(10_000).regularization == 0.1
