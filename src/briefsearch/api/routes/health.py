"""Liveness (the process answers) and readiness (model and index loaded).

Their error texts carry no filesystem paths; the full texts are logged where the errors happen
(``app._load``, ``Engine.refresh_quietly``).
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from briefsearch.api.access import GuardedRoute, public
from briefsearch.api.deps import EngineDep
from briefsearch.api.errors import public_text
from briefsearch.api.schemas import HealthResponse, ModelInfo, ReadyResponse

router = APIRouter(tags=["health"], route_class=GuardedRoute)


@router.get("/health", response_model=HealthResponse, summary="Liveness, and what is served once loaded")
@public
async def health(engine: EngineDep) -> HealthResponse:
    searcher = engine.searcher
    if searcher is None:
        return HealthResponse(status=engine.state, error=public_text(engine.error) or None)
    manifest = searcher.index.manifest
    return HealthResponse(
        status="ok",
        documents=len(searcher.index.documents),
        chunks=len(searcher.index.chunks),
        model=ModelInfo(**searcher.encoder.identity),
        index_built_at=manifest.built_at,
        index_version=searcher.index.path.name,
        chunker=manifest.chunker,
        refresh_error=public_text(engine.refresh_error) or None,
    )


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}},
            summary="200 once the model and index are loaded; 503 while loading or after a failed load")
@public
async def ready(engine: EngineDep) -> JSONResponse:
    searcher = engine.searcher
    body = ReadyResponse(
        ready=searcher is not None, state=engine.state, error=public_text(engine.error) or None,
        index_version=searcher.index.path.name if searcher is not None else None,
        uptime_s=round(time.monotonic() - engine.started_at, 3),
    )
    return JSONResponse(status_code=200 if body.ready else 503, content=body.model_dump())
