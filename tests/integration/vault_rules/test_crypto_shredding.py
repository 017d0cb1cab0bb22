"""Crypto-shredding: a copy of the main database taken before an erasure is useless after it.

This test makes its own file-based SQLite database and key store (not the shared ``db``
fixture): the point is a byte-for-byte copy of the database file, read back with nothing
but ``sqlite3`` and the key material the live system still holds after the erasure.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import create_org
from tsunagu.core.database import make_engine, migrate
from tsunagu.vault import service as vault_service
from tsunagu.vault.crypto import MasterKeyRing, PayloadUnreadable, open_sealed
from tsunagu.vault.keystore import KeyStore
from tsunagu.vault.service import Vault

SECRET = "090-1234-5678"


@dataclass
class Sealed:
    record_id: str
    version: int
    category: str
    blob: bytes

    @property
    def aad(self) -> bytes:
        return f"{uuid.UUID(self.record_id)}:{self.version}:{self.category}".encode()


@dataclass
class Live:
    session: Session
    vault: Vault
    ring: MasterKeyRing
    db_path: Path
    keys_path: Path


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    db_path = tmp_path / "main.db"
    engine = make_engine(f"sqlite:///{db_path}")
    migrate(engine)
    ring = MasterKeyRing.generate("k1")
    keystore = KeyStore.at_path(tmp_path / "keys.db", ring)
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    try:
        yield Live(session, Vault(keystore, bytes(range(32))), ring, db_path, tmp_path / "keys.db")
    finally:
        session.close()
        keystore.close()
        engine.dispose()


def _copy_database(live: Live, target: Path) -> Path:
    """A byte copy of the main database file (after a WAL checkpoint, as a backup takes it)."""
    live.session.commit()
    with sqlite3.connect(live.db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copyfile(live.db_path, target)
    return target


def _sealed_in(copy: Path) -> list[Sealed]:
    conn = sqlite3.connect(copy)
    try:
        rows = conn.execute(
            "SELECT r.id, v.version, r.category, v.sealed FROM vault_records r "
            "JOIN vault_record_versions v ON v.record_id = r.id"
        ).fetchall()
    finally:
        conn.close()
    return [Sealed(str(r[0]), int(r[1]), str(r[2]), bytes(r[3])) for r in rows]


def _keys_left(live: Live) -> list[bytes]:
    """Every piece of key material the key store file and the master key ring still hold."""
    conn = sqlite3.connect(live.keys_path)
    try:
        rows = conn.execute("SELECT person_id, master_key_id, wrapped_key FROM person_keys")
        found: list[bytes] = list(live.ring.keys.values())
        for person_id, key_id, wrapped in rows.fetchall():
            if wrapped is not None:
                found.append(live.ring.unwrap(uuid.UUID(str(person_id)), key_id, wrapped))
    finally:
        conn.close()
    return found


def _opens(key: bytes, sealed: Sealed) -> bool:
    try:
        open_sealed(key, sealed.blob, sealed.aad)
    except PayloadUnreadable:
        return False
    return True


@pytest.fixture
def erased_copy(live: Live, tmp_path: Path) -> tuple[uuid.UUID, list[Sealed]]:
    """A person with sealed records, a neighbour with a record, a copy, then the erasure."""
    org = create_org(live.session)
    person = vault_service.register_person(
        live.session,
        live.vault,
        org,
        ref="c-1",
        family_name="佐藤",
        given_name="一郎",
        email="ichiro@example.jp",
        actor="api_key:test",
    )
    neighbour = vault_service.register_person(
        live.session,
        live.vault,
        org,
        ref="c-2",
        family_name="鈴木",
        given_name="次郎",
        email="jiro@example.jp",
        actor="api_key:test",
    )
    vault_service.create_record(
        live.session,
        live.vault,
        person_id=person.id,
        category="contact.phone",
        payload={"phone": SECRET},
        source=org,
        source_kind="api",
        actor="api_key:test",
    )
    live.session.commit()
    copy = _copy_database(live, tmp_path / "backup.db")
    vault_service.erase_person(live.session, live.vault, person.id)
    live.session.commit()
    assert live.vault.keystore.data_key(neighbour.id, create=False) is not None
    return person.id, _sealed_in(copy)


class TestCryptoShredding:
    def test_before_erasure_the_copy_opens_with_the_persons_key(
        self, live: Live, tmp_path: Path
    ) -> None:
        org = create_org(live.session)
        person = vault_service.register_person(
            live.session,
            live.vault,
            org,
            ref="c-1",
            family_name="佐藤",
            given_name="一郎",
            actor="api_key:test",
        )
        vault_service.create_record(
            live.session,
            live.vault,
            person_id=person.id,
            category="contact.phone",
            payload={"phone": SECRET},
            source=org,
            source_kind="api",
            actor="api_key:test",
        )
        (sealed,) = _sealed_in(_copy_database(live, tmp_path / "backup.db"))
        key = live.vault.keystore.data_key(person.id, create=False)
        assert key is not None
        assert SECRET.encode() in open_sealed(key, sealed.blob, sealed.aad)

    def test_after_erasure_the_key_store_has_no_key_for_the_person(
        self, live: Live, erased_copy: tuple[uuid.UUID, list[Sealed]]
    ) -> None:
        person_id, _ = erased_copy
        assert live.vault.keystore.data_key(person_id) is None
        assert live.vault.keystore.is_destroyed(person_id)

    def test_after_erasure_no_key_left_opens_the_copys_records_of_the_person(
        self, live: Live, erased_copy: tuple[uuid.UUID, list[Sealed]]
    ) -> None:
        _, sealed = erased_copy
        keys = _keys_left(live)
        mine = [s for s in sealed if not any(_opens(k, s) for k in keys)]
        others = [s for s in sealed if any(_opens(k, s) for k in keys)]
        # the person's e-mail and phone are unreadable; only the neighbour's e-mail opens
        assert sorted(s.category for s in mine) == ["contact.email", "contact.phone"]
        assert [s.category for s in others] == ["contact.email"]

    def test_after_erasure_the_live_database_holds_none_of_the_persons_records(
        self, live: Live, erased_copy: tuple[uuid.UUID, list[Sealed]]
    ) -> None:
        person_id, _ = erased_copy
        view = vault_service.subject_view(live.session, live.vault, person_id)
        assert view.erased
        assert view.count == 0
