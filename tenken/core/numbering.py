"""How a level numbers its nodes (Ⅰ, ①, ア …) and the ASCII-safe part used in keys."""

from __future__ import annotations

from enum import Enum

_ROMAN = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


class Numbering(str, Enum):
    roman = "roman"
    circled = "circled"
    katakana = "katakana"
    arabic = "arabic"
    alpha = "alpha"


def _ascii_roman(n: int) -> str:
    out = []
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def _alpha(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def label(numbering: Numbering, n: int) -> str:
    """The printed number of the n-th node (1-based)."""
    if numbering is Numbering.roman:
        return _ROMAN[n - 1] if n <= len(_ROMAN) else _ascii_roman(n)
    if numbering is Numbering.circled:
        return _CIRCLED[n - 1] if n <= len(_CIRCLED) else f"({n})"
    if numbering is Numbering.katakana:
        return _KATAKANA[n - 1] if n <= len(_KATAKANA) else str(n)
    if numbering is Numbering.alpha:
        return _alpha(n)
    return str(n)


def key_part(numbering: Numbering, n: int) -> str:
    """The part of a measure key for the n-th node: I, 1, ア, A …"""
    if numbering is Numbering.roman:
        return _ascii_roman(n)
    if numbering is Numbering.katakana:
        return label(numbering, n)
    if numbering is Numbering.alpha:
        return _alpha(n)
    return str(n)
