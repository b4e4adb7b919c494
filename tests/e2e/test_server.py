"""`briefsearch serve` as a real server process on loopback, queried over HTTP like curl would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from briefsearch.config import REPO_ROOT
from briefsearch.ingest.sources import read_original


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_a_korean_question_with_exact_citations(searcher, data_dir: Path) -> None:
    port = _free_port()
    env = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "briefsearch.cli", "serve", "--port", str(port)],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        states: list[str] = []
        health_states: list[str] = []
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"{base}/ready", timeout=30) as resp:
                    states.append(json.loads(resp.read())["state"])
                    break
            except urllib.error.HTTPError as exc:  # 503 while the model and index load
                states.append(json.loads(exc.read())["state"])
                # liveness while loading is a 200 whose body says so. No time bound here: the loader's C
                # extensions (Kiwi, ONNX Runtime) hold the GIL for a moment, and tests assert behaviour, not speed
                with urllib.request.urlopen(f"{base}/health", timeout=30) as health:
                    assert health.status == 200
                    health_states.append(json.loads(health.read())["status"])
            except OSError:
                pass
            assert time.monotonic() < deadline, states
            time.sleep(0.2)
        # the server answered before the index was loaded, and said so on /ready and /health
        assert states[0] == "loading" and states[-1] == "ready", states
        assert "loading" in health_states, health_states
        query = urllib.parse.urlencode({"q": "광둥성의 범용 AI 산업 목표는?", "k": 5})
        with urllib.request.urlopen(f"{base}/search?{query}", timeout=60) as resp:
            body = json.loads(resp.read().decode("utf-8"))
        assert len(body["results"]) == 5
        for item in body["results"]:
            cite = item["citation"]
            original = read_original(REPO_ROOT / cite["source"], "utf-8")[cite["char_start"] : cite["char_end"]]
            first_word = item["text"].split()[0]
            assert first_word.strip("-■▶ㅇ❍m∙·*") in original or first_word in original
    finally:
        proc.terminate()
        proc.wait(timeout=30)
