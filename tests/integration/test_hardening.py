"""Issue 15: access by route, malformed keys, bounded bodies and conversations, status codes, the poller.

Everything goes through the real app, model and index. After each refused request the
known search result and the document counts are checked unchanged (``_snapshot``).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from briefsearch.api.access import RequireKey
from briefsearch.api.app import create_app
from briefsearch.build.library import Library
from briefsearch.config import Settings
from briefsearch.retrieval.searcher import Searcher
from briefsearch.store.versions import POINTER, live_version, load_index
from integration.test_corpus import KEY, NEW_DOC, _snapshot

ABSOLUTE_PATH = re.compile(r"(?<![\w:])/[\w.-]+/")
OPEN = {("GET", "/"), ("GET", "/documents/{doc_id}/view"), ("GET", "/health"), ("GET", "/ready")}
MALFORMED = [
    {},  # no header
    {"Authorization": "test-key"},  # no scheme
    {"Authorization": "Basic test-key"},  # wrong scheme
    {"Authorization": "Bearer"},  # empty key
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer é".encode()},  # non-ASCII (UTF-8 bytes on the wire): once a 500
    {"Authorization": "Bearer test-kéy".encode("latin-1")},
    {"Authorization": "Bearer " + "k" * 5000},
    {"Authorization": "Bearer test-key2"},  # a key that only starts like a real one
]


@pytest.fixture(scope="module")
def keyed(settings: Settings, searcher: Searcher) -> Iterator[tuple[TestClient, Settings]]:
    """The real app over the session index with a key configured (read-only use)."""
    secured = settings.model_copy(update={"api_keys": "test-key"})
    with TestClient(create_app(secured, searcher=searcher)) as client:
        yield client, secured


def _app(settings: Settings, encoder, korean) -> TestClient:
    return TestClient(create_app(settings, searcher=Searcher(load_index(settings.index_dir), encoder, settings,
                                                             korean=korean)))


def test_every_route_is_guarded_unless_it_declares_itself_open(keyed) -> None:
    """Walk every route of the app and call it without a key: exactly the pages, /health and /ready answer.

    A document whose id is ``view`` was readable and deletable without a key (the open-page check matched
    path strings); a new route is guarded unless it says otherwise."""
    client, settings = keyed
    before = _snapshot(client, settings)
    open_routes, guarded = set(), set()
    for context in iter_route_contexts(client.app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            assert route.path == "/static"  # the pages' CSS and JS
            continue
        if isinstance(route, Route) and isinstance(route.endpoint, RequireKey):  # an ASGI app: /mcp
            for method in ("GET", "POST", "DELETE"):
                status = client.request(method, context.path_format).status_code
                (guarded if status == 401 else open_routes).add((method, context.path_format))
            continue
        assert isinstance(route, APIRoute), f"{context.path} is not an API route: no access check covers it"
        path = context.path_format.replace("{doc_id}", "view")
        for method in sorted(context.methods - {"HEAD"}):
            status = client.request(method, path).status_code
            (guarded if status == 401 else open_routes).add((method, context.path_format))
    assert open_routes == OPEN
    assert {("GET", "/documents/{doc_id}"), ("DELETE", "/documents/{doc_id}"), ("POST", "/documents"),
            ("GET", "/metrics"), ("GET", "/openapi.json"), ("POST", "/v1/chat/completions"),
            ("POST", "/mcp")} <= guarded
    assert client.get("/static/view.js").status_code == 200
    assert _snapshot(client, settings) == before


def test_malformed_authorization_is_a_401(keyed) -> None:
    client, settings = keyed
    before = _snapshot(client, settings)
    for headers in MALFORMED:
        for method, path in [("GET", "/documents"), ("POST", "/search"), ("DELETE", "/documents/view")]:
            body = {"query": "광둥성"} if method == "POST" else None
            response = client.request(method, path, headers=headers, json=body)
            assert response.status_code == 401, (headers, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
        assert _snapshot(client, settings) == before
    assert client.get("/documents", headers={"Authorization": "bearer  test-key "}).status_code == 200


def test_openapi_declares_the_key_where_it_is_needed(keyed) -> None:
    client, _ = keyed
    spec = client.get("/openapi.json", headers=KEY).json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert spec["paths"]["/search"]["post"]["security"] == [{"apiKey": []}]
    assert "401" in spec["paths"]["/search"]["post"]["responses"]
    assert "413" in spec["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert "security" not in spec["paths"]["/health"]["get"]


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A body sent without Content-Length (chunked transfer encoding)."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


def _message(response) -> str:
    """The error message in the route's shape: ours ``{"detail"}``, OpenAI's ``{"error": {"message"}}`` on /v1."""
    body = response.json()
    return body["error"]["message"] if response.request.url.path.startswith("/v1/") else body["detail"]


@pytest.mark.parametrize("path", ["/search", "/ask", "/v1/chat/completions"])
def test_json_bodies_over_the_limit_are_refused_before_parsing(keyed, path: str) -> None:
    client, settings = keyed
    before = _snapshot(client, settings)
    limit = settings.max_body_bytes
    declared = client.post(path, content=b" " * (limit + 1), headers={**KEY, "Content-Type": "application/json"})
    assert declared.status_code == 413 and str(limit) in _message(declared), declared.text
    chunked = client.post(path, content=_chunks(limit + 1), headers={**KEY, "Content-Type": "application/json"})
    assert chunked.status_code == 413 and str(limit) in _message(chunked), chunked.text
    assert _snapshot(client, settings) == before


def test_chat_messages_are_bounded(keyed) -> None:
    client, settings = keyed
    before = _snapshot(client, settings)
    many = [{"role": "user", "content": "광둥성"}] * (settings.max_chat_messages + 1)
    response = client.post("/v1/chat/completions", json={"messages": many}, headers=KEY)
    assert response.status_code == 422 and "messages" in _message(response), response.text
    long = [{"role": "user", "content": "광" * (settings.max_message_chars + 1)}, {"role": "user", "content": "그럼?"}]
    response = client.post("/v1/chat/completions", json={"messages": long}, headers=KEY)
    assert response.status_code == 422 and "messages.0" in _message(response), response.text
    assert _snapshot(client, settings) == before


def test_long_history_and_a_short_followup_stay_within_the_query_limit(keyed) -> None:
    """A long earlier message plus "그 목표 연도는?" gave a 422 ("query is N characters")."""
    client, settings = keyed
    filler = "정책 배경과 추진 경과를 자세히 알려 주세요. " * 120
    first = f"베이징 부도심 국가녹색개발시범구의 삼림 피복률 목표는? {filler}"
    assert len(first) > settings.max_query_chars
    messages = [{"role": "user", "content": first}, {"role": "assistant", "content": "..."},
                {"role": "user", "content": "그 목표 연도는?"}]
    response = client.post("/v1/chat/completions", json={"messages": messages}, headers=KEY)
    assert response.status_code == 200, response.text
    query = response.json()["briefsearch"]["query"]
    assert len(query) <= settings.max_query_chars
    assert query.endswith("그 목표 연도는?") and "베이징" in query and "삼림" in query
    assert {c["doc_id"] for c in response.json()["citations"]} == {"003_263747581c6563b7"}


# ------------------------------------------------------------------ over a real socket


def _raw_upload(url: str, headers: dict[str, str], declared: int, sent: int) -> str:
    """Start an upload that declares ``declared`` bytes, send only ``sent``, and read what the server says."""
    parts = urlsplit(url)
    head = ["POST /documents HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {declared}",
            "Content-Type: multipart/form-data; boundary=xyz", *[f"{k}: {v}" for k, v in headers.items()]]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.sendall(b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
                     + b"x" * sent)
        return sock.recv(65536).decode("latin-1")  # times out (10 s) if the server waits for the rest


@pytest.mark.parametrize(("api_keys", "headers", "status"), [
    ("", KEY, "403"),  # writes disabled: refused before the body (it was parsed and spooled first)
    ("test-key", {"Authorization": "Bearer wrong"}, "401"),
])
def test_refused_uploads_are_refused_before_the_body_is_read(scratch_settings: Settings, encoder, korean,
                                                              serve_app, api_keys: str, headers: dict,
                                                              status: str) -> None:
    settings = scratch_settings.model_copy(update={"api_keys": api_keys})
    url, stop = serve_app(create_app(settings, searcher=Searcher(load_index(settings.index_dir), encoder, settings,
                                                                 korean=korean)))
    try:
        reply = _raw_upload(url, headers, declared=5 * 2**20, sent=1024)
        assert reply.startswith(f"HTTP/1.1 {status}"), reply
        assert not any((settings.data_dir / "library").glob("files/*"))
    finally:
        stop()


@pytest.fixture(scope="module")
def keyed_server(settings: Settings, searcher: Searcher, serve_app) -> Iterator[str]:
    """The real app over the session index, with a key configured, served by uvicorn."""
    url, stop = serve_app(create_app(settings.model_copy(update={"api_keys": "test-key"}), searcher=searcher))
    yield url
    stop()


def _urllib_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST as Python's urllib does: the whole body is written before the response is read."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


MULTIPART = "multipart/form-data; boundary=xyz"
BIG_UPLOAD = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n' + b"x" * 3 * 2**20


def _json_body(size: int) -> bytes:
    return json.dumps({"query": "광둥성", "padding": "x" * size}).encode()


@pytest.mark.parametrize(("path", "body", "headers", "status", "says"), [
    ("/search", _json_body(3 * 2**20), KEY, 413, "limit of"),
    ("/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "광" * (2**20 // 3)}]}).encode(), KEY,
     413, "limit of"),
    ("/search", _json_body(200_000), {"Authorization": "Bearer wrong"}, 401, "API key"),
    ("/documents", BIG_UPLOAD, {"Authorization": "Bearer wrong", "Content-Type": MULTIPART}, 401, "API key"),
])
def test_a_client_that_sends_the_whole_body_first_reads_the_refusal(keyed_server: str, path: str, body: bytes,
                                                                    headers: dict, status: int, says: str) -> None:
    """Issue 27: urllib (and any client that writes the whole body before reading) got ConnectionResetError for
    an oversized body: the server answered 413 and closed while body bytes were still arriving."""
    for _ in range(3):  # the reset came every time; a race would show within three tries
        got, text = _urllib_post(f"{keyed_server}{path}", body, {"Content-Type": "application/json", **headers})
        assert got == status and says in text, (got, text[:300])


def test_writes_disabled_is_readable_by_a_client_that_sends_the_whole_body_first(settings: Settings,
                                                                                 searcher: Searcher,
                                                                                 serve_app) -> None:
    url, stop = serve_app(create_app(settings, searcher=searcher))  # no keys: corpus changes are refused (403)
    try:
        got, text = _urllib_post(f"{url}/documents", BIG_UPLOAD, {**KEY, "Content-Type": MULTIPART})
        assert got == 403 and "disabled" in text, (got, text[:300])
    finally:
        stop()


def _flood(url: str, pause: float) -> tuple[bytes, int, float]:
    """Declare a 1 GiB body to /search and keep sending it (``pause`` seconds between 16 KB writes) while reading.

    Returns what the server said, the bytes the client got out, and the seconds until the server cut it off.
    """
    parts = urlsplit(url)
    head = ["POST /search HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {2**30}",
            "Content-Type: application/json", "Authorization: Bearer test-key"]
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        started = time.monotonic()
        cut_off: list[float] = []

        def write() -> None:
            nonlocal sent
            chunk = b" " * 16384
            try:
                while time.monotonic() - started < 60:
                    sock.sendall(chunk)
                    sent += len(chunk)
                    time.sleep(pause)
            except OSError:  # reset or broken pipe: the server stopped reading
                cut_off.append(time.monotonic() - started)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except OSError:
            pass
        writer.join(timeout=60)
    assert cut_off, "the client was never cut off"
    return reply, sent, cut_off[0]


def test_draining_a_refused_body_is_bounded_in_bytes_and_time(keyed_server: str) -> None:
    """The lingering close reads at most LINGER_BYTES for at most LINGER_SECONDS, then closes; the server
    answers other requests meanwhile."""
    from briefsearch.api.limits import LINGER_BYTES, LINGER_SECONDS

    reply, sent, seconds = _flood(keyed_server, pause=0)  # as fast as loopback goes: the byte bound cuts it off
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < LINGER_BYTES + 32 * 2**20, sent  # the bound plus what the two sockets' buffers hold
    assert seconds < LINGER_SECONDS, seconds

    outcome: list[tuple[bytes, int, float]] = []
    slow = threading.Thread(target=lambda: outcome.append(_flood(keyed_server, pause=0.05)))  # 320 KB/s forever
    slow.start()
    time.sleep(1)
    answered = time.monotonic()
    assert httpx.get(f"{keyed_server}/health", timeout=10).status_code == 200
    assert time.monotonic() - answered < 2  # responsive while it drains
    slow.join(timeout=60)
    reply, sent, seconds = outcome[0]
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert LINGER_SECONDS - 1 < seconds < LINGER_SECONDS + 5, seconds  # the time bound cut it off
    search = httpx.post(f"{keyed_server}/search", json={"query": "광둥성 AI 목표", "k": 1}, headers=KEY, timeout=60)
    assert search.status_code == 200


def test_chunked_upload_over_the_limit_is_refused(scratch_settings: Settings, encoder, korean) -> None:
    """The upload limit trusted Content-Length: a chunked upload skipped it, and only the file itself was
    checked, after the whole body was parsed (a small file with a 400 KB form field went in)."""
    settings = scratch_settings.model_copy(update={"max_upload_bytes": 100_000})
    with _app(settings, encoder, korean) as client:
        before = _snapshot(client, settings)

        def stream() -> Iterator[bytes]:  # no Content-Length: sent chunked
            yield b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"small.md\"\r\n\r\n"
            yield NEW_DOC.encode() + b"\r\n--xyz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
            yield from (("양자 " * 10_000).encode() for _ in range(6))  # 420 KB of title
            yield b"\r\n--xyz--\r\n"

        response = client.post("/documents", content=stream(),
                               headers={**KEY, "Content-Type": "multipart/form-data; boundary=xyz"})
        assert response.status_code == 413, response.text[:300]
        assert str(100_000 + 64 * 1024) in response.json()["detail"]
        assert _snapshot(client, settings) == before


def test_a_busy_writer_lock_is_a_409_with_retry_after(scratch_settings: Settings, encoder, korean) -> None:
    """Waiting for the lock took up to 600 s and then answered 400."""
    settings = scratch_settings.model_copy(update={"lock_wait_seconds": 0.5})
    with _app(settings, encoder, korean) as client:
        before = _snapshot(client, settings)
        with Library(settings).lock(10):  # another process's change or build
            started = time.monotonic()
            response = client.post("/documents", files={"file": ("hefei.md", NEW_DOC.encode(), "text/markdown")},
                                   headers=KEY)
            assert time.monotonic() - started < 30
        assert response.status_code == 409 and response.headers["retry-after"] == "1", response.text
        assert "retry" in response.json()["detail"]
        assert _snapshot(client, settings) == before
        again = client.post("/documents", files={"file": ("hefei.md", NEW_DOC.encode(), "text/markdown")},
                            headers=KEY)
        assert again.status_code == 201, again.text


def test_a_broken_seed_file_is_a_server_fault_and_nothing_is_lost(scratch_settings: Settings, encoder, korean,
                                                                  tmp_path: Path) -> None:
    """A seed document the server cannot read made an upload fail with a 400, as if the file were bad."""
    corpus = tmp_path / "corpus"
    shutil.copytree(scratch_settings.corpus_dir, corpus)
    settings = scratch_settings.model_copy(update={"corpus_dir": corpus})
    with _app(settings, encoder, korean) as client:
        before = _snapshot(client, settings)
        seed = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))["documents"][2]["file"]
        (corpus / seed).write_bytes(b"\x00\x01 broken by a disk fault \x00")
        response = client.post("/documents", files={"file": ("hefei.md", NEW_DOC.encode(), "text/markdown")},
                               headers=KEY)
        assert response.status_code == 500, response.text
        detail = response.json()["detail"]
        assert "could not be rebuilt" in detail and seed in detail and "nothing was changed" in detail
        assert _snapshot(client, settings) == before


def test_an_unreadable_library_is_a_server_fault(scratch_settings: Settings, encoder, korean) -> None:
    """A library.json the server cannot parse is not the uploader's mistake (it was a 400)."""
    library = scratch_settings.data_dir / "library" / "library.json"
    library.parent.mkdir(parents=True)
    library.write_text('{"added": {', encoding="utf-8")  # cut short by a full disk
    with _app(scratch_settings, encoder, korean) as client:
        before = _snapshot(client, scratch_settings)
        response = client.post("/documents", files={"file": ("hefei.md", NEW_DOC.encode(), "text/markdown")},
                               headers=KEY)
        assert response.status_code == 500 and "library cannot be read" in response.json()["detail"], response.text
        # the library file is named, but not where the server keeps it
        assert "…/library.json" in response.text and str(scratch_settings.data_dir) not in response.text
        assert client.delete("/documents/002_22ff6807f067724b", headers=KEY).status_code == 500
        assert _snapshot(client, scratch_settings) == before


def test_the_poller_survives_any_failure_and_reports_it(scratch_settings: Settings, encoder, korean,
                                                        serve_app) -> None:
    """A version whose manifest lacks a field raised TypeError, which ended the poller silently."""
    settings = scratch_settings
    url, stop = serve_app(create_app(settings, searcher=Searcher(load_index(settings.index_dir), encoder, settings,
                                                                 korean=korean)))
    index_dir = settings.index_dir
    live = live_version(index_dir)
    try:
        broken = index_dir / "v-99990101T000000-broken"
        shutil.copytree(live, broken)
        manifest = json.loads((broken / "manifest.json").read_text(encoding="utf-8"))
        del manifest["n_chunks"]
        (broken / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        _point(index_dir, broken.name)
        health = _wait(url, lambda h: h.get("refresh_error"))
        assert "TypeError" in health["refresh_error"] and health["index_version"] == live.name
        assert httpx.post(f"{url}/search", json={"query": "광둥성"}, headers=KEY, timeout=60).status_code == 200
        good = index_dir / "v-99990101T000001-good"
        shutil.copytree(live, good)
        _point(index_dir, good.name)
        health = _wait(url, lambda h: h["index_version"] == good.name)
        assert health["refresh_error"] is None
    finally:
        stop()


def test_health_error_texts_carry_no_paths(settings: Settings, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """A failed load put the data directory's absolute path into /health and /ready; it belongs in the log."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(settings.models_dir, target_is_directory=True)
    empty = settings.model_copy(update={"data_dir": data})  # the model, but no index
    with caplog.at_level(logging.ERROR, logger="briefsearch.api.app"), TestClient(create_app(empty)) as client:
        deadline = time.monotonic() + 120
        while (health := client.get("/health").json())["status"] == "loading":
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        ready = client.get("/ready")
    assert health["status"] == "failed" and ready.status_code == 503
    for text in (health["error"], ready.json()["error"]):
        assert text.startswith("no index in …/index; build it"), text
        assert str(tmp_path) not in text and not ABSOLUTE_PATH.search(text), text
    assert str(data / "index") in caplog.text  # the operator still sees where


def _point(index_dir: Path, name: str) -> None:
    tmp = index_dir / f".{POINTER}.test"
    tmp.write_text(name, encoding="utf-8")
    tmp.replace(index_dir / POINTER)


def _wait(url: str, condition, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(f"{url}/health", timeout=10).json()
        if condition(health):
            return health
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {health}"
        time.sleep(0.2)


def test_searches_are_served_while_a_change_runs_with_one_pool_thread(scratch_settings: Settings, encoder,
                                                                        korean) -> None:
    """A change held a thread of the pool searches use for its whole build; with that pool down to one thread,
    searches waited for the upload. Changes now run on their own thread."""
    import anyio.to_thread

    from briefsearch.errors import BriefsearchError

    with _app(scratch_settings, encoder, korean) as client:
        before = _snapshot(client, scratch_settings)

        def one_thread() -> None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = 1

        client.portal.call(one_thread)
        outcome: list[int] = []
        sections = [f"## {i}. 허페이시 양자 산업 과제 {i}\n\n- 허페이시는 {2025 + i % 10}년까지 양자 부품 "
                    f"기업 {i * 7}곳을 육성하고 연구개발 예산 {i * 13}억 위안을 투입한다.\n- 시범단지 {i}호에는 "
                    f"측정 장비 {i * 3}대를 설치한다.\n" for i in range(1, 41)]
        document = ("# 허페이시 양자 산업 과제 목록\n\n" + "\n".join(sections)).encode()  # a build of some seconds
        upload = threading.Thread(target=lambda: outcome.append(client.post(
            "/documents", files={"file": ("hefei-tasks.md", document, "text/markdown")}, headers=KEY).status_code))
        upload.start()
        deadline = time.monotonic() + 60
        while True:  # until the change holds the writer lock, i.e. it is building
            try:
                with Library(scratch_settings).lock(0):
                    pass
            except BriefsearchError:
                break
            assert upload.is_alive() and time.monotonic() < deadline, outcome
            time.sleep(0.01)
        search = client.post("/search", json={"query": "광둥성 AI 목표", "k": 3}, headers=KEY)
        assert search.status_code == 200
        assert upload.is_alive(), "the search waited for the upload to finish"
        upload.join(timeout=120)
        assert outcome == [201]
        assert len(_snapshot(client, scratch_settings)["documents"]) == len(before["documents"]) + 1
