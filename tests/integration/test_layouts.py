"""Layout families over real documents of every family, and invariants no document may break.

Leave-one-document-out: the invariants run over every seed briefing and every
generalization document (laws and bills, eval/generalization/docs), parsed and
chunked with the rules as they are, so a rule written from one file is checked
on all the files it was not written from. No model is needed beyond the
tokenizer (passage packing) and Kiwi.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from unit.test_layouts import ALL, BILL_EQUALITY, BILL_LOCAL, BILL_SOMALIA, BILL_SUBCONTRACT, BILL_UAE, parsed  # noqa: F401

from briefsearch.chunking.chunker import Chunker
from briefsearch.structure.blocks import MIN_PASSAGE_CHARS
from briefsearch.types import Chunk, DocumentMeta

_KEY = re.compile(r"[가-힣A-Za-z0-9]")
_CAPTION_ONLY = re.compile(r"^(〈[^〉]+〉|<[^<>]+>|\[[^\]]+\]|(표|그림)\s*\d+(-\d+)?\.?\s.*)(\s*\*?\s*출처\s*[:：]?)?$")


@pytest.fixture(scope="module")
def chunked(parsed, encoder, korean) -> dict[str, list[Chunk]]:  # noqa: F811  (fixture imported from unit/)
    chunker = Chunker(encoder.count_tokens, korean)
    return {doc: chunker.chunk(DocumentMeta(doc, f"{doc}.txt", doc), source, doc_parsed)
            for doc, (source, doc_parsed) in parsed.items()}


# ------------------------------------------------------------------ invariants over every document


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_no_fragment_passages(chunked, path: Path) -> None:
    """A passage under ~40 characters is a whole short article or section, never a caption or a fragment."""
    chunks = chunked[path.stem]
    per_section: dict[str, int] = {}
    for chunk in chunks:
        per_section[chunk.section] = per_section.get(chunk.section, 0) + 1
    for chunk in chunks:
        if len(chunk.text) >= MIN_PASSAGE_CHARS:
            continue
        assert not _CAPTION_ONLY.match(chunk.text.strip()), f"caption-only passage: {chunk.text!r}"
        assert per_section[chunk.section] == 1, f"a fragment of {chunk.section!r}: {chunk.text!r}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_context_names_the_document_and_stays_out_of_the_text(chunked, parsed, path: Path) -> None:  # noqa: F811  (fixture imported from unit/)
    """Every passage is embedded with its document's name; a name comes from a cover only where one states it."""
    _source, doc_parsed = parsed[path.stem]
    if "legal" not in doc_parsed.layouts or not any(b.metadata for b in doc_parsed.blocks):
        assert doc_parsed.title == "", (path.stem, doc_parsed.title)  # no cover: the catalogue title stands
    else:
        cover = re.sub(r"\s", "", " ".join(b.text.text for b in doc_parsed.blocks if b.metadata))
        name = re.sub(r"\s", "", doc_parsed.title)
        assert cover.startswith(name) and re.search("(법률|동의|승인|결의|건의|규칙|예산)안$", name), doc_parsed.title
    for chunk in chunked[path.stem]:
        assert chunk.context == (doc_parsed.title or path.stem)
        assert chunk.embed_text.startswith(chunk.context + "\n")
        assert chunk.embed_text.index(chunk.text) > len(chunk.context)  # the text itself is not changed


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_citations_slice_the_file(chunked, parsed, path: Path) -> None:  # noqa: F811  (fixture imported from unit/)
    """Every sentence of every passage cites file text holding its letters and digits, in order.

    Cleaning only deletes (markup, dash runs, page markers, bullet glyphs) and
    joins wrapped lines, so the cited span must contain the sentence's Hangul
    and ASCII letters and digits as a subsequence.
    """
    source, _ = parsed[path.stem]
    for chunk in chunked[path.stem]:
        cited_chunk = unicodedata.normalize("NFC", source.raw[chunk.char_start : chunk.char_end])
        for start, end, src_start, src_end, _l1, _l2 in chunk.sentences:
            cited = iter(_KEY.findall(unicodedata.normalize("NFC", source.raw[src_start:src_end])))
            said = _KEY.findall(chunk.text[start:end])
            assert all(ch in cited for ch in said), (path.stem, chunk.text[start:end][:60])
            assert chunk.text[start:end].strip()[:1] in cited_chunk


# ------------------------------------------------------------------ families and their conventions


def test_bill_cover_is_metadata_apart_from_the_reasons(chunked) -> None:
    chunks = chunked[BILL_LOCAL.stem]
    cover = [c for c in chunks if c.kind == "metadata"]
    assert cover and all(c.section_path == ["문서 정보"] for c in cover)
    cover_text = re.sub(r"\s", "", " ".join(c.text for c in cover))
    assert "발의연월일" in cover_text and "정의화의원대표발의" in cover_text and "9890" in cover_text
    reasons = [c for c in chunks if c.section_path[:1] == ["제안이유 및 주요내용"]]
    assert reasons and not any("발의" in c.text for c in reasons)
    assert reasons[0].text.startswith("초등학교 저학년의 경우에도")


def test_comparison_table_is_its_own_part(chunked) -> None:
    chunks = chunked[BILL_SUBCONTRACT.stem]
    table = [c for c in chunks if c.section_path[:1] == ["신·구조문대비표"]]
    assert table and any("현행과 같음" in c.text for c in table)
    body = [c for c in chunks if c.section_path[:1] != ["신·구조문대비표"]]
    assert not any("현행과 같음" in c.text or "생 략" in c.text for c in body)
    assert not any("----" in c.text for c in chunks)  # "unchanged" dash runs carry no words
    # the amending text's articles are sections of the amendment, the addenda a part of their own
    paths = {tuple(c.section_path) for c in body}
    assert ("하도급거래 공정화에 관한 법률 일부를 다음과 같이 개정한다.", "제35조(손해배상책임)") in paths
    assert ("부칙",) in paths


def test_bill_name_from_the_cover_tells_twin_bills_apart(chunked) -> None:
    """The first line alone is half a wrapped name ("…지원에 관한 법률"); the cover states the bill's whole name."""
    chunks = chunked[BILL_EQUALITY.stem]
    assert {c.context for c in chunks} == {"남녀고용평등과 일 ·가정 양립 지원에 관한 법률 일부개정법률안"}
    estimate = [c for c in chunks if "미첨부 근거 규정" in c.section]
    assert estimate and all(c.embed_text.startswith(c.context) for c in estimate)
    twin = [c for c in chunked[BILL_LOCAL.stem] if "미첨부 근거 규정" in c.section]
    assert {c.context for c in twin} == {"지방공무원법 일부개정법률안"}
    assert {c.embed_text for c in estimate}.isdisjoint({c.embed_text for c in twin})


def test_a_wrapped_part_title_is_one_heading(chunked) -> None:
    """ "…법률 일부개정법률안⏎⏎등 비용추계서 미첨부사유서": one part title of two lines, not a paragraph + "등 …"."""
    chunks = chunked[BILL_EQUALITY.stem]
    part = "남녀고용평등과 일·가정 양립 지원에 관한 법률 일부개정법률안 등 비용추계서 미첨부사유서"
    assert any(c.section_path[:1] == [part] for c in chunks)
    assert not any(c.text.strip() == "남녀고용평등과 일·가정 양립 지원에 관한 법률 일부개정법률안" for c in chunks)
    # its first line had been joined onto the paragraph before it ("… 반영 추진 국군부대의 …")
    uae = chunked[BILL_UAE.stem]
    assert any(c.section_path[:1] == ["국군부대의 아랍에미리트(UAE)군 교육훈련 지원 등에 관한 파견 동의안 비용추계서"]
               for c in uae)
    budget = next(c for c in uae if "국회 심의 과정에서 반영 추진" in c.text)
    assert "반영 추진 국군부대의" not in budget.text
    # a whole bill name on the line before a bare "비용추계서" (the 「의안의 비용추계 등에 관한 규칙」 title)
    somalia = chunked[BILL_SOMALIA.stem]
    assert any(c.section_path[:1] == ["국군부대의 소말리아 해역 파견연장 동의안 비용추계서"] for c in somalia)
    assert not any("반영 추진 국군부대의" in c.text for c in somalia)


def test_blank_line_hard_wraps_are_rejoined(chunked) -> None:
    text = " ".join(c.text for c in chunked[BILL_LOCAL.stem])
    assert "보살핌이 필요한 나이이나" in text
    assert "육아휴직을 신청하지 않은" in text  # across two page markers and blank lines
    assert "시행된다고 가정한 경우" in text  # "시행된다" looks like a sentence end; Kiwi reads one word
    assert "필요 한" not in text and "신청 하지" not in text


# ------------------------------------------------------------------ a law added through the real app


def test_a_bill_added_over_http_is_found_by_its_article(scratch_settings, encoder, korean) -> None:
    """A user adds a bill of another layout (POST /documents); search finds its article with its path."""
    from fastapi.testclient import TestClient

    from briefsearch.api.app import create_app
    from briefsearch.retrieval.searcher import Searcher
    from briefsearch.store.versions import load_index

    key = {"Authorization": "Bearer test-key"}
    searcher = Searcher(load_index(scratch_settings.index_dir), encoder, scratch_settings, korean=korean)
    with TestClient(create_app(scratch_settings, searcher=searcher)) as client:
        added = client.post("/documents", headers=key,
                            files={"file": (BILL_SUBCONTRACT.name, BILL_SUBCONTRACT.read_bytes(), "text/plain")})
        assert added.status_code in (200, 201), added.text
        doc_id = added.json()["doc_id"]
        query = "원사업자가 손해배상 책임을 지지 않으려면 무엇을 입증해야 하나?"
        top = client.post("/search", json={"query": query, "k": 5}, headers=key).json()["results"]
        hit = next(r for r in top if r["doc_id"] == doc_id)
        assert hit["section"].endswith("제35조(손해배상책임)")
        assert "고의 또는 과실이 없음을 입증한" in hit["text"]
        citation = hit["citation"]
        original = BILL_SUBCONTRACT.read_bytes().decode("utf-8")  # the stored original is these bytes
        cited = original[citation["char_start"] : citation["char_end"]]
        assert cited.startswith("제35조(손해배상책임)") and "입증" in cited
        cover = client.post("/search", json={"query": "하도급법 개정안 발의연월일과 대표발의 의원", "k": 5},
                            headers=key).json()["results"]
        assert any(r["doc_id"] == doc_id and r["kind"] == "metadata" for r in cover)
    # the bill's name from its cover is in every passage's BM25 row, also where the passage never says it (부칙)
    from briefsearch.store.lexical import LexicalAnalyzer

    live = load_index(scratch_settings.index_dir)
    passages = [c for c in live.chunks.values() if c.doc_id == doc_id]
    assert {c.context for c in passages} == {"하도급거래 공정화에 관한 법률 일부개정법률안"}
    name_terms = set(LexicalAnalyzer(korean).terms(passages[0].context))
    addenda = [c for c in passages if c.section_path[:1] == ["부칙"]]
    assert addenda and all("공정화" not in c.text and name_terms <= set(c.context_terms) for c in addenda)
    assert all(set(c.context_terms) == name_terms for c in passages)
    # BM25 finds the addenda by a word of the bill's name that only the name gives them
    only_name = sorted(name_terms - {t for c in addenda for t in c.terms})
    assert only_name
    found = {cid for cid, _ in live.lexical.search(only_name, k=len(live.chunks))}
    assert {c.chunk_id for c in addenda} <= found
