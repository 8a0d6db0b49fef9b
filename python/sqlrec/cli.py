"""The `sqlrec` command line: one sub-command per job, each defined in its own module.

Every command module exposes ``add_command(subparsers)``, which adds its parser and sets
``func`` to the function that runs it. Heavy imports stay inside those functions so that
``sqlrec --help`` is instant.
"""

from __future__ import annotations

import argparse
import sys

from sqlrec import als, evaluate, generate, movielens, pipeline, service, trino_local, tune
from sqlrec.errors import UserError

COMMAND_MODULES = [generate, pipeline, service, trino_local, als, evaluate, tune, movielens]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sqlrec",
        description="SQL-first recommender: dbt models, an ALS step and an HTTP lookup service.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_command(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"sqlrec: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
