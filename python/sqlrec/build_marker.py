"""The build marker: a small JSON file that says "a build of the warehouse finished".

A step that changes the tables the HTTP service reads (`sqlrec build`, `sqlrec train`) writes
the marker once its last table is in place. The service polls the marker and reloads its
snapshot when it changes, so it never reads a warehouse half-way through a build.

For the DuckDB target the marker sits beside the database file, as ``<database>.built``; for
other targets (Trino) it is ``data/<target>.built`` in the project. ``SQLREC_BUILD_MARKER``
overrides both. The file holds::

    {"version": "20261031T120000Z-1a2b3c4d", "built_at": "2026-10-31T12:00:00+00:00",
     "step": "build", "target": "duckdb"}
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


@dataclass(frozen=True)
class BuildMarker:
    version: str
    built_at: dt.datetime
    step: str
    target: str


def marker_path(target: str | None = None) -> Path:
    """Where the build marker of a target lives (default: the active target)."""
    configured = os.environ.get("SQLREC_BUILD_MARKER")
    if configured:
        return Path(configured)
    target = target or project.active_target()
    if target == "duckdb":
        database = project.duckdb_path()
        return database.with_name(database.name + MARKER_SUFFIX)
    return project.project_dir() / "data" / f"{target}{MARKER_SUFFIX}"


def write_build_marker(step: str = "build", *, target: str | None = None,
                       built_at: dt.datetime | None = None, version: str | None = None) -> Path:
    """Record that `step` finished writing the warehouse of `target`; return the marker's path.

    The file is replaced atomically (written beside it, then renamed), so a reader sees either
    the previous marker or the new one, never a partial file.
    """
    target = target or project.active_target()
    built_at = (built_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    version = version or f"{built_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    path = marker_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"version": version, "built_at": built_at.isoformat(), "step": step, "target": target}
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=path.name, suffix=".tmp",
                                     delete=False) as temporary:
        json.dump(content, temporary)
    os.replace(temporary.name, path)
    return path


def read_build_marker(target: str | None = None) -> BuildMarker | None:
    """The marker of a target, or None when there is none or it cannot be parsed."""
    try:
        content = json.loads(marker_path(target).read_text())
        built_at = dt.datetime.fromisoformat(content["built_at"])
        if built_at.tzinfo is None:
            built_at = built_at.replace(tzinfo=dt.UTC)
        return BuildMarker(version=str(content["version"]), built_at=built_at,
                           step=str(content.get("step", "build")),
                           target=str(content.get("target", target or project.active_target())))
    except (OSError, ValueError, KeyError, TypeError):
        return None
