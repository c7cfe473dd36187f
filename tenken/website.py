"""Publish a plan's year report to the website target: a local folder by default, any fsspec URL by config.

One target holds the reports of every plan the office runs. Layout of the target:
    index.html                     every plan (name, organisation) in the order of their ids, each with its
                                   years, newest first, their headline figures and links, and a link to the
                                   plan's own index
    <plan_id>/index.html           that plan's years, newest first
    <plan_id>/<year>/<files>       the PDF, HTML and open data of that year, as written by the report
    <plan_id>/<year>/SHA256SUMS    checksums of those files (`sha256sum -c SHA256SUMS` verifies them)
    <plan_id>/<year>/meta.json     what the indexes show for the year: title, organisation, plan_id,
                                   plan_name, published, files, headline figures (a meta.json written
                                   before the figures were kept still lists its files, without figures)
    <year>/...                     a year published before plans had folders (legacy): never written
                                   again, still listed: under the plan its meta.json names (same plan
                                   name and organisation), else in a section of its own

<plan_id> is plan.yaml's `plan.id`. Publishing a plan writes only its year folder, its index and the
site's index: another plan's files are never touched.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import fsspec
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tenken.core.wareki import wareki_year
from tenken.files import sha256_file
from tenken.resources import SITE_TEMPLATES

_KIND_LABELS = {"pdf": "報告書（PDF）", "html": "報告書（HTML）", "csv": "別紙 オープンデータ（CSV）",
                "json": "別紙 オープンデータ（JSON）", "dictionary": "項目定義",
                "columns": "別紙 オープンデータ 項目定義（CSV）"}
_PLAN_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


@dataclass(frozen=True)
class Headline:
    """A year's headline figures, shown on the index beside its links (from the publication's summary)."""

    rate: float | None  # achievement rate in percent; None when no measure had an indicator to rate
    rated: int  # measures whose indicator was rated
    met: int  # of those, achieved or exceeded
    measure_label: str  # the plan's word for a measure (施策, 事業 …)


@dataclass(frozen=True)
class Published:
    target: str  # the year folder's URL or path: <target>/<plan_id>/<year>
    files: dict[str, str]  # kind -> URL or path of the published file
    checksums: dict[str, str]  # file name -> sha256
    index: str  # the site's index.html (every plan)
    plan_id: str = "plan"
    path: str = ""  # the year folder relative to the target, "<plan_id>/<year>": site_url + path + "/" + file name
    plan_index: str = ""  # the plan's index.html (its years)


def _filesystem(target: str):
    """An fsspec filesystem and root path. A relative folder is refused: the caller decides what it is
    relative to (Settings.publish_target resolves it under the var folder)."""
    if "://" not in target and not Path(target).is_absolute():
        raise ValueError(f"publish target must be absolute or a URL: {target!r}")
    return fsspec.core.url_to_fs(target)


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def _check_plan_id(plan_id: str) -> None:
    """A plan id names a folder of the site: lower-case letters, digits, - and _, and not digits only
    (a folder of digits directly under the target is a year published before plans had folders)."""
    if not _PLAN_ID.fullmatch(plan_id) or plan_id.isdigit():
        raise ValueError(f"plan id {plan_id!r} cannot name a folder of the site: use lower-case letters, digits, "
                         "- and _, not digits only")


def publish(files: dict[str, Path], *, fiscal_year: int, plan_name: str, organisation: str,
            target: str, published_on: datetime | None = None, headline: Headline | None = None,
            plan_id: str = "plan") -> Published:
    """Copy the files of a plan's year to <target>/<plan_id>/<year>/ with checksums and meta.json, then
    rewrite the plan's index and the site's index."""
    _check_plan_id(plan_id)
    fs, root = _filesystem(target)
    path = f"{plan_id}/{fiscal_year}"
    year_dir = _join(root, path)
    fs.makedirs(year_dir, exist_ok=True)
    checksums: dict[str, str] = {}
    urls: dict[str, str] = {}
    for kind, file in files.items():
        file = Path(file)
        checksums[file.name] = sha256_file(file)
        fs.put_file(str(file), _join(year_dir, file.name))
        urls[kind] = _join(year_dir, file.name)
    sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(checksums.items()))
    fs.pipe_file(_join(year_dir, "SHA256SUMS"), sums.encode("utf-8"))
    meta = {
        "fiscal_year": fiscal_year,
        "title": f"{plan_name} {wareki_year(fiscal_year)}点検報告書",
        "organisation": organisation,
        "plan_id": plan_id,
        "plan_name": plan_name,
        "published": (published_on or datetime.now().astimezone()).isoformat(timespec="seconds"),
        "files": [{"kind": kind, "name": Path(file).name, "sha256": checksums[Path(file).name]}
                  for kind, file in files.items()],
    }
    if headline is not None:
        meta["headline"] = asdict(headline)
    fs.pipe_file(_join(year_dir, "meta.json"), json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"))
    index, plan_index = write_indexes(fs, root, plan_id)
    return Published(target=year_dir, files=urls, checksums=checksums, index=index, plan_id=plan_id, path=path,
                     plan_index=plan_index)


# --- the indexes -------------------------------------------------------------------------------------------


@dataclass
class _Section:
    """A plan on the site: its folder's years, and the legacy years that name it. `plan_id` is None for a
    section of legacy years whose plan has no folder."""

    plan_id: str | None
    name: str
    organisation: str
    years: list[tuple[str, dict, bool]]  # (folder relative to the target, meta.json, legacy)
    anchor: str = ""  # the section's id on a page


def _name(entry: str) -> str:
    return entry.rstrip("/").rsplit("/", 1)[-1]


def _folders(fs, folder: str) -> list[str]:
    return sorted(_name(info["name"]) for info in fs.ls(folder, detail=True) if info.get("type") == "directory")


def _meta(fs, folder: str) -> dict | None:
    path = _join(folder, "meta.json")
    if not fs.exists(path):
        return None
    return json.loads(fs.cat_file(path).decode("utf-8"))


def _plan_name(meta: dict) -> str:
    """The plan a meta.json names: plan_name, else its title without the year (a legacy meta.json)."""
    if meta.get("plan_name"):
        return meta["plan_name"]
    title, suffix = meta.get("title", ""), f" {wareki_year(meta['fiscal_year'])}点検報告書"
    return title.removesuffix(suffix)


def _sections(fs, root: str) -> list[_Section]:
    """Every plan folder with a published year, then the legacy years (a year folder directly under the
    target) under the plan of the same name and organisation, or in a section of their own."""
    plans: dict[str, _Section] = {}
    legacy: list[tuple[str, dict]] = []
    for name in _folders(fs, root):
        if name.isdigit():
            meta = _meta(fs, _join(root, name))
            if meta is not None:
                legacy.append((name, meta))
            continue
        years = []
        for year in _folders(fs, _join(root, name)):
            meta = _meta(fs, _join(root, name, year)) if year.isdigit() else None
            if meta is not None:
                years.append((f"{name}/{year}", meta, False))
        if years:
            newest = max(years, key=lambda y: (y[1]["fiscal_year"], y[1].get("published", "")))[1]
            plans[name] = _Section(name, _plan_name(newest), newest.get("organisation", ""), years)
    owners = {(_plan_name(meta), meta.get("organisation", "")): section
              for section in plans.values() for _, meta, _ in section.years}
    earlier: dict[tuple[str, str], _Section] = {}
    for folder, meta in legacy:
        key = (_plan_name(meta), meta.get("organisation", ""))
        section = owners.get(key) or earlier.setdefault(key, _Section(None, key[0], key[1], []))
        section.years.append((folder, meta, True))
    ordered = sorted(plans.values(), key=lambda s: s.plan_id)  # the office orders its plans by their ids
    ordered += sorted(earlier.values(), key=lambda s: (s.organisation, s.name))
    for number, section in enumerate(ordered, 1):
        section.anchor = f"plan-{section.plan_id}" if section.plan_id else f"earlier-{number}"
        section.years.sort(key=lambda y: (-y[1]["fiscal_year"], y[2], y[0]))
    return ordered


def _year_view(folder: str, meta: dict, legacy: bool, prefix: str, anchor: str) -> dict:
    """What a template shows for a year; links relative to the page (`prefix` leads from it to the target)."""
    return {
        "fiscal_year": meta["fiscal_year"],
        "title": meta.get("title", ""),
        "heading": f"{wareki_year(meta['fiscal_year'])}点検報告書",
        "year_label": wareki_year(meta["fiscal_year"]),
        "published": meta.get("published", ""),
        "figures": _figures(meta.get("headline")),
        "legacy": legacy,
        "anchor": f"{anchor}-{meta['fiscal_year']}{'-earlier' if legacy else ''}",
        "sums": f"{prefix}{folder}/SHA256SUMS",
        "files": [{"label": _KIND_LABELS.get(item["kind"], item["name"]), "href": f"{prefix}{folder}/{item['name']}",
                   "sha256": item.get("sha256", "")} for item in meta.get("files", [])],
    }


def _section_view(section: _Section, prefix: str) -> dict:
    current = {meta["fiscal_year"] for _, meta, legacy in section.years if not legacy}
    years = []
    for folder, meta, legacy in section.years:
        year = _year_view(folder, meta, legacy, prefix, section.anchor)
        year["earlier"] = legacy and meta["fiscal_year"] in current  # the same year republished in the plan's folder
        years.append(year)
    return {"name": section.name, "organisation": section.organisation, "anchor": section.anchor,
            "index_href": f"{prefix}{section.plan_id}/" if section.plan_id else None, "years": years}


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(SITE_TEMPLATES), autoescape=select_autoescape(default=True))


def write_indexes(fs, root: str, plan_id: str) -> tuple[str, str]:
    """Rewrite the site's index.html (every plan) and <plan_id>/index.html (that plan's years), from the
    meta.json files under the target. Returns their paths."""
    sections = _sections(fs, root)
    environment = _environment()
    organisations = {s.organisation for s in sections}
    html = environment.get_template("index.html.j2").render(
        sections=[_section_view(s, "") for s in sections],
        organisation=organisations.pop() if len(organisations) == 1 else None)
    index = _join(root, "index.html")
    fs.pipe_file(index, html.encode("utf-8"))
    [own] = [s for s in sections if s.plan_id == plan_id]
    html = environment.get_template("plan_index.html.j2").render(plan=_section_view(own, "../"))
    plan_index = _join(root, plan_id, "index.html")
    fs.pipe_file(plan_index, html.encode("utf-8"))
    return index, plan_index


def _figures(headline: dict | None) -> dict | None:
    """The index's words for a year's headline figures: 達成率 69.8%（63施策中44施策が目標を達成）.
    None for a meta.json written before the figures were kept, or a year without a rated measure."""
    if not headline or headline.get("rate") is None:
        return None
    label = headline.get("measure_label") or "施策"
    return {"rate": f"{headline['rate']:.1f}%",
            "detail": f"{headline['rated']}{label}中{headline['met']}{label}が目標を達成"}
