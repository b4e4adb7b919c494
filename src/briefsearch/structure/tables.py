"""Tables and captions: tab/pipe rows as cells, caption lines, and captions whose table left no text.
"""

from __future__ import annotations

import re

from briefsearch.structure.blocks import MIN_PASSAGE_CHARS, Block
from briefsearch.structure.lines import SOURCE_LINE
from briefsearch.text.clean import clean_inline
from briefsearch.text.mapped import MappedText

CAPTION_LINE = re.compile(
    r"^(〈[^〉]+〉|<[^<>]+>|〔\s*(표|그림)[^〕]*〕.*|\[\s*(표|그림)\s*[\d-]+\s*\].*|(표|그림)\s*\d+(-\d+)?\.?\s.*)$"
)


def table_cells(line: MappedText) -> MappedText:
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


def attach_lone_captions(blocks: list[Block]) -> None:
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
        body = sum(len(m.text.text) for m in members[1:] if not SOURCE_LINE.match(m.text.text))
        if body >= MIN_PASSAGE_CHARS:
            continue
        host = next((groups[g] for g in reversed(order[:k]) if groups[g][0].section[: 1] == members[0].section[:1]),
                    None) or (groups[order[k + 1]] if k + 1 < len(order) else None)
        if host is None:
            continue
        for m in members:
            m.kind = "text" if m.kind == "caption" else m.kind
            m.group, m.section, m.summary = host[0].group, host[0].section, host[0].summary
