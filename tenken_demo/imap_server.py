"""A real IMAP server for the tests and the demo: Debian's dovecot (dovecot-imapd), run from a temporary folder.

    with ImapServer(users={"tenken": "secret"}) as server:
        server.deliver("tenken", raw_mail_bytes)          # as an MTA would: into Maildir/new
        settings = MailSettings(..., imap_host=server.host, imap_port=server.port, imap_security="none",
                                username="tenken", password="secret")
        server.kill_connections("tenken")                 # the server drops every session of the user

Each instance has its own configuration, sockets, state and log in a run folder of its own (so several can run at
once, one per pytest-xdist worker), listens on 127.0.0.1 only and accepts plain logins (passwd-files, one per user)
without TLS; with `tls=True` it also offers STARTTLS on `port` and IMAPS on `ssl_port`, with a self-signed
certificate for 127.0.0.1 (`certificate`, the PEM a client must trust). Mail lives as Maildir under `<root>/<local part of the user>/Maildir`, so an SMTP stand-in can deliver
into the same folders (better through `deliver()`, which keeps the folders' owner right).

Dovecot never runs mail processes as root ("userdb returned 0 as uid"): when started by root, the mail belongs to
Debian's `mail` user (uid 8) and the root folder must be reachable by it (a fresh folder under /tmp is; pytest's
tmp_path, under a 0700 folder of root's, is not). When started by another user, everything runs as that user.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

DOVECOT = Path("/usr/sbin/dovecot")
DOVEADM = Path("/usr/bin/doveadm")
INSTALL_HINT = "dovecot is not installed: run `make mail-packages` (apt-get install dovecot-imapd)"
START_TIMEOUT = 10.0
HOST = "127.0.0.1"


class ImapServerError(RuntimeError):
    """Dovecot is missing, or did not start (the message carries its log)."""


def dovecot_missing() -> str | None:
    """Why no dovecot can be started here, or None if it can."""
    if not DOVECOT.exists() or not DOVEADM.exists() or not Path("/usr/lib/dovecot/imap").exists():
        return INSTALL_HINT
    return None


def _mail_owner() -> tuple[int, int, str]:
    """uid, gid and name the mail processes run as: ourselves, or `mail` (then `nobody`) when we are root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return entry.pw_uid, os.getegid(), entry.pw_name
    for name in ("mail", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid, entry.pw_name
    raise ImapServerError("no unprivileged user (mail, nobody) to own the mail: dovecot refuses root")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


try:
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here: nothing is imported between fork and exec
except OSError:
    _LIBC = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Dovecot's master gets SIGTERM if the Python process dies without stop() (a killed test run)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ImapServer:
    """One dovecot instance; `start()` returns once it greets on its port."""

    def __init__(self, users: dict[str, str] | None = None, root: str | os.PathLike | None = None, *,
                 tls: bool = False):
        missing = dovecot_missing()
        if missing:
            raise ImapServerError(missing)
        self.users: dict[str, str] = dict(users if users is not None else {"tenken": "tenken"})
        for user, password in self.users.items():
            _check_account(user, password)
        self.host = HOST
        self.port: int | None = None  # IMAP (with STARTTLS when tls)
        self.tls = tls
        self.ssl_port: int | None = None  # IMAPS, when tls
        self.certificate: Path | None = None  # the self-signed certificate (PEM) clients must trust, when tls
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="tenken-mail-"))
        self._uid, self._gid, self._owner_name = _mail_owner()
        self._run: Path | None = None
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._delivered = 0
        self._last_stamp = (0, 0)

    # -- life cycle -------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start() if self._process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, port: int = 0) -> Self:
        """Start on `port` (0: a free one, retried if another process takes it first); within START_TIMEOUT."""
        if self._process is not None:
            raise ImapServerError("already started")
        try:
            made = self._own_root or not self.root.exists()
            self.root.mkdir(parents=True, exist_ok=True)
            self._prepare_root(made)
            self._run = Path(tempfile.mkdtemp(prefix="tenken-dovecot-"))  # short: unix socket paths are limited
            os.chmod(self._run, 0o755)  # the login and auth processes run as dovecot's own users
            for user in self.users:
                self._make_maildir(user)
            self._write_passwd()
            if self.tls:
                self._make_certificate()
            attempts = 3 if port == 0 else 1
            for attempt in range(attempts):
                chosen = port or _free_port()
                ssl_port = _free_port() if self.tls else 0
                self._write_config(chosen, ssl_port)
                failure = self._launch(chosen)
                if failure is None:
                    self.port = chosen
                    self.ssl_port = ssl_port or None
                    return self
                if attempt + 1 == attempts or "Address already in use" not in failure:
                    raise ImapServerError(failure)
            raise AssertionError("unreachable")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _terminate(process)
        self._cleanup_run()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
        self.port = self.ssl_port = self.certificate = None

    def restart(self) -> None:
        """Stop and start again on the same port (every session is dropped; the mail stays)."""
        port = self.port
        if self._process is not None:
            _terminate(self._process)
            self._process = None
        failure = self._launch(port)
        if failure is not None:
            raise ImapServerError(failure)

    # -- accounts and mail ---------------------------------------------------------------------------------

    def add_user(self, user: str, password: str) -> None:
        """A new account, usable at once (a passwd-file of its own, which dovecot reads on first use)."""
        _check_account(user, password)
        with self._lock:
            self.users[user] = password
            if self._run is not None:
                self._make_maildir(user)
                self._write_passwd()

    def maildir(self, user: str) -> Path:
        return self.root / _local_part(user) / "Maildir"

    def deliver(self, user: str, raw: bytes) -> Path:
        """Put one message into the user's INBOX as an MTA would (Maildir/tmp, then a rename into new/).

        File names carry increasing timestamps, so dovecot gives the mails UIDs in delivery order."""
        maildir = self.maildir(user)
        self._make_maildir(user)
        with self._lock:
            now = time.time_ns() // 1000
            stamp = max((now // 1_000_000, now % 1_000_000), self._next_stamp())
            self._last_stamp = stamp
            self._delivered += 1
            name = f"{stamp[0]}.M{stamp[1]}P{os.getpid()}Q{self._delivered}.tenken-imap"
        temporary = maildir / "tmp" / name
        temporary.write_bytes(raw)
        os.chmod(temporary, 0o644)
        target = maildir / "new" / name
        os.rename(temporary, target)
        return target

    def _next_stamp(self) -> tuple[int, int]:
        seconds, micros = self._last_stamp
        return (seconds + 1, 0) if micros >= 999_999 else (seconds, micros + 1)

    def kill_connections(self, user: str | None = None, *, timeout: float = 5.0) -> None:
        """Drop every IMAP session (of `user`, or of everyone) the way an operator would: `doveadm kick`.

        Returns once dovecot lists no session of theirs any more, so the next command of a client fails."""
        mask = user or "*"
        self._doveadm("kick", mask)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.sessions(user):
                return
            time.sleep(0.02)
        raise ImapServerError(f"sessions of {mask} still open after doveadm kick:\n{self.log_text()}")

    def sessions(self, user: str | None = None) -> list[str]:
        """The users with an open IMAP session (`doveadm who`), one entry per user."""
        done = self._doveadm("who", *([user] if user else []))
        lines = done.stdout.splitlines()[1:]
        return [line.split()[0] for line in lines if line.strip()]

    def log_text(self) -> str:
        if self._run is None or not (self._run / "dovecot.log").exists():
            return ""
        return (self._run / "dovecot.log").read_text(encoding="utf-8", errors="replace")

    def logins(self, user: str) -> int:
        """How many times `user` logged in so far (from the log): a reconnect shows as a second login."""
        return self.log_text().count(f"imap-login: Info: Login: user=<{user}>")

    # -- internals -------------------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        if self._run is None:
            raise ImapServerError("not started")
        return self._run / "dovecot.conf"

    def _doveadm(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(DOVEADM), "-c", str(self.config_path), *args],
                              check=False, capture_output=True, text=True, timeout=15)
        if done.returncode != 0:
            raise ImapServerError(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def _prepare_root(self, made: bool) -> None:
        """Root: a folder we made belongs to the mail user (what an SMTP stand-in creates in it follows its
        owner); any root must be reachable by that user."""
        if os.geteuid() == 0:
            if made:
                os.chmod(self.root, 0o755)
                os.chown(self.root, self._uid, self._gid)
            blocked = [str(p) for p in [self.root, *self.root.resolve().parents]
                       if p.stat().st_uid != self._uid and not p.stat().st_mode & 0o001]
            if blocked:
                raise ImapServerError(
                    f"{self.root} is not reachable by the mail user {self._owner_name} (dovecot does not run mail "
                    f"processes as root): {', '.join(blocked)} must be searchable by others; use a folder under /tmp")

    def _make_maildir(self, user: str) -> None:
        home = self.root / _local_part(user)
        maildir = home / "Maildir"
        for folder in (home, maildir, maildir / "new", maildir / "cur", maildir / "tmp"):
            if not folder.exists():
                folder.mkdir(mode=0o700, exist_ok=True)
                os.chown(folder, self._uid, self._gid)

    def _write_passwd(self) -> None:
        """One passwd-file per user: dovecot rereads a changed file at most once a second, a new one at once."""
        assert self._run is not None
        folder = self._run / "passwd"
        folder.mkdir(mode=0o755, exist_ok=True)
        for user, password in self.users.items():
            temporary = folder / f".{user}.tmp"
            temporary.write_text(f"{user}:{{PLAIN}}{password}::::::\n", encoding="utf-8")
            os.chmod(temporary, 0o644)
            os.replace(temporary, folder / user)

    def _make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1 and localhost (openssl, an EC key: quick)."""
        assert self._run is not None
        certificate, key = self._run / "cert.pem", self._run / "key.pem"
        done = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(key), "-out", str(certificate)],
            check=False, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise ImapServerError(f"openssl could not make a certificate: {done.stderr}")
        self.certificate = certificate

    def _write_config(self, port: int, ssl_port: int = 0) -> None:
        run = self._run
        assert run is not None
        as_root = os.geteuid() == 0
        if as_root:
            users = "default_login_user = dovenull\ndefault_internal_user = dovecot\n"
            chroots = ""
        else:  # a non-root dovecot runs everything as us, and cannot chroot
            group = grp.getgrgid(os.getegid()).gr_name
            users = (f"default_login_user = {self._owner_name}\ndefault_internal_user = {self._owner_name}\n"
                     f"default_internal_group = {group}\n")
            chroots = ("service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
                       "service stats {\n  chroot =\n}\n")
        if self.tls:
            tls = f"ssl = yes\nssl_cert = <{run}/cert.pem\nssl_key = <{run}/key.pem\n"
        else:
            tls = "ssl = no\n"
        config = f"""# written by tenken_demo.imap_server: a throwaway dovecot for tests and the demo
instance_name = {run.name}
base_dir = {run}/base
state_dir = {run}/state
log_path = {run}/dovecot.log
info_log_path = {run}/dovecot.log
protocols = imap
listen = {HOST}
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
{users}first_valid_uid = 1
first_valid_gid = 1
mail_uid = {self._uid}
mail_gid = {self._gid}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
login_greeting = tenken test IMAP {run.name}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {run}/passwd/%u
}}
userdb {{
  driver = static
  args = uid={self._uid} gid={self._gid} home={self.root}/%n
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {ssl_port}
  }}
}}
{chroots}"""
        (run / "dovecot.conf").write_text(config, encoding="utf-8")

    def _launch(self, port: int) -> str | None:
        """Start dovecot and wait for its greeting; the reason (with the log) if it does not come."""
        run = self._run
        assert run is not None
        with open(run / "stderr.log", "ab") as stderr:
            process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(run / "dovecot.conf")],
                                       stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                       start_new_session=True, preexec_fn=_die_with_parent)  # noqa: PLW1509
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _greets(port, run.name):
                self._process = process
                return None
            time.sleep(0.02)
        if process.poll() is None:
            _terminate(process)
        output = (run / "stderr.log").read_text(encoding="utf-8", errors="replace")
        return (f"dovecot did not start on {HOST}:{port} within {START_TIMEOUT:.0f} s "
                f"(exit status {process.returncode}):\n{output}\n{self.log_text()}")

    def _cleanup_run(self) -> None:
        if self._run is not None:
            shutil.rmtree(self._run, ignore_errors=True)
            self._run = None


def _greets(port: int, name: str) -> bool:
    """Our dovecot answers on the port (its greeting names its run folder: not another one's port)."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as connection:
            greeting = connection.recv(256)
            return greeting.startswith(b"* OK") and name.encode() in greeting
    except OSError:
        return False


def _terminate(process: subprocess.Popen) -> None:
    """SIGTERM to the dovecot master we started, then SIGKILL to what is left of its process group.

    The group is the one start_new_session gave it: dovecot's processes alone. The master leaves imap processes
    with a client behind (shutdown_clients or not), so they are ended here too."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=5)


def _local_part(user: str) -> str:
    return user.partition("@")[0]


def _check_account(user: str, password: str) -> None:
    for value in (user, password):
        if not value or any(c in value for c in ":\n\r\t\0"):
            raise ValueError(f"unusable user or password for the passwd-file: {user!r}")
    if "/" in user or _local_part(user) in (".", ".."):
        raise ValueError(f"unusable user name: {user!r}")


def main(argv: list[str] | None = None) -> None:
    """Serve a dovecot IMAP server on 127.0.0.1 until SIGTERM or Ctrl-C (for the demo)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tenken_demo.imap_server", description=main.__doc__)
    parser.add_argument("--port", type=int, default=4326)
    parser.add_argument("--root", help="folder of the Maildirs (<root>/<user>/Maildir); default: a temporary one")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                        help="an account (repeatable; default tenken:tenken)")
    parser.add_argument("--user-file", metavar="FILE",
                        help="accounts, one NAME:PASSWORD a line (kept off the command line, which other users can read)")
    options = parser.parse_args(argv)
    entries = list(options.user)
    if options.user_file:
        entries += [line for line in Path(options.user_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    if any(":" not in entry for entry in entries):
        parser.error("an account is NAME:PASSWORD")
    users = dict(entry.split(":", 1) for entry in entries) if entries else None
    server = ImapServer(users=users, root=options.root)
    try:
        server.start(port=options.port)  # before blocking the signals: dovecot would inherit the mask
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # for sigwait, not Python
        print(f"IMAP server (dovecot, for the demo): {server.host}:{server.port} — mail under {server.root} — "
              f"users: {', '.join(server.users)}", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except ImapServerError as error:
        print(error, file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        server.stop()


if __name__ == "__main__":
    main()
