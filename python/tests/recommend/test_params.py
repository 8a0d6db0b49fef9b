"""The parameters file `sqlrec tune` writes and `sqlrec build`, `train` and `refresh` read."""

from __future__ import annotations

import json
import re

import pytest

from sqlrec.errors import UserError
from sqlrec.recommend.params import (
    AlsParams,
    EaseParams,
    PipelineParams,
    default_params_path,
    lake_mismatch,
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
    ('{"als": {"factor": 3}}', "unknown key als.factor (did you mean factors?)"),
    ('{"dbt_vars": [1]}', "'dbt_vars' must be an object"),
    ("[1, 2]", "expected an object"),
])
def test_a_bad_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "params.json"
    path.write_text(text)
    with pytest.raises(UserError, match=re.escape(message)):
        load_params(path)


# (the file's text, the one line that says what is wrong with it, after "<path>: ")
BAD_VALUES = [
    ('{"als": {"factors": "abc"}}', 'als.factors is "abc"; it must be an integer >= 1'),
    ('{"als": {"factors": 0}}', "als.factors is 0; it must be an integer >= 1"),
    ('{"als": {"factors": true}}', "als.factors is true; it must be an integer >= 1"),
    ('{"als": {"random_state": "x"}}',
     'als.random_state is "x"; it must be an integer from 0 to 4294967295'),
    ('{"als": {"alpha": -5}}', "als.alpha is -5; it must be a number > 0"),
    ('{"als": {"iterations": -1}}', "als.iterations is -1; it must be an integer >= 1"),
    ('{"als": {"regularization": "x"}}',
     'als.regularization is "x"; it must be null (2e-4 per score) or a number > 0'),
    ('{"ease": {"memory_gb": -1}}', "ease.memory_gb is -1; it must be a number > 0"),
    ('{"ease": {"regularization": 0}}',
     "ease.regularization is 0; it must be null (the default rule) or a number > 0"),
    ('{"ease": {"memory_gb": NaN}}', "ease.memory_gb is NaN; it must be a number > 0"),
    ('{"dbt_var": {"top_k": 5}}', "unknown key dbt_var (did you mean dbt_vars?)"),
    ('{"alss": {"factors": 8}}', "unknown key alss (did you mean als?)"),
    ('{"dbt_vars": {"simlarity": "cosine"}}',
     "unknown dbt var dbt_vars.simlarity (did you mean similarity?)"),
    ('{"dbt_vars": {"top_kk": 5}}', "unknown dbt var dbt_vars.top_kk (did you mean top_k?)"),
    ('{"ease": {"lambda": 5}}', "unknown key ease.lambda; known: memory_gb, regularization, "
     "regularization_factor"),
    ('{"tuned": 3}', "'tuned' must be an object or null, got 3"),
    ('{"als": {"regularization_per_score": -1}}',
     "als.regularization_per_score is -1; it must be null (2e-4) or a number > 0"),
    ('{"dbt_vars": {"events_path": "/elsewhere/events/*/*.parquet"}}',
     "dbt_vars.events_path names a lake, which --lake (or SQLREC_LAKE) chooses; remove it from "
     "the file"),
    ('{"lake": "demo"}', "'lake' must be an object or null, got \"demo\""),
]


@pytest.mark.parametrize(("text", "message"), BAD_VALUES)
def test_a_bad_value_or_key_is_one_line_naming_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "params.json"
    path.write_text(text)
    with pytest.raises(UserError) as failure:
        load_params(path)
    assert str(failure.value) == f"{path}: {message}"


def test_the_parameters_are_checked_wherever_they_are_made():
    # what `sqlrec train --factors 0` and tune's trials go through too
    with pytest.raises(UserError, match="factors is 0; it must be an integer >= 1"):
        AlsParams().with_overrides(factors=0)
    with pytest.raises(UserError, match="memory_gb is -1.0; it must be a number > 0"):
        EaseParams(memory_gb=-1.0)
    assert AlsParams(regularization=2).regularization == 2.0  # an integer is a number


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


def test_regularisation_relative_to_the_data_is_resolved_on_the_matrix_it_trains():
    assert AlsParams(regularization_per_score=1e-3).resolved(10_000).regularization == \
        pytest.approx(10.0)
    # an absolute value (--regularization) wins over the file's per-score one
    assert AlsParams(regularization=0.5, regularization_per_score=1e-3).resolved(
        10_000).regularization == 0.5
    assert AlsParams(regularization_per_score=1e-3).with_overrides(
        regularization=0.5).resolved(10_000).regularization == 0.5


def test_a_file_tuned_on_another_lake_says_so(tmp_path):
    demo, other = tmp_path / "demo", tmp_path / "other"
    demo.mkdir()
    other.mkdir()
    params = PipelineParams(lake={"path": str(demo), "events": 120_000, "users": 3_000,
                                  "items": 800})
    source = tmp_path / "params.json"
    warning = lake_mismatch(params, source, other)
    assert warning == (f"warning: {source} was tuned on {demo} (120,000 events, 3,000 users, "
                       f"800 items), not on {other}; its parameters may not suit it "
                       "(`sqlrec tune` on it writes its own)")
    assert lake_mismatch(params, source, demo / ".." / "demo") is None  # the same folder
    assert lake_mismatch(PipelineParams(), source, other) is None  # nothing recorded
