"""Text renditions of binary documents (.pdf, .docx, .hwpx, .hwp).

The rest of the pipeline only understands text, so each upload gets a UTF-8 *rendition*
that is stored beside the original; citation offsets index into it.  The rendition uses
the conventions the structure parser already reads:

* PDF: page texts joined by ``"\\n\\f\\n"`` (page = 1 + number of form feeds before an offset);
  pdfminer's text boxes are separated by a blank line.
* DOCX/HWPX/HWP: one paragraph per line, ``"#" * N`` headings, ``"- "`` list items, and tables as
  one tab-separated line per row framed by empty lines.  A tab *inside* a paragraph becomes a
  space, because the parser reads any tab as a table cell separator.

Uploads are untrusted: archives are checked for bombs and odd member names before anything is
unpacked, HWPX XML goes through defusedxml, HWP sections are inflated under the same size and
ratio limits (``ingest/hwp5.py``), and every failure becomes a ``CorpusError``.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from xml.etree.ElementTree import Element, ParseError

import docx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.styles.style import BaseStyle
from lxml.etree import _Element as XmlNode
from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTFigure, LTLayoutContainer, LTTextBox
from pdfminer.pdfdocument import PDFPasswordIncorrect

from briefsearch.errors import CorpusError
from briefsearch.ingest import hwp5

BINARY_SUFFIXES = frozenset({".pdf", ".docx", ".hwpx", ".hwp"})

# Bumped whenever the rendition conventions below change, so stored renditions can be rebuilt.
RENDITION_VERSION = 1
MAX_COMPRESSION_RATIO = 200  # deflate tops out near 1000:1; real Office/HWPX XML stays far below 200:1
RATIO_CHECK_MIN_BYTES = 1 << 20  # tiny members may compress absurdly well without harm
_CID_TOKEN = re.compile(r"\(cid:\d+\)")
# line_margin 1.0 keeps lines set at Hangul's usual 160-180 % spacing in one text box (the default 0.5 puts
# a blank line after every line); all_texts also lays out text drawn inside form XObjects.
_PDF_LAYOUT = LAParams(line_margin=1.0, all_texts=True)

# pdfminer warns about every odd font (e.g. "Could not get FontBBox"); nothing a user can act on.
# An application that sets its own level for this logger keeps it.
if logging.getLogger("pdfminer").level == logging.NOTSET:
    logging.getLogger("pdfminer").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class Extracted:
    """A document's text rendition and where it came from."""

    text: str  # the text rendition (UTF-8 str, "\n" line ends)
    kind: str  # "pdf" | "docx" | "hwpx" | "hwp"
    pages: int | None  # number of pages for PDFs, else None
    extractor: str  # library and version, recorded in the index manifest


def extract(data: bytes, suffix: str, name: str = "<upload>", max_unpacked_bytes: int = 200 * 2**20) -> Extracted:
    """Text rendition of a binary document; any bad input raises ``CorpusError``."""
    suffix = suffix.lower() if suffix.startswith(".") else "." + suffix.lower()
    if suffix not in BINARY_SUFFIXES:
        expected = ", ".join(sorted(BINARY_SUFFIXES))
        raise CorpusError(f"{name}: unsupported file type {suffix!r} (expected one of {expected})")
    if not data:
        raise CorpusError(f"{name}: file is empty")
    if suffix == ".pdf":
        return extract_pdf(data, name)
    if suffix == ".hwp":
        return extract_hwp(data, name, max_unpacked_bytes)
    if data.startswith(hwp5.OLE_MAGIC):
        if suffix == ".hwpx" and hwp5.is_hwp5(data):
            raise CorpusError(f"{name}: this is a binary .hwp (HWP 5.0) file, not .hwpx; "
                              "upload it with its real extension (.hwp)")
        legacy = ".doc" if suffix == ".docx" else ".hwp"
        raise CorpusError(
            f"{name}: this is a legacy binary {legacy} file, not {suffix}; save it as {suffix} and upload again"
        )
    archive = _open_archive(data, name, suffix, max_unpacked_bytes)
    if suffix == ".docx":
        return extract_docx(archive, data, name)
    return extract_hwpx(archive, name)


# --------------------------------------------------------------------------- PDF


def extract_pdf(data: bytes, name: str) -> Extracted:
    """Pages via pdfminer.six: it maps Korean CID fonts (Adobe-Korea1) that lack a ToUnicode table."""
    if b"%PDF-" not in data[:1024]:
        raise CorpusError(f"{name}: not a PDF file (no %PDF header)")
    pages: list[str] = []
    try:
        for page in extract_pages(io.BytesIO(data), laparams=_PDF_LAYOUT):
            pages.append(_pdf_page_text(page))
    except PDFPasswordIncorrect as exc:
        raise CorpusError(f"{name}: PDF is password-protected; remove the password and upload again") from exc
    except Exception as exc:  # pdfminer raises many unrelated types on malformed input
        raise CorpusError(f"{name}: PDF is corrupt or unreadable ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise CorpusError(f"{name}: PDF is corrupt or has no pages")
    visible = "".join(pages)
    if not visible.strip():
        raise CorpusError(
            f"{name}: PDF has no text layer (scanned or image-only pages?); OCR is not supported, "
            "upload a PDF with selectable text"
        )
    undecoded = sum(len(m) for m in _CID_TOKEN.findall(visible))
    if undecoded * 2 > len("".join(visible.split())):
        raise CorpusError(
            f"{name}: PDF text layer cannot be decoded (its fonts have no Unicode mapping); OCR is not supported"
        )
    return Extracted("\n\f\n".join(pages), "pdf", len(pages), _extractor("pdfminer.six"))


def _pdf_page_text(page: LTLayoutContainer) -> str:
    """One page: pdfminer's text boxes in reading order, lines kept, a blank line between boxes."""
    lines: list[str] = []
    for box in _pdf_text_boxes(page):
        if lines:
            lines.append("")
        for line in box:
            # a control character from a broken font must not fake a page or line break
            lines.append(line.get_text().replace("\f", " ").replace("\r", " ").replace("\n", "").rstrip())
    return "\n".join(lines)


def _pdf_text_boxes(container: LTLayoutContainer) -> Iterator[LTTextBox]:
    for item in container:
        if isinstance(item, LTTextBox):
            yield item
        elif isinstance(item, LTFigure):
            yield from _pdf_text_boxes(item)


# --------------------------------------------------------------------------- archives


def _open_archive(data: bytes, name: str, suffix: str, max_unpacked_bytes: int) -> zipfile.ZipFile:
    """Open a zip only if its members are safe to read: no bombs, no path tricks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise CorpusError(f"{name}: not a valid {suffix} document: {suffix} files are zip archives ({exc})") from exc
    total = 0
    for info in members:
        member = info.filename
        if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member) or ".." in re.split(r"[/\\]", member):
            raise CorpusError(f"{name}: refusing archive with unsafe member path {member!r}")
        total += info.file_size
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise CorpusError(
                f"{name}: refusing archive: member {member!r} has an absurd compression ratio (zip bomb?)"
            )
    if total > max_unpacked_bytes:
        raise CorpusError(
            f"{name}: refusing archive: it unpacks to {total:,} bytes, more than the limit of {max_unpacked_bytes:,}"
        )
    return archive


def _read_member(archive: zipfile.ZipFile, member: str, name: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError as exc:
        raise CorpusError(f"{name}: archive has no {member}") from exc
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, EOFError, OSError) as exc:
        raise CorpusError(f"{name}: cannot unpack {member} ({exc})") from exc


def _table_block(rows: list[list[list[str]]]) -> list[str]:
    """Rows of cells (each cell a list of lines) as tab-separated lines framed by empty lines.

    A one-column table is a box drawn around ordinary text (common in Korean briefings), so its
    lines are kept as they are instead of being squeezed into one-cell rows.
    """
    if all(len(row) <= 1 for row in rows):
        lines = [line for row in rows for cell in row for line in cell]
    else:
        flat_rows = [[" ".join(_split_cell(cell)) for cell in row] for row in rows]
        lines = ["\t".join(cell.replace("\t", " ") for cell in row) for row in flat_rows if any(row)]
    return ["", *lines, ""] if any(line.strip() for line in lines) else []


def _paragraph_lines(content: Iterable[str | list[str]], later: list[str]) -> list[str]:
    """An HWPX or HWP paragraph: its text as a line, each table (a rendered block) where it
    stands, then ``later`` (text boxes, notes, captions), which inside the line would split a sentence."""
    lines: list[str] = []
    parts: list[str] = []
    for item in content:
        if isinstance(item, str):
            parts.append(item)
        else:
            lines.append("".join(parts))
            parts = []
            lines += item
    lines.append("".join(parts))
    if lines[0] == "" and len(lines) > 1:
        lines = lines[1:]  # a paragraph holding only a table does not add a line before it
    if lines[-1] == "" and len(lines) > 1:
        lines = lines[:-1]
    return lines + later


def _split_cell(cell: list[str]) -> list[str]:
    """A cell's non-empty lines, stripped (its paragraphs may hold line breaks)."""
    return [line.strip() for part in cell for line in part.split("\n") if line.strip()]


def _finish(lines: list[str], kind: str, name: str, extractor: str) -> Extracted:
    """Join lines; trailing blanks go, except the tabs of a row whose last cells are empty."""
    text = "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    text = "\n".join(line if "\t" in line else line.rstrip() for line in text.split("\n"))
    if not text.strip():
        raise CorpusError(f"{name}: {kind} document contains no text")
    return Extracted(text, kind, None, extractor)


# --------------------------------------------------------------------------- DOCX


def extract_docx(archive: zipfile.ZipFile, data: bytes, name: str) -> Extracted:
    """Body paragraphs and tables in order via python-docx (it resolves styles and the main part)."""
    if "[Content_Types].xml" not in archive.namelist():
        raise CorpusError(f"{name}: not a Word .docx document (the archive has no [Content_Types].xml)")
    try:
        document = docx.Document(io.BytesIO(data))
        styles = {style.style_id: style for style in document.styles}
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        lines = _docx_blocks(document.element.body, styles, default)
    except KeyError as exc:  # python-docx follows the package relationships to the main part
        raise CorpusError(
            f"{name}: not a valid Word .docx document: its main document part is missing ({exc})"
        ) from exc
    except Exception as exc:  # python-docx/lxml raise KeyError, ValueError, XMLSyntaxError, ... on broken parts
        raise CorpusError(f"{name}: not a valid Word .docx document ({type(exc).__name__}: {exc})") from exc
    return _finish(lines, "docx", name, _extractor("python-docx"))


def _docx_blocks(container: XmlNode, styles: dict[str, BaseStyle], default: BaseStyle | None) -> list[str]:
    """Paragraphs and tables of a body or table cell, in document order."""
    lines: list[str] = []
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            lines.append(_docx_paragraph(child, styles, default))
            for box in _docx_text_boxes(child):  # after the paragraph: inside it they would split a sentence
                lines += _docx_blocks(box, styles, default)
        elif child.tag == qn("w:tbl"):
            rows = [
                [_docx_blocks(tc, styles, default) for tc in tr.iterchildren(qn("w:tc"))]
                for tr in child.iterchildren(qn("w:tr"))
            ]
            lines += _table_block(rows)
        elif child.tag == qn("w:sdt"):  # content controls (cover pages, tables of contents) wrap body blocks
            for content in child.iterchildren(qn("w:sdtContent")):
                lines += _docx_blocks(content, styles, default)
        elif child.tag == qn("w:customXml"):
            lines += _docx_blocks(child, styles, default)
    return lines


_DOCX_RUN_TEXT = "w:t | w:tab | w:br | w:cr | w:noBreakHyphen"
# deleted and moved-away revisions are not the document's text; a Fallback repeats its Choice
_DOCX_SKIPPED = frozenset(
    {qn("w:del"), qn("w:moveFrom"), "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"}
)


def _docx_runs(element: XmlNode) -> Iterator[XmlNode]:
    """Runs of a paragraph, also inside hyperlinks, fields, insertions and inline content controls."""
    for child in element.iterchildren():
        if child.tag == qn("w:r"):
            yield child  # not entered: text boxes inside a run are handled by _docx_text_boxes
        elif child.tag not in _DOCX_SKIPPED:
            yield from _docx_runs(child)


def _docx_text_boxes(element: XmlNode) -> Iterator[XmlNode]:
    """Outermost text box contents anchored in a paragraph."""
    for child in element.iterchildren():
        if child.tag == qn("w:txbxContent"):
            yield child
        elif child.tag not in _DOCX_SKIPPED:
            yield from _docx_text_boxes(child)


def _docx_paragraph(p: XmlNode, styles: dict[str, BaseStyle], default: BaseStyle | None) -> str:
    parts: list[str] = []
    for run in _docx_runs(p):
        for item in run.xpath(_DOCX_RUN_TEXT):
            if item.tag == qn("w:t"):
                parts.append(item.text or "")
            elif item.tag == qn("w:tab"):
                parts.append(" ")
            elif item.tag == qn("w:noBreakHyphen"):
                parts.append("-")
            else:
                parts.append("\n")
    text = "".join(parts)
    if not text.strip():
        return ""
    style = styles.get(p.style or "", default)
    level = _docx_heading_level(p, style)
    if level:
        return "#" * level + " " + text.lstrip()
    if _docx_is_list(p, style):
        return "- " + text.lstrip()
    return text


def _docx_heading_level(p: XmlNode, style: BaseStyle | None) -> int | None:
    """Heading level from the style name ("Heading 2", "Title", "제목 1") or an outline level, 1-6."""
    outline = p.xpath("./w:pPr/w:outlineLvl/@w:val")
    while not outline and style is not None:
        style_name = (style.name or "").strip()
        if style_name.lower() in ("title", "제목"):
            return 1
        match = re.fullmatch(r"(?:heading|제목)\s*(\d)", style_name, flags=re.IGNORECASE)
        if match:
            return min(max(int(match.group(1)), 1), 6)
        outline = style.element.xpath("./w:pPr/w:outlineLvl/@w:val")
        style = style.base_style
    if outline and outline[0].isdigit() and int(outline[0]) < 9:  # 9 means body text
        return min(int(outline[0]) + 1, 6)
    return None


def _docx_is_list(p: XmlNode, style: BaseStyle | None) -> bool:
    """Numbered or bulleted, directly or through the style ("List Bullet", "List Number")."""
    num_ids = p.xpath("./w:pPr/w:numPr/w:numId/@w:val")
    while not num_ids and style is not None:
        if re.match(r"list (bullet|number)", (style.name or "").lower()):
            return True
        num_ids = style.element.xpath("./w:pPr/w:numPr/w:numId/@w:val")
        style = style.base_style
    return bool(num_ids) and num_ids[0] != "0"  # numId 0 removes inherited numbering


# --------------------------------------------------------------------------- HWPX

# Hancom 2011 (what Hangul writes), the 2016 extension and the KS X 6101 (OWPML 2024) namespaces
_HWPX_PARAGRAPH_NS = re.compile(r"^\{http://www\.(hancom\.co\.kr/hwpml|owpml\.org/owpml)/\d{4}/paragraph\}")
_HWPX_INLINE = {"lineBreak": "\n", "tab": " ", "nbSpace": "\u00a0", "fwSpace": "\u3000", "hyphen": "-"}
_HWPX_HPF = "Contents/content.hpf"


def extract_hwpx(archive: zipfile.ZipFile, name: str) -> Extracted:
    """Sections in spine order; each ``hp:p`` is a line, each ``hp:tbl`` a tab-separated block."""
    lines: list[str] = []
    for member in _hwpx_sections(archive, name):
        root = _parse_member(archive, member, name)
        for child in root:
            if _hp(child) == "p":
                lines += _hwpx_paragraph(child)
    return _finish(lines, "hwpx", name, "zipfile + " + _extractor("defusedxml"))


def _hwpx_sections(archive: zipfile.ZipFile, name: str) -> list[str]:
    """Section parts from the OPF spine of content.hpf, else ``Contents/section*.xml`` by number."""
    names = set(archive.namelist())
    found: list[str] = []
    if _HWPX_HPF in names:
        package = _parse_member(archive, _HWPX_HPF, name)
        hrefs = {item.get("id"): item.get("href", "") for item in package.iter() if _local(item) == "item"}
        for ref in package.iter():
            if _local(ref) != "itemref":
                continue
            href = hrefs.get(ref.get("idref"), "")
            if not re.search(r"(^|/)section\d+\.xml$", href):
                continue  # the spine also lists header.xml
            for member in (href, posixpath.join(posixpath.dirname(_HWPX_HPF), href)):
                if member in names and member not in found:
                    found.append(member)
                    break
    if not found:
        numbered = [n for n in names if re.fullmatch(r"Contents/section\d+\.xml", n)]
        found = sorted(numbered, key=lambda n: int(re.sub(r"\D", "", posixpath.basename(n))))
    if not found:
        raise CorpusError(f"{name}: not an HWPX document (no Contents/section*.xml in the archive)")
    return found


def _parse_member(archive: zipfile.ZipFile, member: str, name: str) -> Element:
    data = _read_member(archive, member, name)
    try:
        return parse_xml(data)
    except DefusedXmlException as exc:
        raise CorpusError(f"{name}: refusing {member}: it declares XML entities or a DTD ({exc})") from exc
    except ParseError as exc:
        raise CorpusError(f"{name}: {member} is not well-formed XML ({exc})") from exc


def _hwpx_paragraph(p: Element) -> list[str]:
    """The paragraph's line, its tables where they stand, then text of boxes, notes and captions."""
    content: list[str | list[str]] = []
    later: list[str] = []
    for run in p:
        if _hp(run) != "run":
            continue
        for item in run:
            kind = _hp(item)
            if kind == "t":
                content.append(_hwpx_text(item))
            elif kind == "tbl":
                content.append(_hwpx_table(item))
            else:
                for sub in _hwpx_sublists(item):
                    later += [line for child in sub if _hp(child) == "p" for line in _hwpx_paragraph(child)]
    return _paragraph_lines(content, later)


def _hwpx_text(t: Element) -> str:
    """``hp:t`` is mixed content: text with inline marks such as ``hp:lineBreak`` and ``hp:tab``."""
    parts = [t.text or ""]
    for child in t:
        parts.append(_HWPX_INLINE.get(_hp(child) or "", ""))
        parts.append(child.tail or "")
    return "".join(parts)


def _hwpx_table(tbl: Element) -> list[str]:
    """``hp:tr`` rows of ``hp:tc`` cells; merged cells appear once, as in the file."""
    return _table_block([[_hwpx_cell(tc) for tc in tr if _hp(tc) == "tc"] for tr in tbl if _hp(tr) == "tr"])


def _hwpx_cell(tc: Element) -> list[str]:
    lines: list[str] = []
    for sub in tc:
        if _hp(sub) == "subList":
            lines += [line for p in sub if _hp(p) == "p" for line in _hwpx_paragraph(p)]
    return lines


def _hwpx_sublists(element: Element) -> Iterator[Element]:
    """Outermost ``hp:subList`` elements below a run item (text boxes, foot/endnotes, captions)."""
    for child in element:
        if _hp(child) == "subList":
            yield child
        else:
            yield from _hwpx_sublists(child)


def _hp(element: Element) -> str | None:
    """Local name of an element in any HWPX paragraph namespace, else None."""
    tag = element.tag if isinstance(element.tag, str) else ""
    match = _HWPX_PARAGRAPH_NS.match(tag)
    return tag[match.end() :] if match else None


def _local(element: Element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


# --------------------------------------------------------------------------- HWP (binary HWP 5.0)


def extract_hwp(data: bytes, name: str, max_unpacked_bytes: int) -> Extracted:
    """Sections in order via ``ingest/hwp5.py``; paragraphs and tables rendered as for HWPX."""
    paragraphs = hwp5.read_hwp5(data, name, max_unpacked_bytes, MAX_COMPRESSION_RATIO, RATIO_CHECK_MIN_BYTES)
    lines = [line for paragraph in paragraphs for line in _hwp_paragraph(paragraph)]
    return _finish(lines, "hwp", name, "hwp5 record reader + " + _extractor("olefile"))


def _hwp_paragraph(paragraph: hwp5.Paragraph) -> list[str]:
    content = [item if isinstance(item, str) else _hwp_table(item) for item in paragraph.content]
    return _paragraph_lines(content, [line for note in paragraph.attached for line in _hwp_paragraph(note)])


def _hwp_table(table: hwp5.Table) -> list[str]:
    return _table_block([[[line for p in cell for line in _hwp_paragraph(p)] for cell in row] for row in table.rows])


def _extractor(package: str) -> str:
    return f"{package} {version(package)}, rendition {RENDITION_VERSION}"
