"""Helpers for tests that build the dbt project."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from sqlrec import pipeline


def build_into(database: Path, lake: Path, monkeypatch, **kwargs) -> None:
    """`dbt build` of the lake into a given DuckDB file."""
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    pipeline.build(lake, quiet=True, **kwargs)


def read_table(database: Path, name: str, order_by: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(f"select * from {name} order by {order_by}").df()
