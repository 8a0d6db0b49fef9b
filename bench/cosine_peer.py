"""The peer of the SQL similarity path: pandas + implicit's CosineRecommender, same maths.

Reads the raw lake, computes w(u,i) (weights, decay, 1 + ln c), keeps each user's strongest
max_items_per_user items, L2-normalises each user's row and lets CosineRecommender compute the
item-item cosine and top-k. Run as a script so that its time and peak memory are its own:

    python bench/cosine_peer.py LAKE [--top-k 20] [--half-life-days 30] [--max-items-per-user 200]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from implicit.nearest_neighbours import CosineRecommender  # noqa: E402

WEIGHTS = {"view": 1.0, "like": 3.0, "cart": 5.0, "purchase": 10.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--half-life-days", type=float, default=30)
    parser.add_argument("--max-items-per-user", type=int, default=200)
    args = parser.parse_args()

    started = time.perf_counter()
    events = ds.dataset(f"{args.lake}/events", format="parquet", partitioning="hive").to_table(
        columns=["user_id", "item_id", "event_type", "event_time"]
    ).to_pandas()
    as_of = events["event_time"].max()
    age_days = (as_of - events["event_time"]).dt.total_seconds().to_numpy() / 86_400
    decay = 0.5 ** (age_days / args.half_life_days)
    strength = events["event_type"].map(WEIGHTS).to_numpy() * decay
    user_index, users = pd.factorize(events["user_id"])
    item_index, items = pd.factorize(events["item_id"])
    pairs = pd.DataFrame({"user": user_index, "item": item_index, "c": strength})
    pairs = pairs.groupby(["user", "item"], as_index=False, sort=False)["c"].sum()
    pairs["w"] = np.where(pairs["c"] >= 1, 1 + np.log(np.maximum(pairs["c"], 1)), pairs["c"])
    if args.max_items_per_user > 0:
        pairs = pairs.sort_values(["user", "w", "item"], ascending=[True, False, True])
        pairs = pairs.groupby("user", sort=False).head(args.max_items_per_user)
    matrix = sp.csr_matrix((pairs["w"].to_numpy(), (pairs["user"], pairs["item"])),
                           shape=(len(users), len(items)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix
    prepared = time.perf_counter()

    model = CosineRecommender(K=args.top_k + 1)  # its neighbour lists include the item itself
    model.fit(matrix.tocsr(), show_progress=False)
    finished = time.perf_counter()
    print(f"prepare_s={prepared - started:.2f} fit_s={finished - prepared:.2f} "
          f"pairs={model.similarity.nnz} users={len(users)} items={len(items)}")


if __name__ == "__main__":
    main()
