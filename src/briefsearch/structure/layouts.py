"""Layout families as data: the headings, bullets and furniture each family's documents follow.

One table per family. ``briefsearch.structure.parser`` applies the tables of the families a
document shows (its ``signature`` lines); it hard-codes none of them. Every
rule rests on a written drafting convention (법제처 「법령 입안·심사 기준」, the
National Assembly's bill format, 행정업무운영 편람's 개조식 numbering) or on a
convention seen in several documents (eval/generalization/SOURCES.md,
../shared/notes/korean-layouts.md).

Adding a family: write a ``Layout`` table here, add it to ``FAMILIES``, and
add tests that parse real documents of that family (tests/test_layouts.py).

Section-path levels are shared by all families so that they nest: a document
part (제안이유, 부칙, 신·구조문대비표) is level 0, legal divisions 편 > 장 > 절 > 관 > 조
are 1..5, report headings (chapter > numbered section > sub-section/label >
caption) are 6..9.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PART, PYEON, JANG, JEOL, GWAN, JO = 0, 1, 2, 3, 4, 5
CHAPTER, SECTION, SUB, CAPTION = 6, 7, 8, 9


@dataclass(frozen=True, slots=True)
class HeadingRule:
    """One kind of heading: the line's shape and where it sits in the section path.

    ``pattern`` is matched against the cleaned line (group ``num`` numbers the
    heading, group ``title`` names it). A heading must also pass the general
    sanity checks of ``briefsearch.structure.headings`` (short, not a sentence, not a formula,
    not inside running text).
    """

    kind: str
    pattern: re.Pattern[str]
    level: int
    inline: bool = False  # the heading opens a line that carries its body ("제3조 대한민국의 영토는 …")
    sequence: bool = False  # numbers run in order (1, then +1; or increasing for articles): references do not
    max_title: int = 40  # longest title (characters) the heading may carry
    title_terminal_ok: bool = False  # the title may end like a sentence (inline article bodies do)
    single_line: bool = True  # the whole line is the heading (no wrapped title)
    reject_after: re.Pattern[str] | None = None  # words right after the number that mark a reference
    scope_off: tuple[str, ...] = ()  # heading kinds that do not fire inside a section opened by this one
    title_label: bool = False  # the section path shows the title alone (not furniture words around it)
    # the title opens with the document's name and may wrap: the line before belongs to it when it is that name
    # (ends like one: ``Layout.cover_title``) or when this line opens mid-phrase ("등 비용추계서", "관한 … 비용추계서")
    wraps_after_name: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """A layout family: how to recognise it and the conventions its documents follow."""

    name: str
    signature: re.Pattern[str] | None  # a line showing the family; None: always on
    min_signature: int  # lines of the signature it takes to switch the family on
    headings: tuple[HeadingRule, ...]
    bullets: re.Pattern[str] | None = None  # line starts that open a new unit (never headings)
    furniture: tuple[re.Pattern[str], ...] = ()  # whole lines dropped from the indexed text
    cover_fields: re.Pattern[str] | None = None  # fields showing a cover block, kept apart as metadata
    cover_title: re.Pattern[str] | None = None  # the document's own name in its cover block (group ``title``)
    header_line: re.Pattern[str] | None = None  # a line of a header block opening the document (kind, fields, dates)
    header_field: re.Pattern[str] | None = None  # a header line that names a field (one must be seen)
    contact_start: re.Pattern[str] | None = None  # the line opening a contact table (kept as metadata)
    contact_cell: re.Pattern[str] | None = None  # a contact-table cell that carries a person's role or phone
    summary: bool = True  # the family's documents may open with a 요약 / 주요 내용 section (bills and releases do not)


# ------------------------------------------------------------------ briefings and government reports (개조식)
# Numbering levels Ⅰ. > 1. > 1) with □/■ headlines and ○ ❍ - · ▶ bullets; "01" article numbers of weekly briefings.
_ROMAN_NUMS = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ"
BRIEFING = Layout(
    name="briefing",
    signature=None,
    min_signature=0,
    headings=(
        HeadingRule("chapter", re.compile(
            r"^(?P<num>[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]|I{1,3}|IV|VI{0,3}|IX|X)(?:[.\s]\s*(?P<title>.+))?$"), CHAPTER, sequence=True),
        HeadingRule("article", re.compile(r"^(?P<num>\d{2})(?:\s+(?P<title>.+))?$"), SECTION, sequence=True,
                    max_title=80, title_terminal_ok=True),  # news headlines may end "…묶는다"
        HeadingRule("article", re.compile(r"^(?P<num>\d{1,2})\.\s+(?P<title>.+)$"), SECTION),
        HeadingRule("sub", re.compile(r"^(?P<num>\d{1,2})\)\s+(?P<title>.+)$"), SUB),
    ),
    bullets=re.compile(
        r"^(?:[-–•·∙ㅇ❍○●◦▶▷►※□◎☑✓☞■◆◇◈▣]|\*(?=\s)|[①-⑳]|\(\d{1,2}\)|[가-하]\.(?=\s)|\d{1,2}\)(?=\s))"),
    furniture=(
        re.compile(r"^(정리|작성|집필)\s*[:：]?\s*\(?\s*[\w.+-]+@[\w.-]+\s*\)?$"),  # byline: "정리 (email)"
        re.compile(r"^\d{4}\s*\.\s*\d{1,2}\s*\.\s*\d{1,2}\s*\.?$"),  # a bare date line
    ),
)

# ------------------------------------------------------------------ Markdown exports
MARKDOWN = Layout(
    name="markdown",
    signature=re.compile(r"^#{1,6}\s+\S"),
    min_signature=2,
    # applied only to lines that carried "#" marks (the parser strips them, keeping the offsets)
    headings=(HeadingRule("label", re.compile(r"^(?P<title>.+)$"), SUB, max_title=80, title_terminal_ok=True),),
)

# ------------------------------------------------------------------ Korean legal drafting (laws, bills, decrees)
# 법제처 「법령 입안·심사 기준」: 편 > 장 > 절 > 관 > 조(제목) > 항 ①② > 호 1. 2. > 목 가. 나.; 부칙 restarts
# article numbers. Bills (국회법 제79조) add a cover (의안번호, 발의연월일, 발의자) and the parts 제안이유
# (및 주요내용), 부칙, 신·구조문대비표 and 비용추계서 (or its 미첨부사유서).
def _spaced(word: str) -> str:
    """A word as a pattern that also matches it spaced out ("제 안 이 유", common in PDF headings)."""
    return r"\s*".join(re.escape(ch) for ch in word)


# in statute text (a bill's amending text, its 신·구조문대비표) "1." and "가." are 호 and 목, never report headings
_STATUTE_TEXT_OFF = ("chapter", "article", "sub", "label")
_REFERENCE_WORDS = re.compile(r"^\s*(?:및|또는|중|부터|까지|제목|단서|본문|각\s*호|전단|후단|제\d)")
LEGAL = Layout(
    name="legal",
    signature=re.compile(
        r"^(?:제\s*\d+\s*[장절관]\s+\S.{0,30}|제\s*\d+\s*조(?:의\s*\d+)?(?:\s*\([^()]{1,40}\))?\s+\S.*"
        r"|부\s*칙(?:\s*<[^>]*>)?|의\s*안\s*번\s*호.*|(?:발|제)\s*[의출]\s*연\s*월\s*일.*"
        rf"|{_spaced('제안이유')}.*|{_spaced('참고사항')}|신\s*[·ㆍ・.]?\s*{_spaced('구조문대비표')})$"),
    min_signature=3,
    headings=(
        HeadingRule("part", re.compile(
            rf"^(?P<title>{_spaced('제안이유')}(?:\s*{_spaced('및주요내용')})?|{_spaced('주요내용')}|{_spaced('참고사항')})$"),
            PART),
        HeadingRule("comparison", re.compile(rf"^(?P<title>신\s*[·ㆍ・.]?\s*{_spaced('구조문대비표')})$"), PART,
                    scope_off=("jo", *_STATUTE_TEXT_OFF)),
        # 「의안의 비용추계 등에 관한 규칙」: "<의안명> 비용추계서" or "<의안명> 등 비용추계서 미첨부사유서"
        HeadingRule("part", re.compile(rf"^(?P<title>.{{0,60}}(?:{_spaced('비용추계서')}|{_spaced('미첨부사유서')}))$"),
                    PART, max_title=60, wraps_after_name=True),
        HeadingRule("addenda", re.compile(rf"^(?:\S{{1,4}}\s+)?(?P<title>{_spaced('부칙')}(?:\s*<[^<>]{{1,40}}>)?)"
                                          r"(?:\s+\S{1,6})?$"), PART, title_label=True),
        # 개정문: "○○법 일부를 다음과 같이 개정한다." opens the amending text of a bill
        HeadingRule("amendment", re.compile(r"^(?P<title>.{2,60}\s(?:일부|전부)를\s*다음과\s*같이\s*개정한다\.?)$"),
                    PART, inline=True, max_title=70, title_terminal_ok=True, scope_off=_STATUTE_TEXT_OFF),
        HeadingRule("pyeon", re.compile(r"^(?P<num>제\s*\d+\s*편)(?:\s+(?P<title>\S.*))?$"), PYEON, max_title=30),
        HeadingRule("jang", re.compile(r"^(?P<num>제\s*\d+\s*장)(?:\s+(?P<title>\S.*))?$"), JANG, max_title=30),
        HeadingRule("jeol", re.compile(r"^(?P<num>제\s*\d+\s*절)(?:\s+(?P<title>\S.*))?$"), JEOL, max_title=30),
        HeadingRule("gwan", re.compile(r"^(?P<num>제\s*\d+\s*관)(?:\s+(?P<title>\S.*))?$"), GWAN, max_title=30),
        HeadingRule("jo", re.compile(r"^(?P<num>제\s*\d+\s*조(?:\s*의\s*\d+)?)(?P<title>\s*\([^()]{1,40}\))?"
                                     r"(?=\s|$)"),
                    JO, inline=True, sequence=True, title_terminal_ok=True, reject_after=_REFERENCE_WORDS),
    ),
    bullets=re.compile(r"^(?:[①-⑳]|\d{1,2}\.(?=\s)|\d{1,2}의\d{1,2}\.(?=\s)|[가-하]\.(?=\s)|<\s*신\s*설\s*>)"),
    furniture=(re.compile(r"^법률\s*제\s+호$"),),  # the blank law-number line of a bill's amending text
    cover_fields=re.compile("의안번호|발의연월일|제출연월일|발의자|제출자|제안자"),  # on the squashed cover text
    # a bill is named by what it is (국회 의안 명칭): "○○법 일부개정법률안", "○○ 파견 동의안", "○○ 결의안"
    cover_title=re.compile(r"^(?P<title>\S.{1,150}?(?:법률안|동의안|승인안|결의안|건의안|규칙안|예산안))"),
    summary=False,
)

# ------------------------------------------------------------------ press releases (보도자료)
# The government release form (행정안전부 보도자료 서식; korean-report-hwpx's 「보도자료 서식 규칙」, measured
# over 2,016 releases of 52 ministries): a header table (기관, 보도자료/보도참고자료, 보도시점 or 보도 일시 and
# 배포 or 배포 일시 cells with their dates, "(… 조간/석간)"), the title (제목, one or two lines) and subtitles
# "- … -", the body (문단식 or □ ○ - 개조식), a contact table (담당 부서 | 책임자/담당자 | 직급 | 성명 | 전화),
# then the 붙임 / 참고 / 별첨 parts. Seen in the releases of three publishers (개인정보보호위원회, 금융위원회,
# 과학기술정보통신부), as HWPX and as PDF text (research/structure/layouts-press-releases.md).
_RELEASE_KIND = r"(?:보\s*도\s*(?:참\s*고\s*)?자\s*료|설\s*명\s*자\s*료|해\s*명\s*자\s*료)"
_RELEASE_FIELD = r"[/|]?\s*(?:보\s*도\s*(?:시\s*점|일\s*시)|배\s*포(?:\s*일\s*시)?|엠\s*바\s*고)(?=\s|[:：]|$)"
_RELEASE_DATE = r"[(/]?\s*(?:\d{4}\s*\.\s*\d{1,2}\s*\.|\d{1,2}\s*\.\s*\d{1,2}\s*\.|\d{1,2}:\d{2}|(?:배포\s*)?즉시)"
_CONTACT = r"담\s*당\s*부\s*서"
PRESS = Layout(
    name="press",
    signature=re.compile(rf"^(?:\S{{1,20}}\s+)?{_RELEASE_KIND}$|^{_RELEASE_FIELD}.*$|^{_CONTACT}(?:\s.*)?$"),
    min_signature=3,
    headings=(
        # "붙임", "붙임 1", "[붙임] 사업자별 …", "참고2 개인정보 분쟁조정위원회 위원 현황", "별 첨"; the form puts
        # them after the contact table, so before it a "[참고]" box is part of the body (index.structure)
        HeadingRule("attachment", re.compile(r"^[\[<【]?\s*(?P<num>(?:붙\s*임|참\s*고|별\s*첨)\s*\d{0,2})\s*[\]>】]?"
                                       r"(?:\s+(?P<title>\S.*))?$"), PART, max_title=70),
    ),
    header_line=re.compile(rf"^(?:(?:\S{{1,20}}\s+)?{_RELEASE_KIND}|{_RELEASE_FIELD}.*|{_RELEASE_DATE}.{{0,40}})$"),
    header_field=re.compile(rf"^{_RELEASE_FIELD}|^[(/]?\s*{_RELEASE_DATE}.*{_RELEASE_FIELD}"),
    contact_start=re.compile(rf"^{_CONTACT}"),
    contact_cell=re.compile(r"책\s*임\s*자|담\s*당\s*자|\(?\d{2,4}\)?-\d{3,4}-\d{4}|^<[^<>]{1,10}>$"),
    summary=False,  # the form has no summary part: "주 요 내 용" there is a table's column header
)

FAMILIES: tuple[Layout, ...] = (LEGAL, PRESS, BRIEFING, MARKDOWN)


def active_families(lines: list[str]) -> tuple[Layout, ...]:
    """The families a document shows: those always on plus those with enough signature lines."""
    out = []
    for layout in FAMILIES:
        if layout.signature is None:
            out.append(layout)
            continue
        hits = 0
        for line in lines:
            if layout.signature.match(line.strip()):
                hits += 1
                if hits >= layout.min_signature:
                    out.append(layout)
                    break
    return tuple(out)
