"""Runs dbt commands on the sqlrec project, in a child process so each run starts clean and
releases the DuckDB file when it ends (DuckDB allows one writer process at a time)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlrec import project
from sqlrec.errors import UserError


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    found = str(beside_python) if beside_python.exists() else shutil.which("dbt")
    if not found:
        raise UserError("the dbt command is not installed; run `pip install -e .` in the project")
    return found


def run_dbt(
    command: list[str],
    *,
    dbt_vars: dict | None = None,
    target: str | None = None,
    quiet: bool = False,
    env_overrides: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run `dbt <command>` in the project with the given vars; raise UserError when it fails.

    ``quiet`` captures dbt's output and shows its last lines only when dbt fails.
    ``env_overrides`` are environment variables of the dbt process alone (the profile reads
    them: SQLREC_DUCKDB_PATH points the duckdb target at another file).
    """
    args = [
        dbt_executable(),
        *command,
        "--project-dir", str(project.project_dir()),
        "--profiles-dir", str(project.profiles_dir()),
        "--target", target or project.active_target(),
    ]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    completed = subprocess.run(
        args,
        cwd=project.project_dir(),
        capture_output=quiet,
        text=True,
        env={**os.environ, **env_overrides} if env_overrides else None,
    )
    if completed.returncode != 0:
        detail = "\n" + failure_summary(completed.stdout or "") if quiet else ""
        raise UserError(f"`dbt {' '.join(command)}` failed (exit {completed.returncode}){detail}")
    return completed


def failure_summary(output: str, lines: int = 40) -> str:
    """What a failed dbt run says went wrong: its closing summary of errors (or its last lines),
    without colour codes."""
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines()
    starts = [number for number, line in enumerate(plain)
              if "Completed with" in line or "Encountered an error" in line]
    shown = plain[starts[-1]:] if starts else plain[-lines:]
    return "\n".join(shown[:lines])
