"""The one place Python reads and writes the warehouse that dbt builds.

Every Python step (ALS training, evaluation, the HTTP service, the demo) goes through
`connect()`, which returns a `Warehouse` for the active dbt target. Connections are short-lived
on purpose: DuckDB allows a single writer process, so nothing here holds the file open while
dbt may need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from sqlrec import project
from sqlrec.errors import UserError


class Warehouse(Protocol):
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


class DuckDBWarehouse:
    """The embedded default: the DuckDB file of the `duckdb` dbt target."""

    def __init__(self, path: Path, schema: str = "main"):
        self.path = Path(path)
        self.schema = schema

    def _connect(self, read_only: bool = True):
        import duckdb

        if read_only and not self.path.exists():
            raise UserError(f"no DuckDB database at {self.path}; run `sqlrec build` first")
        return duckdb.connect(str(self.path), read_only=read_only)

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


def connect(target: str | None = None) -> Warehouse:
    """The warehouse of a dbt target (default: the active one, env SQLREC_TARGET)."""
    target = target or project.active_target()
    if target == "duckdb":
        return DuckDBWarehouse(project.duckdb_path())
    # any other target of the profile must be a Trino one (the profile says which)
    from sqlrec.trino_warehouse import TrinoWarehouse

    return TrinoWarehouse.from_profile(target)
