"""Structure recognition over the real corpus (and small synthetic documents): no model needed.

Every test parses real files with the real Kiwi joiner and checks what a reader
or a citation depends on: rejoined words, removed furniture, section paths,
footnotes, tables, and offsets that still point into the file on disk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.ingest.sources import read_source
from briefsearch.structure.blocks import Block, ParsedDocument
from briefsearch.structure.parser import parse_document
from briefsearch.types import SourceText

CORPUS_DIR = REPO_ROOT / "corpus"
D000 = "000_b57bb989019f2633"
D001 = "001_7307f45af5f7b1ae"
D002 = "002_22ff6807f067724b"
D003 = "003_263747581c6563b7"
D004 = "004_0772bc47312adfbb"
ALL_DOCS = (D000, D001, D002, D003, D004)


@pytest.fixture(scope="module")
def docs(korean) -> dict[str, tuple[SourceText, ParsedDocument]]:
    out = {}
    for doc_id in ALL_DOCS:
        source = read_source(CORPUS_DIR / f"{doc_id}.txt")
        out[doc_id] = (source, parse_document(source, joiner=korean.needs_space))
    return out


def all_blocks(docs: dict) -> Iterator[tuple[str, SourceText, Block]]:
    for doc_id, (source, parsed) in docs.items():
        for block in parsed.blocks:
            yield doc_id, source, block


def texts(parsed: ParsedDocument, kind: str | None = None) -> list[str]:
    return [b.text.text for b in parsed.blocks if kind is None or b.kind == kind]


def block_with(parsed: ParsedDocument, needle: str, kind: str | None = None) -> Block:
    found = [b for b in parsed.blocks if needle in b.text.text and (kind is None or b.kind == kind)]
    assert len(found) == 1, f"{needle!r}: {len(found)} blocks"
    return found[0]


def covered_offsets(parsed: ParsedDocument) -> set[int]:
    """Source offsets any block character was made from."""
    out: set[int] = set()
    for block in parsed.blocks:
        for a, b in zip(block.text.starts, block.text.ends, strict=True):
            out.update(range(a, b))
    return out


def line_span(source: SourceText, line_no: int) -> range:
    start = source.line_starts[line_no - 1]
    end = source.line_starts[line_no] if line_no < len(source.line_starts) else len(source.raw)
    return range(start, end)


def parse_text(tmp_path: Path, text: str, korean, name: str = "doc.txt",
               nfd: bool = False) -> tuple[str, ParsedDocument]:
    if nfd:
        text = unicodedata.normalize("NFD", text)
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    source = read_source(path)
    return source.raw, parse_document(source, joiner=korean.needs_space)


# ------------------------------------------------------------------ citations stay exact


def test_every_block_maps_back_to_its_file(docs) -> None:
    """Unchanged characters slice back to themselves; block line numbers match their first character."""
    for doc_id, source, block in all_blocks(docs):
        t = block.text
        assert len(t.text) == len(t.starts) == len(t.ends), doc_id
        for ch, a, b in zip(t.text, t.starts, t.ends, strict=True):
            assert 0 <= a <= b <= len(source.raw)
            if b - a == 1:
                original = source.raw[a:b]
                assert original == ch or (ch == " " and original.isspace()), (doc_id, block.line_no, ch, original)
        assert source.line_of(min(t.starts)) == block.line_no, (doc_id, block.line_no)
        assert t.text == t.text.strip() and "  " not in t.text


# ------------------------------------------------------------------ hard wraps


def test_hard_wrap_inside_word_is_rejoined_in_000(docs) -> None:
    source, parsed = docs[D000]
    assert "뒤처질 수 있\n\n다는 판단하에" in source.raw
    summary_first = next(b for b in parsed.blocks if b.kind == "text" and b.summary)
    assert "뒤처질 수 있다는 판단하에" in summary_first.text.text
    assert "있 다는" not in summary_first.text.text
    # the rejoined word still cites the two pieces on their own lines
    i = summary_first.text.text.index("있다는")
    a = summary_first.text.starts[i]
    b = summary_first.text.ends[i + 2]
    assert source.raw[a:b] == "있\n\n다는"
    assert source.line_of(summary_first.text.starts[i + 1]) == source.line_of(a) + 2


@pytest.mark.parametrize(("left", "right"), [
    ("산업역", "량이"),
    ("지", "능형 제조"),
    ("알리바", "바"),
    ("활", "기를"),
    ("국제협", "력의"),
])
def test_hard_wrap_inside_word_is_rejoined_in_002(docs, left: str, right: str) -> None:
    source, parsed = docs[D002]
    assert f"{left}\n\n{right}" in source.raw
    joined = [t for t in texts(parsed) if left + right in t]
    assert joined, f"{left + right!r} not rejoined"
    assert not any(f"{left} {right}" in t for t in texts(parsed))


@pytest.mark.parametrize(("left", "right"), [("자료에", "따르면"), ("특집", "기사를"), ("분석", "보고서를")])
def test_hard_wrap_between_words_keeps_a_space_in_002(docs, left: str, right: str) -> None:
    source, parsed = docs[D002]
    assert f"{left}\n\n{right}" in source.raw
    assert any(f"{left} {right}" in t for t in texts(parsed))
    assert not any(f"{left}{right}" in t for t in texts(parsed))


# ------------------------------------------------------------------ page markers


def test_page_markers_never_reach_block_text_in_002(docs) -> None:
    source, parsed = docs[D002]
    marker_lines = [i + 1 for i, line in enumerate(source.raw.split("\n")) if re.fullmatch(r"\s*-\s*\d+\s*-\s*", line)]
    assert len(marker_lines) >= 3
    covered = covered_offsets(parsed)
    for line_no in marker_lines:
        marker = source.raw.split("\n")[line_no - 1].strip()
        assert not any(marker in t for t in texts(parsed)), marker
        assert not covered & set(line_span(source, line_no)), f"line {line_no} ({marker}) is in a block"
    # a paragraph broken by a page footer is still one paragraph
    assert any("이들 기업은 새로운 기술과 새로운 비즈니스 모델" in t for t in texts(parsed))


def test_consecutive_page_markers_number_the_pages(tmp_path: Path, korean) -> None:
    text = (
        "첫째 쪽의 문장입니다.\n\n- 1 -\n"
        "둘째 쪽의 문장입니다.\n\n- 2 -\n"
        "마지막 쪽의 문장입니다.\n"
    )
    _raw, parsed = parse_text(tmp_path, text, korean)
    pages = {b.text.text: b.page for b in parsed.blocks}
    assert pages == {"첫째 쪽의 문장입니다.": 1, "둘째 쪽의 문장입니다.": 2, "마지막 쪽의 문장입니다.": None}


def test_non_consecutive_page_markers_assign_no_page(tmp_path: Path, korean) -> None:
    text = "첫째 문장입니다.\n\n- 3 -\n둘째 문장입니다.\n\n- 7 -\n셋째 문장입니다.\n"
    _raw, parsed = parse_text(tmp_path, text, korean)
    assert [b.text.text for b in parsed.blocks] == ["첫째 문장입니다.", "둘째 문장입니다.", "셋째 문장입니다."]
    assert all(b.page is None for b in parsed.blocks)


# ------------------------------------------------------------------ footnotes


def test_footnote_definitions_are_footnote_blocks_in_000(docs) -> None:
    source, parsed = docs[D000]
    note = block_with(parsed, "인간의 뇌 신경망을 모방")
    assert note.kind == "footnote" and note.footnote_no == 1
    assert note.text.text.startswith("1) 인간의 뇌 신경망을")
    # its hard-wrapped second line belongs to the footnote, not to the body
    assert "뉴로모픽 반도체 비전 제시" in note.text.text
    assert note in parsed.footnotes
    assert source.raw[note.text.starts[0] : note.text.starts[0] + 2] == "1)"
    for number in (2, 3, 4, 5):
        assert any(f.footnote_no == number for f in parsed.footnotes)
    for block in parsed.blocks:
        if block.kind != "footnote":
            assert "인간의 뇌 신경망" not in block.text.text
            assert "国家发改委(2023. 12. 27.)" not in block.text.text
            assert not re.match(r"\d{1,3}\)\s", block.text.text) or block.kind == "heading"


def test_footnote_reference_is_removed_and_resolved_in_000(docs) -> None:
    source, parsed = docs[D000]
    assert "뉴로모픽 \n\n컴퓨팅,1) 양자정보" in source.raw
    body = block_with(parsed, "특징을 갖는 뉴로모픽 컴퓨팅,", kind="text")
    assert "뉴로모픽 컴퓨팅, 양자정보" in body.text.text
    assert "1)" not in body.text.text
    assert body.footnote_refs == [1]
    note = parsed.footnote_for(1, body.line_no)
    assert note is not None and note.text.text.startswith("1) 인간의 뇌 신경망을")
    assert note.line_no > body.line_no


def test_several_references_in_one_paragraph_resolve_in_order(docs) -> None:
    _source, parsed = docs[D000]
    body = block_with(parsed, "14차 5개년 규획 중간평가", kind="text")
    assert body.footnote_refs == [3, 4]
    assert "」3)와" not in body.text.text and "강조하였음.4)" not in body.text.text
    note3 = parsed.footnote_for(3, body.line_no)
    note4 = parsed.footnote_for(4, body.line_no)
    assert note3 is not None and "国家发改委" in note3.text.text
    assert note4 is not None and "정지현 외(2024)" in note4.text.text
    # a reference at the end of a sentence
    body2 = block_with(parsed, "불확실성이 존재한다는 점에서 차이가 있음.", kind="text")
    assert body2.footnote_refs == [2]
    assert body2.text.text.endswith("차이가 있음.")
    note2 = parsed.footnote_for(2, body2.line_no)
    assert note2 is not None and "战略性新兴产业与未来产业的内涵特征" in note2.text.text


def test_parenthesised_numbers_are_not_footnote_references(docs) -> None:
    """"(2023년 12월)" or "(11.25)" close a "(" and stay in the text."""
    _source, parsed = docs[D000]
    body = block_with(parsed, "14차 5개년 규획 중간평가", kind="text")
    assert "중간평가(2023년 12월)」" in body.text.text


def test_table_note_reference_resolves_to_the_table_note(docs) -> None:
    _source, parsed = docs[D000]
    cell = block_with(parsed, "반도체 및 과학법 (CHIPS)", kind="text")
    for number in cell.footnote_refs:
        note = parsed.footnote_for(number, cell.line_no)
        assert note is not None and "CHIPS" in note.text.text


# ------------------------------------------------------------------ inline markup


def test_no_markup_survives_in_any_block(docs) -> None:
    for doc_id, _source, block in all_blocks(docs):
        text = block.text.text
        for residue in ("<li", "<ul", "<b>", "</", "&amp;", "&nbsp;", "**", "\\*", "\\_", "\\", "$"):
            assert residue not in text, (doc_id, block.line_no, residue, text[:80])


def test_html_in_table_cells_becomes_plain_text_in_001(docs) -> None:
    source, parsed = docs[D001]
    assert '<ul style="list-style-type: none"> <li>• <b>체계적인 양성 메커니즘:</b> 표준화 R&amp;D' in source.raw
    row = block_with(parsed, "체계적인 양성 메커니즘:", kind="table_row")
    assert row.text.text.startswith("1 양성제도 | • 체계적인 양성 메커니즘: 표준화 R&D 인재")
    # "&" cites the entity it came from
    i = row.text.text.index("R&D") + 1
    assert source.raw[row.text.starts[i] : row.text.ends[i]] == "&amp;"


def test_markdown_bold_and_escapes_are_removed(docs) -> None:
    source3, parsed3 = docs[D003]
    assert "(외자 접근) **제조업 분야 외자 접근 제한 전면 철폐" in source3.raw
    assert any("(외자 접근) 제조업 분야 외자 접근 제한 전면 철폐" in t for t in texts(parsed3))
    source4, parsed4 = docs[D004]
    assert "**유효 데이터가 10% 미만**에" in source4.raw
    assert any("유효 데이터가 10% 미만에 그친다" in t for t in texts(parsed4))
    source1, parsed1 = docs[D001]
    assert "종합발전연구소\\* 취젠" in source1.raw
    assert any("종합발전연구소* 취젠(曲健)" in t for t in texts(parsed1))


def test_titles_in_angle_brackets_are_words_not_markup(tmp_path, korean) -> None:
    """Korean prose puts titles in angle brackets (a KorQuAD article: "걸그룹 <AOA> 설현"); only HTML's own
    elements, in lower or upper case, are markup. A title's letters stay, and its passage cites them."""
    text = ("걸그룹 <AOA> 설현의 캐스팅이 확정됐다. 잡지 <Nature>와 <Time>, <Li Keqiang> 총리의 발언.\n\n"
            "<b>굵게</b> 쓴 말, <BR>줄, <span class=\"x\">감싼 말</span><o:p></o:p>.\n")
    raw, parsed = parse_text(tmp_path, text, korean)
    body = " ".join(texts(parsed))
    for title in ("<AOA>", "<Nature>", "<Time>", "<Li Keqiang>"):
        assert title in body
    assert "굵게 쓴 말" in body and "감싼 말" in body
    assert not any(tag in body for tag in ("<b>", "</b>", "<BR>", "<span", "</span>", "o:p"))
    block = next(b for b in parsed.blocks if "<AOA>" in b.text.text)
    t = block.text
    i = t.text.index("<AOA>")
    assert raw[t.starts[i] : t.ends[i + 4]] == "<AOA>"


def test_latex_fragment_becomes_plain_unit_in_003(docs) -> None:
    source, parsed = docs[D003]
    assert "32 $\\mu\\text{g}/\\text{m}^3$ 이하" in source.raw
    row = block_with(parsed, "미세먼지 연평균 농도", kind="table_row")
    assert "32 μg/m3 이하" in row.text.text


def test_latex_fragment_leaves_no_commands_in_003(docs) -> None:
    _source, parsed = docs[D003]
    row = block_with(parsed, "미세먼지 연평균 농도", kind="table_row")
    assert "/m3 이하" in row.text.text
    assert not any(s in row.text.text for s in ("\\", "text{", "^", "$"))


# ------------------------------------------------------------------ tables


def _cells(line: str) -> list[str]:
    """Non-empty cells; a lone "-" means "none" in these tables and is kept."""
    return [c for c in line.split("\t") if c.strip()]


def test_tab_tables_become_rows_with_header(docs) -> None:
    n_tables = 0
    for doc_id in (D001, D003, D004):
        source, parsed = docs[doc_id]
        lines = source.raw.split("\n")
        rows = [b for b in parsed.blocks if b.kind == "table_row"]
        assert len(rows) >= 10, doc_id
        previous: Block | None = None
        first: Block | None = None
        for row in rows:
            line = lines[row.line_no - 1]
            assert "\t" in line and row.n_lines == 1
            assert len(row.text.text.split(" | ")) == len(_cells(line)), (doc_id, row.line_no)
            starts_table = previous is None or previous.line_no != row.line_no - 1
            if starts_table:
                first = row
                n_tables += 1
                assert row.table_header is None, (doc_id, row.line_no)
            else:
                assert first is not None
                assert row.table_header == first.text.text, (doc_id, row.line_no)
            previous = row
    assert n_tables >= 10


def test_table_row_example_from_004(docs) -> None:
    _source, parsed = docs[D004]
    header = block_with(parsed, "국가 | 추진 주체 | 주요 계획 및 추진 현황", kind="table_row")
    assert header.table_header is None
    row = block_with(parsed, "SpaceX | • Starlink V3", kind="table_row")
    assert row.table_header == "국가 | 추진 주체 | 주요 계획 및 추진 현황"
    assert row.section[-1] == "〈참고 : 미·중 우주 연산 위성군 구축 계획 비교〉"


def test_pipe_table_in_synthetic_markdown(tmp_path: Path, korean) -> None:
    text = "| 지역 | 목표 |\n|---|---|\n| 광둥성 | 1위 |\n| 베이징 | 2위 |\n"
    _raw, parsed = parse_text(tmp_path, text, korean, name="t.md")
    rows = [b for b in parsed.blocks if b.kind == "table_row"]
    assert [r.text.text for r in rows] == ["지역 | 목표", "광둥성 | 1위", "베이징 | 2위"]
    assert [r.table_header for r in rows] == [None, "지역 | 목표", "지역 | 목표"]


# ------------------------------------------------------------------ cover furniture


@pytest.mark.parametrize("doc_id", [D001, D003, D004])
def test_cover_contents_and_disclaimer_are_in_no_block(docs, doc_id: str) -> None:
    source, parsed = docs[doc_id]
    lines = source.raw.split("\n")
    contents = next(i for i, t in enumerate(lines) if t.strip().lstrip("#").strip() == "CONTENTS") + 1
    disclaimer = next(i for i, t in enumerate(lines) if t.startswith("본 보고서는 한중과학기술협력센터가")) + 1
    assert contents < disclaimer
    covered = covered_offsets(parsed)
    for line_no in range(contents, disclaimer + 1):
        assert not covered & set(line_span(source, line_no)), f"{doc_id} line {line_no} is in a block"
    assert not any("본 보고서는" in t or "출처를 밝혀주시기" in t for t in texts(parsed))
    assert not any(t.strip() == "CONTENTS" for t in texts(parsed))
    # the cover's logo lines are dropped too
    assert not any("Korea-China Science & Technology Cooperation Center" in t for t in texts(parsed))


def test_contents_items_are_not_blocks_but_articles_are_headings_in_004(docs) -> None:
    _source, parsed = docs[D004]
    item = "‘하늘 위 데이터센터’ 구축 나선 중국"
    assert not any(t.endswith(item) for t in texts(parsed))
    headings = [b for b in parsed.blocks if b.kind == "heading" and b.heading_type == "article"]
    assert [b.heading_num for b in headings] == ["01", "02", "03", "04", "05"]
    assert headings[0].text.text == "01 '하늘 위 데이터센터' 구축 나선 중국"


def test_bylines_are_in_no_block_in_004(docs) -> None:
    source, parsed = docs[D004]
    lines = source.raw.split("\n")
    byline_lines = [i + 1 for i, t in enumerate(lines) if t.startswith("정리 (") and "@kostec.re.kr" in t]
    assert len(byline_lines) == 5
    covered = covered_offsets(parsed)
    for line_no in byline_lines:
        assert not covered & set(line_span(source, line_no))
    assert not any("kostec.re.kr" in t or t.startswith("정리") for t in texts(parsed))


def test_cover_logo_lines_dropped_from_a_short_briefing(tmp_path: Path, korean) -> None:
    lines = (CORPUS_DIR / f"{D004}.txt").read_text(encoding="utf-8").split("\n")
    _raw, parsed = parse_text(tmp_path, "\n".join(lines[:86]) + "\n", korean)
    assert not any("KOSTEC" in t or "Korea-China" in t for t in texts(parsed))


# ------------------------------------------------------------------ sections and summaries


def test_article_section_paths_in_001(docs) -> None:
    _source, parsed = docs[D001]
    title = "04 광둥성, 범용 인공지능 산업 혁신거점 구축 추진"
    inside = [b for b in parsed.blocks if title in b.section]
    assert any(b.kind == "text" for b in inside)
    assert all(b.section[0] == "II 정책동향" for b in inside)
    heading = next(b for b in inside if b.kind == "heading" and b.heading_type == "article")
    assert heading.text.text == title and heading.heading_num == "04"
    # the next article starts a new path
    nxt = [b for b in parsed.blocks if any(s.startswith("05 CASTED") for s in b.section)]
    assert nxt and all(title not in b.section for b in nxt)


def test_roman_numeral_chapters_in_002(docs) -> None:
    _source, parsed = docs[D002]
    chapters = [b for b in parsed.blocks if b.kind == "heading" and b.heading_type == "chapter"]
    assert [c.heading_num for c in chapters] == ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ"]
    third = chapters[2]
    assert third.text.text == "Ⅲ 중국 정부의 정책동향"
    in_third = [b for b in parsed.blocks if b.section and b.section[0].startswith("Ⅲ")]
    assert sum(1 for b in in_third if b.kind == "text") >= 20
    assert all(b.section[0] == "Ⅲ 중국 정부의 정책동향" for b in in_third)


def test_numbered_sections_in_000(docs) -> None:
    _source, parsed = docs[D000]
    articles = [b.text.text for b in parsed.blocks if b.kind == "heading" and b.heading_type == "article"]
    assert articles == [
        "1. 미래산업 육성 배경",
        "2. 미래산업 육성정책의 주요 내용",
        "3. 주요 지역의 추진 사례",
        "4. 평가 및 시사점",
    ]
    body = block_with(parsed, "중국 공업정보화부 외 6개 부처가 공동으로", kind="text")
    assert body.section[0] == "2. 미래산업 육성정책의 주요 내용"
    assert not body.summary


@pytest.mark.parametrize("doc_id", [D000, D001, D002, D003])
def test_summary_blocks_are_flagged(docs, doc_id: str) -> None:
    _source, parsed = docs[doc_id]
    summary_heading = next(b for b in parsed.blocks if b.kind == "heading" and b.heading_type == "summary")
    assert summary_heading.text.text.replace(" ", "") in ("요약", "주요내용")
    flagged = [b for b in parsed.blocks if b.summary]
    assert sum(1 for b in flagged if b.kind == "text") >= 4
    for block in parsed.blocks:
        assert block.summary == (bool(block.section) and block.section[0] == "요약"), (doc_id, block.line_no)
    # summary comes first; nothing after the first body heading is flagged
    first_body = next(i for i, b in enumerate(parsed.blocks)
                      if b.kind == "heading" and b.heading_type in ("chapter", "article"))
    assert all(b.summary for b in parsed.blocks[:first_body] if b.line_no >= summary_heading.line_no)
    assert not any(b.summary for b in parsed.blocks[first_body:])


def test_summary_sentence_and_body_sentence_differ_in_flag_in_000(docs) -> None:
    _source, parsed = docs[D000]
    summary = block_with(parsed, "뒤처질 수 있다는 판단하에", kind="text")
    assert summary.summary and summary.section == ("요약",)
    body = block_with(parsed, "코로나19를 계기로 디지털 전환이 촉진되고", kind="text")
    assert not body.summary and body.section == ("1. 미래산업 육성 배경",)


def test_table_cell_is_not_a_section_heading_in_002(docs) -> None:
    _source, parsed = docs[D002]
    para = block_with(parsed, "(빅데이터 산업 13차 5개년 발전계획)", kind="text")
    assert not any(s.startswith("4. 사물인터넷과 모바일 인터넷") for s in para.section)


def test_normalized_text_is_clean_reading_text(docs) -> None:
    _source, parsed = docs[D000]
    text = parsed.normalized_text()
    assert text.endswith("\n")
    assert "뒤처질 수 있다는 판단하에" in text
    assert "[각주 1] 1) 인간의 뇌 신경망을" in text
    assert "\n\n2. 미래산업 육성정책의 주요 내용\n" in text


# ------------------------------------------------------------------ NFC


def test_nfd_document_parses_to_nfc_with_offsets_into_the_nfd_file(tmp_path: Path, korean) -> None:
    text = (
        "요약\n\n"
        "- 한국어 문서를 분석하여 미래산업 육성 방향을 제시함\n\n"
        "1. 미래산업 육성 배경\n\n"
        "■ 중국은 뉴로모픽 컴퓨팅과 양자정보를 미래산업으로 구분함.\n"
    )
    raw, parsed = parse_text(tmp_path, text, korean, nfd=True)
    assert raw != text and unicodedata.normalize("NFC", raw) == text
    got = [(b.kind, b.heading_type, b.text.text) for b in parsed.blocks]
    assert got == [
        ("heading", "summary", "요약"),
        ("text", "", "- 한국어 문서를 분석하여 미래산업 육성 방향을 제시함"),
        ("heading", "article", "1. 미래산업 육성 배경"),
        ("text", "", "■ 중국은 뉴로모픽 컴퓨팅과 양자정보를 미래산업으로 구분함."),
    ]
    assert [b.summary for b in parsed.blocks] == [True, True, False, False]
    for block in parsed.blocks:
        t = block.text
        assert unicodedata.is_normalized("NFC", t.text)
        for ch, a, b in zip(t.text, t.starts, t.ends, strict=True):
            assert unicodedata.normalize("NFC", raw[a:b]) == ch
        a, b = t.span()
        assert unicodedata.normalize("NFC", raw[a:b]) == t.text
        assert block.line_no == raw[:a].count("\n") + 1


# ------------------------------------------------------------------ Korean helpers


def test_split_sentences_on_gaejosik_endings(korean) -> None:
    text = "미래산업 육성을 추진함 디지털 전환이 가속화되고 있음 주요국은 지원을 강화하고 있음"
    spans = korean.split_sentences(text)
    assert [text[a:b].strip() for a, b in spans] == [
        "미래산업 육성을 추진함",
        "디지털 전환이 가속화되고 있음",
        "주요국은 지원을 강화하고 있음",
    ]


def test_split_sentences_with_periods_and_empty_text(korean) -> None:
    text = "중국은 계획을 발표하였다. 목표는 2027년까지 달성하는 것이다."
    spans = korean.split_sentences(text)
    assert len(spans) == 2
    assert text[spans[1][0] : spans[1][1]].startswith("목표는")
    assert korean.split_sentences("") == [(0, 0)]


def test_needs_space_decisions(korean) -> None:
    assert korean.needs_space("있", "다는") is False
    assert korean.needs_space("분석", "보고서를") is True
    assert korean.needs_space("산업역", "량이") is False
