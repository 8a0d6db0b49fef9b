"""What each task of the Kubeflow pipeline does, as plain functions of plain values (paths,
names, JSON text), so that a KFP component is one call and each step can be tested without
Kubeflow. Every step but the gate and publish works on the candidate warehouse
(`sqlrec.kubeflow.publish`): the served one changes only when a run is published.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlrec.errors import UserError
from sqlrec.kubeflow import publish
from sqlrec.recommend.params import PipelineParams

# the metrics each recommender's evaluation reports, as KFP metric names (no '@': the KFP UI
# and Katib's metric filter both read word characters)
METRIC_NAMES = {"ndcg@10": "ndcg_at_10", "map@10": "map_at_10", "recall@20": "recall_at_20",
                "hitrate@10": "hitrate_at_10", "coverage@10": "coverage_at_10"}
SERVED_LIST = "blend"  # the recommender whose list the service serves


def pipeline_params(params_json: str) -> PipelineParams:
    """The parameters file's content (JSON text; '' or '{}' for the defaults), validated as
    `sqlrec.recommend.params.load_params` validates the file."""
    from sqlrec.recommend.params import load_params

    if not params_json.strip() or json.loads(params_json) in ({}, None):
        return PipelineParams()
    with tempfile.TemporaryDirectory(prefix="sqlrec-params-") as folder:
        path = Path(folder) / "params.json"
        path.write_text(params_json)
        return load_params(path)[0]


def dbt_vars(params: PipelineParams, vars_json: str) -> dict[str, Any]:
    """The parameters' dbt vars with the pipeline's own (JSON text) on top, as `--vars` is."""
    extra = json.loads(vars_json or "{}")
    if not isinstance(extra, dict):
        raise UserError(f"dbt_vars must be a JSON object, got {vars_json!r}")
    return {**params.dbt_vars, **extra}


def build_step(lake: str, target: str, warehouse: str, params_json: str, vars_json: str) -> str:
    """dbt build of the lake into the candidate: the incremental staging, the scores, item
    similarity and the other marts."""
    from sqlrec.pipeline.build import build

    places = publish.resolve(target, warehouse)
    params = pipeline_params(params_json)
    started = time.perf_counter()
    with places.active("candidate"):
        build(Path(lake), extra_vars=dbt_vars(params, vars_json))
    return f"sqlrec pipeline: built {lake} into {places.candidate} in " \
           f"{time.perf_counter() - started:.1f} s"


def train_step(target: str, warehouse: str, params_json: str, device: str) -> str:
    """ALS and EASE on the candidate's scores; their tables and model_runs rows."""
    from sqlrec.recommend.train import MODELS, train_models

    places = publish.resolve(target, warehouse)
    with places.active("candidate") as store:
        results = train_models(store, pipeline_params(params_json), MODELS, device=device,
                               show_progress=False, details={"pipeline": True}, echo=print)
    return "\n".join(result.summary() for result in results)


def blend_step(lake: str, target: str, warehouse: str, params_json: str, vars_json: str) -> str:
    """dbt build of the models that read the model tables: the blend in user_recommendations."""
    from sqlrec.pipeline.build import MODEL_TABLE_READERS, build

    places = publish.resolve(target, warehouse)
    params = pipeline_params(params_json)
    with places.active("candidate"):
        build(Path(lake), extra_vars=dbt_vars(params, vars_json), select=MODEL_TABLE_READERS)
    return f"sqlrec pipeline: blended user_recommendations in {places.candidate}"


def evaluate_step(lake: str, target: str, warehouse: str, params_json: str, vars_json: str,
                  device: str) -> dict[str, Any]:
    """The offline evaluation of every recommender on the candidate's valid events (the temporal
    holdout of `sqlrec evaluate`), appended to the candidate's evaluation_metrics. Returns the
    metrics by recommender (KFP names), the served list's NDCG@10 and MAP@10 and the run id."""
    from sqlrec import project
    from sqlrec.evaluation.datasets import load_catalogue, load_events
    from sqlrec.evaluation.protocol import evaluate, write_to_warehouse
    from sqlrec.pipeline.dbt import run_dbt

    places = publish.resolve(target, warehouse)
    params = pipeline_params(params_json)
    extra = json.loads(vars_json or "{}")
    with places.active("candidate") as store:
        events, dataset = load_events(store=store)
        evaluation = evaluate(events, dataset=dataset, params=params,
                              catalogue=load_catalogue(store), device=device, extra_vars=extra)
        run_id = write_to_warehouse(evaluation, store)
        run_dbt(["build", "--select", "tag:evaluation"], target=target, quiet=True,
                dbt_vars={**project.lake_vars(Path(lake)), **dbt_vars(params, vars_json)})
    results = {name: {METRIC_NAMES[metric]: float(value) for metric, value in metrics.items()
                      if metric in METRIC_NAMES}
               for name, metrics in evaluation.results.items()}
    served = results[SERVED_LIST]
    return {"results": results, "ndcg_at_10": served["ndcg_at_10"],
            "map_at_10": served["map_at_10"], "evaluation_run_id": run_id,
            "scored_users": evaluation.details["scored_users"]}


def gate_step(target: str, warehouse: str, ndcg_at_10: float, max_drop: float
              ) -> tuple[bool, str]:
    """Whether the run may be published (`publish.decide` against the served warehouse's last
    published run), and why."""
    places = publish.resolve(target, warehouse)
    publish.clean_leftovers(places)  # of a publication killed in an earlier run
    with places.active("served") as served:
        last = publish.last_published(served)
    return publish.decide(ndcg_at_10, last, max_drop)


def publish_step(target: str, warehouse: str, run_id: str, evaluation_json: str, reason: str,
                 lake: str, params_json: str, vars_json: str) -> str:
    """Make the candidate the served build (`publish.publish`), recording the run."""
    places = publish.resolve(target, warehouse)
    evaluation = json.loads(evaluation_json)
    record = publish.new_record(run_id, evaluation, reason, {
        "lake": lake, "params": json.loads(params_json or "{}"),
        "dbt_vars": json.loads(vars_json or "{}"), "results": evaluation.get("results")})
    return publish.publish(places, record)


def keep_step(reason: str) -> str:
    """What a rejected run says: the old tables keep serving, and why."""
    return f"sqlrec pipeline: {reason}"
