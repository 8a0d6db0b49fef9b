"""User resources: 'for you' and 'similar to what you just viewed'."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sqlrec.service import lookups
from sqlrec.service.dependencies import current_snapshot
from sqlrec.service.queries import (
    RecommendationsQuery,
    invalid_query,
    openapi_parameters,
    parse_query,
    path_id,
)
from sqlrec.service.routers import LOOKUP_ERRORS, JSONBytes
from sqlrec.service.schemas import Recommendations

router = APIRouter(prefix="/users", tags=["users"])


@router.get(
    "/{user_id:any}/recommendations",  # :any: an id may hold a slash (sent as %2F)
    response_model=Recommendations,
    summary="For you: a user's recommendations (popular items for a cold or unknown user)",
    responses=LOOKUP_ERRORS,
    openapi_extra=openapi_parameters(RecommendationsQuery, path=("user_id",)),
)
async def recommendations(request: Request):
    user_id = path_id(request, "user_id")
    query = parse_query(RecommendationsQuery, request)
    try:
        body = lookups.recommendations(
            current_snapshot(request), user_id, query.k, category=query.category,
            exclude=query.exclude_ids, recent_items=query.recent_item_ids)
    except lookups.UnknownCategory as error:
        raise invalid_query("category", str(error), query.category) from None
    return JSONBytes(body)
