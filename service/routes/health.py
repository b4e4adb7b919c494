"""Liveness and what is being served."""

from __future__ import annotations

from fastapi import APIRouter

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
