"""The search space of the pipeline's parameters, defined once: `sqlrec tune` draws its trials
from it (Optuna) and `sqlrec katib` writes it as the Experiment's parameters and parses the
trial's options with it.

Each dimension is named as the parameters file names it: a dbt var (dbt_project.yml) by the
var's name, an ALS or EASE parameter (`sqlrec.recommend.params`) by its field prefixed with its
model (``als_alpha``: ALS's alpha is no similarity knob). A trial's values are therefore the
parameters file itself (`pipeline_params`), with no table of names between them. Defaults are
never written here: a dbt var's is dbt_project.yml's, a model parameter's its dataclass's.

A dimension with a condition (``when``) is drawn only when another has a given value (rp3beta's
knobs only for rp3beta); Katib, which has no conditions, gets every dimension and the trial
keeps the active ones (`active`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from sqlrec.recommend.params import PipelineParams

SECTIONS = ("dbt_vars", "als", "ease")  # the parameters file's parts a dimension may set


@dataclass(frozen=True)
class Dimension:
    """One dimension: where its value goes, Katib's parameterType and its feasible space."""

    section: str  # one of SECTIONS
    name: str  # the dbt var, or the field of AlsParams / EaseParams
    kind: str  # categorical | discrete | int | double (Katib's parameter types)
    choices: tuple = ()  # categorical, discrete
    low: float | None = None  # int, double
    high: float | None = None
    log: bool = False
    when: tuple[str, Any] | None = None  # (key of another dimension, value): drawn only then
    help: str = ""

    @property
    def key(self) -> str:
        """Its name in Optuna, Katib and on the trial's command line."""
        return self.name if self.section == "dbt_vars" else f"{self.section}_{self.name}"

    def default(self, dbt_defaults: dict[str, Any] | None = None) -> Any:
        """The value the pipeline has when nothing sets it (the search's first trial);
        ``dbt_defaults``: `project.dbt_var_defaults()`, when the caller has read it."""
        from sqlrec import project
        from sqlrec.recommend.params import AlsParams, EaseParams, effective_default

        if self.section == "dbt_vars":
            return (dbt_defaults or project.dbt_var_defaults())[self.name]
        return effective_default({"als": AlsParams, "ease": EaseParams}[self.section], self.name)

    def contains(self, value: Any) -> bool:
        if self.kind in ("categorical", "discrete"):
            return value in self.choices
        if self.kind == "int" and value != int(value):
            return False
        return self.low <= value <= self.high

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.kind in ("categorical", "discrete"):
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high))
        return trial.suggest_float(self.key, self.low, self.high, log=self.log)

    def katib(self) -> dict[str, Any]:
        """The Experiment's parameter (Katib takes every bound and list value as a string)."""
        if self.kind in ("categorical", "discrete"):
            space: dict[str, Any] = {"list": [str(choice) for choice in self.choices]}
        else:
            space = {"min": str(self.low), "max": str(self.high)}
            if self.log:
                space["distribution"] = "logUniform"
        return {"name": self.key, "parameterType": self.kind, "feasibleSpace": space}

    def parse(self, text: str) -> Any:
        """A value as the command line (Katib's substitution) gives it."""
        if self.kind == "categorical":
            if text not in self.choices:
                raise argparse.ArgumentTypeError(f"choose from {', '.join(self.choices)}")
            return text
        number = float(text)
        if self.kind == "discrete":
            match = [choice for choice in self.choices if float(choice) == number]
            if not match:
                raise argparse.ArgumentTypeError(
                    f"choose from {', '.join(map(str, self.choices))}")
            return match[0]
        if self.kind == "int" and number != int(number):
            raise argparse.ArgumentTypeError(f"{text} is not an integer")
        if not self.low <= number <= self.high:
            raise argparse.ArgumentTypeError(f"{text} lies outside [{self.low}, {self.high}]")
        return int(number) if self.kind == "int" else number


def _var(name: str, kind: str, *choices: Any, low=None, high=None, log=False, when=None,
         help: str) -> Dimension:
    return Dimension("dbt_vars", name, kind, tuple(choices), low, high, log, when, help)


WEIGHTS = [0.0, 0.5, 1.0, 2.0]  # 0: the part takes no part in the blend

# A dimension with a condition comes after the one it reads (suggest draws them in this order).
SPACE = (
    _var("similarity", "categorical", "cosine", "rp3beta", "asymmetric_cosine",
         help="the item similarity model"),
    _var("rp3beta_alpha", "double", low=0.2, high=1.0, when=("similarity", "rp3beta"),
         help="rp3beta's alpha"),
    _var("rp3beta_beta", "double", low=0.0, high=0.8, when=("similarity", "rp3beta"),
         help="rp3beta's beta"),
    _var("asymmetric_cosine_alpha", "double", low=0.2, high=0.9,
         when=("similarity", "asymmetric_cosine"), help="asymmetric cosine's alpha"),
    _var("half_life_days", "discrete", 0, 7, 14, 30, 60, 120, 365, help="time decay; 0 = none"),
    _var("max_items_per_user", "discrete", 50, 100, 200, 0, help="items kept per user; 0 = all"),
    _var("min_common_users", "int", low=1, high=3, help="users two items must share"),
    _var("similar_items_k", "discrete", 20, 50, 100, help="neighbours kept per item"),
    Dimension("als", "factors", "discrete", (32, 64, 128), help="ALS factors"),
    Dimension("als", "regularization_per_score", "double", low=2e-5, high=2e-3, log=True,
              help="ALS regularisation per stored score"),
    Dimension("als", "alpha", "double", low=0.3, high=10.0, log=True,
              help="ALS confidence = 1 + alpha * score"),
    Dimension("als", "iterations", "discrete", (10, 15, 20), help="ALS iterations"),
    Dimension("ease", "regularization_factor", "discrete", (0.25, 0.5, 1.0, 2.0, 4.0),
              help="EASE's lambda as a multiple of its default rule"),
    _var("blend_similarity_weight", "discrete", *WEIGHTS,
         help="the blend's weight of item similarity"),
    _var("blend_als_weight", "discrete", *WEIGHTS, help="the blend's weight of ALS"),
    _var("blend_ease_weight", "discrete", *WEIGHTS, help="the blend's weight of EASE"),
)
BY_KEY = {dimension.key: dimension for dimension in SPACE}


def defaults() -> dict[str, Any]:
    """Every dimension's default, by key (the conditional ones included)."""
    from sqlrec import project

    dbt_defaults = project.dbt_var_defaults()
    return {dimension.key: dimension.default(dbt_defaults) for dimension in SPACE}


def active(values: dict[str, Any]) -> dict[str, Any]:
    """The values of the dimensions whose condition holds, the defaults under them."""
    merged = {**defaults(), **values}
    return {dimension.key: merged[dimension.key] for dimension in SPACE
            if dimension.when is None or merged[dimension.when[0]] == dimension.when[1]}


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """One point of the space, each dimension drawn only when its condition holds."""
    values: dict[str, Any] = {}
    for dimension in SPACE:
        if dimension.when is None or values[dimension.when[0]] == dimension.when[1]:
            values[dimension.key] = dimension.suggest(trial)
    return values


def pipeline_params(values: dict[str, Any], seed: int) -> PipelineParams:
    """The parameters file a trial's values stand for: each active dimension's value in its
    section under its name (the defaults for those ``values`` leave out). ALS's and EASE's
    regularisation stay relative to the data (per score, a multiple of EASE's rule), as they
    were searched: each matrix they train on, a fold's or a lake's, resolves them to its size."""
    from sqlrec.recommend.params import AlsParams, EaseParams, PipelineParams

    sections: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for key, value in active(values).items():
        sections[BY_KEY[key].section][BY_KEY[key].name] = value
    return PipelineParams(dbt_vars=sections["dbt_vars"],
                          als=AlsParams(**sections["als"], random_state=seed),
                          ease=EaseParams(**sections["ease"]))
