"""Adding many files at once (issue 27): one new index version for all the files that go in, bad files refused
with their reasons while the others go in, and an interrupted add leaving the previous version live.

Real processes (`briefsearch add`) and the real HTTP app over private copies of the built index
(``scratch_settings``). `add` used to publish a version per file (175 files: 13 minutes) and to stop at the first
bad file, after publishing the ones before it; these tests count the versions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from briefsearch.api.app import create_app
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.retrieval.searcher import Searcher
from briefsearch.store.versions import live_version, load_index

KEY = {"Authorization": "Bearer test-key"}

# three short briefings, each with a fact no other document holds: (file name, text, query, cited fact)
GOOD = [
    ("hydrogen-2026.md", "# 중국 수소에너지 동향\n\n"
     "- 네이멍구자치구는 그린수소 생산능력을 2027년까지 연 50만 톤으로 늘린다.\n"
     "- 수소 충전소 120곳을 고속도로 휴게소에 설치한다.\n",
     "네이멍구 그린수소 생산능력 목표", "50만 톤"),
    ("quantum-hefei.md", "# 중국 양자기술 주간동향\n\n"
     "- 안후이성 허페이시는 2027년까지 양자정보 산업 규모를 300억 위안으로 키우겠다고 발표했다.\n"
     "- 허페이시는 양자 분야 박사급 인재에게 정착 지원금 50만 위안을 지급한다.\n",
     "허페이시 양자정보 산업 규모 목표", "300억 위안"),
    ("battery-ningde.txt", "중국 배터리 산업 동향\n\n"
     "1. 정책 배경\n중국 공업정보화부는 차세대 배터리 표준을 발표했다.\n\n"
     "2. 주요 내용\n닝더시는 전고체 배터리 시범 생산라인 12곳을 2026년까지 건설한다.\n",
     "닝더시 전고체 배터리 시범 생산라인", "12곳"),
]
BAD_NAME = "broken-encoding.txt"
BAD_BYTES = "café".encode("latin-1") * 50 + b"\xff\xfe\x80"  # neither UTF-8 nor CP949


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "BRIEFSEARCH_DATA_DIR": str(settings.data_dir),
            "BRIEFSEARCH_CORPUS_DIR": str(settings.corpus_dir), "OMP_NUM_THREADS": "1"}


def _cli(args: list[str], settings: Settings) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "briefsearch.cli", *args], cwd=REPO_ROOT, env=_env(settings),
                          capture_output=True, text=True, timeout=900)


def _versions(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.index_dir.iterdir() if p.is_dir() and p.name.startswith("v-"))


def _state(settings: Settings) -> dict:
    """What an add that did not finish must leave as it was."""
    library = settings.data_dir / "library"
    return {"live": live_version(settings.index_dir).name, "versions": _versions(settings),
            "library": (library / "library.json").read_text(encoding="utf-8")
            if (library / "library.json").exists() else None,
            "stored": sorted(p.name for p in (library / "files").iterdir()) if (library / "files").is_dir() else []}


def _check_searchable(client: TestClient) -> None:
    """Each good file answers its own query first, and the citation slices the stored file to the passage."""
    for name, _, query, fact in GOOD:
        hit = client.post("/search", json={"query": query, "k": 3}, headers=KEY).json()["results"][0]
        assert hit["doc_id"] == Path(name).stem and fact in hit["text"], (name, hit)
        cite = hit["citation"]
        stored = (REPO_ROOT / cite["source"]).read_bytes().decode("utf-8")
        assert stored[cite["char_start"] : cite["char_end"]] == hit["text"]


def _client(settings: Settings, encoder, korean) -> TestClient:
    searcher = Searcher(load_index(settings.index_dir), encoder, settings, korean=korean)
    return TestClient(create_app(settings, searcher=searcher))


def test_cli_adds_the_good_files_in_one_version_and_refuses_the_bad_one(scratch_settings: Settings, encoder, korean,
                                                                        tmp_path: Path) -> None:
    before = _state(scratch_settings)
    paths = [tmp_path / name for name, *_ in GOOD]
    for path, (_, text, *_) in zip(paths, GOOD, strict=True):
        path.write_text(text, encoding="utf-8")
    bad = tmp_path / BAD_NAME
    bad.write_bytes(BAD_BYTES)
    # the bad file second: the old add published the first, then stopped with the rest not added
    added = _cli(["add", str(paths[0]), str(bad), *map(str, paths[1:])], scratch_settings)
    assert added.returncode == 7, added.stdout + added.stderr  # some refused, the rest added
    assert f"refused {BAD_NAME}: not decodable as UTF-8 or CP949" in added.stderr
    for name, *_ in GOOD:
        assert f"added {Path(name).stem} (" in added.stdout
    assert "4 files: 3 added, 1 refused" in added.stdout

    after = _state(scratch_settings)
    assert after["live"] != before["live"]
    # exactly one version was published: the one live now, beside the one it replaced (kept one round)
    assert after["versions"] == sorted([before["live"], after["live"]])
    library = json.loads(after["library"])
    assert sorted(library["added"]) == sorted(Path(name).stem for name, *_ in GOOD)
    assert not any("broken" in stored for stored in after["stored"])
    with _client(scratch_settings, encoder, korean) as client:
        _check_searchable(client)

    # the same files again: nothing changes, nothing is published; every file refused is exit 4
    again = _cli(["add", *map(str, paths)], scratch_settings)
    assert again.returncode == 0 and again.stdout.count("unchanged ") == 3, again.stderr
    assert "no new index version" in again.stdout and _state(scratch_settings) == after
    refused = _cli(["add", str(bad), str(tmp_path / "missing.txt")], scratch_settings)
    assert refused.returncode == 4 and "cannot read" in refused.stderr and BAD_NAME in refused.stderr
    assert _state(scratch_settings) == after


def test_ctrl_c_during_a_bulk_add_leaves_the_previous_version(scratch_settings: Settings, tmp_path: Path) -> None:
    """SIGINT to `briefsearch add DIR` while it embeds: exit 130, the previous version live, nothing staged kept."""
    before = _state(scratch_settings)
    folder = tmp_path / "briefings"
    folder.mkdir()
    # a real briefing cut into four files, its text changed so that none of it is in the embedding cache
    lines = (REPO_ROOT / "corpus" / "002_22ff6807f067724b.txt").read_text(encoding="utf-8").splitlines()
    quarter = len(lines) // 4
    for n in range(4):
        part = "\n".join(lines[n * quarter : (n + 1) * quarter]).replace("중국", "중화인민공화국")
        (folder / f"part-{n}.txt").write_text(part + "\n", encoding="utf-8")
    (folder / "notes.docx.bak").write_bytes(b"not a document")  # skipped: not a type add takes
    # SIGINT as a terminal sends it (a shell starts background jobs with it ignored, and children inherit that)
    proc = subprocess.Popen([sys.executable, "-m", "briefsearch.cli", "-v", "add", str(folder)], cwd=REPO_ROOT,
                            env=_env(scratch_settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    output: list[str] = []
    embedding = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if "passages:" in line:  # logged by the build right before it embeds
                embedding.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while not embedding.wait(timeout=1):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(output)
        time.sleep(1.0)
        assert proc.poll() is None, "the add finished before it could be interrupted:\n" + "".join(output)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    text = "".join(output)
    assert proc.returncode == 130, text
    assert "interrupted" in text and "skipped 1 files" in text
    assert _state(scratch_settings) == before, text
    assert not [p for p in scratch_settings.index_dir.iterdir() if p.name.startswith(".tmp-")]


@pytest.fixture()
def api(scratch_settings: Settings, encoder, korean):
    with _client(scratch_settings, encoder, korean) as client:
        yield client


def _batch(client: TestClient, files: list[tuple[str, bytes]], **form: str) -> httpx.Response:
    return client.post("/documents/batch", files=[("files", (name, data, "application/octet-stream"))
                                                  for name, data in files], data=form, headers=KEY)


def test_http_batch_upload_publishes_once_with_per_file_results(api: TestClient, scratch_settings: Settings) -> None:
    before = _state(scratch_settings)
    seed = (REPO_ROOT / "corpus" / "002_22ff6807f067724b.txt").read_bytes()
    files = [(name, text.encode("utf-8")) for name, text, *_ in GOOD]
    files.insert(1, (BAD_NAME, BAD_BYTES))
    files.append(("program.exe", b"MZ\x90\x00"))
    files.append(("copy-of-002.txt", seed))
    response = _batch(api, files, publisher="KOSTEC")
    assert response.status_code == 201, response.text  # some files went in
    body = response.json()
    assert (body["added"], body["refused"], body["unchanged"]) == (3, 3, 0)
    outcome = {f["file"]: f for f in body["files"]}
    assert [f["file"] for f in body["files"]] == [name for name, _ in files]  # in the order sent
    assert outcome[BAD_NAME]["status"] == "refused" and outcome[BAD_NAME]["error_status"] == 400
    assert "not decodable" in outcome[BAD_NAME]["error"]
    assert outcome["program.exe"]["error_status"] == 415
    assert outcome["copy-of-002.txt"]["error_status"] == 409 and "002_22ff6807f067724b" in \
        outcome["copy-of-002.txt"]["error"]
    for name, *_ in GOOD:
        assert outcome[name]["status"] == "added" and outcome[name]["passages"] >= 1
    after = _state(scratch_settings)
    assert after["versions"] == sorted([before["live"], after["live"]]), "one version for the whole batch"
    assert body["index_version"] == after["live"] and body["documents"] == 5 + 3
    _check_searchable(api)
    listed = {d["doc_id"]: d for d in api.get("/documents", headers=KEY).json()}
    assert all(listed[Path(name).stem]["publisher"] == "KOSTEC" for name, *_ in GOOD)

    # again: all unchanged is a 200 with nothing published; every file refused is their status, nothing changed
    again = _batch(api, [(name, text.encode("utf-8")) for name, text, *_ in GOOD], publisher="KOSTEC")
    assert again.status_code == 200 and again.json()["unchanged"] == 3, again.text
    unsupported = _batch(api, [("a.exe", b"MZ"), ("b.zip", b"PK")])
    assert unsupported.status_code == 415 and "every file was refused" in unsupported.json()["detail"]
    mixed = _batch(api, [("a.exe", b"MZ"), ("empty.txt", b"")])
    assert mixed.status_code == 400 and [f["error_status"] for f in mixed.json()["files"]] == [415, 400]
    assert _batch(api, [("a.txt", "본문입니다.".encode())], date="next week").status_code == 422
    assert api.post("/documents/batch", data={"title": "제목"}, headers=KEY).status_code == 422
    assert api.post("/documents/batch", files=[("files", ("a.txt", b"x"))]).status_code == 401
    assert _state(scratch_settings) == after


def test_http_batch_limits_apply_before_the_body_is_read(scratch_settings: Settings, encoder, korean) -> None:
    small = scratch_settings.model_copy(update={"max_upload_bytes": 800})  # a batch: 5 x 800 bytes
    with _client(small, encoder, korean) as client:
        before = _state(small)
        too_big = _batch(client, [("a.txt", "가나다라 ".encode() * 100_000)])  # 1.3 MB: over 4 KB + 1 MiB
        assert too_big.status_code == 413 and "limit" in too_big.json()["detail"]
        assert _state(small) == before
