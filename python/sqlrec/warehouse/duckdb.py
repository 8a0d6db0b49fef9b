"""The embedded default: a DuckDB file, and the build markers the dbt hooks write beside it.

Connections are short-lived on purpose: DuckDB allows a single writer process, and a reader holds
a lock too, so nothing here holds the file open while dbt may need it. Opening retries while
another process holds the file (settings' lock_timeout_s), then fails with one line naming it;
the service reads from a copy (`reading_copy`) and so never holds the lock a build needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import os
import re
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlrec.errors import UserError
from sqlrec.warehouse.markers import (
    FINISHED,
    PUBLISH_STEP,
    PUBLISHING_SUFFIX,
    REFRESH_RECORD_SUFFIX,
    STARTED,
    BuildMarker,
    BuildState,
    RefreshRecord,
    marker_file,
    new_marker,
    read_marker_file,
    state_from_markers,
    write_json_atomically,
    write_marker_file,
)
from sqlrec.warehouse.placement import located

if TYPE_CHECKING:
    import pyarrow as pa


MEMORY_LIMIT_ENV = "SQLREC_DUCKDB_MEMORY_LIMIT"  # the profile's memory_limit for dbt's DuckDB
DEFAULT_MEMORY_SHARE = 0.8  # DuckDB's own default memory_limit: this share of the machine


def memory_limit_beside_this_process() -> dict[str, str]:
    """The environment giving a DuckDB process started beside this one (dbt) DuckDB's default
    memory limit less what this process holds now, so that the two together stay within the
    default: after a refresh's training this process can hold gigabytes when the blend's build
    starts. Empty when the user set the limit or the platform does not tell the sizes."""
    if os.environ.get(MEMORY_LIMIT_ENV):
        return {}
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        machine = os.sysconf("SC_PHYS_PAGES") * page
        resident = int(Path("/proc/self/statm").read_text().split()[1]) * page
    except (OSError, ValueError, IndexError):
        return {}
    limit = max(int(DEFAULT_MEMORY_SHARE * machine) - resident, 2**30)
    return {MEMORY_LIMIT_ENV: f"{limit // 2**20}MB"}


class DatabaseLocked(UserError):
    """Another process holds the DuckDB file for longer than we wait."""


def _lock_holder(error: Exception) -> str | None:
    """DuckDB names the process holding its lock: '... Conflicting lock is held in <program>
    (PID <n>) ...'."""
    found = re.search(r"held in (.*?) \(PID (\d+)\)", str(error))
    return f"PID {found.group(2)} ({found.group(1)})" if found else None


class DuckDBWarehouse:
    """The tables of one DuckDB file (a `duckdb` target of the dbt profile)."""

    def __init__(self, path: Path, schema: str = "main", *, target: str = "duckdb",
                 lock_timeout_s: float | None = None,
                 placements: dict[str, tuple[str, str]] | None = None):
        self.path = Path(path)
        self.schema = schema
        self.target = target
        # models placed elsewhere; None: as the project's latest manifest says, read at each use
        self.placements = placements
        if lock_timeout_s is None:
            from sqlrec.config import load_settings

            lock_timeout_s = load_settings().lock_timeout_s
        self.lock_timeout_s = lock_timeout_s

    def _connect(self, read_only: bool = True):
        """A connection, waiting with back-off while another process holds the file."""
        import duckdb

        if read_only and not self.path.exists():
            raise UserError(f"no DuckDB database at {self.path}; run `sqlrec build` first")
        deadline, pause = time.monotonic() + self.lock_timeout_s, 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as error:
                holder = _lock_holder(error)
                if holder is None:
                    raise UserError(f"cannot open {self.path}: {error}") from None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DatabaseLocked(
                        f"{self.path} is in use by {holder} (waited {self.lock_timeout_s:g} s); "
                        "let it finish or stop it, then try again") from None
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, 2.0)

    def wait_until_free(self) -> None:
        """Return once no other process holds the file (or raise DatabaseLocked): a writer
        about to start, such as dbt, then finds it free."""
        if self.path.exists():
            self._connect(read_only=False).close()

    # ---------- tables

    def query(self, sql: str) -> pa.Table:
        with self._connect() as connection:
            return connection.sql(sql).to_arrow_table()

    def located(self, name: str) -> tuple[str, str]:
        """The schema and table name that hold the table sqlrec calls ``name``."""
        return located(name, "duckdb", self.schema, self.placements)

    def qualified(self, name: str) -> str:
        return ".".join(f'"{part}"' for part in self.located(name))

    def table_exists(self, name: str) -> bool:
        if not self.path.exists():
            return False
        with self._connect() as connection:
            found = connection.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                list(self.located(name)),
            ).fetchall()
        return found[0][0] > 0

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        if not self.table_exists(name):
            raise UserError(
                f"table {'.'.join(self.located(name))} not found in {self.path}; run "
                "`sqlrec build`")
        selected = ", ".join(f'"{column}"' for column in columns) if columns else "*"
        return self.query(f"select {selected} from {self.qualified(name)}")

    def write_table(self, name: str, data: pa.Table | pa.RecordBatchReader,
                    mode: str = "replace") -> int:
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', got {mode!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = f'"{self.schema}"."{name}"'
        # Opened read-write only for this write and closed right after: dbt needs the file next.
        with self._connect(read_only=False) as connection:
            connection.register("sqlrec_incoming_rows", data)
            exists = connection.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [self.schema, name],
            ).fetchall()[0][0] > 0
            if mode == "append" and exists:
                sql = f"insert into {target} by name select * from sqlrec_incoming_rows"
            else:
                sql = f"create or replace table {target} as select * from sqlrec_incoming_rows"
            written = connection.execute(sql).fetchall()[0][0]
            connection.unregister("sqlrec_incoming_rows")
        return int(written)

    def execute(self, statements: list[str]) -> None:
        """Run statements in one transaction (all or nothing)."""
        with self._connect(read_only=False) as connection:
            connection.execute("begin")
            for statement in statements:
                connection.execute(statement)
            connection.execute("commit")

    # ---------- build markers and state

    def write_build_marker(self, state: str = FINISHED, *, step: str = "build",
                           at: dt.datetime | None = None, version: str | None = None) -> Path:
        """Write a marker as the dbt hooks do (for tools and tests standing in for a run)."""
        return write_marker_file(marker_file(self.path, state),
                                 new_marker(state, step, self.target, at=at, version=version))

    def read_build_marker(self, state: str = FINISHED) -> BuildMarker | None:
        return read_marker_file(marker_file(self.path, state), state, self.target)

    def refresh_record_file(self) -> Path:
        return self.path.with_name(self.path.name + REFRESH_RECORD_SUFFIX)

    def write_refresh_record(self, record: RefreshRecord) -> None:
        """Beside the file, like the markers: writing it leaves the database untouched."""
        write_json_atomically(self.refresh_record_file(), record.to_json())

    def read_refresh_record(self) -> RefreshRecord | None:
        try:
            return RefreshRecord.from_json(self.refresh_record_file().read_text())
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: the next refresh is a full one, which rewrites it

    def build_state(self) -> BuildState:
        """The state the markers beside the file describe. A database that is gone while markers
        say it was built is an error, not "nothing built"."""
        started, finished = self.read_build_marker(STARTED), self.read_build_marker(FINISHED)
        if self.publication_never_replaced(started, finished):
            started = None  # the served file is still the last finished build's, untouched
        if not self.path.exists():
            if started or finished:
                raise FileNotFoundError(f"the DuckDB database {self.path} is gone (its build "
                                        "markers are still there)")
            return state_from_markers(None, None)
        state = state_from_markers(started, finished)
        # a write-ahead log that a live process holds: a writer is at work. One whose writer
        # died (a killed `sqlrec train`) holds committed writes only, and is read with the file.
        if self.wal_path.exists() and writer_of(self.path) is not None:
            return dataclasses.replace(state, writer_active=True)
        return state

    def publication_never_replaced(self, started: BuildMarker | None,
                                   finished: BuildMarker | None) -> bool:
        """Whether the latest started marker is a publication that has not replaced the file:
        its incoming copy still lies beside it (the replace renames that copy away), so the
        file is byte for byte the last finished build. A publication killed there counts as
        never started."""
        return (started is not None and started.step == PUBLISH_STEP
                and (finished is None or finished.version != started.version)
                and self.path.with_name(self.path.name + PUBLISHING_SUFFIX).exists())

    @property
    def wal_path(self) -> Path:
        return self.path.with_name(self.path.name + ".wal")

    def file_signature(self) -> tuple:
        stat = self.path.stat()
        return (stat.st_mtime_ns, stat.st_size, _stat_of(self.wal_path),
                marker_file(self.path, STARTED).exists() and self.read_build_marker(STARTED))

    @contextlib.contextmanager
    def reading_copy(self) -> Iterator[DuckDBWarehouse]:
        """A private copy of the database to read: the copy holds no lock on the original, so a
        build or `sqlrec train` can start while it is read. The copy is made only while no
        writer works, and raises ChangedWhileCopied if the file changed while it was copied.

        A write-ahead log left by a writer that died is copied with the file and folded into
        the copy (DuckDB replays it): it holds only committed writes, and the file alone may
        lack some of the finished build. A log whose writer still holds the file is not read:
        WriterAtWork names that process."""
        before = self.file_signature()
        folder = Path(tempfile.mkdtemp(prefix="sqlrec-snapshot-"))
        try:
            copy = folder / self.path.name
            has_wal = before[2] is not None
            if has_wal:
                self._refuse_live_writer()
            shutil.copyfile(self.path, copy)
            if has_wal:
                shutil.copyfile(self.wal_path, copy.with_name(copy.name + ".wal"))
            if self.file_signature() != before or (
                    has_wal and writer_of(self.path) is not None):
                raise ChangedWhileCopied(f"{self.path} changed while it was copied")
            if has_wal:
                _fold_wal(copy)
            yield DuckDBWarehouse(copy, self.schema, target=self.target,
                                  lock_timeout_s=self.lock_timeout_s,
                                  placements=self.placements)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _refuse_live_writer(self) -> None:
        pid = writer_of(self.path)
        if pid is not None:
            raise WriterAtWork(
                f"{self.path} is being written by PID {pid} (its write-ahead log "
                f"{self.wal_path.name} is not folded in yet); it is read once that process ends")

    def not_built_message(self) -> str:
        return (f"nothing built yet for target {self.target!r} (no DuckDB database at "
                f"{self.path}); run `sqlrec build`")


class ChangedWhileCopied(RuntimeError):
    """The database changed while a copy of it was made: the copy may mix two states."""


class WriterAtWork(RuntimeError):
    """A live process writes the database: its write-ahead log is not a finished state."""


def writer_of(database: Path) -> int | None:
    """The PID of another process holding DuckDB's write lock on the file, or None (0 where the
    platform does not say). Asked of the kernel (F_GETLK), never by taking the lock: the service
    must not hold a lock a build needs. (Closing this descriptor drops POSIX locks that this
    process holds on the file; the service holds none, it reads copies.)"""
    try:
        handle = os.open(database, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if sys.platform != "linux":
            try:
                os.lockf(handle, os.F_TEST, 0)
            except OSError:
                return 0
            return None
        # struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid (64-bit off_t);
        # asking for a read lock reports only a conflicting write lock, DuckDB's writer's
        query = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        lock_type, _, _, _, pid = struct.unpack(
            "hhqqi4x", fcntl.fcntl(handle, fcntl.F_GETLK, query))
        return None if lock_type == fcntl.F_UNLCK else pid
    finally:
        os.close(handle)


def _stat_of(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _fold_wal(database: Path) -> None:
    """Replay a private copy's write-ahead log into it once (a checkpoint), rather than on every
    read-only connection the snapshot opens."""
    import duckdb

    with duckdb.connect(str(database)) as connection:
        connection.execute("checkpoint")
