"""Operations: liveness of the process, health of the snapshot, Prometheus metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sqlrec.service.dependencies import StoreDep
from sqlrec.service.reloading import SnapshotStore
from sqlrec.service.schemas import Health, ReloadError, SnapshotStatus
from sqlrec.service.snapshot import Snapshot

router = APIRouter(tags=["operations"])


@router.get(
    "/livez",
    summary="The process answers HTTP (whatever its snapshot): for a liveness probe",
)
async def livez() -> dict[str, str]:
    # Never looks at the snapshot: a failed reload keeps the old one serving, and restarting
    # the pod would only throw it away (readiness, /healthz, is what takes a pod out of service).
    return {"status": "alive"}


@router.get(
    "/healthz",
    response_model=Health,
    summary="The served snapshot (version, built_at, loaded_at, row counts) and reload errors",
    responses={503: {"model": Health, "description": "no snapshot loaded yet"}},
)
async def healthz(store: StoreDep):
    health = health_of(store)
    status_code = 503 if health.snapshot is None else 200
    return JSONResponse(health.model_dump(mode="json"), status_code=status_code)


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests by route and status, latency, snapshot age",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)


def health_of(store: SnapshotStore) -> Health:
    snapshot = store.current
    error = store.last_error
    if snapshot is None:
        status = "no_snapshot"
    else:
        status = "degraded" if error is not None else "ok"
    return Health(
        status=status,
        target=store.source.target,
        snapshot=status_of(snapshot) if snapshot is not None else None,
        last_reload_error=ReloadError(at=error.at, message=error.message,
                                      version=error.version) if error else None,
        last_checked_at=store.last_checked_at,
    )


def status_of(snapshot: Snapshot) -> SnapshotStatus:
    info = snapshot.info
    return SnapshotStatus(
        version=info.version, built_at=info.built_at, loaded_at=info.loaded_at,
        load_seconds=info.load_seconds,
        age_seconds=round(time.time() - info.built_at.timestamp(), 3),
        row_counts=info.row_counts,
    )
