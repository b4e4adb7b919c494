"""Add, replace and remove documents while the index keeps serving.

Every change is validated and extracted first (nothing is written for a bad
file), then, under one writer lock shared by the CLI and the service, staged
into the library, built into a new index version that reuses every unchanged
passage and vector, and made live in two renames: the library state, then the
index pointer. A change that fails at any step leaves both as they were.

Adding is a bulk operation; one file is a bulk of one. Each file is checked on
its own, and a file that cannot go in (unreadable, empty, undecodable, too big,
an unsupported type, a duplicate of an indexed document or of another file of
the same bulk) is refused with its reason while the others go in: partial
success, with every file's outcome reported. All the files accepted are staged
together and published as ONE new index version, since a publish rebuilds what
depends on the whole corpus (BM25, the vector index, the sentence matrix, the
manifest and the documents file, and the reload of all of it by a server), so
a version per file made a bulk add quadratic. Only when the files staged so far
hold more than ``BATCH_BYTES`` (kept in memory until staged) is a version
published and the next batch begun. A crash or Ctrl-C before a version is
published leaves the previous one live and the library as it was.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from briefsearch.build.pipeline import BuildReport, build_index
from briefsearch.config import Settings
from briefsearch.embedding.encoder import Encoder
from briefsearch.errors import (
    BriefsearchError,
    CorpusError,
    DocumentBuildError,
    DocumentConflictError,
    DocumentTooLargeError,
    QueryError,
    ServerFaultError,
    UnknownDocumentError,
    UnsupportedFormatError,
)
from briefsearch.ingest.sources import TEXT_SUFFIXES, decode_bytes, load_manifest, sha256_bytes
from briefsearch.store.versions import LoadedIndex
from briefsearch.text.korean import KoreanText

log = logging.getLogger(__name__)

# Files and their text renditions held in memory before they are staged; past this a bulk add publishes what it
# holds and begins a new batch (one index version per batch). 175 briefings of 5 KB are one batch; a folder of
# PDFs of 20 MB each is a version every dozen files, rather than all of them in memory at once.
BATCH_BYTES = 256 * 2**20

# the errors that are one file's fault: that file is refused and the others go on
FILE_ERRORS = (CorpusError, QueryError)


@dataclass(frozen=True, slots=True)
class DocumentInput:
    """Metadata given with a new document; anything left out is derived from the file."""

    doc_id: str | None = None
    title: str | None = None
    date: str | None = None
    publisher: str | None = None
    kind: str | None = None

    def check(self) -> None:
        """Refuse a bad id or date before any file is read (``QueryError`` / ``CorpusError``)."""
        if self.doc_id:
            check_doc_id(self.doc_id)
        if self.date:
            from briefsearch.retrieval.searcher import parse_date

            parse_date(self.date)


@dataclass(frozen=True, slots=True)
class Upload:
    """One file to add: its bytes (an HTTP upload) or a path read when its turn comes (the CLI), so that a
    bulk add holds only the files checked so far in memory."""

    filename: str
    data: bytes | None = None
    path: Path | None = None
    given: DocumentInput = field(default_factory=DocumentInput)

    def read(self, limit: int) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        try:
            size = self.path.stat().st_size
            if size > limit:  # refused before reading it
                raise DocumentTooLargeError(f"{self.filename}: {size} bytes is over the limit of {limit} bytes")
            return self.path.read_bytes()
        except OSError as exc:
            raise CorpusError(f"{self.path}: cannot read ({exc.strerror})") from exc


@dataclass(frozen=True, slots=True)
class FileResult:
    """What became of one file of an add."""

    filename: str
    status: str  # "added" | "replaced" | "unchanged" | "refused"
    doc_id: str  # "" when refused before its id was known
    title: str
    passages: int | None  # the document's passages in the index now (None when not known)
    message: str  # for "refused": the reason
    error: BriefsearchError | None = None  # the refusal, for its HTTP status or exit code


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What an add of one or many files did, file by file, and the index it published."""

    files: list[FileResult]
    versions_published: int  # 0 when nothing changed, 1 unless the files passed BATCH_BYTES
    index_version: str
    documents: int
    passages_embedded: int
    sentences_embedded: int
    seconds: float

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What a change to one document did, for the CLI and the API to report."""

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

    position: int  # in the order the files were given
    doc_id: str
    name: str
    data: bytes
    rendition: bytes | None  # the UTF-8 text of a PDF/DOCX/HWPX/HWP; None when the file is text itself
    meta: dict
    checksum: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.rendition or b"")


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
        """Index a new file, or replace the document with the same id; identical re-adds are no-ops.

        The bulk add of one file; its refusal is raised (the file's error: its HTTP status, its exit code).
        """
        bulk = self.add_many([Upload(filename, data=data, given=given or DocumentInput())], live=live)
        file = bulk.files[0]
        if file.error is not None:
            raise file.error
        return ChangeResult(status=file.status, doc_id=file.doc_id, title=file.title, passages=file.passages,
                            passages_embedded=bulk.passages_embedded, sentences_embedded=bulk.sentences_embedded,
                            seconds=bulk.seconds, index_version=bulk.index_version, documents=bulk.documents,
                            message=file.message)

    def add_many(self, uploads: Iterable[Upload], live: LoadedIndex | None = None,
                 on_file: Callable[[str, FileResult | None], None] | None = None,
                 progress: bool = False) -> BulkResult:
        """Add files (new documents, or replacements of the documents with their ids) in one index version.

        Each file is checked and extracted outside the writer lock; a bad one is refused with its reason and the
        rest go on. The files accepted are staged and published together (a version per ``BATCH_BYTES``).
        ``on_file(filename, refusal)`` is called as each file is checked, with ``None`` when it was accepted
        (progress for the CLI). ``progress``: the build's embedding progress bars. Raises only for
        what is not one file's fault (the lock, a failed build, Ctrl-C): then nothing of the batch in hand is
        published.
        """
        started = time.perf_counter()
        outcomes: dict[int, FileResult] = {}
        ids: dict[str, str] = {}  # doc id -> the file of this add that has it
        checksums: dict[str, str] = {}  # checksum -> the file of this add that has it
        batch: list[_Prepared] = []
        held = 0
        reports: list[BuildReport] = []
        position = -1
        for position, upload in enumerate(uploads):
            try:
                prepared = self._prepare(position, upload)
                self._check_twins(prepared, ids, checksums)
            except FILE_ERRORS as exc:
                outcomes[position] = _refused(upload.filename, exc)
                if on_file is not None:
                    on_file(upload.filename, outcomes[position])
                continue
            if on_file is not None:
                on_file(upload.filename, None)
            batch.append(prepared)
            held += prepared.size
            if held > BATCH_BYTES:
                self._stage_and_publish(batch, live, progress, outcomes, reports)
                batch, held = [], 0
        if batch:
            self._stage_and_publish(batch, live, progress, outcomes, reports)
        if reports:
            version, documents = reports[-1].version.name, reports[-1].manifest.n_documents
            passages = reports[-1].doc_passages
        else:
            version, documents = self._live_version()
            passages = Counter(c.doc_id for c in live.chunks.values()) if live is not None else {}
        files = [_with_passages(outcomes[i], passages) for i in range(position + 1)]
        return BulkResult(files=files, versions_published=len(reports), index_version=version, documents=documents,
                          passages_embedded=sum(r.passages_embedded for r in reports),
                          sentences_embedded=sum(r.sentences_embedded for r in reports),
                          seconds=round(time.perf_counter() - started, 3))

    def remove(self, doc_id: str, live: LoadedIndex | None = None) -> ChangeResult:
        """Drop a document's passages, vectors and BM25 entries from the index."""
        started = time.perf_counter()
        with self._claim([doc_id]) as busy:
            if busy:
                raise busy[doc_id]
            with self._write, self.library.lock(self.lock_wait):
                state, entries = self._read_library()
                if doc_id not in entries:
                    raise UnknownDocumentError(f"unknown document id {doc_id!r}")
                if len(entries) == 1:
                    raise CorpusError(f"{doc_id!r} is the only document; an index needs at least one")
                new_state = state.copy()
                new_state.added.pop(doc_id, None)
                if doc_id in self._seed_ids():
                    new_state.removed.append(doc_id)
                report = self._build(new_state, state, live, False, f"removing {doc_id}", changed=set())
        passages = report.doc_passages.get(doc_id, 0)
        log.info("removed %s: index %s", doc_id, report.version.name)
        return ChangeResult(status="removed", doc_id=doc_id, title=entries[doc_id].meta.title, passages=passages,
                            passages_embedded=report.passages_embedded, sentences_embedded=report.sentences_embedded,
                            seconds=round(time.perf_counter() - started, 3), index_version=report.version.name,
                            documents=report.manifest.n_documents, message=f"removed {doc_id}")

    # ------------------------------------------------------------------ steps
    def _prepare(self, position: int, upload: Upload) -> _Prepared:
        name = check_file_name(upload.filename)
        suffix = Path(name).suffix.lower()
        if suffix not in supported_suffixes():
            raise UnsupportedFormatError(
                f"{name}: unsupported file type {suffix or '(none)'!r}; "
                f"supported: {', '.join(sorted(supported_suffixes()))}")
        given = upload.given
        given.check()
        limit = self.settings.max_upload_bytes
        data = upload.read(limit)
        if len(data) > limit:
            raise DocumentTooLargeError(f"{name}: {len(data)} bytes is over the limit of {limit} bytes")
        doc_id = given.doc_id or doc_id_from_name(name)
        if suffix in TEXT_SUFFIXES:
            text, _ = decode_bytes(data, name)
            rendition = None
        else:
            from briefsearch.ingest.extract_worker import extract_isolated

            text = extract_isolated(data, suffix, name, self.settings.extract_timeout,
                                    self.settings.extract_memory_mb).text
            rendition = text.encode("utf-8")
        meta = {"title": (given.title or "").strip() or guess_title(text, Path(name).stem),
                "date": (given.date or "").strip(), "publisher": (given.publisher or "").strip(),
                "kind": (given.kind or "").strip()}
        return _Prepared(position, doc_id, name, data, rendition, meta, sha256_bytes(data))

    @staticmethod
    def _check_twins(prepared: _Prepared, ids: dict[str, str], checksums: dict[str, str]) -> None:
        """Two files of one add may not be the same document (id) or the same file (bytes)."""
        if prepared.checksum in checksums:
            raise DocumentConflictError(f"{prepared.name}: the same file as {checksums[prepared.checksum]}, "
                                        "given before it in this add")
        if prepared.doc_id in ids:
            raise DocumentConflictError(f"{prepared.name}: {ids[prepared.doc_id]}, given before it in this add, "
                                        f"has the same document id {prepared.doc_id!r}")
        ids[prepared.doc_id] = checksums[prepared.checksum] = prepared.name

    def _stage_and_publish(self, batch: list[_Prepared], live: LoadedIndex | None, progress: bool,
                           outcomes: dict[int, FileResult], reports: list[BuildReport]) -> None:
        """Under the writer lock: refuse twins of indexed documents, stage the rest, publish them in one
        version (a file the build cannot parse is refused and the build redone without it)."""
        with self._claim([p.doc_id for p in batch]) as busy:
            for p in batch:
                if p.doc_id in busy:
                    outcomes[p.position] = _refused(p.name, busy[p.doc_id])
            batch = [p for p in batch if p.doc_id not in busy]
            if not batch:
                return
            with self._write, self.library.lock(self.lock_wait):
                state, entries = self._read_library()
                new_state, staged = self._stage(batch, state, entries, outcomes)
                if not staged:
                    return
                what = f"adding {len(staged)} documents" if len(staged) > 1 else f"adding {next(iter(staged))}"
                while True:
                    try:
                        report = self._build(new_state, state, live, progress, what, changed=set(staged))
                        break
                    except DocumentBuildError as exc:  # a staged file the build cannot parse: refuse it, rebuild
                        p = staged.pop(exc.doc_id)
                        outcomes[p.position] = _refused(p.name, exc)
                        _restore(new_state, state, exc.doc_id)
                        if not staged:
                            self._discard(state)
                            return
        reports.append(report)
        for doc_id, p in staged.items():
            status = "replaced" if doc_id in entries else "added"
            outcomes[p.position] = FileResult(p.name, status, doc_id, p.meta["title"],
                                              report.doc_passages.get(doc_id, 0), f"{status} {doc_id}")
        log.info("%s: index %s has %d documents; embedded %d passages + %d sentences", what,
                 report.version.name, report.manifest.n_documents, report.passages_embedded,
                 report.sentences_embedded)

    def _stage(self, batch: list[_Prepared], state: LibraryState, entries: dict[str, LibraryEntry],
               outcomes: dict[int, FileResult]) -> tuple[LibraryState, dict[str, _Prepared]]:
        """The library state with the batch's new and changed documents stored; twins of indexed documents are
        refused and unchanged ones reported. Holds the writer lock (the next commit collects what is not kept)."""
        indexed = {doc_id: _checksum(entry) for doc_id, entry in entries.items()}
        new_state = state.copy()
        staged: dict[str, _Prepared] = {}
        for p in batch:
            twin = next((d for d, c in indexed.items() if c == p.checksum and d != p.doc_id), None)
            current = entries.get(p.doc_id)
            if twin is not None:
                outcomes[p.position] = _refused(p.name, DocumentConflictError(
                    f"{p.name}: the same file is already indexed as {twin!r}"))
            elif current is not None and indexed[p.doc_id] == p.checksum and _same_meta(current, p.meta):
                outcomes[p.position] = FileResult(p.name, "unchanged", p.doc_id, p.meta["title"], None,
                                                  "the same file with the same metadata is already indexed; "
                                                  "nothing changed")
            else:
                stored = self.library.store_file(p.data, p.name)
                text_file = stored
                if p.rendition is not None:
                    text_file = self.library.store_file(p.rendition, p.name, suffix=".txt")
                new_state.added[p.doc_id] = new_entry(stored, text_file, p.name, p.data, p.meta)
                if p.doc_id in new_state.removed:
                    new_state.removed.remove(p.doc_id)
                staged[p.doc_id] = p
        return new_state, staged

    def _read_library(self) -> tuple[LibraryState, dict[str, LibraryEntry]]:
        """The library's state and documents; a library.json or seed manifest the server cannot read is its
        fault, not the request's."""
        try:
            state = self.library.state()
            return state, {e.meta.doc_id: e for e in self.library.entries(state)}
        except CorpusError as exc:
            raise ServerFaultError(f"the corpus library cannot be read ({exc}); nothing was changed") from exc

    @contextmanager
    def _claim(self, doc_ids: list[str]) -> Iterator[dict[str, DocumentConflictError]]:
        """A second change to a document while one is running is refused, not queued: yields the ids some other
        request is changing, each with its refusal."""
        with self._guard:
            busy = {d: DocumentConflictError(f"document {d!r} is being changed by another request; retry")
                    for d in doc_ids if d in self._busy}
            claimed = [d for d in doc_ids if d not in busy]
            self._busy.update(claimed)
        try:
            yield busy
        finally:
            with self._guard:
                self._busy.difference_update(claimed)

    def _build(self, new_state: LibraryState, old_state: LibraryState, live: LoadedIndex | None, progress: bool,
               what: str, changed: set[str]) -> BuildReport:
        """Build and publish ``new_state``. A document of ``changed`` the build cannot parse raises its
        ``DocumentBuildError`` (the caller's file); any other failure is the server's, and what was staged goes."""
        try:
            return build_index(self.settings, self.encoder, self.korean, progress=progress, library_state=new_state,
                               before_publish=lambda: self.library.commit(new_state), live=live)
        except DocumentBuildError as exc:
            if exc.doc_id in changed:
                raise
            self._discard(old_state)
            raise ServerFaultError(f"{what} failed: the index could not be rebuilt ({exc}); nothing was changed "
                                   "and the current index keeps serving") from exc
        except BaseException as exc:
            self._discard(old_state)
            if isinstance(exc, Exception):
                raise ServerFaultError(f"{what} failed: the index could not be rebuilt ({exc}); nothing was "
                                       "changed and the current index keeps serving") from exc
            raise  # Ctrl-C: the previous version and library stay as they were

    def _discard(self, old_state: LibraryState) -> None:
        """Delete the files a change staged, unless the library moved on (they are then the next commit's)."""
        if self.library.state() == old_state:
            self.library.collect_garbage(old_state)

    def _live_version(self) -> tuple[str, int]:
        from briefsearch.store.versions import live_version, read_manifest

        manifest = read_manifest(self.settings.index_dir)
        version = live_version(self.settings.index_dir)
        return (version.name if version else ""), (manifest.n_documents if manifest else 0)

    def _seed_ids(self) -> set[str]:
        if not (self.settings.corpus_dir / "manifest.json").is_file():
            return set()
        return {m.doc_id for m in load_manifest(self.settings.corpus_dir)}


def _refused(filename: str, exc: BriefsearchError) -> FileResult:
    return FileResult(filename, "refused", "", "", None, str(exc), exc)


def _with_passages(result: FileResult, passages: dict[str, int]) -> FileResult:
    if result.status == "refused" or result.doc_id not in passages:
        return result
    return FileResult(result.filename, result.status, result.doc_id, result.title, passages[result.doc_id],
                      result.message, result.error)


def _restore(new_state: LibraryState, old_state: LibraryState, doc_id: str) -> None:
    """Undo the staging of one document in ``new_state``."""
    if doc_id in old_state.added:
        new_state.added[doc_id] = old_state.added[doc_id]
    else:
        new_state.added.pop(doc_id, None)
    if doc_id in old_state.removed and doc_id not in new_state.removed:
        new_state.removed.append(doc_id)


def _checksum(entry: LibraryEntry) -> str:
    if entry.sha256:
        return entry.sha256
    try:
        return sha256_bytes(entry.original.read_bytes())
    except OSError:
        return ""


def _same_meta(entry: LibraryEntry, meta: dict) -> bool:
    return all(getattr(entry.meta, k) == v for k, v in meta.items())
