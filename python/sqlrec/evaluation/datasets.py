"""The events an evaluation or a search runs on: MovieLens-100k, or the valid events that dbt
staged in a warehouse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.warehouse import Warehouse

MOVIELENS = "movielens-100k"
WAREHOUSE = "warehouse"


def load_events(*, movielens: bool = False, store: Warehouse | None = None,
                ) -> tuple[pd.DataFrame, str]:
    """Events to evaluate or tune on, and the dataset's name: MovieLens-100k, or the valid events
    that dbt staged in the warehouse (``int_valid_events``; default: the active target's)."""
    if movielens:
        from sqlrec.data import movielens as ml

        return ml.load_events(), MOVIELENS
    from sqlrec import warehouse

    store = store or warehouse.connect()
    if not store.table_exists("int_valid_events"):
        raise UserError("no int_valid_events in the warehouse; run `sqlrec build` first (or use "
                        "--movielens)")
    events = store.read_table(
        "int_valid_events", ["event_id", "user_id", "item_id", "event_type", "event_at"]
    ).to_pandas()
    if events.empty:
        raise UserError("the warehouse holds no valid events; nothing to evaluate")
    return events, WAREHOUSE


def built_lake(store: Warehouse | None = None) -> str | None:
    """The lake the warehouse's events were staged from (the folder above events/, from a
    staged row's source file), or None when nothing was staged."""
    from sqlrec import warehouse

    store = store or warehouse.connect()
    if not store.table_exists("stg_lake__events"):
        return None
    rows = store.query(f"select source_file from {store.qualified('stg_lake__events')} "
                       "where source_file is not null limit 1")
    if rows.num_rows == 0:
        return None
    # <lake>/events/event_date=<day>/<file>; text, not Path, so that s3://... stays as it is
    return rows.column("source_file")[0].as_py().rsplit("/", 3)[0]


def load_catalogue(store: Warehouse | None = None) -> pd.DataFrame | None:
    """The staged item catalogue of the warehouse (default: the active target's), or None when
    there is none."""
    from sqlrec import project, warehouse

    store = store or warehouse.connect()
    # the staging of a team's own relations stands in for the lake's (docs/package.md)
    table = "stg_relation__items" if project.reads_relations() else "stg_lake__items"
    if not store.table_exists(table):
        return None
    catalogue = store.read_table(table).to_pandas()
    return None if catalogue.empty else catalogue


def sold_out_items(*, movielens: bool = False) -> set[str]:
    """The items the staged catalogue marks unavailable (none for MovieLens-100k, or without a
    catalogue): what `sqlrec tune` and a Katib trial keep out of the lists."""
    catalogue = None if movielens else load_catalogue()
    if catalogue is None:
        return set()
    return set(catalogue.loc[~catalogue["is_available"].astype(bool), "item_id"])
