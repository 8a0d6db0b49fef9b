"""Build markers: which dbt run the warehouse holds, and whether it finished.

The dbt project writes them itself (macros/run/build_markers.sql): at the start of every `dbt run`
or `dbt build` a "started" marker named by dbt's invocation id, at its end a "finished" marker of
the same name, only when every node succeeded. So a plain `dbt build` is marked like
`sqlrec build`, and a build that failed, was killed or still runs leaves the latest started
marker without its finished twin. The service serves only a warehouse whose latest finished
marker names the latest started run (docs/design.md, "Builds, runs and what the service serves").

Where they live is the engine's business (its adapter reads them): on DuckDB two JSON files
beside the database, ``<database>.building`` and ``<database>.built``::

    {"version": "<invocation id>", "built_at": "2026-10-31T12:00:00.000000+00:00",
     "step": "build", "target": "duckdb"}

(``started_at`` instead of ``built_at`` in the started file); on Trino rows of the table
``sqlrec_build_markers`` (version, built_at, step, target, state) in the target's schema.

Beside them, a finished `sqlrec refresh` records what it was computed from (`RefreshRecord`,
`sqlrec.pipeline.inputs`): on DuckDB the JSON file ``<database>.refreshed``, on Trino rows of
``sqlrec_refresh_records``. It is no build marker: writing it changes no table the service reads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import uuid
from collections.abc import Hashable
from dataclasses import asdict, dataclass
from pathlib import Path

STARTED, FINISHED = "started", "finished"
MARKER_SUFFIXES = {STARTED: ".building", FINISHED: ".built"}
REFRESH_RECORD_SUFFIX = ".refreshed"
TIME_FIELDS = {STARTED: "started_at", FINISHED: "built_at"}
# A publication (sqlrec.kubeflow.publish) marks the served file started under this step, with
# the file that will replace it complete beside it (<database>.publishing) until the replace.
PUBLISH_STEP = "publish"
PUBLISHING_SUFFIX = ".publishing"


@dataclass(frozen=True)
class BuildMarker:
    version: str  # the dbt invocation id of the run
    at: dt.datetime  # when the run started or finished (UTC)
    step: str  # the dbt command: build or run
    target: str
    state: str = FINISHED  # started | finished


@dataclass(frozen=True)
class BuildState:
    """What the warehouse holds now, as far as can be told without reading its tables."""

    version: str | None  # the latest finished build; None: none has finished yet
    built_at: dt.datetime | None
    signature: Hashable  # differs whenever the finished build differs
    finished: bool  # the latest started run is the latest finished one: safe to read
    writer_active: bool  # a run has started since the latest finished one (or still writes)
    waiting_for: str | None = None  # why it is not safe to read, in a sentence


def state_from_markers(started: BuildMarker | None, finished: BuildMarker | None) -> BuildState:
    """The state the two latest markers describe. A warehouse with a finished marker but no
    started one (written before started markers existed) counts as finished."""
    version = finished.version if finished else None
    built_at = finished.at if finished else None
    if started is not None and (finished is None or started.version != finished.version):
        return BuildState(
            version, built_at, (version,), finished=False, writer_active=True,
            waiting_for=f"the latest dbt {started.step} ({started.version}, started "
            f"{started.at:%Y-%m-%d %H:%M:%S} UTC) has not finished: it is still running, or it "
            "failed or was stopped; only a finished build is served")
    if finished is None:
        return BuildState(None, None, (None,), finished=False, writer_active=False,
                          waiting_for="nothing has been built yet; run `sqlrec build`")
    return BuildState(version, built_at, (version,), finished=True, writer_active=False)


def new_marker(state: str, step: str, target: str, *, at: dt.datetime | None = None,
               version: str | None = None) -> BuildMarker:
    """A marker as a run would write it now (or at ``at``), named ``version`` or a fresh id.
    The dbt hooks write the real ones; this is for tools and tests that stand in for a run."""
    at = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return BuildMarker(version=version or uuid.uuid4().hex, at=at, step=step, target=target,
                       state=state)


def marker_file(database: Path, state: str) -> Path:
    return database.with_name(database.name + MARKER_SUFFIXES[state])


def write_marker_file(path: Path, marker: BuildMarker) -> Path:
    """Write a marker as the DuckDB hook does, atomically (beside, then renamed)."""
    content = {"version": marker.version, TIME_FIELDS[marker.state]: marker.at.isoformat(),
               "step": marker.step, "target": marker.target}
    return write_json_atomically(path, json.dumps(content))


def read_marker_file(path: Path, state: str, target: str) -> BuildMarker | None:
    """The marker in a file, or None when there is none. A file that cannot be parsed (being
    written, say) raises ValueError: the caller must not take it for "no build"."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        content = json.loads(text.splitlines()[0] if text.strip() else "")
        at = dt.datetime.fromisoformat(content[TIME_FIELDS[state]])
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"the build marker {path} cannot be read ({error}); it may be being "
                         "written") from None
    return BuildMarker(version=str(content["version"]),
                       at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),
                       step=str(content.get("step", "build")),
                       target=str(content.get("target", target)), state=state)


@dataclass(frozen=True)
class RefreshRecord:
    """What a finished refresh records: the fingerprint of its inputs and which build it left."""

    fingerprint: str
    build_version: str  # the finished build marker the refresh ended with
    refreshed_at: dt.datetime
    lake: str
    files: int  # the lake's events and catalogue files

    def to_json(self) -> str:
        return json.dumps({**asdict(self),
                           "refreshed_at": self.refreshed_at.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> RefreshRecord:
        content = json.loads(text)
        content["refreshed_at"] = dt.datetime.fromisoformat(content["refreshed_at"])
        return cls(**content)


def write_json_atomically(path: Path, text: str) -> Path:
    """Write a small file beside its final name, then rename it: a reader sees all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=path.name, suffix=".tmp",
                                     delete=False) as temporary:
        temporary.write(text)
    # a temporary file is 0600; the service may run as another user and must read it, as it
    # reads the markers dbt writes (0644)
    os.chmod(temporary.name, 0o644)
    os.replace(temporary.name, path)
    return path
