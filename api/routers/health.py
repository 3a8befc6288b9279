"""`/healthz` (the process answers) and `/readyz` (it can serve: database, model, index)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api import adapters
from api.schemas.health import HealthPublic, ReadyPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic, summary="Liveness")
def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=ReadyPublic,
            responses={503: {"model": ReadyPublic, "description": "Not ready yet."}},
            summary="Readiness: database reachable, match model loaded, index built")
def readyz(request: Request) -> JSONResponse:
    store = request.app.state.store
    try:
        adapters.ping(store)
        database = True
    except Exception:
        database = False
    model = bool(store.has_backend)
    index = bool(request.app.state.index_ready.is_set()) if model else False
    ready = database and model and index
    body = ReadyPublic(status="ready" if ready else "not ready", database=database,
                       model=model, index=index,
                       records_indexed=request.app.state.records_indexed if index else None)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
