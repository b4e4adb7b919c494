"""Scale-out on Ray, on a local Ray cluster of 2 CPUs started here: replicas, live versions, failover, Ray build.

The Serve tests run ``briefsearch serve --ray --replicas 2`` in its own process,
joining this cluster, over a private copy of the session index, and talk to it
through the Serve HTTP proxy. The build test runs first, while the cluster's CPUs are free:
``briefsearch index build --ray`` with both encoders, in its own process, joins this cluster, and its
index is compared with a plain build of the same document in this process.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import ray
from ray import serve

from briefsearch.api.ray_serve import (
    APP_NAME,
    REPLICA_HEADER,
    ServeAddressError,
    check_http_address,
    check_not_served,
)
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.retrieval.searcher import Searcher
from briefsearch.runtime.ray_cluster import RayUnavailableError, connect
from briefsearch.store.versions import load_index

pytestmark = pytest.mark.ray
KEY = {"Authorization": "Bearer test-key"}
QUERIES = ["광둥성의 범용 AI 산업 목표는?", "웨강아오대만구 미래 10대 산업은?", "인공지능 인재 양성",
           "단일 위성 최대 744TOPS", "국가급 신구 질적 발전 추진방안"]
RELOAD_INTERVAL = 0.5
CORPUS_DIR = REPO_ROOT / "corpus"
NEW_DOC = """# 중국 수소에너지 주간동향

## 1. 네이멍구 그린수소 기지

- 네이멍구자치구는 2027년까지 그린수소 생산능력을 연 50만 톤으로 늘리겠다고 발표했다.
- 자치구는 풍력·태양광 연계 수전해 설비 보조금을 kW당 300위안 지급한다.
"""
NEW_QUERY = "네이멍구 그린수소 생산능력 목표"
NEW_ID = "inner-mongolia-hydrogen"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray instance with 2 CPUs (like the CI box); yields its address for other processes to join."""
    connect(Settings(ray_num_cpus=2), log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_settings(settings: Settings, searcher, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy of the session index the replicas serve and the add test changes, with the embedding cache
    a deployment keeps beside it (the term bridge's noun vectors: each replica would embed them again)."""
    data = tmp_path_factory.mktemp("ray-data")
    shutil.copytree(settings.index_dir, data / "index", symlinks=True)
    shutil.copytree(settings.data_dir / "cache", data / "cache")
    (data / "models").symlink_to(settings.models_dir, target_is_directory=True)
    return Settings(data_dir=data, corpus_dir=CORPUS_DIR, api_keys="test-key", reload_interval=RELOAD_INTERVAL)


@pytest.fixture(scope="module")
def service(ray_cluster: str, ray_settings: Settings,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``briefsearch serve --ray --replicas 2`` joining the test cluster, its proxy on a free port; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "BRIEFSEARCH_API_KEYS": ray_settings.api_keys,
           "BRIEFSEARCH_RELOAD_INTERVAL": str(ray_settings.reload_interval)}
    command = [sys.executable, "-m", "briefsearch.cli", "--data-dir", str(ray_settings.data_dir),
               "--corpus-dir", str(ray_settings.corpus_dir), "serve", "--ray", "--replicas", "2",
               "--ray-address", ray_cluster,
               "--host", "127.0.0.1", "--port", str(port), "--no-build"]
    # started with SIGINT ignored, as a background job of a non-interactive shell is (`make test > log &`):
    # Python keeps an inherited SIG_IGN, and Ctrl-C did nothing to the command until it installed its own handler
    command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    out = tmp_path_factory.mktemp("ray-serve") / "stdout.txt"  # a file: replica logs stream to it too
    with out.open("w") as stdout:
        proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)
    deadline = time.monotonic() + 600
    while not (ready := [ln for ln in out.read_text().splitlines() if ln.startswith("serving 2 replicas")]):
        assert proc.poll() is None, f"serve --ray exited {proc.returncode}: {out.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "serve --ray did not get ready"
        time.sleep(0.5)
    print(f"\n[ray] {ready[0]}")  # printed once every replica has loaded its index
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGINT)  # Ctrl-C: the command removes its application and exits
    sent = time.monotonic()
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:  # clean up for the rest of the suite, then fail: Ctrl-C must stop it
        proc.kill()
        proc.wait()
        serve.delete(APP_NAME)
        pytest.fail(f"serve --ray did not exit within 120 s of Ctrl-C: {out.read_text()[-3000:]}")
    print(f"\n[ray] serve --ray exited {code} {time.monotonic() - sent:.1f} s after Ctrl-C")
    assert code == 0, out.read_text()[-3000:]
    assert "SIGINT: removing the replicas" in out.read_text()
    assert APP_NAME not in serve.status().applications


def _replicas(url: str, path: str, n: int, **request: object) -> list[httpx.Response]:
    """``n`` requests at once (8 clients), so both replicas get some."""
    method = "POST" if "json" in request else "GET"
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: client.request(method, url + path, headers=KEY, **request), range(n)))


def _running_replicas() -> int:
    status = serve.status().applications[APP_NAME]
    deployment = next(iter(status.deployments.values()))
    return deployment.replica_states.get("RUNNING", 0)


def test_unreachable_ray_head_is_a_clear_error() -> None:
    """A --ray-address nothing listens on fails at once with a message (ray.init alone retries for minutes)."""
    assert not ray.is_initialized()  # first in this module: nothing connected yet
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(RayUnavailableError, match=f"cannot reach the Ray head at 127.0.0.1:{closed}"):
        connect(Settings(), f"127.0.0.1:{closed}")
    assert not ray.is_initialized()


def test_ray_build_matches_plain_build_for_both_encoders(ray_cluster: str, settings: Settings, encoder,
                                                        korean, gemma_prepared: Path, tmp_path: Path) -> None:
    """``index build --ray`` (another process joining the cluster) with ``second_model`` gives the plain build's
    passages and vectors: e5-small's pool embeds the passages, then the answer sentences, and a second actor
    pool EmbeddingGemma's passages; the index records both encoders."""
    from briefsearch.build.pipeline import build_index
    from briefsearch.embedding.encoder import Encoder, second_settings

    # a short real bill (7 KB, 16 passages, 100 sentences): EmbeddingGemma on torch embeds a passage a second
    # here, and what is tested is the actor pools, not the amount of text (chunking is per document)
    bill = REPO_ROOT / "eval" / "generalization" / "docs" / "kobill_1809897.txt"
    doc = bill.stem
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(bill, corpus / bill.name)
    (corpus / "manifest.json").write_text(json.dumps({"documents": [{"doc_id": doc, "file": bill.name,
                                                                     "title": doc}]}), encoding="utf-8")
    ray_data, plain_data = tmp_path / "ray-data", tmp_path / "plain-data"
    for data in (ray_data, plain_data):  # no embedding cache in either: every vector is computed by its build
        data.mkdir()
        (data / "models").symlink_to(settings.models_dir, target_is_directory=True)
    fused = Settings(data_dir=ray_data, corpus_dir=corpus, second_model="embeddinggemma-300m")
    # batches of 8: several batches per actor in each pool
    env = {**os.environ, "BRIEFSEARCH_SECOND_MODEL": "embeddinggemma-300m", "BRIEFSEARCH_RAY_EMBED_BATCH_SIZE": "8"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "briefsearch.cli", "-v", "--data-dir", str(ray_data),
                           "--corpus-dir", str(corpus), "index", "build", "--ray", "--ray-address", ray_cluster],
                          capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"\n[ray] index build --ray with EmbeddingGemma of {doc}: {time.perf_counter() - started:.1f} s")
    # the vectors came from the actor pools, not this process: passages, sentences, EmbeddingGemma's passages
    assert done.stderr.count("Ray Data embedded") == 3

    ray_index = load_index(ray_data / "index")
    plain_settings = Settings(data_dir=plain_data, corpus_dir=corpus)
    build_index(plain_settings, encoder, korean=korean, progress=False)  # e5-small alone, in this process
    plain = load_index(plain_data / "index")
    ray_chunks = sorted(ray_index.chunks.values(), key=lambda c: c.char_start)
    plain_chunks = sorted(plain.chunks.values(), key=lambda c: c.char_start)
    assert [(c.char_start, c.char_end, c.section, c.text) for c in ray_chunks] == \
        [(c.char_start, c.char_end, c.section, c.text) for c in plain_chunks]
    pairs = list(zip(ray_chunks, plain_chunks, strict=True))
    passage_cos = [float(ray_index.faiss_index.reconstruct(int(r.chunk_id))
                         @ plain.faiss_index.reconstruct(int(p.chunk_id))) for r, p in pairs]
    sentence_cos = [float(ray_index.sentence_vectors[a] @ plain.sentence_vectors[b])
                    for r, p in pairs for a, b in zip(r.sentence_rows, p.sentence_rows, strict=True)]
    print(f"[ray] {len(passage_cos)} passages, min cosine {min(passage_cos):.6f}; {len(sentence_cos)} sentences, "
          f"min cosine {min(sentence_cos):.6f}")
    assert len(passage_cos) > 10 and len(sentence_cos) > len(passage_cos)
    assert min(passage_cos) >= 0.9999 and min(sentence_cos) >= 0.9999

    # the second pool's vectors are EmbeddingGemma's in-process ones
    assert ray_index.manifest.model["second"]["name"].startswith("embeddinggemma-300m")
    assert ray_index.second_faiss is not None and ray_index.second_faiss.ntotal == len(ray_index.chunks)
    assert plain.second_faiss is None
    gemma = Encoder(second_settings(fused), progress=False)
    sample = ray_chunks[:3]
    local = gemma.encode_passages([c.embed_text for c in sample], progress=False)
    cosines = [float(local[i] @ ray_index.second_faiss.reconstruct(int(c.chunk_id))) for i, c in enumerate(sample)]
    assert min(cosines) >= 0.9999, cosines


def test_two_replicas_answer_search_and_ask(service: str, searcher: Searcher) -> None:
    """Both replicas answer /search and /ask through the proxy, with the results of the same index here."""
    query = QUERIES[0]
    expected = [h.chunk.chunk_id for h in searcher.search(query, 5).hits]
    searches = _replicas(service, "/search", 16, json={"query": query, "k": 5})
    asks = _replicas(service, "/ask", 8, json={"question": query})
    for response in searches + asks:
        assert response.status_code == 200, response.text
    for response in searches:
        assert [r["chunk_id"] for r in response.json()["results"]] == expected
    answer = asks[0].json()
    assert answer["answerable"] and answer["citations"], answer
    assert all(a.json()["answer"] == answer["answer"] for a in asks)
    answered = Counter(r.headers[REPLICA_HEADER] for r in searches + asks)
    print(f"\n[ray] requests per replica: {dict(answered)}")
    assert len(answered) == 2, answered


def _second_serve(ray_settings: Settings, ray_cluster: str, port: int) -> subprocess.CompletedProcess[str]:
    """A second ``briefsearch serve --ray`` (one replica) joining the cluster the ``service`` runs on, on ``port``."""
    return subprocess.run([sys.executable, "-m", "briefsearch.cli", "--data-dir", str(ray_settings.data_dir),
                           "--corpus-dir", str(ray_settings.corpus_dir), "serve", "--ray", "--replicas", "1",
                           "--ray-address", ray_cluster, "--host", "127.0.0.1", "--port", str(port), "--no-build"],
                          capture_output=True, text=True, timeout=180, cwd=REPO_ROOT)


def test_a_second_serve_on_another_port_is_a_clear_error(service: str, ray_cluster: str,
                                                         ray_settings: Settings) -> None:
    """Serve's proxy keeps the port of the first ``serve --ray``: a second one with another --port served on
    the old port without a word. It is refused, and the running application is left as it was."""
    running = int(service.rsplit(":", 1)[1])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        other = sock.getsockname()[1]
    done = _second_serve(ray_settings, ray_cluster, other)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"HTTP proxy does not listen on 127.0.0.1:{other}" in done.stderr, done.stderr
    assert "the --host and --port that command used" in done.stderr, done.stderr
    assert _running_replicas() == 2  # the first command's application, untouched
    with httpx.Client(timeout=60) as client:
        assert client.get(service + "/health").status_code == 200
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{other}/health")
    # the check asks the port (a TCP connection on this node, which runs a proxy): the running one passes
    check_http_address("127.0.0.1", running, serve.status())
    with pytest.raises(ServeAddressError, match=f"does not listen on 127.0.0.1:{other}"):
        check_http_address("127.0.0.1", other, serve.status())


def test_a_second_serve_on_the_same_port_is_refused_without_replace(service: str, ray_cluster: str,
                                                                    ray_settings: Settings) -> None:
    """``serve.run`` under the same name replaced the running application without a word, so a second ``serve
    --ray`` on the first one's port took over its replicas. It is refused (exit 4, naming --replace) and the
    running application is left as it was; with --replace the check lets it through."""
    running = int(service.rsplit(":", 1)[1])
    before = serve.status().applications[APP_NAME].last_deployed_time_s
    done = _second_serve(ray_settings, ray_cluster, running)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"already served on this cluster on 127.0.0.1:{running}" in done.stderr, done.stderr
    assert "RUNNING" in done.stderr and "--replace" in done.stderr, done.stderr
    assert _running_replicas() == 2 and serve.status().applications[APP_NAME].last_deployed_time_s == before
    with httpx.Client(timeout=60) as client:
        assert client.get(service + "/health").status_code == 200
    check_not_served("127.0.0.1", running, serve.status(), replace=True)  # --replace: deploy goes on
    with pytest.raises(ServeAddressError, match="--replace"):
        check_not_served("127.0.0.1", running, serve.status(), replace=False)


def test_upload_visible_on_both_replicas(service: str, ray_settings: Settings) -> None:
    """A document uploaded to one replica is served by the other too, within the poll interval."""
    with httpx.Client(timeout=300) as client:
        added = client.post(service + "/documents", headers=KEY, data={"date": "2026-11-20"},
                            files={"file": (f"{NEW_ID}.txt", NEW_DOC.encode("utf-8"), "text/plain")})
    assert added.status_code == 201, added.text
    published = time.monotonic()
    version = added.json()["index_version"]
    seen: dict[str, float] = {}
    deadline = published + RELOAD_INTERVAL + 30  # the poll interval plus loading the new version on a busy box
    while len(seen) < 2 and time.monotonic() < deadline:
        for response in _replicas(service, "/search", 8, json={"query": NEW_QUERY, "k": 1}):
            assert response.status_code == 200, response.text
            replica = response.headers[REPLICA_HEADER]
            if response.json()["results"][0]["doc_id"] == NEW_ID:
                seen.setdefault(replica, time.monotonic() - published)
        time.sleep(0.1)
    print(f"\n[ray] new version {version} served by each replica after (s): {seen}")
    assert len(seen) == 2, f"only {sorted(seen)} serve the upload"
    health = _replicas(service, "/health", 8)
    assert {h.json()["index_version"] for h in health} == {version}


def test_killed_replica_is_restored_under_load(service: str) -> None:
    """Kill one replica's actor under 16 clients: the service keeps answering and Serve starts a new replica."""
    log: list[tuple[float, str | None, int]] = []  # (time, replica, status or 0 for a connection error)
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=60) as http:
            while not stop.is_set():
                query = QUERIES[n % len(QUERIES)]
                try:
                    r = http.post(service + "/search", headers=KEY, json={"query": query, "k": 3})
                    log.append((time.monotonic(), r.headers.get(REPLICA_HEADER), r.status_code))
                except httpx.HTTPError:
                    log.append((time.monotonic(), None, 0))

    clients = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(16)]
    for thread in clients:
        thread.start()
    time.sleep(3)
    before = {replica for _, replica, status in log if status == 200}
    victim = sorted(before)[0]
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
             if a["name"].startswith("SERVE_REPLICA::") and a["name"].endswith(f"#{victim}")]
    assert len(names) == 1, names
    killed_at = time.monotonic()
    ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
    new_replica_at = None
    deadline = killed_at + 180
    while time.monotonic() < deadline:
        fresh = [t for t, replica, status in list(log) if status == 200 and replica not in before]
        if fresh and _running_replicas() == 2:
            new_replica_at = min(fresh)
            break
        time.sleep(0.5)
    time.sleep(2)
    stop.set()
    for thread in clients:
        thread.join(timeout=70)

    after = [(t, replica, status) for t, replica, status in log if t >= killed_at]
    failed = [(round(t - killed_at, 2), status) for t, _, status in after if status != 200]
    served = [t for t, _, status in after if status == 200]
    print(f"\n[ray] killed replica {victim}: {len(log)} requests, {len(after)} after the kill, "
          f"{len(failed)} failed {failed[:20]}; first answer of the new replica "
          f"{(new_replica_at - killed_at) if new_replica_at else math.nan:.1f} s after the kill")
    assert new_replica_at is not None, "Serve did not restore the replica"
    assert served and min(served) - killed_at < 30, "the service stopped answering"
    # only requests in flight on the killed replica may fail: at most one per client
    assert len(failed) <= 16, failed
    assert not [t for t, _, status in log if t < killed_at and status != 200]
    assert np.all([status in (200, 500, 502, 503, 0) for _, _, status in after])
