"""`sqlrec evaluate`: one offline protocol for every recommender of the project.

- **Temporal per-user holdout** (`sqlrec.evaluation.split`): each user's last 20% of
  interactions are the test part.
- The recommenders see the training part only, exactly as production would: it is written as a
  lake in the input contract's layout and built by dbt with ``as_of`` = its latest event, into
  a DuckDB file of its own (in a temporary folder, removed afterwards), then ALS and EASE are
  trained on that build by the same code as `sqlrec train`.
- Recommenders: **popularity** (``user_recommendations`` built with every part's weight 0:
  the popular fill alone, ``popular_items`` global minus the user's items), **item
  similarity** (``user_recommendations`` built before any model is trained: similar items of
  the recent items, popular fill), **ALS** and **EASE** (their tables), and the **blend**
  (``user_recommendations`` built again once the models' tables exist).
- Metrics (`sqlrec.evaluation.metrics`): NDCG@10, MAP@10, Recall@20, HitRate@10, coverage@10.
  The holdout, the lists and the training items are also written into the warehouse
  (`write_to_warehouse`), where the dbt model ``evaluation_metrics`` computes the same metrics
  in SQL, plus mean popularity and category diversity, appended run after run.

`sqlrec tune` carves its validation split from the training part with the same holdout, so the
test part is never seen while tuning.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError
from sqlrec.evaluation.metrics import LIST_LENGTH, ranking_metrics
from sqlrec.evaluation.report import Evaluation
from sqlrec.evaluation.split import TEST_FRACTION, temporal_split

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.recommend.params import PipelineParams
    from sqlrec.warehouse import Warehouse

# the dbt target the training part is built with (pointed at the evaluation's own file)
EVALUATION_TARGET = "duckdb"
LIST_COLUMNS = ["user_id", "item_id", "rank"]


def evaluate(events: pd.DataFrame, *, dataset: str, params: PipelineParams,
             catalogue: pd.DataFrame | None = None, params_source: Path | None = None,
             device: str = "auto", extra_vars: dict[str, Any] | None = None,
             quiet: bool = True, test_fraction: float = TEST_FRACTION,
             workdir: Path | None = None) -> Evaluation:
    """Split, build the training part with dbt, train the models, build the blend, score all.

    The training part's lake and DuckDB file go to a temporary folder removed at the end, or
    to ``workdir`` when given (kept). dbt's duckdb target is pointed at that file through the
    dbt process's environment, and the Python steps open it directly; nothing else is touched.
    ``quiet`` hides dbt's output and the training's progress.
    """
    from sqlrec.recommend import als

    split = temporal_split(events, test_fraction)
    if split.test.empty:
        raise UserError("no held-out items: the users have too few interactions to evaluate")
    dbt_vars = {**params.dbt_vars, "as_of": str(split.split_at), "popular_items_k": 0,
                **(extra_vars or {})}
    folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="sqlrec-evaluation-"))
    try:
        lists, catalogue_size, run_ids = _train_and_list(split, folder, dataset, params,
                                                         catalogue, params_source, dbt_vars,
                                                         device, quiet)
    finally:
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
    results = {name: ranking_metrics(lists[name], split.test, catalogue_size) for name in lists}
    details = {
        "protocol": "temporal per-user holdout; see `sqlrec evaluate --help`",
        "test_fraction": test_fraction,
        "train_events": int(len(split.train)),
        "training_users": int(split.train["user_id"].nunique()),
        "test_pairs": int(len(split.test)),
        "scored_users": int(split.test["user_id"].nunique()),
        "catalogue_items": int(catalogue_size),
        "split_at": str(split.split_at),
        "dbt_vars": dbt_vars,
        "als_params": params.als.model_params(),
        "ease_params": params.ease.model_params(),
        "params_file": str(params_source) if params_source else None,
        "device": als.resolve_device(device),
        "model_runs": run_ids,
    }
    return Evaluation(dataset, results, details, lists=lists, split=split,
                      catalogue=catalogue)


def _train_and_list(split, folder: Path, dataset: str, params: PipelineParams, catalogue,
                    params_source, dbt_vars, device, quiet):
    """The training part built, trained and blended in `folder`; every recommender's lists."""
    from sqlrec.data.lake import write_lake
    from sqlrec.evaluation.twin import PART_WEIGHTS
    from sqlrec.pipeline.build import MODEL_TABLE_READERS, build
    from sqlrec.recommend import train
    from sqlrec.recommend.params import provenance
    from sqlrec.warehouse.duckdb import DuckDBWarehouse
    from sqlrec.warehouse.profile import engine_of

    if engine_of(EVALUATION_TARGET) != "duckdb":
        raise UserError(f"the dbt profile's {EVALUATION_TARGET!r} target is not a DuckDB one; "
                        "the evaluation builds its training part into a DuckDB file of its own")
    lake, database = folder / "train-lake", folder / "evaluation.duckdb"
    write_lake(split.train, lake, catalogue)
    database.unlink(missing_ok=True)
    store = DuckDBWarehouse(database, target=EVALUATION_TARGET)
    dbt_env = {"SQLREC_DUCKDB_PATH": str(database.resolve())}

    def build_part(more_vars: dict[str, Any] | None = None, **kwargs) -> None:
        # without dbt's data tests: the training part is a subset of valid events whose build
        # ran them already; here they would re-check the same SQL at a third of the build's cost
        build(lake, extra_vars={**dbt_vars, **(more_vars or {})}, quiet=quiet,
              target=EVALUATION_TARGET, store=store, env_overrides=dbt_env, data_tests=False,
              **kwargs)

    lists: dict[str, pd.DataFrame] = {}
    build_part(full_refresh=True)
    catalogue_size = store.query(
        f"select count(distinct item_id) as items from {store.qualified('int_user_item_scores')}"
    ).column("items")[0].as_py()
    item_similarity = store.read_table("user_recommendations", LIST_COLUMNS).to_pandas()
    # popularity is the blend's popular fill alone (every part's weight 0): the one rule the
    # served lists fill by, not a copy of it
    build_part({**dict.fromkeys(PART_WEIGHTS.values(), 0.0), "top_k": LIST_LENGTH},
               select="user_recommendations")
    lists["popularity"] = store.read_table("user_recommendations", LIST_COLUMNS).to_pandas()
    lists["item_similarity"] = item_similarity
    details = {**provenance(params_source), "evaluation": dataset}
    results = train.train_models(store, params, train.MODELS, device=device,
                                 show_progress=not quiet, details=details)
    for result in results:
        table = train.MODEL_TABLES[result.run.model][0]
        lists[result.run.model] = store.read_table(table, LIST_COLUMNS).to_pandas()
    build_part(select=MODEL_TABLE_READERS)
    lists["blend"] = store.read_table("user_recommendations", LIST_COLUMNS).to_pandas()
    return lists, catalogue_size, {result.run.model: result.run.run_id for result in results}


def write_to_warehouse(evaluation: Evaluation, store: Warehouse) -> str:
    """Write an evaluation's holdout, lists and training items into the warehouse, as the
    sources of the dbt model evaluation_metrics read them; return the evaluation's run id."""
    import datetime as dt

    import pandas as pd
    import pyarrow as pa

    run_id = uuid.uuid4().hex
    split = evaluation.split
    training_users = split.train.groupby("item_id")["user_id"].nunique()
    items = pd.DataFrame({"item_id": training_users.index.astype(str),
                          "training_users": training_users.to_numpy().astype("int64")})
    if evaluation.catalogue is not None and "category" in evaluation.catalogue:
        categories = evaluation.catalogue.drop_duplicates("item_id").set_index("item_id")
        items["category"] = items["item_id"].map(categories["category"])
    else:
        items["category"] = None
    lists = pd.concat([frame.assign(recommender=name) for name, frame in
                       evaluation.lists.items()], ignore_index=True)
    tables = {
        "evaluation_runs": pd.DataFrame({
            "run_id": [run_id], "dataset": [evaluation.dataset],
            "evaluated_at": [dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            "training_users": [int(split.train["user_id"].nunique())],
            "details": [evaluation.to_json()]}),
        "evaluation_holdout": split.test.drop_duplicates().assign(run_id=run_id),
        "evaluation_lists": lists[["recommender", "user_id", "item_id", "rank"]]
        .assign(run_id=run_id).astype({"rank": "int32"}),
        "evaluation_items": items.assign(run_id=run_id),
    }
    for name, frame in tables.items():
        store.write_table(name, pa.Table.from_pandas(frame, preserve_index=False))
    return run_id
