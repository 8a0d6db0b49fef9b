"""Dependencies of the routes, as `Annotated` aliases. All `async`: a plain `def` dependency
would cost each request a hop through the thread pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from sqlrec.config import Settings
from sqlrec.service.reloading import SnapshotStore
from sqlrec.service.snapshot import Snapshot


async def app_settings(request: Request) -> Settings:
    """The settings the app was created with (`create_app(settings)`)."""
    return request.app.state.settings


async def snapshot_store(request: Request) -> SnapshotStore:
    return request.app.state.store


SettingsDep = Annotated[Settings, Depends(app_settings)]
StoreDep = Annotated[SnapshotStore, Depends(snapshot_store)]


def current_snapshot(request: Request) -> Snapshot:
    """The snapshot this request reads, taken once: a reload meanwhile cannot mix into it.

    Called by the lookup routes themselves rather than through `Depends`: a sub-dependency
    costs FastAPI about 10 us per request, three times the lookup (see `queries`).
    """
    snapshot = request.app.state.store.current
    if snapshot is None:
        raise HTTPException(503, "no snapshot loaded yet; see /healthz")
    return snapshot
