"""`connect()` picks the adapter by the profile's type of the target, not by the target's name."""

from __future__ import annotations

import pytest

from sqlrec import warehouse
from sqlrec.errors import UserError
from sqlrec.warehouse.duckdb import DuckDBWarehouse

from helpers import PROJECT_DIR


def write_profile(folder, outputs: str) -> None:
    (folder / "profiles.yml").write_text(f"sqlrec:\n  target: other\n  outputs:\n{outputs}")


def test_a_duckdb_target_of_any_name_is_duckdb(monkeypatch, tmp_path):
    write_profile(tmp_path, "    other:\n      type: duckdb\n      path: x.duckdb\n"
                  "    absolute:\n      type: duckdb\n"
                  "      path: \"{{ env_var('ELSEWHERE') }}/y.duckdb\"\n      schema: other\n")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path))
    monkeypatch.setenv("ELSEWHERE", str(tmp_path))

    relative = warehouse.connect("other")
    assert isinstance(relative, DuckDBWarehouse)
    # a relative path counts from the project, where dbt runs
    assert (relative.path, relative.schema, relative.target) == (
        PROJECT_DIR / "x.duckdb", "main", "other")
    absolute = warehouse.connect("absolute")
    assert (absolute.path, absolute.schema) == (tmp_path / "y.duckdb", "other")
    assert absolute.write_build_marker() == tmp_path / "y.duckdb.built"
    assert absolute.read_build_marker().target == "absolute"


def test_the_shipped_profile_reads_sqlrec_duckdb_path(monkeypatch, tmp_path):
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(tmp_path / "mine.duckdb"))
    assert warehouse.connect().path == tmp_path / "mine.duckdb"
    monkeypatch.delenv("SQLREC_DUCKDB_PATH")
    assert warehouse.connect("duckdb").path == PROJECT_DIR / "data" / "sqlrec.duckdb"


def test_a_target_that_is_neither_duckdb_nor_trino_is_refused(monkeypatch, tmp_path):
    write_profile(tmp_path, "    other:\n      type: postgres\n      host: x\n")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path))
    with pytest.raises(UserError, match="target 'other' of the dbt profile is 'postgres'"):
        warehouse.connect("other")
    with pytest.raises(UserError, match="cannot read target 'missing'"):
        warehouse.connect("missing")
