"""Numbered footnotes interleaved with the body: which numbers are footnotes, and their references.

A number counts as a footnote only where the body cites it before its definition line, so "(3.15)"
or a numbered list is never taken for one.
"""

from __future__ import annotations

import re

FOOTNOTE_DEF = re.compile(r"^(?:주\s*[:：]\s*)?(\d{1,3})\)\s+\S")  # "1) ..." or a table note "주: 1) ..."
FOOTNOTE_REF = re.compile(r"(?<=[^\s\d(])(\d{1,3})\)")


def unmatched_refs(line: str) -> list[re.Match[str]]:
    """Footnote-like ``N)`` whose ``)`` closes no ``(`` (so not "(3.15)")."""
    refs = []
    for m in FOOTNOTE_REF.finditer(line):
        before = line[: m.start()]
        if before.count("(") + before.count("（") <= before.count(")") + before.count("）"):
            refs.append(m)
    return refs


def valid_footnotes(lines: list[str]) -> set[int]:
    """Footnote numbers that are cited in the body before their definition line."""
    first_ref: dict[int, int] = {}
    valid: set[int] = set()
    for i, text in enumerate(lines):
        stripped = text.strip()
        m = FOOTNOTE_DEF.match(stripped)
        if m and not stripped.startswith("#"):
            number = int(m.group(1))
            if number in first_ref and first_ref[number] < i:
                valid.add(number)
            rest = stripped[m.end(1) + 1 :]
        else:
            rest = stripped
        for ref in unmatched_refs(rest):
            first_ref.setdefault(int(ref.group(1)), i)
    return valid
