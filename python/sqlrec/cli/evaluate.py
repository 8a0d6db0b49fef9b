"""`sqlrec evaluate` (every recommender on one offline protocol) and `sqlrec tune` (Optuna
search for the ALS parameters on a validation split)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sqlrec.cli import options
from sqlrec.evaluation.tune import DEFAULT_SEED, DEFAULT_TRIALS


def add_evaluate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="offline evaluation of popularity, item similarity, ALS and the blend",
        description="Temporal per-user holdout (each user's last 20% of interactions), the "
        "training part built by dbt and trained by `sqlrec train`'s code; NDCG@10, MAP@10, "
        "Recall@20, HitRate@10 and coverage for popularity, item similarity, ALS (defaults and "
        "saved parameters) and the blend. Writes a markdown table, JSON and a PNG chart.",
    )
    options.add(
        parser,
        options.MOVIELENS,
        options.PARAMS.with_help("ALS parameters (default: $SQLREC_ALS_PARAMS or "
                                 "data/als_params.json when it exists, else the defaults)"),
        options.DEVICE, options.VARS)
    parser.add_argument("--reports", type=Path, default=None,
                        help="folder for the report files (default: reports/ in the project)")
    options.add(parser, options.QUIET)
    parser.set_defaults(func=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    from sqlrec import project
    from sqlrec.evaluation.datasets import load_catalogue, load_events
    from sqlrec.evaluation.protocol import evaluate

    extra_vars = options.dbt_vars(args)
    params, source = options.saved_params(args)
    events, dataset = load_events(movielens=args.movielens)
    catalogue = None if args.movielens else load_catalogue()
    reports = args.reports or project.project_dir() / "reports"
    print(f"sqlrec evaluate: {len(events):,} events of {dataset}; ALS parameters from "
          f"{source or 'the defaults'}")
    started = time.perf_counter()
    evaluation = evaluate(events, dataset=dataset, workdir=reports / f"evaluation-{dataset}",
                          catalogue=catalogue, params=params if source else None,
                          params_source=source, device=args.device, extra_vars=extra_vars,
                          quiet=args.quiet)
    paths = evaluation.write(reports)
    print()
    print(evaluation.markdown())
    print(f"sqlrec evaluate: {time.perf_counter() - started:.0f} s; wrote "
          + ", ".join(str(path) for path in paths.values()))
    return 0


def add_tune(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="search ALS parameters with Optuna on a validation split; save the best",
        description="Optuna search over factors, regularisation, alpha, iterations and the "
        "half-life, maximising NDCG@10 on a validation split carved from the evaluation's "
        "training part (never its test part). Saves the best where `sqlrec train` reads them.",
    )
    options.add(parser, options.MOVIELENS)
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS,
                        help="trials (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="sampler seed and ALS random_state (default %(default)s)")
    options.add(parser, options.DEVICE, options.PARAMS.with_help(
        "where to save (default: $SQLREC_ALS_PARAMS or data/als_params.json)"), options.QUIET)
    parser.set_defaults(func=tune_command)


def tune_command(args: argparse.Namespace) -> int:
    from sqlrec.evaluation.datasets import load_events
    from sqlrec.evaluation.tune import save_result, tune

    events, dataset = load_events(movielens=args.movielens)
    started = time.perf_counter()
    result = tune(events, trials=args.trials, seed=args.seed, device=args.device,
                  timeout=args.timeout, show_progress=not args.quiet)
    path = save_result(result, args.params, dataset=dataset, seed=args.seed,
                       seconds=time.perf_counter() - started)
    best = {**result.params.model_params(), "half_life_days": result.params.half_life_days}
    print(f"sqlrec tune: best of {len(result.study.trials)} trials on {dataset}: validation "
          f"NDCG@10 {result.ndcg:.4f}, MAP@10 {result.map:.4f} with {json.dumps(best)}")
    print(f"sqlrec tune: saved to {path}; `sqlrec train` and `sqlrec evaluate` read it")
    return 0
