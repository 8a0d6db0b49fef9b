"""The response models: what the OpenAPI schema at /docs promises.

The lookup endpoints send pre-rendered JSON (see `lookups`) that follows these models exactly;
the tests check every response against them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

K_SERVED = "how many items the answer holds: k, or fewer when the lists hold fewer"


class SimilarItem(BaseModel):
    item_id: str
    score: float = Field(description="cosine similarity of the two items' user vectors")
    rank: int = Field(ge=1, description="position in this answer; with include_unavailable, "
                      "the rank in the table (sold-out items counted)")
    common_users: int = Field(ge=1, description="users who interacted with both items")
    is_available: bool = Field(description="false: sold out (listed only with "
                               "include_unavailable)")


class SimilarItems(BaseModel):
    """'Viewed together': the items most similar to one item, best first."""

    item_id: str
    snapshot_version: str
    k_served: int = Field(ge=0, description=K_SERVED)
    items: list[SimilarItem]


class Recommendation(BaseModel):
    item_id: str
    score: float = Field(description="comparable within one source; popular items that fill "
                         "a list score below every item before them")
    rank: int = Field(ge=1, description="position in this answer")
    source: str = Field(
        description="where the item comes from: 'item_similarity', 'als' or 'ease' (the batch "
        "list), 'recent_items' (similar to the recent_items of the request), 'popular' "
        "(popular items, for a cold user or to fill a filtered list)",
        examples=["item_similarity", "recent_items", "popular"],
    )
    because_item_id: str | None = Field(
        description="why: the user's item that explains this one best (\"because you viewed "
        "X\"): the recent item with the largest similarity term, or for ALS and EASE rows the "
        "user's item with the largest share of the model's score; null for popular items")


class Recommendations(BaseModel):
    """'For you': a user's recommendations, best first."""

    user_id: str
    known_user: bool = Field(description="false: the snapshot has no list for this user")
    snapshot_version: str
    k_served: int = Field(ge=0, description=K_SERVED)
    items: list[Recommendation]


class ErrorMessage(BaseModel):
    detail: str


class InvalidParameter(BaseModel):
    loc: list[str | int] = Field(description="where: ['query', name] or ['path', name]")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class InvalidRequest(BaseModel):
    """422: FastAPI's validation error body, for the parameters the routes check themselves."""

    detail: list[InvalidParameter]


class SnapshotStatus(BaseModel):
    version: str
    built_at: dt.datetime
    loaded_at: dt.datetime
    load_seconds: float
    age_seconds: float = Field(description="seconds since the build it holds")
    row_counts: dict[str, int]


class ReloadError(BaseModel):
    at: dt.datetime
    message: str
    version: str | None = Field(description="the build that failed to load")


class Health(BaseModel):
    status: Literal["ok", "degraded", "no_snapshot"] = Field(
        description="degraded: serving a snapshot while the last reload failed")
    target: str
    snapshot: SnapshotStatus | None
    last_reload_error: ReloadError | None
    last_checked_at: dt.datetime | None = Field(description="the last poll for a newer build")


class ReloadResult(BaseModel):
    reloaded: bool
    snapshot: SnapshotStatus
