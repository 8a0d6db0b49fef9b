"""The shapes a snapshot holds its tables in: ranked lists pre-rendered as JSON (`RankedLists`),
typed rows rendered per request (`TableRows`) and unranked item lists (`ItemLists`)."""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class RankedLists:
    """Ranked lists sharing one set of columns: the list of `key` is rows `index[key]`.

    `body` holds each row rendered as a JSON object followed by a comma, in row order, and
    `row_offsets[r]` is where row r starts in it; rows of one list are contiguous and in rank
    order, so the first n items of a list are one slice of `body`.
    """

    index: dict[Hashable, tuple[int, int]]
    item_codes: np.ndarray  # int32 codes into the Catalogue
    scores: np.ndarray  # float64
    source_codes: np.ndarray | None  # int8 codes into source_names, when the table has sources
    source_names: list[str]
    sources_json: list[str]  # source_names, JSON-encoded
    body: bytes
    row_offsets: array
    because_codes: np.ndarray | None = None  # int32 codes of each row's reason item, -1 none

    def json_items(self, start: int, stop: int) -> bytes:
        """Rows [start, stop) as the inside of a JSON array."""
        if stop <= start:
            return b""
        return self.body[self.row_offsets[start]:self.row_offsets[stop] - 1]

    @property
    def row_count(self) -> int:
        return len(self.item_codes)


@dataclass(frozen=True, slots=True)
class TableRows:
    """A table's lists as typed columns only, rendered per request: for what is asked rarely,
    where a second pre-rendered copy of the table would cost as much memory as the first."""

    index: dict[Hashable, tuple[int, int]]
    item_codes: np.ndarray  # int32
    scores: np.ndarray  # float64
    ranks: np.ndarray  # int32
    common_users: np.ndarray  # int32


@dataclass(frozen=True, slots=True)
class ItemLists:
    """Unranked per-key item lists (a user's recent items): key -> rows of `item_codes`."""

    index: dict[Hashable, tuple[int, int]]
    item_codes: np.ndarray

    def codes_of(self, key: Hashable) -> list[int]:
        rows = self.index.get(key)
        return self.item_codes[rows[0]:rows[1]].tolist() if rows else []
