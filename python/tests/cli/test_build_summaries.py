"""What `sqlrec build` and `sqlrec refresh` say about the lake, under --quiet too: the events
rejected by reason and the rows written, the quality gate's advice, and a lake that breaks the
input contract in one line. Each test builds a lake written by hand, small enough that what
the build writes can be worked out on paper."""

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


@pytest.fixture
def two_rejected_lake(tmp_path) -> Path:
    """u1 and u2 view i1 and i2, u3 views i1; one row has no user, one an unknown type."""
    lake = tmp_path / "lake"
    write_events(lake, user_id=["u1", "u1", "u2", "u2", "u3", None, "u3"],
                 item_id=["i1", "i2", "i1", "i2", "i1", "i1", "i2"],
                 event_type=["view"] * 6 + ["click"], event_time=[TIME] * 7)
    return lake


# What that lake gives, by hand: 5 valid events. i1 and i2 share two users (min_common_users 2):
# one pair, two rows of item_similarity. No catalogue, so the global popularity list only (i1,
# i2). Five (user, recent item) rows. u1 and u2 know both items; u3 gets i2 (viewed with i1),
# and nothing else is left to recommend: one row of user_recommendations.
EVENTS_LINE = ("events: 5 valid, 2 rejected (missing_user_id 1, unknown_event_type 1; the rows "
               "are in events_rejected)")
ROWS_LINE = ("rows written: item_similarity 2, popular_items 2, user_recent_items 5, "
             "user_recommendations 1")


def test_a_quiet_build_still_says_what_was_rejected_and_written(two_rejected_lake, capsys):
    assert cli.main(["build", "--lake", str(two_rejected_lake), "--quiet"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [f"sqlrec build: {EVENTS_LINE}", f"sqlrec build: {ROWS_LINE}"]
    assert printed[2].startswith(f"sqlrec build: built {two_rejected_lake} in ")
    assert len(printed) == 3


def test_a_quiet_refresh_says_it_for_each_build(two_rejected_lake, tmp_path, monkeypatch,
                                                capsys):
    monkeypatch.setenv("SQLREC_PARAMS", str(tmp_path / "absent.json"))
    assert cli.main(["refresh", "--lake", str(two_rejected_lake), "--quiet",
                     "--model", "ease"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [f"sqlrec refresh: {EVENTS_LINE}", f"sqlrec refresh: {ROWS_LINE}"]
    assert printed[2].startswith("sqlrec train: EASE wrote ")
    # the blend's build writes user_recommendations again: still u3's i2 alone
    assert printed[3] == "sqlrec refresh: rows written: user_recommendations 1"
    assert printed[4].startswith(f"sqlrec refresh: built, trained and blended {two_rejected_lake}")


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
