"""Build the FastAPI app; the model and index load once, in the lifespan."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from index.answer import Answerer
from index.search import Searcher, open_searcher
from index.settings import Settings, get_settings
from service.errors import install_error_handlers
from service.routes import ask, chat, documents, health, pages, search
from service.routes.pages import STATIC_DIR

OPEN_PATHS = {"/health", "/ready", "/"}  # pages carry no data; the API calls they make need the key


def create_app(settings: Settings | None = None, searcher: Searcher | None = None, build: bool = False) -> FastAPI:
    """An app over ``searcher`` if given, else one opened from ``settings`` at start-up."""

    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.searcher = searcher or open_searcher(settings, build=build, progress=False)
        app.state.answerer = Answerer(app.state.searcher)
        yield

    app = FastAPI(
        title="briefsearch",
        summary="Semantic search over Korean policy briefings, with exact citations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(chat.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_api_keys(app, settings.api_key_set)
    if settings.cors_origin_list:
        # added last so it runs first: browser preflights are answered before the key check
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    return app


def _install_api_keys(app: FastAPI, keys: frozenset[str]) -> None:
    """With keys configured, every endpoint but /health needs ``Authorization: Bearer <key>``."""
    if not keys:
        return

    @app.middleware("http")
    async def require_key(request: Request, call_next):
        path = request.url.path
        page = path.startswith("/static/") or (path.startswith("/documents/") and path.endswith("/view"))
        if request.method == "OPTIONS" or path in OPEN_PATHS or page:
            return await call_next(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not any(secrets.compare_digest(token.strip(), k) for k in keys):
            return JSONResponse(status_code=401, content={"detail": "missing or invalid API key"},
                                headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)
