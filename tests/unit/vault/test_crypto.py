"""Envelope encryption: sealing payloads with data keys, wrapping data keys with master keys."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.vault.crypto import (
    MasterKeyError,
    MasterKeyRing,
    PayloadUnreadable,
    new_data_key,
    open_sealed,
    seal,
)

AAD = b"0b4c7d0e-0000-4000-8000-000000000001:1:contact.email"


class TestSeal:
    def test_sealed_payload_opens_with_its_key_and_aad(self) -> None:
        key = new_data_key()
        blob = seal(key, "山田 太郎 <taro@example.jp>".encode(), AAD)
        assert open_sealed(key, blob, AAD).decode() == "山田 太郎 <taro@example.jp>"

    def test_sealed_payload_does_not_contain_the_plaintext(self) -> None:
        blob = seal(new_data_key(), b"taro@example.jp", AAD)
        assert b"taro@example.jp" not in blob

    def test_the_same_payload_seals_differently_each_time(self) -> None:
        key = new_data_key()
        assert seal(key, b"same", AAD) != seal(key, b"same", AAD)

    def test_data_keys_are_256_bits_and_distinct(self) -> None:
        first, second = new_data_key(), new_data_key()
        assert len(first) == 32
        assert first != second

    @given(payload=st.binary(max_size=4096), aad=st.binary(max_size=256))
    def test_any_payload_and_aad_round_trip(self, payload: bytes, aad: bytes) -> None:
        key = new_data_key()
        assert open_sealed(key, seal(key, payload, aad), aad) == payload


class TestOpenSealedRejects:
    def test_a_tampered_blob(self) -> None:
        key = new_data_key()
        blob = bytearray(seal(key, b"payload", AAD))
        blob[-1] ^= 0x01
        with pytest.raises(PayloadUnreadable):
            open_sealed(key, bytes(blob), AAD)

    def test_a_tampered_nonce(self) -> None:
        key = new_data_key()
        blob = bytearray(seal(key, b"payload", AAD))
        blob[0] ^= 0x80
        with pytest.raises(PayloadUnreadable):
            open_sealed(key, bytes(blob), AAD)

    def test_the_aad_of_another_row(self) -> None:
        key = new_data_key()
        blob = seal(key, b"payload", AAD)
        with pytest.raises(PayloadUnreadable):
            open_sealed(key, blob, AAD.replace(b":1:", b":2:"))

    def test_another_key(self) -> None:
        blob = seal(new_data_key(), b"payload", AAD)
        with pytest.raises(PayloadUnreadable):
            open_sealed(new_data_key(), blob, AAD)

    def test_a_truncated_blob(self) -> None:
        key = new_data_key()
        with pytest.raises(PayloadUnreadable):
            open_sealed(key, seal(key, b"", AAD)[:20], AAD)

    def test_a_key_of_the_wrong_length(self) -> None:
        key = new_data_key()
        with pytest.raises(PayloadUnreadable):
            open_sealed(key[:16], seal(key, b"payload", AAD), AAD)


class TestMasterKeyRing:
    def test_a_wrapped_key_unwraps_for_its_person(self) -> None:
        ring = MasterKeyRing.generate()
        person, key = uuid.uuid4(), new_data_key()
        key_id, wrapped = ring.wrap(person, key)
        assert key_id == "k1"
        assert ring.unwrap(person, key_id, wrapped) == key

    def test_the_wrapped_key_does_not_contain_the_key(self) -> None:
        key = new_data_key()
        _key_id, wrapped = MasterKeyRing.generate().wrap(uuid.uuid4(), key)
        assert key not in wrapped

    def test_a_wrapped_key_moved_to_another_person_does_not_unwrap(self) -> None:
        ring = MasterKeyRing.generate()
        key_id, wrapped = ring.wrap(uuid.uuid4(), new_data_key())
        with pytest.raises(MasterKeyError):
            ring.unwrap(uuid.uuid4(), key_id, wrapped)

    def test_a_wrapped_key_relabelled_with_another_master_does_not_unwrap(self) -> None:
        old = MasterKeyRing.generate("k1")
        ring = MasterKeyRing.from_pairs([("k2", new_data_key()), ("k1", old.keys["k1"])])
        person = uuid.uuid4()
        _key_id, wrapped = old.wrap(person, new_data_key())
        with pytest.raises(MasterKeyError):
            ring.unwrap(person, "k2", wrapped)

    def test_new_keys_are_wrapped_with_the_first_of_the_pairs(self) -> None:
        ring = MasterKeyRing.from_pairs([("k2", new_data_key()), ("k1", new_data_key())])
        assert ring.wrap(uuid.uuid4(), new_data_key())[0] == "k2"

    def test_an_older_master_still_unwraps(self) -> None:
        old = MasterKeyRing.generate("k1")
        person, key = uuid.uuid4(), new_data_key()
        key_id, wrapped = old.wrap(person, key)
        ring = MasterKeyRing.from_pairs([("k2", new_data_key()), ("k1", old.keys["k1"])])
        assert ring.unwrap(person, key_id, wrapped) == key

    def test_an_unknown_master_key_id_is_refused(self) -> None:
        person = uuid.uuid4()
        key_id, wrapped = MasterKeyRing.generate("k1").wrap(person, new_data_key())
        with pytest.raises(MasterKeyError, match="not in the ring"):
            MasterKeyRing.generate("k2").unwrap(person, key_id, wrapped)

    def test_a_short_master_key_is_refused(self) -> None:
        with pytest.raises(MasterKeyError, match="32 bytes"):
            MasterKeyRing("k1", {"k1": b"short"})

    def test_a_current_id_outside_the_ring_is_refused(self) -> None:
        with pytest.raises(MasterKeyError, match="not in the ring"):
            MasterKeyRing("k2", {"k1": new_data_key()})

    def test_duplicate_ids_are_refused(self) -> None:
        with pytest.raises(MasterKeyError, match="distinct"):
            MasterKeyRing.from_pairs([("k1", new_data_key()), ("k1", new_data_key())])

    def test_an_empty_ring_is_refused(self) -> None:
        with pytest.raises(MasterKeyError):
            MasterKeyRing.from_pairs([])

    def test_a_malformed_id_is_refused(self) -> None:
        with pytest.raises(MasterKeyError, match="id"):
            MasterKeyRing("k 1", {"k 1": new_data_key()})

    def test_its_repr_shows_no_key_bytes(self) -> None:
        ring = MasterKeyRing.generate()
        assert repr(ring) == "MasterKeyRing(current_id='k1', ids=['k1'])"
