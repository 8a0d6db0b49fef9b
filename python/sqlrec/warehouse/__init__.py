"""The one place Python reads and writes the warehouse that dbt builds.

Every Python step (ALS training, evaluation, the HTTP service, the demo) goes through a
`Warehouse`: `connect()` returns the one of a dbt target, DuckDB or Trino as the profile's
``type`` of that target says. An adapter owns its engine's tables and its build marker (see
`sqlrec.warehouse.markers`), so no caller needs to know which engine it talks to.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlrec.warehouse.markers import BuildMarker, BuildState

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["BuildMarker", "BuildState", "Warehouse", "connect"]


class Warehouse(Protocol):
    target: str  # the dbt target it belongs to

    def query(self, sql: str) -> pa.Table:
        """Run a read-only query and return its result."""

    def table_exists(self, name: str) -> bool:
        """Whether the project's schema holds a table or view of that name."""

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Read a whole table of the project's schema."""

    def write_table(self, name: str, data: pa.Table | pa.RecordBatchReader,
                    mode: str = "replace") -> int:
        """Write rows into a table of the project's schema and return how many were written.

        mode 'replace' creates or replaces the table; 'append' adds the rows, creating the table
        when it does not exist yet. A RecordBatchReader is consumed once, batch by batch, so that
        a writer can stream results that never sit in memory all at once.
        """

    def write_build_marker(self, step: str = "build", *, built_at: dt.datetime | None = None,
                           version: str | None = None) -> Path | str:
        """Record that `step` finished writing the warehouse; return where the marker went."""

    def read_build_marker(self) -> BuildMarker | None:
        """The latest build marker, or None when there is none (or it cannot be read)."""

    def build_state(self) -> BuildState:
        """Which build the warehouse holds, told cheaply (without reading its tables)."""

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
