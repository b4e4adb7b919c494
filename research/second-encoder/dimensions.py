"""EmbeddingGemma's Matryoshka dimensions: 768 against 512 / 384 / 256 inside the fused ranking, on dev.

EmbeddingGemma was trained so that the first 512, 384 or 256 of its 768 numbers, re-normalised, still
embed (Matryoshka representation learning). Cutting them would shrink ``second.faiss`` and the inner
products, nothing else: the forward pass is the same. This script cuts the stored passage vectors and
each query vector of an index built with ``second_model`` (no re-embedding), and scores the set at
``ranking.second_weight`` in hybrid mode, per split.

    BRIEFSEARCH_SECOND_MODEL=embeddinggemma-300m python research/second-encoder/dimensions.py \\
        --data-dir D --set briefings --out research/second-encoder/dimensions-briefings.json
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import Future
from pathlib import Path

import faiss
import numpy as np

from briefsearch.config import Settings
from briefsearch.evaluation.evaluate import run_eval
from briefsearch.runtime.engine import open_searcher
from briefsearch.store.vectors import VectorSearch

DIMS = (768, 512, 384, 256)


def _cut(vectors: np.ndarray, dim: int) -> np.ndarray:
    part = np.ascontiguousarray(vectors[:, :dim], dtype=np.float32)
    return part / np.linalg.norm(part, axis=1, keepdims=True)


def main() -> None:
    from sweep import questions_for  # the sibling script: the same question sets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--set", required=True, choices=("briefings", "laws", "korquad"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, query_cache_size=100_000)
    searcher = open_searcher(settings, build=False, progress=False)
    second = searcher.encoder.second
    assert second is not None and searcher.index.second_faiss is not None, "set BRIEFSEARCH_SECOND_MODEL"
    ids = np.array(sorted(searcher.index.chunks), dtype=np.int64)
    full = np.stack([searcher.index.second_faiss.reconstruct(int(i)) for i in ids])
    original = second.submit_query
    questions = questions_for(args.set)
    rows = []
    for dim in DIMS:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        index.add_with_ids(_cut(full, dim), ids)
        searcher.second_vectors = VectorSearch(index, exact_below=settings.faiss_exact_below)

        def cut_query(query: str, dim: int = dim) -> Future:
            done: Future = Future()
            done.set_result(_cut(original(query).result()[None, :], dim)[0])
            return done

        second.submit_query = cut_query  # type: ignore[method-assign]
        report = run_eval(searcher, questions, mode="hybrid")
        rows.append({"dim": dim, "per_split": report.per_split, "bytes_per_passage": dim * 4})
        dev, test = report.per_split.get("dev", {}), report.per_split.get("test", {})
        print(f"{args.set} dim {dim}: dev MRR {dev.get('mrr@10', 0):.3f} R@1 {dev.get('hit_rate@1', 0):.3f} | "
              f"test MRR {test.get('mrr@10', 0):.3f} R@1 {test.get('hit_rate@1', 0):.3f}", flush=True)
    args.out.write_text(json.dumps({"set": args.set, "second_weight": settings.ranking.second_weight,
                                    "rows": rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
