"""The background sender: one round sends mails and delivers webhooks in its own sessions."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.cases_notify.conftest import Team
from tests.integration.cases_notify.receivers import Inbox, http_receiver
from tsunagu.cases import service, webhooks, worker
from tsunagu.core.settings import Settings


class TestRound:
    def test_one_round_sends_the_mails_and_delivers_the_webhooks(
        self,
        db: Session,
        session_factory: sessionmaker[Session],
        team: Team,
        inbox: Inbox,
        mail_settings: Settings,
    ) -> None:
        with http_receiver() as receiver:
            webhooks.create_webhook(
                db, team.actor(team.owner), team.project, name="h", url=receiver.url
            )
            service.create_case(
                db,
                team.actor(team.owner),
                team.project,
                {"summary": "x", "assignee": team.alice.id},
            )
            db.commit()
            done = worker.run_round(session_factory, mail_settings)
        assert (done.mails.sent, done.deliveries.delivered) == (1, 1)
        assert len(inbox.mails) == 1
        assert len(receiver.requests) == 1


class TestStarting:
    def test_the_worker_does_not_start_when_turned_off(
        self, session_factory: sessionmaker[Session], settings: Settings
    ) -> None:
        off = settings.model_copy(update={"cases_worker": False})
        assert worker.start_worker(session_factory, off) is None

    def test_the_app_lifespan_leaves_it_off_unless_the_app_enables_it(
        self, session_factory: sessionmaker[Session], settings: Settings
    ) -> None:
        app = FastAPI()
        app.state.settings = settings
        app.state.session_factory = session_factory

        async def serve() -> object:
            async with worker.lifespan(app):
                return app.state.cases_worker

        assert asyncio.run(serve()) is None
