"""The documentation's dbt commands work as written.

The block of dbt commands in docs/dbt.md, "Running dbt yourself", runs line by line, in the
order written, on a fresh database, from a folder laid out like the project's root after
`make demo` (the lake in data/lake, the profile in profiles/, the virtual environment in .venv);
dbt finds the project through DBT_PROJECT_DIR, so no file of the checkout is touched but dbt's
target/. `doc_pages.shell_block` finds the block of any section of any page the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import duckdb
import pytest

from sqlrec.data.generate import generate_lake

from doc_pages import shell_block
from helpers import PROJECT_DIR

# every dbt command of the page, in order
pytestmark = pytest.mark.slow


def test_the_documented_dbt_commands_run_in_order_on_a_fresh_database(tmp_path):
    commands = [line for line in shell_block("docs/dbt.md", "Running dbt yourself").splitlines()
                if line]
    assert commands[0] == "source .venv/bin/activate"
    assert sum(line.startswith("dbt ") for line in commands) >= 6
    # the generator's default end date, today: `dbt source freshness` finds the events fresh
    generate_lake(tmp_path / "data" / "lake", users=300, items=120, events=6_000, days=5,
                  seed=3, bad_rows=5, show_progress=False)
    (tmp_path / ".venv").symlink_to(PROJECT_DIR / ".venv")
    shutil.copytree(PROJECT_DIR / "profiles", tmp_path / "profiles")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SQLREC_", "DBT_"))}
    env["DBT_PROJECT_DIR"] = str(PROJECT_DIR)

    setup = []  # the lines that set up the shell (source, export) stay in force below them
    for command in commands:
        if not command.startswith("dbt "):
            setup.append(command)
            continue
        done = subprocess.run(["bash", "-c", "\n".join(["set -e", *setup, command])],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"docs/dbt.md: `{command}` failed:\n{done.stdout[-3000:]}"

    with duckdb.connect(str(tmp_path / "data" / "sqlrec.duckdb"), read_only=True) as built:
        assert built.sql("select count(*) from user_recommendations").fetchall()[0][0] > 0
