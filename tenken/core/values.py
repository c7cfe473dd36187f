"""Indicator values as departments write them: 10,000人, +1.6%(※), 5,000人以上, １０，０００.

A value is either a `Quantity` (a number with its unit and the marks around it) or free text
(実施, 構築完了 …). Parsing is exact (Decimal) so that formatting round-trips.

Only half-width (0-9) and full-width (０-９) digits make a number: Python's int()/float()/Decimal()
also accept Arabic-Indic and other scripts' digits, and NFKC turns ², ① or 𝟑 into ASCII digits, so
the pattern names the digits itself and a number NFKC made out of such characters is left as text.
A number has at most `MAX_DIGITS` digits (leading zeros not counted), so that it converts to a
finite float exactly; a longer one (10^400件) is text, "not a number" to the checks.

`hidden_characters` and `unusual_digits` find what a free-text field must not contain (control
and format characters, digits of other scripts); the checks refuse them, naming the measure or cell.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import accumulate, compress, count, repeat
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # numpy is imported where many values are read at once: loading a plan needs none of it
    import numpy as np

_NOTE_MARKS = ("(※)", "※")
_NUMBER = re.compile(
    r"^(?P<approx>約)?\s*(?P<sign>[+\-−])?\s*"
    r"(?P<number>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)"
    r"\s*(?P<unit>.*?)\s*(?P<qualifier>以上|以下|超|未満)?$"
)
_DIGIT = re.compile(r"\d")
# Characters that NFKC or the note mark would change: full- and half-width forms, U+2212 minus, ※.
_NEEDS_NORMALIZING = re.compile("[\u3000\u2212\uff01-\uffef※]")
_ASCII_DIGIT = re.compile("[0-9]")
_WRITTEN_DIGIT = re.compile("[0-9０-９]")
MAX_DIGITS = 15  # a float holds 15 significant decimal digits exactly

# Characters no free-text field may hold: C0 controls (tab, line feed and carriage return only where
# a field takes several lines), DEL and C1 controls, format characters (bidirectional embeddings,
# overrides and isolates U+202A-202E / U+2066-2069 and marks, zero-width space/joiners, word joiner
# and invisible operators, BOM, soft hyphen, Arabic number signs, interlinear annotation, tags),
# line/paragraph separators and lone surrogates (which cannot even be written as UTF-8). Zero-width
# joiners are refused too: they make "未\u200d実施" look like 未実施 while escaping the negative words.
_FORMAT = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
           "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
           "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\ud800-\udfff")
_HIDDEN_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT}]")
_HIDDEN_MULTILINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_FORMAT}]")
# Any Unicode decimal digit (category Nd, what \d matches) but 0-9 and ０-９, as one character class:
# "not a non-digit, nor 0-9, nor ０-９". One class lets the regex engine scan long texts quickly.
_UNUSUAL_DIGIT = re.compile(r"[^\D0-9０-９]")
_CHARACTER_NAMES = {
    "\x00": "NUL", "\x09": "タブ", "\x0a": "改行", "\x0d": "改行（CR）", "\x1b": "ESC", "\x7f": "DEL",
    "\u00ad": "ソフトハイフン", "\u200b": "ゼロ幅スペース", "\u200c": "ゼロ幅非接合子", "\u200d": "ゼロ幅接合子",
    "\u200e": "左から右への記号", "\u200f": "右から左への記号", "\u2028": "行区切り", "\u2029": "段落区切り",
    "\u202a": "左から右への埋め込み", "\u202b": "右から左への埋め込み", "\u202c": "方向書式の終了",
    "\u202d": "左から右への上書き", "\u202e": "右から左への上書き", "\u2060": "単語結合子",
    "\u2066": "左から右への分離", "\u2067": "右から左への分離", "\u2068": "先頭文字による分離",
    "\u2069": "方向分離の終了", "\ufeff": "BOM（ゼロ幅改行なしスペース）",
}


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
        if len(_ASCII_DIGIT.findall(body)) > len(_WRITTEN_DIGIT.findall(text)):
            # NFKC made digits of ², ①, 𝟑 …: what a person reads is not the number it would become
            return f"{body}(※)" if note else body
    else:
        body, note = text.strip(), False
    match = _NUMBER.match(body)
    if not match or _DIGIT.search(match["unit"]) or too_many_digits(match["number"]):
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


def too_many_digits(number: str) -> bool:
    """More than MAX_DIGITS digits, leading zeros not counted: '1' and 400 zeros, or 16 significant digits."""
    digits = "".join(_ASCII_DIGIT.findall(number))
    return len(digits) > MAX_DIGITS and len(digits.lstrip("0")) > MAX_DIGITS


def overlong_number(text: str) -> bool:
    """Written like a number but with more digits than a number may have (so parse_value left it as text)."""
    body = strip_note(normalize(text))[0]
    match = _NUMBER.match(body)
    return match is not None and not _DIGIT.search(match["unit"]) and too_many_digits(match["number"])


def hidden_characters(text: str, multiline: bool = False) -> list[str]:
    """Control and format characters in text, each once, in order of appearance. With `multiline`,
    tab, line feed and carriage return are allowed (reasons, highlights)."""
    pattern = _HIDDEN_MULTILINE if multiline else _HIDDEN_ONE_LINE
    return list(dict.fromkeys(pattern.findall(text)))


def unusual_digits(text: str) -> list[str]:
    """Decimal digits other than 0-9 and ０-９ (Arabic-Indic ٣, Devanagari ३, mathematical 𝟑 …), each once."""
    return list(dict.fromkeys(_UNUSUAL_DIGIT.findall(text)))


def refused_texts(texts: Iterable[str], multiline: bool = False) -> set[str]:
    """The texts among `texts` in which `hidden_characters` or `unusual_digits` finds something.

    For many texts at once (every free text of a year's results): the distinct texts are joined by a
    space, which neither pattern matches (each matches one character), and searched once per pattern;
    only a text where something is found costs a step of its own. Every character the hidden-character
    patterns match is one str.isprintable() refuses, so text it accepts whole is not searched for them.
    """
    texts = list(set(texts))  # the order they are searched in does not matter; a set is the quicker to make
    joined = " ".join(texts)
    patterns = [_UNUSUAL_DIGIT]
    if not joined.isprintable():
        patterns.append(_HIDDEN_MULTILINE if multiline else _HIDDEN_ONE_LINE)
    refused: set[str] = set()
    starts: list[int] = []
    for pattern in patterns:
        found = pattern.search(joined)
        while found is not None:
            if not starts:
                starts = list(accumulate((len(text) + 1 for text in texts), initial=0))
            k = bisect_right(starts, found.start()) - 1
            refused.add(texts[k])
            found = pattern.search(joined, starts[k + 1])  # on from the next text
    return refused


# One written value a line. A plain number (a sign, digits with or without thousands commas, then a
# unit of neither digits nor blanks whose last character ends no qualifier (以上 以下 超 未満), and
# nothing NFKC or the note mark would change) is captured as (signed number, unit); any other line
# captures nothing. For a plain number parse_value's pattern takes the same number and the whole rest
# as the unit: there is no blank to skip and no qualifier to split off (tests/core/test_vectorised.py).
_PLAIN_LINES = re.compile(
    r"^(?:([+\-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)([^\d\s\u3000\u2212\uff01-\uffef※]*)"
    r"(?<![上下超満])|.*)$",
    re.MULTILINE)


def plain_numbers(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Many written values at once (a year's actuals), as (plain, value, unit) over `texts`.

    Where `plain` is true, `parse_value(text)` is a `Quantity` whose value is `value` as a float
    and whose unit is `unit`: 12,345人, +1.5%, -3件. Every other text (full-width digits, 約, 以上,
    (※), blanks, words such as 未把握, more than MAX_DIGITS characters of number) is for
    `parse_value` itself; its `value` is NaN and its `unit` meaningless.
    """
    import numpy as np

    sample = texts[:: len(texts) // 500 + 1]  # about 500 of them, from all over
    if 3 * len(set(sample)) > len(sample):  # mostly distinct (actuals): not worth looking for repeats
        return _plain_numbers(texts)
    distinct = dict.fromkeys(texts)
    if 3 * len(distinct) > len(texts):
        return _plain_numbers(texts)
    index = dict(zip(distinct, count()))  # each distinct text read once: targets repeat a lot
    plain, values, units = _plain_numbers(list(distinct))
    at = np.fromiter(map(index.__getitem__, texts), dtype=np.intp, count=len(texts))
    return plain[at], values[at], list(map(units.__getitem__, at.tolist()))


def _plain_numbers(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    import numpy as np

    total = len(texts)
    plain = np.zeros(total, dtype=bool)
    values = np.full(total, np.nan)
    # split, not findall: one flat list of strings (number, unit, then "\n", for each line) rather
    # than a tuple a line, which the garbage collector would have to visit
    pieces = _PLAIN_LINES.split("\n".join(texts)) if total else []
    if len(pieces) != 3 * total + 1:  # a text holding a line break: leave every text to parse_value
        return plain, values, [None] * total
    numbers, units = pieces[1::3], pieces[2::3]
    matched = np.flatnonzero(np.not_equal(np.fromiter(units, dtype=object, count=total), None))  # plain numbers
    written = list(filter(None, numbers))  # the numbers of those lines, in order
    short = np.fromiter(map(len, written), dtype=np.intp, count=len(written)) <= MAX_DIGITS  # sign, commas too
    if not short.all():
        matched, written = matched[short], list(compress(written, short))
    plain[matched] = True
    values[matched] = np.fromiter(map(float, map(str.replace, written, repeat(","), repeat(""))),
                                  dtype=float, count=len(written))
    values[values == 0] = 0.0  # -0 is 0, as parse_value's Decimal negation makes it (float("-0") is -0.0)
    return plain, values, units


def describe_characters(characters: list[str], limit: int = 3) -> str:
    """'U+202E 右から左への上書き、U+001B ESC' for messages; never the characters themselves."""
    shown = [f"U+{ord(c):04X} {_CHARACTER_NAMES.get(c) or _fallback_name(c)}" for c in characters[:limit]]
    return "、".join(shown) + (f" ほか{len(characters) - limit}種類" if len(characters) > limit else "")


def _fallback_name(character: str) -> str:
    if unicodedata.category(character) == "Nd":
        return f"数字の{unicodedata.digit(character)}"
    return "制御文字" if unicodedata.category(character) == "Cc" else "書式制御文字"


def visible(text: str, limit: int = 60) -> str:
    """Text as a message may quote it: control and format characters as <U+XXXX>, cut to `limit` characters."""
    shown = _HIDDEN_ONE_LINE.sub(lambda m: f"<U+{ord(m[0]):04X}>", text[:limit])
    return shown + ("…" if len(text) > limit else "")


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
