"""Answer-sentence vectors pooled from the passage pass (``sentence_vectors="pooled"``): real model, real index.

The session index embeds sentences in a second pass; these tests compare
pooled vectors with those, and build their own index over one real briefing
with pooling on (reusing the session's embedding cache), served by the real app.
"""

from __future__ import annotations

import numpy as np
import pytest

from briefsearch.chunking.chunker import body_start
from briefsearch.config import Settings
from briefsearch.embedding.sentence_pool import token_ranges

DOC = "000_b57bb989019f2633"  # the smallest briefing: 37 passages
QUESTION = "2023년 9월 발표된 신산업 표준화 시범 프로젝트 실행 계획은 몇 개 분야의 표준화를 추진하나?"  # q010, dev


def _doc_chunks(searcher) -> list:
    return [c for c in searcher.index.chunks.values() if c.doc_id == DOC]


def test_token_ranges_cover_each_sentence_and_nothing_else(encoder, searcher) -> None:
    chunk = max(_doc_chunks(searcher), key=lambda c: len(c.sentences))
    text = encoder.passage_prefix + chunk.embed_text
    _, _, offsets = encoder._tokenizer.encode_offsets([text], encoder.max_seq_length)
    shift = len(encoder.passage_prefix) + body_start(chunk)
    spans = [(shift + a, shift + b) for a, b, *_ in chunk.sentences]
    ranges = token_ranges(offsets[0], spans)
    assert len(ranges) == len(spans) >= 2
    for (a, b), (i, j) in zip(spans, ranges, strict=True):
        assert j > i
        covered = offsets[0][i:j]
        assert covered[0][0] <= a + 1 and covered[-1][1] >= b  # the first piece may take the space before
        # exactly the sentence's characters (two pieces of one character share its offsets)
        positions = {p for s, e in covered for p in range(s, e)}
        assert {p for p in range(a, b) if not text[p].isspace()} <= positions <= set(range(a - 1, b))
    # the special tokens and the padding belong to no sentence
    assert token_ranges(np.array([[0, 0], [0, 0]]), [(0, 5)]) == [(0, 0)]


@pytest.fixture(scope="module")
def pooled_encoder(settings: Settings, searcher):
    from briefsearch.embedding.encoder import Encoder

    return Encoder(settings.model_copy(update={"sentence_vectors": "pooled"}), progress=False)


def test_pooled_vectors_are_close_to_separately_embedded_ones(pooled_encoder, searcher) -> None:
    """One pass gives the passage vector unchanged and sentence vectors near the second pass's (measured)."""
    chunks = _doc_chunks(searcher)
    spans = [[(body_start(c) + a, body_start(c) + b) for a, b, *_ in c.sentences] for c in chunks]
    vectors, pooled = pooled_encoder.encode_passages_pooled([c.embed_text for c in chunks], spans, progress=False)
    stored = np.stack([searcher.index.faiss_index.reconstruct(int(c.chunk_id)) for c in chunks])
    assert float((vectors * stored).sum(axis=1).min()) >= 0.9999
    separate = searcher.index.sentence_vectors.astype(np.float32)
    cosines, siblings = [], []
    for chunk, rows in zip(chunks, pooled, strict=True):
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
        cosines += [float(vector @ separate[row]) for row, vector in zip(chunk.sentence_rows, rows, strict=True)]
        if len(rows) > 1:  # how alike the pooled sentences of one passage are
            siblings.append(float((rows @ rows.T)[~np.eye(len(rows), dtype=bool)].mean()))
    cosines_arr = np.array(cosines)
    print(f"pooled vs separate over {len(cosines)} sentences: median cosine {np.median(cosines_arr):.3f}, "
          f"min {cosines_arr.min():.3f}; pooled sentences of one passage: mean cosine {np.median(siblings):.3f}")
    # measured on the corpus: median 0.917, min 0.82; close, but not the same vectors
    assert np.median(cosines_arr) >= 0.88 and cosines_arr.min() >= 0.75
    assert np.median(cosines_arr) < 0.99


@pytest.fixture(scope="module")
def pooled_settings(settings: Settings, searcher, one_document, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A corpus of one real briefing, sentence vectors pooled."""
    return one_document(settings, tmp_path_factory.mktemp("pooled"), DOC, sentence_vectors="pooled")


def test_build_embeds_sentences_in_the_passage_pass(pooled_settings: Settings, pooled_encoder, searcher) -> None:
    from briefsearch.build.pipeline import build_index, index_status
    from briefsearch.store.versions import chunker_identity, load_index

    calls: dict[str, int] = {"encode_passages": 0, "encode_passages_pooled": 0}
    for name in calls:  # count the calls; the real methods run
        real = getattr(pooled_encoder, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        setattr(pooled_encoder, name, counted)
    try:
        report = build_index(pooled_settings, pooled_encoder, progress=False)
        again = build_index(pooled_settings, pooled_encoder, progress=False)
    finally:
        for name in calls:
            delattr(pooled_encoder, name)
    # one forward pass per passage, even though the cache held every passage vector; no sentence pass
    assert calls == {"encode_passages": 0, "encode_passages_pooled": 1}
    index = load_index(pooled_settings.index_dir)
    distinct = {c.text[a:b] for c in index.chunks.values() for a, b, *_ in c.sentences}
    assert report.passages_embedded == len({c.embed_text for c in index.chunks.values()})
    assert report.sentences_embedded == len(distinct) == len(index.sentence_vectors)
    # an unchanged rebuild reuses every passage and sentence vector
    assert (again.passages_embedded, again.sentences_embedded) == (0, 0)
    # the stored sentence vectors are the pooled ones, not the second pass's
    by_text = {c.text[a:b]: searcher.index.sentence_vectors[r]
               for c in _doc_chunks(searcher) for (a, b, *_), r in zip(c.sentences, c.sentence_rows, strict=True)}
    cos = [float(index.sentence_vectors[r].astype(np.float32) @ by_text[c.text[a:b]].astype(np.float32))
           for c in index.chunks.values() for (a, b, *_), r in zip(c.sentences, c.sentence_rows, strict=True)]
    assert np.median(cos) < 0.99
    # the other kind of index is not reused, in either direction
    assert index.manifest.chunker == chunker_identity(pooled_settings)
    separate = pooled_settings.model_copy(update={"sentence_vectors": "separate"})
    assert index_status(separate, pooled_encoder.identity).state == "incompatible"
    assert index_status(pooled_settings, pooled_encoder.identity).state == "fresh"


def test_ask_over_a_pooled_index(pooled_settings: Settings, serve_app) -> None:
    """The real app over the pooled index answers with corpus sentences whose offsets slice the file."""
    import httpx

    from briefsearch.api.app import create_app
    from briefsearch.ingest.sources import read_original
    from briefsearch.runtime.engine import open_searcher

    searcher = open_searcher(pooled_settings, build=True, progress=False)
    url, stop = serve_app(create_app(pooled_settings, searcher=searcher))
    try:
        body = httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=60).json()
    finally:
        stop()
    assert body["answerable"] is True and body["citations"]
    original = read_original(pooled_settings.corpus_dir / f"{DOC}.txt", "utf-8")
    for cite in body["citations"]:
        assert cite["text"] in body["answer"]
        sliced = original[cite["char_start"] : cite["char_end"]]
        assert sliced.replace("\n", "").replace(" ", "")[:8] == cite["text"].replace(" ", "")[:8]
