"""The checkpoint publisher on SQLite and PostgreSQL: it publishes exactly when the tree
outgrew the latest checkpoint, and its thread starts and stops cleanly."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.ledger import service
from tsunagu.ledger.entry import Entry
from tsunagu.ledger.note import Signer
from tsunagu.ledger.publisher import CheckpointPublisher, tree_outgrew_checkpoint

LOG = Signer.from_seed("test.example/log", bytes(range(32)))


def append(db: Session, count: int) -> None:
    service.append(db, [Entry(kind="access.allowed", org="acme") for _ in range(count)])
    db.commit()


class TestTreeOutgrewCheckpoint:
    def test_empty_log_without_checkpoint_needs_one(self, db: Session) -> None:
        assert tree_outgrew_checkpoint(db)

    def test_not_after_a_checkpoint_of_the_current_size(self, db: Session) -> None:
        append(db, 3)
        service.publish_checkpoint(db, LOG)
        assert not tree_outgrew_checkpoint(db)

    def test_after_new_entries(self, db: Session) -> None:
        append(db, 3)
        service.publish_checkpoint(db, LOG)
        append(db, 1)
        assert tree_outgrew_checkpoint(db)


class TestPublishOnce:
    def test_publishes_the_current_size(
        self, db: Session, session_factory: sessionmaker[Session]
    ) -> None:
        append(db, 5)
        assert CheckpointPublisher(session_factory, LOG).publish_once() == 5
        latest = service.latest_checkpoint(db)
        assert latest is not None
        assert latest.size == 5
        assert latest.root == service.root_at(db, 5)

    def test_publishes_nothing_when_the_tree_did_not_grow(
        self, db: Session, session_factory: sessionmaker[Session]
    ) -> None:
        append(db, 2)
        publisher = CheckpointPublisher(session_factory, LOG)
        publisher.publish_once()
        assert publisher.publish_once() is None
        assert len(service.checkpoint_history(db)) == 1

    def test_keeps_the_history_of_sizes(
        self, db: Session, session_factory: sessionmaker[Session]
    ) -> None:
        publisher = CheckpointPublisher(session_factory, LOG)
        for count in (1, 2, 3):
            append(db, count)
            publisher.publish_once()
        assert [c.size for c in service.checkpoint_history(db)] == [6, 3, 1]


class TestThread:
    def test_starts_and_stops(self, session_factory: sessionmaker[Session]) -> None:
        # an interval longer than the test: the thread never touches the shared connection
        publisher = CheckpointPublisher(session_factory, LOG, interval=3600)
        publisher.start()
        assert publisher.running
        publisher.stop()
        assert not publisher.running
