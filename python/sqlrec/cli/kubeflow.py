"""`sqlrec pipeline compile|run|schedule` (the Kubeflow pipeline) and `sqlrec katib
experiment|trial` (Katib's search over the pipeline's parameters).

The pipeline commands need the ``sqlrec[kubeflow]`` extra (kfp, kfp-kubernetes); the Katib
commands need nothing beyond sqlrec.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlrec.cli import options
from sqlrec.errors import UserError
from sqlrec.kubeflow.publish import DEFAULT_MAX_DROP

KFP_HINT = "the Kubeflow commands need the kubeflow extra: pip install -e '.[kubeflow]'"


def _kfp_pipeline():
    try:
        from sqlrec.kubeflow import pipeline
    except ImportError as error:
        raise UserError(f"{KFP_HINT} ({error})") from None
    return pipeline


def add_pipeline(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="the Kubeflow pipeline: compile it, run it here with kfp.local, schedule it",
        description="One KFP v2 pipeline: build -> train -> blend -> evaluate -> quality gate "
        "-> publish. A run builds into a candidate warehouse beside the served one and "
        "publishes it only when its NDCG@10 is not worse than the last published run's by "
        "more than --max-ndcg-drop.")
    actions = parser.add_subparsers(dest="pipeline_action", required=True, metavar="ACTION")

    compile_ = actions.add_parser("compile", help="write the pipeline's KFP IR YAML",
                                  description="Write the pipeline's KFP IR YAML, to upload "
                                  "to Kubeflow Pipelines.")
    compile_.add_argument("--out", type=Path, required=True, help="the YAML file to write")
    compile_.add_argument("--registry", default="",
                          help="registry in front of the images, e.g. registry.example.com/ml")
    compile_.set_defaults(func=pipeline_compile_command)

    run = actions.add_parser(
        "run", help="run the pipeline here with kfp.local (--local)",
        description="Run the same pipeline with kfp.local's SubprocessRunner in this "
        "environment: real dbt builds, training and tables in the active target (for DuckDB "
        "the file of SQLREC_DUCKDB_PATH). Volumes, secrets, resources and accelerators have no "
        "effect locally. Exits 0 whether or not the gate published the run; says which.")
    run.add_argument("--local", action="store_true", required=True,
                     help="run with kfp.local (the only way this command runs)")
    options.add(run, options.LAKE, options.VARS, options.DEVICE, options.PARAMS.with_help(
        "the parameters file (default: $SQLREC_PARAMS or data/params.json when it exists, "
        "else the defaults)"))
    run.add_argument("--max-ndcg-drop", type=float, default=DEFAULT_MAX_DROP,
                     help="publish only when NDCG@10 is at most this share below the last "
                     "published run's (default %(default)s)")
    run.add_argument("--pipeline-root", type=Path, default=None,
                     help="kfp.local's outputs (default: local_outputs/ in the project)")
    options.add(run, options.QUIET.with_help(
        "the run's output (kfp.local's log and every task's lines) goes to a file under logs/ "
        "in the project; one line says how the run ended and where that file is"))
    run.set_defaults(func=pipeline_run_command)

    schedule = actions.add_parser(
        "schedule", help="create the recurring run on a Kubeflow Pipelines host",
        description="Create a recurring run of a compiled pipeline: every 10 minutes "
        "(KFP's six-field cron, seconds first), at most one at a time, no catch-up, no caching.")
    schedule.add_argument("--host", required=True, help="the KFP API, e.g. "
                          "https://kubeflow.example.com/pipeline")
    schedule.add_argument("--package", type=Path, required=True,
                          help="the YAML of `sqlrec pipeline compile`")
    schedule.add_argument("--namespace", default=None, help="the profile namespace (multi-user)")
    schedule.add_argument("--cron", default=None, help="cron expression (default: every 10 "
                          "minutes, '0 */10 * * * *')")
    schedule.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                          help="a pipeline parameter, e.g. lake=/data/lake (repeatable)")
    schedule.set_defaults(func=pipeline_schedule_command)


def pipeline_compile_command(args: argparse.Namespace) -> int:
    out = _kfp_pipeline().compile_pipeline(args.out, registry=args.registry)
    print(f"sqlrec pipeline: wrote {out}; upload it with `kfp pipeline create -p sqlrec-refresh "
          f"{out}` or the Kubeflow Pipelines UI")
    return 0


def pipeline_run_command(args: argparse.Namespace) -> int:
    pipeline = _kfp_pipeline()
    params, source = options.saved_params(args)
    started = time.perf_counter()
    log = _new_log() if args.quiet else None
    with _output_to(log) if log else contextlib.nullcontext():
        try:
            decision = pipeline.run_local(
                options.lake(args), params=json.loads(params.to_json()),
                dbt_vars=options.dbt_vars(args), max_ndcg_drop=args.max_ndcg_drop,
                device=args.device, pipeline_root=args.pipeline_root)
        except UserError as error:
            failure = error
        else:
            failure = None
    where = f"; its log: {log}" if log else ""
    if failure is not None:
        raise UserError(f"{failure}{where}") from None
    print(f"sqlrec pipeline: local run finished in {time.perf_counter() - started:.0f} s "
          f"(parameters from {source or 'the defaults'}); {decision}{where}")
    return 0


def _new_log() -> Path:
    """A fresh file for a quiet run's output, beside dbt's own log (logs/ in the project)."""
    import datetime as dt

    from sqlrec import project

    return project.project_dir() / "logs" / \
        f"pipeline-run-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S-%f}.log"


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send stdout and stderr to a file for the block, both Python's streams (kfp.local binds its
    log handler to sys.stdout) and file descriptors 1 and 2 (its tasks' child processes write
    to those)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(path, "a", buffering=1) as log, contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                log.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


def pipeline_schedule_command(args: argparse.Namespace) -> int:
    pipeline = _kfp_pipeline()
    from kfp import Client

    params = {}
    for item in args.param:
        name, equals, value = item.partition("=")
        if not equals:
            raise UserError(f"--param takes NAME=VALUE, got {item!r}")
        params[name] = value
    client = Client(host=args.host, namespace=args.namespace)
    recurring = pipeline.schedule(client, args.package, params=params,
                                  cron=args.cron or pipeline.EVERY_10_MINUTES)
    print(f"sqlrec pipeline: recurring run {recurring.recurring_run_id} created "
          f"({args.cron or pipeline.EVERY_10_MINUTES})")
    return 0


def add_katib(subparsers: argparse._SubParsersAction) -> None:
    from sqlrec.kubeflow import katib

    parser = subparsers.add_parser(
        "katib", help="Katib: the Experiment that searches the pipeline's parameters; a trial",
        description="A kubeflow.org/v1beta1 Experiment maximising the served list's NDCG@10 "
        "(MAP@10 beside it) on the validation windows, over the space `sqlrec tune` searches; "
        "each trial is a Job running `sqlrec katib trial`.")
    actions = parser.add_subparsers(dest="katib_action", required=True, metavar="ACTION")
    experiment = actions.add_parser("experiment", help="write the Experiment YAML")
    experiment.add_argument("--out", type=Path, required=True, help="the YAML file to write")
    experiment.add_argument("--name", default=katib.EXPERIMENT_NAME)
    experiment.add_argument("--namespace", default="kubeflow")
    experiment.add_argument("--image", default=katib.TRAINER_IMAGE,
                            help="the trials' image (default %(default)s)")
    experiment.add_argument("--max-trials", type=int, default=60)
    experiment.add_argument("--parallel-trials", type=int, default=3)
    experiment.add_argument("--gpu", action="store_true", help="give each trial one GPU")
    options.add(experiment, options.MOVIELENS.with_help(
        "trials score on MovieLens-100k instead of the warehouse's events"))
    experiment.set_defaults(func=katib_experiment_command)

    trial = actions.add_parser(
        "trial", help="score one parameter set on the validation windows; print name=value lines",
        description="Score one parameter set (the names of `sqlrec tune`'s space) on the "
        "validation windows of the active warehouse's events, and print ndcg_at_10=<v> and "
        "map_at_10=<v>, the lines Katib's StdOut metrics collector reads.")
    katib.add_parameter_options(trial)
    options.add(trial, options.MOVIELENS, options.DEVICE.with_help(
        "ALS on auto (the GPU when implicit has CUDA), cpu or gpu"))
    trial.add_argument("--seed", type=int, default=42, help="ALS random_state")
    trial.set_defaults(func=katib_trial_command)


def katib_experiment_command(args: argparse.Namespace) -> int:
    from sqlrec.kubeflow import katib

    out = katib.write_experiment(
        args.out, name=args.name, namespace=args.namespace, image=args.image,
        max_trials=args.max_trials, parallel_trials=args.parallel_trials, gpu=args.gpu,
        movielens=args.movielens)
    print(f"sqlrec katib: wrote {out}; `kubectl apply -f {out}` starts the search")
    return 0


def katib_trial_command(args: argparse.Namespace) -> int:
    from sqlrec.kubeflow import katib

    metrics = katib.run_trial(katib.values_from(args), movielens=args.movielens,
                              device=args.device, seed=args.seed)
    print(katib.metric_lines(metrics))
    return 0
