"""Stage 6, publish: the final report (no watermark) and open data to the website, recorded, announced once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from tenken.core.aggregate import summarize
from tenken.core.errors import DomainError
from tenken.notify import render
from tenken.services.compiling import current_assessment
from tenken.services.cycle import Cycle
from tenken.services.history import history_for, previous_rates
from tenken.services.dispatch import to_recipient
from tenken.website import Headline, Published, publish

JST = timezone(timedelta(hours=9), "JST")

NOT_APPROVED = ("{year}の「{plan}」点検報告書は、確認者の承認（cycle.yaml の review.approvals）がそろった確認回がないため"
                "公表できません。compile-and-review で確認を受けてください。")


def publish_final(cycle: Cycle, published_on: datetime | None = None, unreviewed: bool = False) -> Published:
    """Publish what the last review round approved. `unreviewed` (the office at the server, `tenken
    publish --unreviewed`) publishes without an approval; the ledger then records no review round."""
    from tenken.core.wareki import wareki_year
    from tenken.report import write_report  # WeasyPrint is heavy: imported by the steps that render
    from tenken.services.reviewing import approved_round

    plan, year, config = cycle.plan, cycle.fiscal_year, cycle.config
    approved = approved_round(cycle)
    if approved is None and not unreviewed:
        raise DomainError(NOT_APPROVED.format(year=wareki_year(year), plan=plan.name))
    assessment = current_assessment(cycle, allow_missing=False)
    history = history_for(plan, year, cycle.ledger)
    summary = summarize(assessment, previous_rates(plan, year, history))
    day = (published_on or datetime.now(JST)).astimezone(JST).date()
    files = write_report(assessment, summary, cycle.folder("final"), draft=False, history=history, report_date=day)
    published = publish(files, fiscal_year=year, plan_name=plan.name, organisation=plan.organisation,
                        target=cycle.settings.publish_target(config.publish_target), published_on=published_on,
                        headline=Headline(rate=summary.rate, rated=summary.rated, met=summary.met,
                                          measure_label=plan.measure_label), plan_id=plan.id)
    cycle.ledger.record_publication(year, published.target, published.checksums, review_round=approved)
    if config.announce_channel and config.announce_channel.address:
        base = config.site_url.rstrip("/")
        names = {kind: Path(path).name for kind, path in files.items()}
        folder = f"{base}/{published.path}"  # <plan_id>/<year>
        text = render("published", plan=plan.name, fiscal_year=year,
                      pdf_url=f"{folder}/{names['pdf']}", html_url=f"{folder}/{names['html']}",
                      data_url=f"{folder}/{names['csv']}", index_url=f"{base}/{published.plan_id}/")
        cycle.dispatcher.notice("published", "final",
                                to_recipient(config.announce_channel, text, f"{year}/published", "published"))
    return published
