"""Where things live: the dbt project, the default lake, the dbt profile, the active target."""

from __future__ import annotations

import os
from pathlib import Path

from sqlrec.errors import UserError, did_you_mean

PROFILE_NAME = "sqlrec"


def _settings():
    from sqlrec.config import load_settings

    return load_settings()


def project_dir() -> Path:
    """The dbt project (the folder with dbt_project.yml): SQLREC_PROJECT_DIR or this checkout."""
    configured = _settings().project_dir
    path = configured if configured else Path(__file__).resolve().parents[2]
    if not (path / "dbt_project.yml").is_file():
        raise UserError(
            f"no dbt_project.yml in {path}; set SQLREC_PROJECT_DIR to the sqlrec project"
        )
    return path


def default_lake_dir() -> Path:
    """SQLREC_LAKE, else data/lake in the project."""
    configured = _settings().lake
    return configured if configured else project_dir() / "data" / "lake"


def active_target() -> str:
    """The dbt target every command uses: SQLREC_TARGET (default duckdb)."""
    return _settings().target


def lake_vars(lake_dir: Path) -> dict[str, str]:
    """The dbt vars that point the project at a lake laid out as the input contract says."""
    lake_dir = Path(lake_dir).resolve()
    return {
        "events_path": str(lake_dir / "events" / "*" / "*.parquet"),
        "catalog_path": str(lake_dir / "catalog" / "*.parquet"),
    }


def profiles_dir() -> Path:
    """The folder dbt reads profiles.yml from, as dbt itself would choose it.

    DBT_PROFILES_DIR, then a profiles.yml in the project's root, then ~/.dbt, the first that
    defines the sqlrec profile; when none does, the project's own profiles/ folder (the shipped
    profile, every value from env vars). Nothing is copied anywhere: a profiles.yml written into
    the project would shadow the user's ~/.dbt/profiles.yml for every later dbt command.
    """
    candidates = []
    if os.environ.get("DBT_PROFILES_DIR"):
        candidates.append(Path(os.environ["DBT_PROFILES_DIR"]))
    candidates += [project_dir(), Path.home() / ".dbt"]
    for folder in candidates:
        profiles = folder / "profiles.yml"
        if profiles.is_file() and f"{PROFILE_NAME}:" in profiles.read_text():
            return folder
    return project_dir() / "profiles"


def dbt_var_defaults() -> dict:
    """The vars dbt_project.yml declares, with their defaults."""
    import yaml

    return dict(yaml.safe_load((project_dir() / "dbt_project.yml").read_text())["vars"])


def max_id_length() -> int:
    """The most characters an id may have: the var max_id_length that dbt_project.yml declares.
    The build rejects an event with a longer user or item id (id_too_long) and the service
    answers 422 for one, so that every id served can also be looked up."""
    return int(dbt_var_defaults()["max_id_length"])


def undeclared_var(names) -> str | None:
    """The first of ``names`` that dbt_project.yml does not declare, with the closest declared
    name ("top_kk (did you mean top_k?)"), or None: dbt itself would ignore such a typo."""
    declared = list(dbt_var_defaults())
    for name in names:
        if name not in declared:
            return f"{name}{did_you_mean(name, declared)}"
    return None
