"""Item resources: 'viewed together'."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from sqlrec.service import lookups
from sqlrec.service.dependencies import current_snapshot
from sqlrec.service.queries import SimilarItemsQuery, openapi_parameters, parse_query, path_id
from sqlrec.service.routers import LOOKUP_ERRORS, JSONBytes
from sqlrec.service.schemas import ErrorMessage, SimilarItems

router = APIRouter(prefix="/items", tags=["items"])


@router.get(
    "/{item_id:any}/similar",  # :any: an id may hold a slash (sent as %2F)
    response_model=SimilarItems,
    summary="Viewed together: the items most similar to an item",
    responses={404: {"model": ErrorMessage, "description": "unknown item"}, **LOOKUP_ERRORS},
    openapi_extra=openapi_parameters(SimilarItemsQuery, path=("item_id",)),
)
async def similar_items(request: Request):
    item_id = path_id(request, "item_id")
    query = parse_query(SimilarItemsQuery, request)
    try:
        return JSONBytes(lookups.similar_items(current_snapshot(request), item_id, query.k,
                                               include_unavailable=query.include_unavailable))
    except lookups.UnknownItem as error:
        raise HTTPException(404, str(error)) from None
