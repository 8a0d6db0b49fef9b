"""`sqlrec trino install|start|stop|status`: the local single-node Trino for development."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlrec.errors import UserError
from sqlrec.trino_local.config import DEFAULT_HEAP, DEFAULT_PORT
from sqlrec.trino_local.install import ENV_CACHE, TRINO_VERSION

ACTIONS = {
    "install": "download and unpack Trino and its plugins (once)",
    "start": "start the server in the background and wait until it answers queries",
    "stop": "stop the server",
    "status": "say whether the server runs, where, and where its logs are",
}
DEFAULT_STARTUP_TIMEOUT = 300.0


def add_trino(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trino",
        help="install, start, stop or inspect a local single-node Trino (dev and tests)",
        description=(
            f"A local Trino {TRINO_VERSION} for development: downloaded once with Maven into "
            f"${ENV_CACHE} (default ~/.cache/sqlrec/trino/{TRINO_VERSION}), with a `lake` catalog "
            "(Hive, file metastore) and an `iceberg` catalog on the local file system."
        ),
    )
    actions = parser.add_subparsers(dest="trino_action", required=True, metavar="ACTION")
    commands = {"install": trino_install_command, "start": trino_start_command,
                "stop": trino_stop_command, "status": trino_status_command}
    for name, help_text in ACTIONS.items():
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.set_defaults(func=commands[name])
        action.add_argument("--cache-dir", type=Path, default=None,
                            help=f"install cache (default ${ENV_CACHE} or ~/.cache/sqlrec/trino/"
                                 f"{TRINO_VERSION})")
        if name == "install":
            continue
        action.add_argument("--port", type=int, default=None,
                            help=f"HTTP port (default $SQLREC_TRINO_PORT or {DEFAULT_PORT})")
        action.add_argument("--run-dir", type=Path, default=None,
                            help="configuration, logs and catalog metadata (default "
                                 "<cache>/run-<port>)")
        if name == "start":
            action.add_argument("--lake", type=Path, default=None,
                                help="Parquet lake; its <table>/ folders are registered as "
                                     "external tables in lake.<--lake-schema>")
            action.add_argument("--lake-schema", default="raw",
                                help="schema of the lake catalog for --lake tables (default raw)")
            action.add_argument("--heap", default=None,
                                help=f"JVM heap, e.g. 4G (default $SQLREC_TRINO_HEAP or "
                                     f"{DEFAULT_HEAP})")
            action.add_argument("--timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT,
                                help="seconds to wait for the server to come up (default 300)")


def _server(args: argparse.Namespace):
    from sqlrec.trino_local.server import TrinoServer

    return TrinoServer(
        lake_dir=getattr(args, "lake", None),
        port=args.port,
        cache_dir=args.cache_dir,
        run_dir=args.run_dir,
        heap=getattr(args, "heap", None),
        startup_timeout=getattr(args, "timeout", DEFAULT_STARTUP_TIMEOUT),
    )


def trino_install_command(args: argparse.Namespace) -> int:
    from sqlrec.trino_local.install import TrinoInstall

    TrinoInstall(args.cache_dir).install()
    return 0


def trino_start_command(args: argparse.Namespace) -> int:
    from sqlrec.trino_local.lake_tables import register_lake_folders

    server = _server(args)
    if server.lake_dir is not None and not server.lake_dir.is_dir():
        raise UserError(f"--lake {server.lake_dir} is not a directory")
    server.start()
    if server.lake_dir is not None:
        register_lake_folders(server, server.lake_dir, args.lake_schema)
    print(server.url)
    # what `sqlrec build/train/serve` and dbt need to use this server
    print(f"export SQLREC_TARGET=trino SQLREC_TRINO_HOST={server.host} "
          f"SQLREC_TRINO_PORT={server.port} "
          f"SQLREC_TRINO_STAGING_DIR={server.run_dir / 'staging'}")
    return 0


def trino_stop_command(args: argparse.Namespace) -> int:
    server = _server(args)
    if not server.is_running():
        print(f"Trino is not running (run dir {server.run_dir})")
        return 0
    server.stop()
    return 0


def trino_status_command(args: argparse.Namespace) -> int:
    server = _server(args)
    installed = server.installation.is_installed()
    print(f"installed: {'yes' if installed else 'no'} ({server.installation.server_dir})")
    state = server.state()
    running = state != "stopped"
    print(f"server:    {state} at {server.url}" + (f" (pid {server.pid()})" if running else ""))
    print(f"run dir:   {server.run_dir}")
    print(f"logs:      {server.server_log}")
    return 0 if running else 3
