"""`sqlrec katib experiment` and `sqlrec katib trial`: the Experiment against the v1beta1 shape
and against `sqlrec tune`'s space, and the trial template's command run with values inside
that space, its output read with Katib's default metrics filter."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes.client import ApiClient, V1Job

from sqlrec import cli
from sqlrec.evaluation import space, tune
from sqlrec.evaluation.datasets import load_catalogue, load_events

from helpers import copy_database

# Katib's default StdOut filter (pkg/metricscollector/v1beta1/common: DefaultFilter)
KATIB_FILTER = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
# kubeflow.org/v1beta1 (Katib's API types): what each part of an Experiment may hold
PARAMETER_TYPES = {"int", "double", "categorical", "discrete"}
FEASIBLE_SPACE_FIELDS = {"min", "max", "list", "step", "distribution"}
DISTRIBUTIONS = {"uniform", "logUniform", "normal", "logNormal"}
SPEC_FIELDS = {"objective", "algorithm", "earlyStopping", "parallelTrialCount", "maxTrialCount",
               "maxFailedTrialCount", "metricsCollectorSpec", "parameters", "trialTemplate",
               "resumePolicy", "nasConfig"}
COLLECTORS = {"StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "None",
              "Push"}
TEMPLATE_REFERENCE = re.compile(r"\$\{trialParameters\.([^}]+)\}")


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    out = tmp_path_factory.mktemp("katib") / "experiment.yaml"
    assert cli.main(["katib", "experiment", "--out", str(out), "--gpu"]) == 0
    return yaml.safe_load(out.read_text())


def test_the_experiment_has_the_v1beta1_shape(experiment):
    assert experiment["apiVersion"] == "kubeflow.org/v1beta1"
    assert experiment["kind"] == "Experiment"
    spec = experiment["spec"]
    assert set(spec) <= SPEC_FIELDS
    assert spec["objective"] == {"type": "maximize", "objectiveMetricName": "ndcg_at_10",
                                 "additionalMetricNames": ["map_at_10"]}
    assert spec["metricsCollectorSpec"]["collector"]["kind"] in COLLECTORS
    assert spec["metricsCollectorSpec"]["collector"]["kind"] == "StdOut"
    assert isinstance(spec["algorithm"]["algorithmName"], str)
    assert 1 <= spec["parallelTrialCount"] <= spec["maxTrialCount"]
    for parameter in spec["parameters"]:
        assert set(parameter) == {"name", "parameterType", "feasibleSpace"}
        assert parameter["parameterType"] in PARAMETER_TYPES
        space = parameter["feasibleSpace"]
        assert set(space) <= FEASIBLE_SPACE_FIELDS
        assert space.get("distribution", "uniform") in DISTRIBUTIONS
        # Katib takes every bound and list value as a string
        assert all(isinstance(value, str) for value in space.get("list", []))
        if parameter["parameterType"] in ("int", "double"):
            assert float(space["min"]) < float(space["max"])
        else:
            assert space["list"]


def test_the_trial_template_is_a_job_that_references_every_parameter(experiment):
    template = experiment["spec"]["trialTemplate"]
    names = {parameter["name"] for parameter in experiment["spec"]["parameters"]}
    references = {item["name"]: item["reference"] for item in template["trialParameters"]}
    assert set(references.values()) == names
    job = template["trialSpec"]
    # the Job survives the Kubernetes client's typed model unchanged: no unknown field
    client = ApiClient()
    text = json.dumps(job)
    try:
        typed = client.deserialize(text, "V1Job", "application/json")
    except TypeError:  # kubernetes < 31
        from types import SimpleNamespace
        typed = client.deserialize(SimpleNamespace(data=text), "V1Job")
    assert isinstance(typed, V1Job)
    assert client.sanitize_for_serialization(typed) == job
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["name"] == template["primaryContainerName"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    used = set(TEMPLATE_REFERENCE.findall(" ".join(container["command"])))
    assert used == set(references)
    # `sqlrec katib trial --<param> ${trialParameters.<param>} ...`
    command = container["command"]
    assert command[:3] == ["sqlrec", "katib", "trial"]
    pairs = dict(zip(command[3::2], command[4::2], strict=True))
    assert pairs == {f"--{name}": f"${{trialParameters.{name}}}" for name in references}


class RecordingTrial:
    """A stand-in for optuna's trial that records every suggest_* call of `space.suggest`."""

    def __init__(self, similarity: str):
        self.similarity = similarity
        self.calls: dict[str, tuple] = {}

    def suggest_categorical(self, name, choices):
        self.calls[name] = ("categorical", tuple(choices))
        return self.similarity if name == "similarity" else choices[0]

    def suggest_float(self, name, low, high, log=False):
        self.calls[name] = ("float", low, high, log)
        return low

    def suggest_int(self, name, low, high):
        self.calls[name] = ("int", low, high)
        return low


def suggest_space() -> dict[str, tuple]:
    """The space `sqlrec tune` draws from, each model's own knobs included."""
    calls = {}
    for model in ("cosine", "rp3beta", "asymmetric_cosine"):
        trial = RecordingTrial(model)
        space.suggest(trial)
        calls.update(trial.calls)
    return calls


def as_suggest_call(parameter: dict) -> tuple:
    space = parameter["feasibleSpace"]
    kind = parameter["parameterType"]
    if kind == "double":
        return ("float", float(space["min"]), float(space["max"]),
                space.get("distribution") == "logUniform")
    if kind == "int":
        return ("int", int(space["min"]), int(space["max"]))
    return ("categorical", tuple(space["list"]))


def test_the_search_space_is_the_one_sqlrec_tune_searches(experiment):
    expected = {name: (call[0], tuple(str(choice) for choice in call[1]))
                if call[0] == "categorical" else call for name, call in suggest_space().items()}
    found = {parameter["name"]: as_suggest_call(parameter)
             for parameter in experiment["spec"]["parameters"]}
    assert found == expected


@pytest.fixture(scope="module")
def warehouse(small_lake_build, tmp_path_factory):
    """The small lake built by dbt (a copy of the session's build): the active warehouse the
    trials read."""
    database = copy_database(small_lake_build,
                             tmp_path_factory.mktemp("trial-warehouse") / "sqlrec.duckdb")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    try:
        events, _ = load_events()
        catalogue = load_catalogue()
    finally:
        monkeypatch.undo()
    return database, events, catalogue


def feasible_values(experiment, position: str) -> dict[str, str]:
    """A value of every parameter inside its space: its low end, its high end or the middle."""
    values = {}
    for parameter in experiment["spec"]["parameters"]:
        space = parameter["feasibleSpace"]
        if "list" in space:
            index = {"low": 0, "high": -1, "middle": len(space["list"]) // 2}[position]
            values[parameter["name"]] = space["list"][index]
        else:
            low, high = float(space["min"]), float(space["max"])
            value = {"low": low, "high": high, "middle": (low + high) / 2}[position]
            if parameter["parameterType"] == "int":
                value = round(value)
            values[parameter["name"]] = str(value)
    return values


def expected_metrics(events, catalogue, values: dict[str, str]) -> dict[str, float]:
    """The validation metrics of the same values through `sqlrec tune`'s own functions."""
    numbers = {name: (text if name == "similarity" else float(text))
               for name, text in values.items()}
    model = numbers["similarity"]
    # the other models' knobs are no part of the trial
    chosen = {name: number for name, number in numbers.items()
              if not name.startswith(("rp3beta_", "asymmetric_cosine_"))
              or name.startswith(f"{model}_")}
    for name in ("max_items_per_user", "min_common_users", "similar_items_k", "als_factors",
                 "als_iterations", "half_life_days"):
        chosen[name] = int(chosen[name])
    sold_out = set(catalogue.loc[~catalogue["is_available"].astype(bool), "item_id"])
    scorer = tune.validation_scorer(events, unavailable=sold_out, device="cpu")
    return scorer.score(tune.pipeline_params(chosen, 42))


@pytest.mark.slow
@pytest.mark.parametrize("position", ["low", "high", "middle"])
def test_the_template_command_prints_metrics_katib_reads(experiment, warehouse, position,
                                                         monkeypatch):
    database, events, catalogue = warehouse
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    values = feasible_values(experiment, position)
    [container] = experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"][
        "spec"]["containers"]
    references = {item["name"]: item["reference"]
                  for item in experiment["spec"]["trialTemplate"]["trialParameters"]}
    # Katib's substitution of ${trialParameters.<name>}, then the command as the Job runs it
    command = [TEMPLATE_REFERENCE.sub(lambda match: values[references[match.group(1)]], part)
               for part in container["command"]]
    sqlrec = Path(sys.executable).with_name("sqlrec")
    result = subprocess.run([str(sqlrec), *command[1:], "--device", "cpu"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    found = {match.group(1): float(match.group(2))
             for match in re.finditer(KATIB_FILTER, result.stdout)}
    assert set(found) == {"ndcg_at_10", "map_at_10"}
    expected = expected_metrics(events, catalogue, values)
    assert found["ndcg_at_10"] == pytest.approx(expected["ndcg@10"], abs=1e-6)
    assert found["map_at_10"] == pytest.approx(expected["map@10"], abs=1e-6)
    assert 0 < found["ndcg_at_10"] <= 1


def test_a_value_outside_the_space_is_refused(experiment, capsys):
    values = feasible_values(experiment, "low")
    values["rp3beta_alpha"] = "1.5"  # above rp3beta's 1.0
    arguments = [part for name, value in values.items() for part in (f"--{name}", value)]
    with pytest.raises(SystemExit) as stopped:
        cli.main(["katib", "trial", *arguments])
    assert stopped.value.code == 2
    assert "outside [0.2, 1.0]" in capsys.readouterr().err
