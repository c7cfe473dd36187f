"""Read a plan folder (plan.yaml, departments.yaml, results/<year>.yaml) into core models.

This is the edge: files are read and YAML is parsed here, once; the core gets typed models.
Configuration mistakes raise ConfigError naming the file and the place.
"""

from __future__ import annotations

import re

import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tenken.cycle_config import CycleSettings
from tenken.core.errors import DomainError
from tenken.core.numbering import key_part, label
from tenken.core.plan import Level, Measure, Node, Plan, YearPlan
from tenken.core.results import ResultSet
from tenken.notify.recipient import Directory, Recipient
from tenken.resources import EXAMPLE_CONFIG

DEFAULT_CONFIG = EXAMPLE_CONFIG


class ConfigError(DomainError):
    """The plan configuration cannot be read."""


# libyaml's loader is ~10x faster than PyYAML's pure-Python one: it matters for plans of 10,000+ measures.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"設定ファイルがありません: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"設定ファイル {path} を読み込めません: {exc}") from None


def _year_plan(raw: Any, where: str) -> YearPlan:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 年度ごとの設定は「キー: 値」の形で書いてください")
    raw = dict(raw)
    if "parts" not in raw and "target" in raw:
        raw["parts"] = [{k: raw.pop(k) for k in ("kind", "target", "unit", "direction") if k in raw}]
    return YearPlan.model_validate(raw)


def _indicator(raw: dict, years: dict[int, YearPlan], measure_label: str) -> str:
    """The measure's 成果指標: as written, else its parts' labels. Only a measure rated in some year needs one:
    a measure finished, or without an indicator, in every year it lists has none to name ("")."""
    if raw.get("indicator"):
        return raw["indicator"]
    labels = next((tuple(p.label or "" for p in y.parts) for y in years.values() if len(y.parts) > 1), None)
    if labels:
        return " ".join(f"({i}){text}" for i, text in enumerate(labels, 1))
    if years and not any(y.status == "rated" for y in years.values()):
        return ""
    raise ConfigError(f"{measure_label}「{raw.get('name')}」: 成果指標（indicator）がありません"
                      f"（評価する年度のある{measure_label}には必要です）")


def build_tree(raw_tree: list, levels: tuple[Level, ...], departments: dict[str, str],
               measure_label: str = "施策") -> tuple[Node, ...]:
    """Number the nodes and measures of the raw tree and resolve department names to keys."""

    def build(raw: dict, depth: int, n: int, parent_key: str | None, parent_path: tuple[str, ...]) -> Node:
        level = levels[depth]
        part = key_part(level.numbering, n)
        key = part if parent_key is None else f"{parent_key}-{part}"
        path = (*parent_path, key)
        where = f"{level.label} {key}"
        children = raw.get("children") or []
        raw_measures = raw.get("measures") or []
        if children and depth + 1 >= len(levels):
            raise ConfigError(f"{where}: 設定された{len(levels)}階層より深くなっています")
        if raw_measures and depth != len(levels) - 1:
            raise ConfigError(f"{where}: {measure_label}（measures）は最も内側の階層（{levels[-1].label}）に置いてください")
        measures = []
        for number, m in enumerate(raw_measures, 1):
            measure_where = f"{where} の{number}番目の{measure_label}"
            dept = m.get("department")
            if dept not in departments:
                raise ConfigError(f"{measure_where}: 所属「{dept}」が departments.yaml にありません")
            years = {int(y): _year_plan(v, f"{measure_where}の{y}年度") for y, v in (m.get("years") or {}).items()}
            measures.append(Measure(
                key=f"{key}-{number}", number=number, path=path, name=m["name"],
                department=departments[dept], indicator=_indicator(m, years, measure_label), years=years))
        return Node(
            key=key, number=label(level.numbering, n), title=raw["title"], depth=depth,
            children=tuple(build(c, depth + 1, i, key, path) for i, c in enumerate(children, 1)),
            measures=tuple(measures))

    return tuple(build(node, 0, i, None, ()) for i, node in enumerate(raw_tree, 1))


def default_plan_id(config_dir: Path) -> str:
    """The plan's id when plan.yaml gives none: the plan folder's name, as a lower-case slug."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", Path(config_dir).resolve().name.lower()).strip("-_")[:63]
    return slug or "plan"


def plan_from_mapping(raw: dict, raw_departments: list, default_id: str = "plan") -> Plan:
    """Build a Plan from the parsed YAML of plan.yaml and departments.yaml (contacts are left to the Directory).
    `default_id` is the plan's id when plan.yaml's `plan.id` is not given."""
    try:
        _check_department_entries(raw_departments)
        raw_departments = [{"key": d.get("key"), "name": d.get("name")} for d in raw_departments]
        levels = tuple(Level.model_validate(level) for level in raw["levels"])
        names = {d["name"]: d["key"] for d in raw_departments}
        names.update({d["key"]: d["key"] for d in raw_departments})
        tree = build_tree(raw["tree"], levels, names, raw.get("measure_label", "施策"))
        return Plan.model_validate({
            "id": default_id,
            **raw["plan"],
            "levels": levels,
            "measure_label": raw.get("measure_label", "施策"),
            "rating": raw.get("rating", {}),
            "departments": raw_departments,
            "tree": tree,
            "previous_rates": raw.get("previous_rates") or {},
        })
    except ValidationError as exc:
        raise ConfigError(f"計画の設定に誤りがあります:\n{exc}") from None
    except KeyError as exc:
        raise ConfigError(f"計画の設定に {exc} がありません") from None


_DEPARTMENT_FIELDS = {"submitters", "key", "name", "slack", "email", "via", "escalation"}


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_department_entries(raw_departments: list) -> None:
    for entry in raw_departments:
        if not isinstance(entry, dict):
            raise ConfigError(f"departments.yaml: each department must be a mapping, not {entry!r}")
        unknown = sorted(set(entry) - _DEPARTMENT_FIELDS)
        if unknown:
            raise ConfigError(f"departments.yaml: department {entry.get('key')!r} has unknown fields {unknown}")


def load_directory(config_dir: Path = DEFAULT_CONFIG) -> Directory:
    """How to reach each department and its escalation contact (departments.yaml)."""
    raw = (_read_yaml(Path(config_dir) / "departments.yaml") or {}).get("departments", [])
    _check_department_entries(raw)
    try:
        departments = {d["key"]: Recipient(name=d.get("name"), slack=d.get("slack"), email=d.get("email"),
                                           via=d.get("via")) for d in raw}
        escalations = {d["key"]: Recipient.model_validate(d["escalation"]) for d in raw if d.get("escalation")}
    except (ValidationError, KeyError) as exc:
        raise ConfigError(f"departments.yaml の連絡先に誤りがあります:\n{exc}") from None
    submitters = {}
    for d in raw:
        people = d.get("submitters") or []
        if not isinstance(people, list) or not all(
                isinstance(p, str) and (_SLACK_USER.match(p) or _MAIL_ADDRESS.match(p)) for p in people):
            raise ConfigError(f"departments.yaml: 所属 {d.get('key')!r} の submitters は Slack のユーザー ID"
                              f"（U… / W…）またはメールアドレスの一覧で書いてください: {people!r}")
        submitters[d["key"]] = tuple(p.lower() if "@" in p else p for p in people)
    return Directory(departments, escalations, submitters)


def load_plan(config_dir: Path = DEFAULT_CONFIG) -> Plan:
    """The plan of a config folder; parsed once per process while its files are unchanged."""
    config_dir = Path(config_dir).resolve()
    files = (config_dir / "plan.yaml", config_dir / "departments.yaml")
    try:
        identity = tuple((f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    except FileNotFoundError:
        identity = None
    return _load_plan(config_dir, identity)


@functools.lru_cache(maxsize=4)
def _load_plan(config_dir: Path, identity: tuple | None) -> Plan:
    raw = _read_yaml(config_dir / "plan.yaml")
    departments = _read_yaml(config_dir / "departments.yaml")
    return plan_from_mapping(raw, (departments or {}).get("departments", []), default_plan_id(config_dir))


def results_path(config_dir: Path, fiscal_year: int) -> Path:
    return Path(config_dir) / "results" / f"{fiscal_year}.yaml"


def load_results(config_dir: Path, fiscal_year: int) -> ResultSet:
    path = results_path(config_dir, fiscal_year)
    raw = _read_yaml(path)
    try:
        results = ResultSet.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"結果ファイル {path} に誤りがあります:\n{exc}") from None
    if results.fiscal_year != fiscal_year:
        raise ConfigError(f"{path} は{results.fiscal_year}年度の結果です（{fiscal_year}年度を指定）")
    return results


def load_cycle_settings(config_dir: Path = DEFAULT_CONFIG) -> CycleSettings:
    """cycle.yaml: deadline, reminder policy, reviewers, publication target (defaults if absent)."""
    path = Path(config_dir) / "cycle.yaml"
    if not path.exists():
        return CycleSettings()
    try:
        return CycleSettings.model_validate(_read_yaml(path) or {})
    except ValidationError as exc:
        raise ConfigError(f"設定ファイル {path} に誤りがあります:\n{exc}") from None
