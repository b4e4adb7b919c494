"""The OpenAPI document, completed from the routes' access levels and the body limit.

Each route declares its own responses; what every guarded route or every route
with a body shares is added here, from the same facts the service enforces:
the bearer scheme and 401 on each route that needs a key (when keys are set),
and 413 on each route that takes a body.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts

from briefsearch.api.access import Access, GuardedRoute, access_of
from briefsearch.api.chat.openai_compat import is_openai_path

SCHEME = "apiKey"
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
_OPENAI_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIErrorResponse"}}}}


def install_openapi(app: FastAPI) -> None:
    """The completed schema, and /openapi.json, /docs and /redoc as guarded routes like any other.

    Create the app with ``openapi_url=None, docs_url=None, redoc_url=None``: FastAPI's
    own versions are plain routes that no access check would cover.
    """
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            _complete(app, schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    router = APIRouter(route_class=GuardedRoute, include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - Swagger UI")

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc")

    app.include_router(router)


def _complete(app: FastAPI, schema: dict[str, Any]) -> None:
    keys = bool(app.state.api_keys)
    if keys:
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
            "type": "http", "scheme": "bearer", "description": "One of the keys in BRIEFSEARCH_API_KEYS"}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        item = schema.get("paths", {}).get(context.path_format or "", {})
        error = _OPENAI_ERROR if is_openai_path(context.path_format or "") else _ERROR
        for method in context.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if keys and access_of(context.endpoint) is not Access.PUBLIC:
                operation["security"] = [{SCHEME: []}]
                responses.setdefault("401", {"description": "Missing or invalid API key", **error})
            if "requestBody" in operation:
                responses.setdefault("413", {"description": "Request body over the route's size limit", **error})
