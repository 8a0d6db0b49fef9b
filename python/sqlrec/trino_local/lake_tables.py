"""Parquet folders of a lake as external tables of the local server's ``lake`` catalog."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlrec.errors import UserError
from sqlrec.trino_local.config import LAKE_CATALOG, local_location

if TYPE_CHECKING:
    from sqlrec.trino_local.server import TrinoServer


def register_parquet_table(
    server: TrinoServer,
    table_dir: Path | str,
    schema: str,
    table: str,
    catalog: str = LAKE_CATALOG,
) -> list[str]:
    """Register a Hive-partitioned Parquet folder (``<col>=<value>/*.parquet``) as external table.

    Columns come from the first Parquet file's schema, partition columns (varchar) from the folder
    names. The schema is created if needed, an existing table of that name is replaced (dropping an
    external table leaves its files alone), and partitions are synced. Returns the SQL it ran.
    """
    import pyarrow.parquet as pq

    from sqlrec.warehouse.trino_sql import quote, trino_type

    table_dir = Path(table_dir).resolve()
    files = sorted(table_dir.rglob("*.parquet"))
    if not files:
        raise UserError(f"no Parquet files under {table_dir}")
    partition_columns = [
        part.split("=", 1)[0] for part in files[0].relative_to(table_dir).parts[:-1] if "=" in part
    ]
    columns = [
        f"{quote(field.name)} {trino_type(field.type)}"
        for field in pq.read_schema(files[0])
        if field.name not in partition_columns
    ]
    columns += [f"{quote(name)} varchar" for name in partition_columns]
    qualified = f"{catalog}.{quote(schema)}.{quote(table)}"
    properties = ["format = 'PARQUET'", f"external_location = '{local_location(table_dir)}'"]
    if partition_columns:
        names = ", ".join(f"'{name}'" for name in partition_columns)
        properties.insert(1, f"partitioned_by = ARRAY[{names}]")
    statements = [
        f"CREATE SCHEMA IF NOT EXISTS {catalog}.{quote(schema)}",
        f"DROP TABLE IF EXISTS {qualified}",
        f"CREATE TABLE {qualified} (\n  " + ",\n  ".join(columns) + "\n)\nWITH ("
        + ", ".join(properties) + ")",
    ]
    if partition_columns:
        statements.append(sync_partitions_sql(schema, table, mode="FULL", catalog=catalog))
    for statement in statements:
        server.query(statement, catalog=catalog)
    return statements


def sync_partitions_sql(schema: str, table: str, mode: str = "FULL",
                        catalog: str = LAKE_CATALOG) -> str:
    """``CALL <catalog>.system.sync_partition_metadata(...)``; mode ADD, DROP or FULL."""
    return (f"CALL {catalog}.system.sync_partition_metadata("
            f"schema_name => '{schema}', table_name => '{table}', mode => '{mode}')")


def register_lake_folders(server: TrinoServer, lake_dir: Path, schema: str) -> list[str]:
    """Register every ``<table>/`` folder of a lake that holds Parquet files as the external
    table ``lake.<schema>.<table>``; log each with its row count and return their names."""
    from sqlrec.warehouse.trino_sql import quote

    registered = []
    for table_dir in sorted(p for p in Path(lake_dir).iterdir() if p.is_dir()):
        if not any(table_dir.rglob("*.parquet")):
            continue
        register_parquet_table(server, table_dir, schema, table_dir.name)
        rows = server.query(
            f"SELECT count(*) FROM {LAKE_CATALOG}.{quote(schema)}.{quote(table_dir.name)}"
        )
        server.log(f"registered {LAKE_CATALOG}.{schema}.{table_dir.name} "
                   f"({rows[0][0]} rows) over {table_dir}")
        registered.append(table_dir.name)
    return registered
