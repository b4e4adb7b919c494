"""Growing the corpus live: add, replace and remove documents over the real HTTP app and index.

Every test works on a private copy of the built index (``scratch_settings``),
so the session index the other tests use is never changed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from briefsearch.api.app import create_app
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.ingest.sources import read_original
from briefsearch.retrieval.searcher import Searcher
from briefsearch.store.versions import live_version, load_index

KEY = {"Authorization": "Bearer test-key"}
KNOWN_QUERY = "광둥성의 범용 AI 산업 목표는?"
NEW_DOC = """# 중국 양자기술 주간동향

## 1. 허페이시 양자정보 산업 육성

- 안후이성 허페이시는 2027년까지 양자정보 산업 규모를 300억 위안으로 키우겠다고 발표했다.
- 허페이시는 양자 정밀측정 장비 국산화율을 80%로 높일 계획이다.

## 2. 인재 정책

- 허페이시는 양자 분야 박사급 인재에게 정착 지원금 50만 위안을 지급한다.
"""
NEW_QUERY = "허페이시 양자정보 산업 규모 목표"


def _app(settings: Settings, encoder, korean) -> TestClient:
    searcher = Searcher(load_index(settings.index_dir), encoder, settings, korean=korean)
    return TestClient(create_app(settings, searcher=searcher))


@pytest.fixture()
def api(scratch_settings: Settings, encoder, korean) -> Iterator[TestClient]:
    with _app(scratch_settings, encoder, korean) as client:
        yield client


def _snapshot(client: TestClient, settings: Settings) -> dict:
    """What must not change when a change is refused: documents, passages, a known answer, files on disk."""
    docs = client.get("/documents", headers=KEY).json()
    top = client.post("/search", json={"query": KNOWN_QUERY, "k": 3}, headers=KEY).json()["results"]
    library = settings.data_dir / "library" / "library.json"
    return {
        "documents": sorted(d["doc_id"] for d in docs),
        "chunks": client.get("/health").json()["chunks"],
        "top": [(r["doc_id"], r["citation"]["char_start"], r["citation"]["char_end"]) for r in top],
        "version": live_version(settings.index_dir).name,
        "library": library.read_text(encoding="utf-8") if library.exists() else None,
        "stored": sorted(p.name for p in (settings.data_dir / "library" / "files").glob("*"))
        if (settings.data_dir / "library" / "files").is_dir() else [],
    }


def _upload(client: TestClient, name: str, data: bytes, **form: str) -> httpx.Response:
    return client.post("/documents", files={"file": (name, data, "application/octet-stream")}, data=form,
                       headers=KEY)


def test_add_search_replace_remove(api: TestClient, scratch_settings: Settings) -> None:
    before = _snapshot(api, scratch_settings)
    # CP949 like many Korean office files; the citation must slice the stored original decoded the same way
    added = _upload(api, "hefei-quantum.txt", NEW_DOC.encode("cp949"), date="2026-11-20", publisher="KOSTEC")
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["status"] == "added" and body["doc_id"] == "hefei-quantum"
    assert body["title"] == "중국 양자기술 주간동향"
    # only the new document's passages were embedded; the rest came from the live index
    assert body["passages"] >= 2 and body["passages_embedded"] == body["passages"]
    assert body["documents"] == len(before["documents"]) + 1
    assert api.get("/health").json()["chunks"] == before["chunks"] + body["passages"]

    hits = api.post("/search", json={"query": NEW_QUERY, "k": 3}, headers=KEY).json()["results"]
    assert hits[0]["doc_id"] == "hefei-quantum"
    cite = hits[0]["citation"]
    original = read_original(REPO_ROOT / cite["source"], "cp949")
    assert original[cite["char_start"] : cite["char_end"]] == hits[0]["text"]
    assert "300억 위안" in hits[0]["text"]
    assert not str(Path(cite["source"])).startswith("corpus"), "uploads never go into the source tree"
    assert str(scratch_settings.data_dir) in str((REPO_ROOT / cite["source"]).resolve())
    listed = {d["doc_id"]: d for d in api.get("/documents", headers=KEY).json()}
    assert listed["hefei-quantum"]["origin"] == "added" and listed["hefei-quantum"]["date"] == "2026-11-20"
    # the known answer is unaffected
    top = api.post("/search", json={"query": KNOWN_QUERY, "k": 3}, headers=KEY).json()["results"][0]
    assert (top["doc_id"], top["citation"]["char_start"], top["citation"]["char_end"]) == before["top"][0]

    again = _upload(api, "hefei-quantum.txt", NEW_DOC.encode("cp949"), date="2026-11-20", publisher="KOSTEC")
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert again.json()["index_version"] == body["index_version"]

    changed = NEW_DOC.replace("300억 위안", "450억 위안")
    replaced = _upload(api, "hefei-quantum.txt", changed.encode("utf-8"), date="2026-11-20", publisher="KOSTEC")
    assert replaced.status_code == 200 and replaced.json()["status"] == "replaced"
    # one passage changed; the unchanged ones kept their vectors
    assert 1 <= replaced.json()["passages_embedded"] < replaced.json()["passages"]
    hit = api.post("/search", json={"query": NEW_QUERY, "k": 1}, headers=KEY).json()["results"][0]
    assert "450억 위안" in hit["text"] and "300억" not in hit["text"]
    assert api.get("/health").json()["chunks"] == before["chunks"] + body["passages"]

    removed = api.delete("/documents/hefei-quantum", headers=KEY)
    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    after = _snapshot(api, scratch_settings)
    assert after["documents"] == before["documents"] and after["chunks"] == before["chunks"]
    assert after["top"] == before["top"]
    assert all(r["doc_id"] != "hefei-quantum" for r in api.post(
        "/search", json={"query": NEW_QUERY, "k": 10}, headers=KEY).json()["results"])
    assert after["stored"] == [], "files of removed documents are deleted"
    assert api.delete("/documents/hefei-quantum", headers=KEY).status_code == 404


def test_remove_a_seed_document_and_add_it_back(api: TestClient, scratch_settings: Settings) -> None:
    before = _snapshot(api, scratch_settings)
    seed = REPO_ROOT / "corpus" / "001_7307f45af5f7b1ae.txt"
    doc = api.get("/documents/001_7307f45af5f7b1ae", headers=KEY).json()
    assert api.delete("/documents/001_7307f45af5f7b1ae", headers=KEY).status_code == 200
    assert "001_7307f45af5f7b1ae" not in {d["doc_id"] for d in api.get("/documents", headers=KEY).json()}
    assert seed.exists(), "the seed corpus in the source tree is never modified"
    restored = _upload(api, seed.name, seed.read_bytes(), doc_id="001_7307f45af5f7b1ae", title=doc["title"],
                       date=doc["date"], publisher=doc["publisher"], kind=doc["kind"])
    assert restored.status_code == 201, restored.text
    assert restored.json()["passages_embedded"] == 0, "every passage was embedded before"
    after = _snapshot(api, scratch_settings)
    assert after["documents"] == before["documents"] and after["chunks"] == before["chunks"]
    assert after["top"] == before["top"]


def _big_multipart() -> bytes:
    return b"x" * (50 * 2**20)


BAD_UPLOADS = [
    ("empty.txt", b"", 400, "empty"),
    ("blank.md", b"  \n\n ", 400, "empty"),
    ("binary.txt", bytes(range(256)) * 8, 400, "binary"),
    ("latin.txt", "café".encode("latin-1") * 50 + b"\xff\xfe\x80", 400, "not decodable"),
    ("../escape.txt", "본문입니다.".encode(), 400, "file name"),
    ("sub/dir.txt", "본문입니다.".encode(), 400, "file name"),
    ("..\\win.txt", "본문입니다.".encode(), 400, "file name"),
    ("program.exe", b"MZ\x90\x00", 415, "unsupported"),
    ("noext", "본문입니다.".encode(), 415, "unsupported"),
]


@pytest.mark.parametrize(("name", "data", "status", "message"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_uploads_are_refused_and_change_nothing(api: TestClient, scratch_settings: Settings, name: str,
                                                    data: bytes, status: int, message: str) -> None:
    before = _snapshot(api, scratch_settings)
    response = _upload(api, name, data)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert _snapshot(api, scratch_settings) == before


def test_other_bad_requests_change_nothing(api: TestClient, scratch_settings: Settings) -> None:
    before = _snapshot(api, scratch_settings)
    # a 50 MB upload is refused from its Content-Length (limit 20 MB by default)
    big = _upload(api, "big.txt", _big_multipart())
    assert big.status_code == 413 and "limit" in big.json()["detail"]
    # malformed multipart: a body that is not what its boundary says
    broken = api.post("/documents", content=b"--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
                      headers={**KEY, "Content-Type": "multipart/form-data; boundary=zz"})
    assert 400 <= broken.status_code < 500
    no_file = api.post("/documents", data={"title": "제목"}, headers=KEY)
    assert no_file.status_code == 422 and "file" in no_file.json()["detail"]
    bad_id = _upload(api, "ok.txt", "본문입니다.".encode(), doc_id="../../etc")
    assert bad_id.status_code == 400 and "document id" in bad_id.json()["detail"]
    bad_date = _upload(api, "ok.txt", "본문입니다.".encode(), date="next week")
    assert bad_date.status_code == 422 and "date" in bad_date.json()["detail"]
    assert api.delete("/documents/no_such_doc", headers=KEY).status_code == 404
    duplicate = _upload(api, "copy-of-002.txt", (REPO_ROOT / "corpus" / "002_22ff6807f067724b.txt").read_bytes())
    assert duplicate.status_code == 409 and "002_22ff6807f067724b" in duplicate.json()["detail"]
    assert api.post("/documents", files={"file": ("a.txt", b"x")}).status_code == 401
    assert api.delete("/documents/002_22ff6807f067724b").status_code == 401
    assert _snapshot(api, scratch_settings) == before


def test_small_configured_limits(scratch_settings: Settings, encoder, korean, tmp_path: Path) -> None:
    from fixtures_formats import make_pdf

    small = scratch_settings.model_copy(update={"max_upload_bytes": 1000})
    with _app(small, encoder, korean) as client:
        before = _snapshot(client, small)
        response = _upload(client, "long.txt", ("가나다라마바사 " * 200).encode())
        assert response.status_code == 413 and "1000" in response.json()["detail"]
        assert _snapshot(client, small) == before
    # extraction runs in a child process with a deadline (and a memory cap): a file that takes too long is refused
    hasty = scratch_settings.model_copy(update={"extract_timeout": 0.01})
    with _app(hasty, encoder, korean) as client:
        pdf = make_pdf(tmp_path / "slow.pdf", [PAGE_ONE])
        slow = _upload(client, pdf.name, pdf.read_bytes())
        assert slow.status_code == 400 and "longer than" in slow.json()["detail"]
        assert _snapshot(client, hasty) == before


def test_changes_are_disabled_without_api_keys(scratch_settings: Settings, encoder, korean) -> None:
    open_settings = scratch_settings.model_copy(update={"api_keys": ""})
    with _app(open_settings, encoder, korean) as client:
        response = client.post("/documents", files={"file": ("a.txt", "본문입니다.".encode())})
        assert response.status_code == 403 and "BRIEFSEARCH_API_KEYS" in response.json()["detail"]
        assert client.delete("/documents/002_22ff6807f067724b").status_code == 403
        assert client.get("/documents").status_code == 200


def test_concurrent_uploads_of_the_same_file(api: TestClient, scratch_settings: Settings) -> None:
    before = _snapshot(api, scratch_settings)
    barrier = threading.Barrier(4)
    statuses: list[tuple[int, str]] = []

    def upload() -> None:
        barrier.wait()
        response = _upload(api, "hefei-quantum.md", NEW_DOC.encode())
        statuses.append((response.status_code, response.json().get("status", response.json().get("detail"))))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = [s for s in statuses if s[0] == 201]
    assert len(created) == 1, statuses
    # the others were refused while it ran (409) or found it already there (200 unchanged); never an error
    assert all(code == 409 or (code == 200 and what == "unchanged") for code, what in statuses if code != 201)
    docs = [d["doc_id"] for d in api.get("/documents", headers=KEY).json()]
    assert docs.count("hefei-quantum") == 1
    assert len(docs) == len(before["documents"]) + 1
    library = json.loads((scratch_settings.data_dir / "library" / "library.json").read_text(encoding="utf-8"))
    assert list(library["added"]) == ["hefei-quantum"]


def test_searches_never_fail_while_documents_are_added_and_removed(scratch_settings: Settings, encoder, korean,
                                                                     serve_app) -> None:
    """Requests in flight during index swaps all succeed (real server, real HTTP, concurrent clients)."""
    searcher = Searcher(load_index(scratch_settings.index_dir), encoder, scratch_settings, korean=korean)
    url, stop = serve_app(create_app(scratch_settings, searcher=searcher))
    done = threading.Event()
    outcomes: list[int] = []
    seen_new: list[bool] = []
    queries = [KNOWN_QUERY, NEW_QUERY, "중국 국가혁신지수 종합 순위는?", "웨강아오대만구 미래 10대 산업"]

    def client_loop(n: int) -> None:
        with httpx.Client(base_url=url, headers=KEY, timeout=60) as http:
            i = n
            while not done.is_set():
                response = http.post("/search", json={"query": queries[i % len(queries)], "k": 5})
                outcomes.append(response.status_code)
                if response.status_code == 200 and queries[i % len(queries)] == NEW_QUERY:
                    seen_new.append(response.json()["results"][0]["doc_id"] == "hefei-quantum")
                i += 1

    clients = [threading.Thread(target=client_loop, args=(n,)) for n in range(4)]
    try:
        for t in clients:
            t.start()
        with httpx.Client(base_url=url, headers=KEY, timeout=120) as admin:
            for round_no in range(3):
                text = NEW_DOC + f"\n- 라운드 {round_no}: 허페이시는 양자 스타트업 {round_no + 10}곳을 지원한다.\n"
                added = admin.post("/documents", files={"file": ("hefei-quantum.md", text.encode())})
                assert added.status_code in (200, 201), added.text
                assert admin.delete("/documents/hefei-quantum").status_code == 200
            final = admin.post("/documents", files={"file": ("hefei-quantum.md", NEW_DOC.encode())})
            assert final.status_code == 201
    finally:
        done.set()
        for t in clients:
            t.join(timeout=60)
        stop()
    assert len(outcomes) >= 20, "the clients kept searching during the changes"
    assert set(outcomes) == {200}, f"{sum(o != 200 for o in outcomes)} of {len(outcomes)} searches failed"
    assert any(seen_new), "the new document became searchable while clients were running"


# ------------------------------------------------------------------ formats, end to end

PAGE_ONE = "중국 배터리 산업 동향\n\n1. 정책 배경\n중국 공업정보화부는 차세대 배터리 표준을 발표했다."
PAGE_TWO = "2. 주요 내용\n닝더시는 전고체 배터리 시범 생산라인 12곳을 2026년까지 건설한다."


def _cited(hit: dict) -> str:
    cite = hit["citation"]
    return read_original(REPO_ROOT / cite["source"], "utf-8")[cite["char_start"] : cite["char_end"]]


def test_pdf_upload_is_cited_with_its_page(api: TestClient, tmp_path: Path) -> None:
    from fixtures_formats import make_pdf

    pdf = make_pdf(tmp_path / "battery-brief.pdf", [PAGE_ONE, PAGE_TWO])
    added = _upload(api, pdf.name, pdf.read_bytes(), date="2026-10")
    assert added.status_code == 201, added.text
    hit = api.post("/search", json={"query": "전고체 배터리 시범 생산라인 건설 계획", "k": 1},
                   headers=KEY).json()["results"][0]
    assert hit["doc_id"] == "battery-brief"
    assert "12곳" in hit["text"] and hit["citation"]["page"] == 2
    # offsets slice the stored text rendition exactly; the original PDF is kept beside it
    assert _cited(hit) == hit["text"]
    doc = api.get("/documents/battery-brief", headers=KEY).json()
    assert doc["original"].endswith(".pdf") and doc["source"].endswith(".txt")
    assert (REPO_ROOT / doc["original"]).read_bytes() == pdf.read_bytes()
    first = api.post("/search", json={"query": "차세대 배터리 표준 발표", "k": 1}, headers=KEY).json()["results"][0]
    assert first["doc_id"] == "battery-brief" and first["citation"]["page"] == 1


def test_docx_and_hwpx_uploads_keep_headings_and_tables(api: TestClient, tmp_path: Path) -> None:
    from fixtures_formats import make_docx, make_hwpx

    docx_file = make_docx(tmp_path / "robot-policy.docx", [
        ("title", "중국 로봇산업 정책 브리핑"),
        ("heading 1", "1. 베이징시 휴머노이드 로봇 지원"),
        "베이징시는 휴머노이드 로봇 핵심부품 기업에 최대 3천만 위안을 보조한다.",
        ("bullet", "로봇 시험장 5곳을 새로 연다."),
    ])
    added = _upload(api, docx_file.name, docx_file.read_bytes())
    assert added.status_code == 201, added.text
    assert added.json()["title"] == "중국 로봇산업 정책 브리핑"
    query = {"query": "휴머노이드 로봇 핵심부품 보조금", "k": 1}
    hit = api.post("/search", json=query, headers=KEY).json()["results"][0]
    assert hit["doc_id"] == "robot-policy" and "3천만 위안" in hit["text"]
    assert "베이징시 휴머노이드 로봇 지원" in hit["section"]
    assert _cited(hit) == hit["text"]

    hwpx_file = make_hwpx(tmp_path / "semiconductor.hwpx",
                          ["중국 반도체 투자 현황", "상하이시는 반도체 장비 국산화 기금을 조성했다."],
                          [["지역", "기금 규모"], ["상하이", "200억 위안"], ["선전", "150억 위안"]])
    added = _upload(api, hwpx_file.name, hwpx_file.read_bytes())
    assert added.status_code == 201, added.text
    hit = api.post("/search", json={"query": "선전 반도체 기금 규모", "k": 3}, headers=KEY).json()["results"]
    table_hit = next(h for h in hit if h["doc_id"] == "semiconductor" and "150억" in h["text"])
    # table rows are shown with " | " between cells; the citation is the rows as in the rendition (tabs)
    assert _cited(table_hit).split() == table_hit["text"].replace(" | ", " ").split()


def test_hwp_upload_is_searchable_and_cited_exactly(api: TestClient) -> None:
    """A real binary .hwp (HWP 5.0) report: its passages are found, tables as rows, citations slice the rendition."""
    from fixtures_formats import HWP_DIR

    data = (HWP_DIR / "sample-2.hwp").read_bytes()
    added = _upload(api, "vitamin-advice.hwp", data, date="2011-05-08")
    assert added.status_code == 201, added.text
    assert added.json()["doc_id"] == "vitamin-advice" and added.json()["passages"] >= 2
    query = {"query": "영양 보충용 제품의 상한선 고시 계획", "k": 3}
    hits = api.post("/search", json=query, headers=KEY).json()["results"]
    hit = next(h for h in hits if h["doc_id"] == "vitamin-advice")
    assert "상한선을 고시할 계획(計劃)이다." in hit["text"]
    # the slice of the stored rendition is the passage, up to the blank lines the passage does not repeat
    assert _cited(hit).split() == hit["text"].split() and _cited(hit).startswith(hit["text"].split("\n")[0])
    doc = api.get("/documents/vitamin-advice", headers=KEY).json()
    assert doc["original"].endswith(".hwp") and doc["source"].endswith(".txt")
    assert (REPO_ROOT / doc["original"]).read_bytes() == data

    hits = api.post("/search", json={"query": "비타민 B6 1일 영양권장량 기준치", "k": 5}, headers=KEY).json()["results"]
    table_hit = next(h for h in hits if h["doc_id"] == "vitamin-advice" and "비타민 B6" in h["text"])
    assert "\n비타민 B6 | 1.45 | 1.5 | 1\n" in table_hit["text"]
    # rows are shown with " | " between cells; the citation is the rows as in the rendition (tabs)
    assert _cited(table_hit).split() == table_hit["text"].replace(" | ", " ").split()


def test_broken_binary_documents_are_refused_and_change_nothing(api: TestClient, scratch_settings: Settings,
                                                                 tmp_path: Path) -> None:
    from fixtures_formats import HWP_DIR, make_scanned_pdf, rewritten_hwp, with_hwp_flag

    before = _snapshot(api, scratch_settings)
    scanned = make_scanned_pdf(tmp_path / "scan.pdf")
    hwp = (HWP_DIR / "sample-2.hwp").read_bytes()
    cases = [
        ("scan.pdf", scanned.read_bytes(), "no text layer"),
        ("broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 20, "PDF"),
        ("fake.docx", "그냥 텍스트".encode(), "docx"),
        ("fake.hwpx", b"PK\x03\x04broken", "hwpx"),
        ("fake.hwp", "그냥 텍스트".encode(), "not an HWP 5.0 document"),
        ("cut.hwp", hwp[: len(hwp) // 2], "corrupt or truncated"),
        ("locked.hwp", rewritten_hwp(tmp_path, "sample-2", "FileHeader", with_hwp_flag(2)), "password-protected"),
        ("shared.hwp", rewritten_hwp(tmp_path, "sample-2", "FileHeader", with_hwp_flag(4)), "distribution (배포용)"),
        ("renamed.hwpx", hwp, "real extension (.hwp)"),
    ]
    for name, data, message in cases:
        response = _upload(api, name, data)
        assert response.status_code == 400, (name, response.text)
        assert message in response.json()["detail"], (name, response.json())
    assert _snapshot(api, scratch_settings) == before
