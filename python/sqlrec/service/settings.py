"""The service's settings: the project's `Settings` (every ``SQLREC_*`` variable, defined once in
`sqlrec.config`), read once for the app's lifetime."""

from __future__ import annotations

from functools import lru_cache

from sqlrec.config import Settings


class ServiceSettings(Settings):
    """`sqlrec serve` reads host, port, admin_token, reload_interval_s, log_level, access_log and
    graceful_shutdown_s;
    which warehouse it reads is the project's own setting (`SQLREC_TARGET` and the profile),
    shared with every other command."""


@lru_cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
