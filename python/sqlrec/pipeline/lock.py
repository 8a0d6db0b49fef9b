"""One refresh at a time: the lock that makes `sqlrec refresh` safe to start from cron.

A refresh holds an exclusive `fcntl.flock` on a lock file for as long as it runs; a second one
that finds the lock taken gives up at once (it never queues behind the first, so a slow run
cannot pile up runs behind it) and says which process holds it. The kernel releases the lock
when the holder exits, however it exits, so a killed refresh leaves nothing to clean up: the
file stays, the lock does not. The file holds the holder's PID and start time, for the message.

The children a holder starts to do its work (dbt, `sqlrec.pipeline.dbt`) inherit the lock's
descriptor (`held_descriptors`): the lock is released only when the last of them exits, so a
refresh killed while its dbt still writes cannot let a second refresh start beside that dbt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlrec.errors import UserError

# the exit code of a refresh that found another one running (cron wrappers can tell it apart
# from a failure, which exits 2)
ALREADY_RUNNING_EXIT = 3


# descriptors of the locks this process holds now, for its children to inherit
_held: set[int] = set()


def held_descriptors() -> tuple[int, ...]:
    return tuple(sorted(_held))


class AlreadyRunning(UserError):
    """Another process holds the lock (the command exits ALREADY_RUNNING_EXIT)."""


def lock_path_for(target: str) -> Path:
    """Where the lock of refreshes of a dbt target lives: beside the DuckDB file (a refresh of
    that file is what must not overlap), or in the project's data folder for a Trino target."""
    from sqlrec import project
    from sqlrec.warehouse import profile

    if profile.engine_of(target) == "duckdb":
        database, _ = profile.duckdb_file(target)
        return database.with_name(database.name + ".refresh.lock")
    return project.project_dir() / "data" / f"refresh-{target}.lock"


@contextlib.contextmanager
def exclusive(path: Path, what: str = "sqlrec refresh") -> Iterator[Path]:
    """Hold the lock at `path` while the block runs; AlreadyRunning at once when it is held."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 200, 0).decode(errors="replace").strip() or "unknown"
            raise AlreadyRunning(f"another {what} is running ({holder}; lock {path}); this one "
                                 "did nothing") from None
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"PID {os.getpid()}, started {started}".encode(), 0)
        _held.add(handle)
        yield path
    finally:
        _held.discard(handle)
        os.close(handle)  # closing the last descriptor (children's too) releases the lock
