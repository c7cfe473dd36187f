"""A report's PDF laid out by several processes and assembled into one PDF.

A large annex is cut into chunks of whole <tbody> (ROWS_PER_CHUNK measures or more each): the first chunk
is the report with the annex's first rows, every other one a document of annex rows only (same head,
same stylesheet, the table's <colgroup> and <thead>). An annex of one chunk (FY2020's 76 measures) makes
the second chunk whole, heading and all, and the front matter the first (front_and_annex): the annex
starts a page of its own, so the cut moves nothing; the first chunk keeps a stub of the annex (its
heading, no table) for the contents' page number and link to find, and drops that page once laid out.
Each chunk is laid out, painted and serialised by WeasyPrint in a worker process; this process numbers
the objects and writes one PDF. What a single WeasyPrint pass gives, the assembly keeps:

- the tag tree (PDF/UA-1): one StructTreeRoot and Document element, the chunks' structure elements under
  it in order (WeasyPrint makes structure elements per page anyway), the parent tree renumbered to the
  whole document's pages and link annotations, table header IDs kept unique;
- bookmarks: one outline made of every chunk's pages, as WeasyPrint makes one of one document's (a heading
  nests under the last higher heading, whichever chunk that was in);
- the running headers and footers: a continuation chunk has no cover to take the date and the title
  from, so it gets them as literal strings (running_strings); its page numbers continue the previous
  chunk's: once the pages ahead of a chunk are counted, WeasyPrint lays out the numbers of its pages (a
  document of empty annex pages whose counter starts there) and each number's margin box joins its
  page before painting;
- fonts embedded once: each chunk reports the glyphs it drew; this process loads each font once and
  embeds one subset of every glyph drawn (WeasyPrint's own font dictionaries; its subsets keep glyph
  IDs, so every chunk's text shows with the one subset). The fonts are subset and deflated in threads,
  side by side (HarfBuzz and zlib let go of the interpreter);
- the same bytes for the same HTML: chunks are cut by rows, never by the number of processes; objects
  are numbered in chunk order; nothing carries a time or a random ID. On one core the same steps run
  in this process, one after the other, and write the same bytes.

The three steps of a chunk each wait for what the chunks ahead of it found: its layout for nothing,
its painting for the page count ahead (its first page number), its serialisation for the object count
ahead (its object numbers). A worker that is free gets the next step it can take (_Schedule): first
those of the chunks it laid out, else the next chunk's layout.

If the chunks cannot be assembled faithfully (a glyph no font has, numbered differently by each chunk;
a font this process cannot load as the worker had it) or a worker process is lost, the report is
rendered in one pass instead, with a warning in the log; any other failure of the chunked render (a
fault here, or WeasyPrint failing in a worker) also falls back to one pass, logged with its traceback,
so that only a report one pass cannot render either fails.
"""

from __future__ import annotations

import gc
import html as html_entities
import logging
import re
import traceback
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from multiprocessing.connection import Connection, wait
from types import SimpleNamespace

import pydyf
from weasyprint import CSS, DEFAULT_OPTIONS, HTML
from weasyprint.anchors import make_page_bookmark_tree
from weasyprint.formatting_structure.boxes import MarginBox
from weasyprint.matrix import Matrix
from weasyprint.pdf import VARIANTS, generate_pdf
from weasyprint.pdf.anchors import add_outlines
from weasyprint.pdf.fonts import Font, build_fonts_dictionary
from weasyprint.text.ffi import TO_UNITS, ffi, gobject, pango
from weasyprint.text.fonts import FontConfiguration, get_pango_font_key

from tenken.processes import forks_here, start_context, usable_cpus
from tenken.report.render import BASE_URL, PDF_VARIANT, AssetFetcher, collector_paused, write_pdf
from tenken.report.warm import Warnings, replay

LOGGER = logging.getLogger(__name__)

# Measures per chunk: a chunk costs about a quarter of a second of its own (its stylesheet, fonts and
# page numbers) and, at this size, four seconds of rows; 3,000 measures make five chunks.
ROWS_PER_CHUNK = 600
# What the cover, the contents and the sections cost to lay out, in annex rows (FY2020: about 100).
FRONT_ROWS = 100
MEASURE_ROW = '<tr class="measure'

TABLE = re.compile(r'<table class="annex-table"[^>]*>')
BODY = re.compile(r"<tbody>.*?</tbody>", re.DOTALL)
BODY_OPEN = re.compile(r"<body[^>]*>")
WATERMARK = re.compile(r'<div class="watermark"[^>]*>.*?</div>', re.DOTALL)
# Where report.css takes its running strings from (string-set): the cover's title and date, the
# annex's heading. A continuation chunk has none of them and is given their text.
COVER_TITLE = re.compile(r'<header class="cover">.*?<h1[^>]*>(.*?)</h1>', re.DOTALL)
COVER_DATE = re.compile(r'<p class="cover-date">(.*?)</p>', re.DOTALL)
ANNEX_TITLE = re.compile(r'<h2 id="annex-title">(.*?)</h2>', re.DOTALL)
ANNEX_SECTION = '<section class="annex"'
ANNEX_ID = re.compile(r'<section class="annex"[^>]*\bid="([^"]+)"')
CLOSING = "\n</main>\n</body>\n</html>\n"
# What may follow the annex table for the report to be cut: the closing tags only (report.html ends
# with the annex).
LAST = re.compile(r"\s*</section>\s*</main>\s*</body>\s*</html>\s*")

# Objects this process writes itself, numbered first; the chunks' objects follow, in chunk order.
CATALOG, PAGES, STRUCT_ROOT, STRUCT_DOCUMENT, PARENT_TREE, FONTS, INFO = range(1, 8)
FIRST_CHUNK_OBJECT = 8
REFERENCE = re.compile(rb"(\d+) 0 R")
# zlib levels: pydyf deflates everything at 9, which takes six times as long as 6 for a tenth less on
# object streams, and over a second on the cross-reference table of 3,000 measures, where 1 is as small.
OBJECT_STREAM_LEVEL = 6
XREF_LEVEL = 1
HEADER_ID = re.compile(r"(\d+)(-\d+-\d+)")


class Unassemblable(Exception):
    """The chunks cannot make the PDF one pass would; render in one pass."""


class WorkerLost(Unassemblable):
    """A worker process could not start or ended before its chunks were done (killed, out of memory)."""


@dataclass(frozen=True)
class RunningStrings:
    """The running header and footers' text, as string-set gives it (content(): the element's text,
    its white space collapsed)."""

    published: str
    report_title: str
    annex_title: str


@dataclass(frozen=True)
class Chunk:
    index: int
    markup: str  # a whole HTML document
    stylesheet: str  # for a continuation chunk: its running strings, no page number; "" for the first
    head: str  # the document up to <body>, for the page-number document
    # The id of the element whose pages, from its own to the last, are the next chunk's: they are laid out
    # here only so that the contents find their page number and their link target (see split).
    cut_at: str = ""


@dataclass(frozen=True)
class Split:
    markup: str  # the whole report, for the one-pass fallback
    chunks: tuple[Chunk, ...]
    # Cut only between the front matter and an annex of one chunk: given to processes by default only
    # where they fork from this one (render_chunks).
    front_and_annex: bool = False


def split(markup: str, rows_per_chunk: int | None = None) -> Split | None:
    """The report's print markup cut into chunks of `rows_per_chunk` measures or more (ROWS_PER_CHUNK);
    an annex of fewer rows is one chunk and the front matter the other (front_and_annex). None when the
    markup is not the report's (or has no annex table to cut at)."""
    rows_per_chunk = rows_per_chunk or ROWS_PER_CHUNK
    table = TABLE.search(markup)
    if table is None:
        return None
    head_end = markup.find("</thead>", table.end())
    end = markup.find("</table>", head_end)
    if head_end < 0 or end < 0:
        return None
    head_end += len("</thead>")
    region = markup[head_end:end]
    bodies = BODY.findall(region)
    if re.sub(r"\s+", "", "".join(bodies)) != re.sub(r"\s+", "", region):
        return None
    if not LAST.fullmatch(markup, end + len("</table>")):
        return None  # something follows the annex: no chunk would have it in its place
    groups = _groups(bodies, rows_per_chunk)
    strings = running_strings(markup)
    body_open = BODY_OPEN.search(markup)
    if strings is None or body_open is None:
        return None

    head = markup[:body_open.start()]
    watermark = WATERMARK.search(markup, body_open.end(), table.start())
    body = markup[:body_open.end()] + "\n" + (watermark.group(0) + "\n" if watermark else "") + "<main>\n"
    if len(groups) < 2:
        return _front_and_annex(markup, table.start(), end + len("</table>"), body, head, strings)
    opening = body + '<section class="annex">\n' + table.group(0) + markup[table.end():head_end] + "\n"
    closing = "\n</table>\n</section>" + CLOSING
    chunks = [Chunk(0, markup[:head_end] + "\n" + "\n".join(groups[0]) + "\n" + markup[end:], "", head)]
    stylesheet = continuation_stylesheet(strings)
    chunks += [Chunk(i, opening + "\n".join(group) + closing, stylesheet, head)
               for i, group in enumerate(groups[1:], 1)]
    return Split(markup, tuple(chunks))


def _front_and_annex(markup: str, table: int, table_end: int, body: str, head: str,
                     strings: RunningStrings) -> Split | None:
    """Two chunks: the report with its annex section emptied of the table (a stub: one page, that the
    contents' page number and link to the annex find it, dropped once laid out), and the annex section
    whole. The annex starts a page of its own (report.css), so the cut moves no page break."""
    section = markup.rfind(ANNEX_SECTION, 0, table)
    close = markup.find("</section>", table_end)
    match = ANNEX_ID.search(markup, section, table) if section >= 0 else None
    if match is None or close < 0:
        return None
    close += len("</section>")
    front = Chunk(0, markup[:table] + markup[table_end:], "", head, cut_at=match.group(1))
    annex = Chunk(1, body + markup[section:close] + CLOSING, continuation_stylesheet(strings, annex_title=False),
                  head)
    return Split(markup, (front, annex), front_and_annex=True)


def _groups(bodies: list[str], rows_per_chunk: int) -> list[list[str]]:
    """The <tbody> cut into one run every `rows_per_chunk` measures or so, the first run carrying the
    report's front matter too (FRONT_ROWS). Runs get smaller towards the end (the last a third of the
    first), so that the last layouts end about together whatever the number of processes."""
    weights = [body.count(MEASURE_ROW) for body in bodies]
    total = FRONT_ROWS + sum(weights)
    count = max(1, round(total / rows_per_chunk))
    shares = [count + 1 - j for j in range(count)]
    targets = list(accumulate(total * share / sum(shares) for share in shares))[:-1]
    cuts, reached = [], FRONT_ROWS
    for i, weight in enumerate(weights[:-1]):
        reached += weight
        if len(cuts) < len(targets) and abs(reached - targets[len(cuts)]) <= abs(
                reached + weights[i + 1] - targets[len(cuts)]):
            cuts.append(i + 1)
    edges = [0, *cuts, len(bodies)]
    return [bodies[start:end] for start, end in pairwise(edges)]


def _text(fragment: str) -> str:
    """An element's text as content() gives it: tags dropped, entities read, HTML white space collapsed."""
    text = html_entities.unescape(re.sub(r"<[^>]*>", "", fragment))
    return re.sub(r"[ \t\n\r\f]+", " ", text).strip(" \t\n\r\f")


def running_strings(markup: str) -> RunningStrings | None:
    found = [pattern.search(markup) for pattern in (COVER_DATE, COVER_TITLE, ANNEX_TITLE)]
    if any(match is None for match in found):
        return None
    return RunningStrings(*(_text(match.group(1)) for match in found))


def css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'


def continuation_stylesheet(strings: RunningStrings, annex_title: bool = True) -> str:
    """A continuation chunk's margin boxes: report.css's running strings as text (the annex title on every
    page of rows: the annex's first page, where report.css leaves it out, is in an earlier chunk; a chunk
    with the annex's heading sets that string itself); no page number, which is laid out once the pages
    ahead are counted (page_numbers_stylesheet). WeasyPrint takes these as a user stylesheet: !important
    puts them above the report's own rules."""
    title = f"  @top-left {{ content: {css_string(strings.annex_title)} !important }}\n" if annex_title else ""
    return ("@page annex {\n" + title +
            f"  @bottom-left {{ content: {css_string(strings.published)} !important }}\n"
            "  @bottom-center { content: none !important }\n"
            f"  @bottom-right {{ content: {css_string(strings.report_title)} !important }}\n"
            "}\n")


def page_numbers_stylesheet(first: int) -> str:
    """Empty annex pages showing only report.css's page number, the first one `first`."""
    return ("@page annex { @top-left { content: none !important } @bottom-left { content: none !important }"
            " @bottom-right { content: none !important } }\n"
            f"@page :first {{ counter-reset: page {first} !important }}\n"
            ".page-slot + .page-slot { break-before: page !important }\n")


def page_numbers_markup(head: str, pages: int) -> str:
    return (head + '<body>\n<main><section class="annex">' + '<div class="page-slot"></div>' * pages
            + "</section></main>\n</body>\n</html>\n")


def _pdf_options() -> dict:
    """write_pdf's options for the report: WeasyPrint's defaults, the PDF/UA-1 variant's own."""
    options = dict(DEFAULT_OPTIONS, pdf_variant=PDF_VARIANT)
    for key, value in VARIANTS[PDF_VARIANT][1].items():
        if options.get(key) is None:
            options[key] = value
    return options


def _number(reference: bytes) -> int:
    return int(reference.split(b" ", 1)[0])


def _reference(number: int) -> bytes:
    return b"%d 0 R" % number


@dataclass(frozen=True)
class Layout:
    pages: int
    last_number: int  # the page counter on the chunk's last page (the first chunk's own numbering)


@dataclass(frozen=True)
class Numbering:
    first_object: int
    first_page: int  # index of the chunk's first page in the document
    first_annotation: int  # parent tree key of the chunk's first link annotation


@dataclass(frozen=True)
class FontUsage:
    """The glyphs a chunk drew in one font, and what identifies the font."""

    hash: str
    family: str
    style: int
    weight: int
    variations: tuple[tuple[str, float], ...]
    size: float
    identity: tuple[int, int, int]  # face index, glyph count, units per em
    to_unicode: dict[int, str]
    widths: dict[int, int]
    missing: int
    used_in_forms: bool


@dataclass(frozen=True)
class Painted:
    objects: int
    annotations: int
    fonts: tuple[FontUsage, ...]  # every glyph the chunk drew: its painting is done


@dataclass
class Part:
    """A chunk's objects, serialised and numbered, and what the document's own objects need of it."""

    data: bytes
    direct: list[tuple[int, int]]  # object number, offset in data
    packed: list[tuple[int, int, int]]  # object number, object stream number, index
    pages: list[bytes]
    structure: list[bytes]  # the Document element's children
    parent_tree: list[tuple[int, bytes]]
    destinations: list[tuple[str, bytes]]
    bookmarks: list  # per page: its bookmarks (_page_bookmarks)
    fonts: list[FontUsage]
    catalog: dict[str, bytes] = field(default_factory=dict)  # the first chunk's: language, metadata, …
    info: dict[str, bytes] = field(default_factory=dict)


class ChunkWork:
    """One chunk through its three steps, in whichever process renders it. The cyclic garbage collector
    is paused around them (render_chunks, _worker): a chunk's boxes live until it is serialised."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk

    def layout(self) -> Layout:
        self.font_config = FontConfiguration()
        sheets = [CSS(string=self.chunk.stylesheet)] if self.chunk.stylesheet else None
        self.document = HTML(string=self.chunk.markup, base_url=BASE_URL, url_fetcher=AssetFetcher()).render(
            font_config=self.font_config, pdf_variant=PDF_VARIANT, stylesheets=sheets)
        self.moved = _cut(self.document, self.chunk.cut_at) if self.chunk.cut_at else frozenset()
        return Layout(len(self.document.pages), _page_counter(self.document))

    def paint(self, first_number: int | None) -> Painted:
        if first_number is not None:
            self._number_pages(first_number)
        self.document.fonts = _FontsLeftOut()
        self.pdf = generate_pdf(self.document, None, 1, **_pdf_options())
        self.graph = _Graph(self.pdf, keep_metadata=self.chunk.index == 0)
        fonts = tuple(_usage(font) for font in dict.values(self.document.fonts))
        return Painted(self.graph.count, len(self.graph.annotations), fonts)

    def _number_pages(self, first: int) -> None:
        pages = self.document.pages
        self.numbers = HTML(string=page_numbers_markup(self.chunk.head, len(pages)), base_url=BASE_URL,
                            url_fetcher=AssetFetcher()).render(
            font_config=self.font_config, pdf_variant=PDF_VARIANT,
            stylesheets=[CSS(string=page_numbers_stylesheet(first))])
        if len(self.numbers.pages) != len(pages):
            raise Unassemblable("the page-number document has another page count")
        for page, numbered in zip(pages, self.numbers.pages):
            number = [box for box in numbered._page_box.children
                      if isinstance(box, MarginBox) and box.at_keyword == "@bottom-center"]
            page._page_box.children = (*page._page_box.children, *number)

    def serialize(self, numbering: Numbering) -> Part:
        part = self.graph.serialize(numbering, self.chunk.index)
        part.destinations = [(name, target) for name, target in part.destinations if name not in self.moved]
        part.bookmarks = [_page_bookmarks(page) for page in self.document.pages]
        self.document = self.pdf = self.graph = self.numbers = None
        return part


class _FontsLeftOut(dict):
    """A chunk's fonts, as WeasyPrint's painting fills them in (by key), but empty to its font writer
    (which takes values()): the document embeds each font once, so subsetting it here would be wasted."""

    def values(self):
        return ()


def _page_counter(document) -> int:
    """The page counter on the document's last page (counter-reset, -set, -increment of each page)."""
    number = 0
    for page in document.pages:
        style = page._page_box.style
        for prop in ("counter_reset", "counter_set", "counter_increment"):
            for name, value in style[prop] if style[prop] != "auto" else ():
                if name == "page":
                    number = number + value if prop == "counter_increment" else value
    return number


def _cut(document, anchor: str) -> frozenset[str]:
    """Drops the pages from the one where `anchor` is to the last (the next chunk's), and names the anchors
    they had. Those stay on the last page kept, so that links to them are written (WeasyPrint drops a link
    without its target); their destinations are the next chunk's (ChunkWork.serialize)."""
    pages = document.pages
    at = next((i for i, page in enumerate(pages) if anchor in page.anchors), 0)
    if at == 0:
        raise Unassemblable(f"no page of the front matter before #{anchor}")
    moved = {}
    for page in pages[at:]:
        for name, position in page.anchors.items():
            moved.setdefault(name, position)
    del pages[at:]
    for name, position in moved.items():
        pages[-1].anchors.setdefault(name, position)
    return frozenset(moved)


def _page_bookmarks(page) -> list:
    """A page's bookmarks as make_bookmark_tree(0.75, transform_pages=True) places them (PDF points from
    the page's bottom left): the document's outline is made from every chunk's pages (_bookmark_tree)."""
    matrix = Matrix(a=0.75, d=-0.75, f=page.height * 0.75)
    return [(level, label, tuple(matrix.transform_point(x, y)), state)
            for level, label, (x, y), state in page.bookmarks]


def _bookmark_tree(pages: list[list]) -> list:
    """The outline of the whole document's pages, as WeasyPrint's make_bookmark_tree makes it of one
    document's: a heading nests under the last heading of a higher level, whichever chunk that was in."""
    root: list = []
    skipped_levels: list[int] = []
    last_by_depth = [root]
    previous_level = 0
    identity = Matrix()
    for number, bookmarks in enumerate(pages):
        previous_level = make_page_bookmark_tree(SimpleNamespace(bookmarks=bookmarks), skipped_levels,
                                                 last_by_depth, previous_level, number, identity)
    return root


def _usage(font: Font) -> FontUsage:
    return FontUsage(
        hash=font.hash, family=font.family, style=int(font.style), weight=int(font.weight),
        variations=tuple(sorted(font.variations.items())), size=font.font_size,
        identity=(font.index, font.glyph_count, font.upem), to_unicode=dict(font.to_unicode),
        widths=dict(font.widths), missing=len(font.missing), used_in_forms=font.used_in_forms)


class _Graph:
    """A chunk's pydyf objects as WeasyPrint made them, sorted into what the document keeps of them and
    what it makes once for every chunk (catalog, page tree, structure root and parent tree, outline,
    fonts)."""

    def __init__(self, pdf: pydyf.PDF, keep_metadata: bool) -> None:
        self.pdf = pdf
        objects = pdf.objects
        catalog = pdf.catalog
        self.struct_root = objects[_number(catalog["StructTreeRoot"])]
        self.struct_document = objects[_number(self.struct_root["K"][0])]
        parent_tree = objects[_number(self.struct_root["ParentTree"])]
        pages = [objects[number] for number in pdf.pages["Kids"][::3]]
        resources = {page["Resources"] for page in pages}
        if len(resources) != 1:
            raise Unassemblable("pages with resources of their own")
        self.resources = objects[_number(resources.pop())]
        self.fonts = objects[_number(self.resources["Font"])]

        dropped = {0, pdf.pages.number, catalog.number, self.struct_root.number, self.struct_document.number,
                   parent_tree.number}
        dropped |= _reachable(objects, self.fonts)
        if "Outlines" in catalog:
            dropped |= _outline(objects, _number(catalog["Outlines"]))
        if "Metadata" in catalog and not keep_metadata:
            dropped.add(_number(catalog["Metadata"]))
        self.kept = [obj for obj in objects if obj.number not in dropped]

        nums = parent_tree["Nums"]
        self.page_arrays = [nums[2 * i + 1] for i in range(len(pages))]
        self.annotations = list(zip(nums[2 * len(pages)::2], nums[2 * len(pages) + 1::2]))
        self.pages = pages
        self.count = len(self.kept) + len(pages) + 1  # and the chunk's object stream

    def serialize(self, numbering: Numbering, index: int) -> Part:
        first = numbering.first_object
        mapping = {obj.number: first + i for i, obj in enumerate(self.kept)}
        mapping.update({self.pdf.pages.number: PAGES, self.struct_root.number: STRUCT_ROOT,
                        self.struct_document.number: STRUCT_DOCUMENT, self.fonts.number: FONTS})
        relocate = _Relocation(mapping)
        page_count = len(self.pages)
        for obj in self.kept:
            if isinstance(obj, pydyf.Dictionary):
                if obj.get("Type") == "/Page":
                    obj["StructParents"] += numbering.first_page
                elif "StructParent" in obj:
                    obj["StructParent"] += numbering.first_annotation - page_count
                elif obj.get("S") == "/TH" and "ID" in obj:
                    obj["ID"] = relocate.header_id(obj["ID"])
                if isinstance(obj.get("A"), pydyf.Dictionary) and "Headers" in obj["A"]:
                    obj["A"]["Headers"] = pydyf.Array(relocate.header_id(h) for h in obj["A"]["Headers"])
        arrays = []
        for i, array in enumerate(self.page_arrays):
            arrays.append(array := pydyf.Array(array))
            array.number = first + len(self.kept) + i
        for obj in self.kept:
            obj.number = mapping[obj.number]
        stream_number = first + self.count - 1

        data = bytearray()
        direct, packed, compressed = [], [], []
        for obj in [*self.kept, *arrays]:
            if obj.compressible:
                packed.append((obj.number, stream_number, len(compressed)))
                compressed.append((obj.number, relocate.serialized(obj)))
            else:
                direct.append((obj.number, len(data)))
                data += b"%d 0 obj\n" % obj.number + relocate.serialized(obj) + b"\nendobj\n"
        object_stream = _object_stream(compressed)
        object_stream.number = stream_number
        direct.append((stream_number, len(data)))
        data += object_stream.indirect + b"\n"

        catalog = self.pdf.catalog
        destinations = []
        if "Names" in catalog and "Dests" in catalog["Names"]:
            names = catalog["Names"]["Dests"]["Names"]
            destinations = [(name.string, relocate.value(destination).data)
                            for name, destination in zip(names[::2], names[1::2])]
        part = Part(
            data=bytes(data), direct=direct, packed=packed,
            pages=[_reference(page.number) for page in self.pages],
            structure=[relocate.value(child) for child in self.struct_document["K"]],
            parent_tree=[(numbering.first_page + i, _reference(array.number)) for i, array in enumerate(arrays)]
            + [(numbering.first_annotation + key - page_count, relocate.value(reference))
               for key, reference in self.annotations],
            destinations=destinations, bookmarks=[], fonts=[])
        if index == 0:
            part.catalog = {key: pydyf._to_bytes(relocate.value(value)) for key, value in catalog.items()
                            if key in ("Lang", "ViewerPreferences", "MarkInfo", "Metadata")}
            part.info = {key: pydyf._to_bytes(value) for key, value in self.pdf.info.items()}
        return part


def _reachable(objects: list, start: pydyf.Object) -> set[int]:
    """The numbers of `start` and of every object it refers to, directly or not."""
    found = {start.number}
    todo = [start]
    while todo:
        for reference in _references(todo.pop()):
            number = _number(reference)
            if number not in found:
                found.add(number)
                todo.append(objects[number])
    return found


def _outline(objects: list, number: int) -> set[int]:
    """The numbers of an outline's items (their destinations are pages, which stay)."""
    found = set()
    todo = [number]
    while todo:
        found.add(number := todo.pop())
        todo += [_number(objects[number][key]) for key in ("First", "Next") if key in objects[number]]
    return found


def _references(value) -> list[bytes]:
    if isinstance(value, pydyf.Stream):
        value = value.extra
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _references(item)]
    if isinstance(value, list | tuple):
        return [ref for item in value for ref in _references(item)]
    if isinstance(value, bytes) and REFERENCE.fullmatch(value):
        return [value]
    return []


class _Relocation:
    """Rewrites a chunk's object references (b"12 0 R", as pydyf writes them) to document numbers."""

    # A reference, or a literal string to leave alone (pydyf escapes its parentheses and backslashes;
    # other strings are hexadecimal).
    SERIALIZED = re.compile(rb"\((?:[^()\\]|\\.)*\)|(\d+) 0 R", re.DOTALL)

    def __init__(self, mapping: dict[int, int]) -> None:
        self.mapping = mapping
        self.seen: set[int] = set()

    def _serialized_reference(self, match: re.Match) -> bytes:
        if match.group(1) is None:
            return match.group(0)
        return _reference(self.mapping[int(match.group(1))])

    def serialized(self, obj: pydyf.Object) -> bytes:
        """The object as pydyf writes it, its references renumbered (a stream's in its dictionary)."""
        data = obj.data
        if isinstance(obj, pydyf.Stream):
            dictionary, stream = data.split(b"\nstream\n", 1)
            return self.SERIALIZED.sub(self._serialized_reference, dictionary) + b"\nstream\n" + stream
        return self.SERIALIZED.sub(self._serialized_reference, data)

    def _rewrite(self, container: dict | list) -> None:
        if id(container) in self.seen:
            return
        self.seen.add(id(container))
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in list(items):
            if isinstance(value, bytes):
                if REFERENCE.fullmatch(value):
                    container[key] = _reference(self.mapping[_number(value)])
            elif isinstance(value, dict | list) and not isinstance(value, pydyf.Stream):
                self._rewrite(value)

    def value(self, value):
        """A value of the chunk's own objects that the document takes over (destinations, the
        structure's top elements, catalog entries), relocated."""
        if isinstance(value, bytes) and REFERENCE.fullmatch(value):
            return _reference(self.mapping[_number(value)])
        if isinstance(value, dict | list):
            self._rewrite(value)
        return value

    def header_id(self, key: pydyf.String) -> pydyf.String:
        """WeasyPrint names a table header "<table element's number>-<row>-<column>"."""
        match = HEADER_ID.fullmatch(key.string)
        if match is None:
            return key
        return pydyf.String(f"{self.mapping[int(match.group(1))]}{match.group(2)}")


def _object_stream(objects: list[tuple[int, bytes]]) -> pydyf.Stream:
    """Serialised objects packed as pydyf packs them, in one object stream (OBJECT_STREAM_LEVEL)."""
    offsets, position = [], 0
    for number, data in objects:
        offsets += [number, position]
        position += len(data) + 1
    header = " ".join(str(n) for n in offsets)
    packed = zlib.compress(b"\n".join([header.encode(), *(data for _, data in objects)]), OBJECT_STREAM_LEVEL)
    return pydyf.Stream([packed], {"Type": "/ObjStm", "N": len(objects), "First": len(header) + 1,
                                   "Filter": "/FlateDecode"})


class _Schedule:
    """Which step of which chunk a worker takes next. A worker finishes the chunks it laid out (their
    painting, their serialisation, once the chunks ahead have given what these need) before it lays out
    the next chunk in order; so the workers share the layouts however long each takes."""

    def __init__(self, chunks: tuple[Chunk, ...]) -> None:
        self.chunks = chunks
        count = len(chunks)
        self.layouts: list[Layout | None] = [None] * count
        self.painted: list[Painted | None] = [None] * count
        self.parts: list[Part | None] = [None] * count
        self.owner: dict[int, int] = {}
        self.sent: set[tuple[str, int]] = set()
        self.next_layout = 0
        self.fonts = _Fonts()

    def record(self, step: str, index: int, value) -> None:
        if step == "serialize":
            value.fonts = list(self.painted[index].fonts)
        {"layout": self.layouts, "paint": self.painted, "serialize": self.parts}[step][index] = value

    def load_fonts(self) -> None:
        """Load here the fonts of the chunks painted so far (_Fonts), while the others are laid out."""
        for painted in self.painted:
            if painted is not None:
                self.fonts.load(painted.fonts)

    @property
    def done(self) -> bool:
        return all(part is not None for part in self.parts)

    def next_for(self, worker: int) -> tuple[str, int, object] | None:
        """Painting first (the pages after it wait for its page numbers, the last chunk's ends the
        render), then serialising (which lets a chunk's objects go), then the next layout."""
        mine = sorted(index for index, owner in self.owner.items() if owner == worker)
        for index in mine:
            if self.layouts[index] and ("paint", index) not in self.sent and all(self.layouts[:index]):
                first = None
                if index:
                    first = self.layouts[0].last_number + 1 + sum(lay.pages for lay in self.layouts[1:index])
                return self._send("paint", index, first)
        for index in mine:
            if self.painted[index] and ("serialize", index) not in self.sent and self._numbered(index):
                return self._send("serialize", index, self._numbering(index))
        if self.next_layout < len(self.chunks):
            index = self.next_layout
            self.next_layout += 1
            self.owner[index] = worker
            return self._send("layout", index, self.chunks[index])
        return None

    def _send(self, step: str, index: int, value) -> tuple[str, int, object]:
        self.sent.add((step, index))
        return step, index, value

    def _numbered(self, index: int) -> bool:
        """Its object numbers follow the chunks ahead; its link annotations' keys, all the pages."""
        return all(self.painted[:index]) and (not self.painted[index].annotations or all(self.layouts))

    def _numbering(self, index: int) -> Numbering:
        ahead = self.painted[:index]
        pages = sum(layout.pages for layout in self.layouts) if self.painted[index].annotations else 0
        return Numbering(
            first_object=FIRST_CHUNK_OBJECT + sum(painted.objects for painted in ahead),
            first_page=sum(layout.pages for layout in self.layouts[:index]),
            first_annotation=pages + sum(p.annotations for p in ahead))


def _step(works: dict[int, ChunkWork], step: str, index: int, value):
    if step == "layout":
        works[index] = ChunkWork(value)
        return works[index].layout()
    if step == "paint":
        return works[index].paint(value)
    return works.pop(index).serialize(value)


def render_chunks(split: Split, workers: int | None = None) -> bytes:
    """The PDF of a split report: chunks rendered by up to `workers` processes (default: the usable CPUs;
    1: all in this process), the same bytes whatever their number. The two chunks of a front_and_annex
    split go to processes by default only where they fork from this one. (The reason given for that, that
    a fork server's loading WeasyPrint would cost more than the second process saves, did not hold when
    measured afterwards: beside another thread, FY2020 took 1.16 s through a new fork server, 0.74 s
    through one already running, and 1.25 s one chunk after the other here; see the session note.)"""
    count = min(len(split.chunks), workers or usable_cpus())
    if split.front_and_annex and workers is None and not forks_here():
        count = 1
    try:
        with collector_paused():
            schedule = _run_here(split.chunks) if count <= 1 else _run_in_processes(split.chunks, count)
            return _assemble(schedule.parts, schedule.fonts)
    except Unassemblable as reason:
        LOGGER.warning("report rendered in one pass: %s", reason)
    except Exception:  # noqa: BLE001 — a fault of the assembly must never cost the office its report
        LOGGER.exception("report rendered in one pass: rendering it in chunks failed")
    return write_pdf(split.markup)


def _run_here(chunks: tuple[Chunk, ...]) -> _Schedule:
    schedule = _Schedule(chunks)
    works: dict[int, ChunkWork] = {}
    while not schedule.done:
        step, index, value = schedule.next_for(0)
        schedule.record(step, index, _step(works, step, index, value))
        schedule.load_fonts()
    return schedule


def _context():
    """tenken.processes.start_context: a fork server (where one is needed) that has imported this module."""
    return start_context([__name__])


def _run_in_processes(chunks: tuple[Chunk, ...], count: int) -> _Schedule:
    context = _context()
    finished = False
    connections: list[Connection] = []
    processes = []
    try:
        for worker in range(count):
            here, there = context.Pipe()
            process = context.Process(target=_worker, args=(there,), daemon=True,
                                      name=f"tenken-report-chunks-{worker}")
            try:
                process.start()
            except OSError as error:
                raise WorkerLost(f"no worker process: {error}") from error
            there.close()
            connections.append(here)
            processes.append(process)
        schedule = _Schedule(chunks)
        busy: dict[Connection, int] = {}

        def dispatch() -> None:
            for worker, connection in enumerate(connections):
                if connection not in busy and (step := schedule.next_for(worker)) is not None:
                    connection.send(step)
                    busy[connection] = worker

        dispatch()
        while not schedule.done:
            if not busy:
                raise RuntimeError("no chunk step can be taken")  # a bug in _Schedule, never the report's
            for connection in wait(list(busy)):
                try:
                    step, index, value, warnings = connection.recv()
                except EOFError:
                    raise WorkerLost("a worker process ended before its chunks were done") from None
                del busy[connection]
                replay(warnings)
                if step == "unassemblable":
                    raise Unassemblable(value)
                if step == "failed":
                    raise RuntimeError(f"a report worker failed:\n{value}")
                schedule.record(step, index, value)
            dispatch()
            schedule.load_fonts()  # while the workers go on
        for connection in connections:
            connection.send(None)
        finished = True
        return schedule
    finally:
        for connection in connections:
            connection.close()
        for process in processes:
            if not finished:  # after a failure elsewhere: a worker may be in the middle of a chunk
                process.terminate()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()


def _worker(connection: Connection) -> None:
    """Takes one step at a time, as the schedule sends them, until told to stop (None). The process ends
    with the report: its memory goes back whole, so the cyclic garbage collector never runs."""
    gc.disable()
    warnings = Warnings.on_weasyprint()
    works: dict[int, ChunkWork] = {}
    try:
        while (message := connection.recv()) is not None:
            step, index, value = message
            result = _step(works, step, index, value)
            connection.send((step, index, result, warnings.take()))
    except Unassemblable as reason:
        connection.send(("unassemblable", -1, str(reason), warnings.take()))
    except BaseException:  # noqa: BLE001 (the coordinator raises it with the worker's traceback)
        connection.send(("failed", -1, traceback.format_exc(), warnings.take()))
    finally:
        connection.close()


class _Objects:
    """Numbers the document's own new objects from `start`, for WeasyPrint's font and outline writers
    (what they use of pydyf.PDF)."""

    def __init__(self, start: int, page_references: list[bytes]) -> None:
        self.next = start
        self.objects: list[pydyf.Object] = []
        self.page_references = page_references
        self.catalog: dict = {}

    def add_object(self, obj: pydyf.Object) -> None:
        obj.number = self.next
        self.next += 1
        self.objects.append(obj)


class _Fonts:
    """The fonts the chunks drew with, loaded here as the workers had them, one per font hash: each as soon
    as a chunk's painting reports it (a font loads the whole font file: tens of milliseconds), so that the
    assembly finds them loaded. What the loaded fonts hold (FontConfiguration, Pango's fonts) is kept
    with them until the PDF is written."""

    def __init__(self) -> None:
        self.font_config: FontConfiguration | None = None
        self.loaded: dict[str, _Font] = {}
        self.keep_alive: list = []

    def load(self, usages) -> None:
        for usage in usages:
            if usage.hash not in self.loaded and not usage.missing:
                if self.font_config is None:
                    self.font_config = FontConfiguration()
                self.loaded[usage.hash] = _load_font(self.font_config, usage, self.keep_alive)

    def of(self, parts: list[Part]) -> dict[str, _Font]:
        """One font per hash, in the order the chunks first drew with them, given every chunk's glyphs."""
        fonts: dict[str, _Font] = {}
        for part in parts:
            for usage in part.fonts:
                if usage.missing:
                    raise Unassemblable("glyphs missing from every font (each chunk numbers them its own way)")
                self.load([usage])
                font = fonts.setdefault(usage.hash, self.loaded[usage.hash])
                for glyph, text in usage.to_unicode.items():
                    font.to_unicode.setdefault(glyph, text)
                for glyph, width in usage.widths.items():
                    font.widths.setdefault(glyph, width)
                font.used_in_forms = font.used_in_forms or usage.used_in_forms
        return fonts


class _Font(Font):
    """WeasyPrint's font, its subset made ahead in a thread of the assembly (`cleaned`), beside the other
    fonts': HarfBuzz lets go of the interpreter while it subsets."""

    cleaned: Future | None = None

    def clean(self, to_unicode, hinting):
        if self.cleaned is None:
            return super().clean(to_unicode, hinting)
        return self.cleaned.result()


def _load_font(font_config: FontConfiguration, usage: FontUsage, keep_alive: list) -> _Font:
    context = ffi.gc(pango.pango_font_map_create_context(font_config.font_map), gobject.g_object_unref)
    description = ffi.gc(pango.pango_font_description_new(), pango.pango_font_description_free)
    family = ffi.new("char[]", usage.family.encode())
    pango.pango_font_description_set_family(description, family)
    pango.pango_font_description_set_style(description, usage.style)
    pango.pango_font_description_set_weight(description, usage.weight)
    pango.pango_font_description_set_absolute_size(description, round(usage.size * TO_UNITS))
    if usage.variations:
        variations = ffi.new("char[]", ",".join(f"{key}={value}" for key, value in usage.variations).encode())
        pango.pango_font_description_set_variations(description, variations)
    pango_font = pango.pango_font_map_load_font(font_config.font_map, context, description)
    if pango_font == ffi.NULL:
        raise Unassemblable(f"font {usage.family} not found")
    pango_font = ffi.gc(pango_font, gobject.g_object_unref)
    keep_alive += [context, pango_font]
    _, font_description, font_size = get_pango_font_key(pango_font)
    keep_alive.append(font_description)
    font = _Font(pango_font, font_description, font_size)
    if (font.hash, (font.index, font.glyph_count, font.upem)) != (usage.hash, usage.identity):
        raise Unassemblable(f"font {usage.family} loads as another face here")
    return font


def _assemble(parts: list[Part], fonts: _Fonts) -> bytes:
    with ThreadPoolExecutor(max_workers=usable_cpus(), thread_name_prefix="tenken-assembly") as threads:
        return _assembled(parts, fonts.of(parts), threads)


def _assembled(parts: list[Part], fonts: dict[str, _Font], threads: ThreadPoolExecutor) -> bytes:
    options = _pdf_options()
    page_references = [page for part in parts for page in part.pages]
    first_new = FIRST_CHUNK_OBJECT + sum(len(part.direct) + len(part.packed) for part in parts)
    objects = _Objects(first_new, page_references)

    subset = not options["full_fonts"]
    for font in fonts.values():
        if not font.bitmap:  # as build_fonts_dictionary cleans each font, one per hash here
            to_unicode = dict(font.to_unicode) if subset and not font.used_in_forms else {}
            font.cleaned = threads.submit(Font.clean, font, to_unicode, options["hinting"])
    font_dictionary = build_fonts_dictionary(objects, fonts, True, subset, options)

    add_outlines(objects, _bookmark_tree([page for part in parts for page in part.bookmarks]))

    catalog = pydyf.Dictionary({"Type": "/Catalog", "Pages": _reference(PAGES)})
    if "Outlines" in objects.catalog:
        catalog["Outlines"] = objects.catalog["Outlines"]
    destinations = {}
    for part in parts:
        for name, destination in part.destinations:
            destinations.setdefault(name, destination)
    if destinations:
        names = pydyf.Array()
        for name in sorted(destinations):
            names += [pydyf.String(name), destinations[name]]
        dests = pydyf.Dictionary({"Names": names})
        objects.add_object(dests)
        catalog["Names"] = pydyf.Dictionary({"Dests": dests.reference})
    catalog.update(parts[0].catalog)
    catalog["StructTreeRoot"] = _reference(STRUCT_ROOT)

    nums = pydyf.Array()
    for key, value in sorted(entry for part in parts for entry in part.parent_tree):
        nums += [key, value]
    own = {
        CATALOG: catalog,
        PAGES: pydyf.Dictionary({"Type": "/Pages", "Kids": pydyf.Array(page_references),
                                 "Count": len(page_references)}),
        STRUCT_ROOT: pydyf.Dictionary({"Type": "/StructTreeRoot", "ParentTree": _reference(PARENT_TREE),
                                       "K": pydyf.Array([_reference(STRUCT_DOCUMENT)])}),
        STRUCT_DOCUMENT: pydyf.Dictionary({"Type": "/StructElem", "S": "/Document",
                                           "K": pydyf.Array(ref for part in parts for ref in part.structure),
                                           "P": _reference(STRUCT_ROOT)}),
        PARENT_TREE: pydyf.Dictionary({"Nums": nums}),
        FONTS: font_dictionary,
        INFO: pydyf.Dictionary(parts[0].info),
    }
    for number, obj in own.items():
        obj.number = number
    return _write(parts, [*own.values(), *objects.objects], options["pdf_version"], threads)


def _bytes_for(value: int) -> int:
    return max(1, (value.bit_length() + 7) // 8)


def _write(parts: list[Part], own: list[pydyf.Object], version: str, threads: ThreadPoolExecutor) -> bytes:
    """The PDF file as pydyf writes one with compress=True: objects, one object stream for the small
    ones of each chunk and one for this process's, a cross-reference stream. The large objects (the
    fonts) are deflated in `threads` (zlib lets go of the interpreter while it works)."""
    out = bytearray(b"%PDF-" + str(version).encode() + b"\n%\xf0\x9f\x96\xa4\n")
    entries: dict[int, tuple[int, int, int]] = {0: (0, 0, 65535)}
    for part in parts:
        base = len(out)
        out += part.data
        entries.update((number, (1, base + offset, 0)) for number, offset in part.direct)
        entries.update((number, (2, stream, index)) for number, stream, index in part.packed)
    compressed = [obj for obj in own if obj.compressible]
    last = max(obj.number for obj in own)
    object_stream = _object_stream([(obj.number, obj.data) for obj in compressed])
    object_stream.number = last + 1
    for index, obj in enumerate(compressed):
        entries[obj.number] = (2, object_stream.number, index)
    direct = [*(obj for obj in own if not obj.compressible), object_stream]
    for obj, data in zip(direct, threads.map(lambda obj: obj.indirect, direct)):
        entries[obj.number] = (1, len(out), 0)
        out += data + b"\n"

    xref_number = object_stream.number + 1
    xref_position = len(out)
    entries[xref_number] = (1, xref_position, 0)
    if sorted(entries) != list(range(xref_number + 1)):
        raise RuntimeError("object numbers left a gap")  # a bug here, not in the report
    widths = (1, _bytes_for(max(entry[1] for entry in entries.values())),
              _bytes_for(max(entry[2] for entry in entries.values())))
    shift2, shift1 = 8 * widths[2], 8 * (widths[1] + widths[2])
    table = b"".join(((kind << shift1) | (field << shift2) | last).to_bytes(sum(widths), "big")
                     for kind, field, last in (entries[number] for number in range(xref_number + 1)))
    xref = pydyf.Stream([zlib.compress(table, XREF_LEVEL)], {
        "Type": "/XRef", "Index": pydyf.Array((0, xref_number + 1)), "W": pydyf.Array(widths),
        "Size": xref_number + 1, "Root": _reference(CATALOG), "Info": _reference(INFO), "Filter": "/FlateDecode"})
    xref.number = xref_number
    out += xref.indirect + b"\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_position
    return bytes(out)
