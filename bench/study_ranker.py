"""Study for the learned second stage (issue: a ranker over the parts' candidates): does a
LightGBM lambdarank model over the candidates of item similarity, ALS, EASE and popularity beat
the best single part, on data it was not tuned on?

Python only, through the evaluation's twin of the pipeline (`sqlrec.evaluation.twin`, the same
lists the dbt models give): the design is chosen here before it is written as dbt models.

The protocol, per dataset: the evaluation's temporal split (train, test); the validation windows
`sqlrec tune` scores on (`validation_splits`: the training part split once more the same way into
train' and validation, then the window before). The parts are built on each train', the ranker
learns from their candidates which ones the validation part holds; the parts are built again on
train, and the ranker, unchanged, orders their candidates; NDCG@10 etc. on test, beside each part
alone and the served blend.

    python bench/study_ranker.py [--datasets movielens,demo,sparse,wide] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sqlrec.evaluation import twin
from sqlrec.evaluation.metrics import ranking_metrics
from sqlrec.evaluation.split import temporal_split
from sqlrec.evaluation.tune import Scorer, validation_splits
from sqlrec.recommend import ranker
from sqlrec.recommend.params import PipelineParams

CANDIDATES_PER_PART = 100  # the similarity signal's list; ALS and EASE give train's DEFAULT_K
POPULAR_CANDIDATES = 50
RECENT_DAYS = 7
LIST_LENGTH = 20
NEXT_WINDOW = 3  # "viewed next": the items a user reached within this many steps
RECENT_ITEMS = 10  # the latest items the sequence signals start from
SIGNALS = ("viewed_next", "recent_similarity")  # scored alone too, over the candidates
FOLDS = 2  # validation windows the ranker learns from, latest first
PARTS = ("item_similarity", "als", "ease")

# generated lakes: the demo's shape, and two that take no part in choosing anything
LAKES = {
    "demo": {"users": 20_000, "items": 5_000, "events": 1_000_000, "days": 30, "seed": 42},
    "sparse": {"users": 30_000, "items": 4_000, "events": 300_000, "days": 30, "seed": 3},
    "wide": {"users": 10_000, "items": 20_000, "events": 600_000, "days": 45, "seed": 11},
}


def load(name: str, data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Events (user_id, item_id, event_type, event_at) and the catalogue (item_id, category)."""
    if name == "movielens":
        from sqlrec.data import movielens

        return movielens.load_events(), None
    from sqlrec.data.generate import generate_lake

    lake = data_dir / f"study-{name}"
    if not (lake / "events").exists():
        generate_lake(lake, overwrite=True, **LAKES[name])
    events = pd.read_parquet(lake / "events").rename(columns={"event_time": "event_at"})
    events = events[["user_id", "item_id", "event_type", "event_at"]]
    catalogue = pd.read_parquet(lake / "catalog")[["item_id", "category", "is_available"]]
    return events, catalogue


def candidates(prepared: twin.Prepared, users: np.ndarray, params: PipelineParams
               ) -> pd.DataFrame:
    """(user, item) rows: the union of every part's list and the popular items, with each
    part's score, score over the user's best and rank (NaN where the part does not list it)."""
    parts = Scorer(prepared, pd.DataFrame({"user_id": prepared.user_ids[users]})).parts(params)
    frames = []
    for name, lists in parts.items():
        rows, slots = np.nonzero(lists.items >= 0)
        scores = lists.scores[rows, slots]
        best = np.where(lists.items >= 0, lists.scores, -np.inf).max(axis=1)[rows]
        frames.append(pd.DataFrame({
            "user": lists.users[rows], "item": lists.items[rows, slots],
            f"{name}_score": scores, f"{name}_norm": scores / np.where(best > 0, best, 1.0),
            f"{name}_rank": slots + 1.0}).set_index(["user", "item"]))
    knobs = prepared.list_knobs(params.dbt_vars)
    popular = prepared.popular_order(knobs["half_life_days"], 0)
    known = prepared.scores(0).matrix
    rows = []
    for user in users:
        have = set(known.indices[known.indptr[user]:known.indptr[user + 1]].tolist())
        picked = [item for item in popular[:POPULAR_CANDIDATES + len(have)]
                  if item not in have][:POPULAR_CANDIDATES]
        rows.append(pd.DataFrame({"user": user, "item": picked,
                                  "popular_rank": np.arange(1, len(picked) + 1.0)}))
    frames.append(pd.concat(rows).set_index(["user", "item"]))
    table = pd.concat(frames, axis=1, join="outer").reset_index()
    weights = {part: knobs[var] for part, var in twin.PART_WEIGHTS.items()}
    table["blend"] = sum(weights[part] * table[f"{part}_norm"].fillna(0.0) for part in PARTS)
    return table


def add_features(table: pd.DataFrame, prepared: twin.Prepared,
                 catalogue: pd.DataFrame | None) -> pd.DataFrame:
    """Item popularity (all time, last days, trend), the user's activity and recency, the
    sequence signals, and where there is a catalogue the candidate's category: its share among
    the user's latest items and its popularity in the last days."""
    events = prepared.events
    as_of = pd.Timestamp(prepared.as_of)
    user_number = pd.Series(np.arange(len(prepared.user_ids)), index=prepared.user_ids)
    item_number = pd.Series(np.arange(len(prepared.item_ids)), index=prepared.item_ids)
    users = user_number.reindex(events["user_id"]).to_numpy()
    items = item_number.reindex(events["item_id"]).to_numpy()
    recent = (events["event_at"] >= as_of - pd.Timedelta(days=RECENT_DAYS)).to_numpy()
    pairs = pd.DataFrame({"user": users, "item": items, "recent": recent}).drop_duplicates()
    item_users = np.bincount(pairs["item"], minlength=len(item_number))
    item_recent = np.bincount(pairs.loc[pairs["recent"], "item"], minlength=len(item_number))
    table["item_users"] = np.log1p(item_users[table["item"]])
    table["item_recent_users"] = np.log1p(item_recent[table["item"]])
    table["item_trend"] = (item_recent[table["item"]] + 1) / (item_users[table["item"]] + 1)
    user_items = np.bincount(pairs["user"], minlength=len(user_number))
    user_events = np.bincount(users, minlength=len(user_number))
    last = pd.Series(events["event_at"].to_numpy()).groupby(users).max()
    days_since = ((as_of - last).dt.total_seconds() / 86400).reindex(
        np.arange(len(user_number))).to_numpy()
    table["user_items"] = np.log1p(user_items[table["user"]])
    table["user_events"] = np.log1p(user_events[table["user"]])
    table["user_days_since_last"] = days_since[table["user"]]
    table = add_sequence_signals(table, prepared, users, items)
    if catalogue is not None:
        category = catalogue.set_index("item_id")["category"].reindex(prepared.item_ids)
        codes = pd.factorize(category)[0]
        ranks = prepared.last_event_ranks.tocoo()
        mine = ranks.data <= RECENT_ITEMS
        recent_pairs = pd.DataFrame({"user": ranks.row[mine], "code": codes[ranks.col[mine]]})
        counts = recent_pairs.groupby(["user", "code"]).size()
        totals = recent_pairs.groupby("user").size()
        shares = counts / totals.reindex(counts.index.get_level_values(0)).to_numpy()
        key = pd.MultiIndex.from_arrays([table["user"], codes[table["item"]]])
        table["category_share"] = shares.reindex(key).fillna(0.0).to_numpy()
        cat_recent = pd.Series(item_recent).groupby(codes).transform("sum").to_numpy()
        table["category_recent_users"] = np.log1p(cat_recent[table["item"]])
    return table


def add_sequence_signals(table: pd.DataFrame, prepared: twin.Prepared, users: np.ndarray,
                         items: np.ndarray) -> pd.DataFrame:
    """"Viewed next": P(j among the next NEXT_WINDOW distinct items a user reached after i),
    summed over the user's latest items weighted 1 / recency rank; and item similarity over the
    same recency weights (the latest items above older ones)."""
    import scipy.sparse as sp

    items_count = len(prepared.item_ids)
    order = np.lexsort((items, prepared.events["event_at"].to_numpy(), users))
    sequence = pd.DataFrame({"user": users[order], "item": items[order]})
    sequence = sequence[(sequence["user"] != sequence["user"].shift())
                        | (sequence["item"] != sequence["item"].shift())]
    seq_users, seq_items = sequence["user"].to_numpy(), sequence["item"].to_numpy()
    rows, cols = [], []
    for step in range(1, NEXT_WINDOW + 1):
        same = seq_users[step:] == seq_users[:-step]
        rows.append(seq_items[:-step][same])
        cols.append(seq_items[step:][same])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    keep = rows != cols
    following = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])),
                              shape=(items_count, items_count))
    totals = np.asarray(following.sum(axis=1)).ravel()
    following = sp.diags(1 / np.maximum(totals, 1)) @ following
    ranks = prepared.last_event_ranks.tocsr().copy()
    ranks.data = np.where(ranks.data <= RECENT_ITEMS, 1 / ranks.data, 0.0)
    ranks.eliminate_zeros()
    knobs = prepared.list_knobs({})
    similar = twin.similarity(twin.capped(prepared.scores(knobs["half_life_days"]).matrix,
                                          knobs["max_items_per_user"]), knobs)
    for name, matrix in (("viewed_next", following), ("recent_similarity", similar)):
        signal = (ranks @ matrix).tocsr()
        table[name] = np.asarray(signal[table["user"].to_numpy(), table["item"].to_numpy()]
                                 ).ravel()
    return table


def features(table: pd.DataFrame) -> list[str]:
    """Every column but the keys and the label, and the parts' raw scores: their scale changes
    from one fit to the next (the ranker learns on one fit and is applied to another)."""
    return [column for column in table.columns if column not in ("user", "item", "label")
            and not column.endswith("_score")]


def labelled(table: pd.DataFrame, prepared: twin.Prepared, held_out: pd.DataFrame) -> pd.DataFrame:
    """The label: the held-out part holds the (user, candidate)."""
    pairs = pd.MultiIndex.from_arrays([prepared.user_ids[table["user"]],
                                       prepared.item_ids[table["item"]]])
    table["label"] = pairs.isin(pd.MultiIndex.from_frame(held_out[["user_id", "item_id"]]))
    return table


def ranked_frame(table: pd.DataFrame, score: np.ndarray, prepared: twin.Prepared) -> pd.DataFrame:
    """(user_id, item_id, rank) of each user's LIST_LENGTH best candidates by ``score``."""
    lists = ranker.ranked_lists(table, score, LIST_LENGTH, group="user", item="item")
    return pd.DataFrame({"user_id": prepared.user_ids[lists["user"]],
                         "item_id": prepared.item_ids[lists["item"]],
                         "rank": lists["rank"].to_numpy()})


def study(name: str, data_dir: Path, seed: int) -> dict:
    started = time.perf_counter()
    events, catalogue = load(name, data_dir)
    unavailable = set() if catalogue is None else \
        set(catalogue.loc[~catalogue["is_available"], "item_id"])
    params = PipelineParams(dbt_vars={"top_k": CANDIDATES_PER_PART})
    split = temporal_split(events)

    def table_of(part_events, as_of, held_out):
        prepared = twin.Prepared(part_events, as_of, unavailable)
        users = np.flatnonzero(np.isin(prepared.user_ids, held_out["user_id"].unique()))
        table = add_features(candidates(prepared, users, params), prepared, catalogue)
        return labelled(table, prepared, held_out), prepared

    tables = []
    for number, fold in enumerate(validation_splits(events, FOLDS)):
        table, _ = table_of(fold.train, fold.split_at, fold.test)
        table["user"] += number * 10_000_000  # each fold's users are groups of their own
        tables.append(table)
    validation = pd.concat(tables, ignore_index=True)
    model = ranker.fit(validation, features(validation), group="user",
                       params=ranker.RankerParams(seed=seed), num_threads=2)
    test_table, prepared = table_of(split.train, split.split_at, split.test)
    catalogue_size = len(prepared.item_ids)
    results = {}
    for part in (*PARTS, "blend", *SIGNALS):
        column = f"{part}_score" if part in PARTS else part
        scored = test_table[test_table[column].notna() & (test_table[column] > 0)]
        results[part] = ranking_metrics(ranked_frame(scored, scored[column].to_numpy(), prepared),
                                        split.test, catalogue_size)
    predicted = model.scores(test_table)
    results["ranker"] = ranking_metrics(ranked_frame(test_table, predicted, prepared),
                                        split.test, catalogue_size)
    recall = test_table.groupby("user")["label"].any().mean()
    best_part = max(PARTS, key=lambda part: results[part]["ndcg@10"])
    importance = dict(sorted(zip(model.features, model.booster.feature_importance(
        "gain").round(1).tolist(), strict=True), key=lambda pair: -pair[1]))
    return {"dataset": name, "events": len(events), "seconds": round(
        time.perf_counter() - started, 1), "candidate_rows": len(test_table),
        "users_with_a_hit_among_candidates": round(float(recall), 4),
        "ndcg_at_10": {part: round(metrics["ndcg@10"], 4) for part, metrics in results.items()},
        "ranker_over_best_part": round(results["ranker"]["ndcg@10"]
                                       / results[best_part]["ndcg@10"] - 1, 4),
        "ranker_over_best_other": round(results["ranker"]["ndcg@10"] / max(
            metrics["ndcg@10"] for part, metrics in results.items() if part != "ranker") - 1, 4),
        "map_at_10": {part: round(metrics["map@10"], 4) for part, metrics in results.items()},
        "gain_by_feature": importance}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="movielens,demo,sparse,wide")
    parser.add_argument("--data-dir", type=Path, default=Path("data/study"))
    parser.add_argument("--seed", type=int, default=7, help="LightGBM's (bagging, features)")
    args = parser.parse_args()
    for name in args.datasets.split(","):
        print(json.dumps(study(name, args.data_dir, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
