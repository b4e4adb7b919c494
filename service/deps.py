"""Dependencies: the engine loaded once in the lifespan, reached through the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from index.answer import Answerer
from index.search import Searcher


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


def get_answerer(request: Request) -> Answerer:
    return request.app.state.answerer


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
