"""One request-body limit for every route, counted as the bytes arrive.

A declared ``Content-Length`` over the limit is refused before the app runs; a
body without one (chunked) is counted as it is received and refused the moment
it passes the limit, before FastAPI has parsed it. Pure ASGI: it sits on every
request's path, and a BaseHTTPMiddleware would cost a task and a stream each.
(Starlette's own RequestBodyLimitMiddleware answers an over-long Content-Length
by raising from ``send``, which the access log and metrics around it count as a
crash.)
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefsearch.api.chat.openai_compat import error_body, is_openai_path


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; FastAPI re-raises HTTPExceptions met while reading a body, so the app's
    handlers answer it like any other 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body is over this route's limit of {limit} bytes")


class BodyLimit:
    """``limit`` bytes for every request body, or ``routes[(method, path)]`` for the routes named there."""

    def __init__(self, app: ASGIApp, limit: int, routes: dict[tuple[str, str], int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.routes = routes or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get((scope["method"], scope["path"].rstrip("/") or "/"), self.limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, send, limit)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    """413 in the error shape of the route's clients (OpenAI's on /v1)."""
    message = BodyTooLarge(limit).detail
    content = error_body(413, message) if is_openai_path(scope["path"]) else {"detail": message}
    body = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
