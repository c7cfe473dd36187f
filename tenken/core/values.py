"""Indicator values as departments write them: 10,000人, +1.6%(※), 5,000人以上, １０，０００.

A value is either a `Quantity` (a number with its unit and the marks around it) or free text
(実施, 構築完了 …). Parsing is exact (Decimal) so that formatting round-trips.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import NamedTuple

_NOTE_MARKS = ("(※)", "※")
_NUMBER = re.compile(
    r"^(?P<approx>約)?\s*(?P<sign>[+\-−])?\s*"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s*(?P<unit>.*?)\s*(?P<qualifier>以上|以下|超|未満)?$"
)
_DIGIT = re.compile(r"\d")
# Characters that NFKC or the note mark would change: full- and half-width forms, U+2212 minus, ※.
_NEEDS_NORMALIZING = re.compile("[\u3000\u2212\uff01-\uffef※]")


class Quantity(NamedTuple):
    """A number with its unit, as printed in a plan or a result."""

    value: Decimal
    unit: str = ""
    signed: bool = False  # written with an explicit sign: +1%
    approx: bool = False  # 約
    qualifier: str = ""  # 以上, 以下 …
    note: bool = False  # (※): an explanatory note follows in the reasons column



def normalize(text: str) -> str:
    """Full-width digits, commas, signs and percent to ASCII; surrounding blanks dropped."""
    return unicodedata.normalize("NFKC", text).replace("−", "-").strip()


def strip_note(text: str) -> tuple[str, bool]:
    """Split a trailing note mark off: '対象順次拡大(※)' -> ('対象順次拡大', True)."""
    for mark in _NOTE_MARKS:
        if text.endswith(mark):
            return text[: -len(mark)].rstrip(), True
    return text, False


def parse_value(text: str) -> Quantity | str:
    """Parse a written value into a Quantity, or return the normalised text if it is not one."""
    # Most values need neither NFKC nor note handling; checking first halves the cost on large plans.
    if _NEEDS_NORMALIZING.search(text):
        body, note = strip_note(normalize(text))
    else:
        body, note = text.strip(), False
    match = _NUMBER.match(body)
    if not match or _DIGIT.search(match["unit"]):
        # '3システム中2システム' is prose, not a quantity with unit 'システム中2システム'
        return f"{body}(※)" if note else body
    sign = match["sign"]
    value = Decimal(match["number"].replace(",", ""))
    return Quantity(
        value=-value if sign == "-" else value,
        unit=match["unit"],
        signed=sign is not None,
        approx=match["approx"] is not None,
        qualifier=match["qualifier"] or "",
        note=note,
    )


def format_number(value: Decimal, signed: bool = False) -> str:
    """Japanese official style: thousands separated by commas, decimals kept as written."""
    text = f"{abs(value):,f}"
    if value < 0:
        return "-" + text
    return ("+" + text) if signed else text


def format_value(value: Quantity | str) -> str:
    if isinstance(value, str):
        return value
    return "".join(
        (
            "約" if value.approx else "",
            format_number(value.value, value.signed),
            value.unit,
            value.qualifier,
            "(※)" if value.note else "",
        )
    )


def same_text(a: str, b: str) -> bool:
    """Qualitative values match when equal after width normalisation and without note marks."""
    return strip_note(normalize(a))[0].replace(" ", "") == strip_note(normalize(b))[0].replace(" ", "")
