"""Every setting sqlrec reads from the environment: one `Settings` class, prefix ``SQLREC_``.

Settings are read when they are needed (``load_settings()``), never cached for the process:
the environment of a test, or of a command that points dbt at another file, is what counts.
Only the HTTP service keeps one `Settings` for its lifetime (`sqlrec.service.app.create_app`).

The dbt profile (``profiles/profiles.yml``) reads more ``SQLREC_*`` variables itself through
dbt's ``env_var``: the Trino connection (``SQLREC_TRINO_HOST``, ``_USER``, ``_AUTH``,
``_HTTP_SCHEME``, ``_CATALOG``, ``_SCHEMA``, ``_THREADS``) and ``SQLREC_TRINO_PORT``. Those reach
Python only through the rendered profile, so they are not fields here, except the port (see
`Settings.trino_port`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sqlrec.errors import UserError

ENV_PREFIX = "SQLREC_"


class Settings(BaseSettings):
    """The ``SQLREC_*`` environment variables, each with its default. An empty variable counts
    as unset."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore",
                                      env_ignore_empty=True)

    # ---------- the project
    project_dir: Path | None = Field(
        None, description="the dbt project (the folder with dbt_project.yml): sqlrec's, or a "
        "team's own that installs it as a package (`sqlrec --project-dir`); default: the current "
        "folder when it is such a project, else the checkout this package was installed from")
    lake: Path | None = Field(
        None, description="the Parquet lake of `sqlrec build`, `refresh` and `demo` when "
        "--lake is not given; default: data/lake in the project")
    target: str = Field("duckdb", description="the dbt target every command uses")
    duckdb_path: Path = Field(
        Path("data/sqlrec.duckdb"), description="the DuckDB file of the shipped profile's "
        "duckdb target, relative to the project (the profile reads this variable itself)")
    params: Path | None = Field(
        None, description="the pipeline's parameters file (dbt vars, ALS, EASE) that `sqlrec "
        "tune` writes and build, train and refresh read; default: data/params.json in the project")
    lock_timeout_s: float = Field(
        30.0, ge=0, description="how long a step waits for a DuckDB file another process holds "
        "(dbt, `sqlrec train`) before it gives up, naming the holder")

    # ---------- reading from and writing to Trino (sqlrec.warehouse.trino)
    trino_staging_dir: str | None = Field(
        None, description="a folder (local path or URL, e.g. s3://bucket/prefix) that both "
        "pyarrow and Trino's lake catalog reach: table reads and writes go through Parquet files "
        "there; unset: the client protocol's pages and batched INSERTs")
    trino_read_data_files: bool = Field(
        True, description="read a whole Iceberg table straight from its Parquet data files "
        "(listed by Trino's $files table) where this process reaches them and the table has no "
        "delete files; false, or where it cannot: the staging folder or the client protocol")
    trino_lake_catalog: str = Field(
        "lake", description="the Hive catalog that registers the staging folder's tables")
    trino_insert_chars: int = Field(
        900_000, ge=1, description="the longest batched INSERT statement, in characters (under "
        "Trino's query.max-length, 1,000,000 by default)")

    # ---------- the local Trino server (sqlrec.trino_local)
    trino_cache: Path | None = Field(
        None, description="where the local Trino is downloaded and run; default: "
        "~/.cache/sqlrec/trino/<version>")
    trino_port: int | None = Field(
        None, description="the local server's HTTP port (`sqlrec trino start|stop|status`); "
        "default 8080. The same variable is the port of the profile's trino target, which dbt "
        "reads itself (default 8080 there too): set to the local server's port, both agree")
    trino_heap: str | None = Field(None, description="the local server's JVM heap (-Xmx); "
                                   "default 4G")
    trino_java_home: str | None = Field(
        None, description="the JDK (Java 24+) for the local server; default: $JAVA_HOME or a "
        "JDK under /usr/lib/jvm")

    # ---------- the HTTP service (sqlrec serve)
    host: str = Field("127.0.0.1", description="interface to bind; 0.0.0.0 only when told to")
    port: int = Field(8000, ge=1, le=65535, description="the service's port")
    admin_token: SecretStr | None = Field(
        None, description="enables POST /admin/reload, which then requires it as a bearer token")
    reload_interval_s: float = Field(
        5.0, ge=0, description="how often to look for a newer build; 0 turns polling off")
    log_level: str = Field("info", pattern="^(critical|error|warning|info|debug|trace)$",
                           description="the service's log level")
    access_log: bool = Field(False, description="log every request (costs throughput)")
    graceful_shutdown_s: int = Field(
        20, ge=1, description="on SIGTERM, how long in-flight requests may take to finish "
        "before they are cancelled (keep it under the pod's terminationGracePeriodSeconds)")

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value):
        return None if value in ("", None) else value


def load_settings(**overrides) -> Settings:
    """The settings of the environment now (``overrides`` win); UserError when one is invalid."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise UserError(describe_invalid(error)) from None


def describe_invalid(error: ValidationError) -> str:
    """One line per bad setting, naming its variable."""
    problems = [
        f"{ENV_PREFIX}{'_'.join(str(part) for part in problem['loc']).upper()}="
        f"{problem.get('input')!r}: {problem['msg']}"
        for problem in error.errors()
    ]
    return "bad settings: " + "; ".join(problems)
