"""Growth: how search and build cost grow with the corpus, on synthetic corpora of real sentences.

    .venv/bin/python -m bench.growth --data-dir DIR [--sizes 1000,10000,100000] [--build-passages 600]

``DIR`` holds a built index of the real corpus. Its sentences were analysed
(Kiwi terms) and embedded (e5) once, at build time; a synthetic passage here is
a random combination of 3 to 10 of them (as many as real passages hold): its
BM25 terms are their terms concatenated, its vector the normalised mean of
their vectors, and every sentence keeps its own row in the sentence-vector
matrix (as a real build stores). So 100k passages need no model call. The
synthetic index lives in a temporary directory and is never written to the data
directory or the library.

Per size: FAISS add and search time, exact (Flat) against the approximate type
(HNSW, recall@10 against Flat at several efSearch); BM25 index and query time;
search p50/p95 for dense, lexical and hybrid through the real ``Searcher``
(in-process, query cache off, so every search embeds its query with the real
model); bytes on disk of each index file; cold load (model + index + searcher,
in a fresh process, as serve does before /ready) and that process's peak
resident memory. The queries are the dev questions of eval/questions.jsonl.

Build side, with real embeddings of synthetic passages and real sentences:
passages/s and sentences/s, length-sorted batches against input order, and the
Kiwi analysis per passage; larger sizes are extrapolated from these rates.

Writes bench/growth.json and bench/growth.png; the reading is bench/growth.md.
Speed is reported here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
OUT_JSON = REPO / "bench" / "growth.json"
OUT_PNG = REPO / "bench" / "growth.png"
EF_SEARCH = (32, 64, 128, 256, 512)
PER_DOC = 50  # synthetic passages per synthetic document (real briefings hold 40-80)


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def dev_questions() -> list[str]:
    rows = [json.loads(line) for line in (REPO / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r["question"] for r in rows if r["split"] == "dev"]


class SentencePool:
    """The real corpus's answer sentences: text, Kiwi terms and e5 vector, as the real build made them."""

    def __init__(self, loaded) -> None:
        self.texts: list[str] = []
        self.terms: list[list[str]] = []
        rows: list[int] = []
        seen: set[int] = set()
        self.per_passage: list[int] = []
        for chunk in loaded.chunks.values():
            self.per_passage.append(len(chunk.sentence_rows))
            for (a, b, *_), row, terms in zip(chunk.sentences, chunk.sentence_rows, chunk.sentence_terms,
                                              strict=False):
                if row in seen or not terms:
                    continue
                seen.add(row)
                rows.append(row)
                self.texts.append(chunk.text[a:b])
                self.terms.append(terms)
        self.vectors = np.asarray(loaded.sentence_vectors[rows], dtype=np.float32)


def synthesize(pool: SentencePool, n: int, seed: int):
    """``n`` passages of 3-10 real sentences each, in documents of ``PER_DOC`` passages with spread dates."""
    from briefsearch.types import Chunk, DocumentRecord

    rng = np.random.default_rng(seed)
    counts = np.clip(rng.choice(pool.per_passage, size=n), 3, 10)
    picks = [rng.choice(len(pool.texts), size=int(c), replace=False) for c in counts]
    chunks, vectors = [], np.empty((n, pool.vectors.shape[1]), dtype=np.float32)
    sentence_rows = np.concatenate(picks)
    row = 0
    for i, pick in enumerate(picks):
        text, spans = "", []
        for s in pick:
            start = len(text)
            text += pool.texts[s] + " "
            spans.append([start, start + len(pool.texts[s]), start, start + len(pool.texts[s]), 1, 1])
        mean = pool.vectors[pick].mean(axis=0)
        vectors[i] = mean / np.linalg.norm(mean)
        doc = f"syn{i // PER_DOC:06d}"
        chunks.append(Chunk(doc_id=doc, title=doc, section="", section_path=[], text=text, char_start=0,
                            char_end=len(text), line_start=1, line_end=1, page=None, kind="text",
                            terms=[t for s in pick for t in pool.terms[s]], sentences=spans,
                            sentence_rows=list(range(row, row + len(pick))),
                            sentence_terms=[pool.terms[s] for s in pick], chunk_id=i,
                            embed_text="passage: " + text))
        row += len(pick)
    n_docs = (n + PER_DOC - 1) // PER_DOC
    days = rng.integers(0, 8 * 365, size=n_docs)
    documents = [DocumentRecord(doc_id=f"syn{d:06d}", title=f"syn{d:06d}", publisher="synthetic",
                                date=(date(2019, 1, 1) + timedelta(days=int(days[d]))).isoformat(),
                                kind="briefing", source="", encoding="utf-8", sha256="", chunk_count=PER_DOC)
                 for d in range(n_docs)]
    sentence_vectors = pool.vectors[sentence_rows]  # one row per sentence occurrence, as a build stores them
    return chunks, vectors, documents, sentence_vectors


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def cpu_timed(fn, *args, **kwargs):
    """Wall and CPU seconds (all threads of this process): on a shared host the CPU time is the steadier."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0, time.process_time() - c0


def one_by_one(index, queries: np.ndarray, params=None) -> tuple[list[float], np.ndarray]:
    """Top-10 ids per query, one query at a time as a service searches, with each search's ms."""
    times, out = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, found = index.search(q[None, :], 10, params=params)
        times.append((time.perf_counter() - t0) * 1000)
        out.append(found[0])
    return times, np.array(out)


def faiss_side(vectors: np.ndarray, queries: np.ndarray, ef_construction: int) -> dict:
    """Flat vs HNSW: add time, per-query search time, recall@10 of HNSW against Flat at each efSearch."""
    import faiss

    from briefsearch.store.vectors import build_vector_index

    ids = np.arange(len(vectors), dtype=np.int64)
    flat, flat_s = timed(build_vector_index, vectors, ids, vectors.shape[1], "Flat")
    hnsw, hnsw_s = timed(build_vector_index, vectors, ids, vectors.shape[1], "HNSW32", ef_construction)

    flat_ms, truth = one_by_one(flat, queries)
    exact = np.sort(queries @ vectors.T, axis=1)[:, ::-1]  # every exact score, best first
    out = {"flat_add_s": round(flat_s, 3), "hnsw_add_s": round(hnsw_s, 3), "flat_search_p50_ms": pct(flat_ms, 50),
           "flat_bytes": len(faiss.serialize_index(flat)), "hnsw_bytes": len(faiss.serialize_index(hnsw)),
           "gap_10_11_p50": round(float(np.median(exact[:, 9] - exact[:, 10])), 6),
           "gap_1_10_p50": round(float(np.median(exact[:, 0] - exact[:, 9])), 4), "hnsw": {}}
    for ef in EF_SEARCH:
        ms, found = one_by_one(hnsw, queries, faiss.SearchParametersHNSW(efSearch=ef))
        out["hnsw"][ef] = {"recall@10": round(recall_at_10(found, truth), 4),
                           "tie_aware_recall@10": round(tie_aware_recall(found, vectors, queries, exact[:, 9]), 4),
                           "search_p50_ms": pct(ms, 50)}
    return out


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the exact top 10 ids that the approximate search returned."""
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)]))


def tie_aware_recall(found: np.ndarray, vectors: np.ndarray, queries: np.ndarray, tenth: np.ndarray) -> float:
    """A returned id counts if its exact score reaches the exact 10th score (less 1e-6): ties at rank 10 are hits."""
    hits = [np.sum((vectors[ids[ids >= 0]] @ q) >= t - 1e-6) / 10 for ids, q, t in zip(found, queries, tenth,
                                                                                         strict=True)]
    return float(np.mean(hits))


def flat_only(pool: SentencePool, n: int, queries: np.ndarray) -> dict:
    """Exact FAISS alone at a size too large for the whole synthetic index here: add and per-query search."""
    from briefsearch.store.vectors import build_vector_index

    rng = np.random.default_rng(n)
    vectors = np.empty((n, pool.vectors.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        picks = rng.integers(0, len(pool.vectors), size=(stop - start, 6))
        block = pool.vectors[picks].mean(axis=1)
        vectors[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    index, add_s = timed(build_vector_index, vectors, np.arange(n, dtype=np.int64), vectors.shape[1], "Flat")
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], 100)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"[{n}] flat only: add {add_s:.2f} s, search p50 {pct(times, 50)} ms", flush=True)
    return {"passages": n, "flat_add_s": round(add_s, 2), "flat_search_p50_ms": pct(times, 50),
            "flat_search_p95_ms": pct(times, 95), "vector_mb": round(vectors.nbytes / 2**20, 1)}


def searcher_side(loaded, encoder, settings, questions: list[str]) -> dict:
    """p50/p95 ms of Searcher.search per mode (query cache off: every dense/hybrid search embeds)."""
    from briefsearch.retrieval.searcher import Searcher

    searcher = Searcher(loaded, encoder, settings)
    out = {}
    for mode in ("dense", "lexical", "hybrid"):
        searcher.search(questions[0], 10, mode)  # warm-up
        results, cpu = [], []
        for q in questions:
            c0 = time.process_time()
            results.append(searcher.search(q, 10, mode))
            cpu.append((time.process_time() - c0) * 1000)
        took = [r.took_ms for r in results]
        beyond = [r.took_ms - r.timings.get("embed_ms", 0.0) for r in results]  # what the index size costs
        out[mode] = {"p50_ms": pct(took, 50), "p95_ms": pct(took, 95), "p50_without_embed_ms": pct(beyond, 50),
                     "p50_cpu_ms": pct(cpu, 50)}
    return out


def cold_load(data_dir: Path, models: Path) -> dict:
    """Model + index + Searcher in a fresh process (what serve does before /ready), and its peak RSS."""
    code = (
        "import time,resource,sys; t0=time.perf_counter();"
        "from briefsearch.config import Settings; from briefsearch.runtime.engine import open_searcher;"
        f"s=Settings(data_dir={str(data_dir)!r}, query_cache_size=0);"
        "sr=open_searcher(s, build=False, progress=False); t1=time.perf_counter();"
        "sr.search('인공지능 산업 정책', 10, 'hybrid');"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec, so it would report this bench's own peak
        "hwm=[l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0];"
        "print(round(t1-t0,2), hwm)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    seconds, rss_kb = done.stdout.split()[-2:]
    return {"cold_load_s": float(seconds), "peak_rss_mb": round(int(rss_kb) / 1024, 1)}


def measure_size(n: int, pool: SentencePool, encoder, settings, questions: list[str], query_vectors: np.ndarray,
                 models: Path, manifest) -> dict:
    from briefsearch.store.lexical import LexicalIndex
    from briefsearch.store.vectors import build_vector_index
    from briefsearch.store.versions import LoadedIndex

    print(f"[{n}] synthesizing", flush=True)
    chunks, vectors, documents, sentence_vectors = synthesize(pool, n, seed=n)
    row: dict = {"passages": n, "sentences": len(sentence_vectors)}
    print(f"[{n}] faiss", flush=True)
    row["faiss"] = faiss_side(vectors, query_vectors, settings.faiss_ef_construction)
    print(json.dumps(row["faiss"]), flush=True)
    print(f"[{n}] bm25", flush=True)
    lexical, bm25_s = timed(LexicalIndex.build, [c.terms for c in chunks], [c.chunk_id for c in chunks],
                            settings.bm25.k1, settings.bm25.b)
    from briefsearch.store.lexical import LexicalAnalyzer
    from briefsearch.text.korean import KoreanText

    analyzer = LexicalAnalyzer(KoreanText())
    query_terms = [analyzer.terms(q) for q in questions]
    times = []
    for terms in query_terms:
        t0 = time.perf_counter()
        lexical.search(terms, settings.ranking.depth)
        times.append((time.perf_counter() - t0) * 1000)
    row["bm25"] = {"index_s": round(bm25_s, 3), "query_p50_ms": pct(times, 50)}

    by_id = {c.chunk_id: c for c in chunks}
    docs = {d.doc_id: d for d in documents}
    row["search"] = {}
    for kind in ("Flat", "HNSW32"):
        index = build_vector_index(vectors, np.arange(n, dtype=np.int64), vectors.shape[1], kind,
                                   settings.faiss_ef_construction)
        loaded = LoadedIndex(path=Path("."), manifest=replace(manifest, index_type=kind), faiss_index=index,
                             chunks=by_id, documents=docs, lexical=lexical,
                             sentence_vectors=sentence_vectors.astype(np.float16))
        print(f"[{n}] searcher {kind}", flush=True)
        row["search"][kind] = searcher_side(loaded, encoder, settings, questions)
        del loaded

    row.update(cold_side(n, pool, settings, manifest, (chunks, vectors, documents, sentence_vectors, lexical)))
    row["ru_maxrss_bench_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def cold_side(n: int, pool: SentencePool, settings, manifest, built: tuple | None = None) -> dict:
    """Write the synthetic index of ``n`` passages: its bytes on disk, load time, cold start and service RSS."""
    from briefsearch.store.lexical import LexicalIndex
    from briefsearch.store.versions import load_index, publish_version, write_version

    if built is None:
        chunks, vectors, documents, sentence_vectors = synthesize(pool, n, seed=n)
        lexical = LexicalIndex.build([c.terms for c in chunks], [c.chunk_id for c in chunks], settings.bm25.k1,
                                     settings.bm25.b)
    else:
        chunks, vectors, documents, sentence_vectors, lexical = built
    models = settings.models_dir.resolve()
    row: dict = {}
    print(f"[{n}] disk + cold load", flush=True)
    with tempfile.TemporaryDirectory(prefix="growth-") as tmp:
        data = Path(tmp)
        (data / "models").symlink_to(models, target_is_directory=True)
        kind = "Flat" if n < settings.faiss_exact_below else settings.faiss_factory
        m = replace(manifest, index_type=kind, sentence_dtype=settings.sentence_vector_dtype,
                    n_documents=len(documents),
                    n_chunks=n, next_chunk_id=n, corpus={})
        version = write_version(data / "index", m, vectors, chunks, documents, lexical, sentence_vectors,
                                settings.faiss_ef_construction)
        publish_version(data / "index", version)
        sizes = {p.name: (p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*")))
                 for p in version.iterdir()}
        row["disk"] = {"index_type": kind, "files": sizes, "total_mb": round(sum(sizes.values()) / 2**20, 1),
                       "bytes_per_passage": round(sum(sizes.values()) / n),
                       "sentence_bytes_per_passage": round(sizes["sentences.npy"] / n),
                       "sentence_bytes_per_passage_float32": round(sentence_vectors.astype(np.float32).nbytes / n)}
        _, row["disk"]["load_index_s"] = timed(load_index, data / "index")
        row.update(cold_load(data, models))
    return row


def build_side(pool: SentencePool, encoder, n_passages: int) -> dict:
    """Real embeddings: passages/s (length-sorted vs input order), sentences/s, Kiwi analysis per passage."""
    from briefsearch.store.lexical import LexicalAnalyzer
    from briefsearch.text.korean import KoreanText

    chunks, *_ = synthesize(pool, n_passages, seed=7)
    texts = [c.text for c in chunks]
    # rates from CPU seconds over the 2 cores the build's two forward passes use: what an idle 2-core
    # machine gives (wall seconds on this shared host are reported beside them)
    cores = min(os.cpu_count() or 1, 2)
    _, sorted_wall, sorted_cpu = cpu_timed(encoder.encode_passages, texts, progress=False)
    _, unsorted_wall, unsorted_cpu = cpu_timed(encoder._encode, [encoder.passage_prefix + t for t in texts], False)
    sentences = pool.texts[: n_passages * 2]
    _, sentences_wall, sentences_cpu = cpu_timed(encoder.encode_passages, sentences, progress=False)
    analyzer = LexicalAnalyzer(KoreanText().warm())
    _, kiwi_wall, kiwi_cpu = cpu_timed(lambda: [analyzer.terms(t) for t in texts])
    per_passage = len(pool.texts) / len(pool.per_passage)  # distinct sentences per real passage
    passage_rate = n_passages * cores / sorted_cpu
    sentence_rate = len(sentences) * cores / sentences_cpu
    seconds_per_passage = 1 / passage_rate + per_passage / sentence_rate + kiwi_cpu / n_passages  # Kiwi: 1 core
    return {"passages": n_passages, "sentences": len(sentences), "cores": cores,
            "wall_s": {"passages_sorted": round(sorted_wall, 1), "passages_input_order": round(unsorted_wall, 1),
                       "sentences": round(sentences_wall, 1), "kiwi": round(kiwi_wall, 1)},
            "cpu_s": {"passages_sorted": round(sorted_cpu, 1), "passages_input_order": round(unsorted_cpu, 1),
                      "sentences": round(sentences_cpu, 1), "kiwi": round(kiwi_cpu, 1)},
            "passages_per_s_sorted": round(passage_rate, 2),
            "passages_per_s_input_order": round(n_passages * cores / unsorted_cpu, 2),
            "sentences_per_s": round(sentence_rate, 2),
            "kiwi_passages_per_s": round(n_passages / kiwi_cpu, 1),
            "distinct_sentences_per_passage": round(per_passage, 2),
            "build_passages_per_s": round(1 / seconds_per_passage, 2),
            "extrapolated_build_hours": {n: round(n * seconds_per_passage / 3600, 2)
                                         for n in (1_000, 10_000, 100_000, 1_000_000)}}


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["sizes"]
    n = [r["passages"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    for kind, style in (("Flat", "-"), ("HNSW32", "--")):
        for mode, color in (("dense", "C0"), ("lexical", "C1"), ("hybrid", "C2")):
            have = [r for r in rows if kind in r["search"]]
            ax.plot([r["passages"] for r in have], [r["search"][kind][mode]["p50_ms"] for r in have], style,
                    color=color, marker="o",
                    label=f"{mode} p50 ({kind})" if kind == "Flat" or mode != "lexical" else None)
    flat = rows + results.get("flat_only", [])
    ax.plot([r["passages"] for r in flat], [r.get("faiss", r).get("flat_search_p50_ms") for r in flat], ":",
            color="k", marker="x", label="FAISS Flat alone")
    ax.plot(n, [r["faiss"]["hnsw"][str(EF_SEARCH[-1])]["search_p50_ms"] if str(EF_SEARCH[-1]) in r["faiss"]["hnsw"]
                else r["faiss"]["hnsw"][EF_SEARCH[-1]]["search_p50_ms"] for r in rows], ":", color="grey",
            marker="+", label=f"FAISS HNSW32 alone (efSearch {EF_SEARCH[-1]})")
    embed = min(r.get("embed_one_query_ms", results["embed_one_query_ms"]) for r in rows)  # the quietest run's
    ax.axhline(2 * embed, color="grey", lw=0.8, label=f"2 x one query embedding ({embed} ms): the target")
    ax.set(xscale="log", yscale="log", xlabel="passages", ylabel="ms",
           title="search p50 (Searcher in-process; wall, shared host)")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(n, [r["peak_rss_mb"] for r in rows], marker="o", label="service peak RSS (MB)")
    ax.plot(n, [r["disk"]["total_mb"] for r in rows], marker="s", label="index on disk (MB)")
    ax.set(xscale="log", yscale="log", xlabel="passages", ylabel="MB", title="memory and disk")
    ax.legend(fontsize=7)
    ax = axes[2]
    build = results.get("build") or {}
    if build:
        hours = {int(k): v for k, v in build["extrapolated_build_hours"].items()}
        ax.plot(sorted(hours), [hours[k] for k in sorted(hours)], marker="o",
                label=f"full build at {build['build_passages_per_s']} passages/s (measured at {build['passages']}, "
                "extrapolated)")
    ax.plot(n, [r["faiss"]["hnsw_add_s"] / 3600 for r in rows], marker="s", label="HNSW32 add only")
    ax.set(xscale="log", yscale="log", xlabel="passages", ylabel="hours", title="build time (2 cores)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT_PNG, dpi=110)


def markdown(results: dict) -> str:
    """The tables of bench/growth.md, from growth.json (so no figure is copied by hand)."""
    out = ["| passages | sentence rows | Flat add s | Flat search ms | exact score gap rank 1-10 / 10-11 (median) "
           "| HNSW32 add s | HNSW32 recall@10 (tie-aware) / ms at efSearch " + ", ".join(str(e) for e in EF_SEARCH)
           + " | BM25 index s | BM25 query ms |",
           "|---:|---:|---:|---:|---|---:|---|---:|---:|"]
    for r in results["sizes"]:
        f = r["faiss"]
        hnsw = "; ".join(f"{v['recall@10']:.3f} ({v.get('tie_aware_recall@10', float('nan')):.3f}) / "
                         f"{v['search_p50_ms']}" for v in f["hnsw"].values())
        out.append(f"| {r['passages']:,} | {r['sentences']:,} | {f['flat_add_s']} | {f['flat_search_p50_ms']} | "
                   f"{f.get('gap_1_10_p50')} / {f.get('gap_10_11_p50')} | {f['hnsw_add_s']} | {hnsw} | "
                   f"{r['bm25']['index_s']} | {r['bm25']['query_p50_ms']} |")
    for r in results.get("flat_only", []):
        out.append(f"| {r['passages']:,} (Flat only) | | {r['flat_add_s']} | {r['flat_search_p50_ms']} | "
                   "not measured | not measured | not measured | not measured | not measured |")
    out += ["", "| passages | index | dense p50 / p95 ms | dense CPU ms | lexical p50 / p95 ms | hybrid p50 / p95 ms "
            "| hybrid CPU ms | hybrid without embedding ms | one query embedding ms (run) |",
            "|---:|---|---|---:|---|---|---:|---:|---:|"]
    for r in results["sizes"]:
        for kind, m in r["search"].items():
            d, lx, h = m["dense"], m["lexical"], m["hybrid"]
            out.append(f"| {r['passages']:,} | {kind} | {d['p50_ms']} / {d['p95_ms']} | {d['p50_cpu_ms']} | "
                       f"{lx['p50_ms']} / {lx['p95_ms']} | {h['p50_ms']} / {h['p95_ms']} | {h['p50_cpu_ms']} | "
                       f"{h['p50_without_embed_ms']} | {r.get('embed_one_query_ms', results['embed_one_query_ms'])} |")
    out += ["", "| passages | type on disk | index MB on disk | bytes / passage | sentences.npy bytes / passage "
            "(float16; float32 would be) | vectors.faiss MB Flat / HNSW32 | load_index s | cold load s "
            "(model + index) | service peak RSS MB |", "|---:|---|---:|---:|---|---|---:|---:|---:|"]
    for r in results["sizes"]:
        d, f = r["disk"], r["faiss"]
        out.append(f"| {r['passages']:,} | {d['index_type']} | {d['total_mb']} | {d['bytes_per_passage']:,} | "
                   f"{d['sentence_bytes_per_passage']:,} ({d['sentence_bytes_per_passage_float32']:,}) | "
                   f"{f['flat_bytes'] / 2**20:.1f} / {f['hnsw_bytes'] / 2**20:.1f} | {d['load_index_s']:.2f} | "
                   f"{r['cold_load_s']} | {r['peak_rss_mb']} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="data dir with a built index of the corpus")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--build-passages", type=int, default=600, help="passages embedded for the build rates")
    parser.add_argument("--queries", type=int, default=40, help="dev questions used as queries")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--flat-only", default="", help="sizes measured for exact FAISS search alone (vectors only)")
    parser.add_argument("--cold-only", action="store_true",
                        help="re-measure only disk bytes, cold load and service RSS of --sizes; other figures kept")
    parser.add_argument("--table", action="store_true", help="print growth.json's tables as Markdown and stop")
    args = parser.parse_args()
    if args.table:
        print(markdown(json.loads(OUT_JSON.read_text(encoding="utf-8"))))
        return

    from briefsearch.config import Settings
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.store.versions import load_index

    settings = Settings(data_dir=args.data_dir, query_cache_size=0)
    encoder = Encoder(settings, progress=False)
    loaded = load_index(settings.index_dir)
    pool = SentencePool(loaded)
    questions = dev_questions()[: args.queries]
    query_vectors = encoder.encode_queries(questions)
    embed_ms = []
    for q in questions:
        t0 = time.perf_counter()
        encoder._encode_queries_now([encoder.query_prefix + q])
        embed_ms.append((time.perf_counter() - t0) * 1000)
    results = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
               "command": "python -m bench.growth " + " ".join(sys.argv[1:]),
               "real_sentences": len(pool.texts), "real_passages": len(pool.per_passage),
               "embed_one_query_ms": pct(embed_ms, 50), "queries": len(questions),
               "settings": {"faiss_exact_below": settings.faiss_exact_below, "faiss_factory": settings.faiss_factory,
                            "faiss_ef_search": settings.faiss_ef_search,
                            "faiss_ef_construction": settings.faiss_ef_construction},
               "load_average_start": os.getloadavg(), "sizes": []}
    previous = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
    results["build"] = previous.get("build", {})
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.cold_only:
        for row in previous["sizes"]:
            if row["passages"] in sizes:
                row.update(cold_side(row["passages"], pool, settings, loaded.manifest))
                OUT_JSON.write_text(json.dumps(previous, ensure_ascii=False, indent=1), encoding="utf-8")
        plot(previous)
        return
    results["sizes"] = [r for r in previous.get("sizes", []) if r["passages"] not in sizes]  # rows kept from before
    for n in sizes:
        results["sizes"].append(measure_size(n, pool, encoder, settings, questions, query_vectors,
                                             settings.models_dir.resolve(), loaded.manifest))
        results["sizes"][-1]["embed_one_query_ms"] = results["embed_one_query_ms"]  # the run's, beside its rows
        results["sizes"].sort(key=lambda r: r["passages"])
        OUT_JSON.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    measured = [flat_only(pool, int(n), query_vectors) for n in args.flat_only.split(",") if n]
    results["flat_only"] = measured or previous.get("flat_only", [])  # kept from before unless re-measured
    if not args.skip_build:
        print("build side", flush=True)
        results["build"] = build_side(pool, encoder, args.build_passages)
        print(json.dumps(results["build"]), flush=True)
    results["load_average_end"] = os.getloadavg()
    OUT_JSON.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    plot(results)


if __name__ == "__main__":
    main()
