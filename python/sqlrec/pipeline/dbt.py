"""Runs dbt commands on the sqlrec project, in a child process so each run starts clean and
releases the DuckDB file when it ends (DuckDB allows one writer process at a time)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
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

    A failure that the project's own checks raise (the input contract, the vars, the quality
    gate: messages starting "sqlrec: ") is that message alone, without dbt's frames; any other
    failure names the command, and with ``quiet`` dbt's summary of its errors.
    ``quiet`` hides dbt's output (shown only in that summary). ``env_overrides`` are
    environment variables of the dbt process alone (the profile reads them:
    SQLREC_DUCKDB_PATH points the duckdb target at another file).
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
    completed = _run_forwarding_signals(
        args, cwd=project.project_dir(), show=not quiet,
        env={**os.environ, **env_overrides} if env_overrides else None)
    if completed.returncode != 0:
        if message := project_error(completed.stdout):
            raise UserError(message)
        detail = "\n" + failure_summary(completed.stdout) if quiet else ""
        raise UserError(f"`dbt {' '.join(command)}` failed (exit {completed.returncode}){detail}")
    return completed


def run_results_since(started: float) -> list[dict] | None:
    """The results, one per node, of the dbt run that wrote target/run_results.json at or after
    ``started`` (a time.time()), or None when no such file was written (dbt failed before it)."""
    path = project.dbt_target_dir() / "run_results.json"
    try:
        if path.stat().st_mtime < started:
            return None
        results = json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return results if isinstance(results, list) else None


def models_built(results: list[dict] | None) -> frozenset[str]:
    """The models that dbt's run ``results`` (`run_results_since`) say were built successfully."""
    return frozenset(result["unique_id"].rsplit(".", 1)[-1] for result in results or []
                     if result.get("unique_id", "").startswith("model.")
                     and result.get("status") == "success")


FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _run_forwarding_signals(args: list[str], *, cwd: Path, show: bool,
                            env: dict[str, str] | None) -> subprocess.CompletedProcess:
    """Run dbt as a child in a process group of its own, and pass it SIGTERM and SIGINT: killing
    `sqlrec build` by its PID then stops dbt too (dbt ends its run, no build is marked finished)
    instead of leaving it running without us, holding the DuckDB file. Its own group keeps a
    terminal's Ctrl-C from reaching dbt twice. Its output is kept (a failure is read from it)
    and, when ``show``, copied to our stdout line by line as it comes.

    A SIGKILL runs no handler: on Linux the kernel sends dbt SIGTERM when we die
    (PR_SET_PDEATHSIG), and dbt inherits the refresh lock we hold (`lock.held_descriptors`), so
    that lock stays taken until dbt is gone too."""
    from sqlrec.pipeline import lock

    process = subprocess.Popen(args, cwd=cwd, env=env, text=True, process_group=0,
                               preexec_fn=_dies_with_parent(),
                               pass_fds=lock.held_descriptors(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    received: list[int] = []

    def forward(signum, _frame):
        received.append(signum)
        process.send_signal(signum)

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS} \
        if in_main_thread else {}
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if show:
                sys.stdout.write(line)
                sys.stdout.flush()
        process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        name = signal.Signals(received[0]).name
        raise UserError(f"stopped by {name}; dbt was stopped too (exit {process.returncode}), "
                        "and its build is not marked finished")
    return subprocess.CompletedProcess(args, process.returncode, "".join(lines), None)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _dies_with_parent():
    """A preexec_fn that has the kernel send the child SIGTERM when this process dies, or None
    where that cannot be asked (not Linux). libc is looked up here, before the fork."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def ask() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # we died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return ask


def failure_summary(output: str, lines: int = 40) -> str:
    """What a failed dbt run says went wrong: its closing summary of errors (or its last lines),
    without colour codes."""
    plain = _without_colours(output).splitlines()
    shown = _closing_summary(plain) or plain[-lines:]
    return "\n".join(shown[:lines])


# what the project's macros and tests begin their errors with (check_lake, validate_vars, the
# quality gate)
PROJECT_ERROR = "sqlrec: "
# where dbt's own lines around such a message begin: a log time, a macro frame, a file's place
_DBT_LINE = re.compile(r"^(\d{2}:\d{2}:\d{2}(\s|$)|>\s|compiled code at\s)")


def project_error(output: str) -> str | None:
    """The message of the project's own check that stopped a failed dbt run, without dbt's
    frames (the macro stack, the compiled file), or None when no such check failed. A list of
    one problem folds into its heading's line: "heading: problem"."""
    plain = _without_colours(output).splitlines()
    summary = _closing_summary(plain) or plain
    found = next((number for number, line in enumerate(summary) if PROJECT_ERROR in line), None)
    if found is None:
        return None
    first = summary[found]
    message = [first[first.index(PROJECT_ERROR) + len(PROJECT_ERROR):].strip()]
    for line in summary[found + 1:]:
        if not line.strip() or _DBT_LINE.match(line.strip()):
            break
        message.append(line.strip())
    problems = [line for line in message[1:] if line.startswith("- ")]
    if len(problems) == 1 and message[0].endswith(":") and message[1] == problems[0]:
        folded = f"{message[0]} {problems[0].removeprefix('- ')}"
        rest = message[2:]
        return f"{folded}. {' '.join(rest)}" if rest else folded
    return "\n".join(f"  {line}" if line.startswith("- ") else line for line in message)


def _closing_summary(plain: list[str]) -> list[str]:
    """The lines from dbt's last "Completed with ..." or "Encountered an error" on (none when
    dbt printed neither)."""
    starts = [number for number, line in enumerate(plain)
              if "Completed with" in line or "Encountered an error" in line]
    return plain[starts[-1]:] if starts else []


def _without_colours(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
