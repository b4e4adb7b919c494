"""Request ids and one access-log line per request, as pure ASGI middleware.

Installed outermost so it also sees requests the API-key check rejects, and
streamed responses (chat) are timed to their last byte. The query a route
handled is logged only when ``log_queries`` is on: questions can be sensitive.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from prometheus_fastapi_instrumentator.routing import get_route_name
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefsearch.api.errors import error_content

ACCESS_LOGGER = "briefsearch.access"
REQUEST_ID_HEADER = "X-Request-ID"
MAX_LOGGED_QUERY = 1000  # characters; chat messages can be long
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

log = logging.getLogger(ACCESS_LOGGER)


def request_id_from(value: str | None) -> str:
    """The caller's id when it is safe to echo and log (≤ 64 of [A-Za-z0-9._-]), else a fresh uuid4 hex."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class AccessLogMiddleware:
    """Assigns ``request.state.request_id``, returns it as X-Request-ID, logs the request when it ends."""

    def __init__(self, app: ASGIApp, log_queries: bool = False) -> None:
        self.app = app
        self.log_queries = log_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, b"x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        route = get_route_name(Request(scope), should_include_root_path=False)  # before routing rewrites the scope
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if not started:  # answer here so the 500 carries the id too; the error still propagates
                body = json.dumps(error_content(scope["path"], 500, "internal server error")).encode()
                await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send_with_id({"type": "http.response.body", "body": body})
            self._log(scope, request_id, route, 500, start, failed=True)
            raise
        self._log(scope, request_id, route, status, start, failed=False)

    def _log(self, scope: Scope, request_id: str, route: str | None, status: int, start: float,
             failed: bool) -> None:
        client = scope.get("client")
        fields: dict[str, object] = {
            "request_id": request_id,
            "method": scope["method"],
            "path": scope["path"],  # never the query string: GET /search carries the question there
            "route": route,  # the template, e.g. /documents/{doc_id}; None when nothing matched
            "status": status,
            "latency_ms": round((time.perf_counter() - start) * 1000, 1),
            "client": client[0] if client else None,
        }
        task = scope.get("state", {}).get("chat_task")
        if task:  # a chat frontend's title/tags/follow-up prompt: answered without a search
            fields["chat_task"] = task
        query = scope.get("state", {}).get("log_query")
        if self.log_queries and isinstance(query, str):
            fields["query"] = query[:MAX_LOGGED_QUERY]
        # 503 while loading is expected (readiness probes); a crash or a plain 500 is not
        level = logging.ERROR if failed or status == 500 else logging.WARNING if status >= 500 else logging.INFO
        log.log(level, "%s %s %s %.1fms", fields["method"], fields["path"], status, fields["latency_ms"],
                extra=fields, exc_info=failed)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
