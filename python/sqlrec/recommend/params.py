"""The parameters of the whole pipeline, in one file that `sqlrec tune` writes and `sqlrec build`,
`sqlrec train` and `sqlrec refresh` all read (``data/params.json`` or $SQLREC_PARAMS):

    {"dbt_vars": {"similarity": "rp3beta", "half_life_days": 30, ...},
     "als": {"factors": 128, "regularization": null, ...},
     "ease": {"regularization": null, "memory_gb": 4.0},
     "tuned": {...what the search found, and on what...}}

dbt vars given on the command line (--vars) win over the file's. The defaults are the ones the
project's evaluation chose on more than one dataset (docs/design.md, section 9).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlrec import project
from sqlrec.errors import UserError

# ALS's regularisation scales with the number of scores: a fixed value that suits MovieLens is
# 5-10x too weak on the marketplace lakes, 2e-4 per score was within 2.5% of the best on both.
REGULARIZATION_PER_SCORE = 2e-4


@dataclass(frozen=True)
class AlsParams:
    """implicit's ALS on the confidence 1 + alpha * w(u,i). regularization None: 2e-4 per score
    (REGULARIZATION_PER_SCORE times the matrix's stored entries)."""

    factors: int = 128
    regularization: float | None = None
    alpha: float = 1.0
    iterations: int = 15
    random_state: int = 42

    def with_overrides(self, **overrides: Any) -> AlsParams:
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def resolved(self, nnz: int) -> AlsParams:
        """These parameters with the regularisation a matrix of ``nnz`` scores gets."""
        if self.regularization is not None:
            return self
        return dataclasses.replace(self, regularization=REGULARIZATION_PER_SCORE * max(nnz, 1))

    def model_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EaseParams:
    """EASE: regularization None is max(100, 5 * mean users per item); memory_gb bounds the
    dense items x items matrices (above it, the most popular items that fit)."""

    regularization: float | None = None
    memory_gb: float = 4.0

    def with_overrides(self, **overrides: Any) -> EaseParams:
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def model_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PipelineParams:
    """Everything a run of the pipeline is parameterised by, besides the lake."""

    dbt_vars: dict[str, Any] = field(default_factory=dict)
    als: AlsParams = AlsParams()
    ease: EaseParams = EaseParams()
    tuned: dict[str, Any] | None = None  # how a search found them; None for the defaults

    def to_json(self) -> str:
        return json.dumps({"dbt_vars": self.dbt_vars, "als": self.als.model_params(),
                           "ease": self.ease.model_params(), "tuned": self.tuned},
                          indent=2, sort_keys=False) + "\n"


def default_params_path() -> Path:
    """$SQLREC_PARAMS, else data/params.json in the project."""
    from sqlrec.config import load_settings

    configured = load_settings().params
    return configured if configured else project.project_dir() / "data" / "params.json"


def _dataclass_from(kind: type, values: Any, path: Path, name: str):
    if values is None:
        return kind()
    if not isinstance(values, dict):
        raise UserError(f"{path}: '{name}' must be an object, got {values!r}")
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{path}: unknown {name} parameter(s) {', '.join(unknown)}; known: "
                        f"{', '.join(sorted(known))}")
    try:
        return kind(**values)
    except TypeError as error:
        raise UserError(f"{path}: {error}") from None


def load_params(path: Path | None = None) -> tuple[PipelineParams, Path | None]:
    """The saved parameters (the defaults when no file exists) and the file they came from."""
    path = Path(path) if path else default_params_path()
    if not path.is_file():
        return PipelineParams(), None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(saved, dict):
        raise UserError(f"{path}: expected an object with dbt_vars, als, ease")
    dbt_vars = saved.get("dbt_vars") or {}
    if not isinstance(dbt_vars, dict):
        raise UserError(f"{path}: 'dbt_vars' must be an object")
    return PipelineParams(dbt_vars=dbt_vars,
                          als=_dataclass_from(AlsParams, saved.get("als"), path, "als"),
                          ease=_dataclass_from(EaseParams, saved.get("ease"), path, "ease"),
                          tuned=saved.get("tuned")), path


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
