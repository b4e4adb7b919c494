"""Dependencies: the engine loaded in the lifespan, reached through the request.

A request takes the engine's current (searcher, answerer) pair once, so an
index swap during the request does not change what it searches.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from briefsearch.answer.answerer import Answerer
from briefsearch.retrieval.searcher import Searcher
from briefsearch.runtime.engine import Engine, Serving


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_serving(request: Request) -> Serving:
    engine: Engine = request.app.state.engine
    current = engine.current
    if current is None:
        detail = "the index is still loading; retry shortly" if engine.state == "loading" else (
            f"the index failed to load: {engine.error}")
        raise HTTPException(status_code=503, detail=detail, headers={"Retry-After": "5"})
    return current


async def get_searcher(serving: Annotated[Serving, Depends(get_serving)]) -> Searcher:
    return serving.searcher


async def get_answerer(serving: Annotated[Serving, Depends(get_serving)]) -> Answerer:
    return serving.answerer


EngineDep = Annotated[Engine, Depends(get_engine)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
