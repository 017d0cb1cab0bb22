"""The key store: each person's wrapped data key, in a database of its own.

Why a separate database: crypto-shredding.  Erasure destroys the person's data key, and a
copy of the main database taken before the erasure (a backup, a replica, a stolen dump)
must then be useless — which only holds if that copy never contained the key.  So the
wrapped data keys live here, in their own engine and file, and never in the main schema.

- One table, ``person_keys(person_id, master_key_id, wrapped_key, created_at,
  destroyed_at)``, created with ``metadata.create_all`` when the store opens.  It is not
  part of the main schema and has no Alembic migration.
- SQLite (the default, ``keys.db`` in home) runs with ``PRAGMA secure_delete=ON`` and the
  rollback journal (``journal_mode=DELETE``, no WAL): a destroyed key is overwritten with
  zeros inside the file, not left behind in a free page or a write-ahead log.  What the
  file system or the disk keeps of deleted journal files is outside the store's reach.
  PostgreSQL URLs work too (there, shredding relies on VACUUM reclaiming the dead tuple).
- ``destroy`` clears the key material and leaves a tombstone (``destroyed_at``), so the
  store can tell "erased" from "never had a key"; a destroyed person never gets a new key
  (``data_key`` answers None).
- **Backups.**  A backup of *this* store still holds the keys it held.  Back it up apart
  from the main database, with a retention shorter than the erasure deadline — or not at
  all: a lost key store loses every sealed payload, so weigh that against the erasure
  promise.  A copy of the main database plus the live key store after erasure is what
  must be (and is, see the tests) unreadable.
- Data keys are created on first use and committed at once, independently of the caller's
  transaction: an orphan key (the caller rolled back) is harmless.  Unwrapped keys are
  cached in a small bounded LRU, which ``destroy`` empties of the person.
- Thread-safe; ``open_keystore(settings)`` gives one store per URL per process.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.vault.crypto import MasterKeyRing, new_data_key

__all__ = ["KeyStore", "close_keystores", "open_keystore", "person_keys"]

_CHUNK = 1000  # ids per IN (...) query: far below SQLite's bound on parameters

metadata = MetaData()

person_keys = Table(
    "person_keys",
    metadata,
    Column("person_id", Uuid, primary_key=True),
    Column("master_key_id", String(64), nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("destroyed_at", DateTime(timezone=True), nullable=True),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # explicit BEGIN (see ``_sqlite_begin``) instead of pysqlite's implicit transactions
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=DELETE")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("the key store needs a database file, not an in-memory SQLite")
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=8
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True)


def _chunks(items: list[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class KeyStore:
    """Wrapped per-person data keys in their own database (see the module docstring)."""

    def __init__(self, url: str, ring: MasterKeyRing, *, cache_size: int = 4096) -> None:
        self.url = url
        self.ring = ring
        self._engine = _make_engine(url)
        self._lock = threading.Lock()
        self._cache: OrderedDict[uuid.UUID, bytes] = OrderedDict()
        self._cache_size = cache_size
        # bumped by every destroy: a key read before a destroy is never cached after it
        self._epoch = 0
        metadata.create_all(self._engine)

    @classmethod
    def at_path(cls, path: Path, ring: MasterKeyRing, **kwargs: Any) -> KeyStore:
        """A store kept in the SQLite file ``path`` (tests, tools)."""
        return cls(f"sqlite:///{path.resolve()}", ring, **kwargs)

    @property
    def engine(self) -> Engine:
        return self._engine

    # -- the cache -------------------------------------------------------------------

    def _cached(self, person_id: uuid.UUID) -> bytes | None:
        with self._lock:
            key = self._cache.get(person_id)
            if key is not None:
                self._cache.move_to_end(person_id)
            return key

    def _remember(self, keys: dict[uuid.UUID, bytes], epoch: int) -> None:
        if self._cache_size <= 0:
            return
        with self._lock:
            if epoch != self._epoch:
                return
            for person_id, key in keys.items():
                self._cache[person_id] = key
                self._cache.move_to_end(person_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    # -- reading and creating keys ---------------------------------------------------

    def data_key(self, person_id: uuid.UUID, *, create: bool = True) -> bytes | None:
        """The data key of ``person_id``, made on first use when ``create``.

        None when the person has no key and ``create`` is false, and always when the
        person's key was destroyed (an erased person never gets a fresh key).
        """
        cached = self._cached(person_id)
        if cached is not None:
            return cached
        return self.data_keys([person_id], create=create).get(person_id)

    def data_keys(
        self, person_ids: Iterable[uuid.UUID], *, create: bool = True
    ) -> dict[uuid.UUID, bytes]:
        """The data keys of many persons, missing ones made when ``create``.

        One query per thousand persons, and one multi-row insert for those without a key.
        Persons whose key was destroyed are absent from the answer.
        """
        wanted = list(dict.fromkeys(person_ids))
        found: dict[uuid.UUID, bytes] = {}
        with self._lock:
            epoch = self._epoch
            for person_id in wanted:
                key = self._cache.get(person_id)
                if key is not None:
                    found[person_id] = key
        missing = [p for p in wanted if p not in found]
        if not missing:
            return found
        with self._engine.connect() as conn:
            loaded, destroyed = self._load(conn, missing)
            conn.commit()
        absent = [p for p in missing if p not in loaded and p not in destroyed]
        if absent and create:
            loaded.update(self._create(absent))
        self._remember(loaded, epoch)
        found.update(loaded)
        return found

    def _load(
        self, conn: Connection, person_ids: list[uuid.UUID]
    ) -> tuple[dict[uuid.UUID, bytes], set[uuid.UUID]]:
        loaded: dict[uuid.UUID, bytes] = {}
        destroyed: set[uuid.UUID] = set()
        columns = (person_keys.c.person_id, person_keys.c.master_key_id, person_keys.c.wrapped_key)
        for chunk in _chunks(person_ids):
            for person_id, key_id, wrapped in conn.execute(
                select(*columns).where(person_keys.c.person_id.in_(chunk))
            ):
                if wrapped is None:
                    destroyed.add(person_id)
                else:
                    loaded[person_id] = self.ring.unwrap(person_id, key_id, wrapped)
        return loaded, destroyed

    def _insert(self) -> Any:
        if self._engine.dialect.name == "postgresql":
            return pg_insert(person_keys).on_conflict_do_nothing()
        return sqlite_insert(person_keys).on_conflict_do_nothing()

    def _create(self, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        ring = self.ring
        now = utcnow()
        made: dict[uuid.UUID, bytes] = {}
        rows = []
        for person_id in person_ids:
            made[person_id] = key = new_data_key()
            key_id, wrapped = ring.wrap(person_id, key)
            rows.append(
                {
                    "person_id": person_id,
                    "master_key_id": key_id,
                    "wrapped_key": wrapped,
                    "created_at": now,
                    "destroyed_at": None,
                }
            )
        with self._engine.begin() as conn:
            conn.execute(self._insert(), rows)
            # another process (or thread) may have made some of these keys first: what
            # is stored wins, so read the rows back
            stored, _destroyed = self._load(conn, person_ids)
        return stored

    # -- erasure -----------------------------------------------------------------------

    def destroy(self, person_id: uuid.UUID) -> bool:
        """Destroy the person's data key (crypto-shredding); whether a key existed.

        The key material is removed from the store (SQLite's secure_delete overwrites it
        in the file) and a tombstone records when.  Every payload sealed with the key is
        unreadable from then on, copies included.
        """
        with self._lock:
            self._epoch += 1
            self._cache.pop(person_id, None)
        with self._engine.begin() as conn:
            existed = conn.execute(
                update(person_keys)
                .where(person_keys.c.person_id == person_id)
                .where(person_keys.c.wrapped_key.is_not(None))
                .values(master_key_id=None, wrapped_key=None, destroyed_at=utcnow())
            ).rowcount
            if not existed:
                conn.execute(
                    self._insert(),
                    {
                        "person_id": person_id,
                        "master_key_id": None,
                        "wrapped_key": None,
                        "created_at": utcnow(),
                        "destroyed_at": utcnow(),
                    },
                )
        with self._lock:
            self._cache.pop(person_id, None)
        return bool(existed)

    def is_destroyed(self, person_id: uuid.UUID) -> bool:
        """Whether the person's data key was destroyed."""
        with self._engine.connect() as conn:
            destroyed_at = conn.execute(
                select(person_keys.c.destroyed_at).where(person_keys.c.person_id == person_id)
            ).scalar_one_or_none()
            conn.commit()
        return destroyed_at is not None

    # -- rotation ----------------------------------------------------------------------

    def rewrap_all(self, ring: MasterKeyRing) -> int:
        """Re-wrap every data key under ``ring``'s current master key; how many changed.

        ``ring`` must still hold the master keys the stored keys are wrapped with; the
        store uses ``ring`` from then on.  Payloads are not touched.  Once this returns,
        the old master keys can leave the configuration.
        """
        self.ring = ring
        count = 0
        while True:
            with self._engine.begin() as conn:
                rows = conn.execute(
                    select(
                        person_keys.c.person_id,
                        person_keys.c.master_key_id,
                        person_keys.c.wrapped_key,
                    )
                    .where(person_keys.c.wrapped_key.is_not(None))
                    .where(person_keys.c.master_key_id != ring.current_id)
                    .limit(_CHUNK)
                ).all()
                if not rows:
                    return count
                for person_id, key_id, wrapped in rows:
                    new_id, rewrapped = ring.wrap(
                        person_id, ring.unwrap(person_id, key_id, wrapped)
                    )
                    conn.execute(
                        update(person_keys)
                        .where(person_keys.c.person_id == person_id)
                        .where(person_keys.c.master_key_id == key_id)
                        .values(master_key_id=new_id, wrapped_key=rewrapped)
                    )
                count += len(rows)

    def close(self) -> None:
        """Release the connections and forget the cached keys."""
        with self._lock:
            self._cache.clear()
        self._engine.dispose()


_stores: dict[str, KeyStore] = {}
_stores_lock = threading.Lock()


def open_keystore(settings: Settings) -> KeyStore:
    """The process-wide key store for ``settings`` (one per key store URL)."""
    url = settings.resolved_vault_keystore_url()
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            ring = MasterKeyRing.from_pairs(settings.resolved_vault_master_keys())
            store = _stores[url] = KeyStore(url, ring)
        return store


def close_keystores() -> None:
    """Close every store ``open_keystore`` opened (tests, shutdown)."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()
