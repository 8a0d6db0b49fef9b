"""Where the last dbt build put sqlrec's models, when a team's project put them elsewhere.

A team that installs sqlrec as a package may give its models a schema of their own
(`models: {sqlrec: {+schema: recs}}`) or names of their own (a `generate_alias_name` of the
team's). dbt records where each model goes in the manifest it writes with every command, so
the Python steps and the service read the models from there. The tables the Python steps write
themselves (the trained lists, model_runs, the evaluation's) stay in the target's own schema,
where the `trained_lists` source expects them.

A manifest counts only when it is this project's and was parsed for this engine and for a target
with this schema (the `trained_lists` source's schema is the target's, rendered): a manifest left
by another project or target would otherwise send reads to tables that are not this build's.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from sqlrec import project
from sqlrec.errors import UserError

# a source whose schema is `{{ target.schema }}`: its rendered schema is the manifest's target's
TARGET_SCHEMA_SOURCE = f"source.{project.PACKAGE_NAME}.trained_lists."


def located(name: str, engine: str, schema: str,
            placements: dict[str, tuple[str, str]] | None = None) -> tuple[str, str]:
    """(schema, table) of the table sqlrec calls ``name`` in a warehouse of that engine whose
    target schema is ``schema``: from ``placements`` when given, else the project's manifest."""
    if placements is None:
        placements = model_placements(engine, schema)
    return placements.get(name, (schema, name))


def model_placements(engine: str, schema: str) -> dict[str, tuple[str, str]]:
    """{model name: (schema, table name)} for each of sqlrec's models that the last build of the
    project put somewhere other than `schema`.`name`; empty when all sit there (the standalone
    project, a team that leaves them in its target's schema) or no manifest counts."""
    try:
        manifest = project.dbt_target_dir() / "manifest.json"
        stat = manifest.stat()
        project_name = project.project_name()
    except (OSError, UserError):
        return {}
    placed = _placements(manifest, stat.st_mtime_ns, stat.st_size, project_name, engine)
    if placed is None or placed[0] != schema:
        return {}
    return {name: where for name, where in placed[1].items() if where != (schema, name)}


@lru_cache(maxsize=4)
def _placements(manifest: Path, _mtime_ns: int, _size: int, project_name: str, engine: str
                ) -> tuple[str, dict[str, tuple[str, str]]] | None:
    """(the manifest's target schema, {model: (schema, table)}) or None when it is another
    project's or engine's; cached per version of the file (a manifest is a few MB of JSON)."""
    try:
        content = json.loads(manifest.read_text())
        metadata = content["metadata"]
        if metadata.get("project_name") != project_name or metadata.get("adapter_type") != engine:
            return None
        target_schema = next(source["schema"] for key, source in content["sources"].items()
                             if key.startswith(TARGET_SCHEMA_SOURCE))
        return target_schema, {
            node["name"]: (node["schema"], node.get("alias") or node["name"])
            for node in content["nodes"].values()
            if node.get("resource_type") == "model"
            and node.get("package_name") == project.PACKAGE_NAME}
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None  # unreadable or of another shape: read the target's schema as before
