"""`sqlrec build`, `sqlrec refresh` and `sqlrec demo`: what they pass on and what they print."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_an_unknown_var_is_one_line_before_anything_runs(small_lake, tmp_path, monkeypatch,
                                                         capsys):
    def no_dbt(*args, **kwargs):
        raise AssertionError("dbt ran")

    monkeypatch.setattr("sqlrec.pipeline.build.run_dbt", no_dbt)
    monkeypatch.setenv("SQLREC_PARAMS", str(tmp_path / "absent.json"))
    for command in ("build", "refresh"):
        assert cli.main([command, "--lake", str(small_lake), "--vars", "{top_kk: 5}",
                         "--quiet"]) == 2
        error = capsys.readouterr().err
        assert error.startswith("sqlrec: error: unknown var top_kk (did you mean top_k?)")
        assert len(error.strip().splitlines()) == 1


def test_refresh_builds_trains_and_builds_the_blend_with_the_saved_vars(tmp_path, monkeypatch,
                                                                      capsys):
    params_file = tmp_path / "params.json"
    save_params(PipelineParams(dbt_vars={"half_life_days": 12.0}, als=AlsParams(factors=16)),
                params_file)
    calls = []

    def fake_build(lake, **kw):
        calls.append(("build", kw))
        return frozenset()  # built no model: no summary line

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
    # only the models that read the new lists
    assert calls[2][1]["select"] == "source:trained_lists+"
    # --quiet hides progress, never the summaries
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "sqlrec train: wrote nothing (a fake)"
    assert printed[1].startswith(f"sqlrec refresh: built, trained and blended {tmp_path} in ")
    assert printed[1].endswith(f" s with the parameters of {params_file}")


def test_refresh_warns_in_one_line_when_the_params_were_tuned_on_another_lake(
        tmp_path, monkeypatch, capsys):
    demo, other = tmp_path / "demo-lake", tmp_path / "other-lake"
    params_file = tmp_path / "params.json"
    save_params(PipelineParams(lake={"path": str(demo), "events": 50_000, "users": 1_200,
                                     "items": 300}), params_file)
    monkeypatch.setattr("sqlrec.pipeline.build.build", lambda lake, **kw: frozenset())
    monkeypatch.setattr("sqlrec.recommend.train.train_models", lambda *a, **kw: [])

    assert cli.main(["refresh", "--lake", str(other), "--params", str(params_file),
                     "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"sqlrec refresh: warning: {params_file} was tuned on {demo} "
                            f"(50,000 events, 1,200 users, 300 items), not on {other}; its "
                            "parameters may not suit it (`sqlrec tune` on it writes its own)\n")
    assert f"with the parameters of {params_file}" in captured.out
    # on the lake it was tuned on: no word
    assert cli.main(["refresh", "--lake", str(demo), "--params", str(params_file),
                     "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    # build reads the file's dbt vars, tuned on that lake too
    assert cli.main(["build", "--lake", str(other), "--params", str(params_file),
                     "--quiet"]) == 0
    assert capsys.readouterr().err.startswith(f"sqlrec build: warning: {params_file} was "
                                              f"tuned on {demo} ")


@pytest.mark.slow
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


@pytest.mark.slow
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


def alive(pid: int) -> bool:
    """Whether any thread of a process still runs. Its main thread may already be a zombie
    while the others exit (and hold its files, locks included, until the last one is done)."""
    states = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
        except OSError:
            continue
    return any(state not in ("Z", "X") for state in states)


@pytest.mark.slow
def test_a_killed_refresh_takes_its_dbt_child_with_it_and_frees_the_lock_after(small_lake,
                                                                               tmp_path):
    """SIGKILL of `sqlrec refresh` (no handler runs) while dbt builds: dbt dies with it, and the
    refresh lock is never free while that dbt still runs (a second refresh must not start
    beside it)."""
    from sqlrec.pipeline import lock

    database = tmp_path / "sqlrec.duckdb"
    lock_file = database.with_name("sqlrec.duckdb.refresh.lock")
    env = {**os.environ, "SQLREC_DUCKDB_PATH": str(database)}
    refresh = subprocess.Popen([str(Path(sys.executable).parent / "sqlrec"), "refresh", "--lake",
                                str(small_lake), "--quiet", "--model", "als"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while not (dbt := children_of(refresh.pid)) or not Path(f"{database}.building").exists():
            assert time.monotonic() < deadline and refresh.poll() is None, "dbt never started"
            time.sleep(0.05)
        refresh.kill()
        refresh.wait()
        deadline = time.monotonic() + 30
        while True:
            dbt_alive = alive(dbt[0])
            try:
                with lock.exclusive(lock_file):
                    # dbt's last thread frees the lock on its way out: a moment to finish
                    exiting = time.monotonic() + 2
                    while alive(dbt[0]):
                        assert time.monotonic() < exiting, \
                            "the lock was free while the orphaned dbt ran"
                        time.sleep(0.01)
                break
            except lock.AlreadyRunning:
                assert dbt_alive or alive(dbt[0]), "the lock is held by nobody"
            assert time.monotonic() < deadline, "dbt outlived its refresh"
            time.sleep(0.05)
        assert not alive(dbt[0])
    finally:
        for pid in [refresh.pid, *(dbt if "dbt" in locals() else [])]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_selection_that_matches_nothing_fails_in_one_line(small_lake, capsys):
    database = Path(os.environ["SQLREC_DUCKDB_PATH"])
    assert cli.main(["build", "--lake", str(small_lake), "--select", "no_such_model"]) == 2
    captured = capsys.readouterr()
    assert "marked finished" not in captured.out
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and "no_such_model" in errors[0] and "nothing" in errors[0], errors
    assert not Path(f"{database}.built").exists()


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"sqlrec {version('sqlrec')}"
