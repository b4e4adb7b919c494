"""/ask on documents of other layouts added at run time (a statute, a bill): answered with exact citations, or refused.

The figures over the whole generalization set are measured by
``python -m briefsearch.evaluation.generalization --answers`` (eval/reports/generalization-answers.md) and gated there
on the "generalization" / "answers" floors of eval/thresholds.json; here the same path runs through the real
HTTP app on a copy of the session index with two of the set's documents added by ``POST /documents``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from briefsearch.evaluation.generalization import DOCS
from briefsearch.structure.lines import PAGE_MARKER
from integration.test_citations import _unexplained_gaps

CONSTITUTION = DOCS / "kolaw_constitution.txt"
BILL_NURSING = DOCS / "kobill_1809894.txt"  # 고등교육법: its 부칙 paragraphs are hard-wrapped over blank lines
KEY = {"Authorization": "Bearer test-key"}


@contextmanager
def _scratch_app(tmp_path_factory, settings, encoder, korean, name: str, **overrides):
    """A client on an app over a copy of the session index (and its embedding cache), for documents added over
    HTTP without touching the session's own index; ``overrides``: settings of that app."""
    import shutil

    from fastapi.testclient import TestClient

    from briefsearch.api.app import create_app
    from briefsearch.config import Settings
    from briefsearch.retrieval.searcher import Searcher
    from briefsearch.store.versions import load_index

    data = tmp_path_factory.mktemp(name) / "data"
    data.mkdir()
    shutil.copytree(settings.index_dir, data / "index", symlinks=True)
    if (settings.data_dir / "cache").is_dir():
        shutil.copytree(settings.data_dir / "cache", data / "cache")
    (data / "models").symlink_to(settings.models_dir, target_is_directory=True)
    scratch = Settings(data_dir=data, corpus_dir=settings.corpus_dir, api_keys="test-key", reload_interval=0.2,
                       **overrides)
    live = Searcher(load_index(scratch.index_dir), encoder, scratch, korean=korean)
    with TestClient(create_app(scratch, searcher=live)) as client:
        yield client


def _add(client, path) -> dict:
    """Upload one document as text; the added document's record."""
    upload = {"file": (path.name, path.read_bytes(), "text/plain")}
    response = client.post("/documents", headers=KEY, files=upload)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def added(tmp_path_factory, settings, searcher, encoder, korean):
    """A copy of the session index with the constitution and a bill added over HTTP, and a client on it."""
    with _scratch_app(tmp_path_factory, settings, encoder, korean, "laws") as client:
        ids = {path: _add(client, path)["doc_id"] for path in (CONSTITUTION, BILL_NURSING)}
        yield client, ids


def _exact(cite: dict, path) -> str:
    """The file's slice at the citation; it must be the cited text (whitespace and page markers aside)."""
    sliced = path.read_bytes().decode("utf-8")[cite["char_start"] : cite["char_end"]]
    assert not _unexplained_gaps(cite["text"], sliced), (cite["text"], sliced)
    assert re.sub(r"\s+", "", sliced) == re.sub(r"\s+", "", cite["text"])
    return sliced


def test_a_law_question_is_answered_from_its_article_with_an_exact_citation(added) -> None:
    """Dev question g005: the article's paragraph, without its "②", cited from its first word."""
    client, ids = added
    body = client.post("/ask", json={"question": "국무회의는 몇 명의 국무위원으로 구성되나?"}, headers=KEY).json()
    assert body["answerable"] is True, body
    cite = body["citations"][0]
    assert cite["doc_id"] == ids[CONSTITUTION] and cite["section"].endswith("제88조")
    assert body["answer"].startswith("국무회의는 대통령·국무총리와 15인 이상 30인 이하의 국무위원으로 구성한다.")
    assert _exact(cite, CONSTITUTION).startswith("국무회의는")
    assert not re.search(r"[①-⑳]|제\d+조", body["answer"])


def test_a_paragraph_wrapped_over_blank_lines_is_answered_whole(added) -> None:
    """Dev question g029: the 부칙 paragraph ② is split at two blank-line wraps; the answer is all of it, one
    citation from its first word (after "②") to its end, slicing the wrapped lines of the file."""
    client, ids = added
    question = "고등교육법 개정 당시 이미 재학 중인 간호과 학생에게는 어떤 경과조치가 있나?"
    body = client.post("/ask", json={"question": question}, headers=KEY).json()
    assert body["answerable"] is True, body
    first = body["citations"][0]
    assert first["doc_id"] == ids[BILL_NURSING]
    assert first["text"].startswith("이 법 시행 당시") and first["text"].endswith("적용할 수 있다.")
    assert "본인의 신청에 의하여 종전의 수업연한 및 학위에 관한 규정을 적용할 수 있다." in first["text"]
    sliced = _exact(first, BILL_NURSING)
    assert sliced.count("\n") >= 2 and first["line_end"] > first["line_start"]


@pytest.mark.parametrize("question", [
    "헌법 제131조는 무엇을 규정하고 있나?",  # gn01 (dev): the constitution ends at 제130조
    "헌법에 따르면 국가인권위원회는 몇 명의 위원으로 구성되나?",  # gn05 (dev): no such body in it
])
def test_a_question_on_the_statute_it_does_not_answer_is_refused(added, question: str) -> None:
    client, _ids = added
    body = client.post("/ask", json={"question": question}, headers=KEY).json()
    assert body["answerable"] is False and body["citations"] == [], body


@pytest.fixture(scope="module")
def two_bills(tmp_path_factory, settings, searcher, encoder, korean):
    """A copy of the session index with two bills that share their cost-estimate passage word for word (국가공무원법
    and 교육공무원법 amendments), added over HTTP."""
    with _scratch_app(tmp_path_factory, settings, encoder, korean, "bills") as client:
        ids = {}
        for name in ("kobill_1809891.txt", "kobill_1809892.txt"):
            record = _add(client, DOCS / name)
            ids[record["title"].split()[0]] = record["doc_id"]
        yield client, ids


def test_a_question_on_two_bills_with_the_same_passage_is_answered_with_an_exact_citation(two_bills) -> None:
    """Dev question g023 and the same question about the other bill: the shared passage answers both, cited exactly
    from the bill it was taken from, over a page break."""
    client, ids = two_bills
    assert set(ids) == {"국가공무원법", "교육공무원법"}
    files = {ids["국가공무원법"]: "kobill_1809891.txt", ids["교육공무원법"]: "kobill_1809892.txt"}
    for law in ids:
        question = f"{law} 개정안 비용 추계에서 육아휴직급여는 월급여의 몇 퍼센트로 가정했나?"
        body = client.post("/ask", json={"question": question}, headers=KEY).json()
        assert body["answerable"] is True, body
        assert {p["doc_id"] for p in body["passages"]} >= set(ids.values())  # both bills were retrieved
        cite = body["citations"][0]
        assert cite["doc_id"] in files, cite
        # the cited sentence runs over a page break: its slice holds the page markers ("- 7 -") the text moves out
        sliced = (DOCS / files[cite["doc_id"]]).read_text(encoding="utf-8")[cite["char_start"] : cite["char_end"]]
        body_lines = "".join(line for line in sliced.splitlines() if not PAGE_MARKER.match(line))
        assert re.sub(r"\s+", "", body_lines) == re.sub(r"\s+", "", cite["text"])
        # the answer is a sentence both bills hold word for word
        bodies = ["".join(line for line in (DOCS / name).read_text(encoding="utf-8").splitlines()
                          if not PAGE_MARKER.match(line)) for name in files.values()]
        assert all(re.sub(r"\s+", "", cite["text"]) in re.sub(r"\s+", "", b) for b in bodies), cite["text"]
