"""Balanced splitting (``chunk_split="balanced"``) on the five real briefings, chunked with the real tokenizer.

A section over the token budget is cut into near-equal parts instead of full
passages and a short tail; the same sentences (with the same file spans) end up
indexed as with greedy packing, no passage crosses a heading, every passage
fits the budget with its overlap, and citations slice the original file.
"""

from __future__ import annotations

from itertools import groupby

import pytest
from test_citations import _alnum, _unexplained_gaps

from briefsearch.chunking.chunker import Chunker
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.ingest.sources import load_manifest, read_original, read_source
from briefsearch.store.versions import chunker_identity
from briefsearch.structure.parser import parse_document
from briefsearch.types import Chunk

CORPUS_DIR = REPO_ROOT / "corpus"
BUDGET = 256


@pytest.fixture(scope="module")
def chunked(settings: Settings, encoder, korean) -> dict[str, dict[str, list[Chunk]]]:
    """Every seed document chunked both ways, with each passage's text tokens in ``n_tokens``."""
    out: dict[str, dict[str, list[Chunk]]] = {"greedy": {}, "balanced": {}}
    for split in out:
        chunker = Chunker(encoder.count_tokens, korean, BUDGET, 1, settings.passage_prefix, split)
        for meta in load_manifest(CORPUS_DIR):
            source = read_source(CORPUS_DIR / meta.file)
            out[split][meta.doc_id] = chunker.chunk(meta, source, parse_document(source, joiner=korean.needs_space))
    return out


def _section_runs(chunks: list[Chunk], encoder) -> list[list[int]]:
    """Text tokens of the passages of each section cut into several passages."""
    runs = []
    for _, group in groupby(chunks, key=lambda c: c.section):
        parts = list(group)
        if len(parts) > 1:
            runs.append(encoder.count_tokens([c.text for c in parts]))
    return runs


def test_balanced_indexes_the_same_sentences_in_no_more_passages(chunked) -> None:
    for doc_id, greedy in chunked["greedy"].items():
        balanced = chunked["balanced"][doc_id]
        spans = {(s[2], s[3]) for c in greedy for s in c.sentences}
        assert {(s[2], s[3]) for c in balanced for s in c.sentences} == spans, doc_id  # nothing lost or added
        assert len(balanced) <= len(greedy), doc_id


def test_balanced_parts_are_near_equal_where_greedy_leaves_a_short_tail(chunked, encoder) -> None:
    greedy = [r for chunks in chunked["greedy"].values() for r in _section_runs(chunks, encoder)]
    balanced = [r for chunks in chunked["balanced"].values() for r in _section_runs(chunks, encoder)]
    assert len(greedy) >= 30  # the five briefings have dozens of sections over the budget

    def lopsided(runs: list[list[int]]) -> int:  # a part under a third of the largest of its section
        return sum(min(r) < max(r) / 3 for r in runs)

    def evenness(runs: list[list[int]]) -> float:
        return sum(min(r) / max(r) for r in runs) / len(runs)

    assert lopsided(balanced) < lopsided(greedy) / 2, (lopsided(balanced), lopsided(greedy))
    assert evenness(balanced) > evenness(greedy) + 0.05, (evenness(balanced), evenness(greedy))


def test_balanced_passages_fit_the_budget_and_never_cross_a_heading(chunked, settings: Settings, encoder,
                                                                   korean) -> None:
    for meta in load_manifest(CORPUS_DIR):
        chunks = chunked["balanced"][meta.doc_id]
        parsed = parse_document(read_source(CORPUS_DIR / meta.file), joiner=korean.needs_space)
        headings = [b.line_no for b in parsed.blocks if b.kind == "heading"]
        assert headings, meta.doc_id
        for chunk in chunks:
            inside = [n for n in headings if chunk.line_start < n <= chunk.line_end]
            assert not inside, (meta.doc_id, chunk.section, chunk.line_start, chunk.line_end, inside)
            units = encoder.count_tokens([chunk.text[s[0] : s[1]] for s in chunk.sentences])
            assert sum(units) <= BUDGET, (meta.doc_id, chunk.section)


def test_balanced_citations_slice_the_original_file(chunked) -> None:
    checked = 0
    for meta in load_manifest(CORPUS_DIR):
        path = CORPUS_DIR / meta.file
        raw = read_original(path, read_source(path).encoding)  # the file on disk, as citations slice it
        for chunk in chunked["balanced"][meta.doc_id]:
            original = raw[chunk.char_start : chunk.char_end]
            target = _alnum(chunk.text)
            assert _alnum(original).startswith(target[:1]) and _alnum(original).endswith(target[-1:])
            assert not _unexplained_gaps(chunk.text, original), (meta.doc_id, chunk.section)
            assert chunk.char_start == min(s[2] for s in chunk.sentences)
            assert chunk.char_end == max(s[3] for s in chunk.sentences)
            assert raw.count("\n", 0, chunk.char_start) + 1 == chunk.line_start
            checked += 1
    assert checked > 100


def test_balanced_is_part_of_the_chunker_identity(settings: Settings) -> None:
    """An index built greedily is stale for a balanced service (and the other way round); greedy's identity is
    unchanged, so indexes built before the setting existed stay fresh."""
    balanced = settings.model_copy(update={"chunk_split": "balanced"})
    assert chunker_identity(balanced) != chunker_identity(settings)
    assert "chunk_split" not in chunker_identity(settings)
