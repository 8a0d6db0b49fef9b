"""Run one command and print its wall seconds and the peak of the summed resident memory of its
process tree (the command and every child it starts, e.g. `sqlrec train` or a refresh with its
dbt processes), sampled every 0.5 s.

    python bench/peak_memory.py sqlrec train
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def tree_resident_bytes(root: int) -> int:
    """The summed resident memory of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    resident: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            # the fields after the command name, which may itself hold spaces or parentheses
            fields = open(f"/proc/{entry.name}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        resident[int(entry.name)] = int(fields[21]) * page
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += resident.get(pid, 0)
        pending += children.get(pid, [])
    return total


def main() -> int:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    started = time.perf_counter()
    process = subprocess.Popen(sys.argv[1:])
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_resident_bytes(process.pid))
        time.sleep(0.5)
    print(f"exit {process.returncode}; wall {time.perf_counter() - started:.1f} s; peak summed "
          f"resident memory {peak / 2**30:.2f} GiB", flush=True)
    return process.returncode


if __name__ == "__main__":
    raise SystemExit(main())
