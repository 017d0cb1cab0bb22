"""Witness use cases on SQLite and PostgreSQL: who owns a witness name, which checkpoint is
confirmed under a quorum, and which alarms are accepted."""

from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy.orm import Session

from tsunagu.ledger import service, witnessing
from tsunagu.ledger.entry import Entry
from tsunagu.ledger.models import LedgerCheckpoint
from tsunagu.ledger.note import ALG_COSIGNATURE_V1, Signer, alarm_message, cosign, parse_note

LOG = Signer.from_seed("test.example/log", bytes(range(32)))
W1 = Signer.from_seed("witness.example/w1", bytes([1]) * 32, alg=ALG_COSIGNATURE_V1)
W2 = Signer.from_seed("witness.example/w2", bytes([2]) * 32, alg=ALG_COSIGNATURE_V1)


def checkpoint_of(db: Session, count: int) -> LedgerCheckpoint:
    service.append(db, [Entry(kind="access.allowed", org="acme") for _ in range(count)])
    return service.publish_checkpoint(db, LOG)


def cosign_by(db: Session, checkpoint: LedgerCheckpoint, *witnesses: Signer) -> None:
    text = parse_note(checkpoint.note).text
    lines = "".join(cosign(text, w, 1_790_000_000).line() for w in witnesses)
    service.add_cosignatures(db, checkpoint.note + lines)


class TestRegisterWitnessFor:
    def test_name_registered_without_organization_cannot_be_claimed(self, db: Session) -> None:
        service.register_witness(db, W1.vkey())
        with pytest.raises(witnessing.WitnessNameTaken):
            witnessing.register_witness_for(db, W1.vkey(), uuid.uuid4())

    def test_reports_whether_the_witness_is_new(self, db: Session) -> None:
        org = uuid.uuid4()
        assert witnessing.register_witness_for(db, W1.vkey(), org)[1] is True
        assert witnessing.register_witness_for(db, W1.vkey(), org)[1] is False


class TestConfirmedCheckpoint:
    def test_is_the_largest_checkpoint_with_enough_witnesses(self, db: Session) -> None:
        for witness in (W1, W2):
            service.register_witness(db, witness.vkey())
        small = checkpoint_of(db, 2)
        cosign_by(db, small, W1, W2)
        large = checkpoint_of(db, 3)
        cosign_by(db, large, W1)
        assert witnessing.confirmed_checkpoint(db, 1) == large
        assert witnessing.confirmed_checkpoint(db, 2) == small
        assert witnessing.confirmed_checkpoint(db, 3) is None

    def test_quorum_of_zero_confirms_the_latest_checkpoint(self, db: Session) -> None:
        latest = checkpoint_of(db, 1)
        assert witnessing.confirmed_checkpoint(db, 0) == latest


class TestWitnessActivity:
    def test_shows_the_largest_size_each_witness_cosigned(self, db: Session) -> None:
        for witness in (W1, W2):
            service.register_witness(db, witness.vkey())
        first = checkpoint_of(db, 1)
        cosign_by(db, first, W1)
        second = checkpoint_of(db, 4)
        cosign_by(db, second, W1)
        activity = {a.name: a.last_cosigned_size for a in witnessing.witness_activity(db)}
        assert activity == {W1.name: 5, W2.name: None}


class TestAcceptAlarm:
    def test_inactive_witness_is_refused(self, db: Session) -> None:
        witness = service.register_witness(db, W1.vkey())
        witness.active = False
        db.flush()
        signature = base64.b64encode(W1.private_key.sign(alarm_message("fork"))).decode()
        with pytest.raises(witnessing.AlarmRejected):
            witnessing.accept_alarm(db, W1.name, "fork", signature)
        assert service.recent_alarms(db) == []

    def test_signature_without_the_alarm_context_is_refused(self, db: Session) -> None:
        service.register_witness(db, W1.vkey())
        signature = base64.b64encode(W1.private_key.sign(b"fork")).decode()
        with pytest.raises(witnessing.AlarmRejected):
            witnessing.accept_alarm(db, W1.name, "fork", signature)

    def test_signed_alarm_of_a_registered_witness_is_stored(self, db: Session) -> None:
        service.register_witness(db, W1.vkey())
        signature = base64.b64encode(W1.private_key.sign(alarm_message("fork"))).decode()
        witnessing.accept_alarm(db, W1.name, "fork", signature)
        assert [a.detail for a in service.recent_alarms(db)] == ["fork"]
