"""Where snapshots come from and how a newer one replaces the old: the `SnapshotStore`.

A `SnapshotSource` tells cheaply which build the warehouse holds (`build_state`) and loads a
snapshot of it (`load`). The store keeps the current snapshot behind one reference: a request
reads that reference once and uses only what it got, and a reload replaces it with a single
assignment, so every request sees the old snapshot or the new one, never a mix. A background
thread polls the source; a failed reload keeps the previous snapshot and is reported. So does a
build that emptied a table the served snapshot has rows of: an empty table is a broken build
far more often than a real answer, and serving it would answer every request with nothing.

When is a build "newer" and complete? The warehouse's adapter says (`Warehouse.build_state`),
from the markers the dbt run hooks write: only when the latest finished build is the latest
started one (`sqlrec.warehouse.markers`), so a failed, stopped or running build is never read.
The snapshot is read from `Warehouse.reading_copy()` (on DuckDB a copy of the file, so the
service never holds a lock a build needs), and the build state is checked again afterwards: a
snapshot never mixes two builds. Failing to read the build state at all (a database file gone,
an unreachable Trino) is a reload failure like any other, reported in /healthz.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

from sqlrec import project, warehouse
from sqlrec.service.snapshot import Snapshot, load_snapshot
from sqlrec.warehouse import BuildState

__all__ = ["BuildState", "SnapshotChanged", "SnapshotSource", "SnapshotStore", "WarehouseSource"]

logger = logging.getLogger("sqlrec.service")


class SnapshotSource(Protocol):
    target: str

    def build_state(self) -> BuildState: ...

    def load(self, state: BuildState) -> Snapshot: ...


class SnapshotChanged(RuntimeError):
    """The warehouse changed while a snapshot was read from it."""


class BuildNotFinished(RuntimeError):
    """The latest build has not finished (running, failed or stopped): nothing safe to read."""


class EmptiedTables(RuntimeError):
    """A build would empty tables that the served snapshot has rows of."""

    def __init__(self, emptied: dict[str, int], version: str):
        super().__init__(
            "the build left " + ", ".join(f"{table} empty (served: {rows:,} rows)"
                                          for table, rows in emptied.items())
            + f"; still serving {version}")


class WarehouseSource:
    """Snapshots of a dbt target (default: the active one), read through `sqlrec.warehouse`.

    The warehouse is connected on first use, so that a broken profile shows as a failed
    reload, not as a service that cannot start.
    """

    def __init__(self, target: str | None = None):
        self.target = target or project.active_target()
        self._warehouse: warehouse.Warehouse | None = None

    @property
    def warehouse(self) -> warehouse.Warehouse:
        if self._warehouse is None:
            self._warehouse = warehouse.connect(self.target)
        return self._warehouse

    def build_state(self) -> BuildState:
        return self.warehouse.build_state()

    def load(self, state: BuildState) -> Snapshot:
        if state.version is None:
            raise FileNotFoundError(self.warehouse.not_built_message())
        if not state.finished:
            raise BuildNotFinished(state.waiting_for)
        with self.warehouse.reading_copy() as copy:
            snapshot = load_snapshot(copy, version=state.version, built_at=state.built_at,
                                     signature=state.signature)
        after = self.build_state()
        if after.signature != state.signature or not after.finished:
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
        self._failed_signature: Hashable = object()
        self._failures_in_a_row = 0
        self._retry_at = 0.0

    def reload(self, state: BuildState | None = None) -> Snapshot:
        """Load the warehouse's build now and make it current; on failure keep the current one,
        record the error and raise it."""
        with self._reload_lock:
            try:
                state = state or self.source.build_state()
                snapshot = self.source.load(state)
                _refuse_emptied_tables(self.current, snapshot)
            except Exception as error:
                self._record_failure(state, error)
                raise
            self.current = snapshot  # the swap: one reference assignment
            self.last_error = None
            self._failures_in_a_row = 0
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
        """Reload when the warehouse holds a newer, finished build; True when it did."""
        self.last_checked_at = dt.datetime.now(dt.UTC)
        try:
            state = self.source.build_state()
        except Exception as error:  # the build state itself cannot be read: say so
            self._record_failure(None, error)
            return False
        current = self.current
        if current is not None and state.signature == current.info.signature:
            if self.last_error is not None and self.last_error.version is None:
                self.last_error = None  # the warehouse is readable again
            return False
        if not state.finished:
            if current is None and state.waiting_for:
                # nothing served yet: /healthz says what it waits for
                self.last_error = ReloadFailure(at=self.last_checked_at,
                                                message=state.waiting_for, version=state.version)
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

    def _record_failure(self, state: BuildState | None, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        self.last_error = ReloadFailure(at=dt.datetime.now(dt.UTC), message=message,
                                        version=state.version if state else None)
        self.reloads["failure"] += 1
        signature = state.signature if state else None
        if signature == self._failed_signature:
            self._failures_in_a_row += 1
        else:
            self._failed_signature, self._failures_in_a_row = signature, 1
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
