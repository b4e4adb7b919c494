"""The HTTP contract, through the real app, model and index."""

from __future__ import annotations

import itertools
import unicodedata

from briefsearch.config import REPO_ROOT
from briefsearch.ingest.sources import read_original

QUESTION = "광둥성의 범용 AI 산업 목표는?"


def _check_result_shape(item: dict) -> None:
    for key in ("rank", "score", "chunk_id", "doc_id", "title", "section", "text", "citation"):
        assert key in item
    for key in ("doc_id", "title", "source", "char_start", "char_end", "line_start", "line_end", "page"):
        assert key in item["citation"]


def test_post_search_returns_ranked_cited_passages(client) -> None:
    response = client.post("/search", json={"query": QUESTION, "k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == QUESTION and body["took_ms"] > 0
    results = body["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(results))
    for item in results:
        _check_result_shape(item)
    top = results[0]
    assert top["doc_id"] == "001_7307f45af5f7b1ae"
    assert "광둥성" in top["text"]
    # the citation slices the original file to text containing the passage's words
    cite = top["citation"]
    original = read_original(REPO_ROOT / cite["source"], "utf-8")[cite["char_start"] : cite["char_end"]]
    assert "광둥성" in original


def test_get_search_matches_post(client) -> None:
    got = client.get("/search", params={"q": QUESTION, "k": 3}).json()
    posted = client.post("/search", json={"query": QUESTION, "k": 3}).json()
    assert [r["chunk_id"] for r in got["results"]] == [r["chunk_id"] for r in posted["results"]]


def test_decomposed_hangul_query_matches_composed(client) -> None:
    nfd = unicodedata.normalize("NFD", QUESTION)
    assert nfd != QUESTION
    a = client.post("/search", json={"query": nfd, "k": 5}).json()
    b = client.post("/search", json={"query": QUESTION, "k": 5}).json()
    assert a["query"] == QUESTION
    assert [r["chunk_id"] for r in a["results"]] == [r["chunk_id"] for r in b["results"]]


def test_bad_queries_get_clear_4xx(client) -> None:
    cases = [
        ({"query": "", "k": 5}, "empty"),
        ({"query": "   \n\t ", "k": 5}, "empty"),
        ({"query": QUESTION, "k": 0}, "k"),
        ({"query": QUESTION, "k": 51}, "k"),
        ({"query": "가" * 2001, "k": 5}, "2000"),
        ({"k": 5}, "query"),
        ({"query": QUESTION, "k": "many"}, "k"),
        ({"query": 12, "k": 5}, "query"),
    ]
    for payload, word in cases:
        response = client.post("/search", json=payload)
        assert response.status_code == 422, payload
        assert word in response.json()["detail"], (payload, response.json())


def test_malformed_json_and_bad_get_params(client) -> None:
    response = client.post("/search", content=b'{"query": "x", ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]
    assert client.get("/search", params={"q": "  "}).status_code == 422
    assert client.get("/search", params={"q": QUESTION, "k": 99}).status_code == 422
    assert client.get("/search").status_code == 422
    long_query = client.get("/search", params={"q": "나" * 2001})
    assert long_query.status_code == 422 and "2000" in long_query.json()["detail"]


def test_documents_list_and_detail(client, searcher) -> None:
    docs = client.get("/documents").json()
    assert len(docs) == 5
    assert sum(d["chunk_count"] for d in docs) == len(searcher.index.chunks)
    for d in docs:
        assert {"doc_id", "title", "date", "publisher", "chunk_count"} <= d.keys()
    detail = client.get(f"/documents/{docs[0]['doc_id']}").json()
    assert detail["text"] and detail["title"] == docs[0]["title"]
    assert "본 보고서는" not in client.get("/documents/001_7307f45af5f7b1ae").json()["text"]
    missing = client.get("/documents/no_such_doc")
    assert missing.status_code == 404 and "no_such_doc" in missing.json()["detail"]


def test_health_reports_index_and_model(client, searcher) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 5 and body["chunks"] == len(searcher.index.chunks)
    assert body["model"]["dim"] == 384 and "e5" in body["model"]["name"]
    assert body["index_built_at"]


def test_openapi_docs_are_served(client) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/search", "/documents", "/documents/{doc_id}", "/health"} <= spec["paths"].keys()


def test_request_limits_follow_the_settings(settings, searcher) -> None:
    """BRIEFSEARCH_MAX_K / _MAX_QUERY_CHARS move the HTTP limits too (one source: the settings)."""
    from fastapi.testclient import TestClient

    from briefsearch.api.app import create_app
    from briefsearch.retrieval.searcher import Searcher

    custom = settings.model_copy(update={"max_k": 10, "max_query_chars": 3000})
    limited = Searcher(searcher.index, searcher.encoder, custom, korean=searcher.korean)
    with TestClient(create_app(custom, searcher=limited)) as http:
        assert http.post("/search", json={"query": QUESTION, "k": 10}).status_code == 200
        too_many = http.post("/search", json={"query": QUESTION, "k": 11})
        assert too_many.status_code == 422 and "10" in too_many.json()["detail"]
        assert http.post("/search", json={"query": QUESTION + " 가" * 1200, "k": 3}).status_code == 200
        assert http.post("/search", json={"query": "가" * 3001, "k": 3}).status_code == 422
