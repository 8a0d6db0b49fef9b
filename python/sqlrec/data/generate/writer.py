"""Writing the generated lake: one Parquet file per day of events, one for the catalogue, with
pinned writer options so that the same arguments give byte-identical files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlrec.data.generate.bad_rows import BadRows
from sqlrec.data.generate.catalogue import Catalogue
from sqlrec.data.generate.codes import DAY_US, TYPE_VOCABULARY
from sqlrec.data.generate.sessions import Events

PARQUET_OPTIONS = {
    "compression": "snappy",
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "row_group_size": 1 << 20,
}
EVENT_FILE = "part-00000.parquet"
MIN_EVENT_ID_DIGITS = 10


def _fixed_width_ids(prefix: str, numbers: Any, width: int) -> Any:
    """A pyarrow string array of prefix + zero-padded numbers, built without Python strings."""
    import numpy as np
    import pyarrow as pa

    n = len(numbers)
    head = prefix.encode()
    row = len(head) + width
    chars = np.empty((n, row), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for j in range(row - 1, len(head) - 1, -1):
        chars[:, j] = rest % 10 + 48
        rest //= 10
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(chars.tobytes())])


def _id_column(numbers: Any, null: Any, int_ids: bool, vocab: Any) -> Any:
    """ids by internal index: int64 numbers, or strings taken from a prebuilt vocabulary;
    ``numbers`` is (public numbers, internal indexes)."""
    import pyarrow as pa

    if int_ids:
        return pa.array(numbers[0], type=pa.int64(), mask=null)
    return vocab.take(pa.array(numbers[1], type=pa.int32(), mask=null))


def write_events(root: Path, ev: Events, bad: BadRows, cat: Catalogue, users: int,
                 first: dt.date, days: int, int_ids: bool, progress: Any) -> list[int]:
    """One file per day that has rows, bad rows merged in by time (nulls last); the days
    written, as offsets from ``first``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("event_id", pa.string()),
        ("user_id", pa.int64() if int_ids else pa.string()),
        ("item_id", pa.int64() if int_ids else pa.string()),
        ("event_type", pa.string()),
        ("event_time", pa.timestamp("us")),
    ])
    n_valid = len(ev.time)
    width = max(MIN_EVENT_ID_DIGITS, len(str(n_valid + len(bad.number))))
    user_vocab = item_vocab = None
    if not int_ids:
        user_vocab = pa.array([f"u_{u}" for u in range(1, users + 1)], type=pa.string())
        item_vocab = pa.array([f"i_{n}" for n in cat.number], type=pa.string())
    type_vocab = pa.array(TYPE_VOCABULARY, type=pa.string())
    item_number = cat.number

    bounds = np.searchsorted(ev.time, np.append(ev.day_start, ev.day_start[-1] + DAY_US))
    bad_day = np.searchsorted(bounds, bad.source, side="right") - 1
    bad_bounds = np.searchsorted(bad_day, np.arange(days + 1))
    written = []
    for d in range(days):
        progress.update()
        lo, hi = int(bounds[d]), int(bounds[d + 1])
        b_lo, b_hi = int(bad_bounds[d]), int(bad_bounds[d + 1])
        if hi == lo and b_hi == b_lo:
            continue
        user = np.concatenate([ev.user[lo:hi], bad.user[b_lo:b_hi]])
        item = np.concatenate([ev.item[lo:hi], bad.item[b_lo:b_hi]])
        kind = np.concatenate([ev.kind[lo:hi], bad.kind[b_lo:b_hi]])
        when = np.concatenate([ev.time[lo:hi], bad.time[b_lo:b_hi]])
        number = np.concatenate([np.arange(lo + 1, hi + 1, dtype=np.int64),
                                 bad.number[b_lo:b_hi]])
        user_null = np.concatenate([np.zeros(hi - lo, dtype=bool), bad.user_null[b_lo:b_hi]])
        item_null = np.concatenate([np.zeros(hi - lo, dtype=bool), bad.item_null[b_lo:b_hi]])
        time_null = np.concatenate([np.zeros(hi - lo, dtype=bool), bad.time_null[b_lo:b_hi]])
        if b_hi > b_lo:  # merge the bad rows in by time, nulls last
            order = np.argsort(np.where(time_null, np.iinfo(np.int64).max, when), kind="stable")
            user, item, kind, when, number = user[order], item[order], kind[order], \
                when[order], number[order]
            user_null, item_null, time_null = user_null[order], item_null[order], time_null[order]
        table = pa.Table.from_arrays([
            _fixed_width_ids("e_", number, width),
            _id_column((user.astype(np.int64) + 1, user), user_null, int_ids, user_vocab),
            _id_column((item_number[item], item), item_null, int_ids, item_vocab),
            type_vocab.take(pa.array(kind.astype(np.int32))),
            pa.array(when, type=pa.timestamp("us"), mask=time_null),
        ], schema=schema)
        folder = root / f"event_date={(first + dt.timedelta(days=d)).isoformat()}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / EVENT_FILE, **PARQUET_OPTIONS)
        written.append(d)
    return written


def write_catalogue(path: Path, cat: Catalogue, int_ids: bool) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    order = np.argsort(cat.number, kind="stable")  # rows by public id
    number = cat.number[order]
    if int_ids:
        item_id = pa.array(number, type=pa.int64())
    else:
        item_id = pa.array([f"i_{n}" for n in number], type=pa.string())
    categories = pa.array(cat.category_names, type=pa.string())
    brands = pa.array(cat.brand_names, type=pa.string())
    table = pa.Table.from_arrays(
        [
            item_id,
            categories.take(pa.array(cat.category[order])),
            brands.take(pa.array(cat.brand[order])),
            pa.array(cat.available[order], type=pa.bool_()),
            pa.array(cat.price[order], type=pa.float64()),
        ],
        names=["item_id", "category", "brand", "is_available", "price"],
    )
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, **PARQUET_OPTIONS)
