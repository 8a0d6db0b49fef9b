"""Arrow and Trino types both ways, and exact SQL literals (no server needed)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from sqlrec.errors import UserError
from sqlrec.warehouse.trino_sql import arrow_type, sql_literal, trino_type


def test_trino_types_for_arrow_columns():
    assert trino_type(pa.string()) == "varchar"
    assert trino_type(pa.int64()) == "bigint"
    assert trino_type(pa.int32()) == "integer"
    assert trino_type(pa.timestamp("us")) == "timestamp(6)"
    assert trino_type(pa.timestamp("ms")) == "timestamp(6)"
    assert trino_type(pa.timestamp("us", tz="UTC")) == "timestamp(6) with time zone"
    assert trino_type(pa.float64()) == "double"
    assert trino_type(pa.float32()) == "real"
    assert trino_type(pa.field("ok", pa.bool_())) == "boolean"
    with pytest.raises(UserError, match="column tags: no Trino type"):
        trino_type(pa.field("tags", pa.list_(pa.string())))


def test_trino_result_types_become_arrow_types():
    assert arrow_type("varchar") == pa.string()
    assert arrow_type("varchar(12)") == pa.string()
    assert arrow_type("bigint") == pa.int64()
    assert arrow_type("timestamp(6)") == pa.timestamp("us")
    assert arrow_type("timestamp(3) with time zone") == pa.timestamp("us", tz="UTC")
    assert arrow_type("decimal(10,2)") == pa.decimal128(10, 2)
    assert arrow_type("array(varchar)") is None


@pytest.mark.parametrize("value", [0.1, 1 / 3, 5e-324, -1.7976931348623157e308, 2.0, 1e22])
def test_double_literals_read_back_exactly(value):
    literal = sql_literal(value)
    assert "e" in literal  # a DOUBLE literal, not a DECIMAL one
    assert float(literal) == value


def test_sql_literals():
    assert sql_literal(None) == "NULL"
    assert sql_literal(True) == "TRUE"
    assert sql_literal(2**40) == "1099511627776"
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal(float("nan")) == "nan()"
    assert sql_literal(float("-inf")) == "-infinity()"
    assert sql_literal(dt.date(2026, 1, 2)) == "DATE '2026-01-02'"
    assert (sql_literal(dt.datetime(2026, 1, 2, 3, 4, 5, 6))
            == "TIMESTAMP '2026-01-02 03:04:05.000006'")
    assert (sql_literal(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
            == "TIMESTAMP '2026-01-02 03:04:05.000000 +00:00'")
    with pytest.raises(UserError, match="cannot write a value of type bytes"):
        sql_literal(b"raw")
