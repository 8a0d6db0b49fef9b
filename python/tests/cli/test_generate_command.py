"""`sqlrec generate` on the command line: what it writes and prints, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlrec.cli import main

from helpers import partition_files, read_partitions, tree_bytes


def cli_args(out: Path, *extra: str) -> list[str]:
    return ["generate", "--users", "100", "--items", "60", "--events", "1500", "--days", "3",
            "--seed", "5", "--out", str(out), "--quiet", *extra]


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
