"""The parameters of the whole pipeline, in one file that `sqlrec tune` writes and `sqlrec build`,
`sqlrec train` and `sqlrec refresh` all read (``data/params.json`` or $SQLREC_PARAMS):

    {"dbt_vars": {"similarity": "rp3beta", "half_life_days": 30, ...},
     "als": {"factors": 128, "regularization": null, "regularization_per_score": 2e-4, ...},
     "ease": {"regularization": null, "regularization_factor": 1.0, "memory_gb": 4.0},
     "tuned": {...what the search found...},
     "lake": {"path": "/data/lake", "events": 120000, "users": 3000, "items": 800}}

The regularisation tune writes is relative to the data (per score, a multiple of EASE's rule),
so that it suits a lake of another size; "lake" is the lake it was tuned on, and a refresh or a
training on another says so (`lake_mismatch`). The lake itself is never a parameter: --lake
chooses it (a file's events_path is refused).

dbt vars given on the command line (--vars) win over the file's. The defaults are the ones the
project's evaluation chose on more than one dataset (docs/design.md, section 9).
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from sqlrec import project
from sqlrec.errors import UserError, did_you_mean

# ALS's regularisation scales with the number of scores: a fixed value that suits MovieLens is
# 5-10x too weak on the marketplace lakes, 2e-4 per score was within 2.5% of the best on both.
REGULARIZATION_PER_SCORE = 2e-4
# EASE's λ is this multiple of its default rule, max(100, 5 * mean users per item), unless set
REGULARIZATION_FACTOR = 1.0

# strict: a file's "5" or true is not the integer 5 (as validate_vars refuses true for a number);
# NaN and infinities are no parameters either
_STRICT = ConfigDict(strict=True, allow_inf_nan=False)


class InvalidParameter(UserError):
    """A parameter's value outside what it allows. The message names it by its field; `named`
    says the same under another label (the file's key, the command-line option)."""

    def __init__(self, name: str, value: Any, allowed: str):
        self.name, self.value, self.allowed = name, value, allowed
        super().__init__(self.named(name))

    def named(self, label: str) -> str:
        return f"{label} is {_shown(self.value)}; it must be {self.allowed}"


def _shown(value: Any) -> str:
    """A value as JSON spells it (as validate_vars shows a var), else as Python does."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _rule(default: Any, allowed: str, kind: Any, unset: Any = None) -> Any:
    """A checked field: its default, what it allows in words, and in pydantic's terms;
    ``unset``: the value a default of None stands for (`effective_default`)."""
    return field(default=default,
                 metadata={"allowed": allowed, "adapter": TypeAdapter(kind, config=_STRICT),
                           "unset": unset})


def effective_default(kind: type, name: str) -> Any:
    """The value a field of a parameters dataclass has when nothing sets it: its default, or
    what its None stands for (the search starts from it: `sqlrec.evaluation.space`)."""
    [each] = [each for each in dataclasses.fields(kind) if each.name == name]
    return each.default if each.default is not None else each.metadata["unset"]


def _check_fields(params: Any) -> None:
    """Each field against its rule; a number given as an integer is stored as a float."""
    for each in dataclasses.fields(params):
        value = getattr(params, each.name)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = int(value)  # numpy's integers (a search's values) are integers too
        try:
            checked = each.metadata["adapter"].validate_python(value)
        except ValidationError:
            raise InvalidParameter(each.name, value, each.metadata["allowed"]) from None
        object.__setattr__(params, each.name, checked)


PositiveInt = Annotated[int, Field(ge=1)]
PositiveNumber = Annotated[float, Field(gt=0)]


class _ModelParams:
    """What the parameters of each model share: every field checked when they are made (the
    file, the options, a replace), command-line overrides, the dict model_runs records."""

    def __post_init__(self) -> None:
        _check_fields(self)

    def with_overrides(self, **overrides: Any) -> Self:
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def model_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AlsParams(_ModelParams):
    """implicit's ALS on the confidence 1 + alpha * w(u,i). regularization None:
    regularization_per_score (None: REGULARIZATION_PER_SCORE) times the matrix's stored
    entries; an absolute regularization (--regularization) wins over the per-score one. Every
    field is checked when the parameters are made (the file, the options, a replace):
    iterations -1 would publish an untrained model, factors 0 lists of score 0, alpha < 0
    negative confidences."""

    factors: int = _rule(128, "an integer >= 1", PositiveInt)
    regularization: float | None = _rule(None, "null (2e-4 per score) or a number > 0",
                                         PositiveNumber | None)
    regularization_per_score: float | None = _rule(None, "null (2e-4) or a number > 0",
                                                   PositiveNumber | None,
                                                   unset=REGULARIZATION_PER_SCORE)
    alpha: float = _rule(1.0, "a number > 0", PositiveNumber)
    iterations: int = _rule(15, "an integer >= 1", PositiveInt)
    # numpy's seeds are 32-bit
    random_state: int = _rule(42, f"an integer from 0 to {2**32 - 1}",
                              Annotated[int, Field(ge=0, lt=2**32)])

    def resolved(self, nnz: int) -> AlsParams:
        """These parameters with the regularisation a matrix of ``nnz`` scores gets."""
        if self.regularization is not None:
            return self
        per_score = self.regularization_per_score or REGULARIZATION_PER_SCORE
        return dataclasses.replace(self, regularization=per_score * max(nnz, 1))


@dataclass(frozen=True)
class EaseParams(_ModelParams):
    """EASE: regularization None is regularization_factor (None: 1) times the default rule,
    max(100, 5 * mean users per item); memory_gb bounds the dense items x items matrices (above
    it, the most popular items that fit)."""

    regularization: float | None = _rule(None, "null (the default rule) or a number > 0",
                                         PositiveNumber | None)
    regularization_factor: float | None = _rule(None, "null (1) or a number > 0",
                                                PositiveNumber | None,
                                                unset=REGULARIZATION_FACTOR)
    memory_gb: float = _rule(4.0, "a number > 0", PositiveNumber)


@dataclass(frozen=True)
class PipelineParams:
    """Everything a run of the pipeline is parameterised by, besides the lake."""

    dbt_vars: dict[str, Any] = field(default_factory=dict)
    als: AlsParams = AlsParams()
    ease: EaseParams = EaseParams()
    tuned: dict[str, Any] | None = None  # how a search found them; None for the defaults
    lake: dict[str, Any] | None = None  # the lake they were tuned on: path, events, users, items

    def to_json(self) -> str:
        return json.dumps({"dbt_vars": self.dbt_vars, "als": self.als.model_params(),
                           "ease": self.ease.model_params(), "tuned": self.tuned,
                           "lake": self.lake}, indent=2, sort_keys=False) + "\n"


# the dbt vars that --lake sets (project.lake_vars), never a parameter
LAKE_VARS = ("events_path", "catalog_path")
# the file's top-level keys
FILE_KEYS = tuple(each.name for each in dataclasses.fields(PipelineParams))


def default_params_path() -> Path:
    """$SQLREC_PARAMS, else data/params.json in the project."""
    from sqlrec.config import load_settings

    configured = load_settings().params
    return configured if configured else project.project_dir() / "data" / "params.json"


def _dataclass_from(kind: type, values: Any, path: Path, name: str):
    if values is None:
        return kind()
    if not isinstance(values, dict):
        raise UserError(f"{path}: '{name}' must be an object, got {_shown(values)}")
    known = [each.name for each in dataclasses.fields(kind)]
    for key in values:
        if key not in known:
            raise UserError(f"{path}: unknown key {name}.{key}{did_you_mean(key, known)}")
    try:
        return kind(**values)
    except InvalidParameter as error:
        raise UserError(f"{path}: {error.named(f'{name}.{error.name}')}") from None


def load_params(path: Path | None = None) -> tuple[PipelineParams, Path | None]:
    """The saved parameters (the defaults when no file exists) and the file they came from.
    Every key is checked: an unknown one (a typo) is an error naming the closest known key, a
    value of the wrong type or range one naming what the key allows."""
    path = Path(path) if path else default_params_path()
    if not path.is_file():
        return PipelineParams(), None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(saved, dict):
        raise UserError(f"{path}: expected an object with dbt_vars, als, ease")
    for key in saved:
        if key not in FILE_KEYS:
            raise UserError(f"{path}: unknown key {key}{did_you_mean(key, list(FILE_KEYS))}")
    dbt_vars = saved.get("dbt_vars") or {}
    if not isinstance(dbt_vars, dict):
        raise UserError(f"{path}: 'dbt_vars' must be an object")
    for name in dbt_vars:
        if name in LAKE_VARS:
            # a file tuned on one lake would otherwise build that lake's events under --lake
            raise UserError(f"{path}: dbt_vars.{name} names a lake, which --lake (or "
                            "SQLREC_LAKE) chooses; remove it from the file")
    # their values are checked by dbt itself (macros/run/validate_vars.sql), before anything is
    # built; a name it does not declare would be ignored there
    if unknown := project.undeclared_var(dbt_vars):
        raise UserError(f"{path}: unknown dbt var dbt_vars.{unknown}")
    for key in ("tuned", "lake"):
        if saved.get(key) is not None and not isinstance(saved[key], dict):
            raise UserError(f"{path}: '{key}' must be an object or null, got {_shown(saved[key])}")
    return PipelineParams(dbt_vars=dbt_vars,
                          als=_dataclass_from(AlsParams, saved.get("als"), path, "als"),
                          ease=_dataclass_from(EaseParams, saved.get("ease"), path, "ease"),
                          tuned=saved.get("tuned"), lake=saved.get("lake")), path


def _same_place(recorded: str, lake: str) -> bool:
    if "://" in recorded or "://" in lake:  # object storage: the text is the place
        return recorded.rstrip("/") == lake.rstrip("/")
    return Path(recorded).resolve() == Path(lake).resolve()


def lake_mismatch(params: PipelineParams, source: Path | None, lake: Path | str) -> str | None:
    """A one-line warning when the parameters were tuned on another lake than ``lake`` (its
    regularisation is relative to the data, but factors, the similarity knobs and the blend
    suit the lake they were searched on); None when they were not tuned or on this lake."""
    recorded = (params.lake or {}).get("path")
    if not recorded or _same_place(str(recorded), str(lake)):
        return None
    sizes = ", ".join(f"{params.lake[key]:,} {key}" for key in ("events", "users", "items")
                      if isinstance(params.lake.get(key), int))
    return (f"warning: {source} was tuned on {recorded}" + (f" ({sizes})" if sizes else "")
            + f", not on {lake}; its parameters may not suit it (`sqlrec tune` on it writes its "
            "own)")


def save_params(params: PipelineParams, path: Path | None = None) -> Path:
    """Write the parameters where build, train and refresh read them."""
    path = Path(path) if path else default_params_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(params.to_json())
    return path


def provenance(source: Path | None) -> dict[str, str | None]:
    """Where the parameters came from, as a training run records it (in its params JSON)."""
    return {"params_file": str(source) if source else None}


def for_display(values: dict[str, Any]) -> str:
    """Parameters as JSON for a person to read: floats to 6 significant digits (2e-4 x 629,398
    scores is 125.87960000000001 in float arithmetic; 125.8796 is what was meant). What is
    stored (model_runs, the parameters file) keeps the exact values."""
    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, dict):
            return {key: rounded(item) for key, item in value.items()}
        return value

    return json.dumps(rounded(values))
