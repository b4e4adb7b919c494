"""Encoder backends and concurrency: the speed-ups must not change the vectors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.embedding.encoder import Encoder
from briefsearch.embedding.onnx_backend import read_folder_config, snapshot_matches

SENTENCES = ["광둥성의 범용 AI 산업 목표는?", "중국 국가혁신지수 종합 순위는 세계 10위를 기록하였다.",
             "단일 위성 최대 744TOPS, 전체 5POPS급 궤도상 연산 능력", "What is China's future industry policy?"]


@pytest.fixture(scope="module")
def torch_encoder(settings) -> Encoder:
    return Encoder(settings.model_copy(update={"encoder_backend": "torch", "query_cache_size": 0}), progress=False)


def test_onnx_backend_gives_the_torch_vectors(encoder, torch_encoder) -> None:
    assert encoder.backend == "onnx" and torch_encoder.backend == "torch"
    assert encoder.identity == torch_encoder.identity  # same vectors: indexes are interchangeable
    for text in SENTENCES:
        a, b = encoder.encode_queries([text])[0], torch_encoder.encode_queries([text])[0]
        assert float(a @ b) >= 0.9999
    passages = [f"passage: {t}" for t in SENTENCES]
    cos = (encoder.encode_passages(passages, progress=False) * torch_encoder.encode_passages(passages, progress=False))
    assert cos.sum(axis=1).min() >= 0.9999


def test_concurrent_queries_are_batched_without_changing_results(settings) -> None:
    enc = Encoder(settings.model_copy(update={"query_cache_size": 0, "micro_batching": True}), progress=False)
    texts = [f"중국 {i}번째 산업 정책 질문" for i in range(24)]
    serial = np.stack([enc.encode_queries([t])[0] for t in texts])
    results: dict[int, np.ndarray] = {}

    def worker(indices: list[int]) -> None:
        for i in indices:
            results[i] = enc.encode_queries([texts[i]])[0]

    threads = [threading.Thread(target=worker, args=(list(range(k, 24, 8)),)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent = np.stack([results[i] for i in range(24)])
    assert np.allclose((serial * concurrent).sum(axis=1), 1.0, atol=1e-4)


def test_query_cache_returns_read_only_shared_vectors(encoder) -> None:
    a = encoder.encode_queries(["캐시 확인용 질문"])[0]
    b = encoder.encode_queries(["캐시 확인용 질문"])[0]
    assert a is b or np.shares_memory(a, b)
    with pytest.raises(ValueError):
        a[0] = 1.0


def test_work_beside_the_forward_pass_returns_with_the_unchanged_vector(settings, torch_encoder) -> None:
    enc = Encoder(settings.model_copy(update={"query_cache_size": 0}), progress=False)
    ran_on: list[str] = []

    def beside() -> str:
        ran_on.append(threading.current_thread().name)
        return "lexical side"

    for backend in (enc, torch_encoder):  # ONNX tokenizes before handing over; torch hands over at once
        vector, side = backend.encode_query_beside(SENTENCES[0], beside)
        assert side == "lexical side"
        assert float(vector @ enc.encode_queries([SENTENCES[0]])[0]) >= 0.9999
    assert all(name.startswith("beside-forward") for name in ran_on)  # not on the caller's thread

    def failing() -> None:
        raise RuntimeError("lexical side failed")

    with pytest.raises(RuntimeError, match="lexical side failed"):
        enc.encode_query_beside(SENTENCES[1], failing)


def test_query_cache_keeps_the_most_recent_questions(settings) -> None:
    enc = Encoder(settings.model_copy(update={"query_cache_size": 2}), progress=False)

    def cached(query: str, vector: np.ndarray) -> bool:
        return np.shares_memory(enc.encode_queries([query])[0], vector)

    first, second = enc.encode_queries(["첫 질문"])[0], enc.encode_queries(["둘째 질문"])[0]
    assert cached("첫 질문", first)  # a hit also makes it the most recent
    enc.encode_queries(["셋째 질문"])  # evicts the least recently used: 둘째
    assert cached("첫 질문", first) and not cached("둘째 질문", second)
    vector, side = enc.encode_query_beside("첫 질문", lambda: threading.current_thread().name)
    assert np.shares_memory(vector, first) and side == threading.current_thread().name  # a hit runs beside() inline


def test_an_english_questions_words_never_push_questions_out_of_the_cache(settings) -> None:
    """The term bridge's words have an LRU of their own: the bench's repeated questions all missed once ~12
    words per English question had filled the questions' LRU."""
    enc = Encoder(settings.model_copy(update={"query_cache_size": 2}), progress=False)
    embedded: list[str] = []  # what reaches the model (the real pass runs; this only records its texts)
    forward = enc._encode_queries_now
    enc._encode_queries_now = lambda texts: (embedded.extend(texts), forward(texts))[1]
    first = enc.encode_queries(["광둥성 목표"])[0]
    words = enc.encode_short(["robot", "patent", "robot patent"])
    assert np.shares_memory(enc.encode_queries(["광둥성 목표"])[0], first)  # still cached: 3 words, size 2
    embedded.clear()
    again = enc.encode_short(["robot patent", "patent"])  # the two most recent words are cached
    assert embedded == [] and np.array_equal(again, words[[2, 1]])
    enc.encode_short(["robot"])  # evicted by the two after it
    assert embedded == [enc.query_prefix + "robot"]
    alone = Encoder(settings.model_copy(update={"query_cache_size": 0}), progress=False)
    assert np.allclose(alone.encode_short(["robot", "patent", "robot patent"]), words, atol=1e-6)


# ----------------------------------------------------------------- later starts: no torch
KOREAN_EDGE_CASES = ["", " ", "두  칸   공백", "줄\n바꿈\t탭", "  앞뒤 공백  ", "<s>특수</s> <mask> 토큰",
                     "ＡＢＣ① ㈜ 〜", "반도체 " * 400]  # the last one is truncated to max_seq_length


def _corpus_lines() -> list[str]:
    return [line for path in sorted((REPO_ROOT / "corpus").glob("*.txt"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _onnx_folder(models_dir: Path) -> Path:
    return next(p.parent for p in (models_dir / "onnx").glob("*/model.onnx"))


@pytest.fixture(scope="module")
def fast_encoder(settings, encoder) -> Encoder:
    """A second encoder in the same data dir: the first (``encoder``) exported the graph and tokenizer."""
    return Encoder(settings.model_copy(update={"query_cache_size": 0}), progress=False)


def test_second_encoder_loads_only_the_exported_graph(encoder, fast_encoder) -> None:
    assert fast_encoder.loaded_torch is False and fast_encoder.model is None
    assert fast_encoder.backend == encoder.backend == "onnx"
    assert fast_encoder.identity == encoder.identity  # indexes record it: must not change with the path taken
    assert (fast_encoder.dim, fast_encoder.max_seq_length) == (encoder.dim, encoder.max_seq_length) == (384, 512)
    texts = SENTENCES + KOREAN_EDGE_CASES
    assert np.array_equal(fast_encoder.encode_passages(texts, progress=False),
                          encoder.encode_passages(texts, progress=False))
    for text in SENTENCES:
        assert np.array_equal(fast_encoder.encode_queries([text]), encoder.encode_queries([text]))
    lines = _corpus_lines()
    assert fast_encoder.count_tokens(lines) == encoder.count_tokens(lines)


def test_fast_path_tokenizes_exactly_like_sentence_transformers(fast_encoder, torch_encoder) -> None:
    """The snapshot is the tokenizer sentence-transformers uses: same ids, masks, padding and truncation."""
    reference = torch_encoder.model.tokenizer
    texts = SENTENCES + KOREAN_EDGE_CASES + _corpus_lines()
    for start in range(0, len(texts), 8):
        batch = texts[start : start + 8]
        ids, mask = fast_encoder._tokenizer.encode(batch, fast_encoder.max_seq_length)
        expected = reference(batch, padding=True, truncation=True, max_length=torch_encoder.max_seq_length,
                             return_tensors="np")
        assert np.array_equal(ids, expected["input_ids"]) and np.array_equal(mask, expected["attention_mask"])
    assert fast_encoder.count_tokens(texts) == torch_encoder.count_tokens(texts)


def test_fast_path_imports_neither_torch_nor_sentence_transformers(settings, fast_encoder) -> None:
    code = ("import json, sys\nfrom briefsearch.embedding.encoder import Encoder\n"
            "from briefsearch.config import get_settings\n"
            "enc = Encoder(get_settings(), progress=False)\n"
            "print(json.dumps([enc.loaded_torch, sorted({m.split('.')[0] for m in sys.modules}"
            " & {'torch', 'sentence_transformers', 'transformers'})]))")
    env = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(settings.data_dir), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == [False, []]


def test_a_graph_from_an_earlier_version_is_upgraded_once(settings, encoder, tmp_path: Path) -> None:
    """A single-file graph without a tokenizer snapshot (what earlier versions left): torch loads once,
    moves the weights to a memory-mapped file and saves the snapshot; the next start skips torch."""
    import onnx

    source = _onnx_folder(settings.models_dir)
    models = tmp_path / "data" / "models"
    graph_dir = models / "onnx" / source.name
    graph_dir.mkdir(parents=True)
    (models / "multilingual-e5-small-q4").symlink_to(settings.models_dir / "multilingual-e5-small-q4")
    onnx.save_model(onnx.load(str(source / "model.onnx")), str(graph_dir / "model.onnx"))  # one file, as before
    upgraded = settings.model_copy(update={"data_dir": tmp_path / "data", "query_cache_size": 0})
    first = Encoder(upgraded, progress=False)
    assert first.loaded_torch and (graph_dir / "model.onnx.data").is_file()
    assert (graph_dir / "tokenizer.json").is_file() and (graph_dir / "tokenizer_call.json").is_file()
    second = Encoder(upgraded, progress=False)
    assert second.loaded_torch is False and second.identity == first.identity == encoder.identity
    assert np.array_equal(second.encode_passages(SENTENCES, progress=False),
                          encoder.encode_passages(SENTENCES, progress=False))
    (graph_dir / "tokenizer.json").write_text("{not json")  # a damaged snapshot: torch again, which rewrites it
    third = Encoder(upgraded, progress=False)
    assert third.loaded_torch and third.count_tokens(SENTENCES) == encoder.count_tokens(SENTENCES)
    assert snapshot_matches(graph_dir, read_folder_config(models / "multilingual-e5-small-q4"))


def test_snapshot_is_only_used_for_the_tokenizer_files_it_was_taken_from(settings, encoder, tmp_path: Path) -> None:
    model_dir = settings.models_dir / "multilingual-e5-small-q4"
    copy = tmp_path / "model"
    copy.mkdir()
    for path in model_dir.iterdir():
        (copy / path.name).symlink_to(path)
    snapshot = _onnx_folder(settings.models_dir)
    config = read_folder_config(copy)
    assert config is not None and snapshot_matches(snapshot, config)
    (copy / "tokenizer_config.json").unlink()
    tokenizer_config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    (copy / "tokenizer_config.json").write_text(json.dumps({**tokenizer_config, "do_lower_case": True}))
    assert not snapshot_matches(snapshot, read_folder_config(copy))


def _recording_batcher(enc: Encoder, passes: int | None):
    """A QueryBatcher over the encoder's real tokenizer and forward pass, recording each pass's size and overlap."""
    from briefsearch.embedding.batching import QueryBatcher

    sizes: list[int] = []
    threads: list[str] = []
    running = [0, 0]  # now, most at once
    lock = threading.Lock()

    def forward(prepared, on_start):
        with lock:
            running[0] += 1
            running[1] = max(running)
            sizes.append(len(prepared[0]))
            threads.append(threading.current_thread().name)
        try:
            return enc._forward_queries(prepared, on_start)
        finally:
            with lock:
                running[0] -= 1

    batcher = QueryBatcher(enc._prepare_query_texts, forward, enc._beside, passes=passes)
    return batcher, sizes, threads, running


def test_a_lone_query_runs_its_pass_on_its_own_thread(encoder) -> None:
    batcher, sizes, threads, _ = _recording_batcher(encoder, passes=2)
    vector, side = batcher.encode_beside(SENTENCES[0], lambda: threading.current_thread().name)
    assert sizes == [1] and threads == [threading.current_thread().name]  # no queue, no hand-over
    assert side.startswith("beside-forward")  # the lexical side still overlaps the pass
    assert float(vector @ encoder._encode_queries_now([encoder.query_prefix + SENTENCES[0]])[0]) >= 0.9999


@pytest.mark.parametrize("passes", [1, None])
def test_a_burst_shares_passes_and_never_runs_more_than_one_per_core(encoder, passes) -> None:
    """passes=1: one pass at a time, shared by the waiting queries; None (micro-batching off): one pass each."""
    batcher, sizes, _, running = _recording_batcher(encoder, passes=passes)
    texts = [f"{i}번째 질문: 중국의 반도체 산업 지원 정책은?" for i in range(16)]
    expected = encoder._encode_queries_now([encoder.query_prefix + t for t in texts])
    got: dict[int, np.ndarray] = {}
    sides: dict[int, int] = {}
    gate = threading.Barrier(16)

    def ask(i: int) -> None:
        gate.wait()
        got[i], sides[i] = batcher.encode_beside(texts[i], lambda: i)

    workers = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if passes is None:
        assert sizes == [1] * 16
    else:
        assert sum(sizes) == 16 and max(sizes) > 1 and running[1] == 1
    assert sides == {i: i for i in range(16)}  # each caller's own beside() result
    assert min(float(got[i] @ expected[i]) for i in range(16)) >= 0.9999


def test_a_failed_pass_reaches_every_caller_and_frees_the_batcher(encoder) -> None:
    from briefsearch.embedding.batching import QueryBatcher

    calls = []

    def forward(prepared, on_start):
        calls.append(len(prepared[0]))
        if len(calls) <= 2:
            raise RuntimeError("pass failed")
        return encoder._forward_queries(prepared, on_start)

    batcher = QueryBatcher(encoder._prepare_query_texts, forward, encoder._beside, passes=1)
    errors: list[str] = []
    gate = threading.Barrier(6)

    def ask(i: int) -> None:
        gate.wait()
        try:
            batcher.encode_beside(f"질문 {i}", None)
        except RuntimeError as exc:
            errors.append(str(exc))

    workers = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(errors) == sum(calls[:2]) and set(errors) == {"pass failed"}
    vector, _ = batcher.encode_beside("질문 이후", None)  # the pass slot was given back
    assert vector.shape == (encoder.dim,)


def test_a_shared_pass_takes_the_oldest_query_and_those_closest_in_length(encoder) -> None:
    from briefsearch.embedding.batching import QueryBatcher, Submitted

    batcher = QueryBatcher(encoder._prepare_query_texts, encoder._forward_queries, encoder._beside, passes=1,
                           max_batch=3)
    texts = ["중간 길이의 질문입니다", "아주 아주 아주 긴 질문입니다 정말로 깁니다", "짧은 질문",
             "중간 길이 질문이에요", "중간 정도 질문입니다"]
    batcher._waiting.extend(Submitted(t) for t in texts)
    assert [item.text for item in batcher._take_batch()] == [texts[0], texts[3], texts[4]]  # less padding
    assert [item.text for item in batcher._waiting] == [texts[1], texts[2]]  # the rest keep their order
