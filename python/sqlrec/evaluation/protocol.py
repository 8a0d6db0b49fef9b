"""`sqlrec evaluate`: one offline protocol for every recommender of the project.

- **Temporal per-user holdout** (`sqlrec.evaluation.split`): each user's last 20% of
  interactions are the test part.
- The recommenders see the training part only, exactly as production would: it is written as a
  lake in the input contract's layout and built by dbt with ``as_of`` = its latest event, into
  a DuckDB file of its own, then ALS is trained on that build's ``int_user_item_scores`` by the
  same code as `sqlrec train`.
- Recommenders: **popularity** (``popular_items``, global, minus the user's items), **item
  similarity** (``user_recommendations`` built before any ALS exists: similar items of the
  recent items, popular fill), **ALS** with implicit-like defaults and with the saved (tuned)
  parameters (``als_user_recommendations``), and the **blend** (``user_recommendations`` built
  again once the ALS tables exist).
- Metrics (`sqlrec.evaluation.metrics`): NDCG@10, MAP@10, Recall@20, HitRate@10, coverage@10.

`sqlrec tune` carves its validation split from the training part with the same holdout, so the
test part is never seen while tuning.

Output (`sqlrec.evaluation.report`): a markdown table (printed), a JSON file and a PNG bar chart
in the reports folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError
from sqlrec.evaluation.baselines import als_lists, popularity_from_warehouse
from sqlrec.evaluation.metrics import ranking_metrics
from sqlrec.evaluation.report import Evaluation
from sqlrec.evaluation.split import TEST_FRACTION, temporal_split

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.recommend.params import AlsParams

# the dbt target the training part is built with (pointed at the evaluation's own file)
EVALUATION_TARGET = "duckdb"


def evaluate(events: pd.DataFrame, *, dataset: str, workdir: Path,
             catalogue: pd.DataFrame | None = None, params: AlsParams | None = None,
             params_source: Path | None = None, device: str = "auto",
             extra_vars: dict[str, Any] | None = None, quiet: bool = True,
             test_fraction: float = TEST_FRACTION) -> Evaluation:
    """Split, build the training part with dbt, train ALS, build the blend, score everything.

    ``workdir`` receives the training part as a lake and the DuckDB file it is built into:
    dbt's duckdb target is pointed at that file through the dbt process's environment, and the
    Python steps open it directly; nothing else is touched. ``quiet`` hides dbt's output and the
    training's progress.
    """
    from sqlrec.data.lake import write_lake
    from sqlrec.pipeline.build import ALS_MODELS, build
    from sqlrec.recommend import als, train
    from sqlrec.recommend.params import AlsParams, provenance
    from sqlrec.warehouse.duckdb import DuckDBWarehouse
    from sqlrec.warehouse.profile import engine_of

    split = temporal_split(events, test_fraction)
    if split.test.empty:
        raise UserError("no held-out items: the users have too few interactions to evaluate")
    workdir = Path(workdir)
    lake, database = workdir / "train-lake", workdir / "evaluation.duckdb"
    write_lake(split.train, lake, catalogue)
    database.unlink(missing_ok=True)
    tuned = params is not None and params_source is not None
    params = params or AlsParams()
    dbt_vars = {"as_of": str(split.split_at), "popular_items_k": 0}
    if params.half_life_days is not None:
        dbt_vars["half_life_days"] = params.half_life_days
    dbt_vars.update(extra_vars or {})

    if engine_of(EVALUATION_TARGET) != "duckdb":
        raise UserError(f"the dbt profile's {EVALUATION_TARGET!r} target is not a DuckDB one; "
                        "the evaluation builds its training part into a DuckDB file of its own")
    store = DuckDBWarehouse(database, target=EVALUATION_TARGET)
    dbt_env = {"SQLREC_DUCKDB_PATH": str(database.resolve())}

    lists: dict[str, pd.DataFrame] = {}
    build(lake, full_refresh=True, extra_vars=dbt_vars, quiet=quiet, target=EVALUATION_TARGET,
          store=store, env_overrides=dbt_env)
    catalogue_size = store.query(
        "select count(distinct item_id) as items from int_user_item_scores"
    ).column("items")[0].as_py()
    lists["popularity"] = popularity_from_warehouse(store)
    lists["item_similarity"] = store.read_table(
        "user_recommendations", ["user_id", "item_id", "rank"]).to_pandas()

    defaults = AlsParams(half_life_days=params.half_life_days)
    untuned = train.train(store, defaults, device=device, show_progress=False, write=False)
    lists["als_defaults"] = als_lists(
        untuned.data, defaults, model=untuned.model,
        unavailable=train.unavailable_items(store, untuned.data.item_ids))

    trained = train.train(store, params, device=device, show_progress=not quiet, record=False,
                          details={**provenance(params_source), "evaluation": dataset})
    als_name = "als_tuned" if tuned else "als_defaults"
    lists[als_name] = store.read_table(
        train.RECOMMENDATIONS_TABLE, ["user_id", "item_id", "rank"]).to_pandas()
    als_metrics = ranking_metrics(lists[als_name], split.test, catalogue_size)
    train.record_run(store, trained.run, metrics={**als_metrics, "dataset": dataset})

    build(lake, extra_vars=dbt_vars, select=ALS_MODELS, quiet=quiet, target=EVALUATION_TARGET,
          store=store, env_overrides=dbt_env)
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
        "run_id": trained.run.run_id,
        "database": str(database),
    }
    return Evaluation(dataset, results, details)
