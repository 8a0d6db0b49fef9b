"""The peer of the whole `sqlrec refresh`: the same job written by hand in one process.

    python bench/pipeline_peer.py LAKE OUT_DIR

What an engineer who cares about speed writes with pyarrow, numpy, scipy and implicit, with the
project's default settings (read from dbt_project.yml, the event weights seed and params.py, so
the figures below are those of the defaults of the day): only sparse products, only the modelled
items scored, batched top-k, no dense users x all-items array.

1. read: the events and the catalogue's availability (pyarrow), ids dictionary-encoded.
2. scores: w(u,i) = 1 + ln c (c = the sum of event weight x 0.5^(age / 30 days), c < 1 kept as
   is), the user's last event time per item (one pandas group-by of integer keys).
3. neighbours: rp3beta (alpha = beta = 0.5, so symmetric) on each user's 200 strongest items,
   pairs shared by at least 2 users, the best 100 per item: two sparse products per block of
   items (the weights and the common-user counts), top 100 by argpartition.
4. signal: each user's 20 latest items x their available neighbours (a sparse product per block of
   users), known items removed, the top 20, and the recent item with the largest term for each
   (one sparse product per recency rank, sampled at the kept pairs).
5. ALS: implicit's CPU ALS (128 factors, 15 iterations, confidence 1 + w, regularisation 2e-4
   per score), top 50 per user by implicit's recommend (known and unavailable items filtered).
6. EASE: the most popular items that fit 4 GiB of float32 (as sqlrec), B = I - P / diag(P), top
   50 per user by argpartition over the scored batch.
7. blend: each part scaled by the user's best, summed, the top 20; Parquet files written.

Less than sqlrec does, so the comparison flatters the peer: no reasons for ALS and EASE rows, no
ALS similar items, no popular fill, no data tests, no validation or reject reasons. Prints one JSON
line of seconds per step.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from sqlrec import project  # noqa: E402
from sqlrec.recommend import ease as sqlrec_ease  # noqa: E402
from sqlrec.recommend.params import AlsParams, EaseParams  # noqa: E402
from sqlrec.recommend.train import DEFAULT_K as MODEL_K  # noqa: E402

# the project's defaults, from their one place each (dbt_project.yml, the weights seed, params.py)
VARS = project.dbt_var_defaults()
if VARS["similarity"] != "rp3beta":
    raise SystemExit(f"the peer computes rp3beta only, not {VARS['similarity']}")
WEIGHTS = {kind: float(weight) for kind, weight in pd.read_csv(
    project.project_dir() / "seeds" / "event_weights.csv").itertuples(index=False)}
HALF_LIFE_DAYS, MAX_ITEMS_PER_USER = float(VARS["half_life_days"]), VARS["max_items_per_user"]
MIN_COMMON_USERS, NEIGHBOURS = VARS["min_common_users"], VARS["similar_items_k"]
RECENT, TOP_K = VARS["recent_items_per_user"], VARS["top_k"]
RP3_ALPHA, RP3_BETA = float(VARS["rp3beta_alpha"]), float(VARS["rp3beta_beta"])
EASE_ITEMS = sqlrec_ease.item_limit(EaseParams().memory_gb)
USERS_PER_BLOCK, ITEMS_PER_BLOCK = 20_000, 5_000


def row_top_k(matrix: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of each row's k largest stored values, best first."""
    rows, columns, values = [], [], []
    for row in range(matrix.shape[0]):
        begin, end = matrix.indptr[row], matrix.indptr[row + 1]
        if begin == end:
            continue
        data, index = matrix.data[begin:end], matrix.indices[begin:end]
        keep = np.argpartition(-data, k - 1)[:k] if end - begin > k else np.arange(end - begin)
        keep = keep[np.argsort(-data[keep], kind="stable")]
        rows.append(np.full(len(keep), row, np.int32))
        columns.append(index[keep])
        values.append(data[keep])
    if not rows:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0)
    return np.concatenate(rows), np.concatenate(columns), np.concatenate(values)


def dense_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a dense block: the k best columns and their scores, best first."""
    k = min(k, scores.shape[1])
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    return best, np.take_along_axis(scores, best, axis=1)


def read(lake: Path):
    events = ds.dataset(lake / "events", format="parquet", partitioning="hive").to_table(
        columns=["user_id", "item_id", "event_type", "event_time"])
    catalog = ds.dataset(lake / "catalog", format="parquet").to_table(
        columns=["item_id", "is_available"])
    users, items, kinds = (events[name].combine_chunks().dictionary_encode()
                           for name in ("user_id", "item_id", "event_type"))
    weight = np.array([WEIGHTS.get(kind, 0.0) for kind in kinds.dictionary.to_pylist()])
    event_weight = weight[kinds.indices.to_numpy()]
    seconds = pc.cast(events["event_time"], pa.int64()).to_numpy() / 1e6
    item_ids = items.dictionary
    available = np.ones(len(item_ids), bool)  # an item the catalogue does not list is available
    listed = pc.index_in(catalog["item_id"], value_set=item_ids)
    found = listed.is_valid().to_numpy(zero_copy_only=False)
    available[listed.drop_null().to_numpy()] = \
        catalog["is_available"].to_numpy(zero_copy_only=False)[found]
    return (users.indices.to_numpy(), items.indices.to_numpy(), event_weight, seconds,
            users.dictionary, item_ids, available)


def scores(user, item, event_weight, seconds, n_items):
    age_days = (seconds.max() - seconds) / 86_400
    decayed = event_weight * (0.5 ** (age_days / HALF_LIFE_DAYS) if HALF_LIFE_DAYS > 0 else 1.0)
    key = user.astype(np.int64) * n_items + item
    grouped = pd.DataFrame({"key": key, "c": decayed, "t": seconds}).groupby(
        "key", sort=True).agg(c=("c", "sum"), t=("t", "max"))
    keys = grouped.index.to_numpy()
    c = grouped["c"].to_numpy()
    w = np.where(c >= 1, 1 + np.log(np.maximum(c, 1)), c)
    return (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32), w, \
        grouped["t"].to_numpy()


def first_per_user(user, order, limit):
    """Positions (in ``order``, grouped by user) of each user's first ``limit`` entries."""
    sorted_users = user[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return order[rank < limit], rank[rank < limit]


def neighbours(user, item, w, shape):
    kept, _ = first_per_user(user, np.lexsort((item, -w, user)), MAX_ITEMS_PER_USER)
    binary = sp.csr_matrix((np.ones(len(kept), np.float32), (user[kept], item[kept])), shape)
    user_items = np.asarray(binary.sum(axis=1)).ravel()
    item_users = np.asarray(binary.sum(axis=0)).ravel()
    # pair weight |u|^(-alpha/2) d_i^(-(alpha+beta)/2), then (d_b / d_a)^((alpha-beta)/2)
    weighted = binary.multiply(
        np.power(np.maximum(user_items, 1), -RP3_ALPHA / 2)[:, None]).multiply(
        np.power(np.maximum(item_users, 1), -(RP3_ALPHA + RP3_BETA) / 2)[None, :]).tocsr()
    directional = np.power(np.maximum(item_users, 1), (RP3_ALPHA - RP3_BETA) / 2)
    weighted_t, binary_t = weighted.T.tocsr(), binary.T.tocsr()
    rows, columns, values = [], [], []
    for start in range(0, shape[1], ITEMS_PER_BLOCK):
        block = slice(start, min(start + ITEMS_PER_BLOCK, shape[1]))
        similarity = (weighted_t[block] @ weighted).tocsr()
        common = (binary_t[block] @ binary).tocsr()
        assert np.array_equal(similarity.indptr, common.indptr)  # one structure, one order
        similarity.data[common.data < MIN_COMMON_USERS] = 0
        similarity.setdiag(0, k=start)
        similarity.eliminate_zeros()
        if RP3_ALPHA != RP3_BETA:
            similarity = similarity.multiply(directional[None, :]).multiply(
                1 / directional[block, None]).tocsr()
        r, c, v = row_top_k(similarity, NEIGHBOURS)
        rows.append(r + start), columns.append(c), values.append(v)
    return np.concatenate(rows), np.concatenate(columns), np.concatenate(values)


def signal(user, item, w, last_seen, nbr, available, shape):
    order, rank = first_per_user(user, np.lexsort((item, -last_seen, user)), RECENT)
    nbr_rows, nbr_columns, nbr_values = nbr
    usable = available[nbr_columns]
    similar = sp.csr_matrix((nbr_values[usable], (nbr_rows[usable], nbr_columns[usable])),
                            (shape[1], shape[1]))
    known = sp.csr_matrix((np.ones(len(user), np.float32), (user, item)), shape)
    recent_user, recent_item, recent_w = user[order], item[order], w[order]
    out = []
    for start in range(0, shape[0], USERS_PER_BLOCK):
        stop = min(start + USERS_PER_BLOCK, shape[0])
        in_block = (recent_user >= start) & (recent_user < stop)
        block_shape = (stop - start, shape[1])
        recent = sp.csr_matrix((recent_w[in_block], (recent_user[in_block] - start,
                                                     recent_item[in_block])), block_shape)
        total = (recent @ similar).tocsr()
        total = (total - total.multiply(known[start:stop])).tocsr()
        total.eliminate_zeros()
        rows, columns, values = row_top_k(total, TOP_K)
        best, because = np.zeros(len(rows)), np.full(len(rows), -1, np.int32)
        block_positions, block_rank = np.flatnonzero(in_block), rank[in_block]
        for position in range(RECENT):  # newest first: on a tie the newer recent item stays
            at = block_positions[block_rank == position]
            if not len(at):
                break
            one = sp.csr_matrix((recent_w[at], (recent_user[at] - start, recent_item[at])),
                                block_shape)
            terms = np.asarray((one @ similar).tocsr()[rows, columns]).ravel()
            seeds = np.full(block_shape[0], -1, np.int32)
            seeds[recent_user[at] - start] = recent_item[at]
            better = terms > best
            best[better], because[better] = terms[better], seeds[rows[better]]
        out.append((rows + start, columns, values, because))
    return tuple(np.concatenate(part) for part in zip(*out, strict=True))


def als(user, item, w, available, shape):
    from implicit.cpu.als import AlternatingLeastSquares

    matrix = sp.csr_matrix((w.astype(np.float32), (user, item)), shape)
    params = AlsParams().resolved(matrix.nnz)
    confident = matrix.copy()
    confident.data = 1 + params.alpha * confident.data
    model = AlternatingLeastSquares(factors=params.factors,
                                    regularization=params.regularization,
                                    iterations=params.iterations,
                                    random_state=params.random_state)
    model.fit(confident, show_progress=False)
    fitted = time.perf_counter()
    active = np.flatnonzero(np.diff(matrix.indptr) > 0)
    ids, values = model.recommend(active, matrix[active], N=MODEL_K,
                                  filter_already_liked_items=True,
                                  items=np.flatnonzero(available))
    keep = values > np.finfo(np.float32).min / 2
    return fitted, (np.repeat(active, keep.sum(axis=1)), ids[keep], values[keep])


def ease(user, item, available, shape):
    import scipy.linalg.lapack as lapack

    binary = sp.csr_matrix((np.ones(len(user), np.float32), (user, item)), shape)
    popularity = np.diff(binary.tocsc().indptr)
    modelled = np.sort(np.lexsort((np.arange(shape[1]), -popularity))[:EASE_ITEMS])
    x = binary[:, modelled].tocsr()
    gram = (x.T @ x).toarray()
    diagonal = np.diag_indices_from(gram)
    gram[diagonal] += sqlrec_ease.default_regularization(gram[diagonal])
    factor, _ = lapack.spotrf(gram, lower=True, overwrite_a=True)
    inverse, _ = lapack.spotri(factor, lower=True, overwrite_c=True)
    del gram, factor
    inverse = np.tril(inverse) + np.tril(inverse, -1).T
    weights = -inverse / inverse.diagonal()[None, :]
    weights[diagonal] = 0
    del inverse
    fitted = time.perf_counter()
    allowed = available[modelled]

    def score(start: int):
        block = x[start:start + 2_000]
        scored = block @ weights
        scored[block.nonzero()] = -np.inf  # known items
        scored[:, ~allowed] = -np.inf
        best, values = dense_top_k(scored, MODEL_K)
        keep = np.isfinite(values) & (np.diff(block.indptr) > 0)[:, None]
        return (np.repeat(np.arange(start, start + block.shape[0]), keep.sum(axis=1)),
                modelled[best[keep]], values[keep])

    with ThreadPoolExecutor(os.cpu_count()) as pool:  # numpy releases the GIL
        out = list(pool.map(score, range(0, shape[0], 2_000)))
    return fitted, tuple(np.concatenate(part) for part in zip(*out, strict=True))


def blend(parts, n_items):
    keys, contributions = [], []
    for rows, columns, values in parts:
        keys.append(rows.astype(np.int64) * n_items + columns)
        contributions.append(values / pd.Series(values).groupby(rows).transform("max").to_numpy())
    summed = pd.Series(np.concatenate(contributions)).groupby(np.concatenate(keys)).sum()
    user = (summed.index.to_numpy() // n_items).astype(np.int32)
    item = (summed.index.to_numpy() % n_items).astype(np.int32)
    order, _ = first_per_user(user, np.lexsort((item, -summed.to_numpy(), user)), TOP_K)
    return user[order], item[order], summed.to_numpy()[order]


def main() -> None:
    lake, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    clock = {"started": time.perf_counter()}

    def lap(name: str) -> None:
        clock[name] = time.perf_counter()
        print(f"{name} done at {clock[name] - clock['started']:.1f} s", file=sys.stderr, flush=True)

    user, item, event_weight, seconds, user_ids, item_ids, available = read(lake)
    lap("read")
    shape = (len(user_ids), len(item_ids))
    user, item, w, last_seen = scores(user, item, event_weight, seconds, shape[1])
    del event_weight, seconds
    lap("scores")
    nbr = neighbours(user, item, w, shape)
    lap("neighbours")
    similarity = signal(user, item, w, last_seen, nbr, available, shape)
    lap("signal")
    als_fitted, als_lists = als(user, item, w, available, shape)
    lap("als")
    ease_fitted, ease_lists = ease(user, item, available, shape)
    lap("ease")
    blended = blend([similarity[:3], als_lists, ease_lists], shape[1])
    lap("blend")
    for name, (rows, columns, values, *because) in {
            "similarity_recommendations": similarity, "als_recommendations": als_lists,
            "ease_recommendations": ease_lists, "user_recommendations": blended}.items():
        table = {"user_id": user_ids.take(pa.array(rows)), "item_id": item_ids.take(
            pa.array(columns)), "score": values}
        if because:
            table["because_item_id"] = item_ids.take(pa.array(because[0]))
        pq.write_table(pa.table(table), out / f"{name}.parquet")
    rows, columns, values = nbr
    pq.write_table(pa.table({"item_id": item_ids.take(pa.array(rows)), "similar_item_id":
                             item_ids.take(pa.array(columns)), "score": values}),
                   out / "item_similarity.parquet")
    lap("write")
    steps = list(clock)
    timings = {step: round(clock[step] - clock[previous], 2)
               for previous, step in zip(steps, steps[1:], strict=False)}
    timings |= {"als_fit": round(als_fitted - clock["signal"], 2),
                "ease_fit": round(ease_fitted - clock["als"], 2),
                "seconds": round(clock["write"] - clock["started"], 2),
                "users": shape[0], "items": shape[1], "score_rows": len(w),
                "neighbour_rows": len(nbr[0]), "rows": len(blended[0])}
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
