"""Small real .pdf/.docx/.hwpx files, generated on demand so every test can rebuild them, and the real
.hwp files of ``fixtures/hwp`` (written by 한글; binary HWP cannot be generated here), altered in place.

PDFs use reportlab's built-in Korean CID font (HYSMyeongJo-Medium, not embedded), DOCX files
python-docx, and HWPX files are zipped OWPML parts written by hand in the layout Hangul uses
(mimetype first and stored, META-INF/container.xml, Contents/content.hpf, header, sections).
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import docx
import olefile
import pypdf
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from pdfminer.cmapdb import CMapDB
from PIL import Image, ImageDraw
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

KOREAN_FONT = "HYSMyeongJo-Medium"
HP_2011 = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HP_2024 = "http://www.owpml.org/owpml/2024/paragraph"
HS_2011 = "http://www.hancom.co.kr/hwpml/2011/section"
HWP_DIR = Path(__file__).parent / "fixtures" / "hwp"

Table = Sequence[Sequence[str]]


# --------------------------------------------------------------------------- PDF


def make_pdf(
    path: Path, pages: Sequence[str], *, user_password: str | None = None, owner_password: str | None = None
) -> Path:
    """One PDF page per string, one drawn line per text line (a tab is drawn as four spaces).

    With a password the file is encrypted (AES-128) by pypdf; an empty user password with an
    owner password gives the common "opens without a password, but restricted" kind.  (reportlab's
    own encryption leaves the strings of inline font dictionaries in clear text, which a correct
    reader then garbles, so it is not used.)
    """
    pdfmetrics.registerFont(UnicodeCIDFont(KOREAN_FONT))
    pdf = canvas.Canvas(str(path), pagesize=(595, 842), invariant=1)
    for page in pages:
        pdf.setFont(KOREAN_FONT, 11)
        y = 790
        for line in page.split("\n"):
            pdf.drawString(56, y, line.replace("\t", "    "))
            y -= 18
        pdf.showPage()
    pdf.save()
    if user_password is not None or owner_password is not None:
        writer = pypdf.PdfWriter(clone_from=str(path))
        writer.encrypt(user_password=user_password or "", owner_password=owner_password, algorithm="AES-128")
        writer.write(str(path))
    return path


def make_cid_pdf(path: Path, text: str, ordering: str = "Korea1") -> Path:
    """One line in a Type0 font with Identity-H encoding, no ToUnicode map and no embedded font.

    Older Korean PDFs look like this: a reader must go from CIDs to Unicode through the
    Adobe-Korea1 character collection named in CIDSystemInfo.  The CIDs are looked up in
    Adobe's UniKS-UCS2-H CMap (shipped with pdfminer.six).  Another ``ordering`` makes the
    CIDs meaningless, like a subset font without a Unicode map.
    """
    cmap = CMapDB.get_cmap("UniKS-UCS2-H")
    cids = [cid for char in text for cid in cmap.decode(ord(char).to_bytes(2, "big"))]
    stream = f"BT /F1 12 Tf 56 780 Td <{''.join(f'{cid:04X}' for cid in cids)}> Tj ET".encode()
    font = "/BaseFont /HYSMyeongJo-Medium"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >>"
        b" /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(stream), stream),
        f"<< /Type /Font /Subtype /Type0 {font} /Encoding /Identity-H /DescendantFonts [6 0 R] >>".encode(),
        f"<< /Type /Font /Subtype /CIDFontType0 {font} /CIDSystemInfo << /Registry (Adobe) /Ordering ({ordering})"
        " /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 >>".encode(),
        b"<< /Type /FontDescriptor /FontName /HYSMyeongJo-Medium /Flags 6 /FontBBox [0 -148 1001 880]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 50 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def make_scanned_pdf(path: Path) -> Path:
    """A page holding only a raster image and vector shapes, like a scan without OCR."""
    image = Image.new("L", (600, 300), 255)
    draw = ImageDraw.Draw(image)
    for row in range(8):  # grey bars where lines of text would be
        draw.rectangle((20, 20 + row * 34, 560 - (row % 3) * 80, 36 + row * 34), fill=40)
    pdf = canvas.Canvas(str(path), pagesize=(595, 842), invariant=1)
    pdf.drawImage(ImageReader(image), 56, 450, width=480, height=240)
    pdf.rect(56, 100, 480, 300)
    pdf.line(56, 420, 536, 420)
    pdf.showPage()
    pdf.save()
    return path


# --------------------------------------------------------------------------- DOCX


def make_docx(path: Path, blocks: Sequence[str | tuple[str, object]]) -> Path:
    """A .docx from blocks: a plain string is a body paragraph, or a (kind, value) pair:

    ("title", text), ("heading N", text), ("bullet", text), ("number", text), ("table", rows),
    ("outline N", text) -- a custom style "개요 N" known only by its outline level, as
    converters from Hangul write it.
    """
    document = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            document.add_paragraph(block)
            continue
        kind, value = block
        if kind == "title":
            document.add_heading(str(value), level=0)
        elif kind.startswith("heading "):
            document.add_heading(str(value), level=int(kind.split()[1]))
        elif kind == "bullet":
            document.add_paragraph(str(value), style="List Bullet")
        elif kind == "number":
            document.add_paragraph(str(value), style="List Number")
        elif kind.startswith("outline "):
            document.add_paragraph(str(value), style=_outline_style(document, int(kind.split()[1])))
        elif kind == "table":
            rows: Table = value  # type: ignore[assignment]
            table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for row, cells in zip(table.rows, rows, strict=True):
                for cell, text in zip(row.cells, cells, strict=False):
                    cell.text = text
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    document.save(str(path))
    return path


def _outline_style(document: docx.document.Document, level: int) -> str:
    name = f"개요 {level}"
    if name not in [s.name for s in document.styles]:
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        outline = OxmlElement("w:outlineLvl")
        outline.set(qn("w:val"), str(level - 1))
        style.element.get_or_add_pPr().append(outline)
    return name


# --------------------------------------------------------------------------- HWPX


def make_hwpx(
    path: Path,
    paragraphs: Sequence[str],
    table: Table | None = None,
    *,
    after: Sequence[str] = (),
    extra_sections: Sequence[Sequence[str]] = (),
    paragraph_ns: str = HP_2011,
    with_manifest: bool = True,
    spine: Sequence[int] | None = None,
) -> Path:
    """An .hwpx: section 0 holds ``paragraphs``, then ``table`` (if any), then ``after``.

    ``extra_sections`` become section1.xml, section2.xml, ...; ``spine`` lists section numbers in
    reading order (default: by number).  In paragraph strings "\\n" is written as ``hp:lineBreak``
    and "\\t" as ``hp:tab``, as Hangul does.
    """
    sections = [_hwpx_section([*map(_hwpx_p, paragraphs), _hwpx_table_p(table), *map(_hwpx_p, after)], paragraph_ns)]
    sections += [_hwpx_section([_hwpx_p(p) for p in extra], paragraph_ns) for extra in extra_sections]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("version.xml", _HWPX_VERSION)
        archive.writestr("META-INF/container.xml", _HWPX_CONTAINER)
        if with_manifest:
            archive.writestr("Contents/content.hpf", _hwpx_package(len(sections), spine or range(len(sections))))
        archive.writestr("Contents/header.xml", _HWPX_HEADER)
        for number, section in enumerate(sections):
            archive.writestr(f"Contents/section{number}.xml", section)
        archive.writestr("settings.xml", _HWPX_SETTINGS)
    return path


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    """A plain zip with the given members (for broken-archive tests)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return path


_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>'
_HWPX_VERSION = (
    f'{_XML_DECL}<hv:HCFVersion xmlns:hv="http://www.hancom.co.kr/hwpml/2011/version" tagetApplication="WORDPROCESSOR"'
    ' major="5" minor="1" micro="1" buildNumber="0" os="1" xmlVersion="1.4" application="Hancom Office Hangul"'
    ' appVersion="12, 0, 0, 0"/>'
)
_HWPX_CONTAINER = (
    f'{_XML_DECL}<ocf:container xmlns:ocf="urn:oasis:names:tc:opendocument:xmlns:container"'
    ' xmlns:hpf="http://www.hancom.co.kr/schema/2011/hpf"><ocf:rootfiles>'
    '<ocf:rootfile full-path="Contents/content.hpf" media-type="application/hwpml-package+xml"/>'
    "</ocf:rootfiles></ocf:container>"
)
_HWPX_SETTINGS = (
    f'{_XML_DECL}<ha:HWPApplicationSetting xmlns:ha="http://www.hancom.co.kr/hwpml/2011/app">'
    '<ha:CaretPosition listIDRef="0" paraIDRef="0" pos="0"/></ha:HWPApplicationSetting>'
)
_HWPX_HEADER = (
    f'{_XML_DECL}<hh:head xmlns:hh="http://www.hancom.co.kr/hwpml/2011/head" version="1.4" secCnt="1">'
    '<hh:beginNum page="1" footnote="1" endnote="1" pic="1" tbl="1" equation="1"/>'
    '<hh:refList><hh:fontfaces itemCnt="1"><hh:fontface lang="HANGUL" fontCnt="1">'
    '<hh:font id="0" face="함초롬바탕" type="TTF" isEmbedded="0"/></hh:fontface></hh:fontfaces>'
    '<hh:styles itemCnt="2">'
    '<hh:style id="0" type="PARA" name="바탕글" engName="Normal" paraPrIDRef="0" charPrIDRef="0" nextStyleIDRef="0"'
    ' langID="1042" lockForm="0"/>'
    '<hh:style id="1" type="PARA" name="개요 1" engName="Outline 1" paraPrIDRef="1" charPrIDRef="0"'
    ' nextStyleIDRef="1" langID="1042" lockForm="0"/>'
    "</hh:styles></hh:refList></hh:head>"
)


def _hwpx_package(n_sections: int, spine_order: Sequence[int]) -> str:
    items = "".join(
        f'<opf:item id="section{i}" href="Contents/section{i}.xml" media-type="application/xml"/>'
        for i in range(n_sections)
    )
    spine = "".join(f'<opf:itemref idref="section{i}" linear="yes"/>' for i in spine_order)
    return (
        f'{_XML_DECL}<opf:package xmlns:opf="http://www.idpf.org/2007/opf/" version="" unique-identifier="" id="">'
        "<opf:metadata><opf:title/><opf:language>ko</opf:language></opf:metadata><opf:manifest>"
        '<opf:item id="header" href="Contents/header.xml" media-type="application/xml"/>'
        f'{items}<opf:item id="settings" href="settings.xml" media-type="application/xml"/></opf:manifest>'
        f'<opf:spine><opf:itemref idref="header" linear="yes"/>{spine}</opf:spine></opf:package>'
    )


def _hwpx_section(paragraphs: list[str], paragraph_ns: str) -> str:
    # Hangul puts the section and column definitions in a run of the first paragraph
    sec_pr = (
        '<hp:p id="0" paraPrIDRef="0" styleIDRef="0" pageBreak="0" columnBreak="0" merged="0"><hp:run charPrIDRef="0">'
        '<hp:secPr id="" textDirection="HORIZONTAL" spaceColumns="1134" tabStop="8000" outlineShapeIDRef="1">'
        '<hp:pagePr landscape="WIDELY" width="59528" height="84186" gutterType="LEFT_ONLY">'
        '<hp:margin header="4252" footer="4252" gutter="0" left="8504" right="8504" top="5668" bottom="4252"/>'
        '</hp:pagePr></hp:secPr><hp:ctrl><hp:colPr id="" type="NEWSPAPER" layout="LEFT" colCount="1" sameSz="1"'
        ' sameGap="0"/></hp:ctrl></hp:run><hp:run charPrIDRef="0"/></hp:p>'
    )
    return (
        f'{_XML_DECL}<hs:sec xmlns:hs="{HS_2011}" xmlns:hp="{paragraph_ns}"'
        ' xmlns:hc="http://www.hancom.co.kr/hwpml/2011/core">'
        f"{sec_pr}{''.join(paragraphs)}</hs:sec>"
    )


def _hwpx_p(text: str) -> str:
    inline = escape(text).replace("\n", "<hp:lineBreak/>").replace("\t", '<hp:tab width="4000" leader="0" type="1"/>')
    return (
        '<hp:p id="0" paraPrIDRef="0" styleIDRef="0" pageBreak="0" columnBreak="0" merged="0">'
        f'<hp:run charPrIDRef="0"><hp:t>{inline}</hp:t></hp:run>'
        '<hp:linesegarray><hp:lineseg textpos="0" vertpos="0" vertsize="1000" textheight="1000" baseline="850"'
        ' spacing="600" horzpos="0" horzsize="42520" flags="393216"/></hp:linesegarray></hp:p>'
    )


def _hwpx_table_p(rows: Table | None) -> str:
    """A paragraph whose run holds the table (treated as a character), as Hangul stores it."""
    if not rows:
        return ""
    trs = []
    for r, cells in enumerate(rows):
        tcs = "".join(
            '<hp:tc name="" header="0" hasMargin="0" protect="0" editable="0" dirty="0" borderFillIDRef="1">'
            '<hp:subList id="" textDirection="HORIZONTAL" lineWrap="BREAK" vertAlign="CENTER" linkListIDRef="0"'
            ' linkListNextIDRef="0" textWidth="0" textHeight="0" hasTextRef="0" hasNumRef="0">'
            f"{''.join(_hwpx_p(line) for line in text.split(chr(10)))}</hp:subList>"
            f'<hp:cellAddr colAddr="{c}" rowAddr="{r}"/><hp:cellSpan colSpan="1" rowSpan="1"/>'
            '<hp:cellSz width="14000" height="1500"/><hp:cellMargin left="510" right="510" top="141" bottom="141"/>'
            "</hp:tc>"
            for c, text in enumerate(cells)
        )
        trs.append(f"<hp:tr>{tcs}</hp:tr>")
    return (
        '<hp:p id="0" paraPrIDRef="0" styleIDRef="0" pageBreak="0" columnBreak="0" merged="0"><hp:run charPrIDRef="0">'
        f'<hp:tbl id="1" zOrder="0" numberingType="TABLE" textWrap="TOP_AND_BOTTOM" textFlow="BOTH_SIDES" lock="0"'
        f' dropcapstyle="None" pageBreak="CELL" repeatHeader="1" rowCnt="{len(rows)}"'
        f' colCnt="{max(len(r) for r in rows)}" cellSpacing="0" borderFillIDRef="1" noAdjust="0">'
        '<hp:sz width="42000" widthRelTo="ABSOLUTE" height="4500" heightRelTo="ABSOLUTE" protect="0"/>'
        '<hp:pos treatAsChar="1" affectLSpacing="0" flowWithText="1" allowOverlap="0" holdAnchorAndSO="0"'
        ' vertRelTo="PARA" horzRelTo="PARA" vertAlign="TOP" horzAlign="LEFT" vertOffset="0" horzOffset="0"/>'
        f'{"".join(trs)}</hp:tbl></hp:run><hp:run charPrIDRef="0"><hp:t/></hp:run></hp:p>'
    )


# --------------------------------------------------------------------------- HWP (real files, altered)


def rewritten_hwp(tmp_path: Path, stem: str, stream: str, change: Callable[[bytes], bytes]) -> bytes:
    """A ``fixtures/hwp`` file with one stream replaced in place (olefile writes streams of the same size)."""
    path = tmp_path / f"{stem}.hwp"
    shutil.copy(HWP_DIR / f"{stem}.hwp", path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        old = ole.openstream(stream).read()
        new = change(old)
        assert len(new) == len(old)
        ole.write_stream(stream, new)
    return path.read_bytes()


def with_hwp_flag(bit: int) -> Callable[[bytes], bytes]:
    """Sets a property bit of the ``FileHeader`` stream (2 password, 4 distribution, 16 DRM, ...)."""

    def change(header: bytes) -> bytes:
        (flags,) = struct.unpack_from("<I", header, 36)
        return header[:36] + struct.pack("<I", flags | bit) + header[40:]

    return change
