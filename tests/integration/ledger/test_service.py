"""The stored ledger on SQLite and PostgreSQL: appends, proofs, checkpoints, tampering."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tsunagu.ledger import merkle, service, witnessing
from tsunagu.ledger.entry import Entry, EntryError, pseudonym, single_subject, subject_set_proof
from tsunagu.ledger.errors import CosignatureRejected, ProofNotAvailable
from tsunagu.ledger.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
)
from tsunagu.ledger.verify import verify_stored

LOG = Signer.from_seed("test.example/log", bytes(range(32)))
LOG_VERIFIER = Verifier(LOG.name, LOG.public_key)
WITNESS = Signer.from_seed("witness.example/w1", bytes([9]) * 32, alg=ALG_COSIGNATURE_V1)
KEY = bytes(32)


def entries(n: int, kind: str = "access.allowed") -> list[Entry]:
    return [Entry(kind=kind, org="acme", actor=f"api_key:{i}", purpose="p") for i in range(n)]


def append_and_publish(db: Session, n: int) -> None:
    service.append(db, entries(n))
    service.publish_checkpoint(db, LOG)


class TestAppend:
    def test_indexes_continue_across_batches(self, db: Session) -> None:
        first = service.append(db, entries(3))
        second = service.append(db, entries(2))
        assert [a.index for a in first + second] == [0, 1, 2, 3, 4]
        assert service.tree_size(db) == 5

    def test_stored_root_equals_the_in_memory_tree(self, db: Session) -> None:
        tree = merkle.MemoryTree()
        for batch in (1, 2, 5, 1, 13, 8):
            for appended in service.append(db, entries(batch)):
                tree.append(appended.leaf_hash)
        for size in range(tree.size + 1):
            assert service.root_at(db, size) == tree.root(size)

    def test_personal_data_is_refused(self, db: Session) -> None:
        with pytest.raises(EntryError):
            service.append(db, [Entry(kind="access.allowed", refs={"email": "a@b.jp"})])

    def test_person_appears_only_as_a_pseudonym(self, db: Session) -> None:
        person = uuid.uuid4()
        service.append(db, [Entry(kind="consent.given", subject=single_subject(KEY, person))])
        data = db.execute(text("SELECT leaf_input FROM ledger_entries")).scalar_one()
        assert str(person).encode() not in data
        assert person.bytes not in data
        found = service.entries_about(db, single_subject(KEY, person)["pseudonym"])
        assert [index for index, _ in found] == [0]

    def test_bulk_entry_can_be_proven_to_each_member(self, db: Session) -> None:
        people = [uuid.uuid4() for _ in range(5)]
        members = tuple(pseudonym(KEY, p) for p in people)
        service.append(db, [Entry(kind="cleanroom.query", org="acme", members=members)])
        mine = pseudonym(KEY, people[2])
        import base64

        found = service.entries_about(db, base64.b64encode(mine).decode())
        assert len(found) == 1
        stored = service.subject_set_members(db, found[0][0])
        index, proof = subject_set_proof(stored, mine)
        import json

        root = base64.b64decode(json.loads(found[0][1])["subject"]["root"])
        assert merkle.verify_inclusion(merkle.leaf_hash(mine), index, len(stored), proof, root)


class TestProofs:
    def test_inclusion_proof_by_hash_verifies_against_the_checkpoint(self, db: Session) -> None:
        appended = service.append(db, entries(11))
        checkpoint = service.publish_checkpoint(db, LOG)
        index = service.find_leaf_index(db, appended[6].leaf_hash, checkpoint.size)
        proof = service.inclusion_proof(db, index, checkpoint.size)
        assert merkle.verify_inclusion(
            appended[6].leaf_hash, index, checkpoint.size, proof, checkpoint.root
        )

    def test_consistency_between_two_checkpoints_verifies(self, db: Session) -> None:
        append_and_publish(db, 6)
        old = service.latest_checkpoint(db)
        append_and_publish(db, 7)
        new = service.latest_checkpoint(db)
        assert old is not None
        assert new is not None
        proof = service.consistency_proof(db, old.size, new.size)
        assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)

    def test_proof_beyond_the_latest_checkpoint_is_refused(self, db: Session) -> None:
        append_and_publish(db, 4)
        service.append(db, entries(4))
        with pytest.raises(ProofNotAvailable):
            service.inclusion_proof(db, 5, 8)


class TestCheckpoints:
    def test_checkpoint_is_signed_by_the_log_key(self, db: Session) -> None:
        append_and_publish(db, 3)
        row = service.latest_checkpoint(db)
        assert row is not None
        checkpoint, _ = open_checkpoint(row.note, LOG_VERIFIER)
        assert checkpoint.size == 3

    def test_unchanged_tree_reuses_the_checkpoint(self, db: Session) -> None:
        append_and_publish(db, 3)
        first = service.latest_checkpoint(db)
        assert service.publish_checkpoint(db, LOG) is first

    def test_registered_witness_cosignature_is_kept(self, db: Session) -> None:
        append_and_publish(db, 3)
        row = service.latest_checkpoint(db)
        assert row is not None
        service.register_witness(db, WITNESS.vkey())
        text_ = Checkpoint(LOG.name, row.size, row.root).text()
        line = cosign(text_, WITNESS, 1_800_000_000).line()
        service.add_cosignatures(db, row.note + line)
        assert service.cosignature_count(db, row) == 1
        assert witnessing.confirmed_checkpoint(db, quorum=1) is row
        assert service.checkpoint_with_cosignatures(db, row).endswith(line)

    def test_unknown_witness_cosignature_is_rejected(self, db: Session) -> None:
        append_and_publish(db, 3)
        row = service.latest_checkpoint(db)
        assert row is not None
        line = cosign(Checkpoint(LOG.name, row.size, row.root).text(), WITNESS, 1).line()
        with pytest.raises(CosignatureRejected):
            service.add_cosignatures(db, row.note + line)


class TestTamperDetection:
    def _drop_triggers(self, db: Session) -> None:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("DROP TRIGGER ledger_entries_append_only ON ledger_entries"))
        else:
            db.execute(text("DROP TRIGGER ledger_entries_no_update"))
            db.execute(text("DROP TRIGGER ledger_entries_no_delete"))

    def test_intact_log_verifies(self, db: Session) -> None:
        append_and_publish(db, 20)
        report = verify_stored(db, LOG_VERIFIER)
        assert report.ok
        assert report.size == 20
        assert report.checkpoints == 1

    def test_database_refuses_to_update_an_entry(self, db: Session) -> None:
        service.append(db, entries(2))
        with pytest.raises(DBAPIError), db.begin_nested():
            db.execute(text("UPDATE ledger_entries SET kind = 'x' WHERE seq = 0"))

    def test_database_refuses_to_delete_an_entry(self, db: Session) -> None:
        service.append(db, entries(2))
        with pytest.raises(DBAPIError), db.begin_nested():
            db.execute(text("DELETE FROM ledger_entries WHERE seq = 1"))

    def test_edited_entry_is_named(self, db: Session) -> None:
        append_and_publish(db, 20)
        self._drop_triggers(db)
        db.execute(text("UPDATE ledger_entries SET leaf_input = :d WHERE seq = 13"), {"d": b"{}"})
        report = verify_stored(db, LOG_VERIFIER)
        assert not report.ok
        assert report.first_bad_index == 13

    def test_deleted_entry_is_named(self, db: Session) -> None:
        append_and_publish(db, 20)
        self._drop_triggers(db)
        db.execute(text("DELETE FROM ledger_entries WHERE seq = 7"))
        report = verify_stored(db, LOG_VERIFIER)
        assert not report.ok
        assert report.first_bad_index == 7

    def test_inserted_entry_is_named(self, db: Session) -> None:
        append_and_publish(db, 20)
        forged = b'{"kind":"access.allowed"}'
        db.execute(
            text(
                "INSERT INTO ledger_entries (seq, leaf_input, leaf_hash, leaf_key, kind) "
                "VALUES (20, :d, :h, 0, 'access.allowed')"
            ),
            {"d": forged, "h": merkle.leaf_hash(forged)},
        )
        report = verify_stored(db, LOG_VERIFIER)
        assert not report.ok
        assert report.first_bad_index == 20

    def test_reordered_entries_are_named(self, db: Session) -> None:
        service.append(db, [Entry(kind="access.allowed", actor=f"a{i}") for i in range(20)])
        service.publish_checkpoint(db, LOG)
        self._drop_triggers(db)
        rows = dict(
            db.execute(text("SELECT seq, leaf_input FROM ledger_entries WHERE seq IN (4, 9)")).all()
        )
        for seq, other in ((4, 9), (9, 4)):
            db.execute(
                text("UPDATE ledger_entries SET leaf_input = :d, leaf_hash = :h WHERE seq = :s"),
                {"d": rows[other], "h": merkle.leaf_hash(rows[other]), "s": seq},
            )
        report = verify_stored(db, LOG_VERIFIER)
        assert not report.ok
        assert report.first_bad_index == 4
