"""The HTTP lookup service (`sqlrec serve`): FastAPI over an in-memory snapshot of the tables.

Precompute offline, serve by lookup: requests never run a model or build SQL. The package
keeps its heavy imports (FastAPI, Arrow) out of this module so that `sqlrec --help` stays
instant; `create_app` lives in `sqlrec.service.app`, the command in `sqlrec.cli.serve`.
"""
