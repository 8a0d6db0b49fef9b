"""Benchmark: the similarity path on Trino against DuckDB, side by side in one run.

    python bench/bench_trino.py [--events 1000000] [--data-dir data/bench] [--heap 6G]

Generates a lake once (kept under --data-dir), starts a local Trino (python/sqlrec/
trino_local/; its start-up time is reported), then times `dbt build --select +item_similarity`
(models and seed, as bench_similarity.py) on each engine, each in a child process of its own:
DuckDB into a fresh file, Trino into a fresh Iceberg schema (the project's on-run-start hook
registers the lake as external Hive tables first). Trino is timed twice, cold (the first queries
of a fresh JVM) and warm. Prints wall seconds and the warm Trino / DuckDB ratio, and checks that
both item_similarity tables have the same number of rows.

Then the Python steps' transfers (python/sqlrec/warehouse/trino.py): rows per second of writing
an ALS-shaped table (user_id, item_id, score, rank; --transfer-rows rows) by batched INSERTs and
by Parquet staging, and of reading it and the warm build's int_user_item_scores (what `sqlrec
train` reads) from the Iceberg data files, by Parquet staging and through the client protocol.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "python"))

import duckdb  # noqa: E402
from bench_similarity import PUBLISHED_END_DATE, bench_profiles  # noqa: E402

from sqlrec import project  # noqa: E402
from sqlrec.data.generate import generate_lake  # noqa: E402
from sqlrec.trino_local.server import TrinoServer  # noqa: E402
from sqlrec.warehouse.trino import TrinoWarehouse  # noqa: E402


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}")
    return seconds


def measure_transfers(server: TrinoServer, schema: str, rows: int,
                      staging_dir: Path) -> list[tuple[str, float, int]]:
    """Rows per second of TrinoWarehouse writing an ALS-shaped table both ways, and of reading
    it and the build's int_user_item_scores back every way."""
    import numpy as np
    import pyarrow as pa

    random = np.random.default_rng(0)
    k = 50
    table = pa.table({
        "user_id": pa.array([f"u_{number}" for number in range(rows // k) for _ in range(k)]),
        "item_id": pa.array([f"i_{number}" for number in random.integers(0, 100_000, rows)]),
        "score": random.random(rows),
        "rank": pa.array(np.tile(np.arange(1, k + 1, dtype=np.int32), rows // k)),
    })
    store = TrinoWarehouse(lambda: server.connect(catalog="iceberg", schema=schema),
                           "iceberg", schema)
    results = []
    for staging in (None, staging_dir):
        store.staging_dir = str(staging) if staging else None
        started = time.perf_counter()
        written = store.write_table("bench_transfer", table)
        results.append((f"write bench_transfer, {store.write_method}",
                        written / (time.perf_counter() - started), written))
    for table, expected in (("bench_transfer", rows), ("int_user_item_scores", None)):
        results += measure_reads(store, table, staging_dir, expected)
    return results


def measure_reads(store: TrinoWarehouse, table: str, staging_dir: Path,
                  expected: int | None) -> list[tuple[str, float, int]]:
    """Rows per second of reading a whole table each way `read_table` can: the Iceberg data
    files, Parquet staging, the client protocol; the same rows each way."""
    results, counts = [], set()
    for data_files, staging in ((True, None), (False, staging_dir), (False, None)):
        store.read_data_files, store.staging_dir = data_files, str(staging) if staging else None
        method = "iceberg data files" if data_files else store.read_method
        started = time.perf_counter()
        read = store.read_table(table).num_rows
        results.append((f"read {table}, {method}", read / (time.perf_counter() - started),
                        read))
        counts.add(read)
    if len(counts) != 1 or (expected is not None and counts != {expected}):
        raise SystemExit(f"{table}: the read methods gave {sorted(counts)} rows")
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=PROJECT / "data" / "bench")
    parser.add_argument("--heap", default="6G", help="Trino JVM heap")
    parser.add_argument("--transfer-rows", type=int, default=1_000_000,
                        help="rows of the write/read measurement (0: skip it)")
    args = parser.parse_args()

    events = args.events
    lake = (args.data_dir / f"trino-lake-{events}").resolve()
    if not any((lake / "events").glob("*/*.parquet")):
        print(f"generating {events} events into {lake}", flush=True)
        generate_lake(lake, events=events, users=max(events // 20, 100),
                      items=max(events // 50, 50), days=30, seed=1, end_date=PUBLISHED_END_DATE,
                      overwrite=True)
    profiles = bench_profiles(args.data_dir)
    database = args.data_dir / "bench-trino-duckdb.duckdb"
    database.unlink(missing_ok=True)

    dbt = str(Path(sys.executable).parent / "dbt")
    dbt_vars = {**project.lake_vars(lake), "lake_schema": f"bench_{events}"}
    # models and seed only, as bench_similarity.py times them (tests: see the comparison test)
    command = [dbt, "build", "--select", "+item_similarity", "--exclude-resource-type", "test",
               "--exclude-resource-type", "unit_test", "--project-dir", str(PROJECT),
               "--profiles-dir", str(profiles), "--vars", str(dbt_vars).replace("'", '"')]
    base_env = {**os.environ, "DBT_PROFILES_DIR": str(profiles)}

    duckdb_env = {**base_env, "SQLREC_TARGET": "duckdb", "SQLREC_DUCKDB_PATH": str(database)}
    duckdb_seconds = timed([*command, "--target", "duckdb"], duckdb_env)
    with duckdb.connect(str(database), read_only=True) as connection:
        duckdb_rows = connection.sql("select count(*) from item_similarity").fetchall()[0][0]
    print(f"duckdb: {duckdb_seconds:.1f} s ({duckdb_rows} item_similarity rows)", flush=True)

    run_dir = args.data_dir / "trino-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    server = TrinoServer(port=free_port(), run_dir=run_dir, heap=args.heap,
                         startup_timeout=600)
    with server:
        trino_env = {**base_env, "SQLREC_TARGET": "trino",
                     "SQLREC_TRINO_PORT": str(server.port)}
        trino_seconds = []
        for attempt in ("cold", "warm"):
            schema = f"bench_{attempt}"
            seconds = timed([*command, "--target", "trino"],
                            {**trino_env, "SQLREC_TRINO_SCHEMA": schema})
            rows = server.query(f"select count(*) from iceberg.{schema}.item_similarity")[0][0]
            print(f"trino ({attempt}): {seconds:.1f} s ({rows} item_similarity rows)", flush=True)
            if rows != duckdb_rows:
                raise SystemExit(f"item_similarity rows differ: trino {rows}, duckdb {duckdb_rows}")
            trino_seconds.append(seconds)
        transfers = (measure_transfers(server, "bench_warm", args.transfer_rows,
                                       args.data_dir / "trino-staging")
                     if args.transfer_rows else [])

    print()
    print(f"{'events':>10} {'trino start':>12} {'duckdb':>8} {'trino cold':>11} "
          f"{'trino warm':>11} {'warm/duckdb':>12}")
    print(f"{events:>10} {server.startup_seconds:>11.1f}s {duckdb_seconds:>7.1f}s "
          f"{trino_seconds[0]:>10.1f}s {trino_seconds[1]:>10.1f}s "
          f"{trino_seconds[1] / duckdb_seconds:>11.1f}x")

    for what, rows_per_second, rows in transfers:
        print(f"{what}: {rows_per_second:,.0f} rows/s ({rows:,} rows)")


if __name__ == "__main__":
    main()
