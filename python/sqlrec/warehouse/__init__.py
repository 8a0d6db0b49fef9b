"""The one place Python reads and writes the warehouse that dbt builds.

Every Python step (ALS training, evaluation, the HTTP service, the demo) goes through a
`Warehouse`: `connect()` returns the one of a dbt target, DuckDB or Trino as the profile's
``type`` of that target says. An adapter owns its engine's tables and its build marker (see
`sqlrec.warehouse.markers`), so no caller needs to know which engine it talks to.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlrec.warehouse.markers import BuildMarker, BuildState, RefreshRecord

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["BuildMarker", "BuildState", "RefreshRecord", "Warehouse", "connect"]


class Warehouse(Protocol):
    target: str  # the dbt target it belongs to

    def query(self, sql: str) -> pa.Table:
        """Run a read-only query and return its result."""

    def qualified(self, name: str) -> str:
        """The table sqlrec calls ``name``, as a query names it: in the project's schema, or
        where the last dbt build put that model (`sqlrec.warehouse.placement`)."""

    def table_exists(self, name: str) -> bool:
        """Whether the warehouse holds that table or view (`qualified`)."""

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Read a whole table (`qualified`)."""

    def write_table(self, name: str, data: pa.Table | pa.RecordBatchReader,
                    mode: str = "replace") -> int:
        """Write rows into a table of the project's schema and return how many were written.

        mode 'replace' creates or replaces the table; 'append' adds the rows, creating the table
        when it does not exist yet. A RecordBatchReader is consumed once, batch by batch, so that
        a writer can stream results that never sit in memory all at once.
        """

    def execute(self, statements: list[str]) -> None:
        """Run statements that change tables (in one transaction where the engine has them)."""

    def write_build_marker(self, state: str = "finished", *, step: str = "build",
                           at: dt.datetime | None = None, version: str | None = None) -> Path | str:
        """Write a build marker as the dbt hooks do (tools and tests that stand in for a run)."""

    def read_build_marker(self, state: str = "finished") -> BuildMarker | None:
        """The latest marker of a state ('started' or 'finished'), or None."""

    def write_refresh_record(self, record: RefreshRecord) -> None:
        """Record what a finished refresh was computed from (no table the service reads)."""

    def read_refresh_record(self) -> RefreshRecord | None:
        """The latest finished refresh's record, or None."""

    def build_state(self) -> BuildState:
        """Which build the warehouse holds and whether it is safe to read, told cheaply."""

    def reading_copy(self) -> AbstractContextManager[Warehouse]:
        """A warehouse to read a consistent snapshot from without blocking writers."""

    def wait_until_free(self) -> None:
        """Return once a writer (dbt) can open the warehouse, or raise naming who holds it."""

    def not_built_message(self) -> str:
        """What to tell a reader when nothing has been built yet."""


def connect(target: str | None = None) -> Warehouse:
    """The warehouse of a dbt target (default: the active one, env SQLREC_TARGET), by the type
    the profile gives that target."""
    from sqlrec import project
    from sqlrec.warehouse import profile

    target = target or project.active_target()
    fields = profile.target_fields(target)
    if profile.engine_of(target, fields) == "duckdb":
        from sqlrec.warehouse.duckdb import DuckDBWarehouse

        path, schema = profile.duckdb_file(target, fields)
        return DuckDBWarehouse(path, schema, target=target)
    from sqlrec.warehouse.trino import TrinoWarehouse

    return TrinoWarehouse.from_profile(target)
