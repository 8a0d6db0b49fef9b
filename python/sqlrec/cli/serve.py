"""`sqlrec serve`: run the HTTP lookup service with uvicorn."""

from __future__ import annotations

import argparse


def add_serve(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="serve recommendations over HTTP from the built tables",
        description="Serve 'viewed together' and 'for you' from an in-memory snapshot of the "
        "active target's tables, reloading it when a newer build appears. Settings come from "
        "SQLREC_* environment variables (SQLREC_HOST, SQLREC_PORT, SQLREC_ADMIN_TOKEN, "
        "SQLREC_RELOAD_INTERVAL_S, SQLREC_LOG_LEVEL, SQLREC_ACCESS_LOG, "
        "SQLREC_GRACEFUL_SHUTDOWN_S); options override them. "
        "API docs at /docs.",
    )
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--reload-interval", type=float, dest="reload_interval_s",
                       help="seconds between checks for a newer build; 0 turns them off")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--access-log", action="store_true", default=None,
                       help="log every request")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    import logging

    import uvicorn
    from pydantic import ValidationError

    from sqlrec.config import Settings
    from sqlrec.errors import UserError
    from sqlrec.service.app import create_app

    overrides = {name: getattr(args, name) for name in
                 ("host", "port", "reload_interval_s", "log_level", "access_log")
                 if getattr(args, name) is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise UserError(f"bad service settings: {error}") from None
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s:  %(message)s")
    print(f"sqlrec serve: http://{settings.host}:{settings.port}/docs")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level, access_log=settings.access_log,
                timeout_graceful_shutdown=settings.graceful_shutdown_s)
    return 0
