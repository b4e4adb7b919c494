"""Add, replace and remove documents while the index keeps serving.

Every change is validated and extracted first (nothing is written for a bad
file), then, under one writer lock shared by the CLI and the service, staged
into the library, built into a new index version that reuses every unchanged
passage and vector, and made live in two renames: the library state, then the
index pointer. A change that fails at any step leaves both as they were.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from briefsearch.build.library import (
    Library,
    LibraryEntry,
    LibraryState,
    check_doc_id,
    check_file_name,
    doc_id_from_name,
    guess_title,
    new_entry,
)
from briefsearch.build.pipeline import build_index
from briefsearch.config import Settings
from briefsearch.embedding.encoder import Encoder
from briefsearch.errors import (
    CorpusError,
    DocumentBuildError,
    DocumentConflictError,
    DocumentTooLargeError,
    ServerFaultError,
    UnknownDocumentError,
    UnsupportedFormatError,
)
from briefsearch.ingest.sources import TEXT_SUFFIXES, decode_bytes, load_manifest, sha256_bytes
from briefsearch.store.versions import LoadedIndex
from briefsearch.text.korean import KoreanText

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocumentInput:
    """Metadata given with a new document; anything left out is derived from the file."""

    doc_id: str | None = None
    title: str | None = None
    date: str | None = None
    publisher: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What a change did, for the CLI and the API to report."""

    status: str  # "added" | "replaced" | "unchanged" | "removed"
    doc_id: str
    title: str
    passages: int | None  # the document's passages in the index now (None when not known)
    passages_embedded: int
    sentences_embedded: int
    seconds: float
    index_version: str
    documents: int
    message: str


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An upload checked and turned into the text that will be indexed (nothing written yet)."""

    doc_id: str
    name: str
    data: bytes
    rendition: bytes | None  # the UTF-8 text of a PDF/DOCX/HWPX/HWP; None when the file is text itself
    meta: dict


def supported_suffixes() -> frozenset[str]:
    from briefsearch.ingest.formats import BINARY_SUFFIXES

    return TEXT_SUFFIXES | BINARY_SUFFIXES


class CorpusManager:
    """Changes the corpus and publishes the rebuilt index; safe to call from many threads and processes."""

    def __init__(self, settings: Settings, encoder: Encoder, korean: KoreanText,
                 lock_wait: float | None = None) -> None:
        """``lock_wait``: seconds to wait for another writer (default ``settings.lock_wait_seconds``)."""
        self.settings = settings
        self.lock_wait = settings.lock_wait_seconds if lock_wait is None else lock_wait
        self.encoder = encoder
        self.korean = korean
        self.library = Library(settings)
        self._write = threading.Lock()
        self._guard = threading.Lock()
        self._busy: set[str] = set()

    # ------------------------------------------------------------------ public
    def add(self, data: bytes, filename: str, given: DocumentInput | None = None,
            live: LoadedIndex | None = None) -> ChangeResult:
        """Index a new file, or replace the document with the same id; identical re-adds are no-ops."""
        started = time.perf_counter()
        prepared = self._prepare(data, filename, given or DocumentInput())
        with self._claim(prepared.doc_id), self._write, self.library.lock(self.lock_wait):
            state, entries = self._read_library()
            checksum = sha256_bytes(data)
            checksums = {doc_id: _checksum(entry) for doc_id, entry in entries.items()}
            twin = next((d for d, c in checksums.items() if c == checksum and d != prepared.doc_id), None)
            if twin is not None:
                raise DocumentConflictError(f"{filename}: the same file is already indexed as {twin!r}")
            current = entries.get(prepared.doc_id)
            if current is not None and checksums[prepared.doc_id] == checksum and _same_meta(current, prepared.meta):
                return self._result("unchanged", prepared.doc_id, prepared.meta["title"], live, started,
                                    "the same file with the same metadata is already indexed; nothing changed")
            new_state = state.copy()
            stored = self.library.store_file(data, prepared.name)
            text_file = stored
            if prepared.rendition is not None:
                text_file = self.library.store_file(prepared.rendition, prepared.name, suffix=".txt")
            new_state.added[prepared.doc_id] = new_entry(stored, text_file, prepared.name, data, prepared.meta)
            if prepared.doc_id in new_state.removed:
                new_state.removed.remove(prepared.doc_id)
            status = "replaced" if current is not None else "added"
            return self._publish(new_state, state, status, prepared.doc_id, prepared.meta["title"], live, started)

    def remove(self, doc_id: str, live: LoadedIndex | None = None) -> ChangeResult:
        """Drop a document's passages, vectors and BM25 entries from the index."""
        started = time.perf_counter()
        with self._claim(doc_id), self._write, self.library.lock(self.lock_wait):
            state, entries = self._read_library()
            if doc_id not in entries:
                raise UnknownDocumentError(f"unknown document id {doc_id!r}")
            if len(entries) == 1:
                raise CorpusError(f"{doc_id!r} is the only document; an index needs at least one")
            new_state = state.copy()
            new_state.added.pop(doc_id, None)
            if doc_id in self._seed_ids():
                new_state.removed.append(doc_id)
            return self._publish(new_state, state, "removed", doc_id, entries[doc_id].meta.title, live, started)

    # ------------------------------------------------------------------ steps
    def _prepare(self, data: bytes, filename: str, given: DocumentInput) -> _Prepared:
        name = check_file_name(filename)
        suffix = Path(name).suffix.lower()
        if suffix not in supported_suffixes():
            raise UnsupportedFormatError(
                f"{name}: unsupported file type {suffix or '(none)'!r}; "
                f"supported: {', '.join(sorted(supported_suffixes()))}")
        limit = self.settings.max_upload_bytes
        if len(data) > limit:
            raise DocumentTooLargeError(f"{name}: {len(data)} bytes is over the limit of {limit} bytes")
        doc_id = check_doc_id(given.doc_id) if given.doc_id else doc_id_from_name(name)
        if suffix in TEXT_SUFFIXES:
            text, _ = decode_bytes(data, name)
            rendition = None
        else:
            from briefsearch.ingest.extract_worker import extract_isolated

            text = extract_isolated(data, suffix, name, self.settings.extract_timeout,
                                    self.settings.extract_memory_mb).text
            rendition = text.encode("utf-8")
        if given.date:
            from briefsearch.retrieval.searcher import parse_date

            parse_date(given.date)
        meta = {"title": (given.title or "").strip() or guess_title(text, Path(name).stem),
                "date": (given.date or "").strip(), "publisher": (given.publisher or "").strip(),
                "kind": (given.kind or "").strip()}
        return _Prepared(doc_id, name, data, rendition, meta)

    def _read_library(self) -> tuple[LibraryState, dict[str, LibraryEntry]]:
        """The library's state and documents; a library.json or seed manifest the server cannot read is its
        fault, not the request's."""
        try:
            state = self.library.state()
            return state, {e.meta.doc_id: e for e in self.library.entries(state)}
        except CorpusError as exc:
            raise ServerFaultError(f"the corpus library cannot be read ({exc}); nothing was changed") from exc

    @contextmanager
    def _claim(self, doc_id: str) -> Iterator[None]:
        """A second change to the same document while one is running is refused, not queued."""
        with self._guard:
            if doc_id in self._busy:
                raise DocumentConflictError(f"document {doc_id!r} is being changed by another request; retry")
            self._busy.add(doc_id)
        try:
            yield
        finally:
            with self._guard:
                self._busy.discard(doc_id)

    def _publish(self, new_state, old_state, status: str, doc_id: str, title: str, live: LoadedIndex | None,
                 started: float) -> ChangeResult:
        try:
            report = build_index(self.settings, self.encoder, self.korean, progress=False, library_state=new_state,
                                 before_publish=lambda: self.library.commit(new_state), live=live)
        except BaseException as exc:
            if self.library.state() == old_state:
                self.library.collect_garbage(old_state)  # staged files of the change that failed
            if isinstance(exc, DocumentBuildError) and exc.doc_id == doc_id:
                raise  # the changed document itself: the client's file
            if isinstance(exc, Exception):
                raise ServerFaultError(f"{status} {doc_id} failed: the index could not be rebuilt ({exc}); "
                                       "nothing was changed and the current index keeps serving") from exc
            raise
        passages = report.doc_passages.get(doc_id, 0)
        log.info("%s %s: %d passages, embedded %d passages + %d sentences, index %s", status, doc_id, passages,
                 report.passages_embedded, report.sentences_embedded, report.version.name)
        return ChangeResult(status=status, doc_id=doc_id, title=title, passages=passages,
                            passages_embedded=report.passages_embedded,
                            sentences_embedded=report.sentences_embedded,
                            seconds=round(time.perf_counter() - started, 3), index_version=report.version.name,
                            documents=report.manifest.n_documents, message=f"{status} {doc_id}")

    def _result(self, status: str, doc_id: str, title: str, live: LoadedIndex | None, started: float,
                message: str) -> ChangeResult:
        from briefsearch.store.versions import live_version, read_manifest

        manifest = read_manifest(self.settings.index_dir)
        version = live_version(self.settings.index_dir)
        count = sum(1 for c in live.chunks.values() if c.doc_id == doc_id) if live is not None else None
        return ChangeResult(status=status, doc_id=doc_id, title=title, passages=count, passages_embedded=0,
                            sentences_embedded=0, seconds=round(time.perf_counter() - started, 3),
                            index_version=version.name if version else "",
                            documents=manifest.n_documents if manifest else 0,
                            message=message)

    def _seed_ids(self) -> set[str]:
        if not (self.settings.corpus_dir / "manifest.json").is_file():
            return set()
        return {m.doc_id for m in load_manifest(self.settings.corpus_dir)}


def _checksum(entry: LibraryEntry) -> str:
    if entry.sha256:
        return entry.sha256
    try:
        return sha256_bytes(entry.original.read_bytes())
    except OSError:
        return ""


def _same_meta(entry: LibraryEntry, meta: dict) -> bool:
    return all(getattr(entry.meta, k) == v for k, v in meta.items())
