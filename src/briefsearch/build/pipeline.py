"""Build the index from the corpus: ingest -> structure -> chunk -> embed -> store.

Also decides whether an existing index is still current (same corpus files,
manifest, model and chunker) so ``serve`` rebuilds only when needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from briefsearch.build.library import Library, LibraryEntry, LibraryState
from briefsearch.chunking.chunker import Chunker
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.embedding.cache import EmbeddingCache, EncodeFn, encode_with_cache
from briefsearch.embedding.encoder import Encoder
from briefsearch.errors import CorpusError, DocumentBuildError, IndexIncompatibleError, IndexMissingError
from briefsearch.ingest.sources import read_source, sha256_bytes
from briefsearch.retrieval.crosslingual import TermBridge
from briefsearch.store.lexical import LexicalAnalyzer, LexicalIndex, lexical_text
from briefsearch.store.vectors import index_type_for
from briefsearch.store.versions import (
    FORMAT_VERSION,
    IndexManifest,
    LoadedIndex,
    check_compatible,
    chunker_identity,
    live_version,
    load_index,
    publish_version,
    read_manifest,
    remove_build_leftovers,
    write_version,
)
from briefsearch.structure.parser import parse_document
from briefsearch.text.korean import KoreanText
from briefsearch.types import Chunk, DocumentRecord

log = logging.getLogger(__name__)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path.resolve())


def corpus_state(settings: Settings, library_state: LibraryState | None = None) -> dict[str, dict]:
    """Per document: its metadata, the cited file and that file's checksum."""
    state: dict[str, dict] = {}
    for entry in Library(settings).entries(library_state):
        try:
            checksum = sha256_bytes(entry.path.read_bytes())
        except OSError as exc:
            raise DocumentBuildError(entry.meta.doc_id, f"{entry.path}: cannot read ({exc.strerror})") from exc
        state[entry.meta.doc_id] = {**asdict(entry.meta), "source": _relative(entry.path), "sha256": checksum}
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
    if manifest.format_version != FORMAT_VERSION:
        return IndexStatus("incompatible", f"index format {manifest.format_version}, this version writes "
                           f"{FORMAT_VERSION}")
    if manifest.model.get("checksum") != model_identity.get("checksum"):
        return IndexStatus("incompatible", f"built with model {manifest.model.get('name')!r}")
    built_second, second = manifest.model.get("second") or {}, model_identity.get("second") or {}
    if built_second.get("checksum") != second.get("checksum"):
        return IndexStatus("incompatible", f"built with second model {built_second.get('name')!r}, configured: "
                           f"{second.get('name')!r}")
    if manifest.chunker != chunker_identity(settings):
        return IndexStatus("incompatible", f"built with chunker {manifest.chunker}")
    current = corpus_state(settings)
    if manifest.corpus != current:
        changed = sorted(set(current) ^ set(manifest.corpus)) or sorted(
            d for d in current if current[d] != manifest.corpus.get(d)
        )
        return IndexStatus("stale", f"corpus changed: {', '.join(changed)}")
    return IndexStatus("fresh", f"built {manifest.built_at}")


def _previous_index(settings: Settings, encoder: Encoder, live: LoadedIndex | None) -> LoadedIndex | None:
    """The live index, when its passages and vectors can be reused by this build."""
    try:
        current = live_version(settings.index_dir)
        loaded = live if live is not None and current == live.path else load_index(settings.index_dir)
        check_compatible(loaded.manifest, encoder.identity, chunker_identity(settings))
    except (IndexMissingError, IndexIncompatibleError, OSError, ValueError, TypeError, RuntimeError) as exc:
        log.info("not reusing the live index: %s", exc)
        return None
    return loaded


def _view_blocks(parsed) -> list[dict]:
    """Blocks as the document view shows them, with source spans to highlight cited passages."""
    out = []
    for block in parsed.blocks:
        start, end = block.text.span()
        out.append({"kind": block.kind, "heading": block.heading_type, "text": block.text.text,
                    "start": start, "end": end, "summary": block.summary,
                    "footnote": block.footnote_no})
    return out


@dataclass(slots=True)
class BuildReport:
    """What a build did: the manifest it published and how much work it reused."""

    manifest: IndexManifest
    version: Path
    documents_parsed: list[str]
    documents_reused: list[str]
    passages_embedded: int
    sentences_embedded: int
    doc_passages: dict[str, int]


class _DocumentChunks:
    """Parses and chunks documents, or takes them from the previous index when unchanged."""

    def __init__(self, settings: Settings, encoder: Encoder, korean: KoreanText,
                 previous: LoadedIndex | None) -> None:
        self.korean = korean
        self.chunker = Chunker(encoder.count_tokens, korean, settings.chunking.max_tokens,
                               settings.chunking.overlap_sentences, settings.prompts.passage)
        self.analyzer = LexicalAnalyzer(korean)
        self.previous = previous
        self.by_doc: dict[str, list[Chunk]] = {}
        if previous is not None:
            for chunk in previous.chunks.values():
                self.by_doc.setdefault(chunk.doc_id, []).append(chunk)

    def reusable(self, doc_id: str, state: dict) -> bool:
        prev = self.previous
        return (prev is not None and prev.manifest.corpus.get(doc_id) == state and doc_id in prev.documents
                and doc_id in self.by_doc)

    def reuse(self, doc_id: str) -> tuple[list[Chunk], DocumentRecord]:
        assert self.previous is not None
        chunks = [Chunk.from_dict(c.to_dict()) for c in self.by_doc[doc_id]]  # copies: ids and rows change
        return chunks, self.previous.documents[doc_id]

    def parse(self, entry: LibraryEntry, state: dict) -> tuple[list[Chunk], DocumentRecord]:
        meta = entry.meta
        source = read_source(entry.path)
        parsed = parse_document(source, joiner=self.korean.needs_space)
        chunks = self.chunker.chunk(meta, source, parsed)
        context_terms: dict[str, list[str]] = {}
        for chunk in chunks:
            chunk.terms = self.analyzer.terms(lexical_text(chunk.section, chunk.table_header, chunk.text,
                                                           chunk.footnotes))
            chunk.context_terms = context_terms.setdefault(chunk.context, self.analyzer.terms(chunk.context))
            # analysed once here, not on every /ask
            chunk.sentence_terms = [self.analyzer.terms(chunk.text[a:b]) for a, b, *_ in chunk.sentences]
        original = _relative(entry.original) if entry.original != entry.path else ""
        record = DocumentRecord(
            doc_id=meta.doc_id, title=meta.title, publisher=meta.publisher, date=meta.date, kind=meta.kind,
            source=state["source"], encoding=source.encoding, sha256=source.sha256, chunk_count=len(chunks),
            text=parsed.normalized_text(), blocks=_view_blocks(parsed), original=original, origin=entry.origin,
            added_at=entry.added_at,
        )
        return chunks, record


def _assign_ids(chunks: list[Chunk], previous: LoadedIndex | None) -> int:
    """Keep each passage's id across rebuilds (by content key); new passages get ids never used before."""
    keys = {c.key: cid for cid, c in previous.chunks.items()} if previous is not None else {}
    next_id = previous.manifest.next_chunk_id if previous is not None else 0
    used: set[int] = set()
    for chunk in chunks:
        old = keys.get(chunk.key)
        if old is not None and old not in used:
            chunk.chunk_id = old
        else:
            chunk.chunk_id = next_id
            next_id += 1
        used.add(chunk.chunk_id)
    return next_id


def _known_vectors(previous: LoadedIndex | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                           dict[str, np.ndarray]]:
    """Passage, sentence and second-encoder passage vectors of the live index by their text, so unchanged text
    is never re-embedded."""
    if previous is None:
        return {}, {}, {}
    passages: dict[str, np.ndarray] = {}
    sentences: dict[str, np.ndarray] = {}
    second: dict[str, np.ndarray] = {}
    for cid, chunk in previous.chunks.items():
        passages[chunk.embed_text] = previous.faiss_index.reconstruct(int(cid))
        if previous.second_faiss is not None:
            second[chunk.embed_text] = previous.second_faiss.reconstruct(int(cid))
        for (a, b, *_), row in zip(chunk.sentences, chunk.sentence_rows, strict=False):
            if row < len(previous.sentence_vectors):
                sentences[chunk.text[a:b]] = previous.sentence_vectors[row]
    return passages, sentences, second


def _sentence_texts(chunks: list[Chunk]) -> list[str]:
    """Distinct answer sentences; sets each chunk's rows into the sentence-vector matrix."""
    rows: dict[str, int] = {}
    for chunk in chunks:
        chunk.sentence_rows = [rows.setdefault(chunk.text[a:b], len(rows)) for a, b, *_ in chunk.sentences]
    return list(rows)


def rebuild_index(settings: Settings, encoder: Encoder, korean: KoreanText | None = None, progress: bool = True,
                  only_if_needed: bool = False, embed: EncodeFn | None = None,
                  embed_second: EncodeFn | None = None) -> BuildReport | None:
    """Build and publish under the library's writer lock, as every change does (``index build``, ``serve``).

    Builds and changes serialize, so a build never publishes a library older than
    a change committed while it ran. ``only_if_needed`` re-checks the index under
    the lock and skips the build when another process made it fresh meanwhile.
    ``embed`` replaces the in-process passage encoder (``index build --ray``: build/ray_build.py).
    """
    library = Library(settings)
    with library.lock(settings.cli_lock_wait_seconds):
        if only_if_needed and index_status(settings, encoder.identity).state == "fresh":
            return None
        remove_build_leftovers(settings.index_dir)  # no other build runs while the lock is held
        return build_index(settings, encoder, korean=korean, progress=progress, embed=embed,
                           embed_second=embed_second)


def build_index(settings: Settings, encoder: Encoder, korean: KoreanText | None = None, progress: bool = True,
                library_state: LibraryState | None = None,
                before_publish: Callable[[], None] | None = None, live: LoadedIndex | None = None,
                embed: EncodeFn | None = None, embed_second: EncodeFn | None = None) -> BuildReport:
    """Build and atomically publish a new index version.

    Documents whose file and metadata are unchanged keep their passages from the
    live index, and only text not embedded before is embedded (the embedding
    cache plus the live index's own vectors). ``library_state`` builds from a
    not-yet-committed library; ``before_publish`` runs after the new version is
    complete and before it goes live (the caller commits the library there).
    ``live`` is the index a running service already holds (saves reading it again).
    ``embed`` embeds the texts neither cached nor known (default: ``encoder.encode_passages``
    in this process); everything else in the build is the same whichever embeds. ``embed_second`` is the
    same for the second encoder's passages (default: ``encoder.second.encode_passages``).
    The caller holds the library lock (``rebuild_index``, ``CorpusManager``).
    """
    started = time.perf_counter()
    korean = korean or KoreanText()
    corpus = corpus_state(settings, library_state)
    previous = _previous_index(settings, encoder, live)
    docs = _DocumentChunks(settings, encoder, korean, previous)
    chunks: list[Chunk] = []
    documents: list[DocumentRecord] = []
    parsed_ids: list[str] = []
    reused_ids: list[str] = []
    for entry in Library(settings).entries(library_state):
        doc_id = entry.meta.doc_id
        if docs.reusable(doc_id, corpus[doc_id]):
            doc_chunks, record = docs.reuse(doc_id)
            reused_ids.append(doc_id)
        else:
            try:
                doc_chunks, record = docs.parse(entry, corpus[doc_id])
            except DocumentBuildError:
                raise
            except CorpusError as exc:
                raise DocumentBuildError(doc_id, str(exc)) from exc
            parsed_ids.append(doc_id)
        chunks.extend(doc_chunks)
        documents.append(record)
    next_id = _assign_ids(chunks, previous)
    # a BM25 row: the passage's terms and, once, its document's name (twin sections of two bills differ by it)
    lexical = LexicalIndex.build([c.terms + c.context_terms for c in chunks], [c.chunk_id for c in chunks],
                                 settings.bm25.k1, settings.bm25.b)
    cache = EmbeddingCache(settings.data_dir / "cache", encoder.identity)
    known_passages, known_sentences, known_second = _known_vectors(previous)
    log.info("passages: %d from %d documents (%d parsed, %d reused)", len(chunks), len(documents),
             len(parsed_ids), len(reused_ids))
    sentence_texts = _sentence_texts(chunks)
    if embed is None:
        def embed(texts: list[str]) -> np.ndarray:
            return encoder.encode_passages(texts, progress=progress)
    vectors, n_passages = encode_with_cache([c.embed_text for c in chunks], embed, cache, encoder.dim,
                                            known_passages)
    sentence_vectors, n_sentences = encode_with_cache(sentence_texts, embed, cache, encoder.dim, known_sentences)
    second_vectors = None
    if encoder.second is not None:  # the second encoder embeds passages only (sentences and /ask stay the first's)
        second = encoder.second
        if embed_second is None:
            def embed_second(texts: list[str]) -> np.ndarray:
                return second.encode_passages(texts, progress=progress)
        second_vectors, n_second = encode_with_cache(
            [c.embed_text for c in chunks], embed_second, EmbeddingCache(settings.data_dir / "cache", second.identity),
            second.dim, known_second)
        log.info("second encoder: embedded %d passages", n_second)
    if settings.crosslingual.bridge_weight > 0:  # the term bridge's Korean nouns, embedded once into the cache
        bridge = TermBridge.build(chunks, korean, encoder, cache, settings.crosslingual.bridge_terms)
        log.info("term bridge: %d Korean nouns in %.1f s", len(bridge.terms), bridge.build_seconds)
    manifest = IndexManifest(
        model=encoder.identity,
        chunker=chunker_identity(settings),
        corpus=corpus,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        n_documents=len(documents),
        n_chunks=len(chunks),
        next_chunk_id=next_id,
        build_seconds=round(time.perf_counter() - started, 2),
        index_type=index_type_for(len(chunks), settings.faiss_exact_below, settings.faiss_factory),
        sentence_dtype=settings.sentence_vector_dtype,
    )
    version = write_version(settings.index_dir, manifest, vectors, chunks, documents, lexical, sentence_vectors,
                            ef_construction=settings.faiss_ef_construction, second_vectors=second_vectors)
    if before_publish is not None:
        before_publish()
    publish_version(settings.index_dir, version)
    log.info("published %s: embedded %d passages and %d sentences in %.1f s", version.name, n_passages,
             n_sentences, time.perf_counter() - started)
    return BuildReport(manifest, version, parsed_ids, reused_ids, n_passages, n_sentences,
                       {d.doc_id: d.chunk_count for d in documents})
