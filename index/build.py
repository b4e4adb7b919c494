"""Build the index from the corpus: ingest -> structure -> chunk -> embed -> store.

Also decides whether an existing index is still current (same corpus files,
manifest, model and chunker) so ``serve`` rebuilds only when needed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.chunk import CHUNKER_VERSION, Chunk, Chunker
from index.embed import Encoder
from index.ingest import load_manifest, read_source
from index.korean import KoreanText
from index.lexical import ANALYZER_VERSION, LexicalAnalyzer, LexicalIndex, lexical_text
from index.settings import REPO_ROOT, Settings
from index.store import (
    DocumentRecord,
    IndexManifest,
    live_version,
    read_manifest,
    write_index,
)
from index.structure import parse_document

log = logging.getLogger(__name__)


def chunker_identity(settings: Settings) -> dict:
    """Everything that changes how text becomes chunks."""
    return {
        "version": CHUNKER_VERSION,
        "max_chunk_tokens": settings.max_chunk_tokens,
        "overlap_sentences": settings.overlap_sentences,
        "passage_prefix": settings.passage_prefix,
        "lexical_analyzer": ANALYZER_VERSION,
        "bm25": {"k1": settings.bm25_k1, "b": settings.bm25_b},
    }


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path.resolve())


def corpus_state(settings: Settings) -> dict[str, dict]:
    """Per document: its manifest entry plus the file's checksum."""
    from index.ingest import sha256_bytes

    state: dict[str, dict] = {}
    for meta in load_manifest(settings.corpus_dir):
        path = settings.corpus_dir / meta.file
        state[meta.doc_id] = {**asdict(meta), "source": _relative(path), "sha256": sha256_bytes(path.read_bytes())}
    return state


@dataclass(frozen=True, slots=True)
class IndexStatus:
    state: str  # "fresh" | "missing" | "stale" | "incompatible"
    reason: str


def index_status(settings: Settings, model_identity: dict) -> IndexStatus:
    """Is the index on disk usable as is for this corpus, model and chunker?"""
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return IndexStatus("missing", f"no index in {settings.index_dir}")
    if manifest.model.get("checksum") != model_identity.get("checksum"):
        return IndexStatus("incompatible", f"built with model {manifest.model.get('name')!r}")
    if manifest.chunker != chunker_identity(settings):
        return IndexStatus("incompatible", f"built with chunker {manifest.chunker}")
    current = corpus_state(settings)
    if manifest.corpus != current:
        changed = sorted(set(current) ^ set(manifest.corpus)) or sorted(
            d for d in current if current[d] != manifest.corpus.get(d)
        )
        return IndexStatus("stale", f"corpus changed: {', '.join(changed)}")
    return IndexStatus("fresh", f"built {manifest.built_at}")


def _previous_ids(settings: Settings) -> tuple[dict[str, int], int]:
    """Chunk keys -> ids of the live index, and the next unused id (ids are never reused)."""
    version = live_version(settings.index_dir)
    manifest = read_manifest(settings.index_dir)
    if version is None or manifest is None:
        return {}, 0
    keys: dict[str, int] = {}
    try:
        with (version / "chunks.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                chunk = Chunk.from_dict(json.loads(line))
                keys[chunk.key] = chunk.chunk_id
    except (OSError, ValueError, TypeError):
        return {}, manifest.next_chunk_id
    return keys, manifest.next_chunk_id


def _view_blocks(parsed) -> list[dict]:
    """Blocks as the document view shows them, with source spans to highlight cited passages."""
    out = []
    for block in parsed.blocks:
        start, end = block.text.span()
        out.append({"kind": block.kind, "heading": block.heading_type, "text": block.text.text,
                    "start": start, "end": end, "summary": block.summary,
                    "footnote": block.footnote_no})
    return out


def _embed_sentences(encoder: Encoder, chunks: list[Chunk], progress: bool) -> np.ndarray:
    """One vector per distinct sentence, for picking answer sentences at query time without embedding them then."""
    rows: dict[str, int] = {}
    for chunk in chunks:
        chunk.sentence_rows = []
        for a, b, *_ in chunk.sentences:
            chunk.sentence_rows.append(rows.setdefault(chunk.text[a:b], len(rows)))
    if not rows:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    log.info("embedding %d answer sentences", len(rows))
    return encoder.encode_passages(list(rows), progress=progress)


def build_index(settings: Settings, encoder: Encoder, korean: KoreanText | None = None,
                progress: bool = True) -> IndexManifest:
    """Build and atomically publish a new index version; returns its manifest."""
    started = time.perf_counter()
    korean = korean or KoreanText()
    chunker = Chunker(encoder.count_tokens, korean, settings.max_chunk_tokens, settings.overlap_sentences,
                      settings.passage_prefix)
    corpus = corpus_state(settings)
    chunks: list[Chunk] = []
    documents: list[DocumentRecord] = []
    for meta in load_manifest(settings.corpus_dir):
        source = read_source(settings.corpus_dir / meta.file)
        parsed = parse_document(source, joiner=korean.needs_space)
        doc_chunks = chunker.chunk(meta, source, parsed)
        chunks.extend(doc_chunks)
        documents.append(DocumentRecord(
            doc_id=meta.doc_id, title=meta.title, publisher=meta.publisher, date=meta.date, kind=meta.kind,
            source=corpus[meta.doc_id]["source"], encoding=source.encoding, sha256=source.sha256,
            chunk_count=len(doc_chunks), text=parsed.normalized_text(), blocks=_view_blocks(parsed),
        ))
    previous, next_id = _previous_ids(settings)
    used: set[int] = set()
    for chunk in chunks:
        old = previous.get(chunk.key)
        if old is not None and old not in used:
            chunk.chunk_id = old
        else:
            chunk.chunk_id = next_id
            next_id += 1
        used.add(chunk.chunk_id)
    analyzer = LexicalAnalyzer(korean)
    for chunk in chunks:
        chunk.terms = analyzer.terms(lexical_text(chunk.section, chunk.table_header, chunk.text, chunk.footnotes))
        # analysed once here, not on every /ask
        chunk.sentence_terms = [analyzer.terms(chunk.text[a:b]) for a, b, *_ in chunk.sentences]
    lexical = LexicalIndex.build([c.terms for c in chunks], [c.chunk_id for c in chunks],
                                 settings.bm25_k1, settings.bm25_b)
    log.info("embedding %d passages from %d documents", len(chunks), len(documents))
    vectors = encoder.encode_passages([c.embed_text for c in chunks], progress=progress)
    sentence_vectors = _embed_sentences(encoder, chunks, progress)
    manifest = IndexManifest(
        model=encoder.identity,
        chunker=chunker_identity(settings),
        corpus=corpus,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        n_documents=len(documents),
        n_chunks=len(chunks),
        next_chunk_id=next_id,
        build_seconds=round(time.perf_counter() - started, 2),
    )
    write_index(settings.index_dir, manifest, vectors, chunks, documents, lexical, sentence_vectors)
    return manifest
