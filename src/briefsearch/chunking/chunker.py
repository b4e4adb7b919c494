"""Split structured blocks into passages bounded in model tokens.

Rules: a passage never crosses a heading or caption (so never an article
boundary); it packs whole sentences (or table rows) up to the token budget,
repeats the last sentence of the previous passage of the same section as
overlap, and is embedded with its context: the document's name, the section
path, the table header (for table rows) and the footnotes it cites, all within
the model's 512-token window, so nothing is silently truncated. A section
over the budget is packed greedily (each passage as full as fits, the last one
often short), or with ``split="balanced"`` cut into the fewest parts of
near-equal size that fit (research/passage-granularity/chunking-sweep.md measures both). The context is
all that differs between twin sections of different documents (the cost
estimates of four near-identical bills); it goes into what is embedded and indexed, never
into the passage text, so citations still slice the file to the shown text.
The document's name is the one it gives itself where its layout states one (a
bill's cover: "…에 관한 법률 일부개정법률안", often wrapped over lines), else
its catalogue title.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Literal

from briefsearch.ingest.sources import DocumentMeta, SourceText
from briefsearch.structure.parser import MIN_PASSAGE_CHARS, Block, ParsedDocument
from briefsearch.text.korean import KoreanText
from briefsearch.text.mapped import MappedText

# v14: press releases (header, title, contacts, 붙임 parts, format-run breaks); v13: the name in BM25 rows too;
# v9 was an earlier title-in-BM25 experiment
CHUNKER_VERSION = "structure-v14"
MODEL_WINDOW = 512

TokenCounter = Callable[[list[str]], list[int]]
Split = Literal["greedy", "balanced"]


@dataclass(slots=True)
class Chunk:
    """A passage: what is shown, what is embedded, and where it is in the file."""

    doc_id: str
    title: str  # the catalogue title (shown, cited)
    section: str
    section_path: list[str]
    text: str
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    page: int | None
    kind: str  # "text" | "table" | "summary" | "metadata" (a cover block: 의안번호, 발의자, ...)
    footnotes: list[str] = field(default_factory=list)
    table_header: str | None = None
    embed_text: str = ""
    n_tokens: int = 0
    terms: list[str] = field(default_factory=list)  # BM25 terms (index.lexical)
    # per sentence (or table row): [start, end) in ``text``, [start, end) in the original file, first and last line
    sentences: list[list[int]] = field(default_factory=list)
    sentence_rows: list[int] = field(default_factory=list)  # rows of the sentence-vector matrix
    sentence_terms: list[list[str]] = field(default_factory=list)  # BM25 terms per sentence (answer scoring)
    chunk_id: int = -1
    context: str = ""  # the document's own name, embedded and indexed with the passage (see the module docstring)
    context_terms: list[str] = field(default_factory=list)  # its BM25 terms, added once to the passage's BM25 row

    @property
    def key(self) -> str:
        """Content identity, used to keep chunk ids stable across rebuilds."""
        payload = "\x1f".join([self.doc_id, self.section, self.text, *self.footnotes])
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**data)


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


def body_start(chunk: Chunk) -> int | None:
    """Where ``chunk.text`` begins in ``chunk.embed_text`` (None if the embedded input does not hold it there)."""
    start = len(_embed_text(chunk.context or chunk.title, chunk.section, chunk.table_header, "", []))
    return start if chunk.embed_text[start : start + len(chunk.text)] == chunk.text else None


class Chunker:
    """Holds the token counter and the Korean analyzer; ``chunk`` is pure given those."""

    def __init__(self, count_tokens: TokenCounter, korean: KoreanText, max_tokens: int = 256,
                 overlap_sentences: int = 1, passage_prefix: str = "passage: ", split: Split = "greedy") -> None:
        self.count_tokens = count_tokens
        self.korean = korean
        self.max_tokens = max_tokens
        self.overlap = overlap_sentences
        self.prefix = passage_prefix
        self.split = split

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
        if self.split == "balanced" and sum(u.tokens for u in units) > budget:
            packs = self._pack_balanced(units, budget)
        else:
            packs = self._pack_greedy(units, budget)
        if len(packs) >= 2:
            self._rebalance_tail(packs, budget)
        return packs

    def _carry(self, units: list[_Unit], start: int, budget: int) -> list[_Unit]:
        """The overlap a passage starting at ``units[start]`` repeats: short sentences, never table rows."""
        carry = units[max(0, start - self.overlap) : start] if self.overlap else []
        return [u for u in carry if u.tokens <= budget // 3 and u.block.kind != "table_row"]

    def _pack_balanced(self, units: list[_Unit], budget: int) -> list[list[_Unit]]:
        """The fewest parts (from ceil(tokens / budget) up) that fit the budget, overlap included, with the
        least sum of squared part sizes: near-equal parts at sentence boundaries instead of a short tail.

        Dynamic programming over cut points (a section holds tens of units); the greedy packing is a
        feasible cut (every part's sentences fit), so the search ends at its number of parts at the latest.
        """
        n = len(units)
        prefix = [0]
        for unit in units:
            prefix.append(prefix[-1] + unit.tokens)
        # the overlap rule of the greedy packing: a part repeats the carry unless carry and first sentence overflow
        carries = [self._carry(units, i, budget) if i else [] for i in range(n)]
        carries = [c if sum(u.tokens for u in c) + units[i].tokens <= budget else [] for i, c in enumerate(carries)]
        carry_tokens = [sum(u.tokens for u in c) for c in carries]

        def size(i: int, j: int) -> int | None:
            """Tokens of the part ``units[i:j]`` with its overlap; None when it does not fit."""
            total = carry_tokens[i] + prefix[j] - prefix[i]
            return total if total <= budget else None

        greedy = self._pack_greedy(units, budget)
        for parts in range(math.ceil(prefix[-1] / budget), len(greedy) + 1):
            cuts = self._best_cuts(n, parts, size)
            if cuts is not None:
                return [[*carries[i], *units[i:j]] for i, j in pairwise(cuts)]
        return greedy

    @staticmethod
    def _best_cuts(n: int, parts: int, size: Callable[[int, int], int | None]) -> list[int] | None:
        """Cut points 0 = c0 < ... < c_parts = n minimising the sum of squared part sizes, all parts fitting."""
        inf = float("inf")
        cost = [[inf] * (n + 1) for _ in range(parts + 1)]
        back = [[0] * (n + 1) for _ in range(parts + 1)]
        cost[0][0] = 0.0
        for p in range(1, parts + 1):
            for j in range(p, n + 1):
                for i in range(p - 1, j):
                    if cost[p - 1][i] == inf:
                        continue
                    s = size(i, j)
                    if s is None:
                        continue
                    c = cost[p - 1][i] + s * s
                    if c < cost[p][j]:
                        cost[p][j], back[p][j] = c, i
        if cost[parts][n] == inf:
            return None
        cuts = [n]
        for p in range(parts, 0, -1):
            cuts.append(back[p][cuts[-1]])
        return cuts[::-1]

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
