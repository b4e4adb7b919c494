"""Passage search: POST with JSON, or GET with query parameters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from briefsearch.api.access import GuardedRoute
from briefsearch.api.deps import SearcherDep
from briefsearch.api.schemas import (
    MAX_K,
    MAX_QUERY_CHARS,
    UNAVAILABLE,
    ErrorResponse,
    SearchRequest,
    SearchResponse,
)
from briefsearch.types import SearchFilters

router = APIRouter(tags=["search"], route_class=GuardedRoute)
_ERRORS = {422: {"model": ErrorResponse, "description": "Invalid query or parameters"}, **UNAVAILABLE}


async def _run(searcher: SearcherDep, query: str, k: int, mode: str | None, filters: SearchFilters) -> Response:
    # the encoder is CPU-bound: keep it off the event loop
    result = await run_in_threadpool(searcher.search, query, k, mode, filters)
    # built and validated once here; returning a Response skips FastAPI's second validation pass
    body = SearchResponse.from_result(result, searcher.index.documents).model_dump_json()
    return Response(content=body, media_type="application/json")


@router.post("/search", response_model=SearchResponse, responses=_ERRORS, summary="Search passages")
async def search_post(body: SearchRequest, searcher: SearcherDep, request: Request) -> Response:
    request.state.log_query = body.query  # the access log includes it only when log_queries is on
    return await _run(searcher, body.query, body.k, body.mode, body.filters())


@router.get("/search", response_model=SearchResponse, responses=_ERRORS, summary="Search passages (GET)")
async def search_get(
    searcher: SearcherDep,
    request: Request,
    q: Annotated[str, Query(description="Question or keywords", max_length=MAX_QUERY_CHARS)],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
    mode: Annotated[Literal["hybrid", "dense", "lexical"] | None, Query()] = None,
    doc_id: Annotated[list[str] | None, Query(description="Repeat to allow several documents.")] = None,
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
    publisher: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    # Searcher.validate raises QueryError (-> 422) for empty or over-long queries
    request.state.log_query = q
    filters = SearchFilters(tuple(doc_id or ()), date_from, date_to, publisher)
    return await _run(searcher, q, k, mode, filters)
