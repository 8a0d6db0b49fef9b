"""The one search space: named as the parameters file names things, its defaults the project's,
each inside its dimension, and a trial's values the parameters file itself."""

from __future__ import annotations

import dataclasses

import pytest

from sqlrec import project
from sqlrec.evaluation import space
from sqlrec.recommend.params import AlsParams, EaseParams


def test_every_dimension_is_a_dbt_var_or_a_model_parameter():
    declared = project.dbt_var_defaults()
    fields = {"als": {each.name for each in dataclasses.fields(AlsParams)},
              "ease": {each.name for each in dataclasses.fields(EaseParams)}}
    for dimension in space.SPACE:
        if dimension.section == "dbt_vars":
            assert dimension.name in declared
        else:
            assert dimension.name in fields[dimension.section]
    assert len(space.BY_KEY) == len(space.SPACE)


@pytest.mark.parametrize("dimension", space.SPACE, ids=lambda dimension: dimension.key)
def test_the_default_is_the_projects_and_lies_inside_its_dimension(dimension):
    default = dimension.default()
    assert dimension.contains(default)
    if dimension.section == "dbt_vars":
        assert default == project.dbt_var_defaults()[dimension.name]


def test_the_conditions_read_earlier_dimensions():
    seen = set()
    for dimension in space.SPACE:
        if dimension.when:
            assert dimension.when[0] in seen
            assert dimension.when[1] in space.BY_KEY[dimension.when[0]].choices
        seen.add(dimension.key)


def test_a_trials_values_are_the_parameters_file():
    values = {"similarity": "asymmetric_cosine", "asymmetric_cosine_alpha": 0.3,
              "rp3beta_alpha": 0.9, "blend_als_weight": 0.0, "als_alpha": 3.0,
              "ease_regularization_factor": 4.0}
    params = space.pipeline_params(values, seed=5)
    # an inactive knob (rp3beta's, for asymmetric cosine) is no part of the file
    assert "rp3beta_alpha" not in params.dbt_vars
    assert params.dbt_vars["asymmetric_cosine_alpha"] == 0.3
    assert params.dbt_vars["blend_als_weight"] == 0.0
    assert params.dbt_vars["half_life_days"] == project.dbt_var_defaults()["half_life_days"]
    assert (params.als.alpha, params.als.random_state) == (3.0, 5)
    assert params.als.factors == AlsParams().factors
    assert params.ease.regularization_factor == 4.0


def test_the_defaults_are_the_default_pipeline():
    params = space.pipeline_params(space.defaults(), seed=AlsParams().random_state)
    declared = project.dbt_var_defaults()
    assert all(declared[name] == value for name, value in params.dbt_vars.items())
    # the ALS and EASE parameters resolve as the unset ones do
    assert params.als.resolved(1000).regularization == AlsParams().resolved(1000).regularization
    assert params.ease.regularization_factor == 1.0 and EaseParams().regularization_factor is None
