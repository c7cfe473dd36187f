"""The hostile corpus: every file a department (or anyone with access to the inbox) could send that
intake must survive, built by code — nothing binary is committed.

Each `Case` names one file: how to build it (`build(sources, path)` writes it at `path`), and what
intake must make of it: accepted, or refused with a message containing one of `keywords` (located
at `cell` when given). `worst` cases are the ones whose cost is checked in a subprocess with a
memory limit (tests/collect/test_hostile_corpus.py) and benchmarked (benchmarks/bench_hostile.py).

    sources = Sources.create(folder)                 # the 34 genuine FY2020 workbooks, once
    path = build_case(CASES_BY_NAME["a zip bomb"], folder / "case", sources)

Run as a module, it takes in one file in a fresh ledger and prints the cost as JSON (used by the
test's subprocesses and the benchmark):

    python -m tests.collect.hostile_corpus FILE [--limit-as BYTES] [--sender KEY]
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

YEAR = 2020
TOURISM = "tourism"  # the department most cases are made from: rows 7-12, H9 is I-1-イ-2 (件, target 120件)
INPUT_PART = "xl/worksheets/sheet1.xml"  # 実績入力 in the workbooks tenken writes
META_PART = "xl/worksheets/sheet3.xml"  # _tenken
# 82 kanji and kana, 246 bytes in UTF-8 (251 with .xlsx): any prefix tenken adds would pass NAME_MAX.
LONG_NAME = "神奈川県観光課令和二年度点検実績入力票提出用最終確定版" * 3 + "版"  # 27 × 3 + 1
assert len(LONG_NAME) == 82 and len((LONG_NAME + ".xlsx").encode()) == 251
NEWLINE_NAME = "観光課\n受付  観光課 第9版: 偽の行.xlsx"
CONTROL_NAME = "\x1b[31m赤字\x1b[0m\x07\x08鐘.xlsx"
# Department keys no hostile case can be accepted for: the reminder variant leaves their files out.
LEFT_OUT = ("water-facilities", "kanazawa-bunko")


class Sources:
    """The genuine FY2020 workbooks (and CSV forms) the hostile files are made from."""

    def __init__(self, example_dir: Path):
        self.example_dir = Path(example_dir)

    @classmethod
    def create(cls, folder: Path) -> Sources:
        from tenken.config import DEFAULT_CONFIG, load_plan
        from tenken.example import write_example_workbooks
        from tenken.settings import Settings

        folder = Path(folder)
        if not any(folder.glob("tenken-*.xlsx")):
            # Signed as tenken's requests are, with the key of the environment's settings (the tests').
            write_example_workbooks(YEAR, folder, signer=Settings.resolve().signer(load_plan(DEFAULT_CONFIG).name))
        
        return cls(folder)

    def path(self, department: str) -> Path:
        return self.example_dir / f"tenken-{YEAR}-{department}.xlsx"

    def genuine(self) -> list[Path]:
        return sorted(self.example_dir.glob(f"tenken-{YEAR}-*.xlsx"))

    def workbook(self, department: str = TOURISM) -> bytes:
        return self.path(department).read_bytes()

    @cached_property
    def plan(self):
        from tenken.config import DEFAULT_CONFIG, load_plan

        return load_plan(DEFAULT_CONFIG)

    def csv_rows(self, department: str = TOURISM) -> list[list[str]]:
        from tenken.config import DEFAULT_CONFIG, load_results
        from tenken.example import department_results
        from tenken.workbook.writer import request_csv

        filled = department_results(self.plan, load_results(DEFAULT_CONFIG, YEAR), department)
        token = self.signer.token(YEAR, department)
        return list(csv.reader(io.StringIO(request_csv(self.plan, YEAR, department, filled, bom=False, token=token))))

    @cached_property
    def signer(self):
        from tenken.settings import Settings

        return Settings.resolve().signer(self.plan.name)


@dataclass(frozen=True)
class Case:
    name: str  # what the file is, as a sentence fragment ("a zip bomb")
    group: str  # its class, for the report and the benchmark
    file_name: str  # unique across the corpus, so that all cases fit in one inbox
    build: Callable[[Sources, Path], None]
    accepted: bool = False
    keywords: tuple[str, ...] = ()  # a refusal names the problem: one of these is in a problem message
    also: tuple[str, ...] = ()  # ... and, in that same message, all of these
    cell: str | None = None  # ... located at this cell (or CSV line and column)
    sender: str | None = None  # handed over as coming from this department (`--from`)
    direct: bool = True  # False: given through its folder (hidden names, a directory named *.xlsx)
    worst: bool = False  # cost checked in a subprocess under a memory limit
    secret: bytes | None = None  # bytes that must never end up in the ledger
    outcome_only: bool = False  # any outcome will do (accepted or refused), as long as there is one
    department: str | None = None  # accepted: as this department


def build_case(case: Case, folder: Path, sources: Sources) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.file_name
    case.build(sources, path)
    return path


# ------------------------------------------------------------------ zip and XML helpers


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          drop: tuple[str, ...] = (), level: int = 6) -> bytes:
    """The workbook with some parts replaced, added or dropped (everything else copied as is)."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                      compresslevel=level) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, content in add.items():
            target.writestr(name, content)
    return out.getvalue()


def part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def inline(ref: str, text: str, style: str = "7") -> str:
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def set_cells(data: bytes, cells: dict[str, str], part_name: str = INPUT_PART) -> bytes:
    """Replace whole <c> elements of a sheet part (raw XML, for what openpyxl refuses to write)."""
    xml = part(data, part_name).decode("utf-8")
    for ref, cell_xml in cells.items():
        pattern = re.compile(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', re.DOTALL)
        xml, count = pattern.subn(lambda _, cell_xml=cell_xml: cell_xml, xml, count=1)
        assert count == 1, f"no cell {ref} in {part_name}"
    return rezip(data, replace={part_name: xml.encode("utf-8")})


def append_rows(data: bytes, rows_xml: str, dimension: str | None = None) -> bytes:
    xml = part(data, INPUT_PART).decode("utf-8")
    xml = xml.replace("</sheetData>", rows_xml + "</sheetData>", 1)
    if dimension:
        xml = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"', xml, count=1)
    return rezip(data, replace={INPUT_PART: xml.encode("utf-8")})


def edited(data: bytes, cells: dict[str, object], sheet: str = "実績入力") -> bytes:
    """Change cells with openpyxl, as a person with Excel could."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    for ref, value in cells.items():
        workbook[sheet][ref] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ------------------------------------------------------------------ builders


def _write(make: Callable[[Sources], bytes]):
    def build(sources: Sources, path: Path) -> None:
        path.write_bytes(make(sources))
    return build


def _genuine(department: str = TOURISM):
    return _write(lambda s: s.workbook(department))


def _cells(cells: dict[str, object], sheet: str = "実績入力", department: str = TOURISM):
    return _write(lambda s: edited(s.workbook(department), cells, sheet))


def _raw_cells(cells: dict[str, str], part_name: str = INPUT_PART, department: str = TOURISM):
    return _write(lambda s: set_cells(s.workbook(department), cells, part_name))


def _symlink(target: Callable[[Sources, Path], str | Path]):
    def build(sources: Sources, path: Path) -> None:
        os.symlink(target(sources, path), path)
    return build


def _fifo(sources: Sources, path: Path) -> None:
    os.mkfifo(path)


def _directory(sources: Sources, path: Path) -> None:
    """A folder named like a workbook, with a workbook in it: refused as a folder, or searched (the
    workbook inside then gets the outcome); either way one outcome, and nothing blocks."""
    path.mkdir()
    (path / "tenken-2020-community-safety-フォルダ内.xlsx").write_bytes(
        edited(sources.workbook("community-safety"), {"L7": "フォルダの中に入れて送った版です。"}))


def _lock_file(sources: Sources, path: Path) -> None:
    # What Excel leaves while a workbook is open: the user name, length-prefixed, then in UTF-16.
    user = "tanaka"
    data = bytes([len(user)]) + user.encode("ascii").ljust(53, b" ") + user.encode("utf-16-le").ljust(108, b" ")
    path.write_bytes(data[:165])


def _libreoffice_lock(sources: Sources, path: Path) -> None:
    path.write_text("tanaka,tanaka-pc/tanaka,tanaka-pc,27.11.2026 08:31,file:///C:/Users/tanaka/AppData;",
                    encoding="utf-8")


def _hidden_variant(sources: Sources) -> bytes:
    return edited(sources.workbook(TOURISM), {"L9": "隠しファイルとして保存された版です。"})


def _far_cell(sources: Sources) -> bytes:
    return append_rows(sources.workbook(), '<row r="20000">' + inline("XFD20000", "x", "8") + "</row>",
                       dimension="A1:XFD20000")


def _with_shared_strings(data: bytes, sst: bytes, shown: int, level: int = 6) -> bytes:
    """The workbook with `sst` as its shared-strings part (declared and related) and cell L10 showing
    string number `shown`."""
    types = part(data, "[Content_Types].xml").replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                     b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    rels = part(data, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
                             b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    data = set_cells(data, {"L10": f'<c r="L10" s="7" t="s"><v>{shown}</v></c>'})
    return rezip(data, replace={"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
                 add={"xl/sharedStrings.xml": sst}, level=level)


def _shared_strings_bomb(sources: Sources) -> bytes:
    """About 90 MB of distinct shared strings in a file under the size limit, each part under the
    compression-ratio limit: the container checks let it through to the parser."""
    count = 3_000_000
    body = "".join(f"<si><t>観光{i:07d}</t></si>" for i in range(count))
    sst = (f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{count}" '
           f'uniqueCount="{count}">{body}</sst>').encode()
    # The reference makes sure a reader cannot skip the strings: L10 shows the last one.
    return _with_shared_strings(sources.workbook(), sst, count - 1, level=1)


def _many_cells(sources: Sources) -> bytes:
    """300,000 numeric cells outside the form's columns (M…AD), rows 7 to 16,673."""
    rows, columns = 16_667, 18
    letters = [_column_letter(13 + c) for c in range(columns)]
    xml = part(sources.workbook(), INPUT_PART).decode("utf-8")
    extra = {}
    for number in range(7, 7 + rows):
        extra[number] = "".join(f'<c r="{letter}{number}"><v>{number}</v></c>' for letter in letters)
    def add_to_row(match: re.Match) -> str:
        number = int(match[1])
        return match[0].replace("</row>", extra.pop(number, "") + "</row>")
    xml = re.sub(r'<row r="(\d+)"[^>]*>.*?</row>', add_to_row, xml, flags=re.DOTALL)
    tail = "".join(f'<row r="{n}">{cells}</row>' for n, cells in sorted(extra.items()))
    xml = xml.replace("</sheetData>", tail + "</sheetData>", 1)
    xml = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{letters[-1]}{6 + rows}"', xml, count=1)
    return rezip(sources.workbook(), replace={INPUT_PART: xml.encode()})


PROBLEM_ROWS = 19_988  # rows 13 … 20,000: an actual without a measure key on each


def _twenty_thousand_problems(sources: Sources) -> bytes:
    rows = "".join(f'<row r="{n}">{inline(f"H{n}", "1件")}</row>' for n in range(13, 13 + PROBLEM_ROWS))
    return append_rows(sources.workbook(), rows, dimension=f"A1:L{12 + PROBLEM_ROWS}")


def _zip_bomb(sources: Sources, path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))


def _zip_bomb_of_small_parts(sources: Sources) -> bytes:
    """A genuine workbook padded with 95 parts of 1 MB of zeros: no part is over the 1 MB the ratio is
    checked above, the total stays under 100 MB, the file is about 100 KB."""
    zeros = b"\0" * (1024 * 1024)
    return rezip(sources.workbook(), add={f"xl/media/image{i}.bin": zeros for i in range(95)}, level=9)


def _zip_with_lying_sizes(sources: Sources) -> bytes:
    """A part whose headers declare 1 KB, whose deflate stream inflates to 50 MB."""
    data = sources.workbook()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = compressor.compress(b"<" * (50 * 1024 * 1024)) + compressor.flush()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        info = zipfile.ZipInfo("xl/media/lie.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        target.writestr(info, b"x" * 1024)  # a placeholder, rewritten below
    raw = bytearray(out.getvalue())
    # Swap the placeholder's compressed bytes for the bomb's stream, keeping the declared sizes.
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("xl/media/lie.bin")
    header = info.header_offset
    name_length = int.from_bytes(raw[header + 26:header + 28], "little")
    extra_length = int.from_bytes(raw[header + 28:header + 30], "little")
    start = header + 30 + name_length + extra_length
    end = start + info.compress_size
    new = bytes(raw[:start]) + stream + bytes(raw[end:])
    shift = len(stream) - info.compress_size
    new = bytearray(new)
    # Fix the local header's compressed size, the central directory's size and offsets.
    new[header + 18:header + 22] = len(stream).to_bytes(4, "little")
    eocd = new.rfind(b"PK\x05\x06")
    cd_offset = int.from_bytes(new[eocd + 16:eocd + 20], "little") + shift
    new[eocd + 16:eocd + 20] = cd_offset.to_bytes(4, "little")
    position = cd_offset
    while new[position:position + 4] == b"PK\x01\x02":
        name_length = int.from_bytes(new[position + 28:position + 30], "little")
        extra_length = int.from_bytes(new[position + 30:position + 32], "little")
        comment_length = int.from_bytes(new[position + 32:position + 34], "little")
        name = bytes(new[position + 46:position + 46 + name_length])
        if name == b"xl/media/lie.bin":
            new[position + 20:position + 24] = len(stream).to_bytes(4, "little")
        position += 46 + name_length + extra_length + comment_length
    return bytes(new)


def _too_many_parts(sources: Sources) -> bytes:
    return rezip(sources.workbook(), add={f"customXml/item{i}.xml": b"<a/>" for i in range(300)})


def _encrypted_entry(sources: Sources) -> bytes:
    data = bytearray(sources.workbook())
    # Set the 'encrypted' flag on every local and central header: no reader may inflate them.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset] |= 1
            start += 4
    return bytes(data)


_XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')
_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b"]>\n")


def _xxe_in(part_name: str, prefix: bytes = _XXE, encoding: str = "utf-8", reference: str | None = None):
    def make(sources: Sources) -> bytes:
        data = sources.workbook()
        if reference is not None:
            data = set_cells(data, {"L10": inline("L10", reference)})
        xml = part(data, part_name)
        if xml.startswith(b"<?xml"):
            xml = xml[xml.index(b"?>") + 2:]
        document = prefix + xml
        if encoding != "utf-8":
            document = document.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
            document = document.decode("utf-8").encode(encoding)
        return rezip(data, replace={part_name: document})
    return _write(make)


def _billion_laughs_strings(sources: Sources) -> bytes:
    sst = _LAUGHS + (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
                     b'uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    return _with_shared_strings(sources.workbook(), sst, 0)


def _oversized(sources: Sources, path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(10 * 1024 * 1024 + 1)


def _oversized_csv(sources: Sources, path: Path) -> None:
    header = (",".join(sources.csv_rows()[0]) + "\n").encode()
    line = f"{YEAR},{TOURISM},I-1-イ-3,,,,,,,実施\n".encode()
    path.write_bytes(header + line * ((10 * 1024 * 1024) // len(line) + 10))


def _huge_csv(sources: Sources, path: Path) -> None:
    """9.5 MB of CSV under the size limit: the same row 250,000 times."""
    header = (",".join(sources.csv_rows()[0]) + "\n").encode()
    line = f"{YEAR},{TOURISM},I-1-イ-3,,,,,,,実施\n".encode()
    path.write_bytes(header + line * ((95 * 1024 * 1024 // 10) // len(line)))


def _pdf(sources: Sources) -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _png(sources: Sources) -> bytes:
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    pixels = zlib.compress(b"\0\xff\xff\xff")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def _plain_zip(sources: Sources) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("読んでください.txt", "実績は本文に書きました。")
    return out.getvalue()


def _ods(sources: Sources) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content '
                         'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
    return out.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _ole(streams: tuple[str, ...]):
    def make(sources: Sources) -> bytes:
        # A compound-file header (version 3, 512-byte sectors) and one directory sector naming the
        # streams an encrypted OOXML package or an .xls has: enough for a sniffer, not a full file.
        header = bytearray(512)
        header[:8] = OLE
        header[24:26] = (0x3E).to_bytes(2, "little")
        header[26:28] = (3).to_bytes(2, "little")
        header[28:30] = b"\xfe\xff"
        header[30:32] = (9).to_bytes(2, "little")
        header[32:34] = (6).to_bytes(2, "little")
        directory = bytearray()
        for name in ("Root Entry", *streams):
            entry = bytearray(128)
            encoded = (name + "\0").encode("utf-16-le")
            entry[:len(encoded)] = encoded
            entry[64:66] = len(encoded).to_bytes(2, "little")
            entry[66] = 5 if name == "Root Entry" else 2
            directory += entry
        return bytes(header) + bytes(directory.ljust(512, b"\0")) + b"\0" * 1024
    return make


def _macro(sources: Sources) -> bytes:
    data = sources.workbook()
    types = part(data, "[Content_Types].xml").replace(
        b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
    return rezip(data, replace={"[Content_Types].xml": types},
                 add={"xl/vbaProject.bin": OLE + b"\0" * 2000})


def _truncated(sources: Sources) -> bytes:
    data = sources.workbook()
    return data[: len(data) // 2]


def _csv(rows_change: Callable[[list[list[str]]], None] | None = None, encoding: str = "utf-8",
         department: str = TOURISM, text_change: Callable[[str], str] | None = None):
    def build(sources: Sources, path: Path) -> None:
        rows = sources.csv_rows(department)
        if rows_change:
            rows_change(rows)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        text = buffer.getvalue()
        if text_change:
            text = text_change(text)
        path.write_bytes(text.encode(encoding))
    return build


def _set(column: str, line: int, value: str):
    """CSV change: the cell of `column` on line `line` (1 = header) set to `value`."""
    def change(rows: list[list[str]]) -> None:
        rows[line - 1][rows[0].index(column)] = value
    return change


def _set_all(column: str, value: str):
    def change(rows: list[list[str]]) -> None:
        for row in rows[1:]:
            row[rows[0].index(column)] = value
    return change


def _unterminated_quote(text: str) -> str:
    lines = text.split("\r\n")
    # Line 5 (I-1-イ-3, 観光統計データの活用): a field after its last (the 提出コード) opens a quote that is
    # never closed.
    lines[4] = lines[4] + ',"閉じていない引用符で始まる取組'
    return "\r\n".join(lines)


def _arabic_indic_year(rows: list[list[str]]) -> None:
    for row in rows[1:]:
        row[0] = "٢٠٢٠"


def _tenken_department_of_csv(rows: list[list[str]]) -> None:
    for row in rows[1:]:
        row[1] = "agriculture-policy"


def _proc_environ(sources: Sources, path: Path) -> str:
    return "/proc/self/environ"


SECRET_ENVIRONMENT = b"TENKEN_CORPUS_MARKER="  # the tests put it in the environment of every run


def _name(prefix: str) -> str:
    return f"hostile-{prefix}.xlsx"


SCRIPT = "<script>alert('x')</script><b>太字</b>&amp;<!-- c -->"


CASES: tuple[Case, ...] = (
    # ---------------------------------------------------------------- links and special files
    Case("a link to the process environment", "link", _name("link-environ"), _symlink(_proc_environ),
         keywords=("通常のファイル", "リンク"), secret=SECRET_ENVIRONMENT),
    Case("a link to /etc/passwd", "link", _name("link-passwd"), _symlink(lambda s, p: "/etc/passwd"),
         keywords=("通常のファイル", "リンク"), secret=b"root:"),
    Case("a link to a genuine workbook", "link", _name("link-genuine"),
         _symlink(lambda s, p: s.path("agriculture-policy")), keywords=("通常のファイル", "リンク")),
    Case("a dangling link", "link", _name("link-dangling"), _symlink(lambda s, p: p.parent / "nowhere.xlsx"),
         keywords=("通常のファイル", "リンク")),
    Case("a link to itself", "link", _name("link-loop"), _symlink(lambda s, p: p),
         keywords=("通常のファイル", "リンク")),
    Case("a FIFO named .xlsx", "special", _name("fifo"), _fifo, keywords=("通常のファイル",)),
    Case("a folder named .xlsx", "special", _name("folder"), _directory, outcome_only=True, direct=False),
    # ---------------------------------------------------------------- names
    Case("a genuine workbook with an 82-character Japanese name", "name", LONG_NAME + ".xlsx",
         _genuine("digital-strategy"), accepted=True, department="digital-strategy"),
    Case("a refused workbook with an 82-character Japanese name", "name", LONG_NAME[:-1] + "差.xlsx",
         _cells({"H9": "ゼロ件"}), keywords=("数値ではありません",), cell="H9"),
    Case("a name with a newline that imitates an output line", "name", NEWLINE_NAME,
         _cells({"G7": "100,000PV"}), keywords=("変更されています",), cell="G7"),
    Case("a name with terminal escapes and a bell", "name", CONTROL_NAME, _cells({"I10": "まる"}),
         keywords=("は選べません",), cell="I10"),
    Case("a name with a carriage return", "name", "観光課\r差替え.xlsx", _genuine("health-promotion"),
         accepted=True, department="health-promotion"),
    Case("a name with a right-to-left override", "name", "tenken-\u202eslx.exe.xlsx", _genuine("sme-support"),
         accepted=True, department="sme-support"),
    Case("a name in decomposed Unicode (as macOS writes it)", "name", "テ\u3099ータ.xlsx", _genuine("regional-cooperation"),
         accepted=True, department="regional-cooperation"),
    Case("a genuine workbook without an extension", "name", "観光課の提出", _genuine("urban-planning"),
         accepted=True, department="urban-planning"),
    # Hidden names are given through their folder: a folder scan must not skip them.
    Case("a hidden file", "hidden", ".tenken-2020-tourism-隠し.xlsx", _write(_hidden_variant), outcome_only=True,
         direct=False),
    Case("an Excel lock file", "hidden", "~$tenken-2020-tourism.xlsx", _lock_file, keywords=("ロック", "一時"),
         direct=False),
    Case("a LibreOffice lock file", "hidden", ".~lock.tenken-2020-tourism.xlsx#", _libreoffice_lock,
         keywords=("ロック", "一時", "受け付けられるのは"), direct=False),
    # ---------------------------------------------------------------- limits before parsing
    Case("a workbook with a value in XFD20000", "far cell", _name("far-cell"), _write(_far_cell),
         keywords=("XFD20000", "範囲", "多すぎ", "大きすぎ"), worst=True),
    Case("a workbook with 3 million shared strings", "shared strings", _name("shared-strings"),
         _write(_shared_strings_bomb), keywords=("文字列", "多すぎ", "大きすぎ", "展開"), worst=True),
    Case("a workbook with 300,000 cells", "300k cells", _name("cells"), _write(_many_cells),
         keywords=("セル", "多すぎ", "大きすぎ", "範囲"), worst=True),
    Case("a workbook with about 20,000 problems", "20k problems", _name("problems"),
         _write(_twenty_thousand_problems), keywords=("施策番号のない入力", "多すぎ"), worst=True),
    Case("a zip bomb", "zip bomb", _name("zip-bomb"), _zip_bomb, keywords=("圧縮率",), worst=True),
    Case("a zip bomb of small parts", "zip bomb", _name("zip-bomb-parts"), _write(_zip_bomb_of_small_parts),
         keywords=("圧縮", "展開"), worst=True),
    Case("a zip whose sizes lie", "zip bomb", _name("zip-lying"), _write(_zip_with_lying_sizes),
         keywords=("壊れ", "圧縮", "展開")),
    Case("a zip of 300 parts", "zip bomb", _name("zip-parts"), _write(_too_many_parts), keywords=("構成要素",)),
    Case("a zip with encrypted entries", "zip bomb", _name("zip-encrypted"), _write(_encrypted_entry),
         keywords=("壊れ", "暗号", "パスワード")),
    Case("an XXE in workbook.xml", "xxe", _name("xxe-workbook"), _xxe_in("xl/workbook.xml"),
         keywords=("DOCTYPE",), secret=b"root:"),
    Case("an XXE entity used in a cell", "xxe", _name("xxe-cell"), _xxe_in(INPUT_PART, reference="&xxe;"),
         keywords=("DOCTYPE",), secret=b"root:"),
    Case("a billion laughs in the shared strings", "xxe", _name("xxe-laughs"), _write(_billion_laughs_strings),
         keywords=("DOCTYPE",)),
    Case("a DOCTYPE in a UTF-16 sheet", "xxe", _name("xxe-utf16"), _xxe_in(INPUT_PART, encoding="utf-16"),
         keywords=("DOCTYPE",), secret=b"root:"),
    Case("a DOCTYPE in [Content_Types].xml", "xxe", _name("xxe-types"), _xxe_in("[Content_Types].xml"),
         keywords=("DOCTYPE",), secret=b"root:"),
    Case("an oversized workbook", "oversized", _name("oversized"), _oversized, keywords=("大きすぎ",)),
    Case("an oversized CSV", "oversized", "hostile-oversized.csv", _oversized_csv, keywords=("大きすぎ",)),
    Case("a huge CSV under the size limit", "huge csv", "hostile-huge.csv", _huge_csv,
         keywords=("多すぎ", "大きすぎ", "重複"), worst=True),
    Case("an empty workbook file", "empty", _name("empty"), _write(lambda s: b""), keywords=("空",)),
    Case("an empty CSV", "empty", "hostile-empty.csv", _write(lambda s: b""), keywords=("空",)),
    Case("a PDF named .xlsx", "renamed", _name("pdf"), _write(_pdf), keywords=("Excel ブック（.xlsx）ではありません",)),
    Case("a PNG named .xlsx", "renamed", _name("png"), _write(_png), keywords=("Excel ブック（.xlsx）ではありません",)),
    Case("a text file named .xlsx", "renamed", _name("text"), _write(lambda s: "実績は841,586PVです。".encode("cp932")),
         keywords=("Excel ブック（.xlsx）ではありません",)),
    Case("an HTML page named .xlsx", "renamed", _name("html"),
         _write(lambda s: b"<html><body><table><tr><td>841,586PV</td></tr></table></body></html>"),
         keywords=("Excel ブック（.xlsx）ではありません",)),
    Case("a plain zip named .xlsx", "renamed", _name("zip"), _write(_plain_zip),
         keywords=("読み込めませんでした", "依頼ファイルではありません")),
    Case("an OpenDocument spreadsheet named .xlsx", "renamed", _name("ods"), _write(_ods),
         keywords=("読み込めませんでした", "依頼ファイルではありません")),
    Case("a half-written workbook", "renamed", _name("truncated"), _write(_truncated), keywords=("壊れ",)),
    Case("a legacy .xls", "ole", "hostile-legacy.xls", _write(_ole(("Workbook", "SummaryInformation"))),
         keywords=("古い形式",)),
    Case("a password-protected workbook", "ole", _name("password"),
         _write(_ole(("EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"))), keywords=("パスワード",)),
    Case("a macro-enabled workbook", "macro", "hostile-macro.xlsm", _write(_macro), keywords=("マクロ",)),
    Case("a macro-enabled workbook named .xlsx", "macro", _name("macro"), _write(_macro), keywords=("マクロ",)),
    # ---------------------------------------------------------------- plausibility
    Case("a negative count", "plausibility", _name("negative"), _cells({"H9": "-5件"}),
         keywords=("負", "マイナス", "0以上", "0 以上"), cell="H9"),
    Case("a count of 10^400", "plausibility", _name("huge-number"), _cells({"H9": "1" + "0" * 400 + "件"}),
         keywords=("大きすぎ", "桁"), cell="H9"),
    Case("Arabic-Indic digits", "plausibility", _name("arabic-indic"), _cells({"H9": "٣件"}),
         keywords=("数字", "数値"), cell="H9"),
    Case("a NUL in a text cell", "plausibility", _name("nul"),
         _raw_cells({"L7": inline("L7", "宿泊施設紹介ページ_x0000_の改善")}), keywords=("制御", "文字"), cell="L7"),
    Case("an ESC in a text cell", "plausibility", _name("esc"),
         _raw_cells({"L7": inline("L7", "_x001B_[2J画面を消す取組")}), keywords=("制御", "文字"), cell="L7"),
    Case("a right-to-left override in a text cell", "plausibility", _name("rlo"),
         _cells({"L7": "観光情報を\u202e信発しました"}), keywords=("制御", "文字"), cell="L7"),
    Case("a value 150 times the target", "plausibility", _name("outlier"), _cells({"H9": "18,000件"}),
         accepted=True, department=TOURISM),
    # ---------------------------------------------------------------- formulas
    Case("a HYPERLINK formula", "formula", _name("hyperlink"), _cells({"H10": '=HYPERLINK("http://x.example/","実施")'}),
         keywords=("数式",), cell="H10"),
    Case("a DDE formula", "formula", _name("dde"), _cells({"J9": "=cmd|' /C calc'!A0"}), keywords=("数式",), cell="J9"),
    Case("a formula typed with +", "formula", _name("plus-cmd"),
         _raw_cells({"H9": "<c r=\"H9\" s=\"7\" t=\"str\"><f>+cmd|' /C calc'!A0</f><v>0件</v></c>"}),
         keywords=("数式",), cell="H9"),
    Case("an @SUM formula", "formula", _name("at-sum"), _cells({"H7": "=@SUM(H8:H8)"}), keywords=("数式",), cell="H7"),
    Case("a formula with a plausible cached value", "formula", _name("cached"),
         _raw_cells({"H9": '<c r="H9" s="7" t="str"><f>CONCAT(0,"件")</f><v>0件</v></c>'}),
         keywords=("数式",), cell="H9"),
    Case("a formula outside the form", "formula", _name("stray-formula"), _cells({"Z50": "=1+1"}),
         keywords=("数式",), cell="Z50"),
    Case("a formula in the identification sheet", "formula", _name("meta-formula"),
         _cells({"B3": '="tour"&"ism"'}, sheet="_tenken"), keywords=("識別情報が変更",)),
    # ---------------------------------------------------------------- who and when
    Case("a workbook naming another department", "spoofed department", _name("spoofed"),
         _cells({"B3": "agriculture-policy"}, sheet="_tenken"), keywords=("観光課の施策です",), cell="A7"),
    Case("a genuine workbook sent by another department", "spoofed department", _name("sent-by-other"),
         _cells({"L10": "農政課から送られた観光課のファイル"}), keywords=("観光課の依頼ファイルですが、農政課から提出されました",),
         sender="agriculture-policy"),
    Case("a workbook naming an unknown department", "spoofed department", _name("unknown-department"),
         _cells({"B3": "ministry-of-magic"}, sheet="_tenken"), keywords=("所属の一覧にありません",)),
    Case("a CSV naming another department", "spoofed department", "hostile-spoofed.csv",
         _csv(_tenken_department_of_csv), keywords=("観光課の施策です",), cell="2行目「施策番号」"),
    Case("a workbook of another year", "wrong year", _name("year-2021"), _cells({"B2": 2021}, sheet="_tenken"),
         keywords=("令和3年度の依頼ファイルです",)),
    Case("a workbook with an unreadable year", "wrong year", _name("year-r2"), _cells({"B2": "R2"}, sheet="_tenken"),
         keywords=("読み取れません",)),
    Case("a workbook with the year in Arabic-Indic digits", "wrong year", _name("year-arabic"),
         _cells({"B2": "٢٠٢٠"}, sheet="_tenken"), outcome_only=True),
    Case("a CSV of another year", "wrong year", "hostile-year-2019.csv", _csv(_set_all("年度", "2019")),
         keywords=("令和元年度の依頼ファイルです",)),
    # ---------------------------------------------------------------- units and digits
    Case("an actual in 万人 for a target in 人", "units", _name("man-nin"),
         _cells({"H8": "１万人"}, department="inochi-mirai-strategy"), keywords=("単位",), cell="H8"),
    Case("an actual in another unit", "units", _name("unit"), _cells({"H9": "0人"}), keywords=("単位「人」",), cell="H9"),
    Case("full-width digits", "units", _name("full-width"), _cells({"H7": "８４１，５８６ＰＶ"}),
         accepted=True, department=TOURISM),
    # ---------------------------------------------------------------- CSV
    Case("a Shift_JIS CSV", "csv", "hostile-sjis.csv", _csv(_set("主な取組", 4, "シフトJISで保存しました。"), "cp932"),
         accepted=True, department=TOURISM),
    Case("a UTF-8 CSV with a BOM", "csv", "hostile-bom.csv", _csv(_set("主な取組", 5, "BOM付きです。"), "utf-8-sig"),
         accepted=True, department=TOURISM),
    Case("a UTF-16 CSV", "csv", "hostile-utf16.csv", _csv(encoding="utf-16"), keywords=("文字コード",)),
    Case("a CSV in an unknown encoding", "csv", "hostile-bytes.csv", _write(lambda s: bytes(range(0x80, 0x100)) * 4),
         keywords=("文字コード",)),
    Case("a CSV with an unterminated quote", "csv", "hostile-quote.csv", _csv(text_change=_unterminated_quote),
         keywords=("引用符",), also=("5行目",)),
    Case("a CSV with a HYPERLINK formula", "csv formula", "hostile-hyperlink.csv",
         _csv(_set("実績", 2, '=HYPERLINK("http://x.example/","1")')), keywords=("数式",), cell="2行目「実績」"),
    Case("a CSV with +cmd", "csv formula", "hostile-plus.csv",
         _csv(_set("未達成の理由及び今後の見込み等", 4, "+cmd|' /C calc'!A0")), keywords=("数式",),
         cell="4行目「未達成の理由及び今後の見込み等」"),
    Case("a CSV with @SUM", "csv formula", "hostile-at.csv", _csv(_set("主な取組", 5, "@SUM(1+1)*cmd|' /C calc'!A0")),
         keywords=("数式",), cell="5行目「主な取組」"),
    Case("a CSV with -2+3+cmd", "csv formula", "hostile-minus.csv",
         _csv(_set("主な取組", 2, "-2+3+cmd|' /C calc'!A0")), keywords=("数式",), cell="2行目「主な取組」"),
    Case("a CSV with a field of 200,000 characters", "csv", "hostile-long-field.csv",
         _csv(_set("主な取組", 2, "長" * 200_000)), keywords=("長すぎ", "大きすぎ", "形式")),
    Case("a CSV with full-width digits", "csv", "hostile-full-width.csv", _csv(_set("実績", 2, "８４１，５８６ＰＶ")),
         accepted=True, department=TOURISM),
    Case("HTML and script in free text", "markup", _name("script"), _cells({"L7": SCRIPT}),
         accepted=True, department=TOURISM),
    Case("HTML and script in a CSV", "markup", "hostile-script.csv", _csv(_set("主な取組", 4, SCRIPT)),
         accepted=True, department=TOURISM),
    # ---------------------------------------------------------------- already covered elsewhere, kept in the mix
    Case("an unknown measure", "form", _name("unknown-measure"), _cells({"A9": "I-9-ア-9"}),
         keywords=("施策番号「I-9-ア-9」は計画にありません",), cell="A9"),
    Case("an edited target", "form", _name("target"), _cells({"G7": "100,000PV"}), keywords=("変更されています",),
         cell="G7"),
    Case("text in a numeric cell", "form", _name("text-number"), _cells({"H9": "ゼロ"}),
         keywords=("数値ではありません",), cell="H9"),
    Case("a miss without a reason", "form", _name("no-reason"), _cells({"J9": None}),
         keywords=("を入力してください",), cell="J9"),
    Case("a workbook that is not a request", "form", _name("plain"),
         _write(lambda s: _plain_workbook()), keywords=("依頼ファイルではありません",)),
    Case("the same bytes as a genuine workbook under another name", "duplicate", "観光課（再送）.xlsx",
         _genuine(TOURISM), accepted=True, department=TOURISM),
)


def _plain_workbook() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active["A1"] = "施策番号"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


CASES_BY_NAME = {case.name: case for case in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names are unique"
assert len({c.file_name for c in CASES}) == len(CASES), "file names are unique"
assert not any(c.department in LEFT_OUT for c in CASES)


# ------------------------------------------------------------------ one file in a fresh process


def measure(path: Path, sender: str | None = None) -> dict:
    """Take in one file in a fresh ledger; the cost of that alone (imports excluded)."""
    import resource
    import tempfile
    import time

    from tenken.config import DEFAULT_CONFIG, load_plan
    from tenken.intake import Intake
    from tenken.ledger import Ledger
    from tenken.services import adjustments_of, office_results

    plan = load_plan(DEFAULT_CONFIG)
    with tempfile.TemporaryDirectory() as scratch, Ledger.open(f"sqlite:///{scratch}/ledger.db") as ledger:
        intake = Intake(plan, YEAR, ledger, answers_dir=Path(scratch) / "answers",
                        adjustments=adjustments_of(office_results(YEAR)))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        hwm_before = _status().get("VmHWM", 0)
        started = time.perf_counter()
        outcomes = intake.run([path], sender=sender)
        elapsed = time.perf_counter() - started
        problems = [p.message for o in outcomes for p in o.record.problems]
    status = _status()
    # ru_maxrss carries over the peak of whatever process forked this one (Linux keeps it across exec),
    # so the peak RSS of this process's own memory is VmHWM; both are reported.
    return {"elapsed": elapsed, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "maxrss_before_kb": before, "vmhwm_kb": status.get("VmHWM", 0), "vmhwm_before_kb": hwm_before,
            "vmpeak_kb": status.get("VmPeak", 0),
            "outcomes": len(outcomes), "accepted": [o.accepted for o in outcomes],
            "problem_count": len(problems), "problems": problems[:5]}


def _status() -> dict[str, int]:
    values = {}
    with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0])
    return values


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json
    import resource
    import sys

    parser = argparse.ArgumentParser(description="Take in one file; print its cost as JSON.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--limit-as", type=int, default=0, help="RLIMIT_AS in bytes (0: none)")
    parser.add_argument("--sender")
    args = parser.parse_args(argv)
    if args.limit_as:
        resource.setrlimit(resource.RLIMIT_AS, (args.limit_as, args.limit_as))
    result = measure(args.file, args.sender)
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
