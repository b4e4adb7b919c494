"""Text renditions of .pdf/.docx/.hwpx/.hwp uploads: real files, real libraries, no mocks."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import parse as parse_xml
from fixtures_formats import (
    HP_2011,
    HP_2024,
    HS_2011,
    HWP_DIR,
    make_cid_pdf,
    make_docx,
    make_hwpx,
    make_pdf,
    make_scanned_pdf,
    rewritten_hwp,
    with_hwp_flag,
    write_zip,
)

from briefsearch.errors import CorpusError
from briefsearch.ingest.extract_worker import extract_isolated
from briefsearch.ingest.formats import BINARY_SUFFIXES, Extracted, extract
from briefsearch.ingest.hwp5 import MAX_LEVEL

PAGE_ONE = (
    "# 2026년 청년 주거 지원 정책 브리핑\n"
    "정부는 청년층의 주거 부담을 줄이기 위해 월세 지원 대상을 확대한다고 밝혔다.\n"
    "- 월세 지원: 최대 20만 원, 12개월\n"
    "- 전세 대출 한도: 2억 원으로 상향\n"
    "구분    예산(억원)    비율\n"
    "주거    1,200    35%"
)
PAGE_TWO_SENTENCE = "둘째 쪽에는 디지털 전환 예산이 3조 원으로 늘어난다는 문장이 있습니다."
TABLE = [["구분", "예산(억원)", "비율"], ["주거", "1,200", "35%"], ["일자리", "2,300", "65%"]]
TABLE_LINES = "구분\t예산(억원)\t비율\n주거\t1,200\t35%\n일자리\t2,300\t65%"


def _extract(path: Path, **kwargs: int) -> Extracted:
    return extract(path.read_bytes(), path.suffix, name=path.name, **kwargs)


def _fails(data: bytes, suffix: str, *needles: str, **kwargs: int) -> str:
    with pytest.raises(CorpusError) as info:
        extract(data, suffix, name="upload" + suffix, **kwargs)
    message = str(info.value)
    assert message.startswith("upload" + suffix), message
    for needle in needles:
        assert needle in message, message
    return message


# --------------------------------------------------------------------------- dispatcher


def test_binary_suffixes() -> None:
    assert frozenset({".pdf", ".docx", ".hwpx", ".hwp"}) == BINARY_SUFFIXES


@pytest.mark.parametrize("suffix", [".doc", ".txt", ".xlsx", ""])
def test_unsupported_suffix(suffix: str) -> None:
    _fails(b"anything", suffix, "unsupported file type")


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "a.pdf", ["대문자 확장자"])
    assert extract(path.read_bytes(), ".PDF").kind == "pdf"


@pytest.mark.parametrize("suffix", sorted(BINARY_SUFFIXES))
def test_empty_file(suffix: str) -> None:
    _fails(b"", suffix, "empty")


# --------------------------------------------------------------------------- PDF


def test_pdf_round_trips_korean_and_marks_pages(tmp_path: Path) -> None:
    result = _extract(make_pdf(tmp_path / "brief.pdf", [PAGE_ONE, PAGE_TWO_SENTENCE]))
    assert result.kind == "pdf"
    assert result.pages == 2
    assert result.extractor.startswith("pdfminer.six 20")
    assert result.text.count("\f") == 1
    assert "\n\f\n" in result.text
    pages = result.text.split("\n\f\n")
    assert [line for line in pages[0].split("\n") if line] == PAGE_ONE.split("\n")
    assert pages[1] == PAGE_TWO_SENTENCE
    offset = result.text.index(PAGE_TWO_SENTENCE)
    assert 1 + result.text[:offset].count("\f") == 2
    assert all(line == line.rstrip() for line in result.text.split("\n") if line != "\f")


def test_pdf_keeps_empty_pages(tmp_path: Path) -> None:
    result = _extract(make_pdf(tmp_path / "gap.pdf", ["첫 쪽 문장.", "", "셋째 쪽 문장."]))
    assert result.pages == 3
    assert result.text.split("\n\f\n") == ["첫 쪽 문장.", "", "셋째 쪽 문장."]


def test_pdf_cid_font_without_unicode_map(tmp_path: Path) -> None:
    """Identity-H + Adobe-Korea1 and no ToUnicode: decoded through the character collection."""
    text = "정부는 청년층의 주거 부담을 줄이기 위해"
    result = _extract(make_cid_pdf(tmp_path / "cid.pdf", text))
    assert result.text == text


def test_pdf_undecodable_fonts(tmp_path: Path) -> None:
    path = make_cid_pdf(tmp_path / "cid.pdf", "해독할 수 없는 글꼴", ordering="Custom")
    _fails(path.read_bytes(), ".pdf", "cannot be decoded", "OCR is not supported")


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = make_scanned_pdf(tmp_path / "scan.pdf")
    _fails(path.read_bytes(), ".pdf", "no text layer", "OCR is not supported")


def test_pdf_owner_password_only_opens(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "locked.pdf", ["복사 제한 문서입니다.", PAGE_TWO_SENTENCE], owner_password="owner")
    assert b"/Encrypt" in path.read_bytes()
    result = _extract(path)
    assert result.text == "복사 제한 문서입니다.\n\f\n" + PAGE_TWO_SENTENCE


def test_pdf_user_password(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "secret.pdf", ["비밀 문서"], user_password="secret")
    _fails(path.read_bytes(), ".pdf", "password-protected")


def test_pdf_not_a_pdf() -> None:
    _fails("그냥 텍스트 파일".encode(), ".pdf", "not a PDF")


def test_pdf_corrupt(tmp_path: Path) -> None:
    _fails(b"%PDF-1.7\n" + bytes(range(256)) * 8, ".pdf", "corrupt")
    data = make_pdf(tmp_path / "whole.pdf", [PAGE_ONE]).read_bytes()
    _fails(data[: len(data) // 2], ".pdf", "corrupt")


# --------------------------------------------------------------------------- DOCX

DOCX_BLOCKS = [
    ("title", "2026년 청년 주거 지원 정책"),
    ("heading 1", "추진 배경"),
    "정부는 청년층의 주거 부담을 줄이기 위해 월세 지원 대상을 확대한다고 밝혔다.",
    ("bullet", "월세 지원: 최대 20만 원, 12개월"),
    ("number", "전세 대출 한도: 2억 원으로 상향"),
    ("table", TABLE),
    ("heading 2", "세부 과제"),
    ("outline 3", "지역별 추진 계획"),
    "표 뒤의 문단입니다.",
]


def test_docx_rendition(tmp_path: Path) -> None:
    result = _extract(make_docx(tmp_path / "brief.docx", DOCX_BLOCKS))
    assert result.kind == "docx"
    assert result.pages is None
    assert result.extractor.startswith("python-docx 1.")
    assert result.text == (
        "# 2026년 청년 주거 지원 정책\n"
        "# 추진 배경\n"
        "정부는 청년층의 주거 부담을 줄이기 위해 월세 지원 대상을 확대한다고 밝혔다.\n"
        "- 월세 지원: 최대 20만 원, 12개월\n"
        "- 전세 대출 한도: 2억 원으로 상향\n"
        f"\n{TABLE_LINES}\n\n"
        "## 세부 과제\n"
        "### 지역별 추진 계획\n"
        "표 뒤의 문단입니다."
    )


def test_docx_inline_tabs_breaks_and_cells(tmp_path: Path) -> None:
    """A tab inside a paragraph must not look like a table row; cell paragraphs share one cell."""
    blocks = [
        "일 시\t: 2026. 3. 5.(목) 10:00\n장 소\t: 정부세종청사",
        ("table", [["항목", "내용"], ["대상", "만 19~34세\n무주택 청년"]]),
        ("table", [["□ 한 칸짜리 표는 상자입니다"], ["○ 줄이 그대로 남습니다"]]),
    ]
    result = _extract(make_docx(tmp_path / "inline.docx", blocks))
    assert result.text == (
        "일 시 : 2026. 3. 5.(목) 10:00\n장 소 : 정부세종청사\n"
        "\n항목\t내용\n대상\t만 19~34세 무주택 청년\n\n"
        "\n□ 한 칸짜리 표는 상자입니다\n○ 줄이 그대로 남습니다"
    )


def test_docx_revisions_fields_and_text_boxes(tmp_path: Path) -> None:
    """Inserted text counts and deleted text does not; a text box follows its paragraph."""
    paragraph = (
        '<w:p><w:r><w:t xml:space="preserve">유지 </w:t></w:r>'
        '<w:del w:id="1" w:author="a"><w:r><w:delText>삭제됨</w:delText></w:r></w:del>'
        '<w:ins w:id="2" w:author="a"><w:r><w:t>삽입됨</w:t></w:r></w:ins><w:r><w:t xml:space="preserve"> </w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>7</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        '<w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox><w:txbxContent>'
        "<w:p><w:r><w:t>글상자 안의 문장</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>"
        "<w:sdt><w:sdtContent><w:p><w:r><w:t>콘텐츠 컨트롤 안의 문단</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    source = make_docx(tmp_path / "plain.docx", ["MARKER", "끝"])
    with zipfile.ZipFile(source) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    body = members["word/document.xml"].decode()
    marker = "<w:p><w:r><w:t>MARKER</w:t></w:r></w:p>"
    assert marker in body
    members["word/document.xml"] = body.replace(marker, paragraph).encode()
    result = _extract(write_zip(tmp_path / "revised.docx", members))
    assert result.text == "유지 삽입됨 7\n글상자 안의 문장\n콘텐츠 컨트롤 안의 문단\n끝"


def test_docx_not_a_zip() -> None:
    _fails("이것은 워드 문서가 아닙니다".encode(), ".docx", "not a valid .docx document", "zip archive")


def test_docx_legacy_doc() -> None:
    _fails(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), ".docx", "legacy binary .doc")


def test_docx_other_zip(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "other.docx", {"readme.txt": "hello"})
    _fails(path.read_bytes(), ".docx", "[Content_Types].xml")


def test_docx_missing_main_part(tmp_path: Path) -> None:
    source = make_docx(tmp_path / "brief.docx", DOCX_BLOCKS)
    with zipfile.ZipFile(source) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != "word/document.xml"}
    path = write_zip(tmp_path / "broken.docx", members)
    _fails(path.read_bytes(), ".docx", "main document part is missing")


def test_docx_without_text(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "blank.docx", ["", "   ", ("table", [["", ""], ["", ""]])])
    _fails(path.read_bytes(), ".docx", "contains no text")


# --------------------------------------------------------------------------- HWPX

HWPX_PARAGRAPHS = [
    "2026년 청년 주거 지원 정책 브리핑",
    "□ 정부는 청년층의 주거 부담을 줄이기 위해 월세 지원 대상을 확대한다.",
    "○ 일 시\t: 2026. 3. 5.(목)\n○ 장 소\t: 정부세종청사",
]
HWPX_AFTER = ["표 뒤의 문단 & <기호>"]  # escaped in the XML
HWPX_EXPECTED = (
    "2026년 청년 주거 지원 정책 브리핑\n"
    "□ 정부는 청년층의 주거 부담을 줄이기 위해 월세 지원 대상을 확대한다.\n"
    "○ 일 시 : 2026. 3. 5.(목)\n○ 장 소 : 정부세종청사\n"
    f"\n{TABLE_LINES}\n\n"
    "표 뒤의 문단 & <기호>"
)


def test_hwpx_rendition(tmp_path: Path) -> None:
    path = make_hwpx(tmp_path / "brief.hwpx", HWPX_PARAGRAPHS, TABLE, after=HWPX_AFTER)
    result = _extract(path)
    assert result.kind == "hwpx"
    assert result.pages is None
    assert "defusedxml" in result.extractor
    assert result.text == HWPX_EXPECTED


def test_hwpx_sections_follow_the_spine(tmp_path: Path) -> None:
    sections = [["둘째 구역"], ["셋째 구역"]]
    in_order = _extract(make_hwpx(tmp_path / "a.hwpx", ["첫 구역"], extra_sections=sections))
    assert in_order.text == "첫 구역\n\n둘째 구역\n\n셋째 구역"  # each section opens with its empty secPr paragraph
    reordered = _extract(make_hwpx(tmp_path / "b.hwpx", ["첫 구역"], extra_sections=sections, spine=[2, 0, 1]))
    assert reordered.text == "셋째 구역\n\n첫 구역\n\n둘째 구역"


def test_hwpx_without_manifest_sorts_sections_by_number(tmp_path: Path) -> None:
    sections = [[f"구역 {n}"] for n in range(1, 12)]
    result = _extract(make_hwpx(tmp_path / "bare.hwpx", ["구역 0"], extra_sections=sections, with_manifest=False))
    assert [line for line in result.text.split("\n") if line] == [f"구역 {n}" for n in range(12)]


def test_hwpx_owpml_2024_namespace(tmp_path: Path) -> None:
    path = make_hwpx(tmp_path / "ks.hwpx", HWPX_PARAGRAPHS, TABLE, after=HWPX_AFTER, paragraph_ns=HP_2024)
    assert _extract(path).text == HWPX_EXPECTED


def test_hwpx_one_column_table_is_a_box(tmp_path: Path) -> None:
    box = [["□ 추진 배경\n○ 청년 주거비 부담 완화"]]
    result = _extract(make_hwpx(tmp_path / "box.hwpx", ["제목"], box, after=["끝"]))
    assert result.text == "제목\n\n□ 추진 배경\n○ 청년 주거비 부담 완화\n\n끝"


def test_hwpx_nested_objects(tmp_path: Path) -> None:
    """Text boxes and notes follow their paragraph; a table inside a cell is flattened into the cell."""

    def para(*inner: str) -> str:
        return "<hp:p><hp:run>" + "".join(inner) + "</hp:run></hp:p>"

    def cell(*paragraphs: str) -> str:
        return "<hp:tc><hp:subList>" + "".join(paragraphs) + "</hp:subList></hp:tc>"

    def text(value: str) -> str:
        return f"<hp:t>{value}</hp:t>"

    inner = "<hp:tbl><hp:tr>" + cell(para(text("안1"))) + cell(para(text("안2"))) + "</hp:tr></hp:tbl>"
    outer = (
        "<hp:tbl><hp:tr>"
        + cell(para(text("바깥")))
        + cell(para(text("앞"), inner), para(text("뒤")))
        + "</hp:tr></hp:tbl>"
    )
    box = "<hp:rect><hp:drawText><hp:subList>" + para(text("글상자 내용")) + "</hp:subList></hp:drawText></hp:rect>"
    note = "<hp:ctrl><hp:footNote><hp:subList>" + para(text("각주 내용")) + "</hp:subList></hp:footNote></hp:ctrl>"
    marks = text('A<hp:markpenBegin color="#FFFF00"/>B<hp:markpenEnd/>C<hp:nbSpace/>D<hp:fwSpace/>E<hp:hyphen/>F')
    section = (
        f'<hs:sec xmlns:hs="{HS_2011}" xmlns:hp="{HP_2011}">'
        + para(text("본문 시작"), box)
        + para(text("각주 앞"), note, text(" 각주 뒤"))
        + para(outer)
        + para(marks)
        + "</hs:sec>"
    )
    result = _extract(write_zip(tmp_path / "nested.hwpx", {"Contents/section0.xml": section}))
    assert result.text == (
        "본문 시작\n글상자 내용\n각주 앞 각주 뒤\n각주 내용\n\n바깥\t앞 안1 안2 뒤\n\nABC\u00a0D\u3000E-F"
    )


def test_hwpx_legacy_hwp() -> None:
    _fails(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), ".hwpx", "legacy binary .hwp")
    # a real HWP 5.0 file named .hwpx is told apart from other OLE files
    _fails((HWP_DIR / "sample-2.hwp").read_bytes(), ".hwpx", "binary .hwp (HWP 5.0) file", "real extension (.hwp)")


def test_hwpx_not_a_zip() -> None:
    _fails(b"PK\x03\x04 broken", ".hwpx", "not a valid .hwpx document", "zip archive")


def test_hwpx_without_sections(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "empty.hwpx", {"mimetype": "application/hwp+zip", "Contents/header.xml": "<head/>"})
    _fails(path.read_bytes(), ".hwpx", "no Contents/section*.xml")


def test_hwpx_malformed_xml(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bad.hwpx", {"Contents/section0.xml": "<hs:sec><hp:p>끝나지 않은"})
    _fails(path.read_bytes(), ".hwpx", "Contents/section0.xml", "not well-formed")


def test_hwpx_refuses_xml_entities(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE sec [<!ENTITY a "하하하하하하하하"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><sec>&c;</sec>'
    )
    path = write_zip(tmp_path / "laughs.hwpx", {"Contents/section0.xml": laughs})
    _fails(path.read_bytes(), ".hwpx", "entities")


@pytest.mark.parametrize("member", ["../evil.xml", "Contents/../../evil.xml", "/etc/evil.xml", "C:/evil.xml"])
def test_archive_unsafe_member_paths(tmp_path: Path, member: str) -> None:
    path = make_hwpx(tmp_path / "ok.hwpx", ["정상 문단"])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(member, "x")
    _fails(path.read_bytes(), ".hwpx", "unsafe member path")


def test_archive_compression_bomb(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bomb.docx", {"word/document.xml": bytes(20 << 20)})
    assert path.stat().st_size < 100_000
    _fails(path.read_bytes(), ".docx", "compression ratio")


def test_archive_unpacked_size_limit(tmp_path: Path) -> None:
    path = make_hwpx(tmp_path / "big.hwpx", HWPX_PARAGRAPHS, TABLE)
    _fails(path.read_bytes(), ".hwpx", "limit of 1,000", max_unpacked_bytes=1000)
    assert _extract(path, max_unpacked_bytes=1 << 20).text


def test_hwpx_without_text(tmp_path: Path) -> None:
    path = make_hwpx(tmp_path / "blank.hwpx", ["", "  "], [["", ""], ["", ""]])
    _fails(path.read_bytes(), ".hwpx", "contains no text")


# --------------------------------------------------------------------------- HWP (binary HWP 5.0)
# Real files written by 한글 (tests/fixtures/hwp/SOURCES.md); three have the .hml (XML) export of the same
# document, read here with defusedxml as an independent account of their text.

_HML_INLINE = {"TAB": " ", "LINEBREAK": "\n", "HYPEN": "-", "NBSPACE": "\u00a0", "FWSPACE": "\u3000"}
_HML_NOT_BODY = {"HEADER", "FOOTER", "HIDDENCOMMENT"}


def _hml_text(element: Element) -> str:
    """Text of an HWPML element: ``CHAR`` runs with their inline marks, a space around every paragraph."""
    if element.tag in _HML_NOT_BODY:
        return ""
    if element.tag == "CHAR":
        return (element.text or "") + "".join(_HML_INLINE.get(c.tag, "") + (c.tail or "") for c in element)
    inner = "".join(_hml_text(child) for child in element)
    return f" {inner} " if element.tag == "P" else inner


def _hml_body(stem: str) -> Element:
    body = parse_xml(HWP_DIR / f"{stem}.hml").getroot().find("BODY")
    assert body is not None
    return body


def _hwp(stem: str) -> Extracted:
    return _extract(HWP_DIR / f"{stem}.hwp")


@pytest.mark.parametrize("stem", ["sample-2", "table-simple-1", "text-2"])
def test_hwp_text_matches_its_hml_twin(stem: str) -> None:
    result = _hwp(stem)
    assert result.kind == "hwp" and result.pages is None
    assert result.extractor.startswith("hwp5 record reader + olefile ")
    expected = _hml_text(_hml_body(stem)).split()
    assert len(expected) > 10
    assert result.text.split() == expected


@pytest.mark.parametrize("stem", ["sample-2", "table-simple-1"])
def test_hwp_tables_are_rows_of_cells(stem: str) -> None:
    """Each table row is one tab-separated line, its cells those of the .hml export (merged cells once)."""
    expected = []
    for row in _hml_body(stem).iter("ROW"):
        cells = [" ".join(_hml_text(cell).split()) for cell in row.findall("CELL")]
        if any(cells):
            expected.append(cells)
    lines = _hwp(stem).text.split("\n")
    rows = [[" ".join(cell.split()) for cell in line.split("\t")] for line in lines if "\t" in line]
    assert rows == expected
    assert len(rows) >= 5


def test_hwp_report_rendition() -> None:
    """A hand-checked excerpt: paragraphs as lines, the table framed by empty lines, row by row."""
    text = _hwp("sample-2").text
    assert text.startswith("2011년 5월 8일, 영국 식품규격청(FSA)은 비타민(Vitamin)과 미네랄(Mineral)을 과량 섭취하면")
    assert (
        "\n※ 비타민 1일 영양권장량\n\n구분\t권장량\t기준치\t저함량\t비고\n비타민 A\t700\t700\t150\t\n"
        "비타민 C\t70\t55\t50\t\n비타민 B3\t13\t13\t10\t\n비타민 B6\t1.45\t1.5\t1\t\n합계\t784\t770\t211\t\n\n"
    ) in text
    assert text.endswith(
        "\n향후 조치 및 계획\n식품의약품안전청에서는 일부 비타민의 과잉 섭취(Excessive Intake)에 의한 부작용 우려 및 "
        "의약품과의 중복 관리로 인한 혼동을 방지하기 위하여 올해부터 영양 보충용 제품"
        "(Supplemental Nutrition Products)의 상한선을 고시할 계획(計劃)이다.\n\n고찬엽 기자(mrkocy@kfda.go.kr)"
    )


def test_hwp_control_characters() -> None:
    """An uncompressed file: tab -> space, line break, hyphen, non-breaking and fixed-width spaces kept."""
    assert _hwp("text-2").text == (
        "CHARMARKPENCHAR\nCHA[RMARK]PENCHAR\nCHAR[MARK]PENCHAR\nTAB TA[B L]INEBREAK\nHYPEN-HYPEN-CHAR\n"
        "NBSPACE\u00a0FWSPACE\u3000NBSPACE\u3000SPACE CHAR"
    )


def test_hwp_text_boxes_follow_their_paragraph() -> None:
    text = _hwp("shape-text-1").text
    assert text.startswith(
        "안녕하세요\n만나서\n반갑습니다.\n우와 타원이다!\n동그란 타원 안에 글을 적어 봐요\n123-456-7890\n"
    )
    assert "\n글상자 1\n글상자 2\n다각형 글상자\nㅁㄴㅇㄹ\n" in text


def test_hwp_form_with_layout_tables() -> None:
    """A KAIST form: label cells as written (균등 분할 spacing kept), the notes after the form, the checklist rows."""
    text = _hwp("kaist-585").text
    assert text.startswith(
        "창의학습관 사용신청서 (동아리용)\t확인\t학 적 팀\t학생지원팀\n단 체 명\t□ 정식동아리  □ 가등록 동아리\n"
    )
    assert "\n장    소\t\n" in text
    assert "\n   ※외부인이 참석하는 행사(집회)는 원칙적으로 불허함.\n" in text
    assert "\n점검 항목\t비    고\n" in text
    assert text.endswith("\n열쇠 반납 : 사용 종료 후 즉시 반납 해 주시기 바랍니다.\t")


def test_hwp_headers_and_footers_are_not_body_text() -> None:
    text = _hwp("project_proposal").text
    assert "문서의 제목" in text and "\n표\t내용구분\t내용구분\n" in text
    assert "프로젝트 기획서" not in text  # the page header
    assert "나눔글꼴로 작성되었습니다" not in text  # the page footer


@pytest.mark.parametrize(("bit", "needle"), [(2, "password-protected"), (4, "distribution (배포용)"),
                                             (16, "DRM-protected"), (256, "password-protected")])
def test_hwp_protected_documents(tmp_path: Path, bit: int, needle: str) -> None:
    _fails(rewritten_hwp(tmp_path, "sample-2", "FileHeader", with_hwp_flag(bit)), ".hwp", needle)


def test_hwp_not_an_hwp_file(tmp_path: Path) -> None:
    _fails("그냥 텍스트".encode(), ".hwp", "not an HWP 5.0 document")
    _fails(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + bytes(100), ".hwp", "HWP 3.0", "not supported")
    hwpx = make_hwpx(tmp_path / "really.hwpx", ["한글 문단"])
    _fails(hwpx.read_bytes(), ".hwp", "zip archive", "(.hwpx)")
    other_ole = rewritten_hwp(tmp_path, "sample-2", "FileHeader", lambda h: b"Other Compound File".ljust(len(h), b"\0"))
    _fails(other_ole, ".hwp", "no HWP signature")


def test_hwp_corrupt_and_truncated(tmp_path: Path) -> None:
    data = (HWP_DIR / "sample-2.hwp").read_bytes()
    _fails(data[: len(data) // 2], ".hwp", "corrupt or truncated")
    _fails(rewritten_hwp(tmp_path, "sample-2", "BodyText/Section0", lambda raw: bytes(range(256)) * (len(raw) // 256)
                      + bytes(len(raw) % 256)), ".hwp", "BodyText/Section0", "does not decompress")
    _fails(rewritten_hwp(tmp_path, "sample-2", "BodyText/Section0", _cut_deflate), ".hwp", "compressed data ends early")


def _cut_deflate(raw: bytes) -> bytes:
    """The first part of the section, deflated without its final block, padded with empty stored blocks."""
    body = zlib.decompress(raw, -15)
    for cut in range(len(body) // 2, 0, -1):
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = packer.compress(body[:cut]) + packer.flush(zlib.Z_SYNC_FLUSH)
        if len(head) <= len(raw) and (len(raw) - len(head)) % 5 == 0:
            return head + b"\x00\x00\x00\xff\xff" * ((len(raw) - len(head)) // 5)
    raise AssertionError("no cut fits the stream")


def test_hwp_deflate_bomb_and_size_limit(tmp_path: Path) -> None:
    def bomb(raw: bytes) -> bytes:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = packer.compress(bytes(2 << 20)) + packer.flush()  # 2 MiB of zeros in ~2 KB
        assert len(packed) <= len(raw)
        return packed + bytes(len(raw) - len(packed))

    _fails(rewritten_hwp(tmp_path, "shape-text-1", "BodyText/Section0", bomb), ".hwp", "absurd compression ratio")
    path = HWP_DIR / "sample-2.hwp"
    _fails(path.read_bytes(), ".hwp", "limit of 1,000", max_unpacked_bytes=1000)
    assert _extract(path, max_unpacked_bytes=1 << 20).text


def test_hwp_records_nested_too_deep(tmp_path: Path) -> None:
    def deep(raw: bytes) -> bytes:  # text-2 is stored uncompressed: one record at level MAX_LEVEL + 1
        return struct.pack("<I", 66 | (MAX_LEVEL + 1) << 10 | 0xFFF << 20) + struct.pack("<I", len(raw) - 8) + bytes(
            len(raw) - 8)

    _fails(rewritten_hwp(tmp_path, "text-2", "BodyText/Section0", deep), ".hwp", "nests objects more than")


def test_hwp_in_the_extraction_process(tmp_path: Path) -> None:
    """The child process the service uses returns the same rendition and the same refusals."""
    data = (HWP_DIR / "sample-2.hwp").read_bytes()
    assert extract_isolated(data, ".hwp", "sample-2.hwp", 60, 1024).text == _hwp("sample-2").text
    protected = rewritten_hwp(tmp_path, "sample-2", "FileHeader", with_hwp_flag(2))
    with pytest.raises(CorpusError, match="password-protected"):
        extract_isolated(protected, ".hwp", "sample-2.hwp", 60, 1024)
