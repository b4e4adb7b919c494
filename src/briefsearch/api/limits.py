"""One request-body limit for every route, counted as the bytes arrive.

A declared ``Content-Length`` over the limit is refused before the app runs; a
body without one (chunked) is counted as it is received and refused the moment
it passes the limit, before FastAPI has parsed it. Pure ASGI: it sits on every
request's path, and a BaseHTTPMiddleware would cost a task and a stream each.
(Starlette's own RequestBodyLimitMiddleware answers an over-long Content-Length
by raising from ``send``, which the access log and metrics around it count as a
crash.)

A refusal is sent while the body may still be arriving (the 413, and the 401 and 403
of the key check, which run before the body is read). Closing then, with unread bytes
in the socket, makes the kernel reset the connection, and a client that writes its whole
body before reading (Python's urllib, which also asks for ``Connection: close``) gets
``ConnectionResetError`` instead of the answer. So the response is written in full and
then, before it is completed and uvicorn closes, the rest of the body is read and
discarded: a lingering close, as nginx's ``lingering_close``, bounded in bytes and time
so that it cannot be used to keep the server reading. A client still sending past the
bounds is cut off (reset).
"""

from __future__ import annotations

import asyncio
import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefsearch.api.chat.openai_compat import error_body, is_openai_path

# The lingering close after a response sent before the request body was read (nginx: lingering_time 30 s,
# lingering_timeout 5 s, no byte bound; shorter here, as the bodies a client sends by mistake are small):
LINGER_BYTES = 4 * 2**20  # read at most this much of the rest (or the route's own limit, if larger) ...
LINGER_SECONDS = 5.0  # ... for at most this long in all ...
LINGER_IDLE_SECONDS = 1.0  # ... and stop when the client sends nothing for this long


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
        linger = Lingering(scope, receive, send, max(LINGER_BYTES, limit))
        receive, send = linger.receive, linger.send
        declared = linger.declared
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


class Lingering:
    """One request's ``receive`` and ``send``, finishing a response sent before its body was read with a
    bounded lingering close (module docstring).

    While body bytes may still come, the response gets ``Connection: close`` (the server must not read
    the rest as a next request), is written in full, and is completed only once the rest of the body
    has been read and discarded, or ``max_bytes``, ``LINGER_SECONDS`` or ``LINGER_IDLE_SECONDS`` was
    reached. A request that sent ``Expect: 100-continue`` and was never read is not drained: reading
    would invite the body after the final response.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        self._receive, self._send, self.max_bytes = receive, send, max_bytes
        headers: dict[bytes, bytes] = {}
        for key, value in scope.get("headers", []):
            headers.setdefault(key.lower(), value)  # the first of a repeated header, as the server reads it
        length = headers.get(b"content-length")
        # the declared body size; None when absent or not a number (the body limit then counts what arrives)
        self.declared = int(length) if length is not None and length.isdigit() else None
        body_declared = length is not None and (self.declared is None or self.declared > 0)
        self.pending = b"transfer-encoding" in headers or body_declared
        self.awaits_continue = headers.get(b"expect", b"").lower() == b"100-continue"

    async def receive(self) -> Message:
        self.awaits_continue = False  # the server has sent "100 Continue" (if asked) once the app reads
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.pending = False
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and self.pending:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        elif message["type"] == "http.response.body" and not message.get("more_body", False) and self.pending:
            await self._send({**message, "more_body": True})  # the client has the whole answer now
            await self._drain()
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await self._send(message)

    async def _drain(self) -> None:
        if self.awaits_continue:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        read = 0
        while self.pending and read <= self.max_bytes and (left := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(LINGER_IDLE_SECONDS, left)):
                    message = await self.receive()
            except TimeoutError:
                return
            read += len(message.get("body", b""))


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    """413 in the error shape of the route's clients (OpenAI's on /v1)."""
    message = BodyTooLarge(limit).detail
    content = error_body(413, message) if is_openai_path(scope["path"]) else {"detail": message}
    body = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
