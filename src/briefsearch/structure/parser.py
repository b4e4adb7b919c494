"""Turn an extracted document into structured blocks with section paths.

Works line by line over the NFC text (with its map back to the file). The
conventions of each layout family (briefings and 개조식 reports, Korean legal
drafting, Markdown) are data in ``briefsearch.structure.layouts``; this module applies the
tables of the families a document shows, plus what every family shares:

* cover furniture: the CONTENTS list, a disclaimer standing in the cover,
  bylines, bare dates and link-only lines (dropped from what is indexed); a
  bill's cover block (의안번호, 발의연월일, 발의자) kept as document metadata;
* page markers ("- 4 -"): stripped, their number kept for citations;
* headings, checked for sanity: short, not a sentence, not a formula or
  symbol line, numbered in sequence, never inside running text (a line
  continuing an unfinished wrapped line is not a heading);
* bullets that start new units, and PDF hard wraps inside a unit, rejoined
  with or without a space (Kiwi decides), also across blank lines;
* numbered footnotes interleaved with the body, moved out of the text and
  attached to the blocks that cite them;
* tab/pipe tables, one block per row with the table's header row kept;
  captions that label the table or figure after them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from briefsearch.structure.layouts import (
    BRIEFING,
    CAPTION,
    CHAPTER,
    JO,
    LEGAL,
    MARKDOWN,
    PART,
    PRESS,
    SECTION,
    SUB,
    HeadingRule,
    Layout,
    active_families,
)
from briefsearch.text.clean import clean_inline, is_url_only
from briefsearch.text.mapped import MappedText, nfc_mapped
from briefsearch.types import SourceText

# ---------------------------------------------------------------- patterns shared by every family
PAGE_MARKER = re.compile(r"^\s*[-–—]\s*(\d{1,4})\s*[-–—]\s*$")
_CONTENTS = re.compile(r"^(contents|목\s*차|차\s*례)$", re.IGNORECASE)
_SUMMARY = re.compile(r"^(요\s*약|주요\s*내용|핵심\s*요약|summary|executive summary)$", re.IGNORECASE)
_DISCLAIMER = re.compile(r"^본\s*(보고서|자료|리포트)는")
_MD_HEADING = re.compile(r"^(#{1,6})\s*(.*)$")
_ROMAN = BRIEFING.headings[0].pattern
_ROMAN_VALUES = {**{ch: i + 1 for i, ch in enumerate("ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ")},
                 **{r: i + 1 for i, r in enumerate(("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"))}}
_CAPTION = re.compile(
    r"^(〈[^〉]+〉|<[^<>]+>|〔\s*(표|그림)[^〕]*〕.*|\[\s*(표|그림)\s*[\d-]+\s*\].*|(표|그림)\s*\d+(-\d+)?\.?\s.*)$"
)
_MAJOR_BULLET = re.compile(r"^[■□▶❍]")
_HEADLINE = re.compile(r"^[■□]\s*")
_SOURCE_LINE = re.compile(r"^[*※]?\s*(자료|출처|주)\s*[:：]")
_FOOTNOTE_DEF = re.compile(r"^(?:주\s*[:：]\s*)?(\d{1,3})\)\s+\S")  # "1) ..." or a table note "주: 1) ..."
_FOOTNOTE_REF = re.compile(r"(?<=[^\s\d(])(\d{1,3})\)")
# a title never opens with these (a dependent noun, a conjunction, an adnominal that needs "…에"): a wrapped line
_TITLE_CONTINUES = re.compile(r"^(?:등|및|관한|대한|위한|따른|의한)(?=\s)")
_PARTICLE = re.compile(r"^(?:은|는|가|을|를|에|에서|에게|와|과|로|으로|도|만|까지|부터|이다|이며)(?=\s|[.,]|$)")
_TERMINAL = re.compile(r"(다|요|음|함|임|됨|짐|며|\.|\?|!|。|”|\")\s*$")
# a heading that ends like a sentence; not "요" ("개요", "주요", "필요" end many titles)
_SENTENCE_END = re.compile(r"(다|음|함|임|됨|\.|\?|!|。)\s*$")
_HANGUL = re.compile(r"[가-힣]")
_SPACED_RUN = re.compile(r"(?<!\S)[가-힣](?: [가-힣])+(?!\S)")
_TRAILING_REF = re.compile(r"(?<=\S)\d{1,3}\)$")  # a footnote reference after a sentence end: "예정임.16)"
_WORD = re.compile(r"[가-힣]{2}|[A-Za-z]{3}|[가-힣][A-Za-z]|[A-Za-z][가-힣]")
# a symbol font mapped to ASCII ("❍" printed as "m"): a lone letter opening a line, then Korean text
_LETTER_BULLET = re.compile(r"^([a-zA-ZüØ])\s+(?=[가-힣0-9(\[「‘“\'\"])")
LETTER_BULLET_MIN = 3  # lines a document must open with that letter before it counts as a bullet
COVER_LABEL = "문서 정보"  # section of a cover block kept as document metadata

MAX_HEADING_CHARS = 80
MAX_HEADLINE_CHARS = 160
MIN_PASSAGE_CHARS = 40  # text under this is a fragment, not a passage of its own (a whole short article aside)

Joiner = Callable[[str, str], bool]  # (left word, right word) -> insert a space?


@dataclass(slots=True)
class Block:
    """One unit of the document: a heading, a paragraph/bullet, a table row, a caption or a footnote."""

    kind: str  # "heading" | "text" | "table_row" | "caption" | "footnote"
    text: MappedText
    line_no: int
    heading_type: str = ""  # a layout rule's kind: "summary", "chapter", "article", "sub", "label", "jo", ...
    heading_num: str = ""
    level: int | None = None  # section-path level (index.layouts); on a text block: an inline heading
    label: str = ""  # what the section path shows for an inline heading ("제70조", "제35조(손해배상책임)")
    marker: str = ""  # the bullet that opened the block, when it was a symbol-font letter (dropped from text)
    footnote_refs: list[int] = field(default_factory=list)
    footnote_no: int | None = None
    table_header: str | None = None
    n_lines: int = 1
    # filled by the section pass
    section: tuple[str, ...] = ()
    group: int = 0
    summary: bool = False
    metadata: bool = False  # a cover block (의안번호, 발의자, ...): searchable, kept apart from the body
    page: int | None = None


@dataclass(slots=True)
class ParsedDocument:
    """Blocks in reading order plus the footnotes (also blocks, in order)."""

    blocks: list[Block]
    footnotes: list[Block]
    layouts: tuple[str, ...] = ()  # the layout families whose conventions were applied
    title: str = ""  # the name the document gives itself where its layout states one (a bill's cover), else ""

    def footnote_for(self, number: int, line_no: int) -> Block | None:
        """The definition a reference resolves to: the next one with that number after it."""
        after = [f for f in self.footnotes if f.footnote_no == number and f.line_no >= line_no]
        if after:
            return after[0]
        before = [f for f in self.footnotes if f.footnote_no == number]
        return before[-1] if before else None

    def normalized_text(self) -> str:
        """The cleaned document as a reader sees it, structure marked by blank lines."""
        out: list[str] = []
        for block in self.blocks:
            if block.kind == "heading":
                out.append(("\n" if out else "") + block.text.text)
            elif block.kind == "footnote":
                out.append(f"[각주 {block.footnote_no}] {block.text.text}")
            else:
                out.append(block.text.text)
        return "\n".join(out).strip() + "\n"


def _strip_heading_marks(text: str) -> tuple[str, bool]:
    m = _MD_HEADING.match(text)
    if m:
        return m.group(2).strip(), True
    return text.strip(), False


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _unmatched_refs(line: str) -> list[re.Match[str]]:
    """Footnote-like ``N)`` whose ``)`` closes no ``(`` (so not "(3.15)")."""
    refs = []
    for m in _FOOTNOTE_REF.finditer(line):
        before = line[: m.start()]
        if before.count("(") + before.count("（") <= before.count(")") + before.count("）"):
            refs.append(m)
    return refs


def _pages(lines: list[str]) -> list[int | None]:
    """Page per line: from form feeds (PDF renditions) when present, else where two consecutive
    footer markers prove it."""
    if any("\f" in t for t in lines):
        pages_ff: list[int | None] = []
        page = 1
        for t in lines:
            pages_ff.append(page)
            page += t.count("\f")
        return pages_ff
    markers = [(i, int(m.group(1))) for i, t in enumerate(lines) if (m := PAGE_MARKER.match(t))]
    pages: list[int | None] = [None] * len(lines)
    prev_idx, prev_no = -1, None
    for idx, number in markers:
        if (prev_no is None and number == 1) or (prev_no is not None and number == prev_no + 1):
            for j in range(prev_idx + 1, idx):
                pages[j] = number
        prev_idx, prev_no = idx, number
    return pages


def _wrap_width(lines: list[str]) -> int | None:
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


def _format_runs(lines: list[str]) -> bool:
    """Is the text broken at inline-format boundaries (a line per text run), not wrapped at a width?"""
    texts = [t.strip() for t in lines if t.strip()]
    if sum(1 for t in texts if _RUN_PIECE.match(t)) >= RUN_PIECES_MIN:
        return True
    short = sum(1 for t in texts if len(t) <= RUN_SHORT_CHARS and _HANGUL.search(t) and not _TERMINAL.search(t))
    return len(texts) >= 20 and short >= RUN_SHORT_SHARE * len(texts)


def _valid_footnotes(lines: list[str]) -> set[int]:
    """Footnote numbers that are cited in the body before their definition line."""
    first_ref: dict[int, int] = {}
    valid: set[int] = set()
    for i, text in enumerate(lines):
        stripped = text.strip()
        m = _FOOTNOTE_DEF.match(stripped)
        if m and not stripped.startswith("#"):
            number = int(m.group(1))
            if number in first_ref and first_ref[number] < i:
                valid.add(number)
            rest = stripped[m.end(1) + 1 :]
        else:
            rest = stripped
        for ref in _unmatched_refs(rest):
            first_ref.setdefault(int(ref.group(1)), i)
    return valid


class _Builder:
    """Accumulates lines into blocks; one instance per document."""

    def __init__(self, source: SourceText, joiner: Joiner | None) -> None:
        self.source = source
        self.joiner = joiner
        self.blocks: list[Block] = []
        self.footnotes: list[Block] = []
        self.open: Block | None = None
        self.last_line_raw = ""
        self.table_header: str | None = None

    # -- helpers
    def close(self) -> None:
        self.open = None

    def emit(self, block: Block, keep_open: bool = False) -> None:
        if block.kind == "footnote":
            self.footnotes.append(block)
        self.blocks.append(block)
        self.open = block if keep_open else None

    def add_metadata(self, line: MappedText, line_no: int, page: int | None, prev_raw: str, new: bool,
                     wrapped: bool) -> Block | None:
        """A line of a header or contact table: cells joined by a space, a wrapped title as running text."""
        if not line.text:
            return self.open
        open_block = self.open
        if new or open_block is None or not open_block.metadata:
            self.emit(Block("text", line, line_no, metadata=True, page=page), keep_open=True)
        elif wrapped:
            self.join(open_block, line, prev_raw)
        else:
            anchor = line.starts[0]
            open_block.text = open_block.text + MappedText.literal(" ", anchor, anchor) + line
            open_block.n_lines += 1
        return self.open

    def take_back(self, line: MappedText) -> MappedText | None:
        """Remove one source line from the end of the last text block, as cleaned (None: it is not there)."""
        if not self.blocks or self.blocks[-1].kind != "text" or not line.starts:
            return None
        block = self.blocks[-1]
        first, last = line.starts[0], line.ends[-1]
        cut = next((k for k, start in enumerate(block.text.starts) if first <= start < last), None)
        if cut is None or any(start >= last for start in block.text.starts[cut:]):
            return None
        taken, rest = block.text[cut:].strip(), block.text[:cut].strip()
        if not taken.text or _TERMINAL.search(taken.text) or len(taken.text) > MAX_HEADING_CHARS:
            return None
        if rest.text:
            block.text = rest
            block.n_lines = max(1, block.n_lines - 1)
        else:
            self.blocks.pop()
        self.open = None
        return taken

    def strip_refs(self, line: MappedText, valid: set[int]) -> tuple[MappedText, list[int]]:
        found: list[int] = []
        if not valid or ")" not in line.text:
            return line, found
        keep_spans = {m.span() for m in _unmatched_refs(line.text) if int(m.group(1)) in valid}
        if not keep_spans:
            return line, found

        def repl(m: re.Match[str]) -> list:
            if m.span() in keep_spans:
                found.append(int(m.group(1)))
                return []
            return [0]

        return line.sub(_FOOTNOTE_REF, repl), found

    def join(self, block: Block, line: MappedText, prev_raw: str) -> None:
        left, right = block.text.text, line.text
        block.n_lines += 1
        if not left or not right:
            block.text = block.text + line
            return
        a, b = left[-1], right[0]
        if prev_raw.endswith((" ", "\u3000", "\t")):
            space = True
        elif _HANGUL.match(a) and _HANGUL.match(b):
            space = bool(self.joiner and self.joiner(left.rsplit(" ", 1)[-1], right.split(" ", 1)[0]))
        elif a.isalnum() and b.isalnum():
            space = True
        elif a in ")」』’”]" and _PARTICLE.match(right):
            space = False  # 한글 맞춤법 제41항: a particle is written onto the word before it, "(…)는", "‘…’를"
        else:
            space = a in ",.;:)」』’”]" or b in "(「『‘“["
        if space:
            anchor = line.starts[0]
            block.text = block.text + MappedText.literal(" ", anchor, anchor) + line
        else:
            block.text = block.text + line


def _table_cells(line: MappedText) -> MappedText:
    """A tab or pipe separated row as 'cell | cell', empty cells dropped."""
    sep = "\t" if "\t" in line.text else "|"
    cells: list[MappedText] = []
    pos = 0
    for i, ch in enumerate(line.text + sep):
        if ch == sep:
            cell = clean_inline(line[pos:i]).collapse_spaces()
            if cell.text and not (sep == "|" and re.fullmatch(r":?-{3,}:?", cell.text)):
                cells.append(cell)
            pos = i + 1
    parts: list[MappedText] = []
    for cell in cells:
        if parts:
            anchor = cell.starts[0]
            parts.append(MappedText.literal(" | ", anchor, anchor))
        parts.append(cell)
    return MappedText.concat(parts)


@dataclass(slots=True)
class _Rules:
    """The conventions in force for one document: the tables of the families it shows."""

    families: tuple[Layout, ...]
    letters: frozenset[str]  # symbol-font letters this document uses as bullets
    runs: bool = False  # the text is broken at inline-format runs (``_format_runs``), not wrapped at a width

    @property
    def legal(self) -> bool:
        return LEGAL in self.families

    def headings(self, is_md: bool) -> list[HeadingRule]:
        rules = [r for f in self.families if f is not MARKDOWN for r in f.headings]
        if is_md:
            rules += list(MARKDOWN.headings)
        return rules

    def is_bullet(self, text: str) -> bool:
        if any(f.bullets is not None and f.bullets.match(text) for f in self.families):
            return True
        m = _LETTER_BULLET.match(text)
        return bool(m and m.group(1) in self.letters)

    def is_furniture(self, text: str) -> bool:
        return any(p.match(text) for f in self.families for p in f.furniture)


@dataclass(slots=True)
class _State:
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


def _letter_bullets(lines: list[str]) -> frozenset[str]:
    """Letters that open at least LETTER_BULLET_MIN lines followed by Korean text: a symbol font's bullet."""
    counts = Counter(m.group(1) for t in lines if (m := _LETTER_BULLET.match(t.strip())))
    return frozenset(ch for ch, n in counts.items() if n >= LETTER_BULLET_MIN)


def parse_document(source: SourceText, joiner: Joiner | None = None) -> ParsedDocument:
    """Blocks with section paths for one document (see the module docstring)."""
    nfc = nfc_mapped(source.raw)
    line_texts = nfc.text.split("\n")
    mapped_lines: list[MappedText] = []
    pos = 0
    for text in line_texts:
        mapped_lines.append(nfc[pos : pos + len(text.rstrip("\r"))])
        pos += len(text) + 1

    width = _wrap_width(line_texts)
    runs = width is None and _format_runs(line_texts)
    rules = _Rules(active_families(line_texts), _letter_bullets(line_texts), runs)
    state = _State()
    pages = _pages(line_texts)
    valid_notes = _valid_footnotes(line_texts)
    cover_end = _cover_end(line_texts)
    release = _release_parts(line_texts) if PRESS in rules.families else _ReleaseParts()
    title_block: Block | None = None

    b = _Builder(source, joiner)
    blank_run = 0
    prev_raw = ""
    for i, line in enumerate(mapped_lines):
        raw = line.text
        stripped = raw.strip()
        if i < cover_end:
            continue
        if raw.strip(" \t\r") == "\f":
            continue  # a PDF page break (form feed line) does not end a wrapped paragraph either
        if not stripped:
            blank_run += 1
            if b.open is not None and b.open.kind == "table_row":
                b.close()
            continue
        if PAGE_MARKER.match(raw):
            blank_run = 0  # a page break does not end a wrapped paragraph, nor do the blank lines around it
            continue
        line_no = source.line_of(line.starts[0])
        page = pages[i]
        if i in release.metadata or i in release.dashes:
            if i in release.metadata:
                block = b.add_metadata(clean_inline(line).collapse_spaces(), line_no, page, prev_raw,
                                       new=i in release.starts, wrapped=i in release.title)
                title_block = block if i == release.title_line else title_block
            else:
                b.close()  # the "-" closing a subtitle "- … -"
            prev_raw, blank_run = raw, 0
            continue
        if b.open is not None and b.open.metadata:
            b.close()  # the body starts after a header or contact table
        text_no_hash, is_md = _strip_heading_marks(stripped)
        squashed = _squash(text_no_hash)

        # furniture: a disclaimer only where it stands in the cover, before any heading
        disclaimer = not state.seen_heading and bool(_DISCLAIMER.match(text_no_hash))
        if disclaimer or rules.is_furniture(text_no_hash) or is_url_only(text_no_hash) or _CONTENTS.match(squashed):
            b.close()
            prev_raw, blank_run = raw, 0
            continue

        # tables
        if "\t" in raw or (stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 3):
            cells = _table_cells(line)
            if cells.text:
                new_table = b.open is None or b.open.kind != "table_row"
                if new_table:
                    b.table_header = cells.text
                cells, refs = b.strip_refs(cells, valid_notes)
                block = Block("table_row", cells, line_no, footnote_refs=refs, page=page,
                              table_header=None if new_table else b.table_header)
                b.emit(block, keep_open=True)
            prev_raw, blank_run = raw, 0
            continue

        # strip Markdown heading marks but keep the mapping
        body = line
        if is_md:
            hashes = len(raw) - len(raw.lstrip().lstrip("#"))
            body = line[hashes:]
        cleaned = clean_inline(body).collapse_spaces()
        if not cleaned.text:
            prev_raw, blank_run = raw, 0
            continue
        ctext = cleaned.text
        bullet = rules.is_bullet(ctext)
        marker = ""
        if (m := _LETTER_BULLET.match(ctext)) and m.group(1) in rules.letters:
            marker, cleaned = m.group(1), cleaned[m.end() :].strip()  # the letter is a glyph, not text
            ctext = cleaned.text

        heading = _classify_heading(ctext, is_md, line_texts, i, rules, state, b.open, prev_raw, blank_run, width)
        if heading is not None and heading.rule.kind == "attachment" and i < release.parts_from:
            heading = None  # a "[참고]" box inside the body; the release's 붙임/참고 parts follow its contacts
        footnote_m = _FOOTNOTE_DEF.match(ctext)
        if footnote_m and int(footnote_m.group(1)) in valid_notes and not is_md:
            number = int(footnote_m.group(1))
            b.emit(Block("footnote", cleaned, line_no, footnote_no=number, page=page), keep_open=True)
        elif heading is not None and heading.rule.inline:
            state.accept(heading.rule, _number(heading.rule, heading.num))
            label = heading.title if heading.rule.title_label else cleaned[: heading.label_end].text.strip()
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            b.emit(Block("text", cleaned, line_no, heading_type=heading.rule.kind, heading_num=heading.num,
                         level=heading.rule.level, label=label, footnote_refs=refs, page=page), keep_open=True)
        elif heading is not None:
            state.accept(heading.rule, _number(heading.rule, heading.num))
            label = heading.title if heading.rule.title_label else ""
            if heading.rule.wraps_after_name and _wrapped_title(ctext, line_texts[_previous_line(line_texts, i)]):
                # "…법률 일부개정법률안" / "등 비용추계서 미첨부사유서": the part's title wrapped; its first line was
                # read as text (or joined onto the paragraph before it)
                head = b.take_back(mapped_lines[_previous_line(line_texts, i)])
                if head is not None:
                    cleaned = head + MappedText.literal(" ", cleaned.starts[0], cleaned.starts[0]) + cleaned
                    ctext = cleaned.text
            if heading.rule.level == PART:
                label = _unspace(label or ctext)  # "부      칙", "제 안 이 유": a spaced-out title
            b.emit(Block("heading", cleaned, line_no, heading_type=heading.rule.kind, heading_num=heading.num,
                         level=heading.rule.level, label=label, page=page))
        elif _CAPTION.match(ctext) and len(ctext) <= MAX_HEADING_CHARS and not bullet:
            b.emit(Block("caption", cleaned, line_no, page=page))
        elif not bullet and _continues(b.open, ctext, raw, prev_raw, blank_run, width, joiner, rules.runs) and not (
            "label" not in state.off and _is_label_after_terminal(b.open, ctext, line_texts, i, rules)
        ):
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            assert b.open is not None
            b.join(b.open, cleaned, prev_raw)
            b.open.footnote_refs.extend(refs)
        elif not is_md and not bullet and "label" not in state.off and _is_label(ctext, line_texts, i, rules):
            b.emit(Block("heading", cleaned, line_no, heading_type="label", level=SUB, page=page))
        else:
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            b.emit(Block("text", cleaned, line_no, footnote_refs=refs, page=page, marker=marker), keep_open=True)
        if i in release.closes:
            b.close()  # a subtitle is a line (or a "- … -" span) of its own
        prev_raw, blank_run = raw, 0

    blocks = [blk for blk in b.blocks if blk.text.text.strip()]
    if cover_end:
        blocks = _drop_cover_tail(blocks)
    title = ""
    if rules.legal:
        _mark_cover_metadata(blocks)
        title = _cover_title(blocks)
    elif title_block is not None:
        title = " ".join(title_block.text.text.split())  # the release's 제목, as its header states it
    _assign_sections(blocks)
    _attach_lone_captions(blocks)
    return ParsedDocument(blocks=blocks, footnotes=b.footnotes, layouts=tuple(f.name for f in rules.families),
                          title=title)


def _mark_cover_metadata(blocks: list[Block]) -> None:
    """A bill's cover (title, 의안번호, 발의연월일, 발의자) before its first part: document metadata."""
    first_part = next((k for k, blk in enumerate(blocks) if blk.kind == "heading" and blk.level == PART), None)
    if not first_part:
        return
    cover = blocks[:first_part]
    if any(blk.kind == "heading" for blk in cover):
        return
    if LEGAL.cover_fields is not None and LEGAL.cover_fields.search("".join(_squash(blk.text.text) for blk in cover)):
        for blk in cover:
            blk.metadata = True


def _cover_title(blocks: list[Block]) -> str:
    """The bill's name as its cover states it ("남녀고용평등과 … 법률 일부개정법률안", wrapped over lines)."""
    cover = " ".join(blk.text.text for blk in blocks if blk.metadata)
    m = LEGAL.cover_title.match(cover) if LEGAL.cover_title is not None and cover else None
    return " ".join(m.group("title").split()) if m else ""


def _drop_cover_tail(blocks: list[Block]) -> list[Block]:
    """Short unfinished lines between the cover and the first heading are cover furniture (names, logos)."""
    out: list[Block] = []
    seen_heading = False
    for block in blocks:
        seen_heading = seen_heading or block.kind == "heading"
        short = len(block.text.text) < 100 and not _TERMINAL.search(block.text.text)
        if not seen_heading and block.kind == "text" and short:
            continue
        out.append(block)
    return out


def _cover_end(lines: list[str]) -> int:
    """Index of the first line after the cover (title block, CONTENTS list, disclaimer)."""
    limit = max(10, len(lines) // 5)
    for i, text in enumerate(lines[:limit]):
        if _CONTENTS.match(_squash(_strip_heading_marks(text.strip())[0])):
            for j in range(i + 1, len(lines)):
                head = _strip_heading_marks(lines[j].strip())[0]
                if _DISCLAIMER.match(head) or _SUMMARY.match(_squash(head)):
                    return j
            return i + 1
    return 0


@dataclass(frozen=True, slots=True)
class _ReleaseParts:
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


def _release_parts(lines: list[str]) -> _ReleaseParts:
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
        nxt = _next_nonblank(lines, i)
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
        return _ReleaseParts()
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
    return _ReleaseParts(frozenset(meta), frozenset(starts), frozenset(title), frozenset(dashes), frozenset(closes),
                         parts_from=contacts[0] if contacts else 0)


def stated_title(text: str) -> str:
    """The title a press release's header states (its 제목 lines, spaces collapsed), or "" for other layouts.

    Used for the catalogue title of an added document: such a file opens with the publisher and
    "보도자료", not with its title.
    """
    lines = nfc_mapped(text).text.split("\n")
    if PRESS not in active_families(lines):
        return ""
    parts = _release_parts(lines)
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
            nxt = _next_nonblank(lines, i)
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


def _unspace(title: str) -> str:
    """Join the syllables of a spaced-out title ("부 칙" -> "부칙", "비 용 추 계 서" -> "비용추계서")."""
    return _SPACED_RUN.sub(lambda m: m.group().replace(" ", ""), title)


def _number(rule: HeadingRule, num: str) -> tuple[int, int] | None:
    """A heading number as (number, sub-number): "Ⅲ" -> (3, 0), "04" -> (4, 0), "제50조의3" -> (50, 3)."""
    if not num:
        return None
    if num in _ROMAN_VALUES:
        return _ROMAN_VALUES[num], 0
    digits = re.findall(r"\d+", num)
    if not digits:
        return None
    return int(digits[0]), int(digits[1]) if len(digits) > 1 else 0


def _in_sequence(rule: HeadingRule, number: tuple[int, int] | None, state: _State) -> bool:
    """Numbered headings run in order; a number out of order is a reference or a wrapped line."""
    if not rule.sequence or number is None:
        return True
    last = state.last.get(rule.kind)
    if rule.inline:  # articles: increasing (amending bills skip numbers); 1 restarts after a part
        return last is None or number > last
    return number[0] == 1 or (last is not None and number[0] == last[0] + 1)


def _symbolic(text: str) -> bool:
    """A formula or symbol line ("X", "> 10.7×P", "(2)"): no word in it, or mostly not letters/digits."""
    if not _WORD.search(_squash(text)):
        return True
    plain = sum(1 for ch in text if ch.isalnum() or ch.isspace())
    return plain < 0.6 * len(text)


def _inside_running_text(open_block: Block | None, prev_raw: str, blank_run: int, width: int | None,
                         runs: bool = False) -> bool:
    """Does this line continue an unfinished wrapped line or format run (so it cannot open a heading)?"""
    if open_block is None or open_block.kind not in ("text", "footnote") or blank_run > 1:
        return False
    if width is None:
        return runs and blank_run == 0 and not _TERMINAL.search(prev_raw)  # "‘A" / "I 비서 서비스" is no chapter
    prev = _TRAILING_REF.sub("", prev_raw.rstrip())
    return len(prev) >= 0.7 * width and not _TERMINAL.search(prev) and not prev.endswith((":", "："))


def _classify_heading(text: str, is_md: bool, lines: list[str], i: int, rules: _Rules, state: _State,
                      open_block: Block | None, prev_raw: str, blank_run: int, width: int | None) -> _Heading | None:
    """The heading this line opens, if it passes its layout rule and the general sanity checks."""
    squashed = _squash(text)
    summary_rule = HeadingRule("summary", _SUMMARY, CHAPTER)
    candidates = rules.headings(is_md)
    if all(f.summary for f in rules.families):
        candidates.insert(0, summary_rule)
    running = not is_md and _inside_running_text(open_block, prev_raw, blank_run, width, rules.runs)
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
        if len(title) > rule.max_title or not _in_sequence(rule, _number(rule, num), state):
            continue
        if rule.inline:
            if not text[m.end() :].strip() and _next_nonblank(lines, i) is None:
                continue
            return _Heading(rule, num, title, m.end())
        if len(text) > MAX_HEADING_CHARS or _next_nonblank(lines, i) is None:
            continue  # a heading is short and is followed by its content
        if title and ((_SENTENCE_END.search(title) and not rule.title_terminal_ok) or _symbolic(title)):
            continue
        if not title and rule is not summary_rule and not _bare_number_heading(lines, i):
            continue
        if rule.kind == "article" and rule.pattern.pattern.startswith(r"^(?P<num>\d{1,2})\.") and (
            " - " in text or _indented(lines[i]) or _numbered_neighbour(lines, i)
        ):
            continue  # an item of a numbered list, or a cell of a flattened table
        if rule is summary_rule:
            return _Heading(rule, "", "요약", 0)
        if rule.kind == "label" and (_CAPTION.match(title) or rules.is_bullet(title)):
            return None
        return _Heading(rule, num, title, 0)
    return None


def _bare_number_heading(lines: list[str], i: int) -> bool:
    """A number alone on its line ("01", "Ⅲ") heads a section only when a title line follows it."""
    nxt = _next_nonblank(lines, i)
    if nxt is None:
        return False
    title = _strip_heading_marks(nxt.strip())[0]  # "… 운영 개요" ends in 요 and is still a title, not a sentence
    return 2 <= len(title) <= MAX_HEADING_CHARS and not _SENTENCE_END.search(title) and not _symbolic(title)


def _indented(line: str) -> bool:
    return len(line) - len(line.lstrip(" \u3000")) > 2


def _is_label(text: str, lines: list[str], i: int, rules: _Rules) -> bool:
    """A short stand-alone line introducing a list ("참고자료", "기술전략")."""
    if len(text) > 12 or rules.is_bullet(text) or _TERMINAL.search(text) or _SOURCE_LINE.match(text):
        return False
    if _symbolic(text):
        return False
    prev_blank = i == 0 or not lines[i - 1].strip()
    next_blank = i + 1 >= len(lines) or not lines[i + 1].strip()
    nxt = _next_nonblank(lines, i)
    return prev_blank and next_blank and nxt is not None and rules.is_bullet(nxt.strip())


def _is_label_after_terminal(open_block: Block | None, text: str, lines: list[str], i: int, rules: _Rules) -> bool:
    """A label right after a finished sentence is a label, not a wrapped fragment."""
    return (open_block is not None and bool(_TERMINAL.search(open_block.text.text))
            and _is_label(text, lines, i, rules))


def _wrapped_title(text: str, prev: str) -> bool:
    """Is the line before a part title its first half: the title opens mid-phrase, or that line is a bill's name?"""
    name = LEGAL.cover_title
    prev = " ".join(prev.split())
    return bool(_TITLE_CONTINUES.match(text)) or (
        name is not None and (m := name.match(prev)) is not None and m.end() == len(prev))


def _previous_line(lines: list[str], i: int) -> int:
    """Index of the last non-blank line before ``i`` that is not a page marker (``i`` itself if none)."""
    for j in range(i - 1, -1, -1):
        if lines[j].strip() and lines[j].strip() != "\f" and not PAGE_MARKER.match(lines[j]):
            return j
    return i


def _next_nonblank(lines: list[str], i: int) -> str | None:
    for j in range(i + 1, min(len(lines), i + 6)):
        if lines[j].strip() and not PAGE_MARKER.match(lines[j]):
            return lines[j]
    return None


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


def _continues(open_block: Block | None, text: str, raw: str, prev_raw: str, blank_run: int, width: int | None,
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
    if blank_run > 2 or _FOOTNOTE_DEF.match(text) or _SOURCE_LINE.match(text):
        return False
    if width is None:
        return open_block.kind == "text" and blank_run == 0 and (
            not _TERMINAL.search(prev_raw) or bool(_RUN_TAIL.match(text)))
    long_line = len(prev_raw.rstrip()) >= 0.7 * width
    terminal = bool(_TERMINAL.search(prev_raw))
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
    if joiner is None or not left or not right or not (_HANGUL.match(left[-1]) and _HANGUL.match(right[0])):
        return False
    return not joiner(left.rsplit(" ", 1)[-1], right.split(" ", 1)[0])


def _one_line(block: Block) -> bool:
    """A headline is one source line; a wrapped ■ paragraph is body text."""
    return block.n_lines == 1


class _Path:
    """The section path as a stack of (level, label); a heading replaces everything at its level or deeper."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, str]] = []

    def push(self, level: int, label: str) -> None:
        self.drop(level)
        self.entries.append((level, label))

    def drop(self, level: int) -> None:
        self.entries = [e for e in self.entries if e[0] < level]

    def extend_last(self, level: int, text: str) -> None:
        """A bare number's title line completes its entry ("01" + "title")."""
        self.entries = [(lv, f"{label} {text}" if lv == level else label) for lv, label in self.entries]

    def has(self, level: int) -> bool:
        return any(lv == level for lv, _ in self.entries)

    def labels(self) -> tuple[str, ...]:
        return tuple(label for _, label in self.entries)


def _assign_sections(blocks: list[Block]) -> None:
    """Section path, chunk group and summary flag for every block."""
    path = _Path()
    summary = False
    pending: int | None = None  # level of a bare-number heading waiting for its title line
    group = 0
    for block in blocks:
        text = block.text.text
        if block.metadata:
            block.section, block.group = (COVER_LABEL,), group
            continue
        if block.kind == "heading":
            group += 1
            kind = block.heading_type
            level = block.level if block.level is not None else SUB
            if kind == "summary":
                path.drop(0)
                path.push(CHAPTER, "요약")
                summary, pending = True, None
            elif pending is not None and level > SECTION:
                path.extend_last(pending, text)
                pending = None
            else:
                if level <= CHAPTER + 1 and summary:  # the body after the summary
                    path.drop(CHAPTER)
                    summary = False
                path.push(level, block.label or text)
                pending = level if block.heading_num and _bare(block) else None
        elif block.kind == "caption":
            group += 1
            path.push(CAPTION, text)
        elif block.kind == "text" and block.level is not None:  # an inline heading: "제70조 대통령의 임기는 …"
            group += 1
            path.push(block.level, block.label)
            pending = None
        elif block.kind == "text" and _HEADLINE.match(text) and len(text) <= MAX_HEADLINE_CHARS and _one_line(block):
            group += 1
            path.push(SUB, text)
            pending = None
        elif block.kind == "text" and path.has(CAPTION) and (_MAJOR_BULLET.match(text) or block.marker):
            # prose resumes after a table/figure: the caption no longer describes what follows
            group += 1
            path.drop(CAPTION)
        elif block.kind == "text" and pending is not None and len(text) <= MAX_HEADING_CHARS:
            # "01" on its own line, then the title as plain text
            path.extend_last(pending, text)
            pending = None
            block.kind = "heading"
            block.heading_type = "title"
            group += 1
        block.section = path.labels()
        block.summary = summary
        block.group = group
        if block.kind == "text" and _SOURCE_LINE.match(text) and path.has(CAPTION):
            path.drop(CAPTION)
            group += 1


def _attach_lone_captions(blocks: list[Block]) -> None:
    """A caption whose table or figure left no text (an image) is not a passage of its own.

    It stays beside the text it was printed with: the passage before it (the
    one after it when it opens its section), with its source line.
    """
    groups: dict[int, list[Block]] = {}
    for block in blocks:
        if block.kind not in ("heading", "footnote"):
            groups.setdefault(block.group, []).append(block)
    order = sorted(groups)
    for k, gid in enumerate(order):
        members = groups[gid]
        if members[0].kind != "caption" or any(m.kind == "table_row" for m in members):
            continue
        body = sum(len(m.text.text) for m in members[1:] if not _SOURCE_LINE.match(m.text.text))
        if body >= MIN_PASSAGE_CHARS:
            continue
        host = next((groups[g] for g in reversed(order[:k]) if groups[g][0].section[: 1] == members[0].section[:1]),
                    None) or (groups[order[k + 1]] if k + 1 < len(order) else None)
        if host is None:
            continue
        for m in members:
            m.kind = "text" if m.kind == "caption" else m.kind
            m.group, m.section, m.summary = host[0].group, host[0].section, host[0].summary


def _bare(block: Block) -> bool:
    """A heading that is only its number ("01", "Ⅲ", "## I"): its title is on the next line."""
    return _squash(block.text.text) == block.heading_num.replace(" ", "")
