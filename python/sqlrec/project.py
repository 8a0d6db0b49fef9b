"""Where things live: the dbt project, the default lake, the dbt profile, the active target."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sqlrec.errors import UserError, did_you_mean

PACKAGE_NAME = "sqlrec"  # the dbt project's name, and its package's in a team's own project
PROFILE_NAME = "sqlrec"  # the profile sqlrec's own project uses


def _settings():
    from sqlrec.config import load_settings

    return load_settings()


def project_dir() -> Path:
    """The dbt project the commands run (the folder with dbt_project.yml): SQLREC_PROJECT_DIR
    (`sqlrec --project-dir`); else the current folder when it is a team's own dbt project with
    sqlrec installed as a package (`dbt deps`); else this checkout."""
    configured = _settings().project_dir
    here = Path.cwd()
    if configured:
        path = configured.resolve()
    elif (here / "dbt_project.yml").is_file() and (
            here / "dbt_packages" / PACKAGE_NAME / "dbt_project.yml").is_file():
        path = here
    else:
        path = _checkout()
    if not (path / "dbt_project.yml").is_file():
        raise UserError(
            f"no dbt_project.yml in {path}; point --project-dir (SQLREC_PROJECT_DIR) at the "
            "sqlrec project or at a dbt project that installs it as a package")
    return path


def _checkout() -> Path:
    """The folder this package was installed from in editable mode (above python/sqlrec)."""
    return Path(__file__).resolve().parents[2]


def package_dir() -> Path:
    """sqlrec's own dbt project, whose models, vars and seeds a team's project installs as a
    package: the project the commands run when it is sqlrec's, else where `dbt deps` installed
    sqlrec into it, else this checkout."""
    here = project_dir()
    project_file = _project_file(here)
    if project_file.get("name") == PACKAGE_NAME:
        return here
    installed = here / project_file.get("packages-install-path", "dbt_packages") / PACKAGE_NAME
    return installed.resolve() if (installed / "dbt_project.yml").is_file() else _checkout()


def _project_file(folder: Path) -> dict:
    """The folder's dbt_project.yml, parsed once per version of the file (a parse costs about
    9 ms, and the warehouses look up the target folder at each table they name). Read-only."""
    path = folder / "dbt_project.yml"
    stat = path.stat()
    return _parsed_project_file(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parsed_project_file(path: Path, _mtime_ns: int, _size: int) -> dict:
    import yaml

    return yaml.safe_load(path.read_text()) or {}


def project_name() -> str:
    """The `name:` of the project the commands run: sqlrec's own, or a team's."""
    return str(_project_file(project_dir()).get("name") or PACKAGE_NAME)


def dbt_target_dir() -> Path:
    """Where dbt writes its artefacts (manifest, run results): DBT_TARGET_PATH, else the
    project's `target-path`, else target/ in the project."""
    folder = os.environ.get("DBT_TARGET_PATH") or _project_file(project_dir()).get(
        "target-path", "target")
    return project_dir() / folder  # an absolute path stays as it is


def profile_name() -> str:
    """The dbt profile of the project the commands run: its dbt_project.yml's `profile:`."""
    return str(_project_file(project_dir()).get("profile") or PROFILE_NAME)


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
    defines the project's profile; when none does, sqlrec's own profiles/ folder (the shipped
    profile, every value from env vars). Nothing is copied anywhere: a profiles.yml written into
    the project would shadow the user's ~/.dbt/profiles.yml for every later dbt command.
    """
    candidates = []
    if os.environ.get("DBT_PROFILES_DIR"):
        candidates.append(Path(os.environ["DBT_PROFILES_DIR"]))
    candidates += [project_dir(), Path.home() / ".dbt"]
    for folder in candidates:
        profiles = folder / "profiles.yml"
        if profiles.is_file() and f"{profile_name()}:" in profiles.read_text():
            return folder
    return package_dir() / "profiles"


def dbt_var_defaults() -> dict:
    """The vars sqlrec declares, with their values when no --vars are given: sqlrec's defaults,
    under those a team's own project sets for every package or for sqlrec's (`vars: {sqlrec:
    {...}}`), as dbt resolves them."""
    here, sqlrec = project_dir(), package_dir()
    declared = dict(_project_file(sqlrec)["vars"])
    if here == sqlrec:
        return declared
    consumer = _project_file(here).get("vars") or {}
    scoped = consumer.get(PACKAGE_NAME) if isinstance(consumer.get(PACKAGE_NAME), dict) else {}
    return {name: scoped.get(name, consumer.get(name, default))
            for name, default in declared.items()}


def input_relations(extra_vars: dict | None = None) -> dict[str, str]:
    """The relations of the team's own that vars events_relation and catalog_relation name in
    place of the lake's files, by var (only those set), with ``extra_vars`` over the project's."""
    values = {**dbt_var_defaults(), **(extra_vars or {})}
    return {name: values[name] for name in ("events_relation", "catalog_relation")
            if values.get(name) is not None}


def events_from_relation(extra_vars: dict | None = None) -> bool:
    """Whether the project reads its events from a relation of its own instead of the lake."""
    return "events_relation" in input_relations(extra_vars)


def reads_relations(extra_vars: dict | None = None) -> bool:
    """Whether the project reads its events or its catalogue from a relation of its own: then
    no lake file tells whether the inputs changed."""
    return bool(input_relations(extra_vars))


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
