"""What `sqlrec build` says about the lake: the quality gate's advice, and a lake that breaks the
input contract in one line. Each test builds a lake written by hand."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlrec import cli

# every test runs dbt
pytestmark = pytest.mark.slow

TIME = "2026-10-01 10:00:00"


def write_events(lake: Path, name: str = "part-0.parquet", **columns) -> Path:
    path = lake / "events" / "event_date=2026-10-01" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def failed_build(lake: Path, capsys, *options: str) -> str:
    """The one line a failed `sqlrec build` writes to stderr (exit 2)."""
    assert cli.main(["build", "--lake", str(lake), *options]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 1, errors
    assert errors[0].startswith("sqlrec: error: ")
    return errors[0].removeprefix("sqlrec: error: ")


def test_event_files_without_a_row_get_advice_that_fits(tmp_path, capsys):
    lake = tmp_path / "lake"
    write_events(lake, **{name: pa.array([], pa.string())
                          for name in ("user_id", "item_id", "event_type", "event_time")})
    error = failed_build(lake, capsys, "--quiet")
    assert error.startswith("the event files of the lake hold no events")
    # no share of rejected events would let this lake through
    assert "max_rejected_share" not in error and "raise" not in error


def test_a_lake_without_a_valid_event_is_not_told_to_raise_the_share(tmp_path, capsys):
    lake = tmp_path / "lake"
    write_events(lake, user_id=[None, None], item_id=["i1", "i2"], event_type=["view"] * 2,
                 event_time=[TIME] * 2)
    error = failed_build(lake, capsys, "--quiet")
    assert error.startswith("0 of 2 events are valid; rejected by reason: missing_user_id 2.")
    assert "events_rejected" in error
    assert "max_rejected_share" not in error and "raise" not in error


@pytest.mark.parametrize("quiet", [("--quiet",), ()], ids=["quiet", "dbt output shown"])
def test_a_broken_contract_is_one_line_without_dbts_macro_stack(tmp_path, capsys, quiet):
    lake = tmp_path / "lake"
    write_events(lake, "good.parquet", user_id=["u1"], item_id=["i1"], event_type=["view"],
                 event_time=[TIME])
    no_item = write_events(lake, "no-item.parquet", user_id=["u1"], event_type=["view"],
                           event_time=[TIME])
    assert failed_build(lake, capsys, *quiet) == (
        f"the lake does not follow the input contract (nothing was built): {no_item}: no "
        "column item_id (expected user_id, item_id, event_type, event_time [, event_id])")
