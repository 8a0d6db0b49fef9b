"""The `sqlrec train` step: ALS factors and EASE weights on the user–item scores, written back as
tables.

The step reads w(u,i) (``int_user_item_scores.score``) from a warehouse, builds the CSR matrix
(`sqlrec.recommend.matrix`), fits ALS (`sqlrec.recommend.als`) or EASE
(`sqlrec.recommend.ease`) and precomputes, in batches of users or items so that no users × items
matrix ever exists:

- ``als_user_recommendations(user_id, item_id, score, rank, because_item_id)`` and
  ``ease_user_recommendations`` (the same columns): top-k per user, never an item the user
  already has a score for, never an unavailable item; because_item_id is the user's item that
  explains the row best;
- ``als_similar_items(item_id, similar_item_id, score, rank)``: nearest available items by the
  cosine of their factors (positive cosines only, never the item itself);
- ``model_runs``: one `ModelRun` row per run (parameters as JSON, device, sizes, seconds,
  metrics as JSON when an evaluation computed them).

A run's rows carry its run_id and are appended; the run's model_runs row is appended only after
them, and it is what publishes the run: dbt's staging reads the rows of the latest run in
model_runs only, so a run killed half-way is never blended. Once published, rows of other runs
are deleted (`publish`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlrec.errors import UserError
from sqlrec.recommend import als
from sqlrec.recommend.matrix import SCORES_TABLE, InteractionMatrix, interaction_matrix
from sqlrec.recommend.params import for_display

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from sqlrec.recommend.params import AlsParams, EaseParams, PipelineParams
    from sqlrec.warehouse import Warehouse

ITEMS_TABLE = "int_items_enriched"
RECOMMENDATIONS_TABLE = "als_user_recommendations"
SIMILAR_ITEMS_TABLE = "als_similar_items"
EASE_RECOMMENDATIONS_TABLE = "ease_user_recommendations"
RUNS_TABLE = "model_runs"
DEFAULT_K = 50
MODELS = ("als", "ease")
# the two key columns of each ranked table
RANKED_KEYS = {
    RECOMMENDATIONS_TABLE: ("user_id", "item_id"),
    SIMILAR_ITEMS_TABLE: ("item_id", "similar_item_id"),
    EASE_RECOMMENDATIONS_TABLE: ("user_id", "item_id"),
}
# the tables each model writes; a run's model_runs row publishes them
MODEL_TABLES = {"als": (RECOMMENDATIONS_TABLE, SIMILAR_ITEMS_TABLE),
                "ease": (EASE_RECOMMENDATIONS_TABLE,)}


def _column(arrow_type: str):
    """A field of a table row: its Arrow type (an alias pyarrow knows) in the metadata."""
    return field(metadata={"arrow_type": arrow_type})


@dataclass
class ModelRun:
    """One row of ``model_runs``: the fields are the table's columns, in order, with their types
    fixed so that appends always line up."""

    run_id: str = _column("string")
    model: str = _column("string")  # als, ease
    trained_at: dt.datetime | None = _column("timestamp[us]")  # UTC, naive; None until written
    params: str = _column("string")  # JSON: the parameters, k and where they came from
    device: str = _column("string")
    users: int = _column("int64")
    items: int = _column("int64")
    nnz: int = _column("int64")
    fit_seconds: float = _column("double")
    seconds_per_iteration: float = _column("double")
    seconds: float | None = _column("double")  # the whole step; None until it ends
    metrics: str | None = _column("string")  # JSON, when an evaluation scored the run

    @classmethod
    def schema(cls) -> pa.Schema:
        import pyarrow as pa

        return pa.schema([(column.name, pa.type_for_alias(column.metadata["arrow_type"]))
                          for column in dataclasses.fields(cls)])

    def to_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_pylist([dataclasses.asdict(self)], schema=self.schema())


@dataclass
class TrainResult:
    """What one training run produced: the model, its matrix, its model_runs row and the rows
    written per table (none when nothing was written)."""

    model: Any
    data: InteractionMatrix
    run: ModelRun
    written: dict[str, int] = field(default_factory=dict)
    # seconds after the fit: computing the rows (top-k and reasons) and writing them
    clock: PhaseClock = field(default_factory=lambda: PhaseClock())

    def summary(self) -> str:
        """The one line that says what the run wrote, where, and how long it took."""
        run = self.run
        tables = ", ".join(f"{rows:,} rows to {table}" for table, rows in self.written.items())
        per_iteration = (f", {run.seconds_per_iteration:.2f} s/iteration" if run.model == "als"
                         else "")
        phases = (f"; top-k and reasons {self.clock.computing:.1f} s, write "
                  f"{self.clock.writing:.1f} s" if self.written else "")
        return (f"sqlrec train: {run.model.upper()} wrote {tables} and run {run.run_id} to "
                f"{RUNS_TABLE} in {run.seconds:.1f} s (fit {run.fit_seconds:.1f} s"
                f"{per_iteration}{phases})")


class PhaseClock:
    """Splits the time of streamed writes into computing the rows and writing them: the time
    spent inside the batch generators (`timed`) is computing, the rest of the write is
    writing. The two interleave, batch by batch, so no outer timer can tell them apart."""

    def __init__(self) -> None:
        self.computing = 0.0
        self.writing = 0.0

    def timed(self, batches):
        iterator = iter(batches)
        while True:
            started = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                self.computing += time.perf_counter() - started
                return
            self.computing += time.perf_counter() - started
            yield batch

    def write(self, store: Warehouse, table: str, reader: pa.RecordBatchReader) -> int:
        """`append_run_rows`, its time counted as writing less what `timed` counted."""
        started, before = time.perf_counter(), self.computing
        try:
            return append_run_rows(store, table, reader)
        finally:
            self.writing += time.perf_counter() - started - (self.computing - before)


def unavailable_items(store: Warehouse, item_ids: pa.Array) -> np.ndarray:
    """Column numbers of the matrix's items that the catalogue marks unavailable."""
    import numpy as np
    import pyarrow.compute as pc

    if not store.table_exists(ITEMS_TABLE):
        return np.zeros(0, dtype=np.int32)
    items = store.read_table(ITEMS_TABLE, ["item_id", "is_available"])
    sold_out = items.filter(pc.equal(items["is_available"], False))["item_id"]
    positions = pc.index_in(sold_out.cast(item_ids.type), value_set=item_ids)
    return np.asarray(positions.drop_null().to_numpy(), dtype=np.int32)


def train(store: Warehouse, params: AlsParams, *, device: str = "auto", k: int = DEFAULT_K,
          show_progress: bool = True, num_threads: int = 0, write: bool = True,
          record: bool = True, details: dict[str, Any] | None = None) -> TrainResult:
    """The whole step: read the scores, fit, precompute both tables, append a model_runs row.

    ``write=False`` stops after the fit (nothing is written); ``record=False`` writes the tables
    but leaves the model_runs row to the caller (`record_run`), who may add metrics to it.
    ``details`` go into the run's params JSON (where the parameters came from, for instance).
    ``show_progress`` prints what is trained and shows progress bars; `TrainResult.summary`
    says what was written.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    device = als.resolve_device(device)
    if k < 1:
        raise UserError(f"--k must be at least 1, got {k}")
    data = read_scores(store)
    users, items = data.matrix.shape
    params = params.resolved(data.nnz)
    if show_progress:
        print(f"sqlrec train: {users:,} users x {items:,} items, {data.nnz:,} scores; "
              f"ALS on the {device.upper()} with {for_display(params.model_params())}")
    fit_started = time.perf_counter()
    model = als.fit(data.matrix, params, device=device, show_progress=show_progress,
                    num_threads=num_threads)
    fit_seconds = time.perf_counter() - fit_started

    run = ModelRun(
        run_id=uuid.uuid4().hex,
        model="als",
        trained_at=None,
        params=json.dumps({**params.model_params(), "k": k, **(details or {})}, sort_keys=True),
        device=device,
        users=users,
        items=items,
        nnz=data.nnz,
        fit_seconds=fit_seconds,
        seconds_per_iteration=fit_seconds / max(params.iterations, 1),
        seconds=None,
        metrics=None,
    )
    result = TrainResult(model, data, run)
    if not write:
        run.seconds = time.perf_counter() - started
        return result

    import threadpoolctl

    from sqlrec.recommend.parallel import ordered_map
    from sqlrec.recommend.reasons import AlsReasons

    clock = result.clock
    unavailable = unavailable_items(store, data.item_ids)
    with tqdm(total=int((data.matrix.getnnz(axis=1) > 0).sum()), unit="user",
              desc=RECOMMENDATIONS_TABLE, disable=not show_progress) as progress, \
            threadpoolctl.threadpool_limits(1, "blas"):  # set once: the limit is process-wide
        confident = als.confidence(data.matrix, params.alpha)
        explainer = AlsReasons(als.item_factors(model), params.regularization)  # once per run

        def explained(batch):
            done, users_, items_, scores = batch
            return done, users_, items_, scores, explainer.because(confident, users_, items_)

        # implicit ranks the next batch (on its own threads) while workers explain the last
        batches = ordered_map(explained, als.recommend_batches(model, data.matrix, k,
                                                               unavailable=unavailable))
        reader = _ranked_reader(RECOMMENDATIONS_TABLE, run.run_id, clock.timed(batches),
                                data.user_ids, data.item_ids, progress)
        result.written[RECOMMENDATIONS_TABLE] = clock.write(store, RECOMMENDATIONS_TABLE,
                                                            reader)
    with tqdm(total=items, unit="item", desc=SIMILAR_ITEMS_TABLE,
              disable=not show_progress) as progress:
        reader = _ranked_reader(
            SIMILAR_ITEMS_TABLE, run.run_id,
            clock.timed(als.similar_item_batches(model, items, k, unavailable=unavailable)),
            data.item_ids, data.item_ids, progress)
        result.written[SIMILAR_ITEMS_TABLE] = clock.write(store, SIMILAR_ITEMS_TABLE, reader)

    run.trained_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run.seconds = time.perf_counter() - started
    if record:
        record_run(store, run)
    return result


def append_run_rows(store: Warehouse, table: str, rows: pa.RecordBatchReader) -> int:
    """Append a run's rows. A table an older sqlrec wrote (rows without run_id, which no run can
    claim) is replaced instead."""
    mode = "append"
    if store.table_exists(table) and "run_id" not in store.query(
            f"select * from {store.qualified(table)} limit 0").column_names:
        mode = "replace"
    return store.write_table(table, rows, mode=mode)


def read_scores(store: Warehouse) -> InteractionMatrix:
    """w(u,i) of the last dbt build as a matrix; a clear error when dbt has not built it."""
    if not store.table_exists(SCORES_TABLE):
        raise UserError(f"table {SCORES_TABLE} not found; run `sqlrec build` (dbt build) before "
                        "`sqlrec train`")
    return interaction_matrix(store.read_table(SCORES_TABLE, ["user_id", "item_id", "score"]))


def train_ease(store: Warehouse, params: EaseParams, *, k: int = DEFAULT_K,
               show_progress: bool = True, write: bool = True, record: bool = True,
               details: dict[str, Any] | None = None) -> TrainResult:
    """EASE on the binary pattern of the scores: fit the closed form, write the top-k per user
    with the item that explains each row, append a model_runs row (as `train` does for ALS)."""
    from tqdm.auto import tqdm

    from sqlrec.recommend import ease

    started = time.perf_counter()
    if k < 1:
        raise UserError(f"--k must be at least 1, got {k}")
    data = read_scores(store)
    users, items = data.matrix.shape
    limit = ease.item_limit(params.memory_gb)
    if show_progress or items > limit:
        modelled = min(items, limit)
        print(f"sqlrec train: {users:,} users x {items:,} items, {data.nnz:,} scores; EASE on "
              f"{modelled:,} items" + (f" (the most popular that fit memory_gb "
                                       f"{params.memory_gb:g}; {items - modelled:,} left out)"
                                       if items > limit else ""))
    fit_started = time.perf_counter()
    model = ease.fit(data.matrix, params)
    fit_seconds = time.perf_counter() - fit_started
    run = ModelRun(
        run_id=uuid.uuid4().hex, model="ease", trained_at=None,
        params=json.dumps({**params.model_params(), "regularization": model.regularization,
                           "modelled_items": int(len(model.items)), "k": k, **(details or {})},
                          sort_keys=True),
        device="cpu", users=users, items=items, nnz=data.nnz, fit_seconds=fit_seconds,
        seconds_per_iteration=fit_seconds, seconds=None, metrics=None)
    result = TrainResult(model, data, run)
    if write:
        unavailable = unavailable_items(store, data.item_ids)
        with tqdm(total=users, unit="user", desc=EASE_RECOMMENDATIONS_TABLE,
                  disable=not show_progress) as progress:
            reader = _ranked_reader(
                EASE_RECOMMENDATIONS_TABLE, run.run_id,
                result.clock.timed(ease.recommend_batches(
                    model, data.matrix, k, unavailable=unavailable,
                    workers=ease.batch_workers(params.memory_gb, len(model.items)))),
                data.user_ids, data.item_ids, progress)
            result.written[EASE_RECOMMENDATIONS_TABLE] = result.clock.write(
                store, EASE_RECOMMENDATIONS_TABLE, reader)
        run.trained_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run.seconds = time.perf_counter() - started
    if write and record:
        record_run(store, run)
    return result


def record_run(store: Warehouse, run: ModelRun, metrics: dict[str, Any] | None = None) -> None:
    """Publish a run (with evaluation metrics, when given): append its model_runs row, the
    commit point after which dbt reads its rows, then delete the rows of every other run."""
    if metrics is not None:
        run = dataclasses.replace(run, metrics=json.dumps(metrics, sort_keys=True))
    store.write_table(RUNS_TABLE, run.to_table(), mode="append")
    store.execute([f"delete from {store.qualified(table)} "
                   f"where run_id is null or run_id <> '{run.run_id}'"
                   for table in MODEL_TABLES[run.model] if store.table_exists(table)])


def _ranked_batch(left_ids: pa.Array, right_ids: pa.Array, names: tuple[str, str],
                  left: np.ndarray, right: np.ndarray, scores: np.ndarray,
                  because: np.ndarray | None = None) -> pa.RecordBatch:
    """One batch of (left id, right id, score, rank[, because_item_id]) rows from aligned index
    arrays; because holds item columns, like right."""
    import numpy as np
    import pyarrow as pa

    starts = np.r_[True, left[1:] != left[:-1]] if len(left) else np.zeros(0, dtype=bool)
    group = np.cumsum(starts) - 1
    first_of_group = np.flatnonzero(starts)
    rank = np.arange(len(left)) - first_of_group[group] + 1 if len(left) else np.zeros(0)
    columns = {
        names[0]: left_ids.take(pa.array(left, type=pa.int32())),
        names[1]: right_ids.take(pa.array(right, type=pa.int32())),
        "score": pa.array(scores.astype(np.float64)),
        "rank": pa.array(rank.astype(np.int32)),
    }
    if because is not None:
        columns["because_item_id"] = right_ids.take(pa.array(because, type=pa.int32()))
    return pa.record_batch(columns)


def _ranked_reader(table: str, run_id: str, batches, left_ids, right_ids,
                   progress) -> pa.RecordBatchReader:
    import pyarrow as pa

    names = RANKED_KEYS[table]
    explained = table != SIMILAR_ITEMS_TABLE
    schema = pa.schema([(names[0], pa.string()), (names[1], pa.string()),
                        ("score", pa.float64()), ("rank", pa.int32())]
                       + ([("because_item_id", pa.string())] if explained else [])
                       + [("run_id", pa.string())])

    def generate():
        for done, left, right, scores, *because in batches:
            progress.update(done)
            batch = _ranked_batch(left_ids, right_ids, names, left, right, scores,
                                  because[0] if because else None)
            yield batch.append_column("run_id", pa.array([run_id] * batch.num_rows, pa.string()))

    return pa.RecordBatchReader.from_batches(schema, generate())


def train_models(store: Warehouse, params: PipelineParams, models: tuple[str, ...] = MODELS, *,
                 device: str = "auto", k: int = DEFAULT_K, show_progress: bool = True,
                 num_threads: int = 0, details: dict[str, Any] | None = None,
                 echo=None) -> list[TrainResult]:
    """Train each of `models` ('als', 'ease') in turn and publish each run; ``echo`` receives
    each run's summary line as soon as it is known."""
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise UserError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    results = []
    for model in models:
        if model == "als":
            result = train(store, params.als, device=device, k=k, show_progress=show_progress,
                           num_threads=num_threads, details=details)
        else:
            result = train_ease(store, params.ease, k=k, show_progress=show_progress,
                                details=details)
        if echo is not None:
            echo(result.summary())
        results.append(result)
    return results
