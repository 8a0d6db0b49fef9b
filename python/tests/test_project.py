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


def test_without_a_profile_the_shipped_one_is_used_and_nothing_shadows_the_users(tmp_path,
                                                                                monkeypatch):
    """No DBT_PROFILES_DIR and no ~/.dbt profile: sqlrec uses profiles/profiles.yml where it
    is, and writes no profiles.yml into the project (which would shadow ~/.dbt for plain dbt)."""
    monkeypatch.delenv("DBT_PROFILES_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert project.profiles_dir() == project.project_dir() / "profiles"
    assert not (project.project_dir() / "profiles.yml").exists()

    home_profile = tmp_path / ".dbt" / "profiles.yml"
    home_profile.parent.mkdir()
    home_profile.write_text("sqlrec:\n  target: duckdb\n")
    assert project.profiles_dir() == tmp_path / ".dbt"  # the user's own profile wins
