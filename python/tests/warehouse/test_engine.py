"""The SQLAlchemy engine analysts use from Python (pandas.read_sql with bound parameters)."""

from __future__ import annotations

import duckdb
import pandas as pd
import sqlalchemy

from sqlrec.warehouse.engine import sqlalchemy_engine

from doc_pages import fenced_blocks, section

# bound parameters go through sqlalchemy.text: the same `:name` on either engine
QUERY = sqlalchemy.text("select * from item_similarity where item_id = :item order by rank")


def test_read_sql_on_duckdb_holds_no_lock_between_queries(small_lake_database):
    with duckdb.connect(str(small_lake_database), read_only=True) as connection:
        item = connection.execute("select min(item_id) from item_similarity").fetchone()[0]
        expected = connection.execute(
            "select * from item_similarity where item_id = ? order by rank", [item]).df()
    engine = sqlalchemy_engine()
    found = pd.read_sql(QUERY, engine, params={"item": item})
    assert len(found) > 0
    pd.testing.assert_frame_equal(found, expected)
    # a writer (dbt's build) finds the file free right after the query
    with duckdb.connect(str(small_lake_database)) as writer:
        writer.execute("create table analysts_were_here as select 1 as x")


def test_the_docs_python_example_runs_as_written(small_lake_database):
    """docs/dbt.md's example, run as it stands on a built warehouse, with an item that has
    neighbours in place of its i_42."""
    with duckdb.connect(str(small_lake_database), read_only=True) as connection:
        item = connection.execute("select min(item_id) from item_similarity").fetchone()[0]
        expected = connection.execute(
            "select similar_item_id from item_similarity where item_id = ? order by rank",
            [item]).fetchall()
    (example,) = fenced_blocks(section("docs/dbt.md", "The tables from Python"), "python")
    assert '"i_42"' in example
    namespace: dict = {}
    exec(example.replace('"i_42"', repr(item)), namespace)  # noqa: S102 - the page's own code
    assert namespace["similar"]["similar_item_id"].tolist() == [row[0] for row in expected]
