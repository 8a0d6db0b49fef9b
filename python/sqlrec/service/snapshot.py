"""The snapshot: the tables the service answers from, read once into memory and never changed.

Each table becomes a `RankedLists`: every list (one item's neighbours, one user's
recommendations) is a row range in shared columns, and the whole table is also pre-rendered as
JSON, one object per row, so that answering "the first k of list X" is a dict lookup and one
bytes slice. The columns (item codes, scores, sources) stay beside the JSON for the requests
that filter or combine lists.

"Viewed together" is served without sold-out items: the pre-rendered lists of
`item_similarity` are its available rows, ranked again; the complete rows, asked for rarely
(`include_unavailable`), are kept as typed columns and rendered per request. The session
lookup (`recent_items`) merges a few of those lists through `Snapshot.similar_order`, one order
of all their rows computed here (as Python lists per item, `Snapshot.session_neighbours`).

Everything here is built with vectorised Arrow and numpy operations: loading a snapshot of a
few million rows takes seconds, and the GIL is mostly free meanwhile for the requests that the
previous snapshot is still answering.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import time
from array import array
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlrec.service.lists import ItemLists, RankedLists, TableRows
from sqlrec.service.session import SessionNeighbours
from sqlrec.warehouse import Warehouse

# What the service reads, and the columns it needs of each table.
TABLE_COLUMNS: dict[str, list[str]] = {
    "int_items_enriched": ["item_id", "category", "is_available"],
    "item_similarity": ["item_id", "similar_item_id", "score", "rank", "common_users"],
    "user_recommendations": ["user_id", "item_id", "score", "rank", "source", "because_item_id"],
    "popular_items": ["scope", "category", "item_id", "score", "rank"],
    "user_recent_items": ["user_id", "item_id", "recency_rank"],
}

POPULAR_SOURCE = "popular"


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every item the snapshot knows, numbered in the order of their ids (so that ordering codes
    orders ids): per-item facts are arrays indexed by that code."""

    codes: dict[str, int]
    ids: list[str]
    ids_json: list[str]
    category_codes: array  # -1 when the item has no category; an array indexes fast from Python
    categories: list[str]
    category_index: dict[str, int]
    available: np.ndarray  # bool by code: false for sold-out items

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    version: str
    built_at: dt.datetime
    loaded_at: dt.datetime
    load_seconds: float
    row_counts: dict[str, int]
    # whatever the source uses to tell builds apart (not shown to clients)
    signature: Hashable = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent view of the warehouse. Never mutated: a reload builds a new one."""

    info: SnapshotInfo
    catalogue: Catalogue
    similar: TableRows  # keyed by item_id: the table's rows, sold-out neighbours included
    similar_available: RankedLists  # the same lists without sold-out items, ranks renumbered
    # int32 by row of similar_available: the row's place in one order of all its rows, score
    # descending, ties by item id. Merging a few lists (recent_items) is then sorting the places
    # of their rows: no scores compared per request.
    similar_order: np.ndarray
    # the same lists as Python lists in that order, made per item on its first session request
    session_neighbours: SessionNeighbours
    recommendations: RankedLists  # keyed by user_id
    popular: RankedLists  # keyed by None (global) or a category
    recent: ItemLists  # keyed by user_id
    version_json: bytes  # the version, JSON-encoded, for response bodies


def load_snapshot(store: Warehouse, *, version: str, built_at: dt.datetime,
                  signature: Hashable = None) -> Snapshot:
    """Read the service's tables from a warehouse and build a snapshot of them."""
    started = time.perf_counter()
    tables = {name: store.read_table(name, columns) for name, columns in TABLE_COLUMNS.items()}
    snapshot = build_snapshot(tables, version=version, built_at=built_at, signature=signature,
                              started=started)
    del tables
    _release_freed_memory()
    return snapshot


def build_snapshot(tables: dict[str, pa.Table], *, version: str, built_at: dt.datetime,
                   signature: Hashable = None, started: float | None = None) -> Snapshot:
    """Build a snapshot from the tables (as read by `load_snapshot`)."""
    started = time.perf_counter() if started is None else started
    tables = {name: _drop_null_keys(table) for name, table in tables.items()}
    row_counts = {name: table.num_rows for name, table in tables.items()}
    catalogue = _catalogue(tables)
    vocabulary = pa.array(catalogue.ids, pa.string())
    ids_json = pa.array(catalogue.ids_json, pa.string())

    similarity = tables["item_similarity"]
    neighbours = _codes(similarity["similar_item_id"], vocabulary)
    neighbour_available = catalogue.available[neighbours]
    similar = _table_rows(keys=similarity["item_id"], ranks=similarity["rank"],
                          item_codes=neighbours, scores=similarity["score"],
                          common_users=similarity["common_users"])
    # What "viewed together" serves by default, rendered once here so that it stays one slice.
    available_similarity = similarity.filter(pa.array(neighbour_available))
    similar_available = _ranked_lists(
        keys=available_similarity["item_id"], ranks=available_similarity["rank"],
        item_codes=neighbours[neighbour_available], scores=available_similarity["score"],
        ids_json=ids_json, renumber=True,
        extra=[("common_users", available_similarity["common_users"]),
               ("is_available", pa.repeat(pa.scalar(True), available_similarity.num_rows))],
    )
    recommendations_table = tables["user_recommendations"]
    recommendations = _ranked_lists(
        keys=recommendations_table["user_id"], ranks=recommendations_table["rank"],
        item_codes=_codes(recommendations_table["item_id"], vocabulary),
        scores=recommendations_table["score"], ids_json=ids_json,
        sources=recommendations_table["source"],
        because=_codes(recommendations_table["because_item_id"], vocabulary),
    )
    popular_table = tables["popular_items"]
    scope_keys = pc.binary_join_element_wise(
        popular_table["scope"], pc.fill_null(popular_table["category"], ""), ":")
    popular = _ranked_lists(
        keys=scope_keys, ranks=popular_table["rank"],
        item_codes=_codes(popular_table["item_id"], vocabulary), scores=popular_table["score"],
        ids_json=ids_json,
        sources=pa.repeat(pa.scalar(POPULAR_SOURCE), popular_table.num_rows),
        because=np.full(popular_table.num_rows, -1, dtype=np.int32),
        key_names=lambda key: None if key.startswith("global:") else key.split(":", 1)[1],
    )
    recent_table = tables["user_recent_items"]
    recent_order, recent_index = _group(recent_table["user_id"], recent_table["recency_rank"])
    recent = ItemLists(recent_index,
                       _codes(recent_table["item_id"], vocabulary)[recent_order])

    loaded_at = dt.datetime.now(dt.UTC)
    info = SnapshotInfo(
        version=version, built_at=built_at, loaded_at=loaded_at,
        load_seconds=round(time.perf_counter() - started, 3),
        row_counts=row_counts,
        signature=signature,
    )
    similar_order = _merge_order(similar_available)
    return Snapshot(info=info, catalogue=catalogue, similar=similar,
                    similar_available=similar_available, similar_order=similar_order,
                    session_neighbours=SessionNeighbours(similar_available, similar_order,
                                                          catalogue.codes),
                    recommendations=recommendations,
                    popular=popular, recent=recent,
                    version_json=json.dumps(version).encode())


def _merge_order(lists: RankedLists) -> np.ndarray:
    order = np.lexsort((lists.item_codes, -lists.scores))
    position = np.empty(len(order), dtype=np.int32)
    position[order] = np.arange(len(order), dtype=np.int32)
    return position


def _release_freed_memory() -> None:
    """Hand the transient memory of a load back to the system: a service keeps running for
    weeks, and without this its resident size holds the peak of every reload."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the allocator keeps what it keeps
        pass


def _drop_null_keys(table: pa.Table) -> pa.Table:
    """Rows without an id or a score cannot be served; the dbt tests keep them out anyway."""
    required = [column for column in ("item_id", "user_id", "similar_item_id", "score", "rank")
                if column in table.column_names]
    mask = None
    for column in required:
        valid = pc.is_valid(table[column])
        mask = valid if mask is None else pc.and_(mask, valid)
    if "score" in table.column_names:
        mask = pc.and_(mask, pc.is_finite(table["score"]))
    return table.filter(mask) if mask is not None else table


def _catalogue(tables: dict[str, pa.Table]) -> Catalogue:
    items = tables["int_items_enriched"]
    # Every id any table mentions, so that codes never miss, in order.
    mentioned = [items["item_id"], tables["item_similarity"]["item_id"],
                 tables["item_similarity"]["similar_item_id"],
                 tables["user_recommendations"]["item_id"],
                 tables["user_recommendations"]["because_item_id"].drop_null(),
                 tables["popular_items"]["item_id"], tables["user_recent_items"]["item_id"]]
    vocabulary = pc.unique(pa.chunked_array(
        [chunk for column in mentioned for chunk in column.cast(pa.string()).chunks],
        type=pa.string()))
    vocabulary = pc.take(vocabulary, pc.sort_indices(vocabulary))
    ids = vocabulary.to_pylist()

    item_ids = items["item_id"].combine_chunks().cast(pa.string())
    item_categories = items["category"].combine_chunks().cast(pa.string())
    item_positions = pc.index_in(vocabulary, value_set=item_ids)
    categories = sorted(c for c in pc.unique(item_categories).to_pylist() if c is not None)
    category_index = {category: code for code, category in enumerate(categories)}
    category_of_row = pc.index_in(item_categories, value_set=pa.array(categories, pa.string()))
    category_of_item = pc.take(category_of_row, item_positions)
    available_of_item = pc.take(items["is_available"].combine_chunks(), item_positions)
    # an item the catalogue does not list counts as available, as in int_items_enriched
    available = pc.fill_null(available_of_item, True).to_numpy(zero_copy_only=False)
    return Catalogue(
        codes={item_id: code for code, item_id in enumerate(ids)},
        ids=ids,
        ids_json=[json.dumps(item_id) for item_id in ids],
        category_codes=array("i", pc.fill_null(category_of_item, -1).to_numpy()
                             .astype(np.int32).tobytes()),
        categories=categories,
        category_index=category_index,
        available=available,
    )


def _codes(ids: pa.ChunkedArray, vocabulary: pa.Array) -> np.ndarray:
    """Catalogue codes of ids; -1 for a null id."""
    codes = pc.fill_null(pc.index_in(ids.cast(pa.string()), value_set=vocabulary), -1)
    return codes.to_numpy().astype(np.int32)


def _group(keys: pa.ChunkedArray, ranks: pa.ChunkedArray) -> tuple[np.ndarray, dict]:
    """The row order that makes each key's rows contiguous in rank order, and each key's range."""
    encoded = _combined(pc.dictionary_encode(keys.cast(pa.string())))
    key_codes = encoded.indices.to_numpy()
    order = np.lexsort((ranks.to_numpy(), key_codes))
    sorted_codes = key_codes[order]
    starts = np.flatnonzero(np.diff(sorted_codes)) + 1
    starts = np.concatenate(([0], starts)) if len(sorted_codes) else starts
    stops = np.concatenate((starts[1:], [len(sorted_codes)])) if len(sorted_codes) else starts
    names = encoded.dictionary.to_pylist()
    index = {names[code]: (start, stop) for code, start, stop
             in zip(sorted_codes[starts].tolist(), starts.tolist(), stops.tolist(), strict=True)}
    return order, index


def _table_rows(*, keys, ranks, item_codes: np.ndarray, scores, common_users) -> TableRows:
    order, index = _group(keys, ranks)
    take = pa.array(order)
    return TableRows(
        index=index, item_codes=item_codes[order],
        scores=_combined(pc.take(scores, take)).cast(pa.float64()).to_numpy(),
        ranks=_combined(pc.take(ranks, take)).cast(pa.int32()).to_numpy(),
        common_users=_combined(pc.take(common_users, take)).cast(pa.int32()).to_numpy())


def _ranked_lists(*, keys, ranks, item_codes: np.ndarray, scores, ids_json: pa.Array,
                  sources=None, because: np.ndarray | None = None, extra=(), key_names=None,
                  renumber: bool = False) -> RankedLists:
    """The lists of a table, ordered by key then rank. `renumber`: each row's rank becomes its
    position in its list (for lists that leave out some of the table's rows). `because`: each
    row's reason item code (-1 none), rendered as because_item_id."""
    order, index = _group(keys, ranks)
    if key_names is not None:
        index = {key_names(key): rows for key, rows in index.items()}
    take = pa.array(order)
    item_codes = item_codes[order]
    scores = pc.take(scores, take).combine_chunks().cast(pa.float64())
    if renumber:
        ranks = pa.array(_positions_in_lists(index.values(), len(order)))
    else:
        ranks = pc.take(ranks, take).combine_chunks()

    source_codes, source_names = None, []
    parts: list = ['{"item_id":', pc.take(ids_json, pa.array(item_codes)),
                   ',"score":', _json_numbers(scores), ',"rank":', ranks.cast(pa.string())]
    for name, column in extra:
        parts += [f',"{name}":', _combined(pc.take(column, take)).cast(pa.string())]
    if sources is not None:
        encoded = _combined(pc.dictionary_encode(pc.take(sources, take)))
        source_names = encoded.dictionary.to_pylist()
        source_codes = encoded.indices.to_numpy().astype(np.int8)
        sources_json = pa.array([json.dumps(name) for name in source_names], pa.string())
        parts += [',"source":', pc.take(sources_json, encoded.indices)]
    if because is not None:
        because = because[order]
        reasons_json = pc.take(pa.array([*ids_json.to_pylist(), "null"], pa.string()),
                               pa.array(np.where(because >= 0, because, len(ids_json))))
        parts += [',"because_item_id":', reasons_json]
    parts.append("},")
    rows_json = pc.binary_join_element_wise(*parts, "").cast(pa.large_string())
    body, row_offsets = _buffer_of(rows_json)
    return RankedLists(index=index, item_codes=item_codes, scores=scores.to_numpy(),
                       source_codes=source_codes, source_names=source_names,
                       sources_json=[json.dumps(name) for name in source_names],
                       body=body, row_offsets=row_offsets, because_codes=because)


def _positions_in_lists(rows, row_count: int) -> np.ndarray:
    """1, 2, ... along each list, for lists covering rows 0..row_count-1 as (start, stop)."""
    bounds = np.array(sorted(rows), dtype=np.int64).reshape(-1, 2)
    starts = np.repeat(bounds[:, 0], bounds[:, 1] - bounds[:, 0])
    return np.arange(row_count, dtype=np.int64) - starts + 1


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _json_numbers(values: pa.Array) -> pa.Array:
    """Shortest round-trip text of each float (Arrow's, like Python's repr) as a JSON number."""
    text = values.cast(pa.string())
    # Arrow writes 1.0 as "1"; keep floats recognisable as floats.
    has_point = pc.match_substring_regex(text, r"[.eE]")
    return pc.if_else(has_point, text, pc.binary_join_element_wise(text, ".0", ""))


def _buffer_of(strings: pa.LargeStringArray) -> tuple[bytes, array]:
    """The concatenated bytes of a string array and where each string starts in them."""
    if len(strings) == 0:
        return b"", array("q", [0])
    _validity, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        strings.offset:strings.offset + len(strings) + 1]
    start = int(offsets[0]) if len(offsets) else 0
    body = data_buffer.to_pybytes()[start:int(offsets[-1])] if data_buffer is not None else b""
    row_offsets = array("q")
    row_offsets.frombytes((offsets - start).astype(np.int64).tobytes())
    return body, row_offsets
