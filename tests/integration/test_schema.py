"""The OpenAPI contract, fuzzed: schemathesis sends generated requests to every operation of the real app.

Every response must not be a server error, and must carry a status code, content
type, headers and body that ``/openapi.json`` declares for that operation. The run
is bounded (a few examples per operation, derandomized, no example database), so CI
sends the same requests every time.

Read operations run against the real app over the session index, without API keys.
The corpus-changing operations (``POST /documents``, ``DELETE /documents/{doc_id}``)
are only enabled with API keys, so they run against a private writable copy of the
index (``scratch_settings``, key ``test-key``); the session index is never changed.

Each operation is its own test, driven through schemathesis' public strategy API
(``APIOperation.as_strategy`` under ``hypothesis.given``) rather than
``schemathesis.pytest.from_fixture``, whose runner reads ``Function._nodeid``,
which pytest 9.2 no longer has.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from briefsearch.api.app import create_app
from briefsearch.config import Settings
from briefsearch.retrieval.searcher import Searcher
from briefsearch.store.versions import load_index

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
VALID, INVALID = 20, 10  # generated requests per read operation: matching the schema, and not
WRITE_VALID, WRITE_INVALID = 12, 6  # a removal rebuilds the index incrementally (0.2-2 s each)
UNSERVED_VALID, UNSERVED_INVALID = 5, 3  # with no index served, every operation answers at once
CORPUS_CHANGES = {("POST", "/documents"), ("DELETE", "/documents/{doc_id}")}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _operations() -> list[tuple[str, str]]:
    """Every operation the app declares, read from its OpenAPI at collection time (no model or index needed)."""
    spec = create_app(Settings()).openapi()
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sorted((method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if method in methods)


OPERATIONS = _operations()
READ_OPERATIONS = [op for op in OPERATIONS if op not in CORPUS_CHANGES]
WRITE_OPERATIONS = sorted(CORPUS_CHANGES)


def _check(strategy: st.SearchStrategy, examples: int, headers: dict[str, str] | None, unavailable: bool) -> None:
    """Send up to ``examples`` generated requests; the first failing check fails the test (after shrinking).

    ``unavailable``: no index is served, so a 503 is the expected answer, not a server error (it must
    still be declared, and no other 5xx may occur).
    """
    checks = [c for c in CHECKS if c is not not_a_server_error] if unavailable else CHECKS

    # deadline: the encoder is real (tens of ms a search, up to seconds an upload);
    # derandomize + no database: the same requests on every run
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=headers, checks=checks)
        assert response.status_code < 500 or (unavailable and response.status_code == 503), response.text

    run()


MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
               b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 1 1]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _pdfs() -> st.SearchStrategy[bytes]:
    """Uploads that reach the PDF extractor: schemathesis names a file part by its signature, so bytes that
    start with ``%PDF-`` go out as ``file.pdf`` (any other generated file is ``file``, refused with a 415).
    A valid PDF without text, truncated ones, corrupted ones and garbage after the header."""
    size = len(MINIMAL_PDF)
    return st.one_of(
        st.just(MINIMAL_PDF),
        st.integers(5, size - 1).map(lambda n: MINIMAL_PDF[:n]),
        st.tuples(st.integers(5, size - 1), st.binary(min_size=1, max_size=16)).map(
            lambda cut: MINIMAL_PDF[:cut[0]] + cut[1] + MINIMAL_PDF[cut[0] + len(cut[1]):]),
        st.binary(max_size=4096).map(lambda tail: b"%PDF-1.7\n" + tail),
    )


def _fuzz(operation, doc_ids: list[str], valid: int, invalid: int, headers: dict[str, str] | None = None,
          unavailable: bool = False) -> None:
    """The schema's own examples, then ``valid`` requests that match the schema, then ``invalid`` ones that do not.

    Generated ids are almost never real (404), so a ``doc_id`` path parameter is also drawn from real ones.
    """
    fixed = {"headers": headers} if headers else {}
    examples = operation.get_strategies_from_examples()
    if examples:
        _check(st.one_of(examples), 5, headers, unavailable)
    positive = [operation.as_strategy(GenerationMode.POSITIVE, **fixed)]
    if "{doc_id}" in operation.path:
        positive.append(st.sampled_from(doc_ids).flatmap(
            lambda doc_id: operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"doc_id": doc_id},
                                                 **fixed)))
    if (operation.method.upper(), operation.path) == ("POST", "/documents"):
        positive.append(_pdfs().flatmap(
            lambda pdf: operation.as_strategy(GenerationMode.POSITIVE, body={"file": pdf}, **fixed)))
    _check(st.one_of(positive), valid, headers, unavailable)
    try:
        _check(operation.as_strategy(GenerationMode.NEGATIVE, **fixed), invalid, headers, unavailable)
    except Unsatisfiable:
        pass  # no invalid request exists: no parameters, or only free-form strings (like a path's doc_id)


def _served(serve_app: Callable, app) -> Iterator[str]:
    url, stop = serve_app(app)
    try:
        yield url
    finally:
        stop()


@pytest.fixture(scope="module")
def read_url(settings: Settings, searcher: Searcher, serve_app: Callable) -> Iterator[str]:
    """The real app over the session index, no API keys, served by uvicorn on loopback."""
    yield from _served(serve_app, create_app(settings, searcher=searcher))


@pytest.fixture(scope="module")
def read_schema(read_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{read_url}/openapi.json")


@pytest.fixture()
def write_url(scratch_settings: Settings, encoder, korean, serve_app: Callable) -> Iterator[str]:
    """The real app over a private writable copy of the index, with API keys configured."""
    searcher = Searcher(load_index(scratch_settings.index_dir), encoder, scratch_settings, korean=korean)
    yield from _served(serve_app, create_app(scratch_settings, searcher=searcher))


@pytest.fixture()
def write_schema(write_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{write_url}/openapi.json", headers=AUTH)


@pytest.fixture(scope="module")
def unserved_url(settings: Settings, encoder, serve_app: Callable,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app, with API keys, over a data directory that has the model but no index: loading fails."""
    data = tmp_path_factory.mktemp("unserved")
    (data / "models").symlink_to(settings.models_dir, target_is_directory=True)
    unserved = Settings(data_dir=data, corpus_dir=settings.corpus_dir, api_keys=KEY, reload_interval=0)
    url, stop = serve_app(create_app(unserved, build=False))
    try:
        deadline = time.monotonic() + 120
        while requests.get(f"{url}/ready", timeout=10).json()["state"] == "loading":
            assert time.monotonic() < deadline, "loading neither failed nor finished"
            time.sleep(0.2)
        yield url
    finally:
        stop()


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 12 and CORPUS_CHANGES <= set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), READ_OPERATIONS, ids=[f"{m} {p}" for m, p in READ_OPERATIONS])
def test_read_operation_conforms_to_the_openapi(method: str, path: str, read_schema: schemathesis.BaseSchema,
                                                searcher: Searcher) -> None:
    operation = read_schema[path][method]
    _fuzz(operation, sorted(searcher.index.documents), VALID, INVALID)


@pytest.mark.parametrize(("method", "path"), WRITE_OPERATIONS, ids=[f"{m} {p}" for m, p in WRITE_OPERATIONS])
def test_corpus_change_conforms_to_the_openapi(method: str, path: str, write_schema: schemathesis.BaseSchema,
                                               scratch_settings: Settings) -> None:
    operation = write_schema[path][method]
    doc_ids = sorted(load_index(scratch_settings.index_dir).documents)
    _fuzz(operation, doc_ids, WRITE_VALID, WRITE_INVALID, headers=AUTH)


# JSON that parses but holds text no UTF-8 can encode (a lone surrogate escape): such a string, echoed in a
# reply, an error message or the chat stream, or given to the tokenizer, once made a 500
UNENCODABLE = [
    ("/search", '{"query": "\\ud800 광둥성", "k": 3}', "query: text must be valid Unicode"),
    ("/search", '{"query": "광둥성", "doc_ids": ["\\udc00"]}', "doc_ids.0: text must be valid Unicode"),
    ("/ask", '{"question": "광둥성", "publisher": "\\ud800"}', "publisher: text must be valid Unicode"),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "\\ud800 광둥성"}]}',
     "messages.0.content: text must be valid Unicode"),
    ("/v1/chat/completions", '{"model": "\\udfff", "messages": [{"role": "user", "content": "광둥성"}]}',
     "model: text must be valid Unicode"),
    ("/v1/chat/completions", '{"stream": true, "model": "\\ud800", "messages": [{"role": "user", "content": "광"}]}',
     "model: text must be valid Unicode"),
    ("/search", '{"\\ud800": 1, "query": "광둥성"}', "a field name: text must be valid Unicode"),
]


@pytest.mark.parametrize(("path", "body", "detail"), UNENCODABLE,
                         ids=[f"{path} {detail.split(':')[0]}" for path, _, detail in UNENCODABLE])
def test_unencodable_text_is_refused_as_declared(path: str, body: str, detail: str,
                                                 read_schema: schemathesis.BaseSchema) -> None:
    case = read_schema[path]["POST"].Case(body={}, media_type="application/json")
    response = case.call_and_validate(data=body.encode(), headers={"Content-Type": "application/json"},
                                      checks=CHECKS)
    assert response.status_code == 422 and detail in _message(response), response.text


def _message(response) -> str:
    """The error message: ``detail``, or on /v1/* OpenAI's ``error.message``."""
    body = response.json()
    return body["error"]["message"] if "error" in body else body["detail"]


CP949_BODIES = {"/search": {"query": "광둥성 AI 목표"}, "/ask": {"question": "광둥성 AI 목표"},
                "/v1/chat/completions": {"messages": [{"role": "user", "content": "광둥성 AI 목표"}]}}


@pytest.mark.parametrize("path", sorted(CP949_BODIES))
def test_json_that_is_not_utf8_is_refused_as_declared(path: str, read_schema: schemathesis.BaseSchema) -> None:
    """A Korean client sending CP949 bytes gets the 422 of any malformed JSON (FastAPI's own answer was a 400)."""
    case = read_schema[path]["POST"].Case(body={}, media_type="application/json")
    body = json.dumps(CP949_BODIES[path], ensure_ascii=False).encode("cp949")
    response = case.call_and_validate(data=body, headers={"Content-Type": "application/json"}, checks=CHECKS)
    assert response.status_code == 422 and "not valid JSON" in _message(response), response.text


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_unserved_operation_conforms_to_the_openapi(method: str, path: str, unserved_url: str) -> None:
    """While no index is served (loading, or failed to load), every operation still answers as declared."""
    schema = schemathesis.openapi.from_url(f"{unserved_url}/openapi.json", headers=AUTH)
    assert requests.get(f"{unserved_url}/ready", timeout=10).status_code == 503
    _fuzz(schema[path][method], ["000_b57bb989019f2633"], UNSERVED_VALID, UNSERVED_INVALID, headers=AUTH,
          unavailable=True)


NEW_DOC = """# 중국 양자기술 주간동향

## 1. 허페이시 양자정보 산업 육성

- 안후이성 허페이시는 2027년까지 양자정보 산업 규모를 300억 위안으로 키우겠다고 발표했다.
- 허페이시는 양자 정밀측정 장비 국산화율을 80%로 높일 계획이다.
"""


def test_documented_outcomes_of_corpus_changes(write_schema: schemathesis.BaseSchema,
                                               scratch_settings: Settings) -> None:
    """What generated bytes rarely reach, each validated against the declared responses: a real .md upload
    (added, unchanged, replaced, removed) and the refusals (no key, oversized, unknown id)."""
    upload = write_schema["/documents"]["POST"]
    remove = write_schema["/documents/{doc_id}"]["DELETE"]

    def post(text: str, headers: dict[str, str] = AUTH) -> requests.Response:
        case = upload.Case(body={"file": b"", "doc_id": "schema-quantum"}, media_type="multipart/form-data")
        files = [("file", ("양자.md", text.encode(), "text/markdown"))]
        return case.call_and_validate(headers=headers, files=files, data={"doc_id": "schema-quantum"},
                                      checks=CHECKS)

    added = post(NEW_DOC)
    assert added.status_code == 201 and added.json()["status"] == "added", added.text
    unchanged = post(NEW_DOC)
    assert unchanged.status_code == 200 and unchanged.json()["status"] == "unchanged", unchanged.text
    replaced = post(NEW_DOC + "- 허페이시는 양자 인재 500명을 유치한다.\n")
    assert replaced.status_code == 200 and replaced.json()["status"] == "replaced", replaced.text
    assert post(NEW_DOC, headers={"Authorization": "Bearer wrong"}).status_code == 401

    oversized = upload.Case(body={"file": b""}, media_type="multipart/form-data")
    too_big = oversized.call_and_validate(headers={**AUTH, "Content-Type": "multipart/form-data; boundary=x"},
                                          data=b"x" * (scratch_settings.max_upload_bytes + 128 * 1024),
                                          checks=CHECKS)
    assert too_big.status_code == 413, too_big.text

    removed = remove.Case(path_parameters={"doc_id": "schema-quantum"}).call_and_validate(headers=AUTH,
                                                                                         checks=CHECKS)
    assert removed.status_code == 200 and removed.json()["status"] == "removed", removed.text
    again = remove.Case(path_parameters={"doc_id": "schema-quantum"}).call_and_validate(headers=AUTH, checks=CHECKS)
    assert again.status_code == 404, again.text


# Authorization headers a client may send wrong; once, a non-ASCII key made a 500
MALFORMED_AUTH: list[str | bytes | None] = [None, KEY, f"Basic {KEY}", "Bearer", "Bearer ", "Bearer é",
                                            "Bearer é".encode(), "Bearer " + "k" * 5000, "Bearer wrong"]
OPEN_OPERATIONS = {("GET", "/health"), ("GET", "/ready")}


@pytest.fixture(scope="module")
def keyed_url(settings: Settings, searcher: Searcher, serve_app: Callable) -> Iterator[str]:
    """The real app over the session index with a key configured; corpus changes are only sent with bad keys."""
    keyed = settings.model_copy(update={"api_keys": KEY})
    yield from _served(serve_app, create_app(keyed, searcher=searcher))


@pytest.fixture(scope="module")
def keyed_schema(keyed_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{keyed_url}/openapi.json", headers=AUTH)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_with_and_without_a_key(method: str, path: str, keyed_schema: schemathesis.BaseSchema,
                                          searcher: Searcher) -> None:
    """With keys configured, every operation answers a missing or malformed key as declared: 401 unless it is
    open; with the key, the read operations answer as declared (the corpus changes: see above)."""
    operation = keyed_schema[path][method]
    assert ("security" in operation.definition.raw) == ((method, path) not in OPEN_OPERATIONS)

    @settings(max_examples=3, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    def run(case: schemathesis.Case) -> None:
        for auth in MALFORMED_AUTH:
            headers = {} if auth is None else {"Authorization": auth}
            if auth is None:
                case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            if (method, path) in OPEN_OPERATIONS:
                assert response.status_code != 401, response.text
            else:
                assert response.status_code == 401, (auth, response.text)

    run()
    if (method, path) not in CORPUS_CHANGES:
        _fuzz(operation, sorted(searcher.index.documents), 5, 3, headers=AUTH)
