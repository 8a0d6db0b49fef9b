"""Arrow and Trino, both ways: column types, exact SQL literals, quoted identifiers.

Shared by the Trino warehouse (reading result pages, writing batches) and the local server's lake
tables (`sqlrec.trino_local.lake_tables`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

import pyarrow as pa

from sqlrec.errors import UserError

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


def staging_schema(schema: pa.Schema) -> pa.Schema:
    """The columns of a staging table's Parquet files: timestamps as text, which the reader casts
    back (the Hive catalog reads and writes Parquet timestamps only at its configured precision)."""
    return pa.schema([pa.field(field.name, pa.string()) if pa.types.is_timestamp(field.type)
                      else field for field in schema])


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
