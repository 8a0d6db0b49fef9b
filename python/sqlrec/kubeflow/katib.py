"""Katib's search over the pipeline's parameters: the ``kubeflow.org/v1beta1`` Experiment and the
trial it runs.

The space is `sqlrec tune`'s, read from the one module that defines it
(`sqlrec.evaluation.space`): its dimensions are the Experiment's parameters, named as the
parameters file names them. Katib has no conditional parameters, so the similarity model's
knobs that `sqlrec tune` draws only for one model (``rp3beta_alpha``, ``rp3beta_beta``,
``asymmetric_cosine_alpha``) are drawn for every trial, which uses those of its model and
ignores the others. A trial is a batch/v1 Job running
``sqlrec katib trial --<name> ${trialParameters.<name>} ...``, which scores the parameters on the
validation windows `sqlrec tune` scores on (`sqlrec.evaluation.tune.validation_scorer`: the
evaluation's training part held out once more, and the window before that; the test part is
never seen) and prints ``ndcg_at_10=<v>`` and
``map_at_10=<v>``, which Katib's StdOut metrics collector reads with its default filter.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlrec.evaluation import space
from sqlrec.evaluation.space import SPACE

EXPERIMENT_NAME = "sqlrec-tune"
TRAINER_IMAGE = "sqlrec-trainer:0.1.0"
OBJECTIVE, ADDITIONAL = "ndcg_at_10", "map_at_10"
CONTAINER = "training-container"
DATA_VOLUME, DATA_MOUNT = "sqlrec-data", "/data"  # as the pipeline mounts it


def add_parameter_options(parser: argparse.ArgumentParser) -> None:
    """One required option per dimension of the space: --<key> (as the trial template writes
    it) and its hyphenated spelling."""
    for dimension in SPACE:
        spellings = [f"--{dimension.key}"]
        if "_" in dimension.key:
            spellings.append(f"--{dimension.key.replace('_', '-')}")
        parser.add_argument(*spellings, dest=dimension.key, required=True,
                            type=dimension.parse, help=dimension.help)


def values_from(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options as a trial's values: those of the active dimensions (Katib draws a
    model's knobs for every trial; the other models' are ignored, as `sqlrec tune` never draws
    them)."""
    return space.active({dimension.key: getattr(args, dimension.key) for dimension in SPACE})


def run_trial(values: dict[str, Any], *, movielens: bool = False, device: str = "auto",
              seed: int = 42) -> dict[str, float]:
    """The validation metrics of one parameter set (by the space's keys)."""
    from sqlrec.evaluation.datasets import load_events, sold_out_items
    from sqlrec.evaluation.tune import validation_scorer
    from sqlrec.recommend import als

    events, _ = load_events(movielens=movielens)
    # the sold-out items and the regularisation rules as `sqlrec tune` has them
    scorer = validation_scorer(events, unavailable=sold_out_items(movielens=movielens),
                               device=als.resolve_device(device))
    return scorer.score(scorer.params(values, seed))


def metric_lines(metrics: dict[str, float]) -> str:
    """The lines Katib's StdOut collector reads: name=value, nothing else on them."""
    return "\n".join(f"{name}={metrics[key]:.6f}" for name, key in
                     ((OBJECTIVE, "ndcg@10"), (ADDITIONAL, "map@10")))


def trial_command(movielens: bool = False) -> list[str]:
    command = ["sqlrec", "katib", "trial"]
    for dimension in SPACE:
        command += [f"--{dimension.key}", f"${{trialParameters.{dimension.key}}}"]
    return command + (["--movielens"] if movielens else [])


def experiment(*, name: str = EXPERIMENT_NAME, namespace: str = "kubeflow",
               image: str = TRAINER_IMAGE, max_trials: int = 60, parallel_trials: int = 3,
               gpu: bool = False, movielens: bool = False) -> dict[str, Any]:
    """The Experiment, as a mapping ready for YAML."""
    resources: dict[str, Any] = {"requests": {"cpu": "2", "memory": "8Gi"},
                                 "limits": {"cpu": "4", "memory": "16Gi"}}
    if gpu:
        resources["limits"]["nvidia.com/gpu"] = "1"
    container = {
        "name": CONTAINER, "image": image, "command": trial_command(movielens),
        "env": [{"name": "SQLREC_DUCKDB_PATH", "value": f"{DATA_MOUNT}/sqlrec.duckdb"},
                {"name": "OPENBLAS_NUM_THREADS", "value": "1"}],
        # the target and Trino's settings and secrets, as the service's pods read them
        "envFrom": [{"configMapRef": {"name": "sqlrec-config", "optional": True}},
                    {"secretRef": {"name": "sqlrec-secrets", "optional": True}}],
        "resources": resources,
        "volumeMounts": [{"name": "data", "mountPath": DATA_MOUNT, "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "spec": {"backoffLimit": 0, "template": {
            # Katib injects its metrics collector beside the trial's container
            "metadata": {"annotations": {"sidecar.istio.io/inject": "false"}},
            "spec": {"restartPolicy": "Never", "containers": [container],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {
                         "claimName": DATA_VOLUME, "readOnly": True}}]}}},
    }
    return {
        "apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "objective": {"type": "maximize", "objectiveMetricName": OBJECTIVE,
                          "additionalMetricNames": [ADDITIONAL]},
            "algorithm": {"algorithmName": "tpe"},
            "parallelTrialCount": parallel_trials,
            "maxTrialCount": max_trials,
            "maxFailedTrialCount": max(3, max_trials // 10),
            "metricsCollectorSpec": {"collector": {"kind": "StdOut"}},
            "parameters": [dimension.katib() for dimension in SPACE],
            "trialTemplate": {
                "primaryContainerName": CONTAINER,
                "trialParameters": [{"name": dimension.key, "description": dimension.help,
                                     "reference": dimension.key} for dimension in SPACE],
                "trialSpec": job,
            },
        },
    }


def write_experiment(out: Path, **settings: Any) -> Path:
    import yaml

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Written by `sqlrec katib experiment`; `kubectl apply -f` it.\n"
                   + yaml.safe_dump(experiment(**settings), sort_keys=False))
    return out
