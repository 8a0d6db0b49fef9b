"""Where things live: the project, the lake's dbt vars, the default lake and target."""

from __future__ import annotations

import pytest

from sqlrec import project
from sqlrec.errors import UserError

from helpers import PROJECT_DIR


def test_lake_vars_point_at_the_contract_layout(tmp_path):
    assert project.lake_vars(tmp_path) == {
        "events_path": str(tmp_path.resolve() / "events" / "*" / "*.parquet"),
        "catalog_path": str(tmp_path.resolve() / "catalog" / "*.parquet"),
    }


def test_defaults_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SQLREC_LAKE", raising=False)
    monkeypatch.delenv("SQLREC_PROJECT_DIR", raising=False)
    assert project.project_dir() == PROJECT_DIR
    assert project.default_lake_dir() == PROJECT_DIR / "data" / "lake"
    monkeypatch.setenv("SQLREC_LAKE", str(tmp_path / "lake"))
    assert project.default_lake_dir() == tmp_path / "lake"
    assert project.active_target() == "duckdb"  # conftest's isolated profile sets it
    monkeypatch.setenv("SQLREC_TARGET", "trino")
    assert project.active_target() == "trino"


def test_a_project_dir_without_dbt_project_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(tmp_path))
    with pytest.raises(UserError, match="no dbt_project.yml in"):
        project.project_dir()
