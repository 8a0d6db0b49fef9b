"""The ALS parameters, and the file `sqlrec tune` writes them to and `sqlrec train` reads them
from (``data/als_params.json`` or $SQLREC_ALS_PARAMS)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlrec import project
from sqlrec.errors import UserError


@dataclass(frozen=True)
class AlsParams:
    """The ALS hyperparameters, plus the dbt var that shapes the scores it trains on.

    The defaults are the "untuned" model: implicit's own defaults except ``alpha``, which here
    scales w(u,i) into the confidence 1 + alpha · w. ``half_life_days`` is a dbt var: it shapes
    the scores when dbt builds them, which is why `sqlrec refresh` (dbt build → train → dbt
    build) passes it to dbt.
    """

    factors: int = 100
    regularization: float = 0.01
    alpha: float = 1.0
    iterations: int = 15
    random_state: int = 42
    # None: whatever the dbt project's half_life_days var is when the scores are built.
    half_life_days: float | None = None

    def with_overrides(self, **overrides: Any) -> AlsParams:
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def model_params(self) -> dict[str, Any]:
        return {"factors": self.factors, "regularization": self.regularization,
                "alpha": self.alpha, "iterations": self.iterations,
                "random_state": self.random_state}


def default_params_path() -> Path:
    """Where `sqlrec tune` saves and `sqlrec train` reads parameters: $SQLREC_ALS_PARAMS or
    data/als_params.json in the project."""
    from sqlrec.config import load_settings

    configured = load_settings().als_params
    return configured if configured else project.project_dir() / "data" / "als_params.json"


def load_params(path: Path | None = None) -> tuple[AlsParams, Path | None]:
    """The saved parameters (the defaults when no file exists) and the file they came from."""
    path = Path(path) if path else default_params_path()
    if not path.is_file():
        return AlsParams(), None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from error
    known = {f.name for f in dataclasses.fields(AlsParams)}
    values = {key: saved[key] for key in known if saved.get(key) is not None}
    try:
        params = AlsParams(**values)
    except TypeError as error:
        raise UserError(f"{path}: {error}") from error
    return params, path


def save_params(params: AlsParams, path: Path | None = None, **details: Any) -> Path:
    """Write parameters (and how they were found) where `sqlrec train` picks them up."""
    path = Path(path) if path else default_params_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**dataclasses.asdict(params), **details}, indent=2) + "\n")
    return path


def provenance(source: Path | None) -> dict[str, str | None]:
    """Where the parameters came from, as a training run records it (in its params JSON)."""
    return {"params_file": str(source) if source else None}
