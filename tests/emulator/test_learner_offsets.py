"""Offsets in the three string index types, including astral, ZWJ, flag and combining-mark text."""

from __future__ import annotations

import pytest

from emulator.text_offsets import (
    TEXT_ELEMENTS_V8,
    UNICODE_CODE_POINT,
    UTF16_CODE_UNIT,
    OffsetMap,
    grapheme_count,
    length_in,
    utf16_length,
)

WOMAN_OFFICE_WORKER = "👩\u200d💼"  # 3 code points, 5 UTF-16 units, 1 grapheme
US_FLAG = "🇺🇸"  # 2 code points (regional indicators), 4 UTF-16 units, 1 grapheme
E_ACUTE_COMBINING = "e\u0301"  # 2 code points, 2 UTF-16 units, 1 grapheme
CRLF = "\r\n"  # 2 code points, 2 UTF-16 units, 1 grapheme


@pytest.mark.parametrize(
    ("text", "code_points", "utf16", "graphemes"),
    [
        ("abc", 3, 3, 3),
        ("😀", 1, 2, 1),
        (WOMAN_OFFICE_WORKER, 3, 5, 1),
        (US_FLAG, 2, 4, 1),
        (E_ACUTE_COMBINING, 2, 2, 1),
        (CRLF, 2, 2, 1),
        ("é", 1, 1, 1),
    ],
)
def test_lengths_in_each_index_type(text: str, code_points: int, utf16: int, graphemes: int) -> None:
    assert length_in(text, UNICODE_CODE_POINT) == code_points
    assert length_in(text, UTF16_CODE_UNIT) == utf16 == utf16_length(text)
    assert length_in(text, TEXT_ELEMENTS_V8) == graphemes == grapheme_count(text)


def test_a_span_after_emoji_and_crlf_converts_into_every_mode() -> None:
    prefix = f"{WOMAN_OFFICE_WORKER} {US_FLAG} re{E_ACUTE_COMBINING}sumé{CRLF}Name: "
    text = prefix + "Zoë Núñez 😀!"
    start = len(prefix)
    end = start + len("Zoë Núñez 😀")
    offsets = OffsetMap(text)
    assert offsets.from_code_points(start, end, UNICODE_CODE_POINT) == (start, end - start)
    utf16_offset, utf16_len = offsets.from_code_points(start, end, UTF16_CODE_UNIT)
    assert (utf16_offset, utf16_len) == (utf16_length(prefix), utf16_length("Zoë Núñez 😀"))
    assert text.encode("utf-16-le")[2 * utf16_offset : 2 * (utf16_offset + utf16_len)].decode(
        "utf-16-le"
    ) == ("Zoë Núñez 😀")
    assert offsets.from_code_points(start, end, TEXT_ELEMENTS_V8) == (grapheme_count(prefix), 11)
    # Round trip from UTF-16 back to code points.
    assert offsets.to_code_points(utf16_offset, utf16_len) == (start, end)


def test_a_span_ending_inside_a_grapheme_covers_the_whole_grapheme() -> None:
    text = f"x{E_ACUTE_COMBINING}y"
    assert OffsetMap(text).from_code_points(0, 2, TEXT_ELEMENTS_V8) == (0, 2)


def test_a_utf16_offset_inside_a_surrogate_pair_maps_to_its_character() -> None:
    offsets = OffsetMap("a😀b")
    assert offsets.code_point_from_utf16(2) == 1
    assert offsets.code_point_from_utf16(3) == 2
    with pytest.raises(ValueError):
        offsets.code_point_from_utf16(5)


def test_unknown_index_type_is_refused() -> None:
    with pytest.raises(ValueError):
        OffsetMap("abc").from_code_points(0, 1, "Utf8")
