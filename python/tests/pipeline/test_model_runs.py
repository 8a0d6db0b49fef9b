"""A training run is blended only once it is complete: a run cut short is never read."""

from __future__ import annotations

import duckdb
import pytest

from sqlrec import warehouse
from sqlrec.pipeline.build import MODEL_TABLE_READERS, build
from sqlrec.recommend import train as train_step
from sqlrec.recommend.params import AlsParams

from helpers import read_table

# builds and trainings on a copy of the small lake's build
pytestmark = pytest.mark.slow

PARAMS = AlsParams(factors=8, iterations=3)


def rows(database, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_a_run_killed_mid_write_is_never_blended(small_lake, small_lake_database, monkeypatch):
    database = small_lake_database  # the active target
    first = train_step.train(warehouse.connect(), PARAMS, device="cpu", show_progress=False)
    build(small_lake, select=MODEL_TABLE_READERS, quiet=True, data_tests=False)
    blended = read_table(database, "user_recommendations", "user_id, rank")
    assert "als" in set(blended["source"])

    # the next run dies after its first table: its recommendations are written, its similar
    # items and its model_runs row are not
    real_append = train_step.append_run_rows

    def killed_after_the_first_table(store, table, reader):
        if table == train_step.SIMILAR_ITEMS_TABLE:
            raise KeyboardInterrupt  # what a kill looks like from inside
        return real_append(store, table, reader)

    monkeypatch.setattr(train_step, "append_run_rows", killed_after_the_first_table)
    with pytest.raises(KeyboardInterrupt):
        train_step.train(warehouse.connect(), PARAMS.with_overrides(factors=4), device="cpu",
                         show_progress=False)
    monkeypatch.undo()
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    assert rows(database, "select count(distinct run_id) from als_user_recommendations") == [(2,)]
    assert rows(database, "select run_id from model_runs") == [(first.run.run_id,)]

    build(small_lake, select=MODEL_TABLE_READERS, quiet=True, data_tests=False)
    assert rows(database, "select distinct run_id "
                          "from stg_trained_lists__user_recommendations") == [(first.run.run_id,)]
    import pandas as pd

    pd.testing.assert_frame_equal(read_table(database, "user_recommendations", "user_id, rank"),
                                  blended)

    # the next complete run is published and clears the rows of every other run
    third = train_step.train(warehouse.connect(), PARAMS, device="cpu", show_progress=False)
    for table in (train_step.RECOMMENDATIONS_TABLE, train_step.SIMILAR_ITEMS_TABLE):
        assert rows(database, f"select distinct run_id from {table}") == [(third.run.run_id,)]
    assert [run for (run,) in rows(database, "select run_id from model_runs order by trained_at")
            ] == [first.run.run_id, third.run.run_id]
