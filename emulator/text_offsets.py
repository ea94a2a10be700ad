"""Offsets in the three string index types the Language API speaks.

Python `str` indexes code points (`UnicodeCodePoint`). The authoring API labels in UTF-16 code
units (`Utf16CodeUnit`), and the runtime defaults to extended grapheme clusters
(`TextElements_v8`). An astral-plane character is one code point but two UTF-16 units; a ZWJ
emoji sequence, a flag or a letter with combining marks is several code points but one grapheme.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

import regex

UTF16_CODE_UNIT = "Utf16CodeUnit"
UNICODE_CODE_POINT = "UnicodeCodePoint"
TEXT_ELEMENTS_V8 = "TextElements_v8"
STRING_INDEX_TYPES = (TEXT_ELEMENTS_V8, UNICODE_CODE_POINT, UTF16_CODE_UNIT)

_GRAPHEME = regex.compile(r"\X")


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def grapheme_count(text: str) -> int:
    return sum(1 for _ in _GRAPHEME.finditer(text))


def length_in(text: str, index_type: str) -> int:
    """The length of `text` counted in `index_type` units."""
    if index_type == UNICODE_CODE_POINT:
        return len(text)
    if index_type == UTF16_CODE_UNIT:
        return utf16_length(text)
    if index_type == TEXT_ELEMENTS_V8:
        return grapheme_count(text)
    raise ValueError(f"unknown string index type {index_type!r}")


class OffsetMap:
    """Converts offsets between code points and the other index types for one text.

    Built once per text so converting many spans costs a binary search each.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        # utf16_before[i] = UTF-16 units before code point i (len(text) + 1 entries).
        self._utf16_before = [0, *accumulate(2 if ord(char) > 0xFFFF else 1 for char in text)]
        self._grapheme_starts: list[int] | None = None

    def _graphemes(self) -> list[int]:
        if self._grapheme_starts is None:
            self._grapheme_starts = [match.start() for match in _GRAPHEME.finditer(self.text)]
        return self._grapheme_starts

    def utf16_from_code_point(self, index: int) -> int:
        return self._utf16_before[index]

    def code_point_from_utf16(self, offset: int) -> int:
        """The code point at UTF-16 `offset`; an offset inside a surrogate pair maps to its character."""
        if offset < 0 or offset > self._utf16_before[-1]:
            raise ValueError(f"UTF-16 offset {offset} is outside a text of {self._utf16_before[-1]} units")
        return bisect_right(self._utf16_before, offset) - 1

    def grapheme_from_code_point(self, index: int) -> int:
        """The grapheme holding code point `index` (the end of the text maps to the grapheme count)."""
        starts = self._graphemes()
        if index >= len(self.text):
            return len(starts)
        return bisect_right(starts, index) - 1

    def from_code_points(self, start: int, end: int, index_type: str) -> tuple[int, int]:
        """(offset, length) in `index_type` of the code-point span [start, end)."""
        if index_type == UNICODE_CODE_POINT:
            return start, end - start
        if index_type == UTF16_CODE_UNIT:
            first = self.utf16_from_code_point(start)
            return first, self.utf16_from_code_point(end) - first
        if index_type == TEXT_ELEMENTS_V8:
            first = self.grapheme_from_code_point(start)
            # A span ending inside a grapheme still covers that whole grapheme.
            last = self.grapheme_from_code_point(end - 1) + 1 if end > start else first
            return first, last - first
        raise ValueError(f"unknown string index type {index_type!r}")

    def to_code_points(self, offset: int, length: int) -> tuple[int, int]:
        """The code-point span [start, end) of a UTF-16 (offset, length)."""
        return self.code_point_from_utf16(offset), self.code_point_from_utf16(offset + length)
