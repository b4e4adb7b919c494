"""Who may call a route: access is a property of the route, checked before the request body is read.

Every API route is a ``GuardedRoute``. With API keys configured it needs
``Authorization: Bearer <key>`` unless its endpoint is marked ``@public`` (the
pages, ``/health``, ``/ready``); a route marked ``@writes`` changes the corpus and
is refused with a 403 while no keys are configured. The check runs in the route's
handler ahead of FastAPI's body parsing, so a refused upload is never parsed or
spooled. ``create_app`` refuses to start with an API route of any other class.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., Any])
MAX_KEY_BYTES = 512  # longer tokens are refused unread: no configured key is this long


class Access(StrEnum):
    PUBLIC = "public"  # carries no corpus data: pages, liveness, readiness
    KEY = "key"  # the default: reads need a key when keys are configured
    WRITE = "write"  # changes the corpus: needs a key, and keys must be configured


def public(endpoint: F) -> F:
    """Mark an endpoint open to anyone, keys or not."""
    endpoint.access = Access.PUBLIC  # type: ignore[attr-defined]
    return endpoint


def writes(endpoint: F) -> F:
    """Mark an endpoint that changes the corpus (refused while no keys are configured)."""
    endpoint.access = Access.WRITE  # type: ignore[attr-defined]
    return endpoint


def access_of(endpoint: Callable[..., Any] | None) -> Access:
    return getattr(endpoint, "access", Access.KEY)


def key_matches(authorization: str | None, keys: frozenset[bytes]) -> bool:
    """``Bearer <key>`` naming one of ``keys``; any other header (malformed, non-ASCII, huge) is False.

    Header values arrive decoded as Latin-1, so encoding back gives the bytes sent;
    ``compare_digest`` on bytes never raises, and every key is compared (no early exit).
    """
    scheme, _, token = (authorization or "").partition(" ")
    raw = token.strip().encode("latin-1", errors="replace")
    if scheme.lower() != "bearer" or not raw or len(raw) > MAX_KEY_BYTES:
        return False
    found = False
    for key in keys:
        found |= secrets.compare_digest(raw, key)
    return found


def check_access(request: Request, access: Access) -> None:
    """Raise the 401 or 403 a request gets for a route of this access level."""
    keys: frozenset[bytes] = request.app.state.api_keys
    if access is Access.PUBLIC:
        return
    if access is Access.WRITE and not keys:
        raise HTTPException(status_code=403, detail="corpus changes are disabled: configure BRIEFSEARCH_API_KEYS "
                            "and send 'Authorization: Bearer <key>'")
    if keys and not key_matches(request.headers.get("authorization"), keys):
        raise HTTPException(status_code=401, detail="missing or invalid API key",
                            headers={"WWW-Authenticate": "Bearer"})


class GuardedRoute(APIRoute):
    """An API route that checks access before FastAPI reads and parses the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        access = access_of(self.endpoint)

        async def guarded(request: Request) -> Response:
            check_access(request, access)
            return await handler(request)

        return guarded


class RequireKey:
    """An ASGI app behind the same key check, for endpoints that are not FastAPI routes (``/mcp``).

    Routes added with ``app.add_route`` get no ``GuardedRoute`` handler, so the
    app they serve is wrapped in this; ``create_app`` accepts no other plain route.
    CORS preflights (OPTIONS) pass, as on the routes: browsers send them without credentials.
    """

    access = Access.KEY

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS":
            keys: frozenset[bytes] = scope["app"].state.api_keys
            if keys and not key_matches(Headers(scope=scope).get("authorization"), keys):
                await JSONResponse(status_code=401, content={"detail": "missing or invalid API key"},
                                   headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)
