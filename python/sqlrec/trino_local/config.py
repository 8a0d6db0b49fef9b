"""The local Trino's configuration: the ``etc/`` files of one server and its two catalogs.

``lake``
    Hive connector over a file metastore, for the Parquet lake. The lake's partitioned tables are
    registered as *external* tables (``external_location``) and their partitions picked up with
    ``CALL lake.system.sync_partition_metadata(...)``; see `sqlrec.trino_local.lake_tables`.
``iceberg``
    Iceberg connector (catalog type ``testing_file_metastore``: a file metastore), where dbt
    writes its own tables: CREATE TABLE AS, INSERT, MERGE and DELETE all work.

Both catalogs use Trino's native local file system with its root at ``/``, so a location
``local:///abs/path`` is the directory ``/abs/path``.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_PORT = 8080
DEFAULT_HEAP = "4G"
LAKE_CATALOG = "lake"
ICEBERG_CATALOG = "iceberg"
NODE_ENVIRONMENT = "sqlrec_dev"
# logger -> level in log.properties
LOG_LEVELS = {
    "Bootstrap": "WARN",  # the ~1000-line configuration dump at every start
    "io.trino": "WARN",
    "io.airlift": "WARN",
    "org.apache": "WARN",
    "org.eclipse": "WARN",
    "io.trino.server.Server": "INFO",  # keeps "SERVER STARTED" in server.log
}


def node_properties(port: int, host: str, data_dir: Path) -> dict[str, str]:
    return {
        "node.environment": NODE_ENVIRONMENT,
        "node.id": f"sqlrec-{port}",
        "node.data-dir": str(data_dir),
        "node.internal-address": host,
        # listen on the loopback only: the development server has no authentication
        "node.bind-ip": "127.0.0.1",
    }


def server_properties(port: int, url: str, plugins_dir: Path) -> dict[str, str]:
    """A coordinator that is its own worker, loading only the plugins in ``plugins_dir``."""
    return {
        "coordinator": "true",
        "node-scheduler.include-coordinator": "true",
        "http-server.http.port": str(port),
        "discovery.uri": url,
        "http-server.log.enabled": "false",  # no per-request log (polling fills it)
        "plugin.dir": str(plugins_dir),
    }


def catalog_properties(lake_metastore_dir: Path,
                       iceberg_warehouse_dir: Path) -> dict[str, dict[str, str]]:
    """Each catalog's properties, by catalog name."""
    return {
        LAKE_CATALOG: lake_catalog_properties(lake_metastore_dir),
        ICEBERG_CATALOG: iceberg_catalog_properties(iceberg_warehouse_dir),
        "memory": {"connector.name": "memory"},
    }


def properties_text(properties: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in properties.items())


def jvm_options(heap: str = DEFAULT_HEAP, quick_jit: bool = False) -> list[str]:
    """The JVM flags of Trino's deployment docs, with a development-sized heap. ``quick_jit``
    stops the JIT at its first tier (C1): cheap, quick compiles for a short-lived server over
    small data, where the optimising tier (C2) costs more CPU than it saves (the test suite's
    Trino tests: JVM CPU 285 s → 196 s, wall 291–302 s → 257 s). Long or large runs want C2."""
    return [
        "-server",
        f"-Xmx{heap}",
        "-XX:InitialRAMPercentage=80",
        "-XX:MaxRAMPercentage=80",
        "-XX:G1HeapRegionSize=32M",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:+HeapDumpOnOutOfMemoryError",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:ReservedCodeCacheSize=512M",
        "-XX:PerMethodRecompilationCutoff=10000",
        "-XX:PerBytecodeRecompilationCutoff=10000",
        "-Djdk.attach.allowAttachSelf=true",
        "-Djdk.nio.maxCachedBufferSize=2000000",
        "-Dfile.encoding=UTF-8",
        "-XX:+EnableDynamicAgentLoading",
        # JNA loads native code; without this Java 24+ prints a warning into launcher.log
        "--enable-native-access=ALL-UNNAMED",
        # naive Parquet timestamps are read and shown as written, like in DuckDB
        "-Duser.timezone=UTC",
        *(["-XX:TieredStopAtLevel=1"] if quick_jit else []),
    ]


def local_location(path: Path) -> str:
    """A ``local://`` location for an absolute path (the file system root is ``/``)."""
    return "local://" + str(Path(path).resolve())


def lake_catalog_properties(metastore_dir: Path) -> dict[str, str]:
    """Hive connector, file metastore, native local file system; external tables allowed."""
    return {
        "connector.name": "hive",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": local_location(metastore_dir),
        "fs.native-local.enabled": "true",
        "local.location": "/",
        # Parquet timestamp(us) columns are declared timestamp(6); the default is milliseconds
        "hive.timestamp-precision": "MICROSECONDS",
        "hive.non-managed-table-writes-enabled": "true",
        "hive.non-managed-table-creates-enabled": "true",
    }


def iceberg_catalog_properties(warehouse_dir: Path) -> dict[str, str]:
    """Iceberg connector whose catalog is a file metastore on the local file system."""
    return {
        "connector.name": "iceberg",
        # 476 has no production file catalog (hive_metastore means Thrift only): this built-in
        # file metastore is the one catalog that needs no external service
        "iceberg.catalog.type": "testing_file_metastore",
        "hive.metastore.catalog.dir": local_location(warehouse_dir),
        "fs.native-local.enabled": "true",
        "local.location": "/",
    }
