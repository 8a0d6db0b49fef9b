"""`sqlrec pipeline compile`: the KFP IR YAML, read the way the KFP backend reads it: the task
graph and its gate, the images and commands, the train task's GPU and resources, and the
Kubernetes platform spec (volume, secrets, settings, toleration)."""

from __future__ import annotations

import pytest
import yaml

from sqlrec import cli

STEPS = ["build", "train", "blend", "evaluate", "quality-gate"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("compiled") / "sqlrec-refresh.yaml"
    assert cli.main(["pipeline", "compile", "--out", str(out)]) == 0
    spec, platform = yaml.safe_load_all(out.read_text())
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def executor(spec: dict, task: dict) -> dict:
    component = spec["components"][task["componentRef"]["name"]]
    return spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]


def all_tasks(spec: dict) -> dict[str, dict]:
    """Every task of the pipeline, at any depth of condition groups, by display name."""
    found = {}

    def walk(tasks: dict) -> None:
        for task in tasks.values():
            found[task["taskInfo"]["name"]] = task
            component = spec["components"][task["componentRef"]["name"]]
            if "dag" in component:
                walk(component["dag"]["tasks"])

    walk(spec["root"]["dag"]["tasks"])
    return found


def test_the_steps_run_in_order_then_the_gate_chooses_publish_or_keep(compiled):
    spec, _ = compiled
    root = spec["root"]["dag"]["tasks"]
    for before, after in zip(STEPS, STEPS[1:], strict=False):
        assert root[after]["dependentTasks"] == [before], after
    tasks = all_tasks(spec)
    passed, failed = tasks["gate-passed"], tasks["gate-failed"]
    condition = "inputs.parameter_values['pipelinechannel--quality-gate-publish'] == true"
    assert passed["triggerPolicy"]["condition"] == condition
    assert failed["triggerPolicy"]["condition"] == f"!({condition})"
    assert {"publish", "keep-serving"} <= set(tasks)
    # publish gets the gate's reason and the evaluation; the gate gets the evaluation's NDCG@10
    gate_inputs = root["quality-gate"]["inputs"]["parameters"]
    assert gate_inputs["ndcg_at_10"]["taskOutputParameter"] == {
        "producerTask": "evaluate", "outputParameterKey": "ndcg_at_10"}
    assert gate_inputs["max_ndcg_drop"] == {"componentInputParameter": "max_ndcg_drop"}


def test_the_pipeline_parameters_and_the_gate_default(compiled):
    spec, _ = compiled
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert set(parameters) == {"lake", "target", "warehouse", "dbt_vars", "params",
                               "max_ndcg_drop", "device", "data_volume"}
    assert parameters["max_ndcg_drop"]["defaultValue"] == 0.05
    assert parameters["target"]["defaultValue"] == "duckdb"
    assert parameters["lake"]["defaultValue"] == "/data/lake"
    assert parameters["warehouse"]["defaultValue"] == "/data/sqlrec.duckdb"


def test_components_run_the_project_images_and_install_nothing(compiled):
    spec, _ = compiled
    tasks = all_tasks(spec)
    for name in [*STEPS, "publish", "keep-serving"]:
        container = executor(spec, tasks[name])
        assert container["image"] == ("sqlrec-trainer:0.1.0" if name == "train"
                                      else "sqlrec-pipeline:0.1.0"), name
        command = " ".join(container["command"])
        assert "pip install" not in command and "pip" not in container["command"][0]
        assert "kfp.dsl.executor_main" in command
        assert "from sqlrec.kubeflow import steps" in command
        assert tasks[name].get("cachingOptions", {}).get("enableCache") is not True


def test_the_train_task_asks_for_one_gpu_and_its_resources(compiled):
    spec, executors = compiled
    resources = executor(spec, all_tasks(spec)["train"])["resources"]
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "1"
    assert (resources["resourceCpuRequest"], resources["resourceCpuLimit"]) == ("4", "8")
    assert (resources["resourceMemoryRequest"], resources["resourceMemoryLimit"]) == (
        "16G", "32G")
    assert executors["exec-train"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    # no other task asks for a GPU
    for name, task in all_tasks(spec).items():
        component = spec["components"][task["componentRef"]["name"]]
        if name != "train" and "executorLabel" in component:
            assert "accelerator" not in executor(spec, task).get("resources", {}), name


def test_every_task_mounts_the_data_volume_and_reads_the_trino_settings_and_secrets(compiled):
    spec, executors = compiled
    labels = {spec["components"][task["componentRef"]["name"]]["executorLabel"]
              for task in all_tasks(spec).values()
              if "executorLabel" in spec["components"][task["componentRef"]["name"]]}
    assert labels == set(executors)
    for label in labels:
        platform = executors[label]
        [mount] = platform["pvcMount"]
        assert mount["mountPath"] == "/data"
        # the pipeline's parameter (inside the gate's branches, as KFP passes it down)
        assert mount["pvcNameParameter"]["componentInputParameter"] in (
            "data_volume", "pipelinechannel--data_volume")
        [secret] = platform["secretAsEnv"]
        assert secret["secretName"] == "sqlrec-secrets" and secret["optional"] is True
        assert {item["secretKey"]: item["envVar"] for item in secret["keyToEnv"]} == {
            "DBT_ENV_SECRET_TRINO_JWT": "DBT_ENV_SECRET_TRINO_JWT",
            "DBT_ENV_SECRET_TRINO_PASSWORD": "DBT_ENV_SECRET_TRINO_PASSWORD"}
        [config] = platform["configMapAsEnv"]
        assert config["configMapName"] == "sqlrec-config" and config["optional"] is True
        keys = {item["configMapKey"] for item in config["keyToEnv"]}
        assert {"SQLREC_TRINO_HOST", "SQLREC_TRINO_SCHEMA", "SQLREC_TRINO_AUTH"} <= keys


def test_the_secret_and_settings_are_those_the_service_deployment_uses(compiled):
    from pathlib import Path

    deploy = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
    configmap = yaml.safe_load((deploy / "configmap.yaml").read_text())
    secret = yaml.safe_load((deploy / "secret.example.yaml").read_text())
    _, executors = compiled
    platform = executors["exec-build"]
    assert platform["configMapAsEnv"][0]["configMapName"] == configmap["metadata"]["name"]
    assert platform["secretAsEnv"][0]["secretName"] == secret["metadata"]["name"]
    # every key the tasks read from them exists there (the Trino part of the ConfigMap)
    read = {item["configMapKey"] for item in platform["configMapAsEnv"][0]["keyToEnv"]}
    assert read - set(configmap["data"]) == {"SQLREC_TRINO_STAGING_DIR"}  # optional, unset
    assert {item["secretKey"] for item in platform["secretAsEnv"][0]["keyToEnv"]} <= set(
        secret["stringData"])


def test_a_registry_goes_in_front_of_both_images(tmp_path):
    out = tmp_path / "p.yaml"
    assert cli.main(["pipeline", "compile", "--out", str(out), "--registry",
                     "registry.example.com/ml/"]) == 0
    spec = next(yaml.safe_load_all(out.read_text()))
    images = {executor["container"]["image"]
              for executor in spec["deploymentSpec"]["executors"].values()}
    assert images == {"registry.example.com/ml/sqlrec-pipeline:0.1.0",
                      "registry.example.com/ml/sqlrec-trainer:0.1.0"}
