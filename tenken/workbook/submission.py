"""What a returned form says, checked against the plan: pure functions, no files.

`interpret` takes the cells of a form (read from a workbook or a CSV), identifies the cycle and
department, compares the fixed cells with what was requested, builds the department's results,
validates them with the core (against the plan restricted to that department) and locates every
problem in a cell, so the department hears which cell, what is wrong and what to do. Messages name
a measure in the plan's own word for it (`Plan.measure_label`: 施策, 事業 …), as the core's do.

Every cell is first checked for characters no field may hold — control characters (tab and line
breaks are allowed in the multi-line 理由 and 主な取組), bidirectional overrides such as U+202E,
zero-width characters, digits of other scripts (٣) — and refused in its cell; text quoted back in a
message shows such characters as <U+XXXX>, never as themselves.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from tenken.core.assessment import characters_problem, named_measure, problems_in
from tenken.identity import SENDER_FIELD
from tenken.core.errors import CellProblem
from tenken.core.plan import Measure, Node, Plan, Rating
from tenken.core.results import Adjustment, MeasureResult, ResultSet
from tenken.core.values import hidden_characters, refused_texts, visible
from tenken.core.wareki import wareki_year

from .layout import CSV_DEPARTMENT, CSV_YEAR, INPUT_COLUMNS, TemplateRow, columns, key_title, measure_rows, on_form

_RATINGS = {"◎": Rating.EXCEEDED, "○": Rating.ACHIEVED, "◯": Rating.ACHIEVED, "〇": Rating.ACHIEVED,
            "△": Rating.NOT_ACHIEVED}
_FIELD_COLUMN = {"actual": "actual", "self_rating": "self_rating", "reason": "reason", "cause": "cause",
                 "highlight": "highlight", "measure": "key", "department": "key", "target": "target"}
_MULTILINE_COLUMNS = ("reason", "highlight")
_PART_COLUMNS = ("part", "kind", "unit", "target", "actual")  # one per part; the others one per measure


@dataclass(frozen=True)
class FormCell:
    ref: str  # where a person finds it: 'H7' in a workbook, '5行目「実績」' in a CSV
    text: str
    formula: bool = False


@dataclass(frozen=True)
class FormRow:
    number: int
    cells: dict[str, FormCell]  # column id -> cell; a CSV may leave columns out

    def text(self, column: str) -> str:
        cell = self.cells.get(column)
        return "" if cell is None or cell.formula else cell.text.strip()


@dataclass(frozen=True)
class Form:
    kind: str  # xlsx | csv
    sheet: str | None
    fiscal_year: str  # as written
    department: str  # key or name, as written
    rows: tuple[FormRow, ...]
    strict: bool  # workbook: fixed cells exactly as requested; CSV: fixed cells may be left blank
    stray_formulas: tuple[FormCell, ...] = ()  # formulas outside the rows and columns of the form
    token: str = ""  # the submission token as written (tenken.identity); checked against the sender
    request_version: str = ""


@dataclass(frozen=True)
class Reading:
    fiscal_year: int | None
    department: str | None
    results: tuple[MeasureResult, ...] = ()
    problems: tuple[CellProblem, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> bool:
        return self.department is not None and not self.problems


def department_plan(plan: Plan, department: str, measures: list[Measure] | None = None,
                    layout: TreeLayout | None = None) -> Plan:
    """The plan cut down to one department's measures (same levels, keys and policy), so that a
    department's submission is checked in time proportional to its own measures (with the plan's
    `layout`, built once for many departments, not even a look at the other departments' nodes)."""
    mine = measures if measures is not None else plan.measures_of(department)
    wanted = {key for m in mine for key in m.path}
    layout = layout or TreeLayout(plan)
    children: dict[str | None, list[Node]] = {}
    for key in wanted:
        if key in layout.nodes:
            children.setdefault(layout.parent[key], []).append(layout.nodes[key])
    for nodes in children.values():
        nodes.sort(key=lambda node: layout.position[node.key])

    def prune(node: Node) -> Node:  # a node on the path of one of the department's measures
        return node.model_copy(update={"children": tuple(prune(child) for child in children.get(node.key, ())),
                                       "measures": layout.measures.get((node.key, department), ())})

    fields = {name: getattr(plan, name) for name in type(plan).model_fields}
    fields["tree"] = tuple(prune(node) for node in children.get(None, ()))
    return Plan.model_construct(**fields)


class TreeLayout:
    """Where each node of a plan's tree is: its parent's key (None at the top) and its place among its
    parent's children; and each department's measures in it (a node may hold thousands, of many
    departments: each department's are picked out once, not by a look at all of them per department)."""

    def __init__(self, plan: Plan):
        self.nodes: dict[str, Node] = {}
        self.parent: dict[str, str | None] = {}
        self.position: dict[str, int] = {}
        grouped: dict[tuple[str, str], list[Measure]] = {}

        def walk(node: Node, parent: str | None, place: int) -> None:
            self.nodes[node.key], self.parent[node.key], self.position[node.key] = node, parent, place
            for measure in node.measures:
                grouped.setdefault((node.key, measure.department), []).append(measure)
            for index, child in enumerate(node.children):
                walk(child, node.key, index)

        for index, node in enumerate(plan.tree):
            walk(node, None, index)
        # (node key, department) -> that department's measures in the node, in the node's order
        self.measures: dict[tuple[str, str], tuple[Measure, ...]] = {key: tuple(ms) for key, ms in grouped.items()}


class PlanIndex:
    """Per-department lookups into one plan and year, built once when many forms are taken in."""

    def __init__(self, plan: Plan, fiscal_year: int):
        self.plan = plan
        self.fiscal_year = fiscal_year
        self._measures: dict[str, list[Measure]] = defaultdict(list)
        for measure in plan.measures:
            self._measures[measure.department].append(measure)
        self._plans: dict[str, Plan] = {}
        self._layout: TreeLayout | None = None

    def measures_of(self, department: str) -> list[Measure]:
        return self._measures.get(department, [])

    def templates(self, department: str) -> list[TemplateRow]:
        return [row for m in self.measures_of(department) if on_form(m, self.fiscal_year)
                for row in measure_rows(m, self.fiscal_year, causes=bool(self.plan.rating.cause_tags))]

    def department_plan(self, department: str) -> Plan:
        if department not in self._plans:
            if self._layout is None:
                self._layout = TreeLayout(self.plan)
            self._plans[department] = department_plan(self.plan, department, self.measures_of(department),
                                                      self._layout)
        return self._plans[department]


def _norm(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _part_number(text: str) -> int | None:
    text = _key(text).strip("()")
    if not text:
        return 1
    return int(text) if text.isdigit() else None


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in _norm(text).split("\n") if line.strip())


class _Problems:
    def __init__(self, sheet: str | None):
        self.sheet = sheet
        self.items: list[CellProblem] = []
        self.reported: set[tuple] = set()

    def add(self, message: str, cell: FormCell | None = None, measure: str | None = None,
            field: str | None = None, part: int | None = None) -> None:
        self.items.append(CellProblem(message, self.sheet if cell else None, cell.ref if cell else None,
                                      measure, field, part))
        self.reported.add((measure, field, part))
        self.reported.add((measure, field, None))


def _without_hidden(text: str) -> str:
    """The text without control and format characters: to find the measure a refused cell is about."""
    for character in hidden_characters(text):
        text = text.replace(character, "")
    return text


def _suspect_texts(form: Form) -> tuple[set[str], set[str]]:
    """The texts of the form's cells (one-line, several-line) that _check_characters refuses, found in one
    search over each kind (core.values.refused_texts) instead of two searches a cell."""
    texts: tuple[list[str], list[str]] = ([], [])
    for row in form.rows:
        for column_id, cell in row.cells.items():
            if not cell.formula:
                texts[column_id in _MULTILINE_COLUMNS].append(cell.text)
    return refused_texts(texts[0]), refused_texts(texts[1], multiline=True)


def _check_characters(plan: Plan, row: FormRow, column_id: str, cell: FormCell, titles: Mapping[str, str],
                      problems: _Problems, refused: set[str]) -> None:
    """Refuse a cell holding control or format characters or digits of other scripts, in its cell."""
    multiline = column_id in _MULTILINE_COLUMNS
    if characters_problem("", cell.text, multiline) is None:
        return
    key = _key(_without_hidden(row.text("key")))
    measure = plan.measures_by_key.get(key)
    written_part = _without_hidden(row.text("part"))
    part = _part_number(written_part)
    title = titles.get(column_id, column_id)
    if measure is not None:
        numbered = part and written_part and column_id in _PART_COLUMNS  # (1)(2): the part's own cells
        where = f"{named_measure(plan, measure)}{f'の({part})' if numbered else ''}の「{title}」"
    else:
        where = f"{row.number}行目の「{title}」"
    refused.add(cell.ref)
    problems.add(characters_problem(where, cell.text, multiline), cell, measure.key if measure else (key or None),
                 column_id, part if column_id == "actual" else None)


def _identify(plan: Plan, fiscal_year: int, form: Form, problems: _Problems) -> tuple[str | None, bool]:
    """The department the form is from (when known) and whether it is this cycle's form."""
    written = _key(form.department)
    if written in plan.departments_by_key:
        department = written
    else:  # a department named rather than keyed (a CSV may say 観光課)
        department = {d.name: d.key for d in plan.departments}.get(written)
    if department is None:
        problems.add(f"所属「{visible(form.department)}」は所属の一覧にありません。"
                     "お送りした依頼ファイル（または CSV）を使って提出してください。")
    written_year = _key(form.fiscal_year)
    if not (written_year.isascii() and written_year.isdigit()):  # NFKC made full-width digits ASCII
        problems.add(f"年度「{visible(form.fiscal_year)}」を読み取れません。"
                     "お送りした依頼ファイル（または CSV）を使って提出してください。")
        return department, False
    if int(written_year) != fiscal_year:
        problems.add(f"このファイルは{wareki_year(int(written_year))}の依頼ファイルです。"
                     f"{wareki_year(fiscal_year)}の依頼ファイルに入力して提出してください。")
        return department, False
    return department, department is not None


def _check_fixed(plan: Plan, row: FormRow, template: TemplateRow, strict: bool, problems: _Problems,
                 refused: set[str] = frozenset(), titles: Mapping[str, str] | None = None) -> None:
    label = plan.measure_label
    titles = titles or {c.id: c.title for c in columns(label)}
    for column_id, requested in template.fixed.items():
        cell = row.cells.get(column_id)
        if cell is None or cell.formula or cell.ref in refused:
            continue
        written = _norm(cell.text)
        if written == _norm(requested) or (not strict and not written):
            continue
        title = titles[column_id]
        if column_id in INPUT_COLUMNS:
            problems.add(f"{label} {template.measure} のこの行の「{title}」は入力欄ではありません"
                         f"（「{visible(written)}」が入力されています）。"
                         "黄色のセルに入力し、このセルは依頼時の状態に戻してください。",
                         cell, template.measure, column_id, template.part)
        else:
            shown = f"「{requested}」" if requested else "空欄"
            problems.add(f"{label} {template.measure} の「{title}」が依頼時の{shown}から「{visible(written)}」に変更されています。"
                         f"「{title}」は変更できません。依頼時の内容に戻して提出してください。",
                         cell, template.measure, column_id, template.part)


def interpret(plan: Plan, fiscal_year: int, form: Form, sender: str | None = None,
              adjustments: Mapping[str, Adjustment] | None = None, index: PlanIndex | None = None) -> Reading:
    """Identify, check and convert a returned form. `sender` is the department the channel says
    sent the file, when it knows; a form of another department is then refused. `adjustments` are
    the office's rating adjustments known for the year: the check takes them into account as the
    compile will (an adjusted △ needs no reason from the department); they are not part of the
    department's results. `index` saves rebuilding per-department lookups form after form."""
    if index is None or index.plan is not plan or index.fiscal_year != fiscal_year:
        index = PlanIndex(plan, fiscal_year)
    problems = _Problems(form.sheet)
    department, identified = _identify(plan, fiscal_year, form, problems)
    if not identified:
        return Reading(None, sender or department, problems=tuple(problems.items))
    if sender is not None and sender != department:
        sender_name = plan.department(sender).name if sender in plan.departments_by_key else sender
        problems.add(f"このファイルは{plan.department(department).name}の依頼ファイルですが、"
                     f"{sender_name}から提出されました。"
                     "自所属の依頼ファイルに入力して提出してください。", field=SENDER_FIELD)
        return Reading(fiscal_year, sender, problems=tuple(problems.items))
    own = plan.department(department)
    label, key_column = plan.measure_label, key_title(plan.measure_label)

    for cell in form.stray_formulas:
        problems.add(f"数式「{visible(cell.text)}」が入っています。数式は受け付けられません。数式を削除して提出してください。",
                     cell)

    templates = {(t.measure, t.part): t for t in index.templates(department)}
    titles = {**{c.id: c.title for c in columns(label)}, "year": CSV_YEAR, "department": CSV_DEPARTMENT}
    found: dict[tuple[str, int], FormRow] = {}
    refused: set[str] = set()  # cells refused for their characters: not quoted or compared again
    suspect = _suspect_texts(form)
    for row in form.rows:
        for column_id, cell in row.cells.items():
            if cell.formula:
                problems.add(f"数式「{visible(cell.text)}」が入っています。数式は計算せず、受け付けられません。"
                             "値（文字や数字）を直接入力してください。", cell, _key(row.text("key")) or None, column_id,
                             _part_number(row.text("part")))
            elif cell.text in suspect[column_id in _MULTILINE_COLUMNS]:
                _check_characters(plan, row, column_id, cell, titles, problems, refused)
        key = _without_hidden(row.text("key"))
        key_cell = row.cells.get("key")
        if not key:
            if any(row.text(c) for c in INPUT_COLUMNS):
                problems.add(f"{row.number}行目に、{key_column}のない入力があります。各{label}の行に入力してください。",
                             next(row.cells[c] for c in INPUT_COLUMNS if row.text(c)))
            continue
        key = _key(key)
        measure = plan.measures_by_key.get(key)
        if measure is None:
            problems.add(f"{key_column}「{visible(key)}」は計画にありません。{key_column}は変更せず、依頼ファイルの行に入力してください。",
                         key_cell, key, "measure")
            continue
        if measure.department != department:
            owner = plan.department(measure.department).name
            problems.add(f"{named_measure(plan, measure)}は{owner}の{label}です。{own.name}の依頼ファイルには"
                         f"{own.name}の{label}だけを入力してください（他の所属の行を貼り付けないでください）。",
                         key_cell, key, "department")
            continue
        if not on_form(measure, fiscal_year):
            problems.add(f"{named_measure(plan, measure)}は{wareki_year(fiscal_year)}の点検の対象ではありません。"
                         "依頼ファイルの行をそのまま使ってください。", key_cell, key, "measure")
            continue
        part = _part_number(_without_hidden(row.text("part")))
        template = templates.get((key, part if part is not None else 0))
        if template is None:
            problems.add(f"{label} {key} の項目「{visible(row.text('part'))}」は依頼にありません。"
                         "依頼ファイルの行をそのまま使ってください。",
                         row.cells.get("part") or key_cell, key, "measure")
            continue
        if (key, part) in found:
            problems.add(f"{label} {key}{template.fixed['part']} の行が重複しています（{found[(key, part)].number}行目と"
                         f"{row.number}行目）。1つの行だけにしてください。", key_cell, key, "measure")
            continue
        found[(key, part)] = row
        _check_fixed(plan, row, template, form.strict, problems, refused, titles)

    cause_keys = {_key(t.label): t.key for t in plan.rating.cause_tags}
    cause_keys.update({t.key: t.key for t in plan.rating.cause_tags})
    results: list[MeasureResult] = []
    rows_of: dict[str, dict[int, FormRow]] = defaultdict(dict)
    for (key, part), row in found.items():
        rows_of[key][part] = row
    for measure in index.measures_of(department):
        rows = rows_of.get(measure.key)
        if not rows:
            continue
        year = measure.years[fiscal_year]
        first = rows.get(1)
        if year.status == "no_indicator":
            highlight = _paragraphs(first.text("highlight")) if first else ()
            if highlight:
                results.append(MeasureResult(measure=measure.key, highlight=highlight, department=department))
            continue
        actual = tuple(rows[p].text("actual") if p in rows else "" for p in range(1, len(year.parts) + 1))
        self_rating = None
        written_rating = first.text("self_rating") if first and year.has_qualitative else ""
        rating_cell = first.cells.get("self_rating") if first else None
        if written_rating and not (rating_cell is not None and rating_cell.ref in refused):
            self_rating = _RATINGS.get(written_rating)
            if self_rating is None:
                problems.add(f"{label} {measure.key} の自己評価「{visible(written_rating)}」は選べません。"
                             "◎・○・△のいずれかを選んでください。",
                             first.cells.get("self_rating"), measure.key, "self_rating")
        cause = first.text("cause") if first else ""
        results.append(MeasureResult(
            measure=measure.key, actual=actual, self_rating=self_rating,
            reason=_norm(first.text("reason")) if first else "",
            cause=cause_keys.get(_key(cause), cause) if cause else None,
            highlight=_paragraphs(first.text("highlight")) if first else (),
            department=department))

    result_set = ResultSet(fiscal_year=fiscal_year, results=tuple(results))
    adjustments = adjustments or {}
    checked = ResultSet(fiscal_year=fiscal_year, results=tuple(
        r.model_copy(update={"adjustment": adjustments[r.measure]}) if r.measure in adjustments else r
        for r in results))
    core_problems = problems_in(index.department_plan(department), checked)
    for problem in core_problems:
        if (problem.measure, problem.field, problem.part) in problems.reported:
            continue
        column = _FIELD_COLUMN.get(problem.field or "")
        row = found.get((problem.measure, problem.part or 1)) if problem.measure else None
        cell = row.cells.get(column) if row is not None and column else None
        problems.add(problem.message, cell, problem.measure, problem.field, problem.part)
    return Reading(fiscal_year, department, result_set.results if not problems.items else (),
                   tuple(problems.items))
