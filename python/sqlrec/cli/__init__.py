"""The `sqlrec` command line: thin commands that parse their options, call one library function
and print what it did.

Every command module adds its sub-commands with ``add_<verb>(subparsers)``, which sets ``func``
to ``<verb>_command(args)``; options that several commands take are defined once in `options`.
Heavy imports stay inside the command functions so that ``sqlrec --help`` is instant. Nothing
outside this package imports it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sqlrec.cli import build, data, evaluate, kubeflow, serve, train, trino
from sqlrec.errors import UserError

# in the order `sqlrec --help` lists them
COMMANDS = (data.add_generate, build.add_build, build.add_demo, serve.add_serve, trino.add_trino,
            train.add_train, build.add_refresh, evaluate.add_evaluate, evaluate.add_tune,
            data.add_movielens, kubeflow.add_pipeline, kubeflow.add_katib)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sqlrec",
        description="SQL-first recommender: dbt models, an ALS step and an HTTP lookup service.",
    )
    parser.add_argument("--version", action="version", version=f"sqlrec {_version()}")
    project_help = ("the dbt project to run: sqlrec's, or a project of yours that installs "
                    "it as a package (default: $SQLREC_PROJECT_DIR, else the current folder when "
                    "it is such a project, else sqlrec's own)")
    parser.add_argument("--project-dir", type=Path, help=project_help)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    for command in subparsers.choices.values():  # `sqlrec refresh --project-dir DIR` too
        command.add_argument("--project-dir", type=Path, default=argparse.SUPPRESS,
                             help=project_help)
    return parser


def _version() -> str:
    """The installed distribution's version; the package's own where it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sqlrec")
    except PackageNotFoundError:
        from sqlrec import __version__

        return __version__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.project_dir:  # read by every step through the settings, as SQLREC_PROJECT_DIR
        os.environ["SQLREC_PROJECT_DIR"] = str(args.project_dir.resolve())
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"sqlrec: error: {error}", file=sys.stderr)
        return 2
