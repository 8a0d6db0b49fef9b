"""The lake's layout, the project's input contract::

    <lake>/events/event_date=YYYY-MM-DD/*.parquet   user_id, item_id, event_type, event_time
                                                    [, event_id]
    <lake>/catalog/*.parquet  (optional)            item_id, category, brand, is_available, price
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def has_event_files(lake_dir: Path) -> bool:
    """Whether the lake holds at least one events file where the contract puts them."""
    return any((Path(lake_dir) / "events").glob("*/*.parquet"))


def write_lake(events: pd.DataFrame, out: Path, catalogue: pd.DataFrame | None = None) -> None:
    """Write events (user_id, item_id, event_type, event_at, optional event_id) as a lake in the
    input contract's layout, replacing what ``out`` held: events/event_date=YYYY-MM-DD/*.parquet
    with an event_time column, and catalog/items.parquet when a catalogue is given."""
    import shutil

    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    out = Path(out)
    for folder in ("events", "catalog"):
        shutil.rmtree(out / folder, ignore_errors=True)
    columns = [c for c in ("event_id", "user_id", "item_id", "event_type") if c in events]
    frame = events[columns].copy()
    frame["event_time"] = events["event_at"].astype("datetime64[us]")
    frame["event_date"] = events["event_at"].dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    ds.write_dataset(
        table, out / "events", format="parquet",
        partitioning=ds.partitioning(pa.schema([("event_date", pa.string())]), flavor="hive"),
        basename_template="part-{i}.parquet", existing_data_behavior="delete_matching",
    )
    if catalogue is not None:
        (out / "catalog").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(catalogue, preserve_index=False),
                       out / "catalog" / "items.parquet")
