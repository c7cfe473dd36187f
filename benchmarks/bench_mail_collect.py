"""Collecting one mail reply from each of N departments (default 500) in one run, through IMAP.

A synthetic plan (20 measures a department), every department reached by mail (`via: email`). A real
dovecot (tenken_demo.imap_server) holds the office's mailbox; tenken sends through the SMTP stand-in
(tenken_demo.mail_standin, which stores what it is given), with a copy filed in the mailbox's Sent
folder as in production. The requests go out as the cycle sends them (not timed); then, for each run,
every department's reply (a new filled workbook with its token, In-Reply-To its request) is put into
the office's mailbox, and one collect stage is timed: reading the inbox over IMAP, decoding each mail,
intake (validation, the ledger), the receipt by SMTP (and its Sent copy), the move to the taken folder.
No goal is named for mail; the Slack collect benchmark's is 60 s for 2,000 departments.

Usage: .venv/bin/python benchmarks/bench_mail_collect.py [--departments N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_cycle import write_config  # noqa: E402
from synthetic import YEAR, synthetic_results  # noqa: E402

OFFICE = "tenken@bench.example.jp"


def by_mail(config: Path) -> None:
    """Every department asked by mail, at an address of its own."""
    path = config / "departments.yaml"
    departments = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in departments["departments"]:
        entry.update(email=f"{entry['key']}@bench.example.jp", via="email")
    path.write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")


def reply(department: str, request_id: str, name: str, content: bytes) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"{department}@bench.example.jp"
    message["To"] = OFFICE
    message["Subject"] = "Re: [点検] 点検調書の提出のお願い"
    message["Message-ID"] = make_msgid(domain="bench.example.jp")
    message["In-Reply-To"] = request_id
    message.set_content("記入しましたので提出します。")
    message.add_attachment(content, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=name)
    return message.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--departments", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from pydantic import SecretStr

    from tenken.config import load_plan
    from tenken.notify.mail import MailNotifier
    from tenken.notify.outbox import OutboxNotifier
    from tenken.notify.routing import RoutingNotifier
    from tenken.services import Cycle, collecting, opening
    from tenken.settings import Settings
    from tenken.workbook.writer import request_workbook
    from tenken_demo.imap_server import ImapServer
    from tenken_demo.mail_standin import MailStandIn

    folder = Path(tempfile.mkdtemp(prefix="tenken-bench-mail-"))
    config = write_config(folder, args.departments * 20, args.departments)
    by_mail(config)
    plan = load_plan(config)
    results = synthetic_results(plan)
    print(f"plan: {len(plan.measures)} measures, {len(plan.departments)} departments, all by mail; files in {folder}")
    with ImapServer(users={"tenken": "secret"}) as imap, MailStandIn(login=("tenken", "secret")) as smtp:
        settings = Settings(var_dir=folder / "var", database_url=f"sqlite:///{folder / 'var' / 'tenken.db'}",
                            config_dir=config, submission_key="bench-submission-key-0123456789",
                            mail={"mail_address": OFFICE, "smtp_host": smtp.host, "smtp_port": str(smtp.port),
                                  "smtp_security": "none", "imap_host": imap.host, "imap_port": str(imap.port),
                                  "imap_security": "none", "mail_user": "tenken"},
                            mail_password=SecretStr("secret"))
        notifier = RoutingNotifier(OutboxNotifier(settings.var_dir), MailNotifier(settings.mail_settings()))
        with settings.open_ledger() as ledger:
            cycle = Cycle.build(settings, YEAR, ledger, notifier)
            started = time.perf_counter()
            opening.send_requests(cycle, opening.open_cycle(cycle))
            requests = {r.department: r.message_ref.partition("/")[2] for r in cycle.ledger.requests(YEAR)}
            print(f"(requests mailed: {len(requests)}, {time.perf_counter() - started:.1f} s, not timed)")
            times = []
            for run in range(1, args.runs + 1):
                started = time.perf_counter()
                deadline = cycle.deadline + timedelta(days=run)  # printed in the workbook: new bytes each run
                for department, request_id in requests.items():
                    filled = opening.department_results(plan, results, department)
                    content = request_workbook(plan, YEAR, department, deadline, filled,
                                               cycle.signer.token(YEAR, department))
                    imap.deliver("tenken", reply(department, request_id, f"{department}-{run}.xlsx", content))
                prepared = time.perf_counter() - started
                sent_before = len(smtp.messages)
                started = time.perf_counter()
                report = collecting.collect(cycle)
                seconds = time.perf_counter() - started
                times.append(seconds)
                versions = Counter(e["version"] for e in report.accepted)
                print(f"run {run}: collect {seconds:6.1f} s  ({seconds / len(requests) * 1000:.1f} ms a department); "
                      f"accepted {len(report.accepted)} (versions {dict(versions)}), refused {len(report.rejected)}, "
                      f"failed {len(report.failed)}; receipts mailed {len(smtp.messages) - sent_before}; "
                      f"(delivering the replies: {prepared:.1f} s, not timed)")
                assert len(report.accepted) == len(requests) and not report.failed, report.failed[:3]
            print(f"median of {len(times)} runs: {statistics.median(times):.1f} s for {len(requests)} departments "
                  f"({statistics.median(times) / len(requests) * 1000:.1f} ms a department)")


if __name__ == "__main__":
    main()
