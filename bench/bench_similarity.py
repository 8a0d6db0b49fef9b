"""Benchmark: the SQL similarity path (dbt on DuckDB) against pandas + implicit's
CosineRecommender on the same maths, side by side in one run.

    python bench/bench_similarity.py [--sizes 1m,10m] [--data-dir data/bench] [--with-tests]

For each size it generates a lake once (kept under --data-dir), then times, each in a child
process of its own so that its wall time and peak memory are its own:

- sql:  `dbt build --select +item_similarity` into a fresh DuckDB file (models and seed; with
        --with-tests also the data and unit tests of those models, timed separately), after an
        untimed `dbt parse` with the same settings, so that the build starts from dbt's
        partial-parse cache as a team's repeated runs do (the parse time is printed too);
- peer: bench/cosine_peer.py: read the lake with pyarrow/pandas, compute w(u,i), cap, normalise,
        CosineRecommender.fit.

and prints seconds, peak resident memory and the ratio sql / peer.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "python"))

from sqlrec import project  # noqa: E402
from sqlrec.data.generate import generate_lake  # noqa: E402

# What the peer computes (bench/cosine_peer.py): the cosine of the user-normalised matrix and
# CosineRecommender's K = 20 neighbours per item. The project's defaults are rp3beta and 100.
PEER_MATHS = {"similarity": "cosine", "similar_items_k": 20}

# The day the benchmark lakes end: a fixed date gives the lake the published figures were
# measured on, on any day (the generator's own default is today).
PUBLISHED_END_DATE = "2026-10-31"

# A marketplace month: ~28 events and ~20 distinct items per active user (median 10).
SIZES = {
    "1m": {"events": 1_000_000, "users": 50_000, "items": 20_000},
    "10m": {"events": 10_000_000, "users": 500_000, "items": 100_000},
}


def bench_profiles(data_dir: Path) -> Path:
    """A profiles folder of the shipped profile under data_dir, so no user profile is read."""
    profiles = data_dir / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT / "profiles" / "profiles.yml", profiles / "profiles.yml")
    return profiles


def bench_lake(data_dir: Path, size: str, spec: dict[str, int]) -> Path:
    """The lake of a size under data_dir, generated once (30 days to PUBLISHED_END_DATE, seed 1:
    the lakes the published figures were measured on)."""
    lake = data_dir / f"lake-{size}"
    if not any((lake / "events").glob("*/*.parquet")):
        print(f"generating {size}: {spec}", flush=True)
        generate_lake(lake, **spec, days=30, seed=1, end_date=PUBLISHED_END_DATE,
                      overwrite=True)
    return lake


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run a command; return its wall seconds, CPU seconds (user + system, all threads), peak
    RSS in GiB and output. CPU seconds are the steadier figure on a machine shared with other
    work: they count what the command did, not how long it waited for a core."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=PROJECT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**20, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--data-dir", type=Path, default=PROJECT / "data" / "bench")
    parser.add_argument("--with-tests", action="store_true",
                        help="also time `dbt test` of the similarity path")
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    profiles = bench_profiles(args.data_dir)

    rows = []
    for size in args.sizes.split(","):
        spec = SIZES[size]
        lake = bench_lake(args.data_dir, size, spec)
        database = args.data_dir / f"similarity-{size}.duckdb"
        database.unlink(missing_ok=True)
        env = {**os.environ, "DBT_PROFILES_DIR": str(profiles), "SQLREC_TARGET": "duckdb",
               "SQLREC_DUCKDB_PATH": str(database), "OPENBLAS_NUM_THREADS": "1"}
        dbt_args = ["--select", "+item_similarity", "--vars",
                    json.dumps({**project.lake_vars(lake), **PEER_MATHS})]

        # dbt re-parses the whole project whenever vars, profile or target change (here: the
        # lake of each size); a team's repeated runs reuse its partial-parse cache. Warm it
        # with the very same settings, and report the parse on its own.
        parse_s, _, _, _ = measured([str(bin_dir / "dbt"), "parse", "--vars", dbt_args[-1]], env)
        sql_s, sql_cpu, sql_gb, _ = measured(
            [str(bin_dir / "dbt"), "build", *dbt_args, "--exclude-resource-type", "test",
             "--exclude-resource-type", "unit_test"], env)
        test_s = None
        if args.with_tests:
            test_s, _, _, _ = measured([str(bin_dir / "dbt"), "test", *dbt_args], env)
        peer_s, peer_cpu, peer_gb, peer_out = measured(
            [sys.executable, str(PROJECT / "bench" / "cosine_peer.py"), str(lake)], env)
        rows.append((spec["events"], sql_s, sql_cpu, sql_gb, test_s, peer_s, peer_cpu, peer_gb,
                     f"peer {size}: " + peer_out.strip().splitlines()[-1]
                     + f"; full dbt parse beforehand (not in the ratio): {parse_s:.1f} s"))
        print(f"{size}: sql {sql_s:.1f} s ({sql_cpu:.1f} CPU s) / {sql_gb:.2f} GiB, peer "
              f"{peer_s:.1f} s ({peer_cpu:.1f} CPU s) / {peer_gb:.2f} GiB, wall ratio "
              f"{sql_s / peer_s:.2f}, CPU ratio {sql_cpu / peer_cpu:.2f}", flush=True)

    print("\n| events | dbt build +item_similarity: wall / CPU | peak | pandas + implicit "
          "CosineRecommender: wall / CPU | peak | ratio wall | ratio CPU | dbt test |")
    print("|---|---|---|---|---|---|---|---|")
    for events, sql_s, sql_cpu, sql_gb, test_s, peer_s, peer_cpu, peer_gb, _ in rows:
        tests = f"{test_s:.1f} s" if test_s is not None else "not run"
        print(f"| {events:,} | {sql_s:.1f} s / {sql_cpu:.1f} s | {sql_gb:.2f} GiB | "
              f"{peer_s:.1f} s / {peer_cpu:.1f} s | {peer_gb:.2f} GiB | {sql_s / peer_s:.2f} | "
              f"{sql_cpu / peer_cpu:.2f} | {tests} |")
    for *_, peer_line in rows:
        print(peer_line)


if __name__ == "__main__":
    main()
