"""The lake writer: events and a catalogue in the input contract's layout."""

from __future__ import annotations

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sqlrec.data.lake import has_event_files, write_lake

from helpers import DAY, T0, events_frame


def test_write_lake_follows_the_input_contract(tmp_path):
    events = events_frame([("u1", "a", "view", T0 + pd.Timedelta(hours=5)),
                           ("u2", "b", "like", T0 + 2 * DAY)])
    catalogue = pd.DataFrame({"item_id": ["a", "b"], "is_available": [True, False]})
    write_lake(events, tmp_path, catalogue)

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == ["catalog/items.parquet", "events/event_date=2026-01-01/part-0.parquet",
                     "events/event_date=2026-01-03/part-0.parquet"]
    back = ds.dataset(tmp_path / "events", format="parquet", partitioning="hive").to_table()
    back = back.to_pandas().sort_values("user_id")
    assert back["event_time"].tolist() == events["event_at"].tolist()
    assert pq.read_table(tmp_path / "catalog" / "items.parquet").num_rows == 2
    assert has_event_files(tmp_path) and not has_event_files(tmp_path / "catalog")
