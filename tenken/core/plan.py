"""The plan: levels, departments, measures and, per fiscal year, their indicators and targets."""

from __future__ import annotations

from enum import Enum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .numbering import Numbering
from .values import Quantity, parse_value


class Rating(str, Enum):
    EXCEEDED = "◎"
    ACHIEVED = "○"
    NOT_ACHIEVED = "△"
    NO_INDICATOR = "—"

    @property
    def rank(self) -> int:
        """Worse is lower: the measure takes the worst of its parts."""
        return _RANK[self]

    @property
    def description(self) -> str:
        return _DESCRIPTION[self]


_RANK = {Rating.NOT_ACHIEVED: 0, Rating.ACHIEVED: 1, Rating.EXCEEDED: 2, Rating.NO_INDICATOR: -1}
_DESCRIPTION = {
    Rating.EXCEEDED: "目標を上回った",
    Rating.ACHIEVED: "達成",
    Rating.NOT_ACHIEVED: "未達成",
    Rating.NO_INDICATOR: "指標未設定",
}
RATING_BY_RANK = {r.rank: r for r in Rating}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Level(_Model):
    key: str
    label: str
    numbering: Numbering = Numbering.arabic


class CauseTag(_Model):
    key: str
    label: str


class RatingPolicy(_Model):
    exceeded_ratio: float = Field(1.25, ge=1.0)
    # An actual beyond this multiple of its target (below target/multiple when lower is better) is
    # rated as the rules say but listed for reviewers as implausible (tenken.core.discrepancies).
    plausible_multiple: float = Field(100.0, gt=1.0)
    negative_words: tuple[str, ...] = ("未実施", "未導入", "未把握", "開発中", "検討中")
    cause_tags: tuple[CauseTag, ...] = ()
    external_cause_tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _external_tags_are_known(self) -> RatingPolicy:
        known = {t.key for t in self.cause_tags}
        unknown = [t for t in self.external_cause_tags if t not in known]
        if unknown:
            raise ValueError(f"external_cause_tags に cause_tags にない要因があります: {unknown}")
        return self

    def cause_label(self, key: str) -> str:
        return next((t.label for t in self.cause_tags if t.key == key), key)


class Department(_Model):
    """An office that owns measures. How to reach it is not the plan's business (tenken.notify.recipient)."""

    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str


class Part(_Model):
    """One part of an indicator for one year: '(1)宿泊施設紹介ページPV数 400,000PV'."""

    label: str | None = None
    kind: Literal["numeric", "qualitative"]
    target: str
    unit: str | None = None
    direction: Literal["higher", "lower"] = "higher"
    # May an actual be below zero? Counts and amounts may not. Unset: only when the target is written
    # with a sign (+1%, -5%: a change, which can go either way).
    allow_negative: bool | None = None

    @cached_property
    def target_quantity(self) -> Quantity | None:
        value = parse_value(self.target)
        return value if isinstance(value, Quantity) else None

    @property
    def negative_allowed(self) -> bool:
        if self.allow_negative is not None:
            return self.allow_negative
        quantity = self.target_quantity
        return quantity is not None and quantity.signed

    @model_validator(mode="after")
    def _numeric_target_has_the_unit(self) -> Part:
        if self.kind == "numeric":
            quantity = self.target_quantity
            if quantity is None:
                raise ValueError(f"数値の指標（kind: numeric）の目標「{self.target}」が数値ではありません")
            if self.unit is None:
                object.__setattr__(self, "unit", quantity.unit)
            elif quantity.unit != self.unit:
                raise ValueError(f"目標「{self.target}」の単位が unit「{self.unit}」と異なります")
            if quantity.value < 0 and self.allow_negative is False:
                raise ValueError(f"目標「{self.target}」は負の値ですが、allow_negative: false が指定されています")
        return self


class YearPlan(_Model):
    status: Literal["rated", "no_indicator", "finished"] = "rated"
    finished_in: int | None = None
    parts: tuple[Part, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _year_wide_part_options(cls, data: object) -> object:
        """`allow_negative` written beside `parts` (or in the one-part short form, where the loader
        moves only kind/target/unit/direction into the part) applies to each part not setting it."""
        if isinstance(data, dict) and "allow_negative" in data:
            data = dict(data)
            option = data.pop("allow_negative")
            data["parts"] = [{"allow_negative": option, **p} if isinstance(p, dict) else p
                             for p in data.get("parts") or ()]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> YearPlan:
        if self.status == "rated" and not self.parts:
            raise ValueError("評価する年度（status: rated）には目標（target または parts）が必要です")
        if self.status != "rated" and self.parts:
            raise ValueError(f"status: {self.status} の年度には目標を書かないでください")
        if self.status == "finished" and self.finished_in is None:
            raise ValueError("status: finished の年度には取組の終了年度（finished_in）が必要です")
        return self

    @property
    def kind(self) -> str:
        kinds = {p.kind for p in self.parts}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    @property
    def has_qualitative(self) -> bool:
        return any(p.kind == "qualitative" for p in self.parts)


class Measure(_Model):
    key: str  # 'I-1-ア-2'
    number: int  # within its innermost node
    path: tuple[str, ...]  # keys of the enclosing nodes, outermost first
    name: str
    department: str  # Department.key
    indicator: str
    years: dict[int, YearPlan]


class Node(_Model):
    key: str  # 'I', 'I-1', 'I-1-ア'
    number: str  # printed: 'Ⅰ', '①', 'ア'
    title: str
    depth: int
    children: tuple[Node, ...] = ()
    measures: tuple[Measure, ...] = ()

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}"


class OverviewSection(_Model):
    heading: str
    paragraphs: tuple[str, ...]


class PreviousRates(_Model):
    total: float | None = None
    levels: dict[str, float] = {}  # top-level node key -> rate


class Plan(_Model):
    id: str = Field(default="plan", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")  # stable key of the plan in the ledger, paths, site
    name: str
    organisation: str
    period: tuple[int, int]
    overview: tuple[OverviewSection, ...] = ()
    levels: tuple[Level, ...]
    measure_label: str = "施策"
    rating: RatingPolicy = RatingPolicy()
    departments: tuple[Department, ...]
    tree: tuple[Node, ...]
    previous_rates: dict[int, PreviousRates] = {}

    @model_validator(mode="after")
    def _references_resolve(self) -> Plan:
        if self.id.isdigit():
            raise ValueError(f"計画の id「{self.id}」は数字だけにはできません（年度のフォルダーと区別するため）")
        keys = [d.key for d in self.departments]
        if len(set(keys)) != len(keys):
            raise ValueError("所属の key が重複しています")
        known = set(keys)
        measure_keys = [m.key for m in self.measures]
        if len(set(measure_keys)) != len(measure_keys):
            raise ValueError("施策の番号（key）が重複しています")
        for m in self.measures:
            if m.department not in known:
                raise ValueError(f"{m.key}: 所属「{m.department}」が所属の一覧にありません")
        return self

    @cached_property
    def measures(self) -> tuple[Measure, ...]:
        out: list[Measure] = []

        def walk(node: Node) -> None:
            out.extend(node.measures)
            for child in node.children:
                walk(child)

        for node in self.tree:
            walk(node)
        return tuple(out)

    @cached_property
    def nodes(self) -> dict[str, Node]:
        out: dict[str, Node] = {}

        def walk(node: Node) -> None:
            out[node.key] = node
            for child in node.children:
                walk(child)

        for node in self.tree:
            walk(node)
        return out

    @cached_property
    def measures_by_key(self) -> dict[str, Measure]:
        return {m.key: m for m in self.measures}

    @cached_property
    def departments_by_key(self) -> dict[str, Department]:
        return {d.key: d for d in self.departments}

    def department(self, key: str) -> Department:
        return self.departments_by_key[key]

    @cached_property
    def measures_by_department(self) -> dict[str, tuple[Measure, ...]]:
        """Each department's measures in plan order (built once: a plan may have 100,000 measures)."""
        grouped: dict[str, list[Measure]] = {}
        for m in self.measures:
            grouped.setdefault(m.department, []).append(m)
        return {key: tuple(ms) for key, ms in grouped.items()}

    def measures_of(self, department: str) -> list[Measure]:
        return list(self.measures_by_department.get(department, ()))

    def leaf_count(self) -> int:
        """Nodes of the innermost level (分野 in Kanagawa's plan)."""
        innermost = len(self.levels) - 1
        return sum(1 for n in self.nodes.values() if n.depth == innermost)

