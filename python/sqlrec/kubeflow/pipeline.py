"""The training pipeline: build → train → blend → evaluate → quality gate → publish (or keep
serving), one KFP v2 pipeline function that is compiled for a cluster (`compile_pipeline`) and
run here with ``kfp.local`` (`run_local`), and its recurring run (`schedule`).

Every task mounts the data volume (an existing PersistentVolumeClaim named by the
``data_volume`` parameter, at /data: the lake, the served and the candidate DuckDB files) and
reads the Trino settings and secrets from the ConfigMap and Secret of deploy/k8s (optional, so
a DuckDB run needs neither). The train task asks for one GPU. Locally, none of that applies:
``kfp.local`` ignores volumes, secrets, resources and accelerators (it warns so), and the
parameters name local paths instead.

No task creates the volume (``kfp.kubernetes.CreatePVC``): a volume made per run would start
each refresh without the lake, the served warehouse and the candidate's incremental staging,
and ``kfp.local`` cannot run CreatePVC, which is a container component. So the claim is made
once, beside the pipeline (deploy/kubeflow/data-pvc.yaml), and mounted by name.
"""

# no `from __future__ import annotations` here: KFP reads the pipeline's annotations as types
import json
from pathlib import Path
from typing import Any

from kfp import dsl, kubernetes

from sqlrec.errors import UserError
from sqlrec.kubeflow import components
from sqlrec.kubeflow.publish import DEFAULT_MAX_DROP

PIPELINE_NAME = "sqlrec-refresh"
DATA_MOUNT = "/data"
DATA_VOLUME = "sqlrec-data"  # deploy/kubeflow/data-pvc.yaml
CONFIG_MAP = "sqlrec-config"  # deploy/k8s/configmap.yaml
SECRET = "sqlrec-secrets"  # deploy/k8s/secret.example.yaml
# what the dbt profile's trino target and the Python steps read (profiles/profiles.yml)
CONFIG_KEYS = ("SQLREC_TRINO_HOST", "SQLREC_TRINO_PORT", "SQLREC_TRINO_HTTP_SCHEME",
               "SQLREC_TRINO_AUTH", "SQLREC_TRINO_USER", "SQLREC_TRINO_CATALOG",
               "SQLREC_TRINO_SCHEMA", "SQLREC_TRINO_STAGING_DIR")
SECRET_KEYS = ("DBT_ENV_SECRET_TRINO_JWT", "DBT_ENV_SECRET_TRINO_PASSWORD")
# (cpu request, cpu limit, memory request, memory limit) per task
RESOURCES = {
    "build": ("2", "4", "8G", "16G"),
    "train": ("4", "8", "16G", "32G"),
    "blend": ("2", "4", "8G", "16G"),
    "evaluate": ("2", "4", "8G", "16G"),
    "quality-gate": ("250m", "1", "1G", "2G"),
    "publish": ("500m", "2", "2G", "8G"),
    "keep-serving": ("100m", "500m", "256M", "512M"),
}
GPU = "nvidia.com/gpu"
# the recurring run: KFP's cron has six fields, seconds first (robfig/cron)
EVERY_10_MINUTES = "0 */10 * * * *"


def _on_cluster(task: dsl.PipelineTask, name: str, data_volume: Any) -> dsl.PipelineTask:
    """What a task needs on Kubernetes: the data volume, the Trino settings and secrets, its
    resources; no caching (a refresh must run every time, whatever its inputs)."""
    cpu_request, cpu_limit, memory_request, memory_limit = RESOURCES[name]
    task.set_display_name(name)
    task.set_caching_options(enable_caching=False)
    task.set_cpu_request(cpu_request).set_cpu_limit(cpu_limit)
    task.set_memory_request(memory_request).set_memory_limit(memory_limit)
    kubernetes.mount_pvc(task, pvc_name=data_volume, mount_path=DATA_MOUNT)
    kubernetes.use_config_map_as_env(task, config_map_name=CONFIG_MAP,
                                     config_map_key_to_env={key: key for key in CONFIG_KEYS},
                                     optional=True)
    kubernetes.use_secret_as_env(task, secret_name=SECRET,
                                 secret_key_to_env={key: key for key in SECRET_KEYS},
                                 optional=True)
    return task


@dsl.pipeline(name=PIPELINE_NAME, description=(
    "sqlrec: dbt build of the lake, ALS and EASE, the blend, the offline evaluation, and a "
    "quality gate before the build is published to the service."))
def sqlrec_pipeline(
    lake: str = f"{DATA_MOUNT}/lake",
    target: str = "duckdb",
    warehouse: str = f"{DATA_MOUNT}/sqlrec.duckdb",
    dbt_vars: str = "{}",
    params: str = "{}",
    max_ndcg_drop: float = DEFAULT_MAX_DROP,
    device: str = "auto",
    data_volume: str = DATA_VOLUME,
) -> str:
    """lake: the Parquet lake; target: the dbt target (duckdb or trino); warehouse: the served
    DuckDB file or Trino schema ('' = the profile's); dbt_vars: more dbt vars (JSON); params:
    the parameters file's content (JSON: dbt_vars, als, ease; '{}' = the defaults);
    max_ndcg_drop: how much worse (a share) NDCG@10 may be than the last published run's;
    device: ALS on auto, cpu or gpu; data_volume: the PersistentVolumeClaim mounted at /data.
    Returns the gate's decision in a sentence."""
    built = _on_cluster(components.build(lake=lake, target=target, warehouse=warehouse,
                                         params=params, dbt_vars=dbt_vars), "build", data_volume)
    trained = _on_cluster(components.train(target=target, warehouse=warehouse, params=params,
                                           device=device), "train", data_volume).after(built)
    trained.set_accelerator_type(GPU).set_accelerator_limit(1)
    kubernetes.add_toleration(trained, key=GPU, operator="Exists", effect="NoSchedule")
    blended = _on_cluster(components.blend(lake=lake, target=target, warehouse=warehouse,
                                           params=params, dbt_vars=dbt_vars), "blend",
                          data_volume).after(trained)
    evaluated = _on_cluster(components.evaluate(
        lake=lake, target=target, warehouse=warehouse, params=params, dbt_vars=dbt_vars,
        device="cpu"), "evaluate", data_volume).after(blended)
    gate = _on_cluster(components.quality_gate(
        target=target, warehouse=warehouse, ndcg_at_10=evaluated.outputs["ndcg_at_10"],
        max_ndcg_drop=max_ndcg_drop), "quality-gate", data_volume)
    with dsl.If(gate.outputs["publish"] == True, name="gate-passed"):  # noqa: E712 (KFP's DSL)
        published = _on_cluster(components.publish(
            target=target, warehouse=warehouse, run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            evaluation=evaluated.outputs["evaluation"], reason=gate.outputs["reason"],
            lake=lake, params=params, dbt_vars=dbt_vars), "publish", data_volume)
    with dsl.Else(name="gate-failed"):
        kept = _on_cluster(components.keep_serving(reason=gate.outputs["reason"]),
                           "keep-serving", data_volume)
    return dsl.OneOf(published.output, kept.output)


def compile_pipeline(out: Path, registry: str = "") -> Path:
    """Write the pipeline's KFP IR YAML; ``registry`` (e.g. 'registry.example.com/team') goes in
    front of the images."""
    import yaml
    from kfp import compiler

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(sqlrec_pipeline, str(out))
    if registry:
        documents = list(yaml.safe_load_all(out.read_text()))
        for executor in documents[0]["deploymentSpec"]["executors"].values():
            image = executor["container"]["image"]
            if image in components.IMAGES:
                executor["container"]["image"] = f"{registry.rstrip('/')}/{image}"
        out.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return out


def run_local(lake: Path, *, params: dict[str, Any] | None = None,
              dbt_vars: dict[str, Any] | None = None, max_ndcg_drop: float = DEFAULT_MAX_DROP,
              device: str = "auto", target: str | None = None, warehouse: str = "",
              pipeline_root: Path | None = None) -> str:
    """Run the pipeline here with ``kfp.local``'s SubprocessRunner, in this interpreter's
    environment (no virtual environment, no pip install), on the active dbt target (for DuckDB
    the file of SQLREC_DUCKDB_PATH). Returns the gate's decision; raises when a task fails."""
    import warnings

    from kfp import local

    from sqlrec import project
    from sqlrec.kubeflow import publish

    _import_kfp_local()
    target = target or project.active_target()
    places = publish.resolve(target, warehouse)
    root = Path(pipeline_root) if pipeline_root else project.project_dir() / "local_outputs"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    with warnings.catch_warnings():
        # the images' names lack "python", and the cluster's settings do not apply here: both
        # are expected (docs/kubeflow.md lists what has no effect locally)
        warnings.filterwarnings("ignore", message=".*non-Python base image.*")
        warnings.filterwarnings("ignore", message=".*have no effect in the current local.*")
        try:
            run = sqlrec_pipeline(lake=str(Path(lake).resolve()), target=target,
                                  warehouse=places.served, dbt_vars=json.dumps(dbt_vars or {}),
                                  params=json.dumps(params or {}),
                                  max_ndcg_drop=max_ndcg_drop, device=device)
        except RuntimeError as error:  # kfp.local's word for a failed task; its log is above
            raise UserError(f"{_plain(error)}; the served warehouse {places.served} is "
                            "unchanged") from None
    return run.output


def _import_kfp_local() -> None:
    """Import kfp.local's task dispatcher without this repository's docker/ folder in the way.

    The dispatcher imports the Docker SDK as ``docker`` when it can. Where Python runs from the
    project's root (``python -m``, pytest), the root is on sys.path and docker/ would be taken for
    that package, an empty namespace, and the import would fail with an AttributeError instead of
    finding no SDK (which kfp handles: only the DockerRunner needs it)."""
    import importlib
    import sys

    from sqlrec import project

    root = project.project_dir().resolve()
    shadowing = [entry for entry in sys.path if Path(entry or ".").resolve() == root]
    found = sys.modules.get("docker")
    if found is not None and getattr(found, "__file__", None) is None:
        del sys.modules["docker"]  # the folder, imported as a namespace package
    saved = sys.path[:]
    sys.path[:] = [entry for entry in sys.path if entry not in shadowing]
    try:
        importlib.import_module("kfp.local.task_dispatcher")
    finally:
        sys.path[:] = saved


def _plain(error: Exception) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", str(error))


def schedule(client: Any, package: Path, *, experiment: str = PIPELINE_NAME,
             job_name: str = f"{PIPELINE_NAME}-every-10-minutes",
             cron: str = EVERY_10_MINUTES, params: dict[str, Any] | None = None) -> Any:
    """Create the recurring run of a compiled pipeline on a KFP ``client``: every 10 minutes by
    default, never two at once, no catch-up of missed runs, no caching."""
    found = client.create_experiment(name=experiment)
    return client.create_recurring_run(
        experiment_id=found.experiment_id, job_name=job_name, cron_expression=cron,
        max_concurrency=1, no_catchup=True, enable_caching=False,
        pipeline_package_path=str(package), params=params or {})
