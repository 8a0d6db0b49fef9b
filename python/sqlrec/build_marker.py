"""The build marker: it says "a build of the warehouse finished".

A step that changes the tables the HTTP service reads (`sqlrec build`) writes the marker once
its last table is in place. The service polls the marker and reloads its snapshot when it
changes, so it never reads a warehouse half-way through a build.

For the DuckDB target the marker is a small JSON file beside the database, ``<database>.built``::

    {"version": "20261031T120000Z-1a2b3c4d", "built_at": "2026-10-31T12:00:00+00:00",
     "step": "build", "target": "duckdb"}

For Trino it is a row of the table ``sqlrec_build_markers`` in the target's schema (same
columns), one per build: the service usually runs on another host than the build, and the
warehouse is what both see. ``SQLREC_BUILD_MARKER`` names a file to use instead, for any target.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlrec import project

MARKER_SUFFIX = ".built"
MARKER_TABLE = "sqlrec_build_markers"


@dataclass(frozen=True)
class BuildMarker:
    version: str
    built_at: dt.datetime
    step: str
    target: str


def marker_path(target: str | None = None) -> Path | None:
    """The file of a target's build marker (default: the active target); None when the marker
    is a table of the warehouse."""
    configured = os.environ.get("SQLREC_BUILD_MARKER")
    if configured:
        return Path(configured)
    if (target or project.active_target()) == "duckdb":
        database = project.duckdb_path()
        return database.with_name(database.name + MARKER_SUFFIX)
    return None


def write_build_marker(step: str = "build", *, target: str | None = None,
                       built_at: dt.datetime | None = None,
                       version: str | None = None) -> Path | str:
    """Record that `step` finished writing the warehouse of `target`; return where it went.

    A file is replaced atomically (written beside it, then renamed), so a reader sees either
    the previous marker or the new one, never a partial file; a table gets one more row.
    """
    target = target or project.active_target()
    built_at = (built_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    version = version or f"{built_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    path = marker_path(target)
    if path is None:
        return _append_marker_row(target, version, built_at, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"version": version, "built_at": built_at.isoformat(), "step": step, "target": target}
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=path.name, suffix=".tmp",
                                     delete=False) as temporary:
        json.dump(content, temporary)
    os.replace(temporary.name, path)
    return path


def read_build_marker(target: str | None = None) -> BuildMarker | None:
    """The marker of a target, or None when there is none or it cannot be parsed."""
    path = marker_path(target)
    if path is None:
        return _latest_marker_row(target or project.active_target())
    try:
        content = json.loads(path.read_text())
        built_at = dt.datetime.fromisoformat(content["built_at"])
        if built_at.tzinfo is None:
            built_at = built_at.replace(tzinfo=dt.UTC)
        return BuildMarker(version=str(content["version"]), built_at=built_at,
                           step=str(content.get("step", "build")),
                           target=str(content.get("target", target or project.active_target())))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _append_marker_row(target: str, version: str, built_at: dt.datetime, step: str) -> str:
    import pyarrow as pa

    from sqlrec import warehouse

    store = warehouse.connect(target)
    store.write_table(MARKER_TABLE, pa.table({
        "version": [version], "built_at": pa.array([built_at.replace(tzinfo=None)],
                                                   pa.timestamp("us")),
        "step": [step], "target": [target]}), mode="append")
    return f"table {MARKER_TABLE}"


def _latest_marker_row(target: str) -> BuildMarker | None:
    from sqlrec import warehouse

    store = warehouse.connect(target)
    if not store.table_exists(MARKER_TABLE):
        return None
    rows = store.query(f"select version, built_at, step from {MARKER_TABLE} "
                       "order by built_at desc, version desc limit 1").to_pylist()
    if not rows:
        return None
    return BuildMarker(version=rows[0]["version"],
                       built_at=rows[0]["built_at"].replace(tzinfo=dt.UTC),
                       step=rows[0]["step"], target=target)
