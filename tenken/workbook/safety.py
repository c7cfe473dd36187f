"""Checks on received bytes before any parser sees them: size, container type, zip bombs, and how much
a parser would build from what is inside.

Each refusal carries the message the department gets (Japanese), saying what to do.

What a parser would build is bounded from the zip directory and from the XML bytes themselves, cheaply
(counts and regular expressions over bytes, one part in memory at a time, no tree): the inflated size
of every part, the number of XML elements in it, and for every worksheet the range its cells reach, by
the cells' own references and whatever its `<dimension>` declares, and the number of cells. A genuine
request workbook is far inside every limit; any workbook inside them reads in a few seconds and a few
hundred MB at most, with either reader (tests/collect/test_workbook_limits.py).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree import ElementTree

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and .xlsx saved with a password

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """A request workbook of 100 measures is about 30 KB and expands about 5 times; these leave room.

    The sheets of a request are narrow (the form uses columns A to L, the hidden sheet A to D) and a
    department has at most a few hundred measures, so a genuine form of 500 measures — some 7,000
    cells, its largest part under 2 MB — is far inside every limit below."""

    max_file_bytes: int = 10 * MB
    max_zip_entries: int = 200
    max_uncompressed_bytes: int = 100 * MB
    max_compression_ratio: float = 100.0
    ratio_checked_above: int = 1 * MB  # small parts may compress well without being a bomb
    # Each part, inflated: a worksheet or an image; the shared strings (all the text of the book);
    # any other XML part (workbook, styles, drawings …), which openpyxl turns whole into objects.
    max_part_bytes: int = 10 * MB
    max_shared_strings_bytes: int = 5 * MB
    max_xml_part_bytes: int = 2 * MB
    max_xml_elements: int = 450_000  # in all XML parts: openpyxl keeps ~600 bytes of each it does not know
    max_sheets: int = 50
    max_rows: int = 20_000  # the last row a cell of a worksheet is in (or its <dimension> declares)
    max_columns: int = 26  # the last column (Z)
    max_cells: int = 200_000  # cells in all the worksheets of the book
    max_cell_chars: int = 32_767  # Excel's own limit for the text of one cell; also one CSV field


DEFAULT_LIMITS = Limits()


class Refused(Exception):
    """The file cannot be read safely or at all; the message tells the department what to do."""

    def __init__(self, message: str, department: str | None = None):
        super().__init__(message)
        self.message = message
        self.department = department  # who the file says it is from, when that could be read


RESUBMIT = "お送りした依頼ファイル（.xlsx）に入力し、Excel ブック形式のまま提出してください。"
BROKEN = f"Excel ブックが壊れているため読み込めません。{RESUBMIT}"
UNREADABLE = f"Excel ブックを読み込めませんでした（ファイルが壊れているか、形式が違います）。{RESUBMIT}"
DOCTYPE = f"ブックに想定外の定義（DOCTYPE）が含まれているため読み込めません。{RESUBMIT}"
TRIM = ("表の外のセルに入力・貼り付け・書式設定をしていれば、その行・列を削除してから提出してください。"
        "直らない場合は、お送りした依頼ファイルに入力し直して提出してください。")


def check_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise Refused(f"ファイルが空です（0バイト）。{RESUBMIT}")
    if size > limits.max_file_bytes:
        raise Refused(
            f"ファイルが大きすぎます（{size:,}バイト、上限 {limits.max_file_bytes:,}バイト）。"
            f"画像などを貼り付けていないか確認し、{RESUBMIT}")


def column_letters(number: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA, 16384 -> XFD."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class SheetExtent:
    """How far the cells of a worksheet reach: the last row and column (1-based, 0 when it has none)."""

    rows: int
    columns: int
    cells: int


@dataclass
class CheckedWorkbook:
    """What the checks learnt on the way: each sheet's part and extent, the XML of the sheets asked for."""

    parts: dict[str, str] = field(default_factory=dict)  # sheet name -> part path, as workbook.xml lists them
    extents: dict[str, SheetExtent] = field(default_factory=dict)  # sheet name -> extent
    xml: dict[str, bytes] = field(default_factory=dict)  # sheet name -> its XML, for the sheets asked for


# --- scanning XML bytes ------------------------------------------------------------------------------
# A tag is `<`, an optional prefix, a local name. Attribute values cannot contain `<`, so no pattern
# below runs past the next `<`: every scan is linear in the part.
_PREFIX = rb"(?:[^\s<>/!?:=\"']++:)?"
_ATTR = rb"(?>\s+[^\s=<>/]+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))"
_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"c(?=[\s/>])")
_SHEET_DATA = re.compile(rb"<" + _PREFIX + rb"sheetData(?=[\s/>])")
_SI_TAG = re.compile(rb"<" + _PREFIX + rb"si(?=[\s/>])")
_PREFIXED_TAG = re.compile(rb":(?:c|row)[\s/>]")  # <x:c …>, <x:row …>: not as Excel writes them
_PLAIN_CELL_TAG = re.compile(rb"<c[\s/>]")
_PLAIN_ROW_TAG = re.compile(rb"<row[\s/>]")
# Cells and rows as Excel, LibreOffice and openpyxl write them: the reference first, in double quotes,
# upper case, then attributes other than r, each after one space. When every cell and row tag is so,
# every position is the one written there, once.
_PLAIN_ATTRS = rb"(?: (?!r=)[^\s=<>/\"']+=\"[^\"<>]*\")*\s?/?>"
_PLAIN_CELL = re.compile(rb"<c r=\"([A-Z]{1,3})([1-9][0-9]{0,6})\"" + _PLAIN_ATTRS)
_PLAIN_ROW = re.compile(rb"<row r=\"([1-9][0-9]{0,6})\"" + _PLAIN_ATTRS)
_PLAIN_DIMENSION = re.compile(rb"<dimension ref=\"([^\"<]*)\"")
# Anything else takes the slow path: every tag in order, positions as a parser would give them.
_ANY_ROW_OR_CELL = re.compile(rb"<(/?)" + _PREFIX + rb"(c|row)(?=[\s/>])")
_TAG_REST = re.compile(rb"(" + _ATTR + rb"*)\s*(/?)>")
_ATTRIBUTE = re.compile(rb"\s+([^\s=<>/]+)\s*=\s*(?:\"([^\"<]*)\"|'([^'<]*)')")
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension(" + _ATTR + rb"*)\s*/?>")
_SST = re.compile(rb"<" + _PREFIX + rb"sst(" + _ATTR + rb"*)\s*/?>")
_REF = re.compile(rb"([A-Za-z]+)([0-9]+)")
_BEYOND = 10_000_000  # stands for a row or column number too long to be worth computing


class _Malformed(Exception):
    pass


def _attributes(text: bytes) -> list[tuple[bytes, bytes]]:
    return [(name, a if a or not b else b) for name, a, b in _ATTRIBUTE.findall(text)]


def _count(pattern: re.Pattern, xml: bytes) -> int:
    return sum(1 for _ in pattern.finditer(xml))  # (findall would hold them all)


def _row_number(text: bytes) -> int:
    if not text.isdigit() or text.startswith(b"0"):
        raise _Malformed
    return int(text) if len(text) <= 7 else _BEYOND


def _reference(text: bytes) -> tuple[int, int]:
    """(row, column) of a cell reference such as XFD20000 (any case, as calamine reads it)."""
    match = _REF.fullmatch(text)
    if match is None:
        raise _Malformed
    letters = match[1].upper()
    column = 0
    for letter in letters[:4]:
        column = column * 26 + letter - 64
    return _row_number(match[2]), column if len(letters) <= 3 else _BEYOND


def sheet_extent(xml: bytes, limits: Limits) -> SheetExtent:
    """How far the cells of a worksheet part reach, without parsing it. Cells without a reference are
    placed the way calamine places them (after the previous cell; a row after the previous row), so the
    range is the one a reader would allocate. Stops early once a limit is passed."""
    if len(xml) > MB and (count := _count(_CELL_TAG, xml)) > limits.max_cells:
        return SheetExtent(0, 0, count)  # refused: no need to look further
    rows, columns = 0, 0
    refs = _PLAIN_DIMENSION.findall(xml)
    if len(refs) != xml.count(b"dimension"):
        refs = [next((value for name, value in _attributes(attributes) if name == b"ref"), b"")
                for attributes in _DIMENSION.findall(xml)]
    for ref in refs:  # declared; a reader may size its grid on it
        for corner in ref.split(b":")[:2]:
            try:
                row, column = _reference(corner)
            except _Malformed:
                continue  # then the readers do not use it either
            rows, columns = max(rows, row), max(columns, column)
    cells, row_refs = _PLAIN_CELL.findall(xml), _PLAIN_ROW.findall(xml)
    if len(cells) == len(_PLAIN_CELL_TAG.findall(xml)) and len(row_refs) == len(_PLAIN_ROW_TAG.findall(xml)) \
            and not _PREFIXED_TAG.search(xml):
        if cells:
            letters = max({letters for letters, _ in cells}, key=lambda text: (len(text), text))
            columns = max(columns, _reference(letters + b"1")[1])
            rows = max(rows, max(map(int, {number for _, number in cells})))
        if row_refs:
            rows = max(rows, max(map(int, set(row_refs))))
        return SheetExtent(rows, columns, len(cells))
    return _slow_extent(xml, limits, rows, columns)


def _slow_extent(xml: bytes, limits: Limits, rows: int, columns: int) -> SheetExtent:
    count, row, column = 0, 1, 1
    for tag in _ANY_ROW_OR_CELL.finditer(xml):
        is_row = tag[2] == b"row"
        if tag[1]:  # an end tag: calamine moves to the next row at every </row>, matched or not
            if is_row:
                row, column = row + 1, 1
            continue
        rest = _TAG_REST.match(xml, tag.end())
        if rest is None:
            raise _Malformed
        refs = [value for name, value in _attributes(rest[1]) if name == b"r"]
        if len(refs) > 1:
            raise _Malformed
        if is_row:
            if refs:
                row = _row_number(refs[0])
            rows = max(rows, row)
            if rest[2]:  # <row/>: a start and an end
                row, column = row + 1, 1
            continue
        count += 1
        if refs:
            at_row, at_column = _reference(refs[0])
        else:
            at_row, at_column = row, column
        column = at_column + 1
        rows, columns = max(rows, at_row), max(columns, at_column)
        if rows > limits.max_rows or columns > limits.max_columns:
            break  # refused anyway; how much further it goes does not matter
    return SheetExtent(rows, columns, count)


# --- the container -----------------------------------------------------------------------------------
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_WORKBOOK_TYPES = ("spreadsheetml.sheet.main+xml", "spreadsheetml.template.main+xml",
                   "ms-excel.sheet.macroEnabled.main+xml", "ms-excel.template.macroEnabled.main+xml")
_SHARED_STRINGS_TYPE = "spreadsheetml.sharedStrings+xml"
_WIDE = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")  # UTF-16: Excel writes UTF-8, and so must the sender


def _normal(name: str) -> str:
    """A part name as calamine looks it up: case and slashes do not matter."""
    return name.replace("\\", "/").lower()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_XML_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*<|(?:\xff\xfe)?(?:[ \t\r\n]\x00)*<\x00"
                        rb"|(?:\xfe\xff)?(?:\x00[ \t\r\n])*\x00<")


def _is_xml(data: bytes) -> bool:
    """Whether a part would be taken for XML by a parser (UTF-8, or UTF-16, which is refused)."""
    return _XML_START.match(data) is not None


def _part_label(path: str, names: dict[str, str]) -> str:
    name = names.get(_normal(path))
    return f"シート「{name}」" if name is not None else f"ブックの構成要素「{path}」"


def check_workbook_container(data: bytes, limits: Limits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Refuse what is not a plain .xlsx zip, or would expand beyond the limits in all, from the zip
    directory. The size of each part is checked by `check_workbook`, which knows what each part is."""
    check_size(len(data), limits)
    if data.startswith(OLE_MAGIC):
        raise Refused("古い形式（.xls）のブック、またはパスワード付きのブックは受け付けられません。"
                      f"パスワードを解除し、{RESUBMIT}")
    if not data.startswith(ZIP_MAGIC):
        raise Refused("このファイルは Excel ブック（.xlsx）ではありません（中身が Excel 形式ではありません）。"
                      f"{RESUBMIT}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise Refused(BROKEN) from None
    if len(entries) > limits.max_zip_entries:
        raise Refused(f"ブックの構成要素が多すぎます（{len(entries)}個）。{RESUBMIT}")
    declared = sum(e.file_size for e in entries)
    if declared > limits.max_uncompressed_bytes:
        raise Refused(f"ブックを展開すると大きすぎます（{declared:,}バイト）。{RESUBMIT}")
    if declared > limits.ratio_checked_above and declared / len(data) > limits.max_compression_ratio:
        # many parts each too small to be checked alone
        raise Refused(f"ブックの圧縮率が異常です（全体で{declared / len(data):,.0f}倍）。安全のため受け付けられません。"
                      f"{RESUBMIT}")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > limits.ratio_checked_above and ratio > limits.max_compression_ratio:
            raise Refused(f"ブックの圧縮率が異常です（{ratio:,.0f}倍）。安全のため受け付けられません。{RESUBMIT}")
    if any(e.filename.lower().endswith("vbaproject.bin") for e in entries):
        raise Refused(f"マクロを含むブックは受け付けられません。{RESUBMIT}")
    # Two parts one reader could take for the same one (calamine ignores case and slashes): which is read?
    if len({_normal(e.filename) for e in entries}) != len(entries):
        raise Refused(BROKEN)
    return archive, entries


def _inflate(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bytes:
    """The part's bytes; zipfile stops at the declared size and checks the CRC, so no parser downstream
    meets more bytes than were checked (declared sizes can lie)."""
    try:
        return archive.read(entry)
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError, RuntimeError):
        raise Refused(BROKEN) from None


def _check_markup(xml: bytes, is_xml: bool = True) -> None:
    if is_xml and xml.startswith(_WIDE):  # not scanned as it stands: refused, saying DOCTYPE when it has one
        text = xml.decode("utf-16", errors="replace")
        raise Refused(DOCTYPE if "<!DOCTYPE" in text or "<!ENTITY" in text else UNREADABLE)
    if b"<!DOCTYPE" in xml:  # (an <!ENTITY can only be declared in one)
        raise Refused(DOCTYPE)


def _check_elements(xml: bytes, label: str, limits: Limits) -> int:
    elements = xml.count(b"<") - xml.count(b"</")  # start and empty tags (and comments)
    if elements > limits.max_xml_elements:
        raise Refused(f"{label}の内容が多すぎます（XML 要素 {elements:,}個、上限 {limits.max_xml_elements:,}個）。"
                      f"{TRIM}")
    return elements


def _tree(xml: bytes) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        raise Refused(UNREADABLE) from None


def _resolve(target: str) -> str:
    """A relationship target of the workbook as a part name; refused when readers could disagree on it."""
    path = target[1:] if target.startswith("/") else f"xl/{target}"
    if "\\" in path or posixpath.normpath(path) != path:
        raise Refused(UNREADABLE)
    return path


def check_workbook(data: bytes, limits: Limits = DEFAULT_LIMITS, keep: Iterable[str] = ()) -> CheckedWorkbook:
    """Refuse, before any parser runs, a workbook a parser would spend too much on. Returns each sheet's
    part and extent, and the XML of the sheets named in `keep` (already inflated and checked)."""
    archive, entries = check_workbook_container(data, limits)
    by_name = {_normal(e.filename): e for e in entries}
    inflated: dict[str, bytes] = {}
    elements = 0
    # An element takes 4 bytes at least (<a/>): a book smaller than that many inflated needs no count.
    counting = sum(e.file_size for e in entries) > 4 * limits.max_xml_elements

    def structure(name: str) -> bytes | None:
        entry = by_name.get(_normal(name))
        if entry is None:
            return None
        if entry.file_size > limits.max_xml_part_bytes:
            raise Refused(f"ブックの構成要素「{entry.filename}」が大きすぎます（展開後 {entry.file_size:,}バイト、"
                          f"上限 {limits.max_xml_part_bytes:,}バイト）。{RESUBMIT}")
        nonlocal elements
        xml = inflated[entry.filename] = _inflate(archive, entry)
        _check_markup(xml)
        if counting:
            elements += _check_elements(xml, f"ブックの構成要素「{entry.filename}」", limits)
        return xml

    # Where the workbook is: calamine follows _rels/.rels, openpyxl [Content_Types].xml; both must say xl/.
    shared_strings = {_normal("xl/sharedStrings.xml")}
    if (package_rels := structure("_rels/.rels")) is not None:
        for rel in _tree(package_rels).iter():
            if (_local(rel.tag) == "Relationship" and rel.get("Type", "").endswith("/officeDocument")
                    and _normal(posixpath.dirname(rel.get("Target", "").lstrip("/"))) != "xl"):
                raise Refused(UNREADABLE)
    if (content_types := structure("[Content_Types].xml")) is not None:
        for override in (e for e in _tree(content_types).iter() if _local(e.tag) == "Override"):
            kind, part = override.get("ContentType", ""), override.get("PartName", "")
            if kind.endswith(_WORKBOOK_TYPES) and _normal(part.lstrip("/")) != _WORKBOOK:
                raise Refused(UNREADABLE)
            if kind.endswith(_SHARED_STRINGS_TYPE):
                shared_strings.add(_normal(part.lstrip("/")))
    workbook, rels = structure(_WORKBOOK), structure(_WORKBOOK_RELS)
    if workbook is None or rels is None:
        raise Refused(UNREADABLE)
    targets = {}
    for rel in _tree(rels).iter():
        if _local(rel.tag) == "Relationship":
            targets[rel.get("Id")] = rel.get("Target", "")
            if rel.get("Type", "").endswith("/sharedStrings"):
                shared_strings.add(_normal(_resolve(rel.get("Target", ""))))
    checked = CheckedWorkbook()
    sheets = [s for s in _tree(workbook).iter() if _local(s.tag) == "sheet"]
    if len(sheets) > limits.max_sheets:
        raise Refused(f"ブックのシートが多すぎます（{len(sheets):,}枚、上限 {limits.max_sheets}枚）。"
                      f"お送りした依頼ファイルに入力し直して提出してください。")
    for sheet in sheets:
        ids = [value for key, value in sheet.attrib.items() if _local(key) == "id"]
        if len(ids) != 1 or ids[0] not in targets:  # calamine takes any *:id, openpyxl r:id
            raise Refused(UNREADABLE)
        checked.parts[sheet.get("name", "")] = _resolve(targets[ids[0]])
    names = {_normal(part): name for name, part in checked.parts.items()}
    keep_parts = {_normal(checked.parts[name]) for name in keep if name in checked.parts}
    for name in keep:
        if name in checked.parts and _normal(checked.parts[name]) not in by_name:
            raise Refused(UNREADABLE)

    for entry in entries:  # sizes as declared (true, or inflating it fails), before inflating any
        _check_part_size(entry.filename, entry.file_size, names, shared_strings, limits)
    cells = 0
    for entry in entries:
        normal = _normal(entry.filename)
        label = _part_label(entry.filename, names)
        xml = inflated.pop(entry.filename, None)  # a structure part, checked (and counted) above
        structure_part = xml is not None
        if xml is None:
            xml = _inflate(archive, entry)
        is_xml = structure_part or normal in names or normal in shared_strings or _is_xml(xml)
        if not structure_part:
            if is_xml and normal not in names and normal not in shared_strings \
                    and len(xml) > limits.max_xml_part_bytes:
                raise Refused(f"{label}が大きすぎます（展開後 {len(xml):,}バイト、上限 "
                              f"{limits.max_xml_part_bytes:,}バイト）。{RESUBMIT}")  # XML found by its content
            _check_markup(xml, is_xml)  # an image too: no parser may meet a DOCTYPE, whatever the part
        if normal in shared_strings:
            _check_shared_strings(xml, limits)
        if b"sheetData" in xml and _SHEET_DATA.search(xml):
            # A worksheet, whatever its name says: every reader may be pointed at it.
            try:
                extent = sheet_extent(xml, limits)
            except _Malformed:
                raise Refused(UNREADABLE) from None
            _check_extent(extent, label, limits)
            cells += extent.cells
            if normal in names:
                checked.extents[names[normal]] = extent
            if normal in keep_parts:
                checked.xml[names[normal]] = xml
        if is_xml and counting and not structure_part:
            elements += _check_elements(xml, label, limits)
    if cells > limits.max_cells:
        raise Refused(f"ブック全体のセルが多すぎます（{cells:,}個、上限 {limits.max_cells:,}個）。{TRIM}")
    if elements > limits.max_xml_elements:
        raise Refused(f"ブック全体の内容が多すぎます（XML 要素 {elements:,}個、上限 {limits.max_xml_elements:,}個）。"
                      f"{TRIM}")
    return checked


def _check_part_size(name: str, size: int, sheets: dict[str, str], shared_strings: set[str],
                     limits: Limits) -> None:
    normal = _normal(name)
    if normal in shared_strings and size > limits.max_shared_strings_bytes:
        raise Refused(f"ブック内の文字列データが大きすぎます（展開後 {size:,}バイト、"
                      f"上限 {limits.max_shared_strings_bytes:,}バイト）。長い文章や大量の文字を貼り付けて"
                      f"いないか確認し、{RESUBMIT}")
    xml = normal.endswith((".xml", ".rels", ".vml"))
    limit = limits.max_part_bytes if normal in sheets or normal in shared_strings or not xml \
        else limits.max_xml_part_bytes
    if size > limit:
        raise Refused(f"{_part_label(name, sheets)}が大きすぎます（展開後 {size:,}バイト、上限 {limit:,}バイト）。"
                      f"画像や大量のデータを貼り付けていないか確認し、{RESUBMIT}")


def _check_extent(extent: SheetExtent, label: str, limits: Limits) -> None:
    if extent.cells > limits.max_cells:
        raise Refused(f"{label}のセルが多すぎます（{extent.cells:,}個、上限 {limits.max_cells:,}個）。{TRIM}")
    if extent.rows > limits.max_rows or extent.columns > limits.max_columns:
        far = (column_letters(max(extent.columns, 1)) if extent.columns < _BEYOND else "…") + \
              (str(extent.rows) if extent.rows < _BEYOND else "…")
        raise Refused(f"{label}の使用範囲が広すぎます（{far} まで。読み込めるのは "
                      f"{column_letters(limits.max_columns)}列・{limits.max_rows:,}行目まで）。{TRIM}")


def _check_shared_strings(xml: bytes, limits: Limits) -> None:
    strings = _count(_SI_TAG, xml)
    declared = [value for attributes in _SST.findall(xml) for name, value in _attributes(attributes)
                if name in (b"uniqueCount", b"count")]
    # calamine reserves room for uniqueCount strings before reading one: a lie would abort the process.
    if strings > limits.max_cells or any(not v.isdigit() or len(v) > 9 or int(v) > limits.max_cells
                                         for v in declared):
        shown = max([strings, *(int(v) for v in declared if v.isdigit() and len(v) <= 18)])
        raise Refused(f"ブック内の文字列が多すぎます（{shown:,}個、上限 {limits.max_cells:,}個）。"
                      f"大量の文字を貼り付けていないか確認し、{RESUBMIT}")
