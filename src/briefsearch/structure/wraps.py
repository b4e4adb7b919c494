"""Wrapped lines: is a line the rest of the paragraph before it?

PDF renditions wrap prose at a fixed width (``wrap_width``); text extracted run by run from HWPX/HTML
breaks a line at every inline-format boundary (``format_runs``). Either way a wrapped line continues
its paragraph, rejoined with or without a space (Kiwi decides), also across blank lines, and it never
opens a heading.
"""

from __future__ import annotations

import re

from briefsearch.structure.blocks import Block, Joiner
from briefsearch.structure.footnotes import FOOTNOTE_DEF
from briefsearch.structure.lines import HANGUL, SOURCE_LINE, TERMINAL

_TRAILING_REF = re.compile(r"(?<=\S)\d{1,3}\)$")  # a footnote reference after a sentence end: "예정임.16)"


def wrap_width(lines: list[str]) -> int | None:
    """Typical width of hard-wrapped lines, or None when the text is not hard-wrapped.

    PDF extractions wrap prose at a fixed width, so many lines share nearly the
    same length; Markdown exports keep one paragraph per line.
    """
    lengths = sorted(len(t.rstrip()) for t in lines if len(t.strip()) >= 20 and "\t" not in t)
    if len(lengths) < 20:
        return None
    width = lengths[int(len(lengths) * 0.8)]
    near = sum(1 for n in lengths if 0.8 * width <= n <= 1.1 * width)
    return width if width <= 140 and near / len(lengths) >= 0.3 else None


# a particle or verb ending alone on its line: no drafting or fixed-width wrap puts one there, but text
# extracted run by run from HWPX/HTML breaks the line at every inline-format boundary ("(위원장 …)" / "는")
_RUN_PIECE = re.compile(r"^(?:은|는|이|가|을|를|의|에|에서|로|으로|와|과|도|하|된|한|할|이다\.?|하였다\.?|했다\.?)$")
RUN_PIECES_MIN = 3  # such lines a document must show before its line breaks count as format-run breaks

# or: this share of its lines are short unfinished Korean fragments (0.47-0.55 in the run-broken releases probed,
# at most 0.22 in the seed and generalization documents that are not hard-wrapped either)
RUN_SHORT_SHARE = 0.4
RUN_SHORT_CHARS = 12

# no sentence opens with punctuation or a bare particle: such a run continues the sentence before it
_RUN_TAIL = re.compile(r"^[.,:;)\]」』’”]|^(?:은|는|을|를|가|고|며|라고|라며|이라고|이라며)(?=\s|$)")


def format_runs(lines: list[str]) -> bool:
    """Is the text broken at inline-format boundaries (a line per text run), not wrapped at a width?"""
    texts = [t.strip() for t in lines if t.strip()]
    if sum(1 for t in texts if _RUN_PIECE.match(t)) >= RUN_PIECES_MIN:
        return True
    short = sum(1 for t in texts if len(t) <= RUN_SHORT_CHARS and HANGUL.search(t) and not TERMINAL.search(t))
    return len(texts) >= 20 and short >= RUN_SHORT_SHARE * len(texts)


def inside_running_text(open_block: Block | None, prev_raw: str, blank_run: int, width: int | None,
                         runs: bool = False) -> bool:
    """Does this line continue an unfinished wrapped line or format run (so it cannot open a heading)?"""
    if open_block is None or open_block.kind not in ("text", "footnote") or blank_run > 1:
        return False
    if width is None:
        return runs and blank_run == 0 and not TERMINAL.search(prev_raw)  # "‘A" / "I 비서 서비스" is no chapter
    prev = _TRAILING_REF.sub("", prev_raw.rstrip())
    return len(prev) >= 0.7 * width and not TERMINAL.search(prev) and not prev.endswith((":", "："))


def continues(open_block: Block | None, text: str, raw: str, prev_raw: str, blank_run: int, width: int | None,
               joiner: Joiner | None, runs: bool = False) -> bool:
    """Is this line the hard-wrapped rest of the open paragraph/footnote?

    PDF extraction wraps at a fixed width, with or without a blank line between
    the wrapped lines: a wrapped line is long, and either ends mid-sentence or
    keeps the trailing space of a word break, or ends in what only looks like a
    sentence end ("필요" / "한 나이", "시행된다" / "고 가정한"), which Kiwi tells
    apart: it would write the two pieces as one word. Text broken at format runs (``runs``)
    has no width: a line continues the paragraph until a sentence ends.
    """
    if open_block is None or open_block.kind not in ("text", "footnote") or (width is None and not runs):
        return False
    if blank_run > 2 or FOOTNOTE_DEF.match(text) or SOURCE_LINE.match(text):
        return False
    if width is None:
        return open_block.kind == "text" and blank_run == 0 and (
            not TERMINAL.search(prev_raw) or bool(_RUN_TAIL.match(text)))
    long_line = len(prev_raw.rstrip()) >= 0.7 * width
    terminal = bool(TERMINAL.search(prev_raw))
    if long_line and (prev_raw.endswith((" ", "\u3000")) or not terminal):
        return True
    if long_line and not _indented_paragraph(raw) and _splits_word(prev_raw.rstrip(), text, joiner):
        return True
    # short unterminated fragments (flattened table cells) belong together; footnotes end at their line
    return open_block.kind == "text" and not terminal


def _indented_paragraph(raw: str) -> bool:
    """A line opening with an indent starts a paragraph (wrapped lines restart at the margin)."""
    return raw.startswith(("  ", "\u3000", "\t"))


def _splits_word(left: str, right: str, joiner: Joiner | None) -> bool:
    """Kiwi would write the end of one line and the start of the next as one word."""
    if joiner is None or not left or not right or not (HANGUL.match(left[-1]) and HANGUL.match(right[0])):
        return False
    return not joiner(left.rsplit(" ", 1)[-1], right.split(" ", 1)[0])
