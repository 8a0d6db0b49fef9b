"""Shared fixtures: generated lakes and isolated dbt builds into temporary DuckDB files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated_profile(tmp_path_factory, monkeypatch):
    """Every test uses the shipped example profile and a DuckDB file of its own."""
    profiles = tmp_path_factory.mktemp("profiles")
    shutil.copyfile(PROJECT_DIR / "profiles" / "profiles.yml", profiles / "profiles.yml")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    monkeypatch.setenv("SQLREC_TARGET", "duckdb")
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(profiles / "sqlrec.duckdb"))


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory) -> Path:
    """A small generated lake with a catalogue: a few seconds to build."""
    from sqlrec.data.generate import generate_lake

    lake = tmp_path_factory.mktemp("lake")
    generate_lake(lake, users=1_500, items=400, events=40_000, days=12, seed=7, overwrite=True)
    return lake

