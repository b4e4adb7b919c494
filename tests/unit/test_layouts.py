"""Layout families over real documents of every family, parsed with Kiwi and no model: headings, sections,
line joins. The invariants on passages (chunked with the model's tokenizer): integration/test_layouts.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.ingest.sources import read_source
from briefsearch.structure.blocks import ParsedDocument
from briefsearch.structure.layouts import FAMILIES, active_families
from briefsearch.structure.lines import MAX_HEADLINE_CHARS
from briefsearch.structure.parser import parse_document
from briefsearch.types import SourceText

SEED = sorted((REPO_ROOT / "corpus").glob("*.txt"))
GENERAL = sorted((REPO_ROOT / "eval" / "generalization" / "docs").glob("*.txt"))
ALL = SEED + GENERAL
CONSTITUTION = REPO_ROOT / "eval" / "generalization" / "docs" / "kolaw_constitution.txt"
BILL_LOCAL = REPO_ROOT / "eval" / "generalization" / "docs" / "kobill_1809890.txt"  # 지방공무원법
BILL_SUBCONTRACT = REPO_ROOT / "eval" / "generalization" / "docs" / "kobill_1809895.txt"  # 하도급법
BILL_UAE = REPO_ROOT / "eval" / "generalization" / "docs" / "kobill_1809897.txt"
BILL_SOMALIA = REPO_ROOT / "eval" / "generalization" / "docs" / "kobill_1809898.txt"
BILL_EQUALITY = REPO_ROOT / "eval" / "generalization" / "docs" / "kobill_1809893.txt"  # 남녀고용평등법
_LETTERS = re.compile(r"[가-힣A-Za-zⅠ-Ⅹ]")


@pytest.fixture(scope="module")
def parsed(korean) -> dict[str, tuple[SourceText, ParsedDocument]]:
    out = {}
    for path in ALL:
        source = read_source(path)
        out[path.stem] = (source, parse_document(source, joiner=korean.needs_space))
    return out


def _labels(doc_parsed: ParsedDocument) -> set[str]:
    """The section labels the passages carry (a bare "Ⅲ" heading line takes its title from the next line)."""
    return {label for block in doc_parsed.blocks if block.kind != "heading" for label in block.section}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_no_heading_is_longer_than_a_sentence_or_made_of_symbols(parsed, korean, path: Path) -> None:
    _source, doc_parsed = parsed[path.stem]
    for label in _labels(doc_parsed):
        assert len(label) <= MAX_HEADLINE_CHARS, label
        assert len(korean.split_sentences(label)) <= 1 or len(label) <= 40, f"a heading of several sentences: {label}"
        assert len(_LETTERS.findall(label)) >= 2, f"a heading of symbols or a formula: {label!r}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_line_breaks_joined_as_kiwi_reads_them(parsed, korean, path: Path) -> None:
    """Wherever a block joins two Hangul pieces across a line break, Kiwi agrees with the space (or none)."""
    source, doc_parsed = parsed[path.stem]
    checked = 0  # joins checked (none where every wrap kept the extractor's trailing space)
    for block in doc_parsed.blocks:
        text, starts, ends = block.text.text, block.text.starts, block.text.ends
        for i in range(1, len(text) - 1):
            if text[i] == " " and starts[i] == ends[i]:  # a space the parser inserted at a join
                left, right, gap = text[i - 1], text[i + 1], source.raw[ends[i - 1] : starts[i + 1]]
                spaced = True
            elif text[i - 1] != " " and text[i] != " ":
                left, right, gap = text[i - 1], text[i], source.raw[ends[i - 1] : starts[i]]
                spaced = False
            else:
                continue
            if "\n" not in gap or not (re.match("[가-힣]", left) and re.match("[가-힣]", right)):
                continue
            if gap.startswith((" ", "\u3000", "\t")):
                continue  # the extractor kept the word break's space: no question for Kiwi
            if gap.strip(" \t\r\n\f") and not re.fullmatch(r"[\s\f]*(?:[-–—]\s*\d{1,4}\s*[-–—][\s\f]*)*", gap):
                continue  # something was dropped in between (a footnote, furniture): not a wrap
            words = text[:i].rsplit(" ", 1)[-1], text[i + 1 if spaced else i :].split(" ", 1)[0]
            assert korean.needs_space(*words) == spaced, (path.stem, block.line_no, words, spaced)
            checked += 1


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_no_section_opens_mid_phrase(parsed, path: Path) -> None:
    """A title never opens with "등", "및", "관한"…: such a label is the second line of a wrapped title."""
    _source, doc_parsed = parsed[path.stem]
    for label in _labels(doc_parsed):
        assert not re.match(r"(등|및|관한|대한|위한|따른|의한)\s", label), (path.stem, label)


def test_each_document_gets_its_families() -> None:
    for path in SEED:
        names = [f.name for f in active_families(path.read_text(encoding="utf-8").split("\n"))]
        assert "legal" not in names and "press" not in names and "briefing" in names, path.stem
    for path in GENERAL:
        names = [f.name for f in active_families(read_source(path).raw.split("\n"))]
        assert "legal" in names and "press" not in names, path.stem
    assert {f.name for f in FAMILIES} == {"briefing", "legal", "markdown", "press"}


def test_constitution_section_paths(parsed) -> None:
    _source, doc = parsed[CONSTITUTION.stem]
    art70 = next(b for b in doc.blocks if b.text.text.startswith("제70조"))
    assert art70.section == ("제4장 정부", "제1절 대통령", "제70조")
    art88 = next(b for b in doc.blocks if b.text.text.startswith("제88조"))
    assert art88.section == ("제4장 정부", "제2절 행정부", "제2관 국무회의", "제88조")
    # a paragraph ② stays in its article
    second = next(b for b in doc.blocks if b.text.text.startswith("②대통령은 국가의 독립"))
    assert second.section[-1] == "제66조"
    # every article of the main text and of the addenda has a path ending in its own number
    articles = [b for b in doc.blocks if b.heading_type == "jo"]
    assert len(articles) == 130 + 6
    for block in articles:
        assert block.section[-1] == re.match(r"제\d+조(의\d+)?", block.text.text).group()


def test_addenda_articles_are_told_apart_from_the_main_text(parsed) -> None:
    _source, doc = parsed[CONSTITUTION.stem]
    firsts = [b for b in doc.blocks if b.heading_type == "jo" and b.heading_num == "제1조"]
    assert len(firsts) == 2
    main, addenda = firsts
    assert main.section == ("제1장 총강", "제1조")
    assert addenda.section[0].startswith("부칙") and addenda.section[-1] == "제1조"
    assert "1987.10.29." in addenda.section[0]  # the addenda's date stays in the path


def test_references_in_running_text_are_never_headings(parsed) -> None:
    for path in GENERAL:
        _source, doc = parsed[path.stem]
        for block in doc.blocks:
            if block.heading_type == "jo":
                after = block.text.text[len(block.label):]
                assert not re.match(r"\s*(및|또는|중|부터|까지)", after), block.text.text
                assert not block.text.text.startswith(("안 제", "같은 조")), block.text.text
    _source, doc = parsed[BILL_LOCAL.stem]
    # "｢교육공무원법｣ 제44조제1항⏎제7조 중 …" is a wrapped reference, not article 7
    assert not any(b.heading_type == "jo" and b.heading_num == "제7조" for b in doc.blocks)


def test_formula_lines_are_not_headings(parsed) -> None:
    for path in GENERAL:
        _source, doc = parsed[path.stem]
        labels = _labels(doc)
        assert not any(re.fullmatch(r"[A-Za-z]|[><=]?.*[×=].*", label) for label in labels), (path.stem, labels)


def test_report_numbering_in_a_bill(parsed) -> None:
    """Bills also carry 개조식 parts (a dispatch plan, a cost estimate): "1." opens a section there."""
    _source, doc = parsed[BILL_UAE.stem]
    plan = next(b for b in doc.blocks if "150명 이내 ( 1진 130명" in b.text.text)
    assert plan.section[-1] == "2. 기본 계획"
    reasons = next(b for b in doc.blocks if "국익창출과" in b.text.text and b.text.text.startswith("가."))
    assert reasons.section == ("제안이유",)  # the cover (제출연월일, 제출자) ends where the part begins


def test_letter_bullets_only_where_the_document_uses_them(parsed, tmp_path: Path, korean) -> None:
    _source, doc = parsed["002_22ff6807f067724b"]
    texts = [b.text.text for b in doc.blocks]
    assert not any(t.startswith("m ") for t in texts)
    assert any(t.startswith("또한 온라인 판매(on-line sales)") for t in texts)
    # a document that does not use the letter as a bullet keeps it as text
    lines = ["m 단위로 측정한 값은 다음과 같음.", *(f"{n}번째 문장은 평범한 설명임." for n in range(5))]
    body = "\n\n".join(lines) + "\n"
    path = tmp_path / "m.txt"
    path.write_text(body, encoding="utf-8")
    other = parse_document(read_source(path), korean.needs_space)
    assert other.blocks[0].text.text.startswith("m 단위로")


def test_disclaimer_sentence_in_the_body_is_kept(tmp_path: Path, korean) -> None:
    body = ("보고서 제목\n\n1. 개요\n\n본 보고서는 2024년 조사 결과를 바탕으로 산업 동향을 분석함.\n\n"
            "조사 대상은 300개 기업임.\n")
    path = tmp_path / "r.txt"
    path.write_text(body, encoding="utf-8")
    doc = parse_document(read_source(path), korean.needs_space)
    assert any(b.text.text.startswith("본 보고서는 2024년") for b in doc.blocks)


def test_a_wrapped_number_is_not_an_article(tmp_path: Path, korean) -> None:
    """ "20 개 분야에 대한…" continuing a wrapped line is text, not a two-digit article heading."""
    filler = [f"이 문단은 줄바꿈 폭을 재기 위한 설명 문장 {n:02d}번으로 이어지는 긴 줄" for n in range(25)]
    lines = [*filler, "중국 정부는 미래산업 육성을 위해 올해 상반기까지 모두", "20 개 분야에 대한 지원 계획을 발표함."]
    path = tmp_path / "w.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    doc = parse_document(read_source(path), korean.needs_space)
    assert not any(b.kind == "heading" for b in doc.blocks)
    assert any("모두 20 개 분야에 대한" in b.text.text for b in doc.blocks)
