"""Katib's search over the pipeline's parameters: the ``kubeflow.org/v1beta1`` Experiment and the
trial it runs.

The space is `sqlrec tune`'s (`sqlrec.evaluation.tune.suggest`), parameter for parameter. Katib
has no conditional parameters, so the similarity model's knobs that `suggest` draws only for
one model are parameters of their own here (``rp3beta_alpha``, ``rp3beta_beta``,
``asymmetric_cosine_alpha``), each with the range `suggest` gives it; a trial uses those of its
model and ignores the others. A trial is a batch/v1 Job running
``sqlrec katib trial --<name> ${trialParameters.<name>} ...``, which scores the parameters on the
validation windows `sqlrec tune` scores on (`sqlrec.evaluation.tune.validation_scorer`: the
evaluation's training part held out once more, and the window before that; the test part is
never seen) and prints ``ndcg_at_10=<v>`` and
``map_at_10=<v>``, which Katib's StdOut metrics collector reads with its default filter.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXPERIMENT_NAME = "sqlrec-tune"
TRAINER_IMAGE = "sqlrec-trainer:0.1.0"
OBJECTIVE, ADDITIONAL = "ndcg_at_10", "map_at_10"
CONTAINER = "training-container"
DATA_VOLUME, DATA_MOUNT = "sqlrec-data", "/data"  # as the pipeline mounts it


@dataclass(frozen=True)
class Parameter:
    """One dimension of the search: a Katib parameterType and its feasible space."""

    name: str
    kind: str  # categorical | discrete | int | double
    choices: tuple = ()  # categorical, discrete
    low: float | None = None  # int, double
    high: float | None = None
    log: bool = False
    help: str = ""

    def katib(self) -> dict[str, Any]:
        if self.kind in ("categorical", "discrete"):
            space: dict[str, Any] = {"list": [str(choice) for choice in self.choices]}
        else:
            space = {"min": str(self.low), "max": str(self.high)}
            if self.log:
                space["distribution"] = "logUniform"
        return {"name": self.name, "parameterType": self.kind, "feasibleSpace": space}

    def parse(self, text: str) -> Any:
        """A value as the command line (Katib's substitution) gives it."""
        if self.kind == "categorical":
            if text not in self.choices:
                raise argparse.ArgumentTypeError(f"choose from {', '.join(self.choices)}")
            return text
        number = float(text)
        if self.kind == "discrete":
            match = [choice for choice in self.choices if float(choice) == number]
            if not match:
                raise argparse.ArgumentTypeError(
                    f"choose from {', '.join(map(str, self.choices))}")
            return match[0]
        if self.kind == "int" and number != int(number):
            raise argparse.ArgumentTypeError(f"{text} is not an integer")
        if not self.low <= number <= self.high:
            raise argparse.ArgumentTypeError(f"{text} lies outside [{self.low}, {self.high}]")
        return int(number) if self.kind == "int" else number


def _discrete(name: str, choices: list, help: str) -> Parameter:
    return Parameter(name, "discrete", tuple(choices), help=help)


# `sqlrec.evaluation.tune.suggest`, dimension by dimension (a test reads suggest() to check it)
SPACE = (
    Parameter("similarity", "categorical", ("cosine", "rp3beta", "asymmetric_cosine"),
              help="the item similarity model"),
    Parameter("rp3beta_alpha", "double", low=0.2, high=1.0, help="rp3beta's alpha"),
    Parameter("rp3beta_beta", "double", low=0.0, high=0.8, help="rp3beta's beta"),
    Parameter("asymmetric_cosine_alpha", "double", low=0.2, high=0.9,
              help="asymmetric cosine's alpha"),
    _discrete("half_life_days", [0, 7, 14, 30, 60, 120, 365], "time decay; 0 = none"),
    _discrete("max_items_per_user", [50, 100, 200, 0], "items kept per user; 0 = all"),
    Parameter("min_common_users", "int", low=1, high=3, help="users two items must share"),
    _discrete("similar_items_k", [20, 50, 100], "neighbours kept per item"),
    _discrete("factors", [32, 64, 128], "ALS factors"),
    Parameter("regularization_per_score", "double", low=2e-5, high=2e-3, log=True,
              help="ALS regularisation per stored score"),
    Parameter("als_alpha", "double", low=0.3, high=10.0, log=True,
              help="ALS confidence = 1 + alpha * score"),
    _discrete("iterations", [10, 15, 20], "ALS iterations"),
    _discrete("ease_lambda_factor", [0.25, 0.5, 1.0, 2.0, 4.0],
              "EASE's lambda as a multiple of its default rule"),
    *(_discrete(f"weight_{part}", [0.0, 0.5, 1.0, 2.0], f"the blend's weight of {part}")
      for part in ("item_similarity", "als", "ease")),
)
MODEL_KNOBS = {"rp3beta": {"alpha": "rp3beta_alpha", "beta": "rp3beta_beta"},
               "asymmetric_cosine": {"alpha": "asymmetric_cosine_alpha"}}


def add_parameter_options(parser: argparse.ArgumentParser) -> None:
    """One required option per dimension: --<name> (as the trial template writes it) and its
    hyphenated spelling."""
    for parameter in SPACE:
        spellings = [f"--{parameter.name}"]
        if "_" in parameter.name:
            spellings.append(f"--{parameter.name.replace('_', '-')}")
        parser.add_argument(*spellings, dest=parameter.name, required=True,
                            type=parameter.parse, help=parameter.help)


def values_from(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options as `suggest`'s values (the names of tune.DEFAULT_VALUES)."""
    from sqlrec.evaluation.tune import DEFAULT_VALUES

    chosen = {parameter.name: getattr(args, parameter.name) for parameter in SPACE}
    values = {name: chosen[name] for name in DEFAULT_VALUES if name in chosen}
    # what suggest() gives the knobs a model does not draw
    values.update(alpha=DEFAULT_VALUES["alpha"], beta=DEFAULT_VALUES["beta"])
    for knob, name in MODEL_KNOBS.get(chosen["similarity"], {}).items():
        values[knob] = chosen[name]
    return values


def run_trial(values: dict[str, Any], *, movielens: bool = False, device: str = "auto",
              seed: int = 42) -> dict[str, float]:
    """The validation metrics of one parameter set (`suggest`'s names)."""
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
    for parameter in SPACE:
        command += [f"--{parameter.name}", f"${{trialParameters.{parameter.name}}}"]
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
            "parameters": [parameter.katib() for parameter in SPACE],
            "trialTemplate": {
                "primaryContainerName": CONTAINER,
                "trialParameters": [{"name": parameter.name, "description": parameter.help,
                                     "reference": parameter.name} for parameter in SPACE],
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
