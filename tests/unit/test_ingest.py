"""Reading corpus files (encodings, refusals) and the corpus manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.errors import CorpusError
from briefsearch.ingest.sources import decode_bytes, load_manifest, read_original, read_source
from briefsearch.types import DocumentMeta

CORPUS_DIR = REPO_ROOT / "corpus"
KOREAN = "중국 과학기술 정책 주간동향\n미래산업 육성을 추진함\n"


# ------------------------------------------------------------------ decode_bytes


def test_decode_utf8() -> None:
    text, encoding = decode_bytes(KOREAN.encode("utf-8"))
    assert (text, encoding) == (KOREAN, "utf-8")


def test_decode_utf8_with_bom_drops_the_bom() -> None:
    text, encoding = decode_bytes(b"\xef\xbb\xbf" + KOREAN.encode("utf-8"))
    assert encoding == "utf-8-sig"
    assert text == KOREAN
    assert not text.startswith("\ufeff")


@pytest.mark.parametrize("codec", ["cp949", "euc-kr"])
def test_decode_legacy_korean_encodings(codec: str) -> None:
    data = KOREAN.encode(codec)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fallback is really exercised
    text, encoding = decode_bytes(data)
    assert text == KOREAN
    assert encoding == "cp949"


def test_decode_cp949_only_syllable() -> None:
    """똠 is outside EUC-KR's 2,350 syllables but in CP949 (the superset)."""
    text, encoding = decode_bytes("똠방각하 문서".encode("cp949"))
    assert (text, encoding) == ("똠방각하 문서", "cp949")


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n"])
def test_decode_empty_is_refused(data: bytes) -> None:
    with pytest.raises(CorpusError, match="empty"):
        decode_bytes(data, "empty.txt")


def test_decode_bom_only_is_refused_as_empty() -> None:
    with pytest.raises(CorpusError, match="empty"):
        decode_bytes(b"\xef\xbb\xbf\n", "bom-only.txt")


def test_decode_binary_is_refused() -> None:
    with pytest.raises(CorpusError, match="binary") as info:
        decode_bytes(b"%PDF-1.7\n\x00\x01\x02stream", "report.txt")
    assert "report.txt" in str(info.value)


def test_decode_undecodable_is_refused() -> None:
    # 0x80 is neither valid UTF-8 nor a CP949 lead byte
    with pytest.raises(CorpusError, match="not decodable") as info:
        decode_bytes(b"\x80\x80 abc \xff", "garbage.txt")
    assert "garbage.txt" in str(info.value)


# ------------------------------------------------------------------ read_source / read_original


def test_read_source_utf8_offsets_and_checksum(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    data = KOREAN.encode("utf-8")
    path.write_bytes(data)
    src = read_source(path)
    assert src.raw == KOREAN
    assert src.encoding == "utf-8"
    assert src.sha256 == hashlib.sha256(data).hexdigest()
    assert src.path == path
    i = src.raw.index("미래산업")
    assert read_original(path, src.encoding)[i : i + 4] == "미래산업"


def test_read_source_bom_offsets_slice_the_file_decoded_with_returned_encoding(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf" + KOREAN.encode("utf-8"))
    src = read_source(path)
    assert src.encoding == "utf-8-sig"
    original = path.read_bytes().decode(src.encoding)
    assert original == src.raw
    for word in ("중국", "미래산업", "추진함"):
        i = src.raw.index(word)
        assert original[i : i + len(word)] == word
    assert src.line_of(src.raw.index("미래산업")) == 2


def test_read_source_cp949_offsets_slice_the_file(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(KOREAN.encode("euc-kr"))
    src = read_source(path)
    assert src.encoding == "cp949"
    original = path.read_bytes().decode(src.encoding)
    i = src.raw.index("추진함")
    assert original[i : i + 3] == "추진함"


def test_read_source_keeps_crlf_untranslated(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes("첫 줄\r\n둘째 줄\r\n".encode())
    src = read_source(path)
    assert "\r\n" in src.raw
    i = src.raw.index("둘째")
    assert path.read_bytes().decode(src.encoding)[i : i + 2] == "둘째"
    assert src.line_of(i) == 2


@pytest.mark.parametrize(("name", "data", "match"), [
    ("empty.txt", b"", "empty"),
    ("binary.txt", b"abc\x00def", "binary"),
    ("bad.txt", b"\x80\x80\x80", "not decodable"),
    ("report.pdf", "한국어".encode(), "unsupported file type"),
    ("report.docx", "한국어".encode(), "unsupported file type"),
])
def test_read_source_refusals(tmp_path: Path, name: str, data: bytes, match: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorpusError, match=match) as info:
        read_source(path)
    assert name in str(info.value)


def test_read_source_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="cannot read"):
        read_source(tmp_path / "nope.txt")


def test_read_source_accepts_uppercase_suffix(tmp_path: Path) -> None:
    path = tmp_path / "DOC.TXT"
    path.write_text("본문", encoding="utf-8")
    assert read_source(path).raw == "본문"


def test_read_source_real_corpus_file() -> None:
    path = CORPUS_DIR / "004_0772bc47312adfbb.txt"
    src = read_source(path)
    assert src.encoding == "utf-8"
    assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(src.line_starts) == src.raw.count("\n") + 1
    i = src.raw.index("CONTENTS")
    assert src.line_of(i) == src.raw[:i].count("\n") + 1


# ------------------------------------------------------------------ SourceText.line_of


def test_line_of_is_one_based_and_newline_belongs_to_its_line(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text("가\n나다\n\n라", encoding="utf-8")
    src = read_source(path)
    assert src.line_starts == [0, 2, 5, 6]
    expected = {0: 1, 1: 1, 2: 2, 3: 2, 4: 2, 5: 3, 6: 4}
    assert {i: src.line_of(i) for i in expected} == expected
    # agrees with counting newlines for every offset
    for i in range(len(src.raw)):
        assert src.line_of(i) == src.raw[:i].count("\n") + 1


# ------------------------------------------------------------------ load_manifest


def test_load_manifest_real_corpus() -> None:
    docs = load_manifest(CORPUS_DIR)
    assert len(docs) == 5
    assert all(isinstance(d, DocumentMeta) for d in docs)
    assert len({d.doc_id for d in docs}) == 5
    assert sorted(d.file for d in docs) == sorted(p.name for p in CORPUS_DIR.glob("*.txt"))
    for d in docs:
        assert (CORPUS_DIR / d.file).is_file()
        assert d.title and d.publisher and d.date
    first = docs[0]
    assert first.doc_id == "000_b57bb989019f2633"
    assert first.title == "중국의 미래산업 육성정책 동향과 시사점"


def _write_manifest(folder: Path, payload: object) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def _entry(doc_id: str, file: str) -> dict:
    return {"doc_id": doc_id, "file": file, "title": f"제목 {doc_id}"}


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("문서 A", encoding="utf-8")
    (tmp_path / "b.txt").write_text("문서 B", encoding="utf-8")
    return tmp_path


def test_load_manifest_minimal_entries_get_defaults(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, {"documents": [_entry("a", "a.txt"), _entry("b", "b.txt")]})
    docs = load_manifest(tiny_dir)
    assert [d.doc_id for d in docs] == ["a", "b"]
    assert docs[0] == DocumentMeta(doc_id="a", file="a.txt", title="제목 a", publisher="", date="", kind="")


def test_load_manifest_missing(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no manifest"):
        load_manifest(tmp_path)


def test_load_manifest_invalid_json(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, '{"documents": [ {"doc_id": "a", ')
    with pytest.raises(CorpusError, match="invalid JSON") as info:
        load_manifest(tiny_dir)
    assert "manifest.json" in str(info.value)


def test_load_manifest_duplicate_id(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, {"documents": [_entry("a", "a.txt"), _entry("a", "b.txt")]})
    with pytest.raises(CorpusError, match="duplicate doc_id a"):
        load_manifest(tiny_dir)


def test_load_manifest_missing_file(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, {"documents": [_entry("a", "a.txt"), _entry("c", "c.txt")]})
    with pytest.raises(CorpusError, match=r"c\.txt listed but missing"):
        load_manifest(tiny_dir)


def test_load_manifest_entry_with_unknown_or_missing_fields(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, {"documents": [{**_entry("a", "a.txt"), "author": "x"}]})
    with pytest.raises(CorpusError, match="bad entry"):
        load_manifest(tiny_dir)
    _write_manifest(tiny_dir, {"documents": [{"doc_id": "a", "title": "제목"}]})
    with pytest.raises(CorpusError, match="bad entry"):
        load_manifest(tiny_dir)


def test_load_manifest_without_documents(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, {"documents": []})
    with pytest.raises(CorpusError, match="lists no documents"):
        load_manifest(tiny_dir)


def test_load_manifest_top_level_list_is_a_corpus_error(tiny_dir: Path) -> None:
    _write_manifest(tiny_dir, [_entry("a", "a.txt")])
    with pytest.raises(CorpusError):
        load_manifest(tiny_dir)
