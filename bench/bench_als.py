"""`sqlrec train` end to end against a bare implicit fit + recommend on the same matrix.

Side by side in one run, each side in a child process of its own so that its time and peak
memory (max RSS) are its own:

- **sqlrec train**: the command as a user runs it — read ``int_user_item_scores`` from the
  warehouse, build the CSR matrix, fit, top-k recommendations for every user (known and
  unavailable items filtered) and similar items for every item, both written back to DuckDB,
  plus the model_runs row;
- **bare implicit**: the same matrix (exported once, before timing, as a .npz file), the same
  parameters and threads, then only ``fit`` and one ``recommend`` call for every user with
  ``filter_already_liked_items``. Its clock starts after the matrix is loaded.

Prepare a warehouse first (the figures of docs/benchmarks.md: 10M events)::

    sqlrec generate --users 500000 --items 100000 --events 10000000 --end-date 2026-10-31 \
        --out data/bench-lake-10m
    SQLREC_DUCKDB_PATH=data/bench-10m.duckdb sqlrec build --lake data/bench-lake-10m
    SQLREC_DUCKDB_PATH=data/bench-10m.duckdb python bench/bench_als.py

The parameters are the defaults of `sqlrec train` (or ``--factors`` etc.); ``--device gpu``
runs both sides on the GPU where implicit has CUDA.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

PEER = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp, threadpoolctl
settings = json.loads(sys.argv[1])
matrix = sp.load_npz(settings["matrix"]).tocsr()
started = time.perf_counter()
with threadpoolctl.threadpool_limits(1, "blas"):
    if settings["device"] == "gpu":
        from implicit.gpu.als import AlternatingLeastSquares
        model = AlternatingLeastSquares(**settings["params"])
    else:
        from implicit.cpu.als import AlternatingLeastSquares
        model = AlternatingLeastSquares(**settings["params"], num_threads=settings["threads"])
    confident = matrix.copy()
    confident.data = 1 + settings["alpha"] * confident.data
    model.fit(confident, show_progress=False)
    fitted = time.perf_counter()
    ids, scores = model.recommend(np.arange(matrix.shape[0]), matrix, N=settings["k"],
                                  filter_already_liked_items=True)
finished = time.perf_counter()
print(json.dumps({"fit_s": fitted - started, "recommend_s": finished - fitted,
                  "seconds": finished - started, "rows": int(ids.size)}))
"""


def run_child(command: list[str], env: dict | None = None) -> tuple[float, float, float, str]:
    """Run a child process; return its wall seconds, CPU seconds (user + system), peak RSS in
    MiB and stdout. CPU seconds suffer less than wall time from other jobs on a shared machine."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed with exit {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def export_matrix(path: Path) -> tuple[int, int, int]:
    """The matrix `sqlrec train` builds, saved for the bare side (not timed)."""
    import scipy.sparse as sp

    from sqlrec import warehouse
    from sqlrec.recommend.matrix import SCORES_TABLE, interaction_matrix

    store = warehouse.connect()
    data = interaction_matrix(store.read_table(SCORES_TABLE, ["user_id", "item_id", "score"]))
    sp.save_npz(path, data.matrix, compressed=False)
    return data.matrix.shape[0], data.matrix.shape[1], data.nnz


def main() -> None:
    from sqlrec import warehouse
    from sqlrec.recommend.params import AlsParams
    from sqlrec.recommend.train import DEFAULT_K

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int)
    parser.add_argument("--regularization", type=float)
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate the two sides this many times; the fastest of each "
                        "counts (the machine is shared)")
    args = parser.parse_args()
    params = AlsParams().with_overrides(
        factors=args.factors, regularization=args.regularization, alpha=args.alpha,
        iterations=args.iterations)

    with tempfile.TemporaryDirectory() as folder:
        matrix_path = Path(folder) / "matrix.npz"
        users, items, nnz = export_matrix(matrix_path)
        # the regularisation `sqlrec train` uses, resolved on this matrix as train resolves it
        params = params.resolved(nnz)
        print(f"matrix: {users:,} users x {items:,} items, {nnz:,} scores; params "
              f"{json.dumps(params.model_params())}, k {args.k}, device {args.device}")

        peer_settings = {
            "matrix": str(matrix_path), "device": args.device, "threads": args.threads,
            "k": args.k, "alpha": params.alpha,
            "params": {"factors": params.factors, "regularization": params.regularization,
                       "iterations": params.iterations, "random_state": params.random_state},
        }
        peers, trains = [], []
        for _ in range(args.repeat):
            wall, cpu, rss, out = run_child(
                [sys.executable, "-c", PEER, json.dumps(peer_settings)])
            peers.append({**json.loads(out.strip().splitlines()[-1]), "wall": wall, "cpu": cpu,
                          "rss": rss})
            wall, cpu, rss, _ = run_child([
                sys.executable, "-m", "sqlrec.cli", "train", "--model", "als",
                "--device", args.device,
                "--k", str(args.k), "--threads", str(args.threads), "--quiet",
                "--factors", str(params.factors),
                "--regularization", str(params.regularization), "--alpha", str(params.alpha),
                "--iterations", str(params.iterations), "--random-state", str(params.random_state),
            ])
            run = warehouse.connect().query(
                "select fit_seconds, seconds_per_iteration, seconds from model_runs "
                "where model = 'als' order by trained_at desc limit 1").to_pylist()[0]
            trains.append({**run, "wall": wall, "cpu": cpu, "rss": rss})
            print(f"  bare {peers[-1]['seconds']:.1f} s ({peers[-1]['cpu']:.0f} CPU s), "
                  f"sqlrec train {run['seconds']:.1f} s ({cpu:.0f} CPU s)", flush=True)

    peer = min(peers, key=lambda side: side["seconds"])
    train = min(trains, key=lambda side: side["seconds"])
    rows = [
        ("bare implicit: fit + recommend", peer["seconds"], peer["wall"], peer["cpu"],
         peer["fit_s"], peer["fit_s"] / params.iterations, peer["rss"]),
        ("sqlrec train (end to end)", train["seconds"], train["wall"], train["cpu"],
         train["fit_seconds"], train["seconds_per_iteration"], train["rss"]),
    ]
    print()
    print("| side | seconds (timed work) | seconds (process) | CPU seconds (process) | fit s | "
          "s/iteration | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, work, wall, cpu, fit, per_iteration, rss in rows:
        print(f"| {name} | {work:.1f} | {wall:.1f} | {cpu:.1f} | {fit:.1f} | "
              f"{per_iteration:.2f} | {rss:,.0f} |")
    print()
    print(f"bare recommend: {peer['recommend_s']:.1f} s for {peer['rows']:,} rows")
    print(f"ratio sqlrec train / bare implicit: {train['seconds'] / peer['seconds']:.2f} "
          f"(timed work), {train['wall'] / peer['wall']:.2f} (whole processes), "
          f"{train['cpu'] / peer['cpu']:.2f} (CPU seconds)")


if __name__ == "__main__":
    main()
