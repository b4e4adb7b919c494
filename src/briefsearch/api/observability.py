"""Operational visibility for the HTTP service, installed in one call: metrics, request ids, access log."""

from __future__ import annotations

from fastapi import FastAPI

from briefsearch.api.access_log import AccessLogMiddleware
from briefsearch.api.metrics import install_metrics
from briefsearch.config import Settings


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Call last in ``create_app``: the access log must be the outermost middleware to see every request.

    Order, outside in: access log (request id, one line per request, including
    401s from the key check), then request metrics, then the app's own middleware.
    """
    app.state.metrics_registry = install_metrics(app)
    app.add_middleware(AccessLogMiddleware, log_queries=settings.log_queries)
