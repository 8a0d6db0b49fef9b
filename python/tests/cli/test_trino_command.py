"""`sqlrec trino`: its actions and their options (the running server: trino_local/)."""

from __future__ import annotations

from pathlib import Path

from sqlrec import cli


def test_cli_has_trino_actions():
    parser = cli.build_parser()
    args = parser.parse_args(["trino", "start", "--port", "8123", "--lake", "/tmp/lake"])
    assert args.trino_action == "start" and args.port == 8123 and args.lake == Path("/tmp/lake")
    for action in ("install", "stop", "status"):
        assert parser.parse_args(["trino", action]).trino_action == action
