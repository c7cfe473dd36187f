"""CSV that is safe to open in Excel: cells that would start a formula are neutralised.

Two classes of cell are never prefixed, in either mode: numbers (int, float, Decimal), and a lone
sign (``-`` or ``+`` and nothing else), which every spreadsheet keeps as the text it is (the usual
"nothing to report" of a form): it can neither run nor be converted.

By default (the request CSV a department fills in and sends back, and the office's lists that do not
say otherwise) every other text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with an apostrophe (``'``), as OWASP advises: Excel then keeps ``+1%`` as the text
it is through a round trip (unprefixed, Excel may read it as the number 1% and save it back so, and
the target would no longer be the one requested), and `tenken.workbook.reader` drops the apostrophe
again when the CSV comes back.

Data that is read, not sent back (`keep_values=True`: the annex CSV and its column dictionary,
`tenken rate --csv`), must reach its readers as written: a department's ``+1.6%(※)``, ``-3件``. Only
a cell that could be a formula is prefixed there. The rule (`GUARD_RULE`, also printed in the column
dictionary):

* a text cell starting with ``=``, ``@``, a tab or a carriage return is always prefixed with an
  apostrophe (``'``);
* a text cell starting with ``+`` or ``-`` is prefixed too, unless it is a lone sign (``-``) or a
  signed number as a department writes it: the sign, optional spaces, a digit, then only letters,
  digits, ``.``, ``%``, commas between digits and characters outside ASCII (units such as 件,
  ポイント; not C1 controls, bidirectional or zero-width format characters, nor the full-width forms
  of ASCII punctuation other than ％ ． ，), optionally closed by the note mark ``(※)``.
  So ``+1.6%(※)``, ``-3件``, ``+2.5ポイント`` and ``-1,000人`` are written as they are, while
  ``+cmd|' /C calc'!A0``, ``-2+3+cmd|'/C calc'!A0``, ``+HYPERLINK(…)`` and ``-SUM(1)`` are prefixed:
  a formula that can call a function, another program (DDE ``|``) or another sheet (``!``) needs
  one of the ASCII signs a signed number never has. (A spreadsheet may still show ``+1%`` as the
  number 1%: the value in the file is as written, which is what re-users read);
* numbers (int, float, Decimal) are written as numbers, never prefixed (in both modes).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LONE_SIGNS = ("-", "+")  # text to every spreadsheet: nothing to run, nothing to convert
_ALWAYS_FORMULA_START = ("=", "@", "\t", "\r")
# A signed number with its unit: nothing an Excel formula could use beyond arithmetic on a constant.
# Outside ASCII, C1 controls, the format characters that reorder text and the full-width forms of
# ASCII punctuation (except ％ ． ，) are excluded as well.
_SIGNED_VALUE = re.compile(
    r"[+\-] *[0-9０-９](?:[0-9A-Za-z.%]|(?<=[0-9０-９])[,，](?=[0-9０-９])"
    "|[^\\x00-\\x7f\\x80-\\x9f\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff"
    "\\uff01-\\uff04\\uff06-\\uff0d\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65])*"
    r"(?:\(※\)|（※）)?"
)

GUARD_RULE = (
    "先頭が「=」「@」、タブ、復帰（CR）の文字列は、表計算ソフトで数式として実行されないよう、先頭に「'」を付けています。"
    "先頭が「+」「-」の文字列も同様に「'」を付けますが、「-」だけの値と、符号付きの数値（符号、数字、単位や「%」「(※)」が続くもの。"
    "例: +1.6%(※)、-3件、+2.5ポイント）はそのまま掲載しています。"
    "利用の際は、先頭の「'」を取り除いてください（JSON には「'」を付けていません）。"
)


def needs_guard(text: str, keep_values: bool = False) -> bool:
    """Does this text need the apostrophe? Never for a lone sign (``-``). By default, every other text
    starting like a formula does (so that Excel round-trips it as text); with `keep_values`, only one
    that could be a formula: a signed number (+1.6%(※), -3件) is not guarded (see the module docstring)."""
    if text in _LONE_SIGNS:
        return False
    if not keep_values:
        return text.startswith(_FORMULA_START)
    if text.startswith(_ALWAYS_FORMULA_START):
        return True
    if not text.startswith(("+", "-")):
        return False
    return _SIGNED_VALUE.fullmatch(text) is None


def neutralize(value: object, keep_values: bool = False) -> object:
    """Prefix a text cell that Excel would read as a formula with an apostrophe (OWASP advice)."""
    if isinstance(value, str) and needs_guard(value, keep_values):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]], bom: bool = False,
           keep_values: bool = False) -> str:
    """`keep_values`: published data, where signed numbers stay as written (`GUARD_RULE`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if bom else "\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else neutralize(v, keep_values) for v in row])
    return ("\ufeff" if bom else "") + buffer.getvalue()
