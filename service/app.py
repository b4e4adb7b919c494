"""Build the FastAPI app; the model and index load once, in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from index.search import Searcher, open_searcher
from index.settings import Settings, get_settings
from service.errors import install_error_handlers
from service.routes import documents, health, search


def create_app(settings: Settings | None = None, searcher: Searcher | None = None, build: bool = False) -> FastAPI:
    """An app over ``searcher`` if given, else one opened from ``settings`` at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if searcher is not None:
            app.state.searcher = searcher
        else:
            app.state.searcher = open_searcher(settings or get_settings(), build=build, progress=False)
        yield

    app = FastAPI(
        title="briefsearch",
        summary="Semantic search over Korean policy briefings, with exact citations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(health.router)
    return app
