"""MappedText keeps, for every character of cleaned text, the exact source span it came from."""

from __future__ import annotations

import re
import unicodedata

import pytest

from briefsearch.text.mapped import MappedText, nfc_mapped


def spans(m: MappedText) -> list[tuple[int, int]]:
    return list(zip(m.starts, m.ends, strict=True))


def assert_consistent(m: MappedText) -> None:
    assert len(m.text) == len(m.starts) == len(m.ends)
    assert all(a <= b for a, b in spans(m))


# ------------------------------------------------------------------ identity, literal, slicing


def test_from_source_is_identity_mapping_with_offset() -> None:
    src = "중국 과학기술"
    m = MappedText.from_source(src, offset=10)
    assert m.text == src
    assert spans(m) == [(10 + i, 11 + i) for i in range(len(src))]
    assert m.span() == (10, 10 + len(src))
    assert len(m) == len(src)


def test_from_source_every_char_slices_back_to_itself() -> None:
    raw = "머리말\n본문 첫 줄입니다.\t끝"
    m = MappedText.from_source(raw)
    for ch, a, b in zip(m.text, m.starts, m.ends, strict=True):
        assert raw[a:b] == ch


def test_literal_maps_every_char_to_whole_span() -> None:
    lit = MappedText.literal(" | ", 5, 9)
    assert lit.text == " | "
    assert spans(lit) == [(5, 9)] * 3
    zero = MappedText.literal(" ", 7, 7)
    assert spans(zero) == [(7, 7)]


def test_slicing_keeps_spans_of_the_slice() -> None:
    raw = "abc 한국어 def"
    m = MappedText.from_source(raw, offset=100)
    part = m[4:7]
    assert part.text == "한국어"
    assert spans(part) == [(104, 105), (105, 106), (106, 107)]
    assert part.span() == (104, 107)
    assert m[-3:].text == "def" and m[-3:].starts == [108, 109, 110]


def test_non_slice_index_is_rejected() -> None:
    with pytest.raises(TypeError):
        MappedText.from_source("abc")[0]  # type: ignore[index]


def test_empty_text_has_no_span() -> None:
    with pytest.raises(ValueError):
        MappedText().span()


def test_concat_and_add_keep_each_parts_mapping() -> None:
    a = MappedText.from_source("가나", 0)
    b = MappedText.literal(" ", 2, 2)
    c = MappedText.from_source("다", 40)
    joined = MappedText.concat([a, b, c])
    assert joined.text == "가나 다"
    assert spans(joined) == [(0, 1), (1, 2), (2, 2), (40, 41)]
    assert spans(a + b + c) == spans(joined)
    assert joined.span() == (0, 41)


def test_strip_drops_whitespace_and_its_spans() -> None:
    m = MappedText.from_source("  본문 \n", offset=3)
    s = m.strip()
    assert s.text == "본문"
    assert spans(s) == [(5, 6), (6, 7)]
    assert MappedText.from_source(" \t ").strip().text == ""


# ------------------------------------------------------------------ sub()


def test_sub_kept_group_keeps_source_positions() -> None:
    raw = "가 **굵은 글씨** 나"
    m = MappedText.from_source(raw).sub(re.compile(r"\*\*(.+?)\*\*"), lambda mt: [1])
    assert m.text == "가 굵은 글씨 나"
    assert_consistent(m)
    # every output character is an untouched source character
    for ch, a, b in zip(m.text, m.starts, m.ends, strict=True):
        assert b - a == 1
        assert raw[a:b] == ch
    bold = m.text.index("굵")
    assert m.starts[bold] == raw.index("굵")


def test_sub_several_groups_and_literal_piece() -> None:
    raw = "기간 2024-2027 동안"
    pattern = re.compile(r"(\d{4})-(\d{4})")

    def repl(mt: re.Match[str]) -> list:
        dash = mt.start(1) + 4  # position of "-" in the text being substituted
        return [1, ("~", dash, dash + 1), 2]

    m = MappedText.from_source(raw).sub(pattern, repl)
    assert m.text == "기간 2024~2027 동안"
    assert_consistent(m)
    tilde = m.text.index("~")
    assert (m.starts[tilde], m.ends[tilde]) == (raw.index("-"), raw.index("-") + 1)
    for i, ch in enumerate(m.text):
        if i != tilde:
            assert raw[m.starts[i] : m.ends[i]] == ch


def test_sub_groups_can_be_reordered_and_unmatched_groups_are_skipped() -> None:
    raw = "A1 B"
    m = MappedText.from_source(raw).sub(re.compile(r"([A-Z])(\d)?"), lambda mt: [2, 1])
    assert m.text == "1A B"
    assert spans(m) == [(1, 2), (0, 1), (2, 3), (3, 4)]


def test_sub_string_result_maps_onto_whole_match() -> None:
    raw = "R&amp;D 투자"
    m = MappedText.from_source(raw).sub(re.compile(r"&amp;"), lambda mt: "&")
    assert m.text == "R&D 투자"
    amp = m.text.index("&")
    assert (m.starts[amp], m.ends[amp]) == (1, 6)
    assert raw[m.starts[amp] : m.ends[amp]] == "&amp;"
    # the characters after the replacement keep their own positions
    assert raw[m.starts[amp + 1] : m.ends[amp + 1]] == "D"


def test_sub_empty_string_deletes_match() -> None:
    raw = "앞<b>굵게</b>뒤"
    m = MappedText.from_source(raw).sub(re.compile(r"</?b>"), lambda mt: "")
    assert m.text == "앞굵게뒤"
    assert [raw[a:b] for a, b in spans(m)] == list("앞굵게뒤")


def test_sub_zero_width_literal_is_anchored_at_match_position() -> None:
    raw = "가나"
    m = MappedText.from_source(raw, offset=20).sub(re.compile(r"(?<=가)"), lambda mt: [(" ", mt.start(), mt.start())])
    assert m.text == "가 나"
    assert spans(m) == [(20, 21), (21, 21), (21, 22)]


def test_sub_without_match_returns_same_mapping() -> None:
    m = MappedText.from_source("변화 없음", 7)
    out = m.sub(re.compile(r"\d+"), lambda mt: "")
    assert out.text == m.text and spans(out) == spans(m)


def test_chained_subs_compose_to_original_offsets() -> None:
    """Offsets survive several rewrites: each step works in the previous step's coordinates."""
    raw = "x \\*주석\\* 및 **강조** y"
    m = MappedText.from_source(raw, offset=1000)
    m = m.sub(re.compile(r"\\([*])"), lambda mt: [1])
    m = m.sub(re.compile(r"\*\*(.+?)\*\*"), lambda mt: [1])
    assert m.text == "x *주석* 및 강조 y"
    for ch, a, b in zip(m.text, m.starts, m.ends, strict=True):
        assert raw[a - 1000 : b - 1000] == ch


# ------------------------------------------------------------------ collapse_spaces


def test_collapse_spaces_runs_become_one_space_mapped_to_the_run() -> None:
    raw = "  가나 \t\n 다  라 "
    m = MappedText.from_source(raw).collapse_spaces()
    assert m.text == "가나 다 라"
    assert_consistent(m)
    first_space = m.text.index(" ")
    # the run " \t\n " (4 chars) collapsed to one space spanning all of it
    assert raw[m.starts[first_space] : m.ends[first_space]] == " \t\n "
    # the double space before 라 likewise
    last_space = m.text.rindex(" ")
    assert raw[m.starts[last_space] : m.ends[last_space]] == "  "
    for i, ch in enumerate(m.text):
        if ch != " ":
            assert raw[m.starts[i] : m.ends[i]] == ch


def test_collapse_spaces_keeps_single_spaces_as_is() -> None:
    raw = "하나 둘 셋"
    m = MappedText.from_source(raw, 5).collapse_spaces()
    assert m.text == raw
    assert spans(m) == spans(MappedText.from_source(raw, 5))


def test_collapse_spaces_of_blank_text_is_empty() -> None:
    assert MappedText.from_source(" \t\n ").collapse_spaces().text == ""


# ------------------------------------------------------------------ nfc_mapped


def test_nfc_mapped_composes_decomposed_hangul() -> None:
    nfc = "한국어 문서"
    raw = unicodedata.normalize("NFD", nfc)
    assert raw != nfc and len(raw) > len(nfc)
    m = nfc_mapped(raw)
    assert m.text == nfc
    assert_consistent(m)
    for ch, a, b in zip(m.text, m.starts, m.ends, strict=True):
        assert unicodedata.normalize("NFC", raw[a:b]) == ch
    # the spans tile the source: nothing lost, nothing covered twice
    assert m.starts[0] == 0 and m.ends[-1] == len(raw)
    assert all(m.ends[i] == m.starts[i + 1] for i in range(len(m) - 1))
    # 한 = ᄒ + ᅡ + ᆫ: three jamo
    assert (m.starts[0], m.ends[0]) == (0, 3)


def test_nfc_mapped_mixed_text_with_latin_combining_marks_and_newlines() -> None:
    nfc = "Café 보고서\n2024년 값은 각각 달라졌다."
    raw = unicodedata.normalize("NFD", nfc)
    m = nfc_mapped(raw)
    assert m.text == nfc
    for ch, a, b in zip(m.text, m.starts, m.ends, strict=True):
        assert unicodedata.normalize("NFC", raw[a:b]) == ch
    # unchanged characters keep width-1 spans
    nl = m.text.index("\n")
    assert raw[m.starts[nl] : m.ends[nl]] == "\n"


def test_nfc_mapped_composes_syllable_plus_trailing_jamo() -> None:
    raw = "하" + "\u11ab" + "다"  # precomposed 하 followed by a conjoining final ㄴ
    m = nfc_mapped(raw)
    assert m.text == "한다"
    assert spans(m) == [(0, 2), (2, 3)]


def test_nfc_mapped_on_nfc_text_is_identity() -> None:
    raw = "이미 NFC인 문장."
    m = nfc_mapped(raw)
    assert m.text == raw
    assert spans(m) == spans(MappedText.from_source(raw))


def test_nfc_mapped_then_slice_maps_back_into_nfd_source() -> None:
    nfc = "중국의 미래산업 육성정책"
    raw = "머리 " + unicodedata.normalize("NFD", nfc)
    m = nfc_mapped(raw)
    i = m.text.index("미래산업")
    word = m[i : i + 4]
    a, b = word.span()
    assert unicodedata.normalize("NFC", raw[a:b]) == "미래산업"
