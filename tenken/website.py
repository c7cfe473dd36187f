"""Publish a year's report to the website target: a local folder by default, any fsspec URL by config.

Layout of the target:
    index.html            every published year, newest first
    <year>/<files>        the PDF, HTML and open data of that year, as written by the report
    <year>/SHA256SUMS     checksums of those files (`sha256sum -c SHA256SUMS` verifies them)
    <year>/meta.json      what the index shows for the year, with its headline figures (a meta.json
                          written before they were kept still lists its files, without figures)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import fsspec
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tenken.resources import SITE_TEMPLATES
from tenken.core.wareki import wareki_year
from tenken.files import sha256_file

_KIND_LABELS = {"pdf": "報告書（PDF）", "html": "報告書（HTML）", "csv": "別紙 オープンデータ（CSV）",
                "json": "別紙 オープンデータ（JSON）", "dictionary": "項目定義",
                "columns": "別紙 オープンデータ 項目定義（CSV）"}


@dataclass(frozen=True)
class Headline:
    """A year's headline figures, shown on the index beside its links (from the publication's summary)."""

    rate: float | None  # achievement rate in percent; None when no measure had an indicator to rate
    rated: int  # measures whose indicator was rated
    met: int  # of those, achieved or exceeded
    measure_label: str  # the plan's word for a measure (施策, 事業 …)


@dataclass(frozen=True)
class Published:
    target: str  # the year folder's URL or path
    files: dict[str, str]  # kind -> URL or path of the published file
    checksums: dict[str, str]  # file name -> sha256
    index: str


def _filesystem(target: str):
    """An fsspec filesystem and root path. A relative folder is refused: the caller decides what it is
    relative to (Settings.publish_target resolves it under the var folder)."""
    if "://" not in target and not Path(target).is_absolute():
        raise ValueError(f"publish target must be absolute or a URL: {target!r}")
    return fsspec.core.url_to_fs(target)


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def publish(files: dict[str, Path], *, fiscal_year: int, plan_name: str, organisation: str,
            target: str, published_on: datetime | None = None, headline: Headline | None = None) -> Published:
    """Copy the files of a year to the target with checksums, then rewrite the index."""
    fs, root = _filesystem(target)
    year_dir = _join(root, str(fiscal_year))
    fs.makedirs(year_dir, exist_ok=True)
    checksums: dict[str, str] = {}
    urls: dict[str, str] = {}
    for kind, path in files.items():
        path = Path(path)
        checksums[path.name] = sha256_file(path)
        fs.put_file(str(path), _join(year_dir, path.name))
        urls[kind] = _join(year_dir, path.name)
    sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(checksums.items()))
    fs.pipe_file(_join(year_dir, "SHA256SUMS"), sums.encode("utf-8"))
    meta = {
        "fiscal_year": fiscal_year,
        "title": f"{plan_name} {wareki_year(fiscal_year)}点検報告書",
        "organisation": organisation,
        "published": (published_on or datetime.now().astimezone()).isoformat(timespec="seconds"),
        "files": [{"kind": kind, "name": Path(path).name, "sha256": checksums[Path(path).name]}
                  for kind, path in files.items()],
    }
    if headline is not None:
        meta["headline"] = asdict(headline)
    fs.pipe_file(_join(year_dir, "meta.json"), json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"))
    index = write_index(fs, root, organisation)
    return Published(target=year_dir, files=urls, checksums=checksums, index=index)


def write_index(fs, root: str, organisation: str) -> str:
    """index.html listing every year folder that has a meta.json, newest first."""
    years = []
    for entry in fs.ls(root, detail=False):
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        meta_path = _join(root, name, "meta.json")
        if name.isdigit() and fs.exists(meta_path):
            meta = json.loads(fs.cat_file(meta_path).decode("utf-8"))
            meta["year_label"] = wareki_year(meta["fiscal_year"])
            meta["figures"] = _figures(meta.get("headline"))
            for item in meta["files"]:
                item["label"] = _KIND_LABELS.get(item["kind"], item["name"])
                item["href"] = f"{name}/{item['name']}"
            years.append(meta)
    years.sort(key=lambda m: m["fiscal_year"], reverse=True)
    environment = Environment(loader=FileSystemLoader(SITE_TEMPLATES), autoescape=select_autoescape(default=True))
    html = environment.get_template("index.html.j2").render(years=years, organisation=organisation)
    index = _join(root, "index.html")
    fs.pipe_file(index, html.encode("utf-8"))
    return index


def _figures(headline: dict | None) -> dict | None:
    """The index's words for a year's headline figures: 達成率 69.8%（63施策中44施策が目標を達成）.
    None for a meta.json written before the figures were kept, or a year without a rated measure."""
    if not headline or headline.get("rate") is None:
        return None
    label = headline.get("measure_label") or "施策"
    return {"rate": f"{headline['rate']:.1f}%",
            "detail": f"{headline['rated']}{label}中{headline['met']}{label}が目標を達成"}
