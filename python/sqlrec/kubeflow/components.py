"""The pipeline's KFP components: one lightweight Python component per step, each one call into
`sqlrec.kubeflow.steps`, run in the project's images.

Lightweight components because ``kfp.local``'s SubprocessRunner runs only those (container
components need its DockerRunner, and this project's CI has no Docker engine): the same
components run here in this interpreter (``SubprocessRunner(use_venv=False)``) and on a cluster in
the images of docker/ (``base_image``). ``install_kfp_package=False``: the images carry kfp (the
``sqlrec[kubeflow]`` extra), so nothing is pip-installed when a pod starts. KFP ships each
function's source to the pod; that is why every body imports what it uses.
"""

# no `from __future__ import annotations` here: KFP reads the annotations as types
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Metrics, Output

# the images (docker/); `sqlrec pipeline compile --registry` puts a registry in front
PIPELINE_IMAGE = "sqlrec-pipeline:0.1.0"  # docker/pipeline.Dockerfile: dbt and Python steps
TRAINER_IMAGE = "sqlrec-trainer:0.1.0"  # docker/trainer.Dockerfile: CUDA, implicit on the GPU
IMAGES = (PIPELINE_IMAGE, TRAINER_IMAGE)

step = dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)


@step
def build(lake: str, target: str, warehouse: str, params: str, dbt_vars: str) -> str:
    """dbt build of the lake into the candidate warehouse (staging, scores, similarity)."""
    from sqlrec.kubeflow import steps

    summary = steps.build_step(lake, target, warehouse, params, dbt_vars)
    print(summary)
    return summary


@dsl.component(base_image=TRAINER_IMAGE, install_kfp_package=False)
def train(target: str, warehouse: str, params: str, device: str) -> str:
    """ALS (on the GPU when there is one) and EASE on the candidate's scores."""
    import os

    # implicit warns, and runs slower, unless BLAS is single-threaded
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from sqlrec.kubeflow import steps

    return steps.train_step(target, warehouse, params, device)


@step
def blend(lake: str, target: str, warehouse: str, params: str, dbt_vars: str) -> str:
    """dbt build of the blend (user_recommendations) on the new model tables."""
    from sqlrec.kubeflow import steps

    summary = steps.blend_step(lake, target, warehouse, params, dbt_vars)
    print(summary)
    return summary


@step
def evaluate(lake: str, target: str, warehouse: str, params: str, dbt_vars: str, device: str,
             metrics: Output[Metrics]) -> NamedTuple(
                 "Evaluation", [("ndcg_at_10", float), ("map_at_10", float),
                                ("evaluation", str)]):
    """The offline metrics of every recommender; the served list's (the blend's) unprefixed."""
    import collections
    import json

    from sqlrec.kubeflow import steps

    evaluation = steps.evaluate_step(lake, target, warehouse, params, dbt_vars, device)
    for name in ("ndcg_at_10", "map_at_10"):
        metrics.log_metric(name, evaluation[name])
    for recommender, values in evaluation["results"].items():
        for name, value in values.items():
            metrics.log_metric(f"{recommender}_{name}", value)
    metrics.log_metric("scored_users", evaluation["scored_users"])
    print(f"sqlrec pipeline: NDCG@10 {evaluation['ndcg_at_10']:.4f}, MAP@10 "
          f"{evaluation['map_at_10']:.4f} (evaluation run {evaluation['evaluation_run_id']})")
    outputs = collections.namedtuple("Evaluation", ["ndcg_at_10", "map_at_10", "evaluation"])
    return outputs(evaluation["ndcg_at_10"], evaluation["map_at_10"], json.dumps(evaluation))


@step
def quality_gate(target: str, warehouse: str, ndcg_at_10: float, max_ndcg_drop: float
                 ) -> NamedTuple("Decision", [("publish", bool), ("reason", str)]):
    """Publish only when NDCG@10 is at most `max_ndcg_drop` (a share) below the last published."""
    import collections

    from sqlrec.kubeflow import steps

    decision, reason = steps.gate_step(target, warehouse, ndcg_at_10, max_ndcg_drop)
    print(f"sqlrec pipeline: quality gate: {reason}")
    return collections.namedtuple("Decision", ["publish", "reason"])(decision, reason)


@step
def publish(target: str, warehouse: str, run_id: str, evaluation: str, reason: str, lake: str,
            params: str, dbt_vars: str) -> str:
    """Make the candidate the served build: build markers, tables, published_runs."""
    from sqlrec.kubeflow import steps

    summary = steps.publish_step(target, warehouse, run_id, evaluation, reason, lake, params,
                                 dbt_vars)
    print(summary)
    return reason


@step
def keep_serving(reason: str) -> str:
    """A rejected run: the served tables stay as they are; say why."""
    from sqlrec.kubeflow import steps

    print(steps.keep_step(reason))
    return reason
