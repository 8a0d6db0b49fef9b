"""Where snapshots come from and how a newer one replaces the old: the `SnapshotStore`.

A `SnapshotSource` tells cheaply which build the warehouse holds (`build_state`) and loads a
snapshot of it (`load`). The store keeps the current snapshot behind one reference: a request
reads that reference once and uses only what it got, and a reload replaces it with a single
assignment, so every request sees the old snapshot or the new one, never a mix. A background
thread polls the source; a failed reload keeps the previous snapshot and is reported. So does a
build that emptied a table the served snapshot has rows of: an empty table is a broken build
far more often than a real answer, and serving it would answer every request with nothing.

When is a build "newer" and complete? For the DuckDB target:

- a build marker (`sqlrec.build_marker`) newer than the database file says a build finished:
  reload at once;
- otherwise (a bare `dbt build`, which writes no marker) the file's mtime and size are the
  version, and the store waits until they have stayed the same for one polling interval with
  no write-ahead log beside the file (no writer at work) before it reads.

A load re-reads the build state afterwards and is thrown away if the warehouse changed while
it read, so a snapshot never mixes two builds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlrec import build_marker, project, warehouse
from sqlrec.service.snapshot import Snapshot, load_snapshot

logger = logging.getLogger("sqlrec.service")


@dataclass(frozen=True)
class BuildState:
    """What the warehouse holds now, as far as can be told without reading it."""

    version: str | None  # None: nothing has been built yet
    built_at: dt.datetime | None
    signature: Hashable  # differs whenever the build may differ
    finished: bool  # a marker says the build that wrote the data finished
    writer_active: bool  # a writer seems to be at work


class SnapshotSource(Protocol):
    target: str

    def build_state(self) -> BuildState: ...

    def load(self, state: BuildState) -> Snapshot: ...


class SnapshotChanged(RuntimeError):
    """The warehouse changed while a snapshot was read from it."""


class EmptiedTables(RuntimeError):
    """A build would empty tables that the served snapshot has rows of."""

    def __init__(self, emptied: dict[str, int], version: str):
        super().__init__(
            "the build left " + ", ".join(f"{table} empty (served: {rows:,} rows)"
                                          for table, rows in emptied.items())
            + f"; still serving {version}")


class WarehouseSource:
    """Snapshots of the active dbt target, read through `sqlrec.warehouse`."""

    def __init__(self, target: str | None = None):
        self.target = target or project.active_target()

    def build_state(self) -> BuildState:
        marker = build_marker.read_build_marker(self.target)
        if self.target != "duckdb":
            # No file to watch: the marker (a table row) is the only signal of a new build.
            return BuildState(
                version=marker.version if marker else None,
                built_at=marker.built_at if marker else None,
                signature=(marker.version if marker else None,), finished=True,
                writer_active=False)
        database = project.duckdb_path()
        try:
            stat = database.stat()
        except OSError:
            return BuildState(None, None, (None, None), finished=False, writer_active=False)
        writer_active = database.with_name(database.name + ".wal").exists()
        marker_mtime = _mtime_ns(build_marker.marker_path(self.target))
        signature = (marker.version if marker else None, stat.st_mtime_ns, stat.st_size)
        if marker is not None and marker_mtime is not None and marker_mtime >= stat.st_mtime_ns:
            return BuildState(marker.version, marker.built_at, signature, finished=True,
                              writer_active=writer_active)
        modified = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, dt.UTC)
        return BuildState(
            version=f"file-{modified:%Y%m%dT%H%M%S.%fZ}-{stat.st_size}", built_at=modified,
            signature=signature, finished=False, writer_active=writer_active)

    def load(self, state: BuildState) -> Snapshot:
        if state.version is None:
            raise FileNotFoundError(
                f"nothing built yet for target {self.target!r}"
                + (f" (no DuckDB database at {project.duckdb_path()})"
                   if self.target == "duckdb" else "")
                + "; run `sqlrec build`")
        snapshot = load_snapshot(warehouse.connect(self.target), version=state.version,
                                 built_at=state.built_at, signature=state.signature)
        if self.build_state().signature != state.signature:
            raise SnapshotChanged("the warehouse changed while it was read; retrying later")
        return snapshot


@dataclass(frozen=True)
class ReloadFailure:
    at: dt.datetime
    message: str
    version: str | None  # the build the store tried to load


class SnapshotStore:
    """The current snapshot, its reloads, and the thread that polls for newer builds."""

    def __init__(self, source: SnapshotSource, *, interval_s: float = 5.0):
        self.source = source
        self.interval_s = interval_s
        self.current: Snapshot | None = None
        self.last_error: ReloadFailure | None = None
        self.last_checked_at: dt.datetime | None = None
        self.reloads = {"success": 0, "failure": 0}
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen_signature: Hashable = object()
        self._failed_signature: Hashable = object()
        self._failures_in_a_row = 0
        self._retry_at = 0.0

    def reload(self, state: BuildState | None = None) -> Snapshot:
        """Load the warehouse's build now and make it current; on failure keep the current one,
        record the error and raise it."""
        with self._reload_lock:
            state = state or self.source.build_state()
            try:
                snapshot = self.source.load(state)
                _refuse_emptied_tables(self.current, snapshot)
            except Exception as error:
                self._record_failure(state, error)
                raise
            self.current = snapshot  # the swap: one reference assignment
            self.last_error = None
            self._failures_in_a_row = 0
            self._seen_signature = state.signature
            self.reloads["success"] += 1
            logger.info("sqlrec serve: loaded snapshot %s in %.2f s (%s)", snapshot.info.version,
                        snapshot.info.load_seconds, snapshot.info.row_counts)
            return snapshot

    def reload_quietly(self, state: BuildState | None = None) -> bool:
        try:
            self.reload(state)
        except Exception:
            return False
        return True

    def poll_once(self) -> bool:
        """Reload when the warehouse holds a newer, complete build; True when it did."""
        state = self.source.build_state()
        self.last_checked_at = dt.datetime.now(dt.UTC)
        current = self.current
        if current is not None and state.signature == current.info.signature:
            self._seen_signature = state.signature
            return False
        settled = state.signature == self._seen_signature
        self._seen_signature = state.signature
        if state.version is None or state.writer_active or not (state.finished or settled):
            return False
        if state.signature == self._failed_signature and time.monotonic() < self._retry_at:
            return False
        return self.reload_quietly(state)

    def start_polling(self) -> None:
        if self.interval_s <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll_forever, name="sqlrec-snapshot-poller",
                                        daemon=True)
        self._thread.start()

    def stop_polling(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _poll_forever(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll_once()
            except Exception:  # the poller must outlive any surprise; reloads record their own
                logger.exception("sqlrec serve: polling for a new build failed")

    def _record_failure(self, state: BuildState, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        self.last_error = ReloadFailure(at=dt.datetime.now(dt.UTC), message=message,
                                        version=state.version)
        self.reloads["failure"] += 1
        if state.signature == self._failed_signature:
            self._failures_in_a_row += 1
        else:
            self._failed_signature, self._failures_in_a_row = state.signature, 1
        # Retry the same build with backoff: a lock held by a writer clears, a broken build not.
        backoff = max(self.interval_s, 1.0) * 2 ** min(self._failures_in_a_row - 1, 6)
        self._retry_at = time.monotonic() + backoff
        if self.current is None:
            logger.error("sqlrec serve: no snapshot loaded: %s", message)
        else:
            logger.error("sqlrec serve: reload failed, still serving %s: %s",
                         self.current.info.version, message)


def _refuse_emptied_tables(current: Snapshot | None, new: Snapshot) -> None:
    if current is None:
        return  # nothing to keep: an empty snapshot still answers (404s, empty lists)
    emptied = {table: rows for table, rows in current.info.row_counts.items()
               if rows > 0 and new.info.row_counts.get(table, 0) == 0}
    if emptied:
        raise EmptiedTables(emptied, current.info.version)


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
