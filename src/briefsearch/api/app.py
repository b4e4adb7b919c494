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
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount, Route

from briefsearch.api.access import GuardedRoute, RequireKey
from briefsearch.api.errors import install_error_handlers
from briefsearch.api.limits import BodyLimit
from briefsearch.api.mcp import McpEndpoint
from briefsearch.api.observability import install_observability
from briefsearch.api.openapi import install_openapi
from briefsearch.api.routes import ask, chat, documents, health, pages, search
from briefsearch.api.routes.pages import STATIC_DIR
from briefsearch.config import Settings, get_settings
from briefsearch.retrieval.searcher import Searcher
from briefsearch.runtime.engine import Engine

log = logging.getLogger(__name__)
MULTIPART_OVERHEAD = 64 * 1024  # multipart framing and form fields around an upload's file
PART_OVERHEAD = 1024  # and the headers of each further file of a batch (its name: up to 255 characters) ...
BATCH_FILES = 1000  # ... of at most 1,000 files (the multipart parser refuses more with a 400)


def create_app(settings: Settings | None = None, searcher: Searcher | None = None, build: bool = False,
               exit_on_load_failure: bool = False) -> FastAPI:
    """An app over ``searcher`` if given, else one that loads (and if ``build``, builds) at start-up.

    ``exit_on_load_failure`` stops the server when loading fails (``briefsearch serve``
    then exits with the error's code) instead of answering 503 with the error.
    """

    settings = settings or get_settings()
    mcp = McpEndpoint(settings)  # MCP over streamable HTTP

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = Engine(settings, searcher)
        app.state.engine = engine
        tasks = [asyncio.create_task(_poll_versions(engine, settings.reload_interval))]
        if engine.current is None:
            tasks.append(asyncio.create_task(_load(engine, build, exit_on_load_failure)))
        async with mcp.running(engine):
            yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        engine.close()

    app = FastAPI(
        title="briefsearch",
        summary="Semantic search over Korean policy briefings, with exact citations.",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None, docs_url=None, redoc_url=None,  # served by install_openapi, guarded like every route
    )
    app.state.api_keys = frozenset(k.encode("utf-8") for k in settings.api_key_set)
    app.router.route_class = GuardedRoute  # routes added on the app itself (e.g. /metrics) are guarded too
    install_error_handlers(app)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(chat.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # an ASGI app at exactly /mcp (a mount would redirect); not a FastAPI route, so it carries the key check itself
    app.add_route("/mcp", RequireKey(mcp), include_in_schema=False)
    # innermost middleware: every body is counted as it arrives (chunked too), 413 before any parsing
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       routes={("POST", "/documents"): settings.max_upload_bytes + MULTIPART_OVERHEAD,
                               ("POST", "/documents/batch"): settings.max_batch_bytes + MULTIPART_OVERHEAD
                               + BATCH_FILES * PART_OVERHEAD})
    if settings.cors_origin_list:
        # added last so it runs first: browser preflights are answered before any route's key check
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list,
                           allow_methods=["GET", "POST", "DELETE"],
                           # the MCP client headers too, so a browser MCP client passes the preflight of /mcp
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Mcp-Protocol-Version",
                                          "Mcp-Session-Id"],
                           expose_headers=["X-Request-ID", "Mcp-Session-Id"])  # the request id can be quoted
    install_observability(app, settings)  # last: its access log must wrap every other middleware
    install_openapi(app)
    _check_routes_guarded(app)
    return app


def _check_routes_guarded(app: FastAPI) -> None:
    """Refuse to build an app with a route that would skip the access check (mounts serve static files)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Route) and isinstance(route.endpoint, RequireKey):
            continue
        if not isinstance(route, GuardedRoute | Mount):
            raise RuntimeError(f"route {context.path} is a {type(route).__name__}, which no access check covers; "
                               "use briefsearch.api.access.GuardedRoute")


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
        if engine.state != "ready":
            continue
        try:
            await asyncio.to_thread(engine.refresh_quietly)
        except Exception:  # never let one bad check end the polling: the server would stop noticing versions
            log.exception("checking for a new index version failed; checking again in %.1f s", interval)
