"""The embedded default: a DuckDB file, and its build marker `<database>.built` beside it.

Connections are short-lived on purpose: DuckDB allows a single writer process, so nothing here
holds the file open while dbt may need it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from sqlrec.errors import UserError
from sqlrec.warehouse.markers import (
    MARKER_SUFFIX,
    BuildMarker,
    BuildState,
    configured_marker_file,
    new_marker,
    read_marker_file,
    write_marker_file,
)

if TYPE_CHECKING:
    import pyarrow as pa


class DuckDBWarehouse:
    """The tables of one DuckDB file (a `duckdb` target of the dbt profile)."""

    def __init__(self, path: Path, schema: str = "main", *, target: str = "duckdb"):
        self.path = Path(path)
        self.schema = schema
        self.target = target

    def _connect(self, read_only: bool = True):
        import duckdb

        if read_only and not self.path.exists():
            raise UserError(f"no DuckDB database at {self.path}; run `sqlrec build` first")
        return duckdb.connect(str(self.path), read_only=read_only)

    # ---------- tables

    def query(self, sql: str) -> pa.Table:
        with self._connect() as connection:
            return connection.sql(sql).to_arrow_table()

    def table_exists(self, name: str) -> bool:
        if not self.path.exists():
            return False
        with self._connect() as connection:
            found = connection.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [self.schema, name],
            ).fetchall()
        return found[0][0] > 0

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        if not self.table_exists(name):
            raise UserError(
                f"table {self.schema}.{name} not found in {self.path}; run `sqlrec build`"
            )
        selected = ", ".join(f'"{column}"' for column in columns) if columns else "*"
        return self.query(f'select {selected} from "{self.schema}"."{name}"')

    def write_table(self, name: str, data: pa.Table | pa.RecordBatchReader,
                    mode: str = "replace") -> int:
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', got {mode!r}")
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = f'"{self.schema}"."{name}"'
        # Opened read-write only for this write and closed right after: dbt needs the file next.
        try:
            connection = self._connect(read_only=False)
        except duckdb.IOException as error:
            raise UserError(f"cannot open {self.path} for writing (is dbt or another sqlrec "
                            f"step using it?): {error}") from error
        with connection:
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

    # ---------- build marker and state

    @property
    def marker_path(self) -> Path:
        """``<database>.built``, or the file SQLREC_BUILD_MARKER names."""
        return configured_marker_file() or self.path.with_name(self.path.name + MARKER_SUFFIX)

    def write_build_marker(self, step: str = "build", *, built_at: dt.datetime | None = None,
                           version: str | None = None) -> Path:
        """Record that `step` finished writing this database; return the marker file."""
        return write_marker_file(self.marker_path,
                                 new_marker(step, self.target, built_at=built_at,
                                            version=version))

    def read_build_marker(self) -> BuildMarker | None:
        return read_marker_file(self.marker_path, self.target)

    def build_state(self) -> BuildState:
        """A marker newer than the database file says a build finished. Otherwise (a bare
        `dbt build`, which writes no marker) the file's mtime and size are the version, and the
        state is not `finished`: the reader waits until it has stayed the same for a while."""
        marker = self.read_build_marker()
        try:
            stat = self.path.stat()
        except OSError:
            return BuildState(None, None, (None, None), finished=False, writer_active=False)
        # a write-ahead log beside the file: a writer is at work
        writer_active = self.path.with_name(self.path.name + ".wal").exists()
        marker_mtime = _mtime_ns(self.marker_path)
        signature = (marker.version if marker else None, stat.st_mtime_ns, stat.st_size)
        if marker is not None and marker_mtime is not None and marker_mtime >= stat.st_mtime_ns:
            return BuildState(marker.version, marker.built_at, signature, finished=True,
                              writer_active=writer_active)
        modified = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, dt.UTC)
        return BuildState(
            version=f"file-{modified:%Y%m%dT%H%M%S.%fZ}-{stat.st_size}", built_at=modified,
            signature=signature, finished=False, writer_active=writer_active)

    def not_built_message(self) -> str:
        return (f"nothing built yet for target {self.target!r} (no DuckDB database at "
                f"{self.path}); run `sqlrec build`")


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
