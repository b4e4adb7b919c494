"""Turn an extracted briefing into structured blocks.

Works line by line over the NFC text (with its map back to the file) and
recognises, by general patterns only:

* cover furniture: the CONTENTS list, the repeated disclaimer, bylines, bare
  dates and link-only lines (dropped from what is indexed);
* page markers ("- 4 -"): stripped, their number kept for citations;
* structure: 요약 summaries, roman-numeral chapters, numbered articles
  ("01"), numbered sections ("1."), sub-sections ("1)"), ■/□ headlines,
  Markdown headings, table/figure captions;
* bullets (-, ㅇ, ❍, m, ∙, ▶, ...) that start new units, and PDF hard wraps
  inside a unit, which are rejoined (with or without a space);
* numbered footnotes interleaved with the body, moved out of the text and
  attached to the blocks that cite them;
* tab/pipe tables, one block per row with the table's header row kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from index.clean import clean_inline, is_url_only
from index.ingest import SourceText
from index.mapped import MappedText, nfc_mapped

# ---------------------------------------------------------------- patterns
_PAGE_MARKER = re.compile(r"^\s*[-–—]\s*(\d{1,4})\s*[-–—]\s*$")
_CONTENTS = re.compile(r"^(contents|목\s*차|차\s*례)$", re.IGNORECASE)
_SUMMARY = re.compile(r"^(요\s*약|주요\s*내용|핵심\s*요약|summary|executive summary)$", re.IGNORECASE)
_DISCLAIMER = re.compile(r"^본\s*(보고서|자료|리포트)는")
_BYLINE = re.compile(r"^(정리|작성|집필)\s*[:：]?\s*\(?\s*[\w.+-]+@[\w.-]+\s*\)?$")
_DATE_ONLY = re.compile(r"^\d{4}\s*\.\s*\d{1,2}\s*\.\s*\d{1,2}\s*\.?$")
_MD_HEADING = re.compile(r"^(#{1,6})\s*(.*)$")
_ROMAN = re.compile(r"^(?P<num>[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]|I{1,3}|IV|VI{0,3}|IX|X)(?:[.\s]\s*(?P<title>.+))?$")
_ARTICLE = re.compile(r"^(?P<num>\d{2})(?:\s+(?P<title>.+))?$")
_NUMBERED = re.compile(r"^(?P<num>\d{1,2})\.\s+(?P<title>.+)$")
_SUBSECTION = re.compile(r"^(?P<num>\d{1,2})\)\s+(?P<title>.+)$")
_HEADLINE = re.compile(r"^[■□]\s*")
_CAPTION = re.compile(
    r"^(〈[^〉]+〉|<[^<>]+>|〔\s*(표|그림)[^〕]*〕.*|\[\s*(표|그림)\s*[\d-]+\s*\].*|(표|그림)\s*\d+(-\d+)?\.?\s.*)$"
)
_MAJOR_BULLET = re.compile(r"^(?:[■□▶❍]|m(?=\s))")
_SOURCE_LINE = re.compile(r"^[*※]?\s*(자료|출처|주)\s*[:：]")
_BULLET = re.compile(
    r"^(?:[-–•·∙ㅇ❍○●◦▶▷►※□◎☑✓■◆◇◈▣]|m(?=\s)|\*(?=\s)|[①-⑳]|\(\d{1,2}\)|[가-하]\.(?=\s)|\d{1,2}\)(?=\s))"
)
_FOOTNOTE_DEF = re.compile(r"^(?:주\s*[:：]\s*)?(\d{1,3})\)\s+\S")  # "1) ..." or a table note "주: 1) ..."
_FOOTNOTE_REF = re.compile(r"(?<=[^\s\d(])(\d{1,3})\)")
_TERMINAL = re.compile(r"(다|요|음|함|임|됨|짐|며|\.|\?|!|。|”|\")\s*$")
_HANGUL = re.compile(r"[가-힣]")

MAX_HEADING_CHARS = 80
MAX_HEADLINE_CHARS = 160

Joiner = Callable[[str, str], bool]  # (left word, right word) -> insert a space?


@dataclass(slots=True)
class Block:
    """One unit of the document: a heading, a paragraph/bullet, a table row, a caption or a footnote."""

    kind: str  # "heading" | "text" | "table_row" | "caption" | "footnote"
    text: MappedText
    line_no: int
    heading_type: str = ""  # "summary" | "chapter" | "article" | "sub" | "label"
    heading_num: str = ""
    footnote_refs: list[int] = field(default_factory=list)
    footnote_no: int | None = None
    table_header: str | None = None
    n_lines: int = 1
    # filled by the section pass
    section: tuple[str, ...] = ()
    group: int = 0
    summary: bool = False
    page: int | None = None


@dataclass(slots=True)
class ParsedDocument:
    """Blocks in reading order plus the footnotes (also blocks, in order)."""

    blocks: list[Block]
    footnotes: list[Block]

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
    markers = [(i, int(m.group(1))) for i, t in enumerate(lines) if (m := _PAGE_MARKER.match(t))]
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


def parse_document(source: SourceText, joiner: Joiner | None = None) -> ParsedDocument:
    """Blocks with section paths for one document (see the module docstring)."""
    nfc = nfc_mapped(source.raw)
    line_texts = nfc.text.split("\n")
    mapped_lines: list[MappedText] = []
    pos = 0
    for text in line_texts:
        mapped_lines.append(nfc[pos : pos + len(text.rstrip("\r"))])
        pos += len(text) + 1

    pages = _pages(line_texts)
    width = _wrap_width(line_texts)
    valid_notes = _valid_footnotes(line_texts)
    cover_end = _cover_end(line_texts)

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
        if _PAGE_MARKER.match(raw):
            continue  # a page break does not end a wrapped paragraph
        line_no = source.line_of(line.starts[0])
        page = pages[i]
        text_no_hash, is_md = _strip_heading_marks(stripped)
        squashed = _squash(text_no_hash)

        # furniture
        if _DISCLAIMER.match(text_no_hash) or _BYLINE.match(text_no_hash) or _DATE_ONLY.match(text_no_hash):
            b.close()
            prev_raw, blank_run = raw, 0
            continue
        if is_url_only(text_no_hash) or _CONTENTS.match(squashed):
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

        heading = _classify_heading(ctext, is_md, line_texts, i)
        footnote_m = _FOOTNOTE_DEF.match(ctext)
        if footnote_m and int(footnote_m.group(1)) in valid_notes and not is_md:
            number = int(footnote_m.group(1))
            b.emit(Block("footnote", cleaned, line_no, footnote_no=number, page=page), keep_open=True)
        elif heading is not None:
            kind, num, _title = heading
            b.emit(Block("heading", cleaned, line_no, heading_type=kind, heading_num=num, page=page))
        elif _CAPTION.match(ctext) and len(ctext) <= MAX_HEADING_CHARS:
            b.emit(Block("caption", cleaned, line_no, page=page))
        elif _continues(b.open, ctext, prev_raw, blank_run, width) and not _is_label_after_terminal(
            b.open, ctext, line_texts, i
        ):
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            assert b.open is not None
            b.join(b.open, cleaned, prev_raw)
            b.open.footnote_refs.extend(refs)
        elif not is_md and _is_label(ctext, line_texts, i):
            b.emit(Block("heading", cleaned, line_no, heading_type="label", page=page))
        else:
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            b.emit(Block("text", cleaned, line_no, footnote_refs=refs, page=page), keep_open=True)
        prev_raw, blank_run = raw, 0

    blocks = [blk for blk in b.blocks if blk.text.text.strip()]
    if cover_end:
        blocks = _drop_cover_tail(blocks)
    _assign_sections(blocks)
    return ParsedDocument(blocks=blocks, footnotes=b.footnotes)


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


def _classify_heading(text: str, is_md: bool, lines: list[str], i: int) -> tuple[str, str, str] | None:
    """(type, number, title) when the line is a structural heading."""
    squashed = _squash(text)
    if _SUMMARY.match(squashed):
        return "summary", "", "요약"
    if len(text) > MAX_HEADING_CHARS:
        return None
    if m := _ROMAN.match(text):
        title = m.group("title") or ""
        if len(title) <= 40 and not _TERMINAL.search(title or "x"):
            return "chapter", m.group("num"), title
    if m := _ARTICLE.match(text):
        return "article", m.group("num"), m.group("title") or ""
    indented = len(lines[i]) - len(lines[i].lstrip(" \u3000")) > 2  # a cell of a flattened table, not a heading
    if (m := _NUMBERED.match(text)) and len(m.group("title")) <= 40 and " - " not in text and not indented:
        if not _TERMINAL.search(text) and not _numbered_neighbour(lines, i):
            return "article", m.group("num"), m.group("title")
    if (m := _SUBSECTION.match(text)) and len(m.group("title")) <= 40 and not _TERMINAL.search(text):
        return "sub", m.group("num"), m.group("title")
    if is_md and not _CAPTION.match(text) and not _BULLET.match(text):
        return "label", "", text
    return None


def _is_label(text: str, lines: list[str], i: int) -> bool:
    """A short stand-alone line introducing a list ("참고자료", "기술전략")."""
    if len(text) > 12 or _BULLET.match(text) or _TERMINAL.search(text) or _SOURCE_LINE.match(text):
        return False
    prev_blank = i == 0 or not lines[i - 1].strip()
    next_blank = i + 1 >= len(lines) or not lines[i + 1].strip()
    nxt = _next_nonblank(lines, i)
    return prev_blank and next_blank and nxt is not None and bool(_BULLET.match(nxt.strip()))


def _is_label_after_terminal(open_block: Block | None, text: str, lines: list[str], i: int) -> bool:
    """A label right after a finished sentence is a label, not a wrapped fragment."""
    return open_block is not None and bool(_TERMINAL.search(open_block.text.text)) and _is_label(text, lines, i)


def _next_nonblank(lines: list[str], i: int) -> str | None:
    for j in range(i + 1, min(len(lines), i + 6)):
        if lines[j].strip() and not _PAGE_MARKER.match(lines[j]):
            return lines[j]
    return None


def _numbered_neighbour(lines: list[str], i: int) -> bool:
    """A numbered line next to another numbered line is a list item, not a heading."""
    for j in (range(i - 1, max(-1, i - 4), -1), range(i + 1, min(len(lines), i + 4))):
        for k in j:
            if lines[k].strip():
                if _NUMBERED.match(lines[k].strip()):
                    return True
                break
    return False


def _continues(open_block: Block | None, text: str, prev_raw: str, blank_run: int, width: int | None) -> bool:
    """Is this line the hard-wrapped rest of the open paragraph/footnote?

    PDF extraction wraps at a fixed width: a wrapped line is long, and either
    ends mid-sentence or keeps the trailing space of a word break.
    """
    if open_block is None or open_block.kind not in ("text", "footnote") or width is None:
        return False
    if blank_run > 2 or _BULLET.match(text) or _FOOTNOTE_DEF.match(text) or _SOURCE_LINE.match(text):
        return False
    long_line = len(prev_raw.rstrip()) >= 0.7 * width
    terminal = bool(_TERMINAL.search(prev_raw))
    if long_line and (prev_raw.endswith((" ", "\u3000")) or not terminal):
        return True
    # short unterminated fragments (flattened table cells) belong together; footnotes end at their line
    return open_block.kind == "text" and not terminal


def _one_line(block: Block) -> bool:
    """A headline is one source line; a wrapped ■ paragraph is body text."""
    return block.n_lines == 1


def _assign_sections(blocks: list[Block]) -> None:
    """Section path, chunk group and summary flag for every block."""
    chapter = article = sub = caption = None
    summary = False
    pending: str | None = None  # "chapter" or "article" waiting for its title line
    group = 0
    for block in blocks:
        text = block.text.text
        if block.kind == "heading":
            group += 1
            kind = block.heading_type
            if kind == "summary":
                chapter, article, sub, caption, summary, pending = "요약", None, None, None, True, None
            elif kind == "chapter":
                chapter, article, sub, caption, summary = text, None, None, None, False
                pending = "chapter" if not _ROMAN.match(text).group("title") else None  # type: ignore[union-attr]
            elif kind == "article":
                if summary:
                    chapter = None
                article, sub, caption, summary = text, None, None, False
                pending = "article" if not _ARTICLE.match(text) or not _ARTICLE.match(text).group("title") else None  # type: ignore[union-attr]
                if _NUMBERED.match(text):
                    pending = None
            elif pending == "chapter":
                chapter, pending = f"{chapter} {text}", None
            elif pending == "article":
                article, pending = f"{article} {text}", None
            else:
                sub, caption = text, None
        elif block.kind == "caption":
            group += 1
            caption = text
        elif block.kind == "text" and _HEADLINE.match(text) and len(text) <= MAX_HEADLINE_CHARS and _one_line(block):
            group += 1
            sub, caption = text, None
            pending = None
        elif block.kind == "text" and caption and _MAJOR_BULLET.match(text):
            # prose resumes after a table/figure: the caption no longer describes what follows
            group += 1
            caption = None
        elif block.kind == "text" and pending is not None and len(text) <= MAX_HEADING_CHARS:
            # "01" on its own line, then the title as plain text
            if pending == "chapter":
                chapter = f"{chapter} {text}"
            else:
                article = f"{article} {text}"
            pending = None
            block.kind = "heading"
            block.heading_type = "title"
            group += 1
        block.section = tuple(s for s in (chapter, article, sub, caption) if s)
        block.summary = summary
        block.group = group
        if block.kind == "text" and _SOURCE_LINE.match(text) and caption:
            caption = None
            group += 1
