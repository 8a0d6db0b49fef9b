"""A refresh of unchanged inputs does nothing (issue 22, item 4): no dbt, no training, no table
or build marker changed; a changed file, var, parameter or model file makes it a full one."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from sqlrec import cli, warehouse
from sqlrec.errors import UserError
from sqlrec.pipeline import inputs
from sqlrec.pipeline.build import refresh
from sqlrec.recommend.params import AlsParams, EaseParams, PipelineParams
from sqlrec.warehouse.markers import FINISHED, STARTED

from helpers import PROJECT_DIR, SMALL_REFRESH_ALS, copy_database


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def beside(database: Path) -> dict[str, str]:
    """The database and every file beside it that tells its state, each by its content's hash."""
    return {path.name: digest(path) for path in sorted(database.parent.iterdir())
            if path.name.startswith(database.name) and not path.name.endswith(".lock")}


def test_refresh_of_an_unchanged_lake_changes_nothing_and_says_so(small_lake,
                                                                 small_lake_refreshed, tmp_path,
                                                                 monkeypatch, capsys):
    database = copy_database(small_lake_refreshed, tmp_path / "sqlrec.duckdb")
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    monkeypatch.setenv("SQLREC_PARAMS", str(tmp_path / "no-params.json"))
    before = beside(database)
    assert {f"sqlrec.duckdb{suffix}" for suffix in (".built", ".building", ".refreshed")} <= set(
        before)
    files = len(list(small_lake.glob("events/*/*.parquet"))) + len(
        list(small_lake.glob("catalog/*.parquet")))

    started = time.perf_counter()
    # the parameters of the fixture's refresh: SMALL_REFRESH_ALS, every other one the default
    assert cli.main(["refresh", "--lake", str(small_lake), "--quiet",
                     "--factors", str(SMALL_REFRESH_ALS.factors),
                     "--iterations", str(SMALL_REFRESH_ALS.iterations)]) == 0
    seconds = time.perf_counter() - started

    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1
    assert printed[0].startswith("sqlrec refresh: nothing changed since the refresh of ")
    assert f"(lake {small_lake}, {files} files); no model work done" in printed[0]
    # the database (every table), its build markers and the record: byte for byte as they were
    assert beside(database) == before
    assert seconds < 10, f"a refresh that does nothing took {seconds:.1f} s"


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """dbt and training replaced by stand-ins that write a table and mark a finished build as
    dbt's hooks do: what each refresh ran, in order."""
    ran: list[str] = []

    def fake_build(lake, *, store, **kw):
        ran.append("build")
        version = uuid.uuid4().hex
        store.write_build_marker(STARTED, version=version)
        store.write_table("stand_in", pa.table({"build": [len(ran)]}))
        store.write_build_marker(FINISHED, version=version)

    def fake_train_models(store, params, models, **kw):
        ran.append("train")
        return []

    monkeypatch.setattr("sqlrec.pipeline.build.build", fake_build)
    monkeypatch.setattr("sqlrec.recommend.train.train_models", fake_train_models)
    return ran


@pytest.fixture
def lake(small_lake, tmp_path) -> Path:
    """A copy of the small lake (mtimes kept) that a test may touch."""
    return Path(shutil.copytree(small_lake, tmp_path / "lake"))


PARAMS = PipelineParams(als=AlsParams(factors=8, iterations=2))
FULL = ["build", "train", "build"]


def test_a_second_refresh_of_the_same_inputs_runs_nothing(lake, calls):
    first = refresh(lake, PARAMS, quiet=True)
    assert calls == FULL and first.unchanged_since is None
    record = warehouse.connect().read_refresh_record()
    assert record is not None and record.build_version == (
        warehouse.connect().read_build_marker().version)

    second = refresh(lake, PARAMS, quiet=True)
    assert calls == FULL  # nothing more ran
    assert second.unchanged_since == record and second.results == []
    assert second.files == len(list(lake.rglob("*.parquet")))
    # --force refreshes anyway
    assert refresh(lake, PARAMS, quiet=True, force=True).unchanged_since is None
    assert calls == FULL * 2


def touch_a_file(lake: Path, **_) -> dict:
    first = sorted(lake.glob("events/*/*.parquet"))[0]
    stat = first.stat()
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    return {}


def add_a_file(lake: Path, **_) -> dict:
    day = lake / "events" / "event_date=2030-01-01"
    day.mkdir()
    shutil.copyfile(sorted(lake.glob("events/*/*.parquet"))[0], day / "part-00000.parquet")
    return {}


def remove_the_catalogue(lake: Path, **_) -> dict:
    for path in lake.glob("catalog/*.parquet"):
        path.unlink()
    return {}


def build_in_between(lake: Path, **_) -> dict:
    """`sqlrec build` (other vars, say) since the refresh: its tables are no longer the ones
    the inputs give."""
    warehouse.connect().write_build_marker(STARTED, version="later")
    warehouse.connect().write_build_marker(FINISHED, version="later")
    return {}


def build_under_way(lake: Path, **_) -> dict:
    warehouse.connect().write_build_marker(STARTED, version="running-or-failed")
    return {}


CHANGES = {
    "a touched file": touch_a_file,
    "an added file": add_a_file,
    "a removed catalogue": remove_the_catalogue,
    "a dbt var": lambda lake: {"extra_vars": {"half_life_days": 12}},
    "a var of the parameters": lambda lake: {
        "params": dataclasses.replace(PARAMS, dbt_vars={"top_k": 5})},
    "an ALS parameter": lambda lake: {
        "params": dataclasses.replace(PARAMS, als=AlsParams(factors=9, iterations=2))},
    "an EASE parameter": lambda lake: {
        "params": dataclasses.replace(PARAMS, ease=EaseParams(regularization=50.0))},
    "the models": lambda lake: {"models": ("als",)},
    "k": lambda lake: {"k": 7},
    "the device": lambda lake: {"device": "cpu"},
    "a build since": build_in_between,
    "a build that did not finish": build_under_way,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_of_any_input_makes_the_next_refresh_a_full_one(lake, calls, change):
    refresh(lake, PARAMS, quiet=True)
    assert refresh(lake, PARAMS, quiet=True).unchanged_since is not None
    assert calls == FULL
    keywords = {"params": PARAMS, **CHANGES[change](lake)}
    params = keywords.pop("params")

    assert refresh(lake, params, quiet=True, **keywords).unchanged_since is None
    assert calls == FULL * 2
    # and the refresh of the changed inputs is the one the next is compared with
    assert refresh(lake, params, quiet=True, **keywords).unchanged_since is not None
    assert calls == FULL * 2


def test_a_failed_refresh_records_nothing(lake, calls, monkeypatch):
    refresh(lake, PARAMS, quiet=True)
    recorded = warehouse.connect().read_refresh_record()

    def failing_train(*args, **kw):
        raise UserError("training failed")

    monkeypatch.setattr("sqlrec.recommend.train.train_models", failing_train)
    with pytest.raises(UserError):
        refresh(lake, PARAMS, quiet=True, force=True)
    assert warehouse.connect().read_refresh_record() == recorded
    # its first build left a newer build than the recorded one: the next refresh is full
    monkeypatch.setattr("sqlrec.recommend.train.train_models", lambda *args, **kw: [])
    assert refresh(lake, PARAMS, quiet=True).unchanged_since is None


def test_a_change_of_the_project_files_changes_the_fingerprint(tmp_path, monkeypatch):
    copy = tmp_path / "project"
    for name in inputs.PROJECT_INPUTS:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copyfile(source, copy / name)
    monkeypatch.setattr("sqlrec.project.project_dir", lambda: copy)
    before = inputs.project_digest()
    assert inputs.project_digest() == before
    model = sorted((copy / "models").rglob("*.sql"))[0]
    model.write_text(model.read_text() + "\n-- edited\n")
    assert inputs.project_digest() != before
