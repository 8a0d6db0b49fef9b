"""`sqlrec refresh` from cron: two refreshes never overlap; the second exits at once with code 3
and one line naming the first one's PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlrec.pipeline import lock

SQLREC = str(Path(sys.executable).with_name("sqlrec"))


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_second_refresh_exits_3_naming_the_running_one(small_lake, tmp_path):
    database = tmp_path / "sqlrec.duckdb"
    env = {**os.environ, "SQLREC_DUCKDB_PATH": str(database), "SQLREC_TARGET": "duckdb"}
    lock_file = database.with_name("sqlrec.duckdb.refresh.lock")
    first = subprocess.Popen([SQLREC, "refresh", "--lake", str(small_lake), "--quiet",
                              "--model", "als", "--device", "cpu"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: lock_file.exists() and lock_file.read_text().startswith("PID"), 60,
                 "the first refresh to take the lock")
        started = time.monotonic()
        second = subprocess.run([SQLREC, "refresh", "--lake", str(small_lake), "--quiet"],
                                env=env, capture_output=True, text=True, timeout=120)
        assert time.monotonic() - started < 30  # it did not wait for the first
        assert first.poll() is None, "the first refresh ended before the second was tried"
        assert second.returncode == lock.ALREADY_RUNNING_EXIT == 3
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"another sqlrec refresh is running (PID {first.pid}, started " in lines[0]
        assert str(lock_file) in lines[0]
        out, err = first.communicate(timeout=600)
        assert first.returncode == 0, err
        assert "sqlrec refresh: built, trained and blended" in out
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # once the first is done, a refresh takes the lock again
    with lock.exclusive(lock_file):
        pass


def test_a_killed_holder_leaves_the_lock_free(tmp_path):
    lock_file = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from sqlrec.pipeline import lock\n"
        f"with lock.exclusive({str(lock_file)!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(lock.AlreadyRunning, match=f"PID {holder.pid}"):
            with lock.exclusive(lock_file):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        with lock.exclusive(lock_file):
            assert lock_file.read_text().startswith(f"PID {os.getpid()},")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
