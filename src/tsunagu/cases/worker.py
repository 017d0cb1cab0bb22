"""The background sender: a thread that drains queued e-mails and webhook deliveries.

Every ``Settings.cases_worker_interval_seconds`` it runs one round (``run_round``) in
sessions of its own: the mailer's round, then the webhooks'.  ``start_worker`` /
``stop_worker`` are called from the web app's lifespan when ``Settings.cases_worker`` is on
(and not in tests that bring their own sessions); ``tsunagu cases worker`` runs the same
loop in the foreground.  A round that fails is logged and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.cases import mailer, webhooks
from tsunagu.core.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Round:
    mails: mailer.MailRound
    deliveries: webhooks.DeliveryRound


def run_round(factory: sessionmaker[Session], settings: Settings) -> Round:
    """One round: send the due mails, then deliver the due webhooks (each in its session)."""
    with factory() as session:
        try:
            mails = mailer.send_due(session, settings)
        except BaseException:
            session.rollback()
            raise
    with factory() as session:
        try:
            hooks = webhooks.deliver_due(session, settings)
        except BaseException:
            session.rollback()
            raise
    return Round(mails, hooks)


class CasesWorker:
    """A daemon thread running ``run_round`` every interval until stopped."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self._factory = factory
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="tsunagu-cases-worker", daemon=True)
        self._thread.start()

    def run(self) -> None:
        interval = max(self._settings.cases_worker_interval_seconds, 0.1)
        while not self._stop.is_set():
            try:
                run_round(self._factory, self._settings)
            except Exception:
                logger.exception("cases worker: a round failed; trying again next round")
            self._stop.wait(interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def start_worker(factory: sessionmaker[Session], settings: Settings) -> CasesWorker | None:
    """Start the background sender when ``settings.cases_worker`` is on (else None)."""
    if not settings.cases_worker:
        return None
    worker = CasesWorker(factory, settings)
    worker.start()
    return worker


def stop_worker(worker: CasesWorker | None) -> None:
    if worker is not None:
        worker.stop()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the sender while the web server runs, when ``app.state.cases_worker_enabled``
    (the app sets it: not in tests that bring their own sessions) and
    ``Settings.cases_worker`` are both true; ``app.state.cases_worker`` holds it."""
    runner = None
    if getattr(app.state, "cases_worker_enabled", False):
        runner = start_worker(app.state.session_factory, app.state.settings)
    app.state.cases_worker = runner
    try:
        yield
    finally:
        await run_in_threadpool(stop_worker, runner)
