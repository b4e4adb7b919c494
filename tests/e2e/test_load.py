"""A bounded load test: 16 concurrent clients search the real server process on loopback for 15 s.

Correctness is asserted (every request answered 200, no client error, a non-trivial
number of requests completed). Speed is measured, not asserted, because the machine
is shared: p50/p95 latency, throughput and the server's resident memory before and
after are printed on one line, written to ``tests/artifacts/load.json`` and attached
to the test report with ``record_property``.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from briefsearch.config import REPO_ROOT

CLIENTS = 16
DURATION_S = 15.0  # long enough for ~1000 requests (>= 100 asserted) and every question once
QUESTIONS = REPO_ROOT / "eval" / "questions.jsonl"
ARTIFACT = REPO_ROOT / "tests" / "artifacts" / "load.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mib(pid: int) -> dict[str, float]:
    """Resident memory of a process from /proc (kB -> MiB): total, anonymous, and file-backed.

    File-backed pages are mostly the ONNX weights, which are memory-mapped: they are paged in as
    queries touch new token embeddings, are shared with the page cache, and stop at the file's size.
    """
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    assert "VmRSS" in fields, f"no VmRSS for pid {pid}"
    return {"total": fields["VmRSS"], "anon": fields.get("RssAnon", 0.0), "file": fields.get("RssFile", 0.0)}


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server (SIGTERM: uvicorn shuts down gracefully), kill it if it does not exit."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _wait_ready(proc: subprocess.Popen, base: str, timeout: float = 180.0) -> None:
    """Poll ``/ready`` (503 while loading) until it answers 200; fail at once if the server exits."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as client:
        while True:
            assert proc.poll() is None, f"server exited with code {proc.returncode} before it was ready"
            try:
                if client.get(f"{base}/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            assert time.monotonic() < deadline, f"server not ready after {timeout:.0f} s"
            time.sleep(0.25)


@pytest.mark.slow
def test_sixteen_concurrent_clients_search_the_server_process(searcher, data_dir: Path, tmp_path: Path,
                                                              record_property) -> None:
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    assert questions
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # the session index (built by the `searcher` fixture); any BRIEFSEARCH_* of the caller's shell left out
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFSEARCH_")}
    env.update(BRIEFSEARCH_DATA_DIR=str(data_dir), OMP_NUM_THREADS="1")
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:  # a file, not a pipe: the access log must never block the server
        proc = subprocess.Popen([sys.executable, "-m", "briefsearch.cli", "serve", "--port", str(port),
                                 "--no-build"],
                                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, base)
        rss_before = _rss_mib(proc.pid)

        sent = itertools.count()  # request i asks questions[i % len]: the first pass encodes each question once,
        lock = threading.Lock()  # later passes hit the server's query-embedding cache
        records: list[tuple[int, float, int | None, bool]] = []  # (client, latency s, status, first pass)
        errors: list[str] = []
        start = threading.Barrier(CLIENTS + 1)

        def client(n: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                start.wait(timeout=60)
                while time.monotonic() < stop_at:
                    with lock:
                        i = next(sent)
                    query = questions[i % len(questions)]
                    status, error = None, None
                    began = time.perf_counter()
                    try:
                        response = http.post("/search", json={"query": query, "k": 5})
                        status = response.status_code
                        if status != 200:
                            error = f"HTTP {status}: {response.text[:200]}"
                        elif not response.json()["results"]:
                            error = "no results"
                    except Exception as exc:
                        error = f"{type(exc).__name__}: {exc}"
                    latency = time.perf_counter() - began
                    with lock:
                        records.append((n, latency, status, i < len(questions)))
                        if error:
                            errors.append(f"client {n}, {query!r}: {error}")

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        stop_at = time.monotonic() + DURATION_S  # read by the clients once the barrier releases them
        began = time.perf_counter()
        start.wait(timeout=60)
        for thread in threads:
            thread.join(timeout=DURATION_S + 120)
        elapsed = time.perf_counter() - began
        assert not any(thread.is_alive() for thread in threads), "a client is still waiting for its response"
        rss_after = _rss_mib(proc.pid)

        latencies_ms = [latency * 1000 for _, latency, _, _ in records]
        first_pass_ms = [latency * 1000 for _, latency, _, first in records if first]
        summary = {
            "clients": CLIENTS,
            "duration_s": round(elapsed, 1),
            "requests": len(records),
            "errors": len(errors),
            "throughput_rps": round(len(records) / elapsed, 1),
            "p50_ms": round(_percentile(latencies_ms, 50), 1) if records else None,
            "p95_ms": round(_percentile(latencies_ms, 95), 1) if records else None,
            "p99_ms": round(_percentile(latencies_ms, 99), 1) if records else None,
            "max_ms": round(max(latencies_ms), 1) if records else None,
            "mean_ms": round(statistics.fmean(latencies_ms), 1) if records else None,
            "first_pass_requests": len(first_pass_ms),  # each question's first time: no cached query embedding
            "first_pass_p50_ms": round(_percentile(first_pass_ms, 50), 1) if first_pass_ms else None,
            "first_pass_p95_ms": round(_percentile(first_pass_ms, 95), 1) if first_pass_ms else None,
            "rss_before_mib": rss_before,
            "rss_after_mib": rss_after,
            "cpus": os.cpu_count(),
        }
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        ARTIFACT.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        for key, value in summary.items():
            record_property(f"load_{key}", value)
        print(f"\nload: {summary['requests']} requests from {CLIENTS} clients in {summary['duration_s']} s = "
              f"{summary['throughput_rps']} req/s; p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
              f"max {summary['max_ms']} ms (first pass over the {len(questions)} questions: p50 "
              f"{summary['first_pass_p50_ms']} ms, p95 {summary['first_pass_p95_ms']} ms); {len(errors)} errors; "
              f"server RSS {rss_before['total']} -> {rss_after['total']} MiB (anonymous {rss_before['anon']} -> "
              f"{rss_after['anon']}, file-backed {rss_before['file']} -> {rss_after['file']})")

        assert not errors, f"{len(errors)} failed requests, e.g. {errors[:5]}"
        assert all(status == 200 for _, _, status, _ in records)
        assert len(records) >= 100, f"only {len(records)} requests completed in {elapsed:.0f} s"
        assert {n for n, _, _, _ in records} == set(range(CLIENTS)), "a client completed no request"
        assert proc.poll() is None, "the server exited under load"
    except BaseException:
        _stop(proc)
        sys.stderr.write(f"--- server output ({log_path}) ---\n{log_path.read_text(errors='replace')[-20000:]}\n")
        raise
    finally:
        _stop(proc)
