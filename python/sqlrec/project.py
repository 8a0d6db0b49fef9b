"""Where things live: the dbt project, the default lake, the dbt profile, the active target."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PROFILE_NAME = "sqlrec"


def project_dir() -> Path:
    """The dbt project (the folder with dbt_project.yml): SQLREC_PROJECT_DIR or this checkout."""
    configured = os.environ.get("SQLREC_PROJECT_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2]
    if not (path / "dbt_project.yml").is_file():
        from sqlrec.errors import UserError

        raise UserError(
            f"no dbt_project.yml in {path}; set SQLREC_PROJECT_DIR to the sqlrec project"
        )
    return path


def default_lake_dir() -> Path:
    return Path(os.environ.get("SQLREC_LAKE", project_dir() / "data" / "lake"))


def active_target() -> str:
    return os.environ.get("SQLREC_TARGET", "duckdb")


def duckdb_path() -> Path:
    """The DuckDB file of the duckdb target, resolved as dbt does (relative to the project)."""
    path = Path(os.environ.get("SQLREC_DUCKDB_PATH", "data/sqlrec.duckdb"))
    return path if path.is_absolute() else project_dir() / path


def lake_vars(lake_dir: Path) -> dict[str, str]:
    """The dbt vars that point the project at a lake laid out as the input contract says."""
    lake_dir = Path(lake_dir).resolve()
    return {
        "events_path": str(lake_dir / "events" / "*" / "*.parquet"),
        "catalog_path": str(lake_dir / "catalog" / "*.parquet"),
    }


def profiles_dir() -> Path:
    """The folder dbt reads profiles.yml from, as dbt itself would choose it.

    DBT_PROFILES_DIR, then a profiles.yml in the project, then ~/.dbt. When none of them defines
    the sqlrec profile, profiles.yml.example is copied into the project: that copy is the whole
    set-up the profile needs, and later plain `dbt` commands in the project find it too.
    """
    candidates = []
    if os.environ.get("DBT_PROFILES_DIR"):
        candidates.append(Path(os.environ["DBT_PROFILES_DIR"]))
    candidates += [project_dir(), Path.home() / ".dbt"]
    for folder in candidates:
        profiles = folder / "profiles.yml"
        if profiles.is_file() and f"{PROFILE_NAME}:" in profiles.read_text():
            return folder
    shutil.copyfile(project_dir() / "profiles.yml.example", project_dir() / "profiles.yml")
    print(f"sqlrec: no '{PROFILE_NAME}' dbt profile found; copied profiles.yml.example to "
          f"{project_dir() / 'profiles.yml'}")
    return project_dir()
