"""`sqlrec generate` on the command line: what it writes and prints, and what it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sqlrec.cli import main

from helpers import PROJECT_DIR, partition_files, read_partitions, tree_bytes


def cli_args(out: Path, *extra: str) -> list[str]:
    # a fixed end date: the lakes compared byte for byte must not depend on the clock
    return ["generate", "--users", "100", "--items", "60", "--events", "1500", "--days", "3",
            "--seed", "5", "--end-date", "2026-03-02", "--out", str(out), "--quiet", *extra]


def test_cli_writes_a_lake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lake"
    assert main(cli_args(out, "--bad-rows", "6", "--end-date", "2025-01-02")) == 0
    printed = capsys.readouterr().out
    assert "1,500 events" in printed and "3 partitions" in printed
    assert [day.isoformat() for day, _ in partition_files(out)] == [
        "2024-12-31", "2025-01-01", "2025-01-02"]
    assert len(read_partitions(out)) == 1506


def test_cli_rejects_bad_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lake"
    assert main([*cli_args(out), "--events", "0"]) == 2
    err = capsys.readouterr().err
    assert "--events" in err and "positive" in err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_cli_rejects_bad_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli_args(tmp_path / "lake", "--end-date", "yesterday")) == 2
    assert "--end-date" in capsys.readouterr().err


def test_cli_protects_existing_directories(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(cli_args(other)) == 2
    err = capsys.readouterr().err
    assert "not a sqlrec lake" in err and "--overwrite" in err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]

    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(cli_args(a_file)) == 2
    assert "not a directory" in capsys.readouterr().err


def test_cli_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lake"
    assert main(cli_args(out)) == 0
    before = tree_bytes(out)
    assert main([*cli_args(out), "--seed", "6"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert tree_bytes(out) == before
    assert main([*cli_args(out), "--seed", "6", "--days", "2", "--overwrite"]) == 0
    after = tree_bytes(out)
    assert after != before
    assert len([name for name in after if name.startswith("events/")]) == 2  # old days gone
    assert main([*cli_args(out), "--overwrite"]) == 0
    assert tree_bytes(out) == before


@pytest.mark.slow
def test_dbt_source_freshness_passes_on_a_lake_generated_with_the_defaults(tmp_path: Path,
                                                                          capsys) -> None:
    """docs/dbt.md runs `dbt source freshness` on the demo lake: a lake generated today without
    --end-date must pass it, not be 'stale' from the start."""
    lake = tmp_path / "lake"
    assert main(["generate", "--users", "50", "--items", "30", "--events", "600", "--days", "2",
                 "--out", str(lake), "--quiet"]) == 0
    freshness = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "source", "freshness", "--vars",
         json.dumps({"events_path": f"{lake}/events/*/*.parquet",
                     "catalog_path": f"{lake}/catalog/*.parquet"})],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
        env={**os.environ, "SQLREC_DUCKDB_PATH": str(tmp_path / "sqlrec.duckdb")})
    assert freshness.returncode == 0, freshness.stdout[-3000:]
    assert "PASS freshness of lake.events" in freshness.stdout, freshness.stdout[-3000:]
