"""Benchmark: the whole `sqlrec refresh` on DuckDB from 1M to 100M events, beside its peers.

    python bench/bench_scale.py [--sizes 1m,10m,30m,100m] [--data-dir data/bench]
        [--similarity-peer-up-to 30m] [--als-peer-up-to 100m] [--pipeline-peer-up-to 30m]
        [--json docs/scaling.json] [--plot docs/scaling.png]
    python bench/bench_scale.py --replot docs/scaling.json docs/scaling.png

Lakes: 1M and 10M events are the similarity benchmark's (bench_similarity.SIZES: 50k users /
20k items and 500k / 100k, 30 days, seed 1). Beyond 10M a marketplace grows both by users and
by activity per user, and its catalogue more slowly than its traffic, so from the 10M lake users
grow as events^0.9 (events per user as events^0.1) and items as events^0.7: 30M events = 1.34M
users / 216k items, 100M = 3.97M / 501k. Each lake is generated once under --data-dir.

For each size, each step in a child process of its own (wall and CPU seconds from its rusage,
peak memory = the largest resident set of the child or any of its descendants, sampled every
0.2 s, so the peak of the dbt process that does the work):

- refresh: `sqlrec refresh --lake LAKE --quiet` (dbt build with every test, `sqlrec train`,
  dbt build of the blend) into a fresh DuckDB file with the project's defaults, after an untimed
  `dbt parse` with the same vars (a team's repeated runs start from dbt's partial-parse cache).
  Per-node seconds come from dbt's structured log of both builds (run_results.json keeps only
  the last), the training's from its model_runs row; each node is also given the peak memory
  sampled while it ran (dbt runs two nodes at a time, so a node shares its figure with another).
- similarity peer: bench/cosine_peer.py (pyarrow/pandas + implicit's CosineRecommender), up to
  --similarity-peer-up-to: it holds every event in pandas (about 2.3 GB at 10M events).
- ALS peer: bare implicit fit + recommend (bench_als.PEER) on the matrix `sqlrec train` built,
  exported untimed from the refresh's database, up to --als-peer-up-to.
- whole-job peer: bench/pipeline_peer.py, the same job by hand in one process (scores,
  neighbours, similarity signal with reasons, ALS and EASE top 50, blend, Parquet out), up to
  --pipeline-peer-up-to; the ratio of the refresh to it, and the floor beside both: the peer's
  read of the events, its neighbours and its two fits, work no pipeline can skip.

Writes every figure to --json and the log-log plot of seconds and peak memory to --plot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "python"))
sys.path.insert(0, str(PROJECT / "bench"))

from bench_als import PEER as ALS_PEER  # noqa: E402
from bench_similarity import SIZES as SIMILARITY_SIZES  # noqa: E402
from bench_similarity import bench_lake, bench_profiles  # noqa: E402

from sqlrec import project  # noqa: E402

USERS_EXPONENT, ITEMS_EXPONENT = 0.9, 0.7
ANCHOR = SIMILARITY_SIZES["10m"]


def marketplace(events: int) -> dict[str, int]:
    """A lake's shape at ``events`` events, grown from the 10M lake (module docstring)."""
    growth = events / ANCHOR["events"]
    return {"events": events,
            "users": int(round(ANCHOR["users"] * growth ** USERS_EXPONENT, -4)),
            "items": int(round(ANCHOR["items"] * growth ** ITEMS_EXPONENT, -3))}


SIZES = {**SIMILARITY_SIZES, "30m": marketplace(30_000_000), "100m": marketplace(100_000_000)}


def descendants_rss(root: int) -> int:
    """Bytes resident in the largest of ``root`` and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    largest, todo = 0, [root]
    while todo:
        pid = todo.pop()
        largest = max(largest, rss.get(pid, 0))
        todo += children.get(pid, [])
    return largest


def measured(command: list[str], env: dict[str, str]) -> dict:
    """Run a command; its wall and CPU seconds (user + system, all threads and children), the
    peak RSS in GiB of it and its descendants, the RSS samples (UTC time, GiB) and its output."""
    samples: list[tuple[dt.datetime, float]] = []
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=PROJECT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            samples.append((dt.datetime.now(dt.UTC).replace(tzinfo=None),
                            descendants_rss(process.pid) / 2**30))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{output[-3000:]}")
    peak = max([usage.ru_maxrss / 2**20] + [gib for _, gib in samples])
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_gib": peak, "samples": samples, "output": output}


def dbt_nodes(log_file: Path, samples: list[tuple[dt.datetime, float]]) -> list[dict]:
    """Every node dbt finished, in order: name, type, seconds, and the peak memory sampled while
    it ran."""
    nodes = []
    for line in log_file.read_text().splitlines():
        event = json.loads(line)
        if event["info"]["name"] != "NodeFinished":
            continue
        node, result = event["data"]["node_info"], event["data"]["run_result"]
        begin = dt.datetime.fromisoformat(node["node_started_at"])
        end = dt.datetime.fromisoformat(node["node_finished_at"])
        during = [gib for at, gib in samples if begin <= at <= end]
        nodes.append({"name": node["node_name"], "type": node["resource_type"],
                      "status": result["status"], "seconds": result["execution_time"],
                      "peak_gib": max(during) if during else None})
    return nodes


def refresh(lake: Path, database: Path, env: dict[str, str], logs: Path) -> dict:
    """`sqlrec refresh` in a child process, with its per-node seconds and the training's."""
    import duckdb

    for suffix in ("", ".wal", ".building", ".built"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(logs, ignore_errors=True)
    env = {**env, "SQLREC_DUCKDB_PATH": str(database), "DBT_LOG_PATH": str(logs),
           "DBT_LOG_FORMAT_FILE": "json"}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "dbt"), "parse", "--vars", json.dumps(project.lake_vars(lake)),
                    "--profiles-dir", env["DBT_PROFILES_DIR"]], env=env, cwd=PROJECT,
                   check=True, capture_output=True)
    (logs / "dbt.log").unlink(missing_ok=True)
    run = measured([str(bin_dir / "sqlrec"), "refresh", "--lake", str(lake), "--quiet"], env)
    nodes = dbt_nodes(logs / "dbt.log", run["samples"])
    with duckdb.connect(str(database), read_only=True) as connection:
        trained = {model: (fit, seconds) for model, fit, seconds in connection.sql(
            "select model, fit_seconds, seconds from model_runs").fetchall()}
        counts = dict(connection.sql(
            "select 'scores', count(*) from int_user_item_scores union all "
            "select 'user_pairs', coalesce(sum(len(items) * (len(items) - 1) // 2), 0) "
            "from int_user_item_lists union all "
            "select 'item_pairs', count(*) from int_item_pairs union all "
            "select 'item_similarity', count(*) from item_similarity").fetchall())
    peak_node = max((n for n in nodes if n["peak_gib"] is not None),
                    key=lambda n: n["peak_gib"], default=None)
    return {"seconds": run["seconds"], "cpu_seconds": run["cpu_seconds"],
            "peak_gib": run["peak_gib"], "nodes": nodes,
            "peak_during": peak_node["name"] if peak_node else None,
            "train_seconds": sum(seconds for _, seconds in trained.values()),
            "train_fit_seconds": sum(fit for fit, _ in trained.values()),
            "train_by_model": {model: {"fit_seconds": fit, "seconds": seconds}
                               for model, (fit, seconds) in trained.items()},
            "dbt_seconds": sum(n["seconds"] for n in nodes), "rows": counts}


def similarity_peer(lake: Path, env: dict[str, str]) -> dict:
    run = measured([sys.executable, str(PROJECT / "bench" / "cosine_peer.py"), str(lake)], env)
    return {key: run[key] for key in ("seconds", "cpu_seconds", "peak_gib")} | {
        "summary": run["output"].strip().splitlines()[-1]}


def als_peer(database: Path, env: dict[str, str]) -> dict:
    """Bare implicit on the matrix `sqlrec train` read, with the training's defaults."""
    import scipy.sparse as sp

    from sqlrec import warehouse
    from sqlrec.recommend.matrix import SCORES_TABLE, interaction_matrix
    from sqlrec.recommend.params import AlsParams
    from sqlrec.recommend.train import DEFAULT_K

    os.environ["SQLREC_DUCKDB_PATH"] = str(database)
    with tempfile.TemporaryDirectory(dir=database.parent) as folder:
        matrix = Path(folder) / "matrix.npz"
        store = warehouse.connect()
        data = interaction_matrix(store.read_table(SCORES_TABLE, ["user_id", "item_id", "score"]))
        params = AlsParams().resolved(data.nnz)  # the regularisation `sqlrec train` gives it
        sp.save_npz(matrix, data.matrix, compressed=False)
        del data
        settings = {"matrix": str(matrix), "device": "cpu", "threads": 0, "k": DEFAULT_K,
                    "alpha": params.alpha,
                    "params": {"factors": params.factors, "regularization": params.regularization,
                               "iterations": params.iterations,
                               "random_state": params.random_state}}
        run = measured([sys.executable, "-c", ALS_PEER, json.dumps(settings)], env)
    timed = json.loads(run["output"].strip().splitlines()[-1])
    return {key: run[key] for key in ("seconds", "cpu_seconds", "peak_gib")} | timed


def pipeline_peer(lake: Path, env: dict[str, str], out: Path) -> dict:
    """bench/pipeline_peer.py in a child process: its seconds, peak and steps, and the floor."""
    shutil.rmtree(out, ignore_errors=True)
    run = measured([sys.executable, str(PROJECT / "bench" / "pipeline_peer.py"), str(lake),
                    str(out)], env)
    steps = json.loads(run["output"].strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    floor = steps["read"] + steps["neighbours"] + steps["als_fit"] + steps["ease_fit"]
    return {key: run[key] for key in ("seconds", "cpu_seconds", "peak_gib")} | {
        "steps": steps, "floor_seconds": floor}


def events_of(size: str) -> int:
    return SIZES[size]["events"]


def plot(results: list[dict], path: Path) -> None:
    """Seconds and peak memory against events, log-log: the refresh and its parts beside the
    peers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    similarity_models = {"int_user_item_vectors", "int_user_item_lists", "int_item_pairs",
                         "item_similarity"}
    figure, (seconds_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = {
        "sqlrec refresh (build + train + blend)": lambda r: (
            r["refresh"]["seconds"], r["refresh"]["peak_gib"]),
        "  its item-similarity models (SQL)": lambda r: (
            sum(n["seconds"] for n in r["refresh"]["nodes"] if n["name"] in similarity_models),
            max(n["peak_gib"] or 0 for n in r["refresh"]["nodes"]
                if n["name"] in similarity_models)),
        "  its sqlrec train (ALS + EASE)": lambda r: (r["refresh"]["train_seconds"], None),
        "peer: pandas + CosineRecommender": lambda r: (
            (r["similarity_peer"]["seconds"], r["similarity_peer"]["peak_gib"])
            if r.get("similarity_peer") else (None, None)),
        "peer: bare implicit ALS": lambda r: (
            (r["als_peer"]["seconds"], r["als_peer"]["peak_gib"])
            if r.get("als_peer") else (None, None)),
        "peer: the whole job by hand": lambda r: (
            (r["pipeline_peer"]["seconds"], r["pipeline_peer"]["peak_gib"])
            if r.get("pipeline_peer") else (None, None)),
        "floor: one read, neighbours, two fits": lambda r: (
            (r["pipeline_peer"]["floor_seconds"], None)
            if r.get("pipeline_peer") else (None, None)),
    }
    styles = ["o-", "s--", "^--", "s:", "^:", "D-", ":"]
    # fixed, so a series has one colour on both axes
    colours = ["C0", "C1", "C2", "C3", "C4", "C5", "C7"]
    for (label, figures), style, colour in zip(series.items(), styles, colours, strict=True):
        for axis, index in ((seconds_axis, 0), (memory_axis, 1)):
            points = [(r["events"], figures(r)[index]) for r in results]
            points = [(x, y) for x, y in points if y]
            if points:
                axis.plot(*zip(*points, strict=True), style, color=colour, label=label.strip())
    for axis, title in ((seconds_axis, "seconds"), (memory_axis, "peak memory, GiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("events")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    seconds_axis.legend(fontsize=8)
    figure.suptitle("sqlrec on DuckDB, one 2-core machine (24 GiB)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    if sys.argv[1:2] == ["--replot"]:  # the plot again from a written --json file
        plot(json.loads(Path(sys.argv[2]).read_text())["sizes"], Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,10m,30m,100m")
    parser.add_argument("--data-dir", type=Path, default=PROJECT / "data" / "bench")
    parser.add_argument("--similarity-peer-up-to", default="30m")
    parser.add_argument("--als-peer-up-to", default="100m")
    parser.add_argument("--pipeline-peer-up-to", default="30m")
    parser.add_argument("--json", type=Path, default=PROJECT / "docs" / "scaling.json")
    parser.add_argument("--plot", type=Path, default=PROJECT / "docs" / "scaling.png")
    args = parser.parse_args()

    profiles = bench_profiles(args.data_dir)
    env = {**os.environ, "DBT_PROFILES_DIR": str(profiles), "SQLREC_TARGET": "duckdb",
           "OPENBLAS_NUM_THREADS": "1",
           "SQLREC_PARAMS": str(args.data_dir / "no-saved-params.json")}

    results = []
    for size in args.sizes.split(","):
        spec = SIZES[size]
        lake = bench_lake(args.data_dir, size, spec)
        database = args.data_dir / f"scale-{size}.duckdb"
        result = {"size": size, **spec}
        result["refresh"] = refresh(lake, database, env, args.data_dir / f"logs-{size}")
        print(f"{size}: refresh {result['refresh']['seconds']:.0f} s "
              f"({result['refresh']['cpu_seconds']:.0f} CPU s), peak "
              f"{result['refresh']['peak_gib']:.2f} GiB", flush=True)
        if events_of(size) <= events_of(args.similarity_peer_up_to):
            result["similarity_peer"] = similarity_peer(lake, env)
            print(f"  similarity peer {result['similarity_peer']['seconds']:.0f} s, "
                  f"{result['similarity_peer']['peak_gib']:.2f} GiB", flush=True)
        if events_of(size) <= events_of(args.als_peer_up_to):
            result["als_peer"] = als_peer(database, env)
            print(f"  ALS peer {result['als_peer']['seconds']:.0f} s, "
                  f"{result['als_peer']['peak_gib']:.2f} GiB", flush=True)
        if events_of(size) <= events_of(args.pipeline_peer_up_to):
            peer = result["pipeline_peer"] = pipeline_peer(
                lake, env, args.data_dir / f"peer-{size}")
            print(f"  whole-job peer {peer['seconds']:.0f} s, {peer['peak_gib']:.2f} GiB; "
                  f"refresh / peer {result['refresh']['seconds'] / peer['seconds']:.2f}; "
                  f"floor {peer['floor_seconds']:.0f} s", flush=True)
        results.append(result)
        args.json.write_text(json.dumps(
            {"command": "python bench/bench_scale.py " + " ".join(sys.argv[1:]),
             "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
             "sizes": results}, indent=1) + "\n")
    plot(results, args.plot)
    print_tables(results)


def print_tables(results: list[dict]) -> None:
    print("\n| events | users / items | refresh: wall / CPU | peak | dbt nodes | train (fit) | "
          "whole-job peer | refresh / peer | floor | similarity peer | ALS peer | peak during |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        run = r["refresh"]
        peers = []
        for key in ("similarity_peer", "als_peer"):
            peer = r.get(key)
            peers.append(f"{peer['seconds']:.0f} s / {peer['peak_gib']:.1f} GiB"
                         if peer else "not run")
        whole = r.get("pipeline_peer")
        versus = (f"{whole['seconds']:.0f} s / {whole['peak_gib']:.1f} GiB | "
                  f"{run['seconds'] / whole['seconds']:.2f} | {whole['floor_seconds']:.0f} s"
                  if whole else "not run | | ")
        print(f"| {r['events']:,} | {r['users']:,} / {r['items']:,} | {run['seconds']:.0f} s / "
              f"{run['cpu_seconds']:.0f} s | {run['peak_gib']:.1f} GiB | "
              f"{run['dbt_seconds']:.0f} s | {run['train_seconds']:.0f} s "
              f"({run['train_fit_seconds']:.0f} s) | {versus} | {peers[0]} | {peers[1]} | "
              f"{run['peak_during']} |")
    print("\nslowest nodes per size:")
    for r in results:
        slowest = sorted(r["refresh"]["nodes"], key=lambda n: -n["seconds"])[:6]
        print(f"  {r['size']}: " + ", ".join(f"{n['name']} {n['seconds']:.0f} s" for n in slowest))


if __name__ == "__main__":
    main()
