"""The local Trino: configuration units, and one real server end to end (Hive lake + Iceberg).

The end-to-end part downloads Trino once (about 800 MB, into ~/.cache/sqlrec/trino/476 or
$SQLREC_TRINO_CACHE) and starts it once per session. Set SQLREC_SKIP_TRINO=1 to skip it, which is
reported loudly; a missing Java 24+ or Maven is a failure, not a skip.
"""

from __future__ import annotations

import datetime as dt
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlrec import cli, trino_local, warehouse
from sqlrec.errors import UserError
from sqlrec.trino_local import TrinoServer
from sqlrec.trino_warehouse import arrow_type, sql_literal, trino_type

from helpers import SKIP_TRINO, free_port, skip_trino_loudly

# ----------------------------------------------------------------------- no server needed


def test_catalog_properties_use_local_file_system(tmp_path):
    lake = trino_local.lake_catalog_properties(tmp_path / "meta")
    assert lake["connector.name"] == "hive"
    assert lake["hive.metastore"] == "file"
    assert lake["hive.metastore.catalog.dir"] == f"local://{tmp_path}/meta"
    assert lake["fs.native-local.enabled"] == "true"
    assert lake["local.location"] == "/"
    assert lake["hive.timestamp-precision"] == "MICROSECONDS"
    iceberg = trino_local.iceberg_catalog_properties(tmp_path / "wh")
    assert iceberg["connector.name"] == "iceberg"
    assert iceberg["iceberg.catalog.type"] == "testing_file_metastore"
    assert iceberg["hive.metastore.catalog.dir"] == f"local://{tmp_path}/wh"


def test_write_config(tmp_path):
    server = TrinoServer(port=18123, cache_dir=tmp_path / "cache", run_dir=tmp_path / "run",
                         heap="2G", java_home=tmp_path / "jdk")
    server.write_config()
    etc = tmp_path / "run" / "etc"
    config = (etc / "config.properties").read_text()
    assert "http-server.http.port=18123\n" in config
    assert "discovery.uri=http://127.0.0.1:18123\n" in config
    assert "node-scheduler.include-coordinator=true\n" in config
    assert "-Xmx2G" in (etc / "jvm.config").read_text().splitlines()
    node = (etc / "node.properties").read_text()
    assert f"node.data-dir={tmp_path / 'run' / 'data'}\n" in node
    assert sorted(p.name for p in (etc / "catalog").iterdir()) == [
        "iceberg.properties", "lake.properties", "memory.properties"]
    assert sorted(p.name for p in (tmp_path / "run" / "plugins").iterdir()) == [
        "hive", "iceberg", "memory"]


def test_defaults_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SQLREC_TRINO_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("SQLREC_TRINO_PORT", "9999")
    server = TrinoServer()
    assert server.port == 9999
    assert server.url == "http://127.0.0.1:9999"
    assert server.run_dir == tmp_path / "c" / "run-9999"
    monkeypatch.setenv("SQLREC_TRINO_PORT", "nope")
    with pytest.raises(trino_local.UserError):
        TrinoServer()


def test_plugin_zip_is_unpacked_without_its_top_folder(tmp_path):
    archive = tmp_path / "trino-x-476.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("trino-x-476/", "")
        zf.writestr("trino-x-476/a.jar", b"jar")
        zf.writestr("trino-x-476/sub/b.jar", b"jar2")
    trino_local._unzip_stripping_top(archive, tmp_path / "plugin" / "x")
    assert (tmp_path / "plugin" / "x" / "a.jar").read_bytes() == b"jar"
    assert (tmp_path / "plugin" / "x" / "sub" / "b.jar").read_bytes() == b"jar2"


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


def test_a_target_that_is_not_trino_is_refused(monkeypatch, tmp_path):
    (tmp_path / "profiles.yml").write_text(
        "sqlrec:\n  target: other\n  outputs:\n    other:\n      type: duckdb\n"
        "      path: x.duckdb\n")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path))
    with pytest.raises(UserError, match="target 'other' of the dbt profile is 'duckdb'"):
        warehouse.connect("other")
    with pytest.raises(UserError, match="cannot read target 'missing'"):
        warehouse.connect("missing")


def test_cli_has_trino_actions():
    parser = cli.build_parser()
    args = parser.parse_args(["trino", "start", "--port", "8123", "--lake", "/tmp/lake"])
    assert args.trino_action == "start" and args.port == 8123 and args.lake == Path("/tmp/lake")
    for action in ("install", "stop", "status"):
        assert parser.parse_args(["trino", action]).trino_action == action


# ------------------------------------------------------------------------- the real server



def _write_partition(table_dir: Path, day: str, rows: int, int_ids: bool = False) -> None:
    """One Hive partition folder, without the partition column inside the file."""
    folder = table_dir / f"event_date={day}"
    folder.mkdir(parents=True)
    base = dt.datetime.fromisoformat(day)
    ids = list(range(rows))
    table = pa.table({
        "event_id": [f"{day}-{i}" for i in ids],
        "user_id": [i % 3 for i in ids] if int_ids else [f"u{i % 3}" for i in ids],
        "item_id": [i % 4 for i in ids] if int_ids else [f"i{i % 4}" for i in ids],
        "event_type": [("view", "like", "cart", "purchase")[i % 4] for i in ids],
        "event_time": pa.array(
            [base + dt.timedelta(minutes=i, microseconds=123456) for i in ids], pa.timestamp("us")
        ),
    })
    pq.write_table(table, folder / "part-0.parquet")


@pytest.fixture(scope="session")
def trino(request, tmp_path_factory):
    if SKIP_TRINO:
        skip_trino_loudly(request, "the Trino end-to-end tests")
    run_dir = tmp_path_factory.mktemp("trino-run")
    lake = tmp_path_factory.mktemp("lake")
    # generous timeout: on a busy 2-core box start-up has taken over 3 minutes (usually ~20 s)
    server = TrinoServer(lake_dir=lake, port=free_port(), run_dir=run_dir, heap="3G",
                         startup_timeout=600)
    with server:
        assert server.is_running()
        assert server.info()["starting"] is False
        print(f"Trino started in {server.startup_seconds:.1f} s", file=sys.__stderr__)
        yield server
        pid = server.pid()
    assert not server.is_running()
    assert pid is not None and not trino_local._alive(pid)


def _rows(server: TrinoServer, sql: str) -> list[list]:
    return server.query(sql)


@pytest.fixture(scope="session")
def lake_events(trino) -> Path:
    """lake.raw.events: an external table over two partition folders, synced with ADD."""
    table_dir = trino.lake_dir / "events"
    _write_partition(table_dir, "2024-01-01", 3)
    _write_partition(table_dir, "2024-01-02", 5)
    trino.query("CREATE SCHEMA lake.raw")
    trino.query(
        "CREATE TABLE lake.raw.events (event_id varchar, user_id varchar, item_id varchar, "
        "event_type varchar, event_time timestamp(6), event_date varchar) "
        "WITH (format = 'PARQUET', partitioned_by = ARRAY['event_date'], "
        f"external_location = 'local://{table_dir}')"
    )
    assert _rows(trino, "SELECT count(*) FROM lake.raw.events") == [[0]]  # no partitions yet
    trino.query("CALL lake.system.sync_partition_metadata('raw', 'events', 'ADD')")
    return table_dir


def test_lake_external_table_and_partition_sync(trino, lake_events):
    table_dir = lake_events
    counts = "SELECT event_date, count(*) FROM lake.raw.events GROUP BY 1 ORDER BY 1"
    assert _rows(trino, counts)[:2] == [["2024-01-01", 3], ["2024-01-02", 5]]
    # microseconds survive: Parquet timestamp(us) read as timestamp(6)
    first = _rows(trino, "SELECT min(event_time) FROM lake.raw.events")[0][0]
    assert first == dt.datetime(2024, 1, 1, 0, 0, 0, 123456)

    # a new day lands in the lake: invisible until the next sync
    _write_partition(table_dir, "2024-01-03", 2)
    assert _rows(trino, "SELECT count(*) FROM lake.raw.events") == [[8]]
    trino.query(trino_local.sync_partitions_sql("raw", "events", mode="FULL"))
    assert _rows(trino, counts) == [["2024-01-01", 3], ["2024-01-02", 5], ["2024-01-03", 2]]

    # dropping an external table leaves the lake alone
    trino.query("CREATE TABLE lake.raw.events_copy (event_id varchar, event_date varchar) "
                "WITH (format = 'PARQUET', partitioned_by = ARRAY['event_date'], "
                f"external_location = 'local://{table_dir}')")
    trino.query("DROP TABLE lake.raw.events_copy")
    assert len(list(table_dir.rglob("*.parquet"))) == 3


def test_register_parquet_table_with_integer_ids(trino):
    table_dir = trino.lake_dir / "events_int"
    _write_partition(table_dir, "2024-02-01", 4, int_ids=True)
    statements = trino_local.register_parquet_table(trino, table_dir, "raw_int", "events")
    assert "user_id\" bigint" in statements[2] and "event_date\" varchar" in statements[2]
    assert _rows(trino, "SELECT count(*), max(user_id) FROM lake.raw_int.events") == [[4, 2]]
    # an integer Parquet column may also be declared varchar (ids are strings downstream)
    trino.query(
        "CREATE TABLE lake.raw_int.events_str (user_id varchar, event_date varchar) "
        "WITH (format = 'PARQUET', partitioned_by = ARRAY['event_date'], "
        f"external_location = 'local://{table_dir}')"
    )
    trino.query(trino_local.sync_partitions_sql("raw_int", "events_str"))
    assert _rows(trino, "SELECT min(user_id) FROM lake.raw_int.events_str") == [["0"]]


def test_iceberg_ctas_merge_delete(trino, lake_events):
    trino.query("CREATE SCHEMA iceberg.dev")
    ctas = ("CREATE TABLE iceberg.dev.events AS SELECT * FROM lake.raw.events "
            "WHERE event_date <= '2024-01-02'")
    assert _rows(trino, ctas) == [[8]]
    merged = trino.query(
        "MERGE INTO iceberg.dev.events t "
        "USING (VALUES ('2024-01-01-0', 'purchase'), ('new-1', 'view')) "
        "AS s (event_id, event_type) "
        "ON t.event_id = s.event_id "
        "WHEN MATCHED THEN UPDATE SET event_type = s.event_type "
        "WHEN NOT MATCHED THEN INSERT (event_id, user_id, item_id, event_type, event_time, "
        "event_date) VALUES (s.event_id, 'u9', 'i9', s.event_type, "
        "TIMESTAMP '2024-01-04 00:00:00.000001', '2024-01-04')"
    )
    assert merged == [[2]]
    assert _rows(trino, "SELECT event_type FROM iceberg.dev.events "
                        "WHERE event_id = '2024-01-01-0'") == [["purchase"]]
    assert _rows(trino, "DELETE FROM iceberg.dev.events WHERE event_date = '2024-01-02'") == [[5]]
    assert _rows(trino, "SELECT event_date, count(*) FROM iceberg.dev.events "
                        "GROUP BY 1 ORDER BY 1") == [["2024-01-01", 3], ["2024-01-04", 1]]
    assert _rows(trino, "INSERT INTO iceberg.dev.events SELECT * FROM lake.raw.events "
                        "WHERE event_date = '2024-01-02'") == [[5]]
    assert _rows(trino, "SELECT count(*) FROM iceberg.dev.events") == [[9]]
    # the data lives under the run directory's warehouse
    assert any(trino.iceberg_warehouse_dir.rglob("*.parquet"))


def test_cli_status_of_running_server(trino, capsys):
    code = cli.main(["trino", "status", "--port", str(trino.port), "--run-dir",
                     str(trino.run_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"running at {trino.url}" in out
