"""The local Trino: one real server end to end (Hive lake + Iceberg), as sqlrec configures it.

The end-to-end part downloads Trino once (about 800 MB, into ~/.cache/sqlrec/trino/476 or
$SQLREC_TRINO_CACHE) and starts it once per session. Set SQLREC_SKIP_TRINO=1 to skip it, which is
reported loudly; a missing Java 24+ or Maven is a failure, not a skip.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlrec import cli
from sqlrec.trino_local.lake_tables import register_parquet_table, sync_partitions_sql
from sqlrec.trino_local.server import TrinoServer

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


# the session's one Trino (conftest), on the worker that runs every Trino test; its fixture
# checks at the end of the session that the server stopped
pytestmark = [pytest.mark.trino, pytest.mark.xdist_group("trino")]


@pytest.fixture(scope="session")
def trino(trino_server):
    return trino_server


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
    trino.query(sync_partitions_sql("raw", "events", mode="FULL"))
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
    statements = register_parquet_table(trino, table_dir, "raw_int", "events")
    assert "user_id\" bigint" in statements[2] and "event_date\" varchar" in statements[2]
    assert _rows(trino, "SELECT count(*), max(user_id) FROM lake.raw_int.events") == [[4, 2]]
    # an integer Parquet column may also be declared varchar (ids are strings downstream)
    trino.query(
        "CREATE TABLE lake.raw_int.events_str (user_id varchar, event_date varchar) "
        "WITH (format = 'PARQUET', partitioned_by = ARRAY['event_date'], "
        f"external_location = 'local://{table_dir}')"
    )
    trino.query(sync_partitions_sql("raw_int", "events_str"))
    assert _rows(trino, "SELECT min(user_id) FROM lake.raw_int.events_str") == [["0"]]


def test_iceberg_tables_live_under_the_run_directory(trino, lake_events):
    """dbt's tables go to the iceberg catalog, whose warehouse the run directory holds."""
    trino.query("CREATE SCHEMA iceberg.dev")
    ctas = ("CREATE TABLE iceberg.dev.events AS SELECT * FROM lake.raw.events "
            "WHERE event_date <= '2024-01-02'")
    assert _rows(trino, ctas) == [[8]]
    assert any(trino.iceberg_warehouse_dir.rglob("*.parquet"))


def test_cli_status_of_running_server(trino, capsys):
    code = cli.main(["trino", "status", "--port", str(trino.port), "--run-dir",
                     str(trino.run_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"running at {trino.url}" in out


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP port is listened on, from /proc/net: dotted IPv4 (IPv4-mapped
    ones unmapped) or IPv6."""
    import ipaddress

    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # /proc/net prints each 32-bit word in host (little-endian) order
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))
                ip = ipaddress.ip_address(words)
                # a JVM with IPv6 listens on the IPv4-mapped form (::ffff:127.0.0.1)
                found.add(str(getattr(ip, "ipv4_mapped", None) or ip))
    return found


def test_the_local_server_listens_on_the_loopback_only(trino):
    """The development server has no authentication: it must not be reachable from other hosts."""
    assert listening_addresses(trino.port) == {"127.0.0.1"}
