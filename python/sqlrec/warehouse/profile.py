"""The targets of the sqlrec dbt profile, as Python needs them.

Which engine a target is comes from its ``type``; a DuckDB target's file from its ``path``. Those
few fields are read with a light render of ``profiles.yml`` (YAML, then each field's
``env_var(...)`` Jinja), which costs milliseconds where importing dbt's profile code costs more
than a second. A Trino target needs its whole connection (host, https, certificate,
password/JWT auth), which is rendered by dbt's own code (`connection_factory` opens it), so
that Python connects exactly as `dbt --target trino` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlrec import project
from sqlrec.errors import UserError

ENGINES = ("duckdb", "trino")


def target_fields(target: str, fields: tuple[str, ...] = ("type", "path", "schema")
                  ) -> dict[str, Any]:
    """Some fields of a target of the sqlrec profile, their env vars rendered as dbt would."""
    import jinja2
    import yaml

    profiles_dir = project.profiles_dir()
    try:
        profiles = yaml.safe_load((profiles_dir / "profiles.yml").read_text()) or {}
        outputs = (profiles.get(project.profile_name()) or {}).get("outputs") or {}
        if target not in outputs:
            raise UserError(f"no target {target!r} in the '{project.profile_name()}' profile "
                            f"(it has {', '.join(sorted(outputs)) or 'none'})")
        block = outputs[target] or {}
        environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
        return {name: environment.from_string(str(block[name])).render(env_var=_env_var)
                if isinstance(block.get(name), str) else block.get(name) for name in fields}
    except (OSError, yaml.YAMLError, jinja2.TemplateError, UserError) as error:
        raise UserError(f"cannot read target {target!r} of the dbt profile in {profiles_dir}: "
                        f"{error}") from None


def _env_var(name: str, default: str | None = None) -> str:
    """dbt's env_var: the variable, else the default, else an error."""
    if name in os.environ:
        return os.environ[name]
    if default is not None:
        return default
    raise UserError(f"env var {name} is not set and has no default")


def engine_of(target: str, fields: dict[str, Any] | None = None) -> str:
    """'duckdb' or 'trino': the type of a target (from its ``fields`` when already read);
    UserError for any other type."""
    engine = (fields or target_fields(target, ("type",)))["type"]
    if engine not in ENGINES:
        raise UserError(f"target {target!r} of the dbt profile is {engine!r}; sqlrec reads and "
                        f"writes {' or '.join(ENGINES)} targets only")
    return engine


def duckdb_file(target: str, fields: dict[str, Any] | None = None) -> tuple[Path, str]:
    """The database file (relative paths count from the project, where dbt runs) and schema of
    a duckdb target (from its ``fields`` when already read)."""
    fields = fields or target_fields(target)
    if not fields.get("path") or fields["path"] == ":memory:":
        raise UserError(f"target {target!r} of the dbt profile has no database file (path)")
    path = Path(fields["path"])
    return (path if path.is_absolute() else project.project_dir() / path,
            fields.get("schema") or "main")


def trino_credentials(target: str = "trino") -> Any:
    """The credentials of a trino target, rendered by dbt itself (env vars, secrets and all)."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.exceptions import DbtProfileError, DbtProjectError
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import CompilationError

    set_invocation_context(os.environ)
    profiles_dir = project.profiles_dir()
    try:
        raw = read_profile(str(profiles_dir)).get(project.profile_name())
        if raw is None:
            raise UserError(f"no '{project.profile_name()}' profile in {profiles_dir}/profiles.yml")
        renderer = ProfileRenderer({})
        # the same two steps dbt takes: pick the target's block, render its env vars. These
        # helpers are dbt's internals (dbt-core is pinned to 1.11; the tests exercise them).
        data = renderer.render_data(
            Profile._get_profile_data(raw, project.profile_name(), target))
        credentials = Profile._credentials_from_profile(data, project.profile_name(), target)
    except (DbtProfileError, DbtProjectError, CompilationError) as error:
        raise UserError(f"cannot read target {target!r} of the dbt profile in {profiles_dir}: "
                        f"{error}") from None
    if credentials.type != "trino":
        raise UserError(f"target {target!r} of the dbt profile is {credentials.type!r}, not trino")
    return credentials


def connection_factory(credentials: Any) -> Callable[[], Any]:
    """A function that opens a Trino DB-API connection with the profile's settings."""
    import trino.dbapi
    from trino.transaction import IsolationLevel

    def connect():
        return trino.dbapi.connect(
            host=credentials.host, port=credentials.port,
            user=getattr(credentials, "impersonation_user", None) or credentials.user,
            catalog=credentials.database, schema=credentials.schema,
            http_scheme=credentials.http_scheme.value, auth=credentials.trino_auth(),
            # dbt-trino verifies certificates unless the profile's `cert` says otherwise
            verify=True if credentials.cert is None else credentials.cert,
            session_properties=credentials.session_properties or None,
            roles=credentials.roles, max_attempts=credentials.retries,
            source="sqlrec", isolation_level=IsolationLevel.AUTOCOMMIT)

    return connect
