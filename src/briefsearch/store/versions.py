"""The on-disk index: FAISS vectors, chunk sidecar, documents and a manifest, written atomically.

Layout under ``<data_dir>/index/``::

    CURRENT              name of the live version directory (replaced atomically)
    v-<time>-<rand>/     one complete version
        manifest.json    model identity, chunker version, corpus checksums, build time
        vectors.faiss    IndexIDMap2 over L2-normalised vectors (cosine): IndexFlatIP (exact) below
                         Settings.faiss_exact_below passages, the faiss_factory type (HNSW) above;
                         the manifest's ``index_type`` says which
        chunks.jsonl     one chunk per line, keyed by the FAISS id
        documents.json   document metadata and normalised text
        lexical/         bm25s index over Korean morphemes (rows = chunk ids)
        second.faiss     the second encoder's passage vectors (``second_model``), same ids and index type;
                         only when the manifest's model names a ``second``
        sentences.npy    one vector per distinct sentence, for extractive answers (float16 by default:
                         half the bytes, the same answers; the manifest's ``sentence_dtype``)

A version directory is complete before ``CURRENT`` names it, so a build that
dies leaves the previous index serving; stale versions are removed afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from briefsearch.chunking.chunker import CHUNKER_VERSION
from briefsearch.config import Settings
from briefsearch.errors import IndexIncompatibleError, IndexMissingError
from briefsearch.store.lexical import ANALYZER_VERSION, LexicalIndex
from briefsearch.store.vectors import EXACT, build_vector_index, factory_kind, index_kind
from briefsearch.types import Chunk, DocumentRecord

FORMAT_VERSION = 2  # 2: index type by size, float16 sentence vectors
POINTER = "CURRENT"


@dataclass(slots=True)
class IndexManifest:
    """What an index was built from; compared on load and before serving."""

    model: dict
    chunker: dict
    corpus: dict[str, dict]
    built_at: str
    n_documents: int
    n_chunks: int
    next_chunk_id: int
    build_seconds: float = 0.0
    format_version: int = FORMAT_VERSION
    index_type: str = EXACT  # FAISS factory string the vectors were indexed with
    sentence_dtype: str = "float32"

    @classmethod
    def from_dict(cls, data: dict) -> IndexManifest:
        return cls(**data)


@dataclass(slots=True)
class LoadedIndex:
    """Everything search needs, held in memory."""

    path: Path
    manifest: IndexManifest
    faiss_index: faiss.Index
    chunks: dict[int, Chunk]
    documents: dict[str, DocumentRecord]
    lexical: LexicalIndex
    sentence_vectors: np.ndarray
    second_faiss: faiss.Index | None = None  # the second encoder's passage vectors, when built with one


def _fsync_write(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def live_version(index_dir: Path) -> Path | None:
    """The directory ``CURRENT`` points to, if any."""
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def read_manifest(index_dir: Path) -> IndexManifest | None:
    version = live_version(index_dir)
    if version is None:
        return None
    try:
        return IndexManifest.from_dict(json.loads((version / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_index(index_dir: Path, manifest: IndexManifest, vectors: np.ndarray, chunks: list[Chunk],
                documents: list[DocumentRecord], lexical: LexicalIndex,
                sentence_vectors: np.ndarray | None = None, ef_construction: int = 80,
                second_vectors: np.ndarray | None = None) -> Path:
    """Write a complete new version, then switch ``CURRENT`` to it in one rename."""
    version = write_version(index_dir, manifest, vectors, chunks, documents, lexical, sentence_vectors,
                            ef_construction, second_vectors)
    publish_version(index_dir, version)
    return version


def write_version(index_dir: Path, manifest: IndexManifest, vectors: np.ndarray, chunks: list[Chunk],
                  documents: list[DocumentRecord], lexical: LexicalIndex,
                  sentence_vectors: np.ndarray | None = None, ef_construction: int = 80,
                  second_vectors: np.ndarray | None = None) -> Path:
    """Write a complete version directory (not yet live): temp dir, fsync every file, one rename.

    The FAISS index is of ``manifest.index_type``; sentence vectors are stored as ``manifest.sentence_dtype``.
    """
    if len(chunks) != len(vectors):
        raise ValueError("one vector per chunk is required")
    second = manifest.model.get("second")
    if (second is None) != (second_vectors is None) or (second_vectors is not None and
                                                        len(second_vectors) != len(chunks)):
        raise ValueError("the second encoder's vectors go with a manifest naming it, one per chunk")
    if sorted(int(i) for i in lexical.chunk_ids) != sorted(c.chunk_id for c in chunks):
        raise ValueError("the lexical index must cover exactly the chunks written")
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir()
    try:
        ids = np.array([c.chunk_id for c in chunks], dtype=np.int64)
        index = build_vector_index(vectors, ids, int(manifest.model["dim"]), manifest.index_type, ef_construction)
        _fsync_write(tmp / "vectors.faiss", faiss.serialize_index(index).tobytes())
        if second_vectors is not None:
            index = build_vector_index(second_vectors, ids, int(second["dim"]), manifest.index_type, ef_construction)
            _fsync_write(tmp / "second.faiss", faiss.serialize_index(index).tobytes())
        lines = "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks)
        _fsync_write(tmp / "chunks.jsonl", lines.encode("utf-8"))
        docs = [_doc_dict(d) for d in documents]
        _fsync_write(tmp / "documents.json", json.dumps(docs, ensure_ascii=False).encode("utf-8"))
        lexical.save(tmp / "lexical")
        if sentence_vectors is None:
            sentence_vectors = np.zeros((0, int(manifest.model["dim"])), dtype=np.float32)
        with (tmp / "sentences.npy").open("wb") as fh:
            np.save(fh, np.ascontiguousarray(sentence_vectors, dtype=np.dtype(manifest.sentence_dtype)))
            fh.flush()
            os.fsync(fh.fileno())
        # the manifest goes last: a version directory with a manifest is complete
        _fsync_write(tmp / "manifest.json", json.dumps(_manifest_dict(manifest), ensure_ascii=False, indent=1).encode())
        final = index_dir / name
        os.rename(tmp, final)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def publish_version(index_dir: Path, version: Path) -> None:
    """Point ``CURRENT`` at a complete version in one atomic rename; then drop older versions."""
    before = live_version(index_dir)
    pointer_tmp = index_dir / f".{POINTER}.{secrets.token_hex(3)}"
    _fsync_write(pointer_tmp, version.name.encode("utf-8"))
    os.replace(pointer_tmp, index_dir / POINTER)
    _fsync_dir(index_dir)
    # the version just replaced stays one round: a reader that read CURRENT a moment ago can still load it
    _remove_stale_versions(index_dir, keep={version.name} | ({before.name} if before else set()))


def _doc_dict(doc: DocumentRecord) -> dict:
    return {k: getattr(doc, k) for k in DocumentRecord.__slots__}


def _manifest_dict(manifest: IndexManifest) -> dict:
    return {k: getattr(manifest, k) for k in IndexManifest.__slots__}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_versions(index_dir: Path, keep: set[str]) -> None:
    """Drop old published versions (never the live one, nor any build's temp dir: another build may own it)."""
    for path in index_dir.iterdir():
        if path.name in keep or path.name == POINTER or not path.is_dir():
            continue
        if path.name.startswith("v-"):
            shutil.rmtree(path, ignore_errors=True)


def remove_build_leftovers(index_dir: Path) -> None:
    """Temp dirs and pointer files of builds that died; only safe while holding the library lock."""
    if not index_dir.is_dir():
        return
    for path in index_dir.iterdir():
        if path.name.startswith(".tmp-v-") and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{POINTER}.") and path.is_file():
            path.unlink(missing_ok=True)


def chunker_identity(settings: Settings) -> dict:
    """Everything that changes how text becomes chunks (and their BM25 rows): the manifest's ``chunker``.

    Here, not in chunking/, because it names the store's lexical analyzer and BM25 parameters too. The keys keep
    the names of the flat settings they had when the manifest format was set, so existing indexes stay compatible.
    """
    return {
        "version": CHUNKER_VERSION,
        "max_chunk_tokens": settings.chunking.max_tokens,
        "overlap_sentences": settings.chunking.overlap_sentences,
        "passage_prefix": settings.prompts.passage,
        "lexical_analyzer": ANALYZER_VERSION,
        "bm25": {"k1": settings.bm25.k1, "b": settings.bm25.b},
    }


def same_model(built: dict, configured: dict) -> bool:
    """Were the index's vectors made by the configured encoder(s)? Checksums and dimensions, the second too."""
    def key(identity: dict | None) -> tuple | None:
        return None if identity is None else (identity.get("checksum"), identity.get("dim"))

    return key(built) == key(configured) and key(built.get("second")) == key(configured.get("second"))


def check_compatible(manifest: IndexManifest, model_identity: dict, chunker: dict) -> None:
    """Refuse an index built by another model or chunker: its vectors would not be comparable."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexIncompatibleError(
            f"index format {manifest.format_version} is not {FORMAT_VERSION}; rebuild with `briefsearch index build`"
        )
    built = manifest.model
    if not same_model(built, model_identity):
        raise IndexIncompatibleError(
            f"index was built with model {built.get('name')!r} (checksum {str(built.get('checksum'))[:12]}), "
            f"but the configured model is {model_identity.get('name')!r} "
            f"(checksum {str(model_identity.get('checksum'))[:12]}); rebuild with `briefsearch index build`"
        )
    if manifest.chunker != chunker:
        raise IndexIncompatibleError(
            f"index was built with chunker {manifest.chunker}, but this version uses {chunker}; "
            "rebuild with `briefsearch index build`"
        )


def load_index(index_dir: Path) -> LoadedIndex:
    """Load the live version; raises ``IndexMissingError`` when there is none."""
    version = live_version(index_dir)
    if version is None or not (version / "manifest.json").is_file():
        raise IndexMissingError(f"no index in {index_dir}; build it with `briefsearch index build`")
    manifest = IndexManifest.from_dict(json.loads((version / "manifest.json").read_text(encoding="utf-8")))
    raw = np.frombuffer((version / "vectors.faiss").read_bytes(), dtype=np.uint8)
    faiss_index = faiss.deserialize_index(raw)
    chunks: dict[int, Chunk] = {}
    with (version / "chunks.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            chunk = Chunk.from_dict(json.loads(line))
            chunks[chunk.chunk_id] = chunk
    documents = {
        d["doc_id"]: DocumentRecord(**d)
        for d in json.loads((version / "documents.json").read_text(encoding="utf-8"))
    }
    lexical = LexicalIndex.load(version / "lexical")
    sentence_vectors = np.load(version / "sentences.npy")
    if index_kind(faiss_index) != factory_kind(manifest.index_type, int(manifest.model["dim"])):
        raise IndexIncompatibleError(f"index at {version}: vectors.faiss is not the manifest's {manifest.index_type}")
    if faiss_index.ntotal != len(chunks) or manifest.n_chunks != len(chunks) or len(lexical.chunk_ids) != len(chunks):
        raise IndexIncompatibleError(f"index at {version} is inconsistent (vectors, passages, BM25); rebuild it")
    second = None
    if manifest.model.get("second") is not None:
        second = faiss.deserialize_index(np.frombuffer((version / "second.faiss").read_bytes(), dtype=np.uint8))
        if second.ntotal != len(chunks) or second.d != int(manifest.model["second"]["dim"]):
            raise IndexIncompatibleError(f"index at {version}: second.faiss does not match its passages; rebuild it")
    return LoadedIndex(path=version, manifest=manifest, faiss_index=faiss_index, chunks=chunks, documents=documents,
                       lexical=lexical, sentence_vectors=sentence_vectors, second_faiss=second)
