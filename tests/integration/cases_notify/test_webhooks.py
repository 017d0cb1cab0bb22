"""Outgoing webhooks: queued per event, signed, retried with back-off, dead at the end."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.cases_notify.conftest import Team
from tests.integration.cases_notify.receivers import free_port, http_receiver
from tsunagu.cases import service, webhooks
from tsunagu.cases.errors import ProjectRoleTooLow
from tsunagu.cases.models import Link, WebhookDelivery
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings


def deliveries(db: Session) -> list[WebhookDelivery]:
    return list(db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def hook(db: Session, team: Team, url: str, events: list[str] | None = None) -> str:
    created = webhooks.create_webhook(
        db, team.actor(team.owner), team.project, name="Slack", url=url, events=events
    )
    return created.secret


class TestQueueing:
    def test_a_new_case_queues_a_case_created_delivery_without_personal_data(
        self, db: Session, team: Team
    ) -> None:
        hook(db, team, "https://example.org/hook")
        service.create_case(db, team.actor(team.owner), team.project, {"summary": "障害"})
        (delivery,) = deliveries(db)
        body = json.loads(delivery.payload)
        assert delivery.event == "case.created"
        assert body["project"] == "SUP"
        assert body["case"] == {"key": "SUP-1", "summary": "障害"}
        assert set(body) == {"event", "project", "case", "changes", "actor", "at", "sequence"}
        assert db.scalars(select(Link)).all() == []

    def test_a_changed_description_is_named_but_not_quoted(self, db: Session, team: Team) -> None:
        hook(db, team, "https://example.org/hook", ["case.updated"])
        case = service.create_case(db, team.actor(team.owner), team.project, {"summary": "x"})
        service.update_case(
            db, team.actor(team.owner), case, {"description": "電話 090-1234-5678 の山田様"}
        )
        (delivery,) = deliveries(db)
        assert "090-1234-5678" not in delivery.payload
        assert json.loads(delivery.payload)["changes"][0]["field"] == "description"

    def test_a_webhook_gets_only_the_events_it_chose(self, db: Session, team: Team) -> None:
        hook(db, team, "https://example.org/hook", ["case.commented"])
        case = service.create_case(db, team.actor(team.owner), team.project, {"summary": "x"})
        service.comment(db, team.actor(team.owner), case, "見ました")
        assert [d.event for d in deliveries(db)] == ["case.commented"]


class TestValidation:
    @pytest.mark.parametrize(
        "url", ["ftp://example.org/x", "javascript:alert(1)", "http://", "example.org", ""]
    )
    def test_a_url_that_is_not_http_or_https_is_refused(
        self, db: Session, team: Team, url: str
    ) -> None:
        with pytest.raises(webhooks.InvalidWebhook, match="url"):
            hook(db, team, url)

    def test_an_unknown_event_kind_is_refused(self, db: Session, team: Team) -> None:
        with pytest.raises(webhooks.InvalidWebhook, match="events"):
            hook(db, team, "https://example.org/hook", ["case.exploded"])

    def test_a_member_may_not_add_a_webhook(self, db: Session, team: Team) -> None:
        with pytest.raises(ProjectRoleTooLow):
            webhooks.create_webhook(
                db, team.actor(team.alice), team.project, name="x", url="https://e.org/"
            )


class TestDelivering:
    def test_the_receiver_can_verify_the_signature(
        self, db: Session, team: Team, settings: Settings
    ) -> None:
        with http_receiver() as receiver:
            secret = hook(db, team, receiver.url)
            service.create_case(db, team.actor(team.owner), team.project, {"summary": "x"})
            done = webhooks.deliver_due(db, settings)
        (headers, body), *_ = receiver.requests
        assert done.delivered == 1
        assert headers["X-Tsunagu-Event"] == "case.created"
        assert headers["X-Tsunagu-Delivery"] == str(deliveries(db)[0].id)
        assert webhooks.verify(
            secret, headers["X-Tsunagu-Timestamp"], body, headers["X-Tsunagu-Signature"]
        )
        assert not webhooks.verify(
            "wrong", headers["X-Tsunagu-Timestamp"], body, headers["X-Tsunagu-Signature"]
        )

    def test_a_receiver_failing_twice_gets_it_on_the_third_attempt(
        self, db: Session, team: Team, settings: Settings
    ) -> None:
        with http_receiver(fail_first=2) as receiver:
            hook(db, team, receiver.url)
            service.create_case(db, team.actor(team.owner), team.project, {"summary": "x"})
            now = utcnow()
            for hour in range(3):
                webhooks.deliver_due(db, settings, now=now + timedelta(hours=hour))
        (delivery,) = deliveries(db)
        assert len(receiver.requests) == 3
        assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
            "delivered",
            3,
            200,
        )

    def test_a_failed_delivery_waits_before_the_next_attempt(
        self, db: Session, team: Team, settings: Settings
    ) -> None:
        with http_receiver(fail_first=5) as receiver:
            hook(db, team, receiver.url)
            service.create_case(db, team.actor(team.owner), team.project, {"summary": "x"})
            webhooks.deliver_due(db, settings)
            webhooks.deliver_due(db, settings)
        (delivery,) = deliveries(db)
        assert (delivery.state, delivery.attempts, delivery.last_error) == (
            "failed",
            1,
            "HTTP 500",
        )

    def test_an_unreachable_url_is_dead_after_the_last_attempt(
        self, db: Session, team: Team, settings: Settings
    ) -> None:
        few = settings.model_copy(update={"webhook_max_attempts": 3})
        hook(db, team, f"http://127.0.0.1:{free_port()}/nobody")
        service.create_case(db, team.actor(team.owner), team.project, {"summary": "x"})
        now = utcnow()
        for hour in range(5):
            webhooks.deliver_due(db, few, now=now + timedelta(hours=hour))
        (delivery,) = deliveries(db)
        assert (delivery.state, delivery.attempts) == ("dead", 3)
        assert delivery.last_status_code is None
        assert delivery.last_error

    def test_a_redelivery_is_a_new_pending_delivery_of_the_same_payload(
        self, db: Session, team: Team
    ) -> None:
        hook(db, team, "https://example.org/hook")
        service.create_case(db, team.actor(team.owner), team.project, {"summary": "x"})
        (first,) = deliveries(db)
        again = webhooks.redeliver(db, team.actor(team.owner), team.project, first.id)
        assert (again.state, again.payload, again.id != first.id) == (
            "pending",
            first.payload,
            True,
        )
