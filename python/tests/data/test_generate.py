"""The generator: the lake layout (the project's input contract), determinism, counts, realism
(event mix, popularity, sessions), bad rows and id variants.

Expectations are computed from the written files and the brief, not copied from the code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlrec.data.generate import generate_lake
from sqlrec.errors import UserError

from helpers import partition_files, read_catalog, seed_event_weights, tree_bytes
from helpers import read_partitions as read_events

VALID_TYPES = set(seed_event_weights())
EVENT_COLUMNS = ["event_id", "user_id", "item_id", "event_type", "event_time"]
CATALOG_COLUMNS = ["item_id", "category", "brand", "is_available", "price"]
MAIN = {"users": 2_000, "items": 1_000, "events": 60_000, "days": 7, "seed": 7,
        "end_date": "2026-10-31"}
SMALL = {"users": 300, "items": 200, "events": 5_000, "days": 4, "seed": 11,
         "end_date": "2026-03-02"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lake") / "lake"
    generate_lake(out, **MAIN)
    return out


@pytest.fixture(scope="module")
def events(lake: Path) -> pd.DataFrame:
    return read_events(lake)


@pytest.fixture(scope="module")
def catalog(lake: Path) -> pd.DataFrame:
    return read_catalog(lake)


@pytest.fixture(scope="module")
def bad_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad") / "lake"
    generate_lake(out, bad_rows=63, **SMALL)
    return out


# --------------------------------------------------------------------------- layout


def test_event_kinds_are_the_seed_types():
    from sqlrec.data.generate.codes import BAD_EVENT_TYPES, EVENT_TYPES

    assert set(EVENT_TYPES) == VALID_TYPES
    assert not set(BAD_EVENT_TYPES) & VALID_TYPES


def test_layout_and_schema(lake: Path) -> None:
    assert sorted(p.name for p in lake.iterdir()) == ["catalog", "events"]
    assert [p.name for p in (lake / "catalog").iterdir()] == ["items.parquet"]
    days = [day for day, _ in partition_files(lake)]
    end = dt.date(2026, 10, 31)
    # 60,000 events over 7 days: every day has events, so one partition per day
    assert days == [end - dt.timedelta(days=n) for n in range(MAIN["days"] - 1, -1, -1)]

    expected = pa.schema([
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("event_type", pa.string()),
        ("event_time", pa.timestamp("us")),
    ])
    for _, path in partition_files(lake):
        schema = pq.read_schema(path)
        assert schema.names == EVENT_COLUMNS  # in order, and no event_date inside the files
        assert schema.equals(expected, check_metadata=False)
        assert schema.field("event_time").type.tz is None

    catalog_schema = pq.read_schema(lake / "catalog" / "items.parquet")
    assert catalog_schema.names == CATALOG_COLUMNS
    assert [str(t) for t in catalog_schema.types] == ["string", "string", "string", "bool",
                                                      "double"]


def test_rows_sorted_and_inside_their_day(lake: Path) -> None:
    for day, path in partition_files(lake):
        times = pq.read_table(path, columns=["event_time"]).column(0).to_pandas()
        assert times.notna().all()
        assert times.is_monotonic_increasing
        assert (times.dt.date == day).all()


def test_counts_ids_and_catalogue(events: pd.DataFrame, catalog: pd.DataFrame) -> None:
    assert len(events) == MAIN["events"]
    assert events[EVENT_COLUMNS].notna().all().all()
    assert events["event_id"].is_unique
    assert events["event_id"].str.fullmatch(r"e_\d{10}").all()
    assert set(events["event_type"]) == VALID_TYPES
    assert events["user_id"].str.fullmatch(r"u_\d+").all()
    user_numbers = events["user_id"].str[2:].astype(int)
    assert user_numbers.between(1, MAIN["users"]).all()

    assert len(catalog) == MAIN["items"]
    assert catalog["item_id"].is_unique
    assert catalog["item_id"].str.fullmatch(r"i_\d+").all()
    assert set(events["item_id"]) <= set(catalog["item_id"])
    assert set(catalog["category"]) == {"sneakers", "tech", "life"}
    assert catalog["brand"].notna().all()
    # each brand belongs to one category, and each category has several brands
    assert (catalog.groupby("brand")["category"].nunique() == 1).all()
    assert (catalog.groupby("category")["brand"].nunique() >= 4).all()
    assert (catalog["price"] > 0).all()
    # prices differ by category (tech dearer than life goods)
    medians = catalog.groupby("category")["price"].median()
    assert medians["tech"] > medians["life"]


# --------------------------------------------------------------------------- realism


def test_event_type_rates(events: pd.DataFrame) -> None:
    share = events["event_type"].value_counts(normalize=True)
    assert share["view"] > 0.85
    assert 0.01 < share["like"] < 0.07
    assert 0.01 < share["cart"] < 0.05
    assert 0.003 < share["purchase"] < 0.02
    assert share["purchase"] < share["cart"]


def test_every_purchase_follows_a_cart_of_the_same_item(events: pd.DataFrame) -> None:
    carts = events[events["event_type"] == "cart"]
    first_cart = carts.groupby(["user_id", "item_id"])["event_time"].min().rename("cart_time")
    purchases = events[events["event_type"] == "purchase"].join(first_cart,
                                                                on=["user_id", "item_id"])
    assert len(purchases) > 0
    assert purchases["cart_time"].notna().all()
    waited = purchases["event_time"] - purchases["cart_time"]
    assert (waited > pd.Timedelta(0)).all()


def test_item_popularity_is_heavy_tailed(events: pd.DataFrame) -> None:
    views = events.loc[events["event_type"] == "view", "item_id"].value_counts()
    top = max(1, MAIN["items"] // 100)
    top_share = views.iloc[:top].sum() / views.sum()
    assert top_share > 0.10  # a uniform catalogue would give 1%
    # ... and yet the long tail is alive
    assert views.size > 0.8 * MAIN["items"]


def test_user_activity_is_heavy_tailed(events: pd.DataFrame) -> None:
    per_user = events["user_id"].value_counts()
    assert per_user.median() < per_user.mean()
    assert per_user.max() > 8 * per_user.median()
    top_tenth = per_user.iloc[: max(1, len(per_user) // 10)].sum() / per_user.sum()
    assert top_tenth > 0.25  # equal activity would give 0.10


def test_sessions_stay_in_a_category(events: pd.DataFrame, catalog: pd.DataFrame) -> None:
    frame = events.merge(catalog[["item_id", "category", "brand"]], on="item_id")
    frame = frame.sort_values(["user_id", "event_time", "event_id"])
    same_user = frame["user_id"].eq(frame["user_id"].shift())
    close = (frame["event_time"] - frame["event_time"].shift()) < pd.Timedelta(minutes=30)
    pairs = same_user & close
    assert pairs.sum() > 10_000
    same_category = frame["category"].eq(frame["category"].shift())[pairs].mean()
    same_brand = frame["brand"].eq(frame["brand"].shift())[pairs].mean()
    # chance: two independent events share a category with probability sum(share^2)
    category_chance = (frame["category"].value_counts(normalize=True) ** 2).sum()
    brand_chance = (frame["brand"].value_counts(normalize=True) ** 2).sum()
    assert same_category > 0.8
    assert same_category > category_chance + 0.3
    assert same_brand > 3 * brand_chance


def test_users_have_a_preferred_category(events: pd.DataFrame, catalog: pd.DataFrame) -> None:
    frame = events.merge(catalog[["item_id", "category"]], on="item_id")
    counts = frame.groupby(["user_id", "category"]).size().unstack(fill_value=0)
    active = counts[counts.sum(axis=1) >= 30]
    top_share = (active.max(axis=1) / active.sum(axis=1)).mean()
    assert top_share > 0.6  # no preference would give about 0.4


def test_sold_out_items(events: pd.DataFrame, catalog: pd.DataFrame) -> None:
    sold_out = ~catalog.set_index("item_id")["is_available"]
    assert 0.08 <= sold_out.mean() <= 0.18
    bought = set(events.loc[events["event_type"] == "purchase", "item_id"])
    was_bought = sold_out.index.isin(bought)
    assert 0 < was_bought.sum() < len(was_bought)
    assert sold_out[was_bought].mean() > 1.5 * sold_out[~was_bought].mean()


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes_other_seed_differs(tmp_path: Path) -> None:
    args = {**SMALL, "bad_rows": 12}
    generate_lake(tmp_path / "a", **args)
    generate_lake(tmp_path / "b", **args)
    generate_lake(tmp_path / "c", **{**args, "seed": args["seed"] + 1})
    first, second, other = (tree_bytes(tmp_path / name) for name in "abc")
    assert len(first) == SMALL["days"] + 1
    assert first == second
    differing = [name for name in first if other.get(name) != first[name]]
    assert "catalog/items.parquet" in differing
    assert len([name for name in differing if name.startswith("events/")]) == SMALL["days"]


def test_without_an_end_date_the_history_ends_today_in_utc(tmp_path: Path) -> None:
    """A demo lake must be fresh (`dbt source freshness`) the day it is made, whatever the date."""
    before = dt.datetime.now(dt.UTC).date()
    generate_lake(tmp_path / "lake", users=50, items=30, events=600, days=3, seed=1)
    after = dt.datetime.now(dt.UTC).date()
    days = [day for day, _ in partition_files(tmp_path / "lake")]
    assert days[-1] in (before, after)  # the run may straddle midnight
    assert days == [days[-1] - dt.timedelta(days=n) for n in (2, 1, 0)]


# --------------------------------------------------------------------------- bad rows


def test_bad_rows(bad_lake: Path) -> None:
    frame = read_events(bad_lake)
    assert len(frame) == SMALL["events"] + 63
    null_user = frame["user_id"].isna()
    null_item = frame["item_id"].isna()
    unknown = frame["event_type"].notna() & ~frame["event_type"].isin(VALID_TYPES)
    null_time = frame["event_time"].isna()
    future = frame["event_time"].dt.year >= 2099
    repeated = frame.duplicated("event_id", keep="first")
    kinds = {
        "null_user": null_user, "null_item": null_item, "unknown_type": unknown,
        "null_time": null_time, "future_time": future, "duplicate": repeated,
    }
    counts = {name: int(mask.sum()) for name, mask in kinds.items()}
    assert sum(counts.values()) == 63, counts
    assert set(counts.values()) <= {10, 11}, counts  # roughly equal numbers of each kind
    # one defect per bad row
    defects = sum(mask.astype(int) for mask in kinds.values())
    assert defects.max() == 1
    valid = frame[defects == 0]
    assert len(valid) == SMALL["events"]
    assert set(valid["event_type"]) <= VALID_TYPES
    assert (valid["event_time"].dt.date == valid["partition_date"]).all()
    # duplicates are exact copies, in the partition of their original
    copies = frame[frame.duplicated("event_id", keep=False)]
    assert (copies.groupby("event_id").nunique(dropna=False) == 1).all().all()
    # future rows still sit in an ordinary partition directory
    start = dt.date.fromisoformat(SMALL["end_date"]) - dt.timedelta(days=SMALL["days"] - 1)
    assert frame.loc[future, "partition_date"].between(
        start, dt.date.fromisoformat(SMALL["end_date"])).all()
    # spread over partitions
    bad_partitions = frame.loc[defects > 0, "partition_date"].nunique()
    assert bad_partitions >= 2


def test_bad_rows_keep_files_sorted_nulls_last(bad_lake: Path) -> None:
    for _, path in partition_files(bad_lake):
        times = pq.read_table(path, columns=["event_time"]).column(0).to_pandas()
        known = times[times.notna()]
        assert known.is_monotonic_increasing
        if times.isna().any():
            assert times.isna().to_numpy()[times.notna().sum():].all()


# --------------------------------------------------------------------------- id variants


def test_int_ids_match_string_ids(tmp_path: Path) -> None:
    generate_lake(tmp_path / "s", **SMALL)
    generate_lake(tmp_path / "i", int_ids=True, **SMALL)
    for _, path in partition_files(tmp_path / "i"):
        schema = pq.read_schema(path)
        assert schema.names == EVENT_COLUMNS
        assert schema.field("user_id").type == pa.int64()
        assert schema.field("item_id").type == pa.int64()
        assert schema.field("event_id").type == pa.string()
    strings, ints = read_events(tmp_path / "s"), read_events(tmp_path / "i")
    assert len(ints) == SMALL["events"]
    # the same data, only the id format differs
    assert (strings["user_id"] == "u_" + ints["user_id"].astype(str)).all()
    assert (strings["item_id"] == "i_" + ints["item_id"].astype(str)).all()
    assert strings["event_time"].equals(ints["event_time"])
    int_catalog = read_catalog(tmp_path / "i")
    assert pq.read_schema(tmp_path / "i" / "catalog" / "items.parquet").field(
        "item_id").type == pa.int64()
    assert set(ints["item_id"]) <= set(int_catalog["item_id"])
    string_catalog = read_catalog(tmp_path / "s")
    assert (string_catalog["item_id"] == "i_" + int_catalog["item_id"].astype(str)).all()


def test_tiny_lake(tmp_path: Path) -> None:
    summary = generate_lake(tmp_path / "t", users=1, items=2, events=1, days=3, seed=0)
    frame = read_events(tmp_path / "t")
    assert len(frame) == 1 and frame["event_type"].iloc[0] == "view"
    assert summary["partitions"] == 1 and summary["events"] == 1
    assert len(read_catalog(tmp_path / "t")) == 2


@pytest.mark.parametrize("bad", [
    {"users": 0}, {"items": -1}, {"events": 0}, {"days": 0}, {"bad_rows": -1}, {"seed": -3},
    {"end_date": "31/10/2026"},
])
def test_invalid_arguments(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(UserError):
        generate_lake(tmp_path / "x", **{**SMALL, **bad})
    assert not (tmp_path / "x" / "events").exists()
