"""A press release added over HTTP to a copy of the real index is found (the form itself: unit/)."""

from __future__ import annotations

from pathlib import Path

from unit.test_press_releases import RELEASE, TITLE, _squash

from briefsearch.structure.blocks import COVER_LABEL


def test_a_release_added_over_http(scratch_settings, encoder, korean, tmp_path: Path) -> None:
    """A user adds a release (POST /documents, no title given) and searches it: title, sections, citations."""
    from fastapi.testclient import TestClient

    from briefsearch.api.app import create_app
    from briefsearch.retrieval.searcher import Searcher
    from briefsearch.store.versions import load_index

    data = RELEASE.encode("utf-8")
    key = {"Authorization": "Bearer test-key"}
    searcher = Searcher(load_index(scratch_settings.index_dir), encoder, scratch_settings, korean=korean)
    with TestClient(create_app(scratch_settings, searcher=searcher)) as client:
        added = client.post("/documents", headers=key, files={"file": ("drone-release.txt", data, "text/plain")})
        assert added.status_code in (200, 201), added.text
        doc_id = added.json()["doc_id"]

        def search(query: str) -> list[dict]:
            hits = client.post("/search", json={"query": query, "k": 10}, headers=key).json()["results"]
            return [r for r in hits if r["doc_id"] == doc_id]

        hits = search("드론 영상에서 얼굴 정보를 흐리게 처리하지 않은 사업자에 대한 조치")
        body = next(r for r in hits if r["kind"] != "metadata")
        assert _squash(body["title"]) == _squash(TITLE)
        assert body["section"] == "" and "시정명령을 내렸다고 밝혔다" in body["text"]
        original = data.decode("utf-8")
        cited = original[body["citation"]["char_start"] : body["citation"]["char_end"]]
        for line in body["text"].split("\n"):
            assert _squash(line) in _squash(cited), line
        assert "담당 부서" not in cited and "보도시점" not in cited

        header = search("가상데이터보호청 보도자료 보도시점 배포 일시")
        assert any(r["kind"] == "metadata" and r["section"] == COVER_LABEL for r in header)
        annex = search("원본 드론 영상은 며칠 안에 파기해야 하나")
        hit = next(r for r in annex if r["section"].startswith("붙임"))
        assert "30일 이내에 파기" in hit["text"]
        cited = original[hit["citation"]["char_start"] : hit["citation"]["char_end"]]
        assert "30일 이내에 파기" in cited
