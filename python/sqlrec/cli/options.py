"""The options more than one command takes, each defined once, and how their values are read.

A command adds them with ``add(parser, LAKE, VARS, QUIET)``; ``LAKE.with_help(...)`` changes
only the help text where a command means something more specific.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError
from sqlrec.recommend.als import DEVICES
from sqlrec.recommend.train import DEFAULT_K

if TYPE_CHECKING:
    from sqlrec.recommend.params import PipelineParams


@dataclass(frozen=True)
class Option:
    """One command-line option: its flags and `add_argument`'s keywords."""

    flags: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def with_help(self, text: str) -> Option:
        return dataclasses.replace(self, settings={**self.settings, "help": text})


def option(*flags: str, **settings: Any) -> Option:
    return Option(flags, settings)


def add(parser: argparse.ArgumentParser, *options: Option) -> None:
    for each in options:
        parser.add_argument(*each.flags, **each.settings)


LAKE = option("--lake", type=Path, default=None,
              help="the Parquet lake (default: env SQLREC_LAKE or data/lake in the project)")
VARS = option("--vars", default="{}", help="more dbt vars, as JSON or YAML text")
DEVICE = option("--device", choices=DEVICES, default="auto",
                help="auto: the GPU when implicit.gpu.HAS_CUDA, else the CPU")
PARAMS = option("--params", type=Path, default=None,
                help="parameters file: dbt vars, ALS and EASE (default: $SQLREC_PARAMS or "
                "data/params.json, written by `sqlrec tune`)")
QUIET = option("--quiet", action="store_true",
               help="no progress bars and no dbt output (shown only when dbt fails); the "
               "summary of what was done still prints")
MOVIELENS = option("--movielens", action="store_true",
                   help="use MovieLens-100k (from the recbole wheel) instead of the events of "
                   "the active warehouse")

# what `sqlrec train` and `sqlrec refresh` take on top of the parameters file
MODEL = option("--model", choices=("als", "ease", "all"), default="all",
               help="which models to train (default: all, ALS then EASE)")
FACTORS = option("--factors", type=int, help="ALS factors")
REGULARIZATION = option("--regularization", type=float,
                        help="ALS regularisation (default: 2e-4 per score)")
EASE_LAMBDA = option("--ease-lambda", type=float,
                     help="EASE's λ (default: max(100, 5 x mean users per item))")
EASE_MEMORY_GB = option("--ease-memory-gb", type=float,
                        help="memory for EASE's items x items matrices (default 4)")
ALPHA = option("--alpha", type=float, help="confidence = 1 + alpha * score")
ITERATIONS = option("--iterations", type=int)
RANDOM_STATE = option("--random-state", type=int)
K = option("--k", type=int, default=DEFAULT_K,
           help="recommendations per user and similar items per item (default %(default)s)")
THREADS = option("--threads", type=int, default=0,
                 help="CPU threads for implicit (0 = every core)")
TRAINING = (MODEL, DEVICE, PARAMS, FACTORS, REGULARIZATION, ALPHA, ITERATIONS, RANDOM_STATE,
            EASE_LAMBDA, EASE_MEMORY_GB, K, THREADS, QUIET)


def lake(args: argparse.Namespace) -> Path:
    """--lake, else SQLREC_LAKE, else data/lake in the project."""
    from sqlrec import project

    return args.lake or project.default_lake_dir()


def events_input(lake: Path, extra_vars: dict[str, Any]) -> str:
    """What a build reads, for its summary line: the lake, or the relation the project's var
    events_relation names in its place."""
    from sqlrec import project

    relation = project.input_relations(extra_vars).get("events_relation")
    return f"the events of {relation}" if relation else str(lake)


def dbt_vars(args: argparse.Namespace) -> dict[str, Any]:
    """--vars as a mapping (JSON is YAML too); UserError for anything else."""
    import yaml

    try:
        extra_vars = yaml.safe_load(args.vars) or {}
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        raise UserError(f"--vars is not valid YAML or JSON{at}: {args.vars!r}") from None
    if not isinstance(extra_vars, dict):
        raise UserError(f"--vars must be a mapping, got {args.vars!r}")
    return extra_vars


def saved_params(args: argparse.Namespace) -> tuple[PipelineParams, Path | None]:
    """The parameters of --params (an error when that file is missing), else the default
    file's, else the defaults; and the file they came from."""
    from sqlrec.recommend.params import load_params

    params, source = load_params(args.params)
    if args.params and source is None:
        raise UserError(f"no parameters file at {args.params}")
    return params, source


# the TRAINING options that override a field of the parameters: (section, field) -> flag
OVERRIDES = {("als", "factors"): FACTORS, ("als", "regularization"): REGULARIZATION,
             ("als", "alpha"): ALPHA, ("als", "iterations"): ITERATIONS,
             ("als", "random_state"): RANDOM_STATE, ("ease", "regularization"): EASE_LAMBDA,
             ("ease", "memory_gb"): EASE_MEMORY_GB}


def training_params(args: argparse.Namespace) -> tuple[PipelineParams, Path | None]:
    """The saved parameters with the TRAINING options given on the command line on top,
    checked by the rules the file is checked by (an error names the option)."""
    import dataclasses

    from sqlrec.recommend.params import InvalidParameter

    params, source = saved_params(args)
    given = {(section, name): getattr(args, flag.flags[0].lstrip("-").replace("-", "_"))
             for (section, name), flag in OVERRIDES.items()}
    for section in ("als", "ease"):
        overrides = {name: value for (part, name), value in given.items() if part == section}
        try:
            params = dataclasses.replace(
                params, **{section: getattr(params, section).with_overrides(**overrides)})
        except InvalidParameter as error:
            raise UserError(error.named(OVERRIDES[section, error.name].flags[0])) from None
    return params, source


def models(args: argparse.Namespace) -> tuple[str, ...]:
    """--model as the models to train, in order."""
    from sqlrec.recommend.train import MODELS

    return MODELS if args.model == "all" else (args.model,)
