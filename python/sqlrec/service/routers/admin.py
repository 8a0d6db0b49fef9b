"""Administration: a forced reload. Mounted only when SQLREC_ADMIN_TOKEN is set."""

from __future__ import annotations

import hmac
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sqlrec.service.dependencies import SettingsDep, StoreDep
from sqlrec.service.routers.operations import status_of
from sqlrec.service.schemas import ErrorMessage, ReloadResult

bearer = HTTPBearer(auto_error=False, description="the value of SQLREC_ADMIN_TOKEN")


async def require_admin(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    if credentials is None:
        raise HTTPException(401, "admin token required (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    expected = settings.admin_token.get_secret_value().encode()
    if not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise HTTPException(403, "wrong admin token")


router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.post(
    "/reload",
    response_model=ReloadResult,
    summary="Load the warehouse's current build now, whatever the poller thinks",
    responses={401: {"model": ErrorMessage}, 403: {"model": ErrorMessage},
               503: {"model": ErrorMessage, "description": "the reload failed; the previous "
                     "snapshot is still served"}},
)
async def reload(store: StoreDep) -> ReloadResult:
    try:
        snapshot = await anyio.to_thread.run_sync(store.reload)
    except Exception as error:
        raise HTTPException(503, f"reload failed, previous snapshot kept: "
                                 f"{type(error).__name__}: {error}") from None
    return ReloadResult(reloaded=True, snapshot=status_of(snapshot))
