"""Press releases (보도자료): the header table, the title, the subtitles and the contact tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefsearch.structure.layouts import PRESS, active_families
from briefsearch.structure.lines import MAX_HEADING_CHARS, MAX_HEADLINE_CHARS, PAGE_MARKER, next_nonblank
from briefsearch.text.mapped import nfc_mapped


@dataclass(frozen=True, slots=True)
class ReleaseParts:
    """Where a press release's furniture is (line indexes): header, title, subtitles, contact tables."""

    metadata: frozenset[int] = frozenset()  # header, title and contact lines: kept as document metadata
    starts: frozenset[int] = frozenset()  # lines opening a metadata block (the header, the title, each contact table)
    title: frozenset[int] = frozenset()  # the title's lines (one or two, or more where format runs broke it)
    dashes: frozenset[int] = frozenset()  # lone "-" lines closing a subtitle "- … -"
    closes: frozenset[int] = frozenset()  # lines after which the open block ends (a subtitle's last line)
    parts_from: int = 0  # 붙임/참고 parts open only from here: the first contact table after the header

    @property
    def title_line(self) -> int:
        return min(self.title) if self.title else -1


_SUBTITLE = re.compile(r"^[-–]")
_BODY_OPENS = re.compile(r"^[-–□■ㅇ○◦❍●※*▶]")
MAX_TITLE_LINES = 4  # a title is one or two lines; HWPX text runs may break it into a few more
MAX_HEADER_LINES = 40  # the header table (with a contact table printed in it) is in the first lines


def release_parts(lines: list[str]) -> ReleaseParts:
    """The header block, title, subtitles and contact tables of a press release (PRESS layout).

    The header runs from the top while lines are the release's kind (보도자료), its fields (보도시점, 배포)
    and their values (dates, "즉시"), or a contact table printed inside it; at least one field must be
    seen. The title is the lines after it up to the first subtitle ("- …"), bullet or indented paragraph
    (a title that runs into unmarked body text is its first line alone; titles never open with a space).
    """
    assert PRESS.header_line is not None and PRESS.header_field is not None and PRESS.contact_start is not None
    n = len(lines)
    meta: set[int] = set()
    starts: set[int] = set()
    i, seen_field, first = 0, False, True
    while i < min(n, MAX_HEADER_LINES):
        text = lines[i].strip()
        if not text or PAGE_MARKER.match(lines[i]) or text == "\f":
            i += 1
            continue
        nxt = next_nonblank(lines, i)
        org = first and nxt is not None and PRESS.header_line.match(nxt.strip()) is not None and len(text) <= 30
        if PRESS.header_line.match(text) or org:
            seen_field = seen_field or bool(PRESS.header_field.match(text))
            meta.add(i)
            i += 1
        elif PRESS.contact_start.match(text) and seen_field:
            end = _contact_end(lines, i)
            meta.update(range(i, end))
            starts.add(i)
            i = end
        else:
            break
        first = False
    if not seen_field:
        return ReleaseParts()
    if meta:
        starts.add(min(meta))
    title: list[int] = []
    j = i
    while j < n and len(title) < MAX_TITLE_LINES:
        text = lines[j].strip()
        if not text or PAGE_MARKER.match(lines[j]):
            if title:
                break
            j += 1
            continue
        if _BODY_OPENS.match(text) or lines[j][:1] in (" ", "\u3000", "\t") or len(text) > MAX_HEADING_CHARS:
            break  # 문단식 body paragraphs open with one or two spaces (보도자료 서식); titles never do
        title.append(j)
        j += 1
    else:
        title = title[:1]  # no subtitle or marked paragraph ends it: the body runs on unmarked
    if title and sum(len(lines[k].strip()) for k in title) > MAX_HEADLINE_CHARS:
        title = title[:1]
    meta.update(title)
    if title:
        starts.add(title[0])
    dashes, closes = _subtitles(lines, (title[-1] + 1) if title else i)
    contacts = [k for k in range(len(lines)) if PRESS.contact_start.match(lines[k].strip()) and k not in meta]
    for k in contacts:
        end = _contact_end(lines, k)
        meta.update(range(k, end))
        starts.add(k)
    return ReleaseParts(frozenset(meta), frozenset(starts), frozenset(title), frozenset(dashes), frozenset(closes),
                         parts_from=contacts[0] if contacts else 0)


def stated_title(text: str) -> str:
    """The title a press release's header states (its 제목 lines, spaces collapsed), or "" for other layouts.

    Used for the catalogue title of an added document: such a file opens with the publisher and
    "보도자료", not with its title.
    """
    lines = nfc_mapped(text).text.split("\n")
    if PRESS not in active_families(lines):
        return ""
    parts = release_parts(lines)
    return " ".join(" ".join(lines[k].split()) for k in sorted(parts.title))


def _subtitles(lines: list[str], i: int) -> tuple[set[int], set[int]]:
    """Subtitles after the title: "- …" lines, each its own unit; a lone "-" opens one that a lone "-" closes;
    a line between two subtitles is one too."""
    dashes: set[int] = set()
    closes: set[int] = set()
    n = len(lines)
    while i < n:
        text = lines[i].strip()
        if not text:
            i += 1
            continue
        if not _SUBTITLE.match(text):
            nxt = next_nonblank(lines, i)
            if (dashes or closes) and nxt is not None and _SUBTITLE.match(nxt.strip()):
                closes.add(i)  # a line between two subtitles is one (its dash lost to a format run)
                i += 1
                continue
            break
        if text not in ("-", "–"):
            closes.add(i)
            i += 1
            continue
        close = next((k for k in range(i + 1, min(n, i + 8)) if lines[k].strip() in ("-", "–")), None)
        if close is None:
            closes.add(i + 1)  # no closing dash: the subtitle is the line after the dash
            break
        dashes.add(close)
        closes.add(close - 1)
        i = close + 1
    return dashes, closes


MAX_CONTACT_LINES = 120  # a contact table of several offices, one cell a line (5 cells a person)


def _contact_end(lines: list[str], i: int) -> int:
    """The line after a contact table (담당 부서 | 책임자 | 과장 | 성명 | 전화, one cell per line in HWPX text).

    After a phone number the table goes on only with another person's row: a role, a phone, or a short
    one-word cell (a department); a part title (붙임) or any other line ends it.
    """
    assert PRESS.contact_cell is not None
    part = PRESS.headings[0].pattern  # 붙임 / 참고 / 별첨
    after_phone = False
    j = i + 1
    while j < min(len(lines), i + MAX_CONTACT_LINES):
        text = lines[j].strip()
        if not text:
            j += 1
            continue
        if part.match(text) or PAGE_MARKER.match(lines[j]):
            break
        cell = bool(PRESS.contact_cell.search(text)) or (PRESS.contact_start is not None
                                                         and bool(PRESS.contact_start.match(text)))
        if after_phone and not (cell or (len(text) <= 12 and " " not in text)):
            break
        if not cell and len(text) > 40:
            break
        after_phone = bool(re.search(r"\d{3,4}-\d{4}", text))
        j += 1
    return j
