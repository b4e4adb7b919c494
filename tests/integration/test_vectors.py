"""FAISS index type by size and compact sentence vectors, on the real corpus with the real model.

The corpus (about 300 passages) is far below the exact threshold, so the
approximate type is forced by building with ``faiss_exact_below=0``; its top
hits, filters and answers are compared with the session's exact (Flat) index.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from briefsearch.build.pipeline import build_index, index_status
from briefsearch.config import Settings
from briefsearch.retrieval.searcher import Searcher
from briefsearch.store.vectors import VectorSearch, check_factory, index_type_for
from briefsearch.store.versions import live_version, load_index
from briefsearch.types import SearchFilters

D001, D003, D004 = "001_7307f45af5f7b1ae", "003_263747581c6563b7", "004_0772bc47312adfbb"


def dev_questions(n: int) -> list[str]:
    """The first ``n`` Korean dev questions (never test questions)."""
    path = Path(__file__).resolve().parents[2] / "eval" / "questions.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if r["split"] == "dev" and not r["question"].isascii()][:n]


def copy_data(settings: Settings, target: Path, **update) -> Settings:
    """A private data dir holding a copy of the session index and embedding cache."""
    target.mkdir(parents=True)
    shutil.copytree(settings.index_dir, target / "index", symlinks=True)
    if (settings.data_dir / "cache").is_dir():
        shutil.copytree(settings.data_dir / "cache", target / "cache")
    (target / "models").symlink_to(settings.models_dir, target_is_directory=True)
    return settings.model_copy(update={"data_dir": target, **update})


@pytest.fixture(scope="module")
def approx(settings: Settings, searcher: Searcher, encoder, korean, tmp_path_factory) -> Searcher:
    """The same corpus rebuilt as HNSW (threshold 0); vectors reused from the session index."""
    hnsw = copy_data(settings, tmp_path_factory.mktemp("hnsw") / "data", faiss_exact_below=0)
    build_index(hnsw, encoder, korean=korean, progress=False)
    return Searcher(load_index(hnsw.index_dir), encoder, hnsw, korean=korean)


def top_ids(searcher: Searcher, query: str, k: int, mode: str, filters: SearchFilters | None = None) -> list[int]:
    return [h.chunk.chunk_id for h in searcher.search(query, k, mode, filters).hits]


def test_the_index_type_follows_the_size_and_is_recorded(searcher: Searcher, approx: Searcher) -> None:
    assert index_type_for(299, 300, "HNSW32") == "Flat" and index_type_for(300, 300, "HNSW32") == "HNSW32"
    assert searcher.index.manifest.index_type == "Flat" and searcher.vectors.kind == "Flat"
    assert approx.index.manifest.index_type == "HNSW32" and approx.vectors.kind == "HNSW"
    assert approx.index.faiss_index.ntotal == searcher.index.faiss_index.ntotal
    with pytest.raises(ValueError, match="FAISS"):
        check_factory("NoSuchIndex77")
    with pytest.raises(ValueError):
        Settings(faiss_factory="PQ4")  # neither Flat, HNSW nor IVF


def test_approximate_index_gives_the_exact_top_hits(searcher: Searcher, approx: Searcher) -> None:
    """Dense and hybrid top 5 of real dev questions are the same as with exact search."""
    for question in dev_questions(6):
        for mode in ("dense", "hybrid"):
            assert top_ids(approx, question, 5, mode) == top_ids(searcher, question, 5, mode), (mode, question)


@pytest.mark.parametrize("exact_below", [0, 10**6])
def test_approximate_index_honours_document_and_date_filters(searcher: Searcher, approx: Searcher,
                                                             exact_below: int) -> None:
    """Both filtered paths: exact scoring of the allowed passages (a filter narrower than the threshold: the
    exact filtered ranking) and HNSW with an ID selector (a wider one, forced here by threshold 0: only allowed
    passages, a full top 10, the same first hit and at least 9 of the exact top 10)."""
    approx.vectors.exact_below = exact_below
    try:
        one_doc = SearchFilters(doc_ids=(D003,))
        window = SearchFilters(date_from="2023-11", date_to="2024-03")
        for query in ["위성 연산 능력", "인공지능 산업", *dev_questions(3)]:
            for filters in (one_doc, window):
                got = [h.chunk.chunk_id for h in approx.search(query, 10, "dense", filters).hits]
                exact = top_ids(searcher, query, 10, "dense", filters)
                assert len(got) == len(exact) == 10 and set(got) <= searcher.allowed_ids(filters)
                if exact_below:
                    assert got == exact, (query, filters)
                else:
                    assert got[0] == exact[0] and len(set(got) & set(exact)) >= 9, (query, filters)
        assert approx.search("인공지능", 5, "dense", SearchFilters(date_to="2000")).hits == []
    finally:
        approx.vectors.exact_below = approx.settings.faiss_exact_below


def test_an_index_built_as_another_type_loads_and_is_fresh(approx: Searcher, searcher: Searcher, encoder) -> None:
    """Settings that would build Flat still load (and do not rebuild) an HNSW index: the type is the file's."""
    flat_settings = approx.settings.model_copy(update={"faiss_exact_below": 50_000})
    assert index_status(flat_settings, encoder.identity).state == "fresh"
    reloaded = Searcher(load_index(flat_settings.index_dir), encoder, flat_settings)
    assert reloaded.vectors.kind == "HNSW"
    question = dev_questions(1)[0]
    assert top_ids(reloaded, question, 5, "dense") == top_ids(searcher, question, 5, "dense")


def test_vector_search_subset_is_exact(searcher: Searcher, approx: Searcher) -> None:
    """Exact scoring over an allowed set matches FAISS Flat's own filtered scores."""
    vector = searcher.encoder.encode_queries(["광둥성 인공지능 산업"])[0]
    allowed = searcher.allowed_ids(SearchFilters(doc_ids=(D001, D004)))
    subset = VectorSearch(approx.index.faiss_index, exact_below=10**6).search(vector, 8, allowed)
    flat = VectorSearch(searcher.index.faiss_index).search(vector, 8, allowed)
    assert [i for i, _ in subset] == [i for i, _ in flat]
    assert np.allclose([s for _, s in subset], [s for _, s in flat], atol=1e-5)


def test_sentence_vectors_are_float16_and_answer_as_float32(settings: Settings, searcher: Searcher, encoder,
                                                           korean, tmp_path: Path) -> None:
    """float16 storage halves sentences.npy and gives the same /ask answers as float32 on real questions."""
    from briefsearch.answer.answerer import Answerer

    assert searcher.index.manifest.sentence_dtype == "float16"
    assert searcher.index.sentence_vectors.dtype == np.float16
    wide = copy_data(settings, tmp_path / "data", sentence_vector_dtype="float32")
    build_index(wide, encoder, korean=korean, progress=False)
    full = Searcher(load_index(wide.index_dir), encoder, wide, korean=korean)
    assert full.index.sentence_vectors.dtype == np.float32
    half_bytes = (searcher.index.path / "sentences.npy").stat().st_size
    full_bytes = (live_version(wide.index_dir) / "sentences.npy").stat().st_size
    assert half_bytes < 0.51 * full_bytes
    assert np.abs(full.index.sentence_vectors - searcher.index.sentence_vectors).max() < 1e-3
    compact, exact = Answerer(searcher), Answerer(full)
    for question in dev_questions(8):
        a, b = compact.ask(question), exact.ask(question)
        assert (a.answer, a.answerable) == (b.answer, b.answerable), question
        assert [(c.char_start, c.char_end) for c in a.citations] == [(c.char_start, c.char_end) for c in b.citations]
        assert abs(a.confidence - b.confidence) < 2e-3


def test_an_index_of_the_previous_format_is_rebuilt(settings: Settings, searcher: Searcher, encoder,
                                                    tmp_path: Path) -> None:
    """Format 1 (float32 sentences, no index type): status 'incompatible', so serve and `index build` rebuild."""
    old = copy_data(settings, tmp_path / "data")
    manifest_path = live_version(old.index_dir) / "manifest.json"
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    data["format_version"] = 1
    del data["index_type"], data["sentence_dtype"]
    manifest_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    status = index_status(old, encoder.identity)
    assert status.state == "incompatible" and "format 1" in status.reason
    assert load_index(old.index_dir).manifest.index_type == "Flat"  # an old manifest still reads (for reuse)
