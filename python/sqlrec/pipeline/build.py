"""`build`: the dbt project on a lake (dbt's own hooks mark the build started and finished).
`refresh`: the whole personalised job in order: build (the scores), train ALS, build the
models that read the ALS tables (the blend in user_recommendations)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec import project, warehouse
from sqlrec.data.lake import has_event_files
from sqlrec.errors import UserError
from sqlrec.pipeline import summary
from sqlrec.pipeline.dbt import models_built, run_dbt, run_results_since
from sqlrec.warehouse.duckdb import memory_limit_beside_this_process

if TYPE_CHECKING:
    from sqlrec.recommend.params import PipelineParams
    from sqlrec.recommend.train import TrainResult
    from sqlrec.warehouse.markers import RefreshRecord

# the model tables' source and what reads them: the staged view, the blend and their tests
MODEL_TABLE_READERS = "source:trained_lists+"


def build(lake_dir: Path, *, full_refresh: bool = False, extra_vars: dict | None = None,
          select: str | None = None, quiet: bool = False, target: str | None = None,
          store: warehouse.Warehouse | None = None,
          env_overrides: dict[str, str] | None = None,
          data_tests: bool = True) -> frozenset[str]:
    """Run `dbt build` on a lake and return the models it built (`summary.build_lines` says
    what they hold). The project's run hooks write the build markers the service reloads on (a
    finished one only when every node succeeded).

    Raises UserError naming the path when the lake holds no events, and naming the holder when
    another process keeps the warehouse locked. ``target`` is the dbt target (default: the
    active one); ``store`` the warehouse dbt writes (default: the target's); ``env_overrides``
    go to the dbt process alone (see `run_dbt`). ``data_tests=False`` builds the tables
    without running dbt's data and unit tests (a quick build whose checks run elsewhere).
    """
    lake_dir = Path(lake_dir)
    check_var_names(extra_vars or {})
    # a project whose events are a relation of its own (var events_relation) reads no lake
    from_relation = project.events_from_relation(extra_vars)
    if not from_relation and not has_event_files(lake_dir):
        raise UserError(
            f"no event files under {lake_dir / 'events'} (expected "
            f"{lake_dir / 'events' / 'event_date=YYYY-MM-DD' / '*.parquet'}); "
            f"generate demo data with `sqlrec generate --out {lake_dir}`"
        )
    command = ["build"]
    if full_refresh:
        command.append("--full-refresh")
    if select:
        command += ["--select", select]
    if not data_tests:
        command += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    # one line naming the holder, rather than dbt's page of tracebacks, when the file is taken
    (store or warehouse.connect(target)).wait_until_free()
    started = time.time()
    lake_vars = {} if from_relation else project.lake_vars(lake_dir)
    run_dbt(command, dbt_vars={**lake_vars, **(extra_vars or {})},
            target=target, quiet=quiet,
            env_overrides={**memory_limit_beside_this_process(), **(env_overrides or {})})
    results = run_results_since(started)
    # dbt exits 0 when a selection matches nothing ("Nothing to do"): for us that is a mistake
    if select and results == []:
        raise UserError(f"--select {select} matches no dbt node: nothing was built, and "
                        "nothing new is marked finished")
    return models_built(results)


def check_var_names(dbt_vars: dict[str, Any]) -> None:
    """Refuse a var dbt_project.yml does not declare (dbt would ignore a typo such as top_kk and
    build with top_k's default): one line, before dbt starts. validate_vars says the same to a
    plain `dbt build`."""
    if unknown := project.undeclared_var(dbt_vars):
        raise UserError(f"unknown var {unknown}; the vars are listed in dbt_project.yml")


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: the trainings' results, or nothing because nothing had changed."""

    results: list[TrainResult] = field(default_factory=list)
    # the last refresh, when its inputs were these and its tables still stand: nothing was done
    unchanged_since: RefreshRecord | None = None
    files: int = 0  # the lake's events and catalogue files


def refresh(lake_dir: Path, params: PipelineParams, *,
            extra_vars: dict[str, Any] | None = None, models: tuple[str, ...] | None = None,
            device: str = "auto", k: int | None = None, num_threads: int = 0,
            quiet: bool = False, details: dict[str, Any] | None = None,
            echo: Callable[[str], None] | None = None, force: bool = False) -> Refreshed:
    """dbt build (with the parameters' dbt vars under ``extra_vars``), train the models, then dbt
    build of the models that read their tables (the blend). ``echo`` receives each build's and
    each training's summary lines as soon as they are known.

    When the lake's files, the parameters and the project are those of the last finished refresh
    and the warehouse still holds its build, nothing is run and no table or marker changes
    (`sqlrec.pipeline.inputs`); ``force`` refreshes anyway. A finished refresh records its
    inputs' fingerprint for the next one."""
    from sqlrec.pipeline import inputs
    from sqlrec.recommend.train import DEFAULT_K, MODELS, train_models

    dbt_vars = {**params.dbt_vars, **(extra_vars or {})}
    models, k = models or MODELS, DEFAULT_K if k is None else k
    store = warehouse.connect()
    # listed before anything is read: a file added while this refresh runs makes the next full.
    # Events or a catalogue from a relation of the team's own have no files to compare: every
    # such refresh is full.
    from_relations = project.reads_relations(dbt_vars)
    files = [] if project.events_from_relation(dbt_vars) else inputs.lake_files(lake_dir)
    current = inputs.fingerprint(lake_dir, params, dbt_vars=dbt_vars, models=models, k=k,
                                 device=device, files=files)
    if not force and not from_relations and (last := inputs.unchanged_since(store, current)):
        return Refreshed(unchanged_since=last, files=len(files))

    def say(built: frozenset[str]) -> None:  # what each build wrote: --quiet hides dbt's word
        for line in summary.build_lines(store, built) if echo else ():
            echo(f"sqlrec refresh: {line}")

    say(build(lake_dir, extra_vars=dbt_vars, quiet=quiet, store=store))
    results = train_models(store, params, models, device=device, k=k,
                           show_progress=not quiet, num_threads=num_threads,
                           details={**(details or {}), "dbt_vars": dbt_vars}, echo=echo)
    say(build(lake_dir, extra_vars=dbt_vars, select=MODEL_TABLE_READERS, quiet=quiet,
              store=store))
    inputs.record_refresh(store, current, lake_dir, len(files))
    return Refreshed(results=results, files=len(files))
