"""The on-disk index: build/load round trip, atomic publishing, freshness, stable chunk ids, model window.

Builds use the real model (session ``encoder``) on a tiny corpus: the cover and
first article of a real briefing (004), so each build takes seconds.  Tests that
only need *an* index copy the module's built data directory instead of rebuilding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

import faiss
import numpy as np
import pytest

from briefsearch.build.pipeline import build_index, corpus_state, index_status
from briefsearch.chunking.chunker import CHUNKER_VERSION, MODEL_WINDOW, Chunker
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.errors import IndexIncompatibleError
from briefsearch.ingest.sources import load_manifest, read_original, read_source
from briefsearch.store.versions import (
    POINTER,
    IndexManifest,
    LoadedIndex,
    check_compatible,
    chunker_identity,
    live_version,
    load_index,
    read_manifest,
    remove_build_leftovers,
    write_index,
)
from briefsearch.structure.parser import parse_document

CORPUS_DIR = REPO_ROOT / "corpus"
DOC_ID = "004_0772bc47312adfbb"
SLICE_LINES = 86  # cover, CONTENTS, disclaimer and article 01 (with its table)
EDIT_FROM = "2024년 460TWh에서"
EDIT_TO = "2024년 415TWh에서"


def make_corpus(folder: Path) -> Path:
    """A one-document corpus: a slice of a real briefing plus its real manifest entry."""
    folder.mkdir(parents=True)
    lines = (CORPUS_DIR / f"{DOC_ID}.txt").read_text(encoding="utf-8").split("\n")
    (folder / f"{DOC_ID}.txt").write_text("\n".join(lines[:SLICE_LINES]) + "\n", encoding="utf-8")
    entry = next(d for d in json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))["documents"]
                 if d["doc_id"] == DOC_ID)
    (folder / "manifest.json").write_text(json.dumps({"documents": [entry]}, ensure_ascii=False), encoding="utf-8")
    return folder


def edit_doc(settings: Settings, old: str, new: str) -> None:
    path = settings.corpus_dir / f"{DOC_ID}.txt"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def vectors_of(loaded: LoadedIndex, ids: list[int]) -> np.ndarray:
    return np.vstack([loaded.faiss_index.reconstruct(i) for i in ids]).astype(np.float32)


def tmp_dirs(index_dir: Path) -> list[str]:
    return [p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-")]


def rewrite_live_manifest(settings: Settings, change) -> None:
    version = live_version(settings.index_dir)
    assert version is not None
    path = version / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, encoder, korean) -> tuple[Settings, IndexManifest]:
    root = tmp_path_factory.mktemp("store")
    settings = Settings(data_dir=root / "data", corpus_dir=make_corpus(root / "corpus"))
    manifest = build_index(settings, encoder, korean=korean, progress=False).manifest
    return settings, manifest


@pytest.fixture
def index_copy(built, tmp_path: Path) -> Settings:
    """A private copy of the built index, over the same (unchanged) corpus."""
    settings, _ = built
    shutil.copytree(settings.data_dir, tmp_path / "data")
    return Settings(data_dir=tmp_path / "data", corpus_dir=settings.corpus_dir)


# ------------------------------------------------------------------ round trip


def test_build_then_load_round_trip(built, encoder) -> None:
    settings, manifest = built
    loaded = load_index(settings.index_dir)
    assert dataclasses.asdict(loaded.manifest) == dataclasses.asdict(manifest)
    docs = load_manifest(settings.corpus_dir)
    assert manifest.n_documents == len(docs) == len(loaded.documents) == 1
    assert manifest.n_chunks == len(loaded.chunks) == loaded.faiss_index.ntotal
    assert manifest.n_chunks >= 5
    assert loaded.faiss_index.d == encoder.dim == manifest.model["dim"]
    # identity of what built it
    assert manifest.model == encoder.identity
    assert set(manifest.model) >= {"name", "checksum", "dim"} and manifest.model["name"]
    assert manifest.chunker == chunker_identity(settings)
    assert manifest.chunker["version"] == CHUNKER_VERSION
    file = settings.corpus_dir / f"{DOC_ID}.txt"
    assert manifest.corpus == corpus_state(settings)
    assert manifest.corpus[DOC_ID]["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    built_at = datetime.fromisoformat(manifest.built_at)
    assert built_at.tzinfo is not None
    # ids: a first build numbers chunks 0..n-1, and FAISS holds exactly those ids
    ids = sorted(loaded.chunks)
    assert ids == list(range(manifest.n_chunks))
    assert manifest.next_chunk_id == manifest.n_chunks
    id_map = faiss.downcast_index(loaded.faiss_index)
    assert sorted(faiss.vector_to_array(id_map.id_map).tolist()) == ids
    # vectors are unit length (inner product == cosine)
    norms = np.linalg.norm(vectors_of(loaded, ids), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)


def test_loaded_documents_and_chunk_citations(built) -> None:
    settings, manifest = built
    loaded = load_index(settings.index_dir)
    record = loaded.documents[DOC_ID]
    file = settings.corpus_dir / f"{DOC_ID}.txt"
    source = read_source(file)
    assert record.encoding == source.encoding == "utf-8"
    assert record.sha256 == source.sha256
    assert record.chunk_count == manifest.n_chunks
    assert "01 '하늘 위 데이터센터' 구축 나선 중국" in record.text
    original = read_original(file, record.encoding)
    for chunk in loaded.chunks.values():
        assert chunk.doc_id == DOC_ID
        cited = original[chunk.char_start : chunk.char_end]
        assert cited and cited[0] == chunk.text[0] and cited[-1] == chunk.text[-1]
        assert chunk.line_start == source.line_of(chunk.char_start) <= chunk.line_end
        assert chunk.embed_text.startswith(record.title)
        assert chunk.text in chunk.embed_text
    assert any(c.kind == "table" and c.table_header for c in loaded.chunks.values())


def test_stored_vectors_are_the_passage_embeddings(built, encoder) -> None:
    settings, _ = built
    loaded = load_index(settings.index_dir)
    chunk = max(loaded.chunks.values(), key=lambda c: len(c.text))
    query = encoder.encode_passages([chunk.embed_text], progress=False)
    scores, ids = loaded.faiss_index.search(query, 3)
    assert int(ids[0][0]) == chunk.chunk_id
    assert scores[0][0] == pytest.approx(1.0, abs=1e-3)


# ------------------------------------------------------------------ atomic publishing


def test_failed_writes_leave_previous_version_serving(index_copy: Settings) -> None:
    index_dir = index_copy.index_dir
    before = load_index(index_dir)
    pointer = (index_dir / POINTER).read_text(encoding="utf-8")
    entries = sorted(p.name for p in index_dir.iterdir())
    ids = sorted(before.chunks)
    chunks = [before.chunks[i] for i in ids]
    vectors = vectors_of(before, ids)
    documents = list(before.documents.values())

    # 1. wrong number of vectors: refused before anything is written
    with pytest.raises(ValueError, match="one vector per chunk"):
        write_index(index_dir, before.manifest, vectors[:-1], chunks, documents, before.lexical)
    # 2. a chunk that cannot be serialised: fails midway (vectors already written to the temp dir)
    broken = [*chunks[:-1], dataclasses.replace(chunks[-1], page=object())]
    with pytest.raises(TypeError):
        write_index(index_dir, before.manifest, vectors, broken, documents, before.lexical)

    assert (index_dir / POINTER).read_text(encoding="utf-8") == pointer
    assert sorted(p.name for p in index_dir.iterdir()) == entries
    assert tmp_dirs(index_dir) == []
    after = load_index(index_dir)
    assert after.path == before.path
    assert len(after.chunks) == len(before.chunks) == before.manifest.n_chunks
    assert after.faiss_index.ntotal == before.faiss_index.ntotal


def test_successful_write_switches_pointer_and_cleans_up(index_copy: Settings) -> None:
    index_dir = index_copy.index_dir
    before = load_index(index_dir)
    # debris of a build that died, and of a pointer update that died
    (index_dir / ".tmp-v-20000101T000000-dead00").mkdir()
    (index_dir / ".tmp-v-20000101T000000-dead00" / "vectors.faiss").write_bytes(b"partial")
    (index_dir / f".{POINTER}.dead00").write_text("v-x", encoding="utf-8")
    ids = sorted(before.chunks)
    new_path = write_index(index_dir, before.manifest, vectors_of(before, ids),
                           [before.chunks[i] for i in ids], list(before.documents.values()), before.lexical)
    assert new_path != before.path and new_path.parent == index_dir
    assert (index_dir / POINTER).read_text(encoding="utf-8") == new_path.name
    assert live_version(index_dir) == new_path
    # the replaced version stays one round (a reader may be loading it); another build's temp dir is never
    # touched (it may be running), debris goes only with remove_build_leftovers, called under the library lock
    debris = [".tmp-v-20000101T000000-dead00", f".{POINTER}.dead00"]
    assert sorted(p.name for p in index_dir.iterdir()) == sorted([POINTER, new_path.name, before.path.name, *debris])
    remove_build_leftovers(index_dir)
    assert sorted(p.name for p in index_dir.iterdir()) == sorted([POINTER, new_path.name, before.path.name])
    newer = write_index(index_dir, before.manifest, vectors_of(before, ids),
                        [before.chunks[i] for i in ids], list(before.documents.values()), before.lexical)
    assert not before.path.exists()
    assert sorted(p.name for p in index_dir.iterdir()) == sorted([POINTER, new_path.name, newer.name])
    after = load_index(index_dir)
    assert after.path == newer
    assert sorted(after.chunks) == ids
    assert {i: c.text for i, c in after.chunks.items()} == {i: c.text for i, c in before.chunks.items()}


# ------------------------------------------------------------------ freshness


def test_status_missing_for_empty_data_dir(tmp_path: Path, encoder) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=make_corpus(tmp_path / "corpus"))
    status = index_status(settings, encoder.identity)
    assert status.state == "missing"
    assert str(settings.index_dir) in status.reason
    assert read_manifest(settings.index_dir) is None


def test_status_fresh_then_stale_on_corpus_changes(tmp_path: Path, encoder, korean) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=make_corpus(tmp_path / "corpus"))
    manifest = build_index(settings, encoder, korean=korean, progress=False).manifest
    fresh = index_status(settings, encoder.identity)
    assert fresh.state == "fresh" and manifest.built_at in fresh.reason

    doc = settings.corpus_dir / f"{DOC_ID}.txt"
    original = doc.read_bytes()
    edit_doc(settings, EDIT_FROM, EDIT_TO)
    stale = index_status(settings, encoder.identity)
    assert stale.state == "stale" and DOC_ID in stale.reason
    doc.write_bytes(original)
    assert index_status(settings, encoder.identity).state == "fresh"

    # manifest metadata is part of the corpus state too
    manifest_path = settings.corpus_dir / "manifest.json"
    entries = json.loads(manifest_path.read_text(encoding="utf-8"))
    changed = {"documents": [{**entries["documents"][0], "title": "다른 제목"}]}
    manifest_path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    assert index_status(settings, encoder.identity).state == "stale"

    # and so is a document added to the corpus
    (settings.corpus_dir / "extra.txt").write_text("새 문서입니다.\n", encoding="utf-8")
    added = {"documents": [entries["documents"][0], {"doc_id": "extra", "file": "extra.txt", "title": "추가"}]}
    manifest_path.write_text(json.dumps(added, ensure_ascii=False), encoding="utf-8")
    status = index_status(settings, encoder.identity)
    assert status.state == "stale" and "extra" in status.reason


def test_status_incompatible_when_model_differs(index_copy: Settings, encoder) -> None:
    assert index_status(index_copy, encoder.identity).state == "fresh"
    other = {"name": "other-embedder-v9", "checksum": "f" * 64, "dim": encoder.dim}
    rewrite_live_manifest(index_copy, lambda d: d.update(model=other))
    status = index_status(index_copy, encoder.identity)
    assert status.state == "incompatible"
    assert "other-embedder-v9" in status.reason

    manifest = read_manifest(index_copy.index_dir)
    assert manifest is not None
    with pytest.raises(IndexIncompatibleError) as info:
        check_compatible(manifest, encoder.identity, chunker_identity(index_copy))
    message = str(info.value)
    assert "other-embedder-v9" in message
    assert encoder.identity["name"] in message
    assert "f" * 12 in message and encoder.identity["checksum"][:12] in message
    assert "rebuild" in message


def test_check_compatible_refuses_other_dimension_and_format(index_copy: Settings, encoder) -> None:
    manifest = read_manifest(index_copy.index_dir)
    assert manifest is not None
    check_compatible(manifest, encoder.identity, chunker_identity(index_copy))  # the built index is fine
    wrong_dim = dataclasses.replace(manifest, model={**manifest.model, "dim": encoder.dim * 2})
    with pytest.raises(IndexIncompatibleError, match="rebuild"):
        check_compatible(wrong_dim, encoder.identity, chunker_identity(index_copy))
    old_format = dataclasses.replace(manifest, format_version=manifest.format_version + 1)
    with pytest.raises(IndexIncompatibleError, match="format"):
        check_compatible(old_format, encoder.identity, chunker_identity(index_copy))


def test_status_incompatible_when_chunker_differs(index_copy: Settings, encoder) -> None:
    # the same index seen by a configuration that chunks differently
    other_settings = Settings(data_dir=index_copy.data_dir, corpus_dir=index_copy.corpus_dir,
                              chunking={"max_tokens": 128})
    assert index_status(other_settings, encoder.identity).state == "incompatible"
    manifest = read_manifest(index_copy.index_dir)
    assert manifest is not None
    with pytest.raises(IndexIncompatibleError, match="chunker") as info:
        check_compatible(manifest, encoder.identity, chunker_identity(other_settings))
    assert "128" in str(info.value) and "rebuild" in str(info.value)

    # an index written by another chunker version
    rewrite_live_manifest(index_copy, lambda d: d["chunker"].update(version="structure-v0"))
    status = index_status(index_copy, encoder.identity)
    assert status.state == "incompatible" and "structure-v0" in status.reason
    manifest = read_manifest(index_copy.index_dir)
    assert manifest is not None
    with pytest.raises(IndexIncompatibleError, match="structure-v0") as info:
        check_compatible(manifest, encoder.identity, chunker_identity(index_copy))
    assert CHUNKER_VERSION in str(info.value) and "rebuild" in str(info.value)


# ------------------------------------------------------------------ stable chunk ids


def test_chunk_ids_are_kept_or_new_never_reused(built, tmp_path: Path, encoder, korean) -> None:
    base_settings, first = built
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=make_corpus(tmp_path / "corpus"))
    shutil.copytree(base_settings.data_dir, settings.data_dir)  # start from the built index
    before = load_index(settings.index_dir)
    old_ids = {c.key: c.chunk_id for c in before.chunks.values()}

    # change one paragraph
    edit_doc(settings, EDIT_FROM, EDIT_TO)
    second = build_index(settings, encoder, korean=korean, progress=False).manifest
    after = load_index(settings.index_dir)
    changed = [c for c in after.chunks.values() if c.key not in old_ids]
    kept = [c for c in after.chunks.values() if c.key in old_ids]
    assert changed and any(EDIT_TO in c.text for c in changed)
    assert all(EDIT_TO not in c.text for c in kept)
    assert len(kept) >= len(after.chunks) - 2
    for c in kept:
        assert c.chunk_id == old_ids[c.key]
    assert sorted(c.chunk_id for c in changed) == list(range(first.next_chunk_id,
                                                            first.next_chunk_id + len(changed)))
    assert second.next_chunk_id == first.next_chunk_id + len(changed)
    retired = set(old_ids.values()) - set(after.chunks)
    assert retired  # the edited passage's old id is gone ...

    # ... and is not handed out again, even when the old text comes back
    edit_doc(settings, EDIT_TO, EDIT_FROM)
    third = build_index(settings, encoder, korean=korean, progress=False).manifest
    final = load_index(settings.index_dir)
    assert not retired & set(final.chunks)
    previous = {c.key: c.chunk_id for c in after.chunks.values()}
    for c in final.chunks.values():
        if c.key in previous:
            assert c.chunk_id == previous[c.key]
        else:
            assert c.chunk_id >= second.next_chunk_id
    assert third.next_chunk_id > second.next_chunk_id
    assert len(set(final.chunks)) == third.n_chunks == len(before.chunks)


# ------------------------------------------------------------------ model window


def test_built_chunks_fit_the_model_window(built, encoder) -> None:
    settings, _ = built
    loaded = load_index(settings.index_dir)
    for chunk in loaded.chunks.values():
        n = encoder.count_tokens([settings.prompts.passage + chunk.embed_text])[0] + 2
        assert n <= MODEL_WINDOW, (chunk.chunk_id, n)
        assert chunk.n_tokens == n


def test_real_corpus_chunks_fit_the_model_window(settings: Settings, encoder, korean) -> None:
    """Every passage of the five real briefings, chunked (not embedded), fits the 512-token window."""
    chunker = Chunker(encoder.count_tokens, korean, settings.chunking.max_tokens,
                      settings.chunking.overlap_sentences, settings.prompts.passage)
    total = 0
    for meta in load_manifest(CORPUS_DIR):
        source = read_source(CORPUS_DIR / meta.file)
        chunks = chunker.chunk(meta, source, parse_document(source, joiner=korean.needs_space))
        assert chunks, meta.doc_id
        counts = encoder.count_tokens([settings.prompts.passage + c.embed_text for c in chunks])
        for chunk, n in zip(chunks, counts, strict=True):
            assert n + 2 <= MODEL_WINDOW, (meta.doc_id, chunk.section, n)
            assert chunk.n_tokens == n + 2
        total += len(chunks)
    assert total >= 100
