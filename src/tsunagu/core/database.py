"""Database access: one engine per process, one session per unit of work.

- SQLite (embedded default) runs in WAL mode with foreign keys enforced and a busy timeout,
  so the web server and a CLI command can share the file.
- PostgreSQL is reached through psycopg 3.
- The schema comes only from Alembic migrations (``migrate``); models and migrations are
  proven to agree by a test.
- Transactions belong to the edge (request, CLI command, job): services ``flush()``, the
  edge commits through ``unit_of_work``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names follow ``NAMING_CONVENTION``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


#: longest an SQLite writer waits for the process's writer gate before it falls back to
#: SQLite's own busy handler (seconds; the busy timeout is the same)
WRITER_GATE_TIMEOUT = 10.0


class GatedConnection(sqlite3.Connection):
    """A pysqlite connection that hands the process's writer gate back after its
    transaction ends (COMMIT, ROLLBACK or close).

    SQLite admits one writer at a time.  Without a gate, concurrent writers of one process
    all start ``BEGIN IMMEDIATE`` and the losers wait in SQLite's busy handler, which
    *sleeps* (1, 2, 5 … 100 ms) and re-polls: under load, writers spend their time asleep
    while the lock is free, and throughput collapses.  With the gate they queue on a
    ``threading.Lock`` and start the moment the previous writer committed.
    """

    gate: threading.Lock | None = None
    holding: bool = False

    def acquire_gate(self) -> None:
        if self.gate is not None and not self.holding:
            self.holding = self.gate.acquire(timeout=WRITER_GATE_TIMEOUT)

    def release_gate(self) -> None:
        if self.holding and self.gate is not None:
            self.holding = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_gate()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN instead
    # (see ``_sqlite_begin``), as its documentation recommends.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache per connection (the default is 2 MiB): the ledger's hash
    # indexes take random inserts, which thrash a small cache
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at the start, so a transaction that reads and then
    # writes never fails with SQLITE_BUSY when another writer committed in between.
    # Read-mostly work (GET requests) asks for DEFERRED: readers then never queue behind
    # the write lock, and their rare writes are best-effort (see ``read_mostly``).
    if conn.get_execution_options().get("tsunagu_begin") == "DEFERRED":
        conn.exec_driver_sql("BEGIN")
        return
    raw = conn.connection.dbapi_connection
    gated = isinstance(raw, GatedConnection)
    if gated:
        raw.acquire_gate()
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if gated:
            raw.release_gate()
        raise


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("tsunagu needs a database file, not an in-memory SQLite")
        # as many pooled connections as the server has worker threads (40): under load a
        # connection returned to a smaller pool is closed, and the next request pays for a
        # new one (and its pragmas)
        kwargs.setdefault("pool_size", 40)
        kwargs.setdefault("max_overflow", 10)
        gate = threading.Lock()  # one writer at a time in this process (GatedConnection)

        def on_connect(dbapi_connection: Any, record: Any) -> None:
            if isinstance(dbapi_connection, GatedConnection):
                dbapi_connection.gate = gate
            _sqlite_pragmas(dbapi_connection, record)

        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "factory": GatedConnection},
            **kwargs,
        )
        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(
    engine: Engine | Any, *, read_mostly: bool = False
) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit (pages render after the commit).

    ``read_mostly`` sessions (for GET and HEAD requests) begin SQLite transactions without
    taking the write lock; a write they attempt may then be refused with "database is
    locked" when another writer got there first, so such writes must be best-effort.
    """
    if read_mostly and isinstance(engine, Engine) and engine.dialect.name == "sqlite":
        engine = engine.execution_options(tsunagu_begin="DEFERRED")
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Any:
    """The Alembic configuration for ``url`` (migrations ship inside the package)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None when it was never migrated."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ping(engine: Engine) -> None:
    """Raise when the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


__all__ = [
    "Base",
    "StaticPool",
    "current_revision",
    "make_engine",
    "make_session_factory",
    "migrate",
    "ping",
    "unit_of_work",
]
