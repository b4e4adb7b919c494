"""`briefsearch add/remove/list` as real processes, a running server picking their changes up,
and builds killed with SIGKILL mid-way leaving the previous index serving."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from briefsearch.api.app import create_app
from briefsearch.build.pipeline import index_status
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.retrieval.searcher import Searcher
from briefsearch.runtime.engine import open_searcher
from briefsearch.store.versions import live_version, load_index

pytestmark = pytest.mark.slow  # full builds and killed builds in CLI processes

NEW_DOC = """# 중국 수소에너지 동향

- 네이멍구자치구는 그린수소 생산능력을 2027년까지 연 50만 톤으로 늘린다.
- 수소 충전소 120곳을 고속도로 휴게소에 설치한다.
"""
QUERY = "네이멍구 그린수소 생산능력 목표"


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "BRIEFSEARCH_DATA_DIR": str(settings.data_dir),
            "BRIEFSEARCH_CORPUS_DIR": str(settings.corpus_dir), "OMP_NUM_THREADS": "1"}


def _cli(args: list[str], settings: Settings) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "briefsearch.cli", *args], cwd=REPO_ROOT, env=_env(settings),
                          capture_output=True, text=True, timeout=600)


def test_cli_add_list_remove_while_a_server_is_running(scratch_settings: Settings, encoder, korean, serve_app,
                                                       tmp_path: Path) -> None:
    searcher = Searcher(load_index(scratch_settings.index_dir), encoder, scratch_settings, korean=korean)
    url, stop = serve_app(create_app(scratch_settings, searcher=searcher))
    headers = {"Authorization": "Bearer test-key"}
    try:
        doc = tmp_path / "hydrogen.md"
        doc.write_text(NEW_DOC, encoding="utf-8")
        added = _cli(["add", str(doc), "--date", "2026-11-01", "--publisher", "KOSTEC"], scratch_settings)
        assert added.returncode == 0, added.stderr
        assert "DEBUG" not in added.stdout + added.stderr, added.stderr  # bm25s's "Building index from tokens"
        assert re.search(r"added hydrogen \(중국 수소에너지 동향\): \d+ passages", added.stdout)
        # the running server notices the version the CLI published and swaps to it
        deadline = time.monotonic() + 30
        while True:
            top = httpx.post(f"{url}/search", json={"query": QUERY, "k": 1}, headers=headers).json()["results"][0]
            if top["doc_id"] == "hydrogen" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert top["doc_id"] == "hydrogen" and "50만 톤" in top["text"]

        again = _cli(["add", str(doc), "--date", "2026-11-01", "--publisher", "KOSTEC"], scratch_settings)
        assert again.returncode == 0 and again.stdout.startswith("unchanged hydrogen")
        listed = _cli(["list"], scratch_settings)
        assert listed.returncode == 0
        assert "hydrogen\tadded 2026-11-01\t중국 수소에너지 동향\thydrogen.md" in listed.stdout
        assert listed.stdout.count("\tcorpus") == 5

        bad = tmp_path / "empty.txt"
        bad.write_bytes(b"")
        refused = _cli(["add", str(bad)], scratch_settings)
        assert refused.returncode == 4 and "empty" in refused.stderr
        unknown = _cli(["remove", "no_such_doc"], scratch_settings)
        assert unknown.returncode == 4 and "unknown document id" in unknown.stderr

        removed = _cli(["remove", "hydrogen"], scratch_settings)
        assert removed.returncode == 0 and removed.stdout.startswith("removed hydrogen")
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/health").json()["documents"] != 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert httpx.get(f"{url}/health").json()["documents"] == 5
    finally:
        stop()


def _changed_copy(source: Path, target: Path) -> Path:
    """A briefing whose every passage is new to the embedding cache (so building it takes a while)."""
    text = source.read_text(encoding="utf-8").replace("중국", "중화인민공화국")
    target.write_text(text, encoding="utf-8")
    return target


def _kill_when_embedding(args: list[str], settings: Settings) -> str:
    """Start a build, wait until it is embedding, SIGKILL it; returns what it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "briefsearch.cli", "-v", *args], cwd=REPO_ROOT,
                            env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    embedding = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "passages:" in line:  # logged by the build right before embedding
                embedding.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert embedding.wait(timeout=300), "".join(lines)
        time.sleep(1.0)
        assert proc.poll() is None, "the build finished before it could be killed:\n" + "".join(lines)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return "".join(lines)


def _state(settings: Settings) -> dict:
    library = settings.data_dir / "library" / "library.json"
    return {"version": live_version(settings.index_dir).name,
            "library": library.read_text(encoding="utf-8") if library.exists() else None}


def test_killed_ingestion_and_killed_build_leave_the_previous_index_serving(scratch_settings: Settings, encoder,
                                                                             korean, tmp_path: Path) -> None:
    before = _state(scratch_settings)
    known = Searcher(load_index(scratch_settings.index_dir), encoder, scratch_settings, korean=korean).search(QUERY, 3)
    expected = [h.chunk.chunk_id for h in known.hits]

    # 1. `briefsearch add` of a large new document, killed while embedding
    big = _changed_copy(REPO_ROOT / "corpus" / "002_22ff6807f067724b.txt", tmp_path / "big-brief.txt")
    _kill_when_embedding(["add", str(big)], scratch_settings)
    assert _state(scratch_settings) == before
    assert not list(scratch_settings.index_dir.glob(".tmp-*")), "no half-written version is left to be picked up"

    # 2. a full `briefsearch index build` over a changed corpus, killed while embedding
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "manifest.json").write_bytes((REPO_ROOT / "corpus" / "manifest.json").read_bytes())
    for path in (REPO_ROOT / "corpus").glob("*.txt"):
        _changed_copy(path, corpus / path.name)
    _kill_when_embedding(["--corpus-dir", str(corpus), "index", "build"], scratch_settings)
    assert _state(scratch_settings) == before

    # the next start serves the previous index as it was, without rebuilding
    assert index_status(scratch_settings, encoder.identity).state == "fresh"
    restarted = open_searcher(scratch_settings, build=False, progress=False)
    assert restarted.index.path.name == before["version"]
    assert [h.chunk.chunk_id for h in restarted.search(QUERY, 3).hits] == expected

    # and the next change works, clearing what the killed ingestion had staged
    doc = tmp_path / "hydrogen.md"
    doc.write_text(NEW_DOC, encoding="utf-8")
    added = _cli(["add", str(doc)], scratch_settings)
    assert added.returncode == 0, added.stderr
    stored = sorted(p.name for p in (scratch_settings.data_dir / "library" / "files").iterdir())
    assert len(stored) == 1 and stored[0].endswith("-hydrogen.md")


def test_an_add_during_a_full_build_is_in_the_final_index(scratch_settings: Settings, tmp_path: Path) -> None:
    """Two real processes: `index build` (a full rebuild, after a chunking change) and an `add` started while it
    runs. The build used to take no lock, so it published the library as it was before the add, after the add,
    and the added document was gone; builds and changes now serialize on the library lock."""
    # new chunking: every passage is new text, so the build embeds for a while (sentences come from the cache)
    env = {**_env(scratch_settings), "BRIEFSEARCH_CHUNKING__MAX_TOKENS": "200"}
    build = subprocess.Popen([sys.executable, "-m", "briefsearch.cli", "-v", "index", "build"], cwd=REPO_ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    embedding = threading.Event()

    def drain() -> None:  # read the build's log (a full pipe would stall it) and say when it starts embedding
        for line in build.stderr:
            log.append(line)
            if "passages:" in line:  # it has read the library
                embedding.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert embedding.wait(timeout=300), "".join(log)
        assert build.poll() is None, "".join(log)
        doc = tmp_path / "hydrogen.md"
        doc.write_text(NEW_DOC, encoding="utf-8")
        added = _cli(["add", str(doc)], scratch_settings)
        build.wait(timeout=900)
        reader.join(timeout=30)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode == 0, "".join(log)
    assert added.returncode == 0, added.stderr
    final = load_index(scratch_settings.index_dir)
    assert "hydrogen" in final.documents
    assert final.manifest.chunker["max_chunk_tokens"] == 256  # the add came last, with its own settings
    assert not [p for p in scratch_settings.index_dir.iterdir() if p.name.startswith(".tmp-")]


def test_cli_adds_a_binary_hwp_and_refuses_a_protected_one(scratch_settings: Settings, encoder, korean,
                                                           tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from fixtures_formats import HWP_DIR, rewritten_hwp, with_hwp_flag

    before = live_version(scratch_settings.index_dir).name
    locked = tmp_path / "locked.hwp"
    locked.write_bytes(rewritten_hwp(tmp_path, "sample-2", "FileHeader", with_hwp_flag(2)))
    refused = _cli(["add", str(locked)], scratch_settings)
    assert refused.returncode == 4 and "password-protected" in refused.stderr, refused.stderr
    assert live_version(scratch_settings.index_dir).name == before

    doc = tmp_path / "vitamin-advice.hwp"
    doc.write_bytes((HWP_DIR / "sample-2.hwp").read_bytes())
    added = _cli(["add", str(doc), "--date", "2011-05-08"], scratch_settings)
    assert added.returncode == 0, added.stderr
    assert re.match(r"added vitamin-advice \(.*\): \d+ passages", added.stdout), added.stdout
    searcher = Searcher(load_index(scratch_settings.index_dir), encoder, scratch_settings, korean=korean)
    with TestClient(create_app(scratch_settings, searcher=searcher)) as client:
        hits = client.post("/search", json={"query": "피콜린산 크롬 발암 가능성", "k": 3},
                           headers={"Authorization": "Bearer test-key"}).json()["results"]
    hit = next(h for h in hits if h["doc_id"] == "vitamin-advice")
    assert "피콜린산 크롬(Chromium Picolinate)은 발암" in hit["text"]
    cite = hit["citation"]
    cited = (REPO_ROOT / cite["source"]).read_text(encoding="utf-8")[cite["char_start"] : cite["char_end"]]
    assert cited.split() == hit["text"].replace(" | ", " ").split()  # table cells are shown with " | ", cited as tabs
