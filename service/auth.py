"""The API-key check, in one place: used by the HTTP routes' guard and by mounted ASGI apps (``/mcp``).

A mounted app is not a FastAPI route, so no route-level guard reaches it: it
is wrapped in ``RequireApiKey``, which applies the same check.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def bearer_key_valid(authorization: str, keys: frozenset[str]) -> bool:
    """True when ``Authorization`` is ``Bearer <one of keys>`` (constant-time comparison).

    Bytes are compared: ``compare_digest`` refuses non-ASCII ``str``, and a header
    may hold any latin-1 byte.
    """
    scheme, _, token = authorization.partition(" ")
    given = token.strip().encode("utf-8", "surrogateescape")
    return scheme.lower() == "bearer" and any(secrets.compare_digest(given, k.encode("utf-8")) for k in keys)


def unauthorized() -> JSONResponse:
    return JSONResponse(status_code=401, content={"detail": "missing or invalid API key"},
                        headers={"WWW-Authenticate": "Bearer"})


class RequireApiKey:
    """ASGI wrapper: with keys configured, a request without a valid Bearer key gets 401 and never reaches ``app``.

    CORS preflights (OPTIONS) pass, as on the routes: the browser sends them without credentials.
    """

    def __init__(self, app: ASGIApp, keys: frozenset[str]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.keys and scope["type"] == "http" and scope["method"] != "OPTIONS":
            if not bearer_key_valid(Headers(scope=scope).get("authorization", ""), self.keys):
                await unauthorized()(scope, receive, send)
                return
        await self.app(scope, receive, send)
