"""Shared fixtures: generated lakes, builds made once per test run that tests copy, the one local
Trino server, and isolated dbt runs (each test its DuckDB file; each xdist worker its target/)."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import (
    SKIP_TRINO,
    SMALL_REFRESH_ALS,
    build_into,
    copy_database,
    free_port,
    skip_trino_loudly,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """Scheduling on xdist workers. A module-scoped fixture (a build, a pipeline run) is made
    once per worker that runs one of its tests, so the tests that use one stay together on one
    worker. The Trino tests go first: they run one after another on one worker (one server),
    the longest chain of the suite, so it starts at once while the other worker takes the rest."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=lambda item: item.get_closest_marker("trino") is None)


def _uses_a_module_fixture(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        definitions[-1].scope == "module" for definitions in info.name2fixturedefs.values())


@pytest.fixture(scope="session", autouse=True)
def dbt_paths_of_this_worker(tmp_path_factory):
    """dbt writes its manifest, partial-parse cache and logs under target/ and logs/: two xdist
    workers sharing the project's would overwrite each other's, so each gets its own."""
    folder = tmp_path_factory.mktemp("dbt")
    saved = {name: os.environ.get(name) for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    os.environ["DBT_TARGET_PATH"] = str(folder / "target")
    os.environ["DBT_LOG_PATH"] = str(folder / "logs")
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def isolated_profile(tmp_path_factory, monkeypatch):
    """Every test uses the shipped example profile and a DuckDB file of its own."""
    profiles = tmp_path_factory.mktemp("profiles")
    shutil.copyfile(PROJECT_DIR / "profiles" / "profiles.yml", profiles / "profiles.yml")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    monkeypatch.setenv("SQLREC_TARGET", "duckdb")
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(profiles / "sqlrec.duckdb"))


def made_once(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``make`` filled, made once per test run: the xdist workers of a run share it
    (the first to ask makes it, the others wait on a lock and reuse it), so each costly build is
    paid once rather than once per worker. Without xdist, the session's own."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    run = tmp_path_factory.getbasetemp().parent  # the run's folder, above each worker's
    folder, done = run / name, run / f"{name}.done"
    with open(run / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


def worker_copy(database: Path, tmp_path_factory, name: str) -> Path:
    """This worker's own copy of a shared build, so that no two workers open one file."""
    return copy_database(database, tmp_path_factory.mktemp(name) / database.name)


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory) -> Path:
    """A small generated lake with a catalogue: a few seconds to build. One for the whole run
    (the builds below name its path), read only."""
    from sqlrec.data.generate import generate_lake

    return made_once(tmp_path_factory, "lake", lambda folder: generate_lake(
        folder, users=1_500, items=400, events=40_000, days=12, seed=7, overwrite=True))


def _session_profile(folder: Path, patch: pytest.MonkeyPatch, database: Path) -> None:
    """A session fixture runs before the autouse isolated profile: name the profile here."""
    shutil.copyfile(PROJECT_DIR / "profiles" / "profiles.yml", folder / "profiles.yml")
    patch.setenv("DBT_PROFILES_DIR", str(folder))
    patch.setenv("SQLREC_TARGET", "duckdb")
    patch.setenv("SQLREC_DUCKDB_PATH", str(database))


@pytest.fixture(scope="session")
def small_lake_build(small_lake, tmp_path_factory) -> Path:
    """`dbt build` of the small lake with the defaults and every data test, made once per run;
    tests that only need its tables take a copy (`small_lake_database`)."""
    def make(folder: Path) -> None:
        with pytest.MonkeyPatch.context() as patch:
            _session_profile(folder, patch, folder / "sqlrec.duckdb")
            build_into(folder / "sqlrec.duckdb", small_lake, patch)

    shared = made_once(tmp_path_factory, "small-build", make)
    return worker_copy(shared / "sqlrec.duckdb", tmp_path_factory, "small-build")


@pytest.fixture
def small_lake_database(small_lake_build, tmp_path, monkeypatch) -> Path:
    """A copy of the small lake's build (with its build markers) that the test may change; the
    active target points at it."""
    database = copy_database(small_lake_build, tmp_path / "sqlrec.duckdb")
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    return database


@pytest.fixture(scope="session")
def small_lake_refreshed(small_lake, tmp_path_factory) -> Path:
    """`sqlrec refresh` of the small lake (build, ALS and EASE, the blend), made once per run."""
    from sqlrec.pipeline.build import refresh
    from sqlrec.recommend.params import PipelineParams

    def make(folder: Path) -> None:
        with pytest.MonkeyPatch.context() as patch:
            _session_profile(folder, patch, folder / "sqlrec.duckdb")
            refresh(small_lake, PipelineParams(als=SMALL_REFRESH_ALS), quiet=True)

    shared = made_once(tmp_path_factory, "small-refresh", make)
    # the profile beside it names the file the service fixtures read (DBT_PROFILES_DIR)
    copy = worker_copy(shared / "sqlrec.duckdb", tmp_path_factory, "small-refresh")
    shutil.copyfile(shared / "profiles.yml", copy.parent / "profiles.yml")
    return copy


@pytest.fixture(scope="session")
def trino_server(request, tmp_path_factory):
    """The one local Trino of the session (Hive lake + Iceberg), for every test that needs one;
    downloaded once into ~/.cache/sqlrec/trino. Stopped at the end, and checked to be gone."""
    from sqlrec.trino_local.server import TrinoServer, _alive

    if SKIP_TRINO:
        skip_trino_loudly(request, "the Trino tests")
    run_dir = tmp_path_factory.mktemp("trino-run")
    lake = tmp_path_factory.mktemp("trino-lake")
    # generous timeout: on a busy 2-core box start-up has taken over 3 minutes (usually ~30 s);
    # quick_jit: small queries for a few minutes, where C2's compiles cost more than they save
    server = TrinoServer(lake_dir=lake, port=free_port(), run_dir=run_dir, heap="3G",
                         startup_timeout=600, quick_jit=True)
    with server:
        print(f"Trino started in {server.startup_seconds:.1f} s", file=sys.__stderr__)
        yield server
        pid = server.pid()
    assert not server.is_running()
    assert pid is not None and not _alive(pid)
