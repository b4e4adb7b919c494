"""Turn an extracted document into structured blocks with section paths.

Works line by line over the NFC text (with its map back to the file). The
conventions of each layout family (briefings and 개조식 reports, Korean legal
drafting, Markdown, press releases) are data in ``briefsearch.structure.layouts``; this module
applies the tables of the families a document shows, plus what every family shares, each
concern in its own module of this package:

* cover furniture (``furniture``): the CONTENTS list, a disclaimer standing in the cover,
  bylines, bare dates and link-only lines (dropped from what is indexed); a
  bill's cover block (의안번호, 발의연월일, 발의자) kept as document metadata;
  a press release's header, title and contact tables (``releases``);
* page markers ("- 4 -"): stripped, their number kept for citations (``furniture``);
* headings, checked for sanity (``headings``): short, not a sentence, not a formula or
  symbol line, numbered in sequence, never inside running text (a line
  continuing an unfinished wrapped line is not a heading);
* bullets that start new units (``conventions``), and PDF hard wraps inside a unit, rejoined
  with or without a space (Kiwi decides), also across blank lines (``wraps``);
* numbered footnotes interleaved with the body, moved out of the text and
  attached to the blocks that cite them (``footnotes``);
* tab/pipe tables, one block per row with the table's header row kept;
  captions that label the table or figure after them (``tables``);
* section paths, chunk groups and the summary flag of every block (``sections``).

The blocks it returns are ``briefsearch.structure.blocks``.
"""

from __future__ import annotations

import re

from briefsearch.structure import conventions, footnotes, furniture, headings, releases, sections, tables, wraps
from briefsearch.structure.blocks import Block, Joiner, ParsedDocument
from briefsearch.structure.layouts import PART, PRESS, SUB, active_families
from briefsearch.structure.lines import (
    HANGUL,
    MAX_HEADING_CHARS,
    PAGE_MARKER,
    TERMINAL,
    previous_line,
    squash,
    strip_heading_marks,
)
from briefsearch.text.clean import clean_inline, is_url_only
from briefsearch.text.mapped import MappedText, nfc_mapped
from briefsearch.types import SourceText

_PARTICLE = re.compile(r"^(?:은|는|가|을|를|에|에서|에게|와|과|로|으로|도|만|까지|부터|이다|이며)(?=\s|[.,]|$)")


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
        if not taken.text or TERMINAL.search(taken.text) or len(taken.text) > MAX_HEADING_CHARS:
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
        keep_spans = {m.span() for m in footnotes.unmatched_refs(line.text) if int(m.group(1)) in valid}
        if not keep_spans:
            return line, found

        def repl(m: re.Match[str]) -> list:
            if m.span() in keep_spans:
                found.append(int(m.group(1)))
                return []
            return [0]

        return line.sub(footnotes.FOOTNOTE_REF, repl), found

    def join(self, block: Block, line: MappedText, prev_raw: str) -> None:
        left, right = block.text.text, line.text
        block.n_lines += 1
        if not left or not right:
            block.text = block.text + line
            return
        a, b = left[-1], right[0]
        if prev_raw.endswith((" ", "\u3000", "\t")):
            space = True
        elif HANGUL.match(a) and HANGUL.match(b):
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


def parse_document(source: SourceText, joiner: Joiner | None = None) -> ParsedDocument:
    """Blocks with section paths for one document (see the module docstring)."""
    nfc = nfc_mapped(source.raw)
    line_texts = nfc.text.split("\n")
    mapped_lines: list[MappedText] = []
    pos = 0
    for text in line_texts:
        mapped_lines.append(nfc[pos : pos + len(text.rstrip("\r"))])
        pos += len(text) + 1

    width = wraps.wrap_width(line_texts)
    runs = width is None and wraps.format_runs(line_texts)
    rules = conventions.Rules(active_families(line_texts), conventions.letter_bullets(line_texts), runs)
    state = headings.State()
    pages = furniture.page_numbers(line_texts)
    valid_notes = footnotes.valid_footnotes(line_texts)
    cover_end = furniture.cover_end(line_texts)
    release = releases.release_parts(line_texts) if PRESS in rules.families else releases.ReleaseParts()
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
        text_no_hash, is_md = strip_heading_marks(stripped)
        squashed = squash(text_no_hash)

        # furniture: a disclaimer only where it stands in the cover, before any heading
        disclaimer = not state.seen_heading and bool(furniture.DISCLAIMER.match(text_no_hash))
        if (disclaimer or rules.is_furniture(text_no_hash) or is_url_only(text_no_hash)
                or furniture.CONTENTS.match(squashed)):
            b.close()
            prev_raw, blank_run = raw, 0
            continue

        # tables
        if "\t" in raw or (stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 3):
            cells = tables.table_cells(line)
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
        if (m := conventions.LETTER_BULLET.match(ctext)) and m.group(1) in rules.letters:
            marker, cleaned = m.group(1), cleaned[m.end() :].strip()  # the letter is a glyph, not text
            ctext = cleaned.text

        heading = headings.classify_heading(ctext, is_md, line_texts, i, rules, state, b.open, prev_raw, blank_run,
                                            width)
        if heading is not None and heading.rule.kind == "attachment" and i < release.parts_from:
            heading = None  # a "[참고]" box inside the body; the release's 붙임/참고 parts follow its contacts
        footnote_m = footnotes.FOOTNOTE_DEF.match(ctext)
        if footnote_m and int(footnote_m.group(1)) in valid_notes and not is_md:
            number = int(footnote_m.group(1))
            b.emit(Block("footnote", cleaned, line_no, footnote_no=number, page=page), keep_open=True)
        elif heading is not None and heading.rule.inline:
            state.accept(heading.rule, headings.heading_number(heading.rule, heading.num))
            label = heading.title if heading.rule.title_label else cleaned[: heading.label_end].text.strip()
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            b.emit(Block("text", cleaned, line_no, heading_type=heading.rule.kind, heading_num=heading.num,
                         level=heading.rule.level, label=label, footnote_refs=refs, page=page), keep_open=True)
        elif heading is not None:
            state.accept(heading.rule, headings.heading_number(heading.rule, heading.num))
            label = heading.title if heading.rule.title_label else ""
            before = line_texts[previous_line(line_texts, i)]
            if heading.rule.wraps_after_name and headings.wrapped_title(ctext, before):
                # "…법률 일부개정법률안" / "등 비용추계서 미첨부사유서": the part's title wrapped; its first line was
                # read as text (or joined onto the paragraph before it)
                head = b.take_back(mapped_lines[previous_line(line_texts, i)])
                if head is not None:
                    cleaned = head + MappedText.literal(" ", cleaned.starts[0], cleaned.starts[0]) + cleaned
                    ctext = cleaned.text
            if heading.rule.level == PART:
                label = headings.unspace(label or ctext)  # "부      칙", "제 안 이 유": a spaced-out title
            b.emit(Block("heading", cleaned, line_no, heading_type=heading.rule.kind, heading_num=heading.num,
                         level=heading.rule.level, label=label, page=page))
        elif tables.CAPTION_LINE.match(ctext) and len(ctext) <= MAX_HEADING_CHARS and not bullet:
            b.emit(Block("caption", cleaned, line_no, page=page))
        elif (not bullet and wraps.continues(b.open, ctext, raw, prev_raw, blank_run, width, joiner, rules.runs)
              and not ("label" not in state.off
                       and headings.is_label_after_terminal(b.open, ctext, line_texts, i, rules))):
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            assert b.open is not None
            b.join(b.open, cleaned, prev_raw)
            b.open.footnote_refs.extend(refs)
        elif not is_md and not bullet and "label" not in state.off and headings.is_label(ctext, line_texts, i, rules):
            b.emit(Block("heading", cleaned, line_no, heading_type="label", level=SUB, page=page))
        else:
            cleaned, refs = b.strip_refs(cleaned, valid_notes)
            b.emit(Block("text", cleaned, line_no, footnote_refs=refs, page=page, marker=marker), keep_open=True)
        if i in release.closes:
            b.close()  # a subtitle is a line (or a "- … -" span) of its own
        prev_raw, blank_run = raw, 0

    blocks = [blk for blk in b.blocks if blk.text.text.strip()]
    if cover_end:
        blocks = furniture.drop_cover_tail(blocks)
    title = ""
    if rules.legal:
        furniture.mark_cover_metadata(blocks)
        title = furniture.cover_title(blocks)
    elif title_block is not None:
        title = " ".join(title_block.text.text.split())  # the release's 제목, as its header states it
    sections.assign_sections(blocks)
    tables.attach_lone_captions(blocks)
    return ParsedDocument(blocks=blocks, footnotes=b.footnotes, layouts=tuple(f.name for f in rules.families),
                          title=title)
