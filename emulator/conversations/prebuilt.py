"""The few prebuilt entity components the emulator recognises, with resolutions in the runtime's shape.

The service has dozens of prebuilt components built on Microsoft's Recognizers-Text; the
emulator knows a deterministic handful (docs/reference/emulator-fidelity.md):
`Quantity.Number` (digits and English number words up to twenty), `DateTime` (clock times such as
"6pm", "7:30 am", "noon") and `General.Email`. Any other prebuilt category is accepted on import
and simply never matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
_NUMBER_WORDS = {word: index for index, word in enumerate(_WORDS)} | {"a dozen": 12, "dozen": 12}
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])|(?<!\w)("
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_TIME = re.compile(r"(?<!\w)(?:(\d{1,2})(?::(\d{2}))?\s?(am|pm)|(noon|midnight))(?!\w)", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?!\w)")


@dataclass(frozen=True)
class PrebuiltMatch:
    start: int  # code points
    end: int
    resolutions: tuple[dict[str, Any], ...]
    subtype: str


def _numbers(text: str) -> list[PrebuiltMatch]:
    found = []
    for match in _NUMBER.finditer(text):
        if match.group(1):
            literal = match.group(1)
            value: float = float(literal)
            kind = "Decimal" if "." in literal else "Integer"
        else:
            value, kind = _NUMBER_WORDS[match.group(2).lower()], "Integer"
        number = int(value) if kind == "Integer" else value
        resolution = {"resolutionKind": "NumberResolution", "numberKind": kind, "value": number}
        found.append(PrebuiltMatch(match.start(), match.end(), (resolution,), "quantity.number"))
    return found


def _times(text: str) -> list[PrebuiltMatch]:
    found = []
    for match in _TIME.finditer(text):
        if match.group(4):
            hour, minute = (12, 0) if match.group(4).lower() == "noon" else (0, 0)
        else:
            hour, minute = int(match.group(1)) % 12, int(match.group(2) or 0)
            if match.group(3).lower() == "pm":
                hour += 12
            if hour > 23 or minute > 59:
                continue
        timex = f"T{hour:02d}" if minute == 0 else f"T{hour:02d}:{minute:02d}"
        resolution = {
            "resolutionKind": "DateTimeResolution",
            "dateTimeSubKind": "Time",
            "timex": timex,
            "value": f"{hour:02d}:{minute:02d}:00",
        }
        found.append(PrebuiltMatch(match.start(), match.end(), (resolution,), "datetime.time"))
    return found


def _emails(text: str) -> list[PrebuiltMatch]:
    return [PrebuiltMatch(m.start(), m.end(), (), "general.email") for m in _EMAIL.finditer(text)]


RECOGNISERS: dict[str, Callable[[str], list[PrebuiltMatch]]] = {
    "Quantity.Number": _numbers,
    "DateTime": _times,
    "General.Email": _emails,
}


# GET /projects/global/prebuilt-entities (ConversationalAnalysisAuthoringPrebuiltEntity).
DESCRIPTIONS = {
    "Quantity.Number": ("Cardinal numbers in digits or English words", "3, 2.5, twelve, a dozen"),
    "DateTime": ("Clock times", "6pm, 7:30 am, noon"),
    "General.Email": ("Email addresses", "user@example.com"),
}


def catalogue() -> list[dict[str, str]]:
    return [
        {"category": category, "description": description, "examples": examples}
        for category, (description, examples) in DESCRIPTIONS.items()
    ]


def recognise(category: str, text: str) -> list[PrebuiltMatch]:
    recogniser = RECOGNISERS.get(category)
    return recogniser(text) if recogniser is not None else []
