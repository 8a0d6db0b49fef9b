"""A real, single-node Trino on this machine, for development and tests: `install` (download
once into a cache), `config` (the server's etc/ files and catalogs), `server` (start, stop,
status, queries) and `lake_tables` (a lake's folders as external tables)."""

from sqlrec.trino_local.install import TrinoInstall
from sqlrec.trino_local.lake_tables import register_parquet_table, sync_partitions_sql
from sqlrec.trino_local.server import TrinoServer

__all__ = ["TrinoInstall", "TrinoServer", "register_parquet_table", "sync_partitions_sql"]
