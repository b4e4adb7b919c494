"""Liveness and what is being served."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.deps import SearcherDep
from service.schemas import HealthResponse, ModelInfo

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Service status and index identity")
async def health(searcher: SearcherDep) -> HealthResponse:
    manifest = searcher.index.manifest
    return HealthResponse(
        status="ok",
        documents=len(searcher.index.documents),
        chunks=len(searcher.index.chunks),
        model=ModelInfo(**searcher.encoder.identity),
        index_built_at=manifest.built_at,
        chunker=manifest.chunker,
    )


@router.get("/ready", summary="Ready to serve: model and index loaded (503 until then)")
async def ready(request: Request) -> JSONResponse:
    loaded = getattr(request.app.state, "searcher", None) is not None
    return JSONResponse(status_code=200 if loaded else 503, content={"ready": loaded})
