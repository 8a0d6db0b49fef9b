"""A Prometheus server for the tests, found or fetched without root.

A `prometheus` on PATH is used as it is. Otherwise Debian's `prometheus` package is fetched once
with `apt-get download` (which needs no root) and unpacked with `dpkg-deb -x` into
``~/.cache/sqlrec/prometheus/<package version>``, beside the local Trino of
``python/sqlrec/trino_local/``; the server is one static Go binary, so none of the package's
dependencies (the web UI's JavaScript) is needed for its HTTP API. Where neither works (no
apt, no package lists, no network) `PrometheusUnavailable` says why, and the tests skip loudly.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path.home() / ".cache" / "sqlrec" / "prometheus"
BINARY = Path("usr") / "bin" / "prometheus"
INSTALL_MARKER = ".sqlrec-install-complete"


class PrometheusUnavailable(Exception):
    """No Prometheus on PATH or in the cache, and none could be fetched."""


def find_prometheus(cache: Path = CACHE) -> Path:
    """A Prometheus server binary: on PATH, else in the cache, else fetched into it."""
    on_path = shutil.which("prometheus")
    if on_path:
        return Path(on_path)
    return cached_prometheus(cache) or fetch_prometheus(cache)


def cached_prometheus(cache: Path = CACHE) -> Path | None:
    """The binary of a complete install in the cache (the newest folder name), or None."""
    installs = sorted(folder for folder in cache.glob("*")
                      if (folder / INSTALL_MARKER).is_file() and (folder / BINARY).is_file())
    return installs[-1] / BINARY if installs else None


def fetch_prometheus(cache: Path = CACHE) -> Path:
    """Debian's package, downloaded and unpacked into ``cache/<version>`` without root. The
    unpacked tree is renamed into place only once complete, so an interrupted fetch leaves
    nothing that looks installed, and two fetches at once both end with one install."""
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise PrometheusUnavailable(f"`{tool}` is not on PATH (not a Debian system), and "
                                        "no `prometheus` is on PATH either")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as work:
        _run(["apt-get", "download", "prometheus"], Path(work))
        (package,) = Path(work).glob("prometheus_*.deb")
        version = _run(["dpkg-deb", "--field", str(package), "Version"], Path(work)).strip()
        unpacked = Path(work) / "root"
        _run(["dpkg-deb", "--extract", str(package), str(unpacked)], Path(work))
        _run([str(unpacked / BINARY), "--version"], Path(work))
        (unpacked / INSTALL_MARKER).write_text(f"Debian package prometheus {version}\n")
        install = cache / version
        try:
            unpacked.rename(install)
        except OSError:
            if not (install / INSTALL_MARKER).is_file():  # not another fetch that got there first
                raise
    return install / BINARY


def _run(command: list[str], folder: Path) -> str:
    try:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PrometheusUnavailable(f"`{' '.join(command)}` failed: {error}") from None
    if done.returncode != 0:
        raise PrometheusUnavailable(f"`{' '.join(command)}` failed ({done.returncode}): "
                                    f"{(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout
