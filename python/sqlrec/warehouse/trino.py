"""The warehouse on Trino: the Python steps read and write the tables dbt builds there.

Connection: a `trino` target of the dbt profile, resolved by dbt's own profile code, so host,
port, user, https, certificate and password/JWT auth are exactly what `dbt --target trino` uses.
Tables live in the profile's catalog and schema (Iceberg in sqlrec's set-up), and so do the
build markers the dbt hooks write: rows of ``sqlrec_build_markers`` (`sqlrec.warehouse.markers`).

Reading a whole table (`read_table`) first tries its Iceberg data files (`trino_files`). Else,
and for writes, with ``SQLREC_TRINO_STAGING_DIR`` set, rows go through Parquet files in that
folder (a local path, given to Trino as ``local://<path>``, or a URL such as ``s3://bucket/p``),
registered as an external table of the Hive catalog ``SQLREC_TRINO_LAKE_CATALOG`` (default
``lake``, schema ``sqlrec_staging``) and removed after each use: a write is pyarrow's files and
one ``CREATE TABLE AS`` / ``INSERT ... SELECT``; a read is one ``INSERT INTO <staging table>
SELECT ...`` (Trino's workers write the files) and pyarrow's read, which needs the Hive catalog to
write external tables (``hive.non-managed-table-writes-enabled=true``, off by default; where it
refuses, the client protocol, with a hint). Timestamps travel as text both ways
(`trino_sql.staging_schema` says why); the choices are argued in docs/trino.md.

Without a staging folder, reads go through Trino's client protocol (JSON pages, converted to
Arrow batch by batch), and writes as ``INSERT ... SELECT * FROM UNNEST(<one array per column>)``
statements of up to ``SQLREC_TRINO_INSERT_CHARS`` characters (default 900,000, under Trino's
``query.max-length``) each: nothing needed but a connection, many times slower.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from sqlrec.errors import UserError
from sqlrec.warehouse.markers import (
    FINISHED,
    STARTED,
    BuildMarker,
    BuildState,
    RefreshRecord,
    new_marker,
    state_from_markers,
)
from sqlrec.warehouse.placement import located
from sqlrec.warehouse.trino_files import read_data_files
from sqlrec.warehouse.trino_sql import arrow_type, quote, sql_literal, staging_schema, trino_type

# the Trino client announces at INFO, on import, that it has no keyring (used only by OAuth2)
logging.getLogger("trino.auth").setLevel(logging.WARNING)

FETCH_ROWS = 50_000
# Trino refuses statements longer than query.max-length (default 1,000,000 characters)
DEFAULT_INSERT_CHARS = 900_000
STAGING_SCHEMA = "sqlrec_staging"
HINT_ROWS = 100_000
MARKER_TABLE = "sqlrec_build_markers"
REFRESH_RECORD_TABLE = "sqlrec_refresh_records"  # one row per finished refresh


@functools.cache
def _hint_staging_once() -> None:
    print("sqlrec: reading from Trino through its client protocol and writing by batched INSERTs "
          "(about 100,000 and 20,000 rows/s here); set SQLREC_TRINO_STAGING_DIR to a folder "
          "Trino's lake catalog reads for Parquet staging (about 450,000 rows/s both ways)",
          file=sys.stderr)


@functools.cache
def _hint_unload_refused_once(catalog: str, message: str) -> None:
    print(f"sqlrec: the {catalog} catalog refused to unload a table into the staging folder "
          f"({message}); reading through the client protocol instead. Set "
          "hive.non-managed-table-writes-enabled=true in its catalog file for Parquet reads",
          file=sys.stderr)


class _NotSupported(UserError):
    """Trino's NOT_SUPPORTED: a catalog's configuration forbids the statement."""

    def __init__(self, text: str, trino_message: str):
        super().__init__(text)
        self.trino_message = trino_message


@dataclasses.dataclass(frozen=True)
class _StagingFolder:
    """A folder of the staging dir and the Hive external table over it."""

    filesystem: Any  # pyarrow.fs.FileSystem
    path: str  # in `filesystem`
    table: str  # qualified


def _batches(data: pa.Table | pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        yield from data.to_batches()
    else:
        yield from data


# ------------------------------------------------------------------------------- warehouse

class TrinoWarehouse:
    """The tables of the `trino` dbt target (its catalog and schema)."""

    def __init__(self, connect: Callable[[], Any], catalog: str, schema: str, *,
                 staging_dir: str | None = None, lake_catalog: str = "lake",
                 insert_chars: int = DEFAULT_INSERT_CHARS, target: str = "trino",
                 read_data_files: bool = True,
                 placements: dict[str, tuple[str, str]] | None = None):
        self._connect = connect
        self.catalog = catalog
        self.schema = schema
        self.staging_dir = staging_dir or None
        self.lake_catalog = lake_catalog
        self.insert_chars = insert_chars
        self.target = target
        self.read_data_files = read_data_files
        # models placed elsewhere; None: as the project's latest manifest says, read at each use
        self.placements = placements

    @classmethod
    def from_profile(cls, target: str = "trino") -> TrinoWarehouse:
        from sqlrec.config import load_settings
        from sqlrec.warehouse.profile import connection_factory, trino_credentials

        credentials = trino_credentials(target)
        settings = load_settings()
        return cls(connection_factory(credentials), credentials.database, credentials.schema,
                   staging_dir=settings.trino_staging_dir,
                   lake_catalog=settings.trino_lake_catalog,
                   insert_chars=settings.trino_insert_chars, target=target,
                   read_data_files=settings.trino_read_data_files)

    @property
    def write_method(self) -> str:
        return "parquet staging" if self.staging_dir else "batched inserts"

    @property
    def read_method(self) -> str:
        """How `read_table` reads where a table's data files cannot be read (`query` always
        uses the client protocol)."""
        return "parquet staging" if self.staging_dir else "client protocol"

    def located(self, name: str) -> tuple[str, str]:
        """The schema and table name that hold the table sqlrec calls ``name``."""
        return located(name, "trino", self.schema, self.placements)

    def qualified(self, name: str) -> str:
        return ".".join(quote(part) for part in (self.catalog, *self.located(name)))

    def _execute(self, cursor: Any, sql: str, params: list | None = None) -> None:
        import trino.exceptions

        try:
            cursor.execute(sql, params) if params else cursor.execute(sql)
        except trino.exceptions.TrinoUserError as error:
            if error.error_name == "NOT_SUPPORTED":
                raise _NotSupported(f"Trino refused a query: {error.message}\n{sql[:500]}",
                                    error.message) from None
            raise UserError(f"Trino rejected a query: {error.message}\n{sql[:500]}") from None
        except (trino.exceptions.HttpError, OSError) as error:
            raise UserError(f"cannot reach Trino: {error}") from None

    def _run(self, sql: str, params: list | None = None, *,
             session: dict[str, Any] | None = None) -> list[list[Any]]:
        """A statement's rows; `session`: session properties for it alone."""
        with self._connect() as connection:
            cursor = connection.cursor()
            for name, value in (session or {}).items():
                self._execute(cursor, f"set session {name} = {sql_literal(value)}")
                cursor.fetchall()
            self._execute(cursor, sql, params)
            return cursor.fetchall()

    def execute(self, statements: list[str]) -> None:
        """Run statements one after another (Iceberg on Trino has no multi-statement
        transactions: callers only use this where each statement stands on its own)."""
        for statement in statements:
            self._run(statement)

    # ----------------------------------------------------------------------- build markers

    def write_build_marker(self, state: str = FINISHED, *, step: str = "build",
                           at: dt.datetime | None = None, version: str | None = None) -> str:
        """Write a marker row as the dbt hooks do (for tools and tests standing in for a run)."""
        marker = new_marker(state, step, self.target, at=at, version=version)
        self.write_table(MARKER_TABLE, pa.table({
            "version": [marker.version],
            "built_at": pa.array([marker.at.replace(tzinfo=None)], pa.timestamp("us")),
            "step": [marker.step], "target": [marker.target], "state": [state]}), mode="append")
        return f"table {MARKER_TABLE}"

    def read_build_marker(self, state: str = FINISHED) -> BuildMarker | None:
        """The latest marker row of a state, None when there is none. Rows written before the
        state column existed count as finished."""
        if not self.table_exists(MARKER_TABLE):
            return None
        columns = set(self.query(f"select * from {MARKER_TABLE} limit 0").column_names)
        where = (f"coalesce(state, '{FINISHED}') = '{state}'" if "state" in columns
                 else ("true" if state == FINISHED else "false"))
        rows = self.query(f"select version, built_at, step from {MARKER_TABLE} where {where} "
                          "order by built_at desc, version desc limit 1").to_pylist()
        if not rows:
            return None
        at = rows[0]["built_at"].replace(tzinfo=dt.UTC)
        return BuildMarker(version=rows[0]["version"], at=at, step=rows[0]["step"],
                           target=self.target, state=state)

    def write_refresh_record(self, record: RefreshRecord) -> None:
        """A row appended (Iceberg has no cheap single-row update); the latest one counts."""
        self.write_table(REFRESH_RECORD_TABLE, pa.table({
            "refreshed_at": pa.array([record.refreshed_at.astimezone(dt.UTC).replace(
                tzinfo=None)], pa.timestamp("us")),
            "record": [record.to_json()]}), mode="append")

    def read_refresh_record(self) -> RefreshRecord | None:
        if not self.table_exists(REFRESH_RECORD_TABLE):
            return None
        rows = self.query(f"select record from {REFRESH_RECORD_TABLE} "
                          "order by refreshed_at desc limit 1").to_pylist()
        try:
            return RefreshRecord.from_json(rows[0]["record"]) if rows else None
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: the next refresh is a full one, which records anew

    def build_state(self) -> BuildState:
        """No file to watch: the marker rows are the only signal of a build."""
        return state_from_markers(self.read_build_marker(STARTED), self.read_build_marker(FINISHED))

    @contextlib.contextmanager
    def reading_copy(self) -> Iterator[TrinoWarehouse]:
        """Trino serves concurrent readers and writers itself: read the warehouse as it is."""
        yield self

    def wait_until_free(self) -> None:
        """Nothing to wait for: Trino has no single-writer lock."""

    def not_built_message(self) -> str:
        return f"nothing built yet for target {self.target!r}; run `sqlrec build`"

    # ------------------------------------------------------------------------------ read

    def query(self, sql: str) -> pa.Table:
        with self._connect() as connection:
            cursor = connection.cursor()
            self._execute(cursor, sql)
            schema, batches = None, []
            while True:
                rows = cursor.fetchmany(FETCH_ROWS)
                # the column types are known once the first page (even an empty one) arrived
                schema = schema or self._schema(cursor.description)
                if not rows:
                    break
                batches.append(pa.RecordBatch.from_arrays(
                    [pa.array(values, type=field.type)
                     for values, field in zip(zip(*rows, strict=True), schema, strict=True)],
                    schema=schema))
        return pa.Table.from_batches(batches, schema=schema)

    @staticmethod
    def _schema(description: list) -> pa.Schema:
        fields = []
        for name, type_name, *_ in description:
            kind = arrow_type(type_name)
            if kind is None:
                raise UserError(f"column {name} is of Trino type {type_name}, which sqlrec does "
                                "not read; cast it in the query")
            fields.append(pa.field(name, kind))
        return pa.schema(fields)

    def table_exists(self, name: str) -> bool:
        found = self._run(
            f"select count(*) from {quote(self.catalog)}.information_schema.tables "
            "where table_schema = ? and table_name = ?", list(self.located(name)))
        return found[0][0] > 0

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        selected = ", ".join(quote(column) for column in columns) if columns else "*"
        sql = f"select {selected} from {self.qualified(name)}"
        if self.read_data_files:
            table = read_data_files(self, name, sql)
            if table is not None:
                return table
        if not self.table_exists(name):
            raise UserError(f"table {self.qualified(name)} not found on Trino; run "
                            "`sqlrec build` (SQLREC_TARGET=trino)")
        if self.staging_dir:
            try:
                return self._read_staged(name, sql)
            except _NotSupported as error:
                _hint_unload_refused_once(self.lake_catalog, error.trino_message)
        table = self.query(sql)
        if table.num_rows > HINT_ROWS and not self.staging_dir:
            _hint_staging_once()
        return table

    def _read_staged(self, name: str, sql: str) -> pa.Table:
        """The rows of a query, which Trino writes as Parquet into a staging folder."""
        import pyarrow.dataset as ds

        schema = self.query(f"select * from ({sql}) limit 0").schema
        staged_schema = staging_schema(schema)
        selected = ", ".join(
            # as text at microseconds, in UTC for a time zone's values, as the JSON pages give
            f"cast(cast({quote(field.name)} as timestamp(6)) as varchar)"
            if pa.types.is_timestamp(field.type) and field.type.tz is None else
            f"cast(cast(at_timezone({quote(field.name)}, 'UTC') as timestamp(6)) as varchar)"
            if pa.types.is_timestamp(field.type) else quote(field.name)
            for field in schema)
        with self._staging_folder(name, staged_schema) as staging:
            # the files live for one read: Trino writes them uncompressed (3x faster here) and
            # without the column statistics it would keep for the planner
            catalog = quote(self.lake_catalog)
            self._run(f"insert into {staging.table} select {selected} from ({sql})",
                      session={f"{catalog}.compression_codec": "NONE",
                               f"{catalog}.collect_column_statistics_on_write": False})
            files = ds.dataset(staging.path, schema=staged_schema, format="parquet",
                               filesystem=staging.filesystem)
            staged = files.to_table()
        return pa.Table.from_arrays(
            [column.cast(pa.timestamp("us")).cast(field.type)
             if pa.types.is_timestamp(field.type) else column
             for column, field in zip(staged.columns, schema, strict=True)], schema=schema)

    # ----------------------------------------------------------------------------- write

    def write_table(self, name: str, data: pa.Table | pa.RecordBatchReader,
                    mode: str = "replace") -> int:
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', got {mode!r}")
        replace = mode == "replace" or not self.table_exists(name)
        if self.staging_dir:
            return self._write_staged(name, data, replace)
        if isinstance(data, pa.RecordBatchReader) or data.num_rows > HINT_ROWS:
            _hint_staging_once()
        return self._write_inserts(name, data, replace)

    def _create_sql(self, name: str, schema: pa.Schema, replace: bool) -> str:
        columns = ", ".join(f"{quote(field.name)} {trino_type(field)}" for field in schema)
        verb = "create or replace table" if replace else "create table if not exists"
        return f"{verb} {self.qualified(name)} ({columns})"

    def _write_inserts(self, name: str, data: pa.Table | pa.RecordBatchReader,
                       replace: bool) -> int:
        """INSERT ... SELECT FROM UNNEST(array per column): one array literal per column parses
        and plans some 20x faster on Trino than the same rows as a VALUES list."""
        fields = list(data.schema)
        columns = ", ".join(quote(field.name) for field in fields)
        head = f"insert into {self.qualified(name)} ({columns}) select * from unnest("
        written = 0
        with self._connect() as connection:
            cursor = connection.cursor()
            self._execute(cursor, self._create_sql(name, data.schema, replace))
            cursor.fetchall()
            literals: list[list[str]] = [[] for _ in fields]
            # the statement's length before any value: its head and a cast around each array
            empty_size = len(head) + 40 * len(fields)
            size = empty_size

            def flush() -> None:
                nonlocal size, written
                if literals[0]:
                    arrays = ", ".join(
                        f"cast(array[{', '.join(values)}] as array({trino_type(field)}))"
                        for field, values in zip(fields, literals, strict=True))
                    self._execute(cursor, f"{head}{arrays})")
                    written += cursor.fetchall()[0][0]
                for values in literals:
                    values.clear()
                size = empty_size

            for batch in _batches(data):
                for record in zip(*(column.to_pylist() for column in batch.columns),
                                  strict=True):
                    row = [sql_literal(value) for value in record]
                    row_size = sum(len(value) + 2 for value in row)
                    if size + row_size > self.insert_chars:
                        flush()
                    for values, value in zip(literals, row, strict=True):
                        values.append(value)
                    size += row_size
            flush()
        return written

    @contextlib.contextmanager
    def _staging_folder(self, name: str, schema: pa.Schema) -> Iterator[_StagingFolder]:
        """A new, empty folder of the staging dir, registered as an external table of the lake
        catalog with these columns; the table and the folder's files are removed on exit."""
        import pyarrow.fs as pafs

        staging_name = f"{name}_{uuid.uuid4().hex[:12]}"
        if "://" in self.staging_dir:
            filesystem, root = pafs.FileSystem.from_uri(self.staging_dir)
            location = f"{self.staging_dir.rstrip('/')}/{staging_name}"
        else:
            filesystem, root = pafs.LocalFileSystem(), os.path.abspath(self.staging_dir)
            location = f"local://{root}/{staging_name}"
        folder = _StagingFolder(
            filesystem, f"{root.rstrip('/')}/{staging_name}",
            f"{quote(self.lake_catalog)}.{quote(STAGING_SCHEMA)}.{quote(staging_name)}")
        filesystem.create_dir(folder.path, recursive=True)
        try:
            columns = ", ".join(f"{quote(field.name)} {trino_type(field)}" for field in schema)
            self._run(f"create schema if not exists {quote(self.lake_catalog)}."
                      f"{quote(STAGING_SCHEMA)}")
            self._run(f"create table {folder.table} ({columns}) with (format = 'PARQUET', "
                      f"external_location = {sql_literal(location)})")
            yield folder
        finally:
            # an external table's files outlive it: remove both
            self._run(f"drop table if exists {folder.table}")
            filesystem.delete_dir(folder.path)

    def _write_staged(self, name: str, data: pa.Table | pa.RecordBatchReader,
                      replace: bool) -> int:
        import pyarrow.parquet as pq

        staged_schema = staging_schema(data.schema)
        with self._staging_folder(name, staged_schema) as staging:
            with staging.filesystem.open_output_stream(f"{staging.path}/part-0.parquet") as \
                    stream, pq.ParquetWriter(stream, staged_schema) as writer:
                for batch in _batches(data):
                    writer.write_batch(batch.cast(staged_schema) if staged_schema != batch.schema
                                       else batch)
            selected = ", ".join(
                f"cast({quote(field.name)} as {trino_type(field)}) as {quote(field.name)}"
                if pa.types.is_timestamp(field.type) else quote(field.name)
                for field in data.schema)
            if replace:
                sql = (f"create or replace table {self.qualified(name)} as "
                       f"select {selected} from {staging.table}")
            else:
                sql = (f"insert into {self.qualified(name)} "
                       f"({', '.join(quote(field.name) for field in data.schema)}) "
                       f"select {selected} from {staging.table}")
            return int(self._run(sql)[0][0])
