"""The build marker: it says "a build of the warehouse finished".

A step that changes the tables the HTTP service reads (`sqlrec build`) writes the marker once
its last table is in place. The service polls the marker and reloads its snapshot when it
changes, so it never reads a warehouse half-way through a build.

Each engine keeps its marker where both the build and the service see it (its adapter writes
and reads it): on DuckDB a small JSON file beside the database, ``<database>.built``::

    {"version": "20261031T120000Z-1a2b3c4d", "built_at": "2026-10-31T12:00:00+00:00",
     "step": "build", "target": "duckdb"}

on Trino a row of the table ``sqlrec_build_markers`` in the target's schema (same columns), one
per build: the service usually runs on another host than the build, and the warehouse is what
both see. ``SQLREC_BUILD_MARKER`` names a file to use instead, for any target.

This module holds what the engines share: the marker, the `BuildState` the service's reloader
reads, and the JSON file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

MARKER_SUFFIX = ".built"


@dataclass(frozen=True)
class BuildMarker:
    version: str
    built_at: dt.datetime
    step: str
    target: str


@dataclass(frozen=True)
class BuildState:
    """What the warehouse holds now, as far as can be told without reading it."""

    version: str | None  # None: nothing has been built yet
    built_at: dt.datetime | None
    signature: Hashable  # differs whenever the build may differ
    finished: bool  # a marker says the build that wrote the data finished
    writer_active: bool  # a writer seems to be at work


def new_marker(step: str, target: str, *, built_at: dt.datetime | None = None,
               version: str | None = None) -> BuildMarker:
    """A marker for a build finishing now (or at ``built_at``), with a fresh version."""
    built_at = (built_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    version = version or f"{built_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    return BuildMarker(version=version, built_at=built_at, step=step, target=target)


def configured_marker_file() -> Path | None:
    """SQLREC_BUILD_MARKER: the file that replaces the engine's own marker, when set."""
    from sqlrec.config import load_settings

    return load_settings().build_marker


def write_marker_file(path: Path, marker: BuildMarker) -> Path:
    """Write the marker as JSON, atomically (written beside, then renamed), so that a reader
    sees either the previous marker or the new one, never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"version": marker.version, "built_at": marker.built_at.isoformat(),
               "step": marker.step, "target": marker.target}
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=path.name, suffix=".tmp",
                                     delete=False) as temporary:
        json.dump(content, temporary)
    os.replace(temporary.name, path)
    return path


def read_marker_file(path: Path, target: str) -> BuildMarker | None:
    """The marker in a file, or None when there is none or it cannot be parsed; ``target`` is
    what a marker that names none is taken to be for."""
    try:
        content = json.loads(path.read_text())
        built_at = dt.datetime.fromisoformat(content["built_at"])
        if built_at.tzinfo is None:
            built_at = built_at.replace(tzinfo=dt.UTC)
        return BuildMarker(version=str(content["version"]), built_at=built_at,
                           step=str(content.get("step", "build")),
                           target=str(content.get("target", target)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def marked_state(marker: BuildMarker | None) -> BuildState:
    """The state of a warehouse whose only signal of a new build is its marker (no file to
    watch): every marker is a finished build."""
    return BuildState(version=marker.version if marker else None,
                      built_at=marker.built_at if marker else None,
                      signature=(marker.version if marker else None,), finished=True,
                      writer_active=False)
