"""Press releases (보도자료): the government release form, through the parser and the real add + search path.

The fixture is hand-written (no release's text is copied) and reproduces the traits seen in the
releases of three publishers (research/structure/layouts-press-releases.md): a header table (기관,
보도자료, 보도시점 / 배포 cells with their dates), a title wrapped over two lines, a subtitle
"- … -" between lone dashes and two more, a body extracted run by run from HWPX (a line break at every
inline-format boundary, particles alone on their line), a contact table one cell per line, and a
붙임 part whose title is on the next line (a title ending in "개요", which is no sentence).
"""

from __future__ import annotations

import re
from pathlib import Path

from briefsearch.build.library import guess_title
from briefsearch.ingest.sources import read_source
from briefsearch.structure.blocks import COVER_LABEL
from briefsearch.structure.layouts import active_families
from briefsearch.structure.parser import parse_document
from briefsearch.structure.releases import stated_title
from briefsearch.types import SourceText

RELEASE = """가상데이터보호청
보도자료
보도시점
2026. 3. 5.(목) 12:00
(2026. 3. 5.(목) 석간)
배포
2026. 3. 4.(수) 18:00
가상데이터보호청, 드론 영상 속 얼굴 정보
처리 기준 마련
-
드론 촬영 사업자
3곳
에 시정명령
-
비행 구역 공지도 의무화
- 원본 영상은 30일 안에 파기
가상데이터보호청
(청장 홍길동, 이하 ‘보호청’)
은
3월 4일
전체회의를 열고, 드론으로 촬영한 영상에서
얼굴 정보
를
흐리게 처리하지 않은 사업자 3곳에 시정명령을 내렸다고 밝혔다.
보호청은
촬영 영상
을
30일 이내에 파기하도록 하는 기준도 함께 마련하였다.
이 기준은 드론의 ‘A
I 촬영 보조 기능’
에
똑같이 적용된다.
[참고] 드론 촬영 신고 현황
ㅇ 올해 신고된 드론 촬영은 1,200건이다.
□ 앞으로 드론 사업자는 촬영 전
비행 구역과 목적을
누리집에 공지해야 한다.
담당 부서
조사국
책임자
과  장
김철수
(02-1234-5678)
조사과
담당자
사무관
이영희
(02-1234-5679)
붙임
드론 영상 처리 기준 개요
시 간
주 요 내 용
ㅇ 얼굴 정보는 촬영하는 즉시 흐리게 처리하고, 번호판도 같은 방법으로 가린다.
ㅇ 원본 영상은 촬영한 날부터 30일 이내에 파기하고, 파기 기록을 1년간 보관한다.
"""
TITLE = "가상데이터보호청, 드론 영상 속 얼굴 정보 처리 기준 마련"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _parse(tmp_path: Path, korean, text: str = RELEASE):
    path = tmp_path / "release.txt"
    path.write_text(text, encoding="utf-8")
    source: SourceText = read_source(path)
    return source, parse_document(source, joiner=korean.needs_space)


def test_release_header_title_and_contacts_are_metadata(tmp_path: Path, korean) -> None:
    _source, parsed = _parse(tmp_path, korean)
    assert "press" in parsed.layouts
    assert _squash(parsed.title) == _squash(TITLE)
    meta = [b.text.text for b in parsed.blocks if b.metadata]
    assert meta[0].startswith("가상데이터보호청 보도자료 보도시점 2026. 3. 5.(목) 12:00")
    assert "배포 2026. 3. 4.(수) 18:00" in meta[0]
    assert _squash(meta[1]) == _squash(TITLE)
    assert meta[2].startswith("담당 부서 조사국 책임자") and meta[2].endswith("(02-1234-5679)")
    assert all(b.section == (COVER_LABEL,) for b in parsed.blocks if b.metadata)
    body = [b for b in parsed.blocks if not b.metadata and b.kind != "heading"]
    assert not any("02-1234" in b.text.text for b in body)


def test_subtitle_and_format_run_breaks(tmp_path: Path, korean) -> None:
    _source, parsed = _parse(tmp_path, korean)
    body = [b.text.text for b in parsed.blocks if not b.metadata and b.kind == "text"]
    # the subtitle between lone dashes is one unit, its closing dash dropped, the body not glued to it
    assert _squash(body[0]) == "-드론촬영사업자3곳에시정명령"
    # a line between two subtitles is one (its dash lost); a "- …" subtitle ends at its line
    assert body[1] == "비행 구역 공지도 의무화" and body[2] == "- 원본 영상은 30일 안에 파기"
    body = body[2:]
    # runs broken at every inline-format boundary are one sentence again; a particle joins its word
    assert body[1].startswith("가상데이터보호청 (청장 홍길동, 이하 ‘보호청’)은 3월 4일")  # a particle joins its word
    assert "얼굴 정보를 흐리게 처리하지 않은 사업자" in body[1] and body[1].endswith("밝혔다.")
    assert body[2] == "보호청은 촬영 영상을 30일 이내에 파기하도록 하는 기준도 함께 마련하였다."
    # a run that breaks a word ("‘A" / "I 촬영 …") opens no chapter "I"; a particle joins the quote before it
    assert body[3].startswith("이 기준은 드론의 ‘A") and body[3].endswith("기능’에 똑같이 적용된다.")
    assert next(t for t in body if t.startswith("□ 앞으로")).endswith("공지해야 한다.")
    assert not any(b.kind == "heading" and b.line_no < 40 for b in parsed.blocks)


def test_a_box_inside_the_body_is_no_attachment_part(tmp_path: Path, korean) -> None:
    """붙임/참고 parts follow the contact table; a "[참고]" box before it stays in the body."""
    _source, parsed = _parse(tmp_path, korean)
    box = next(b for b in parsed.blocks if b.text.text.startswith("[참고]"))
    assert box.kind == "text" and box.section == ()
    item = next(b for b in parsed.blocks if b.text.text.startswith("ㅇ 올해"))
    assert item.section == ()


def test_attachment_part_is_a_section(tmp_path: Path, korean) -> None:
    _source, parsed = _parse(tmp_path, korean)
    annex = [b for b in parsed.blocks if b.kind == "text" and b.text.text.startswith("ㅇ") and b.line_no > 50]
    assert len(annex) == 2
    assert all(b.section == ("붙임 드론 영상 처리 기준 개요",) for b in annex)
    # a release has no summary part: the table header "주 요 내 용" opens no 요약 section
    assert not any("요약" in b.section for b in parsed.blocks)
    body = next(b for b in parsed.blocks if b.kind == "text" and b.text.text.startswith("보호청은"))
    assert body.section == ()


def test_catalogue_title_is_the_stated_title() -> None:
    assert _squash(stated_title(RELEASE)) == _squash(TITLE)
    assert _squash(guess_title(RELEASE, "release")) == _squash(TITLE)
    # a briefing keeps its first line; a lone "붙임" or "보도자료" line does not make a press release
    briefing = "중국 과학기술 정책 동향\n\n보도자료\n붙임\n□ 내용"
    assert stated_title(briefing) == "" and guess_title(briefing, "x") == "중국 과학기술 정책 동향"
    assert "press" not in [f.name for f in active_families(briefing.split("\n"))]


def test_lines_are_joined_only_in_text_broken_at_runs(tmp_path: Path, korean) -> None:
    """Without the trait (particles alone on a line, or mostly short fragments), short lines stay apart."""
    # one paragraph a line, of many lengths (not hard-wrapped at a width)
    sentences = [f"가상 항목 {n}번은 {'드론 영상 ' * n}보관 기준이다." for n in range(1, 25)]
    plain = "\n".join([*sentences[:12], "촬영 목적", "비행 구역", *sentences[12:]]) + "\n"
    _source, parsed = _parse(tmp_path, korean, plain)
    texts = [b.text.text for b in parsed.blocks]
    assert "촬영 목적" in texts and "비행 구역" in texts
    # the same release with its particle lines dropped is still run-broken: most lines are short fragments
    pieces_dropped = "\n".join(line for line in RELEASE.split("\n") if line not in ("은", "를", "을", "에"))
    _source, parsed = _parse(tmp_path, korean, pieces_dropped)
    body = [b.text.text for b in parsed.blocks if not b.metadata and b.kind == "text"]
    assert any(t.startswith("가상데이터보호청 (청장 홍길동, 이하 ‘보호청’) 3월 4일") for t in body)
