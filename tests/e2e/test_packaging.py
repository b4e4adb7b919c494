"""The package installs like one: a wheel, installed without -e, works from another directory (issue 17).

The wheel is built from a copy of the sources and installed with pip into a fresh venv;
a .pth gives that venv the dependencies already installed here (site-packages folders
only, never the checkout, so the dev install cannot shadow the wheel). To keep the index
build short, the working directory's ``var/`` gets the model folder this session prepared
(a symlink) and a copy of its embedding cache (``var/cache``, embedding/cache.py): the
installed ``briefsearch index build`` then parses, chunks and indexes the packaged seed
corpus itself but embeds nothing anew.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.ingest.sources import read_original

pytestmark = pytest.mark.slow
SOURCES = ("pyproject.toml", "README.md", "src", "eval", "corpus")  # what the wheel is built from
QUESTION = "중국 국가혁신지수 종합 순위는?"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def _dependency_dirs() -> list[str]:
    """This interpreter's site-packages folders, minus any that would provide briefsearch itself."""
    return [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()
            and not (Path(p) / "briefsearch").exists()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv, its site-packages) with only the built wheel installed into it."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "reports"))
        else:
            shutil.copy2(origin, src / name)
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "-w", str(wheels), str(src)], check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("briefsearch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"briefsearch"}, top
    # the product only: eval/ ships as data (question sets, floors), no tuning scripts or reports ride along
    eval_code = [n for n in names if n.startswith("briefsearch/eval/") and n.endswith(".py")]
    assert eval_code == ["briefsearch/eval/__init__.py"], eval_code
    assert not [n for n in names if "/reports/" in n or "research" in n or n.startswith("briefsearch/tests")]

    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    before = {p.name for p in site.iterdir()}
    # the wheel goes in before the dependency .pth exists: pip then sees no other briefsearch to replace
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "--quiet", str(wheel)], check=True, capture_output=True, timeout=600)
    added = {p.name for p in site.iterdir()} - before
    assert {a for a in added if not a.endswith(".dist-info")} == {"briefsearch"}, added
    (site / "_briefsearch_test_deps.pth").write_text("\n".join(_dependency_dirs()) + "\n", encoding="utf-8")
    return venv, site


def test_installed_wheel_builds_searches_evaluates_and_serves_from_another_directory(
        installed: tuple[Path, Path], searcher, data_dir: Path, tmp_path: Path) -> None:
    venv, site = installed
    work = tmp_path / "work"
    (work / "var").mkdir(parents=True)
    (work / "var" / "models").symlink_to(data_dir / "models", target_is_directory=True)
    shutil.copytree(data_dir / "cache", work / "var" / "cache")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFSEARCH_") and k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    cli = str(venv / "bin" / "briefsearch")
    untouched = _snapshot(site)

    def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([cli, *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)

    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import briefsearch, importlib.util; print(briefsearch.__file__); "
                            "print([importlib.util.find_spec(n) is None "
                            "for n in ('index', 'service', 'eval', 'research', 'bench')])"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    module_file, top_level_absent = where.stdout.splitlines()
    assert Path(module_file).resolve().is_relative_to(site.resolve())  # the wheel, not the checkout
    assert top_level_absent == "[True, True, True, True, True]"  # only briefsearch is installed

    build = run("index", "build")
    assert build.returncode == 0, build.stderr
    assert "from 5 documents" in build.stdout and (work / "var" / "index" / "CURRENT").is_file()
    status = run("index", "status")
    assert status.returncode == 0 and status.stdout.startswith("fresh"), status.stdout + status.stderr

    search = run("search", QUESTION, "-k", "3", "--json")
    assert search.returncode == 0, search.stderr
    top = json.loads(search.stdout)["results"][0]
    cite = top["citation"]
    assert cite["source"].startswith("corpus/")  # relative to the installed package's data
    installed_text = read_original(site / "briefsearch" / cite["source"], "utf-8")
    assert installed_text == read_original(REPO_ROOT / cite["source"], "utf-8")
    assert "혁신지수" in installed_text[cite["char_start"] : cite["char_end"]]

    # the packaged eval set and thresholds; the reports go to the data directory
    evaluated = run("eval")
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    report = json.loads((work / "var" / "reports" / "latest.json").read_text(encoding="utf-8"))
    assert report["n_questions"] >= 200

    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:  # a file, not a pipe: the server's log must never block it
        server = subprocess.Popen([cli, "serve", "--port", str(port)], cwd=work, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, log_path.read_text(encoding="utf-8", errors="replace")
            try:
                with urllib.request.urlopen(f"{base}/ready", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the installed service never became ready"
            time.sleep(0.5)
        with urllib.request.urlopen(f"{base}/health", timeout=30) as response:
            assert response.status == 200
        request = urllib.request.Request(f"{base}/search", data=json.dumps({"query": QUESTION, "k": 3}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            served = json.loads(response.read())
        assert served["results"][0]["chunk_id"] == top["chunk_id"]
    finally:
        server.terminate()
        server.wait(timeout=60)

    assert [p.name for p in work.iterdir()] == ["var"]  # the working directory's var/, nothing else
    assert {"index", "reports"} <= {p.name for p in (work / "var").iterdir()}
    assert _snapshot(site) == untouched  # nothing written into site-packages
