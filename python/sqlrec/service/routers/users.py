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
    split_ids,
)
from sqlrec.service.routers import LOOKUP_ERRORS, JSONBytes
from sqlrec.service.schemas import Recommendations

router = APIRouter(prefix="/users", tags=["users"])


@router.get(
    "/{user_id}/recommendations",
    response_model=Recommendations,
    summary="For you: a user's recommendations (popular items for a cold or unknown user)",
    responses=LOOKUP_ERRORS,
    openapi_extra=openapi_parameters(RecommendationsQuery, path=("user_id",)),
)
async def recommendations(request: Request):
    user_id = request.path_params["user_id"]
    query = parse_query(RecommendationsQuery, request)
    try:
        body = lookups.recommendations(
            current_snapshot(request), user_id, query.k, category=query.category,
            exclude=split_ids(query.exclude), recent_items=split_ids(query.recent_items))
    except lookups.UnknownCategory as error:
        raise invalid_query("category", str(error), query.category) from None
    return JSONBytes(body)
