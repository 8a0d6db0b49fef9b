"""`sqlrec evaluate` (every recommender on one offline protocol) and `sqlrec tune` (Optuna
search for the ALS parameters on a validation split)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlrec.cli import options
from sqlrec.evaluation.tune import DEFAULT_SEED, DEFAULT_TRIALS


def add_evaluate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="offline evaluation of popularity, item similarity, ALS, EASE and the blend",
        description="Temporal per-user holdout (each user's last 20% of interactions), the "
        "training part built by dbt and trained by `sqlrec train`'s code, with the saved "
        "parameters. The holdout and every recommender's lists go into the warehouse, where the "
        "dbt model evaluation_metrics computes NDCG@10, MAP@10, Recall@20, HitRate@10, coverage, "
        "mean popularity and category diversity, appended per run; the report (markdown, JSON, "
        "PNG charts of the run and of the history) reads that table.",
    )
    options.add(
        parser,
        options.MOVIELENS,
        options.PARAMS.with_help("the parameters file (default: $SQLREC_PARAMS or "
                                 "data/params.json when it exists, else the defaults)"),
        options.DEVICE, options.VARS)
    parser.add_argument("--reports", type=Path, default=None,
                        help="folder for the report files (default: reports/ in the project)")
    parser.add_argument("--keep-workdir", type=Path, default=None, metavar="FOLDER",
                        help="keep the training part's lake and DuckDB file in FOLDER (default: "
                        "a temporary folder, removed)")
    options.add(parser, options.QUIET)
    parser.set_defaults(func=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    from sqlrec import project, warehouse
    from sqlrec.evaluation.datasets import load_catalogue, load_events
    from sqlrec.evaluation.protocol import evaluate, write_to_warehouse
    from sqlrec.evaluation.report import Report
    from sqlrec.pipeline.dbt import run_dbt

    extra_vars = options.dbt_vars(args)
    params, source = options.saved_params(args)
    events, dataset = load_events(movielens=args.movielens)
    catalogue = None if args.movielens else load_catalogue()
    reports = args.reports or project.project_dir() / "reports"
    print(f"sqlrec evaluate: {len(events):,} events of {dataset}; parameters from "
          f"{source or 'the defaults'}")
    started = time.perf_counter()
    evaluation = evaluate(events, dataset=dataset, params=params, catalogue=catalogue,
                          params_source=source, device=args.device, extra_vars=extra_vars,
                          quiet=args.quiet, workdir=args.keep_workdir)
    store = warehouse.connect()
    run_id = write_to_warehouse(evaluation, store)
    run_dbt(["build", "--select", "tag:evaluation"], quiet=args.quiet)
    report = Report.from_warehouse(store, run_id, evaluation.details)
    paths = report.write(reports)
    print()
    print(report.markdown())
    print(f"sqlrec evaluate: {time.perf_counter() - started:.0f} s; run {run_id} appended to "
          "evaluation_metrics; wrote " + ", ".join(str(path) for path in paths.values()))
    return 0


def add_tune(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="search the whole pipeline's parameters on a validation split; save the best",
        description="Optuna search over the similarity model and its knobs, the half-life, the "
        "cap, min_common_users, ALS, EASE's lambda and the blend's weights, maximising NDCG@10 "
        "of the served list on a validation split carved from the evaluation's training part "
        "(never its test part). Saves one parameters file that `sqlrec build`, `sqlrec train` "
        "and `sqlrec refresh` read: `sqlrec tune && sqlrec refresh` serves the tuned lists.",
    )
    options.add(parser, options.MOVIELENS)
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS,
                        help="trials (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="stop starting trials after this many seconds")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="sampler seed and ALS random_state (default %(default)s)")
    options.add(parser, options.DEVICE, options.PARAMS.with_help(
        "where to save (default: $SQLREC_PARAMS or data/params.json; with --movielens "
        "data/params-movielens-100k.json, so that a lake's file is never overwritten)"),
        options.QUIET)
    parser.set_defaults(func=tune_command)


def tune_command(args: argparse.Namespace) -> int:
    from sqlrec import project
    from sqlrec.evaluation.datasets import built_lake, load_events, sold_out_items
    from sqlrec.evaluation.tune import lake_record, tune, tuned_params
    from sqlrec.recommend.params import for_display, save_params

    events, dataset = load_events(movielens=args.movielens)
    sold_out = sold_out_items(movielens=args.movielens)
    started = time.perf_counter()
    result = tune(events, trials=args.trials, seed=args.seed, device=args.device,
                  timeout=args.timeout, show_progress=not args.quiet, unavailable=sold_out,
                  echo=print)
    # what refresh and train compare their lake with (a warning when it is another)
    lake = lake_record(events, dataset if args.movielens else built_lake())
    params = tuned_params(result, dataset=dataset, seed=args.seed,
                          seconds=time.perf_counter() - started, lake=lake)
    path = args.params or (project.project_dir() / "data" / "params-movielens-100k.json"
                           if args.movielens else None)
    path = save_params(params, path)
    parts = ", ".join(f"{part} {value:.4f}" for part, value in result.parts.items())
    dropped = (f"; weight 0 (no help on validation): {', '.join(result.dropped)}"
               if result.dropped else "")
    print(f"sqlrec tune: best of {result.completed_trials} trials on {dataset}: validation "
          f"NDCG@10 {result.ndcg:.4f} (MAP@10 {result.map:.4f}); each part alone: {parts}"
          f"{dropped}")
    print(f"sqlrec tune: saved to {path}: {for_display(params.dbt_vars)}")
    print("sqlrec tune: `sqlrec refresh` now builds, trains and serves with them")
    return 0
