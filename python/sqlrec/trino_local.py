"""A real, single-node Trino on this machine, for development and tests (no Docker needed).

The Trino server (476, the newest release on Maven Central) is fetched once with Maven into a
cache directory outside the repository (``~/.cache/sqlrec/trino/476``, or ``$SQLREC_TRINO_CACHE``)
and unpacked there together with the Hive, Iceberg and Memory plugins. Each running server gets a
*run directory* (``<cache>/run-<port>`` unless the caller gives one) holding its ``etc/``
configuration, its data directory and logs, and the metadata of its two catalogs:

``lake``
    Hive connector over a file metastore, for the Parquet lake. The lake's partitioned tables are
    registered as *external* tables (``external_location``) and their partitions picked up with
    ``CALL lake.system.sync_partition_metadata(...)``; see :func:`register_parquet_table`.
``iceberg``
    Iceberg connector (catalog type ``testing_file_metastore``: a file metastore), where dbt
    writes its own tables: CREATE TABLE AS, INSERT, MERGE and DELETE all work.

Both catalogs use Trino's native local file system with its root at ``/``, so a location
``local:///abs/path`` is the directory ``/abs/path``.

Python use::

    with TrinoServer(lake_dir="data/lake", port=8085) as server:   # installs if needed, starts
        conn = server.connect(catalog="iceberg")
        ...

Command line: ``sqlrec trino install|start|stop|status [--port N] [--lake DIR]``.

Trino 476 needs Java 24 or newer: ``$SQLREC_TRINO_JAVA_HOME``, ``$JAVA_HOME`` or a JDK found under
``/usr/lib/jvm`` (a Temurin 25 is expected at ``/usr/lib/jvm/temurin-25-jdk-amd64``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlrec.errors import UserError

TRINO_VERSION = "476"
DEFAULT_PORT = 8080
DEFAULT_HEAP = "4G"
MIN_JAVA_MAJOR = 24
PREFERRED_JAVA_HOME = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
# plugin directory name -> Maven artifact id; each is a zip of one folder of jars
PLUGINS = {"hive": "trino-hive", "iceberg": "trino-iceberg", "memory": "trino-memory"}
LAKE_CATALOG = "lake"
ICEBERG_CATALOG = "iceberg"
NODE_ENVIRONMENT = "sqlrec_dev"
INSTALL_MARKER = ".sqlrec-install-complete"

ENV_CACHE = "SQLREC_TRINO_CACHE"
ENV_PORT = "SQLREC_TRINO_PORT"
ENV_HEAP = "SQLREC_TRINO_HEAP"
ENV_JAVA_HOME = "SQLREC_TRINO_JAVA_HOME"

Log = Callable[[str], None]


def _default_log(message: str) -> None:
    print(f"[sqlrec trino] {message}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    """``$SQLREC_TRINO_CACHE``, else ``~/.cache/sqlrec/trino/<version>``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "sqlrec" / "trino" / TRINO_VERSION


def default_port() -> int:
    env = os.environ.get(ENV_PORT)
    if not env:
        return DEFAULT_PORT
    try:
        return int(env)
    except ValueError as error:
        raise UserError(f"${ENV_PORT} must be a port number, not {env!r}") from error


# ------------------------------------------------------------------------------------------ Java


def _java_major(java_home: Path) -> int | None:
    """The major version of the JDK at ``java_home`` (from its ``release`` file), or None."""
    if not (java_home / "bin" / "java").is_file():
        return None
    release = java_home / "release"
    text = release.read_text(errors="replace") if release.is_file() else ""
    match = re.search(r'^JAVA_VERSION="(\d+)', text, re.MULTILINE)
    if match is None:
        return None
    return int(match.group(1))


def find_java_home() -> Path:
    """A JDK new enough for Trino: the env overrides, the preferred Temurin, then /usr/lib/jvm/*."""
    explicit = os.environ.get(ENV_JAVA_HOME)
    if explicit:
        home = Path(explicit)
        major = _java_major(home)
        if major is None or major < MIN_JAVA_MAJOR:
            raise UserError(
                f"${ENV_JAVA_HOME}={explicit} is not a Java {MIN_JAVA_MAJOR}+ JDK "
                f"(found version {major})"
            )
        return home
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    candidates.append(PREFERRED_JAVA_HOME)
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        candidates.extend(sorted(jvm_root.iterdir(), reverse=True))
    for home in candidates:
        major = _java_major(home)
        if major is not None and major >= MIN_JAVA_MAJOR:
            return home
    raise UserError(
        f"Trino {TRINO_VERSION} needs Java {MIN_JAVA_MAJOR} or newer and none was found; install "
        f"a JDK (e.g. Temurin 25 at {PREFERRED_JAVA_HOME}) or set ${ENV_JAVA_HOME}"
    )


# --------------------------------------------------------------------------------- installation


class TrinoInstall:
    """The Trino server unpacked in the cache: ``<cache>/trino-server-<version>``."""

    def __init__(self, cache_dir: Path | str | None = None, log: Log | None = None):
        self.cache_dir = Path(cache_dir).resolve() if cache_dir else default_cache_dir()
        self.log = log or _default_log
        self.server_dir = self.cache_dir / f"trino-server-{TRINO_VERSION}"
        self.downloads_dir = self.cache_dir / "downloads"

    @property
    def launcher(self) -> Path:
        return self.server_dir / "bin" / "launcher"

    def is_installed(self) -> bool:
        return (self.server_dir / INSTALL_MARKER).is_file()

    def install(self) -> Path:
        """Download (once) and unpack the server and plugins; a no-op when already complete."""
        if self.is_installed():
            return self.server_dir
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.cache_dir / ".install.lock"):
            if self.is_installed():  # another process finished while we waited for the lock
                return self.server_dir
            # holding the lock, any temporary folder left is from an interrupted install
            for stale in [*self.cache_dir.glob(".staging-*"),
                          *self.downloads_dir.glob(".partial-*")]:
                self.log(f"removing {stale.name}, left by an interrupted install")
                shutil.rmtree(stale, ignore_errors=True)
            started = time.monotonic()
            self.log(f"installing Trino {TRINO_VERSION} into {self.server_dir}")
            core = self._fetch(f"io.trino:trino-server-core:{TRINO_VERSION}:tar.gz")
            plugin_archives: dict[str, Path] = {}
            if core is not None:
                for name, artifact_id in PLUGINS.items():
                    archive = self._fetch(f"io.trino:{artifact_id}:{TRINO_VERSION}:zip")
                    if archive is None:
                        raise UserError(
                            f"could not download io.trino:{artifact_id}:{TRINO_VERSION} from Maven"
                        )
                    plugin_archives[name] = archive
                tarball = core
            else:
                self.log("trino-server-core is not available; falling back to the full "
                         "trino-server tarball (about 820 MB, all plugins included)")
                tarball = self._fetch(f"io.trino:trino-server:{TRINO_VERSION}:tar.gz")
                if tarball is None:
                    raise UserError(
                        f"could not download Trino {TRINO_VERSION} (neither trino-server-core nor "
                        "trino-server) with Maven; is Maven Central reachable?"
                    )
            self._unpack(tarball, plugin_archives)
            self.log(f"Trino {TRINO_VERSION} installed in {time.monotonic() - started:.1f} s")
        return self.server_dir

    def _fetch(self, artifact: str) -> Path | None:
        """``downloads/<file>`` for a Maven coordinate, copied there by Maven once; None if absent.

        Maven writes into a private temporary folder and the file is renamed into place only when
        complete, so an interrupted download never looks finished.
        """
        group, artifact_id, version, kind = artifact.split(":")
        target = self.downloads_dir / f"{artifact_id}-{version}.{kind}"
        if target.is_file():
            self.log(f"cached {target.name} ({_mb(target.stat().st_size)})")
            return target
        mvn = shutil.which("mvn")
        if mvn is None:
            raise UserError("Maven (`mvn`) is needed to download Trino (apt install maven)")
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        partial = self.downloads_dir / f".partial-{artifact_id}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        self.log(f"downloading {artifact} from Maven Central ...")
        started = time.monotonic()
        command = [mvn, "-B", "dependency:copy", f"-Dartifact={artifact}",
                   f"-DoutputDirectory={partial}", "-Dmdep.overWriteReleases=true"]
        try:
            # run inside the empty folder so that no pom.xml around is picked up
            process = subprocess.Popen(command, cwd=partial, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
            assert process.stdout is not None
            tail: list[str] = []
            group_path = "/" + group.replace(".", "/") + "/"
            for line in process.stdout:
                line = line.rstrip()
                tail = (tail + [line])[-30:]
                if "Download" in line and group_path in line:
                    self.log("  mvn: " + re.sub(r"^\[INFO\]\s*", "", line))
            returncode = process.wait()
            files = list(partial.glob(f"{artifact_id}-*.{kind}"))
            if returncode != 0 or len(files) != 1:
                if any("Could not find artifact" in line or "could not be resolved" in line.lower()
                       for line in tail):
                    self.log(f"{artifact} is not served by the Maven repositories")
                    return None
                raise UserError(f"Maven failed to download {artifact}:\n" + "\n".join(tail))
            files[0].rename(target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        size = target.stat().st_size
        seconds = time.monotonic() - started
        self.log(f"downloaded {target.name}: {_mb(size)} in {seconds:.1f} s")
        return target

    def _unpack(self, tarball: Path, plugin_archives: dict[str, Path]) -> None:
        """Unpack into a staging folder, add the plugins, then rename it into place."""
        staging = self.cache_dir / f".staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            self.log(f"unpacking {tarball.name} ...")
            with tarfile.open(tarball) as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(staging, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    archive.extractall(staging)
            tops = [path for path in staging.iterdir() if path.is_dir()]
            if len(tops) != 1:
                raise UserError(f"unexpected layout in {tarball}: {[p.name for p in tops]}")
            server = tops[0]
            for name, zip_path in plugin_archives.items():
                self.log(f"unpacking {zip_path.name} into plugin/{name}/ ...")
                _unzip_stripping_top(zip_path, server / "plugin" / name)
            missing = [name for name in PLUGINS if not (server / "plugin" / name).is_dir()]
            if missing:
                raise UserError(f"the Trino install lacks the plugins {missing}")
            launcher = server / "bin" / "launcher"
            if not launcher.is_file():
                raise UserError(f"no bin/launcher in {tarball}")
            (server / INSTALL_MARKER).write_text(
                json.dumps({"version": TRINO_VERSION, "tarball": tarball.name,
                            "plugins": sorted(plugin_archives)}) + "\n"
            )
            if self.server_dir.exists():  # a stale, incomplete install
                shutil.rmtree(self.server_dir)
            server.rename(self.server_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _unzip_stripping_top(zip_path: Path, destination: Path) -> None:
    """Unzip a plugin archive (one top folder, ``trino-hive-476/``) so its files land directly in
    ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.infolist():
            parts = Path(member.filename).parts
            relative = Path(*parts[1:]) if len(parts) > 1 else None
            if relative is None or member.is_dir():
                continue
            if relative.is_absolute() or ".." in relative.parts:
                raise UserError(f"unsafe path {member.filename!r} in {zip_path}")
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


# ----------------------------------------------------------------------------------- the server


class TrinoServer:
    """One local Trino server: configuration in ``run_dir``, lifecycle through ``bin/launcher``.

    ``lake_dir`` is only recorded for callers (``sqlrec trino start --lake`` registers its tables
    with :func:`register_parquet_table`): the ``lake`` catalog reaches any local path, each table
    names its own ``external_location``.
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
    ):
        self.log = log or _default_log
        self.installation = TrinoInstall(cache_dir, log=self.log)
        self.port = int(port) if port is not None else default_port()
        self.lake_dir = Path(lake_dir).resolve() if lake_dir is not None else None
        self.run_dir = (
            Path(run_dir).resolve() if run_dir is not None
            else self.installation.cache_dir / f"run-{self.port}"
        )
        self.heap = heap or os.environ.get(ENV_HEAP) or DEFAULT_HEAP
        self._java_home = Path(java_home) if java_home is not None else None
        self.startup_timeout = startup_timeout
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
            self.etc_dir / "node.properties": {
                "node.environment": NODE_ENVIRONMENT,
                "node.id": f"sqlrec-{self.port}",
                "node.data-dir": str(self.data_dir),
                "node.internal-address": self.host,
            },
            self.etc_dir / "config.properties": {
                "coordinator": "true",
                "node-scheduler.include-coordinator": "true",
                "http-server.http.port": str(self.port),
                "discovery.uri": self.url,
                "http-server.log.enabled": "false",  # no per-request log (polling fills it)
                "plugin.dir": str(plugins_dir),
            },
            self.etc_dir / "log.properties": {
                "Bootstrap": "WARN",  # the ~1000-line configuration dump at every start
                "io.trino": "WARN",
                "io.airlift": "WARN",
                "org.apache": "WARN",
                "org.eclipse": "WARN",
                "io.trino.server.Server": "INFO",  # keeps "SERVER STARTED" in server.log
            },
            catalog_dir / f"{LAKE_CATALOG}.properties": lake_catalog_properties(
                self.lake_metastore_dir
            ),
            catalog_dir / f"{ICEBERG_CATALOG}.properties": iceberg_catalog_properties(
                self.iceberg_warehouse_dir
            ),
            catalog_dir / "memory.properties": {"connector.name": "memory"},
        }
        for path, properties in files.items():
            path.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        (self.etc_dir / "jvm.config").write_text("\n".join(jvm_options(self.heap)) + "\n")

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


# -------------------------------------------------------------------------------- configuration


def jvm_options(heap: str = DEFAULT_HEAP) -> list[str]:
    """The JVM flags of Trino's deployment docs, with a development-sized heap."""
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
    ]


def _local(path: Path) -> str:
    """A ``local://`` location for an absolute path (the file system root is ``/``)."""
    return "local://" + str(Path(path).resolve())


def lake_catalog_properties(metastore_dir: Path) -> dict[str, str]:
    """Hive connector, file metastore, native local file system; external tables allowed."""
    return {
        "connector.name": "hive",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": _local(metastore_dir),
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
        "hive.metastore.catalog.dir": _local(warehouse_dir),
        "fs.native-local.enabled": "true",
        "local.location": "/",
    }


# ------------------------------------------------------------------------- lake table helpers

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

    from sqlrec.trino_warehouse import quote, trino_type

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
    properties = ["format = 'PARQUET'", f"external_location = '{_local(table_dir)}'"]
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


# ------------------------------------------------------------------------------------------ CLI


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "trino",
        help="install, start, stop or inspect a local single-node Trino (dev and tests)",
        description=(
            f"A local Trino {TRINO_VERSION} for development: downloaded once with Maven into "
            f"${ENV_CACHE} (default ~/.cache/sqlrec/trino/{TRINO_VERSION}), with a `lake` catalog "
            "(Hive, file metastore) and an `iceberg` catalog on the local file system."
        ),
    )
    actions = parser.add_subparsers(dest="trino_action", required=True, metavar="ACTION")
    for name, help_text in [
        ("install", "download and unpack Trino and its plugins (once)"),
        ("start", "start the server in the background and wait until it answers queries"),
        ("stop", "stop the server"),
        ("status", "say whether the server runs, where, and where its logs are"),
    ]:
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument("--cache-dir", type=Path, default=None,
                            help=f"install cache (default ${ENV_CACHE} or ~/.cache/sqlrec/trino/"
                                 f"{TRINO_VERSION})")
        if name == "install":
            continue
        action.add_argument("--port", type=int, default=None,
                            help=f"HTTP port (default ${ENV_PORT} or {DEFAULT_PORT})")
        action.add_argument("--run-dir", type=Path, default=None,
                            help="configuration, logs and catalog metadata (default "
                                 "<cache>/run-<port>)")
        if name == "start":
            action.add_argument("--lake", type=Path, default=None,
                                help="Parquet lake; its <table>/ folders are registered as "
                                     "external tables in lake.<--lake-schema>")
            action.add_argument("--lake-schema", default="raw",
                                help="schema of the lake catalog for --lake tables (default raw)")
            action.add_argument("--heap", default=None,
                                help=f"JVM heap, e.g. 4G (default ${ENV_HEAP} or {DEFAULT_HEAP})")
            action.add_argument("--timeout", type=float, default=300.0,
                                help="seconds to wait for the server to come up (default 300)")
    parser.set_defaults(func=run_command)


def run_command(args) -> int:
    from sqlrec.trino_warehouse import quote

    if args.trino_action == "install":
        TrinoInstall(args.cache_dir).install()
        return 0
    server = TrinoServer(
        lake_dir=getattr(args, "lake", None),
        port=args.port,
        cache_dir=args.cache_dir,
        run_dir=args.run_dir,
        heap=getattr(args, "heap", None),
        startup_timeout=getattr(args, "timeout", 300.0),
    )
    if args.trino_action == "start":
        if server.lake_dir is not None and not server.lake_dir.is_dir():
            raise UserError(f"--lake {server.lake_dir} is not a directory")
        server.start()
        if server.lake_dir is not None:
            for table_dir in sorted(p for p in server.lake_dir.iterdir() if p.is_dir()):
                if not any(table_dir.rglob("*.parquet")):
                    continue
                register_parquet_table(server, table_dir, args.lake_schema, table_dir.name)
                rows = server.query(
                    f"SELECT count(*) FROM {LAKE_CATALOG}.{quote(args.lake_schema)}."
                    f"{quote(table_dir.name)}"
                )
                server.log(f"registered {LAKE_CATALOG}.{args.lake_schema}.{table_dir.name} "
                           f"({rows[0][0]} rows) over {table_dir}")
        print(server.url)
        # what `sqlrec build/train/serve` and dbt need to use this server
        print(f"export SQLREC_TARGET=trino SQLREC_TRINO_HOST={server.host} "
              f"SQLREC_TRINO_PORT={server.port} "
              f"SQLREC_TRINO_STAGING_DIR={server.run_dir / 'staging'}")
        return 0
    if args.trino_action == "stop":
        if not server.is_running():
            print(f"Trino is not running (run dir {server.run_dir})")
            return 0
        server.stop()
        return 0
    # status
    installed = server.installation.is_installed()
    print(f"installed: {'yes' if installed else 'no'} ({server.installation.server_dir})")
    running = installed and server.is_running()
    info = server.info() if running else None
    state = "stopped"
    if running:
        state = "starting" if info is None or info.get("starting") else "running"
    print(f"server:    {state} at {server.url}" + (f" (pid {server.pid()})" if running else ""))
    print(f"run dir:   {server.run_dir}")
    print(f"logs:      {server.server_log}")
    return 0 if running else 3
