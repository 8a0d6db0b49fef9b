"""`sqlrec build`, `sqlrec refresh` and `sqlrec demo`: what they pass on and what they print."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlrec import cli
from sqlrec.project import project_dir
from sqlrec.recommend.params import AlsParams, PipelineParams, save_params


def test_build_of_a_missing_lake_names_the_path_without_a_traceback(tmp_path, capsys):
    missing = tmp_path / "no-such-lake"
    assert cli.main(["build", "--lake", str(missing)]) == 2
    error = capsys.readouterr().err
    assert str(missing / "events") in error
    assert "Traceback" not in error


def test_cli_rejects_vars_that_are_not_a_mapping(small_lake, capsys):
    assert cli.main(["build", "--lake", str(small_lake), "--vars", "[1, 2]"]) == 2
    assert "--vars must be a mapping" in capsys.readouterr().err


def test_refresh_builds_trains_and_builds_the_blend_with_the_saved_vars(tmp_path, monkeypatch,
                                                                      capsys):
    params_file = tmp_path / "params.json"
    save_params(PipelineParams(dbt_vars={"half_life_days": 12.0}, als=AlsParams(factors=16)),
                params_file)
    calls = []

    def fake_build(lake, **kw):
        calls.append(("build", kw))

    def fake_train_models(store, params, models, **kw):
        calls.append(("train", params, models, kw))
        kw["echo"]("sqlrec train: wrote nothing (a fake)")
        return []

    monkeypatch.setattr("sqlrec.pipeline.build.build", fake_build)
    monkeypatch.setattr("sqlrec.recommend.train.train_models", fake_train_models)

    assert cli.main(["refresh", "--lake", str(tmp_path), "--params", str(params_file),
                     "--vars", "{top_k: 5}", "--quiet", "--k", "7", "--model", "als"]) == 0

    assert [call[0] for call in calls] == ["build", "train", "build"]
    # the file's vars reach both builds; --vars adds to them
    assert calls[0][1]["extra_vars"] == {"half_life_days": 12.0, "top_k": 5}
    assert calls[0][1]["quiet"] is True
    assert calls[1][1].als.factors == 16 and calls[1][2] == ("als",)
    assert (calls[1][3]["k"], calls[1][3]["show_progress"]) == (7, False)
    assert calls[1][3]["details"]["params_file"] == str(params_file)
    assert calls[2][1]["extra_vars"] == {"half_life_days": 12.0, "top_k": 5}
    assert calls[2][1]["select"] == "source:models+"  # only the models that read the new lists
    # --quiet hides progress, never the summaries
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "sqlrec train: wrote nothing (a fake)"
    assert printed[1].startswith(f"sqlrec refresh: built, trained and blended {tmp_path} in ")


def test_demo_builds_a_given_lake_and_prints_both_surfaces(small_lake, capfd):
    assert cli.main(["demo", "--lake", str(small_lake)]) == 0
    printed = capfd.readouterr().out
    assert "generating" not in printed  # the given lake is used as it is
    assert "== Viewed together" in printed and "== For you" in printed
    assert "item_similarity" in printed  # the sources table names where lists come from
    # the blend's sources table has an als row (users, rows)
    assert re.search(r"^\s*als\s+\d+\s+\d+$", printed, re.MULTILINE)
    for model in ("als", "ease"):  # the demo trains both models and says what each wrote
        assert re.search(rf"^sqlrec train: {model.upper()} wrote [\d,]+ rows to "
                         rf"{model}_user_recommendations", printed, re.MULTILINE)
    # the next steps' commands run as printed (all but the long ones: build, serve, evaluate)
    steps = printed[printed.index("Next steps"):]
    commands = [line.strip() for line in steps.splitlines() if line.startswith("    ")]
    quick = [line for line in commands if not line.startswith(("dbt build", "sqlrec"))]
    assert quick[0] == "source .venv/bin/activate" and len(quick) == 5
    shown = subprocess.run(["bash", "-c", "set -e\n" + "\n".join(quick)], cwd=project_dir(),
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "user_recommendations" not in shown.stderr
    assert "similar_item_id" in shown.stdout and "because_item_id" in shown.stdout


def test_malformed_vars_are_one_line_not_a_traceback(small_lake, capsys):
    assert cli.main(["build", "--lake", str(small_lake), "--vars", "{half_life_days: [}"]) == 2
    error = capsys.readouterr().err
    assert "--vars is not valid YAML or JSON (line 1" in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is pid (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_killing_sqlrec_build_stops_its_dbt_child_too(small_lake, tmp_path):
    """SIGTERM to `sqlrec build` reaches dbt: no orphan keeps building (and holding the
    DuckDB file), and the run is not marked finished."""
    database = tmp_path / "sqlrec.duckdb"
    env = {**os.environ, "SQLREC_DUCKDB_PATH": str(database)}
    sqlrec = subprocess.Popen([str(Path(sys.executable).parent / "sqlrec"), "build", "--lake",
                               str(small_lake)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (dbt := children_of(sqlrec.pid)):
        assert time.monotonic() < deadline and sqlrec.poll() is None, "dbt never started"
        time.sleep(0.05)
    while not Path(f"{database}.building").exists():  # dbt has the run under way
        assert time.monotonic() < deadline and sqlrec.poll() is None, "the run never started"
        time.sleep(0.05)
    sqlrec.send_signal(signal.SIGTERM)
    _, error = sqlrec.communicate(timeout=60)
    assert sqlrec.returncode == 2
    assert "stopped by SIGTERM; dbt was stopped too" in error
    assert not Path(f"/proc/{dbt[0]}").exists()  # not an orphan: gone
    assert not Path(f"{database}.built").exists()
    # the file is free again: the next build runs at once
    completed = subprocess.run([str(Path(sys.executable).parent / "sqlrec"), "build", "--lake",
                                str(small_lake), "--quiet"], env=env, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr


def test_a_held_database_is_one_line_naming_the_holder(small_lake, tmp_path, monkeypatch,
                                                       capsys):
    database = tmp_path / "sqlrec.duckdb"
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    monkeypatch.setenv("SQLREC_LOCK_TIMEOUT_S", "1")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(60)", str(database)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli.main(["build", "--lake", str(small_lake)]) == 2
        assert cli.main(["train", "--quiet"]) == 2
    finally:
        holder.kill()
        holder.wait()
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(f"in use by PID {holder.pid}" in line for line in errors)
