"""The service's expected answers, computed from the tables with SQL (and a few lines of Python
for the documented fill rules), never with the service's own code."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sqlrec.service.schemas import Recommendations

ADMIN_TOKEN = "s3cret-token"


def sql(database: Path, query: str, *params) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(query, list(params)).fetchall()


def change(database: Path, *statements: str) -> None:
    with duckdb.connect(str(database)) as connection:
        for statement in statements:
            connection.execute(statement)


def halve_scores(database: Path) -> None:
    change(database, *(f"update {table} set score = score / 2" for table in
                       ("item_similarity", "user_recommendations", "popular_items")))


def similar_rows(database: Path, item_id: str, k: int, *,
                 include_unavailable: bool = False) -> list[dict]:
    """The table's rows with the item's availability; by default (as the service answers) only
    the available items, ranked again from 1."""
    rows = sql(database, "select similarity.similar_item_id, similarity.score, similarity.rank, "
               "similarity.common_users, coalesce(items.is_available, true) "
               "from item_similarity as similarity left join int_items_enriched as items "
               "on similarity.similar_item_id = items.item_id "
               "where similarity.item_id = ? order by similarity.rank", item_id)
    if not include_unavailable:
        rows = [(item, score, rank, common_users, available) for rank, (
            item, score, _, common_users, available) in enumerate(
            (row for row in rows if row[4]), start=1)]
    return [dict(zip(("item_id", "score", "rank", "common_users", "is_available"), row,
                     strict=True)) for row in rows[:k]]


def recommendation_rows(database: Path, user_id: str) -> list[tuple[str, float, str]]:
    return sql(database, "select item_id, score, source from user_recommendations "
               "where user_id = ? order by rank", user_id)


def popular_rows(database: Path, category: str | None = None) -> list[tuple[str, float, str]]:
    if category is None:
        return sql(database, "select item_id, score, 'popular' from popular_items "
                   "where scope = 'global' order by rank")
    return sql(database, "select item_id, score, 'popular' from popular_items "
               "where scope = 'category' and category = ? order by rank", category)


def recent_items_of(database: Path, user_id: str) -> set[str]:
    return {item for (item,) in sql(
        database, "select item_id from user_recent_items where user_id = ?", user_id)}


def category_of(database: Path) -> dict[str, str | None]:
    return dict(sql(database, "select item_id, category from int_items_enriched"))


def fill(rows: list[tuple], k: int, *, skip: set[str], then: list[tuple] = (),
         then_skip: set[str] = frozenset()) -> list[tuple]:
    """The documented rule: rows in order, skipping taken items, then the fill rows, skipping
    taken and `then_skip` items, until k; the fill's scores times half the lowest score of the
    rows before it (when there are any)."""
    picked, taken = [], set(skip)
    for item, score, source in rows:
        if len(picked) < k and item not in taken:
            picked.append((item, score, source))
            taken.add(item)
    # the fill scores below what comes before it: popularity times half the lowest score
    scale = min(score for _, score, _ in picked) / 2 if picked else 1.0
    for item, score, source in then:
        if len(picked) < k and item not in taken and item not in then_skip:
            picked.append((item, score * scale, source))
            taken.add(item)
    return picked


def items_of(response) -> list[tuple[str, float, str]]:
    assert response.status_code == 200, response.text
    body = Recommendations.model_validate_json(response.content)
    assert [item.rank for item in body.items] == list(range(1, len(body.items) + 1))
    return [(item.item_id, item.score, item.source) for item in body.items]


def assert_same_items(actual: list[tuple], expected: list[tuple]) -> None:
    assert [(item, source) for item, _, source in actual] == \
        [(item, source) for item, _, source in expected]
    assert [score for _, score, _ in actual] == pytest.approx(
        [score for _, score, _ in expected], rel=1e-12)
