"""Which documents make up the corpus: the seed corpus plus documents added and removed at run time.

The seed corpus is ``corpus_dir/manifest.json`` (part of the source tree, never
written to). Documents added with ``briefsearch add`` or ``POST /documents``
are stored under ``<data_dir>/library/``::

    library.json         {"added": {doc_id: entry}, "removed": [seed doc ids]}, replaced atomically
    files/<sha>-<name>   originals as uploaded (content-addressed, so never overwritten)
    files/<...>.txt      the text rendition of a PDF/DOCX/HWPX/HWP original, which citations slice

A document added with the id of a seed document overrides it; removing a seed
document records it under ``removed``. Files no committed state refers to are
leftovers of an ingestion that died, and are deleted by the next commit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from briefsearch.config import Settings
from briefsearch.errors import CorpusError, LibraryBusyError
from briefsearch.ingest.sources import load_manifest, sha256_bytes
from briefsearch.types import DocumentMeta

DOC_ID = re.compile(r"^[^\W][\w.-]{0,99}$")
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One document to index: its metadata, the text citations slice, and where it came from."""

    meta: DocumentMeta
    path: Path  # the text that is indexed and cited (the original for .txt/.md, else its rendition)
    original: Path  # the file as given
    origin: str  # "corpus" (seed manifest) or "added"
    added_at: str = ""
    original_name: str = ""
    sha256: str = ""  # of the original's bytes


@dataclass(slots=True)
class LibraryState:
    """The contents of ``library.json``."""

    added: dict[str, dict] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def copy(self) -> LibraryState:
        return LibraryState(added={k: dict(v) for k, v in self.added.items()}, removed=list(self.removed))


def check_doc_id(doc_id: str) -> str:
    """Document ids appear in URLs and file names: letters, digits, '_', '-', '.', at most 100."""
    if not DOC_ID.match(doc_id or ""):
        raise CorpusError(f"invalid document id {doc_id!r}: use letters, digits, '_', '-' or '.' (at most 100), "
                          "starting with a letter or digit")
    return doc_id


def check_file_name(name: str) -> str:
    """An uploaded file's name must be a plain name: no directories, no '..', no control characters."""
    if not name or name != name.strip() or "/" in name or "\\" in name or name in (".", "..") or ".." in name:
        raise CorpusError(f"invalid file name {name!r}: give a plain file name without directories or '..'")
    if any(unicodedata.category(ch).startswith("C") for ch in name) or len(name) > 255:
        raise CorpusError(f"invalid file name {name!r}: control characters or longer than 255 characters")
    return name


def doc_id_from_name(name: str) -> str:
    """A document id derived from a file name: its stem with unsafe characters replaced."""
    stem = unicodedata.normalize("NFC", Path(name).stem)
    candidate = _UNSAFE_NAME.sub("_", stem).strip("._-")[:100]
    return check_doc_id(candidate or "document")


class Library:
    """Reads and atomically replaces the library state; lists the documents to index."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "library"
        self.files = self.root / "files"
        self.state_path = self.root / "library.json"

    # ------------------------------------------------------------------ reading
    def state(self) -> LibraryState:
        try:
            payload = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return LibraryState()
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{self.state_path}: unreadable library state ({exc})") from exc
        return LibraryState(added=dict(payload.get("added", {})), removed=list(payload.get("removed", [])))

    def entries(self, state: LibraryState | None = None) -> list[LibraryEntry]:
        """Seed documents (minus removed and overridden ones), then added ones in the order they came."""
        state = state if state is not None else self.state()
        out: list[LibraryEntry] = []
        seed_dir = self.settings.corpus_dir
        seed = load_manifest(seed_dir) if (seed_dir / "manifest.json").is_file() or not state.added else []
        for meta in seed:
            if meta.doc_id in state.removed or meta.doc_id in state.added:
                continue
            path = seed_dir / meta.file
            out.append(LibraryEntry(meta=meta, path=path, original=path, origin="corpus"))
        for doc_id, entry in state.added.items():
            meta = DocumentMeta(doc_id=doc_id, file=entry["file"], title=entry["title"],
                                publisher=entry.get("publisher", ""), date=entry.get("date", ""),
                                kind=entry.get("kind", ""))
            out.append(LibraryEntry(meta=meta, path=self.files / entry["file"],
                                    original=self.files / entry["original"], origin="added",
                                    added_at=entry.get("added_at", ""), original_name=entry.get("original_name", ""),
                                    sha256=entry.get("sha256", "")))
        return out

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        """One writer (change or build) at a time across processes; readers never wait.

        Waits up to ``timeout`` seconds, then raises ``LibraryBusyError`` (HTTP 409 with Retry-After).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a+") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LibraryBusyError("another change or index build is still running; retry shortly",
                                               retry_after=max(1.0, timeout)) from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def store_file(self, data: bytes, name: str, suffix: str = "") -> str:
        """Write bytes under ``files/`` (temp file, fsync, rename) and return the stored name."""
        self.files.mkdir(parents=True, exist_ok=True)
        stored = f"{sha256_bytes(data)[:16]}-{_UNSAFE_NAME.sub('_', Path(name).stem)[:60]}{suffix or Path(name).suffix}"
        target = self.files / stored
        if not target.exists():
            tmp = self.files / f".tmp-{secrets.token_hex(4)}"
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        return stored

    def commit(self, state: LibraryState) -> None:
        """Replace ``library.json`` in one rename, then delete files no state refers to."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".library.{secrets.token_hex(4)}.json"
        payload = {"added": state.added, "removed": sorted(set(state.removed))}
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)
        self.collect_garbage(state)

    def collect_garbage(self, state: LibraryState) -> None:
        """Remove stored files and temp files that the committed state does not name."""
        keep = {e["file"] for e in state.added.values()} | {e["original"] for e in state.added.values()}
        if self.files.is_dir():
            for path in self.files.iterdir():
                if path.name not in keep:
                    path.unlink(missing_ok=True)
        for path in self.root.glob(".library.*.json"):
            path.unlink(missing_ok=True)


def new_entry(stored_original: str, stored_text: str, original_name: str, data: bytes, meta: dict) -> dict:
    """The ``library.json`` record of an added document."""
    return {
        "file": stored_text, "original": stored_original, "original_name": original_name,
        "title": meta["title"], "publisher": meta.get("publisher", ""), "date": meta.get("date", ""),
        "kind": meta.get("kind", ""), "sha256": sha256_bytes(data),
        "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def guess_title(text: str, fallback: str) -> str:
    """The title a press release's header states, else the first heading or non-empty line (briefings open
    with their title)."""
    from briefsearch.structure.releases import stated_title

    if stated := stated_title(text):
        return stated[:120]
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip().strip("\f")
        if len(line) >= 2:
            return line[:120]
    return fallback


def entry_dict(entry: LibraryEntry) -> dict:
    """A library entry as plain data (CLI ``list --json``)."""
    data = asdict(entry.meta)
    data.update(origin=entry.origin, path=str(entry.path), original=str(entry.original), added_at=entry.added_at,
                original_name=entry.original_name)
    return data
