"""`sqlrec train`: ALS on the user-item scores of the active target; its tables written back."""

from __future__ import annotations

import argparse
import dataclasses

from sqlrec.cli import options


def add_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train ALS on the user-item scores; write als_* tables and a model_runs row",
        description="Read int_user_item_scores from the active dbt target, fit implicit's ALS "
        "(confidence 1 + alpha * score) and write als_user_recommendations, als_similar_items "
        "and a model_runs row. Run `sqlrec build` before (the scores) and after (the blend in "
        "user_recommendations), or `sqlrec refresh` for all three.",
    )
    options.add(parser, *options.TRAINING)
    parser.set_defaults(func=train_command)


def train_command(args: argparse.Namespace) -> int:
    from sqlrec import warehouse
    from sqlrec.recommend.params import provenance
    from sqlrec.recommend.train import train

    params, source = options.training_params(args)
    if params.half_life_days is not None:
        print(f"sqlrec train: note: half_life_days {params.half_life_days:g} from {source} is a "
              "dbt var; it shapes the scores only when dbt builds them with it (`sqlrec refresh` "
              "does; or `sqlrec build --vars '{half_life_days: ...}'`)")
    # The run records the half-life only when it knows the scores were built with it.
    params = dataclasses.replace(params, half_life_days=None)
    result = train(warehouse.connect(), params, device=args.device, k=args.k,
                   show_progress=not args.quiet, num_threads=args.threads,
                   details=provenance(source))
    print(result.summary())
    return 0
