"""The composition root: every setting of a tenken process, resolved once, and what is built from them.

Each entry point (a CLI command, a flow) calls `Settings.resolve(...)` once, with its flags, and
passes the result down. Nothing below an entry point reads the environment: the ledger, the
notifier and the folders all come from here.

    TENKEN_VAR_DIR            var folder (default ./var, made absolute when resolved): ledger, outbox, cycles
    TENKEN_DATABASE_URL       the ledger (default: sqlite file <var>/tenken.db)
    TENKEN_CONFIG_DIR         plan folder (default: the bundled Kanagawa example)
    SLACK_BOT_TOKEN           Slack bot token; with none, messages go to <var>/outbox
    TENKEN_SLACK_SECRET_BLOCK Prefect Secret block holding the token (flows look up "tenken-slack-bot-token"
                              by default; the CLI only when this is set)
    TENKEN_SLACK_BASE_URL     Slack Web API base URL (proxies, the tests' stand-in)
    TENKEN_REVIEW_POLL_SECONDS how often a paused review checks for the reviewers' answer (default 10)
    TENKEN_SUBMISSION_KEY     the key of the departments' submission tokens (tenken.identity; 16+ characters)
    TENKEN_SUBMISSION_SECRET_BLOCK Prefect Secret block holding that key (flows look up
                              "tenken-submission-key" by default; the CLI only when this is set); with
                              neither, the key is <var>/keys/submission.key, made on first use (owner-only)
    TENKEN_MAIL_ADDRESS       the office's dedicated mailbox (From of tenken's mail, where departments reply)
    TENKEN_SMTP_HOST          mail server for outgoing mail; unset: `mailto:` targets go to the outbox
    TENKEN_SMTP_PORT, TENKEN_SMTP_SECURITY   587 and starttls by default (ssl: implicit TLS, none: loopback only)
    TENKEN_IMAP_HOST          mail server holding the mailbox (replies are read from its INBOX); unset: none read
    TENKEN_IMAP_PORT, TENKEN_IMAP_SECURITY   993 and ssl by default
    TENKEN_MAIL_USER, TENKEN_MAIL_PASSWORD   the mailbox's login (SMTP and IMAP); the password may instead be
                              in the Prefect Secret block named by TENKEN_MAIL_SECRET_BLOCK

The object is small and JSON-friendly, so flows pass it to tasks as a parameter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from tenken.resources import EXAMPLE_CONFIG

ENV_VAR_DIR = "TENKEN_VAR_DIR"
ENV_DATABASE_URL = "TENKEN_DATABASE_URL"
ENV_CONFIG_DIR = "TENKEN_CONFIG_DIR"
ENV_SLACK_TOKEN = "SLACK_BOT_TOKEN"
ENV_SLACK_SECRET_BLOCK = "TENKEN_SLACK_SECRET_BLOCK"
ENV_SLACK_BASE_URL = "TENKEN_SLACK_BASE_URL"
ENV_REVIEW_POLL = "TENKEN_REVIEW_POLL_SECONDS"
DEFAULT_SECRET_BLOCK = "tenken-slack-bot-token"
ENV_SUBMISSION_KEY = "TENKEN_SUBMISSION_KEY"
ENV_SUBMISSION_SECRET_BLOCK = "TENKEN_SUBMISSION_SECRET_BLOCK"
DEFAULT_SUBMISSION_BLOCK = "tenken-submission-key"
DEFAULT_SLACK_BASE_URL = "https://slack.com/api/"
ENV_MAIL = {"mail_address": "TENKEN_MAIL_ADDRESS", "smtp_host": "TENKEN_SMTP_HOST", "smtp_port": "TENKEN_SMTP_PORT",
            "smtp_security": "TENKEN_SMTP_SECURITY", "imap_host": "TENKEN_IMAP_HOST", "imap_port": "TENKEN_IMAP_PORT",
            "imap_security": "TENKEN_IMAP_SECURITY", "mail_user": "TENKEN_MAIL_USER"}
ENV_MAIL_PASSWORD = "TENKEN_MAIL_PASSWORD"
ENV_MAIL_SECRET_BLOCK = "TENKEN_MAIL_SECRET_BLOCK"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    var_dir: Path
    database_url: str
    config_dir: Path = EXAMPLE_CONFIG
    slack_token: SecretStr | None = None
    slack_secret_block: str | None = None
    slack_base_url: str = DEFAULT_SLACK_BASE_URL
    review_poll_seconds: int = 10
    submission_key: SecretStr | None = None
    submission_secret_block: str | None = None
    mail: dict[str, str] = {}  # ENV_MAIL's settings as given (strings); see mail_settings()
    mail_password: SecretStr | None = None
    mail_secret_block: str | None = None

    @classmethod
    def resolve(cls, *, var_dir: str | Path | None = None, database_url: str | None = None,
                config_dir: str | Path | None = None, secret_block: str | None = None,
                submission_block: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Flags first, then the environment, then the defaults. `secret_block` and `submission_block` are
        the Prefect Secret blocks to consult when the Slack token or the submission key is not in the
        environment (flows pass DEFAULT_SECRET_BLOCK and DEFAULT_SUBMISSION_BLOCK)."""
        env = os.environ if environ is None else environ
        var = Path(var_dir or env.get(ENV_VAR_DIR) or Path.cwd() / "var").resolve()
        database_url = database_url or env.get(ENV_DATABASE_URL) or f"sqlite:///{(var / 'tenken.db').as_posix()}"
        config = Path(config_dir or env.get(ENV_CONFIG_DIR) or EXAMPLE_CONFIG).resolve()
        token = env.get(ENV_SLACK_TOKEN) or None
        block = env[ENV_SLACK_SECRET_BLOCK] if ENV_SLACK_SECRET_BLOCK in env else secret_block
        key = env.get(ENV_SUBMISSION_KEY) or None
        key_block = env[ENV_SUBMISSION_SECRET_BLOCK] if ENV_SUBMISSION_SECRET_BLOCK in env else submission_block
        return cls(var_dir=var, database_url=database_url, config_dir=config,
                   slack_token=SecretStr(token) if token else None, slack_secret_block=block or None,
                   slack_base_url=env.get(ENV_SLACK_BASE_URL) or DEFAULT_SLACK_BASE_URL,
                   review_poll_seconds=int(env.get(ENV_REVIEW_POLL) or 10),
                   submission_key=SecretStr(key) if key else None, submission_secret_block=key_block or None,
                   mail={name: env[var] for name, var in ENV_MAIL.items() if env.get(var)},
                   mail_password=SecretStr(env[ENV_MAIL_PASSWORD]) if env.get(ENV_MAIL_PASSWORD) else None,
                   mail_secret_block=env.get(ENV_MAIL_SECRET_BLOCK) or None)

    # ---------------------------------------------------------------- places

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def plan_id(self) -> str:
        """The id of the plan of config_dir (plan.yaml's plan.id, else the folder's name)."""
        from tenken.config import load_plan

        return load_plan(self.config_dir).id

    def cycle_dir(self, fiscal_year: int, plan_id: str | None = None) -> Path:
        """<var>/cycles/<plan id>/<year> (this settings' plan unless another id is given): each plan's
        years apart, so several plans share one var folder."""
        return self.var_dir / "cycles" / (plan_id or self.plan_id) / str(fiscal_year)

    def publish_target(self, target: str) -> str:
        """cycle.yaml's publish_target: a URL or absolute folder as is, a relative folder under the var folder."""
        if "://" in target or Path(target).is_absolute():
            return target
        return str(self.var_dir / target)

    # ---------------------------------------------------------------- what is built from them

    def open_ledger(self):
        """The ledger, serving the cycles of this plan only (several plans may share one database)."""
        from tenken.config import load_plan
        from tenken.ledger import Ledger

        plan = load_plan(self.config_dir)
        return Ledger.open(self.database_url, plan.id, plan.name)

    def notifier(self):
        """Slack when a token is found (environment, else the Secret block), the outbox otherwise."""
        from tenken.notify import notifier_for

        token = self.slack_token.get_secret_value() if self.slack_token else None
        if token is None and self.slack_secret_block:
            token = _token_from_secret_block(self.slack_secret_block)
        return notifier_for(token, self.slack_base_url, self.var_dir, self.mail_settings())

    def mail_settings(self):
        """The office's mailbox (tenken.notify.mail_settings.MailSettings), or None without an SMTP server."""
        if not self.mail.get("smtp_host"):
            return None
        from tenken.config import load_cycle_settings
        from tenken.notify.mail_settings import MailSettings

        given = self.mail
        password = self.mail_password.get_secret_value() if self.mail_password else None
        if password is None and self.mail_secret_block:
            password = _token_from_secret_block(self.mail_secret_block)
        address = given.get("mail_address") or given.get("mail_user") or f"tenken@{given['smtp_host']}"
        return MailSettings(
            address=address, smtp_host=given["smtp_host"], smtp_port=int(given.get("smtp_port") or 587),
            smtp_security=given.get("smtp_security") or "starttls", imap_host=given.get("imap_host"),
            imap_port=int(given.get("imap_port") or 993), imap_security=given.get("imap_security") or "ssl",
            username=given.get("mail_user"), password=password,
            signature=load_cycle_settings(self.config_dir).mail_signature)

    def mailbox(self):
        """The office's mailbox to read replies from (tenken.notify.mailbox.Mailbox), or None without IMAP."""
        mail = self.mail_settings()
        if mail is None or not mail.imap_host:
            return None
        from tenken.notify.mailbox import Mailbox

        return Mailbox(mail)


    @property
    def key_file(self) -> Path:
        return self.var_dir / "keys" / "submission.key"

    def signer(self, plan_name: str):
        """The signer of this plan's submission tokens: the key from the environment, else the Secret
        block, else the key file under the var folder (made on first use, readable by its owner only)."""
        from tenken.identity import Signer

        key = self.submission_key.get_secret_value() if self.submission_key else None
        if key is None and self.submission_secret_block:
            key = _token_from_secret_block(self.submission_secret_block)
        return Signer(key.encode("utf-8") if key else _key_file(self.key_file), plan_name)


def _key_file(path: Path) -> bytes:
    """The key in `path`, made (32 random bytes, hex, mode 0600) if there is none; a racing maker's key wins."""
    import secrets

    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_hex(32).encode("ascii"))
    try:
        os.link(made, path)  # fails if another process made it first: theirs is the key
    except FileExistsError:
        pass
    finally:
        made.unlink()
    return path.read_bytes().strip()


def _token_from_secret_block(name: str) -> str | None:
    # Imported here so that the outbox and plain Slack use never need Prefect or its API.
    from prefect.blocks.system import Secret

    try:
        secret = Secret.load(name)
    except ValueError:
        return None
    return secret.get() or None
