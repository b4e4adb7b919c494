"""Read corpus files and their manifest.

Offsets in citations refer to the file decoded with the encoding detected here
(UTF-8, UTF-8 with BOM, or CP949/EUC-KR), without newline translation, so that
``path.read_bytes().decode(encoding)[char_start:char_end]`` is the cited text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from briefsearch.errors import CorpusError
from briefsearch.types import DocumentMeta, SourceText

ENCODINGS = ("utf-8-sig", "cp949")
TEXT_SUFFIXES = frozenset({".txt", ".md"})


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_bytes(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode with the first encoding that fits; refuse binary or empty input."""
    if not data.strip():
        raise CorpusError(f"{name}: file is empty")
    if b"\x00" in data[:4096]:
        raise CorpusError(f"{name}: looks binary (NUL bytes), not a text document")
    for encoding in ENCODINGS:
        if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not text.strip():
            raise CorpusError(f"{name}: file is empty")
        return text, encoding
    raise CorpusError(f"{name}: not decodable as UTF-8 or CP949/EUC-KR")


def read_source(path: Path) -> SourceText:
    """Decode a corpus file; the result's ``raw`` is what offsets index into."""
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise CorpusError(f"{path.name}: unsupported file type {path.suffix!r} (expected .txt or .md)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from exc
    raw, encoding = decode_bytes(data, path.name)
    starts = [0]
    pos = raw.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = raw.find("\n", pos + 1)
    return SourceText(path=path, raw=raw, encoding=encoding, sha256=sha256_bytes(data), line_starts=starts)


def read_original(path: Path, encoding: str) -> str:
    """The file text that citation offsets slice (same decoding as indexing)."""
    return path.read_bytes().decode(encoding)


def load_manifest(corpus_dir: Path) -> list[DocumentMeta]:
    """Documents listed in ``corpus/manifest.json``; every listed file must exist."""
    manifest_path = corpus_dir / "manifest.json"
    try:
        payload = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(f"no manifest at {manifest_path}") from exc
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{manifest_path}: invalid JSON ({exc})") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("documents", []), list):
        raise CorpusError(f"{manifest_path}: expected an object with a 'documents' list")
    docs: list[DocumentMeta] = []
    seen: set[str] = set()
    for entry in payload.get("documents", []):
        try:
            if not isinstance(entry, dict):
                raise TypeError("not an object")
            meta = DocumentMeta(**entry)
        except TypeError as exc:
            raise CorpusError(f"{manifest_path}: bad entry {entry!r}: {exc}") from exc
        if meta.doc_id in seen:
            raise CorpusError(f"{manifest_path}: duplicate doc_id {meta.doc_id}")
        if not (corpus_dir / meta.file).is_file():
            raise CorpusError(f"{manifest_path}: {meta.file} listed but missing")
        seen.add(meta.doc_id)
        docs.append(meta)
    if not docs:
        raise CorpusError(f"{manifest_path}: lists no documents")
    return docs
