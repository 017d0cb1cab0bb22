"""The checkpoint publisher: a small background thread that keeps the signed checkpoint
within a fraction of a second of the tree.

Every ``interval`` seconds it opens a short transaction of its own, compares the tree size
with the latest checkpoint's (one cheap query) and, only when the tree grew, signs and
stores a checkpoint of the current tree.  Appends therefore never wait for a signature,
yet every entry is covered by a published checkpoint soon after it commits.

Several publishers (one per server process) may run at once: ``publish_checkpoint`` lets
the first to store a given size win.  A failing round (database busy, unreachable) is
logged and retried at the next tick; the thread ends only when ``stop`` is called.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.database import unit_of_work
from tsunagu.ledger import service
from tsunagu.ledger.models import LedgerCheckpoint, LedgerState
from tsunagu.ledger.note import Signer

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.2


def tree_outgrew_checkpoint(session: Session) -> bool:
    """True when the tree holds entries that no published checkpoint covers."""
    row = session.execute(
        select(
            select(LedgerState.size).where(LedgerState.id == 1).scalar_subquery(),
            select(func.max(LedgerCheckpoint.size)).scalar_subquery(),
        )
    ).one()
    size, published = row
    return (size or 0) > (published if published is not None else -1)


class CheckpointPublisher:
    """Publishes a checkpoint whenever the tree grew; ``start``/``stop`` run it in a thread."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        signer: Signer,
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.session_factory = session_factory
        self.signer = signer
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish_once(self) -> int | None:
        """One round: the size of the checkpoint published, or None when none was due."""
        with unit_of_work(self.session_factory) as session:
            if not tree_outgrew_checkpoint(session):
                return None
            return service.publish_checkpoint(session, self.signer).size

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="ledger-checkpoint-publisher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to end and wait for the round in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                size = self.publish_once()
            except Exception:
                # a busy or unreachable database must not end the thread: retry next tick
                logger.warning("could not publish a ledger checkpoint", exc_info=True)
                continue
            if size is not None:
                logger.debug("published the ledger checkpoint of size %d", size)
