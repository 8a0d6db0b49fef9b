"""`sqlrec evaluate`: one offline protocol for every recommender of the project.

The protocol
------------
- An *interaction* is a user–item pair, dated by its first event.
- **Temporal per-user holdout**: each user's interactions are ordered by that date (ties by
  item id); the last 20% (``floor(0.2 n)``, at least one when the user has two or more) are the
  user's test items. The training part keeps every event of the user up to the date of the
  user's first test interaction, except events of the test items themselves. Test items that no
  user has in the training part are dropped, and users left without test items are not scored.
- The recommenders see the training part only, exactly as production would: it is written as a
  lake in the input contract's layout and built by dbt with ``as_of`` = its latest event, then
  ALS is trained on that build's ``int_user_item_scores`` by the same code as `sqlrec train`.
- Recommenders: **popularity** (``popular_items``, global, minus the user's items), **item
  similarity** (``user_recommendations`` built before any ALS exists: similar items of the
  recent items, popular fill), **ALS** with implicit-like defaults and with the saved (tuned)
  parameters (``als_user_recommendations``), and the **blend** (``user_recommendations`` built
  again once the ALS tables exist).

Metrics (per scored user u with test items T and ranked list L, averaged over users; a user with
no list scores 0):

- NDCG@10 = sum over ranks r <= 10 with L[r] in T of 1 / log2(r + 1), divided by the same sum
  for a perfect list (min(|T|, 10) hits at the top);
- MAP@10 = (1 / min(|T|, 10)) · sum over ranks r <= 10 with L[r] in T of precision@r;
- Recall@20 = |L[:20] ∩ T| / |T|;  HitRate@10 = 1 when L[:10] holds a test item;
- coverage = distinct items in the top-10 lists of scored users / items of the training part.

`sqlrec tune` carves its validation split from the training part with the same holdout, so the
test part is never seen while tuning.

Output: a markdown table (printed), a JSON file and a PNG bar chart in the reports folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec import project
from sqlrec.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.als import AlsParams, InteractionMatrix
    from sqlrec.warehouse import Warehouse

TEST_FRACTION = 0.2
LIST_LENGTH = 20  # Recall@20 needs 20; the other metrics read the first 10
METRIC_NAMES = ("ndcg@10", "map@10", "recall@20", "hitrate@10", "coverage@10")
METRIC_LABELS = ("NDCG@10", "MAP@10", "Recall@20", "HitRate@10", "coverage@10")


# ---------- events and scores

def event_weights() -> dict[str, float]:
    """weight(type) from the project's seed, the table dbt weights events with."""
    import pandas as pd

    seed = pd.read_csv(project.project_dir() / "seeds" / "event_weights.csv")
    return dict(zip(seed["event_type"].str.lower(), seed["weight"].astype(float), strict=True))


def score_matrix(events: pd.DataFrame, *, half_life_days: float, as_of=None,
                 weights: dict[str, float] | None = None) -> InteractionMatrix:
    """w(u,i) of DESIGN.md from events, as a CSR matrix: the Python twin of
    ``int_user_item_scores`` (same weights, decay, log damping), for tuning without dbt.

    c = sum of weight(type) · 0.5^(age / half-life), age = as_of − event time (no decay when the
    half-life is 0); w = 1 + ln c when c >= 1, else c. Events after as_of and pairs with c = 0
    are left out.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import scipy.sparse as sp

    from sqlrec.als import InteractionMatrix

    weights = weights if weights is not None else event_weights()
    as_of = pd.Timestamp(as_of) if as_of is not None else events["event_at"].max()
    events = events[events["event_at"] <= as_of]
    strength = events["event_type"].map(weights).fillna(0.0).to_numpy(dtype=np.float64)
    if half_life_days and half_life_days > 0:
        age_seconds = (as_of - events["event_at"]).dt.total_seconds().to_numpy()
        strength = strength * 0.5 ** (age_seconds / (half_life_days * 86_400.0))
    events, strength = events[strength > 0], strength[strength > 0]
    users, user_ids = pd.factorize(events["user_id"], sort=True)
    items, item_ids = pd.factorize(events["item_id"], sort=True)
    matrix = sp.csr_matrix((strength, (users, items)), shape=(len(user_ids), len(item_ids)))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    c = matrix.data
    matrix.data = np.where(c >= 1, 1 + np.log(np.maximum(c, 1)), c).astype(np.float32)
    return InteractionMatrix(matrix.astype(np.float32), pa.array(user_ids.astype(str)),
                             pa.array(item_ids.astype(str)))


@dataclass(frozen=True)
class Split:
    """A temporal per-user holdout: training events, held-out (user_id, item_id) pairs and the
    latest training event (the as_of of everything built on the training part)."""

    train: pd.DataFrame
    test: pd.DataFrame
    split_at: Any


def temporal_split(events: pd.DataFrame, test_fraction: float = TEST_FRACTION) -> Split:
    """Each user's last ``test_fraction`` of interactions (by first event) held out; see the
    module docstring for the exact rule."""
    import numpy as np

    if events.empty:
        raise UserError("no events to split")
    pairs = (events.groupby(["user_id", "item_id"], as_index=False, sort=False)["event_at"].min()
             .rename(columns={"event_at": "first_at"})
             .sort_values(["user_id", "first_at", "item_id"], kind="stable"))
    per_user = pairs.groupby("user_id", sort=False)
    count = per_user["item_id"].transform("size").to_numpy()
    position = per_user.cumcount().to_numpy()
    held_out = np.floor(count * test_fraction + 1e-9).astype(int)
    held_out = np.where((held_out == 0) & (count >= 2), 1, held_out)
    pairs["is_test"] = position >= count - held_out

    test_pairs = pairs[pairs["is_test"]]
    cutoff = test_pairs.groupby("user_id")["first_at"].min().rename("cutoff_at")
    train = events.merge(pairs[["user_id", "item_id", "is_test"]], on=["user_id", "item_id"])
    train = train.merge(cutoff, left_on="user_id", right_index=True, how="left")
    before_cutoff = train["cutoff_at"].isna() | (train["event_at"] <= train["cutoff_at"])
    keep = ~train["is_test"] & before_cutoff
    train = train.loc[keep, list(events.columns)].reset_index(drop=True)

    seen_items = set(train["item_id"].unique())
    test = test_pairs.loc[test_pairs["item_id"].isin(seen_items), ["user_id", "item_id"]]
    return Split(train, test.reset_index(drop=True), train["event_at"].max())


# ---------- metrics

def ranking_metrics(recommendations: pd.DataFrame, test: pd.DataFrame,
                    catalogue_size: int) -> dict[str, float]:
    """NDCG@10, MAP@10, Recall@20, HitRate@10 and coverage@10 of ranked lists (user_id, item_id,
    rank starting at 1) against held-out (user_id, item_id) pairs; definitions in the module
    docstring. Users with test items but no list count as zeros; lists of other users are
    ignored."""
    import numpy as np

    relevant = test.drop_duplicates(["user_id", "item_id"])
    relevant_counts = relevant.groupby("user_id").size()
    if relevant_counts.empty:
        raise UserError("no held-out items to score against")
    lists = recommendations[["user_id", "item_id", "rank"]]
    lists = lists[lists["user_id"].isin(relevant_counts.index) & (lists["rank"] <= LIST_LENGTH)]
    hits = lists.merge(relevant, on=["user_id", "item_id"])
    hits = hits.sort_values(["user_id", "rank"])
    hits["hits_so_far"] = hits.groupby("user_id").cumcount() + 1
    top10 = hits[hits["rank"] <= 10]

    ideal_hits = np.minimum(relevant_counts, 10)
    discounts = np.cumsum(1 / np.log2(np.arange(2, 12)))
    idcg = ideal_hits.map(lambda n: discounts[n - 1])
    dcg = (1 / np.log2(top10["rank"] + 1)).groupby(top10["user_id"]).sum()
    average_precision = (top10["hits_so_far"] / top10["rank"]).groupby(top10["user_id"]).sum()
    recall_hits = hits.groupby("user_id").size()

    users = relevant_counts.index
    covered = lists.loc[lists["rank"] <= 10, "item_id"].nunique()
    return {
        "ndcg@10": float((dcg.reindex(users, fill_value=0) / idcg).mean()),
        "map@10": float((average_precision.reindex(users, fill_value=0) / ideal_hits).mean()),
        "recall@20": float((recall_hits.reindex(users, fill_value=0) / relevant_counts).mean()),
        "hitrate@10": float(top10.groupby("user_id").size().reindex(users, fill_value=0)
                            .gt(0).mean()),
        "coverage@10": covered / catalogue_size if catalogue_size else 0.0,
        "users": int(len(users)),
    }


# ---------- recommenders evaluated in Python (tuning, tests)

def als_lists(data: InteractionMatrix, params: AlsParams, *, k: int = LIST_LENGTH,
              device: str = "cpu", unavailable=None, model=None) -> pd.DataFrame:
    """Top-k ALS lists (user_id, item_id, rank) for every user of the matrix, by the same code
    `sqlrec train` writes its table with."""
    import numpy as np
    import pandas as pd

    from sqlrec import als

    model = model if model is not None else als.fit(data.matrix, params, device=device)
    frames = []
    for _, users, items, _scores in als.recommend_batches(model, data.matrix, k,
                                                          unavailable=unavailable):
        starts = np.r_[True, users[1:] != users[:-1]] if len(users) else np.zeros(0, bool)
        first = np.flatnonzero(starts)
        rank = np.arange(len(users)) - first[np.cumsum(starts) - 1] + 1
        frames.append(pd.DataFrame({
            "user_id": data.user_ids.take(users).to_numpy(zero_copy_only=False),
            "item_id": data.item_ids.take(items).to_numpy(zero_copy_only=False),
            "rank": rank,
        }))
    if not frames:
        return pd.DataFrame({"user_id": [], "item_id": [], "rank": []})
    return pd.concat(frames, ignore_index=True)


def popularity_lists(data: InteractionMatrix, *, k: int = LIST_LENGTH) -> pd.DataFrame:
    """Top-k items by summed w(u,i) (the popular_items order), minus each user's own items."""
    import numpy as np
    import pandas as pd

    totals = np.asarray(data.matrix.sum(axis=0)).ravel()
    item_names = data.item_ids.to_numpy(zero_copy_only=False)
    order = np.lexsort((item_names, -totals))
    rows = []
    for user in range(data.matrix.shape[0]):
        known = set(data.matrix.indices[data.matrix.indptr[user]:data.matrix.indptr[user + 1]])
        picked = [item for item in order[:k + len(known)] if item not in known][:k]
        rows.append(pd.DataFrame({"user": user, "item": picked,
                                  "rank": np.arange(1, len(picked) + 1)}))
    lists = pd.concat(rows, ignore_index=True)
    return pd.DataFrame({
        "user_id": data.user_ids.to_numpy(zero_copy_only=False)[lists["user"]],
        "item_id": item_names[lists["item"]],
        "rank": lists["rank"],
    })


# ---------- lakes

def write_lake(events: pd.DataFrame, out: Path, catalogue: pd.DataFrame | None = None) -> None:
    """Write events (user_id, item_id, event_type, event_at, optional event_id) as a lake in the
    input contract's layout, replacing what ``out`` held: events/event_date=YYYY-MM-DD/*.parquet
    with an event_time column, and catalog/items.parquet when a catalogue is given."""
    import shutil

    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    out = Path(out)
    for folder in ("events", "catalog"):
        shutil.rmtree(out / folder, ignore_errors=True)
    columns = [c for c in ("event_id", "user_id", "item_id", "event_type") if c in events]
    frame = events[columns].copy()
    frame["event_time"] = events["event_at"].astype("datetime64[us]")
    frame["event_date"] = events["event_at"].dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    ds.write_dataset(
        table, out / "events", format="parquet",
        partitioning=ds.partitioning(pa.schema([("event_date", pa.string())]), flavor="hive"),
        basename_template="part-{i}.parquet", existing_data_behavior="delete_matching",
    )
    if catalogue is not None:
        (out / "catalog").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(catalogue, preserve_index=False),
                       out / "catalog" / "items.parquet")


@contextlib.contextmanager
def duckdb_file(path: Path) -> Iterator[None]:
    """Point dbt and the warehouse module at another DuckDB file for a while."""
    previous = os.environ.get("SQLREC_DUCKDB_PATH")
    os.environ["SQLREC_DUCKDB_PATH"] = str(Path(path).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SQLREC_DUCKDB_PATH", None)
        else:
            os.environ["SQLREC_DUCKDB_PATH"] = previous


def load_events(*, movielens: bool = False, store: Warehouse | None = None,
                ) -> tuple[pd.DataFrame, str]:
    """Events to evaluate or tune on, and the dataset's name: MovieLens-100k, or the valid events
    that dbt staged in the active warehouse (``stg_lake__events`` without reject_reason)."""
    if movielens:
        from sqlrec import movielens as ml

        return ml.load_events(), "movielens-100k"
    from sqlrec import warehouse

    store = store or warehouse.connect()
    if not store.table_exists("stg_lake__events"):
        raise UserError("no stg_lake__events in the warehouse; run `sqlrec build` first (or use "
                        "--movielens)")
    events = store.query(
        "select event_id, user_id, item_id, event_type, event_at from stg_lake__events "
        "where reject_reason is null"
    ).to_pandas()
    if events.empty:
        raise UserError("stg_lake__events holds no valid events; nothing to evaluate")
    return events, "warehouse"


def load_catalogue(store: Warehouse | None = None) -> pd.DataFrame | None:
    """The staged item catalogue of the active warehouse, or None when there is none."""
    from sqlrec import warehouse

    store = store or warehouse.connect()
    if not store.table_exists("stg_lake__items"):
        return None
    catalogue = store.read_table("stg_lake__items").to_pandas()
    return None if catalogue.empty else catalogue


# ---------- the whole evaluation

RECOMMENDERS = {
    "popularity": "popularity",
    "item_similarity": "item similarity",
    "als_defaults": "ALS (defaults)",
    "als_tuned": "ALS (tuned)",
    "blend": "blend",
}


@dataclass
class Evaluation:
    """Metrics per recommender, with what they were computed on."""

    dataset: str
    results: dict[str, dict[str, float]]
    details: dict[str, Any]

    def markdown(self) -> str:
        header = ("| recommender | " + " | ".join(METRIC_LABELS) + " |\n"
                  "|---|---:|---:|---:|---:|---:|\n")
        rows = "".join(
            f"| {RECOMMENDERS.get(name, name)} | "
            + " | ".join(f"{metrics[metric]:.4f}" for metric in METRIC_NAMES) + " |\n"
            for name, metrics in self.results.items()
        )
        d = self.details
        return (f"Offline evaluation on {self.dataset}: temporal per-user holdout (last "
                f"{d['test_fraction']:.0%} of each user's interactions), {d['scored_users']:,} "
                f"users scored, {d['test_pairs']:,} held-out pairs, {d['train_events']:,} "
                f"training events up to {d['split_at']}.\n\n" + header + rows)

    def to_json(self) -> str:
        return json.dumps({"dataset": self.dataset, "results": self.results,
                           "details": self.details}, indent=2, default=str) + "\n"

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        names = list(self.results)
        positions = np.arange(len(METRIC_NAMES))
        width = 0.8 / max(len(names), 1)
        figure, axes = plt.subplots(figsize=(10, 4.5))
        for offset, name in enumerate(names):
            values = [self.results[name][metric] for metric in METRIC_NAMES]
            axes.bar(positions + (offset - (len(names) - 1) / 2) * width, values, width,
                     label=RECOMMENDERS.get(name, name))
        axes.set_xticks(positions, METRIC_LABELS)
        axes.set_ylabel("score (higher is better)")
        axes.set_title(f"sqlrec offline evaluation: {self.dataset}")
        axes.legend(fontsize="small")
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)

    def write(self, reports_dir: Path) -> dict[str, Path]:
        reports_dir.mkdir(parents=True, exist_ok=True)
        stem = reports_dir / f"evaluation-{self.dataset}"
        paths = {"markdown": stem.with_suffix(".md"), "json": stem.with_suffix(".json"),
                 "chart": stem.with_suffix(".png")}
        paths["markdown"].write_text(self.markdown())
        paths["json"].write_text(self.to_json())
        self.plot(paths["chart"])
        return paths


def popularity_from_warehouse(store: Warehouse, k: int = LIST_LENGTH) -> pd.DataFrame:
    """popular_items (global), minus each user's own items, top k: the lists popular fill gives
    a user with no personalised items. Each user looks only k + (own items) deep."""
    return store.query(f"""
        with known as (
            select user_id, item_id from int_user_item_scores
        ),
        users as (
            select user_id, count(*) as known_items from known group by user_id
        ),
        popular as (
            select item_id, rank from popular_items where scope = 'global'
        ),
        candidates as (
            select users.user_id, popular.item_id, popular.rank as popular_rank
            from users
            inner join popular on popular.rank <= {k} + users.known_items
            left join known
                on users.user_id = known.user_id and popular.item_id = known.item_id
            where known.item_id is null
        )
        select user_id, item_id,
            row_number() over (partition by user_id order by popular_rank) as rank
        from candidates
        qualify rank <= {k}
    """).to_pandas()


def evaluate(events: pd.DataFrame, *, dataset: str, workdir: Path,
             catalogue: pd.DataFrame | None = None, params: AlsParams | None = None,
             params_source: Path | None = None, device: str = "auto",
             extra_vars: dict[str, Any] | None = None, quiet: bool = True,
             test_fraction: float = TEST_FRACTION) -> Evaluation:
    """Split, build the training part with dbt, train ALS, build the blend, score everything.

    ``workdir`` receives the training part as a lake and the DuckDB file it is built into.
    """
    from sqlrec import als, pipeline, warehouse

    split = temporal_split(events, test_fraction)
    if split.test.empty:
        raise UserError("no held-out items: the users have too few interactions to evaluate")
    workdir = Path(workdir)
    lake, database = workdir / "train-lake", workdir / "evaluation.duckdb"
    write_lake(split.train, lake, catalogue)
    database.unlink(missing_ok=True)
    tuned = params is not None and params_source is not None
    params = params or als.AlsParams()
    dbt_vars = {"as_of": str(split.split_at), "popular_items_k": 0}
    if params.half_life_days is not None:
        dbt_vars["half_life_days"] = params.half_life_days
    dbt_vars.update(extra_vars or {})

    lists: dict[str, pd.DataFrame] = {}
    with duckdb_file(database):
        pipeline.build(lake, full_refresh=True, extra_vars=dbt_vars, quiet=quiet)
        store = warehouse.connect()
        catalogue_size = store.query(
            "select count(distinct item_id) as items from int_user_item_scores"
        ).column("items")[0].as_py()
        lists["popularity"] = popularity_from_warehouse(store)
        lists["item_similarity"] = store.read_table(
            "user_recommendations", ["user_id", "item_id", "rank"]).to_pandas()

        defaults = als.AlsParams(half_life_days=params.half_life_days)
        untuned = als.train(store, defaults, device=device, show_progress=False, write=False)
        lists["als_defaults"] = als_lists(
            untuned.data, defaults, model=untuned.model,
            unavailable=als.unavailable_items(store, untuned.data.item_ids))

        trained = als.train(store, params, device=device, show_progress=not quiet, record=False,
                            details={"params_file": str(params_source) if params_source else None,
                                     "evaluation": dataset})
        als_name = "als_tuned" if tuned else "als_defaults"
        lists[als_name] = store.read_table(
            als.RECOMMENDATIONS_TABLE, ["user_id", "item_id", "rank"]).to_pandas()
        als_metrics = ranking_metrics(lists[als_name], split.test, catalogue_size)
        als.record_run(store, trained.run, metrics={**als_metrics, "dataset": dataset})

        pipeline.build(lake, extra_vars=dbt_vars, select="source:als+", quiet=quiet)
        lists["blend"] = store.read_table(
            "user_recommendations", ["user_id", "item_id", "rank"]).to_pandas()

    results = {name: ranking_metrics(lists[name], split.test, catalogue_size) for name in lists}
    details = {
        "protocol": "temporal per-user holdout; see `sqlrec evaluate --help`",
        "test_fraction": test_fraction,
        "train_events": int(len(split.train)),
        "test_pairs": int(len(split.test)),
        "scored_users": int(split.test["user_id"].nunique()),
        "catalogue_items": int(catalogue_size),
        "split_at": str(split.split_at),
        "dbt_vars": dbt_vars,
        "als_params": {**params.model_params(), "half_life_days": params.half_life_days},
        "als_params_file": str(params_source) if params_source else None,
        "device": als.resolve_device(device),
        "run_id": trained.run["run_id"],
        "database": str(database),
    }
    return Evaluation(dataset, results, details)


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="offline evaluation of popularity, item similarity, ALS and the blend",
        description="Temporal per-user holdout (each user's last 20% of interactions), the "
        "training part built by dbt and trained by `sqlrec train`'s code; NDCG@10, MAP@10, "
        "Recall@20, HitRate@10 and coverage for popularity, item similarity, ALS (defaults and "
        "saved parameters) and the blend. Writes a markdown table, JSON and a PNG chart.",
    )
    parser.add_argument("--movielens", action="store_true",
                        help="evaluate on MovieLens-100k (from the recbole wheel) instead of the "
                        "events of the active warehouse")
    parser.add_argument("--params", type=Path, default=None,
                        help="ALS parameters (default: $SQLREC_ALS_PARAMS or data/als_params.json "
                        "when it exists, else the defaults)")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    parser.add_argument("--vars", default="{}", help="more dbt vars, as JSON or YAML text")
    parser.add_argument("--reports", type=Path, default=None,
                        help="folder for the report files (default: reports/ in the project)")
    parser.add_argument("--verbose", action="store_true", help="show dbt's output")
    parser.set_defaults(func=_evaluate_command)


def _evaluate_command(args: argparse.Namespace) -> int:
    import yaml

    from sqlrec import als

    extra_vars = yaml.safe_load(args.vars) or {}
    if not isinstance(extra_vars, dict):
        raise UserError(f"--vars must be a mapping, got {args.vars!r}")
    params, source = als.load_params(args.params)
    if args.params and source is None:
        raise UserError(f"no parameters file at {args.params}")
    events, dataset = load_events(movielens=args.movielens)
    catalogue = None if args.movielens else load_catalogue()
    reports = args.reports or project.project_dir() / "reports"
    print(f"sqlrec evaluate: {len(events):,} events of {dataset}; ALS parameters from "
          f"{source or 'the defaults'}")
    started = time.perf_counter()
    evaluation = evaluate(events, dataset=dataset, workdir=reports / f"evaluation-{dataset}",
                          catalogue=catalogue, params=params if source else None,
                          params_source=source, device=args.device, extra_vars=extra_vars,
                          quiet=not args.verbose)
    paths = evaluation.write(reports)
    print()
    print(evaluation.markdown())
    print(f"sqlrec evaluate: {time.perf_counter() - started:.0f} s; wrote "
          + ", ".join(str(path) for path in paths.values()))
    return 0
