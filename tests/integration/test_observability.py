"""Operational visibility through the real app, model and index: /metrics, request ids, the access log."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from unit.test_observability import restore_logging  # noqa: F401  (fixture)

from briefsearch.api.access_log import ACCESS_LOGGER
from briefsearch.api.app import create_app
from briefsearch.api.logging_setup import json_formatter
from briefsearch.config import Settings

QUESTION = "광둥성의 범용 AI 산업 목표는?"
DOC_ID = "001_7307f45af5f7b1ae"
KEY = "test-key-123"
ACCESS_FIELDS = {"request_id", "method", "path", "route", "status", "latency_ms", "client"}


def _client(settings: Settings, searcher, **update: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=update), searcher=searcher))


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample in a Prometheus text exposition, keyed by name and label set."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict, metric: str, /, **labels: str) -> float | None:
    return samples.get((metric, frozenset(labels.items())))


@pytest.fixture
def access_log() -> Iterator[Callable[[], list[dict]]]:
    """The access logger's records, formatted by the real JSON formatter; returns a reader of parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger(ACCESS_LOGGER)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_metrics_count_and_time_requests_by_route_template(settings, searcher) -> None:
    with _client(settings, searcher) as client:
        assert client.post("/search", json={"query": QUESTION, "k": 3}).status_code == 200
        assert client.get(f"/documents/{DOC_ID}").status_code == 200
        assert client.get("/documents/no_such_doc").status_code == 404
        assert client.get("/metrics").status_code == 200
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE http_requests_total counter" in text
    assert "# TYPE http_request_duration_seconds histogram" in text
    samples = _samples(text)
    post_search = {"handler": "/search", "method": "POST", "status": "2xx"}
    assert _value(samples, "http_requests_total", **post_search) == 1
    assert _value(samples, "http_request_duration_seconds_count", **post_search) == 1
    assert _value(samples, "http_request_duration_seconds_bucket", **post_search, le="+Inf") == 1
    assert _value(samples, "http_request_duration_seconds_sum", **post_search) > 0
    doc = {"handler": "/documents/{doc_id}", "method": "GET"}
    assert _value(samples, "http_requests_total", **doc, status="2xx") == 1
    assert _value(samples, "http_requests_total", **doc, status="4xx") == 1
    handlers = {dict(labels).get("handler") for _, labels in samples}
    assert not any(h and (DOC_ID in h or "no_such_doc" in h) for h in handlers), handlers  # templates, not ids
    assert "/metrics" not in handlers  # scrapes are not counted as traffic


def test_metrics_report_the_served_index_and_model(settings, searcher) -> None:
    with _client(settings, searcher) as client:
        samples = _samples(client.get("/metrics").text)
        assert _value(samples, "briefsearch_ready") == 1
        assert _value(samples, "briefsearch_index_documents") == len(searcher.index.documents)
        assert _value(samples, "briefsearch_index_passages") == len(searcher.index.chunks)
        assert _value(samples, "briefsearch_index_built_timestamp_seconds") > 1.6e9
        identity = searcher.encoder.identity
        model = {"name": identity["name"], "checksum": identity["checksum"][:12], "dim": str(identity["dim"])}
        assert _value(samples, "briefsearch_model_info", **model) == 1
        manifest = searcher.index.manifest
        index = {"version": searcher.index.path.name, "built_at": manifest.built_at,
                 "format_version": str(manifest.format_version)}
        assert _value(samples, "briefsearch_index_info", **index) == 1
        assert any(name == "process_resident_memory_bytes" for name, _ in samples)

        # read at scrape time: while the engine is (re)loading there is nothing to report, and no error
        engine = client.app.state.engine
        serving, engine.current = engine.current, None
        loading = _samples(client.get("/metrics").text)
        engine.current = serving
    assert _value(loading, "briefsearch_ready") == 0
    assert not any(name.startswith(("briefsearch_index", "briefsearch_model")) for name, _ in loading)


def test_request_id_is_echoed_when_sane_and_generated_otherwise(settings, searcher) -> None:
    app = create_app(settings, searcher=searcher)

    @app.get("/_request_id")
    async def request_id(request: Request) -> dict:
        return {"id": request.state.request_id}

    with TestClient(app) as client:
        given = client.get("/_request_id", headers={"X-Request-ID": "edge-7f3a.B_9"})
        assert given.headers["X-Request-ID"] == "edge-7f3a.B_9" == given.json()["id"]
        generated = client.get("/_request_id")
        assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
        assert generated.json()["id"] == generated.headers["X-Request-ID"]
        assert client.get("/health").headers["X-Request-ID"] != generated.headers["X-Request-ID"]
        for bad in ("a" * 65, "<script>alert(1)</script>", "id with spaces", "x;rm -rf", "", "아이디"):
            response = client.get("/health", headers={"X-Request-ID": bad.encode()})
            assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"]), bad
            assert len(response.headers.get_list("X-Request-ID")) == 1


def test_json_access_log_has_one_parseable_line_per_request(settings, searcher, access_log) -> None:
    with _client(settings, searcher) as client:
        client.post("/search", json={"query": QUESTION, "k": 3}, headers={"X-Request-ID": "req-search-1"})
        client.get(f"/documents/{DOC_ID}")
        client.get("/no/such/path")
    lines = access_log()
    assert len(lines) == 3
    for line in lines:
        assert ACCESS_FIELDS <= line.keys()
        assert line["logger"] == ACCESS_LOGGER and line["level"] == "INFO" and line["time"]
        assert "query" not in line
    search, doc, missing = lines
    assert search["request_id"] == "req-search-1"
    assert (search["method"], search["path"], search["route"], search["status"]) == ("POST", "/search", "/search", 200)
    assert search["latency_ms"] > 0 and search["client"] == "testclient"
    assert (doc["path"], doc["route"], doc["status"]) == (f"/documents/{DOC_ID}", "/documents/{doc_id}", 200)
    assert re.fullmatch(r"[0-9a-f]{32}", doc["request_id"])
    assert (missing["route"], missing["status"]) == (None, 404)


def test_queries_are_logged_only_when_enabled(settings, searcher, access_log) -> None:
    with _client(settings, searcher) as client:
        client.post("/search", json={"query": QUESTION, "k": 3})
        client.get("/search", params={"q": QUESTION, "k": 3})
    with _client(settings, searcher, log_queries=True) as client:
        client.post("/search", json={"query": QUESTION, "k": 3})
        client.get("/search", params={"q": QUESTION, "k": 3})
    off_post, off_get, on_post, on_get = access_log()
    for line in (off_post, off_get):
        assert "query" not in line and QUESTION not in json.dumps(line, ensure_ascii=False)
        assert line["path"] == "/search"  # GET's query string never reaches the log
    assert on_post["query"] == QUESTION and on_get["query"] == QUESTION


def test_server_errors_are_logged_with_the_request_id(settings, searcher, access_log) -> None:
    app = create_app(settings, searcher=searcher)

    @app.get("/_boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/_boom", headers={"X-Request-ID": "req-boom"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "req-boom"
    (line,) = access_log()
    assert (line["level"], line["request_id"], line["status"], line["route"]) == ("ERROR", "req-boom", 500, "/_boom")
    assert "RuntimeError: boom" in line["exc_info"]


def test_a_crash_under_v1_answers_in_the_openai_error_shape(settings, searcher, access_log) -> None:
    """The access log's own 500 answered {"detail": ...} on /v1/*, where every other error is OpenAI's shape."""
    app = create_app(settings, searcher=searcher)

    @app.get("/v1/_boom")
    async def boom_v1() -> None:
        raise RuntimeError("boom at /srv/briefsearch/var/index")

    @app.get("/_boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        openai = client.get("/v1/_boom")
        plain = client.get("/_boom")
    assert openai.status_code == plain.status_code == 500
    assert openai.json() == {"error": {"message": "internal server error", "type": "server_error", "param": None,
                                       "code": None}}
    assert plain.json() == {"detail": "internal server error"}
    assert int(openai.headers["content-length"]) == len(openai.content)
    assert "/srv/briefsearch/var/index" in access_log()[0]["exc_info"]  # the cause is in the log, not the reply


def test_metrics_need_the_api_key_when_keys_are_configured(settings, searcher, access_log) -> None:
    with _client(settings, searcher, api_keys=KEY) as client:
        denied = client.get("/metrics")
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})
    assert denied.status_code == 401 and denied.headers["X-Request-ID"]
    assert allowed.status_code == 200 and "briefsearch_index_documents" in allowed.text
    rejected, served = access_log()  # the key check's 401 is logged too: the access log wraps it
    assert (rejected["route"], rejected["status"], served["status"]) == ("/metrics", 401, 200)


def test_the_app_leaves_the_root_logger_alone(settings, searcher, restore_logging) -> None:  # noqa: F811  (fixture imported from unit/)
    """FastMCP's constructor (run by the app's start-up, for /mcp) calls logging.basicConfig: in a process whose
    root logger had no handler (a Ray replica, a library user) the app added a handler and set WARNING."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG)
    app = create_app(settings, searcher=searcher)
    mcp = next(route.endpoint.app for route in app.routes if getattr(route, "path", None) == "/mcp")
    with TestClient(app):
        assert mcp._manager is not None  # the start-up built the MCP server: FastMCP's constructor ran
        assert root.handlers == [] and root.level == logging.DEBUG
    own = logging.StreamHandler(io.StringIO())
    root.addHandler(own)
    root.setLevel(logging.ERROR)
    with TestClient(create_app(settings, searcher=searcher)):
        assert root.handlers == [own] and root.level == logging.ERROR
