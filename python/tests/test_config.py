"""The settings: every SQLREC_* variable Python reads, read from the environment when needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlrec.config import Settings, load_settings
from sqlrec.errors import UserError


def test_settings_are_read_at_each_call(monkeypatch):
    monkeypatch.setenv("SQLREC_TRINO_INSERT_CHARS", "1234")
    assert load_settings().trino_insert_chars == 1234
    monkeypatch.setenv("SQLREC_TRINO_INSERT_CHARS", "99")
    assert load_settings().trino_insert_chars == 99


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("SQLREC_PARAMS", "")
    monkeypatch.setenv("SQLREC_ADMIN_TOKEN", "")
    settings = load_settings()
    assert settings.params is None and settings.admin_token is None
    monkeypatch.setenv("SQLREC_PARAMS", "p.json")
    assert load_settings().params == Path("p.json")


def test_a_bad_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("SQLREC_RELOAD_INTERVAL_S", "-1")
    with pytest.raises(UserError, match="SQLREC_RELOAD_INTERVAL_S='-1'"):
        load_settings()


def test_every_variable_is_documented():
    assert all(field.description for field in Settings.model_fields.values())
