"""`sqlrec train`'s phases, in wall and CPU seconds: the fit against everything after it.

    SQLREC_DUCKDB_PATH=data/bench/b1m.duckdb python bench/bench_train_phases.py [--models als,ease]

Runs the library's `train` / `train_ease` in this process on a copy of the warehouse (the
original is left as dbt built it) with the project's defaults, and prints per model: fit,
top-k and reasons, write (wall, from the run's summary clock) and the CPU seconds of the fit
and of all that follows it (all threads: the steadier figure on a shared machine), and the
ratio after-fit / fit for both. Prepare a warehouse as bench_als.py says (1M: --users 50000
--items 20000 --events 1000000, bench_similarity.SIZES).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from sqlrec.recommend import als, ease, train  # noqa: E402
from sqlrec.recommend.params import AlsParams, EaseParams  # noqa: E402
from sqlrec.warehouse.duckdb import DuckDBWarehouse  # noqa: E402


def cpu_after(fit):
    """fit, recording the process CPU seconds when it starts and ends."""
    marks = {}

    def timed(*args, **kwargs):
        marks["start"] = time.process_time()
        try:
            return fit(*args, **kwargs)
        finally:
            marks["end"] = time.process_time()
    return timed, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="als,ease")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    source = Path(os.environ["SQLREC_DUCKDB_PATH"])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models.split(","):
            copy = Path(folder) / f"{model}.duckdb"
            shutil.copyfile(source, copy)
            store = DuckDBWarehouse(copy)
            module = als if model == "als" else ease
            real_fit = module.fit
            module.fit, marks = cpu_after(real_fit)
            try:
                if model == "als":
                    result = train.train(store, AlsParams(), device="cpu", show_progress=False)
                else:
                    result = train.train_ease(store, EaseParams(), show_progress=False)
            finally:
                module.fit = real_fit
            ended = time.process_time()
            run, clock = result.run, getattr(result, "clock", None)  # None before it existed
            after_fit = (clock.computing + clock.writing if clock
                         else run.seconds - run.fit_seconds)  # the latter counts the read too
            row = {"model": model, "users": run.users, "items": run.items, "nnz": run.nnz,
                   "fit_s": run.fit_seconds, "after_fit_s": after_fit,
                   "topk_reasons_s": clock.computing if clock else None,
                   "write_s": clock.writing if clock else None, "seconds": run.seconds,
                   "fit_cpu_s": marks["end"] - marks["start"],
                   "after_fit_cpu_s": ended - marks["end"]}
            row["ratio_wall"] = after_fit / run.fit_seconds
            row["ratio_cpu"] = row["after_fit_cpu_s"] / row["fit_cpu_s"]
            print(json.dumps({key: round(value, 2) if isinstance(value, float) else value
                              for key, value in row.items()}), flush=True)
            rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
