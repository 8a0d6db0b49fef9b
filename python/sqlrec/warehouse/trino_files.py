"""Reading a whole Trino table straight from its Iceberg data files.

Trino lists the files (the Iceberg table's ``$files`` metadata table) and pyarrow reads them where
this process reaches them (``local://`` and ``file://`` paths, or a URL such as ``s3://`` under this
process's credentials). Only where that reads exactly the table: an Iceberg table whose snapshot
has no delete files (dbt's ``table`` models; MERGE and DELETE add delete files), every file
reachable, the columns found by name and the row count equal to what ``$files`` records.
Anywhere else `read_data_files` returns None after a one-line hint and the warehouse reads
through Trino (``SQLREC_TRINO_READ_DATA_FILES=false`` skips the attempt). Why not pyiceberg:
docs/trino.md.
"""

from __future__ import annotations

import concurrent.futures
import functools
import sys
from typing import Any, Protocol

import pyarrow as pa

from sqlrec.errors import UserError
from sqlrec.warehouse.trino_sql import quote


class TableSource(Protocol):
    """What this module needs of a `sqlrec.warehouse.trino.TrinoWarehouse`."""

    catalog: str

    def query(self, sql: str) -> pa.Table: ...

    def qualified(self, name: str) -> str: ...

    def located(self, name: str) -> tuple[str, str]: ...

    def table_exists(self, name: str) -> bool: ...


@functools.cache
def _hint_once(reason: str) -> None:
    print(f"sqlrec: reading Trino tables through Trino, not their Iceberg data files: {reason}",
          file=sys.stderr)


def data_file_paths(uris: list[str]) -> tuple[Any, list[str]]:
    """The pyarrow file system of a table's data files and their paths in it. ``local://`` is
    Trino's native local file system, rooted at ``/`` in sqlrec's local server."""
    import pyarrow.fs as pafs

    if all(uri.startswith(("local://", "file://")) for uri in uris):
        return pafs.LocalFileSystem(), [uri.split("://", 1)[1] for uri in uris]
    filesystem, first = pafs.FileSystem.from_uri(uris[0])
    prefix = uris[0][:len(uris[0]) - len(first)]  # e.g. s3:// or hdfs://namenode:8020
    if not uris[0].endswith(first) or not all(uri.startswith(prefix) for uri in uris):
        raise ValueError("the data files are not under one file system")
    return filesystem, [uri[len(prefix):] for uri in uris]


def read_data_files(store: TableSource, name: str, sql: str) -> pa.Table | None:
    """The columns of ``sql`` (a select of a whole table) read by pyarrow from the Iceberg
    table's own data files; None, after a hint, where that would not be exactly the table."""
    import pyarrow.dataset as ds

    schema, table = store.located(name)
    metadata = f"{quote(store.catalog)}.{quote(schema)}.{quote(table + '$files')}"
    # two round trips at once: each costs more than reading a million rows
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        listing = pool.submit(store.query,
                              f"select content, file_path, record_count from {metadata}")
        described = pool.submit(store.query, f"select * from ({sql}) limit 0")
        try:
            files = [tuple(row.values()) for row in listing.result().to_pylist()]
        except UserError:  # no such table (the caller says so), or not Iceberg: no $files
            if store.table_exists(name):
                _hint_once(f"{store.qualified(name)} is not an Iceberg table")
            return None
        schema = described.result().schema
    if any(content != 0 for content, _, _ in files):
        _hint_once(f"{name} has delete files (a MERGE or DELETE changed it)")
        return None
    if not files:
        return schema.empty_table()
    try:
        filesystem, paths = data_file_paths([path for _, path, _ in files])
        data = ds.dataset(paths, format="parquet", filesystem=filesystem).to_table(
            columns=schema.names)
    except (OSError, ValueError, pa.ArrowException) as error:
        _hint_once(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
        return None
    if data.num_rows != sum(count for _, _, count in files):
        _hint_once(f"{name}'s files hold another row count than $files records")
        return None
    return data.cast(schema)
