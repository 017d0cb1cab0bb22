"""The key store: per-person data keys, wrapped, in a database of their own.

Runs on an SQLite file and on a PostgreSQL database made for the test (never the main
test schema: the key store is not part of it).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tsunagu.core.database import make_engine
from tsunagu.core.settings import Settings
from tsunagu.vault.crypto import (
    MasterKeyError,
    MasterKeyRing,
    PayloadUnreadable,
    new_data_key,
    open_sealed,
    seal,
)
from tsunagu.vault.keystore import KeyStore, close_keystores, open_keystore, person_keys

AAD = b"record-1:1:contact.email"


@pytest.fixture
def ring() -> MasterKeyRing:
    return MasterKeyRing.generate("k1")


@pytest.fixture(params=["sqlite", "postgresql"])
def keystore_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
        return
    server = request.getfixturevalue("postgres_url")
    name = f"keys_{uuid.uuid4().hex}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(keystore_url: str, ring: MasterKeyRing) -> Iterator[KeyStore]:
    keystore = KeyStore(keystore_url, ring)
    yield keystore
    keystore.close()


@pytest.fixture
def sqlite_store(tmp_path: Path, ring: MasterKeyRing) -> Iterator[KeyStore]:
    keystore = KeyStore.at_path(tmp_path / "keys.db", ring)
    yield keystore
    keystore.close()


def _wrapped_key(store: KeyStore, person: uuid.UUID) -> bytes:
    with store.engine.connect() as conn:
        wrapped = conn.execute(
            select(person_keys.c.wrapped_key).where(person_keys.c.person_id == person)
        ).scalar_one()
    assert isinstance(wrapped, bytes)
    return wrapped


class TestDataKey:
    def test_is_made_on_first_use_and_the_same_afterwards(self, store: KeyStore) -> None:
        person = uuid.uuid4()
        key = store.data_key(person)
        assert key is not None
        assert len(key) == 32
        assert store.data_key(person) == key

    def test_survives_reopening_the_store(self, keystore_url: str, ring: MasterKeyRing) -> None:
        person = uuid.uuid4()
        first = KeyStore(keystore_url, ring)
        key = first.data_key(person)
        first.close()
        again = KeyStore(keystore_url, ring)
        try:
            assert again.data_key(person, create=False) == key
        finally:
            again.close()

    def test_is_none_without_create_for_a_person_without_key(self, store: KeyStore) -> None:
        assert store.data_key(uuid.uuid4(), create=False) is None

    def test_differs_between_persons(self, store: KeyStore) -> None:
        assert store.data_key(uuid.uuid4()) != store.data_key(uuid.uuid4())

    def test_is_stored_wrapped_not_in_the_clear(self, store: KeyStore) -> None:
        person = uuid.uuid4()
        key = store.data_key(person)
        assert key is not None
        assert key not in _wrapped_key(store, person)

    def test_is_the_same_when_many_threads_ask_at_once(self, store: KeyStore) -> None:
        person = uuid.uuid4()
        keys: list[bytes | None] = []
        threads = [
            threading.Thread(target=lambda: keys.append(store.data_key(person))) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(keys) == 8
        assert len(set(keys)) == 1

    def test_a_small_cache_does_not_change_the_keys(
        self, keystore_url: str, ring: MasterKeyRing
    ) -> None:
        keystore = KeyStore(keystore_url, ring, cache_size=2)
        try:
            persons = [uuid.uuid4() for _ in range(5)]
            keys = [keystore.data_key(person) for person in persons]
            assert [keystore.data_key(person) for person in persons] == keys
        finally:
            keystore.close()


class TestDataKeys:
    def test_gives_a_key_to_every_person(self, store: KeyStore) -> None:
        persons = [uuid.uuid4() for _ in range(2500)]
        keys = store.data_keys(persons)
        assert set(keys) == set(persons)
        assert len(set(keys.values())) == 2500

    def test_agree_with_the_single_form(self, store: KeyStore) -> None:
        known = uuid.uuid4()
        key = store.data_key(known)
        keys = store.data_keys([known, uuid.uuid4()])
        assert keys[known] == key

    def test_without_create_leave_out_persons_without_key(self, store: KeyStore) -> None:
        known, unknown = uuid.uuid4(), uuid.uuid4()
        store.data_key(known)
        assert set(store.data_keys([known, unknown], create=False)) == {known}

    def test_leave_out_destroyed_keys(self, store: KeyStore) -> None:
        erased, kept = uuid.uuid4(), uuid.uuid4()
        store.data_keys([erased, kept])
        store.destroy(erased)
        assert set(store.data_keys([erased, kept])) == {kept}


class TestDestroy:
    def test_says_whether_a_key_existed(self, store: KeyStore) -> None:
        person = uuid.uuid4()
        store.data_key(person)
        assert store.destroy(person) is True
        assert store.destroy(person) is False

    def test_leaves_no_key_to_read(self, store: KeyStore) -> None:
        person = uuid.uuid4()
        store.data_key(person)
        store.destroy(person)
        assert store.data_key(person, create=False) is None

    def test_never_lets_a_fresh_key_be_made(self, store: KeyStore) -> None:
        person = uuid.uuid4()
        store.data_key(person)
        store.destroy(person)
        assert store.data_key(person) is None

    def test_marks_the_person_destroyed(self, store: KeyStore) -> None:
        person, other = uuid.uuid4(), uuid.uuid4()
        store.data_keys([person, other])
        store.destroy(person)
        assert store.is_destroyed(person)
        assert not store.is_destroyed(other)

    def test_of_a_person_without_key_still_bars_a_key(self, store: KeyStore) -> None:
        person = uuid.uuid4()
        assert store.destroy(person) is False
        assert store.is_destroyed(person)
        assert store.data_key(person) is None

    def test_keeps_other_persons_keys(self, store: KeyStore) -> None:
        person, other = uuid.uuid4(), uuid.uuid4()
        keys = store.data_keys([person, other])
        store.destroy(person)
        assert store.data_key(other) == keys[other]

    def test_reaches_another_store_on_the_same_database(
        self, keystore_url: str, ring: MasterKeyRing, store: KeyStore
    ) -> None:
        person = uuid.uuid4()
        store.data_key(person)
        other = KeyStore(keystore_url, ring)
        try:
            other.destroy(person)
        finally:
            other.close()
        store.close()  # forgets the cached key, as another process would not have it
        assert store.data_key(person, create=False) is None


class TestCryptoShredding:
    """After erasure the payloads cannot be decrypted, even from a copy of the main
    database taken before erasure."""

    def _main_database(self, path: Path, blob: bytes) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE records (id TEXT PRIMARY KEY, payload BLOB)")
            conn.execute("INSERT INTO records VALUES ('record-1', ?)", (blob,))
        conn.close()

    def _payload_in(self, path: Path) -> bytes:
        conn = sqlite3.connect(path)
        try:
            row = conn.execute("SELECT payload FROM records WHERE id = 'record-1'").fetchone()
        finally:
            conn.close()
        assert isinstance(row[0], bytes)
        return row[0]

    def test_a_backup_of_the_main_database_is_unreadable_after_erasure(
        self, tmp_path: Path, sqlite_store: KeyStore
    ) -> None:
        person = uuid.uuid4()
        key = sqlite_store.data_key(person)
        assert key is not None
        main = tmp_path / "tsunagu.db"
        self._main_database(main, seal(key, "血圧 128/82".encode(), AAD))
        backup = tmp_path / "backup"
        backup.mkdir()
        shutil.copy(main, backup / "tsunagu.db")
        shutil.copy(tmp_path / "keys.db", backup / "keys.db")

        sqlite_store.destroy(person)
        main.unlink()  # the erasure deletes the records too

        old_blob = self._payload_in(backup / "tsunagu.db")
        live_key = sqlite_store.data_key(person)
        assert live_key is None
        for candidate in (new_data_key(), bytes(32)):
            with pytest.raises(PayloadUnreadable):
                open_sealed(candidate, old_blob, AAD)

    def test_no_key_material_is_left_in_the_key_store_file(
        self, tmp_path: Path, sqlite_store: KeyStore
    ) -> None:
        person, other = uuid.uuid4(), uuid.uuid4()
        keys = sqlite_store.data_keys([person, other])
        wrapped = _wrapped_key(sqlite_store, person)
        kept = _wrapped_key(sqlite_store, other)
        assert wrapped in (tmp_path / "keys.db").read_bytes()

        sqlite_store.destroy(person)

        content = (tmp_path / "keys.db").read_bytes()
        assert wrapped not in content
        assert keys[person] not in content
        assert kept in content
        assert not (tmp_path / "keys.db-wal").exists()
        assert not (tmp_path / "keys.db-journal").exists()

    def test_a_backup_of_the_key_store_itself_would_still_open_them(
        self, tmp_path: Path, ring: MasterKeyRing, sqlite_store: KeyStore
    ) -> None:
        # why the key store is backed up apart, with a retention shorter than the
        # erasure deadline (or not at all): see the keystore module's docstring
        person = uuid.uuid4()
        key = sqlite_store.data_key(person)
        assert key is not None
        blob = seal(key, b"payload", AAD)
        shutil.copy(tmp_path / "keys.db", tmp_path / "keys-backup.db")
        sqlite_store.destroy(person)
        restored = KeyStore.at_path(tmp_path / "keys-backup.db", ring)
        try:
            restored_key = restored.data_key(person, create=False)
            assert restored_key is not None
            assert open_sealed(restored_key, blob, AAD) == b"payload"
        finally:
            restored.close()


class TestRewrapAll:
    def test_a_payload_sealed_before_rotation_opens_with_only_the_new_master(
        self, keystore_url: str, ring: MasterKeyRing, store: KeyStore
    ) -> None:
        person = uuid.uuid4()
        key = store.data_key(person)
        assert key is not None
        blob = seal(key, b"payload", AAD)
        new_master = new_data_key()
        store.rewrap_all(MasterKeyRing.from_pairs([("k2", new_master), ("k1", ring.keys["k1"])]))
        store.close()

        rotated = KeyStore(keystore_url, MasterKeyRing("k2", {"k2": new_master}))
        try:
            rotated_key = rotated.data_key(person, create=False)
            assert rotated_key is not None
            assert open_sealed(rotated_key, blob, AAD) == b"payload"
        finally:
            rotated.close()

    def test_counts_the_keys_it_rewrapped(self, store: KeyStore, ring: MasterKeyRing) -> None:
        store.data_keys([uuid.uuid4() for _ in range(1500)])
        store.destroy(uuid.uuid4())
        rotated = MasterKeyRing.from_pairs([("k2", new_data_key()), ("k1", ring.keys["k1"])])
        assert store.rewrap_all(rotated) == 1500
        assert store.rewrap_all(rotated) == 0

    def test_changes_the_stored_wrapping_but_not_the_key(
        self, store: KeyStore, ring: MasterKeyRing
    ) -> None:
        person = uuid.uuid4()
        key = store.data_key(person)
        before = _wrapped_key(store, person)
        store.rewrap_all(
            MasterKeyRing.from_pairs([("k2", new_data_key()), ("k1", ring.keys["k1"])])
        )
        assert _wrapped_key(store, person) != before
        assert store.data_key(person) == key

    def test_new_keys_are_wrapped_with_the_new_master(
        self, store: KeyStore, ring: MasterKeyRing
    ) -> None:
        store.rewrap_all(
            MasterKeyRing.from_pairs([("k2", new_data_key()), ("k1", ring.keys["k1"])])
        )
        person = uuid.uuid4()
        store.data_key(person)
        with store.engine.connect() as conn:
            key_id = conn.execute(
                select(person_keys.c.master_key_id).where(person_keys.c.person_id == person)
            ).scalar_one()
        assert key_id == "k2"

    def test_needs_the_old_master_in_the_ring(self, store: KeyStore) -> None:
        store.data_key(uuid.uuid4())
        with pytest.raises(MasterKeyError):
            store.rewrap_all(MasterKeyRing.generate("k2"))


class TestOpenKeystore:
    def test_gives_one_store_per_url(self, tmp_path: Path) -> None:
        try:
            first = open_keystore(Settings(home=tmp_path / "a"))
            assert open_keystore(Settings(home=tmp_path / "a")) is first
            assert open_keystore(Settings(home=tmp_path / "b")) is not first
        finally:
            close_keystores()

    def test_uses_the_configured_master_keys(self, tmp_path: Path) -> None:
        settings = Settings(home=tmp_path)
        try:
            store = open_keystore(settings)
            assert store.ring.keys == dict(settings.resolved_vault_master_keys())
            assert (tmp_path / "keys.db").exists()
        finally:
            close_keystores()
