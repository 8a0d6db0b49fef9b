"""Helpers for tests that build the dbt project."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import warnings
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sqlrec import pipeline


def build_into(database: Path, lake: Path, monkeypatch, **kwargs) -> None:
    """`dbt build` of the lake into a given DuckDB file."""
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    pipeline.build(lake, quiet=True, **kwargs)


def read_table(database: Path, name: str, order_by: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(f"select * from {name} order by {order_by}").df()


SKIP_TRINO = os.environ.get("SQLREC_SKIP_TRINO") == "1"


def skip_trino_loudly(request, what: str) -> None:
    """With SQLREC_SKIP_TRINO=1, skip — but never silently: a banner straight to the terminal,
    a warning in the summary, and the reason on every skipped test."""
    message = (f"SQLREC_SKIP_TRINO=1: {what} were SKIPPED -- the Trino engine is UNTESTED "
               "in this run")
    warnings.warn(message, stacklevel=2)
    banner = f"\n{'!' * 100}\n{message}\n{'!' * 100}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(banner, file=sys.stderr, flush=True)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
