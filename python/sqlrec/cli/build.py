"""`sqlrec build` (dbt on a lake), `sqlrec refresh` (build, train, build the blend) and
`sqlrec demo` (the whole job on demo data)."""

from __future__ import annotations

import argparse
import time

from sqlrec.cli import options


def add_build(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="run `dbt build` (models and tests) on a lake",
        description="Run `dbt build` on the lake: staging, intermediate models, marts and tests.",
    )
    options.add(parser, options.LAKE)
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    options.add(parser, options.VARS, options.PARAMS.with_help(
        "the parameters file whose dbt vars the build uses under --vars (default: "
        "$SQLREC_PARAMS or data/params.json, when it exists)"))
    parser.add_argument("--select", help="dbt node selection, e.g. +item_similarity")
    options.add(parser, options.QUIET)
    parser.set_defaults(func=build_command)


def build_command(args: argparse.Namespace) -> int:
    import sys

    from sqlrec import warehouse
    from sqlrec.pipeline.build import build
    from sqlrec.pipeline.summary import build_lines
    from sqlrec.recommend.params import lake_mismatch

    lake, extra_vars = options.lake(args), options.dbt_vars(args)
    params, source = options.saved_params(args)
    warning = lake_mismatch(params, source, lake)  # its dbt vars were tuned there too
    if warning:
        print(f"sqlrec build: {warning}", file=sys.stderr)
    started = time.perf_counter()
    built = build(lake, full_refresh=args.full_refresh,
                  extra_vars={**params.dbt_vars, **extra_vars}, select=args.select,
                  quiet=args.quiet)
    for line in build_lines(warehouse.connect(), built):  # --quiet too: dbt's output is hidden
        print(f"sqlrec build: {line}")
    print(f"sqlrec build: built {options.events_input(lake, extra_vars)} in "
          f"{time.perf_counter() - started:.1f} s; the build is "
          "marked finished, and a running `sqlrec serve` loads it")
    return 0


def add_refresh(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "refresh",
        help="dbt build, sqlrec train, dbt build: the scores, the factors, then the blend",
        description="The whole personalised pipeline in order: `dbt build` (with the dbt vars "
        "of the parameters file), `sqlrec train` (ALS and EASE), then `dbt build` of the models "
        "that read their tables (the blend in user_recommendations). Safe to start from cron: "
        "while one refresh of a target runs, another exits at once with code 3, naming the "
        "running one's PID (the lock file lies beside the DuckDB file). When no events or "
        "catalogue file changed (path, size, mtime) since the last finished refresh, with the "
        "same parameters and project, it does nothing and says so (--force: refresh anyway).",
    )
    options.add(parser, options.LAKE, options.VARS, *options.TRAINING)
    parser.add_argument("--force", action="store_true",
                        help="refresh even when nothing changed since the last refresh")
    parser.set_defaults(func=refresh_command)


def refresh_command(args: argparse.Namespace) -> int:
    import sys

    from sqlrec import project
    from sqlrec.pipeline import lock
    from sqlrec.pipeline.build import refresh
    from sqlrec.recommend.params import lake_mismatch, provenance

    lake, extra_vars = options.lake(args), options.dbt_vars(args)
    params, source = options.training_params(args)
    warning = lake_mismatch(params, source, lake)
    if warning:
        print(f"sqlrec refresh: {warning}", file=sys.stderr)
    started = time.perf_counter()
    try:
        with lock.exclusive(lock.lock_path_for(project.active_target())):
            refreshed = refresh(lake, params, extra_vars=extra_vars,
                                models=options.models(args), device=args.device, k=args.k,
                                num_threads=args.threads, quiet=args.quiet, echo=print,
                                details=provenance(source), force=args.force)
    except lock.AlreadyRunning as error:
        print(f"sqlrec refresh: {error}", file=sys.stderr)
        return lock.ALREADY_RUNNING_EXIT
    if last := refreshed.unchanged_since:
        print(f"sqlrec refresh: nothing changed since the refresh of "
              f"{last.refreshed_at:%Y-%m-%d %H:%M:%S} UTC (lake {lake}, {refreshed.files} files); "
              f"no model work done ({time.perf_counter() - started:.1f} s; --force to refresh "
              "anyway)")
        return 0
    used = f"the parameters of {source}" if source else "the default parameters"
    print(f"sqlrec refresh: built, trained and blended {options.events_input(lake, extra_vars)} in "
          f"{time.perf_counter() - started:.1f} s with {used}")
    return 0


def add_demo(subparsers: argparse._SubParsersAction) -> None:
    from sqlrec.pipeline.demo import DEMO_SIZE

    parser = subparsers.add_parser(
        "demo",
        help="the main job on demo data: generate (if needed), build, train, show results",
        description="Generate a demo lake unless one exists, run the dbt project on DuckDB, "
        "train ALS, build the blend and print a sample of 'viewed together' and 'for you'.",
    )
    options.add(parser, options.LAKE)
    parser.add_argument("--events", type=int, default=DEMO_SIZE["events"],
                        help="events to generate when the lake is empty (default %(default)s)")
    options.add(parser, options.QUIET)
    parser.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from sqlrec.pipeline import demo

    demo.demo(options.lake(args), events=args.events, quiet=args.quiet, echo=print)
    for title, sample in demo.samples():
        print(f"\n== {title} ==")
        print(sample.to_string(index=False))
    print()
    print(demo.next_steps(options.lake(args)))
    return 0
