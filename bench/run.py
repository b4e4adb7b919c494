"""Benchmark harness: briefsearch against two baselines, on one machine, in one run.

    make bench          # or: .venv/bin/python -m bench.run [--seconds 10] [--rounds 3]

Writes bench/results.json and bench/results.md. Measures, with the eval
questions as the workload:

* query embedding alone (the floor), in-process, one query at a time;
* ``/search`` over HTTP with one client (p50/p95 after warm-up), and its ratio
  to the floor (the server's overhead);
* throughput and p95 at 1, 4 and 16 concurrent clients (query cache off, so
  every request embeds);
* index build time and passages per second, cold start to ``/ready``, peak
  resident memory of the server;
* baselines built here from the same corpus and model: (a) BM25 only (bm25s
  over kiwipiepy morphemes), (b) naive dense (fixed 500-character chunks, no
  structure, flat FAISS) — each with Recall@5 and MRR@10 beside its speed.

The floor, the one-client run and the load levels repeat in interleaved rounds
and medians are reported (this VM's speed drifts within minutes). The load
generator is stdlib http.client, the leanest client at hand, since it shares
the server's cores; its CPU per request is reported beside the server's, and
so are the cores both keep busy. 16 clients can at most keep every core busy,
so at equal CPU per request cores ÷ (cores busy with one client) bounds the
16÷1 throughput ratio.

Not part of the test suite's pass/fail: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from briefsearch.evaluation.evaluate import window_quality as quality

REPO = Path(__file__).resolve().parent.parent
OUT_JSON = REPO / "bench" / "results.json"
OUT_MD = REPO / "bench" / "results.md"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "BRIEFSEARCH_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1", **extra}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "briefsearch.cli", *args]


# ----------------------------------------------------------------- build, start
def measure_build(data_dir: Path, models_from: Path) -> dict:
    (data_dir / "models").symlink_to(models_from, target_is_directory=True)
    started = time.perf_counter()
    subprocess.run(cli("index", "build"), env=env_for(data_dir), cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    version = (data_dir / "index" / "CURRENT").read_text().strip()
    manifest = json.loads((data_dir / "index" / version / "manifest.json").read_text())
    n = manifest["n_chunks"]
    return {"seconds": round(seconds, 1), "passages": n, "passages_per_s": round(n / seconds, 2),
            "seconds_per_1000_passages": round(seconds / n * 1000, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def start_server(data_dir: Path, port: int, **env: str) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(cli("serve", "--port", str(port), "--no-build"), env=env_for(data_dir, **env), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/ready"
    while True:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return proc, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


# ----------------------------------------------------------------- HTTP load
class SearchClient:
    """One keep-alive HTTP/1.1 connection posting /search (stdlib http.client).

    The load generator shares the server's two cores: httpx spent ~1.7 ms of CPU
    per request here, http.client ~0.5 ms, so the lean client leaves the cores
    to the server under test. Its own CPU is still measured and reported.
    """

    def __init__(self, base: str, timeout: float = 60) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def search(self, query: str, k: int = 5) -> int:
        body = json.dumps({"query": query, "k": k}, ensure_ascii=False).encode()
        self.conn.request("POST", "/search", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.conn.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_client(base: str, questions: list[str]) -> list[float]:
    times = []
    client = SearchClient(base)
    try:
        for q in questions:
            t0 = time.perf_counter()
            if client.search(q) != 200:
                raise RuntimeError(f"/search failed for {q!r}")
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        client.close()
    return times


def load(base: str, questions: list[str], clients: int, seconds: float, server_pid: int | None = None) -> dict:
    """``clients`` closed-loop clients for ``seconds``: requests/s, p50, p95, failed requests, and with the
    server's pid the CPU each request cost it (a server spread over Ray replicas has no one pid)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        nonlocal errors
        i = offset
        client = SearchClient(base)
        while time.perf_counter() < stop:
            q = questions[i % len(questions)]
            i += clients
            t0 = time.perf_counter()
            try:
                ok = client.search(q) == 200
            except (OSError, http.client.HTTPException):
                ok = False
                client.close()
                client = SearchClient(base)
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                if ok:
                    latencies.append(ms)
                else:
                    errors += 1
        client.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    server_cpu = cpu_seconds(server_pid) if server_pid is not None else 0.0
    own_cpu, t0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    figures = {"clients": clients, "requests": len(latencies), "errors": errors,
               "throughput_rps": round(len(latencies) / elapsed, 2),
               "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1)}
    if server_pid is None:
        return figures
    server_s, client_s = cpu_seconds(server_pid) - server_cpu, time.process_time() - own_cpu
    n = max(len(latencies), 1)
    return {**figures,
            "server_cpu_ms_per_request": round(server_s * 1000 / n, 2),
            "client_cpu_ms_per_request": round(client_s * 1000 / n, 2),
            # cores kept busy by the server and the load generator together: how close to saturation
            "cores_busy": round((server_s + client_s) / elapsed, 2)}


# ----------------------------------------------------------------- baselines
def fixed_chunks(corpus_dir: Path, size: int = 500) -> list[tuple[str, str]]:
    from briefsearch.ingest.sources import load_manifest, read_source

    chunks = []
    for meta in load_manifest(corpus_dir):
        text = read_source(corpus_dir / meta.file).raw
        chunks += [(meta.doc_id, text[i : i + size]) for i in range(0, len(text), size) if text[i : i + size].strip()]
    return chunks


def run_baselines(encoder, korean, questions) -> dict:
    import bm25s
    import faiss

    from briefsearch.store.lexical import LexicalAnalyzer

    chunks = fixed_chunks(REPO / "corpus")
    analyzer = LexicalAnalyzer(korean)
    out = {}

    bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    bm25.index([analyzer.terms(t) or ["\x00"] for _, t in chunks], show_progress=False)
    bm25.retrieve([analyzer.terms(questions[0].question) or ["\x00"]], k=10, show_progress=False)  # warm-up
    times, ranked = [], []
    for q in questions:
        t0 = time.perf_counter()
        docs, _ = bm25.retrieve([analyzer.terms(q.question) or ["\x00"]], k=10, show_progress=False)
        times.append((time.perf_counter() - t0) * 1000)
        ranked.append([int(d) for d in docs[0]])
    out["bm25_only"] = {**quality(ranked, chunks, questions), "p50_ms": round(pct(times, 50), 2),
                        "qps_one_thread": round(1000 / statistics.mean(times), 1), "passages": len(chunks)}

    t0 = time.perf_counter()
    vectors = encoder.encode_passages([t for _, t in chunks], progress=False)
    build_s = time.perf_counter() - t0
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    times, ranked = [], []
    for q in questions:
        t0 = time.perf_counter()
        vec = encoder._encode_queries_now([encoder.query_prefix + q.question])
        _, ids = index.search(vec, 10)
        times.append((time.perf_counter() - t0) * 1000)
        ranked.append([int(i) for i in ids[0]])
    out["naive_dense"] = {**quality(ranked, chunks, questions), "p50_ms": round(pct(times, 50), 2),
                          "qps_one_thread": round(1000 / statistics.mean(times), 1), "passages": len(chunks),
                          "build_seconds": round(build_s, 1)}
    return out


# ----------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each concurrency level")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of floor, one-client and load runs; medians are reported "
                             "(this VM's speed drifts by ~10%% within minutes)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from briefsearch.config import get_settings
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.evaluation.evaluate import load_questions, run_eval
    from briefsearch.retrieval.crosslingual import content_words, is_crosslingual
    from briefsearch.retrieval.searcher import Searcher
    from briefsearch.store.versions import load_index
    from briefsearch.text.korean import KoreanText

    settings = get_settings()
    questions = load_questions()
    texts = [q.question for q in questions]
    # English questions also embed their words for the term bridge: their p50 is reported apart
    english = [is_crosslingual(t, settings.crosslingual.latin_share) for t in texts]

    def by_language(times: list[float], in_english: bool) -> list[float]:
        return [x for x, e in zip(times, english, strict=True) if e == in_english]
    korean_texts = by_language(texts, False)
    warmup = ["중국 반도체 산업 정책 동향", "인공지능 인재 양성 계획", "탄소중립 지방정부 책임제",
              "수소 저장 기술", "위성 인터넷"]
    results: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                 "python": platform.python_version()},
                     "workload": f"{len(texts)} eval questions, {sum(english)} of them English",
                     "date": time.strftime("%Y-%m-%d %H:%M")}

    with tempfile.TemporaryDirectory(prefix="briefsearch-bench-") as tmp:
        data_dir = Path(tmp)
        print("building the index ...", flush=True)
        Encoder(settings, progress=False)  # make sure the model folder exists to link to
        results["build"] = measure_build(data_dir, settings.models_dir)

        bench_settings = settings.model_copy(update={"data_dir": data_dir, "query_cache_size": 0})
        encoder = Encoder(bench_settings, progress=False)
        for w in warmup:
            encoder.encode_queries([w])

        def floor_run() -> list[float]:
            """The query embedding alone, in-process, one query at a time: the floor of one search."""
            times = []
            for q in texts:
                t0 = time.perf_counter()
                encoder.encode_queries([q])
                times.append((time.perf_counter() - t0) * 1000)
            return times

        def words_run() -> list[float]:
            """The term bridge's pass over an English question's words (0 for a Korean question): with the
            query embedding, the model work a question needs (query cache off, so it runs every time)."""
            times = []
            for q, in_english in zip(texts, english, strict=True):
                t0 = time.perf_counter()
                if in_english:
                    encoder.encode_short(content_words(q))
                times.append((time.perf_counter() - t0) * 1000 if in_english else 0.0)
            return times

        print("in-process search and quality ...", flush=True)
        korean = KoreanText()
        searcher = Searcher(load_index(data_dir / "index"), encoder, bench_settings, korean=korean)
        for w in warmup:  # the first searches load Kiwi's model and fill caches: not what a user waits for
            searcher.search(w, 5)
        inproc = []
        for q in texts:
            t0 = time.perf_counter()
            searcher.search(q, 5)
            inproc.append((time.perf_counter() - t0) * 1000)
        report = run_eval(searcher, questions, mode="hybrid")
        results["briefsearch"] = {"recall@5": report.overall["hit_rate@5"], "mrr@10": report.overall["mrr@10"],
                                  "p50_ms": round(pct(inproc, 50), 2),
                                  "qps_one_thread": round(1000 / statistics.mean(inproc), 1)}

        print("baselines ...", flush=True)
        results["baselines"] = run_baselines(encoder, korean, questions)

        # "default" is the configuration the service ships with (micro-batching on); the other is the alternative.
        # Each round measures the floor right before /search, so drift in the machine's speed hits both alike.
        floors: list[float] = []
        for label, extra in (("default", {"BRIEFSEARCH_MICRO_BATCHING": "true"}),
                             ("without_micro_batching", {"BRIEFSEARCH_MICRO_BATCHING": "false"})):
            print(f"server ({label}) ...", flush=True)
            port = free_port()
            proc, cold = start_server(data_dir, port, BRIEFSEARCH_QUERY_CACHE_SIZE="0", **extra)
            base = f"http://127.0.0.1:{port}"
            rounds = []
            try:
                one_client(base, warmup)
                for r in range(args.rounds):
                    print(f"  round {r + 1}/{args.rounds}", flush=True)
                    floor = floor_run()
                    words = words_run()
                    single = one_client(base, texts)
                    floors += floor if label == "default" else []
                    # each question's model work: its embedding, and an English question's word pass
                    model = [f + w for f, w in zip(floor, words, strict=True)]
                    rounds.append({"floor_p50_ms": round(pct(floor, 50), 2),
                                   "floor_p50_ms_korean": round(pct(by_language(floor, False), 50), 2),
                                   "model_p50_ms_english": round(pct(by_language(model, True), 50), 2),
                                   "model_mean_ms": round(statistics.mean(model), 2),
                                   "search_p50_ms": round(pct(single, 50), 2),
                                   "search_p50_ms_korean": round(pct(by_language(single, False), 50), 2),
                                   "search_p50_ms_english": round(pct(by_language(single, True), 50), 2),
                                   "search_p95_ms": round(pct(single, 95), 2),
                                   "load": [load(base, texts, c, args.seconds, proc.pid) for c in (1, 4, 16)],
                                   "load_korean_16": load(base, korean_texts, 16, args.seconds, proc.pid)})
                peak = peak_rss_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            results[label] = summarize(rounds, cold, peak)

        results["query_embedding"] = {"p50_ms": round(pct(floors, 50), 1), "p95_ms": round(pct(floors, 95), 1)}

        print("query cache ...", flush=True)
        port = free_port()
        proc, _ = start_server(data_dir, port)
        try:
            base = f"http://127.0.0.1:{port}"
            one_client(base, texts)  # fills the cache
            cached = one_client(base, texts)
            results["cached_repeat_search_p50_ms"] = round(pct(cached, 50), 1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    mb = results["default"]
    rps = {e["clients"]: e["throughput_rps"] for e in mb["load"]}
    results["ratios"] = {
        "search_p50_over_embedding_p50": mb["search_over_floor"],
        "search_p50_over_embedding_p50_rounds": mb["search_over_floor_rounds"],
        "throughput_16_over_1": mb["throughput_16_over_1"],
        "cpu_limit_share_at_16": mb["cpu_limit_share_at_16"],
        "throughput_16_over_1_rounds": mb["throughput_16_over_1_rounds"],
        "throughput_16_over_1_ceiling": mb["throughput_16_over_1_ceiling"],
        "micro_batching_gain_at_16": round(rps[16] / {e["clients"]: e["throughput_rps"]
                                                      for e in results["without_micro_batching"]["load"]}[16], 2),
        "ours_over_bm25_only_qps": round(results["briefsearch"]["qps_one_thread"]
                                         / results["baselines"]["bm25_only"]["qps_one_thread"], 3),
        "ours_over_naive_dense_qps": round(results["briefsearch"]["qps_one_thread"]
                                           / results["baselines"]["naive_dense"]["qps_one_thread"], 3),
    }
    OUT_JSON.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    OUT_MD.write_text(markdown(results), encoding="utf-8")
    print(OUT_MD.read_text(encoding="utf-8"))
    shutil.rmtree(data_dir, ignore_errors=True)


def summarize(rounds: list[dict], cold: float, peak: float) -> dict:
    """Medians over rounds of every figure, and each round's two ratios (the targets) for the spread."""
    med = statistics.median
    ratio1 = [r["search_p50_ms"] / r["floor_p50_ms"] for r in rounds]
    ratio16 = [r["load"][-1]["throughput_rps"] / r["load"][0]["throughput_rps"] for r in rounds]
    # 16 clients' throughput as a share of what the cores allow at one query embedding per request
    cores = os.cpu_count() or 1
    cpu_share = [r["load"][-1]["throughput_rps"] * r["floor_p50_ms"] / (1000 * cores) for r in rounds]
    # the same share for Korean questions alone (one embedding each), and for the mixed workload against the
    # model work it needs (an English question's word pass included): what is left is the service's own cost
    cpu_share_korean = [r["load_korean_16"]["throughput_rps"] * r["floor_p50_ms_korean"] / (1000 * cores)
                        for r in rounds]
    cpu_share_model = [r["load"][-1]["throughput_rps"] * r["model_mean_ms"] / (1000 * cores) for r in rounds]
    ratio_korean = [r["search_p50_ms_korean"] / r["floor_p50_ms_korean"] for r in rounds]
    ratio_english = [r["search_p50_ms_english"] / r["model_p50_ms_english"] for r in rounds]
    load = []
    for i, first in enumerate(rounds[0]["load"]):
        level = [r["load"][i] for r in rounds]
        load.append({"clients": first["clients"], "requests": sum(x["requests"] for x in level),
                     "errors": sum(x["errors"] for x in level),
                     **{key: round(med(x[key] for x in level), 2)
                        for key in ("throughput_rps", "p50_ms", "p95_ms", "server_cpu_ms_per_request",
                                    "client_cpu_ms_per_request", "cores_busy")}})
    return {"cold_start_to_ready_s": round(cold, 2), "peak_rss_mb": peak, "rounds": rounds,
            "search_one_client": {"p50_ms": round(med(r["search_p50_ms"] for r in rounds), 1),
                                  "p95_ms": round(med(r["search_p95_ms"] for r in rounds), 1),
                                  "p50_ms_korean": round(med(r["search_p50_ms_korean"] for r in rounds), 1),
                                  "p50_ms_english": round(med(r["search_p50_ms_english"] for r in rounds), 1)},
            "cpu_limit_share_at_16": round(med(cpu_share), 2),
            "cpu_limit_share_at_16_korean": round(med(cpu_share_korean), 2),
            "cpu_limit_share_at_16_korean_rounds": [round(x, 2) for x in cpu_share_korean],
            "korean_16_errors": sum(r["load_korean_16"]["errors"] for r in rounds),
            "model_work_share_at_16": round(med(cpu_share_model), 2),
            "model_work_share_at_16_rounds": [round(x, 2) for x in cpu_share_model],
            "model_mean_ms": round(med(r["model_mean_ms"] for r in rounds), 1),
            "model_p50_ms_english": round(med(r["model_p50_ms_english"] for r in rounds), 1),
            "search_over_model_korean": round(med(ratio_korean), 2),
            "search_over_model_english": round(med(ratio_english), 2),
            "cpu_limit_share_at_16_rounds": [round(x, 2) for x in cpu_share],
            "search_over_floor": round(med(ratio1), 2), "search_over_floor_rounds": [round(x, 2) for x in ratio1],
            "throughput_16_over_1": round(med(ratio16), 2),
            # 16 clients can at most keep every core busy: the best 16÷1 ratio at equal CPU per request
            "throughput_16_over_1_ceiling": round((os.cpu_count() or 1) / load[0]["cores_busy"], 2),
            "throughput_16_over_1_rounds": [round(x, 2) for x in ratio16], "load": load}


def markdown(r: dict) -> str:
    mb, nomb = r["default"], r["without_micro_batching"]
    lines = [
        "# Benchmark", "",
        f"- machine: {r['machine']['cpus']} cores, {r['machine']['platform']}, Python {r['machine']['python']}; "
        f"{r['date']}; workload: {r['workload']}; command: `make bench`", "",
        "| measure | value |", "|---|---:|",
        f"| query embedding alone, p50 / p95 (the floor) | {r['query_embedding']['p50_ms']} / "
        f"{r['query_embedding']['p95_ms']} ms |",
        f"| `/search` over HTTP, one client, p50 / p95 | {mb['search_one_client']['p50_ms']} / "
        f"{mb['search_one_client']['p95_ms']} ms |",
        f"| ratio `/search` p50 ÷ embedding p50 (median of rounds; each round) | "
        f"{r['ratios']['search_p50_over_embedding_p50']} ({', '.join(map(str, mb['search_over_floor_rounds']))}) |",
        f"| `/search` p50, Korean questions / English questions (term bridge: a second pass over the words) | "
        f"{mb['search_one_client']['p50_ms_korean']} / {mb['search_one_client']['p50_ms_english']} ms |",
        f"| 16 clients' throughput ÷ (cores ÷ embedding p50), median of rounds (each round) | "
        f"{mb['cpu_limit_share_at_16']} ({', '.join(map(str, mb['cpu_limit_share_at_16_rounds']))}) |",
        f"| Korean questions alone: `/search` p50 ÷ their embedding p50; 16 clients ÷ (cores ÷ their embedding "
        f"p50) (each round) | {mb['search_over_model_korean']}; {mb['cpu_limit_share_at_16_korean']} "
        f"({', '.join(map(str, mb['cpu_limit_share_at_16_korean_rounds']))}), {mb['korean_16_errors']} errors |",
        f"| English questions: model work p50 (embedding + the term bridge's word pass); `/search` p50 ÷ it | "
        f"{mb['model_p50_ms_english']} ms; {mb['search_over_model_english']} |",
        f"| mixed workload: 16 clients ÷ (cores ÷ mean model work of {mb['model_mean_ms']} ms a question) "
        f"(each round) | {mb['model_work_share_at_16']} "
        f"({', '.join(map(str, mb['model_work_share_at_16_rounds']))}) |",
        f"| repeated question (query cache hit), `/search` p50 | {r['cached_repeat_search_p50_ms']} ms |",
        f"| cold start to `/ready` (built index) | {mb['cold_start_to_ready_s']} s |",
        f"| server peak resident memory | {mb['peak_rss_mb']} MB |",
        f"| index build | {r['build']['seconds']} s for {r['build']['passages']} passages "
        f"({r['build']['passages_per_s']}/s, {r['build']['seconds_per_1000_passages']} s per 1,000) |", "",
        f"## Throughput (query cache off; medians of {len(mb['rounds'])} rounds)", "",
        "| clients | rps (default) | p50 ms | p95 ms | errors | server CPU ms/req | load-generator CPU ms/req "
        "| cores busy | without micro-batching rps | p95 ms | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a, b in zip(mb["load"], nomb["load"], strict=True):
        lines.append(f"| {a['clients']} | {a['throughput_rps']} | {a['p50_ms']} | {a['p95_ms']} | {a['errors']} | "
                     f"{a['server_cpu_ms_per_request']} | {a['client_cpu_ms_per_request']} | {a['cores_busy']} | "
                     f"{b['throughput_rps']} | {b['p95_ms']} | {b['errors']} |")
    lines += ["", f"Throughput at 16 clients ÷ 1 client: {r['ratios']['throughput_16_over_1']} "
              f"(each round: {', '.join(map(str, mb['throughput_16_over_1_rounds']))}); "
              f"micro-batching gain at 16 clients: {r['ratios']['micro_batching_gain_at_16']}×. "
              f"At equal CPU per request that ratio cannot pass {r['machine']['cpus']} cores ÷ "
              f"{mb['load'][0]['cores_busy']} cores busy with one client = {mb['throughput_16_over_1_ceiling']} "
              "(16 clients cannot use more than every core); only cheaper requests under load (shared passes) "
              "go beyond it.", "",
              "## Against baselines (same corpus, model and questions; in-process, one thread)", "",
              "| system | passages | Recall@5 | MRR@10 | p50 ms | queries/s |", "|---|---:|---:|---:|---:|---:|"]
    b = r["baselines"]
    lines.append(f"| briefsearch (hybrid, structured passages) | {r['build']['passages']} | "
                 f"{r['briefsearch']['recall@5']:.3f} | {r['briefsearch']['mrr@10']:.3f} | "
                 f"{r['briefsearch']['p50_ms']} | {r['briefsearch']['qps_one_thread']} |")
    lines.append(f"| BM25 only (bm25s + Kiwi, 500-char chunks) | {b['bm25_only']['passages']} | "
                 f"{b['bm25_only']['recall@5']:.3f} | {b['bm25_only']['mrr@10']:.3f} | {b['bm25_only']['p50_ms']} | "
                 f"{b['bm25_only']['qps_one_thread']} |")
    lines.append(f"| naive dense (500-char chunks, flat FAISS) | {b['naive_dense']['passages']} | "
                 f"{b['naive_dense']['recall@5']:.3f} | {b['naive_dense']['mrr@10']:.3f} | "
                 f"{b['naive_dense']['p50_ms']} | {b['naive_dense']['qps_one_thread']} |")
    lines += ["", f"Our queries/s ÷ BM25-only: {r['ratios']['ours_over_bm25_only_qps']}; "
              f"÷ naive dense: {r['ratios']['ours_over_naive_dense_qps']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
