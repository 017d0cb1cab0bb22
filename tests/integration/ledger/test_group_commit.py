"""The group appender: entries of many requests in one transaction, answered after commit."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.database import make_engine, make_session_factory, migrate
from tsunagu.ledger import merkle, service
from tsunagu.ledger.entry import Entry
from tsunagu.ledger.group_commit import GroupAppender


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def appender(factory: sessionmaker[Session]) -> Iterator[GroupAppender]:
    group = GroupAppender(factory, window=0.005)
    group.start()
    yield group
    group.stop()


class TestGroupAppender:
    def test_each_submission_gets_its_own_committed_indexes(
        self, appender: GroupAppender, factory: sessionmaker[Session]
    ) -> None:
        results: list[list[int]] = []
        lock = threading.Lock()

        def submit(n: int) -> None:
            done = appender.submit(
                [Entry(kind="access.allowed", actor=f"t{n}-{i}") for i in range(3)]
            )
            indexes = [a.index for a in done.result(timeout=10)]
            with lock:
                results.append(indexes)

        threads = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        everything = sorted(i for indexes in results for i in indexes)
        assert everything == list(range(60))
        assert all(b == a + 1 for indexes in results for a, b in itertools.pairwise(indexes))
        with factory() as session:
            assert service.tree_size(session) == 60

    def test_its_subtree_hashes_match_the_entries(
        self, appender: GroupAppender, factory: sessionmaker[Session]
    ) -> None:
        futures = [appender.submit([Entry(kind="access.denied", actor=f"a{i}")]) for i in range(50)]
        for future in futures:
            future.result(timeout=10)
        with factory() as session:
            leaves = service.get_entries(session, 0, 49, page_size=100)
            stored_root = service.root_at(session, 50)
        assert stored_root == merkle.root_from_leaf_hashes([merkle.leaf_hash(x) for x in leaves])

    def test_a_failing_batch_fails_its_requests_only(self, appender: GroupAppender) -> None:
        bad = appender.submit([Entry(kind="access.allowed", refs={"email": "a@example.jp"})])
        with pytest.raises(ValueError, match="personal data"):
            bad.result(timeout=10)
        good = appender.submit([Entry(kind="access.allowed")])
        assert [a.index for a in good.result(timeout=10)] == [0]

    def test_stop_appends_what_was_queued(self, factory: sessionmaker[Session]) -> None:
        group = GroupAppender(factory, window=0.05)
        group.start()
        futures = [group.submit([Entry(kind="export")]) for _ in range(10)]
        group.stop()
        assert sorted(f.result(timeout=1)[0].index for f in futures) == list(range(10))

    def test_submitting_to_a_stopped_appender_fails_at_once(
        self, factory: sessionmaker[Session]
    ) -> None:
        group = GroupAppender(factory)
        with pytest.raises(RuntimeError, match="not running"):
            group.submit([Entry(kind="export")]).result(timeout=1)
