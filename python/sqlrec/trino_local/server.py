"""A real, single-node Trino on this machine, for development and tests (no Docker needed).

Each running server gets a *run directory* (``<cache>/run-<port>`` unless the caller gives one)
holding its ``etc/`` configuration (`sqlrec.trino_local.config`), its data directory and logs,
and the metadata of its two catalogs. The server itself is installed once into the cache
(`sqlrec.trino_local.install`).

Python use::

    with TrinoServer(lake_dir="data/lake", port=8085) as server:   # installs if needed, starts
        conn = server.connect(catalog="iceberg")
        ...

Command line: ``sqlrec trino install|start|stop|status [--port N] [--lake DIR]``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sqlrec.errors import UserError
from sqlrec.trino_local.config import (
    DEFAULT_HEAP,
    DEFAULT_PORT,
    ICEBERG_CATALOG,
    LOG_LEVELS,
    NODE_ENVIRONMENT,
    catalog_properties,
    jvm_options,
    node_properties,
    properties_text,
    server_properties,
)
from sqlrec.trino_local.install import (
    PLUGINS,
    TRINO_VERSION,
    Log,
    TrinoInstall,
    default_log,
    find_java_home,
)

ENV_PORT = "SQLREC_TRINO_PORT"


def default_port() -> int:
    """``$SQLREC_TRINO_PORT``, else 8080."""
    from sqlrec.config import load_settings

    configured = load_settings().trino_port
    return DEFAULT_PORT if configured is None else configured


class TrinoServer:
    """One local Trino server: configuration in ``run_dir``, lifecycle through ``bin/launcher``.

    ``lake_dir`` is only recorded for callers (``sqlrec trino start --lake`` registers its tables
    with `sqlrec.trino_local.lake_tables.register_lake_folders`): the ``lake`` catalog reaches
    any local path, each table names its own ``external_location``.
    """

    def __init__(
        self,
        lake_dir: Path | str | None = None,
        port: int | None = None,
        cache_dir: Path | str | None = None,
        run_dir: Path | str | None = None,
        heap: str | None = None,
        java_home: Path | str | None = None,
        log: Log | None = None,
        startup_timeout: float = 300.0,
        quick_jit: bool = False,
    ):
        self.log = log or default_log
        self.installation = TrinoInstall(cache_dir, log=self.log)
        self.port = int(port) if port is not None else default_port()
        self.lake_dir = Path(lake_dir).resolve() if lake_dir is not None else None
        self.run_dir = (
            Path(run_dir).resolve() if run_dir is not None
            else self.installation.cache_dir / f"run-{self.port}"
        )
        if heap is None:
            from sqlrec.config import load_settings

            heap = load_settings().trino_heap
        self.heap = heap or DEFAULT_HEAP
        self._java_home = Path(java_home) if java_home is not None else None
        self.startup_timeout = startup_timeout
        self.quick_jit = quick_jit  # C1 only (`config.jvm_options`): short runs on small data
        self.startup_seconds: float | None = None
        self._started_here = False
        self._start_wall_time: float | None = None

    # paths -------------------------------------------------------------------------------
    @property
    def etc_dir(self) -> Path:
        return self.run_dir / "etc"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "var" / "run" / "launcher.pid"

    @property
    def server_log(self) -> Path:
        return self.data_dir / "var" / "log" / "server.log"

    @property
    def launcher_log(self) -> Path:
        return self.data_dir / "var" / "log" / "launcher.log"

    @property
    def lake_metastore_dir(self) -> Path:
        """File metastore of the ``lake`` catalog (schemas and managed tables live below)."""
        return self.run_dir / "lake-metastore"

    @property
    def iceberg_warehouse_dir(self) -> Path:
        """File metastore and default table location of the ``iceberg`` catalog."""
        return self.run_dir / "iceberg-warehouse"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def java_home(self) -> Path:
        if self._java_home is None:
            self._java_home = find_java_home()
        return self._java_home

    # lifecycle ---------------------------------------------------------------------------
    def install(self) -> Path:
        return self.installation.install()

    def write_config(self) -> None:
        """(Re)write ``etc/`` for this port, heap and run directory."""
        catalog_dir = self.etc_dir / "catalog"
        catalog_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lake_metastore_dir.mkdir(parents=True, exist_ok=True)
        self.iceberg_warehouse_dir.mkdir(parents=True, exist_ok=True)
        for stale in catalog_dir.glob("*.properties"):
            stale.unlink()
        # load only the plugins the catalogs use: the others cost start-up time
        plugins_dir = self.run_dir / "plugins"
        shutil.rmtree(plugins_dir, ignore_errors=True)
        plugins_dir.mkdir()
        for name in PLUGINS:
            (plugins_dir / name).symlink_to(self.installation.server_dir / "plugin" / name)
        files = {
            self.etc_dir / "node.properties": node_properties(self.port, self.host,
                                                              self.data_dir),
            self.etc_dir / "config.properties": server_properties(self.port, self.url,
                                                                  plugins_dir),
            self.etc_dir / "log.properties": LOG_LEVELS,
            **{catalog_dir / f"{name}.properties": properties for name, properties
               in catalog_properties(self.lake_metastore_dir,
                                     self.iceberg_warehouse_dir).items()},
        }
        for path, properties in files.items():
            path.write_text(properties_text(properties))
        (self.etc_dir / "jvm.config").write_text(
            "\n".join(jvm_options(self.heap, self.quick_jit)) + "\n")

    def _launcher(self, command: str, *, check: bool = False) -> subprocess.CompletedProcess:
        args = [str(self.installation.launcher), f"--etc-dir={self.etc_dir}",
                f"--data-dir={self.data_dir}"]
        env = dict(os.environ)
        if command in ("start", "run", "restart"):  # only these need Java (status/stop do not)
            args.append(f"--jvm-dir={self.java_home}")
            env["JAVA_HOME"] = str(self.java_home)
            env["PATH"] = f"{self.java_home / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        args.append(command)
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise UserError(
                f"`launcher {command}` failed ({result.returncode}): "
                f"{(result.stdout + result.stderr).strip()}\n{self._log_hint()}"
            )
        return result

    def pid(self) -> int | None:
        """The server's process id when it is alive, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def is_running(self) -> bool:
        """Whether this run directory's server process is alive (it may still be starting)."""
        if not self.installation.is_installed() or not self.etc_dir.is_dir():
            return False
        return self._launcher("status").returncode == 0 and self.pid() is not None

    def info(self) -> dict[str, Any] | None:
        """``GET /v1/info`` of whatever answers on the port, or None."""
        try:
            with urllib.request.urlopen(f"{self.url}/v1/info", timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def state(self) -> str:
        """'stopped', 'starting' (the process runs, queries do not yet) or 'running'."""
        if not self.installation.is_installed() or not self.is_running():
            return "stopped"
        info = self.info()
        return "starting" if info is None or info.get("starting") else "running"

    def is_ready(self) -> bool:
        info = self.info()
        return bool(info) and info.get("starting") is False and self.is_running()

    def start(self) -> TrinoServer:
        """Install if needed, write the configuration and start; returns once queries run."""
        self.install()
        if self.is_running():
            self.log(f"Trino already running at {self.url} (pid {self.pid()}, {self.run_dir})")
            self._wait_until_ready(time.monotonic())
            return self
        if _port_in_use(self.host, self.port):
            raise UserError(
                f"port {self.port} is already in use by another process; choose another with "
                f"--port or ${ENV_PORT}"
            )
        self.write_config()
        self.log(f"starting Trino {TRINO_VERSION} at {self.url} (Java {self.java_home}, "
                 f"heap {self.heap}, run dir {self.run_dir})")
        started = time.monotonic()
        self._start_wall_time = time.time()
        self._launcher("start", check=True)
        self._started_here = True
        try:
            self._wait_until_ready(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        self.log(f"Trino is up at {self.url} after {self.startup_seconds:.1f} s")
        return self

    def _wait_until_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout
        last_report = time.monotonic()
        while True:
            info = self.info()
            if info is not None and info.get("starting") is False:
                if info.get("environment") != NODE_ENVIRONMENT:
                    raise UserError(f"a different Trino answers at {self.url}: {info}")
                if self._query_ok():
                    return
            if self.pid() is None:
                raise UserError(
                    f"Trino exited while starting.\n{self._log_hint(self._start_wall_time)}"
                )
            now = time.monotonic()
            if now > deadline:
                raise UserError(
                    f"Trino did not become ready within {self.startup_timeout:.0f} s.\n"
                    f"{self._log_hint(self._start_wall_time)}"
                )
            if now - last_report > 15:
                self.log(f"  still starting ({now - started:.0f} s) ...")
                last_report = now
            time.sleep(0.5)

    def _query_ok(self) -> bool:
        """Whether the server runs a query that needs a worker node.

        For a few seconds after ``starting`` turns false, a table scan still fails with
        NO_NODES_AVAILABLE (the node is not yet listed for the catalogs) although ``SELECT 1``,
        ``system.runtime.nodes`` and even a CREATE TABLE AS already work; so scan a table.
        """
        probe = "memory.default.sqlrec_ready"
        try:
            self.query(f"CREATE TABLE IF NOT EXISTS {probe} AS SELECT 1 AS ready")
            rows = self.query(f"SELECT count(*) FROM {probe}")
            self.query(f"DROP TABLE {probe}")
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False
        return rows == [[1]]

    def stop(self, timeout: float = 60.0) -> None:
        """Stop cleanly (SIGTERM through the launcher), then wait for the process to exit."""
        pid = self.pid()
        if pid is None or not self.installation.is_installed():
            self._started_here = False
            return
        self.log(f"stopping Trino (pid {pid}) ...")
        self._launcher("stop")
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                self.log(f"Trino did not stop within {timeout:.0f} s; killing it")
                self._launcher("kill")
                break
            time.sleep(0.2)
        self._started_here = False
        self.log("Trino stopped")

    def __enter__(self) -> TrinoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        if self._started_here:
            self.stop()

    def _log_hint(self, since: float | None = None) -> str:
        """Where the logs are, with their last lines (only logs written after ``since``)."""
        lines = [f"See the server log {self.server_log} and the launcher log {self.launcher_log}."]
        for path in (self.launcher_log, self.server_log):
            if path.is_file() and (since is None or path.stat().st_mtime >= since):
                tail = path.read_text(errors="replace").splitlines()[-25:]
                if tail:
                    lines.append(f"--- last lines of {path.name} ---")
                    lines.extend(tail)
        return "\n".join(lines)

    # clients ---------------------------------------------------------------------------
    def connect(self, catalog: str = ICEBERG_CATALOG, schema: str | None = None,
                user: str = "sqlrec", **kwargs: Any):
        """A ``trino.dbapi`` connection to this server."""
        import trino

        return trino.dbapi.connect(host=self.host, port=self.port, user=user, catalog=catalog,
                                   schema=schema, **kwargs)

    def query(self, sql: str, catalog: str | None = None, schema: str | None = None) -> list[list]:
        """Run one statement and return all its rows."""
        with contextlib.closing(self.connect(catalog=catalog or ICEBERG_CATALOG,
                                             schema=schema)) as conn:
            cursor = conn.cursor()
            cursor.execute(sql)
            return cursor.fetchall()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (if the server happens to be our child) counts as gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0
