"""Reader for binary HWP 5.0 (.hwp) documents: body paragraphs, tables, text boxes and notes.

No maintained Python reader of the format installs here (pyhwp is AGPL and not on the registry; the
Rust ``libhwp`` panics on real files), so this is a small record reader written from Hancom's
published description, 「한글 문서 파일 형식 5.0」 (revision 1.3, 2018-11-08), on top of
olefile for the OLE compound file.  본 제품은 한글과컴퓨터의 한/글 문서 파일(.hwp) 공개 문서를 참고하여
개발하였습니다.

What the reader relies on (named as in the description; checked on real files, see README):

* ``FileHeader`` stream (파일 인식 정보): signature ``HWP Document File``, version, and property bits:
  0 compressed, 1 password, 2 distribution (배포용: the body is encrypted into ``ViewText``),
  4 DRM, 8 certificate encryption, 10 certificate DRM.
* ``BodyText/Section{N}`` streams (본문), raw deflate when compressed, hold records (데이터 레코드): a 32-bit
  header of tag (10 bits), level (10 bits) and size (12 bits; 0xFFF means a 32-bit size follows).
  The level makes a tree: a paragraph (``PARA_HEADER``) owns its text (``PARA_TEXT``) and one
  ``CTRL_HEADER`` per extended control in the text, in order.
* ``PARA_TEXT`` (문단의 텍스트) is UTF-16LE; code units below 32 are controls (제어 문자): "char" ones take one
  unit (10 line break, 13 paragraph end, 24 hyphen, 30 non-breaking space, 31 fixed-width space),
  "inline" and "extended" ones take eight (9 tab, 11 table or drawing object, 15 hidden comment,
  16 header/footer, 17 foot/endnote, ...); an extended control's units 1-2 hold its control id.
* A table (표 개체): ``CTRL_HEADER`` ``tbl `` owns a ``TABLE`` record (rows, columns, then the number
  of cells of each row) and, per cell in row order, a ``LIST_HEADER`` followed by the cell's
  paragraphs; a ``LIST_HEADER`` before ``TABLE`` is the caption.  Drawing objects (``gso ``: text boxes,
  pictures with captions) and foot/endnotes (``fn  ``, ``en  ``) hold their paragraph lists below them.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass, field

import olefile

from briefsearch.errors import CorpusError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SIGNATURE = b"HWP Document File"
_COMPRESSED, _PASSWORD, _DISTRIBUTION, _DRM, _CERT_ENCRYPTED, _CERT_DRM = 1, 2, 4, 16, 256, 1024
MAX_LEVEL = 100  # record nesting; real documents stay far below (each nested table adds two levels)

_PARA_HEADER, _PARA_TEXT, _CTRL_HEADER, _LIST_HEADER, _TABLE = 66, 67, 71, 72, 77
_CHAR_CONTROLS = {10: "\n", 24: "-", 30: "\u00a0", 31: "\u3000"}  # one code unit; 0, 13, 25-29 print nothing
_ONE_UNIT = frozenset({0, 10, 13, 24, 25, 26, 27, 28, 29, 30, 31})
_EXTENDED = frozenset({1, 2, 3, 11, 12, 14, 15, 16, 17, 18, 21, 22, 23})  # each owns a CTRL_HEADER
_TAB = 9
_TABLE_ID, _DRAWING_ID = "tbl ", "gso "
_NOTE_IDS = frozenset({"fn  ", "en  "})
# skipped on purpose: headers/footers (head, foot) and hidden comments (tcmt) are not the body; page
# numbers, fields, bookmarks, equations and section/column definitions hold no body text


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of cells; a cell is its paragraphs.  Merged cells appear once, as in the file."""

    rows: tuple[tuple[tuple[Paragraph, ...], ...], ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Text runs and tables in reading order, and the paragraphs shown after it (boxes, notes, captions)."""

    content: tuple[str | Table, ...]
    attached: tuple[Paragraph, ...] = ()


@dataclass(slots=True)
class _Record:
    tag: int
    level: int
    payload: bytes
    children: list[_Record] = field(default_factory=list)


def is_hwp5(data: bytes) -> bool:
    """Whether the bytes are an OLE compound file holding an HWP 5.0 ``FileHeader``."""
    if not data.startswith(OLE_MAGIC):
        return False
    try:
        with _open(data) as ole:
            return ole.exists("FileHeader") and ole.openstream("FileHeader").read(32).startswith(_SIGNATURE)
    except Exception:  # olefile raises many types on broken files; then it is no readable .hwp
        return False


def _open(data: bytes) -> olefile.OleFileIO:
    """Strict: a truncated or inconsistent compound file raises instead of reading as garbage."""
    return olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)


def read_hwp5(data: bytes, name: str, max_unpacked_bytes: int, max_ratio: int,
              ratio_min_bytes: int) -> list[Paragraph]:
    """Body paragraphs of every section in order; any bad or unsupported input raises ``CorpusError``.

    ``max_unpacked_bytes`` caps the decompressed size of all sections together, and a section above
    ``ratio_min_bytes`` may not inflate more than ``max_ratio`` times (a deflate bomb), checked while
    decompressing, so a hostile file never costs more memory than the cap.
    """
    if data.startswith(b"PK\x03\x04"):
        raise CorpusError(f"{name}: this is a zip archive (an .hwpx document?), not a binary .hwp file; "
                          "upload it with its real extension (.hwpx)")
    if data.startswith(_SIGNATURE):
        raise CorpusError(f"{name}: this is an HWP 3.0 document (한글 97 or older), which is not supported; "
                          "open it in 한글 and save it as .hwpx or .hwp, then upload again")
    if not data.startswith(OLE_MAGIC):
        raise CorpusError(f"{name}: not an HWP 5.0 document (.hwp files are OLE compound files; "
                          "this one does not start like one)")
    try:
        with _open(data) as ole:
            flags = _check_header(ole, name)
            streams = _section_streams(ole, name)
            budget = max_unpacked_bytes
            paragraphs: list[Paragraph] = []
            for stream in streams:
                raw = ole.openstream(stream).read()
                body = raw
                if flags & _COMPRESSED:
                    body = _inflate(raw, name, stream, budget + 1, max_ratio, ratio_min_bytes)
                if len(body) > budget:
                    raise CorpusError(f"{name}: refusing document: its sections unpack to more than the limit of "
                                      f"{max_unpacked_bytes:,} bytes")
                budget -= len(body)
                paragraphs += [_paragraph(r) for r in _record_tree(body, name, stream) if r.tag == _PARA_HEADER]
    except (CorpusError, MemoryError):
        raise  # the extraction process reports a MemoryError as over its memory limit
    except Exception as exc:  # olefile raises OSError, struct.error, IndexError ... on a broken compound file
        raise CorpusError(f"{name}: the .hwp file is corrupt or truncated ({type(exc).__name__}: {exc})") from exc
    return paragraphs


def _check_header(ole: olefile.OleFileIO, name: str) -> int:
    """The property flags of a readable HWP 5 document; encrypted and distribution documents are refused."""
    if not ole.exists("FileHeader"):
        raise CorpusError(f"{name}: not an HWP document: the compound file has no FileHeader "
                          "(a legacy Word .doc or another OLE file renamed .hwp?)")
    header = ole.openstream("FileHeader").read(256)
    if not header.startswith(_SIGNATURE) or len(header) < 40:
        raise CorpusError(f"{name}: not an HWP document: its FileHeader has no HWP signature")
    version, flags = struct.unpack_from("<II", header, 32)
    if version >> 24 != 5:
        raise CorpusError(f"{name}: HWP format version {version >> 24} is not supported (only 5.x)")
    if flags & (_PASSWORD | _CERT_ENCRYPTED):
        raise CorpusError(f"{name}: the .hwp document is password-protected (encrypted); "
                          "remove the password in 한글 and upload again")
    if flags & _DISTRIBUTION or ole.exists("ViewText"):
        raise CorpusError(f"{name}: this is a distribution (배포용) .hwp document, whose text is encrypted; "
                          "upload the original document instead")
    if flags & (_DRM | _CERT_DRM):
        raise CorpusError(f"{name}: the .hwp document is DRM-protected; upload an unprotected copy")
    return flags


def _section_streams(ole: olefile.OleFileIO, name: str) -> list[str]:
    numbered: list[tuple[int, str]] = []
    for path in ole.listdir(streams=True, storages=False):
        if len(path) == 2 and path[0] == "BodyText" and (match := re.fullmatch(r"Section(\d+)", path[1])):
            numbered.append((int(match.group(1)), "/".join(path)))
    if not numbered:
        raise CorpusError(f"{name}: not a readable HWP document: it has no BodyText/Section streams")
    return [stream for _, stream in sorted(numbered)]


def _inflate(raw: bytes, name: str, stream: str, max_out: int, max_ratio: int, ratio_min_bytes: int) -> bytes:
    """Raw deflate, stopped at ``max_out`` bytes (the caller refuses that much) or past the ratio bound."""
    ratio_cap = max(ratio_min_bytes, max_ratio * len(raw))
    inflater = zlib.decompressobj(-15)
    try:
        body = inflater.decompress(raw, min(max_out, ratio_cap + 1))
    except zlib.error as exc:
        raise CorpusError(f"{name}: {stream} is corrupt: it does not decompress ({exc})") from exc
    if len(body) > ratio_cap:
        raise CorpusError(f"{name}: refusing document: {stream} has an absurd compression ratio (a deflate bomb?)")
    if len(body) >= max_out:
        return body
    if not inflater.eof:
        raise CorpusError(f"{name}: {stream} is truncated: its compressed data ends early")
    return body


def _record_tree(body: bytes, name: str, stream: str) -> list[_Record]:
    """Records of a section as a forest: a record is the child of the last record one level above it."""
    roots: list[_Record] = []
    stack: list[_Record] = []
    offset = 0
    while offset < len(body):
        if offset + 4 > len(body):
            raise CorpusError(f"{name}: {stream} is corrupt: a record header is cut off")
        (header,) = struct.unpack_from("<I", body, offset)
        offset += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if offset + 4 > len(body):
                raise CorpusError(f"{name}: {stream} is corrupt: a record size is cut off")
            (size,) = struct.unpack_from("<I", body, offset)
            offset += 4
        if offset + size > len(body):
            raise CorpusError(f"{name}: {stream} is corrupt or truncated: a record runs past its end")
        if level > MAX_LEVEL:
            raise CorpusError(f"{name}: {stream} nests objects more than {MAX_LEVEL} levels deep; refused")
        record = _Record(tag, level, body[offset : offset + size])
        offset += size
        while stack and stack[-1].level >= level:
            stack.pop()
        (stack[-1].children if stack else roots).append(record)
        stack.append(record)
    return roots


def _paragraph(record: _Record) -> Paragraph:
    """A ``PARA_HEADER`` record: its text with each extended control replaced by what it holds."""
    text = next((c.payload for c in record.children if c.tag == _PARA_TEXT), b"")
    controls = iter([c for c in record.children if c.tag == _CTRL_HEADER])
    content: list[str | Table] = []
    attached: list[Paragraph] = []
    parts: list[str] = []
    for piece in _text_pieces(text):
        if isinstance(piece, str):
            parts.append(piece)
            continue
        control = next(controls, None)
        if control is None:
            continue  # a control char without its record (a damaged file): nothing to show
        kind = control.payload[:4][::-1].decode("latin-1")
        if kind == _TABLE_ID:
            caption, table = _table(control)
            content += ["".join(parts), table]
            parts = []
            attached += caption
        elif kind == _DRAWING_ID or kind in _NOTE_IDS:
            attached += _lists(control)
    content.append("".join(parts))
    return Paragraph(tuple(content), tuple(attached))


def _text_pieces(payload: bytes) -> list[str | int]:
    """Text runs (str) and extended controls (their code, int) of a ``PARA_TEXT`` payload."""
    units = struct.unpack_from(f"<{len(payload) // 2}H", payload)
    pieces: list[str | int] = []
    run_start = i = 0
    while i < len(units):
        code = units[i]
        if code >= 32:
            i += 1
            continue
        if run_start < i:
            pieces.append(payload[run_start * 2 : i * 2].decode("utf-16-le", errors="replace"))
        if code in _ONE_UNIT:
            if code in _CHAR_CONTROLS:
                pieces.append(_CHAR_CONTROLS[code])
            i += 1
        else:
            if code == _TAB:
                pieces.append(" ")  # the rest of the pipeline reads a tab as a table cell separator
            elif code in _EXTENDED:
                pieces.append(code)
            i += 8
        run_start = i
    if run_start < len(units):
        pieces.append(payload[run_start * 2 : len(units) * 2].decode("utf-16-le", errors="replace"))
    return pieces


def _table(control: _Record) -> tuple[list[Paragraph], Table]:
    """Caption paragraphs and the cells of a ``tbl `` control, grouped into rows by ``TABLE``'s row sizes."""
    caption: list[Paragraph] = []
    cells: list[list[Paragraph]] = []
    row_sizes: list[int] = []
    seen_table = False
    for child in control.children:
        if child.tag == _TABLE and not seen_table:
            seen_table = True
            if len(child.payload) >= 8:
                rows = struct.unpack_from("<H", child.payload, 4)[0]
                available = max(0, (len(child.payload) - 18) // 2)
                row_sizes = list(struct.unpack_from(f"<{min(rows, available)}H", child.payload, 18))
        elif child.tag == _LIST_HEADER and seen_table:
            cells.append([])
        elif child.tag == _PARA_HEADER:
            (cells[-1] if cells else caption).append(_paragraph(child))
    rows: list[tuple[tuple[Paragraph, ...], ...]] = []
    start = 0
    for size in row_sizes:
        rows.append(tuple(tuple(cell) for cell in cells[start : start + size]))
        start += size
    if start < len(cells):  # row sizes that do not add up (a damaged file): keep the rest as one row
        rows.append(tuple(tuple(cell) for cell in cells[start:]))
    return caption, Table(tuple(row for row in rows if row))


def _lists(record: _Record) -> list[Paragraph]:
    """Paragraphs of the lists below a control (text box, note, caption), however deep, in order."""
    found: list[Paragraph] = []
    for child in record.children:
        if child.tag == _PARA_HEADER:
            found.append(_paragraph(child))
        else:
            found += _lists(child)
    return found
