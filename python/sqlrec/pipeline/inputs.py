"""What a refresh was computed from, so that a refresh of unchanged inputs can do nothing.

The marketplace refreshes every few minutes, mostly of a lake nothing was added to; recomputing
identical tables then costs minutes of CPU and makes the service reload for nothing. A finished
`sqlrec refresh` records a fingerprint of its inputs in the warehouse (`Warehouse.
write_refresh_record`): the lake's file listing (path, size, mtime of the events and catalogue
files, without reading them), the parameters (dbt vars, ALS and EASE, models, k, device), and the
project's own files (its SQL, seeds, dbt_project.yml and the training code: a change of the models
must rebuild). The next refresh computes the same fingerprint first; when it is equal and the
warehouse still holds the build that refresh finished with (no `sqlrec build` since, none running
or failed), nothing has changed and no model work is needed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec import project
from sqlrec.warehouse.markers import RefreshRecord

if TYPE_CHECKING:
    from sqlrec import warehouse
    from sqlrec.recommend.params import PipelineParams

# the project's files whose change changes what a refresh computes (relative to the project)
PROJECT_INPUTS = ("dbt_project.yml", "models", "macros", "seeds")


def lake_files(lake_dir: Path) -> list[tuple[str, int, int]]:
    """(path relative to the lake, size, mtime in ns) of every events and catalogue file the
    project reads (the input contract's globs), sorted: a stat each, no file is opened."""
    lake_dir = Path(lake_dir)
    found = []
    for pattern in ("events/*/*.parquet", "catalog/*.parquet"):
        for path in lake_dir.glob(pattern):
            stat = path.stat()
            found.append((path.relative_to(lake_dir).as_posix(), stat.st_size,
                          stat.st_mtime_ns))
    return sorted(found)


def project_digest() -> str:
    """A hash of the project's models, macros, seeds and dbt_project.yml and of the training code
    (sqlrec.recommend): editing any of them makes the next refresh a full one."""
    import sqlrec.recommend

    root = project.project_dir()
    files = []
    for name in PROJECT_INPUTS:
        path = root / name
        files += [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    files += sorted(Path(sqlrec.recommend.__file__).parent.glob("*.py"))
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint(lake_dir: Path, params: PipelineParams, *, dbt_vars: dict[str, Any],
                models: tuple[str, ...], k: int, device: str,
                files: list[tuple[str, int, int]] | None = None) -> str:
    """The fingerprint of a refresh's inputs. ``params.tuned`` is left out: it says how the
    parameters were found, and changes nothing computed."""
    inputs = {
        "lake": str(Path(lake_dir).resolve()),
        "files": lake_files(lake_dir) if files is None else files,
        "dbt_vars": dbt_vars, "als": params.als.model_params(),
        "ease": params.ease.model_params(), "models": list(models), "k": k, "device": device,
        "project": project_digest(),
    }
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def unchanged_since(store: warehouse.Warehouse, current: str) -> RefreshRecord | None:
    """The last finished refresh's record when its fingerprint is ``current`` and the warehouse
    still holds the build it finished with; else None (a full refresh is needed)."""
    record = store.read_refresh_record()
    if record is None or record.fingerprint != current:
        return None
    state = store.build_state()
    # a `sqlrec build` since (other vars, say), or one that failed or still runs, changed the
    # tables that refresh left: they are no longer what these inputs give
    if not state.finished or state.version != record.build_version:
        return None
    return record


def record_refresh(store: warehouse.Warehouse, current: str, lake_dir: Path,
                   files: int) -> RefreshRecord | None:
    """Record a finished refresh of inputs ``current`` (None when no build is marked finished,
    which a finished refresh always leaves)."""
    marker = store.read_build_marker()
    if marker is None:
        return None
    record = RefreshRecord(fingerprint=current, build_version=marker.version,
                           refreshed_at=dt.datetime.now(dt.UTC), lake=str(lake_dir), files=files)
    store.write_refresh_record(record)
    return record
