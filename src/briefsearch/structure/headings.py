"""Headings: which layout rule a line opens, checked for sanity.

A heading is short, not a sentence, not a formula or symbol line, numbered in sequence, and never
inside running text; labels introduce a list; a part title may be wrapped over two lines or spaced out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from briefsearch.structure.blocks import Block
from briefsearch.structure.conventions import Rules
from briefsearch.structure.layouts import BRIEFING, CHAPTER, JO, LEGAL, PART, HeadingRule
from briefsearch.structure.lines import (
    MAX_HEADING_CHARS,
    SENTENCE_END,
    SOURCE_LINE,
    SUMMARY_TITLE,
    TERMINAL,
    next_nonblank,
    squash,
    strip_heading_marks,
)
from briefsearch.structure.tables import CAPTION_LINE
from briefsearch.structure.wraps import inside_running_text

_ROMAN_VALUES = {**{ch: i + 1 for i, ch in enumerate("ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ")},
                 **{r: i + 1 for i, r in enumerate(("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"))}}

# a title never opens with these (a dependent noun, a conjunction, an adnominal that needs "…에"): a wrapped line
_TITLE_CONTINUES = re.compile(r"^(?:등|및|관한|대한|위한|따른|의한)(?=\s)")
_SPACED_RUN = re.compile(r"(?<!\S)[가-힣](?: [가-힣])+(?!\S)")
_WORD = re.compile(r"[가-힣]{2}|[A-Za-z]{3}|[가-힣][A-Za-z]|[A-Za-z][가-힣]")


@dataclass(slots=True)
class State:
    """What the heading checks need to know about the headings seen so far."""

    last: dict[str, tuple[int, int]] = field(default_factory=dict)  # heading kind -> last number (and 의N)
    deepest: int | None = None  # level of the innermost heading so far
    off: frozenset[str] = frozenset()  # heading kinds switched off by the current part
    seen_heading: bool = False

    def accept(self, rule: HeadingRule, number: tuple[int, int] | None) -> None:
        self.seen_heading = True
        if rule.level == PART:
            self.off = frozenset(rule.scope_off)
            self.last.pop("jo", None)  # 부칙 (and every part) restarts article numbers
        if number is not None:
            self.last[rule.kind] = number
        if rule.level < CHAPTER:  # a legal division: report numbering restarts under it
            for kind in ("chapter", "article"):
                self.last.pop(kind, None)
        self.deepest = rule.level


@dataclass(frozen=True, slots=True)
class _Heading:
    rule: HeadingRule
    num: str
    title: str
    label_end: int  # for an inline heading: where its label ends in the line


def unspace(title: str) -> str:
    """Join the syllables of a spaced-out title ("부 칙" -> "부칙", "비 용 추 계 서" -> "비용추계서")."""
    return _SPACED_RUN.sub(lambda m: m.group().replace(" ", ""), title)


def heading_number(rule: HeadingRule, num: str) -> tuple[int, int] | None:
    """A heading number as (number, sub-number): "Ⅲ" -> (3, 0), "04" -> (4, 0), "제50조의3" -> (50, 3)."""
    if not num:
        return None
    if num in _ROMAN_VALUES:
        return _ROMAN_VALUES[num], 0
    digits = re.findall(r"\d+", num)
    if not digits:
        return None
    return int(digits[0]), int(digits[1]) if len(digits) > 1 else 0


def _in_sequence(rule: HeadingRule, number: tuple[int, int] | None, state: State) -> bool:
    """Numbered headings run in order; a number out of order is a reference or a wrapped line."""
    if not rule.sequence or number is None:
        return True
    last = state.last.get(rule.kind)
    if rule.inline:  # articles: increasing (amending bills skip numbers); 1 restarts after a part
        return last is None or number > last
    return number[0] == 1 or (last is not None and number[0] == last[0] + 1)


def _symbolic(text: str) -> bool:
    """A formula or symbol line ("X", "> 10.7×P", "(2)"): no word in it, or mostly not letters/digits."""
    if not _WORD.search(squash(text)):
        return True
    plain = sum(1 for ch in text if ch.isalnum() or ch.isspace())
    return plain < 0.6 * len(text)


def classify_heading(text: str, is_md: bool, lines: list[str], i: int, rules: Rules, state: State,
                      open_block: Block | None, prev_raw: str, blank_run: int, width: int | None) -> _Heading | None:
    """The heading this line opens, if it passes its layout rule and the general sanity checks."""
    squashed = squash(text)
    summary_rule = HeadingRule("summary", SUMMARY_TITLE, CHAPTER)
    candidates = rules.headings(is_md)
    if all(f.summary for f in rules.families):
        candidates.insert(0, summary_rule)
    running = not is_md and inside_running_text(open_block, prev_raw, blank_run, width, rules.runs)
    for rule in candidates:
        m = rule.pattern.match(squashed if rule is summary_rule else text)
        if not m:
            continue
        if rule.kind in state.off or (running and (rule.inline or rule.level != PART)):
            continue  # a document part's title ("제안이유", "부칙") is a whole line of its own: no sentence has it
        if rules.legal and state.deepest == JO and rule.level > JO:
            continue  # inside an article, "1." and "가." are 호 and 목, not report headings
        groups = m.groupdict()
        num = (groups.get("num") or "").replace(" ", "")
        title = (groups.get("title") or "").strip()
        if rule.reject_after is not None and rule.reject_after.match(text[m.end() :]):
            continue
        if len(title) > rule.max_title or not _in_sequence(rule, heading_number(rule, num), state):
            continue
        if rule.inline:
            if not text[m.end() :].strip() and next_nonblank(lines, i) is None:
                continue
            return _Heading(rule, num, title, m.end())
        if len(text) > MAX_HEADING_CHARS or next_nonblank(lines, i) is None:
            continue  # a heading is short and is followed by its content
        if title and ((SENTENCE_END.search(title) and not rule.title_terminal_ok) or _symbolic(title)):
            continue
        if not title and rule is not summary_rule and not _bare_number_heading(lines, i):
            continue
        if rule.kind == "article" and rule.pattern.pattern.startswith(r"^(?P<num>\d{1,2})\.") and (
            " - " in text or _indented(lines[i]) or _numbered_neighbour(lines, i)
        ):
            continue  # an item of a numbered list, or a cell of a flattened table
        if rule is summary_rule:
            return _Heading(rule, "", "요약", 0)
        if rule.kind == "label" and (CAPTION_LINE.match(title) or rules.is_bullet(title)):
            return None
        return _Heading(rule, num, title, 0)
    return None


def _bare_number_heading(lines: list[str], i: int) -> bool:
    """A number alone on its line ("01", "Ⅲ") heads a section only when a title line follows it."""
    nxt = next_nonblank(lines, i)
    if nxt is None:
        return False
    title = strip_heading_marks(nxt.strip())[0]  # "… 운영 개요" ends in 요 and is still a title, not a sentence
    return 2 <= len(title) <= MAX_HEADING_CHARS and not SENTENCE_END.search(title) and not _symbolic(title)


def _indented(line: str) -> bool:
    return len(line) - len(line.lstrip(" \u3000")) > 2


def is_label(text: str, lines: list[str], i: int, rules: Rules) -> bool:
    """A short stand-alone line introducing a list ("참고자료", "기술전략")."""
    if len(text) > 12 or rules.is_bullet(text) or TERMINAL.search(text) or SOURCE_LINE.match(text):
        return False
    if _symbolic(text):
        return False
    prev_blank = i == 0 or not lines[i - 1].strip()
    next_blank = i + 1 >= len(lines) or not lines[i + 1].strip()
    nxt = next_nonblank(lines, i)
    return prev_blank and next_blank and nxt is not None and rules.is_bullet(nxt.strip())


def is_label_after_terminal(open_block: Block | None, text: str, lines: list[str], i: int, rules: Rules) -> bool:
    """A label right after a finished sentence is a label, not a wrapped fragment."""
    return (open_block is not None and bool(TERMINAL.search(open_block.text.text))
            and is_label(text, lines, i, rules))


def wrapped_title(text: str, prev: str) -> bool:
    """Is the line before a part title its first half: the title opens mid-phrase, or that line is a bill's name?"""
    name = LEGAL.cover_title
    prev = " ".join(prev.split())
    return bool(_TITLE_CONTINUES.match(text)) or (
        name is not None and (m := name.match(prev)) is not None and m.end() == len(prev))


def _numbered_neighbour(lines: list[str], i: int) -> bool:
    """A numbered line next to another numbered line is a list item, not a heading."""
    numbered = BRIEFING.headings[2].pattern
    for j in (range(i - 1, max(-1, i - 4), -1), range(i + 1, min(len(lines), i + 4))):
        for k in j:
            if lines[k].strip():
                if numbered.match(lines[k].strip()):
                    return True
                break
    return False
