"""The HTTP service side by side with a trivial endpoint, under the same server and load.

One uvicorn process serves the real app (`create_app`, as `sqlrec serve` runs it) plus one
extra route, /bench/constant: a trivial FastAPI endpoint returning a constant JSON body the
size of a similar-items answer, first in the route table: the framework's floor. wrk drives
each endpoint in turn (32 connections, random ids from the snapshot), over interleaved rounds
so that noise from other work on the machine falls on every endpoint alike. The table gives
each endpoint's req/s, its ratio to the constant endpoint, p50/p99 latency, and the server's
CPU time per request (from /proc), which other work on the machine disturbs less than req/s.
The target: ratio >= 0.80 and p99 < 25 ms for the similar-items and recommendations endpoints,
with and without recent_items (`CHECKED`); similar items with include_unavailable (rendered per
request, not pre-rendered) are measured but not held to it.

It also reports the snapshot load time and the resident memory it takes per million rows,
measured in a fresh process.

    python bench/bench_service.py [--database data/bench/bench.duckdb] [--rounds 5] [--duration 5]

When the database is missing it is built first from a generated lake (1M events, 50k users,
20k items: about a minute). Without wrk (`apt-get install wrk`) a Python load generator runs
instead and says so: it spends as much CPU as the server, so its ratios mean little.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench_similarity import PUBLISHED_END_DATE

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = PROJECT_DIR / "data" / "bench" / "bench.duckdb"
# the lake the published figures were measured on (a fixed end date: the same lake any day)
LAKE_SIZE = {"events": 1_000_000, "users": 50_000, "items": 20_000, "days": 30, "seed": 42,
             "end_date": PUBLISHED_END_DATE}
TARGET_RATIO = 0.80
TARGET_P99_MS = 25.0
K = 10
CHECKED = ("similar", "recommendations", "recommendations+recent_items")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, default=DEFAULT_DATABASE)
    parser.add_argument("--duration", type=float, default=5, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--port", type=int, default=8391)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    os.environ["SQLREC_DUCKDB_PATH"] = str(args.database.resolve())
    os.environ.setdefault("SQLREC_TARGET", "duckdb")
    if args.serve:
        return serve(args.port)
    if args.measure_load:
        print(json.dumps(measure_load()))
        return 0

    if not args.database.exists():
        prepare(args.database)
    load = json.loads(subprocess.run(
        [sys.executable, __file__, "--database", str(args.database), "--measure-load"],
        check=True, capture_output=True, text=True).stdout)
    print(f"snapshot: {load['rows']:,} rows loaded in {load['load_seconds']:.2f} s "
          f"({load['load_seconds'] / load['rows'] * 1e6:.2f} s per million rows); "
          f"resident memory +{load['rss_mb']:.0f} MiB "
          f"({load['rss_mb'] / load['rows'] * 1e6:.0f} MiB per million rows)")

    paths = endpoint_paths(args.database)
    server = subprocess.Popen([sys.executable, __file__, "--database", str(args.database),
                               "--serve", "--port", str(args.port)])
    try:
        base = f"http://127.0.0.1:{args.port}"
        wait_until_ready(base, server)
        print(f"server: pid {server.pid}, resident memory {rss_mb(server.pid):.0f} MiB, "
              f"response sizes: " + ", ".join(
                  f"{name} {len(fetch(base + random.choice(urls))):,} B"
                  for name, urls in paths.items()))
        results = run_load(base, paths, args, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(results, load, args)
    return 0 if all(check(results, name) for name in CHECKED) else 1


# ---------------------------------------------------------------- the server under test

def serve(port: int) -> int:
    import uvicorn
    from fastapi import Response

    from sqlrec.config import Settings
    from sqlrec.service.app import create_app
    from sqlrec.service.reloading import SnapshotStore, WarehouseSource

    store = SnapshotStore(WarehouseSource(), interval_s=0)
    store.reload()
    app = create_app(Settings(reload_interval_s=0, log_level="warning"), store=store)
    constant = constant_body(store.current)

    @app.get("/bench/constant", include_in_schema=False)
    async def bench_constant():
        return Response(constant, media_type="application/json")

    # First in the route table: matched before any other route, the strictest baseline.
    app.router.routes.insert(0, app.router.routes.pop())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    return 0


def constant_body(snapshot) -> bytes:
    """A real similar-items answer (k=10) of median size, frozen as a constant."""
    from sqlrec.service import lookups

    sample = random.Random(3).sample(sorted(snapshot.similar.index), 1_001)
    bodies = sorted((lookups.similar_items(snapshot, item_id, K) for item_id in sample), key=len)
    return bodies[len(bodies) // 2]


def measure_load() -> dict:
    import datetime as dt

    from sqlrec import warehouse
    from sqlrec.service.snapshot import load_snapshot

    store = warehouse.connect()
    store.query("select 1")  # the engine's own start-up is not the snapshot's
    before = rss_mb(os.getpid())
    started = time.perf_counter()
    snapshot = load_snapshot(store, version="bench", built_at=dt.datetime.now(dt.UTC))
    seconds = time.perf_counter() - started
    return {"load_seconds": seconds, "rows": sum(snapshot.info.row_counts.values()),
            "row_counts": snapshot.info.row_counts, "rss_mb": rss_mb(os.getpid()) - before}


def prepare(database: Path) -> None:
    from sqlrec.data.generate import generate_lake
    from sqlrec.pipeline.build import build

    lake = database.parent / "lake"
    print(f"bench: no database at {database}; generating {LAKE_SIZE} into {lake} and building")
    generate_lake(lake, **LAKE_SIZE, overwrite=True)
    build(lake, quiet=True)


def endpoint_paths(database: Path, count: int = 5_000) -> dict[str, list[str]]:
    """Random request paths per endpoint, with ids the snapshot holds."""
    from sqlrec import warehouse

    store = warehouse.connect()
    rng = random.Random(7)

    def ids(sql: str) -> list[str]:
        values = store.query(sql).column(0).to_pylist()
        return [rng.choice(values) for _ in range(count)]

    items = ids("select distinct item_id from item_similarity")
    users = ids("select distinct user_id from user_recommendations")
    quote = urllib.parse.quote
    return {
        "constant": ["/bench/constant"],
        "similar": [f"/items/{quote(item, safe='')}/similar?k={K}" for item in items],
        "similar+include_unavailable": [
            f"/items/{quote(item, safe='')}/similar?k={K}&include_unavailable=true"
            for item in items],
        "recommendations": [f"/users/{quote(user, safe='')}/recommendations?k={K}"
                            for user in users],
        "recommendations+recent_items": [
            f"/users/{quote(user, safe='')}/recommendations?k={K}&recent_items="
            + ",".join(quote(item, safe="") for item in rng.sample(items, 3))
            for user in users[:1_000]],
    }


def wait_until_ready(base: str, server: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench: the server exited with {server.returncode}")
        try:
            if json.loads(fetch(base + "/healthz"))["status"] == "ok":
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("bench: the server did not load its snapshot in time")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- load generation

WRK_SCRIPT = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("seed", counter) end
function init(args) math.randomseed(seed * 7919 + os.time()) end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"non_2xx": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def run_load(base: str, paths: dict[str, list[str]], args, server_pid: int
             ) -> dict[str, list[dict]]:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("bench: wrk not found (apt-get install wrk): using the Python load generator. "
              "It costs the CPU the server needs, so req/s and ratios understate the server.")
    results: dict[str, list[dict]] = {name: [] for name in paths}
    with tempfile.TemporaryDirectory() as folder:
        for name, urls in paths.items():  # warm-up: every route once under load
            one_run(wrk, base, urls, folder, name, args, duration=2)
        for round_number in range(1, args.rounds + 1):
            order = list(paths)
            random.Random(round_number).shuffle(order)
            for name in order:
                cpu_before = cpu_seconds(server_pid)
                run = one_run(wrk, base, paths[name], folder, name, args, args.duration)
                run["cpu_us"] = (cpu_seconds(server_pid) - cpu_before) / run["requests"] * 1e6
                results[name].append(run)
                print(f"  round {round_number}: {name:<30} {run['rps']:>9,.0f} req/s  "
                      f"p50 {run['p50_ms']:6.2f} ms  p99 {run['p99_ms']:6.2f} ms  "
                      f"server CPU {run['cpu_us']:5.0f} us/request  errors {run['errors']}",
                      flush=True)
    return results


def one_run(wrk: str | None, base: str, urls: list[str], folder: str, name: str, args,
            duration: float) -> dict:
    if wrk is None:
        return python_load(base, urls, args.connections, duration)
    paths_file = Path(folder) / f"{name}.paths"
    paths_file.write_text("\n".join(urls) + "\n")
    script = Path(folder) / f"{name}.lua"
    script.write_text(WRK_SCRIPT % {"paths": paths_file})
    completed = subprocess.run(
        [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(duration))}s",
         "--timeout", "5s", "-s", str(script), base],
        check=True, capture_output=True, text=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("WRKJSON"))
    raw = json.loads(line.removeprefix("WRKJSON "))
    return {"requests": raw["requests"],
            "rps": raw["requests"] / (raw["duration_us"] / 1e6), "p50_ms": raw["p50_us"] / 1e3,
            "p99_ms": raw["p99_us"] / 1e3, "errors": raw["non_2xx"] + raw["socket_errors"]}


def python_load(base: str, urls: list[str], connections: int, duration: float) -> dict:
    """Keep-alive HTTP/1.1 clients in two processes, as wrk would run them."""
    processes = 2
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(_python_load_process, [
            (base, urls, connections // processes, duration, seed) for seed in range(processes)])
    latencies = sorted(latency for part in parts for latency in part["latencies"])
    seconds = max(part["seconds"] for part in parts)
    return {"requests": len(latencies), "rps": len(latencies) / seconds,
            "p50_ms": statistics.quantiles(latencies, n=100)[49] * 1e3,
            "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1e3,
            "errors": sum(part["errors"] for part in parts)}


def _python_load_process(base: str, urls: list[str], connections: int, duration: float,
                         seed: int) -> dict:
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0

    async def client(deadline: float) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(f"GET {rng.choice(urls)} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors += not head.startswith(b"HTTP/1.1 2")
        writer.close()

    async def all_clients() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(started + duration) for _ in range(connections)))
        return time.perf_counter() - started

    seconds = asyncio.run(all_clients())
    return {"latencies": latencies, "seconds": seconds, "errors": errors}


# ---------------------------------------------------------------- report

def summary(runs: list[dict]) -> dict:
    return {"rps": statistics.median(run["rps"] for run in runs),
            "cpu_us": statistics.median(run["cpu_us"] for run in runs),
            "p50_ms": statistics.median(run["p50_ms"] for run in runs),
            "p99_ms": statistics.median(run["p99_ms"] for run in runs),
            "errors": sum(run["errors"] for run in runs)}


def check(results: dict[str, list[dict]], name: str) -> bool:
    endpoint, constant = summary(results[name]), summary(results["constant"])
    return (endpoint["rps"] / constant["rps"] >= TARGET_RATIO
            and endpoint["p99_ms"] < TARGET_P99_MS and endpoint["errors"] == 0)


def report(results: dict[str, list[dict]], load: dict, args) -> None:
    constant_rps = summary(results["constant"])["rps"]
    print(f"\n{args.connections} connections, {args.rounds} rounds x {args.duration:g} s per "
          f"endpoint, medians over rounds; target: ratio >= {TARGET_RATIO:.2f}, "
          f"p99 < {TARGET_P99_MS:g} ms; {os.cpu_count()} CPUs, load average now "
          f"{os.getloadavg()[0]:.1f} (other work on the machine makes every number noisy)")
    print(f"{'endpoint':<30} {'req/s':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'CPU us/req':>10} {'CPU ratio':>9}  verdict")
    constant_cpu = summary(results["constant"])["cpu_us"]
    table = {}
    for name, runs in results.items():
        row = summary(runs)
        row["ratio"] = row["rps"] / constant_rps
        table[name] = row
        verdict = ""
        if name in CHECKED:
            verdict = "pass" if check(results, name) else "FAIL"
        row["cpu_ratio"] = constant_cpu / row["cpu_us"]
        print(f"{name:<30} {row['rps']:>9,.0f} {row['ratio']:>6.2f} {row['p50_ms']:>7.2f} "
              f"{row['p99_ms']:>7.2f} {row['errors']:>6} {row['cpu_us']:>10.0f} "
              f"{row['cpu_ratio']:>9.2f}  {verdict}")
    print("ratio: req/s over the constant endpoint's. CPU ratio: the constant endpoint's server "
          "CPU time per request over this one's,\nthe same comparison in a form that other work "
          "on the machine disturbs less.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"endpoints": table, "runs": results, "load": load},
                                        indent=2))


if __name__ == "__main__":
    sys.exit(main())
