"""Search latency while a large document is being added, against the same server idle.

    .venv/bin/python -m bench.uploads [--seconds 20]

Builds the index into a temporary data directory, serves it with
``briefsearch serve``, then: one client posts the eval questions to ``/search``
back to back for ``--seconds`` (idle); then the same client runs again while
another uploads a large briefing (every corpus document, each line marked so
that none of its passages is in the cache or the index: all of it is embedded).
Reports p50/p95 of both and how long the add took. Changes run on their own
single thread (``Engine.run_change``), not on the threadpool searches use; the
cores are still shared, which is what this measures.

Speed is reported, never asserted. Writes bench/uploads.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.run import REPO, SearchClient, cli, env_for, free_port, pct, start_server

OUT = REPO / "bench" / "uploads.json"
KEY = "bench-key"


def large_document(corpus_dir: Path) -> bytes:
    """All corpus documents in one Markdown file, each line marked so its passages are new text."""
    lines = ["# 정책 브리핑 합본 (벤치마크용)", ""]
    for path in sorted(corpus_dir.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            lines.append(f"{line} (합본)" if line.strip() else "")
    return "\n".join(lines).encode("utf-8")


def searches(base: str, questions: list[str], until: threading.Event | float) -> list[float]:
    """Back-to-back /search requests until the event is set or the deadline passes; latencies in ms."""
    client = SearchClient(base)
    times: list[float] = []
    i = 0
    try:
        while not (until.is_set() if isinstance(until, threading.Event) else time.perf_counter() > until):
            body = json.dumps({"query": questions[i % len(questions)], "k": 5}, ensure_ascii=False).encode()
            t0 = time.perf_counter()
            client.conn.request("POST", "/search", body, {"Content-Type": "application/json",
                                                          "Authorization": f"Bearer {KEY}"})
            response = client.conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"/search answered {response.status}")
            times.append((time.perf_counter() - t0) * 1000)
            i += 1
    finally:
        client.close()
    return times


def summary(times: list[float]) -> dict:
    return {"requests": len(times), "p50_ms": round(pct(times, 50), 1), "p95_ms": round(pct(times, 95), 1),
            "max_ms": round(max(times), 1) if times else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the idle run")
    args = parser.parse_args()

    from briefsearch.config import get_settings
    from briefsearch.evaluation.evaluate import load_questions

    settings = get_settings()
    questions = [q.question for q in load_questions()]
    document = large_document(settings.corpus_dir)
    with tempfile.TemporaryDirectory(prefix="briefsearch-uploads-") as tmp:
        data = Path(tmp)
        (data / "models").symlink_to(settings.models_dir.resolve(), target_is_directory=True)
        print("building the index ...", flush=True)
        subprocess.run(cli("index", "build"), env=env_for(data), cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        proc, _ = start_server(data, port, BRIEFSEARCH_API_KEYS=KEY, BRIEFSEARCH_QUERY_CACHE_SIZE="0")
        base = f"http://127.0.0.1:{port}"
        try:
            searches(base, questions, time.perf_counter() + 3)  # warm-up
            idle = searches(base, questions, time.perf_counter() + args.seconds)
            done = threading.Event()
            outcome: dict = {}

            def upload() -> None:
                t0 = time.perf_counter()
                response = httpx.post(f"{base}/documents", headers={"Authorization": f"Bearer {KEY}"},
                                      files={"file": ("bench-large.md", document, "text/markdown")}, timeout=1800)
                outcome.update(status=response.status_code, seconds=round(time.perf_counter() - t0, 1),
                               body=response.json())
                done.set()

            uploader = threading.Thread(target=upload)
            uploader.start()
            during = searches(base, questions, done)
            uploader.join()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    body = outcome["body"]
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "document_bytes": len(document),
              "add": {"status": outcome["status"], "seconds": outcome["seconds"],
                      "passages": body.get("passages"), "passages_embedded": body.get("passages_embedded"),
                      "sentences_embedded": body.get("sentences_embedded")},
              "search_idle": summary(idle), "search_during_add": summary(during)}
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
