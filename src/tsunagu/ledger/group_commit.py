"""Group commit: one writer thread appends the entries of many requests in one transaction.

For actions whose only write *is* their ledger entry — a decision of the policy point —
a request need not open a write transaction of its own.  It hands its entries to the
``GroupAppender`` and waits; the appender's thread takes everything queued within a short
window (``window`` seconds, at most ``max_batch`` entries), appends it in one transaction,
commits, and only then completes each request's future with the indexes of its entries.
With the default window of 0 the thread waits for nothing: it takes whatever is queued
when it is free, so batches form by themselves while the previous one commits (a request
on an idle server pays no delay; under load, one transaction carries many requests).
The answer of a request therefore still follows the durable entry, as with an inline
append, but a hundred requests cost one transaction and never contend for the database's
write lock.

Actions that change other data (a consent given, a record read with its provision records)
keep appending inline, in their own transaction: their entry must commit with them.

A failed batch fails every request in it (each gets the exception); the thread carries on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.clock import utcnow
from tsunagu.core.database import unit_of_work
from tsunagu.ledger import service
from tsunagu.ledger.entry import Entry

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = 0.0
DEFAULT_MAX_BATCH = 2000


@dataclass(frozen=True, slots=True)
class _Job:
    entries: Sequence[Entry]
    future: Future[list[service.Appended]]


class GroupAppender:
    """Appends submitted entries in batches from one thread; ``start``/``stop`` run it."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        window: float = DEFAULT_WINDOW,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self.session_factory = session_factory
        self.window = window
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._thread = threading.Thread(
                target=self._run, name="ledger-group-appender", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Append what is queued, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def submit(self, entries: Sequence[Entry]) -> Future[list[service.Appended]]:
        """Queue ``entries``; the future completes once they are committed."""
        future: Future[list[service.Appended]] = Future()
        if not self.running:
            future.set_exception(RuntimeError("the ledger's group appender is not running"))
            return future
        self._queue.put(_Job(entries, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._drain_and_stop()
                return
            jobs = [first]
            count = len(first.entries)
            deadline = time.monotonic() + self.window
            stopping = False
            while count < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    if remaining > 0:
                        job = self._queue.get(timeout=remaining)
                    else:
                        job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                jobs.append(job)
                count += len(job.entries)
            self._append(jobs)
            if stopping:
                self._drain_and_stop()
                return

    def _drain_and_stop(self) -> None:
        jobs: list[_Job] = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                jobs.append(job)
        if jobs:
            self._append(jobs)

    def _append(self, jobs: list[_Job]) -> None:
        entries = [entry for job in jobs for entry in job.entries]
        try:
            with unit_of_work(self.session_factory) as session:
                appended = service.append(session, entries, now=utcnow())
        except Exception as exc:  # every waiting request learns it failed
            logger.warning("a group of %d ledger entries failed", len(entries), exc_info=True)
            for job in jobs:
                job.future.set_exception(exc)
            return
        at = 0
        for job in jobs:
            job.future.set_result(appended[at : at + len(job.entries)])
            at += len(job.entries)
