"""Dependencies: the engine loaded once in the lifespan, reached through the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from index.search import Searcher


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
