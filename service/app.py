"""Build the FastAPI app; the model and index load once, in the background of the lifespan.

The server accepts connections at once: ``/health`` answers while loading and
``/ready`` says when the index is loaded. A poller picks up index versions
published by another process (``briefsearch add`` while serving).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from index.engine import Engine
from index.search import Searcher
from index.settings import Settings, get_settings
from service.errors import install_error_handlers
from service.observability import install_observability
from service.openai_compat import error_response, is_openai_path
from service.routes import ask, chat, documents, health, pages, search
from service.routes.pages import STATIC_DIR

OPEN_PATHS = {"/health", "/ready", "/"}  # pages carry no data; the API calls they make need the key


log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, searcher: Searcher | None = None, build: bool = False,
               exit_on_load_failure: bool = False) -> FastAPI:
    """An app over ``searcher`` if given, else one that loads (and if ``build``, builds) at start-up.

    ``exit_on_load_failure`` stops the server when loading fails (``briefsearch serve``
    then exits with the error's code) instead of answering 503 with the error.
    """

    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = Engine(settings, searcher)
        app.state.engine = engine
        tasks = [asyncio.create_task(_poll_versions(engine, settings.reload_interval))]
        if engine.current is None:
            tasks.append(asyncio.create_task(_load(engine, build, exit_on_load_failure)))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

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
    app.add_middleware(UploadLimit, limit=settings.max_upload_bytes)
    _install_api_keys(app, settings.api_key_set)  # added after, so it runs before: no key, no size check
    if settings.cors_origin_list:
        # added last so it runs first: browser preflights are answered before the key check
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                           expose_headers=["X-Request-ID"])  # a browser frontend can quote the request id
    install_observability(app, settings)  # last: its access log must wrap every other middleware
    return app


async def _load(engine: Engine, build: bool, exit_on_failure: bool) -> None:
    try:
        await asyncio.to_thread(engine.load, build, build)
    except Exception as exc:
        log.error("loading the index failed: %s", exc)
        if exit_on_failure:
            os.kill(os.getpid(), signal.SIGTERM)  # uvicorn shuts down gracefully; the CLI reports the error


async def _poll_versions(engine: Engine, interval: float) -> None:
    """Swap to an index version another process published (cheap check: one small file read)."""
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        if engine.state == "ready":
            await asyncio.to_thread(engine.refresh_quietly)


class UploadLimit:
    """Refuse an oversized upload from its Content-Length, before any of it is read or spooled.

    Pure ASGI (not ``@app.middleware``): it sits on every request's path, and a
    BaseHTTPMiddleware costs a task and a stream per request.
    """

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/documents":
            length = dict(scope["headers"]).get(b"content-length", b"")
            # multipart framing and form fields add a little to the file itself
            if length.isdigit() and int(length) > self.limit + 64 * 1024:
                response = JSONResponse(status_code=413, content={
                    "detail": f"upload of {length.decode()} bytes is over the limit of {self.limit} bytes"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
            if is_openai_path(path):
                return error_response(401, "missing or invalid API key", "invalid_api_key",
                                      headers={"WWW-Authenticate": "Bearer"})
            return JSONResponse(status_code=401, content={"detail": "missing or invalid API key"},
                                headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)
