"""Approximate FAISS index recall on REAL vectors: which factory and parameters reach recall@10 >= 0.99.

    .venv/bin/python -m bench.ann_recall --index DIR/index [--index DIR2/index ...] [--windows 3]

The synthetic growth corpora (bench/growth.py) average a few sentences of a
small pool, so all their passages sit near one centroid and the exact top 10
are within hundredths of a cosine: a worst case for a graph or list index. Here
the set is real text embedded by the real model: every stored sentence and
passage vector of the given indexes, plus windows of 2..``--windows``
consecutive answer sentences of each document (passage-like texts that cross
passage boundaries; embedded here, cached in /tmp), deduplicated. Queries are the eval questions (briefing and
generalization sets) embedded as queries; parameters are chosen on the dev
questions and reported on the test questions.

Per candidate: recall@10 against exact Flat, tie-aware recall@10 (a returned
id counts when its exact score reaches the exact 10th score less 1e-6), the
median score gap between ranks 10 and 11, and the median per-query search time
(one query at a time, one thread). ``--synthetic N`` measures the same
candidates on bench.growth's synthetic set of N passages instead (the latency
at size). Writes (updates) bench/ann_recall.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from bench.growth import one_by_one as search_each

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
OUT_JSON = REPO / "bench" / "ann_recall.json"
QUESTION_FILES = (REPO / "eval" / "questions.jsonl", REPO / "eval" / "generalization" / "questions.jsonl")


def real_vectors(index_dirs: list[Path], windows: int, encoder) -> tuple[np.ndarray, dict]:
    """Stored sentence and passage vectors of the indexes plus embedded sentence windows, deduplicated."""
    from briefsearch.store.versions import load_index

    parts, texts, counts = [], [], {"sentences": 0, "passages": 0}
    for index_dir in index_dirs:
        loaded = load_index(index_dir)
        sentences = np.asarray(loaded.sentence_vectors, dtype=np.float32)
        passages = loaded.faiss_index.reconstruct_n(0, loaded.faiss_index.ntotal)
        parts += [sentences, passages]
        counts["sentences"] += len(sentences)
        counts["passages"] += len(passages)
        for sequence in document_sentences(loaded).values():
            for width in range(2, windows + 1):
                texts += [" ".join(sequence[i:i + width]) for i in range(len(sequence) - width + 1)]
    texts = sorted(set(texts))
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = Path("/tmp") / f"ann_recall_windows_{key}.npy"
    if cache.exists():
        embedded = np.load(cache)
    else:
        embedded = encoder.encode_passages(texts, progress=False)
        np.save(cache, embedded)
    parts.append(np.asarray(embedded, dtype=np.float32))
    counts["windows"] = len(texts)
    vectors = np.unique(np.concatenate(parts), axis=0)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    counts["distinct"] = len(vectors)
    return np.ascontiguousarray(vectors, dtype=np.float32), counts


def document_sentences(loaded) -> dict[str, list[str]]:
    """Each document's answer sentences in reading order (a sentence shared by overlapping passages once)."""
    out: dict[str, list[str]] = {}
    seen: set[int] = set()
    for chunk_id in sorted(loaded.chunks):
        chunk = loaded.chunks[chunk_id]
        for (a, b, *_), row in zip(chunk.sentences, chunk.sentence_rows, strict=False):
            if row not in seen:
                seen.add(row)
                out.setdefault(chunk.doc_id, []).append(chunk.text[a:b])
    return out


def questions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"dev": [], "test": []}
    for path in QUESTION_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out[row["split"]].append(row["question"])
    return out


def one_by_one(index, queries: np.ndarray, params=None) -> tuple[np.ndarray, float]:
    """Top-10 ids per query and the median ms of a single-query search."""
    times, found = search_each(index, queries, params)
    return found, round(float(np.median(times)), 3)


def measure(vectors: np.ndarray, queries: np.ndarray, candidates: list[tuple[str, int, list[int]]]) -> dict:
    """Recall, tie-aware recall and ms of each (factory, efConstruction, [efSearch or nprobe]) against Flat."""
    import faiss

    from bench.growth import recall_at_10, tie_aware_recall
    from briefsearch.store.vectors import build_vector_index

    ids = np.arange(len(vectors), dtype=np.int64)
    exact = np.sort(queries @ vectors.T, axis=1)[:, ::-1]
    flat = build_vector_index(vectors, ids, vectors.shape[1], "Flat")
    truth, flat_ms = one_by_one(flat, queries)
    out = {"vectors": len(vectors), "queries": len(queries), "flat_ms": flat_ms,
           "gap_10_11_p50": round(float(np.median(exact[:, 9] - exact[:, 10])), 5),
           "gap_1_10_p50": round(float(np.median(exact[:, 0] - exact[:, 9])), 4), "candidates": {}}
    for factory, ef_construction, settings in candidates:
        t0 = time.perf_counter()
        index = build_vector_index(vectors, ids, vectors.shape[1], factory, ef_construction)
        add_s = round(time.perf_counter() - t0, 2)
        hnsw = "HNSW" in factory
        for value in settings:
            params = faiss.SearchParametersHNSW(efSearch=value) if hnsw else faiss.SearchParametersIVF(nprobe=value)
            found, ms = one_by_one(index, queries, params)
            name = f"{factory} efC{ef_construction} efSearch {value}" if hnsw else f"{factory} nprobe {value}"
            out["candidates"][name] = {"recall@10": round(recall_at_10(found, truth), 4),
                                       "tie_aware_recall@10": round(tie_aware_recall(found, vectors, queries,
                                                                                     exact[:, 9]), 4),
                                       "ms": ms, "add_s": add_s}
            print(name, out["candidates"][name], flush=True)
    return out


def candidates_for(n: int) -> list[tuple[str, int, list[int]]]:
    """HNSW32 at two efConstruction and IVF with nlist by FAISS's guideline (4 * sqrt(n)), each over its knob."""
    nlist = max(16, round(4 * np.sqrt(n) / 16) * 16)
    return [("HNSW32", 80, [64, 128, 256, 512]), ("HNSW32", 200, [64, 128, 256, 512]),
            (f"IVF{nlist},Flat", 0, [8, 16, 32, 64])]


def markdown(results: dict) -> str:
    """bench/growth.md's table of approximate recall, from ann_recall.json (no figure copied by hand)."""
    out = ["| set (queries) | vectors | exact score gap rank 1-10 / 10-11 (median) | Flat ms | index | add s | "
           "recall@10 (tie-aware) / ms at efSearch or nprobe |", "|---|---:|---|---:|---|---:|---|"]
    sets = [(f"real ({split})", results["real"][split]) for split in ("dev", "test") if "real" in results]
    sets += [("synthetic (dev)", v["dev"]) for k, v in results.items() if k.startswith("synthetic_")]  # size: vectors
    for name, m in sets:
        groups: dict[str, list[str]] = {}
        adds: dict[str, float] = {}
        for label, c in m["candidates"].items():
            index, knob = label.rsplit(" ", 1)
            index = index.removesuffix(" efSearch").removesuffix(" nprobe")
            adds[index] = c["add_s"]
            groups.setdefault(index, []).append(f"{knob}: {c['recall@10']:.4f} ({c['tie_aware_recall@10']:.4f}) / "
                                                f"{c['ms']}")
        for index, cells in groups.items():
            out.append(f"| {name} | {m['vectors']:,} | {m['gap_1_10_p50']} / {m['gap_10_11_p50']} | {m['flat_ms']} | "
                       f"{index} | {adds[index]} | {'; '.join(cells)} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, action="append", default=[], help="an index directory (repeat)")
    parser.add_argument("--windows", type=int, default=4, help="longest window of consecutive sentences embedded")
    parser.add_argument("--synthetic", type=int, default=0,
                        help="instead: growth's synthetic set of this many passages (from the first --index)")
    parser.add_argument("--models", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--table", action="store_true", help="print ann_recall.json as Markdown and stop")
    args = parser.parse_args()
    if args.table:
        print(markdown(json.loads(OUT_JSON.read_text(encoding="utf-8"))))
        return

    from briefsearch.config import Settings
    from briefsearch.embedding.encoder import Encoder

    settings = Settings(data_dir=args.models.parent, query_cache_size=0)
    encoder = Encoder(settings, progress=False)
    if not args.synthetic:
        vectors, counts = real_vectors(args.index, args.windows, encoder)
        print(counts, flush=True)
    asked = questions()
    results: dict = {"load_average_start": os.getloadavg()}
    if args.synthetic:  # the harsh case, for latency at size: growth's synthetic passages, dev questions
        from bench.growth import SentencePool, synthesize
        from briefsearch.store.versions import load_index

        _, synthetic, _, _ = synthesize(SentencePool(load_index(args.index[0])), args.synthetic, seed=args.synthetic)
        queries = np.asarray(encoder.encode_queries(asked["dev"]), dtype=np.float32)
        results["dev"] = measure(synthetic, queries, candidates_for(len(synthetic)))
    else:
        results["command"] = "python -m bench.ann_recall " + " ".join(f"--index {p}" for p in args.index)
        results["set"] = counts
        for split in ("dev", "test"):
            queries = np.asarray(encoder.encode_queries(asked[split]), dtype=np.float32)
            results[split] = measure(vectors, queries, candidates_for(len(vectors)))
    results["load_average_end"] = os.getloadavg()
    key = f"synthetic_{args.synthetic}" if args.synthetic else "real"
    kept = json.loads(OUT_JSON.read_text(encoding="utf-8")) if OUT_JSON.exists() else {}
    kept[key] = results  # the other runs' figures are kept
    OUT_JSON.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
