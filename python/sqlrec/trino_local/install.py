"""Installing the local Trino: the server (476, the newest release on Maven Central) is fetched
once with Maven into a cache directory outside the repository (``~/.cache/sqlrec/trino/476``, or
``$SQLREC_TRINO_CACHE``) and unpacked there together with the Hive, Iceberg and Memory plugins.

Trino 476 needs Java 24 or newer: ``$SQLREC_TRINO_JAVA_HOME``, ``$JAVA_HOME`` or a JDK found under
``/usr/lib/jvm`` (a Temurin 25 is expected at ``/usr/lib/jvm/temurin-25-jdk-amd64``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlrec.errors import UserError

TRINO_VERSION = "476"
MIN_JAVA_MAJOR = 24
PREFERRED_JAVA_HOME = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
# plugin directory name -> Maven artifact id; each is a zip of one folder of jars
PLUGINS = {"hive": "trino-hive", "iceberg": "trino-iceberg", "memory": "trino-memory"}
INSTALL_MARKER = ".sqlrec-install-complete"

ENV_CACHE = "SQLREC_TRINO_CACHE"
ENV_JAVA_HOME = "SQLREC_TRINO_JAVA_HOME"

Log = Callable[[str], None]


def default_log(message: str) -> None:
    print(f"[sqlrec trino] {message}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    """``$SQLREC_TRINO_CACHE``, else ``~/.cache/sqlrec/trino/<version>``."""
    from sqlrec.config import load_settings

    configured = load_settings().trino_cache
    if configured:
        return configured.expanduser().resolve()
    return Path.home() / ".cache" / "sqlrec" / "trino" / TRINO_VERSION


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
    from sqlrec.config import load_settings

    explicit = load_settings().trino_java_home
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
        self.log = log or default_log
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
