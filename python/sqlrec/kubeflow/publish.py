"""The served warehouse, the candidate a pipeline run builds beside it, the quality gate, and
publishing a candidate.

A pipeline run never builds into what the service serves. Its dbt builds, training, blend and
evaluation all go to a **candidate** warehouse beside the served one: on DuckDB the file
``<name>.candidate.duckdb`` next to the served file, on Trino the schema ``<schema>_candidate``.
The candidate persists from run to run, so its incremental staging reads only new lake files.
The dbt hooks mark the candidate's builds, but the service watches the served warehouse only.

**Publishing** makes the candidate the served build and is the only writer of the served
warehouse: a "started" build marker (named by the pipeline run), then the tables, then the
``published_runs`` row, then the "finished" marker with the same name, which is what the
service reloads on. On DuckDB the candidate file is copied beside the served file
(``<name>.publishing``), the history of publications is written into the copy, then comes the
started marker, and the copy is renamed over the served file (an atomic replace: the service's
copy of the old file is never torn, see `reading_copy`). While the copy lies there the served
file is untouched, so a publication killed before its replace counts as never started (the
reader sees the last finished build); the next run removes the copy (`clean_leftovers`). On Trino
every table of the candidate schema is copied with ``create or replace table ... as select``.

**The gate** publishes a run only when its NDCG@10 is not worse than the last published run's
by more than ``max_drop`` (relative, default 5%); the last published run is the latest row of
``published_runs`` in the served warehouse. A rejected run leaves the served warehouse as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError
from sqlrec.warehouse.markers import (
    FINISHED,
    PUBLISH_STEP,
    PUBLISHING_SUFFIX,
    STARTED,
    marker_file,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from sqlrec.warehouse import Warehouse

PUBLISHED_RUNS_TABLE = "published_runs"
CANDIDATE_SCHEMA_SUFFIX = "_candidate"
DEFAULT_MAX_DROP = 0.05
# bookkeeping of a warehouse itself, never copied from the candidate
NOT_PUBLISHED = {PUBLISHED_RUNS_TABLE, "sqlrec_build_markers"}


@dataclass(frozen=True)
class Warehouses:
    """Where a pipeline run builds (candidate) and what the service serves (served), for one dbt
    target: DuckDB files, or Trino schemas."""

    target: str
    engine: str  # duckdb | trino
    served: str
    candidate: str

    def env(self, which: str) -> dict[str, str]:
        """The environment that points the dbt profile's target (and every `warehouse.connect`)
        at the served or the candidate warehouse."""
        location = self.served if which == "served" else self.candidate
        variable = "SQLREC_DUCKDB_PATH" if self.engine == "duckdb" else "SQLREC_TRINO_SCHEMA"
        return {variable: location}

    @contextlib.contextmanager
    def active(self, which: str) -> Iterator[Warehouse]:
        """Within the block, the target is the served or the candidate warehouse: for dbt
        (run in a child process, which inherits the environment) and for Python alike."""
        from sqlrec import warehouse

        with environment(self.env(which)):
            yield warehouse.connect(self.target)


def resolve(target: str, served: str = "") -> Warehouses:
    """The warehouses of a target; ``served`` is the served DuckDB file or Trino schema (default:
    the dbt profile's, as the environment configures it)."""
    from sqlrec.warehouse import profile

    engine = profile.engine_of(target)
    if engine == "duckdb":
        path = Path(served).resolve() if served else profile.duckdb_file(target)[0].resolve()
        suffix = path.suffix or ".duckdb"
        candidate = path.with_name(f"{path.name.removesuffix(path.suffix)}.candidate{suffix}")
        return Warehouses(target, engine, str(path), str(candidate))
    schema = served or profile.target_fields(target, ("type", "schema"))["schema"]
    return Warehouses(target, engine, schema, schema + CANDIDATE_SCHEMA_SUFFIX)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then put the old values back."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ---------------------------------------------------------------- the record and the gate

@dataclass(frozen=True)
class PublishedRun:
    """One row of ``published_runs``: a pipeline run whose build the service serves (or served)."""

    run_id: str  # the pipeline run; also the name of the served build's markers
    published_at: dt.datetime  # UTC, naive
    ndcg_at_10: float  # of the served list (the blend), as the evaluation measured it
    map_at_10: float
    evaluation_run_id: str  # its rows in evaluation_metrics
    details: str  # JSON: the gate's reason, the lake, the parameters

    def to_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_pylist([dataclasses.asdict(self)], schema=pa.schema([
            ("run_id", pa.string()), ("published_at", pa.timestamp("us")),
            ("ndcg_at_10", pa.float64()), ("map_at_10", pa.float64()),
            ("evaluation_run_id", pa.string()), ("details", pa.string())]))


def last_published(store: Warehouse) -> PublishedRun | None:
    """The latest row of ``published_runs``, or None when nothing was published there."""
    if not store.table_exists(PUBLISHED_RUNS_TABLE):
        return None
    rows = store.query(f"select * from {PUBLISHED_RUNS_TABLE} "
                       "order by published_at desc, run_id desc limit 1").to_pylist()
    return PublishedRun(**rows[0]) if rows else None


def decide(ndcg: float, last: PublishedRun | None, max_drop: float) -> tuple[bool, str]:
    """Whether a run of NDCG@10 ``ndcg`` may be published after ``last``, and why, in a sentence.
    Published when nothing was, or when ndcg >= last's * (1 - max_drop)."""
    if not 0 <= max_drop <= 1:
        raise UserError(f"the gate's max_drop must lie in [0, 1] (a share), got {max_drop}")
    if math.isnan(ndcg):
        return False, "not published: the run's NDCG@10 is not a number"
    if last is None:
        return True, (f"published: no run was published before; NDCG@10 {ndcg:.4f} becomes the "
                      "one later runs are compared with")
    floor = last.ndcg_at_10 * (1 - max_drop)
    change = (ndcg / last.ndcg_at_10 - 1) if last.ndcg_at_10 else 0.0
    comparison = (f"NDCG@10 {ndcg:.4f} against {last.ndcg_at_10:.4f} of the last published run "
                  f"{last.run_id} ({change:+.1%}; the gate allows down to {floor:.4f}, "
                  f"{max_drop:.0%} worse)")
    if ndcg >= floor:
        return True, f"published: {comparison}"
    return False, (f"not published: {comparison}; the tables of run {last.run_id} keep "
                   "serving")


# ---------------------------------------------------------------- publishing

def publish(places: Warehouses, record: PublishedRun) -> str:
    """Make the candidate the served build, with its ``published_runs`` row; return a line
    saying what was published where."""
    if places.engine == "duckdb":
        _publish_duckdb(Path(places.candidate), Path(places.served), places.target, record)
    else:
        _publish_trino(places, record)
    return (f"sqlrec pipeline: published run {record.run_id} (NDCG@10 {record.ndcg_at_10:.4f}) "
            f"to {places.served}; a running `sqlrec serve` loads it")


def _checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file, so that the file alone holds every table."""
    import duckdb

    with duckdb.connect(str(database)) as connection:
        connection.execute("checkpoint")
    if database.with_name(database.name + ".wal").exists():
        raise UserError(f"{database} still has a write-ahead log after a checkpoint; is another "
                        "process writing it?")


def _publish_duckdb(candidate: Path, served: Path, target: str, record: PublishedRun) -> None:
    import pyarrow as pa

    from sqlrec.warehouse.duckdb import DuckDBWarehouse

    if not candidate.is_file():
        raise UserError(f"no candidate database at {candidate}; the pipeline's build step "
                        "writes it")
    DuckDBWarehouse(candidate, target=target).wait_until_free()
    _checkpoint(candidate)
    store = DuckDBWarehouse(served, target=target)
    _clean_duckdb_leftovers(store)
    history = store.read_table(PUBLISHED_RUNS_TABLE) if store.table_exists(
        PUBLISHED_RUNS_TABLE) else None
    incoming = served.with_name(served.name + PUBLISHING_SUFFIX)
    shutil.copyfile(candidate, incoming)
    rows = record.to_table()
    if history is not None:
        rows = pa.concat_tables([history.cast(rows.schema), rows])
    DuckDBWarehouse(incoming, target=target).write_table(PUBLISHED_RUNS_TABLE, rows)
    _checkpoint(incoming)
    # Marked started only once the incoming copy is complete: until the replace below renames it
    # away, its presence tells readers that the served file is untouched (a publication killed
    # here counts as never started, see DuckDBWarehouse.build_state).
    store.write_build_marker(STARTED, step=PUBLISH_STEP, version=record.run_id)
    os.replace(incoming, served)
    store.write_build_marker(FINISHED, step=PUBLISH_STEP, version=record.run_id)


def clean_leftovers(places: Warehouses) -> None:
    """Remove what a publication killed before its replace left beside the served DuckDB file
    (the incoming copy, its log) and put the started marker back to the last finished build,
    which the served file still holds. Every run does this first; a no-op on Trino."""
    if places.engine == "duckdb":
        from sqlrec.warehouse.duckdb import DuckDBWarehouse

        _clean_duckdb_leftovers(DuckDBWarehouse(Path(places.served), target=places.target))


def _clean_duckdb_leftovers(store) -> None:
    incoming = store.path.with_name(store.path.name + PUBLISHING_SUFFIX)
    started, finished = store.read_build_marker(STARTED), store.read_build_marker(FINISHED)
    # the marker first: killed between the two steps, the copy alone is left, which is harmless
    if store.publication_never_replaced(started, finished):
        if finished is None:
            marker_file(store.path, STARTED).unlink(missing_ok=True)
        else:
            store.write_build_marker(STARTED, step=finished.step, at=finished.at,
                                     version=finished.version)
    incoming.with_name(incoming.name + ".wal").unlink(missing_ok=True)
    incoming.unlink(missing_ok=True)


def candidate_tables(store: Warehouse, catalog: str, schema: str) -> list[str]:
    """The tables and views of a Trino schema that publishing copies."""
    rows = store.query(f"select table_name from {catalog}.information_schema.tables "
                       f"where table_schema = '{schema}' order by table_name").to_pylist()
    return [row["table_name"] for row in rows if row["table_name"] not in NOT_PUBLISHED]


def _publish_trino(places: Warehouses, record: PublishedRun) -> None:
    with places.active("candidate") as candidate:
        source = {"catalog": candidate.catalog, "schema": candidate.schema}
        tables = candidate_tables(candidate, candidate.catalog, candidate.schema)
        qualified = {name: candidate.qualified(name) for name in tables}
    if not tables:
        raise UserError(f"the candidate schema {source['catalog']}.{source['schema']} holds no "
                        "tables; the pipeline's build step writes them")
    with places.active("served") as served:
        served.write_build_marker(STARTED, step=PUBLISH_STEP, version=record.run_id)
        served.execute([f"create schema if not exists {served.catalog}.{served.schema}"])
        # views become tables: the served schema is a snapshot of the candidate at this moment
        served.execute([f"create or replace table {served.qualified(name)} as "
                        f"select * from {qualified[name]}" for name in tables])
        served.write_table(PUBLISHED_RUNS_TABLE, record.to_table(), mode="append")
        served.write_build_marker(FINISHED, step=PUBLISH_STEP, version=record.run_id)


def new_record(run_id: str, evaluation: dict[str, Any], reason: str,
               details: dict[str, Any]) -> PublishedRun:
    """The published_runs row of a run that passed the gate."""
    return PublishedRun(
        run_id=run_id, published_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ndcg_at_10=float(evaluation["ndcg_at_10"]), map_at_10=float(evaluation["map_at_10"]),
        evaluation_run_id=str(evaluation["evaluation_run_id"]),
        details=json.dumps({"gate": reason, **details}, sort_keys=True, default=str))
