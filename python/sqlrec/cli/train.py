"""`sqlrec train`: ALS and EASE on the user-item scores of the active target; their tables
written back."""

from __future__ import annotations

import argparse

from sqlrec.cli import options


def add_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train ALS and EASE on the user-item scores; write their tables and model_runs rows",
        description="Read int_user_item_scores from the active dbt target, fit implicit's ALS "
        "(confidence 1 + alpha * score) and EASE (closed form on the binary matrix), and write "
        "als_user_recommendations, als_similar_items, ease_user_recommendations and a model_runs "
        "row per model. Run `sqlrec build` before (the scores) and after (the blend in "
        "user_recommendations), or `sqlrec refresh` for all three.",
    )
    options.add(parser, *options.TRAINING)
    parser.set_defaults(func=train_command)


def train_command(args: argparse.Namespace) -> int:
    import sys

    from sqlrec import warehouse
    from sqlrec.evaluation.datasets import built_lake
    from sqlrec.recommend.params import lake_mismatch, provenance
    from sqlrec.recommend.train import train_models

    params, source = options.training_params(args)
    store = warehouse.connect()
    lake = built_lake(store) if params.lake else None  # the lake the scores were built from
    warning = lake_mismatch(params, source, lake) if lake else None
    if warning:
        print(f"sqlrec train: {warning}", file=sys.stderr)
    if params.dbt_vars:
        print(f"sqlrec train: note: the dbt vars of {source} shape the scores only when dbt "
              "builds them (`sqlrec build` and `sqlrec refresh` read them)")
    train_models(store, params, options.models(args), device=args.device, k=args.k,
                 show_progress=not args.quiet, num_threads=args.threads,
                 details=provenance(source), echo=print)
    return 0
