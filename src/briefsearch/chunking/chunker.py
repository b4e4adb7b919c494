"""Split structured blocks into passages bounded in model tokens.

Rules: a passage never crosses a heading or caption (so never an article
boundary); it packs whole sentences (or table rows) up to the token budget,
repeats the last sentence of the previous passage of the same section as
overlap, and is embedded with its context: the document's name, the section
path, the table header (for table rows) and the footnotes it cites, all within
the model's 512-token window, so nothing is silently truncated. A section
over the budget is packed greedily (each passage as full as fits; a last one
too short to stand alone takes sentences from the one before). The context is
all that differs between twin sections of different documents (the cost
estimates of four near-identical bills); it goes into what is embedded and indexed, never
into the passage text, so citations still slice the file to the shown text.
The document's name is the one it gives itself where its layout states one (a
bill's cover: "…에 관한 법률 일부개정법률안", often wrapped over lines), else
its catalogue title.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from briefsearch.structure.blocks import MIN_PASSAGE_CHARS, Block, ParsedDocument
from briefsearch.text.korean import KoreanText
from briefsearch.text.mapped import MappedText
from briefsearch.types import Chunk, DocumentMeta, SourceText

# v15: only HTML's own elements are markup (a title in angle brackets, "<AOA>", stays);
# v14: press releases (header, title, contacts, 붙임 parts, format-run breaks); v13: the name in BM25 rows too;
# v9 was an earlier title-in-BM25 experiment
CHUNKER_VERSION = "structure-v15"
MODEL_WINDOW = 512

TokenCounter = Callable[[list[str]], list[int]]


@dataclass(slots=True)
class _Unit:
    text: MappedText
    tokens: int
    block: Block


def _embed_text(context: str, section: str, header: str | None, body: str, notes: list[str]) -> str:
    parts = [context]
    if section:
        parts.append(section)
    if header:
        parts.append(f"[표 머리글] {header}")
    parts.append(body)
    if notes:
        parts.append("[각주] " + " ".join(notes))
    return "\n".join(parts)


class Chunker:
    """Holds the token counter and the Korean analyzer; ``chunk`` is pure given those."""

    def __init__(self, count_tokens: TokenCounter, korean: KoreanText, max_tokens: int = 256,
                 overlap_sentences: int = 1, passage_prefix: str = "passage: ") -> None:
        self.count_tokens = count_tokens
        self.korean = korean
        self.max_tokens = max_tokens
        self.overlap = overlap_sentences
        self.prefix = passage_prefix

    # -- units
    def _units(self, block: Block, budget: int) -> list[_Unit]:
        text = block.text
        if block.kind == "table_row" or block.kind == "caption":
            spans = [(0, len(text))]
        else:
            spans = self.korean.split_sentences(text.text)
        pieces = [text[a:b].strip() for a, b in spans]
        pieces = [p for p in pieces if p.text]
        counts = self.count_tokens([p.text for p in pieces]) if pieces else []
        units: list[_Unit] = []
        for piece, n in zip(pieces, counts, strict=True):
            if n <= budget:
                units.append(_Unit(piece, n, block))
            else:
                units.extend(_Unit(p, c, block) for p, c in self._split_long(piece, budget))
        return units

    def _split_long(self, piece: MappedText, budget: int) -> list[tuple[MappedText, int]]:
        """Cut an over-long sentence at spaces so every part fits the budget."""
        words = piece.text.split(" ")
        out: list[tuple[MappedText, int]] = []
        start_char = 0
        current: list[str] = []
        for word in words:
            trial = " ".join([*current, word])
            if current and self.count_tokens([trial])[0] > budget:
                end_char = start_char + len(" ".join(current))
                part = piece[start_char:end_char].strip()
                out.append((part, self.count_tokens([part.text])[0]))
                start_char = end_char + 1
                current = [word]
            else:
                current.append(word)
        part = piece[start_char:].strip()
        if part.text:
            out.append((part, self.count_tokens([part.text])[0]))
        # a single "word" longer than the budget (very long URL, table cell) is cut by characters
        final: list[tuple[MappedText, int]] = []
        for part, n in out:
            while n > budget and len(part) > 1:
                cut = max(1, len(part) * budget // n)
                head = part[:cut]
                final.append((head, self.count_tokens([head.text])[0]))
                part = part[cut:]
                n = self.count_tokens([part.text])[0]
            final.append((part, n))
        return final

    # -- chunks
    def chunk(self, meta: DocumentMeta, source: SourceText, parsed: ParsedDocument) -> list[Chunk]:
        groups: list[list[Block]] = []
        for block in parsed.blocks:
            if block.kind in ("heading", "footnote"):
                continue
            if groups and groups[-1][-1].group == block.group and groups[-1][-1].section == block.section:
                groups[-1].append(block)
            else:
                groups.append([block])

        context = parsed.title or meta.title
        chunks: list[Chunk] = []
        for blocks in groups:
            section = " > ".join(blocks[0].section)
            header = next((b.table_header for b in blocks if b.table_header), None)
            context_tokens = self.count_tokens([_embed_text(context, section, header, "", [])])[0]
            budget = max(48, min(self.max_tokens, MODEL_WINDOW - 16 - context_tokens))
            units = [u for b in blocks for u in self._units(b, budget)]
            for packed in self._pack(units, budget):
                chunks.append(self._make_chunk(meta, source, parsed, packed, section))
                chunks[-1].context = context
        self._attach_orphan_footnotes(parsed, chunks)
        for chunk in chunks:
            self._fit_window(chunk)
        return chunks

    def _pack(self, units: list[_Unit], budget: int) -> list[list[_Unit]]:
        packs = self._pack_greedy(units, budget)
        if len(packs) >= 2:
            self._rebalance_tail(packs, budget)
        return packs

    def _pack_greedy(self, units: list[_Unit], budget: int) -> list[list[_Unit]]:
        """Each passage as full as the budget allows; the next one starts with the overlap."""
        packs: list[list[_Unit]] = []
        current: list[_Unit] = []
        used = 0
        for unit in units:
            if current and used + unit.tokens > budget:
                packs.append(current)
                carry = current[-self.overlap :] if self.overlap else []
                carry = [u for u in carry if u.tokens <= budget // 3 and u.block.kind != "table_row"]
                current = list(carry)
                used = sum(u.tokens for u in current)
                if used + unit.tokens > budget:
                    current, used = [], 0
            current.append(unit)
            used += unit.tokens
        if current and (not packs or current != packs[-1][-len(current) :]):
            packs.append(current)
        return packs

    @staticmethod
    def _rebalance_tail(packs: list[list[_Unit]], budget: int) -> None:
        """A last passage too short to stand alone (a caption and its source line) takes the sentences
        before it from the previous passage instead of repeating one as overlap."""
        prev, tail = packs[-2], packs[-1]
        fresh = [u for u in tail if not any(u is p for p in prev)]
        if not fresh or sum(len(u.text) for u in fresh) >= MIN_PASSAGE_CHARS:
            return
        rest, moved = list(prev), list(fresh)
        while (len(rest) > 1 and sum(len(u.text) for u in moved) < MIN_PASSAGE_CHARS
               and sum(u.tokens for u in moved) + rest[-1].tokens <= budget):
            moved.insert(0, rest.pop())
        if len(moved) > len(fresh):
            packs[-2:] = [rest, moved]

    def _make_chunk(self, meta: DocumentMeta, source: SourceText, parsed: ParsedDocument,
                    units: list[_Unit], section: str) -> Chunk:
        parts: list[MappedText] = []
        sentences: list[list[int]] = []
        pos = 0
        for i, unit in enumerate(units):
            if i:
                sep = " " if unit.block is units[i - 1].block else "\n"
                anchor = unit.text.starts[0]
                parts.append(MappedText.literal(sep, anchor, anchor))
                pos += len(sep)
            parts.append(unit.text)
            src_start, src_end = unit.text.span()
            sentences.append([pos, pos + len(unit.text), src_start, src_end,
                              source.line_of(src_start), source.line_of(max(src_start, src_end - 1))])
            pos += len(unit.text)
        body = MappedText.concat(parts)
        start, end = body.span()
        blocks: list[Block] = []
        for unit in units:
            if not any(unit.block is b for b in blocks):
                blocks.append(unit.block)
        notes: list[str] = []
        for block in blocks:
            for number in block.footnote_refs:
                note = parsed.footnote_for(number, block.line_no)
                if note is not None and note.text.text not in notes:
                    notes.append(note.text.text)
        header = None
        first = units[0].block
        if first.kind == "table_row" and first.table_header:
            header = first.table_header
        if blocks[0].metadata:
            kind = "metadata"
        elif blocks[0].summary:
            kind = "summary"
        elif any(b.kind == "table_row" for b in blocks):
            kind = "table"
        else:
            kind = "text"
        return Chunk(
            doc_id=meta.doc_id,
            title=meta.title,
            section=section,
            section_path=list(blocks[0].section),
            text=body.text,
            char_start=start,
            char_end=end,
            line_start=source.line_of(start),
            line_end=source.line_of(max(start, end - 1)),
            page=next((b.page for b in blocks if b.page is not None), None),
            kind=kind,
            footnotes=notes,
            table_header=header,
            sentences=sentences,
        )

    def _attach_orphan_footnotes(self, parsed: ParsedDocument, chunks: list[Chunk]) -> None:
        """A footnote nobody cites (``21) 위의 자료.``) still explains the text just before it."""
        cited = {note for c in chunks for note in c.footnotes}
        for note in parsed.footnotes:
            if note.text.text in cited or not chunks:
                continue
            offset = note.text.starts[0]
            before = [c for c in chunks if c.char_start <= offset]
            target = max(before, key=lambda c: c.char_start) if before else chunks[0]
            target.footnotes.append(note.text.text)

    def _fit_window(self, chunk: Chunk) -> None:
        """Trim footnote context (never the passage) until the embedded input fits the model window."""
        while True:
            chunk.embed_text = _embed_text(chunk.context or chunk.title, chunk.section, chunk.table_header,
                                           chunk.text, chunk.footnotes)
            chunk.n_tokens = self.count_tokens([self.prefix + chunk.embed_text])[0] + 2
            if chunk.n_tokens <= MODEL_WINDOW or not chunk.footnotes:
                return
            last = chunk.footnotes[-1]
            if len(last) > 40:
                chunk.footnotes[-1] = last[: int(len(last) * 0.8)].rstrip() + "…"
            else:
                chunk.footnotes.pop()
