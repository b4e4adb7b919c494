"""Every passage of the real corpus cites its original file exactly.

A passage's text is normalized (hard wraps rejoined, markup and footnote
markers removed, table cells joined with " | "), so it is compared with the
cited slice of the file as it is on disk as follows:

* after keeping only letters and digits, the passage is a subsequence of the
  slice, and the slice starts with the passage's first and ends with its last
  such character (the offsets are tight);
* whatever the slice holds beyond the passage is explained: markup (HTML tags,
  URLs, Markdown), footnote markers of at most three characters, or whole
  lines that normalization moves out of the body (footnote definitions, page
  markers).
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.ingest.sources import read_original, read_source
from briefsearch.retrieval.searcher import Searcher
from briefsearch.structure.parser import parse_document
from briefsearch.text.clean import LATEX_SYMBOLS

_MARKUP = re.compile(
    r"</?[a-zA-Z][^<>]*>|<https?://[^>]*>|\[[^\]]*\]\([^)]*\)|https?://\S+|&[a-z#0-9]+;",
    re.IGNORECASE,
)


def _alnum(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFC", text).lower() if ch.isalnum())


def _gaps(passage: str, original: str) -> list[str]:
    """Runs of ``original`` left over after matching the passage's letters and digits in order."""
    target = _alnum(passage)
    matched = [False] * len(original)
    j = 0
    for i, ch in enumerate(original):
        norm = _alnum(ch)
        if j < len(target) and norm and target.startswith(norm, j):
            matched[i] = True
            j += len(norm)
    assert j == len(target), "passage is not a subsequence of its cited slice"
    gaps, current = [], []
    for i, ch in enumerate(original):
        if matched[i]:
            if current:
                gaps.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        gaps.append("".join(current))
    # punctuation, whitespace, footnote markers like "12)", LaTeX commands (\\text, \\mu)
    return [g for g in gaps if len(_alnum(re.sub(r"\\[a-zA-Z]+", "", g))) > 3]


def _mask(pattern: re.Pattern[str], text: str) -> str:
    """Blank out matches, keeping offsets."""
    return pattern.sub(lambda m: re.sub(r"\S", " ", m.group()), text)


_MOVED_LINES = re.compile(r"^[ \t]*(\d{1,3}\)[ \t].*|[-–][ \t]*\d+[ \t]*[-–])[ \t]*$", re.MULTILINE)


def _unexplained_gaps(passage: str, original: str) -> list[str]:
    """Slice text the passage does not account for, once markup and moved-out lines are set aside.

    Markup (HTML tags, URLs, Markdown links) is removed by normalization; footnote
    definitions and page markers are moved out of the body. A footnote's wrapped
    tail lines follow its definition, so a gap made only of such lines is explained too.
    """
    # LaTeX symbols are rewritten, not dropped (\\mu -> μ): compare against the rewritten form
    original = re.sub(r"\\([a-zA-Z]+)", lambda m: LATEX_SYMBOLS.get(m.group(1), m.group()), original)
    masked = _mask(_MARKUP, original)
    gaps = _gaps(passage, masked)
    if not gaps:
        return []
    gaps = _gaps(passage, _mask(_MOVED_LINES, masked))
    unexplained = []
    for gap in gaps:
        lines = [ln.strip() for ln in gap.splitlines() if _alnum(ln)]
        # the wrapped tail of a footnote definition sits on the line(s) after it
        bullets = ("-", "■", "ㅇ", "▶", "❍", "m ")
        if lines and all(not ln.startswith(bullets) for ln in lines) and _near_note(gap, original):
            continue
        unexplained.append(gap)
    return unexplained


def _near_note(gap: str, original: str) -> bool:
    at = original.find(gap)
    before = original[max(0, at - 400) : at]
    return bool(re.search(r"(^|\n)[ \t]*\d{1,3}\)[ \t]", before))


def test_every_chunk_slices_its_original_file(searcher: Searcher) -> None:
    originals = {}
    checked = 0
    for chunk in searcher.index.chunks.values():
        doc = searcher.index.documents[chunk.doc_id]
        if doc.source not in originals:
            originals[doc.source] = read_original(REPO_ROOT / doc.source, doc.encoding)
        raw = originals[doc.source]
        original = raw[chunk.char_start : chunk.char_end]
        assert original, f"chunk {chunk.chunk_id}: empty citation"
        target = _alnum(chunk.text)
        sliced = _alnum(original)
        assert sliced.startswith(target[:1]) and sliced.endswith(target[-1:]), f"chunk {chunk.chunk_id}: loose offsets"
        gaps = _unexplained_gaps(chunk.text, original)
        assert not gaps, f"chunk {chunk.chunk_id} ({chunk.doc_id}): unexplained text in citation: {gaps[:3]}"
        # line numbers agree with the offsets
        assert raw.count("\n", 0, chunk.char_start) + 1 == chunk.line_start
        assert raw.count("\n", 0, chunk.char_end - 1) + 1 == chunk.line_end
        checked += 1
    assert checked == len(searcher.index.chunks) > 100


def test_most_passages_are_contiguous_after_whitespace_normalization(searcher: Searcher) -> None:
    """Where nothing was moved or unescaped, the slice contains the passage verbatim (modulo whitespace)."""
    plain = 0
    contained = 0
    for chunk in searcher.index.chunks.values():
        if chunk.kind == "table" or chunk.footnotes or "|" in chunk.text:
            continue
        doc = searcher.index.documents[chunk.doc_id]
        raw = read_original(REPO_ROOT / doc.source, doc.encoding)
        squeeze = lambda s: re.sub(r"\s+", "", unicodedata.normalize("NFC", s))  # noqa: E731
        plain += 1
        contained += squeeze(chunk.text) in squeeze(raw[chunk.char_start : chunk.char_end])
    assert plain > 50
    assert contained / plain >= 0.6


@pytest.mark.parametrize("doc_id", ["000_b57bb989019f2633", "002_22ff6807f067724b"])
def test_passages_never_cross_an_article_or_chapter(searcher: Searcher, korean, doc_id: str) -> None:
    doc = searcher.index.documents[doc_id]
    parsed = parse_document(read_source(REPO_ROOT / doc.source), joiner=korean.needs_space)
    boundaries = [b.line_no for b in parsed.blocks
                  if b.kind == "heading" and b.heading_type in {"summary", "chapter", "article"}]
    assert boundaries
    for chunk in searcher.index.chunks.values():
        if chunk.doc_id != doc_id:
            continue
        inside = [n for n in boundaries if chunk.line_start < n <= chunk.line_end]
        assert not inside, f"chunk {chunk.chunk_id} spans lines {chunk.line_start}-{chunk.line_end} across {inside}"


def test_passages_fit_the_model_window(searcher: Searcher) -> None:
    encoder = searcher.encoder
    prefix = searcher.settings.prompts.passage
    counts = encoder.count_tokens([prefix + c.embed_text for c in searcher.index.chunks.values()])
    assert max(counts) + 2 <= 512
    assert all(c.title in c.embed_text and c.section in c.embed_text for c in searcher.index.chunks.values())
