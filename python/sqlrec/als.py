"""`sqlrec train`: ALS factors on the user–item scores, written back as tables.

The step reads w(u,i) (``int_user_item_scores.score``) from the active dbt target through
`sqlrec.warehouse`, builds a CSR matrix and fits `implicit`'s ALS with confidence

    C(u,i) = 1 + alpha · w(u,i)

(Hu, Koren & Volinsky; implicit takes the matrix values as the confidence of a preference of 1).
It then precomputes, in batches of users or items so that no users × items matrix ever exists:

- ``als_user_recommendations(user_id, item_id, score, rank)``: top-k per user, never an item the
  user already has a score for, never an unavailable item;
- ``als_similar_items(item_id, similar_item_id, score, rank)``: nearest available items by the
  cosine of their factors (positive cosines only, never the item itself);
- ``model_runs``: one row per run (parameters as JSON, device, sizes, seconds, metrics as JSON
  when an evaluation computed them).

``--device auto`` trains on the GPU when ``implicit.gpu.HAS_CUDA``, else on the CPU. Parameters
come from the file that `sqlrec tune` writes (``data/als_params.json`` or $SQLREC_ALS_PARAMS);
options on the command line override it. ``half_life_days`` in that file is a dbt var: it shapes
the scores when dbt builds them, which is why `sqlrec refresh` (dbt build → train → dbt build)
passes it to dbt.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlrec import project
from sqlrec.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import scipy.sparse as sp

    from sqlrec.warehouse import Warehouse

SCORES_TABLE = "int_user_item_scores"
ITEMS_TABLE = "int_items_enriched"
RECOMMENDATIONS_TABLE = "als_user_recommendations"
SIMILAR_ITEMS_TABLE = "als_similar_items"
RUNS_TABLE = "model_runs"
DEVICES = ("auto", "cpu", "gpu")
DEFAULT_K = 50
# Rows of the users x items (or items x items) score block implicit builds per batch are its own
# business; these only bound how many rows one batch of results holds before it is written.
USERS_PER_BATCH = 20_000
ITEMS_PER_BATCH = 5_000


@dataclass(frozen=True)
class AlsParams:
    """The ALS hyperparameters, plus the dbt var that shapes the scores it trains on.

    The defaults are the "untuned" model: implicit's own defaults except ``alpha``, which here
    scales w(u,i) into the confidence 1 + alpha · w.
    """

    factors: int = 100
    regularization: float = 0.01
    alpha: float = 1.0
    iterations: int = 15
    random_state: int = 42
    # None: whatever the dbt project's half_life_days var is when the scores are built.
    half_life_days: float | None = None

    def with_overrides(self, **overrides: Any) -> AlsParams:
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def model_params(self) -> dict[str, Any]:
        return {"factors": self.factors, "regularization": self.regularization,
                "alpha": self.alpha, "iterations": self.iterations,
                "random_state": self.random_state}


def default_params_path() -> Path:
    """Where `sqlrec tune` saves and `sqlrec train` reads parameters: $SQLREC_ALS_PARAMS or
    data/als_params.json in the project."""
    configured = os.environ.get("SQLREC_ALS_PARAMS")
    return Path(configured) if configured else project.project_dir() / "data" / "als_params.json"


def load_params(path: Path | None = None) -> tuple[AlsParams, Path | None]:
    """The saved parameters (the defaults when no file exists) and the file they came from."""
    path = Path(path) if path else default_params_path()
    if not path.is_file():
        return AlsParams(), None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from error
    known = {f.name for f in dataclasses.fields(AlsParams)}
    values = {key: saved[key] for key in known if saved.get(key) is not None}
    try:
        params = AlsParams(**values)
    except TypeError as error:
        raise UserError(f"{path}: {error}") from error
    return params, path


def save_params(params: AlsParams, path: Path | None = None, **details: Any) -> Path:
    """Write parameters (and how they were found) where `sqlrec train` picks them up."""
    path = Path(path) if path else default_params_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**dataclasses.asdict(params), **details}, indent=2) + "\n")
    return path


def resolve_device(device: str) -> str:
    """'cpu' or 'gpu' for a requested device: auto picks the GPU when implicit can use CUDA."""
    if device not in DEVICES:
        raise UserError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    import implicit.gpu

    if device == "auto":
        return "gpu" if implicit.gpu.HAS_CUDA else "cpu"
    if device == "gpu" and not implicit.gpu.HAS_CUDA:
        raise UserError("--device gpu: implicit has no CUDA support here (implicit.gpu.HAS_CUDA "
                        "is False); use --device cpu or auto")
    return device


@dataclass
class InteractionMatrix:
    """w(u,i) as a users × items CSR matrix (float32) and the ids of its rows and columns."""

    matrix: sp.csr_matrix
    user_ids: pa.Array
    item_ids: pa.Array

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)


def interaction_matrix(scores: pa.Table) -> InteractionMatrix:
    """The CSR matrix of a (user_id, item_id, score) table; ids become dense row/column numbers.

    Rows whose score is null or not positive carry no preference and are left out. Raises
    UserError when nothing is left.
    """
    import numpy as np
    import pyarrow.compute as pc
    import scipy.sparse as sp

    missing = {"user_id", "item_id", "score"} - set(scores.column_names)
    if missing:
        raise UserError(f"the score table lacks the column(s) {', '.join(sorted(missing))}")
    usable = pc.and_(pc.is_valid(scores["score"]), pc.greater(scores["score"], 0))
    usable = pc.and_(usable, pc.and_(pc.is_valid(scores["user_id"]),
                                     pc.is_valid(scores["item_id"])))
    scores = scores.filter(usable)
    if scores.num_rows == 0:
        raise UserError(f"{SCORES_TABLE} has no rows with a positive score: nothing to train on. "
                        "Check that the lake has valid events (see events_rejected) and run "
                        "`sqlrec build`")
    rows, user_ids = _codes_in_id_order(scores["user_id"])
    columns, item_ids = _codes_in_id_order(scores["item_id"])
    values = scores["score"].to_numpy().astype(np.float32)
    matrix = sp.csr_matrix((values, (rows, columns)),
                           shape=(len(user_ids), len(item_ids)), dtype=np.float32)
    matrix.sum_duplicates()
    return InteractionMatrix(matrix, user_ids, item_ids)


def _codes_in_id_order(ids: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dense numbers of the ids, in the order of the ids themselves, and the ids by number.

    Numbering by first appearance would tie the model to the order the engine returned the rows
    in (which neither DuckDB with several threads nor Trino keeps): ALS's random start is drawn
    per row and column number, so the same scores would train different models.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(ids.cast(pa.string())).combine_chunks()
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    number_of_code = np.empty(len(order), dtype=np.int32)
    number_of_code[order] = np.arange(len(order), dtype=np.int32)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    return number_of_code[codes], encoded.dictionary.take(pa.array(order))


def confidence(matrix: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """C = 1 + alpha · w on the stored entries (the unobserved ones keep confidence 1)."""
    confident = matrix.copy()
    confident.data = (1.0 + alpha * confident.data).astype("float32")
    return confident


def fit(matrix: sp.csr_matrix, params: AlsParams, *, device: str = "cpu",
        show_progress: bool = False, num_threads: int = 0):
    """Fit ALS on a users × items matrix of w(u,i); return the implicit model (CPU or GPU).

    BLAS is held to one thread while implicit runs its own threads (implicit's advice).
    """
    import threadpoolctl

    with threadpoolctl.threadpool_limits(1, "blas"):
        if device == "gpu":
            import implicit.gpu.als

            model = implicit.gpu.als.AlternatingLeastSquares(
                factors=params.factors, regularization=params.regularization, alpha=1.0,
                iterations=params.iterations, random_state=params.random_state)
        else:
            import implicit.cpu.als

            model = implicit.cpu.als.AlternatingLeastSquares(
                factors=params.factors, regularization=params.regularization, alpha=1.0,
                iterations=params.iterations, random_state=params.random_state,
                num_threads=num_threads)
        model.fit(confidence(matrix, params.alpha), show_progress=show_progress)
    return model


def available_items(items: int, unavailable: np.ndarray | None) -> np.ndarray | None:
    """The item columns that may be recommended (None: all of them)."""
    import numpy as np

    if unavailable is None or len(unavailable) == 0:
        return None
    allowed = np.ones(items, dtype=bool)
    allowed[np.asarray(unavailable, dtype=np.int64)] = False
    return np.flatnonzero(allowed).astype(np.int32)


def recommend_batches(model, matrix: sp.csr_matrix, k: int, *,
                      unavailable: np.ndarray | None = None,
                      users_per_batch: int = USERS_PER_BATCH,
                      ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Top-k per batch of users: (users done, user rows, item columns, scores), the last three
    flat and aligned.

    Items the user already has (their row of ``matrix``) and ``unavailable`` item columns are
    never recommended; a user with fewer eligible items gets a shorter list, and a user with no
    items at all (an empty row, hence no factors worth the name) gets none. Within a user the
    arrays are ordered best first.
    """
    import numpy as np
    import threadpoolctl

    users, items = matrix.shape
    # Scoring only the available items is both the filter and less work than filtering after.
    candidates = available_items(items, unavailable)
    n = min(k, items if candidates is None else len(candidates))
    if n <= 0:
        return
    active = np.flatnonzero(np.diff(matrix.indptr) > 0).astype(np.int32)
    for start in range(0, len(active), users_per_batch):
        batch = active[start:start + users_per_batch]
        with threadpoolctl.threadpool_limits(1, "blas"):
            ids, scores = model.recommend(batch, matrix[batch], N=n,
                                          filter_already_liked_items=True, items=candidates)
        ids = np.asarray(ids).reshape(len(batch), n)
        scores = np.asarray(scores).reshape(len(batch), n)
        # implicit marks filtered slots with -FLT_MAX; they sort last, so a list just ends early
        keep = scores > np.finfo(np.float32).min / 2
        yield len(batch), np.repeat(batch, keep.sum(axis=1)), ids[keep], scores[keep]


def similar_item_batches(model, items: int, k: int, *, unavailable: np.ndarray | None = None,
                         items_per_batch: int = ITEMS_PER_BATCH,
                         ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Top-k per batch of items: (items done, items, similar items, cosines), best first, never
    the item itself, never an unavailable item and never a cosine that is not positive."""
    import numpy as np
    import threadpoolctl

    candidates = available_items(items, unavailable)
    n = min(k + 1, items if candidates is None else len(candidates))
    if n <= 0:
        return
    for start in range(0, items, items_per_batch):
        batch = np.arange(start, min(start + items_per_batch, items), dtype=np.int32)
        with threadpoolctl.threadpool_limits(1, "blas"):
            ids, scores = model.similar_items(batch, N=n, items=candidates)
        ids = np.asarray(ids).reshape(len(batch), n)
        scores = np.asarray(scores).reshape(len(batch), n)
        keep = (ids != batch[:, None]) & (scores > 0)
        # at most k per item, even when the item itself was not among its own neighbours
        keep &= np.cumsum(keep, axis=1) <= k
        yield len(batch), np.repeat(batch, keep.sum(axis=1)), ids[keep], scores[keep]


def _ranked_batch(left_ids: pa.Array, right_ids: pa.Array, names: tuple[str, str],
                  left: np.ndarray, right: np.ndarray, scores: np.ndarray) -> pa.RecordBatch:
    """One batch of (left id, right id, score, rank) rows from aligned index arrays."""
    import numpy as np
    import pyarrow as pa

    starts = np.r_[True, left[1:] != left[:-1]] if len(left) else np.zeros(0, dtype=bool)
    group = np.cumsum(starts) - 1
    first_of_group = np.flatnonzero(starts)
    rank = np.arange(len(left)) - first_of_group[group] + 1 if len(left) else np.zeros(0)
    return pa.record_batch({
        names[0]: left_ids.take(pa.array(left, type=pa.int32())),
        names[1]: right_ids.take(pa.array(right, type=pa.int32())),
        "score": pa.array(scores.astype(np.float64)),
        "rank": pa.array(rank.astype(np.int32)),
    })


RANKED_SCHEMAS = {
    RECOMMENDATIONS_TABLE: ("user_id", "item_id"),
    SIMILAR_ITEMS_TABLE: ("item_id", "similar_item_id"),
}


def _ranked_reader(table: str, batches, left_ids, right_ids, progress) -> pa.RecordBatchReader:
    import pyarrow as pa

    names = RANKED_SCHEMAS[table]
    schema = pa.schema([(names[0], pa.string()), (names[1], pa.string()),
                        ("score", pa.float64()), ("rank", pa.int32())])

    def generate():
        for done, left, right, scores in batches:
            progress.update(done)
            yield _ranked_batch(left_ids, right_ids, names, left, right, scores)

    return pa.RecordBatchReader.from_batches(schema, generate())


@dataclass
class TrainResult:
    """What one training run produced: the model, its matrix and its model_runs row."""

    model: Any
    data: InteractionMatrix
    run: dict[str, Any] = field(default_factory=dict)


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
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    device = resolve_device(device)
    if k < 1:
        raise UserError(f"--k must be at least 1, got {k}")
    if not store.table_exists(SCORES_TABLE):
        raise UserError(f"table {SCORES_TABLE} not found; run `sqlrec build` (dbt build) before "
                        "`sqlrec train`")
    data = interaction_matrix(store.read_table(SCORES_TABLE, ["user_id", "item_id", "score"]))
    users, items = data.matrix.shape
    if show_progress:
        print(f"sqlrec train: {users:,} users x {items:,} items, {data.nnz:,} scores; "
              f"ALS on the {device.upper()} with {json.dumps(params.model_params())}")
    fit_started = time.perf_counter()
    model = fit(data.matrix, params, device=device, show_progress=show_progress,
                num_threads=num_threads)
    fit_seconds = time.perf_counter() - fit_started

    run = {
        "run_id": uuid.uuid4().hex,
        "trained_at": None,
        "params": json.dumps({**params.model_params(), "half_life_days": params.half_life_days,
                              "k": k, **(details or {})}, sort_keys=True),
        "device": device,
        "users": users,
        "items": items,
        "nnz": data.nnz,
        "fit_seconds": fit_seconds,
        "seconds_per_iteration": fit_seconds / max(params.iterations, 1),
        "seconds": None,
        "metrics": None,
    }
    result = TrainResult(model, data, run)
    if not write:
        run["seconds"] = time.perf_counter() - started
        return result

    unavailable = unavailable_items(store, data.item_ids)
    written = {}
    with tqdm(total=int((data.matrix.getnnz(axis=1) > 0).sum()), unit="user",
              desc=RECOMMENDATIONS_TABLE, disable=not show_progress) as progress:
        reader = _ranked_reader(
            RECOMMENDATIONS_TABLE,
            recommend_batches(model, data.matrix, k, unavailable=unavailable),
            data.user_ids, data.item_ids, progress)
        written[RECOMMENDATIONS_TABLE] = store.write_table(RECOMMENDATIONS_TABLE, reader)
    with tqdm(total=items, unit="item", desc=SIMILAR_ITEMS_TABLE,
              disable=not show_progress) as progress:
        reader = _ranked_reader(
            SIMILAR_ITEMS_TABLE, similar_item_batches(model, items, k, unavailable=unavailable),
            data.item_ids, data.item_ids, progress)
        written[SIMILAR_ITEMS_TABLE] = store.write_table(SIMILAR_ITEMS_TABLE, reader)

    run["trained_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run["seconds"] = time.perf_counter() - started
    if record:
        record_run(store, run)
    if show_progress:
        print(f"sqlrec train: wrote {written[RECOMMENDATIONS_TABLE]:,} rows to "
              f"{RECOMMENDATIONS_TABLE}, {written[SIMILAR_ITEMS_TABLE]:,} to "
              f"{SIMILAR_ITEMS_TABLE} and run {run['run_id']} to {RUNS_TABLE} in "
              f"{run['seconds']:.1f} s (fit {fit_seconds:.1f} s, "
              f"{run['seconds_per_iteration']:.2f} s/iteration)")
    return result


def record_run(store: Warehouse, run: dict[str, Any],
               metrics: dict[str, Any] | None = None) -> None:
    """Append a run (with evaluation metrics, when given) to model_runs."""
    if metrics is not None:
        run = {**run, "metrics": json.dumps(metrics, sort_keys=True)}
    store.write_table(RUNS_TABLE, runs_table([run]), mode="append")


def runs_table(runs: list[dict[str, Any]]) -> pa.Table:
    """model_runs rows with fixed column types, so that appends always line up."""
    import pyarrow as pa

    schema = pa.schema([
        ("run_id", pa.string()), ("trained_at", pa.timestamp("us")), ("params", pa.string()),
        ("device", pa.string()), ("users", pa.int64()), ("items", pa.int64()),
        ("nnz", pa.int64()), ("fit_seconds", pa.float64()),
        ("seconds_per_iteration", pa.float64()), ("seconds", pa.float64()),
        ("metrics", pa.string()),
    ])
    return pa.Table.from_pylist(runs, schema=schema)


# ---------- command line

def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train ALS on the user-item scores; write als_* tables and a model_runs row",
        description="Read int_user_item_scores from the active dbt target, fit implicit's ALS "
        "(confidence 1 + alpha * score) and write als_user_recommendations, als_similar_items "
        "and a model_runs row. Run `sqlrec build` before (the scores) and after (the blend in "
        "user_recommendations), or `sqlrec refresh` for all three.",
    )
    add_train_arguments(parser)
    parser.set_defaults(func=_train_command)

    refresh = subparsers.add_parser(
        "refresh",
        help="dbt build, sqlrec train, dbt build: the scores, the factors, then the blend",
        description="The whole personalised pipeline in order: `dbt build` (with half_life_days "
        "from the parameters file when it has one), `sqlrec train`, then `dbt build` of "
        "the models that read the ALS tables (the blend in user_recommendations).",
    )
    refresh.add_argument("--lake", type=Path, default=None,
                         help="the Parquet lake (default: env SQLREC_LAKE or data/lake)")
    refresh.add_argument("--vars", default="{}", help="more dbt vars, as JSON or YAML text")
    add_train_arguments(refresh)
    refresh.set_defaults(func=_refresh_command)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto: the GPU when implicit.gpu.HAS_CUDA, else the CPU")
    parser.add_argument("--params", type=Path, default=None,
                        help="parameters file (default: $SQLREC_ALS_PARAMS or "
                        "data/als_params.json, written by `sqlrec tune`)")
    parser.add_argument("--factors", type=int)
    parser.add_argument("--regularization", type=float)
    parser.add_argument("--alpha", type=float, help="confidence = 1 + alpha * score")
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--random-state", type=int)
    parser.add_argument("--k", type=int, default=DEFAULT_K,
                        help="recommendations per user and similar items per item "
                        "(default %(default)s)")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for implicit (0 = every core)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def params_from_args(args: argparse.Namespace) -> tuple[AlsParams, Path | None]:
    params, source = load_params(args.params)
    if args.params and source is None:
        raise UserError(f"no parameters file at {args.params}")
    params = params.with_overrides(factors=args.factors, regularization=args.regularization,
                                   alpha=args.alpha, iterations=args.iterations,
                                   random_state=args.random_state)
    return params, source


def _train_command(args: argparse.Namespace, half_life_days: float | None = None) -> int:
    from sqlrec import warehouse

    params, source = params_from_args(args)
    if half_life_days is None and params.half_life_days is not None and not args.no_progress:
        print(f"sqlrec train: note: half_life_days {params.half_life_days:g} from {source} is a "
              "dbt var; it shapes the scores only when dbt builds them with it (`sqlrec refresh` "
              "does; or `sqlrec build --vars '{half_life_days: ...}'`)")
    # The run records the half-life only when it knows the scores were built with it.
    params = dataclasses.replace(params, half_life_days=half_life_days)
    train(warehouse.connect(), params, device=args.device, k=args.k,
          show_progress=not args.no_progress, num_threads=args.threads,
          details={"params_file": str(source) if source else None})
    return 0


def _refresh_command(args: argparse.Namespace) -> int:
    import yaml

    from sqlrec import pipeline

    extra_vars = yaml.safe_load(args.vars) or {}
    if not isinstance(extra_vars, dict):
        raise UserError(f"--vars must be a mapping, got {args.vars!r}")
    params, _ = params_from_args(args)
    if params.half_life_days is not None:
        extra_vars.setdefault("half_life_days", params.half_life_days)
    lake = args.lake or project.default_lake_dir()
    pipeline.build(lake, extra_vars=extra_vars)
    _train_command(args, half_life_days=extra_vars.get("half_life_days"))
    # the ALS sources and what reads them: the staged ALS view, the blend and their tests
    pipeline.build(lake, extra_vars=extra_vars, select="source:als+")
    return 0
