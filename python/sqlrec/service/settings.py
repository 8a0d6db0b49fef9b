"""The service's settings, from environment variables with the `SQLREC_` prefix."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """`sqlrec serve` settings. Which warehouse it reads is the project's own setting
    (`SQLREC_TARGET`, `SQLREC_DUCKDB_PATH`), shared with every other command."""

    model_config = SettingsConfigDict(env_prefix="SQLREC_", extra="ignore")

    host: str = Field("127.0.0.1", description="interface to bind; 0.0.0.0 only when told to")
    port: int = Field(8000, ge=1, le=65535)
    admin_token: SecretStr | None = Field(
        None, description="enables POST /admin/reload, which then requires it as a bearer token")
    reload_interval_s: float = Field(
        5.0, ge=0, description="how often to look for a newer build; 0 turns polling off")
    log_level: str = Field("info", pattern="^(critical|error|warning|info|debug|trace)$")
    access_log: bool = Field(False, description="log every request (costs throughput)")
    graceful_shutdown_s: int = Field(
        20, ge=1, description="on SIGTERM, how long in-flight requests may take to finish "
        "before they are cancelled (keep it under the pod's terminationGracePeriodSeconds)")

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value):
        return None if value in ("", None) else value


@lru_cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
