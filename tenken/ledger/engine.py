"""How to connect to the ledger: SQLite settings, migrations on open. Which URL is tenken.settings' business."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE = "tenken_ledger_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)
_PG_MIGRATION_LOCK = 0x7E4E4B45  # any constant: serialises concurrent first opens on PostgreSQL

_head_lock = threading.Lock()
_head: list[str] = []


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and for in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def exists(url: str) -> bool:
    """Whether there is a ledger to read without creating one: a SQLite file that is not there is none;
    a database server is assumed to hold one."""
    path = sqlite_file(url)
    return path is None or path.is_file()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = sqlite_file(url)
    if path is None:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # pysqlite's own implicit BEGIN would defeat BEGIN IMMEDIATE below, so it is switched off.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if path is not None:
            # WAL: readers never wait for the one writer; NORMAL is durable at checkpoints in WAL mode.
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # A writer takes the write lock when it starts, so two writers queue instead of one failing
        # with 'database is locked' when it upgrades its read lock half-way.
        immediate = connection.get_execution_options().get(WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _use_wal(cursor, attempts: int = 200) -> None:
    """Switch a SQLite file to WAL (it persists in the file, so usually there is nothing to do).

    The switch needs the file to itself and SQLite answers "database is locked" at once rather
    than waiting, so two first opens of a new ledger would race: retry until one of them has won.
    """
    for _ in range(attempts):
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    raise sqlite3.OperationalError("could not switch the ledger to WAL mode: database stays locked")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    with _head_lock:
        if not _head:
            _head.append(ScriptDirectory.from_config(_config()).get_current_head())
        return _head[0]


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several processes open a new ledger at once."""
    with engine.connect().execution_options(**{WRITE: True}) as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to change its constraints (batch mode): dropping the old one must not
            # cascade or fail on the rows that refer to it. Only switchable outside a transaction; the
            # references are checked before the upgrade commits.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
                current = MigrationContext.configure(connection).get_current_revision()
                if current == head_revision():
                    return
                config = _config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError("ledger migration left rows whose references do not resolve; nothing was changed")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
