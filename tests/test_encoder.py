"""Encoder backends and concurrency: the speed-ups must not change the vectors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from index.embed import Encoder

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
