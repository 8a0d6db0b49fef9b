"""The warehouse on Trino: the Python steps read and write the tables dbt builds there.

Connection: the `trino` target of the dbt profile, resolved by dbt's own profile code, so host,
port, user, https, certificate and password/JWT auth are exactly what `dbt --target trino` uses.
Tables live in the profile's catalog and schema (Iceberg in sqlrec's set-up).

Reading goes through Trino's client protocol (JSON pages), converted to Arrow batch by batch.

Writing is never row by row. Two ways, chosen by configuration:

- **Parquet staging** (``SQLREC_TRINO_STAGING_DIR`` set): the rows are written as Parquet into
  that folder (a local path or a URL pyarrow can write, such as ``s3://bucket/prefix``), the
  folder is registered as an external table of the Hive catalog over the lake
  (``SQLREC_TRINO_LAKE_CATALOG``, default ``lake``), and one ``CREATE TABLE AS`` / ``INSERT ...
  SELECT`` copies it into the target table; the staging table and its files are removed after.
  Trino must read the folder under the same name (a local path is given to Trino as
  ``local://<path>``, what the local server's native file system reads).
- **Batched INSERTs** (otherwise): ``INSERT ... SELECT * FROM UNNEST(<one array per column>)``
  statements of up to ``SQLREC_TRINO_INSERT_CHARS`` characters (default 900,000, under Trino's
  ``query.max-length``) each. Needs nothing but a connection; several times slower.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa

from sqlrec.errors import UserError

# the Trino client announces at INFO, on import, that it has no keyring (used only by OAuth2)
logging.getLogger("trino.auth").setLevel(logging.WARNING)

FETCH_ROWS = 50_000
# Trino refuses statements longer than query.max-length (default 1,000,000 characters)
DEFAULT_INSERT_CHARS = 900_000
STAGING_SCHEMA = "sqlrec_staging"
HINT_ROWS = 100_000


def profile_credentials(target: str = "trino") -> Any:
    """The credentials of a target of the sqlrec dbt profile, rendered by dbt itself (env vars,
    secrets and all), so that Python connects exactly as dbt does."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.exceptions import DbtProfileError, DbtProjectError
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import CompilationError

    from sqlrec import project

    set_invocation_context(os.environ)
    profiles_dir = project.profiles_dir()
    try:
        raw = read_profile(str(profiles_dir)).get(project.PROFILE_NAME)
        if raw is None:
            raise UserError(f"no '{project.PROFILE_NAME}' profile in {profiles_dir}/profiles.yml")
        renderer = ProfileRenderer({})
        # the same two steps dbt takes: pick the target's block, render its env vars. These
        # helpers are dbt's internals (dbt-core is pinned to 1.11; the tests exercise them).
        data = renderer.render_data(
            Profile._get_profile_data(raw, project.PROFILE_NAME, target))
        credentials = Profile._credentials_from_profile(data, project.PROFILE_NAME, target)
    except (DbtProfileError, DbtProjectError, CompilationError) as error:
        raise UserError(f"cannot read target {target!r} of the dbt profile in {profiles_dir}: "
                        f"{error}") from None
    if credentials.type != "trino":
        raise UserError(f"target {target!r} of the dbt profile is {credentials.type!r}, not trino")
    return credentials


def connection_factory(credentials: Any) -> Callable[[], Any]:
    """A function that opens a Trino DB-API connection with the profile's settings."""
    import trino.dbapi
    from trino.transaction import IsolationLevel

    def connect():
        return trino.dbapi.connect(
            host=credentials.host, port=credentials.port,
            user=getattr(credentials, "impersonation_user", None) or credentials.user,
            catalog=credentials.database, schema=credentials.schema,
            http_scheme=credentials.http_scheme.value, auth=credentials.trino_auth(),
            # dbt-trino verifies certificates unless the profile's `cert` says otherwise
            verify=True if credentials.cert is None else credentials.cert,
            session_properties=credentials.session_properties or None,
            roles=credentials.roles, max_attempts=credentials.retries,
            source="sqlrec", isolation_level=IsolationLevel.AUTOCOMMIT)

    return connect


# ----------------------------------------------------------------------------------- types

_ARROW_TYPES = {
    "varchar": pa.string(), "char": pa.string(), "bigint": pa.int64(), "integer": pa.int32(),
    "smallint": pa.int16(), "tinyint": pa.int8(), "double": pa.float64(), "real": pa.float32(),
    "boolean": pa.bool_(), "date": pa.date32(),
}


def arrow_type(trino_type: str) -> pa.DataType | None:
    """The Arrow type for a Trino result column type (None: a type sqlrec does not read)."""
    name = trino_type.split("(", 1)[0].strip().lower()
    if name in _ARROW_TYPES:
        return _ARROW_TYPES[name]
    if name == "timestamp":
        return pa.timestamp("us", tz="UTC" if "with time zone" in trino_type else None)
    if name == "decimal":
        precision, scale = (int(part) for part in re.findall(r"\d+", trino_type)[:2])
        return pa.decimal128(precision, scale)
    return None


def trino_type(column: pa.Field | pa.DataType) -> str:
    """The Trino column type for an Arrow field or type (of a table or Parquet file)."""
    kind = column.type if isinstance(column, pa.Field) else column
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "varchar"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return {8: "tinyint", 16: "smallint", 32: "integer"}.get(kind.bit_width, "bigint")
    if pa.types.is_float32(kind):
        return "real"
    if pa.types.is_floating(kind):
        return "double"
    if pa.types.is_timestamp(kind):
        # one precision whatever the unit: the Hive connector reads only its configured one
        return "timestamp(6)" + (" with time zone" if kind.tz else "")
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    name = f"column {column.name}: " if isinstance(column, pa.Field) else ""
    raise UserError(f"{name}no Trino type for the Arrow type {kind}")


def sql_literal(value: Any) -> str:
    """A Trino SQL literal of a Python value, exact: doubles keep all 17 digits."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan()"
        if math.isinf(value):
            return "infinity()" if value > 0 else "-infinity()"
        # repr is the shortest text that reads back as the same double; an exponent makes it
        # a DOUBLE literal (a plain 0.5 would be a DECIMAL)
        text = repr(value)
        return text if "e" in text else text + "e0"
    if isinstance(value, Decimal):
        return f"DECIMAL '{value}'"
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if value.tzinfo is not None:
            text += " " + value.strftime("%z")[:3] + ":" + value.strftime("%z")[3:]
        return f"TIMESTAMP '{text}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise UserError(f"cannot write a value of type {type(value).__name__} to Trino")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@functools.cache
def _hint_staging_once() -> None:
    print("sqlrec: writing to Trino by batched INSERTs (about 20,000 rows/s here); set "
          "SQLREC_TRINO_STAGING_DIR to a folder Trino's lake catalog reads for Parquet staging "
          "(about 500,000 rows/s)", file=sys.stderr)


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
                 insert_chars: int = DEFAULT_INSERT_CHARS):
        self._connect = connect
        self.catalog = catalog
        self.schema = schema
        self.staging_dir = staging_dir or None
        self.lake_catalog = lake_catalog
        self.insert_chars = insert_chars

    @classmethod
    def from_profile(cls, target: str = "trino") -> TrinoWarehouse:
        credentials = profile_credentials(target)
        return cls(connection_factory(credentials), credentials.database, credentials.schema,
                   staging_dir=os.environ.get("SQLREC_TRINO_STAGING_DIR"),
                   lake_catalog=os.environ.get("SQLREC_TRINO_LAKE_CATALOG", "lake"),
                   insert_chars=int(os.environ.get("SQLREC_TRINO_INSERT_CHARS",
                                                   DEFAULT_INSERT_CHARS)))

    @property
    def write_method(self) -> str:
        return "parquet staging" if self.staging_dir else "batched inserts"

    def qualified(self, name: str) -> str:
        return f"{quote(self.catalog)}.{quote(self.schema)}.{quote(name)}"

    def _execute(self, cursor: Any, sql: str, params: list | None = None) -> None:
        import trino.exceptions

        try:
            cursor.execute(sql, params) if params else cursor.execute(sql)
        except trino.exceptions.TrinoUserError as error:
            raise UserError(f"Trino rejected a query: {error.message}\n{sql[:500]}") from None
        except (trino.exceptions.HttpError, OSError) as error:
            raise UserError(f"cannot reach Trino: {error}") from None

    def _run(self, sql: str, params: list | None = None) -> list[list[Any]]:
        with self._connect() as connection:
            cursor = connection.cursor()
            self._execute(cursor, sql, params)
            return cursor.fetchall()

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
            "where table_schema = ? and table_name = ?", [self.schema, name])
        return found[0][0] > 0

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        if not self.table_exists(name):
            raise UserError(f"table {self.catalog}.{self.schema}.{name} not found on Trino; run "
                            "`sqlrec build` (SQLREC_TARGET=trino)")
        selected = ", ".join(quote(column) for column in columns) if columns else "*"
        return self.query(f"select {selected} from {self.qualified(name)}")

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

    def _write_staged(self, name: str, data: pa.Table | pa.RecordBatchReader,
                      replace: bool) -> int:
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        staging_name = f"{name}_{uuid.uuid4().hex[:12]}"
        if "://" in self.staging_dir:
            filesystem, root = pafs.FileSystem.from_uri(self.staging_dir)
            location = f"{self.staging_dir.rstrip('/')}/{staging_name}"
        else:
            filesystem, root = pafs.LocalFileSystem(), os.path.abspath(self.staging_dir)
            location = f"local://{root}/{staging_name}"
        folder = f"{root.rstrip('/')}/{staging_name}"
        filesystem.create_dir(folder, recursive=True)
        # Timestamps travel as text and are cast back: the Hive catalog reads Parquet
        # timestamps only at its own configured precision.
        staged_schema = pa.schema([
            pa.field(field.name, pa.string()) if pa.types.is_timestamp(field.type) else field
            for field in data.schema])
        staging_table = (f"{quote(self.lake_catalog)}.{quote(STAGING_SCHEMA)}."
                         f"{quote(staging_name)}")
        try:
            with filesystem.open_output_stream(f"{folder}/part-0.parquet") as stream, \
                    pq.ParquetWriter(stream, staged_schema) as writer:
                for batch in _batches(data):
                    writer.write_batch(batch.cast(staged_schema) if staged_schema != batch.schema
                                       else batch)
            columns = ", ".join(f"{quote(field.name)} {trino_type(field)}"
                                for field in staged_schema)
            self._run(f"create schema if not exists {quote(self.lake_catalog)}."
                      f"{quote(STAGING_SCHEMA)}")
            self._run(f"create table {staging_table} ({columns}) with (format = 'PARQUET', "
                      f"external_location = {sql_literal(location)})")
            selected = ", ".join(
                f"cast({quote(field.name)} as {trino_type(field)}) as {quote(field.name)}"
                if pa.types.is_timestamp(field.type) else quote(field.name)
                for field in data.schema)
            if replace:
                sql = (f"create or replace table {self.qualified(name)} as "
                       f"select {selected} from {staging_table}")
            else:
                sql = (f"insert into {self.qualified(name)} "
                       f"({', '.join(quote(field.name) for field in data.schema)}) "
                       f"select {selected} from {staging_table}")
            return int(self._run(sql)[0][0])
        finally:
            # an external table's files outlive it: remove both
            self._run(f"drop table if exists {staging_table}")
            filesystem.delete_dir(folder)
